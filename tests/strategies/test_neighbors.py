"""Nearest neighbours: after forgetting, the index is a refit's on the rest.

After a request the estimator holds the retained rows in training order and
the tree a refit builds, array for array. A large index is edited in place
instead (swap-remove, tree nodes shrunk) while few of its rows are gone: it
then computes what a refit computes, and goes back to training order when
its ledger compacts, at the latest when it is saved. The ``in_place`` fixture
takes the in-place path on small data. Data are continuous and random, so
that no two neighbours are equidistant (ties are broken as scikit-learn
leaves them).
"""

import copy
import functools
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
from skunlearn._ledger import TrainingLedger, _pinned_fingerprint_key
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
@functools.cache
def _owner_compacts_the_index():
    # Only an owner that reorders the index when it compacts its ledger
    # (Unlearnable with a compact="never" ledger) gets in-place edits.
    probe = Unlearnable(NearestNeighbors()).fit(np.eye(3))
    return probe.ledger_.compact_policy == "never"


def _edit_in_place(monkeypatch):
    """Edit every index in place, whatever its size and the share of rows gone.

    The ledger then keeps its erased slots, and the index its order, until
    the model is saved or copied.
    """
    if not _owner_compacts_the_index():
        pytest.skip("Unlearnable does not compact the index with its ledger")
    monkeypatch.setattr(nb_module, "_compaction_due", lambda ledger, k, m: False)
    monkeypatch.setattr(TrainingLedger, "due", lambda self, min_rows=None: False)


@pytest.fixture
def in_place(monkeypatch):
    _edit_in_place(monkeypatch)


@pytest.fixture(params=["at_once", "in_place"])
def mode(request, monkeypatch):
    """Training order kept at every request, or the in-place path."""
    if request.param == "in_place":
        _edit_in_place(monkeypatch)
    return request.param


def _rows_sorted(A):
    A = A.toarray() if sp.issparse(A) else np.asarray(A)
    return A[np.lexsort(A.T[::-1])]


def _content_order(stored, reference):
    """Position in ``reference`` of each row of ``stored`` (distinct rows)."""
    S = stored.toarray() if sp.issparse(stored) else np.asarray(stored)
    R = reference.toarray() if sp.issparse(reference) else np.asarray(reference)
    s, r = np.lexsort(S.T[::-1]), np.lexsort(R.T[::-1])
    assert_array_equal(S[s], R[r])
    out = np.empty(len(s), dtype=np.intp)
    out[s] = r
    return out


def _same(actual, expected, where):
    """Equal structures: types, dtypes, shapes and values (arrays strictly)."""
    assert type(actual) is type(expected), (where, type(actual), type(expected))
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for k in expected:
            _same(actual[k], expected[k], f"{where}[{k!r}]")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            _same(a, e, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype, (where, actual.dtype, expected.dtype)
        assert_array_equal(actual, expected, err_msg=where, strict=True)
    elif sp.issparse(expected):
        for name in ("shape", "indptr", "indices", "data"):
            _same(getattr(actual, name), getattr(expected, name), f"{where}.{name}")
    else:
        assert actual == expected, (where, actual, expected)


def _assert_same_index(est, other):
    """``est`` stores what ``other`` stores, in the same order, array for array."""
    for name in (
        "n_samples_fit_",
        "_fit_method",
        "_fit_X",
        "_y",
        "classes_",
        "outputs_2d_",
        "outlier_label_",
    ):
        if hasattr(other, name) or hasattr(est, name):
            _same(getattr(est, name), getattr(other, name), name)
    if other._tree is None:
        assert est._tree is None
    else:
        assert type(est._tree) is type(other._tree)
        _same(est._tree.get_arrays(), other._tree.get_arrays(), "_tree")


def assert_fresh_state(model, X, y, keep):
    """``model`` holds what a fresh fit on the retained rows holds.

    The index against a plain refit and a fresh ``Unlearnable``'s; the
    strategy's state and the ledger against the fresh ``Unlearnable``'s.
    """
    y_keep = None if y is None else y[keep]
    # under the model's fingerprint key (each fit draws its own)
    with _pinned_fingerprint_key(model.ledger_.fingerprint_key):
        fresh = Unlearnable(clone(model.estimator)).fit(X[keep], y_keep)
    refit = clone(model.estimator).fit(X[keep], y_keep)
    _assert_same_index(model.estimator_, refit)
    _assert_same_index(model.estimator_, fresh.estimator_)
    _same(vars(model.unlearn_strategy_), vars(fresh.unlearn_strategy_), "strategy")
    assert model.ledger_.n_stored == model.ledger_.n_rows
    _same(vars(model.ledger_), vars(fresh.ledger_), "ledger_")


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
    """``model`` (Unlearnable) computes what ``gold`` (plain refit) computes.

    Stored rows are compared as content: an index edited in place holds them
    in another order.
    """
    est = model.estimator_
    for name in (
        "n_samples_fit_",
        "_fit_method",
        "effective_metric_",
        "n_features_in_",
    ):
        assert getattr(est, name) == getattr(gold, name), name
    # The index holds the retained rows, with their targets: pos[i] is the
    # training position of stored row i.
    pos = keep[_content_order(est._fit_X, gold._fit_X)]
    fit_X = est._fit_X.toarray() if sp.issparse(est._fit_X) else est._fit_X
    assert_array_equal(fit_X, X[pos].toarray() if sp.issparse(X) else X[pos])
    order = np.argsort(pos)
    if hasattr(gold, "classes_"):
        cls_a = est.classes_ if isinstance(est.classes_, list) else [est.classes_]
        cls_b = gold.classes_ if isinstance(gold.classes_, list) else [gold.classes_]
        for a, b in zip(cls_a, cls_b):
            assert_array_equal(a, b)
    if hasattr(gold, "_y"):
        # _y encodes the same class (holds the same target) for each row.
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
            assert_allclose(d1[order], d2, rtol=1e-12)
            assert_array_equal(pos[i1[order]], keep[i2])
        g1 = est.kneighbors_graph(Xq, n_neighbors=k, mode="distance")
        g2 = gold.kneighbors_graph(Xq, n_neighbors=k, mode="distance")
        assert_allclose(g1[:, order].toarray(), g2.toarray(), rtol=1e-12)
    if hasattr(gold, "radius_neighbors"):
        r = getattr(gold, "radius", None) or 1.0
        d1, i1 = est.radius_neighbors(Xq, radius=r, sort_results=True)
        d2, i2 = gold.radius_neighbors(Xq, radius=r, sort_results=True)
        for a, b, c, e in zip(d1, d2, i1, i2):
            assert_allclose(a, b, rtol=1e-12)
            assert_array_equal(pos[c], keep[e])
        g1 = est.radius_neighbors_graph(Xq, radius=r, mode="distance")
        g2 = gold.radius_neighbors_graph(Xq, radius=r, mode="distance")
        assert_allclose(g1[:, order].toarray(), g2.toarray(), rtol=1e-12)
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
        assert_allclose(t1[:, order].toarray(), t2.toarray(), rtol=1e-12)
    if hasattr(gold, "predict") and gold.predict(Xq).ndim == 1:
        y_q = gold.predict(Xq)
        assert model.score(Xq, y_q) == pytest.approx(gold.score(Xq, y_q), rel=1e-12)


def _outputs(model, Xq):
    """What the model computes on ``Xq``, neighbours as content (not position)."""
    est = model.estimator_
    if hasattr(est, "kneighbors"):
        dist, ind = est.kneighbors(Xq, n_neighbors=3)
    else:
        dist, ind = est.radius_neighbors(Xq, sort_results=True)
        dist, ind = np.concatenate(dist), np.concatenate(ind)
    out = [dist, est._fit_X[ind]]
    for method in ("predict", "predict_proba"):
        if hasattr(est, method):
            out.append(getattr(model, method)(Xq))
    return out


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


# -------------------------------------------------------------------- tests
@pytest.mark.parametrize("est, y", CASES, ids=[repr(c[0])[:50] for c in CASES])
def test_gold_standard(est, y, mode):
    X = X_C
    # check_unlearning compares dense outputs; the transformers' sparse
    # graphs (whose columns follow the stored order) are compared below. Its
    # residue check saves the model, which puts an index edited in place
    # back in training order: done below, after looking at that index.
    transformer = hasattr(est, "transform")
    kwargs = {"methods": ("predict", "predict_proba")} if transformer else {}
    result = check_unlearning(
        Unlearnable(est), X, y, forget=0.2, rtol=1e-12, check_residue=False, **kwargs
    )
    model, keep = result["unlearned"], result["retained"]
    assert model.strategy_.name == "neighbors"
    record = model.unlearn_history_[-1]
    assert record["details"]["rebuilt"] is (mode == "at_once")
    Xq = X[::3] + 0.01
    assert_same_model(model, result["gold"].estimator_, X, keep, Xq)
    if mode == "in_place":
        assert model.ledger_.n_stored == 160
        before = _outputs(model, Xq)
        loaded = pickle.loads(pickle.dumps(model))
        for m in (model, loaded):
            for a, b in zip(_outputs(m, Xq), before):
                assert_allclose(a, b, rtol=1e-12)
    assert_fresh_state(model, X, y, keep)
    assert_no_residue(model, np.setdiff1d(X[result["forget"]], X[keep]))


@pytest.mark.parametrize(
    "make, supervised",
    [
        (KNeighborsClassifier, True),
        (KNeighborsRegressor, True),
        (NearestNeighbors, False),
    ],
    ids=["classifier", "regressor", "nearest"],
)
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "ball_tree"])
def test_saved_model_is_a_fresh_fit(make, supervised, algorithm, mode):
    # Several requests, the first and last rows among them: the saved model
    # (and the model itself once saved) stores what a fresh fit on the
    # retained rows stores, array for array, and nothing of the others.
    X, y = _data(200, 3, seed=20)
    if make is KNeighborsRegressor:
        y = X @ np.array([1.0, -1.0, 2.0])
    y = y if supervised else None
    est = make(n_neighbors=4, algorithm=algorithm, leaf_size=5)
    model = Unlearnable(est).fit(X, y)
    gone = []
    for rows in ([0, 199], [7], [3, 40, 41, 90]):
        model.unlearn(X[rows], None if y is None else y[rows])
        gone += rows
    keep = np.setdiff1d(np.arange(200), gone)
    Xq = np.random.RandomState(1).randn(30, 3)
    assert_same_model(
        model, clone(est).fit(X[keep], y[keep] if supervised else None), X, keep, Xq
    )
    if mode == "at_once":
        assert_fresh_state(model, X, y, keep)
    else:
        assert model.ledger_.n_stored == 200
        assert model.unlearn_strategy_._pos_of_slot is not None
    before = _outputs(model, Xq)
    blob = pickle.dumps(model)
    loaded = pickle.loads(blob)
    for m in (loaded, model, copy.deepcopy(model)):
        assert_fresh_state(m, X, y, keep)
        for a, b in zip(_outputs(m, Xq), before):
            assert_allclose(a, b, rtol=1e-12)
    forgotten = np.setdiff1d(X[gone], X[keep])
    if supervised and y.dtype.kind == "f":
        forgotten = np.r_[forgotten, np.setdiff1d(y[gone], y[keep])]
    assert_no_residue(loaded, forgotten)
    # both go on alike
    for m in (model, loaded):
        m.unlearn(X[keep[:2]], None if y is None else y[keep[:2]])
    _assert_same_index(loaded.estimator_, model.estimator_)
    _same(vars(loaded.unlearn_strategy_), vars(model.unlearn_strategy_), "strategy")


def test_strategy_keeps_no_position_map():
    X, y = _data(60, 2, seed=21)
    model = Unlearnable(KNeighborsClassifier()).fit(X, y)
    model.unlearn(X[[0, 30]])
    strategy = model.unlearn_strategy_
    assert not hasattr(strategy, "fit_positions_")
    assert strategy._slot_of_pos is None and strategy._pos_of_slot is None
    # ...and one saved by an earlier release drops its map when loaded
    vars(strategy).update(_fit_positions=np.arange(58), _n_built=60)
    del vars(strategy)["_min_rows"]
    old = pickle.loads(pickle.dumps(strategy))
    assert "_fit_positions" not in vars(old) and "_n_built" not in vars(old)
    assert old.compact_min_rows is None


def test_compaction_follows_the_ledger_rule(monkeypatch):
    # An index from compact_min_rows rows is edited in place while at most
    # 1/64 of its rows are gone; the request that passes that share puts it
    # back in training order, with the ledger's compaction.
    if not _owner_compacts_the_index():
        pytest.skip("Unlearnable does not compact the index with its ledger")
    monkeypatch.setitem(nb_module._DEFER_CELLS, "kd_tree", 0)
    X, y = _data(640, 3, seed=22)
    est = KNeighborsClassifier(algorithm="kd_tree", leaf_size=4)
    model = Unlearnable(est).fit(X, y)
    assert model.unlearn_strategy_.compact_min_rows == 1
    for i in range(10):
        model.unlearn(X[[2 * i]])
        assert model.unlearn_history_[-1]["details"]["rebuilt"] is False
    assert model.ledger_.n_stored == 640
    model.unlearn(X[[100]])  # 11 * 64 > 640
    assert model.unlearn_history_[-1]["details"]["rebuilt"] is True
    keep = np.setdiff1d(np.arange(640), np.r_[0:20:2, 100])
    assert_fresh_state(model, X, y, keep)
    model.unlearn(X[[101]])  # in place again, on the new tree
    assert model.unlearn_history_[-1]["details"]["rebuilt"] is False
    keep = keep[keep != 101]
    assert_same_model(model, clone(est).fit(X[keep], y[keep]), X, keep, X[::9])


@pytest.mark.parametrize(
    "algorithm, d, expected",
    [
        ("kd_tree", 8, 4096),
        ("ball_tree", 32, 1024),
        ("kd_tree", 1, 2**15),
        ("brute", 8, 2**16),
        ("brute", 64, 2**15),
    ],
)
def test_compact_min_rows(algorithm, d, expected):
    # Keeping training order costs a copy of the index (brute force) or a
    # tree rebuild: an index from about 2**15 (trees) or 2**21 (copies)
    # values on waits for the ledger's compaction.
    X, y = _data(40, d, seed=23)
    model = Unlearnable(KNeighborsClassifier(algorithm=algorithm)).fit(X, y)
    assert model.unlearn_strategy_.compact_min_rows == expected
    sparse = Unlearnable(KNeighborsClassifier()).fit(sp.csr_array(X), y)
    assert sparse.unlearn_strategy_.compact_min_rows is None


def test_large_index_waits_for_compaction():
    # Past compact_min_rows (4096 rows at d = 8 for a KD-tree) a request is
    # an in-place edit; below it, the tree is rebuilt at once.
    if not _owner_compacts_the_index():
        pytest.skip("Unlearnable does not compact the index with its ledger")
    X, y = _data(4200, 8, seed=24)
    for n, rebuilt in ((4200, False), (4000, True)):
        model = Unlearnable(KNeighborsClassifier(algorithm="kd_tree"))
        model.fit(X[:n], y[:n])
        model.unlearn(X[[5]])
        assert model.unlearn_history_[-1]["details"]["rebuilt"] is rebuilt
    keep = np.r_[0:5, 6:4200]
    assert_fresh_state(pickle.loads(pickle.dumps(model)), X, y, keep[keep < 4000])


def test_sparse_index(mode):
    # A sparse index is copied (O(nnz)) in training order, whatever the mode.
    rng = np.random.RandomState(0)
    X = sp.random(80, 30, density=0.2, format="csr", random_state=rng)
    y = rng.randint(0, 3, 80)
    model = Unlearnable(KNeighborsClassifier(n_neighbors=3)).fit(X, y)
    forget = [0, 3, 10, 50, 79]
    model.unlearn(X[forget], y[forget])
    assert model.unlearn_history_[-1]["details"]["rebuilt"] is True
    keep = np.setdiff1d(np.arange(80), forget)
    gold = KNeighborsClassifier(n_neighbors=3).fit(X[keep], y[keep])
    assert_same_model(model, gold, X, keep, X[:20])
    assert sp.issparse(model.estimator_._fit_X)
    _assert_same_index(model.estimator_, gold)
    assert_fresh_state(pickle.loads(pickle.dumps(model)), X, y, keep)


def test_class_losing_its_last_row_and_multioutput(mode):
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
    pickle.dumps(model)
    assert_fresh_state(model, X, Y, np.arange(40, 120))


def test_outlier_label_most_frequent_follows_the_counts(mode):
    X, _ = _data(90, 2, seed=4)
    y = np.r_[np.zeros(40, int), np.ones(30, int), np.full(20, 2)]
    est = RadiusNeighborsClassifier(radius=0.5, outlier_label="most_frequent")
    model = Unlearnable(est).fit(X, y)
    model.unlearn(X[:15])  # class 1 becomes the most frequent
    gold = clone(est).fit(X[15:], y[15:])
    assert gold.outlier_label_ == [1]
    assert_same_model(model, gold, X, np.arange(15, 90), X + 5.0)
    pickle.dumps(model)
    assert_fresh_state(model, X, y, np.arange(15, 90))


def test_auto_algorithm_choice_follows_the_number_of_rows(mode):
    # algorithm="auto" uses brute force once n_neighbors >= n_samples // 2.
    X, y = _data(24, 3, seed=5)
    model = Unlearnable(KNeighborsClassifier(n_neighbors=11)).fit(X, y)
    assert model.estimator_._fit_method == "kd_tree"
    model.unlearn(X[:2])
    assert model.unlearn_history_[-1]["details"]["rebuilt"] is True
    gold = KNeighborsClassifier(n_neighbors=11).fit(X[2:], y[2:])
    assert gold._fit_method == "brute"
    assert model.estimator_._tree is None
    assert_same_model(model, gold, X, np.arange(2, 24), X)
    assert_fresh_state(pickle.loads(pickle.dumps(model)), X, y, np.arange(2, 24))


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree"])
def test_large_request_in_place(algorithm, in_place):
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
    pickle.dumps(model)
    assert_fresh_state(model, X, y, keep)


def test_duplicates_and_repeated_requests(mode):
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
    pickle.dumps(model)
    assert_fresh_state(model, X, y, keep)


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
def test_user_arrays_are_never_written(dtype, algorithm, mode):
    X, y = _data(80, 3, seed=10)
    X = X.astype(dtype)
    y = y.astype(float)
    X0, y0 = X.copy(), y.copy()
    model = Unlearnable(KNeighborsRegressor(algorithm=algorithm)).fit(X, y)
    est = model.estimator_
    assert not np.shares_memory(est._fit_X, X)
    assert not np.shares_memory(est._y, y)
    model.unlearn(X[5:15])
    pickle.dumps(model)
    assert_array_equal(X, X0)
    assert_array_equal(y, y0)
    keep = np.r_[0:5, 15:80]
    gold = KNeighborsRegressor(algorithm=algorithm).fit(X[keep], y[keep])
    assert model.estimator_._fit_X.dtype == gold._fit_X.dtype == dtype
    assert_same_model(model, gold, X, keep, X.astype(np.float64))
    assert_fresh_state(model, X, y, keep)


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree", "brute"])
def test_no_residue_in_pickle(algorithm, mode):
    X, y = _data(300, 3, seed=11)
    model = Unlearnable(KNeighborsClassifier(algorithm=algorithm, leaf_size=3))
    model.fit(X, y)
    forget = np.r_[0:10, 150:155, 299]
    model.unlearn(X[forget[:4]])
    model = pickle.loads(pickle.dumps(model))
    model.unlearn(X[forget[4:]])
    keep = np.setdiff1d(np.arange(300), forget)
    assert_no_residue(model, np.unique(X[forget]))
    if algorithm != "brute":
        # The tree reads the index rows themselves: a pickle stores them once.
        assert model.estimator_._tree.get_arrays()[0] is model.estimator_._fit_X
    blob = pickle.dumps(model)
    for value in X[forget].ravel():
        assert np.float64(value).tobytes() not in blob
    gold = KNeighborsClassifier(algorithm=algorithm, leaf_size=3).fit(X[keep], y[keep])
    assert_same_model(model, gold, X, keep, X)
    assert_fresh_state(model, X, y, keep)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_superseded_index_is_scrubbed(dtype):
    # A request that builds a new index zeroes the forgotten rows in the old
    # one (the strategy's own arrays), so they do not linger in memory.
    X, y = _data(50, 2, seed=25)
    X = X.astype(dtype)
    model = Unlearnable(KNeighborsRegressor(algorithm="kd_tree")).fit(X, y * 1.5)
    old = model.estimator_
    model.unlearn(X[[4, 9]])
    assert model.estimator_ is not old
    for a in (old._fit_X, old._y, old._tree.get_arrays()[0]):
        assert not a[[4, 9]].any()
        assert a[[0, 5, 10]].all()


def test_failure_while_planning_leaves_model_unchanged(monkeypatch):
    X, y = _data(100, 3, seed=12)
    model = Unlearnable(KNeighborsClassifier(algorithm="kd_tree")).fit(X, y)
    before = pickle.dumps(model)

    def boom(*args, **kwargs):
        raise MemoryError("injected")

    monkeypatch.setattr(nb_module.NeighborsStrategy, "_rebuilt", boom)
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


def test_failure_while_planning_in_place_leaves_model_unchanged(monkeypatch):
    _edit_in_place(monkeypatch)
    X, y = _data(100, 3, seed=12)
    model = Unlearnable(KNeighborsClassifier(algorithm="kd_tree")).fit(X, y)
    model.unlearn(X[[50]])  # the maps exist: they must not move either
    state = pickle.dumps((model.estimator_, vars(model.unlearn_strategy_)))

    def boom(*args, **kwargs):
        raise MemoryError("injected")

    monkeypatch.setattr(nb_module.NeighborsStrategy, "_plan_tree", boom)
    with pytest.raises(MemoryError, match="injected"):
        model.unlearn(X[:5])
    assert pickle.dumps((model.estimator_, vars(model.unlearn_strategy_))) == state
    assert model.ledger_.n_rows == 99


def test_interrupt_during_commit_is_deferred(monkeypatch, mode):
    X, y = _data(100, 3, seed=13)
    model = Unlearnable(KNeighborsClassifier(algorithm="kd_tree")).fit(X, y)
    name = "kd_refresh" if mode == "in_place" else "_scrub"
    owner = nb_module._kernels if mode == "in_place" else nb_module
    original = getattr(owner, name)

    def then_interrupt(*args):
        os.kill(os.getpid(), signal.SIGINT)
        return original(*args)

    monkeypatch.setattr(owner, name, then_interrupt)
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
    edit_in_place=st.booleans(),
)
def test_property_equals_refit(
    seed,
    n,
    d,
    kind,
    algorithm,
    metric,
    leaf_size,
    n_requests,
    frac,
    pickle_between,
    edit_in_place,
):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    y = rng.randint(0, 3, n) if kind == "clf" else rng.randn(n)
    y = None if kind == "nn" else y
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
    # (in place only where Unlearnable compacts the index with its ledger)
    edit_in_place = edit_in_place and _owner_compacts_the_index()
    with pytest.MonkeyPatch.context() as monkeypatch:
        if edit_in_place:
            _edit_in_place(monkeypatch)
        model = Unlearnable(est).fit(X, y)
        for part in np.array_split(forget, n_requests):
            if part.size:
                model.unlearn(X[part])
            if pickle_between:
                model = pickle.loads(pickle.dumps(model))
        keep = np.setdiff1d(np.arange(n), forget)
        gold = clone(est).fit(X[keep], None if y is None else y[keep])
        Xq = rng.randn(10, d)
        assert_same_model(model, gold, X, keep, Xq)
        if not edit_in_place or pickle_between:
            assert_fresh_state(model, X, y, keep)
        loaded = pickle.loads(pickle.dumps(model))
        assert_fresh_state(loaded, X, y, keep)
        assert_same_model(loaded, gold, X, keep, Xq)


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
    assert_array_equal(model.estimator_._fit_X[i1], gold._fit_X[i2])
    assert_array_equal(model.predict(Xq), gold.predict(Xq))
    model = pickle.loads(pickle.dumps(model))
    assert_fresh_state(model, X, y, keep)
