"""The unlearning contract shared by every skunlearn estimator."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
import functools
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, Self

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._commit import deferred_sigint, model_lock, reading, writing
from ._ledger import ForgetMatch, TrainingLedger
from .exceptions import ForgetAllRowsError, ParametersChangedError, UnknownRowsError
from .utils._sklearn_compat import register_unlearn_method

if TYPE_CHECKING:
    from .utils._typing import ArrayLike, MatrixLike

__all__ = [
    "ForgetMatch",
    "ForgetPlan",
    "Guarantee",
    "UnlearnUpdate",
    "UnlearningMixin",
    "is_unlearner",
]

GUARANTEES = ("exact", "approximate")


class Guarantee(str, Enum):
    """What :meth:`UnlearningMixin.unlearn` promises.

    A ``str`` enumeration: ``Guarantee.EXACT == "exact"``, so code comparing
    with the strings keeps working.

    Attributes
    ----------
    EXACT : str
        The model after ``unlearn`` is the gold standard (a refit on the
        retained rows): within the family's stated tolerance, or identical.
    APPROXIMATE : str
        The model approaches the gold standard; how closely is measured
        (``skunlearn.metrics``, ``skunlearn.audit``), not promised.

    See Also
    --------
    UnlearningMixin.unlearning_guarantee : The guarantee of an estimator.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Guarantee, Unlearnable
    >>> Unlearnable(Ridge()).unlearning_guarantee
    <Guarantee.EXACT: 'exact'>
    >>> Guarantee.EXACT == "exact", str(Guarantee.APPROXIMATE)
    (True, 'approximate')
    """

    EXACT = "exact"
    APPROXIMATE = "approximate"

    def __str__(self) -> str:
        return self.value


# generates ``set_unlearn_request`` on the estimator classes defined from now
# on and lets meta-estimators route ``unlearn`` parameters
register_unlearn_method()

# Methods that read a fitted model: they see it before or after a request.
_READ_METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "score",
    "score_samples",
    "transform",
    "inverse_transform",
    "apply",
    "kneighbors",
    "radius_neighbors",
    "staged_predict",
    "staged_predict_proba",
)
# Methods that (re)build a fitted model: serialized with requests.
_WRITE_METHODS = ("fit", "partial_fit", "fit_transform", "fit_predict")
_MISSING = object()


def _guard(cls, name, decorate):
    """Guard method ``name`` of ``cls``, defined there or inherited."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            attr = klass.__dict__[name]
            break
    else:
        return
    own = klass is cls
    if callable(attr) and not isinstance(attr, type):
        if not getattr(attr, "__skunlearn_guarded__", False):
            # an inherited scikit-learn method is guarded on this class
            setattr(cls, name, decorate(attr))
    elif callable(getattr(attr, "fn", None)) and hasattr(attr, "check"):
        # scikit-learn's ``available_if`` descriptor: guard the function it
        # hands out, keep the availability check
        if not getattr(attr.fn, "__skunlearn_guarded__", False):
            if not own:
                attr = copy.copy(attr)
                setattr(cls, name, attr)
            attr.fn = decorate(attr.fn)


@functools.lru_cache(maxsize=256)
def _param_names(cls):
    return tuple(cls._get_param_names())


def _deep_params(est, prefix=""):
    """``est.get_params(deep=True)``, without its signature inspection per call.

    The parameter names of scikit-learn's estimators are read from their
    ``__init__`` signature, which costs tens of microseconds per estimator:
    most of a small request's overhead. They are cached per class here;
    estimators with a ``get_params`` of their own (skorch) are asked.
    """
    if type(est).get_params is not BaseEstimator.get_params:
        params = est.get_params(deep=True)
        return {prefix + k: v for k, v in params.items()} if prefix else params
    out = {}
    for name in _param_names(type(est)):
        value = getattr(est, name)
        out[prefix + name] = value
        if hasattr(value, "get_params") and not isinstance(value, type):
            out.update(_deep_params(value, f"{prefix}{name}__"))
    return out


_SCALARS = frozenset({int, float, str, bool, type(None)})


@functools.lru_cache(maxsize=4096)
def _shaping_key(key, skip):
    # execution parameters, and skorch's private state, are not compared
    parts = key.split("__")
    return all(p not in skip and not p.startswith("_") for p in parts)


def _holds_estimator(value):
    if hasattr(value, "get_params") and not isinstance(value, type):
        return True
    if isinstance(value, list | tuple):
        return any(_holds_estimator(v) for v in value)
    return False


def _same_value(a, b):
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a and b != b:  # NaN (missing_values=np.nan)
        return True
    try:
        return bool(a == b)
    except Exception:  # arrays, objects without a truth value
        return repr(a) == repr(b)


@dataclass
class UnlearnUpdate:
    """What an unlearning step computed, to be committed atomically.

    A family's ``_unlearn`` computes the new state without touching the
    estimator and returns it as an ``UnlearnUpdate``; :meth:`UnlearningMixin.unlearn`
    commits it (sets ``attributes``, erases the rows from the ledger, appends to
    the history) only once everything has succeeded.

    Parameters
    ----------
    attributes : dict
        Attribute name to new value, set on the estimator at commit.

    strategy : str
        Name of the strategy that did the work.

    exact : bool
        Whether the result equals the gold standard (a refit on the retained
        rows) rather than approximating it.

    details : dict
        Extra facts for the history (method chosen, tolerance, timings...).
        Never rows or values derived from them alone.

    retained : tuple or None
        ``(X, y, sample_props)`` of the retained rows when the strategy built
        them already; lets the ledger compact without copying them again.

    commit : callable or None
        Called with no argument at commit, after the ledger has forgotten the
        rows (and possibly compacted), ``attributes`` are set and the request
        is recorded in the history, while interrupts are deferred and readers
        wait. It is the point of no return: actions that cannot be undone
        (scrubbing superseded arrays, editing published ones in place) go
        here. For families that edit large fitted arrays
        in place rather than build new ones: everything that may fail
        (validation, planning, allocation, compilation) must happen before,
        in ``_unlearn``; the callable only applies the plan and must not
        raise. Consumers of an ``UnlearnUpdate`` other than
        :meth:`UnlearningMixin.unlearn` must call it (or refuse updates that
        have one).

    changed : bool, default=True
        For a step of a composite model: whether its output for the retained
        rows may differ from its output before (a downstream step must then be
        refit).

    retained_output : object, default=None
        For a step of a composite model: its new output on the retained rows,
        when it was computed anyway (saves the composite a ``transform``).

    abort : callable or None, default=None
        Called when the plan is abandoned before the request is recorded:
        undoes effects planning had outside the model (files written for the
        new state). Must not raise.

    interrupted, recorded : bool, default=False
        Set at publication: whether a KeyboardInterrupt arrived after the
        record (the request stands; ``unlearn`` re-raises it), and whether
        the record was appended.

    See Also
    --------
    skunlearn.strategies.UnlearningStrategy.plan : Returns a plan for a request.
    UnlearningMixin.unlearn : Commits the plan of a request.

    Examples
    --------
    A strategy's plan holds the new estimator and the new strategy state
    (see :ref:`extending`); the model sets them when it commits the request:

    >>> from sklearn.dummy import DummyRegressor
    >>> from skunlearn.strategies import ForgetPlan
    >>> plan = ForgetPlan(
    ...     attributes={"estimator_": DummyRegressor(), "strategy_": None},
    ...     strategy="my_strategy",
    ...     details={"n_sums_updated": 2},
    ... )
    >>> plan.estimator, plan.state, plan.exact
    (DummyRegressor(), None, True)
    """

    attributes: dict[str, Any] = field(default_factory=dict)
    strategy: str = "unknown"
    exact: bool = True
    details: dict[str, Any] = field(default_factory=dict)
    retained: tuple[Any, Any, dict[str, Any]] | None = None
    commit: Callable[[], object] | None = None
    changed: bool = True
    retained_output: Any = None
    abort: Callable[[], object] | None = None
    interrupted: bool = False
    recorded: bool = False

    @property
    def estimator(self) -> Any:
        """A strategy plan's new estimator (``attributes["estimator_"]``)."""
        return self.attributes["estimator_"]

    @property
    def state(self) -> Any:
        """A strategy plan's new state (``attributes["strategy_"]``, or None)."""
        return self.attributes.get("strategy_")


#: The name the forgetting protocol uses for an :class:`UnlearnUpdate`.
ForgetPlan = UnlearnUpdate


def _columns_in_fit_order(model, X):
    """A forget DataFrame with its columns in the order seen in ``fit``.

    Rows are matched by content, column by column: a request holding exactly
    the training columns in another order (an export from a spreadsheet, a
    ``SELECT`` naming them differently) is the same rows. Missing or extra
    columns are left to validation, which names them.
    """
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "iloc"):
        return X
    names = getattr(model, "feature_names_in_", None)
    if names is None or len(names) != len(columns):
        return X
    given = [str(c) for c in columns]
    if given == list(names) or len(set(given)) != len(given):
        return X
    if set(given) != set(names):
        return X
    return X[[columns[given.index(n)] for n in names]]


class UnlearningMixin:
    """Mixin adding :meth:`unlearn` to a scikit-learn estimator.

    A family implements ``_unlearn(match, X_forget, y_forget, **params)``,
    which returns an :class:`UnlearnUpdate` without modifying the estimator,
    and calls ``self._init_ledger(...)`` at the end of ``fit``. The mixin does
    the rest of the contract: validation, matching rows by content, the
    all-or-nothing commit, the history.

    Attributes
    ----------
    unlearning_guarantee : {"exact", "approximate"}
        Whether :meth:`unlearn` reaches the gold standard (a refit on the
        retained rows) or approximates it. Classes set ``_unlearning_guarantee``;
        meta-estimators derive it from what they wrap.

    See Also
    --------
    Unlearnable : Gives any scikit-learn estimator an ``unlearn`` method.
    is_unlearner : Whether an estimator has the ``unlearn`` contract.

    Examples
    --------
    A regressor that predicts the mean target and forgets by subtracting the
    forgotten targets from its sum:

    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator, RegressorMixin
    >>> from sklearn.utils.validation import validate_data
    >>> from skunlearn import UnlearningMixin
    >>> from skunlearn.base import UnlearnUpdate
    >>> class MeanRegressor(UnlearningMixin, RegressorMixin, BaseEstimator):
    ...     def fit(self, X, y):
    ...         X, y = validate_data(self, X, y)
    ...         self.sum_, self.count_ = y.sum(), len(y)
    ...         self._init_ledger(X, y)
    ...         return self
    ...
    ...     def predict(self, X):
    ...         X = validate_data(self, X, reset=False)
    ...         return np.full(X.shape[0], self.sum_ / self.count_)
    ...
    ...     def _unlearn(self, match, X, y, **params):
    ...         _, y_forget, _ = self.ledger_.take(match.rows)
    ...         new = {
    ...             "sum_": self.sum_ - y_forget.sum(),
    ...             "count_": self.count_ - match.n_rows,
    ...         }
    ...         return UnlearnUpdate(attributes=new, strategy="running_mean")
    >>> X, y = np.arange(8.0).reshape(4, 2), np.array([1.0, 2.0, 3.0, 6.0])
    >>> model = MeanRegressor().fit(X, y).unlearn(X[-1:])
    >>> model.predict(X[:1]), MeanRegressor().fit(X[:3], y[:3]).predict(X[:1])
    (array([2.]), array([2.]))
    >>> model.unlearn_history_[-1]["strategy"], str(model.unlearning_guarantee)
    ('running_mean', 'exact')
    """

    # set by fit (``_init_ledger``)
    ledger_: TrainingLedger
    unlearn_history_: list[dict[str, Any]]

    _unlearning_guarantee: str = "exact"
    #: Parameters that say how the work runs, not what is fit: they may
    #: change between ``fit`` and ``unlearn``.
    _execution_params: tuple[str, ...] = ("n_jobs", "verbose")
    #: Whether ``unlearn`` reads the model's own parameters (a refit of
    #: ``self``, a pipeline's steps edited by ``set_params``). Such a model
    #: refuses a request after its parameters changed since fit. A model that
    #: unlearns only from fitted copies (``Unlearnable``) sets it False.
    _unlearn_reads_params: bool = True

    def __init_subclass__(cls, **kwargs):
        # Every read method a subclass defines takes the model's shared side,
        # every fit method its writer side: a prediction never sees a request
        # half applied, and a fit never runs during one.
        super().__init_subclass__(**kwargs)
        for name in _READ_METHODS:
            _guard(cls, name, reading)
        for name in _WRITE_METHODS:
            _guard(cls, name, writing)

    @property
    def unlearning_guarantee(self) -> Guarantee:
        """:class:`Guarantee`: what :meth:`unlearn` promises.

        Decided from the parameters alone, so the same before and after fit.
        """
        return Guarantee(self._get_unlearning_guarantee())

    def _get_unlearning_guarantee(self) -> str:
        return type(self)._unlearning_guarantee

    # ----------------------------------------------------------- for families
    def _init_ledger(
        self,
        X: MatrixLike,
        y: ArrayLike | None = None,
        sample_props: dict[str, Any] | None = None,
        *,
        keep_X: bool = False,
        compact: str = "auto",
    ) -> None:
        """Record the training rows; call at the end of ``fit``."""
        props = {k: v for k, v in (sample_props or {}).items() if v is not None}
        self.ledger_ = TrainingLedger(X, y, props, keep_X=keep_X, compact=compact)
        self.unlearn_history_ = []
        self._record_fit_params()

    def _record_fit_params(self):
        """Remember the parameters the model is fit with (see :meth:`unlearn`)."""
        if self._unlearn_reads_params:
            self._fit_params_ = self._shaping_params()

    def _shaping_params(self):
        # Leaf values only: nested estimators are compared through their own
        # parameters (a pipeline's steps are fitted objects that a request
        # replaces; replacing one by set_params changes its leaf values).
        skip = self._execution_params
        return {
            k: v
            for k, v in _deep_params(self).items()
            if _shaping_key(k, skip)
            and (type(v) in _SCALARS or not _holds_estimator(v))
        }

    def _check_params_unchanged(self):
        fitted = self.__dict__.get("_fit_params_")
        if fitted is None:  # not recorded: see _record_fit_params
            return
        now = self._shaping_params()
        changed = sorted(
            k
            for k in fitted.keys() | now.keys()
            if not _same_value(fitted.get(k, _MISSING), now.get(k, _MISSING))
        )
        if changed:
            shown = ", ".join(changed[:10]) + (", ..." if len(changed) > 10 else "")
            raise ParametersChangedError(
                f"The parameters {shown} of this {type(self).__name__} changed "
                "since fit (set_params); the fitted model does not stand for them, "
                "so a request cannot be forgotten exactly. Fit again, or set them "
                "back. Nothing was forgotten."
            )

    def _learn_rows_by_refit(self, X, y, sample_weight=None, classes=None):
        """``partial_fit`` as a same-seed fit on the retained rows, then ``X``.

        For families whose ``fit`` draws everything from ``seed_`` and the
        rows (``fit(X, y, sample_weight=...)``) and whose ledger keeps the
        rows (``keep_X``): the model becomes, to the last bit, the fit with
        its seed on the retained training rows followed by the new ones, and
        its ledger that fit's (with this model's fingerprint key: requests
        match rows as before). The history of requests and the recorded fit
        parameters stay this model's, as do ``feature_names_in_``. Refused
        (:class:`~skunlearn.exceptions.ParametersChangedError`) when the
        parameters changed since ``fit``, as :meth:`unlearn` is. The new
        state is built aside, then set. Not fitted yet: ``fit``.
        """
        from sklearn.base import is_classifier
        from sklearn.utils.validation import validate_data

        check_labels_in(y, classes)
        if "ledger_" not in self.__dict__:
            # not fitted yet: the first rows
            kw = {} if sample_weight is None else {"sample_weight": sample_weight}
            return self.fit(X, y, **kw)
        self._check_params_unchanged()
        X, y = validate_data(
            self,
            X,
            y,
            reset=False,
            dtype=np.float64,
            ensure_all_finite=True,
            y_numeric=not is_classifier(self),
        )
        led = self.ledger_
        X_r, y_r, props = led.take(led.retained())
        y_r = self._stored_targets(np.asarray(y_r))
        sw_r = props.get("sample_weight")
        fit_kw = {}
        if sample_weight is not None or sw_r is not None:
            sw_new = check_new_weights(sample_weight, X.shape[0])
            sw_old = np.ones(X_r.shape[0]) if sw_r is None else sw_r
            fit_kw["sample_weight"] = np.concatenate([sw_old, sw_new])
        X_all = np.concatenate([np.asarray(X_r, dtype=np.float64), X])
        new = self._same_seed_fit(X_all, np.concatenate([y_r, y]), **fit_kw)
        # (partial_fit holds the model's lock: readers wait for the whole
        # change, see _commit.writing)
        keep = set(self.get_params(deep=False))
        keep |= {"unlearn_history_", "_fit_params_", "feature_names_in_"}
        state = {k: v for k, v in vars(new).items() if k not in keep}
        for k in [k for k in vars(self) if k not in keep and k not in state]:
            del self.__dict__[k]
        self.__dict__.update(state)
        return self

    def _stored_targets(self, y):
        """The ledger's stored targets as labels ``fit`` takes (a hook)."""
        return y

    def _same_seed_fit(self, X, y, **fit_params):
        """A clone fitted on ``X, y`` with this model's seed and fingerprint key.

        The refit a caller compares with uses the same ``random_state``
        (``seed_``, drawn from it at ``fit``), and the ledger keeps its key.
        """
        from sklearn.base import clone

        from ._ledger import _pinned_fingerprint_key

        with _pinned_fingerprint_key(self.ledger_.fingerprint_key):
            new = clone(self).set_params(random_state=self.seed_)
            return new.fit(X, y, **fit_params)

    def _is_valid_float_forget_set(self, X):
        """Whether ``X`` is what full validation would return unchanged.

        A finite float64 ndarray of the fitted width, for a model fit without
        feature names. Families whose every such array is valid input skip
        re-validating it: most of a small request's validation time.
        """
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype == np.float64
            and X.shape[0] > 0
            and X.shape[1] == getattr(self, "n_features_in_", -1)
            # validate_data records feature names in the instance's __dict__
            # (a failing hasattr through Unlearnable's __getattr__ costs more)
            and "feature_names_in_" not in self.__dict__
            and bool(np.isfinite(X).all())
        )

    def _validate_forget_data(self, X, y):
        """Validate the forget set like ``predict`` input. Families may override."""
        from sklearn.utils.validation import validate_data

        X = validate_data(self, X, reset=False, dtype=None, ensure_all_finite=True)
        return X, self._validate_forget_target(y, X.shape[0])

    def _validate_forget_target(self, y, n_forget):
        if y is None:
            return None
        y = np.asarray(y)
        stored = getattr(self.ledger_, "y", None)
        if stored is not None and stored.ndim == 1 and y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.shape[0] != n_forget:
            raise ValueError(
                f"X_forget has {n_forget} rows but y_forget has {y.shape[0]}."
            )
        if stored is not None and stored.ndim != y.ndim:
            raise ValueError(
                f"y_forget has {y.ndim} dimension(s) but the training targets had "
                f"{stored.ndim}."
            )
        return y

    def _unlearn(
        self, match: ForgetMatch, X: Any, y: Any, **params: Any
    ) -> UnlearnUpdate:  # pragma: no cover - abstract
        raise NotImplementedError

    # ---------------------------------------------------------- the contract
    def unlearn(
        self,
        X: MatrixLike,
        y: ArrayLike | None = None,
        *,
        request_id: str | None = None,
        **params: Any,
    ) -> Self:
        """Forget rows of the training data.

        After ``est.fit(X, y).unlearn(X_f, y_f)``, the estimator stands for
        ``clone(est).fit(X_retain, y_retain)``, the model retrained without the
        forgotten rows: exactly, or approximately for estimators whose
        :attr:`unlearning_guarantee` is ``"approximate"``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_forget, n_features)
            Rows to forget, validated like ``predict`` input and matched by
            content against the training rows. A row given twice forgets two
            copies.

        y : array-like of shape (n_forget,) or (n_forget, n_outputs), default=None
            Their targets. When given, a row matches only a training row with
            the same target; when omitted, the stored targets are used.

        request_id : str, default=None
            Caller's identifier of the deletion request, kept in
            ``unlearn_history_``.

        **params : dict
            Parameters of the family's unlearning method.

        Returns
        -------
        self : object
            The estimator, without the forgotten rows.

        Raises
        ------
        UnknownRowsError
            If some rows were never seen in training (or are already
            forgotten). The estimator is unchanged.
        ForgetAllRowsError
            If the request would forget every training row.
        """
        if not hasattr(self, "ledger_"):  # the check's cost, only when it fails
            check_is_fitted(self, "ledger_")
        lock = model_lock(self)
        # One request at a time: the second matches its rows against the
        # first one's result (no lost update).
        with lock.writer:
            return self._forget(X, y, request_id, params, lock)

    def _forget(self, X, y, request_id, params, lock):
        """Validate, match, plan off to the side, then publish (under the lock)."""
        start = time.perf_counter()
        self._check_params_unchanged()
        X_f, y_f = self._validate_forget_data(_columns_in_fit_order(self, X), y)
        try:
            match = self.ledger_.match(X_f, y_f)
        except UnknownRowsError as exc:
            if self._already_applied(request_id, exc):
                return self
            raise
        if match.n_rows and match.n_rows >= self.ledger_.n_rows:
            raise ForgetAllRowsError(
                f"The request forgets all {self.ledger_.n_rows} remaining training "
                "rows; a model cannot be fit on no data. Nothing was forgotten."
            )
        if match.n_rows == 0:
            update = UnlearnUpdate(strategy="none", exact=True)
        else:
            update = self._unlearn(match, X_f, y_f, **params)
        try:
            self._record_and_publish(match, update, start, request_id, lock)
        except BaseException:
            # Not recorded: the plan's effects outside the model are undone
            # (a committed request's KeyboardInterrupt is re-raised below).
            if update.abort is not None and not update.recorded:
                update.abort()
            raise
        if update.interrupted:
            raise KeyboardInterrupt
        return self

    def _record_and_publish(self, match, update, start, request_id, lock):
        record = {
            "request_id": request_id,
            "n_removed": match.n_rows,
            "n_remaining": self.ledger_.n_rows - match.n_rows,
            "strategy": update.strategy,
            "exact": bool(update.exact),
            "seconds": time.perf_counter() - start,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "details": dict(update.details),
        }
        self._publish(match, update, record, lock)

    def _publish(self, match, update, record, lock):
        """Make the planned request the model's state, all or nothing.

        Readers wait meanwhile. The history record is the line between before
        and after: an exception, or a KeyboardInterrupt that arrives before the
        record is appended, puts every attribute and the ledger back and
        propagates (the request did not happen); an interrupt that arrives
        after it lets the request stand and propagates (the history says it
        happened, and retrying the request id is recognised).
        """
        d = self.__dict__
        changes = update.attributes
        history = self.unlearn_history_
        with lock.exclusive(), deferred_sigint() as received:
            old = {name: d.get(name, _MISSING) for name in changes}
            ledger = self.ledger_
            undo_ledger = None
            try:
                undo_ledger = ledger.remove(match, compacted=update.retained)
                d.update(changes)
                if received:  # a Ctrl-C before the record: roll back
                    raise KeyboardInterrupt
                history.append(record)
                update.recorded = True
            except BaseException:
                self._restore(old, ledger, undo_ledger)
                raise
            if update.commit is not None:
                update.commit()
            led = self.ledger_
            if led.compact_policy == "never" and led.due(self._compact_min_rows):
                self._compact_owned_rows()
        if received:  # after the record: the request stands (raised by unlearn)
            update.interrupted = True

    # ------------------------------------------------------------ compaction
    #: Ledgers of at least this many rows may defer dropping erased slots
    #: (see ``TrainingLedger.needs_compaction``); families with large per-row
    #: state set it lower.
    _compact_min_rows: float | None = None

    def _renumbered_rows(self, new_id):
        """The family's per-row state for the compacted ledger (a hook).

        Families whose ledger is ``compact="never"`` (they number their own
        per-row state by ledger row id) override this: given ``new_id``
        (``new_id[old]`` is a row's id after compaction, -1 for an erased
        slot), return the attributes renumbered as a fresh fit on the
        retained rows numbers them, as new objects (nothing published is
        changed). The default has nothing numbered by row id.
        """
        return {}

    def _compact_rows(self):
        """Drop the forgotten rows' slots from the ledger and every per-row structure.

        The family's renumbered state is built off to the side, then set with
        the compacted ledger; a failure puts both back. Afterwards they equal
        a fresh fit's on the retained rows.
        """
        ledger = self.ledger_
        if ledger.n_rows == ledger.n_stored:
            return
        changes = self._renumbered_rows(ledger.new_ids(self._row_id_dtype))
        old = {name: self.__dict__.get(name, _MISSING) for name in changes}
        self.__dict__.update(changes)
        try:
            ledger.compact()
        except BaseException:
            self._restore(old, ledger, None)
            raise

    #: dtype of the ids given to :meth:`_renumbered_rows`
    _row_id_dtype = np.intp

    def _compact_owned_rows(self):
        # Compaction changes no prediction: a failure (memory) leaves the erased
        # slots in place, which is a valid state, and is reported, not raised.
        try:
            self._compact_rows()
        except Exception as exc:  # pragma: no cover - out of memory
            warnings.warn(
                f"Could not drop the erased row slots ({exc!r}); they stay "
                "erased, and go at the next request or save.",
                RuntimeWarning,
                stacklevel=3,
            )

    def __getstate__(self):
        self._finish_pending()
        self._compact_before_saving()
        return super().__getstate__()

    # ---------------------------------------------------------- deferred work
    def _has_pending(self):
        """Whether requests left work that must be done before a read (a hook)."""
        return False

    def _grow_pending(self):
        """Do the deferred work (a hook; the caller holds the exclusive side)."""

    def _finish_pending(self):
        """Do the work requests deferred, before the model is read or saved.

        A family may leave part of a request's work for later (the forests
        grow the subtrees a request cleared only when they are read), as long
        as the model means the same: read methods (see
        :func:`~skunlearn._commit.reading`), saving and copying call this
        first. It takes the model's writer and exclusive sides (readers wait)
        and is all or nothing: an interrupt leaves the work deferred.
        """
        if not self._has_pending():
            return
        lock = model_lock(self)
        with lock.writer, lock.exclusive():
            self._grow_pending()

    def _compact_before_saving(self):
        # What leaves the process holds no erased slot: a saved model is
        # indistinguishable from a fresh fit's on the retained rows.
        led = self.__dict__.get("ledger_")
        if (
            led is not None
            and led.compact_policy == "never"
            and led.n_rows != led.n_stored
        ):
            lock = model_lock(self)
            with lock.writer, lock.exclusive(), deferred_sigint() as received:
                self._compact_rows()
            if received:
                raise KeyboardInterrupt

    def _restore(self, old, ledger, undo_ledger):
        d = self.__dict__
        for name, value in old.items():
            if value is _MISSING:
                d.pop(name, None)
            else:
                d[name] = value
        d["ledger_"] = ledger
        if undo_ledger is not None:
            undo_ledger()

    def _already_applied(self, request_id, exc):
        """Whether an unknown-rows error is the retry of a recorded request.

        A request interrupted after its record stands; retried with the same
        id, none of its rows is found. That retry warns and changes nothing.
        A retry that still finds some of its rows is not recognised: ids never
        cause rows that are present to be skipped.
        """
        if request_id is None or exc.positions.size != exc.n_forget:
            return False
        for record in reversed(getattr(self, "unlearn_history_", ())):
            if record.get("request_id") == request_id and record.get("n_removed"):
                warnings.warn(
                    f"Request {request_id!r} was applied already ({record['time']}, "
                    f"{record['n_removed']} row(s) removed); none of its rows "
                    "remain. Nothing was done.",
                    UserWarning,
                    stacklevel=4,
                )
                return True
        return False


def is_unlearner(estimator: object) -> bool:
    """Return True if ``estimator`` has skunlearn's ``unlearn`` contract.

    The test is by duck typing: the estimator has a callable ``unlearn`` and an
    ``unlearning_guarantee``, as every :class:`UnlearningMixin` subclass and
    :class:`Unlearnable` have.

    Parameters
    ----------
    estimator : object
        Estimator (class or instance) to test.

    Returns
    -------
    out : bool
        Whether ``estimator`` can forget rows with ``unlearn``.

    See Also
    --------
    Unlearnable : Gives any scikit-learn estimator an ``unlearn`` method.
    UnlearningMixin : The base class of skunlearn's own estimators.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable, is_unlearner
    >>> is_unlearner(Unlearnable(Ridge())), is_unlearner(Ridge())
    (True, False)
    """
    return callable(getattr(estimator, "unlearn", None)) and hasattr(
        estimator, "unlearning_guarantee"
    )


def check_labels_in(y, classes):
    """Refuse labels of ``y`` outside ``classes`` (``partial_fit``; None: any)."""
    if classes is None:
        return
    unknown = np.setdiff1d(np.asarray(y), np.asarray(classes))
    if unknown.size:
        raise ValueError(
            f"y holds labels {unknown.tolist()[:10]} that are not in classes."
        )


def check_new_weights(sample_weight, n):
    """Weights of ``n`` rows added to a fitted model (``partial_fit``), validated.

    As ``fit`` checks weights (finite, non-negative), except that the new
    rows alone may all weigh zero: the model's other rows carry weight.
    A scalar weighs every row.
    """
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.ndim == 0:
        sw = np.full(n, float(sw))
    if sw.shape != (n,):
        raise ValueError(f"sample_weight.shape == {sw.shape}, expected ({n},)!")
    if not np.isfinite(sw).all():
        raise ValueError("sample_weight must be finite.")
    if (sw < 0).any():
        raise ValueError("Negative values in data passed to sample_weight")
    return sw
