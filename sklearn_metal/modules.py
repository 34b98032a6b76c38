"""Plain torch modules used by the end models (no scikit-learn code here)."""

import numbers

from torch import nn

__all__ = ["MLP"]

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "identity": nn.Identity,
}


def _check_activation(activation):
    """Raise a ``ValueError`` unless ``activation`` names a known activation."""
    if not isinstance(activation, str) or activation not in _ACTIVATIONS:
        raise ValueError(
            f"activation={activation!r} is not one of {sorted(_ACTIVATIONS)}."
        )


def _check_dropout(dropout):
    """Raise a ``ValueError`` unless ``dropout`` is a probability in [0, 1]."""
    if not (
        isinstance(dropout, numbers.Real)
        and not isinstance(dropout, bool)
        and 0 <= dropout <= 1
    ):
        raise ValueError(f"dropout={dropout!r} must be a probability in [0, 1].")


def _is_width(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _layer_sizes(sizes):
    """``sizes`` as a tuple: an int is one layer, as in ``MLPClassifier``."""
    return (sizes,) if _is_width(sizes) else tuple(sizes)


def _check_layer_sizes(sizes, name="hidden_layer_sizes"):
    """``sizes`` as a tuple of positive ints, or a ``ValueError`` naming it.

    An int is one layer of that width, as in scikit-learn's ``MLPClassifier``;
    ``()`` is no hidden layer.
    """
    expected = "a positive int (one layer) or a sequence of positive ints"
    if isinstance(sizes, str):
        raise ValueError(f"{name}={sizes!r} must be {expected}.")
    try:
        widths = _layer_sizes(sizes)
    except TypeError:
        raise ValueError(f"{name}={sizes!r} must be {expected}.") from None
    for width in widths:
        if not _is_width(width) or width < 1:
            raise ValueError(
                f"{name}={sizes!r} must be {expected}; got the width {width!r}."
            )
    return tuple(int(width) for width in widths)


def _has_batch_norm(module):
    """Whether ``module`` holds a batch normalization layer.

    In training mode such a layer needs more than one value per channel, so a
    training batch of a single row fails.
    """
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


class MLP(nn.Module):
    """A multilayer perceptron that returns class logits.

    Parameters
    ----------
    input_dim : int
        Number of input features.
    output_dim : int
        Number of outputs (classes).
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer (positive); an int is one hidden layer, as
        in scikit-learn's ``MLPClassifier``, and ``()`` gives a linear model.
    activation : {"relu", "tanh", "gelu", "leaky_relu", "elu", "identity"}, \
            default="relu"
        Non-linearity after each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden activation, in [0, 1].
    batch_norm : bool, default=False
        Batch normalization before each hidden activation.

    Examples
    --------
    >>> import torch
    >>> from sklearn_metal.modules import MLP
    >>> net = MLP(4, 3, hidden_layer_sizes=(8,))
    >>> net(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        _check_activation(activation)
        _check_dropout(dropout)
        layers = []
        width = input_dim
        for size in _check_layer_sizes(hidden_layer_sizes):
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(_ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(width, output_dim)
        self.output_dim = output_dim

    def forward(self, X):
        """Logits of shape ``(n, output_dim)``."""
        return self.head(self.trunk(X))
