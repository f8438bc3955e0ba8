"""Newton removal that keeps no training row (opt-in, approximate, bounded)."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skunlearn import Unlearnable
from skunlearn.exceptions import UnlearningError
from skunlearn.strategies import NewtonRemovalStrategy, get_strategy
from skunlearn.strategies.convex import _Newton


def _true_gradient_norm(model, X, y, sw=None):
    nt = _Newton(model.estimator_)
    w = nt.flat(model.coef_, model.intercept_)
    return float(np.linalg.norm(nt.grad(w, X, y, sw) + nt.penalty_grad(w)))


def _logistic(**kw):
    return LogisticRegression(tol=1e-12, max_iter=10_000, **kw)


def test_never_picked_by_auto_and_keeps_no_rows():
    assert get_strategy(LogisticRegression()) is not NewtonRemovalStrategy
    X, y = make_classification(200, 5, random_state=0)
    model = Unlearnable(LogisticRegression(), strategy="newton_removal")
    assert model.unlearning_guarantee == "approximate"
    model.fit(X, y)
    assert model.unlearning_guarantee == "approximate"
    assert model.ledger_.X is None
    # The saved model holds no training row: its size does not grow with n.
    big = Unlearnable(LogisticRegression(), strategy="newton_removal")
    Xb, yb = make_classification(2000, 20, random_state=0)
    big.fit(Xb, yb)
    assert not any(
        isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[0] >= 200
        for v in vars(model.unlearn_strategy_).values()
    )
    # fingerprints, targets and p x p statistics: far less than the rows
    assert len(pickle.dumps(big)) < Xb.nbytes / 2


@pytest.mark.parametrize(
    "params",
    [{}, {"C": 0.1}, {"fit_intercept": False}, {"class_weight": {0: 1.0, 1: 3.0}}],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_bound_holds_and_result_approaches_the_refit(params, weighted):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.RandomState(0)
    sw = rng.uniform(0.5, 2.0, len(X)) if weighted else None
    fit_params = {} if sw is None else {"sample_weight": sw}
    model = Unlearnable(_logistic(**params), strategy="newton_removal")
    model.fit(X, y, **fit_params)
    original = _logistic(**params).fit(X, y, **fit_params)
    keep = np.ones(len(X), dtype=bool)
    for _ in range(4):  # a sequence of requests: the bound accumulates
        idx = rng.choice(np.flatnonzero(keep), 15, replace=False)
        keep[idx] = False
        model.unlearn(X[idx])
        record = model.unlearn_history_[-1]
        assert record["exact"] is False
        assert record["strategy"] == "newton_removal"
        true = _true_gradient_norm(
            model, X[keep], y[keep], None if sw is None else sw[keep]
        )
        assert true <= record["details"]["gradient_norm_bound"] * (1 + 1e-9)
        gold = _logistic(**params).fit(
            X[keep], y[keep], **({} if sw is None else {"sample_weight": sw[keep]})
        )
        moved = np.abs(original.coef_ - gold.coef_).max()
        assert np.abs(model.coef_ - gold.coef_).max() < 0.25 * moved


def test_removing_a_class_last_row_is_refused_and_changes_nothing():
    X = np.random.RandomState(1).randn(60, 3)
    X, y = np.vstack([X, [[5.0, 5.0, 5.0]]]), np.append(np.zeros(60, int), 1)
    model = Unlearnable(LogisticRegression(), strategy="newton_removal").fit(X, y)
    before = pickle.dumps(model)
    with pytest.raises(UnlearningError, match="last training row of a class"):
        model.unlearn(X[-1:])
    assert pickle.dumps(model) == before


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.random.RandomState(0).randn(60, 3), np.arange(60) % 3, "binary"),
    ],
)
def test_unsupported_data_is_refused_clearly(X, y, match):
    with pytest.raises(Exception, match=match):
        Unlearnable(LogisticRegression(), strategy="newton_removal").fit(X, y)
