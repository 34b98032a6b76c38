"""Multi-task learning: a shared-trunk skorch net and a meta-estimator."""

import copy
import importlib
import inspect
import json
import numbers
import os
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import get_scorer
from sklearn.metrics._scorer import _Scorer
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import (
    _check_feature_names,
    check_array,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    EpochTimer,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
)

from ._validation import (
    DUPLICATE_ENTRIES,
    TASK_PLUS_MINUS_ONE,
    _number,
    check_label_matrix,
    check_sample_weight,
    check_soft_label_columns,
    check_sparse_format,
    check_sparse_zeros,
    frame_to_pandas,
    has_duplicate_entries,
    plus_minus_one_rows,
    refuse_sparse_labels,
    rows_to_array,
    user_stacklevel,
)
from .end_model import (
    _check_architecture,
    _check_cuda_device,
    _check_module_params,
    _float32_features,
    _float32_weights,
    _ForkedSeed,
    _is_int,
    _loss_weights,
    _refuse_scoring_callbacks,
    _refused_valid_X,
    _SkorchCompat,
    _weighted_score,
)
from .modules import (
    _ACTIVATIONS,
    _check_activation,
    _check_dropout,
    _check_layer_sizes,
    _has_batch_norm,
    _is_width,
    _layer_sizes,
)

__all__ = [
    "MultitaskClassifier",
    "MultitaskModule",
    "MultitaskTrainer",
    "Votes",
    "task_labels",
]

# parameters of MultitaskClassifier that build the default MLP trunk and heads
_TRUNK_PARAMS = (
    "tasks",
    "hidden_layer_sizes",
    "activation",
    "dropout",
    "head_hidden_sizes",
    "task_head_layers",
    "token_tasks",
    "trunk_dim",
)

# skorch parameters that MultitaskClassifier inherits but does not use: it
# builds its own dataset and task batches, and its own per-task probabilities
_UNUSED_SKORCH_PARAMS = (
    "dataset",
    "iterator_train",
    "iterator_valid",
    "predict_nonlinearity",
)

_OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamax": torch.optim.Adamax,
    "adamw": torch.optim.AdamW,
}


# --------------------------------------------------------------------------
# Per-task label sets as one row-indexable table
# --------------------------------------------------------------------------
class Votes:
    """Marks a task's labels as a weak label matrix (votes, ``-1`` abstains).

    Parameters
    ----------
    L : array-like or sparse matrix of shape (n_samples, n_sources)
        The task's votes. In a sparse matrix every entry that is not stored
        abstains, and DIA and BSR matrices (whose class-0 votes are
        ambiguous) are rejected, as in :class:`~sklearn_metal.LabelModel`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.multitask import Votes
    >>> Votes(np.array([[0, -1], [1, 1]])).L.shape
    (2, 2)
    """

    def __init__(self, L):
        L = frame_to_pandas(L)
        if isinstance(L, (list, tuple)):
            L = rows_to_array(L)
        if sp.issparse(L):
            # Entries that are not stored abstain, as in ``check_label_matrix``.
            # (values are checked against the task's cardinality at fit time).
            check_sparse_format(L)
            if has_duplicate_entries(L):
                raise ValueError(DUPLICATE_ENTRIES)
            coo = sp.coo_matrix(L)
            check_sparse_zeros(coo)
            if coo.dtype == bool or coo.dtype.kind not in "iuf":
                raise ValueError(
                    f"Label matrix has dtype {coo.dtype}; expected integers "
                    "(-1 abstains, 0..k-1 are classes)."
                )
            L = np.full(coo.shape, -1, dtype=np.result_type(coo.dtype, np.int8))
            L[coo.row, coo.col] = coo.data
        elif (
            hasattr(L, "columns")
            and any(isinstance(d, pd.api.extensions.ExtensionDtype) for d in L.dtypes)
            and all(d.kind in "iuf" for d in L.dtypes)
        ):
            # Nullable numeric columns (beside numpy ones or not): pd.NA becomes
            # NaN, rejected at fit time, where an object array would hide it.
            L = L.to_numpy(dtype=np.float64, na_value=np.nan)
        self.L = np.asarray(L)


def task_labels(**tasks):
    """Pack per-task label sets into one DataFrame that survives row splitting.

    Each keyword is a task: hard labels ``(n,)`` (or one column ``(n, 1)``)
    with ``-1`` for rows the task does not label, soft labels ``(n, k)`` whose
    rows are probability distributions, or all NaN for unlabeled rows (a row
    with only some NaN raises a ``ValueError``), token labels ``(n, seq_len)``
    wrapped in a dict ``{"tokens": array}`` (``-1`` for padding), or votes
    wrapped in :class:`Votes`. Columns are named ``task`` (hard), ``task:c``
    (soft, class ``c``), ``task#i`` (token ``i``) and ``task|j`` (source
    ``j``), so ``GridSearchCV`` and ``cross_val_score`` can split the rows
    like any DataFrame. Columns are read by the number in their name, not by
    their position; a task's numbers must be exactly ``0..m-1``. Soft labels
    given as a DataFrame are read by position, so one whose columns are named
    by class numbers must name them ``0..k-1`` in order (else a
    ``ValueError``).

    Parameters
    ----------
    **tasks : array-like, dict or Votes
        Label set of each task, all with the same number of rows.

    Returns
    -------
    y : pandas.DataFrame of shape (n_samples, n_columns)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.multitask import Votes, task_labels
    >>> y = task_labels(
    ...     spam=np.array([1, -1, 0]),
    ...     topic=np.array([[0.2, 0.8], [np.nan, np.nan], [1.0, 0.0]]),
    ...     sentiment=Votes(np.array([[0, -1], [1, 1], [-1, -1]])),
    ... )
    >>> list(y.columns)
    ['spam', 'topic:0', 'topic:1', 'sentiment|0', 'sentiment|1']
    """
    columns, n = {}, None
    for task, value in tasks.items():
        for sep in (":", "|", "#"):
            if sep in task:
                raise ValueError(f"Task name {task!r} must not contain {sep!r}.")
        if isinstance(value, Votes):
            arr, kind = value.L, "|"
        elif isinstance(value, dict) and "tokens" in value:
            arr, kind = np.asarray(value["tokens"]), "#"
        else:
            refuse_sparse_labels(
                value,
                f"Labels of task {task!r}",
                "pass hard labels (n,) or soft labels (n, k) as a dense array "
                "(.toarray()), or votes as Votes(L), where unstored entries abstain.",
                verb="are",
            )
            check_soft_label_columns(value, f"The labels of task {task!r}", verb="are")
            arr = np.asarray(value)
            if arr.ndim == 2 and arr.shape[1] == 1:
                # one column is hard labels, as a 1-column y elsewhere (soft
                # labels need a column per class, at least 2)
                arr = column_or_1d(arr, warn=True)
            kind = "" if arr.ndim == 1 else ":"
        if arr.ndim not in (1, 2):
            raise ValueError(f"Labels of task {task!r} must be 1-D or 2-D.")
        if kind in ("|", "#") and arr.ndim != 2:
            raise ValueError(
                f"{'Votes' if kind == '|' else 'Token labels'} of task {task!r} "
                f"must be 2-D, got shape {arr.shape}; a single source or token "
                "position is one column: reshape(-1, 1)."
            )
        if n is not None and arr.shape[0] != n:
            raise ValueError(
                f"Task {task!r} has {arr.shape[0]} rows but the first task has {n}."
            )
        n = arr.shape[0]
        if kind == ":" and arr.dtype.kind in "biuf":
            _check_soft_rows(task, arr)
        if kind == "":
            columns[task] = arr
        else:
            for i in range(arr.shape[1]):
                columns[f"{task}{kind}{i}"] = arr[:, i]
    return pd.DataFrame(columns)


def _check_soft_rows(task, values):
    """Reject soft-label rows that are neither all NaN nor a distribution."""
    values = np.asarray(values, dtype=np.float64)
    nan = np.isnan(values)
    labelled = ~nan.all(axis=1)
    with np.errstate(invalid="ignore"):
        sums = values.sum(axis=1)
        checks = [
            (
                nan.any(axis=1),
                "NaN marks an unlabeled row only when the whole row is NaN",
            ),
            (~np.isfinite(values).all(axis=1), "values must be finite"),
            ((values < 0).any(axis=1), "values must be non-negative"),
            (np.abs(sums - 1) > 1e-4, "it must sum to 1"),
        ]
    for bad, reason in checks:
        bad = bad & labelled
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"Task {task!r}: soft-label row {i} is {values[i].tolist()}; {reason}."
            )


def _check_y_given(y):
    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None: "
            "pass the per-task labels (see task_labels)."
        )


def _parse_task_labels(y, tasks):
    """Split a task-label table into ``{task: (kind, array)}``."""
    _check_y_given(y)
    if isinstance(y, dict):
        y = task_labels(**y)
    y = frame_to_pandas(y)  # (a polars frame has columns but no pandas to_numpy)
    if not hasattr(y, "columns"):
        y = np.asarray(y)
        if y.ndim == 1 and len(tasks) == 1:
            y = pd.DataFrame({next(iter(tasks)): y})
        elif y.ndim == 2 and y.shape[1] == len(tasks) and y.dtype.kind in "iuf":
            y = pd.DataFrame(y, columns=list(tasks))
        else:
            raise ValueError(
                "y must be a task-label DataFrame (see task_labels), a dict of "
                "per-task labels, or an (n, n_tasks) array of integer labels."
            )
    groups = {}
    for col in y.columns:
        name = str(col)
        task, kind, number = name, "hard", None
        for sep, label in ((":", "soft"), ("|", "votes"), ("#", "tokens")):
            if sep in name:
                task, kind = name.split(sep)[0], label
                number = name[len(task) + 1 :]
        if task not in tasks:
            raise ValueError(
                f"y has labels for the unknown task {task!r}; the model's tasks "
                f"are {list(tasks)}."
            )
        prev = groups.setdefault(task, (kind, []))
        if prev[0] != kind:
            raise ValueError(f"Task {task!r} mixes label kinds in y's columns.")
        if number is not None:
            try:
                number = int(number)
            except ValueError:
                raise ValueError(
                    f"Column {name!r} of y must end in an integer (the class, "
                    "source or token position)."
                ) from None
        prev[1].append((number, col))
    parsed = {}
    for task, (kind, cols) in groups.items():
        if kind != "hard":
            # Columns are read by the number in their name, not by position.
            cols = sorted(cols, key=lambda c: c[0])
            found = [c[0] for c in cols]
            if found != list(range(len(cols))):
                raise ValueError(
                    f"The {kind} columns of task {task!r} are numbered "
                    f"{found}; expected each of 0..{len(cols) - 1} exactly once."
                )
        frame = y[[c[1] for c in cols]]
        if kind == "votes":
            # Validated by check_label_matrix against the task's cardinality;
            # object columns of numbers are read as numbers, as LabelModel
            # reads an object array
            objects = [c for c in frame.columns if frame[c].dtype == object]
            if objects:
                try:
                    frame = frame.astype(dict.fromkeys(objects, np.float64))
                except (TypeError, ValueError):
                    pass  # check_label_matrix names the column
            parsed[task] = (kind, frame)
            continue
        values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
        parsed[task] = (kind, values[:, 0] if kind == "hard" else values)
    return parsed


def _targets(parsed, tasks, token_tasks, require_labels=True, whole=True):
    """Soft targets ``(n, k)`` (or hard token targets) and row masks per task.

    With ``require_labels=False`` (scoring) a task without labelled rows is
    dropped instead of rejected. With ``whole`` (labels of a whole data set,
    not of one ``partial_fit`` block) binary hard labels that hold -1 and 1
    but no 0, the look of classes coded -1/+1, warn.
    """
    out = {}
    for task, k in tasks.items():
        if task not in parsed:
            continue
        kind, values = parsed[task]
        if (kind == "tokens") != (task in token_tasks):
            raise ValueError(
                f"Task {task!r} is {'a token' if task in token_tasks else 'a row'}-"
                f"level task but y gives it {kind} labels."
            )
        if kind == "votes":
            raise ValueError(
                f"Task {task!r} has votes, but MultitaskClassifier takes hard or "
                "soft labels; wrap it in MultitaskTrainer, which turns votes into "
                "soft labels with its label_model."
            )
        if kind in ("hard", "tokens"):
            bad = ~np.isfinite(values) | (values != np.round(values))
            if bad.any():
                row = int(np.argwhere(bad)[0][0])
                raise ValueError(
                    f"Task {task!r} has the label {values[bad][0]} at row {row}; "
                    "hard labels must be integers, with -1 (not NaN or NA) for "
                    "rows the task does not label."
                )
            bad = (values < -1) | (values >= k)
            if bad.any():
                raise ValueError(
                    f"Task {task!r} has the label {_number(values[bad][0])}; "
                    f"expected -1 (no label) or a class in 0..{k - 1}."
                )
            hard = values.astype(np.int64)
            unlabeled = (
                whole and kind == "hard" and k == 2 and plus_minus_one_rows(hard)
            )
            if unlabeled:
                warnings.warn(
                    TASK_PLUS_MINUS_ONE.format(task=task, n=unlabeled),
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
            mask = hard >= 0 if kind == "hard" else (hard >= 0).any(axis=1)
            out[task] = (hard, mask)
        else:
            if values.shape[1] != k:
                raise ValueError(
                    f"Task {task!r} has soft labels with {values.shape[1]} columns; "
                    f"its cardinality is {k}."
                )
            _check_soft_rows(task, values)
            mask = ~np.isnan(values).any(axis=1)
            out[task] = (np.nan_to_num(values).astype(np.float32), mask)
    for task, (_, mask) in list(out.items()):
        if not mask.any():
            if require_labels:
                raise ValueError(f"Task {task!r} has no labelled rows.")
            del out[task]
    if not out:
        raise ValueError("y labels none of the model's tasks.")
    return out


# --------------------------------------------------------------------------
# The torch module
# --------------------------------------------------------------------------
# an empty ModuleDict: the names its attributes already take
_MODULE_DICT_PROBE = torch.nn.ModuleDict()


def _check_task_name_strings(tasks):
    """Task names must be non-empty strings."""
    for name in tasks:
        if not isinstance(name, str):
            raise ValueError(
                f"Task names must be strings; got {name!r} ({type(name).__name__})."
            )
        if not name:
            raise ValueError("Task names must be non-empty strings; got ''.")


def _refused_name(task):
    """Whether torch refuses ``task`` as a submodule name: it holds a ``.``
    or an attribute of the ``ModuleDict`` already takes it (``"type"``,
    ``"training"``, ...)."""
    return "." in task or hasattr(_MODULE_DICT_PROBE, task)


def _head_keys(tasks):
    """The keys of the tasks' heads in ``MultitaskModule.heads``.

    A name torch accepts is its own key, so state dicts keep the
    ``heads.<task>.`` keys they always had. A name torch refuses is escaped
    as ``"%"`` followed by the name with ``%`` written ``%25`` and ``.``
    written ``%2E``, with more leading ``%`` while that key is another
    task's: distinct names give distinct keys.
    """
    keys = {task: task for task in tasks if not _refused_name(task)}
    taken = set(keys)
    for task in tasks:
        if task in keys:
            continue
        key = "%" + task.replace("%", "%25").replace(".", "%2E")
        while key in taken:
            key = "%" + key
        keys[task] = key
        taken.add(key)
    return {task: keys[task] for task in tasks}


class MultitaskModule(torch.nn.Module):
    """A shared MLP trunk with one head per task.

    Parameters
    ----------
    input_dim : int
        Input features (per token for sequence input).
    tasks : dict of {str: int}
        Task names (any non-empty strings) and cardinalities.
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Trunk widths, each positive; an int is one layer, as in
        scikit-learn's ``MLPClassifier``. Unused with a user ``trunk``.
    activation : {"relu", "tanh", "gelu", "leaky_relu", "elu", "identity"}, \
            default="relu"
        Trunk and head activation.
    dropout : float, default=0.0
        Dropout probability after each trunk layer, in [0, 1]. Unused with a
        user ``trunk``.
    head_hidden_sizes : int or tuple of int, default=()
        Hidden widths of every head (an MLP head); ``()`` is a linear head.
    task_head_layers : dict of {str: int}, default=None
        Trunk layer (0 = the input, ``len(hidden_layer_sizes)`` = the top,
        the default) each task's head reads. A layer outside that range, or
        a key that is not a task, raises a ``ValueError``.
    token_tasks : tuple of str, default=()
        Token-level tasks: the input is ``(n, seq_len, input_dim)`` and these
        heads label every token; the other tasks read the mean over the
        non-padding (non all-zero) tokens. A name that is not a task raises
        a ``ValueError``.
    trunk : torch.nn.Module, default=None
        A user trunk (e.g. a pretrained encoder) mapping the input to
        ``(..., trunk_dim)``; it replaces the MLP and heads read its output.
    trunk_dim : int, default=None
        Output width of ``trunk``.

    Attributes
    ----------
    heads : torch.nn.ModuleDict
        One head per task, under the key ``head_keys[task]``.
    head_keys : dict of {str: str}
        The key of each task's head in ``heads``: the task name itself,
        unless torch cannot take it as a submodule name (it holds a ``.``, or
        names an attribute of ``ModuleDict`` such as ``"type"``); such a name
        is escaped as ``"%"`` followed by the name with ``%`` written ``%25``
        and ``.`` written ``%2E`` (``"a.b"`` gives ``"%a%2Eb"``, ``"type"``
        gives ``"%type"``), with one more leading ``%`` while that key is
        another task's name.

    Examples
    --------
    >>> import torch
    >>> from sklearn_metal.multitask import MultitaskModule
    >>> net = MultitaskModule(4, {"a": 2, "b": 3}, hidden_layer_sizes=(8,))
    >>> {t: out.shape for t, out in net(torch.zeros(5, 4)).items()}
    {'a': torch.Size([5, 2]), 'b': torch.Size([5, 3])}
    """

    def __init__(
        self,
        input_dim,
        tasks,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        head_hidden_sizes=(),
        task_head_layers=None,
        token_tasks=(),
        trunk=None,
        trunk_dim=None,
    ):
        super().__init__()
        _check_activation(activation)
        act = _ACTIVATIONS[activation]
        head_hidden_sizes = _check_layer_sizes(head_hidden_sizes, "head_hidden_sizes")
        _check_task_name_strings(tasks)
        self.tasks = dict(tasks)
        self.head_keys = _head_keys(self.tasks)
        self.token_tasks = tuple(token_tasks)
        for name, given in (
            ("task_head_layers", task_head_layers or {}),
            ("token_tasks", self.token_tasks),
        ):
            unknown = sorted(set(given) - set(self.tasks), key=str)
            if unknown:
                raise ValueError(
                    f"{name} names unknown tasks {unknown}; the tasks are "
                    f"{list(self.tasks)}."
                )
        self.head_layer = {}
        self.user_trunk = trunk is not None
        if trunk is not None:
            if trunk_dim is None:
                raise ValueError("trunk_dim is required with a user trunk.")
            self.layers = torch.nn.ModuleList([trunk])
            widths = [input_dim, trunk_dim]
        else:
            _check_dropout(dropout)
            layers, widths, width = [], [input_dim], input_dim
            for size in _check_layer_sizes(hidden_layer_sizes):
                block = [torch.nn.Linear(width, size), act()]
                if dropout > 0:
                    block.append(torch.nn.Dropout(dropout))
                layers.append(torch.nn.Sequential(*block))
                widths.append(size)
                width = size
            self.layers = torch.nn.ModuleList(layers)
        top = len(widths) - 1
        heads = {}
        for task, k in self.tasks.items():
            level = (task_head_layers or {}).get(task, top)
            if not _is_width(level) or not 0 <= level <= top:
                raise ValueError(
                    f"task_head_layers[{task!r}]={level!r} must be a trunk layer, "
                    f"an int in 0..{top}."
                )
            self.head_layer[task] = level = int(level)
            head, width = [], widths[level]
            for size in head_hidden_sizes:
                head += [torch.nn.Linear(width, size), act()]
                width = size
            head.append(torch.nn.Linear(width, k))
            heads[self.head_keys[task]] = torch.nn.Sequential(*head)
        self.heads = torch.nn.ModuleDict(heads)

    def __setstate__(self, state):
        super().__setstate__(state)
        if "head_keys" not in self.__dict__:  # pickled before head_keys: every
            self.head_keys = {task: task for task in self.tasks}  # name its key
        if "user_trunk" not in self.__dict__:  # pickled before user_trunk
            self.user_trunk = False

    def forward(self, X, tasks=None, **kwargs):
        """Logits per task: ``{task: (n, k)}``, or ``(n, seq_len, k)`` for tokens.

        ``tasks`` (names) restricts the output to those tasks' heads; None
        computes every head. Other keyword arguments (the fit parameters of
        :class:`MultitaskClassifier`) go to a user trunk's forward; the MLP
        trunk takes none.
        """
        if kwargs and not self.user_trunk:
            raise TypeError(
                f"The MLP trunk takes no keyword arguments, got {sorted(kwargs)}: "
                "fit keyword arguments reach the forward of a user trunk "
                "(MultitaskClassifier's module)."
            )
        outputs = [X]
        h = X
        for layer in self.layers:
            h = layer(h, **kwargs)
            outputs.append(h)
        pad = None
        if X.dim() == 3:
            pad = (X != 0).any(dim=-1, keepdim=True).float()  # (n, seq, 1)
        logits = {}
        for task, key in self.head_keys.items():
            if tasks is not None and task not in tasks:
                continue
            head = self.heads[key]
            rep = outputs[self.head_layer[task]]
            if rep.dim() == 3 and task not in self.token_tasks:
                rep = (rep * pad).sum(1) / pad.sum(1).clamp(min=1.0)
            logits[task] = head(rep)
        return logits


# --------------------------------------------------------------------------
# Data and batches
# --------------------------------------------------------------------------
class _MultitaskDataset(torch.utils.data.Dataset):
    def __init__(self, X, targets=None, weights=None):
        self.X = X
        self.targets = targets or {}
        self.weights = weights

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        return self.batch(np.array([i]))

    def batch(self, idx, task=None):
        """Rows ``idx`` with the targets of ``task`` (a training batch, whose
        loss reads that task only), or of every task where ``task`` is None."""
        Xb = torch.from_numpy(np.ascontiguousarray(self.X[idx]))
        yb = {
            t: (torch.from_numpy(v[idx]), torch.from_numpy(m[idx]))
            for t, (v, m) in self.targets.items()
            if task is None or t == task
        }
        wb = None if self.weights is None else torch.from_numpy(self.weights[idx])
        return Xb, {"targets": yb, "task": task, "weight": wb}

    def subset(self, idx):
        return _MultitaskDataset(
            self.X[idx],
            {t: (v[idx], m[idx]) for t, (v, m) in self.targets.items()},
            None if self.weights is None else self.weights[idx],
        )

    def labelled_tasks(self):
        """Tasks with at least one labelled row (token, for token tasks).

        With row weights, only rows of positive weight count.
        """
        rows = True if self.weights is None else self.weights > 0
        return [task for task, (_, mask) in self.targets.items() if (mask & rows).any()]


class _TaskBatches:
    """Batches of each task's labelled rows, shuffled together or task by task.

    In training, a task's last batch with fewer than ``min_last_batch`` rows
    is merged into that task's batch before it (batch normalization cannot
    train on a batch of one row).
    """

    def __init__(
        self, dataset, batch_size, scheduler, training, random_state, min_last_batch=1
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.scheduler = scheduler
        self.training = training
        self.random_state = random_state
        self.min_last_batch = min_last_batch

    def _plan(self):
        # a Python int: a numpy batch size (np.int8(32)) overflowed in the
        # batch bounds a + bs
        bs = int(self.batch_size)
        if not self.training or not self.dataset.targets:
            n = len(self.dataset)
            return [(np.arange(a, min(a + bs, n)), None) for a in range(0, n, bs)]
        rng = check_random_state(self.random_state)
        plan = []
        for task, (_, mask) in self.dataset.targets.items():
            rows = rng.permutation(np.flatnonzero(mask))
            starts = list(range(0, len(rows), bs))
            if len(starts) > 1 and len(rows) - starts[-1] < self.min_last_batch:
                starts.pop()  # the short last batch joins the one before it
            stops = starts[1:] + [len(rows)]
            plan += [
                (np.sort(rows[a:b]), task) for a, b in zip(starts, stops, strict=True)
            ]
        if self.scheduler == "shuffled":
            order = rng.permutation(len(plan))
            plan = [plan[i] for i in order]
        return plan

    def __iter__(self):
        for idx, task in self._plan():
            yield self.dataset.batch(idx, task)

    def __len__(self):
        return len(self._plan())


def _task_split(targets, n_rows, fraction, seed, checkpoint_task=None):
    """Validation rows: about ``fraction`` of each task's labelled rows.

    Tasks are served from the sparsest up, and each task's share is drawn
    class by class (by the argmax of soft labels), so a sparse task is not
    left without training rows by chance: every task keeps at least one
    labelled training row, and ``checkpoint_task`` gets a validation row when
    it labels two rows or more, one of which can be held out without taking
    a task's only training row. Rows no task labels stay in training.
    """
    rng = check_random_state(seed)
    valid = np.zeros(n_rows, dtype=bool)
    placed = np.zeros(n_rows, dtype=bool)
    order = sorted(targets, key=lambda t: int(targets[t][1].sum()))
    for task in order:
        values, mask = targets[task]
        rows = np.flatnonzero(mask)
        want = int(round(fraction * len(rows)))
        if task == checkpoint_task and len(rows) >= 2:
            want = max(want, 1)
        need = min(want, len(rows) - 1) - int(valid[rows].sum())
        free = rng.permutation(rows[~placed[rows]])
        if need > 0 and len(free):
            if values.ndim == 2 and values.dtype.kind == "f":
                classes = values[free].argmax(axis=1)
            elif values.ndim == 1:
                classes = values[free]
            else:  # token labels: no class per row
                classes = np.zeros(len(free), dtype=np.int64)
            rank = np.empty(len(free))
            for c in np.unique(classes):
                idx = np.flatnonzero(classes == c)
                rank[idx] = (np.arange(len(idx)) + 0.5) / len(idx)
            valid[free[np.argsort(rank, kind="stable")[:need]]] = True
        placed[free] = True
    for task in order:
        rows = np.flatnonzero(targets[task][1])
        if len(rows) and valid[rows].all():
            # the task keeps a training row, but not the checkpoint task's
            # last validation row (a sparser task may have placed it)
            if checkpoint_task in targets and checkpoint_task != task:
                last = np.flatnonzero(targets[checkpoint_task][1] & valid)
                if len(last) == 1 and len(rows) > 1:
                    rows = rows[rows != last[0]]
            valid[rng.choice(rows)] = False
    if checkpoint_task in targets:
        rows = np.flatnonzero(targets[checkpoint_task][1])
        if len(rows) >= 2 and not valid[rows].any():
            # sparser tasks kept all its rows for their training rows: hold
            # out one that leaves every task a training row
            for row in rng.permutation(rows):
                valid[row] = True
                if all(
                    not mask.any() or (mask & ~valid).any()
                    for _, mask in targets.values()
                ):
                    break
                valid[row] = False
    return np.flatnonzero(~valid), np.flatnonzero(valid)


# --------------------------------------------------------------------------
# Callbacks: per-task validation scores, best checkpoint, LR schedule, log
# --------------------------------------------------------------------------
class _EpochLoss(PassthroughScoring):
    """skorch's epoch loss, the batch losses averaged by batch size (the
    weight of a batch's labelled entries); NaN when no labelled entry of the
    epoch has weight."""

    def get_avg_score(self, history):
        key = "train_batch_size" if self.on_train else "valid_batch_size"
        sizes, losses = zip(*history[-1, "batches", :, [key, self.name]], strict=True)
        if not np.sum(sizes) > 0:
            return np.nan
        return np.average(losses, weights=sizes)


class _TaskScoring(Callback):
    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None or not dataset_valid.targets:
            return
        scores = net._score_dataset(dataset_valid)
        for task, score in scores.items():
            net.history.record(f"valid_{task}_score", score)
        # the mean over the tasks with validation labels and a defined score
        # (NaN when no task's score is defined, which no checkpoint takes)
        net.history.record("valid_score", _mean_score(scores))


class _BestCheckpoint(Callback):
    """Keep the best validated epoch of each fit or partial_fit call, and
    restore it at the call's end (a later call starts its own comparison,
    as its data or validation set may differ)."""

    def initialize(self):
        self.best_ = -np.inf
        self.best_state_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        self.initialize()

    def __getstate__(self):
        # As skorch's EarlyStopping: the copy of the weights stays out of a
        # pickle, where it would not go through skorch's device mapping (a
        # net fitted on a GPU would not load without one) and would double
        # the size of the saved weights.
        state = self.__dict__.copy()
        state["best_state_"] = None
        return state

    def on_epoch_end(self, net, **kwargs):
        key = (
            "valid_score"
            if net.checkpoint_task == "mean"
            else f"valid_{net.checkpoint_task}_score"
        )
        if key not in net.history[-1]:
            return
        score = net.history[-1, key]
        is_best = score > self.best_
        net.history.record("checkpoint", bool(is_best))
        if is_best:
            self.best_ = score
            self.best_state_ = {
                k: v.detach().clone() for k, v in net.module_.state_dict().items()
            }
            if net.checkpoint_dir:
                os.makedirs(net.checkpoint_dir, exist_ok=True)
                torch.save(
                    self.best_state_, os.path.join(net.checkpoint_dir, "best_model.pt")
                )

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)


def _lr_schedulers(net):
    """Names of the skorch ``LRScheduler`` callbacks of ``net`` in use."""
    return [
        name
        for name, callback in getattr(net, "callbacks_", [])
        if isinstance(callback, LRScheduler)
    ]


class _LRSchedule(Callback):
    """Set the epoch's learning rate from ``lr_schedule`` and ``warmup_epochs``
    (the schedule restarts with every call) and record it as ``lr``.

    The schedule scales each parameter group's learning rate as the call
    found it in the optimizer: ``lr``, or ``optimizer__lr`` and the rates of
    ``optimizer__param_groups`` where given (and changed by ``set_params``
    between calls); the rates are put back at the end of the call.

    A skorch ``LRScheduler`` among the net's callbacks owns the learning rate
    instead: the built-in schedule then leaves it alone (it must be the
    constant one, without warmup) and only records it. The constant schedule
    sets the rate at the first epoch of a call only, so another callback that
    changes it between epochs keeps its change.
    """

    def on_train_begin(self, net, **kwargs):
        self.first_epoch_ = len(net.history)
        self.user_schedulers_ = _lr_schedulers(net)
        self.base_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]
        if self.user_schedulers_ and (
            net.lr_schedule != "constant" or net.warmup_epochs
        ):
            raise ValueError(
                f"The callback {self.user_schedulers_[0]!r} is an LRScheduler, "
                f"which sets the learning rate, but lr_schedule="
                f"{net.lr_schedule!r} with warmup_epochs={net.warmup_epochs!r} "
                "would set it too; use lr_schedule='constant' and "
                "warmup_epochs=0 with an LRScheduler, or remove the callback."
            )

    def on_epoch_begin(self, net, **kwargs):
        # the row for this epoch already exists
        epoch = len(net.history) - 1 - getattr(self, "first_epoch_", 0)
        constant = net.lr_schedule == "constant" and not net.warmup_epochs
        # The constant schedule sets ``lr`` at the first epoch of a call only,
        # so a callback of the user's that changes the rate keeps its change.
        if not getattr(self, "user_schedulers_", None) and (epoch == 0 or not constant):
            factor = net._lr_factor(epoch)
            groups = net.optimizer_.param_groups
            for group, base in zip(groups, self._base_lrs(net), strict=True):
                group["lr"] = base * factor
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])

    def _base_lrs(self, net):
        """Each group's rate at the start of the call (``lr`` for every
        group if the optimizer's groups have changed since)."""
        base = getattr(self, "base_lrs_", None)
        if base is None or len(base) != len(net.optimizer_.param_groups):
            base = [net.lr] * len(net.optimizer_.param_groups)
        return base

    def on_train_end(self, net, **kwargs):
        # the next call scales the rates it finds, not this call's last ones
        if not getattr(self, "user_schedulers_", None):
            groups = net.optimizer_.param_groups
            for group, base in zip(groups, self._base_lrs(net), strict=True):
                group["lr"] = base


class _GradClip(Callback):
    def on_grad_computed(self, net, named_parameters, **kwargs):
        if net.gradient_clip:
            torch.nn.utils.clip_grad_norm_(
                [p for _, p in named_parameters], net.gradient_clip
            )


class _LogWriter(Callback):
    """Write the per-epoch history into ``log_dir`` (see ``log_writer``).

    A TensorBoard writer is opened at the first epoch it writes and closed
    at the end of every ``fit`` or ``partial_fit`` call; a later call opens a
    new one (TensorBoard reads every event file of the directory). The open
    writer is never pickled or deep-copied, so a net can be pickled at any
    time, during training too (e.g. by skorch's ``Checkpoint``).
    """

    def initialize(self):
        self._close()
        self.writer_ = None
        return self

    def _close(self):
        writer = getattr(self, "writer_", None)
        if writer is not None:
            writer.close()
        self.writer_ = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["writer_"] = None  # a live writer holds a thread and open files
        return state

    def on_epoch_end(self, net, **kwargs):
        if not net.log_writer:
            return
        os.makedirs(net.log_dir, exist_ok=True)
        row = {
            k: v
            for k, v in net.history[-1].items()
            if k != "batches" and isinstance(v, (int, float, bool, np.floating))
        }
        if net.log_writer == "json":
            path = os.path.join(net.log_dir, "history.jsonl")
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps({k: float(v) for k, v in row.items()}) + "\n")
        elif net.log_writer == "tensorboard":
            if self.writer_ is None:
                from torch.utils.tensorboard import SummaryWriter

                self.writer_ = SummaryWriter(net.log_dir)
            for k, v in row.items():
                if k != "epoch":
                    self.writer_.add_scalar(k, float(v), row["epoch"])

    def on_train_end(self, net, **kwargs):
        self._close()


# --------------------------------------------------------------------------
# The multi-task net
# --------------------------------------------------------------------------
class MultitaskClassifier(_SkorchCompat, NeuralNet):
    """A skorch net with a shared trunk and one classification head per task.

    ``fit(X, y)`` takes a task-label table (see :func:`task_labels`) with hard
    or soft labels per task; every task is masked to the rows it labels, so
    tasks may label disjoint or overlapping rows. Each training batch holds
    the labelled rows of one task, and its loss is ``task_weights[t]`` times
    the task's mean cross-entropy against its (soft) targets. One optimizer
    updates the shared trunk and all heads.

    Parameters
    ----------
    tasks : dict of {str: int} or None, default=None
        Task names and cardinalities; None infers one task from ``y``. A name
        is any non-empty string without ``:``, ``|`` or ``#`` (they separate
        a task from its column numbers in :func:`task_labels`).
    module : torch.nn.Module, default=None
        A user trunk mapping inputs to ``(..., trunk_dim)``, configured through
        ``module__*`` parameters; None builds an MLP from the parameters below
        and then rejects ``module__*`` parameters. With batch normalization in
        the trunk, a task's last training batch of one row is merged into the
        task's batch before it.
    trunk_dim : int, default=None
        Output width of a user trunk.
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Widths of the MLP trunk, each positive; an int is one layer of that
        width, as in scikit-learn's ``MLPClassifier``.
    activation : {"relu", "tanh", "gelu", "leaky_relu", "elu", "identity"}, \
            default="relu"
        Activation of trunk and heads.
    dropout : float, default=0.0
        Dropout probability in the MLP trunk, in [0, 1].
    head_hidden_sizes : int or tuple of int, default=()
        Hidden widths of every head, each positive (an int is one layer).
    task_head_layers : dict of {str: int}, default=None
        Trunk layer each head reads (MeTaL's ``task_head_layers``).
    token_tasks : tuple of str, default=()
        Token-level tasks: ``X`` is then ``(n_samples, seq_len, d)``, padded
        with all-zero token vectors, with labels per token (-1 on padding:
        a label on a padding token raises a ``ValueError``). Any ``seq_len``
        works, in fit and predict alike; other shapes of ``X`` raise a
        ``ValueError``.
    task_weights : dict of {str: float}, default=None
        Loss weight (finite, >= 0) per task, 1.0 for tasks not listed; naming
        a task not in ``tasks`` raises a ``ValueError`` at fit.
    batch_scheduler : {"shuffled", "sequential"}, default="shuffled"
        ``"shuffled"`` interleaves the batches of all tasks at random;
        ``"sequential"`` trains on one task's batches after the other's.
    optimizer : {"sgd", "adam", "adamax", "adamw"} or class, default="adam"
        The shared optimizer.
    lr : float, default=1e-3
        Base learning rate; skorch's ``optimizer__lr`` and the rates of
        ``optimizer__param_groups`` take precedence, as in skorch, and
        ``lr_schedule`` scales each group's own rate.
    weight_decay : float, default=0.0
        L2 penalty.
    gradient_clip : float or None, default=None
        Clip the gradient norm to this value, which must be positive; None
        does not clip.
    lr_schedule : {"constant", "linear", "exponential", "step"}, default="constant"
        Learning-rate schedule over epochs (after warmup), which sets the
        optimizer's learning rate at the start of every epoch; the constant
        one without warmup sets it at a call's first epoch only, so a callback
        that changes the rate between epochs keeps its change. Every call of
        ``fit`` or ``partial_fit`` runs the schedule, warmup included, afresh
        over its own ``max_epochs`` epochs. A skorch ``LRScheduler`` in
        ``callbacks`` sets the learning rate instead: the built-in schedule
        then leaves it alone, and must be ``"constant"`` without warmup (else
        :meth:`fit` raises a ``ValueError``: two schedules would overwrite
        each other).
    lr_gamma : float, default=0.9
        Decay factor of the exponential and step schedules, positive.
    lr_step_size : int, default=10
        Epochs between steps of the step schedule, at least 1.
    warmup_epochs : int, default=0
        Epochs of linear warmup from ``lr / (warmup_epochs + 1)``, at least 0.
    max_epochs : int, default=20
        Epochs, at least 1.
    batch_size : int, default=128
        Rows per batch, at least 1.
    train_split : float in (0, 1) or None, default=None
        Fraction of each task's labelled rows held out for validation, drawn
        class by class (``valid_score`` and the per-task
        ``valid_<task>_score``); every task keeps at least one training row.
        ``fit(..., valid_data=...)`` gives an explicit set instead. A task
        without validation labels is left out of ``valid_score``, the mean
        over the tasks that have them. Held-out rows keep their
        ``sample_weight`` in the validation loss and scores.
    scoring : str or callable, default="accuracy"
        Scikit-learn scorer applied per row-level task on the validation rows
        (token-level tasks are scored by token accuracy). Where those rows
        carry sample weights, each task's score is weighted by the weights of
        the rows it labels (a callable then needs a ``sample_weight``
        argument, as scikit-learn's scorers have). A scorer of probabilities
        whose metric takes ``labels`` (e.g. ``"neg_log_loss"``) is given the
        task's classes ``0..k-1``, so a few validation rows that miss a class
        still score. A score that is undefined (NaN, e.g. ROC AUC on rows of
        one class) is recorded as such in ``valid_<task>_score`` and left out
        of ``valid_score``, the mean over tasks.
    checkpoint_task : str, default="mean"
        Task whose validation score picks the checkpoint kept at the end
        (``"mean"``: the mean over tasks); any other value than ``"mean"`` or
        a task name raises a ``ValueError`` at fit, and so does a task the
        validation set labels no row of.
    checkpoint_dir : str or None, default=None
        Directory where the best model's state dict is saved.
    log_writer : {"json", "tensorboard"} or None, default=None
        Write the per-epoch history into ``log_dir``: ``"json"`` appends one
        JSON line per epoch to ``log_dir/history.jsonl``, ``"tensorboard"``
        writes TensorBoard event files there (it needs the ``tensorboard``
        extra, else fit raises an ``ImportError``); None writes nothing. The
        TensorBoard writer is closed at the end of every ``fit`` or
        ``partial_fit`` call (a later call writes a new event file) and is
        never pickled, so the net pickles and deep-copies at any time.
    log_dir : str or None, default=None
        Directory of the log writer, created when missing. A ``log_writer``
        without a ``log_dir`` raises a ``ValueError`` at fit: logs are never
        written into the current directory unasked.
    random_state : int, RandomState instance or None, default=None
        Local seed for weights, dropout, splits and batch order; a
        ``RandomState`` instance gives each fit a seed drawn from it.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        Per-task loss on logits (class indices or soft targets).
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``. A CUDA device that torch cannot find
        raises a ``ValueError`` in :meth:`fit`, :meth:`partial_fit` and the
        prediction and scoring methods.
    verbose : int, default=1
        Print a per-epoch table.
    callbacks : list or None, default=None
        Extra skorch callbacks, e.g. ``("lr", LRScheduler(...))``, which then
        owns the learning rate (see ``lr_schedule``). skorch's
        ``EpochScoring`` and ``BatchScoring`` raise a ``ValueError``: they
        score the net on skorch datasets of the stored task targets; the
        validation scores are recorded per task anyway (``scoring``).
    **kwargs
        Other skorch parameters (``module__*``, ``optimizer__*``, ...). With
        ``warm_start=True``, ``fit`` on a fitted net keeps its module,
        optimizer and history and trains on; the tasks, the number of
        features and the parameters that shape the network must stay the same
        (as for :meth:`partial_fit`). The net builds its own task dataset,
        task batches and per-task probabilities, so skorch's ``dataset``,
        ``iterator_train`` and ``iterator_valid`` (with their ``__*``
        parameters) and ``predict_nonlinearity`` are not used: setting them
        raises a ``ValueError`` at fit.

    Attributes
    ----------
    tasks_ : dict of {str: int}
        Tasks and cardinalities.
    input_dim_ : int
        Features per row (per token for sequence input).
    n_features_in_ : int
        Number of input features: the columns of a 2-D ``X``, or the token
        width ``d`` of a sequence input ``(n_samples, seq_len, d)`` (not
        ``seq_len``, which may vary between calls); always ``input_dim_``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during :meth:`fit`. Defined only when ``X``
        has feature names that are all strings.
    module_ : MultitaskModule
        The trained network.
    history_ : skorch.History
        Per-epoch losses, learning rate and validation scores.

    Notes
    -----
    ``train_loss`` and ``valid_loss`` are one quantity, so they compare:
    the mean over the epoch's labelled entries (rows of row-level tasks,
    tokens of token-level tasks) of ``task_weights[t]`` times the entry's
    cross-entropy, each entry counted with its row's ``sample_weight``.
    Training batches hold one task each; a validation batch holds every
    task, and its loss is ``sum_t task_weights[t] * S_t / sum_t N_t`` (``S_t``
    the weighted sum of task ``t``'s entry losses, ``N_t`` the weight of its
    labelled entries). Each batch's ``train_batch_size`` /
    ``valid_batch_size`` in ``history`` is the weight of its labelled
    entries, by which skorch averages the batch losses of an epoch. So on
    the same rows and weights (``valid_data`` equal to the training data,
    and a model that does not change over the epoch) the two are equal.

    The module is sized from the data, so :meth:`initialize` on a new net
    raises a ``NotFittedError``. To restore saved parameters (skorch's
    ``save_params`` or ``Checkpoint``, or the ``checkpoint_dir`` state dict
    as ``f_params``), fit or partial_fit a net with the same parameters on a
    few rows of the same shape and tasks, then call ``load_params``; or
    pickle the fitted net.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal import MultitaskClassifier
    >>> from sklearn_metal.multitask import task_labels
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(80, 5).astype(np.float32)
    >>> y = task_labels(a=(X[:, 0] > 0).astype(int), b=(X[:, 1] > 0).astype(int))
    >>> net = MultitaskClassifier({"a": 2, "b": 2}, max_epochs=3, verbose=0)
    >>> [p.shape for p in net.fit(X, y).predict_proba(X)]
    [(80, 2), (80, 2)]
    """

    def __init__(
        self,
        tasks=None,
        module=None,
        *,
        trunk_dim=None,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        head_hidden_sizes=(),
        task_head_layers=None,
        token_tasks=(),
        task_weights=None,
        batch_scheduler="shuffled",
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        gradient_clip=None,
        lr_schedule="constant",
        lr_gamma=0.9,
        lr_step_size=10,
        warmup_epochs=0,
        max_epochs=20,
        batch_size=128,
        train_split=None,
        scoring="accuracy",
        checkpoint_task="mean",
        checkpoint_dir=None,
        log_writer=None,
        log_dir=None,
        random_state=None,
        criterion=torch.nn.CrossEntropyLoss,
        device="cpu",
        verbose=1,
        callbacks=None,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            callbacks=callbacks,
            verbose=verbose,
            device=device,
            **kwargs,
        )
        self.tasks = tasks
        self.trunk_dim = trunk_dim
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.head_hidden_sizes = head_hidden_sizes
        self.task_head_layers = task_head_layers
        self.token_tasks = token_tasks
        self.task_weights = task_weights
        self.batch_scheduler = batch_scheduler
        self.weight_decay = weight_decay
        self.gradient_clip = gradient_clip
        self.lr_schedule = lr_schedule
        self.lr_gamma = lr_gamma
        self.lr_step_size = lr_step_size
        self.warmup_epochs = warmup_epochs
        self.scoring = scoring
        self.checkpoint_task = checkpoint_task
        self.checkpoint_dir = checkpoint_dir
        self.log_writer = log_writer
        self.log_dir = log_dir
        self.random_state = random_state

    # ----------------------------------------------------------- skorch hooks
    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("lr_schedule", _LRSchedule()),
            ("grad_clip", _GradClip()),
            ("train_loss", _EpochLoss(name="train_loss", on_train=True)),
            ("valid_loss", _EpochLoss(name="valid_loss")),
            ("task_scoring", _TaskScoring()),
            ("best_checkpoint", _BestCheckpoint()),
            ("log_writer", _LogWriter()),
            ("print_log", PrintLog()),
        ]

    def initialize_module(self):
        """Build the trunk and one head per task, sized from the data.

        Raises
        ------
        NotFittedError
            Before the net has seen data (``initialize()`` on a new net):
            the input width and the tasks come from :meth:`fit` or
            :meth:`partial_fit`.
        """
        if not (hasattr(self, "input_dim_") and hasattr(self, "tasks_")):
            raise NotFittedError(
                f"{type(self).__name__} sizes its module from the data (the "
                "features per row or token, and the tasks), which it has not "
                "seen: call fit or partial_fit before initialize. To restore "
                "saved parameters, fit or partial_fit a net with the same "
                "parameters on data of the same shape and tasks (a few rows "
                "do), then call load_params; or pickle the fitted net."
            )
        kwargs = self.get_params_for("module")
        trunk = None
        if self.module is not None:
            trunk = self.initialized_instance(self.module, kwargs)
            kwargs = {}
        self.module_ = MultitaskModule(
            self.input_dim_,
            self.tasks_,
            hidden_layer_sizes=self.hidden_layer_sizes,
            activation=self.activation,
            dropout=self.dropout,
            head_hidden_sizes=self.head_hidden_sizes,
            task_head_layers=self.task_head_layers,
            token_tasks=tuple(self.token_tasks),
            trunk=trunk,
            trunk_dim=self.trunk_dim,
        )
        self._module_architecture_ = self._architecture()
        return self

    def _architecture(self):
        """The parameters that shape ``module_`` (sequences as tuples):
        ``trunk_dim`` sizes a user trunk only, ``hidden_layer_sizes`` the
        default MLP trunk only."""
        # the tasks are checked on their own, with the data's
        unused = ("tasks", "trunk_dim" if self.module is None else "hidden_layer_sizes")
        arch = {}
        for name in ("module", *_TRUNK_PARAMS):
            if name in unused:
                continue
            value = getattr(self, name)
            # a module (an nn.Sequential is iterable too) is compared as is
            iterable = np.iterable(value) and not isinstance(value, (str, dict))
            if name != "module" and iterable:
                value = tuple(value)
            if name in ("hidden_layer_sizes", "head_hidden_sizes") and _is_int(value):
                value = _layer_sizes(value)  # an int is one layer
            arch[name] = value
        return arch

    def initialize_optimizer(self, triggered_directly=None):
        """The one shared optimizer, from a name or a class, with L2."""
        named = self.get_all_learnable_params()
        args, kwargs = self.get_params_for_optimizer("optimizer", named)
        kwargs.setdefault("weight_decay", self.weight_decay)
        opt = self.optimizer
        cls = _OPTIMIZERS.get(opt, opt) if isinstance(opt, str) else opt
        self.optimizer_ = cls(*args, **kwargs)
        return self

    def get_dataset(self, X, y=None):
        """Wrap arrays and per-task targets."""
        if isinstance(X, _MultitaskDataset):
            return X
        return _MultitaskDataset(X, y)

    def get_iterator(self, dataset, training=False):
        """Task batches: shuffled or sequential by ``batch_scheduler``.

        When the module has batch normalization, a task's last training batch
        of one row is merged into that task's batch before it.
        """
        rng = self._batch_rng_ if training else None
        min_last_batch = 1
        if training and _has_batch_norm(self.module_):
            min_last_batch = 2
            for task, (_, mask) in dataset.targets.items():
                if mask.sum() == 1:
                    raise ValueError(
                        f"Task {task!r} labels 1 training row (n_samples=1 for the "
                        "task), but the module has batch normalization, which "
                        "needs at least 2 rows per batch."
                    )
        return _TaskBatches(
            dataset,
            self.batch_size,
            self.batch_scheduler,
            training,
            rng,
            min_last_batch=min_last_batch,
        )

    def get_split_datasets(self, X, y=None, **fit_params):
        """Training set and validation set (``valid_data`` or ``train_split``).

        ``train_split`` holds out about that fraction of each task's labelled
        rows, class by class, and leaves every task at least one labelled
        training row.
        """
        dataset = self.get_dataset(X, y)
        if self._valid_dataset_ is not None:
            valid = self._valid_dataset_
        elif not self.train_split:
            return dataset, None
        else:
            train_idx, valid_idx = _task_split(
                dataset.targets,
                len(dataset),
                self.train_split,
                self._split_seed_,
                checkpoint_task=self.checkpoint_task,
            )
            valid = dataset.subset(valid_idx) if len(valid_idx) else None
            dataset = dataset.subset(train_idx)
        task = self.checkpoint_task
        labelled = [] if valid is None else valid.labelled_tasks()
        if task != "mean" and task not in labelled:
            raise ValueError(
                f"checkpoint_task={task!r}, but the validation set labels no row "
                f"of task {task!r}, so no checkpoint can be picked by it; use "
                f"checkpoint_task='mean' or one of the tasks with validation "
                f"labels {labelled}."
            )
        return dataset, valid

    def train_step_single(self, batch, **fit_params):
        """skorch's training step; the forward computes the logits of the
        batch's task only, the one its loss reads (with 50 tasks, running
        every head on every batch took 9.7 s an epoch of 20,000 rows per
        task against 3.7 s)."""
        y_true = batch[1] if isinstance(batch, (tuple, list)) else None
        task = y_true.get("task") if isinstance(y_true, dict) else None
        if task is not None:
            fit_params = {**fit_params, "tasks": (task,)}
        return super().train_step_single(batch, **fit_params)

    def _labelled_entries(self, task, target, mask, row_weight):
        """A task's labelled entries in a batch and their weights.

        Entries are rows, or tokens for a token task (a token weighs as its
        row). Returns the boolean selection and the entries' weights (None
        without row weights).
        """
        keep = target >= 0 if task in self.token_tasks else mask
        if row_weight is None:
            return keep, None
        w = row_weight.to(keep.device)
        if task in self.token_tasks:
            w = w[:, None].expand_as(target)
        return keep, w[keep]

    def _entries_weight(self, target, w):
        """The denominator of a task's mean loss over its labelled entries
        ``target`` of weights ``w`` (None: 1 each): their count or weight sum,
        where the criterion has class weights (``criterion__weight``) and the
        targets are classes, each entry times its class's weight, as torch's
        mean reduction divides by ``sum_i weight[y_i]``."""
        class_weight = getattr(self.criterion_, "weight", None)
        if not isinstance(class_weight, torch.Tensor):
            return len(target) if w is None else w.sum()
        return _loss_weights(self.criterion_, target, w).sum()

    def _batch_tasks(self, y_true, training):
        """The tasks a batch's loss covers: its one task in training, all in
        validation."""
        only = y_true.get("task") if training else None
        return [t for t in y_true["targets"] if only is None or t == only]

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Mean of ``task_weights[t]`` times the cross-entropy over the
        batch's labelled entries (rows; tokens for token tasks).

        A training batch holds one task, so its loss is that task's weight
        times the task's mean loss over the batch. A validation batch holds
        every task: its loss is ``sum_t task_weights[t] * S_t / sum_t N_t``,
        where ``S_t`` is the sum of task ``t``'s entry losses and ``N_t``
        the number of its labelled entries. With ``sample_weight`` each entry
        counts with its row's weight in both sums; with class weights
        (``criterion__weight``) and hard labels, also with its class's
        weight, as torch's mean reduction divides by ``sum_i weight[y_i]``.
        """
        weights = self.task_weights or {}
        row_weight = y_true.get("weight")
        parts = []  # (task weight, mean loss, weight of the labelled entries)
        for task in self._batch_tasks(y_true, training):
            target, mask = y_true["targets"][task]
            logits = y_pred[task]
            target = target.to(logits.device)
            keep, w = self._labelled_entries(
                task,
                target,
                mask.to(logits.device),
                None if row_weight is None else row_weight.to(logits.device),
            )
            if not keep.any():
                continue
            target = target[keep]
            n = self._entries_weight(target, w)
            if not (n > 0):
                continue
            if w is None:
                loss = self.criterion_(logits[keep], target)
            else:
                rows = self._per_row_loss(logits[keep], target)
                loss = (rows * w).sum() / n
            parts.append((float(weights.get(task, 1.0)), loss, n))
        if not parts:
            return torch.zeros((), device=self.device, requires_grad=training)
        if len(parts) == 1:  # every training batch
            return parts[0][0] * parts[0][1]
        total = sum(tw * loss * n for tw, loss, n in parts)
        return total / sum(n for _, _, n in parts)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        """Record the weight of the batch's labelled entries (rows, tokens for
        token tasks; with ``sample_weight``, their rows' weight sum; with
        class weights and hard labels, each entry times its class's weight)
        as its size, by which skorch averages the batch losses into the
        epoch's ``train_loss`` and ``valid_loss``: both are then the mean over
        the epoch's labelled entries of ``task_weights[t]`` times the entry's
        loss, weighted by those weights."""
        super().on_batch_end(net, batch=batch, training=training, **kwargs)
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            return
        y_true = batch[1]
        if not isinstance(y_true, dict) or "targets" not in y_true:
            return
        row_weight = y_true.get("weight")
        size = 0.0
        for task in self._batch_tasks(y_true, training):
            target, mask = y_true["targets"][task]
            keep, w = self._labelled_entries(task, target, mask, row_weight)
            size += float(self._entries_weight(target[keep], w))
        prefix = "train" if training else "valid"
        self.history.record_batch(f"{prefix}_batch_size", size)

    def _per_row_loss(self, logits, target):
        """The criterion's loss per row, for weighting by ``sample_weight``."""
        criterion = self.criterion_
        if not hasattr(criterion, "reduction"):
            raise ValueError(
                "sample_weight needs a criterion with a 'reduction' attribute "
                f"(torch losses have one) to get per-row losses; "
                f"{type(criterion).__name__} has none."
            )
        saved = criterion.reduction
        criterion.reduction = "none"
        try:
            return criterion(logits, target)
        finally:
            criterion.reduction = saved

    # ----------------------------------------------------------------- fit
    def _lr_factor(self, epoch):
        warm = self.warmup_epochs
        if epoch < warm:
            return (epoch + 1) / (warm + 1)
        e = epoch - warm
        span = max(self.max_epochs - warm, 1)
        if self.lr_schedule == "linear":
            return max(1.0 - e / span, 0.0)
        if self.lr_schedule == "exponential":
            return self.lr_gamma**e
        if self.lr_schedule == "step":
            return self.lr_gamma ** (e // self.lr_step_size)
        return 1.0

    def _check_params(self):
        _check_cuda_device(self.device)
        _refuse_scoring_callbacks(
            self,
            "The validation rows are scored every epoch, per task as "
            "valid_<task>_score and as their mean valid_score (set scoring=).",
        )
        if self.batch_scheduler not in ("shuffled", "sequential"):
            raise ValueError(
                f"batch_scheduler={self.batch_scheduler!r} must be 'shuffled' or "
                "'sequential'."
            )
        if self.lr_schedule not in ("constant", "linear", "exponential", "step"):
            raise ValueError(
                f"lr_schedule={self.lr_schedule!r} must be constant, linear, "
                "exponential or step."
            )
        opt = self.optimizer
        if isinstance(opt, str) and opt not in _OPTIMIZERS:
            raise ValueError(
                f"optimizer={opt!r} must be one of {sorted(_OPTIMIZERS)} or a class."
            )
        if self.log_writer not in (None, "json", "tensorboard"):
            raise ValueError("log_writer must be None, 'json' or 'tensorboard'.")
        if self.log_writer is not None and self.log_dir is None:
            raise ValueError(
                f"log_writer={self.log_writer!r} writes into log_dir, which is "
                "None; set log_dir to the directory the logs should go to."
            )
        if self.log_writer == "tensorboard":
            # checked before training, not at the end of the first epoch
            try:
                importlib.import_module("torch.utils.tensorboard")
            except ImportError as exc:
                raise ImportError(
                    "log_writer='tensorboard' needs tensorboard: pip install "
                    "'sklearn_metal[tensorboard]'."
                ) from exc
        split = self.train_split
        # (0 is refused, as by EndModel, rather than read as None)
        if split is not None and not (
            isinstance(split, numbers.Real)
            and not isinstance(split, bool)
            and 0 < split < 1
        ):
            raise ValueError(
                f"train_split={split!r} must be a fraction in (0, 1) or None."
            )
        for name in ("max_epochs", "batch_size", "lr_step_size"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer.")
        if not _is_int(self.warmup_epochs) or self.warmup_epochs < 0:
            raise ValueError(
                f"warmup_epochs={self.warmup_epochs!r} must be an integer >= 0."
            )
        for name in ("lr_gamma", "gradient_clip"):
            value = getattr(self, name)
            if name == "gradient_clip" and value is None:
                continue
            real = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not (real and 0 < value < np.inf):
                raise ValueError(f"{name}={value!r} must be a positive number.")
        for name in _UNUSED_SKORCH_PARAMS:
            default = inspect.signature(NeuralNet).parameters[name].default
            value = getattr(self, name)
            if not (value is default or (isinstance(value, str) and value == default)):
                raise ValueError(
                    f"{name}={value!r}: {type(self).__name__} builds its own task "
                    "dataset, task batches and per-task probabilities, so it does "
                    f"not use skorch's {name}; leave it at its default."
                )
            if name != "predict_nonlinearity" and self.get_params_for(name):
                raise ValueError(
                    f"{name}__* parameters {sorted(self.get_params_for(name))}: "
                    f"{type(self).__name__} builds its own task dataset and task "
                    f"batches, so it does not use skorch's {name}."
                )
        _check_module_params(self, _TRUNK_PARAMS, "default MLP trunk", "trunk")
        if self.module is None:
            _check_layer_sizes(self.hidden_layer_sizes)
        _check_layer_sizes(self.head_hidden_sizes, "head_hidden_sizes")
        _check_activation(self.activation)

    def _check_task_names(self, tasks):
        """Reject parameters that name tasks missing from ``tasks``."""
        known = list(tasks)
        for name in ("task_weights", "task_head_layers"):
            value = getattr(self, name)
            if value is None:
                continue
            unknown = sorted(set(value) - set(known), key=str)
            if unknown:
                raise ValueError(
                    f"{name} names unknown tasks {unknown}; the tasks are {known}."
                )
        for task, weight in (self.task_weights or {}).items():
            if not (isinstance(weight, numbers.Real) and 0 <= weight < np.inf):
                raise ValueError(
                    f"task_weights[{task!r}]={weight!r} must be a finite number >= 0."
                )
        if self.checkpoint_task != "mean" and self.checkpoint_task not in known:
            raise ValueError(
                f"checkpoint_task={self.checkpoint_task!r} is not a task; use "
                f"'mean' or one of {known}."
            )

    def _resolve_tasks(self, y):
        if self.tasks is not None:
            tasks = dict(self.tasks)
        else:
            _check_y_given(y)
            arr = np.asarray(y)
            if arr.ndim == 1 and arr.dtype.kind not in "iuf":
                raise ValueError(
                    f"Unknown label type: y has dtype {arr.dtype}; tasks take "
                    "integer class indices 0..k-1."
                )
            if arr.ndim != 1 or arr.dtype.kind not in "iuf":
                raise ValueError(
                    "tasks is None: pass tasks={name: cardinality}, or a 1-D "
                    "integer y for a single task."
                )
            tasks = {"task_0": max(int(np.nanmax(arr)) + 1, 2)}
        for task in self.token_tasks:
            if task not in tasks:
                raise ValueError(f"token_tasks names the unknown task {task!r}.")
        _check_task_name_strings(tasks)
        for name, k in tasks.items():
            for sep in (":", "|", "#"):
                if sep in name:
                    raise ValueError(
                        f"Task name {name!r} must not contain {sep!r}: ':', '|' "
                        "and '#' separate a task from its class, source or token "
                        "number in the column names of y (see task_labels)."
                    )
            if not isinstance(k, (numbers.Integral, np.integer)) or k < 2:
                raise ValueError(f"Task {name!r} needs a cardinality >= 2, got {k!r}.")
        self._check_task_names(tasks)
        return tasks

    def _prepare_X(self, X, reset):
        """Validate ``X``: rows ``(n, n_features)``, or sequences
        ``(n, seq_len, n_features)`` with token tasks.

        For sequences ``n_features_in_`` is the token width, so any
        ``seq_len`` is accepted (scikit-learn's ``validate_data`` would count
        the positions as features).
        """
        if not self.token_tasks:
            X = validate_data(
                self,
                X,
                reset=reset,
                dtype=(np.float32, np.float64),
                ensure_all_finite=True,
            )
            return _float32_features(X)
        _check_feature_names(self, X, reset=reset)
        X = check_array(
            X, allow_nd=True, dtype=(np.float32, np.float64), ensure_all_finite=True
        )
        if X.ndim != 3 or 0 in X.shape:
            raise ValueError(
                f"With token_tasks={tuple(self.token_tasks)!r}, X must be an array "
                "of shape (n_samples, seq_len, n_features), padded with all-zero "
                f"token vectors; got shape {X.shape}."
            )
        if reset:
            self.n_features_in_ = X.shape[2]
        elif X.shape[2] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[2]} features per token, but "
                f"{type(self).__name__} is expecting {self.n_features_in_} "
                "features per token as input."
            )
        return _float32_features(X)

    def _prepare_fit(self, X, y, reset, sample_weight=None, whole=True, valid=False):
        """Validate ``X``, ``y`` and ``sample_weight`` into a dataset.

        With ``valid=True`` (``valid_data``) tasks without labelled rows are
        left out rather than rejected, and an error for ``X`` names
        ``valid_data``; ``whole=False`` (a ``partial_fit`` block) does not
        warn about labels coded -1/+1.
        """
        if reset:
            self._check_params()
        try:
            X = self._prepare_X(X, reset=reset)
        except (TypeError, ValueError) as error:
            if not valid:
                raise
            raise _refused_valid_X(error) from error
        if reset:
            self.tasks_ = self._resolve_tasks(y)
            self.input_dim_ = X.shape[-1]
        targets = _targets(
            _parse_task_labels(y, self.tasks_),
            self.tasks_,
            self.token_tasks,
            require_labels=not valid,
            whole=whole,
        )
        self._check_label_shapes(X, targets)
        weights = None
        if sample_weight is not None:
            weights = _float32_weights(
                check_sample_weight(
                    sample_weight, X, dtype=np.float64, ensure_non_negative=True
                )
            )
        return _MultitaskDataset(X, targets, weights)

    def _keeps_best_weights(self):
        """Whether a callback keeps a best epoch's weights to restore when
        training ends (the best checkpoint, once a validated epoch)."""
        return super()._keeps_best_weights() or any(
            isinstance(callback, _BestCheckpoint) and callback.best_state_ is not None
            for _, callback in getattr(self, "callbacks_", [])
        )

    def fit_loop(self, X, y=None, **fit_params):
        """skorch's training loop; a loop that raises closes the TensorBoard
        writer and puts the learning rates back, as the end of training does
        (skorch calls ``on_train_end`` only when the epochs end or are
        interrupted), so a failed fit leaves no open writer or writer thread
        behind, and the next call's schedule scales the rates it started
        from."""
        try:
            return super().fit_loop(X, y, **fit_params)
        except Exception:
            for _, callback in getattr(self, "callbacks_", []):
                if isinstance(callback, (_LogWriter, _LRSchedule)):
                    callback.on_train_end(self)
            raise

    def _warm(self):
        return bool(self.warm_start) and self.initialized_ and hasattr(self, "tasks_")

    def _seeded(self, seed):
        return _ForkedSeed(seed, self.device)

    def _check_label_shapes(self, X, targets):
        """Labels for every row of ``X``, and for every token of token tasks,
        with -1 on the padding tokens (all-zero vectors)."""
        n_labels = next(iter(targets.values()))[0].shape[0]
        if X.shape[0] != n_labels:
            raise ValueError(f"X has {X.shape[0]} rows but the labels have {n_labels}.")
        padding = None
        for task in self.token_tasks:
            if task not in targets:
                continue
            tokens = targets[task][0]
            if tokens.shape[1] != X.shape[1]:
                raise ValueError(
                    f"Task {task!r} has labels for {tokens.shape[1]} "
                    f"tokens per row, but X has seq_len={X.shape[1]}."
                )
            if padding is None:
                padding = ~X.any(axis=-1)
            # a label on padding would be trained and scored (token accuracy)
            labelled = padding & (tokens >= 0)
            if labelled.any():
                i, j = np.argwhere(labelled)[0]
                raise ValueError(
                    f"Task {task!r} labels {int(labelled.sum())} padding tokens "
                    f"(all-zero vectors), e.g. token {j} of row {i} with "
                    f"{tokens[i, j]}; label padding -1, or its label counts in "
                    "the loss and the token accuracy."
                )

    def fit(self, X, y, valid_data=None, sample_weight=None, **fit_params):
        """Train the shared trunk and the heads on the per-task labels.

        With ``warm_start=True`` a fitted net keeps its module, optimizer and
        history and trains ``max_epochs`` more epochs (the tasks, the number
        of features and the parameters that shape the network must not
        change); otherwise it starts afresh.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, seq_len, d)
            Inputs (sequences when there are token-level tasks).
        y : DataFrame, dict or array
            Per-task labels, see :func:`task_labels`. Every task of ``tasks``
            needs labelled rows (a task missing from ``y`` raises a
            ``ValueError``, as its head would stay untrained) except in a
            warm refit; the first :meth:`partial_fit` may label some tasks
            only. A binary task whose hard labels hold -1 and 1 but no 0
            warns: -1 marks a row the task does not label, so classes coded
            -1/+1 would lose their -1 rows.
        valid_data : tuple, default=None
            Validation set ``(X_valid, y_valid)`` or ``(X_valid, y_valid,
            sample_weight_valid)`` for per-task scores and the best
            checkpoint; tasks it labels no row of (of positive weight, with
            weights) are left out of the validation scores. With weights,
            each task's validation loss and score are weighted over the rows
            it labels. The net keeps the set (later :meth:`partial_fit` calls
            validate on it), so it is pickled with the net.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights: each task's loss is the weighted mean
            over its labelled rows (an integer weight counts as that many
            copies of the row within a batch). Rows ``train_split`` holds
            out keep their weights in the validation loss and scores, which
            pick the checkpoint. An epoch's ``train_loss`` and ``valid_loss``
            are the weighted means over its labelled entries (see Notes).
        **fit_params
            Passed to the forward of a user trunk (``module``) in training
            and validation steps, as skorch passes them: whole to every
            batch, not split by rows (per-row data belongs in ``X``); the MLP
            trunk takes none.

        Returns
        -------
        self : MultitaskClassifier
            The fitted net.
        """
        warm = self._warm()
        if warm:
            self._check_params()
            tasks = self._resolve_tasks(y)
            if tasks != self.tasks_:
                raise ValueError(
                    f"warm_start=True continues training a net fitted on the tasks "
                    f"{self.tasks_}, but fit got the tasks {tasks}; set "
                    "warm_start=False to fit a new net."
                )
            _check_architecture(self, "warm_start=True")
        else:
            # a fit that raises leaves no net for a later partial_fit to go on
            # training under the tasks and features of this call
            self.initialized_ = False
        if valid_data is not None and (
            not isinstance(valid_data, (tuple, list)) or len(valid_data) not in (2, 3)
        ):
            raise ValueError(
                "valid_data must be a pair (X_valid, y_valid) or a triple "
                "(X_valid, y_valid, sample_weight_valid)."
            )
        first_block = getattr(self, "_partial_first", False)
        dataset = self._prepare_fit(
            X, y, reset=not warm, sample_weight=sample_weight, whole=not first_block
        )
        if not warm and not first_block:
            missing = [t for t in self.tasks_ if t not in dataset.targets]
            if missing:
                raise ValueError(
                    f"y has no labels for the tasks {missing} (of "
                    f"{list(self.tasks_)}), so their heads would stay untrained "
                    "and predict at random; pass labels for them, or leave them "
                    "out of tasks. (A first partial_fit may train on some tasks "
                    "only.)"
                )
        self._valid_dataset_ = None
        if valid_data is not None:
            X_valid, y_valid, *weight = valid_data
            self._valid_dataset_ = self._prepare_fit(
                X_valid,
                y_valid,
                reset=False,
                sample_weight=weight[0] if weight else None,
                valid=True,
            )
        seed = None  # a warm refit draws its seed from the batch order
        if not warm:
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            self._split_seed_ = seed
            self._batch_rng_ = np.random.RandomState(seed)
        return self._train_call(dataset, None, fit_params, first=not warm, seed=seed)

    def partial_fit(self, X, y, classes=None, sample_weight=None, **fit_params):
        """Train ``max_epochs`` more epochs; the first call fits from scratch.

        Each call runs the learning-rate schedule (warmup included) afresh
        over its own ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like
            Inputs.
        y : DataFrame, dict or array
            Per-task labels.
        classes : ignored
            Cardinalities come from ``tasks``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, as in :meth:`fit`.
        **fit_params
            Passed to the forward of a user trunk (``module``) in training
            and validation steps, as skorch passes them: whole to every
            batch, not split by rows (per-row data belongs in ``X``); the MLP
            trunk takes none.

        Returns
        -------
        self : MultitaskClassifier
            The net.
        """
        if not (self.initialized_ and hasattr(self, "tasks_")):
            # a stream may bring the tasks' labels in separate calls
            self._partial_first = True
            try:
                return self.fit(X, y, sample_weight=sample_weight, **fit_params)
            finally:
                del self._partial_first
        # every call, not the first only: set_params may come between calls
        self._check_params()
        _check_architecture(self, "partial_fit")
        dataset = self._prepare_fit(
            X, y, reset=False, sample_weight=sample_weight, whole=False
        )
        return self._train_call(dataset, None, fit_params, first=False)

    # -------------------------------------------------------------- predict
    def _forward_all(self, X):
        _check_cuda_device(self.device)
        dataset = _MultitaskDataset(X)
        self.module_.eval()
        outs = {t: [] for t in self.tasks_}
        with torch.no_grad():
            for Xb, _ in _TaskBatches(
                dataset, self.batch_size, "shuffled", False, None
            ):
                logits = self.module_(Xb.to(self.device))
                for t in self.tasks_:
                    outs[t].append(torch.softmax(logits[t], dim=-1).cpu().numpy())
        return [np.concatenate(outs[t]) for t in self.tasks_]

    def predict_proba(self, X):
        """Class probabilities per task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, seq_len, d)
            Inputs.

        Returns
        -------
        proba : list of ndarray
            One ``(n_samples, k_t)`` array per task, in the order of ``tasks_``
            (``(n_samples, seq_len, k_t)`` for token-level tasks).
        """
        check_is_fitted(self, "tasks_")
        return self._forward_all(self._prepare_X(X, reset=False))

    def predict(self, X):
        """Most probable class per task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, seq_len, d)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks) or list
            Class indices per task; a list of arrays when there are token-level
            tasks (``(n_samples, seq_len)`` for those).
        """
        preds = [p.argmax(axis=-1) for p in self.predict_proba(X)]
        if self.token_tasks:
            return preds
        return np.column_stack(preds)

    def _score_dataset(self, dataset):
        """Per-task scores, weighted by the dataset's row weights if it has any.

        A task without a labelled row of positive weight is left out.
        """
        probas = self._forward_all(dataset.X)
        labelled = dataset.labelled_tasks()
        weights = dataset.weights
        out = {}
        for (task, _), proba in zip(self.tasks_.items(), probas, strict=True):
            if task not in labelled:
                continue
            target, mask = dataset.targets[task]
            if task in self.token_tasks:
                tok = target >= 0
                w = None
                if weights is not None:  # each token weighs as its row
                    w = np.broadcast_to(weights[:, None], target.shape)[tok]
                hit = proba.argmax(-1)[tok] == target[tok]
                out[task] = float(np.average(hit, weights=w))
                continue
            truth = target[mask] if target.ndim == 1 else target[mask].argmax(axis=1)
            pred = proba[mask].argmax(axis=1)
            w = None if weights is None else weights[mask]
            out[task] = _apply_scorer(self.scoring, truth, pred, proba[mask], w)
        return out

    def score_tasks(self, X, y):
        """Per-task score (``scoring``, accuracy by default) on labelled entries.

        Token-level tasks are scored by their token accuracy.

        Parameters
        ----------
        X : array-like
            Inputs.
        y : DataFrame, dict or array
            Per-task labels (soft labels are scored by their argmax).

        Returns
        -------
        scores : dict of {str: float}
            Tasks without a labelled row in ``y`` are left out; a score
            that ``scoring`` leaves undefined (e.g. ROC AUC on rows of one
            class) is NaN.

        Raises
        ------
        ValueError
            If ``y`` labels no row of any task (every entry ``-1`` or NaN).
        """
        check_is_fitted(self, "tasks_")
        X = self._prepare_X(X, reset=False)
        targets = _targets(
            _parse_task_labels(y, self.tasks_),
            self.tasks_,
            self.token_tasks,
            require_labels=False,
        )
        self._check_label_shapes(X, targets)
        return self._score_dataset(_MultitaskDataset(X, targets))

    def score(self, X, y):
        """Mean over tasks of :meth:`score_tasks`, its NaN scores left out.

        Parameters
        ----------
        X : array-like
            Inputs.
        y : DataFrame, dict or array
            Per-task labels.

        Returns
        -------
        score : float
            NaN only when no task's score is defined.

        Raises
        ------
        ValueError
            If ``y`` labels no row of any task (every entry ``-1`` or NaN).
        """
        return _mean_score(self.score_tasks(X, y))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True  # one label set per task
        return tags


class _PredictionsEstimator(ClassifierMixin, BaseEstimator):
    """Stands in for an estimator so scikit-learn scorers score fixed predictions."""

    def __init__(self, pred=None, proba=None):
        self.pred = pred
        self.proba = proba

    def fit(self, X=None, y=None):
        return self

    def predict(self, X):
        return self.pred

    def predict_proba(self, X):
        return self.proba


def _with_labels(scorer, labels):
    """``scorer`` told the task's classes, if it scores probabilities or
    decision values with a metric that takes ``labels`` (``log_loss``,
    ``top_k_accuracy_score``, multiclass ``roc_auc_score``, ...).

    The columns of the scored probabilities are the task's classes, while a
    metric infers the classes from the rows' labels, which can miss some of
    them on a small validation set (``log_loss`` then raises). Scorers of
    ``predict`` (accuracy, F1, ...) and scorers that already set ``labels``
    are returned unchanged.
    """
    private = ("_kwargs", "_response_method", "_score_func")  # scikit-learn's
    if not isinstance(scorer, _Scorer) or not all(hasattr(scorer, a) for a in private):
        return scorer
    if "labels" in scorer._kwargs:
        return scorer
    methods = scorer._response_method
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    if methods == ("predict",):
        return scorer
    try:
        params = inspect.signature(scorer._score_func).parameters
    except (TypeError, ValueError):
        return scorer
    if "labels" not in params:
        return scorer
    scorer = copy.copy(scorer)
    scorer._kwargs = {**scorer._kwargs, "labels": labels}
    return scorer


def _apply_scorer(scoring, truth, pred, proba, sample_weight=None):
    """``scoring`` of fixed predictions, weighted by ``sample_weight`` if given.

    A probability scorer is told the task's classes (``proba``'s columns),
    see :func:`_with_labels`.
    """
    if scoring in (None, "accuracy"):
        return float(np.average(pred == truth, weights=sample_weight))
    classes = np.arange(proba.shape[1])
    scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
    scorer = _with_labels(scorer, classes)
    stand_in = _PredictionsEstimator(pred, proba)
    stand_in.classes_ = classes
    X = np.zeros((len(pred), 1))
    return float(_weighted_score(scorer, stand_in, X, truth, sample_weight))


def _mean_score(scores):
    """Mean of the per-task scores that are defined (not NaN); NaN if none is."""
    defined = [v for v in scores.values() if not np.isnan(v)]
    return float(np.mean(defined)) if defined else np.nan


# --------------------------------------------------------------------------
# The meta-estimator
# --------------------------------------------------------------------------
class MultitaskTrainer(MetaEstimatorMixin, BaseEstimator):
    """Train a multi-task net on per-task label sets: hard, soft, or votes.

    The estimator (a :class:`MultitaskClassifier`) is cloned at fit. A task
    given as votes (:class:`Votes` in :func:`task_labels`) is first turned
    into soft labels by a clone of ``label_model`` fitted on that task's votes
    (rows where every source abstains stay unlabeled), so votes -> per-task
    soft labels -> multi-task net is one estimator.

    Parameters
    ----------
    estimator : MultitaskClassifier
        The multi-task net; its ``tasks`` fixes tasks and cardinalities.
    label_model : estimator, default=None
        Label model for tasks given as votes; ``LabelModel()`` when None. Its
        ``cardinality`` parameter is set to the task's; a label model without
        one (e.g. a ``Pipeline`` ending in a label model) is cloned as given,
        and its ``predict_proba`` must give one column per class of the task.
    task_weights : dict of {str: float}, default=None
        Loss weight per task, passed to the estimator.

    Attributes
    ----------
    estimator_ : MultitaskClassifier
        The fitted net.
    label_models_ : dict of {str: estimator}
        The fitted label model of each task given as votes.
    n_features_in_ : int
        Number of features seen during :meth:`fit` (for sequence input with
        token tasks, the token width), the estimator's ``n_features_in_``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during :meth:`fit`. Defined only when ``X``
        has feature names that are all strings.

    See Also
    --------
    MultitaskClassifier : The multi-task net this meta-estimator fits.
    sklearn.multioutput.MultiOutputClassifier : One estimator per output.

    Notes
    -----
    With metadata routing enabled
    (``sklearn.set_config(enable_metadata_routing=True)``), :meth:`fit`
    routes the metadata the estimator requests (``sample_weight``, through
    ``estimator.set_fit_request(sample_weight=True)``) to the estimator's
    ``fit``, and the metadata ``label_model`` requests to the label models'
    ``fit``; metadata that nothing requested raises an error. The default
    label model (``label_model=None``) requests ``sample_weight``; a given
    one requests what its ``set_fit_request`` says. Keyword arguments of
    the module's forward reach the net under routing when the net requests
    them by name (skorch's ``set_fit_request`` takes any name, so a
    misspelt one is not caught); with routing disabled, every keyword
    argument of :meth:`fit` goes to the estimator's ``fit``. ``valid_data``
    is the trainer's own: pass it to :meth:`fit` directly, or request it
    with ``set_fit_request(valid_data=True)`` to have a meta-estimator
    route it here.

    With routing disabled, ``sample_weight`` reaches the net and every label
    model whose ``fit`` takes a ``sample_weight`` (as :class:`LabelModel`'s
    does), so an integer weight counts as that many copies of the row in the
    sources' statistics as in the net's loss (the voters take it too);
    a label model without that parameter (e.g. a ``Pipeline``) is fitted
    unweighted. Under routing, a given label model whose ``fit`` takes
    ``sample_weight`` must say whether it wants the weights
    (``set_fit_request``), as scikit-learn asks of every consumer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal import MultitaskClassifier, MultitaskTrainer
    >>> from sklearn_metal.multitask import Votes, task_labels
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(100, 4).astype(np.float32)
    >>> a = (X[:, 0] > 0).astype(int)
    >>> votes = np.where(rng.rand(100, 3) < 0.8, a[:, None], 1 - a[:, None])
    >>> y = task_labels(a=Votes(votes), b=(X[:, 1] > 0).astype(int))
    >>> net = MultitaskClassifier({"a": 2, "b": 2}, max_epochs=3, verbose=0)
    >>> trainer = MultitaskTrainer(net).fit(X, y)
    >>> trainer.predict(X).shape
    (100, 2)
    """

    def __init__(self, estimator, *, label_model=None, task_weights=None):
        self.estimator = estimator
        self.label_model = label_model
        self.task_weights = task_weights

    def _base_label_model(self):
        """``label_model``, or the default: a ``LabelModel`` that, under
        metadata routing, requests ``sample_weight``."""
        if self.label_model is not None:
            return self.label_model
        from .label_model import LabelModel

        base = LabelModel()
        if _routing_enabled():
            base.set_fit_request(sample_weight=True)
        return base

    def _soft_targets(self, y, fit, fit_params=None, label_models=None):
        """Per-task targets of ``y``, votes turned into soft labels by the
        label models in ``label_models`` (``label_models_`` when None); with
        ``fit=True`` the label models are fitted into ``label_models``."""
        if label_models is None:
            label_models = self.label_models_
        tasks = self.estimator.tasks
        if tasks is None:
            raise ValueError("MultitaskTrainer needs an estimator with tasks set.")
        parsed = _parse_task_labels(y, tasks)
        out = {}
        for task, (kind, values) in parsed.items():
            if kind != "votes":
                out[task] = values if kind != "tokens" else {"tokens": values}
                continue
            rows, cols, vals, shape = check_label_matrix(
                values, tasks[task], names=[str(c) for c in values.columns]
            )
            votes = np.full(shape, -1, dtype=np.int64)
            votes[rows, cols] = vals
            if fit:
                lm = clone(self._base_label_model())
                if "cardinality" in lm.get_params(deep=False):
                    lm.set_params(cardinality=tasks[task])
                params = dict(fit_params or {})
                if not _routing_enabled() and not has_fit_parameter(
                    lm, "sample_weight"
                ):
                    params.pop("sample_weight", None)
                caught = []
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        fitted = lm.fit(votes, **params)
                finally:  # (also those before an error)
                    for w in caught:
                        # (a ConvergenceWarning named no task)
                        warnings.warn(
                            f"Task {task!r}, its label model: {w.message}",
                            w.category,
                            stacklevel=user_stacklevel(),
                        )
                label_models[task] = fitted
            if task not in label_models:
                raise ValueError(
                    f"Task {task!r} has votes, but it was fitted on labels, so it "
                    "has no label model to turn votes into soft labels; pass hard "
                    f"or soft labels for task {task!r}."
                )
            lm = label_models[task]
            soft = np.asarray(lm.predict_proba(votes))
            if soft.ndim != 2 or soft.shape[1] != tasks[task]:
                raise ValueError(
                    f"The label model of task {task!r} gives probabilities of "
                    f"shape {soft.shape}, but the task has {tasks[task]} classes; "
                    "a label_model without a cardinality parameter (such as a "
                    "Pipeline) must be set to the task's cardinality itself."
                )
            soft[(votes == -1).all(axis=1)] = np.nan
            out[task] = soft
        return task_labels(**out)

    def fit(self, X, y, valid_data=None, **fit_params):
        """Fit per-task label models (for votes) and the multi-task net.

        Parameters
        ----------
        X : array-like
            Inputs of the net.
        y : DataFrame or dict
            Per-task label sets (see :func:`task_labels`).
        valid_data : tuple, default=None
            Validation set ``(X_valid, y_valid)`` or ``(X_valid, y_valid,
            sample_weight_valid)`` passed to the estimator's ``fit``; votes in
            ``y_valid`` become soft labels through the label models fitted on
            the training votes of their task.
        **fit_params
            Passed to the estimator's ``fit`` (e.g. ``sample_weight``, row
            weights of the net's loss, which also weigh the rows in the fits
            of label models that take a ``sample_weight``). With metadata
            routing enabled, only the metadata the estimator and the label
            model request is passed, see the Notes of
            :class:`MultitaskTrainer`.

        Returns
        -------
        self : MultitaskTrainer
            The fitted trainer.
        """
        if _routing_enabled():
            routed_params = process_routing(self, "fit", **fit_params)
            fit_params = dict(routed_params["estimator"]["fit"])
            lm_params = dict(routed_params["label_model"]["fit"])
        else:
            weight = fit_params.get("sample_weight")
            lm_params = {} if weight is None else {"sample_weight": weight}
        if valid_data is not None and (
            not isinstance(valid_data, (tuple, list)) or len(valid_data) not in (2, 3)
        ):
            raise ValueError(
                "valid_data must be a pair (X_valid, y_valid) or a triple "
                "(X_valid, y_valid, sample_weight_valid)."
            )
        # the fitted attributes are set only once everything is fitted, so a
        # call that raises part-way leaves the trainer as it was
        label_models = {}
        targets = self._soft_targets(
            y, fit=True, fit_params=lm_params, label_models=label_models
        )
        if valid_data is not None:
            X_valid, y_valid, *weight_valid = valid_data
            fit_params["valid_data"] = (
                X_valid,
                self._soft_targets(y_valid, fit=False, label_models=label_models),
                *weight_valid,
            )
        est = clone(self.estimator)
        if self.task_weights is not None:
            unknown = set(self.task_weights) - set(est.tasks)
            if unknown:
                raise ValueError(f"task_weights names unknown tasks {sorted(unknown)}.")
            est.set_params(task_weights=dict(self.task_weights))
        est.fit(X, targets, **fit_params)
        self.label_models_ = label_models
        self.estimator_ = est
        self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        else:  # X without names: drop those of an earlier fit
            self.__dict__.pop("feature_names_in_", None)
        return self

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        :meth:`fit` consumes ``valid_data`` itself and routes the rest of
        its metadata (e.g. ``sample_weight``) to the estimator's ``fit`` and
        the label models' ``fit`` that request it (the default label model
        requests ``sample_weight``).
        scikit-learn's user guide on metadata routing explains the
        mechanism.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.

        Examples
        --------
        >>> import sklearn
        >>> from sklearn_metal import MultitaskClassifier, MultitaskTrainer
        >>> with sklearn.config_context(enable_metadata_routing=True):
        ...     net = MultitaskClassifier({"a": 2}).set_fit_request(sample_weight=True)
        ...     routing = MultitaskTrainer(net).get_metadata_routing()
        ...     routing.consumes("fit", ["sample_weight"])
        {'sample_weight'}
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                estimator=self.estimator,
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
            .add(
                label_model=self._base_label_model(),
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
        )

    def predict_proba(self, X):
        """Per-task probabilities, one array per task.

        Parameters
        ----------
        X : array-like
            Inputs.

        Returns
        -------
        proba : list of ndarray
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        """Per-task predictions, as the estimator's ``predict``.

        Parameters
        ----------
        X : array-like
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks) or list
            Class indices per task; a list of arrays when there are
            token-level tasks (``(n_samples, seq_len)`` for those).
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    def score_tasks(self, X, y):
        """Per-task score (the estimator's ``scoring``, accuracy by default)
        on the labelled entries of ``y``.

        Votes are scored against the task's label-model predictions (the
        argmax of its soft labels); token-level tasks by token accuracy.

        Parameters
        ----------
        X : array-like
            Inputs.
        y : DataFrame or dict
            Per-task labels.

        Returns
        -------
        scores : dict of {str: float}
            Tasks without a labelled row in ``y`` are left out; an undefined
            score (e.g. ROC AUC on rows of one class) is NaN.

        Raises
        ------
        ValueError
            If ``y`` labels no row of any task (every entry ``-1`` or NaN).
        """
        check_is_fitted(self)
        return self.estimator_.score_tasks(X, self._soft_targets(y, fit=False))

    def score(self, X, y):
        """Mean over tasks of :meth:`score_tasks`, its NaN scores left out.

        Parameters
        ----------
        X : array-like
            Inputs.
        y : DataFrame or dict
            Per-task labels.

        Returns
        -------
        score : float
            NaN only when no task's score is defined.

        Raises
        ------
        ValueError
            If ``y`` labels no row of any task (every entry ``-1`` or NaN).
        """
        return _mean_score(self.score_tasks(X, y))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True  # one label set per task
        net = get_tags(self.estimator)
        tags.non_deterministic = net.non_deterministic
        tags.input_tags.sparse = net.input_tags.sparse
        tags.input_tags.allow_nan = net.input_tags.allow_nan
        return tags
