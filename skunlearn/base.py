"""The unlearning contract shared by every skunlearn estimator."""

# SPDX-License-Identifier: BSD-3-Clause

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
from sklearn.utils import _metadata_requests
from sklearn.utils.validation import check_is_fitted

from ._ledger import ForgetMatch, TrainingLedger
from .exceptions import ForgetAllRowsError

__all__ = ["ForgetMatch", "UnlearnUpdate", "UnlearningMixin", "is_unlearner"]

GUARANTEES = ("exact", "approximate")


def _register_unlearn_with_metadata_routing():
    # scikit-learn routes metadata only for the methods listed in
    # ``SIMPLE_METHODS``; adding ``unlearn`` there (as imbalanced-learn adds
    # ``fit_resample``) generates ``set_unlearn_request`` on every estimator
    # class defined afterwards and lets meta-estimators route ``unlearn``
    # parameters. The lists are mutated in place because scikit-learn's
    # functions hold references to them.
    for name in ("SIMPLE_METHODS", "METHODS"):
        methods = getattr(_metadata_requests, name)
        if "unlearn" not in methods:
            methods.append("unlearn")


_register_unlearn_with_metadata_routing()


try:
    # The C function behind signal.signal, without its enum conversions (half
    # of the cost of a small request's commit); it takes and returns the same
    # handlers.
    from _signal import signal as _set_signal
except ImportError:  # pragma: no cover - interpreters without _signal
    _set_signal = signal.signal


@contextmanager
def _uninterruptible():
    """Defer SIGINT (KeyboardInterrupt) until the block has finished.

    The commit of an unlearning step is a handful of attribute assignments;
    deferring the interrupt makes it all-or-nothing. Outside the main thread
    signals cannot be handled and the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def handler(signum, frame):
        received.append(signum)

    try:
        previous = _set_signal(signal.SIGINT, handler)
    except (ValueError, TypeError):  # pragma: no cover - exotic interpreters
        yield
        return
    try:
        yield
    finally:
        _set_signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


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
        rows (and possibly compacted) and ``attributes`` are set, while
        interrupts are deferred. For families that edit large fitted arrays
        in place rather than build new ones: everything that may fail
        (validation, planning, allocation, compilation) must happen before,
        in ``_unlearn``; the callable only applies the plan and must not
        raise. Consumers of an ``UnlearnUpdate`` other than
        :meth:`UnlearningMixin.unlearn` must call it (or refuse updates that
        have one).
    """

    attributes: dict = field(default_factory=dict)
    strategy: str = "unknown"
    exact: bool = True
    details: dict = field(default_factory=dict)
    retained: tuple | None = None
    commit: object = None


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
    """

    _unlearning_guarantee = "exact"

    @property
    def unlearning_guarantee(self):
        """``"exact"`` or ``"approximate"``: what :meth:`unlearn` promises."""
        return self._get_unlearning_guarantee()

    def _get_unlearning_guarantee(self):
        return type(self)._unlearning_guarantee

    # ----------------------------------------------------------- for families
    def _init_ledger(
        self, X, y=None, sample_props=None, *, keep_X=False, compact="auto"
    ):
        """Record the training rows; call at the end of ``fit``."""
        props = {k: v for k, v in (sample_props or {}).items() if v is not None}
        self.ledger_ = TrainingLedger(X, y, props, keep_X=keep_X, compact=compact)
        self.unlearn_history_ = []

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

    def _unlearn(self, match, X, y, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    # ---------------------------------------------------------- the contract
    def unlearn(self, X, y=None, *, request_id=None, **params):
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
        start = time.perf_counter()
        X_f, y_f = self._validate_forget_data(X, y)
        match = self.ledger_.match(X_f, y_f)
        if match.n_rows and match.n_rows >= self.ledger_.n_rows:
            raise ForgetAllRowsError(
                f"The request forgets all {self.ledger_.n_rows} remaining training "
                "rows; a model cannot be fit on no data. Nothing was forgotten."
            )
        if match.n_rows == 0:
            update = UnlearnUpdate(strategy="none", exact=True)
        else:
            update = self._unlearn(match, X_f, y_f, **params)
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
        with _uninterruptible():
            self.ledger_.remove(match, compacted=update.retained)
            for name, value in update.attributes.items():
                setattr(self, name, value)
            if update.commit is not None:
                update.commit()
            self.unlearn_history_.append(record)
        return self


def is_unlearner(estimator):
    """Return True if ``estimator`` has skunlearn's ``unlearn`` contract.

    Parameters
    ----------
    estimator : object
        Estimator (class or instance) to test.

    Returns
    -------
    out : bool

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
