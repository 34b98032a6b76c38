import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from sklearn_metal import LabelingFunction, LabelModel, LFApplier, labeling_function
from sklearn_metal.datasets import load_youtube_spam, youtube_spam_lfs


@labeling_function()
def has_link(x):
    return 1 if "http" in x.text else -1


@labeling_function(resources={"max_len": 15})
def short(x, max_len):
    return 0 if len(x.text) < max_len else -1


def _frame():
    return pd.DataFrame(
        {"text": ["nice song", "visit http://x", "love it", "free http://y now"]}
    )


def test_decorator_resources_and_preprocessors():
    assert isinstance(short, LabelingFunction) and short.name == "short"
    lower = LabelingFunction(
        "upper_spam", lambda x: 1 if "SPAM" in x else -1, pre=[str.upper]
    )
    assert lower("spam here") == 1 and lower("ham") == -1


@pytest.mark.parametrize(
    "rows",
    [
        _frame(),
        [{"text": t} for t in _frame()["text"]],
    ],
)
def test_applier_on_frames_and_dicts(rows):
    L = LFApplier([has_link, short]).fit_transform(rows)
    np.testing.assert_array_equal(L, [[-1, 0], [1, 0], [-1, 0], [1, -1]])


def test_applier_on_texts_and_arrays():
    lf = LabelingFunction("q", lambda x: 1 if "?" in x else -1)
    L = LFApplier([lf]).fit_transform(["why?", "fine"])
    np.testing.assert_array_equal(L, [[1], [-1]])
    pos = LabelingFunction("pos", lambda x: 1 if x[0] > 0 else 0)
    L = LFApplier([pos]).fit_transform(np.array([[1.0, 2.0], [-1.0, 0.0]]))
    np.testing.assert_array_equal(L, [[1], [0]])


def test_pandas_output_and_pipeline_with_label_model():
    applier = LFApplier([has_link, short])
    applier.set_output(transform="pandas")
    L = applier.fit_transform(_frame())
    assert list(L.columns) == ["has_link", "short"]
    pipe = Pipeline(
        [("lfs", LFApplier([has_link, short])), ("label_model", LabelModel())]
    )
    pipe.set_output(transform="pandas")
    pipe.fit(_frame())
    proba = pipe.predict_proba(_frame())
    assert proba.shape == (4, 2)
    assert list(pipe[-1].feature_names_in_) == ["has_link", "short"]


def test_failing_lf_names_lf_and_row():
    @labeling_function()
    def fragile(x):
        return 1 if x.text.split()[2] == "now" else -1

    with pytest.raises(ValueError, match=r"'fragile' raised IndexError.*row 0"):
        LFApplier([has_link, fragile]).fit_transform(_frame())
    applier = LFApplier([has_link, fragile], on_error="abstain")
    with pytest.warns(UserWarning, match="recorded as abstains.*'fragile' on row 0"):
        L = applier.fit_transform(_frame())
    _, failures = applier.apply(_frame())
    assert [(name, row) for name, row, _ in failures] == [
        ("fragile", 0),
        ("fragile", 1),
        ("fragile", 2),
    ]
    np.testing.assert_array_equal(L[:, 1], [-1, -1, -1, 1])


def test_bad_lf_outputs_and_lists():
    bad = LabelingFunction("bad", lambda x: "spam")
    with pytest.raises(ValueError, match="'bad' returned 'spam' on row 0"):
        LFApplier([bad]).fit_transform(["a"])
    with pytest.raises(ValueError, match="unique"):
        LFApplier([has_link, has_link]).fit(None)
    with pytest.raises(ValueError, match="not a LabelingFunction"):
        LFApplier([lambda x: 1]).fit(None)


def test_parallel_and_progress_match_serial(capsys):
    data = load_youtube_spam()
    lfs = youtube_spam_lfs()
    serial = LFApplier(lfs).fit_transform(data.frame)
    parallel = LFApplier(lfs, n_jobs=2, progress=True).fit_transform(data.frame)
    np.testing.assert_array_equal(serial, parallel)
    assert "labeling functions" in capsys.readouterr().err


def test_youtube_spam_lfs_beat_majority_vote():
    data = load_youtube_spam()
    L = LFApplier(youtube_spam_lfs()).fit_transform(data.frame)
    train, test = data.split == "train", data.split == "test"
    model = LabelModel().fit(L[train])
    assert model.score(L[test], data.target[test]) > 0.85
