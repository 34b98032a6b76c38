"""Abstain-aware summaries of a label matrix: polarity, coverage, overlaps, conflicts.

Every function reads ``L`` once through
:func:`~sklearn_metal._validation.check_label_matrix` and works on its
non-abstain votes ``(rows, cols, values)``; a sparse ``L`` is never densified
and no ``(n_samples, n_sources * k)`` one-hot matrix is built.
"""

from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from ._streaming import is_dask
from ._validation import (
    _number,
    check_gold_labels,
    check_label_matrix,
    frame_to_pandas,
)

__all__ = [
    "lf_conflicts",
    "lf_coverages",
    "lf_empirical_accuracies",
    "lf_overlaps",
    "lf_polarities",
    "lf_summary",
    "plot_calibration",
    "plot_lf_summary",
]


def _infer_cardinality(a):
    """Largest finite value in ``a`` plus one, at least 2.

    Used only to validate ``L`` (and ``y``) when no cardinality is given; input
    that cannot be read as numbers gets 2, and :func:`check_label_matrix` or
    :func:`check_gold_labels` then reports what is wrong with it.
    """
    try:
        if sp.issparse(a):
            values = sp.coo_matrix(a).data
        elif hasattr(a, "iloc"):
            values = a.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = np.asarray(a)
            if values.dtype.kind == "O":  # read as check_label_matrix reads it
                values = values.astype(np.float64)
    except (TypeError, ValueError):
        return 2
    if values.dtype == bool or values.dtype.kind not in "iuf":
        return 2
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    if values.size == 0:
        return 2
    top = values.max()
    if values.dtype.kind == "f":
        # not integers: numpy 1.x floors them in float64, where 2**61 + 1 rounds
        top = np.floor(top)
    return max(int(top) + 1, 2)


def _check_unsigned(L):
    """Raise a ValueError if ``L`` holds unsigned votes equal to their dtype's
    maximum: a ``-1`` (abstain) wrapped around, not a class."""
    if sp.issparse(L):
        columns = [(None, L.data)]
    elif hasattr(L, "iloc") and hasattr(L, "dtypes"):
        # nullable UInt columns too, read as their numpy dtype without the NA
        columns = [
            (
                name,
                L.iloc[:, j]
                .dropna()
                .to_numpy(dtype=np.dtype(getattr(dtype, "numpy_dtype", dtype))),
            )
            for j, (name, dtype) in enumerate(L.dtypes.items())
            if getattr(dtype, "kind", None) == "u"
        ]
    elif isinstance(L, np.ndarray):
        columns = [(None, L)]
    else:
        return
    for name, values in columns:
        if values.dtype.kind != "u" or values.size == 0:
            continue
        top = np.iinfo(values.dtype).max
        if values.max() == top:
            where = "" if name is None else f" column {name!r}"
            raise ValueError(
                f"Label matrix{where} has unsigned dtype {values.dtype} and holds "
                f"{top}, a wrapped -1: unsigned votes cannot hold -1 (abstain). "
                "Cast L to a signed integer dtype, e.g. L.astype(np.int8)."
            )


def _votes(L, cardinality, y=None, names=None):
    """Validated votes of ``L`` and the cardinality they were checked against."""
    L = frame_to_pandas(L)
    if is_dask(L):
        # read into memory whole: a dask array as an ndarray, a dask
        # DataFrame as a pandas one, keeping its column names
        L = L.compute()
    if (
        hasattr(L, "__array__")
        and not isinstance(L, np.ndarray)
        and not (sp.issparse(L) or hasattr(L, "iloc"))
    ):
        # a torch tensor: read once, with numpy's dtype, so its unsigned
        # votes are checked too
        L = np.asarray(L)
    if sp.issparse(L) and L.format in ("lil", "dok"):
        L = L.tocsr()  # (their ``data`` is not an array of the votes)
    _check_unsigned(L)
    if cardinality is not None:
        cardinality = int(cardinality)  # (numpy's small integers overflow)
    if cardinality is None:
        cardinality = _infer_cardinality(L)
        if y is not None:
            cardinality = max(cardinality, _infer_cardinality(y))
    return check_label_matrix(L, cardinality, names=names), cardinality


def _distinct_pairs(a, b):
    """The distinct pairs ``(a[i], b[i])``, sorted by ``a`` then ``b``.

    Pairs are encoded as ``a * span + b`` (``span = max(b) + 1``) where that
    fits in int64, and sorted as pairs otherwise, so a huge class ``b`` can
    neither overflow the key nor cost memory. The keys are sorted and their
    repeats dropped: ``np.unique`` (hash-based from numpy 2.3) took 14 s on
    the 6e6 ``(row, class)`` keys of a 1e6 x 20 ``L`` with 50 classes, where
    a sort takes 0.2 s.
    """
    if len(a) == 0:
        return a, b
    span = int(b.max()) + 1
    if int(a.max()) < 2**62 // span:
        keys = np.sort(a.astype(np.int64) * span + b)
        new = np.ones(len(keys), dtype=bool)
        new[1:] = keys[1:] != keys[:-1]
        return np.divmod(keys[new], span)
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    new = np.ones(len(a), dtype=bool)
    new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[new], b[new]


def _n_votes(rows, n_samples):
    """Number of votes per row."""
    return np.bincount(rows, minlength=n_samples)


def _n_classes(rows, vals, n_samples):
    """Number of distinct classes voted per row.

    Counted in an ``(n_samples, k)`` table where that is no bigger than a few
    times the votes (one pass, no sort), else from the distinct pairs.
    """
    span = int(vals.max()) + 1 if len(vals) else 1
    if n_samples * span <= 4 * len(rows) + 2**20:
        table = np.bincount(
            rows.astype(np.int64) * span + vals, minlength=n_samples * span
        )
        return np.count_nonzero(table.reshape(n_samples, span), axis=1)
    voted_rows, _ = _distinct_pairs(rows, vals)
    return np.bincount(voted_rows, minlength=n_samples)


def _row_stats(rows, vals, n_samples):
    """Per row: number of votes and number of distinct classes voted."""
    return _n_votes(rows, n_samples), _n_classes(rows, vals, n_samples)


def _polarities(cols, vals, n_sources):
    sources, classes = _distinct_pairs(cols, vals)
    splits = np.searchsorted(sources, np.arange(1, n_sources))
    return [tuple(c.tolist()) for c in np.split(classes, splits)]


def _per_source_fraction(cols, flags, n_samples, n_sources, normalize_by_coverage):
    """Fraction of rows where a source votes and ``flags`` holds for that vote."""
    hits = np.bincount(cols, weights=flags.astype(np.float64), minlength=n_sources)
    if not normalize_by_coverage:
        return hits / n_samples
    voted = np.bincount(cols, minlength=n_sources)
    return np.divide(hits, voted, out=np.zeros(n_sources), where=voted > 0)


def _gold_counts(rows, cols, vals, y, n_sources):
    """Per source: number of correct and of incorrect votes on labeled rows."""
    gold = y[rows]
    labeled = gold != -1
    cols, right = cols[labeled], vals[labeled] == gold[labeled]
    correct = np.bincount(cols[right], minlength=n_sources)
    incorrect = np.bincount(cols[~right], minlength=n_sources)
    return correct, incorrect


def _accuracy(correct, incorrect):
    total = correct + incorrect
    return np.divide(correct, total, out=np.full(len(total), np.nan), where=total > 0)


@validate_params(
    {
        "L": ["array-like", "sparse matrix"],
        "cardinality": [Interval(Integral, 2, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def lf_polarities(L, cardinality=None):
    """Classes each source votes, ignoring abstains.

    Parameters
    ----------
    L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
        Votes: ``-1`` abstains, ``0..k-1`` are classes. In a sparse matrix the
        unstored entries are abstains.
    cardinality : int, default=None
        Number of classes ``k``, used to validate ``L``. ``None`` takes the
        largest vote plus one (at least 2).

    Returns
    -------
    polarities : list of tuple of int
        For each source, the sorted classes it votes at least once; ``()`` for
        a source that never votes.

    See Also
    --------
    lf_summary : All per-source statistics in one DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.analysis import lf_polarities
    >>> L = np.array([[0, 0, -1], [1, 0, 1], [-1, 1, -1], [1, -1, 1]])
    >>> lf_polarities(L)
    [(0, 1), (0, 1), (1,)]
    """
    (_, cols, vals, (_, m)), k = _votes(L, cardinality)
    return _polarities(cols, vals, m)


@validate_params(
    {"L": ["array-like", "sparse matrix"]},
    prefer_skip_nested_validation=True,
)
def lf_coverages(L):
    """Fraction of rows on which each source votes.

    Parameters
    ----------
    L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
        Votes: ``-1`` abstains, ``0..k-1`` are classes. In a sparse matrix the
        unstored entries are abstains.

    Returns
    -------
    coverages : ndarray of shape (n_sources,)
        Number of non-abstain votes of each source divided by ``n_samples``.

    See Also
    --------
    lf_summary : All per-source statistics in one DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.analysis import lf_coverages
    >>> L = np.array([[0, 0, -1], [1, 0, 1], [-1, 1, -1], [1, -1, 1]])
    >>> lf_coverages(L)
    array([0.75, 0.75, 0.5 ])
    """
    (_, cols, _, (n, m)), _ = _votes(L, None)
    return np.bincount(cols, minlength=m) / n


@validate_params(
    {
        "L": ["array-like", "sparse matrix"],
        "normalize_by_coverage": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def lf_overlaps(L, normalize_by_coverage=False):
    """Fraction of rows where a source votes and at least one other source votes.

    Parameters
    ----------
    L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
        Votes: ``-1`` abstains, ``0..k-1`` are classes. In a sparse matrix the
        unstored entries are abstains.
    normalize_by_coverage : bool, default=False
        Divide by the number of rows the source votes on instead of
        ``n_samples``, giving the fraction of the source's own votes that
        overlap with another source.

    Returns
    -------
    overlaps : ndarray of shape (n_sources,)
        Overlap fraction of each source; 0 for a source that never votes.

    See Also
    --------
    lf_conflicts : Overlaps where another source votes a different class.
    lf_summary : All per-source statistics in one DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.analysis import lf_overlaps
    >>> L = np.array([[0, 0, -1], [1, 0, 1], [-1, 1, -1], [1, -1, 1]])
    >>> lf_overlaps(L)
    array([0.75, 0.5 , 0.5 ])
    >>> lf_overlaps(L, normalize_by_coverage=True).round(3)
    array([1.   , 0.667, 1.   ])
    """
    (rows, cols, vals, (n, m)), k = _votes(L, None)
    n_votes = _n_votes(rows, n)
    return _per_source_fraction(cols, n_votes[rows] > 1, n, m, normalize_by_coverage)


@validate_params(
    {
        "L": ["array-like", "sparse matrix"],
        "normalize_by_coverage": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def lf_conflicts(L, normalize_by_coverage=False):
    """Fraction of rows where a source votes and another source votes differently.

    A row counts for source ``j`` when ``j`` votes on it and at least one other
    source votes a different class (abstains never conflict).

    Parameters
    ----------
    L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
        Votes: ``-1`` abstains, ``0..k-1`` are classes. In a sparse matrix the
        unstored entries are abstains.
    normalize_by_coverage : bool, default=False
        Divide by the number of rows the source votes on instead of
        ``n_samples``, giving the fraction of the source's own votes that are
        contradicted by another source.

    Returns
    -------
    conflicts : ndarray of shape (n_sources,)
        Conflict fraction of each source; 0 for a source that never votes.

    See Also
    --------
    lf_overlaps : Rows where another source also votes, whatever the class.
    lf_summary : All per-source statistics in one DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.analysis import lf_conflicts
    >>> L = np.array([[0, 0, -1], [1, 0, 1], [-1, 1, -1], [1, -1, 1]])
    >>> lf_conflicts(L)
    array([0.25, 0.25, 0.25])
    >>> lf_conflicts(L, normalize_by_coverage=True).round(3)
    array([0.333, 0.333, 0.5  ])
    """
    (rows, cols, vals, (n, m)), k = _votes(L, None)
    n_classes = _n_classes(rows, vals, n)
    # The source votes one of the row's classes; another class means a conflict.
    return _per_source_fraction(cols, n_classes[rows] > 1, n, m, normalize_by_coverage)


@validate_params(
    {"L": ["array-like", "sparse matrix"], "y": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def lf_empirical_accuracies(L, y):
    """Accuracy of each source against gold labels, on the rows where it votes.

    Parameters
    ----------
    L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
        Votes: ``-1`` abstains, ``0..k-1`` are classes. In a sparse matrix the
        unstored entries are abstains.
    y : array-like of shape (n_samples,)
        Gold labels; rows with ``-1`` are unlabeled and ignored.

    Returns
    -------
    accuracies : ndarray of shape (n_sources,)
        Fraction of each source's votes on labeled rows that equal ``y``;
        ``nan`` for a source that votes on no labeled row.

    See Also
    --------
    lf_summary : All per-source statistics in one DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.analysis import lf_empirical_accuracies
    >>> L = np.array([[0, 0, -1], [1, 0, 1], [-1, 1, -1], [1, -1, 1]])
    >>> lf_empirical_accuracies(L, [0, 1, 1, -1]).round(3)
    array([1.   , 0.667, 1.   ])
    """
    (rows, cols, vals, (n, m)), k = _votes(L, None, y=y)
    y = check_gold_labels(y, n, k)
    return _accuracy(*_gold_counts(rows, cols, vals, y, m))


def _name_list(names):
    """``names`` as a list if it is one-dimensional, else None; tuples stay
    whole names (``np.ndim`` would read a list of tuples as 2-D)."""
    if isinstance(names, (list, tuple, pd.Index)):
        names = list(names)
        if any(isinstance(s, (list, np.ndarray)) for s in names):
            return None
        return names
    names = np.asarray(names, dtype=object)
    return list(names) if names.ndim == 1 else None


def _message_names(L, source_names, label_model):
    """Names for check_label_matrix's messages when L is not a DataFrame."""
    names = source_names
    if names is None:
        names = getattr(label_model, "feature_names_in_", None)
    shape = getattr(L, "shape", ())
    if names is None or hasattr(L, "iloc") or len(shape) != 2:
        return None
    names = _name_list(names)
    if names is None or len(names) != shape[1]:
        return None
    return [str(s) for s in names]


def _source_index(L, source_names, label_model, n_sources):
    """Source names: L's columns, else ``source_names``, else the model's."""
    df_names = list(L.columns) if hasattr(L, "iloc") else None
    given = None
    if source_names is not None:
        given = _name_list(source_names)
        if given is None or len(given) != n_sources:
            if given is None:
                given = list(np.asarray(source_names, dtype=object).ravel())
            raise ValueError(
                f"source_names has {len(given)} names (shape "
                f"{np.shape(source_names)}), but L has {n_sources} sources."
            )
    model_names = getattr(label_model, "feature_names_in_", None)
    if model_names is not None:
        model_names = list(model_names)
    # any two of the three name lists given must agree
    clashes = [
        (
            given,
            df_names,
            "source_names {a} differ from the column names of L {b}; "
            "pass one or the other.",
        ),
        (
            df_names,
            model_names,
            "The columns of L {a} differ from the sources the "
            "label_model was fitted on {b}; pass the sources in the same order.",
        ),
        (
            given,
            model_names,
            "source_names {a} differ from the sources the "
            "label_model was fitted on {b}; pass the sources in the same order, or "
            "leave source_names out to use the model's.",
        ),
    ]
    for a, b, message in clashes:
        if (
            a is not None
            and b is not None
            and [str(x) for x in a] != [str(x) for x in b]
        ):
            raise ValueError(message.format(a=a, b=b))
    for names in (df_names, given, model_names):
        if names is not None:
            # tupleize_cols=False keeps tuple names (a DataFrame's MultiIndex
            # columns) as labels of a flat index
            return pd.Index(list(names), tupleize_cols=False, name="source")
    return pd.Index([f"source_{j}" for j in range(n_sources)], name="source")


@validate_params(
    {
        "L": ["array-like", "sparse matrix"],
        "y": ["array-like", None],
        "label_model": [HasMethods(["fit", "predict_proba"]), None],
        "cardinality": [Interval(Integral, 2, None, closed="left"), None],
        "source_names": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def lf_summary(L, y=None, *, label_model=None, cardinality=None, source_names=None):
    """Per-source statistics of a label matrix, one row per source.

    Parameters
    ----------
    L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
        Votes: ``-1`` abstains, ``0..k-1`` are classes. In a sparse matrix the
        unstored entries are abstains. A DataFrame's column names name the
        sources.
    y : array-like of shape (n_samples,), default=None
        Gold labels, ``-1`` for unlabeled rows. When given, the summary adds
        the ``correct``, ``incorrect`` and ``empirical_accuracy`` columns.
    label_model : LabelModel, default=None
        A fitted label model over the same sources. When given, the summary
        adds its ``accuracies_`` as the ``learned_accuracy`` column.
    cardinality : int, default=None
        Number of classes ``k``, used to validate ``L`` and ``y``. ``None``
        takes ``label_model.cardinality`` if a model is given, else the
        largest vote in ``L`` plus one (at least 2); pass it when ``y`` names
        a class that no source votes.
    source_names : array-like of str of shape (n_sources,), default=None
        Names of the sources when ``L`` is not a DataFrame; with a DataFrame
        or a ``label_model`` that has ``feature_names_in_`` they must equal
        those names. ``None`` uses the model's ``feature_names_in_`` if it has
        them, else ``"source_0"``, ``"source_1"``, ...

    Returns
    -------
    summary : pandas.DataFrame of shape (n_sources, n_columns)
        Indexed by source name, with the columns

        - ``polarity``: sorted tuple of the classes the source votes
          (:func:`lf_polarities`);
        - ``coverage``: fraction of rows it votes on (:func:`lf_coverages`);
        - ``overlaps``: fraction of rows where it and another source vote
          (:func:`lf_overlaps`);
        - ``conflicts``: fraction of rows where another source votes a
          different class (:func:`lf_conflicts`);
        - ``correct``, ``incorrect``: its votes on labeled rows that match and
          that miss ``y``, and ``empirical_accuracy``, their ratio (``nan``
          without labeled votes), when ``y`` is given;
        - ``learned_accuracy``: ``label_model.accuracies_``, when
          ``label_model`` is given.

        A source that never votes gets polarity ``()`` and zero coverage,
        overlaps and conflicts.

    Raises
    ------
    ValueError
        If ``L`` or ``y`` holds an invalid value (a vote or gold label outside
        ``-1, 0..k-1``, named with its row), if their lengths differ, or
        if ``label_model`` (its number of sources, or its ``feature_names_in_``),
        ``source_names`` or the columns of ``L`` describe a different set of
        sources.

    See Also
    --------
    LabelModel.get_source_parameters : The learned parameters of each source.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal import lf_summary
    >>> L = np.array([[0, 0, -1], [1, 0, 1], [-1, 1, -1], [1, -1, 1]])
    >>> lf_summary(L, source_names=["a", "b", "c"])  # doctest: +NORMALIZE_WHITESPACE
           polarity  coverage  overlaps  conflicts
    source
    a        (0, 1)      0.75      0.75       0.25
    b        (0, 1)      0.75      0.50       0.25
    c          (1,)      0.50      0.50       0.25
    >>> summary = lf_summary(L, y=[0, 1, 1, -1])
    >>> cols = ["correct", "incorrect", "empirical_accuracy"]
    >>> summary[cols].round(3)  # doctest: +NORMALIZE_WHITESPACE
              correct  incorrect  empirical_accuracy
    source
    source_0        2          0               1.000
    source_1        2          1               0.667
    source_2        1          0               1.000
    >>> lf_summary(L, y=[0, 5, 1, -1])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: y holds the value 5 at row 1; expected -1 (unlabeled) or a class ...
    """
    L = frame_to_pandas(L)
    if label_model is not None:
        check_is_fitted(label_model)
        if not hasattr(label_model, "accuracies_"):
            raise ValueError(
                f"label_model is a fitted {type(label_model).__name__} without "
                "accuracies_; pass a fitted LabelModel."
            )
        model_k = getattr(label_model, "cardinality", None)
        if cardinality is None:
            cardinality = model_k
        elif model_k is not None and model_k != cardinality:
            raise ValueError(
                f"cardinality={cardinality}, but the label_model was fitted with "
                f"cardinality={model_k}."
            )
    # The gold labels are checked against k, not used to infer it: a label
    # that no source votes and that exceeds the cardinality is an error.
    (rows, cols, vals, (n, m)), k = _votes(
        L, cardinality, names=_message_names(L, source_names, label_model)
    )
    if label_model is not None and label_model.n_features_in_ != m:
        raise ValueError(
            f"L has {m} sources (columns), but the label_model was fitted on "
            f"{label_model.n_features_in_} sources."
        )
    index = _source_index(L, source_names, label_model, m)

    n_votes, n_classes = _row_stats(rows, vals, n)
    columns = {
        "polarity": _polarities(cols, vals, m),
        "coverage": np.bincount(cols, minlength=m) / n,
        "overlaps": _per_source_fraction(cols, n_votes[rows] > 1, n, m, False),
        "conflicts": _per_source_fraction(cols, n_classes[rows] > 1, n, m, False),
    }
    if y is not None:
        y = _check_gold_labels(y, n, k, inferred=cardinality is None)
        correct, incorrect = _gold_counts(rows, cols, vals, y, m)
        columns["correct"] = correct
        columns["incorrect"] = incorrect
        columns["empirical_accuracy"] = _accuracy(correct, incorrect)
    if label_model is not None:
        columns["learned_accuracy"] = np.asarray(
            label_model.accuracies_, dtype=np.float64
        )
    return pd.DataFrame(columns, index=index)


def _check_gold_labels(y, n_samples, cardinality, *, inferred):
    """:func:`check_gold_labels`, saying so when ``cardinality`` was inferred from L."""
    if not inferred:
        return check_gold_labels(y, n_samples, cardinality)
    # Every other check first, then the classes against the inferred cardinality.
    y = check_gold_labels(y, n_samples, max(cardinality, _infer_cardinality(y)))
    bad = y >= cardinality
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"y holds the value {y[i]} at row {i}; expected -1 (unlabeled) or a "
            f"class in 0..{cardinality - 1} (cardinality={cardinality}, inferred "
            "from the votes in L; pass cardinality when y names a class that no "
            "source votes)."
        )
    return y


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib: pip install 'sklearn_metal[plot]'."
        ) from exc
    return plt


@validate_params(
    {
        "L": ["array-like", "sparse matrix"],
        "y": ["array-like", None],
        "label_model": [HasMethods(["fit", "predict_proba"]), None],
        "cardinality": [Interval(Integral, 2, None, closed="left"), None],
        "ax": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def plot_lf_summary(L, y=None, *, label_model=None, cardinality=None, ax=None):
    """Bar chart of each source's coverage, overlaps, conflicts and accuracies.

    Parameters
    ----------
    L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
        Votes: ``-1`` abstains.
    y : array-like of shape (n_samples,), default=None
        Gold labels (``-1`` unlabeled); adds the empirical accuracy.
    label_model : LabelModel, default=None
        A fitted label model; adds its learned accuracy.
    cardinality : int, default=None
        Number of classes ``k``, as in :func:`lf_summary`.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.analysis import plot_lf_summary
    >>> ax = plot_lf_summary(np.array([[0, 1], [1, -1], [-1, 1]]))
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['coverage', 'overlaps', 'conflicts']
    """
    plt = _pyplot()
    table = lf_summary(L, y, label_model=label_model, cardinality=cardinality)
    columns = [
        c
        for c in (
            "coverage",
            "overlaps",
            "conflicts",
            "empirical_accuracy",
            "learned_accuracy",
        )
        if c in table
    ]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 0.5 * len(table)), 4))
    width = 0.8 / len(columns)
    x = np.arange(len(table))
    for i, column in enumerate(columns):
        ax.bar(x + i * width, table[column].to_numpy(), width, label=column)
    ax.set_xticks(x + 0.4 - width / 2)
    ax.set_xticklabels([str(s) for s in table.index], rotation=60, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction")
    ax.legend()
    return ax


@validate_params(
    {
        "y_true": ["array-like"],
        "proba": ["array-like"],
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "ax": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def plot_calibration(y_true, proba, *, n_bins=10, ax=None):
    """Reliability diagram: predicted probability against observed frequency.

    For binary problems the positive class's probability (column 1) is
    binned; for more classes, the probability of the predicted (argmax) class
    against its accuracy. Rows with ``y_true == -1`` (unlabeled) are left out.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Gold classes as column indices ``0..k-1`` of ``proba``, ``-1`` for
        unlabeled rows. Labels of another kind (strings, or classes that are
        not the column indices) must be encoded first, e.g. with
        ``np.searchsorted(model.classes_, y_true)`` for a scikit-learn
        classifier whose ``predict_proba`` columns follow ``classes_``.
    proba : array-like of shape (n_samples, k)
        Predicted probabilities (e.g. a label model's ``predict_proba``),
        with ``k >= 2``.
    n_bins : int, default=10
        Number of equal-width bins.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes
        Holds the diagonal (``perfect``) and the model's curve (``model``):
        for each non-empty bin, the mean predicted probability against the
        observed frequency on the labeled rows in it.

    Raises
    ------
    ValueError
        If ``y_true`` holds something other than ``-1`` or a column index of
        ``proba`` (named with its row), if it has no labeled row, or if the
        shapes of ``y_true`` and ``proba`` do not match.

    See Also
    --------
    sklearn.calibration.CalibrationDisplay : The same diagram for a binary
        classifier, with quantile bins as an option.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal.analysis import plot_calibration
    >>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    >>> ax = plot_calibration([0, 1, 0, -1], proba, n_bins=2)
    >>> ax.get_xlabel()
    'predicted probability'
    >>> ax.lines[1].get_ydata().tolist()  # observed frequency per bin
    [0.0, 1.0]
    """
    plt = _pyplot()
    y_true, proba = _check_calibration_input(y_true, proba)
    labeled = y_true != -1
    y_true, proba = y_true[labeled], proba[labeled]
    if proba.shape[1] == 2:
        conf, hit = proba[:, 1], (y_true == 1).astype(float)
    else:
        conf, hit = proba.max(axis=1), (proba.argmax(axis=1) == y_true).astype(float)
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    used = counts > 0
    mean_conf = np.bincount(which, weights=conf, minlength=n_bins)[used] / counts[used]
    freq = np.bincount(which, weights=hit, minlength=n_bins)[used] / counts[used]
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    ax.plot(mean_conf, freq, marker="o", label="model")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.legend()
    return ax


def _check_calibration_input(y_true, proba):
    """``y_true`` as int64 column indices of ``proba`` or -1, and float ``proba``."""
    y = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    if y.ndim != 1 or proba.ndim != 2 or proba.shape[0] != y.shape[0]:
        raise ValueError(
            "y_true must have shape (n_samples,) and proba (n_samples, k); got "
            f"shapes {y.shape} and {proba.shape}."
        )
    n, k = proba.shape
    if k < 2:
        raise ValueError(f"proba has {k} column; expected one per class, k >= 2.")
    if not np.all(np.isfinite(proba)):
        row = np.flatnonzero(~np.isfinite(proba).all(axis=1))[0]
        raise ValueError(f"proba holds a non-finite value at row {row}.")
    outside = (proba < 0) | (proba > 1)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise ValueError(
            f"proba holds {proba[row, col]:g} at row {row}, column {col}; "
            "probabilities lie in [0, 1]."
        )
    if y.dtype.kind == "O":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            pass
    if y.dtype == bool or y.dtype.kind not in "iuf":
        example = f" (e.g. {str(y[0])!r})" if n else ""
        raise ValueError(
            f"y_true holds labels of dtype {y.dtype}{example}; "
            "plot_calibration needs class indices 0..k-1 matching the columns "
            "of proba, or -1 for unlabeled rows. Encode the labels first, e.g. "
            "np.searchsorted(model.classes_, y_true) for a classifier whose "
            "predict_proba columns follow classes_."
        )
    bad = ~np.isin(y, np.arange(-1, k))
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"y_true holds the value {_number(y[i])} at row {i}; expected -1 "
            f"(unlabeled) or a column index of proba in 0..{k - 1}."
        )
    y = y.astype(np.int64)
    if not np.any(y != -1):
        raise ValueError(
            "y_true has no labeled row (every value is -1); the observed "
            "frequencies need gold labels."
        )
    return y, proba
