"""Plain torch modules used by the end models (no scikit-learn code here)."""

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
    hidden_layer_sizes : tuple of int, default=(100,)
        Width of each hidden layer; ``()`` gives a linear model.
    activation : {"relu", "tanh", "gelu", "leaky_relu", "elu", "identity"}, \
            default="relu"
        Non-linearity after each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
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
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation={activation!r} is not one of {sorted(_ACTIVATIONS)}."
            )
        layers = []
        width = input_dim
        for size in hidden_layer_sizes:
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
