"""Nearest neighbours: deleting rows from the index equals refitting."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris, load_wine
from sklearn.neighbors import (
    KNeighborsClassifier,
    KNeighborsRegressor,
    KNeighborsTransformer,
    NearestNeighbors,
    RadiusNeighborsClassifier,
    RadiusNeighborsRegressor,
    RadiusNeighborsTransformer,
)
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import UnknownRowsError, Unlearnable
from skunlearn.utils.estimator_checks import check_unlearning, retained_indices

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_WINE, Y_WINE = load_wine(return_X_y=True)
X_DIA, Y_DIA = load_diabetes(return_X_y=True)


@parametrize_with_checks(
    [
        Unlearnable(KNeighborsClassifier()),
        Unlearnable(KNeighborsRegressor()),
        Unlearnable(NearestNeighbors()),
        Unlearnable(RadiusNeighborsClassifier(radius=2.0)),
        Unlearnable(RadiusNeighborsRegressor(radius=2.0)),
        Unlearnable(KNeighborsTransformer()),
        Unlearnable(RadiusNeighborsTransformer(radius=2.0)),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def assert_same_index(est, gold):
    """The fitted index (rows, targets, classes, method, tree arrays) is a refit's."""
    for name in (
        "n_samples_fit_",
        "_fit_method",
        "effective_metric_",
        "n_features_in_",
    ):
        assert getattr(est, name) == getattr(gold, name), name
    if sp.issparse(gold._fit_X):
        assert_array_equal(est._fit_X.toarray(), gold._fit_X.toarray())
    else:
        assert est._fit_X.flags.c_contiguous
        assert_array_equal(est._fit_X, gold._fit_X)
    if hasattr(gold, "_y"):
        assert_array_equal(est._y, gold._y)
    if hasattr(gold, "classes_"):
        if isinstance(gold.classes_, list):
            for a, b in zip(est.classes_, gold.classes_):
                assert_array_equal(a, b)
        else:
            assert_array_equal(est.classes_, gold.classes_)
    if hasattr(gold, "outlier_label_"):
        assert est.outlier_label_ == gold.outlier_label_
    if gold._tree is None:
        assert est._tree is None
    else:
        for a, b in zip(est._tree.get_arrays(), gold._tree.get_arrays()):
            assert_array_equal(np.asarray(a), np.asarray(b))


def _neighbors_equal(est, gold, X):
    if hasattr(gold, "kneighbors"):
        d1, i1 = est.kneighbors(X, n_neighbors=3)
        d2, i2 = gold.kneighbors(X, n_neighbors=3)
    else:
        d1, i1 = est.radius_neighbors(X, sort_results=True)
        d2, i2 = gold.radius_neighbors(X, sort_results=True)
        d1, d2, i1, i2 = (np.concatenate(a) for a in (d1, d2, i1, i2))
    assert_allclose(d1, d2, rtol=1e-12)
    assert_array_equal(i1, i2)


CASES = [
    (KNeighborsClassifier(n_neighbors=5), X_IRIS, Y_IRIS),
    (KNeighborsClassifier(algorithm="ball_tree", weights="distance"), X_WINE, Y_WINE),
    (KNeighborsClassifier(algorithm="brute", metric="manhattan"), X_WINE, Y_WINE),
    (KNeighborsRegressor(n_neighbors=4), X_DIA, Y_DIA),
    (
        KNeighborsRegressor(algorithm="kd_tree", leaf_size=5),
        X_IRIS[:, :3],
        Y_IRIS + 0.5,
    ),
    (NearestNeighbors(algorithm="ball_tree", metric="chebyshev"), X_IRIS, None),
    (
        RadiusNeighborsClassifier(radius=1.5, outlier_label="most_frequent"),
        X_IRIS,
        Y_IRIS,
    ),
    (RadiusNeighborsRegressor(radius=0.2), X_DIA, Y_DIA),
    (KNeighborsTransformer(n_neighbors=4), X_IRIS, None),
]


@pytest.mark.parametrize("est, X, y", CASES, ids=lambda v: repr(v)[:40])
def test_gold_standard(est, X, y):
    # check_unlearning compares dense outputs; the transformers' sparse
    # graphs are compared below.
    sparse_out = isinstance(est, KNeighborsTransformer)
    methods = ("predict", "predict_proba") if sparse_out else None
    kwargs = {} if methods is None else {"methods": methods}
    result = check_unlearning(Unlearnable(est), X, y, forget=0.2, rtol=1e-12, **kwargs)
    model = result["unlearned"]
    if sparse_out:
        assert_allclose(
            model.transform(X).toarray(),
            result["gold"].transform(X).toarray(),
            rtol=1e-12,
        )
    assert model.strategy_.name == "neighbors"
    gold = result["gold"].estimator_
    assert_same_index(model.estimator_, gold)
    _neighbors_equal(model.estimator_, gold, X[:20])


def test_sparse_index():
    rng = np.random.RandomState(0)
    X = sp.random(80, 30, density=0.2, format="csr", random_state=rng)
    y = rng.randint(0, 3, 80)
    model = Unlearnable(KNeighborsClassifier(n_neighbors=3)).fit(X, y)
    forget = [3, 10, 50]
    model.unlearn(X[forget], y[forget])
    keep = np.setdiff1d(np.arange(80), forget)
    gold = KNeighborsClassifier(n_neighbors=3).fit(X[keep], y[keep])
    assert_same_index(model.estimator_, gold)
    assert_array_equal(model.predict(X), gold.predict(X))


def test_class_losing_its_last_row_and_multioutput():
    Y = np.c_[Y_IRIS, (X_IRIS[:, 0] > 5.8).astype(int)]
    model = Unlearnable(KNeighborsClassifier(n_neighbors=3)).fit(X_IRIS, Y)
    forget = np.arange(50)  # all of class 0 of the first output
    model.unlearn(X_IRIS[forget])
    gold = KNeighborsClassifier(n_neighbors=3).fit(X_IRIS[50:], Y[50:])
    assert_same_index(model.estimator_, gold)
    assert_array_equal(model.predict(X_IRIS), gold.predict(X_IRIS))
    assert model.unlearn_history_[-1]["details"]["classes_removed"] == 1


def test_auto_algorithm_choice_follows_the_number_of_rows():
    # algorithm="auto" uses brute force once n_neighbors >= n_samples // 2.
    X, y = X_IRIS[:24], Y_IRIS[:24]
    model = Unlearnable(KNeighborsClassifier(n_neighbors=11)).fit(X, y)
    assert model.estimator_._fit_method == "kd_tree"
    model.unlearn(X[:2])
    gold = KNeighborsClassifier(n_neighbors=11).fit(X[2:], y[2:])
    assert gold._fit_method == "brute"
    assert_same_index(model.estimator_, gold)


def test_duplicates_and_repeated_requests_keep_training_order():
    X = np.repeat(X_IRIS[:30], 2, axis=0)
    y = np.repeat(Y_IRIS[:30], 2)
    X[1::2, 0] += 0.0  # exact duplicates
    model = Unlearnable(KNeighborsRegressor(n_neighbors=2)).fit(X, y.astype(float))
    forget = [3, 3, 20]
    for part in ([3], [3], [20]):
        model.unlearn(X[part])
    keep = retained_indices(X, forget)
    gold = KNeighborsRegressor(n_neighbors=2).fit(X[keep], y[keep].astype(float))
    assert_same_index(model.estimator_, gold)
    assert model.estimator_.n_samples_fit_ == 57


def test_precomputed_metric_goes_to_retrain():
    D = np.abs(X_IRIS[:, :1] - X_IRIS[:, :1].T)
    model = Unlearnable(KNeighborsClassifier(metric="precomputed")).fit(D, Y_IRIS)
    assert model.strategy_.name == "retrain"


@pytest.mark.parametrize("est", [KNeighborsClassifier(), NearestNeighbors()])
def test_bad_input_leaves_model_unchanged(est):
    y = None if isinstance(est, NearestNeighbors) else Y_IRIS
    model = Unlearnable(est).fit(X_IRIS, y)
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="features"):
        model.unlearn(X_IRIS[:2, :3])
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.unlearn(np.full((1, 4), np.inf))
    with pytest.raises(UnknownRowsError):
        model.unlearn(X_IRIS[:2] + 100)
    with pytest.raises(TypeError, match="no unlearning parameters"):
        model.unlearn(X_IRIS[:1], method="newton")
    assert pickle.dumps(model) == before


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(6, 60),
    algorithm=st.sampled_from(["brute", "kd_tree", "ball_tree", "auto"]),
    frac=st.floats(0.05, 0.8),
)
def test_property_index_equals_refit(seed, n, algorithm, frac):
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 4, size=(n, 3)).astype(float)  # many duplicates
    y = rng.randint(0, 3, n)
    forget = rng.choice(n, max(1, int(frac * n)), replace=False)
    if forget.size >= n:
        return
    est = KNeighborsClassifier(n_neighbors=min(3, n - forget.size), algorithm=algorithm)
    model = Unlearnable(est).fit(X, y).unlearn(X[forget], y[forget])
    keep = retained_indices(X, forget, y)
    gold = clone(est).fit(X[keep], y[keep])
    assert_same_index(model.estimator_, gold)
    assert_array_equal(model.predict(X), gold.predict(X))
