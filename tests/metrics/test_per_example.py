"""The per-example attack with shadow models (U-LiRA)."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError

from skunlearn import Unlearnable
from skunlearn.base import UnlearningMixin, UnlearnUpdate
from skunlearn.metrics import membership_inference_interval, per_example_attack

FAST = {"n_shadow": 8, "n_target": 8, "n_resamples": 200}


class ForgetsNothing(UnlearningMixin, ClassifierMixin, BaseEstimator):
    """A scaled logistic regression whose ``unlearn`` changes nothing."""

    _unlearning_guarantee = "approximate"

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C))
        self.model_.fit(X, y)
        self.classes_ = self.model_.classes_
        self._init_ledger(X, y, keep_X=False)
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def _unlearn(self, match, X, y, **params):
        return UnlearnUpdate(attributes={}, strategy="noop", exact=False)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    rows = np.random.RandomState(0).permutation(y.size)[:250]
    return X[rows], y[rows]


def _exact_logistic():
    return Unlearnable(make_pipeline(StandardScaler(), LogisticRegression()))


@pytest.mark.parametrize(
    "estimator",
    [_exact_logistic(), Unlearnable(DecisionTreeClassifier(random_state=0))],
    ids=["logistic", "tree"],
)
def test_an_exact_family_cannot_be_told_from_retraining(cancer, estimator):
    X, y = cancer
    r = per_example_attack(estimator, X, y, np.arange(30), **FAST)
    # an exact unlearner is its refit: every pair is one model
    assert r["auc"] == pytest.approx(0.5, abs=0.02)
    assert r["auc_low"] <= 0.5 <= r["auc_high"]
    assert r["accuracy"] == pytest.approx(0.5, abs=0.02)
    assert r["shift"] == pytest.approx(0.0, abs=1e-6)
    assert r["statistic"] == "logit_confidence"
    assert r["example_auc"].shape == (30,)
    assert r["n_runs"] == 16 and r["n_fits"] == 32
    # every row forgotten in half of the shadow runs and half the target runs
    assert r["n_observations"] == 30 * 4


def test_an_unlearner_that_forgets_nothing_is_caught(cancer):
    X, y = cancer
    r = per_example_attack(ForgetsNothing(), X, y, np.arange(30), **FAST)
    assert r["auc"] > 0.9 and r["auc_low"] > 0.75
    assert r["accuracy_low"] > 0.6
    assert r["shift"] > 0 and r["shift_low"] > 0  # it still fits the rows better
    assert np.nanmean(r["example_auc"]) > 0.8
    per_row = per_example_attack(
        ForgetsNothing(), X, y, np.arange(30), variance="per_example", **FAST
    )
    assert per_row["auc_low"] > 0.75 and per_row["variance"] == "per_example"


def test_it_sees_what_a_population_attack_misses():
    # one Newton step (approximate) on a weakly regularised logistic
    # regression: as a group, the forgotten rows look like never-seen rows;
    # row by row, the unlearned models differ from retraining (here they
    # overshoot: they fit the forgotten rows worse than a refit does)
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rows = np.random.RandomState(0).permutation(y.size)
    X, y = X[rows], y[rows]
    est = Unlearnable(
        LogisticRegression(C=100, max_iter=1000), strategy="newton_removal"
    )
    forget = np.arange(40)
    r = per_example_attack(est, X[:300], y[:300], forget, **FAST)
    assert r["auc_low"] > 0.5 and r["accuracy"] > 0.5
    unlearned = est.fit(X[:300], y[:300]).unlearn(X[forget], y[forget])
    population = membership_inference_interval(
        unlearned, X[forget], y[forget], X[300:], y[300:], n_resamples=200
    )
    assert population["auc_low"] < 0.5 < population["auc_high"]


def test_regression_uses_the_residual():
    X, y = load_diabetes(return_X_y=True)
    r = per_example_attack(
        Unlearnable(Ridge()), X[:200], y[:200], np.arange(20), **FAST
    )
    assert r["statistic"] == "residual"
    assert r["auc"] == 0.5 and r["accuracy"] == 0.5


def test_seeded_and_deterministic(cancer):
    X, y = cancer
    est = Unlearnable(
        LogisticRegression(C=100, max_iter=1000), strategy="newton_removal"
    )
    X = StandardScaler().fit_transform(X)
    mask = np.zeros(y.size, dtype=bool)
    mask[:20] = True
    a = per_example_attack(est, X, y, mask, random_state=3, **FAST)
    b = per_example_attack(est, X, y, np.arange(20), random_state=3, **FAST)
    c = per_example_attack(est, X, y, mask, random_state=4, **FAST)
    for key in a:
        if key == "seconds":
            continue
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert a["auc"] != c["auc"]
    # one shared original: the same result for a deterministic fit, a fit
    # fewer per run
    d = per_example_attack(est, X, y, mask, random_state=3, share_original=True, **FAST)
    assert d["auc"] == a["auc"] and d["n_fits"] == a["n_runs"] + 1


@pytest.mark.parametrize(
    "forget, message",
    [
        (np.ones(3, dtype=bool), r"shape \(250,\)"),
        (np.zeros(250, dtype=bool), "no row"),
        (np.ones(250, dtype=bool), "every training row"),
        ([0, 250], r"outside \[0, 250\)"),
        ([1, 1, 2], "more than once"),
        (np.array([0.5, 1.0]), "boolean mask .* integer positions"),
    ],
)
def test_bad_forget_sets_say_what_is_wrong(cancer, forget, message):
    X, y = cancer
    with pytest.raises(ValueError, match=message):
        per_example_attack(_exact_logistic(), X, y, forget)


def test_bad_parameters_say_what_is_wrong(cancer):
    X, y = cancer
    with pytest.raises(InvalidParameterError, match="n_shadow"):
        per_example_attack(_exact_logistic(), X, y, [0, 1], n_shadow=2)
    with pytest.raises(InvalidParameterError, match="variance"):
        per_example_attack(_exact_logistic(), X, y, [0, 1], variance="local")
    with pytest.raises(InvalidParameterError, match="unlearn"):
        per_example_attack(LogisticRegression(), X, y, [0, 1])
    with pytest.raises(ValueError, match="X has 250 rows but y has 249"):
        per_example_attack(_exact_logistic(), X, y[:-1], [0, 1])
