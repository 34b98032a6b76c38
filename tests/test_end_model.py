import io
import pickle
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from skorch.callbacks import (
    BatchScoring,
    Callback,
    EpochScoring,
    GradientNormClipping,
    LRScheduler,
)
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from sklearn_metal import EndModel, LabelModel
from sklearn_metal.datasets import load_youtube_votes
from sklearn_metal.modules import MLP


def _soft_data(n=600, d=10, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d).astype(np.float32)
    p = 1 / (1 + np.exp(-3 * (X[:, 0] + 0.5 * X[:, 1])))
    soft = np.column_stack([1 - p, p])
    return X, soft, (p > 0.5).astype(int)


@pytest.fixture(scope="module")
def texts_and_soft_labels():
    """Spam-like texts with soft labels from a LabelModel over keyword votes."""
    rng = np.random.RandomState(0)
    spam_words = ["subscribe", "check", "channel", "free", "click", "http"]
    ham_words = ["song", "love", "great", "voice", "beautiful", "music"]
    texts, y = [], []
    for i in range(300):
        spam = i % 2
        words = rng.choice(spam_words if spam else ham_words, size=4)
        noise = rng.choice(spam_words + ham_words, size=2)
        texts.append(" ".join(np.concatenate([words, noise])))
        y.append(spam)
    L = np.array(
        [
            [1 if w in t else -1 for w in ("subscribe", "check", "http")]
            + [0 if w in t else -1 for w in ("song", "love")]
            for t in texts
        ]
    )
    soft = LabelModel().fit(L).predict_proba(L)
    return np.array(texts), soft, np.array(y)


def test_soft_labels_give_arange_classes_and_learn(texts_and_soft_labels):
    X, soft, y = _soft_data()
    model = EndModel(max_epochs=30, lr=0.01, verbose=0, random_state=0).fit(X, soft)
    np.testing.assert_array_equal(model.classes_, [0, 1])
    assert model.soft_labels_
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert model.score(X, soft) > 0.9
    assert model.score(X, y) > 0.9
    assert "valid_score" in model.history[-1]


def test_hard_string_labels_predict_classes():
    X, _, y = _soft_data()
    labels = np.array(["ham", "spam"])[y]
    model = EndModel(max_epochs=20, lr=0.01, verbose=0, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(model.classes_, ["ham", "spam"])
    assert set(model.predict(X)) <= {"ham", "spam"}
    assert model.score(X, labels) > 0.9


def test_pipeline_grid_search_on_soft_labels(texts_and_soft_labels):
    texts, soft, y = texts_and_soft_labels
    pipe = make_pipeline(
        TfidfVectorizer(),
        EndModel(max_epochs=30, lr=0.01, verbose=0, random_state=0),
    )
    pipe.fit(texts, soft)
    # the soft labels' own argmax is right on 82% of rows; the end model
    # generalizes past the keyword votes
    label_model_acc = np.mean(soft.argmax(axis=1) == y)
    assert pipe.score(texts, y) >= label_model_acc
    search = GridSearchCV(
        pipe,
        {
            "endmodel__hidden_layer_sizes": [(16,), (32, 16)],
            "endmodel__lr": [1e-3, 1e-2],
        },
        cv=3,
    )
    search.fit(texts, soft)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.all(np.isfinite(scores))
    assert search.best_estimator_.score(texts, y) > 0.75
    cv = cross_val_score(pipe, texts, soft, cv=3)
    assert np.all(np.isfinite(cv)) and cv.mean() > 0.7


def test_clone_and_pickle_roundtrip():
    X, soft, _ = _soft_data()
    model = EndModel(hidden_layer_sizes=(8,), max_epochs=3, verbose=0, random_state=0)
    model.fit(X, soft)
    twin = clone(model)
    assert twin.hidden_layer_sizes == (8,) and not hasattr(twin, "classes_")
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict_proba(X), model.predict_proba(X))


def test_nested_params_reachable():
    model = EndModel(
        optimizer=torch.optim.SGD, optimizer__momentum=0.9, callbacks__print_log=None
    )
    params = model.get_params()
    assert params["optimizer__momentum"] == 0.9
    model.set_params(hidden_layer_sizes=(4,), module__dropout=0.0)
    assert model.hidden_layer_sizes == (4,)


def test_random_state_reproducible_and_global_rng_untouched():
    X, soft, _ = _soft_data()
    torch.manual_seed(123)
    np.random.seed(123)
    before_torch, before_np = torch.rand(1), np.random.rand()
    torch.manual_seed(123)
    np.random.seed(123)
    a = EndModel(max_epochs=3, dropout=0.2, verbose=0, random_state=7).fit(X, soft)
    after_torch, after_np = torch.rand(1), np.random.rand()
    assert torch.equal(before_torch, after_torch) and before_np == after_np
    b = EndModel(max_epochs=3, dropout=0.2, verbose=0, random_state=7).fit(X, soft)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_sparse_dataframe_and_float64_inputs():
    X, soft, y = _soft_data()
    dense = EndModel(max_epochs=3, verbose=0, random_state=0).fit(X, soft)
    Xd = np.where(np.abs(X) > 1, X, 0)
    Xs = sp.csr_matrix(Xd)
    model = EndModel(max_epochs=3, verbose=0, random_state=0).fit(Xs, soft)
    assert model.predict_proba(Xs).shape == (len(X), 2)
    # sparse rows train and predict as their dense values do
    on_dense = EndModel(max_epochs=3, verbose=0, random_state=0).fit(Xd, soft)
    np.testing.assert_allclose(
        model.predict_proba(Xs), on_dense.predict_proba(Xd), rtol=1e-5, atol=1e-6
    )
    df = pd.DataFrame(X.astype(np.float64), columns=[f"f{i}" for i in range(10)])
    framed = EndModel(max_epochs=3, verbose=0, random_state=0).fit(df, soft)
    assert list(framed.feature_names_in_) == list(df.columns)
    np.testing.assert_allclose(
        framed.predict_proba(df), dense.predict_proba(X), rtol=1e-4, atol=1e-5
    )


def test_valid_data_drives_early_stopping_and_best_epoch():
    X, soft, y = _soft_data(n=800)
    X_dev, _, y_dev = _soft_data(n=200, seed=1)
    model = EndModel(
        max_epochs=200, lr=0.05, patience=3, verbose=0, random_state=0
    ).fit(X, soft, valid_data=(X_dev, y_dev))
    history = model.history
    assert len(history) < 200  # stopped early
    scores = history[:, "valid_score"]
    best = int(np.argmax(scores))
    # the restored weights are those of the best validated epoch
    assert model.score(X_dev, y_dev) == pytest.approx(scores[best])
    assert len(history) - 1 - best == 3


def test_early_stopping_counts_worse_negative_scores_as_misses():
    # neg_log_loss-like scores, each a little worse (lower) than the one
    # before: epoch 1 is the best, so patience=2 stops after epoch 3 and
    # restores epoch 1. skorch's relative threshold, score * (1 + 1e-4), lay
    # below a negative score and took every worse epoch for an improvement.
    X, _, y = _soft_data(n=60)
    scores = iter([-1.0 - 5e-5 * i for i in range(10)])

    def worsening(estimator, X, y, sample_weight=None):
        return next(scores)

    class Snapshots(Callback):
        def initialize(self):
            self.states = []
            return self

        def on_epoch_end(self, net, **kwargs):
            state = net.module_.state_dict()
            self.states.append({k: v.clone() for k, v in state.items()})

    snapshots = Snapshots()
    model = EndModel(
        max_epochs=6,
        patience=2,
        lr=0.05,
        scoring=worsening,
        callbacks=[("snapshots", snapshots)],
        verbose=0,
        random_state=0,
    ).fit(X, y)
    assert len(model.history) == 3
    final = model.module_.state_dict()
    first = snapshots.states[0]
    assert all(torch.equal(final[k], first[k]) for k in first)
    assert not all(torch.equal(final[k], v) for k, v in snapshots.states[-1].items())


def test_train_split_none_and_valid_every():
    X, soft, _ = _soft_data()
    model = EndModel(train_split=None, max_epochs=4, verbose=0, random_state=0)
    model.fit(X, soft)
    assert "valid_loss" not in model.history[-1]
    model = EndModel(valid_every=2, max_epochs=4, verbose=0, random_state=0)
    model.fit(X, soft)
    validated = ["valid_score" in row for row in model.history]
    assert validated == [False, True, False, True]


def test_lr_schedule_and_gradient_clipping_callbacks():
    X, soft, _ = _soft_data()
    model = EndModel(
        max_epochs=3,
        verbose=0,
        random_state=0,
        callbacks=[
            ("lr", LRScheduler(policy="StepLR", step_size=1, gamma=0.5)),
            ("clip", GradientNormClipping(1.0)),
        ],
    ).fit(X, soft)
    lr = model.optimizer_.param_groups[0]["lr"]
    assert lr == pytest.approx(1e-3 * 0.5**3)


def test_user_module_and_user_scorer():
    X, soft, y = _soft_data()

    class Linear(torch.nn.Module):
        def __init__(self, d=10):
            super().__init__()
            self.lin = torch.nn.Linear(d, 2)

        def forward(self, X):
            return self.lin(X)

    def balanced(estimator, X, y):
        from sklearn.metrics import balanced_accuracy_score

        return balanced_accuracy_score(y, estimator.predict(X))

    model = EndModel(
        Linear, module__d=10, scoring=balanced, max_epochs=20, lr=0.05, verbose=0
    ).fit(X, soft)
    assert isinstance(model.module_, Linear)
    assert model.history[-1, "valid_score"] > 0.8


def test_progress_printing_can_be_turned_off(capsys):
    X, soft, _ = _soft_data()
    EndModel(max_epochs=2, verbose=0).fit(X, soft)
    assert capsys.readouterr().out == ""
    EndModel(max_epochs=2, verbose=1).fit(X, soft)
    assert "valid_score" in capsys.readouterr().out


@pytest.mark.parametrize(
    "y, match",
    [
        (np.array([[0.5, 0.6]] * 5), "sums to 1.1"),
        (np.array([[1.5, -0.5]] * 5), "negative"),
        (np.array([[np.nan, 1.0]] * 5), "NaN"),
        (np.array([0.5, 1, 0, 1, 0]), "Unknown label type"),
        (np.array([0, 1, 0]), "rows but X has"),
    ],
)
def test_bad_targets_raise(y, match):
    X = np.zeros((5, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=match):
        EndModel(max_epochs=1, verbose=0).fit(X, y)


@pytest.mark.parametrize("fmt", ["csr_matrix", "csr_array", "coo_array"])
def test_sparse_targets_are_refused_by_name(fmt):
    # np.asarray wrapped a sparse y in a 0-d array: fit raised an IndexError,
    # score 'got shape ()'
    X, soft, _ = _soft_data(n=20)
    y = getattr(sp, fmt)(soft)
    match = rf"y is a sparse matrix \({fmt}\).*y\.toarray\(\)"
    with pytest.raises(ValueError, match=match):
        EndModel(max_epochs=1, verbose=0).fit(X, y)
    model = EndModel(max_epochs=1, verbose=0).fit(X, soft)
    with pytest.raises(ValueError, match=match):
        model.score(X, y)
    with pytest.raises(ValueError, match=match):
        EndModel(max_epochs=1, verbose=0).fit(X, soft, valid_data=(X, y))


def test_valid_data_rows_the_net_cannot_read_name_valid_data():
    # In a Pipeline valid_data skips the earlier steps: raw text raised numpy's
    # bare "could not convert string to float", and rows of another width
    # sklearn's "X has 4 features", neither naming valid_data
    texts = ["free prize call now", "see you at lunch", "win cash now", "ok thanks"]
    y = np.array([1, 0, 1, 0] * 5)
    pipe = make_pipeline(TfidfVectorizer(), EndModel(max_epochs=1, verbose=0))
    hint = r"valid_data's X_valid was refused: could not convert string.*pipe\[:-1\]"
    with pytest.raises(ValueError, match=hint):
        pipe.fit(texts * 5, y, endmodel__valid_data=(texts * 5, y))
    X, soft, _ = _soft_data(n=20, d=3)
    with pytest.raises(ValueError, match="valid_data's X_valid was refused: X has 4"):
        EndModel(max_epochs=1, verbose=0).fit(
            X, soft, valid_data=(np.ones((5, 4), np.float32), soft[:5])
        )


def test_bad_inputs_raise():
    X, soft, _ = _soft_data()
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        EndModel(max_epochs=1, verbose=0).fit(X_nan, soft)
    model = EndModel(max_epochs=1, verbose=0).fit(X, soft)
    with pytest.raises(ValueError, match="10 features"):
        model.predict(X[:, :5])
    with pytest.raises(ValueError, match="train_split"):
        EndModel(train_split=1.5, verbose=0).fit(X, soft)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error():
    X, soft, _ = _soft_data()
    with pytest.raises(ValueError, match="no CUDA device"):
        EndModel(device="cuda", verbose=0).fit(X, soft)


class _TensorCounter(pickle.Pickler):
    """A pickler that counts the tensors pickled as ordinary objects, i.e.
    outside the attributes skorch pickles through torch (which map a GPU
    net's tensors to the CPU on loading)."""

    def __init__(self, file):
        super().__init__(file)
        self.tensors = 0

    def persistent_id(self, obj):
        self.tensors += isinstance(obj, torch.Tensor)
        return None


@pytest.mark.parametrize("net_kind", ["end_model", "multitask"])
def test_lr_scheduler_callback_keeps_the_optimizer_out_of_the_pickle(net_kind):
    # skorch's LRScheduler keeps the torch scheduler of the last training
    # call, which holds the optimizer: pickle stored the optimizer a second
    # time outside skorch's device mapping (24 tensors here, the pickle
    # doubled), so a net trained on a GPU did not load without one
    from sklearn_metal import MultitaskClassifier, task_labels

    X, soft, y = _soft_data(n=100, d=6)
    callbacks = [("lr", LRScheduler("StepLR", step_size=1, gamma=0.5))]
    if net_kind == "end_model":
        net = EndModel(hidden_layer_sizes=(8,), callbacks=callbacks, max_epochs=2)
        target = soft
    else:
        net = MultitaskClassifier(
            {"a": 2, "b": 2}, hidden_layer_sizes=(8,), callbacks=callbacks, max_epochs=2
        )
        target = task_labels(a=y, b=(X[:, 1] > 0).astype(int))
    net.set_params(verbose=0, random_state=0).fit(X, target)
    counter = _TensorCounter(io.BytesIO())
    counter.dump(net)
    assert counter.tensors == 0
    scheduler = dict(net.callbacks_)["lr"].lr_scheduler_
    assert scheduler is not None and scheduler.optimizer is net.optimizer_
    restored = pickle.loads(pickle.dumps(net))
    lr = dict(restored.callbacks_)["lr"]
    assert lr.lr_scheduler_ is None and lr is restored.callbacks[0][1]
    assert lr.step_size == 1 and lr.gamma == 0.5
    np.testing.assert_array_equal(
        np.hstack(restored.predict_proba(X)), np.hstack(net.predict_proba(X))
    )
    # training goes on as it would have without the pickle
    net.partial_fit(X, target)
    restored.partial_fit(X, target)
    assert dict(restored.callbacks_)["lr"].lr_scheduler_.optimizer is (
        restored.optimizer_
    )
    lrs = [n.optimizer_.param_groups[0]["lr"] for n in (restored, net)]
    assert lrs[0] == lrs[1] < 0.001
    np.testing.assert_array_equal(
        np.hstack(restored.predict_proba(X)), np.hstack(net.predict_proba(X))
    )


@pytest.mark.gpu
def test_fit_predict_on_gpu():
    X, soft, y = _soft_data()
    model = EndModel(device="cuda", max_epochs=20, lr=0.01, verbose=0, random_state=0)
    model.fit(X, soft)
    assert next(model.module_.parameters()).is_cuda
    assert model.score(X, y) > 0.9
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict_proba(X), model.predict_proba(X))


def test_youtube_votes_to_end_model_smoke():
    data = load_youtube_votes()
    soft = LabelModel().fit(data.L_train).predict_proba(data.L_train)
    X = (data.L_train + 1).astype(np.float32)
    model = EndModel(max_epochs=3, verbose=0, random_state=0).fit(X, soft)
    assert model.predict(X).shape == (len(X),)
    # it learns the label model's signal: well above the majority class's
    # share of the gold test labels (0.528)
    X_test = (data.L_test + 1).astype(np.float32)
    majority = np.bincount(data.y_test).max() / len(data.y_test)
    assert model.score(X_test, data.y_test) > majority + 0.2


@pytest.mark.parametrize("n", [129, 257])
@pytest.mark.parametrize("shuffle", [True, False])
def test_batch_norm_merges_a_last_batch_of_one_row(n, shuffle):
    X, soft, y = _soft_data(n=n)
    model = EndModel(
        batch_norm=True,
        train_split=None,
        max_epochs=1,
        verbose=0,
        random_state=0,
        iterator_train__shuffle=shuffle,
    ).fit(X, y)
    batches = model.history[-1, "batches"]
    assert [b["train_batch_size"] for b in batches][-1] == 129
    assert sum(b["train_batch_size"] for b in batches) == n  # no row dropped
    assert model.predict_proba(X).shape == (n, 2)


def test_batch_iterator_min_last_batch_keeps_every_row():
    from sklearn_metal.end_model import ArrayDataset, BatchIterator

    data = ArrayDataset(np.arange(9, dtype=np.float32)[:, None])
    it = BatchIterator(
        data, batch_size=4, shuffle=True, random_state=0, min_last_batch=2
    )
    rows = [X[:, 0].numpy() for X, _ in it]
    assert [len(r) for r in rows] == [4, 5] and len(it) == 2
    assert sorted(np.concatenate(rows).tolist()) == list(range(9))
    one = BatchIterator(ArrayDataset(np.zeros((1, 1))), min_last_batch=2)
    assert [len(X) for X, _ in one] == [1]


@pytest.mark.parametrize("shuffle", [False, True])
def test_batch_norm_with_a_dataloader_merges_a_last_batch_of_one_row(shuffle):
    from sklearn_metal.end_model import ArrayDataset

    X, _, y = _soft_data(n=257)
    w = np.random.RandomState(0).randint(1, 4, size=len(X))
    params = dict(
        batch_norm=True,
        train_split=None,
        max_epochs=2,
        verbose=0,
        random_state=0,
        iterator_train__shuffle=shuffle,
    )
    loader = EndModel(iterator_train=torch.utils.data.DataLoader, **params)
    loader.fit(X, y, sample_weight=w)
    sliced = EndModel(**params).fit(X, y, sample_weight=w)
    for model in (loader, sliced):  # as BatchIterator does: no row dropped
        batches = model.history[-1, "batches"]
        # a weighted batch's size is its total weight
        assert len(batches) == 2
        assert sum(b["train_batch_size"] for b in batches) == pytest.approx(w.sum())
    data = ArrayDataset(X, y)
    assert len(loader.get_iterator(data, training=True)) == 2
    if not shuffle:  # the same batches in the same order
        np.testing.assert_allclose(
            loader.history[:, "train_loss"], sliced.history[:, "train_loss"], rtol=1e-5
        )
    # arguments that decide the last batch themselves are the DataLoader's
    dropped = EndModel(
        iterator_train=torch.utils.data.DataLoader,
        iterator_train__drop_last=True,
        **params,
    ).fit(X, y)
    assert sum(b["train_batch_size"] for b in dropped.history[-1, "batches"]) == 256


@pytest.mark.parametrize("n, split", [(1, 0.2), (2, 0.9)])
def test_a_float_split_keeps_a_training_row(n, split):
    # the fallback split held every row out: one row trained on nothing (no
    # train_loss), and a 0.9 split of two rows likewise
    X = np.arange(3.0 * n, dtype=np.float32).reshape(n, 3)
    model = EndModel(max_epochs=2, train_split=split, verbose=0).fit(X, np.arange(n))
    for epoch in model.history:
        sizes = [b.get("train_batch_size") for b in epoch["batches"]]
        assert sum(s for s in sizes if s is not None) == 1
        assert np.isfinite(epoch["train_loss"])


def test_batch_norm_with_a_dataloader_and_too_few_rows():
    X, _, y = _soft_data(n=257)
    one_row = EndModel(batch_norm=True, train_split=None, max_epochs=1, verbose=0)
    # (scikit-learn's checks look for "n_samples=1" in a one-sample error)
    with pytest.raises(ValueError, match="at least 2 training rows; got n_samples=1"):
        one_row.fit(X[:1], y[:1])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(max_epochs=0), "max_epochs=0 must be a positive integer"),
        (dict(max_epochs=2.5), "max_epochs=2.5 must be a positive integer"),
        (dict(batch_size=0), "batch_size=0 must be a positive integer, or -1"),
        (
            dict(module__dropout=0.2),
            r"module__dropout=0.2 duplicates EndModel's dropout parameter; set "
            r"dropout=0.2",
        ),
        (
            dict(module__hidden_layer_sizes=(8,)),
            r"duplicates EndModel's hidden_layer_sizes parameter; set "
            r"hidden_layer_sizes=\(8,\)",
        ),
        (dict(module__input_dim=3), "module__input_dim=3 cannot configure"),
    ],
)
def test_bad_parameters_raise(params, match):
    X, _, y = _soft_data(n=40)
    with pytest.raises(ValueError, match=match):
        EndModel(verbose=0, **params).fit(X, y)
    with pytest.raises(ValueError, match=match):
        EndModel(verbose=0, **params).partial_fit(X, y)


def _weight_net(**params):
    """One full, unshuffled batch per epoch, so epoch losses are comparable."""
    defaults = dict(
        train_split=None,
        batch_size=-1,
        iterator_train__shuffle=False,
        max_epochs=3,
        lr=0.01,
        verbose=0,
        random_state=0,
    )
    return EndModel(**{**defaults, **params})


@pytest.mark.parametrize("soft_targets", [False, True])
def test_integer_weights_equal_repeated_rows(soft_targets):
    X, soft, y = _soft_data(n=40, d=5)
    target = soft if soft_targets else y
    w = np.random.RandomState(1).randint(0, 4, size=len(X))
    weighted = _weight_net().fit(X, target, sample_weight=w)
    repeated = _weight_net().fit(np.repeat(X, w, axis=0), np.repeat(target, w, axis=0))
    np.testing.assert_allclose(
        weighted.history[:, "train_loss"], repeated.history[:, "train_loss"], rtol=1e-5
    )
    np.testing.assert_allclose(
        weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-5
    )


@pytest.mark.parametrize("soft_targets", [False, True])
def test_zero_weights_equal_dropped_rows(soft_targets):
    X, soft, y = _soft_data(n=40, d=5)
    target = soft if soft_targets else y
    keep = np.random.RandomState(2).rand(len(X)) < 0.6
    weighted = _weight_net(max_epochs=1).fit(X, target, sample_weight=keep * 1.0)
    dropped = _weight_net(max_epochs=1).fit(X[keep], target[keep])
    assert weighted.history[0, "train_loss"] == pytest.approx(
        dropped.history[0, "train_loss"], rel=1e-5
    )
    unit = _weight_net(max_epochs=1).fit(X, target, sample_weight=np.ones(len(X)))
    unweighted = _weight_net(max_epochs=1).fit(X, target)
    assert unit.history[0, "train_loss"] == pytest.approx(
        unweighted.history[0, "train_loss"], rel=1e-5
    )


def test_split_rows_keep_their_weights_in_the_validation_loss():
    from sklearn_metal.end_model import ArrayDataset

    X, _, y = _soft_data(n=60, d=5)
    w = np.random.RandomState(3).randint(0, 3, size=len(X)).astype(np.float32)
    w[0] = 1  # not all zero in any split
    model = EndModel(
        train_split=0.5, early_stopping=False, max_epochs=1, verbose=0, random_state=0
    ).fit(X, y, sample_weight=w)
    # the same split as in fit, with the rows' weights carried along
    _, valid = model.get_split_datasets(ArrayDataset(X, y, w), y)
    with torch.no_grad():
        logits = model.module_(torch.from_numpy(valid.X))
        losses = torch.nn.functional.cross_entropy(
            logits, torch.from_numpy(valid.y), reduction="none"
        ).numpy()
    expected = np.sum(valid.sample_weight * losses) / np.sum(valid.sample_weight)
    assert model.history[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)
    assert np.mean(losses) != pytest.approx(expected, rel=1e-3)


def test_sample_weight_with_partial_fit_and_a_dataloader():
    X, soft, y = _soft_data(n=40, d=5)
    w = np.random.RandomState(4).randint(0, 4, size=len(X))
    fitted = _weight_net(max_epochs=1).fit(X, soft, sample_weight=w)
    partial = _weight_net(max_epochs=1).partial_fit(X, soft, sample_weight=w)
    assert partial.history[0, "train_loss"] == pytest.approx(
        fitted.history[0, "train_loss"], rel=1e-6
    )
    partial.partial_fit(X, soft, sample_weight=w)
    assert len(partial.history) == 2
    loader = EndModel(
        iterator_train=torch.utils.data.DataLoader,
        iterator_train__shuffle=False,
        batch_size=-1,
        train_split=None,
        max_epochs=1,
        verbose=0,
        random_state=0,
    ).fit(X, y, sample_weight=w)
    repeated = _weight_net(max_epochs=1).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert loader.history[0, "train_loss"] == pytest.approx(
        repeated.history[0, "train_loss"], rel=1e-5
    )


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (-np.ones(20), "Negative values in data passed to `sample_weight`"),
        (np.r_[np.nan, np.ones(19)], "sample_weight contains NaN"),
        (np.r_[np.inf, np.ones(19)], "sample_weight contains infinity"),
        (np.ones(5), r"sample_weight.shape == \(5,\), expected \(20,\)"),
        (np.ones((20, 2)), "Sample weights must be 1D"),
        (np.zeros(20), "at least one non-zero"),
    ],
)
def test_bad_sample_weight_raises(sample_weight, match):
    X, soft, y = _soft_data(n=20, d=3)
    with pytest.raises(ValueError, match=match):
        EndModel(max_epochs=1, verbose=0).fit(X, y, sample_weight=sample_weight)
    with pytest.raises(ValueError, match=match):
        EndModel(max_epochs=1, verbose=0).partial_fit(
            X, soft, sample_weight=sample_weight
        )


def test_cross_val_score_routes_sample_weight():
    X, _, y = _soft_data(n=150, d=5)
    w = np.ones(len(X))
    model = EndModel(
        max_epochs=10, lr=0.05, early_stopping=False, verbose=0, random_state=0
    )
    weighted = cross_val_score(
        model, X, y, cv=3, params={"sample_weight": w}, error_score="raise"
    )
    assert np.all(np.isfinite(weighted))
    # rows of class 1 weigh nothing: every fold predicts class 0 only
    only_zero = cross_val_score(
        model,
        X,
        y,
        cv=3,
        params={"sample_weight": (y == 0) * 1.0},
        scoring=lambda est, X, y: np.mean(est.predict(X) == 0),
        error_score="raise",
    )
    np.testing.assert_array_equal(only_zero, 1.0)


def test_warm_start_refit_needs_the_same_classes_and_features():
    X, soft, y = _soft_data(n=60, d=6)
    model = EndModel(max_epochs=1, verbose=0, warm_start=True, random_state=0)
    model.fit(X, y)
    module = model.module_
    three = np.random.RandomState(0).randint(0, 3, size=len(X))
    with pytest.raises(
        ValueError,
        match=r"warm_start can only be used where y has the same classes as in the "
        r"previous call to fit. Previous classes: \[0, 1\], y: \[0, 1, 2\]",
    ):
        model.fit(X, three)
    with pytest.raises(ValueError, match="soft labels over 3 classes"):
        model.fit(X, np.full((len(X), 3), 1 / 3))
    with pytest.raises(
        ValueError, match="X has 2 features, but EndModel is expecting 6 features"
    ):
        model.fit(X[:, :2], y)
    # soft labels over the same classes go on training the same module
    model.fit(X, soft)
    assert model.module_ is module and model.soft_labels_
    assert len(model.history) == 2
    # without warm_start a refit starts afresh with new classes and features
    model.set_params(warm_start=False).fit(X[:, :2], three)
    assert model.n_features_in_ == 2 and len(model.classes_) == 3


def test_partial_fit_needs_the_same_classes_and_features():
    X, _, y = _soft_data(n=60, d=6)
    model = EndModel(max_epochs=1, verbose=0).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="X has 2 features, but EndModel is expecting"):
        model.partial_fit(X[:, :2], y)
    with pytest.raises(ValueError, match=r"y holds labels \[3\]"):
        model.partial_fit(X, np.r_[3, y[1:]])
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] is not the same as on"):
        model.partial_fit(X, y, classes=[0, 1])
    model.partial_fit(X, y, classes=[2, 1, 0])
    assert len(model.history) == 2


def test_valid_data_by_position_and_zero_weight_fraction_split():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    params = dict(max_epochs=2, verbose=0, random_state=0)
    by_position = EndModel(**params).fit(X, y, (X[:10], y[:10]))
    by_name = EndModel(**params).fit(X, y, valid_data=(X[:10], y[:10]))
    np.testing.assert_allclose(
        by_position.history[:, "valid_loss"], by_name.history[:, "valid_loss"]
    )
    weight = np.r_[1.0, np.zeros(59)]  # every held-out row weighs nothing
    with pytest.raises(ValueError, match="Every validation row of train_split"):
        EndModel(train_split=0.5, **params).fit(X, y, sample_weight=weight)

    def halves(dataset, y):
        return dataset.subset(np.arange(30)), dataset.subset(np.arange(30, 60))

    held_out = np.r_[np.zeros(30), np.ones(30)]  # the training half weighs 0
    with pytest.raises(ValueError, match="Every training row of train_split"):
        EndModel(train_split=halves, **params).fit(X, y, sample_weight=held_out)
    # each call marks its own best epoch
    model = EndModel(warm_start=True, **params).fit(X, y)
    model.fit(X, y)
    assert model.history[2, "valid_score_best"]


def test_bagging_of_few_rows_says_why_the_split_has_no_weight():
    # BaggingClassifier draws rows as sample_weight (0 for the rows left out),
    # so with few draws every held-out row of train_split can weigh 0: the
    # refusal named sample weights the user never passed
    from sklearn.ensemble import BaggingClassifier

    rng = np.random.RandomState(0)
    X = rng.randn(120, 4).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    params = dict(max_epochs=2, verbose=0, random_state=0)
    bagging = BaggingClassifier(
        EndModel(**params), n_estimators=5, max_samples=6, random_state=0
    )
    with pytest.raises(ValueError, match="Every validation row.*BaggingClassifier"):
        bagging.fit(X, y)
    # the remedy the message gives
    bagging.set_params(estimator__train_split=None).fit(X, y)
    for model in bagging.estimators_:  # each trained on its 6 draws' weight
        assert sum(model.history[-1, "batches", :, "train_batch_size"]) == 6


def test_skorch_predefined_split_matches_valid_data():
    from skorch.dataset import Dataset, ValidSplit
    from skorch.helper import predefined_split

    rng = np.random.RandomState(0)
    X = rng.randn(120, 4).astype(np.float32)
    y = np.array(["ham", "spam"])[(X[:, 0] > 0).astype(int)]
    params = dict(max_epochs=2, verbose=0, random_state=0)
    fixed = Dataset(X[:20], y[:20])  # raw rows and labels, encoded by the fit
    split = EndModel(train_split=predefined_split(fixed), **params).fit(X, y)
    given = EndModel(train_split=None, **params).fit(X, y, valid_data=(X[:20], y[:20]))
    for key in ("valid_loss", "valid_score"):
        np.testing.assert_allclose(split.history[:, key], given.history[:, key])
    # validation rows that all weigh nothing leave the weighted loss undefined
    weight = rng.rand(120)
    weight[:24] = 0.0  # the first of five unstratified folds
    with pytest.raises(ValueError, match="Every validation row of train_split"):
        EndModel(train_split=ValidSplit(5, stratified=False), **params).fit(
            X, y, sample_weight=weight
        )
    with pytest.raises(ValueError, match="train_split returned a list"):
        EndModel(train_split=lambda ds, y: (ds, [1, 2]), **params).fit(X, y)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("target", ["hard", "soft"])
def test_skorch_valid_split_as_train_split(target, weighted):
    from skorch.dataset import ValidSplit

    from sklearn_metal.end_model import ArrayDataset

    X, soft, y = _soft_data(n=60, d=4)
    labels = soft.astype(np.float32) if target == "soft" else y
    w = None
    if weighted:
        w = np.random.RandomState(0).randint(1, 4, size=len(X)).astype(np.float32)
    model = EndModel(
        train_split=ValidSplit(5),
        early_stopping=False,
        max_epochs=2,
        verbose=0,
        random_state=0,
    ).fit(X, labels, sample_weight=w)
    assert {"valid_loss", "valid_score"} <= set(model.history[-1])
    # ValidSplit(5) holds out its first fold, rows 0..11, as an ArrayDataset
    train, valid = model.get_split_datasets(ArrayDataset(X, labels, w), labels)
    assert isinstance(train, ArrayDataset) and isinstance(valid, ArrayDataset)
    np.testing.assert_array_equal(valid.X, X[:12])
    np.testing.assert_array_equal(train.X, X[12:])
    np.testing.assert_array_equal(valid.y, labels[:12])
    with torch.no_grad():
        logits = model.module_(torch.from_numpy(valid.X))
        losses = torch.nn.functional.cross_entropy(
            logits, torch.from_numpy(valid.y), reduction="none"
        ).numpy()
    if weighted:
        np.testing.assert_array_equal(valid.sample_weight, w[:12])
        expected = np.sum(w[:12] * losses) / np.sum(w[:12])
    else:
        assert valid.sample_weight is None
        expected = np.mean(losses)
    assert model.history[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)
    # the held-out rows keep their weights in the score too
    assert model.history[-1, "valid_score"] == pytest.approx(
        np.average(model.predict(X[:12]) == y[:12], weights=valid.sample_weight)
    )


def _noisy_valid_data(n=40, seed=5):
    """Validation rows with a third of their labels flipped, and integer weights."""
    rng = np.random.RandomState(seed)
    X, _, y = _soft_data(n=n, d=5, seed=seed)
    y = np.where(rng.rand(n) < 1 / 3, 1 - y, y)
    return X, y, rng.randint(0, 4, size=n)


def test_valid_score_weighs_the_valid_data_rows():
    X, _, y = _soft_data(n=200, d=5)
    Xv, yv, wv = _noisy_valid_data()
    params = dict(train_split=None, max_epochs=4, lr=0.01, verbose=0, random_state=0)
    model = EndModel(early_stopping=False, **params)
    model.fit(X, y, valid_data=(Xv, yv, wv))
    hit = model.predict(Xv) == yv
    assert model.history[-1, "valid_score"] == pytest.approx(
        np.average(hit, weights=wv)
    )
    assert np.average(hit, weights=wv) != pytest.approx(np.mean(hit))
    # the restored epoch is the one of the best weighted score
    best = EndModel(**params).fit(X, y, valid_data=(Xv, yv, wv))
    assert np.average(best.predict(Xv) == yv, weights=wv) == pytest.approx(
        max(best.history[:, "valid_score"])
    )
    # None for the weights counts every row once, as a pair does
    pair = EndModel(**params).fit(X, y, valid_data=(Xv, yv))
    unweighted = EndModel(**params).fit(X, y, valid_data=(Xv, yv, None))
    for key in ("valid_loss", "valid_score"):
        np.testing.assert_array_equal(pair.history[:, key], unweighted.history[:, key])


@pytest.mark.parametrize("soft_targets", [False, True])
def test_integer_valid_weights_equal_repeated_valid_rows(soft_targets):
    X, soft, y = _soft_data(n=200, d=5)
    Xv, yv, wv = _noisy_valid_data()
    target = soft if soft_targets else y
    # one validation batch, so the epoch's valid_loss is its weighted mean too
    params = dict(train_split=None, max_epochs=4, batch_size=64, verbose=0)
    params.update(lr=0.01, random_state=0, iterator_valid__batch_size=256)
    weighted = EndModel(**params).fit(X, target, valid_data=(Xv, yv, wv))
    repeated = EndModel(**params).fit(
        X, target, valid_data=(np.repeat(Xv, wv, axis=0), np.repeat(yv, wv))
    )
    for key in ("valid_loss", "valid_score"):
        np.testing.assert_allclose(
            weighted.history[:, key], repeated.history[:, key], rtol=1e-5
        )
    np.testing.assert_array_equal(
        weighted.history[:, "valid_score_best"], repeated.history[:, "valid_score_best"]
    )
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X))


def test_weighted_validation_scoring_needs_a_scorer_with_sample_weight():
    X, _, y = _soft_data(n=80, d=5)
    Xv, yv, wv = _noisy_valid_data()
    params = dict(train_split=None, max_epochs=2, verbose=0, random_state=0)

    def accuracy(est, X, y):
        return np.mean(est.predict(X) == y)

    def weighted_accuracy(est, X, y, sample_weight=None):
        return np.average(est.predict(X) == y, weights=sample_weight)

    model = EndModel(scoring=weighted_accuracy, early_stopping=False, **params)
    model.fit(X, y, valid_data=(Xv, yv, wv))
    assert model.history[-1, "valid_score"] == pytest.approx(
        np.average(model.predict(Xv) == yv, weights=wv)
    )
    EndModel(scoring=accuracy, **params).fit(X, y, valid_data=(Xv, yv))
    with pytest.raises(TypeError, match="the scorer .* takes no sample_weight"):
        EndModel(scoring=accuracy, **params).fit(X, y, valid_data=(Xv, yv, wv))
    with pytest.raises(ValueError, match=r"valid_data must be a pair \(X_valid"):
        EndModel(**params).fit(X, y, valid_data=(Xv,))
    with pytest.raises(ValueError, match="at least one non-zero"):
        EndModel(**params).fit(X, y, valid_data=(Xv, yv, np.zeros(len(Xv))))


def test_batch_iterator_reads_nested_subsets_with_weights():
    from torch.utils.data import Subset

    from sklearn_metal.end_model import ArrayDataset, BatchIterator

    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    data = ArrayDataset(X, np.arange(6), sample_weight=np.arange(6, dtype=np.float32))
    batches = list(BatchIterator(Subset(Subset(data, [1, 2, 3, 5]), [0, 3])))
    assert len(batches) == 1
    Xb, yb, wb = batches[0]
    np.testing.assert_array_equal(Xb.numpy(), X[[1, 5]])
    np.testing.assert_array_equal(yb.numpy(), [1, 5])
    np.testing.assert_array_equal(wb.numpy(), [1.0, 5.0])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_set_after_fit_is_a_clear_error():
    X, _, y = _soft_data(n=60, d=4)
    model = EndModel(max_epochs=1, verbose=0).fit(X, y).set_params(device="cuda")
    methods = {
        "predict": model.predict,
        "predict_proba": model.predict_proba,
        "score": lambda X: model.score(X, y),
        "partial_fit": lambda X: model.partial_fit(X, y),
    }
    for method in methods.values():
        with pytest.raises(
            ValueError, match="device='cuda' was requested but torch finds no CUDA"
        ):
            method(X)
    model.set_params(device="cpu")
    assert model.predict(X).shape == (60,)


@pytest.mark.parametrize(
    "name, value",
    [
        ("hidden_layer_sizes", (5,)),
        ("hidden_layer_sizes", (100, 100)),
        ("activation", "tanh"),
        ("dropout", 0.5),
        ("batch_norm", True),
    ],
)
def test_warm_start_cannot_change_the_architecture(name, value):
    X, _, y = _soft_data(n=60, d=4)
    model = EndModel(max_epochs=1, verbose=0, warm_start=True, random_state=0)
    module = model.fit(X, y).module_
    old = getattr(model, name)
    model.set_params(**{name: value})
    for refit, how in [
        (model.fit, "warm_start=True"),
        (model.partial_fit, "partial_fit"),
    ]:
        with pytest.raises(
            ValueError,
            match=re.escape(
                f"{how} cannot change the network's architecture: {name}={value!r} "
                f"now, but the fitted module was built with {name}={old!r}."
            ),
        ):
            refit(X, y)
    assert model.module_ is module and len(model.history) == 1
    # without warm_start, a refit builds the new network
    model.set_params(warm_start=False).fit(X, y)
    assert model.module_ is not module
    if name == "hidden_layer_sizes":
        linear = [m for m in model.module_.modules() if isinstance(m, torch.nn.Linear)]
        assert [m.out_features for m in linear[:-1]] == list(value)


def test_warm_start_accepts_equal_architecture_values():
    X, _, y = _soft_data(n=60, d=4)
    model = EndModel(max_epochs=1, verbose=0, warm_start=True, random_state=0)
    module = model.fit(X, y).module_
    model.set_params(hidden_layer_sizes=[100], dropout=0, batch_norm=0).fit(X, y)
    assert model.module_ is module and len(model.history) == 2


def test_partial_fit_soft_labels_check_classes():
    X, soft, _ = _soft_data(n=60, d=4)
    with pytest.raises(
        ValueError,
        match=r"The soft labels y have 2 columns but classes has 3 entries \[0, 1, 2\]",
    ):
        EndModel(max_epochs=1, verbose=0).partial_fit(X, soft, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"classes=\['a', 'b'\] does not match"):
        EndModel(max_epochs=1, verbose=0).partial_fit(X, soft, classes=["a", "b"])
    model = EndModel(max_epochs=1, verbose=0).partial_fit(X, soft, classes=[1, 0])
    np.testing.assert_array_equal(model.classes_, [0, 1])
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] is not the same"):
        model.partial_fit(X, soft, classes=[0, 1, 2])


def test_incremental_learning_curve_of_soft_labels_says_why_it_fails():
    # learning_curve(exploit_incremental_learning=True) passes
    # classes=np.unique(y): for soft labels every distinct probability, and
    # the refusal listed all 120 of them without saying where they came from
    from sklearn.model_selection import learning_curve

    X, soft, _ = _soft_data(n=60, d=4)
    model = EndModel(max_epochs=1, verbose=0, train_split=None)
    with pytest.raises(ValueError, match=r"\.\.\.\]; .*leave exploit_incr") as info:
        learning_curve(
            model, X, soft, cv=3, train_sizes=[1.0], exploit_incremental_learning=True
        )
    assert len(str(info.value)) < 600
    # the curve without partial_fit runs
    scores = learning_curve(model, X, soft, cv=3, train_sizes=[1.0])[2]
    assert scores.shape == (1, 3) and np.all((scores >= 0) & (scores <= 1))


def test_int_hidden_layer_sizes_is_one_layer():
    # As in MLPClassifier: hidden_layer_sizes=8 is (8,).
    X, soft, _ = _soft_data(n=60, d=4)
    params = dict(max_epochs=2, verbose=0, random_state=0)
    model = EndModel(hidden_layer_sizes=8, **params).fit(X, soft)
    twin = EndModel(hidden_layer_sizes=(8,), **params).fit(X, soft)
    shapes = [p.shape for p in model.module_.parameters()]
    assert shapes == [p.shape for p in twin.module_.parameters()]
    np.testing.assert_allclose(model.predict_proba(X), twin.predict_proba(X))
    assert model.hidden_layer_sizes == 8  # the parameter is kept as given
    # a warm refit with the same layers spelled as a tuple keeps the module
    module = model.module_
    model.set_params(hidden_layer_sizes=(8,), warm_start=True).fit(X, soft)
    assert model.module_ is module


@pytest.mark.parametrize("sizes", [(0,), (8, 0), 0, -3, (8.5,), "8", (True,), None])
def test_bad_hidden_layer_sizes_raise(sizes):
    X, soft, _ = _soft_data(n=20, d=4)
    with pytest.raises(ValueError, match=re.escape(f"hidden_layer_sizes={sizes!r}")):
        EndModel(hidden_layer_sizes=sizes, max_epochs=1, verbose=0).fit(X, soft)


@pytest.mark.parametrize("dropout", [-0.5, 1.5, "0.1"])
def test_bad_dropout_raises(dropout):
    # a negative dropout was silently no dropout at all
    X, soft, _ = _soft_data(n=20, d=4)
    with pytest.raises(ValueError, match=re.escape(f"dropout={dropout!r} must be")):
        EndModel(dropout=dropout, max_epochs=1, verbose=0).fit(X, soft)
    with pytest.raises(ValueError, match=re.escape(f"dropout={dropout!r} must be")):
        MLP(4, 2, dropout=dropout)


def test_bad_activation_raises():
    X, soft, _ = _soft_data(n=20, d=4)
    with pytest.raises(ValueError, match="activation='sigmoid' is not one of"):
        EndModel(activation="sigmoid", max_epochs=1, verbose=0).fit(X, soft)


def test_cross_val_predict_proba_on_soft_labels_explains_itself():
    # cross_val_predict(method="predict_proba") label-encodes each column of a
    # 2-D y, so the folds see integer ranks instead of probabilities.
    from sklearn.model_selection import cross_val_predict

    X, soft, _ = _soft_data(n=60, d=4)
    model = EndModel(max_epochs=1, verbose=0)
    with pytest.raises(ValueError, match="soft labels must be probabilities") as err:
        cross_val_predict(model, X, soft, cv=3, method="predict_proba")
    assert "cross_val_predict" in str(err.value)
    assert "return_indices=True" in str(err.value)
    # whole numbers that are not ranks but a genuine mistake get the hint too
    with pytest.raises(ValueError, match="only whole numbers"):
        model.fit(X, np.tile([2, 1], (60, 1)))
    # and probabilities that do not sum to 1 do not
    with pytest.raises(ValueError, match="sums to 1.1") as err:
        model.fit(X, np.tile([0.5, 0.6], (60, 1)))
    assert "whole numbers" not in str(err.value)


def _doc_snippet(path, marker):
    """The fenced Python block of the markdown file that contains ``marker``."""
    import textwrap
    from pathlib import Path

    text = (Path(__file__).parents[1] / path).read_text()
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", text, re.M | re.S)
    (code,) = [textwrap.dedent(body) for _, body in blocks if marker in body]
    return code


def test_documented_out_of_fold_probabilities_for_soft_labels():
    namespace = {}
    exec(_doc_snippet("docs/end_model.md", "return_indices=True"), namespace)
    X, soft, oof, cv = (namespace[k] for k in ("X", "soft", "oof", "cv"))
    assert oof.shape == soft.shape
    np.testing.assert_allclose(oof.sum(axis=1), 1, rtol=1e-5)
    tests = cv["indices"]["test"]
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), np.arange(len(X)))
    for model, train, test in zip(
        cv["estimator"], cv["indices"]["train"], tests, strict=True
    ):
        assert not np.isin(test, train).any()  # out of fold
        np.testing.assert_allclose(oof[test], model.predict_proba(X[test]))


def test_epoch_losses_are_weighted_means_over_batches():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    Xv = rng.randn(30, 4).astype(np.float32)
    yv = (Xv[:, 0] + rng.randn(30) > 0).astype(int)
    wv = np.r_[np.full(10, 10.0), np.full(20, 0.1)]
    model = EndModel(
        hidden_layer_sizes=(8,),
        max_epochs=3,
        batch_size=10,
        early_stopping=False,
        verbose=0,
        random_state=0,
    ).fit(X, y, valid_data=(Xv, yv, wv))
    # the last epoch's validation ran with the final weights
    row_loss = -np.log(model.predict_proba(Xv)[np.arange(30), yv])
    expected = np.average(row_loss, weights=wv)
    assert model.history[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)
    assert abs(row_loss.mean() - expected) > 1e-3  # weighting matters here
    batches = model.history[-1, "batches"]
    sizes = [b["valid_batch_size"] for b in batches if "valid_batch_size" in b]
    assert sizes == pytest.approx([100.0, 1.0, 1.0])
    # unweighted validation rows: the plain mean
    plain = clone(model).fit(X, y, valid_data=(Xv, yv))
    row_loss = -np.log(plain.predict_proba(Xv)[np.arange(30), yv])
    assert plain.history[-1, "valid_loss"] == pytest.approx(row_loss.mean(), rel=1e-5)


@pytest.mark.parametrize("iterator", ["DataLoader", "BatchIterator"])
def test_batch_norm_with_batches_of_one_row_raises(iterator):
    from sklearn_metal.end_model import BatchIterator

    X, _, y = _soft_data(n=20)
    model = EndModel(
        batch_norm=True,
        batch_size=1,
        iterator_train={
            "DataLoader": torch.utils.data.DataLoader,
            "BatchIterator": BatchIterator,
        }[iterator],
        train_split=None,
        max_epochs=1,
        verbose=0,
    )
    with pytest.raises(ValueError, match="batches of 1 row; set batch_size >= 2"):
        model.fit(X, y)


def test_initialize_before_fit_explains_and_load_params_restores(tmp_path):
    from sklearn.exceptions import NotFittedError
    from skorch.callbacks import Checkpoint

    from sklearn_metal.modules import MLP

    X, _, y = _soft_data(n=100, d=4)
    with pytest.raises(NotFittedError, match="fit or partial_fit before initialize"):
        EndModel().initialize()
    # a user module sized through module__* initializes as in skorch
    user = EndModel(MLP, module__input_dim=4, module__output_dim=2).initialize()
    assert user.module_.head.out_features == 2
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    model = EndModel(
        max_epochs=3,
        train_split=None,
        verbose=0,
        random_state=0,
        callbacks=[("checkpoint", checkpoint)],
    ).fit(X, y)
    # the documented workflow: a few rows of the same shape, then load_params
    restored = EndModel(max_epochs=1, train_split=None, verbose=0)
    restored.partial_fit(X[:10], y[:10], classes=[0, 1])
    restored.load_params(checkpoint=checkpoint)
    np.testing.assert_allclose(
        restored.predict_proba(X), model.predict_proba(X), rtol=1e-6
    )
    assert len(restored.history) == 3


def test_score_rejects_negative_sample_weight():
    X, _, y = _soft_data(n=40)
    model = EndModel(max_epochs=1, verbose=0, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="Negative values"):
        model.score(X, y, sample_weight=-np.ones(len(X)))
    w = np.random.RandomState(0).rand(len(X))
    expected = np.average(model.predict(X) == y, weights=w)
    assert model.score(X, y, sample_weight=w) == pytest.approx(expected)


def _repro_data():
    X = np.random.RandomState(0).randn(200, 4).astype(np.float32)
    y = (X[:, 0] + 0.5 * np.random.RandomState(1).randn(200) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_set_params_of_the_default_callbacks_reach_a_later_fit(how):
    X, y = _repro_data()
    X_dev, y_dev = X[:50], y[:50]
    model = EndModel(
        verbose=0,
        random_state=0,
        max_epochs=30,
        lr=0.05,
        patience=2,
        warm_start=how == "warm_start",
        train_split=predefined_split(Dataset(X_dev, y_dev)),
    )

    def train():
        return model.fit(X, y) if how == "warm_start" else model.partial_fit(X, y)

    n_epochs = len(train().history)
    assert n_epochs < 30  # stopped early on accuracy
    model.set_params(early_stopping=False, scoring="neg_log_loss")
    train()
    assert len(model.history) - n_epochs == 30
    assert "early_stopping" not in dict(model.callbacks_)
    # no early stopping: the model is the last epoch's, scored by neg_log_loss
    expected = -log_loss(y_dev, model.predict_proba(X_dev))
    assert model.history[-1, "valid_score"] == pytest.approx(expected, rel=1e-5)
    model.set_params(early_stopping=True, patience=1)
    train()
    assert dict(model.callbacks_)["early_stopping"].patience == 1


class _EpochCounter(Callback):
    """Counts the epochs it has seen since it was last initialized."""

    def initialize(self):
        self.epochs_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_rebuilding_default_callbacks_keeps_user_callback_state(how):
    X, y = _repro_data()
    counter = _EpochCounter()
    model = EndModel(
        verbose=0,
        random_state=0,
        max_epochs=4,
        early_stopping=False,
        warm_start=how == "warm_start",
        callbacks=[("counter", counter)],
    )

    def train():
        return model.fit(X, y) if how == "warm_start" else model.partial_fit(X, y)

    train()
    assert counter.epochs_ == 4
    valid_score = dict(model.callbacks_)["valid_score"]
    model.set_params(scoring="neg_log_loss", early_stopping=True, patience=50)
    train()
    callbacks = dict(model.callbacks_)
    # the user's callback is the same object and went on counting
    assert callbacks["counter"] is counter
    assert counter.epochs_ == 8
    # the default callbacks whose parameters changed were rebuilt
    assert callbacks["valid_score"] is not valid_score
    assert callbacks["early_stopping"].patience == 50
    assert model.history[-1, "valid_score"] < 0  # neg_log_loss
    # an unchanged set_params keeps every callback
    before = dict(model.callbacks_)
    model.set_params(patience=50)
    train()
    assert all(cb is before[name] for name, cb in model.callbacks_)
    assert counter.epochs_ == 12
    # a cold fit re-initializes every callback, as in skorch
    model.set_params(warm_start=False)
    model.fit(X, y)
    assert counter.epochs_ == 4


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_callbacks_disable_trains_on(how):
    # skorch's callbacks="disable": a later partial_fit raised a TypeError
    X, y = _repro_data()
    model = EndModel(
        verbose=0,
        random_state=0,
        max_epochs=2,
        callbacks="disable",
        warm_start=how == "warm_start",
    )
    model.fit(X, y)
    first = [p.detach().clone() for p in model.module_.parameters()]
    model.fit(X, y) if how == "warm_start" else model.partial_fit(X, y)
    assert model.callbacks_ == []
    assert len(model.history) == 4  # trained on, from the first fit's weights
    assert any(
        not torch.equal(a, b)
        for a, b in zip(first, model.module_.parameters(), strict=True)
    )


@pytest.mark.parametrize("sparse", [False, True])
def test_float64_values_beyond_float32_raise(sparse):
    X, y = _repro_data()
    X = X.astype(np.float64)
    big = X.copy()
    row, col = 7, 2
    big[row, col] = 10 * float(np.finfo(np.float32).max)
    assert np.isfinite(big).all()
    if sparse:
        X, big = sp.csr_matrix(X), sp.csr_matrix(big)
    match = f"X holds {big[row, col]:.6g} at row {row}, column {col}, beyond"
    with pytest.raises(ValueError, match=re.escape(match)):
        EndModel(verbose=0, max_epochs=1).fit(big, y)
    model = EndModel(verbose=0, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=re.escape(match)):
        model.predict(big)
    with pytest.raises(ValueError, match=re.escape(match)):
        model.predict_proba(big)


@pytest.mark.parametrize("n_columns", [2, 4])
def test_score_soft_labels_need_one_column_per_class(n_columns):
    X, y = _repro_data()
    y3 = y + (X[:, 1] > 1)  # three classes
    model = EndModel(verbose=0, max_epochs=1, random_state=0).fit(X, y3)
    soft = np.full((len(X), n_columns), 1 / n_columns)
    soft[np.arange(len(X)), y3 % n_columns] += 0.5
    soft /= soft.sum(axis=1, keepdims=True)
    match = f"y has {n_columns} columns but the model has 3 classes"
    with pytest.raises(ValueError, match=match):
        model.score(X, soft)


@pytest.mark.parametrize("soft_targets", [False, True])
def test_unit_sample_weights_keep_the_class_weighted_loss(soft_targets):
    X, y = _repro_data()
    class_weight = torch.tensor([1.0, 4.0])
    model = EndModel(
        verbose=0, max_epochs=1, random_state=0, criterion__weight=class_weight
    ).fit(X, y)
    logits = model.module_(torch.from_numpy(X)).detach()
    target = torch.from_numpy(y)
    if soft_targets:
        target = torch.nn.functional.one_hot(target, 2).float() * 0.8 + 0.1
    expected = torch.nn.CrossEntropyLoss(weight=class_weight)(logits, target)
    assert float(model.get_loss(logits, target)) == pytest.approx(float(expected))
    got = model.get_loss(logits, target, sample_weight=torch.ones(len(X)))
    assert float(got) == pytest.approx(float(expected), rel=1e-6)
    # integer weights still count a row that many times
    w = np.random.RandomState(2).randint(1, 4, size=len(X))
    rows = torch.from_numpy(np.repeat(np.arange(len(X)), w))
    repeated = torch.nn.CrossEntropyLoss(weight=class_weight)(
        logits[rows], target[rows]
    )
    got = model.get_loss(logits, target, sample_weight=torch.from_numpy(w).float())
    assert float(got) == pytest.approx(float(repeated), rel=1e-6)


def test_unit_sample_weights_keep_the_mean_of_other_class_weighted_criteria():
    X, _, y = _soft_data(n=60)
    y = y + (X[:, 2] > 1)  # three classes
    model = EndModel(
        criterion=torch.nn.MultiMarginLoss,
        criterion__weight=torch.tensor([1.0, 2.0, 5.0]),
        train_split=None,
        max_epochs=1,
        verbose=0,
        random_state=0,
    ).fit(X, y)
    logits = model.infer(torch.from_numpy(X)).detach()
    target = torch.from_numpy(np.searchsorted(model.classes_, y))
    plain = model.get_loss(logits, target)
    weighted = model.get_loss(logits, target, sample_weight=np.ones(len(X)))
    assert float(weighted) == pytest.approx(float(plain), rel=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_class_weighted_epoch_loss_is_the_mean_over_all_rows(weighted):
    # With class weights, each batch loss divides by sum_i w_i * weight[y_i];
    # the epoch loss must be that mean over all the epoch's rows, whatever
    # the batches: with a frozen model (lr 1e-12) the shuffled training
    # batches and the validation batches of the same rows give the same
    # loss, which equals torch's class-weighted mean over all rows at once.
    rng = np.random.RandomState(0)
    X = rng.randn(37, 3).astype(np.float32)
    y = rng.randint(0, 3, 37)
    w = rng.randint(0, 4, 37).astype(float) if weighted else np.ones(37)
    class_weight = torch.tensor([1.0, 2.0, 0.5])
    model = EndModel(
        hidden_layer_sizes=(5,),
        optimizer=torch.optim.SGD,
        lr=1e-12,
        max_epochs=1,
        batch_size=8,
        train_split=None,
        verbose=0,
        random_state=0,
        criterion__weight=class_weight,
    )
    fit_weight = {"sample_weight": w} if weighted else {}
    valid = (X, y, w) if weighted else (X, y)
    model.fit(X, y, valid_data=valid, **fit_weight)
    with torch.no_grad():
        log_p = torch.log_softmax(model.module_(torch.from_numpy(X)), dim=1)
    log_p = log_p.numpy().astype(np.float64)
    cw = class_weight.numpy()[y]
    expected = -(w * cw * log_p[np.arange(37), y]).sum() / (w * cw).sum()
    assert model.history[-1, "train_loss"] == pytest.approx(expected, rel=1e-5)
    assert model.history[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("criterion", [torch.nn.MultiMarginLoss, torch.nn.NLLLoss])
def test_predict_proba_is_the_softmax_of_the_logits_with_any_criterion(criterion):
    # skorch's predict_nonlinearity="auto" applies the softmax only for a
    # CrossEntropyLoss: with another criterion predict_proba was the raw
    # logits (rows summing to 0.33, 0.66, ..., negative entries)
    X, _, y = _soft_data(n=40, d=3)
    model = EndModel(
        criterion=criterion,
        hidden_layer_sizes=(4,),
        train_split=None,
        max_epochs=2,
        verbose=0,
        random_state=0,
    ).fit(X, y)
    proba = model.predict_proba(X)
    logits = model.infer(torch.from_numpy(X)).detach()
    np.testing.assert_allclose(proba, torch.softmax(logits, dim=-1).numpy(), rtol=1e-5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert (proba >= 0).all()


def test_predict_proba_of_log_softmax_output_is_its_exponential():
    # a module ending in log_softmax, trained with NLLLoss (the skorch pairing
    # for log-probabilities): the softmax of log-probabilities is the
    # probabilities themselves
    class LogSoftmaxNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(3, 2)

        def forward(self, X):
            return torch.log_softmax(self.linear(X), dim=-1)

    X, _, y = _soft_data(n=40, d=3)
    model = EndModel(
        LogSoftmaxNet,
        criterion=torch.nn.NLLLoss,
        train_split=None,
        max_epochs=2,
        verbose=0,
        random_state=0,
    ).fit(X, y)
    log_proba = model.infer(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(model.predict_proba(X), np.exp(log_proba), rtol=1e-5)


def test_an_explicit_predict_nonlinearity_is_used_as_given():
    X, _, y = _soft_data(n=40, d=3)
    model = EndModel(
        predict_nonlinearity=None,  # skorch: the module's raw output
        hidden_layer_sizes=(4,),
        train_split=None,
        max_epochs=2,
        verbose=0,
        random_state=0,
    ).fit(X, y)
    logits = model.infer(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(model.predict_proba(X), logits, rtol=1e-6)


def test_score_leaves_out_unlabeled_rows():
    # -1 marks an unlabeled row (scikit-learn's semi-supervised convention, as
    # LabelModel.score and MultitaskClassifier.score read it); score counted
    # those rows as errors, so half the rows unlabeled halved the accuracy
    X, soft, y = _soft_data(n=40, d=3)
    model = EndModel(
        hidden_layer_sizes=(4,), train_split=None, max_epochs=3, verbose=0
    ).fit(X, y)
    y_semi = y.copy()
    y_semi[::2] = -1
    labeled = y_semi != -1
    expected = np.mean(model.predict(X[labeled]) == y[labeled])
    assert model.score(X, y_semi) == pytest.approx(expected)
    w = np.random.RandomState(0).rand(len(y))
    expected = np.average(model.predict(X[labeled]) == y[labeled], weights=w[labeled])
    assert model.score(X, y_semi, sample_weight=w) == pytest.approx(expected)
    with pytest.raises(ValueError, match="every entry is -1"):
        model.score(X, np.full(len(y), -1))
    with pytest.raises(ValueError, match="sample_weight 0"):
        model.score(X, y_semi, sample_weight=np.where(labeled, 0.0, 1.0))
    # soft training labels: classes_ 0..k-1, and -1 rows still left out
    soft_model = EndModel(
        hidden_layer_sizes=(4,), train_split=None, max_epochs=3, verbose=0
    ).fit(X, soft)
    expected = np.mean(soft_model.predict(X[labeled]) == y[labeled])
    assert soft_model.score(X, y_semi) == pytest.approx(expected)


def test_score_keeps_minus_one_when_it_is_a_class():
    X, _, y = _soft_data(n=40, d=3)
    y_pm = np.where(y == 1, 1, -1)  # the +-1 encoding of binary labels
    model = EndModel(
        hidden_layer_sizes=(4,), train_split=None, max_epochs=3, verbose=0
    ).fit(X, y_pm)
    np.testing.assert_array_equal(model.classes_, [-1, 1])
    assert model.score(X, y_pm) == pytest.approx(np.mean(model.predict(X) == y_pm))


def test_fit_warns_where_minus_one_looks_like_unlabeled_rows():
    # y with -1 beside 0..k-1 (a semi-supervised label vector, or a labeling
    # function's column) silently trained a third class "-1"
    X, _, y = _soft_data(n=40, d=3)
    y_semi = y.copy()
    y_semi[:5] = -1
    params = dict(hidden_layer_sizes=(4,), train_split=None, max_epochs=1, verbose=0)
    with pytest.warns(UserWarning, match=r"y holds -1 in 5 of its 40 rows"):
        model = EndModel(**params).fit(X, y_semi)
    np.testing.assert_array_equal(model.classes_, [-1, 0, 1])
    with pytest.warns(UserWarning, match="marks an unlabeled row"):
        EndModel(**params).partial_fit(X, y_semi)


def test_minus_one_class_warning_points_at_the_callers_line():
    X = np.arange(8, dtype=np.float32).reshape(-1, 1)
    y = np.array([0, -1, 1, -1] * 2)
    for call in (
        lambda: EndModel(max_epochs=1, verbose=0, train_split=None).fit(X, y),
        lambda: EndModel(max_epochs=1, verbose=0, train_split=None).partial_fit(X, y),
    ):
        with pytest.warns(UserWarning, match="y holds -1") as record:
            call()
        assert [w.filename for w in record if "y holds -1" in str(w.message)] == [
            __file__
        ]


@pytest.mark.parametrize("case", ["plus_minus_one", "classes_given", "no_minus_one"])
def test_fit_does_not_warn_about_minus_one_as_a_plain_class(case, recwarn):
    X, _, y = _soft_data(n=40, d=3)
    params = dict(hidden_layer_sizes=(4,), train_split=None, max_epochs=1, verbose=0)
    if case == "plus_minus_one":  # the usual +-1 binary encoding
        EndModel(**params).fit(X, np.where(y == 1, 1, -1))
    elif case == "classes_given":  # -1 declared a class
        y_semi = y.copy()
        y_semi[:5] = -1
        EndModel(**params).partial_fit(X, y_semi, classes=[-1, 0, 1])
    else:
        EndModel(**params).fit(X, y)
    assert not [w for w in recwarn if "y holds -1" in str(w.message)]


@pytest.mark.parametrize(
    "columns, named",
    [
        ([1, 0], "1"),
        ([1, 2], "1"),
        (["1", "0"], "'1'"),
        ([0, 2, 1], "2"),
        ([1.0, 2.0], "1.0"),  # pd.get_dummies of float labels 1.0 and 2.0
    ],
)
def test_soft_label_frames_numbered_otherwise_than_the_classes_are_refused(
    columns, named
):
    # soft label columns are read by position as classes 0..k-1: a frame
    # named [1, 0] trained column "1" as class 0, and pd.get_dummies of
    # labels {1, 2} gave classes_ [0, 1] whose predict never matched them
    X, _, y = _soft_data(n=30, d=3)
    y = y + (X[:, 2] > 1) if len(columns) == 3 else y
    Y = pd.DataFrame(np.eye(len(columns))[y], columns=columns)
    model = EndModel(hidden_layer_sizes=(4,), max_epochs=1, verbose=0)
    with pytest.raises(ValueError, match=f"its column {named} would be class"):
        model.fit(X, Y)
    model.fit(X, Y.to_numpy())  # by position, as the message says
    for call in (lambda: model.score(X, Y), lambda: model.fit(X, y, valid_data=(X, Y))):
        with pytest.raises(ValueError, match="columns are named"):
            call()


def test_soft_label_frames_in_class_order_or_with_names_are_read_by_position():
    X, soft, _ = _soft_data(n=30, d=3)
    params = dict(hidden_layer_sizes=(4,), max_epochs=1, verbose=0, random_state=0)
    expected = EndModel(**params).fit(X, soft).predict_proba(X)
    for columns in ([0, 1], ["0", "1"], [0.0, 1.0], ["p_ham", "p_spam"]):
        model = EndModel(**params).fit(X, pd.DataFrame(soft, columns=columns))
        np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["Float64", "Float32", {0: "Float64"}])
def test_soft_label_frames_of_nullable_floats_train_as_float_frames(dtype):
    # np.asarray of a nullable-float frame is an object array, so fit, score
    # and valid_data refused these soft labels ("must be numeric, got dtype
    # object"), which MultitaskClassifier's task_labels read as floats
    X, soft, y = _soft_data(n=30, d=3)
    params = dict(hidden_layer_sizes=(4,), max_epochs=2, verbose=0, random_state=0)
    expected = EndModel(**params).fit(X, soft).predict_proba(X)
    frame = pd.DataFrame(soft).astype(dtype)
    model = EndModel(**params).fit(X, frame)
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-6)
    assert model.score(X, frame) == model.score(X, soft)
    EndModel(**params).fit(X, soft, valid_data=(X, frame))
    frame.iloc[3] = pd.NA
    with pytest.raises(ValueError, match="Soft label row 3 holds NaN"):
        EndModel(**params).fit(X, frame)


def test_check_targets_reads_a_dask_frame_of_soft_labels_as_before():
    # the nullable-frame conversion called to_numpy(dtype=, na_value=) on any
    # 2-D object with dtypes: a dask DataFrame, which np.asarray reads, has no
    # to_numpy and raised an AttributeError
    dd = pytest.importorskip("dask.dataframe")
    from sklearn_metal.end_model import check_targets

    soft = np.array([[0.2, 0.8], [1.0, 0.0], [0.5, 0.5]])
    got, is_soft = check_targets(dd.from_pandas(pd.DataFrame(soft), npartitions=2))
    assert is_soft
    np.testing.assert_array_equal(got, soft)


def test_divergence_after_a_best_epoch_keeps_the_early_stopping_weights():
    # early stopping (on by default) keeps the best validated epoch's weights
    # and restores them when training ends: a later divergence (here a
    # schedule that raises lr to 1e28 after 5 epochs) stops training there,
    # as early stopping would after its NaN epochs, instead of raising
    from torch.optim.lr_scheduler import StepLR

    from sklearn_metal import MultitaskClassifier
    from sklearn_metal.multitask import task_labels

    rng = np.random.RandomState(0)
    X = rng.randn(400, 5).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)

    def blow_up():
        return ("lr", LRScheduler(policy=StepLR, step_size=5, gamma=1e30))

    with pytest.warns(
        UserWarning, match="diverged in epoch 6 .* keeps the weights"
    ) as w:
        model = EndModel(
            lr=1e-2, max_epochs=30, verbose=0, random_state=0, callbacks=[blow_up()]
        ).fit(X, y)
    assert [r.filename for r in w] == [__file__]  # the user's fit call
    assert len(model.history) == 6  # stopped in the first diverged epoch
    assert all(torch.isfinite(p).all() for p in model.module_.parameters())
    assert model.score(X, y) > 0.9
    with pytest.warns(UserWarning, match="MultitaskClassifier's training diverged"):
        multi = MultitaskClassifier(
            {"a": 2},
            lr=1e-2,
            max_epochs=30,
            verbose=0,
            random_state=0,
            callbacks=[blow_up()],
        ).fit(X, task_labels(a=y), valid_data=(X, task_labels(a=y)))
    assert len(multi.history) == 6
    assert multi.score(X, task_labels(a=y)) > 0.9
    # without a kept best epoch (no validation) it still raises
    with pytest.raises(ValueError, match="diverged in epoch 6"):
        EndModel(
            lr=1e-2,
            max_epochs=30,
            verbose=0,
            random_state=0,
            train_split=None,
            callbacks=[blow_up()],
        ).fit(X, y)


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_diverged_training_raises_instead_of_predicting_nan():
    # with a huge learning rate on huge inputs the weights became NaN in the
    # first epoch; fit returned, predict_proba gave NaN rows and score 0.54
    from sklearn.exceptions import FitFailedWarning

    from sklearn_metal import MultitaskClassifier
    from sklearn_metal.multitask import task_labels

    rng = np.random.RandomState(0)
    X = (rng.randn(120, 5) * 1e18).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    checkpoints = []

    class Saves(Callback):
        def on_epoch_end(self, net, **kwargs):
            checkpoints.append(len(net.history))

    diverging = EndModel(
        lr=1e30,
        max_epochs=3,
        train_split=None,
        verbose=0,
        random_state=0,
        callbacks=[("saves", Saves())],
    )
    with pytest.raises(ValueError, match=r"diverged in epoch 1: .*train_loss nan"):
        diverging.fit(X, y)
    assert checkpoints == []  # raised before any callback saw the NaN weights
    with pytest.raises(ValueError, match="MultitaskClassifier's training diverged"):
        MultitaskClassifier(
            {"a": 2}, lr=1e30, max_epochs=2, verbose=0, random_state=0
        ).fit(X, task_labels(a=y))
    # a grid search records the diverged candidate as failed, not as a model
    search = GridSearchCV(
        EndModel(max_epochs=2, train_split=None, verbose=0, random_state=0),
        {"lr": [1e-2, 1e30]},
        cv=2,
        error_score=np.nan,
    )
    with pytest.warns(FitFailedWarning, match="diverged"):
        search.fit(X / 1e18, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    # a stable fit is unchanged
    stable = EndModel(max_epochs=2, train_split=None, verbose=0, random_state=0)
    assert np.isfinite(stable.fit(X / 1e18, y).predict_proba(X / 1e18)).all()


@pytest.mark.parametrize("scale", [2.0**1000, 2.0**-1000])
def test_sample_weights_far_from_one_train_as_their_ratios(scale):
    # the losses divide by the weights' sum, so only their ratios count;
    # the float32 cast made weights of 2**1000 inf ("training diverged") and
    # weights of 2**-1000 zero ("Every training row of train_split has
    # sample_weight 0")
    X, soft, hard = _soft_data(n=120, d=4)
    w = np.random.RandomState(1).randint(1, 4, size=len(X)).astype(np.float64)
    for y in (hard, soft):
        params = dict(max_epochs=2, verbose=0, random_state=0)
        valid = (X[:30], y[:30])
        base = EndModel(**params).fit(X, y, sample_weight=w)
        scaled = EndModel(**params).fit(X, y, sample_weight=w * scale)
        np.testing.assert_allclose(
            scaled.predict_proba(X), base.predict_proba(X), rtol=1e-5, atol=1e-7
        )
        np.testing.assert_allclose(
            scaled.history[:, "valid_loss"], base.history[:, "valid_loss"], rtol=1e-5
        )
        # a weighted valid_data triple alike
        base = EndModel(**params).fit(X, y, valid_data=(*valid, w[:30]))
        scaled = EndModel(**params).fit(X, y, valid_data=(*valid, w[:30] * scale))
        np.testing.assert_allclose(
            scaled.history[:, "valid_loss"], base.history[:, "valid_loss"], rtol=1e-5
        )


def _failed_call_data():
    X, _, y = _soft_data(n=180, d=4, seed=3)
    return (X[:60], y[:60]), (X[60:120], y[60:120]), (X[120:], y[120:])


@pytest.mark.parametrize("failing", ["forward argument", "zero-weight split"])
def test_partial_fit_that_raises_before_training_changes_nothing(failing):
    # a call refused in its first batch (or in its split) had drawn the next
    # batch order and begun an epoch in the history: the next good call
    # trained on other batches (predictions 6e-4 off), one epoch later
    first, second, third = _failed_call_data()
    params = dict(max_epochs=3, batch_size=16, random_state=0, verbose=0)
    if failing == "forward argument":
        bad = {"bogus": 1}
        match = "unexpected keyword argument 'bogus'"
    else:
        params["train_split"] = 0.2
        bad = {"sample_weight": np.r_[np.zeros(59), 1.0]}
        match = "Every (training|validation) row of train_split has sample_weight 0"
    good = EndModel(**params).partial_fit(*first).partial_fit(*second)
    model = EndModel(**params).partial_fit(*first)
    with pytest.raises((TypeError, ValueError), match=match):
        model.partial_fit(*third, **bad)
    model.partial_fit(*second)
    assert len(model.history) == len(good.history) == 6
    np.testing.assert_array_equal(
        model.predict_proba(third[0]), good.predict_proba(third[0])
    )
    # a first call that raises leaves no net: the next call starts afresh
    model = EndModel(**params)
    with pytest.raises((TypeError, ValueError), match=match):
        model.partial_fit(*third, **bad)
    model.partial_fit(*first).partial_fit(*second)
    assert len(model.history) == 6
    np.testing.assert_array_equal(
        model.predict_proba(third[0]), good.predict_proba(third[0])
    )


@pytest.mark.parametrize(
    "params, message",
    [
        ({"train_split": 2.0}, "train_split=2.0 must be a fraction"),
        ({"max_epochs": 0}, "max_epochs=0 must be a positive integer"),
        ({"patience": 0}, "patience=0 must be a positive integer"),
        ({"valid_every": 0}, "valid_every=0 must be a positive integer"),
    ],
)
def test_partial_fit_checks_parameters_set_between_calls(params, message):
    # only the first call checked them: train_split=2.0 then held out all
    # rows but one (trained on 1 of 60 rows), max_epochs=0 trained nothing
    first, second, _ = _failed_call_data()
    model = EndModel(max_epochs=1, random_state=0, verbose=0).partial_fit(*first)
    model.set_params(**params)
    with pytest.raises(ValueError, match=message):
        model.partial_fit(*second)


def test_partial_fit_after_a_fit_that_raised_starts_afresh():
    # fit set the classes and features of its call before refusing its
    # valid_data; partial_fit then went on training the earlier module (4
    # inputs, 2 classes) as fitted on them: "mat1 and mat2 shapes cannot be
    # multiplied"
    first, _, _ = _failed_call_data()
    rng = np.random.RandomState(0)
    X6, y3 = rng.randn(60, 6).astype(np.float32), np.arange(60) % 3
    params = dict(max_epochs=2, random_state=0, verbose=0)
    model = EndModel(**params).fit(*first)
    with pytest.raises(ValueError, match=r"valid_data holds labels \[7\]"):
        model.fit(X6, y3, valid_data=(X6[:10], np.full(10, 7)))
    model.partial_fit(X6, y3)
    fresh = EndModel(**params).partial_fit(X6, y3)
    np.testing.assert_array_equal(model.predict_proba(X6), fresh.predict_proba(X6))


@pytest.mark.parametrize(
    "callback",
    [
        ("acc2", EpochScoring("accuracy", name="acc2")),
        ("train_acc", EpochScoring("accuracy", on_train=True)),
        BatchScoring("accuracy"),
        ("cls", EpochScoring),
    ],
    ids=["epoch", "on-train", "batch", "class"],
)
def test_skorch_scoring_callbacks_are_refused_naming_validation_scoring(callback):
    # skorch's EpochScoring calls predict on a skorch Dataset, which EndModel's
    # input check failed on with numpy's "inhomogeneous shape" ValueError once
    # the first epoch had trained
    rng = np.random.RandomState(0)
    X = rng.rand(60, 3).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    net = EndModel(max_epochs=2, verbose=0, callbacks=[callback])
    with pytest.raises(ValueError, match="ValidationScoring") as info:
        net.fit(X, y)
    assert "skorch's" in str(info.value)
    assert not hasattr(net, "classes_")


@pytest.mark.parametrize("cls", [EpochScoring, BatchScoring])
def test_skorch_scoring_callback_with_a_function_of_ones_own_still_runs(cls):
    # a scoring function of the user's own decides what it reads (here the
    # learning rate): it ran before skorch's scoring callbacks were refused,
    # and was refused with them
    rng = np.random.RandomState(0)
    X = rng.rand(60, 3).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)

    def learning_rate(net, X, y):
        return net.optimizer_.param_groups[0]["lr"]

    net = EndModel(
        max_epochs=2, lr=0.05, verbose=0, callbacks=[("lr", cls(learning_rate))]
    )
    net.fit(X, y)
    assert net.history[-1, "learning_rate"] == pytest.approx(0.05)
    # a scikit-learn scorer calls predict on the skorch dataset: refused
    from sklearn.metrics import get_scorer

    net = EndModel(max_epochs=2, verbose=0, callbacks=[cls(get_scorer("accuracy"))])
    with pytest.raises(ValueError, match="ValidationScoring"):
        net.fit(X, y)


def test_validation_scoring_callback_records_a_further_score():
    # what the message above recommends: the score of the validation rows
    from sklearn.metrics import f1_score

    from sklearn_metal.callbacks import ValidationScoring

    rng = np.random.RandomState(0)
    X = rng.rand(80, 3).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    scoring = ValidationScoring("f1_macro", name="valid_f1")
    net = EndModel(
        max_epochs=3, verbose=0, early_stopping=False, callbacks=[("f1", scoring)]
    )
    net.fit(X[:60], np.eye(2)[y[:60]] * 0.8 + 0.1, valid_data=(X[60:], y[60:]))
    assert len(net.history[:, "valid_f1"]) == 3
    expected = f1_score(y[60:], net.predict(X[60:]), average="macro")
    assert net.history[-1, "valid_f1"] == pytest.approx(expected)


def test_documented_argmax_scorer_for_soft_labels_in_a_search():
    # docs/end_model.md: a named scorer fails on soft labels; the argmax
    # scorer it gives runs
    from sklearn.metrics import f1_score, make_scorer

    X, soft, _ = _soft_data(n=90, d=3)
    search = GridSearchCV(
        EndModel(max_epochs=2, verbose=0, random_state=0),
        {"lr": [1e-3, 1e-2]},
        cv=3,
        error_score="raise",
    )
    with pytest.raises(ValueError, match="mix of continuous-multioutput and binary"):
        search.set_params(scoring="f1").fit(X, soft)
    scorer = make_scorer(lambda y, pred: f1_score(np.asarray(y).argmax(axis=1), pred))
    search.set_params(scoring=scorer).fit(X, soft)
    folds = search.cv_results_["split0_test_score"]
    assert np.isfinite(folds).all() and 0 <= folds.min() <= folds.max() <= 1
