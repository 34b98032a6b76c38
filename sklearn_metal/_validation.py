"""One validation path for label matrices and label vectors."""

import os
import sys
import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import accuracy_score
from sklearn.utils import metadata_routing
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

__all__ = ["check_label_matrix", "check_gold_labels"]


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# scikit-learn's wrappers of fit (_fit_context) and of functions (validate_params)
_WRAPPERS = (
    os.path.join("sklearn", "base.py"),
    os.path.join("sklearn", "utils", "_param_validation.py"),
)
# skorch's training loop, which calls the nets' epoch hooks
_SKORCH_DIR = os.sep + "skorch" + os.sep


def user_stacklevel():
    """The ``stacklevel`` that makes a warning raised by the caller of this
    function point at the first frame outside sklearn_metal (and outside
    scikit-learn's wrappers of ``fit`` and of functions, and skorch's
    training loop): the user's call, whichever of the package's functions
    led to the warning.

    Examples
    --------
    >>> from sklearn_metal._validation import user_stacklevel
    >>> user_stacklevel()  # called from outside the package: the caller itself
    1
    """
    frame, level = sys._getframe(1), 1
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (
            filename.startswith(_PACKAGE_DIR)
            or filename.endswith(_WRAPPERS)
            or _SKORCH_DIR in filename
        ):
            break
        frame, level = frame.f_back, level + 1
    return level


def _column_label(names, j):
    if names is not None:
        return f"column {names[j]!r} (index {j})"
    return f"column {j}"


def _number(v):
    """``v`` for a message: an integer in full, a float without a trailing ``.0``
    (``:g`` would print 1234567 as 1.23457e+06)."""
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{float(v):.15g}"


def _nonfinite(v):
    """``NaN``, ``inf`` or ``-inf``, spelled as scikit-learn's messages do."""
    return "NaN" if np.isnan(v) else ("inf" if v > 0 else "-inf")


def _check_values(values, rows, cols, cardinality, names, first_row=0):
    """Raise a ValueError naming the first bad entry among ``values``.

    With ``cardinality=None`` the caller checks the classes' upper bound.
    """
    classes = "a class" if cardinality is None else f"0..{cardinality - 1}"
    bad = ~np.isfinite(values)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"Label matrix {_column_label(names, cols[i])} holds "
            f"{_nonfinite(values[i])} at "
            f"row {first_row + rows[i]}; votes must be finite integers: -1 "
            f"(abstain) or {classes}."
        )
    bad = values != np.round(values)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"Label matrix {_column_label(names, cols[i])} holds the non-integer "
            f"value {values[i]} at row {first_row + rows[i]}; votes must be integers: "
            f"-1 (abstain) or {classes}."
        )
    bad = values < -1
    if cardinality is not None:
        bad |= values >= cardinality
        classes = f"a class in {classes} (cardinality={cardinality})"
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"Label matrix {_column_label(names, cols[i])} holds the value "
            f"{_number(values[i])} at row {first_row + rows[i]}; expected -1 "
            f"(abstain) or {classes}."
        )


DUPLICATE_ENTRIES = (
    "The sparse label matrix stores duplicate entries for the same (row, source); "
    "each source casts at most one vote per row."
)


DIA_FORMAT = (
    "Sparse label matrices in DIA format are not supported: DIA cannot keep "
    "stored zeros (class-0 votes), and converting it drops them. Pass a csr, "
    "csc or coo matrix instead."
)

DROPPED_ZEROS = (
    "The sparse label matrix stores {n} abstains (-1) but not one vote for class "
    "0: it looks made from a dense L by scipy.sparse (csr_matrix(L) and the like), "
    "which keeps the -1 entries and drops the zeros, the votes for class 0. In a "
    "sparse label matrix an entry that is not stored abstains; build it from the "
    "votes, e.g. rows, cols = np.nonzero(L != -1); "
    "csr_matrix((L[rows, cols], (rows, cols)), shape=L.shape). If no source votes "
    "class 0, leave the abstains unstored or pass L dense."
)

BSR_FORMAT = (
    "Sparse label matrices in BSR format are not supported: BSR stores whole "
    "blocks, so the zeros padding a block cannot be told from class-0 votes. "
    "Pass a csr, csc or coo matrix instead."
)


def check_sample_weight(sample_weight, X, **kwargs):
    """scikit-learn's ``_check_sample_weight``, refusing all-zero weights on
    every supported scikit-learn (1.6 let them through)."""
    sample_weight = _check_sample_weight(sample_weight, X, **kwargs)
    if not np.any(sample_weight):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sample_weight


def check_weight_sum(sample_weight):
    """Raise a ValueError where row weights, read as counts, sum beyond
    float64 (the counts would overflow to inf and the fit to NaN); the sum is
    taken in float64, so float32 weights near their own limit pass.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal._validation import check_weight_sum
    >>> check_weight_sum(np.array([1.0, 2.0]))
    >>> check_weight_sum(np.array([1e308, 1e308]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: sample_weight sums to inf, which overflows float64; ...
    """
    with np.errstate(over="ignore"):
        total = sample_weight.sum(dtype=np.float64)
    if not np.isfinite(total):
        # weights are counts and the priors do not scale with them, so
        # rescaling would change the fit: the caller must rescale
        raise ValueError(
            f"sample_weight sums to {total}, which overflows float64; the "
            "weights are read as counts, so pass smaller weights."
        )


def frame_to_pandas(X):
    """A polars DataFrame as a pandas one, built column by column (no pyarrow
    needed), and a pyarrow Table as a pandas one (``Table.to_pandas``);
    anything else is returned as it is.

    Polars frames and pyarrow Tables have no row labels, so the pandas frame
    gets a RangeIndex; a null in an integer column becomes NaN, which the
    vote checks then name.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal._validation import frame_to_pandas
    >>> L = np.array([[0, -1]])
    >>> frame_to_pandas(L) is L
    True
    """
    module = type(X).__module__.split(".")[0]
    if module == "pyarrow" and hasattr(X, "column_names") and hasattr(X, "to_pandas"):
        # (np.asarray would drop the names, and a Table's .columns are its
        # arrays, not their names)
        return X.to_pandas()
    if module != "polars" or not hasattr(X, "get_column"):
        return X
    import pandas as pd

    return pd.DataFrame({name: X.get_column(name).to_numpy() for name in X.columns})


def check_2d(L):
    """Raise a ValueError unless ``L`` is 2-D, saying how to reshape it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal._validation import check_2d
    >>> check_2d(np.zeros((3, 2)))
    >>> check_2d(np.zeros(3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Expected a 2-D label matrix of shape (n_samples, n_sources), ...
    """
    if L.ndim != 2:
        raise ValueError(
            f"Expected a 2-D label matrix of shape (n_samples, n_sources), got "
            f"an array of shape {L.shape}. Reshape your data: a single source "
            "with L.reshape(-1, 1) or a single sample with L.reshape(1, -1)."
        )


def check_block_input(L):
    """Raise a ValueError unless ``L`` can be read in row blocks as votes:
    2-D, with a sample and a source, and not complex (the in-memory path's
    checks, which the blocks would otherwise meet only one at a time).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal._validation import check_block_input
    >>> check_block_input(np.zeros((2, 3), dtype=np.int8))
    >>> check_block_input(np.zeros((2, 0), dtype=np.int8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Found array with 0 feature(s) (shape=(2, 0)) while a minimum ...
    """
    check_2d(L)
    n, m = L.shape
    if n == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={L.shape}) while a minimum of 1 "
            "is required."
        )
    if m == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={L.shape}) while a minimum of 1 "
            "is required."
        )
    if getattr(getattr(L, "dtype", None), "kind", None) == "c":
        raise ValueError(
            "Complex data not supported: a label matrix holds integer votes."
        )


def check_sparse_format(S):
    """Raise a ValueError if the sparse matrix ``S`` cannot hold class-0 votes.

    DIA stores its diagonals with padding, so it cannot tell a stored ``0`` (a
    vote for class 0) from an unstored entry (an abstain), and its conversion
    to coo or csr drops the zeros. BSR stores dense blocks, whose zero padding
    reads as class-0 votes. Call this before converting ``S``.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sklearn_metal._validation import check_sparse_format
    >>> check_sparse_format(sp.csr_matrix(np.eye(2)))
    >>> check_sparse_format(sp.dia_matrix(np.eye(2)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Sparse label matrices in DIA format are not supported: ...
    """
    if S.format == "dia":
        raise ValueError(DIA_FORMAT)
    if S.format == "bsr":
        raise ValueError(BSR_FORMAT)


def check_sparse_zeros(S, step=2**20):
    """Raise a ValueError if the sparse matrix ``S`` stores ``-1`` entries but
    no ``0``: the mark of a dense label matrix converted by scipy.sparse,
    which drops the zeros (class-0 votes) and keeps the abstains. A matrix
    that stores every entry dropped none (a block of rows without a class-0
    vote, e.g. one row to predict, of a matrix that stores its abstains).

    Call it on a whole matrix, not on a block of rows (a block may lack
    class-0 votes). The stored values are scanned ``step`` at a time, and the
    scan stops at the first 0, so a matrix with class-0 votes costs little.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sklearn_metal._validation import check_sparse_zeros
    >>> L = np.array([[0, -1], [1, 0]])
    >>> rows, cols = np.nonzero(L != -1)
    >>> check_sparse_zeros(sp.csr_matrix((L[rows, cols], (rows, cols))))
    >>> check_sparse_zeros(sp.csr_matrix(L))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The sparse label matrix stores 1 abstains (-1) but not one vote ...
    """
    data = S.data
    if data.dtype.kind not in "if":
        return  # unsigned votes cannot hold -1 (see the callers' own checks)
    if S.nnz == S.shape[0] * S.shape[1]:
        return  # every entry stored (-1 abstains explicitly): none was dropped
    for start in range(0, data.size, step):
        if np.any(data[start : start + step] == 0):
            return
    n = int(np.count_nonzero(data == -1))
    if n:
        raise ValueError(DROPPED_ZEROS.format(n=n))


def has_duplicate_entries(S):
    """Whether a sparse matrix stores more than one entry at some position.

    Linear in the stored entries: a csr/csc matrix in canonical format (sorted
    indices, no duplicates) is known to have none; otherwise the entries are
    counted per position by scipy's compressed-format conversion.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sklearn_metal._validation import has_duplicate_entries
    >>> has_duplicate_entries(sp.coo_matrix(([1, 1], ([0, 0], [1, 1])), shape=(2, 2)))
    True
    >>> has_duplicate_entries(sp.csr_matrix(np.eye(2)))
    False
    """
    if S.format in ("csr", "csc") and S.has_canonical_format:
        return False
    coo = S.tocoo()
    # compressing the coordinates sums duplicates: fewer entries if any
    counted = sp.csr_matrix(
        (np.ones(coo.nnz, dtype=np.int32), (coo.row, coo.col)), shape=S.shape
    )
    return counted.nnz != coo.nnz


def check_frame_dtypes(L, names=None):
    """Raise a ValueError naming the first column of the DataFrame ``L`` that
    does not hold numbers: only integer and float columns (numpy or pandas'
    nullable ones) hold votes; a boolean, object, string or categorical
    column does not, though its values may convert to numbers.

    ``L`` may be a pandas DataFrame or a dask DataFrame's ``_meta``;
    ``names`` (default: ``L``'s column names) name the columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metal._validation import check_frame_dtypes
    >>> check_frame_dtypes(pd.DataFrame({"a": [0, -1], "b": [1.0, 0.0]}))
    >>> flags = pd.DataFrame({"a": [0, -1], "b": [True, False]})
    >>> check_frame_dtypes(flags)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Label matrix column 'b' (index 1) has dtype bool; expected ...
    """
    if names is None:
        names = [str(c) for c in L.columns]
    for j, dtype in enumerate(L.dtypes):
        kind = getattr(dtype, "kind", "O")
        if kind not in "iuf" or str(dtype).lower().startswith("bool"):
            raise ValueError(
                f"Label matrix {_column_label(names, j)} has dtype {dtype}; "
                "expected integer votes (-1 abstains)."
            )


def _refuse_booleans(entries, names, first_row):
    """Raise a ValueError naming the first boolean in the 2-D object array
    ``entries``: converted, it would be a vote for class 0 or 1 (a flag column
    in ``df.to_numpy()``, or a list of rows), where a boolean dtype is refused.
    """
    flags = np.fromiter(
        (isinstance(v, (bool, np.bool_)) for v in entries.flat), bool, entries.size
    )
    if entries.ndim == 2 and flags.any():
        i, j = np.unravel_index(np.flatnonzero(flags)[0], entries.shape)
        raise ValueError(
            f"Label matrix {_column_label(names, j)} holds the boolean "
            f"{entries[i, j]!r} at row "
            f"{i + first_row}; expected integer votes (-1 abstains). "
            "Leave flag columns out of L, or map them to votes."
        )


def rows_to_array(rows, names=None, first_row=0):
    """``np.asarray(rows)`` of a list or tuple of rows of votes, refusing the
    booleans among them that numpy would make the numbers 1 and 0.

    Examples
    --------
    >>> from sklearn_metal._validation import rows_to_array
    >>> rows_to_array([[0, -1], [1, 1]]).tolist()
    [[0, -1], [1, 1]]
    >>> rows_to_array([[0, True]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Label matrix column 1 holds the boolean True at row 0; ...
    """
    if (
        isinstance(rows, tuple)
        and len(rows) == 2
        and isinstance(rows[0], np.ndarray)
        and rows[0].ndim == 2
    ):
        # no row of votes is 2-D: the pair that LFApplier.apply returns
        raise ValueError(
            "Expected a label matrix, got a pair whose first entry is an array "
            f"of shape {rows[0].shape}: the (L, failures) that LFApplier.apply "
            "returns? Pass its L, or get L alone from LFApplier.transform."
        )
    L = np.asarray(rows)
    if L.ndim != 2 or L.dtype.kind not in "iuf":
        return L
    kinds = set()
    for row in rows:
        kinds.update([row.dtype.type] if hasattr(row, "dtype") else map(type, row))
    if bool in kinds or np.bool_ in kinds:
        entries = np.empty(L.shape, dtype=object)
        entries[...] = rows
        _refuse_booleans(entries, names, first_row)
    return L


def check_label_matrix(L, cardinality, *, names=None, first_row=0, whole=True):
    """Validate a label matrix and return its non-abstain votes.

    Parameters
    ----------
    L : array-like or sparse matrix of shape (n_samples, n_sources)
        Votes: ``-1`` abstains, ``0..cardinality-1`` are classes. In a sparse
        matrix every entry that is not stored is an abstain, and stored entries
        are votes (a stored ``0`` is a vote for class 0, a stored ``-1`` an
        abstain); DIA matrices, which cannot keep stored zeros, and BSR
        matrices, whose block padding would read as class-0 votes, are
        rejected, as are complex and boolean dtypes.
        A pandas DataFrame is read column by column.
    cardinality : int or None
        Number of classes ``k``; None leaves the classes' upper bound to the
        caller (sources of tasks with different cardinalities).
    names : array-like of str, default=None
        Source names used in error messages.
    first_row : int, default=0
        Row number of ``L``'s first row in error messages (for a block of a
        larger matrix).
    whole : bool, default=True
        Whether ``L`` is a whole label matrix rather than a block of one: a
        whole sparse one is checked by :func:`check_sparse_zeros`.

    Returns
    -------
    votes : tuple of (rows, cols, values, shape)
        Integer arrays of the non-abstain entries and the matrix shape. The
        matrix is never expanded into a dense one-hot form.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal._validation import check_label_matrix
    >>> rows, cols, vals, shape = check_label_matrix(np.array([[0, -1], [1, 1]]), 2)
    >>> rows.tolist(), cols.tolist(), vals.tolist(), shape
    ([0, 1, 1], [0, 0, 1], [0, 1, 1], (2, 2))
    """
    if hasattr(L, "iloc") and hasattr(L, "columns"):
        if names is None:
            names = [str(c) for c in L.columns]
        check_frame_dtypes(L, names)
        L = L.to_numpy(dtype=np.float64, na_value=np.nan)
    if sp.issparse(L):
        if L.ndim != 2:
            raise ValueError(f"Expected a 2-D label matrix, got shape {L.shape}.")
        check_sparse_format(L)
        if L.dtype.kind == "c":
            raise ValueError(
                "Complex data not supported: a label matrix holds integer votes."
            )
        if L.dtype == bool or L.dtype.kind not in "iuf":
            raise ValueError(
                f"Label matrix has dtype {L.dtype}; expected integers "
                "(-1 abstains, 0..k-1 are classes)."
            )
        shape = L.shape
        coo = sp.coo_matrix(L)
        if has_duplicate_entries(L):
            raise ValueError(DUPLICATE_ENTRIES)
        if whole:
            check_sparse_zeros(coo)
        rows, cols, vals = coo.row, coo.col, coo.data
    else:
        if isinstance(L, (list, tuple)):
            L = rows_to_array(L, names, first_row)
        if not hasattr(L, "dtype") or not hasattr(L, "shape"):
            L = np.asarray(L)
        L = np.asarray(L)
        if L.dtype.kind == "c":
            raise ValueError(
                "Complex data not supported: a label matrix holds integer votes."
            )
        if L.dtype.kind == "O":
            _refuse_booleans(L, names, first_row)
            # Non-numeric entries raise numpy's own TypeError / ValueError here.
            L = L.astype(np.float64)
        if L.dtype == bool or L.dtype.kind not in "iuf":
            raise ValueError(
                f"Label matrix has dtype {L.dtype}; expected integers "
                "(-1 abstains, 0..k-1 are classes)."
            )
        check_2d(L)
        shape = L.shape
        flat = L.ravel()
        idx = np.flatnonzero(flat != -1)
        rows, cols = np.divmod(idx, shape[1]) if shape[1] else (idx, idx)
        vals = flat[idx]
    if shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is "
            "required: the label matrix has no rows."
        )
    if shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 "
            "is required: the label matrix has no sources."
        )
    if vals.dtype.kind in "iu":
        # integers: only the range can be wrong
        top = np.inf if cardinality is None else cardinality
        if len(vals) and (vals.min() < -1 or vals.max() >= top):
            _check_values(vals, rows, cols, cardinality, names, first_row)
    else:
        vals = vals.astype(np.float64, copy=False)
        _check_values(vals, rows, cols, cardinality, names, first_row)
    # uint64 and float votes may be valid for a huge (or no) k, yet no int64;
    # below a k of 2**63 the range check above has covered them
    if (
        (cardinality is None or cardinality > 2**63)
        and vals.dtype.kind in "uf"
        and vals.dtype.itemsize == 8
        and len(vals)
        and vals.max() >= 2**63
    ):
        i = int(np.argmax(vals))
        raise ValueError(
            f"Label matrix {_column_label(names, cols[i])} holds the value "
            f"{_number(vals[i])} at row {first_row + rows[i]}; classes must fit "
            "in int64 (at most 2**63 - 1)."
        )
    keep = vals != -1
    if not keep.all():
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    return (
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(vals, dtype=np.int64),
        tuple(shape),
    )


def numeric_labels(y, name, expected):
    """``y`` with a numeric dtype: an object array of numbers is read as
    float64; bools, strings and other dtypes raise a ``ValueError`` saying
    ``name`` should hold ``expected``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal._validation import numeric_labels
    >>> numeric_labels(np.array([0, 1.0, -1], dtype=object), "y", "0..k-1").dtype
    dtype('float64')
    """
    if y.dtype.kind == "O":
        import pandas as pd

        missing = pd.isna(y)  # None, NaN and pandas' NA (nullable columns)
        if missing.any():
            y = np.where(missing, np.nan, y)
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Unknown label type: {name} must hold {expected}."
            ) from exc
    if y.dtype == bool or y.dtype.kind not in "iuf":
        raise ValueError(
            f"Unknown label type: {name} has dtype {y.dtype}; expected {expected}."
        )
    return y


def by_class(values, cardinality, name):
    """``values`` in class order ``0..cardinality-1``; a pandas Series is
    read by its index, which must be those classes (in any order).

    ``y.value_counts(normalize=True)`` lists the most frequent class first,
    so reading such a Series by position would give the classes each
    other's probabilities; one indexed by anything else (class names, a
    subset of the classes) raises a ValueError. Anything else is returned
    as it is.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metal._validation import by_class
    >>> by_class(pd.Series({1: 0.8, 0: 0.2}), 2, "class_balance").tolist()
    [0.2, 0.8]
    >>> by_class([0.2, 0.8], 2, "class_balance")
    [0.2, 0.8]
    """
    import pandas as pd

    if not isinstance(values, pd.Series):
        return values
    index = values.index.tolist()
    # classes as ints (a float y's value_counts is indexed by 0.0, 1.0, ...)
    numbers = [_class_number(c) for c in index]
    if None in numbers or sorted(numbers) != list(range(cardinality)):
        raise ValueError(
            f"{name} is a pandas Series indexed by {index}; its values are read "
            f"by class, so its index must be the classes 0..{cardinality - 1}, "
            "each once (as y.value_counts(normalize=True) gives them, in any "
            f"order). Pass {name}.to_numpy() if its values are already in class "
            "order."
        )
    return values.to_numpy()[np.argsort(numbers)]


def refuse_sparse_labels(y, name, advice=None, verb="is"):
    """Raise a ValueError if the labels ``y`` are a sparse matrix.

    ``np.asarray`` would wrap one in a 0-d object array, and a sparse matrix's
    implicit zeros would read as class 0 where an unlabeled row is ``-1``.
    The message reads ``"{name} {verb} a sparse matrix (...); {advice}"``;
    the default advice is that of gold labels.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sklearn_metal._validation import refuse_sparse_labels
    >>> refuse_sparse_labels([0, -1], "y")
    >>> refuse_sparse_labels(sp.csr_matrix([[0], [1]]), "y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: y is a sparse matrix (csr_matrix); gold labels must be dense...
    """
    if sp.issparse(y):
        if advice is None:
            advice = (
                "gold labels must be dense: its implicit zeros would read as "
                f"class 0, not as -1 (unlabeled). Pass {name}.toarray()."
            )
        raise ValueError(
            f"{name} {verb} a sparse matrix ({type(y).__name__}); {advice}"
        )


def _class_number(label):
    """A column label as a class number: an integer, an integral float (as
    ``pd.get_dummies`` of float labels names its columns), or a string of
    ASCII digits (a CSV header); None for any other label."""
    if isinstance(label, (bool, np.bool_)):
        return None
    if isinstance(label, (int, np.integer)):
        return int(label)
    if isinstance(label, Real) and np.isfinite(label) and label == int(label):
        return int(label)
    if isinstance(label, str) and label.isascii() and label.isdigit():
        return int(label)
    return None


def check_soft_label_columns(y, name="y", verb="is"):
    """Raise a ValueError if the soft labels ``y``, a DataFrame, number their
    columns by classes other than ``0..k-1`` in that order.

    Soft label columns are read by position as the classes ``0..k-1``, so a
    frame whose columns are named ``[1, 0]`` (or ``[1, 2]``, as
    ``pd.get_dummies`` of labels 1 and 2 gives) would silently train each
    column as another class than its name says. Columns named otherwise
    (``"p_ham"``, ``"p_spam"``) are read by position. The message reads
    ``"{name} {verb} a DataFrame of soft labels ..."``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metal._validation import check_soft_label_columns
    >>> check_soft_label_columns(pd.DataFrame({0: [0.2], 1: [0.8]}))
    >>> check_soft_label_columns(pd.DataFrame({1: [0.8], 0: [0.2]}))
    Traceback (most recent call last):
    ...
    ValueError: y is a DataFrame of soft labels whose columns are named [1, 0]; ...
    """
    columns = getattr(y, "columns", None)
    if columns is None or isinstance(columns, (str, bytes)):
        return
    labels = list(columns)
    numbers = [_class_number(c) for c in labels]
    if len(labels) < 2 or None in numbers or numbers == list(range(len(labels))):
        return
    k = len(labels)
    j = next(j for j, c in enumerate(numbers) if c != j)
    raise ValueError(
        f"{name} {verb} a DataFrame of soft labels whose columns are named "
        f"{labels}; soft label columns are read by position as the classes "
        f"0..{k - 1}, so its column {labels[j]!r} would be class {j}. Order "
        f"the columns as the classes 0..{k - 1}, or pass the values as an "
        "array (.to_numpy()) to read them by position."
    )


PLUS_MINUS_ONE = (
    "y holds -1 and 1 but no 0: -1 marks a row without a gold label, not "
    "the negative class, so the {n} rows with y == -1 are left out. If y "
    "encodes the two classes as -1 and +1, pass (y + 1) // 2."
)
# the same for one task's column of multi-task labels
TASK_PLUS_MINUS_ONE = (
    "The labels of task {task!r} hold -1 and 1 but no 0: -1 marks a row the "
    "task does not label, not the negative class, so the {n} rows with -1 are "
    "left out. If the task's labels encode its two classes as -1 and +1, pass "
    "(y + 1) // 2 for it."
)


def check_gold_labels(y, n_samples, cardinality, *, whole=True, advice=""):
    """Validate semi-supervised gold labels (``-1`` = unlabeled row).

    Parameters
    ----------
    y : array-like of shape (n_samples,) or None
        Gold labels; ``-1`` marks rows without a gold label.
    n_samples : int
        Number of rows of the label matrix.
    cardinality : int
        Number of classes.
    whole : bool, default=True
        Whether ``y`` labels a whole label matrix rather than a block of it:
        then binary labels that hold ``-1`` and ``1`` but no ``0``, the
        look of classes encoded as -1/+1, warn (a ``UserWarning``), since
        their ``-1`` rows are read as unlabeled.
    advice : str, default=""
        Appended to the error for a ``y`` of another length than the label
        matrix.

    Returns
    -------
    y : ndarray of int64 or None

    Examples
    --------
    >>> from sklearn_metal._validation import check_gold_labels
    >>> check_gold_labels([0, -1, 1], 3, 2).tolist()
    [0, -1, 1]
    """
    if y is None:
        return None
    refuse_sparse_labels(y, "y")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim != 1:
        raise ValueError(
            f"y must be 1-D gold labels of shape (n_samples,), got shape {y.shape}."
        )
    if y.shape[0] != n_samples:
        raise ValueError(
            f"y has {y.shape[0]} labels but the label matrix has {n_samples} rows."
            + advice
        )
    y = numeric_labels(y, "y", "integer class labels 0..k-1 or -1 for unlabeled rows")
    # integer labels stay integers: a float64 copy rounds classes above 2**53
    yf = y if y.dtype.kind in "iu" else y.astype(np.float64)
    if not np.all(np.isfinite(yf)):
        i = np.flatnonzero(~np.isfinite(yf))[0]
        raise ValueError(
            f"y holds {_nonfinite(yf[i])} at row {i}; expected -1 (unlabeled) or "
            f"0..{cardinality - 1}."
        )
    if np.any(yf != np.round(yf)):
        i = np.flatnonzero(yf != np.round(yf))[0]
        # scikit-learn's wording for a continuous target, as EndModel's
        raise ValueError(
            f"Unknown label type: y holds the non-integer value {_number(yf[i])} "
            f"at row {i}; gold labels are -1 (unlabeled) or 0..{cardinality - 1}."
        )
    bad = (yf < -1) | (yf >= cardinality)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        hint = ""
        if yf.min() == 0 and yf.max() == cardinality:
            # the look of semi-supervised labels that a label encoding (of
            # cross_val_predict or of an ensemble) shifted by one
            hint = (
                " cross_val_predict with method='predict_proba' label-encodes "
                "y before fit, as VotingClassifier, StackingClassifier and "
                "BaggingClassifier do, turning -1 (unlabeled) into 0 and each "
                "class c into c + 1; give an ensemble the labeled rows "
                "only (y != -1), and for out-of-fold probabilities with "
                "unlabeled rows use cross_validate(..., return_estimator=True, "
                "return_indices=True) and each fold's predict_proba."
            )
        raise ValueError(
            f"y holds the value {_number(y[i])} at row {i}; expected -1 (unlabeled) "
            f"or a class in 0..{cardinality - 1} (cardinality={cardinality}).{hint}"
        )
    y = yf.astype(np.int64)
    if whole and cardinality == 2:
        unlabeled = plus_minus_one_rows(y)
        if unlabeled:
            warnings.warn(
                PLUS_MINUS_ONE.format(n=unlabeled), UserWarning, user_stacklevel()
            )
    return y


def plus_minus_one_rows(y):
    """The number of ``-1`` entries of binary labels ``y`` that hold ``-1``
    and ``1`` but no ``0``, the look of classes coded -1/+1 whose ``-1`` rows
    would be read as unlabeled; 0 for any other labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal._validation import plus_minus_one_rows
    >>> plus_minus_one_rows(np.array([1, -1, -1, 1]))
    2
    >>> plus_minus_one_rows(np.array([1, -1, 0]))
    0
    """
    if np.any(y == 0) or not np.any(y == 1):
        return 0
    return int(np.count_nonzero(y == -1))


def labeled_accuracy(y, pred, labeled, sample_weight=None):
    """Accuracy of ``pred`` against ``y`` on the rows where ``labeled`` is
    True (gold labels other than ``-1``), weighted by ``sample_weight``.

    Raises a ValueError if no row is labeled, or if every labeled row has
    weight 0.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal._validation import labeled_accuracy
    >>> y, pred = np.array([0, -1, 1, 1]), np.array([0, 1, 0, 1])
    >>> labeled_accuracy(y, pred, y != -1)
    0.6666666666666666
    """
    if not labeled.any():
        raise ValueError(
            "y has no gold label: every entry is -1 (unlabeled); score needs "
            "at least one labeled row."
        )
    if sample_weight is not None:
        sample_weight = sample_weight[labeled]
        if not sample_weight.any():
            raise ValueError(
                "Every row with a gold label (y != -1) has sample_weight 0; "
                "score needs a labeled row of positive weight."
            )
    return float(accuracy_score(y[labeled], pred[labeled], sample_weight=sample_weight))


class _LabelMatrixMixin:
    """Shared validation of label matrices for the estimators in this package.

    ``L``, the methods' data argument, is no metadata to route (scikit-learn
    exempts only ``X`` and ``y`` by name).
    """

    __metadata_request__fit = {"L": metadata_routing.UNUSED}
    __metadata_request__predict = {"L": metadata_routing.UNUSED}
    __metadata_request__predict_proba = {"L": metadata_routing.UNUSED}
    __metadata_request__score = {"L": metadata_routing.UNUSED}

    @property
    def _cardinality(self):
        """``cardinality`` as a Python int. A numpy integer is a valid
        ``cardinality``, but its arithmetic keeps its type: ``np.int8(3)``
        (``L.max() + 1`` of an int8 ``L``) overflowed in the packed codes'
        sizes, ``(k + 1) ** 8``, and wrote out of bounds."""
        return int(self.cardinality)

    def _validate_votes(self, L, *, reset):
        L = frame_to_pandas(L)
        if type(L).__module__.split(".")[0] == "dask":
            L = L.compute()  # an in-memory estimator reads a dask input whole
        names = None
        if hasattr(L, "columns"):
            names = [str(c) for c in L.columns]
        elif not reset and getattr(self, "feature_names_in_", None) is not None:
            names = list(self.feature_names_in_)
        votes = check_label_matrix(L, self._cardinality, names=names)
        if not reset and votes[3][1] != self.n_features_in_:
            raise ValueError(
                f"X has {votes[3][1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input: L has "
                f"{votes[3][1]} sources (columns) but the model was fitted on "
                f"{self.n_features_in_}."
            )
        validate_data(self, L, reset=reset, skip_check_array=True)
        return votes

    def score(self, L, y, sample_weight=None):
        """Accuracy of :meth:`predict` on the rows that have a gold label.

        Rows with ``y == -1`` are unlabeled, as in ``fit``, and are left out,
        so that semi-supervised label vectors can be scored (and used by
        ``GridSearchCV`` or ``cross_val_score``) as they are. Binary labels
        that hold ``-1`` and ``1`` but no ``0`` warn: classes coded -1/+1
        would be scored on the positive rows alone.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes.
        y : array-like of shape (n_samples,)
            Gold labels in ``0..cardinality-1``; ``-1`` for unlabeled rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        score : float
            Mean accuracy over the labeled rows.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_metal import MajorityLabelVoter
        >>> L = np.array([[0, 0, -1], [1, 1, 0], [1, -1, 1]])
        >>> MajorityLabelVoter().fit(L).score(L, [0, 0, -1])
        0.5
        """
        check_is_fitted(self)
        # predictions first: a dask array's row count may be known only then
        pred = np.asarray(self.predict(L))  # computes a dask result
        y = check_gold_labels(y, _num_samples(pred), self._cardinality)
        if sample_weight is not None:
            sample_weight = check_sample_weight(
                sample_weight, y, ensure_non_negative=True
            )
        return labeled_accuracy(y, pred, y >= 0, sample_weight)

    def _source_names(self):
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return np.array([f"source_{j}" for j in range(self.n_features_in_)])
        return np.asarray(names, dtype=object)
