"""Benchmark ``sklearn_metal.LabelModel`` against majority vote and Snorkel.

What it measures
----------------
For each real weak-supervision data set in ``_datasets.DATASETS`` (the WRENCH sets
youtube, sms, trec and census, and the crowd sets dog, rte and product) and for
each of three label models:

* ``sklearn_metal`` -- ``sklearn_metal.LabelModel(cardinality=k)``, defaults;
* ``majority_vote`` -- ``sklearn_metal.MajorityLabelVoter(cardinality=k)``;
* ``snorkel`` -- Snorkel 0.10's ``snorkel.labeling.model.LabelModel(cardinality=k,
  verbose=False)`` fitted with ``fit(L_train, seed=123, progress_bar=False)``,

it reports

* the test score (the data set's published metric: accuracy, or F1 of class 1),
  computed from ``np.argmax(predict_proba(L_test), axis=1)`` for every method, so
  that every method breaks ties the same way: toward the lowest class index;
* the fit time on ``L_train``: the minimum over ``--repeats`` timed fits, after one
  untimed warm-up fit. Prediction is not timed.

Every (data set, method) case runs in a fresh Python subprocess, with
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` set to
``--threads`` (default 1) and, for Snorkel, ``torch.set_num_threads(--threads)``, so
that no case inherits warm caches, thread pools or global random state from another
and all methods use the same number of threads.

How to run
----------
From the project root, with the ``bench`` extra installed (it provides Snorkel)::

    pip install -e ".[bench]"
    python benchmarks/bench_label_model.py
    python benchmarks/bench_label_model.py --datasets youtube sms --repeats 3
    python benchmarks/bench_label_model.py --threads 4 --json results.json

The data are read from ``../shared/data`` (see ``_datasets.py``); set the
environment variable ``SKLEARN_METAL_SHARED_DATA`` to the folder that holds the data
set folders to read them from elsewhere. Census is unpacked once into a cache in the
temporary directory, so its first load takes a few seconds.
``--case DATASET METHOD`` runs a single case and prints one JSON line; the main run
invokes the script that way for each case.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(HERE), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from _datasets import (  # noqa: E402
    DATA_HELP,
    DATASETS,
    SharedDataNotFoundError,
    check_available,
)

METHODS = ("sklearn_metal", "majority_vote", "snorkel")
TIE_POLICY = (
    "every method predicts np.argmax(predict_proba(L_test), axis=1): "
    "ties go to the lowest class index"
)
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
SNORKEL_MISSING = (
    "Snorkel is not installed; it comes with the project's 'bench' extra: "
    'pip install -e ".[bench]" (or pip install snorkel==0.10.0).'
)


# --------------------------------------------------------------------- child
def _make_model(method, cardinality, threads):
    """Return ``(fit, predict_proba)`` callables for a fresh model per fit."""
    if method == "sklearn_metal":
        from sklearn_metal import LabelModel

        state = {}

        def fit(L):
            state["model"] = LabelModel(cardinality=cardinality).fit(L)

        return fit, lambda L: state["model"].predict_proba(L)

    if method == "majority_vote":
        from sklearn_metal import MajorityLabelVoter

        state = {}

        def fit(L):
            state["model"] = MajorityLabelVoter(cardinality=cardinality).fit(L)

        return fit, lambda L: state["model"].predict_proba(L)

    if method == "snorkel":
        import logging

        try:
            import torch
            from snorkel.labeling.model import LabelModel as SnorkelLabelModel
        except ImportError as exc:
            raise SystemExit(SNORKEL_MISSING) from exc

        torch.set_num_threads(threads)
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("snorkel").setLevel(logging.ERROR)
        state = {}

        def fit(L):
            model = SnorkelLabelModel(cardinality=cardinality, verbose=False)
            model.fit(L, seed=123, progress_bar=False)
            state["model"] = model

        return fit, lambda L: state["model"].predict_proba(L)

    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def run_case(dataset, method, repeats, threads):
    """Fit one method on one data set; return its score and minimum fit time."""
    import numpy as np
    from _datasets import load, score

    data = load(dataset)
    L_train, L_test = data["L_train"], data["L_test"]
    fit, predict_proba = _make_model(method, data["cardinality"], threads)

    fit(L_train)  # warm-up: first touch of memory, lazy imports, JIT caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit(L_train)
        times.append(time.perf_counter() - start)

    y_pred = np.argmax(predict_proba(L_test), axis=1)
    return {
        "dataset": dataset,
        "method": method,
        "metric": data["metric"],
        "score": float(score(data["metric"], data["y_test"], y_pred)),
        "fit_time_s": min(times),
        "fit_times_s": times,
        "n_train": int(L_train.shape[0]),
        "n_test": int(L_test.shape[0]),
        "n_sources": int(L_train.shape[1]),
        "cardinality": int(data["cardinality"]),
    }


# -------------------------------------------------------------------- parent
def _spawn_case(dataset, method, repeats, threads):
    env = dict(os.environ)
    env.update({var: str(threads) for var in THREAD_VARS})
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--case",
        dataset,
        method,
        "--repeats",
        str(repeats),
        "--threads",
        str(threads),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"case {dataset}/{method} failed (exit {proc.returncode}):\n"
            f"{proc.stderr.strip()}"
        )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"case {dataset}/{method} printed no result:\n{proc.stdout}")
    return json.loads(lines[-1])


def _version(dist):
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _environment(threads, repeats):
    import sklearn_metal

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sklearn_metal": sklearn_metal.__version__,
        "numpy": _version("numpy"),
        "scikit-learn": _version("scikit-learn"),
        "torch": _version("torch"),
        "snorkel": _version("snorkel"),
        "threads": threads,
        "repeats": repeats,
        "tie_policy": TIE_POLICY,
    }


def _summarize(dataset, cases):
    sm, mv, sn = (cases[m] for m in METHODS)
    return {
        "dataset": dataset,
        "metric": sm["metric"],
        "n_train": sm["n_train"],
        "n_test": sm["n_test"],
        "n_sources": sm["n_sources"],
        "cardinality": sm["cardinality"],
        "score": {m: cases[m]["score"] for m in METHODS},
        "fit_time_s": {m: cases[m]["fit_time_s"] for m in METHODS},
        "fit_times_s": {m: cases[m]["fit_times_s"] for m in METHODS},
        "snorkel_over_sklearn_metal_time": sn["fit_time_s"] / sm["fit_time_s"],
        "sklearn_metal_ge_both": bool(
            sm["score"] >= mv["score"] and sm["score"] >= sn["score"]
        ),
    }


def _print_header(env):
    print("Label-model benchmark: sklearn_metal vs majority vote vs Snorkel 0.10")
    print(f"tie policy: {env['tie_policy']}")
    print(
        f"fit time: min of {env['repeats']} fits after 1 warm-up fit, one fresh "
        f"subprocess per case, {env['threads']} thread(s) "
        f"({', '.join(THREAD_VARS)}, torch.set_num_threads)"
    )
    print(
        "versions: "
        + ", ".join(
            f"{k} {env[k]}"
            for k in ("python", "sklearn_metal", "numpy", "scikit-learn", "torch")
        )
        + f", snorkel {env['snorkel']}"
    )
    print(f"platform: {env['platform']}")
    print(
        "methods: SM = sklearn_metal.LabelModel(cardinality=k); "
        "MV = sklearn_metal.MajorityLabelVoter(cardinality=k); "
        "Snorkel = snorkel LabelModel(cardinality=k, verbose=False)"
        ".fit(L_train, seed=123, progress_bar=False)"
    )
    print()


def _print_table(rows):
    header = (
        f"{'dataset':<14} {'metric':<6} "
        f"{'SM %':>7} {'MV %':>7} {'Snorkel %':>9}  "
        f"{'SM ms':>9} {'MV ms':>9} {'Snorkel ms':>10} {'Snk/SM':>7}  {'SM>=both':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        s, t = r["score"], r["fit_time_s"]
        print(
            f"{r['dataset']:<14} {r['metric']:<6} "
            f"{100 * s['sklearn_metal']:>7.2f} {100 * s['majority_vote']:>7.2f} "
            f"{100 * s['snorkel']:>9.2f}  "
            f"{1e3 * t['sklearn_metal']:>9.2f} {1e3 * t['majority_vote']:>9.2f} "
            f"{1e3 * t['snorkel']:>10.2f} "
            f"{r['snorkel_over_sklearn_metal_time']:>6.1f}x  "
            f"{'yes' if r['sklearn_metal_ge_both'] else 'no':>8}"
        )
    wins = sum(r["sklearn_metal_ge_both"] for r in rows)
    print("-" * len(header))
    print(f"sklearn_metal score >= both MV and Snorkel on {wins}/{len(rows)} data sets")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=DATA_HELP,
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=list(DATASETS),
        default=list(DATASETS),
        metavar="NAME",
        help=f"data sets to run (default: all of {', '.join(DATASETS)})",
    )
    parser.add_argument(
        "--repeats", type=int, default=20, help="timed fits per case (default: 20)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS/OpenMP/torch threads for every method (default: 1)",
    )
    parser.add_argument("--json", metavar="PATH", help="also save the results here")
    parser.add_argument(
        "--case",
        nargs=2,
        metavar=("DATASET", "METHOD"),
        help="run one case in this process and print one JSON line (internal)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be at least 1")

    if args.case is not None:
        dataset, method = args.case
        if dataset not in DATASETS or method not in METHODS:
            parser.error(
                f"--case expects a data set in {list(DATASETS)} and a "
                f"method in {list(METHODS)}"
            )
        try:
            result = run_case(dataset, method, args.repeats, args.threads)
        except SharedDataNotFoundError as exc:
            parser.exit(2, f"{parser.prog}: error: {exc}\n")
        print(json.dumps(result))
        return 0

    try:  # before the long run and its subprocesses
        check_available(args.datasets)
    except SharedDataNotFoundError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    if find_spec("snorkel") is None:
        sys.exit(SNORKEL_MISSING)

    env = _environment(args.threads, args.repeats)
    _print_header(env)
    rows = []
    for dataset in args.datasets:
        cases = {
            method: _spawn_case(dataset, method, args.repeats, args.threads)
            for method in METHODS
        }
        rows.append(_summarize(dataset, cases))
    _print_table(rows)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "results": rows}, f, indent=2)
        print(f"\nresults saved to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
