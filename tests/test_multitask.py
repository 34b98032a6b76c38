import copy
import json
import pickle
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
import skorch
import torch
from sklearn.base import clone
from sklearn.exceptions import (
    ConvergenceWarning,
    DataConversionWarning,
    NotFittedError,
    UnsetMetadataPassedError,
)
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_metal import (
    LabelModel,
    MultitaskClassifier,
    MultitaskLabelModel,
    MultitaskTrainer,
    Votes,
    task_labels,
)
from sklearn_metal.datasets import make_label_matrix
from sklearn_metal.multitask import (
    MultitaskModule,
    _parse_task_labels,
    _targets,
    _task_split,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_multitask_label_model import make_hierarchy  # noqa: E402


def _data(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 6).astype(np.float32)
    a = (X[:, 0] + X[:, 1] > 0).astype(int)
    b = (X[:, 0] - X[:, 2] > 0).astype(int) + (X[:, 3] > 1)
    return X, a, b, rng


def _net(**kw):
    params = dict(tasks={"a": 2, "b": 3}, max_epochs=15, lr=0.01, verbose=0)
    params.update(kw)
    return MultitaskClassifier(**params, random_state=0)


@pytest.mark.parametrize("scheduler", ["shuffled", "sequential"])
def test_hard_soft_and_vote_label_sets_on_disjoint_rows(scheduler):
    X, a, b, rng = _data()
    a_labels = np.where(np.arange(len(a)) < 150, a, -1)  # first half only
    soft_b = np.full((len(b), 3), np.nan)
    rows = np.arange(100, 300)
    soft_b[rows] = 0.1 / 2
    soft_b[rows, b[rows]] = 0.9
    trainer = MultitaskTrainer(_net(batch_scheduler=scheduler))
    trainer.fit(X, task_labels(a=a_labels, b=soft_b))
    proba = trainer.predict_proba(X)
    assert [p.shape for p in proba] == [(300, 2), (300, 3)]
    assert trainer.score(X, task_labels(a=a, b=b)) > 0.7
    # votes for a, through a label model cloned per task
    votes = np.where(rng.rand(300, 4) < 0.8, a[:, None], 1 - a[:, None])
    votes[rng.rand(300, 4) < 0.3] = -1
    trainer = MultitaskTrainer(
        _net(batch_scheduler=scheduler), label_model=LabelModel()
    )
    trainer.fit(X, task_labels(a=Votes(votes), b=b))
    assert trainer.label_models_["a"].cardinality == 2
    scores = trainer.estimator_.score_tasks(X, task_labels(a=a, b=b))
    assert set(scores) == {"a", "b"} and scores["a"] > 0.75


def test_grid_search_clone_pickle_and_pipeline():
    X, a, b, _ = _data()
    y = task_labels(a=a, b=b)
    search = GridSearchCV(
        MultitaskTrainer(_net(max_epochs=5)),
        {"estimator__lr": [1e-3, 1e-2], "task_weights": [None, {"a": 2.0, "b": 0.5}]},
        cv=3,
    )
    search.fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.predict(X).shape == (300, 2)
    scores = cross_val_score(MultitaskTrainer(_net(max_epochs=3)), X, y, cv=3)
    assert np.all(np.isfinite(scores))
    trainer = MultitaskTrainer(_net(max_epochs=3)).fit(X, y)
    assert not hasattr(clone(trainer), "estimator_")
    restored = pickle.loads(pickle.dumps(trainer))
    for p, q in zip(restored.predict_proba(X), trainer.predict_proba(X), strict=True):
        np.testing.assert_allclose(p, q)
    pipe = make_pipeline(StandardScaler(), MultitaskTrainer(_net(max_epochs=3)))
    assert pipe.fit(X, y).score(X, y) > 0.5


def test_task_weights_reach_the_loss():
    X, a, b, _ = _data()
    y = task_labels(a=a, b=b)
    only_a = MultitaskTrainer(_net(), task_weights={"a": 1.0, "b": 0.0}).fit(X, y)
    scores = only_a.score_tasks(X, y)
    assert scores["a"] > 0.85 and scores["b"] < scores["a"]


def test_checkpoint_log_schedule_and_clipping(tmp_path):
    X, a, b, _ = _data()
    y = task_labels(a=a, b=b)
    net = _net(
        max_epochs=6,
        train_split=0.25,
        checkpoint_dir=str(tmp_path / "ckpt"),
        checkpoint_task="b",
        log_writer="json",
        log_dir=str(tmp_path / "log"),
        lr_schedule="step",
        lr_step_size=2,
        lr_gamma=0.5,
        warmup_epochs=1,
        gradient_clip=1.0,
        optimizer="sgd",
        weight_decay=1e-4,
    ).fit(X, y)
    history = net.history
    assert "valid_a_score" in history[-1] and "valid_b_score" in history[-1]
    assert (tmp_path / "ckpt" / "best_model.pt").exists()
    lines = (tmp_path / "log" / "history.jsonl").read_text().splitlines()
    assert len(lines) == 6 and "valid_score" in json.loads(lines[0])
    lrs = [row["lr"] for row in history]
    # lr=0.01: one warmup epoch at lr / (warmup_epochs + 1), then the step
    # schedule halves it every 2 epochs after warmup
    np.testing.assert_allclose(lrs, [0.005, 0.01, 0.01, 0.005, 0.005, 0.0025])
    assert isinstance(net.optimizer_, torch.optim.SGD)
    assert net.optimizer_.param_groups[0]["weight_decay"] == 1e-4
    best = int(np.argmax(history[:, "valid_b_score"]))
    assert history[best, "checkpoint"]


def test_token_level_task_beside_sentence_task():
    rng = np.random.RandomState(0)
    n, seq, d = 200, 6, 4
    X = rng.randn(n, seq, d).astype(np.float32)
    lengths = rng.randint(2, seq + 1, size=n)
    tokens = (X[:, :, 0] > 0).astype(int)
    for i, length in enumerate(lengths):
        X[i, length:] = 0.0
        tokens[i, length:] = -1
    sentence = (X[:, :, 1].sum(axis=1) > 0).astype(int)
    y = task_labels(tag={"tokens": tokens}, sent=sentence)
    net = MultitaskClassifier(
        {"tag": 2, "sent": 2},
        token_tasks=("tag",),
        max_epochs=30,
        lr=0.01,
        verbose=0,
        random_state=0,
    ).fit(X, y)
    proba = net.predict_proba(X)
    assert proba[0].shape == (n, seq, 2) and proba[1].shape == (n, 2)
    scores = net.score_tasks(X, y)
    assert scores["tag"] > 0.9 and scores["sent"] > 0.7


def test_head_below_top_and_user_trunk():
    X, a, b, _ = _data()
    y = task_labels(a=a, b=b)
    net = _net(hidden_layer_sizes=(16, 8), task_head_layers={"a": 1}).fit(X, y)
    assert net.module_.heads["a"][0].in_features == 16
    assert net.module_.heads["b"][0].in_features == 8

    class Encoder(torch.nn.Module):
        def __init__(self, d=6, width=12):
            super().__init__()
            self.lin = torch.nn.Linear(d, width)

        def forward(self, X):
            return torch.relu(self.lin(X))

    net = _net(module=Encoder, module__width=12, trunk_dim=12).fit(X, y)
    assert isinstance(net.module_.layers[0], Encoder)
    assert net.score(X, y) > 0.6


def test_multitask_label_model_output_feeds_the_trainer():
    L, Y, graph, source_tasks, _ = make_hierarchy(3000)
    lm = MultitaskLabelModel(graph, source_tasks).fit(L)
    proba = lm.predict_proba(L)
    defined = lm.predict_defined_proba(L) > 0.5
    soft = {}
    for t, task in enumerate(graph.tasks):
        p = proba[t].copy()
        p[~defined[:, t]] = np.nan  # rows where the task does not apply
        soft[task] = p
    rng = np.random.RandomState(0)
    X = np.eye(6)[Y[:, 0] * 3 + np.clip(Y[:, 1], 0, 2)] + 0.3 * rng.randn(3000, 6)
    net = MultitaskClassifier(
        dict(zip(graph.tasks, graph.cardinalities, strict=True)),
        max_epochs=5,
        verbose=0,
    )
    trainer = MultitaskTrainer(net).fit(X.astype(np.float32), task_labels(**soft))
    gold = task_labels(**{task: Y[:, t] for t, task in enumerate(graph.tasks)})
    assert trainer.score_tasks(X.astype(np.float32), gold)["entity"] > 0.9


@pytest.mark.parametrize(
    "y, match",
    [
        (lambda a, b: task_labels(a=np.full_like(a, -1), b=b), "no labelled rows"),
        (lambda a, b: task_labels(a=a, zz=b), "unknown task 'zz'"),
        (lambda a, b: task_labels(a=a + 5, b=b), r"label [56]; expected -1"),
        (lambda a, b: task_labels(a=a[:10], b=b[:10]), "rows"),
        # printed in full, not as 1.23457e+06
        (lambda a, b: task_labels(a=a + 1234567, b=b), "label 123456[78]; expected"),
        # (it said "Labels of task 'b' must be 1-D or 2-D")
        (
            lambda a, b: task_labels(a=a, b=sp.csr_matrix(np.eye(3)[b])),
            r"task 'b' are a sparse matrix \(csr_matrix\).*\.toarray\(\)",
        ),
    ],
)
def test_bad_label_sets_raise(y, match):
    X, a, b, _ = _data()
    with pytest.raises(ValueError, match=match):
        MultitaskTrainer(_net()).fit(X, y(a, b))


def test_bad_parameters_raise():
    X, a, b, _ = _data()
    y = task_labels(a=a, b=b)
    for params, match in [
        (dict(batch_scheduler="random"), "batch_scheduler"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(lr_schedule="cosine"), "lr_schedule"),
        (dict(task_head_layers={"a": 5}), "task_head_layers"),
        # 0 and False trained without validation, where EndModel refuses 0
        (dict(train_split=0.0), r"train_split=0.0 must be a fraction in \(0, 1\)"),
        (dict(train_split=0), "train_split=0 must be a fraction"),
        (dict(train_split=False), "train_split=False must be a fraction"),
        (dict(train_split=True), "train_split=True must be a fraction"),
    ]:
        with pytest.raises(ValueError, match=match):
            _net(**params).fit(X, y)
    with pytest.raises(ValueError, match="unknown tasks"):
        MultitaskTrainer(_net(), task_weights={"zz": 1.0}).fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            _net(device="cuda").fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_set_after_fit_is_a_clear_error():
    # as EndModel: not torch's "Torch not compiled with CUDA enabled" assertion
    X, a, b, _ = _data(n=60)
    y = task_labels(a=a, b=b)
    net = _net(max_epochs=1).fit(X, y).set_params(device="cuda")
    methods = {
        "predict": net.predict,
        "predict_proba": net.predict_proba,
        "score": lambda X: net.score(X, y),
        "score_tasks": lambda X: net.score_tasks(X, y),
        "partial_fit": lambda X: net.partial_fit(X, y),
    }
    for method in methods.values():
        with pytest.raises(
            ValueError, match="device='cuda' was requested but torch finds no CUDA"
        ):
            method(X)
    net.set_params(device="cpu")
    assert net.predict(X).shape == (60, 2)


@pytest.mark.gpu
def test_multitask_on_gpu():
    X, a, b, _ = _data()
    y = task_labels(a=a, b=b)
    trainer = MultitaskTrainer(_net(device="cuda")).fit(X, y)
    assert next(trainer.estimator_.module_.parameters()).is_cuda
    assert trainer.score(X, y) > 0.7


def test_scoring_skips_tasks_without_labels_in_the_fold():
    X, a, b, _ = _data()
    b_part = np.where(np.arange(len(b)) < 100, b, -1)
    y = task_labels(a=a, b=b_part)
    trainer = MultitaskTrainer(_net(max_epochs=3)).fit(X, y)
    scores = trainer.score_tasks(X[200:], y.iloc[200:])
    assert list(scores) == ["a"]
    search = GridSearchCV(
        MultitaskTrainer(_net(max_epochs=2)), {"estimator__lr": [0.01]}
    )
    search.fit(X, y)  # unshuffled folds: the last folds have no b labels
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


class _BatchNormTrunk(torch.nn.Module):
    def __init__(self, d=6, width=8):
        super().__init__()
        self.lin = torch.nn.Linear(d, width)
        self.bn = torch.nn.BatchNorm1d(width)

    def forward(self, X):
        return torch.relu(self.bn(self.lin(X)))


@pytest.mark.parametrize("scheduler", ["shuffled", "sequential"])
def test_batch_norm_trunk_merges_a_task_batch_of_one_row(scheduler):
    X, a, b, _ = _data(n=257)
    b_part = np.where(np.arange(257) < 129, b, -1)  # 129 labelled rows
    net = _net(
        module=_BatchNormTrunk,
        trunk_dim=8,
        max_epochs=1,
        batch_scheduler=scheduler,
    ).fit(X, task_labels(a=a, b=b_part))
    sizes = [batch["train_batch_size"] for batch in net.history[-1, "batches"]]
    assert sorted(sizes) == [128, 129, 129]  # a: 128 + 129, b: 129
    with pytest.raises(ValueError, match="Task 'b' labels 1 training row"):
        _net(module=_BatchNormTrunk, trunk_dim=8, max_epochs=1).fit(
            X, task_labels(a=a, b=np.where(np.arange(257) == 0, b, -1))
        )


def test_misspelled_task_names_raise():
    X, a, b, _ = _data(n=60)
    y = task_labels(a=a, b=b)
    for params, match in [
        (
            dict(checkpoint_task="zz", train_split=0.2),
            r"checkpoint_task='zz' is not a task; use 'mean' or one of \['a', 'b'\]",
        ),
        (
            dict(task_weights={"bb": 5.0}),
            r"task_weights names unknown tasks \['bb'\]; the tasks are \['a', 'b'\]",
        ),
        (dict(task_head_layers={"c": 0}), r"task_head_layers names unknown tasks"),
        (dict(task_weights={"a": -1.0}), r"task_weights\['a'\]=-1.0 must be"),
    ]:
        with pytest.raises(ValueError, match=match):
            _net(max_epochs=1, **params).fit(X, y)
    net = _net(max_epochs=2, checkpoint_task="b", train_split=0.2).fit(X, y)
    assert "valid_b_score" in net.history[-1]


def test_bad_training_parameters_raise():
    X, a, b, _ = _data(n=60)
    y = task_labels(a=a, b=b)
    for params, match in [
        (dict(max_epochs=0), "max_epochs=0 must be a positive integer"),
        (dict(batch_size=0), "batch_size=0 must be a positive integer"),
        (
            dict(module__dropout=0.2),
            "module__dropout=0.2 duplicates MultitaskClassifier's dropout "
            "parameter; set dropout=0.2",
        ),
        (dict(module__width=4), "module__width=4 cannot configure the default"),
    ]:
        with pytest.raises(ValueError, match=match):
            _net(**params).fit(X, y)


def test_partly_nan_soft_label_row_raises():
    X, a, b, _ = _data(n=60)
    soft = np.full((60, 3), np.nan)  # all-NaN rows are unlabeled
    soft[:30] = np.eye(3)[b[:30]]
    soft[40] = [np.nan, 1.0, 0.0]
    match = r"Task 'b': soft-label row 40 is \[nan, 1.0, 0.0\]"
    with pytest.raises(ValueError, match=match):
        task_labels(a=a, b=soft)
    # a table edited after task_labels is checked at fit
    soft[40] = [0.0, 1.0, 0.0]
    y = task_labels(a=a, b=soft)
    y.loc[40, "b:0"] = np.nan
    with pytest.raises(ValueError, match=r"Task 'b': soft-label row 40 is \[nan"):
        _net(max_epochs=1).fit(X, y)
    soft[40] = np.nan
    net = _net(max_epochs=1).fit(X, task_labels(a=a, b=soft))
    assert net.score_tasks(X, task_labels(a=a, b=soft))["b"] >= 0


def _sparse_task_data(n=200):
    rng = np.random.RandomState(0)
    X = rng.randn(n, 6).astype(np.float32)
    a = (X[:, 0] > 0).astype(int)
    c = np.full(n, -1)
    c[[3, 50, 120]] = 1
    return X, a, c, rng


# a sparse task that labels a few rows, all of class 1, looks coded -1/+1
@pytest.mark.filterwarnings("ignore:The labels of task:UserWarning")
def test_task_without_validation_labels_is_left_out_of_valid_score():
    X, a, c, _ = _sparse_task_data()
    net = MultitaskClassifier(
        {"a": 2, "c": 2},
        hidden_layer_sizes=(8,),
        max_epochs=4,
        verbose=0,
        random_state=0,
        train_split=0.1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        net.fit(X, task_labels(a=a, c=c))
    for row in net.history:
        assert "valid_c_score" not in row
        assert row["valid_score"] == row["valid_a_score"]
    assert net.history[0, "checkpoint"]
    # an explicit validation set without labels for c is scored the same way
    no_c = np.full(50, -1)
    net.fit(
        X[:150],
        task_labels(a=a[:150], c=c[:150]),
        valid_data=(X[150:], task_labels(a=a[150:], c=no_c)),
    )
    assert "valid_c_score" not in net.history[-1]
    assert np.isfinite(net.history[-1, "valid_score"])
    assert any(net.history[:, "checkpoint"])
    # but the training labels of every task are still required
    with pytest.raises(ValueError, match="Task 'c' has no labelled rows"):
        net.fit(X[150:], task_labels(a=a[150:], c=no_c))


# a sparse task that labels a few rows, all of class 1, looks coded -1/+1
@pytest.mark.filterwarnings("ignore:The labels of task:UserWarning")
def test_checkpoint_task_needs_validation_labels():
    X, a, c, _ = _sparse_task_data()
    params = dict(max_epochs=2, verbose=0, random_state=0, checkpoint_task="c")
    # with 3 labelled rows, the checkpoint task gets a validation row
    net = MultitaskClassifier({"a": 2, "c": 2}, train_split=0.1, **params)
    net.fit(X, task_labels(a=a, c=c))
    assert "valid_c_score" in net.history[-1]
    one = np.where(np.arange(len(c)) == 3, 1, -1)
    with pytest.raises(ValueError, match="checkpoint_task='c', but the validation"):
        net.fit(X, task_labels(a=a, c=one))
    net = MultitaskClassifier({"a": 2, "c": 2}, **params)
    with pytest.raises(ValueError, match="checkpoint_task='c', but the validation"):
        net.fit(X, task_labels(a=a, c=c), valid_data=(X, task_labels(a=a)))


# a sparse task that labels a few rows, all of class 1, looks coded -1/+1
@pytest.mark.filterwarnings("ignore:The labels of task:UserWarning")
@pytest.mark.parametrize("seed", range(5))
def test_train_split_keeps_training_rows_of_every_task(seed):
    X, a, c, _ = _sparse_task_data()
    y = task_labels(a=a, c=c, d=np.where(np.arange(len(a)) < 2, a, -1))
    tasks = {"a": 2, "c": 2, "d": 2}
    targets = _targets(_parse_task_labels(y, tasks), tasks, ())
    for fraction in (0.1, 0.5, 0.9):
        train, valid = _task_split(targets, len(a), fraction, seed)
        assert np.intersect1d(train, valid).size == 0
        assert len(train) + len(valid) == len(a)
        for task, (_, mask) in targets.items():
            assert mask[train].any(), (task, fraction)
        # a's share of validation rows follows the fraction, class by class
        for cls in (0, 1):
            rows = np.flatnonzero(a == cls)
            share = np.isin(rows, valid).mean()
            assert abs(share - fraction) < 0.05


def test_partial_fit_restarts_the_lr_schedule():
    X, a, _, _ = _sparse_task_data()
    y = task_labels(a=a, b=(X[:, 1] > 0).astype(int))
    net = MultitaskClassifier(
        {"a": 2, "b": 2}, max_epochs=3, lr=0.1, lr_schedule="linear", verbose=0
    )
    net.partial_fit(X, y)
    net.partial_fit(X, y)
    np.testing.assert_allclose(net.history[:, "lr"], [0.1, 0.2 / 3, 0.1 / 3] * 2)
    net.set_params(warmup_epochs=1, lr_schedule="constant", max_epochs=2)
    net.partial_fit(X, y)
    np.testing.assert_allclose(net.history[-2:, "lr"], [0.05, 0.1])


def test_warm_start_continues_training():
    X, a, _, _ = _sparse_task_data()
    y = task_labels(a=a, b=(X[:, 1] > 0).astype(int))
    net = MultitaskClassifier(
        {"a": 2, "b": 2}, max_epochs=2, verbose=0, warm_start=True, random_state=0
    )
    net.fit(X, y)
    module, optimizer = net.module_, net.optimizer_
    before = [p.detach().clone() for p in module.parameters()]
    net.fit(X, y)
    assert len(net.history) == 4
    assert net.module_ is module and net.optimizer_ is optimizer
    assert any(
        not torch.equal(p, q)
        for p, q in zip(before, net.module_.parameters(), strict=True)
    )
    with pytest.raises(ValueError, match="warm_start=True continues training"):
        net.set_params(tasks={"a": 2, "b": 3}).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features"):
        net.set_params(tasks={"a": 2, "b": 2}).fit(X[:, :5], y)
    net.set_params(warm_start=False).fit(X, y)
    assert len(net.history) == 2 and net.module_ is not module


def test_later_calls_keep_their_own_best_epoch_and_architecture():
    # a separable task: the first fit's best epoch scores 1.0, which no later
    # epoch beats; a later call must still keep what it trained
    rng = np.random.RandomState(0)
    X = rng.randn(200, 4).astype(np.float32)
    X[:, 0] += np.sign(X[:, 0]) * 2
    y = task_labels(a=(X[:, 0] > 0).astype(int))
    net = MultitaskClassifier(
        {"a": 2},
        max_epochs=10,
        lr=0.05,
        verbose=0,
        random_state=0,
        warm_start=True,
        train_split=0.2,
    ).fit(X, y)

    def weights():
        return [p.detach().clone() for p in net.module_.parameters()]

    for call in (net.fit, net.partial_fit):
        before = weights()
        call(X, y)
        assert any(
            not torch.equal(p, q) for p, q in zip(before, weights(), strict=True)
        )
        assert any(net.history[-10:, "checkpoint"])  # each call checkpoints
    for call, how in ((net.fit, "warm_start=True"), (net.partial_fit, "partial_fit")):
        net.set_params(hidden_layer_sizes=[5])
        with pytest.raises(ValueError, match=f"{how} cannot change the network"):
            call(X, y)
        net.set_params(hidden_layer_sizes=np.array([100]))  # equal to (100,)
        call(X, y)
    net.set_params(trunk_dim=16).partial_fit(X, y)  # unused by the MLP trunk
    # a user trunk, iterable as an nn.Sequential is, trains on as well
    trunk = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU())
    net = MultitaskClassifier(
        {"a": 2}, module=trunk, trunk_dim=8, max_epochs=2, verbose=0, warm_start=True
    ).fit(X, y)
    net.fit(X, y)
    net.partial_fit(X, y)
    assert len(net.history) == 6


def test_trainer_validation_votes_go_through_the_label_models():
    X, a, _, rng = _sparse_task_data()
    votes = np.where(rng.rand(len(a), 4) < 0.8, a[:, None], 1 - a[:, None])
    y = task_labels(a=Votes(votes), c=a)
    # one epoch: the model at the end is the one the validation scored (with
    # more, the best epoch's weights are restored at the end)
    trainer = MultitaskTrainer(
        MultitaskClassifier({"a": 2, "c": 2}, max_epochs=1, verbose=0, random_state=0)
    )
    trainer.fit(X[:150], y.iloc[:150], valid_data=(X[150:], y.iloc[150:]))
    history = trainer.estimator_.history
    assert {"valid_a_score", "valid_c_score", "valid_score"} <= set(history[-1])
    soft = trainer.label_models_["a"].predict_proba(votes[150:])
    expected = trainer.estimator_.score_tasks(X[150:], task_labels(a=soft))["a"]
    assert history[-1, "valid_a_score"] == expected
    # votes for a task fitted on labels cannot be turned into soft labels
    trainer = MultitaskTrainer(
        MultitaskClassifier({"a": 2, "c": 2}, max_epochs=2, verbose=0)
    ).fit(X, task_labels(a=a, c=a))
    match = "Task 'a' has votes, but it was fitted on labels"
    with pytest.raises(ValueError, match=match):
        trainer.score(X, y)
    with pytest.raises(ValueError, match=match):
        trainer.fit(X[:150], task_labels(a=a[:150], c=a[:150]), valid_data=(X, y))


def test_integer_sample_weight_equals_duplicated_rows():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 6).astype(np.float32)
    a = (X[:, 0] > 0).astype(int)
    b = np.where(np.arange(40) % 3 == 0, (X[:, 1] > 0).astype(int), -1)
    weight = rng.randint(0, 4, size=40)
    params = dict(
        tasks={"a": 2, "b": 2},
        hidden_layer_sizes=(8,),
        batch_size=256,  # one batch per task: the batches hold the same rows
        batch_scheduler="sequential",
        max_epochs=3,
        lr=0.05,
        verbose=0,
        random_state=0,
    )
    weighted = MultitaskClassifier(**params).fit(
        X, task_labels(a=a, b=b), sample_weight=weight
    )
    rows = np.repeat(np.arange(40), weight)
    repeated = MultitaskClassifier(**params).fit(
        X[rows], task_labels(a=a[rows], b=b[rows])
    )
    losses = [
        [batch["train_loss"] for batch in net.history[0, "batches"]]
        for net in (weighted, repeated)
    ]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    for p, q in zip(
        weighted.module_.parameters(), repeated.module_.parameters(), strict=True
    ):
        np.testing.assert_allclose(p.detach(), q.detach(), rtol=1e-4, atol=1e-6)
    unweighted = MultitaskClassifier(**params).fit(X, task_labels(a=a, b=b))
    assert not np.allclose(unweighted.predict_proba(X)[0], weighted.predict_proba(X)[0])
    # the trainer passes sample_weight on; bad weights raise
    trainer = MultitaskTrainer(MultitaskClassifier(**params))
    trainer.fit(X, task_labels(a=a, b=b), sample_weight=weight)
    np.testing.assert_allclose(
        trainer.predict_proba(X)[0], weighted.predict_proba(X)[0], rtol=1e-6
    )
    with pytest.raises(ValueError, match="Negative values .* `sample_weight`"):
        MultitaskClassifier(**params).fit(
            X, task_labels(a=a, b=b), sample_weight=-np.ones(40)
        )
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(39,\), expected"):
        MultitaskClassifier(**params).fit(
            X, task_labels(a=a, b=b), sample_weight=np.ones(39)
        )


def _weighted_task_data():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4).astype(np.float32)
    a = (X[:, 0] > 0).astype(int)
    weight = rng.randint(0, 4, size=60)
    params = dict(
        tasks={"a": 2},
        hidden_layer_sizes=(8,),
        max_epochs=3,
        lr=0.05,
        verbose=0,
        random_state=0,
    )
    return X, task_labels(a=a), weight, params


class _RecordingNet(MultitaskClassifier):
    """Keeps every ``sample_weight`` its ``fit`` gets, across clones."""

    seen = []

    def fit(self, X, y, valid_data=None, sample_weight=None, **fit_params):
        _RecordingNet.seen.append(sample_weight)
        return super().fit(X, y, valid_data, sample_weight, **fit_params)


def test_trainer_routes_sample_weight_to_the_net():
    X, y, weight, params = _weighted_task_data()
    weighted = MultitaskClassifier(**params).fit(X, y, sample_weight=weight)
    unweighted = MultitaskClassifier(**params).fit(X, y)
    assert not np.allclose(weighted.predict_proba(X)[0], unweighted.predict_proba(X)[0])
    cv = KFold(3)
    with sklearn.config_context(enable_metadata_routing=True):
        net = MultitaskClassifier(**params).set_fit_request(sample_weight=True)
        trainer = MultitaskTrainer(net).fit(X, y, sample_weight=weight)
        np.testing.assert_allclose(
            trainer.predict_proba(X)[0], weighted.predict_proba(X)[0], rtol=1e-6
        )
        # an alias
        net = MultitaskClassifier(**params).set_fit_request(sample_weight="net_w")
        trainer = MultitaskTrainer(net).fit(X, y, net_w=weight)
        np.testing.assert_allclose(
            trainer.predict_proba(X)[0], weighted.predict_proba(X)[0], rtol=1e-6
        )
        # valid_data is the trainer's own, beside routed weights
        trainer.fit(X, y, valid_data=(X[:10], y.iloc[:10]), net_w=weight)
        assert "valid_score" in trainer.estimator_.history[-1]
        search = GridSearchCV(
            trainer.set_fit_request(valid_data=True), {"task_weights": [None]}, cv=2
        ).fit(X, y, valid_data=(X[:10], y.iloc[:10]), net_w=weight)
        assert "valid_score" in search.best_estimator_.estimator_.history[-1]
        # each fold's net gets the weights of its training rows
        _RecordingNet.seen = []
        net = _RecordingNet(**params).set_fit_request(sample_weight=True)
        routed = cross_val_score(
            MultitaskTrainer(net), X, y, cv=cv, params={"sample_weight": weight}
        )
        assert len(_RecordingNet.seen) == 3
        for seen, (train, _) in zip(_RecordingNet.seen, cv.split(X), strict=True):
            np.testing.assert_array_equal(seen, weight[train])
        # GridSearchCV routes the weights to every fit, the refit included
        search = GridSearchCV(
            MultitaskTrainer(
                MultitaskClassifier(**params).set_fit_request(sample_weight=True)
            ),
            {"task_weights": [None, {"a": 1.0}]},
            cv=2,
        ).fit(X, y, sample_weight=weight)
        assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
        np.testing.assert_allclose(
            search.best_estimator_.predict_proba(X)[0],
            weighted.predict_proba(X)[0],
            rtol=1e-6,
        )
    # with routing off sample_weight goes straight through, unrequested
    not_routed = cross_val_score(
        MultitaskTrainer(MultitaskClassifier(**params)),
        X,
        y,
        cv=cv,
        params={"sample_weight": weight},
    )
    np.testing.assert_allclose(routed, not_routed)
    trainer = MultitaskTrainer(MultitaskClassifier(**params))
    trainer.fit(X, y, sample_weight=weight)
    np.testing.assert_allclose(
        trainer.predict_proba(X)[0], weighted.predict_proba(X)[0], rtol=1e-6
    )


def test_trainer_raises_for_unrequested_or_unknown_metadata():
    X, y, weight, params = _weighted_task_data()
    with sklearn.config_context(enable_metadata_routing=True):
        trainer = MultitaskTrainer(MultitaskClassifier(**params))
        match = r"\[sample_weight\] are passed but are not explicitly set"
        with pytest.raises(UnsetMetadataPassedError, match=match):
            trainer.fit(X, y, sample_weight=weight)
        with pytest.raises(UnsetMetadataPassedError, match=match):
            cross_val_score(
                trainer,
                X,
                y,
                cv=2,
                params={"sample_weight": weight},
                error_score="raise",
            )
        # valid_data routed by a meta-estimator must be requested by the trainer
        # (scikit-learn 1.6 quotes the name: ['valid_data'])
        with pytest.raises(UnsetMetadataPassedError, match=r"\['?valid_data'?\]"):
            cross_val_score(
                trainer, X, y, cv=2, params={"valid_data": (X, y)}, error_score="raise"
            )
        with pytest.raises(TypeError, match="not routed to any object"):
            trainer.fit(X, y, unknown=weight)
    routing = MultitaskTrainer(MultitaskClassifier(**params)).get_metadata_routing()
    assert routing.consumes("fit", ["sample_weight", "valid_data"]) == set()


def _weighted_valid_data(n_valid=60, seed=1):
    """Training rows, and validation rows with noisy labels, b on some rows only,
    and integer weights (large on the rows b does not label)."""
    X, a, b, _ = _data(n=200)
    Xv, av, bv, rng = _data(n=n_valid, seed=seed)
    av = np.where(rng.rand(n_valid) < 1 / 3, 1 - av, av)
    bv = np.where(np.arange(n_valid) % 2 == 0, bv, -1)
    wv = np.where(bv >= 0, rng.randint(0, 4, size=n_valid), 50)
    train = task_labels(a=a, b=b)
    return X, train, Xv, {"a": av, "b": bv}, wv


def _weighted_task_scores(net, X, labels, weight):
    """Each task's accuracy from ``net``'s predictions, weighted over its rows."""
    pred = net.predict(X)
    scores = {}
    for i, (task, truth) in enumerate(labels.items()):
        rows = truth >= 0
        hit = pred[rows, i] == truth[rows]
        scores[task] = np.average(hit, weights=weight[rows])
    return scores


def test_validation_scores_weigh_the_valid_data_rows():
    X, train, Xv, labels, wv = _weighted_valid_data()
    net = _net(max_epochs=5).fit(X, train, valid_data=(Xv, task_labels(**labels), wv))
    # the checkpoint restored at the end is the last epoch marked best
    best = int(np.flatnonzero(net.history[:, "checkpoint"])[-1])
    expected = _weighted_task_scores(net, Xv, labels, wv)
    for task, score in expected.items():
        assert net.history[best, f"valid_{task}_score"] == pytest.approx(score)
    assert net.history[best, "valid_score"] == pytest.approx(
        np.mean(list(expected.values()))
    )
    assert max(net.history[:, "valid_score"]) == net.history[best, "valid_score"]
    unweighted = _weighted_task_scores(net, Xv, labels, np.ones(len(Xv)))
    assert expected["a"] != pytest.approx(unweighted["a"])
    # no weights, or None for them, scores every row once
    pair = _net(max_epochs=2).fit(X, train, valid_data=(Xv, task_labels(**labels)))
    none = _net(max_epochs=2).fit(
        X, train, valid_data=(Xv, task_labels(**labels), None)
    )
    for key in ("valid_loss", "valid_a_score", "valid_b_score"):
        np.testing.assert_array_equal(pair.history[:, key], none.history[:, key])


def test_held_out_rows_keep_their_weights_in_the_validation_scores():
    X, a, b, rng = _data()
    y = task_labels(a=np.where(rng.rand(len(a)) < 0.2, 1 - a, a), b=b)
    w = rng.randint(0, 4, size=len(X))
    net = _net(max_epochs=4, train_split=0.3).fit(X, y, sample_weight=w)
    dataset = net._prepare_fit(X, y, reset=False, sample_weight=w)
    _, valid = net.get_split_datasets(dataset)  # the split of the fit
    labels = {task: target for task, (target, _) in valid.targets.items()}
    best = int(np.flatnonzero(net.history[:, "checkpoint"])[-1])
    expected = _weighted_task_scores(net, valid.X, labels, valid.weights)
    for task, score in expected.items():
        assert net.history[best, f"valid_{task}_score"] == pytest.approx(score)


@pytest.mark.parametrize("token", [False, True])
def test_integer_valid_weights_equal_repeated_valid_rows(token):
    if token:
        rng = np.random.RandomState(0)
        X = rng.randn(160, 5, 3).astype(np.float32)
        tokens = np.where(rng.rand(160, 5) < 0.2, -1, (X[:, :, 0] > 0).astype(int))
        sent = (X[:, :, 1].sum(axis=1) > 0).astype(int)
        sent = np.where(rng.rand(160) < 0.3, 1 - sent, sent)
        y = task_labels(tag={"tokens": tokens}, sent=sent)
        X, Xv, y, yv = X[:100], X[100:], y.iloc[:100], y.iloc[100:]
        wv = rng.randint(0, 4, size=len(Xv))
        params = dict(tasks={"tag": 2, "sent": 2}, token_tasks=("tag",))
        keys = ["valid_tag_score", "valid_sent_score"]
    else:
        X, y, Xv, labels, wv = _weighted_valid_data()
        yv = task_labels(**labels)
        params = {}
        keys = ["valid_a_score", "valid_b_score"]
    params.update(max_epochs=4, batch_size=2048)  # one batch: the same loss
    weighted = _net(**params).fit(X, y, valid_data=(Xv, yv, wv))
    rows = np.repeat(np.arange(len(Xv)), wv)
    repeated = _net(**params).fit(X, y, valid_data=(Xv[rows], yv.iloc[rows]))
    for key in ["valid_loss", "valid_score", *keys]:
        np.testing.assert_allclose(
            weighted.history[:, key], repeated.history[:, key], rtol=1e-5
        )
    assert weighted.history[:, "checkpoint"] == repeated.history[:, "checkpoint"]


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_weighted_validation_scoring_and_its_errors():
    from sklearn.metrics import balanced_accuracy_score

    X, train, Xv, labels, wv = _weighted_valid_data()
    yv = task_labels(**labels)
    net = _net(max_epochs=1, scoring="balanced_accuracy").fit(
        X, train, valid_data=(Xv, yv, wv)
    )
    pred, rows = net.predict(Xv)[:, 0], labels["a"] >= 0
    assert net.history[-1, "valid_a_score"] == pytest.approx(
        balanced_accuracy_score(labels["a"][rows], pred[rows], sample_weight=wv)
    )

    def accuracy(est, X, y):
        return np.mean(est.predict(X) == y)

    _net(max_epochs=1, scoring=accuracy).fit(X, train, valid_data=(Xv, yv))
    with pytest.raises(TypeError, match="takes no sample_weight"):
        _net(max_epochs=1, scoring=accuracy).fit(X, train, valid_data=(Xv, yv, wv))
    with pytest.raises(ValueError, match=r"valid_data must be a pair \(X_valid"):
        _net(max_epochs=1).fit(X, train, valid_data=(Xv, yv, wv, wv))
    # b's validation rows all weigh 0: b is left out, as if it had no labels
    zero_b = np.where(labels["b"] >= 0, 0, wv)
    net = _net(max_epochs=1).fit(X, train, valid_data=(Xv, yv, zero_b))
    assert "valid_b_score" not in net.history[-1]
    assert net.history[-1, "valid_score"] == net.history[-1, "valid_a_score"]
    with pytest.raises(ValueError, match="checkpoint_task='b', but the validation"):
        _net(max_epochs=1, checkpoint_task="b").fit(
            X, train, valid_data=(Xv, yv, zero_b)
        )


def test_soft_and_vote_columns_read_by_number_not_position():
    y = task_labels(a=np.eye(3)[[0, 2, 2, 0]])
    reversed_ = y[["a:2", "a:1", "a:0"]]
    values = _parse_task_labels(reversed_, {"a": 3})["a"][1]
    np.testing.assert_array_equal(values, np.eye(3)[[0, 2, 2, 0]])
    # with 11+ classes sort_index puts t:10 before t:2
    y = task_labels(t=np.eye(12)[[0, 11, 5, 2]]).sort_index(axis=1)
    assert list(y.columns)[:3] == ["t:0", "t:1", "t:10"]
    values = _parse_task_labels(y, {"t": 12})["t"][1]
    np.testing.assert_array_equal(values.argmax(axis=1), [0, 11, 5, 2])
    votes = task_labels(a=Votes(np.array([[0, 1], [1, -1]])))[["a|1", "a|0"]]
    frame = _parse_task_labels(votes, {"a": 2})["a"][1]
    assert list(frame.columns) == ["a|0", "a|1"]
    y = task_labels(a=np.eye(3)[[0, 2, 2, 0]])
    with pytest.raises(ValueError, match=r"numbered \[0, 2\]"):
        _parse_task_labels(y[["a:0", "a:2"]], {"a": 3})
    with pytest.raises(ValueError, match="must end in an integer"):
        _parse_task_labels(y.rename(columns={"a:1": "a:x"}), {"a": 3})


def test_trainer_validates_votes_like_label_model():
    import pandas as pd
    import scipy.sparse as sp

    X, a, _, rng = _data(n=60)
    V = np.where(rng.rand(60, 3) < 0.8, a[:, None], 1 - a[:, None])

    def trainer():
        return MultitaskTrainer(
            MultitaskClassifier(tasks={"a": 2}, max_epochs=2, verbose=0)
        )

    nan = V.astype(float)
    nan[2, 1] = np.nan
    nullable = pd.DataFrame(V).astype("Int8")
    nullable.iloc[2, 1] = pd.NA
    cases = [
        (V - 0.5, "non-integer value 0.5 at row 0"),
        (V > 0, "dtype bool"),
        (nan, "'a\\|1'.*NaN at row 2"),
        (nullable, "'a\\|1'.*NaN at row 2"),
    ]
    for L, match in cases:
        with pytest.raises(ValueError, match=match):
            trainer().fit(X, task_labels(a=Votes(L)))
    # unstored sparse entries abstain, as in LabelModel
    S = sp.csr_matrix(V)
    dense = np.where(V == 0, -1, V)
    fitted = trainer().fit(X, task_labels(a=Votes(S)))
    assert (
        fitted.label_models_["a"].get_params() == LabelModel().fit(dense).get_params()
    )
    np.testing.assert_array_equal(Votes(S).L, dense)


def test_votes_refuse_what_label_model_refuses():
    import pandas as pd
    import scipy.sparse as sp

    # DIA drops stored zeros and BSR pads blocks with zeros: Votes turned a
    # class-0 vote into an abstain, or one vote into four (three class 0)
    dia = sp.dia_matrix((np.array([[0, 1, 1, 0]]), [0]), shape=(4, 2))
    with pytest.raises(ValueError, match="DIA format.*class-0 votes"):
        Votes(dia)
    bsr = sp.csr_matrix(([1], ([0], [0])), shape=(4, 2)).tobsr(blocksize=(2, 2))
    with pytest.raises(ValueError, match="BSR format"):
        Votes(bsr)
    # one source is a column, not a 1-D array (which raised an IndexError)
    with pytest.raises(ValueError, match=r"task 'a'.*2-D.*reshape\(-1, 1\)"):
        task_labels(a=Votes(np.array([0, 1, 1])))
    # a nullable column beside a numpy one: the NA is named as in LabelModel
    # (it read as an object column: "has dtype object")
    X = np.zeros((3, 2), dtype=np.float32)
    L = pd.DataFrame({"x": pd.array([0, None, 1], dtype="Int8"), "y": [1, -1, 0]})
    trainer = MultitaskTrainer(MultitaskClassifier({"a": 2}, max_epochs=1, verbose=0))
    with pytest.raises(ValueError, match=r"'a\|0'.*NaN at row 1"):
        trainer.fit(X, task_labels(a=Votes(L)))
    assert Votes(L.fillna(-1)).L.tolist() == [[0, 1], [-1, -1], [1, 0]]


def test_a_one_column_task_label_set_is_hard_labels():
    # a column vector (or one-column frame) of hard labels was read as soft
    # labels of one class: "soft-label row 0 is [-1.0]; values must be
    # non-negative"
    import pandas as pd

    X, a, b, _ = _data(n=40)
    b = np.where(np.arange(40) % 4 == 0, -1, b)
    expected = task_labels(a=a, b=b)
    for column in (b[:, None], pd.DataFrame({"b": b})):
        with pytest.warns(DataConversionWarning):
            y = task_labels(a=a, b=column)
        pd.testing.assert_frame_equal(y, expected)


def test_votes_read_a_pyarrow_table():
    # Votes raised AttributeError: 'pyarrow.lib.Table' object has no
    # attribute 'dtypes'
    pa = pytest.importorskip("pyarrow")
    L = np.array([[0, -1], [1, 1], [-1, 0]])
    table = pa.table({"s0": L[:, 0], "s1": L[:, 1]})
    np.testing.assert_array_equal(Votes(table).L, L)
    X = np.zeros((3, 2), dtype=np.float32)
    trainer = MultitaskTrainer(MultitaskClassifier({"a": 2}, max_epochs=1, verbose=0))
    null = pa.table({"s0": pa.array([0, None, 1]), "s1": L[:, 1]})
    with pytest.raises(ValueError, match=r"'a\|0'.*NaN at row 1"):
        trainer.fit(X, task_labels(a=Votes(null)))


def test_task_names_must_be_strings_and_labels_errors():
    import pandas as pd

    X, a, b, _ = _data(n=40)
    with pytest.raises(ValueError, match=r"must be strings; got 0 \(int\)"):
        MultitaskClassifier({0: 2, 1: 2}).fit(X, pd.DataFrame({0: a, 1: a}))
    y = pd.DataFrame({"a": pd.array(list(a[:-1]) + [None], dtype="Int64")})
    with pytest.raises(ValueError, match=r"row 39.*-1 \(not NaN or NA\)"):
        MultitaskClassifier({"a": 2}, max_epochs=1, verbose=0).fit(X, y)
    # whole-number floats are accepted in 2-D as in 1-D
    net = MultitaskClassifier({"a": 2, "b": 3}, max_epochs=1, verbose=0)
    net.fit(X, np.c_[a, b].astype(float))
    with pytest.raises(ValueError, match="hard labels must be integers"):
        net.fit(X, np.c_[a, b] + 0.5)


def test_trainer_refit_without_feature_names_forgets_the_old_ones():
    import pandas as pd

    rng = np.random.RandomState(0)
    X = rng.randn(30, 2).astype(np.float32)
    y = task_labels(a=(X[:, 0] > 0).astype(int))
    net = MultitaskClassifier({"a": 2}, max_epochs=1, verbose=0, random_state=0)
    trainer = MultitaskTrainer(net).fit(pd.DataFrame(X, columns=["u", "v"]), y)
    assert list(trainer.feature_names_in_) == ["u", "v"]
    trainer.fit(X, y)
    assert not hasattr(trainer.estimator_, "feature_names_in_")
    assert not hasattr(trainer, "feature_names_in_")


def test_trainer_reads_object_votes_as_numbers():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4).astype(np.float32)
    a = (X[:, 0] > 0).astype(int)
    votes = np.where(rng.rand(60, 3) < 0.3, -1, np.c_[a, a, 1 - a])
    params = dict(max_epochs=1, verbose=0, random_state=0)
    as_int = MultitaskTrainer(MultitaskClassifier({"a": 2}, **params))
    as_object = MultitaskTrainer(MultitaskClassifier({"a": 2}, **params))
    as_int.fit(X, task_labels(a=Votes(votes)))
    as_object.fit(X, task_labels(a=Votes(votes.astype(object))))
    np.testing.assert_allclose(
        as_object.predict_proba(X)[0], as_int.predict_proba(X)[0], rtol=1e-6
    )
    with pytest.raises(ValueError, match=r"column 'a\|0' \(index 0\) has dtype"):
        words = np.where(votes >= 0, "yes", "no").astype(object)
        MultitaskTrainer(MultitaskClassifier({"a": 2}, **params)).fit(
            X, task_labels(a=Votes(words))
        )


def test_int_layer_sizes_are_one_layer():
    # As in MLPClassifier: an int is one hidden layer of that width.
    X, a, b, _ = _data(n=120)
    y = task_labels(a=a, b=b)
    net = _net(hidden_layer_sizes=8, head_hidden_sizes=4, max_epochs=2).fit(X, y)
    twin = _net(hidden_layer_sizes=(8,), head_hidden_sizes=(4,), max_epochs=2)
    twin.fit(X, y)
    shapes = [p.shape for p in net.module_.parameters()]
    assert shapes == [p.shape for p in twin.module_.parameters()]
    for p, q in zip(net.predict_proba(X), twin.predict_proba(X), strict=True):
        np.testing.assert_allclose(p, q)
    assert net.hidden_layer_sizes == 8  # the parameter is kept as given
    module = net.module_
    net.set_params(hidden_layer_sizes=(8,), warm_start=True).fit(X, y)
    assert net.module_ is module  # the same network, spelled as a tuple


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes=(0,)"),
        (dict(hidden_layer_sizes=(8, -1)), "hidden_layer_sizes=(8, -1)"),
        (dict(hidden_layer_sizes="8"), "hidden_layer_sizes='8'"),
        (dict(head_hidden_sizes=(0,)), "head_hidden_sizes=(0,)"),
        (dict(activation="sigmoid"), "activation='sigmoid' is not one of"),
        # a negative dropout was silently no dropout; above 1, torch's message
        (dict(dropout=-0.3), "dropout=-0.3 must be a probability in [0, 1]"),
        (dict(dropout=1.5), "dropout=1.5 must be a probability in [0, 1]"),
    ],
)
def test_bad_architecture_parameters_raise(params, match):
    X, a, b, _ = _data(n=60)
    with pytest.raises(ValueError, match=re.escape(match)):
        _net(max_epochs=1, **params).fit(X, task_labels(a=a, b=b))
    # the module says the same when built directly
    module_params = {"hidden_layer_sizes": (8,), **params}
    with pytest.raises(ValueError, match=re.escape(match)):
        MultitaskModule(6, {"a": 2}, **module_params)


@pytest.mark.parametrize(
    "params, match",
    [
        # each of these trained without complaint: step size 0 divided by
        # zero after the first epoch, a negative step size or gamma made the
        # rate grow or change sign, a negative clip flipped every gradient
        # (gradient ascent) and a clip of 0 did not clip at all
        (dict(lr_schedule="step", lr_step_size=0), "lr_step_size=0 must be"),
        (dict(lr_schedule="step", lr_step_size=-1), "lr_step_size=-1 must be"),
        (dict(lr_schedule="exponential", lr_gamma=-1.0), "lr_gamma=-1.0 must be"),
        (dict(lr_gamma=0), "lr_gamma=0 must be a positive number"),
        (dict(gradient_clip=-1.0), "gradient_clip=-1.0 must be a positive number"),
        (dict(gradient_clip=0.0), "gradient_clip=0.0 must be a positive number"),
        (dict(warmup_epochs=-2), "warmup_epochs=-2 must be an integer >= 0"),
        (dict(warmup_epochs=1.5), "warmup_epochs=1.5 must be an integer >= 0"),
    ],
)
def test_bad_schedule_parameters_raise(params, match):
    X, a, b, _ = _data(n=60)
    with pytest.raises(ValueError, match=re.escape(match)):
        _net(max_epochs=1, **params).fit(X, task_labels(a=a, b=b))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(dataset=torch.utils.data.TensorDataset), "not use skorch's dataset"),
        (dict(iterator_train=list), "not use skorch's iterator_train"),
        (dict(iterator_valid__num_workers=2), "['num_workers']"),
        (dict(predict_nonlinearity=None), "predict_nonlinearity=None"),
    ],
)
def test_skorch_parameters_the_net_does_not_use_raise(params, match):
    # MultitaskClassifier builds its own dataset, batches and probabilities,
    # so these were silently ignored
    X, a, b, _ = _data(n=60)
    with pytest.raises(ValueError, match=re.escape(match)):
        _net(max_epochs=1, **params).fit(X, task_labels(a=a, b=b))


@pytest.mark.parametrize("log_writer", ["json", "tensorboard"])
def test_log_writer_needs_a_log_dir(tmp_path, monkeypatch, log_writer):
    monkeypatch.chdir(tmp_path)
    X, a, b, _ = _data(n=60)
    with pytest.raises(ValueError, match=f"log_writer='{log_writer}' writes into"):
        _net(max_epochs=1, log_writer=log_writer).fit(X, task_labels(a=a, b=b))
    assert list(tmp_path.iterdir()) == []  # nothing written in the working dir


def test_tensorboard_writer_without_tensorboard_fails_before_training(
    tmp_path, monkeypatch
):
    # tensorboard is an extra: without it (None in sys.modules makes the import
    # fail) fit trained a whole epoch, then raised a bare ModuleNotFoundError
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    X, a, b, _ = _data(n=60)
    net = _net(max_epochs=1, log_writer="tensorboard", log_dir=str(tmp_path / "tb"))
    with pytest.raises(ImportError, match=re.escape("sklearn_metal[tensorboard]")):
        net.fit(X, task_labels(a=a, b=b))
    assert not (tmp_path / "tb").exists()  # no epoch ran


def test_multitask_epoch_valid_loss_is_the_weighted_mean_over_batches():
    X, a, _, rng = _data(n=80)
    Xv, av, _, _ = _data(n=30, seed=3)
    av = np.where(rng.rand(30) < 0.3, 1 - av, av)
    wv = np.r_[np.full(10, 10.0), np.full(20, 0.1)]
    # one epoch: the kept checkpoint is the model validated
    net = MultitaskClassifier(
        {"a": 2}, max_epochs=1, batch_size=10, verbose=0, random_state=0
    ).fit(X, task_labels(a=a), valid_data=(Xv, task_labels(a=av), wv))
    proba = net.predict_proba(Xv)[0]
    row_loss = -np.log(proba[np.arange(30), av])
    expected = np.average(row_loss, weights=wv)
    assert net.history[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)
    assert abs(row_loss.mean() - expected) > 1e-3


def _vote_task(n=300, seed=0):
    X, a, _, rng = _data(n=n, seed=seed)
    acc = np.array([0.85, 0.75, 0.65])
    right = rng.rand(n, 3) < acc
    votes = np.where(right, a[:, None], 1 - a[:, None])
    votes[rng.rand(n, 3) < 0.3] = -1
    weight = rng.randint(0, 4, size=n)
    params = dict(tasks={"a": 2}, max_epochs=2, verbose=0, random_state=0)
    return X, votes, weight, params


def test_trainer_weighs_the_label_models_rows():
    X, votes, weight, params = _vote_task()
    y = task_labels(a=Votes(votes))
    trainer = MultitaskTrainer(MultitaskClassifier(**params))
    trainer.fit(X, y, sample_weight=weight)
    rows = np.repeat(np.arange(len(X)), weight)
    repeated = LabelModel(cardinality=2).fit(votes[rows])
    fitted = trainer.label_models_["a"]
    np.testing.assert_allclose(fitted.class_balance_, repeated.class_balance_)
    np.testing.assert_allclose(fitted.cond_probs_, repeated.cond_probs_, atol=1e-10)
    plain = LabelModel(cardinality=2).fit(votes)
    assert not np.allclose(fitted.cond_probs_, plain.cond_probs_)
    # a label model whose fit takes no sample_weight is fitted as it is
    from sklearn_metal import MajorityLabelVoter

    voter = MultitaskTrainer(
        MultitaskClassifier(**params), label_model=MajorityLabelVoter()
    ).fit(X, y, sample_weight=weight)
    assert voter.label_models_["a"].n_features_in_ == 3
    with sklearn.config_context(enable_metadata_routing=True):
        net = MultitaskClassifier(**params).set_fit_request(sample_weight=True)
        # the default label model requests the weights
        routed = MultitaskTrainer(net).fit(X, y, sample_weight=weight)
        np.testing.assert_allclose(
            routed.label_models_["a"].cond_probs_, repeated.cond_probs_, atol=1e-10
        )
        # a given one as its request says
        unweighted = LabelModel().set_fit_request(sample_weight=False)
        routed = MultitaskTrainer(net, label_model=unweighted)
        routed.fit(X, y, sample_weight=weight)
        np.testing.assert_allclose(
            routed.label_models_["a"].cond_probs_, plain.cond_probs_, atol=1e-12
        )
        with pytest.raises(UnsetMetadataPassedError, match="LabelModel.fit"):
            MultitaskTrainer(net, label_model=LabelModel()).fit(
                X, y, sample_weight=weight
            )


def test_trainer_passes_weighted_valid_data_on():
    X, votes, weight, params = _vote_task()
    Xv, votes_v, weight_v, _ = _vote_task(n=60, seed=1)
    y, y_valid = task_labels(a=Votes(votes)), task_labels(a=Votes(votes_v))
    trainer = MultitaskTrainer(MultitaskClassifier(**params))
    trainer.fit(X, y, valid_data=(Xv, y_valid, weight_v))
    soft = trainer.label_models_["a"].predict_proba(votes_v)
    soft[(votes_v == -1).all(axis=1)] = np.nan
    train_soft = trainer.label_models_["a"].predict_proba(votes)
    train_soft[(votes == -1).all(axis=1)] = np.nan
    direct = MultitaskClassifier(**params).fit(
        X, task_labels(a=train_soft), valid_data=(Xv, task_labels(a=soft), weight_v)
    )
    np.testing.assert_allclose(
        trainer.estimator_.history[:, "valid_loss"],
        direct.history[:, "valid_loss"],
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="pair .* or a triple"):
        trainer.fit(X, y, valid_data=(Xv,))


# --------------------------------------------------------------------------
# Audit 7
# --------------------------------------------------------------------------
def _setup():
    rng = np.random.RandomState(0)
    X = rng.randn(100, 4).astype("f4")
    a = (X[:, 0] > 0).astype(int)
    return X, a, rng


def _token_data(n, seq, d=4, seed=0):
    """Padded sequences (all-zero tokens), token tags and a sentence label."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, seq, d).astype(np.float32)
    tags = (X[:, :, 0] > 0).astype(int)
    for i, length in enumerate(rng.randint(2, seq + 1, size=n)):
        X[i, length:] = 0.0
        tags[i, length:] = -1
    sentence = (X[:, :, 1].sum(axis=1) > 0).astype(int)
    return X, task_labels(tag={"tokens": tags}, s=sentence)


def _token_net(**kw):
    params = dict(token_tasks=("tag",), max_epochs=2, verbose=0, random_state=0)
    params.update(kw)
    return MultitaskClassifier({"tag": 2, "s": 2}, **params)


def test_labels_on_padding_tokens_are_refused():
    # a padding tag of 0 ("O") instead of -1 was trained and scored: on rows
    # whose last 7 of 10 tokens are padding the token accuracy counted them
    X, y = _token_data(40, 10)
    tags = y[[f"tag#{j}" for j in range(10)]].to_numpy()
    net = _token_net().fit(X, y)
    padded = np.where((X == 0).all(axis=-1), 0, tags)
    i, j = np.argwhere((X == 0).all(axis=-1))[0]
    bad = task_labels(tag={"tokens": padded}, s=y["s"].to_numpy())
    match = f"labels {int((tags == -1).sum())} padding tokens .* token {j} of row {i}"
    with pytest.raises(ValueError, match=match):
        net.score_tasks(X, bad)
    with pytest.raises(ValueError, match=match):
        _token_net().fit(X, bad)
    with pytest.raises(ValueError, match=match):
        _token_net().fit(X, y, valid_data=(X, bad))
    with pytest.raises(ValueError, match=match):
        net.partial_fit(X, bad)


def test_token_input_counts_token_features_and_takes_any_seq_len():
    X, y = _token_data(80, 6)
    net = _token_net().fit(X, y)
    assert net.n_features_in_ == net.input_dim_ == X.shape[2]
    X8, y8 = _token_data(10, 8, seed=1)
    tag, sentence = net.predict_proba(X8)
    assert tag.shape == (10, 8, 2) and sentence.shape == (10, 2)
    # the sentence task pools the non-padding tokens only, and the MLP trunk
    # reads each token alone: more all-zero tokens change no prediction
    padded = np.concatenate([X[:10], np.zeros((10, 3, 4), np.float32)], axis=1)
    before, after = net.predict_proba(X[:10]), net.predict_proba(padded)
    np.testing.assert_allclose(after[1], before[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after[0][:, :6], before[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="X has 5 features per token, but Multi"):
        net.predict(np.zeros((3, 6, 5), np.float32))
    # partial_fit goes on with another seq_len
    net.partial_fit(X8, y8)
    assert net.n_features_in_ == 4 and len(net.history) == 4
    with pytest.raises(ValueError, match="labels for 8 tokens per row, but X has"):
        net.partial_fit(X8[:, :7], y8)
    trainer = MultitaskTrainer(_token_net()).fit(X, y)
    assert trainer.n_features_in_ == 4
    assert [p.shape for p in trainer.predict(X8)] == [(10, 8), (10,)]


def test_token_tasks_need_3d_input():
    X, a, _ = _setup()
    y = task_labels(tag={"tokens": np.zeros((100, 4), int)}, s=a)
    match = re.escape("must be an array of shape (n_samples, seq_len, n_features)")
    with pytest.raises(ValueError, match=match):
        _token_net().fit(X, y)
    net = _token_net().fit(*_token_data(20, 5))
    with pytest.raises(ValueError, match=match):
        net.predict(X)
    with pytest.raises(ValueError, match=match):
        MultitaskTrainer(_token_net()).fit(X, y)


class _LrSeen(skorch.callbacks.Callback):
    def initialize(self):
        self.lrs_ = []
        return self

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.lrs_.append(net.optimizer_.param_groups[0]["lr"])


def test_a_user_lr_scheduler_sets_the_learning_rate():
    X, a, _ = _setup()
    step = skorch.callbacks.LRScheduler(
        torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.1
    )
    net = MultitaskClassifier(
        {"a": 2},
        optimizer="sgd",
        lr=1.0,
        max_epochs=4,
        batch_size=100,
        verbose=0,
        random_state=0,
        callbacks=[("step", step), ("seen", _LrSeen())],
    ).fit(X, task_labels(a=a))
    expected = [0.1**epoch for epoch in range(4)]
    np.testing.assert_allclose(dict(net.callbacks_)["seen"].lrs_, expected)
    np.testing.assert_allclose(net.history[:, "lr"], expected)
    # two schedules cannot both set it
    for params in ({"lr_schedule": "linear"}, {"warmup_epochs": 1}):
        with pytest.raises(ValueError, match="'step' is an LRScheduler"):
            clone(net).set_params(**params).fit(X, task_labels(a=a))
    # without one, the built-in schedule sets it
    net.set_params(callbacks=[("seen", _LrSeen())], lr_schedule="linear")
    net.fit(X, task_labels(a=a))
    linear = [1 - epoch / 4 for epoch in range(4)]
    np.testing.assert_allclose(dict(net.callbacks_)["seen"].lrs_, linear)


class _HalveLr(skorch.callbacks.Callback):
    """Halves the learning rate after every epoch (not an LRScheduler)."""

    def on_epoch_end(self, net, **kwargs):
        for group in net.optimizer_.param_groups:
            group["lr"] /= 2


def test_the_constant_schedule_keeps_a_callbacks_lr_change():
    X, a, _ = _setup()
    net = MultitaskClassifier(
        {"a": 2},
        optimizer="sgd",
        lr=1.0,
        max_epochs=4,
        batch_size=100,
        verbose=0,
        random_state=0,
        callbacks=[("halve", _HalveLr()), ("seen", _LrSeen())],
    ).fit(X, task_labels(a=a))
    halved = [0.5**epoch for epoch in range(4)]
    np.testing.assert_allclose(dict(net.callbacks_)["seen"].lrs_, halved)
    np.testing.assert_allclose(net.history[:, "lr"], halved)
    # every call starts again from lr
    net.set_params(lr=0.3)
    net.partial_fit(X, task_labels(a=a))
    np.testing.assert_allclose(net.history[-4:, "lr"], [0.3 * h for h in halved])
    # a non-constant schedule still sets the rate at every epoch
    net.set_params(lr=1.0, lr_schedule="linear").fit(X, task_labels(a=a))
    np.testing.assert_allclose(net.history[:, "lr"], [1 - e / 4 for e in range(4)])


class _GroupLrsSeen(skorch.callbacks.Callback):
    """The learning rate of every parameter group at every training batch."""

    def initialize(self):
        self.lrs_ = []
        return self

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.lrs_.append([g["lr"] for g in net.optimizer_.param_groups])


def test_the_schedule_scales_optimizer_lr_and_param_group_rates():
    # optimizer__lr (skorch's spelling of lr) was overwritten by lr=1e-3 at
    # the first epoch, and a parameter group's own rate by lr, silently
    X, a, _ = _setup()
    net = MultitaskClassifier(
        {"a": 2},
        optimizer="sgd",
        optimizer__lr=0.5,
        max_epochs=3,
        batch_size=100,
        verbose=0,
        random_state=0,
        callbacks=[("seen", _GroupLrsSeen())],
    ).fit(X, task_labels(a=a))
    np.testing.assert_allclose(dict(net.callbacks_)["seen"].lrs_, [[0.5]] * 3)
    np.testing.assert_allclose(net.history[:, "lr"], [0.5] * 3)
    # the linear schedule scales each group's own rate: 1, 3/4, 1/2, 1/4
    net = MultitaskClassifier(
        {"a": 2},
        optimizer="sgd",
        optimizer__param_groups=[("heads*", {"lr": 0.1})],
        lr=0.4,
        lr_schedule="linear",
        max_epochs=4,
        batch_size=100,
        verbose=0,
        random_state=0,
        callbacks=[("seen", _GroupLrsSeen())],
    ).fit(X, task_labels(a=a))
    factors = np.array([1, 0.75, 0.5, 0.25])
    expected = np.column_stack([0.1 * factors, 0.4 * factors])  # heads, trunk
    np.testing.assert_allclose(dict(net.callbacks_)["seen"].lrs_, expected)
    # a later call starts again from the groups' rates
    net.partial_fit(X, task_labels(a=a))
    np.testing.assert_allclose(dict(net.callbacks_)["seen"].lrs_[-4:], expected)


def _entry_loss(proba, values, mask):
    """Cross-entropy of each labelled row (hard or soft targets)."""
    if values.ndim == 1:
        return -np.log(proba[mask, values[mask]])
    return -(values[mask] * np.log(proba[mask])).sum(axis=1)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_tasks", [1, 2, 3])
def test_train_and_valid_loss_are_the_same_mean_over_labelled_entries(
    n_tasks, weighted
):
    X, a, rng = _setup()
    b = np.where(rng.rand(100) < 0.5, (X[:, 1] > 0).astype(int), -1)
    p = 1 / (1 + np.exp(-X[:, 2]))
    c = np.column_stack([1 - p, p])
    c[rng.rand(100) < 0.7] = np.nan
    values = dict(list({"a": a, "b": b, "c": c}.items())[:n_tasks])
    y = task_labels(**values)
    weight = rng.randint(0, 4, size=100).astype(float) if weighted else None
    task_weights = None
    if weighted:
        task_weights = {t: w for t, w in (("a", 1.5), ("b", 0.5)) if t in values}
    net = MultitaskClassifier(
        {t: 2 for t in values},
        lr=1e-12,  # the epoch's batches all see the same model
        max_epochs=1,
        batch_size=16,
        task_weights=task_weights,
        verbose=0,
        random_state=0,
    ).fit(X, y, sample_weight=weight, valid_data=(X, y, weight))
    train, valid = net.history[-1, "train_loss"], net.history[-1, "valid_loss"]
    assert train == pytest.approx(valid, rel=1e-5)
    # both: the mean over every task's labelled rows of the task's weight
    # times the row's loss, rows weighted by sample_weight
    total = count = 0.0
    w = np.ones(100) if weight is None else weight
    for (task, v), proba in zip(values.items(), net.predict_proba(X), strict=True):
        mask = ~np.isnan(v).any(axis=1) if v.ndim == 2 else v >= 0
        target = np.nan_to_num(v) if v.ndim == 2 else v
        losses = _entry_loss(proba, target, mask)
        total += (task_weights or {}).get(task, 1.0) * np.sum(w[mask] * losses)
        count += np.sum(w[mask])
    assert valid == pytest.approx(total / count, rel=1e-5)


def test_token_losses_are_means_over_labelled_tokens():
    X, y = _token_data(60, 6)
    net = _token_net(lr=1e-12, max_epochs=1, batch_size=8)
    net.fit(X, y, valid_data=(X, y))
    train, valid = net.history[-1, "train_loss"], net.history[-1, "valid_loss"]
    assert train == pytest.approx(valid, rel=1e-5)
    tags = y[[f"tag#{i}" for i in range(6)]].to_numpy()
    tag_proba, s_proba = net.predict_proba(X)
    tok = tags >= 0
    losses = np.r_[
        -np.log(tag_proba[tok, tags[tok]]),
        -np.log(s_proba[np.arange(60), y["s"].to_numpy()]),
    ]
    assert valid == pytest.approx(losses.mean(), rel=1e-5)


@pytest.mark.parametrize(
    "names",
    [("type", "a.b"), ("training", "forward"), ("_modules", "%type"), ("%b", "c")],
)
def test_any_non_empty_task_name_works(names):
    X, a, _ = _setup()
    b = (X[:, 1] > 0).astype(int)
    first, second = names
    y = task_labels(**{first: a, second: b})
    net = MultitaskClassifier(
        {first: 2, second: 2},
        max_epochs=3,
        lr=0.05,
        task_weights={first: 2.0},
        task_head_layers={second: 0},
        verbose=0,
        random_state=0,
    ).fit(X, y)
    assert net.predict(X).shape == (100, 2)
    assert set(net.score_tasks(X, y)) == {first, second}
    # the state dict round-trips into a new module
    module = MultitaskModule(4, {first: 2, second: 2}, task_head_layers={second: 0})
    module.load_state_dict(net.module_.state_dict())
    with torch.no_grad():
        out = module(torch.from_numpy(X))
    np.testing.assert_allclose(
        torch.softmax(out[first], -1).numpy(), net.predict_proba(X)[0], rtol=1e-5
    )


def test_plain_task_names_keep_their_state_dict_keys_and_empty_raises():
    module = MultitaskModule(4, {"a": 2, "type": 2, "a.b": 2}, hidden_layer_sizes=())
    keys = {k.rsplit(".", 2)[0] for k in module.state_dict() if k.startswith("heads")}
    assert keys == {"heads.a", "heads.%type", "heads.%a%2Eb"}
    with pytest.raises(ValueError, match="non-empty strings"):
        MultitaskModule(4, {"": 2})
    X, a, _ = _setup()
    with pytest.raises(ValueError, match="non-empty strings"):
        MultitaskClassifier({"": 2}, verbose=0).fit(X, task_labels(**{"": a}))
    with pytest.raises(ValueError, match="must not contain ':'"):
        MultitaskClassifier({"a:b": 2}, verbose=0).fit(X, np.c_[a])


class _PickleEveryEpoch(skorch.callbacks.Callback):
    def on_epoch_end(self, net, **kwargs):
        # the log writer wrote this epoch: a TensorBoard writer is open
        assert dict(net.callbacks_)["log_writer"].writer_ is not None
        pickle.loads(pickle.dumps(net))


def test_tensorboard_writer_is_closed_and_never_pickled(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    X, a, _ = _setup()
    y = task_labels(a=a)
    net = MultitaskClassifier(
        {"a": 2},
        max_epochs=2,
        log_writer="tensorboard",
        log_dir=str(tmp_path),
        callbacks=[("pickle", _PickleEveryEpoch())],
        verbose=0,
        random_state=0,
    ).fit(X, y)
    assert dict(net.callbacks_)["log_writer"].writer_ is None  # closed
    for twin in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        np.testing.assert_allclose(twin.predict_proba(X)[0], net.predict_proba(X)[0])
    # a later call opens a new writer into the same directory
    copy.deepcopy(net).partial_fit(X, y)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    steps = sorted(e.step for e in events.Scalars("train_loss"))
    assert steps == [1, 2, 3, 4]


class _FailAtEpoch(skorch.callbacks.Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise RuntimeError("failed in training")


def test_tensorboard_writer_is_closed_when_training_raises(tmp_path):
    # skorch runs on_train_end only when the epochs end or are interrupted: a
    # fit that raised after a logged epoch left the writer open, with its
    # thread alive: one more thread for every failed fit of a long-running
    # process (a search with error_score=nan)
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    X, a, _ = _setup()
    net = MultitaskClassifier(
        {"a": 2},
        max_epochs=5,
        log_writer="tensorboard",
        log_dir=str(tmp_path),
        callbacks=[("fail", _FailAtEpoch(3))],
        verbose=0,
        random_state=0,
    )
    with pytest.raises(RuntimeError, match="failed in training"):
        net.fit(X, task_labels(a=a))
    assert dict(net.callbacks_)["log_writer"].writer_ is None  # closed
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert sorted(e.step for e in events.Scalars("train_loss")) == [1, 2]


def test_learning_rate_is_put_back_when_training_raises():
    # A fit that raised in a warmup epoch left the optimizer at that epoch's
    # scaled rate (0.4 * lr), which the next partial_fit took as its base:
    # it trained at 0.4 times lr for good.
    X, a, _ = _setup()
    y = task_labels(a=a)
    params = dict(max_epochs=4, warmup_epochs=4, lr=0.01, verbose=0, random_state=0)
    net = MultitaskClassifier({"a": 2}, callbacks=[("fail", _FailAtEpoch(2))], **params)
    with pytest.raises(RuntimeError, match="failed in training"):
        net.fit(X, y)
    assert net.optimizer_.param_groups[0]["lr"] == 0.01
    net.set_params(callbacks=[]).partial_fit(X, y)
    fresh = MultitaskClassifier({"a": 2}, **params).fit(X, y)
    assert net.history[:, "lr"][-4:] == fresh.history[:, "lr"]


def test_initialize_before_fit_explains_and_load_params_restores(tmp_path):
    X, a, _ = _setup()
    b = (X[:, 1] > 0).astype(int)
    y = task_labels(a=a, b=b)
    with pytest.raises(NotFittedError, match="fit or partial_fit before initialize"):
        MultitaskClassifier({"a": 2, "b": 2}).initialize()
    checkpoint = skorch.callbacks.Checkpoint(dirname=str(tmp_path), monitor=None)
    net = MultitaskClassifier(
        {"a": 2, "b": 2},
        max_epochs=3,
        verbose=0,
        random_state=0,
        callbacks=[("checkpoint", checkpoint)],
    ).fit(X, y)
    # the documented workflow: a few rows of the same shape, then load_params
    restored = MultitaskClassifier({"a": 2, "b": 2}, max_epochs=1, verbose=0)
    restored.partial_fit(X[:10], y.iloc[:10]).load_params(checkpoint=checkpoint)
    for p, q in zip(restored.predict_proba(X), net.predict_proba(X), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-6)
    assert len(restored.history) == 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
# a sparse task that labels a few rows, all of class 1, looks coded -1/+1
@pytest.mark.filterwarnings("ignore:The labels of task:UserWarning")
def test_probability_scorers_know_every_class_of_a_sparse_task():
    from sklearn.metrics import log_loss

    X, a, _ = _setup()
    b = np.full(100, -1)
    b[:5] = (X[:5, 1] > 0).astype(int)  # task b labels 5 rows
    y = task_labels(a=a, b=b)
    tasks = {"a": 2, "b": 2}
    split = dict(max_epochs=2, train_split=0.2, verbose=0, random_state=0)
    net = MultitaskClassifier(tasks, scoring="neg_log_loss", **split).fit(X, y)
    targets = _targets(_parse_task_labels(y, tasks), tasks, ())
    _, valid = _task_split(targets, 100, 0.2, net._split_seed_, "mean")
    assert (b[valid] >= 0).sum() == 1  # b's one validation row
    assert np.isfinite(net.history[:, "valid_b_score"]).all()
    # the score is the log loss over both of the task's classes
    b_valid = np.where(np.arange(20) == 3, b[:20], -1)  # one labelled row
    Xv, yv = X[:20], task_labels(a=a[:20], b=b_valid)
    net = MultitaskClassifier(tasks, scoring="neg_log_loss", max_epochs=1, verbose=0)
    net.fit(X, y, valid_data=(Xv, yv))
    proba_b = net.predict_proba(Xv[3:4])[1]
    expected = -log_loss([b[3]], proba_b, labels=[0, 1])
    assert net.history[-1, "valid_b_score"] == pytest.approx(expected, rel=1e-5)
    # ROC AUC of one class is undefined: NaN, and left out of valid_score
    net = MultitaskClassifier(tasks, scoring="roc_auc", **split).fit(X, y)
    assert np.isnan(net.history[-1, "valid_b_score"])
    assert net.history[-1, "valid_score"] == net.history[-1, "valid_a_score"]
    yv_one = task_labels(a=a, b=np.where(np.arange(100) == 0, b, -1))
    assert net.score(X, yv_one) == net.score_tasks(X, yv_one)["a"]


def test_head_keys_are_names_torch_takes_and_distinct():
    from sklearn_metal.multitask import _head_keys

    # names torch takes keep their keys, "%"-names included
    assert _head_keys({"a": 2, "%b": 2}) == {"a": "a", "%b": "%b"}
    # an escaped key that is another task's name gets one more "%"
    keys = _head_keys({"%type": 2, "type": 2, "%%type": 2})
    assert keys == {"%type": "%type", "type": "%%%type", "%%type": "%%type"}
    module = MultitaskModule(4, {"%type": 2, "type": 2, "%%type": 2})
    assert len(module.heads) == 3


def test_modules_pickled_before_head_keys_still_predict():
    X, a, _ = _setup()
    net = MultitaskClassifier({"a": 2}, max_epochs=1, verbose=0, random_state=0)
    net.fit(X, task_labels(a=a))
    expected = net.predict_proba(X)[0]
    del net.module_.__dict__["head_keys"]  # as a module pickled before them
    restored = pickle.loads(pickle.dumps(net))
    assert restored.module_.head_keys == {"a": "a"}
    np.testing.assert_allclose(restored.predict_proba(X)[0], expected)
    restored.partial_fit(X, task_labels(a=a))


def test_valid_score_is_recorded_nan_when_no_task_score_is_defined():
    from skorch.callbacks import EarlyStopping

    X, a, _ = _setup()
    stop = EarlyStopping(monitor="valid_score", lower_is_better=False, patience=2)
    net = MultitaskClassifier(
        {"a": 2},
        max_epochs=5,
        scoring="roc_auc",
        callbacks=[("stop", stop)],
        verbose=0,
        random_state=0,
    )
    # validation rows of one class: ROC AUC is undefined every epoch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(
            X, task_labels(a=a), valid_data=(X[:10], task_labels(a=np.ones(10, int)))
        )
    assert np.all(np.isnan(net.history[:, "valid_score"]))
    assert len(net.history) < 5  # early stopping read the NaN scores and stopped
    assert not any(net.history[:, "checkpoint"])


def test_score_tasks_checks_the_token_label_length():
    rng = np.random.RandomState(0)
    Xs = rng.randn(40, 5, 4).astype(np.float32)
    tok = (Xs[:, :, 0] > 0).astype(int)
    s = (Xs[:, :, 1].mean(axis=1) > 0).astype(int)
    y = task_labels(t={"tokens": tok}, s=s)
    net = MultitaskClassifier(
        {"t": 2, "s": 2}, token_tasks=("t",), max_epochs=1, verbose=0
    ).fit(Xs, y)
    with pytest.raises(ValueError, match="labels for 5 tokens per row, but X has"):
        net.score_tasks(Xs[:, :3], y)


@pytest.mark.parametrize("weighted", [False, True])
def test_class_weighted_losses_divide_by_the_class_weights(weighted):
    # torch's mean cross-entropy with class weights divides by the rows'
    # summed class weights, sum_i weight[y_i]; with sample weights the
    # denominator must be sum_i w_i * weight[y_i] (EndModel's convention),
    # so that all-ones weights give the unweighted loss and an integer
    # weight counts as that many copies of the row. The epoch losses are
    # then that mean over all labelled entries: sum_t tw_t S_t / sum_t N_t
    # with N_t the class-weighted entry weights of hard task t (soft labels:
    # the weight sum, as torch's mean divides by the number of rows).
    rng = np.random.RandomState(0)
    n = 30
    X = rng.randn(n, 3).astype(np.float32)
    a = rng.randint(0, 3, n)
    a[::5] = -1
    b = rng.dirichlet([1, 1, 1], n)
    b[1::4] = np.nan
    y = task_labels(a=a, b=b)
    class_weight = torch.tensor([1.0, 5.0, 0.2])
    weight = rng.randint(0, 4, n).astype(float) if weighted else np.ones(n)
    losses = {}
    for w in (None, weight):
        net = MultitaskClassifier(
            {"a": 3, "b": 3},
            criterion__weight=class_weight,
            optimizer="sgd",
            lr=1e-12,  # the epoch's batches all see the same model
            max_epochs=1,
            batch_size=4,
            task_weights={"a": 2.0},
            verbose=0,
            random_state=0,
        ).fit(X, y, sample_weight=w, valid_data=(X, y, w))
        losses["none" if w is None else "given"] = (
            net.history[-1, "train_loss"],
            net.history[-1, "valid_loss"],
        )
    cw = class_weight.numpy()
    proba_a, proba_b = net.predict_proba(X)
    mask_a, mask_b = a >= 0, ~np.isnan(b).any(axis=1)
    entry_a = weight[mask_a] * cw[a[mask_a]]
    s_a = np.sum(entry_a * -np.log(proba_a[mask_a, a[mask_a]]))
    s_b = np.sum(weight[mask_b] * -(b[mask_b] * cw * np.log(proba_b[mask_b])).sum(1))
    expected = (2.0 * s_a + s_b) / (entry_a.sum() + weight[mask_b].sum())
    assert losses["given"] == pytest.approx((expected, expected), rel=1e-5)
    if not weighted:  # all-ones weights: the unweighted loss
        assert losses["none"] == pytest.approx((expected, expected), rel=1e-5)


def test_checkpoint_task_keeps_its_validation_row_when_tasks_overlap():
    # s1 and s2 each send one row to validation; t labels one row of each,
    # so both its rows are held out and one goes back to training. That must
    # not be s1's only validation row: the checkpoint task labels two rows,
    # so it gets a validation row (as docs/multitask.md says), whatever the
    # seed, and every task keeps a training row.
    X = np.random.RandomState(0).randn(4, 2).astype(np.float32)
    labels = dict(
        s1=np.array([0, 1, -1, -1]),
        s2=np.array([-1, -1, 0, 1]),
        t=np.array([0, -1, 1, -1]),
    )
    targets = {task: (v, v >= 0) for task, v in labels.items()}
    for seed in range(20):
        train, valid = _task_split(targets, 4, 0.5, seed, checkpoint_task="s1")
        for task, v in labels.items():
            assert (v[train] >= 0).any(), (seed, task)
        assert (labels["s1"][valid] >= 0).any(), seed
        net = MultitaskClassifier(
            {"s1": 2, "s2": 2, "t": 2},
            max_epochs=1,
            train_split=0.5,
            checkpoint_task="s1",
            verbose=0,
            random_state=seed,
        ).fit(X, task_labels(**labels))
        assert "valid_s1_score" in net.history[-1]


@pytest.mark.parametrize("fraction", [0.1, 0.2])
def test_checkpoint_task_gets_a_validation_row_its_sparser_tasks_spare(fraction):
    # t1 (rows 0, 1) and t2 (rows 1, 2), sparser than t0, hold out none of
    # their rows at this fraction and together cover all of t0's rows; any
    # one row held out still leaves each task a training row, so t0 must get
    # one (the split gave t0 no validation row, and fit raised "validation
    # set labels no row of task 't0'")
    X = np.random.RandomState(0).randn(3, 2).astype(np.float32)
    labels = dict(
        t0=np.array([0, 1, 0]), t1=np.array([1, 0, -1]), t2=np.array([-1, 1, 0])
    )
    targets = {task: (v, v >= 0) for task, v in labels.items()}
    for seed in range(10):
        train, valid = _task_split(targets, 3, fraction, seed, checkpoint_task="t0")
        assert len(valid) == 1 and len(train) == 2, seed
        for task, v in labels.items():
            assert (v[train] >= 0).any(), (seed, task)
    net = MultitaskClassifier(
        {"t0": 2, "t1": 2, "t2": 2},
        max_epochs=1,
        train_split=fraction,
        checkpoint_task="t0",
        verbose=0,
        random_state=0,
    ).fit(X, task_labels(**labels))
    assert "valid_t0_score" in net.history[-1]
    # without a checkpoint task this fraction holds out no row
    _, valid = _task_split(targets, 3, fraction, 0)
    assert len(valid) == 0


def test_documented_routing_snippet_runs():
    # docs/multitask.md's sample_weight routing snippet, on small data
    text = (Path(__file__).parents[1] / "docs" / "multitask.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    (code,) = [b for b in blocks if "set_fit_request(sample_weight=True)" in b]
    *head, last = code.rstrip().splitlines()
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    w = np.where(rng.rand(60) < 0.5, 0.0, 1.0)
    namespace = {"X": X, "y": y, "w": w}
    with sklearn.config_context():  # the snippet sets a global config
        exec("\n".join(head + ["scores = " + last]), namespace)
        scores = namespace["scores"]
        assert scores.shape == (5,) and np.all((scores >= 0) & (scores <= 1))
        # with a seeded net, the same call is reproducible and the weights
        # (half of them 0) change its scores
        trainer = MultitaskTrainer(
            clone(namespace["net"]).set_params(random_state=0, max_epochs=5)
        )
        Y = task_labels(a=y)
        weighted = [
            cross_val_score(trainer, X, Y, params={"sample_weight": w})
            for _ in range(2)
        ]
        # (params={}: scikit-learn 1.6 fails on the default None under routing)
        unweighted = cross_val_score(trainer, X, Y, params={})
    np.testing.assert_array_equal(weighted[0], weighted[1])
    assert not np.array_equal(weighted[0], unweighted)


def test_task_soft_label_frames_numbered_otherwise_than_the_classes_are_refused():
    import pandas as pd

    # a task's soft labels as a DataFrame are read by position: columns named
    # [1, 0] became task:0 and task:1 the other way round
    soft = np.eye(2)[[0, 1, 1, 0]]
    with pytest.raises(ValueError, match="labels of task 'a' are a DataFrame"):
        task_labels(a=pd.DataFrame(soft, columns=[1, 0]))
    with pytest.raises(ValueError, match="its column 1 would be class 0"):
        MultitaskClassifier({"a": 2}, max_epochs=1, verbose=0).fit(
            np.zeros((4, 2), np.float32), {"a": pd.DataFrame(soft, columns=[1, 0])}
        )
    y = task_labels(a=pd.DataFrame(soft, columns=["p0", "p1"]))
    np.testing.assert_array_equal(y[["a:0", "a:1"]].to_numpy(), soft)


def test_fit_refuses_a_task_missing_from_y():
    # a task with no column in y trained nothing: its head predicted at
    # random, while a column of -1 for it was refused ("no labelled rows")
    X, a, b, _ = _data(n=40)
    net = MultitaskClassifier({"a": 2, "b": 3}, max_epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"no labels for the tasks \['b'\]"):
        net.fit(X, task_labels(a=a))
    with pytest.raises(ValueError, match="no labels for the tasks"):
        MultitaskTrainer(net).fit(X, {"a": a})
    # a stream may bring each task's labels in its own partial_fit call
    net.partial_fit(X, task_labels(a=a))
    net.partial_fit(X, task_labels(b=b))
    assert len(net.history_) == 2
    # a warm refit goes on training the heads it has
    net.set_params(warm_start=True).fit(X, task_labels(a=a))
    assert len(net.history_) == 3


def test_hard_labels_coded_minus_one_plus_one_warn():
    # -1 marks a row a task does not label, so a binary task coded -1/+1
    # silently trained and scored on its positive rows alone
    X, a, _ = _setup()
    b = (X[:, 1] > 0).astype(int)
    plus_minus = task_labels(a=2 * a - 1, b=b)
    n_minus = np.count_nonzero(a == 0)
    net = MultitaskClassifier({"a": 2, "b": 2}, max_epochs=2, verbose=0)
    with pytest.warns(UserWarning, match=f"task 'a' .* the {n_minus} rows with -1"):
        net.fit(X, plus_minus)
    with pytest.warns(UserWarning, match="task 'a' hold -1 and 1 but no 0"):
        scores = net.score_tasks(X, plus_minus)
    positives = a == 1
    assert (
        scores["a"]
        == net.score_tasks(X[positives], task_labels(a=a, b=b)[positives])["a"]
    )
    with pytest.warns(UserWarning, match="task 'a' hold -1"):
        MultitaskTrainer(net).fit(X, plus_minus)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.fit(X, task_labels(a=a, b=b))  # 0/1 labels
        net.partial_fit(X, plus_minus)  # a block of a stream may lack class 0


def test_minus_one_warnings_point_at_the_callers_line():
    # the -1/+1 warning's stacklevel pointed at multitask.py (fit, score,
    # valid_data), not at the user's call
    X, a, _ = _setup()
    plus_minus = task_labels(a=2 * a - 1)
    net = MultitaskClassifier({"a": 2}, max_epochs=1, verbose=0)
    fitted = clone(net).fit(X, task_labels(a=a))
    calls = [
        lambda: clone(net).fit(X, plus_minus),
        lambda: clone(net).fit(X, task_labels(a=a), valid_data=(X, plus_minus)),
        lambda: fitted.score(X, plus_minus),
        lambda: MultitaskTrainer(net).fit(X, plus_minus),
    ]
    for call in calls:
        with pytest.warns(UserWarning, match="task 'a' hold -1") as record:
            call()
        assert {w.filename for w in record if "hold -1" in str(w.message)} == {__file__}


def test_trainer_takes_a_pipeline_label_model_as_documented():
    # the docs name a Pipeline as a label model fitted unweighted, but
    # set_params(cardinality=...) refused it: it has no such parameter
    from sklearn.preprocessing import FunctionTransformer

    X, votes, weight, params = _vote_task()
    y = task_labels(a=Votes(votes))
    pipe = make_pipeline(FunctionTransformer(), LabelModel(cardinality=2))
    trainer = MultitaskTrainer(MultitaskClassifier(**params), label_model=pipe)
    trainer.fit(X, y, sample_weight=weight)
    plain = LabelModel(cardinality=2).fit(votes)  # unweighted, as documented
    np.testing.assert_allclose(
        trainer.label_models_["a"][-1].cond_probs_, plain.cond_probs_, atol=1e-12
    )
    # one whose probabilities miss a class of the task is refused by name
    wide = MultitaskClassifier(**{**params, "tasks": {"a": 3}})
    with pytest.raises(ValueError, match=r"task 'a' gives probabilities of shape"):
        MultitaskTrainer(wide, label_model=pipe).fit(X, y)


class _AllHeadsClassifier(MultitaskClassifier):
    """The former training step: every head on every batch."""

    def train_step_single(self, batch, **fit_params):
        return skorch.NeuralNet.train_step_single(self, batch, **fit_params)


def test_a_training_batch_runs_and_carries_its_own_task_only():
    # A training batch's loss reads one task: its targets and its head are
    # the only ones computed (with 50 tasks every head on every batch made an
    # epoch 2.6x slower), and the fit is the same as with all of them.
    rng = np.random.default_rng(0)
    n = 300
    X = rng.normal(size=(n, 5)).astype(np.float32)
    y = task_labels(
        a=rng.integers(-1, 2, n), b=rng.dirichlet([1, 1, 1], n), c=rng.integers(0, 2, n)
    )
    params = dict(
        tasks={"a": 2, "b": 3, "c": 2},
        hidden_layer_sizes=(6,),
        dropout=0.2,
        head_hidden_sizes=(4,),
        max_epochs=2,
        batch_size=32,
        train_split=0.2,
        verbose=0,
        random_state=0,
    )
    net = MultitaskClassifier(**params)
    calls = []
    net.fit(X[:40], y.iloc[:40])  # initialized: hooks on the heads
    for task, head in net.module_.heads.items():
        head.register_forward_hook(lambda *_, task=task: calls.append(task))
    seen = []
    dataset_batch = type(net.get_dataset(X)).batch

    def batch(self, idx, task=None):
        out = dataset_batch(self, idx, task)
        seen.append((task, sorted(out[1]["targets"])))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(net.get_dataset(X)), "batch", batch)
        net.partial_fit(X, y)
    training = [(t, got) for t, got in seen if t is not None]
    assert training and all(got == [t] for t, got in training)
    # validation batches carry every task (scoring's forward passes none)
    assert all(got in (["a", "b", "c"], []) for t, got in seen if t is None)
    assert ["a", "b", "c"] in [got for t, got in seen if t is None]
    # one head per training batch, every head per other batch
    assert len(calls) == len(training) + 3 * (len(seen) - len(training))

    new = MultitaskClassifier(**params).fit(X, y)
    old = _AllHeadsClassifier(**params).fit(X, y)
    for key, value in old.module_.state_dict().items():
        assert torch.equal(new.module_.state_dict()[key], value), key
    assert [h["train_loss"] for h in new.history] == [
        h["train_loss"] for h in old.history
    ]
    assert [h["valid_loss"] for h in new.history] == [
        h["valid_loss"] for h in old.history
    ]


def test_module_forward_restricted_to_some_tasks():
    torch.manual_seed(0)
    net = MultitaskModule(4, {"a": 2, "b": 3, "c": 2}, hidden_layer_sizes=(5,))
    X = torch.randn(6, 4)
    full = net(X)
    part = net(X, tasks=("b",))
    assert list(part) == ["b"]
    assert torch.equal(part["b"], full["b"])


class _ScaledTrunk(torch.nn.Module):
    """A user trunk with a forward keyword argument."""

    def __init__(self, d=6, width=8):
        super().__init__()
        self.lin = torch.nn.Linear(d, width)
        self.seen = []

    def forward(self, X, scale=1.0):
        self.seen.append(scale)
        return torch.relu(self.lin(X)) * scale


def test_fit_keyword_arguments_reach_a_user_trunk():
    # the docstring said fit keyword arguments are passed to the module's
    # forward, but MultitaskModule.forward took X only: every one raised
    # "forward() got an unexpected keyword argument"
    X, a, b, _ = _data()
    y = task_labels(a=a, b=b)
    net = _net(module=_ScaledTrunk, trunk_dim=8, max_epochs=2).fit(X, y, scale=0.5)
    seen = net.module_.layers[0].seen
    assert seen and set(seen) == {0.5}  # training and validation steps
    seen.clear()
    net.predict_proba(X)  # prediction takes no fit parameters
    assert set(seen) == {1.0}
    with pytest.raises(TypeError, match=r"MLP trunk takes no keyword arguments, got"):
        _net(max_epochs=1).fit(X, y, scale=0.5)


def test_task_head_layers_and_token_tasks_are_checked_by_the_module():
    # MultitaskModule documents task_head_layers as {task: int} and
    # token_tasks as task names: a float layer failed at forward with
    # torch's "list indices must be integers", a bool read as layer 1, and a
    # misspelt task name in either was silently ignored.
    for layers in ({"a": 1.0}, {"a": True}, {"a": "1"}):
        with pytest.raises(ValueError, match=r"task_head_layers\['a'\]"):
            MultitaskModule(
                4, {"a": 2}, hidden_layer_sizes=(3,), task_head_layers=layers
            )
    with pytest.raises(ValueError, match="task_head_layers names unknown tasks"):
        MultitaskModule(4, {"a": 2}, task_head_layers={"b": 0})
    with pytest.raises(ValueError, match="token_tasks names unknown tasks"):
        MultitaskModule(4, {"a": 2}, token_tasks=("b",))
    module = MultitaskModule(
        4, {"a": 2}, hidden_layer_sizes=(3,), task_head_layers={"a": np.int64(0)}
    )
    assert module.head_layer == {"a": 0} and type(module.head_layer["a"]) is int
    # through the classifier, the float layer is a ValueError at fit too
    X, a, b, _ = _data(n=40)
    with pytest.raises(ValueError, match=r"task_head_layers\['a'\]"):
        _net(task_head_layers={"a": 1.0}).fit(X, task_labels(a=a, b=b))


def test_score_of_labels_for_no_task_raises_as_documented():
    # score_tasks leaves out a task y does not label; where y labels none at
    # all, score_tasks and score (net and trainer) raise, as their docstrings
    # say, rather than return {} or NaN.
    X, a, b, _ = _data(n=40)
    net = _net(max_epochs=1).fit(X, task_labels(a=a, b=b))
    trainer = MultitaskTrainer(_net(max_epochs=1)).fit(X, task_labels(a=a, b=b))
    unlabeled = task_labels(a=np.full(40, -1), b=np.full(40, -1))
    for model in (net, trainer):
        assert list(model.score_tasks(X, task_labels(a=a, b=unlabeled["b"]))) == ["a"]
        for method in (model.score_tasks, model.score):
            with pytest.raises(ValueError, match="labels none of the model's tasks"):
                method(X, unlabeled)


def test_features_beyond_float32_range_are_refused_as_by_end_model():
    # MultitaskClassifier cast float64 X to float32 unchecked: a value of
    # 1e39 became inf, so predict_proba gave NaN probabilities for its row
    # and fit stopped with "training diverged"; EndModel names the value
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = task_labels(a=(X[:, 0] > 0).astype(int))
    net = MultitaskClassifier({"a": 2}, max_epochs=1, verbose=0).fit(X, y)
    big = X.copy()
    big[7, 2] = 1e39
    match = r"X holds 1e\+39 at row 7, column 2, beyond the float32 range"
    with pytest.raises(ValueError, match=match):
        net.predict_proba(big)
    with pytest.raises(ValueError, match=match):
        MultitaskClassifier({"a": 2}, max_epochs=1, verbose=0).fit(big, y)
    # sequences name the token and the feature
    X_seq, y_seq = _token_data(20, 5)
    X_seq = X_seq.astype(np.float64)
    X_seq[3, 1, 2] = -1e39
    match = r"X holds -1e\+39 at row 3, token 1, feature 2, beyond the float32"
    with pytest.raises(ValueError, match=match):
        _token_net().fit(X_seq, y_seq)
    # the float32 range itself is accepted, as by EndModel
    ok = X.copy()
    ok[7, 2] = 1e30
    assert np.isfinite(net.predict_proba(ok)[0]).all()


@pytest.mark.parametrize("scale", [2.0**1000, 2.0**-1000])
def test_sample_weights_far_from_one_train_as_their_ratios(scale):
    # the losses divide by the weights' sum, so only their ratios count; the
    # float32 cast refused weights of 2**1000 ("infinity or a value too
    # large") and made weights of 2**-1000 zero ("at least one non-zero")
    X, a, rng = _setup()
    y = task_labels(a=a, b=(X[:, 1] > 0).astype(int))
    w = rng.randint(1, 4, size=len(X)).astype(np.float64)
    params = dict(max_epochs=2, verbose=0, random_state=0)
    scaled = MultitaskClassifier({"a": 2, "b": 2}, **params).fit(
        X, y, sample_weight=w * scale, valid_data=(X[:20], y[:20], w[:20] * scale)
    )
    again = MultitaskClassifier({"a": 2, "b": 2}, **params).fit(
        X, y, sample_weight=w, valid_data=(X[:20], y[:20], w[:20])
    )
    for got, want in zip(scaled.predict_proba(X), again.predict_proba(X), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        scaled.history[:, "valid_loss"], again.history[:, "valid_loss"], rtol=1e-5
    )
    np.testing.assert_allclose(
        scaled.history[:, "train_loss"], again.history[:, "train_loss"], rtol=1e-5
    )


@pytest.mark.parametrize(
    "params, message",
    [
        ({"train_split": 2.0}, "train_split=2.0 must be a fraction"),
        ({"max_epochs": 0}, "max_epochs=0 must be a positive integer"),
    ],
)
def test_partial_fit_checks_parameters_set_between_calls(params, message):
    # only the first call checked them: train_split=2.0 and max_epochs=0
    # trained without a word
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4).astype(np.float32)
    y = {"a": (X[:, 0] > 0).astype(int), "b": (X[:, 1] > 0).astype(int)}
    model = MultitaskClassifier(
        tasks={"a": 2, "b": 2}, max_epochs=1, random_state=0, verbose=0
    ).partial_fit(X, y)
    model.set_params(**params)
    with pytest.raises(ValueError, match=message):
        model.partial_fit(X, y)


def test_partial_fit_after_a_fit_that_raised_starts_afresh():
    # fit set the features of its call before refusing its valid_data;
    # partial_fit then went on training the earlier net (4 inputs) on them:
    # "mat1 and mat2 shapes cannot be multiplied"
    rng = np.random.RandomState(0)
    X, X6 = rng.randn(60, 4).astype(np.float32), rng.randn(60, 6).astype(np.float32)
    y = {"a": (X[:, 0] > 0).astype(int), "b": (X[:, 1] > 0).astype(int)}
    params = dict(tasks={"a": 2, "b": 2}, max_epochs=2, random_state=0, verbose=0)
    model = MultitaskClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="Task 'a' has the label 7"):
        model.fit(X6, y, valid_data=(X6[:10], {"a": np.full(10, 7)}))
    model.partial_fit(X6, y)
    fresh = MultitaskClassifier(**params).partial_fit(X6, y)
    for got, want in zip(model.predict_proba(X6), fresh.predict_proba(X6), strict=True):
        np.testing.assert_array_equal(got, want)


def test_partial_fit_that_raises_before_training_changes_nothing():
    # a call that raised in its first batch (here a forward argument the MLP
    # trunk refuses) had drawn the next batch order and begun a history
    # epoch, and a failing first call left an initialized net: the next good
    # calls trained one epoch later (predictions 0.017-0.021 away)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    y = task_labels(a=(X[:, 0] > 0).astype(int), b=(X[:, 1] > 0).astype(int))

    def make():
        return MultitaskClassifier(
            tasks={"a": 2, "b": 2},
            max_epochs=2,
            train_split=0.2,
            verbose=0,
            random_state=0,
        )

    ref = make().partial_fit(X, y).partial_fit(X, y)
    later = make().partial_fit(X, y)
    first = make()
    for net in (later, first):
        with pytest.raises(TypeError, match="MLP trunk takes no keyword"):
            net.partial_fit(X, y, scale=0.5)
    assert not first.initialized_
    later.partial_fit(X, y)
    first.partial_fit(X, y).partial_fit(X, y)
    for net in (later, first):
        assert len(net.history) == len(ref.history)
        for got, want in zip(net.predict_proba(X), ref.predict_proba(X), strict=True):
            np.testing.assert_array_equal(got, want)


def test_trainer_fit_that_raises_leaves_the_trainer_as_it_was():
    # the label models were stored before the net was fitted: a fit whose
    # votes or net failed left the earlier net beside the failed call's label
    # models (none where its votes were refused: score then raised 'it was
    # fitted on labels'), and an unfitted trainer looked fitted
    X, votes, _, params = _vote_task(n=60)
    y = task_labels(a=Votes(votes))
    trainer = MultitaskTrainer(MultitaskClassifier(**params))
    with pytest.raises(ValueError, match="holds the value 2"):
        trainer.fit(X, task_labels(a=Votes(np.where(votes > 0, 2, votes))))
    assert not [k for k in vars(trainer) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        trainer.predict(X)
    trainer.fit(X, y)
    proba, score = trainer.predict_proba(X), trainer.score(X, y)
    label_model, net = trainer.label_models_["a"], trainer.estimator_
    flipped = task_labels(a=Votes(np.where(votes >= 0, 1 - votes, -1)))
    for bad in (
        lambda: trainer.fit(X, task_labels(a=Votes(np.where(votes > 0, 2, votes)))),
        lambda: trainer.fit(X[:, :2] * np.nan, flipped),  # the net refuses NaN
    ):
        with pytest.raises(ValueError):
            bad()
        assert trainer.label_models_["a"] is label_model
        assert trainer.estimator_ is net
        np.testing.assert_array_equal(trainer.predict_proba(X)[0], proba[0])
        assert trainer.score(X, y) == score


@pytest.mark.parametrize("on_train", [False, True])
def test_skorch_epoch_scoring_callback_is_refused(on_train):
    # skorch's EpochScoring scores the net on a skorch Dataset of the task
    # table: on the validation rows it recorded nothing (a KeyError for its
    # name in history), on the training rows it raised a TypeError ("Cannot
    # convert this data type to a numpy array") after the first epoch
    rng = np.random.RandomState(0)
    X = rng.rand(60, 3).astype(np.float32)
    y = task_labels(a=(X[:, 0] > 0.5).astype(int), b=(X[:, 1] > 0.5).astype(int))
    scoring = skorch.callbacks.EpochScoring("accuracy", on_train=on_train)
    net = MultitaskClassifier(
        {"a": 2, "b": 2}, max_epochs=2, verbose=0, callbacks=[("acc", scoring)]
    )
    with pytest.raises(ValueError, match="callbacks entry 'acc' is skorch's Epoch"):
        net.fit(X, y)
    assert net.history is None or len(net.history) == 0  # no epoch trained


def test_numpy_integer_batch_size_trains_as_the_python_int():
    # the training batches' bounds a + batch_size kept a numpy batch size's
    # type: np.int8(32) overflowed past 127 (IndexError: index 120 is out of
    # bounds for axis 0 with size 120)
    rng = np.random.RandomState(0)
    X = rng.rand(200, 3).astype(np.float32)
    y = task_labels(a=(X[:, 0] > 0.5).astype(int), b=(X[:, 1] > 0.5).astype(int))
    kwargs = dict(max_epochs=2, verbose=0, random_state=0)
    expected = MultitaskClassifier({"a": 2, "b": 2}, batch_size=32, **kwargs)
    expected = expected.fit(X, y).predict_proba(X)
    for batch_size in (np.int8(32), np.int64(32)):
        net = MultitaskClassifier({"a": 2, "b": 2}, batch_size=batch_size, **kwargs)
        for got, want in zip(net.fit(X, y).predict_proba(X), expected, strict=True):
            np.testing.assert_array_equal(got, want)


def test_valid_data_rows_the_net_cannot_read_name_valid_data():
    # as EndModel's: in a Pipeline valid_data skips the earlier steps, and raw
    # text raised numpy's bare "could not convert string to float"
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    texts = ["free prize call now", "see you at lunch", "win cash now", "ok thanks"]
    y = task_labels(t=np.array([1, 0, 1, 0] * 5))
    lengths = FunctionTransformer(
        lambda t: np.array([[len(s), s.count(" ")] for s in t], np.float32)
    )
    net = MultitaskClassifier({"t": 2}, max_epochs=1, verbose=0)
    pipe = make_pipeline(lengths, net)
    hint = r"valid_data's X_valid was refused: could not convert string.*pipe\[:-1\]"
    with pytest.raises(ValueError, match=hint):
        pipe.fit(texts * 5, y, multitaskclassifier__valid_data=(texts * 5, y))
    X = np.ones((20, 2), np.float32)
    with pytest.raises(ValueError, match="valid_data's X_valid was refused: X has 3"):
        net.fit(X, y, valid_data=(np.ones((20, 3), np.float32), y))
    # the training X keeps its own error
    with pytest.raises(ValueError, match="^could not convert string"):
        net.fit(np.array(texts * 5)[:, None], y)


def test_a_label_model_warning_names_its_task():
    # MultitaskTrainer fits one label model per task with votes: their
    # ConvergenceWarning did not say which task's label model had not converged
    L, y, _ = make_label_matrix(300, 5, random_state=0)
    X = np.random.RandomState(0).randn(300, 3).astype(np.float32)
    trainer = MultitaskTrainer(
        MultitaskClassifier({"a": 2, "b": 2}, max_epochs=1, verbose=0),
        label_model=LabelModel(method="em", max_iter=1),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(X, task_labels(a=y, b=Votes(L)))
    converge = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(converge) == 1
    assert str(converge[0].message).startswith(
        "Task 'b', its label model: LabelModel did not converge in max_iter=1"
    )
    assert converge[0].filename == __file__  # the user's call


def test_label_model_warnings_before_its_error_are_not_lost():
    class WarnsThenRaises(LabelModel):
        def fit(self, L, y=None, sample_weight=None):
            warnings.warn("votes look odd", UserWarning, stacklevel=2)
            raise ValueError("cannot fit these votes")

    L, y, _ = make_label_matrix(60, 3, random_state=0)
    X = np.zeros((60, 2), np.float32)
    trainer = MultitaskTrainer(
        MultitaskClassifier({"a": 2}, max_epochs=1, verbose=0),
        label_model=WarnsThenRaises(),
    )
    with pytest.warns(UserWarning, match="Task 'a', its label model: votes look"):
        with pytest.raises(ValueError, match="cannot fit these votes"):
            trainer.fit(X, task_labels(a=Votes(L)))
