import runpy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn_metal import LabelModel
from sklearn_metal.cli import main
from sklearn_metal.datasets import load_youtube_votes, make_label_matrix

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").rglob("plot_*.py"))


def test_load_youtube_votes():
    data = load_youtube_votes()
    assert data.L_train.shape == (1686, 10)
    assert data.train_is_gold.sum() == 100
    assert set(np.unique(data.L_train)) <= {-1, 0, 1}
    framed = load_youtube_votes(as_frame=True)
    assert list(framed.L_test.columns) == data.feature_names


def test_demo_beats_majority_vote(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Test accuracy"))
    acc_lm, acc_mv = (float(t) for t in line.replace(":", " ").split() if "." in t)
    assert acc_lm > acc_mv


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
def test_example_runs(path):
    runpy.run_path(str(path), run_name="__main__")
