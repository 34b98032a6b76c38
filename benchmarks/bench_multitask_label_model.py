"""Multi-task label model: a hierarchy of tasks, and many independent labels.

What it measures
----------------
1. ``hierarchy``: synthetic entity typing with known source accuracies. Task
   ``entity`` (person 0 / organization 1); task ``person_kind`` (3 classes) is
   defined only for persons, ``org_kind`` (2 classes) only for organizations.
   Sources of a child task also fire, with a source-specific favourite class, on
   rows where their task does not apply (an "is a politician" rule firing on a
   government office). It reports, for n rows, the accuracy on each task (child
   tasks: on the rows where they are defined, argmax of ``predict_proba``) of
   ``MultitaskLabelModel`` over the task graph against one independent
   ``LabelModel`` per task, and the mean absolute error of the learned source
   accuracies against the generating ones.
2. ``multilabel``: independent binary tasks (5, 10, 20, 50 labels; 3 sources
   each, n = 20,000): fit time of ``MultitaskLabelModel``, minimum of 3 runs.

How to run
----------
From the project root::

    python benchmarks/bench_multitask_label_model.py
    python benchmarks/bench_multitask_label_model.py --n 100000
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE)]

import numpy as np  # noqa: E402

from sklearn_metal import LabelModel, MultitaskLabelModel, TaskGraph  # noqa: E402


def make_hierarchy(n, random_state=0):
    """Votes, gold labels and true accuracies of the entity-typing hierarchy."""
    rng = np.random.RandomState(random_state)
    graph = TaskGraph(
        {"entity": 2, "person_kind": 3, "org_kind": 2},
        edges=[("entity", "person_kind", [0]), ("entity", "org_kind", [1])],
    )
    entity = rng.choice(2, size=n, p=[0.6, 0.4])
    person = np.where(entity == 0, rng.choice(3, size=n, p=[0.5, 0.3, 0.2]), -1)
    org = np.where(entity == 1, rng.choice(2, size=n, p=[0.5, 0.5]), -1)
    Y = np.column_stack([entity, person, org])
    specs = [  # (task, accuracy, coverage where defined, stray firing rate)
        (0, 0.85, 0.5, 0.0),
        (0, 0.8, 0.5, 0.0),
        (0, 0.75, 0.4, 0.0),
        (0, 0.7, 0.4, 0.0),
        (1, 0.8, 0.5, 0.3),
        (1, 0.75, 0.5, 0.3),
        (1, 0.7, 0.5, 0.3),
        (1, 0.65, 0.5, 0.3),
        (2, 0.8, 0.5, 0.25),
        (2, 0.75, 0.5, 0.25),
        (2, 0.7, 0.5, 0.25),
    ]
    cards = graph.cardinalities
    L = np.full((n, len(specs)), -1)
    for j, (t, acc, cov, stray) in enumerate(specs):
        k = cards[t]
        truth = Y[:, t]
        defined = truth >= 0
        wrong = (truth + rng.randint(1, k, size=n)) % k
        vote = np.where(rng.random_sample(n) < acc, truth, wrong)
        fires = defined & (rng.random_sample(n) < cov)
        L[fires, j] = vote[fires]
        stray_fire = ~defined & (rng.random_sample(n) < stray)
        L[stray_fire, j] = j % k  # the source's favourite class
    accuracies = np.array([s[1] for s in specs])
    source_tasks = [graph.tasks[s[0]] for s in specs]
    return L, Y, graph, source_tasks, accuracies


def hierarchy(n):
    L, Y, graph, source_tasks, accuracies = make_hierarchy(n)
    start = time.perf_counter()
    joint = MultitaskLabelModel(graph, source_tasks).fit(L)
    t_joint = time.perf_counter() - start
    proba = joint.predict_proba(L)
    task_of = joint.source_task_index_
    print(f"hierarchy, n = {n}: accuracy on the rows where each task is defined")
    print(f"{'task':14s} {'joint':>8s} {'independent':>12s}")
    independent_acc = np.zeros(len(accuracies))
    for t, name in enumerate(graph.tasks):
        cols = np.flatnonzero(task_of == t)
        single = LabelModel(cardinality=graph.cardinalities[t]).fit(L[:, cols])
        independent_acc[cols] = single.accuracies_
        defined = Y[:, t] >= 0
        acc_joint = np.mean(proba[t][defined].argmax(axis=1) == Y[defined, t])
        acc_single = np.mean(single.predict(L[defined][:, cols]) == Y[defined, t])
        print(f"{name:14s} {100 * acc_joint:8.2f} {100 * acc_single:12.2f}")
    mae_joint = np.mean(np.abs(joint.accuracies_ - accuracies))
    mae_single = np.mean(np.abs(independent_acc - accuracies))
    print(
        f"source accuracy MAE: joint {mae_joint:.4f}, independent {mae_single:.4f}; "
        f"joint fit {t_joint:.2f} s, EM iterations {joint.n_iter_}"
    )


def multilabel(n=20_000, repeats=3):
    print(f"\nindependent binary tasks, 3 sources each, n = {n}: fit time")
    for n_tasks in (5, 10, 20, 50):
        rng = np.random.RandomState(0)
        Y = rng.randint(0, 2, size=(n, n_tasks))
        L = np.full((n, 3 * n_tasks), -1)
        for t in range(n_tasks):
            for s in range(3):
                fires = rng.random_sample(n) < 0.6
                vote = np.where(rng.random_sample(n) < 0.75, Y[:, t], 1 - Y[:, t])
                L[fires, 3 * t + s] = vote[fires]
        graph = TaskGraph.independent(n_tasks)
        source_tasks = np.repeat(np.arange(n_tasks), 3)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model = MultitaskLabelModel(graph, source_tasks).fit(L)
            times.append(time.perf_counter() - start)
        best = min(times)
        print(
            f"{n_tasks:3d} labels: {best:6.2f} s  ({1000 * best / n_tasks:6.1f} ms per "
            f"label; mean accuracy {model.score(L, Y):.3f})"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n",
        type=int,
        default=100_000,
        help="rows of the hierarchy part (default: 100000); the multilabel part "
        "always uses 20,000",
    )
    args = parser.parse_args(argv)
    hierarchy(args.n)
    multilabel()


if __name__ == "__main__":
    main()
