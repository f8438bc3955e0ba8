"""Histogram gradient boosting built for deletion: exact ``unlearn``."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import math
import numbers
import time
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._ledger import row_fingerprints
from ..base import UnlearningMixin, UnlearnUpdate
from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)
from . import _boosting_kernels as K

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "UnlearningGradientBoostingClassifier",
    "UnlearningGradientBoostingRegressor",
]

# Leaf values are Newton steps rounded (up or down at random, without bias)
# to multiples of this quantum: of one unit of log-odds for the log-losses,
# of the power of two below the targets' standard deviation for squared
# error. A forgotten row then usually leaves every leaf value where it was,
# so that the trees after it need not be grown again (see _unlearn). The
# rounding is noise well below a leaf's own statistical error: accuracy is
# that of scikit-learn's HistGradientBoosting* (benchmarks/bench_boosting.py).
_QUANTUM = 1.0 / 8.0
# The initial raw prediction is rounded to multiples of 2**-6 log-odds (of
# 2**-10 times the power of two above max |y| for squared error): a deletion
# rarely moves it.
_BASE_BITS_LOGODDS = 6
_BASE_BITS_SQUARED = 10
# Gradients and hessians are fixed point with 30 fractional bits (relative to
# the largest weight and, for squared error, target): sums of up to 2**32
# rows fit in int64.
_FIXED_BITS = 30
# The root of a tree of at least 2**15 rows keeps its histogram: a deletion
# takes the forgotten rows out of it, and finds its other nodes' histograms
# as the parent's minus the smaller child's (built from rows). Keeping more
# (the large nodes below the root) halves the cost of a request that changes
# no tree but slows down the others, which copy them, and costs memory
# (24 bytes per feature and bin each).
_CACHE_DEPTH = 1
_CACHE_MIN_ROWS = 2**15
# Binning: features with at most max_bins distinct values are cut between
# them (as scikit-learn does); others at the values of "pivot" rows: the
# max_bins - 1 rows with the smallest hash of (seed, row content). A deletion
# changes the bins only when it removes a pivot row (or a feature's last row
# of a value): max_bins / n of the time. The 2 * max_bins smallest hashes are
# kept to tell.
_PIVOT_FACTOR = 2
_LOOKAHEAD = 4096  # rows whose distinct values may prove a feature continuous
_MIN_HESSIAN = 1e-3  # scikit-learn's min_hessian_to_split


def _row_keys(X, seed):
    """One 64-bit hash per row of its content (unkeyed fingerprint) and the seed."""
    fp = row_fingerprints(X)
    a = fp[:, 0] ^ np.uint64(seed)
    b = fp[:, 1] * np.uint64(0x9E3779B97F4A7C15)
    h = a ^ b
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _pow2_at_least(x):
    """The smallest power of two >= ``x`` (1.0 for x <= 0)."""
    if not x > 0:
        return 1.0
    m, e = math.frexp(x)
    return math.ldexp(1.0, e - 1 if m == 0.5 else e)


def _pow2_at_most(x, default):
    if not x > 0:
        return default
    m, e = math.frexp(x)
    return math.ldexp(1.0, e - 1)


class _Binning:
    """The bin edges of the retained rows and what a deletion needs to check them.

    ``rule[j]``: 0 when feature j is cut between its distinct values (at most
    ``max_bins``), 1 when it is cut at the pivot rows' values and the
    look-ahead rows prove it has more, 2 when only a full count does.
    """

    def __init__(self, X, keys, pos, max_bins):
        self.max_bins = max_bins
        kp = keys[pos]
        uniq, first = np.unique(kp, return_index=True)
        self.pivot_keys = uniq[: _PIVOT_FACTOR * max_bins]
        piv = pos[first[: max_bins - 1]]
        look = pos[:_LOOKAHEAD]
        p = X.shape[1]
        self.rule = np.zeros(p, dtype=np.int64)
        self.edges = []
        for j in range(p):
            if np.unique(X[look, j]).size > max_bins:
                self.rule[j] = 1
            else:
                values = np.unique(X[pos, j])
                if values.size <= max_bins:
                    self.edges.append((values[:-1] + values[1:]) / 2)
                    continue
                self.rule[j] = 2
            self.edges.append(np.unique(X[piv, j]))


def _bin(X, edges):
    xb = np.empty((X.shape[1], X.shape[0]), dtype=np.uint8)
    for j, e in enumerate(edges):
        xb[j] = np.searchsorted(e, X[:, j], side="left")
    return xb


class _BaseUnlearningGradientBoosting(UnlearningMixin, BaseEstimator):
    """Common code of the gradient boosting estimators built for deletion."""

    _parameter_constraints = {
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_leaf_nodes": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "max_depth": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "min_samples_leaf": [Interval(numbers.Integral, 1, None, closed="left")],
        "l2_regularization": [Interval(numbers.Real, 0, None, closed="left")],
        "max_bins": [Interval(numbers.Integral, 2, 255, closed="both")],
        "random_state": ["random_state"],
    }
    _is_classifier = True
    # the fitted state, all set by fit (a refit's is copied whole)
    _FITTED = (
        "seed_",
        "n_iter_",
        "n_trees_per_iteration_",
        "_baseline",
        "_scales",
        "_binning",
        "_n_bins",
        "_edges",
        "_bin_counts",
        "_xb",
        "_row_keys",
        "_nodes",
        "_nodef",
        "_nodek",
        "_tree_ptr",
        "_hists",
        "_hist_ptr",
        "_leaves",
    )

    def __init__(
        self,
        loss: str,
        *,
        learning_rate: float = 0.1,
        max_iter: int = 100,
        max_leaf_nodes: int | None = 31,
        max_depth: int | None = None,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        max_bins: int = 255,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.loss = loss
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_bins = max_bins
        self.random_state = random_state

    # ------------------------------------------------------------- settings
    def _kind(self):
        if not self._is_classifier:
            return K.SQUARED
        return K.LOGLOSS if self.n_trees_per_iteration_ == 1 else K.SOFTMAX

    def _max_leaves(self, n):
        cap = n // self.min_samples_leaf + 1
        return cap if self.max_leaf_nodes is None else min(self.max_leaf_nodes, cap)

    def _leaf_dtype(self):
        # from the parameters alone, as a refit on fewer rows chooses it
        L = self.max_leaf_nodes
        if L is not None and 2 * L - 1 <= 255:
            return np.uint8
        if L is not None and 2 * L - 1 <= 65535:
            return np.uint16
        return np.int64

    def _float_params(self, n):
        gs, hs, quantum = self._scales[:3]
        md = 1 << 30 if self.max_depth is None else self.max_depth
        return np.array(
            [
                1.0 / gs,
                1.0 / hs,
                float(self.l2_regularization),
                _MIN_HESSIAN,
                quantum,
                self.min_samples_leaf,
                md,
                self._max_leaves(n),
                _CACHE_DEPTH,
                _CACHE_MIN_ROWS,
            ]
        )

    # ------------------------------------------------------- global values
    def _global_values(self, y, w):
        """Scales and initial raw prediction of the rows ``y, w`` (positive weight).

        Returns ``(scales, baseline)``: ``scales = (gradient scale, hessian
        scale, quantum, gradient clip)``. A deletion that changes any of them
        is forgotten by a refit.
        """
        wscale = _pow2_at_least(float(w.max()))
        gs = hs = math.ldexp(1.0, _FIXED_BITS) / wscale
        glim = np.int64(1) << 40
        if not self._is_classifier:
            yscale = _pow2_at_least(float(np.abs(y).max()))
            gs = gs / (2.0 * yscale)
            mean = float(np.average(y, weights=w))
            grid = math.ldexp(yscale, -_BASE_BITS_SQUARED)
            base = np.array([np.rint(mean / grid) * grid])
            var = float(np.average((y - mean) ** 2, weights=w))
            quantum = _QUANTUM * _pow2_at_most(math.sqrt(var), yscale)
            return (gs, hs, quantum, glim), base
        codes = y.astype(np.int64)
        prior = np.bincount(codes, weights=w, minlength=self.n_trees_per_iteration_)
        prior = np.clip(prior / prior.sum(), 1e-15, 1 - 1e-15)
        if self.n_trees_per_iteration_ == 1:  # binary: codes 0 and 1
            p1 = float(np.bincount(codes, weights=w, minlength=2)[1] / w.sum())
            p1 = min(max(p1, 1e-15), 1 - 1e-15)
            base = np.array([math.log(p1 / (1 - p1))])
        else:
            base = np.log(prior)
            base -= base.mean()
        grid = math.ldexp(1.0, -_BASE_BITS_LOGODDS)
        return (gs, hs, _QUANTUM, glim), np.rint(base / grid) * grid

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fit the gradient boosting model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (finite numbers).

        y : array-like of shape (n_samples,)
            Targets: class labels for a classifier, real numbers for a
            regressor.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = validate_data(
            self,
            X,
            y,
            dtype=np.float64,
            ensure_all_finite=True,
            order="C",
            y_numeric=not self._is_classifier,
        )
        X = np.ascontiguousarray(X + 0.0)  # -0.0 -> 0.0: equal values, equal bits
        if self._is_classifier:
            check_classification_targets(y)
            self.classes_, codes = np.unique(y, return_inverse=True)
            y_store = codes.astype(np.int64)
        else:
            y_store = np.ascontiguousarray(y, dtype=np.float64)
        if isinstance(self.random_state, numbers.Integral):
            seed = int(self.random_state) % (1 << 63)
        else:
            seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
            if not sw.any():
                raise ValueError("The sample weights are all zero: nothing to fit.")
        self._fit_arrays(X, y_store, sw, seed)
        # the ledger keeps the labels (as every family's does): codes would
        # go stale when a request removes a class and the refit renumbers
        self._init_ledger(X, y, {"sample_weight": sw}, keep_X=True, compact="always")
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
        new ones (and their ledger is that fit's), so that streams of
        insertions and deletions stay exact. It costs a fit on all the rows:
        every boosting iteration depends on every row (a deletion replays the
        iterations instead, see :meth:`unlearn`). On an unfitted model it is
        :meth:`fit`. The history of requests is kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New training rows (finite numbers), with the fitted columns.

        y : array-like of shape (n_samples,)
            Their targets (a new class label adds a class).

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
        return self._learn_rows_by_refit(X, y, sample_weight, classes)

    def _fitted_names(self):
        return self._FITTED + (("classes_",) if self._is_classifier else ())

    def _fit_arrays(self, X, y, sw, seed):
        n = X.shape[0]
        w = np.ones(n) if sw is None else sw
        pos = np.flatnonzero(w > 0)
        self.seed_ = seed
        if self._is_classifier:
            n_classes = self.classes_.size
            self.n_trees_per_iteration_ = 1 if n_classes <= 2 else n_classes
        else:
            self.n_trees_per_iteration_ = 1
        self._scales, self._baseline = self._global_values(y[pos], w[pos])
        self._row_keys = _row_keys(X, seed)
        binning = _Binning(X, self._row_keys, pos, self.max_bins)
        self._binning = (binning.rule, binning.pivot_keys)
        self._set_bins(binning.edges, X)
        self._bin_counts = self._count_bins(self._xb, pos)
        trees, leaves = self._boost(y, w)
        self._pack(trees)
        self._leaves = leaves
        self.n_iter_ = self.max_iter

    def _set_bins(self, edges, X):
        p = len(edges)
        self._n_bins = np.array([e.size + 1 for e in edges], dtype=np.int64)
        B = int(self._n_bins.max())
        self._edges = np.zeros((p, max(B - 1, 1)))
        for j, e in enumerate(edges):
            self._edges[j, : e.size] = e
        self._xb = _bin(X, edges)

    def _count_bins(self, xb, rows):
        B = int(self._n_bins.max())
        counts = np.zeros((xb.shape[0], B), dtype=np.int64)
        for j in range(xb.shape[0]):
            counts[j] = np.bincount(xb[j, rows], minlength=B)
        return counts

    def _y_float(self, y):
        return np.ascontiguousarray(y, dtype=np.float64)

    def _new_tree_arrays(self, n):
        cap = 2 * self._max_leaves(n) + 1
        p, B = self._xb.shape[0], int(self._n_bins.max())
        return (
            np.empty((cap, K.N_INT), dtype=np.int64),
            np.empty((cap, K.N_FLT)),
            np.empty(cap, dtype=np.uint64),
            np.empty((4 * _CACHE_DEPTH, p, B, 3), dtype=np.int64),
        )

    def _tree_key(self, t):
        return np.uint64(K.h2(np.uint64(self.seed_), np.uint64(t)))

    def _grow(self, t, rows, gq, hq, fp, leaf_of):
        """Grow tree ``t`` on ``rows`` (ascending); returns its arrays."""
        NI, NF, NK, cache = self._new_tree_arrays(rows.size)
        order = rows.copy()
        nn = K.grow_tree(
            self._xb, self._n_bins, self._edges, order, gq, hq, fp,
            float(self.learning_rate), self._tree_key(t), NI, NF, NK, cache, leaf_of,
        )  # fmt: skip
        ns = int((NI[:nn, K.SLOT] >= 0).sum())
        return NI[:nn].copy(), NF[:nn].copy(), NK[:nn].copy(), cache[:ns].copy()

    def _boost(self, y, w, start=0, raw=None, rows=None, trees=None, leaves=None):
        """Boosting iterations ``start ..`` on ``rows``; returns (trees, leaves).

        ``raw`` holds the raw predictions of iteration ``start`` (by row id);
        ``trees`` and ``leaves`` those of the earlier iterations.
        """
        n = self._xb.shape[1]
        Kc = self.n_trees_per_iteration_
        rows = np.arange(n, dtype=np.int64) if rows is None else rows
        if raw is None:
            raw = np.empty((n, Kc))
            raw[:] = self._baseline
        trees = [] if trees is None else trees
        T = self.max_iter * Kc
        if leaves is None:
            leaves = np.empty((T, rows.size), dtype=self._leaf_dtype())
        fp = self._float_params(rows.size)
        gs, hs, _, glim = self._scales
        kind, yf = self._kind(), self._y_float(y)
        gq = np.empty((Kc, n), dtype=np.int64)
        hq = np.empty((Kc, n), dtype=np.int64)
        leaf_of = np.empty(n, dtype=np.int64)
        for it in range(start, self.max_iter):
            for k in range(Kc):
                K.gradients(kind, raw, yf, w, rows, k, gs, hs, glim, gq[k], hq[k])
            for k in range(Kc):
                t = it * Kc + k
                tree = self._grow(t, rows, gq[k], hq[k], fp, leaf_of)
                trees.append(tree)
                leaves[t] = leaf_of[rows]
                K.add_leaf_values(tree[1], leaf_of, rows, raw, k)
        return trees, leaves

    def _pack(self, trees):
        """Store the trees as flat arrays (nodes, histograms, offsets)."""
        self._tree_ptr = np.cumsum([0] + [t[0].shape[0] for t in trees])
        self._hist_ptr = np.cumsum([0] + [t[3].shape[0] for t in trees])
        self._nodes = np.concatenate([t[0] for t in trees])
        self._nodef = np.concatenate([t[1] for t in trees])
        self._nodek = np.concatenate([t[2] for t in trees])
        self._hists = np.concatenate([t[3] for t in trees])

    def _tree(self, t):
        a, b = self._tree_ptr[t], self._tree_ptr[t + 1]
        c, d = self._hist_ptr[t], self._hist_ptr[t + 1]
        return self._nodes[a:b], self._nodef[a:b], self._nodek[a:b], self._hists[c:d]

    # -------------------------------------------------------------- predict
    def _raw_predict(self, X):
        check_is_fitted(self, "_nodes")
        X = validate_data(
            self, X, reset=False, dtype=np.float64, ensure_all_finite=True, order="C"
        )
        X = np.ascontiguousarray(X + 0.0)
        Kc = self.n_trees_per_iteration_
        out = np.empty((X.shape[0], Kc))
        out[:] = self._baseline
        for t in range(self.n_iter_ * Kc):
            NI, NF, _, _ = self._tree(t)
            K.add_tree_values(NI, NF, X, out, t % Kc)
        return out

    @property
    def bin_thresholds_(self) -> list[NDArray[np.float64]]:
        """The bin edges of each feature: ``x <= edge`` goes left.

        Returns
        -------
        bin_thresholds_ : list of ndarray
            One increasing array per feature.
        """
        check_is_fitted(self, "_edges")
        return [self._edges[j, : b - 1].copy() for j, b in enumerate(self._n_bins)]

    def tree_structure(self, index: int) -> dict[str, NDArray[Any]]:
        """Return the arrays of one tree, nodes in creation order.

        Two models are the same tree for tree when these arrays are equal.

        Parameters
        ----------
        index : int
            Tree ``iteration * n_trees_per_iteration_ + class``.

        Returns
        -------
        structure : dict of str to ndarray
            ``feature`` and ``threshold`` (``x <= threshold`` goes left; -2
            for leaves), ``children_left``, ``children_right``,
            ``n_node_samples`` and ``value`` (what a leaf adds to the raw
            prediction).
        """
        check_is_fitted(self, "_nodes")
        NI, NF, _, _ = self._tree(index)
        leaf = NI[:, K.LEFT] < 0
        return {
            "feature": np.where(leaf, -2, NI[:, K.FEAT]),
            "threshold": np.where(leaf, -2.0, NF[:, K.THR]),
            "children_left": NI[:, K.LEFT].copy(),
            "children_right": NI[:, K.RIGHT].copy(),
            "n_node_samples": NI[:, K.COUNT].copy(),
            "value": NF[:, K.VALUE].copy(),
        }

    # -------------------------------------------------------------- unlearn
    def _validate_forget_data(self, X, y):
        if self._is_valid_float_forget_set(X):
            return X, self._validate_forget_target(y, X.shape[0])
        return super()._validate_forget_data(X, y)

    def _unlearn(self, match, X_f, y_f, **params):
        if params:
            raise TypeError(
                f"{type(self).__name__}.unlearn takes no extra parameters, got "
                f"{sorted(params)}."
            )
        start = time.perf_counter()
        led = self.ledger_
        gone = np.sort(np.asarray(match.rows, dtype=np.int64))
        keep = led.alive.copy()
        keep[gone] = False
        alive = np.flatnonzero(keep).astype(np.int64)
        y = led.y
        if self._is_classifier:  # labels of the classes_ (retained rows)
            y = np.searchsorted(self.classes_, y).astype(np.int64)
        sw = led.sample_props.get("sample_weight")
        w = np.ones(keep.size) if sw is None else sw
        pos = alive[w[alive] > 0]
        if pos.size == 0:
            raise ValueError(
                "The retained rows all have a sample weight of zero; a model cannot "
                "be fit on them. Nothing was forgotten."
            )
        reason = self._refit_reason(y, w, pos, alive)
        binning = None if reason else self._check_bins(w, gone, pos)
        if binning is None:
            reason = reason or "the bin edges changed"
            return self._refit_update(alive, start, reason)
        update = self._replay(y, w, gone, alive, start)
        update.attributes["_binning"] = binning
        return update

    def _refit_reason(self, y, w, pos, alive):
        """Why the retained rows need a refit (a global value changed), or None."""
        if self._is_classifier:
            present = np.bincount(y[alive], minlength=self.classes_.size)
            if not (present > 0).all():
                return "a class lost its last training row"
        scales, base = self._global_values(y[pos], w[pos])
        if scales != self._scales or not np.array_equal(base, self._baseline):
            return "the initial prediction or a fixed-point scale changed"
        return None

    def _check_bins(self, w, gone, pos):
        """The binning state without ``gone``, or None when the edges change."""
        rule, pivot_keys = self._binning
        gone_pos = gone[w[gone] > 0]
        if gone_pos.size == 0:
            return self._binning
        counts = self._bin_counts.copy()
        for j in range(counts.shape[0]):
            np.subtract.at(counts[j], self._xb[j, gone_pos], 1)
        in_use = np.arange(counts.shape[1])[None, :] < self._n_bins[:, None]
        if ((counts == 0) & in_use)[rule == 0].any():
            return None  # a feature cut between its values lost one of them
        X = self.ledger_.X
        look = pos[:_LOOKAHEAD]
        for j in np.flatnonzero(rule > 0):
            if np.unique(X[look, j]).size > self.max_bins:
                new_rule = 1
            else:
                new_rule = 2 if np.unique(X[pos, j]).size > self.max_bins else 0
            if new_rule != rule[j]:
                return None
        if pivot_keys.size and (self._row_keys[gone_pos] <= pivot_keys[-1]).any():
            # a row among the smallest hashes goes: the pivots may change
            new = _Binning(
                X[pos], self._row_keys[pos], np.arange(pos.size), self.max_bins
            )
            same = np.array_equal(new.rule, rule) and all(
                np.array_equal(a, b)
                for a, b in zip(new.edges, self.bin_thresholds_, strict=True)
            )
            return (new.rule, new.pivot_keys) if same else None
        return self._binning

    def _refit_update(self, alive, start, reason):
        X_r, y_r, props = self.ledger_.take(alive)
        new = self._same_seed_fit(X_r, y_r, **props)
        attrs = {name: getattr(new, name) for name in self._fitted_names()}
        return UnlearnUpdate(
            attributes=attrs,
            strategy="refit",
            exact=True,
            details={"reason": reason, "refit_seconds": time.perf_counter() - start},
        )

    def _replay(self, y, w, gone, alive, start):
        """The model without ``gone``: trees replayed while outputs stay, then regrown.

        Iteration by iteration, each tree is replayed without the forgotten
        rows (:func:`._boosting_kernels.replay_tree`). While every split and
        leaf value stays, the retained rows' raw predictions are those of the
        fitted model and the next iteration is replayed too; from the first
        iteration whose output changed on, the trees are grown again on the
        retained rows, exactly as a refit grows them.
        """
        Kc = self.n_trees_per_iteration_
        n = self._xb.shape[1]
        fp = self._float_params(alive.size)
        gs, hs, _, glim = self._scales
        kind, yf = self._kind(), self._y_float(y)
        raw = np.empty((n, Kc))
        raw[:] = self._baseline
        gq = np.empty((Kc, n), dtype=np.int64)
        hq = np.empty((Kc, n), dtype=np.int64)
        leaf_of = np.empty(n, dtype=np.int64)
        new_id = np.empty(int(np.diff(self._tree_ptr).max()), dtype=np.int64)
        leaves = np.empty((self.max_iter * Kc, alive.size), dtype=self._leaf_dtype())
        trees = []
        stored = np.arange(n, dtype=np.int64)
        regrown = 0
        for it in range(self.max_iter):
            changed = False
            for k in range(Kc):
                t = it * Kc + k
                args = (kind, gs, hs, glim, raw, yf, w, k, alive, gone, gq[k], hq[k])
                status, tree = self._replay_tree(t, fp, args, new_id, leaves)
                if status == 2:
                    K.gradients(kind, raw, yf, w, alive, k, gs, hs, glim, gq[k], hq[k])
                    tree = self._grow(t, alive, gq[k], hq[k], fp, leaf_of)
                    leaves[t] = leaf_of[alive]
                    regrown += 1
                trees.append(tree)
                changed |= status > 0
            if changed:
                # from here on, the retained rows' predictions differ: the
                # trees are grown again on the retained rows alone
                for k in range(Kc):
                    by_id = np.zeros(n, dtype=np.int64)
                    by_id[alive] = leaves[it * Kc + k]
                    K.add_leaf_values(trees[it * Kc + k][1], by_id, alive, raw, k)
                trees, leaves = self._boost(y, w, it + 1, raw, alive, trees, leaves)
                regrown += (self.max_iter - it - 1) * Kc
                break
            for k in range(Kc):
                # unchanged outputs: every stored row moves as in the fit
                K.add_leaf_values(
                    self._tree(it * Kc + k)[1], self._leaves[it * Kc + k], stored,
                    raw, k,
                )  # fmt: skip
        attrs = self._compacted_state(alive, gone, w)
        attrs.update(self._packed(trees))
        attrs["_leaves"] = leaves
        return UnlearnUpdate(
            attributes=attrs,
            strategy="boosting_deletion",
            exact=True,
            details={
                "trees_replayed": self.max_iter * Kc - regrown,
                "trees_regrown": regrown,
                "update_seconds": time.perf_counter() - start,
            },
        )

    def _replay_tree(self, t, fp, args, new_id, leaves):
        """Tree ``t`` replayed without the gone rows (see ``K.replay_tree``).

        ``args``: the loss, its scales, the raw predictions before the tree,
        targets and weights, the class, the alive and gone rows and scratch
        gradients. Returns ``(status, tree)`` and writes the retained rows'
        leaves to ``leaves[t]``; ``tree`` is None when a split changed
        (status 2: grow the tree again).
        """
        kind, gs, hs, glim, raw, yf, w, k, alive, gone, gq, hq = args
        NI, NF, NK, cache = self._tree(t)
        NI2, NF2, NK2, cache2 = self._new_tree_arrays(alive.size)
        ids = new_id[: NI.shape[0]]
        status, nn, ns = K.replay_tree(
            self._xb, self._n_bins, fp, float(self.learning_rate), kind, gs, hs,
            glim, raw, yf, w, k, alive, gone, self._leaves[t], NI, NF, NK, cache,
            NI2, NF2, NK2, cache2, ids, gq, hq,
        )  # fmt: skip
        if status == 2:
            return status, None
        tree = (NI2[:nn].copy(), NF2[:nn].copy(), NK2[:nn].copy(), cache2[:ns].copy())
        old = self._leaves[t][alive]
        same = (ids == np.arange(ids.size)).all()
        leaves[t] = old if same else ids[old]
        return status, tree

    def _compacted_state(self, alive, gone, w):
        """Per-row state of the retained rows, and the bins' counts without ``gone``."""
        counts = self._bin_counts.copy()
        gone_pos = gone[w[gone] > 0]
        for j in range(self._xb.shape[0]):
            np.subtract.at(counts[j], self._xb[j, gone_pos], 1)
        return {
            "_xb": np.ascontiguousarray(self._xb[:, alive]),
            "_row_keys": self._row_keys[alive],
            "_bin_counts": counts,
        }

    def _packed(self, trees):
        return {
            "_tree_ptr": np.cumsum([0] + [t[0].shape[0] for t in trees]),
            "_hist_ptr": np.cumsum([0] + [t[3].shape[0] for t in trees]),
            "_nodes": np.concatenate([t[0] for t in trees]),
            "_nodef": np.concatenate([t[1] for t in trees]),
            "_nodek": np.concatenate([t[2] for t in trees]),
            "_hists": np.concatenate([t[3] for t in trees]),
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


_DOC_COMMON = """
    Trees are grown best-first on binned features as in scikit-learn's
    :class:`~sklearn.ensemble.HistGradientBoostingClassifier`, with three
    changes that make a deletion replayable exactly:

    - gradients and hessians are summed in fixed point (integers), so that a
      histogram with a row taken out is the histogram a refit sums;
    - each leaf's Newton step is rounded, up or down at random without bias
      (a hash of the seed, the tree and the node's path), to a multiple of
      1/8 (of a log-odds unit, or of the power of two below the targets'
      standard deviation), and the initial prediction to a coarse grid: a
      forgotten row rarely changes a leaf's value;
    - features with more than ``max_bins`` distinct values are cut at the
      values of ``max_bins - 1`` "pivot" rows, those with the smallest hash of
      (seed, row content), instead of at quantiles: a deletion changes the
      bins only when it removes a pivot row (about ``max_bins / n`` of the
      time) or the last row of a feature's value; features with fewer values
      are cut between them, as scikit-learn does.

    :meth:`unlearn` replays the boosting iterations without the forgotten
    rows: in each tree it takes them out of the nodes on their paths (out of
    the root's stored histogram, for trees of 32768 rows or more; the other
    nodes' histograms are their parent's minus the smaller child's, built
    from its rows), finds those nodes' best splits again and replays the
    best-first growth. While every split and
    leaf value stays, the retained rows' predictions are unchanged and the
    next iteration is replayed as well; from the first iteration whose
    output changes on, the trees are grown again on the retained rows. A
    change of a global value (the bins, the initial prediction, a class
    losing its last row) refits. In all cases the model is the one ``fit``
    on the retained rows builds with the same seed: the same trees,
    thresholds and leaf values, bit for bit (``unlearn_history_`` records
    the strategy, ``"boosting_deletion"`` or ``"refit"``, and how many trees
    were replayed and regrown).

    How much is saved depends on how soon an output changes. Each boosting
    iteration depends on every earlier one, so that once one split or leaf
    value moves, nearly every later tree differs: with 100 iterations on
    80,000 rows, about one single-row deletion in five changes no tree and
    costs a fraction of a refit; the others regrow the trees from the first
    change on, and a deletion costs about two thirds of a refit on average
    (measured 1.5x faster at the median, see
    ``benchmarks/bench_boosting.py``). Batches of ten rows or more change an
    early tree almost surely and cost about a refit.

    Early stopping, missing values, categorical features and monotonic
    constraints are not supported.
"""

_PARAMS_COMMON = """
    learning_rate : float, default=0.1
        Shrinkage of each tree's leaf values.

    max_iter : int, default=100
        Number of boosting iterations (trees per class).

    max_leaf_nodes : int or None, default=31
        Maximum number of leaves of each tree; None for no limit.

    max_depth : int or None, default=None
        Maximum depth of each tree (edges from the root to a leaf); None for
        no limit.

    min_samples_leaf : int, default=20
        Minimum number of rows in a leaf.

    l2_regularization : float, default=0.0
        L2 regularization of the leaf values.

    max_bins : int, default=255
        Maximum number of bins of a feature (at most 255).

    random_state : int, RandomState instance or None, default=None
        Seed of the pivot rows and of the rounding of leaf values. With None,
        a seed is drawn at ``fit`` (``seed_``).
"""

_ATTRS_COMMON = """
    n_iter_ : int
        Number of boosting iterations (``max_iter``).

    n_trees_per_iteration_ : int
        Trees per iteration: 1, or the number of classes above two.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when they are strings.

    bin_thresholds_ : list of ndarray
        The bin edges of each feature.

    seed_ : int
        The seed used.

    ledger_ : TrainingLedger
        Fingerprints, targets and the training rows (a refit needs them).

    unlearn_history_ : list of dict
        One record per :meth:`unlearn` call.
"""


class UnlearningGradientBoostingClassifier(
    ClassifierMixin, _BaseUnlearningGradientBoosting
):
    """Histogram gradient boosting classifier with exact deletion.
    %(common)s
    Memory: besides the ledger (the training rows), one byte per row and
    feature (bins), one byte per row and tree (its leaf), about 140 bytes per
    node and, for trees of 32768 rows or more, the root's histogram,
    ``24 * n_features * max_bins`` bytes per tree (12 MB for 100 trees on 20
    features).

    Parameters
    ----------
    loss : {"log_loss"}, default="log_loss"
        Binary or multinomial log-loss.
    %(params)s
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    %(attrs)s
    See Also
    --------
    sklearn.ensemble.HistGradientBoostingClassifier : The scikit-learn model.
    skunlearn.ensemble.UnlearningForestClassifier : A forest built for deletion.

    References
    ----------
    H. Lin, J. W. Chung, Y. Lao, W. Zhao. "Machine Unlearning in Gradient
    Boosting Decision Trees", KDD 2023.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skunlearn.ensemble import UnlearningGradientBoostingClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> gb = UnlearningGradientBoostingClassifier(max_iter=20, random_state=0)
    >>> gb = gb.fit(X, y).unlearn(X[:5], y[:5])
    >>> gold = UnlearningGradientBoostingClassifier(max_iter=20, random_state=0)
    >>> gold = gold.fit(X[5:], y[5:])
    >>> bool((gb.predict_proba(X) == gold.predict_proba(X)).all())
    True
    """

    _parameter_constraints = {
        **_BaseUnlearningGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"log_loss"})],
    }

    def __init__(
        self,
        loss: Literal["log_loss"] = "log_loss",
        *,
        learning_rate: float = 0.1,
        max_iter: int = 100,
        max_leaf_nodes: int | None = 31,
        max_depth: int | None = None,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        max_bins: int = 255,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        super().__init__(
            loss=loss,
            learning_rate=learning_rate,
            max_iter=max_iter,
            max_leaf_nodes=max_leaf_nodes,
            max_depth=max_depth,
            min_samples_leaf=min_samples_leaf,
            l2_regularization=l2_regularization,
            max_bins=max_bins,
            random_state=random_state,
        )

    def decision_function(self, X: ArrayLike) -> NDArray[np.float64]:
        """Raw predictions (log-odds of the positive class, or per class).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The initial prediction plus the trees' values.
        """
        raw = self._raw_predict(X)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The sigmoid (binary) or softmax of the raw predictions.
        """
        raw = self._raw_predict(X)
        if raw.shape[1] == 1:
            p1 = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        raw = raw - raw.max(axis=1, keepdims=True)
        e = np.exp(raw)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The class of the largest raw prediction.
        """
        raw = self._raw_predict(X)
        if raw.shape[1] == 1:
            return self.classes_[(raw[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(raw, axis=1)]


class UnlearningGradientBoostingRegressor(
    RegressorMixin, _BaseUnlearningGradientBoosting
):
    """Histogram gradient boosting regressor (squared error) with exact deletion.
    %(common)s
    Memory: besides the ledger (the training rows), one byte per row and
    feature (bins), one byte per row and tree (its leaf), about 140 bytes per
    node and, for trees of 32768 rows or more, the root's histogram,
    ``24 * n_features * max_bins`` bytes per tree (12 MB for 100 trees on 20
    features).

    Parameters
    ----------
    loss : {"squared_error"}, default="squared_error"
        Half squared error.
    %(params)s
    Attributes
    ----------
    %(attrs)s
    See Also
    --------
    sklearn.ensemble.HistGradientBoostingRegressor : The scikit-learn model.
    skunlearn.ensemble.UnlearningForestRegressor : A forest built for deletion.

    References
    ----------
    H. Lin, J. W. Chung, Y. Lao, W. Zhao. "Machine Unlearning in Gradient
    Boosting Decision Trees", KDD 2023.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skunlearn.ensemble import UnlearningGradientBoostingRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> gb = UnlearningGradientBoostingRegressor(max_iter=20, random_state=0)
    >>> gb = gb.fit(X, y).unlearn(X[:5], y[:5])
    >>> gold = UnlearningGradientBoostingRegressor(max_iter=20, random_state=0)
    >>> gold = gold.fit(X[5:], y[5:])
    >>> bool((gb.predict(X) == gold.predict(X)).all())
    True
    """

    _is_classifier = False
    _parameter_constraints = {
        **_BaseUnlearningGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"squared_error"})],
    }

    def __init__(
        self,
        loss: Literal["squared_error"] = "squared_error",
        *,
        learning_rate: float = 0.1,
        max_iter: int = 100,
        max_leaf_nodes: int | None = 31,
        max_depth: int | None = None,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        max_bins: int = 255,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        super().__init__(
            loss=loss,
            learning_rate=learning_rate,
            max_iter=max_iter,
            max_leaf_nodes=max_leaf_nodes,
            max_depth=max_depth,
            min_samples_leaf=min_samples_leaf,
            l2_regularization=l2_regularization,
            max_bins=max_bins,
            random_state=random_state,
        )

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The initial prediction plus the trees' values.
        """
        return self._raw_predict(X)[:, 0]


for _cls in (UnlearningGradientBoostingClassifier, UnlearningGradientBoostingRegressor):
    _cls.__doc__ = (_cls.__doc__ or "") % {
        "common": _DOC_COMMON,
        "params": _PARAMS_COMMON,
        "attrs": _ATTRS_COMMON,
    }
del _cls
