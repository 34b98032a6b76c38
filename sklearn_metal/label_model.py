"""The label model: learn how accurate each source is without ground truth."""

import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import effective_n_jobs
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import metadata_routing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from . import _streaming
from ._atomic import restore_on_error
from ._statistics import one_hot_votes
from ._validation import (
    _LabelMatrixMixin,
    by_class,
    check_block_input,
    check_gold_labels,
    check_sample_weight,
    check_weight_sum,
    plus_minus_one_rows,
    user_stacklevel,
)

__all__ = ["LabelModel"]

_MAX_COMPONENT_TABLE = 2**20

#: Appended to the error for gold labels ``y`` of another length than ``L``:
#: Snorkel's ``fit(L, Y_dev)`` took a dev set of other rows.
_DEV_SET_ADVICE = (
    " y gives each row of L its gold label, or -1 where it has none. For a "
    "labeled dev set of other rows (Snorkel's Y_dev), fit on "
    "np.vstack([L, L_dev]) with y=np.r_[np.full(len(L), -1), y_dev], or pass "
    "class_balance=np.bincount(y_dev, minlength=k) / len(y_dev)."
)


def _components(dependencies, m, names):
    """Group declared dependent source pairs into connected components."""
    parent = list(range(m))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def index(s):
        if isinstance(s, (Integral, np.integer)) and not isinstance(s, bool):
            if not 0 <= s < m:
                raise ValueError(
                    f"dependencies names source index {s}, but L has {m} sources "
                    f"(valid indices 0..{m - 1})."
                )
            return int(s)
        if names is not None and s in list(names):
            return list(names).index(s)
        raise ValueError(
            f"dependencies names source {s!r}, which is neither an index in "
            f"0..{m - 1} nor a column name of L."
        )

    for pair in dependencies:
        if len(pair) != 2:
            raise ValueError(
                f"Each dependency must be a pair (i, j) of sources, got {pair!r}."
            )
        i, j = index(pair[0]), index(pair[1])
        if i == j:
            raise ValueError(f"Dependency {pair!r} pairs source {i} with itself.")
        parent[find(i)] = find(j)
    groups = {}
    for j in range(m):
        groups.setdefault(find(j), []).append(j)
    return [tuple(g) for g in groups.values() if len(g) > 1]


def _packable(L):
    """Whether ``L`` is a numeric ndarray, sparse matrix or DataFrame, whose
    votes a packed path can read."""
    if sp.issparse(L) or isinstance(L, np.ndarray):
        return L.dtype.kind in "iuf"
    return _streaming.is_numeric_frame(L)


def _whole(sample_weight):
    """Whether every row weight is a whole number (None: all are 1)."""
    if sample_weight is None:
        return True
    return bool(np.all(sample_weight == np.rint(sample_weight)))


def _n_votes(L):
    """Number of votes (entries ``>= 0``) of a :func:`_packable` ``L``."""
    if sp.issparse(L):
        return np.count_nonzero(L.data >= 0)
    values = L if isinstance(L, np.ndarray) else L.to_numpy()
    return np.count_nonzero(values >= 0)


class LabelModel(_LabelMatrixMixin, ClassifierMixin, BaseEstimator):
    """Learn class-conditional accuracies of weak sources from their votes alone.

    The model is the one of Snorkel MeTaL (Ratner et al., AAAI 2019): given the
    true class ``Y``, sources vote independently (or, for declared
    dependencies, jointly within a group), each with its own class-conditional
    distribution ``P(lambda_j = a | Y = y)`` over votes and abstains. The fit
    reads ``L`` once into sparse vote tallies and estimates the source
    parameters from the sources' overlaps with one another, then the class
    balance by maximum likelihood; see Notes.

    Parameters
    ----------
    cardinality : int, default=2
        Number of classes ``k``. Votes are ``0..k-1``; ``-1`` abstains.

    dependencies : list of (int or str, int or str) pairs, default=None
        Pairs of sources known to be correlated given the class (for example a
        labeling function and a near-copy of it). Sources are given by column
        index or by DataFrame column name. Connected pairs form a group whose
        joint vote is modelled as one factor, in the fit and in
        :meth:`predict_proba`, so a duplicated source is not counted twice.

    class_balance : array-like of shape (cardinality,), default=None
        Prior ``P(Y)``. ``None`` estimates it from the data (and from gold
        labels passed to :meth:`fit`); an array of positive probabilities
        (a zero entry raises a ``ValueError``) is used as given, divided by
        its sum (which must be 1 up to ``np.isclose``'s tolerance) so that
        ``class_balance_`` sums to 1 exactly. A pandas Series is read by its
        index, which must be the classes ``0..cardinality-1`` in any order
        (as ``y.value_counts(normalize=True)`` gives them, most frequent
        first).

    coverage : {"auto", "class_conditional", "independent"}, default="auto"
        Whether a source's chance of voting depends on the class.
        ``"class_conditional"`` lets it depend (needed for labeling functions
        that vote one class or abstain: their firing is their signal);
        ``"independent"`` treats abstains as missing at random, as in
        Dawid-Skene (crowd workers who see a random subset of items);
        ``"auto"`` uses ``"class_conditional"`` for sources that vote a single
        class and ``"independent"`` for sources that vote two or more.

    method : {"auto", "moments", "em"}, default="auto"
        ``"moments"`` estimates source parameters in closed form from the
        overlap statistics (each source's vote tallies against the other
        sources' vote shares) and then fits the class balance by maximum
        likelihood. ``"em"`` starts there and runs MAP expectation-maximization
        over all parameters to convergence. ``"auto"`` runs that EM over the
        class balance and the sources with class-independent coverage only,
        keeping one-class sources at their moment estimates (on real
        labeling-function sets, EM over those lowered accuracy).

    prior_strength : float, default=1.0
        Pseudo-count of the Dirichlet prior on every source's parameters. The
        prior is centred on a source of accuracy ``prec_init``, so sources are
        taken to be better than random unless the data say otherwise. At
        least ``numpy.finfo(float).tiny`` (about 2.2e-308).

    prec_init : float, default=0.7
        Accuracy at which the prior is centred; must exceed ``1 / cardinality``
        and be below 1.

    tol : float, default=1e-6
        Convergence tolerance on the largest change of the class balance
        when only the balance is iterated, or on the relative change of the
        mean negative log-likelihood when EM refines source parameters.

    max_iter : int, default=100
        Maximum number of iterations.

    verbose : int, default=0
        Print the loss every iteration when positive.

    chunk_rows : int, "auto" or None, default="auto"
        Rows per block when ``L`` is read in blocks: then the fit keeps only
        statistics of size ``(n_sources * k, k)`` and one block in memory, and
        :meth:`predict_proba` works block by block. ``"auto"`` reads in blocks
        dask arrays and matrices of more than 2**24 entries; it also packs
        (see Notes) an ``L`` of numeric votes (dense, sparse, or a DataFrame of
        numeric columns; floats count when they are all integers) of at least
        20,000 rows when its rows carry many votes (at least ``(k - 1) / k``
        per group of packed sources, half that from 100,000 rows) or merging
        duplicate rows halves them,
        and predicts such matrices of more than 2**18 entries in blocks
        (sparse blocks are made dense as ``int8``); an int always reads in
        blocks; None never does (a dask array is still read in blocks).
        Dependencies need the in-memory path. Every path gives the same model
        (tested to 1e-10), except where EM is ill-conditioned: paths add
        their blocks in different orders, and with 128 classes on 186 rows
        that rounding grew to 3e-7 in converged fits and 2e-5 in fits
        stopped at ``max_iter``.

    n_jobs : int, default=None
        Threads that process row blocks at once, when ``L`` is read in blocks
        (fit passes and :meth:`predict_proba`; the in-memory path is
        unaffected). ``None`` means 1 and ``-1`` all processors. The blocks'
        sums are added in block order, so the result does not depend on
        ``n_jobs``. Dask arrays run on the dask scheduler instead.

    Attributes
    ----------
    classes_ : ndarray of shape (cardinality,)
        ``np.arange(cardinality)``.

    class_balance_ : ndarray of shape (cardinality,)
        Estimated (or given) ``P(Y)``.

    cond_probs_ : ndarray of shape (n_sources, cardinality + 1, cardinality)
        ``cond_probs_[j, a + 1, y] = P(lambda_j = a | Y = y)``; index 0 holds
        the abstain probability ``P(lambda_j = -1 | Y = y)``.

    accuracies_ : ndarray of shape (n_sources,)
        ``P(lambda_j = Y | lambda_j != -1)`` for every source; NaN for a
        source that never voted on a training row (of positive weight). Such
        a source keeps its prior: in :meth:`predict_proba` its votes count as
        those of a source of accuracy ``prec_init`` (a crowd worker seen only
        at prediction, say).

    coverages_ : ndarray of shape (n_sources,)
        Fraction of training rows on which each source voted (each row
        counted by its ``sample_weight``).

    coverage_independent_ : ndarray of bool, shape (n_sources,)
        Which sources were modelled with class-independent coverage.

    dependency_components_ : list of tuple of int
        Groups of sources modelled jointly because of ``dependencies``.

    loss_history_ : list of float
        The objective at each iteration: the mean, over the training rows with
        a vote or a gold label (weighted by ``sample_weight``), of
        ``-log sum_y P(y) prod_j f_j(vote_j | y)`` over the sources that voted
        (abstains add no term; a dependency group adds its joint factor), a
        row with a gold label adding ``-log P(y_gold)`` instead. ``f_j`` is
        the confusion matrix of a source with class-independent coverage;
        for a class-conditional one it is ``(t_jay + c_ay) / (t_y +
        prior_strength)``: its tally of vote ``a`` on the rows the vote
        shares (or, once EM updates it, the posteriors) assign to ``y``, plus
        the prior's pseudo-counts, over the rows assigned to ``y``.
        ``cond_probs_`` rescales that to the observed rate of vote ``a``, so
        the loss differs from the likelihood under ``cond_probs_`` by a
        constant. Each entry is computed before its iteration's update, so
        the last one lags the final parameters by one update. After
        :meth:`partial_fit`, one entry per call (none with a given
        ``class_balance``): its block's mean, under the class balance before
        the call.

    n_iter_ : int
        Number of iterations run.

    converged_ : bool
        Whether ``tol`` was reached within ``max_iter`` iterations.

    n_features_in_ : int
        Number of sources seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (n_sources,)
        Source names, defined only when ``L`` is a DataFrame with string
        column names.

    See Also
    --------
    MajorityLabelVoter : Majority vote over the sources.
    MajorityClassVoter : Always predicts the class balance.

    Notes
    -----
    Fitting reads ``L`` once into a sparse one-hot ``A`` (one stored entry per
    vote) and the per-row vote shares ``Q`` (each voted row's fraction of
    votes per class, gold labels where given). Everything after that pass works
    on ``A.T @ Q`` and the vote totals, of size ``(n_sources * k, k)``:

    * a source whose coverage depends on the class gets
      ``P(lambda_j = a | y)`` proportional to
      ``(A.T @ Q)[j, a, y] / sum_i Q[i, y]``, i.e. how often it voted ``a``
      on rows the other votes assign to ``y``;
    * a source with class-independent coverage gets the confusion matrix
      ``P(lambda_j = a | y, lambda_j != -1)``, Dawid and Skene's parameter.

    Both use Dirichlet pseudo-counts ``prior_strength`` centred on accuracy
    ``prec_init``. The class balance is then the maximum-likelihood mixture
    weight given the source parameters, iterated to ``tol``; with the default
    ``method="auto"``, sources with class-independent coverage are refined by
    EM in the same loop. Anchoring the
    parameters on the sources' vote shares resolves the label-permutation
    symmetry in favour of sources that are better than random.

    Numeric votes (numpy, memory-mapped ``.npy``, sparse matrices made dense
    block by block, DataFrames of numeric columns, floats when all are
    integers) are read as bytes: the votes of up
    to eight neighbouring sources (for k = 2; four up to k = 7) become one
    pattern number, so every pass does ``n_sources / 8``
    to ``n_sources`` table lookups per row and class (for the scores) and
    weighted pattern counts (for the tallies) instead of one step per vote,
    for ``k - 1`` of the classes (class 0's follow from the others); for an
    in-memory array the pattern numbers are kept between passes, and
    identical rows are merged into one weighted row when that halves the
    rows.

    Inference follows MeTaL: ``P(Y = y | lambda)`` is proportional to
    ``P(Y = y) * prod_j P(lambda_j | Y = y)`` over the sources that voted, so
    a row on which every source abstains gets exactly ``class_balance_``.
    :meth:`predict` returns ``classes_[argmax]``; exact ties go to the lowest
    class index.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal import LabelModel
    >>> L = np.array([[0, 0, -1], [1, 1, 1], [0, -1, 0], [1, 0, 1], [-1, -1, -1]])
    >>> model = LabelModel(cardinality=2).fit(L)
    >>> model.predict(L[:4])
    array([0, 1, 0, 1])
    >>> proba = model.predict_proba(L)
    >>> proba.shape
    (5, 2)
    >>> bool(np.allclose(proba[4], model.class_balance_))  # every source abstains
    True
    """

    __metadata_request__partial_fit = {"L": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        "cardinality": [Interval(Integral, 2, None, closed="left")],
        "dependencies": ["array-like", None],
        "class_balance": ["array-like", None],
        "coverage": [StrOptions({"auto", "class_conditional", "independent"})],
        "method": [StrOptions({"auto", "moments", "em"})],
        # at least the smallest normal float: a subnormal one underflows to NaN
        "prior_strength": [Interval(Real, np.finfo(float).tiny, None, closed="left")],
        "prec_init": [Interval(Real, 0, 1, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
        "chunk_rows": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
    }

    def __init__(
        self,
        cardinality=2,
        *,
        dependencies=None,
        class_balance=None,
        coverage="auto",
        method="auto",
        prior_strength=1.0,
        prec_init=0.7,
        tol=1e-6,
        max_iter=100,
        verbose=0,
        chunk_rows="auto",
        n_jobs=None,
    ):
        self.cardinality = cardinality
        self.dependencies = dependencies
        self.class_balance = class_balance
        self.coverage = coverage
        self.method = method
        self.prior_strength = prior_strength
        self.prec_init = prec_init
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose
        self.chunk_rows = chunk_rows
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    @restore_on_error
    def fit(self, L, y=None, sample_weight=None):
        """Learn source parameters and the class balance from ``L``.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame, dask array} of shape \
                (n_samples, n_sources)
            Votes: ``-1`` abstains, ``0..cardinality-1`` are classes. In a
            sparse matrix an entry that is not stored abstains (so does a
            stored ``-1``); one that stores ``-1`` entries but no ``0``, and
            not every entry, is refused, since scipy's ``csr_matrix(L)`` of a
            dense ``L`` keeps its abstains and drops its class-0 votes.
        y : array-like of shape (n_samples,), default=None
            Optional gold labels, ``-1`` for unlabeled rows (scikit-learn's
            semi-supervised convention). Gold rows count as known classes in
            the source statistics and the class balance. Binary labels that
            hold ``-1`` and ``1`` but no ``0`` (classes coded -1/+1?) warn.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row, read as a count: a row of
            weight 2 counts as two copies of it in every statistic (vote
            tallies, coverages, the likelihood, the gold class counts), and a
            row of weight 0 as none. The priors (``prior_strength`` and the
            balance's pseudo-count) do not scale with the weights, so
            multiplying every weight by a constant is like having more rows.
            ``None`` weighs every row 1. For a dask ``L`` the weights are
            read into memory (8 bytes a row), as ``y`` is.

        Returns
        -------
        self : LabelModel
            The fitted model. A call that raises leaves the model as it was
            before the call (a fitted model keeps its fit and its partial-fit
            statistics).
        """
        k = self._cardinality
        if self.prec_init <= 1.0 / k:
            raise ValueError(
                f"prec_init={self.prec_init} must exceed 1 / cardinality = {1 / k:.3g}:"
                " the prior assumes sources are better than random."
            )
        # partial_fit after this fit continues from this fit's statistics
        self.__dict__.pop("_partial_stats", None)
        self.__dict__.pop("_partial_post", None)
        L, frame = _streaming.read_input(L)
        if sample_weight is not None and L.ndim == 2 and L.shape[0] > 0:
            # (for any other L, the checks below raise, naming its shape)
            sample_weight = self._check_weights(sample_weight, L)
        stream = self._streams(L)
        packed = None
        if not stream and self._may_pack(L):
            # packed passes beat the in-memory one-hot ones when rows carry
            # many votes per group of sources, or when duplicate rows merge
            m = L.shape[1]
            merge = y is None and _streaming.mergeable(m, k)
            # (the votes are counted only when merging does not settle it)
            if merge or self._packing_pays(L):
                packed = _streaming.pack_matrix(
                    # a memory map this small is packed once, as in memory
                    np.asarray(L) if isinstance(L, np.ndarray) else L,
                    k,
                    self._block_rows(m),
                    merge=merge,
                    n_jobs=effective_n_jobs(self.n_jobs),
                    sample_weight=sample_weight,
                )
                unmerged = packed is not None and (
                    sum(block.idx.shape[1] for block in packed) == L.shape[0]
                )
                if unmerged and merge and not self._packing_pays(L):
                    packed = None
            stream = packed is not None
        if stream:
            check_block_input(L)
            n, m = L.shape
            validate_data(self, frame, reset=True, skip_check_array=True)
            if self._dependency_pairs():
                raise ValueError(
                    "dependencies need the in-memory fit; pass chunk_rows=None and "
                    "a numpy, scipy.sparse or pandas label matrix."
                )
        else:
            rows, cols, vals, (n, m) = self._validate_votes(L, reset=True)
        gold = check_gold_labels(y, n, k, advice=_DEV_SET_ADVICE)
        p_given = self._given_balance()
        names = getattr(self, "feature_names_in_", None)
        self.dependency_components_ = _components(self._dependency_pairs(), m, names)
        for comp in self.dependency_components_:
            if (k + 1) ** len(comp) > _MAX_COMPONENT_TABLE:
                raise ValueError(
                    f"The dependency group {comp} has {len(comp)} sources; its joint "
                    f"table of {(k + 1) ** len(comp)} outcomes is too large. Declare "
                    "fewer dependencies per group."
                )
        self.classes_ = np.arange(k)
        if stream:
            self._fit_streaming(L, n, m, gold, p_given, packed, sample_weight)
        else:
            self._fit_params(rows, cols, vals, n, m, gold, p_given, sample_weight)
        return self

    @staticmethod
    def _check_weights(sample_weight, L):
        """``sample_weight`` as a float64 array of one finite, non-negative
        weight per row of ``L``, not all zero (a dask array is computed)."""
        if _streaming.is_dask(sample_weight):
            sample_weight = sample_weight.compute()
        shape, n = np.asarray(sample_weight).shape, L.shape[0]
        if len(shape) == 1 and shape[0] != n:
            raise ValueError(
                f"sample_weight has {shape[0]} weights but the label matrix has "
                f"{n} rows."
            )
        sample_weight = check_sample_weight(sample_weight, L, dtype=np.float64)
        negative = np.flatnonzero(sample_weight < 0)
        if negative.size:
            i = negative[0]
            raise ValueError(
                f"sample_weight holds the negative weight {sample_weight[i]} at row "
                f"{i}; weights must be non-negative (a row of weight w counts as "
                "w copies of it)."
            )
        check_weight_sum(sample_weight)
        return sample_weight

    def _given_balance(self):
        """``class_balance`` checked as a probability vector, or None."""
        if self.class_balance is None:
            return None
        k = self._cardinality
        p_given = np.asarray(
            by_class(self.class_balance, k, "class_balance"), dtype=np.float64
        )
        if p_given.shape != (k,):
            raise ValueError(
                f"class_balance has shape {p_given.shape}; expected ({k},) for "
                f"cardinality={k}."
            )
        if (
            not np.all(np.isfinite(p_given))
            or np.any(p_given <= 0)
            or not np.isclose(p_given.sum(), 1.0)
        ):
            raise ValueError(
                "class_balance must hold positive probabilities summing to 1, "
                f"got {p_given.tolist()}."
            )
        # a sum within np.isclose's tolerance of 1 is rounding: renormalize
        return p_given / p_given.sum()

    def _dependency_pairs(self):
        """``dependencies`` as a list (an array of pairs has no truth value)."""
        if self.dependencies is None:
            return []
        return list(self.dependencies)

    def _fit_params(self, rows, cols, vals, n, m, gold, p_given, sample_weight=None):
        k = self._cardinality
        sw = sample_weight
        A = one_hot_votes(rows, cols, vals, (n, m), k)
        # Sources of one dependency group share one vote between them in the
        # vote shares, so a duplicated source is not counted twice.
        weight = np.ones(m)
        in_comp = np.zeros(m, dtype=bool)
        for comp in self.dependency_components_:
            weight[list(comp)] = 1.0 / len(comp)
            in_comp[list(comp)] = True
        vote_weight = weight[cols] if in_comp.any() else None
        Q, informative, is_gold = _streaming._shares(
            rows, cols, vals, n, k, gold, vote_weight
        )
        # the rows' sample weights scale every tally: n_w and the sums below
        # count weighted rows
        n_w, tally_weight = n, None
        if sw is not None:
            Q *= sw[:, None]
            n_w, tally_weight = sw.sum(), sw[rows]

        tot = np.bincount(
            cols * k + vals, weights=tally_weight, minlength=m * k
        ).reshape(m, k)
        polarity = (tot > 0).sum(axis=1)
        if self.coverage == "auto":
            independent = polarity >= 2
        else:
            independent = np.full(m, self.coverage == "independent")
        self.coverage_independent_ = independent
        self.coverages_ = tot.sum(axis=1) / n_w
        self._codes_train = [
            self._component_codes(rows, cols, vals, n, c)
            for c in self.dependency_components_
        ]

        prior = np.full((k, k), (1.0 - self.prec_init) / (k - 1))
        np.fill_diagonal(prior, self.prec_init)
        self._prior = prior
        self._in_comp = in_comp

        free = informative & ~is_gold
        if sw is None:
            n_info, n_free, w_gold, w_free = informative.sum(), free.sum(), None, None
        else:
            n_info, n_free = sw[informative].sum(), sw[free].sum()
            w_gold, w_free = sw[is_gold], sw[free]
        if p_given is not None:
            p = p_given
        else:
            # rows of Q outside `informative` are zero
            p = (Q.sum(axis=0) + 1.0) / (n_info + k)
        self._estimate_factors(A, Q)
        self.loss_history_ = []
        self.converged_ = False
        gold_counts = np.zeros(k)
        if is_gold.any():
            gold_counts = np.bincount(
                gold[is_gold], weights=w_gold, minlength=k
            ).astype(np.float64)
        if not self.dependency_components_:
            # the moment statistics, for partial_fit calls after this fit
            moments = {
                "cnt": self._cnt.reshape(m * k, k).copy(),
                "tot": tot.ravel().astype(np.float64),
                "n": n_w,
                "q_sum": Q.sum(axis=0),
                "n_info": float(n_info),
                "n_free": float(n_free),
                "gold_counts": gold_counts,
            }
        # EM refines every source ("em") or only the sources with
        # class-independent coverage ("auto"); otherwise only the balance moves.
        update = comp_update = None
        if self.method == "auto":
            update = independent & ~in_comp
            comp_update = [
                bool(independent[list(c)].all()) for c in self.dependency_components_
            ]
        refine = self.method == "em" or (
            update is not None and (update.any() or any(comp_update))
        )
        all_free = bool(free.all())
        codes_free = [
            (code if all_free else code[free], comp) for code, comp in self._codes_train
        ]
        A_free = A if all_free or not refine else A[free]
        if refine:
            # Gold rows keep their one-hot Q: their share of the tallies is fixed.
            cnt_fixed = np.asarray(A[is_gold].T @ Q[is_gold])
            q_fixed = Q[is_gold].sum(axis=0)
        E = None
        for it in range(1, self.max_iter + 1):
            if E is None or refine:
                # Scores laid out (k, n_free) so every reduction runs over rows.
                if refine:
                    S = self._scores(A_free, codes_free)
                else:
                    S = self._scores(A, self._codes_train)
                    S = S if all_free else S[free]
                S = np.ascontiguousarray(S.T)
                S_max = S.max(axis=0)
                E = np.exp(S - S_max)
                s_max_total = S_max.sum() if w_free is None else S_max @ w_free
            # Likelihood of each free row under balance p: norm_i = sum_y E_yi p_y.
            norm = p @ E
            inv = 1.0 / norm
            if w_free is None:
                inv_w = inv
                nll = -(np.log(norm).sum() + s_max_total)
            else:
                inv_w = inv * w_free
                nll = -(np.log(norm) @ w_free + s_max_total)
            if is_gold.any():
                log_p_gold = np.log(p)[gold[is_gold]]
                nll -= log_p_gold.sum() if w_gold is None else log_p_gold @ w_gold
            loss = self._record_loss(it, nll, n_info)
            if p_given is not None and not refine:
                self.converged_ = True
                break
            post_sum = p * (E @ inv_w)
            new_p = (post_sum + gold_counts + 1.0) / (n_info + k)
            if p_given is not None:
                new_p = p
            if refine:
                post = E * inv_w * p[:, None]
                if self._codes_train:
                    Q_new = Q.copy()
                    Q_new[free] = post.T
                    self._estimate_factors(A, Q_new, update, comp_update)
                else:
                    cnt = cnt_fixed + np.asarray(A_free.T @ post.T)
                    self._set_factors(cnt, q_fixed + post.sum(axis=1), update)
                p = new_p
                if len(self.loss_history_) > 1 and abs(
                    self.loss_history_[-2] - loss
                ) <= self.tol * max(1.0, abs(loss)):
                    self.converged_ = True
                    break
            else:
                newton_p = self._newton_balance(p, E, inv, gold_counts + 1.0, inv_w)
                if newton_p is not None:
                    new_p = newton_p
                delta = np.max(np.abs(new_p - p))
                p = new_p
                if delta <= self.tol:
                    self.converged_ = True
                    break
        if not self.dependency_components_:
            self._keep_moments(moments, p)
        return self._finish_fit(p, tot, n_w)

    def _keep_moments(self, stats, p):
        """Keep a fit's moment statistics for later :meth:`partial_fit` calls,
        with the posterior class counts that give the fitted balance ``p``."""
        k = self._cardinality
        keep = ("cnt", "tot", "n", "q_sum", "n_info", "n_free", "gold_counts")
        self._partial_stats = {key: stats[key] for key in keep}
        self._partial_post = p * (stats["n_info"] + k) - stats["gold_counts"] - 1.0

    def _record_loss(self, it, nll, n_info):
        """Log iteration ``it``'s mean negative log-likelihood; return it."""
        loss = nll / max(n_info, 1)
        self.loss_history_.append(float(loss))
        if self.verbose:
            print(f"LabelModel iteration {it}: loss {loss:.6f}")
        self.n_iter_ = it
        return loss

    def _finish_fit(self, p, tot, n):
        """Warn if EM stopped early and set the public fitted attributes."""
        if not self.converged_:
            warnings.warn(
                f"LabelModel did not converge in max_iter={self.max_iter} iterations "
                f"(tol={self.tol}); increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )
        self.class_balance_ = p
        self._set_public_params(tot, n)
        del self._codes_train
        return self

    # ------------------------------------------------------------ streaming
    def _streams(self, L, predict=False):
        if _streaming.is_dask(L):
            return True
        if self.chunk_rows is None:
            return False
        if isinstance(self.chunk_rows, Integral):
            return True
        shape = getattr(L, "shape", None)
        if shape is None or len(shape) != 2:
            return False
        if predict and _packable(L):
            # scoring packed dense blocks beats the one-hot route from here on
            return shape[0] * shape[1] > 2**18
        return shape[0] * shape[1] > 2**24

    def _may_pack(self, L):
        """Whether the fit may pack an in-memory ``L`` (see :meth:`fit`)."""
        if self.chunk_rows != "auto" or self._dependency_pairs():
            return False
        if not _packable(L) or L.ndim != 2 or L.shape[0] < 20_000:
            return False
        return L.shape[1] > 0 and self._cardinality <= 127

    def _packing_pays(self, L):
        """Whether a pass over packed ``L`` costs less than over its one-hot.

        A packed pass costs about ``n_groups * (k - 1)`` lookups and counts
        per row, a one-hot pass about ``k`` per vote. Measured fits at 2e4 to
        3e5 rows and 20 to 100 sources: from 1e5 rows packed was faster
        wherever ``votes * k`` reached half of ``n * n_groups * (k - 1)``
        (0.60-0.83x the time at 0.58-0.96 of it, 1.2-1.5x at 0.24-0.29);
        at 2e4 rows, where fixed costs weigh more, it took 1.06-1.6x the
        time up to 0.96 of it, so there the votes' side must be the larger.
        """
        k = self._cardinality
        n = L.shape[0]
        _, _, n_groups = _streaming.pack_plan(L.shape[1], k)
        share = 0.5 if n >= 100_000 else 1.0
        return _n_votes(L) * k >= share * n * n_groups * (k - 1)

    def _block_rows(self, m, entries=2**21):
        if isinstance(self.chunk_rows, Integral):
            return int(self.chunk_rows)
        # at most 65,536 rows: a block's (k, rows) work arrays stay in cache
        return max(1, min(entries // max(m, 1), 2**16))

    def _spec(self, m):
        names = getattr(self, "feature_names_in_", None)
        spec = {
            "k": self._cardinality,
            "m": m,
            "names": None if names is None else list(names),
        }
        if hasattr(self, "_log_w"):
            spec["log_w"] = self._log_w.reshape(m * self._cardinality, -1)
        return spec

    def _sum_blocks(self, L, func, gold=None, sample_weight=None, **kwargs):
        """Sum ``func(block, spec, ..., start=, gold=)`` over every row block.

        ``L`` is a label matrix or a list of packed blocks
        (:func:`_streaming.pack_matrix`, which carry their row weights). The
        block results are added in block order as they come, so memory holds
        a running total rather than one result per block. With
        ``sample_weight``, ``func`` also gets the block's rows' weights as
        ``weight=``.
        """
        if isinstance(L, list):
            spec = self._spec(self.n_features_in_)
            starts = np.cumsum([0] + [block.idx.shape[1] for block in L[:-1]])
            blocks = zip(starts, L, strict=True)
            return self._run_blocks(func, spec, blocks, gold, kwargs)
        spec = self._spec(L.shape[1])
        if _streaming.is_dask(L):
            import dask

            L = L.rechunk({1: -1})
            starts = np.concatenate([[0], np.cumsum(L.chunks[0])[:-1]])
            tasks = []
            for block, start, size in zip(
                L.to_delayed().ravel(), starts, L.chunks[0], strict=True
            ):
                rows = slice(start, start + size)
                if sample_weight is not None:
                    kwargs = {**kwargs, "weight": sample_weight[rows]}
                task = dask.delayed(_streaming.ReleasingScratch(func))(
                    block,
                    spec,
                    start=int(start),
                    gold=None if gold is None else gold[rows],
                    **kwargs,
                )
                tasks.append(task)
            # add the block results up on the workers, in a binary tree, so
            # that one result (not one per block) comes back
            while len(tasks) > 1:
                pairs = [tasks[i : i + 2] for i in range(0, len(tasks), 2)]
                tasks = [dask.delayed(_streaming.sum_results)(pair) for pair in pairs]
            return dask.compute(tasks[0])[0]
        size = self._block_rows(L.shape[1])
        blocks = _streaming.iter_blocks(L, size)
        return self._run_blocks(func, spec, blocks, gold, kwargs, sample_weight)

    def _run_blocks(self, func, spec, blocks, gold, kwargs, sample_weight=None):
        """Sum of ``func`` over ``(start, block)`` pairs, run in ``n_jobs``
        threads and added in block order; with ``sample_weight``, ``func``
        gets the block's rows' weights as ``weight=``."""

        def run(item):
            start, block = item
            size = block.shape[0] if hasattr(block, "shape") else block.idx.shape[1]
            part = None if gold is None else gold[start : start + size]
            if sample_weight is None:
                return func(block, spec, start=int(start), gold=part, **kwargs)
            weight = sample_weight[start : start + size]
            return func(
                block, spec, start=int(start), gold=part, weight=weight, **kwargs
            )

        total = {}

        def add(result):
            nonlocal total
            if result is not None:
                total = _streaming.sum_results([total, result])

        n_jobs = effective_n_jobs(self.n_jobs)
        if n_jobs == 1:
            for item in blocks:
                add(run(item))
            return total
        _streaming.prepare_tables(spec)  # once, not in every thread
        pending = deque()
        with ThreadPoolExecutor(n_jobs) as pool:
            # a few blocks in flight at a time: slicing a sparse or pandas
            # block copies it, so submitting every block at once would not
            for item in blocks:
                pending.append(pool.submit(run, item))
                if len(pending) >= 2 * n_jobs:
                    add(pending.popleft().result())
            for future in pending:
                add(future.result())
        return total

    def _moments(self, L, m, gold, sample_weight=None, whole=True):
        """Block moments of ``L`` summed and resolved into tallies
        (``whole``: every row weight is a whole number)."""
        total = self._sum_blocks(
            L, _streaming.block_moments, gold=gold, sample_weight=sample_weight
        )
        return _streaming.resolve_moments(total, m, self._cardinality, whole)

    def _pass(self, L, m, gold, p, refine, moments, sample_weight=None):
        """One E-step over every block of ``L``, summed and resolved."""
        total = self._sum_blocks(
            L,
            _streaming.block_pass,
            gold=gold,
            sample_weight=sample_weight,
            p=p,
            refine=refine,
        )
        k = self._cardinality
        return _streaming.resolve_pass(
            total, m, k, moments, self._log_w.reshape(m, k, k)
        )

    def _init_stream_state(self, m, tot, n):
        k = self._cardinality
        tot = tot.reshape(m, k)
        polarity = (tot > 0).sum(axis=1)
        if self.coverage == "auto":
            self.coverage_independent_ = polarity >= 2
        else:
            self.coverage_independent_ = np.full(m, self.coverage == "independent")
        prior = np.full((k, k), (1.0 - self.prec_init) / (k - 1))
        np.fill_diagonal(prior, self.prec_init)
        self._prior = prior
        self._in_comp = np.zeros(m, dtype=bool)
        self._codes_train, self._comp_tables = [], []
        self.dependency_components_ = []
        self.coverages_ = tot.sum(axis=1) / n
        return tot

    def _fit_streaming(self, L, n, m, gold, p_given, packed=None, sample_weight=None):
        k = self._cardinality
        # Dense integer votes are packed once (and duplicate rows merged) so
        # that every pass reads small group indices instead of L.
        if packed is None:
            packed = _streaming.pack_matrix(
                L,
                k,
                self._block_rows(m),
                merge=gold is None,
                n_jobs=effective_n_jobs(self.n_jobs),
                sample_weight=sample_weight,
            )
        whole = _whole(sample_weight)
        if sample_weight is not None:
            n = sample_weight.sum()
        if packed is not None:
            L, sample_weight = packed, None  # the packed blocks carry it
        # the source factors of an earlier fit (maybe of other sources) have
        # no part in this fit
        self.__dict__.pop("_log_w", None)
        stats = self._moments(L, m, gold, sample_weight, whole)
        tot = self._init_stream_state(m, stats["tot"], n)
        # a copy: EM updates self._cnt in place, and partial_fit calls after
        # this fit go on from the moment tallies kept in stats
        self._set_factors(stats["cnt"].copy(), stats["q_sum"])
        n_info = stats["n_info"]
        gold_counts = stats["gold_counts"]
        p = p_given if p_given is not None else (stats["q_sum"] + 1.0) / (n_info + k)
        update = None
        if self.method == "auto":
            update = self.coverage_independent_.copy()
        refine = self.method == "em" or (update is not None and update.any())
        self.loss_history_, self.converged_ = [], False
        for it in range(1, self.max_iter + 1):
            res = self._pass(L, m, gold, p, refine, stats, sample_weight)
            nll = res["nll"] - float(gold_counts @ np.log(p))
            loss = self._record_loss(it, nll, n_info)
            if p_given is not None and not refine:
                self.converged_ = True
                break
            if refine:
                new_p = (
                    p if p_given is not None else (res["q_sum"] + 1.0) / (n_info + k)
                )
                self._set_factors(res["cnt"], res["q_sum"], update)
                p = new_p
                if len(self.loss_history_) > 1 and abs(
                    self.loss_history_[-2] - loss
                ) <= self.tol * max(1.0, abs(loss)):
                    self.converged_ = True
                    break
            else:
                c = gold_counts + 1.0
                new_p = self._newton_from(p, res["g"], res["H"], c)
                if new_p is None:
                    new_p = (p * res["g"] + c) / (n_info + k)
                delta = np.max(np.abs(new_p - p))
                p = new_p
                if delta <= self.tol:
                    self.converged_ = True
                    break
        self._keep_moments(stats, p)
        return self._finish_fit(p, tot, n)

    @restore_on_error
    def partial_fit(self, L, y=None, classes=None, sample_weight=None):
        """Add a block of rows to the statistics and refit the parameters.

        The source parameters come in closed form from the statistics summed
        over every block seen (the moment estimate of ``method="moments"``), so
        any split of the rows into blocks gives the same source parameters as
        one ``fit(method="moments")``. The class balance is updated online:
        each block's posterior class counts under the current parameters are
        added up, which approximates the batch maximum-likelihood balance.

        After :meth:`fit` (without ``dependencies``), ``partial_fit`` goes on
        from the statistics of the rows given to ``fit``, starting from its
        class balance; the source parameters then become the moment estimate
        over all rows seen. :meth:`fit` starts afresh, dropping statistics
        collected by earlier ``partial_fit`` calls. Likewise, where
        ``class_balance`` was given to earlier calls and is then set to None
        (``set_params``), the online balance starts from the given one. A
        call that raises, on a bad block or broken off part-way, leaves the
        model as it was before the call.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame, dask array} of shape \
                (n_block, n_sources)
            A block of rows of the label matrix.
        y : array-like of shape (n_block,), default=None
            Optional gold labels for the block, ``-1`` for unlabeled rows.
        classes : array-like, default=None
            Accepted for scikit-learn's incremental-learning API; the classes
            are always ``range(cardinality)``, so any given ones must lie there
            (or be ``-1``, the mark of unlabeled rows that ``np.unique(y)`` of
            semi-supervised labels holds, as ``learning_curve`` passes it).
            With ``cardinality=2``, classes holding -1 and 1 but no 0 (the
            look of binary labels coded -1/+1) warn, as :meth:`fit` does.
        sample_weight : array-like of shape (n_block,), default=None
            Non-negative weight of each row of the block, read as a count as
            in :meth:`fit`; ``None`` weighs every row 1.

        Returns
        -------
        self : LabelModel
        """
        # a call that raises part-way (a bad block, a pass over the rows that
        # a dask graph or Ctrl-C breaks off) leaves the model as it was, so
        # that later calls go on from the earlier ones alone
        L, frame = _streaming.read_input(L)
        first = not hasattr(self, "_partial_stats")
        k = self._cardinality
        # -1 marks unlabeled rows in y, so np.unique(y) may hold it
        if classes is not None and np.setdiff1d(classes, np.arange(-1, k)).size:
            raise ValueError(
                f"classes={np.asarray(classes).tolist()} must lie in 0..{k - 1} "
                f"(cardinality={k}), or be -1 for unlabeled rows."
            )
        if classes is not None and k == 2 and plus_minus_one_rows(np.asarray(classes)):
            # np.unique(y) of all the rows: fit warns for the same y, and a
            # block's y alone may lack class 0 by chance (no warning there)
            warnings.warn(
                f"classes={np.asarray(classes).tolist()} holds -1 and 1 but no "
                "0: -1 marks a row without a gold label, not the negative class, "
                "so the rows with y == -1 are left out. If y encodes the two "
                "classes as -1 and +1, pass (y + 1) // 2 and classes=[0, 1].",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        # every call, not the first only: each call refits the parameters
        # from the statistics, with the hyper-parameters of the moment
        self._validate_params()
        if self.prec_init <= 1.0 / k:
            raise ValueError(f"prec_init={self.prec_init} must exceed 1 / cardinality.")
        if first:
            # a fit with dependencies keeps no statistics: start afresh
            self.__dict__.pop("_log_w", None)
        if self._dependency_pairs():
            raise ValueError("partial_fit does not support dependencies.")
        if not first and len(self.classes_) != k:
            raise ValueError(
                f"cardinality={k} differs from the {len(self.classes_)} classes of "
                "the earlier partial_fit calls; call fit, or partial_fit on a new "
                "model, to change it."
            )
        p_given = self._given_balance()
        check_block_input(L)
        n, m = L.shape
        if not first and m != self.n_features_in_:
            raise ValueError(
                f"X has {m} features, but LabelModel is expecting "
                f"{self.n_features_in_} features as input."
            )
        validate_data(self, frame, reset=first, skip_check_array=True)
        # (a block may lack class 0 by chance: no -1/+1 warning)
        gold = check_gold_labels(y, n, k, whole=False, advice=_DEV_SET_ADVICE)
        if sample_weight is not None:
            sample_weight = self._check_weights(sample_weight, L)
            seen = 0.0 if first else self._partial_stats["n"]
            block = sample_weight.sum()
            with np.errstate(over="ignore"):
                running = seen + block
            if not np.isfinite(running):
                raise ValueError(
                    f"The weights of the rows seen so far ({seen}) and of this "
                    f"block ({block}) sum past the float64 range; "
                    "the weights are read as counts, so pass smaller weights."
                )
        whole = _whole(sample_weight)
        stats = self._moments(L, m, gold, sample_weight, whole)
        # this block's pattern counts, for its pass below (not summed over calls)
        patterns = {
            key: stats.pop(key)
            for key in ("packed_tot", "free_patterns")
            if key in stats
        }
        if first:
            self.classes_ = np.arange(k)
            self._partial_stats = stats
            self._partial_post = np.zeros(k)
            self.loss_history_ = []
        else:
            self._partial_stats = _streaming.sum_results([self._partial_stats, stats])
        total = self._partial_stats
        tot = self._init_stream_state(m, total["tot"], total["n"])
        self._set_factors(total["cnt"], total["q_sum"])
        if p_given is not None:
            p = p_given
            # the posterior class counts that give this balance, as after a
            # fit with a given class_balance, so that a later call without
            # one goes on from it (counting none for this block left the
            # balance of such a call summing to less than 1)
            self._partial_post = p * (total["n_info"] + k) - total["gold_counts"] - 1.0
        else:
            # a first call starts afresh: a class_balance_ left by an earlier
            # fit (one that raised, or one with dependencies) is not its own
            p = None if first else self.class_balance_
            if p is None:
                p = (total["q_sum"] + 1.0) / (total["n_info"] + k)
            res = self._pass(L, m, gold, p, False, patterns, sample_weight)
            # (new objects, not in-place updates: partial_fit keeps the old
            # ones to restore should this call raise)
            self._partial_post = self._partial_post + p * res["g"]
            # the block's gold rows add -log P(y_gold), as in fit
            nll = res["nll"] - float(stats["gold_counts"] @ np.log(p))
            self.loss_history_ = [
                *self.loss_history_,
                nll / max(stats["n_info"], 1),
            ]
            p = (self._partial_post + total["gold_counts"] + 1.0) / (
                total["n_info"] + k
            )
        self.class_balance_ = p
        self.n_iter_ = len(self.loss_history_)
        self.converged_ = False
        self._set_public_params(tot, total["n"])
        del self._codes_train
        return self

    @staticmethod
    def _newton_from(p, g_data, H_data, c):
        """One constrained Newton step from data gradient and Hessian sums."""
        k = len(p)
        g = g_data + c / p
        H = -H_data - np.diag(c / p**2)
        kkt = np.zeros((k + 1, k + 1))
        kkt[:k, :k] = H
        kkt[:k, k] = kkt[k, :k] = 1.0
        try:
            d = np.linalg.solve(kkt, np.concatenate([-g, [0.0]]))[:k]
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(d)):
            return None
        shrinking = d < 0
        step = 1.0
        if shrinking.any():
            step = min(1.0, 0.9 * np.min(-p[shrinking] / d[shrinking]))
        new_p = p + step * d
        return new_p / new_p.sum()

    @classmethod
    def _newton_balance(cls, p, E, inv, c, inv_w=None):
        """Newton step for the balance maximizing
        ``sum_i w_i log(E[:, i] @ p) + sum_y c_y log p_y`` on the simplex,
        where ``inv = 1 / (p @ E)`` and ``inv_w = w * inv`` (None: all
        ``w_i = 1``).

        Returns None where the step is not usable; the caller then takes the
        fixed-point (EM) step, which has the same maximizer.
        """
        if inv_w is None:
            return cls._newton_from(p, E @ inv, (E * inv**2) @ E.T, c)
        return cls._newton_from(p, E @ inv_w, (E * (inv * inv_w)) @ E.T, c)

    def _estimate_factors(self, A, Q, update=None, comp_update=None):
        """Source log-factors ``log P(lambda_j = a | y)`` up to y-free constants.

        ``update`` (bool mask over sources) re-estimates only those sources and
        keeps the others as they are; ``comp_update`` does the same for the
        dependency groups.
        """
        cnt = np.asarray(A.T @ Q)
        q_sum = Q.sum(axis=0)  # rows outside `informative` are zero
        self._set_factors(cnt, q_sum, update)
        k, s = self._cardinality, self.prior_strength
        q_tot = q_sum + s
        if update is None:
            self._comp_tables = [None] * len(self._codes_train)
            comp_update = [True] * len(self._codes_train)
        for i, codes in enumerate(self._codes_train):
            if not comp_update[i]:
                continue
            size = (k + 1) ** len(codes[1])
            table = np.stack(
                [
                    np.bincount(codes[0], weights=Q[:, y], minlength=size)
                    for y in range(k)
                ],
                axis=1,
            )
            table = np.log(table + s * (q_tot / q_tot.sum())) - np.log(q_tot)
            table[0] = 0.0  # the whole group abstains: no evidence
            self._comp_tables[i] = table

    def _set_factors(self, cnt, q_sum, update=None):
        """Source log-factors from the tallies ``cnt = A.T @ Q`` and ``sum_i Q``."""
        k, m = self._cardinality, self.n_features_in_
        s = self.prior_strength
        cnt = cnt.reshape(m, k, k)
        q_tot = q_sum + s
        # Class-conditional coverage: P(vote a | y) proportional to
        # cnt[j, a, y] / sum_i Q[i, y]; the prior pseudo-counts spread s votes
        # as a source of accuracy prec_init would.
        prior_cc = self._prior * q_tot[None, :]
        prior_cc = s * (prior_cc / prior_cc.sum(axis=1, keepdims=True))
        log_cc = np.log(cnt + prior_cc[None]) - np.log(q_tot)[None, None, :]
        # Class-independent coverage: confusion matrix given that j voted.
        conf = cnt + s * self._prior[None]
        conf = conf / conf.sum(axis=1, keepdims=True)
        log_w = np.where(
            self.coverage_independent_[:, None, None], np.log(conf), log_cc
        )
        log_w[self._in_comp] = 0.0
        if update is not None:
            self._log_w[update] = log_w[update]
            self._conf[update] = conf[update]
            self._cnt[update] = cnt[update]
            return
        self._log_w = log_w
        self._conf = conf
        self._cnt, self._q_tot = cnt, q_tot

    def _component_codes(self, rows, cols, vals, n, comp):
        k = self._cardinality
        code = np.zeros(n, dtype=np.int64)
        for t, j in enumerate(comp):
            sel = cols == j
            code[rows[sel]] += (vals[sel] + 1) * (k + 1) ** t
        return code, comp

    def _scores(self, A, codes):
        k, m = self._cardinality, self.n_features_in_
        S = np.asarray(A @ self._log_w.reshape(m * k, k))
        for (code, _), table in zip(codes, self._comp_tables, strict=True):
            S = S + table[code]
        return S

    def _set_public_params(self, tot, n):
        k, m = self._cardinality, self.n_features_in_
        p = self.class_balance_
        mu = np.zeros((m, k + 1, k))
        # Class-conditional sources: P(vote a | y) = cnt[j, a, y] / (n * P(y))
        # with the prior's pseudo-counts of the factors predict_proba uses
        # (see _set_factors), rescaled so that the marginal vote rates match
        # the observed ones.
        prior_cc = self._prior * self._q_tot[None, :]
        prior_cc = self.prior_strength * (
            prior_cc / prior_cc.sum(axis=1, keepdims=True)
        )
        share = self._cnt + prior_cc[None]
        cc = share / self._q_tot[None, None, :]
        marg = (cc * p[None, None, :]).sum(axis=2)  # implied P(vote a), unscaled
        scale = np.where(marg > 0, (tot / n) / np.maximum(marg, 1e-300), 0.0)
        cc = cc * scale[:, :, None]
        ind = self.coverages_[:, None, None] * self._conf
        mu[:, 1:, :] = np.where(self.coverage_independent_[:, None, None], ind, cc)
        over = mu[:, 1:, :].sum(axis=1)
        mu[:, 1:, :] /= np.maximum(over, 1.0)[:, None, :]
        mu[:, 0, :] = np.clip(1.0 - mu[:, 1:, :].sum(axis=1), 0.0, 1.0)
        self.cond_probs_ = mu
        # classes each source voted in training (cond_probs_ carries the
        # prior's pseudo-counts, so it is positive for every class)
        self._voted = np.asarray(tot).reshape(m, k) > 0
        votes = mu[:, 1:, :]
        hit = np.einsum("jyy,y->j", votes, p)
        vote_rate = np.einsum("jay,y->j", votes, p)
        self.accuracies_ = np.where(
            vote_rate > 0, hit / np.maximum(vote_rate, 1e-300), np.nan
        )

    # -------------------------------------------------------------- predict
    def predict_proba(self, L):
        """Posterior class probabilities for each row of ``L``.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame, dask array} of shape \
                (n_samples, n_sources)
            Votes, with the sources in the order seen in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, cardinality)
            Rows sum to 1; rows on which every source abstains equal
            ``class_balance_``. For a dask ``L`` (without ``dependencies``),
            a lazy dask array with ``L``'s row chunks.
        """
        check_is_fitted(self)
        L, frame = _streaming.read_input(L, lengths=False)
        if self._streams(L, predict=True) and not self.dependency_components_:
            check_block_input(L)
            if L.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {L.shape[1]} features, but LabelModel is expecting "
                    f"{self.n_features_in_} features as input."
                )
            validate_data(self, frame, reset=False, skip_check_array=True)
            spec = self._spec(L.shape[1])
            log_p = np.log(self.class_balance_)
            if _streaming.is_dask(L):
                L = L.rechunk({1: -1})
                return L.map_blocks(
                    _streaming.ReleasingScratch(_streaming.block_proba),
                    spec,
                    log_p,
                    dtype=np.float64,
                    chunks=(L.chunks[0], (self._cardinality,)),
                )
            out = np.empty((L.shape[0], self._cardinality))

            def fill(block, spec, start, gold):
                out[start : start + block.shape[0]] = _streaming.block_proba(
                    block, spec, log_p, start
                )

            # prediction keeps a block's scores in cache: smaller blocks
            size = self._block_rows(L.shape[1], entries=2**20)
            blocks = _streaming.iter_blocks(L, size)
            self._run_blocks(fill, spec, blocks, None, {})
            return out
        rows, cols, vals, (n, m) = self._validate_votes(L, reset=False)
        A = one_hot_votes(rows, cols, vals, (n, m), self._cardinality)
        codes = [
            self._component_codes(rows, cols, vals, n, c)
            for c in self.dependency_components_
        ]
        T = self._scores(A, codes) + np.log(self.class_balance_)
        return np.exp(T - logsumexp(T, axis=1, keepdims=True))

    def predict(self, L):
        """Most probable class for each row; exact ties go to the lowest class.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame, dask array} of shape \
                (n_samples, n_sources)
            Votes.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Values in ``classes_``; never ``-1``. A lazy dask array where
            :meth:`predict_proba` gives one.
        """
        check_is_fitted(self)
        proba = self.predict_proba(L)
        if _streaming.is_dask(proba):
            return proba.argmax(axis=1)  # classes_ is arange(cardinality)
        return self.classes_[np.argmax(proba, axis=1)]

    def get_source_parameters(self):
        """Learned parameters per source, as a DataFrame indexed by source name.

        Returns
        -------
        params : pandas.DataFrame
            Columns ``polarity`` (the classes the source voted in the training
            rows), ``coverage``, ``accuracy`` and ``coverage_model``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_metal import LabelModel
        >>> L = np.array([[0, 0, 0], [1, 1, -1], [0, 0, 1], [1, -1, 1]])
        >>> LabelModel().fit(L).get_source_parameters().columns.tolist()
        ['polarity', 'coverage', 'accuracy', 'coverage_model']
        """
        check_is_fitted(self)
        voted = getattr(self, "_voted", None)
        if voted is None:  # a model pickled before the vote counts were kept
            voted = self.cond_probs_[:, 1:, :].sum(axis=2) > 0
        polarity = [tuple(np.flatnonzero(v).tolist()) for v in voted]
        return pd.DataFrame(
            {
                "polarity": polarity,
                "coverage": self.coverages_,
                "accuracy": self.accuracies_,
                "coverage_model": np.where(
                    self.coverage_independent_, "independent", "class_conditional"
                ),
            },
            index=pd.Index(self._source_names(), name="source"),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags
