import inspect
import pickle
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    make_classification,
)
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn._ledger import TrainingLedger
from skunlearn.ensemble import UnlearningForestClassifier, UnlearningForestRegressor
from skunlearn.tree._journal import TreeJournal
from skunlearn.utils.estimator_checks import check_unlearning, retained_indices


def assert_same_forests(a, b):
    assert len(a.trees_) == len(b.trees_)
    for i in range(len(a.trees_)):
        sa, sb = a.tree_structure(i), b.tree_structure(i)
        for key in sa:
            assert_array_equal(sa[key], sb[key], err_msg=f"tree {i}: {key} differs")


def refit(est, X, y, forget, sample_weight=None):
    keep = retained_indices(X, forget, y)
    sw = None if sample_weight is None else sample_weight[keep]
    return type(est)(**est.get_params()).fit(X[keep], y[keep], sample_weight=sw)


@st.composite
def problems(draw, classification):
    n = draw(st.integers(6, 80))
    p = draw(st.integers(1, 5))
    levels = draw(st.sampled_from([2, 6, 1000]))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = rng.randint(0, levels, size=(n, p)).astype(float)
    if classification:
        y = rng.randint(0, draw(st.integers(2, 4)), size=n)
    else:
        y = rng.randn(n).round(draw(st.sampled_from([0, 3])))
    forget = rng.choice(n, size=draw(st.integers(1, n - 1)), replace=False)
    weights = draw(st.sampled_from([None, "int", "float"]))
    sw = {None: None, "int": rng.randint(0, 3, n) * 1.0, "float": rng.rand(n)}[weights]
    assume(sw is None or sw[retained_indices(X, forget, y)].sum() > 0)
    return X, y, forget, sw


options = st.fixed_dictionaries(
    {
        "n_estimators": st.integers(1, 4),
        "max_depth": st.sampled_from([None, 2, 4]),
        "min_samples_split": st.integers(2, 5),
        "min_samples_leaf": st.integers(1, 3),
        "max_features": st.sampled_from([None, "sqrt", "log2", 2, 0.7]),
        "n_thresholds": st.integers(1, 4),
        "bootstrap": st.booleans(),
        "max_samples": st.sampled_from([None, 1.0, 0.5, 0.1]),
        "random_state": st.integers(0, 1000),
        "n_jobs": st.sampled_from([None, 2]),
    }
)


@settings(max_examples=30, deadline=None)
@given(
    problems(True),
    options,
    st.sampled_from(["gini", "entropy", "log_loss"]),
    st.integers(1, 3),
)
def test_classifier_unlearn_equals_refit(problem, opts, criterion, steps):
    X, y, forget, sw = problem
    est = UnlearningForestClassifier(criterion=criterion, **opts)
    model = est.fit(X, y, sample_weight=sw)
    for part in np.array_split(forget, steps):
        if part.size:
            model.unlearn(X[part], y[part])
    gold = refit(est, X, y, forget, sw)
    assert_same_forests(model, gold)
    assert_array_equal(model.predict_proba(X), gold.predict_proba(X))
    assert_array_equal(model.feature_importances_, gold.feature_importances_)
    assert_array_equal(model.apply(X), gold.apply(X))


@settings(max_examples=30, deadline=None)
@given(problems(False), options)
def test_regressor_unlearn_equals_refit(problem, opts):
    X, y, forget, sw = problem
    est = UnlearningForestRegressor(**opts)
    model = est.fit(X, y, sample_weight=sw).unlearn(X[forget], y[forget])
    gold = refit(est, X, y, forget, sw)
    assert_same_forests(model, gold)
    assert_array_equal(model.predict(X), gold.predict(X))


def test_bootstrap_is_a_function_of_the_row():
    # same rows in another order: the same bootstrap multiplicities, so the
    # same trees (positions play no part)
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    perm = np.random.RandomState(1).permutation(300)
    a = UnlearningForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    b = UnlearningForestClassifier(n_estimators=3, random_state=0).fit(X[perm], y[perm])
    for i in range(3):
        assert (
            a.tree_structure(i)["n_node_samples"][0]
            == b.tree_structure(i)["n_node_samples"][0]
        )
    assert_array_equal(a.feature_importances_, b.feature_importances_)


def test_many_single_and_batched_deletions_match_refit():
    X, y = make_classification(
        n_samples=4000, n_features=8, n_classes=3, n_informative=5, random_state=0
    )
    X[:, 7] = np.round(X[:, 7])
    est = UnlearningForestClassifier(
        n_estimators=5, max_depth=7, random_state=0, n_jobs=2
    )
    model = est.fit(X, y)
    rng = np.random.RandomState(0)
    forget = rng.choice(4000, 220, replace=False)
    for i in forget[:20]:
        model.unlearn(X[i : i + 1], y[i : i + 1])
    model.unlearn(X[forget[20:]], y[forget[20:]])
    assert_same_forests(model, refit(est, X, y, forget))
    assert model.unlearn_history_[-1]["exact"]


@settings(max_examples=25, deadline=None)
@given(problems(True), options, st.integers(1, 3), st.booleans())
def test_subtrees_grown_in_pieces_equal_refit(problem, opts, steps, regression):
    # every rebuilt subtree of 2 rows or more grows its top, then its pieces
    # on two threads: still the refit, node for node
    from skunlearn.tree import _base

    X, y, forget, sw = problem
    if regression:
        y = y.astype(float) + X[:, 0]
    cls = UnlearningForestRegressor if regression else UnlearningForestClassifier
    est = cls(**{**opts, "n_jobs": 2})
    model = est.fit(X, y, sample_weight=sw)
    with (
        mock.patch.object(_base, "_SPLIT_MIN_ROWS", 2),
        mock.patch.object(_base, "_PIECE_MIN_ROWS", 1),
    ):
        for part in np.array_split(forget, steps):
            if part.size:
                model.unlearn(X[part], y[part])
    gold = refit(est, X, y, forget, sw)
    assert_same_forests(model, gold)
    assert_array_equal(model.predict(X), gold.predict(X))


def test_large_subtrees_grow_in_pieces(monkeypatch):
    from skunlearn.tree import _base

    X, y = make_classification(n_samples=3000, n_features=6, random_state=0)
    est = UnlearningForestClassifier(
        n_estimators=6, max_depth=8, random_state=0, n_jobs=2
    )
    model = est.fit(X, y)
    monkeypatch.setattr(_base, "_SPLIT_MIN_ROWS", 64)
    monkeypatch.setattr(_base, "_GROW_ALONE_ROWS", 0)  # growth on threads
    monkeypatch.setattr(_base, "_PIECE_MIN_ROWS", 16)
    tops = []
    real_top = _base._grow_top

    def counting_top(job, data, P):
        pieces = real_top(job, data, P)
        tops.append(len(pieces))
        return pieces

    monkeypatch.setattr(_base, "_grow_top", counting_top)
    forget = np.random.RandomState(0).choice(3000, 40, replace=False)
    for i in forget[:30]:
        model.unlearn(X[i : i + 1], y[i : i + 1])
    model.unlearn(X[forget[30:]], y[forget[30:]])
    assert tops and max(tops) >= 2
    assert_same_forests(model, refit(est, X, y, forget))
    assert_array_equal(
        model.predict_proba(X), refit(est, X, y, forget).predict_proba(X)
    )


def test_pieces_without_room_grow_one_after_another(monkeypatch):
    # if the pieces' reserved ranges did not fit in the subtree's (the bounds
    # say they do), they grow in turn within it: the same trees
    from skunlearn.tree import _base

    X, y = make_classification(n_samples=2000, n_features=5, random_state=1)
    est = UnlearningForestClassifier(
        n_estimators=4, max_depth=7, random_state=0, n_jobs=2
    )
    model = est.fit(X, y)
    monkeypatch.setattr(_base, "_SPLIT_MIN_ROWS", 32)
    monkeypatch.setattr(_base, "_GROW_ALONE_ROWS", 0)  # growth on threads
    monkeypatch.setattr(_base, "_PIECE_MIN_ROWS", 8)
    real_room = _base._room
    real_top = _base._grow_top
    in_top = []

    def roomy(sizes, levels, P):
        nodes, slots = real_room(sizes, levels, P)
        if in_top:
            return nodes * 4 + 10**6, slots
        return nodes, slots

    def top(job, data, P):
        in_top.append(1)
        try:
            pieces = real_top(job, data, P)
        finally:
            in_top.clear()
        assert pieces == []
        return pieces

    monkeypatch.setattr(_base, "_room", roomy)
    monkeypatch.setattr(_base, "_grow_top", top)
    forget = np.arange(0, 2000, 97)
    for i in forget:
        model.unlearn(X[i : i + 1], y[i : i + 1])
    assert_same_forests(model, refit(est, X, y, forget))


@pytest.mark.parametrize("regression", [False, True])
def test_large_batches_refit(_trees_always_delete, regression):
    # a batch of at least _REFIT_FRACTION of the rows is a refit (faster
    # there), recorded as such; smaller ones and later deletions delete
    from skunlearn.tree import _base

    _base._REFIT_FRACTION = _trees_always_delete  # the default again
    X, y = make_classification(n_samples=2000, n_features=6, random_state=0)
    cls = UnlearningForestClassifier
    if regression:
        y = y + X[:, 0]
        cls = UnlearningForestRegressor
    est = cls(n_estimators=5, max_depth=6, random_state=0, n_jobs=2)
    model = est.fit(X, y)
    rng = np.random.RandomState(0)
    order = rng.permutation(2000)
    small = order[: int(0.01 * 2000)]
    large = order[100 : 100 + int(0.05 * 2000)]
    model.unlearn(X[small], y[small])
    assert model.unlearn_history_[-1]["strategy"] == "tree-deletion"
    model.unlearn(X[large], y[large])
    last = model.unlearn_history_[-1]
    assert last["strategy"] == "refit" and last["exact"]
    assert "batch" in last["details"]["reason"]
    model.unlearn(X[order[-1:]], y[order[-1:]])
    assert model.unlearn_history_[-1]["strategy"] == "tree-deletion"
    forget = np.r_[small, large, order[-1:]]
    gold = refit(est, X, y, forget)
    assert_same_forests(model, gold)
    assert_array_equal(model.predict(X), gold.predict(X))


@pytest.mark.parametrize("regression", [False, True])
def test_refit_keeps_the_parameters_and_later_requests(
    _trees_always_delete, regression
):
    # A batch refit takes the refit's fitted state, not its parameters: a
    # model with random_state=None (the refit runs with the seed it drew)
    # still takes requests afterwards, exact against a refit with that seed;
    # a regressor keeps no class counts, like a fresh one.
    from skunlearn.tree import _base

    _base._REFIT_FRACTION = _trees_always_delete  # the default again
    X, y = make_classification(n_samples=600, n_features=6, random_state=0)
    cls = UnlearningForestClassifier
    if regression:
        y = y + X[:, 0]
        cls = UnlearningForestRegressor
    model = cls(n_estimators=3, max_depth=5).fit(X, y)
    model.unlearn(X[:50], y[:50])
    assert model.unlearn_history_[-1]["strategy"] == "refit"
    model.unlearn(X[50:51], y[50:51])
    assert model.unlearn_history_[-1]["strategy"] == "tree-deletion"
    assert model.random_state is None
    gold = cls(n_estimators=3, max_depth=5, random_state=model.seed_)
    gold.fit(X[51:], y[51:])
    assert_same_forests(model, gold)
    assert model.ledger_.n_stored == model.ledger_.n_rows == 549
    assert sorted(vars(model)) == sorted(vars(gold))


def test_gold_standard_checks():
    X, y = load_breast_cancer(return_X_y=True)
    check_unlearning(
        UnlearningForestClassifier(n_estimators=10, random_state=0),
        X,
        y,
        forget=40,
        rtol=0,
        atol=0,
    )
    X, y = load_diabetes(return_X_y=True)
    check_unlearning(
        UnlearningForestRegressor(n_estimators=5, max_depth=5, random_state=0),
        X,
        y,
        forget=20,
        rtol=0,
        atol=0,
        fit_params={"sample_weight": np.linspace(0.5, 2, len(y))},
    )


def test_pickle_roundtrip_then_unlearn():
    X, y = load_breast_cancer(return_X_y=True)
    model = UnlearningForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    clone_ = pickle.loads(pickle.dumps(model))
    model.unlearn(X[:7], y[:7])
    clone_.unlearn(X[:7], y[:7])
    assert_same_forests(model, clone_)


# n_jobs=2: trees are updated on two threads; a failure in either restores all
@pytest.mark.parametrize("n_jobs", [None, 2])
def test_failed_unlearn_restores_every_tree(monkeypatch, n_jobs):
    X, y = make_classification(n_samples=3000, n_features=6, random_state=0)
    model = UnlearningForestClassifier(
        n_estimators=6, max_depth=8, random_state=0, n_jobs=n_jobs
    ).fit(X, y)
    before = pickle.dumps(model)
    calls = []

    def boom(self, *args, **kwargs):
        calls.append(1)
        raise MemoryError("simulated")

    # the first tree whose subtrees were cleared fails as its garbage is
    # handed to the journal (the kernel has cleared them in every tree)
    monkeypatch.setattr(TreeJournal, "scrub_later", boom)
    with pytest.raises(MemoryError):
        model.unlearn(X[:300], y[:300])
    monkeypatch.undo()
    assert calls
    assert pickle.dumps(model) == before


def test_forgetting_every_weighted_row_raises_and_changes_nothing():
    X, y = make_classification(
        n_samples=40, n_features=3, n_informative=2, n_redundant=0, random_state=0
    )
    sw = np.r_[np.zeros(30), np.ones(10)]
    model = UnlearningForestClassifier(n_estimators=2, random_state=0).fit(
        X, y, sample_weight=sw
    )
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="sample weight of zero"):
        model.unlearn(X[30:], y[30:])
    assert pickle.dumps(model) == before


def _score_pair(ours, theirs, X, y, seed=0):
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=seed)
    return ours.fit(Xtr, ytr).score(Xte, yte), theirs.fit(Xtr, ytr).score(Xte, yte)


def test_accuracy_matches_sklearn_on_bundled_data():
    # bundled data sets, same settings as scikit-learn's forest; the strict
    # figures of the issue (0.5 point, R^2 0.01) are in the slow test below
    X, y = load_breast_cancer(return_X_y=True)
    ours, theirs = _score_pair(
        UnlearningForestClassifier(50, random_state=0),
        RandomForestClassifier(50, random_state=0),
        X,
        y,
    )
    assert ours >= theirs - 0.03
    X, y = load_diabetes(return_X_y=True)
    ours, theirs = _score_pair(
        UnlearningForestRegressor(50, random_state=0),
        RandomForestRegressor(50, random_state=0),
        X,
        y,
    )
    assert ours >= theirs - 0.03


@pytest.mark.slow
@pytest.mark.parametrize("name", ["breast_cancer", "digits", "diabetes"])
def test_accuracy_within_issue_tolerance(name):
    loader = {
        "breast_cancer": load_breast_cancer,
        "digits": load_digits,
        "diabetes": load_diabetes,
    }[name]
    X, y = loader(return_X_y=True)
    scores = []
    for seed in range(5):
        if name == "diabetes":
            pair = _score_pair(
                UnlearningForestRegressor(100, random_state=seed),
                RandomForestRegressor(100, random_state=seed),
                X,
                y,
                seed,
            )
        else:
            pair = _score_pair(
                UnlearningForestClassifier(100, random_state=seed),
                RandomForestClassifier(100, random_state=seed),
                X,
                y,
                seed,
            )
        scores.append(pair)
    ours, theirs = np.mean(scores, axis=0)
    tol = 0.01 if name == "diabetes" else 0.005
    assert ours >= theirs - tol, (ours, theirs)


def _expected_failed_checks(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "min_samples_split and min_samples_leaf count rows, so a row of weight 2 "
            "and a row given twice can stop a split differently (scikit-learn's "
            "forests expect this check to fail too); regressors also round the "
            "sums of squares differently"
        )
    }


@parametrize_with_checks(
    [
        UnlearningForestClassifier(n_estimators=5, random_state=0),
        UnlearningForestRegressor(n_estimators=5, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("fail", ["build", "slots"])
@pytest.mark.parametrize("n_jobs, split_min", [(None, 4096), (2, 4096), (2, 16)])
def test_failure_while_cleared_subtrees_grow_leaves_them_waiting(
    monkeypatch, n_jobs, split_min, fail
):
    # requests (deletions and insertions) clear the subtrees whose split
    # changes; they grow at the next read. A failure or Ctrl-C while they
    # grow (a subtree or piece of one, or the slot array) leaves every array
    # as it was, still waiting; the next read grows them, exactly
    from skunlearn.tree import _base, _kernels

    monkeypatch.setattr(_base, "_SPLIT_MIN_ROWS", split_min)
    monkeypatch.setattr(_base, "_GROW_ALONE_ROWS", 0 if n_jobs else 8192)
    monkeypatch.setattr(_base, "_PIECE_MIN_ROWS", min(split_min, 256))
    # erased row slots stay (a compaction grows the subtrees first)
    monkeypatch.setattr(_base._BaseUnlearningForest, "_compact_min_rows", 0)
    X, y = make_classification(n_samples=3100, n_features=6, random_state=0)
    est = UnlearningForestClassifier(
        n_estimators=8, max_depth=6, random_state=0, n_jobs=n_jobs
    )
    model = clone_of(est).fit(X[:3000], y[:3000])
    calls = []
    exc = KeyboardInterrupt if fail == "build" else MemoryError

    def flaky(real, at):
        def grow(*args):
            calls.append(1)
            if len(calls) == at:
                raise exc("injected")
            return real(*args)

        return grow

    if fail == "build":
        monkeypatch.setattr(_kernels, "build", flaky(_kernels.build, 2))
        monkeypatch.setattr(_kernels, "grow_from", flaky(_kernels.grow_from, 2))
    else:
        # no spare slots: a subtree that caches one makes the array grow
        for tree in model.trees_:
            tree.SD = tree.SD[: tree.meta[1]].copy()
        reserve = _base._Tree.reserve_slots
        monkeypatch.setattr(_base._Tree, "reserve_slots", flaky(reserve, 1))
    rows = list(range(3000))
    for i in range(40):
        calls.clear()
        if i % 3 == 2:
            new = [3000 + i]
            with mock.patch.object(_base, "_REFIT_FRACTION", 1.0):
                model.partial_fit(X[new], y[new])
            rows += new
        else:
            model.unlearn(X[i : i + 1], y[i : i + 1])
            rows.remove(i)
        assert not calls  # nothing grew yet
        if not model._has_pending():
            continue
        arrays, pending = _tree_arrays(model), model._pending
        try:
            model.predict(X[:5])
        except exc:
            for got, want in zip(_tree_arrays(model), arrays, strict=True):
                for a, b in zip(got, want, strict=True):
                    assert_array_equal(a, b, strict=True)
            assert model._pending == pending
            break
        assert not model._has_pending()
    else:
        pytest.fail("no read grew two subtrees (or slots twice)")
    monkeypatch.undo()
    # the next read grows them: the exact model of the rows so far
    fresh = clone_of(est).fit(X[rows], y[rows])
    assert_array_equal(model.predict_proba(X), fresh.predict_proba(X))
    assert not model._has_pending()
    assert_same_forests(model, fresh)


@pytest.mark.parametrize("n_jobs", [None, 2])
@pytest.mark.parametrize("where", ["after_phase_a", "clearing"])
def test_failure_anywhere_restores_the_forest(monkeypatch, n_jobs, where):
    # a failure after phase A has written (its journal was taken before), or
    # after it cleared subtrees: all is undone (growing them: see above)
    from skunlearn.tree import _base, _kernels

    X, y = make_classification(n_samples=3000, n_features=6, random_state=0)
    est = UnlearningForestClassifier(
        n_estimators=8, max_depth=6, random_state=0, n_jobs=n_jobs
    )
    model = est.fit(X, y)
    monkeypatch.setattr(_base, "_SPLIT_MIN_ROWS", 64)
    monkeypatch.setattr(_base, "_GROW_ALONE_ROWS", 0)  # growth on threads
    if where == "after_phase_a":
        real = _kernels.delete_trees

        def flaky(*args):
            real(*args)
            raise KeyboardInterrupt

        monkeypatch.setattr(_kernels, "delete_trees", flaky)
    else:
        # the kernel clears the subtrees to grow later in every tree; every
        # third tree's garbage fails to reach the journal: before it is
        # handed over, or after
        real = TreeJournal.scrub_later
        calls = []

        def flaky(*args):
            calls.append(1)
            if len(calls) % 6 == 3:
                raise KeyboardInterrupt
            real(*args)
            if len(calls) % 6 == 0:
                raise KeyboardInterrupt

        monkeypatch.setattr(TreeJournal, "scrub_later", flaky)
    failed, gone = 0, []
    for i in range(0, 3000, 7):
        before = pickle.dumps(model)
        try:
            model.unlearn(X[i : i + 1], y[i : i + 1])
            gone.append(i)
        except (KeyboardInterrupt, MemoryError):
            assert pickle.dumps(model) == before
            failed += 1
            if failed == 3:
                break
    assert failed
    monkeypatch.undo()
    # still the exact model of the rows forgotten so far, and usable
    model.unlearn(X[1:2], y[1:2])
    assert_same_forests(model, refit(est, X, y, np.r_[gone, 1]))


def _fail_in_a_compacted_copy(monkeypatch, phase):
    """Make clearing subtrees in a compacted copy during ``phase`` raise Ctrl-C.

    (Scrubbed at once: the subtrees are in a copy; in the change's phase, not
    in the compaction that follows a recorded request.) Returns a list that
    gets an entry per failure.
    """
    from skunlearn.tree import _kernels

    real = _kernels.clear_pending
    copies = []

    def flaky(*args):
        out = real(*args)
        if args[-1] and phase in {f.function for f in inspect.stack()}:
            copies.append(1)
            raise KeyboardInterrupt
        return out

    monkeypatch.setattr(_kernels, "clear_pending", flaky)
    return copies


def _assert_trees_as_before(model, before):
    """The trees' arrays and pending subtrees are ``before``'s."""
    after = _tree_arrays(model), model.__dict__.get("_pending")
    for got, want in zip(after[0], before[0], strict=True):
        for a, b in zip(got, want, strict=True):
            assert_array_equal(a, b, strict=True)
    assert after[1] == before[1]


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_failure_in_a_compacted_copy_restores_the_original_tree(monkeypatch, n_jobs):
    # a tree half garbage takes its new subtrees in a compacted copy: its
    # phase A is undone on the original (one tree's part of the chunk's
    # record) before the copy is made; a failure after that undoes the other
    # trees' phase A and leaves this one as it was, not undone twice

    X, y = make_classification(n_samples=1500, n_features=6, random_state=3)
    est = UnlearningForestClassifier(
        n_estimators=6, max_depth=8, random_state=0, n_jobs=n_jobs
    )
    model = est.fit(X, y)
    copies = _fail_in_a_compacted_copy(monkeypatch, "_phase_a")
    # no compaction of the ledger (which compacts every tree): the cleared
    # subtrees pile up as garbage
    monkeypatch.setattr(TrainingLedger, "due", lambda self, min_rows=None: False)
    gone = []
    for i in range(0, 1500, 3):
        # (the arrays as they are: pickling would grow the cleared subtrees)
        before = _tree_arrays(model), model.__dict__.get("_pending")
        history = len(model.unlearn_history_)
        try:
            model.unlearn(X[i : i + 1], y[i : i + 1])
            gone.append(i)
        except KeyboardInterrupt:
            _assert_trees_as_before(model, before)
            assert len(model.unlearn_history_) == history
            if len(copies) == 2:
                break
    assert copies, "no request regrew a tree in a compacted copy"
    monkeypatch.undo()
    model.unlearn(X[1:2], y[1:2])
    assert_same_forests(model, refit(est, X, y, np.r_[gone, 1]))


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_failed_insertion_in_a_compacted_copy_restores_the_original_tree(
    monkeypatch, n_jobs
):
    # rows added to a tree half garbage: its subtrees are cleared in a
    # compacted copy, its part of the chunk's insertion undone on the
    # original first; a failure after that leaves every tree (order with
    # it) as it was, and the stream of deletions and insertions stays exact
    from skunlearn.tree import _base

    X, y = make_classification(n_samples=1700, n_features=6, random_state=3)
    est = UnlearningForestClassifier(
        n_estimators=6, max_depth=8, random_state=0, n_jobs=n_jobs
    )
    model = clone_of(est).fit(X[:1500], y[:1500])
    copies = _fail_in_a_compacted_copy(monkeypatch, "_phase_insert")
    monkeypatch.setattr(_base, "_REFIT_FRACTION", 1.0)
    monkeypatch.setattr(TrainingLedger, "due", lambda self, min_rows=None: False)
    gone, added = [], []
    new = iter(range(1500, 1700))
    for i in range(0, 1500, 3):
        model.unlearn(X[i : i + 1], y[i : i + 1])
        gone.append(i)
        j = next(new)
        before = _tree_arrays(model), model.__dict__.get("_pending")
        try:
            model.partial_fit(X[j : j + 1], y[j : j + 1])
            added.append(j)
        except KeyboardInterrupt:
            _assert_trees_as_before(model, before)
            if len(copies) == 2:
                break
    assert copies, "no insertion cleared a tree in a compacted copy"
    monkeypatch.undo()
    keep = np.r_[np.setdiff1d(np.arange(1500), gone), added]
    assert_same_forests(model, clone_of(est).fit(X[keep], y[keep]))


@pytest.mark.parametrize("kind", ["regressor", "fractional_weights"])
def test_failed_phase_a_without_cached_counts_restores_the_forest(monkeypatch, kind):
    # sums that are not exact: nodes are evaluated again from their rows, and
    # a rollback puts back their copies
    from skunlearn.tree import _kernels

    X, y = make_classification(n_samples=2000, n_features=5, random_state=1)
    sw = None
    if kind == "regressor":
        est = UnlearningForestRegressor(n_estimators=4, max_depth=7, random_state=0)
        y = X[:, 0] + 0.1 * y
    else:
        est = UnlearningForestClassifier(n_estimators=4, max_depth=7, random_state=0)
        sw = np.linspace(0.5, 1.5, len(y))
    model = est.fit(X, y, sample_weight=sw)
    before = pickle.dumps(model)
    real = _kernels.delete_trees

    def flaky(*args):
        real(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(_kernels, "delete_trees", flaky)
    for rows in (slice(0, 1), slice(5, 6), slice(10, 110)):
        with pytest.raises(KeyboardInterrupt):
            model.unlearn(X[rows], y[rows])
        assert pickle.dumps(model) == before
    monkeypatch.undo()
    model.unlearn(X[10:110], y[10:110])
    assert_same_forests(model, refit(est, X, y, np.arange(10, 110), sw))


def test_trees_saved_without_a_depth_bound_still_unlearn():
    # a tree pickled before it kept a bound on its depth gets one on load
    from skunlearn.tree import _kernels as K

    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    est = UnlearningForestClassifier(n_estimators=3, random_state=0)
    model = est.fit(X, y)
    for tree in model.trees_:
        state = tree.__getstate__()
        state["meta"] = state["meta"][:3].copy()
        tree.__setstate__(state)
        assert tree.meta[3] == tree.NI[: tree.meta[0], K.DEPTH].max()
    model.unlearn(X[:20], y[:20])
    assert_same_forests(model, refit(est, X, y, np.arange(20)))


def test_no_residue_in_garbage_nodes_and_slots(monkeypatch):
    # the nodes and slots of rebuilt subtrees keep nothing of their rows
    # while compaction (which drops them) is deferred: 45 erased slots of
    # 3000 are fewer than 1/64
    from skunlearn.tree import _kernels as K

    monkeypatch.setattr(UnlearningForestClassifier, "_compact_min_rows", 0)
    X, y = make_classification(n_samples=3000, n_features=6, random_state=0)
    model = UnlearningForestClassifier(n_estimators=6, max_depth=8, random_state=0).fit(
        X, y
    )
    for i in range(30):
        model.unlearn(X[i : i + 1], y[i : i + 1])
    model.unlearn(X[30:45], y[30:45])
    assert model.ledger_.n_stored == 3000
    rebuilt = sum(
        r["details"].get("subtrees_rebuilt", 0) for r in model.unlearn_history_
    )
    assert rebuilt > 0
    n_garbage = 0
    for tree in model.trees_:
        n, ns = int(tree.meta[0]), int(tree.meta[1])
        live = K.preorder_ids(tree.NI[:n]) >= 0
        dead = np.flatnonzero(~live)
        n_garbage += dead.size
        assert (tree.NI[dead][:, [K.LEFT, K.RIGHT, K.SLOT]] == -1).all()
        assert (tree.NI[dead, K.FEAT] == -2).all()
        assert (tree.NI[dead, K.NROWS] == 0).all()
        assert not tree.NF[dead].any() and not tree.NT[dead].any()
        used = tree.NI[:n][live, K.SLOT]
        unused = np.setdiff1d(np.arange(ns), used[used >= 0])
        assert not tree.SD[unused].any()
    assert n_garbage > 0


def test_failed_batch_restores_every_slot(monkeypatch):
    # phase A's slot changes are undone from its records, not from copies:
    # values that lost their last row (several rows of one tree), slots
    # evaluated again; the pickled model is byte for byte the one before
    from skunlearn.tree import _kernels

    real = _kernels.delete_trees
    seen = []

    def flaky(*args):
        real(*args)
        seen.append(args[-1].sum(axis=0))
        raise KeyboardInterrupt

    for levels in (3, 400):
        rng = np.random.RandomState(levels)
        X = rng.randint(0, levels, size=(3000, 5)).astype(float)
        y = (X[:, 0] + X[:, 1] + rng.randint(0, 3, 3000) > levels).astype(int)
        est = UnlearningForestClassifier(
            n_estimators=6, max_depth=8, max_features=2, n_thresholds=1, random_state=0
        )
        model = est.fit(X, y)
        before = pickle.dumps(model)
        monkeypatch.setattr(_kernels, "delete_trees", flaky)
        for start in range(0, 3000, 300):
            with pytest.raises(KeyboardInterrupt):
                model.unlearn(X[start : start + 300], y[start : start + 300])
            assert pickle.dumps(model) == before
        monkeypatch.undo()
        model.unlearn(X[:300], y[:300])
        assert_same_forests(model, refit(est, X, y, np.arange(300)))
    counts = np.sum(seen, axis=0)
    assert counts[0] > 0  # values that lost their last row
    assert counts[1] > 0  # slots evaluated again


def test_skops_round_trip_then_unlearn(tmp_path):
    sio = pytest.importorskip("skops.io")
    from skunlearn.cli import trusted_types

    X, y = load_breast_cancer(return_X_y=True)
    model = UnlearningForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    path = tmp_path / "forest.skops"
    sio.dump(model, path)
    trusted, refused = trusted_types(path)
    assert not refused
    loaded = sio.load(path, trusted=trusted)
    model.unlearn(X[:5], y[:5])
    loaded.unlearn(X[:5], y[:5])
    assert_same_forests(model, loaded)


@pytest.mark.parametrize("max_samples", [None, 0.5, 0.1])
def test_max_samples_sets_the_share_of_trees_holding_a_row(max_samples):
    # a row's multiplicity is Poisson(max_samples): it lives in a share
    # 1 - exp(-max_samples) of the trees, and a deletion touches only those
    X, y = make_classification(n_samples=2000, n_features=5, random_state=0)
    model = UnlearningForestClassifier(
        n_estimators=200, max_depth=3, max_samples=max_samples, random_state=0
    ).fit(X, y)
    rate = 1.0 if max_samples is None else max_samples
    roots = [model.tree_structure(t)["n_node_samples"][0] for t in range(200)]
    assert np.mean(roots) == pytest.approx(2000 * (1 - np.exp(-rate)), rel=0.05)
    model.unlearn(X[:1], y[:1])
    touched = model.unlearn_history_[-1]["details"]["trees_touched"]
    assert touched == pytest.approx(200 * (1 - np.exp(-rate)), abs=30)
    gold = refit(model, X, y, np.array([0]))
    assert_same_forests(model, gold)


@pytest.mark.parametrize(
    "max_samples, bootstrap, rows", [(None, True, 128), (0.5, True, 64),
    (0.1, True, 16), (0.01, True, 16), (0.5, False, 128)]
)  # fmt: skip
def test_smaller_trees_cache_smaller_nodes(max_samples, bootstrap, rows):
    # trees drawing a share of the rows cache nodes of 128 * max_samples rows
    # (at least 16): about the same cache per training row; every node of
    # that many rows holds a slot, and deletions stay exact
    from skunlearn.tree import _kernels as K

    X, y = make_classification(n_samples=3000, n_features=6, random_state=2)
    model = UnlearningForestClassifier(
        n_estimators=6, max_depth=9, max_samples=max_samples, bootstrap=bootstrap,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    assert model._params().cache_min_rows == rows
    for tree in model.trees_:
        n = tree.n_nodes
        internal = tree.NI[:n, K.LEFT] >= 0
        big = tree.NI[:n, K.NROWS] >= rows
        assert (tree.NI[:n, K.SLOT][internal & big] >= 0).all()
    model.unlearn(X[:3], y[:3])
    model.unlearn(X[10:11], y[10:11])
    assert_same_forests(model, refit(model, X, y, np.r_[0, 1, 2, 10]))


# ------------------------------------------------------------ partial_fit
@settings(max_examples=25, deadline=None)
@given(
    st.booleans(),
    options,
    st.sampled_from([None, "int", "float"]),
    st.lists(st.tuples(st.booleans(), st.integers(1, 6)), min_size=1, max_size=5),
    st.integers(0, 2**16),
)
def test_insertions_and_deletions_interleaved_equal_a_fit(
    classification, opts, weights, steps, seed
):
    # a stream of requests (forget k rows) and partial_fit calls (learn k new
    # rows, in place): after each, the model is the same-seed fit on its
    # current rows, in their order (the retained rows, then the new ones)
    rng = np.random.RandomState(seed)
    n, p = 120, 3
    X = rng.randint(0, 8, size=(n, p)).astype(float)
    X[:, 0] += rng.rand(n).round(2)  # distinct rows
    y = rng.randint(0, 3, n) if classification else rng.randn(n).round(2)
    sw = {None: None, "int": rng.randint(1, 3, n) * 1.0, "float": rng.rand(n) + 0.1}
    sw = sw[weights]
    cls = UnlearningForestClassifier if classification else UnlearningForestRegressor
    est = cls(**opts)
    rows = list(range(40))
    nxt = 40

    def weights_of(idx):
        return None if sw is None else sw[idx]

    model = clone_of(est).fit(X[rows], y[rows], sample_weight=weights_of(rows))
    refits = []
    by_refit = type(model)._learn_rows_by_refit

    def spy(self, *args):
        refits.append(args)
        return by_refit(self, *args)

    for learn, k in steps:
        if learn:
            new = list(range(nxt, min(nxt + k, n)))
            nxt += len(new)
            if not new:
                continue
            # in place, batches too (a fit takes batches of 2% or more)
            with (
                mock.patch("skunlearn.tree._base._REFIT_FRACTION", 1.0),
                mock.patch.object(type(model), "_learn_rows_by_refit", spy),
            ):
                model.partial_fit(X[new], y[new], sample_weight=weights_of(new))
            # a fit only for a class the model has not seen
            new_class = classification and not np.isin(y[new], y[rows]).all()
            assert len(refits) == new_class
            del refits[:]
            rows += new
        else:
            if len(rows) <= k + 2:
                continue
            gone = sorted(rng.choice(len(rows), k, replace=False))
            idx = [rows[i] for i in gone]
            if classification and len(np.unique(y[np.delete(rows, gone)])) < 2:
                continue
            model.unlearn(X[idx], y[idx])
            rows = [r for i, r in enumerate(rows) if i not in set(gone)]
        fresh = clone_of(est).fit(X[rows], y[rows], sample_weight=weights_of(rows))
        assert_same_forests(model, fresh)
        assert_array_equal(model.predict(X), fresh.predict(X))
    assert model.ledger_.n_rows == len(rows)


def clone_of(est):
    return type(est)(**est.get_params())


def test_partial_fit_keeps_history_adds_a_class_and_fits_an_unfitted_model():
    X, y = make_classification(300, 6, n_classes=3, n_informative=4, random_state=0)
    first, later = np.flatnonzero(y < 2), np.flatnonzero(y == 2)
    model = UnlearningForestClassifier(5, max_depth=5, random_state=0)
    model.partial_fit(X[first], y[first])  # unfitted: fit
    assert model.classes_.tolist() == [0, 1]
    model.unlearn(X[first[:1]], y[first[:1]])
    model.partial_fit(X[later], y[later], classes=[0, 1, 2])
    assert model.classes_.tolist() == [0, 1, 2]
    assert len(model.unlearn_history_) == 1
    kept = np.r_[first[1:], later]
    fresh = UnlearningForestClassifier(5, max_depth=5, random_state=0)
    assert_same_forests(model, fresh.fit(X[kept], y[kept]))
    # rows learned later are matched and forgotten as any other
    model.unlearn(X[later[:3]], y[later[:3]])
    kept = np.r_[first[1:], later[3:]]
    assert_same_forests(model, fresh.fit(X[kept], y[kept]))
    with pytest.raises(ValueError, match="not in classes"):
        model.partial_fit(X[:2], np.array([0, 7]), classes=[0, 1, 2])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:2, :3], y[:2])


def test_partial_fit_refuses_changed_parameters_and_keeps_the_model():
    from skunlearn.exceptions import ParametersChangedError

    X, y = make_classification(200, 5, random_state=0)
    model = UnlearningForestClassifier(4, max_depth=4, random_state=0)
    model.fit(X[:150], y[:150]).set_params(max_depth=2)
    before = pickle.dumps(model)
    with pytest.raises(ParametersChangedError):
        model.partial_fit(X[150:], y[150:])
    assert pickle.dumps(model) == before


def test_partial_fit_without_a_random_state_keeps_later_requests_exact():
    X, y = make_classification(300, 5, random_state=1)
    model = UnlearningForestRegressor(4, max_depth=5).fit(X[:200], y[:200])
    model.partial_fit(X[200:], y[200:])
    model.unlearn(X[:3], y[:3])
    fresh = UnlearningForestRegressor(4, max_depth=5, random_state=model.seed_)
    assert_same_forests(model, fresh.fit(X[3:], y[3:]))


def _tree_arrays(model):
    return [[a.copy() for a in (*t.arrays(), t.order, t.meta)] for t in model.trees_]


@pytest.mark.parametrize("fail", ["insert", "after_insert", "interrupt"])
@pytest.mark.parametrize("classification", [True, False])
@pytest.mark.parametrize("learned_before", [False, True])
def test_partial_fit_in_place_is_all_or_nothing(fail, classification, learned_before):
    # a failure, or Ctrl-C, while rows go in (in a chunk's kernel call after
    # other chunks took theirs, or just after its own) leaves every array,
    # the ledger and the attributes as they were; the next call is exact (a
    # failure while the cleared subtrees grow, at the next read: see above).
    # With rows learned before, the trees' orders have room and the rows go
    # into it in place: the undo takes them out again
    from skunlearn.tree import _base

    X, y = make_classification(700, 6, n_informative=4, random_state=2)
    if not classification:
        y = X[:, 0] * 2 + X[:, 1]
    cls = UnlearningForestClassifier if classification else UnlearningForestRegressor
    est = cls(40, max_depth=6, random_state=0, n_jobs=1)  # three chunks of trees
    model = clone_of(est).fit(X[:600], y[:600])
    model.unlearn(X[:2], y[:2])  # erased slots in the ledger and the trees
    if learned_before:
        with mock.patch.object(_base, "_REFIT_FRACTION", 1.0):
            model.partial_fit(X[620:625], y[620:625])
        assert all(t.order_buf is not None for t in model.trees_)
    before = pickle.dumps(model)
    arrays = _tree_arrays(model)
    led = dict(vars(model.ledger_))
    keys = model._row_keys.copy()
    exc = KeyboardInterrupt if fail == "interrupt" else RuntimeError
    calls = []
    original = _base.K.insert_trees
    buffers = [t.order_buf for t in model.trees_]

    def failing(*args):
        calls.append(1)
        if len(calls) == 2:
            if fail == "after_insert":
                original(*args)
            raise exc("injected")
        return original(*args)

    new = np.arange(600, 620)
    with (
        mock.patch.object(_base, "_REFIT_FRACTION", 1.0),
        mock.patch.object(_base.K, "insert_trees", failing),
        pytest.raises(exc, match="injected"),
    ):
        model.partial_fit(X[new], y[new])
    assert len(calls) == 2
    for got, want in zip(_tree_arrays(model), arrays, strict=True):
        for a, b in zip(got, want, strict=True):
            assert_array_equal(a, b, strict=True)
    assert sorted(vars(model.ledger_)) == sorted(led)
    for k, v in led.items():
        if isinstance(v, np.ndarray):
            assert vars(model.ledger_)[k] is v
    assert_array_equal(model._row_keys, keys, strict=True)
    assert not hasattr(model, "_journal") and not hasattr(model, "_scrub")
    assert pickle.dumps(model) == before
    for t, buf in zip(model.trees_, buffers, strict=True):
        assert t.order_buf is buf
        if buf is not None:
            assert t.order is buf[1]  # the next rows go in place again
    with mock.patch.object(_base, "_REFIT_FRACTION", 1.0):
        model.partial_fit(X[new], y[new])
    kept = np.r_[2:600, 620:625, new] if learned_before else np.r_[2:600, new]
    fresh = clone_of(est).fit(X[kept], y[kept])
    assert_same_forests(model, fresh)


@pytest.mark.parametrize("classification", [True, False])
def test_partial_fit_in_place_leaves_a_fresh_fits_state(classification, monkeypatch):
    # rows learned in place, then a request that compacts: the model holds,
    # array for array, what a same-seed fit on its rows holds (ledger, row
    # keys, each tree's nodes, slots and order)
    import sys
    from pathlib import Path

    from skunlearn._ledger import _pinned_fingerprint_key
    from skunlearn.tree import _base

    sys.path.insert(0, str(Path(__file__).parents[1] / "tree"))
    from test_tree import assert_fresh_state

    monkeypatch.setattr(_base, "_REFIT_FRACTION", 1.0)
    monkeypatch.setattr(_base._BaseUnlearningForest, "_compact_min_rows", 10**9)
    X, y = make_classification(900, 6, n_informative=4, random_state=3)
    if not classification:
        y = X[:, 0] * 2 + X[:, 1]
    X = X.round(1)  # repeated values: new rows equal stored candidates
    cls = UnlearningForestClassifier if classification else UnlearningForestRegressor
    est = cls(6, max_depth=8, random_state=1, n_jobs=2)
    model = clone_of(est).fit(X[:800], y[:800])
    for a, b in [(800, 801), (801, 805), (805, 850), (850, 851)]:
        model.partial_fit(X[a:b], y[a:b])
    model.unlearn(X[5:6], y[5:6])  # compacts the rows and every tree
    kept = np.r_[0:5, 6:851]
    with _pinned_fingerprint_key(model.ledger_.fingerprint_key):
        fresh = clone_of(est).fit(X[kept], y[kept])
    assert_fresh_state(model, fresh)


def test_partial_fit_takes_a_fit_where_in_place_would_differ():
    # a new class, fractional weights into integer counts, weights into a
    # model fit without them, or a batch of 2%: the same-seed fit, as before
    from skunlearn.tree._base import _BaseUnlearningForest

    X, y = make_classification(400, 8, n_classes=3, n_informative=4, random_state=4)
    calls = []
    by_refit = _BaseUnlearningForest._learn_rows_by_refit

    def spy(self, *args):
        calls.append(args)
        return by_refit(self, *args)

    first = np.flatnonzero(y[:300] < 2)
    cases = [
        ({}, X[300:301], np.array([2]), {}),
        ({"sample_weight": np.ones(first.size)}, X[300:301], y[300:301],
         {"sample_weight": [0.5]}),
        ({}, X[300:301], y[300:301], {"sample_weight": [2.0]}),
        ({}, X[300:310], y[300:310], {}),
    ]  # fmt: skip
    for fit_kw, Xn, yn, kw in cases:
        model = UnlearningForestClassifier(4, max_depth=5, random_state=0)
        model.fit(X[first], y[first], **fit_kw)
        with mock.patch.object(_BaseUnlearningForest, "_learn_rows_by_refit", spy):
            model.partial_fit(Xn, yn, **kw)
        assert len(calls) == 1
        del calls[:]
        sw = None
        if fit_kw or kw:
            sw = np.r_[fit_kw.get("sample_weight", np.ones(first.size)),
                       kw.get("sample_weight", np.ones(len(yn)))]  # fmt: skip
        fresh = UnlearningForestClassifier(4, max_depth=5, random_state=0)
        fresh.fit(np.r_[X[first], Xn], np.r_[y[first], yn], sample_weight=sw)
        assert_same_forests(model, fresh)
    # a new row of weight zero goes in place (the others carry weight)
    model = UnlearningForestClassifier(4, max_depth=5, random_state=0)
    model.fit(X[first], y[first], sample_weight=np.ones(first.size))
    with mock.patch.object(_BaseUnlearningForest, "_learn_rows_by_refit", spy):
        model.partial_fit(X[300:301], y[300:301], sample_weight=[0.0])
    assert not calls
    fresh = UnlearningForestClassifier(4, max_depth=5, random_state=0).fit(
        np.r_[X[first], X[300:301]],
        np.r_[y[first], y[300:301]],
        sample_weight=np.r_[np.ones(first.size), 0.0],
    )
    assert_same_forests(model, fresh)
    with pytest.raises(ValueError, match="Negative"):
        model.partial_fit(X[301:302], y[301:302], sample_weight=[-1.0])


def test_cleared_subtrees_wait_for_a_read_and_hold_nothing_of_the_rows():
    # a request clears the subtrees whose split changes and leaves their
    # roots waiting: nothing of the forgotten rows stays in the trees
    # meanwhile (the roots' splits, values and slots go at once); the first
    # read (predict, apply, tree_structure, pickling) grows them, exactly
    from skunlearn.tree import _base
    from skunlearn.tree import _kernels as K

    rng = np.random.RandomState(5)
    n = 2500
    X = rng.randn(n, 4)
    y = (X[:, 0] + X[:, 1] * X[:, 2] + 0.5 * rng.randn(n) > 0).astype(int)
    est = UnlearningForestClassifier(6, max_depth=6, random_state=3, n_jobs=2)
    # erased row slots stay (a compaction would grow the subtrees first)
    with mock.patch.object(_base._BaseUnlearningForest, "_compact_min_rows", 0):
        model = clone_of(est).fit(X, y)
        # the rows whose value is a root's threshold: their split goes
        roots = {int(np.flatnonzero(X[:, t.NI[0, K.FEAT]] == t.NF[0, K.THR])[0])
                 for t in model.trees_}  # fmt: skip
        gone = sorted(roots)[:3]
        for i in gone:
            model.unlearn(X[i : i + 1], y[i : i + 1])
        assert model._has_pending()
        values = X[gone].ravel()
        for tree in model.trees_:
            pending = K.pending_nodes(tree.NI, tree.n_nodes)
            assert (tree.NI[pending, K.KIND] == K.PENDING).all()
            assert (tree.NI[pending, K.LEFT] == -1).all()
            n_used = tree.n_nodes
            for arr in (tree.NF[:n_used], tree.NT[:n_used], tree.SD):
                assert not np.isin(arr, values).any()
        keep = np.setdiff1d(np.arange(n), gone)
        fresh = clone_of(est).fit(X[keep], y[keep])
        # each read grows them first
        for read in (
            lambda m: m.predict_proba(X),
            lambda m: m.apply(X),
            lambda m: [m.tree_structure(t) for t in range(6)],
            lambda m: m.feature_importances_,
            lambda m: pickle.loads(pickle.dumps(m)).predict_proba(X),
        ):
            m = clone_of(est).fit(X, y)
            for i in gone:
                m.unlearn(X[i : i + 1], y[i : i + 1])
            assert m._has_pending()
            got = read(m)
            assert not m._has_pending()
            if isinstance(got, np.ndarray) and got.shape == (n, 2):
                assert_array_equal(got, fresh.predict_proba(X))
            assert_same_forests(m, fresh)
        assert "_pending" not in vars(m)


def test_readers_on_threads_grow_what_requests_left_and_see_whole_states():
    # a deletion and an insertion on two threads while two others read
    # (predict_proba, apply): the reads grow the subtrees the requests
    # cleared, and each read sees a whole state (before, after either
    # request, after both), never one with subtrees waiting or half grown
    import sys
    import threading

    from skunlearn.tree import _base

    X, y = make_classification(4000, 6, n_informative=4, random_state=7)
    est = UnlearningForestClassifier(12, max_depth=7, random_state=0, n_jobs=2)
    with (
        mock.patch.object(_base._BaseUnlearningForest, "_compact_min_rows", 0),
        mock.patch.object(_base, "_REFIT_FRACTION", 1.0),
        mock.patch.object(_base, "_GROW_ALONE_ROWS", 0),
    ):
        model = clone_of(est).fit(X[:3800], y[:3800])
        gone, new = np.arange(0, 40), np.arange(3800, 3830)
        states = []
        for rows in ([], ["gone"], ["new"], ["gone", "new"]):
            kept = np.arange(3800)
            if "gone" in rows:
                kept = kept[40:]
            if "new" in rows:
                kept = np.r_[kept, new]
            states.append(clone_of(est).fit(X[kept], y[kept]).predict_proba(X))
        errors, seen = [], []
        start = threading.Barrier(4)
        done = threading.Event()

        def run(fn):
            try:
                start.wait()
                fn()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def reader(method):
            def loop():
                while not done.is_set():
                    out = getattr(model, method)(X)
                    if method == "predict_proba":
                        seen.append(out)

            return loop

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)
        try:
            writers = [
                threading.Thread(target=run, args=(lambda: model.unlearn(X[gone]),)),
                threading.Thread(
                    target=run, args=(lambda: model.partial_fit(X[new], y[new]),)
                ),
            ]
            readers = [
                threading.Thread(target=run, args=(reader(m),))
                for m in ("predict_proba", "apply")
            ]
            for t in (*writers, *readers):
                t.start()
            for t in writers:
                t.join()
            done.set()
            for t in readers:
                t.join()
        finally:
            sys.setswitchinterval(interval)
        assert not errors, errors
        assert seen
        for out in seen:
            assert any(np.array_equal(out, s) for s in states)
        assert_array_equal(model.predict_proba(X), states[3])
        assert not model._has_pending()


@pytest.mark.parametrize("classification", [True, False])
def test_partial_fit_plain_arrays_skip_only_what_validation_returns_as_is(
    classification, monkeypatch
):
    # finite float64 rows and a 1-D array of finite targets skip scikit-learn's
    # validation (it would return them unchanged); the model is the one that
    # lists of the same rows and targets, validated, make, and bad plain
    # arrays get validation's errors
    from skunlearn.tree import _base

    monkeypatch.setattr(_base, "_REFIT_FRACTION", 1.0)
    X, y = make_classification(400, 6, n_informative=4, random_state=4)
    if not classification:
        y = X[:, 0] * 2 + X[:, 1]
    cls = UnlearningForestClassifier if classification else UnlearningForestRegressor
    plain = cls(5, max_depth=6, random_state=0, n_jobs=1).fit(X[:300], y[:300])
    listed = pickle.loads(pickle.dumps(plain))
    assert plain._plain_new_rows(X[300:303], y[300:303])
    assert not plain._plain_new_rows(X[300:303].tolist(), y[300:303])
    assert not plain._plain_new_rows(X[300:303, :5], y[300:303])
    assert not plain._plain_new_rows(X[300:303], y[300:303, None])
    for a, b in [(300, 301), (301, 305), (305, 306)]:
        plain.partial_fit(X[a:b], y[a:b])
        listed.partial_fit(X[a:b].tolist(), y[a:b].tolist())
    assert plain.ledger_.n_rows == 306
    assert_same_forests(plain, listed)
    bad_y = np.array([np.nan])
    with pytest.raises(ValueError, match="Input y contains NaN"):
        plain.partial_fit(X[306:307], bad_y)
    bad_X = X[306:307].copy()
    bad_X[0, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        plain.partial_fit(bad_X, y[306:307])
    assert plain.ledger_.n_rows == 306


@pytest.mark.parametrize("classification", [True, False])
def test_requests_take_a_second_thread_only_for_enough_tree_rows(
    monkeypatch, classification
):
    # a second thread pays off only above _THREADED_MIN_WORK tree rows (a
    # row in each tree that holds it): a 1-row request into few trees runs
    # on this thread, a larger one on n_jobs threads; both stay exact
    from skunlearn.tree import _base

    X, y = make_classification(900, 6, n_informative=4, random_state=3)
    if not classification:
        y = X[:, 0] * 2 + X[:, 1]
    cls = UnlearningForestClassifier if classification else UnlearningForestRegressor
    model = cls(60, max_depth=6, max_samples=0.3, random_state=0, n_jobs=2)
    model.fit(X[:800], y[:800])
    monkeypatch.setattr(_base, "_REFIT_FRACTION", 1.0)  # never a refit
    calls = []
    run_phases = _base._BaseUnlearningForest._run_phases

    def spy(self, phase_a, tasks, data, n_threads):
        # the requests' phases (not the growth of cleared subtrees, which a
        # read runs before partial_fit: it has its own rule)
        name = getattr(getattr(phase_a, "func", None), "__name__", "")
        if name in ("_phase_a", "_phase_insert"):
            calls.append((sum(len(rows) for _, _, rows in tasks), n_threads))
        return run_phases(self, phase_a, tasks, data, n_threads)

    monkeypatch.setattr(_base._BaseUnlearningForest, "_run_phases", spy)
    model.unlearn(X[:1], y[:1])
    model.unlearn(X[1:21], y[1:21])
    model.partial_fit(X[800:801], y[800:801])
    model.partial_fit(X[801:821], y[801:821])
    (one, n1), (many, n2), (one_in, n3), (many_in, n4) = calls
    assert one <= _base._THREADED_MIN_WORK < many
    assert one_in <= _base._THREADED_MIN_WORK < many_in
    assert (n1, n2, n3, n4) == (1, 2, 1, 2)
    keep = np.r_[21:821]
    gold = cls(**model.get_params()).fit(X[keep], y[keep])
    assert_same_forests(model, gold)
