"""Exact unlearning for nearest-neighbour models: drop the rows from the index.

A fitted neighbours model *is* its training rows (``_fit_X``), their encoded
targets (``_y``, ``classes_``) and, for ``algorithm="kd_tree"`` or
``"ball_tree"``, a tree built on them. Forgetting rows deletes them from
``_fit_X`` and ``_y`` (keeping training order), drops a class from
``classes_`` when its last row goes (re-encoding ``_y`` as ``np.unique``
would), re-evaluates the ``algorithm="auto"`` choice for the new number of
rows, and rebuilds the tree on the retained rows with the fit's parameters.
The result is, attribute for attribute, the model a refit on the retained rows
builds; ``kneighbors`` returns the same distances and indices.

Cost. A brute-force index costs one ordered copy of the retained rows
(``O(n d)`` memory traffic, no validation, no label sort); a tree index also
pays the tree build, ``O(n log n)``, exactly what a refit pays, since an
identical tree (same ``idx_array`` and node bounds) can only come from the same
construction. A refit on ``n`` rows is itself ``O(n d)`` (validation and
copy) plus ``O(n log n)`` (``np.unique`` of the targets, the tree), so exact
deletion from a scikit-learn neighbours model is a constant factor faster than
a refit, not orders of magnitude: see ``benchmarks/bench_classic.py``.
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
from ._base import StrategyNotApplicable, UnlearningStrategy, register_strategy

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


def _auto_method(est, X):
    """The ``_fit_method`` scikit-learn's ``_fit`` chooses for index rows ``X``."""
    if sp.issparse(X):
        return "brute"
    if est.algorithm != "auto":
        return est.algorithm
    metric = est.effective_metric_
    params = est.effective_metric_params_
    if (
        est.metric == "precomputed"
        or X.shape[1] > 15
        or (est.n_neighbors is not None and est.n_neighbors >= X.shape[0] // 2)
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

    The wrapped estimator's ``_fit_X``, ``_y``, ``classes_``,
    ``_fit_method``, ``n_samples_fit_`` and tree arrays equal a refit's on the
    retained rows (the tree is rebuilt).
    """

    name = "neighbors"
    exact = True
    keeps_rows = False
    sample_props = ()

    @classmethod
    def supports(cls, estimator):
        return isinstance(estimator, _SUPPORTED) and estimator.metric != "precomputed"

    def fit(self, estimator, X, y, fit_params):
        if fit_params:
            raise TypeError(
                f"{type(estimator).__name__}.fit got unexpected parameters "
                f"{sorted(fit_params)}."
            )
        if isinstance(X, KDTree | BallTree | NearestNeighbors):
            raise StrategyNotApplicable("prebuilt index as input")
        return estimator.fit(X, y)

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

    def unlearn(self, estimator, ledger, match, X, y, params):
        if params:
            raise TypeError(
                "The neighbors strategy takes no unlearning parameters, got "
                f"{sorted(params)}."
            )
        # Ledger row ids count forgotten-but-not-compacted slots; the index
        # holds only live rows, in training order.
        alive = ledger.alive
        if alive.all():
            pos = match.rows
        else:
            pos = np.cumsum(alive)[match.rows] - 1
        keep = np.ones(estimator.n_samples_fit_, dtype=bool)
        keep[pos] = False
        new = copy.copy(estimator)
        fit_X = estimator._fit_X
        if sp.issparse(fit_X):
            new._fit_X = fit_X[keep]
            new._fit_X.sort_indices()
        else:
            new._fit_X = np.delete(fit_X, pos, axis=0)
        new.n_samples_fit_ = new._fit_X.shape[0]
        details = {}
        if hasattr(estimator, "_y") and estimator._y is not None:
            new._y = estimator._y[keep]
            if hasattr(estimator, "classes_"):
                dropped = self._reencode(new, estimator)
                details["classes_removed"] = dropped
        method = _auto_method(new, new._fit_X)
        new._fit_method = method
        if method == "kd_tree":
            new._tree = KDTree(
                new._fit_X,
                new.leaf_size,
                metric=new.effective_metric_,
                **new.effective_metric_params_,
            )
        elif method == "ball_tree":
            new._tree = BallTree(
                new._fit_X,
                new.leaf_size,
                metric=new.effective_metric_,
                **new.effective_metric_params_,
            )
        else:
            new._tree = None
        details["index"] = method
        return UnlearnUpdate(
            attributes={"estimator_": new},
            strategy=self.name,
            exact=True,
            details=details,
        )

    @staticmethod
    def _reencode(new, est):
        """Drop classes without rows and re-encode ``_y`` like ``np.unique``."""
        y2 = new._y.reshape(new._y.shape[0], -1)
        classes = [est.classes_] if not est.outputs_2d_ else list(est.classes_)
        new_classes, new_y, dropped = [], np.empty_like(y2), 0
        for j, cls in enumerate(classes):
            counts = np.bincount(y2[:, j], minlength=len(cls))
            present = counts > 0
            remap = np.cumsum(present) - 1
            new_y[:, j] = remap[y2[:, j]]
            new_classes.append(cls[present])
            dropped += int((~present).sum())
        if est.outputs_2d_:
            new.classes_ = new_classes
            new._y = new_y
        else:
            new.classes_ = new_classes[0]
            new._y = new_y.ravel()
        if (
            isinstance(est, RadiusNeighborsClassifier)
            and isinstance(est.outlier_label, str)
            and est.outlier_label == "most_frequent"
        ):
            new.outlier_label_ = [
                c[np.bincount(new_y[:, j]).argmax()] for j, c in enumerate(new_classes)
            ]
        return dropped


for _est in _SUPPORTED:
    register_strategy(_est, NeighborsStrategy)
