"""Command line: ``sklearn-metal demo`` and ``sklearn-metal fit``."""

import argparse
import contextlib
import errno
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["main"]

_ABSTAIN_HELP = """\
The label matrix has one row per example and one column per source (labeling
function, crowd worker, heuristic). Each entry is the source's vote: a class
0..K-1, or -1 when the source abstains (has no opinion on that example).
Supported files: .csv (a header row of source names, which must not all be
numbers, as pandas' default 0,1,2,... would be), .npy and .parquet (which needs
pyarrow or fastparquet installed).
The output has one column p_0..p_{K-1} per class; each row sums to 1, and rows
on which every source abstained get the learned class balance."""

#: The suffixes ``--output`` can write (as named in ``--help``).
_OUTPUT_SUFFIXES = (".csv", ".npy", ".parquet")

#: Exit status after the reader of stdout went away (``... | head``): 128 +
#: SIGPIPE, the status a shell reports for a writer that SIGPIPE ended.
_BROKEN_PIPE_STATUS = 141


def _int_at_least(minimum):
    """An argparse ``type`` for integers ``>= minimum``, checked while parsing."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not an integer; expected an integer >= {minimum}."
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{value} is too small; expected an integer >= {minimum}."
            )
        return value

    return parse


#: What pandas needs to read or write Parquet, and how to get it.
_PARQUET_ENGINE = "Parquet needs pyarrow or fastparquet (pip install pyarrow)"


def _has_parquet_engine():
    """Whether pyarrow or fastparquet, pandas' Parquet engines, can be imported."""
    for name in ("pyarrow", "fastparquet"):
        try:
            __import__(name)
        except ImportError:
            continue
        return True
    return False


def _output_file(text):
    """An argparse ``type`` for ``--output``: a path with a suffix we can write."""
    suffix = Path(text).suffix.lower()
    if suffix not in _OUTPUT_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: the file name must end in "
            f"{', '.join(_OUTPUT_SUFFIXES[:-1])} or {_OUTPUT_SUFFIXES[-1]}."
        )
    if suffix == ".parquet" and not _has_parquet_engine():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {_PARQUET_ENGINE}.")
    folder = Path(text).expanduser().parent
    if not folder.is_dir():
        # refused before any work, not after the fit
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: the folder {str(folder)!r} does not exist."
        )
    # ``--output=~/p.csv`` reaches us unexpanded by the shell
    return str(Path(text).expanduser())


def _silence_stdout():
    """Point stdout at devnull, so that the exit-time flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # stdout without a descriptor
        pass


def _epoch_bar():
    """A skorch callback showing the epochs as a tqdm bar on stderr.

    tqdm shows it only on a terminal (``disable=None``), so logs and captured
    output get no bar.
    """
    from skorch.callbacks import Callback
    from tqdm.auto import tqdm

    class EpochBar(Callback):
        def on_train_begin(self, net, **kwargs):
            self.bar_ = tqdm(
                total=net.max_epochs, desc="epochs", file=sys.stderr, disable=None
            )

        def on_epoch_end(self, net, **kwargs):
            self.bar_.update(1)

        def on_train_end(self, net, **kwargs):
            self.bar_.close()

    return EpochBar()


def _demo(args):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import accuracy_score

    from . import EndModel, LabelModel, LFApplier, MajorityLabelVoter, lf_summary
    from .datasets import load_youtube_spam, youtube_spam_lfs

    start = time.perf_counter()
    data = load_youtube_spam()
    train, test = data.split == "train", data.split == "test"
    print(
        "UCI YouTube Spam Collection (bundled, CC BY 4.0): "
        f"{train.sum()} train comments (videos 1-4), {test.sum()} test (video 5)."
    )

    t0 = time.perf_counter()
    applier = LFApplier(youtube_spam_lfs()).set_output(transform="pandas")
    L = applier.fit_transform(data.frame)
    t_lfs = time.perf_counter() - t0
    print(f"\n1. {L.shape[1]} labeling functions on {L.shape[0]} comments:")
    summary = lf_summary(L[train], data.target[train])
    print(summary.round(3).to_string())

    t0 = time.perf_counter()
    model = LabelModel().fit(L[train])
    t_lm = time.perf_counter() - t0
    mv = MajorityLabelVoter().fit(L[train])
    acc_lm = accuracy_score(data.target[test], model.predict(L[test]))
    acc_mv = accuracy_score(data.target[test], mv.predict(L[test]))
    print(
        f"\n2. LabelModel (no gold labels, fit {1000 * t_lm:.1f} ms): test accuracy "
        f"{acc_lm:.3f}; majority vote: {acc_mv:.3f}"
    )

    print(
        f"\n3. EndModel on TF-IDF, trained on the soft labels ({args.epochs} "
        "epochs) ...",
        flush=True,
    )
    t0 = time.perf_counter()
    soft = model.predict_proba(L[train])
    covered = (L[train].to_numpy() != -1).any(axis=1)
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    X_train = vec.fit_transform(data.text[train])
    end_model = EndModel(
        dropout=0.2,
        max_epochs=args.epochs,
        verbose=0,
        random_state=0,
        callbacks=[("epoch_bar", _epoch_bar())],
    ).fit(X_train[covered], soft[covered])
    t_end = time.perf_counter() - t0
    acc_end = end_model.score(vec.transform(data.text[test]), data.target[test])
    print(f"   trained in {t_end:.1f} s: test accuracy {acc_end:.3f}")
    print(
        f"\nTimings: labeling functions {t_lfs:.2f} s, label model "
        f"{1000 * t_lm:.1f} ms, end model {t_end:.1f} s, total "
        f"{time.perf_counter() - start:.1f} s."
    )
    if args.output:
        probs = model.predict_proba(L)
        _write(pd.DataFrame(probs, columns=data.target_names), args.output)
        print(f"Soft labels for all comments written to {args.output}")
    return 0


#: A number as a CSV header name: an integer vote (``-1``, ``0``, ``1``) or the
#: name pandas gives a repeated one (``-1.1``, ``-1.2``).
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def _read_csv(path):
    """Read a CSV label matrix, refusing one whose header row is votes."""
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError(f"The label matrix {str(path)!r} is an empty file.") from None
    if len(frame) == 0:
        # pandas reads the columns of a header-only file as strings
        raise ValueError(
            f"The label matrix {str(path)!r} has a header row but no rows of votes."
        )
    names = [str(name).strip() for name in frame.columns]
    # pandas' default header 0, 1, ..., m - 1 is refused too: it cannot be
    # told apart from a first row of votes 0, 1, ..., m - 1
    if names and all(_NUMBER.fullmatch(name) for name in names):
        example = ",".join(f"lf_{j}" for j in range(min(len(names), 3)))
        more = ",..." if len(names) > 3 else ""
        raise ValueError(
            f"The first row of {str(path)!r} holds only numbers: it looks like "
            "votes, not source names. The CSV needs a header row of source names "
            f"(such as {example}{more}) that are not all numbers."
        )
    return frame


def _read_npy(path):
    """Read a ``.npy`` label matrix; anything else raises a ``ValueError``."""
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic != b"\x93NUMPY":
        kind = "a .npz archive" if magic[:2] == b"PK" else "no .npy file"
        raise ValueError(
            f"Cannot read the label matrix {str(path)!r}: it is {kind} (it does "
            "not start with the NumPy header); save L with numpy.save."
        )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as exc:  # object arrays, truncated data, ...
        raise ValueError(f"Cannot read the label matrix {str(path)!r}: {exc}") from exc


def _read_matrix(path):
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    readers = {
        ".npy": _read_npy,
        ".parquet": pd.read_parquet,
        ".csv": _read_csv,
        ".txt": _read_csv,
    }
    if suffix not in readers:
        raise ValueError(
            f"Cannot read {path.name}: expected a .csv, .npy or .parquet label matrix."
        )
    if not path.is_file():
        reason = "is a directory" if path.is_dir() else "no such file"
        raise ValueError(f"Cannot read the label matrix {str(path)!r}: {reason}.")
    try:
        return readers[suffix](path)
    except OSError as exc:  # no permission, a read error, ...
        raise ValueError(
            f"Cannot read the label matrix {str(path)!r}: {exc.strerror or exc}."
        ) from exc
    except ImportError as exc:  # pandas found no Parquet engine
        raise ValueError(
            f"Cannot read the label matrix {str(path)!r}: {_PARQUET_ENGINE}."
        ) from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:  # a malformed CSV
        raise ValueError(f"Cannot read the label matrix {str(path)!r}: {exc}") from exc


def _os_error(exc):
    """The reason of an OSError as a sentence, without the errno."""
    if exc.strerror is None:
        return f"{exc}."
    if exc.filename is None:
        return f"{exc.strerror}."
    return f"{exc.strerror}: {str(exc.filename)!r}."


def _save(frame, suffix, dest):
    if suffix == ".npy":
        # Through a file object: ``np.save`` appends ``.npy`` to a name that
        # does not end in it, such as ``probs.NPY``.
        with open(dest, "wb") as f:
            np.save(f, frame.to_numpy())
    elif suffix == ".parquet":
        frame.to_parquet(dest, index=False)
    else:
        frame.to_csv(dest, index=False)


def _write(frame, path):
    """Write ``frame`` to ``path`` (stdout when None), whole or not at all.

    The file is written next to ``path`` under a temporary name and renamed
    onto it once complete: a write that fails part-way (a full disk, Ctrl-C)
    leaves no truncated output, and an earlier file at ``path`` as it was.
    The new file takes the permission bits of the file it replaces. In a
    folder where no new file may be created, an existing writable file is
    written in place.
    """
    if path is None:
        frame.to_csv(sys.stdout, index=False)
        return
    suffix = Path(path).suffix.lower()
    if suffix not in _OUTPUT_SUFFIXES:  # _output_file rejects it while parsing
        raise ValueError(f"Cannot write {path!r}: unknown suffix {suffix!r}.")
    # through a link, the file it points to is replaced, not the link
    target = Path(os.path.realpath(path))
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        open(partial, "wb").close()
    except PermissionError:
        if not os.access(target, os.W_OK):
            raise PermissionError(
                errno.EACCES, "Permission denied", str(path)
            ) from None
        _save(frame, suffix, target)  # (as before the temporary file)
        return
    try:
        _save(frame, suffix, partial)
        # the new file keeps the permissions of the one it replaces (a file
        # kept private with mode 600 stays private)
        with contextlib.suppress(FileNotFoundError):
            shutil.copymode(target, partial)
        os.replace(partial, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(partial)
        if isinstance(exc, OSError) and exc.filename == str(partial):
            exc.filename = path  # the error names the file the user named
        raise


def _fit(args):
    from . import LabelModel

    L = _read_matrix(args.label_matrix)
    model = LabelModel(
        cardinality=args.cardinality, method=args.method, verbose=args.verbose
    )
    # the fit's progress on stderr: stdout may carry the probabilities
    with contextlib.redirect_stdout(sys.stderr):
        model.fit(L)
    proba = model.predict_proba(L)
    out = pd.DataFrame(proba, columns=[f"p_{c}" for c in model.classes_])
    _write(out, args.output)
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
        Exit status: 0; 2 after printing ``sklearn-metal: error: ...`` to
        stderr when an input value is invalid or a file cannot be read or
        written; 141 (128 + SIGPIPE, as for any command that SIGPIPE ends),
        with nothing printed, when the reader of stdout goes away early, as
        in ``sklearn-metal fit L.csv | head``. Invalid arguments (a count
        below its minimum, an ``--output`` name whose suffix is not ``.csv``,
        ``.npy`` or ``.parquet``, a ``.parquet`` one without pyarrow or
        fastparquet installed, one in a folder that does not exist) exit with
        status 2 while they are parsed, before any work
        (:class:`SystemExit`, as for every argparse error). An ``--output``
        file is written whole or not at all: a write that fails part-way
        (a full disk, Ctrl-C) leaves no truncated file, and an earlier file
        of that name as it was; except in a folder where no new file may be
        created, where an existing writable output is written in place.

    Examples
    --------
    >>> from sklearn_metal.cli import main
    >>> main(["demo", "--epochs", "2"])  # doctest: +ELLIPSIS
    UCI YouTube Spam Collection ...
    0
    """
    parser = argparse.ArgumentParser(
        prog="sklearn-metal", description="Weak supervision with scikit-learn."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="labeling functions -> LabelModel -> EndModel on bundled spam data",
    )
    demo.add_argument(
        "--epochs", type=_int_at_least(1), default=30, help="end-model epochs (>= 1)"
    )
    demo.add_argument(
        "--output",
        type=_output_file,
        help="file for the soft labels of all comments: .csv, .npy or .parquet",
    )
    demo.set_defaults(func=_demo)
    fit = sub.add_parser(
        "fit",
        help="fit a LabelModel on a label matrix file",
        description="Fit a LabelModel on a label matrix and write probabilistic "
        "labels.\n\n" + _ABSTAIN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("label_matrix", help="label matrix: .csv, .npy or .parquet")
    fit.add_argument(
        "--cardinality",
        "-k",
        type=_int_at_least(2),
        default=2,
        help="classes K (>= 2; default: 2)",
    )
    fit.add_argument(
        "--method",
        choices=["auto", "moments", "em"],
        default="auto",
        help="LabelModel's method (default: auto)",
    )
    fit.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="print the fit's loss at each iteration (on stderr)",
    )
    fit.add_argument(
        "--output",
        "-o",
        type=_output_file,
        help="output .csv, .npy or .parquet (default: CSV on stdout)",
    )
    fit.set_defaults(func=_fit)
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
    except BrokenPipeError:  # the reader went away: ``... | head``
        _silence_stdout()
        return _BROKEN_PIPE_STATUS
    except ValueError as exc:
        hint = ""
        value = re.search(r"holds the value (\d+) at row", str(exc))
        if args.command == "fit" and value and int(value[1]) >= args.cardinality:
            hint = " Pass --cardinality K for a label matrix with K classes."
            if "(index 0) holds" in str(exc) and str(
                args.label_matrix
            ).lower().endswith(".csv"):
                # pandas' to_csv writes the row index as a first column
                hint = (
                    " If that first column is a row index (DataFrame.to_csv "
                    "writes one unless index=False), write the CSV without it;"
                    " else pass --cardinality K for K classes."
                )
        print(f"sklearn-metal: error: {exc}{hint}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. no permission to write the output file
        print(f"sklearn-metal: error: {_os_error(exc)}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
