"""One forgetting protocol: every strategy forgets through ``plan``."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler
from sklearn.svm import SVC

from skunlearn import Unlearnable
from skunlearn.base import ForgetPlan, UnlearnUpdate
from skunlearn.strategies import UnlearningStrategy, register_strategy
from skunlearn.strategies._base import _ANY_TYPE, _REGISTRY, ForgetRequest
from skunlearn.strategies.retrain import NativeStrategy, RetrainStrategy
from skunlearn.tree import UnlearningTreeClassifier

RNG = np.random.RandomState(0)
X = RNG.randn(80, 4)
Y = (X[:, 0] + 0.5 * RNG.randn(80) > 0).astype(np.int64)


def _all_strategies():
    seen = {RetrainStrategy, *(_ANY_TYPE)}
    for strategies in _REGISTRY.values():
        seen.update(strategies)
    return sorted(seen, key=lambda s: s.__name__)


@pytest.mark.parametrize("strategy", _all_strategies(), ids=lambda s: s.__name__)
def test_every_strategy_forgets_through_plan_only(strategy):
    # One method for a whole model and for a step of a composite: the
    # ledger-based unlearn and the step-only unlearn_step are gone.
    if strategy.__module__.startswith("skunlearn."):
        assert strategy.plan is not UnlearningStrategy.plan
        assert not hasattr(strategy, "unlearn")
        assert not hasattr(strategy, "unlearn_step")


MODELS = [
    Ridge(alpha=1.0),
    LinearRegression(),
    LogisticRegression(),
    GaussianNB(),
    KNeighborsClassifier(3),
    SVC(),
    make_pipeline(StandardScaler(), LogisticRegression()),
    make_pipeline(MinMaxScaler(), KNeighborsClassifier(3)),
    ColumnTransformer([("s", StandardScaler(), [0, 1]), ("m", MinMaxScaler(), [2])]),
    GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=3),
    UnlearningTreeClassifier(max_depth=4, random_state=0),
]


@pytest.mark.parametrize("est", MODELS, ids=lambda e: type(e).__name__)
def test_plan_changes_nothing_and_commit_equals_refit(est):
    model = Unlearnable(clone(est)).fit(X, Y)
    strategy = model.unlearn_strategy_
    if strategy.matches_rows_itself:
        # A model with its own unlearn keeps its own ledger: the wrapper
        # hands it the request (its own transaction).
        assert isinstance(strategy, NativeStrategy)
        assert "ledger_" not in vars(model)
        return
    before = pickle.dumps((model.estimator_, strategy, model.ledger_))
    match = model.ledger_.match(X[:7])
    request = ForgetRequest.from_ledger(model.ledger_, match, X[:7], {})
    plan = strategy.plan(model.estimator_, request)
    assert isinstance(plan, ForgetPlan)
    assert pickle.dumps((model.estimator_, strategy, model.ledger_)) == before
    # The same request through the model commits the plan.
    model.unlearn(X[:7])
    gold = clone(est).fit(X[7:], Y[7:])
    if hasattr(gold, "predict"):
        pred, ref = model.predict(X), gold.predict(X)
    else:
        pred, ref = model.transform(X), gold.transform(X)
    np.testing.assert_allclose(pred, ref, rtol=1e-6, atol=1e-8)


def test_a_step_request_has_no_ledger_and_gives_the_owner_result():
    # Ridge's closed form as a whole model and as a step: the same maths.
    model = Unlearnable(Ridge(alpha=2.0)).fit(X, Y.astype(float))
    strategy = model.unlearn_strategy_
    match = model.ledger_.match(X[:5])
    owner = strategy.plan(
        model.estimator_, ForgetRequest.from_ledger(model.ledger_, match, X[:5], {})
    )
    step = strategy.plan(
        model.estimator_,
        ForgetRequest(
            X=X[:5],
            y=Y[:5].astype(float),
            props={},
            retained=lambda: (X[5:], Y[5:].astype(float), {}),
        ),
    )
    np.testing.assert_array_equal(owner.estimator.coef_, step.estimator.coef_)
    assert owner.strategy == step.strategy == "closed_form"


class _LegacyRidge(Ridge):
    pass


class _LegacyStrategy(UnlearningStrategy):
    """A strategy written for skunlearn 0.1 (``unlearn(estimator, ledger, ...)``)."""

    name = "legacy_for_tests"
    keeps_rows = True

    @classmethod
    def supports(cls, estimator):
        return isinstance(estimator, _LegacyRidge)

    def fit(self, estimator, X, y, fit_params):
        return estimator.fit(X, y, **fit_params)

    def unlearn(self, estimator, ledger, match, X, y, params):
        X_r, y_r, props_r = ledger.take(ledger.retained(exclude=match.rows))
        return UnlearnUpdate(
            attributes={"estimator_": clone(estimator).fit(X_r, y_r)},
            strategy=self.name,
        )


def test_legacy_strategies_keep_working_for_one_release():
    register_strategy(_LegacyRidge, _LegacyStrategy)
    try:
        y = Y.astype(float)
        model = Unlearnable(_LegacyRidge()).fit(X, y)
        with pytest.warns(FutureWarning, match="implement plan"):
            model.unlearn(X[:4])
        np.testing.assert_allclose(
            model.coef_, Ridge().fit(X[4:], y[4:]).coef_, rtol=1e-10
        )
        assert model.unlearn_history_[-1]["strategy"] == "legacy_for_tests"
        # Inside a composite there is no ledger to hand it: the step is refit.
        pipe = make_pipeline(FunctionTransformer(), _LegacyRidge())
        pipe = Unlearnable(pipe).fit(X, y)
        with pytest.warns(FutureWarning):
            pipe.unlearn(X[:4])
        gold = Ridge().fit(X[4:], y[4:])
        np.testing.assert_allclose(pipe.predict(X), gold.predict(X), rtol=1e-9)
    finally:
        _REGISTRY.pop(_LegacyRidge, None)


@pytest.mark.parametrize("wrap", ["unlearnable", "skunlearn_pipeline"])
def test_text_pipeline_forgets_documents(wrap):
    # A pipeline whose first step takes 1-D input (documents) is asked to
    # forget documents, not 2-D rows.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB

    from skunlearn.pipeline import make_pipeline as u_make_pipeline

    words = ["apple", "banana", "cherry", "dates", "eggs"]
    rng = np.random.RandomState(0)
    docs = [" ".join(rng.choice(words, 4)) + f" w{i}" for i in range(40)]
    y = rng.randint(0, 2, 40)
    if wrap == "unlearnable":
        model = Unlearnable(make_pipeline(TfidfVectorizer(), MultinomialNB()))
    else:
        model = u_make_pipeline(TfidfVectorizer(), MultinomialNB())
    model.fit(docs, y).unlearn(docs[:3])
    gold = make_pipeline(TfidfVectorizer(), MultinomialNB()).fit(docs[3:], y[3:])
    np.testing.assert_allclose(model.predict_proba(docs), gold.predict_proba(docs))
