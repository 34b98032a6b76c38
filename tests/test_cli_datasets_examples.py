import runpy
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

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
EXAMPLES = sorted((Path(__file__).parents[1] / "examples").rglob("plot_*.py"))


def test_load_youtube_votes():
    data = load_youtube_votes()
    assert data.L_train.shape == (1686, 10)
    assert data.train_is_gold.sum() == 100
    assert set(np.unique(data.L_train)) <= {-1, 0, 1}
    framed = load_youtube_votes(as_frame=True)
    assert list(framed.L_test.columns) == data.feature_names


def test_demo_runs_the_whole_pipeline(capsys):
    assert main(["demo", "--epochs", "5"]) == 0
    out = capsys.readouterr().out
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
    assert "value 7" in capsys.readouterr().err
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
    assert main(["fit", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-metal: error: ") and "missing_dir" in err


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


def test_fit_help_explains_abstain(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    assert "-1 when the source abstains" in capsys.readouterr().out


def test_load_youtube_spam_and_wrench():
    data = load_youtube_spam()
    assert len(data.text) == 1956 and set(data.target) == {0, 1}
    assert (data.split == "test").sum() == 370
    from sklearn_metal.datasets import load_wrench

    wrench = load_wrench(SHARED / "youtube")
    assert wrench.train.L.shape == (1686, 10)
    assert wrench.target_names == ["HAM", "SPAM"]
    assert len(wrench.labeled_ids) == 100
    assert wrench.test.data[0]["text"]


def test_make_label_matrix_dependencies():
    L, y, _ = make_label_matrix(5000, 4, dependencies=[(0, 3)], random_state=0)
    agree = np.mean(L[:, 0] == L[:, 3])
    assert agree > 0.9
    with pytest.raises(ValueError, match="distinct"):
        make_label_matrix(10, 3, dependencies=[(1, 1)])


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


def test_make_label_matrix_rejects_bad_accuracies():
    with pytest.raises(ValueError, match="accuracies"):
        make_label_matrix(10, 3, accuracies=[0.7, 0.8])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch):
    monkeypatch.setenv("SKLEARN_METAL_EXAMPLES_FAST", "1")
    runpy.run_path(str(path), run_name="__main__")
