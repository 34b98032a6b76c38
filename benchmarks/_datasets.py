"""Load the real weak-supervision sets in ``../shared/data`` as label matrices.

Used only by the benchmark scripts; the installed package never reads
``../shared/data``. The folder is ``shared/data`` next to the project root;
set the environment variable ``SKLEARN_METAL_SHARED_DATA`` to read the data
sets from another folder (one that holds ``youtube/``, ``sms/``, ...).
"""

import hashlib
import json
import os
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

#: The environment variable that overrides where the data sets are read from.
ENV_VAR = "SKLEARN_METAL_SHARED_DATA"
DEFAULT_SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARED_DATA = Path(os.environ.get(ENV_VAR, DEFAULT_SHARED_DATA))

#: For the ``--help`` of the scripts that read these data sets.
if ENV_VAR in os.environ:
    DATA_HELP = (
        f"Data: read from {SHARED_DATA}, as the environment variable {ENV_VAR} "
        f"says (unset, the default is {DEFAULT_SHARED_DATA}: shared/data next to "
        "the project root, one folder per data set)."
    )
else:
    DATA_HELP = (
        f"Data: read from {DEFAULT_SHARED_DATA} (shared/data next to the project "
        "root, one folder per data set). To read them from elsewhere, set the "
        f"environment variable {ENV_VAR} to the folder that holds them."
    )


class SharedDataNotFoundError(FileNotFoundError):
    """A file of a benchmark data set is missing; the message says how to fix it."""


def _require(path, name):
    """``path`` if it exists, else a :class:`SharedDataNotFoundError` naming it."""
    path = Path(path)
    if path.exists():
        return path
    where = (
        f"{ENV_VAR}={os.environ[ENV_VAR]}"
        if ENV_VAR in os.environ
        else f"the default, shared/data next to the project root; {ENV_VAR} is unset"
    )
    raise SharedDataNotFoundError(
        f"data set {name!r} not found: no {path}. The benchmark data are read from "
        f"{SHARED_DATA} ({where}). Set the environment variable {ENV_VAR} to the "
        f"folder that holds the data set folders ({', '.join(DATASETS)})."
    )


#: name -> (kind, cardinality, metric) where metric is "acc" or "f1" (class 1).
DATASETS = {
    "youtube": ("wrench", 2, "acc"),
    "sms": ("wrench", 2, "f1"),
    "trec": ("wrench", 6, "acc"),
    "census": ("wrench", 2, "f1"),
    "crowd_dog": ("crowd", 4, "acc"),
    "crowd_rte": ("crowd", 2, "acc"),
    "crowd_product": ("crowd", 2, "acc"),
}


def _read_wrench_split(path):
    with open(path) as f:
        raw = json.load(f)
    ids = list(raw)
    L = np.array([raw[i]["weak_labels"] for i in ids], dtype=np.int64)
    y = np.array([raw[i]["label"] for i in ids], dtype=np.int64)
    return ids, L, y


def _cache_path(folder):
    """Cache of a WRENCH set, one per source folder (not per name only)."""
    key = hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"sklearn_metal_bench_{folder.name}_{key}.npz"


def _wrench(name):
    folder = SHARED_DATA / name
    cache = _cache_path(folder)
    if cache.exists():
        d = np.load(cache)
        return {k: d[k] for k in d.files}
    _require(folder, name)
    if (folder / "census.tar.gz").exists():
        # unpacked (119 MB) only to read it; the votes are cached below
        with tempfile.TemporaryDirectory(prefix="sklearn_metal_census_") as tmp:
            with tarfile.open(folder / "census.tar.gz") as tar:
                # extraction filters are new in Python 3.10.12 and 3.11.4
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(tmp, **safe)
            root = next(p.parent for p in Path(tmp).rglob("train.json"))
            out = _read_wrench(folder, root, name)
    else:
        out = _read_wrench(folder, folder, name)
    np.savez(cache, **out)
    return out


def _read_wrench(folder, root, name):
    """The splits' votes and labels from ``root``, the gold ids from ``folder``."""
    out = {}
    for split in ("train", "valid", "test"):
        ids, L, y = _read_wrench_split(_require(root / f"{split}.json", name))
        out[f"L_{split}"], out[f"y_{split}"] = L, y
        if split == "train":
            labeled = set()
            if (folder / "labeled_ids.json").exists():
                with open(folder / "labeled_ids.json") as f:
                    raw_ids = json.load(f)
                if isinstance(raw_ids, dict):
                    raw_ids = raw_ids.get("labeled_ids", [])
                labeled = {str(i) for i in raw_ids}
            out["train_is_gold"] = np.array([i in labeled for i in ids])
    return out


def _pivot(df, item, worker, answer):
    items = pd.Index(sorted(df[item].unique(), key=str))
    workers = pd.Index(sorted(df[worker].unique(), key=str))
    L = np.full((len(items), len(workers)), -1, dtype=np.int64)
    L[items.get_indexer(df[item]), workers.get_indexer(df[worker])] = df[answer]
    return items, L


def _crowd(name):
    folder = SHARED_DATA / name
    if name == "crowd_rte":
        df = pd.read_csv(_require(folder / "rte.standardized.tsv", name), sep="\t")
        df.columns = [c.lstrip("!") for c in df.columns]
        items, L = _pivot(df, "orig_id", "amt_worker_ids", "response")
        gold = df.groupby("orig_id")["gold"].first()
    else:
        df = pd.read_csv(_require(folder / "answer.csv", name))
        items, L = _pivot(df, "question", "worker", "answer")
        truth = pd.read_csv(_require(folder / "truth.csv", name))
        gold = truth.set_index("question")["truth"]
    mask = items.isin(gold.index)
    y = np.full(len(items), -1, dtype=np.int64)
    y[mask] = gold.loc[items[mask]].to_numpy()
    # Crowd sets have no split: fit on every item, score on the items with truth.
    return {"L_train": L, "L_test": L[mask], "y_test": y[mask], "y_train": y}


def load(name):
    """Return a dict with ``L_train``, ``L_test``, ``y_test`` and metadata.

    Raises :class:`SharedDataNotFoundError` when a file of the data set is
    missing.
    """
    kind, k, metric = DATASETS[name]
    data = _wrench(name) if kind == "wrench" else _crowd(name)
    data.update(name=name, cardinality=k, metric=metric)
    return data


def score(metric, y_true, y_pred):
    """Score hard predictions with the dataset's published metric."""
    from sklearn.metrics import accuracy_score, f1_score

    if metric == "f1":
        return f1_score(y_true, y_pred, pos_label=1, zero_division=0.0)
    return accuracy_score(y_true, y_pred)


def load_texts(name):
    """Texts (``data.text``) of a WRENCH text set, per split, in file order."""
    folder = SHARED_DATA / name
    out = {}
    for split in ("train", "valid", "test"):
        with open(_require(folder / f"{split}.json", name)) as f:
            raw = json.load(f)
        out[split] = [raw[i]["data"]["text"] for i in raw]
    return out


def check_available(names):
    """Raise :class:`SharedDataNotFoundError` unless every data set can be loaded.

    A cheap check of the files :func:`load` reads (or of its cache), made
    before a long run.
    """
    for name in names:
        kind = DATASETS[name][0]
        folder = SHARED_DATA / name
        if kind == "wrench":
            if _cache_path(folder).exists() or (folder / "census.tar.gz").exists():
                continue
            files = [folder / f"{split}.json" for split in ("train", "valid", "test")]
        elif name == "crowd_rte":
            files = [folder / "rte.standardized.tsv"]
        else:
            files = [folder / "answer.csv", folder / "truth.csv"]
        for path in files:
            _require(path, name)
