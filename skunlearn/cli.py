"""The ``skunlearn`` command: ``skunlearn demo`` and ``skunlearn forget``.

``skunlearn demo`` runs the five-step audit (fit, choose forget rows, unlearn,
retrain the gold standard, compare) on scikit-learn's bundled data sets for
each estimator family in :data:`skunlearn._demo.DEMO_CASES`, and prints a
table; ``--plot FILE.png`` draws the loss distributions.

``skunlearn forget MODEL --rows REQUEST.csv --output NEW_MODEL`` applies a
deletion request (a CSV of rows) to a saved model and saves the result, with
an optional JSON report. Exit status: 0 on success, 1 when the request cannot
be applied (unknown rows, bad columns; nothing is written), 2 for usage
errors and refused files.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import csv
import importlib
import json
import os
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timezone

import numpy as np

__all__ = ["load_model", "main", "save_model", "trusted_types"]

_DATASETS = ("diabetes", "breast_cancer", "digits", "wine", "iris")
_TRUSTED_ROOTS = ("skunlearn", "sklearn", "numpy", "scipy", "builtins")
# Only classes may come from these roots; functions are trusted from our own
# code and scikit-learn's, never from numpy, scipy or builtins (numpy.load,
# builtins.eval and friends could run code when skops calls them).
_FUNCTION_ROOTS = ("skunlearn", "sklearn")


class CommandError(Exception):
    """A request that cannot be applied: message for the user, exit status."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------- output
class _Progress:
    """One status line on a terminal's stderr; nothing when not a terminal."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.active = bool(getattr(self.stream, "isatty", lambda: False)())
        self._width = 0

    def update(self, text):
        if not self.active:
            return
        text = text[:100]
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def done(self):
        if self.active and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


# -------------------------------------------------------------- model files
def _resolve(name):
    """The object a skops type name refers to, for an allowed root module only."""
    parts = name.split(".")
    if parts[0] not in _TRUSTED_ROOTS:
        return None
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def trusted_types(path):
    """Split the types a skops file needs into trusted and refused ones.

    skops refuses to load any type it does not trust by default and lists
    them with :func:`skops.io.get_untrusted_types`. This command trusts:

    - classes defined in ``skunlearn``, ``sklearn``, ``numpy``, ``scipy`` and
      ``builtins`` (the package's own estimators, strategies and ledger, and
      the containers they hold): skops builds such objects with
      ``cls.__new__`` and ``__setstate__``, which run no code of the file's
      choosing;
    - functions defined in ``skunlearn`` or ``sklearn`` (e.g. a scorer);

    and refuses everything else, notably any function of numpy, scipy or
    builtins (``numpy.load``, ``builtins.eval``...), which a crafted file could
    ask skops to call, and any other module. The root module is compared as a
    whole name (``sklearn_evil`` is not ``sklearn``).

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file.

    Returns
    -------
    trusted : list of str
        Types to pass to :func:`skops.io.load`.

    refused : list of str
        Types this command will not load.
    """
    import skops.io as sio

    trusted, refused = [], []
    for name in sio.get_untrusted_types(file=path):
        obj = _resolve(name)
        root = name.split(".")[0]
        if isinstance(obj, type) or (
            obj is not None and callable(obj) and root in _FUNCTION_ROOTS
        ):
            trusted.append(name)
        else:
            refused.append(name)
    return trusted, refused


def _is_skops(path):
    try:
        with zipfile.ZipFile(path) as zf:
            return "schema.json" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def load_model(path, *, allow_pickle=False):
    """Load a model saved with skops (or pickle/joblib when allowed).

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file, or a pickle / joblib file.

    allow_pickle : bool, default=False
        Load pickle and joblib files. Loading them runs code chosen by whoever
        wrote the file: only for files you trust.

    Returns
    -------
    model : object
    """
    if not os.path.exists(path):
        raise CommandError(f"{path}: no such file.", status=2)
    if _is_skops(path):
        import skops.io as sio

        trusted, refused = trusted_types(path)
        if refused:
            raise CommandError(
                f"{path} needs types that are not trusted: {', '.join(refused)}. "
                "Only skunlearn's, scikit-learn's, numpy's, scipy's and Python's "
                "built-in classes are loaded.",
                status=2,
            )
        return sio.load(path, trusted=trusted)
    if not allow_pickle:
        raise CommandError(
            f"{path} is not a skops file. Loading a pickle or joblib file runs "
            "code chosen by whoever wrote it; pass --allow-pickle only if you trust "
            "it, or save the model with skops.io.dump.",
            status=2,
        )
    import joblib

    return joblib.load(path)


def save_model(model, path):
    """Save ``model`` atomically: skops for ``.skops``, joblib otherwise."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".skunlearn-", suffix=".tmp")
    os.close(fd)
    try:
        if str(path).endswith(".skops"):
            import skops.io as sio

            sio.dump(model, tmp)
        else:
            import joblib

            joblib.dump(model, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# ------------------------------------------------------------------ the CSV
def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column(values):
    """A CSV column as float when every cell is a number, else as strings."""
    if all(_is_number(v) for v in values):
        return np.array([float(v) for v in values], dtype=np.float64)
    return np.array(values, dtype=object)


def read_request(path, model, *, target=None, header="auto"):
    """Read a deletion request: ``(X, y, first_data_line)``.

    With feature names in the model, the CSV header must hold exactly those
    names (in any order; plus ``target`` when given); columns are reordered
    to the model's order. Without feature names, columns are taken by
    position.
    """
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r]
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}.", status=2) from exc
    if not rows:
        raise CommandError(f"{path} is empty.")
    names = getattr(model, "feature_names_in_", None)
    has_header = header == "yes" or (
        header == "auto" and (names is not None or not all(map(_is_number, rows[0])))
    )
    head, body = (rows[0], rows[1:]) if has_header else (None, rows)
    first_line = 2 if has_header else 1
    width = {len(r) for r in rows}
    if len(width) != 1:
        raise CommandError(f"{path}: rows have different numbers of columns {width}.")
    columns = list(zip(*body)) if body else [() for _ in rows[0]]
    if target is not None:
        if head is None or target not in head:
            raise CommandError(f"{path} has no column named {target!r} (--target).")
        j = head.index(target)
        y = _column(list(columns[j]))
        head = head[:j] + head[j + 1 :]
        columns = columns[:j] + columns[j + 1 :]
    else:
        y = None
    if names is not None:
        names = [str(n) for n in names]
        if head is None:
            raise CommandError(
                f"{path}: the model was fit with named features {names}; the CSV "
                "needs a header line naming its columns."
            )
        if len(set(head)) != len(head):
            raise CommandError(f"{path}: the header repeats a column name.")
        missing = [n for n in names if n not in head]
        extra = [n for n in head if n not in names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if extra:
                parts.append(f"unexpected {extra}")
            raise CommandError(
                f"{path}: the columns do not match the model's features "
                f"({'; '.join(parts)}). Expected: {names}."
            )
        ordered = {h: _column(list(c)) for h, c in zip(head, columns)}
        try:
            import pandas as pd

            X = pd.DataFrame({n: ordered[n] for n in names})
        except ImportError:
            X = _stack([ordered[n] for n in names], len(body))
    else:
        n_features = getattr(model, "n_features_in_", None)
        if n_features is not None and len(columns) != n_features:
            raise CommandError(
                f"{path} has {len(columns)} feature columns but the model expects "
                f"{n_features}."
            )
        X = _stack([_column(list(c)) for c in columns], len(body))
    return X, y, first_line


def _stack(columns, n_rows):
    if all(c.dtype.kind == "f" for c in columns):
        return np.column_stack(columns) if columns else np.empty((n_rows, 0))
    out = np.empty((n_rows, len(columns)), dtype=object)
    for j, c in enumerate(columns):
        out[:, j] = c
    return out


# ----------------------------------------------------------------- commands
def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _write_json(data, path):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".skunlearn-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, default=_json_default)
        f.write("\n")
    os.replace(tmp, path)


def _cmd_forget(args, out):
    from .base import is_unlearner
    from .exceptions import UnknownRowsError, UnlearningError

    progress = _Progress()
    progress.update(f"loading {args.model}")
    model = load_model(args.model, allow_pickle=args.allow_pickle)
    if not is_unlearner(model):
        raise CommandError(
            f"{args.model} holds a {type(model).__name__}, which has no unlearn "
            "method; fit it inside skunlearn.Unlearnable(...) first.",
            status=2,
        )
    progress.update(f"reading {args.rows}")
    X, y, first_line = read_request(
        args.rows, model, target=args.target, header=args.header
    )
    n_rows = X.shape[0]
    progress.update(f"forgetting {n_rows} rows")
    try:
        model.unlearn(X, y, request_id=args.request_id)
    except UnknownRowsError as exc:
        lines = [int(p) + first_line for p in exc.positions[:20]]
        more = "" if exc.positions.size <= 20 else ", ..."
        raise CommandError(
            f"{exc.positions.size} of the {n_rows} rows in {args.rows} were not found "
            f"among the model's training rows (or were already forgotten): CSV "
            f"line(s) {', '.join(map(str, lines))}{more}. Nothing was forgotten; "
            f"{args.output} was not written."
        ) from exc
    except UnlearningError as exc:
        raise CommandError(f"{exc} {args.output} was not written.") from exc
    except ValueError as exc:
        raise CommandError(
            f"{args.rows}: the rows do not fit the model: {exc} "
            f"{args.output} was not written."
        ) from exc
    progress.update(f"saving {args.output}")
    save_model(model, args.output)
    record = dict(model.unlearn_history_[-1])
    report = {
        "request_id": args.request_id,
        "model": os.path.abspath(args.model),
        "rows_file": os.path.abspath(args.rows),
        "output": os.path.abspath(args.output),
        "n_rows_requested": int(n_rows),
        "n_removed": record.get("n_removed"),
        "n_remaining": record.get("n_remaining"),
        "strategy": record.get("strategy"),
        "exact": record.get("exact"),
        "unlearning_guarantee": getattr(model, "unlearning_guarantee", None),
        "seconds": record.get("seconds"),
        "completed": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "history_record": record,
    }
    if args.report:
        _write_json(report, args.report)
    progress.done()
    out.write(
        f"Forgot {report['n_removed']} rows ({report['strategy']}, "
        f"{'exact' if report['exact'] else 'approximate'}); "
        f"{report['n_remaining']} training rows remain. Saved {args.output}"
        + (f", report {args.report}" if args.report else "")
        + ".\n"
    )
    return 0


def _load_dataset(name):
    from sklearn import datasets

    if name not in _DATASETS:
        raise CommandError(f"unknown demo data set {name!r}; use one of {_DATASETS}.")
    return getattr(datasets, f"load_{name}")(return_X_y=True)


def _demo_table(results):
    """Rows of text for the demo table."""
    headers = [
        "family",
        "data",
        "unlearn",
        "retrain",
        "speed-up",
        "score",
        "forget u/g",
        "retain u/g",
        "test u/g",
        "MIA AUC u/g",
        "forget_score u/g",
        "agree",
    ]
    body = []
    for case, report, error in results:
        if error is not None:
            body.append([case.family, case.dataset, f"failed: {error}"])
            continue
        from .audit import _fmt_seconds, _fmt_speedup

        m, u, g = (
            report.metrics,
            report.metrics["unlearned"],
            report.metrics["gold_standard"],
        )

        def pair(key, u=u, g=g):
            return f"{u[key]:.3f}/{g[key]:.3f}" if np.isfinite(u[key]) else "-"

        body.append(
            [
                case.family,
                case.dataset,
                _fmt_seconds(u["seconds"]),
                _fmt_seconds(g["seconds"]),
                _fmt_speedup(report.speedup),
                {"regression": "R^2", "clustering": "-SSE/row"}.get(
                    report.info["task"], "accuracy"
                ),
                pair("score_forget"),
                pair("score_retain"),
                pair("score_test"),
                pair("mia_auc"),
                pair("forget_score"),
                f"{m['unlearned']['agreement_test']:.3f}",
            ]
        )
    full = [r for r in body if len(r) == len(headers)]
    widths = [
        max([len(headers[j])] + [len(r[j]) for r in full] + [0])
        for j in range(len(headers))
    ]
    widths[0] = max([widths[0]] + [len(r[0]) for r in body])
    widths[1] = max([widths[1]] + [len(r[1]) for r in body])

    def fmt(row):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += (
            [c.rjust(w) for c, w in zip(row[2:], widths[2:])]
            if len(row) == len(headers)
            else row[2:]
        )
        return "  ".join(cells).rstrip()

    lines = [fmt(headers), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in body]
    return lines


def _demo_plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .audit import LossDistributionDisplay

    ok = [(c, r) for c, r, e in results if e is None]
    if not ok:
        raise CommandError("no demo case succeeded; nothing to plot.")
    fig, axes = plt.subplots(
        len(ok),
        3,
        figsize=(13, 2.9 * len(ok) + 1.3),
        squeeze=False,
        layout="constrained",
    )
    for i, (case, report) in enumerate(ok):
        display = LossDistributionDisplay.from_report(
            report, ax=axes[i], legend=(i == len(ok) - 1)
        )
        axes[i, 0].set_ylabel(
            f"{case.family}\n{case.dataset}: {report.info['n_forget']} rows forgotten"
            "\n\nshare of rows",
            fontsize=8,
        )
        for a in display.ax_[1:]:
            a.sharey(display.ax_[0])
    fig.suptitle(
        "Do the models still know the rows they were asked to forget?\n"
        "Red: forgotten rows. Grey: rows never seen. Blue: rows still in training. "
        "Forgotten means red looks like grey,\nas for the gold standard (retrained "
        "without the rows); the unlearned model should look like the gold standard.\n"
        "forget_score: 1 when the forgotten rows are indistinguishable from never-seen "
        "ones by a membership attack, 0 when they stand out.",
        fontsize=10,
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _cmd_demo(args, out):
    from sklearn.base import is_classifier

    from ._demo import DEMO_CASES
    from .audit import audit_unlearning

    cases = [
        c
        for c in DEMO_CASES
        if not args.only or any(s.lower() in c.family.lower() for s in args.only)
    ]
    if not cases:
        raise CommandError(f"no demo case matches {args.only}.", status=2)
    progress = _Progress()
    results = []
    start = time.perf_counter()
    for i, case in enumerate(cases, 1):
        progress.update(f"[{i}/{len(cases)}] {case.family} on {case.dataset} ...")
        try:
            X, y = _load_dataset(case.dataset)
            estimator = case.make_estimator()
            if not is_classifier(estimator) and y.dtype.kind in "iu":
                y = y.astype(np.float64)
            report = audit_unlearning(
                estimator,
                X,
                y,
                forget_size=args.forget_size,
                test_size=args.test_size,
                random_state=args.seed,
                n_repeats=args.repeats,
            )
            results.append((case, report, None))
        except Exception as exc:  # one failing family must not hide the others
            results.append((case, None, f"{type(exc).__name__}: {exc}"))
    progress.done()
    elapsed = time.perf_counter() - start
    if args.json:
        payload = [
            {"family": c.family, "dataset": c.dataset, "error": e}
            | ({"report": r.to_dict()} if r is not None else {})
            for c, r, e in results
        ]
        json.dump(payload, out, indent=2, default=_json_default)
        out.write("\n")
    else:
        out.write(
            "skunlearn demo: fit, forget a random "
            f"{args.forget_size:.0%} of the training rows, unlearn, retrain the gold "
            "standard, compare.\n\n"
        )
        out.write("\n".join(_demo_table(results)) + "\n\n")
        out.write(
            "u/g: unlearned model / gold standard (retrained without the forgotten "
            "rows).\nscore: accuracy, R^2, or -SSE/row for clustering (minus the "
            "squared distance to the nearest centre)\non the forgotten, retained and "
            "test rows. MIA AUC: loss-based membership attack, forgotten vs test\n"
            "rows (0.5: indistinguishable); forget_score = 1 - 2|AUC - 0.5|.\n"
            "agree: share of test predictions equal to the gold standard's. "
            f"Total {elapsed:.1f} s.\n"
        )
    if args.plot:
        progress.update(f"plotting {args.plot}")
        _demo_plot(results, args.plot)
        progress.done()
        if not args.json:
            out.write(f"Figure written to {args.plot}.\n")
    return 1 if any(e is not None for _, _, e in results) else 0


# --------------------------------------------------------------------- main
def _fraction(text):
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skunlearn",
        description="Make fitted scikit-learn models forget rows of their training "
        "data.",
    )
    parser.add_argument(
        "--version", action="version", version=f"skunlearn {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo",
        help="audit each estimator family on bundled data sets",
        description="Run the five-step unlearning audit (fit, choose forget rows, "
        "unlearn, retrain the gold standard, compare) for each estimator family on "
        "scikit-learn's bundled data sets, and print a table.",
    )
    demo.add_argument("--plot", metavar="FILE.png", help="write the figure")
    demo.add_argument(
        "--forget-size",
        type=_fraction,
        default=0.1,
        metavar="F",
        help="fraction of the training rows to forget (default 0.1)",
    )
    demo.add_argument(
        "--test-size",
        type=_fraction,
        default=0.25,
        metavar="F",
        help="fraction of the rows held out as never seen (default 0.25)",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument(
        "--repeats",
        type=int,
        default=3,
        metavar="N",
        help="time unlearning and retraining N times, report medians (default 3)",
    )
    demo.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="run only the families whose name contains TEXT (repeatable)",
    )
    demo.add_argument(
        "--json", action="store_true", help="print JSON instead of a table"
    )
    demo.set_defaults(func=_cmd_demo)

    forget = sub.add_parser(
        "forget",
        help="apply a deletion request (CSV of rows) to a saved model",
        description="Forget the rows listed in a CSV file from a saved unlearning "
        "model and save the result. Models are read and written with skops; "
        "pickle/joblib files are read only with --allow-pickle. The CSV header is "
        "matched to the model's feature names (any order); without feature names "
        "columns are taken by position. If any row was not in the training data, "
        "nothing is forgotten and nothing is written (exit status 1).",
    )
    forget.add_argument("model", metavar="MODEL", help="saved model (.skops)")
    forget.add_argument(
        "--rows", required=True, metavar="REQUEST.csv", help="rows to forget"
    )
    forget.add_argument(
        "--output",
        required=True,
        metavar="NEW_MODEL",
        help="where to save the model (.skops for skops, otherwise joblib)",
    )
    forget.add_argument("--report", metavar="REPORT.json", help="write a JSON report")
    forget.add_argument(
        "--request-id", metavar="ID", help="id kept in the model's history"
    )
    forget.add_argument(
        "--target",
        metavar="COLUMN",
        help="CSV column holding the rows' targets (default: the stored targets)",
    )
    forget.add_argument(
        "--header",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether the CSV's first line is a header (auto: yes when the model "
        "has feature names or the line is not all numbers)",
    )
    forget.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow loading pickle/joblib files (runs code from the file: trusted "
        "files only)",
    )
    forget.set_defaults(func=_cmd_forget)
    return parser


def main(argv=None):
    """Run the ``skunlearn`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 when a request could not be applied, 2 for usage errors
        and refused files.
    """
    args = _parser().parse_args(argv)
    try:
        return args.func(args, sys.stdout)
    except CommandError as exc:
        sys.stderr.write(f"skunlearn {args.command}: error: {exc}\n")
        return exc.status
    except BrokenPipeError:
        # The reader went away (``skunlearn demo | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted; nothing was written.\n")
        return 130
