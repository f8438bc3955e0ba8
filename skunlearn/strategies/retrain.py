"""Retraining: the always-correct fallback, and delegation to native unlearners."""

# SPDX-License-Identifier: BSD-3-Clause

import time

from sklearn.base import clone

from ..base import UnlearnUpdate, is_unlearner
from ..utils._sklearn_compat import _is_arraylike, _num_samples
from ._base import UnlearningStrategy

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

    def fit(self, estimator, X, y, fit_params):
        n = _num_samples(X)
        self.static_params_ = {
            k: v for k, v in fit_params.items() if not _is_sample_aligned(v, n)
        }
        return estimator.fit(X, y, **fit_params)

    def unlearn(self, estimator, ledger, match, X, y, params):
        if params:
            raise TypeError(
                "The retrain strategy takes no unlearning parameters, got "
                f"{sorted(params)}."
            )
        keep = ledger.retained(exclude=match.rows)
        X_r, y_r, props_r = ledger.take(keep)
        start = time.perf_counter()
        new = clone(estimator).fit(X_r, y_r, **props_r, **self.static_params_)
        return UnlearnUpdate(
            attributes={"estimator_": new},
            strategy=self.name,
            exact=True,
            details={
                "method": "full refit on the retained rows",
                "refit_rows": int(keep.size),
                "refit_seconds": time.perf_counter() - start,
            },
            retained=(X_r, y_r, props_r),
        )


class NativeStrategy(UnlearningStrategy):
    """For estimators that implement ``unlearn`` themselves: delegate to it."""

    name = "native"
    keeps_rows = False
    sample_props = ()

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
