"""Labeling functions and the transformer that applies them to raw rows."""

import functools
import keyword
import numbers
import sys
import types
import warnings
from collections.abc import Mapping, Set

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from ._atomic import restore_on_error
from ._validation import frame_to_pandas

__all__ = ["LFApplier", "LabelingFunction", "labeling_function"]


class LabelingFunction:
    """A named function that votes a class (``0..k-1``) or abstains (``-1``).

    Parameters
    ----------
    name : str
        Name of the labeling function; it names the column of ``L``.
    f : callable
        ``f(x, **resources) -> int``, called on one (preprocessed) row; a
        return of ``None`` is read as ``-1`` (abstain) by :class:`LFApplier`.
    resources : dict, default=None
        Keyword arguments passed to ``f`` on every call (word lists, models).
    pre : list of callable, default=None
        Preprocessors applied in order to the row before ``f``: ``x = p(x)``.
        :class:`LFApplier` passes DataFrame rows as read-only namedtuples, so
        a preprocessor that adds a field returns a new row rather than setting
        an attribute, e.g.
        ``types.SimpleNamespace(**x._asdict(), n_words=len(x.text.split()))``.

    Notes
    -----
    A labeling function pickles by value: its name, resources and
    preprocessors are stored, and ``f`` the way pickle stores functions, by
    reference to its module and qualified name. Module-level functions (and
    functions decorated with :func:`labeling_function`) therefore pickle with
    the standard :mod:`pickle` and :mod:`joblib`; lambdas and local functions
    need ``cloudpickle``, as they would on their own.

    Examples
    --------
    >>> from sklearn_metal.labeling import LabelingFunction
    >>> lf = LabelingFunction("has_link", lambda x: 1 if "http" in x else -1)
    >>> lf("see http://spam"), lf("nice song")
    (1, -1)
    """

    def __init__(self, name, f, resources=None, pre=None):
        if not isinstance(name, str) or not name:
            raise ValueError(
                f"A labeling function needs a non-empty name, got {name!r}."
            )
        if not callable(f):
            raise ValueError(f"Labeling function {name!r}: f must be callable.")
        self.name = name
        self.f = f
        self.resources = dict(resources or {})
        self.pre = list(pre or [])

    def __call__(self, x):
        for p in self.pre:
            x = p(x)
        return self.f(x, **self.resources)

    def __repr__(self):
        return f"LabelingFunction({self.name!r})"

    def __reduce_ex__(self, protocol):
        qualname = self.__dict__.get("__qualname__")
        module = self.__dict__.get("__module__")
        if qualname and _lookup(module, qualname) is self:
            # Protocols 0-3 save a function renamed ``<name>.f`` as
            # ``getattr(<this object>, "f")``: this object must then be saved
            # by reference, as saving it by value would save ``f`` again.
            if protocol < 4:
                return qualname
            # ``f = labeling_function()(f)`` bound the function's name to this
            # object after decoration: point pickle to ``<name>.f`` now.
            f = self.f
            if (
                isinstance(f, types.FunctionType)
                and f.__module__ == module
                and f.__qualname__ == qualname
            ):
                f.__qualname__ = f"{qualname}.f"
        return super().__reduce_ex__(protocol)


def labeling_function(name=None, resources=None, pre=None):
    """Decorator that turns a function into a :class:`LabelingFunction`.

    Parameters
    ----------
    name : str, default=None
        Name of the labeling function; the function's ``__name__`` when None.
    resources : dict, default=None
        Keyword arguments passed to the function on every call.
    pre : list of callable, default=None
        Preprocessors applied to the row first.

    Returns
    -------
    decorator : callable
        Wraps a function ``f(x, **resources) -> int`` into a ``LabelingFunction``.

    Notes
    -----
    The decorated name is bound to the ``LabelingFunction``, which hides the
    original function from pickle's lookup by module and qualified name. The
    decorator therefore appends ``.f`` to the function's ``__qualname__``
    (``keyword_subscribe.f``), the path through which pickle finds it again, so
    that a decorated module-level function, and every estimator holding it,
    pickles with the standard :mod:`pickle` and :mod:`joblib`, in ``__main__``
    too. A function that is still bound under its own name keeps its
    ``__qualname__`` until that name is bound to the ``LabelingFunction``, as
    by ``f = labeling_function()(f)``: the ``LabelingFunction`` renames it
    when it is pickled. Lambdas and local functions keep their
    ``__qualname__``.

    Examples
    --------
    >>> from sklearn_metal.labeling import labeling_function
    >>> @labeling_function(resources={"words": ["subscribe"]})
    ... def keyword_subscribe(x, words):
    ...     return 1 if any(w in x.lower() for w in words) else -1
    >>> keyword_subscribe.name, keyword_subscribe("Please SUBSCRIBE")
    ('keyword_subscribe', 1)
    >>> keyword_subscribe.f.__qualname__
    'keyword_subscribe.f'
    """

    def decorate(f):
        lf_name = getattr(f, "__name__", None) if name is None else name
        if lf_name is None:
            raise ValueError(
                f"{f!r} has no __name__ (a functools.partial or a callable "
                "object): give the labeling function one with name=."
            )
        lf = LabelingFunction(lf_name, f, resources=resources, pre=pre)
        functools.update_wrapper(lf, f, updated=())
        _reference_through_wrapper(f)
        return lf

    return decorate


def _lookup(module_name, qualname):
    """The object at ``qualname`` in the imported module ``module_name``, or None."""
    obj = sys.modules.get(module_name)
    for attr in qualname.split("."):
        if obj is None:
            return None
        obj = getattr(obj, attr, None)
    return obj


def _reference_through_wrapper(f):
    """Let pickle find ``f`` as ``<its name>.f`` once the decorator shadows it.

    ``@labeling_function()`` binds the function's name to the wrapper, so the
    lookup pickle uses for functions (module, then ``__qualname__``) finds the
    ``LabelingFunction`` instead of ``f`` and fails. Through the wrapper's
    ``f`` attribute the lookup finds ``f`` again, in any module, ``__main__``
    included, with any pickle protocol; cloudpickle keeps pickling functions of
    ``__main__`` by value. A function still bound under its own name
    (``labeling_function()(existing)``) is left alone here; should that name
    later be bound to the wrapper (``f = labeling_function()(f)``),
    :meth:`LabelingFunction.__reduce_ex__` renames it at pickle time. Lambdas
    and local functions, which pickle cannot find by name anyway, are left
    alone.
    """
    qualname = getattr(f, "__qualname__", None)
    if not isinstance(f, types.FunctionType) or not qualname or "<" in qualname:
        return
    if _lookup(f.__module__, qualname) is f:
        return
    f.__qualname__ = f"{qualname}.f"


class _FrameRow(tuple):
    """A DataFrame row whose fields are read by position or by column name.

    pandas' namedtuples rename columns that are not Python identifiers
    (``"my text"`` becomes ``_1``); these rows keep every name, for
    ``getattr(x, "my text")`` as for ``x.text``. As in a namedtuple, a column
    wins over a tuple method of the same name (``x.count``, ``x.index``);
    only dunder names (``__len__``) keep their Python meaning.
    """

    __slots__ = ()
    _fields = ()
    _position = {}

    def __getattribute__(self, name):
        position = type(self)._position
        if name in position and not (name.startswith("__") and name.endswith("__")):
            return self[position[name]]
        return super().__getattribute__(name)

    def __getattr__(self, name):
        position = type(self)._position
        if name in position:  # a dunder column that Python does not define
            return self[position[name]]
        columns = list(type(self)._fields)
        raise AttributeError(
            f"This row has no column {name!r}; its columns are {columns}."
        )

    def _asdict(self):
        """The row as a dict of column name to value, as a namedtuple's
        ``_asdict``; a duplicated name keeps its first column."""
        return {name: self[i] for name, i in type(self)._position.items()}


def _frame_rows(X):
    """A DataFrame's rows: namedtuples, or :class:`_FrameRow` where pandas
    would rename a column (not an identifier, a keyword, a leading
    underscore, a duplicate or a non-string name)."""
    names = list(X.columns)
    plain = all(
        isinstance(n, str)
        and n.isidentifier()
        and not keyword.iskeyword(n)
        and not n.startswith("_")
        for n in names
    ) and len(set(names)) == len(names)
    if plain:
        return list(X.itertuples(index=False))
    fields = tuple(str(n) for n in names)
    position = {}
    for i, name in enumerate(fields):
        position.setdefault(name, i)  # a duplicated name reads its first column
    row = type("Row", (_FrameRow,), {"__slots__": (), "_fields": fields})
    row._position = position
    return [row(t) for t in X.itertuples(index=False, name=None)]


def _rows(X):
    """The rows of ``X`` as the objects labeling functions receive, and their count.

    DataFrame rows come as namedtuples (``x.text``; a column whose name is not
    an identifier is read with ``getattr(x, "my text")``), dicts as namespaces
    (``x.text``), strings as strings, 2-D arrays as 1-D rows. A dict of
    columns (whose iteration gives its keys) and a set (whose order is
    arbitrary) raise a ValueError.
    """
    if sp.issparse(X):
        raise ValueError(
            "Sparse input is not supported: LFApplier passes raw rows to the "
            "labeling functions; pass a DataFrame, a list or a dense array."
        )
    if hasattr(X, "itertuples") and hasattr(X, "columns"):
        return _frame_rows(X), len(X)
    if not isinstance(X, np.ndarray) and hasattr(X, "__array__"):
        X = np.asarray(X)
    if isinstance(X, np.ndarray):
        if X.dtype.kind == "c":
            raise ValueError("Complex data not supported as labeling-function rows.")
        if X.ndim == 1 and X.dtype.kind in "biuf":
            raise ValueError(
                "Expected 2D array, got a 1-D numeric array: Reshape your data, "
                "e.g. X.reshape(-1, 1) for one feature per row; 1-D input must be "
                "texts or objects."
            )
        if X.ndim == 1:  # texts or objects; dicts become namespaces as in lists
            return _rows(list(X))
        if X.ndim == 2:
            if X.shape[1] == 0:
                raise ValueError(
                    f"Found array with 0 feature(s) (shape={X.shape}) while a "
                    "minimum of 1 is required."
                )
            return list(X), X.shape[0]
        raise ValueError(f"Expected 1-D or 2-D rows, got an array of shape {X.shape}.")
    if isinstance(X, Mapping):
        # iterating a dict gives its keys: each column name would be a row
        raise ValueError(
            f"LFApplier got a {type(X).__name__} (keys {list(X)[:5]}), whose "
            "iteration gives its keys, not rows. Pass a mapping of columns as "
            "pandas.DataFrame(X), and rows as a list of dicts."
        )
    if isinstance(X, Set):
        raise ValueError(
            f"LFApplier got a {type(X).__name__}, whose order is arbitrary: the "
            "rows of L would not line up with the rows given. Pass a list."
        )
    if isinstance(X, str) or not hasattr(X, "__len__"):
        raise ValueError(
            "LFApplier expects a sequence of rows (DataFrame, list of dicts or "
            f"texts, numpy array), got {type(X).__name__}."
        )
    rows = [_namespace(r, i) if isinstance(r, dict) else r for i, r in enumerate(X)]
    return rows, len(rows)


def _namespace(row, i):
    """The dict ``row`` (row ``i``) as a namespace: ``x.text`` for ``row["text"]``."""
    try:
        return types.SimpleNamespace(**row)
    except TypeError:  # "keywords must be strings"; the keys are looked at only now
        key = next(key for key in row if not isinstance(key, str))
        raise ValueError(
            f"Row {i} is a dict with the key {key!r}, which is not a string: "
            "dict rows reach the labeling functions as namespaces (x.text), "
            "whose names are strings."
        ) from None


#: The largest vote ``L`` (int64) holds.
_MAX_VOTE = np.iinfo(np.int64).max


def _row_hint(x, exc):
    """A hint for ``exc``, raised by a labeling function or a preprocessor on
    the DataFrame row ``x``, when it comes from handling the row as a mutable
    mapping (as a pandas Series is); an empty string otherwise."""
    if not (isinstance(x, tuple) and hasattr(x, "_fields")):
        return ""
    if isinstance(exc, AttributeError):
        # reading a missing field names the row as ``obj``; setting one
        # (``x.n_words = ...``) does not, and names the row's type instead
        if getattr(exc, "obj", None) is not x and not str(exc).startswith(
            f"'{type(x).__name__}' object has no attribute"
        ):
            return ""
    elif not (isinstance(exc, TypeError) and "tuple indices" in str(exc)):
        return ""
    return (
        " DataFrame rows reach labeling functions and preprocessors as "
        f"read-only namedtuples with the columns {list(x._fields)}: read a "
        "column as x.text (getattr(x, 'my text') where the name is not an "
        "identifier), and have a preprocessor that adds a field return a new "
        "row, e.g. types.SimpleNamespace(**x._asdict(), "
        "n_words=len(x.text.split()))."
    )


def _apply_chunk(lfs, rows, start, on_error):
    """Votes of every labeling function on ``rows``; failures are recorded."""
    L = np.full((len(rows), len(lfs)), -1, dtype=np.int64)
    failures = []
    for i, x in enumerate(rows):
        for j, lf in enumerate(lfs):
            try:
                vote = lf(x)
            except Exception as exc:  # noqa: BLE001 - reported with LF and row
                if on_error == "raise":
                    hint = _row_hint(x, exc)
                    raise ValueError(
                        f"Labeling function {lf.name!r} raised "
                        f"{type(exc).__name__}: {exc} on row {start + i}: {x!r}"
                        + (f".{hint}" if hint else "")
                    ) from exc
                failures.append((lf.name, start + i, repr(exc)))
                continue
            if vote is None:
                vote = -1
            if not isinstance(vote, (numbers.Integral, np.integer)) or isinstance(
                vote, bool
            ):
                raise ValueError(
                    f"Labeling function {lf.name!r} returned {vote!r} on row "
                    f"{start + i}; it must return an int: -1 (abstain) or a class "
                    "0..k-1."
                )
            if vote < -1 or vote > _MAX_VOTE:
                raise ValueError(
                    f"Labeling function {lf.name!r} returned {vote} on row "
                    f"{start + i}; votes are -1 (abstain) or classes 0..k-1."
                )
            L[i, j] = vote
    return L, failures


class LFApplier(TransformerMixin, BaseEstimator):
    """Apply labeling functions to raw rows, producing the label matrix ``L``.

    Parameters
    ----------
    lfs : list of LabelingFunction
        The labeling functions; their names become the output feature names.
    n_jobs : int, default=None
        Parallel workers (joblib); rows are split into equal chunks.
    on_error : {"raise", "abstain"}, default="raise"
        When a labeling function raises: ``"raise"`` a ``ValueError`` that names
        the function and the row, or ``"abstain"`` record ``-1`` and warn
        (:meth:`apply` returns the full list of failures).
    progress : bool or "auto", default="auto"
        Show a progress bar (tqdm, on stderr); ``"auto"`` shows one for inputs
        of 10,000 rows or more.

    Attributes
    ----------
    n_features_out_ : int
        Number of labeling functions.
    n_features_in_ : int
        Number of columns of ``X`` in :meth:`fit`, when it was a DataFrame or a
        2-D array.
    feature_names_in_ : ndarray of shape (n_features,)
        Column names of a DataFrame ``X`` in :meth:`fit`, defined only when
        they are all strings.

    See Also
    --------
    LabelModel : Learns the accuracies of the labeling functions from ``L``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_metal import LabelModel
    >>> from sklearn_metal.labeling import LFApplier, labeling_function
    >>> @labeling_function()
    ... def has_link(x):
    ...     return 1 if "http" in x else -1
    >>> @labeling_function()
    ... def short(x):
    ...     return 0 if len(x) < 15 else -1
    >>> texts = ["nice song", "visit http://x", "love it", "free http://y now"]
    >>> LFApplier([has_link, short]).fit_transform(texts)
    array([[-1,  0],
           [ 1,  0],
           [-1,  0],
           [ 1, -1]])
    """

    def __init__(self, lfs, *, n_jobs=None, on_error="raise", progress="auto"):
        self.lfs = lfs
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.progress = progress

    def _check_lfs(self):
        if not isinstance(self.lfs, (list, tuple)) or not self.lfs:
            raise ValueError("lfs must be a non-empty list of LabelingFunction.")
        names = []
        for lf in self.lfs:
            if not isinstance(lf, LabelingFunction):
                raise ValueError(
                    f"{lf!r} is not a LabelingFunction; wrap it with "
                    "@labeling_function() or LabelingFunction(name, f)."
                )
            names.append(lf.name)
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"Labeling function names must be unique: {dupes}.")
        if self.on_error not in ("raise", "abstain"):
            raise ValueError(
                f"on_error={self.on_error!r} must be 'raise' or 'abstain'."
            )
        if not (isinstance(self.progress, bool) or self.progress == "auto"):
            raise ValueError(
                f"progress={self.progress!r} must be True, False or 'auto'."
            )
        return names

    @restore_on_error
    def fit(self, X=None, y=None):
        """Check the labeling functions; no learning happens.

        Parameters
        ----------
        X : DataFrame, list of dicts or texts, ndarray, dask DataFrame or None, \
                default=None
            Raw rows; None only checks the labeling functions. For a DataFrame
            (pandas or dask) or a 2-D array the number of columns (and their
            names) is recorded and checked by :meth:`transform`. A dask
            DataFrame is not computed.
        y : ignored

        Returns
        -------
        self : LFApplier
            A call that raises leaves the applier as it was before the call.
        """
        # the columns of an earlier fit are dropped before X is checked: a
        # call that raises puts them back
        names = self._check_lfs()
        # rows without columns (texts, dicts, None) record none: drop those of
        # an earlier fit, which transform would otherwise check against
        for attr in ("n_features_in_", "feature_names_in_"):
            self.__dict__.pop(attr, None)
        X = frame_to_pandas(X)
        if _is_dask(X) and hasattr(X, "columns"):
            # Only the columns are needed: record them from an empty pandas frame.
            validate_data(self, _empty_frame(X), reset=True, skip_check_array=True)
        elif X is not None:
            _, n = _rows(X)
            if n == 0:
                raise ValueError("Found array with 0 sample(s); LFApplier needs rows.")
            if _is_tabular(X):
                validate_data(self, X, reset=True, skip_check_array=True)
        self._names = np.asarray(names, dtype=object)
        self.n_features_out_ = len(names)
        return self

    def transform(self, X):
        """Votes of every labeling function on every row.

        Parameters
        ----------
        X : DataFrame, list of dicts or texts, ndarray, or dask DataFrame
            Raw rows (a polars DataFrame is read as a pandas one). DataFrame
            rows reach the functions as namedtuples and dicts as namespaces
            (both with attribute access, ``x.text``). A dask DataFrame is
            labelled partition by partition on the workers.

        Returns
        -------
        L : ndarray of shape (n_samples, n_lfs) or dask array
            ``-1`` where a function abstained. For a dask DataFrame, a lazy
            dask array with known row chunks: ``transform`` counts the rows of
            each partition (reading the raw partitions) but runs no labeling
            function; they run when the array is computed.

        Notes
        -----
        The dask array is recomputed, labeling functions included, every time
        it is used. A :class:`~sklearn_metal.LabelModel` fit makes several
        passes over ``L``, so persist the votes first, and the functions run
        once::

            L = applier.transform(ddf).persist()
            model = LabelModel().fit(L)

        This holds for the default output only: under
        ``set_output(transform="pandas")`` (or a global
        ``transform_output="pandas"``) scikit-learn turns the dask array into a
        pandas DataFrame, so every labeling function runs inside ``transform``,
        on the client, and the frame has a new ``RangeIndex``, not the dask
        DataFrame's index; under ``"polars"`` the array is computed in the
        same way, into a polars DataFrame.

        Errors and failures name rows by their position in the whole dask
        DataFrame. With ``on_error="abstain"`` each partition warns where it
        is computed: here with a local scheduler, in the worker's log on a
        cluster.
        """
        if _is_dask(X):
            L = self._transform_dask(X)
            if _get_output_config("transform", self)["dense"] == "polars":
                # polars cannot wrap a dask array (pandas reads it through
                # __array__): compute it here, as the pandas output does
                L = L.compute()
            return L
        L, failures = self.apply(X)
        _warn_failures(failures, stacklevel=2)
        if _get_output_config("transform", self)["dense"] == "pandas":
            import pandas as pd

            if isinstance(X, pd.Series):
                # scikit-learn 1.6 keeps the index of a DataFrame only
                return pd.DataFrame(L, index=X.index)
        return L

    def _transform_dask(self, X):
        """Apply partition by partition; returns a dask array of votes."""
        check_is_fitted(self, "n_features_out_")
        if not hasattr(X, "map_partitions"):
            raise ValueError(
                "LFApplier applies to a dask DataFrame partition-wise; got a "
                f"{type(X).__name__}."
            )
        if hasattr(self, "n_features_in_") and hasattr(X, "columns"):
            # Check the columns once here rather than on every partition.
            validate_data(self, _empty_frame(X), reset=False, skip_check_array=True)
        import pandas as pd

        names = [str(n) for n in self._names]

        # ``to_dask_array(lengths=True)`` would compute the votes (running every
        # labeling function) just to count their rows; count the raw rows instead.
        lengths = tuple(int(n) for n in X.map_partitions(len).compute())
        # The first row of each partition, so that errors name rows of ``X``.
        starts = np.concatenate([[0], np.cumsum(lengths)]).tolist()

        def apply_partition(part, partition_info=None):
            if not len(part):
                L = np.empty((0, len(names)), dtype=np.int64)
                return pd.DataFrame(L, columns=names, index=part.index)
            start = starts[partition_info["number"]] if partition_info else 0
            L, failures = self._apply(part, start)
            # Raised where the partition is computed: here with a local
            # scheduler, in the worker's log on a cluster.
            _warn_failures(failures, stacklevel=2)
            return pd.DataFrame(L.astype(np.int64), columns=names, index=part.index)

        meta = pd.DataFrame({n: pd.Series([], dtype=np.int64) for n in names})
        votes = X.map_partitions(apply_partition, meta=meta)
        return votes.to_dask_array(lengths=lengths)

    def apply(self, X):
        """Votes and the failures recorded with ``on_error="abstain"``.

        Unlike Snorkel's ``apply``, this returns a pair; :meth:`transform`
        returns ``L`` alone (and warns about the failures).

        Parameters
        ----------
        X : DataFrame, list of dicts or texts, or ndarray
            Raw rows.

        Returns
        -------
        L : ndarray of shape (n_samples, n_lfs)
            The label matrix.
        failures : list of (str, int, str)
            ``(labeling function, row, error)`` of every call that raised.
        """
        return self._apply(X)

    def _apply(self, X, start=0):
        """:meth:`apply`; errors and failures number the rows from ``start``."""
        check_is_fitted(self, "n_features_out_")
        X = frame_to_pandas(X)
        rows, n = _rows(X)
        if n == 0:
            raise ValueError("Found array with 0 sample(s); LFApplier needs rows.")
        if hasattr(self, "n_features_in_") and _is_tabular(X):
            validate_data(self, X, reset=False, skip_check_array=True)
        show = self.progress is True or (self.progress == "auto" and n >= 10_000)
        n_jobs = 1 if self.n_jobs is None else self.n_jobs
        bar = _progress_bar(n, show)
        if n_jobs == 1:
            chunks = _chunks(n, 1000 if show else n)
            results = (
                _apply_chunk(self.lfs, rows[a:b], start + a, self.on_error)
                for a, b in chunks
            )
        else:
            from joblib import Parallel, delayed, effective_n_jobs

            size = max(1, -(-n // (effective_n_jobs(n_jobs) * 4)))
            chunks = _chunks(n, size)
            results = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_apply_chunk)(self.lfs, rows[a:b], start + a, self.on_error)
                for a, b in chunks
            )
        parts = []
        try:
            for (a, b), part in zip(chunks, results, strict=True):
                parts.append(part)
                bar.update(b - a)
        finally:
            bar.close()  # a labeling function that raised leaves no open bar
        L = np.vstack([p[0] for p in parts])
        return L, [f for p in parts for f in p[1]]

    def get_feature_names_out(self, input_features=None):
        """Names of the labeling functions, the columns of ``L``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the input seen in :meth:`fit`, as by
            scikit-learn's transformers: it must equal ``feature_names_in_``,
            or have ``n_features_in_`` entries, where those were recorded.

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self, "n_features_out_")
        _check_feature_names_in(self, input_features, generate_names=False)
        return self._names.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        # NaN in the raw rows (a missing value) reaches the labeling functions.
        tags.input_tags.allow_nan = True
        # L holds integer votes whatever the dtype of the rows.
        tags.transformer_tags.preserves_dtype = []
        return tags


def _warn_failures(failures, stacklevel):
    """Warn about the labeling-function calls recorded as abstains, if any."""
    if not failures:
        return
    by_lf = {}
    for name, _, _ in failures:
        by_lf[name] = by_lf.get(name, 0) + 1
    first = failures[0]
    warnings.warn(
        f"{len(failures)} labeling-function calls raised and were recorded "
        f"as abstains: {by_lf}; first: {first[0]!r} on row {first[1]}: "
        f"{first[2]}. Call apply(X) for the full list.",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def _is_dask(X):
    return type(X).__module__.split(".")[0] == "dask"


def _empty_frame(X):
    """An empty pandas DataFrame with the columns of the dask DataFrame ``X``."""
    import pandas as pd

    return pd.DataFrame(columns=X.columns)


def _is_tabular(X):
    if hasattr(X, "columns") and hasattr(X, "itertuples"):
        return True
    return isinstance(X, np.ndarray) and X.ndim == 2


def _chunks(n, size):
    return [(a, min(a + size, n)) for a in range(0, n, size)]


class _NoBar:
    def update(self, k):
        pass

    def close(self):
        pass


def _progress_bar(total, show):
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="labeling functions", unit="row", file=sys.stderr)
