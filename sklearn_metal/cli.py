"""Command line: ``sklearn-metal demo`` and ``sklearn-metal fit``."""

import argparse
import sys

import numpy as np
import pandas as pd

__all__ = ["main"]


def _demo(args):
    from sklearn.metrics import accuracy_score

    from . import LabelModel, MajorityLabelVoter
    from .datasets import load_youtube_votes

    data = load_youtube_votes(as_frame=True)
    print(
        "YouTube spam (WRENCH votes, bundled): "
        f"{data.L_train.shape[0]} train rows, {data.L_test.shape[0]} test rows, "
        f"{data.L_train.shape[1]} labeling functions; no gold labels used to fit."
    )
    model = LabelModel(cardinality=2).fit(data.L_train)
    mv = MajorityLabelVoter(cardinality=2).fit(data.L_train)
    print(f"LabelModel converged={model.converged_} in {model.n_iter_} iterations")
    print("class balance (ham, spam):", np.round(model.class_balance_, 3).tolist())
    print("\nLearned source parameters:")
    print(model.get_source_parameters().round(3).to_string())
    acc_lm = accuracy_score(data.y_test, model.predict(data.L_test))
    acc_mv = accuracy_score(data.y_test, mv.predict(data.L_test))
    print(f"\nTest accuracy  LabelModel: {acc_lm:.3f}   majority vote: {acc_mv:.3f}")
    if args.output:
        proba = model.predict_proba(data.L_train)
        pd.DataFrame(proba, columns=data.target_names).to_csv(args.output, index=False)
        print(f"Soft training labels written to {args.output}")
    return 0


def _fit(args):
    from . import LabelModel

    L = pd.read_csv(args.label_matrix)
    model = LabelModel(cardinality=args.cardinality, method=args.method).fit(L)
    proba = model.predict_proba(L)
    out = pd.DataFrame(proba, columns=[f"p_{c}" for c in model.classes_])
    out.to_csv(args.output or sys.stdout, index=False)
    print(model.get_source_parameters().round(4).to_string(), file=sys.stderr)
    return 0


def main(argv=None):
    """Entry point of the ``sklearn-metal`` command.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        Exit status.

    Examples
    --------
    >>> from sklearn_metal.cli import main
    >>> main(["demo"])  # doctest: +ELLIPSIS
    YouTube spam ...
    0
    """
    parser = argparse.ArgumentParser(
        prog="sklearn-metal", description="Weak supervision with scikit-learn."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit a LabelModel on the bundled YouTube votes")
    demo.add_argument("--output", help="CSV file for the soft training labels")
    demo.set_defaults(func=_demo)
    fit = sub.add_parser("fit", help="fit a LabelModel on a CSV label matrix")
    fit.add_argument("label_matrix", help="CSV with one column per source, -1 abstains")
    fit.add_argument("--cardinality", type=int, default=2)
    fit.add_argument("--method", choices=["auto", "moments", "em"], default="auto")
    fit.add_argument("--output", help="CSV for the probabilities (default: stdout)")
    fit.set_defaults(func=_fit)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
