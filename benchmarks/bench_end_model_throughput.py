"""Training throughput of ``EndModel`` against a plain torch loop.

What it measures
----------------
The default MLP (one hidden layer of 100 ReLU units, Adam, lr 1e-3) trained for 5
epochs with batch size 256 on 100,000 x 300 dense float32 rows (random, two classes
given as soft labels), three ways, each in its own process with the same thread count
(``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` set before
numpy and torch are imported, and ``torch.set_num_threads``):

* ``plain torch``: a hand-written loop (``randperm`` per epoch, index the tensors,
  forward, ``CrossEntropyLoss`` against the soft targets, backward, step);
* ``EndModel``: ``EndModel(max_epochs=5, batch_size=256, train_split=None)``,
  i.e. skorch's training loop with this package's batch iterator;
* ``skorch NeuralNetClassifier``: skorch's stock classifier with its default
  per-row ``DataLoader``, hard labels, for reference.

Each is run ``--repeats`` times, after one untimed warm-up run of itself (one
epoch), and the minimum wall time is reported, with the ratio to the plain loop.

How to run
----------
From the project root::

    python benchmarks/bench_end_model_throughput.py
    python benchmarks/bench_end_model_throughput.py --threads 2 --repeats 5
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE)]

#: --case name -> the name in the table
METHODS = {
    "torch": "plain torch",
    "endmodel": "EndModel",
    "skorch": "skorch NeuralNetClassifier",
}
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def run_case(method, args):
    """Time one method in this process; return its wall times in seconds."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from skorch import NeuralNetClassifier

    from sklearn_metal import EndModel
    from sklearn_metal.modules import MLP

    rng = np.random.RandomState(0)
    X = rng.randn(args.rows, args.features).astype(np.float32)
    logit = X[:, :5].sum(axis=1)
    p = 1 / (1 + np.exp(-logit))
    soft = np.column_stack([1 - p, p]).astype(np.float32)
    hard = (p > 0.5).astype(np.int64)

    def plain_loop(epochs):
        torch.manual_seed(0)
        net = MLP(args.features, 2)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()
        Xt, yt = torch.from_numpy(X), torch.from_numpy(soft)
        net.train()
        for _ in range(epochs):
            perm = torch.randperm(len(Xt))
            for start in range(0, len(Xt), args.batch_size):
                idx = perm[start : start + args.batch_size]
                opt.zero_grad()
                loss = loss_fn(net(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        return net

    def end_model(epochs):
        return EndModel(
            max_epochs=epochs,
            batch_size=args.batch_size,
            train_split=None,
            verbose=0,
            random_state=0,
        ).fit(X, soft)

    def skorch_default(epochs):
        return NeuralNetClassifier(
            MLP,
            module__input_dim=args.features,
            module__output_dim=2,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            max_epochs=epochs,
            batch_size=args.batch_size,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
        ).fit(X, hard)

    fn = {"torch": plain_loop, "endmodel": end_model, "skorch": skorch_default}[method]
    fn(1)  # warm-up, one epoch: first touch of memory, lazy initialization
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        fn(args.epochs)
        times.append(time.perf_counter() - start)
    return times


def spawn(method, args):
    """Run one method in a fresh process with the thread variables set."""
    env = dict(os.environ)
    env.update({var: str(args.threads) for var in THREAD_VARS})
    cmd = [sys.executable, os.path.abspath(__file__), "--case", method]
    for name in ("rows", "features", "epochs", "batch_size", "repeats", "threads"):
        cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"case {method!r} failed (exit {proc.returncode}):\n{proc.stderr.strip()}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=100_000, help="rows (default: 100000)"
    )
    parser.add_argument(
        "--features", type=int, default=300, help="features (default: 300)"
    )
    parser.add_argument(
        "--epochs", type=int, default=5, help="epochs per timed run (default: 5)"
    )
    parser.add_argument("--batch-size", type=int, default=256, help="(default: 256)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per method (default: 3)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS/OpenMP/torch threads for every method (default: 1)",
    )
    parser.add_argument(
        "--skip-skorch",
        action="store_true",
        help="leave out skorch's stock classifier (the slowest)",
    )
    parser.add_argument(
        "--case",
        choices=list(METHODS),
        help="time one method in this process and print its times as JSON (internal)",
    )
    args = parser.parse_args(argv)
    if args.case is not None:
        print(json.dumps(run_case(args.case, args)))
        return

    methods = [m for m in METHODS if not (args.skip_skorch and m == "skorch")]
    results = {METHODS[method]: min(spawn(method, args)) for method in methods}

    print(
        f"{args.rows} x {args.features} float32, {args.epochs} epochs, batch "
        f"{args.batch_size}, {args.threads} thread(s), min of {args.repeats} after "
        "a 1-epoch warm-up, one process per method"
    )
    base = results["plain torch"]
    for name, seconds in results.items():
        print(
            f"{name:30s} {seconds:8.2f} s   ratio to plain loop {seconds / base:5.2f}x"
        )


if __name__ == "__main__":
    main()
