"""The cases ``skunlearn demo`` runs: one row per estimator family.

Each family appends one :class:`DemoCase` here. A case names a bundled
scikit-learn data set and builds an unfitted unlearning estimator; the demo
runs the five-step audit on it (fit, choose forget rows, unlearn, retrain the
gold standard, compare).
"""

# SPDX-License-Identifier: BSD-3-Clause

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DEMO_CASES", "DemoCase"]


@dataclass(frozen=True)
class DemoCase:
    """One row of the demo table.

    Parameters
    ----------
    family : str
        The estimator family, as shown in the table.
    dataset : {"diabetes", "breast_cancer", "digits", "wine", "iris"}
        A data set bundled with scikit-learn.
    make_estimator : callable
        Returns a new, unfitted unlearning estimator.
    """

    family: str
    dataset: str
    make_estimator: Callable


def _ridge():
    from sklearn.linear_model import Ridge

    from .wrapper import Unlearnable

    return Unlearnable(Ridge(alpha=1.0))


def _retrain_logistic():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .wrapper import Unlearnable

    return Unlearnable(
        make_pipeline(StandardScaler(), LogisticRegression()), strategy="retrain"
    )


def _deletion_forest():
    from .ensemble import UnlearningForestClassifier

    return UnlearningForestClassifier(n_estimators=50, random_state=0)


def _gradient_boosting():
    from .ensemble import UnlearningGradientBoostingClassifier

    return UnlearningGradientBoostingClassifier(random_state=0)


def _sisa_trees():
    from sklearn.tree import DecisionTreeClassifier

    from .ensemble import SISAClassifier

    return SISAClassifier(DecisionTreeClassifier(), n_shards=5, random_state=0)


def _pipeline():
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    from .pipeline import make_pipeline

    return make_pipeline(StandardScaler(), Ridge(alpha=1.0))


def _logistic_warm_start():
    from sklearn.linear_model import LogisticRegression

    from .wrapper import Unlearnable

    # newton-cholesky converges on the unscaled features, where lbfgs would
    # stop at max_iter.
    return Unlearnable(LogisticRegression(solver="newton-cholesky", tol=1e-10))


def _naive_bayes():
    from sklearn.naive_bayes import MultinomialNB

    from .wrapper import Unlearnable

    return Unlearnable(MultinomialNB())


def _neighbors():
    from sklearn.neighbors import KNeighborsClassifier

    from .wrapper import Unlearnable

    return Unlearnable(KNeighborsClassifier(n_neighbors=5))


def _dc_kmeans():
    from .cluster import DCKMeans

    return DCKMeans(n_clusters=3, n_leaves=8, branching=4, random_state=0)


def _skorch_mlp():
    # Raises ImportError without the ``nn`` extra (torch, skorch); the demo
    # runner skips the case with a note.
    import torch

    from .neural_net import UnlearningNeuralNetClassifier

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    )
    return UnlearningNeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=30,
        verbose=0,
        iterator_train__shuffle=True,
    )


DEMO_CASES = [
    DemoCase("linear, closed form (Ridge)", "diabetes", _ridge),
    DemoCase("any estimator, retrain fallback", "breast_cancer", _retrain_logistic),
    DemoCase("pipeline, fused scaler + closed form", "diabetes", _pipeline),
    DemoCase("SISA shard ensemble (trees)", "digits", _sisa_trees),
    DemoCase(
        "convex, warm start (LogisticRegression)", "breast_cancer", _logistic_warm_start
    ),
    DemoCase("naive Bayes counts (MultinomialNB)", "digits", _naive_bayes),
    DemoCase("nearest neighbours index (KNeighbors)", "wine", _neighbors),
    DemoCase("k-means, divide and conquer (DCKMeans)", "iris", _dc_kmeans),
    DemoCase("neural net (skorch), approximate", "digits", _skorch_mlp),
    DemoCase("random forest built for deletion", "digits", _deletion_forest),
    DemoCase(
        "gradient boosting built for deletion", "breast_cancer", _gradient_boosting
    ),
]
