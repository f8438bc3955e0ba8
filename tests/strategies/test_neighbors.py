"""Nearest neighbours: deleting rows from the index in place equals refitting.

The index holds the retained rows in another order than a refit (swap-remove)
and, for trees, the fit-time tree with rows removed; what the model computes
must equal a refit's. Data are continuous and random, so that no two
neighbours are equidistant (ties are broken as scikit-learn leaves them).
"""

import os
import pickle
import signal

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.neighbors import (
    KDTree,
    KNeighborsClassifier,
    KNeighborsRegressor,
    KNeighborsTransformer,
    NearestNeighbors,
    RadiusNeighborsClassifier,
    RadiusNeighborsRegressor,
    RadiusNeighborsTransformer,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import UnknownRowsError, Unlearnable
from skunlearn.strategies import neighbors as nb_module
from skunlearn.utils.estimator_checks import (
    assert_no_residue,
    check_unlearning,
    retained_indices,
)


def _data(n=150, d=4, seed=0, n_classes=3):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    y = rng.randint(0, n_classes, n)
    return X, y


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


# ------------------------------------------------------------------ helpers
def _rows_sorted(A):
    A = A.toarray() if sp.issparse(A) else np.asarray(A)
    return A[np.lexsort(A.T[::-1])]


def assert_tree_tight(est):
    """Every node's bounds come from the rows it holds now, and only from them."""
    tree = est._tree
    if tree is None:
        return
    data, idx, node_data, bounds = tree.get_arrays()
    n = est.n_samples_fit_
    assert node_data["idx_start"][0] == 0 and node_data["idx_end"][0] == n
    assert_array_equal(np.sort(idx[:n]), np.arange(n))
    assert data.shape[0] == n
    assert_array_equal(data, est._fit_X)
    for i, node in enumerate(node_data):
        s, e = node["idx_start"], node["idx_end"]
        pts = data[idx[s:e]]
        if isinstance(tree, KDTree):
            if e <= s:
                assert (
                    np.isposinf(bounds[0, i]).all() and np.isneginf(bounds[1, i]).all()
                )
            else:
                assert_array_equal(bounds[0, i], pts.min(axis=0))
                assert_array_equal(bounds[1, i], pts.max(axis=0))
        elif e > s:
            assert_allclose(bounds[0, i], pts.mean(axis=0), rtol=1e-9, atol=1e-12)
            metric = tree.__getstate__()[11]  # the tree's DistanceMetric
            dist = metric.pairwise(bounds[0, i : i + 1], pts).max()
            if node["is_leaf"]:
                assert_allclose(node["radius"], dist, rtol=1e-9, atol=1e-12)
            else:
                assert node["radius"] >= dist * (1 - 1e-9)
        else:
            assert np.isneginf(node["radius"])


def assert_same_model(model, gold, X, keep, Xq):
    """``model`` (Unlearnable) computes what ``gold`` (plain refit) computes."""
    est = model.estimator_
    for name in (
        "n_samples_fit_",
        "_fit_method",
        "effective_metric_",
        "n_features_in_",
    ):
        assert getattr(est, name) == getattr(gold, name), name
    # The index holds the retained rows (as a multiset), with their targets.
    assert_array_equal(_rows_sorted(est._fit_X), _rows_sorted(gold._fit_X))
    pos = model.strategy_.fit_positions_
    assert_array_equal(np.sort(pos), np.sort(keep))
    fit_X = est._fit_X.toarray() if sp.issparse(est._fit_X) else est._fit_X
    assert_array_equal(fit_X, X[pos].toarray() if sp.issparse(X) else X[pos])
    if hasattr(gold, "classes_"):
        cls_a = est.classes_ if isinstance(est.classes_, list) else [est.classes_]
        cls_b = gold.classes_ if isinstance(gold.classes_, list) else [gold.classes_]
        for a, b in zip(cls_a, cls_b):
            assert_array_equal(a, b)
        # _y encodes the same class for each stored row as the refit's.
        order = np.argsort(pos)
        assert_array_equal(est._y[order], gold._y)
    if hasattr(gold, "outlier_label_"):
        assert est.outlier_label_ == gold.outlier_label_
    assert_tree_tight(est)
    if hasattr(gold, "kneighbors"):
        k = min(3, gold.n_samples_fit_)
        d1, i1 = est.kneighbors(Xq, n_neighbors=k)
        d2, i2 = gold.kneighbors(Xq, n_neighbors=k)
        assert_allclose(d1, d2, rtol=1e-12)
        assert_array_equal(pos[i1], keep[i2])  # the same rows, by content
        if gold.n_samples_fit_ > k:
            # Query the index itself (each row's own slot is left out).
            d1, i1 = est.kneighbors(n_neighbors=k)
            d2, i2 = gold.kneighbors(n_neighbors=k)
            order = np.argsort(pos)
            assert_allclose(d1[order], d2, rtol=1e-12)
            assert_array_equal(pos[i1[order]], keep[i2])
        g1 = est.kneighbors_graph(Xq, n_neighbors=k, mode="distance")
        g2 = gold.kneighbors_graph(Xq, n_neighbors=k, mode="distance")
        assert_allclose(g1[:, np.argsort(pos)].toarray(), g2.toarray(), rtol=1e-12)
    if hasattr(gold, "radius_neighbors"):
        r = getattr(gold, "radius", None) or 1.0
        d1, i1 = est.radius_neighbors(Xq, radius=r, sort_results=True)
        d2, i2 = gold.radius_neighbors(Xq, radius=r, sort_results=True)
        for a, b, c, e in zip(d1, d2, i1, i2):
            assert_allclose(a, b, rtol=1e-12)
            assert_array_equal(pos[c], keep[e])
        g1 = est.radius_neighbors_graph(Xq, radius=r, mode="distance")
        g2 = gold.radius_neighbors_graph(Xq, radius=r, mode="distance")
        assert_allclose(g1[:, np.argsort(pos)].toarray(), g2.toarray(), rtol=1e-12)
    for method in ("predict", "predict_proba"):
        if hasattr(gold, method):
            out, expected = getattr(model, method)(Xq), getattr(gold, method)(Xq)
            if isinstance(expected, list):  # one array per output
                for a, b in zip(out, expected, strict=True):
                    assert_allclose(a, b, rtol=1e-12)
            else:
                assert_allclose(out, expected, rtol=1e-12)
    if hasattr(gold, "transform"):
        t1 = model.transform(Xq)
        t2 = gold.transform(Xq)
        assert_allclose(t1[:, np.argsort(pos)].toarray(), t2.toarray(), rtol=1e-12)
    if hasattr(gold, "predict") and gold.predict(Xq).ndim == 1:
        y_q = gold.predict(Xq)
        assert model.score(Xq, y_q) == pytest.approx(gold.score(Xq, y_q), rel=1e-12)


X_C, Y_C = _data(160, 4, seed=1)
Y_R = X_C @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * np.random.RandomState(2).randn(160)

CASES = [
    (KNeighborsClassifier(n_neighbors=5), Y_C),
    (KNeighborsClassifier(algorithm="ball_tree", weights="distance"), Y_C),
    (KNeighborsClassifier(algorithm="brute", metric="manhattan"), Y_C),
    (KNeighborsClassifier(algorithm="kd_tree", metric="chebyshev", leaf_size=4), Y_C),
    (KNeighborsRegressor(n_neighbors=4, p=3), Y_R),
    (KNeighborsRegressor(algorithm="kd_tree", leaf_size=5, metric="manhattan"), Y_R),
    (NearestNeighbors(algorithm="ball_tree", metric="chebyshev", leaf_size=3), None),
    # not a Minkowski metric: the ball tree is edited through DistanceMetric
    (KNeighborsClassifier(algorithm="ball_tree", metric="canberra", leaf_size=3), Y_C),
    (
        RadiusNeighborsClassifier(radius=1.5, outlier_label="most_frequent"),
        Y_C,
    ),
    (RadiusNeighborsRegressor(radius=2.0, algorithm="ball_tree"), Y_R),
    (KNeighborsTransformer(n_neighbors=4, leaf_size=4), None),
    (RadiusNeighborsTransformer(radius=1.2, algorithm="kd_tree"), None),
]


@pytest.mark.parametrize("est, y", CASES, ids=[repr(c[0])[:50] for c in CASES])
def test_gold_standard(est, y):
    X = X_C
    # check_unlearning compares dense outputs; the transformers' sparse
    # graphs (whose columns follow the stored order) are compared below.
    transformer = hasattr(est, "transform")
    kwargs = {"methods": ("predict", "predict_proba")} if transformer else {}
    result = check_unlearning(Unlearnable(est), X, y, forget=0.2, rtol=1e-12, **kwargs)
    model = result["unlearned"]
    assert model.strategy_.name == "neighbors"
    assert model.unlearn_history_[-1]["details"]["rebuilt"] is False
    assert_same_model(
        model, result["gold"].estimator_, X, result["retained"], X[::3] + 0.01
    )


def test_sparse_index():
    rng = np.random.RandomState(0)
    X = sp.random(80, 30, density=0.2, format="csr", random_state=rng)
    y = rng.randint(0, 3, 80)
    model = Unlearnable(KNeighborsClassifier(n_neighbors=3)).fit(X, y)
    forget = [3, 10, 50]
    model.unlearn(X[forget], y[forget])
    keep = np.setdiff1d(np.arange(80), forget)
    gold = KNeighborsClassifier(n_neighbors=3).fit(X[keep], y[keep])
    assert_same_model(model, gold, X, keep, X[:20])
    assert sp.issparse(model.estimator_._fit_X)


def test_class_losing_its_last_row_and_multioutput():
    X, _ = _data(120, 3, seed=3)
    Y = np.c_[np.repeat([0, 1, 2], 40), (X[:, 0] > 0).astype(int)]
    model = Unlearnable(KNeighborsClassifier(n_neighbors=3)).fit(X, Y)
    # class 0 of the first output goes in two requests (the last one drops it)
    model.unlearn(X[:25])
    assert model.unlearn_history_[-1]["details"]["classes_removed"] == 0
    model.unlearn(X[25:40])
    assert model.unlearn_history_[-1]["details"]["classes_removed"] == 1
    gold = KNeighborsClassifier(n_neighbors=3).fit(X[40:], Y[40:])
    assert_same_model(model, gold, X, np.arange(40, 120), X)


def test_outlier_label_most_frequent_follows_the_counts():
    X, _ = _data(90, 2, seed=4)
    y = np.r_[np.zeros(40, int), np.ones(30, int), np.full(20, 2)]
    est = RadiusNeighborsClassifier(radius=0.5, outlier_label="most_frequent")
    model = Unlearnable(est).fit(X, y)
    model.unlearn(X[:15])  # class 1 becomes the most frequent
    gold = clone(est).fit(X[15:], y[15:])
    assert gold.outlier_label_ == [1]
    assert_same_model(model, gold, X, np.arange(15, 90), X + 5.0)


def test_auto_algorithm_choice_follows_the_number_of_rows():
    # algorithm="auto" uses brute force once n_neighbors >= n_samples // 2.
    X, y = _data(24, 3, seed=5)
    model = Unlearnable(KNeighborsClassifier(n_neighbors=11)).fit(X, y)
    assert model.estimator_._fit_method == "kd_tree"
    model.unlearn(X[:2])
    gold = KNeighborsClassifier(n_neighbors=11).fit(X[2:], y[2:])
    assert gold._fit_method == "brute"
    assert model.estimator_._tree is None
    assert_same_model(model, gold, X, np.arange(2, 24), X)


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree"])
def test_tree_rebuilt_below_half_of_its_rows(algorithm):
    X, y = _data(200, 3, seed=6)
    est = KNeighborsRegressor(algorithm=algorithm, leaf_size=4)
    model = Unlearnable(est).fit(X, y.astype(float))
    model.unlearn(X[:100])
    assert model.unlearn_history_[-1]["details"]["rebuilt"] is False
    model.unlearn(X[100:101])
    assert model.unlearn_history_[-1]["details"]["rebuilt"] is True
    tree = model.estimator_._tree
    assert tree.get_arrays()[0].shape[0] == 99
    fresh = type(tree)(model.estimator_._fit_X, leaf_size=4)
    for a, b in zip(tree.get_arrays(), fresh.get_arrays()):
        assert_array_equal(a, b)
    model.unlearn(X[101:110])  # in place again, on the new tree
    assert model.unlearn_history_[-1]["details"]["rebuilt"] is False
    keep = np.arange(110, 200)
    gold = clone(est).fit(X[keep], y[keep].astype(float))
    assert_same_model(model, gold, X, keep, X)


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree"])
def test_large_request_in_place(algorithm):
    # More than 256 slots at once: idx_array is compacted in one compiled pass.
    X, y = _data(1000, 3, seed=16)
    est = KNeighborsClassifier(algorithm=algorithm, leaf_size=8)
    model = Unlearnable(est).fit(X, y)
    forget = np.random.RandomState(0).choice(1000, 300, replace=False)
    model.unlearn(X[forget])
    assert model.unlearn_history_[-1]["details"]["rebuilt"] is False
    keep = np.setdiff1d(np.arange(1000), forget)
    gold = clone(est).fit(X[keep], y[keep])
    assert_same_model(model, gold, X, keep, X[::7] + 0.01)


def test_duplicates_and_repeated_requests():
    X, y = _data(30, 3, seed=7)
    X = np.repeat(X, 2, axis=0)
    y = np.repeat(y, 2).astype(float)
    model = Unlearnable(KNeighborsRegressor(n_neighbors=2)).fit(X, y)
    forget = [3, 3, 20]
    for part in ([3], [3], [20]):
        model.unlearn(X[part])
    keep = retained_indices(X, forget)
    gold = KNeighborsRegressor(n_neighbors=2).fit(X[keep], y[keep])
    est = model.estimator_
    assert est.n_samples_fit_ == 57
    assert_array_equal(_rows_sorted(est._fit_X), _rows_sorted(gold._fit_X))
    d1, _ = est.kneighbors(X, 2)
    d2, _ = gold.kneighbors(X, 2)
    assert_allclose(d1, d2, rtol=1e-12)
    assert_allclose(model.predict(X), gold.predict(X), rtol=1e-12)
    assert_tree_tight(est)


def test_precomputed_metric_goes_to_retrain():
    X, y = _data(40, 1, seed=8)
    D = np.abs(X - X.T)
    model = Unlearnable(KNeighborsClassifier(metric="precomputed")).fit(D, y)
    assert model.strategy_.name == "retrain"


@pytest.mark.parametrize("est", [KNeighborsClassifier(), NearestNeighbors()])
def test_bad_input_leaves_model_unchanged(est):
    X, y = _data(60, 4, seed=9)
    y = None if isinstance(est, NearestNeighbors) else y
    model = Unlearnable(est).fit(X, y)
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="features"):
        model.unlearn(X[:2, :3])
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.unlearn(np.full((1, 4), np.inf))
    with pytest.raises(UnknownRowsError):
        model.unlearn(X[:2] + 100)
    with pytest.raises(TypeError, match="no unlearning parameters"):
        model.unlearn(X[:1], method="newton")
    assert pickle.dumps(model) == before


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", ["kd_tree", "brute"])
def test_user_arrays_are_never_written(dtype, algorithm):
    X, y = _data(80, 3, seed=10)
    X = X.astype(dtype)
    y = y.astype(float)
    X0, y0 = X.copy(), y.copy()
    model = Unlearnable(KNeighborsRegressor(algorithm=algorithm)).fit(X, y)
    est = model.estimator_
    assert not np.shares_memory(est._fit_X, X)
    assert not np.shares_memory(est._y, y)
    model.unlearn(X[5:15])
    assert_array_equal(X, X0)
    assert_array_equal(y, y0)
    keep = np.r_[0:5, 15:80]
    gold = KNeighborsRegressor(algorithm=algorithm).fit(X[keep], y[keep])
    assert est._fit_X.dtype == gold._fit_X.dtype
    assert_same_model(model, gold, X, keep, X.astype(np.float64))


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree", "brute"])
def test_no_residue_in_pickle(algorithm):
    X, y = _data(300, 3, seed=11)
    model = Unlearnable(KNeighborsClassifier(algorithm=algorithm, leaf_size=3))
    model.fit(X, y)
    forget = np.r_[0:10, 150:155]
    model.unlearn(X[forget[:4]])
    model = pickle.loads(pickle.dumps(model))
    model.unlearn(X[forget[4:]])
    keep = np.setdiff1d(np.arange(300), forget)
    if algorithm != "brute":
        # The tree reads the index rows themselves: a pickle stores them once.
        assert model.estimator_._tree.get_arrays()[0] is model.estimator_._fit_X
    assert_no_residue(model, np.unique(X[forget]))
    blob = pickle.dumps(model)
    for value in X[forget].ravel():
        assert np.float64(value).tobytes() not in blob
    gold = KNeighborsClassifier(algorithm=algorithm, leaf_size=3).fit(X[keep], y[keep])
    assert_same_model(model, gold, X, keep, X)


def test_failure_while_planning_leaves_model_unchanged(monkeypatch):
    X, y = _data(100, 3, seed=12)
    model = Unlearnable(KNeighborsClassifier(algorithm="kd_tree")).fit(X, y)
    before = pickle.dumps(model)

    def boom(*args, **kwargs):
        raise MemoryError("injected")

    monkeypatch.setattr(nb_module.NeighborsStrategy, "_plan_tree", boom)
    with pytest.raises(MemoryError, match="injected"):
        model.unlearn(X[:5])
    assert pickle.dumps(model) == before
    monkeypatch.undo()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(nb_module.NeighborsStrategy, "_plan_classes", interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.unlearn(X[:5])
    assert pickle.dumps(model) == before


def test_interrupt_during_commit_is_deferred(monkeypatch):
    X, y = _data(100, 3, seed=13)
    model = Unlearnable(KNeighborsClassifier(algorithm="kd_tree")).fit(X, y)
    refresh = nb_module._kernels.kd_refresh

    def refresh_then_interrupt(*args):
        os.kill(os.getpid(), signal.SIGINT)
        return refresh(*args)

    monkeypatch.setattr(nb_module._kernels, "kd_refresh", refresh_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.unlearn(X[:5])
    # The request committed whole before the interrupt was raised.
    assert len(model.unlearn_history_) == 1
    gold = KNeighborsClassifier(algorithm="kd_tree").fit(X[5:], y[5:])
    assert_same_model(model, gold, X, np.arange(5, 100), X)


@pytest.mark.parametrize("first", [StandardScaler(), FunctionTransformer(np.tanh)])
def test_pipeline_step_is_refit(first):
    # An unchanged upstream step (FunctionTransformer) hands the forget rows
    # to the neighbours step, which has no ledger: it is refit.
    X, y = _data(120, 4, seed=14)
    pipe = make_pipeline(first, KNeighborsClassifier(n_neighbors=3))
    result = check_unlearning(Unlearnable(pipe), X, y, forget=10, rtol=1e-9)
    steps = result["unlearned"].unlearn_history_[-1]["details"]["steps"]
    assert steps[-1]["strategy"] == "refit"


ESTIMATORS = {
    "clf": lambda **kw: KNeighborsClassifier(**kw),
    "reg": lambda **kw: KNeighborsRegressor(**kw),
    "nn": lambda **kw: NearestNeighbors(**kw),
}


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(8, 80),
    d=st.integers(1, 5),
    kind=st.sampled_from(sorted(ESTIMATORS)),
    algorithm=st.sampled_from(["brute", "kd_tree", "ball_tree", "auto"]),
    metric=st.sampled_from(["euclidean", "manhattan", "chebyshev", "minkowski3"]),
    leaf_size=st.integers(1, 6),
    n_requests=st.integers(1, 3),
    frac=st.floats(0.05, 0.7),
    pickle_between=st.booleans(),
)
def test_property_equals_refit(
    seed, n, d, kind, algorithm, metric, leaf_size, n_requests, frac, pickle_between
):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    y = rng.randint(0, 3, n) if kind == "clf" else rng.randn(n)
    forget = rng.choice(n, max(1, int(frac * n)), replace=False)
    if forget.size >= n - 1:
        return
    params = (
        {"metric": "minkowski", "p": 3}
        if metric == "minkowski3"
        else {"metric": metric}
    )
    k = int(min(3, n - forget.size))
    est = ESTIMATORS[kind](
        n_neighbors=k, algorithm=algorithm, leaf_size=leaf_size, **params
    )
    model = Unlearnable(est).fit(X, None if kind == "nn" else y)
    for part in np.array_split(forget, n_requests):
        if part.size:
            model.unlearn(X[part])
        if pickle_between:
            model = pickle.loads(pickle.dumps(model))
    keep = np.setdiff1d(np.arange(n), forget)
    gold = clone(est).fit(X[keep], None if kind == "nn" else y[keep])
    assert_same_model(model, gold, X, keep, rng.randn(10, d))


@pytest.mark.slow
def test_large_index_many_requests():
    X, y = _data(50_000, 8, seed=15)
    est = KNeighborsClassifier(algorithm="kd_tree")
    model = Unlearnable(est).fit(X, y)
    rng = np.random.RandomState(0)
    forget = rng.choice(50_000, 2_000, replace=False)
    for part in np.array_split(forget, 200):
        model.unlearn(X[part])
    keep = np.setdiff1d(np.arange(50_000), forget)
    gold = clone(est).fit(X[keep], y[keep])
    Xq = rng.randn(500, 8)
    d1, i1 = model.estimator_.kneighbors(Xq)
    d2, i2 = gold.kneighbors(Xq)
    assert_allclose(d1, d2, rtol=1e-12)
    assert_array_equal(model.strategy_.fit_positions_[i1], keep[i2])
    assert_array_equal(model.predict(Xq), gold.predict(Xq))
