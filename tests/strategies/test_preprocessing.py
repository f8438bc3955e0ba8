"""Exact unlearning of preprocessing transformers (strategies/preprocessing.py)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    RobustScaler,
    SplineTransformer,
    StandardScaler,
)
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import Unlearnable
from skunlearn.exceptions import UnknownRowsError
from skunlearn.utils.estimator_checks import check_unlearning

RNG = np.random.RandomState(0)
X_NUM = RNG.randn(150, 4) * [1, 10, 0.1, 3] + [0, 5, -2, 100]
X_NAN = X_NUM.copy()
X_NAN[RNG.rand(*X_NAN.shape) < 0.15] = np.nan
X_INT = np.round(X_NAN / [1, 10, 0.1, 30])

CASES = [
    (StandardScaler(), X_NUM, "moments"),
    (StandardScaler(), X_NAN, "moments"),
    (StandardScaler(with_mean=False), X_NUM, "moments"),
    (StandardScaler(with_std=False), X_NUM, "moments"),
    (StandardScaler(with_mean=False, with_std=False), X_NUM, "moments"),
    (MinMaxScaler(), X_NUM, "extremes"),
    (MinMaxScaler(feature_range=(-1, 2)), X_NAN, "extremes"),
    (MaxAbsScaler(), X_NUM, "extremes"),
    (SimpleImputer(), X_NAN, "imputer_counts"),
    (SimpleImputer(strategy="median"), X_NAN, "imputer_counts"),
    (SimpleImputer(strategy="most_frequent"), X_INT, "imputer_counts"),
    (SimpleImputer(strategy="constant", fill_value=-1), X_NAN, "imputer_counts"),
    (SimpleImputer(add_indicator=True), X_NAN, "imputer_counts"),
    (SimpleImputer(keep_empty_features=True), X_NAN, "imputer_counts"),
    (PolynomialFeatures(degree=2), X_NUM, "stateless"),
    (FunctionTransformer(np.abs), X_NUM, "stateless"),
    (SplineTransformer(n_knots=4), X_NUM, "extremes"),
    (SplineTransformer(n_knots=4, knots="quantile"), X_NUM, "extremes"),
    (
        SplineTransformer(knots=np.linspace(-400, 400, 5)[:, None].repeat(4, 1)),
        X_NUM,
        "stateless",
    ),
    (RobustScaler(), X_NUM, "retrain"),
]


@parametrize_with_checks(
    [
        Unlearnable(StandardScaler()),
        Unlearnable(SimpleImputer()),
        Unlearnable(OneHotEncoder(handle_unknown="ignore")),
        Unlearnable(OrdinalEncoder()),
        Unlearnable(MinMaxScaler()),
        Unlearnable(MaxAbsScaler()),
        Unlearnable(PolynomialFeatures()),
        Unlearnable(SplineTransformer()),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _extreme_rows(X):
    """Rows holding a column's minimum or maximum (forces a refit for extremes)."""
    return np.unique(np.r_[np.nanargmin(X, axis=0), np.nanargmax(X, axis=0)])


@pytest.mark.parametrize("transformer, X, strategy", CASES, ids=lambda v: repr(v)[:40])
@pytest.mark.parametrize("which", ["random", "extremes"])
def test_transformer_equals_refit(transformer, X, strategy, which):
    forget = 12 if which == "random" else _extreme_rows(X)
    result = check_unlearning(Unlearnable(transformer), X, forget=forget, rtol=1e-9)
    est, gold = result["unlearned"], result["gold"]
    assert est.unlearn_history_[-1]["strategy"] == strategy
    # Every public fitted attribute equals the refit's.
    for name, expected in vars(gold.estimator_).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        actual = getattr(est.estimator_, name)
        if name == "bsplines_":
            actual = [np.r_[b.t, b.c.ravel()] for b in actual]
            expected = [np.r_[b.t, b.c.ravel()] for b in expected]
        if expected is None or np.asarray(expected).dtype.kind not in "biuf":
            assert repr(actual) == repr(expected), name
            continue
        assert np.asarray(actual).shape == np.asarray(expected).shape, name
        np.testing.assert_allclose(
            np.asarray(actual, dtype=float),
            np.asarray(expected, dtype=float),
            rtol=1e-9,
            atol=1e-12,
            err_msg=name,
        )


def test_standard_scaler_sample_weight_and_counts_dtype():
    w = RNG.uniform(0.5, 2, X_NUM.shape[0])
    result = check_unlearning(
        Unlearnable(StandardScaler()),
        X_NUM,
        fit_params={"sample_weight": w},
        forget=20,
        rtol=1e-9,
    )
    est, gold = result["unlearned"], result["gold"]
    assert (
        np.asarray(est.n_samples_seen_).dtype == np.asarray(gold.n_samples_seen_).dtype
    )
    np.testing.assert_allclose(est.n_samples_seen_, gold.n_samples_seen_, rtol=1e-12)


def test_standard_scaler_keeps_no_rows():
    est = Unlearnable(StandardScaler()).fit(X_NUM)
    assert est.ledger_.X is None
    est = Unlearnable(SimpleImputer()).fit(X_NAN)
    assert est.ledger_.X is None


def test_extremes_inside_do_not_refit():
    inside = np.setdiff1d(np.arange(X_NUM.shape[0]), _extreme_rows(X_NUM))[:5]
    est = Unlearnable(MinMaxScaler()).fit(X_NUM).unlearn(X_NUM[inside])
    assert est.unlearn_history_[-1]["details"]["extremes_unchanged"]
    gold = MinMaxScaler().fit(np.delete(X_NUM, inside, axis=0))
    assert est.n_samples_seen_ == gold.n_samples_seen_
    np.testing.assert_array_equal(est.data_min_, gold.data_min_)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 30),
    nan_frac=st.floats(0, 0.3),
)
def test_scaler_and_imputer_property(seed, k, nan_frac):
    rng = np.random.RandomState(seed)
    X = rng.randn(40, 3) * rng.uniform(0.1, 100, 3) + rng.uniform(-1e3, 1e3, 3)
    X[rng.rand(*X.shape) < nan_frac] = np.nan
    X[0] = 1.0  # every column keeps an observed value among rows 0 and 1
    X[1] = 2.0
    forget = rng.choice(np.arange(2, 40), size=k, replace=False)
    for transformer in (
        StandardScaler(),
        SimpleImputer(),
        SimpleImputer(strategy="most_frequent"),
    ):
        check_unlearning(
            Unlearnable(transformer),
            X,
            forget=forget,
            rtol=1e-8,
            check_unknown=False,
            check_residue=False,
        )


# ------------------------------------------------------------------ encoders
def _frame(n=120, seed=0):
    rng = np.random.RandomState(seed)
    df = pd.DataFrame(
        {
            "color": rng.choice(["red", "green", "blue"], n).astype(object),
            "size": rng.choice([1, 2, 3], n),
        }
    )
    df.loc[[4, 9], "color"] = "purple"  # a rare category
    df.loc[11, "color"] = np.nan
    return df


ENCODERS = [
    OneHotEncoder(sparse_output=False),
    OneHotEncoder(sparse_output=False, drop="first"),
    OneHotEncoder(sparse_output=False, handle_unknown="ignore", drop="if_binary"),
    OneHotEncoder(
        sparse_output=False, handle_unknown="infrequent_if_exist", min_frequency=3
    ),
    OrdinalEncoder(),
    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    OneHotEncoder(
        sparse_output=False,
        categories=[["red", "green", "blue", "purple", np.nan], [1, 2, 3]],
    ),
]


@pytest.mark.parametrize("encoder", ENCODERS, ids=lambda e: repr(e)[:60])
@pytest.mark.parametrize("forget", [[4, 9], [11, 30, 31], [4, 9, 11]])
def test_encoder_category_disappears(encoder, forget):
    df = _frame()
    X_eval = df.drop(index=forget)
    result = check_unlearning(
        Unlearnable(encoder),
        df,
        forget=forget,
        X_eval=X_eval,
        check_unknown=False,
        rtol=0,
    )
    est, gold = result["unlearned"], result["gold"]
    assert len(est.categories_) == len(gold.categories_)
    for a, b in zip(est.categories_, gold.categories_):
        assert a.dtype == b.dtype
        assert pd.Series(a).equals(pd.Series(b))
    np.testing.assert_array_equal(
        est.get_feature_names_out(), gold.get_feature_names_out()
    )
    if hasattr(gold.estimator_, "drop_idx_"):
        assert repr(est.drop_idx_) == repr(gold.drop_idx_)


def test_encoder_unknown_rows_raise_and_leave_model_unchanged():
    df = _frame()
    est = Unlearnable(OneHotEncoder()).fit(df)
    before = [c.copy() for c in est.categories_]
    unknown = pd.DataFrame({"color": ["orange"], "size": [1]})
    with pytest.raises(UnknownRowsError, match="position"):
        est.unlearn(unknown)
    assert all(
        pd.Series(a).equals(pd.Series(b)) for a, b in zip(before, est.categories_)
    )
    assert est.unlearn_history_ == []


def test_encoder_sequential_requests_match_refit():
    df = _frame()
    est = Unlearnable(OneHotEncoder(sparse_output=False)).fit(df)
    est.unlearn(df.iloc[[4]]).unlearn(df.iloc[[9, 20]])
    gold = OneHotEncoder(sparse_output=False).fit(df.drop(index=[4, 9, 20]))
    np.testing.assert_array_equal(
        est.get_feature_names_out(), gold.get_feature_names_out()
    )
    assert "purple" not in est.categories_[0].tolist()


def test_stateless_changes_nothing():
    est = Unlearnable(PolynomialFeatures()).fit(X_NUM)
    before = est.estimator_
    est.unlearn(X_NUM[:3])
    assert est.estimator_ is before
    assert (
        clone(est).fit(X_NUM[3:]).transform(X_NUM).shape == est.transform(X_NUM).shape
    )
