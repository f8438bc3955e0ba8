"""Decision trees built for deletion."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin

from ..utils._sklearn_compat import StrOptions
from ._base import _BaseUnlearningForest

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["UnlearningTreeClassifier", "UnlearningTreeRegressor"]

_DOC_STATE = """
    Every random choice is a hash of (``random_state``, tree, node path,
    feature, value) or of the row's content fingerprint, never a draw from a
    stream, so :meth:`unlearn` gives the very model that ``fit`` on the
    retained rows gives with the same ``random_state``: same nodes, splits,
    thresholds, values and predictions.

    A node draws its candidate features (``max_features`` of them) from its
    path, and for each the ``n_thresholds`` distinct values of its rows with
    the smallest hash; it splits ``x <= value`` at the candidate that most
    decreases the impurity (ties: lowest feature, then lowest value).

    A batch that forgets at least 2% of the remaining rows is forgotten by a
    refit on the retained rows with the same ``random_state``: the same
    model, and faster there than rebuilding most of it
    (``unlearn_history_`` records the strategy ``"refit"``).

    Nothing of a forgotten row stays: its content is erased at once, and its
    row id goes from every per-row structure (the ledger, the tree's rows per
    node) when the forgotten rows are renumbered away, after each request
    for models of up to about 7,000 rows, else once they make more than 1/64
    of the row slots, and always before the model is pickled or copied. The
    renumbered model equals, array for array, the one ``fit`` on the
    retained rows builds.
"""


class UnlearningTreeClassifier(ClassifierMixin, _BaseUnlearningForest):
    """A decision tree classifier that forgets rows exactly and fast.
    %(state)s
    Deleting rows decrements the cached class counts of every candidate split
    on their path (nodes with at least 128 rows), re-evaluates the smaller
    nodes from their rows, and clears only the subtrees whose split changes
    (they grow again at the next read: a prediction, a save).

    Parameters
    ----------
    criterion : {"gini", "entropy", "log_loss"}, default="gini"
        Impurity measure ("log_loss" is "entropy").

    max_depth : int, default=None
        Maximum depth; None grows until leaves are pure or too small.

    min_samples_split : int, default=2
        Minimum number of rows in a node to split it.

    min_samples_leaf : int, default=1
        Minimum number of rows in each child of a split.

    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Number of candidate features per node (all when None).

    n_thresholds : int, default=5
        Candidate thresholds per feature and node (at most 32).

    random_state : int, RandomState instance or None, default=None
        Seed of every hashed choice. With None, a seed is drawn at ``fit``.

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
        Normalized total impurity decrease per feature.

    seed_ : int
        Seed the hashes used.

    trees_ : list
        The fitted tree (internal arrays: after a request they may hold
        subtrees waiting to grow, which any read grows first; see
        :meth:`tree_structure`).

    ledger_ : TrainingLedger
        Fingerprints, targets and the training rows (kept to rebuild subtrees).
        Memory: the ledger keeps about ``8 * n_features + 49`` bytes per
        training row (the row itself, needed to rebuild subtrees, its
        fingerprint index and target); the tree adds 4 bytes per row (its place
        in the tree), about 170 bytes per node, and for the classifier about
        ``16 * max_features * n_thresholds * (n_classes + 4)`` bytes per node of
        at least 128 rows (cached split statistics).

    unlearn_history_ : list of dict
        One record per :meth:`unlearn` call.

    See Also
    --------
    skunlearn.ensemble.UnlearningForestClassifier : A forest of these trees.
    sklearn.tree.DecisionTreeClassifier : The scikit-learn tree.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skunlearn.tree import UnlearningTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> tree = UnlearningTreeClassifier(random_state=0).fit(X, y)
    >>> tree = tree.unlearn(X[:5], y[:5])
    >>> gold = UnlearningTreeClassifier(random_state=0).fit(X[5:], y[5:])
    >>> bool((tree.predict_proba(X) == gold.predict_proba(X)).all())
    True
    """

    _parameter_constraints = {**_BaseUnlearningForest._parameter_constraints}
    _parameter_constraints["criterion"] = [StrOptions({"gini", "entropy", "log_loss"})]

    def __init__(
        self,
        *,
        criterion: Literal["gini", "entropy", "log_loss"] = "gini",
        max_depth: int | None = None,
        min_samples_split: int = 2,
        min_samples_leaf: int = 1,
        max_features: int | float | Literal["sqrt", "log2"] | None = None,
        n_thresholds: int = 5,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.n_thresholds = n_thresholds
        self.random_state = random_state

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Class probabilities: the class fractions of the leaf each row reaches.

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


class UnlearningTreeRegressor(RegressorMixin, _BaseUnlearningForest):
    """A decision tree regressor (squared error) that forgets rows exactly.
    %(state)s
    Split statistics of real targets cannot be decremented exactly in floating
    point, so deleting rows re-evaluates the nodes on their paths from the
    nodes' rows (in the order a refit uses, so sums agree bit for bit) and
    clears only the subtrees whose split changes (they grow again at the
    next read).

    Parameters
    ----------
    criterion : {"squared_error"}, default="squared_error"
        Impurity measure.

    max_depth : int, default=None
        Maximum depth; None grows until leaves are pure or too small.

    min_samples_split : int, default=2
        Minimum number of rows in a node to split it.

    min_samples_leaf : int, default=1
        Minimum number of rows in each child of a split.

    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Number of candidate features per node (all when None).

    n_thresholds : int, default=5
        Candidate thresholds per feature and node (at most 32).

    random_state : int, RandomState instance or None, default=None
        Seed of every hashed choice. With None, a seed is drawn at ``fit``.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when they are strings.

    feature_importances_ : ndarray of shape (n_features,)
        Normalized total impurity decrease per feature.

    seed_ : int
        Seed the hashes used.

    trees_ : list
        The fitted tree (internal arrays: after a request they may hold
        subtrees waiting to grow, which any read grows first; see
        :meth:`tree_structure`).

    ledger_ : TrainingLedger
        Fingerprints, targets and the training rows (kept to rebuild subtrees).
        Memory: the ledger keeps about ``8 * n_features + 49`` bytes per
        training row (the row itself, needed to rebuild subtrees, its
        fingerprint index and target); the tree adds 4 bytes per row (its place
        in the tree), about 170 bytes per node, and for the classifier about
        ``16 * max_features * n_thresholds * (n_classes + 4)`` bytes per node of
        at least 128 rows (cached split statistics).

    unlearn_history_ : list of dict
        One record per :meth:`unlearn` call.

    See Also
    --------
    skunlearn.ensemble.UnlearningForestRegressor : A forest of these trees.
    sklearn.tree.DecisionTreeRegressor : The scikit-learn tree.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skunlearn.tree import UnlearningTreeRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> tree = UnlearningTreeRegressor(max_depth=4, random_state=0).fit(X, y)
    >>> tree = tree.unlearn(X[:5], y[:5])
    >>> gold = UnlearningTreeRegressor(max_depth=4, random_state=0).fit(X[5:], y[5:])
    >>> bool((tree.predict(X) == gold.predict(X)).all())
    True
    """

    _is_classifier = False
    _parameter_constraints = {**_BaseUnlearningForest._parameter_constraints}
    _parameter_constraints["criterion"] = [StrOptions({"squared_error"})]

    def __init__(
        self,
        *,
        criterion: Literal["squared_error"] = "squared_error",
        max_depth: int | None = None,
        min_samples_split: int = 2,
        min_samples_leaf: int = 1,
        max_features: int | float | Literal["sqrt", "log2"] | None = None,
        n_thresholds: int = 5,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.n_thresholds = n_thresholds
        self.random_state = random_state

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Mean target of the leaf each row reaches.

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


UnlearningTreeClassifier.__doc__ = (UnlearningTreeClassifier.__doc__ or "") % {
    "state": _DOC_STATE
}
UnlearningTreeRegressor.__doc__ = (UnlearningTreeRegressor.__doc__ or "") % {
    "state": _DOC_STATE
}
