"""Closed-form unlearning for least squares: LinearRegression, Ridge, RidgeClassifier.

The fitted model is a function of sufficient statistics: the weighted mean of
the rows and targets, and the centred cross-products

    Cxx = sum_i w_i (x_i - xbar)(x_i - xbar)^T
    Cxy = sum_i w_i (x_i - xbar)(y_i - ybar)^T

(uncentred when ``fit_intercept=False``). Forgetting rows subtracts their
contribution with the reverse of Chan et al.'s parallel update, which keeps
the statistics centred at the *retained* rows' mean (no cancellation, no trace
of the forgotten rows' mean), then re-solves ``(Cxx + alpha I) W = Cxy``:
exactly the normal equations a refit on the retained rows solves. No raw row
is kept.

Cost per request of ``k`` rows with ``d`` features: ``O(k d^2)`` for the
downdate, then either a Cholesky refactorisation ``O(d^3)`` or, when
``k + 1 < d / 6`` and an inverse is held, a Woodbury update ``O(k d^2)``. The
Woodbury path accumulates rounding over long sequences of requests; every
solution is checked against the normal equations and the inverse is rebuilt
from the statistics when its residual exceeds ``1e-10``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.linear_model import LinearRegression, Ridge, RidgeClassifier
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from ..base import UnlearnUpdate
from ..exceptions import NumericalDriftWarning
from ..utils._threads import single_blas_thread, warm_up
from ._base import (
    StrategyNotApplicable,
    UnlearningStrategy,
    _shallow_copy,
    register_strategy,
)

__all__ = ["ClosedFormLinearStrategy"]

_CHUNK = 65536
_WOODBURY_MIN_D = 64
_RESIDUAL_TOL = 1e-10
_DRIFT_RATIO = 1e6
_SMALL_D = 512  # below this, one BLAS thread is faster for d x d work


def _weighted_moments(X, Y, w, center, shift=None):
    """Sufficient statistics of rows ``X`` (n, d), targets ``Y`` (n, t).

    Returns ``(sw, x_mean, y_mean, Cxx, Cxy)``; with ``center=False`` the means
    are zero and the cross-products are uncentred. Computed in chunks around a
    provisional shift so that large offsets cause no cancellation.
    """
    n, d = X.shape
    t = Y.shape[1]
    sw = float(w.sum())
    if center:
        if shift is None:
            shift_x, shift_y = X[0].astype(np.float64), Y[0].astype(np.float64)
        else:
            shift_x, shift_y = shift
    else:
        shift_x, shift_y = np.zeros(d), np.zeros(t)
    G = np.zeros((d, d))
    B = np.zeros((d, t))
    sx = np.zeros(d)
    sy = np.zeros(t)
    uniform = bool(np.all(w == 1.0))
    for s in range(0, n, _CHUNK):
        Xs = np.asarray(X[s : s + _CHUNK], dtype=np.float64) - shift_x
        Ys = np.asarray(Y[s : s + _CHUNK], dtype=np.float64) - shift_y
        if uniform:
            sx += Xs.sum(axis=0)
            sy += Ys.sum(axis=0)
        else:
            ws = w[s : s + _CHUNK]
            sx += ws @ Xs
            sy += ws @ Ys
            root = np.sqrt(ws)[:, None]
            Xs *= root
            Ys *= root
        G += Xs.T @ Xs  # same buffer on both sides: BLAS syrk
        B += Xs.T @ Ys
    if not center:
        return sw, np.zeros(d), np.zeros(t), G, B
    dx = sx / sw
    dy = sy / sw
    Cxx = G - sw * np.outer(dx, dx)
    Cxy = B - sw * np.outer(dx, dy)
    return sw, shift_x + dx, shift_y + dy, Cxx, Cxy


class _Stats:
    """Sufficient statistics of the retained rows (no raw row, no removed mean)."""

    def __init__(self, center, sw, x_mean, y_mean, Cxx, Cxy, n_rows, class_counts):
        self.center = center
        self.sw = sw
        self.x_mean = x_mean
        self.y_mean = y_mean
        self.Cxx = Cxx
        self.Cxy = Cxy
        self.n_rows = n_rows
        self.class_counts = class_counts  # rows per class (classifier) or None
        # Trace of everything ever added or subtracted, to bound rounding drift.
        self.mass = float(np.trace(Cxx))

    def without(self, X, Y, w, class_counts_removed):
        """Statistics after removing rows ``X``, ``Y`` with weights ``w``."""
        sw_f, m_f, my_f, C_f, Cxy_f = _weighted_moments(X, Y, w, self.center)
        sw_r = self.sw - sw_f
        if self.center:
            if sw_r <= 0:
                raise ValueError(
                    "The retained rows have a total sample weight of zero; a model "
                    "cannot be fit on them. Nothing was forgotten."
                )
            m_r = (self.sw * self.x_mean - sw_f * m_f) / sw_r
            my_r = (self.sw * self.y_mean - sw_f * my_f) / sw_r
            c = sw_r * sw_f / self.sw
            dx = m_r - m_f
            dy = my_r - my_f
            Cxx = self.Cxx - C_f - c * np.outer(dx, dx)
            Cxy = self.Cxy - Cxy_f - c * np.outer(dx, dy)
            low_rank = np.sqrt(w)[:, None] * (X - m_f)
            low_rank = np.vstack([low_rank, np.sqrt(c) * dx])
            removed_mass = float(np.trace(C_f)) + c * float(dx @ dx)
        else:
            m_r, my_r = self.x_mean, self.y_mean
            Cxx = self.Cxx - C_f
            Cxy = self.Cxy - Cxy_f
            low_rank = np.sqrt(w)[:, None] * X
            removed_mass = float(np.trace(C_f))
        Cxx = (Cxx + Cxx.T) / 2
        counts = None
        if self.class_counts is not None:
            counts = self.class_counts - class_counts_removed
        new = _shallow_copy(self)
        new.sw, new.x_mean, new.y_mean = sw_r, m_r, my_r
        new.Cxx, new.Cxy = Cxx, Cxy
        new.n_rows = self.n_rows - X.shape[0]
        new.class_counts = counts
        new.mass = self.mass + removed_mass
        return new, low_rank


def _solve(Cxx, B, alphas, want_inverse=True):
    """Solve ``(Cxx + alpha_j I) W[:, j] = B[:, j]``; minimum norm if singular.

    Returns ``(W, inverse)`` where ``inverse`` is ``(Cxx + alpha I)^-1`` when a
    single alpha was used and the system is positive definite, else None.
    """
    d, t = B.shape
    W = np.empty((d, t))
    inverse = None
    eye = np.eye(d)
    for alpha in np.unique(alphas):
        cols = np.flatnonzero(alphas == alpha)
        A = Cxx + alpha * eye
        try:
            factor = linalg.cho_factor(A, lower=True, check_finite=False)
            if not np.all(np.diag(factor[0]) > 0):
                raise linalg.LinAlgError
            W[:, cols] = linalg.cho_solve(factor, B[:, cols], check_finite=False)
            if alphas.size == 1 or np.all(alphas == alpha):
                if want_inverse and d >= _WOODBURY_MIN_D:
                    inverse = linalg.cho_solve(factor, eye, check_finite=False)
        except linalg.LinAlgError:
            # Singular (alpha = 0 and rank-deficient rows): minimum-norm
            # solution, as scipy.linalg.lstsq gives LinearRegression.
            evals, evecs = linalg.eigh(A)
            cutoff = max(evals.max(), 0.0) * np.finfo(np.float64).eps * d
            inv = np.where(evals > cutoff, 1.0 / np.where(evals > cutoff, evals, 1), 0)
            W[:, cols] = evecs @ (inv[:, None] * (evecs.T @ B[:, cols]))
    return W, inverse


def _residual(Cxx, alpha, W, B):
    R = Cxx @ W + alpha * W - B
    scale = np.linalg.norm(B) + np.linalg.norm(Cxx) * np.linalg.norm(W) + 1e-300
    return float(np.linalg.norm(R) / scale)


class ClosedFormLinearStrategy(UnlearningStrategy):
    """Exact unlearning for least squares from sufficient statistics.

    Handles :class:`~sklearn.linear_model.LinearRegression`,
    :class:`~sklearn.linear_model.Ridge` and
    :class:`~sklearn.linear_model.RidgeClassifier` (dense input, any
    ``solver``, ``sample_weight``, multi-output, ``fit_intercept``;
    not ``positive=True`` nor ``class_weight="balanced"``, which go to the
    retrain strategy). The wrapped estimator's ``coef_`` and ``intercept_``
    equal a refit's on the retained rows to within about ``1e-12`` relative
    for well-conditioned data; ``fit`` builds them the same way, so ``fit``
    costs one pass over the data (about a plain ``Ridge().fit``).
    """

    name = "closed_form"
    exact = True
    keeps_rows = False
    plain_floats_are_valid = True
    sample_props = ("sample_weight",)

    @classmethod
    def supports(cls, estimator):
        if not isinstance(estimator, LinearRegression | Ridge | RidgeClassifier):
            return False
        # A subclass that overrides fit may fit something else: retrain it.
        if type(estimator).fit not in (
            LinearRegression.fit,
            Ridge.fit,
            RidgeClassifier.fit,
        ):
            return False
        if getattr(estimator, "positive", False):
            return False
        if isinstance(estimator, RidgeClassifier):
            return not (
                isinstance(estimator.class_weight, str)
                and estimator.class_weight == "balanced"
            )
        return True

    # ------------------------------------------------------------------ fit
    def fit(self, estimator, X, y, fit_params):
        unknown = set(fit_params) - {"sample_weight"}
        if unknown:
            raise TypeError(
                f"{type(estimator).__name__}.fit got unexpected parameters {unknown}."
            )
        if sp.issparse(X):
            raise StrategyNotApplicable("sparse input")
        estimator._validate_params()
        self.classifier_ = isinstance(estimator, RidgeClassifier)
        X, y = validate_data(
            estimator,
            X,
            y,
            dtype=[np.float64, np.float32],
            multi_output=True,
            y_numeric=not self.classifier_,
        )
        self.dtype_ = X.dtype
        sample_weight = fit_params.get("sample_weight")
        w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.classifier_:
            check_classification_targets(y)
            if np.ndim(y) != 1:
                raise StrategyNotApplicable("multilabel targets")
            self.classes_all_, y_idx = np.unique(y, return_inverse=True)
            Y = np.zeros((X.shape[0], self.classes_all_.size))
            Y[np.arange(X.shape[0]), y_idx] = 1.0
            w = w * self._class_weights(estimator, y_idx)
            counts = np.bincount(y_idx, minlength=self.classes_all_.size)
            self.y_ndim_ = 1
        else:
            Y = np.asarray(y, dtype=np.float64)
            self.y_ndim_ = Y.ndim
            Y = Y.reshape(X.shape[0], -1)
            counts = None
        self.stats_ = _Stats(
            estimator.fit_intercept,
            *_weighted_moments(X, Y, w, estimator.fit_intercept),
            X.shape[0],
            counts,
        )
        fitted, self.inverse_, _ = self._build(estimator, self.stats_, inverse=None)
        if X.shape[1] <= _SMALL_D:
            warm_up()
        return fitted

    def _class_weights(self, estimator, y_idx):
        cw = estimator.class_weight
        if not cw:
            return 1.0
        per_class = np.array([cw.get(c, 1.0) for c in self.classes_all_.tolist()])
        return per_class[y_idx]

    def _alphas(self, estimator, n_targets):
        if isinstance(estimator, LinearRegression):
            return np.zeros(n_targets)
        alpha = np.atleast_1d(np.asarray(estimator.alpha, dtype=np.float64))
        if alpha.size not in (1, n_targets):
            raise ValueError(
                f"Number of targets and number of penalties do not correspond: "
                f"{alpha.size} != {n_targets}"
            )
        return alpha if alpha.size == n_targets else np.repeat(alpha, n_targets)

    def _targets(self, stats):
        """Target statistics in the estimator's coding (classes -> +-1 columns)."""
        if not self.classifier_:
            return stats.y_mean, stats.Cxy, None
        present = stats.class_counts > 0
        classes = self.classes_all_[present]
        lb = LabelBinarizer(pos_label=1, neg_label=-1).fit(classes)
        E = lb.transform(classes).astype(np.float64)  # (n_present, t)
        y_mean = stats.y_mean[present] @ E
        # Each row's coded target is E[its class], so every statistic is linear
        # in the class-indicator statistics (centred or not).
        B = stats.Cxy[:, present] @ E
        return y_mean, B, lb

    def _build(self, estimator, stats, inverse, low_rank=None):
        """A fitted estimator for ``stats``; returns ``(estimator, inverse, info)``."""
        y_mean, B, lb = self._targets(stats)
        alphas = self._alphas(estimator, B.shape[1])
        info = {}
        W = None
        single_alpha = alphas.size > 0 and np.all(alphas == alphas[0])
        if (
            inverse is not None
            and low_rank is not None
            and single_alpha
            and low_rank.shape[0] < stats.Cxx.shape[0] / 6
        ):
            # Woodbury: (A - V^T V)^-1 = A^-1 + A^-1 V^T (I - V A^-1 V^T)^-1 V A^-1
            AV = inverse @ low_rank.T
            core = np.eye(low_rank.shape[0]) - low_rank @ AV
            try:
                inverse = inverse + AV @ linalg.solve(core, AV.T, assume_a="sym")
                W = inverse @ B
                if _residual(stats.Cxx, alphas[0], W, B) > _RESIDUAL_TOL:
                    W = None
                    info["woodbury_rejected"] = True
                else:
                    info["solve"] = "woodbury"
            except linalg.LinAlgError:
                W = None
        if W is None:
            # Keep an inverse for later Woodbury updates only while requests
            # are small (a large one gains nothing from it).
            small = low_rank is None or low_rank.shape[0] < stats.Cxx.shape[0] / 6
            W, inverse = _solve(stats.Cxx, B, alphas, want_inverse=small)
            info["solve"] = "cholesky"
        coef = W.T.astype(self.dtype_, copy=False)  # (t, d)
        intercept = (y_mean - stats.x_mean @ W) if stats.center else None
        new = _shallow_copy(estimator)
        t = coef.shape[0]
        if isinstance(estimator, LinearRegression):
            new.coef_ = coef.ravel() if self.y_ndim_ == 1 else coef
            evals = np.clip(linalg.eigvalsh(stats.Cxx), 0, None)[::-1]
            new.singular_ = np.sqrt(evals)
            cutoff = new.singular_[0] * np.finfo(np.float64).eps * max(stats.n_rows, 1)
            new.rank_ = int(np.sum(new.singular_ > cutoff))
        else:
            new.coef_ = coef.ravel() if t == 1 else coef
            new.n_iter_ = None
            new.solver_ = "cholesky"
        if not stats.center:
            new.intercept_ = 0.0
        elif self.classifier_ or self.y_ndim_ == 2:
            new.intercept_ = intercept.astype(self.dtype_, copy=False)
        else:
            new.intercept_ = float(intercept[0])
        if self.classifier_:
            new._label_binarizer = lb
            new.classes_ = lb.classes_
        return new, inverse, info

    # -------------------------------------------------------------- unlearn
    def validate_forget(self, estimator, X):
        if sp.issparse(X):
            raise TypeError("Sparse forget sets are not supported by this model.")
        return super().validate_forget(estimator, X)

    def unlearn(self, estimator, ledger, match, X, y, params):
        if params:
            raise TypeError(
                f"The closed-form strategy takes no unlearning parameters, got "
                f"{sorted(params)}."
            )
        rows = match.rows
        X = np.asarray(X, dtype=np.float64)
        y_stored = ledger.y[rows]
        w = ledger.sample_props.get("sample_weight")
        w = np.ones(rows.size) if w is None else w[rows].astype(np.float64)
        removed_counts = None
        if self.classifier_:
            y_idx = np.searchsorted(self.classes_all_, y_stored)
            Y = np.zeros((rows.size, self.classes_all_.size))
            Y[np.arange(rows.size), y_idx] = 1.0
            w = w * self._class_weights(estimator, y_idx)
            removed_counts = np.bincount(y_idx, minlength=self.classes_all_.size)
        else:
            Y = np.asarray(y_stored, dtype=np.float64).reshape(rows.size, -1)
        with single_blas_thread(X.shape[1] <= _SMALL_D and rows.size <= _CHUNK):
            stats, low_rank = self.stats_.without(X, Y, w, removed_counts)
            new_est, inverse, info = self._build(
                estimator, stats, self.inverse_, low_rank=low_rank
            )
        drift = stats.mass / max(float(np.trace(stats.Cxx)), 1e-300)
        if drift > _DRIFT_RATIO:
            warnings.warn(
                f"The rows removed so far carry {drift:.1e} times the mass of those "
                "left; rounding in the downdated statistics may exceed 1e-10. "
                "Refit the model on the retained rows to reset it.",
                NumericalDriftWarning,
                stacklevel=4,
            )
        new_strategy = _shallow_copy(self)
        new_strategy.stats_ = stats
        new_strategy.inverse_ = inverse
        info.update(mass_ratio=drift, rows_downdated=int(rows.size))
        return UnlearnUpdate(
            attributes={"estimator_": new_est, "strategy_": new_strategy},
            strategy=self.name,
            exact=True,
            details=info,
        )


for _est in (LinearRegression, Ridge, RidgeClassifier):
    register_strategy(_est, ClosedFormLinearStrategy)
