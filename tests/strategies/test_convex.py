"""Convex models: resumed solver and one-step Newton removal vs refitting."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.linear_model import (
    GammaRegressor,
    LogisticRegression,
    PoissonRegressor,
    SGDClassifier,
)
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import UnknownRowsError, Unlearnable
from skunlearn.utils.estimator_checks import check_unlearning

X_BC, Y_BC = load_breast_cancer(return_X_y=True)
X_BC = StandardScaler().fit_transform(X_BC)
X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_WINE, Y_WINE = load_wine(return_X_y=True)
X_WINE = StandardScaler().fit_transform(X_WINE)

TIGHT = dict(tol=1e-10, max_iter=10_000)


@parametrize_with_checks(
    [
        Unlearnable(LogisticRegression()),
        Unlearnable(PoissonRegressor()),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "est, name",
    [
        (LogisticRegression(), "warm_start"),
        (LogisticRegression(solver="sag"), "warm_start"),
        (PoissonRegressor(alpha=0.5), "warm_start"),
        (GammaRegressor(), "warm_start"),
        # No warm start in liblinear, and it penalises the intercept.
        (LogisticRegression(solver="liblinear"), "retrain"),
        (LinearSVC(), "retrain"),
        # No unique optimum.
        (LogisticRegression(l1_ratio=1.0, solver="saga"), "retrain"),
        (LogisticRegression(C=np.inf), "retrain"),
        (PoissonRegressor(alpha=0.0), "retrain"),
        # Stops after epochs of a stochastic order, not at the optimum.
        (SGDClassifier(), "retrain"),
    ],
)
def test_strategy_choice(est, name):
    y = (
        Y_BC
        if not isinstance(est, PoissonRegressor | GammaRegressor)
        else X_BC[:, 0] ** 2 + 1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Unlearnable(est).fit(X_BC[:120], y[:120])
    assert model.strategy_.name == name


@pytest.mark.parametrize("solver", ["newton-cholesky", "newton-cg"])
@pytest.mark.parametrize(
    "X, y", [(X_BC, Y_BC), (X_IRIS, Y_IRIS)], ids=["binary", "multinomial"]
)
def test_exact_within_1e6_of_refit(solver, X, y):
    est = LogisticRegression(solver=solver, **TIGHT)
    result = check_unlearning(Unlearnable(est), X, y, forget=0.1, rtol=1e-6, atol=1e-6)
    model, gold = result["unlearned"], result["gold"]
    assert np.abs(model.coef_ - gold.coef_).max() < 1e-6
    assert np.abs(model.intercept_ - gold.intercept_).max() < 1e-6
    record = model.unlearn_history_[-1]
    assert record["exact"] and record["strategy"] == "warm_start"
    assert record["details"]["tol"] == 1e-10
    assert record["details"]["solver"] == solver
    assert record["details"]["start"] == "newton step"
    assert record["details"]["converged"]
    # A genuine fitted LogisticRegression with the user's parameters.
    assert model.estimator_.get_params() == est.get_params()
    assert set(vars(model.estimator_)) == set(vars(gold.estimator_))


@pytest.mark.parametrize("X, y", [(X_BC, Y_BC), (X_WINE, Y_WINE)])
def test_lbfgs_reaches_the_optimum_as_closely_as_a_refit(X, y):
    # L-BFGS at tol=1e-10 stops on its relative-decrease test about 1e-6 from
    # the optimum, refit or resumed alike: compare both with the optimum.
    forget = np.arange(0, len(y), 9)
    keep = np.setdiff1d(np.arange(len(y)), forget)
    model = Unlearnable(LogisticRegression(**TIGHT)).fit(X, y).unlearn(X[forget])
    refit = LogisticRegression(**TIGHT).fit(X[keep], y[keep])
    optimum = LogisticRegression(solver="newton-cholesky", tol=1e-14).fit(
        X[keep], y[keep]
    )
    err_unlearned = np.abs(model.coef_ - optimum.coef_).max()
    err_refit = np.abs(refit.coef_ - optimum.coef_).max()
    assert err_unlearned < 1e-5
    assert err_unlearned < 5 * err_refit + 1e-7


@pytest.mark.parametrize("solver", ["lbfgs", "sag", "saga"])
def test_other_solvers_and_weights(solver):
    rng = np.random.RandomState(0)
    sw = rng.uniform(0.5, 2.0, len(Y_WINE))
    est = LogisticRegression(solver=solver, class_weight={0: 2.0}, **TIGHT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_unlearning(
            Unlearnable(est),
            X_WINE,
            Y_WINE,
            forget=0.1,
            fit_params={"sample_weight": sw},
            rtol=1e-4,
            atol=1e-5,
        )


def test_balanced_class_weight_uses_the_exact_path():
    est = LogisticRegression(class_weight="balanced", solver="newton-cholesky", **TIGHT)
    result = check_unlearning(
        Unlearnable(est), X_IRIS, Y_IRIS, forget=0.2, rtol=1e-6, atol=1e-6
    )
    record = result["unlearned"].unlearn_history_[-1]
    assert record["details"]["start"] == "previous solution"
    model = Unlearnable(est).fit(X_IRIS, Y_IRIS).unlearn(X_IRIS[:3], method="newton")
    assert "newton_skipped" in model.unlearn_history_[-1]["details"]
    assert model.unlearn_history_[-1]["exact"]


def test_glm_exact_path():
    y = np.exp(X_WINE[:, 0] / 3)
    result = check_unlearning(
        Unlearnable(PoissonRegressor(alpha=0.1, **TIGHT)),
        X_WINE[:, 1:],
        y,
        forget=0.1,
        rtol=1e-6,
        atol=1e-7,
    )
    assert (
        result["unlearned"].unlearn_history_[-1]["details"]["start"]
        == "previous solution"
    )


def test_class_losing_its_last_row_cold_start_and_one_class_error():
    est = LogisticRegression(solver="newton-cholesky", **TIGHT)
    model = Unlearnable(est).fit(X_IRIS, Y_IRIS)
    model.unlearn(X_IRIS[:50])
    gold = clone(est).fit(X_IRIS[50:], Y_IRIS[50:])
    assert model.unlearn_history_[-1]["details"]["start"].startswith("cold")
    assert_allclose(model.coef_, gold.coef_, atol=1e-8)
    assert list(model.classes_) == [1, 2]
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="class"):
        model.unlearn(X_IRIS[50:100])
    assert pickle.dumps(model) == before


# ------------------------------------------------------------------- Newton


def _true_residual(model, X, y, sw=None):
    """||grad f_r|| at the model's coefficients, written out independently."""
    est = model.estimator_
    s = np.ones(len(y)) if sw is None else sw
    S = s.sum()
    if len(est.classes_) == 2:
        t = (y == est.classes_[1]).astype(float)
        r = s * (expit(X @ est.coef_[0] + est.intercept_[0]) - t)
        g = np.r_[X.T @ r + est.coef_[0] / est.C, r.sum()]
    else:
        Y = (y[:, None] == est.classes_[None, :]).astype(float)
        R = s[:, None] * (softmax(X @ est.coef_.T + est.intercept_, axis=1) - Y)
        g = np.r_[(X.T @ R + est.coef_.T / est.C).ravel(), R.sum(axis=0)]
    return np.linalg.norm(g) / S


@pytest.mark.parametrize(
    "X, y", [(X_BC, Y_BC), (X_WINE, Y_WINE)], ids=["binary", "multinomial"]
)
@pytest.mark.parametrize("weighted", [False, True])
def test_newton_reports_the_true_gradient_residual(X, y, weighted):
    sw = np.random.RandomState(0).uniform(0.5, 2, len(y)) if weighted else None
    params = {} if sw is None else {"sample_weight": sw}
    model = Unlearnable(LogisticRegression(**TIGHT)).fit(X, y, **params)
    gone = []
    for rows in ([3], [10, 11, 40], [100]):
        model.unlearn(X[rows], method="newton")
        gone += rows
        keep = np.setdiff1d(np.arange(len(y)), gone)
        record = model.unlearn_history_[-1]
        assert record["strategy"] == "warm_start" and record["exact"] is False
        details = record["details"]
        assert details["method"] == "newton" and not details["fallback"]
        expected = _true_residual(
            model, X[keep], y[keep], None if sw is None else sw[keep]
        )
        assert_allclose(
            details["gradient_residual_norm"], expected, rtol=1e-6, atol=1e-15
        )
    # One Newton step per request lands close to the refit.
    refit = LogisticRegression(**TIGHT).fit(
        X[keep], y[keep], **({} if sw is None else {"sample_weight": sw[keep]})
    )
    assert np.abs(model.coef_ - refit.coef_).max() < 1e-3


def test_newton_fallback_fires_above_the_threshold():
    est = LogisticRegression(solver="newton-cholesky", **TIGHT)
    model = Unlearnable(est).fit(X_WINE, Y_WINE)
    forget = np.arange(0, 178, 4)
    model.unlearn(X_WINE[forget], method="newton", residual_threshold=0.0)
    record = model.unlearn_history_[-1]
    assert record["details"]["fallback"] is True
    assert record["details"]["gradient_residual_norm"] > 0.0
    assert record["exact"] is True
    keep = np.setdiff1d(np.arange(178), forget)
    gold = clone(est).fit(X_WINE[keep], Y_WINE[keep])
    assert np.abs(model.coef_ - gold.coef_).max() < 1e-6
    # Above the residual: no fallback, approximate result.
    model.unlearn(X_WINE[[1]], method="newton", residual_threshold=1.0)
    record = model.unlearn_history_[-1]
    assert record["details"]["fallback"] is False and record["exact"] is False
    assert record["details"]["gradient_residual_norm"] <= 1.0


def test_newton_step_is_for_sklearns_objective():
    # Guo et al.'s step for J(w) = sum_i l_i(w) + |coef|^2 / (2 C), written out
    # with numpy, from the fitted solution without row 7.
    C = 0.5
    est = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-14)
    model = Unlearnable(est).fit(X_BC, Y_BC)
    w = np.r_[model.coef_[0], model.intercept_]
    Xa = np.c_[X_BC, np.ones(len(Y_BC))]
    Xr, yr = np.delete(Xa, 7, 0), np.delete(Y_BC, 7)
    p = expit(Xr @ w)
    reg = np.r_[np.full(X_BC.shape[1], 1.0 / C), 0.0]
    grad = Xr.T @ (p - yr) + reg * w
    H = Xr.T @ (Xr * (p * (1 - p))[:, None]) + np.diag(reg)
    expected = w - np.linalg.solve(H, grad)
    model.unlearn(X_BC[[7]], method="newton")
    assert_allclose(np.r_[model.coef_[0], model.intercept_], expected, rtol=1e-9)
    # ... and it moves toward the optimum: second-order error only.
    optimum = clone(est).fit(np.delete(X_BC, 7, 0), yr)
    before = np.abs(w[:-1] - optimum.coef_[0]).max()
    assert np.abs(model.coef_ - optimum.coef_).max() < 0.1 * before


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"method": "magic"}, ValueError, "method must be one of"),
        ({"method": "newton", "residual_threshold": -1.0}, ValueError, "non-negative"),
        ({"method": "newton", "residual_threshold": "x"}, ValueError, "non-negative"),
        ({"alpha": 1.0}, TypeError, "takes the unlearning parameters"),
    ],
)
def test_bad_parameters_leave_model_unchanged(params, error, match):
    model = Unlearnable(LogisticRegression()).fit(X_BC, Y_BC)
    before = pickle.dumps(model)
    with pytest.raises(error, match=match):
        model.unlearn(X_BC[:2], **params)
    assert pickle.dumps(model) == before


def test_bad_input_leaves_model_unchanged():
    model = Unlearnable(LogisticRegression()).fit(X_BC, Y_BC)
    glm = Unlearnable(PoissonRegressor()).fit(X_BC, X_BC[:, 0] ** 2)
    before, before_glm = pickle.dumps(model), pickle.dumps(glm)
    with pytest.raises(ValueError, match="features"):
        model.unlearn(X_BC[:2, :5])
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.unlearn(np.full((1, X_BC.shape[1]), np.nan))
    with pytest.raises(UnknownRowsError):
        model.unlearn(X_BC[:2] + 50)
    with pytest.raises(ValueError, match="LogisticRegression only"):
        glm.unlearn(X_BC[:2], method="newton")
    assert pickle.dumps(model) == before and pickle.dumps(glm) == before_glm


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(30, 120),
    d=st.integers(1, 6),
    n_classes=st.integers(2, 3),
    frac=st.floats(0.02, 0.5),
)
def test_property_exact_path_matches_refit(seed, n, d, n_classes, frac):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    y = rng.randint(0, n_classes, n)
    forget = rng.choice(n, max(1, int(frac * n)), replace=False)
    keep = np.setdiff1d(np.arange(n), forget)
    if np.unique(y[keep]).size < 2:
        return
    est = LogisticRegression(solver="newton-cholesky", C=0.7, **TIGHT)
    model = Unlearnable(est).fit(X, y).unlearn(X[forget], y[forget])
    gold = clone(est).fit(X[keep], y[keep])
    assert np.abs(model.coef_ - gold.coef_).max() < 1e-6
    assert np.abs(model.intercept_ - gold.intercept_).max() < 1e-6


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky", "saga"])
@pytest.mark.parametrize("weighted", [False, True])
def test_sequences_on_stored_rows_match_refit(solver, weighted):
    # Requests run on the ledger's stored rows, with zero weight for the
    # forgotten slots (erased in place, compacted lazily) and string labels
    # (erased slots hold None): each result is still the refit's, and the
    # Newton requests report the true residual on the retained rows.
    X, y = X_WINE, np.array(["a", "b", "c"])[Y_WINE]
    sw = np.random.RandomState(1).uniform(0.5, 2, len(y)) if weighted else None
    props = {} if sw is None else {"sample_weight": sw}
    est = LogisticRegression(solver=solver, C=0.8, **TIGHT)
    model = Unlearnable(est).fit(X, y, **props)
    gone = []
    for rows, method in (
        ([5, 70], "exact"),
        ([8], "newton"),
        (list(range(100, 130)), "newton"),
        ([2, 3, 150], "exact"),
    ):
        model.unlearn(X[rows], method=method)
        gone += rows
        keep = np.setdiff1d(np.arange(len(y)), gone)
        kw = {} if sw is None else {"sample_weight": sw[keep]}
        details = model.unlearn_history_[-1]["details"]
        if method == "newton":
            expected = _true_residual(
                model, X[keep], y[keep], None if sw is None else sw[keep]
            )
            assert_allclose(details["gradient_residual_norm"], expected, rtol=1e-6)
        else:
            # L-BFGS stops about 1e-6 from the optimum (see above): compare
            # it with the optimum itself, the other solvers with a refit.
            gold = clone(est).fit(X[keep], y[keep], **kw)
            atol = 1e-6
            if solver == "lbfgs":
                gold = LogisticRegression(
                    solver="newton-cholesky", C=0.8, tol=1e-14
                ).fit(X[keep], y[keep], **kw)
                atol = 1e-5
            assert np.abs(model.coef_ - gold.coef_).max() < atol
            assert np.abs(model.intercept_ - gold.intercept_).max() < atol
        # The lbfgs/Newton solvers never copy the retained rows.
        assert details["retained_copy"] is (solver == "saga" and method == "exact")
    # no trace of the forgotten rows' positions: the ledger has no dead slot
    assert model.ledger_.n_stored == model.ledger_.n_rows
