"""Load the real weak-supervision sets in ``../shared/data`` as label matrices.

Used only by the benchmark scripts and the tests; the installed package never
reads ``../shared/data``.
"""

import json
import os
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

SHARED_DATA = Path(
    os.environ.get(
        "SKLEARN_METAL_SHARED_DATA",
        Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
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


def _wrench(name):
    folder = SHARED_DATA / name
    cache = Path(tempfile.gettempdir()) / f"sklearn_metal_bench_{name}.npz"
    if cache.exists():
        d = np.load(cache)
        return {k: d[k] for k in d.files}
    if (folder / "census.tar.gz").exists():
        tmp = tempfile.mkdtemp(prefix="sklearn_metal_census_")
        with tarfile.open(folder / "census.tar.gz") as tar:
            tar.extractall(tmp, filter="data")
        root = next(p.parent for p in Path(tmp).rglob("train.json"))
    else:
        root = folder
    out = {}
    for split in ("train", "valid", "test"):
        ids, L, y = _read_wrench_split(root / f"{split}.json")
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
    np.savez(cache, **out)
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
        df = pd.read_csv(folder / "rte.standardized.tsv", sep="\t")
        df.columns = [c.lstrip("!") for c in df.columns]
        items, L = _pivot(df, "orig_id", "amt_worker_ids", "response")
        gold = df.groupby("orig_id")["gold"].first()
    else:
        df = pd.read_csv(folder / "answer.csv")
        items, L = _pivot(df, "question", "worker", "answer")
        gold = pd.read_csv(folder / "truth.csv").set_index("question")["truth"]
    mask = items.isin(gold.index)
    y = np.full(len(items), -1, dtype=np.int64)
    y[mask] = gold.loc[items[mask]].to_numpy()
    # Crowd sets have no split: fit on every item, score on the items with truth.
    return {"L_train": L, "L_test": L[mask], "y_test": y[mask], "y_train": y}


def load(name):
    """Return a dict with ``L_train``, ``L_test``, ``y_test`` and metadata."""
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
        with open(folder / f"{split}.json") as f:
            raw = json.load(f)
        out[split] = [raw[i]["data"]["text"] for i in raw]
    return out
