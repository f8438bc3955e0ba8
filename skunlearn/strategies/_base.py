"""Strategy objects and the registry that maps estimator types to them."""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import get_tags
from sklearn.utils.validation import check_array

__all__ = [
    "StepUpdate",
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
    """


@dataclass
class StepUpdate:
    """What unlearning one step of a composite model computed.

    Returned by :meth:`UnlearningStrategy.unlearn_step`; nothing is committed
    until the composite model commits the whole update.

    Parameters
    ----------
    estimator : object
        The step as if fit on the retained rows (a new object).
    strategy : UnlearningStrategy
        The strategy holding the new state (a new object, or ``self`` when
        the state is unchanged).
    changed : bool
        Whether the step's output for the retained rows may differ from its
        output before (a downstream step must then be refit).
    details : dict
        Facts for ``unlearn_history_``.
    exact : bool
        Whether the step equals its gold standard.
    retained_output : object or None
        The new step's output on the retained rows, when it was computed
        anyway (saves the composite a transform).
    """

    estimator: object
    strategy: object
    changed: bool = True
    details: dict = field(default_factory=dict)
    exact: bool = True
    retained_output: object = None


class _ForgetOnlyLedger:
    """A ledger holding just the forget rows' payload (rows ``0..k-1``).

    Lets :meth:`UnlearningStrategy.unlearn_step` reuse a strategy's
    ledger-based :meth:`~UnlearningStrategy.unlearn` when the forget rows come
    from a composite model rather than from the strategy's own ledger.
    """

    def __init__(self, y, sample_props, n):
        self.y = None if y is None else np.asarray(y)
        self.sample_props = {k: np.asarray(v) for k, v in sample_props.items()}
        self.X = None
        self.n_rows = n

    def take(self, rows):
        y = None if self.y is None else self.y[rows]
        return None, y, {k: v[rows] for k, v in self.sample_props.items()}


class _AllRows:
    """A match naming rows ``0..k-1`` of a :class:`_ForgetOnlyLedger`."""

    def __init__(self, k):
        self.rows = np.arange(k)
        self.n_rows = k


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

    Class attributes
    ----------------
    name : str
        Name recorded in ``unlearn_history_``.
    exact : bool
        Whether the result equals a refit on the retained rows (the default
        of :meth:`guarantee`).
    keeps_rows : bool
        Whether the training rows must be kept (in the ledger), unless ``fit``
        decides otherwise (see :attr:`keeps_rows_`).
    """

    name = "base"
    exact = True
    keeps_rows = False
    #: whether any finite float64 2-D array of the right width is a valid forget
    #: set (then Unlearnable skips re-validating it)
    plain_floats_are_valid = False
    #: per-row fit parameters kept with the rows; None keeps all sample-aligned ones
    sample_props = ("sample_weight",)
    #: whether the strategy's state numbers rows by ledger row id: its owner's
    #: ledger then compacts only together with it, through :meth:`compact_rows`
    numbers_rows_by_id = False
    #: ledger size from which compaction may wait (``TrainingLedger.due``)
    compact_min_rows = None

    def compact_rows(self, estimator, ledger):
        """``(estimator, strategy)`` renumbered for the ledger's retained rows.

        Called, for strategies with ``numbers_rows_by_id``, just before the
        ledger drops its erased slots; returns new objects (nothing published
        is changed). The default has nothing numbered by row id.
        """
        return estimator, self

    @classmethod
    def supports(cls, estimator):
        """Whether this strategy can handle ``estimator`` (an unfitted template)."""
        return True

    @classmethod
    def guarantee(cls, estimator):
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
    def keeps_rows_(self):
        """Whether this fitted strategy keeps the training rows.

        The class constant :attr:`keeps_rows`, unless ``fit`` decided
        otherwise from the data (e.g. sparse input) by setting this attribute.
        """
        # Strategies pickled before keeps_rows_ existed set ``keeps_rows``.
        return self.__dict__.get("_keeps_rows", self.keeps_rows)

    @keeps_rows_.setter
    def keeps_rows_(self, value):
        self._keeps_rows = bool(value)

    def fit(self, estimator, X, y, fit_params):
        """Fit ``estimator`` (a fresh clone) and this strategy's state.

        Returns
        -------
        estimator : object
            The fitted estimator.
        """
        raise NotImplementedError

    def validate_forget(self, estimator, X):
        """Validate a forget set like the fitted ``estimator``'s ``predict`` would."""
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

    def align_forget(self, estimator, X):
        """Align a forget DataFrame's columns with the fitted ``estimator``'s.

        Called before any validation. The default returns ``X`` unchanged (so
        columns in another order raise, as in ``predict``); estimators that
        select columns by name (``ColumnTransformer``) reorder them.
        """
        return X

    def unlearn(self, estimator, ledger, match, X, y, params):
        """Compute the estimator without the matched rows.

        Parameters
        ----------
        estimator : object
            The fitted estimator (not to be modified).
        ledger : TrainingLedger
            The training ledger (not to be modified).
        match : ForgetMatch
            The rows to forget.
        X, y : array-like
            The validated forget rows and their targets (or None).
        params : dict
            Unlearning parameters passed by the caller.

        Returns
        -------
        update : UnlearnUpdate
            ``attributes`` holds ``estimator_`` and, when the strategy's state
            changed, ``strategy_``.
        """
        raise NotImplementedError

    # ------------------------------------------------- steps of composites
    # A composite model (Pipeline, ColumnTransformer, FeatureUnion, search)
    # unlearns each of its steps with these three methods. The defaults work
    # for any strategy; strategies override them to be faster.

    def adopt(self, estimator, X, y, fit_params):
        """Build this strategy's state for ``estimator`` already fit on ``X``.

        ``estimator`` was fit by a composite model's own ``fit`` (e.g. inside
        :class:`~sklearn.compose.ColumnTransformer`). The default fits a clone
        with :meth:`fit` (same result, one more fit); strategies that can read
        their state from the fitted estimator override it.

        Returns
        -------
        estimator : object
            The fitted estimator to keep.
        """
        from sklearn.base import clone

        return self.fit(clone(estimator), X, y, fit_params)

    def refit(self, estimator, X, y, fit_params):
        """Fit the step anew on new input, for a composite whose upstream changed.

        ``estimator`` is the current fitted step; its input for the retained
        rows changed (an upstream scaler moved), so it must be refit. The
        default is a fresh :meth:`fit` of a clone. Strategies whose refit can
        start from the current solution (a strictly convex model reaches the
        same optimum from any start) override this to warm-start.

        Returns
        -------
        strategy, estimator : UnlearningStrategy, object
            The new strategy state and the fitted step.
        """
        from sklearn.base import clone

        strategy = type(self)()
        return strategy, strategy.fit(clone(estimator), X, y, fit_params)

    def unlearn_step(self, estimator, X, y, props, retained, params):
        """Unlearn rows of a step given the step's input for them.

        Parameters
        ----------
        estimator : object
            The fitted step (not to be modified).
        X : array-like
            The forget rows as the step saw them in ``fit`` (already
            transformed by the unchanged upstream steps).
        y : array-like or None
            Their targets.
        props : dict
            Their per-row fit parameters routed to this step.
        retained : callable
            ``retained()`` returns ``(X, y, props)``, the step's input for the
            retained rows; called only when needed (it may be costly).
        params : dict
            Unlearning parameters.

        Returns
        -------
        update : StepUpdate
        """
        if self.keeps_rows_:
            return refit_step(estimator, retained, self)
        update = self.unlearn(
            estimator,
            _ForgetOnlyLedger(y, props, X.shape[0] if hasattr(X, "shape") else len(X)),
            _AllRows(X.shape[0] if hasattr(X, "shape") else len(X)),
            X,
            y,
            params,
        )
        if update.commit is not None:
            # In-place edits cannot be deferred to a composite's commit:
            # such strategies override unlearn_step.
            raise NotImplementedError(
                f"{type(self).__name__} edits the model in place at commit; it "
                "must override unlearn_step to be used inside a composite model."
            )
        attrs = update.attributes
        return StepUpdate(
            estimator=attrs.get("estimator_", estimator),
            strategy=attrs.get("strategy_", self),
            changed=True,
            details={"strategy": update.strategy, **update.details},
            exact=update.exact,
        )


def refit_step(estimator, retained, strategy=None):
    """Refit a step on its input for the retained rows (exact, as slow as ``fit``).

    Used when an upstream step's output changed, or when the step's strategy
    needs the retained rows. ``strategy`` (its class) rebuilds its state.
    """
    import time

    from sklearn.base import clone

    X_r, y_r, props_r = retained()
    start = time.perf_counter()
    if strategy is None or type(strategy).fit is UnlearningStrategy.fit:
        new_strategy = None
        new = clone(estimator).fit(X_r, y_r, **props_r)
    else:
        new_strategy = type(strategy)()
        new = new_strategy.fit(clone(estimator), X_r, y_r, props_r)
    return StepUpdate(
        estimator=new,
        strategy=new_strategy,
        changed=True,
        details={
            "strategy": "refit",
            "refit_rows": int(X_r.shape[0]) if hasattr(X_r, "shape") else len(X_r),
            "refit_seconds": time.perf_counter() - start,
        },
    )


_REGISTRY = {}


def register_strategy(estimator_type, strategy=None):
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
    """
    if strategy is None:
        return lambda cls: register_strategy(estimator_type, cls)
    if not (isinstance(strategy, type) and issubclass(strategy, UnlearningStrategy)):
        raise TypeError(f"{strategy!r} is not an UnlearningStrategy subclass.")
    _REGISTRY.setdefault(estimator_type, []).insert(0, strategy)
    return strategy


def registered_strategies():
    """Mapping of estimator type to the strategies registered for it."""
    return {k: list(v) for k, v in _REGISTRY.items()}


def get_strategy(estimator, name="auto"):
    """The strategy class for ``estimator``.

    With ``name="auto"``, walks the estimator's class hierarchy, most specific
    first, and returns the first registered strategy that supports it; falls
    back to retraining. With a strategy name, returns that strategy if it
    supports the estimator.
    """
    from .retrain import NativeStrategy, RetrainStrategy

    if name == "retrain":
        return RetrainStrategy
    candidates = []
    if NativeStrategy.supports(estimator):
        candidates.append(NativeStrategy)
    for klass in type(estimator).__mro__:
        candidates.extend(_REGISTRY.get(klass, ()))
    for strategy in candidates:
        if name not in ("auto", strategy.name):
            continue
        if strategy.supports(estimator):
            return strategy
    if name != "auto":
        raise ValueError(
            f"Strategy {name!r} does not support {type(estimator).__name__} with "
            "these parameters. Use strategy='auto'."
        )
    return RetrainStrategy


def check_forget_2d(X, estimator):
    """Raise ``predict``'s error for a forget set that is not 2-D.

    Looks at the shape only: the forget set is not converted (a DataFrame
    keeps its column dtypes for the steps that validate it later). A 1-D row
    raises scikit-learn's "Expected 2D array" ``ValueError`` rather than being
    reported as rows never seen.
    """
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


def step_guarantee(estimator):
    """The guarantee of ``estimator``'s own strategy, as a composite's step."""
    if estimator is None or isinstance(estimator, str):  # "passthrough", "drop"
        return "exact"
    return get_strategy(estimator).guarantee(estimator)


def worst_guarantee(guarantees):
    """``"approximate"`` if any of ``guarantees`` is, else ``"exact"``."""
    return "exact" if all(g == "exact" for g in guarantees) else "approximate"


def _as_2d_targets(y):
    y = np.asarray(y)
    return y.reshape(-1, 1) if y.ndim == 1 else y
