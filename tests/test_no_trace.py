"""No membership trace: after forgetting, state is a fresh fit's on the rest.

Families that number their own per-row state by ledger row id (their ledger
is ``compact="never"``) renumber it when the erased slots go. After a few
requests the ledger and every per-row structure must equal, array for array,
those of a fresh fit on the retained rows in training order, and the saved
bytes must hold nothing of the forgotten rows: no dead slot, no position.

A family is one entry of ``FAMILIES``: a name, a factory of the unfitted
estimator (same parameters each call), its training data, and the names of
its per-row attributes (those a fresh fit on the retained rows determines).
"""

import pickle
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from skunlearn import Unlearnable
from skunlearn._ledger import TrainingLedger, _pinned_fingerprint_key
from skunlearn.cluster import DCKMeans
from skunlearn.ensemble import (
    UnlearningForestClassifier,
    UnlearningForestRegressor,
    UnlearningGradientBoostingClassifier,
    UnlearningGradientBoostingRegressor,
)
from skunlearn.tree import UnlearningTreeClassifier, UnlearningTreeRegressor
from skunlearn.utils.estimator_checks import assert_no_residue


@dataclass(frozen=True)
class Family:
    """One family under test.

    Parameters
    ----------
    name : str
        Test id.
    factory : callable
        Returns the unfitted estimator, with the same parameters at each call.
    X, y : ndarray
        Training data (``y`` None for unsupervised families); rows distinct.
    per_row : tuple of str
        Fitted attributes indexed by training row (ids, masks, kept rows);
        each must equal a fresh fit's on the retained rows.
    requires : tuple of str
        Modules the family needs; the tests skip without them.
    state : callable or None
        Returns the fitted model's other arrays that a fresh fit on the
        retained rows determines (nested ones, by name), compared like
        ``per_row``.
    """

    name: str
    factory: object
    X: np.ndarray
    y: np.ndarray | None
    per_row: tuple = ()
    requires: tuple = ()
    state: object = None


# ---------------------------------------------------------------- families
def _net_data(task):
    rng = np.random.RandomState(0)
    X = rng.randn(120, 4).astype(np.float32)
    if task == "classification":
        y = (X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
    else:
        y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.randn(120)
        y = y.astype(np.float32).reshape(-1, 1)
    return X, y


def _content_split(dataset, y=None, **fit_params):
    """skorch train split by row content (calibration rows: ``x0 > 0.8``).

    skorch's default split is by position; with a content rule, a fit on the
    retained rows keeps the same calibration rows, so the nets' renumbered
    ``calib_rows_`` can be compared with a fresh fit's.
    """
    from torch.utils.data import Subset

    valid = np.asarray(dataset.X)[:, 0] > 0.8
    return (
        Subset(dataset, np.flatnonzero(~valid)),
        Subset(dataset, np.flatnonzero(valid)),
    )


def _net(task):
    def factory():
        import torch

        from skunlearn.neural_net import (
            UnlearningNeuralNetClassifier,
            UnlearningNeuralNetRegressor,
        )

        width = 3 if task == "classification" else 1
        module = torch.nn.Sequential(
            torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, width)
        )
        params = dict(
            max_epochs=2,
            batch_size=64,
            lr=0.05,
            verbose=0,
            train_split=_content_split,
            unlearn_method__max_epochs=1,
        )
        if task == "classification":
            return UnlearningNeuralNetClassifier(
                module, criterion=torch.nn.CrossEntropyLoss, **params
            )
        return UnlearningNeuralNetRegressor(module, **params)

    return factory


_NET_ROWS = (
    "retain_X_",
    "retain_y_",
    "retain_rows_",
    "calib_X_",
    "calib_y_",
    "calib_rows_",
)


def _blobs():
    rng = np.random.RandomState(0)
    centers = np.array([[0.0, 0.0, 0.0], [6.0, 6.0, 0.0], [0.0, 6.0, 6.0]])
    return centers[rng.randint(3, size=300)] + rng.randn(300, 3)


def _tree_data(task):
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4)
    if task == "classification":
        y = (X[:, 0] + 0.5 * rng.randn(300) > 0).astype(np.int64) + (X[:, 1] > 1)
    else:
        y = X[:, 0] - 2.0 * X[:, 1] + 0.1 * rng.randn(300)
    return X, y


def _tree_arrays(model):
    # every tree's row ids (grouped by node), nodes, slots and sizes
    return {
        f"trees_[{i}].{name}": getattr(tree, name)
        for i, tree in enumerate(model.trees_)
        for name in ("order", "NI", "NF", "NK", "NT", "SD", "meta")
    }


def _trees(name, cls, task, **params):
    return Family(
        name,
        lambda: cls(random_state=0, **params),
        *_tree_data(task),
        per_row=("_row_keys",),
        state=_tree_arrays,
    )


def _boosting_state(model):
    # every tree, stored histogram, leaf of each row, bin edge and global
    # value: a fresh same-seed fit on the retained rows has each bit for bit
    return {name: getattr(model, name) for name in model._FITTED}


def _boosting_data(task):
    # features of few values and enough rows: a deletion keeps the bins and
    # the initial prediction, so that the trees are replayed (not refit)
    # (rows distinct, in a random order)
    rng = np.random.RandomState(0)
    X = np.unique(np.clip(np.round(rng.randn(4000, 6)), -3, 3), axis=0)
    X = X[rng.permutation(len(X))] / 2
    n = len(X)
    if task == "classification":
        y = (X[:, 0] + 0.5 * rng.randn(n) > 0).astype(np.int64) + (X[:, 1] > 0.5)
    else:
        y = X[:, 0] - 2.0 * X[:, 1] + 0.1 * rng.randn(n)
    return X, y


def _boosting(name, cls, task):
    return Family(
        name,
        lambda: cls(max_iter=6, random_state=0),
        *_boosting_data(task),
        per_row=("_row_keys", "_xb", "_leaves"),
        state=_boosting_state,
    )


FAMILIES = [
    Family(
        "net_classifier",
        _net("classification"),
        *_net_data("classification"),
        per_row=_NET_ROWS,
        requires=("torch", "skorch"),
    ),
    Family(
        "net_regressor",
        _net("regression"),
        *_net_data("regression"),
        per_row=_NET_ROWS,
        requires=("torch", "skorch"),
    ),
    Family(
        "dc_kmeans",
        lambda: DCKMeans(n_clusters=3, n_leaves=8, branching=2, random_state=0),
        _blobs(),
        None,
        per_row=("leaf_rows_", "node_centers_", "node_weights_", "root_"),
    ),
    # Nearest neighbours: the index arrays (_fit_X, _y, the tree) are compared
    # with a fresh fit's in tests/strategies/test_neighbors.py.
    Family(
        "knn_kd_tree",
        lambda: Unlearnable(KNeighborsClassifier(algorithm="kd_tree", leaf_size=8)),
        _blobs(),
        np.random.RandomState(1).randint(0, 3, 300),
        per_row=("classes_", "n_samples_fit_"),
    ),
    Family(
        "knn_ball_tree_regressor",
        lambda: Unlearnable(KNeighborsRegressor(algorithm="ball_tree", leaf_size=8)),
        _blobs(),
        _blobs() @ np.array([1.0, -2.0, 0.5]),
        per_row=("n_samples_fit_",),
    ),
    # Trees and forests: the ledger, row keys and every tree's arrays (order
    # included) are a same-seed fresh fit's.
    _trees("tree_classifier", UnlearningTreeClassifier, "classification"),
    _trees("tree_regressor", UnlearningTreeRegressor, "regression"),
    _trees(
        "forest_classifier",
        UnlearningForestClassifier,
        "classification",
        n_estimators=4,
    ),
    _trees(
        "forest_classifier_no_bootstrap",
        UnlearningForestClassifier,
        "classification",
        n_estimators=4,
        bootstrap=False,
    ),
    _trees("forest_regressor", UnlearningForestRegressor, "regression", n_estimators=4),
    # Gradient boosting: trees replayed or regrown, or a refit when the bins
    # move; the whole fitted state is a same-seed fresh fit's.
    _boosting(
        "boosting_classifier", UnlearningGradientBoostingClassifier, "classification"
    ),
    _boosting("boosting_regressor", UnlearningGradientBoostingRegressor, "regression"),
]


# ----------------------------------------------------------------- helpers
@pytest.fixture(params=FAMILIES, ids=[f.name for f in FAMILIES])
def family(request):
    for module in request.param.requires:
        pytest.importorskip(module)
    return request.param


def _fit(family, rows, key=None):
    """Fit the family on ``family.X[rows]``; with ``key``, its ledger's key.

    Each ledger draws a secret key for its fingerprints; a fresh fit compared
    with a model is built under the model's key, so that the comparison
    covers the fingerprint index too.
    """
    est = family.factory()
    X = family.X[rows]
    with _pinned_fingerprint_key(key):
        return est.fit(X) if family.y is None else est.fit(X, family.y[rows])


def _forget(family, model, rows):
    X = family.X[rows]
    return model.unlearn(X) if family.y is None else model.unlearn(X, family.y[rows])


def assert_same_state(actual, expected, where):
    """Assert two fitted structures are equal: type, dtype, shape and values."""
    assert type(actual) is type(expected), (where, type(actual), type(expected))
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for k in expected:
            assert_same_state(actual[k], expected[k], f"{where}[{k!r}]")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same_state(a, e, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype, (where, actual.dtype, expected.dtype)
        assert actual.shape == expected.shape, (where, actual.shape, expected.shape)
        np.testing.assert_array_equal(actual, expected, err_msg=where, strict=True)
    elif sp.issparse(expected):
        assert_same_state(actual.toarray(), expected.toarray(), where)
    elif hasattr(expected, "equals") and hasattr(expected, "columns"):
        assert actual.equals(expected), where
    else:
        assert actual == expected, (where, actual, expected)


def assert_same_ledger(actual, expected):
    """The ledgers' whole state, array for array (fingerprint index included)."""
    assert actual.n_stored == actual.n_rows
    assert_same_state(vars(actual), vars(expected), "ledger_")


def assert_same_per_row(model, fresh, names):
    """Every named per-row attribute of ``model`` equals the fresh fit's."""
    for name in names:
        assert_same_state(getattr(model, name), getattr(fresh, name), name)


def assert_same_family_state(family, model, other):
    """The family's other arrays (see ``Family.state``) equal ``other``'s."""
    if family.state is not None:
        assert_same_state(family.state(model), family.state(other), family.name)


def assert_like_fresh_fit(family, model, keep):
    fresh = _fit(family, keep, key=model.ledger_.fingerprint_key)
    assert_same_ledger(model.ledger_, fresh.ledger_)
    assert_same_per_row(model, fresh, family.per_row)
    assert_same_family_state(family, model, fresh)


def _forgotten_values(family, gone, keep):
    values = [family.X[gone].ravel()]
    if family.y is not None and family.y.dtype.kind == "f":
        values.append(family.y[gone].ravel())
    kept = [family.X[keep].ravel()]
    if family.y is not None:
        kept.append(np.asarray(family.y[keep], dtype=np.float64).ravel())
    return np.setdiff1d(
        np.concatenate(values).astype(np.float64),
        np.concatenate(kept).astype(np.float64),
    )


def _requests(n):
    # the first and last rows together, then rows in the middle, one by one
    # and in a batch
    return [[0, n - 1], [7], [3, 40, 41, 90]]


# ------------------------------------------------------------------- tests
def test_ledger_is_the_fresh_ledger_after_fit(family):
    # The reference point: a fit records a ledger built from its rows alone.
    model = _fit(family, np.arange(len(family.X)))
    led = model.ledger_
    assert led.n_stored == led.n_rows == len(family.X)
    fresh = TrainingLedger(
        family.X,
        led.y,
        led.sample_props,
        keep_X=led.X is not None,
        compact=led.compact_policy,
        _fingerprint_key=led.fingerprint_key,
    )
    assert_same_state(vars(led), vars(fresh), "ledger_")
    # each fit draws its own key: the same rows, unrelated fingerprints
    other = _fit(family, np.arange(len(family.X))).ledger_
    assert len(other.fingerprint_key) == 32
    assert other.fingerprint_key != led.fingerprint_key
    assert not np.isin(other.fingerprints(), led.fingerprints()).any()


def test_forgetting_leaves_a_fresh_fits_state(family):
    n = len(family.X)
    model = _fit(family, np.arange(n))
    gone = []
    for rows in _requests(n):
        _forget(family, model, rows)
        gone += rows
        # no erased slot stays in memory either (these models are small)
        assert model.ledger_.n_stored == model.ledger_.n_rows == n - len(gone)
    keep = np.setdiff1d(np.arange(n), gone)
    assert_like_fresh_fit(family, model, keep)
    assert_no_residue(model, _forgotten_values(family, gone, keep))

    X_test = family.X[::3]
    before = model.predict(X_test)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict(X_test), before)
    assert_like_fresh_fit(family, loaded, keep)

    # a request on the reloaded model works like one on the model
    _forget(family, loaded, [keep[5]])
    _forget(family, model, [keep[5]])
    assert loaded.ledger_.n_stored == loaded.ledger_.n_rows == keep.size - 1
    assert_same_state(vars(loaded.ledger_), vars(model.ledger_), "ledger_")
    assert_same_per_row(loaded, model, family.per_row)
    assert_same_family_state(family, loaded, model)


def test_deferred_slots_never_leave_the_process(family, monkeypatch):
    # Large models keep erased slots for a while (compacting at every request
    # would cost more than the request); requests still work meanwhile, and
    # anything saved is compacted.
    n = len(family.X)
    model = _fit(family, np.arange(n))
    if model.ledger_.compact_policy != "never":
        pytest.skip("the ledger compacts by itself")
    monkeypatch.setattr(type(model), "_compact_min_rows", 1)
    _forget(family, model, [n - 1])
    assert model.ledger_.n_stored == n and model.ledger_.n_rows == n - 1
    _forget(family, model, [3])  # a request over an erased slot
    keep = np.setdiff1d(np.arange(n - 1), [3])
    X_test = family.X[::3]
    before = model.predict(X_test)
    blob = pickle.dumps(model)
    assert model.ledger_.n_stored == model.ledger_.n_rows == n - 2
    loaded = pickle.loads(blob)
    np.testing.assert_array_equal(loaded.predict(X_test), before)
    np.testing.assert_array_equal(model.predict(X_test), before)
    assert_like_fresh_fit(family, loaded, keep)
    assert_like_fresh_fit(family, model, keep)
    assert_no_residue(loaded, _forgotten_values(family, [3, n - 1], keep))


@pytest.mark.parametrize("cls", [UnlearningTreeClassifier, UnlearningForestRegressor])
def test_a_refit_keeps_the_fingerprint_key(cls, _trees_always_delete):
    # A batch of at least _REFIT_FRACTION of the rows makes the trees refit
    # on the retained rows (a new ledger inside); the model keeps its key, and
    # its state is a fresh fit's under that key.
    from skunlearn.tree import _base

    _base._REFIT_FRACTION = _trees_always_delete  # the default again
    task = "classification" if "Classifier" in cls.__name__ else "regression"
    family = _trees("refit", cls, task)
    n = len(family.X)
    model = _fit(family, np.arange(n))
    key = model.ledger_.fingerprint_key
    gone = list(range(int(np.ceil(_base._REFIT_FRACTION * n)) + 1))
    _forget(family, model, gone)
    assert model.unlearn_history_[-1]["strategy"] == "refit"
    assert model.ledger_.fingerprint_key == key
    keep = np.setdiff1d(np.arange(n), gone)
    assert_like_fresh_fit(family, model, keep)
