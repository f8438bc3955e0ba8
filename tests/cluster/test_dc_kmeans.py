"""DCKMeans: deletion re-solves a leaf and its ancestors, and equals a refit."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, load_iris, make_blobs
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import UnknownRowsError, Unlearnable
from skunlearn.cluster import DCKMeans
from skunlearn.exceptions import ForgetAllRowsError
from skunlearn.utils.estimator_checks import check_unlearning, retained_indices

X_IRIS, _ = load_iris(return_X_y=True)


@parametrize_with_checks(
    [DCKMeans(n_clusters=3, n_leaves=4, branching=2, random_state=0)],
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data": (
            "A weight of 2 equals a repeated row within one leaf, but the check "
            "also reorders rows, and the k-means++ draws follow row order: equal "
            "in distribution, not output for output (as for KMeans)."
        )
    },
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def assert_same_model(a, b):
    assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize(
    "params",
    [
        dict(n_clusters=3, n_leaves=8, branching=2),
        dict(n_clusters=3, n_leaves=1),
        dict(n_clusters=4, n_leaves=16, branching=4, n_init=2),
    ],
)
def test_gold_standard_output_for_output(params):
    est = DCKMeans(random_state=0, **params)
    result = check_unlearning(est, X_IRIS, None, forget=0.2, rtol=0, atol=0)
    assert_same_model(result["unlearned"], result["gold"])
    record = result["unlearned"].unlearn_history_[-1]
    assert record["exact"] and record["strategy"] == "dc_kmeans"


def test_sample_weight_and_sequences():
    X, _ = make_blobs(400, centers=4, random_state=1)
    sw = np.random.RandomState(0).uniform(0.2, 3, 400)
    est = DCKMeans(n_clusters=4, n_leaves=16, branching=4, random_state=3)
    model = clone(est).fit(X, sample_weight=sw)
    gone = []
    for rows in ([5], [17, 200, 399], list(range(100, 140))):
        model.unlearn(X[rows])
        gone += rows
    keep = np.setdiff1d(np.arange(400), gone)
    gold = clone(est).fit(X[keep], sample_weight=sw[keep])
    assert_same_model(model, gold)
    assert len(model.labels_) == keep.size


def test_deletion_resolves_one_leaf_and_its_ancestors():
    X, _ = make_blobs(2000, centers=5, random_state=0)
    model = DCKMeans(n_clusters=5, n_leaves=64, branching=4, random_state=0).fit(X)
    model.unlearn(X[[10]])
    details = model.unlearn_history_[-1]["details"]
    # 64 leaves, branching 4: depth 3 above the leaves.
    assert details == {"leaves_resolved": 1, "nodes_resolved": 4}


def test_duplicates_forget_the_earliest_copy():
    X = np.repeat(X_IRIS[:60], 2, axis=0)
    est = DCKMeans(n_clusters=3, n_leaves=4, branching=2, random_state=0)
    model = clone(est).fit(X).unlearn(X[[4, 4, 50]])
    keep = retained_indices(X, [4, 5, 50])
    assert_same_model(model, clone(est).fit(X[keep]))


def test_quality_close_to_kmeans():
    X, _ = make_blobs(6000, n_features=8, centers=8, cluster_std=2.5, random_state=0)
    dc = DCKMeans(n_clusters=8, n_leaves=32, branching=8, random_state=0).fit(X)
    km = KMeans(n_clusters=8, random_state=0).fit(X)
    assert dc.inertia_ <= 1.05 * km.inertia_
    X_d, _ = load_digits(return_X_y=True)
    dc = DCKMeans(n_clusters=10, n_leaves=16, branching=4, random_state=0).fit(X_d)
    km = KMeans(n_clusters=10, random_state=0).fit(X_d)
    assert dc.inertia_ <= 1.05 * km.inertia_


def test_random_state_none_draws_a_seed_once():
    model = DCKMeans(n_clusters=3, n_leaves=4).fit(X_IRIS)
    seed = model.seed_
    centers = model.cluster_centers_.copy()
    model.unlearn(X_IRIS[:5])
    assert model.seed_ == seed
    assert model.cluster_centers_.shape == centers.shape


def test_wrapped_in_unlearnable_delegates():
    model = Unlearnable(DCKMeans(n_clusters=3, n_leaves=4, random_state=0)).fit(X_IRIS)
    assert model.strategy_.name == "native"
    model.unlearn(X_IRIS[:3])
    gold = DCKMeans(n_clusters=3, n_leaves=4, random_state=0).fit(X_IRIS[3:])
    assert_array_equal(model.predict(X_IRIS), gold.predict(X_IRIS))


def test_bad_input_leaves_model_unchanged():
    model = DCKMeans(n_clusters=3, n_leaves=4, random_state=0).fit(X_IRIS[:20])
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="features"):
        model.unlearn(X_IRIS[:2, :2])
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.unlearn(np.full((1, 4), np.nan))
    with pytest.raises(UnknownRowsError):
        model.unlearn(X_IRIS[:1] + 10)
    with pytest.raises(ValueError, match="fewer than n_clusters"):
        model.unlearn(X_IRIS[:18])
    with pytest.raises(ForgetAllRowsError):
        model.unlearn(X_IRIS[:20])
    with pytest.raises(TypeError, match="no unlearning parameters"):
        model.unlearn(X_IRIS[:1], method="newton")
    assert pickle.dumps(model) == before
    with pytest.raises(ValueError, match="n_clusters"):
        DCKMeans(n_clusters=30).fit(X_IRIS[:20])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(10, 80),
    k=st.integers(1, 4),
    n_leaves=st.integers(1, 9),
    branching=st.integers(2, 4),
    frac=st.floats(0.05, 0.6),
)
def test_property_equals_refit(seed, n, k, n_leaves, branching, frac):
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 6, size=(n, 2)).astype(float)  # duplicates on purpose
    forget = rng.choice(n, max(1, int(frac * n)), replace=False)
    keep = retained_indices(X, forget)
    if keep.size < k:
        return
    est = DCKMeans(
        n_clusters=k, n_leaves=n_leaves, branching=branching, random_state=seed
    )
    model = clone(est).fit(X).unlearn(X[forget])
    assert_same_model(model, clone(est).fit(X[keep]))
