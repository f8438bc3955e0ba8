"""Random forests built for deletion: exact, fast ``unlearn``."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin

from ..tree._base import _BaseUnlearningForest
from ..utils._sklearn_compat import Interval, StrOptions

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["UnlearningForestClassifier", "UnlearningForestRegressor"]

_FOREST_CONSTRAINTS = {
    **_BaseUnlearningForest._parameter_constraints,
    "n_estimators": [Interval(numbers.Integral, 1, None, closed="left")],
    "bootstrap": ["boolean"],
    "max_samples": [Interval(numbers.Real, 0, 1, closed="right"), None],
    "n_jobs": [numbers.Integral, None],
    "verbose": ["verbose"],
}

_DOC_COMMON = """
    Each tree is an :class:`~skunlearn.tree.UnlearningTreeClassifier`-style
    tree. A row's bootstrap multiplicity in a tree is a Poisson(1) draw made
    from a hash of (``random_state``, tree, the row's content fingerprint),
    not from its position, and every other random choice is a hash of
    (``random_state``, tree, node path, feature, value): after
    :meth:`unlearn`, the forest is the very forest that ``fit`` on the
    retained rows builds with the same ``random_state``, tree for tree and
    node for node.

    A batch that forgets at least 2% of the remaining rows is forgotten by a
    refit on the retained rows with the same ``random_state``: the same
    model, and faster there than rebuilding most of it
    (``unlearn_history_`` records the strategy ``"refit"``).

    Nothing of a forgotten row stays: its content is erased at once, and its
    row id goes from every per-row structure (the ledger, each tree's rows per
    node) when the forgotten rows are renumbered away, after each request
    for forests of up to ``65536 / (n_estimators + 8)`` rows (256 at least),
    else once they make more than 1/64 of the row slots, and always before
    the model is pickled or copied. The renumbered forest equals, array for array, the
    one ``fit`` on the retained rows builds.
"""


class UnlearningForestClassifier(ClassifierMixin, _BaseUnlearningForest):
    """A random forest classifier with exact, fast deletion.
    %(common)s
    A deletion decrements the cached class counts of every candidate split
    (nodes with at least 128 rows; ``128 * max_samples``, at least 16, where
    ``max_samples < 1``) on the forgotten rows' paths, re-evaluates
    smaller nodes from their rows, and clears only the subtrees whose best
    split changes; a batch shares the work per tree. The cleared subtrees
    grow again when the model is next read (a prediction, a save): a stream
    of requests grows each once. ``partial_fit`` adds rows the same way.

    Memory: the ledger keeps about ``8 * n_features + 49`` bytes per training
    row (the row itself, needed to rebuild subtrees, its fingerprint index and
    target); each tree adds 4 bytes per row it holds (0.63 of them on average
    with ``bootstrap``), about 170 bytes per node, and
    ``16 * max_features * n_thresholds * (n_classes + 4)`` bytes per node that
    caches split statistics (smaller trees cache smaller nodes: about as much
    per training row). With 100 trees of depth 10 on 80,000 rows of 20
    features (binary) this is about 1.7 KB per training row, some 11 times the
    training data; ``benchmarks/bench_forest.py`` prints the figure.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.

    criterion : {"gini", "entropy", "log_loss"}, default="gini"
        Impurity measure ("log_loss" is "entropy").

    max_depth : int, default=None
        Maximum depth; None grows until leaves are pure or too small.

    min_samples_split : int, default=2
        Minimum number of rows in a node to split it.

    min_samples_leaf : int, default=1
        Minimum number of rows in each child of a split.

    max_features : int, float, {"sqrt", "log2"} or None, default="sqrt"
        Number of candidate features per node.

    n_thresholds : int, default=5
        Candidate thresholds per feature and node (at most 32).

    bootstrap : bool, default=True
        Whether each tree sees a Poisson(1) bootstrap of the rows.

    max_samples : float in (0, 1] or None, default=None
        With ``bootstrap``, a row's multiplicity in a tree is a
        Poisson(``max_samples``) draw (None: 1): each tree sees about this
        share of the rows, and a row lives in a share
        ``1 - exp(-max_samples)`` of the trees (63%% at 1, 10%% at 0.1), so a
        deletion touches that many trees and fitting is faster. As
        scikit-learn's ``max_samples``, smaller values make the trees more
        different and each one weaker.

    n_jobs : int, default=None
        Number of threads growing trees, and updating them in :meth:`unlearn`
        (``-1``: all cores). In :meth:`unlearn`, the threads take chunks of
        trees; when the model is next read, the subtrees to grow again
        (largest first, a large one split into pieces); the result does not
        depend on it.

    random_state : int, RandomState instance or None, default=None
        Seed of every hashed choice. With None, a seed is drawn at ``fit``.

    verbose : int, default=0
        Unused; kept for scikit-learn compatibility.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    n_classes_ : int
        Number of classes.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when they are strings.

    feature_importances_ : ndarray of shape (n_features,)
        Mean decrease in impurity, averaged over trees.

    seed_ : int
        Seed the hashes used.

    trees_ : list
        The fitted trees (internal arrays: after a request they may hold
        subtrees waiting to grow, which any read grows first; see
        :meth:`tree_structure`).

    ledger_ : TrainingLedger
        Fingerprints, targets and the training rows.

    unlearn_history_ : list of dict
        One record per :meth:`unlearn` call.

    See Also
    --------
    skunlearn.tree.UnlearningTreeClassifier : One such tree.
    sklearn.ensemble.RandomForestClassifier : The scikit-learn forest.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skunlearn.ensemble import UnlearningForestClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> forest = UnlearningForestClassifier(n_estimators=10, random_state=0)
    >>> forest = forest.fit(X, y).unlearn(X[:10], y[:10])
    >>> gold = UnlearningForestClassifier(n_estimators=10, random_state=0)
    >>> gold = gold.fit(X[10:], y[10:])
    >>> bool((forest.predict_proba(X) == gold.predict_proba(X)).all())
    True
    """

    _parameter_constraints = {**_FOREST_CONSTRAINTS}
    _parameter_constraints["criterion"] = [StrOptions({"gini", "entropy", "log_loss"})]
    _n_trees_param = "n_estimators"
    _bootstrap_param = "bootstrap"

    def __init__(
        self,
        n_estimators: int = 100,
        *,
        criterion: Literal["gini", "entropy", "log_loss"] = "gini",
        max_depth: int | None = None,
        min_samples_split: int = 2,
        min_samples_leaf: int = 1,
        max_features: int | float | Literal["sqrt", "log2"] | None = "sqrt",
        n_thresholds: int = 5,
        bootstrap: bool = True,
        max_samples: float | None = None,
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.n_thresholds = n_thresholds
        self.bootstrap = bootstrap
        self.max_samples = max_samples
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Class probabilities: the trees' leaf class fractions, averaged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return self._mean_values(X)

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The class of highest probability (ties: the first in ``classes_``).
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class UnlearningForestRegressor(RegressorMixin, _BaseUnlearningForest):
    """A random forest regressor (squared error) with exact deletion.
    %(common)s
    Split statistics of real targets cannot be decremented exactly in floating
    point, so a deletion re-evaluates the nodes on the forgotten rows' paths
    from the nodes' rows (in the order a refit uses: sums agree bit for bit)
    and clears only the subtrees whose split changes (they grow again at the
    next read).

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.

    criterion : {"squared_error"}, default="squared_error"
        Impurity measure.

    max_depth : int, default=None
        Maximum depth; None grows until leaves are pure or too small.

    min_samples_split : int, default=2
        Minimum number of rows in a node to split it.

    min_samples_leaf : int, default=1
        Minimum number of rows in each child of a split.

    max_features : int, float, {"sqrt", "log2"} or None, default=1.0
        Number of candidate features per node.

    n_thresholds : int, default=5
        Candidate thresholds per feature and node (at most 32).

    bootstrap : bool, default=True
        Whether each tree sees a Poisson(1) bootstrap of the rows.

    max_samples : float in (0, 1] or None, default=None
        With ``bootstrap``, a row's multiplicity in a tree is a
        Poisson(``max_samples``) draw (None: 1): each tree sees about this
        share of the rows, and a row lives in a share
        ``1 - exp(-max_samples)`` of the trees (63%% at 1, 10%% at 0.1), so a
        deletion touches that many trees and fitting is faster. As
        scikit-learn's ``max_samples``, smaller values make the trees more
        different and each one weaker.

    n_jobs : int, default=None
        Number of threads growing trees, and updating them in :meth:`unlearn`
        (``-1``: all cores). In :meth:`unlearn`, the threads take chunks of
        trees; when the model is next read, the subtrees to grow again
        (largest first, a large one split into pieces); the result does not
        depend on it.

    random_state : int, RandomState instance or None, default=None
        Seed of every hashed choice. With None, a seed is drawn at ``fit``.

    verbose : int, default=0
        Unused; kept for scikit-learn compatibility.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when they are strings.

    feature_importances_ : ndarray of shape (n_features,)
        Mean decrease in impurity, averaged over trees.

    seed_ : int
        Seed the hashes used.

    trees_ : list
        The fitted trees (internal arrays: after a request they may hold
        subtrees waiting to grow, which any read grows first; see
        :meth:`tree_structure`).

    ledger_ : TrainingLedger
        Fingerprints, targets and the training rows.

    unlearn_history_ : list of dict
        One record per :meth:`unlearn` call.

    See Also
    --------
    skunlearn.tree.UnlearningTreeRegressor : One such tree.
    sklearn.ensemble.RandomForestRegressor : The scikit-learn forest.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skunlearn.ensemble import UnlearningForestRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> forest = UnlearningForestRegressor(n_estimators=10, random_state=0)
    >>> forest = forest.fit(X, y).unlearn(X[:10], y[:10])
    >>> gold = UnlearningForestRegressor(n_estimators=10, random_state=0)
    >>> gold = gold.fit(X[10:], y[10:])
    >>> bool((forest.predict(X) == gold.predict(X)).all())
    True
    """

    _is_classifier = False
    _parameter_constraints = {**_FOREST_CONSTRAINTS}
    _parameter_constraints["criterion"] = [StrOptions({"squared_error"})]
    _n_trees_param = "n_estimators"
    _bootstrap_param = "bootstrap"

    def __init__(
        self,
        n_estimators: int = 100,
        *,
        criterion: Literal["squared_error"] = "squared_error",
        max_depth: int | None = None,
        min_samples_split: int = 2,
        min_samples_leaf: int = 1,
        max_features: int | float | Literal["sqrt", "log2"] | None = 1.0,
        n_thresholds: int = 5,
        bootstrap: bool = True,
        max_samples: float | None = None,
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.n_thresholds = n_thresholds
        self.bootstrap = bootstrap
        self.max_samples = max_samples
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Mean of the trees' leaf means.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The predicted targets.
        """
        return self._mean_values(X)[:, 0]


UnlearningForestClassifier.__doc__ = (UnlearningForestClassifier.__doc__ or "") % {
    "common": _DOC_COMMON
}
UnlearningForestRegressor.__doc__ = (UnlearningForestRegressor.__doc__ or "") % {
    "common": _DOC_COMMON
}
