"""The ``skunlearn`` command: ``skunlearn demo`` and ``skunlearn forget``.

``skunlearn demo`` runs the five-step audit (fit, choose forget rows, unlearn,
retrain the gold standard, compare) on scikit-learn's bundled data sets for
each estimator family in :data:`skunlearn._demo.DEMO_CASES`, and prints a
table; ``--plot FILE.png`` draws the loss distributions.

``skunlearn forget MODEL --rows REQUEST.csv --output NEW_MODEL`` applies a
deletion request (a CSV of rows) to a saved model and saves the result, with
an optional JSON receipt (``--report``, schema in ``docs/receipt.md``). The
request is read the way the model was trained (:func:`read_request`); rows
that are not in the training data are an error, or skipped with ``--missing
skip``. Every output path is checked and reserved before any work, and the
outputs are written at the end by atomic renames (the model, then the
receipt): a failure leaves no file half-written. Exit status: 0 on success, 1
when the request cannot be applied (unknown rows, bad columns or cells;
nothing is written), 2 for usage errors, refused or unreadable input files and
unwritable outputs, 130 when interrupted.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import hmac
import io
import json
import numbers
import os
import re
import sys
import tempfile
import time
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, SupportsIndex

import numpy as np

from ._commit import held_external_effects

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "RequestRows",
    "load_model",
    "main",
    "read_request",
    "request_digest",
    "save_model",
    "trusted_types",
]

_DATASETS = ("diabetes", "breast_cancer", "digits", "wine", "iris")


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
def _split_types(names, extra=()):
    # The package's audited list (skunlearn.io.trusted_types): its own types
    # and the scikit-learn, numpy and scipy types they hold, whose loading
    # runs no code of the file's choosing; and the types the user names
    # (--trust: a net's module class).
    from .io import trusted_types as package_types

    allowed = set(package_types()) | set(extra)
    trusted = [n for n in names if n in allowed]
    refused = [n for n in names if n not in allowed]
    return trusted, refused


def trusted_types(path: str | os.PathLike[str]) -> tuple[list[str], list[str]]:
    """Split the types a skops file needs into trusted and refused ones.

    skops refuses to load any type it does not trust by default and lists
    them with :func:`skops.io.get_untrusted_types`. This command trusts those
    in :func:`skunlearn.io.trusted_types`, the package's audited list (its own
    estimators, strategies and ledger, and the scikit-learn, numpy, scipy and
    Python types they hold, e.g. ``collections.Counter`` in a fitted
    ``SimpleImputer``), whose rebuilding runs no code of the file's choosing,
    and refuses everything else, notably functions a crafted file could ask
    skops to call (``numpy.load``, ``builtins.eval``...).

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

    See Also
    --------
    skunlearn.io.trusted_types : The package's audited list of types.
    load_model : Loads a model with these types.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.cli import save_model, trusted_types
    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5.0)
    >>> directory = tempfile.TemporaryDirectory()
    >>> path = os.path.join(directory.name, "model.skops")
    >>> save_model(Unlearnable(Ridge()).fit(X, y), path)
    >>> trusted, refused = trusted_types(path)
    >>> "skunlearn.wrapper.Unlearnable" in trusted, refused
    (True, [])
    >>> directory.cleanup()
    """
    import skops.io as sio

    return _split_types(sio.get_untrusted_types(file=path))


def _is_skops(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "schema.json" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _read_input(path, option):
    """The bytes of an input file, read once (what is digested is what is used)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CommandError(f"{option}{path}: no such file.", status=2)
    if os.path.isdir(path):
        raise CommandError(f"{option}{path} is a directory, not a file.", status=2)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise CommandError(f"{option}{path}: {exc.strerror}.", status=2) from exc


def _load_bytes(data, path, *, allow_pickle, trust=()):
    if _is_skops(data):
        import skops.io as sio

        trusted, refused = _split_types(sio.get_untrusted_types(data=data), trust)
        if refused:
            raise CommandError(
                f"{path} needs types that are not trusted: {', '.join(refused)}. "
                "Only skunlearn's, scikit-learn's, numpy's, scipy's and Python's "
                "built-in classes (and torch's layers, losses and optimizers) "
                "are loaded; name a class of your own that you trust, such as "
                "a net's module class, with --trust.",
                status=2,
            )
        return sio.loads(data, trusted=trusted)
    if not allow_pickle:
        raise CommandError(
            f"{path} is not a skops file. Loading a pickle or joblib file runs "
            "code chosen by whoever wrote it; pass --allow-pickle only if you trust "
            "it, or save the model with skops.io.dump.",
            status=2,
        )
    import joblib

    return joblib.load(io.BytesIO(data))


def load_model(path: str | os.PathLike[str], *, allow_pickle: bool = False) -> Any:
    """Load a model saved with skops (or pickle/joblib when allowed).

    A skops file is loaded only when every type it needs is trusted (see
    :func:`trusted_types`); nothing in it is unpickled. Other files are
    refused unless ``allow_pickle`` is set.

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
        The loaded model.

    Raises
    ------
    CommandError
        If the file is missing or unreadable, needs types that are not
        trusted, or is not a skops file and ``allow_pickle`` is False.

    See Also
    --------
    save_model : Save a model atomically.
    skunlearn.io.load : Load a skops file from Python.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.cli import load_model, save_model
    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5.0)
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> directory = tempfile.TemporaryDirectory()
    >>> path = os.path.join(directory.name, "model.skops")
    >>> save_model(model, path)
    >>> load_model(path).unlearn(X[:1]).unlearn_history_[-1]["n_removed"]
    1
    >>> pickled = os.path.join(directory.name, "model.joblib")
    >>> save_model(model, pickled)
    >>> try:
    ...     load_model(pickled)
    ... except Exception:
    ...     print("refused: not a skops file")
    refused: not a skops file
    >>> load_model(pickled, allow_pickle=True)
    Unlearnable(estimator=Ridge())
    >>> directory.cleanup()
    """
    return _load_bytes(_read_input(path, ""), path, allow_pickle=allow_pickle)


def _dump(model, path, *, skops):
    if skops:
        import skops.io as sio

        sio.dump(model, path)
    else:
        import joblib

        joblib.dump(model, path)


def save_model(model: Any, path: str | os.PathLike[str]) -> None:
    """Save ``model`` atomically: skops for ``.skops``, joblib otherwise.

    The model is written to a temporary file in the same directory, which
    then replaces ``path`` (:func:`os.replace`): a reader never sees a
    half-written file, and a failure leaves ``path`` as it was. The file is
    created readable by its owner only (a model holds training data).

    Parameters
    ----------
    model : object
        The model.

    path : str or path-like
        Where to save it.

    See Also
    --------
    load_model : Load it back.
    skunlearn.io.dump : Save a model in the skops format from Python.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.cli import save_model
    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5.0)
    >>> directory = tempfile.TemporaryDirectory()
    >>> path = os.path.join(directory.name, "model.skops")
    >>> save_model(Unlearnable(Ridge()).fit(X, y), path)
    >>> os.listdir(directory.name), oct(os.stat(path).st_mode & 0o777)
    (['model.skops'], '0o600')
    >>> directory.cleanup()
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".skunlearn-", suffix=".tmp")
    os.close(fd)
    try:
        _dump(model, tmp, skops=str(path).endswith(".skops"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# ------------------------------------------------------------------ the CSV
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 1 << 16
_TRUE = frozenset({"true", "1", "1.0"})
_FALSE = frozenset({"false", "0", "0.0"})
_SEP_LINE = re.compile(r"\A\ufeff?sep=(.)[ \t]*(\r\n|\n|\r)")
_ROWS_ENCODING = "skunlearn.rows/1"


class _Column:
    """How to read the cells of one request column: its training column's kind.

    ``kind`` is ``"number"``, ``"integer"``, ``"bool"``, ``"string"``,
    ``"category"`` (cells read as ``inner``), ``"datetime"``, ``"mixed"`` (an
    object column of numbers and strings: a cell is a string when the training
    column holds that string) or ``"auto"`` (nothing known: numbers when every
    cell is one). ``dtype`` is the training dtype the column is cast back to
    when the values allow it, so that the request is fingerprinted exactly as
    the training rows were; ``missing`` is what stands for a missing value in
    an object column (NaN, or None when the training column used None).
    """

    def __init__(self, kind, dtype=None, *, missing=np.nan, inner=None, strings=()):
        self.kind = kind
        self.dtype = dtype
        self.missing = missing
        self.inner = inner
        self.strings = frozenset(strings)

    @property
    def parse_kind(self):
        return self.inner if self.kind == "category" else self.kind

    @property
    def numeric(self):
        return self.parse_kind in ("number", "integer", "bool")


def _pandas():
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is installed with the tests
        return None
    return pd


def _is_missing_value(value):
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pd.NaT, pd.NA-like
    except (TypeError, ValueError):
        return False


def _object_column(values):
    """The reading of an object column from its training values."""
    missing = [_is_missing_value(v) for v in values]
    present = [v for v, m in zip(values, missing) if not m]
    marker = np.nan
    if any(m for m in missing) and all(v is None for v, m in zip(values, missing) if m):
        marker = None
    types = {type(v) for v in present}
    if all(issubclass(t, str) for t in types):
        return _Column("string", missing=marker)
    if all(issubclass(t, bool | np.bool_) for t in types):
        return _Column("bool", missing=marker)
    real = [
        issubclass(t, numbers.Real) and not issubclass(t, bool | np.bool_)
        for t in types
    ]
    if all(real):
        return _Column("number", missing=marker)
    if all(r or issubclass(t, str) for r, t in zip(real, types)):
        return _Column(
            "mixed", missing=marker, strings=(v for v in present if isinstance(v, str))
        )
    return _Column("string", missing=marker)


def _as_dtype(dtype):
    """A dtype object from a dtype or its name (as a ledger may record it)."""
    if dtype is None or not isinstance(dtype, str):
        return dtype
    pd = _pandas()
    try:
        return pd.api.types.pandas_dtype(dtype) if pd is not None else np.dtype(dtype)
    except (TypeError, ValueError):
        return None


def _column_from_dtype(dtype, values=None):
    """The reading of a column of training dtype ``dtype`` (values, when known)."""
    dtype = _as_dtype(dtype)
    if dtype is None:
        return _Column("auto")
    if str(dtype).startswith("category"):
        categories = getattr(dtype, "categories", None)
        if categories is None:  # only the name is known: categories of strings
            return _Column("category", inner="string")
        inner = _column_from_dtype(categories.dtype, np.asarray(categories, object))
        return _Column("category", dtype, inner=inner.kind)
    kind = getattr(dtype, "kind", None)
    if kind == "b":
        return _Column("bool", dtype)
    if kind in ("i", "u"):
        return _Column("integer", dtype)
    if kind == "f":
        return _Column("number", dtype)
    if kind == "M":
        # read with pandas (present whenever a model was fit on a DataFrame)
        return _Column("datetime", dtype) if _pandas() else _Column("string")
    if kind in ("O", "U", "S"):
        if values is not None and str(dtype) == "object":
            return _object_column(values)
        return _Column("string", None if str(dtype) == "object" else dtype)
    return _Column("auto")


def _ledger(model):
    try:
        return getattr(model, "ledger_", None)
    except Exception:  # a half-built model: no ledger to read
        return None


def _training_rows(ledger):
    """The kept training rows of ``ledger`` still in training, or None."""
    X = getattr(ledger, "X", None)
    if X is None or not hasattr(X, "shape") or len(X.shape) != 2:
        return None
    alive = getattr(ledger, "alive", None)
    if alive is not None and len(alive) == X.shape[0] and not np.all(alive):
        rows = np.flatnonzero(alive)
        X = X.iloc[rows] if hasattr(X, "iloc") else X[rows]
    return X


def _feature_columns(model, n_columns, names):
    """How to read each feature column, from what the model knows of training.

    In order of preference: the kept training rows (a DataFrame's exact
    dtypes, the values of object columns), the training dtypes the ledger
    records (``ledger.dtypes``: a float32 array's rows are read as float32);
    otherwise
    nothing is known and a column is numeric when every cell is a number.
    """
    ledger = _ledger(model)
    X = _training_rows(ledger)
    if hasattr(X, "dtypes") and hasattr(X, "iloc") and X.shape[1] == n_columns:
        return [
            _column_from_dtype(
                t, X.iloc[:, j].to_numpy(dtype=object) if str(t) == "object" else None
            )
            for j, t in enumerate(X.dtypes)
        ]
    if isinstance(X, np.ndarray) and X.shape[1] == n_columns:
        if X.dtype.kind == "O":
            return [_column_from_dtype(X.dtype, X[:, j]) for j in range(n_columns)]
        return [_column_from_dtype(X.dtype) for _ in range(n_columns)]
    dtypes = getattr(ledger, "dtypes", None)
    if isinstance(dtypes, dict) and dtypes:
        if names is not None and all(n in dtypes for n in names):
            return [_column_from_dtype(dtypes[n]) for n in names]
        if len(dtypes) == n_columns:
            return [_column_from_dtype(t) for t in dtypes.values()]
    if X is not None and getattr(X, "dtype", None) is not None:  # sparse
        return [_column_from_dtype(X.dtype) for _ in range(n_columns)]
    return [_Column("auto") for _ in range(n_columns)]


def _target_column(model):
    y = getattr(_ledger(model), "y", None)
    if not isinstance(y, np.ndarray) or y.ndim != 1:
        return _Column("auto")
    return _column_from_dtype(y.dtype, y if y.dtype.kind == "O" else None)


# ------------------------------------------------------------- reading cells
def _number(text, decimal, integer=False):
    text = text.strip()
    if "_" in text:  # float() accepts 1_000; a spreadsheet never writes it
        raise ValueError(text)
    if decimal != ".":
        if "." in text:
            raise ValueError(text)
        text = text.replace(decimal, ".")
    if integer:
        try:
            return int(text)
        except ValueError:
            pass
    return float(text)


def _is_number(text, decimal="."):
    try:
        _number(text, decimal)
    except ValueError:
        return False
    return True


class _Options:
    def __init__(self, na_values=(), decimal="."):
        self.na_values = frozenset(na_values)
        self.decimal = decimal

    def missing(self, cell):
        return cell == "" or cell in self.na_values


def _read_cells(cells, lines, column, name, options, errors):
    """Values of one column's cells (None for a missing value)."""
    kind = column.parse_kind
    if kind == "auto":
        present = [c for c in cells if not options.missing(c)]
        kind = (
            "number"
            if present and all(_is_number(c, options.decimal) for c in present)
            else "string"
        )
    out = []
    for cell, line in zip(cells, lines):
        if options.missing(cell):
            out.append(None)
            continue
        try:
            if kind in ("number", "integer"):
                value = _number(cell, options.decimal, integer=kind == "integer")
            elif kind == "bool":
                low = cell.strip().lower()
                if low not in _TRUE and low not in _FALSE:
                    raise ValueError(cell)
                value = low in _TRUE
            elif kind == "datetime":
                value = _pandas().Timestamp(cell.strip())
            elif (
                kind == "mixed"
                and cell not in column.strings
                and _is_number(cell, options.decimal)
            ):
                value = _number(cell, options.decimal)
            else:
                value = cell
        except (ValueError, TypeError):
            what = {"bool": "True or False", "datetime": "a date"}.get(kind, "a number")
            errors.append(f"line {line}, column {name!r}: not {what}")
            out.append(None)
            continue
        out.append(value)
    return out


def _cast(array, dtype, *, lossless):
    """``array`` as ``dtype`` when the cast works (and keeps every value)."""
    if dtype is None:
        return array
    try:
        cast = array.astype(dtype)
    except (TypeError, ValueError, OverflowError):
        return array
    if lossless:
        a = np.asarray(cast, dtype=object)
        b = np.asarray(array, dtype=object)
        same = [
            x == z or (_is_missing_value(x) and _is_missing_value(z))
            for x, z in zip(a.tolist(), b.tolist())
        ]
        if not all(same):
            return array
    return cast


def _numeric_array(values, column):
    """A 1-D numeric array of ``values``, or None if one is not a number."""
    if any(isinstance(v, str) for v in values):
        return None
    if column.parse_kind == "bool" and None not in values:
        return np.array(values, dtype=bool)
    if column.parse_kind == "integer" and None not in values:
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            pass
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _pandas_column(values, column, pd):
    """A pandas Series of ``values`` with the training column's dtype."""
    kind = column.kind
    if kind == "category":
        dtype = column.dtype
        categories = set() if dtype is None else set(dtype.categories.tolist())
        if dtype is not None and all(v is None or v in categories for v in values):
            return pd.Series(
                pd.Categorical(
                    [np.nan if v is None else v for v in values], dtype=dtype
                )
            )
        # A value outside the categories cannot be a training value; it must
        # not become a missing value (that could match another row).
        return pd.Series(
            np.array([column.missing if v is None else v for v in values], object),
            dtype=object,
        )
    if kind == "datetime":
        series = pd.to_datetime(
            pd.Series([pd.NaT if v is None else v for v in values], dtype=object)
        )
        return _cast(series, column.dtype, lossless=False)
    numeric = _numeric_array(values, column) if column.numeric else None
    if numeric is not None:
        series = pd.Series(numeric)
        # Floats are cast as trained (float32 values read from their text
        # equal the training ones); integers and booleans only when exact.
        return _cast(series, column.dtype, lossless=kind != "number")
    series = pd.Series(
        np.array([column.missing if v is None else v for v in values], object),
        dtype=object,
    )
    if kind == "string" and column.dtype is not None:
        return _cast(series, column.dtype, lossless=False)
    return series


def _numpy_matrix(columns, specs, n_rows):
    arrays = [
        _numeric_array(v, c) if c.numeric or c.kind == "auto" else None
        for v, c in zip(columns, specs)
    ]
    if all(a is not None for a in arrays):
        if not arrays:
            return np.empty((n_rows, 0))
        matrix = np.column_stack(arrays)
        dtypes = {str(c.dtype) for c in specs}
        if len(dtypes) == 1 and specs[0].dtype is not None:
            matrix = _cast(matrix, specs[0].dtype, lossless=specs[0].kind != "number")
        return matrix
    out = np.empty((n_rows, len(columns)), dtype=object)
    for j, (values, column) in enumerate(zip(columns, specs)):
        array = None
        if column.numeric and column.dtype is not None:
            array = _numeric_array(values, column)
        if array is not None:
            # As the training dtype (float32 values), booleans as the numbers
            # a numeric training column fingerprints them as.
            array = _cast(array, column.dtype, lossless=column.kind != "number")
            out[:, j] = array.astype(np.float64) if array.dtype.kind == "b" else array
        else:
            out[:, j] = [column.missing if v is None else v for v in values]
    return out


def _target_array(values, column):
    numeric = _numeric_array(values, column) if column.kind != "string" else None
    if numeric is not None and not all(v is None for v in values):
        return _cast(numeric, column.dtype, lossless=column.kind != "number")
    return np.array([column.missing if v is None else v for v in values], object)


# -------------------------------------------------------- the file's layout
def _decode(data, path, encoding):
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"{path} is not {encoding} text (byte {exc.start}); pass --encoding "
            "with the file's encoding (e.g. cp1252 for a Windows export).",
            status=2,
        ) from exc
    except LookupError as exc:
        raise CommandError(f"unknown --encoding {encoding!r}.", status=2) from exc
    return text[1:] if text.startswith("\ufeff") else text


def _records(text, delimiter, first_line=1):
    """``(records, lines, blank_lines)``: the CSV records and their first lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, lines, blank = [], [], []
    previous = 0
    try:
        for record in reader:
            line = previous + first_line
            previous = reader.line_num
            if not record:
                continue
            if all(not cell.strip() for cell in record):
                blank.append(line)
                continue
            records.append(record)
            lines.append(line)
    except csv.Error as exc:
        raise CommandError(f"line {previous + first_line}: {exc}.") from exc
    return records, lines, blank


def _sniff(text, names, widths):
    """The delimiter among ``,;<tab>|`` that reads the file as the model needs.

    With feature names, the one whose first record contains them all; else
    the one that gives every record the expected number of fields (``widths``);
    else the one that gives every record the same number (more than one).
    Candidates that read the sample identically are one. An ambiguous file
    asks for ``--delimiter``.
    """
    sample = text[:_SNIFF_CHARS]
    truncated = len(text) > len(sample)
    parsed = {}
    for d in _DELIMITERS:
        try:
            recs = [
                r
                for r in csv.reader(io.StringIO(sample, newline=""), delimiter=d)
                if r and any(c.strip() for c in r)
            ]
        except csv.Error:
            continue
        if truncated and len(recs) > 1:
            recs = recs[:-1]
        parsed[d] = recs
    tiers = [
        [d for d, r in parsed.items() if names and r and set(names) <= set(r[0])],
        [
            d
            for d, r in parsed.items()
            if r and widths and {len(x) for x in r[1:] or r} <= widths
        ],
        [
            d
            for d, r in parsed.items()
            if r and len({len(x) for x in r}) == 1 and len(r[0]) > 1
        ],
    ]
    for tier in tiers:
        distinct = {}
        for d in tier:
            distinct.setdefault(repr(parsed[d]), d)
        if len(distinct) == 1:
            return next(iter(distinct.values()))
        if len(distinct) > 1:
            shown = ", ".join(repr(d) for d in distinct.values())
            raise CommandError(
                f"cannot tell the delimiter of the request: {shown} all read it "
                "as the model needs. Pass --delimiter.",
                status=2,
            )
    return ","


def _first_line_is_header(first, rest, specs, options):
    """True, False, or None when line 1 cannot be told from data.

    In each column whose training values are numbers, a header cell is not a
    number and a data cell is one (or empty). A line whose cells disagree (a
    data row with a typo) or a file with no numeric column is undecided.
    """
    votes = []
    for j, cell in enumerate(first):
        column = specs[j] if j < len(specs) else _Column("auto")
        kind = column.parse_kind
        if kind == "auto":
            below = [r[j] for r in rest if j < len(r) and not options.missing(r[j])]
            if not below or not all(_is_number(c, options.decimal) for c in below):
                continue
            kind = "number"
        if kind in ("number", "integer"):
            votes.append(options.missing(cell) or _is_number(cell, options.decimal))
        elif kind == "bool":
            low = cell.strip().lower()
            votes.append(options.missing(cell) or low in _TRUE or low in _FALSE)
    if not votes or (any(votes) and not all(votes)):
        return None
    return not any(votes)


class RequestRows:
    """A deletion request read from a CSV file by :func:`read_request`.

    It holds the rows as the model reads them (:attr:`X`, :attr:`y`), where
    each came from in the file (:attr:`lines`), and the cells as read, from
    which :func:`request_digest` computes the receipt's digest. Build it with
    :func:`read_request`.

    Parameters
    ----------
    X : DataFrame or ndarray of shape (n_rows, n_features)
        The rows (see Attributes).

    y : ndarray of shape (n_rows,) or None
        Their targets, or None.

    lines : array-like of int of shape (n_rows,)
        The CSV line on which each row starts.

    columns : list of str
        The model's feature names, or column positions as strings.

    target : str or None
        The target column's name.

    ignored_columns : list of str
        Header columns left out.

    blank_lines : list of int
        Lines skipped because every cell was empty.

    delimiter : str
        The field delimiter read.

    has_header : bool
        Whether the first line was a header.

    cells : list of list
        The feature cells as read, one list per column in the model's order.

    target_cells : list or None
        The target cells as read, or None.

    Attributes
    ----------
    X : DataFrame or ndarray of shape (n_rows, n_features)
        The rows, columns in the model's order, dtypes as in training.

    y : ndarray of shape (n_rows,) or None
        Their targets (``--target``), or None.

    lines : ndarray of shape (n_rows,)
        The CSV line on which each row starts (1-based, counting the header).

    columns : list of str
        The model's feature names, or column positions as strings.

    target : str or None
        The target column's name.

    ignored_columns : list of str
        Header columns left out (``--extra-columns ignore``).

    blank_lines : list of int
        Lines skipped because every cell was empty.

    delimiter : str
        The field delimiter read.

    has_header : bool
        Whether the first line was a header.

    See Also
    --------
    read_request : Reads a request from a CSV file.
    request_digest : The keyed digest of a request's rows.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> X = pd.DataFrame({"age": [25.0, 32.0, 47.0, 51.0, 62.0],
    ...                   "income": [30.0, 42.0, 58.0, 61.0, 70.0]})
    >>> y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> directory = tempfile.TemporaryDirectory()
    >>> from skunlearn.cli import read_request
    >>> path = os.path.join(directory.name, "request.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("income,age\\n42,32\\n70,62\\n")
    >>> request = read_request(path, model)
    >>> request.n_rows, request.columns, request.lines
    (2, ['age', 'income'], array([2, 3]))
    >>> request.values(1)
    [62.0, 70.0]
    >>> X_forget, y_forget = request.take([0])
    >>> X_forget
        age  income
    0  32.0    42.0
    >>> directory.cleanup()
    """

    def __init__(
        self,
        X: Any,
        y: NDArray[Any] | None,
        lines: ArrayLike,
        columns: list[str],
        target: str | None,
        ignored_columns: list[str],
        blank_lines: list[int],
        delimiter: str,
        has_header: bool,
        cells: list[list[Any]],
        target_cells: list[Any] | None,
    ) -> None:
        self.X = X
        self.y = y
        self.lines = np.asarray(lines, dtype=np.intp)
        self.columns = columns
        self.target = target
        self.ignored_columns = ignored_columns
        self.blank_lines = blank_lines
        self.delimiter = delimiter
        self.has_header = has_header
        self._cells = cells
        self._target_cells = target_cells

    @property
    def n_rows(self) -> int:
        """Number of rows in the request."""
        return int(self.lines.size)

    def values(self, i: int) -> list[Any]:
        """The values of row ``i`` (features in the model's order, then target).

        Parameters
        ----------
        i : int
            Position of the row in the request.

        Returns
        -------
        values : list
            The row's cells as read: its features in the model's order, then
            its target when the request has one.
        """
        row = [column[i] for column in self._cells]
        if self._target_cells is not None:
            row.append(self._target_cells[i])
        return row

    def take(
        self, positions: Sequence[int] | NDArray[np.integer[Any]]
    ) -> tuple[Any, NDArray[Any] | None]:
        """``(X, y)`` of the rows at ``positions``.

        Parameters
        ----------
        positions : array-like of int
            Positions of rows in the request.

        Returns
        -------
        X : DataFrame or ndarray of shape (n_positions, n_features)
            Those rows.

        y : ndarray of shape (n_positions,) or None
            Their targets, or None.
        """
        X = self.X.iloc[positions] if hasattr(self.X, "iloc") else self.X[positions]
        return X, None if self.y is None else self.y[positions]


def read_request(
    path: str | os.PathLike[str],
    model: Any,
    *,
    target: str | None = None,
    header: Literal["auto", "yes", "no"] = "auto",
    delimiter: str = "auto",
    extra_columns: Literal["error", "ignore"] = "error",
    encoding: str = "utf-8-sig",
    decimal: str = ".",
    na_values: Iterable[str] = (),
    data: bytes | None = None,
) -> RequestRows:
    """Read a deletion request (a CSV of rows) the way ``model`` was trained.

    Each column is read as its training column was typed: a column of strings
    (or categories) keeps its cells as text (``02139`` stays ``"02139"``), a
    numeric column reads numbers, and an empty cell is a missing value (NaN,
    or None where the training column used None), as ``DataFrame.to_csv``
    writes them. The training dtypes come from the model's ledger (the kept
    training rows, or ``ledger.dtypes``); when the model records none, a
    column is numeric when every cell is a number.

    The header decision never takes a row as a header silently. With feature
    names in the model, line 1 must name them all (any order; plus ``target``;
    other columns are an error unless ``extra_columns="ignore"``), unless
    ``header="no"``, which takes the columns in the model's order. Without
    feature names, ``header="auto"`` reads line 1 as a header only when no
    cell of its numeric columns is a number, as data only when all are, and
    otherwise asks for ``header="yes"`` or ``"no"``.

    Parameters
    ----------
    path : str or path-like
        The CSV file (UTF-8, a byte order mark allowed; comma, semicolon, tab
        or ``|`` delimited; quoted fields; any line ending).

    model : estimator
        The fitted model the rows are to be forgotten from.

    target : str, default=None
        The column holding the rows' targets.

    header : {"auto", "yes", "no"}, default="auto"
        Whether line 1 is a header.

    delimiter : str, default="auto"
        The field delimiter; ``"auto"`` finds it (an Excel ``sep=`` line too).

    extra_columns : {"error", "ignore"}, default="error"
        What to do with header columns the model was not fit on.

    encoding : str, default="utf-8-sig"
        The file's text encoding.

    decimal : str, default="."
        The decimal mark of numbers.

    na_values : iterable of str, default=()
        Cell texts read as missing values besides the empty cell.

    data : bytes, default=None
        The file's contents, when already read.

    Returns
    -------
    request : RequestRows
        The rows, their targets and where they came from in the file.

    Raises
    ------
    CommandError
        If the file cannot be read, its header does not match the model, or
        some cells cannot be read as the model's training data.

    See Also
    --------
    RequestRows : What it returns.
    main : ``skunlearn forget`` reads its ``--rows`` file with it.

    Examples
    --------
    The columns may come in any order, and other columns may be ignored:

    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> X = pd.DataFrame({"age": [25.0, 32.0, 47.0, 51.0, 62.0],
    ...                   "income": [30.0, 42.0, 58.0, 61.0, 70.0]})
    >>> y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> directory = tempfile.TemporaryDirectory()
    >>> from skunlearn.cli import read_request
    >>> path = os.path.join(directory.name, "request.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("email,income,age\\nann@example.org,42,32\\n")
    >>> request = read_request(path, model, extra_columns="ignore")
    >>> request.X
        age  income
    0  32.0    42.0
    >>> request.ignored_columns
    ['email']
    >>> model.unlearn(request.X).unlearn_history_[-1]["n_removed"]
    1
    >>> directory.cleanup()
    """
    if header not in ("auto", "yes", "no"):
        raise CommandError(f"header must be 'auto', 'yes' or 'no', got {header!r}.", 2)
    if extra_columns not in ("error", "ignore"):
        raise CommandError("extra_columns must be 'error' or 'ignore'.", 2)
    if data is None:
        data = _read_input(path, "")
    options = _Options(na_values, decimal)
    text = _decode(data, path, encoding)
    first_line = 1
    sep = _SEP_LINE.match(text)
    if sep is not None:  # Excel's "sep=;" line names the delimiter
        if delimiter == "auto":
            delimiter = sep.group(1)
        text = text[sep.end() :]
        first_line = 2
    # Typed Any: expected, specs and pd are not None whenever names is not,
    # which a type checker cannot follow.
    names: Any = getattr(model, "feature_names_in_", None)
    names = None if names is None else [str(n) for n in names]
    n_features: Any = getattr(model, "n_features_in_", None)
    if names is not None:
        n_features = len(names)
    expected: Any = None if names is None else names + ([target] if target else [])
    if delimiter == "auto":
        widths = set()
        if n_features is not None:
            widths = {n_features + (1 if target else 0)}
        delimiter = _sniff(text, expected if header != "no" else None, widths)
    elif delimiter in ("tab", "\\t"):
        delimiter = "\t"
    if len(delimiter) != 1:
        raise CommandError(f"--delimiter must be one character, got {delimiter!r}.", 2)
    records, lines, blank = _records(text, delimiter, first_line)
    if not records:
        raise CommandError(f"{path} has no rows.")
    if target is not None and header == "no":
        raise CommandError("--target names a column: the CSV needs a header line.", 2)

    specs: Any = _feature_columns(model, n_features, names) if n_features else None
    ignored = []
    if names is not None:
        if header == "no":
            has_header, target_at, feature_at = False, None, list(range(n_features))
            if len(records[0]) != n_features:
                raise CommandError(
                    f"{path}, line {lines[0]}: {len(records[0])} fields, but the "
                    f"model has {n_features} features; with --header no the "
                    f"columns are taken in the model's order: {names}."
                )
        else:
            has_header = True
            head = records[0]
            if len(set(head)) != len(head):
                repeated = sorted({h for h in head if head.count(h) > 1})
                raise CommandError(
                    f"{path}, line {lines[0]}: the header repeats {repeated}."
                )
            missing = [n for n in expected if n not in head]
            unexpected = [h for h in head if h not in expected]
            if missing and not set(head) & set(expected):
                raise CommandError(
                    f"{path}, line {lines[0]} is not a header: it names none of the "
                    f"model's features {names}. If the file has no header line, "
                    "pass --header no (columns are then taken in that order)."
                )
            if missing:
                hint = f" (--target {target!r})" if target in missing else ""
                raise CommandError(
                    f"{path}: the header does not name every column the model "
                    f"needs (missing {missing}{hint}; unexpected {unexpected}). "
                    f"Expected: {names}."
                )
            if unexpected and extra_columns == "error":
                raise CommandError(
                    f"{path} has columns the model was not fit on: {unexpected}. "
                    "Pass --extra-columns ignore to leave them out."
                )
            ignored = unexpected
            feature_at = [head.index(n) for n in names]
            target_at = head.index(target) if target else None
        columns = names
    else:
        width = len(records[0]) - (1 if target is not None else 0)
        if n_features is not None and width != n_features:
            raise CommandError(
                f"{path} has {width} feature columns but the model expects "
                f"{n_features}."
            )
        if header == "auto" and target is None:
            if specs is None:
                specs = [_Column("auto") for _ in records[0]]
            has_header = _first_line_is_header(records[0], records[1:], specs, options)
            if has_header is None:
                raise CommandError(
                    f"{path}: cannot tell whether line {lines[0]} is a header or a "
                    "row to forget (its cells are not all numbers, nor all "
                    "names). Pass --header yes or --header no."
                )
        else:
            has_header = header != "no"
        target_at = None
        if target is not None:
            head = records[0]
            if target not in head:
                raise CommandError(f"{path} has no column named {target!r} (--target).")
            if head.count(target) > 1:
                raise CommandError(f"{path}: the header repeats {target!r}.")
            target_at = head.index(target)
        feature_at = [j for j in range(len(records[0])) if j != target_at]
        columns = [f"x{j}" for j in range(len(feature_at))]
        if specs is None:
            specs = [_Column("auto") for _ in feature_at]
    width = len(records[0])
    for record, line in zip(records, lines):
        if len(record) != width:
            raise CommandError(
                f"{path}, line {line}: {len(record)} fields, where line {lines[0]} "
                f"has {width}."
            )
    body = records[1:] if has_header else records
    body_lines = lines[1:] if has_header else lines
    n_rows = len(body)

    errors: list[str] = []
    cells = [
        _read_cells([r[j] for r in body], body_lines, spec, name, options, errors)
        for j, spec, name in zip(feature_at, specs, columns)
    ]
    target_cells = None
    if target_at is not None:
        target_column = _target_column(model)
        target_cells = _read_cells(
            [r[target_at] for r in body],
            body_lines,
            target_column,
            target,
            options,
            errors,
        )
    if errors:
        more = "" if len(errors) <= 10 else f"; and {len(errors) - 10} more"
        raise CommandError(
            f"{path}: cells that cannot be read as the model's training data: "
            f"{'; '.join(errors[:10])}{more}."
        )
    pd = _pandas() if names is not None else None
    if pd is not None:
        X = pd.DataFrame(
            {n: _pandas_column(v, c, pd) for n, v, c in zip(names, cells, specs)}
        )
        if X.shape[0] != n_rows:  # no columns: keep the row count
            X = pd.DataFrame(index=range(n_rows))
    else:
        X = _numpy_matrix(cells, specs, n_rows)
    y = None if target_cells is None else _target_array(target_cells, target_column)
    return RequestRows(
        X,
        y,
        body_lines,
        columns,
        target,
        ignored,
        blank,
        delimiter,
        has_header,
        cells,
        target_cells,
    )


# ------------------------------------------------------------- the receipt
def _canonical_cell(value):
    if _is_missing_value(value):
        return None
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, bool | np.bool_ | numbers.Real):
        number = float(value)
        return ["n", repr(number + 0.0)]  # + 0.0: -0.0 is 0.0
    if hasattr(value, "isoformat"):
        return ["t", value.isoformat()]
    return ["s", str(value)]


def request_digest(
    request: RequestRows,
    key: bytes,
    positions: Iterable[SupportsIndex] | None = None,
) -> str:
    """Keyed digest of a request's rows: HMAC-SHA256 of their canonical encoding.

    The encoding (``skunlearn.rows/1``, see ``docs/receipt.md``) depends only
    on the rows' values as the model reads them, not on the file's dialect,
    column order, extra columns or row order: the same rows give the same
    digest. Without the key, the digest confirms nothing about a candidate row.

    Parameters
    ----------
    request : RequestRows
        The request.

    key : bytes
        The secret key.

    positions : array-like of int, default=None
        The rows to digest (default: all).

    Returns
    -------
    digest : str
        Hexadecimal HMAC-SHA256.

    See Also
    --------
    read_request : Reads a request from a CSV file.

    Examples
    --------
    The same rows, in another column order and another row order, give the
    same digest:

    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> X = pd.DataFrame({"age": [25.0, 32.0, 47.0, 51.0, 62.0],
    ...                   "income": [30.0, 42.0, 58.0, 61.0, 70.0]})
    >>> y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> directory = tempfile.TemporaryDirectory()
    >>> from skunlearn.cli import read_request, request_digest
    >>> first = os.path.join(directory.name, "first.csv")
    >>> second = os.path.join(directory.name, "second.csv")
    >>> with open(first, "w") as f:
    ...     _ = f.write("age,income\\n32,42\\n62,70\\n")
    >>> with open(second, "w") as f:
    ...     _ = f.write("income;age\\n70;62\\n42;32\\n")
    >>> key = b"a secret key of 32 bytes........"
    >>> digest = request_digest(read_request(first, model), key)
    >>> digest == request_digest(read_request(second, model), key), len(digest)
    (True, 64)
    >>> directory.cleanup()
    """
    if positions is None:
        positions = range(request.n_rows)
    head = {
        "encoding": _ROWS_ENCODING,
        "columns": request.columns,
        "target": request.target,
    }
    dump = functools.partial(
        json.dumps, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    rows = sorted(
        dump([_canonical_cell(v) for v in request.values(int(i))]) for i in positions
    )
    message = dump(head) + "\n" + "".join(row + "\n" for row in rows)
    return hmac.new(bytes(key), message.encode("utf-8"), hashlib.sha256).hexdigest()


def _key_id(key):
    return hmac.new(key, b"skunlearn.receipt/1 key id", hashlib.sha256).hexdigest()[:16]


def _receipt_key(path, ledger):
    """``(key, description)``: the file's bytes, else one derived from the model."""
    if path is not None:
        key = _read_input(path, "--receipt-key ")
        if len(key) < 16:
            raise CommandError(
                f"--receipt-key {path} holds {len(key)} bytes; a key needs at least "
                "16 (e.g. `head -c 32 /dev/urandom > key`).",
                status=2,
            )
        return key, {"source": "file", "path": os.fspath(path), "id": _key_id(key)}
    secret = getattr(ledger, "fingerprint_key", None)
    if isinstance(secret, bytes | bytearray) and secret:
        key = hmac.new(bytes(secret), b"skunlearn.receipt/1", hashlib.sha256).digest()
        return key, {"source": "model", "id": _key_id(key)}
    return None, {"source": "none", "id": None}


def _sha256(path=None, data=None):
    digest = hashlib.sha256()
    if data is not None:
        digest.update(data)
    else:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _flatten_steps(steps, prefix=""):
    out = []
    for step in steps or ():
        if not isinstance(step, dict):
            continue
        name = f"{prefix}{step.get('step', '?')}"
        entry = {"step": name, "strategy": step.get("strategy")}
        for key in ("changed", "exact"):
            if key in step:
                entry[key] = step[key]
        out.append(entry)
        out.extend(_flatten_steps(step.get("steps"), name + "/"))
    return out


def _receipt_step(record):
    exact = bool(record.get("exact"))
    details = record.get("details") or {}
    return {
        "strategy": record.get("strategy"),
        "exact": exact,
        "guarantee": "exact" if exact else "approximate",
        "n_removed": record.get("n_removed"),
        "n_remaining": record.get("n_remaining"),
        "seconds": record.get("seconds"),
        "time": record.get("time"),
        "components": _flatten_steps(details.get("steps")),
    }


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# ------------------------------------------------------------ the outputs
class _PendingFile:
    """An output file: checked and reserved before any work, written at the end.

    The reservation is a temporary file in the same directory, which proves
    that the directory exists and is writable; :meth:`commit` moves it over
    the path (:func:`os.replace`, atomic), :meth:`discard` removes it.
    """

    def __init__(self, path, option):
        self.path = os.fspath(path)
        self.option = option
        self.tmp = None
        if not self.path:
            raise CommandError(f"{option} needs a file name.", status=2)
        if os.path.isdir(self.path):
            raise CommandError(
                f"{option} {self.path} is a directory; name the file to write.",
                status=2,
            )
        if os.path.lexists(self.path) and not os.path.isfile(self.path):
            raise CommandError(
                f"{option} {self.path} exists and is not a regular file.", status=2
            )
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise CommandError(
                f"{option} {self.path}: the directory {parent} does not exist.",
                status=2,
            )
        try:
            fd, self.tmp = tempfile.mkstemp(
                dir=parent, prefix=".skunlearn-", suffix=".tmp"
            )
            os.close(fd)
        except OSError as exc:
            raise CommandError(
                f"{option} {self.path}: cannot write in {parent} ({exc.strerror}).",
                status=2,
            ) from exc

    def write_bytes(self, data):
        with open(self.tmp, "wb") as f:
            f.write(data)

    def commit(self):
        os.replace(self.tmp, self.path)
        self.tmp = None

    def discard(self):
        if self.tmp is not None:
            try:
                os.remove(self.tmp)
            except FileNotFoundError:
                pass
            self.tmp = None


def _same_file(a, b):
    if a is None or b is None:
        return False
    a, b = os.fspath(a), os.fspath(b)
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _check_paths(args):
    """Refuse outputs that would overwrite an input or each other."""
    inputs = {
        "MODEL": args.model,
        "--rows": args.rows,
        "--receipt-key": args.receipt_key,
    }
    for option, path in (("--output", args.output), ("--report", args.report)):
        for name, other in inputs.items():
            if option == "--output" and name == "MODEL":
                continue  # updating the model in place is atomic
            if _same_file(path, other):
                raise CommandError(
                    f"{option} {path} is the {name} file; it would be overwritten.",
                    status=2,
                )
    if _same_file(args.output, args.report):
        raise CommandError("--output and --report name the same file.", status=2)


# ------------------------------------------------------------ forgetting
def _nearest_differences(model, request, positions):
    """For unknown rows: the columns in which the nearest training row differs.

    Only column names: never a training value. None when the model keeps no
    training rows.
    """
    ledger = _ledger(model)
    X = _training_rows(ledger)
    if X is None or not hasattr(X, "shape") or X.shape[1] != len(request.columns):
        return None
    if hasattr(X, "iloc"):
        columns = []
        for j in range(X.shape[1]):
            col = X.iloc[:, j]
            try:
                if getattr(col.dtype, "kind", "O") in "biuf":
                    columns.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
                    continue
            except (TypeError, ValueError):
                pass
            columns.append(col.to_numpy(dtype=object))
    elif isinstance(X, np.ndarray):
        columns = [X[:, j] for j in range(X.shape[1])]
    else:  # sparse
        return None
    names = list(request.columns)
    y = getattr(ledger, "y", None)
    if request.target is not None and isinstance(y, np.ndarray) and y.ndim == 1:
        alive = getattr(ledger, "alive", None)
        if alive is not None and len(alive) == len(y):
            y = y[alive]
        columns.append(y)
        names.append(request.target)
    out = {}
    for p in positions:
        values = request.values(int(p))[: len(columns)]
        score = np.zeros(len(columns[0]), dtype=np.intp)
        for col, value in zip(columns, values):
            score += _equal(col, value)
        best = int(np.argmax(score))
        out[int(p)] = [
            name
            for name, col, value in zip(names, columns, values)
            if not _equal(col[best : best + 1], value)[0]
        ]
    return out


def _equal(col, value):
    """Where a training column equals a request value (missing equals missing)."""
    col = np.asarray(col)
    if _is_missing_value(value):
        if col.dtype.kind == "f":
            return np.isnan(col)
        if col.dtype.kind in "biu":
            return np.zeros(col.shape, dtype=bool)
        return np.fromiter((_is_missing_value(v) for v in col), bool, len(col))
    if col.dtype.kind in "biuf":
        if isinstance(value, str) or not isinstance(value, numbers.Real):
            return np.zeros(col.shape, dtype=bool)
        return col.astype(np.float64) == float(value)
    try:  # object column: numpy compares element by element ("1" != 1)
        eq = np.asarray(col == value, dtype=bool)
        if eq.shape == col.shape:
            return eq
    except (TypeError, ValueError):
        pass
    return np.fromiter((_same_value(v, value) for v in col), bool, len(col))


def _same_value(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _unknown_rows_message(model, request, positions, path):
    lines = request.lines[positions]
    shown = ", ".join(map(str, lines[:20])) + ("" if lines.size <= 20 else ", ...")
    text = (
        f"{lines.size} of the {request.n_rows} rows in {path} were not found among "
        f"the model's training rows (or were forgotten already): line(s) {shown}."
    )
    nearest = _nearest_differences(model, request, positions[:5])
    if nearest is None:
        text += (
            " The model keeps no training rows, so the nearest one cannot be "
            "compared; check those rows' values and the columns' types."
        )
    else:
        for p, differing in nearest.items():
            line = request.lines[p]
            if differing:
                text += (
                    f"\n  line {line}: the nearest training row differs in "
                    f"{len(differing)} of {len(request.values(p))} columns: "
                    f"{differing}"
                )
            else:
                text += (
                    f"\n  line {line}: equals a training row, which the request "
                    "names more often than the training data holds it (or which "
                    "was forgotten already)"
                )
        if positions.size > 5:
            text += f"\n  ... ({positions.size - 5} more)"
    return text


def _name_checkpoint_dir(model, args):
    """Tell the SISA ensembles in ``model`` where their checkpoints are."""
    from .ensemble._sisa import set_checkpoint_dir
    from .exceptions import UnlearningError

    try:
        set_checkpoint_dir(model, args.checkpoint_dir, allow_pickle=args.allow_pickle)
    except UnlearningError as exc:
        raise CommandError(f"{exc} {args.output} was not written.") from exc


class _Applied:
    def __init__(self):
        self.records = []
        self.absent = np.empty(0, dtype=np.intp)
        self.warnings = []
        self.seconds = 0.0


def _apply(model, request, request_id, missing, path, output):
    """Forget the request's rows; with ``missing="skip"``, the rows present."""
    from .exceptions import UnknownRowsError

    result = _Applied()
    history = getattr(model, "unlearn_history_", None)
    before = len(history) if history is not None else 0
    keep = np.arange(request.n_rows)
    start = time.perf_counter()
    while keep.size:
        X, y = request.take(keep)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.unlearn(X, y, request_id=request_id)
        except UnknownRowsError as exc:
            positions = keep[exc.positions]
            if missing == "error":
                raise CommandError(
                    _unknown_rows_message(model, request, positions, path)
                    + f"\nNothing was forgotten; {output} was not written. Pass "
                    "--missing skip to forget the rows that were found."
                ) from exc
            result.absent = np.sort(np.concatenate([result.absent, positions]))
            keep = np.delete(keep, exc.positions)
            continue
        result.warnings = [str(w.message) for w in caught]
        break
    result.seconds = time.perf_counter() - start
    history = getattr(model, "unlearn_history_", None) or []
    result.records = [dict(r) for r in history[before:]]
    if keep.size and not result.records:
        # The model recognised a request id applied already: none of its rows
        # remain and nothing was done.
        result.warnings = []
        if missing == "error":
            raise CommandError(
                f"none of the {request.n_rows} rows in {path} remain: request "
                f"{request_id!r} was applied already. Nothing was forgotten; "
                f"{output} was not written. Pass --missing skip to accept a "
                "request whose rows are gone."
            )
        result.absent = np.sort(np.concatenate([result.absent, keep]))
    return result


def _cmd_forget(args, out):
    from . import __version__
    from .base import is_unlearner
    from .exceptions import AmbiguousRowsError, UnlearningError

    started, t0 = _now(), time.perf_counter()
    progress = _Progress()
    pending = []
    committed = []
    # The request stands once the new model file is saved: effects of the
    # model's commit outside it (a SISA model's superseded checkpoint files)
    # wait until then, and files written for it go if it is not saved.
    holding = held_external_effects()
    effects = holding.__enter__()
    try:
        # Every path is checked (and the outputs reserved) before any work.
        for path, option in ((args.model, ""), (args.rows, "--rows ")):
            if not os.path.isfile(path):
                what = "no such file" if not os.path.exists(path) else "not a file"
                raise CommandError(f"{option}{path}: {what}.", status=2)
        if args.checkpoint_dir is not None and not os.path.isdir(args.checkpoint_dir):
            raise CommandError(
                f"--checkpoint-dir {args.checkpoint_dir} is not a directory.", status=2
            )
        _check_paths(args)
        output = _PendingFile(args.output, "--output")
        pending.append(output)
        report = None
        if args.report:
            report = _PendingFile(args.report, "--report")
            pending.append(report)

        progress.update(f"loading {args.model}")
        model_bytes = _read_input(args.model, "")
        model = _load_bytes(
            model_bytes,
            args.model,
            allow_pickle=args.allow_pickle,
            trust=args.trust or (),
        )
        if not is_unlearner(model):
            raise CommandError(
                f"{args.model} holds a {type(model).__name__}, which has no unlearn "
                "method; fit it inside skunlearn.Unlearnable(...) first.",
                status=2,
            )
        if args.checkpoint_dir is not None:
            _name_checkpoint_dir(model, args)
        ledger = _ledger(model)
        key, key_info = _receipt_key(args.receipt_key, ledger)
        rows_before = getattr(ledger, "n_rows", None)
        t_load = time.perf_counter()

        progress.update(f"reading {args.rows}")
        request_bytes = _read_input(args.rows, "--rows ")
        request = read_request(
            args.rows,
            model,
            target=args.target,
            header=args.header,
            delimiter=args.delimiter,
            extra_columns=args.extra_columns,
            encoding=args.encoding,
            decimal=args.decimal,
            na_values=args.na_value or (),
            data=request_bytes,
        )
        if request.n_rows == 0:
            raise CommandError(f"{args.rows} has a header but no rows.")
        t_read = time.perf_counter()

        request_id = args.request_id or f"skunlearn-{uuid.uuid4()}"
        progress.update(f"forgetting {request.n_rows} rows")
        try:
            applied = _apply(
                model, request, request_id, args.missing, args.rows, args.output
            )
        except AmbiguousRowsError as exc:
            raise CommandError(
                f"{exc} Give the rows' targets with --target. {args.output} was not "
                "written."
            ) from exc
        except UnlearningError as exc:
            raise CommandError(f"{exc} {args.output} was not written.") from exc
        except ValueError as exc:
            raise CommandError(
                f"{args.rows}: the rows do not fit the model: {exc} "
                f"{args.output} was not written."
            ) from exc
        t_unlearn = time.perf_counter()
        for message in applied.warnings:
            sys.stderr.write(f"skunlearn forget: warning: {message}\n")
        n_removed = sum(int(r.get("n_removed") or 0) for r in applied.records)
        n_absent = int(applied.absent.size)
        absent_lines = [int(v) for v in request.lines[applied.absent]]

        progress.update(f"saving {args.output}")
        skops_out = str(args.output).endswith(".skops")
        unchanged = not applied.records
        try:
            if unchanged and _is_skops(model_bytes) == skops_out:
                output.write_bytes(model_bytes)  # the model as it was, byte for byte
            else:
                _dump(model, output.tmp, skops=skops_out)
        except Exception as exc:
            raise CommandError(
                f"could not save the model to {args.output}: "
                f"{type(exc).__name__}: {exc}. Nothing was written."
            ) from exc
        t_save = time.perf_counter()

        ledger = _ledger(model)
        guarantee = getattr(model, "unlearning_guarantee", None)
        kept = np.setdiff1d(np.arange(request.n_rows), applied.absent)
        digest = None
        if key is not None:
            digest = {
                "algorithm": "hmac-sha256",
                "encoding": _ROWS_ENCODING,
                "asked": request_digest(request, key),
                "removed": request_digest(request, key, kept),
            }
        receipt = {
            "schema": "skunlearn.receipt/1",
            "request_id": request_id,
            "request_id_source": "given" if args.request_id else "generated",
            "status": "nothing_removed" if unchanged else "applied",
            "started": started,
            "finished": _now(),
            "timing": {
                "seconds_total": time.perf_counter() - t0,
                "seconds_load": t_load - t0,
                "seconds_read": t_read - t_load,
                "seconds_unlearn": t_unlearn - t_read,
                "seconds_save": t_save - t_unlearn,
            },
            "rows": {
                "asked": request.n_rows,
                "removed": n_removed,
                "absent": n_absent,
                "absent_lines": absent_lines,
                "blank_lines": list(request.blank_lines),
            },
            "request": {
                "columns": list(request.columns),
                "target": request.target,
                "ignored_columns": list(request.ignored_columns),
                "has_header": bool(request.has_header),
                "delimiter": request.delimiter,
                "digest": digest,
            },
            "key": key_info,
            "model": {
                "class": f"{type(model).__module__}.{type(model).__qualname__}",
                "guarantee": None if guarantee is None else str(guarantee),
                "rows_before": rows_before,
                "rows_after": getattr(ledger, "n_rows", None),
            },
            "steps": [_receipt_step(r) for r in applied.records],
            "history": applied.records,
            "files": {
                "model": {
                    "path": os.fspath(args.model),
                    "bytes": len(model_bytes),
                    "sha256": _sha256(data=model_bytes),
                },
                "request": {
                    "path": os.fspath(args.rows),
                    "bytes": len(request_bytes),
                    "hmac_sha256": None
                    if key is None
                    else hmac.new(key, request_bytes, hashlib.sha256).hexdigest(),
                },
                "output": {
                    "path": os.fspath(args.output),
                    "format": "skops" if skops_out else "joblib",
                    "bytes": os.path.getsize(output.tmp),
                    "sha256": _sha256(output.tmp),
                },
            },
            "options": {
                "missing": args.missing,
                "extra_columns": args.extra_columns,
                "header": args.header,
                "encoding": args.encoding,
                "decimal": args.decimal,
                "na_values": list(args.na_value or ()),
                "checkpoint_dir": args.checkpoint_dir,
            },
            "warnings": applied.warnings,
            "software": {
                "skunlearn": __version__,
                "python": sys.version.split()[0],
            },
        }
        if report is not None:
            report.write_bytes(
                (json.dumps(receipt, indent=2, default=_json_default) + "\n").encode()
            )
        # The model first: a receipt on disk means its model is there too.
        output.commit()
        committed.append(args.output)
        holding.__exit__(None, None, None)
        effects.commit()
        if report is not None:
            report.commit()
            committed.append(args.report)
    except KeyboardInterrupt:
        done = (
            f"{committed[0]} was written, the receipt was not"
            if committed
            else "nothing was written"
        )
        raise CommandError(f"interrupted; {done}.", status=130) from None
    finally:
        for p in pending:
            p.discard()
        if not committed:
            holding.__exit__(None, None, None)
            effects.abort()
        progress.done()

    strategies = ", ".join(
        f"{s['strategy']}, {s['guarantee']}" for s in receipt["steps"]
    )
    text = f"Forgot {n_removed} row{'' if n_removed == 1 else 's'}" + (
        f" ({strategies})" if strategies else ""
    )
    if n_absent:
        shown = ", ".join(map(str, absent_lines[:10]))
        more = "" if n_absent <= 10 else ", ..."
        text += (
            f"; {n_absent} of the {request.n_rows} rows were absent (line(s) "
            f"{shown}{more})"
        )
    if receipt["model"]["rows_after"] is not None:
        text += f"; {receipt['model']['rows_after']} training rows remain"
    text += f". Saved {args.output}" + (" (unchanged)" if unchanged else "")
    text += (f", receipt {args.report}" if args.report else "") + ".\n"
    out.write(text)
    if key is None and args.report:
        sys.stderr.write(
            "skunlearn forget: note: no --receipt-key and the model holds no key: "
            "the receipt has no keyed digest of the request.\n"
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
        "strategy",
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
                str(report.info["strategy"]),
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
            "rows).\nstrategy: how the model forgot. refit: a same-seed fit on the "
            "retained rows, which trees and forests\nchoose for a batch of 2% of their "
            "rows or more (--forget-size 0.01 shows their deletion in place), and\n"
            "gradient boosting when the rows move its initial prediction or its bins "
            "(most requests on small data).\n"
            "score: accuracy, R^2, or -SSE/row for clustering (minus the "
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
        "model and save the result, with a JSON receipt (docs/receipt.md). Models "
        "are read and written with skops; pickle/joblib files are read only with "
        "--allow-pickle. Columns are read as the model was trained (text stays "
        "text, empty cells are missing values); the header is matched to the "
        "model's feature names (any order). Every output path is checked before "
        "any work, and the model is written atomically: on any error nothing is "
        "written. Exit status: 0 done, 1 the request cannot be applied, 2 usage "
        "errors, refused or unreadable files, unwritable outputs.",
    )
    forget.add_argument("model", metavar="MODEL", help="saved model (.skops)")
    forget.add_argument(
        "--rows", required=True, metavar="REQUEST.csv", help="rows to forget"
    )
    forget.add_argument(
        "--output",
        required=True,
        metavar="NEW_MODEL",
        help="where to save the model (.skops for skops, otherwise joblib); may "
        "be MODEL itself (replaced atomically)",
    )
    forget.add_argument(
        "--report", metavar="RECEIPT.json", help="write the JSON receipt"
    )
    forget.add_argument(
        "--request-id",
        metavar="ID",
        help="id kept in the model's history and the receipt (default: generated)",
    )
    forget.add_argument(
        "--receipt-key",
        metavar="FILE",
        help="secret key (the file's bytes, at least 16) for the receipt's keyed "
        "digest of the request (default: a key derived from the model's own)",
    )
    forget.add_argument(
        "--missing",
        choices=("error", "skip"),
        default="error",
        help="rows not among the training rows: error (default; nothing is "
        "forgotten) or skip (forget the others, list them in the receipt)",
    )
    forget.add_argument(
        "--extra-columns",
        choices=("error", "ignore"),
        default="error",
        help="header columns the model was not fit on (an id, an e-mail): error "
        "(default) or ignore",
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
        help="whether the CSV's first line is a header. auto: required when the "
        "model has feature names; otherwise decided from the numeric columns, "
        "and an error when line 1 could be either",
    )
    forget.add_argument(
        "--delimiter",
        default="auto",
        metavar="CHAR",
        help="field delimiter (default: found among , ; tab |; 'tab' for a tab)",
    )
    forget.add_argument(
        "--encoding",
        default="utf-8-sig",
        help="text encoding of the CSV (default: UTF-8, with or without a BOM)",
    )
    forget.add_argument(
        "--decimal",
        choices=(".", ","),
        default=".",
        help="decimal mark of numbers (default .)",
    )
    forget.add_argument(
        "--na-value",
        action="append",
        metavar="TEXT",
        help="cell text read as a missing value besides the empty cell (repeatable)",
    )
    forget.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help="directory holding a SISA model's checkpoint files (never taken from "
        "the model file); the request reads, writes and deletes checkpoints there",
    )
    forget.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow loading pickle/joblib files, and converting the pickle "
        "checkpoints of an earlier release in --checkpoint-dir (runs code from the "
        "files: trusted files only)",
    )
    forget.add_argument(
        "--trust",
        action="append",
        metavar="TYPE",
        help="a fully qualified type name to trust in a skops model file beyond "
        "the package's list, e.g. a neural net's module class "
        "(mypackage.models.MLP; its module must be importable); repeatable",
    )
    forget.set_defaults(func=_cmd_forget)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``skunlearn`` command; returns the exit status.

    ``skunlearn demo`` runs the five-step audit on bundled data sets;
    ``skunlearn forget`` applies a deletion request (a CSV of rows) to a saved
    model (see the module docstring and ``skunlearn forget --help``). Errors
    are written to standard error, never raised.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 when a request could not be applied, 2 for usage errors
        and refused files.

    See Also
    --------
    read_request : How ``skunlearn forget`` reads the request.
    save_model : How it writes the new model.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> X = pd.DataFrame({"age": [25.0, 32.0, 47.0, 51.0, 62.0],
    ...                   "income": [30.0, 42.0, 58.0, 61.0, 70.0]})
    >>> y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> directory = tempfile.TemporaryDirectory()
    >>> from skunlearn.cli import load_model, main, save_model
    >>> path = os.path.join(directory.name, "model.skops")
    >>> rows = os.path.join(directory.name, "request.csv")
    >>> save_model(model, path)
    >>> with open(rows, "w") as f:
    ...     _ = f.write("age,income\\n32,42\\n")
    >>> args = ["forget", path, "--rows", rows, "--output", path]
    >>> main(args + ["--request-id", "ticket-7"])  # doctest: +ELLIPSIS
    Forgot 1 row (closed_form, exact); 4 training rows remain. Saved .../model.skops.
    0
    >>> load_model(path).unlearn_history_[-1]["request_id"]
    'ticket-7'
    >>> main(args)  # the row is not in the model any more
    1
    >>> directory.cleanup()
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
