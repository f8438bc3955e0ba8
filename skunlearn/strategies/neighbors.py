"""Exact unlearning for nearest-neighbour models: delete rows from the index.

A fitted neighbours model stands for its training rows (``_fit_X``), their
encoded targets (``_y``, ``classes_``) and, for ``algorithm="kd_tree"`` or
``"ball_tree"``, a search tree over them. After a request the estimator holds
what ``clone(est).fit(X_retain, y_retain)`` holds, array for array: the
retained rows in training order, their targets (re-encoded as ``np.unique``
encodes them when a class loses its last row) and the tree built on them. So
``kneighbors`` indices count the retained rows in training order, and nothing
in the model or its pickle tells where a forgotten row was.

Getting there costs a copy of the index and, for a tree, a rebuild: cheap for
a small index, far dearer than the request for a large one. A large index
(from :attr:`NeighborsStrategy.compact_min_rows` rows) is edited in place
instead while few of its rows are gone. The last stored row moves into the
forgotten row's position and the freed row is zeroed ("swap-remove", ``O(d)``
per row, no copy); the tree loses the row's slot in ``idx_array`` (the tail
shifts left), every node's range is renumbered, and the boxes (KD-tree) or
centroids and radii (ball tree) of the nodes that lost a row are recomputed
from the rows they keep, so no value of a forgotten row stays in the tree
(see ``_neighbors_kernels``). Such an index computes what the refit computes
(``kneighbors`` distances and neighbour rows as content, predictions,
probabilities, radius queries and graphs, up to the order of exact ties,
which scikit-learn leaves unspecified) but stores the rows in another order.
It goes back to training order, its tree rebuilt, when the training ledger
drops its erased slots: once more than 1/64 of the rows are gone (the rule of
``TrainingLedger.due``), and always before the model leaves the process
(pickle, skops, ``copy``). Sparse indexes are always copied (``O(nnz)``).

All edits happen at commit time (:attr:`UnlearnUpdate.commit`), after the
request has been validated and matched: a failed or interrupted request
leaves the model unchanged. The index arrays the estimator holds are owned by
the strategy (copied once at ``fit``), so the caller's training data are
never written to; a superseded index has the forgotten rows zeroed. Inside a
composite model (``Pipeline``...) the step is refit on its retained input
instead (exact, as costly as ``fit``).
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

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
from sklearn.utils.validation import validate_data

from .._ledger import _DEFER_MIN_ROWS
from ..utils._sklearn_compat import (
    VALID_METRICS,
    binary_tree_metric,
    binary_tree_set_data,
    knn_fit_method,
    knn_fit_X,
    knn_fit_y,
    knn_tree,
    set_knn_fit_data,
)
from . import _neighbors_kernels as _kernels
from ._base import (
    StrategyNotApplicable,
    UnlearningStrategy,
    register_strategy,
    step_plan,
)

if TYPE_CHECKING:
    from .._ledger import TrainingLedger
    from ..utils._typing import ArrayLike, MatrixLike
    from ._base import ForgetPlan, ForgetRequest

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

# Index sizes (rows x features) from which a request may edit the index in
# place and leave the training order to the ledger's next compaction. Below
# them, keeping the order costs a millisecond or two: measured on one core, a
# KD-tree build of 4,096 x 8 rows takes 2.1 ms (a ball tree 1.6 ms), and an
# order-keeping copy of 65,536 x 32 rows 0.9 ms, against 0.1 to 0.4 ms for
# the request itself; a KD-tree of 65,536 x 8 rows takes 53 ms.
_DEFER_CELLS = {"brute": 2**21, "kd_tree": 2**15, "ball_tree": 2**15}


def _defer_min_rows(est):
    """Rows from which ``est``'s index may wait for its compaction (see above).

    None for a sparse index, which is never edited in place.
    """
    fit_X = knn_fit_X(est)
    if sp.issparse(fit_X):
        return None
    cells = _DEFER_CELLS[knn_fit_method(est)]
    return int(min(_DEFER_MIN_ROWS, max(1, cells // max(1, fit_X.shape[1]))))


def _compaction_due(ledger, k, min_rows):
    """Whether the ledger drops its erased slots once ``k`` more rows go.

    ``TrainingLedger.due(min_rows)`` as it will answer after the removal,
    asked before it.
    """
    size = ledger.n_stored
    dead = size - ledger.n_rows + k
    min_rows = _DEFER_MIN_ROWS if min_rows is None else min_rows
    return size < min_rows or dead * 64 > size


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

    After a request the wrapped estimator holds what a refit on the retained
    rows holds: the same ``_fit_X``, ``_y``, ``classes_`` and tree, in the same
    order, so ``kneighbors`` indices count the retained rows in training
    order. A large index (from :attr:`compact_min_rows` rows) is edited in
    place instead while at most 1/64 of its rows are gone: it computes what
    the refit computes (distances, neighbour rows as content, predictions,
    probabilities, ``radius_neighbors`` and the graphs, ties between
    equidistant rows broken as scikit-learn leaves them) but stores the rows
    in another order until the ledger's next compaction, which puts them back
    (:meth:`compact_rows`; at the latest when the model is saved or copied).
    Only an owner that compacts the index with its ledger (a ledger with
    ``compact="never"``) gets in-place edits; with any other ledger every
    request keeps training order. Edits happen when the request commits:
    keep ``estimator_`` and not an array taken from it.

    The strategy keeps no map from stored rows to training positions (earlier
    releases had ``fit_positions_``): it would tell which positions were
    forgotten. In training order the ``i``-th stored row is the ``i``-th
    retained row.

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
    >>> dist, ind = model.unlearn(X[[1]]).estimator_.kneighbors([[3.8]])
    >>> ind  # X[4], the fourth of the retained rows X[[0, 2, 3, 4]]
    array([[3]])
    """

    name = "neighbors"
    exact = True
    keeps_rows = False
    # the index's rows are numbered like the ledger's (see compact_rows)
    numbers_rows_by_id = True
    # Every finite float64 array of the right width is valid for any metric.
    plain_floats_are_valid = True
    sample_props = ()

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, _SUPPORTED) and estimator.metric != "precomputed"

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        if fit_params:
            raise TypeError(
                f"{type(estimator).__name__}.fit got unexpected parameters "
                f"{sorted(fit_params)}."
            )
        if isinstance(X, KDTree | BallTree | NearestNeighbors):
            raise StrategyNotApplicable("prebuilt index as input")
        estimator.fit(X, y)
        self._own(estimator)
        if not sp.issparse(knn_fit_X(estimator)):
            # Load (or compile, once per machine) the deletion kernels now:
            # a fit is slow anyway, a deletion request should not be.
            _kernels.warm_up_once()
        return estimator

    def _own(self, est):
        """Copy the index arrays the estimator shares with the caller; set the state.

        scikit-learn keeps a reference to a C-contiguous float64 ``X`` (and
        to a regressor's ``y``); deletion writes into these arrays, so they
        are copied once here. The tree then reads the copy.
        """
        fit_X = knn_fit_X(est)
        if not sp.issparse(fit_X):
            buf = np.array(fit_X, order="C", copy=True)
            tree = knn_tree(est)
            if tree is not None and np.shares_memory(tree.get_arrays()[0], fit_X):
                binary_tree_set_data(tree, buf)
            set_knn_fit_data(est, X=buf)
        if knn_fit_y(est) is not None:
            set_knn_fit_data(est, y=np.array(knn_fit_y(est), order="C", copy=True))
        n = est.n_samples_fit_
        self._n_live = n
        # Ledger row id of each stored position and back, kept only while
        # the index is out of training order (None: stored row i is the i-th
        # live row of the ledger, as in a fresh fit).
        self._slot_of_pos = None
        self._pos_of_slot = None
        self._min_rows = _defer_min_rows(est)
        self._class_counts = None
        if hasattr(est, "classes_") and knn_fit_y(est) is not None:
            y2 = knn_fit_y(est).reshape(n, -1)
            classes = list(est.classes_) if est.outputs_2d_ else [est.classes_]
            self._class_counts = [
                np.bincount(y2[:, j], minlength=len(c)) for j, c in enumerate(classes)
            ]

    def __setstate__(self, state):
        # Strategies saved by earlier releases mapped stored rows to training
        # positions and kept the tree until half of its rows were gone.
        state = dict(state)
        state.pop("_fit_positions", None)
        state.pop("_n_built", None)
        state.setdefault("_min_rows", None)
        vars(self).update(state)

    @property
    def compact_min_rows(self):
        """int or None: rows from which the index may leave training order.

        ``min_rows`` of ``TrainingLedger.due`` (None: the ledger's default).
        A request on a smaller index keeps training order (a copy of the
        index and, for trees, a rebuild); a larger index is edited in place
        while at most 1/64 of its rows are gone (see :meth:`compact_rows`).
        Derived from the index's algorithm and width, as a fresh fit derives
        it.
        """
        return self._min_rows

    def validate_forget(self, estimator: Any, X: MatrixLike) -> Any:
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
    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        request.check_no_params("neighbors")
        ledger = request.ledger
        if ledger is None:
            # A step of a composite has no ledger of its own to map rows to
            # stored positions: it is refit on its retained input (exact).
            return self.refit_plan(estimator, request)
        est = estimator
        rows = np.asarray(request.rows, dtype=np.intp)
        n = est.n_samples_fit_
        pos = self._positions(ledger, rows)
        if (
            n != self._n_live
            or ledger.n_rows != n
            or (pos[0] < 0 if pos.size == 1 else (pos < 0).any())
        ):
            raise RuntimeError(
                "The neighbors index is out of step with the training ledger; "
                "refit the model. Nothing was forgotten."
            )
        k = pos.size
        n_new = n - k
        classes = self._plan_classes(est, pos)
        fit_X = knn_fit_X(est)
        sparse = sp.issparse(fit_X)
        method = _auto_method_for(est, n_new, fit_X.shape[1], sparse)
        details = {"index": method}
        if classes is not None:
            details["classes_removed"] = classes[2]
        # In place only where keeping training order costs much more than
        # the request, and only for an owner that reorders the index when it
        # compacts the ledger (see compact_rows).
        in_place = (
            not sparse
            and method == knn_fit_method(est)
            and getattr(ledger, "compact_policy", None) == "never"
            and not _compaction_due(ledger, k, self._min_rows)
        )
        views = None
        if in_place and method != "brute":
            views = _tree_views(knn_tree(est))
            in_place = views is not None
        if in_place:
            x_buf = _leading_buffer(fit_X)
            y_buf = None if knn_fit_y(est) is None else _leading_buffer(knn_fit_y(est))
            in_place = x_buf.flags.writeable and (
                y_buf is None or y_buf.flags.writeable
            )
        details["rebuilt"] = not in_place
        if not in_place:
            return self._rebuild_update(est, pos, method, classes, details)
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
        _kernels.warm_up_once()
        maps = self._maps(ledger, n)
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
            self._commit_in_place(est, rows, plan, views, classes, maps)

        return step_plan(est, None, strategy=self.name, details=details, commit=commit)

    def compact_rows(
        self, estimator: Any, ledger: TrainingLedger
    ) -> tuple[Any, UnlearningStrategy]:
        """The index back in training order: a fresh fit's state.

        Called by the owner of a ``compact="never"`` ledger when it drops the
        ledger's erased slots, before it drops them. Builds new objects and
        changes nothing.

        Parameters
        ----------
        estimator : object
            The fitted estimator whose index this strategy edits.

        ledger : TrainingLedger
            Its training ledger, erased slots not dropped yet.

        Returns
        -------
        estimator : object
            The estimator holding the retained rows in training order, with
            its tree built on them: equal, array for array, to a fresh fit's
            on the retained rows. ``estimator`` itself when it is in training
            order already.

        strategy : NeighborsStrategy
            The strategy for that estimator and the compacted ledger (``self``
            when the estimator is unchanged).
        """
        if self._pos_of_slot is None:
            return estimator, self
        live = self._pos_of_slot[self._pos_of_slot >= 0]
        if live.size != estimator.n_samples_fit_ or ledger.n_rows != live.size:
            raise RuntimeError(
                "The neighbors index is out of step with the training ledger; "
                "refit the model."
            )
        return self._rebuilt(estimator, live, knn_fit_method(estimator), None)

    # ------------------------------------------------------------- planning
    def _positions(self, ledger, rows):
        """Stored positions of the ledger rows ``rows``."""
        if self._pos_of_slot is not None:
            return self._pos_of_slot[rows]
        if ledger.n_stored == ledger.n_rows:
            return rows
        # In training order, a row's position is its rank among the live rows.
        return (np.cumsum(ledger.alive) - 1)[rows]

    def _maps(self, ledger, n):
        """The maps between ledger row ids and stored positions (new when None)."""
        if self._slot_of_pos is not None:
            return self._slot_of_pos, self._pos_of_slot
        if ledger.n_stored == n:
            slot_of_pos = np.arange(n, dtype=np.intp)
        else:
            slot_of_pos = np.flatnonzero(ledger.alive)
        pos_of_slot = np.full(ledger.n_stored, -1, dtype=np.intp)
        pos_of_slot[slot_of_pos] = np.arange(n, dtype=np.intp)
        return slot_of_pos, pos_of_slot

    def _plan_classes(self, est, pos):
        """New class counts, kept-class masks and number of classes dropped."""
        if self._class_counts is None:
            return None
        y2 = knn_fit_y(est).reshape(est.n_samples_fit_, -1)
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
        if knn_fit_method(est) == "kd_tree":
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
        if knn_fit_method(est) == "ball_tree":
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
                    views, binary_tree_metric(knn_tree(est)), out["nodes"], del_slots
                )
        return out

    # --------------------------------------------------------------- commit
    def _commit_in_place(self, est, rows, plan, views, classes, maps):
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
            if knn_fit_method(est) == "kd_tree":
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
        set_knn_fit_data(est, X=plan["bufs"][0][:n_new])
        if views is not None:
            # The tree reads exactly the live rows: the same array object as
            # _fit_X when it shares its rows (so that a pickle stores them
            # once and holds none of the zeroed tail).
            data = views[0]
            shared = data is plan["bufs"][0]
            binary_tree_set_data(
                knn_tree(est), knn_fit_X(est) if shared else data[:n_new]
            )
        if y_buf is not None:
            set_knn_fit_data(est, y=y_buf[:n_new])
            if classes is not None:
                self._apply_classes(est, knn_fit_y(est), classes)
        est.n_samples_fit_ = n_new
        slot_of_pos, pos_of_slot = maps
        _move_maps(slot_of_pos, pos_of_slot, rows, holes, movers, n, n_new)
        self._slot_of_pos, self._pos_of_slot = slot_of_pos, pos_of_slot
        self._n_live = n_new

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

    # ----------------------------------------------------------- rebuild path
    def _rebuild_update(self, est, pos, method, classes, details):
        """New estimator and strategy: the retained rows in training order."""
        n = est.n_samples_fit_
        gone = np.zeros(n, dtype=bool)
        gone[pos] = True
        if self._pos_of_slot is None:
            order = np.flatnonzero(~gone)
        else:
            live = self._pos_of_slot[self._pos_of_slot >= 0]  # training order
            order = live[~gone[live]]
        new, state = self._rebuilt(est, order, method, classes)

        def commit():
            _scrub(est, pos)

        return step_plan(new, state, strategy=self.name, details=details, commit=commit)

    def _rebuilt(self, est, order, method, classes):
        """A copy of ``est`` holding its stored rows ``order``, and its strategy.

        The index is built as ``fit`` builds it on these rows (the tree
        anew), so it equals a fresh fit's when ``order`` is the training
        order. ``classes`` is the plan of :meth:`_plan_classes` (None: the
        classes are unchanged).
        """
        new = copy.copy(est)
        fit_X = knn_fit_X(est)
        new_X = fit_X[order]
        set_knn_fit_data(new, X=new_X)
        new.n_samples_fit_ = new_X.shape[0]
        state = copy.copy(self)
        vars(state).update(_slot_of_pos=None, _pos_of_slot=None, _n_live=order.size)
        if knn_fit_y(est) is not None:
            set_knn_fit_data(new, y=knn_fit_y(est)[order])
            if classes is not None:
                classes = ([c.copy() for c in classes[0]],) + tuple(classes[1:])
                state._apply_classes(new, knn_fit_y(new), classes)
        set_knn_fit_data(new, method=method)
        if method in ("kd_tree", "ball_tree"):
            cls = KDTree if method == "kd_tree" else BallTree
            tree = cls(
                new_X,
                new.leaf_size,
                metric=new.effective_metric_,
                **new.effective_metric_params_,
            )
            if tree.get_arrays()[0] is not new_X and np.shares_memory(
                tree.get_arrays()[0], new_X
            ):
                # a view of new_X (rows of a loaded model have a dtype object
                # of their own): the same array, so that a pickle stores the
                # rows once
                binary_tree_set_data(tree, new_X)
        else:
            tree = None
        set_knn_fit_data(new, tree=tree)
        state._min_rows = _defer_min_rows(new)
        return new, state


def _move_maps(slot_of_pos, pos_of_slot, rows, holes, movers, n, n_new):
    """Follow a swap-remove in the maps between ledger rows and positions."""
    pos_of_slot[rows] = -1
    if holes.size == 1:  # one row swapped with the last (the common request)
        hole, mover = int(holes[0]), int(movers[0])
        slot = slot_of_pos[mover]
        slot_of_pos[hole] = slot
        pos_of_slot[slot] = hole
    else:
        slot_of_pos[holes] = slot_of_pos[movers]
        pos_of_slot[slot_of_pos[holes]] = holes
    slot_of_pos[n_new:n] = -1


def _scrub(est, pos):
    """Zero the forgotten rows ``pos`` in a superseded dense index.

    Its arrays are the strategy's own (copied at ``fit``); a sparse index may
    be the caller's matrix and is left alone.
    """
    fit_X = knn_fit_X(est)
    if sp.issparse(fit_X):
        return
    arrays = [fit_X, knn_fit_y(est)]
    if knn_tree(est) is not None:
        arrays.append(knn_tree(est).get_arrays()[0])
    for a in arrays:
        if a is not None and a.flags.writeable:
            a[pos] = 0


for _est in _SUPPORTED:
    register_strategy(_est, NeighborsStrategy)
