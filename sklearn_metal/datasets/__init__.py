"""Bundled demo data and synthetic label matrices."""

from importlib import resources
from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from .._validation import by_class
from ._youtube_lfs import youtube_spam_lfs

__all__ = [
    "load_wrench",
    "load_youtube_spam",
    "load_youtube_votes",
    "make_label_matrix",
    "youtube_spam_lfs",
]

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
        DESCR=(resources.files(__name__) / "data" / "README.txt").read_text(
            encoding="utf-8"
        ),
    )
    for key, value in arrays.items():
        out[key] = value.astype(bool if key == "train_is_gold" else np.int64)
    if as_frame:
        import pandas as pd

        for key in ("L_train", "L_valid", "L_test"):
            out[key] = pd.DataFrame(out[key], columns=YOUTUBE_LF_NAMES)
    return out


def load_youtube_spam(*, as_frame=True):
    """Load the UCI YouTube Spam Collection (1,956 comments, bundled).

    Comments from five music videos, labeled ham (0) or spam (1) by the
    collection's authors (Alberto, Lochter and Almeida, ICMLA 2015; CC BY 4.0).
    The split follows the Snorkel spam tutorial: the first four videos are
    ``"train"``, the fifth (Shakira) is ``"test"``.

    Parameters
    ----------
    as_frame : bool, default=True
        Also return the table as a DataFrame in ``frame``, with a ``text``
        column (the comment) and a ``video`` column.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``text`` (ndarray of str), ``target`` (ndarray of int), ``split``
        (ndarray of ``"train"`` / ``"test"``), ``video`` (1..5), ``frame``
        (DataFrame, when ``as_frame``), ``target_names`` and ``DESCR``.

    Examples
    --------
    >>> from sklearn_metal.datasets import load_youtube_spam
    >>> data = load_youtube_spam()
    >>> len(data.text), int((data.split == "test").sum())
    (1956, 370)
    """
    import pandas as pd

    folder = resources.files(__name__) / "data" / "youtube_spam"
    frames = []
    for video in range(1, 6):
        path = next(
            p for p in folder.iterdir() if p.name.startswith(f"Youtube0{video}")
        )
        with resources.as_file(path) as f:
            frame = pd.read_csv(f)
        frame["video"] = video
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.rename(columns={"CONTENT": "text"})
    split = np.where(frame["video"].to_numpy() == 5, "test", "train")
    out = Bunch(
        text=frame["text"].to_numpy(dtype=object),
        target=frame["CLASS"].to_numpy(dtype=np.int64),
        split=split,
        video=frame["video"].to_numpy(),
        target_names=["ham", "spam"],
        DESCR=(resources.files(__name__) / "data" / "README.txt").read_text(
            encoding="utf-8"
        ),
    )
    if as_frame:
        out.frame = frame
    return out


def load_wrench(path):
    """Read a local WRENCH dataset folder into label matrices and raw data.

    The folder holds ``train.json``, ``valid.json`` and ``test.json``, each
    ``{"<id>": {"data": {...}, "label": int, "weak_labels": [m ints]}}``, and
    optionally ``label.json`` (class names) and ``labeled_ids.json``. A folder
    without ``train.json`` but with a ``*.tar.gz`` of those files (the first
    one, by name) is read from the archive directly, without unpacking it to
    disk; ``label.json`` and ``labeled_ids.json`` are then read from the folder
    when they lie beside the archive, and from the archive otherwise. The
    JSON files are read as UTF-8, whatever the locale's encoding.

    Parameters
    ----------
    path : str or path-like
        The dataset folder.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``train``, ``valid``, ``test`` (each a Bunch with ``L``, ``y``, ``ids``
        and ``data``, the list of raw ``data`` dicts), ``target_names`` and
        ``labeled_ids`` (train ids of the small gold subset, possibly empty).

    Raises
    ------
    ValueError
        If an example lacks ``label`` or ``weak_labels``, holds a value that is
        not an integer (``0.5``, ``null``) or has a different number of weak
        labels than the first example; the error names the file and example.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> from sklearn_metal.datasets import load_wrench
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rows = {"0": {"data": {"text": "hi"}, "label": 0, "weak_labels": [0, -1]}}
    >>> for split in ("train", "valid", "test"):
    ...     _ = (folder / f"{split}.json").write_text(json.dumps(rows))
    >>> load_wrench(folder).train.L
    array([[ 0, -1]])
    """
    import json
    import tarfile
    from contextlib import ExitStack
    from pathlib import Path, PurePosixPath

    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a directory.")
    with ExitStack() as stack:
        if (folder / "train.json").exists():
            source = str(folder)

            def read(name):
                """The parsed JSON file ``name`` of the folder, or None."""
                file = folder / name
                if not file.exists():
                    return None
                with open(file, encoding="utf-8") as f:
                    return json.load(f)

        else:
            archives = sorted(folder.glob("*.tar.gz"))
            if not archives:
                raise ValueError(f"{folder} holds neither train.json nor a *.tar.gz.")
            source = str(archives[0])
            tar = stack.enter_context(tarfile.open(archives[0]))
            members = {PurePosixPath(m.name): m for m in tar.getmembers() if m.isfile()}
            trains = sorted(
                (p for p in members if p.name == "train.json"),
                key=lambda p: (len(p.parts), str(p)),
            )
            if not trains:
                raise ValueError(f"{archives[0]} holds no train.json.")
            root = trains[0].parent

            def read(name):
                """The parsed JSON member ``name`` beside train.json, or None."""
                member = members.get(root / name)
                if member is None:
                    return None
                with tar.extractfile(member) as f:
                    return json.load(f)

        def read_optional(name):
            """``name`` from the folder, else from where the splits are."""
            file = folder / name
            if file.exists():
                with open(file, encoding="utf-8") as f:
                    return json.load(f)
            return read(name)

        out = Bunch(target_names=None, labeled_ids=[])
        for split in ("train", "valid", "test"):
            raw = read(f"{split}.json")
            if raw is None:
                raise ValueError(f"{source} has no {split}.json.")
            ids = list(raw)
            where = f"{source} {split}.json"
            out[split] = Bunch(
                ids=ids,
                L=_wrench_ints(raw, ids, "weak_labels", where),
                y=_wrench_ints(raw, ids, "label", where),
                data=[raw[i]["data"] for i in ids],
            )
        labels = read_optional("label.json")
        if labels is not None:
            out.target_names = [labels[str(c)] for c in range(len(labels))]
        ids = read_optional("labeled_ids.json")
        if ids is not None:
            out.labeled_ids = [
                str(i)
                for i in (ids.get("labeled_ids", []) if isinstance(ids, dict) else ids)
            ]
    return out


def _is_int64(value):
    """Whether the JSON value ``value`` is an integer that int64 holds."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and -(2**63) <= value < 2**63
    )


def _wrench_ints(raw, ids, key, where):
    """The integers under ``key`` of every example, as an int64 array.

    A missing key, a value that is not an integer (``0.5``, ``null``) or weak
    labels of different lengths raise a ``ValueError`` that names the example.
    """
    values = []
    for i in ids:
        if key not in raw[i]:
            raise ValueError(f"{where}: example {i!r} has no {key!r}.")
        value = raw[i][key]
        if key == "weak_labels":
            ok = isinstance(value, list) and all(map(_is_int64, value))
        else:
            ok = _is_int64(value)
        if not ok:
            expected = "a list of integers" if key == "weak_labels" else "an integer"
            raise ValueError(
                f"{where}: example {i!r} has {key} {value!r}; expected {expected}."
            )
        if key == "weak_labels" and values and len(value) != len(values[0]):
            raise ValueError(
                f"{where}: example {i!r} has {len(value)} weak labels, the "
                f"example {ids[0]!r} {len(values[0])}; every example needs one "
                "per labeling function."
            )
        values.append(value)
    return np.array(values, dtype=np.int64)


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_sources": [Interval(Integral, 1, None, closed="left")],
        "cardinality": [Interval(Integral, 2, None, closed="left")],
        "accuracies": ["array-like", None],
        "coverages": ["array-like", Interval(Real, 0, 1, closed="right")],
        "class_balance": ["array-like", None],
        "dependencies": ["array-like", None],
        "copy_prob": [Interval(Real, 0, 1, closed="both")],
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
    dependencies=None,
    copy_prob=0.9,
    random_state=None,
):
    """Generate sources with known accuracies, optionally correlated in pairs.

    Each source votes on a row with probability ``coverages[j]`` (independent
    of the class); when it votes it names the true class with probability
    ``accuracies[j]`` and otherwise a wrong class chosen uniformly. For every
    pair ``(i, j)`` in ``dependencies``, source ``j`` copies source ``i``'s
    vote (abstain included) on each row with probability ``copy_prob``, so the
    two are correlated given the class.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_sources : int, default=10
        Number of sources.
    cardinality : int, default=2
        Number of classes.
    accuracies : array-like of shape (n_sources,), default=None
        Probability that a vote of each source is correct, each in [0, 1];
        drawn uniformly from [0.6, 0.9] when None. A value at or below
        ``1 / cardinality`` makes a source no better than a random guess
        (an adversarial source), which is allowed.
    coverages : float or array-like of shape (n_sources,), default=0.5
        Probability that each source votes, in (0, 1]; a float applies to
        every source.
    class_balance : array-like of shape (cardinality,), default=None
        Class prior: one non-negative probability per class, summing to 1;
        uniform when None. A pandas Series is read by its index, which must
        be the classes ``0..cardinality-1`` in any order (as
        ``y.value_counts(normalize=True)`` gives them).
    dependencies : list of (int, int) or array-like of shape (n_pairs, 2), \
            default=None
        Pairs ``(i, j)`` of distinct sources in ``0..n_sources-1``: source
        ``j`` copies source ``i``.
    copy_prob : float, default=0.9
        Probability that a dependent source copies its parent on a row.
    random_state : int, RandomState instance or None, default=None
        Seed of the local generator.

    Returns
    -------
    L : ndarray of shape (n_samples, n_sources)
        Votes, ``-1`` = abstain.
    y : ndarray of shape (n_samples,)
        True classes.
    accuracies : ndarray of shape (n_sources,)
        The accuracies used (of each source's own votes, before copying).

    Raises
    ------
    ValueError
        If ``accuracies``, ``coverages`` or ``class_balance`` has the wrong
        length or holds a value outside its range (named with its index), if
        ``class_balance`` does not sum to 1, or if a pair in ``dependencies``
        does not name two distinct sources.

    Examples
    --------
    >>> from sklearn_metal.datasets import make_label_matrix
    >>> L, y, acc = make_label_matrix(5, 3, random_state=0)
    >>> L.shape, y.shape, acc.shape
    ((5, 3), (5,), (3,))
    >>> make_label_matrix(5, 3, accuracies=[0.7, 0.8, 1.5])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: accuracies[2] = 1.5 is outside [0, 1]: each accuracy is ...
    """
    rng = check_random_state(random_state)
    k = cardinality
    if accuracies is not None:
        accuracies = _check_probabilities(
            accuracies,
            "accuracies",
            n_sources,
            "one per source",
            "each accuracy is the probability that a vote of the source is correct",
        )
    coverages = _check_probabilities(
        coverages,
        "coverages",
        n_sources,
        "one per source, or a float",
        "each coverage is the probability that the source votes on a row",
        open_at_zero=True,
        scalar=True,
    )
    if class_balance is None:
        p = np.full(k, 1.0 / k)
    else:
        p = _check_probabilities(
            by_class(class_balance, k, "class_balance"),
            "class_balance",
            k,
            f"one probability per class (cardinality={k})",
            "class_balance must be non-negative and sum to 1",
        )
        if abs(p.sum() - 1.0) > np.sqrt(np.finfo(np.float64).eps):
            raise ValueError(
                f"class_balance sums to {p.sum():g}; it must be non-negative "
                "and sum to 1 (the prior probability of each class)."
            )
    pairs = []
    for pair in () if dependencies is None else dependencies:
        values = np.asarray(pair)
        if (
            values.shape != (2,)
            or values.dtype.kind not in "iu"
            or not (0 <= values.min() and values.max() < n_sources)
            or values[0] == values[1]
        ):
            raise ValueError(
                f"dependency {pair!r} must pair two distinct sources in "
                f"0..{n_sources - 1}."
            )
        pairs.append((int(values[0]), int(values[1])))
    if accuracies is None:
        accuracies = rng.uniform(0.6, 0.9, size=n_sources)
    y = rng.choice(k, size=n_samples, p=p)
    correct = rng.random_sample((n_samples, n_sources)) < accuracies
    wrong = (y[:, None] + rng.randint(1, k, size=(n_samples, n_sources))) % k
    L = np.where(correct, y[:, None], wrong)
    L[rng.random_sample((n_samples, n_sources)) >= coverages] = -1
    for i, j in pairs:
        copy = rng.random_sample(n_samples) < copy_prob
        L[copy, j] = L[copy, i]
    return L, y, accuracies


def _check_probabilities(
    value, name, length, expected, meaning, *, open_at_zero=False, scalar=False
):
    """``value`` as a float array of shape ``(length,)`` with entries in [0, 1].

    With ``scalar``, a number is broadcast to every entry; with
    ``open_at_zero``, 0 is excluded.
    The error names ``name``, the bad entry and its index, and the range.
    """
    interval = "(0, 1]" if open_at_zero else "[0, 1]"
    try:
        values = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must hold numbers in {interval}; got {value!r}."
        ) from exc
    if values.ndim == 0 and scalar:
        values = np.full(length, float(values))
    if values.shape != (length,):
        raise ValueError(
            f"{name} has shape {values.shape}; expected ({length},), {expected}."
        )
    low = values > 0 if open_at_zero else values >= 0
    bad = ~(low & (values <= 1))
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"{name}[{i}] = {values[i]:g} is outside {interval}: {meaning}."
        )
    return values
