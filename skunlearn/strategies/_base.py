"""Strategy objects and the registry that maps estimator types to them."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, overload

import numpy as np
from sklearn.utils import get_tags
from sklearn.utils.validation import check_array

from .._ledger import ForgetMatch, TrainingLedger
from ..base import ForgetPlan

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike

_S = TypeVar("_S", bound="type[UnlearningStrategy]")

__all__ = [
    "ForgetPlan",
    "ForgetRequest",
    "StrategyNotApplicable",
    "UnlearningStrategy",
    "get_strategy",
    "register_strategy",
    "registered_strategies",
]


def _shallow_copy(obj):
    """``copy.copy`` without the pickling protocol (``BaseEstimator.__getstate__``).

    A shallow copy of an estimator or strategy costs a tenth as much this way:
    a measurable share of a one-row request.
    """
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


class StrategyNotApplicable(Exception):
    """Raised by :meth:`UnlearningStrategy.fit` when the data rule it out.

    :class:`~skunlearn.Unlearnable` then falls back to the retrain strategy
    (and says so in ``strategy_``). Raised only before anything is fitted.

    See Also
    --------
    UnlearningStrategy.supports : Rules a strategy out from the parameters.
    RetrainStrategy : The strategy used instead.

    Examples
    --------
    The closed-form strategy needs dense input; on a sparse matrix the model
    retrains instead:

    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.strategies import (
    ...     ClosedFormLinearStrategy,
    ...     StrategyNotApplicable,
    ... )
    >>> X, y = sp.csr_matrix(np.eye(4)), np.arange(4.0)
    >>> try:
    ...     ClosedFormLinearStrategy().fit(Ridge(), X, y, {})
    ... except StrategyNotApplicable as exc:
    ...     print(exc)
    sparse input
    >>> type(Unlearnable(Ridge()).fit(X, y).unlearn_strategy_).__name__
    'RetrainStrategy'
    """


class _Retained:
    """The retained rows, built on first use and kept (a request may ask twice)."""

    __slots__ = ("_build", "value")

    def __init__(self, build):
        self._build = build
        self.value = None

    def __call__(self):
        if self.value is None:
            self.value = self._build()
        return self.value


@dataclass(frozen=True, eq=False)
class ForgetRequest:
    """What one component of a model is asked to forget.

    The one input of :meth:`UnlearningStrategy.plan`, whether the strategy's
    estimator is the whole model (:class:`~skunlearn.Unlearnable`) or a step
    of a composite model (a pipeline, a column transformer, a search).

    Parameters
    ----------
    X : array-like
        The validated forget rows, as this component saw them in ``fit``
        (already transformed by the unchanged upstream steps).
    y : array-like or None
        Their targets (the stored ones when the model keeps them).
    props : dict
        Their per-row fit parameters routed to this component.
    retained : callable
        ``retained()`` returns ``(X, y, props)`` of the retained rows as this
        component sees them: built on first call (it may be costly) and kept.
    params : dict
        Unlearning parameters given by the caller.
    rows : ndarray of int or None
        Ledger row ids of the forget rows; set only when the component owns
        the ledger (not for a step of a composite).
    ledger : TrainingLedger or None
        The owner's ledger, read-only; set with ``rows``.
    want_output : bool
        Whether the caller needs the new component's output on the retained
        rows (``plan.retained_output``) when it changed; a strategy may leave
        it None, and the caller then computes ``transform``.

    See Also
    --------
    UnlearningStrategy.plan : The method that reads a request.
    ForgetPlan : What the strategy returns for it.

    Examples
    --------
    A request built by hand, planned by the closed-form strategy of a ridge
    regression: the plan's estimator is the ridge refit on the retained rows.

    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn.strategies import ClosedFormLinearStrategy, ForgetRequest
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(20, 2), rng.randn(20)
    >>> strategy = ClosedFormLinearStrategy()
    >>> ridge = strategy.fit(Ridge(), X, y, {})
    >>> request = ForgetRequest(
    ...     X=X[:5], y=y[:5], props={}, retained=lambda: (X[5:], y[5:], {})
    ... )
    >>> request.n_forget
    5
    >>> plan = strategy.plan(ridge, request)
    >>> refit = Ridge().fit(X[5:], y[5:])
    >>> bool(np.allclose(plan.estimator.coef_, refit.coef_, rtol=1e-10))
    True
    """

    X: Any
    y: Any
    props: dict[str, Any]
    retained: Callable[[], tuple[Any, Any, dict[str, Any]]]
    params: dict[str, Any] = field(default_factory=dict)
    rows: Any = None
    ledger: TrainingLedger | None = None
    want_output: bool = False

    @property
    def n_forget(self) -> int:
        """Number of rows to forget."""
        X = self.X
        return X.shape[0] if hasattr(X, "shape") else len(X)

    @classmethod
    def from_ledger(
        cls,
        ledger: TrainingLedger,
        match: ForgetMatch,
        X: Any,
        params: dict[str, Any],
    ) -> ForgetRequest:
        """The request of a ledger's owner: forget rows ``match.rows``.

        Parameters
        ----------
        ledger : TrainingLedger
            The owner's ledger; the targets and per-row fit parameters of the
            rows are read from it, and the retained rows on demand.

        match : ForgetMatch
            The ledger rows the forget set matched.

        X : array-like
            The validated forget rows.

        params : dict
            Unlearning parameters given by the caller.

        Returns
        -------
        request : ForgetRequest
            The request, with ``rows`` and ``ledger`` set.
        """
        rows = match.rows
        y = None if ledger.y is None else ledger.y[rows]
        props = {k: v[rows] for k, v in ledger.sample_props.items()}
        return cls(
            X=X,
            y=y,
            props=props,
            retained=_Retained(lambda: ledger.take(ledger.retained(exclude=rows))),
            params=params,
            rows=rows,
            ledger=ledger,
        )

    def built_retained(self) -> tuple[Any, Any, dict[str, Any]] | None:
        """The retained rows if a strategy built them, else None.

        Returns
        -------
        retained : tuple or None
            ``(X, y, props)`` of the retained rows when ``retained()`` was
            called already, else None (they are not built for this).
        """
        return getattr(self.retained, "value", None)

    def check_no_params(self, name: str) -> None:
        """Raise ``TypeError`` if the caller passed unlearning parameters.

        Parameters
        ----------
        name : str
            Name of the strategy, for the message.

        Raises
        ------
        TypeError
            If ``params`` is not empty.
        """
        if self.params:
            raise TypeError(
                f"The {name} strategy takes no unlearning parameters, got "
                f"{sorted(self.params)}."
            )


def as_model_plan(plan: ForgetPlan, strategy: UnlearningStrategy) -> ForgetPlan:
    """``plan`` recorded under ``strategy``'s name (a model's history names the
    model's strategy; the path it took, when it has a name of its own, goes in
    ``details["strategy"]``)."""
    if plan.strategy != strategy.name:
        plan.details = {"strategy": plan.strategy, **plan.details}
        plan.strategy = strategy.name
    return plan


def step_plan(
    estimator: Any,
    state: UnlearningStrategy | None,
    *,
    strategy: str,
    changed: bool = True,
    exact: bool = True,
    details: dict[str, Any] | None = None,
    retained_output: Any = None,
    commit: Callable[[], object] | None = None,
    abort: Callable[[], object] | None = None,
) -> ForgetPlan:
    """A strategy's :class:`~skunlearn.base.ForgetPlan`: the new estimator and state.

    ``state`` is the strategy holding the new state (``None``: unchanged).
    """
    attributes: dict[str, Any] = {"estimator_": estimator}
    if state is not None:
        attributes["strategy_"] = state
    return ForgetPlan(
        attributes=attributes,
        strategy=strategy,
        exact=exact,
        details={} if details is None else details,
        changed=changed,
        retained_output=retained_output,
        commit=commit,
        abort=abort,
    )


def fit_step(
    estimator: Any,
    X: MatrixLike,
    y: ArrayLike | None,
    fit_params: dict[str, Any],
    *,
    transform: bool = False,
    strategy: UnlearningStrategy | None = None,
) -> tuple[UnlearningStrategy, Any, Any]:
    """Fit a clone of ``estimator`` with its strategy: ``(strategy, fitted, output)``.

    ``strategy`` (an instance, default: the registered one) fits a clone;
    with ``transform``, ``output`` is the fitted estimator's output on ``X``
    as its ``fit_transform`` gives it (which may differ from
    ``fit().transform()``, e.g. a ``TargetEncoder`` cross-fits), else None. A
    strategy that finds the data rule it out gives way to retraining.
    """
    from sklearn.base import clone

    from .retrain import RetrainStrategy

    if strategy is None:
        strategy = get_strategy(estimator)()
    try:
        if transform:
            fitted, out = strategy.fit_transform(clone(estimator), X, y, fit_params)
            return strategy, fitted, out
        return strategy, strategy.fit(clone(estimator), X, y, fit_params), None
    except StrategyNotApplicable:
        return fit_step(
            estimator, X, y, fit_params, transform=transform, strategy=RetrainStrategy()
        )


class UnlearningStrategy:
    """How rows are removed from one kind of fitted scikit-learn model.

    A strategy is a small object held by :class:`~skunlearn.Unlearnable` as
    ``strategy_``. It fits the wrapped estimator (keeping whatever state it
    needs, e.g. sufficient statistics) and later computes the estimator
    without given rows. It never modifies the fitted estimator or itself in
    :meth:`unlearn`: it returns new objects, which the caller commits.

    Class attributes are constants of the strategy, never set on an instance;
    what ``fit`` finds out about the data is stored under a trailing
    underscore (``keeps_rows_``).

    Attributes
    ----------
    name : str
        Name recorded in ``unlearn_history_``.
    exact : bool
        Whether the result equals a refit on the retained rows (the default
        of :meth:`guarantee`).
    keeps_rows : bool
        Whether the training rows must be kept (in the ledger), unless ``fit``
        decides otherwise (see :attr:`keeps_rows_`).

    See Also
    --------
    register_strategy : Register a strategy for an estimator type.
    ForgetRequest : What :meth:`plan` is asked to forget.
    ForgetPlan : What :meth:`plan` returns.

    Examples
    --------
    A strategy for ``DummyRegressor(strategy="mean")`` that keeps two sums
    and no row (see :ref:`extending`), used here without the registry:

    >>> import copy
    >>> import numpy as np
    >>> from sklearn.dummy import DummyRegressor
    >>> from skunlearn.strategies import (
    ...     ForgetPlan,
    ...     ForgetRequest,
    ...     UnlearningStrategy,
    ... )
    >>> class MeanStrategy(UnlearningStrategy):
    ...     name = "running_mean"
    ...
    ...     def fit(self, estimator, X, y, fit_params):
    ...         estimator.fit(X, y)
    ...         self.sum_, self.count_ = np.sum(y), len(y)
    ...         return estimator
    ...
    ...     def plan(self, estimator, request):
    ...         state = copy.copy(self)  # never modify self or estimator
    ...         state.sum_ = self.sum_ - np.sum(request.y)
    ...         state.count_ = self.count_ - request.n_forget
    ...         new = copy.copy(estimator)
    ...         new.constant_ = np.reshape(state.sum_ / state.count_, (1, 1))
    ...         return ForgetPlan(
    ...             attributes={"estimator_": new, "strategy_": state},
    ...             strategy=self.name,
    ...         )
    >>> X, y = np.zeros((4, 1)), np.array([1.0, 2.0, 3.0, 6.0])
    >>> strategy = MeanStrategy()
    >>> dummy = strategy.fit(DummyRegressor(), X, y, {})
    >>> request = ForgetRequest(
    ...     X=X[3:], y=y[3:], props={}, retained=lambda: (X[:3], y[:3], {})
    ... )
    >>> strategy.plan(dummy, request).estimator.predict(X[:1])
    array([2.])
    """

    name: str = "base"
    exact: bool = True
    keeps_rows: bool = False
    #: whether any finite float64 2-D array of the right width is a valid forget
    #: set (then Unlearnable skips re-validating it)
    plain_floats_are_valid: bool = False
    #: per-row fit parameters kept with the rows; None keeps all sample-aligned ones
    sample_props: tuple[str, ...] | None = ("sample_weight",)
    #: whether the strategy's state numbers rows by ledger row id: its owner's
    #: ledger then compacts only together with it, through :meth:`compact_rows`
    numbers_rows_by_id: bool = False
    #: ledger size from which compaction may wait (``TrainingLedger.due``)
    compact_min_rows: int | None = None
    #: whether :meth:`fit_transform` returns the estimator's own
    #: ``fit_transform`` output (retraining, native, column transformers):
    #: :meth:`refit_transform` then refits that way
    own_fit_transform: bool = False
    #: whether ``strategy="auto"`` may pick it (False: chosen by name only)
    auto: bool = True
    #: whether the estimator matches forget rows against its own ledger (it
    #: implements ``unlearn``): its owner then keeps no ledger and hands it
    #: the request as given
    matches_rows_itself: bool = False

    def compact_rows(
        self, estimator: Any, ledger: TrainingLedger
    ) -> tuple[Any, UnlearningStrategy]:
        """``(estimator, strategy)`` renumbered for the ledger's retained rows.

        Called, for strategies with ``numbers_rows_by_id``, just before the
        ledger drops its erased slots; returns new objects (nothing published
        is changed). The default has nothing numbered by row id.

        Parameters
        ----------
        estimator : object
            The fitted estimator (not to be modified).

        ledger : TrainingLedger
            The owner's ledger, before it drops its erased slots.

        Returns
        -------
        estimator : object
            The estimator with its per-row state renumbered.

        strategy : UnlearningStrategy
            The strategy with its per-row state renumbered.
        """
        return estimator, self

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        """Whether this strategy can handle ``estimator`` (an unfitted template).

        Decided from the estimator's type and parameters; data that rule the
        strategy out make :meth:`fit` raise :class:`StrategyNotApplicable`.

        Parameters
        ----------
        estimator : object
            The unfitted estimator.

        Returns
        -------
        supported : bool
            Whether the strategy applies. The default is True.
        """
        return True

    @classmethod
    def guarantee(cls, estimator: Any) -> str:
        """What unlearning ``estimator`` with this strategy promises.

        Decided from the estimator's parameters alone (``estimator`` may be
        the unfitted template or the fitted estimator: the answer is the
        same), so that ``unlearning_guarantee`` does not change with ``fit``.
        Strategies whose guarantee depends on what they wrap (composites,
        searches, native unlearners) override it.

        Parameters
        ----------
        estimator : object
            The estimator this strategy supports.

        Returns
        -------
        guarantee : {"exact", "approximate"}
        """
        return "exact" if cls.exact else "approximate"

    @property
    def keeps_rows_(self) -> bool:
        """Whether this fitted strategy keeps the training rows.

        The class constant :attr:`keeps_rows`, unless ``fit`` decided
        otherwise from the data (e.g. sparse input) by setting this attribute.
        """
        # Strategies pickled before keeps_rows_ existed set ``keeps_rows``.
        return self.__dict__.get("_keeps_rows", self.keeps_rows)

    @keeps_rows_.setter
    def keeps_rows_(self, value: bool) -> None:
        self._keeps_rows = bool(value)

    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        """Fit ``estimator`` (a fresh clone) and this strategy's state.

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
        raise NotImplementedError

    def validate_forget(self, estimator: Any, X: MatrixLike) -> Any:
        """Validate a forget set like the fitted ``estimator``'s ``predict`` would.

        Parameters
        ----------
        estimator : object
            The fitted estimator.

        X : {array-like, sparse matrix} of shape (n_forget, n_features)
            The rows to forget.

        Returns
        -------
        X : {ndarray, sparse matrix} of shape (n_forget, n_features)
            The validated rows.
        """
        tags = get_tags(estimator)
        numeric = tags.input_tags.two_d_array and not (
            tags.input_tags.string or tags.input_tags.categorical
        )
        return check_array(
            X,
            accept_sparse=True if tags.input_tags.sparse else False,
            dtype="numeric" if numeric else None,
            ensure_all_finite="allow-nan" if tags.input_tags.allow_nan else True,
            ensure_min_samples=0,
            estimator=estimator,
            input_name="X_forget",
        )

    def align_forget(self, estimator: Any, X: MatrixLike) -> MatrixLike:
        """Align a forget DataFrame's columns with the fitted ``estimator``'s.

        Called before any validation. The default returns ``X`` unchanged (so
        columns in another order raise, as in ``predict``); estimators that
        select columns by name (``ColumnTransformer``) reorder them.

        Parameters
        ----------
        estimator : object
            The fitted estimator.

        X : {array-like, sparse matrix, dataframe} of shape (n_forget, n_features)
            The rows to forget, as given.

        Returns
        -------
        X : {array-like, sparse matrix, dataframe} of shape (n_forget, n_features)
            The rows with their columns in the order seen in ``fit``.
        """
        return X

    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        """Compute the estimator without the request's rows; change nothing.

        The one method through which every strategy forgets, whether its
        estimator is a whole model or a step of a composite model. It never
        modifies ``estimator`` or ``self``: it returns new objects, which the
        model commits all at once.

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
            ``attributes`` holds ``estimator_`` and, when the strategy's state
            changed, ``strategy_`` (see :func:`step_plan`); ``changed`` says
            whether the estimator's output for the retained rows may differ.
        """
        if hasattr(self, "unlearn"):
            return self._legacy_plan(estimator, request)
        raise NotImplementedError(
            f"{type(self).__name__} must implement plan(estimator, request)."
        )

    def _legacy_plan(self, estimator, request):
        # Strategies written for skunlearn 0.1 implemented
        # ``unlearn(estimator, ledger, match, X, y, params)``: kept working
        # for one release where a ledger exists, refit inside composites.
        warnings.warn(
            f"{type(self).__name__}.unlearn(estimator, ledger, match, ...) is "
            "deprecated; implement plan(estimator, request) instead (it will "
            "stop working in skunlearn 0.3).",
            FutureWarning,
            stacklevel=4,
        )
        if request.ledger is None:
            return self.refit_plan(estimator, request, reason="legacy strategy")
        from .._ledger import ForgetMatch

        match = ForgetMatch(request.rows, None)
        return self.unlearn(
            estimator, request.ledger, match, request.X, request.y, request.params
        )

    # --------------------------------------------- fitting, in and out of composites
    def fit_transform(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> tuple[Any, Any]:
        """Fit as :meth:`fit` and return ``(estimator, output on X)``.

        The output is what the estimator's ``fit_transform`` would return,
        which a composite model passes downstream. The default transforms
        after :meth:`fit`; strategies whose estimator's ``fit_transform``
        differs (cross-fitting encoders) override it.

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
            Its output on ``X``.
        """
        fitted = self.fit(estimator, X, y, fit_params)
        return fitted, fitted.transform(X)

    def adopt(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        """Build this strategy's state for ``estimator`` already fit on ``X``.

        ``estimator`` was fit by a composite model's own ``fit`` (e.g. inside
        :class:`~sklearn.compose.ColumnTransformer`). The default fits a clone
        with :meth:`fit` (same result, one more fit); strategies that can read
        their state from the fitted estimator override it.

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
            The fitted estimator to keep.
        """
        from sklearn.base import clone

        return self.fit(clone(estimator), X, y, fit_params)

    def refit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> tuple[UnlearningStrategy, Any]:
        """Fit the estimator anew on new rows (the retained ones, or new input).

        Used when unlearning needs a refit: the strategy keeps the rows and
        retrains, or a composite's upstream step changed the input. The default
        is a fresh fit of a clone with a new strategy of this class.
        Strategies whose refit can start from the current solution (a strictly
        convex model reaches the same optimum from any start) override it.

        Parameters
        ----------
        estimator : object
            The current fitted estimator (not to be modified).
        X, y : array-like
            The rows to fit on.
        fit_params : dict
            Their fit parameters (per-row ones aligned with ``X``).

        Returns
        -------
        strategy : UnlearningStrategy
            The new strategy state.
        estimator : object
            The fitted estimator.
        """
        strategy, new, _ = fit_step(estimator, X, y, fit_params, strategy=type(self)())
        return strategy, new

    def refit_transform(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> tuple[UnlearningStrategy, Any, Any]:
        """:meth:`refit`, and the new estimator's output on ``X``.

        The output is what a composite model's ``fit`` would pass downstream:
        with :attr:`own_fit_transform`, that of a fresh :meth:`fit_transform`
        (the estimator's own, which may differ from ``fit().transform()``:
        cross-fitting encoders); else ``transform`` after :meth:`refit`.

        Parameters
        ----------
        estimator : object
            The current fitted estimator (not to be modified).

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows to fit on.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs) or None
            Their targets.

        fit_params : dict
            Their fit parameters (per-row ones aligned with ``X``).

        Returns
        -------
        strategy : UnlearningStrategy
            The new strategy state.

        estimator : object
            The fitted estimator.

        output : {ndarray, sparse matrix, dataframe}
            The fitted estimator's output on ``X``.
        """
        if self.own_fit_transform:
            # the output of the estimator's own fit_transform, on a fresh fit
            return fit_step(
                estimator, X, y, fit_params, transform=True, strategy=type(self)()
            )
        strategy, new = self.refit(estimator, X, y, fit_params)
        return strategy, new, new.transform(X)

    def refit_plan(
        self, estimator: Any, request: ForgetRequest, *, reason: str | None = None
    ) -> ForgetPlan:
        """A :class:`ForgetPlan` that refits on the request's retained rows (exact).

        Parameters
        ----------
        estimator : object
            The current fitted estimator (not to be modified).

        request : ForgetRequest
            The request; its retained rows are built.

        reason : str, default=None
            Why the strategy refits, recorded in the plan's ``details``.

        Returns
        -------
        plan : ForgetPlan
            The refit estimator and strategy, recorded as strategy
            ``"refit"`` with ``refit_rows`` and ``refit_seconds`` in
            ``details``.
        """
        import time

        X_r, y_r, props_r = request.retained()
        start = time.perf_counter()
        params = {**props_r, **getattr(self, "static_params_", {})}
        if request.want_output:
            strategy, new, out = self.refit_transform(estimator, X_r, y_r, params)
        else:
            (strategy, new), out = self.refit(estimator, X_r, y_r, params), None
        details: dict[str, Any] = {
            "refit_rows": int(X_r.shape[0]) if hasattr(X_r, "shape") else len(X_r),
            "refit_seconds": time.perf_counter() - start,
        }
        if reason is not None:
            details["reason"] = reason
        return step_plan(
            new, strategy, strategy="refit", details=details, retained_output=out
        )


_REGISTRY: dict[type, list[type[UnlearningStrategy]]] = {}
# Strategies tried for every type before the class hierarchy's (they decide
# from the estimator itself, e.g. whether it implements ``unlearn``).
_ANY_TYPE: list[type[UnlearningStrategy]] = []


@overload
def register_strategy(
    estimator_type: type, strategy: None = None
) -> Callable[[_S], _S]: ...


@overload
def register_strategy(estimator_type: type, strategy: _S) -> _S: ...


def register_strategy(
    estimator_type: type, strategy: _S | None = None
) -> _S | Callable[[_S], _S]:
    """Register ``strategy`` for estimators of ``estimator_type`` (and subclasses).

    Later registrations for the same type are tried first. May be used as a
    class decorator: ``@register_strategy(MyEstimator)``.

    Parameters
    ----------
    estimator_type : type
        Estimator class the strategy handles.

    strategy : type, default=None
        Subclass of :class:`UnlearningStrategy`.

    Returns
    -------
    strategy : type
        The registered strategy (so that it can decorate a class).

    See Also
    --------
    registered_strategies : The strategies registered for each type.
    get_strategy : The strategy chosen for an estimator.
    UnlearningStrategy : The base class of strategies.

    Examples
    --------
    A classifier of one's own, forgotten by retraining under a name of its
    own:

    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from skunlearn import Unlearnable, register_strategy
    >>> from skunlearn.strategies import RetrainStrategy
    >>> class MyClassifier(DummyClassifier):
    ...     pass
    >>> @register_strategy(MyClassifier)
    ... class MyRetrain(RetrainStrategy):
    ...     name = "my_retrain"
    >>> X, y = np.arange(8.0).reshape(4, 2), np.array([0, 1, 1, 1])
    >>> model = Unlearnable(MyClassifier()).fit(X, y)
    >>> model.unlearn(X[:1]).unlearn_history_[-1]["strategy"]
    'my_retrain'
    """
    if strategy is None:
        return lambda cls: register_strategy(estimator_type, cls)
    if not (isinstance(strategy, type) and issubclass(strategy, UnlearningStrategy)):
        raise TypeError(f"{strategy!r} is not an UnlearningStrategy subclass.")
    _REGISTRY.setdefault(estimator_type, []).insert(0, strategy)
    return strategy


def _register_for_any_type(strategy):
    _ANY_TYPE.insert(0, strategy)
    return strategy


def registered_strategies() -> dict[type, list[type[UnlearningStrategy]]]:
    """Mapping of estimator type to the strategies registered for it.

    The strategies of a type are listed in the order ``strategy="auto"``
    tries them (the latest registration first). A copy: changing it does not
    change the registry.

    Returns
    -------
    strategies : dict of type to list of type
        Estimator type to :class:`UnlearningStrategy` subclasses.

    See Also
    --------
    register_strategy : Register a strategy for an estimator type.
    get_strategy : The strategy chosen for an estimator.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression, Ridge
    >>> from skunlearn.strategies import registered_strategies
    >>> strategies = registered_strategies()
    >>> [s.name for s in strategies[Ridge]]
    ['closed_form']
    >>> [s.name for s in strategies[LogisticRegression]]
    ['newton_removal', 'warm_start']
    """
    return {k: list(v) for k, v in _REGISTRY.items()}


def get_strategy(estimator: Any, name: str = "auto") -> type[UnlearningStrategy]:
    """The strategy class for ``estimator``.

    With ``name="auto"``, tries the candidates in order: strategies that
    apply to any type (the estimator's own ``unlearn``), then those registered
    for its class hierarchy, most specific first; the first that supports it
    wins, retraining when none does. With a strategy name, returns that
    strategy if it supports the estimator.

    Parameters
    ----------
    estimator : object
        The estimator (unfitted or fitted).

    name : str, default="auto"
        ``"auto"``, or the name of a strategy (``"retrain"`` always applies).

    Returns
    -------
    strategy : type
        The :class:`UnlearningStrategy` subclass.

    Raises
    ------
    ValueError
        If the strategy ``name`` does not support ``estimator``.

    See Also
    --------
    registered_strategies : The strategies registered for each type.
    register_strategy : Register a strategy for an estimator type.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression, Ridge
    >>> from sklearn.svm import SVC
    >>> from skunlearn.strategies import get_strategy
    >>> get_strategy(Ridge()).__name__
    'ClosedFormLinearStrategy'
    >>> get_strategy(LogisticRegression(), "newton_removal").__name__
    'NewtonRemovalStrategy'
    >>> get_strategy(SVC()).__name__
    'RetrainStrategy'
    """
    from .retrain import RetrainStrategy

    if name == "retrain":
        return RetrainStrategy
    candidates = list(_ANY_TYPE)
    for klass in type(estimator).__mro__:
        candidates.extend(_REGISTRY.get(klass, ()))
    for strategy in candidates:
        if name not in ("auto", strategy.name):
            continue
        if name == "auto" and not strategy.auto:
            continue  # a trade the user opts into by name
        if strategy.supports(estimator):
            return strategy
    if name != "auto":
        raise ValueError(
            f"Strategy {name!r} does not support {type(estimator).__name__} with "
            "these parameters. Use strategy='auto'."
        )
    return RetrainStrategy


def check_forget_2d(X: MatrixLike, estimator: Any) -> None:
    """Raise ``predict``'s error for a forget set that is not 2-D.

    Looks at the shape only: the forget set is not converted (a DataFrame
    keeps its column dtypes for the steps that validate it later). A 1-D row
    raises scikit-learn's "Expected 2D array" ``ValueError`` rather than being
    reported as rows never seen.
    """
    from sklearn.pipeline import Pipeline

    while isinstance(estimator, Pipeline):  # the first step takes the input
        steps = [s for _, s in estimator.steps if s not in (None, "passthrough")]
        if not steps:
            break
        estimator = steps[0]
    if not get_tags(estimator).input_tags.two_d_array:  # text, dicts: 1-D is fine
        return
    ndim = len(X.shape) if hasattr(X, "shape") else np.asarray(X, dtype=object).ndim
    if ndim != 2:
        check_array(
            X,
            dtype=None,
            ensure_all_finite=False,
            ensure_min_samples=0,
            estimator=estimator,
            input_name="X_forget",
        )


def step_guarantee(estimator: Any) -> str:
    """The guarantee of ``estimator``'s own strategy, as a composite's step."""
    if estimator is None or isinstance(estimator, str):  # "passthrough", "drop"
        return "exact"
    return get_strategy(estimator).guarantee(estimator)


def worst_guarantee(guarantees: Iterable[str]) -> str:
    """``"approximate"`` if any of ``guarantees`` is, else ``"exact"``."""
    return "exact" if all(g == "exact" for g in guarantees) else "approximate"


def _as_2d_targets(y):
    y = np.asarray(y)
    return y.reshape(-1, 1) if y.ndim == 1 else y
