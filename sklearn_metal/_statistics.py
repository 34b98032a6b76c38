"""The one pass over a label matrix: sparse one-hot votes and their tallies.

Nothing here densifies ``L`` into the ``(n_samples, n_sources * k)`` one-hot
form: the one-hot matrix is a CSR matrix with one stored entry per vote.
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["one_hot_votes", "vote_counts"]


def one_hot_votes(rows, cols, vals, shape, cardinality):
    """Sparse one-hot of the non-abstain votes, shape ``(n, m * k)``.

    Column ``j * k + a`` is 1 where source ``j`` voted class ``a``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal._statistics import one_hot_votes
    >>> A = one_hot_votes(np.array([0]), np.array([1]), np.array([1]), (1, 2), 2)
    >>> A.toarray().tolist()
    [[0.0, 0.0, 0.0, 1.0]]
    """
    n, m = shape
    data = np.ones(len(rows), dtype=np.float64)
    indices = cols * cardinality + vals
    if len(rows) and np.all(rows[1:] >= rows[:-1]):
        # rows already sorted (dense input is read row by row): build CSR directly
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
        return sp.csr_matrix((data, indices, indptr), shape=(n, m * cardinality))
    return sp.csr_matrix((data, (rows, indices)), shape=(n, m * cardinality))


def vote_counts(rows, vals, n, cardinality):
    """Per-row count of votes for each class, shape ``(n, k)``.

    ``rows`` and ``vals`` are the row and class of each vote; the work and
    memory are those of the votes and the output, whatever ``cardinality``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal._statistics import vote_counts
    >>> vote_counts(np.array([0, 0]), np.array([1, 1]), 1, 2).tolist()
    [[0.0, 2.0]]
    """
    keys = np.asarray(rows, dtype=np.int64) * cardinality + vals
    counts = np.bincount(keys, minlength=n * cardinality)
    return counts.reshape(n, cardinality).astype(np.float64)
