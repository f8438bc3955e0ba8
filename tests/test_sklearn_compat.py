"""scikit-learn's own estimator checks on the unlearning wrappers."""

from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
)
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import Unlearnable

ESTIMATORS = [
    Unlearnable(LinearRegression()),
    Unlearnable(Ridge()),
    Unlearnable(RidgeClassifier()),
    Unlearnable(LogisticRegression()),
    Unlearnable(LogisticRegression(), strategy="retrain"),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
