"""Unlearning through Pipeline, ColumnTransformer and FeatureUnion."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
)
from sklearn.pipeline import FeatureUnion
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    PolynomialFeatures,
    StandardScaler,
)

from skunlearn import Unlearnable
from skunlearn.exceptions import UnknownRowsError
from skunlearn.pipeline import make_pipeline
from skunlearn.utils._sklearn_compat import SKLEARN_TARGET_ENCODER_CV_SPLITTER
from skunlearn.utils.estimator_checks import check_unlearning

needs_target_encoder_cv_splitter = pytest.mark.skipif(
    not SKLEARN_TARGET_ENCODER_CV_SPLITTER,
    reason="TargetEncoder(cv=splitter) needs scikit-learn >= 1.9",
)


# --------------------------------------------------------------- mixed data
def _mixed(n=300, seed=0):
    rng = np.random.RandomState(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "income": rng.lognormal(10, 0.5, n),
            "city": rng.choice(["paris", "lyon", "nice"], n).astype(object),
            "job": rng.choice(["a", "b", "c", "d"], n),  # pandas string dtype
        }
    )
    df.loc[rng.rand(n) < 0.1, "age"] = np.nan
    df.loc[rng.rand(n) < 0.1, "income"] = np.nan
    rare = [5, 77, n - 3]
    df.loc[rare, "city"] = "metz"  # the rare category
    score = (
        (df["income"].fillna(22000) / 22000)
        + (df["city"] == "paris")
        + rng.randn(n) * 0.3
    )
    return df, (score > 1.3).astype(int).to_numpy(), score.to_numpy(), rare


def _column_transformer():
    return ColumnTransformer(
        [
            (
                "num",
                sk_make_pipeline(SimpleImputer(), StandardScaler()),
                ["age", "income"],
            ),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "job"]),
        ]
    )


def _fitted_attributes(est):
    """Public fitted attributes of an estimator and, recursively, of its parts."""
    out = {}
    for name, value in vars(est).items():
        if name.endswith("_") and not name.startswith("_"):
            out[name] = value
    parts = []
    if hasattr(est, "steps"):
        parts = est.steps
    elif hasattr(est, "transformers_"):
        parts = [(n, t) for n, t, _ in est.transformers_]
    for name, part in parts:
        if hasattr(part, "get_params"):
            for k, v in _fitted_attributes(part).items():
                out[f"{name}.{k}"] = v
    return out


def _assert_same_fitted(actual, expected, rtol):
    a, e = _fitted_attributes(actual), _fitted_attributes(expected)
    # Only skunlearn's own bookkeeping is extra.
    assert set(a) - set(e) <= {"ledger_", "unlearn_history_", "unlearn_strategy_"}
    assert set(e) <= set(a)
    for name, value in e.items():
        got = a[name]
        if hasattr(value, "get_params") or name.endswith("transformers_"):
            continue  # compared through their own attributes
        if isinstance(value, list):  # categories_
            assert len(got) == len(value), name
            for g, v in zip(got, value):
                assert pd.Series(g).equals(pd.Series(v)), name
        elif np.asarray(value).dtype.kind in "biuf":
            np.testing.assert_allclose(got, value, rtol=rtol, atol=1e-10, err_msg=name)
        else:
            assert repr(got) == repr(value), name


@pytest.mark.parametrize(
    "final", [LogisticRegression(), Ridge()], ids=["logistic", "ridge"]
)
@pytest.mark.parametrize("which", ["random", "rare_category"])
@pytest.mark.parametrize("entry", ["Unlearnable", "skunlearn.pipeline"])
def test_mixed_type_pipeline_equals_refit(final, which, entry):
    df, y_cls, y_reg, rare = _mixed()
    y = y_cls if isinstance(final, LogisticRegression) else y_reg
    rng = np.random.RandomState(1)
    forget = rng.choice(len(df), 25, replace=False) if which == "random" else rare
    if entry == "Unlearnable":
        model = Unlearnable(sk_make_pipeline(_column_transformer(), clone(final)))
    else:
        model = make_pipeline(_column_transformer(), clone(final))
    model.fit(df, y)
    model.unlearn(df.iloc[forget])
    keep = np.setdiff1d(np.arange(len(df)), forget)
    gold = sk_make_pipeline(_column_transformer(), clone(final)).fit(
        df.iloc[keep], y[keep]
    )
    fitted = model.estimator_ if entry == "Unlearnable" else model
    X_eval = df.iloc[keep]
    rtol = 1e-9 if isinstance(final, Ridge) else 1e-7
    np.testing.assert_allclose(model.predict(X_eval), gold.predict(X_eval), rtol=rtol)
    if hasattr(gold, "predict_proba"):
        np.testing.assert_allclose(
            model.predict_proba(X_eval), gold.predict_proba(X_eval), rtol=rtol
        )
    np.testing.assert_array_equal(
        fitted[:-1].get_feature_names_out(), gold[:-1].get_feature_names_out()
    )
    ct, ct_gold = fitted[0], gold[0]
    assert ct.sparse_output_ == ct_gold.sparse_output_
    assert ct.output_indices_ == ct_gold.output_indices_
    _assert_same_fitted(fitted, gold, rtol)
    if which == "rare_category":
        assert "metz" not in ct.named_transformers_["cat"].categories_[0].tolist()
    record = model.unlearn_history_[-1]
    steps = {s["step"]: s for s in record["details"]["steps"]}
    assert steps["columntransformer"]["changed"]
    inner = {s["step"]: s for s in steps["columntransformer"]["steps"]}
    assert inner["num"]["steps"][0]["strategy"] == "imputer_counts"
    assert inner["cat"]["strategy"] == "category_counts"
    assert inner["cat"]["changed"] == (which == "rare_category")
    final_name = gold.steps[-1][0]
    assert steps[final_name]["strategy"] == "refit"
    assert record["exact"]


def test_mixed_type_check_unlearning_and_residue():
    df, _, y_reg, _ = _mixed(n=120)
    check_unlearning(
        Unlearnable(sk_make_pipeline(_column_transformer(), Ridge())),
        df,
        y_reg,
        forget=10,
        rtol=1e-9,
        X_eval=df,
        check_unknown=False,
        check_residue=False,
    )
    model = make_pipeline(_column_transformer(), Ridge()).fit(df, y_reg)
    model.unlearn(df.iloc[[5, 77]])
    blob = pickle.dumps(model)
    # Forgotten rows' unique numeric values are gone from the pickle.
    for value in df.iloc[[5, 77]][["age", "income"]].to_numpy().ravel():
        if (
            np.isfinite(value)
            and value not in df.drop(index=[5, 77])[["age", "income"]].values
        ):
            assert np.float64(value).tobytes() not in blob


# ------------------------------------------------------------- fused path
def _regression(n=400, d=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) * rng.uniform(0.1, 50, d) + rng.uniform(-100, 100, d)
    return X, X @ rng.randn(d) + rng.randn(n)


@pytest.mark.parametrize(
    "scaler",
    [StandardScaler(), StandardScaler(with_mean=False), StandardScaler(with_std=False)],
)
@pytest.mark.parametrize("final", [Ridge(alpha=3.0), LinearRegression()])
def test_fused_path_equals_refit_and_keeps_no_rows(scaler, final):
    X, y = _regression()
    pipe = make_pipeline(clone(scaler), clone(final))
    result = check_unlearning(pipe, X, y, forget=30, rtol=1e-9)
    est, gold = result["unlearned"], result["gold"]
    assert est.ledger_.X is None
    assert est.unlearn_history_[-1]["details"]["strategy"] == "fused_affine_closed_form"
    np.testing.assert_allclose(est[-1].coef_, gold[-1].coef_, rtol=1e-9)
    np.testing.assert_allclose(est[-1].intercept_, gold[-1].intercept_, rtol=1e-9)
    if scaler.with_std:
        np.testing.assert_allclose(est[0].scale_, gold[0].scale_, rtol=1e-12)
    assert est[0].n_samples_seen_ == gold[0].n_samples_seen_


def test_fused_path_sequential_requests_and_sample_weight():
    X, y = _regression()
    w = np.random.RandomState(3).uniform(0.5, 2.0, len(y))
    pipe = make_pipeline(StandardScaler(), Ridge()).fit(X, y, ridge__sample_weight=w)
    pipe.unlearn(X[:10]).unlearn(X[50:60]).unlearn(X[[100, 200]])
    keep = np.setdiff1d(np.arange(len(y)), np.r_[0:10, 50:60, 100, 200])
    gold = sk_make_pipeline(StandardScaler(), Ridge()).fit(
        X[keep], y[keep], ridge__sample_weight=w[keep]
    )
    np.testing.assert_allclose(pipe.predict(X), gold.predict(X), rtol=1e-9)
    assert len(pipe.unlearn_history_) == 3


def test_fused_ridge_classifier():
    X, y = _regression()
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    check_unlearning(
        Unlearnable(sk_make_pipeline(StandardScaler(), RidgeClassifier())),
        X,
        labels,
        forget=25,
        rtol=1e-9,
    )


def test_metadata_routing_reaches_steps_during_unlearn():
    X, y = _regression()
    w = np.random.RandomState(4).uniform(0.2, 3.0, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        for scaler in (StandardScaler(), MinMaxScaler()):
            pipe = sk_make_pipeline(
                clone(scaler).set_fit_request(sample_weight=True)
                if hasattr(scaler, "set_fit_request")
                and isinstance(scaler, StandardScaler)
                else clone(scaler),
                Ridge().set_fit_request(sample_weight=True),
            )
            result = check_unlearning(
                Unlearnable(pipe),
                X,
                y,
                forget=20,
                fit_params={"sample_weight": w},
                rtol=1e-9,
            )
            est = result["unlearned"]
            assert "sample_weight" in est.ledger_.sample_props


# ------------------------------------------------- incremental downstream
def test_unchanged_encoder_lets_downstream_downdate():
    df, _, y, _ = _mixed()
    cats = df[["city", "job"]]
    pipe = make_pipeline(OneHotEncoder(sparse_output=False), Ridge()).fit(cats, y)
    forget = [0, 1, 2]  # common categories: the encoder's output does not change
    pipe.unlearn(cats.iloc[forget], y[forget])  # duplicates: say which rows
    steps = pipe.unlearn_history_[-1]["details"]["steps"]
    assert steps[0]["changed"] is False
    assert steps[1]["strategy"] == "closed_form"
    keep = np.setdiff1d(np.arange(len(y)), forget)
    gold = sk_make_pipeline(OneHotEncoder(sparse_output=False), Ridge()).fit(
        cats.iloc[keep], y[keep]
    )
    np.testing.assert_allclose(pipe.predict(cats), gold.predict(cats), rtol=1e-9)


def test_unlearning_step_uses_its_own_unlearn():
    df, _, y, _ = _mixed()
    cats = df[["city", "job"]]
    inner = Unlearnable(Ridge())
    pipe = make_pipeline(OneHotEncoder(sparse_output=False), inner).fit(cats, y)
    pipe.unlearn(cats.iloc[[0, 1]], y[[0, 1]])
    step = pipe.unlearn_history_[-1]["details"]["steps"][1]
    assert step["strategy"] == "native" and step["inner"] == "closed_form"
    assert pipe[-1].unlearn_history_[-1]["n_removed"] == 2
    # upstream changed -> the unlearning step is refit on the retained rows
    X, yr = _regression()
    pipe = make_pipeline(MinMaxScaler(), Unlearnable(Ridge())).fit(X, yr)
    pipe.unlearn(X[[int(np.argmax(X[:, 0]))]])
    assert pipe.unlearn_history_[-1]["details"]["steps"][1]["strategy"] == "refit"


def test_feature_union_and_minmax_refit_paths():
    X, y = _regression()
    union = FeatureUnion([("poly", PolynomialFeatures()), ("mm", MinMaxScaler())])
    result = check_unlearning(
        Unlearnable(sk_make_pipeline(union, Ridge())), X, y, forget=15, rtol=1e-8
    )
    details = result["unlearned"].unlearn_history_[-1]["details"]["steps"]
    assert details[0]["strategy"] == "feature_union"
    inner = [s["strategy"] for s in details[0]["steps"]]
    assert inner[0] == "stateless"


def test_column_transformer_sparse_output_tracks_density():
    rng = np.random.RandomState(0)
    n = 200
    df = pd.DataFrame(
        {"x": rng.randn(n), "c": rng.choice(list("abcdefgh"), n).astype(object)}
    )
    ct = ColumnTransformer(
        [("n", "passthrough", ["x"]), ("c", OneHotEncoder(), ["c"])],
        sparse_threshold=0.3,
    )
    est = Unlearnable(ct).fit(df)
    est.unlearn(df.iloc[:50])
    gold = clone(ct).fit(df.iloc[50:])
    assert est.sparse_output_ == gold.sparse_output_
    out, expected = est.transform(df.iloc[50:]), gold.transform(df.iloc[50:])
    assert sp.issparse(out) == sp.issparse(expected)
    np.testing.assert_allclose(
        out.toarray() if sp.issparse(out) else out,
        expected.toarray() if sp.issparse(expected) else expected,
    )


# --------------------------------------------------------------- bad input
def _fitted_mixed():
    df, _, y, _ = _mixed()
    return df, make_pipeline(_column_transformer(), Ridge()).fit(df, y)


def test_forget_set_with_other_columns_raises():
    df, pipe = _fitted_mixed()
    before = pipe[-1].coef_.copy()
    with pytest.raises(ValueError, match="columns differ"):
        pipe.unlearn(df.iloc[:3].drop(columns="job"))
    with pytest.raises(ValueError, match="unexpected"):
        pipe.unlearn(df.iloc[:3].assign(extra=1))
    np.testing.assert_array_equal(pipe[-1].coef_, before)
    assert pipe.unlearn_history_ == []


def test_reordered_columns_behave_like_predict():
    df, pipe = _fitted_mixed()
    reordered = df.iloc[:3][["job", "city", "income", "age"]]
    pipe.predict(reordered)  # ColumnTransformer selects by name: predict works
    pipe.unlearn(reordered)  # so does unlearn, matching rows by name
    assert pipe.unlearn_history_[-1]["n_removed"] == 3
    wrapped = Unlearnable(sk_make_pipeline(_column_transformer(), Ridge()))
    wrapped.fit(df, _mixed()[2])
    wrapped.unlearn(reordered)
    assert wrapped.unlearn_history_[-1]["n_removed"] == 3
    # A first step that checks the column order: predict raises, as in
    # scikit-learn, but a request's rows are matched by content, column by
    # column: the same rows in another column order are forgotten.
    X = pd.DataFrame(_regression()[0][:, :3], columns=["a", "b", "c"])
    t = np.arange(len(X), dtype=float)
    p = make_pipeline(StandardScaler(), Ridge()).fit(X, t)
    q = make_pipeline(StandardScaler(), Ridge()).fit(X, t)
    with pytest.raises(ValueError, match="same order"):
        p.predict(X[["c", "b", "a"]])
    p.unlearn(X.iloc[:2][["c", "b", "a"]])
    q.unlearn(X.iloc[:2])
    np.testing.assert_array_equal(p.predict(X), q.predict(X))


def test_unknown_categories_raise_unknown_rows():
    df, pipe = _fitted_mixed()
    before = pipe[-1].coef_.copy()
    unknown = df.iloc[:2].copy()
    unknown["city"] = ["atlantis", df["city"].iloc[1]]  # row 1 is a real row
    with pytest.raises(UnknownRowsError, match=r"\[0\]"):
        pipe.unlearn(unknown)
    np.testing.assert_array_equal(pipe[-1].coef_, before)
    assert pipe.unlearn_history_ == []


def test_failure_midway_leaves_pipeline_unchanged(monkeypatch):
    df, pipe = _fitted_mixed()
    steps_before = [s for _, s in pipe.steps]
    n_before = pipe.ledger_.n_rows

    def boom(self, *args, **kwargs):
        raise RuntimeError("worker died")

    # the scaler is refit midway, after the imputer has been unlearned
    monkeypatch.setattr(StandardScaler, "fit", boom)
    with pytest.raises(RuntimeError, match="worker died"):
        pipe.unlearn(df.iloc[:4])
    assert [s for _, s in pipe.steps] == steps_before
    assert pipe.ledger_.n_rows == n_before and pipe.unlearn_history_ == []


@needs_target_encoder_cv_splitter
def test_target_encoder_step_is_refit_like_pipeline_fit():
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import TargetEncoder

    df, _, y, _ = _mixed(n=200)
    cats = df[["city", "job"]]
    pipe = sk_make_pipeline(
        TargetEncoder(cv=KFold(5, shuffle=True, random_state=0)), Ridge()
    )
    model = Unlearnable(pipe).fit(cats, y)
    model.unlearn(cats.iloc[:5], y[:5])
    gold = clone(pipe).fit(cats.iloc[5:], y[5:])
    np.testing.assert_allclose(model.predict(cats), gold.predict(cats), rtol=1e-9)
    steps = model.unlearn_history_[-1]["details"]["steps"]
    assert [s["strategy"] for s in steps] == ["refit", "refit"]


@pytest.mark.parametrize("remainder", ["drop", "passthrough", StandardScaler()])
def test_column_transformer_remainder_and_nesting(remainder):
    X, y = _regression(n=200, d=5)
    ct = ColumnTransformer(
        [
            ("a", StandardScaler(), [0, 1]),
            (
                "b",
                FeatureUnion([("p", PolynomialFeatures(2)), ("m", MinMaxScaler())]),
                [2],
            ),
            ("gone", "drop", [3]),
        ],
        remainder=remainder,
    )
    result = check_unlearning(
        Unlearnable(sk_make_pipeline(ct, Ridge())), X, y, forget=20, rtol=1e-8
    )
    est, gold = result["unlearned"], result["gold"]
    np.testing.assert_array_equal(
        est.estimator_[0].get_feature_names_out(),
        gold.estimator_[0].get_feature_names_out(),
    )
    check_unlearning(Unlearnable(clone(ct)), X, forget=[0, 1, 2], rtol=1e-9)


@needs_target_encoder_cv_splitter
def test_target_encoder_inside_column_transformer():
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import TargetEncoder

    df, _, y, _ = _mixed(n=200)
    ct = ColumnTransformer(
        [
            ("num", SimpleImputer(), ["age"]),
            ("te", TargetEncoder(cv=KFold(5, shuffle=True, random_state=0)), ["city"]),
        ]
    )
    pipe = sk_make_pipeline(ct, Ridge())
    model = Unlearnable(pipe).fit(df, y)
    model.unlearn(df.iloc[:5], y[:5])
    gold = clone(pipe).fit(df.iloc[5:], y[5:])
    np.testing.assert_allclose(model.predict(df), gold.predict(df), rtol=1e-9)
    np.testing.assert_allclose(model.estimator_[-1].coef_, gold[-1].coef_, rtol=1e-9)


def test_metadata_routing_into_column_transformer_steps():
    X, y = _regression(n=200, d=4)
    w = np.random.RandomState(5).uniform(0.2, 3.0, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        ct = ColumnTransformer(
            [
                ("s", StandardScaler().set_fit_request(sample_weight=True), [0, 1]),
                ("m", MinMaxScaler(), [2, 3]),
            ]
        )
        pipe = sk_make_pipeline(ct, Ridge().set_fit_request(sample_weight=True))
        result = check_unlearning(
            Unlearnable(pipe),
            X,
            y,
            forget=15,
            fit_params={"sample_weight": w},
            rtol=1e-9,
        )
    scaler = result["unlearned"].estimator_[0].named_transformers_["s"]
    gold = result["gold"].estimator_[0].named_transformers_["s"]
    np.testing.assert_allclose(scaler.n_samples_seen_, gold.n_samples_seen_, rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 40),
    alpha=st.floats(1e-3, 1e3),
    with_mean=st.booleans(),
)
def test_fused_path_property(seed, k, alpha, with_mean):
    rng = np.random.RandomState(seed)
    X = rng.randn(60, 4) * rng.uniform(0.01, 100, 4) + rng.uniform(-1e3, 1e3, 4)
    y = X @ rng.randn(4) + rng.randn(60)
    forget = rng.choice(60, size=k, replace=False)
    pipe = make_pipeline(StandardScaler(with_mean=with_mean), Ridge(alpha=alpha)).fit(
        X, y
    )
    pipe.unlearn(X[forget])
    keep = np.setdiff1d(np.arange(60), forget)
    gold = sk_make_pipeline(StandardScaler(with_mean=with_mean), Ridge(alpha=alpha))
    gold.fit(X[keep], y[keep])
    np.testing.assert_allclose(pipe.predict(X), gold.predict(X), rtol=1e-8, atol=1e-8)


def test_approximate_step_makes_the_composite_approximate():
    from sklearn.base import BaseEstimator, RegressorMixin

    from skunlearn.base import UnlearningMixin, UnlearnUpdate

    class MeanModel(UnlearningMixin, RegressorMixin, BaseEstimator):
        """Predicts a running mean; declares itself approximate for the test."""

        _unlearning_guarantee = "approximate"

        def fit(self, X, y):
            self.mean_ = float(np.mean(y))
            self.n_features_in_ = np.asarray(X).shape[1]
            self._init_ledger(X, y)
            return self

        def _unlearn(self, match, X, y, **params):
            keep = self.ledger_.retained(exclude=match.rows)
            return UnlearnUpdate(
                attributes={"mean_": float(np.mean(self.ledger_.y[keep]))},
                strategy="mean",
                exact=False,
            )

        def predict(self, X):
            return np.full(np.asarray(X).shape[0], self.mean_)

    X, y = _regression(n=50, d=3)
    pipe = make_pipeline(PolynomialFeatures(), MeanModel()).fit(X, y)
    assert pipe.unlearning_guarantee == "approximate"
    wrapped = Unlearnable(sk_make_pipeline(PolynomialFeatures(), MeanModel())).fit(X, y)
    assert wrapped.unlearning_guarantee == "approximate"
    wrapped.unlearn(X[:3])
    assert wrapped.unlearn_history_[-1]["exact"] is False
    assert wrapped.unlearn_history_[-1]["details"]["steps"][1]["strategy"] == "native"
    np.testing.assert_allclose(wrapped.predict(X[:1]), np.mean(y[3:]))


def test_step_strategy_refit_hook_is_used_after_an_upstream_change():
    from skunlearn.strategies import UnlearningStrategy, register_strategy
    from skunlearn.strategies._base import _REGISTRY

    class WarmRidge(Ridge):
        pass

    calls = []

    class WarmStrategy(UnlearningStrategy):
        name = "warm"
        keeps_rows = True

        @classmethod
        def supports(cls, estimator):
            return isinstance(estimator, WarmRidge)

        def fit(self, estimator, X, y, fit_params):
            return estimator.fit(X, y, **fit_params)

        def refit(self, estimator, X, y, fit_params):
            calls.append(estimator.coef_.copy())  # the current solution is at hand
            new = WarmStrategy()
            return new, new.fit(clone(estimator), X, y, fit_params)

    register_strategy(WarmRidge, WarmStrategy)
    try:
        X, y = _regression()
        pipe = make_pipeline(MinMaxScaler(), WarmRidge()).fit(X, y)
        pipe.unlearn(X[[int(np.argmax(X[:, 0]))]])  # moves the scaler
        assert len(calls) == 1
        keep = np.arange(len(X)) != int(np.argmax(X[:, 0]))
        gold = sk_make_pipeline(MinMaxScaler(), Ridge()).fit(X[keep], y[keep])
        np.testing.assert_allclose(pipe.predict(X), gold.predict(X), rtol=1e-9)
    finally:
        _REGISTRY.pop(WarmRidge, None)
