"""Training throughput of ``EndModel`` against a plain torch loop.

What it measures
----------------
The default MLP (one hidden layer of 100 ReLU units, Adam, lr 1e-3) trained for 5
epochs with batch size 256 on 100,000 x 300 dense float32 rows (random, two classes
given as soft labels), three ways in the same process and on the same thread count:

* ``plain torch``: a hand-written loop (``randperm`` per epoch, index the tensors,
  forward, ``CrossEntropyLoss`` against the soft targets, backward, step);
* ``EndModel``: ``EndModel(max_epochs=5, batch_size=256, train_split=None)``,
  i.e. skorch's training loop with this package's batch iterator;
* ``skorch NeuralNetClassifier``: skorch's stock classifier with its default
  per-row ``DataLoader``, hard labels, for reference.

Each is run ``--repeats`` times (after a warm-up run of the plain loop) and the
minimum wall time is reported, with the ratio to the plain loop.

How to run
----------
From the project root::

    python benchmarks/bench_end_model_throughput.py
    python benchmarks/bench_end_model_throughput.py --threads 2 --repeats 5
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-skorch", action="store_true")
    args = parser.parse_args(argv)

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

    def plain_loop():
        torch.manual_seed(0)
        net = MLP(args.features, 2)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()
        Xt, yt = torch.from_numpy(X), torch.from_numpy(soft)
        net.train()
        for _ in range(args.epochs):
            perm = torch.randperm(len(Xt))
            for start in range(0, len(Xt), args.batch_size):
                idx = perm[start : start + args.batch_size]
                opt.zero_grad()
                loss = loss_fn(net(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        return net

    def end_model():
        return EndModel(
            max_epochs=args.epochs,
            batch_size=args.batch_size,
            train_split=None,
            verbose=0,
            random_state=0,
        ).fit(X, soft)

    def skorch_default():
        return NeuralNetClassifier(
            MLP,
            module__input_dim=args.features,
            module__output_dim=2,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            max_epochs=args.epochs,
            batch_size=args.batch_size,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
        ).fit(X, hard)

    def best_of(fn):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    plain_loop()  # warm-up: first touch of memory, lazy initialization
    results = {"plain torch": best_of(plain_loop), "EndModel": best_of(end_model)}
    if not args.skip_skorch:
        results["skorch NeuralNetClassifier"] = best_of(skorch_default)

    print(
        f"{args.rows} x {args.features} float32, {args.epochs} epochs, batch "
        f"{args.batch_size}, {args.threads} thread(s), min of {args.repeats}"
    )
    base = results["plain torch"]
    for name, seconds in results.items():
        print(
            f"{name:30s} {seconds:8.2f} s   ratio to plain loop {seconds / base:5.2f}x"
        )


if __name__ == "__main__":
    main()
