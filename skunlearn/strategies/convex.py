"""Exact (warm start) and certified (one-step Newton) unlearning for convex models.

For :class:`~sklearn.linear_model.LogisticRegression` with an L2 penalty,
scikit-learn minimises, for every solver but liblinear,

    J(w) = sum_i s_i l(w; x_i, y_i) + ||coef||^2 / (2 C)

(``s_i`` = ``sample_weight`` times ``class_weight``, ``l`` the binomial or the
multinomial log loss, the intercept not penalised), internally divided by
``S = sum_i s_i``: the solvers see ``f = J / S`` and stop when the gradient of
``f`` is below ``tol``. ``J`` is strictly convex in the coefficients, so its
minimiser on the retained rows is unique and a solver resumed from any point
reaches it: the **exact path** resumes the estimator's own solver
(``warm_start``) on the retained rows, from the current solution improved by
one Newton step when a Hessian is at hand. The result equals a refit to the
solver's tolerance (recorded in the history).

``method="newton"`` is the one-step removal of Guo et al. (2020), "Certified
Data Removal from Machine Learning Models", written for scikit-learn's
objective. Because the penalty ``||coef||^2 / (2 C)`` does not scale with the
number of rows (Guo et al.'s ``lambda n / 2`` does), removing rows ``F`` gives

    Delta = grad J_r(w) = grad J(w) - sum_{i in F} s_i grad l(w; x_i, y_i)
    H = Hessian of J_r,   w_new = w - H^{-1} Delta

(``grad J(w)`` is zero at an exact optimum; the strategy uses its actual
value, so the step is also right when the fit stopped at ``tol``). The
Hessian of ``J`` on all rows (``p x p`` for ``p`` coefficients) is computed
in ``fit`` when ``n p^2 <= 2e9`` (about as much work as a few solver
iterations), otherwise at the first Newton request, and is then *downdated*
by the forgotten rows' Hessian at each request. A request costs ``O(k p^2 +
p^3)`` for the step plus one gradient pass over the retained rows, ``O(n
p)``, to measure the result: ``gradient_residual_norm = ||grad f_r(w_new)||_2``,
the gradient of the objective the solver minimises on the retained rows (Guo
et al.'s certificate quantity, in the solver's units, comparable with
``tol``). When it exceeds ``residual_threshold``, the exact path runs from
``w_new``. Later steps use the downdated Hessian, evaluated at earlier
points: a quasi-Newton step whose quality the residual reports.

The exact path uses the same step (when a Hessian is held) as its starting
point, so the resumed solver typically stops after one or a few iterations.

Neither path copies the retained rows: both read the ledger's stored rows in
place, with zero weight for the forgotten slots (erased, compacted lazily)
and for the rows being forgotten. A fit with zero weights minimises the same
weight-normalised objective as a fit on the retained rows, and the lbfgs,
newton-cg and newton-cholesky solvers stop on its gradient; sag/saga (whose
step size and sampling see every stored row), ``class_weight="balanced"``
(computed from the labels alone) and a request that removes a class's last
row resume on a copy of the retained rows instead (``retained_copy`` in the
history). The Newton certificate is one blocked pass over the stored rows.
For the multinomial loss with intercepts, the step keeps the sum of the
intercepts fixed (the loss does not depend on it), as a refit does.

Other strictly convex models: :class:`~sklearn.linear_model.PoissonRegressor`,
:class:`~sklearn.linear_model.GammaRegressor` and
:class:`~sklearn.linear_model.TweedieRegressor` with ``alpha > 0`` use the
exact path. Not handled (they go to the retrain strategy): liblinear
(``LogisticRegression(solver="liblinear")``, :class:`~sklearn.svm.LinearSVC`)
has no warm start and penalises the intercept, so resuming is impossible;
``SGDClassifier`` stops after a number of epochs of a stochastic order rather
than at the optimum, so its output is not a function of the retained rows'
objective alone; L1 penalties and ``C=inf`` have no unique optimum.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
import numbers
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import (
    GammaRegressor,
    LogisticRegression,
    LogisticRegressionCV,
    PoissonRegressor,
    TweedieRegressor,
)

from ..utils._sklearn_compat import (
    HalfBinomialLoss,
    HalfMultinomialLoss,
    LinearModelLoss,
    _num_samples,
)
from ._base import (
    StrategyNotApplicable,
    UnlearningStrategy,
    register_strategy,
    step_plan,
)

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike
    from ._base import ForgetPlan, ForgetRequest

__all__ = ["WarmStartConvexStrategy"]

#: Largest number of coefficients for which a dense Hessian is kept.
_MAX_NEWTON_DOF = 3000
#: Largest ``n_samples * n_coefficients ** 2`` for which fit computes the Hessian.
_FIT_HESSIAN_BUDGET = 2e9
_METHODS = ("exact", "newton")
#: Bytes of rows per block in the passes over the stored rows (cache sized).
_BLOCK_BYTES = 1 << 21
#: Solvers whose fit on the stored rows with zero weights for the rows left
#: out is the fit on the retained rows (deterministic, stopping on the
#: gradient of the weight-normalised objective).
_MASKED_SOLVERS = ("lbfgs", "newton-cg", "newton-cholesky")


_BLAS_CONTROLLER: list[Any] = []


def _one_blas_thread():
    """Context limiting BLAS to one thread.

    A request's products are small (``k x p`` blocks) or memory bound (the
    passes over the stored rows): a second BLAS thread gains little and, on
    a busy machine, makes each call wait for a descheduled thread (measured:
    a 2000-row request took 80 ms with two threads, 14 ms with one).
    """
    if not _BLAS_CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER.append(ThreadpoolController())
    return _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas")


def _effective_penalty(est):
    if est.penalty == "deprecated":
        if est.l1_ratio not in (0, 0.0, None):
            return "l1" if est.l1_ratio == 1 else "elasticnet"
        return None if est.C == np.inf else "l2"
    if est.penalty == "l2" and est.C == np.inf:
        return None
    return est.penalty


class _Newton:
    """Gradient and Hessian of ``J`` (sum form) for a fitted LogisticRegression."""

    def __init__(self, est):
        self.classes = est.classes_
        self.n_classes = len(self.classes)
        self.binary = self.n_classes == 2
        self.fit_intercept = est.fit_intercept
        self.C = float(est.C)
        self.d = est.coef_.shape[1]
        base = (
            HalfBinomialLoss()
            if self.binary
            else HalfMultinomialLoss(n_classes=self.n_classes)
        )
        self.loss = LinearModelLoss(base_loss=base, fit_intercept=self.fit_intercept)
        k = 1 if self.binary else self.n_classes
        self.n_dof = k * (self.d + int(self.fit_intercept))
        # Penalised coordinates: the coefficients, not the intercepts (they
        # come last in both layouts).
        self.penalised = np.arange(self.n_dof) < k * self.d
        self.class_weight = est.class_weight

    def flat(self, coef, intercept):
        coef = np.asarray(coef, dtype=np.float64)
        if self.binary:
            parts = [coef[0]] + (
                [np.asarray(intercept, np.float64)[:1]] if self.fit_intercept else []
            )
            return np.concatenate(parts)
        W = coef
        if self.fit_intercept:
            W = np.hstack([coef, np.asarray(intercept, np.float64)[:, None]])
        return np.ascontiguousarray(W).ravel(order="F")

    def unflat(self, w, dtype):
        if self.binary:
            coef = w[: self.d][None, :]
            intercept = w[self.d :] if self.fit_intercept else np.zeros(1)
        else:
            W = w.reshape((self.n_classes, -1), order="F")
            coef = W[:, : self.d]
            intercept = W[:, self.d] if self.fit_intercept else np.zeros(self.n_classes)
        return (
            np.ascontiguousarray(coef, dtype=dtype),
            np.asarray(intercept, dtype=dtype).copy(),
        )

    def targets(self, y):
        if self.binary:
            positive = y == self.classes[1]
            return positive.astype(np.float64), positive.astype(np.intp)
        idx = np.searchsorted(self.classes, y)
        return idx.astype(np.float64), idx

    def weights(self, y_idx, sw):
        s = np.ones(y_idx.size) if sw is None else np.asarray(sw, dtype=np.float64)
        cw = self.class_weight
        if isinstance(cw, dict):
            per_class = np.array([cw.get(c, 1.0) for c in self.classes.tolist()])
            s = s * per_class[y_idx]
        return np.ascontiguousarray(s)

    def grad(self, w, X, y, sw, hessian=False):
        """Loss part of ``grad J`` (and its Hessian) over rows ``X``: sum form."""
        y_enc, y_idx = self.targets(y)
        s = self.weights(y_idx, sw)
        S = float(s.sum())
        if S == 0.0:
            g = np.zeros(self.n_dof)
            return (g, np.zeros((self.n_dof, self.n_dof))) if hessian else g
        X = X if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        if hessian:
            out = self.loss.gradient_hessian(w, X, y_enc, sample_weight=s)
            return out[0] * S, out[1] * S
        return self.loss.gradient(w, X, y_enc, sample_weight=s) * S

    def grad_stored(self, w, X, y_enc, s, hessian=False):
        """Loss part of ``grad J`` (and its Hessian) over stored rows, sum form.

        ``s`` holds each stored row's weight, zero for the rows outside the
        sum (forgotten slots, rows being forgotten): no retained copy of ``X``
        is made. Rows are visited in blocks that fit in cache, so ``X`` is
        read from memory once although each block is read twice (``X w``,
        then ``X^T r``).
        """
        n = X.shape[0]
        g = np.zeros(self.n_dof)
        H = np.zeros((self.n_dof, self.n_dof)) if hessian else None
        block = max(256, _BLOCK_BYTES // (8 * max(1, self.d)))
        dense = not sp.issparse(X)
        k = 1 if self.binary else self.n_classes
        G = g if self.binary else np.zeros((k, self.d + int(self.fit_intercept)))
        for start in range(0, n, block):
            sc = s[start : start + block]
            if not sc.any():
                continue
            Xc = X[start : start + block]
            if dense:
                Xc = np.asarray(Xc, dtype=np.float64)
            yc = y_enc[start : start + block]
            if hessian:
                Sc = float(sc.sum())
                out = self.loss.gradient_hessian(w, Xc, yc, sample_weight=sc)
                g += out[0] * Sc
                H += out[1] * Sc
                continue
            _, _, raw = self.loss.weight_intercept_raw(w, Xc)
            r = self.loss.base_loss.gradient(
                y_true=yc, raw_prediction=raw, sample_weight=sc
            )
            if self.binary:
                g[: self.d] += Xc.T @ r
                if self.fit_intercept:
                    g[self.d] += r.sum()
            else:
                G[:, : self.d] += np.asarray(r.T @ Xc)
                if self.fit_intercept:
                    G[:, self.d] += r.sum(axis=0)
        if not self.binary and not hessian:
            g = G.ravel(order="F")
        return (g, H) if hessian else g

    def penalty_grad(self, w):
        return np.where(self.penalised, w / self.C, 0.0)

    def step(self, H_loss, g_total):
        """Newton step ``H^{-1} g`` for the penalised Hessian."""
        H = H_loss.copy()
        H[np.diag_indices_from(H)] += np.where(self.penalised, 1.0 / self.C, 0.0)
        u = None
        if not self.binary and self.fit_intercept:
            # Adding one constant to every class's intercept changes no
            # probability: H is singular along u. The gradient is orthogonal
            # to u, so solving with H + u u^T gives the step orthogonal to u,
            # which keeps the intercepts' sum (zero after a fit) where it is.
            u = np.zeros(self.n_dof)
            u[-self.n_classes :] = 1.0 / np.sqrt(self.n_classes)
            H += np.outer(u, u)
            g_total = g_total - u * (u @ g_total)
        try:
            factor = linalg.cho_factor(H, lower=True, check_finite=False)
            if not np.all(np.diag(factor[0]) > 0):
                raise linalg.LinAlgError
            step = linalg.cho_solve(factor, g_total, check_finite=False)
        except (linalg.LinAlgError, ValueError):
            step = linalg.lstsq(H, g_total, check_finite=False)[0]
        if u is not None:
            step -= u * (u @ step)
        return step


class WarmStartConvexStrategy(UnlearningStrategy):
    """Exact unlearning for strictly convex models by resuming their solver.

    See the module docstring for the objective and the methods. Unlearning
    parameters (``model.unlearn(X_f, y_f, method=..., residual_threshold=...)``):

    method : {"exact", "newton"}, default="exact"
        ``"exact"``: resume the estimator's solver (``warm_start``) on the
        retained rows, from a Newton step when a Hessian is held; the result
        equals a refit to the solver's ``tol``. ``"newton"``
        (LogisticRegression only): Guo et al.'s one-step Newton removal, with
        the gradient residual on the retained rows reported; the history
        marks it ``exact=False`` unless it fell back to the exact path.

    residual_threshold : float or None, default=None
        With ``method="newton"``: when ``gradient_residual_norm`` exceeds it,
        the exact path runs from the Newton point (``fallback=True`` in the
        history). None never falls back.

    The history's ``details`` hold ``method``, ``solver``, ``tol``, ``start``
    (where the solver resumed from), ``n_iter`` (of the resumed solver) and,
    for Newton, ``gradient_residual_norm`` (L2), ``gradient_residual_max``,
    ``residual_threshold`` and ``fallback``.

    State: the retained rows (in the ledger), and for LogisticRegression the
    Hessian of the loss on the retained rows, ``p x p`` for ``p``
    coefficients (computed in ``fit`` when ``n p^2 <= 2e9``, else at the
    first Newton request), and the gradient at the current solution.
    """

    name = "warm_start"
    exact = True
    keeps_rows = True
    sample_props = ("sample_weight",)
    # the loss Hessian and gradient at the solution, when kept (see fit)
    newton_state_: dict[str, Any] | None

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        if isinstance(estimator, LogisticRegressionCV):
            return False
        if isinstance(estimator, LogisticRegression):
            return (
                estimator.solver != "liblinear"
                and _effective_penalty(estimator) == "l2"
                and estimator.C < np.inf
            )
        if isinstance(estimator, PoissonRegressor | GammaRegressor | TweedieRegressor):
            return estimator.alpha > 0
        return False

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        unknown = set(fit_params) - {"sample_weight"}
        if unknown:
            raise TypeError(
                f"{type(estimator).__name__}.fit got unexpected parameters {unknown}."
            )
        if hasattr(X, "dtypes") and not all(t.kind in "biuf" for t in X.dtypes):
            raise StrategyNotApplicable("non-numeric columns")
        estimator.fit(X, y, **fit_params)
        self.newton_state_ = None
        if isinstance(estimator, LogisticRegression):
            y_arr = np.asarray(y)
            if y_arr.ndim == 2 and y_arr.shape[1] == 1:
                y_arr = y_arr.ravel()
            self.class_rows_ = np.bincount(
                np.searchsorted(estimator.classes_, y_arr),
                minlength=estimator.classes_.size,
            )
        if isinstance(estimator, LogisticRegression) and self._newton_ok(estimator, y):
            nt = _Newton(estimator)
            n = _num_samples(X)
            if nt.n_dof <= _MAX_NEWTON_DOF and n * nt.n_dof**2 <= _FIT_HESSIAN_BUDGET:
                Xv = np.asarray(X, dtype=np.float64) if not sp.issparse(X) else X
                yv = np.asarray(y)
                if yv.ndim == 2 and yv.shape[1] == 1:
                    yv = yv.ravel()
                sw = fit_params.get("sample_weight")
                self.newton_state_ = self._state(estimator, nt, [(Xv, yv, sw)])
        return estimator

    @staticmethod
    def _newton_ok(estimator, y):
        cw = estimator.class_weight
        return not (isinstance(cw, str) and cw == "balanced")

    @staticmethod
    def _state(est, nt, parts):
        """Loss Hessian and gradient of ``J`` at the current solution over ``parts``."""
        w = nt.flat(est.coef_, est.intercept_)
        g = nt.penalty_grad(w)
        H = np.zeros((nt.n_dof, nt.n_dof))
        for X, y, sw in parts:
            g_p, H_p = nt.grad(w, X, y, sw, hessian=True)
            g = g + g_p
            H += H_p
        return {"newton": nt, "hessian": H, "gradient": g}

    # -------------------------------------------------------------- unlearn
    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        params = dict(request.params)
        method = params.pop("method", "exact")
        threshold: float | None = params.pop("residual_threshold", None)
        if params:
            raise TypeError(
                "The warm_start strategy takes the unlearning parameters 'method' and "
                f"'residual_threshold', got {sorted(params)}."
            )
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
        if threshold is not None and (
            not isinstance(threshold, numbers.Real)
            or isinstance(threshold, bool)
            or not threshold >= 0
        ):
            raise ValueError(
                "residual_threshold must be a non-negative number or None, got "
                f"{threshold!r}."
            )
        is_logistic = isinstance(estimator, LogisticRegression)
        if method == "newton" and not is_logistic:
            raise ValueError(
                "method='newton' is implemented for LogisticRegression only; use "
                "method='exact'."
            )
        ledger = request.ledger
        if ledger is None:
            # A step of a composite model: no stored rows to warm start on;
            # a fresh fit on its retained input gives the refit's answer.
            return self.refit_plan(estimator, request)
        X_f = ledger.take(request.rows)[0]  # the rows as stored (as fit saw them)
        y_f, props_f = np.asarray(request.y), request.props
        if y_f.ndim == 2 and y_f.shape[1] == 1:  # a column vector, as fit accepts
            y_f = y_f.ravel()
        sw_f = props_f.get("sample_weight")
        # The retained rows are read where the ledger stores them, with zero
        # weight for the forgotten slots and the rows being forgotten: no
        # copy of them is made (the ledger compacts lazily).
        stored = self._stored_rows(ledger, request.rows)
        copied: list[Any] = []

        def retained():
            if not copied:
                X_r, y_r, props_r = request.retained()
                if y_r.ndim == 2 and y_r.shape[1] == 1:
                    y_r = y_r.ravel()
                copied.append((X_r, y_r, props_r))
            return copied[0]

        new_strategy = copy.copy(self)
        new_strategy.newton_state_ = None
        details = {
            "method": method,
            "solver": getattr(estimator, "solver", "lbfgs"),
            "tol": float(estimator.tol),
        }
        start_w = None
        same_classes = True
        if is_logistic:
            # Rows per class after the request (no sort of the retained labels).
            counts = self.class_rows_ - np.bincount(
                np.searchsorted(estimator.classes_, y_f),
                minlength=estimator.classes_.size,
            )
            same_classes = bool(np.all(counts > 0))
            new_strategy.class_rows_ = counts
            newton_ok = same_classes and self._newton_ok(estimator, None)
            if not newton_ok and method == "newton":
                details["newton_skipped"] = (
                    "a class lost its last row"
                    if not same_classes
                    else "class_weight='balanced' reweights every row"
                )
            state = self.newton_state_ if newton_ok else None
            rows_r: Any = None
            if newton_ok and (state is not None or method == "newton"):
                nt = state["newton"] if state is not None else _Newton(estimator)
                rows_r = self._loss_rows(nt, stored, retained)
            H_r = g_r = None
            t0 = time.perf_counter()
            if state is not None:
                w = nt.flat(estimator.coef_, estimator.intercept_)
                with _one_blas_thread():
                    g_f, H_f = nt.grad(w, X_f, y_f, sw_f, hessian=True)
                H_r = state["hessian"] - H_f
                if state["gradient"] is not None:
                    g_r = state["gradient"] - g_f
                else:  # the solver moved since the last Hessian
                    g_r = self._loss_grad(nt, w, rows_r) + nt.penalty_grad(w)
            elif newton_ok and method == "newton":
                if nt.n_dof <= _MAX_NEWTON_DOF:
                    w = nt.flat(estimator.coef_, estimator.intercept_)
                    g_r, H_r = self._loss_grad(nt, w, rows_r, hessian=True)
                    g_r = g_r + nt.penalty_grad(w)
                    details["hessian_seconds"] = time.perf_counter() - t0
                else:
                    details["newton_skipped"] = (
                        f"more than {_MAX_NEWTON_DOF} coefficients"
                    )
            if H_r is not None:
                with _one_blas_thread():
                    start_w = w - nt.step(H_r, g_r)
                details["newton_seconds"] = time.perf_counter() - t0
                details["start"] = "newton step"
                new_strategy.newton_state_ = {
                    "newton": nt,
                    "hessian": H_r,
                    "gradient": None,
                }
            if method == "newton" and start_w is not None:
                # The certificate's quantity: the gradient of the solver's
                # objective f_r = J_r / S_r on the retained rows, at w_new,
                # in one pass over the rows.
                g = self._loss_grad(nt, start_w, rows_r) + nt.penalty_grad(start_w)
                S_r = rows_r["S"]
                residual = float(np.linalg.norm(g)) / S_r
                details["gradient_residual_norm"] = residual
                details["gradient_residual_max"] = float(np.max(np.abs(g))) / S_r
                details["residual_threshold"] = threshold
                fallback = threshold is not None and residual > threshold
                details["fallback"] = bool(fallback)
                if not fallback:
                    # set with H_r above, as start_w is not None
                    new_strategy.newton_state_["gradient"] = g  # type: ignore[index]
                    new_est = copy.copy(estimator)
                    new_est.coef_, new_est.intercept_ = nt.unflat(
                        start_w, estimator.coef_.dtype
                    )
                    new_est.n_iter_ = np.asarray([1], dtype=np.int32)
                    details["n_iter"] = 1
                    details["retained_copy"] = bool(copied)
                    return step_plan(
                        new_est,
                        new_strategy,
                        strategy=self.name,
                        exact=False,
                        details=details,
                    )
        if is_logistic:
            details["_same_classes"] = same_classes
        if stored is not None and self._masked_fit_ok(estimator, same_classes):
            X_s, y_s, s_r = stored
            new_est = self._resume(
                estimator, X_s, y_s, {"sample_weight": s_r}, start_w, details
            )
        else:
            X_r, y_r, props_r = retained()
            new_est = self._resume(estimator, X_r, y_r, props_r, start_w, details)
        details["retained_copy"] = bool(copied)
        if is_logistic and not same_classes:
            new_strategy.class_rows_ = counts[counts > 0]
        return step_plan(new_est, new_strategy, strategy=self.name, details=details)

    # ------------------------------------------------------------- helpers
    @staticmethod
    def _stored_rows(ledger, rows):
        """``(X, y, weights)`` over the ledger's slots, or None.

        ``weights`` is the ``sample_weight`` of the rows kept after the request
        (1 without weights) and zero elsewhere; the forgotten slots' targets
        are set to a retained row's (erased targets need not be valid labels).
        None when the stored rows are not a numeric array or a sparse matrix.
        """
        X = ledger.X
        if not (
            (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "fiub")
            or (sp.issparse(X) and X.format == "csr")
        ):
            return None
        y = ledger.y
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        alive = ledger.alive
        keep = alive.copy()
        keep[rows] = False
        if not alive.all():
            y = y.copy()
            y[~alive] = y[np.flatnonzero(keep)[0]]
        sw = ledger.sample_props.get("sample_weight")
        weights = (
            keep.astype(np.float64)
            if sw is None
            else np.where(keep, np.asarray(sw, dtype=np.float64), 0.0)
        )
        return X, y, weights

    @staticmethod
    def _masked_fit_ok(estimator, same_classes):
        # A fit on the stored rows with zero weights outside the retained rows
        # minimises the same objective as a fit on the retained rows, and the
        # solvers below stop on its gradient. Not with classes disappearing
        # (classes_ comes from y), not with class_weight="balanced" (computed
        # from the labels without weights), and not for sag/saga (their step
        # size and sampling see every stored row).
        if not same_classes:
            return False
        solver = getattr(estimator, "solver", "lbfgs")
        if solver not in _MASKED_SOLVERS:
            return False
        cw = getattr(estimator, "class_weight", None)
        return not (isinstance(cw, str) and cw == "balanced")

    @staticmethod
    def _loss_rows(nt, stored, retained):
        """Encoded targets and weights of the retained rows, once per request."""
        if stored is not None:
            X, y, sw = stored
        else:
            X, y, props = retained()
            sw = props.get("sample_weight")
        y_enc, y_idx = nt.targets(y)
        s = nt.weights(y_idx, sw)
        if not sp.issparse(X):
            X = X if stored is not None else np.asarray(X, dtype=np.float64)
        return {"X": X, "y": y_enc, "s": s, "S": float(s.sum())}

    @staticmethod
    def _loss_grad(nt, w, rows, hessian=False):
        with _one_blas_thread():
            return nt.grad_stored(w, rows["X"], rows["y"], rows["s"], hessian=hessian)

    def _resume(self, estimator, X_r, y_r, props_r, start_w, details):
        """Resume the estimator's own solver on the retained rows."""
        new = clone(estimator)
        same_shape = True
        if isinstance(estimator, LogisticRegression):
            same_shape = details.pop("_same_classes", True)
        if same_shape:
            new.set_params(warm_start=True)
            if start_w is not None:
                new.coef_, new.intercept_ = _Newton(estimator).unflat(
                    start_w, estimator.coef_.dtype
                )
            else:
                new.coef_ = estimator.coef_.copy()
                new.intercept_ = copy.copy(estimator.intercept_)
                details["start"] = "previous solution"
        else:
            details["start"] = "cold (the set of classes changed)"
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            new.fit(X_r, y_r, **props_r)
        for w in caught:
            if issubclass(w.category, ConvergenceWarning):
                details["converged"] = False
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        details["solver_seconds"] = time.perf_counter() - t0
        details.setdefault("converged", True)
        n_iter = np.asarray(new.n_iter_).ravel()
        details["n_iter"] = int(n_iter.max()) if n_iter.size else 0
        # The resumed fit is a fit with the user's parameters.
        new.warm_start = estimator.warm_start
        return new


for _est in (LogisticRegression, PoissonRegressor, GammaRegressor, TweedieRegressor):
    register_strategy(_est, WarmStartConvexStrategy)
