"""Scale: fit and predict time and peak memory from 1e5 to 1e7 rows.

What it measures
----------------
For every ``n`` in ``--ns``, ``m`` in ``--ms`` and ``k`` in ``--ks``, on a dense
``int8`` label matrix of conditionally independent sources (coverage ``--coverage``,
accuracies uniform in [0.6, 0.9]; generated once and cached as ``.npy`` in the
temporary directory), each in its own process with ``--threads`` threads:

* ``sklearn_metal``: ``LabelModel(cardinality=k, n_jobs=threads).fit(L)`` and
  ``predict_proba(L)``;
* ``snorkel``: Snorkel 0.10's ``LabelModel(cardinality=k, verbose=False)``,
  ``.fit(L, seed=123, progress_bar=False)`` and ``predict_proba(L)`` on the same
  ``int8`` array, where its dense one-hot (``n * m * k`` float64, plus the
  int copies it makes) is estimated to fit in ``--snorkel-max-gb`` and ``n`` is at
  most ``--snorkel-max-n``; otherwise reported as not run, with the reason;
* floors: ``read`` (one pass over L: ``np.count_nonzero(L != -1)``, which
  also writes an ``n x m`` bool temporary, as a user's one-liner would),
  ``read_blocked`` (the same count in blocks of 2**20 entries: a pure read),
  ``gram_dense`` (the (m*k) x (m*k) Gram matrix of the float32 one-hot, built in
  blocks of 65,536 rows) and ``gram_sparse`` (scipy.sparse one-hot ``X.T @ X``).

Every method (floors included) first runs its operation once on the first
1,000 rows of ``L``, untimed and unmeasured, so that one-time costs (lazy
imports, torch's first-call set-up) count for none. Times are then the minimum
of at least ``--repeats`` runs, and of as many more (up to 20) as fit in one
second of the operation, for every method alike. With
``--rounds R`` every method's process runs R times per case, in turn with the
other methods' (ours, Snorkel, the floors, ours, ...), and each keeps its
fastest time and largest memory over the rounds. Peak memory
is the largest resident set size sampled every 5 ms during the operation, given
as the increase over the resident size before it (which holds L) and as the
absolute peak, the largest over the runs. Ratios: Snorkel / ours, ours / the
faster Gram floor, predict / each read floor, and the larger of our fit's and
predict's peak increase / the size of L (predict's includes its ``n x k``
float64 output).

How to run
----------
From the project root (``pip install -e ".[bench]"`` for Snorkel)::

    python benchmarks/bench_scale.py
    python benchmarks/bench_scale.py --ns 100000 1000000 --ms 10 --ks 2
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
METHODS = [
    "sklearn_metal",
    "snorkel",
    "read",
    "read_blocked",
    "gram_dense",
    "gram_sparse",
]
#: Rows of L that every method's operation runs on once, untimed, first.
WARM_UP_ROWS = 1000


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Sample the resident set size in a thread while a block runs."""

    def __enter__(self):
        self.base = _rss_bytes()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def data_path(n, m, k, coverage):
    return os.path.join(
        tempfile.gettempdir(), f"sklearn_metal_scale_{n}_{m}_{k}_{coverage}.npy"
    )


def generate(n, m, k, coverage, seed=0, block=200_000):
    import numpy as np

    path = data_path(n, m, k, coverage)
    if os.path.exists(path):
        return path
    rng = np.random.RandomState(seed)
    acc = rng.uniform(0.6, 0.9, size=m)
    L = np.lib.format.open_memmap(
        path + ".tmp.npy", mode="w+", dtype=np.int8, shape=(n, m)
    )
    for a in range(0, n, block):
        b = min(a + block, n)
        y = rng.randint(0, k, size=b - a)
        correct = rng.random_sample((b - a, m)) < acc
        wrong = (y[:, None] + rng.randint(1, k, size=(b - a, m))) % k
        votes = np.where(correct, y[:, None], wrong).astype(np.int8)
        votes[rng.random_sample((b - a, m)) >= coverage] = -1
        L[a:b] = votes
    L.flush()
    del L
    os.replace(path + ".tmp.npy", path)
    return path


def snorkel_fits(n, m, k, max_gb):
    # one-hot float64 (n x m*k) plus the int64 temporaries Snorkel makes
    # (np.where(L == y, 1, 0) per class) and copies of L
    need = n * m * k * 8 + 3 * n * m * 8
    return need <= max_gb * 1e9, need / 1e9


def run_case(method, n, m, k, coverage, repeats, threads):
    import numpy as np

    L = np.load(data_path(n, m, k, coverage))
    L.sum()  # touch every page before timing
    L_warm = L[:WARM_UP_ROWS]
    out = {"method": method, "n": n, "m": m, "k": k, "L_bytes": L.nbytes}

    def timed(fn, warm_up=None):
        # warm-up: `warm_up` (the same operation on the first WARM_UP_ROWS
        # rows) runs once, untimed and unmeasured, so that one-time costs
        # (lazy imports, torch's first-call initialisation: about 60 MB of
        # Snorkel's first fit at 1e5 x 10 x 2) count for no method.
        # time: the fastest run; memory: the largest increase, which is the
        # first run's (later runs reuse pages the allocator kept from it).
        # At least `repeats` runs, more (up to 20) until 1 s has been spent:
        # the same rule for every method, so that sub-second timings on
        # this shared machine rest on more than three samples
        if warm_up is not None:
            warm_up()
        best, peak, abs_peak, result = np.inf, 0, 0, None
        runs, spent = 0, 0.0
        while runs < repeats or (spent < 1.0 and runs < 20):
            runs += 1
            result = None  # drop the previous run's output before measuring
            with PeakRSS() as rss:
                start = time.perf_counter()
                result = fn()
                elapsed = time.perf_counter() - start
            spent += elapsed
            best = min(best, elapsed)
            peak = max(peak, rss.peak - rss.base)
            abs_peak = max(abs_peak, rss.peak)
        return best, peak, abs_peak, result

    if method == "sklearn_metal":
        sys.path.insert(0, ROOT)
        from sklearn_metal import LabelModel

        def fit(X):
            return LabelModel(cardinality=k, n_jobs=threads).fit(X)

        out["fit_s"], out["fit_mem"], out["fit_abs"], model = timed(
            lambda: fit(L), lambda: fit(L_warm)
        )
        out["predict_s"], out["predict_mem"], out["predict_abs"], _ = timed(
            lambda: model.predict_proba(L), lambda: model.predict_proba(L_warm)
        )
    elif method == "snorkel":
        import logging

        import torch
        from snorkel.labeling.model import LabelModel as SnorkelLabelModel

        torch.set_num_threads(threads)
        logging.disable(logging.WARNING)
        # the same int8 L as every other method: an int64 copy made here would
        # sit outside Snorkel's timed region and make its internal copies of L
        # (L + 1, ...) 8x larger, 20-30% more peak memory at 1e5 x 50 x 5 and
        # 1e6 x 10 x 2; Snorkel accepts int8 and gives the same model

        def fit(X):
            model = SnorkelLabelModel(cardinality=k, verbose=False)
            model.fit(X, seed=123, progress_bar=False)
            return model

        out["fit_s"], out["fit_mem"], out["fit_abs"], model = timed(
            lambda: fit(L), lambda: fit(L_warm)
        )
        out["predict_s"], out["predict_mem"], out["predict_abs"], _ = timed(
            lambda: model.predict_proba(L), lambda: model.predict_proba(L_warm)
        )
    elif method == "read":

        def read(X):
            return int(np.count_nonzero(X != -1))

        out["fit_s"], out["fit_mem"], out["fit_abs"], _ = timed(
            lambda: read(L), lambda: read(L_warm)
        )
    elif method == "read_blocked":

        def read_blocked(L):
            rows = max(1, 2**20 // m)
            return sum(
                int(np.count_nonzero(L[a : a + rows] != -1))
                for a in range(0, len(L), rows)
            )

        out["fit_s"], out["fit_mem"], out["fit_abs"], _ = timed(
            lambda: read_blocked(L), lambda: read_blocked(L_warm)
        )
    elif method == "gram_dense":

        def gram(L):
            G = np.zeros((m * k, m * k), dtype=np.float32)
            offsets = np.arange(m) * k
            for a in range(0, len(L), 65_536):
                B = L[a : a + 65_536]
                X = np.zeros((B.shape[0], m * k), dtype=np.float32)
                r, c = np.nonzero(B >= 0)
                X[r, offsets[c] + B[r, c]] = 1.0
                G += X.T @ X
            return G

        out["fit_s"], out["fit_mem"], out["fit_abs"], _ = timed(
            lambda: gram(L), lambda: gram(L_warm)
        )
    elif method == "gram_sparse":
        import scipy.sparse as sp

        def gram(L):
            r, c = np.nonzero(L >= 0)
            X = sp.csr_matrix(
                (np.ones(len(r), dtype=np.float32), (r, c * k + L[r, c])),
                shape=(len(L), m * k),
            )
            return X.T @ X

        out["fit_s"], out["fit_mem"], out["fit_abs"], _ = timed(
            lambda: gram(L), lambda: gram(L_warm)
        )
    return out


def spawn(method, n, m, k, args):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(args.threads)
    repeats = args.repeats
    cmd = [sys.executable, __file__, "--case", method, str(n), str(m), str(k)]
    cmd += ["--coverage", str(args.coverage), "--repeats", str(repeats)]
    cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["?"]
        return {"method": method, "error": f"exit {proc.returncode}: {tail[0]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def combine(earlier, latest):
    """One method's results over rounds: the fastest time, the largest
    memory."""
    if earlier is None or "error" in earlier:
        return latest
    if "error" in latest:
        return earlier
    out = dict(latest)
    for key, value in earlier.items():
        if key.endswith("_s"):
            out[key] = min(value, latest[key])
        elif key.endswith(("_mem", "_abs")):
            out[key] = max(value, latest[key])
    out["rounds"] = earlier.get("rounds", 1) + 1
    return out


def fmt(x, unit=""):
    return "-" if x is None else f"{x:.2f}{unit}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ns",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000, 10_000_000],
        help="rows (default: 100000 1000000 10000000)",
    )
    parser.add_argument(
        "--ms", type=int, nargs="+", default=[10, 50], help="sources (default: 10 50)"
    )
    parser.add_argument(
        "--ks", type=int, nargs="+", default=[2, 5], help="classes (default: 2 5)"
    )
    parser.add_argument(
        "--coverage",
        type=float,
        default=0.3,
        help="chance that a source votes on a row (default: 0.3)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="least timed runs per operation and process; more, up to 20, while "
        "they take under 1 s in all (default: 3)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS/OpenMP threads, torch threads for Snorkel and n_jobs for ours, "
        "for every method (default: 1)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="processes per method and case, run in turn with the other "
        "methods' (times: the fastest; memory: the largest)",
    )
    parser.add_argument(
        "--snorkel-max-gb",
        type=float,
        default=12.0,
        help="skip Snorkel where its estimated memory exceeds this (default: 12)",
    )
    parser.add_argument(
        "--snorkel-max-n",
        type=int,
        default=10_000_000,
        help="skip Snorkel above this many rows (default: 10000000)",
    )
    parser.add_argument(
        "--skip-sparse-gram-above",
        type=int,
        default=1_000_000,
        help="skip the scipy.sparse Gram floor above this many rows (default: 1000000)",
    )
    parser.add_argument("--json", metavar="PATH", help="also save the results here")
    parser.add_argument(
        "--case",
        nargs=4,
        metavar=("METHOD", "N", "M", "K"),
        help="run one case in this process and print one JSON line (internal)",
    )
    args = parser.parse_args(argv)
    if args.case:
        method, n, m, k = args.case[0], *map(int, args.case[1:])
        res = run_case(method, n, m, k, args.coverage, args.repeats, args.threads)
        print(json.dumps(res))
        return
    print(
        f"dense int8 L, coverage {args.coverage}, {args.threads} thread(s), "
        f"{args.rounds} round(s) of processes per method; times in s (min of "
        "repeats and rounds); memory: peak RSS increase over "
        "the process holding L, in GB"
    )
    header = (
        f"{'n':>9s} {'m':>3s} {'k':>2s} | {'ours fit':>8s} {'pred':>6s} {'mem':>5s} | "
        f"{'snk fit':>8s} {'pred':>6s} {'mem':>5s} | {'read':>5s} {'rdBlk':>5s} "
        f"{'gramD':>6s} {'gramS':>6s} | {'snk/ours':>8s} {'mem/snk':>7s} "
        f"{'fit/gram':>8s} {'pred/read':>9s} {'pred/rdBlk':>10s} {'mem/L':>5s}"
    )
    print(header)
    print("-" * len(header))
    results = []
    for n in args.ns:
        for m in args.ms:
            for k in args.ks:
                generate(n, m, k, args.coverage)
                row = {"n": n, "m": m, "k": k}
                to_run = []
                for method in METHODS:
                    if method == "snorkel":
                        ok, need = snorkel_fits(n, m, k, args.snorkel_max_gb)
                        if not ok:
                            row[method] = {"skipped": f"needs ~{need:.0f} GB"}
                            continue
                        if n > args.snorkel_max_n:
                            row[method] = {"skipped": "n > --snorkel-max-n"}
                            continue
                    if method == "gram_sparse" and n > args.skip_sparse_gram_above:
                        row[method] = {"skipped": "n above --skip-sparse-gram-above"}
                        continue
                    to_run.append(method)
                # rounds interleave the methods, so that a slow spell of this
                # shared machine does not fall on one method only
                for _ in range(args.rounds):
                    for method in to_run:
                        row[method] = combine(
                            row.get(method), spawn(method, n, m, k, args)
                        )
                results.append(row)
                ours, snk = row["sklearn_metal"], row["snorkel"]
                gram = min(
                    r.get("fit_s", float("inf"))
                    for r in (row["gram_dense"], row["gram_sparse"])
                )
                L_gb = n * m / 1e9
                gb = 1e9
                speedup = fmt(snk["fit_s"] / ours["fit_s"]) if "fit_s" in snk else "-"
                mem_ratio = (
                    fmt(ours["fit_mem"] / snk["fit_mem"]) if "fit_mem" in snk else "-"
                )
                print(
                    f"{n:9d} {m:3d} {k:2d} | {fmt(ours.get('fit_s')):>8s} "
                    f"{fmt(ours.get('predict_s')):>6s} "
                    f"{fmt(ours.get('fit_mem', 0) / gb):>5s} | "
                    f"{fmt(snk.get('fit_s')):>8s} {fmt(snk.get('predict_s')):>6s} "
                    f"{fmt(snk['fit_mem'] / gb) if 'fit_mem' in snk else '-':>5s} | "
                    f"{fmt(row['read'].get('fit_s')):>5s} "
                    f"{fmt(row['read_blocked'].get('fit_s')):>5s} "
                    f"{fmt(row['gram_dense'].get('fit_s')):>6s} "
                    f"{fmt(row['gram_sparse'].get('fit_s')):>6s} | "
                    f"{speedup:>8s} {mem_ratio:>7s} "
                    f"{fmt(ours['fit_s'] / gram):>8s} "
                    f"{fmt(ours['predict_s'] / row['read']['fit_s']):>9s} "
                    f"{fmt(ours['predict_s'] / row['read_blocked']['fit_s']):>10s} "
                    f"{fmt(max(ours['fit_mem'], ours['predict_mem']) / gb / L_gb):>5s}",
                    flush=True,
                )
                for name in ("snorkel", "gram_sparse"):
                    if "skipped" in row[name] or "error" in row[name]:
                        why = row[name].get("skipped") or row[name].get("error")
                        print(f"{'':17s} {name} not run: {why}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
