"""The cases ``skunlearn demo`` runs: one row per estimator family.

Each family appends one :class:`DemoCase` here. A case names a bundled
scikit-learn data set and builds an unfitted unlearning estimator; the demo
runs the five-step audit on it (fit, choose forget rows, unlearn, retrain the
gold standard, compare).
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass
from typing import Callable

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

    return Unlearnable(make_pipeline(StandardScaler(), LogisticRegression()), strategy="retrain")


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
    DemoCase("neural net (skorch), approximate", "digits", _skorch_mlp),
]
