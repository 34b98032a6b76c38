import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV

from sklearn_metal import (
    LabelModel,
    MajorityClassVoter,
    MultitaskLabelModel,
    TaskGraph,
    lf_summary,
)
from sklearn_metal.datasets import make_label_matrix


@pytest.fixture
def votes():
    L, y, acc = make_label_matrix(
        3000, 8, 2, coverages=0.6, class_balance=[0.7, 0.3], random_state=0
    )
    return L, y, acc


def test_predict_proba_is_a_distribution_and_all_abstain_gets_balance(votes):
    L, y, _ = votes
    L = L.copy()
    L[:50] = -1
    model = LabelModel().fit(L)
    proba = model.predict_proba(L)
    assert proba.shape == (len(L), 2)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:50], np.tile(model.class_balance_, (50, 1)))
    assert set(np.unique(model.predict(L))) <= {0, 1}
    assert model.score(L, y) > 0.85


def test_class_balance_is_estimated_not_uniform(votes):
    L, y, _ = votes
    true_p0 = np.mean(y == 0)
    # the closed-form estimate moves well off uniform toward the truth ...
    model = LabelModel(method="moments").fit(L)
    assert 0.6 < model.class_balance_[0] <= true_p0 + 0.02
    # ... and EM, which refines the source parameters too, recovers it
    em = LabelModel(method="em").fit(L)
    assert abs(em.class_balance_[0] - true_p0) < 0.02


def test_class_balance_given_is_used_as_is(votes):
    L, _, _ = votes
    model = LabelModel(class_balance=[0.5, 0.5]).fit(L)
    np.testing.assert_array_equal(model.class_balance_, [0.5, 0.5])
    assert model.converged_


@pytest.mark.parametrize("method", ["auto", "em"])
@pytest.mark.parametrize("k", [2, 4])
def test_em_recovers_source_accuracies(k, method):
    L, y, acc = make_label_matrix(100_000, 10, k, random_state=1)
    model = LabelModel(cardinality=k, method=method).fit(L)
    assert model.converged_
    assert np.mean(np.abs(model.accuracies_ - acc)) < 0.02
    assert model.loss_history_[-1] <= model.loss_history_[0]


def test_moments_accuracies_better_than_random_and_ordered():
    L, y, acc = make_label_matrix(20_000, 10, 3, random_state=2)
    model = LabelModel(cardinality=3).fit(L)
    assert np.all(model.accuracies_ > 1 / 3)
    # the learned ranking of sources follows the true one
    assert np.corrcoef(model.accuracies_, acc)[0, 1] > 0.9


def test_dependencies_on_copied_sources_beat_independent_model():
    rng = np.random.RandomState(0)
    accs = [0.75, 0.75, 0.7, 0.7, 0.7, 0.6]
    L, y, _ = make_label_matrix(
        20_000, 6, 2, accuracies=accs, coverages=0.8, random_state=rng
    )
    # source 5 (the weakest) is copied three more times
    copies = np.repeat(L[:, [5]], 3, axis=1)
    L = np.hstack([L, copies])
    independent = LabelModel().fit(L)
    deps = [(5, 6), (5, 7), (5, 8)]
    dependent = LabelModel(dependencies=deps).fit(L)
    assert dependent.dependency_components_ == [(5, 6, 7, 8)]
    loss_ind = log_loss(y, independent.predict_proba(L))
    loss_dep = log_loss(y, dependent.predict_proba(L))
    acc_ind = independent.score(L, y)
    acc_dep = dependent.score(L, y)
    assert loss_dep < loss_ind - 0.02
    assert acc_dep > acc_ind + 0.01
    # with the copies declared, the model matches the one without the copies
    alone = LabelModel().fit(L[:, :6])
    np.testing.assert_allclose(
        dependent.predict_proba(L), alone.predict_proba(L[:, :6]), atol=0.05
    )


def test_dependencies_by_column_name():
    L, _, _ = make_label_matrix(500, 4, random_state=0)
    df = pd.DataFrame(L, columns=["a", "b", "c", "d"])
    model = LabelModel(dependencies=[("a", "b")]).fit(df)
    assert model.dependency_components_ == [(0, 1)]
    with pytest.raises(ValueError, match="'zz'"):
        LabelModel(dependencies=[("a", "zz")]).fit(df)
    with pytest.raises(ValueError, match="index 7"):
        LabelModel(dependencies=[(0, 7)]).fit(L)
    with pytest.raises(ValueError, match="itself"):
        LabelModel(dependencies=[(1, 1)]).fit(L)
    # an array of pairs works like a list of pairs
    as_array = LabelModel(dependencies=np.array([[2, 3]])).fit(L)
    assert as_array.dependency_components_ == [(2, 3)]


def test_semi_supervised_gold_rows_inform_the_fit(votes):
    L, y, _ = votes
    y_semi = np.full_like(y, -1)
    y_semi[:300] = y[:300]
    # where every source abstains, only gold labels tell the balance
    L_sparse = L.copy()
    L_sparse[: len(L) // 2] = -1
    unsupervised = LabelModel().fit(L_sparse)
    semi = LabelModel().fit(L_sparse, y_semi)
    true_balance = np.bincount(y) / len(y)
    assert (
        np.abs(semi.class_balance_ - true_balance).max()
        <= np.abs(unsupervised.class_balance_ - true_balance).max() + 1e-9
    )
    # fully labelled: gold overrides the vote shares
    full = LabelModel().fit(L, y)
    assert abs(full.class_balance_[0] - true_balance[0]) < 0.01


def test_sparse_and_dataframe_inputs_match_dense(votes):
    L, y, _ = votes
    dense = LabelModel().fit(L)
    # sparse convention: unstored entries abstain, stored entries are votes
    rows, cols = np.nonzero(L != -1)
    S = sp.csr_matrix((L[rows, cols], (rows, cols)), shape=L.shape)
    S.data = S.data.astype(np.int64)
    sparse = LabelModel().fit(S)
    np.testing.assert_allclose(sparse.predict_proba(S), dense.predict_proba(L))
    names = [f"lf_{j}" for j in range(L.shape[1])]
    df = pd.DataFrame(L, columns=names)
    framed = LabelModel().fit(df)
    np.testing.assert_allclose(framed.predict_proba(df), dense.predict_proba(L))
    assert list(framed.feature_names_in_) == names
    params = framed.get_source_parameters()
    assert list(params.index) == names
    np.testing.assert_allclose(params["accuracy"], framed.accuracies_)


@pytest.mark.parametrize("chunk_rows", [None, 256])
def test_pyarrow_table_names_the_sources(votes, chunk_rows):
    # np.asarray read a pyarrow Table without its column names: no
    # feature_names_in_ (MajorityLabelVoter recorded them), lf_summary's
    # sources were source_0, source_1, ...
    pa = pytest.importorskip("pyarrow")
    L, y, _ = votes
    names = [f"lf_{j}" for j in range(L.shape[1])]
    table = pa.table({name: L[:, j] for j, name in enumerate(names)})
    model = LabelModel(chunk_rows=chunk_rows).fit(table)
    expected = LabelModel(chunk_rows=chunk_rows).fit(L)
    assert list(model.feature_names_in_) == names
    np.testing.assert_allclose(
        model.predict_proba(table), expected.predict_proba(L), rtol=0, atol=1e-10
    )
    assert list(lf_summary(table, y, label_model=model).index) == names


def test_fit_is_deterministic_and_clone_pickle_roundtrip(votes):
    L, _, _ = votes
    a = LabelModel().fit(L).predict_proba(L)
    b = LabelModel().fit(L).predict_proba(L)
    np.testing.assert_array_equal(a, b)
    model = LabelModel(prior_strength=2.0).fit(L)
    unfitted = clone(model)
    assert not hasattr(unfitted, "class_balance_")
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(L), model.predict_proba(L))


def test_convergence_attributes_and_warning(votes):
    L, _, _ = votes
    model = LabelModel().fit(L)
    assert model.converged_ and model.n_iter_ == len(model.loss_history_)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        stopped = LabelModel(max_iter=1, tol=0.0).fit(L)
    assert not stopped.converged_


def test_cond_probs_are_distributions(votes):
    L, _, _ = votes
    model = LabelModel().fit(L)
    mu = model.cond_probs_
    assert mu.shape == (L.shape[1], 3, 2)
    assert np.all(mu >= 0)
    np.testing.assert_allclose(mu.sum(axis=1), 1.0, atol=1e-9)
    # abstain probability reflects coverage 0.6
    np.testing.assert_allclose(mu[:, 0, :], 0.4, atol=0.05)


def _tiny_votes(k, seed, one_class=(), n=40, m=5):
    """A small random label matrix: every source fires on ~60% of the rows with
    accuracy ~0.75; the sources in ``one_class`` keep only their votes for
    class ``j % k`` (labeling functions that vote one class or abstain)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    L = np.full((n, m), -1)
    for j in range(m):
        wrong = (y + rng.integers(1, k, n)) % k
        vote = np.where(rng.random(n) < 0.75, y, wrong)
        fire = rng.random(n) < 0.6
        if j in one_class:
            fire &= vote == j % k
        L[fire, j] = vote[fire]
    L[:3] = -1  # rows on which every source abstains
    return L, y


def _posterior_by_enumeration(model, L):
    """P(y | votes) proportional to P(y) * prod over the voting sources of
    cond_probs_[j, vote + 1, y] (the documented inference rule)."""
    out = np.empty((len(L), len(model.class_balance_)))
    for i, row in enumerate(L):
        joint = model.class_balance_.copy()
        for j, a in enumerate(row):
            if a >= 0:
                joint = joint * model.cond_probs_[j, a + 1]
        out[i] = joint / joint.sum()
    return out


@pytest.mark.parametrize("method", ["moments", "auto", "em"])
@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("one_class", [(), (0, 1)])
def test_predict_proba_is_the_posterior_under_cond_probs(k, method, one_class):
    # cond_probs_ is documented as the model's P(lambda_j = a | Y = y), and
    # inference as P(Y) * prod_j P(lambda_j | Y): the posterior enumerated from
    # the public attributes must be predict_proba, for one-class (class-
    # conditional) sources too (their cond_probs_ lacked the prior's
    # pseudo-counts that predict_proba uses: 0.015-0.05 apart)
    L, _ = _tiny_votes(k, seed=k, one_class=one_class)
    model = LabelModel(k, method=method, max_iter=500).fit(L)
    expected_independent = [j not in one_class for j in range(L.shape[1])]
    np.testing.assert_array_equal(model.coverage_independent_, expected_independent)
    # (no source's vote probabilities were capped at 1 for some class, which
    # would make cond_probs_ no longer proportional to the inference factors)
    assert np.all(model.cond_probs_[:, 0, :] > 0)
    proba = model.predict_proba(L)
    np.testing.assert_allclose(proba, _posterior_by_enumeration(model, L), atol=1e-12)
    np.testing.assert_allclose(proba[:3], np.tile(model.class_balance_, (3, 1)))
    # accuracies_ = P(lambda_j = Y | lambda_j != -1) from cond_probs_ and P(Y)
    votes = model.cond_probs_[:, 1:, :]
    p = model.class_balance_
    expected = np.array([np.diag(v) @ p / (v.sum(axis=0) @ p) for v in votes])
    np.testing.assert_allclose(model.accuracies_, expected, rtol=1e-12)


@pytest.mark.parametrize("prior_strength", [1.0, 10.0, 100.0])
def test_accuracy_of_a_one_class_source_is_its_vote_posterior(prior_strength):
    # source 2 votes class 1 only where no other source votes 0: its accuracy
    # is the posterior of class 1 from its vote alone, which the prior keeps
    # below 1 (cond_probs_ without the pseudo-counts reported 1.0 at any
    # prior_strength)
    L = np.array(
        [[0, 0, -1], [1, 1, 1], [0, -1, -1], [1, -1, 1], [0, 0, -1], [-1, 1, 1]]
    )
    model = LabelModel(method="moments", prior_strength=prior_strength).fit(L)
    assert not model.coverage_independent_[2]
    alone = model.predict_proba(np.array([[-1, -1, 1]]))[0, 1]
    assert model.accuracies_[2] == pytest.approx(alone, rel=1e-12)
    assert 0.5 < model.accuracies_[2] < 0.95


def test_dependency_group_abstaining_leaves_the_other_sources_posterior():
    # a group whose sources all abstain carries no evidence: such rows get the
    # posterior of the other sources' cond_probs_ alone
    L, _ = _tiny_votes(3, seed=7, one_class=(4,))
    L[:, 1] = np.where(L[:, 0] >= 0, L[:, 0], L[:, 1])  # a near-copy of source 0
    model = LabelModel(3, dependencies=[(0, 1)], method="moments").fit(L)
    assert model.dependency_components_ == [(0, 1)]
    rows = (L[:, 0] < 0) & (L[:, 1] < 0)
    assert rows.sum() >= 5
    others = L[rows].copy()
    others[:, :2] = -1
    np.testing.assert_allclose(
        model.predict_proba(L[rows]),
        _posterior_by_enumeration(model, others),
        atol=1e-12,
    )


@pytest.mark.parametrize("method", ["moments", "auto", "em"])
@pytest.mark.parametrize("k", [2, 3])
def test_loss_is_the_mean_negative_log_likelihood_of_the_votes(k, method):
    # with class-independent coverage, the loss is the mean negative
    # log-likelihood of the votes given which sources voted (Dawid-Skene's
    # confusion matrices: cond_probs_ over the votes, renormalized) over the
    # rows with a vote, one iteration behind the final parameters (to tol)
    L, _ = _tiny_votes(k, seed=10 + k)
    model = LabelModel(k, method=method, tol=1e-12, max_iter=2000).fit(L)
    assert model.coverage_independent_.all() and model.converged_
    conf = model.cond_probs_[:, 1:, :]
    conf = conf / conf.sum(axis=1, keepdims=True)
    nll = []
    for row in L[(L >= 0).any(axis=1)]:
        joint = model.class_balance_.copy()
        for j, a in enumerate(row):
            if a >= 0:
                joint = joint * conf[j, a]
        nll.append(-np.log(joint.sum()))
    assert model.loss_history_[-1] == pytest.approx(np.mean(nll), abs=1e-9)


@pytest.mark.parametrize("method", ["moments", "auto"])
@pytest.mark.parametrize("with_gold", [False, True])
def test_loss_of_one_class_sources_and_gold_rows(method, with_gold):
    # the documented objective, rebuilt from L: a one-class (class-conditional)
    # source's factor is (t_jay + c_ay) / (t_y + prior_strength), its vote
    # tallies over the rows' vote shares (gold rows one-hot) plus the prior's
    # pseudo-counts, kept at the moment estimate by "moments" and "auto"; a
    # gold row adds -log P(y_gold), also when no source voted on it
    k, s, prec = 3, 2.0, 0.8
    L, y = _tiny_votes(k, seed=4, one_class=(0, 1, 2), n=60)
    gold = np.full(len(L), -1)
    if with_gold:
        gold[[0, 1, 10, 11, 12]] = y[[0, 1, 10, 11, 12]]  # rows 0, 1: no vote
    model = LabelModel(
        k, method=method, prior_strength=s, prec_init=prec, tol=1e-13, max_iter=5000
    ).fit(L, gold)
    assert list(model.coverage_independent_) == [False] * 3 + [True] * 2
    assert model.converged_
    n, m = L.shape
    Q = np.zeros((n, k))
    for i, row in enumerate(L):
        votes = row[row >= 0]
        if gold[i] >= 0:
            Q[i, gold[i]] = 1.0
        elif len(votes):
            Q[i] = np.bincount(votes, minlength=k) / len(votes)
    t = np.array([[Q[L[:, j] == a].sum(axis=0) for a in range(k)] for j in range(m)])
    t_y = Q.sum(axis=0) + s
    prior = np.where(np.eye(k, dtype=bool), prec, (1 - prec) / (k - 1))
    c = prior * t_y
    c = s * c / c.sum(axis=1, keepdims=True)
    factor = (t + c) / t_y
    conf = model.cond_probs_[:, 1:, :]
    factor[3:] = (conf / conf.sum(axis=1, keepdims=True))[3:]
    p = model.class_balance_
    nll = []
    for i, row in enumerate(L):
        if gold[i] >= 0:
            nll.append(-np.log(p[gold[i]]))
        elif (row >= 0).any():
            joint = p * np.prod([factor[j, a] for j, a in enumerate(row) if a >= 0], 0)
            nll.append(-np.log(joint.sum()))
    assert model.loss_history_[-1] == pytest.approx(np.mean(nll), abs=1e-9)
    # cond_probs_ rescales a one-class source's factor to its observed vote
    # rate: proportional in y, but the loss is not its likelihood
    for j in range(3):
        ratio = model.cond_probs_[j, j % k + 1] / factor[j, j % k]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)


def test_one_class_labeling_functions():
    # Typical LFs: each votes one class or abstains; firing is the signal.
    rng = np.random.RandomState(0)
    n = 5000
    y = rng.choice(2, size=n, p=[0.6, 0.4])
    L = np.full((n, 6), -1)
    for j in range(6):
        cls = j % 2
        fire = np.where(y == cls, 0.4, 0.05)
        L[rng.random_sample(n) < fire, j] = cls
    model = LabelModel().fit(L)
    assert not model.coverage_independent_.any()
    voted = (L != -1).any(axis=1)
    assert model.score(L[voted], y[voted]) > 0.85


def test_never_voting_source_is_allowed(votes):
    L, y, _ = votes
    L = np.hstack([L, np.full((len(L), 1), -1)])
    model = LabelModel().fit(L)
    assert model.coverages_[-1] == 0
    assert model.score(L, y) > 0.85


def test_grid_search_over_label_model(votes):
    L, y, _ = votes
    search = GridSearchCV(LabelModel(), {"prior_strength": [0.5, 5.0]}, cv=3)
    search.fit(L, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.score(L, y) > 0.85


def test_score_leaves_out_unlabeled_rows(votes):
    L, y, _ = votes
    model = LabelModel().fit(L)
    semi = np.where(np.arange(len(y)) % 10 == 0, y, -1)
    labeled = semi >= 0
    expected = np.mean(model.predict(L)[labeled] == y[labeled])
    assert model.score(L, semi) == pytest.approx(expected)
    weights = np.where(labeled, 1.0, 5.0)  # unlabeled rows' weights do not count
    assert model.score(L, semi, sample_weight=weights) == pytest.approx(expected)
    with pytest.raises(ValueError, match="no gold label"):
        model.score(L, np.full(len(y), -1))
    # the rows left weigh nothing, though the weights as given are not all 0
    with pytest.raises(ValueError, match=r"gold label \(y != -1\) has sample_weight 0"):
        model.score(L, semi, sample_weight=np.where(labeled, 0.0, 1.0))
    with pytest.raises(ValueError, match="the value 2 at row 0"):
        model.score(L, np.full(len(y), 2))
    # model selection on a semi-supervised label vector scores the gold rows
    search = GridSearchCV(LabelModel(), {"prior_strength": [0.5, 5.0]}, cv=3)
    search.fit(L, semi)
    assert search.best_score_ > 0.85


def test_partial_fit_after_fit_goes_on_from_its_statistics(votes):
    L, _, _ = votes
    half = len(L) // 2
    for chunk_rows in (None, 700):
        after_fit = LabelModel(method="moments", chunk_rows=chunk_rows).fit(L[:half])
        after_fit.partial_fit(L[half:])
        online = LabelModel().partial_fit(L[:half]).partial_fit(L[half:])
        np.testing.assert_allclose(after_fit.coverages_, online.coverages_, atol=1e-12)
        np.testing.assert_allclose(after_fit.cond_probs_, online.cond_probs_, atol=1e-3)
        with pytest.raises(ValueError, match="expecting 8 features"):
            after_fit.partial_fit(L[:10, :5])
    # fit starts afresh: statistics of earlier partial_fit calls are dropped
    model = LabelModel().partial_fit(L[:half])
    model.fit(L[:, :5]).partial_fit(L[half:, :5])
    fresh = LabelModel().fit(L[:, :5]).partial_fit(L[half:, :5])
    np.testing.assert_allclose(model.cond_probs_, fresh.cond_probs_, atol=1e-12)


def test_partial_fit_checks_balance_and_cardinality(votes):
    L, _, _ = votes
    with pytest.raises(ValueError, match="summing to 1, got \\[3.0, 7.0\\]"):
        LabelModel(class_balance=[3, 7]).partial_fit(L)
    with pytest.raises(ValueError, match="expected \\(2,\\) for cardinality=2"):
        LabelModel(class_balance=[0.3, 0.3, 0.4]).partial_fit(L)
    model = LabelModel(cardinality=3).partial_fit(L)
    with pytest.raises(ValueError, match="cardinality=2 differs from the 3 classes"):
        model.set_params(cardinality=2).partial_fit(L)


def test_partial_fit_classes_may_hold_the_unlabeled_mark():
    # learning_curve(exploit_incremental_learning=True) passes
    # classes=np.unique(y), which holds -1 for semi-supervised gold labels;
    # partial_fit refused the -1 that fit and partial_fit's y accept
    from sklearn.model_selection import learning_curve

    L, y, _ = make_label_matrix(300, 6, 3, random_state=0)
    semi = np.where(np.arange(300) % 2 == 0, y, -1)
    marked = LabelModel(cardinality=3).partial_fit(L, semi, classes=[-1, 0, 1, 2])
    plain = LabelModel(cardinality=3).partial_fit(L, semi)
    np.testing.assert_array_equal(marked.predict_proba(L), plain.predict_proba(L))
    with pytest.raises(ValueError, match=r"classes=\[0, 3\] must lie in 0..2"):
        LabelModel(cardinality=3).partial_fit(L, semi, classes=[0, 3])
    scores = learning_curve(
        LabelModel(cardinality=3),
        L,
        semi,
        cv=3,
        train_sizes=[0.5, 1.0],
        exploit_incremental_learning=True,
    )[2]
    assert np.all((scores > 1 / 3) & (scores <= 1))


def test_partial_fit_warns_for_classes_coded_minus_one_plus_one():
    # classes=np.unique(y) of binary labels coded -1/+1 is [-1, 1]: once -1
    # was accepted as the unlabeled mark, partial_fit dropped the -1 rows
    # without a word, where fit on the same y warns (and partial_fit had
    # refused classes=[-1, 1])
    L, y, _ = make_label_matrix(200, 5, 2, random_state=0)
    coded = 2 * y - 1
    with pytest.warns(UserWarning, match=r"classes=\[-1, 1\] holds -1 and 1 but no 0"):
        LabelModel(cardinality=2).partial_fit(L, coded, classes=[-1, 1])
    with pytest.warns(UserWarning, match="holds -1 and 1 but no 0"):
        LabelModel(cardinality=2).fit(L, coded)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LabelModel(cardinality=2).partial_fit(L, coded, classes=[-1, 0, 1])
        LabelModel(cardinality=2).partial_fit(L, y, classes=[0, 1])


@pytest.mark.parametrize("after", ["partial_fit", "fit"])
@pytest.mark.parametrize(
    "params, message",
    [
        ({"coverage": "bogus"}, "'coverage' parameter"),
        ({"prior_strength": -0.5}, "'prior_strength' parameter"),
        ({"prec_init": 1.5}, "'prec_init' parameter"),
        ({"prec_init": 0.4}, "prec_init=0.4 must exceed 1 / cardinality"),
    ],
)
def test_partial_fit_checks_parameters_set_between_calls(votes, after, params, message):
    # parameters were checked on the first partial_fit call only, while every
    # call refits from the statistics with the parameters of the moment:
    # coverage="bogus" was read as "class_conditional" for every source, and
    # a negative prior_strength or a prec_init of 1.5 gave negative
    # pseudo-counts, all without a word
    L, _, _ = votes
    model = LabelModel()
    getattr(model, after)(L[:1000])
    model.set_params(**params)
    with pytest.raises(ValueError, match=message):
        model.partial_fit(L[1000:])


def test_partial_fit_that_fails_part_way_leaves_the_model_as_it_was(votes, monkeypatch):
    # the statistics of a block were added before its pass over the rows
    # (which a dask graph's second compute, or Ctrl-C, may break off): the
    # failed block stayed counted, and the next good call gave a class
    # balance 0.17 off that of the same good calls alone
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    L, _, _ = votes
    first, second, third = L[:1000], L[1000:2000], L[2000:]
    computes = []

    def load():
        computes.append(1)
        if len(computes) == 2:
            raise OSError("the storage went away")
        return third

    flaky = da.from_delayed(dask.delayed(load)(), shape=third.shape, dtype=L.dtype)
    good = LabelModel().partial_fit(first).partial_fit(second)
    model = LabelModel().partial_fit(first)
    before = model.predict_proba(first)
    with pytest.raises(OSError, match="storage went away"):
        model.partial_fit(flaky)
    assert len(computes) == 2
    np.testing.assert_array_equal(model.predict_proba(first), before)
    model.partial_fit(second)
    np.testing.assert_array_equal(model.class_balance_, good.class_balance_)
    np.testing.assert_array_equal(model.predict_proba(L), good.predict_proba(L))
    assert model.loss_history_ == good.loss_history_

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    model = LabelModel().partial_fit(first)
    monkeypatch.setattr(LabelModel, "_pass", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(third)
    monkeypatch.undo()
    model.partial_fit(second)
    np.testing.assert_array_equal(model.predict_proba(L), good.predict_proba(L))
    assert model.loss_history_ == good.loss_history_


def test_partial_fit_refused_after_a_fit_keeps_the_fitted_model(votes):
    # partial_fit dropped the fitted source factors before refusing a model
    # with dependencies, and predict_proba then raised an AttributeError
    L, _, _ = votes
    model = LabelModel(dependencies=[(0, 1)]).fit(L)
    proba = model.predict_proba(L)
    with pytest.raises(ValueError, match="partial_fit does not support dependencies"):
        model.partial_fit(L[:100])
    np.testing.assert_array_equal(model.predict_proba(L), proba)
    # a first partial_fit call that raises on its block keeps the fit too
    model.set_params(dependencies=None)
    with pytest.raises(ValueError, match="y has 99 labels"):
        model.partial_fit(L[:100, :5], np.zeros(99, dtype=int))
    np.testing.assert_array_equal(model.predict_proba(L), proba)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_blocked_fit_after_a_fit_on_other_sources(votes, n_jobs):
    # the blocked fit's first pass read the source factors of the earlier
    # fit, which has other sources: "cannot reshape array of size 16 ..."
    L, _, _ = votes
    model = LabelModel(n_jobs=n_jobs).fit(L)
    model.set_params(chunk_rows=500).fit(L[:, :5])
    fresh = LabelModel(n_jobs=n_jobs, chunk_rows=500).fit(L[:, :5])
    np.testing.assert_array_equal(
        model.predict_proba(L[:, :5]), fresh.predict_proba(L[:, :5])
    )


def test_voters_and_score_read_dask_inputs():
    dd = pytest.importorskip("dask.dataframe")
    from sklearn_metal import MajorityClassVoter, MajorityLabelVoter

    L, y, _ = make_label_matrix(600, 5, random_state=3)
    frame = pd.DataFrame(L, columns=list("abcde"))
    ddf = dd.from_pandas(frame, npartitions=3)
    for Voter in (MajorityLabelVoter, MajorityClassVoter):
        voter = Voter().fit(ddf)
        assert voter.feature_names_in_.tolist() == list("abcde")
        assert voter.score(ddf, y) == Voter().fit(frame).score(frame, y)
    # a dask array with unknown row chunks: scored after predicting
    model = LabelModel().fit(L)
    unknown = ddf.to_dask_array()
    assert model.score(unknown, y) == model.score(L, y)


def test_verbose_prints_progress(votes, capsys):
    L, _, _ = votes
    LabelModel(verbose=1).fit(L)
    assert "iteration 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    "L, match",
    [
        (np.array([[0, 1], [-2, 0]]), r"column 0.*-2.*row 1"),
        (np.array([[0, 1], [2, 0]]), r"column 0.*value 2.*cardinality=2"),
        (np.array([[0.5, 1.0], [0.0, 1.0]]), r"non-integer value 0.5"),
        (np.array([[0.0, np.nan], [0.0, 1.0]]), r"column 1 holds NaN at row 0"),
        (np.array([[0.0, np.inf], [0.0, 1.0]]), r"column 1.*inf"),
        (np.array([0, 1, 1]), r"2-D label matrix"),
        (np.zeros((0, 3), dtype=int), r"0 sample"),
        (np.zeros((3, 0), dtype=int), r"0 feature"),
        (np.array([["a", "b"]]), r"Label matrix has dtype <U1; expected integers"),
    ],
)
def test_bad_label_matrix_raises(L, match):
    with pytest.raises(ValueError, match=match):
        LabelModel().fit(L)


def test_bad_dataframe_column_is_named():
    df = pd.DataFrame({"good": [0, 1, -1], "bad": [0, 3, 1]})
    with pytest.raises(ValueError, match=r"'bad'.*value 3"):
        LabelModel().fit(df)


def test_predict_with_other_number_of_sources_raises(votes):
    L, _, _ = votes
    model = LabelModel().fit(L)
    with pytest.raises(ValueError, match="8 features as input"):
        model.predict(L[:, :5])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(cardinality=1), "cardinality"),
        (dict(prec_init=0.4), "prec_init"),
        (dict(class_balance=[0.2, 0.2]), "class_balance"),
        (dict(class_balance=[0.2, 0.3, 0.5]), "class_balance"),
        (dict(method="sgd"), "method"),
    ],
)
def test_bad_parameters_raise(params, match):
    with pytest.raises(ValueError, match=match):
        LabelModel(**params).fit(np.array([[0, 1], [1, 1]]))


def test_gold_labels_of_other_rows_get_the_dev_set_recipe(votes):
    # Snorkel's habit fit(L, Y_dev) with a dev set of other rows: the error
    # says what y is and gives the two ways to use such a dev set
    L, y, _ = votes
    L_dev, y_dev = L[:40], y[:40]
    for fit in (LabelModel().fit, LabelModel().partial_fit):
        with pytest.raises(ValueError, match=r"Y_dev.*np\.vstack") as err:
            fit(L[40:], y_dev)
        assert str(err.value).startswith("y has 40 labels but the label matrix")
    # the recipe it gives runs as written
    model = LabelModel().fit(
        np.vstack([L[40:], L_dev]), np.r_[np.full(len(L) - 40, -1), y_dev]
    )
    assert model.score(L[40:], y[40:]) > 0.5
    fitted = LabelModel().fit(L)
    with pytest.raises(ValueError) as err:  # score's y labels the rows scored
        fitted.score(L, y[:40])
    assert "Y_dev" not in str(err.value)


def test_bad_gold_labels_raise(votes):
    L, y, _ = votes
    with pytest.raises(ValueError, match="labels but the label matrix has"):
        LabelModel().fit(L, y[:10])
    y_bad = y.copy()
    y_bad[3] = 5
    with pytest.raises(ValueError, match="row 3"):
        LabelModel().fit(L, y_bad)
    y_float = y.astype(float)
    y_float[4] = 0.5
    # scikit-learn's wording for a continuous target
    match = r"^Unknown label type: y holds the non-integer value 0.5 at row 4; "
    with pytest.raises(ValueError, match=match + r"gold labels are -1 .* or 0\.\.1\.$"):
        LabelModel().fit(L, y_float)
    for bad, shown in [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "-inf")]:
        y_float[4] = bad
        with pytest.raises(ValueError, match=rf"^y holds {shown} at row 4; expected"):
            LabelModel().fit(L, y_float)


@pytest.mark.parametrize("fmt", ["csr_matrix", "coo_array"])
def test_sparse_gold_labels_are_refused_by_name(votes, fmt):
    # a sparse matrix's implicit zeros would be class 0, not -1 (unlabeled)
    L, y, _ = votes
    y_sparse = getattr(sp, fmt)(np.where(y == 1, 1, 0)[:, None])
    model = LabelModel()
    with pytest.raises(ValueError, match=rf"^y is a sparse matrix \({fmt}\); gold"):
        model.fit(L, y_sparse)
    model.fit(L)
    with pytest.raises(ValueError, match=rf"^y is a sparse matrix \({fmt}\); gold"):
        model.score(L, y_sparse)


def test_fit_does_not_warn_on_clean_input(votes):
    L, _, _ = votes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LabelModel().fit(L)


@pytest.mark.parametrize("fmt", ["dia_matrix", "dia_array"])
def test_dia_input_is_rejected(fmt):
    # DIA cannot keep stored zeros: converting it would drop the class-0 votes.
    from sklearn_metal import MajorityLabelVoter

    L = np.array([[0, 0], [0, 0], [1, 1]])
    rows, cols = np.nonzero(L != -1)
    S = sp.coo_matrix((L[rows, cols], (rows, cols)), shape=L.shape)
    D = getattr(sp, fmt)(S)
    for model in (LabelModel(), LabelModel(chunk_rows=2), MajorityLabelVoter()):
        with pytest.raises(ValueError, match="DIA format.*class-0 votes"):
            clone(model).fit(D)
        fitted = clone(model).fit(S)
        with pytest.raises(ValueError, match="DIA format"):
            fitted.predict_proba(D)
    assert MajorityLabelVoter().fit(S).predict(S).tolist() == [0, 0, 1]


# ------------------------------------------------------------- sample_weight
def assert_same_fit(weighted, repeated, L, rtol=1e-6):
    """Two fits agree in every fitted quantity and prediction on ``L``."""
    assert weighted.n_iter_ == repeated.n_iter_
    for attr in ("class_balance_", "cond_probs_", "accuracies_", "coverages_"):
        np.testing.assert_allclose(
            getattr(weighted, attr), getattr(repeated, attr), rtol=rtol, atol=1e-12
        )
    np.testing.assert_allclose(
        weighted.loss_history_, repeated.loss_history_, rtol=rtol, atol=1e-12
    )
    np.testing.assert_allclose(
        weighted.predict_proba(L), repeated.predict_proba(L), rtol=rtol, atol=1e-12
    )


def _sparse_votes(L):
    rows, cols = np.nonzero(L != -1)
    return sp.csr_matrix((L[rows, cols], (rows, cols)), shape=L.shape)


@pytest.mark.parametrize("kind", ["dense", "sparse", "frame", "dependencies"])
@pytest.mark.parametrize("method", ["auto", "em"])
@pytest.mark.parametrize("with_gold", [False, True])
def test_integer_sample_weight_equals_repeated_rows(votes, kind, method, with_gold):
    # the in-memory fit (chunk_rows=None): weighted tallies, likelihood and
    # gold counts make a row of weight w the same as w copies of it
    L, y, _ = votes
    rng = np.random.RandomState(0)
    weights = rng.randint(0, 4, size=len(L))
    gold = np.where(rng.rand(len(L)) < 0.1, y, -1) if with_gold else None
    L_rep = L.repeat(weights, axis=0)
    gold_rep = None if gold is None else gold.repeat(weights)
    convert = {
        "sparse": _sparse_votes,
        "frame": lambda X: pd.DataFrame(X, columns=[f"lf{j}" for j in range(8)]),
    }.get(kind, lambda X: X)
    params = {"dependencies": [(0, 1)]} if kind == "dependencies" else {}
    model = LabelModel(method=method, chunk_rows=None, **params)
    weighted = clone(model).fit(convert(L), gold, sample_weight=weights)
    repeated = clone(model).fit(convert(L_rep), gold_rep)
    assert_same_fit(weighted, repeated, convert(L))


def test_zero_sample_weights_drop_rows(votes):
    L, y, _ = votes
    keep = np.random.RandomState(1).rand(len(L)) < 0.7
    gold = np.where(np.arange(len(L)) % 10 == 0, y, -1)
    for chunk_rows in (None, 701):
        model = LabelModel(chunk_rows=chunk_rows)
        weighted = clone(model).fit(L, gold, sample_weight=keep.astype(float))
        dropped = clone(model).fit(L[keep], gold[keep])
        assert_same_fit(weighted, dropped, L)


def test_unit_sample_weights_change_nothing(votes):
    L, y, _ = votes
    gold = np.where(np.arange(len(L)) % 10 == 0, y, -1)
    for chunk_rows in (None, 701):
        model = LabelModel(chunk_rows=chunk_rows)
        assert_same_fit(
            clone(model).fit(L, gold, sample_weight=np.ones(len(L))),
            clone(model).fit(L, gold),
            L,
            rtol=1e-12,
        )


@pytest.mark.parametrize("sparse", [False, True])
def test_sample_weight_equivalence_on_integer_votes(sparse):
    # scikit-learn's check_sample_weight_equivalence_on_{dense,sparse}_data,
    # on integer votes (the check itself feeds floats, which are not votes)
    from sklearn.utils import shuffle

    rng = np.random.RandomState(42)
    X = rng.randint(-1, 40, size=(15, 30))
    y = rng.randint(0, 3, size=15)
    weights = rng.randint(0, 5, size=15)
    X_rep, y_rep = X.repeat(weights, axis=0), y.repeat(weights)
    X_w, y_w, weights = shuffle(X, y, weights, random_state=0)
    if sparse:  # abstains unstored (csr_array(X) would drop the class-0 votes)
        X_w, X_rep = (sp.csr_array(np.where(A == -1, 0, A + 1)) for A in (X_w, X_rep))
        X_w.data -= 1
        X_rep.data -= 1
        assert (X_w.data == 0).any()
    repeated = LabelModel(cardinality=40).fit(X_rep, y_rep)
    weighted = LabelModel(cardinality=40).fit(X_w, y_w, sample_weight=weights)
    np.testing.assert_allclose(
        weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-7
    )
    np.testing.assert_array_equal(weighted.predict(X), repeated.predict(X))


@pytest.mark.parametrize(
    "make_weights, match",
    [
        (lambda n: np.ones(n - 1), "sample_weight has 2999 weights but the label"),
        (lambda n: np.arange(n) - 5.0, "negative weight -5.0 at row 0"),
        (lambda n: np.where(np.arange(n) == 7, np.nan, 1.0), "sample_weight.*NaN"),
        (lambda n: np.full(n, np.inf), "sample_weight.*infinity"),
        (lambda n: np.zeros(n), "at least one non-zero"),
        (lambda n: np.ones((n, 2)), "1D array"),
    ],
)
def test_bad_sample_weight_raises(votes, make_weights, match):
    L, _, _ = votes
    for model in (LabelModel(), LabelModel(chunk_rows=701)):
        with pytest.raises(ValueError, match=match):
            clone(model).fit(L, sample_weight=make_weights(len(L)))
    with pytest.raises(ValueError, match=match):
        LabelModel().partial_fit(L, sample_weight=make_weights(len(L)))


def test_sample_weight_as_list_and_series(votes):
    L, _, _ = votes
    weights = np.random.RandomState(2).randint(1, 3, size=len(L))
    expected = LabelModel().fit(L, sample_weight=weights)
    for given in (weights.tolist(), pd.Series(weights)):
        np.testing.assert_array_equal(
            LabelModel().fit(L, sample_weight=given).cond_probs_, expected.cond_probs_
        )


@pytest.mark.parametrize("coverage", ["auto", "independent", "class_conditional"])
def test_source_parameters_polarity_lists_the_classes_voted(coverage):
    from sklearn_metal.analysis import lf_summary

    L, _, _ = make_label_matrix(500, 3, cardinality=3, random_state=0)
    L[L[:, 0] == 2, 0] = -1  # source 0 never votes class 2
    L[L[:, 1] == 0, 1] = -1  # source 1 never votes class 0
    expected = [tuple(np.unique(col[col >= 0]).tolist()) for col in L.T]
    model = LabelModel(cardinality=3, coverage=coverage).fit(L)
    polarity = model.get_source_parameters()["polarity"].tolist()
    assert polarity == expected
    assert polarity == lf_summary(L)["polarity"].tolist()
    # the same through partial_fit, block by block
    streamed = LabelModel(cardinality=3, coverage=coverage)
    for block in np.array_split(L, 3):
        streamed.partial_fit(block)
    assert streamed.get_source_parameters()["polarity"].tolist() == expected


# ------------------------------------------------------- input-validation fixes
def _small_votes():
    return np.array([[0, 1], [1, 1], [0, -1], [1, 0]] * 25)


@pytest.mark.parametrize("chunk_rows", ["auto", None])
def test_fit_rejects_sample_weights_whose_sum_overflows(chunk_rows):
    L = _small_votes()
    weights = np.full(len(L), 1e307)
    assert np.all(np.isfinite(weights))
    with np.errstate(over="ignore"):
        assert not np.isfinite(weights.sum())
    with pytest.raises(ValueError, match="sample_weight sums to inf"):
        LabelModel(chunk_rows=chunk_rows).fit(L, sample_weight=weights)


def test_chunked_fit_with_huge_sample_weights_stays_finite():
    # The packed passes take the class-0 tallies as vote totals less the
    # other classes' tallies. With row weights of 1e15 that difference
    # rounded below 0 by more than the prior's pseudo-counts, and the fit
    # came out NaN (class_balance_ [nan, nan]).
    L = np.array([[1, 0], [1, 1], [-1, 0], [1, 1], [1, 0], [-1, 1], [1, 1]])
    weights = np.full(len(L), 1e15)
    chunked = LabelModel(chunk_rows=1000).fit(L, sample_weight=weights)
    in_memory = LabelModel(chunk_rows=None).fit(L, sample_weight=weights)
    assert np.all(np.isfinite(chunked.class_balance_))
    np.testing.assert_allclose(
        chunked.predict_proba(L), in_memory.predict_proba(L), atol=1e-9
    )


def test_partial_fit_rejects_running_weight_total_that_overflows():
    L = _small_votes()
    with pytest.raises(ValueError, match="sample_weight sums to inf"):
        LabelModel().partial_fit(L, sample_weight=np.full(len(L), 1e307))
    # each block's sum is finite, but the running total is not
    weights = np.zeros(len(L))
    weights[0] = 1e308
    model = LabelModel().partial_fit(L, sample_weight=weights)
    before = model.class_balance_.copy()
    with pytest.raises(ValueError, match="sum past the float64 range"):
        model.partial_fit(L, sample_weight=weights)
    # the failed call left the model as it was
    np.testing.assert_array_equal(model.class_balance_, before)
    assert np.all(np.isfinite(model.predict_proba(L)))


def test_bsr_input_is_rejected():
    # a BSR block's zero padding would read as class-0 votes
    C = sp.csr_matrix(([0, 1], ([0, 1], [0, 1])), shape=(2, 2))
    B = C.tobsr(blocksize=(2, 2))
    for chunk_rows in ["auto", None, 1]:
        with pytest.raises(ValueError, match="BSR format"):
            LabelModel(chunk_rows=chunk_rows).fit(B)
    model = LabelModel().fit(C)
    with pytest.raises(ValueError, match="BSR format"):
        model.predict_proba(B)


@pytest.mark.parametrize(
    "dtype, match", [(complex, "Complex data"), (bool, "dtype bool")]
)
def test_sparse_complex_and_bool_input_is_rejected_as_dense_is(dtype, match):
    L = _small_votes()
    rows, cols = np.nonzero(L != -1)
    S = sp.csr_matrix((L[rows, cols], (rows, cols)), shape=L.shape).astype(dtype)
    for X in [S, S.toarray()]:
        for chunk_rows in ["auto", None, 10]:
            with pytest.raises(ValueError, match=match):
                LabelModel(chunk_rows=chunk_rows).fit(X)


@pytest.mark.parametrize("fmt", ["lil", "dok"])
def test_large_lil_and_dok_input_fit_as_csr(fmt):
    # 20000 rows: the default chunk_rows="auto" counts the votes to decide
    # on packing, which must not read lil/dok's `data` as votes
    L, _, _ = make_label_matrix(20_000, 10, 2, random_state=0)
    rows, cols = np.nonzero(L != -1)
    csr = sp.csr_matrix((L[rows, cols], (rows, cols)), shape=L.shape)
    X = csr.asformat(fmt)
    assert X.nnz == csr.nnz
    expected = LabelModel().fit(csr)
    model = LabelModel().fit(X)
    np.testing.assert_array_equal(model.class_balance_, expected.class_balance_)
    np.testing.assert_array_equal(model.cond_probs_, expected.cond_probs_)
    np.testing.assert_array_equal(model.predict_proba(X), expected.predict_proba(csr))


def test_score_rejects_negative_sample_weight():
    L = _small_votes()
    model = LabelModel().fit(L)
    y = model.predict(L)
    weights = np.ones(len(L))
    weights[0] = -1.0
    with pytest.raises(ValueError, match="[Nn]egative"):
        model.score(L, y, sample_weight=weights)


def test_class_balance_within_tolerance_is_renormalized():
    L = _small_votes()
    given = np.array([0.5, 0.500004])
    assert np.isclose(given.sum(), 1.0) and given.sum() != 1.0
    model = LabelModel(class_balance=given).fit(L)
    np.testing.assert_array_equal(model.class_balance_, given / given.sum())
    assert model.class_balance_.sum() == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(ValueError, match="summing to 1"):
        LabelModel(class_balance=[0.5, 0.6]).fit(L)


def test_class_balance_series_is_read_by_class_not_position():
    # y.value_counts(normalize=True) lists the most frequent class first: read
    # by position, a balance of 80% class 1 became 80% class 0
    L, y, _ = make_label_matrix(
        300, 3, class_balance=[0.2, 0.8], coverages=0.5, random_state=0
    )
    counts = pd.Series(y).value_counts(normalize=True)
    assert counts.index.tolist() == [1, 0]
    model = LabelModel(class_balance=counts).fit(L)
    expected = LabelModel(class_balance=counts.sort_index().to_numpy()).fit(L)
    np.testing.assert_array_equal(model.class_balance_, [counts[0], counts[1]])
    np.testing.assert_array_equal(model.predict_proba(L), expected.predict_proba(L))
    # a float y's counts are indexed by 0.0, 1.0
    floats = pd.Series(y.astype(float)).value_counts(normalize=True)
    model = LabelModel(class_balance=floats).fit(L)
    np.testing.assert_array_equal(model.class_balance_, [counts[0], counts[1]])
    for index in (["ham", "spam"], [1, 2], [0, 0]):
        given = pd.Series([0.3, 0.7], index=index)
        with pytest.raises(ValueError, match=r"index must be the classes 0\.\.1"):
            LabelModel(class_balance=given).fit(L)
        with pytest.raises(ValueError, match=r"index must be the classes 0\.\.1"):
            LabelModel(class_balance=given).partial_fit(L)


def test_gold_labels_coded_minus_one_plus_one_warn():
    # -1 marks an unlabeled row, so binary gold labels coded -1/+1 silently
    # lost every negative row: score was the accuracy on positives alone and
    # MajorityClassVoter's balance put all its mass on class 1
    L, y, _ = make_label_matrix(200, 4, random_state=0)
    plus_minus = 2 * y - 1
    model = LabelModel().fit(L)
    message = f"the {np.sum(y == 0)} rows with y == -1 are left out"
    with pytest.warns(UserWarning, match=message):
        assert model.score(L, plus_minus) == model.score(L[y == 1], y[y == 1])
    with pytest.warns(UserWarning, match=r"pass \(y \+ 1\) // 2"):
        LabelModel().fit(L, plus_minus)
    with pytest.warns(UserWarning, match="holds -1 and 1 but no 0"):
        MajorityClassVoter().fit(L, plus_minus)
    with pytest.warns(UserWarning, match="holds -1 and 1 but no 0"):
        lf_summary(L, plus_minus)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.score(L, (plus_minus + 1) // 2)
        model.score(L, np.where(y == 0, -1, 0))  # class 0 labeled: no -1/+1
        LabelModel(cardinality=3).fit(L, plus_minus)
        # a block of rows may lack class 0 by chance
        LabelModel().partial_fit(L, plus_minus)


def test_minus_one_plus_one_warning_points_at_the_callers_line():
    # the warning's stacklevel pointed at scikit-learn's fit wrapper (base.py),
    # its parameter validation or analysis.py, not at the user's call
    from sklearn_metal.analysis import lf_empirical_accuracies

    L, y, _ = make_label_matrix(200, 4, random_state=0)
    plus_minus = 2 * y - 1
    model = LabelModel().fit(L)
    calls = [
        lambda: LabelModel().fit(L, plus_minus),
        lambda: model.score(L, plus_minus),
        lambda: MajorityClassVoter().fit(L, plus_minus),
        lambda: lf_summary(L, plus_minus),
        lambda: lf_empirical_accuracies(L, plus_minus),
    ]
    for call in calls:
        with pytest.warns(UserWarning, match="holds -1 and 1 but no 0") as record:
            call()
        assert [w.filename for w in record] == [__file__]


def test_subnormal_prior_strength_is_rejected():
    L = np.array([[1, 0], [1, 1], [-1, 0], [1, -1], [-1, 1]] * 4)
    with pytest.raises(ValueError, match="prior_strength"):
        LabelModel(prior_strength=5e-324).fit(L)
    # the smallest normal float still gives probabilities
    tiny = LabelModel(prior_strength=np.finfo(float).tiny).fit(L)
    proba = tiny.predict_proba(np.array([[0, 0]]))
    assert np.all(np.isfinite(proba)) and proba.sum() == pytest.approx(1.0)


def test_one_dimensional_input_gets_the_reshape_message_on_every_path():
    L = np.array([0, 1, 1, 0] * 25)
    for model in (LabelModel(), LabelModel(chunk_rows=5)):
        with pytest.raises(ValueError, match=r"Reshape your data"):
            model.fit(L)
    with pytest.raises(ValueError, match=r"Reshape your data"):
        LabelModel().partial_fit(L)


def test_n_jobs_zero_is_rejected_on_every_path():
    L = np.array([[0, 1], [1, 1], [0, -1], [1, 0]] * 25)
    for chunk_rows in ("auto", 10):
        with pytest.raises(ValueError, match="'n_jobs' parameter"):
            LabelModel(n_jobs=0, chunk_rows=chunk_rows).fit(L)


def test_voters_take_sample_weight_like_the_label_model():
    from sklearn_metal import MajorityClassVoter, MajorityLabelVoter

    L, y, _ = make_label_matrix(300, 4, cardinality=3, random_state=0)
    w = np.random.RandomState(1).randint(0, 4, size=len(L))
    rows = np.repeat(np.arange(len(L)), w)
    for gold in (None, np.where(np.arange(len(L)) % 3 == 0, y, -1)):
        weighted = MajorityClassVoter(cardinality=3).fit(L, gold, sample_weight=w)
        repeated = MajorityClassVoter(cardinality=3).fit(
            L[rows], None if gold is None else gold[rows]
        )
        np.testing.assert_allclose(weighted.class_balance_, repeated.class_balance_)
    voter = MajorityLabelVoter(cardinality=3)
    np.testing.assert_array_equal(
        voter.fit(L, sample_weight=w).predict_proba(L),
        clone(voter).fit(L).predict_proba(L),
    )
    with pytest.raises(ValueError, match="Negative values"):
        MajorityClassVoter(cardinality=3).fit(L, sample_weight=-np.ones(len(L)))
    # so they swap with LabelModel in a weighted search
    from sklearn.pipeline import Pipeline

    search = GridSearchCV(
        Pipeline([("lm", LabelModel(cardinality=3))]),
        {
            "lm": [
                LabelModel(cardinality=3),
                MajorityClassVoter(cardinality=3),
                MajorityLabelVoter(cardinality=3),
            ]
        },
        cv=3,
    ).fit(L, y, lm__sample_weight=w)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_the_label_matrix_is_no_routed_metadata():
    import sklearn

    from sklearn_metal import MajorityLabelVoter, MultitaskLabelModel, TaskGraph

    with sklearn.config_context(enable_metadata_routing=True):
        estimators = [
            LabelModel(),
            MajorityLabelVoter(),
            MultitaskLabelModel(TaskGraph({"a": 2})),
        ]
        for est in estimators:
            routing = est.get_metadata_routing()
            for method in ("fit", "predict", "predict_proba", "score"):
                assert "L" not in getattr(routing, method).requests
        assert "L" not in LabelModel().get_metadata_routing().partial_fit.requests
        assert not hasattr(LabelModel(), "set_predict_request")


def test_class_voter_ignores_gold_labels_of_rows_weighted_zero():
    from sklearn_metal import MajorityClassVoter

    # weights read as counts: weight 0 drops the row, so the only gold label
    # is gone and the balance comes from the votes, as with the row removed
    L = np.array([[0], [1], [1], [1]])
    y = np.array([0, -1, -1, -1])
    weighted = MajorityClassVoter().fit(L, y, sample_weight=[0, 1, 1, 1])
    dropped = MajorityClassVoter().fit(L[1:], y[1:])
    np.testing.assert_allclose(weighted.class_balance_, dropped.class_balance_)
    assert weighted.predict(L).tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize(
    "fmt",
    ["csr_matrix", "csc_matrix", "coo_matrix", "lil_matrix", "dok_matrix", "csr_array"],
)
def test_sparse_made_from_dense_votes_is_refused(fmt):
    # scipy.sparse's csr_matrix(L) keeps a dense L's -1s and drops its zeros,
    # the class-0 votes: the model then put 0.99997 on class 1 for every row
    from sklearn_metal import MajorityLabelVoter, MultitaskLabelModel, TaskGraph
    from sklearn_metal.multitask import Votes

    L, _, _ = make_label_matrix(3_000, 6, 2, coverages=0.5, random_state=3)
    trap = getattr(sp, fmt)(L)
    match = r"stores \d+ abstains \(-1\) but not one vote for class 0"
    for chunk_rows in (None, 500):
        with pytest.raises(ValueError, match=match):
            LabelModel(chunk_rows=chunk_rows).fit(trap)
        with pytest.raises(ValueError, match=match):
            LabelModel(chunk_rows=chunk_rows).partial_fit(trap)
        with pytest.raises(ValueError, match=match):
            LabelModel(chunk_rows=chunk_rows).fit(L).predict_proba(trap)
    with pytest.raises(ValueError, match=match):
        lf_summary(trap)
    with pytest.raises(ValueError, match=match):
        MajorityLabelVoter().fit(L).predict(trap)
    with pytest.raises(ValueError, match=match):
        MultitaskLabelModel(TaskGraph({"a": 2}), source_tasks=["a"] * 6).fit(trap)
    with pytest.raises(ValueError, match=match):
        Votes(trap)
    # built from the votes (abstains unstored), or with some -1s stored next to
    # class-0 votes, it is read as the dense L
    rows, cols = np.nonzero(L != -1)
    good = sp.coo_matrix((L[rows, cols], (rows, cols)), shape=L.shape).asformat(
        trap.format
    )
    dense = LabelModel().fit(L)
    np.testing.assert_allclose(
        LabelModel().fit(good).predict_proba(good), dense.predict_proba(L), atol=1e-10
    )
    a_rows, a_cols = np.nonzero(L == -1)
    mixed = sp.coo_matrix(
        (
            np.r_[L[rows, cols], np.full(a_rows.size // 2, -1)],
            (
                np.r_[rows, a_rows[::2][: a_rows.size // 2]],
                np.r_[cols, a_cols[::2][: a_rows.size // 2]],
            ),
        ),
        shape=L.shape,
    )
    np.testing.assert_allclose(
        LabelModel().fit(mixed).predict_proba(mixed),
        dense.predict_proba(L),
        atol=1e-10,
    )


def test_sparse_rows_that_store_every_entry_are_read_without_class_0_votes():
    # stored -1 entries abstain; a matrix that stores every entry dropped no
    # class-0 vote, yet a row to predict without one (here [1, -1, 1, -1])
    # was refused as if made by csr_matrix(L) of a dense L
    L, _, _ = make_label_matrix(300, 4, random_state=0)

    def every_entry(votes):
        rows, cols = np.indices(votes.shape).reshape(2, -1)
        return sp.csr_matrix((votes.ravel(), (rows, cols)), shape=votes.shape)

    model = LabelModel().fit(every_entry(L))
    row = np.array([[1, -1, 1, -1]])
    np.testing.assert_allclose(
        model.predict_proba(every_entry(row)), model.predict_proba(row), atol=1e-12
    )
    with pytest.raises(ValueError, match="but not one vote for class 0"):
        model.predict_proba(sp.csr_matrix(np.array([[1, -1, 0, -1]])))


def test_cross_val_predict_proba_of_semi_supervised_labels_says_why_it_fails():
    # cross_val_predict(method="predict_proba") label-encodes y before fit, so
    # -1, 0, 1 reach LabelModel as 0, 1, 2: "y holds the value 2" named a
    # value the user never passed
    from sklearn.model_selection import cross_val_predict, cross_validate

    L, y, _ = make_label_matrix(300, 4, random_state=0)
    semi = np.where(np.arange(300) % 4 == 0, y, -1)
    with pytest.raises(ValueError, match="value 2 at row .* label-encodes y"):
        cross_val_predict(LabelModel(), L, semi, method="predict_proba", cv=3)
    # the recipe the message gives: each fold's model on its own test rows
    cv = cross_validate(
        LabelModel(), L, semi, cv=3, return_estimator=True, return_indices=True
    )
    for model, test in zip(cv["estimator"], cv["indices"]["test"], strict=True):
        train = np.setdiff1d(np.arange(300), test)
        direct = LabelModel().fit(L[train], semi[train]).predict_proba(L[test])
        np.testing.assert_allclose(model.predict_proba(L[test]), direct)
    # a value out of range for other reasons gets no such hint
    with pytest.raises(ValueError, match=r"cardinality=2\)\.$"):
        LabelModel().fit(L, np.where(y == 1, 2, -1))


@pytest.mark.parametrize(
    "ensemble", ["VotingClassifier", "StackingClassifier", "BaggingClassifier"]
)
def test_ensemble_label_encoding_of_semi_supervised_labels_is_named(ensemble):
    # scikit-learn's ensembles label-encode y before fitting their members, as
    # cross_val_predict does: -1, 0, 1 reach LabelModel as 0, 1, 2, and the
    # message named cross_val_predict only, which the user never called
    from sklearn import ensemble as ensembles

    L, y, _ = make_label_matrix(300, 4, random_state=0)
    semi = np.where(np.arange(300) % 4 == 0, y, -1)
    if ensemble == "BaggingClassifier":
        model = ensembles.BaggingClassifier(LabelModel(), n_estimators=2)
    else:
        members = [("lm", LabelModel()), ("mv", MajorityClassVoter())]
        model = getattr(ensembles, ensemble)(members)
    with pytest.raises(
        ValueError, match=f"value 2 at row .* label-encodes y.*{ensemble}"
    ):
        model.fit(L, semi)
    # the labeled rows alone fit
    labeled = semi != -1
    assert model.fit(L[labeled], semi[labeled]).score(L, y) > 0.5


def test_booleans_in_an_object_label_matrix_are_refused():
    # df.to_numpy() of a frame with a flag column is an object array whose
    # True/False converted to votes for classes 1/0 (coverage 1.0), silently,
    # where the frame itself (a bool column) is refused
    frame = pd.DataFrame({"lf": [0, 1, -1, 0], "fired": [True, False, True, False]})
    L = frame.to_numpy()
    assert L.dtype == object
    match = r"column 1 holds the boolean True at row 0"
    with pytest.raises(ValueError, match=match):
        LabelModel().fit(L)
    with pytest.raises(ValueError, match=match):
        lf_summary(L)
    with pytest.raises(ValueError, match=r"column 'fired' \(index 1\) has dtype bool"):
        LabelModel().fit(frame)
    # in a block of rows, the row of the whole matrix is named
    late = np.array([[0, 1], [1, 1], [0, -1], [1, np.True_]], dtype=object)
    with pytest.raises(ValueError, match=r"boolean (np\.True_|True) at row 3"):
        LabelModel(chunk_rows=2).fit(late)
    # object arrays of integer votes are read as before
    ints = np.array([[0, 1], [1, 1], [0, -1], [1, 0]], dtype=object)
    np.testing.assert_allclose(
        LabelModel().fit(ints).predict_proba(ints),
        LabelModel().fit(ints.astype(int)).predict_proba(ints.astype(int)),
    )


def test_booleans_in_a_list_of_rows_are_refused():
    # numpy makes a list of rows mixing booleans and ints an int array, so
    # True/False were read as votes for classes 1/0 without a word
    rows = [[0, True], [1, -1], [-1, False]]
    assert np.asarray(rows).dtype.kind == "i"
    match = r"column 1 holds the boolean True at row 0"
    with pytest.raises(ValueError, match=match):
        LabelModel().fit(rows)
    with pytest.raises(ValueError, match=match):
        LabelModel().partial_fit(rows)
    with pytest.raises(ValueError, match=match):
        LabelModel().fit([[0, 1], [1, 1]]).predict_proba(rows)
    with pytest.raises(ValueError, match=match):
        lf_summary(rows)
    with pytest.raises(ValueError, match=match):
        MultitaskLabelModel(TaskGraph({"a": 2}), ["a", "a"]).fit(rows)
    # a list of numpy rows, one of them boolean, the same
    with pytest.raises(ValueError, match=r"column 0 holds the boolean False at row 1"):
        LabelModel().fit([np.array([0, 1]), np.array([False, True])])
    # lists of integer votes are read as before
    ints = [[0, 1], [1, 1], [0, -1], [1, 0]]
    np.testing.assert_allclose(
        LabelModel().fit(ints).predict_proba(ints),
        LabelModel().fit(np.array(ints)).predict_proba(np.array(ints)),
    )


@pytest.mark.parametrize("coverage", ["class_conditional", "independent"])
@pytest.mark.parametrize(
    ("dependencies", "chunk_rows"), [(None, None), (None, 2), ([(0, 1)], None)]
)
def test_huge_prior_strength_gives_the_prior_not_nan(
    coverage, dependencies, chunk_rows
):
    # prior_strength * (pseudo-counts of size prior_strength) overflowed to
    # inf / inf = NaN for 1e300: class_balance_, cond_probs_ and every
    # probability came out NaN. With a prior this strong every source's
    # factor is the prior's P(vote a | y) (prec_init on the diagonal), so the
    # posterior is the balance times those factors.
    L, _, _ = make_label_matrix(200, 4, 2, coverages=0.7, random_state=0)
    model = LabelModel(
        prior_strength=1e300,
        coverage=coverage,
        dependencies=dependencies,
        chunk_rows=chunk_rows,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model.fit(L)
        proba = model.predict_proba(L)
    for name in ("class_balance_", "cond_probs_", "loss_history_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    prior = np.array([[0.7, 0.3], [0.3, 0.7]])  # prior[a, y], prec_init=0.7
    expected = np.tile(model.class_balance_, (len(L), 1))
    # a dependency group's joint table tends to the same factor for every
    # class (its pseudo-counts follow the classes' total mass): no evidence
    independent_sources = range(2, 4) if dependencies else range(4)
    for j in independent_sources:
        voted = L[:, j] >= 0
        expected[voted] *= prior[L[voted, j]]
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, expected, rtol=1e-9)


def test_class_voter_refuses_weights_whose_sum_overflows():
    from sklearn_metal import MajorityClassVoter

    # weights of 1e308 on four rows: the counts summed to inf and
    # class_balance_ came out NaN (predicting class 0 for every row) with a
    # numpy RuntimeWarning; LabelModel refuses the same weights
    L = np.array([[0, 1], [1, 1], [0, -1], [1, 0]])
    w = np.full(len(L), 1e308)
    for y in (None, np.array([0, 1, 1, 1])):
        for model in (MajorityClassVoter(), LabelModel()):
            with pytest.raises(ValueError, match="sample_weight sums to inf"):
                model.fit(L, y, sample_weight=w)
    # weights up to the float64 range are counts as any others
    w = np.array([1e300, 1e300, 3e300, 1e300])
    voter = MajorityClassVoter().fit(L, np.array([0, 1, 1, 1]), sample_weight=w)
    np.testing.assert_allclose(voter.class_balance_, [1 / 6, 5 / 6])
    # float32 weights whose float32 sum would overflow but float64's does not
    w = np.full(len(L), 1e38, dtype=np.float32)
    voter = MajorityClassVoter().fit(L, np.array([0, 1, 1, 1]), sample_weight=w)
    np.testing.assert_allclose(voter.class_balance_, [1 / 4, 3 / 4])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_first_partial_fit_ignores_a_class_balance_left_by_an_earlier_fit():
    # a fit with dependencies keeps no partial-fit statistics, so a partial_fit
    # after it (dependencies dropped) is a first call, but it started from the
    # class_balance_ the earlier fit left: predictions 0.67 away from the same
    # partial_fit calls on a fresh model
    L, _, _ = make_label_matrix(3000, 6, random_state=0)
    A, B = L[:1000], L[1000:2000]
    fresh = LabelModel().partial_fit(A).partial_fit(B)
    dependent = LabelModel(dependencies=[(0, 1)]).fit(L[:, ::-1])
    dependent.set_params(dependencies=None).partial_fit(A).partial_fit(B)
    np.testing.assert_array_equal(dependent.class_balance_, fresh.class_balance_)
    np.testing.assert_array_equal(dependent.predict_proba(L), fresh.predict_proba(L))


def test_fit_that_raises_leaves_the_model_as_it_was(monkeypatch):
    # fit read the votes (resetting n_features_in_ and the feature names) and
    # dropped the partial-fit statistics before y was checked: after a refused
    # fit on 12 sources, predict on the model's own 6 raised 'X has 6
    # features, but LabelModel is expecting 12', a fresh model looked fitted
    # (predict raised AttributeError, not NotFittedError), and partial_fit no
    # longer went on from the earlier fit
    from sklearn.exceptions import NotFittedError

    L, y, _ = make_label_matrix(3000, 6, random_state=0)
    A, B = L[:1000], L[1000:2000]
    wide = np.hstack([A, A])

    model = LabelModel()
    with pytest.raises(ValueError, match="y has 5 labels"):
        model.fit(wide, y[:5])
    assert not [k for k in vars(model) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        model.predict(A)

    reference = LabelModel().fit(A).partial_fit(B)
    model.fit(A)
    expected = model.predict_proba(L)
    with pytest.raises(ValueError, match="y has 5 labels"):
        model.fit(wide, y[:5])
    np.testing.assert_array_equal(model.predict_proba(L), expected)
    # Ctrl-C in the middle of a fit
    monkeypatch.setattr(
        LabelModel,
        "_estimate_factors",
        lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt),
    )
    with pytest.raises(KeyboardInterrupt):
        model.fit(B)
    monkeypatch.undo()
    np.testing.assert_array_equal(model.predict_proba(L), expected)
    model.partial_fit(B)
    np.testing.assert_array_equal(model.predict_proba(L), reference.predict_proba(L))


@pytest.mark.parametrize("voter", ["MajorityLabelVoter", "MajorityClassVoter"])
def test_voter_fit_that_raises_leaves_the_voter_as_it_was(voter):
    # the votes reset n_features_in_ and the feature names before y and
    # sample_weight were checked: a failed fit left a fitted voter expecting
    # the failed call's columns ('X has 2 features, but ... is expecting 4'),
    # and an unfitted one looking fitted (predict raised AttributeError)
    from sklearn.exceptions import NotFittedError

    import sklearn_metal

    cls = getattr(sklearn_metal, voter)
    L = pd.DataFrame([[0, 1], [1, 1], [0, -1], [1, 0]], columns=["a", "b"])
    y = np.array([0, 1, 1, -1])
    model = cls()
    with pytest.raises(ValueError, match="y has 2 labels"):
        model.fit(L, y[:2])
    assert not [k for k in vars(model) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        model.predict(L)
    model.fit(L, y)
    before = dict(vars(model))
    proba = model.predict_proba(L)
    wide = np.hstack([L, L])
    for bad in (
        lambda: model.fit(wide, y[:2]),
        lambda: model.fit(wide, y, sample_weight=-np.ones(4)),
        lambda: model.fit(L.rename(columns=str.upper), np.full(4, 5)),
    ):
        with pytest.raises(ValueError):
            bad()
        assert vars(model).keys() == before.keys()
        for key, value in before.items():
            assert vars(model)[key] is value, key
        np.testing.assert_array_equal(model.predict_proba(L), proba)


def test_documented_crowd_long_format_snippet(tmp_path, monkeypatch):
    # docs/label_model.md's crowd recipe, on a small answer.csv in the working
    # directory: one column per worker, -1 where a worker did not answer
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "label_model.md").read_text()
    (code,) = [
        b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "pivot" in b
    ]
    L, _, _ = make_label_matrix(300, 8, 4, coverages=0.3, random_state=0)
    item, worker = np.nonzero(L != -1)
    answers = pd.DataFrame(
        {
            "question": item + 100,
            "worker": [f"w{j}" for j in worker],
            "answer": L[item, worker],
        }
    )
    answers.sample(frac=1, random_state=0).to_csv(tmp_path / "answer.csv", index=False)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(code, namespace)
    voted = (L != -1).any(axis=1)
    wide = namespace["L"]
    np.testing.assert_array_equal(wide.index, np.flatnonzero(voted) + 100)
    np.testing.assert_array_equal(wide.to_numpy(), L[voted])
    expected = LabelModel(cardinality=4).fit(L[voted]).predict(L[voted])
    np.testing.assert_array_equal(namespace["labels"].to_numpy(), expected)


@pytest.mark.parametrize("coverage", ["auto", "independent"])
def test_a_source_without_training_votes_counts_at_prec_init(coverage):
    # as documented: NaN accuracy, and its votes move the posterior odds by
    # prec_init / (1 - prec_init), those of its prior
    L, _, _ = make_label_matrix(2000, 4, random_state=0)
    L = np.c_[L, np.full(2000, -1)]
    model = LabelModel(coverage=coverage, prec_init=0.8).fit(L)
    assert np.isnan(model.accuracies_[-1])
    prior = model.predict_proba(np.full((1, 5), -1))[0]
    for vote in (0, 1):
        row = np.array([[-1, -1, -1, -1, vote]])
        post = model.predict_proba(row)[0]
        ratio = (post[vote] / post[1 - vote]) / (prior[vote] / prior[1 - vote])
        assert ratio == pytest.approx(0.8 / 0.2, rel=1e-3)
