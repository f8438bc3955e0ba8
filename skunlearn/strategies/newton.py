"""Newton removal that keeps no training row: logistic regression, certified.

``Unlearnable(LogisticRegression(), strategy="newton_removal")`` forgets rows
with Guo et al.'s one-step Newton update (ICML 2020, "Certified Data Removal
from Machine Learning Models") and keeps only what that update needs: the
Hessian of the loss (``p x p`` for ``p`` coefficients), the gradient at the
current solution, the Gram matrix of the rows (``p x p``) and, in the ledger,
the keyed row fingerprints and the targets. The training rows themselves are
not kept, so a saved model does not hold them.

The cost of that choice, stated: the result is **approximate** (the history
records ``exact=False``), the strategy cannot fall back to a refit (there is
nothing to refit on), and a request that removes a class's last row is
refused. In exchange every request reports a bound on how far the new
coefficients are from the retrained model's optimum, computed from the kept
statistics alone: Guo et al.'s data-dependent bound on the gradient norm of
the retained rows' objective at the new coefficients (``gamma |X'|_2
|H^-1 Delta| |X' H^-1 Delta|``, ``gamma = 1/4``), extended to rows of any norm
and to a Hessian kept at the point where it was computed (see
:meth:`NewtonRemovalStrategy.plan`), accumulated over requests; ``X'`` is the
retained design, whose norms are read from the downdated Gram matrix
``X'^T X'``. The true gradient norm never exceeds the bound (tested against
the retained rows). Guo et al.'s (epsilon, delta) certificate further needs noise
added to the training objective; this strategy reports the bound and leaves
that choice to the user.

Binary classification with an L2 (or no) penalty on dense numeric input; the
default ``strategy="auto"`` never picks it (it is a trade the user makes).
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

from ..exceptions import UnlearningError
from ._base import (
    StrategyNotApplicable,
    UnlearningStrategy,
    register_strategy,
    step_plan,
)
from .convex import _MAX_NEWTON_DOF, _effective_penalty, _Newton, _one_blas_thread

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike
    from ._base import ForgetPlan, ForgetRequest

__all__ = ["NewtonRemovalStrategy"]

#: Lipschitz constant of the logistic loss's second derivative (Guo et al.).
_GAMMA = 0.25


def _design(nt, X):
    """``X`` with the intercept column the coefficients' layout has."""
    X = np.asarray(X, dtype=np.float64)
    if nt.fit_intercept:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    return X


class NewtonRemovalStrategy(UnlearningStrategy):
    """One Newton step per request, keeping statistics instead of rows.

    See the module docstring. State: ``hessian_`` (loss Hessian on the
    retained rows, at the solution it was computed at), ``gradient_`` (the
    gradient of the penalised objective there), ``gram_`` (``X'^T X'`` with the
    intercept column, weighted), ``hessian_point_``, ``error_bound_`` (the
    accumulated bound on the gradient estimate's error, sum form),
    ``max_row_norm_``, ``class_rows_`` and ``weight_``.

    The history's ``details`` hold ``method`` ("newton_removal"),
    ``gradient_norm_bound`` (a bound on the norm of the retained rows'
    objective gradient at the new coefficients, sum form),
    ``gradient_residual_bound`` (the same divided by the retained weight, the
    unit of the ``warm_start`` strategy's measured
    ``gradient_residual_norm``) and ``rows_kept`` (False).

    See Also
    --------
    get_strategy : ``strategy="auto"`` picks the exact warm-start strategy
        for a ``LogisticRegression``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skunlearn import Unlearnable
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(100, 2)
    >>> y = (X[:, 0] + 0.5 * rng.randn(100) > 0).astype(int)
    >>> model = Unlearnable(LogisticRegression(), strategy="newton_removal")
    >>> record = model.fit(X, y).unlearn(X[:5]).unlearn_history_[-1]
    >>> record["strategy"], record["exact"], record["details"]["rows_kept"]
    ('newton_removal', False, False)
    >>> refit = LogisticRegression().fit(X[5:], y[5:])
    >>> bool(np.abs(model.coef_ - refit.coef_).max() < 0.01)
    True
    """

    name = "newton_removal"
    exact = False
    keeps_rows = False
    auto = False  # chosen by name only: a trade of exactness for no rows
    sample_props = ("sample_weight",)
    plain_floats_are_valid = False

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        """Whether ``estimator`` is a logistic regression this strategy handles.

        A ``LogisticRegression`` (not ``LogisticRegressionCV``) with an L2 or no
        penalty and no ``class_weight="balanced"``.

        Parameters
        ----------
        estimator : object
            The unfitted estimator.

        Returns
        -------
        supported : bool
            Whether the strategy applies.
        """
        return (
            isinstance(estimator, LogisticRegression)
            and not isinstance(estimator, LogisticRegressionCV)
            and _effective_penalty(estimator) in ("l2", None)
            and not (
                isinstance(estimator.class_weight, str)
                and estimator.class_weight == "balanced"
            )
        )

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        """Fit ``estimator`` and keep the statistics a Newton removal needs.

        The Hessian, the gradient and the Gram matrix of the rows at the fitted
        coefficients; not the rows.

        Parameters
        ----------
        estimator : object
            A fresh clone of the estimator, to fit.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs) or None
            Training targets.

        fit_params : dict
            Fit parameters, per-row ones aligned with ``X``.

        Returns
        -------
        estimator : object
            The fitted estimator.

        Raises
        ------
        StrategyNotApplicable
            For sparse or non-numeric input, more than two classes, or too many
            coefficients for ``p x p`` matrices.
        """
        unknown = set(fit_params) - {"sample_weight"}
        if unknown:
            raise TypeError(
                f"{type(estimator).__name__}.fit got unexpected parameters {unknown}."
            )
        if sp.issparse(X) or (
            hasattr(X, "dtypes") and not all(t.kind in "biuf" for t in X.dtypes)
        ):
            raise StrategyNotApplicable(
                "newton_removal needs dense numeric input (its statistics are "
                "dense p x p matrices)."
            )
        estimator.fit(X, y, **fit_params)
        if len(estimator.classes_) != 2:
            raise StrategyNotApplicable(
                "newton_removal supports binary classification only (the bound "
                "is Guo et al.'s for the logistic loss)."
            )
        nt = _Newton(estimator)
        if nt.n_dof > _MAX_NEWTON_DOF:
            raise StrategyNotApplicable(
                f"newton_removal keeps p x p matrices; p={nt.n_dof} exceeds "
                f"{_MAX_NEWTON_DOF}."
            )
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr.ravel()
        sw = fit_params.get("sample_weight")
        w = nt.flat(estimator.coef_, estimator.intercept_)
        with _one_blas_thread():
            g, H = nt.grad(w, X, y_arr, sw, hessian=True)
            Xa = _design(nt, X)
            s = nt.weights(nt.targets(y_arr)[1], sw)
            self.gram_ = Xa.T @ (Xa * s[:, None])
        self.hessian_point_ = w
        self.hessian_ = H
        self.gradient_ = g + nt.penalty_grad(w)
        self.error_bound_ = 0.0
        self.max_row_norm_ = float(np.sqrt(np.max(np.einsum("ij,ij->i", Xa, Xa))))
        self.class_rows_ = np.bincount(
            np.searchsorted(estimator.classes_, y_arr), minlength=2
        )
        self.weight_ = float(s.sum())
        return estimator

    # -------------------------------------------------------------- unlearn
    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        """One Newton step from the kept statistics, and its error bound.

        With ``F`` the penalised objective on the retained rows, ``H0`` its
        loss Hessian at the point ``w0`` where it was computed (kept exactly:
        the forget rows' Hessian is subtracted at ``w0``), ``g`` the kept
        estimate of ``grad F(w)`` with ``|grad F(w) - g| <= E`` and the step
        ``v = (H0 + I / C)^-1 g``, the new estimate is
        ``g - (H0 + I / C) v`` and, the logistic loss's second derivative
        being ``gamma``-Lipschitz (``gamma = 1/4``) and each row's
        ``|x|_2 <= m``::

            E_new = E + gamma * m * (|w - w0| + |v| / 2) * |S^1/2 X'|_2 * |S^1/2 X' v|

        (the weighted Gram matrix gives both norms), so that
        ``|grad F(w - v)| <= |g_new| + E_new``: the bound reported.

        Parameters
        ----------
        estimator : object
            The fitted estimator (not to be modified).

        request : ForgetRequest
            The rows to forget, their targets and sample weights.

        Returns
        -------
        plan : ForgetPlan
            The new estimator and statistics, recorded as approximate, with
            the bound in ``details``.

        Raises
        ------
        UnlearningError
            If the request removes the last training row of a class.
        """
        request.check_no_params(self.name)
        nt = _Newton(estimator)
        X_f = np.asarray(request.X, dtype=np.float64)
        y_f = np.asarray(request.y)
        if y_f.ndim == 2 and y_f.shape[1] == 1:
            y_f = y_f.ravel()
        sw_f = request.props.get("sample_weight")
        class_rows = self.class_rows_ - np.bincount(
            np.searchsorted(estimator.classes_, y_f), minlength=2
        )
        if np.any(class_rows == 0):
            raise UnlearningError(
                "The request removes the last training row of a class. The "
                "newton_removal strategy keeps no training rows, so it cannot "
                "refit without them: refit the model on your retained data. "
                "Nothing was forgotten."
            )
        w = nt.flat(estimator.coef_, estimator.intercept_)
        w0 = self.hessian_point_
        with _one_blas_thread():
            g_f = nt.grad(w, X_f, y_f, sw_f)
            H_f = nt.grad(w0, X_f, y_f, sw_f, hessian=True)[1]
            H_r = self.hessian_ - H_f
            g_r = self.gradient_ - g_f
            v = nt.step(H_r, g_r)
            Xa_f = _design(nt, X_f)
            s_f = nt.weights(nt.targets(y_f)[1], sw_f)
            gram = self.gram_ - Xa_f.T @ (Xa_f * s_f[:, None])
            # |S^1/2 X'|_2 and |S^1/2 X' v| from the Gram matrix (no rows).
            x_norm = np.sqrt(max(float(np.linalg.eigvalsh(gram)[-1]), 0.0))
            xv_norm = np.sqrt(max(float(v @ gram @ v), 0.0))
            H_pen = H_r.copy()
            H_pen[np.diag_indices_from(H_pen)] += np.where(
                nt.penalised, 1.0 / nt.C, 0.0
            )
            g_new = g_r - H_pen @ v
        distance = float(np.linalg.norm(w - w0)) + 0.5 * float(np.linalg.norm(v))
        increment = _GAMMA * self.max_row_norm_ * distance * x_norm * xv_norm
        error = self.error_bound_ + increment
        bound = float(np.linalg.norm(g_new)) + error
        weight = self.weight_ - float(s_f.sum())
        new_est = copy.copy(estimator)
        new_est.coef_, new_est.intercept_ = nt.unflat(w - v, estimator.coef_.dtype)
        new_est.n_iter_ = np.asarray([1], dtype=np.int32)
        state = copy.copy(self)
        state.hessian_ = H_r
        state.gradient_ = g_new
        state.error_bound_ = error
        state.gram_ = gram
        state.class_rows_ = class_rows
        state.weight_ = weight
        return step_plan(
            new_est,
            state,
            strategy=self.name,
            exact=False,
            details={
                "method": "newton_removal",
                "rows_kept": False,
                "gradient_norm_bound": bound,
                "gradient_residual_bound": bound / weight,
            },
        )


register_strategy(LogisticRegression, NewtonRemovalStrategy)
