"""Polars DataFrames are read as pandas ones: their column names name the
sources (or the raw rows' fields), and the results equal numpy input's."""

import numpy as np
import pytest

from sklearn_metal import (
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
    lf_summary,
    task_labels,
)

pl = pytest.importorskip("polars")

NAMES = ["kw_a", "kw_b", "kw_c", "kw_d"]


@pytest.fixture
def votes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=300)
    L = np.where(rng.random((300, 4)) < 0.8, y[:, None], 1 - y[:, None])
    L[rng.random((300, 4)) < 0.3] = -1
    return L, y, pl.DataFrame({name: L[:, j] for j, name in enumerate(NAMES)})


@pytest.mark.parametrize(
    "estimator",
    [
        LabelModel(),
        LabelModel(chunk_rows=64),
        MajorityLabelVoter(),
        MajorityClassVoter(),
    ],
    ids=["LabelModel", "LabelModel-blocks", "MajorityLabelVoter", "MajorityClass"],
)
def test_label_models_read_polars_as_numpy_with_names(votes, estimator):
    L, y, frame = votes
    model = estimator.fit(frame)
    expected = type(estimator)(**estimator.get_params()).fit(L)
    assert list(model.feature_names_in_) == NAMES
    # (blocks of a frame and of an array take different paths: equal to 1e-10)
    np.testing.assert_allclose(
        model.predict_proba(frame), expected.predict_proba(L), rtol=0, atol=1e-10
    )
    assert model.score(frame, y) == pytest.approx(expected.score(L, y))
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- other"):
        model.predict(frame.rename({"kw_a": "other"}))


def test_multitask_label_model_reads_polars_with_names(votes):
    L, _, frame = votes
    graph = TaskGraph({"a": 2, "b": 2})
    model = MultitaskLabelModel(graph, source_tasks=["a", "a", "b", "b"])
    expected = [p.copy() for p in model.fit(L).predict_proba(L)]
    model.fit(frame)
    assert list(model.feature_names_in_) == NAMES
    for got, want in zip(model.predict_proba(frame), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_lf_summary_names_sources_by_polars_columns(votes):
    L, y, frame = votes
    summary = lf_summary(frame, y, label_model=LabelModel().fit(frame))
    assert list(summary.index) == NAMES
    expected = lf_summary(L, y, label_model=LabelModel().fit(L))
    np.testing.assert_array_equal(summary.to_numpy(), expected.to_numpy())


def test_polars_null_vote_is_named():
    frame = pl.DataFrame({"kw_a": [0, None, 1], "kw_b": [1, 1, -1]})
    match = r"column 'kw_a' \(index 0\) holds NaN at row 1"
    for fit in (LabelModel().fit, MajorityLabelVoter().fit, lf_summary):
        with pytest.raises(ValueError, match=match):
            fit(frame)


@labeling_function()
def positive(x):
    return 1 if x.score > 0 else -1


@labeling_function()
def mentions_cat(x):
    return 0 if "cat" in x.text else -1


@pytest.mark.parametrize("output", ["default", "pandas", "polars"])
def test_lf_applier_gives_polars_rows_attribute_access(output):
    frame = pl.DataFrame(
        {"score": [1.5, -2.0, 0.5], "text": ["a cat", "dog", "cat and dog"]}
    )
    applier = LFApplier([positive, mentions_cat])
    if output != "default":
        applier.set_output(transform=output)
    votes = applier.fit_transform(frame)
    assert list(applier.feature_names_in_) == ["score", "text"]
    np.testing.assert_array_equal(np.asarray(votes), [[1, 0], [-1, -1], [1, 0]])
    if output == "polars":
        assert isinstance(votes, pl.DataFrame)
        assert votes.columns == ["positive", "mentions_cat"]
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- words"):
        applier.transform(frame.rename({"text": "words"}))


def test_multitask_reads_polars_task_labels_as_pandas(votes):
    # a polars y reached pandas' DataFrame.to_numpy(dtype=, na_value=):
    # TypeError: DataFrame.to_numpy() got an unexpected keyword argument 'dtype'
    L, y, _ = votes
    X = np.column_stack([y, L]).astype(np.float32)
    b = np.where(np.arange(len(y)) % 3 == 0, -1, 1 - y)
    labels = task_labels(a=Votes(L), b=b)
    frame = pl.DataFrame({c: labels[c].to_numpy() for c in labels.columns})

    def net():
        return MultitaskClassifier(
            {"a": 2, "b": 2}, max_epochs=2, verbose=0, random_state=0
        )

    hard = task_labels(a=y, b=b)
    hard_frame = pl.DataFrame({c: hard[c].to_numpy() for c in hard.columns})
    model = net().fit(X, hard_frame)
    expected = net().fit(X, hard)
    for got, want in zip(
        model.predict_proba(X), expected.predict_proba(X), strict=True
    ):
        np.testing.assert_array_equal(got, want)
    assert model.score(X, hard_frame) == expected.score(X, hard)
    trainer = MultitaskTrainer(net()).fit(X, frame)
    reference = MultitaskTrainer(net()).fit(X, labels)
    for got, want in zip(
        trainer.predict_proba(X), reference.predict_proba(X), strict=True
    ):
        np.testing.assert_array_equal(got, want)
    assert trainer.score(X, frame) == reference.score(X, labels)


def test_lf_applier_polars_output_of_a_dask_dataframe():
    # polars could not wrap the lazy dask array: "TypeError: DataFrame
    # constructor called with unsupported type 'Array' for the `data` parameter"
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    frame = pd.DataFrame(
        {"score": [1.5, -2.0, 0.5, 3.0], "text": ["a cat", "dog", "cat", "bird"]}
    )
    applier = LFApplier([positive, mentions_cat]).set_output(transform="polars")
    votes = applier.fit_transform(dd.from_pandas(frame, npartitions=2))
    assert isinstance(votes, pl.DataFrame)
    assert votes.columns == ["positive", "mentions_cat"]
    np.testing.assert_array_equal(
        votes.to_numpy(), LFApplier([positive, mentions_cat]).fit_transform(frame)
    )
