"""Chunked passes over a label matrix: numpy, memory-mapped, sparse or Dask.

Every function here works on one block of rows and returns small arrays (of
size ``m * k`` by ``k`` at most) that are summed over blocks, so the label
model's fit needs memory independent of ``n`` beyond one block.
"""

import functools

import numpy as np
import scipy.sparse as sp

from ._statistics import one_hot_votes
from ._validation import check_label_matrix

__all__ = [
    "PackedBlock",
    "block_moments",
    "block_pass",
    "block_proba",
    "is_dask",
    "iter_blocks",
    "pack_matrix",
    "sum_results",
]


def is_dask(L):
    """Whether ``L`` is a dask array."""
    return type(L).__module__.split(".")[0] == "dask"


def iter_blocks(L, rows_per_block):
    """Yield ``(start, block)`` row blocks of a numpy, sparse or pandas matrix."""
    n = L.shape[0]
    if sp.issparse(L) and L.format != "csr":
        L = L.tocsr()
    for start in range(0, n, rows_per_block):
        stop = min(start + rows_per_block, n)
        if hasattr(L, "iloc"):
            yield start, L.iloc[start:stop]
        else:
            yield start, L[start:stop]


def _block_votes(block, spec, start):
    try:
        rows, cols, vals, (n_b, _) = check_label_matrix(
            block, spec["k"], names=spec["names"]
        )
    except ValueError as exc:
        if start:
            raise ValueError(f"{exc} (row numbers are counted from {start})") from exc
        raise
    return rows, cols, vals, n_b


def _shares(rows, cols, vals, n_b, k, gold):
    counts = np.bincount(rows * k + vals, minlength=n_b * k).reshape(n_b, k)
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


def _block_indices(block, k):
    """``(idx, weight)`` of a packed or dense integer block, else ``(None, None)``."""
    if isinstance(block, PackedBlock):
        return block.idx.astype(np.intp), block.weight
    return pack_votes(block, k), None


def block_moments(block, spec, start=0, gold=None):
    """Sufficient statistics of one block for the moment estimate."""
    k, m = spec["k"], spec["m"]
    idx, weight = _block_indices(block, k)
    if idx is not None:
        n_b = idx.shape[1]
        Q, informative, is_gold = _packed_shares(idx, spec, gold)
        if weight is not None:
            Q *= weight
        cnt = packed_tallies(idx, Q, m, k)
        # every row with a vote has shares summing to one (times its weight, a
        # whole number of rows), so the vote counts are the tallies' row sums
        tot = np.rint(cnt.sum(axis=2)).ravel()
        cnt = cnt.reshape(m * k, k)
        q_sum = Q.sum(axis=1)
    else:
        rows, cols, vals, n_b = _block_votes(block, spec, start)
        A = one_hot_votes(rows, cols, vals, (n_b, m), k)
        Q, informative, is_gold = _shares(rows, cols, vals, n_b, k, gold)
        tot = np.bincount(cols * k + vals, minlength=m * k).astype(np.float64)
        cnt = np.asarray(A.T @ Q)
        q_sum = Q.sum(axis=0)
    gold_counts = np.zeros(k)
    if is_gold.any():
        gold_counts = np.bincount(gold[is_gold], minlength=k).astype(np.float64)
    free = informative & ~is_gold
    if weight is None:
        n_rows, n_info, n_free = n_b, informative.sum(), free.sum()
    else:
        n_rows = weight.sum()
        n_info, n_free = weight[informative].sum(), weight[free].sum()
    return {
        "n": n_rows,
        "tot": tot,
        "cnt": cnt,
        "q_sum": q_sum,
        "n_info": float(n_info),
        "n_free": float(n_free),
        "gold_counts": gold_counts,
    }


def _scores(rows, cols, vals, n_b, spec):
    A = one_hot_votes(rows, cols, vals, (n_b, spec["m"]), spec["k"])
    return A, np.asarray(A @ spec["log_w"])


def block_pass(block, spec, p, refine, start=0, gold=None):
    """One E-step over a block under balance ``p``.

    Returns the block's negative log-likelihood, the gradient and Hessian of
    the balance log-likelihood (for Newton steps), and, when ``refine``, the
    tallies ``A.T @ Q`` and ``sum Q`` under the posteriors (for the M-step).
    """
    k, m = spec["k"], spec["m"]
    idx, weight = _block_indices(block, k)
    if idx is not None:
        S = packed_lookup(idx, _packed_tables(spec, "tables"))
        informative = (idx != _abstain_index(m, k)).any(axis=0)
        is_gold = np.zeros(idx.shape[1], dtype=bool)
        if gold is not None:
            is_gold = gold >= 0
            informative |= is_gold
        free = informative & ~is_gold
        if not free.all():
            S = np.ascontiguousarray(S[:, free])
            weight = None if weight is None else weight[free]
    else:
        rows, cols, vals, n_b = _block_votes(block, spec, start)
        A, S = _scores(rows, cols, vals, n_b, spec)
        Q, informative, is_gold = _shares(rows, cols, vals, n_b, k, gold)
        free = informative & ~is_gold
        S = np.ascontiguousarray(S[free].T)
    S_max = S.max(axis=0) if S.shape[1] else np.zeros(0)
    S -= S_max
    E = np.exp(S, out=S)
    norm = p @ E
    inv = 1.0 / norm
    log_norm = np.log(norm)
    log_norm += S_max
    if weight is None:
        nll, inv_w = -log_norm.sum(), inv
    else:
        nll, inv_w = -(weight @ log_norm), inv * weight
    out = {"nll": float(nll), "g": E @ inv_w, "H": (E * (inv * inv_w)) @ E.T}
    if refine:
        post = E
        post *= inv_w
        post *= p[:, None]
        if idx is not None:
            if free.all():
                Q = post
            else:
                Q = np.zeros((k, idx.shape[1]))
                _set_gold(Q, gold, is_gold)
                Q[:, free] = post
            out["cnt"] = packed_tallies(idx, Q, m, k).reshape(m * k, k)
            out["q_sum"] = Q.sum(axis=1)
        else:
            Q[free] = post.T
            out["cnt"] = np.asarray(A.T @ Q)
            out["q_sum"] = Q.sum(axis=0)
    return out


def _dense_int_block(block, k):
    """The block as an integer ndarray if it is one with valid votes, else None."""
    if not isinstance(block, np.ndarray) or block.ndim != 2:
        return None
    if block.dtype.kind not in "iu" or block.size == 0:
        return None
    if block.min() < -1 or block.max() >= k:
        return None  # let the validation path name the bad entry
    return block


def block_proba(block, spec, log_p):
    """Posterior class probabilities of one block."""
    idx = pack_votes(block, spec["k"])
    if idx is not None:
        T = packed_lookup(idx, _packed_tables(spec, "tables"))
        T += log_p[:, None]
        T -= T.max(axis=0)
        np.exp(T, out=T)
        T /= T.sum(axis=0)
        return T.T
    rows, cols, vals, n_b = _block_votes(block, spec, 0)
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
# one unsigned word and squeezing those fields together gives one small index
# per group of ``w`` sources, so every later step does table lookups and
# counts over ``m / w`` indices per row instead of ``m`` votes.


def pack_plan(m, k):
    """Bits per vote ``b``, sources per group ``w`` and number of groups.

    A group index has at most 12 bits, and the reachable part of a group's
    tables stays within 64 KiB (cache): 4 sources for k <= 5, 2 for k <= 17.
    """
    b = int(k).bit_length()
    w = 1
    for size in (4, 2):
        if size * b <= 12 and (k + 1) ** size * k * 8 <= 2**16:
            w = size
            break
    return b, w, -(-m // w)


def _lane_mask(width, spacing, total):
    return sum(((1 << width) - 1) << (spacing * i) for i in range(total // spacing))


def pack_votes(block, k):
    """Group indices of a dense integer block, shape ``(n_groups, n_rows)``.

    Returns None where ``block`` is not a dense integer ndarray of valid
    votes (the caller then takes the general path, which names bad entries).
    """
    dense = _dense_int_block(block, k)
    if dense is None or k > 127:  # votes must fit in one signed byte
        return None
    n_b, m = dense.shape
    b, w, n_groups = pack_plan(m, k)
    padded = np.empty((n_b, n_groups * w), dtype=np.int8)
    np.copyto(padded[:, :m], dense, casting="unsafe")
    padded[:, m:] = -1
    word = np.dtype(f"<u{w}")
    x = padded.view(word) & word.type(_lane_mask(b, 8, 8 * w))
    width, spacing = b, 8
    while spacing < 8 * w:
        # move the field of every odd lane down next to its even neighbour
        low = word.type(_lane_mask(width, 2 * spacing, 8 * w))
        high = word.type(_lane_mask(width, 2 * spacing, 8 * w) << width)
        x = (x & low) | ((x >> word.type(spacing - width)) & high)
        width, spacing = 2 * width, 2 * spacing
    return np.ascontiguousarray(x.T, dtype=np.intp)


def _group_tables(per_source, m, k):
    """Summed per-group tables, shape ``(n_groups, n_out, 2 ** (w * b))``.

    ``per_source[j, f, :]`` is source ``j``'s entry for packed field value
    ``f`` (votes ``0..k-1``; every other field value, abstains included,
    counts as nothing).
    """
    b, w, n_groups = pack_plan(m, k)
    n_out = per_source.shape[2]
    # fields[j, f, c]: source j's entry, zero for abstains and padding sources
    fields = np.zeros((n_groups * w, 2**b, n_out))
    fields[:m, :k] = per_source
    fields = fields.transpose(0, 2, 1).reshape(n_groups, w, n_out, 2**b)

    def summed(f):  # (n_groups, s, n_out, 2**b) -> (n_groups, n_out, 2**(s*b))
        if f.shape[1] == 1:
            return f[:, 0]
        half = f.shape[1] // 2
        low, high = summed(f[:, :half]), summed(f[:, half:])
        # the high fields are the more significant part of the index
        return (high[:, :, :, None] + low[:, :, None, :]).reshape(n_groups, n_out, -1)

    return np.ascontiguousarray(summed(fields))


def packed_lookup(idx, tables):
    """``sum_g tables[g][:, idx[g]]``, shape ``(n_out, n_rows)``."""
    out = np.zeros((tables.shape[1], idx.shape[1]))
    for g in range(len(idx)):
        for c in range(tables.shape[1]):
            out[c] += tables[g, c].take(idx[g])
    return out


def packed_tallies(idx, weights, m, k):
    """Weighted vote tallies from group indices.

    Returns ``cnt[j, a, c] = sum_i weights[c, i] * [L_ij == a]``, shape
    ``(m, k, n_weights)``: one sparse one-hot product per group for all weight
    rows at once, split into single sources by a 0/1 matrix product.
    """
    b, w, n_groups = pack_plan(m, k)
    rows = np.ascontiguousarray(weights.T)
    n_b, n_out = rows.shape
    indptr = np.arange(n_b + 1)
    ones = np.ones(n_b)
    select = _field_selector(w, b)
    cnt = np.empty((n_groups * w, k, n_out))
    for g in range(n_groups):
        table = _onehot_t_times(idx[g], indptr, ones, 2 ** (w * b), rows)
        # sum the group histogram over every field but one, for each field
        cnt[g * w : (g + 1) * w] = (select @ table).reshape(w, 2**b, n_out)[:, :k]
    return cnt[:m]


def _onehot_t_times_public(part, indptr, ones, size, rows):
    # column i of this (size, n_rows) matrix is the one-hot of row i
    onehot_t = sp.csc_matrix((ones, part, indptr), shape=(size, len(part)))
    return onehot_t @ rows


def _onehot_t_times_direct(part, indptr, ones, size, rows):
    # the same product through scipy's compiled kernel, without building and
    # checking a csc_matrix object for every part of every block
    out = np.zeros((size, rows.shape[1]))
    _csc_matvecs(size, len(part), rows.shape[1], indptr, part, ones, rows, out)
    return out


def _pick_onehot_kernel():
    """The direct kernel where this scipy has it and it agrees with the public
    product on a small case; otherwise the public one."""
    global _csc_matvecs
    try:
        from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs

        part = np.array([2, 0, 2], dtype=np.intp)
        rows = np.arange(6.0).reshape(3, 2)
        args = (part, np.arange(4, dtype=np.intp), np.ones(3), 4, rows)
        if np.array_equal(_onehot_t_times_direct(*args), _onehot_t_times_public(*args)):
            return _onehot_t_times_direct
    except Exception:  # a private scipy module: any change means not using it
        pass
    return _onehot_t_times_public


_csc_matvecs = None
_onehot_t_times = _pick_onehot_kernel()


@functools.lru_cache(maxsize=16)
def _field_selector(s, b):
    """0/1 matrix mapping a histogram over ``s`` packed fields of ``b`` bits to
    the ``s`` single-field histograms, shape ``(s * 2**b, 2**(s * b))``."""
    codes = np.arange(2 ** (s * b))
    select = np.zeros((s * 2**b, len(codes)))
    for t in range(s):
        select[t * 2**b + ((codes >> (t * b)) & (2**b - 1)), codes] = 1.0
    return select


def _abstain_index(m, k):
    b, w, _ = pack_plan(m, k)
    return 2 ** (w * b) - 1


def _packed_tables(spec, key):
    """Per-group tables cached in ``spec``: ``"tables"`` (source log-factors)
    or ``"count_tables"`` (votes per class)."""
    if key not in spec:
        m, k = spec["m"], spec["k"]
        if key == "tables":
            per_source = spec["log_w"].reshape(m, k, k)
        else:
            per_source = np.broadcast_to(np.eye(k), (m, k, k))
        spec[key] = _group_tables(per_source, m, k)
    return spec[key]


def _packed_shares(idx, spec, gold):
    """Vote shares ``Q`` (shape ``(k, n_rows)``), informative and gold masks."""
    counts = packed_lookup(idx, _packed_tables(spec, "count_tables"))
    n_votes = counts.sum(axis=0)
    voted = n_votes > 0
    Q = np.divide(counts, n_votes, out=np.zeros_like(counts), where=voted)
    is_gold = np.zeros(idx.shape[1], dtype=bool) if gold is None else gold >= 0
    _set_gold(Q, gold, is_gold)
    return Q, voted | is_gold, is_gold


def _set_gold(Q, gold, is_gold):
    """One-hot gold labels into the gold columns of ``Q`` (shape ``(k, n)``)."""
    if is_gold.any():
        Q[:, is_gold] = 0.0
        Q[gold[is_gold], np.flatnonzero(is_gold)] = 1.0


class PackedBlock:
    """A block of rows already packed into group indices.

    ``idx`` has shape ``(n_groups, n_rows)`` (see :func:`pack_votes`);
    ``weight`` (or None for 1) is how many rows of ``L`` each row stands for
    when duplicate rows were merged.
    """

    def __init__(self, idx, weight=None):
        self.idx = idx
        self.weight = weight


def pack_matrix(L, k, rows_per_block, merge=True):
    """Pack a dense integer label matrix once for the passes of a fit.

    Returns a list of :class:`PackedBlock`, or None where ``L`` is not an
    in-memory integer ndarray of valid votes. With ``merge``, identical rows
    are merged into one weighted row when that at least halves the rows; the
    statistics of every pass are then the same sums, taken over fewer rows.
    """
    if type(L) is not np.ndarray or L.ndim != 2 or L.dtype.kind not in "iu":
        return None
    n, m = L.shape
    b, w, n_groups = pack_plan(m, k)
    bits = w * b
    small = np.uint8 if bits <= 8 else np.uint16
    blocks = []
    for start in range(0, n, rows_per_block):
        idx = pack_votes(L[start : start + rows_per_block], k)
        if idx is None:
            return None
        blocks.append(PackedBlock(idx.astype(small)))
    if not merge or n_groups * bits > 62 or n < 4:
        return blocks
    key_type = np.int32 if n_groups * bits <= 31 else np.int64
    keys = np.zeros(n, dtype=key_type)
    for start, block in zip(range(0, n, rows_per_block), blocks, strict=True):
        key = keys[start : start + block.idx.shape[1]]
        for g in range(n_groups):
            key |= block.idx[g].astype(key_type) << key_type(g * bits)
    uniq, counts = np.unique(keys, return_counts=True)
    if len(uniq) > n // 2:
        return blocks
    idx = np.stack(
        [
            (uniq >> key_type(g * bits)) & key_type((1 << bits) - 1)
            for g in range(n_groups)
        ]
    ).astype(small)
    weight = counts.astype(np.float64)
    return [
        PackedBlock(idx[:, a : a + rows_per_block], weight[a : a + rows_per_block])
        for a in range(0, len(uniq), rows_per_block)
    ]
