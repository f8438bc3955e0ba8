"""``Unlearnable``: give any scikit-learn estimator an ``unlearn`` method."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from . import strategies as _strategies  # noqa: F401  (registers the strategies)
from ._commit import model_lock
from .base import UnlearningMixin
from .strategies._base import (
    ForgetRequest,
    StrategyNotApplicable,
    UnlearningStrategy,
    as_model_plan,
    check_forget_2d,
    get_strategy,
    register_strategy,
    registered_strategies,
)
from .strategies.retrain import RetrainStrategy
from .utils._sklearn_compat import (
    HasMethods,
    _fit_context,
    _is_arraylike,
    _num_samples,
    _routing_enabled,
    _safe_set_output,
)

if TYPE_CHECKING:
    from .utils._typing import ArrayLike, MatrixLike

__all__ = ["Unlearnable", "register_strategy", "registered_strategies"]


def _estimator_has(attr: str) -> Callable[[Unlearnable], bool]:
    """Check the fitted estimator if there is one, else the template."""

    def check(self: Unlearnable) -> bool:
        if hasattr(self, "estimator_"):
            getattr(self.estimator_, attr)
        else:
            getattr(self.estimator, attr)
        return True

    return check


class Unlearnable(UnlearningMixin, MetaEstimatorMixin, BaseEstimator):
    """Give any scikit-learn estimator an exact ``unlearn`` method.

    ``Unlearnable(estimator).fit(X, y)`` fits a clone of ``estimator`` and
    records what the chosen strategy needs to forget rows later. The strategy
    is looked up by the estimator's type in one registry: closed form for
    least squares, the estimator's own ``unlearn`` for skunlearn's models, and
    retraining on the retained rows for anything else (exact, and as slow as
    ``fit``: the history says so).

    Parameters
    ----------
    estimator : estimator object
        The estimator to wrap. It is cloned in :meth:`fit`.

    strategy : str, default="auto"
        ``"auto"`` picks the most specific registered strategy that supports
        ``estimator``; ``"retrain"`` forces retraining; any other registered
        strategy name (e.g. ``"closed_form"``) requires that strategy.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted estimator, as if fit on the retained rows.

    unlearn_strategy_ : UnlearningStrategy
        The strategy in use and its state (e.g. sufficient statistics).

    ledger_ : TrainingLedger
        Fingerprints of the retained training rows (and the rows themselves
        for the retrain strategy).

    unlearn_history_ : list of dict
        One record per :meth:`unlearn` call: ``request_id``, ``n_removed``,
        ``n_remaining``, ``strategy``, ``exact``, ``seconds``, ``time``,
        ``details``. Never the rows.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string
        column names.

    See Also
    --------
    skunlearn.utils.estimator_checks.check_unlearning : Assert that an
        unlearner equals its gold standard.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(100, 3), rng.randn(100)
    >>> model = Unlearnable(Ridge(alpha=1.0)).fit(X, y)
    >>> model.unlearn(X[:10], request_id="ticket-42")
    Unlearnable(estimator=Ridge())
    >>> refit = Ridge(alpha=1.0).fit(X[10:], y[10:])
    >>> bool(np.allclose(model.coef_, refit.coef_, rtol=1e-10))
    True
    >>> record = model.unlearn_history_[0]
    >>> record["n_removed"], record["strategy"], record["exact"]
    (10, 'closed_form', True)
    """

    # Requests refit and downdate the fitted clone ``estimator_``, whose
    # parameters are those of fit: ``set_params`` on the template after fit
    # changes nothing a request does (as it changes no prediction).
    _unlearn_reads_params = False

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"])],
        "strategy": [str],
    }

    estimator_: Any
    unlearn_strategy_: UnlearningStrategy

    def __init__(self, estimator: Any, *, strategy: str = "auto") -> None:
        self.estimator = estimator
        self.strategy = strategy

    # ------------------------------------------------------------ guarantee
    def _get_unlearning_guarantee(self):
        # Decided from the parameters alone: the same before and after fit.
        try:
            strategy = get_strategy(self.estimator, self.strategy)
        except ValueError:  # a strategy that does not apply: fit raises
            return "exact"
        return strategy.guarantee(self.estimator)

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: MatrixLike, y: ArrayLike | None = None, **fit_params: Any) -> Self:
        """Fit a clone of the estimator and record the training rows.

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets, if the estimator is supervised.

        **fit_params : dict
            Parameters passed to the estimator's ``fit`` (routed with metadata
            routing when it is enabled). Per-row parameters such as
            ``sample_weight`` are kept with their rows and forgotten with them.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if self.strategy not in ("auto", "retrain") and self.strategy not in {
            s.name for v in registered_strategies().values() for s in v
        } | {"native"}:
            raise ValueError(f"Unknown strategy {self.strategy!r}.")
        if _routing_enabled():
            routed = process_routing(self, "fit", **fit_params)
            fit_params = dict(routed.estimator.fit)
        validate_data(self, X, skip_check_array=True)
        strategy_cls = get_strategy(self.estimator, self.strategy)
        strategy = strategy_cls()
        try:
            estimator = strategy.fit(clone(self.estimator), X, y, fit_params)
        except StrategyNotApplicable:
            if self.strategy != "auto":
                raise
            strategy = RetrainStrategy()
            estimator = strategy.fit(clone(self.estimator), X, y, fit_params)
        self.estimator_ = estimator
        self.unlearn_strategy_ = strategy
        if strategy.matches_rows_itself:
            # The wrapped model keeps its own ledger and history (read through
            # ``__getattr__``): one record per request, written by the model
            # that commits it, so no interrupt can separate the two.
            self.__dict__.pop("unlearn_history_", None)
            self.__dict__.pop("ledger_", None)
            return self
        n = _num_samples(X)
        props = {
            k: v
            for k, v in fit_params.items()
            if (strategy.sample_props is None or k in strategy.sample_props)
            and _is_arraylike(v)
            and _num_samples(v) == n
        }
        self._init_ledger(
            X,
            y,
            props,
            keep_X=strategy.keeps_rows_,
            # A strategy that edits the fitted index by ledger row id (nearest
            # neighbours) is compacted with the ledger: see _compact_rows.
            compact="never" if strategy.numbers_rows_by_id else "auto",
        )
        return self

    # -------------------------------------------------------------- unlearn
    def _validate_forget_data(self, X, y):
        if (
            self.unlearn_strategy_.plain_floats_are_valid
            and self._is_valid_float_forget_set(X)
        ):
            # What check_array would return unchanged; skipping it saves most
            # of a small request's overhead. Anything else is validated fully.
            return X, self._validate_forget_target(y, X.shape[0])
        X = self.unlearn_strategy_.align_forget(self.estimator_, X)
        check_forget_2d(X, self.estimator_)
        validate_data(self, X, reset=False, skip_check_array=True)
        X = self.unlearn_strategy_.validate_forget(self.estimator_, X)
        return X, self._validate_forget_target(y, _num_samples(X))

    def _unlearn(self, match, X, y, **params):
        request = ForgetRequest.from_ledger(self.ledger_, match, X, params)
        strategy = self.unlearn_strategy_
        update = as_model_plan(strategy.plan(self.estimator_, request), strategy)
        # strategies name their new state "strategy_" (their protocol's key)
        if "strategy_" in update.attributes:
            update.attributes["unlearn_strategy_"] = update.attributes.pop("strategy_")
        if update.retained is None:  # lets the ledger compact without a copy
            update.retained = request.built_retained()
        return update

    def unlearn(
        self,
        X: MatrixLike,
        y: ArrayLike | None = None,
        *,
        request_id: str | None = None,
        **params: Any,
    ) -> Self:
        if "unlearn_strategy_" not in self.__dict__:  # its cost only when it fails
            check_is_fitted(self, "unlearn_strategy_")
        if not self.unlearn_strategy_.matches_rows_itself:
            return super().unlearn(X, y, request_id=request_id, **params)
        # The wrapped estimator keeps its own ledger, history and
        # all-or-nothing contract: the request is its transaction.
        with model_lock(self).writer:
            # models saved by older releases mirrored the history here
            self.__dict__.pop("unlearn_history_", None)
            self.estimator_.unlearn(X, y, request_id=request_id, **params)
        return self

    unlearn.__doc__ = UnlearningMixin.unlearn.__doc__

    # ----------------------------------------------------------- delegation
    @available_if(_estimator_has("predict"))
    def predict(self, X: MatrixLike, **params: Any) -> Any:
        """Predict with the fitted estimator. See the wrapped estimator."""
        check_is_fitted(self)
        return self.estimator_.predict(X, **params)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: MatrixLike, **params: Any) -> Any:
        """Class probabilities from the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X, **params)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: MatrixLike, **params: Any) -> Any:
        """Class log-probabilities from the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X, **params)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: MatrixLike, **params: Any) -> Any:
        """Decision function of the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X, **params)

    @available_if(_estimator_has("score"))
    def score(self, X: MatrixLike, y: ArrayLike | None = None, **params: Any) -> float:
        """Score of the fitted estimator (its own ``score`` method)."""
        check_is_fitted(self)
        return self.estimator_.score(X, y, **params)

    @available_if(_estimator_has("transform"))
    def transform(self, X: MatrixLike, **params: Any) -> Any:
        """Transform with the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.transform(X, **params)

    @available_if(_estimator_has("transform"))
    def fit_transform(
        self, X: MatrixLike, y: ArrayLike | None = None, **fit_params: Any
    ) -> Any:
        """Fit, then transform ``X``."""
        return self.fit(X, y, **fit_params).transform(X)

    @available_if(_estimator_has("inverse_transform"))
    def inverse_transform(self, X: MatrixLike, **params: Any) -> Any:
        """Inverse transform with the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.inverse_transform(X, **params)

    @available_if(_estimator_has("get_feature_names_out"))
    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> Any:
        """Output feature names of the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.get_feature_names_out(input_features)

    def set_output(self, *, transform: str | None = None) -> Self:
        """Set the output container of ``transform`` (passed to the estimator).

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            Output container; None leaves it unchanged.

        Returns
        -------
        self : object
            The wrapper, with the output container set on the wrapped
            estimator (and its fitted copy).
        """
        _safe_set_output(self.estimator, transform=transform)
        if hasattr(self, "estimator_"):
            _safe_set_output(self.estimator_, transform=transform)
        return self

    # ------------------------------------------------------------ compaction
    @property
    def _compact_min_rows(self):
        # The strategy says from which size its state may wait for compaction.
        return self.unlearn_strategy_.compact_min_rows

    def _renumbered_rows(self, new_id):
        # the strategy builds its state for the retained rows (new objects)
        estimator, strategy = self.unlearn_strategy_.compact_rows(
            self.estimator_, self.ledger_
        )
        return {"estimator_": estimator, "unlearn_strategy_": strategy}

    @property
    def strategy_(self) -> UnlearningStrategy:
        """Alias of ``unlearn_strategy_`` (the name every skunlearn model uses).

        Kept for one release for code written against skunlearn 0.1.
        """
        try:
            return self.__dict__["unlearn_strategy_"]
        except KeyError:
            raise AttributeError("strategy_") from None

    def __setstate__(self, state):
        # models saved before the rename
        if "strategy_" in state:
            state["unlearn_strategy_"] = state.pop("strategy_")
        super().__setstate__(state)

    def __getattr__(self, name: str) -> Any:
        # Fitted attributes of the wrapped estimator (coef_, classes_, ...)
        # read through, as they would on the estimator itself.
        if name.endswith("_") and not name.startswith("__"):
            est = self.__dict__.get("estimator_")
            if est is not None and name not in ("estimator_",):
                try:
                    return getattr(est, name)
                except AttributeError:
                    pass
        raise AttributeError(
            f"'{type(self).__name__}' object has no attribute '{name}'"
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.target_tags = inner.target_tags
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.transformer_tags = inner.transformer_tags
        tags.input_tags = inner.input_tags
        tags.array_api_support = False
        tags.non_deterministic = inner.non_deterministic
        return tags

    def get_metadata_routing(self) -> MetadataRouter:
        """Get the metadata routing of this object.

        Returns
        -------
        routing : MetadataRouter
            Routing of ``fit`` and the prediction methods to the estimator.
        """
        mapping = MethodMapping()
        for method in (
            "fit",
            "predict",
            "predict_proba",
            "predict_log_proba",
            "decision_function",
            "score",
            "transform",
            "inverse_transform",
        ):
            mapping.add(caller=method, callee=method)
        return MetadataRouter(owner=self.__class__.__name__).add(
            estimator=self.estimator, method_mapping=mapping
        )
