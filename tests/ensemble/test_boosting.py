"""Gradient boosting built for deletion: unlearn equals a same-seed refit."""

import pickle
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from skunlearn import Unlearnable
from skunlearn.audit import audit_unlearning
from skunlearn.ensemble import SISAClassifier
from skunlearn.ensemble import _boosting as boosting
from skunlearn.ensemble import _boosting_kernels as K
from skunlearn.ensemble._boosting import (
    UnlearningGradientBoostingClassifier,
    UnlearningGradientBoostingRegressor,
)
from skunlearn.exceptions import UnknownRowsError
from skunlearn.pipeline import make_pipeline
from skunlearn.utils.estimator_checks import check_unlearning, retained_indices

GBC, GBR = UnlearningGradientBoostingClassifier, UnlearningGradientBoostingRegressor


def assert_same_models(a, b):
    """The whole fitted state is equal, bit for bit (and so are the outputs)."""
    names = a._FITTED + (("classes_",) if hasattr(a, "classes_") else ())
    for name in names:
        va, vb = getattr(a, name), getattr(b, name)
        if isinstance(va, tuple):
            assert len(va) == len(vb), name
            for x, z in zip(va, vb):
                assert_array_equal(x, z, err_msg=name)
        else:
            assert_array_equal(va, vb, err_msg=name)
    assert a.ledger_.n_rows == b.ledger_.n_rows


def refit(est, X, y, forget, sample_weight=None):
    keep = retained_indices(X, forget, y)
    sw = None if sample_weight is None else sample_weight[keep]
    gold = clone(est).set_params(random_state=est.seed_)
    return gold.fit(X[keep], y[keep], sample_weight=sw)


def outputs_equal(a, b, X):
    if hasattr(a, "predict_proba"):
        assert_array_equal(a.predict_proba(X), b.predict_proba(X))
        assert_array_equal(a.decision_function(X), b.decision_function(X))
    assert_array_equal(a.predict(X), b.predict(X))


@st.composite
def problems(draw, classification):
    # up to 1500 rows: a small request then often keeps the initial
    # prediction and the bins, and the trees are replayed (on fewer rows,
    # the prior moves and the model is refit)
    n = draw(st.sampled_from([st.integers(8, 120), st.integers(300, 1500)]))
    n = draw(n)
    p = draw(st.integers(1, 4))
    # few levels: the bins stay and the trees are replayed; many: the bins
    # move with most deletions and the model is refit
    levels = draw(st.sampled_from([2, 5, 1000]))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = rng.randint(0, levels, size=(n, p)) / 2.0
    if classification:
        y = rng.randint(0, draw(st.integers(2, 4)), size=n)
    else:
        y = (X.sum(axis=1) + rng.randn(n)).round(draw(st.sampled_from([0, 3])))
    size = draw(st.sampled_from([st.integers(1, 3), st.integers(1, n - 1)]))
    forget = rng.choice(n, size=min(draw(size), n - 1), replace=False)
    weights = draw(st.sampled_from([None, "int", "float"]))
    sw = {None: None, "int": rng.randint(0, 3, n) * 1.0, "float": rng.rand(n)}[weights]
    if sw is not None:
        sw[0] = 1.0
        assume(sw[retained_indices(X, forget, y)].sum() > 0)
    return X, y, forget, sw


options = st.fixed_dictionaries(
    {
        "max_iter": st.integers(1, 6),
        "learning_rate": st.sampled_from([0.1, 0.7]),
        "max_leaf_nodes": st.sampled_from([2, 5, 31, None]),
        "max_depth": st.sampled_from([None, 1, 3]),
        "min_samples_leaf": st.sampled_from([1, 3, 20]),
        "l2_regularization": st.sampled_from([0.0, 1.0]),
        "max_bins": st.sampled_from([2, 4, 255]),
        "random_state": st.integers(0, 1000),
    }
)


# Which nodes keep their histogram: the default (roots of large trees), every
# root, and the large nodes of the top eight levels (the replay then takes
# rows out of stored histograms at several depths, and finds some nodes
# large enough to keep one only now that the tree has fewer rows).
caches = st.sampled_from(
    [(boosting._CACHE_DEPTH, boosting._CACHE_MIN_ROWS), (1, 1), (8, 1)]
)


def _unlearn_in_steps(cls, opts, cache, problem, steps):
    X, y, forget, sw = problem
    depth, rows = cache
    with mock.patch.multiple(boosting, _CACHE_DEPTH=depth, _CACHE_MIN_ROWS=rows):
        model = cls(**opts).fit(X, y, sample_weight=sw)
        for part in np.array_split(forget, steps):
            if part.size:
                model.unlearn(X[part], y[part])
        gold = refit(model, X, y, forget, sw)
    assert_same_models(model, gold)
    outputs_equal(model, gold, X)


@settings(max_examples=40, deadline=None)
@given(problems(True), options, caches, st.integers(1, 3))
def test_classifier_unlearn_equals_refit(problem, opts, cache, steps):
    _unlearn_in_steps(GBC, opts, cache, problem, steps)


@settings(max_examples=40, deadline=None)
@given(problems(False), options, caches, st.integers(1, 3))
def test_regressor_unlearn_equals_refit(problem, opts, cache, steps):
    _unlearn_in_steps(GBR, opts, cache, problem, steps)


def _discrete(n, kind, seed=0):
    # features of few values: a deletion keeps the bins, so that the trees
    # are replayed (not refit)
    X, y = make_classification(
        n_samples=n,
        n_features=8,
        n_informative=6,
        n_classes=3 if kind == "multiclass" else 2,
        random_state=seed,
    )
    X = np.clip(np.round(X * 3), -9, 9) / 3
    if kind == "regression":
        y = X @ np.arange(1, 9) + np.random.RandomState(seed).randn(n)
    return X, y


@pytest.mark.parametrize("cache", [(1, 2**15), (1, 1), (8, 1)])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_sequences_of_deletions_replay_trees_and_equal_refit(kind, cache):
    X, y = _discrete(6000, kind)
    est = (GBR if kind == "regression" else GBC)(max_iter=12, random_state=0)
    with mock.patch.multiple(boosting, _CACHE_DEPTH=cache[0], _CACHE_MIN_ROWS=cache[1]):
        _sequence(est, X, y)


def _sequence(est, X, y):
    model = clone(est).fit(X, y)
    rng = np.random.RandomState(1)
    gone = []
    for size in [1, 1, 3, 1, 20]:
        left = np.setdiff1d(np.arange(len(y)), gone)
        part = rng.choice(left, size, replace=False)
        model.unlearn(X[part], y[part])
        gone.extend(part.tolist())
        assert_same_models(model, refit(model, X, y, np.array(gone)))
    records = model.unlearn_history_
    assert all(r["exact"] for r in records)
    details = [r["details"] for r in records if r["strategy"] == "boosting_deletion"]
    assert sum(d["trees_replayed"] for d in details) > 0
    assert sum(d["trees_regrown"] for d in details) > 0


def test_single_deletion_can_keep_every_tree():
    # a duplicated row of a large data set: forgetting one copy changes no
    # split and no rounded leaf value, every tree is replayed
    X, y = _discrete(6000, "binary")
    est = GBC(max_iter=10, random_state=0).fit(X, y)
    kept = []
    for i in range(40):
        model = pickle.loads(pickle.dumps(est))
        model.unlearn(X[i : i + 1], y[i : i + 1])
        record = model.unlearn_history_[-1]
        if record["details"].get("trees_regrown") == 0:
            kept.append(i)
            assert_same_models(model, refit(est, X, y, np.array([i])))
            if len(kept) == 2:
                break
    assert kept, "no deletion kept all the trees"


def test_gold_standard_checks():
    X, y = _discrete(800, "binary")
    check_unlearning(GBC(max_iter=10, random_state=0), X, y, forget=30, rtol=0, atol=0)
    # (not diabetes: its evenly spaced values make a midpoint of retained
    # values equal a forgotten one, which the residue check would flag)
    X, y = make_regression(400, 5, noise=5.0, random_state=0)
    check_unlearning(
        GBR(max_iter=10, random_state=0),
        X,
        y,
        forget=20,
        rtol=0,
        atol=0,
        fit_params={"sample_weight": np.linspace(0.5, 2, len(y))},
    )


def test_global_changes_refit():
    # a feature cut at pivot rows' values: forgetting a pivot moves the bins
    X, y = make_classification(300, 4, random_state=0)
    model = GBC(max_iter=5, random_state=0).fit(X, y)
    pair = np.array([np.flatnonzero(y == 0)[0], np.flatnonzero(y == 1)[0]])
    model.unlearn(X[pair], y[pair])  # one row of each class: the prior stays
    record = model.unlearn_history_[-1]
    assert record["strategy"] == "refit"
    assert record["details"]["reason"] == "the bin edges changed"
    assert_same_models(model, refit(model, X, y, pair))
    # a class loses its last row
    X, y = _discrete(200, "multiclass")
    y[:3] = 7
    model = GBC(max_iter=5, random_state=0).fit(X, y)
    model.unlearn(X[:3], y[:3])
    record = model.unlearn_history_[-1]
    assert record["details"]["reason"] == "a class lost its last training row"
    assert_array_equal(model.classes_, [0, 1, 2])
    assert_same_models(model, refit(model, X, y, np.arange(3)))


def test_random_state_none_draws_a_seed():
    X, y = _discrete(500, "binary")
    model = GBC(max_iter=5).fit(X, y)
    assert isinstance(model.seed_, int)
    model.unlearn(X[:5], y[:5])
    assert_same_models(model, refit(model, X, y, np.arange(5)))


def test_failed_unlearn_changes_nothing(monkeypatch):
    X, y = _discrete(6000, "binary")
    model = GBC(max_iter=5, random_state=0).fit(X, y)
    before = pickle.dumps(model)
    calls = []
    replay = K.replay_tree

    def fail_later(*args):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("simulated")
        return replay(*args)

    monkeypatch.setattr(K, "replay_tree", fail_later)
    with pytest.raises(MemoryError):
        model.unlearn(X[:1], y[:1])
    monkeypatch.undo()
    assert pickle.dumps(model) == before
    with pytest.raises(UnknownRowsError):
        model.unlearn(X[:1] + 100, y[:1])
    assert pickle.dumps(model) == before


def test_pickle_and_skops_round_trip_then_unlearn(tmp_path):
    from skunlearn import io

    X, y = _discrete(600, "multiclass")
    model = GBC(max_iter=5, random_state=0).fit(X, y)
    io.dump(model, tmp_path / "gb.skops")
    loaded = io.load(tmp_path / "gb.skops")
    copy = pickle.loads(pickle.dumps(model))
    for m in (model, loaded, copy):
        m.unlearn(X[:4], y[:4])
    assert_same_models(loaded, model)
    assert_same_models(copy, model)


def test_in_pipelines_unlearnable_and_sisa():
    X, y = _discrete(400, "binary")
    gb = GBC(max_iter=5, random_state=0)
    # a stateless step: the pipeline equals its refit exactly
    pipe = make_pipeline(FunctionTransformer(np.tanh), clone(gb))
    check_unlearning(pipe, X, y, forget=10, rtol=0, atol=0)
    check_unlearning(Unlearnable(clone(gb)), X, y, forget=10, rtol=0, atol=0)
    result = check_unlearning(
        SISAClassifier(clone(gb), n_shards=2, random_state=0),
        X,
        y,
        forget=10,
        rtol=0,
        atol=0,
    )
    assert result["unlearned"].unlearning_guarantee == "exact"
    # a scaler's moments are updated to about 1e-13, which a tree model can
    # turn into another threshold: equal predictions on nearly every row
    pipe = make_pipeline(StandardScaler(), clone(gb)).fit(X, y).unlearn(X[:10], y[:10])
    gold = make_pipeline(StandardScaler(), clone(gb)).fit(X[10:], y[10:])
    assert (pipe.predict(X) == gold.predict(X)).mean() > 0.95


def test_audit_and_forgetting_a_class():
    X, y = load_wine(return_X_y=True)
    report = audit_unlearning(
        GBC(max_iter=20, random_state=0), X, y, forget=1, random_state=0,
        n_resamples=100,
    )  # fmt: skip
    unlearned, gold = report.metrics["unlearned"], report.metrics["gold_standard"]
    assert unlearned["agreement_test"] == 1.0
    assert unlearned["score_test"] == gold["score_test"]


def test_tree_structure_and_bins():
    X, y = _discrete(300, "binary")
    model = GBC(max_iter=3, max_leaf_nodes=4, random_state=0).fit(X, y)
    s = model.tree_structure(0)
    assert (s["children_left"] >= 0).sum() == 3  # four leaves
    edges = model.bin_thresholds_
    assert len(edges) == X.shape[1]
    inner = s["feature"] >= 0
    for f, t in zip(s["feature"][inner], s["threshold"][inner]):
        assert t in edges[f]
    assert model.n_trees_per_iteration_ == 1 and model.n_iter_ == 3


def _score_pair(ours, theirs, X, y, seed):
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed)
    with threadpool_limits(1):  # OpenMP threads on shared cores: erratic
        theirs = theirs.fit(Xtr, ytr)
    return ours.fit(Xtr, ytr).score(Xte, yte), theirs.score(Xte, yte)


@pytest.mark.parametrize("name", ["breast_cancer", "digits", "diabetes"])
def test_accuracy_close_to_sklearn(name):
    # the strict figures (0.5 point) are printed by the benchmark on
    # larger data; bundled data sets vary more from seed to seed
    loader = {
        "breast_cancer": load_breast_cancer,
        "digits": load_digits,
        "diabetes": load_diabetes,
    }[name]
    X, y = loader(return_X_y=True)
    pairs = []
    for seed in range(3):
        if name == "diabetes":
            ours = GBR(random_state=seed)
            theirs = HistGradientBoostingRegressor(early_stopping=False)
        else:
            ours = GBC(max_iter=50 if name == "digits" else 100, random_state=seed)
            theirs = HistGradientBoostingClassifier(
                max_iter=50 if name == "digits" else 100, early_stopping=False
            )
        pairs.append(_score_pair(ours, theirs, X, y, seed))
    ours, theirs = np.mean(pairs, axis=0)
    assert ours >= theirs - 0.03, (ours, theirs)


@parametrize_with_checks(
    [GBC(max_iter=10, random_state=0), GBR(max_iter=10, random_state=0)]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ------------------------------------------------------------ partial_fit
@pytest.mark.parametrize("cls", [GBC, GBR])
@pytest.mark.parametrize("weighted", [False, True])
def test_partial_fit_equals_a_fit_on_all_rows(cls, weighted):
    # fit, forget, learn new rows, forget again: at every step the model is
    # a same-seed fit on the rows it holds, in ledger order, with the ledger
    # that fit builds (the same fingerprint key)
    if cls is GBC:
        X, y = make_classification(n_samples=500, n_features=5, random_state=0)
    else:
        X, y = make_regression(n_samples=500, n_features=5, noise=1, random_state=0)
    rng = np.random.RandomState(0)
    w = rng.randint(1, 4, size=500).astype(float) if weighted else None
    opts = dict(max_iter=15, max_leaf_nodes=8, min_samples_leaf=5, random_state=3)
    first, extra = np.arange(350), np.arange(350, 500)
    model = cls(**opts).fit(
        X[first], y[first], sample_weight=None if w is None else w[first]
    )
    model.unlearn(X[:10], y[:10], request_id="r1")
    model.partial_fit(X[extra], y[extra], sample_weight=None if w is None else w[extra])
    rows = np.r_[10:350, extra]
    gold = cls(**opts).fit(
        X[rows], y[rows], sample_weight=None if w is None else w[rows]
    )
    assert_same_models(model, gold)
    outputs_equal(model, gold, X)
    assert model.ledger_.fingerprint_key != gold.ledger_.fingerprint_key
    assert_array_equal(
        model.ledger_.fingerprints(),
        boosting.row_fingerprints(X[rows], key=model.ledger_.fingerprint_key),
    )
    assert [h["request_id"] for h in model.unlearn_history_] == ["r1"]
    # and deletions after the insertion stay exact
    model.unlearn(X[400:405], y[400:405])
    rows = np.setdiff1d(rows, np.arange(400, 405), assume_unique=True)
    gold = cls(**opts).fit(
        X[rows], y[rows], sample_weight=None if w is None else w[rows]
    )
    assert_same_models(model, gold)
    outputs_equal(model, gold, X)


def test_partial_fit_adds_a_class_and_fits_an_unfitted_model():
    X, y = make_classification(
        n_samples=300,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        random_state=0,
    )
    two = y < 2
    model = GBC(max_iter=5, random_state=0).partial_fit(X[two], y[two])
    assert_array_equal(model.classes_, [0, 1])
    model.partial_fit(X[~two], y[~two])
    assert_array_equal(model.classes_, [0, 1, 2])
    gold = GBC(max_iter=5, random_state=0).fit(
        np.r_[X[two], X[~two]], np.r_[y[two], y[~two]]
    )
    outputs_equal(model, gold, X)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:5, :3], y[:5])


def test_partial_fit_without_a_random_state_keeps_later_requests_exact():
    # the seed drawn at fit is kept; the recorded parameters stay the model's
    # own (random_state=None), so a later request is not refused as a
    # parameter change
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    model = GBC(max_iter=5).fit(X[:200], y[:200]).partial_fit(X[200:], y[200:])
    model.unlearn(X[:2], y[:2])
    gold = GBC(max_iter=5, random_state=model.seed_).fit(X[2:], y[2:])
    assert_same_models(model, gold)
    outputs_equal(model, gold, X)


def test_in_searches():
    # a search over the boosted model: its best estimator forgets exactly
    # (hyperparameters kept), or the search is redone on the retained rows;
    # and a search's best estimator is itself a model that forgets
    from sklearn.model_selection import GridSearchCV

    X, y = _discrete(600, "binary")
    grid = {"learning_rate": [0.1, 0.5], "max_leaf_nodes": [3, 8]}
    search = GridSearchCV(GBC(max_iter=5, random_state=0), grid, cv=2)
    model = Unlearnable(clone(search)).fit(X, y)
    best = model.best_params_
    model.unlearn(X[:12], y[:12])
    record = model.unlearn_history_[-1]
    assert record["strategy"] == "search" and record["exact"]
    assert model.best_params_ == best
    gold = GBC(max_iter=5, random_state=0, **best).fit(X[12:], y[12:])
    assert_same_models(model.estimator_.best_estimator_, gold)
    outputs_equal(model, gold, X)

    redone = Unlearnable(clone(search)).fit(X, y)
    redone.unlearn(X[:12], y[:12], refit_search=True)
    gold_search = clone(search).fit(X[12:], y[12:])
    assert redone.best_params_ == gold_search.best_params_
    scores = "mean_test_score"
    assert_array_equal(redone.cv_results_[scores], gold_search.cv_results_[scores])
    outputs_equal(redone, gold_search.best_estimator_, X)

    plain = clone(search).fit(X, y)
    plain.best_estimator_.unlearn(X[:12], y[:12])
    gold = GBC(max_iter=5, random_state=0, **plain.best_params_).fit(X[12:], y[12:])
    assert_same_models(plain.best_estimator_, gold)
