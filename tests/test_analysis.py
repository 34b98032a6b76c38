import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from sklearn_metal import LabelModel, lf_summary
from sklearn_metal.analysis import (
    lf_conflicts,
    lf_coverages,
    lf_empirical_accuracies,
    lf_overlaps,
    lf_polarities,
)

# Rows: 2 votes (agree), 3 votes (1 vs 0), 1 vote, 2 votes (agree).
L = np.array(
    [
        [0, 0, -1],
        [1, 0, 1],
        [-1, 1, -1],
        [1, -1, 1],
    ]
)
Y = np.array([0, 1, 1, -1])

POLARITIES = [(0, 1), (0, 1), (1,)]
COVERAGES = [3 / 4, 3 / 4, 2 / 4]
OVERLAPS = [3 / 4, 2 / 4, 2 / 4]
OVERLAPS_NORMALIZED = [3 / 3, 2 / 3, 2 / 2]
CONFLICTS = [1 / 4, 1 / 4, 1 / 4]
CONFLICTS_NORMALIZED = [1 / 3, 1 / 3, 1 / 2]
CORRECT = [2, 2, 1]
INCORRECT = [0, 1, 0]
ACCURACIES = [2 / 2, 2 / 3, 1 / 1]


def _sparse(L, fmt="csr"):
    """Sparse twin of a dense label matrix: only votes stored, zeros explicit."""
    rows, cols = np.nonzero(L != -1)
    S = sp.coo_matrix((L[rows, cols], (rows, cols)), shape=L.shape).asformat(fmt)
    assert S.nnz == len(rows)
    return S


def _all_formats(L):
    return {
        "dense": L,
        "list": L.tolist(),
        "float": L.astype(np.float64),
        "csr": _sparse(L, "csr"),
        "csc": _sparse(L, "csc"),
        "coo": _sparse(L, "coo"),
        "lil": _sparse(L, "lil"),
        "dok": _sparse(L, "dok"),
        "csr_array": sp.csr_array(_sparse(L, "csr")),
        "dataframe": pd.DataFrame(L, columns=list("abcdef")[: L.shape[1]]),
    }


def test_hand_computed_statistics():
    assert lf_polarities(L) == POLARITIES
    assert_allclose(lf_coverages(L), COVERAGES)
    assert_allclose(lf_overlaps(L), OVERLAPS)
    assert_allclose(lf_overlaps(L, normalize_by_coverage=True), OVERLAPS_NORMALIZED)
    assert_allclose(lf_conflicts(L), CONFLICTS)
    assert_allclose(lf_conflicts(L, normalize_by_coverage=True), CONFLICTS_NORMALIZED)
    assert_allclose(lf_empirical_accuracies(L, Y), ACCURACIES)


def test_polarities_are_sorted_tuples_of_ints():
    L3 = np.array([[2, -1], [0, -1], [2, 1]])
    polarities = lf_polarities(L3, cardinality=4)
    assert polarities == [(0, 2), (1,)]
    assert all(type(c) is int for p in polarities for c in p)


def test_conflicts_need_a_different_class_not_just_another_vote():
    # Three sources agree on row 0; on row 1 sources 0 and 1 agree, 2 differs.
    L3 = np.array([[1, 1, 1], [0, 0, 1]])
    assert_allclose(lf_overlaps(L3), [1.0, 1.0, 1.0])
    assert_allclose(lf_conflicts(L3), [0.5, 0.5, 0.5])


def test_summary_columns_and_values():
    summary = lf_summary(L, Y)
    assert list(summary.columns) == [
        "polarity",
        "coverage",
        "overlaps",
        "conflicts",
        "correct",
        "incorrect",
        "empirical_accuracy",
    ]
    assert list(summary.index) == ["source_0", "source_1", "source_2"]
    assert summary.index.name == "source"
    assert summary["polarity"].tolist() == POLARITIES
    assert_allclose(summary["coverage"], COVERAGES)
    assert_allclose(summary["overlaps"], OVERLAPS)
    assert_allclose(summary["conflicts"], CONFLICTS)
    assert_array_equal(summary["correct"], CORRECT)
    assert_array_equal(summary["incorrect"], INCORRECT)
    assert_allclose(summary["empirical_accuracy"], ACCURACIES)


def test_summary_without_gold_has_only_label_matrix_columns():
    summary = lf_summary(L)
    assert list(summary.columns) == ["polarity", "coverage", "overlaps", "conflicts"]


@pytest.mark.parametrize(
    "fmt",
    ["list", "float", "csr", "csc", "coo", "lil", "dok", "csr_array", "dataframe"],
)
def test_input_formats_match_dense(fmt):
    L_fmt = _all_formats(L)[fmt]
    assert lf_polarities(L_fmt) == POLARITIES
    assert_allclose(lf_coverages(L_fmt), COVERAGES)
    assert_allclose(lf_overlaps(L_fmt), OVERLAPS)
    assert_allclose(
        lf_conflicts(L_fmt, normalize_by_coverage=True), CONFLICTS_NORMALIZED
    )
    assert_allclose(lf_empirical_accuracies(L_fmt, Y), ACCURACIES)
    expected = lf_summary(L, Y)
    summary = lf_summary(L_fmt, Y)
    if fmt == "dataframe":
        assert list(summary.index) == ["a", "b", "c"]
        summary.index = expected.index
    pd.testing.assert_frame_equal(summary, expected)


def test_sparse_stored_minus_one_is_an_abstain():
    S = _sparse(L).tolil()
    S[2, 2] = -1  # stored, but still an abstain
    S = S.tocsr()
    assert S.nnz == np.count_nonzero(L != -1) + 1
    pd.testing.assert_frame_equal(lf_summary(S, Y), lf_summary(L, Y))


def test_gold_labels_ignore_unlabeled_rows():
    # Only row 1 is labeled: source 1 votes 0 there, the others vote 1.
    y = np.array([-1, 1, -1, -1])
    # (binary labels with -1 and 1 but no 0 may be -1/+1 classes: a warning)
    with pytest.warns(UserWarning, match="the 3 rows with y == -1 are left out"):
        assert_allclose(lf_empirical_accuracies(L, y), [1.0, 0.0, 1.0])
    # No labeled row at all: no accuracy for anyone.
    assert np.isnan(lf_empirical_accuracies(L, np.full(4, -1))).all()
    with pytest.warns(UserWarning, match="holds -1 and 1 but no 0"):
        summary = lf_summary(L, pd.Series(y))
    assert_array_equal(summary["correct"], [1, 0, 1])
    assert_array_equal(summary["incorrect"], [0, 1, 0])


def test_gold_labels_may_name_a_class_no_source_votes():
    # No source votes class 2, but the inferred cardinality covers y.
    assert_allclose(lf_empirical_accuracies(L, [2, 1, 1, -1]), [1 / 2, 1 / 3, 1 / 1])


def test_source_that_never_votes():
    L_silent = np.column_stack([L, np.full(4, -1)])
    assert lf_polarities(L_silent)[3] == ()
    for fmt, L_fmt in _all_formats(L_silent).items():
        assert_allclose(lf_coverages(L_fmt)[:3], COVERAGES, err_msg=fmt)
        assert lf_coverages(L_fmt)[3] == 0.0
        assert lf_overlaps(L_fmt)[3] == 0.0
        assert lf_overlaps(L_fmt, normalize_by_coverage=True)[3] == 0.0
        assert lf_conflicts(L_fmt, normalize_by_coverage=True)[3] == 0.0
        assert np.isnan(lf_empirical_accuracies(L_fmt, Y)[3])
    summary = lf_summary(L_silent, Y)
    assert summary.loc["source_3", "polarity"] == ()
    assert summary.loc["source_3", ["coverage", "overlaps", "conflicts"]].eq(0).all()
    assert summary.loc["source_3", "correct"] == 0
    assert np.isnan(summary.loc["source_3", "empirical_accuracy"])


def test_no_source_votes_at_all():
    summary = lf_summary(np.full((3, 2), -1), y=[0, 1, -1])
    assert summary["polarity"].tolist() == [(), ()]
    assert_allclose(summary["coverage"], [0.0, 0.0])
    assert summary["empirical_accuracy"].isna().all()


def _fitted_model(L_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LabelModel(cardinality=2).fit(L_fit)


def test_learned_accuracy_column():
    model = _fitted_model(L)
    summary = lf_summary(L, Y, label_model=model)
    assert list(summary.columns)[-1] == "learned_accuracy"
    assert_allclose(summary["learned_accuracy"], model.accuracies_)
    assert list(summary.index) == ["source_0", "source_1", "source_2"]
    # A sparse L over the same sources gives the same summary.
    pd.testing.assert_frame_equal(lf_summary(_sparse(L), Y, label_model=model), summary)


def test_learned_accuracy_uses_the_model_source_names():
    df = pd.DataFrame(L, columns=["a", "b", "c"])
    model = _fitted_model(df)
    by_frame = lf_summary(df, label_model=model)
    by_array = lf_summary(L, label_model=model)
    assert list(by_frame.index) == ["a", "b", "c"]
    pd.testing.assert_frame_equal(by_array, by_frame)
    assert list(lf_summary(L, source_names=["x", "y", "z"]).index) == ["x", "y", "z"]


def test_summary_rejects_a_model_over_other_sources():
    model = _fitted_model(L)
    with pytest.raises(ValueError, match="2 sources.*fitted on 3 sources"):
        lf_summary(L[:, :2], label_model=model)
    named = _fitted_model(pd.DataFrame(L, columns=["a", "b", "c"]))
    with pytest.raises(ValueError, match="columns of L.*differ"):
        lf_summary(pd.DataFrame(L, columns=["b", "a", "c"]), label_model=named)
    # With a numpy L, source_names must name the model's sources too.
    names = list(named.feature_names_in_)
    other = [f"other_{s}" for s in names]
    expected = re.escape(f"source_names {other} differ from the sources the ")
    with pytest.raises(ValueError, match=expected + r".*" + re.escape(str(names))):
        lf_summary(L, label_model=named, source_names=other)
    with pytest.raises(ValueError, match="differ from the sources"):
        lf_summary(L, label_model=named, source_names=names[::-1])
    summary = lf_summary(L, label_model=named, source_names=names)
    pd.testing.assert_frame_equal(summary, lf_summary(L, label_model=named))
    with pytest.raises(ValueError, match="cardinality=3.*cardinality=2"):
        lf_summary(L, label_model=model, cardinality=3)
    # The model's cardinality validates L.
    with pytest.raises(ValueError, match="value 2"):
        lf_summary(np.array([[0, 1, 2]]), label_model=model)


def test_summary_rejects_unfitted_or_foreign_models():
    with pytest.raises(NotFittedError):
        lf_summary(L, label_model=LabelModel())
    other = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(ValueError, match="without accuracies_"):
        lf_summary(L, label_model=other)
    with pytest.raises(ValueError, match="label_model"):
        lf_summary(L, label_model="not a model")


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[0, -2]]), "column 1 holds the value -2 at row 0"),
        (np.array([[0.5, 1]]), "non-integer value 0.5"),
        (np.array([[0, np.nan]]), "holds NaN"),
        (np.array([0, 1]), "2-D"),
        (np.array([["a", "b"]]), "dtype"),
        (np.zeros((0, 3), dtype=int), "(?i)empty|no rows"),
        (pd.DataFrame({"a": [0], "b": pd.Series(["x"], dtype=object)}), "'b'"),
        (sp.csr_matrix(np.array([[0, -3]])), "-3"),
    ],
)
def test_invalid_label_matrix(bad, match):
    for func in (lf_polarities, lf_coverages, lf_overlaps, lf_conflicts, lf_summary):
        with pytest.raises(ValueError, match=match):
            func(bad)
    with pytest.raises(ValueError, match=match):
        lf_empirical_accuracies(bad, np.zeros(max(bad.shape[0], 1), dtype=int))


def test_invalid_string_dataframe_column():
    with pytest.raises(ValueError, match="'b'"):
        lf_summary(pd.DataFrame({"a": [0], "b": pd.array(["x"], dtype="string")}))


def test_cardinality_validates_votes():
    assert lf_polarities(np.array([[0], [1]]), cardinality=2) == [(0, 1)]
    with pytest.raises(ValueError, match="value 2 at row 1.*cardinality=2"):
        lf_polarities(np.array([[0], [2]]), cardinality=2)
    with pytest.raises(ValueError, match="cardinality"):
        lf_polarities(L, cardinality=1)
    # source_names name the offending column.
    with pytest.raises(ValueError, match="'b'"):
        lf_summary(np.array([[0, 5]]), cardinality=2, source_names=["a", "b"])


def test_invalid_gold_labels():
    with pytest.raises(ValueError, match="3 labels but the label matrix has 4 rows"):
        lf_empirical_accuracies(L, [0, 1, 1])
    with pytest.raises(ValueError, match="3 labels but the label matrix has 4 rows"):
        lf_summary(L, [0, 1, 1])
    with pytest.raises(ValueError, match="value -2 at row 0"):
        lf_empirical_accuracies(L, [-2, 1, 1, 0])
    with pytest.raises(ValueError, match="value 2 at row 0"):
        lf_summary(L, [2, 1, 1, 0], cardinality=2)
    with pytest.raises(ValueError, match=r"y must be 1-D .* got shape \(4, 2\)"):
        lf_empirical_accuracies(L, np.zeros((4, 2)))


def test_summary_rejects_gold_labels_beyond_the_inferred_cardinality():
    # L votes 0 and 1 only: the cardinality inferred from it is 2, and a gold
    # label 5 is an error naming the value and its row, not an incorrect vote.
    with pytest.raises(
        ValueError,
        match=r"y holds the value 5 at row 1; expected -1 \(unlabeled\) or a "
        r"class in 0\.\.1 \(cardinality=2, inferred from the votes in L",
    ):
        lf_summary(L, [0, 5, 1, -1])
    with pytest.raises(ValueError, match="value 2 at row 2.*pass cardinality"):
        lf_summary(pd.DataFrame(L, columns=list("abc")), pd.Series([0, 1, 2, -1]))
    with pytest.raises(ValueError, match="value 5 at row 1.*cardinality=2"):
        lf_summary(L, [0, 5, 1, -1], label_model=_fitted_model(L))
    # -1 still means unlabeled, and an explicit cardinality admits a class that
    # no source votes.
    summary = lf_summary(L, [0, 1, 2, -1], cardinality=3)
    assert_array_equal(summary["correct"], [2, 1, 1])
    assert_array_equal(summary["incorrect"], [0, 2, 0])
    assert_array_equal(lf_summary(L, [-1, -1, -1, -1])["correct"], [0, 0, 0])


def test_invalid_source_names():
    with pytest.raises(ValueError, match="2 names.*3 sources"):
        lf_summary(L, source_names=["a", "b"])
    with pytest.raises(ValueError, match="source_names"):
        lf_summary(L, source_names="abc")
    with pytest.raises(ValueError, match="differ from the column names"):
        lf_summary(
            pd.DataFrame(L, columns=["a", "b", "c"]), source_names=["x", "y", "z"]
        )
    # Matching names are accepted.
    summary = lf_summary(
        pd.DataFrame(L, columns=["a", "b", "c"]), source_names=["a", "b", "c"]
    )
    assert list(summary.index) == ["a", "b", "c"]


def test_normalize_by_coverage_must_be_boolean():
    with pytest.raises(ValueError, match="normalize_by_coverage"):
        lf_overlaps(L, normalize_by_coverage="yes")


def test_plots_draw_summary_and_calibration():
    from sklearn_metal import LabelModel
    from sklearn_metal.analysis import plot_calibration, plot_lf_summary
    from sklearn_metal.datasets import make_label_matrix

    L, y, _ = make_label_matrix(500, 4, random_state=0)
    model = LabelModel().fit(L)
    ax = plot_lf_summary(L, y, label_model=model)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-2:] == ["empirical_accuracy", "learned_accuracy"]
    assert len(ax.patches) == 5 * 4
    ax = plot_calibration(y, model.predict_proba(L), n_bins=5)
    x, freq = ax.lines[1].get_data()
    assert np.all((freq >= 0) & (freq <= 1)) and np.all(np.diff(x) > 0)
    with pytest.raises(ValueError, match=r"got shapes \(500,\) and \(10, 2\)"):
        plot_calibration(y, model.predict_proba(L)[:10])


def test_plot_lf_summary_names_itself_in_parameter_errors():
    # it was validated only by the lf_summary it calls, whose name the error gave
    from sklearn_metal.analysis import plot_lf_summary

    with pytest.raises(ValueError, match="'cardinality' parameter of plot_lf_summary"):
        plot_lf_summary(L, cardinality=1)


def _calibration_curve(ax):
    x, freq = ax.lines[1].get_data()
    return np.asarray(x), np.asarray(freq)


def test_plot_calibration_leaves_out_unlabeled_rows():
    from sklearn_metal.analysis import plot_calibration

    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    # The -1 rows would be misses if counted: bin 1 would have frequency 1/3.
    ax = plot_calibration([0, 1, 0, -1, -1], proba, n_bins=2)
    x, freq = _calibration_curve(ax)
    assert_allclose(x, [0.25, 0.8])
    assert_allclose(freq, [0.0, 1.0])
    # Same curve as without those rows.
    ax = plot_calibration([0, 1, 0], proba[:3], n_bins=2)
    assert_allclose(_calibration_curve(ax)[1], [0.0, 1.0])


def test_plot_calibration_multiclass_uses_the_argmax_accuracy():
    from sklearn_metal.analysis import plot_calibration

    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.9, 0, 0.1]])
    ax = plot_calibration([0, 2, -1, 0], proba, n_bins=2)
    x, freq = _calibration_curve(ax)
    assert_allclose(x, [(0.7 + 0.8 + 0.9) / 3])
    assert_allclose(freq, [2 / 3])


@pytest.mark.parametrize(
    "y_true",
    [
        np.array(["ham", "spam", "ham", "spam"]),
        pd.Series(["ham", "spam", "ham", "spam"]),
        [True, False, True, False],
    ],
)
def test_plot_calibration_asks_to_encode_non_integer_labels(y_true):
    from sklearn_metal.analysis import plot_calibration

    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    with pytest.raises(ValueError, match=r"class indices 0\.\.k-1 .*Encode the labels"):
        plot_calibration(y_true, proba)


def test_plot_calibration_with_a_string_classifier_after_encoding():
    from sklearn_metal.analysis import plot_calibration

    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2))
    y = np.where(X[:, 0] + 0.3 * rng.normal(size=200) > 0, "spam", "ham")
    clf = LogisticRegression().fit(X, y)
    encoded = np.searchsorted(clf.classes_, y)  # the fix the error suggests
    ax = plot_calibration(encoded, clf.predict_proba(X), n_bins=5)
    x, freq = _calibration_curve(ax)
    # Well separated classes: high predicted spam probability, mostly spam.
    assert freq[-1] > 0.9 and freq[0] < 0.1
    assert np.all(np.diff(x) > 0)


@pytest.mark.parametrize(
    "y_true, message",
    [
        ([0, 1, 2, 1], r"value 2 at row 2; expected -1 \(unlabeled\) or a column "),
        ([0, 1, 0.5, 1], "value 0.5 at row 2"),
        ([0, 1, np.nan, 1], "value nan at row 2"),
        ([-2, 1, 0, 1], "value -2 at row 0"),
        ([-1, -1, -1, -1], "no labeled row"),
        ([0, 1, 0], "shape"),
    ],
)
def test_plot_calibration_rejects_bad_labels(y_true, message):
    from sklearn_metal.analysis import plot_calibration

    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    with pytest.raises(ValueError, match=message):
        plot_calibration(y_true, proba)


def test_plot_calibration_rejects_bad_proba_and_bins():
    from sklearn_metal.analysis import plot_calibration

    with pytest.raises(ValueError, match="1 column"):
        plot_calibration([0, 0], np.ones((2, 1)))
    with pytest.raises(ValueError, match="non-finite value at row 1"):
        plot_calibration([0, 1], np.array([[0.5, 0.5], [np.nan, 0.5]]))
    with pytest.raises(ValueError, match="n_bins"):
        plot_calibration([0, 1], np.array([[0.5, 0.5], [0.5, 0.5]]), n_bins=0)


@pytest.mark.parametrize("fmt", ["dia_matrix", "dia_array"])
def test_lf_summary_rejects_dia_input(fmt):
    # DIA cannot keep stored zeros: its class-0 votes would be lost silently.
    L = np.array([[0, 0], [0, 0], [1, 1]])
    S = getattr(sp, fmt)(sp.coo_matrix(L))
    with pytest.raises(ValueError, match="DIA format.*class-0 votes"):
        lf_summary(S)
    with pytest.raises(ValueError, match="DIA format"):
        lf_coverages(S)


def test_unsigned_votes_holding_the_dtype_maximum_are_rejected():
    L = np.array([[0, 1, -1], [1, -1, 1], [0, 0, 1]])
    for bad in (L.astype(np.uint8), sp.csr_matrix(L.astype(np.uint16))):
        with pytest.raises(ValueError, match="unsigned.*cannot hold -1"):
            lf_summary(bad)
        with pytest.raises(ValueError, match="unsigned.*cannot hold -1"):
            lf_empirical_accuracies(bad, [0, 1, -1])
    with pytest.raises(ValueError, match="column 'b'.*cannot hold -1"):
        lf_polarities(pd.DataFrame(L.astype(np.uint8), columns=["a", "b", "c"]))
    # a nullable UInt8 column too (its 255 was read as class 255)
    nullable = pd.DataFrame(L.astype(np.uint8), columns=["a", "b", "c"])
    with pytest.raises(ValueError, match="column 'b'.*uint8.*cannot hold -1"):
        lf_summary(nullable.astype("UInt8"))
    # a torch tensor or dask array of them too (255 was read as class 255)
    torch = pytest.importorskip("torch")
    da = pytest.importorskip("dask.array")
    for bad in (torch.tensor(L.astype(np.uint8)), da.from_array(L.astype(np.uint8))):
        with pytest.raises(ValueError, match="uint8 and holds 255.*cannot hold -1"):
            lf_polarities(bad)
    # unsigned votes without the wrapped -1 are valid
    valid = np.abs(L).astype(np.uint8)
    pd.testing.assert_frame_equal(lf_summary(valid), lf_summary(np.abs(L)))


def test_lf_summary_tuple_source_names():
    L = np.array([[0, 0, -1], [1, 0, 1], [-1, 1, -1], [1, -1, 1]])
    names = [("a", 1), ("b", 1), ("c", 1)]
    expected = lf_summary(L)
    for columns in (names, pd.MultiIndex.from_tuples(names)):
        summary = lf_summary(pd.DataFrame(L, columns=columns))
        assert list(summary.index) == names
        np.testing.assert_array_equal(summary.to_numpy(), expected.to_numpy())
    summary = lf_summary(L, source_names=names)
    assert list(summary.index) == names
    model = LabelModel(cardinality=2).fit(L)
    summary = lf_summary(pd.DataFrame(L, columns=names), label_model=model)
    assert list(summary.index) == names
    np.testing.assert_allclose(summary["learned_accuracy"], model.accuracies_)


def test_bsr_input_is_rejected():
    # a BSR block's zero padding would read as class-0 votes
    C = sp.csr_matrix(([0, 1], ([0, 1], [0, 1])), shape=(2, 2))
    assert_allclose(lf_coverages(C), [0.5, 0.5])
    with pytest.raises(ValueError, match="BSR format"):
        lf_coverages(C.tobsr(blocksize=(2, 2)))


@pytest.mark.parametrize(
    "dtype, match", [(complex, "Complex data"), (bool, "dtype bool")]
)
@pytest.mark.parametrize(
    "func", [lf_coverages, lf_polarities, lf_overlaps, lf_conflicts, lf_summary]
)
def test_sparse_complex_and_bool_input_is_rejected_as_dense_is(func, dtype, match):
    L = np.array([[0, 1], [1, 1], [0, -1], [1, 0]] * 25)
    rows, cols = np.nonzero(L != -1)
    S = sp.csr_matrix((L[rows, cols], (rows, cols)), shape=L.shape).astype(dtype)
    for X in [S, S.toarray()]:
        with pytest.raises(ValueError, match=match):
            func(X)


def test_huge_class_values_need_no_huge_keys_or_tables():
    # a vote of 2**62 would overflow a source * k + class key
    L = np.array([[0, 2**62], [1, -1]])
    assert lf_polarities(L) == [(0, 1), (2**62,)]
    # a class of 10**5 would need a (k, k) table of 74 GiB
    L = np.array([[0, 10**5], [1, -1], [2, 2]])
    small = np.array([[0, 3], [1, -1], [2, 2]])  # the same overlap pattern
    assert_allclose(lf_overlaps(L), lf_overlaps(small))
    assert_allclose(lf_conflicts(L), lf_conflicts(small))
    summary = lf_summary(L)
    assert summary["polarity"].tolist() == [(0, 1, 2), (2, 10**5)]
    assert_allclose(summary["overlaps"], lf_overlaps(small))


def test_plot_calibration_rejects_probabilities_outside_0_1():
    from sklearn_metal.analysis import plot_calibration

    proba = np.array([[0.9, 0.1], [1.2, -0.2], [0.6, 0.4]])
    with pytest.raises(ValueError, match=r"holds 1.2 at row 1, column 0; .* \[0, 1\]"):
        plot_calibration([0, 1, 0], proba)


def test_majority_vote_counts_need_no_k_squared_table():
    from sklearn_metal import MajorityLabelVoter

    rng = np.random.RandomState(0)
    k, m = 1000, 300
    L = rng.randint(-1, k, size=(3, m))
    proba = MajorityLabelVoter(cardinality=k).fit(L).predict_proba(L)
    for row, p in zip(L, proba, strict=True):
        counts = np.bincount(row[row >= 0], minlength=k)
        top = counts == counts.max()
        assert_allclose(p, top / top.sum())


def test_object_arrays_of_numbers_infer_the_cardinality_from_their_votes():
    # check_label_matrix reads an object array of numbers as floats; inferring
    # k must read it the same way, not fall back to k = 2 and reject class 3
    obj = np.array([[0, 3], [2, -1], [1, 3]], dtype=object)
    dense = obj.astype(np.int64)
    assert lf_polarities(obj) == lf_polarities(dense) == [(0, 1, 2), (3,)]
    assert_allclose(lf_coverages(obj), lf_coverages(dense))
    assert_allclose(lf_overlaps(obj), lf_overlaps(dense))
    assert_allclose(lf_conflicts(obj), lf_conflicts(dense))
    y = np.array([0, 2, 3], dtype=object)
    assert_allclose(lf_empirical_accuracies(obj, y), [2 / 3, 1 / 2])
    pd.testing.assert_frame_equal(lf_summary(obj, y), lf_summary(dense, y.astype(int)))
    # entries that are no numbers still get check_label_matrix's error
    with pytest.raises(ValueError, match="could not convert string to float: 'a'"):
        lf_coverages(np.array([[0, "a"]], dtype=object))


def test_messages_print_a_bad_class_in_full():
    from sklearn_metal.analysis import plot_calibration

    # ":g" printed 1234567 as 1.23457e+06, a value that is nowhere in the input
    with pytest.raises(ValueError, match=r"column 1 holds the value 1234567 at row 1"):
        lf_summary(np.array([[0, 1], [1, 1234567]]), cardinality=2)
    with pytest.raises(ValueError, match=r"y holds the value 1234567 at row 1"):
        lf_summary(np.array([[0, 1], [1, 0]]), y=[0, 1234567], cardinality=2)
    with pytest.raises(ValueError, match=r"y holds the value 1234567 at row 1"):
        lf_summary(np.array([[0, 1], [1, 0]]), y=[0.0, 1234567.0], cardinality=2)
    with pytest.raises(ValueError, match=r"y_true holds the value 1234567 at row 0"):
        plot_calibration([1234567, 0], np.array([[0.5, 0.5], [0.5, 0.5]]))


def test_huge_gold_classes_are_compared_as_integers():
    # 2**61 + 1 is a class here (the largest vote is 2**61 + 1); a float64 copy
    # of y rounded it to 2**61 and rejected it, or would count it as 2**61
    big = 2**61
    L = np.array([[0, big + 1], [big, -1], [-1, big + 1]])
    y = np.array([0, big, big + 1])
    assert_allclose(lf_empirical_accuracies(L, y), [1.0, 1 / 2])
    summary = lf_summary(L, y)
    assert summary["correct"].tolist() == [2, 1]
    assert summary["incorrect"].tolist() == [0, 1]
    assert summary["polarity"].tolist() == [(0, big), (big + 1,)]
    with pytest.raises(ValueError, match=f"y holds the value {big + 2} at row 2"):
        lf_summary(L, np.array([0, big, big + 2]))


def test_classes_beyond_int64_are_rejected_not_wrapped():
    # a uint64 vote of 2**63 + 5 wrapped to a negative int64 and gave source 0
    # the polarity (0, 0) and source 1 none
    L = np.array([[0, 2**63 + 5]], dtype=np.uint64)
    for X in (L, sp.csr_matrix(L)):
        with pytest.raises(ValueError, match=r"column 1 holds the value .* int64"):
            lf_polarities(X)
    with pytest.raises(ValueError, match=r"column 1 holds the value"):
        lf_polarities(L.astype(np.float64))
    assert lf_polarities(np.array([[0, 2**63 - 1]], dtype=np.uint64)) == [
        (0,),
        (2**63 - 1,),
    ]


def test_distinct_pairs_match_a_set_of_pairs():
    # The keyed path sorts the keys and drops repeats (np.unique hashes them
    # from numpy 2.3, 70x slower at 6e6 keys): same pairs, same order.
    from sklearn_metal.analysis import _distinct_pairs

    rng = np.random.default_rng(0)
    a = rng.integers(0, 50, 2000)
    b = rng.integers(0, 7, 2000)
    got_a, got_b = _distinct_pairs(a, b)
    expected = sorted(set(zip(a.tolist(), b.tolist(), strict=True)))
    assert list(zip(got_a.tolist(), got_b.tolist(), strict=True)) == expected
    keys = np.unique(a * 7 + b)  # the former implementation
    assert_array_equal(got_a, keys // 7)
    assert_array_equal(got_b, keys % 7)


def test_conflicts_of_many_classes_match_a_row_by_row_count():
    # n * k above the per-row table's limit: the distinct (row, class) pairs
    # count each row's classes.
    rng = np.random.default_rng(1)
    n, m, k = 30_000, 3, 50
    L = rng.integers(0, k, size=(n, m))
    L[rng.random((n, m)) > 0.3] = -1
    classes = [set(row[row >= 0].tolist()) for row in L]
    conflicted = np.array([len(c) > 1 for c in classes])
    expected = [np.count_nonzero((L[:, j] >= 0) & conflicted) / n for j in range(m)]
    assert n * k > 4 * np.count_nonzero(L >= 0) + 2**20  # the pairs path
    assert_allclose(lf_conflicts(L), expected, rtol=0, atol=0)
    assert_allclose(lf_summary(L, cardinality=k)["conflicts"], expected, rtol=0, atol=0)


def test_analysis_reads_a_dask_dataframe_with_its_column_names():
    # a dask DataFrame failed with AttributeError "'FromPandas' object has no
    # attribute 'to_numpy'" (a dask array was read into memory)
    dd = pytest.importorskip("dask.dataframe")
    L = pd.DataFrame(
        [[0, 0, -1], [1, 0, 1], [-1, 1, -1], [1, -1, 1]], columns=["a", "b", "c"]
    )
    y = np.array([0, 1, 1, 1])
    ddf = dd.from_pandas(L, npartitions=2)
    pd.testing.assert_frame_equal(lf_summary(ddf, y), lf_summary(L, y))
    assert lf_polarities(ddf) == lf_polarities(L)
