"""Retraining: the always-correct fallback, and delegation to native unlearners."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .._commit import held_external_effects
from ..base import is_unlearner
from ..utils._sklearn_compat import _is_arraylike, _num_samples
from ._base import UnlearningStrategy, _register_for_any_type, step_plan

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike
    from ._base import ForgetPlan, ForgetRequest

__all__ = ["NativeStrategy", "RetrainStrategy"]


def _is_sample_aligned(value, n_samples):
    return _is_arraylike(value) and _num_samples(value) == n_samples


class RetrainStrategy(UnlearningStrategy):
    """Refit on the retained rows: exact for any estimator, and as slow as ``fit``.

    It keeps the training rows (and every per-row fit parameter) in the ledger,
    and the other fit parameters in ``static_params_``. Each removal is a full
    refit of a clone of the fitted estimator (same parameters) on the retained
    rows, in their training order; ``unlearn_history_`` records the refit's
    duration so the cost is visible.

    See Also
    --------
    get_strategy : Falls back to this strategy when no other applies.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.svm import SVC
    >>> from skunlearn import Unlearnable
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(100, 2)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> model = Unlearnable(SVC()).fit(X, y)
    >>> type(model.unlearn_strategy_).__name__
    'RetrainStrategy'
    >>> record = model.unlearn(X[:5]).unlearn_history_[-1]
    >>> record["strategy"], record["details"]["refit_rows"]
    ('retrain', 95)
    >>> refit = SVC().fit(X[5:], y[5:])
    >>> bool((model.predict(X) == refit.predict(X)).all())
    True
    """

    name = "retrain"
    own_fit_transform = True
    exact = True
    keeps_rows = True
    sample_props = None  # keep every sample-aligned fit parameter

    def _keep_static(self, X, fit_params):
        n = _num_samples(X)
        self.static_params_ = {
            k: v for k, v in fit_params.items() if not _is_sample_aligned(v, n)
        }

    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        """Fit ``estimator`` and keep the fit parameters that are not per row.

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
        """
        self._keep_static(X, fit_params)
        return estimator.fit(X, y, **fit_params)

    def fit_transform(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> tuple[Any, Any]:
        """Fit with the estimator's own ``fit_transform``, and return its output.

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

        output : {ndarray, sparse matrix, dataframe}
            Its ``fit_transform`` output on ``X``.
        """
        # As Pipeline does: fit_transform may differ from fit().transform()
        # (e.g. TargetEncoder cross-fits).
        self._keep_static(X, fit_params)
        return estimator, estimator.fit_transform(X, y, **fit_params)

    def adopt(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        """Keep ``estimator``, already fit on ``X``, as it is.

        Parameters
        ----------
        estimator : object
            The estimator, already fit on ``X``.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows it was fit on.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs) or None
            Their targets.

        fit_params : dict
            The fit parameters it was fit with.

        Returns
        -------
        estimator : object
            ``estimator`` itself.
        """
        self._keep_static(X, fit_params)
        return estimator

    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        """Refit a clone of the estimator on the retained rows.

        Parameters
        ----------
        estimator : object
            The fitted estimator (not to be modified).

        request : ForgetRequest
            The rows to forget, their targets and per-row fit parameters, the
            retained rows (lazily) and the unlearning parameters.

        Returns
        -------
        plan : ForgetPlan
            The refit estimator, with the refit's size and duration in
            ``details``.

        Raises
        ------
        TypeError
            If the caller passed unlearning parameters.
        """
        request.check_no_params(self.name)
        plan = self.refit_plan(estimator, request, reason="retrain strategy")
        plan.details["method"] = "full refit on the retained rows"
        return plan


@_register_for_any_type
class NativeStrategy(UnlearningStrategy):
    """For estimators that implement ``unlearn`` themselves: delegate to it.

    The estimator keeps its own ledger, history and transaction
    (``matches_rows_itself``): :class:`~skunlearn.Unlearnable` hands it the
    request as given. As a step of a composite model, the step forgets on a
    copy, which the composite commits with its other steps.

    See Also
    --------
    skunlearn.is_unlearner : Whether an estimator implements ``unlearn``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.tree import UnlearningTreeClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(100, 2)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> model = Unlearnable(UnlearningTreeClassifier(random_state=0)).fit(X, y)
    >>> type(model.unlearn_strategy_).__name__
    'NativeStrategy'
    >>> model.unlearn(X[:1]).unlearn_history_[-1]["strategy"]
    'tree-deletion'
    """

    name = "native"
    own_fit_transform = True
    keeps_rows = False
    sample_props = ()
    matches_rows_itself = True

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        """Whether ``estimator`` implements ``unlearn`` itself.

        Parameters
        ----------
        estimator : object
            The unfitted estimator.

        Returns
        -------
        supported : bool
            Whether :func:`~skunlearn.is_unlearner` holds for it.
        """
        return is_unlearner(estimator)

    @classmethod
    def guarantee(cls, estimator: Any) -> str:
        """The estimator's own guarantee (its ``unlearning_guarantee``).

        Parameters
        ----------
        estimator : object
            The estimator, which implements ``unlearn``.

        Returns
        -------
        guarantee : {"exact", "approximate"}
            What the estimator's ``unlearn`` promises.
        """
        # The estimator's own promise (a skunlearn meta-estimator derives it
        # from its parameters, the same before and after fit).
        return estimator.unlearning_guarantee

    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        """Fit ``estimator``, which keeps its own ledger.

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
        """
        return estimator.fit(X, y, **fit_params)

    def fit_transform(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> tuple[Any, Any]:
        """Fit with the estimator's own ``fit_transform``, and return its output.

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

        output : {ndarray, sparse matrix, dataframe}
            Its ``fit_transform`` output on ``X``.
        """
        return estimator, estimator.fit_transform(X, y, **fit_params)

    def adopt(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        """Keep ``estimator``, already fit on ``X``, as it is.

        Parameters
        ----------
        estimator : object
            The estimator, already fit on ``X``.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows it was fit on.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs) or None
            Their targets.

        fit_params : dict
            The fit parameters it was fit with.

        Returns
        -------
        estimator : object
            ``estimator`` itself.
        """
        return estimator

    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        """Forget with the estimator's own ``unlearn``, on a copy.

        Parameters
        ----------
        estimator : object
            The fitted estimator (not to be modified).

        request : ForgetRequest
            The rows to forget, their targets and per-row fit parameters, the
            retained rows (lazily) and the unlearning parameters.

        Returns
        -------
        plan : ForgetPlan
            The copy after its ``unlearn``, with the estimator's own record's
            exactness and strategy (``details["inner"]``); effects outside the
            copy (files) wait for the plan's commit.
        """
        # The step's own transaction, on a copy: the composite stays
        # all-or-nothing (nothing of the original changes until it commits).
        new = copy.deepcopy(estimator)
        ledger = getattr(new, "ledger_", None)
        y = request.y if getattr(ledger, "y", None) is not None else None
        # Effects outside the copy (a SISA step's superseded checkpoint
        # files) wait for the composite's commit.
        with held_external_effects() as effects:
            new.unlearn(request.X, y, **request.params)
        record = new.unlearn_history_[-1]
        return step_plan(
            new,
            None,
            strategy=self.name,
            exact=bool(record["exact"]),
            details={"inner": record["strategy"]},
            commit=effects.commit if effects else None,
            abort=effects.abort if effects else None,
        )
