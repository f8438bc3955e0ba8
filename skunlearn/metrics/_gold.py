"""Comparisons between an unlearned model and its gold standard.

The gold standard is the model retrained without the forgotten rows. An
exact unlearner equals it; an approximate one should predict like it, not
like the original model (comparing with the original is "a very low bar").
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import xlogy
from sklearn.utils.validation import check_consistent_length

from ..utils._sklearn_compat import HasMethods, Interval, validate_params
from ._membership import _has_method, _proba_classes, _task

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike

__all__ = [
    "compare_to_gold_standard",
    "jensen_shannon_divergence",
    "prediction_agreement",
    "relative_prediction_error",
]


@validate_params(
    {
        "y_pred": ["array-like"],
        "y_pred_reference": ["array-like"],
        "rtol": [Interval(numbers.Real, 0, None, closed="left")],
        "atol": [Interval(numbers.Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def prediction_agreement(
    y_pred: ArrayLike,
    y_pred_reference: ArrayLike,
    *,
    rtol: float = 1e-7,
    atol: float = 0.0,
) -> float:
    """Fraction of rows on which two models predict the same.

    Labels agree when equal; numbers when within ``atol + rtol * |reference|``
    (all outputs of a row must agree).

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predictions of the unlearned model.

    y_pred_reference : array-like of the same shape
        Predictions of the gold standard (the model retrained without the
        forgotten rows).

    rtol : float, default=1e-7
        Relative tolerance for numeric predictions (ignored for labels of a
        non-float dtype).

    atol : float, default=0.0
        Absolute tolerance for numeric predictions.

    Returns
    -------
    agreement : float
        In [0, 1], higher is better, optimum 1 (an exact unlearner).

    See Also
    --------
    compare_to_gold_standard : All the measures against a gold standard.
    jensen_shannon_divergence : Divergence of predicted probabilities.

    Examples
    --------
    >>> from skunlearn.metrics import prediction_agreement
    >>> prediction_agreement(["a", "b", "b", "a"], ["a", "b", "a", "a"])
    0.75
    """
    a = np.asarray(y_pred)
    b = np.asarray(y_pred_reference)
    check_consistent_length(a, b)
    if a.shape != b.shape:
        raise ValueError(
            f"y_pred has shape {a.shape} but y_pred_reference has shape {b.shape}."
        )
    if a.shape[0] == 0:
        raise ValueError("No predictions to compare.")
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        same = np.isclose(a.astype(float), b.astype(float), rtol=rtol, atol=atol)
    else:
        same = a == b
    same = np.asarray(same).reshape(a.shape[0], -1).all(axis=1)
    return float(same.mean())


@validate_params(
    {
        "proba": ["array-like"],
        "proba_reference": ["array-like"],
        "base": [Interval(numbers.Real, 1, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def jensen_shannon_divergence(
    proba: ArrayLike, proba_reference: ArrayLike, *, base: float = 2.0
) -> float:
    """Mean Jensen-Shannon divergence between two models' predicted probabilities.

    For each row, ``JS(p, q) = (KL(p || m) + KL(q || m)) / 2`` with
    ``m = (p + q) / 2``; the mean over rows.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities of the unlearned model.

    proba_reference : array-like of shape (n_samples, n_classes)
        Those of the gold standard, same classes in the same order.

    base : float, default=2.0
        Base of the logarithm. With base 2 the divergence lies in [0, 1].

    Returns
    -------
    divergence : float
        In [0, log_base(2)] (in [0, 1] for base 2), lower is better, optimum 0
        (identical predicted distributions).

    See Also
    --------
    compare_to_gold_standard : All the measures against a gold standard.
    prediction_agreement : Fraction of rows with the same prediction.

    Examples
    --------
    >>> from skunlearn.metrics import jensen_shannon_divergence
    >>> jensen_shannon_divergence([[1.0, 0.0]], [[0.0, 1.0]])
    1.0
    >>> jensen_shannon_divergence([[0.3, 0.7]], [[0.3, 0.7]])
    0.0
    """
    p = np.asarray(proba, dtype=np.float64)
    q = np.asarray(proba_reference, dtype=np.float64)
    if p.ndim == 1:
        p, q = p.reshape(1, -1), q.reshape(1, -1)
    if p.shape != q.shape:
        raise ValueError(
            f"proba has shape {p.shape} but proba_reference has shape {q.shape}."
        )
    if p.shape[0] == 0:
        raise ValueError("No probabilities to compare.")
    if (p < 0).any() or (q < 0).any():
        raise ValueError("Probabilities must be non-negative.")
    p = p / p.sum(axis=1, keepdims=True)
    q = q / q.sum(axis=1, keepdims=True)
    m = (p + q) / 2
    # xlogy(0, 0) = 0: classes one model never predicts contribute nothing.
    kl_pm = (xlogy(p, p) - xlogy(p, m)).sum(axis=1)
    kl_qm = (xlogy(q, q) - xlogy(q, m)).sum(axis=1)
    js = np.clip((kl_pm + kl_qm) / 2, 0, None) / np.log(base)
    return float(js.mean())


@validate_params(
    {"y_pred": ["array-like"], "y_pred_reference": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def relative_prediction_error(y_pred: ArrayLike, y_pred_reference: ArrayLike) -> float:
    """Relative distance between two regressors' predictions.

    ``||y_pred - y_ref||_2 / ||y_ref - mean(y_ref)||_2``: the error relative to
    the spread of the gold standard's predictions, so that a constant offset
    in the target does not hide a difference.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predictions of the unlearned model.

    y_pred_reference : array-like of the same shape
        Predictions of the gold standard.

    Returns
    -------
    error : float
        In [0, inf), lower is better, optimum 0. ``inf`` when the reference is
        constant and the predictions differ from it.

    See Also
    --------
    compare_to_gold_standard : All the measures against a gold standard.
    prediction_agreement : Fraction of rows with the same prediction.

    Examples
    --------
    >>> from skunlearn.metrics import relative_prediction_error
    >>> relative_prediction_error([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    0.0
    >>> relative_prediction_error([1.5, 2.0, 2.5], [1.0, 2.0, 3.0])
    0.5
    """
    a = np.asarray(y_pred, dtype=np.float64)
    b = np.asarray(y_pred_reference, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"y_pred has shape {a.shape} but y_pred_reference has shape {b.shape}."
        )
    if a.size == 0:
        raise ValueError("No predictions to compare.")
    diff = float(np.linalg.norm(a - b))
    spread = float(np.linalg.norm(b - b.mean(axis=0)))
    if diff == 0.0:
        return 0.0
    return diff / spread if spread > 0 else float("inf")


@validate_params(
    {
        "estimator": [HasMethods(["predict"])],
        "gold_standard": [HasMethods(["predict"])],
        "X": ["array-like", "sparse matrix"],
    },
    prefer_skip_nested_validation=True,
)
def compare_to_gold_standard(
    estimator: Any, gold_standard: Any, X: MatrixLike
) -> dict[str, float]:
    """Agreement and divergence between an unlearned model and its gold standard.

    The gold standard is the model retrained without the forgotten rows: an
    exact unlearner agrees with it everywhere, an approximate one as closely
    as these measures show.

    Parameters
    ----------
    estimator : estimator object
        The fitted model after ``unlearn``.

    gold_standard : estimator object
        The same model retrained on the retained rows only.

    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Rows to compare on (e.g. the forget rows, or a test set).

    Returns
    -------
    comparison : dict
        ``"agreement"`` (:func:`prediction_agreement` of ``predict``, optimum
        1); for classifiers with ``predict_proba``, ``"js_divergence"``
        (:func:`jensen_shannon_divergence`, optimum 0); for regressors,
        ``"relative_error"`` (:func:`relative_prediction_error`, optimum 0).

    See Also
    --------
    prediction_agreement : Fraction of rows with the same prediction.
    jensen_shannon_divergence : Divergence of predicted probabilities.
    relative_prediction_error : Relative distance of regression predictions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.metrics import compare_to_gold_standard
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(60, 3), rng.randn(60)
    >>> model = Unlearnable(Ridge()).fit(X, y).unlearn(X[:6])
    >>> gold = Ridge().fit(X[6:], y[6:])
    >>> compare_to_gold_standard(model, gold, X)["agreement"]
    1.0
    """
    pred = estimator.predict(X)
    ref = gold_standard.predict(X)
    out = {"agreement": prediction_agreement(pred, ref)}
    if _task(estimator) == "regression":
        out["relative_error"] = relative_prediction_error(pred, ref)
    elif _has_method(estimator, "predict_proba") and _has_method(
        gold_standard, "predict_proba"
    ):
        p, q = estimator.predict_proba(X), gold_standard.predict_proba(X)
        c1, c2 = (
            getattr(estimator, "classes_", None),
            getattr(gold_standard, "classes_", None),
        )
        if c1 is not None and c2 is not None:
            c1 = _proba_classes(estimator, np.shape(p)[1])
            c2 = _proba_classes(gold_standard, np.shape(q)[1])
        if c1 is not None and c2 is not None and not np.array_equal(c1, c2):
            # Align on the union of classes: a class one model has never
            # seen (e.g. after forgetting a whole class) has probability 0.
            classes = np.union1d(c1, c2)
            p = _align(p, c1, classes)
            q = _align(q, c2, classes)
        out["js_divergence"] = jensen_shannon_divergence(p, q)
    return out


def _align(proba, classes, all_classes):
    out = np.zeros((proba.shape[0], all_classes.size))
    out[:, np.searchsorted(all_classes, classes)] = proba
    return out
