"""Unlearning for hyperparameter searches: GridSearchCV, RandomizedSearchCV.

``Unlearnable(GridSearchCV(...))`` unlearns the search's ``best_estimator_``
with the strategy of its type (closed form for ``Ridge``, composite for a
pipeline, ...): afterwards ``best_estimator_`` equals
``clone(best_estimator_).fit(X_retain, y_retain)``. The search itself is not
redone by default: ``best_params_``, ``best_score_`` and ``cv_results_`` still
come from the original search, which saw the forgotten rows (aggregated
scores, not the rows).

``unlearn(X_forget, refit_search=True)`` redoes the whole search on the
retained rows, for users who need the chosen hyperparameters (and
``cv_results_``) to be free of the forgotten rows too; the result then equals
``clone(search).fit(X_retain, y_retain)``, the gold standard of the search.
To allow that at any time, the strategy keeps the training rows.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sklearn.base import clone
from sklearn.model_selection import ParameterGrid
from sklearn.utils.metadata_routing import process_routing

from ..utils._sklearn_compat import BaseSearchCV, _num_samples, _routing_enabled
from ._base import (
    ForgetRequest,
    UnlearningStrategy,
    get_strategy,
    register_strategy,
    step_guarantee,
    step_plan,
    worst_guarantee,
)
from .composite import _adopt, _plan_step, _split_params

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike
    from ._base import ForgetPlan

__all__ = ["SearchStrategy"]


def _candidates(search):
    """The estimators ``search`` may choose from, built lazily from its parameters.

    Every combination of ``param_grid`` (or of the lists of
    ``param_distributions``: a distribution draws numbers, so the template's
    value stands for it) set on a clone of ``search.estimator``, as the search
    builds its candidates. Searches with neither yield the template.
    """
    grid = getattr(search, "param_grid", None)
    if grid is None:
        grid = getattr(search, "param_distributions", None)
    if grid is None:
        yield search.estimator
        return
    grids = [grid] if isinstance(grid, Mapping) else grid
    try:
        grid = ParameterGrid(
            [{k: v for k, v in g.items() if not hasattr(v, "rvs")} for g in grids]
        )
    except (TypeError, ValueError, AttributeError):
        # An invalid grid fails the search's own fit; until then the template
        # is all there is to judge.
        yield search.estimator
        return
    for params in grid:
        try:
            # Cloned as the search does: set_params must not alter the grid's
            # estimators through nested parameters.
            candidate = clone(search.estimator).set_params(**clone(params, safe=False))
        except ValueError:  # an invalid parameter name: the search's fit raises
            continue
        yield candidate


class SearchStrategy(UnlearningStrategy):
    """Unlearn a fitted search's ``best_estimator_``, or redo the search.

    Unlearning parameter ``refit_search`` (bool, default False): redo the
    search on the retained rows instead of unlearning ``best_estimator_``.
    ``fit`` runs the search, then fits the best estimator's strategy state
    (for most strategies one more fit of the best estimator on all rows).
    Searches with ``refit=False`` have no ``best_estimator_`` and go to the
    retrain strategy.
    """

    name = "search"
    keeps_rows = True
    sample_props = None

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, BaseSearchCV) and estimator.refit is not False

    @classmethod
    def guarantee(cls, estimator: Any) -> str:
        # The best estimator may be any candidate: the worst of theirs (a grid
        # may swap a pipeline step for an approximate unlearner).
        return worst_guarantee(step_guarantee(c) for c in _candidates(estimator))

    def _best_params(self, search, params):
        if _routing_enabled():
            return dict(process_routing(search, "fit", **params).estimator.fit)
        return dict(params)

    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        estimator.fit(X, y, **fit_params)
        self.static_params_ = _split_params(fit_params, _num_samples(X))[1]
        best = estimator.best_estimator_
        strategy, best = _adopt(
            get_strategy(best)(), best, X, y, self._best_params(estimator, fit_params)
        )
        estimator.best_estimator_ = best
        self.best_ = strategy
        return estimator

    def validate_forget(self, estimator: Any, X: MatrixLike) -> Any:
        return X  # the best estimator validates the rows itself

    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        params = dict(request.params)
        refit_search = params.pop("refit_search", False)
        if params:
            raise TypeError(
                f"The search strategy takes only 'refit_search', got {sorted(params)}."
            )
        if refit_search:
            plan = self.refit_plan(estimator, request)
            plan.strategy = self.name
            plan.details["search_redone"] = True
            return plan

        def retained_best():
            X_r, y_r, props_r = request.retained()
            routed = self._best_params(estimator, {**props_r, **self.static_params_})
            return X_r, y_r, routed

        upd = _plan_step(
            self.best_,
            estimator.best_estimator_,
            ForgetRequest(
                X=request.X,
                y=request.y,
                props=self._best_params(
                    estimator, {**request.props, **self.static_params_}
                ),
                retained=retained_best,
            ),
        )
        new = copy.copy(estimator)
        new.best_estimator_ = upd.estimator
        state = copy.copy(self)
        state.best_ = upd.state
        return step_plan(
            new,
            state,
            strategy=self.name,
            exact=upd.exact,
            changed=upd.changed,
            details={
                "search_redone": False,
                "hyperparameters": "from the original search",
                "best_estimator": {"strategy": upd.strategy, **upd.details},
            },
            commit=upd.commit,
            abort=upd.abort,
        )


register_strategy(BaseSearchCV, SearchStrategy)
