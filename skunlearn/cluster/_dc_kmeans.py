"""Divide-and-conquer k-means built for deletion (Ginart et al. 2019)."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Literal, Self

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._ledger import row_fingerprints
from ..base import UnlearningMixin, UnlearnUpdate
from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)
from ._kernels import node_draws, weighted_kmeans

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["DCKMeans"]

_MIX = np.uint64(0x9E3779B97F4A7C15)


def _leaf_of(fingerprints, seed, n_leaves):
    """Leaf of each row: a hash of its content fingerprint and the seed."""
    h = fingerprints[:, 0] ^ (fingerprints[:, 1] * _MIX) ^ np.uint64(seed)
    h = h ^ (h >> np.uint64(31))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(29))
    return (h % np.uint64(n_leaves)).astype(np.intp)


def _sq_dist(X, C, x_sq):
    d = x_sq[:, None] - 2.0 * (X @ C.T) + (C * C).sum(axis=1)[None, :]
    return np.maximum(d, 0.0, out=d)


def _n_trials(k):
    """Candidates per k-means++ centre, as in :class:`~sklearn.cluster.KMeans`."""
    return 2 + int(np.log(k))


def _n_draws(k, n_init):
    """Uniforms one node's solve consumes: per restart, one + n_trials per centre."""
    return n_init * (1 + (k - 1) * _n_trials(k))


def _kmeans_pp_ref(X, w, k, draws, x_sq, X_m2):
    """Weighted greedy k-means++ seeding in numpy (reference of the kernel).

    As in :class:`~sklearn.cluster.KMeans`: each new centre is the best of
    ``2 + log(k)`` candidates drawn with probability proportional to the
    weighted squared distance to the centres so far. ``X_m2`` is ``-2 X``;
    ``draws`` are the uniforms (see :func:`_n_draws`).
    """
    m = X.shape[0]
    n_trials = _n_trials(k)
    centers = np.empty((k, X.shape[1]))
    cum_w = np.cumsum(w)
    first = min(int(np.searchsorted(cum_w, draws[0] * cum_w[-1])), m - 1)
    centers[0] = X[first]
    closest = _sq_dist(X, centers[:1], x_sq)[:, 0]
    draws = draws[1:].reshape(k - 1, n_trials)
    x_col = x_sq[:, None]
    for c in range(1, k):
        mass = np.cumsum(w * closest)
        if mass[-1] <= 0:  # every point sits on a centre already
            cand = np.searchsorted(cum_w, draws[c - 1] * cum_w[-1])
        else:
            cand = np.searchsorted(mass, draws[c - 1] * mass[-1])
        np.minimum(cand, m - 1, out=cand)
        # Squared distances to the candidates: |x|^2 - 2 x.c + |c|^2.
        trial = X_m2 @ X[cand].T
        trial += x_col
        trial += x_sq[cand]
        np.maximum(trial, 0.0, out=trial)
        np.minimum(trial, closest[:, None], out=trial)
        best = int(np.argmin(w @ trial))
        closest = trial[:, best]
        centers[c] = X[cand[best]]
    return centers


def _weighted_kmeans_ref(X, w, k, draws, n_init, max_iter, tol):
    """Numpy reference of :func:`._kernels.weighted_kmeans` (same contract).

    Kept to test the compiled kernel against: equal up to floating-point
    summation order.
    """
    m = X.shape[0]
    x_sq = (X * X).sum(axis=1)
    X_m2 = -2.0 * X
    rows = np.arange(m)
    mean = np.average(X, axis=0, weights=w)
    tol_abs = (
        tol * float(np.average(((X - mean) ** 2).sum(axis=1), weights=w)) / X.shape[1]
    )
    per_init = draws.shape[0] // n_init
    best = None
    for r in range(n_init):
        C = _kmeans_pp_ref(
            X, w, k, draws[r * per_init : (r + 1) * per_init], x_sq, X_m2
        )
        n_iter = 0
        onehot = np.zeros((k, m))
        for it in range(1, max_iter + 1):
            n_iter = it
            # ||x||^2 is the same for every centre: argmin needs only the rest.
            score = X_m2 @ C.T
            score += (C * C).sum(axis=1)
            labels = score.argmin(axis=1)
            onehot.fill(0.0)
            onehot[labels, rows] = w
            mass = onehot.sum(axis=1)
            sums = onehot @ X
            new_C = C.copy()
            nz = mass > 0
            new_C[nz] = sums[nz] / mass[nz, None]
            diff = (new_C - C).ravel()
            shift = float(diff @ diff)
            C = new_C
            if shift <= tol_abs:
                break
        d2 = _sq_dist(X, C, x_sq)
        labels = d2.argmin(axis=1)
        inertia = float(w @ d2[np.arange(m), labels])
        if best is None or inertia < best[0]:
            mass = np.bincount(labels, weights=w, minlength=k)
            best = (inertia, C, mass, n_iter)
    return best[1], best[2], best[3]


def _weighted_kmeans(X, w, k, key, n_init, max_iter, tol, kernel=None):
    """Weighted k-means of one node; returns ``(centers, weights, n_iter)``.

    Rows of zero weight are dropped; a node with at most ``k`` points keeps
    them as its centres (and draws nothing). Otherwise the uniforms are
    :func:`._kernels.node_draws` of ``key = (seed, level, index)``, so the
    output is a function of ``(X, w)`` in their order and of ``key``.
    ``kernel`` defaults to the compiled :func:`._kernels.weighted_kmeans`.
    """
    pos = w > 0
    if not pos.all():
        X, w = X[pos], w[pos]
    if X.shape[0] <= k:
        return X.copy(), w.copy(), 0
    draws = node_draws(key[0], key[1], key[2], _n_draws(k, n_init))
    kernel = weighted_kmeans if kernel is None else kernel
    # Plain Python scalars: one compiled specialisation whatever the types given.
    return kernel(
        np.ascontiguousarray(X),
        np.ascontiguousarray(w),
        int(k),
        draws,
        int(n_init),
        int(max_iter),
        float(tol),
    )


def _bits(a):
    """View of a float array as integers: equality of these is bitwise equality."""
    return a.view(np.int64)


class DCKMeans(
    UnlearningMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ClusterMixin,
    BaseEstimator,
):
    """Divide-and-conquer k-means with fast, exact deletion (Ginart et al. 2019).

    The training rows are split into ``n_leaves`` leaves by a hash of each
    row's content and the seed (never by position). Each leaf is clustered
    with weighted k-means (k-means++ seeding, Lloyd iterations) into
    ``n_clusters`` centres weighted by their cluster's mass; the centres of
    ``branching`` consecutive sibling nodes are clustered again by their
    parent, and so on up to the root, whose centres are the model's
    ``cluster_centers_``. Forgetting rows re-solves only their leaves and the
    ancestors of those leaves: ``O(n / n_leaves + n_clusters * branching *
    depth)`` points instead of ``n``; a re-solved node whose output is
    bitwise unchanged (e.g. a forgotten row of weight 0) spares its
    ancestors. Node solves are compiled (numba).

    **Guarantee.** Every random number a node uses is a hash of ``(seed_,
    level, node index, draw number)``, and a node's input is its rows (a leaf:
    its retained rows in training order, with their weights) or its
    children's weighted centres: a node's output is a function of its input
    and of ``seed_`` alone. Hence, for any ``random_state``, after
    ``model = DCKMeans(**params).fit(X, sample_weight=sw).unlearn(X_f)``,
    ``model.cluster_centers_`` and ``model.n_iter_`` are bitwise equal
    (same machine and library versions) to those of
    ``DCKMeans(**params).fit(X_retain, sample_weight=sw_retain)`` when the
    refit draws the same ``seed_``, and so are ``labels_``, ``inertia_``,
    ``predict`` and ``transform``; ``X_retain`` is ``X`` without the
    forgotten rows, in training order. An integer ``random_state`` always
    gives the same ``seed_``: the unlearned model *is* the same-seed refit.
    With ``random_state=None`` (or a ``RandomState``) ``seed_`` is drawn
    once in ``fit`` independently of the data, so the unlearned model has
    exactly the distribution of a refit on the retained rows: Ginart et
    al.'s exact deletion. The guarantee is about the refit of this
    estimator, not of :class:`~sklearn.cluster.KMeans`, whose clustering it
    approximates (typically within a few percent of its inertia).

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.

    n_leaves : int, default=256
        Number of leaves. More leaves make a leaf's re-solve cheaper (fewer
        rows) and the tree's upper nodes larger or more numerous; it is a
        parameter, not a function of the number of rows, so that deletions
        never move rows between leaves. A deletion re-solves about
        ``n / n_leaves`` rows, then ``branching * n_clusters`` centres per
        level above the leaf.

    branching : int, default=16
        Number of children of each internal node. With the default
        ``n_leaves``, two levels of 16 nodes sit above the leaves, which
        roughly balances the cost of the two re-solves above a leaf.

    n_init : "auto" or int, default="auto"
        Number of k-means++ restarts in each node; the best (lowest weighted
        inertia) is kept. ``"auto"``: one in the leaves (they only summarise
        their rows) and 3 in the nodes above, small weighted problems whose
        local optima decide the model's quality.

    max_iter : int, default=100
        Maximum number of Lloyd iterations in each node and restart.

    tol : float, default=1e-4
        Relative tolerance (to the mean variance of the node's input) on the
        squared centre shift to declare convergence, as in
        :class:`~sklearn.cluster.KMeans`.

    random_state : int, RandomState instance or None, default=None
        Determines the seed of every node and the leaf of every row. Pass an
        int for reproducible results and for equality with a refit.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The root's centres.

    labels_ : ndarray of shape (n_samples,)
        Label of each retained training row, in training order (computed on
        access from the retained rows).

    inertia_ : float
        Sum of (weighted) squared distances of the retained training rows to
        their closest centre (computed on access).

    n_iter_ : int
        Lloyd iterations of the root's best run.

    seed_ : int
        The seed derived from ``random_state`` in ``fit``.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string
        column names.

    leaf_rows_ : list of ndarray
        Ledger row ids of the retained rows of each leaf, in training order.

    node_centers_ : list of list of ndarray
        For each level below the root (leaves first), for each parent node,
        the centres of its children, of shape ``(n_children, n_clusters,
        n_features)``; a node with fewer centres than ``n_clusters`` is padded
        with centres of weight 0 (ignored by its parent).

    node_weights_ : list of list of ndarray
        The matching weights (cluster masses), of shape ``(n_children,
        n_clusters)``.

    root_ : tuple
        The root's ``(centres, weights, n_iter)``.

    ledger_ : TrainingLedger
        Fingerprints and the retained training rows (leaves are re-solved on
        them).

    unlearn_history_ : list of dict
        One record per :meth:`unlearn` call (``details`` give the leaves and
        nodes re-solved).

    See Also
    --------
    sklearn.cluster.KMeans : Lloyd's k-means on all rows at once.

    References
    ----------
    A. Ginart, M. Guan, G. Valiant, J. Zou. "Making AI Forget You: Data
    Deletion in Machine Learning", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.cluster import DCKMeans
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(100, 2), rng.randn(100, 2) + 8])
    >>> km = DCKMeans(n_clusters=2, n_leaves=8, random_state=0).fit(X)
    >>> km.unlearn(X[:10]).unlearn_history_[-1]["details"]["leaves_resolved"] <= 8
    True
    >>> refit = DCKMeans(n_clusters=2, n_leaves=8, random_state=0).fit(X[10:])
    >>> bool(np.array_equal(km.cluster_centers_, refit.cluster_centers_))
    True
    """

    _parameter_constraints = {
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_leaves": [Interval(numbers.Integral, 1, None, closed="left")],
        "branching": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_init": [
            StrOptions({"auto"}),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        n_leaves: int = 256,
        branching: int = 16,
        n_init: int | Literal["auto"] = "auto",
        max_iter: int = 100,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_leaves = n_leaves
        self.branching = branching
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # ------------------------------------------------------------ the tree
    def _solve(self, X, w, level, index):
        if self.n_init == "auto":
            n_init = 1 if level == 0 else 3
        else:
            n_init = self.n_init
        return _weighted_kmeans(
            X,
            w,
            self.n_clusters,
            (self.seed_, level, index),
            n_init,
            self.max_iter,
            self.tol,
        )

    def _levels(self):
        """Number of nodes at each level, leaves first, root last."""
        sizes = [self.n_leaves]
        while sizes[-1] > 1:
            sizes.append(-(-sizes[-1] // self.branching))
        return sizes

    def _empty_blocks(self, n_features):
        """Zeroed centre and weight blocks of every level below the root."""
        sizes, b, k = self._levels(), self.branching, self.n_clusters
        shapes = [
            [min(b, sizes[lev] - p * b) for p in range(sizes[lev + 1])]
            for lev in range(len(sizes) - 1)
        ]
        C = [[np.zeros((g, k, n_features)) for g in level] for level in shapes]
        W = [[np.zeros((g, k)) for g in level] for level in shapes]
        return C, W

    def _put(self, C_blocks, W_blocks, level, index, result, copied):
        """Store a node's output in its parent's block; False if bitwise unchanged.

        A node with fewer centres than ``n_clusters`` is padded with zero
        weights, which the parent drops: its input is the same either way.
        ``copied`` is None in ``fit``; in ``unlearn``, which must not mutate
        the fitted blocks, the set of blocks already copied: a changed block
        is copied once before its first change.
        """
        p, c = divmod(index, self.branching)
        C, W, _ = result
        new_C = np.zeros_like(C_blocks[level][p][c])
        new_W = np.zeros_like(W_blocks[level][p][c])
        new_C[: C.shape[0]] = C
        new_W[: W.shape[0]] = W
        old_C, old_W = C_blocks[level][p][c], W_blocks[level][p][c]
        if np.array_equal(_bits(old_C), _bits(new_C)) and np.array_equal(
            _bits(old_W), _bits(new_W)
        ):
            return False
        if copied is not None and (level, p) not in copied:
            copied.add((level, p))
            C_blocks[level][p] = C_blocks[level][p].copy()
            W_blocks[level][p] = W_blocks[level][p].copy()
        C_blocks[level][p][c] = new_C
        W_blocks[level][p][c] = new_W
        return True

    def _solve_up(self, C_blocks, W_blocks, root, dirty, copied):
        """Re-solve the ancestors of the nodes ``dirty`` (indices at level 0).

        Stops early where a re-solved node's output is bitwise unchanged: its
        ancestors' inputs are then unchanged too. Returns the root's output
        and the number of nodes solved.
        """
        top = len(self._levels()) - 1
        n_solved = 0
        for level in range(1, top + 1):
            parents = sorted({i // self.branching for i in dirty})
            dirty = []
            for p in parents:
                C = C_blocks[level - 1][p]
                W = W_blocks[level - 1][p]
                result = self._solve(
                    C.reshape(-1, C.shape[-1]), W.reshape(-1), level, p
                )
                n_solved += 1
                if level == top:
                    root = result
                elif self._put(C_blocks, W_blocks, level, p, result, copied):
                    dirty.append(p)
        return root, n_solved

    def _root_centers(self, root):
        C, W, n_iter = root
        if C.shape[0] < self.n_clusters:
            # Fewer distinct weighted points than clusters (heavy duplication):
            # repeat centres, as KMeans returns duplicate centres then.
            reps = -(-self.n_clusters // max(C.shape[0], 1))
            C = np.tile(C, (reps, 1))[: self.n_clusters]
        return C, n_iter

    # ----------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Cluster ``X`` through the tree of sub-problems.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.

        y : Ignored
            Not used, present for API consistency by convention.

        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = validate_data(self, X, dtype=np.float64, order="C")
        n = X.shape[0]
        if n < self.n_clusters:
            raise ValueError(
                f"n_samples={n} should be >= n_clusters={self.n_clusters}."
            )
        w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        self.seed_ = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        leaf = _leaf_of(row_fingerprints(X), self.seed_, self.n_leaves)
        order = np.argsort(leaf, kind="stable")
        bounds = np.searchsorted(leaf[order], np.arange(self.n_leaves + 1))
        leaf_rows = [order[bounds[j] : bounds[j + 1]] for j in range(self.n_leaves)]
        C_blocks, W_blocks = self._empty_blocks(X.shape[1])
        root = None
        for j, rows in enumerate(leaf_rows):
            result = self._solve(X[rows], w[rows], 0, j)
            if self.n_leaves == 1:
                root = result
            else:
                self._put(C_blocks, W_blocks, 0, j, result, None)
        root, _ = self._solve_up(C_blocks, W_blocks, root, range(self.n_leaves), None)
        self.leaf_rows_ = leaf_rows
        self.node_centers_ = C_blocks
        self.node_weights_ = W_blocks
        self.root_ = root
        self.cluster_centers_, self.n_iter_ = self._root_centers(root)
        # The ledger keeps the rows (leaves are re-solved on them). It
        # compacts only with ``leaf_rows_`` (see _renumbered_rows), so that their
        # row ids stay valid; forgotten rows are zeroed in place meanwhile.
        self._init_ledger(
            X,
            None,
            {"sample_weight": None if sample_weight is None else w},
            keep_X=True,
            compact="never",
        )
        return self

    # ------------------------------------------------------------- unlearn
    def _validate_forget_data(self, X, y):
        if self._is_valid_float_forget_set(X):
            return X, None
        X = validate_data(self, X, dtype=np.float64, reset=False, ensure_min_samples=0)
        return X, None

    def _unlearn(self, match, X, y, **params):
        if params:
            raise TypeError(
                "DCKMeans.unlearn takes no unlearning parameters, got "
                f"{sorted(params)}."
            )
        if self.ledger_.n_rows - match.n_rows < self.n_clusters:
            raise ValueError(
                f"Forgetting {match.n_rows} rows leaves fewer than n_clusters="
                f"{self.n_clusters} rows; a refit would fail. Nothing was forgotten."
            )
        gone = np.asarray(match.rows)
        X_all = self.ledger_.X
        # A row's leaf is a hash of its content (the stored row, as in fit):
        # recomputed here rather than stored, so nothing per row outlives it.
        gone_leaf = _leaf_of(row_fingerprints(X_all[gone]), self.seed_, self.n_leaves)
        order = np.argsort(gone_leaf, kind="stable")
        gone, gone_leaf = gone[order], gone_leaf[order]
        leaves, starts = np.unique(gone_leaf, return_index=True)
        w_all = self.ledger_.sample_props.get("sample_weight")
        leaf_rows = list(self.leaf_rows_)
        C_blocks = [list(level) for level in self.node_centers_]
        W_blocks = [list(level) for level in self.node_weights_]
        root = self.root_
        dirty = []
        copied = set()
        ends = np.append(starts[1:], gone.size)
        for j, a, b in zip(leaves.tolist(), starts, ends):
            rows = leaf_rows[j]
            # Leaf rows ascend (training order): binary search finds the gone.
            rows = np.delete(rows, np.searchsorted(rows, gone[a:b]))
            leaf_rows[j] = rows
            w = np.ones(rows.size) if w_all is None else w_all[rows]
            result = self._solve(X_all[rows], w, 0, j)
            if self.n_leaves == 1:
                root = result
            elif self._put(C_blocks, W_blocks, 0, j, result, copied):
                dirty.append(j)
        root, n_solved = self._solve_up(C_blocks, W_blocks, root, dirty, copied)
        centers, n_iter = self._root_centers(root)
        return UnlearnUpdate(
            attributes={
                "leaf_rows_": leaf_rows,
                "node_centers_": C_blocks,
                "node_weights_": W_blocks,
                "root_": root,
                "cluster_centers_": centers,
                "n_iter_": n_iter,
            },
            strategy="dc_kmeans",
            exact=True,
            details={
                "leaves_resolved": int(leaves.size),
                "nodes_resolved": int(leaves.size + n_solved),
            },
        )

    @property
    def _compact_min_rows(self):
        # Compacting copies the kept rows, O(n * n_features), while a request
        # re-solves about n / n_leaves of them: below 2**16 stored values the
        # copy is cheap and erased slots go at every request; above, they go
        # once they are 1/64 of the rows (see TrainingLedger.due).
        return max(1, 2**16 // self.n_features_in_)

    def _renumbered_rows(self, new_id):
        # Leaves hold their rows' ids in ascending order; renumbered with the
        # ledger they are those of a fit on the retained rows (a row's leaf
        # depends on its content, and a leaf keeps training order).
        return {"leaf_rows_": [new_id[rows] for rows in self.leaf_rows_]}

    # ------------------------------------------------------- derived output
    def _retained(self):
        rows = self.ledger_.retained()
        w = self.ledger_.sample_props.get("sample_weight")
        return self.ledger_.X[rows], (None if w is None else w[rows])

    @property
    def labels_(self) -> NDArray[np.int32]:
        """Labels of the retained training rows, in training order."""
        check_is_fitted(self, "cluster_centers_")
        return self._labels(self._retained()[0])

    @property
    def inertia_(self) -> float:
        """Weighted sum of squared distances of the retained rows to their centre."""
        check_is_fitted(self, "cluster_centers_")
        X, w = self._retained()
        return self._inertia(X, w)

    def _labels(self, X):
        d = euclidean_distances(X, self.cluster_centers_, squared=True)
        return d.argmin(axis=1).astype(np.int32)

    def _inertia(self, X, w):
        d = euclidean_distances(X, self.cluster_centers_, squared=True).min(axis=1)
        return float(d.sum() if w is None else w @ d)

    def predict(self, X: ArrayLike) -> NDArray[np.int32]:
        """Index of the closest centre of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index, in ``cluster_centers_``, of the closest centre.
        """
        check_is_fitted(self, "cluster_centers_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._labels(X)

    def fit_predict(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> NDArray[np.int32]:
        """Fit, then return the labels of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.

        y : Ignored
            Not used, present for API consistency by convention.

        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index, in ``cluster_centers_``, of the closest centre.
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X: ArrayLike) -> NDArray[np.float64]:
        """Transform ``X`` to its distances to each centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to transform.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            Euclidean distance of each row to each centre.
        """
        check_is_fitted(self, "cluster_centers_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return euclidean_distances(X, self.cluster_centers_)

    def score(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> float:
        """Opposite of the (weighted) inertia of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        y : Ignored
            Not used, present for API consistency by convention.

        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row.

        Returns
        -------
        score : float
            Minus the (weighted) sum of squared distances to the closest centre.
        """
        check_is_fitted(self, "cluster_centers_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        w = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        return -self._inertia(X, w)

    @property
    def _n_features_out(self):
        return self.n_clusters
