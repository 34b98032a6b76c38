"""Chunked passes over a label matrix: numpy, memory-mapped, sparse or Dask.

Every function here works on one block of rows and returns small arrays
(tallies of size ``m * k`` by ``k``, or for packed blocks per-group pattern
histograms of at most 256 KiB a group) that are summed over blocks, so the
label model's fit needs memory independent of ``n`` beyond one block.
"""

import functools
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from ._statistics import one_hot_votes
from ._validation import (
    DUPLICATE_ENTRIES,
    check_frame_dtypes,
    check_label_matrix,
    check_sparse_format,
    check_sparse_zeros,
    frame_to_pandas,
    has_duplicate_entries,
    rows_to_array,
)

__all__ = [
    "PackedBlock",
    "as_dask_array",
    "names_frame",
    "read_input",
    "block_moments",
    "block_pass",
    "block_proba",
    "is_dask",
    "iter_blocks",
    "pack_matrix",
    "prepare_tables",
    "resolve_moments",
    "resolve_pass",
    "sum_results",
]


def is_dask(L):
    """Whether ``L`` is a dask array."""
    return type(L).__module__.split(".")[0] == "dask"


UNKNOWN_CHUNKS = (
    "The dask array's row chunk sizes are unknown (as for a dask DataFrame's "
    "`.values` or a boolean mask), and the fit needs them to line its row "
    "blocks up: call `L.compute_chunk_sizes()` first, or build the array with "
    "`ddf.to_dask_array(lengths=True)`."
)


def as_dask_array(L, lengths=True):
    """A dask array from a dask array or DataFrame.

    A DataFrame becomes ``L.to_dask_array(lengths=lengths)`` (with
    ``lengths``, dask computes its partitions' lengths). With ``lengths``, an
    array whose row chunk sizes are unknown raises a ValueError that says how
    to get them.
    """
    if hasattr(L, "columns"):
        L = L.to_dask_array(lengths=True if lengths else None)
    if lengths and np.isnan(L.shape[0]):
        raise ValueError(UNKNOWN_CHUNKS)
    return L


def read_input(L, lengths=True):
    """``(L, frame)``: ``L`` ready for the label model and what its source
    names are read from.

    Objects without a shape (lists of rows) become arrays; lil and dok
    matrices, whose ``data`` is not an array of votes, become csr (neither can
    store duplicate entries, so nothing is added up); dask arrays and
    DataFrames become dask arrays (see :func:`as_dask_array`), with a dask
    DataFrame's names read from its pandas ``_meta`` (see :func:`names_frame`).
    """
    L = frame_to_pandas(L)  # (polars frames have no ndim)
    if isinstance(L, (list, tuple)):
        L = rows_to_array(L)
    if not (hasattr(L, "shape") and hasattr(L, "ndim")):
        L = np.asarray(L)
    if sp.issparse(L) and L.format in ("lil", "dok"):
        L = L.tocsr()
    if sp.issparse(L):
        check_sparse_format(L)  # (DIA and BSR first: their zeros are padding)
        check_sparse_zeros(L)
    frame = names_frame(L)
    if is_dask(L) and hasattr(L, "columns"):
        # as a pandas frame's are: to_dask_array would give a boolean,
        # string or categorical column's values, read as votes
        check_frame_dtypes(frame)
        # pandas' nullable columns would come as objects (pd.NA does not
        # convert to a number): as floats, a missing vote is a NaN that the
        # vote checks name, as for a pandas frame
        nullable = [c for c, t in frame.dtypes.items() if not isinstance(t, np.dtype)]
        if nullable:
            L = L.astype(dict.fromkeys(nullable, np.float64))
    if is_dask(L):
        L = as_dask_array(L, lengths=lengths)
    return L, frame


def names_frame(L):
    """What to read source names from: a dask DataFrame's empty pandas
    ``_meta`` (scikit-learn reads names from pandas frames only), else ``L``."""
    if is_dask(L) and hasattr(L, "columns"):
        return L._meta
    return L


def iter_blocks(L, rows_per_block):
    """Yield ``(start, block)`` row blocks of a numpy, sparse or pandas matrix."""
    n = L.shape[0]
    if sp.issparse(L) and L.format != "csr":
        check_sparse_format(L)  # converting would drop its class-0 votes
        if has_duplicate_entries(L):  # converting would add them up
            raise ValueError(DUPLICATE_ENTRIES)
        L = L.tocsr()
    for start in range(0, n, rows_per_block):
        stop = min(start + rows_per_block, n)
        if hasattr(L, "iloc"):
            yield start, L.iloc[start:stop]
        elif sp.issparse(L):
            yield start, _csr_rows(L, start, stop)
        else:
            yield start, L[start:stop]


def _csr_rows(L, start, stop):
    """Rows ``start:stop`` of a csr matrix, sharing its arrays (slicing with
    ``L[start:stop]`` copies them)."""
    a, b = L.indptr[start], L.indptr[stop]
    return sp.csr_matrix(
        (L.data[a:b], L.indices[a:b], L.indptr[start : stop + 1] - a),
        shape=(stop - start, L.shape[1]),
    )


def _block_votes(block, spec, start):
    if block.shape[0] == 0:  # an empty dask chunk (a filtered partition)
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, 0
    rows, cols, vals, (n_b, _) = check_label_matrix(
        block, spec["k"], names=spec["names"], first_row=start, whole=False
    )
    return rows, cols, vals, n_b


def _shares(rows, cols, vals, n_b, k, gold, vote_weight=None):
    """Each row's vote shares ``Q`` (gold rows one-hot), its informative and
    gold masks; ``vote_weight`` (per vote) weighs the votes."""
    counts = np.bincount(
        rows * k + vals, weights=vote_weight, minlength=n_b * k
    ).reshape(n_b, k)
    n_votes = counts.sum(axis=1)
    voted = n_votes > 0
    Q = np.divide(
        counts, n_votes[:, None], out=np.zeros((n_b, k)), where=voted[:, None]
    )
    is_gold = np.zeros(n_b, dtype=bool)
    if gold is not None:
        is_gold = gold >= 0
        Q[is_gold] = 0.0
        Q[is_gold, gold[is_gold]] = 1.0
    return Q, voted | is_gold, is_gold


def _block_indices(block, k, weight=None):
    """``(idx, weight)`` of a packed or dense integer block, else ``(None,
    weight)``: a packed block carries its row weights, other blocks take
    ``weight`` (their rows' sample weights, or None for 1).

    A packed block's pattern numbers stay in their small dtype: converting
    them whole would allocate (and first touch) ``8 * n_groups`` bytes per row
    on every pass; each step converts one group at a time instead.
    """
    if isinstance(block, PackedBlock):
        return block.idx, block.weight
    return pack_votes(block, k), weight


def block_moments(block, spec, start=0, gold=None, weight=None):
    """Sufficient statistics of one block for the moment estimate.

    ``weight`` (or None for 1) weighs the block's rows, as if each were
    repeated that many times; a :class:`PackedBlock` carries its own.
    A packed block returns its group histograms (``"hist"``) in place of the
    tallies and vote totals; :func:`resolve_moments` turns their sum over
    blocks into both.
    """
    k, m = spec["k"], spec["m"]
    idx, weight = _block_indices(block, k, weight)
    out = {}
    if idx is not None:
        n_b = idx.shape[1]
        Q, informative, is_gold = _packed_shares(idx, spec, gold)
        if weight is not None:
            Q *= weight
        out["hist"] = packed_histograms(idx, Q, m, k)
        if is_gold.any():
            if weight is None:
                gold_weight = np.ones((1, int(is_gold.sum())))
            else:
                gold_weight = weight[is_gold][None]
            out["gold_patterns"] = packed_histograms(
                idx[:, is_gold], gold_weight, m, k
            )[:, :, 0]
        q_sum = Q.sum(axis=1)
    else:
        rows, cols, vals, n_b = _block_votes(block, spec, start)
        A = one_hot_votes(rows, cols, vals, (n_b, m), k)
        Q, informative, is_gold = _shares(rows, cols, vals, n_b, k, gold)
        vote_weight = None
        if weight is not None:
            Q *= weight[:, None]
            vote_weight = weight[rows]
        out["tot"] = np.bincount(
            cols * k + vals, weights=vote_weight, minlength=m * k
        ).astype(np.float64)
        out["cnt"] = np.asarray(A.T @ Q)
        q_sum = Q.sum(axis=0)
    gold_counts = np.zeros(k)
    if is_gold.any():
        gold_weight = None if weight is None else weight[is_gold]
        gold_counts = np.bincount(
            gold[is_gold], weights=gold_weight, minlength=k
        ).astype(np.float64)
    free = informative & ~is_gold
    if weight is None:
        n_rows, n_info, n_free = n_b, informative.sum(), free.sum()
    else:
        n_rows = weight.sum()
        n_info, n_free = weight[informative].sum(), weight[free].sum()
    out.update(
        n=n_rows,
        q_sum=q_sum,
        n_info=float(n_info),
        n_free=float(n_free),
        gold_counts=gold_counts,
    )
    return out


def resolve_moments(total, m, k, whole=True):
    """Tallies ``"cnt"`` and vote totals ``"tot"`` from summed block moments.

    Packed blocks' group histograms are split into single sources once for
    the whole sum. Where there were any, the result also holds
    ``"packed_tot"``: those blocks' vote totals, and ``"free_patterns"``:
    the (weighted) number of their voting rows without a gold label that
    have each group pattern. The passes need both (see :func:`resolve_pass`).
    ``whole`` says that every row weight is a whole number, so that these
    counts are too and are rounded to them.
    """
    total = dict(total)
    hist = total.pop("hist", None)
    gold_patterns = total.pop("gold_patterns", None)
    cnt, tot = total.get("cnt", 0.0), total.get("tot", 0.0)
    if hist is not None:
        split = split_histograms(hist, m, k)
        cnt = cnt + split.reshape(m * k, k)
        # a voting row's shares sum to one (times its weight), so the vote
        # counts are the tallies' row sums
        rint = np.rint if whole else np.asarray
        total["packed_tot"] = rint(split.sum(axis=2)).ravel()
        tot = tot + total["packed_tot"]
        patterns = rint(hist.sum(axis=2))
        total["free_patterns"] = (
            patterns if gold_patterns is None else patterns - gold_patterns
        )
    total["cnt"], total["tot"] = cnt, tot
    return total


def _scores(rows, cols, vals, n_b, spec):
    A = one_hot_votes(rows, cols, vals, (n_b, spec["m"]), spec["k"])
    return A, np.asarray(A @ spec["log_w"])


def block_pass(block, spec, p, refine, start=0, gold=None, weight=None):
    """One E-step over a block under balance ``p``.

    Returns the block's negative log-likelihood; when ``refine``, the tallies
    ``A.T @ Q`` and ``sum Q`` under the posteriors (for the M-step), else the
    gradient and Hessian of the balance log-likelihood (for Newton steps).
    Rows are weighed by ``weight`` as in :func:`block_moments`.

    A packed block scores each class relative to class 0, which spares one
    lookup per group and row: its log-likelihood lacks the rows' class-0
    scores, and its tallies (``"hist_tail"``) leave out class 0. Both follow
    from counts of the moment pass (:func:`resolve_pass`).
    """
    k, m = spec["k"], spec["m"]
    idx, weight = _block_indices(block, k, weight)
    row_weight = weight  # (the gold rows' share of the tallies)
    if idx is not None:
        S = np.zeros((k, idx.shape[1]))
        packed_lookup(idx, _packed_tables(spec, "diff_tables"), out=S[1:], n_out=k - 1)
        informative = (idx != _abstain_index(m, k)).any(axis=0)
        is_gold = np.zeros(idx.shape[1], dtype=bool)
        if gold is not None:
            is_gold = gold >= 0
            informative |= is_gold
        free = informative & ~is_gold
        if not free.all():
            # rows out of the likelihood get weight 0 (cheaper than dropping
            # them): their posteriors below come out 0, gold rows' are set
            weight = free.astype(np.float64) if weight is None else weight * free
    else:
        rows, cols, vals, n_b = _block_votes(block, spec, start)
        A, S = _scores(rows, cols, vals, n_b, spec)
        Q, informative, is_gold = _shares(rows, cols, vals, n_b, k, gold)
        free = informative & ~is_gold
        S = np.ascontiguousarray(S[free].T)
        if weight is not None:
            Q *= weight[:, None]
            weight = weight[free]
    S_max = S.max(axis=0) if S.shape[1] else np.zeros(0)
    S -= S_max
    E = np.exp(S, out=S)
    # einsum, not BLAS, for these thin products: a BLAS call here wakes the
    # BLAS threads once per block, and on few cores their spinning slowed the
    # whole fit (1e6 x 10 x 2 with two BLAS threads: 0.062 s against 0.037 s)
    norm = np.einsum("c,cn->n", p, E)
    inv = 1.0 / norm
    log_norm = np.log(norm)
    log_norm += S_max
    if weight is None:
        nll, inv_w = -log_norm.sum(), inv
    else:
        nll, inv_w = -np.einsum("n,n->", weight, log_norm), inv * weight
    out = {"nll": float(nll)}
    if not refine:
        out["g"] = np.einsum("cn,n->c", E, inv_w)
        out["H"] = np.einsum("cn,dn->cd", E * (inv * inv_w), E)
        return out
    post = E
    post *= inv_w
    post *= p[:, None]
    if idx is not None:
        Q = post
        _set_gold(Q, gold, is_gold, row_weight)
        out["hist_tail"] = packed_histograms(idx, Q[1:], m, k)
        out["q_sum"] = Q.sum(axis=1)
    else:
        Q[free] = post.T
        out["cnt"] = np.asarray(A.T @ Q)
        out["q_sum"] = Q.sum(axis=0)
    return out


def resolve_pass(total, m, k, moments, log_w):
    """Complete the summed results of one :func:`block_pass` over all blocks.

    ``moments`` is the :func:`resolve_moments` result over the same blocks
    and ``log_w`` the ``(m, k, k)`` source log-factors the pass used. Packed
    blocks' class-0 tallies are their vote counts less the other classes'
    tallies (a voting row's posteriors sum to its weight), and their
    log-likelihood gets back the class-0 scores, a sum over group patterns.
    """
    total = dict(total)
    tail = total.pop("hist_tail", None)
    if tail is not None:
        cnt = np.empty((m, k, k))
        cnt[:, :, 1:] = split_histograms(tail, m, k)
        cnt[:, :, 0] = moments["packed_tot"].reshape(m, k) - cnt[:, :, 1:].sum(axis=2)
        # a difference of sums rounds below 0 where the true tally is about 0;
        # with row weights of 1e13 and more that exceeds the prior's
        # pseudo-counts, and the log-factors became NaN
        np.maximum(cnt[:, :, 0], 0.0, out=cnt[:, :, 0])
        total["cnt"] = total.get("cnt", 0.0) + cnt.reshape(m * k, k)
    if "free_patterns" in moments:
        ref = _group_tables(log_w[:, :, :1], m, k)[:, :, 0]
        total["nll"] -= float(np.sum(moments["free_patterns"] * ref))
    return total


def _valid_votes(values, k):
    """``values`` if they are votes in ``-1..k-1`` that fit one signed byte
    (floats, when all are integers, as ``int8``), else None: the validation
    then names the first bad entry."""
    if values.dtype.kind not in "iuf" or values.size == 0 or k > 127:
        return None
    if not (values.min() >= -1 and values.max() < k):  # also False for NaN
        return None
    if values.dtype.kind == "f":
        votes = values.astype(np.int8)
        return votes if np.array_equal(votes, values) else None
    return values


def _sparse_votes(block, k):
    """A sparse block's votes as a dense ``int8`` array (an entry not stored
    is an abstain), or None where the general path must look at it: a bad
    value (see :func:`_valid_votes`) or duplicate entries."""
    if block.ndim != 2:
        return None
    check_sparse_format(block)  # converting would drop its class-0 votes
    if has_duplicate_entries(block):
        return None
    csr = block.tocsr()
    data = _valid_votes(csr.data, k) if csr.nnz else csr.data
    if data is None:
        return None
    # scipy fills unstored entries with 0: store each vote plus one, then
    # subtract one everywhere (a stored -1 becomes a stored 0: an abstain)
    shifted = sp.csr_matrix(
        (data.astype(np.int8) + np.int8(1), csr.indices, csr.indptr),
        shape=csr.shape,
    )
    dense = shifted.toarray()
    dense -= 1
    return dense


def is_numeric_frame(L):
    """Whether ``L`` is a DataFrame whose columns all have numpy integer or
    float dtypes (other frames go column by column through the validation)."""
    if not (hasattr(L, "iloc") and hasattr(L, "dtypes")):
        return False
    return all(isinstance(t, np.dtype) and t.kind in "iuf" for t in L.dtypes)


def _dense_int_block(block, k):
    """The block as an integer ndarray if it holds valid votes, else None.

    Sparse blocks are made dense, DataFrames of numeric columns give their
    values, and float votes that are all integers become ``int8``.
    """
    if sp.issparse(block):
        block = _sparse_votes(block, k)
    elif hasattr(block, "iloc"):
        block = block.to_numpy() if is_numeric_frame(block) else None
    if not isinstance(block, np.ndarray) or block.ndim != 2:
        return None
    return _valid_votes(block, k)


def block_proba(block, spec, log_p, start=0, block_info=None):
    """Posterior class probabilities of one block.

    ``start`` is the block's first row in ``L`` (for error messages); under
    dask's ``map_blocks`` it comes from ``block_info``.
    """
    if block_info and 0 in block_info:
        start = block_info[0]["array-location"][0][0]
        if np.isnan(start):  # unknown chunk sizes
            start = None
    idx = pack_votes(block, spec["k"])
    if idx is not None:
        # scores relative to class 0: the softmax does not see the difference
        T = np.zeros((spec["k"], idx.shape[1]))
        packed_lookup(
            idx, _packed_tables(spec, "diff_tables"), out=T[1:], n_out=spec["k"] - 1
        )
        T += log_p[:, None]
        T -= T.max(axis=0)
        np.exp(T, out=T)
        T /= T.sum(axis=0)
        return T.T
    try:
        rows, cols, vals, n_b = _block_votes(block, spec, start or 0)
    except ValueError as exc:
        if start is None:
            where = block_info[0]["chunk-location"][0]
            raise ValueError(
                f"{exc} (rows are counted within dask block {where}: the "
                "array's chunk sizes are unknown)"
            ) from exc
        raise
    _, S = _scores(rows, cols, vals, n_b, spec)
    T = S + log_p
    T -= T.max(axis=1, keepdims=True)
    E = np.exp(T)
    return E / E.sum(axis=1, keepdims=True)


def sum_results(results):
    """Add up per-block result dicts."""
    total = {}
    for res in results:
        for key, value in res.items():
            total[key] = total[key] + value if key in total else value
    return total


# ---------------------------------------------------------------- packed codes
# A dense integer block is read as bytes: each vote is one int8, and the low
# ``b`` bits of a byte tell the vote apart (-1 is 0xFF, whose low bits are all
# ones, and no class reaches that value). Reading ``w`` consecutive sources as
# one unsigned word and squeezing those fields together gives one small code
# per group of ``w`` sources; a lookup turns it into the group's pattern
# number, the votes read as ``w`` digits in base ``k + 1`` (digit ``k`` for an
# abstain), so that tables and histograms have no unreachable entries. Every
# later step then does table lookups and counts over ``m / w`` pattern
# numbers per row instead of ``m`` votes.


def pack_plan(m, k):
    """Bits per vote ``b``, sources per group ``w`` and number of groups.

    A group's bit code has at most 16 bits, and its histogram over the ``k -
    1`` classes a pass tallies (``(k + 1) ** w * (k - 1)`` doubles) stays
    within 256 KiB: 8 sources for k = 2, 4 for k <= 7, 2 for k <= 31.
    """
    b = int(k).bit_length()
    for w in (8, 4, 2):
        if w * b <= 16 and (k + 1) ** w * max(k - 1, 1) * 8 <= 2**18:
            return b, w, -(-m // w)
    return b, 1, m


def mergeable(m, k):
    """Whether a row's group patterns fit one 62-bit key, so that identical
    rows can be found and merged (see :func:`pack_matrix`)."""
    n_groups = pack_plan(m, k)[2]
    return n_patterns(m, k) ** n_groups <= 2**62


def n_patterns(m, k):
    """How many vote patterns a group of sources has: ``(k + 1) ** w``."""
    return (k + 1) ** pack_plan(m, k)[1]


@functools.lru_cache(maxsize=128)
def _lane_mask(width, spacing, total):
    return sum(((1 << width) - 1) << (spacing * i) for i in range(total // spacing))


@functools.lru_cache(maxsize=32)
def _pattern_numbers(k, w):
    """Pattern number of every ``w * b``-bit group code (see :func:`pack_votes`)."""
    b = int(k).bit_length()
    codes = np.arange(2 ** (w * b))
    number = np.zeros(len(codes), dtype=np.intp)
    for t in range(w):
        field = (codes >> (t * b)) & (2**b - 1)
        number += np.minimum(field, k) * (k + 1) ** t  # abstain (all ones) -> k
    number = number.astype(np.uint8 if (k + 1) ** w <= 2**8 else np.uint16)
    number.flags.writeable = False
    return number


#: per-thread scratch arrays of :func:`pack_votes`, reused from block to block
#: (memory fresh from the system is slow to touch on some machines)
_scratch = threading.local()
_SCRATCH_BYTES = 2**23


def _scratch_array(name, shape, dtype, tag=None):
    """``(array, fresh)``: a scratch array of this thread, reused while
    ``shape``, ``dtype`` and ``tag`` stay the same (then ``fresh`` is False
    and it holds what was last written to it); arrays over
    ``_SCRATCH_BYTES`` are not kept."""
    key = (shape, np.dtype(dtype), tag)
    kept = getattr(_scratch, name, None)
    if kept is not None and kept[0] == key:
        return kept[1], False
    arr = np.empty(shape, dtype)
    setattr(_scratch, name, (key, arr) if arr.nbytes <= _SCRATCH_BYTES else None)
    return arr, True


def release_scratch():
    """Drop this thread's scratch arrays (up to 4 of 8 MB)."""
    _scratch.__dict__.clear()


class ReleasingScratch:
    """``func`` that drops its thread's scratch arrays when it returns.

    For the blocks run by dask: its pool threads (and a distributed worker's)
    outlive the fit, so scratch arrays kept for the next block would stay
    with each of them for as long as it lives (up to 32 MB a thread).
    """

    def __init__(self, func):
        self.func = func
        # name, docstring and signature of func (map_blocks passes
        # block_info only to a function that names it)
        functools.update_wrapper(self, func)

    def __dask_tokenize__(self):
        return ("ReleasingScratch", self.func.__module__, self.func.__qualname__)

    def __call__(self, *args, **kwargs):
        try:
            return self.func(*args, **kwargs)
        finally:
            release_scratch()


def pack_votes(block, k):
    """Group pattern numbers of a block of votes, shape ``(n_groups,
    n_rows)``: ``sum_t d_t * (k + 1) ** t`` over the group's sources ``t``,
    with ``d_t`` the vote or ``k`` for an abstain; ``uint8`` where they fit,
    else ``uint16``.

    Returns None where ``block`` is not a dense integer ndarray of valid
    votes (the caller then takes the general path, which names bad entries).
    """
    dense = _dense_int_block(block, k)
    if dense is None or k > 127:  # votes must fit in one signed byte
        return None
    n_b, m = dense.shape
    b, w, n_groups = pack_plan(m, k)
    word = np.dtype(f"<u{w}")
    x = _group_words(dense, b, w, n_groups, word)
    moved = _scratch_array("moved", x.shape, word)[0]
    width, spacing = b, 8
    while spacing < 8 * w:
        # move the field of every odd lane down next to its even neighbour
        np.right_shift(x, word.type(spacing - width), out=moved)
        if 2 * width <= spacing:
            # what else moved, and the odd fields where they were, lies above
            # the merged fields: one mask clears both
            x |= moved
            x &= word.type(_lane_mask(2 * width, 2 * spacing, 8 * w))
        else:
            moved &= word.type(_lane_mask(width, 2 * spacing, 8 * w) << width)
            x &= word.type(_lane_mask(width, 2 * spacing, 8 * w))
            x |= moved
        width, spacing = 2 * width, 2 * spacing
    # codes are below 2**16: 8-byte words read as indices as they are
    if word.itemsize == np.dtype(np.intp).itemsize:
        codes = x.view(np.intp)
    else:
        codes = _scratch_array("codes", x.shape, np.intp)[0]
        np.copyto(codes, x, casting="unsafe")
    table = _pattern_numbers(k, w)
    # a new array: the scratch arrays are reused
    return np.take(table, codes, out=np.empty(x.shape, table.dtype), mode="wrap")


def _group_words(dense, b, w, n_groups, word):
    """Each group's votes as one ``w``-byte word per row, shape ``(n_groups,
    n_rows)``: lane ``t`` (byte ``t``) holds the low ``b`` bits of source
    ``g * w + t``'s vote, all ones for an abstain or a padding source.

    ``int8`` rows laid out byte by byte are read in place, a group's votes as
    one unaligned word; other blocks are first copied into padded rows.
    """
    n_b, m = dense.shape
    mask = word.type(_lane_mask(b, 8, 8 * w))
    x = _scratch_array("words", (n_groups, n_b), word)[0]
    if dense.dtype == np.int8 and dense.strides[1] == 1 and m >= w:
        for g in range(n_groups):
            # the last group's word may reach back into the group before it:
            # its first lanes are then shifted out, and abstains fill the top
            start = min(g * w, m - w)
            view = dense[:, start : start + w].view(word)[:, 0]
            if start == g * w:
                np.bitwise_and(view, mask, out=x[g])
                continue
            lanes = g * w - start
            np.right_shift(view, word.type(8 * lanes), out=x[g])
            top = (1 << 8 * w) - (1 << 8 * (w - lanes))  # the top `lanes` bytes
            x[g] |= word.type(top)
            x[g] &= mask
        return x
    # the votes as bytes, padded with abstains to whole groups (the padding
    # of a kept scratch array is written once: nothing else writes there)
    padded, fresh = _scratch_array("padded", (n_b, n_groups * w), np.int8, m)
    if fresh:
        padded[:, m:] = -1
    np.copyto(padded[:, :m], dense, casting="unsafe")
    np.bitwise_and(padded.view(word).T, mask, out=x)
    return x


def _group_tables(per_source, m, k):
    """Summed per-group tables, shape ``(n_groups, (k + 1) ** w, n_out)``.

    ``per_source[j, a, :]`` is source ``j``'s entry for vote ``a`` in
    ``0..k-1``; abstains (digit ``k``) and padding sources count as nothing.
    A pattern's ``n_out`` entries lie next to each other, so one gather per
    group fetches all of them.
    """
    b, w, n_groups = pack_plan(m, k)
    n_out = per_source.shape[2]
    fields = np.zeros((n_groups * w, k + 1, n_out))
    fields[:m, :k] = per_source
    fields = fields.reshape(n_groups, w, k + 1, n_out)

    def summed(f):  # (n_groups, s, k+1, n_out) -> (n_groups, (k+1)**s, n_out)
        if f.shape[1] == 1:
            return f[:, 0]
        half = f.shape[1] // 2
        low, high = summed(f[:, :half]), summed(f[:, half:])
        # the high digits are the more significant part of the number
        return (high[:, :, None] + low[:, None, :]).reshape(n_groups, -1, n_out)

    return np.ascontiguousarray(summed(fields))


#: rows gathered at a time when a lookup fetches several entries per pattern
#: (their running sum, ``rows x n_out`` doubles, then stays in cache)
_LOOKUP_ROWS = 8192


def packed_lookup(idx, tables, out=None, n_out=None):
    """``sum_g tables[g][idx[g]]``, transposed: shape ``(n_out, n_rows)``.

    ``tables`` has shape ``(n_groups, patterns, width)`` (see
    :func:`_group_tables`); only its first ``n_out`` (default ``width``)
    entries per pattern are returned, the rest being padding (see
    :func:`_packed_tables`). ``out``, if given, is a C-contiguous float64
    array of the result's shape to write into.
    """
    width, n_b = tables.shape[2], idx.shape[1]
    n_out = width if n_out is None else n_out
    if out is None:
        out = np.empty((n_out, n_b))
    if len(idx) == 0:
        out[...] = 0.0
        return out
    # the indices are in range by construction; mode="wrap" lets numpy write
    # into ``out`` directly (mode="raise" would buffer it)
    if width == 1:
        buf = np.empty(n_b)
        for g in range(len(idx)):
            part = idx[g].astype(np.intp, copy=False)
            np.take(tables[g, :, 0], part, out=buf if g else out[0], mode="wrap")
            if g:
                out[0] += buf
        return out
    # several entries per pattern: one gather of a row of ``width`` per group
    # and row (numpy copies short rows in one step) beats ``width`` scalar
    # gathers, 1.5-2x at k = 5; rows go in chunks that stay in cache
    step = min(n_b, _LOOKUP_ROWS)
    acc = np.empty((step, width), tables.dtype)
    buf = np.empty((step, width), tables.dtype)
    for a in range(0, n_b, step):
        b = min(a + step, n_b)
        total, part_buf = acc[: b - a], buf[: b - a]
        for g in range(len(idx)):
            part = idx[g, a:b].astype(np.intp, copy=False)
            np.take(tables[g], part, axis=0, out=part_buf if g else total, mode="wrap")
            if g:
                total += part_buf
        out[:, a:b] = total[:, :n_out].T
    return out


def packed_histograms(idx, weights, m, k):
    """Weighted histograms of the group patterns, shape ``(n_groups, (k + 1)
    ** w, n_weights)``: ``hist[g, v, c] = sum_i weights[c, i] * [idx[g, i] == v]``.

    One sparse one-hot product per group, for all weight rows at once. Where
    most rows of a block abstain on every source of a group, their additions
    to that one cell would each wait for the one before: those groups add
    row ``i`` into copy ``i % 4`` of the histogram and sum the copies (at
    coverage 0.05 and k = 2, 40% faster; with several weight rows the
    additions wait less, so only a larger share of such rows pays).
    """
    n_groups = pack_plan(m, k)[2]
    rows = np.ascontiguousarray(weights.T)
    n_b, n_out = rows.shape
    size, abstain = n_patterns(m, k), _abstain_index(m, k)
    indptr, ones = _csc_frame(n_b)
    hist = np.zeros((n_groups, size, n_out))
    hot = _HOT_SHARE[0] if n_out == 1 else _HOT_SHARE[1]
    for g in range(n_groups):
        if n_b >= 4096 and np.count_nonzero(idx[g] == abstain) > hot * n_b:
            part = np.add(idx[g], _bank_offsets(n_b, size), dtype=np.intp)
            banked = np.zeros((_BANKS * size, n_out))
            _onehot_t_times(part, indptr, ones, rows, banked)
            hist[g] = banked.reshape(_BANKS, size, n_out).sum(axis=0)
            continue
        part = idx[g].astype(np.intp, copy=False)
        _onehot_t_times(part, indptr, ones, rows, hist[g])
    return hist


#: copies of a group histogram that rows are spread over (see
#: :func:`packed_histograms`), and the share of a block's rows with the
#: group's all-abstain pattern from which they are used, for one weight row
#: and for several (measured at 41,943-row blocks: with one weight row, 4
#: copies took 0.59x the time at a share of 0.70 and 1.3x at 0.12)
_BANKS = 4
_HOT_SHARE = (0.4, 0.75)


@functools.lru_cache(maxsize=4)
def _bank_offsets(n_b, size):
    """``(i % _BANKS) * size`` for rows ``i`` of an ``n_b``-row block."""
    offsets = (np.arange(n_b) % _BANKS) * size
    offsets.flags.writeable = False
    return offsets


@functools.lru_cache(maxsize=4)
def _csc_frame(n_b):
    """Column pointers and values of an ``n_b``-column one-hot csc matrix."""
    indptr, ones = np.arange(n_b + 1), np.ones(n_b)
    indptr.flags.writeable = ones.flags.writeable = False
    return indptr, ones


@functools.lru_cache(maxsize=32)
def _digit_matrix(k, w):
    """``D[p, t * (k + 1) + d] = 1`` where digit ``t`` of pattern ``p`` (base
    ``k + 1``) is ``d``, shape ``((k + 1) ** w, w * (k + 1))``."""
    patterns = np.arange((k + 1) ** w)
    D = np.zeros(((k + 1) ** w, w * (k + 1)))
    for t in range(w):
        D[patterns, t * (k + 1) + (patterns // (k + 1) ** t) % (k + 1)] = 1.0
    D.flags.writeable = False
    return D


def split_histograms(hist, m, k):
    """Per-source tallies ``cnt[j, a, c]`` (shape ``(m, k, n_weights)``) from
    group histograms: each group histogram summed over every digit but one,
    for each digit (one product with the patterns' digit indicators)."""
    b, w, n_groups = pack_plan(m, k)
    cnt = np.matmul(_digit_matrix(k, w).T, hist)  # (n_groups, w * (k + 1), n_out)
    return cnt.reshape(n_groups * w, k + 1, hist.shape[2])[:m, :k]


def packed_tallies(idx, weights, m, k):
    """Weighted vote tallies from group indices.

    Returns ``cnt[j, a, c] = sum_i weights[c, i] * [L_ij == a]``, shape
    ``(m, k, n_weights)``.
    """
    return split_histograms(packed_histograms(idx, weights, m, k), m, k)


def _onehot_t_times_public(part, indptr, ones, rows, out):
    # column i of this (size, n_rows) matrix is the one-hot of row i
    onehot_t = sp.csc_matrix((ones, part, indptr), shape=(out.shape[0], len(part)))
    out += onehot_t @ rows


def _onehot_t_times_direct(part, indptr, ones, rows, out):
    # the same product through scipy's compiled kernels (which add into
    # ``out``), without building and checking a csc_matrix for every group;
    # the one-vector kernel is about twice as fast for one weight row
    n_row, n_col = out.shape[0], len(part)
    if rows.shape[1] == 1:
        _csc_matvec(n_row, n_col, indptr, part, ones, rows.reshape(-1), out.reshape(-1))
    else:
        _csc_matvecs(n_row, n_col, rows.shape[1], indptr, part, ones, rows, out)


def _pick_onehot_kernel():
    """The direct kernel where this scipy has it and it agrees with the public
    product on a small case; otherwise the public one."""
    global _csc_matvec, _csc_matvecs
    try:
        from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
        from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs

        part = np.array([2, 0, 2], dtype=np.intp)
        for width in (1, 2):
            rows = np.arange(3.0 * width).reshape(3, width)
            direct, public = np.ones((4, width)), np.ones((4, width))
            args = (part, np.arange(4, dtype=np.intp), np.ones(3), rows)
            _onehot_t_times_direct(*args, direct)
            _onehot_t_times_public(*args, public)
            if not np.array_equal(direct, public):
                return _onehot_t_times_public
        return _onehot_t_times_direct
    except Exception:  # a private scipy module: any change means not using it
        pass
    return _onehot_t_times_public


_csc_matvec = _csc_matvecs = None
_onehot_t_times = _pick_onehot_kernel()


def _abstain_index(m, k):
    return n_patterns(m, k) - 1


def _packed_tables(spec, key):
    """Per-group tables cached in ``spec``: ``"diff_tables"`` (source
    log-factors of classes ``1..k-1`` less those of class 0) or
    ``"count_tables"`` (votes per class, as float32: whole numbers below
    2**24).

    A pattern's entries are padded with zeros to 4 doubles (k = 4) or to 2,
    4 or 8 float32 (counts, k <= 8): numpy gathers rows of 8, 16 or 32 bytes
    in one step, 3x faster than rows of 24 or 40 (see :func:`packed_lookup`).
    """
    if key not in spec:
        m, k = spec["m"], spec["k"]
        if key == "diff_tables":
            log_w = spec["log_w"].reshape(m, k, k)
            per_source = log_w[:, :, 1:] - log_w[:, :, :1]
            width, dtype = (4 if k == 4 else k - 1), np.float64
        else:
            per_source = np.broadcast_to(np.eye(k), (m, k, k))
            width = next((w for w in (2, 4, 8) if w >= k), k)
            dtype = np.float32 if m < 2**24 else np.float64
        padded = np.zeros((m, k, width))
        padded[:, :, : per_source.shape[2]] = per_source
        spec[key] = _group_tables(padded, m, k).astype(dtype, copy=False)
    return spec[key]


def prepare_tables(spec):
    """Fill ``spec``'s table cache before blocks are run in threads."""
    if spec["k"] <= 127:
        _packed_tables(spec, "count_tables")
        if "log_w" in spec:
            _packed_tables(spec, "diff_tables")


def _packed_shares(idx, spec, gold):
    """Vote shares ``Q`` (shape ``(k, n_rows)``), informative and gold masks."""
    counts = packed_lookup(idx, _packed_tables(spec, "count_tables"), n_out=spec["k"])
    n_votes = counts.sum(axis=0)
    voted = n_votes > 0
    Q = np.divide(counts, n_votes, out=np.zeros_like(counts), where=voted)
    is_gold = np.zeros(idx.shape[1], dtype=bool) if gold is None else gold >= 0
    _set_gold(Q, gold, is_gold)
    return Q, voted | is_gold, is_gold


def _set_gold(Q, gold, is_gold, weight=None):
    """One-hot gold labels into the gold columns of ``Q`` (shape ``(k, n)``),
    times the rows' ``weight`` where given."""
    if is_gold.any():
        Q[:, is_gold] = 0.0
        Q[gold[is_gold], np.flatnonzero(is_gold)] = (
            1.0 if weight is None else weight[is_gold]
        )


class PackedBlock:
    """A block of rows already packed into group indices.

    ``idx`` has shape ``(n_groups, n_rows)`` (see :func:`pack_votes`);
    ``weight`` (or None for 1) is how many rows of ``L`` each row stands for:
    its sample weight, summed over the rows it merges where duplicate rows
    were merged.
    """

    def __init__(self, idx, weight=None):
        self.idx = idx
        self.weight = weight


def pack_matrix(L, k, rows_per_block, merge=True, n_jobs=1, sample_weight=None):
    """Pack a label matrix once for the passes of a fit.

    Returns a list of :class:`PackedBlock`, or None where ``L`` is not an
    in-memory ndarray, sparse matrix or DataFrame of valid votes (see
    :func:`pack_votes`). With ``merge``, identical rows are merged into one
    weighted row when that at least halves the rows; the statistics of every
    pass are then the same sums, taken over fewer rows. ``sample_weight``
    (shape ``(n_rows,)``, or None for 1) weighs the rows: the blocks carry
    it, and a merged row weighs the sum of its rows' weights (merged rows
    of weight 0 are left out). ``n_jobs`` threads pack the blocks.
    """
    if is_dask(L) or (isinstance(L, np.ndarray) and type(L) is not np.ndarray):
        return None  # dask arrays and memory maps are read again every pass
    if getattr(L, "ndim", 0) != 2:
        return None
    n, m = L.shape
    _, w, n_groups = pack_plan(m, k)
    size = n_patterns(m, k)
    small = np.uint8 if size <= 2**8 else np.uint16

    def pack(item):
        return pack_votes(item[1], k)

    blocks = iter_blocks(L, rows_per_block)
    if n_jobs > 1 and n > rows_per_block:
        with ThreadPoolExecutor(n_jobs) as pool:
            packed = list(pool.map(pack, blocks))
    else:
        packed = []
        for item in blocks:
            packed.append(pack(item))
            if packed[-1] is None:  # the general path names the bad entry
                break
    if any(idx is None for idx in packed):
        return None
    blocks = [PackedBlock(idx.astype(small, copy=False)) for idx in packed]
    if sample_weight is not None:
        for start, block in zip(range(0, n, rows_per_block), blocks, strict=True):
            block.weight = sample_weight[start : start + block.idx.shape[1]]
    if not merge or not mergeable(m, k) or n < 4:
        return blocks
    # a row's key: its group patterns as digits in base `size`. Padding
    # sources abstain, so every key lies in one run of (k+1)**m numbers from
    # `base`; where that run is short next to n, counting keys beats sorting
    base = (size - (k + 1) ** (m - w * (n_groups - 1))) * size ** (n_groups - 1)
    count = 4 * (k + 1) ** m <= n
    key_type = np.uint32 if size**n_groups <= 2**32 else np.uint64
    keys = np.empty(n, dtype=np.intp if count else key_type)
    # one scratch term for every block: temporaries of a block's size would
    # be fresh memory each time
    term = np.empty(min(n, rows_per_block), dtype=keys.dtype)
    for start, block in zip(range(0, n, rows_per_block), blocks, strict=True):
        key = keys[start : start + block.idx.shape[1]]
        t = term[: len(key)]
        np.copyto(key, block.idx[0], casting="unsafe")
        for g in range(1, n_groups):
            np.copyto(t, block.idx[g], casting="unsafe")
            t *= size**g
            key += t
    if count:
        keys -= base
        counts = np.bincount(keys, weights=sample_weight, minlength=(k + 1) ** m)
        uniq = np.flatnonzero(counts)
        if len(uniq) > n // 2:
            return blocks
        weight = counts[uniq].astype(np.float64)
        uniq = uniq.astype(key_type) + key_type(base)
    else:
        if sample_weight is None:
            keys.sort()
        else:
            order = np.argsort(keys)
            keys, sample_weight = keys[order], sample_weight[order]
        first = np.empty(n, dtype=bool)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        if len(starts) > n // 2:
            return blocks
        uniq = keys[starts]
        if sample_weight is None:
            weight = np.diff(starts, append=n).astype(np.float64)
        else:
            weight = np.add.reduceat(sample_weight, starts)
            uniq, weight = uniq[weight > 0], weight[weight > 0]
    idx = np.stack(
        [(uniq // key_type(size**g)) % key_type(size) for g in range(n_groups)]
    ).astype(small)
    return [
        PackedBlock(idx[:, a : a + rows_per_block], weight[a : a + rows_per_block])
        for a in range(0, len(uniq), rows_per_block)
    ]
