"""Public checks that an unlearning estimator keeps skunlearn's contract.

:func:`check_unlearning` fits an estimator, forgets rows, and compares the
result with the gold standard: a clone fitted on the retained rows. It also
checks that unknown rows raise and leave the model unchanged, and that the
pickled model holds no byte pattern of the forgotten rows. skunlearn's own
tests use it for every estimator; so can anyone writing a strategy.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from .._ledger import row_fingerprints
from ..exceptions import UnknownRowsError
from ._sklearn_compat import _num_samples, _safe_indexing

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "assert_no_residue",
    "check_unknown_rows_leave_model_unchanged",
    "check_unlearning",
    "retained_indices",
]

_METHODS = ("predict", "predict_proba", "decision_function", "transform")
_ATTRIBUTES = ("coef_", "intercept_", "classes_", "cluster_centers_")


def retained_indices(
    X: ArrayLike, forget: ArrayLike, y: ArrayLike | None = None
) -> NDArray[np.intp]:
    """Return the positions of the rows a refit keeps after forgetting ``X[forget]``.

    Follows the ledger's rule for duplicated rows: forgetting a row that occurs
    several times removes its earliest copies, so that order-dependent
    estimators are compared with the right gold standard.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training rows.

    forget : array-like of int
        Positions of the rows to forget.

    y : array-like, default=None
        Targets; when given, rows match only with equal targets.

    Returns
    -------
    retained : ndarray of int
        Sorted positions of the retained rows.

    See Also
    --------
    check_unlearning : Compares an unlearned model with a refit on these rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.utils.estimator_checks import retained_indices
    >>> X = np.array([[0.0], [1.0], [0.0]])
    >>> retained_indices(X, [2])  # the earliest copy of [0.] goes
    array([1, 2])
    """
    fp = row_fingerprints(X)
    if y is not None:
        fp = np.concatenate(
            [fp, row_fingerprints(np.asarray(y).reshape(len(fp), -1))], 1
        )
    keys = [bytes(r) for r in fp]
    taken = set()
    removed = []
    for pos in np.asarray(forget, dtype=np.intp):
        key = keys[pos]
        for i, other in enumerate(keys):
            if other == key and i not in taken:
                taken.add(i)
                removed.append(i)
                break
    keep = np.ones(len(keys), dtype=bool)
    keep[removed] = False
    return np.flatnonzero(keep)


def _unique_forget_values(X, forget, retained):
    """Non-integral float values found only in the forgotten rows."""
    try:
        Xf = np.asarray(_safe_indexing(X, forget), dtype=np.float64).ravel()
        Xr = np.asarray(_safe_indexing(X, retained), dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return np.empty(0)
    Xf = Xf[np.isfinite(Xf) & (Xf != np.round(Xf))]
    return np.setdiff1d(Xf, Xr)


def assert_no_residue(estimator: Any, values: ArrayLike) -> None:
    """Assert that the pickled ``estimator`` contains none of ``values``' bytes.

    A check of the "no residue" promise: after ``unlearn``, nothing the model
    holds, in memory or saved, contains the forgotten rows. Values found only
    in those rows must not appear in the model's pickled bytes.

    Parameters
    ----------
    estimator : object
        A fitted estimator after :meth:`unlearn`.

    values : array-like of float
        Values that occurred only in the forgotten rows. Each is looked for
        among the elements of every float array or tensor the estimator
        holds, and in the bytes of the rest of its pickle (as a float64
        either way round and, when exactly representable, a float32).

    Raises
    ------
    AssertionError
        If some of the values are found, naming the first five.

    See Also
    --------
    check_unlearning : Runs this check among others.

    Examples
    --------
    The retrain strategy keeps the training rows; after ``unlearn`` it keeps
    only the retained ones:

    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.utils.estimator_checks import assert_no_residue
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(20, 2), rng.randn(20)
    >>> model = Unlearnable(Ridge(), strategy="retrain").fit(X, y)
    >>> try:
    ...     assert_no_residue(model, X[:2])
    ... except AssertionError:
    ...     print("the rows are still there")
    the rows are still there
    >>> assert_no_residue(model.unlearn(X[:2]), X[:2])
    """
    values = np.unique(np.asarray(values, dtype=np.float64).ravel())
    found = _pickled_values_among(estimator, values)
    if found.size:
        raise AssertionError(
            f"{found.size} value(s) seen only in the forgotten rows remain in the "
            f"pickled {type(estimator).__name__}: {found[:5].tolist()}"
        )


class _ValueScanner(pickle.Pickler):
    """Pickles an object, taking its float arrays and tensors aside.

    Their elements are compared with the values exactly; the rest of the
    object is pickled as usual, to be searched byte for byte.
    """

    def __init__(self, file, values):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.values = values
        self.hit = np.zeros(values.size, dtype=bool)

    def persistent_id(self, obj):
        if isinstance(obj, np.ndarray) and obj.dtype.kind in "fc":
            data = obj
        elif type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
            t = obj.detach()
            if not (t.is_floating_point() or t.is_complex()):
                return None
            t = t.cpu()
            data = t.resolve_conj().numpy() if t.is_complex() else t.double().numpy()
        else:
            return None
        data = np.asarray(data).ravel()
        if data.dtype.kind == "c":
            data = np.concatenate([data.real, data.imag])
        self.hit |= np.isin(self.values, data.astype(np.float64))
        return id(obj)


def _pickled_values_among(estimator, values):
    """The ``values`` (unique float64) found in the pickled ``estimator``.

    Float arrays and tensors are read element by element (a search of their
    bytes finds values that straddle two elements: a 256-float32 layer
    matched one of 120 row values that way); everything else, Python floats
    included (pickled big-endian), is searched for as bytes: a float64
    either way round and, when exactly representable, a float32.
    """
    file = io.BytesIO()
    scanner = _ValueScanner(file, values)
    scanner.dump(estimator)
    blob = file.getvalue()
    hit = scanner.hit
    for i, v in enumerate(values):
        if hit[i]:
            continue
        patterns = [np.float64(v).tobytes(), np.float64(v).byteswap().tobytes()]
        if np.float32(v) == v:
            patterns.append(np.float32(v).tobytes())
        hit[i] = any(pat in blob for pat in patterns)
    return values[hit]


def check_unknown_rows_leave_model_unchanged(
    estimator: Any, X_unknown: ArrayLike, y_unknown: ArrayLike | None = None
) -> None:
    """Assert that forgetting rows never seen raises and changes nothing.

    ``estimator.unlearn(X_unknown, y_unknown)`` must raise
    :class:`~skunlearn.UnknownRowsError` naming the unknown positions, and
    the estimator's pickled bytes must be the same before and after.

    Parameters
    ----------
    estimator : object
        A fitted unlearning estimator.

    X_unknown : array-like
        Rows that are not in the training data.

    y_unknown : array-like, default=None
        Their targets.

    Raises
    ------
    AssertionError
        If ``unlearn`` accepts the rows, or changes the estimator.

    See Also
    --------
    check_unlearning : Runs this check among others.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.utils.estimator_checks import (
    ...     check_unknown_rows_leave_model_unchanged,
    ... )
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(20, 2), rng.randn(20)
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> check_unknown_rows_leave_model_unchanged(model, X[:1] + 100.0)
    """
    before = pickle.dumps(estimator)
    try:
        estimator.unlearn(X_unknown, y_unknown)
    except UnknownRowsError as exc:
        assert exc.positions.size > 0, "UnknownRowsError names no position"
    else:
        raise AssertionError("unlearn accepted rows never seen in training")
    after = pickle.dumps(estimator)
    assert before == after, "a failed unlearn changed the estimator"


def _unknown_rows(X):
    Xa = np.asarray(X, dtype=np.float64)
    row = np.nanmax(np.abs(Xa), axis=0) * 2 + 1.5
    return row.reshape(1, -1)


def check_unlearning(
    estimator: Any,
    X: ArrayLike,
    y: ArrayLike | None = None,
    *,
    forget: float | ArrayLike = 0.1,
    fit_params: dict[str, Any] | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    X_eval: ArrayLike | None = None,
    random_state: int = 0,
    check_residue: bool = True,
    check_unknown: bool = True,
    methods: Sequence[str] = _METHODS,
    attributes: Sequence[str] = _ATTRIBUTES,
) -> dict[str, Any]:
    """Assert that ``estimator``'s ``unlearn`` equals retraining without the rows.

    Fits a clone of ``estimator`` on ``X, y``, forgets ``forget`` rows, fits
    another clone on the retained rows (the gold standard), and compares their
    outputs (``predict``, ``predict_proba``, ``decision_function``,
    ``transform``) and fitted attributes (``coef_``, ``intercept_``,
    ``classes_``, ...). For an estimator whose ``unlearning_guarantee`` is
    ``"approximate"``, only the contract (history, residue, unknown rows) is
    checked; measure its closeness with :mod:`skunlearn.metrics`.

    Parameters
    ----------
    estimator : estimator object
        An unfitted unlearning estimator.

    X : array-like of shape (n_samples, n_features)
        Training data. Numeric (or a DataFrame) for the residue check.

    y : array-like, default=None
        Targets.

    forget : float, int or array-like of int, default=0.1
        Fraction of rows, number of rows, or positions of rows to forget.

    fit_params : dict, default=None
        Parameters for ``fit``; per-row ones are subset for the gold standard.

    rtol, atol : float
        Tolerances of the comparisons.

    X_eval : array-like, default=None
        Rows on which to compare outputs; default ``X``.

    random_state : int, default=0
        Seed for choosing the forget rows.

    check_residue : bool, default=True
        Check that the pickled model holds no value unique to forgotten rows.

    check_unknown : bool, default=True
        Check that unknown rows raise and leave the model unchanged.

    methods, attributes : tuple of str
        Output methods and fitted attributes to compare when present.

    Returns
    -------
    result : dict
        ``unlearned`` and ``gold`` estimators, ``forget`` and ``retained``
        positions.

    See Also
    --------
    retained_indices : The rows of the gold standard.
    assert_no_residue : The "no residue" check.
    check_unknown_rows_leave_model_unchanged : The unknown-rows check.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.utils.estimator_checks import check_unlearning
    >>> X, y = load_diabetes(return_X_y=True)
    >>> result = check_unlearning(Unlearnable(Ridge()), X, y, forget=20, rtol=1e-9)
    >>> result["unlearned"].unlearn_history_[-1]["n_removed"]
    20
    """
    fit_params = dict(fit_params or {})
    n = _num_samples(X)
    rng = np.random.RandomState(random_state)
    if np.isscalar(forget):
        # a count: numpy's isscalar also admits complex, which int() refuses
        k = int(round(forget * n)) if isinstance(forget, float) else int(forget)  # type: ignore[arg-type]
        k = min(max(k, 1), n - 1)
        forget = np.sort(rng.choice(n, size=k, replace=False))
    forget = np.asarray(forget, dtype=np.intp)
    retained = retained_indices(X, forget, y)

    est = clone(estimator).fit(X, y, **fit_params)
    if check_unknown:
        X_unknown = _unknown_rows(X)
        if hasattr(X, "columns"):
            import pandas as pd

            X_unknown = pd.DataFrame(X_unknown, columns=X.columns)
        check_unknown_rows_leave_model_unchanged(est, X_unknown)

    n_records = len(est.unlearn_history_)
    X_f = _safe_indexing(X, forget)
    y_f = None if y is None else _safe_indexing(y, forget)
    returned = est.unlearn(X_f, y_f)
    assert returned is est, "unlearn must return self"
    assert len(est.unlearn_history_) == n_records + 1, "unlearn_history_ not appended"
    record = est.unlearn_history_[-1]
    assert record["n_removed"] == forget.size, record
    exact = est.unlearning_guarantee == "exact"
    assert record["exact"] == exact, (record, est.unlearning_guarantee)

    params_r = {
        k: (_safe_indexing(v, retained) if _num_samples_or_none(v) == n else v)
        for k, v in fit_params.items()
    }
    y_r = None if y is None else _safe_indexing(y, retained)
    gold = clone(estimator).fit(_safe_indexing(X, retained), y_r, **params_r)

    if exact:
        X_eval = X if X_eval is None else X_eval
        for method in methods:
            if hasattr(est, method) and hasattr(gold, method):
                try:
                    expected = getattr(gold, method)(X_eval)
                except (AttributeError, NotImplementedError):
                    continue
                actual = getattr(est, method)(X_eval)
                _assert_close(actual, expected, rtol, atol, method)
        for attr in attributes:
            if hasattr(gold, attr):
                _assert_close(getattr(est, attr), getattr(gold, attr), rtol, atol, attr)
    if check_residue:
        assert_no_residue(est, _unique_forget_values(X, forget, retained))
    return {"unlearned": est, "gold": gold, "forget": forget, "retained": retained}


def _num_samples_or_none(v):
    try:
        return _num_samples(v)
    except TypeError:
        return None


def _assert_close(actual, expected, rtol, atol, what):
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.dtype.kind in "biufc" and expected.dtype.kind in "biufc":
        assert_allclose(
            actual.astype(float),
            expected.astype(float),
            rtol=rtol,
            atol=atol,
            err_msg=f"{what} differs from the gold standard",
        )
    else:
        assert_array_equal(
            actual, expected, err_msg=f"{what} differs from the gold standard"
        )
