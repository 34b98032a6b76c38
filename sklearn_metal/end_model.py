"""The end model: a skorch classifier that trains on hard or soft labels."""

import copy
import inspect
import numbers
import threading
import warnings
from functools import partial

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.metrics import check_scoring
from sklearn.metrics._scorer import _BaseScorer
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from skorch import NeuralNet
from skorch.callbacks import (
    BatchScoring,
    EarlyStopping,
    EpochScoring,
    EpochTimer,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
)
from skorch.dataset import unpack_data
from skorch.exceptions import NotInitializedError
from skorch.utils import to_tensor

from ._atomic import restore_on_error
from ._validation import (
    check_sample_weight,
    check_soft_label_columns,
    labeled_accuracy,
    refuse_sparse_labels,
    user_stacklevel,
)
from .callbacks import ValidationEarlyStopping, ValidationScoring
from .modules import (
    MLP,
    _check_activation,
    _check_layer_sizes,
    _has_batch_norm,
    _layer_sizes,
)

__all__ = ["ArrayDataset", "BatchIterator", "EndModel", "check_targets"]


def check_targets(y, n_samples=None):
    """Validate hard labels ``(n,)`` or soft labels ``(n, k)``.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_classes)
        Hard class labels, or soft labels whose rows are probability
        distributions and whose columns are the classes ``0..k-1`` in order
        (a DataFrame whose columns are named by other class numbers, e.g.
        ``[1, 0]`` or ``[1, 2]``, raises a ``ValueError``).
    n_samples : int, default=None
        Expected number of rows.

    Returns
    -------
    y : ndarray
        The labels as an array (float64 for soft labels).
    soft : bool
        Whether ``y`` holds soft labels.

    Examples
    --------
    >>> from sklearn_metal.end_model import check_targets
    >>> check_targets([[0.2, 0.8], [1.0, 0.0]])[1]
    True
    """
    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None."
        )
    refuse_sparse_labels(
        y,
        "y",
        "pass hard labels (n,) or soft labels (n, k) as a dense array: y.toarray().",
    )
    check_soft_label_columns(y)
    if (
        isinstance(y, pd.DataFrame)
        and y.shape[1] > 1
        and all(d.kind in "iuf" for d in y.dtypes)
    ):
        # soft labels in nullable (or pyarrow) numeric columns, which
        # np.asarray makes an object array; pd.NA becomes NaN, refused below
        # (pandas only: a dask DataFrame has no to_numpy, np.asarray reads it)
        y = y.to_numpy(dtype=np.float64, na_value=np.nan)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if n_samples is not None and y.shape[0] != n_samples:
        raise ValueError(
            f"y has {y.shape[0]} rows but X has {n_samples}; they must match."
        )
    if y.ndim == 1:
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            i = int(np.flatnonzero(~np.isfinite(y))[0])
            raise ValueError(f"y holds {y[i]} at row {i}; labels must be finite.")
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            i = int(np.flatnonzero(y != np.round(y))[0])
            raise ValueError(
                f"Unknown label type: y holds the continuous value {y[i]} at row "
                f"{i}; pass class labels (n,) or soft labels (n, k)."
            )
        check_classification_targets(y)
        return y, False
    if y.ndim != 2:
        raise ValueError(
            f"y must be hard labels (n,) or soft labels (n, k); got shape {y.shape}."
        )
    if y.dtype.kind not in "fiu" or y.dtype == bool:
        raise ValueError(f"Soft labels must be numeric, got dtype {y.dtype}.")
    y = y.astype(np.float64)
    if y.shape[1] < 2:
        raise ValueError("Soft labels need at least 2 columns (classes).")
    bad = ~np.isfinite(y).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"Soft label row {i} holds NaN or inf: {y[i].tolist()}.")
    bad = (y < 0).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Soft label row {i} holds a negative value: {y[i].tolist()}; rows "
            "must be probability distributions."
        )
    sums = y.sum(axis=1)
    bad = np.abs(sums - 1.0) > 1e-4
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        message = f"Soft label row {i} sums to {sums[i]:.6g}, not 1: {y[i].tolist()}."
        if np.all(y == np.round(y)):
            # e.g. cross_val_predict(method="predict_proba") label-encodes
            # every column of a 2-D y, which turns probabilities into ranks.
            message += (
                " y holds only whole numbers, but soft labels must be "
                "probabilities, one column per class and rows summing to 1. "
                "scikit-learn's cross_val_predict(..., method='predict_proba') "
                "label-encodes each column of a 2-D y and so cannot pass soft "
                "labels; for out-of-fold probabilities use cross_validate(..., "
                "return_estimator=True, return_indices=True) and predict_proba "
                "on each fold's test indices (see the end-model user guide)."
            )
        raise ValueError(message)
    return y, True


# parameters of EndModel that build the default MLP
_MLP_PARAMS = ("hidden_layer_sizes", "activation", "dropout", "batch_norm")


def _weighted_score(scorer, estimator, X, y, sample_weight=None):
    """``scorer(estimator, X, y)``, weighted by ``sample_weight`` when given.

    A scorer that takes no ``sample_weight`` cannot weigh the rows, so it
    raises a ``TypeError`` rather than score them as if unweighted.
    """
    if sample_weight is None:
        return scorer(estimator, X, y)
    try:
        params = inspect.signature(scorer).parameters.values()
    except (TypeError, ValueError):  # no signature to read: try it
        params = None
    if params is not None and not any(
        p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in params
    ):
        raise TypeError(
            f"The validation rows carry sample weights, but the scorer {scorer!r} "
            "takes no sample_weight argument; give it one, as scikit-learn's "
            "scorers have: scorer(estimator, X, y, sample_weight=None)."
        )
    return scorer(estimator, X, y, sample_weight=sample_weight)


def _loss_weights(criterion, y_true, weight=None):
    """The weight of each row in a batch's mean loss: ``weight`` (ones when
    None), times the class weight of the row's class where ``criterion`` is
    a ``CrossEntropyLoss`` or ``NLLLoss`` with ``weight`` and ``y_true`` holds
    class indices, as their mean reduction divides by ``sum_i weight[y_i]``.

    Their sum is the batch loss's denominator; recorded as the batch size it
    makes skorch's epoch loss the same mean over all the epoch's rows.
    """
    if weight is None:
        weight = torch.ones(len(y_true), device=y_true.device)
    class_weight = getattr(criterion, "weight", None)
    if (
        isinstance(criterion, (torch.nn.CrossEntropyLoss, torch.nn.NLLLoss))
        and isinstance(class_weight, torch.Tensor)
        and y_true.ndim == 1
        and not torch.is_floating_point(y_true)
    ):
        weight = weight * class_weight.to(weight.device, weight.dtype)[y_true]
    return weight


def _warn_minus_one_class(y, classes):
    """Warn where hard labels ``y`` look like classes ``0..k-1`` with ``-1``
    for unlabeled rows: fitted as they are, ``-1`` becomes a class of its own.

    ``-1`` beside ``0`` is this package's (and scikit-learn's semi-supervised)
    mark of an unlabeled row; ``{-1, 1}`` is the usual binary encoding and is
    not warned about.
    """
    if classes.dtype.kind not in "iuf" or not np.isin([-1, 0], classes).all():
        return
    n = int(np.count_nonzero(y == -1))
    warnings.warn(
        f"y holds -1 in {n} of its {len(y)} rows beside the classes "
        f"{classes[classes != -1].tolist()}, so -1 is fitted as a class of its "
        f"own (classes_={classes.tolist()}); in sklearn_metal -1 marks an "
        "unlabeled row. To train on the labeled rows only, pass X[y != -1] and "
        "y[y != -1]; to train on all rows, give them soft labels (e.g. a "
        "LabelModel's predict_proba). If -1 is a real class, ignore this "
        "warning.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def _float32_features(X):
    """Finite float32 or float64 ``X`` (dense or CSR) as float32, refusing a
    float64 value beyond float32's range (the cast would make it inf)."""
    if X.dtype == np.float32:
        return X
    with np.errstate(over="ignore"):
        X32 = X.astype(np.float32)
    values = X32.data if sp.issparse(X32) else X32
    if not np.isfinite(values).all():
        # float64 values beyond float32's range overflow to inf in the cast
        if sp.issparse(X32):  # CSR: the k-th stored value
            k = int(np.flatnonzero(~np.isfinite(values))[0])
            i = int(np.searchsorted(X.indptr, k, side="right")) - 1
            j, value = X.indices[k], X.data[k]
            where = f"row {i}, column {j}"
        else:
            index = tuple(np.argwhere(~np.isfinite(values))[0])
            value = X[index]
            if len(index) == 3:  # sequences (n_samples, seq_len, n_features)
                where = f"row {index[0]}, token {index[1]}, feature {index[2]}"
            else:
                where = f"row {index[0]}, column {index[1]}"
        raise ValueError(
            f"X holds {value:.6g} at {where}, beyond the float32 "
            f"range (+-{np.finfo(np.float32).max:.6g}) the model computes in; "
            "rescale X."
        )
    return X32


def _float32_weights(sample_weight):
    """Checked float64 row weights as the float32 the losses compute in.

    Every loss divides by its rows' weight sum, so only the weights' ratios
    matter: weights whose largest lies beyond 2**64 or below 2**-64 are
    scaled by a power of two (exactly) to put it near 1, where the cast
    would make them inf or 0 and the products overflow or underflow.
    """
    top = sample_weight.max()
    if top > 2.0**64 or top < 2.0**-64:
        sample_weight = np.ldexp(sample_weight, -np.frexp(top)[1])
    return sample_weight.astype(np.float32)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _same_value(a, b):
    """``a == b`` as one bool, False where the comparison fails or is ambiguous."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _check_architecture(net, how):
    """Raise if a parameter that shapes ``net.module_`` changed since it was built.

    ``net._architecture()`` names those parameters; ``initialize_module``
    records them as ``_module_architecture_``. ``module__*`` parameters need
    no check: skorch re-initializes the module when they change. A module is
    compared by identity, other values by equality.
    """
    built = getattr(net, "_module_architecture_", None)
    if built is None:
        return
    # "module" comes first: when it changed, the other parameters do not matter
    for name, new in net._architecture().items():
        old = built.get(name)
        if old is new or (name != "module" and _same_value(old, new)):
            continue
        raise ValueError(
            f"{how} cannot change the network's architecture: {name}={new!r} "
            f"now, but the fitted module was built with {name}={old!r}. Set "
            f"{name} back, or fit with warm_start=False to build a new module."
        )


def _refuse_scoring_callbacks(net, instead, own_scorers=False):
    """Refuse skorch's ``EpochScoring`` and ``BatchScoring`` among the user's
    ``callbacks``: they call the net's ``predict`` or ``score`` on skorch
    datasets and on the targets as the net stores them (class indices, soft
    labels, task tables), which the net's methods do not take (numpy's
    "inhomogeneous shape", a ``TypeError`` or a score never recorded).
    ``instead`` says what records such a score. With ``own_scorers=True``,
    one whose ``scoring`` is the user's own function (not a name, None or a
    scikit-learn scorer, which call ``predict`` or ``score``) is let through:
    it decides what it reads."""
    if not isinstance(net.callbacks, (list, tuple)):
        return
    for i, item in enumerate(net.callbacks):
        name, cb = item if isinstance(item, tuple) and len(item) == 2 else (i, item)
        cls = cb if isinstance(cb, type) else type(cb)
        if not issubclass(cls, (EpochScoring, BatchScoring)):
            continue
        scoring = getattr(cb, "scoring", None)
        if (
            own_scorers
            and not isinstance(cb, type)
            and callable(scoring)
            and not isinstance(scoring, _BaseScorer)
        ):
            continue
        raise ValueError(
            f"callbacks entry {name!r} is skorch's {cls.__name__}, which "
            "scores the net on skorch datasets and encoded targets that "
            f"{type(net).__name__}'s predict and score do not take. {instead}"
        )


def _check_module_params(net, own_params, network, part):
    """Refuse ``module__*`` parameters when ``net`` builds its own network.

    ``own_params`` are ``net``'s parameters that configure that ``network``
    (e.g. "default MLP"); ``part`` names what ``module=`` replaces.
    """
    module_params = net.get_params_for("module")
    if net.module is not None or not module_params:
        return
    owner = type(net).__name__
    name, value = next(iter(module_params.items()))
    if name in own_params:
        raise ValueError(
            f"module__{name}={value!r} duplicates {owner}'s {name} parameter; "
            f"set {name}={value!r} instead."
        )
    raise ValueError(
        f"module__{name}={value!r} cannot configure the {network}, which is "
        f"set through {owner}'s {', '.join(own_params)} parameters; module__* "
        f"parameters configure a {part} passed as module=."
    )


def _check_cuda_device(device):
    """Raise a ``ValueError`` if ``device`` is a CUDA one and torch finds none
    (instead of torch's "Torch not compiled with CUDA enabled" assertion)."""
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but torch finds no CUDA device; "
            "use device='cpu'."
        )


#: held by every :class:`_ForkedSeed` section (re-entrant: a seeded fit may
#: fit another net inside it)
_SEED_LOCK = threading.RLock()


class _ForkedSeed:
    """Seed torch inside a forked generator state; the global state is restored.

    The generators of the CPU and of the net's own accelerator (for a CUDA
    ``device`` that one GPU, for ``"mps"`` the MPS one) are forked and seeded;
    no other generator is touched (``torch.manual_seed`` would reseed every
    GPU's, and MPS's, for good).

    torch's generators are global to the process, so seeded sections hold a
    process-wide lock: fits in threads (``GridSearchCV`` under joblib's
    threading backend) run their seeded parts one at a time, and each draws
    the same numbers as it would alone.
    """

    def __init__(self, seed, device):
        self.seed = seed
        self.device_type, self.devices = "cuda", []
        device = None if device is None else torch.device(device)
        if device is not None and device.type == "cuda":
            index = device.index
            self.devices = [torch.cuda.current_device() if index is None else index]
        elif device is not None and device.type == "mps":
            self.device_type, self.devices = "mps", ["mps"]

    def __enter__(self):
        _SEED_LOCK.acquire()
        try:
            self._fork = torch.random.fork_rng(
                devices=self.devices, device_type=self.device_type
            )
            self._fork.__enter__()
        except BaseException:
            _SEED_LOCK.release()
            raise
        try:
            torch.random.default_generator.manual_seed(self.seed)
            if self.device_type == "mps":
                torch.mps.manual_seed(self.seed)
            else:
                for index in self.devices:
                    torch.cuda.default_generators[index].manual_seed(self.seed)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, *exc):
        try:
            return self._fork.__exit__(*exc)
        finally:
            _SEED_LOCK.release()


class ArrayDataset(torch.utils.data.Dataset):
    """Rows of a dense float32 array or a CSR matrix, with optional targets.

    Parameters
    ----------
    X : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Inputs, float32.
    y : ndarray of shape (n_samples,) or (n_samples, n_classes), default=None
        Class indices (int64) or soft labels (float32).
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights (float32). With weights, batches are triples
        ``(X, y, sample_weight)`` instead of pairs ``(X, y)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.end_model import ArrayDataset
    >>> len(ArrayDataset(np.zeros((3, 2), dtype=np.float32)))
    3
    >>> data = ArrayDataset(
    ...     np.zeros((3, 2), dtype=np.float32),
    ...     np.array([0, 1, 1]),
    ...     sample_weight=np.array([1.0, 0.5, 2.0], dtype=np.float32),
    ... )
    >>> data.rows(slice(0, 2))[2]
    tensor([1.0000, 0.5000])
    """

    def __init__(self, X, y=None, sample_weight=None):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    def __len__(self):
        return self.X.shape[0]

    def rows(self, idx):
        """A batch of tensors for the row indices (or slice) ``idx``.

        ``(X, y)``, or ``(X, y, sample_weight)`` when the dataset has weights.
        """
        Xb = self.X[idx]
        if sp.issparse(Xb):
            Xb = Xb.toarray()
        Xb = torch.from_numpy(np.ascontiguousarray(Xb))
        yb = None if self.y is None else torch.from_numpy(self.y[idx])
        if self.sample_weight is None:
            return Xb, yb
        return Xb, yb, torch.from_numpy(self.sample_weight[idx])

    def __getitem__(self, i):
        batch = self.rows(slice(i, i + 1))
        Xb, yb = batch[0][0], (torch.tensor(0) if batch[1] is None else batch[1][0])
        if len(batch) == 3:
            return Xb, yb, batch[2][0]
        return Xb, yb

    def subset(self, idx):
        """The dataset restricted to rows ``idx`` (weights included)."""
        return ArrayDataset(
            self.X[idx],
            None if self.y is None else self.y[idx],
            None if self.sample_weight is None else self.sample_weight[idx],
        )


def _as_array_dataset(dataset):
    """A ``torch.utils.data.Subset`` of an :class:`ArrayDataset` as an ArrayDataset.

    skorch's ``ValidSplit`` (and other split callables) return ``Subset``
    views; their rows, targets and weights are taken with
    :meth:`ArrayDataset.subset`, nested subsets included. Any other dataset is
    returned unchanged.
    """
    if not isinstance(dataset, torch.utils.data.Subset):
        return dataset
    inner = _as_array_dataset(dataset.dataset)
    if not isinstance(inner, ArrayDataset):
        return dataset
    return inner.subset(np.asarray(dataset.indices, dtype=np.intp))


class BatchIterator:
    """Mini-batches sliced from an :class:`ArrayDataset`, whole batches at a time.

    Much faster than a ``DataLoader`` that collates one row at a time; sparse
    rows are densified per batch only.

    Parameters
    ----------
    dataset : ArrayDataset or torch.utils.data.Subset of an ArrayDataset
        The data. A ``Subset`` (as skorch's ``ValidSplit`` returns) is read
        as the ArrayDataset's rows at its indices, weights included.
    batch_size : int, default=128
        Rows per batch.
    shuffle : bool, default=False
        Draw a new permutation of the rows for every pass.
    random_state : int, RandomState instance or None, default=None
        Generator of the permutations.
    min_last_batch : int, default=1
        A last batch with fewer rows than this is merged into the batch
        before it, so no row is dropped. :class:`EndModel` sets 2 for
        training a module with batch normalization, which fails on a batch
        of one row.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.end_model import ArrayDataset, BatchIterator
    >>> data = ArrayDataset(np.zeros((5, 2), dtype=np.float32))
    >>> [len(X) for X, _ in BatchIterator(data, batch_size=2)]
    [2, 2, 1]
    >>> [len(X) for X, _ in BatchIterator(data, batch_size=2, min_last_batch=2)]
    [2, 3]
    >>> from torch.utils.data import Subset
    >>> [len(X) for X, _ in BatchIterator(Subset(data, [0, 2, 4]), batch_size=2)]
    [2, 1]
    """

    def __init__(
        self,
        dataset,
        batch_size=128,
        shuffle=False,
        random_state=None,
        min_last_batch=1,
    ):
        self.dataset = _as_array_dataset(dataset)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.min_last_batch = min_last_batch

    def _starts(self):
        """First row of every batch, then the number of rows."""
        n = len(self.dataset)
        starts = list(range(0, n, self.batch_size))
        if len(starts) > 1 and n - starts[-1] < self.min_last_batch:
            starts.pop()  # the short last batch joins the one before it
        return starts + [n]

    def __len__(self):
        return len(self._starts()) - 1

    def __iter__(self):
        starts = self._starts()
        bounds = zip(starts[:-1], starts[1:], strict=True)
        if self.shuffle:
            order = check_random_state(self.random_state).permutation(starts[-1])
            for start, stop in bounds:
                yield self.dataset.rows(np.sort(order[start:stop]))
        else:
            for start, stop in bounds:
                yield self.dataset.rows(slice(start, stop))


class _MergeShortBatch(torch.utils.data.Sampler):
    """A ``BatchSampler``'s batches, its last joining the one before when short.

    The ``batch_sampler`` a ``DataLoader`` gets when :class:`EndModel` trains
    a module with batch normalization: a last batch with fewer than
    ``min_last_batch`` rows is merged into the batch before it, as
    :class:`BatchIterator` does, so no row is dropped.
    """

    def __init__(self, batch_sampler, min_last_batch=2):
        self.batch_sampler = batch_sampler
        self.min_last_batch = min_last_batch

    def __iter__(self):
        held = None
        for batch in self.batch_sampler:
            if held is None:
                held = list(batch)
            elif len(batch) < self.min_last_batch:
                held += list(batch)  # only the last batch of a BatchSampler is short
            else:
                yield held
                held = list(batch)
        if held is not None:
            yield held

    def __len__(self):
        batches = self.batch_sampler
        last = len(batches.sampler) % batches.batch_size
        merged = len(batches) > 1 and 0 < last < self.min_last_batch
        return len(batches) - merged


def _merge_short_batch(dataset, kwargs, min_last_batch):
    """``DataLoader`` arguments whose short last batch joins the one before.

    ``batch_size``, ``shuffle`` and ``sampler`` become a ``batch_sampler``
    (a ``RandomSampler`` with the loader's ``generator`` when shuffled, as
    the ``DataLoader`` would build); arguments that already decide the last
    batch (``batch_sampler``, ``drop_last=True``) or that the ``DataLoader``
    rejects (``shuffle`` with a ``sampler``) are left to it.
    """
    if "batch_sampler" in kwargs or kwargs.get("drop_last"):
        return kwargs
    shuffle, sampler = kwargs.get("shuffle", False), kwargs.get("sampler")
    if shuffle and sampler is not None:
        return kwargs
    batch_size = kwargs["batch_size"]
    if batch_size < min_last_batch:
        raise ValueError(
            f"Batch normalization cannot train on batches of {batch_size} row; "
            f"set batch_size >= {min_last_batch}."
        )
    kwargs = {
        key: value
        for key, value in kwargs.items()
        if key not in ("batch_size", "shuffle", "sampler", "drop_last")
    }
    if sampler is None and shuffle:
        sampler = torch.utils.data.RandomSampler(
            dataset, generator=kwargs.get("generator")
        )
    elif sampler is None:
        sampler = torch.utils.data.SequentialSampler(dataset)
    batches = torch.utils.data.BatchSampler(sampler, batch_size, drop_last=False)
    kwargs["batch_sampler"] = _MergeShortBatch(batches, min_last_batch)
    return kwargs


class _WeightedValidationScoring(ValidationScoring):
    """:class:`~sklearn_metal.callbacks.ValidationScoring`, weighted by the
    validation rows' ``sample_weight`` where they carry weights.

    The score is then the scorer's weighted score (e.g. the weighted
    accuracy); without weights it scores as ``ValidationScoring`` does.
    """

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        """Score the validation set of an epoch that ran one."""
        weight = getattr(dataset_valid, "sample_weight", None)
        if weight is None:
            super().on_epoch_end(net, dataset_valid=dataset_valid, **kwargs)
            return
        if "valid_batch_count" not in net.history[-1]:
            return
        y = dataset_valid.y
        y_true = net.classes_[np.argmax(y, axis=1) if y.ndim == 2 else y]
        scorer = check_scoring(net, scoring=self.scoring)
        with warnings.catch_warnings():
            # the stored validation rows are arrays, whatever the fit input was
            warnings.filterwarnings("ignore", message="X does not have valid feature")
            score = float(_weighted_score(scorer, net, dataset_valid.X, y_true, weight))
        is_best = score > self.best_score_
        if is_best:
            self.best_score_ = score
        net.history.record(self.name, score)
        net.history.record(self.name + "_best", bool(is_best))


def _without_torch_scheduler(item, copies):
    """``item`` of a net's ``callbacks`` or ``callbacks_`` (a callback or a
    ``(name, callback)`` pair) with a skorch ``LRScheduler`` replaced by a
    copy whose ``lr_scheduler_`` is None, as after its ``initialize``; one
    copy per callback in ``copies``, so both lists keep sharing it."""
    if isinstance(item, tuple) and len(item) == 2:
        return (item[0], _without_torch_scheduler(item[1], copies))
    if (
        isinstance(item, LRScheduler)
        and getattr(item, "lr_scheduler_", None) is not None
    ):
        if id(item) not in copies:
            twin = copy.copy(item)
            twin.lr_scheduler_ = None
            copies[id(item)] = twin
        return copies[id(item)]
    return item


def _in_place_state(net):
    """What skorch's ``set_params`` changes in place: the hyperparameters of
    a fitted net's optimizers (the virtual ``lr`` and ``optimizer__*``) and
    the attributes of its callbacks (``callbacks__<name>__*``)."""
    groups = []
    for name in getattr(net, "_optimizers", None) or []:
        optimizer = net.__dict__.get(name + "_")
        if optimizer is not None and hasattr(optimizer, "param_groups"):
            groups.extend(
                (group, {k: v for k, v in group.items() if k != "params"})
                for group in optimizer.param_groups
            )
    callbacks = {}
    for key in ("callbacks", "callbacks_"):
        items = net.__dict__.get(key)
        if isinstance(items, (list, tuple)):
            for item in items:
                if isinstance(item, tuple) and len(item) == 2:
                    item = item[1]
                if hasattr(item, "__dict__") and not isinstance(item, type):
                    callbacks[id(item)] = (item, dict(vars(item)))
    return groups, list(callbacks.values())


def _restore_in_place(saved):
    """Put back what :func:`_in_place_state` saved."""
    groups, callbacks = saved
    for group, values in groups:
        group.update(values)
    for callback, values in callbacks:
        vars(callback).clear()
        vars(callback).update(values)


class _SkorchCompat:
    """What skorch 1.2-1.3 nets lack next to skorch 1.4's, for every net here."""

    def __sklearn_is_fitted__(self):
        # skorch < 1.3 has none: check_is_fitted took the history_ and
        # initialized_ set in __init__ for a fit (1.3.0's returns None when fitted)
        try:
            self.check_is_fitted()
        except NotInitializedError:
            return False
        return True

    def _get_param_names(self):
        # skorch < 1.4 lists the _metadata_request that set_fit_request sets, and
        # clone() passed it to __init__; skorch's private _params_to_validate
        # (the names of the nested parameters set, which __init__ rebuilds from
        # them) showed as a changed parameter in a Pipeline's repr and the HTML
        # repr, and get_params handed out the set that set_params changes
        private = {"_metadata_request", "_params_to_validate"}
        return [k for k in super()._get_param_names() if k not in private]

    @restore_on_error
    def set_params(self, **kwargs):
        """Set the parameters of this net, as skorch's ``set_params``.

        A call that raises leaves the parameters as they were (skorch sets
        the plain ones before it builds the callbacks or the module, which
        may raise). A new ``callbacks`` list is in place before the callbacks
        are rebuilt, so ``callbacks__<name>__*`` may name one of its
        callbacks, and a list or None replaces a ``callbacks`` value that
        skorch cannot use.

        Parameters
        ----------
        **kwargs : dict
            Parameters, nested ones (``module__*``, ``optimizer__*``,
            ``callbacks__*``, ...) included.

        Returns
        -------
        self : object
            The net.
        """
        # skorch adds to this set in place, which restore_on_error's shallow
        # copy would not undo
        to_validate = self._params_to_validate
        names = set(to_validate)
        # skorch also changes objects in place before it may raise: a fitted
        # net's optimizers (lr, optimizer__*) and the callbacks (callbacks__*)
        in_place = _in_place_state(self)
        try:
            if "callbacks" in kwargs and (
                kwargs["callbacks"] is None or isinstance(kwargs["callbacks"], list)
            ):
                # skorch rebuilds callbacks_ from the value held before the
                # call: after a set_params(callbacks=5) that it accepted,
                # set_params(callbacks=None or [...]) raised a TypeError
                self.callbacks = kwargs["callbacks"]
            return super().set_params(**kwargs)
        except BaseException:
            # (restore_on_error puts the attributes back)
            to_validate.clear()
            to_validate.update(names)
            _restore_in_place(in_place)
            raise

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        if deep:
            # skorch fills the callbacks__* entries from freshly built default
            # callbacks last, over the values set_params stored (and the next
            # fit uses): get_params reported patience=5 after
            # set_params(callbacks__early_stopping__patience=1)
            stored = super().get_params(deep=False, **kwargs)
            params.update(
                (key, value)
                for key, value in stored.items()
                if key.startswith("callbacks__")
            )
        return params

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # random_state=None draws new weights, splits and batches every fit
        tags.non_deterministic = self.random_state is None
        return tags

    def __getstate__(self):
        """skorch's state, without the torch scheduler of a skorch
        ``LRScheduler`` callback.

        The scheduler (``lr_scheduler_``, rebuilt at the start of every
        training call) holds the optimizer, which pickle would then store a
        second time outside the attributes skorch maps to the CPU on
        loading: a net trained on a GPU with an ``LRScheduler`` would not
        load without one, and the pickle carried the optimizer twice. The
        callbacks of the pickle are copies without it; the net's own are
        left as they are.
        """
        state = super().__getstate__()
        copies = {}
        for key in ("callbacks", "callbacks_"):
            if isinstance(state.get(key), (list, tuple)):
                state[key] = [
                    _without_torch_scheduler(item, copies) for item in state[key]
                ]
        return state

    def _refresh_callbacks(self):
        """Nothing to rebuild before a later training call (EndModel
        rebuilds the default callbacks whose parameters changed)."""

    def _train_call(self, data, y, fit_params, first, seed=None):
        """One training call: skorch's ``partial_fit`` of ``data``, seeded by
        ``seed`` (None draws it from ``_batch_rng_``, as a later call does),
        after ``initialize`` on a ``first`` call and
        :meth:`_refresh_callbacks` on a later one. A call that raises before
        any training step is undone (see :meth:`_forget_untrained_call`)."""
        rng_state = self._batch_rng_.get_state()
        if seed is None:
            seed = self._batch_rng_.randint(np.iinfo(np.int32).max)
        n_epochs = 0 if first else len(self.history)
        try:
            with self._seeded(seed):
                if first:
                    self.initialize()
                else:
                    self._refresh_callbacks()
                NeuralNet.partial_fit(self, data, y, **fit_params)
        except BaseException:
            self._forget_untrained_call(first, n_epochs, rng_state)
            raise
        return self

    def _forget_untrained_call(self, first, n_epochs, rng_state):
        """Undo what a training call that raised did, where it took no
        training step (a forward argument or a split refused in the first
        batch or before it): on a first call the net is left uninitialized,
        so the next call starts afresh; on a later one the epochs it began
        are dropped from the history and the batch order is rewound, so the
        next call trains as if this one had not been made. After a training
        step the weights have moved, and the net is left as it is, as skorch
        leaves it after an interrupt."""
        # (no history where initialize raised before building it)
        epochs = (self.history or [])[n_epochs:]
        if any("train_loss" in batch for row in epochs for batch in row["batches"]):
            return
        if first:
            self.initialized_ = False
            return
        del self.history[n_epochs:]
        self._batch_rng_.set_state(rng_state)

    def _keeps_best_weights(self):
        """Whether a callback keeps the weights of an earlier (finite) epoch
        to restore when training ends: skorch's ``EarlyStopping`` with
        ``load_best`` (``early_stopping``) once an epoch was its best."""
        return any(
            isinstance(callback, EarlyStopping)
            and callback.load_best
            and getattr(callback, "best_model_weights_", None) is not None
            for _, callback in getattr(self, "callbacks_", [])
        )

    def on_epoch_end(self, net, **kwargs):
        """Raise a ValueError once training has diverged: a parameter that is
        NaN or infinite stays so, and the net would predict NaN (runs before
        the callbacks, so no checkpoint keeps the diverged weights). Where a
        callback keeps a best epoch's weights to restore at the end, training
        stops instead, as early stopping would after ``patience`` NaN epochs,
        and the net keeps those weights."""
        super().on_epoch_end(net, **kwargs)
        params = [p.detach() for p in self.module_.parameters()]
        if params and not bool(
            torch.stack([torch.isfinite(p).all() for p in params]).all()
        ):
            loss = self.history[-1].get("train_loss", float("nan"))
            if self._keeps_best_weights():
                warnings.warn(
                    f"{type(self).__name__}'s training diverged in epoch "
                    f"{len(self.history)} (its parameters are no longer finite, "
                    f"train_loss {loss:.6g}): training stops, and the net keeps "
                    "the weights of its best validated epoch. Lower lr, scale the "
                    "inputs, or clip the gradients.",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
                raise KeyboardInterrupt  # skorch ends the epochs, as EarlyStopping
            raise ValueError(
                f"{type(self).__name__}'s training diverged in epoch "
                f"{len(self.history)}: its parameters are no longer finite "
                f"(train_loss {loss:.6g}), so it would predict NaN. Lower lr, "
                "scale the inputs, or clip the gradients."
            )


def _refused_valid_X(error):
    """The error for a ``valid_data`` whose ``X_valid`` was refused.

    Raw rows (text for a ``TfidfVectorizer`` step) or rows transformed apart
    from ``X``: the bare message named neither ``valid_data`` nor why.
    """
    kind = ValueError if isinstance(error, ValueError) else TypeError
    return kind(
        f"valid_data's X_valid was refused: {str(error).rstrip('.')}. If "
        "the net is the last step of a Pipeline, valid_data reaches it as "
        "given, past the earlier steps: transform X_valid with them "
        "first, e.g. pipe[:-1].fit(X).transform(X_valid)."
    )


class EndModel(ClassifierMixin, _SkorchCompat, NeuralNet):
    """A skorch classifier that trains on hard or probabilistic (soft) labels.

    With soft labels ``y`` of shape ``(n, k)`` it minimizes the cross-entropy
    against the target distribution, the noise-aware loss of Ratner et al.
    (2016, 2019), so a label model's ``predict_proba`` output is a training
    target as it is. The default module is an :class:`~sklearn_metal.modules.MLP`
    built at fit time from ``hidden_layer_sizes``, ``activation``, ``dropout``
    and ``batch_norm``, with input and output sizes taken from the data; any
    ``torch.nn.Module`` (class or instance) returning logits can replace it,
    configured through ``module__*`` parameters as in skorch.

    ``fit(X, y, sample_weight=w)`` weighs the loss of every row: each batch
    loss is ``sum_i w_i * loss_i / sum_i w_i`` (with class weights
    ``criterion__weight`` and hard labels, ``sum_i w_i * loss_i / sum_i w_i
    * weight[y_i]``, as torch's mean does), so an integer weight counts a
    row that many times and a zero weight leaves it out of the loss. A typical
    use is to weigh soft labels by the label model's confidence, e.g.
    ``w = soft.max(axis=1)``, or to down-weigh rows few labeling functions
    voted on.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The network; None builds an MLP from ``hidden_layer_sizes``,
        ``activation``, ``dropout`` and ``batch_norm``, and then rejects
        ``module__*`` parameters (they configure a module passed here).
        A class (``module=Net`` with ``module__*`` arguments) is built anew,
        seeded by ``random_state``, on every fit; an instance
        (``module=Net()``) is used as it is, so, as in skorch, a refit without
        ``warm_start`` goes on from its trained weights rather than starting
        afresh.
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Hidden layer widths of the default MLP, each positive; an int is one
        hidden layer of that width, as in scikit-learn's ``MLPClassifier``,
        and ``()`` a linear model. Anything else raises a ``ValueError`` in
        :meth:`fit`.
    activation : {"relu", "tanh", "gelu", "leaky_relu", "elu", "identity"}, \
            default="relu"
        Activation of the default MLP.
    dropout : float, default=0.0
        Dropout probability of the default MLP, in [0, 1].
    batch_norm : bool, default=False
        Batch normalization in the default MLP. It cannot train on a batch of
        one row, so with batch normalization (here or in a user module) a
        last training batch of one row is merged into the batch before it,
        by a ``DataLoader`` as ``iterator_train`` too.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        Loss on logits; ``CrossEntropyLoss`` takes class indices and soft
        targets alike. Whatever the criterion, :meth:`predict_proba` is the
        softmax of the module's output (skorch's ``predict_nonlinearity``
        applies it only for ``CrossEntropyLoss``); a ``predict_nonlinearity``
        passed explicitly replaces it.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Optimizer; its arguments go in ``optimizer__*``.
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=20
        Number of epochs, at least 1.
    batch_size : int, default=128
        Mini-batch size; -1 puts the whole training set in one batch.
    train_split : float, callable or None, default=0.2
        Internal validation split: the fraction of rows held out (stratified
        by the argmax of the labels), a skorch-style callable
        ``(dataset, y) -> (train, valid)`` such as
        ``skorch.dataset.ValidSplit(5)`` (``torch.utils.data.Subset`` views
        of the :class:`ArrayDataset` are read as its rows, weights included)
        or ``skorch.helper.predefined_split(Dataset(X_valid, y_valid))``
        (raw labels, checked like ``valid_data``), or None for no
        validation. A float split keeps at least one training row: a
        single row trains without validation. A ``valid_data`` passed to
        :meth:`fit` replaces it.
    scoring : str or callable, default="accuracy"
        Scikit-learn scorer for the validation set, recorded as
        ``valid_score``; it drives early stopping and the restored epoch.
        Validation rows with sample weights are scored with them, so a
        callable then needs a ``sample_weight`` argument (scikit-learn's
        scorers have one).
    early_stopping : bool, default=True
        Stop after ``patience`` validated epochs without a better
        ``valid_score`` and restore the best epoch's weights (only when there
        is validation data). ``early_stopping``, ``patience`` and ``scoring``
        changed through ``set_params`` take effect on the next call, a warm
        refit or a :meth:`partial_fit` included.
    patience : int, default=5
        See ``early_stopping``.
    valid_every : int, default=1
        Validate every this many epochs. The other epochs have no
        ``valid_loss`` or ``valid_score`` in ``history``, so skorch callbacks
        that read them every epoch fail on the first such epoch (skorch's
        ``EarlyStopping`` raises a ``KeyError``, its ``Checkpoint`` "Key
        'valid_loss_best' was not found in history"): use the built-in
        ``early_stopping`` (which skips those epochs), or ``valid_every=1``
        with skorch's callbacks.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialization, dropout, the split of a float
        ``train_split`` and the batch order, inside a forked torch generator:
        the global generators are left untouched. A ``RandomState`` instance
        gives each fit a seed drawn from it. A callable ``train_split``
        draws its own split: seed skorch's ``ValidSplit`` through its
        ``random_state`` (``ValidSplit(0.2, random_state=0)``); it is not
        seeded by this one.
    iterator_train, iterator_valid : class, default=BatchIterator
        Batch iterators over the training and validation datasets; a torch
        ``DataLoader`` works too (slower: it collates one row at a time).
    dataset : class, default=ArrayDataset
        Wraps the validated arrays (and row weights) for the iterators.
    callbacks : list of (str, Callback) or None, default=None
        Extra skorch callbacks, e.g. ``("lr", LRScheduler(...))``,
        ``("clip", GradientNormClipping(1.0))`` or skorch's ``TensorBoard``.
        skorch's ``EpochScoring`` and ``BatchScoring`` with a metric name,
        None or a scikit-learn scorer raise a ``ValueError``: they score the
        net on skorch datasets of the stored (encoded, possibly soft)
        targets; add a further validation score with
        :class:`~sklearn_metal.callbacks.ValidationScoring`. With a function
        of your own as ``scoring``, ``(net, X, y)``, they run as in skorch
        (``X`` is then a skorch dataset).
    verbose : int, default=1
        Print a progress table per epoch when positive.
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``. A CUDA device that torch cannot find
        raises a ``ValueError`` in :meth:`fit`, :meth:`partial_fit` and the
        prediction methods.
    **kwargs
        Other skorch parameters (``module__*`` for a user ``module``,
        ``optimizer__*``, ``callbacks__*``, ``iterator_train__*``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels; ``np.arange(k)`` for soft labels.
    soft_labels_ : bool
        Whether :meth:`fit` received soft labels.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` was a DataFrame with string columns.
    module_ : torch.nn.Module
        The trained network.
    history_ : skorch.History
        Per-epoch losses and scores.

    See Also
    --------
    LabelModel : Produces the soft labels this model trains on.

    Notes
    -----
    Sample weights enter the training loss, and the validation rows keep
    theirs: the rows held out by ``train_split`` and those of a
    ``valid_data=(X_valid, y_valid, sample_weight_valid)`` count with their
    weights in ``valid_loss`` and in ``valid_score`` (the scorer's
    ``sample_weight``, e.g. the weighted accuracy), so early stopping and
    the restored epoch follow the weighted score, as in scikit-learn's
    ``HistGradientBoostingClassifier``. A ``valid_data`` pair counts every
    row once, and so does ``score`` without its ``sample_weight``. The
    per-row losses come from the criterion with ``reduction="none"``; the
    epoch losses ``train_loss`` and ``valid_loss`` are the weighted means over
    all the epoch's rows, as each batch's ``train_batch_size`` /
    ``valid_batch_size`` in ``history`` is then its total weight (with class
    weights and hard labels ``sum_i w_i * weight[y_i]``, ``w_i = 1`` without
    sample weights: the epoch loss is the class-weighted mean over all the
    epoch's rows, however they were batched).

    With ``warm_start=True`` (a skorch parameter) a refit continues from the
    trained module, so ``X`` must have ``n_features_in_`` features and ``y``
    the same ``classes_`` as before; hard and soft labels over the same
    classes may follow each other. Otherwise :meth:`fit` raises a
    ``ValueError``, as scikit-learn's ``MLPClassifier`` does. The parameters
    that shape the default MLP (``hidden_layer_sizes``, ``activation``,
    ``dropout``, ``batch_norm``) cannot change between a fit and a warm
    refit or a later :meth:`partial_fit` either: that raises a
    ``ValueError`` rather than silently keep the old network
    (``MLPClassifier`` keeps its old weights there, or fails with an
    unrelated error). A ``module`` or ``module__*`` change through
    ``set_params`` makes skorch rebuild the module.

    The default MLP is sized from the data, so :meth:`initialize` on a new
    model raises a ``NotFittedError`` (a user ``module`` sized through
    ``module__*`` initializes as in skorch). To restore saved parameters
    (skorch's ``save_params`` or ``Checkpoint``), fit or partial_fit a model
    with the same parameters on a few rows of the same shape and classes,
    then call ``load_params``; or pickle the fitted model.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal import EndModel
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 4).astype(np.float32)
    >>> p = 1 / (1 + np.exp(-3 * X[:, 0]))
    >>> soft = np.column_stack([1 - p, p])
    >>> model = EndModel(max_epochs=5, verbose=0, random_state=0).fit(X, soft)
    >>> model.classes_
    array([0, 1])
    >>> model.predict_proba(X).shape
    (60, 2)

    Weighing the soft labels by their confidence:

    >>> weighted = EndModel(max_epochs=5, verbose=0, random_state=0)
    >>> weighted.fit(X, soft, sample_weight=soft.max(axis=1)).predict(X).shape
    (60,)
    """

    def __init__(
        self,
        module=None,
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=20,
        batch_size=128,
        train_split=0.2,
        scoring="accuracy",
        early_stopping=True,
        patience=5,
        valid_every=1,
        random_state=None,
        iterator_train=BatchIterator,
        iterator_valid=BatchIterator,
        dataset=ArrayDataset,
        callbacks=None,
        verbose=1,
        device="cpu",
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            dataset=dataset,
            train_split=train_split,
            callbacks=callbacks,
            verbose=verbose,
            device=device,
            **kwargs,
        )
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.scoring = scoring
        self.early_stopping = early_stopping
        self.patience = patience
        self.valid_every = valid_every
        self.random_state = random_state

    # ------------------------------------------------------------ skorch hooks
    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("valid_score", _WeightedValidationScoring(self.scoring)),
        ]
        if self.early_stopping:
            callbacks.append(
                ("early_stopping", ValidationEarlyStopping(patience=self.patience))
            )
        callbacks.append(("print_log", PrintLog()))
        return callbacks

    def _callback_params(self):
        """The parameters that build the default callbacks."""
        return {
            "scoring": self.scoring,
            "early_stopping": self.early_stopping,
            "patience": self.patience,
        }

    def initialize_callbacks(self):
        """Build the callbacks, recording the parameters they were built with."""
        super().initialize_callbacks()
        self._built_callback_params_ = self._callback_params()
        return self

    def _refresh_callbacks(self):
        """Rebuild the default callbacks whose parameters changed since they
        were built (``set_params`` before a warm refit or a later
        :meth:`partial_fit`): ``scoring`` rebuilds ``valid_score``,
        ``early_stopping`` and ``patience`` rebuild ``early_stopping``. The
        other callbacks, a user's included, keep their state, as do the
        module, optimizer and history.
        """
        if isinstance(self.callbacks, str) and self.callbacks == "disable":
            self.callbacks_ = []  # skorch's switch for no callbacks at all
            return
        built = getattr(self, "_built_callback_params_", None)
        if built is None or not hasattr(self, "callbacks_"):
            self.initialize_callbacks()
            return
        now = self._callback_params()
        changed = {
            name
            for name, value in now.items()
            if not (built[name] is value or _same_value(built[name], value))
        }
        if not changed:
            return
        stale = set()
        if "scoring" in changed:
            stale.add("valid_score")
        if changed & {"early_stopping", "patience"}:
            stale.add("early_stopping")
        kept = dict(self.callbacks_)
        callbacks = []
        for name, cb in self._uniquely_named_callbacks():
            if name in kept and name not in stale:
                callbacks.append((name, kept[name]))
                continue
            # As skorch's initialize_callbacks builds one callback.
            cb = getattr(self, "callbacks__" + name, cb)
            params = self.get_params_for("callbacks__" + name)
            if cb is None:
                continue
            if isinstance(cb, type):
                cb = cb(**params)
            else:
                cb.set_params(**params)
            cb.initialize()
            callbacks.append((name, cb))
        self.callbacks_ = callbacks
        self._built_callback_params_ = now

    def initialize_module(self):
        """Build the module: the default MLP sized from the data, or the user's.

        Raises
        ------
        NotFittedError
            With the default MLP (``module=None``) before the model has seen
            data (``initialize()`` on a new model): its input and output
            sizes come from :meth:`fit` or :meth:`partial_fit`.
        """
        kwargs = self.get_params_for("module")
        if self.module is None and not (
            hasattr(self, "n_features_in_") and hasattr(self, "classes_")
        ):
            raise NotFittedError(
                "EndModel sizes its default MLP from the data (n_features_in_ "
                "and classes_), which it has not seen: call fit or partial_fit "
                "before initialize. To restore saved parameters, fit or "
                "partial_fit a model with the same parameters on data of the "
                "same shape and classes (a few rows do), then call load_params; "
                "or pickle the fitted model."
            )
        if self.module is None:
            module = MLP(
                self.n_features_in_,
                len(self.classes_),
                hidden_layer_sizes=_check_layer_sizes(self.hidden_layer_sizes),
                activation=self.activation,
                dropout=self.dropout,
                batch_norm=self.batch_norm,
                **kwargs,
            )
        else:
            module = self.initialized_instance(self.module, kwargs)
        self.module_ = module
        self._module_architecture_ = self._architecture()
        return self

    def _architecture(self):
        """The parameters that shape ``module_``: ``module``, and the MLP's."""
        arch = {"module": self.module}
        if self.module is None:
            for name in _MLP_PARAMS:
                value = getattr(self, name)
                if name == "hidden_layer_sizes" and (
                    _is_int(value) or np.iterable(value)
                ):
                    value = _layer_sizes(value)
                arch[name] = value
        return arch

    def get_dataset(self, X, y=None, sample_weight=None):
        """Wrap validated arrays (and row weights) in an :class:`ArrayDataset`."""
        if isinstance(X, torch.utils.data.Dataset):
            return X
        if sample_weight is None:
            return self.dataset(X, y)
        return self.dataset(X, y, sample_weight=sample_weight)

    def get_iterator(self, dataset, training=False):
        """Batch iterator; training batches are shuffled with the model's seed.

        When the module has batch normalization, a last training batch of one
        row is merged into the batch before it, with a ``DataLoader`` as
        ``iterator_train`` too (through a ``batch_sampler`` built from its
        ``batch_size``, ``shuffle`` and ``sampler``), unless its arguments
        decide the last batch themselves (``drop_last=True``, a
        ``batch_sampler``).
        """
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        iterator = getattr(self, prefix)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if iterator is BatchIterator and training:
            kwargs.setdefault("shuffle", True)
            kwargs.setdefault("random_state", self._batch_rng_)
        if training and _has_batch_norm(self.module_):
            if len(dataset) < 2:
                raise ValueError(
                    "The module has batch normalization, which needs at least 2 "
                    f"training rows; got n_samples={len(dataset)}."
                )
            if iterator is BatchIterator:
                kwargs.setdefault("min_last_batch", 2)
                if kwargs["batch_size"] < 2:
                    raise ValueError(
                        "Batch normalization cannot train on batches of "
                        f"{kwargs['batch_size']} row; set batch_size >= 2."
                    )
            elif isinstance(iterator, type) and issubclass(
                iterator, torch.utils.data.DataLoader
            ):
                kwargs = _merge_short_batch(dataset, kwargs, min_last_batch=2)
        return iterator(dataset, **kwargs)

    def get_split_datasets(self, X, y=None, **fit_params):
        """Training and validation datasets (``valid_data`` or ``train_split``)."""
        dataset = self.get_dataset(X, y)
        if self._valid_dataset_ is not None:
            return dataset, self._valid_dataset_
        split = self.train_split
        if split is None or split is False:
            return dataset, None
        if callable(split):
            # a skorch ValidSplit returns Subset views: read them as ArrayDatasets
            # so the batches and ValidationScoring see their rows and weights
            train, valid = split(dataset, y, **fit_params)
            return self._weighed_split(
                self._own_dataset(train), self._own_dataset(valid)
            )
        labels = np.argmax(y, axis=1) if y.ndim == 2 else y
        if len(labels) < 2:
            # nothing to hold out: the one row trains, unvalidated
            return dataset, None
        splitter = StratifiedShuffleSplit(
            n_splits=1, test_size=split, random_state=self._split_seed_
        )
        try:
            train_idx, valid_idx = next(splitter.split(np.zeros(len(labels)), labels))
        except ValueError:
            # a class too small to stratify: fall back to a plain random split
            rng = check_random_state(self._split_seed_)
            order = rng.permutation(len(labels))
            # at least one row on each side
            n_valid = min(max(1, int(round(split * len(labels)))), len(labels) - 1)
            valid_idx, train_idx = order[:n_valid], order[n_valid:]
        return self._weighed_split(
            dataset.subset(np.sort(train_idx)), dataset.subset(np.sort(valid_idx))
        )

    @staticmethod
    def _weighed_split(train, valid):
        """``(train, valid)``, refusing a half whose rows all weigh 0."""
        for half, what in ((train, "training"), (valid, "validation")):
            weight = getattr(half, "sample_weight", None)
            if weight is not None and len(weight) and not np.sum(weight) > 0:
                raise ValueError(
                    f"Every {what} row of train_split has sample_weight 0, so "
                    f"the weighted {what} loss is undefined; give some of them "
                    "weight, or use another split. (BaggingClassifier passes "
                    "its draws of rows as sample_weight, 0 for the rows it did "
                    "not draw: raise max_samples or set train_split=None.)"
                )
        return train, valid

    def _own_dataset(self, dataset):
        """A split callable's half as an :class:`ArrayDataset` (or None).

        ``Subset`` views are read with :func:`_as_array_dataset`; a skorch
        ``Dataset`` (as ``skorch.helper.predefined_split`` returns) holds raw
        rows and labels, which are checked and encoded like ``valid_data``.
        """
        dataset = _as_array_dataset(dataset)
        if dataset is None or isinstance(dataset, ArrayDataset):
            return dataset
        if hasattr(dataset, "X") and hasattr(dataset, "y"):
            return self._valid_dataset_from((dataset.X, dataset.y))
        raise ValueError(
            f"train_split returned a {type(dataset).__name__}; expected a "
            "torch Subset of the training data (as skorch's ValidSplit gives) or "
            "a skorch Dataset of rows and labels (as predefined_split gives)."
        )

    @staticmethod
    def _unpack_batch(batch):
        """``(X, y, sample_weight)`` of a batch; the weight is None for a pair."""
        if isinstance(batch, (tuple, list)) and len(batch) == 3:
            return tuple(batch)
        Xi, yi = unpack_data(batch)
        return Xi, yi, None

    def train_step_single(self, batch, **fit_params):
        """Forward and backward pass on one batch, with its row weights."""
        self._set_training(True)
        Xi, yi, wi = self._unpack_batch(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True, sample_weight=wi)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        """Loss on one validation batch, with its row weights."""
        self._set_training(False)
        Xi, yi, wi = self._unpack_batch(batch)
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False, sample_weight=wi)
        return {"loss": loss, "y_pred": y_pred}

    def evaluation_step(self, batch, training=False):
        """The module's output on one batch; targets and weights are ignored."""
        self.check_is_fitted()
        Xi = self._unpack_batch(batch)[0]
        with torch.set_grad_enabled(training):
            self._set_training(training)
            return self.infer(Xi)

    def get_loss(self, y_pred, y_true, X=None, training=False, sample_weight=None):
        """The criterion's loss, or its weighted mean over rows.

        With ``sample_weight`` the criterion is evaluated with
        ``reduction="none"`` and the batch loss is
        ``sum_i w_i * loss_i / sum_i w_i`` (0 for a batch whose weights are
        all zero). With class weights (``criterion__weight``) in
        ``CrossEntropyLoss`` or ``NLLLoss`` and class-index targets the
        denominator is ``sum_i w_i * weight[y_i]``, as their mean reduction
        divides by ``sum_i weight[y_i]``; with soft targets, and for other
        criteria (e.g. ``MultiMarginLoss``), the mean divides by the number of
        rows, so it stays ``sum_i w_i``. Either way all-ones row weights give
        the criterion's own mean.
        """
        y_true = to_tensor(y_true, device=self.device)
        if sample_weight is None:
            return self.criterion_(y_pred, y_true)
        criterion = self.criterion_
        if not isinstance(getattr(criterion, "reduction", None), str):
            raise ValueError(
                "sample_weight needs a criterion with a `reduction` attribute, as "
                f"torch's losses have; {type(criterion).__name__} has none."
            )
        reduction = criterion.reduction
        criterion.reduction = "none"
        try:
            loss = criterion(y_pred, y_true)
        finally:
            criterion.reduction = reduction
        weight = to_tensor(sample_weight, device=self.device).to(loss.dtype)
        if loss.shape != weight.shape:
            raise ValueError(
                f"sample_weight needs one loss per row; {type(criterion).__name__} "
                f"with reduction='none' returned shape {tuple(loss.shape)} for "
                f"{len(weight)} rows."
            )
        # as the mean reduction does for class indices: divide by the summed
        # class weights of the rows, here times their row weights
        total = _loss_weights(criterion, y_true, weight).sum()
        return (weight * loss).sum() / torch.where(total > 0, total, 1.0)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        """Record the denominator of the batch's mean loss as its size.

        skorch averages the batch losses of an epoch (``train_loss``,
        ``valid_loss``) weighted by ``train_batch_size`` / ``valid_batch_size``;
        with sample weights each batch loss is a weighted mean, so weighing it
        by the batch's total weight makes the epoch loss the weighted mean over
        all its rows. With class weights and hard labels the total is
        ``sum_i w_i * weight[y_i]`` (``w_i = 1`` without sample weights), the
        denominator of the batch loss, so the epoch loss does not depend on
        how the rows were batched.
        """
        super().on_batch_end(net, batch=batch, training=training, **kwargs)
        if batch is None:
            return
        _, y_true, weight = self._unpack_batch(batch)
        class_weighted = isinstance(y_true, torch.Tensor) and isinstance(
            getattr(self.criterion_, "weight", None), torch.Tensor
        )
        if weight is None and not class_weighted:
            return  # skorch's batch size, the number of rows
        if weight is not None:
            weight = to_tensor(weight, device=self.device)
        if class_weighted:
            weight = _loss_weights(self.criterion_, y_true.to(self.device), weight)
        prefix = "train" if training else "valid"
        self.history.record_batch(f"{prefix}_batch_size", float(weight.sum()))

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass; validation runs only every ``valid_every`` epochs."""
        if not training and iterator is not None and self.valid_every > 1:
            if len(self.history) % self.valid_every:
                return
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)

    # ---------------------------------------------------------------- fit
    def _prepare_X(self, X, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse="csr",
            dtype=(np.float32, np.float64),
            ensure_all_finite=True,
        )
        return _float32_features(X)

    def _prepare_fit(self, X, y, reset, classes=None, warm_start=False):
        """Validate ``X`` and ``y``; on ``reset`` also set ``classes_``.

        With ``warm_start`` (a refit of an initialized module) ``X`` must have
        the fitted number of features and ``y`` the fitted classes.
        """
        X = self._prepare_X(X, reset=reset and not warm_start)
        y, soft = check_targets(y, X.shape[0])
        check_consistent_length(X, y)
        if warm_start:
            new = np.arange(y.shape[1]) if soft else np.unique(y)
            if new.tolist() != self.classes_.tolist():
                got = f"soft labels over {len(new)} classes" if soft else new.tolist()
                raise ValueError(
                    "warm_start can only be used where y has the same classes as "
                    "in the previous call to fit. Previous classes: "
                    f"{self.classes_.tolist()}, y: {got}."
                )
            self.soft_labels_ = soft
        elif reset:
            self.soft_labels_ = soft
            if soft:
                if classes is not None:
                    self._check_soft_classes(classes, y.shape[1])
                self.classes_ = np.arange(y.shape[1])
            elif classes is not None:
                self.classes_ = np.unique(classes)
            else:
                self.classes_ = np.unique(y)
                _warn_minus_one_class(y, self.classes_)
        elif classes is not None and (
            np.unique(classes).tolist() != self.classes_.tolist()
        ):
            raise ValueError(
                f"classes={np.unique(classes).tolist()} is not the same as on the "
                f"first call to partial_fit, was {self.classes_.tolist()}."
            )
        if soft != self.soft_labels_:
            kind = "soft" if self.soft_labels_ else "hard"
            raise ValueError(f"The model was fitted on {kind} labels; pass {kind}.")
        if soft:
            if y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"y has {y.shape[1]} columns but the model has "
                    f"{len(self.classes_)} classes."
                )
            return X, y.astype(np.float32)
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(
                f"y holds labels {unknown.tolist()} that are not among the classes "
                f"{self.classes_.tolist()}."
            )
        return X, np.searchsorted(self.classes_, y).astype(np.int64)

    @staticmethod
    def _check_soft_classes(classes, n_columns):
        """``classes`` given with soft labels must be their columns ``0..k-1``."""
        classes = np.unique(classes).tolist()
        expected = list(range(n_columns))
        if len(classes) != n_columns:
            shown = classes
            if len(classes) > 10:
                shown = "[" + ", ".join(map(repr, classes[:5])) + ", ...]"
            hint = ""
            if any(isinstance(c, float) and not c.is_integer() for c in classes):
                # the probabilities themselves, as np.unique(y) gives them
                hint = (
                    " learning_curve(..., exploit_incremental_learning=True) "
                    "passes classes=np.unique(y), the probabilities of soft "
                    "labels: leave exploit_incremental_learning False."
                )
            raise ValueError(
                f"The soft labels y have {n_columns} columns but classes has "
                f"{len(classes)} entries {shown}; soft label columns are the "
                f"classes {expected}, so pass classes={expected} or None.{hint}"
            )
        if classes != expected:
            raise ValueError(
                f"classes={classes} does not match the soft labels y, whose "
                f"{n_columns} columns are the classes {expected}; pass "
                f"classes={expected} or None."
            )

    def _training_data(self, X, y_enc, sample_weight):
        """Validate ``sample_weight``; the arrays, or a weighted dataset."""
        if sample_weight is None:
            return X
        sample_weight = check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        return self.get_dataset(X, y_enc, _float32_weights(sample_weight))

    def _seeded(self, seed):
        return _ForkedSeed(seed, self.device)

    def fit(self, X, y, valid_data=None, sample_weight=None, **fit_params):
        """Train on hard labels ``(n,)`` or soft labels ``(n, k)``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Inputs; sparse matrices are densified one batch at a time.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Hard class labels or soft labels (rows summing to 1, columns the
            classes ``0..k-1`` in order; a DataFrame whose columns are named
            by other class numbers raises a ``ValueError``).
        valid_data : tuple, default=None
            Explicit (gold) validation set ``(X_valid, y_valid)`` or
            ``(X_valid, y_valid, sample_weight_valid)``, used instead of
            ``train_split`` for ``valid_score``, early stopping and the
            restored epoch. With ``sample_weight_valid`` (non-negative,
            finite, not all zero; None counts every row once) ``valid_loss``
            and ``valid_score`` weigh its rows. The model keeps the set (later
            :meth:`partial_fit` calls validate on it), so it is pickled with
            the model.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, finite row weights, not all zero. Each batch loss
            is the weighted mean ``sum_i w_i * loss_i / sum_i w_i``; rows
            held out by ``train_split`` keep their weights in the validation
            loss and score. None weighs every row equally.
        **fit_params
            Passed to the module's ``forward``.

        Returns
        -------
        self : EndModel
            The fitted model.
        """
        self._check_params()
        warm = bool(self.warm_start and self.initialized_) and hasattr(self, "classes_")
        if warm:
            _check_architecture(self, "warm_start=True")
        else:
            # a fit that raises leaves no module for a later partial_fit to
            # go on training under the classes and features of this call
            self.initialized_ = False
        X, y_enc = self._prepare_fit(X, y, reset=True, warm_start=warm)
        data = self._training_data(X, y_enc, sample_weight)
        self._valid_dataset_ = None
        if valid_data is not None:
            self._valid_dataset_ = self._valid_dataset_from(valid_data)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._split_seed_ = seed
        self._batch_rng_ = np.random.RandomState(seed)
        return self._train_call(data, y_enc, fit_params, first=not warm, seed=seed)

    def partial_fit(self, X, y, classes=None, sample_weight=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initializing.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Inputs, with as many features as on the first call.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Hard or soft labels, as on the first call and among its classes.
        classes : array-like, default=None
            All hard class labels, needed on the first call when ``y`` does not
            show every class; on a later call it must equal ``classes_``. With
            soft labels of ``k`` columns it can only be ``range(k)``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, finite row weights, as in :meth:`fit`.
        **fit_params
            Passed to the module's ``forward``.

        Returns
        -------
        self : EndModel
            The model.
        """
        first = not (self.initialized_ and hasattr(self, "classes_"))
        # every call, not the first only: set_params may come between calls
        self._check_params()
        if not first:
            _check_architecture(self, "partial_fit")
        X, y_enc = self._prepare_fit(X, y, reset=first, classes=classes)
        data = self._training_data(X, y_enc, sample_weight)
        seed = None  # a later call draws its seed from the batch order
        if first:
            self._valid_dataset_ = None
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            self._split_seed_ = seed
            self._batch_rng_ = np.random.RandomState(seed)
        return self._train_call(data, y_enc, fit_params, first=first, seed=seed)

    def _valid_dataset_from(self, valid_data):
        soft = self.soft_labels_
        if not isinstance(valid_data, (tuple, list)) or len(valid_data) not in (2, 3):
            raise ValueError(
                "valid_data must be a pair (X_valid, y_valid) or a triple "
                "(X_valid, y_valid, sample_weight_valid)."
            )
        try:
            X_valid = self._prepare_X(valid_data[0], reset=False)
        except (TypeError, ValueError) as error:
            raise _refused_valid_X(error) from error
        y_valid, soft_valid = check_targets(valid_data[1], X_valid.shape[0])
        weight = None
        if len(valid_data) == 3 and valid_data[2] is not None:
            weight = _float32_weights(
                check_sample_weight(
                    valid_data[2], X_valid, dtype=np.float64, ensure_non_negative=True
                )
            )
        if soft_valid:
            if y_valid.shape[1] != len(self.classes_):
                raise ValueError(
                    f"valid_data soft labels have {y_valid.shape[1]} columns; the "
                    f"training labels have {len(self.classes_)} classes."
                )
            return self.get_dataset(X_valid, y_valid.astype(np.float32), weight)
        unknown = np.setdiff1d(y_valid, self.classes_)
        if len(unknown):
            raise ValueError(
                f"valid_data holds labels {unknown.tolist()} that are not among "
                f"the training classes {self.classes_.tolist()}."
            )
        y_enc = np.searchsorted(self.classes_, y_valid).astype(np.int64)
        if soft:
            # score hard gold labels against soft training targets: one-hot
            y_enc = np.eye(len(self.classes_), dtype=np.float32)[y_enc]
        return self.get_dataset(X_valid, y_enc, weight)

    def _check_params(self):
        _check_cuda_device(self.device)
        _refuse_scoring_callbacks(
            self,
            "The validation rows are scored every epoch as valid_score (set "
            "scoring=); for another score too, add "
            "(name, sklearn_metal.callbacks.ValidationScoring(scoring, name=name)).",
            own_scorers=True,
        )
        split = self.train_split
        if not (split is None or split is False or callable(split)):
            if not (isinstance(split, numbers.Real) and 0 < split < 1):
                raise ValueError(
                    f"train_split={split!r} must be a fraction in (0, 1), a "
                    "callable (dataset, y) -> (train, valid), or None."
                )
        for name in ("max_epochs", "patience", "valid_every"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer.")
        if not _is_int(self.batch_size) or not (
            self.batch_size >= 1 or self.batch_size == -1
        ):
            raise ValueError(
                f"batch_size={self.batch_size!r} must be a positive integer, or -1 "
                "for the whole training set in one batch."
            )
        _check_module_params(self, _MLP_PARAMS, "default MLP", "module")
        if self.module is None:
            _check_layer_sizes(self.hidden_layer_sizes)
            _check_activation(self.activation)

    # ------------------------------------------------------------ predict
    def _get_predict_nonlinearity(self):
        """Softmax over the last axis, whatever the criterion.

        The module returns logits (or log-probabilities, whose softmax is the
        same), so ``predict_proba`` is their softmax. skorch's
        ``predict_nonlinearity="auto"`` applies it only for a
        ``CrossEntropyLoss`` and returns the raw module output for any other
        criterion (``MultiMarginLoss``, ``NLLLoss``); an explicit
        ``predict_nonlinearity`` is used as given.
        """
        if isinstance(self.predict_nonlinearity, str) and (
            self.predict_nonlinearity == "auto"
        ):
            return partial(torch.softmax, dim=-1)
        return super()._get_predict_nonlinearity()

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax of the module's logits, with any ``criterion``.
        """
        check_is_fitted(self, "classes_")
        _check_cuda_device(self.device)
        X = self._prepare_X(X, reset=False)
        return super().predict_proba(X)

    def predict(self, X):
        """Most probable class, ``classes_[argmax]``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "classes_")
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy against hard labels, or against the argmax of soft labels.

        Hard labels ``-1`` mark unlabeled rows (scikit-learn's semi-supervised
        convention, as in :meth:`LabelModel.score`) and are left out, unless
        ``-1`` is one of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Hard or soft labels; ``-1`` for unlabeled rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights.

        Returns
        -------
        score : float
            Mean accuracy over the labeled rows.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_metal import EndModel
        >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]], dtype=np.float32)
        >>> model = EndModel(
        ...     hidden_layer_sizes=(), lr=0.5, max_epochs=50, train_split=None,
        ...     verbose=0, random_state=0,
        ... ).fit(X, [0, 0, 1, 1])
        >>> model.score(X, [0, -1, 1, -1])  # the two labeled rows
        1.0
        """
        check_is_fitted(self, "classes_")
        y, soft = check_targets(y)
        if soft:
            if y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"y has {y.shape[1]} columns but the model has "
                    f"{len(self.classes_)} classes."
                )
            y = self.classes_[np.argmax(y, axis=1)]
        pred = self.predict(X)
        check_consistent_length(y, pred)
        if sample_weight is not None:
            sample_weight = check_sample_weight(
                sample_weight, np.empty(len(y)), ensure_non_negative=True
            )
        # -1 marks an unlabeled row, unless it is one of the classes
        labeled = np.ones(len(y), dtype=bool)
        if (
            not soft
            and y.dtype.kind in "iuf"
            and self.classes_.dtype.kind in "iuf"
            and not np.isin(-1, self.classes_)
        ):
            labeled = y != -1
        return labeled_accuracy(y, pred, labeled, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = False
        return tags
