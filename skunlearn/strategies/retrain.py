"""Retraining: the always-correct fallback, and delegation to native unlearners."""

# SPDX-License-Identifier: BSD-3-Clause

import copy

from .._commit import held_external_effects
from ..base import is_unlearner
from ..utils._sklearn_compat import _is_arraylike, _num_samples
from ._base import UnlearningStrategy, _register_for_any_type, fit_step, step_plan

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
    """

    name = "retrain"
    exact = True
    keeps_rows = True
    sample_props = None  # keep every sample-aligned fit parameter

    def _keep_static(self, X, fit_params):
        n = _num_samples(X)
        self.static_params_ = {
            k: v for k, v in fit_params.items() if not _is_sample_aligned(v, n)
        }

    def fit(self, estimator, X, y, fit_params):
        self._keep_static(X, fit_params)
        return estimator.fit(X, y, **fit_params)

    def fit_transform(self, estimator, X, y, fit_params):
        # As Pipeline does: fit_transform may differ from fit().transform()
        # (e.g. TargetEncoder cross-fits).
        self._keep_static(X, fit_params)
        return estimator, estimator.fit_transform(X, y, **fit_params)

    def adopt(self, estimator, X, y, fit_params):
        self._keep_static(X, fit_params)
        return estimator

    def refit_transform(self, estimator, X, y, fit_params):
        return fit_step(
            estimator, X, y, fit_params, transform=True, strategy=type(self)()
        )

    def plan(self, estimator, request):
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
    """

    name = "native"
    keeps_rows = False
    sample_props = ()
    matches_rows_itself = True

    @classmethod
    def supports(cls, estimator):
        return is_unlearner(estimator)

    @classmethod
    def guarantee(cls, estimator):
        # The estimator's own promise (a skunlearn meta-estimator derives it
        # from its parameters, the same before and after fit).
        return estimator.unlearning_guarantee

    def fit(self, estimator, X, y, fit_params):
        return estimator.fit(X, y, **fit_params)

    def fit_transform(self, estimator, X, y, fit_params):
        return estimator, estimator.fit_transform(X, y, **fit_params)

    def adopt(self, estimator, X, y, fit_params):
        return estimator

    def refit_transform(self, estimator, X, y, fit_params):
        return fit_step(
            estimator, X, y, fit_params, transform=True, strategy=type(self)()
        )

    def plan(self, estimator, request):
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
