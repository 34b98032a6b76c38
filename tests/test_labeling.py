import functools
import io
import pickle
import subprocess
import sys
import types
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
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


def test_pyarrow_table_rows_have_attribute_access():
    # a pyarrow Table's rows reached the functions as object arrays:
    # "raised AttributeError: 'numpy.ndarray' object has no attribute 'text'"
    pa = pytest.importorskip("pyarrow")
    table = pa.Table.from_pandas(_frame())
    applier = LFApplier([has_link, short])
    np.testing.assert_array_equal(
        applier.fit_transform(table),
        LFApplier([has_link, short]).fit_transform(_frame()),
    )
    assert list(applier.feature_names_in_) == ["text"]


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


def test_refit_on_rows_without_columns_forgets_the_old_columns():
    applier = LFApplier([LabelingFunction("abstain", lambda x: -1)])
    applier.fit(_frame().assign(n=1))
    assert applier.n_features_in_ == 2
    for rows in (["nice song", "http://x"], None):
        applier.fit(rows)
        assert not hasattr(applier, "n_features_in_")
        assert not hasattr(applier, "feature_names_in_")
        # an array of another width is labelled, not checked against the old fit
        assert applier.transform(np.zeros((1, 3))).tolist() == [[-1]]


def test_get_feature_names_out_checks_input_features():
    # as scikit-learn's transformers: input_features must match the input of
    # fit where it was recorded; the output names are the functions' names
    applier = LFApplier([has_link, short]).fit(_frame())
    assert list(applier.get_feature_names_out(["text"])) == ["has_link", "short"]
    with pytest.raises(ValueError, match="input_features is not equal to"):
        applier.get_feature_names_out(["comment"])
    applier.fit(np.array([["a", "b"], ["http", "c"]]))
    with pytest.raises(ValueError, match="input_features should have length"):
        applier.get_feature_names_out(["x0", "x1", "x2"])
    # texts record no columns, so any names pass (e.g. from a ColumnTransformer)
    applier.fit(["nice song", "http://x"])
    assert list(applier.get_feature_names_out(["text"])) == ["has_link", "short"]


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


@labeling_function()
def is_short(x):
    return int(len(x) < 3)


@labeling_function()
def fails_on_long(x):
    if len(x) > 3:
        raise RuntimeError("cannot label a long text")
    return -1


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_progress_bar_is_closed_when_a_labeling_function_raises(n_jobs, capsys):
    # The bar was closed after the last chunk only: a labeling function that
    # raised left it open for as long as the exception lived (a notebook
    # keeps the last one), shifting every later bar a line down.
    from tqdm.auto import tqdm

    rows = ["a", "bb", "ccc", "dddd"] * 3
    applier = LFApplier([is_short, fails_on_long], n_jobs=n_jobs, progress=True)
    with pytest.raises(ValueError, match="cannot label a long text") as info:
        applier.fit_transform(rows)
    assert info.value is not None  # the exception (and its frames) still live
    assert not [b for b in tqdm._instances if b.desc == "labeling functions"]
    assert "labeling functions" in capsys.readouterr().err


def test_youtube_spam_lfs_beat_majority_vote():
    data = load_youtube_spam()
    L = LFApplier(youtube_spam_lfs()).fit_transform(data.frame)
    train, test = data.split == "train", data.split == "test"
    model = LabelModel().fit(L[train])
    assert model.score(L[test], data.target[test]) > 0.85


def test_decorated_lf_pickles_by_value():
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        loaded = pickle.loads(pickle.dumps(short, protocol=protocol))
        assert isinstance(loaded, LabelingFunction)
        # Protocols before 4 save it by reference, like a function.
        assert (loaded is short) == (protocol < 4)
        assert loaded.name == "short" and loaded.resources == {"max_len": 15}
        assert loaded.f is short.f  # the wrapped function, by reference
        assert loaded.__wrapped__ is short.f
        assert loaded(_frame().iloc[0]) == short(_frame().iloc[0]) == 0
    # The wrapped function is found again through its wrapper.
    assert has_link.f.__qualname__ == "has_link.f"
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(has_link.f, protocol)) is has_link.f
        applier = pickle.loads(pickle.dumps(LFApplier([has_link]), protocol))
        assert applier.lfs[0].f is has_link.f


def test_labeling_function_keeps_a_function_bound_under_its_own_name():
    lf = labeling_function(name="wrapped")(_module_level_vote)
    assert _module_level_vote.__qualname__ == "_module_level_vote"
    assert pickle.loads(pickle.dumps(lf)).f is _module_level_vote

    @labeling_function()
    def local(x):
        return -1

    assert local.f.__qualname__.endswith("<locals>.local")


def _module_level_vote(x):
    return 1 if "!" in x else -1


_WRITTEN_OUT = """\
from sklearn_metal import labeling_function


def has_link(x):
    return 1 if "http" in x else -1


has_link = labeling_function()(has_link)
"""


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_decorator_written_out_pickles(tmp_path, monkeypatch, protocol):
    # ``f = labeling_function()(f)``: the name still holds ``f`` at decoration
    # time and holds the wrapper only afterwards.
    (tmp_path / "written_out_lfs.py").write_text(_WRITTEN_OUT)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "written_out_lfs", raising=False)
    import written_out_lfs

    lf = written_out_lfs.has_link
    texts = ["see http://x", "nice song"]
    applier = LFApplier([lf]).fit(texts)
    loaded = pickle.loads(pickle.dumps(applier, protocol=protocol))
    assert loaded.lfs[0].f is lf.f
    np.testing.assert_array_equal(loaded.transform(texts), applier.transform(texts))
    buffer = io.BytesIO()
    joblib.dump(applier, buffer, protocol=protocol)
    buffer.seek(0)
    np.testing.assert_array_equal(
        joblib.load(buffer).transform(texts), applier.transform(texts)
    )


def test_fitted_applier_and_pipeline_pickle():
    applier = LFApplier([has_link, short]).fit(_frame())
    loaded = pickle.loads(pickle.dumps(applier))
    np.testing.assert_array_equal(
        loaded.transform(_frame()), applier.transform(_frame())
    )
    assert list(loaded.feature_names_in_) == ["text"]

    pipe = Pipeline(
        [("lfs", LFApplier([has_link, short])), ("label_model", LabelModel())]
    ).fit(_frame())
    buffer = io.BytesIO()
    joblib.dump(pipe, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_array_equal(
        loaded[0].transform(_frame()), pipe[0].transform(_frame())
    )
    np.testing.assert_array_equal(
        loaded.predict_proba(_frame()), pipe.predict_proba(_frame())
    )
    clone(pipe).fit(_frame())


def test_bundled_lfs_pickle():
    data = load_youtube_spam()
    applier = LFApplier(youtube_spam_lfs()).fit(data.frame)
    loaded = pickle.loads(pickle.dumps(applier))
    np.testing.assert_array_equal(
        loaded.transform(data.frame), applier.transform(data.frame)
    )
    assert [lf.name for lf in loaded.lfs] == [lf.name for lf in applier.lfs]


_SCRIPT = """\
import pickle, sys
import cloudpickle, joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn_metal import LabelModel, LFApplier, labeling_function

@labeling_function()
def has_link(x):
    return 1 if "http" in x.text else -1

@labeling_function(resources={"max_len": 15})
def short(x, max_len):
    return 0 if len(x.text) < max_len else -1

def loud(x):
    return 1 if "!" in x.text else -1

loud = labeling_function()(loud)  # the decorator written out

frame = pd.DataFrame({"text": ["nice song", "visit http://x", "love it!", "http://y"]})
lfs = LFApplier([has_link, short, loud])
pipe = Pipeline([("lfs", lfs), ("label_model", LabelModel())])
pipe.fit(frame)
expected = pipe.predict_proba(frame)
loaded = pickle.loads(pickle.dumps(pipe))
np.testing.assert_array_equal(loaded.predict_proba(frame), expected)
joblib.dump(pipe, sys.argv[1] + "/pipe.joblib")
np.testing.assert_array_equal(
    joblib.load(sys.argv[1] + "/pipe.joblib").predict_proba(frame), expected
)
assert pickle.loads(pickle.dumps(has_link)).f is has_link.f
assert pickle.loads(pickle.dumps(loud)).f is loud.f
# cloudpickle (dask, joblib workers) still ships functions of __main__ by value.
with open(sys.argv[1] + "/pipe.cloudpickle", "wb") as fh:
    cloudpickle.dump(pipe, fh)
np.save(sys.argv[1] + "/expected.npy", expected)
print("ok")
"""

_LOAD = """\
import pickle, sys
import numpy as np
import pandas as pd
with open(sys.argv[1] + "/pipe.cloudpickle", "rb") as fh:
    pipe = pickle.load(fh)
frame = pd.DataFrame({"text": ["nice song", "visit http://x", "love it!", "http://y"]})
np.testing.assert_array_equal(
    pipe.predict_proba(frame), np.load(sys.argv[1] + "/expected.npy")
)
print("ok")
"""


def test_pipeline_of_lfs_defined_in_main_pickles(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(_SCRIPT)
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "ok\n"
    # A fresh interpreter, without the script's functions, loads the cloudpickle.
    run = subprocess.run(
        [sys.executable, "-c", _LOAD, str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "ok\n"


def test_fit_on_a_dask_dataframe_records_the_columns_without_warnings():
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    from dask.callbacks import Callback

    frame = pd.DataFrame({"text": _frame()["text"].tolist() * 6})
    ddf = dd.from_pandas(frame, npartitions=3)
    computed = []
    # The synchronous scheduler runs the partitions here, so that a warning
    # raised on one of them reaches this test (on distributed workers it would
    # not).
    with (
        dask.config.set(scheduler="synchronous"),
        warnings.catch_warnings(),
        Callback(start=lambda dsk: computed.append(len(dsk))),
    ):
        warnings.simplefilter("error")
        applier = LFApplier([has_link, short]).fit(ddf)
        assert computed == []  # fit reads only the columns
        assert list(applier.feature_names_in_) == ["text"]
        assert applier.n_features_in_ == 1
        L = applier.fit_transform(ddf).compute()
        np.testing.assert_array_equal(
            L, LFApplier([has_link, short]).fit_transform(frame)
        )
        # Fitted on pandas, applied to dask: no warning either.
        LFApplier([has_link, short]).fit(frame).transform(ddf).compute()
    # Other columns are reported once, before any partition is computed.
    with pytest.raises(ValueError, match="feature names should match"):
        applier.transform(ddf.rename(columns={"text": "body"}))


def test_transform_of_a_dask_dataframe_runs_no_labeling_function():
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    calls = []

    @labeling_function()
    def counted(x):
        calls.append(x.text)
        return 1 if "http" in x.text else -1

    frame = pd.DataFrame({"text": ["see http://a", "nice song"] * 10})
    ddf = dd.from_pandas(frame, npartitions=3)
    # The synchronous scheduler runs the partitions in this process, where the
    # counter is.
    with dask.config.set(scheduler="synchronous"):
        applier = LFApplier([counted, short]).fit(ddf)
        L = applier.transform(ddf)
        assert calls == []  # lazy: only the raw partitions were counted
        assert L.shape == (20, 2)
        assert sum(L.chunks[0]) == 20 and not np.isnan(L.chunks[0]).any()
        votes = L.compute()
        assert sorted(calls) == sorted(frame["text"])  # once per row
        np.testing.assert_array_equal(
            votes, LFApplier([counted, short]).fit_transform(frame)
        )
        calls.clear()
        persisted = L.persist()
        LabelModel().fit(persisted)
        assert len(calls) == 20  # the fit reads the persisted votes


def test_module_level_lfs_on_a_dask_cluster(client):
    dd = pytest.importorskip("dask.dataframe")
    frame = pd.DataFrame({"text": _frame()["text"].tolist() * 6})
    applier = LFApplier([has_link, short]).fit(dd.from_pandas(frame, npartitions=3))
    L = applier.transform(dd.from_pandas(frame, npartitions=3))
    assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_array_equal(L.compute(), applier.transform(frame))


def test_columns_that_are_not_identifiers_keep_their_names():
    @labeling_function()
    def spaced(x):
        return 1 if getattr(x, "my text") == "b" and getattr(x, "class") == "t" else -1

    @labeling_function()
    def by_position(x):
        return 0 if x[1] == "a" else -1

    frame = pd.DataFrame({"class": ["s", "t"], "my text": ["a", "b"]})
    L = LFApplier([spaced, by_position]).fit_transform(frame)
    np.testing.assert_array_equal(L, [[-1, 0], [1, -1]])

    @labeling_function()
    def missing(x):
        return x.text

    with pytest.raises(ValueError, match="no column 'text'; its columns are"):
        LFApplier([missing]).fit_transform(frame)


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_columns_named_like_tuple_methods_read_the_column(n_jobs):
    # "my text" is no identifier, so the rows are not pandas' namedtuples; the
    # columns "count" and "index" (added by reset_index) must still win over
    # tuple.count and tuple.index, as namedtuple fields do.
    frame = pd.DataFrame(
        {"my text": ["a", "b", "c"], "count": [5, 0, 7]}, index=[10, 11, 12]
    ).reset_index()

    @labeling_function()
    def many(x):
        return 1 if x.count > 3 else -1

    @labeling_function()
    def late(x):
        return 0 if x.index > 10 else -1

    L = LFApplier([many, late], n_jobs=n_jobs).fit_transform(frame)
    expected = np.column_stack(
        [
            np.where(frame["count"] > 3, 1, -1),
            np.where(frame["index"] > 10, 0, -1),
        ]
    )
    np.testing.assert_array_equal(L, expected)


@pytest.mark.parametrize("on_error", ["raise", "abstain"])
def test_dask_partitions_name_rows_of_the_whole_frame(on_error):
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")

    @labeling_function()
    def second_word(x):
        return 1 if x.text.split()[1] else -1

    # Only the last row (row 5, row 1 of the third partition) has one word.
    frame = pd.DataFrame({"text": ["a b", "c d", "e f", "g h", "i j", "k"]})
    ddf = dd.from_pandas(frame, npartitions=3)
    assert ddf.npartitions == 3
    applier = LFApplier([second_word], on_error=on_error).fit(ddf)
    with dask.config.set(scheduler="synchronous"):
        if on_error == "raise":
            with pytest.raises(ValueError, match=r"'second_word' raised .* row 5:"):
                applier.transform(ddf).compute()
        else:
            with pytest.warns(UserWarning, match="'second_word' on row 5:"):
                L = applier.transform(ddf).compute()
            np.testing.assert_array_equal(L[:, 0], [1, 1, 1, 1, 1, -1])


def test_dict_rows_with_keys_that_are_not_strings_are_named():
    # Records of a frame with integer columns: was "TypeError: keywords must be
    # strings", naming neither row nor key.
    records = pd.DataFrame([["a", "b"], ["c", "d"]]).to_dict("records")
    lf = LabelingFunction("first", lambda x: 1)
    with pytest.raises(ValueError, match="Row 0 is a dict with the key 0, which"):
        LFApplier([lf]).fit_transform(records)


def test_a_dict_of_columns_or_a_set_of_rows_is_refused():
    # A dict of columns (a Hugging Face dataset's ds[:n], df.to_dict("list"))
    # iterates over its keys: L had one row per column name, [[-1]] for four
    # texts. A set of texts comes in an arbitrary order.
    texts = _frame()["text"].tolist()
    lf = LabelingFunction("has_link", lambda x: 1 if "http" in x else -1)
    assert LFApplier([lf]).fit_transform(texts)[:, 0].tolist() == [-1, 1, -1, 1]
    columns = {"text": texts}
    for applier in (LFApplier([has_link]), LFApplier([lf])):
        with pytest.raises(ValueError, match=r"dict \(keys \['text'\]\).*DataFrame"):
            applier.fit_transform(columns)
        with pytest.raises(ValueError, match=r"dict \(keys \['text'\]\)"):
            applier.fit().transform(columns)
    with pytest.raises(ValueError, match="set, whose order is arbitrary"):
        LFApplier([lf]).fit_transform(set(texts))
    np.testing.assert_array_equal(
        LFApplier([has_link]).fit_transform(pd.DataFrame(columns)),
        LFApplier([has_link]).fit_transform(_frame()),
    )


def test_a_vote_too_large_for_int64_names_the_lf_and_row():
    # Was "OverflowError: Python int too large to convert to C long".
    huge = LabelingFunction("huge", lambda x: 2**63 if x == "b" else -1)
    with pytest.raises(ValueError, match=f"'huge' returned {2**63} on row 1"):
        LFApplier([huge]).fit_transform(["a", "b"])
    at_max = LabelingFunction("at_max", lambda x: 2**63 - 1)
    L = LFApplier([at_max]).fit_transform(["a"])
    np.testing.assert_array_equal(L, [[2**63 - 1]])


def test_an_empty_name_or_unknown_progress_is_refused():
    # name="" was replaced by the function's name, progress="yes" meant no bar.
    with pytest.raises(ValueError, match="needs a non-empty name, got ''"):
        labeling_function(name="")(lambda x: 1)
    with pytest.raises(ValueError, match="progress='yes' must be True, False or"):
        LFApplier([has_link], progress="yes").fit(None)


def _vote_at_least(x, threshold):
    return int(len(x) >= threshold)


def test_a_callable_without_a_name_needs_name():
    # functools.partial has no __name__: that was an AttributeError
    long = functools.partial(_vote_at_least, threshold=5)
    with pytest.raises(ValueError, match="has no __name__.*name="):
        labeling_function()(long)
    lf = labeling_function(name="long")(long)
    assert lf.name == "long"
    L = LFApplier([lf]).fit_transform(["hi", "hello there"])
    assert L.ravel().tolist() == [0, 1]


def test_youtube_spam_lfs_need_a_text_field():
    # The raw UCI file names the comment CONTENT: the functions voted on
    # str(row), every field of the row, and short_comment never fired.
    frame = pd.DataFrame({"AUTHOR": ["Ann Lee Smith"], "CONTENT": ["great"]})
    with pytest.raises(ValueError, match="'keyword_check_out' raised ValueError: "):
        LFApplier(youtube_spam_lfs()).fit_transform(frame)
    L = LFApplier(youtube_spam_lfs()).fit_transform(
        frame.rename(columns={"CONTENT": "text"})
    )
    names = [lf.name for lf in youtube_spam_lfs()]
    assert L[0, names.index("short_comment")] == 0  # one word: ham


def test_a_series_of_dicts_reads_like_a_list_of_dicts():
    # load_wrench's ``data`` in a Series: the functions got plain dicts, so
    # ``x.text`` raised AttributeError, unlike for the same list of dicts.
    rows = [{"text": t} for t in _frame()["text"]]
    expected = LFApplier([has_link, short]).fit_transform(rows)
    series = pd.Series(rows, index=[7, 3, 5, 1])
    np.testing.assert_array_equal(
        LFApplier([has_link, short]).fit_transform(series), expected
    )
    out = LFApplier([has_link, short]).set_output(transform="pandas")
    assert list(out.fit_transform(series).index) == [7, 3, 5, 1]


def _count_words(x):
    # a Snorkel-style preprocessor: it sets a field on the row it was given
    x.n_words = len(x.text.split())
    return x


def _add_n_words(x):
    return types.SimpleNamespace(**x._asdict(), n_words=len(x[0].split()))


@pytest.mark.parametrize("column", ["text", "my text"])
def test_row_handled_as_a_series_gets_a_hint(column):
    # Snorkel passes rows as pandas Series; here they are read-only
    # namedtuples: setting a field in a preprocessor, or indexing by column
    # name, raised "'Pandas' object has no attribute 'n_words'" or "tuple
    # indices must be integers or slices, not str" with no word on why.
    frame = _frame().rename(columns={"text": column})

    @labeling_function(pre=[_count_words])
    def setting(x):
        return 0 if x.n_words < 3 else -1

    @labeling_function()
    def indexing(x):
        return 1 if "http" in x[column] else -1

    hint = r"read-only namedtuples with the columns \[.*_asdict\(\)"
    for lf in (setting, indexing):
        with pytest.raises(ValueError, match=hint):
            LFApplier([lf]).fit_transform(frame)

    # the recipe of the hint works on both kinds of rows
    @labeling_function(pre=[_add_n_words])
    def recipe(x):
        return 0 if x.n_words < 3 and "http" not in getattr(x, column) else -1

    L = LFApplier([recipe]).fit_transform(frame)
    np.testing.assert_array_equal(L[:, 0], [0, -1, 0, -1])

    # an error that is not about the row gets no hint
    @labeling_function()
    def typo(x):
        return 1 if x.text.lowercase() else -1

    with pytest.raises(ValueError, match="lowercase") as info:
        LFApplier([typo]).fit_transform(_frame())
    assert "namedtuples" not in str(info.value)


def test_the_pair_apply_returns_is_refused_as_a_label_matrix():
    # Snorkel's applier.apply(df) returns L; LFApplier.apply returns
    # (L, failures), which the estimators read as a ragged array: "setting an
    # array element with a sequence. The requested array has an inhomogeneous
    # shape after 1 dimensions."
    from sklearn_metal import MajorityLabelVoter, lf_summary

    pair = LFApplier([has_link, short]).fit(_frame()).apply(_frame())
    match = r"got a pair .* shape \(4, 2\): the \(L, failures\) that LFApplier.apply"
    for call in (
        lambda: LabelModel().fit(pair),
        lambda: MajorityLabelVoter().fit(pair),
        lambda: lf_summary(pair),
    ):
        with pytest.raises(ValueError, match=match):
            call()
    # its first entry is the label matrix
    assert LabelModel().fit(pair[0]).n_features_in_ == 2


def test_a_fit_that_raises_leaves_the_applier_as_it_was():
    # fit dropped the recorded columns before checking X: after a refit that
    # raised (no rows, mixed column names) the applier kept its functions but
    # no columns, so transform took a frame with other columns without a word
    from sklearn.exceptions import NotFittedError

    @labeling_function()
    def starts_a(x):
        return 1 if x.text.startswith("a") else -1

    X = pd.DataFrame({"text": ["ab", "cd", "ae"], "n": [1, 2, 3]})
    applier = LFApplier([starts_a])
    with pytest.raises(ValueError, match="0 sample"):
        applier.fit(X.iloc[:0])
    assert not [k for k in vars(applier) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        applier.transform(X)
    applier.fit(X)
    before = dict(vars(applier))
    for bad, error in (
        (X.iloc[:0], ValueError),
        (pd.DataFrame({"text": ["a"], 0: [1]}), TypeError),
    ):
        with pytest.raises(error):
            applier.fit(bad)
        assert vars(applier).keys() == before.keys()
        assert all(vars(applier)[k] is v for k, v in before.items())
        with pytest.raises(ValueError, match="feature names"):
            applier.transform(X.rename(columns={"n": "m"}))
