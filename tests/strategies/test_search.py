"""Unlearning a fitted search, and searching over unlearning estimators."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import Unlearnable
from skunlearn.utils.estimator_checks import check_unlearning

RNG = np.random.RandomState(0)
X = RNG.randn(150, 4)
Y = X @ RNG.randn(4) + RNG.randn(150) * 0.5


def _searches():
    pipe = sk_make_pipeline(StandardScaler(), Ridge())
    return [
        GridSearchCV(Ridge(), {"alpha": [0.01, 1.0, 100.0]}, cv=3),
        GridSearchCV(pipe, {"ridge__alpha": [0.1, 10.0]}, cv=3),
        RandomizedSearchCV(
            Ridge(), {"alpha": [0.01, 0.1, 1.0, 10.0]}, n_iter=3, cv=3, random_state=0
        ),
    ]


@pytest.mark.parametrize("search", _searches(), ids=["grid", "grid-pipeline", "random"])
def test_search_unlearns_best_estimator(search):
    model = Unlearnable(search).fit(X, Y)
    params_before = model.best_params_
    model.unlearn(X[:12])
    record = model.unlearn_history_[-1]
    assert record["strategy"] == "search" and record["exact"]
    assert record["details"]["search_redone"] is False
    assert model.best_params_ == params_before  # hyperparameters kept
    gold = clone(model.estimator_.best_estimator_).fit(X[12:], Y[12:])
    np.testing.assert_allclose(model.predict(X), gold.predict(X), rtol=1e-9)
    assert model.ledger_.n_rows == len(X) - 12


@pytest.mark.parametrize("search", _searches(), ids=["grid", "grid-pipeline", "random"])
def test_refit_search_equals_search_on_retained_rows(search):
    model = Unlearnable(search).fit(X, Y)
    model.unlearn(X[:12], refit_search=True)
    gold = clone(search).fit(X[12:], Y[12:])
    assert model.best_params_ == gold.best_params_
    np.testing.assert_allclose(
        model.cv_results_["mean_test_score"],
        gold.cv_results_["mean_test_score"],
        rtol=1e-9,
    )
    np.testing.assert_allclose(model.predict(X), gold.predict(X), rtol=1e-9)
    assert model.unlearn_history_[-1]["details"]["search_redone"] is True


def test_search_check_unlearning_with_classifier():
    y = (Y > 0).astype(int)
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3)
    result = check_unlearning(Unlearnable(search), X, y, forget=10, rtol=1e-6)
    assert result["unlearned"].best_params_ == result["gold"].best_params_


def test_search_rejects_unknown_unlearn_params():
    model = Unlearnable(_searches()[0]).fit(X, Y)
    with pytest.raises(TypeError, match="refit_search"):
        model.unlearn(X[:2], redo=True)
    assert model.unlearn_history_ == []


def test_search_over_unlearnable_and_cross_validate():
    search = GridSearchCV(
        Unlearnable(Ridge()), {"estimator__alpha": [0.01, 1.0, 100.0]}, cv=3
    )
    search.fit(X, Y)
    plain = GridSearchCV(Ridge(), {"alpha": [0.01, 1.0, 100.0]}, cv=3).fit(X, Y)
    assert search.best_params_["estimator__alpha"] == plain.best_params_["alpha"]
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"],
        plain.cv_results_["mean_test_score"],
        rtol=1e-9,
    )
    best = search.best_estimator_
    best.unlearn(X[:5])
    gold = Ridge(alpha=plain.best_params_["alpha"]).fit(X[5:], Y[5:])
    np.testing.assert_allclose(best.coef_, gold.coef_, rtol=1e-9)

    cv = cross_validate(Unlearnable(Ridge()), X, Y, cv=3, return_estimator=True)
    cv_plain = cross_validate(Ridge(), X, Y, cv=3)
    np.testing.assert_allclose(cv["test_score"], cv_plain["test_score"], rtol=1e-9)
    assert all(hasattr(e, "unlearn") for e in cv["estimator"])


@parametrize_with_checks(
    [Unlearnable(GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=2))],
    expected_failed_checks=lambda est: {
        "check_supervised_y_2d": "scikit-learn's GridSearchCV(Ridge()) fails it too: "
        "the search does not declare Ridge's multi-output support"
    },
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
