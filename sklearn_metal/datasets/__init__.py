"""Bundled demo data and synthetic label matrices."""

from importlib import resources
from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["load_youtube_votes", "make_label_matrix"]

YOUTUBE_LF_NAMES = [
    "keyword_my",
    "keyword_subscribe",
    "keyword_link",
    "keyword_please",
    "keyword_song",
    "regex_check_out",
    "short_comment",
    "has_person_nlp",
    "textblob_polarity",
    "textblob_subjectivity",
]


def load_youtube_votes(*, as_frame=False):
    """Load the labeling-function votes of the WRENCH YouTube spam set.

    Ten labeling functions vote ham (0), spam (1) or abstain (-1) on 1,686
    training, 120 validation and 250 test comments. The data ship with the
    package (Apache-2.0, from WRENCH, Zhang et al. 2021; comments from the UCI
    YouTube Spam Collection, CC BY 4.0).

    Parameters
    ----------
    as_frame : bool, default=False
        Return the label matrices as pandas DataFrames named by labeling function.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``L_train``, ``L_valid``, ``L_test`` (label matrices), ``y_train``,
        ``y_valid``, ``y_test`` (gold labels), ``train_is_gold`` (the 100
        training rows WRENCH marks as the small labeled subset),
        ``feature_names``, ``target_names`` and ``DESCR``.

    Examples
    --------
    >>> from sklearn_metal.datasets import load_youtube_votes
    >>> data = load_youtube_votes()
    >>> data.L_train.shape, data.L_test.shape
    ((1686, 10), (250, 10))
    """
    path = resources.files(__name__) / "data" / "youtube_wrench_votes.npz"
    with resources.as_file(path) as p, np.load(p) as raw:
        arrays = {key: raw[key] for key in raw.files}
    out = Bunch(
        feature_names=list(YOUTUBE_LF_NAMES),
        target_names=["ham", "spam"],
        DESCR=(resources.files(__name__) / "data" / "README.txt").read_text(),
    )
    for key, value in arrays.items():
        out[key] = value.astype(bool if key == "train_is_gold" else np.int64)
    if as_frame:
        import pandas as pd

        for key in ("L_train", "L_valid", "L_test"):
            out[key] = pd.DataFrame(out[key], columns=YOUTUBE_LF_NAMES)
    return out


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_sources": [Interval(Integral, 1, None, closed="left")],
        "cardinality": [Interval(Integral, 2, None, closed="left")],
        "accuracies": ["array-like", None],
        "coverages": ["array-like", Interval(Real, 0, 1, closed="right")],
        "class_balance": ["array-like", None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_label_matrix(
    n_samples=1000,
    n_sources=10,
    cardinality=2,
    *,
    accuracies=None,
    coverages=0.5,
    class_balance=None,
    random_state=None,
):
    """Generate conditionally independent sources with known accuracies.

    Each source votes on a row with probability ``coverages[j]`` (independent
    of the class); when it votes it names the true class with probability
    ``accuracies[j]`` and otherwise a wrong class chosen uniformly.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_sources : int, default=10
        Number of sources.
    cardinality : int, default=2
        Number of classes.
    accuracies : array-like of shape (n_sources,), default=None
        Probability that a vote is correct; drawn uniformly from [0.6, 0.9]
        when None.
    coverages : float or array-like of shape (n_sources,), default=0.5
        Probability that each source votes.
    class_balance : array-like of shape (cardinality,), default=None
        Class prior; uniform when None.
    random_state : int, RandomState instance or None, default=None
        Seed of the local generator.

    Returns
    -------
    L : ndarray of shape (n_samples, n_sources)
        Votes, ``-1`` = abstain.
    y : ndarray of shape (n_samples,)
        True classes.
    accuracies : ndarray of shape (n_sources,)
        The accuracies used.

    Examples
    --------
    >>> from sklearn_metal.datasets import make_label_matrix
    >>> L, y, acc = make_label_matrix(5, 3, random_state=0)
    >>> L.shape, y.shape, acc.shape
    ((5, 3), (5,), (3,))
    """
    rng = check_random_state(random_state)
    k = cardinality
    if accuracies is None:
        accuracies = rng.uniform(0.6, 0.9, size=n_sources)
    accuracies = np.asarray(accuracies, dtype=np.float64)
    coverages = np.broadcast_to(np.asarray(coverages, dtype=np.float64), (n_sources,))
    if accuracies.shape != (n_sources,):
        raise ValueError(
            f"accuracies has shape {accuracies.shape}; expected ({n_sources},)."
        )
    p = np.full(k, 1.0 / k) if class_balance is None else np.asarray(class_balance)
    y = rng.choice(k, size=n_samples, p=p)
    correct = rng.random_sample((n_samples, n_sources)) < accuracies
    wrong = (y[:, None] + rng.randint(1, k, size=(n_samples, n_sources))) % k
    L = np.where(correct, y[:, None], wrong)
    L[rng.random_sample((n_samples, n_sources)) >= coverages] = -1
    return L, y, accuracies
