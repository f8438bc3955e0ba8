"""The commit of a forgetting request: one lock per model, all or nothing.

Every skunlearn model forgets through :meth:`UnlearningMixin.unlearn
<skunlearn.base.UnlearningMixin.unlearn>`, which plans the change off to the
side and publishes it here. This module holds what makes that publication a
transaction:

- :func:`model_lock` gives each model a :class:`ModelLock`: a writer mutex
  that serializes ``fit``, ``partial_fit`` and ``unlearn`` (a second request
  matches its rows against the first one's result, so no update is lost), and
  a readers/writer gate that read methods pass through, so a ``predict``
  sees the model before or after a request, never between. The locks live in
  a weak-key dictionary, not on the model: pickling, ``clone`` and skops see
  nothing of them.
- :func:`deferred_sigint` holds back a KeyboardInterrupt while a change is
  published, so that the caller can roll the change back (the request did not
  happen) or let it stand (the history already records it).
"""

# SPDX-License-Identifier: BSD-3-Clause

import contextvars
import functools
import signal
import threading
import weakref
from contextlib import contextmanager

__all__ = [
    "HeldEffects",
    "ModelLock",
    "deferred_sigint",
    "external_effect",
    "held_external_effects",
    "model_lock",
    "reading",
    "writing",
]

try:
    # The C function behind signal.signal, without its enum conversions (half
    # of the cost of a small request's commit); it takes and returns the same
    # handlers.
    from _signal import signal as _set_signal
except ImportError:  # pragma: no cover - interpreters without _signal
    _set_signal = signal.signal


class ModelLock:
    """A model's writer mutex and readers/writer gate.

    ``writer`` is reentrant: a family may refit itself (``fit`` inside
    ``unlearn``) on the thread that holds it. The gate is write-preferring: once
    a writer waits for the exclusive side, new readers wait too, so a stream of
    predictions cannot starve a deletion. A thread that holds the exclusive side
    may read (a family's ``unlearn`` calling its own ``predict``).
    """

    __slots__ = (
        "writer",
        "_cond",
        "_readers",
        "_owner",
        "_depth",
        "_reading",
        "__weakref__",
    )

    def __init__(self):
        self.writer = threading.RLock()
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._owner = None  # thread ident holding the exclusive side
        self._depth = 0
        # per thread: how deep it is in read methods of this model. A read
        # method calling another (predict -> predict_proba) must not queue
        # behind a waiting writer that waits for this very reader.
        self._reading = threading.local()

    @contextmanager
    def shared(self):
        """Hold the shared (reader) side for the block (reentrant per thread)."""
        local = self._reading
        depth = getattr(local, "depth", 0)
        if depth:
            local.depth = depth + 1
            try:
                yield
            finally:
                local.depth = depth
            return
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                mine = True
            else:
                mine = False
                while self._owner is not None:
                    self._cond.wait()
                self._readers += 1
        local.depth = 1
        try:
            yield
        finally:
            local.depth = 0
            if not mine:
                with self._cond:
                    self._readers -= 1
                    if self._readers == 0:
                        self._cond.notify_all()

    @contextmanager
    def exclusive(self):
        """Hold the exclusive side for the block: no reader runs meanwhile."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
            else:
                while self._owner is not None:
                    self._cond.wait()
                self._owner = me  # new readers wait from now on
                self._depth = 1
                while self._readers:
                    self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self._cond.notify_all()


_LOCKS: weakref.WeakKeyDictionary[object, ModelLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(model):
    """The :class:`ModelLock` of ``model`` (created on first use).

    Parameters
    ----------
    model : object
        Any weak-referenceable object; skunlearn models and scikit-learn
        estimators are.

    Returns
    -------
    lock : ModelLock
    """
    try:
        return _LOCKS[model]
    except KeyError:
        pass
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = ModelLock()
        return lock


def reading(method):
    """Decorate a read method so it sees whole requests only."""

    @functools.wraps(method)
    def read(self, *args, **kwargs):
        lock = model_lock(self)
        pending = getattr(self, "_has_pending", None)
        while True:
            if pending is not None and pending():
                # work a request deferred (see UnlearningMixin._finish_pending),
                # done before the shared side is taken: it needs the exclusive
                self._finish_pending()
            with lock.shared():
                # a request may have deferred more meanwhile: done first
                if pending is None or not pending():
                    return method(self, *args, **kwargs)

    read.__skunlearn_guarded__ = True
    return read


def writing(method):
    """Decorate ``fit``-like methods: serialized with requests, unseen by readers.

    The model's attributes are set one by one during a fit; readers wait for
    the whole fit rather than see a mix of the old and the new model.
    """

    @functools.wraps(method)
    def write(self, *args, **kwargs):
        lock = model_lock(self)
        with lock.writer, lock.exclusive():
            return method(self, *args, **kwargs)

    write.__skunlearn_guarded__ = True
    return write


@contextmanager
def deferred_sigint():
    """Hold back SIGINT (KeyboardInterrupt) for the block.

    Yields a list that receives the signal numbers that arrived; the caller
    decides what they mean (roll back, or let a recorded request stand and
    re-raise). The previous handler is always restored. Outside the main
    thread signals are not delivered to Python code and the block runs as is.
    """
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum, frame):
        received.append(signum)

    try:
        previous = _set_signal(signal.SIGINT, handler)
    except (ValueError, TypeError):  # pragma: no cover - exotic interpreters
        yield received
        return
    try:
        yield received
    finally:
        _set_signal(signal.SIGINT, previous)


# ------------------------------------------------------------ external effects
# Some commits reach outside the model: a SISA model deletes the checkpoint
# files its new state superseded. When the model is itself part of a larger
# change (a step of a composite forgetting on a copy, or the command line,
# whose change is complete only once the new model file is saved), those
# effects must wait for the larger change to commit: deleting them earlier
# would leave the old model, still in use if the larger change fails,
# pointing at files that are gone.
_HELD = contextvars.ContextVar("skunlearn_held_effects", default=None)


class HeldEffects:
    """External effects of commits, held back for the caller's own commit.

    ``commit()`` runs the held actions (the superseded files go); ``abort()``
    runs their undo actions (files written for a change that did not happen
    go). Each runs at most once; neither raises (the actions report their own
    failures).
    """

    def __init__(self):
        self._commit = []
        self._abort = []

    def __bool__(self):
        return bool(self._commit or self._abort)

    def commit(self):
        actions, self._commit, self._abort = self._commit, [], []
        for action in actions:
            action()

    def abort(self):
        actions, self._commit, self._abort = self._abort, [], []
        for action in actions:
            action()


@contextmanager
def held_external_effects():
    """Hold the external effects of the commits made inside, for the caller.

    Yields a :class:`HeldEffects`; the caller calls its ``commit`` once its own
    change stands, or ``abort`` when it is abandoned.
    """
    held = HeldEffects()
    token = _HELD.set(held)
    try:
        yield held
    finally:
        _HELD.reset(token)


def external_effect(do, undo=None):
    """Run ``do`` now, or hold it (and ``undo``) for an enclosing caller."""
    held = _HELD.get()
    if held is None:
        do()
        return
    held._commit.append(do)
    if undo is not None:
        held._abort.append(undo)
