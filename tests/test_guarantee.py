"""``unlearning_guarantee`` is decided from parameters: the same before and after fit.

Strategies are objects with class constants (``exact``, ``keeps_rows``...);
what ``fit`` learns about the data is stored under a trailing underscore, so
that a class constant never changes on an instance.
"""

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import FeatureUnion
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from skunlearn import Unlearnable
from skunlearn.ensemble import SISAClassifier, UnlearningForestClassifier
from skunlearn.pipeline import Pipeline
from skunlearn.pipeline import make_pipeline as su_make_pipeline
from skunlearn.strategies import UnlearningStrategy, get_strategy, register_strategy
from skunlearn.strategies._base import _REGISTRY


# An approximate strategy, registered for two subclasses only: it stands for
# any approximate unlearner (e.g. a neural net) without the cost of one.
class ApproxRidge(Ridge):
    pass


class ApproxScaler(StandardScaler):
    pass


class ApproxStrategy(UnlearningStrategy):
    """Refits, and reports the result as approximate (as an approximate one would)."""

    name = "approx_for_tests"
    exact = False
    keeps_rows = True

    @classmethod
    def supports(cls, estimator):
        return isinstance(estimator, ApproxRidge | ApproxScaler)

    def fit(self, estimator, X, y, fit_params):
        return estimator.fit(X, y, **fit_params)

    def plan(self, estimator, request):
        plan = self.refit_plan(estimator, request)
        plan.strategy, plan.exact = self.name, False
        return plan


@pytest.fixture(autouse=True, scope="module")
def _approx_strategy():
    for klass in (ApproxRidge, ApproxScaler):
        register_strategy(klass, ApproxStrategy)
    yield
    for klass in (ApproxRidge, ApproxScaler):
        _REGISTRY.pop(klass, None)


RNG = np.random.RandomState(0)
X = RNG.randn(60, 4)
Y = (X[:, 0] + 0.3 * RNG.randn(60) > 0).astype(np.int64)
X_CAT = np.column_stack([X[:, :3], RNG.randint(0, 3, 60)])


def _scaled(final):
    return [("scale", StandardScaler()), ("final", final)]


def _ct(remainder):
    return ColumnTransformer(
        [("num", StandardScaler(), [0, 1, 2]), ("cat", OneHotEncoder(), [3])],
        remainder=remainder,
    )


# (id, estimator factory, expected guarantee, data)
CASES = [
    ("linear", lambda: LinearRegression(), "exact", X),
    ("logistic", lambda: LogisticRegression(), "exact", X),
    ("pipe_fused", lambda: SkPipeline(_scaled(Ridge())), "exact", X),
    ("pipe_logistic", lambda: SkPipeline(_scaled(LogisticRegression())), "exact", X),
    ("pipe_approx", lambda: SkPipeline(_scaled(ApproxRidge())), "approximate", X),
    (
        "pipe_approx_scaler",
        lambda: SkPipeline([("scale", ApproxScaler()), ("final", Ridge())]),
        "approximate",
        X,
    ),
    (
        "grid_exact",
        lambda: GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=2),
        "exact",
        X,
    ),
    (
        "grid_approx",
        lambda: GridSearchCV(ApproxRidge(), {"alpha": [0.1, 1.0]}, cv=2),
        "approximate",
        X,
    ),
    (
        # The grid may swap the final step for an approximate one: whichever
        # is best, the promise covers every candidate.
        "grid_swaps_step",
        lambda: GridSearchCV(
            SkPipeline(_scaled(Ridge())),
            [
                {"final": [Ridge()], "final__alpha": [0.1, 1.0]},
                {"final": [ApproxRidge()]},
            ],
            cv=2,
        ),
        "approximate",
        X,
    ),
    (
        "randomized_swaps_step",
        lambda: RandomizedSearchCV(
            SkPipeline(_scaled(Ridge())),
            {"final": [Ridge(), ApproxRidge()], "final__alpha": loguniform(0.1, 1)},
            n_iter=2,
            cv=2,
            random_state=0,
        ),
        "approximate",
        X,
    ),
    ("column_transformer", lambda: _ct("drop"), "exact", X_CAT),
    ("ct_approx_remainder", lambda: _ct(ApproxScaler()), "approximate", X_CAT),
    (
        "pipe_column_transformer",
        lambda: SkPipeline([("ct", _ct("drop")), ("final", Ridge())]),
        "exact",
        X_CAT,
    ),
    (
        "feature_union",
        lambda: FeatureUnion([("a", StandardScaler()), ("b", "drop")]),
        "exact",
        X,
    ),
    (
        "feature_union_approx",
        lambda: FeatureUnion([("a", StandardScaler()), ("b", ApproxScaler())]),
        "approximate",
        X,
    ),
    (
        "forest",
        lambda: UnlearningForestClassifier(n_estimators=3, random_state=0),
        "exact",
        X,
    ),
    (
        "sisa",
        lambda: SISAClassifier(DecisionTreeClassifier(), n_shards=2, random_state=0),
        "exact",
        X,
    ),
    (
        "unlearnable_in_pipe",
        lambda: SkPipeline(_scaled(Unlearnable(ApproxRidge()))),
        "approximate",
        X,
    ),
]


def _guarantees(model, X):
    """The guarantee before fit, after fit and after one unlearn."""
    before = model.unlearning_guarantee
    model.fit(X, Y)
    after_fit = model.unlearning_guarantee
    model.unlearn(X[:3])
    return before, after_fit, model.unlearning_guarantee


@pytest.mark.parametrize(
    "make, expected, data", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_unlearnable_guarantee_does_not_change_with_fit(make, expected, data):
    model = Unlearnable(make())
    assert _guarantees(model, data) == (expected,) * 3
    if expected == "exact":  # the promise holds for what unlearn did
        assert model.unlearn_history_[-1]["exact"] is True


@pytest.mark.parametrize(
    "make, expected, data",
    [c[1:] for c in CASES if c[0].startswith("pipe")],
    ids=[c[0] for c in CASES if c[0].startswith("pipe")],
)
def test_skunlearn_pipeline_guarantee_matches_unlearnable(make, expected, data):
    pipe = Pipeline(make().steps)
    assert _guarantees(pipe, data) == (expected,) * 3
    # Unlearnable(sklearn Pipeline), Unlearnable(skunlearn Pipeline) agree.
    assert Unlearnable(make()).unlearning_guarantee == expected
    assert Unlearnable(Pipeline(make().steps)).unlearning_guarantee == expected


def test_strategy_guarantee_classmethod_reads_the_template_only():
    template = SkPipeline(_scaled(ApproxRidge()))
    strategy = get_strategy(template)
    assert strategy.guarantee(template) == "approximate"
    assert strategy.guarantee(SkPipeline(_scaled(Ridge()))) == "exact"
    # nothing fitted, nothing changed
    assert not hasattr(template.steps[1][1], "coef_")


def test_grid_guarantee_does_not_alter_the_grid():
    inner = ApproxRidge(alpha=5.0)
    search = GridSearchCV(
        SkPipeline(_scaled(Ridge())), {"final": [inner], "final__alpha": [0.1]}
    )
    assert get_strategy(search).guarantee(search) == "approximate"
    assert inner.alpha == 5.0  # candidates are built on clones


def test_skunlearn_net_in_a_pipeline_is_approximate_before_and_after_fit():
    torch = pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from skunlearn.neural_net import UnlearningNeuralNetClassifier

    def net():
        torch.manual_seed(0)
        return UnlearningNeuralNetClassifier(
            torch.nn.Sequential(
                torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)
            ),
            criterion=torch.nn.CrossEntropyLoss,
            max_epochs=2,
            lr=0.1,
            verbose=0,
            unlearn_method="neggrad_plus",
            unlearn_method__max_epochs=1,
        )

    X32 = X.astype(np.float32)
    for model in (
        Unlearnable(sk_make_pipeline(StandardScaler(), net())),
        su_make_pipeline(StandardScaler(), net()),
    ):
        assert _guarantees(model, X32) == ("approximate",) * 3


def _strategies(strategy):
    """``strategy`` and every strategy held in its state (steps, best, ...)."""
    seen = [strategy]
    for value in vars(strategy).values():
        values = value.values() if isinstance(value, dict) else value
        if not isinstance(values, list | tuple | type({}.values())):
            values = [values]
        for v in values:
            if isinstance(v, UnlearningStrategy):
                seen.extend(_strategies(v))
    return seen


@pytest.mark.parametrize(
    "make, data",
    [
        (lambda: SkPipeline(_scaled(Ridge())), X),  # fused: keeps no row
        (lambda: SkPipeline(_scaled(ApproxRidge())), X),
        (lambda: GridSearchCV(SkPipeline(_scaled(Ridge())), {"final__alpha": [1]}), X),
        (lambda: _ct(ApproxScaler()), X_CAT),
        (lambda: FeatureUnion([("a", StandardScaler()), ("b", ApproxScaler())]), X),
        (lambda: OneHotEncoder(max_categories=2), X_CAT[:, 3:]),  # keeps rows
    ],
)
def test_fit_sets_no_class_constant_on_instances(make, data):
    model = Unlearnable(make()).fit(data, Y)
    constants = {"name", "exact", "keeps_rows", "plain_floats_are_valid"}
    for strategy in _strategies(model.strategy_):
        assert not constants & set(vars(strategy)), strategy


@pytest.mark.parametrize(
    "steps, keeps",
    [
        (_scaled(Ridge()), False),  # fused closed form
        (_scaled(LogisticRegression()), True),
    ],
)
def test_keeps_rows_is_a_fitted_fact(steps, keeps):
    pipe = Pipeline(clone(steps, safe=False)).fit(X, Y)
    assert pipe.unlearn_strategy_.keeps_rows_ is keeps
    assert (pipe.ledger_.X is not None) is keeps
    # the class constant is untouched by fit
    assert type(pipe.unlearn_strategy_).keeps_rows is True


def test_keeps_rows_decided_at_fit_reaches_the_ledger():
    # EncoderStrategy keeps no row by default (class constant) but does with
    # infrequent categories, which only fit can tell; Unlearnable must then
    # keep the rows to refit.
    data = X_CAT[:, 3:]
    model = Unlearnable(OneHotEncoder(max_categories=2)).fit(data)
    assert model.strategy_.keeps_rows_ is True
    assert type(model.strategy_).keeps_rows is False
    model.unlearn(data[:5])
    gold = OneHotEncoder(max_categories=2).fit(data[5:])
    np.testing.assert_array_equal(
        model.transform(data).toarray(), gold.transform(data).toarray()
    )
