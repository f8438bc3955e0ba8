"""Exact unlearning for nearest-neighbour models: delete rows from the index in place.

A fitted neighbours model stands for the *multiset* of its training rows
(``_fit_X``), their encoded targets (``_y``, ``classes_``) and, for
``algorithm="kd_tree"`` or ``"ball_tree"``, a search tree over them. Which
stored position holds which row does not change what the model computes
(scikit-learn leaves the order of equidistant neighbours unspecified), so a
model whose stored rows are any permutation of the retained rows is the gold
standard ``clone(est).fit(X_retain, y_retain)``: same ``kneighbors`` distances,
same neighbour rows (as content), same predictions, probabilities, radius
queries and graphs, up to the order of exact ties.

Deleting stored row ``p`` moves the last stored row into position ``p``
("swap-remove") and zeroes the freed row: ``O(d)`` per row, no copy of the
index. The tree is edited in place: the row's slot leaves ``idx_array`` (the
tail shifts left), every node's range is renumbered, and the boxes (KD-tree)
or centroids and radii (ball tree) of the nodes that lost a row are recomputed
from the rows they keep, so no trace of a forgotten row stays in the tree (see
``_neighbors_kernels``). The tree is therefore *not* the tree a refit builds:
its split points come from the rows it was built on, its boxes are tight for
the rows it keeps. Once fewer than half of the rows the tree was built on
remain, the tree is rebuilt (amortised ``O(log n)`` per row), as it is when
``algorithm="auto"`` would now choose another method. Sparse indexes are
copied without the rows (``O(nnz)``). Targets are re-encoded when a class
loses its last row, as ``np.unique`` would encode them.

Because ``kneighbors`` indices point at stored positions, which no longer
follow the training order, the strategy's ``fit_positions_`` gives the
position in the training ``X`` of each stored row.

All edits happen at commit time (:attr:`UnlearnUpdate.commit`), after the
request has been validated and matched: a failed or interrupted request
leaves the model unchanged. The index arrays the estimator holds are owned by
the strategy (copied once at ``fit``), so the caller's training data are
never written to. Inside a composite model (``Pipeline``...) the step is refit
on its retained input instead (exact, as costly as ``fit``).
"""

# SPDX-License-Identifier: BSD-3-Clause

import copy

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import (
    BallTree,
    KDTree,
    KNeighborsClassifier,
    KNeighborsRegressor,
    KNeighborsTransformer,
    NearestNeighbors,
    RadiusNeighborsClassifier,
    RadiusNeighborsRegressor,
    RadiusNeighborsTransformer,
)
from sklearn.neighbors._base import VALID_METRICS
from sklearn.utils.validation import validate_data

from ..base import UnlearnUpdate
from . import _neighbors_kernels as _kernels
from ._base import (
    StrategyNotApplicable,
    UnlearningStrategy,
    refit_step,
    register_strategy,
)

__all__ = ["NeighborsStrategy"]

_SUPPORTED = (
    KNeighborsClassifier,
    KNeighborsRegressor,
    NearestNeighbors,
    RadiusNeighborsClassifier,
    RadiusNeighborsRegressor,
    KNeighborsTransformer,
    RadiusNeighborsTransformer,
)


def _auto_method_for(est, n_rows, n_features, sparse):
    """The ``_fit_method`` scikit-learn's ``_fit`` picks for an index of this shape."""
    if sparse:
        return "brute"
    if est.algorithm != "auto":
        return est.algorithm
    metric = est.effective_metric_
    params = est.effective_metric_params_
    if (
        est.metric == "precomputed"
        or n_features > 15
        or (est.n_neighbors is not None and est.n_neighbors >= n_rows // 2)
    ):
        return "brute"
    if metric == "minkowski" and params["p"] < 1:
        return "brute"
    if metric == "minkowski" and params.get("w") is not None:
        return "ball_tree"
    if metric in VALID_METRICS["kd_tree"]:
        return "kd_tree"
    if callable(metric) or metric in VALID_METRICS["ball_tree"]:
        return "ball_tree"
    return "brute"


_P_OF_METRIC = {
    "euclidean": 2.0,
    "l2": 2.0,
    "manhattan": 1.0,
    "cityblock": 1.0,
    "l1": 1.0,
    "chebyshev": np.inf,
    "infinity": np.inf,
}

_NODE_DTYPE = np.dtype(
    [("idx_start", "<i8"), ("idx_end", "<i8"), ("is_leaf", "<i8"), ("radius", "<f8")]
)


def _kd_p(est):
    """The ``p`` of the KD-tree's metric (its node radii are ``p``-norms)."""
    metric = est.effective_metric_
    if metric in _P_OF_METRIC:
        return _P_OF_METRIC[metric]
    return float(est.effective_metric_params_.get("p", 2.0))


def _ball_p(est):
    """``p`` of a ball tree's metric when it is a Minkowski one, else None.

    The compiled ball-tree kernels handle these; other metrics go through
    scikit-learn's ``DistanceMetric`` (slower, any metric).
    """
    metric = est.effective_metric_
    params = est.effective_metric_params_
    if metric in _P_OF_METRIC:
        return _P_OF_METRIC[metric]
    if metric in ("minkowski", "p") and params.get("w") is None:
        p = float(params.get("p", 2.0))
        return p if p >= 1 else None
    return None


_EMPTY = np.empty(0, dtype=np.intp)
_EMPTY.flags.writeable = False


def _leading_buffer(a):
    """The array whose leading rows ``a`` is a view of, or ``a`` itself."""
    base = a.base
    if (
        isinstance(base, np.ndarray)
        and base.ndim == a.ndim
        and base.dtype == a.dtype
        and base.flags.c_contiguous
        and base.shape[1:] == a.shape[1:]
        and base.shape[0] >= a.shape[0]
        and base.ctypes.data == a.ctypes.data
    ):
        return base
    return a


def _tree_views(tree):
    """Live views of a tree's arrays: data, idx, start, end, leaf, radius, bounds.

    ``get_arrays`` returns the very arrays the tree's memoryviews read, so
    writing into them edits the tree. None when the layout is not the one
    this module knows (another scikit-learn version): the caller rebuilds.
    """
    data, idx, node_data, bounds = tree.get_arrays()
    if node_data.dtype != _NODE_DTYPE or not node_data.flags.c_contiguous:
        return None
    if not all(a.flags.writeable for a in (data, idx, node_data, bounds)):
        return None
    ints = node_data.view(np.int64).reshape(-1, 4)
    floats = node_data.view(np.float64).reshape(-1, 4)
    return data, idx, ints[:, 0], ints[:, 1], ints[:, 2], floats[:, 3], bounds


def _plan_ball(tree_views, metric, nodes, del_slots):
    """New ball-tree centroids and radii of ``nodes`` (children first).

    Computed before the commit from the current arrays, leaving out the
    deleted slots (a row moved to another position keeps its coordinates).
    A leaf gets the mean of its rows and their largest distance to it, as
    ``BallTree`` computes them; an internal node the row-count-weighted mean
    of its children's centroids (the mean of its rows) and the radius
    ``max(dist(c, c_child) + r_child)``, a valid bound by the triangle
    inequality. An empty node gets the centroid 0 and the radius ``-inf``:
    every query prunes it.

    Returns
    -------
    centroids : ndarray of shape (len(nodes), n_features)
    radii : ndarray of shape (len(nodes),)
    """
    data, idx, start, end, leaf, radius, bounds = tree_views
    cent = bounds[0]
    dead = set(del_slots.tolist())
    new = {}  # node -> (count, centroid, radius)

    def state(c):
        if c in new:
            return new[c]
        return int(end[c] - start[c]), cent[c], radius[c]

    for i in nodes.tolist():
        s, e = int(start[i]), int(end[i])
        if leaf[i]:
            slots = [q for q in range(s, e) if q not in dead]
            if not slots:
                new[i] = (0, np.zeros(cent.shape[1]), -np.inf)
                continue
            pts = data[idx[slots]]
            c = pts.sum(axis=0) / len(slots)
            new[i] = (len(slots), c, metric.pairwise(c[None, :], pts).max())
            continue
        kids = [state(c) for c in (2 * i + 1, 2 * i + 2)]
        kids = [k for k in kids if k[0] > 0]
        if not kids:
            new[i] = (0, np.zeros(cent.shape[1]), -np.inf)
            continue
        w = np.array([k[0] for k in kids], dtype=np.float64)
        kc = np.array([k[1] for k in kids])
        c = (w[:, None] * kc).sum(axis=0) / w.sum()
        dist = metric.pairwise(c[None, :], kc)[0]
        r = float((dist + np.array([k[2] for k in kids])).max())
        new[i] = (int(w.sum()), c, r)
    out = [new[i] for i in nodes.tolist()]
    return np.array([o[1] for o in out]), np.array([o[2] for o in out], dtype=float)


class NeighborsStrategy(UnlearningStrategy):
    """Exact unlearning for nearest neighbours by deleting rows from the index.

    Handles :class:`~sklearn.neighbors.KNeighborsClassifier`,
    :class:`~sklearn.neighbors.KNeighborsRegressor`,
    :class:`~sklearn.neighbors.NearestNeighbors`,
    :class:`~sklearn.neighbors.RadiusNeighborsClassifier`,
    :class:`~sklearn.neighbors.RadiusNeighborsRegressor`,
    :class:`~sklearn.neighbors.KNeighborsTransformer` and
    :class:`~sklearn.neighbors.RadiusNeighborsTransformer`, with dense or
    sparse input and any algorithm (``metric="precomputed"`` goes to the
    retrain strategy: its rows are distances to every training row, so they
    change shape with each deletion). The estimator itself stores the rows,
    so the ledger keeps only fingerprints.

    After deletions the wrapped estimator holds the retained rows in another
    order than a refit (the last stored row moves into each freed position)
    and, for tree algorithms, the fit-time tree with the rows removed and its
    bounds tightened (see the module docstring). What it computes equals a
    refit's: ``kneighbors`` distances, the neighbour rows' content,
    predictions, probabilities, ``radius_neighbors`` and the graphs, with ties
    between equidistant rows broken as scikit-learn leaves them (unspecified).
    Deletion edits the estimator's arrays in place when the request commits;
    keep ``estimator_`` and not an array taken from it.

    Attributes
    ----------
    fit_positions_ : ndarray of shape (n_samples_fit_,)
        Position in the training ``X`` of each row the index stores: the row
        at index ``i`` of ``kneighbors`` output is ``X[fit_positions_[i]]``.

    See Also
    --------
    skunlearn.Unlearnable : The wrapper that picks this strategy.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from skunlearn import Unlearnable
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    >>> y = np.array([0, 0, 1, 1, 1])
    >>> model = Unlearnable(KNeighborsClassifier(n_neighbors=1)).fit(X, y)
    >>> model.unlearn(X[[1]]).strategy_.fit_positions_  # X[4] moved to index 1
    array([0, 4, 2, 3])
    >>> dist, ind = model.estimator_.kneighbors([[3.8]])
    >>> model.strategy_.fit_positions_[ind]  # the nearest row is X[4]
    array([[4]])
    """

    name = "neighbors"
    exact = True
    keeps_rows = False
    # Every finite float64 array of the right width is valid for any metric.
    plain_floats_are_valid = True
    sample_props = ()

    @classmethod
    def supports(cls, estimator):
        return isinstance(estimator, _SUPPORTED) and estimator.metric != "precomputed"

    # ------------------------------------------------------------------ fit
    def fit(self, estimator, X, y, fit_params):
        if fit_params:
            raise TypeError(
                f"{type(estimator).__name__}.fit got unexpected parameters "
                f"{sorted(fit_params)}."
            )
        if isinstance(X, KDTree | BallTree | NearestNeighbors):
            raise StrategyNotApplicable("prebuilt index as input")
        estimator.fit(X, y)
        self._own(estimator)
        if not sp.issparse(estimator._fit_X):
            # Load (or compile, once per machine) the deletion kernels now:
            # a fit is slow anyway, a deletion request should not be.
            _kernels.warm_up_once()
        return estimator

    def _own(self, est):
        """Copy the index arrays the estimator shares with the caller; set the maps.

        scikit-learn keeps a reference to a C-contiguous float64 ``X`` (and
        to a regressor's ``y``); deletion writes into these arrays, so they
        are copied once here. The tree then reads the copy.
        """
        fit_X = est._fit_X
        if not sp.issparse(fit_X):
            buf = np.array(fit_X, order="C", copy=True)
            tree = est._tree
            if tree is not None:
                state = tree.__getstate__()
                if np.shares_memory(state[0], fit_X):
                    tree.__setstate__((buf,) + tuple(state[1:]))
            est._fit_X = buf
        if getattr(est, "_y", None) is not None:
            est._y = np.array(est._y, order="C", copy=True)
        n = est.n_samples_fit_
        self._fit_positions = np.arange(n, dtype=np.intp)
        self._pos_of_slot = np.arange(n, dtype=np.intp)
        self._slot_of_pos = np.arange(n, dtype=np.intp)
        self._n_live = n
        self._n_built = n
        self._class_counts = None
        if hasattr(est, "classes_") and getattr(est, "_y", None) is not None:
            y2 = est._y.reshape(n, -1)
            classes = list(est.classes_) if est.outputs_2d_ else [est.classes_]
            self._class_counts = [
                np.bincount(y2[:, j], minlength=len(c)) for j, c in enumerate(classes)
            ]

    @property
    def fit_positions_(self):
        """Position in the training ``X`` of each stored row of the index."""
        return self._fit_positions[: self._n_live]

    def validate_forget(self, estimator, X):
        allow_nan = estimator.metric == "nan_euclidean"
        return validate_data(
            estimator,
            X,
            accept_sparse="csr",
            reset=False,
            ensure_min_samples=0,
            ensure_all_finite="allow-nan" if allow_nan else True,
        )

    # -------------------------------------------------------------- unlearn
    def unlearn(self, estimator, ledger, match, X, y, params):
        if params:
            raise TypeError(
                "The neighbors strategy takes no unlearning parameters, got "
                f"{sorted(params)}."
            )
        est = estimator
        rows = np.asarray(match.rows, dtype=np.intp)
        pos = self._pos_of_slot[rows]
        n = est.n_samples_fit_
        if n != self._n_live or (pos[0] < 0 if pos.size == 1 else (pos < 0).any()):
            raise RuntimeError(
                "The neighbors index is out of step with the training ledger; "
                "refit the model. Nothing was forgotten."
            )
        k = pos.size
        n_new = n - k
        # Swap-remove: the rows after n_new that stay fill the freed positions
        # before n_new, in increasing order.
        if k == 1:  # the common request, in scalar operations
            last = pos[0] == n_new
            movers = _EMPTY if last else np.array([n_new], dtype=np.intp)
            holes = _EMPTY if last else pos
        else:
            tail_dead = np.zeros(n - n_new, dtype=bool)
            tail_dead[pos[pos >= n_new] - n_new] = True
            movers = n_new + np.flatnonzero(~tail_dead)
            holes = np.sort(pos[pos < n_new])
        classes = self._plan_classes(est, pos)
        sparse = sp.issparse(est._fit_X)
        method = _auto_method_for(est, n_new, est._fit_X.shape[1], sparse)
        details = {"index": method}
        if classes is not None:
            details["classes_removed"] = classes[2]
        views = None
        if not sparse and method == est._fit_method and method != "brute":
            views = _tree_views(est._tree)
        x_buf = None if sparse else _leading_buffer(est._fit_X)
        y_buf = None if getattr(est, "_y", None) is None else _leading_buffer(est._y)
        in_place = (
            not sparse
            and method == est._fit_method
            and (method == "brute" or views is not None)
            and (method == "brute" or 2 * n_new >= self._n_built)
            and x_buf.flags.writeable
            and (y_buf is None or y_buf.flags.writeable)
        )
        if not in_place:
            # The index is built anew (copied, the tree rebuilt) rather than
            # edited in place.
            details["rebuilt"] = True
            return self._copy_update(
                est, ledger, rows, holes, movers, n_new, method, classes, details
            )
        details["rebuilt"] = False
        _kernels.warm_up_once()
        plan = {"holes": holes, "movers": movers, "n": n, "n_new": n_new}
        bufs = [x_buf]
        if views is not None:
            data = views[0]
            if (
                data is not x_buf
                and data.dtype == x_buf.dtype
                and (data.shape[1] == x_buf.shape[1])
            ):
                bufs = [data]  # the tree reads the index rows themselves
            elif data is not x_buf:
                bufs.append(data)  # the tree converted them (e.g. float32 X)
            plan.update(self._plan_tree(est, views, pos, movers))
        plan["bufs"] = bufs
        plan["y_buf"] = y_buf

        def commit():
            self._commit_in_place(est, ledger, rows, plan, views, classes)

        return UnlearnUpdate(
            attributes={},
            strategy=self.name,
            exact=True,
            details=details,
            commit=commit,
        )

    def unlearn_step(self, estimator, X, y, props, retained, params):
        # Inside a composite the step has no ledger of its own to map rows to
        # stored positions: it is refit on its retained input (exact).
        if params:
            raise TypeError(
                "The neighbors strategy takes no unlearning parameters, got "
                f"{sorted(params)}."
            )
        return refit_step(estimator, retained, self)

    # ------------------------------------------------------------- planning
    def _plan_classes(self, est, pos):
        """New class counts, kept-class masks and number of classes dropped."""
        if self._class_counts is None:
            return None
        y2 = est._y.reshape(est.n_samples_fit_, -1)
        counts, present, dropped = [], [], 0
        for j, c in enumerate(self._class_counts):
            if pos.size == 1:
                new = c.copy()
                new[y2[pos[0], j]] -= 1
            else:
                new = c - np.bincount(y2[pos, j], minlength=c.size)
            keep = new > 0
            dropped += int(c.size - keep.sum())
            counts.append(new)
            present.append(keep)
        return counts, present, dropped

    def _plan_tree(self, est, views, pos, movers):
        """Slots of the deleted and moved rows, and the nodes to refresh."""
        data, idx, start, end, leaf, radius, bounds = views
        n = est.n_samples_fit_
        wanted = np.concatenate([pos, movers]).astype(np.int64)
        if est._fit_method == "kd_tree":
            slots, _ = _kernels.kd_find_slots(
                data, idx, start, end, leaf, bounds[0], bounds[1], wanted
            )
            if (slots < 0).any():  # pragma: no cover - boxes are exact min/max
                slots = _kernels.scan_slots(idx, n, wanted, data.shape[0])
        else:
            p = _ball_p(est)
            slots = np.full(wanted.size, -1, dtype=np.int64)
            # Balls overlap: a descent costs a fraction of a scan per row, so
            # a scan (O(n), about a millisecond per million rows) wins beyond
            # a few rows.
            if p is not None and wanted.size <= 8:
                slots = _kernels.ball_find_slots(
                    data, idx, start, end, leaf, bounds[0], radius, wanted, p
                )
            if (slots < 0).any():
                slots = _kernels.scan_slots(idx, n, wanted, data.shape[0])
        del_slots = np.sort(slots[: pos.size])
        mover_slots = slots[pos.size :]
        leaves = np.unique(_kernels.leaf_of_slots(start, end, leaf, del_slots))
        nodes = set()
        for i in leaves.tolist():
            while i not in nodes:
                nodes.add(i)
                if i == 0:
                    break
                i = (i - 1) // 2
        out = {
            "del_slots": del_slots,
            "mover_slots": mover_slots,
            "nodes": np.array(sorted(nodes, reverse=True), dtype=np.int64),
        }
        if est._fit_method == "ball_tree":
            # Computed now (metric calls may fail); the commit only writes them.
            p = _ball_p(est)
            if p is not None:
                out["centroids"], out["radii"] = _kernels.ball_plan(
                    data,
                    idx,
                    start,
                    end,
                    leaf,
                    bounds[0],
                    radius,
                    out["nodes"],
                    del_slots,
                    p,
                )
            else:
                out["centroids"], out["radii"] = _plan_ball(
                    views, est._tree.__getstate__()[11], out["nodes"], del_slots
                )
        return out

    # --------------------------------------------------------------- commit
    def _commit_in_place(self, est, ledger, rows, plan, views, classes):
        """Apply a planned deletion to the estimator's arrays (must not fail)."""
        holes, movers = plan["holes"], plan["movers"]
        n, n_new = plan["n"], plan["n_new"]
        for a in plan["bufs"]:
            a[holes] = a[movers]
            a[n_new:n] = 0
        y_buf = plan["y_buf"]
        if y_buf is not None:
            y_buf[holes] = y_buf[movers]
            y_buf[n_new:n] = 0
        if views is not None:
            data, idx, start, end, leaf, radius, bounds = views
            _kernels.remove_slots(
                idx,
                start,
                end,
                n,
                plan["del_slots"],
                plan["mover_slots"],
                holes.astype(np.int64),
            )
            if est._fit_method == "kd_tree":
                _kernels.kd_refresh(
                    data,
                    idx,
                    start,
                    end,
                    leaf,
                    bounds[0],
                    bounds[1],
                    radius,
                    plan["nodes"],
                    _kd_p(est),
                )
            else:
                nodes = plan["nodes"]
                bounds[0][nodes] = plan["centroids"]
                radius[nodes] = plan["radii"]
        est._fit_X = plan["bufs"][0][:n_new]
        if views is not None:
            # The tree reads exactly the live rows: the same array object as
            # _fit_X when it shares its rows (so that a pickle stores them
            # once and holds none of the zeroed tail).
            data = views[0]
            shared = data is plan["bufs"][0]
            state = est._tree.__getstate__()
            est._tree.__setstate__(
                (est._fit_X if shared else data[:n_new],) + tuple(state[1:])
            )
        if y_buf is not None:
            est._y = y_buf[:n_new]
            if classes is not None:
                self._apply_classes(est, est._y, classes)
        est.n_samples_fit_ = n_new
        self._move_maps(rows, holes, movers, n_new)
        self._sync_ledger(ledger)

    def _move_maps(self, rows, holes, movers, n_new):
        n = self._n_live
        if rows.size == 1 and holes.size == 1:
            # One row swapped with the last (the common request), in scalars.
            hole, mover = int(holes[0]), int(movers[0])
            slot = self._slot_of_pos[mover]
            self._fit_positions[hole] = self._fit_positions[mover]
            self._fit_positions[mover] = -1
            self._slot_of_pos[hole] = slot
            self._slot_of_pos[mover] = -1
            self._pos_of_slot[rows[0]] = -1
            self._pos_of_slot[slot] = hole
            self._n_live = n_new
            return
        self._fit_positions[holes] = self._fit_positions[movers]
        self._fit_positions[n_new:n] = -1
        self._slot_of_pos[holes] = self._slot_of_pos[movers]
        self._pos_of_slot[rows] = -1
        self._pos_of_slot[self._slot_of_pos[holes]] = holes
        self._slot_of_pos[n_new:n] = -1
        self._n_live = n_new

    def _sync_ledger(self, ledger):
        """Follow the ledger when it compacted (its row ids were renumbered)."""
        if ledger.n_stored != self._pos_of_slot.size:
            kept = np.flatnonzero(self._pos_of_slot >= 0)
            self._pos_of_slot = self._pos_of_slot[kept]
            self._slot_of_pos[self._pos_of_slot] = np.arange(kept.size, dtype=np.intp)

    def _apply_classes(self, est, y, classes):
        """Set the new class counts; re-encode ``y`` in place if a class vanished."""
        counts, present, dropped = classes
        if dropped:
            y2 = y.reshape(y.shape[0], -1)
            old = list(est.classes_) if est.outputs_2d_ else [est.classes_]
            new_classes = []
            for j, keep in enumerate(present):
                if not keep.all():
                    remap = np.cumsum(keep) - 1
                    y2[:, j] = remap[y2[:, j]]
                    counts[j] = counts[j][keep]
                new_classes.append(old[j][keep])
            est.classes_ = new_classes if est.outputs_2d_ else new_classes[0]
        self._class_counts = counts
        if (
            isinstance(est, RadiusNeighborsClassifier)
            and isinstance(est.outlier_label, str)
            and est.outlier_label == "most_frequent"
        ):
            cls = list(est.classes_) if est.outputs_2d_ else [est.classes_]
            est.outlier_label_ = [c[cnt.argmax()] for c, cnt in zip(cls, counts)]

    # ----------------------------------------------------------- copy path
    def _copy_update(
        self, est, ledger, rows, holes, movers, n_new, method, classes, details
    ):
        """New estimator and strategy objects without the rows (tree rebuilt)."""
        n = est.n_samples_fit_
        order = np.arange(n, dtype=np.intp)
        order[holes] = movers
        order = order[:n_new]
        new = copy.copy(est)
        fit_X = est._fit_X
        if sp.issparse(fit_X):
            new._fit_X = fit_X[order]
            new._fit_X.sort_indices()
        else:
            new._fit_X = np.ascontiguousarray(fit_X[order])
        new.n_samples_fit_ = n_new
        state = copy.copy(self)
        if getattr(est, "_y", None) is not None:
            new._y = np.ascontiguousarray(est._y[order])
            if classes is not None:
                classes = ([c.copy() for c in classes[0]],) + tuple(classes[1:])
                state._apply_classes(new, new._y, classes)
        new._fit_method = method
        if method in ("kd_tree", "ball_tree"):
            cls = KDTree if method == "kd_tree" else BallTree
            new._tree = cls(
                new._fit_X,
                new.leaf_size,
                metric=new.effective_metric_,
                **new.effective_metric_params_,
            )
        else:
            new._tree = None
        size = self._pos_of_slot.size
        state._fit_positions = self._fit_positions[order]
        state._slot_of_pos = self._slot_of_pos[order]
        state._pos_of_slot = np.full(size, -1, dtype=np.intp)
        state._pos_of_slot[state._slot_of_pos] = np.arange(n_new, dtype=np.intp)
        state._n_live = n_new
        state._n_built = n_new

        def commit():
            state._sync_ledger(ledger)

        return UnlearnUpdate(
            attributes={"estimator_": new, "strategy_": state},
            strategy=self.name,
            exact=True,
            details=details,
            commit=commit,
        )


for _est in _SUPPORTED:
    register_strategy(_est, NeighborsStrategy)
