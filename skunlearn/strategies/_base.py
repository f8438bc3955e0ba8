"""Strategy objects and the registry that maps estimator types to them."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.utils import get_tags
from sklearn.utils.validation import check_array

__all__ = [
    "StrategyNotApplicable",
    "UnlearningStrategy",
    "get_strategy",
    "register_strategy",
    "registered_strategies",
]


class StrategyNotApplicable(Exception):
    """Raised by :meth:`UnlearningStrategy.fit` when the data rule it out.

    :class:`~skunlearn.Unlearnable` then falls back to the retrain strategy
    (and says so in ``strategy_``). Raised only before anything is fitted.
    """


class UnlearningStrategy:
    """How rows are removed from one kind of fitted scikit-learn model.

    A strategy is a small object held by :class:`~skunlearn.Unlearnable` as
    ``strategy_``. It fits the wrapped estimator (keeping whatever state it
    needs, e.g. sufficient statistics) and later computes the estimator
    without given rows. It never modifies the fitted estimator or itself in
    :meth:`unlearn`: it returns new objects, which the caller commits.

    Class attributes
    ----------------
    name : str
        Name recorded in ``unlearn_history_``.
    exact : bool
        Whether the result equals a refit on the retained rows.
    keeps_rows : bool
        Whether the training rows must be kept (in the ledger).
    """

    name = "base"
    exact = True
    keeps_rows = False
    #: per-row fit parameters kept with the rows; None keeps all sample-aligned ones
    sample_props = ("sample_weight",)

    @classmethod
    def supports(cls, estimator):
        """Whether this strategy can handle ``estimator`` (an unfitted template)."""
        return True

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


def _as_2d_targets(y):
    y = np.asarray(y)
    return y.reshape(-1, 1) if y.ndim == 1 else y
