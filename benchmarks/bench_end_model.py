"""End model on YouTube spam: soft labels vs majority-vote labels vs gold labels.

What it measures
----------------
On the WRENCH youtube set (comment text in ``data.text``, ten labeling functions),
TF-IDF features of the comments feed ``sklearn_metal.EndModel`` trained on

(a) the default ``LabelModel``'s soft labels (``predict_proba`` of the train votes),
(b) majority-vote hard labels (ties to the lowest class),
(b') majority-vote soft labels (``MajorityLabelVoter.predict_proba``: a tie splits
     the row evenly between the tied classes; on youtube 248 of the 1,506 covered
     train rows are ties, which (b) all calls ham),
(c) the gold train labels (the ceiling),

and the table also gives the ``LabelModel``'s own test accuracy (from the test
votes alone). (a), (b) and (b') train on the rows where at least one labeling
function voted, as is usual in weak supervision (rows nobody labeled carry no
signal); (c) trains on every row. No gold label is used by (a), (b) or (b'): their
validation split is the default internal one, stratified by the argmax of their own
labels.
Each end model is trained with ``--seeds`` random states; the table reports mean
and standard deviation of test accuracy.

How to run
----------
From the project root::

    python benchmarks/bench_end_model.py
    python benchmarks/bench_end_model.py --seeds 10

The WRENCH youtube set is read from ``shared/data/youtube`` next to the project
root; set the environment variable ``SKLEARN_METAL_SHARED_DATA`` to the folder
that holds ``youtube/`` to read it from elsewhere (see ``_datasets.py``).
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from _datasets import (  # noqa: E402
    DATA_HELP,
    SharedDataNotFoundError,
    load,
    load_texts,
)
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402

from sklearn_metal import EndModel, LabelModel, MajorityLabelVoter  # noqa: E402


def run(seeds):
    data = load("youtube")
    texts = load_texts("youtube")
    L_train, L_test, y_test = data["L_train"], data["L_test"], data["y_test"]
    y_train = data["y_train"]
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    X_train = vec.fit_transform(texts["train"])
    X_test = vec.transform(texts["test"])

    label_model = LabelModel().fit(L_train)
    soft = label_model.predict_proba(L_train)
    mv = MajorityLabelVoter().fit(L_train).predict(L_train)
    mv_soft = MajorityLabelVoter().fit(L_train).predict_proba(L_train)
    covered = (L_train != -1).any(axis=1)
    lm_test = accuracy_score(y_test, np.argmax(label_model.predict_proba(L_test), 1))
    mv_test = accuracy_score(y_test, MajorityLabelVoter().fit(L_train).predict(L_test))

    cases = {
        "(a) end model on LabelModel soft labels": (X_train[covered], soft[covered]),
        "(b) end model on majority-vote labels": (X_train[covered], mv[covered]),
        "(b') end model on majority-vote soft labels": (
            X_train[covered],
            mv_soft[covered].astype(np.float32),
        ),
        "(c) end model on gold labels (ceiling)": (X_train, y_train),
    }
    rows = []
    for name, (X, y) in cases.items():
        accs = []
        for seed in range(seeds):
            model = EndModel(
                hidden_layer_sizes=(100,),
                dropout=0.2,
                lr=1e-3,
                max_epochs=50,
                patience=5,
                verbose=0,
                random_state=seed,
            )
            model.fit(X, y)
            accs.append(model.score(X_test, y_test))
        rows.append((name, np.mean(accs), np.std(accs)))
    print(f"YouTube spam (WRENCH), test accuracy, {len(y_test)} test comments")
    print(
        f"train rows: {X_train.shape[0]} ({covered.sum()} covered by a labeling "
        f"function), TF-IDF features: {X_train.shape[1]}, seeds: {seeds}"
    )
    print()
    print(f"{'method':45s} {'accuracy':>9s} {'std':>6s}")
    print("-" * 62)
    print(f"{'LabelModel alone (test votes)':45s} {100 * lm_test:9.2f} {'':>6s}")
    print(f"{'majority vote alone (test votes)':45s} {100 * mv_test:9.2f} {'':>6s}")
    for name, mean, std in rows:
        print(f"{name:45s} {100 * mean:9.2f} {100 * std:6.2f}")
    soft_acc, mv_acc = rows[0][1], max(rows[1][1], rows[2][1])
    print()
    print(
        "end model on soft labels beats the label model alone: "
        f"{'yes' if soft_acc > lm_test else 'no'}; beats both MV-trained end "
        f"models: {'yes' if soft_acc > mv_acc else 'no'}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog=DATA_HELP
    )
    parser.add_argument(
        "--seeds", type=int, default=5, help="random states per end model (default: 5)"
    )
    args = parser.parse_args(argv)
    try:
        run(args.seeds)
    except SharedDataNotFoundError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")


if __name__ == "__main__":
    main()
