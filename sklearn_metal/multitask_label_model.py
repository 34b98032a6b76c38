"""Task graphs and a label model over several related tasks."""

import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import metadata_routing
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._atomic import restore_on_error
from ._statistics import one_hot_votes, vote_counts
from ._validation import (
    TASK_PLUS_MINUS_ONE,
    _nonfinite,
    check_label_matrix,
    frame_to_pandas,
    numeric_labels,
    plus_minus_one_rows,
    refuse_sparse_labels,
    user_stacklevel,
)

__all__ = ["MultitaskLabelModel", "TaskGraph"]

_MAX_STATES = 100_000
# Two EM runs whose final losses differ by less than this many convergence
# tolerances (tol * max(1, |loss|), the smallest change per iteration that
# keeps EM going) are tied: on the flat ridges of weakly identified sources,
# runs from different starts stop that far apart on their way to the same
# optimum.
_TIE_TOLERANCES = 100


def _votes_by_group(group_of_source, n_groups, rows, cols, vals):
    """Each task group's votes ``(rows, cols, vals)``, in their order in ``L``.

    One stable sort of the votes by group: selecting each group's votes
    from all of them (``np.isin`` per group) cost time quadratic in the
    number of independent tasks (predict_proba: 10.2 s for 1,600 binary
    tasks of 5 sources on 1,000 rows, 1.5 s for 400).
    """
    group = group_of_source[cols]
    order = np.argsort(group, kind="stable")
    bounds = np.cumsum(np.bincount(group, minlength=n_groups))[:-1]
    return [(rows[o], cols[o], vals[o]) for o in np.split(order, bounds)]


def _unique_rows(Y):
    """``np.unique(Y, axis=0, return_index=True, return_inverse=True)`` of an
    integer ``Y`` whose values are at least ``-1``: the distinct rows in
    lexicographic order, the first row holding each, and each row's number.

    Rows are told apart by one int64 key (digits ``value + 1``), stably
    sorted: ``np.unique`` sorts the rows as records, which took 1.0 s for
    1e6 rows of 3 labels (0.06 s at 1e5), against 0.1 s here.
    """
    Y = np.asarray(Y)
    n = Y.shape[0]
    radix = [int(r) for r in Y.max(axis=0) + 2] if n else []
    if n == 0 or np.prod(radix, dtype=np.float64) >= 2**62:
        rows, first, inverse = np.unique(
            Y, axis=0, return_index=True, return_inverse=True
        )
        return rows, first, inverse.ravel()
    keys = np.zeros(n, dtype=np.int64)
    for j, r in enumerate(radix):
        keys = keys * r + (Y[:, j].astype(np.int64) + 1)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.ones(n, dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    first = order[new]
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return Y[first], first, inverse


class TaskGraph:
    """Tasks, their cardinalities, and which joint labels are feasible.

    A child task may be defined only for some values of its parent task (task
    2 "which kind of person" exists only when task 1 is "person"). Where a
    child is not defined its value is "not applicable" (``-1`` in
    predictions). Tasks without edges are independent (multi-label).

    Parameters
    ----------
    cardinalities : dict of {str: int} or list of int
        Number of classes per task; a list names the tasks ``task_0``, ...
        Task names must be strings, since an integer in ``edges`` is a task's
        position.
    edges : list of (parent, child, parent_values), default=None
        The child task is defined only when the parent task takes one of
        ``parent_values`` (and the parent itself is defined). Each task has at
        most one parent; the graph must be a forest (no cycles).

    Attributes
    ----------
    tasks : list of str
        Task names, in order.
    components : list of list of int
        Groups of task indices connected by edges; each is modelled jointly and
        independently of the others.

    Examples
    --------
    >>> from sklearn_metal import TaskGraph
    >>> graph = TaskGraph(
    ...     {"entity": 2, "person_kind": 3}, edges=[("entity", "person_kind", [0])]
    ... )
    >>> graph.feasible_states(graph.components[0]).tolist()
    [[0, 0], [0, 1], [0, 2], [1, -1]]
    >>> TaskGraph.independent(3).components
    [[0], [1], [2]]
    """

    def __init__(self, cardinalities, edges=None):
        if isinstance(cardinalities, dict):
            for t in cardinalities:
                if not isinstance(t, str):
                    # An integer name would clash with task positions in edges.
                    raise ValueError(
                        f"Task names must be strings; got {t!r} ({type(t).__name__})."
                    )
            names = [str(t) for t in cardinalities]
            cards = list(cardinalities.values())
        else:
            cards = list(cardinalities)
            names = [f"task_{t}" for t in range(len(cards))]
        if not cards:
            raise ValueError("A task graph needs at least one task.")
        for name, k in zip(names, cards, strict=True):
            if not isinstance(k, (Integral, np.integer)) or k < 2:
                raise ValueError(
                    f"Task {name!r} has cardinality {k!r}; each task needs an "
                    "integer cardinality of at least 2."
                )
        self.tasks = names
        self.cardinalities = [int(k) for k in cards]
        self.edges = []
        self.parent = [None] * len(names)
        self._parent_values = [None] * len(names)
        for edge in edges or ():
            if len(edge) != 3:
                raise ValueError(
                    f"Each edge must be (parent, child, parent_values), got {edge!r}."
                )
            p, c = self.task_index(edge[0]), self.task_index(edge[1])
            if p == c:
                raise ValueError(f"Task {names[p]!r} cannot be its own parent.")
            if self.parent[c] is not None:
                raise ValueError(
                    f"Task {names[c]!r} has two parents ({names[self.parent[c]]!r} "
                    f"and {names[p]!r}); each task may have at most one."
                )
            if not np.iterable(edge[2]):
                raise ValueError(
                    f"Edge {edge!r}: parent_values must be a list of values of "
                    f"task {names[p]!r}, got {edge[2]!r}."
                )
            for v in edge[2]:
                if isinstance(v, (bool, np.bool_)) or not (
                    isinstance(v, Integral)
                    or (isinstance(v, Real) and np.isfinite(v) and v == int(v))
                ):
                    raise ValueError(
                        f"Edge {edge!r}: parent_values holds {v!r}; expected "
                        f"integer values of task {names[p]!r}."
                    )
            values = sorted({int(v) for v in edge[2]})
            bad = [v for v in values if not 0 <= v < self.cardinalities[p]]
            if not values or bad:
                raise ValueError(
                    f"Edge {edge!r}: parent_values must be a non-empty subset of "
                    f"0..{self.cardinalities[p] - 1} (task {names[p]!r})."
                )
            self.parent[c] = p
            self._parent_values[c] = values
            self.edges.append((names[p], names[c], values))
        for t in range(len(names)):  # cycle check: walk up from every task
            seen, node = set(), t
            while node is not None:
                if node in seen:
                    raise ValueError(
                        f"The task graph has a cycle through task {names[t]!r}."
                    )
                seen.add(node)
                node = self.parent[node]
        roots = {}
        for t in range(len(names)):
            root = t
            while self.parent[root] is not None:
                root = self.parent[root]
            roots.setdefault(root, []).append(t)
        self.components = [sorted(g) for g in roots.values()]

    @classmethod
    def independent(cls, cardinalities):
        """Independent tasks (multi-label): an int gives that many binary tasks.

        Parameters
        ----------
        cardinalities : int, list of int or dict
            Tasks and their cardinalities.

        Returns
        -------
        graph : TaskGraph

        Examples
        --------
        >>> from sklearn_metal import TaskGraph
        >>> TaskGraph.independent([2, 3]).cardinalities
        [2, 3]
        """
        if isinstance(cardinalities, (Integral, np.integer)):
            cardinalities = [2] * int(cardinalities)
        return cls(cardinalities)

    def task_index(self, task):
        """Index of a task given by name or index.

        Parameters
        ----------
        task : str or int

        Returns
        -------
        index : int
        """
        if isinstance(task, (Integral, np.integer)) and not isinstance(task, bool):
            if 0 <= task < len(self.tasks):
                return int(task)
        elif task in self.tasks:
            return self.tasks.index(task)
        raise ValueError(f"Unknown task {task!r}; the tasks are {self.tasks}.")

    def feasible_states(self, component):
        """Joint labels of a component's tasks that the graph allows.

        Parameters
        ----------
        component : list of int
            Task indices (one of ``components``, or tasks that include the
            parent of each of their tasks); names are accepted as by
            :meth:`task_index`.

        Returns
        -------
        states : ndarray of shape (n_states, len(component))
            One row per feasible joint label; ``-1`` marks a task that is not
            defined in that state.

        Raises
        ------
        ValueError
            If ``component`` names an unknown task, names a task twice, or
            holds a task without its parent (whether it is defined depends
            on the parent's value).
        """
        component = [self.task_index(t) for t in component]
        for t in component:
            if component.count(t) > 1:
                raise ValueError(
                    f"component names task {self.tasks[t]!r} more than once."
                )
            p = self.parent[t]
            if p is not None and p not in component:
                raise ValueError(
                    f"component holds task {self.tasks[t]!r} but not its parent "
                    f"{self.tasks[p]!r}; pass one of the graph's components."
                )
        order = sorted(component, key=self._depth)
        ranges = [range(-1, self.cardinalities[t]) for t in order]
        size = int(np.prod([len(r) for r in ranges], dtype=np.float64))
        if size > _MAX_STATES * 10:
            raise ValueError(
                f"The tasks {[self.tasks[t] for t in component]} are connected "
                f"and span {size} joint labels; split them into smaller groups."
            )
        # The product of the ranges in lexicographic order, keeping the
        # consistent labels; a task follows its parent in ``order``, so a
        # partial label that breaks an edge is cut off with all its
        # extensions (a chain of 12 binary tasks has 13 feasible labels
        # among 531,441: 1.2 s to filter them one by one).
        states, value = [], {}

        def extend(i):
            if i == len(order):
                states.append([value[t] for t in component])
                return
            t = order[i]
            for v in ranges[i]:
                value[t] = v
                if self._consistent(t, value):
                    extend(i + 1)

        extend(0)
        return np.array(states, dtype=np.int64)

    def _depth(self, t):
        depth = 0
        while self.parent[t] is not None:
            t, depth = self.parent[t], depth + 1
        return depth

    def _consistent(self, t, value):
        p = self.parent[t]
        defined = p is None or (value[p] >= 0 and value[p] in self._parent_values[t])
        return (value[t] >= 0) == defined

    def __repr__(self):
        cards = dict(zip(self.tasks, self.cardinalities, strict=True))
        return f"TaskGraph({cards}, edges={self.edges})"

    def check_labels(self, Y):
        """Validate joint gold labels against the cardinalities and the edges.

        Parameters
        ----------
        Y : array-like of shape (n_samples, n_tasks)
            Gold labels, ``-1`` where a task has no label (or is not defined);
            with a single task, shape ``(n_samples,)`` is accepted. An array's
            columns are the tasks in order; a DataFrame's columns are matched
            to the tasks by name (or by index, for integer column names), in
            any order.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_tasks), dtype int64
            Columns in the order of ``tasks``.

        Raises
        ------
        ValueError
            If a DataFrame lacks a column for some task or has a column that
            names no task, if a value is not ``-1`` or a class of its task, or
            if a row sets labels that no feasible joint label has (such as a
            child task's label where its parent's value leaves the child
            undefined).

        Warns
        -----
        UserWarning
            If a binary task's labels hold -1 and 1 but no 0, the look of
            classes coded -1/+1, whose -1 entries would be read as unlabeled
            (-1 entries that the row's other labels force undefined, as a
            child's where its parent is known to leave it undefined, do not
            count).

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn_metal import TaskGraph
        >>> graph = TaskGraph({"a": 2, "b": 2}, edges=[("a", "b", [0])])
        >>> graph.check_labels([[0, 1], [1, -1], [-1, 1]]).tolist()
        [[0, 1], [1, -1], [-1, 1]]
        >>> graph.check_labels(pd.DataFrame({"b": [1, -1], "a": [0, 1]})).tolist()
        [[0, 1], [1, -1]]
        """
        refuse_sparse_labels(Y, "Y")
        Y = frame_to_pandas(Y)
        if hasattr(Y, "columns"):
            Y = self._columns_by_task(Y)
        Y = np.asarray(Y)
        n_tasks = len(self.tasks)
        if Y.ndim == 1 and n_tasks == 1:
            Y = Y[:, None]
        if Y.ndim != 2 or Y.shape[1] != n_tasks:
            raise ValueError(
                f"Y has shape {Y.shape}; expected (n_samples, {n_tasks}), one "
                "column per task."
            )
        Y = numeric_labels(Y, "Y", "integer labels 0..k-1, or -1")
        Yf = Y.astype(np.float64)
        for t, (task, k) in enumerate(zip(self.tasks, self.cardinalities, strict=True)):
            col = Yf[:, t]
            with np.errstate(invalid="ignore"):
                bad = (
                    ~np.isfinite(col) | (col != np.round(col)) | (col < -1) | (col >= k)
                )
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                value = Y[i, t] if np.isfinite(col[i]) else _nonfinite(col[i])
                raise ValueError(
                    f"Y holds {value} at row {i} for task {task!r}; expected -1 "
                    f"(no label) or a class in 0..{k - 1}."
                )
        Y = Yf.astype(np.int64)
        for comp in self.components:
            if len(comp) == 1:
                continue
            states = self.feasible_states(comp)
            rows, first, _ = _unique_rows(Y[:, comp])
            for row, i in zip(rows, first, strict=True):
                known = row >= 0
                if not np.any(np.all(states[:, known] == row[known], axis=1)):
                    raise ValueError(
                        f"Y row {i} is {Y[i].tolist()}, a joint label the task "
                        f"graph forbids: {self._violated(comp, Y[i])}"
                    )
        self._warn_plus_minus_one(Y)
        return Y

    def _warn_plus_minus_one(self, Y):
        """Warn for a binary task whose gold labels look coded as -1/+1.

        A -1 entry that the row's other known labels force (a child task
        whose parent is known to leave it undefined) is no unlabeled row.
        """
        for comp in self.components:
            for pos, t in enumerate(comp):
                col = Y[:, t]
                if self.cardinalities[t] != 2 or not plus_minus_one_rows(col):
                    continue
                states = self.feasible_states(comp)
                rows, _, inverse = _unique_rows(Y[col == -1][:, comp])
                known = rows[:, None, :] >= 0
                agree = np.all((states[None] == rows[:, None, :]) | ~known, axis=2)
                # a row may leave the task unlabeled where some state that
                # agrees with its known labels defines the task
                open_ = (agree & (states[None, :, pos] >= 0)).any(axis=1)
                n = int(np.count_nonzero(open_[inverse.ravel()]))
                if n:
                    warnings.warn(
                        TASK_PLUS_MINUS_ONE.format(task=self.tasks[t], n=n),
                        UserWarning,
                        stacklevel=user_stacklevel(),
                    )

    def _columns_by_task(self, Y):
        """Reorder the columns of a DataFrame of gold labels to ``tasks``."""
        columns = list(Y.columns)
        index, unknown = [], []
        for column in columns:
            try:
                index.append(self.task_index(column))
            except ValueError:
                unknown.append(column)
        if unknown:
            raise ValueError(
                f"Y has columns {unknown} that name no task; the tasks are "
                f"{self.tasks}."
            )
        repeated = sorted({self.tasks[t] for t in index if index.count(t) > 1})
        if repeated:
            raise ValueError(f"Y has several columns for the tasks {repeated}.")
        missing = [task for t, task in enumerate(self.tasks) if t not in index]
        if missing:
            raise ValueError(
                f"Y has no column for the tasks {missing}; give one column per "
                "task, -1 where a row has no label."
            )
        return np.asarray(Y)[:, [index.index(t) for t in range(len(self.tasks))]]

    def _violated(self, comp, row):
        """Describe the edge a gold row breaks (for error messages)."""
        for c in comp:
            p = self.parent[c]
            if p is not None and row[c] >= 0:
                if row[p] >= 0 and row[p] not in self._parent_values[c]:
                    return (
                        f"task {self.tasks[c]!r} is defined only when task "
                        f"{self.tasks[p]!r} is in {self._parent_values[c]}, but "
                        f"{self.tasks[p]!r} is {row[p]}."
                    )
        edges = [e for e in self.edges if self.task_index(e[1]) in comp]
        return f"no feasible joint label sets these values (edges {edges})."


class MultitaskLabelModel(BaseEstimator):
    """Learn source accuracies jointly over several related tasks.

    Every column of ``L`` is a source voting on one task (``source_tasks``
    says which; a labeling function that labels two tasks is two columns).
    The latent variable is the joint label of each connected group of tasks in
    ``task_graph``, restricted to the joint labels the graph allows; groups
    are independent, so many unrelated tasks (multi-label) cost time linear in
    their number, and the product of all label sets is never enumerated.

    Each source has class-conditional vote probabilities
    ``P(lambda_j = a | Y_t = v)`` for every value ``v`` of its task, plus one
    for "task not defined" (a source that fires on rows its task does not
    apply to). They are fitted by MAP expectation-maximization from a
    vote-share initialization, as in :class:`LabelModel`. Inference uses the
    votes that were cast and, for the sources of a task that some joint
    labels leave undefined, their abstains too: such a source's chance of
    firing is modelled for each value of its task and for "not defined", so
    child-task sources that all stay silent are evidence that the child does
    not apply. In a group where no task can be undefined, a row without a
    vote (or gold label) in the group gets the group's prior and is left out
    of its fit, as :class:`LabelModel` leaves out rows where every source
    abstains. Gold labels passed to :meth:`fit` (any subset of
    tasks per row) make the fit semi-supervised: they restrict those rows'
    posteriors to the joint labels that agree with them, and EM also starts
    from the gold rows' own tallies (see Notes).

    Parameters
    ----------
    task_graph : TaskGraph
        Tasks, cardinalities and feasibility constraints.
    source_tasks : array-like of shape (n_sources,), dict or None, default=None
        Task (name or index) of each column of ``L``; None is allowed when the
        graph has a single task. A pandas Series or a dict is read by its
        keys: the column names of a DataFrame ``L`` or the column positions,
        in any order.
    prior_strength : float, default=1.0
        Dirichlet pseudo-count on every source's vote distribution; at least
        ``numpy.finfo(float).tiny`` (about 2.2e-308).
    prec_init : float, default=0.7
        Accuracy at which the prior is centred; must exceed ``1 / k`` for the
        cardinality ``k`` of every task, and be below 1.
    tol : float, default=1e-6
        Convergence tolerance on the relative change of the mean negative
        log-likelihood.
    max_iter : int, default=100
        Maximum EM iterations per task group.
    verbose : int, default=0
        Print the loss per iteration.

    Attributes
    ----------
    source_task_index_ : ndarray of shape (n_sources,)
        Task index of each column.
    state_balance_ : list of ndarray
        Prior over the feasible joint labels of each task group.
    cond_probs_ : list of ndarray
        Per source, ``cond_probs_[j][a + 1, v]`` is ``P(lambda_j = a | Y_t = v)``
        for ``v`` in ``0..k_t-1`` and ``v = k_t`` meaning "task not defined";
        row 0 is the abstain probability.
    accuracies_ : ndarray of shape (n_sources,)
        ``P(lambda_j = Y_t | lambda_j votes, task t defined)``.
    n_iter_ : list of int
        EM iterations per task group.
    converged_ : bool
        Whether every group converged.
    loss_history_ : list of list of float
        Mean negative log-likelihood per iteration, per task group (of the
        EM run that was kept, see ``init_``), over the rows fitted: in a
        group where no task can be undefined, those with a vote or a gold
        label in the group.
    init_ : list of str
        Per task group, the start of the EM run that was kept: ``"votes"``
        (vote shares) or ``"gold"`` (the gold rows' tallies; see Notes).
    n_features_in_ : int
        Number of sources.
    feature_names_in_ : ndarray of shape (n_sources,)
        Source names, defined only when ``L`` is a DataFrame with string
        column names.

    See Also
    --------
    LabelModel : One task.

    Notes
    -----
    EM finds a local optimum, and from vote shares it starts where the
    majority of each task's sources points. When most sources of a task are
    adversarial (they vote a wrong class more often than the right one), EM
    converges to the labelling they suggest, and gold labels on a few rows
    cannot pull it out: they fix those rows' posteriors but are outweighed by
    the unlabeled rows. So when ``y`` labels some rows of a task group but
    not all, EM runs a second time for that group, starting from what the
    gold rows alone say: its first M-step weighs only the gold rows (their
    posteriors restricted as above), so the sources' vote probabilities and
    the joint label prior start at the gold rows' tallies, smoothed by the
    usual prior pseudo-counts. Both runs then use every row. The
    gold-start run is kept if its final mean negative log-likelihood (the
    last entry of ``loss_history_``, which includes the gold rows' labels) is
    lower than the vote-share run's by more than ``100 * tol * max(1,
    |loss|)``; closer runs are taken to have stopped on the way to the same
    optimum (on weakly identified sources EM creeps, stopping this far apart
    from different starts), and the vote-share run is kept. ``init_`` says
    which was kept. Without ``y``, with ``y`` all ``-1`` for a group, or
    with every row of a group labeled, only the vote-share run is made, so
    those fits are as without this second start; otherwise a group with
    gold rows takes up to twice as long to fit.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal import MultitaskLabelModel, TaskGraph
    >>> graph = TaskGraph({"a": 2, "b": 2}, edges=[("a", "b", [0])])
    >>> L = np.array([[0, 0, 1, 1], [1, 1, -1, -1], [0, 0, 0, 0], [1, -1, -1, 1]])
    >>> model = MultitaskLabelModel(graph, source_tasks=["a", "a", "b", "b"]).fit(L)
    >>> [p.shape for p in model.predict_proba(L)]
    [(4, 2), (4, 2)]
    >>> model.predict(L)[1]  # task b is not defined when a = 1
    array([ 1, -1])
    """

    # L, the methods' data argument, is no metadata to route
    __metadata_request__fit = {"L": metadata_routing.UNUSED}
    __metadata_request__predict = {"L": metadata_routing.UNUSED}
    __metadata_request__predict_proba = {"L": metadata_routing.UNUSED}
    __metadata_request__score = {"L": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        "task_graph": [HasMethods(["feasible_states"])],
        "source_tasks": ["array-like", None],
        # at least the smallest normal float: a subnormal one underflows to NaN
        "prior_strength": [Interval(Real, np.finfo(float).tiny, None, closed="left")],
        "prec_init": [Interval(Real, 0, 1, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        task_graph,
        source_tasks=None,
        *,
        prior_strength=1.0,
        prec_init=0.7,
        tol=1e-6,
        max_iter=100,
        verbose=0,
    ):
        self.task_graph = task_graph
        self.source_tasks = source_tasks
        self.prior_strength = prior_strength
        self.prec_init = prec_init
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    # ------------------------------------------------------------ helpers
    def _resolve_sources(self, m, names):
        graph = self.task_graph
        if self.source_tasks is None:
            if len(graph.tasks) != 1:
                raise ValueError(
                    "source_tasks is required when the graph has several tasks: "
                    "give the task of every column of L."
                )
            return np.zeros(m, dtype=np.int64)
        tasks = self.source_tasks
        if isinstance(tasks, Mapping):
            tasks = pd.Series(tasks, dtype=object)
        if isinstance(tasks, pd.Series):
            tasks = self._sources_by_key(tasks, m, names)
        tasks = list(tasks)
        if len(tasks) != m:
            raise ValueError(
                f"source_tasks names {len(tasks)} sources but L has {m} columns."
            )
        return np.array([graph.task_index(t) for t in tasks], dtype=np.int64)

    @staticmethod
    def _sources_by_key(tasks, m, names):
        """The values of the Series ``tasks`` in the order of L's columns: its
        index names them (by column name, or by position)."""
        keys = tasks.index.tolist()
        if keys == list(range(m)):  # pd.Series(list): positions, in order
            return tasks.tolist()
        if names is not None and sorted(str(key) for key in keys) == sorted(names):
            if len(set(names)) == len(names):
                at = {str(key): value for key, value in zip(keys, tasks, strict=True)}
                return [at[name] for name in names]
        positions = all(
            isinstance(key, Integral) and not isinstance(key, bool) for key in keys
        )
        if positions and sorted(keys) == list(range(m)):
            return tasks.sort_index().tolist()
        columns = "" if names is None else f" or the column names {names}"
        raise ValueError(
            f"source_tasks is keyed by {keys}; its keys must be the columns of "
            f"L, each once: positions 0..{m - 1}{columns}. Pass a list to give "
            "the tasks in the order of the columns."
        )

    def _votes(self, L, reset):
        L = frame_to_pandas(L)
        names = [str(c) for c in L.columns] if hasattr(L, "columns") else None
        # each source's classes are those of its task, checked below
        rows, cols, vals, (n, m) = check_label_matrix(L, None, names=names)
        if not reset and m != self.n_features_in_:
            raise ValueError(
                f"X has {m} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input (sources of L)."
            )
        validate_data(self, L, reset=reset, skip_check_array=True)
        task_of = self._resolve_sources(m, names) if reset else self.source_task_index_
        k_of = np.array(self.task_graph.cardinalities)[task_of]
        bad = vals >= k_of[cols]
        if bad.any():
            i = np.flatnonzero(bad)[0]
            j = cols[i]
            label = f"{names[j]!r}" if names else str(j)
            raise ValueError(
                f"Source {label} votes {vals[i]} at row {rows[i]}, but its task "
                f"{self.task_graph.tasks[task_of[j]]!r} has classes "
                f"0..{k_of[j] - 1}; the graph makes this vote infeasible."
            )
        return rows, cols, vals, n, m, task_of

    # ---------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    @restore_on_error
    def fit(self, L, y=None):
        """Fit every task group's sources and joint label prior by EM.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes; ``-1`` abstains, column ``j`` votes on task
            ``source_tasks[j]`` with classes ``0..k_t-1``. Other array types
            (a dask array, for one) are read into memory whole: unlike
            :class:`LabelModel`, this model has no blocked fit.
        y : array-like of shape (n_samples, n_tasks), default=None
            Optional gold labels, ``-1`` where a task has no label (with a
            single task, shape ``(n_samples,)`` is accepted); a DataFrame's
            columns are matched to the tasks by name. They make the fit
            semi-supervised: in the initialization and in every EM iteration,
            the posterior of a row over its task group's feasible joint labels
            keeps only the joint labels that agree with the row's known
            entries, renormalised by the model's probabilities (a group whose
            tasks are all known gets a one-hot posterior). Gold rows thus count
            as known labels in the source statistics and the joint label
            prior; rows whose group has no known entry are fitted as without
            ``y``. EM also runs from a second start, the gold rows' own
            tallies, and keeps it if it reaches a clearly higher likelihood
            (see the class Notes): that lets gold labels overrule a majority
            of adversarial sources. Checked with
            :meth:`TaskGraph.check_labels`: a row the task graph forbids
            raises a ``ValueError``.

        Returns
        -------
        self : MultitaskLabelModel
            The fitted model. A call that raises leaves the model as it was
            before the call.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_metal import MultitaskLabelModel, TaskGraph
        >>> graph = TaskGraph({"a": 2, "b": 2}, edges=[("a", "b", [0])])
        >>> L = np.array([[0, 0, 1, 1], [1, 1, -1, -1], [0, 0, 0, 0], [1, -1, -1, 1]])
        >>> model = MultitaskLabelModel(graph, source_tasks=["a", "a", "b", "b"])
        >>> graph.feasible_states(graph.components[0]).tolist()
        [[0, 0], [0, 1], [1, -1]]
        >>> model.fit(L).state_balance_[0].round(2)
        array([0.29, 0.29, 0.42])
        >>> y = np.array([[0, 1], [1, -1], [0, 0], [0, 1]])  # every row labeled
        >>> model.fit(L, y).state_balance_[0].round(2)  # (1 + 1, 2 + 1, 1 + 1) / 7
        array([0.29, 0.43, 0.29])
        """
        # a fit that raises part-way (bad gold labels found after the votes
        # were read, Ctrl-C in a later task group's EM) leaves the model as it
        # was: a fitted one as before, an unfitted one unfitted
        if self.prec_init <= 1.0 / min(self.task_graph.cardinalities):
            raise ValueError(
                f"prec_init={self.prec_init} must exceed 1 / cardinality of every task."
            )
        rows, cols, vals, n, m, task_of = self._votes(L, reset=True)
        if y is not None:
            y = self.task_graph.check_labels(y)
            if y.shape[0] != n:
                raise ValueError(f"y has {y.shape[0]} rows but L has {n}.")
        self.source_task_index_ = task_of
        graph = self.task_graph
        self._groups = []
        self.state_balance_, self.n_iter_, self.loss_history_ = [], [], []
        self.init_ = []
        self.converged_ = True
        cond = [None] * m
        group_of_task = np.empty(len(graph.tasks), dtype=np.intp)
        for i, comp in enumerate(graph.components):
            group_of_task[comp] = i
        votes = _votes_by_group(
            group_of_task[task_of], len(graph.components), rows, cols, vals
        )
        for comp, group_votes in zip(graph.components, votes, strict=True):
            gold = None if y is None else y[:, comp]
            group = self._fit_group(comp, *group_votes, n, task_of, gold)
            self._groups.append(group)
            self.state_balance_.append(group["pi"])
            self.n_iter_.append(group["n_iter"])
            self.loss_history_.append(group["loss"])
            self.init_.append(group["init"])
            self.converged_ &= group["converged"]
            for idx, j in enumerate(group["sources"]):
                cond[j] = group["mu"][idx]
        self.cond_probs_ = cond
        self.accuracies_ = np.array(
            [self._accuracy(j, group_of_task) for j in range(m)], dtype=np.float64
        )
        if not self.converged_:
            warnings.warn(
                f"MultitaskLabelModel did not converge in max_iter={self.max_iter} "
                "iterations for every task group.",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )
        return self

    def _group_votes(self, comp, rows, cols, vals, n, task_of):
        """The group's sources and their one-hot votes; ``rows, cols, vals``
        are the group's own votes (see :func:`_votes_by_group`)."""
        sources = np.flatnonzero(np.isin(task_of, comp))
        local = np.searchsorted(sources, cols)
        k_max = max(self.task_graph.cardinalities[t] for t in comp)
        A = one_hot_votes(rows, local, vals, (n, len(sources)), k_max)
        return sources, A, k_max

    def _value_maps(self, comp, states, sources, task_of):
        """For every source, a (n_states, k_t + 1) 0/1 map state -> task value."""
        graph = self.task_graph
        maps = []
        for j in sources:
            t = task_of[j]
            k = graph.cardinalities[t]
            values = states[:, comp.index(t)]
            M = np.zeros((len(states), k + 1))
            M[np.arange(len(states)), np.where(values >= 0, values, k)] = 1.0
            maps.append(M)
        return maps

    @staticmethod
    def _gold_mask(states, gold):
        """Rows with a known label in the group, and their allowed states.

        Returns ``(gold_rows, allowed)``: the indices of the rows of ``gold``
        (shape ``(n_samples, len(comp))``, ``-1`` unknown) that set at least one
        task, and a boolean ``(len(gold_rows), n_states)`` mask of the feasible
        states that agree with every known entry; ``None`` when no row is set.
        """
        if gold is None:
            return None
        gold_rows = np.flatnonzero((gold >= 0).any(axis=1))
        if not gold_rows.size:
            return None
        patterns, _, inverse = _unique_rows(gold[gold_rows])
        known = patterns[:, None, :] >= 0
        match = states[None, :, :] == patterns[:, None, :]
        allowed = np.all(match | ~known, axis=2)
        return gold_rows, allowed[inverse.ravel()]

    def _fit_group(self, comp, rows, cols, vals, n, task_of, gold=None):
        graph = self.task_graph
        states = graph.feasible_states(comp)
        # check_labels guarantees every gold row leaves a feasible state
        constraint = self._gold_mask(states, gold)
        sources, A, k_max = self._group_votes(comp, rows, cols, vals, n, task_of)
        maps = self._value_maps(comp, states, sources, task_of)
        n_states = len(states)
        # Initialization: each task's vote shares, combined over feasible states.
        Q = np.ones((n, n_states))
        for pos, t in enumerate(comp):
            k = graph.cardinalities[t]
            # each row's votes per class over the task's sources (no dense
            # (n, n_sources * k) copy of the one-hot A: 240 MB at 1e4 x 1000)
            of_task = task_of[cols] == t
            counts = vote_counts(rows[of_task], vals[of_task], n, k)
            share = (counts + 0.5) / (counts.sum(axis=1, keepdims=True) + 0.5 * k)
            defined = states[:, pos] >= 0
            factor = np.where(defined, share[:, np.clip(states[:, pos], 0, None)], 1.0)
            # an undefined task is likelier where its sources are silent
            voted = counts.sum(axis=1) > 0
            factor[:, ~defined] = np.where(voted, 0.5, 1.0)[:, None]
            Q *= factor
        if constraint is not None:
            gold_rows, allowed = constraint
            Q[gold_rows] *= allowed
        Q /= Q.sum(axis=1, keepdims=True)
        # Where no task of the group can be undefined, abstains are left out
        # of the likelihood, so a row without a vote (or gold label) in the
        # group carries no evidence: its posterior is the prior, and it is
        # left out of the M-step's tallies too, as LabelModel leaves it out.
        # (Counted there, it diluted each value's vote rates by that value's
        # prior share, and the fit drifted with the number of such rows.)
        evidence = None
        if not any(M[:, -1].any() for M in maps):
            evidence = np.zeros(n, dtype=bool)
            evidence[rows] = True
            if constraint is not None:
                evidence[constraint[0]] = True
            if evidence.all():
                evidence = None
        em = (A, sources, maps, k_max, task_of, constraint, comp, evidence)
        fit = self._em(Q, *em)
        fit["init"] = "votes"
        if constraint is not None and len(constraint[0]) < n:
            # A second start from what the gold rows alone say: the first
            # M-step sees only them (their posteriors as above, plus the prior
            # pseudo-counts), so the sources and the joint label prior begin at
            # their supervised, smoothed tallies. It replaces the vote-share
            # fit only if it ends at a clearly higher likelihood; see Notes.
            Q_gold = np.zeros_like(Q)
            Q_gold[constraint[0]] = Q[constraint[0]]
            gold_fit = self._em(Q_gold, *em, start="gold")
            best = fit["loss"][-1]
            margin = _TIE_TOLERANCES * self.tol * max(1.0, abs(best))
            if gold_fit["loss"][-1] < best - margin:
                fit = gold_fit
                fit["init"] = "gold"
        fit.update(comp=comp, states=states, sources=sources, k_max=k_max)
        return fit

    def _em(
        self,
        Q,
        A,
        sources,
        maps,
        k_max,
        task_of,
        constraint,
        comp,
        evidence=None,
        start=None,
    ):
        """EM from the posteriors ``Q`` (the first M-step's weights); rows
        outside ``evidence`` (a boolean mask, None for all) are left out of
        the M-steps."""
        s = self.prior_strength
        if evidence is not None:
            Q = np.where(evidence[:, None], Q, 0.0)
        if constraint is not None:
            gold_rows, allowed = constraint
        loss, converged = [], False
        for it in range(1, self.max_iter + 1):
            pi, mu, log_w, log_b = self._m_step(A, Q, sources, maps, k_max, task_of, s)
            S = np.asarray(A @ log_w) + log_b
            if constraint is not None:
                # gold rows: posterior over the states their known labels allow,
                # and the likelihood of their votes together with those labels
                S[gold_rows] = np.where(allowed, S[gold_rows], -np.inf)
            S_max = S.max(axis=1, keepdims=True)
            E = np.exp(S - S_max)
            norm = E.sum(axis=1, keepdims=True)
            Q = E / norm
            row_loss = -(np.log(norm) + S_max)
            if evidence is not None:
                Q[~evidence] = 0.0
                # the mean over the rows fitted: counted at their 0, the rows
                # left out scaled the loss down and so eased the convergence
                # test (100,000 of them stopped EM after 2 iterations)
                row_loss = row_loss[evidence]
            # (a group none of whose sources votes has no row to fit: loss 0)
            loss.append(float(row_loss.mean()) if row_loss.size else 0.0)
            if self.verbose:
                label = "" if start is None else f" ({start} start)"
                print(
                    f"MultitaskLabelModel group {comp}{label} iteration {it}: "
                    f"{loss[-1]:.6f}"
                )
            if len(loss) > 1 and abs(loss[-2] - loss[-1]) <= self.tol * max(
                1.0, abs(loss[-1])
            ):
                converged = True
                break
        pi, mu, log_w, log_b = self._m_step(A, Q, sources, maps, k_max, task_of, s)
        return dict(
            pi=pi,
            mu=mu,
            log_w=log_w,
            log_b=log_b,
            n_iter=it,
            loss=loss,
            converged=converged,
        )

    def _m_step(self, A, Q, sources, maps, k_max, task_of, s):
        graph = self.task_graph
        n_states = Q.shape[1]
        q_sum = Q.sum(axis=0)
        pi = (q_sum + 1.0) / (q_sum.sum() + n_states)
        cnt = np.asarray(A.T @ Q)  # (n_sources * k_max, n_states)
        log_w = np.zeros((A.shape[1], n_states))
        log_b = np.log(pi)
        mus = []
        for idx, j in enumerate(sources):
            k = graph.cardinalities[task_of[j]]
            M = maps[idx]
            c = cnt[idx * k_max : idx * k_max + k] @ M  # (k, k + 1) vote x value
            q_v = q_sum @ M  # rows per task value (k + 1,)
            prior = np.full((k, k + 1), (1 - self.prec_init) / (k - 1))
            prior[np.arange(k), np.arange(k)] = self.prec_init
            prior[:, k] = 1.0 / k  # not defined: no preferred vote
            rate = (c.sum(axis=1) + s) / (q_v.sum() + s)  # marginal vote rates
            pseudo = s * prior * rate[:, None] / max(rate.sum(), 1e-12)
            undefined = M[:, k].any()
            if undefined:
                # abstains enter the likelihood (below): the pseudo-votes of
                # each value fire at the source's own coverage, so the prior
                # does not make a rarely firing source's silence evidence
                coverage = (c.sum() + 1.0) / (q_v.sum() + 2.0)
                pseudo *= s * coverage / pseudo.sum(axis=0, keepdims=True)
            votes = (c + pseudo) / (q_v + s)[None, :]
            votes = np.minimum(votes, 1.0)
            total = votes.sum(axis=0)
            votes = votes / np.maximum(total, 1.0)[None, :]
            mu = np.vstack([1.0 - votes.sum(axis=0, keepdims=True), votes])
            mus.append(mu)
            # floored as the abstains below: a vote whose pseudo-count
            # underflows (prior_strength near 1e-300) is not impossible
            log_w[idx * k_max : idx * k_max + k] = (
                np.log(np.maximum(votes, 1e-300)) @ M.T
            )
            if undefined:
                # The task is undefined in some states, and whether the source
                # fires tells those states apart: its abstain probability
                # (class-conditional, 1 - P(fires | value), so each column of
                # mu is a distribution) enters the likelihood of every row,
                # a vote's block in log_w swapping it for the vote
                log_a = np.log(np.maximum(mu[0], 1e-300)) @ M.T
                log_w[idx * k_max : idx * k_max + k] -= log_a
                log_b = log_b + log_a
        return pi, mus, log_w, log_b

    def _accuracy(self, j, group_of_task):
        t = self.source_task_index_[j]
        k = self.task_graph.cardinalities[t]
        group = self._groups[group_of_task[t]]
        pos = group["comp"].index(t)
        values = group["states"][:, pos]
        p_v = np.array([group["pi"][values == v].sum() for v in range(k)])
        mu = self.cond_probs_[j][1:, :k]
        vote_rate = (mu * p_v).sum()
        return float((np.diag(mu) * p_v).sum() / vote_rate) if vote_rate > 0 else np.nan

    # ------------------------------------------------------------ predict
    def _state_posteriors(self, L, log=False):
        """Per group, the posterior over its feasible states (its log with
        ``log=True``)."""
        check_is_fitted(self)
        rows, cols, vals, n, m, task_of = self._votes(L, reset=False)
        group_of_source = np.empty(m, dtype=np.intp)
        for i, g in enumerate(self._groups):
            group_of_source[g["sources"]] = i
        votes = _votes_by_group(group_of_source, len(self._groups), rows, cols, vals)
        out = []
        for g, (rows, cols, vals) in zip(self._groups, votes, strict=True):
            # (the group's own votes: no other source's to leave out)
            local = np.searchsorted(g["sources"], cols)
            A = one_hot_votes(rows, local, vals, (n, len(g["sources"])), g["k_max"])
            S = np.asarray(A @ g["log_w"]) + g["log_b"]
            if log:
                out.append(S - logsumexp(S, axis=1, keepdims=True))
                continue
            S -= S.max(axis=1, keepdims=True)
            E = np.exp(S)
            out.append(E / E.sum(axis=1, keepdims=True))
        return out

    def predict_proba(self, L):
        """Per-task class probabilities, given that the task is defined.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes; a dask array is read into memory whole, and the
            probabilities are numpy arrays.

        Returns
        -------
        proba : list of ndarray
            One ``(n_samples, k_t)`` array per task, rows summing to 1:
            ``P(Y_t = v | votes, task t defined)``. See
            :meth:`predict_defined_proba` for the probability that a task is
            defined at all.
        """
        graph = self.task_graph
        # in log space: P(task defined) may underflow while the conditional
        # given that it is defined is well determined
        post = self._state_posteriors(L, log=True)
        out = [None] * len(graph.tasks)
        for g, log_q in zip(self._groups, post, strict=True):
            for pos, t in enumerate(g["comp"]):
                k = graph.cardinalities[t]
                values = g["states"][:, pos]
                defined = values >= 0
                if not defined.any():
                    out[t] = np.full((len(log_q), k), 1.0 / k)
                    continue
                # the defined states' posteriors, scaled by their largest
                # (one exp per state, as in linear space, without underflow)
                log_d = log_q[:, defined]
                top = log_d.max(axis=1, keepdims=True)
                top[~np.isfinite(top)] = 0.0  # no defined state possible
                Q = np.exp(log_d - top)
                d_values = values[defined]
                P = np.stack([Q[:, d_values == v].sum(axis=1) for v in range(k)], 1)
                total = P.sum(axis=1, keepdims=True)
                uniform = np.full_like(P, 1.0 / k)
                out[t] = np.divide(P, total, out=uniform, where=total > 0)
        return out

    def predict_defined_proba(self, L):
        """Probability that each task is defined (applies) for each row.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes.

        Returns
        -------
        defined : ndarray of shape (n_samples, n_tasks)
        """
        post = self._state_posteriors(L)
        n = post[0].shape[0]
        out = np.ones((n, len(self.task_graph.tasks)))
        for g, Q in zip(self._groups, post, strict=True):
            for pos, t in enumerate(g["comp"]):
                out[:, t] = Q[:, g["states"][:, pos] >= 0].sum(axis=1)
        return out

    def predict(self, L):
        """Most probable feasible joint label per task group.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks)
            ``-1`` where the predicted joint label leaves a task undefined; a
            prediction never violates the graph. Exact ties go to the first
            feasible state.
        """
        post = self._state_posteriors(L)
        n = post[0].shape[0]
        out = np.full((n, len(self.task_graph.tasks)), -1, dtype=np.int64)
        for g, Q in zip(self._groups, post, strict=True):
            best = g["states"][np.argmax(Q, axis=1)]
            out[:, g["comp"]] = best
        return out

    def score(self, L, y):
        """Mean over tasks of the accuracy on the entries of ``y`` that are set.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes.
        y : array-like of shape (n_samples, n_tasks)
            Gold labels; ``-1`` where a task has no label (or is not defined).
            With a single task, shape ``(n_samples,)`` is accepted; a
            DataFrame's columns are matched to the tasks by name.

        Returns
        -------
        score : float
            Mean of :meth:`score_tasks` over the tasks that have a gold label.

        Raises
        ------
        ValueError
            If no entry of ``y`` is set (every entry is ``-1``).
        """
        scores = self.score_tasks(L, y)
        if np.isnan(scores).all():
            raise ValueError(
                "y has no gold label: every entry is -1 (unlabeled); score needs "
                "at least one labeled entry."
            )
        return float(np.mean(scores[~np.isnan(scores)]))

    def score_tasks(self, L, Y):
        """Per-task accuracy on the entries of ``Y`` that are set.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes.
        Y : array-like of shape (n_samples, n_tasks)
            Gold labels; ``-1`` for missing entries; a DataFrame's columns are
            matched to the tasks by name. A row the task graph forbids raises a
            ``ValueError`` (see :meth:`TaskGraph.check_labels`).

        Returns
        -------
        scores : ndarray of shape (n_tasks,)
            NaN for a task without any gold label.
        """
        pred = self.predict(L)
        Y = self.task_graph.check_labels(Y)
        if Y.shape != pred.shape:
            raise ValueError(
                f"Y has shape {Y.shape}; expected {pred.shape} (one column per task)."
            )
        scores = np.full(Y.shape[1], np.nan)
        for t in range(Y.shape[1]):
            known = Y[:, t] >= 0
            if known.any():
                scores[t] = np.mean(pred[known, t] == Y[known, t])
        return scores

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        tags.target_tags.multi_output = True  # one column per task
        return tags
