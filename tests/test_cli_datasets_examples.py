import io
import os
import re
import runpy
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn_metal import LabelModel
from sklearn_metal.cli import main
from sklearn_metal.datasets import (
    load_youtube_spam,
    load_youtube_votes,
    make_label_matrix,
)

# The real data sets, as in benchmarks/_datasets.py: shared/data next to the
# project root, or where SKLEARN_METAL_SHARED_DATA says.
SHARED = Path(
    os.environ.get(
        "SKLEARN_METAL_SHARED_DATA",
        Path(__file__).resolve().parents[2] / "shared" / "data",
    )
)
EXAMPLES = sorted((Path(__file__).parents[1] / "examples").rglob("plot_*.py"))


def test_load_youtube_votes():
    data = load_youtube_votes()
    assert data.L_train.shape == (1686, 10)
    assert data.train_is_gold.sum() == 100
    assert set(np.unique(data.L_train)) <= {-1, 0, 1}
    framed = load_youtube_votes(as_frame=True)
    assert list(framed.L_test.columns) == data.feature_names


def test_demo_runs_the_whole_pipeline(capsys, tmp_path):
    soft = tmp_path / "soft.csv"
    assert main(["demo", "--epochs", "5", "--output", str(soft)]) == 0
    out = capsys.readouterr().out
    written = pd.read_csv(soft)
    assert list(written.columns) == ["ham", "spam"] and len(written) == 1956
    np.testing.assert_allclose(written.sum(axis=1), 1.0)
    line = next(x for x in out.splitlines() if x.startswith("2. LabelModel"))
    acc_lm = float(line.split("test accuracy ")[1].split(";")[0])
    acc_mv = float(line.split("majority vote: ")[1])
    assert acc_lm > acc_mv
    assert "3. EndModel" in out and "Timings" in out


def test_fit_command_formats_and_errors(tmp_path, capsys):
    L, _, _ = make_label_matrix(100, 3, random_state=0)
    np.save(tmp_path / "L.npy", L)
    assert main(["fit", str(tmp_path / "L.npy"), "-o", str(tmp_path / "p.npy")]) == 0
    proba = np.load(tmp_path / "p.npy")
    np.testing.assert_allclose(proba, LabelModel().fit(L).predict_proba(L))
    bad = L.copy()
    bad[0, 0] = 7
    np.save(tmp_path / "bad.npy", bad)
    assert main(["fit", str(tmp_path / "bad.npy")]) == 2
    err = capsys.readouterr().err
    assert "value 7" in err
    # a vote beyond the classes names the option that sets them
    assert "Pass --cardinality K" in err
    bad[0, 0] = -2  # another bad value gets no such hint
    np.save(tmp_path / "bad.npy", bad)
    assert main(["fit", str(tmp_path / "bad.npy"), "-k", "3"]) == 2
    err = capsys.readouterr().err
    assert "value -2" in err and "--cardinality" not in err
    assert main(["fit", str(tmp_path / "L.json")]) == 2


@pytest.mark.parametrize("name", ["missing.csv", "missing.npy", "missing.parquet"])
def test_fit_command_reports_a_missing_file(tmp_path, capsys, name):
    path = tmp_path / name
    assert main(["fit", str(path), "-k", "2"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"sklearn-metal: error: Cannot read the label matrix {str(path)!r}: "
        "no such file.\n"
    )


def test_fit_command_reports_unreadable_files(tmp_path, capsys, monkeypatch):
    src = tmp_path / "L.csv"
    src.write_text("a,b\n0,1\n")
    (tmp_path / "dir.csv").mkdir()
    assert main(["fit", str(tmp_path / "dir.csv")]) == 2
    assert capsys.readouterr().err.endswith("dir.csv': is a directory.\n")

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pd, "read_csv", denied)
    assert main(["fit", str(src)]) == 2
    assert capsys.readouterr().err == (
        f"sklearn-metal: error: Cannot read the label matrix {str(src)!r}: "
        "Permission denied.\n"
    )


def test_fit_command_reports_an_unwritable_output(tmp_path, capsys):
    src = tmp_path / "L.csv"
    src.write_text("a,b\n0,1\n1,-1\n")
    out = tmp_path / "missing_dir" / "p.csv"
    with pytest.raises(SystemExit) as exc:  # while parsing, before the fit
        main(["fit", str(src), "-o", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "cannot write" in err
    assert "missing_dir' does not exist" in err


def test_missing_file_exit_status_of_the_command(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sklearn_metal.cli", "fit", "nonexist.csv", "-k", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "sklearn-metal: error: Cannot read the label matrix 'nonexist.csv': "
        "no such file.\n"
    )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes and SIGPIPE")
def test_fit_command_is_quiet_when_stdout_closes(tmp_path):
    # ``sklearn-metal fit L.npy | head -1``: the output (about 1 MB) outgrows
    # the pipe buffer, so the command writes into a pipe nobody reads.
    L, _, _ = make_label_matrix(20_000, 4, random_state=0)
    np.save(tmp_path / "L.npy", L)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sklearn_metal.cli", "fit", str(tmp_path / "L.npy")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline() == "p_0,p_1\n"
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141  # 128 + SIGPIPE, like `seq 1e6 | head`
    assert err == ""


def test_fit_command_is_quiet_in_a_shell_pipe_to_head(tmp_path):
    L, _, _ = make_label_matrix(20_000, 4, random_state=0)
    np.save(tmp_path / "L.npy", L)
    proc = subprocess.run(
        [
            "bash",
            "-c",
            'set -o pipefail; "$0" -m sklearn_metal.cli fit L.npy | head -3',
            sys.executable,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    if proc.returncode == 127:  # pragma: no cover - no bash here
        pytest.skip("bash is not available")
    assert proc.stdout.splitlines()[0] == "p_0,p_1"
    assert len(proc.stdout.splitlines()) == 3
    assert proc.stderr == ""
    assert proc.returncode == 141


@pytest.mark.parametrize("name", ["p.json", "p.txt", "p", "p.csv.gz"])
def test_fit_command_rejects_an_unknown_output_suffix(tmp_path, capsys, name):
    # The output name is checked while parsing: the missing input is not even
    # looked at, and nothing is written.
    out = tmp_path / name
    with pytest.raises(SystemExit) as exc:
        main(["fit", str(tmp_path / "missing.csv"), "-o", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --output/-o: cannot write" in err
    assert "must end in .csv, .npy or .parquet" in err
    assert "missing.csv" not in err
    assert not out.exists()


def test_fit_command_accepts_upper_case_suffixes(tmp_path):
    L, _, _ = make_label_matrix(50, 3, random_state=0)
    np.save(tmp_path / "L.npy", L)
    assert main(["fit", str(tmp_path / "L.npy"), "-o", str(tmp_path / "p.CSV")]) == 0
    assert list(pd.read_csv(tmp_path / "p.CSV").columns) == ["p_0", "p_1"]


def test_fit_command_writes_an_upper_case_npy_name_as_given(tmp_path):
    # np.save(name) appends ".npy" to "p.NPY"; the file must be the one named.
    L, _, _ = make_label_matrix(50, 3, random_state=0)
    np.save(tmp_path / "L.npy", L)
    assert main(["fit", str(tmp_path / "L.npy"), "-o", str(tmp_path / "p.NPY")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["L.npy", "p.NPY"]
    proba = np.load(tmp_path / "p.NPY")
    assert proba.shape == (50, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_parquet_without_an_engine_is_an_error_not_a_traceback(
    tmp_path, capsys, monkeypatch
):
    L, _, _ = make_label_matrix(20, 3, random_state=0)
    pd.DataFrame(L, columns=["a", "b", "c"]).to_csv(tmp_path / "L.csv", index=False)
    (tmp_path / "L.parquet").write_bytes(b"PAR1")
    # Neither engine can be imported, as after a plain ``pip install``.
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "fastparquet", None)
    out = tmp_path / "p.parquet"
    with pytest.raises(SystemExit) as exc:  # before the fit, while parsing
        main(["fit", str(tmp_path / "L.csv"), "-o", str(out)])
    assert exc.value.code == 2
    assert "cannot write" in capsys.readouterr().err
    assert not out.exists()
    assert main(["fit", str(tmp_path / "L.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-metal: error: Cannot read the label matrix")
    assert "needs pyarrow or fastparquet" in err


def test_a_tilde_in_paths_is_the_home_folder(tmp_path, monkeypatch):
    # "--output=~/p.csv" and "fit ~/L.npy" quoted reach the command unexpanded
    monkeypatch.setenv("HOME", str(tmp_path))
    L, _, _ = make_label_matrix(30, 3, random_state=0)
    np.save(tmp_path / "L.npy", L)
    assert main(["fit", "~/L.npy", "--output=~/p.csv"]) == 0
    proba = pd.read_csv(tmp_path / "p.csv")
    assert proba.shape == (30, 2)


def test_a_bad_npy_file_is_named(tmp_path, capsys):
    # numpy's messages (pickled data, allow_pickle) named no file, and an .npz
    # archive saved under a .npy name was read as its list of array names
    np.save(tmp_path / "obj.npy", np.array([[0, 1]], dtype=object))
    (tmp_path / "text.npy").write_bytes(b"0,1\n1,0\n")
    np.savez(tmp_path / "arch.npz", L=np.zeros((3, 2), dtype=int))
    (tmp_path / "arch.npz").rename(tmp_path / "arch.npy")
    np.save(tmp_path / "cut.npy", np.zeros((100, 5), dtype=np.int8))
    data = (tmp_path / "cut.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[:200])
    for name, reason in [
        ("obj.npy", "Object arrays cannot be loaded"),
        ("text.npy", "it is no .npy file"),
        ("arch.npy", "it is a .npz archive"),
        # numpy 1.x: "cannot reshape array of size 72 into shape (100,5)"
        ("cut.npy", "(Failed to read all data|cannot reshape array of size 72)"),
    ]:
        path = str(tmp_path / name)
        assert main(["fit", path, "-k", "2"]) == 2
        err = capsys.readouterr().err
        expected = f"Cannot read the label matrix {re.escape(repr(path))}: {reason}"
        assert re.search(expected, err), err


def test_a_malformed_csv_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n0,1\n1,0,1,1\n")
    assert main(["fit", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"Cannot read the label matrix {str(bad)!r}: Error tokenizing" in err
    # bytes that are no UTF-8 (a binary file, a Latin-1 header): the decode
    # error named no file
    bad.write_bytes(b"a,b\n0,1\n\xff\xfe,1\n")
    assert main(["fit", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"Cannot read the label matrix {str(bad)!r}: 'utf-8' codec can't" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--epochs", "0"], "argument --epochs: 0 is too small; expected an "),
        (["demo", "--epochs", "-3"], "argument --epochs: -3 is too small"),
        (["demo", "--epochs", "1.5"], "argument --epochs: '1.5' is not an integer"),
        (["demo", "--output", "p.json"], "argument --output: cannot write 'p.json'"),
        (["fit", "L.npy", "-k", "1"], "argument --cardinality/-k: 1 is too small; "),
        (["fit", "L.npy", "-k", "two"], "argument --cardinality/-k: 'two' is not an "),
    ],
)
def test_bad_arguments_fail_before_any_work(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""  # the demo printed nothing: it never started
    assert message in err


def test_fit_help_explains_abstain(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    assert "-1 when the source abstains" in capsys.readouterr().out


def test_load_youtube_spam_and_wrench():
    data = load_youtube_spam()
    assert len(data.text) == 1956 and set(data.target) == {0, 1}
    assert (data.split == "test").sum() == 370
    from sklearn_metal.datasets import load_wrench

    if not (SHARED / "youtube").is_dir():
        pytest.skip(f"no {SHARED / 'youtube'}; set SKLEARN_METAL_SHARED_DATA")
    wrench = load_wrench(SHARED / "youtube")
    assert wrench.train.L.shape == (1686, 10)
    assert wrench.target_names == ["HAM", "SPAM"]
    assert len(wrench.labeled_ids) == 100
    assert wrench.test.data[0]["text"]


def _write_wrench_archive(folder, rows, labels, labeled_ids):
    """A WRENCH set packed in ``folder/data.tar.gz``, under a ``data/`` folder."""
    import json
    import tarfile

    (folder / "unpacked" / "data").mkdir(parents=True)
    files = {f"{split}.json": rows for split in ("train", "valid", "test")}
    files["label.json"] = labels
    files["labeled_ids.json"] = {"labeled_ids": labeled_ids}
    for name, content in files.items():
        (folder / "unpacked" / "data" / name).write_text(json.dumps(content))
    with tarfile.open(folder / "archive" / "data.tar.gz", "w:gz") as tar:
        tar.add(folder / "unpacked" / "data", arcname="data")


def test_load_wrench_reads_an_archive_and_leaves_no_files(tmp_path, monkeypatch):
    import json
    import tempfile

    from sklearn_metal.datasets import load_wrench

    rows = {
        str(i): {
            "data": {"text": f"row {i}"},
            "label": i % 2,
            "weak_labels": [i % 2, -1],
        }
        for i in range(4)
    }
    (tmp_path / "archive").mkdir()
    _write_wrench_archive(tmp_path, rows, {"0": "ham", "1": "spam"}, [1, 3])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    data = load_wrench(tmp_path / "archive")
    assert list(scratch.iterdir()) == []  # nothing unpacked and left behind
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(
            data[split].L, [rows[i]["weak_labels"] for i in rows]
        )
        np.testing.assert_array_equal(data[split].y, [rows[i]["label"] for i in rows])
        assert data[split].ids == list(rows)
    assert data.target_names == ["ham", "spam"]
    assert data.labeled_ids == ["1", "3"]  # from inside the archive

    # A labeled_ids.json beside the archive (as in shared/data/census) wins.
    (tmp_path / "archive" / "labeled_ids.json").write_text(json.dumps(["2"]))
    assert load_wrench(tmp_path / "archive").labeled_ids == ["2"]
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    "example, message",
    [
        # 0.5 is no vote: it was truncated to 0 before
        ({"weak_labels": [0.5, -1], "label": 0}, r"'b' has weak_labels \[0.5, -1\]"),
        ({"weak_labels": [0, -1], "label": 1.5}, r"'b' has label 1.5; expected an"),
        ({"weak_labels": [0, -1], "label": None}, r"'b' has label None; expected an"),
        ({"weak_labels": [0], "label": 0}, r"'b' has 1 weak labels, the example 'a' 2"),
        ({"label": 0}, r"'b' has no 'weak_labels'"),
        # a bare integer is no list of votes: it was a TypeError from len()
        ({"weak_labels": 3, "label": 0}, r"'b' has weak_labels 3; expected a list"),
        # beyond int64: it was an OverflowError naming no example
        ({"weak_labels": [0, 2**63], "label": 0}, rf"'b' has weak_labels \[0, {2**63}"),
        ({"weak_labels": [0, -1], "label": 2**63}, rf"'b' has label {2**63}; expected"),
    ],
)
def test_load_wrench_names_an_example_that_is_not_integer_votes(
    tmp_path, example, message
):
    import json

    from sklearn_metal.datasets import load_wrench

    good = {"data": {"text": "hi"}, "label": 1, "weak_labels": [1, -1]}
    rows = {"a": good, "b": {"data": {"text": "ho"}, **example}}
    (tmp_path / "train.json").write_text(json.dumps(rows))
    for split in ("valid", "test"):
        (tmp_path / f"{split}.json").write_text(json.dumps({"a": good}))
    with pytest.raises(ValueError, match="train.json: example " + message):
        load_wrench(tmp_path)


def test_make_label_matrix_dependencies():
    L, y, _ = make_label_matrix(5000, 4, dependencies=[(0, 3)], random_state=0)
    agree = np.mean(L[:, 0] == L[:, 3])
    assert agree > 0.9
    with pytest.raises(ValueError, match="distinct"):
        make_label_matrix(10, 3, dependencies=[(1, 1)])
    # An array of pairs, as LabelModel accepts, gives the same draw as a list.
    from_array = make_label_matrix(
        5000, 4, dependencies=np.array([[0, 3]]), random_state=0
    )
    np.testing.assert_array_equal(from_array[0], L)
    with pytest.raises(ValueError, match="distinct"):
        make_label_matrix(10, 3, dependencies=np.array([[1, 1]]))


def test_fit_command_writes_probabilities(tmp_path, capsys):
    L, _, _ = make_label_matrix(200, 4, random_state=0)
    src = tmp_path / "L.csv"
    pd.DataFrame(L, columns=list("abcd")).to_csv(src, index=False)
    out = tmp_path / "p.csv"
    assert main(["fit", str(src), "--output", str(out)]) == 0
    proba = pd.read_csv(out).to_numpy()
    df = pd.DataFrame(L, columns=list("abcd"))
    expected = LabelModel().fit(df).predict_proba(df)
    np.testing.assert_allclose(proba, expected, atol=1e-12)


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_fit_command_refuses_a_csv_without_a_header_row(tmp_path, capsys, suffix):
    L, _, _ = make_label_matrix(200, 4, random_state=0)
    L[0] = [0, -1, -1, -1]  # pandas would name the columns 0, -1, -1.1, -1.2
    src = tmp_path / f"L{suffix}"
    np.savetxt(src, L, fmt="%d", delimiter=",")
    out = tmp_path / "p.npy"
    assert main(["fit", str(src), "-o", str(out)]) == 2
    assert not out.exists()
    assert capsys.readouterr().err == (
        f"sklearn-metal: error: The first row of {str(src)!r} holds only numbers: "
        "it looks like votes, not source names. The CSV needs a header row of "
        "source names (such as lf_0,lf_1,lf_2,...) that are not all numbers.\n"
    )
    # pandas' default header (0, 1, ...) is all numbers too: it cannot be told
    # apart from a first row of votes 0, 1, ..., so it is refused as well
    pd.DataFrame(L[:, :2]).to_csv(src, index=False)
    assert main(["fit", str(src)]) == 2
    assert "(such as lf_0,lf_1) that are" in capsys.readouterr().err
    pd.DataFrame(L).to_csv(src, index=False)
    assert main(["fit", str(src), "-o", str(out)]) == 2
    assert "(such as lf_0,lf_1,lf_2,...) that are" in capsys.readouterr().err
    # A header in which some name is not a number is kept.
    pd.DataFrame(L, columns=["a", "1", "-1", "0.5"]).to_csv(src, index=False)
    assert main(["fit", str(src), "-o", str(out)]) == 0
    assert np.load(out).shape == (200, 2)


def test_make_label_matrix_reads_class_balance_series_by_class():
    # as value_counts gives it: class 1 first
    balance = pd.Series({1: 0.9, 0: 0.1})
    _, y, _ = make_label_matrix(2000, 2, class_balance=balance, random_state=0)
    assert 0.85 < y.mean() < 0.95
    with pytest.raises(ValueError, match=r"indexed by \['ham', 'spam'\]"):
        make_label_matrix(
            10, 2, class_balance=pd.Series([0.1, 0.9], index=["ham", "spam"])
        )


def test_make_label_matrix_rejects_bad_accuracies():
    with pytest.raises(ValueError, match="accuracies"):
        make_label_matrix(10, 3, accuracies=[0.7, 0.8])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"accuracies": [0.7, 0.8, 1.5]}, r"accuracies\[2\] = 1.5 is outside \[0, 1\]"),
        (
            {"accuracies": [-0.5, 0.8, 0.9]},
            r"accuracies\[0\] = -0.5 is outside \[0, 1\]",
        ),
        ({"accuracies": [0.7, np.nan, 0.9]}, r"accuracies\[1\] = nan is outside"),
        ({"accuracies": ["a", "b", "c"]}, r"accuracies must hold numbers in \[0, 1\]"),
        ({"coverages": [1.5, -0.2, 0.5]}, r"coverages\[0\] = 1.5 is outside \(0, 1\]"),
        ({"coverages": [0.5, 0.0, 0.5]}, r"coverages\[1\] = 0 is outside \(0, 1\]"),
        ({"coverages": [0.5, 0.5]}, r"coverages has shape \(2,\); expected \(3,\)"),
        ({"class_balance": [7, 3]}, r"class_balance\[0\] = 7 is outside \[0, 1\]"),
        ({"class_balance": [1.2, -0.2]}, r"class_balance\[0\] = 1.2 .*non-negative"),
        ({"class_balance": [0.6, 0.3]}, r"class_balance sums to 0.9; .* sum to 1"),
        (
            {"class_balance": [0.5, 0.3, 0.2]},
            r"class_balance has shape \(3,\); expected \(2,\), one probability per "
            r"class \(cardinality=2\)",
        ),
        ({"dependencies": [(0, 1, 2)]}, "must pair two distinct sources"),
        ({"dependencies": [(0, 3)]}, r"must pair two distinct sources in 0..2"),
    ],
)
def test_make_label_matrix_rejects_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        make_label_matrix(10, 3, **params)


def test_make_label_matrix_accepts_boundary_parameters():
    # 0 and 1 are valid accuracies (an adversarial and a perfect source), a
    # coverage of 1 votes on every row, and a class may have prior 0.
    L, y, acc = make_label_matrix(
        200,
        3,
        accuracies=[0.0, 1.0, 0.5],
        coverages=[1.0, 1.0, 1e-3],
        class_balance=[0.0, 1.0],
        random_state=0,
    )
    assert np.all(y == 1)
    assert np.all(L[:, 0] == 0) and np.all(L[:, 1] == 1)
    np.testing.assert_array_equal(acc, [0.0, 1.0, 0.5])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch):
    monkeypatch.setenv("SKLEARN_METAL_EXAMPLES_FAST", "1")
    runpy.run_path(str(path), run_name="__main__")


@pytest.mark.parametrize("script", ["bench_end_model.py", "bench_label_model.py"])
def test_benchmarks_name_the_missing_data_and_the_variable(tmp_path, script):
    path = Path(__file__).parents[1] / "benchmarks" / script
    env = dict(os.environ, SKLEARN_METAL_SHARED_DATA=str(tmp_path / "nowhere"))
    helped = subprocess.run(
        [sys.executable, str(path), "--help"], env=env, capture_output=True, text=True
    )
    assert helped.returncode == 0
    assert "SKLEARN_METAL_SHARED_DATA" in helped.stdout
    failed = subprocess.run(
        [sys.executable, str(path)], env=env, capture_output=True, text=True
    )
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr
    assert f"{script}: error: data set 'youtube' not found: no " in failed.stderr
    assert str(tmp_path / "nowhere" / "youtube") in failed.stderr
    assert "Set the environment variable SKLEARN_METAL_SHARED_DATA" in failed.stderr


@pytest.mark.parametrize(
    "content, message",
    [
        # A header-only file was reported as "column 'a' has dtype object".
        ("a,b\n", "has a header row but no rows of votes"),
        ("", "is an empty file"),
    ],
)
def test_fit_command_names_a_csv_without_votes(tmp_path, capsys, content, message):
    src = tmp_path / "L.csv"
    src.write_text(content)
    assert main(["fit", str(src)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"sklearn-metal: error: The label matrix {str(src)!r} {message}.\n"


def test_benchmark_census_loader_leaves_no_unpacked_archive(tmp_path):
    # benchmarks/_datasets.py unpacks census.tar.gz to read it and caches the
    # votes as .npz; the unpacked folder (119 MB for the real census) must go.
    import json
    import tarfile

    data, src, tmp = tmp_path / "data", tmp_path / "src", tmp_path / "tmp"
    for folder in (data / "census", src / "census", tmp):
        folder.mkdir(parents=True)
    for split, n in (("train", 3), ("valid", 2), ("test", 2)):
        rows = {
            str(i): {"data": {}, "label": i % 2, "weak_labels": [i % 2, -1]}
            for i in range(n)
        }
        (src / "census" / f"{split}.json").write_text(json.dumps(rows))
    with tarfile.open(data / "census" / "census.tar.gz", "w:gz") as tar:
        tar.add(src / "census", arcname="census")
    code = (
        "import _datasets; d = _datasets.load('census'); "
        "print(d['L_train'].shape, d['L_test'].shape)"
    )
    env = dict(os.environ, SKLEARN_METAL_SHARED_DATA=str(data), TMPDIR=str(tmp))
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parents[1] / "benchmarks",
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "(3, 2) (2, 2)"
    # only the .npz cache of the votes is left in the temporary directory
    assert [p.suffix for p in tmp.iterdir()] == [".npz"]


def test_readme_snippets_run_in_order():
    # README's python blocks build on each other; its ``df`` is a frame with a
    # "text" column, here a sample of the bundled YouTube comments

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) >= 3
    df = load_youtube_spam().frame.sample(150, random_state=0)
    namespace = {"df": df.reset_index(drop=True)}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    soft = namespace["soft_labels"]
    assert soft.shape == (150, 2)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0)
    assert namespace["search"].best_params_ is not None
    summary = namespace["lf_summary"](namespace["L"], label_model=namespace["model"])
    assert list(summary["coverage"]) == [0.8, 0.6, 0.6]


def test_fit_command_verbose_prints_progress_on_stderr(tmp_path, capsys):
    L, _, _ = make_label_matrix(200, 4, random_state=0)
    np.save(tmp_path / "L.npy", L)
    assert main(["fit", str(tmp_path / "L.npy"), "--verbose"]) == 0
    out, err = capsys.readouterr()
    # stdout is the probabilities only, as without --verbose
    proba = pd.read_csv(io.StringIO(out))
    np.testing.assert_allclose(proba, LabelModel().fit(L).predict_proba(L))
    assert "LabelModel iteration 1: loss" in err
    assert main(["fit", str(tmp_path / "L.npy")]) == 0
    assert "iteration" not in capsys.readouterr().err


def test_snorkel_migration_guide_runs_in_order(tmp_path, monkeypatch):
    # docs/migrating_from_snorkel.md's python blocks build on each other on the
    # bundled YouTube comments; one epoch of the end model keeps it fast
    text = (
        Path(__file__).parents[1] / "docs" / "migrating_from_snorkel.md"
    ).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 5
    monkeypatch.chdir(tmp_path)  # the last block saves a model
    namespace = {}
    for block in blocks:
        block = block.replace("max_epochs=20", "max_epochs=1")
        exec(compile(block, "migrating_from_snorkel.md", "exec"), namespace)
    L_train, L_test = namespace["L_train"], namespace["L_test"]
    assert L_train.shape == (1586, 8) and L_test.shape == (370, 8)
    assert all(dtype == np.int64 for dtype in L_train.dtypes)
    # the table's numbers for the label models
    assert round(100 * namespace["accuracy"], 1) == 85.4
    assert round(100 * namespace["f1"], 1) == 86.1
    assert round(100 * namespace["majority_accuracy"], 1) == 84.1
    assert round(100 * namespace["classifier_accuracy"], 1) == 91.9
    summary = namespace["summary_gold"]
    assert list(summary.columns) == [
        "polarity",
        "coverage",
        "overlaps",
        "conflicts",
        "correct",
        "incorrect",
        "empirical_accuracy",
    ]
    # the preprocessed labeling function votes where its rule holds
    text = namespace["df_train"]["text"]
    n_upper = text.map(lambda t: sum(c.isupper() for c in t))
    rule = (text.str.len() > 20) & (n_upper / text.str.len() > 0.3)
    np.testing.assert_array_equal(L_train["shouting"], np.where(rule, 1, -1))
    restored = namespace["restored"]
    np.testing.assert_array_equal(
        restored.predict_proba(L_test), namespace["label_model"].predict_proba(L_test)
    )


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".parquet"])
def test_fit_command_that_fails_writing_leaves_no_truncated_output(
    tmp_path, capsys, monkeypatch, suffix
):
    # the output was written in place: a write that failed part-way (a full
    # disk: exit status 2) left a truncated file, over an earlier good one
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    L, _, _ = make_label_matrix(200, 4, random_state=0)
    src = tmp_path / "L.npy"
    np.save(src, L)
    out = tmp_path / f"p{suffix}"
    assert main(["fit", str(src), "-o", str(out)]) == 0
    good = out.read_bytes()

    def full_disk(self_or_file, path_or_array, *args, **kwargs):
        target = path_or_array if suffix != ".npy" else self_or_file
        if hasattr(target, "write"):  # np.save's file object: no file name
            target.write(good[:100])
            raise OSError(28, "No space left on device")
        Path(target).write_bytes(good[:100])
        raise OSError(28, "No space left on device", str(target))

    owner, name = {
        ".csv": (pd.DataFrame, "to_csv"),
        ".npy": (np, "save"),
        ".parquet": (pd.DataFrame, "to_parquet"),
    }[suffix]
    monkeypatch.setattr(owner, name, full_disk)
    capsys.readouterr()
    assert main(["fit", str(src), "-o", str(out)]) == 2
    assert out.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["L.npy", out.name]
    named = "" if suffix == ".npy" else f": {str(out)!r}"
    assert capsys.readouterr().err == (
        f"sklearn-metal: error: No space left on device{named}.\n"
    )
    # a new output that fails is not left half-written either
    out.unlink()
    assert main(["fit", str(src), "-o", str(out)]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["L.npy"]


def test_datasets_and_json_log_read_and_write_utf8_under_any_locale(tmp_path):
    # JSON is UTF-8, but open() without an encoding used the locale's: under
    # LC_ALL=C (or Windows' cp1252) a WRENCH folder with raw UTF-8 text raised
    # UnicodeDecodeError ('ascii' codec can't decode byte 0xc3), and the
    # loaders and the JSON log warned EncodingWarning under
    # -X warn_default_encoding.
    import json

    rows = {"0": {"data": {"text": "café"}, "label": 0, "weak_labels": [0, -1]}}
    for split in ("train", "valid", "test"):
        text = json.dumps(rows, ensure_ascii=False)
        (tmp_path / f"{split}.json").write_text(text, encoding="utf-8")
    code = """if True:
        import sys, warnings
        import numpy as np
        from sklearn_metal import MultitaskClassifier
        from sklearn_metal.datasets import (
            load_wrench, load_youtube_votes
        )
        X = np.random.RandomState(0).normal(size=(20, 3)).astype(np.float32)
        net = MultitaskClassifier(
            {"a": 2}, max_epochs=1, verbose=0, log_writer="json", log_dir=sys.argv[1]
        )
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", EncodingWarning)
            data = load_wrench(sys.argv[1])
            load_youtube_votes()
            net.fit(X, (X[:, :1] > 0).astype(int))
        assert data.train.data == [{"text": "caf\\xe9"}], data.train.data
        found = [f"{w.filename}:{w.lineno}: {w.message}" for w in seen
                 if issubclass(w.category, EncodingWarning)]
        assert not found, found
    """
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parents[1]), env.get("PYTHONPATH", "")]
    )
    proc = subprocess.run(
        [sys.executable, "-X", "warn_default_encoding", "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "history.jsonl").exists()


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_fit_command_output_keeps_the_permissions_of_the_file_it_replaces(
    tmp_path, mode
):
    # the output is written to a .part file and renamed onto the target: the
    # new file took the default mode (0644 under umask 022), so an output kept
    # private with chmod 600 became readable by every user
    L, _, _ = make_label_matrix(100, 4, random_state=0)
    src = tmp_path / "L.npy"
    np.save(src, L)
    out = tmp_path / "p.csv"
    out.write_text("old\n")
    out.chmod(mode)
    assert main(["fit", str(src), "-o", str(out)]) == 0
    assert out.read_text() != "old\n"
    assert stat.S_IMODE(out.stat().st_mode) == mode


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_fit_command_writes_in_place_where_no_new_file_may_be_created(
    tmp_path, monkeypatch, suffix
):
    # the .part file beside the output cannot be created in a folder the user
    # may not write to; an existing writable output there was written in place
    # before the .part-and-rename write, and still is (simulated: the sessions
    # that run these tests are root, who may write anywhere)
    import builtins

    from sklearn_metal import cli

    def no_new_files(file, mode="r", *args, **kwargs):
        if str(file).endswith(".part"):
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, mode, *args, **kwargs)

    L, _, _ = make_label_matrix(100, 4, random_state=0)
    src = tmp_path / "L.npy"
    np.save(src, L)
    expected = tmp_path / f"expected{suffix}"
    assert main(["fit", str(src), "-o", str(expected)]) == 0
    out = tmp_path / f"p{suffix}"
    out.write_bytes(b"old")
    monkeypatch.setattr(cli, "open", no_new_files, raising=False)
    assert main(["fit", str(src), "-o", str(out)]) == 0
    assert out.read_bytes() == expected.read_bytes()
    assert not list(tmp_path.glob("*.part"))
    # no file to write in place: the error names the output
    with pytest.raises(PermissionError) as info:
        cli._write(pd.DataFrame({"a": [1]}), str(tmp_path / f"new{suffix}"))
    assert info.value.filename == str(tmp_path / f"new{suffix}")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_demo_shows_the_end_model_epochs_on_a_terminal(monkeypatch, capsys):
    # the end model trains for about 10 s (30 epochs) after the label model:
    # a terminal sees a bar of the epochs on stderr, captured output none
    assert main(["demo", "--epochs", "2"]) == 0
    out, err = capsys.readouterr()
    assert "(2 epochs) ..." in out and "epochs:" not in err
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["demo", "--epochs", "2"]) == 0
    assert "epochs: 100%" in terminal.getvalue() and "2/2" in terminal.getvalue()


def test_fit_names_a_written_row_index_as_the_likely_bad_column(tmp_path, capsys):
    # DataFrame.to_csv writes the index as a first column (named after the
    # index, or 'Unnamed: 0' when read back): its values are not votes, and
    # --cardinality, the only hint before, would not have helped
    L, _, _ = make_label_matrix(50, 3, random_state=0)
    frame = pd.DataFrame(L, columns=["a", "b", "c"])
    frame.to_csv(tmp_path / "unnamed.csv")
    frame.rename_axis("question").to_csv(tmp_path / "named.csv")
    for name, column in (("unnamed", "'Unnamed: 0'"), ("named", "'question'")):
        assert main(["fit", str(tmp_path / f"{name}.csv")]) == 2
        err = capsys.readouterr().err
        assert f"column {column} (index 0)" in err
        assert "to_csv writes one unless index=False" in err
    # a bad vote in another column keeps the plain hint
    L[4, 1] = 3
    pd.DataFrame(L, columns=["a", "b", "c"]).to_csv(tmp_path / "v.csv", index=False)
    assert main(["fit", str(tmp_path / "v.csv")]) == 2
    err = capsys.readouterr().err
    assert "Pass --cardinality K" in err and "index=False" not in err
