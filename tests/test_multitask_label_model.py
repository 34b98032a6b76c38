import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from sklearn_metal import LabelModel, MultitaskLabelModel, TaskGraph

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_multitask_label_model import make_hierarchy  # noqa: E402


def test_task_graph_feasible_states_and_components():
    graph = TaskGraph(
        {"entity": 2, "person": 3, "org": 2},
        edges=[("entity", "person", [0]), ("entity", "org", [1])],
    )
    assert graph.components == [[0, 1, 2]]
    states = graph.feasible_states([0, 1, 2])
    expected = [[0, 0, -1], [0, 1, -1], [0, 2, -1], [1, -1, 0], [1, -1, 1]]
    assert sorted(states.tolist()) == expected
    assert TaskGraph.independent(4).components == [[0], [1], [2], [3]]


@pytest.mark.parametrize(
    "component, match",
    [
        ([1], "holds task 'person' but not its parent 'entity'"),
        ([5], "Unknown task 5"),
        ([-1], "Unknown task -1"),
        ([0, 0], "names task 'entity' more than once"),
    ],
)
def test_feasible_states_refuses_a_task_set_it_cannot_enumerate(component, match):
    # [1] raised KeyError: 0, [5] IndexError, [-1] KeyError (read as the last
    # task), and [0, 0] returned every state twice
    graph = TaskGraph({"entity": 2, "person": 3}, edges=[("entity", "person", [0])])
    with pytest.raises(ValueError, match=re.escape(match)):
        graph.feasible_states(component)
    # a set of tasks closed under parents, by index or name, is enumerated
    assert graph.feasible_states(["entity"]).tolist() == [[0], [1]]


@pytest.mark.parametrize(
    "cards, edges, match",
    [
        ({"a": 2, "b": 2}, [("a", "b", [0]), ("b", "a", [0])], "two parents|cycle"),
        (
            {"a": 2, "b": 2, "c": 2},
            [("a", "b", [0]), ("b", "c", [0]), ("c", "a", [1])],
            "cycle|two parents",
        ),
        ({"a": 2, "b": 2}, [("a", "zz", [0])], "Unknown task 'zz'"),
        ({"a": 2, "b": 2}, [("a", "b", [5])], "parent_values"),
        ({"a": 1}, None, "cardinality"),
        ({"a": 2, "b": 2, "c": 2}, [("a", "c", [0]), ("b", "c", [0])], "two parents"),
    ],
)
def test_bad_graphs_raise(cards, edges, match):
    with pytest.raises(ValueError, match=match):
        TaskGraph(cards, edges)


def test_cycle_is_detected():
    with pytest.raises(ValueError, match="cycle"):
        TaskGraph({"a": 2, "b": 2}, edges=[("a", "b", [0]), ("b", "a", [1])])


# the independent per-task baselines may stop at max_iter on the child tasks,
# whose stray votes no single-task model can explain
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_hierarchy_joint_beats_independent_and_recovers_accuracies():
    L, Y, graph, source_tasks, accuracies = make_hierarchy(100_000, random_state=1)
    model = MultitaskLabelModel(graph, source_tasks).fit(L)
    assert model.converged_
    assert np.mean(np.abs(model.accuracies_ - accuracies)) < 0.03
    proba = model.predict_proba(L)
    task_of = model.source_task_index_
    for t in (1, 2):  # the child tasks
        cols = np.flatnonzero(task_of == t)
        single = LabelModel(cardinality=graph.cardinalities[t]).fit(L[:, cols])
        defined = Y[:, t] >= 0
        joint_acc = np.mean(proba[t][defined].argmax(axis=1) == Y[defined, t])
        single_acc = np.mean(single.predict(L[defined][:, cols]) == Y[defined, t])
        assert joint_acc > single_acc + 0.02


def test_predictions_respect_the_graph_and_probabilities_sum_to_one():
    L, Y, graph, source_tasks, _ = make_hierarchy(5000)
    model = MultitaskLabelModel(graph, source_tasks).fit(L)
    pred = model.predict(L)
    feasible = {tuple(s) for s in graph.feasible_states([0, 1, 2])}
    assert all(tuple(row) in feasible for row in pred)
    for t, p in enumerate(model.predict_proba(L)):
        assert p.shape == (len(L), graph.cardinalities[t])
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    defined = model.predict_defined_proba(L)
    np.testing.assert_allclose(defined[:, 0], 1.0)
    np.testing.assert_allclose(defined[:, 1] + defined[:, 2], 1.0)
    scores = model.score_tasks(L, Y)
    assert scores.shape == (3,) and np.all(scores > 0.6)
    assert model.score(L, Y) == pytest.approx(scores.mean())


def test_multilabel_independent_tasks_and_dataframe_names():
    rng = np.random.RandomState(0)
    n, n_tasks = 3000, 5
    Y = rng.randint(0, 2, size=(n, n_tasks))
    L = np.full((n, 2 * n_tasks), -1)
    for t in range(n_tasks):
        for s in range(2):
            fires = rng.random_sample(n) < 0.7
            vote = np.where(rng.random_sample(n) < 0.8, Y[:, t], 1 - Y[:, t])
            L[fires, 2 * t + s] = vote[fires]
    names = [f"lf{j}" for j in range(2 * n_tasks)]
    graph = TaskGraph.independent(n_tasks)
    model = MultitaskLabelModel(graph, np.repeat(graph.tasks, 2))
    model.fit(pd.DataFrame(L, columns=names))
    assert list(model.feature_names_in_) == names
    assert len(model.state_balance_) == n_tasks
    # two sources of accuracy 0.8 and coverage 0.7 per label: 0.773 is the
    # Bayes-optimal accuracy
    assert model.score(pd.DataFrame(L, columns=names), Y) > 0.75
    assert repr(clone(model).get_params()["task_graph"]) == repr(graph)


def test_source_tasks_keyed_by_column_are_read_by_key():
    # A Series or dict of tasks keyed by column name was read by position:
    # built in another order, each source silently voted on the wrong task.
    graph = TaskGraph({"a": 2, "b": 2})
    L = np.array([[0, 1, 1, 0], [1, -1, 0, 0], [0, 0, 1, -1], [1, 1, -1, 1]])
    frame = pd.DataFrame(L, columns=["a1", "a2", "b1", "b2"])
    expected = MultitaskLabelModel(graph, ["a", "a", "b", "b"]).fit(frame)
    keyed = {"b2": "b", "a1": "a", "b1": "b", "a2": "a"}
    for source_tasks in (keyed, pd.Series(keyed)):
        model = MultitaskLabelModel(graph, source_tasks).fit(frame)
        np.testing.assert_array_equal(model.source_task_index_, [0, 0, 1, 1])
        got, want = model.predict_proba(frame), expected.predict_proba(frame)
        for task_got, task_want in zip(got, want, strict=True):
            np.testing.assert_array_equal(task_got, task_want)
    # keyed by position: in any order; a Series of a list keeps its order
    by_position = pd.Series(["b", "a", "b", "a"], index=[3, 0, 2, 1])
    model = MultitaskLabelModel(graph, by_position).fit(L)
    np.testing.assert_array_equal(model.source_task_index_, [0, 0, 1, 1])
    model = MultitaskLabelModel(graph, pd.Series(["a", "a", "b", "b"])).fit(frame)
    np.testing.assert_array_equal(model.source_task_index_, [0, 0, 1, 1])
    # a column left out, or names for an L without column names
    with pytest.raises(ValueError, match=r"keyed by \['a1', 'a2', 'b1'\]"):
        MultitaskLabelModel(graph, {"a1": "a", "a2": "a", "b1": "b"}).fit(frame)
    with pytest.raises(ValueError, match=r"must be the columns of L, each once"):
        MultitaskLabelModel(graph, pd.Series(keyed)).fit(L)


def test_bad_votes_and_sources_raise():
    graph = TaskGraph({"a": 2, "b": 3}, edges=[("a", "b", [0])])
    L = np.array([[0, 2], [1, -1], [0, 1]])
    with pytest.raises(ValueError, match=r"Source 0 votes 2 at row 0.*task 'a'"):
        MultitaskLabelModel(graph, ["a", "b"]).fit(L[:, ::-1])
    # a vote beyond every task's classes names its own task's range too
    big = np.array([[3, 0], [0, -1]])
    with pytest.raises(ValueError, match=r"Source 0 votes 3 at row 0.*0\.\.1;"):
        MultitaskLabelModel(graph, ["a", "b"]).fit(big)
    df = pd.DataFrame({"x": [0, 1], "y": [5, -1]})
    with pytest.raises(ValueError, match=r"Source 'y' votes 5 at row 0.*0\.\.2;"):
        MultitaskLabelModel(graph, ["a", "b"]).fit(df)
    with pytest.raises(
        ValueError,
        match=r"'y' \(index 1\) holds the value -2 at row 0; .* or a class\.$",
    ):
        MultitaskLabelModel(graph, ["a", "b"]).fit(df.replace(5, -2))
    with pytest.raises(ValueError, match=r"non-integer value 0.5 .*or a class\.$"):
        MultitaskLabelModel(graph, ["a", "b"]).fit(df.replace(5, 0.5))
    for bad, shown in [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "-inf")]:
        with pytest.raises(
            ValueError, match=rf"'y' \(index 1\) holds {shown} at row 0"
        ):
            MultitaskLabelModel(graph, ["a", "b"]).fit(df.replace(5, bad))
    with pytest.raises(ValueError, match="names 3 sources"):
        MultitaskLabelModel(graph, ["a", "b", "b"]).fit(L)
    with pytest.raises(ValueError, match="Unknown task 'c'"):
        MultitaskLabelModel(graph, ["a", "c"]).fit(L)
    with pytest.raises(ValueError, match="source_tasks is required"):
        MultitaskLabelModel(graph).fit(L)
    model = MultitaskLabelModel(graph, ["a", "b"]).fit(L)
    with pytest.raises(ValueError, match="expecting 2 features"):
        model.predict(L[:, :1])
    with pytest.raises(ValueError, match=r"Y has shape \(3, 5\); expected \(n_"):
        model.score(L, np.zeros((3, 5)))


def test_gold_labels_the_graph_forbids_raise():
    graph = TaskGraph({"a": 2, "b": 2}, edges=[("a", "b", [0])])
    L = np.array([[0, 0, 1, 1], [1, 1, -1, -1], [0, 0, 0, 0], [1, -1, -1, 1]])
    model = MultitaskLabelModel(graph, source_tasks=["a", "a", "b", "b"])
    allowed = np.array([[0, 1], [1, -1], [-1, 0], [-1, -1]])  # -1: no label
    model.fit(L, allowed)
    assert model.score_tasks(L, allowed).shape == (2,)
    forbidden = allowed.copy()
    forbidden[3] = [1, 1]
    match = (
        r"Y row 3 is \[1, 1\], a joint label the task graph forbids: task 'b' is "
        r"defined only when task 'a' is in \[0\], but 'a' is 1"
    )
    with pytest.raises(ValueError, match=match):
        model.fit(L, forbidden)
    with pytest.raises(ValueError, match=match):
        model.score_tasks(L, forbidden)
    with pytest.raises(ValueError, match=r"Y holds 2 at row 0 for task 'b'"):
        model.fit(L, [[0, 2], [1, -1], [0, 0], [1, -1]])
    with pytest.raises(ValueError, match="y has 2 rows but L has 4"):
        model.fit(L, allowed[:2])


def test_sparse_gold_labels_are_refused_by_name():
    # (they were reported as "Y has shape ()")
    import scipy.sparse as sp

    graph = TaskGraph({"a": 2, "b": 2})
    L = np.array([[0, 1, 1, -1], [1, 1, 0, 0], [-1, 0, 1, 1]])
    Y = sp.csr_matrix(np.array([[0, 1], [1, 0], [0, 0]]))
    with pytest.raises(ValueError, match=r"^Y is a sparse matrix \(csr_matrix\)"):
        graph.check_labels(Y)
    model = MultitaskLabelModel(graph, source_tasks=["a", "a", "b", "b"])
    with pytest.raises(ValueError, match=r"Pass Y.toarray\(\)\.$"):
        model.fit(L, Y)


def test_dask_input_is_read_whole_as_documented():
    da = pytest.importorskip("dask.array")
    graph = TaskGraph({"a": 2, "b": 3}, edges=[("a", "b", [0])])
    rng = np.random.default_rng(3)
    L = np.c_[rng.integers(-1, 2, size=(60, 2)), rng.integers(-1, 3, size=(60, 2))]
    model = MultitaskLabelModel(graph, source_tasks=["a", "a", "b", "b"])
    expected = model.fit(L).predict_proba(L)
    L_dask = da.from_array(L, chunks=(7, 4))
    got = clone(model).fit(L_dask).predict_proba(L_dask)
    for e, g in zip(expected, got, strict=True):
        assert type(g) is np.ndarray
        np.testing.assert_array_equal(g, e)


def test_missing_gold_labels_are_named_with_their_row():
    # a nullable column's NA was "Unknown label type: Y must hold integer
    # labels"; a float NaN was spelled numpy's "nan"
    graph = TaskGraph({"a": 2, "b": 2})
    nullable = pd.DataFrame(
        {"a": pd.array([0, None, 1], dtype="Int64"), "b": pd.array([1, 1, 0])}
    )
    as_float = np.array([[0, 1], [np.nan, 1], [1, 0]])
    as_object = np.array([[0, 1], [None, 1], [1, 0]], dtype=object)
    for Y in (nullable, as_float, as_object):
        with pytest.raises(ValueError, match=r"^Y holds NaN at row 1 for task 'a'"):
            graph.check_labels(Y)
    with pytest.raises(ValueError, match=r"^Y holds inf at row 1 for task 'a'"):
        graph.check_labels(np.where(np.isnan(as_float), np.inf, as_float))


def test_check_labels_sibling_conflict():
    graph = TaskGraph(
        {"a": 2, "b": 2, "c": 2}, edges=[("a", "b", [0]), ("a", "c", [1])]
    )
    assert graph.check_labels([[0, 1, -1], [-1, -1, 0]]).dtype == np.int64
    with pytest.raises(ValueError, match=r"Y row 1 is \[-1, 1, 1\].*no feasible"):
        graph.check_labels([[0, 1, -1], [-1, 1, 1]])
    with pytest.raises(ValueError, match=r"expected \(n_samples, 3\)"):
        graph.check_labels([0, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        graph.check_labels(np.array([["x", "y", "z"]], dtype=object))
    assert graph.check_labels(np.array([[0, 1, -1]], dtype=object)).tolist() == [
        [0, 1, -1]
    ]


def _independent_votes(n, n_tasks, random_state):
    rng = np.random.RandomState(random_state)
    Y = rng.randint(0, 2, size=(n, n_tasks))
    L = np.full((n, 2 * n_tasks), -1)
    for t in range(n_tasks):
        for s in range(2):
            fires = rng.random_sample(n) < 0.7
            vote = np.where(rng.random_sample(n) < 0.8, Y[:, t], 1 - Y[:, t])
            L[fires, 2 * t + s] = vote[fires]
    return L, Y


def _assert_same_fit(a, b, groups):
    for g in groups:
        np.testing.assert_allclose(
            a.state_balance_[g], b.state_balance_[g], rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(
            a.loss_history_[g], b.loss_history_[g], rtol=0, atol=1e-12
        )
        assert a.n_iter_[g] == b.n_iter_[g]
    tasks = [t for g in groups for t in a.task_graph.components[g]]
    for j in np.flatnonzero(np.isin(a.source_task_index_, tasks)):
        np.testing.assert_allclose(
            a.cond_probs_[j], b.cond_probs_[j], rtol=0, atol=1e-12
        )
        assert a.accuracies_[j] == pytest.approx(b.accuracies_[j], abs=1e-12)


@pytest.mark.parametrize("kind", ["hierarchy", "multilabel"])
def test_unlabeled_gold_rows_leave_the_fit_unchanged(kind):
    if kind == "hierarchy":
        L, Y, graph, source_tasks, _ = make_hierarchy(3000, random_state=2)
    else:
        L, Y = _independent_votes(3000, 4, random_state=2)
        graph = TaskGraph.independent(4)
        source_tasks = np.repeat(graph.tasks, 2)
    base = MultitaskLabelModel(graph, source_tasks).fit(L)
    groups = range(len(graph.components))
    unlabeled = MultitaskLabelModel(graph, source_tasks).fit(L, np.full_like(Y, -1))
    _assert_same_fit(base, unlabeled, groups)
    assert base.init_ == unlabeled.init_ == ["votes"] * len(groups)
    np.testing.assert_allclose(base.predict_proba(L)[0], unlabeled.predict_proba(L)[0])
    if kind == "multilabel":
        # gold labels of task 0 only: the other task groups are fitted as before
        y = np.full_like(Y, -1)
        y[::5, 0] = Y[::5, 0]
        partial = MultitaskLabelModel(graph, source_tasks).fit(L, y)
        _assert_same_fit(base, partial, groups[1:])
        assert partial.init_[1:] == ["votes"] * 3
        assert not np.allclose(partial.state_balance_[0], base.state_balance_[0])


def test_gold_rows_fix_the_posterior_to_their_known_labels():
    L, Y, graph, source_tasks, _ = make_hierarchy(3000, random_state=3)
    n = len(L)
    states = graph.feasible_states(graph.components[0])
    counts = np.array([np.all(Y == s, axis=1).sum() for s in states])
    # every row fully known: one-hot posteriors, so the prior is the smoothed
    # count of the joint labels and EM stops after its second iteration
    model = MultitaskLabelModel(graph, source_tasks).fit(L, Y)
    np.testing.assert_allclose(
        model.state_balance_[0], (counts + 1) / (n + len(states)), atol=1e-12
    )
    assert model.n_iter_ == [2] and model.converged_
    assert model.init_ == ["votes"]  # nothing left for a gold start to add
    # only the parent task known: the mass of each row stays on the states
    # with its entity, so the prior's entity marginal is the smoothed count
    y = Y.copy()
    y[:, 1:] = -1
    model = MultitaskLabelModel(graph, source_tasks).fit(L, y)
    person = states[:, 0] == 0
    np.testing.assert_allclose(
        model.state_balance_[0][person].sum(),
        (np.sum(Y[:, 0] == 0) + person.sum()) / (n + len(states)),
        atol=1e-12,
    )


def _flipped_fits(seed, thin, flipped=(0, 1), gold_rows="random"):
    """make_hierarchy with the best entity sources flipped (child-source votes
    thinned with ``thin``, see :func:`_uninformative_firing`), fitted without
    and with gold labels on a random tenth of the rows.

    ``gold_rows="persons"`` keeps the gold labels of persons only. The gold
    rows are drawn apart from the data: make_hierarchy draws the entity first
    from the same seed, so a tenth drawn with it would be persons only.

    Returns ``(L, Y, rest, flipped, accuracies, plain, model)``: ``rest`` marks
    the rows without a gold label, ``accuracies`` the sources' true ones.
    """
    L, Y, graph, source_tasks, accuracies = make_hierarchy(5000, random_state=seed)
    if thin:
        L = _uninformative_firing(L, Y, seed)
    flipped = list(flipped)  # these entity sources vote the wrong entity
    for j in flipped:
        L[L[:, j] >= 0, j] = 1 - L[L[:, j] >= 0, j]
    accuracies = accuracies.copy()
    accuracies[flipped] = 1 - accuracies[flipped]
    gold = np.random.RandomState(seed + 1000).random_sample(len(L)) < 0.1
    if gold_rows == "persons":
        gold &= Y[:, 0] == 0
    y = np.where(gold[:, None], Y, -1)
    plain = MultitaskLabelModel(graph, source_tasks).fit(L)
    model = MultitaskLabelModel(graph, source_tasks).fit(L, y)
    return L, Y, ~gold, flipped, accuracies, plain, model


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gold_labels_on_a_tenth_of_rows_overcome_adversarial_sources(seed):
    L, Y, rest, flipped, accuracies, plain, model = _flipped_fits(seed, thin=False)
    plain_acc = plain.score(L[rest], Y[rest])
    gold_acc = model.score(L[rest], Y[rest])
    # unsupervised, the flipped sources outvote the others (mean accuracy
    # 0.04 on all three seeds)
    assert plain_acc < 0.1
    assert gold_acc > 0.75 and gold_acc > plain_acc + 0.6
    assert model.score_tasks(L[rest], Y[rest])[0] > 0.93
    assert np.all(model.accuracies_[flipped] < 0.25)
    assert np.mean(np.abs(model.accuracies_ - accuracies)) < 0.04


def _uninformative_firing(L, Y, random_state):
    """Drop child-source votes so they fire as often where undefined."""
    rng = np.random.RandomState(random_state)
    L = L.copy()
    # make_hierarchy: person_kind sources fire on 0.5 of persons and 0.3 of
    # organizations, org_kind sources on 0.5 of organizations, 0.25 of persons
    for j in range(4, 11):
        t, keep = (1, 0.6) if j < 8 else (2, 0.5)
        L[(Y[:, t] >= 0) & (rng.random_sample(len(L)) > keep), j] = -1
    return L


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gold_labels_overcome_adversarial_sources_votes_cannot(seed):
    L, Y, rest, flipped, accuracies, plain, model = _flipped_fits(seed, thin=True)
    plain_acc = plain.score(L[rest], Y[rest])
    gold_acc = model.score(L[rest], Y[rest])
    # unsupervised, the flipped sources outvote the others: the entity and with
    # it both child tasks come out wrong (mean accuracy about 0.05)
    assert plain_acc < 0.1
    assert gold_acc > 0.7 and gold_acc > plain_acc + 0.6
    assert model.score_tasks(L[rest], Y[rest])[0] > 0.9
    assert np.all(model.accuracies_[flipped] < 0.25)
    # 0.017-0.022 over the seeds: with child sources thinned at random, their
    # accuracies rest on fewer votes than in the test above
    assert np.mean(np.abs(model.accuracies_ - accuracies)) < 0.045


@pytest.mark.parametrize("gold_rows", ["random", "persons"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gold_start_overcomes_a_majority_of_adversarial_sources(seed, gold_rows):
    # three of the four entity sources flipped: EM from vote shares settles on
    # the labelling they suggest (mean accuracy 0.10-0.16 on these seeds with
    # gold labels before the second start); from the gold rows' tallies it
    # finds the right one
    L, Y, rest, flipped, accuracies, plain, model = _flipped_fits(
        seed, thin=True, flipped=(0, 1, 2), gold_rows=gold_rows
    )
    graph, source_tasks = model.task_graph, model.source_tasks
    gold_only = MultitaskLabelModel(graph, source_tasks).fit(L[~rest], Y[~rest])
    plain_acc = plain.score(L[rest], Y[rest])
    gold_acc = model.score(L[rest], Y[rest])
    gold_only_acc = gold_only.score(L[rest], Y[rest])
    assert model.init_ == ["gold"]
    assert plain_acc < 0.1  # unsupervised: about 0.05
    assert gold_acc > plain_acc + 0.6
    # the unlabeled rows add to what the gold rows alone say: at least as good
    # as the supervised fit of the gold rows (0.73-0.74 on a random tenth;
    # 0.55-0.57 on persons only, which never shows an organization's kind)
    assert gold_acc > gold_only_acc - 0.01
    assert model.score_tasks(L[rest], Y[rest])[0] > 0.9
    assert np.all(model.accuracies_[flipped] < 0.3)  # they are 0.15-0.25
    # 0.016-0.043 over the seeds
    assert np.mean(np.abs(model.accuracies_ - accuracies)) < 0.05


def _binary_votes(n, accuracies, random_state):
    """Independent binary tasks; ``accuracies[t]`` lists the accuracies of
    task ``t``'s sources, each firing on 0.7 of the rows."""
    rng = np.random.RandomState(random_state)
    Y = rng.randint(0, 2, size=(n, len(accuracies)))
    columns = []
    for t, task_accuracies in enumerate(accuracies):
        for accuracy in task_accuracies:
            vote = np.where(rng.random_sample(n) < accuracy, Y[:, t], 1 - Y[:, t])
            columns.append(np.where(rng.random_sample(n) < 0.7, vote, -1))
    return np.column_stack(columns), Y


# the unsupervised fit of task 0 may stop at max_iter
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_few_gold_rows_pick_the_labelling_adversarial_sources_hide(seed):
    # task 0: two of three sources are right a fifth and a quarter of the
    # time. Without gold labels the swapped labelling, in which they are the
    # accurate ones, fits the votes equally well and EM from vote shares takes
    # it; a few dozen gold rows tell the two apart. Task 1's sources are honest.
    L, Y = _binary_votes(3000, [(0.2, 0.25, 0.8), (0.8, 0.75, 0.7)], seed)
    graph, source_tasks = TaskGraph.independent(2), [0, 0, 0, 1, 1, 1]
    gold = np.random.RandomState(seed + 1000).random_sample(len(L)) < 0.01
    y = np.where(gold[:, None], Y, -1)
    rest = ~gold
    plain = MultitaskLabelModel(graph, source_tasks).fit(L)
    model = MultitaskLabelModel(graph, source_tasks).fit(L, y)
    gold_only = MultitaskLabelModel(graph, source_tasks).fit(L[gold], Y[gold])
    assert model.init_[0] == "gold"
    plain_acc = plain.score_tasks(L[rest], Y[rest])
    acc = model.score_tasks(L[rest], Y[rest])
    votes = L[rest, :3]
    ones, zeros = (votes == 1).sum(axis=1), (votes == 0).sum(axis=1)
    majority_acc = np.mean(np.where(ones > zeros, 1, 0) == Y[rest, 0])
    assert plain_acc[0] < 0.3  # the swapped labelling: about 0.19
    # majority vote follows the adversarial pair (about 0.38); the fit of the
    # 25-38 gold rows alone gets the sign of every source but is noisy
    assert acc[0] > majority_acc + 0.3
    assert acc[0] > gold_only.score_tasks(L[rest], Y[rest])[0] - 0.01
    # the honest task is fitted as well as without gold labels
    assert acc[1] > plain_acc[1] - 0.02


def make_parent_child(n=2000, random_state=0, accuracy=0.75, coverage=0.6):
    """Task b (3 classes) is defined only when task a (binary) is 0.

    Three sources per task, each firing on a fraction ``coverage`` of the rows
    where its task is defined and never elsewhere.
    """
    rng = np.random.RandomState(random_state)
    graph = TaskGraph({"a": 2, "b": 3}, edges=[("a", "b", [0])])
    a = rng.randint(0, 2, size=n)
    b = np.where(a == 0, rng.randint(0, 3, size=n), -1)
    Y = np.column_stack([a, b])
    L = np.full((n, 6), -1)
    for j in range(6):
        t = j // 3
        k = graph.cardinalities[t]
        truth = Y[:, t]
        wrong = (truth + rng.randint(1, k, size=n)) % k
        vote = np.where(rng.random_sample(n) < accuracy, truth, wrong)
        fires = (truth >= 0) & (rng.random_sample(n) < coverage)
        L[fires, j] = vote[fires]
    return L, Y, graph, ["a"] * 3 + ["b"] * 3


# the independent baseline may stop at max_iter on task a
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("seed", range(5))
def test_silent_child_sources_are_evidence_the_child_is_undefined(seed):
    L, Y, graph, source_tasks = make_parent_child(random_state=seed)
    model = MultitaskLabelModel(graph, source_tasks).fit(L)
    # where a = 1 the b-sources always abstain; modelling their firing rate
    # given whether b is defined recovers P(a = 1) (it came out 0.11-0.14
    # against a true 0.47-0.51 when only the votes cast entered the likelihood)
    assert model.state_balance_[0][-1] == pytest.approx(np.mean(Y[:, 0]), abs=0.05)
    for j in range(3, 6):  # vote rate of the b-sources where b is defined: 0.6
        assert 1 - model.cond_probs_[j][0, :3].mean() == pytest.approx(0.6, abs=0.05)
    independent = MultitaskLabelModel(TaskGraph.independent([2, 3]), [0] * 3 + [1] * 3)
    independent.fit(L)
    acc_joint = np.mean(model.predict(L)[:, 0] == Y[:, 0])
    acc_independent = np.mean(independent.predict(L)[:, 0] == Y[:, 0])
    assert acc_joint > 0.95 and acc_joint > acc_independent + 0.15
    # task b, where it is defined: as good as without the graph
    defined = Y[:, 1] >= 0
    acc_b = np.mean(model.predict_proba(L)[1][defined].argmax(axis=1) == Y[defined, 1])
    proba_b = independent.predict_proba(L)[1][defined]
    assert acc_b > np.mean(proba_b.argmax(axis=1) == Y[defined, 1]) - 0.01


@pytest.mark.parametrize("fire", [(0.3, 0.9), (0.9, 0.3)])
def test_child_sources_firing_by_class(fire):
    # b (defined where a = 0) is 0 on 80 % of those rows; its sources fire at
    # a different rate for each class of b, and the abstain probabilities of
    # each class must still make each column of cond_probs_ a distribution
    rng = np.random.RandomState(0)
    n = 3000
    a = rng.randint(0, 2, size=n)
    b = np.where(a == 0, (rng.random_sample(n) < 0.2).astype(int), -1)

    def source(truth, accuracy, rates):
        rate = np.where(truth >= 0, np.asarray(rates)[np.maximum(truth, 0)], 0.05)
        fires = rng.random_sample(n) < rate
        right = rng.random_sample(n) < accuracy
        vote = np.where(truth >= 0, np.where(right, truth, 1 - truth), 0)
        vote = np.where(truth >= 0, vote, rng.randint(0, 2, size=n))
        return np.where(fires, vote, -1)

    L = np.column_stack(
        [source(a, 0.85, (0.7, 0.7)), source(a, 0.8, (0.6, 0.6))]
        + [source(b, acc, fire) for acc in (0.85, 0.8, 0.8)]
    )
    graph = TaskGraph({"a": 2, "b": 2}, edges=[("a", "b", [0])])
    model = MultitaskLabelModel(graph, ["a", "a", "b", "b", "b"], max_iter=300)
    model.fit(L)
    for mu in model.cond_probs_:
        np.testing.assert_allclose(mu.sum(axis=0), 1.0)
    truth = [np.mean((a == 0) & (b == 0)), np.mean((a == 0) & (b == 1)), np.mean(a)]
    np.testing.assert_allclose(model.state_balance_[0], truth, atol=0.03)
    defined = b >= 0
    acc_b = np.mean(model.predict(L)[defined, 1] == b[defined])
    assert acc_b > 0.8  # always guessing b = 0 scores 0.8


def test_sources_that_never_fire_leave_the_fit_alone():
    # b (3 classes) is defined where a = 0; columns of b-sources that never
    # vote carry no information, whatever the prior says about firing
    L, Y, graph, source_tasks = make_parent_child(150, random_state=1)
    base = MultitaskLabelModel(graph, source_tasks).fit(L)
    silent = np.full((len(L), 20), -1)
    padded = MultitaskLabelModel(graph, source_tasks + [1] * 20)
    padded.fit(np.hstack([L, silent]))
    np.testing.assert_allclose(
        padded.state_balance_[0], base.state_balance_[0], atol=0.01
    )
    for t in range(2):
        np.testing.assert_allclose(
            padded.predict_proba(np.hstack([L, silent]))[t],
            base.predict_proba(L)[t],
            atol=0.03,
        )


def test_dataframe_gold_labels_are_matched_to_tasks_by_name():
    L, Y, graph, source_tasks = make_parent_child(500, random_state=0)
    Y = np.where(np.arange(len(Y))[:, None] % 3 == 0, Y, -1)  # a third labeled
    swapped = pd.DataFrame({"b": Y[:, 1], "a": Y[:, 0]})
    by_array = MultitaskLabelModel(graph, source_tasks).fit(L, Y)
    by_name = MultitaskLabelModel(graph, source_tasks).fit(L, swapped)
    _assert_same_fit(by_array, by_name, [0])
    np.testing.assert_array_equal(
        by_name.score_tasks(L, swapped), by_array.score_tasks(L, Y)
    )
    assert by_name.score(L, swapped) == by_array.score(L, Y)
    np.testing.assert_array_equal(graph.check_labels(swapped), Y)
    # integer column names are task indices
    np.testing.assert_array_equal(graph.check_labels(pd.DataFrame(Y)), Y)
    with pytest.raises(ValueError, match=r"no column for the tasks \['b'\]"):
        by_name.fit(L, swapped[["a"]])
    with pytest.raises(ValueError, match=r"columns \['c'\] that name no task"):
        by_name.score(L, swapped.assign(c=-1))
    with pytest.raises(ValueError, match=r"several columns for the tasks \['a'\]"):
        graph.check_labels(pd.DataFrame(np.c_[Y, Y[:, 0]], columns=["a", "b", 0]))


def test_pyarrow_gold_labels_are_matched_to_tasks_by_name():
    # a Table's .columns are its arrays: "Y has columns [<pyarrow.lib.ChunkedArray
    # object at ...> ...] that name no task"
    pa = pytest.importorskip("pyarrow")
    L, Y, graph, source_tasks = make_parent_child(300, random_state=0)
    swapped = pa.table({"b": Y[:, 1], "a": Y[:, 0]})
    np.testing.assert_array_equal(graph.check_labels(swapped), Y)
    model = MultitaskLabelModel(graph, source_tasks).fit(L)
    assert model.score(L, swapped) == model.score(L, Y)


def test_score_without_any_gold_label_raises():
    L, Y, graph, source_tasks = make_parent_child(300, random_state=0)
    model = MultitaskLabelModel(graph, source_tasks).fit(L)
    unlabeled = np.full_like(Y, -1)
    with pytest.raises(ValueError, match="y has no gold label"):
        model.score(L, unlabeled)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(model.score_tasks(L, unlabeled)).all()
        partial = Y.copy()
        partial[:, 1] = -1  # task b unlabeled: the score is task a's
        assert model.score(L, partial) == model.score_tasks(L, partial)[0]


def test_task_graph_rejects_non_string_names():
    with pytest.raises(ValueError, match=r"must be strings; got 1 \(int\)"):
        TaskGraph({1: 2, 0: 3}, edges=[(1, 0, [0])])
    # positional integers in edges still work for named tasks
    graph = TaskGraph({"x": 2, "y": 3}, edges=[(0, 1, [0])])
    assert graph.edges == [("x", "y", [0])]


@pytest.mark.parametrize(
    "dtype, match", [(complex, "Complex data"), (bool, "dtype bool")]
)
def test_sparse_complex_and_bool_input_is_rejected_as_dense_is(dtype, match):
    import scipy.sparse as sp

    L = np.array([[0, 1], [1, 1], [0, -1], [1, 0]] * 25)
    rows, cols = np.nonzero(L != -1)
    S = sp.csr_matrix((L[rows, cols], (rows, cols)), shape=L.shape).astype(dtype)
    for X in [S, S.toarray()]:
        with pytest.raises(ValueError, match=match):
            MultitaskLabelModel(TaskGraph([2])).fit(X)


def test_child_proba_stays_right_when_the_child_is_almost_surely_undefined():
    # P(b defined) underflows when many sources say a=1, but P(b | defined)
    # depends only on the b-sources: it must not fall back to uniform
    rng = np.random.default_rng(0)
    n, m_a = 400, 260
    graph = TaskGraph({"a": 2, "b": 3}, edges=[("a", "b", [0])])
    ya = rng.integers(0, 2, n)
    yb = np.where(ya == 0, rng.integers(0, 3, n), -1)
    A = np.where(rng.random((n, m_a)) < 0.95, ya[:, None], 1 - ya[:, None])
    right = rng.random((n, 2)) < 0.9
    B = np.where(
        yb[:, None] >= 0, np.where(right, yb[:, None], (yb[:, None] + 1) % 3), -1
    )
    model = MultitaskLabelModel(graph, source_tasks=[0] * m_a + [1] * 2)
    model.fit(np.hstack([A, B]))

    def row(n_ones):
        r = np.full((1, m_a + 2), -1)
        r[0, :n_ones] = 1
        r[0, m_a:] = 2
        return r

    assert model.predict_defined_proba(row(100))[0, 1] > 1e-300
    assert model.predict_defined_proba(row(m_a))[0, 1] < 1e-300
    expected = model.predict_proba(row(100))[1]
    np.testing.assert_allclose(model.predict_proba(row(m_a))[1], expected)
    assert expected[0, 2] > 0.9


@pytest.mark.parametrize("value", [1.9, True, np.bool_(True), "1"])
def test_task_graph_rejects_non_integer_parent_values(value):
    with pytest.raises(ValueError, match="parent_values holds"):
        TaskGraph({"a": 3, "b": 2}, edges=[("a", "b", [0, value])])
    # integral values of any numeric type are accepted
    graph = TaskGraph({"a": 3, "b": 2}, edges=[("a", "b", [np.int64(1), 2.0])])
    assert graph.edges == [("a", "b", [1, 2])]


def test_a_vote_never_seen_in_fit_leaves_no_nan_at_a_tiny_prior_strength():
    # source 0 never votes 1 in fit: with prior_strength 1e-200 its pseudo-votes
    # underflow, so P(vote 1 | a) is 0 for every value of a; a row casting that
    # vote must still get the certain root's P(defined) = 1, not NaN
    graph = TaskGraph({"a": 2, "b": 2}, edges=[("a", "b", [0])])
    L = np.array([[0, 0], [0, 1], [0, 0], [0, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = MultitaskLabelModel(graph, ["a", "b"], prior_strength=1e-200).fit(L)
    defined = model.predict_defined_proba(np.array([[1, 0]]))
    assert np.all(np.isfinite(defined))
    assert defined[0, 0] == pytest.approx(1.0, abs=1e-12)  # a root is defined


@pytest.mark.parametrize("values", [[0, float("nan")], [float("inf")], 0, None])
def test_task_graph_names_the_edge_of_non_finite_or_scalar_parent_values(values):
    # NaN raised numpy's "cannot convert float NaN to integer", infinity an
    # OverflowError and a bare integer a TypeError, none naming the edge
    with pytest.raises(ValueError, match=r"Edge \('a', 'b', "):
        TaskGraph({"a": 3, "b": 2}, edges=[("a", "b", values)])


def test_documented_usage_snippet_runs_as_written():
    # the snippet in docs/multitask_label_model.md is self-contained
    text = (Path(__file__).parents[1] / "docs" / "multitask_label_model.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)
    (code,) = [body for body in blocks if "MultitaskLabelModel(graph" in body]
    namespace = {}
    exec(code, namespace)
    pred = namespace["model"].predict(namespace["L"])
    assert pred.shape == (6, 2)
    # person_kind is undefined exactly where the entity is an organization
    np.testing.assert_array_equal(pred[:, 1] == -1, pred[:, 0] == 1)


def test_gold_labels_coded_minus_one_plus_one_warn_per_task():
    # -1 marks an entry without a gold label, so a binary task coded -1/+1
    # silently lost every negative row (LabelModel warns for the same)
    L, Y, graph, source_tasks = make_parent_child(300, random_state=0)
    a = Y[:, 0]
    plus_minus = np.column_stack([2 * a - 1, np.full_like(a, -1)])  # b unlabeled
    model = MultitaskLabelModel(graph, source_tasks).fit(L)
    n_minus = np.count_nonzero(a == 0)
    with pytest.warns(UserWarning, match=f"task 'a' .* the {n_minus} rows with -1"):
        model.fit(L, plus_minus)
    with pytest.warns(UserWarning, match="task 'a' hold -1 and 1 but no 0"):
        scores = model.score_tasks(L, plus_minus)
    positives = a == 1
    assert scores[0] == model.score_tasks(L[positives], Y[positives])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.score_tasks(L, Y)  # 0/1 labels


def test_minus_one_plus_one_warning_points_at_the_callers_line():
    # its stacklevel pointed at multitask_label_model.py (fit and score call
    # TaskGraph.check_labels), not at the user's call
    L, Y, graph, source_tasks = make_parent_child(100, random_state=0)
    plus_minus = np.column_stack([2 * Y[:, 0] - 1, np.full_like(Y[:, 0], -1)])
    model = MultitaskLabelModel(graph, source_tasks)
    calls = [
        lambda: model.fit(L, plus_minus),
        lambda: model.score(L, plus_minus),
        lambda: graph.check_labels(plus_minus),
    ]
    for call in calls:
        with pytest.warns(UserWarning, match="task 'a' hold -1") as record:
            call()
        assert [w.filename for w in record] == [__file__]


def test_a_child_task_undefined_by_its_known_parent_is_not_a_minus_one_label():
    # c is defined only where a = 0: its -1 entries where a is known to be 1
    # are "not defined", not unlabeled, so a c labeled 1 wherever defined
    # does not look coded -1/+1; a -1 where a is unknown may hide a class
    graph = TaskGraph({"a": 2, "c": 2}, edges=[("a", "c", [0])])
    Y = np.array([[0, 1], [1, -1], [0, 1], [1, -1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(graph.check_labels(Y), Y)
    unknown_parent = np.vstack([Y, [-1, -1], [-1, -1]])
    with pytest.warns(UserWarning, match="task 'c' .* the 2 rows with -1"):
        graph.check_labels(unknown_parent)


def test_convergence_warning_points_at_the_callers_line():
    # its stacklevel=2 pointed at scikit-learn's fit wrapper (base.py)
    from sklearn.exceptions import ConvergenceWarning

    L, _, graph, source_tasks = make_parent_child(300, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge") as record:
        MultitaskLabelModel(graph, source_tasks, max_iter=1).fit(L)
    assert [w.filename for w in record] == [__file__]


def test_initial_class_counts_match_the_votes_without_a_dense_one_hot():
    # The initialization counts each row's votes per class over one task's
    # sources from the votes (the dense (n, n_sources * k) copy of the
    # one-hot cost 240 MB at 1e4 x 1000); the counts are those of L.
    from sklearn_metal._statistics import vote_counts
    from sklearn_metal._validation import check_label_matrix

    rng = np.random.default_rng(0)
    n, k_max = 200, 4
    L = rng.integers(0, k_max, size=(n, 6))
    L[:, 3:] = rng.integers(0, 2, size=(n, 3))  # a binary task's sources
    L[rng.random(L.shape) > 0.5] = -1
    rows, cols, vals, shape = check_label_matrix(L, k_max)
    for sources, k in (([0, 1, 2], 4), ([3, 4, 5], 2), ([4], 2), ([], 2)):
        expected = np.zeros((n, k))
        for j in sources:
            for c in range(k):
                expected[:, c] += L[:, j] == c
        of_task = np.isin(cols, sources)  # as _fit_group selects them
        got = vote_counts(rows[of_task], vals[of_task], n, k)
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "cards, edges",
    [
        ({"a": 2}, []),
        ({"a": 2, "b": 3}, [("a", "b", [0])]),
        # children listed before their parents, several parent values, a
        # grandchild, and a second child of the root
        (
            {"c": 2, "b": 3, "a": 3, "d": 2},
            [("a", "b", [0, 2]), ("b", "c", [1]), ("a", "d", [1])],
        ),
        (
            {f"t{i}": 2 for i in range(7)},
            [(f"t{i}", f"t{i + 1}", [0]) for i in range(6)],
        ),
    ],
)
def test_feasible_states_equal_the_filtered_product(cards, edges):
    # feasible_states cuts off a partial label that breaks an edge instead of
    # filtering the whole product (1.2 s for a chain of 12 binary tasks): the
    # same states, in the same (lexicographic, by depth) order.
    import itertools

    graph = TaskGraph(cards, edges=edges)
    for comp in graph.components:
        order = sorted(comp, key=graph._depth)
        expected = []
        for combo in itertools.product(
            *(range(-1, cards[graph.tasks[t]]) for t in order)
        ):
            value = dict(zip(order, combo, strict=True))
            ok = True
            for t in order:
                p = graph.parent[t]
                allowed = [] if p is None else graph._parent_values[t]
                defined = p is None or value[p] in allowed
                ok &= (value[t] >= 0) == defined
            if ok:
                expected.append([value[t] for t in comp])
        assert graph.feasible_states(comp).tolist() == expected


@pytest.mark.parametrize(
    "shape, top",
    [((500, 3), 3), ((200, 1), 1), ((50, 2), 0), ((300, 4), 2**20), ((0, 2), 2)],
)
def test_unique_rows_equal_numpys_unique_rows(shape, top):
    # check_labels and the gold masks tell label rows apart by an int64 key
    # (np.unique(axis=0) sorted records: 1.0 s at 1e6 rows): the same rows,
    # first indices and row numbers; keys too large for int64 (4 columns up
    # to 2**20) fall back to np.unique.
    from sklearn_metal.multitask_label_model import _unique_rows

    rng = np.random.default_rng(0)
    Y = rng.integers(-1, top + 1, size=shape)
    rows, first, inverse = _unique_rows(Y)
    expected = np.unique(Y, axis=0, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(rows, expected[0])
    np.testing.assert_array_equal(first, expected[1])
    np.testing.assert_array_equal(inverse, expected[2].ravel())
    np.testing.assert_array_equal(rows[inverse], Y)


def test_interleaved_groups_fit_as_each_group_alone():
    # Each task group's votes are taken out of L once, by one stable sort
    # (selecting them from all votes per group made many independent tasks
    # cost quadratic time): every group's fit and posteriors are those of a
    # model of that group alone on its own columns.
    rng = np.random.default_rng(3)
    cards = {"a": 2, "b": 3, "c": 3, "d": 2}
    edges = [("a", "b", [0])]
    source_tasks = ["c", "a", "d", "b", "a", "c", "d", "b", "c"]
    n = 400
    k_of = np.array([cards[t] for t in source_tasks])
    L = (rng.random((n, len(source_tasks))) * k_of).astype(np.int64)
    L[rng.random(L.shape) > 0.5] = -1
    y = np.full((n, 4), -1)
    y[:40, 2] = rng.integers(0, 3, 40)
    full = MultitaskLabelModel(TaskGraph(cards, edges=edges), source_tasks).fit(L, y)
    proba = full.predict_proba(L)
    for tasks in (["a", "b"], ["c"], ["d"]):
        cols = [j for j, t in enumerate(source_tasks) if t in tasks]
        graph = TaskGraph(
            {t: cards[t] for t in tasks}, edges=edges if "a" in tasks else None
        )
        y_part = y[:, [list(cards).index(t) for t in tasks]]
        part = MultitaskLabelModel(graph, [source_tasks[j] for j in cols])
        part.fit(L[:, cols], y_part)
        g = full.task_graph.components.index([list(cards).index(t) for t in tasks])
        np.testing.assert_array_equal(part.state_balance_[0], full.state_balance_[g])
        assert part.loss_history_[0] == full.loss_history_[g]
        np.testing.assert_array_equal(part.accuracies_, full.accuracies_[cols])
        theirs = [full.cond_probs_[j] for j in cols]
        for mine, other in zip(part.cond_probs_, theirs, strict=True):
            np.testing.assert_array_equal(mine, other)
        for t, p in zip(tasks, part.predict_proba(L[:, cols]), strict=True):
            np.testing.assert_array_equal(p, proba[list(cards).index(t)])


def test_fit_that_raises_leaves_the_model_as_it_was(monkeypatch):
    # the votes set n_features_in_ (and feature names) before the gold labels
    # were checked, and the fitted attributes were filled group by group: a
    # failed fit left a fitted model expecting the failed call's columns
    # ('X has 4 features, but ... is expecting 5'), an unfitted one looking
    # fitted (predict raised AttributeError, not NotFittedError), and Ctrl-C
    # in a later group's EM left fewer groups than sources (predict raised)
    from sklearn.exceptions import NotFittedError

    L, Y = _independent_votes(60, 2, random_state=0)
    names = ["a0", "a1", "b0", "b1"]
    frame = pd.DataFrame(L, columns=names)
    graph = TaskGraph({"a": 2, "b": 2})
    model = MultitaskLabelModel(graph, source_tasks=["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="y has 5 rows"):
        model.fit(L, Y[:5])
    assert not [k for k in vars(model) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        model.predict(L)
    model.fit(frame, Y)
    before = {k: v for k, v in vars(model).items() if k.endswith("_")}
    proba = model.predict_proba(frame)
    em, calls = MultitaskLabelModel._em, []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second group's
            raise KeyboardInterrupt
        return em(self, *args, **kwargs)

    wide = pd.DataFrame(np.hstack([L, L[:, :1]]), columns=[*names, "x"])
    for bad, error in (
        (lambda: model.set_params(source_tasks=[0] * 5).fit(wide, Y[:5]), ValueError),
        (lambda: model.fit(L, Y), KeyboardInterrupt),
    ):
        monkeypatch.setattr(MultitaskLabelModel, "_em", interrupted)
        calls.clear()
        with pytest.raises(error):
            bad()
        monkeypatch.setattr(MultitaskLabelModel, "_em", em)
        model.set_params(source_tasks=["a", "a", "b", "b"])
        after = {k: v for k, v in vars(model).items() if k.endswith("_")}
        assert after.keys() == before.keys()
        for key, value in before.items():
            assert after[key] is value, key
        for p, q in zip(model.predict_proba(frame), proba, strict=True):
            np.testing.assert_array_equal(p, q)


def test_rows_without_votes_leave_an_always_defined_group_unchanged():
    # abstains are left out of the likelihood where no task of a group can be
    # undefined, so rows without a vote there carry no evidence: adding them
    # (here rows where only the other task's sources vote) changes nothing,
    # as for LabelModel. Counted in the M-step, such rows moved the fit: on
    # 3,000 rows of 4 binary sources, 3,000 more took P(class 0) from 0.55 to
    # 0.98 and the accuracy from 0.72 to 0.52.
    from sklearn_metal.datasets import make_label_matrix

    L, _, _ = make_label_matrix(1000, 4, coverages=0.4, random_state=0)
    L_other, _, _ = make_label_matrix(2000, 4, coverages=0.4, random_state=2)
    graph = TaskGraph({"flag": 2, "topic": 2})
    model = MultitaskLabelModel(graph, [0] * 4 + [1] * 4)
    model.fit(np.hstack([L, L_other[:1000]]))
    before, balance = model.predict_proba(np.hstack([L, L])), model.state_balance_
    padded = np.vstack([L, np.full((1000, 4), -1)])
    model.fit(np.hstack([padded, L_other]))
    after = model.predict_proba(np.hstack([L, L]))
    np.testing.assert_allclose(after[0], before[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.state_balance_[0], balance[0], rtol=0, atol=1e-12)


def test_many_rows_without_votes_leave_the_convergence_test_unchanged():
    # rows left out of an always-defined group's fit were still counted (at 0)
    # in its mean loss, which shrank with their number and so eased the
    # convergence test: 100,000 of them next to 1,000 rows stopped EM after 2
    # iterations instead of 6 (P(class 0) of a row 0.597 -> 0.553)
    from sklearn_metal.datasets import make_label_matrix

    L, _, _ = make_label_matrix(1000, 4, coverages=0.4, random_state=0)
    model = MultitaskLabelModel(TaskGraph({"flag": 2}), [0] * 4, tol=1e-4)
    model.fit(L)
    before, history = model.predict_proba(L)[0], model.loss_history_[0]
    model.fit(np.vstack([L, np.full((100_000, 4), -1)]))
    assert model.loss_history_[0] == pytest.approx(history, rel=1e-12)
    np.testing.assert_allclose(model.predict_proba(L)[0], before, rtol=0, atol=1e-12)
    # a group none of whose sources votes fits no row: no NaN loss (nor its
    # RuntimeWarnings and a ConvergenceWarning after max_iter)
    model = MultitaskLabelModel(TaskGraph({"a": 2, "b": 2}), [0] * 4 + [1] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(np.hstack([L, np.full((len(L), 2), -1)]))
    assert model.converged_ and model.loss_history_[1] == [0.0, 0.0]
