"""Multi-task net against independent end models on related, sparsely labelled tasks.

What it measures
----------------
Synthetic data with shared latent structure: inputs ``X`` (n x 50) map through a
fixed random ``tanh`` layer to a 6-dimensional representation ``h``; each of three
binary tasks is the sign of its own linear function of ``h``, the three directions
sharing a common component (correlation about 0.8). Task ``a`` is labelled
on 3,000 training rows, ``b`` on 100 and ``c`` on 40 (random, overlapping subsets).
A ``MultitaskTrainer(MultitaskClassifier)`` trains one shared trunk on all three
label sets; the baseline trains one ``EndModel`` per task on that task's labelled
rows only. Both use the same trunk size, epochs and learning rate. The table gives
test accuracy on 5,000 held-out rows, mean and standard deviation over ``--seeds``
data draws.

How to run
----------
From the project root::

    python benchmarks/bench_multitask.py
    python benchmarks/bench_multitask.py --seeds 5
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE)]

import numpy as np  # noqa: E402

from sklearn_metal import (  # noqa: E402
    EndModel,
    MultitaskClassifier,
    MultitaskTrainer,
    task_labels,
)

N_LABELS = {"a": 3000, "b": 100, "c": 40}


def make_related_tasks(n_train=4000, n_test=5000, d=50, random_state=0):
    """Inputs, per-task training labels (-1 where unlabelled) and test labels."""
    rng = np.random.RandomState(random_state)
    U = rng.randn(d, 6) / np.sqrt(d)
    base = rng.randn(6)
    # related tasks: each task's direction in h is mostly a shared one
    V = np.column_stack([0.9 * base + 0.4 * rng.randn(6) for _ in N_LABELS])
    n = n_train + n_test
    X = rng.randn(n, d).astype(np.float32)
    h = np.tanh(X @ U)
    Y = (h @ V > 0).astype(int)
    X_train, X_test, Y_train, Y_test = (
        X[:n_train],
        X[n_train:],
        Y[:n_train],
        Y[n_train:],
    )
    labels = {}
    for t, (task, count) in enumerate(N_LABELS.items()):
        y = np.full(n_train, -1)
        rows = rng.choice(n_train, size=count, replace=False)
        y[rows] = Y_train[rows, t]
        labels[task] = y
    return X_train, labels, X_test, Y_test


def run(seed, epochs=60):
    X, labels, X_test, Y_test = make_related_tasks(random_state=seed)
    common = dict(hidden_layer_sizes=(64,), lr=3e-3, max_epochs=epochs, verbose=0)
    net = MultitaskClassifier(
        {t: 2 for t in N_LABELS}, batch_size=64, random_state=seed, **common
    )
    trainer = MultitaskTrainer(net).fit(X, task_labels(**labels))
    multi = trainer.predict(X_test)
    rows = {}
    for t, task in enumerate(N_LABELS):
        lab = labels[task] >= 0
        single = EndModel(
            batch_size=64, train_split=None, random_state=seed, **common
        ).fit(X[lab], labels[task][lab])
        rows[task] = (
            np.mean(multi[:, t] == Y_test[:, t]),
            single.score(X_test, Y_test[:, t]),
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="data draws (default: 3)")
    args = parser.parse_args(argv)
    results = [run(seed) for seed in range(args.seeds)]
    print(f"test accuracy (%), mean +- std over {args.seeds} data draws")
    print(f"{'task':6s} {'labels':>7s} {'multi-task':>14s} {'independent':>14s}")
    for task, count in N_LABELS.items():
        multi = 100 * np.array([r[task][0] for r in results])
        single = 100 * np.array([r[task][1] for r in results])
        print(
            f"{task:6s} {count:7d} {multi.mean():8.2f} +- {multi.std():4.2f} "
            f"{single.mean():8.2f} +- {single.std():4.2f}"
        )


if __name__ == "__main__":
    main()
