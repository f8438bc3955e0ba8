"""An estimator whose ``fit`` kills its process on demand (importable by joblib
workers, which unpickle it by reference)."""

import os

from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class DyingClassifier(ClassifierMixin, BaseEstimator):
    """LogisticRegression that ends its process when ``kill_file`` exists."""

    def __init__(self, kill_file=None):
        self.kill_file = kill_file

    def fit(self, X, y, sample_weight=None):
        if self.kill_file and os.path.exists(self.kill_file):
            os._exit(3)  # a worker that dies: no exception, no cleanup
        self.model_ = LogisticRegression().fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)
