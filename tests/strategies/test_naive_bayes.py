"""Naive Bayes: subtracting counts and moments equals refitting."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.naive_bayes import (
    BernoulliNB,
    CategoricalNB,
    ComplementNB,
    GaussianNB,
    MultinomialNB,
)
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import UnknownRowsError, Unlearnable
from skunlearn.utils.estimator_checks import check_unlearning

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_DIG, Y_DIG = load_digits(return_X_y=True)
X_DIG_INT = X_DIG.astype(np.int64)

_ONE_LABEL = {
    "check_classifiers_one_label_sample_weights": (
        "ComplementNB itself predicts a class whose rows all have zero weight; "
        "scikit-learn tolerates that only for estimators whose fit signature names "
        "sample_weight, and Unlearnable.fit takes **fit_params."
    )
}


def _expected_failed_checks(estimator):
    if isinstance(estimator.estimator, ComplementNB):
        return _ONE_LABEL
    return {}


@parametrize_with_checks(
    [
        Unlearnable(GaussianNB()),
        Unlearnable(MultinomialNB()),
        Unlearnable(ComplementNB()),
        Unlearnable(BernoulliNB()),
        Unlearnable(CategoricalNB()),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def assert_same_fitted(est, gold, rtol=1e-9):
    """Every fitted attribute of ``est`` equals the refit's."""
    names = {k for k in vars(gold) if k.endswith("_") and not k.startswith("_")}
    assert names == {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}
    for name in names:
        a, b = getattr(est, name), getattr(gold, name)
        if isinstance(b, list):
            assert len(a) == len(b), name
            for u, v in zip(a, b):
                assert_allclose(u, v, rtol=rtol, atol=1e-12, err_msg=name)
        elif isinstance(b, np.ndarray) and b.dtype.kind in "fc":
            assert a.dtype == b.dtype, name
            assert_allclose(a, b, rtol=rtol, atol=1e-12, err_msg=name)
        elif isinstance(b, float):
            assert_allclose(a, b, rtol=rtol, err_msg=name)
        else:
            assert_array_equal(a, b, err_msg=name)


CASES = [
    (GaussianNB(), X_IRIS, Y_IRIS),
    (GaussianNB(var_smoothing=1e-3), *load_wine(return_X_y=True)),
    (MultinomialNB(alpha=0.5), X_DIG, Y_DIG),
    (MultinomialNB(fit_prior=False), X_DIG, Y_DIG),
    (ComplementNB(norm=True), X_DIG, Y_DIG),
    (BernoulliNB(binarize=4.0), X_DIG, Y_DIG),
    (CategoricalNB(min_categories=17), X_DIG_INT, Y_DIG),
]


@pytest.mark.parametrize("est, X, y", CASES, ids=lambda v: repr(v)[:30])
@pytest.mark.parametrize("weighted", [False, True])
def test_gold_standard(est, X, y, weighted):
    fit_params = {}
    if weighted:
        fit_params["sample_weight"] = np.random.RandomState(0).uniform(0.5, 2, len(y))
    result = check_unlearning(
        Unlearnable(est), X, y, forget=0.15, fit_params=fit_params, rtol=1e-9
    )
    model = result["unlearned"]
    assert model.strategy_.name == "naive_bayes"
    assert model.unlearn_history_[-1]["strategy"] == "naive_bayes"
    assert_same_fitted(model.estimator_, result["gold"].estimator_)


@pytest.mark.parametrize(
    "est",
    [GaussianNB(), MultinomialNB(), ComplementNB(), BernoulliNB(), CategoricalNB()],
)
def test_class_losing_its_last_row(est):
    X, y = X_IRIS.astype(np.int64) if isinstance(est, CategoricalNB) else X_IRIS, Y_IRIS
    # Class 0 goes in two requests, with one row of class 1 in the second.
    forget_1, forget_2 = np.arange(0, 30), np.r_[np.arange(30, 50), 60]
    model = Unlearnable(est).fit(X, y)
    model.unlearn(X[forget_1]).unlearn(X[forget_2], y[forget_2])
    keep = np.setdiff1d(np.arange(len(y)), np.r_[forget_1, forget_2])
    gold = clone(est).fit(X[keep], y[keep])
    assert_array_equal(model.classes_, [1, 2])
    assert model.unlearn_history_[-1]["details"]["classes_removed"] == 1
    assert_same_fitted(model.estimator_, gold)
    assert_allclose(
        model.predict_proba(X[keep]), gold.predict_proba(X[keep]), rtol=1e-9
    )


def test_gaussian_epsilon_recomputed_from_retained_rows():
    X = X_IRIS.copy()
    X[7, 2] = 60.0  # this row alone sets the largest variance
    model = Unlearnable(GaussianNB(var_smoothing=1e-2)).fit(X, Y_IRIS)
    model.unlearn(X[[7]])
    gold = GaussianNB(var_smoothing=1e-2).fit(np.delete(X, 7, 0), np.delete(Y_IRIS, 7))
    assert_allclose(model.epsilon_, gold.epsilon_, rtol=1e-10)
    assert model.epsilon_ < 0.2 * GaussianNB(var_smoothing=1e-2).fit(X, Y_IRIS).epsilon_
    assert_same_fitted(model.estimator_, gold)


def test_categorical_categories_shrink_like_a_refit():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 4, size=(60, 3))
    X[5, 1] = 9  # the only row with categories above 3 in feature 1
    y = rng.randint(0, 2, 60)
    model = Unlearnable(CategoricalNB()).fit(X, y)
    model.unlearn(X[[5]])
    gold = CategoricalNB().fit(np.delete(X, 5, 0), np.delete(y, 5))
    assert_array_equal(model.n_categories_, gold.n_categories_)
    assert model.n_categories_[1] == 4
    assert_same_fitted(model.estimator_, gold)


def test_gaussian_user_priors_and_class_removal_raise_unchanged():
    model = Unlearnable(GaussianNB(priors=[0.2, 0.3, 0.5])).fit(X_IRIS, Y_IRIS)
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="priors"):
        model.unlearn(X_IRIS[:50])
    assert pickle.dumps(model) == before
    with pytest.raises(ValueError, match="priors"):
        GaussianNB(priors=[0.2, 0.3, 0.5]).fit(X_IRIS[50:], Y_IRIS[50:])


def test_sequence_of_requests_matches_refit():
    model = Unlearnable(MultinomialNB()).fit(X_DIG, Y_DIG)
    gone = []
    rng = np.random.RandomState(1)
    for _ in range(5):
        rows = rng.choice(np.setdiff1d(np.arange(len(Y_DIG)), gone), 40, replace=False)
        model.unlearn(X_DIG[rows], Y_DIG[rows])
        gone.extend(rows.tolist())
    keep = np.setdiff1d(np.arange(len(Y_DIG)), gone)
    assert_same_fitted(model.estimator_, MultinomialNB().fit(X_DIG[keep], Y_DIG[keep]))
    assert len(model.unlearn_history_) == 5


@pytest.mark.parametrize("est", [GaussianNB(), MultinomialNB(), CategoricalNB()])
def test_bad_input_leaves_model_unchanged(est):
    X = X_DIG_INT[:200]
    y = Y_DIG[:200]
    model = Unlearnable(est).fit(X, y)
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="features"):
        model.unlearn(X[:2, :10])
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.unlearn(np.full((1, X.shape[1]), np.nan))
    with pytest.raises(UnknownRowsError):
        model.unlearn(X[:1] + 100)
    with pytest.raises(TypeError, match="no unlearning parameters"):
        model.unlearn(X[:1], method="newton")
    with pytest.raises(ValueError, match="rows but y_forget"):
        model.unlearn(X[:2], y[:3])
    assert pickle.dumps(model) == before


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(8, 40),
    n_classes=st.integers(2, 4),
    frac=st.floats(0.05, 0.8),
)
def test_property_counts_and_moments(seed, n, n_classes, frac):
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 5, size=(n, 3)).astype(np.float64)
    y = rng.randint(0, n_classes, n)
    forget = rng.choice(n, max(1, int(frac * n)), replace=False)
    keep = np.setdiff1d(np.arange(n), forget)
    if keep.size == 0:
        return
    for est in (
        MultinomialNB(),
        GaussianNB(),
        CategoricalNB(),
        BernoulliNB(binarize=2),
    ):
        Xe = X.astype(np.int64) if isinstance(est, CategoricalNB) else X
        # Duplicate rows may carry different targets: pass y to say which.
        model = Unlearnable(est).fit(Xe, y).unlearn(Xe[forget], y[forget])
        gold = clone(est).fit(Xe[keep], y[keep])
        assert_same_fitted(model.estimator_, gold, rtol=1e-7)
