"""Chunked passes over a label matrix: numpy, memory-mapped, sparse or Dask.

Every function here works on one block of rows and returns small arrays (of
size ``m * k`` by ``k`` at most) that are summed over blocks, so the label
model's fit needs memory independent of ``n`` beyond one block.
"""

import numpy as np
import scipy.sparse as sp

from ._statistics import one_hot_votes
from ._validation import check_label_matrix

__all__ = [
    "block_moments",
    "block_pass",
    "block_proba",
    "grouped_scores",
    "is_dask",
    "iter_blocks",
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


def block_moments(block, spec, start=0, gold=None):
    """Sufficient statistics of one block for the moment estimate."""
    k, m = spec["k"], spec["m"]
    rows, cols, vals, n_b = _block_votes(block, spec, start)
    A = one_hot_votes(rows, cols, vals, (n_b, m), k)
    Q, informative, is_gold = _shares(rows, cols, vals, n_b, k, gold)
    gold_counts = np.zeros(k)
    if is_gold.any():
        gold_counts = np.bincount(gold[is_gold], minlength=k).astype(np.float64)
    return {
        "n": n_b,
        "tot": np.bincount(cols * k + vals, minlength=m * k).astype(np.float64),
        "cnt": np.asarray(A.T @ Q),
        "q_sum": Q.sum(axis=0),
        "n_info": float(informative.sum()),
        "n_free": float((informative & ~is_gold).sum()),
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
    k = spec["k"]
    rows, cols, vals, n_b = _block_votes(block, spec, start)
    A, S = _scores(rows, cols, vals, n_b, spec)
    Q, informative, is_gold = _shares(rows, cols, vals, n_b, k, gold)
    free = informative & ~is_gold
    S = np.ascontiguousarray(S[free].T)
    S_max = S.max(axis=0) if S.shape[1] else np.zeros(0)
    E = np.exp(S - S_max)
    norm = p @ E
    inv = 1.0 / norm
    out = {
        "nll": float(-(np.log(norm).sum() + S_max.sum())),
        "g": E @ inv,
        "H": (E * inv**2) @ E.T,
    }
    if refine:
        Q[free] = (E * inv * p[:, None]).T
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


def grouped_scores(block, log_w, k, max_table=4096):
    """Scores ``sum_j log_w[j, L_ij, :]`` by table lookups over groups of sources.

    The votes of ``g`` sources form one code in ``(k + 1) ** g``, looked up in
    a table of summed log-factors, so a row costs ``m / g`` lookups instead of
    ``m``: the dense fast path of prediction. Returns the scores transposed,
    shape ``(k, n_rows)``.
    """
    n_b, m = block.shape
    W = np.zeros((m, k + 1, k))
    W[:, 1:, :] = log_w.reshape(m, k, k)
    g = max(1, int(np.floor(np.log(max_table) / np.log(k + 1))))
    code_dtype = np.int16 if (k + 1) ** g < 2**15 else np.int32
    columns = np.ascontiguousarray(block.T)  # one contiguous row per source
    S = np.zeros((k, n_b))
    for a in range(0, m, g):
        code = np.zeros(n_b, dtype=code_dtype)
        table = np.zeros((1, k))
        for j in range(a, min(a + g, m)):
            code *= k + 1
            code += columns[j]
            code += 1
            table = (table[:, None, :] + W[j][None, :, :]).reshape(-1, k)
        table = np.ascontiguousarray(table.T)
        for y in range(k):
            S[y] += table[y].take(code)
    return S


def block_proba(block, spec, log_p):
    """Posterior class probabilities of one block."""
    dense = _dense_int_block(block, spec["k"])
    if dense is not None:
        T = grouped_scores(dense, spec["log_w"], spec["k"]) + log_p[:, None]
        T -= T.max(axis=0)
        E = np.exp(T)
        E /= E.sum(axis=0)
        return E.T
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
