"""The engine shared by the deletion-ready trees and forests.

A fitted model is a list of :class:`_Tree` (flat arrays, see ``_kernels``).
Deletion runs in two phases. Phase A (compiled, a chunk of trees per call)
updates in place the nodes on the forgotten rows' paths and reports the
topmost nodes whose split changed; those subtrees are then cleared and grown
again in phase B, in reserved node ids of the same tree (or of a compacted
copy when half of the tree is garbage). A journal lets a failed or
interrupted ``unlearn`` restore the model exactly: phase A copies the nodes
on the paths and records what it does to their cached statistics (a
rollback adds the rows back: integer counts, the same bits); the clearing
copies the subtrees' roots and row ranges, and leaves their old nodes and
slots as they were until the commit scrubs them. The journal is dropped at
commit. With ``n_jobs`` > 1, threads share the work (see
``_BaseUnlearningForest._run_phases``).

A forgotten row's id stays in the trees' ``order`` arrays (``gather`` skips
it through the ledger's ``alive`` mask) until the model compacts (see
``_BaseUnlearningForest._compact_rows``): every per-row structure is then
renumbered as a fit on the retained rows numbers it, and each tree laid out
as that fit lays it out, slots included.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import functools
import heapq
import math
import numbers
import threading
import time
from abc import abstractmethod
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple, Self

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._commit import deferred_sigint, model_lock
from .._ledger import row_fingerprints
from ..base import (
    _MISSING,
    UnlearningMixin,
    UnlearnUpdate,
    check_labels_in,
    check_new_weights,
)
from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)
from . import _kernels as K
from ._journal import (
    ArraysUndo,
    DeletionRecords,
    InsertRecords,
    InsertsUndo,
    MetaUndo,
    PathsUndo,
    RootsUndo,
    TreeJournal,
    TreeOfChunkUndo,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = []

# Nodes with at least this many rows cache their candidate split statistics;
# smaller nodes are re-evaluated from their rows when one of them goes (a few
# microseconds), which keeps the cache, and the memory, to the top of the tree.
# Trees that draw a fraction of the rows (max_samples < 1) cache smaller nodes
# in proportion, down to 16 rows: about the same cache memory per training
# row as a forest of whole bootstraps, and fewer nodes read from their rows
# (the benchmark's forest at max_samples=0.1: 16 rows, 1-row deletion median
# 0.50 -> 0.37 ms, cache 315 -> 1,001 bytes per training row; the default's
# is 1,066).
_CACHE_MIN_ROWS = 128
_CACHE_MIN_ROWS_FLOOR = 16
_MAX_DEPTH_NONE = 1 << 40


class _Tree:
    """Arrays of one fitted tree.

    The arrays have spare capacity: a subtree rebuilt after a deletion is
    written after the last node in use (``meta``: nodes in use, slots in use,
    garbage nodes, and a bound on the depth of its nodes) and the nodes it
    replaces are scrubbed. When garbage
    exceeds half of the nodes, or capacity runs out, the tree is copied and
    compacted back to preorder. ``order`` has room too once rows were added:
    it is then the start of a longer buffer (``order_buf``, see
    :meth:`order_buffer`), and the next rows go in place, the entries after
    them moved on (one ``memmove``, where a new array meant writing all of
    them and fresh pages).
    """

    __slots__ = (
        "NI", "NF", "NK", "NT", "SD", "order", "index", "tkey", "meta", "order_buf"
    )  # fmt: skip
    # saved: all but the buffer of which order is the start (see order_buffer)
    _STATE = __slots__[:-1]

    def __init__(self, NI, NF, NK, NT, SD, order, index, tkey, meta):
        self.NI, self.NF, self.NK, self.NT, self.SD = NI, NF, NK, NT, SD
        self.order, self.index, self.tkey, self.meta = order, index, tkey, meta
        self.order_buf = None

    def arrays(self):
        return self.NI, self.NF, self.NK, self.NT, self.SD

    def reserve_nodes(self, n):
        """Room for ``n`` nodes (new arrays, the old rows copied)."""
        cap = max(n, int(1.25 * self.NI.shape[0]) + 16)
        grow = cap - self.NI.shape[0]
        if grow <= 0:
            return
        self.NI = np.concatenate([self.NI, np.zeros((grow, K.N_INT), np.int64)])
        self.NF = np.concatenate([self.NF, np.zeros((grow, self.NF.shape[1]))])
        self.NK = np.concatenate([self.NK, np.zeros(grow, dtype=np.uint64)])
        self.NT = np.concatenate([self.NT, np.zeros((grow, self.NT.shape[1]))])

    def reserve_slots(self, n):
        """Room for ``n`` slots (a new array, the old rows copied)."""
        cap = max(n, int(1.25 * self.SD.shape[0]) + 4)
        grow = cap - self.SD.shape[0]
        if grow > 0:
            self.SD = np.concatenate([self.SD, np.zeros((grow, self.SD.shape[1]))])

    def order_buffer(self, n):
        """A buffer that starts with ``order``'s entries and has room for ``n`` more.

        The tree's buffer when ``order`` is still the view of its start that
        the last insertion made (``order_buf``: the two) and it is large
        enough: rows are added in place. Otherwise a new one, with room for
        the insertions to come (a 32nd of the entries, at least 64), the
        entries copied in. The caller makes ``order`` a view of its start.
        """
        order = self.order
        m = order.shape[0]
        if self.order_buf is not None:
            room, view = self.order_buf
            if view is order and room.shape[0] >= m + n:
                return room
        room = np.empty(m + n + m // 32 + 64, dtype=order.dtype)
        room[:m] = order
        return room

    def __getstate__(self):
        # order alone: a view of the buffer pickles as its own entries
        return {k: getattr(self, k) for k in self._STATE}

    def __setstate__(self, state):
        self.order_buf = None
        for k, v in state.items():
            setattr(self, k, v)
        if self.meta.shape[0] == 3:
            # saved before the depth bound was kept
            n = int(self.meta[0])
            self.meta = np.r_[self.meta, self.NI[:n, K.DEPTH].max()]

    @property
    def n_nodes(self):
        return int(self.meta[0])

    @property
    def node_count(self):
        """Number of nodes of the tree (garbage excluded)."""
        return self.n_nodes - int(self.meta[2])

    def compacted(
        self, slack=0.25, extra_nodes=0, new_id=None, copy_order=False, slot_min=0
    ):
        """A copy in preorder without garbage.

        Spare capacity: ``slack`` times the live nodes (and slots), plus
        ``extra_nodes`` nodes. ``new_id`` (optional, one entry per node
        in use) receives each node's id in the copy (-1: garbage). The copy
        shares ``order`` unless ``copy_order``. Nodes of fewer than
        ``slot_min`` rows lose their slot.
        """
        n, ns = self.n_nodes, int(self.meta[1])
        nn, nsl = K.count_live(self.NI[:n], slot_min)
        cap = nn + int(slack * nn) + 16 + int(extra_nodes)
        scap = nsl + int(slack * nsl) + 4 if self.SD.shape[0] else 0
        out = _Tree(
            np.zeros((cap, K.N_INT), dtype=np.int64),
            np.zeros((cap, self.NF.shape[1])),
            np.zeros(cap, dtype=np.uint64),
            np.zeros((cap, self.NT.shape[1])),
            np.zeros((scap, self.SD.shape[1])),
            self.order.copy() if copy_order else self.order,
            self.index,
            self.tkey,
            np.array([nn, nsl, 0, self.meta[3]], dtype=np.int64),
        )
        K.compact(
            self.NI[:n],
            self.NF[:n],
            self.NK[:n],
            self.NT[:n],
            self.SD[:ns],
            out.NI,
            out.NF,
            out.NK,
            out.NT,
            out.SD,
            np.empty(n, dtype=np.int64) if new_id is None else new_id,
            slot_min,
        )
        return out

    def renumbered(self, new_id, alive, dtype, data, P):
        """A copy for rows renumbered by ``new_id`` (-1: gone), as a fit makes it.

        Preorder without garbage, the spare capacity of a fit (see
        :meth:`compacted`), the depth bound the nodes have; slots only where
        a fit has them: at nodes of at least ``P``'s cache size (a node that
        fell below it keeps its slot until now), each one evaluated again if
        a stored value lost its last row (see ``K.refresh_slots``, from
        ``data`` and ``alive`` in the old row ids); ``order`` (of ``dtype``)
        without dead ids (see ``K.renumber``). New arrays throughout: the
        tree itself is unchanged.
        """
        cached = bool(P.exact_counts)
        out = self.compacted(slot_min=int(P.cache_min_rows) if cached else 0)
        n = out.n_nodes
        if cached:
            X, yc, yr, rk, sw = data
            # nodes that rows added in place lifted to the cache size
            extra = K.missing_slots(out.NI, n, int(P.cache_min_rows))
            if extra:
                ns = int(out.meta[1]) + extra
                SD = np.zeros((ns + int(0.25 * ns) + 4, out.SD.shape[1]))
                K.add_slots(
                    out.NI, out.NK, out.SD, SD, n, self.order, alive, X, yc, yr,
                    rk, sw, self.tkey, P,
                )  # fmt: skip
                out.SD = SD
                out.meta[1] = ns
        if cached and out.meta[1]:
            X, yc, yr, rk, sw = data
            K.refresh_slots(
                out.NI, out.NK, out.SD, n, self.order, alive, X, yc, yr,
                rk, sw, self.tkey, P,
            )  # fmt: skip
        out.order = K.renumber(self.order, out.NI, n, new_id).astype(dtype, copy=False)
        out.meta[3] = out.NI[:n, K.DEPTH].max()
        return out

    def structure(self, n_values):
        """The tree as scikit-learn-like arrays (preorder)."""
        # rebuilt subtrees are appended: put the nodes back in preorder
        live = self.compacted(0)
        n = live.n_nodes
        NI, NF = live.NI[:n], live.NF[:n]
        leaf = NI[:, K.LEFT] < 0
        return {
            "feature": np.where(leaf, -2, NI[:, K.FEAT]),
            "threshold": np.where(leaf, -2.0, NF[:, K.THR]),
            "children_left": NI[:, K.LEFT].copy(),
            "children_right": NI[:, K.RIGHT].copy(),
            "n_node_samples": NI[:, K.NROWS].copy(),
            "weighted_n_node_samples": NF[:, K.WEIGHT].copy(),
            "impurity": NF[:, K.IMP].copy(),
            "value": NF[:, K.VAL : K.VAL + n_values].copy(),
        }


def _tree_key(seed, index):
    return np.uint64(K.h2(np.uint64(seed), np.uint64(index)))


@K.njit(cache=True, nogil=True)
def _tree_keys(seed, n):
    # _tree_key of trees 0 .. n - 1 (a tree keeps its key for life)
    out = np.empty(n, dtype=np.uint64)
    for t in range(n):
        out[t] = K.h2(np.uint64(seed), np.uint64(t))
    return out


def _root_key(tkey):
    return np.uint64(K.h2(np.uint64(tkey), np.uint64(0x7EE)))


class _BaseUnlearningForest(UnlearningMixin, BaseEstimator):
    """Common code of the trees and forests built for deletion."""

    _parameter_constraints = {
        "criterion": [StrOptions({"gini", "entropy", "log_loss", "squared_error"})],
        "max_depth": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "min_samples_split": [Interval(numbers.Integral, 2, None, closed="left")],
        "min_samples_leaf": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_features": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Interval(numbers.Real, 0.0, 1.0, closed="right"),
            StrOptions({"sqrt", "log2"}),
            None,
        ],
        "n_thresholds": [Interval(numbers.Integral, 1, 32, closed="both")],
        "random_state": ["random_state"],
    }

    _is_classifier: bool = True
    _n_trees_param: str | None = None  # forests read n_estimators; trees grow one
    _bootstrap_param: str | None = None
    # the journal of a change to the trees in place, while it runs (_journaled)
    _change: TreeJournal

    @abstractmethod
    def __init__(self):  # pragma: no cover - the subclasses define parameters
        pass

    # --------------------------------------------------------------- settings
    def _n_trees(self):
        return 1 if self._n_trees_param is None else getattr(self, self._n_trees_param)

    def _bootstrap(self):
        return (
            False
            if self._bootstrap_param is None
            else getattr(self, self._bootstrap_param)
        )

    def _boot_rate(self):
        """The bootstrap's Poisson rate in units of 2**-20 (0: no bootstrap)."""
        if not self._bootstrap():
            return 0
        rate = getattr(self, "max_samples", None)
        if rate is None:
            return K.BOOT_ONE
        return max(1, round(float(rate) * K.BOOT_ONE))

    def _cache_min_rows(self):
        """Rows a node needs to cache its split statistics (see _CACHE_MIN_ROWS)."""
        rate = self._boot_rate() / K.BOOT_ONE
        if not 0 < rate < 1:
            return _CACHE_MIN_ROWS
        return max(_CACHE_MIN_ROWS_FLOOR, round(_CACHE_MIN_ROWS * rate))

    def _n_jobs(self):
        return getattr(self, "n_jobs", None)

    def _mtry(self, p):
        mf = self.max_features
        if mf is None:
            return p
        if mf == "sqrt":
            return max(1, int(math.sqrt(p)))
        if mf == "log2":
            return max(1, int(math.log2(p)))
        if isinstance(mf, numbers.Integral):
            return min(p, int(mf))
        return max(1, int(mf * p))

    def _params_vector(self, p, n_values, exact_counts):
        crit = {
            "gini": K.GINI,
            "entropy": K.ENTROPY,
            "log_loss": K.ENTROPY,
            "squared_error": K.MSE,
        }[self.criterion]
        S = 1 + n_values if self._is_classifier else 4
        md = _MAX_DEPTH_NONE if self.max_depth is None else self.max_depth
        params = K.Params(
            n_values=n_values,
            stat_width=S,
            mtry=self._mtry(p),
            n_thresholds=self.n_thresholds,
            min_samples_leaf=self.min_samples_leaf,
            min_samples_split=self.min_samples_split,
            max_depth=md,
            criterion=crit,
            classifier=int(self._is_classifier),
            cache_min_rows=self._cache_min_rows(),
            exact_counts=int(exact_counts),
            boot_rate=self._boot_rate(),
            n_features=p,
        )
        # stored as a vector (the P_* positions), handed to the kernels as
        # the record (see _params)
        return np.array(params, dtype=np.int64)

    def _params(self):
        """The stored parameter vector as the record the kernels read."""
        return K.Params(*self._P_.tolist())

    def _slot_width(self):
        P = self._params()
        return K.offsets(int(P.mtry), int(P.n_thresholds), int(P.stat_width))[-1]

    # -------------------------------------------------------------------- fit
    def _check_criterion(self):
        clf_crit = {"gini", "entropy", "log_loss"}
        if self._is_classifier != (self.criterion in clf_crit):
            kind = "classifier" if self._is_classifier else "regressor"
            raise ValueError(
                f"criterion={self.criterion!r} is not available for a {kind}; use "
                + (
                    "'gini', 'entropy' or 'log_loss'."
                    if self._is_classifier
                    else "'squared_error'."
                )
            )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Grow the trees on ``X, y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (finite numbers).

        y : array-like of shape (n_samples,)
            Targets: class labels for a classifier, real numbers for a regressor.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights. Integer weights keep deletions on the
            fast path (cached counts); fractional ones re-evaluate the nodes on
            the forgotten rows' paths from their rows.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._check_criterion()
        X, y = validate_data(
            self,
            X,
            y,
            dtype=np.float64,
            ensure_all_finite=True,
            order="C",
            y_numeric=not self._is_classifier,
        )
        if self._is_classifier:
            check_classification_targets(y)
            self.classes_, y_store = np.unique(y, return_inverse=True)
            y_store = y_store.astype(np.int64)
            self.n_classes_ = self.classes_.size
            self._class_rows = np.bincount(y_store, minlength=self.n_classes_)
        else:
            y_store = np.ascontiguousarray(y, dtype=np.float64)
            if y_store.ndim != 1:
                raise ValueError(f"y must be 1-dimensional, got shape {y_store.shape}.")
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        if isinstance(self.random_state, numbers.Integral):
            self.seed_ = int(self.random_state) % (1 << 63)
        else:
            rs = check_random_state(self.random_state)
            self.seed_ = int(rs.randint(np.iinfo(np.int32).max))
        # -0.0 -> 0.0: equal values, equal bits. Row-major: a deletion reads a
        # few features of each row of a small node (a subtree's growth reads
        # its rows once, into a column-major copy of its own)
        X = np.ascontiguousarray(X + 0.0)
        self._init_ledger(
            X, y_store, {"sample_weight": sw}, keep_X=True, compact="never"
        )
        n_values = self.n_classes_ if self._is_classifier else 1
        exact_counts = self._is_classifier and (
            sw is None or (np.all(sw == np.round(sw)) and sw.sum() < 2.0**50)
        )
        self._P_ = self._params_vector(X.shape[1], n_values, exact_counts)
        # one 64-bit key per row (from its content fingerprint) seeds its
        # bootstrap multiplicities; erased with the row when it is forgotten.
        # The unkeyed fingerprint: the ledger's are keyed with a secret of
        # its own, and a refit with the same seed must draw the same.
        self._row_keys = _row_keys(row_fingerprints(X))
        self._n_values_ = n_values
        self.__dict__.pop("_pending", None)
        self.trees_ = self._grow_all()
        _load_deletion_kernels(self._is_classifier)
        return self

    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """Learn new rows: the model becomes the fit on all its rows.

        Exact: afterwards the model is, to the last bit, the model a fit with
        the same seed builds on the retained training rows followed by the
        new ones (and its ledger is that fit's), so that streams of
        insertions and deletions stay exact. The rows go in place, as a
        deletion goes (each tree holding a new row adds it along its path
        and grows again only the subtrees whose split changes), all or
        nothing. A batch of at least 2% of the rows, a new class label, or
        weights that a fit would sum differently (fractional weights added to
        a classifier fit with integer ones, weights added to a model fit
        without) make it that fit instead. On an unfitted model it is
        :meth:`fit`. The history of requests is kept; a model whose
        parameters changed since ``fit`` refuses
        (:class:`~skunlearn.exceptions.ParametersChangedError`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New training rows (finite numbers), with the fitted columns.

        y : array-like of shape (n_samples,)
            Their targets (for a classifier, a new class label adds a class).

        classes : array-like of shape (n_classes,), default=None
            Classifiers: the labels ``y`` may take, checked (scikit-learn's
            convention). ``classes_`` stays the labels present in the rows,
            as a fit on them has.

        sample_weight : array-like of shape (n_samples,), default=None
            Their weights (1 when None; the training rows keep theirs).

        Returns
        -------
        self : object
            The model, fitted on all its rows.
        """
        if "ledger_" not in self.__dict__:
            return self._learn_rows_by_refit(X, y, sample_weight, classes)
        self._check_params_unchanged()
        new = self._new_rows(X, y, sample_weight, classes)
        if new is None:
            return self._learn_rows_by_refit(X, y, sample_weight, classes)
        self._insert(*new)
        return self

    def _new_rows(self, X, y, sample_weight, classes):
        """``(X, y, weights)`` of rows that can go in place, as stored; else None."""
        check_labels_in(y, classes)
        plain = self._plain_new_rows(X, y)
        if not plain:
            X, y = validate_data(
                self,
                X,
                y,
                reset=False,
                dtype=np.float64,
                ensure_all_finite=True,
                order="C",
                y_numeric=not self._is_classifier,
            )
        led = self.ledger_
        k = X.shape[0]
        if k > 1 and k >= _REFIT_FRACTION * led.n_rows:
            return None  # a batch that large: a fit is faster
        if self._is_classifier:
            codes = np.searchsorted(self.classes_, y)
            known = codes < self.classes_.size
            known[known] = self.classes_[codes[known]] == y[known]
            if not (plain and known.all()):
                # (labels all among classes_ are a valid target already)
                check_classification_targets(y)
            if not known.all():
                return None  # a new class: a fit on more classes
            y = codes.astype(np.int64)
        else:
            y = np.ascontiguousarray(y, dtype=np.float64)
            if y.ndim != 1:
                raise ValueError(f"y must be 1-dimensional, got shape {y.shape}.")
        sw_old = led.sample_props.get("sample_weight")
        sw = None
        if sample_weight is not None:
            if sw_old is None:
                return None  # weights where the fit had none
            sw = check_new_weights(sample_weight, X.shape[0])
        elif sw_old is not None:
            sw = np.ones(k)
        if self._is_classifier and sw is not None:
            # a fit sums integer weights as exact counts (see fit)
            every = np.concatenate([sw_old[led.alive], sw])
            exact = bool(np.all(every == np.round(every)) and every.sum() < 2.0**50)
            if exact != bool(self._params().exact_counts):
                return None
        return np.ascontiguousarray(X + 0.0), y, sw

    def _plain_new_rows(self, X, y):
        """Whether validation would return ``X`` and ``y`` as they are.

        ``X`` as :meth:`_is_valid_float_forget_set` accepts it, ``y`` a 1-D
        array of as many finite numbers (a classifier's fitted on numbers:
        labels that are not among ``classes_`` send the rows to a fit, which
        validates them). Checking costs microseconds where scikit-learn's
        validation of a row and its target costs half a millisecond, a tenth
        of an insertion.
        """
        numeric = "iuf" if not self._is_classifier else "biuf"
        return (
            type(y) is np.ndarray
            and y.ndim == 1
            and y.dtype.kind in numeric
            and (not self._is_classifier or self.classes_.dtype.kind in "biuf")
            and self._is_valid_float_forget_set(X)
            and y.shape[0] == X.shape[0]
            and bool(np.isfinite(y).all())
        )

    def _insert(self, X, y, sw):
        """Add validated rows in place, all or nothing (see :meth:`partial_fit`)."""
        led = self.ledger_
        d = self.__dict__
        names = ("trees_", "_row_keys", "_class_rows", "_pending")
        old = {name: d.get(name, _MISSING) for name in names}
        undo_ledger = None
        with self._journaled() as journal:
            try:
                rows = np.arange(led.n_stored, led.n_stored + len(X), dtype=np.int64)
                props = {} if sw is None else {"sample_weight": sw}
                undo_ledger = led.append(X, y, props)
                self._row_keys = np.concatenate(
                    [self._row_keys, _row_keys(row_fingerprints(X))]
                )
                if self._is_classifier:
                    self._class_rows = self._class_rows + np.bincount(
                        y, minlength=self.n_classes_
                    )
                data = self._data()
                req = _Request(
                    rows, led.alive, _dead_id(led.alive), data, self._params(),
                    _tree_keys(self.seed_, len(self.trees_)), journal,
                    self._slot_width(),
                )  # fmt: skip
                tasks = self._tasks(req)
                results = self._run_phases(
                    functools.partial(self._phase_insert, req=req),
                    tasks,
                    data,
                    self._request_threads(tasks),
                )
                d.update(self._after_phases(results))
            except BaseException:
                self._restore(old, led, undo_ledger)
                raise  # and the journal is rolled back
            # the rows are in: the cleared subtrees' garbage goes (an
            # interrupt meanwhile is raised once it is gone, the rows learned)
            with deferred_sigint() as received:
                journal.commit()
        if received:
            raise KeyboardInterrupt

    def _phase_insert(self, chunk, req):
        """Rows added to a chunk of trees (phase A of an insertion).

        As :meth:`_phase_a` deletes: up to ``_CHUNK`` trees in one kernel
        call (``K.insert_trees``, its records journaled first) add their new
        rows in place, each tree's entries put into its ``order``'s buffer
        (see :meth:`_Tree.order_buffer`), and clear the subtrees to grow
        again. Returns what :meth:`_phase_a` does.
        """
        trees = [tree for _, tree, _ in chunk]
        nrs = [mine.size for _, _, mine in chunk]
        orders = [tree.order for tree in trees]
        bufs = [tree.order_buffer(nr) for tree, nr in zip(trees, nrs, strict=True)]
        ms = np.array([order.shape[0] for order in orders], dtype=np.int64)
        rptr, rflat = self._chunk_rows(chunk, req.rows)
        depth = max(int(tree.meta[3]) for tree in trees) + 1  # nodes on a path
        NF, NT = trees[0].NF, trees[0].NT
        rec = InsertRecords.allocate(
            nrs, depth, NF.shape[1], NT.shape[1], req.slot_width
        )  # fmt: skip
        undo = InsertsUndo(
            trees, rec, rptr, rflat, orders, [t.order_buf for t in trees], bufs,
            np.array([t.meta[0] for t in trees]), np.zeros(len(trees), dtype=bool),
        )  # fmt: skip
        req.journal.for_tree().append(undo)
        arrays, tk = self._chunk_arrays(chunk, req, bufs)
        out = K.insert_trees(
            *arrays, tk, _ARANGE[: len(chunk)], ms, rptr, rflat, *req.data,
            req.alive, req.P, *rec,
        )  # fmt: skip
        for q, tree in enumerate(trees):
            tree.order = bufs[q][: ms[q] + nrs[q]]
            tree.order_buf = (bufs[q], tree.order)
        return self._chunk_cleared(chunk, req, undo, *out)

    def _stored_targets(self, y):
        # the ledger keeps class codes
        return self.classes_[y] if self._is_classifier else y

    def _data(self):
        led = self.ledger_
        X = led.X
        sw = led.sample_props.get("sample_weight")
        if sw is None:
            sw = np.ones(1)  # the kernels read a single weight as "all ones"
        elif sw.shape[0] == 1:
            sw = np.r_[sw, sw]
        if self._is_classifier:
            yc, yr = led.y, np.zeros(1)
        else:
            yc, yr = np.zeros(1, dtype=np.int64), led.y
        return X, yc, yr, self._row_keys, sw

    def _grow_all(self):
        data = self._data()
        n_trees = self._n_trees()
        grow = delayed(self._grow_one)
        trees = Parallel(n_jobs=self._n_jobs(), prefer="threads")(
            grow(t, data) for t in range(n_trees)
        )
        return list(trees)

    def _grow_one(self, index, data):
        rk = data[3]
        P = self._params()
        n = rk.shape[0]
        tkey = _tree_key(self.seed_, index)
        order = np.empty(n, dtype=np.int64)
        m = K.members(rk, tkey, P.boot_rate, order)
        # row ids of the tree, grouped by node (int32 halves the largest array)
        order = order[:m].astype(np.int32 if n < 2**31 else np.int64)
        md = int(min(P.max_depth, 62))
        cap = int(min(2 * m + 1, 2 ** (md + 1) - 1))
        n_slots = int(_room([m], [min(md + 1, 62)], P)[1][0]) + 1
        tree = _Tree(
            np.empty((cap, K.N_INT), dtype=np.int64),
            np.zeros((cap, K.VAL + self._n_values_)),
            np.empty(cap, dtype=np.uint64),
            np.zeros((cap, P.stat_width)),
            np.empty((min(n_slots, cap), self._slot_width())),
            order,
            index,
            tkey,
            np.zeros(4, dtype=np.int64),
        )
        head = _build_args(tree, tree.SD, 1, 0, 0, -1, 0, 0, m, 0, _root_key(tkey))
        nn, ns = K.build(*head, *data, tkey, P)
        tree.meta[:] = (nn, ns, 0, tree.NI[:nn, K.DEPTH].max())
        return tree.compacted()

    # ---------------------------------------------------------------- predict
    def _check_X(self, X):
        check_is_fitted(self, "trees_")
        X = validate_data(
            self, X, reset=False, dtype=np.float64, ensure_all_finite=True, order="C"
        )
        return np.ascontiguousarray(X + 0.0)

    def _mean_values(self, X):
        X = self._check_X(X)
        out = np.zeros((X.shape[0], self._n_values_))
        for tree in self.trees_:
            K.accumulate_values(tree.NI, tree.NF, X, out)
        out /= len(self.trees_)
        return out

    def apply(self, X: ArrayLike) -> NDArray[np.int64]:
        """Index of the leaf each row reaches in each tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        leaves : ndarray of shape (n_samples, n_trees)
            Node ids (preorder) of the leaves.
        """
        self._finish_pending()
        X = self._check_X(X)
        out = np.empty((X.shape[0], len(self.trees_)), dtype=np.int64)
        col = np.empty(X.shape[0], dtype=np.int64)
        for t, tree in enumerate(self.trees_):
            K.apply(tree.NI, tree.NF, X, col)
            out[:, t] = K.preorder_ids(tree.NI[: tree.n_nodes])[col]
        return out

    @property
    def feature_importances_(self) -> NDArray[np.float64]:
        """Mean decrease in impurity per feature, normalized to sum to one.

        Returns
        -------
        feature_importances_ : ndarray of shape (n_features,)
        """
        check_is_fitted(self, "trees_")
        self._finish_pending()
        p = self.n_features_in_
        total = np.zeros(p)
        for tree in self.trees_:
            # preorder, as a refit has it: the same sums in the same order
            tree = tree.compacted(0)
            n = tree.n_nodes
            NI, NF = tree.NI[:n], tree.NF[:n]
            inner = np.flatnonzero(NI[:, K.LEFT] >= 0)
            imp = np.zeros(p)
            if inner.size:
                left, right = NI[inner, K.LEFT], NI[inner, K.RIGHT]
                wi = NF[:, K.WEIGHT] * NF[:, K.IMP]
                np.add.at(imp, NI[inner, K.FEAT], wi[inner] - wi[left] - wi[right])
                s = imp.sum()
                if s > 0:
                    total += imp / s
        s = total.sum()
        return total / s if s > 0 else total

    def tree_structure(self, index: int = 0) -> dict[str, NDArray[Any]]:
        """Return the arrays describing one tree, in the layout of ``tree_``.

        Two models are the same tree for tree when these arrays are equal.

        Parameters
        ----------
        index : int, default=0
            Which tree.

        Returns
        -------
        structure : dict of str to ndarray
            ``feature``, ``threshold`` (a split sends ``x <= threshold``
            left), ``children_left``, ``children_right``, ``n_node_samples``,
            ``weighted_n_node_samples``, ``impurity``, ``value`` (class
            fractions or the mean target per node). Leaves have feature -2.
        """
        check_is_fitted(self, "trees_")
        self._finish_pending()
        return self.trees_[index].structure(self._n_values_)

    # ---------------------------------------------------------------- unlearn
    def _validate_forget_data(self, X, y):
        if self._is_valid_float_forget_set(X):
            return X, self._validate_forget_target(y, X.shape[0])
        return super()._validate_forget_data(X, y)

    def _validate_forget_target(self, y, n_forget):
        y = super()._validate_forget_target(y, n_forget)
        if y is None or not self._is_classifier:
            return y
        # the ledger stores class codes; labels never seen map to -1 (no match)
        y = np.asarray(y)
        pos = np.minimum(np.searchsorted(self.classes_, y), self.classes_.size - 1)
        known = self.classes_[pos] == y
        return np.where(known, pos, -1).astype(np.int64)

    def unlearn(
        self,
        X: ArrayLike,
        y: ArrayLike | None = None,
        *,
        request_id: str | None = None,
        **params: Any,
    ) -> Self:
        # Phase A updates the published trees in place and journals what it
        # overwrote, so the request holds the model's exclusive side from the
        # start (readers wait rather than see half-updated trees). The commit,
        # once the request is recorded, empties the journal; any failure or
        # interrupt before that undoes it. (The journal is the model's while
        # the request runs: an interrupt between phase A and the publication
        # finds it here.)
        lock = model_lock(self)
        with lock.writer, lock.exclusive(), self._journaled():
            return super().unlearn(X, y, request_id=request_id, **params)

    unlearn.__doc__ = UnlearningMixin.unlearn.__doc__

    def _erase(self, rows):
        # The commit, once the request is recorded: the cleared subtrees' old
        # nodes and slots are scrubbed, the journal is no longer needed and
        # the forgotten rows' keys go, in place.
        self._change.commit()
        self._row_keys[rows] = 0

    @contextmanager
    def _journaled(self):
        """The journal of one change to the trees in place (``self._change``).

        Rolled back if the block raises; a committed journal is empty, so the
        rollback of a recorded request that is interrupted afterwards does
        nothing. A change inside another (subtrees grown at a compaction
        after a request) has its own. Afterwards no ``_pending`` attribute
        stays without trees in it (a refit sets it to None).
        """
        d = self.__dict__
        journal = TreeJournal()
        outer = d.get("_change")
        d["_change"] = journal
        try:
            yield journal
        except BaseException:
            journal.rollback()
            raise
        finally:
            if outer is None:
                d.pop("_change", None)
            else:
                d["_change"] = outer
            if not d.get("_pending", True):
                del d["_pending"]

    @property
    def _compact_min_rows(self):
        # Below this many row slots, the erased ones go at every request
        # (above, once they are more than 1/64 of them; see
        # TrainingLedger.due). A compaction costs about 40 us per tree, a
        # few ns per row and tree (order entries), the ledger's copy (about
        # 8 trees' worth with 20 features) and the slots evaluated again:
        # at the bound, one to three deletions (measured, compaction and
        # deletion: 1000 rows, 100 trees, 2 threads, 4.6 and 4.9 ms; 2000
        # rows, 10 trees, 1.0 and 0.8 ms; 10000 rows, 1 tree, 1.3 and 0.5
        # ms). Above it, the cost per forgotten row is constant: the
        # benchmark's forest (80000 rows, 100 trees) compacts once per 1250
        # requests, in 0.5-0.7 s (0.4-0.6 ms a request; 80% of it the slots
        # that lost a stored value, evaluated again).
        trees = len(self.__dict__.get("trees_") or ())
        return max(_COMPACT_IDS // (trees + _COMPACT_LEDGER_SHARE), _COMPACT_MIN_ROWS)

    @property
    def _row_id_dtype(self):
        # int32 where it fits, as fit makes order: the renumbering looks up an
        # id per order entry
        return np.int32 if self.ledger_.n_stored < 2**31 else np.int64

    def _renumbered_rows(self, new_id):
        # The erased rows' slots go from every per-row structure, renumbered
        # as a fit on the retained rows numbers them: the row keys and each
        # tree's order (its nodes' ranges with it, the tree laid out as a fit
        # lays it out). Subtrees waiting to grow grow first (the caller
        # holds the exclusive side).
        self._grow_pending()
        led = self.ledger_
        alive = led.alive
        kept = led.retained()
        dtype = new_id.dtype
        P = self._params()
        data = self._data()
        trees = self.trees_
        n_threads = min(effective_n_jobs(self._n_jobs()), len(trees))

        def renumber(part):
            return [tree.renumbered(new_id, alive, dtype, data, P) for tree in part]

        # the trees in n_threads interleaved parts, one on this thread
        parts = [trees[i::n_threads] for i in range(n_threads)]
        futures = [_pool(n_threads - 1).submit(renumber, p) for p in parts[1:]]
        try:
            done = [renumber(parts[0])]
        finally:
            wait(futures)
        done += [f.result() for f in futures]
        new_trees = [None] * len(trees)
        for i, part in enumerate(done):
            new_trees[i::n_threads] = part
        return {"trees_": new_trees, "_row_keys": self._row_keys[kept]}

    def _unlearn(self, match, X_f, y_f, **params):
        if params:
            raise TypeError(
                f"{type(self).__name__}.unlearn takes no extra parameters, got "
                f"{sorted(params)}."
            )
        start = time.perf_counter()
        led = self.ledger_
        rows = np.sort(match.rows).astype(np.int64)
        alive = led.alive.copy()
        alive[rows] = False
        class_rows = None
        if self._is_classifier:
            class_rows = self._class_rows - np.bincount(
                led.y[rows], minlength=self.n_classes_
            )
        reason = self._refit_reason(rows, alive, class_rows)
        if reason is not None:
            return self._refit_update(alive, start, reason)
        data = self._data()
        P = self._params()
        tkeys = _tree_keys(self.seed_, len(self.trees_))
        req = _Request(
            rows, alive, int(rows[0]), data, P, tkeys, self._change,
            self._slot_width(),
        )  # fmt: skip
        tasks = self._tasks(req)
        results = self._run_phases(
            functools.partial(self._phase_a, req=req),
            tasks,
            data,
            self._request_threads(tasks),
        )
        attributes = self._after_phases(results)
        if self._is_classifier:
            attributes["_class_rows"] = class_rows
        return UnlearnUpdate(
            attributes=attributes,
            commit=functools.partial(self._erase, rows),
            strategy="tree-deletion",
            exact=True,
            details={
                "trees_touched": len(tasks),
                "subtrees_rebuilt": int(sum(r[3] for r in results)),
                "update_seconds": time.perf_counter() - start,
            },
        )

    def _after_phases(self, results):
        """``trees_`` and ``_pending`` after a change's phases (``results``).

        A tree copied while its subtrees were cleared takes its place; the
        trees with subtrees waiting to grow join those that had some.
        """
        trees = list(self.trees_)
        pending = set(self.__dict__.get("_pending") or ())
        for t, target, _, n_deferred in results:
            if target is not None:
                trees[t] = target
            if n_deferred:
                pending.add(t)
        out = {"trees_": trees}
        if pending:
            out["_pending"] = tuple(sorted(pending))
        return out

    # ----------------------------------------------------- deferred regrowth
    def _has_pending(self):
        return bool(self.__dict__.get("_pending"))

    def _grow_pending(self):
        """Grow the subtrees that requests cleared, before the model is read.

        A deletion or an insertion clears the subtrees whose split changes
        and leaves their roots waiting (``K.mark_pending``: they hold their
        range of ``order``, nothing of their old rows); later requests pass
        them by. Here each grows from the rows it holds now, as a fit on the
        model's rows grows it, all or nothing (journaled as a request's
        growth is). The caller holds the model's exclusive side (see
        :meth:`~skunlearn.base.UnlearningMixin._finish_pending`).
        """
        pending = self.__dict__.get("_pending")
        if not pending:
            return
        d = self.__dict__
        alive = self.ledger_.alive
        data = self._data()
        old_trees = self.trees_
        with self._journaled() as journal:
            req = _Request(
                _NO_IDS, alive, _dead_id(alive), data, self._params(), None,
                journal, self._slot_width(),
            )  # fmt: skip

            def phase(chunk):
                out = []
                for t, tree, nodes in chunk:
                    tree_journal = journal.for_tree()
                    target, jobs = self._rebuild(tree, nodes, req, tree_journal)
                    out.append((t, target, jobs, 0))
                return out

            try:
                tasks = []
                rows = 0
                for t in pending:
                    tree = old_trees[t]
                    nodes = K.pending_nodes(tree.NI, tree.n_nodes)
                    ends = tree.NI[nodes, K.END] - tree.NI[nodes, K.START]
                    rows += int(ends.sum())
                    tasks.append((t, tree, nodes))
                # little to grow (a request or two, read at once): on this
                # thread alone (see _GROW_ALONE_ROWS)
                threads = self._threads() if rows >= _GROW_ALONE_ROWS else 1
                results = self._run_phases(phase, tasks, data, threads)
                trees = list(old_trees)
                for t, target, _, _ in results:
                    if target is not None:
                        trees[t] = target
                d["trees_"] = trees
                del d["_pending"]
            except BaseException:
                d["trees_"] = old_trees
                d["_pending"] = pending
                raise  # and the journal is rolled back
            journal.commit()

    def _refit_reason(self, rows, alive, class_rows):
        """Why the request is a refit instead of a deletion (None: it is not)."""
        sw_all = self.ledger_.sample_props.get("sample_weight")
        if sw_all is not None and not sw_all[alive].any():
            raise ValueError(
                "The retained rows all have a sample weight of zero; a model cannot "
                "be fit on them. Nothing was forgotten."
            )
        if class_rows is not None and not (class_rows > 0).all():
            # a refit has fewer classes
            return "a class lost its last training row"
        if rows.size > 1 and rows.size >= _REFIT_FRACTION * self.ledger_.n_rows:
            # a batch that large changes most trees near their roots:
            # rebuilding them costs more than a refit (the same model)
            return (
                f"the batch forgets at least {_REFIT_FRACTION:.0%} of the rows, "
                "where a refit is faster"
            )
        return None

    def _threads(self):
        n_jobs = self._n_jobs()
        if isinstance(n_jobs, numbers.Integral) and n_jobs > 0:
            return int(n_jobs)  # what effective_n_jobs says, sooner
        return effective_n_jobs(n_jobs)

    def _request_threads(self, tasks):
        """Threads for a request's trees: one when they hold little of its work.

        A second thread starts late and the two then wait on each other at
        the interpreter between chunks: below ``_THREADED_MIN_WORK`` tree
        rows (a row in each tree that holds it) one thread is faster.
        """
        work = sum(len(rows) for _, _, rows in tasks)
        return self._threads() if work > _THREADED_MIN_WORK else 1

    def _tasks(self, req):
        """``(tree index, tree, its rows)`` of every tree holding a forgotten row."""
        rows, trees = req.rows, self.trees_
        has = _mults(req.tkeys, req.data[3], rows, req.P.boot_rate) > 0
        if rows.size == 1:
            return [(t, trees[t], rows) for t in np.flatnonzero(has[:, 0]).tolist()]
        held = np.flatnonzero(has.any(axis=1)).tolist()
        return [(t, trees[t], rows[has[t]]) for t in held]

    def _phase_a(self, chunk, req):
        """Phase A on a chunk of trees; ``(index, target, jobs, cleared)`` of each.

        Up to ``_CHUNK`` trees in one kernel call (short calls on several
        threads would mostly wait for each other's turn at the interpreter):
        update the paths' nodes in place, recording what they held, then clear
        the subtrees whose split changed, to grow at the next read: in the
        kernel call (``K.delete_trees``; the garbage scrubbed at the commit),
        or, in a tree half garbage, in a compacted copy (see
        :meth:`_chunk_cleared`).
        """
        paths = self._chunk_records(chunk, req)
        req.journal.for_tree().append(paths)
        arrays, tk = self._chunk_arrays(chunk, req, [t.order for _, t, _ in chunk])
        out = K.delete_trees(
            *arrays, tk, _ARANGE[: len(chunk)], paths.row_ptr, paths.rows, *req.data,
            req.alive, req.P, *paths.records,
        )  # fmt: skip
        return self._chunk_cleared(chunk, req, paths, *out)

    def _chunk_arrays(self, chunk, req, orders):
        """The chunk's trees' arrays for one kernel call, and their keys.

        Tuples of a fixed length, ``_CHUNK`` (padded with the first tree's,
        never used): one compiled version of the kernels serves every chunk.
        ``orders``: each tree's ``order`` as the kernel takes it.
        """
        pad = _CHUNK - len(chunk)
        rows = [
            (t.NI, t.NF, t.NK, t.NT, t.SD, order, t.meta)
            for (_, t, _), order in zip(chunk, orders, strict=True)
        ]
        arrays = tuple(zip(*(rows + [rows[0]] * pad)))
        tk = req.tkeys[[t for t, _, _ in chunk] + [chunk[0][0]] * pad]
        return arrays, tk

    def _chunk_cleared(self, chunk, req, record, rebuild, bptr, ids, iptr, slots, sptr):
        """Each tree's ``(index, target, jobs, cleared)`` after its chunk's kernel.

        The kernel cleared the subtrees to grow again where the tree allows
        (``record.records.meta_before``; their garbage is scrubbed at the
        commit); a tree half garbage clears them in a compacted copy
        (:meth:`_rebuild`: ``target``, else None), its own records starting
        with its part of the chunk's ``record``. No growth is planned
        (``jobs``: none); ``cleared``: how many subtrees.
        """
        out = []
        bptr = bptr.tolist()
        cleared = (record.records.meta_before[:, 0] >= 0).tolist()
        for q, (t, tree, _) in enumerate(chunk):
            if bptr[q] == bptr[q + 1]:
                out.append((t, None, [], 0))
                continue
            if cleared[q]:
                req.journal.scrub_later(
                    tree, ids[iptr[q] : iptr[q + 1]], slots[sptr[q] : sptr[q + 1]]
                )
                out.append((t, None, [], bptr[q + 1] - bptr[q]))
                continue
            tree_journal = req.journal.for_tree()
            tree_journal.append(TreeOfChunkUndo(record, q))
            target, jobs = self._rebuild(
                tree, rebuild[bptr[q] : bptr[q + 1]], req, tree_journal, defer=True
            )
            out.append((t, target, jobs, bptr[q + 1] - bptr[q]))
        return out

    @staticmethod
    def _chunk_rows(chunk, rows):
        """Each tree's rows of the change's ``rows``, flat: ``(ptr, rows)``."""
        n = len(chunk)
        if rows.size == 1:  # every tree's
            return _ARANGE[: n + 1], np.repeat(rows, n)
        rptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([mine.size for _, _, mine in chunk], out=rptr[1:])
        return rptr, np.concatenate([mine for _, _, mine in chunk])

    def _chunk_records(self, chunk, req):
        """The undo record of phase A on ``chunk`` (:class:`PathsUndo`), before it runs.

        Each tree's rows, flat, and room for what ``delete_trees``
        overwrites: every node on the paths (a tree's depth bound per row)
        and their slots' values.
        """
        P = req.P
        rptr, rflat = self._chunk_rows(chunk, req.rows)
        nodes = [
            mine.size * (min(int(P.max_depth), int(tree.meta[3])) + 1)
            for _, tree, mine in chunk
        ]
        NF, NT = chunk[0][1].NF, chunk[0][1].NT
        rec = DeletionRecords.allocate(
            nodes, int(P.mtry * 2 * P.n_thresholds), NF.shape[1], NT.shape[1],
            req.slot_width,
        )  # fmt: skip
        return PathsUndo(
            [tree for _, tree, _ in chunk], rec, rptr, rflat, req.data, P,
            np.zeros(len(chunk), dtype=bool),
        )  # fmt: skip

    def _rebuild(self, tree, rebuild, req, journal, defer=False):
        """Clear the subtrees at ``rebuild`` and plan their growth.

        The subtrees grow again in the tree itself (changes journaled; its
        node arrays grow when short of room), or, when half of it is garbage,
        in a compacted copy (see :meth:`_rebuild_target`). Each subtree gets
        its live rows and a range of node ids large enough for any subtree of
        its rows and depth (see :class:`_Job` for its slots). With ``defer``,
        the cleared roots wait to grow instead (``K.clear_pending``: see
        :meth:`_grow_pending`), their ranges of ``order`` left as they are
        for the growth to gather, and no ids are reserved. Returns the tree the
        subtrees grow in (``None`` for this one) and the growth jobs.
        """
        P, alive, dead, data = req.P, req.alive, req.dead, req.data
        rk, sw = data[3], data[4]
        if defer:
            need = 0
        else:
            node_room, slot_room = K.room_at(tree.NI, rebuild, P)
            need = int(node_room.sum())
        target, rebuild, journal = self._rebuild_target(tree, rebuild, need, journal)
        n_nodes, n_slots, n_garbage = target.meta[:3].tolist()
        NI, NF, NT, SD, order = target.NI, target.NF, target.NT, target.SD, target.order
        if journal is not None:
            # copies first, in a call of their own: no interruption can
            # separate the writing from its journal (deferred, the ranges of
            # order stay as they are: no copy of them)
            copies = K.journal_roots(NI, NF, NT, order, rebuild, not defer)
            journal.append(RootsUndo(target, rebuild, *copies))
        # the old subtrees' nodes and slots are scrubbed at the commit (a
        # rollback finds them as they were); in a compacted copy, at once
        now = journal is None
        jobs = []
        if defer:
            garbage, ids, slots = K.clear_pending(NI, NF, NT, SD, rebuild, now)
        else:
            # ascending rows (the order a refit sums them in) matter only
            # where sums are not exact; with exact counts any order gives
            # the tree
            ms, par, side, depth, garbage, ids, slots = K.clear_subtrees(
                NI, NF, NT, SD, order, rebuild, alive, rk, sw, target.tkey,
                P.boot_rate, not P.exact_counts, dead, now,
            )  # fmt: skip
            keys = target.NK[rebuild]  # uint64 scalars, as the kernels take them
            columns = (
                rebuild, NI[rebuild, K.START], ms, par, side, depth, node_room,
                slot_room,
            )  # fmt: skip
            for q, (node, s, m, p, sd, d, nr, sr) in enumerate(
                zip(*(c.tolist() for c in columns))
            ):
                lo, n_nodes = n_nodes, n_nodes + nr
                key = keys[q]
                jobs.append(
                    _Job(target, node, p, sd, s, m, d, key, lo, n_nodes, sr, journal)
                )
        if not now:
            req.journal.scrub_later(target, ids, slots)
        n_garbage += int(garbage)
        # the node ids reserved now; what the subtrees leave unused becomes
        # garbage; slots are taken when the subtrees are in (see _Job)
        target.meta[:3] = (n_nodes, n_slots, n_garbage)
        return (None if target is tree else target), jobs

    def _rebuild_target(self, tree, rebuild, need, journal):
        """The tree the subtrees at ``rebuild`` grow in, with ``need`` more node ids.

        The tree itself (its counters journaled, its node arrays grown if
        short), or, when half of its nodes are garbage, a compacted copy of
        it: the tree goes back to its state before the change's phase A (the
        last record of ``journal``, if any: growing pending subtrees, it has
        not changed) and the roots are renumbered. Returns ``(target, roots,
        journal)``, the journal None for a copy (nothing in it to undo).
        """
        n_nodes = int(tree.meta[0])
        if K.clears_in_place(tree.meta):
            journal.append(MetaUndo(tree, tree.meta.copy()))
            if n_nodes + need > tree.NI.shape[0]:
                # more node ids: larger node arrays (the old ones are kept,
                # unchanged from here on, for a rollback)
                journal.append(ArraysUndo.of(tree))
                tree.reserve_nodes(n_nodes + need)
            return tree, np.ascontiguousarray(rebuild, dtype=np.int64), journal
        new_id = np.empty(n_nodes, dtype=np.int64)
        target = tree.compacted(extra_nodes=need, new_id=new_id, copy_order=True)
        if journal:
            journal.pop().undo()
        return target, np.ascontiguousarray(new_id[rebuild], dtype=np.int64), None

    def _run_phases(self, phase_a, tasks, data, n_threads):
        """Phase A on every tree, phase B on the subtrees it plans.

        On one thread, one after the other. With more, every thread takes
        work from one queue: phase A on chunks of trees and the subtrees
        planned so far (see :class:`_JobQueue` for the order). A subtree (or
        piece) of at least ``_SPLIT_MIN_ROWS`` rows grows its root, then its
        children join the queue as pieces (see :func:`_grow_top`). Every
        piece writes only its own reserved ids and its own range of the
        subtree's arrays, so the result is the subtree one call grows. Every
        job is released (see :class:`_Job`) once grown. Returns phase A's
        results.
        """
        P = self._params()
        results = []
        chunks = [tasks[i : i + _CHUNK] for i in range(0, len(tasks), _CHUNK)]
        if n_threads <= 1:
            results = [r for chunk in chunks for r in phase_a(chunk)]
            for r in results:
                for job in r[2]:
                    _grow_job(job, data, P)
                    job.release()
        else:
            # a job is released as soon as it has grown (one at a time: the
            # slots of a tree are appended in turn)
            lock = threading.Lock()

            def run(item):
                if isinstance(item, list):
                    out = phase_a(item)
                    results.extend(out)
                    return [job for r in out for job in r[2]]
                if item.m >= _SPLIT_MIN_ROWS:
                    pieces = _grow_top(item, data, P)
                else:
                    _grow_job(item, data, P)
                    pieces = ()
                with lock:
                    item.release()
                return pieces

            queue = _JobQueue(run)
            if len(chunks) == 1:
                # one chunk: phase A on this thread, at once (a request's
                # phase A plans no growth: the other threads would only wait)
                jobs = run(chunks[0])
                if not jobs:
                    return results
                queue.put(jobs)
            else:
                queue.put(chunks, first=True)
            queue.close()
            workers = [
                _pool(n_threads - 1).submit(queue.work) for _ in range(n_threads - 1)
            ]
            try:
                queue.work()
            except BaseException as exc:
                queue.fail(exc)
                raise
            finally:
                wait(workers)
            queue.check()
            results.sort(key=lambda r: r[0])
        return results

    def _refit_update(self, alive, start, reason):
        # the model fit on the retained rows, for the reason given
        keep = np.flatnonzero(alive)
        X_r, y_r, props = self.ledger_.take(keep)
        new = self._same_seed_fit(X_r, self._stored_targets(y_r), **props)
        # the parameters stay the caller's (the refit's random_state is the
        # seed drawn from them)
        attrs = {
            k: v
            for k, v in vars(new).items()
            if k.endswith("_") and k not in ("unlearn_history_", "_fit_params_")
        }
        attrs["_pending"] = None  # the refit's trees are whole (see _journaled)
        attrs["_row_keys"] = new._row_keys
        if self._is_classifier:
            attrs["_class_rows"] = new._class_rows
        return UnlearnUpdate(
            attributes=attrs,
            strategy="refit",
            exact=True,
            details={
                "reason": reason,
                "refit_seconds": time.perf_counter() - start,
            },
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


# Subtrees of at least this many rows grow in pieces on several threads
# (8192: the same median deletion as 4096 and 5% lower mean in interleaved
# runs; 2048: 3-7% higher)
_SPLIT_MIN_ROWS = 8192
# A read grows the subtrees waiting on the calling thread alone unless they
# hold at least this many rows: what a request or two clear grows sooner
# there than handed to other threads (measured: a 1-row deletion then a read,
# 80,000 rows, 100 trees, n_jobs=2: the read 1.3-1.6 ms, 1.6-1.8 ms with the
# threads; the machine was noisy)
_GROW_ALONE_ROWS = 8192
# Trees per kernel call in phase A.
_CHUNK = 16
# Measured at 100k rows, 100 trees, n_jobs=2 against one thread (1-row
# requests, medians): with max_samples=0.2 (18 trees hold a row) a deletion
# took 0.68 ms on two threads and 0.50 on one, an insertion 1.57 and 1.41;
# with 0.45 (36 trees) 0.94 and 0.91, 1.99 and 2.22; at the defaults (63
# trees) two threads are faster (1.35 against 1.55 ms).
_THREADED_MIN_WORK = 2 * _CHUNK
# A batch forgetting at least this share of the rows is done by a refit
# (measured, 100 trees with n_jobs=2: a batch of 2% took 0.76x the refit's
# time on digits, 1.37x on 20,000 rows of make_classification; of 5%, about
# 1.7-2.1x; 100 rows of 80,000 take 1/60 of it)
_REFIT_FRACTION = 0.02
# Erased row slots go at every request below 2**16 / (trees + 8) slots, at
# least 256 (see _BaseUnlearningForest._compact_min_rows).
_COMPACT_IDS = 2**16
_COMPACT_LEDGER_SHARE = 8
_COMPACT_MIN_ROWS = 256
_NO_IDS = np.empty(0, dtype=np.int64)
_NO_FRONT = np.empty((0, 6), dtype=np.int64)
_NO_KEYS = np.empty(0, dtype=np.uint64)
# Children of a split subtree's root with fewer rows grow with the root.
_PIECE_MIN_ROWS = 256
_ARANGE = np.arange(257, dtype=np.int64)  # row pointers, ids of a chunk

# The deletion kernels' machine code, loaded once per process and task.
_KERNELS_LOADED: set[bool] = set()
_KERNELS_LOCK = threading.Lock()


def _load_deletion_kernels(is_classifier: bool) -> None:
    """Load the kernels a deletion runs, at the first fit of the process.

    numba loads a kernel's machine code (from its on-disk cache, or compiles
    it) at the kernel's first call: about 40 ms for each of the six kernels
    a deletion runs, so the first request after the process's first fit took
    100-300 ms where the next ones take a few. They are loaded here instead,
    by a few single-row deletions from a small forest whose kernels take the
    same argument types as every forest's (the trees' arrays go in as tuples
    of a fixed length): the first request then costs what the next ones do.
    """
    if is_classifier in _KERNELS_LOADED:
        return
    with _KERNELS_LOCK:
        if is_classifier in _KERNELS_LOADED:
            return
        _KERNELS_LOADED.add(is_classifier)  # first: the fit below comes back here
        from ..ensemble import UnlearningForestClassifier, UnlearningForestRegressor

        rng = np.random.RandomState(0)
        X = rng.rand(256, 4)
        if is_classifier:
            y: np.ndarray = (X[:, 0] + 0.3 * rng.rand(256) > 0.6).astype(np.int64)
            cls: Any = UnlearningForestClassifier
        else:
            y = X[:, 0] + 0.3 * rng.rand(256)
            cls = UnlearningForestRegressor
        try:
            forest = cls(n_estimators=4, max_depth=6, random_state=0, n_jobs=1)
            forest.fit(X[:250], y[:250])
            for i in range(4):
                forest.unlearn(X[i : i + 1], y[i : i + 1])
                forest.partial_fit(X[250 + i : 251 + i], y[250 + i : 251 + i])
            forest.predict(X[:1])
            _load_undo_kernels(forest)
        except Exception:  # pragma: no cover - an optimisation only: the
            pass  # kernels then load at the first request, as they used to


def _load_undo_kernels(forest):
    # the undo kernels, called with empty records (nothing to undo): a
    # request that compacts a tree undoes its phase A on the original
    tree = forest.trees_[0]
    data, P = forest._data(), forest._params()
    no_rows = np.empty(0, dtype=np.int64)
    rec = DeletionRecords.allocate(
        [1], int(P.mtry * 2 * P.n_thresholds), tree.NF.shape[1], tree.NT.shape[1],
        forest._slot_width(),
    )  # fmt: skip
    PathsUndo(
        [tree], rec, np.zeros(2, dtype=np.int64), no_rows, data, P, np.zeros(1, bool)
    ).undo()
    ins = InsertRecords.allocate(
        [0], int(tree.meta[3]) + 1, tree.NF.shape[1], tree.NT.shape[1],
        forest._slot_width(),
    )  # fmt: skip
    InsertsUndo(
        [tree], ins, np.zeros(2, dtype=np.int64), no_rows, [tree.order],
        [tree.order_buf], [tree.order], np.array([tree.n_nodes]), np.zeros(1, bool),
    ).undo()  # fmt: skip
    K.unspread(tree.order, tree.order.shape[0], no_rows)


def _room(sizes, levels, P):
    """Ids a subtree may need: nodes below its root, and slots (see ``K.room``)."""
    sizes = np.ascontiguousarray(sizes, dtype=np.int64)
    return K.room(sizes, np.ascontiguousarray(levels, dtype=np.int64), P)


class _Request(NamedTuple):
    """What every tree of a change works from (deletion, insertion, growth)."""

    rows: np.ndarray  # the forgotten or added rows, ascending
    alive: np.ndarray  # the ledger's alive mask after the change
    dead: int  # a row id not alive (marks cleared entries of order)
    data: tuple  # X, yc, yr, row keys, weights (see _data)
    P: Any  # K.Params
    tkeys: np.ndarray | None  # the trees' keys
    journal: TreeJournal  # the change's undo records, tree by tree
    slot_width: int  # columns of a slot (see K.offsets)


def _dead_id(alive):
    # a row id not alive, to mark cleared entries of order (0 when every row
    # is: then no range holds a dead entry to mark)
    gone = np.flatnonzero(~alive)
    return int(gone[0]) if gone.size else 0


class _Job:
    """A subtree to grow at ``node`` of ``tree``.

    It grows in the node ids ``[lo, hi)`` reserved for it in the tree, and
    writes its slots to a buffer of its own (``sd``, room for ``n_slots``),
    so that subtrees of one tree can grow on several threads at once.
    :meth:`release` (one thread) then appends the slots to the tree's,
    renumbers them, and turns the unused reserved ids into garbage.
    """

    __slots__ = (
        "tree",
        "node",
        "par",
        "side",
        "s",
        "m",
        "depth",
        "key",
        "lo",
        "hi",
        "sd",
        "shi",
        "end",
        "send",
        "skip",
        "free",
        "journal",
        "shared",
    )

    def __init__(
        self,
        tree,
        node,
        par,
        side,
        s,
        m,
        depth,
        key,
        lo,
        hi,
        n_slots,
        journal,
        shared=None,
    ):
        self.tree, self.node, self.par, self.side = tree, node, par, side
        self.s, self.m, self.depth, self.key = s, m, depth, key
        self.lo, self.hi = lo, hi
        self.sd = np.empty((n_slots, tree.SD.shape[1]))
        self.shi = n_slots
        self.end, self.send = lo, 0
        self.skip = None  # roots of the pieces (they renumber their own slots)
        self.free = None  # start of the unused ids (default: end)
        self.journal = journal
        # a piece of a subtree: the arrays it grows from (see _grow_top)
        self.shared = shared

    def grown(self, n_nodes, n_slots):
        if n_nodes > self.hi or n_slots > self.shi:  # pragma: no cover - bounds
            raise RuntimeError("a rebuilt subtree outgrew its reserved ids")
        self.end, self.send = n_nodes, n_slots

    def release(self):
        tree = self.tree
        base = int(tree.meta[1])
        if self.send and base + self.send > tree.SD.shape[0]:
            if self.journal is not None:
                self.journal.append(ArraysUndo.of(tree))
            tree.reserve_slots(base + self.send)
        free = self.end if self.free is None else self.free
        skip = _NO_IDS if self.skip is None else self.skip
        # slots appended and renumbered; reserved ids left unused become
        # garbage nodes, unreachable
        holes, height = K.release(
            tree.NI, tree.SD, self.sd, self.send, base, self.node, self.lo,
            self.end, skip, free, self.hi,
        )  # fmt: skip
        tree.meta[1] = base + self.send
        tree.meta[2] += holes
        tree.meta[3] = max(tree.meta[3], height)
        self.sd = None


def _build_args(tree, sd, n_nodes, n_slots, node, par, side, s, m, depth, key):
    """The arguments of ``K.build`` before the data (``*data, tkey, P``)."""
    arrays = (tree.NI, tree.NF, tree.NK, tree.NT, sd)
    return arrays + (n_nodes, n_slots, node, par, side, tree.order, s, m, depth, key)


def _job_head(job):
    # _build_args of a job: its subtree, in its own ids and slot buffer
    return _build_args(
        job.tree, job.sd, job.lo, 0, job.node, job.par, job.side, job.s,
        job.m, job.depth, job.key,
    )  # fmt: skip


def _job_args(job, data, P):
    return _job_head(job) + tuple(data) + (job.tree.tkey, P)


def _grow_job(job, data, P):
    if job.shared is None:
        job.grown(*K.build(*_job_args(job, data, P)))
    else:
        job.grown(*_grow_from(_job_head(job), job.s, data, P, job.shared)[:2])


def _grow_from(head, s, data, P, shared, fmax=0, fmin=0, fr=_NO_FRONT, frk=_NO_KEYS):
    # K.grow_from of the subtree at row ``s`` (``head``: _build_args) from its
    # subtree's arrays (``shared``: those of K.prepare and the start of their
    # rows in the tree's order)
    NI, NF, NK, NT, sd, n_nodes, n_slots, node, par, side, order, _, m, d, key = head
    return K.grow_from(
        K.TreeArrays(NI, NF, NK, NT, sd, order),
        K.RowData(*data[:3]),
        K.GrowAt(n_nodes, n_slots, node, par, side, s, m, d, key),
        K.Prepared(*shared),
        K.Frontier(fmax, fmin, fr, frk),
        P,
    )


def _grow_top(job, data, P):
    """Grow the root of a large subtree; return the pieces left to grow.

    The pieces are the root's children of at least ``_PIECE_MIN_ROWS`` rows
    (smaller ones grow here). They grow from the arrays the subtree's first
    job prepared (weights, packed counts, the copy of its features), each
    in its own range of them, so that splitting a subtree costs nothing
    but the jobs.
    """
    tree = job.tree
    if job.shared is None:
        X, yc, yr, rk, sw = data
        prepared = K.prepare(tree.order, job.s, job.m, X, yc, rk, sw, tree.tkey, P)
        job.shared = prepared + (job.s,)
    # frontier nodes are the root's children: two at most
    fr = np.empty((2, 6), dtype=np.int64)
    frk = np.empty(2, dtype=np.uint64)
    n_nodes, n_slots, n_front = _grow_from(
        _job_head(job), job.s, data, P, job.shared, job.m - 1, _PIECE_MIN_ROWS, fr, frk
    )
    fr, frk = fr[:n_front], frk[:n_front]
    node_room, slot_room = _room(
        fr[:, 2], np.minimum(P.max_depth - fr[:, 3] + 1, 62), P
    )
    if n_nodes + int(node_room.sum()) <= job.hi:
        # the pieces' ranges lie within the job's (see _room)
        job.grown(n_nodes, n_slots)
        job.skip = np.sort(fr[:, 0])
        pieces = []
        for q in range(n_front):
            node, s, m, depth, par, side = (int(v) for v in fr[q])
            piece = _Job(
                tree,
                node,
                par,
                side,
                s,
                m,
                depth,
                frk[q],
                n_nodes,
                n_nodes + int(node_room[q]),
                int(slot_room[q]),
                job.journal,
                job.shared,
            )
            pieces.append(piece)
            n_nodes = piece.hi
        # ids after the pieces' ranges are the job's to release
        job.free = n_nodes
        return pieces
    # otherwise (not expected) the pieces grow here, one after another, in
    # the job's ranges: together they need no more than one call would
    for q in range(n_front):
        node, s, m, depth, par, side = (int(v) for v in fr[q])
        head = _build_args(
            tree, job.sd, n_nodes, n_slots, node, par, side, s, m, depth, frk[q]
        )
        n_nodes, n_slots, _ = _grow_from(head, s, data, P, job.shared)
    job.grown(n_nodes, n_slots)
    return []


class _JobQueue:
    """Work shared by threads, largest subtrees first.

    Subtrees of at least ``_SPLIT_MIN_ROWS`` rows come before the items put
    ``first`` (phase A's chunks), the other subtrees after them: the roots
    of large subtrees, which must grow before their pieces can, grow while
    the other threads still have phase A to do. ``run(item)`` does an item
    and returns the jobs it leaves (subtrees to grow, pieces).
    :meth:`work` takes jobs until the queue is closed and every job is done,
    or until a job fails; the first failure is kept for :meth:`check`.
    """

    def __init__(self, run):
        self.run = run
        self.cv = threading.Condition()
        self.heap = []
        self.count = 0  # ties broken by arrival
        self.pending = 0  # queued or running
        self.closed = False
        self.error = None

    def put(self, jobs, first=False):
        if not jobs:
            return
        with self.cv:
            for job in jobs:
                if first:
                    key = (1, 0)
                else:
                    key = (0 if job.m >= _SPLIT_MIN_ROWS else 2, -job.m)
                heapq.heappush(self.heap, (key, self.count, job))
                self.count += 1
            self.pending += len(jobs)
            self.cv.notify_all()

    def close(self):
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def fail(self, exc):
        with self.cv:
            if self.error is None:
                self.error = exc
            self.cv.notify_all()

    def work(self):
        while True:
            with self.cv:
                while (
                    self.error is None
                    and not self.heap
                    and not (self.closed and self.pending == 0)
                ):
                    self.cv.wait()
                if self.error is not None or not self.heap:
                    return
                job = heapq.heappop(self.heap)[2]
            try:
                more = self.run(job)
            except BaseException as exc:
                self.fail(exc)
                return
            self.put(more)
            with self.cv:
                self.pending -= 1
                self.cv.notify_all()

    def check(self):
        if self.error is not None:
            raise self.error


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(n_threads):
    # kept between calls: starting threads costs more than a small deletion
    with _POOLS_LOCK:
        pool = _POOLS.get(n_threads)
        if pool is None:
            pool = _POOLS[n_threads] = ThreadPoolExecutor(n_threads)
        return pool


@K.njit(cache=True, nogil=True)
def _mults(tkeys, rk, rows, boot):
    out = np.empty((tkeys.shape[0], rows.shape[0]), dtype=np.int64)
    for t in range(tkeys.shape[0]):
        for q in range(rows.shape[0]):
            out[t, q] = K.row_mult(tkeys[t], rk[rows[q]], boot)
    return out


@K.njit(cache=True, nogil=True)
def _row_keys(fp):
    out = np.empty(fp.shape[0], dtype=np.uint64)
    for i in range(fp.shape[0]):
        out[i] = K.h2(K.mix(fp[i, 0]), fp[i, 1])
    return out
