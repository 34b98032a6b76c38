"""Estimators seed locally and leave global state (generators, torch settings) alone.

The style guide: ``check_random_state`` locally, torch seeded inside a forked
generator, never reseed the global numpy or torch generators, never change
global torch settings. And ``random_state`` behaves as scikit-learn documents.
"""

import io
import os
import pickle
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from sklearn_metal import (
    EndModel,
    LabelModel,
    LFApplier,
    MajorityClassVoter,
    MajorityLabelVoter,
    MultitaskClassifier,
    MultitaskLabelModel,
    MultitaskTrainer,
    TaskGraph,
    Votes,
    labeling_function,
    task_labels,
)
from sklearn_metal.end_model import _ForkedSeed


def _data(n=80, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    right = rng.rand(n, 4) < 0.8
    L = np.where(rng.rand(n, 4) < 0.7, np.where(right, y[:, None], 1 - y[:, None]), -1)
    X = rng.randn(n, 5).astype(np.float32)
    X[:, 0] += 2 * y
    return X, y, L


@labeling_function()
def _positive_first(x):
    return int(x[0] > 0)


@labeling_function()
def _negative_second(x):
    return 0 if x[1] < 0 else -1


def _end_model(random_state=0, **kw):
    params = dict(
        max_epochs=3,
        dropout=0.3,
        batch_norm=True,
        batch_size=16,
        verbose=0,
        random_state=random_state,
    )
    return EndModel(**{**params, **kw})


def _multitask_net(random_state=0, **kw):
    params = dict(
        tasks={"a": 2, "b": 2},
        max_epochs=3,
        dropout=0.3,
        batch_size=16,
        train_split=0.25,
        verbose=0,
        random_state=random_state,
    )
    return MultitaskClassifier(**{**params, **kw})


def _multitask_y(y):
    return task_labels(a=y, b=np.where(np.arange(len(y)) % 2, 1 - y, -1))


def _label_model():
    X, y, L = _data()
    return LabelModel().fit(L).predict_proba(L)


def _multitask_label_model():
    X, y, L = _data()
    graph = TaskGraph({"a": 2, "b": 2}, edges=[("a", "b", [0])])
    model = MultitaskLabelModel(graph, source_tasks=["a", "a", "b", "b"]).fit(L)
    return model.predict_proba(L)


def _voters():
    X, y, L = _data()
    return (
        MajorityLabelVoter().fit(L).predict_proba(L),
        MajorityClassVoter().fit(L, y).predict_proba(L),
    )


def _end_model_fit_predict():
    X, y, L = _data()
    weight = np.linspace(0.5, 2.0, len(y))
    model = _end_model().fit(X, y, sample_weight=weight)
    model.partial_fit(X, y)
    return model.predict_proba(X)


def _end_model_data_loader():
    X, y, L = _data()
    loader = torch.utils.data.DataLoader
    model = _end_model(iterator_train=loader, iterator_train__shuffle=True)
    return model.fit(X, y).predict_proba(X)


def _multitask_classifier():
    X, y, L = _data()
    net = _multitask_net().fit(X, _multitask_y(y), sample_weight=np.ones(len(y)))
    net.partial_fit(X, _multitask_y(y))
    return net.predict_proba(X)


def _multitask_trainer():
    X, y, L = _data()
    trainer = MultitaskTrainer(_multitask_net()).fit(X, task_labels(a=Votes(L), b=y))
    return trainer.predict_proba(X)


def _lf_applier():
    X, y, L = _data()
    return LFApplier([_positive_first, _negative_second], n_jobs=2).fit_transform(X)


def _global_state():
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "numpy generator": (kind, keys.tolist(), pos, has_gauss, cached),
        "torch generator": torch.get_rng_state().tolist(),
        "torch threads": torch.get_num_threads(),
        "torch interop threads": torch.get_num_interop_threads(),
        "torch default dtype": torch.get_default_dtype(),
        "torch deterministic": torch.are_deterministic_algorithms_enabled(),
        "torch grad enabled": torch.is_grad_enabled(),
        "cudnn deterministic": torch.backends.cudnn.deterministic,
        "cudnn benchmark": torch.backends.cudnn.benchmark,
    }


@pytest.mark.parametrize(
    "fit_predict",
    [
        _label_model,
        _multitask_label_model,
        _voters,
        _end_model_fit_predict,
        _end_model_data_loader,
        _multitask_classifier,
        _multitask_trainer,
        _lf_applier,
    ],
)
def test_fit_and_predict_leave_global_state_alone(fit_predict):
    np.random.seed(3)
    torch.manual_seed(3)
    before = _global_state()
    fit_predict()
    after = _global_state()
    changed = [name for name in before if before[name] != after[name]]
    assert changed == []


def test_no_other_device_generator_is_reseeded(monkeypatch):
    # torch.manual_seed reseeds every GPU's (and MPS's) global generator,
    # which fork_rng(devices=[]) does not restore: a CPU fit on a machine
    # with a GPU would leave the GPU's generator seeded by random_state.
    calls = []

    def spy(name):
        return lambda *args, **kwargs: calls.append(name)

    for module, name in [
        (torch.cuda, "manual_seed_all"),
        (torch.cuda, "manual_seed"),
        (torch.mps, "manual_seed"),
    ]:
        monkeypatch.setattr(module, name, spy(f"{module.__name__}.{name}"))
    X, y, L = _data()
    _end_model().fit(X, y).partial_fit(X, y)
    _multitask_net().fit(X, _multitask_y(y)).partial_fit(X, _multitask_y(y))
    assert calls == []


def test_an_mps_device_forks_and_seeds_the_mps_generator_only(monkeypatch):
    # No Mac here: the MPS generator is a stand-in whose state is a tensor.
    mps = {"state": torch.tensor([1, 2, 3])}
    calls = []
    monkeypatch.setattr(torch.mps, "get_rng_state", lambda device="mps": mps["state"])

    def set_rng_state(state, device="mps"):
        mps["state"] = state

    def manual_seed(seed):
        calls.append(seed)
        mps["state"] = torch.tensor([seed])

    monkeypatch.setattr(torch.mps, "set_rng_state", set_rng_state)
    monkeypatch.setattr(torch.mps, "manual_seed", manual_seed)
    monkeypatch.setattr(
        torch.cuda, "manual_seed_all", lambda *a: calls.append("cuda_all")
    )
    cpu_before = torch.get_rng_state()
    with _ForkedSeed(7, "mps"):
        assert mps["state"].tolist() == [7]  # seeded inside
        inside = torch.rand(3)
    assert calls == [7]
    assert mps["state"].tolist() == [1, 2, 3]  # restored on exit
    assert torch.equal(torch.get_rng_state(), cpu_before)
    with _ForkedSeed(7, torch.device("mps")):
        assert torch.equal(torch.rand(3), inside)  # the CPU one is seeded too


def _end_model_weights(random_state):
    X, y, L = _data()
    model = _end_model(random_state).fit(X, y, sample_weight=np.linspace(0.5, 2, 80))
    return model.module_.state_dict(), model.predict_proba(X)


def _multitask_weights(random_state):
    X, y, L = _data()
    net = _multitask_net(random_state).fit(X, _multitask_y(y))
    return net.module_.state_dict(), np.hstack(net.predict_proba(X))


def _trainer_weights(random_state):
    X, y, L = _data()
    net = _multitask_net(random_state)
    trainer = MultitaskTrainer(net).fit(X, task_labels(a=Votes(L), b=y))
    return trainer.estimator_.module_.state_dict(), np.hstack(trainer.predict_proba(X))


def _same_fit(a, b):
    (state_a, proba_a), (state_b, proba_b) = a, b
    return (
        state_a.keys() == state_b.keys()
        and all(torch.equal(state_a[k], state_b[k]) for k in state_a)
        and np.array_equal(proba_a, proba_b)
    )


@pytest.mark.parametrize(
    "fit", [_end_model_weights, _multitask_weights, _trainer_weights]
)
def test_equal_random_state_gives_bit_identical_fits(fit):
    first = fit(7)
    np.random.rand(5)  # the global generators play no part
    torch.rand(5)
    assert _same_fit(first, fit(7))
    # fresh RandomState instances in the same state give the same fit too
    assert _same_fit(fit(np.random.RandomState(7)), fit(np.random.RandomState(7)))
    # and a different seed a different one (dropout, init, batches all depend on it)
    assert not _same_fit(first, fit(8))


@pytest.mark.parametrize(
    "fit", [_end_model_weights, _multitask_weights, _trainer_weights]
)
def test_random_state_none_differs_across_fits(fit):
    assert not _same_fit(fit(None), fit(None))


@pytest.mark.parametrize(
    "fit", [_end_model_weights, _multitask_weights, _trainer_weights]
)
def test_fits_in_threads_equal_their_fits_alone(fit):
    # torch's generators are global: fits running at once in threads (as
    # GridSearchCV under joblib's threading backend runs them) each seeded the
    # one generator and drew from it in turn, so no thread's fit was its
    # sequential one (4 of 4 differed, every run)
    seeds = [0, 1, 2, 3]
    alone = [fit(seed) for seed in seeds]
    barrier = threading.Barrier(len(seeds))

    def in_thread(seed):
        barrier.wait()
        return fit(seed)

    for _ in range(2):
        with ThreadPoolExecutor(len(seeds)) as pool:
            together = list(pool.map(in_thread, seeds))
        assert all(_same_fit(a, b) for a, b in zip(alone, together, strict=True))


@pytest.mark.parametrize("make", [_end_model, _multitask_net])
def test_random_state_instance_is_drawn_from_by_every_fit(make):
    # scikit-learn's convention: an estimator holding a RandomState instance
    # draws from it on every fit, so its refits differ; and the instance
    # advances.
    X, y, L = _data()
    targets = y if make is _end_model else _multitask_y(y)
    rng = np.random.RandomState(0)
    model = make(rng)
    first = np.hstack(model.fit(X, targets).predict_proba(X))
    assert rng.get_state()[2] != np.random.RandomState(0).get_state()[2]
    second = np.hstack(model.fit(X, targets).predict_proba(X))
    assert not np.array_equal(first, second)


def _tensors_outside_device_mapping(net):
    """Tensors a pickle of ``net`` would hold outside skorch's device-mapped
    attributes (``cuda_dependent_attributes_``), which its ``__setstate__``
    loads with a ``map_location``; any other CUDA tensor does not load on a
    machine without a GPU."""
    state = net.__getstate__()
    state.pop("__cuda_dependent_attributes__")
    found = []

    class Finder(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, torch.Tensor):
                found.append(tuple(obj.shape))
            return None

    Finder(io.BytesIO()).dump(state)
    return found


@pytest.mark.parametrize("make", [_end_model, _multitask_net])
def test_pickled_tensors_all_go_through_the_device_mapping(make):
    X, y, L = _data()
    targets = y if make is _end_model else _multitask_y(y)
    net = make(train_split=0.25).fit(X, targets)
    assert "checkpoint" in net.history[-1] or "valid_score" in net.history[-1]
    assert _tensors_outside_device_mapping(net) == []
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(
        np.hstack(restored.predict_proba(X)), np.hstack(net.predict_proba(X))
    )


def _criterion_spy(seen):
    class Spy(torch.nn.CrossEntropyLoss):
        def forward(self, input, target):
            seen.append((input.device, target.device))
            if self.weight is not None:
                seen.append((self.weight.device,))
            return super().forward(input, target)

    return Spy


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_every_tensor_reaching_the_criterion_is_on_the_module_device(device):
    X, y, L = _data()
    seen = []
    model = _end_model(
        device=device,
        criterion=_criterion_spy(seen),
        criterion__weight=torch.tensor([1.0, 2.0]),
        train_split=0.25,
    )
    model.fit(X, y, sample_weight=np.linspace(0.5, 2, len(y)))
    model.fit(X, np.eye(2)[y] * 0.8 + 0.1)  # soft targets
    net = _multitask_net(device=device, criterion=_criterion_spy(seen))
    net.fit(X, _multitask_y(y), sample_weight=np.linspace(0.5, 2, len(y)))
    expected = next(model.module_.parameters()).device
    assert expected.type == device
    assert seen and {d for entry in seen for d in entry} == {expected}


@pytest.mark.gpu
def test_gpu_fits_reproducible_and_leave_every_gpu_generator_alone():
    # GPU kernels (atomic adds in backward passes) may differ in the last bits,
    # so equal seeds are compared to a tolerance far below what a different
    # initialization or dropout mask gives.
    X, y, L = _data()
    states = [torch.cuda.get_rng_state(i) for i in range(torch.cuda.device_count())]
    for device in ("cpu", "cuda"):
        first = _end_model(device=device).fit(X, y).predict_proba(X)
        again = _end_model(device=device).fit(X, y).predict_proba(X)
        np.testing.assert_allclose(first, again, rtol=0, atol=1e-5)
        net_a = _multitask_net(device=device).fit(X, _multitask_y(y))
        net_b = _multitask_net(device=device).fit(X, _multitask_y(y))
        np.testing.assert_allclose(
            np.hstack(net_a.predict_proba(X)),
            np.hstack(net_b.predict_proba(X)),
            rtol=0,
            atol=1e-5,
        )
    after = [torch.cuda.get_rng_state(i) for i in range(torch.cuda.device_count())]
    assert all(torch.equal(s, t) for s, t in zip(states, after, strict=True))


@pytest.mark.gpu
def test_nets_fitted_on_gpu_load_without_one(tmp_path):
    X, y, L = _data()
    nets = [
        _end_model(device="cuda", train_split=0.25).fit(X, y),
        _multitask_net(device="cuda").fit(X, _multitask_y(y)),
    ]
    for i, net in enumerate(nets):
        path = tmp_path / f"net{i}.pkl"
        path.write_bytes(pickle.dumps(net))
        np.save(tmp_path / f"proba{i}.npy", np.hstack(net.predict_proba(X)))
    np.save(tmp_path / "X.npy", X)
    script = (
        "import pickle, sys, warnings, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "warnings.simplefilter('ignore')\n"
        "d = sys.argv[1]\n"
        "X = np.load(d + '/X.npy')\n"
        "for i in range(2):\n"
        "    net = pickle.loads(open(f'{d}/net{i}.pkl', 'rb').read())\n"
        "    proba = np.hstack(net.predict_proba(X))\n"
        "    expected = np.load(f'{d}/proba{i}.npy')\n"
        "    np.testing.assert_allclose(proba, expected, atol=1e-5)\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
