import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
)
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skunlearn import UnknownRowsError, Unlearnable
from skunlearn.exceptions import ForgetAllRowsError, NumericalDriftWarning
from skunlearn.strategies import ClosedFormLinearStrategy, RetrainStrategy
from skunlearn.utils.estimator_checks import check_unlearning, retained_indices


def _data(n=80, d=4, seed=0, offset=0.0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) + offset
    y = X @ rng.randn(d) + 0.3 * rng.randn(n)
    return X, y


@pytest.mark.parametrize(
    "estimator",
    [
        LinearRegression(),
        LinearRegression(fit_intercept=False),
        Ridge(alpha=3.0),
        Ridge(fit_intercept=False, solver="svd"),
        RidgeClassifier(),
        RidgeClassifier(class_weight={0: 2.0, 1: 0.5}),
        SVC(),  # no registered strategy: retrain
    ],
)
def test_gold_standard(estimator):
    X, y = _data()
    if isinstance(estimator, RidgeClassifier | SVC):
        y = np.digitize(y, [-1, 1])
    check_unlearning(Unlearnable(estimator), X, y, forget=0.2, rtol=1e-9, atol=1e-10)


def test_forced_retrain_strategy_is_exact():
    X, y = _data()
    y = np.digitize(y, [-1, 1])
    model = Unlearnable(LogisticRegression(), strategy="retrain")
    result = check_unlearning(model, X, y, forget=0.2, rtol=1e-12, atol=1e-12)
    record = result["unlearned"].unlearn_history_[-1]
    assert record["strategy"] == "retrain" and record["details"]["refit_rows"] == 64


def test_strategy_choice_and_guarantee():
    assert isinstance(
        Unlearnable(Ridge()).fit(*_data()).strategy_, ClosedFormLinearStrategy
    )
    model = Unlearnable(SVC()).fit(*_data()[:1], np.arange(80) % 2)
    assert isinstance(model.strategy_, RetrainStrategy)
    assert model.unlearning_guarantee == "exact"
    assert isinstance(
        Unlearnable(Ridge(positive=True)).fit(*_data()).strategy_, RetrainStrategy
    )
    with pytest.raises(ValueError, match="Unknown strategy"):
        Unlearnable(Ridge(), strategy="nope").fit(*_data())


@given(
    n=st.integers(8, 40),
    d=st.integers(1, 5),
    t=st.sampled_from([0, 1, 3]),
    kind=st.sampled_from(["linreg", "ridge", "ridge_alphas", "ridgeclf"]),
    fit_intercept=st.booleans(),
    weighted=st.booleans(),
    n_dup=st.integers(0, 4),
    seed=st.integers(0, 10_000),
    frac=st.floats(0.0, 0.6),
)
def test_closed_form_equals_refit(
    n, d, t, kind, fit_intercept, weighted, n_dup, seed, frac
):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) * rng.uniform(0.5, 3, d) + rng.uniform(-5, 5, d)
    X = np.vstack([X, X[rng.randint(0, n, n_dup)]])  # duplicated rows
    m = X.shape[0]
    if kind == "ridgeclf":
        y = rng.randint(0, 3, m)
        est = RidgeClassifier(alpha=1.0, fit_intercept=fit_intercept)
    else:
        y = rng.randn(m) if t == 0 else rng.randn(m, t)
        if kind == "linreg":
            est = LinearRegression(fit_intercept=fit_intercept)
            if m < 2 * d + 2:
                return  # keep the least-squares problem well-posed
        elif kind == "ridge":
            est = Ridge(alpha=rng.uniform(0.1, 5), fit_intercept=fit_intercept)
        else:
            alphas = rng.uniform(0.1, 5, max(t, 1))
            est = Ridge(alpha=alphas if t else alphas[0], fit_intercept=fit_intercept)
    sw = rng.uniform(0.2, 3.0, m) if weighted else None
    k = int(frac * m)
    forget = np.sort(rng.choice(m, k, replace=False))
    fit_params = {} if sw is None else {"sample_weight": sw}
    model = Unlearnable(est).fit(X, y, **fit_params)
    model.unlearn(X[forget], y[forget])
    keep = retained_indices(X, forget, y)
    gold = clone(est).fit(
        X[keep], y[keep], **({} if sw is None else {"sample_weight": sw[keep]})
    )
    if kind == "ridgeclf":
        assert_array_equal(model.classes_, gold.classes_)
    scale = max(1.0, np.abs(gold.coef_).max())
    assert_allclose(model.coef_, gold.coef_, rtol=1e-8, atol=1e-9 * scale)
    assert_allclose(model.intercept_, gold.intercept_, rtol=1e-8, atol=1e-9 * scale)
    Xe = rng.randn(5, d)
    pred = model.decision_function(Xe) if kind == "ridgeclf" else model.predict(Xe)
    gpred = gold.decision_function(Xe) if kind == "ridgeclf" else gold.predict(Xe)
    assert_allclose(pred, gpred, rtol=1e-8, atol=1e-8 * scale)


def test_sequential_requests_equal_one_refit_and_woodbury_guard():
    rng = np.random.RandomState(1)
    X = rng.randn(3000, 100)
    y = X @ rng.randn(100) + rng.randn(3000)
    model = Unlearnable(Ridge(alpha=0.5)).fit(X, y)
    order = rng.permutation(3000)[:400]
    for chunk in np.array_split(order, 100):
        model.unlearn(X[chunk], y[chunk])
    solves = [r["details"]["solve"] for r in model.unlearn_history_]
    assert "woodbury" in solves  # small requests take the rank-k path
    keep = np.setdiff1d(np.arange(3000), order)
    gold = Ridge(alpha=0.5).fit(X[keep], y[keep])
    assert_allclose(model.coef_, gold.coef_, rtol=1e-9, atol=1e-12)
    model.unlearn(X[keep[:500]])  # large request: refactorisation
    assert model.unlearn_history_[-1]["details"]["solve"] == "cholesky"


def test_large_offsets_do_not_lose_precision():
    X, y = _data(n=200, offset=1e6)
    check_unlearning(Unlearnable(Ridge()), X, y + 1e6, forget=50, rtol=1e-7)


def test_drift_warning_when_most_mass_is_removed():
    X, y = _data(n=100)
    X[:95] *= 1e4
    model = Unlearnable(Ridge()).fit(X, y)
    with pytest.warns(NumericalDriftWarning):
        model.unlearn(X[:95])


# ---------------------------------------------------------------- bad input
@pytest.fixture
def fitted():
    X, y = _data()
    return Unlearnable(Ridge()).fit(X, y), X, y


def _unchanged(model, before):
    assert pickle.dumps(model) == before


def test_unknown_rows_raise_and_change_nothing(fitted):
    model, X, y = fitted
    before = pickle.dumps(model)
    bad = np.vstack([X[:2], X[2:3] + 1.0])
    with pytest.raises(UnknownRowsError, match=r"positions \[2\]") as exc:
        model.unlearn(bad)
    assert exc.value.positions.tolist() == [2]
    _unchanged(model, before)
    with pytest.raises(UnknownRowsError):
        model.unlearn(X[:1], y[:1] + 1)  # right row, wrong target
    _unchanged(model, before)


def test_already_forgotten_rows_are_unknown(fitted):
    model, X, _ = fitted
    model.unlearn(X[:3])
    before = pickle.dumps(model)
    with pytest.raises(UnknownRowsError, match="already forgotten"):
        model.unlearn(X[1:2])
    _unchanged(model, before)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((2, 3)), "features"),
        (np.array([[np.nan, 0, 0, 0.0]]), "NaN"),
        (np.array([[np.inf, 0, 0, 0.0]]), "infinity"),
        (np.array([["a", "b", "c", "d"]]), "(?i)convert"),
    ],
)
def test_invalid_forget_sets(fitted, bad, match):
    model, _, _ = fitted
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match=match):
        model.unlearn(bad)
    _unchanged(model, before)


def test_mismatched_targets_length(fitted):
    model, X, y = fitted
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="y_forget"):
        model.unlearn(X[:3], y[:2])
    _unchanged(model, before)


def test_empty_forget_set_is_recorded_noop(fitted):
    model, X, _ = fitted
    coef = model.coef_.copy()
    model.unlearn(X[:0], request_id="empty")
    assert_array_equal(model.coef_, coef)
    record = model.unlearn_history_[-1]
    assert record["n_removed"] == 0 and record["request_id"] == "empty"


def test_forgetting_every_row_is_refused(fitted):
    model, X, _ = fitted
    before = pickle.dumps(model)
    with pytest.raises(ForgetAllRowsError, match="all 80"):
        model.unlearn(X)
    _unchanged(model, before)


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Unlearnable(Ridge()).unlearn(np.zeros((1, 2)))


@pytest.mark.parametrize("est", [RidgeClassifier(), LogisticRegression()])
def test_forgetting_a_whole_class(est):
    X, y = _data(n=90)
    y = np.repeat([0, 1, 2], 30)
    model = Unlearnable(est).fit(X, y)
    model.unlearn(X[y == 2])
    gold = clone(est).fit(X[y != 2], y[y != 2])
    assert_array_equal(model.classes_, gold.classes_)
    assert_allclose(
        model.decision_function(X), gold.decision_function(X), rtol=1e-8, atol=1e-10
    )


def test_forgetting_down_to_one_class_keeps_refit_semantics():
    X, _ = _data(n=40)
    y = np.repeat([0, 1], 20)
    # RidgeClassifier fits a single class; the unlearned model does the same.
    model = Unlearnable(RidgeClassifier()).fit(X, y)
    model.unlearn(X[y == 1])
    gold = RidgeClassifier().fit(X[y == 0], y[y == 0])
    assert_array_equal(model.classes_, gold.classes_)
    assert_allclose(model.coef_, gold.coef_, atol=1e-12)
    # LogisticRegression refuses one class: the error surfaces, nothing changes.
    model = Unlearnable(LogisticRegression()).fit(X, y)
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="class"):
        model.unlearn(X[y == 1])
    _unchanged(model, before)


# ----------------------------------------------------------- all or nothing
class _Boom(Exception):
    pass


@pytest.mark.parametrize("exc", [_Boom, KeyboardInterrupt])
@pytest.mark.parametrize("est", [Ridge(), LogisticRegression()])
def test_failure_during_unlearn_changes_nothing(monkeypatch, exc, est):
    X, y = _data()
    if isinstance(est, LogisticRegression):
        y = (y > 0).astype(int)
    model = Unlearnable(est).fit(X, y)
    before = pickle.dumps(model)
    strategy_cls = type(model.strategy_)

    def explode(*args, **kwargs):
        raise exc()

    monkeypatch.setattr(strategy_cls, "plan", explode)
    with pytest.raises(exc):
        model.unlearn(X[:5])
    _unchanged(model, before)


class Fragile(LinearRegression):
    def fit(self, X, y, sample_weight=None):
        if len(X) < 70:
            raise RuntimeError("worker died")
        return super().fit(X, y, sample_weight)


def test_failing_refit_changes_nothing():
    X, y = _data()
    model = Unlearnable(Fragile()).fit(X, y)
    # fit is overridden, so the closed form cannot be trusted: retrain
    assert isinstance(model.strategy_, RetrainStrategy)
    before = pickle.dumps(model)
    with pytest.raises(RuntimeError, match="worker died"):
        model.unlearn(X[:20])
    _unchanged(model, before)


# --------------------------------------------------------------- history
def test_history_records_request_without_rows():
    X, y = _data()
    model = Unlearnable(Ridge()).fit(X, y, sample_weight=np.full(80, 2.0))
    model.unlearn(X[:4], request_id="GDPR-1")
    model.unlearn(X[4:5], y[4:5])
    first, second = model.unlearn_history_
    assert first["request_id"] == "GDPR-1" and first["n_removed"] == 4
    assert first["n_remaining"] == 76 and second["n_remaining"] == 75
    assert first["strategy"] == "closed_form" and first["exact"] is True
    assert first["seconds"] >= 0 and "T" in first["time"]
    assert X[0, 0].tobytes() not in pickle.dumps(model.unlearn_history_)


# -------------------------------------------------------- sklearn citizen
def test_pandas_input_and_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    df = pd.DataFrame(X, columns=list("abcd"))
    model = Unlearnable(Ridge()).fit(df, y)
    assert list(model.feature_names_in_) == list("abcd")
    model.unlearn(df.iloc[:10])
    gold = Ridge().fit(df.iloc[10:], y[10:])
    assert_allclose(model.predict(df), gold.predict(df), rtol=1e-10)
    # The same rows with the columns in another order are matched by name.
    model.unlearn(df.iloc[10:12][list("bacd")])
    gold = Ridge().fit(df.iloc[12:], y[12:])
    assert_allclose(model.predict(df), gold.predict(df), rtol=1e-10)
    with pytest.raises(ValueError, match="Feature names"):
        model.unlearn(df.iloc[12:14].rename(columns={"a": "z"}))


def test_set_output_pandas_through_retrain():
    pd = pytest.importorskip("pandas")
    X, _ = _data()
    df = pd.DataFrame(X, columns=list("abcd"))
    model = Unlearnable(StandardScaler()).set_output(transform="pandas").fit(df)
    out = model.unlearn(df.iloc[:5]).transform(df)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list("abcd")
    assert_allclose(out.to_numpy(), StandardScaler().fit(X[5:]).transform(X))


def test_sample_weight_is_forgotten_with_its_row():
    X, y = _data()
    sw = np.random.RandomState(3).uniform(0.5, 2, 80)
    check_unlearning(
        Unlearnable(Ridge()),
        X,
        y,
        fit_params={"sample_weight": sw},
        forget=10,
        rtol=1e-9,
    )
    check_unlearning(
        Unlearnable(LogisticRegression(), strategy="retrain"),
        X,
        (y > 0).astype(int),
        fit_params={"sample_weight": sw},
        forget=10,
        rtol=1e-9,
    )


def test_metadata_routing():
    X, y = _data()
    sw = np.random.RandomState(3).uniform(0.5, 2, 80)
    assert hasattr(Unlearnable(Ridge()), "set_unlearn_request")
    with config_context(enable_metadata_routing=True):
        model = Unlearnable(Ridge().set_fit_request(sample_weight=True)).fit(
            X, y, sample_weight=sw
        )
        model.unlearn(X[:5])
        gold = Ridge().fit(X[5:], y[5:], sample_weight=sw[5:])
    assert_allclose(model.coef_, gold.coef_, rtol=1e-9)


def test_pickle_round_trip_keeps_unlearning():
    X, y = _data()
    model = pickle.loads(pickle.dumps(Unlearnable(Ridge()).fit(X, y)))
    model.unlearn(X[:7])
    assert_allclose(model.coef_, Ridge().fit(X[7:], y[7:]).coef_, rtol=1e-9)


def test_float32_input_keeps_dtype():
    X, y = _data()
    model = Unlearnable(Ridge()).fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32
    model.unlearn(X[:3].astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X.astype(np.float32))
