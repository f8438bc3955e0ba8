"""skunlearn.pipeline.Pipeline and make_pipeline."""

import pickle

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.pipeline import make_union
from sklearn.preprocessing import (
    MaxAbsScaler,
    OneHotEncoder,
    PolynomialFeatures,
    StandardScaler,
)
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import Unlearnable, is_unlearner
from skunlearn.pipeline import Pipeline, make_pipeline
from skunlearn.utils.estimator_checks import check_unlearning

_SAME_AS_SKLEARN = {
    "check_estimators_overwrite_params": (
        "as scikit-learn's Pipeline, fit replaces `steps` with the fitted steps"
    ),
    "check_dont_overwrite_parameters": (
        "as scikit-learn's Pipeline, fit replaces `steps` with the fitted steps"
    ),
}


@parametrize_with_checks(
    [
        make_pipeline(StandardScaler(), Ridge()),
        make_pipeline(StandardScaler(), LogisticRegression()),
        make_pipeline(PolynomialFeatures(), StandardScaler()),
        Unlearnable(sk_make_pipeline(StandardScaler(), Ridge())),
        Unlearnable(make_union(StandardScaler(), PolynomialFeatures())),
    ],
    expected_failed_checks=lambda est: (
        {} if isinstance(est, Unlearnable) else _SAME_AS_SKLEARN
    ),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


RNG = np.random.RandomState(0)
X = RNG.randn(120, 5)
Y = X @ RNG.randn(5) + RNG.randn(120) * 0.1


def test_make_pipeline_is_a_sklearn_pipeline_with_unlearn():
    pipe = make_pipeline(StandardScaler(), Ridge())
    assert isinstance(pipe, SkPipeline) and isinstance(pipe, Pipeline)
    assert is_unlearner(pipe) and pipe.unlearning_guarantee == "exact"
    assert [n for n, _ in pipe.steps] == ["standardscaler", "ridge"]
    assert type(clone(pipe)) is Pipeline


@pytest.mark.parametrize(
    "steps",
    [
        [StandardScaler(), Ridge()],
        [SimpleImputer(), "passthrough", StandardScaler(), Ridge()],
        [MaxAbsScaler(), StandardScaler()],  # a transformer pipeline
    ],
    ids=["fused", "passthrough", "transformer"],
)
def test_pipeline_equals_refit(steps):
    check_unlearning(
        make_pipeline(*[clone(s) if s != "passthrough" else s for s in steps]),
        X,
        Y,
        forget=15,
        rtol=1e-9,
    )


def test_history_request_id_and_step_records():
    pipe = make_pipeline(SimpleImputer(), StandardScaler(), Ridge()).fit(X, Y)
    pipe.unlearn(X[:3], request_id="ticket-7")
    record = pipe.unlearn_history_[-1]
    assert record["request_id"] == "ticket-7" and record["n_removed"] == 3
    names = [s["step"] for s in record["details"]["steps"]]
    assert names == ["simpleimputer", "standardscaler", "ridge"]
    assert record["details"]["steps"][0]["strategy"] == "imputer_counts"
    assert (
        record["details"]["steps"][1]["reason"] == "an upstream step's output changed"
    )


def test_step_sample_weight_is_forgotten_with_rows():
    w = RNG.uniform(0.5, 2.0, len(Y))
    pipe = make_pipeline(StandardScaler(), Ridge())
    check_unlearning(
        pipe, X, Y, forget=10, fit_params={"ridge__sample_weight": w}, rtol=1e-9
    )
    with pytest.raises(ValueError, match="stepname__parameter"):
        make_pipeline(StandardScaler(), Ridge()).fit(X, Y, sample_weight=w)


def test_pickle_and_skops_roundtrip_after_unlearn(tmp_path):
    pipe = make_pipeline(StandardScaler(), Ridge()).fit(X, Y).unlearn(X[:4])
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(again.predict(X), pipe.predict(X))
    again.unlearn(X[4:6])
    path = tmp_path / "pipe.skops"
    sio.dump(pipe, path)
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


def test_set_output_pandas_and_categorical_pipeline():
    import pandas as pd

    df = pd.DataFrame(
        {"c": RNG.choice(["a", "b", "z"], 60).astype(object), "x": RNG.randn(60)}
    )
    pipe = make_pipeline(OneHotEncoder(sparse_output=False, handle_unknown="ignore"))
    pipe.set_output(transform="pandas").fit(df[["c"]])
    rows = np.flatnonzero(df["c"].to_numpy() == "z")
    pipe.unlearn(df[["c"]].iloc[rows])
    out = pipe.transform(df[["c"]])
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["c_a", "c_b"]


def test_transform_input_is_refused():
    pipe = Pipeline([("s", StandardScaler()), ("r", Ridge())], transform_input=["x"])
    with pytest.raises(ValueError, match="transform_input"):
        pipe.fit(X, Y)


def test_unlearnable_and_subclass_share_one_strategy():
    a = Unlearnable(sk_make_pipeline(SimpleImputer(), StandardScaler(), Ridge())).fit(
        X, Y
    )
    b = make_pipeline(SimpleImputer(), StandardScaler(), Ridge()).fit(X, Y)
    a.unlearn(X[:7])
    b.unlearn(X[:7])
    assert type(a.strategy_) is type(b.unlearn_strategy_)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-12)
    assert a.unlearn_history_[-1]["details"] == {
        **b.unlearn_history_[-1]["details"],
        "steps": a.unlearn_history_[-1]["details"]["steps"],
    }


@pytest.mark.parametrize(
    "steps",
    [
        [StandardScaler(), Ridge()],  # fused
        [SimpleImputer(), StandardScaler(), Ridge()],
        ["passthrough", Ridge()],
    ],
    ids=["fused", "step_by_step", "passthrough_first"],
)
@pytest.mark.parametrize(
    "X_forget, match",
    [
        (X[0], "Expected 2D array, got 1D array instead"),
        (X[0].tolist(), "Expected 2D array, got 1D array instead"),
        (X[:2, :3], "X has 3 features, but .* is expecting 5 features"),
        (X[:2, :3].tolist(), "X has 3 features, but .* is expecting 5 features"),
        (X[None, :2], "Found array with dim 3"),
    ],
    ids=["1d", "1d_list", "columns", "columns_list", "3d"],
)
def test_forget_set_shape_is_validated_like_predict(steps, X_forget, match):
    # A forget set of the wrong shape is refused as predict refuses it, not
    # reported as rows never seen; nothing changes.
    pipe = make_pipeline(*[clone(s) if s != "passthrough" else s for s in steps])
    pipe.fit(X, Y)
    before = pickle.dumps(pipe)
    with pytest.raises(ValueError, match=match):
        pipe.predict(X_forget)
    with pytest.raises(ValueError, match=match):
        pipe.unlearn(X_forget)
    assert pickle.dumps(pipe) == before
    assert pipe.unlearn_history_ == [] and pipe.ledger_.n_rows == len(X)
