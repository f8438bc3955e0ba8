"""The forgetting transaction, for every family: all or nothing, serialized,
readers see whole requests, retries are recognised, parameters are honest.

Each case is a small fitted model of one family. The checks inject faults at
every stage of ``unlearn`` (validation, matching, planning, the ledger's
removal, the publication, the record, the commit), as exceptions, as
KeyboardInterrupts and as a real SIGINT, and compare the model's pickled
bytes with those from before; they run two writer threads and a reader
thread against one model; and they change parameters before a request.
"""

import os
import pickle
import signal
import sys
import threading
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from skunlearn import Unlearnable
from skunlearn._commit import model_lock
from skunlearn._ledger import TrainingLedger, _pinned_fingerprint_key
from skunlearn.base import UnlearningMixin
from skunlearn.cluster import DCKMeans
from skunlearn.ensemble import (
    SISAClassifier,
    SISARegressor,
    UnlearningForestClassifier,
    UnlearningForestRegressor,
)
from skunlearn.exceptions import ParametersChangedError, UnknownRowsError
from skunlearn.pipeline import Pipeline as UPipeline
from skunlearn.tree import UnlearningTreeClassifier

RNG = np.random.RandomState(0)
X_CLF = RNG.randn(120, 4)
Y_CLF = (X_CLF[:, 0] + 0.5 * RNG.randn(120) > 0).astype(int)
Y_REG = X_CLF @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * RNG.randn(120)


def _cases():
    clf, reg = (X_CLF, Y_CLF), (X_CLF, Y_REG)
    return {
        "ridge": (lambda: Unlearnable(Ridge(alpha=0.5)), reg),
        "linear": (lambda: Unlearnable(LinearRegression()), reg),
        "logistic": (lambda: Unlearnable(LogisticRegression(tol=1e-10)), clf),
        "gaussian_nb": (lambda: Unlearnable(GaussianNB()), clf),
        "knn": (lambda: Unlearnable(KNeighborsClassifier(3)), clf),
        "scaler_ridge": (
            lambda: Unlearnable(make_pipeline(StandardScaler(), Ridge())),
            reg,
        ),
        "search": (
            lambda: Unlearnable(GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=3)),
            reg,
        ),
        "retrain": (
            lambda: Unlearnable(DecisionTreeClassifier(random_state=0)),
            clf,
        ),
        "pipeline": (
            lambda: UPipeline([("s", StandardScaler()), ("m", Ridge())]),
            reg,
        ),
        "tree": (lambda: UnlearningTreeClassifier(random_state=0), clf),
        "forest_clf": (
            lambda: UnlearningForestClassifier(n_estimators=5, random_state=0),
            clf,
        ),
        "forest_reg": (
            lambda: UnlearningForestRegressor(n_estimators=5, random_state=0),
            reg,
        ),
        "native": (
            lambda: Unlearnable(UnlearningForestClassifier(5, random_state=0)),
            clf,
        ),
        "sisa_clf": (
            lambda: SISAClassifier(
                LogisticRegression(), n_shards=3, random_state=0, n_jobs=1
            ),
            clf,
        ),
        "sisa_reg": (
            lambda: SISARegressor(Ridge(), n_shards=3, random_state=0, n_jobs=1),
            reg,
        ),
        "dc_kmeans": (lambda: DCKMeans(n_clusters=3, random_state=0), (X_CLF, None)),
    }


CASES = _cases()


def _fitted(name):
    make, (X, y) = CASES[name]
    model = make()
    model.fit(X, y) if y is not None else model.fit(X)
    return model, X, y


def _output(model, X):
    for method in ("predict_proba", "predict"):
        if hasattr(model, method):
            return getattr(model, method)(X)
    raise AssertionError(f"{type(model).__name__} has no prediction method")


def _ledger_owner(model):
    # The model whose ledger the request goes through (Unlearnable over a
    # skunlearn model delegates to it).
    inner = model.__dict__.get("estimator_")
    if "ledger_" not in model.__dict__ and isinstance(inner, UnlearningMixin):
        return inner
    return model


class _Boom(Exception):
    pass


# Stages of a request, each a (class, method name) to break, found on the
# model at hand. "after" breaks the stage once it has done its work.
def _stages(model):
    owner = _ledger_owner(model)
    cls = type(owner)
    stages = [
        ("validate", cls, "_validate_forget_data", "before"),
        ("match", TrainingLedger, "match", "before"),
        ("plan", cls, "_unlearn", "before"),
        ("plan_done", cls, "_unlearn", "after"),
        ("ledger_remove", TrainingLedger, "remove", "before"),
        # inside the removal, after it erased the rows in place
        ("ledger_erased", TrainingLedger, "needs_compaction", "before"),
    ]
    return stages


def _break(monkeypatch, cls, name, when, exc):
    original = getattr(cls, name)

    def broken(*args, **kwargs):
        if when == "before":
            raise exc
        original(*args, **kwargs)
        raise exc

    monkeypatch.setattr(cls, name, broken)


def _forget_rows(X):
    return X[[3, 40, 77]]


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("exc", [_Boom("injected"), KeyboardInterrupt()])
def test_fault_at_every_stage_leaves_model_as_before(name, exc, monkeypatch):
    model, X, y = _fitted(name)
    expected = _output(model, X)  # first, as predictions may warm a cache
    before = pickle.dumps(model)
    for stage, cls, method, when in _stages(model):
        with monkeypatch.context() as m:
            _break(m, cls, method, when, exc)
            with pytest.raises(type(exc)):
                model.unlearn(_forget_rows(X), request_id="r1")
        assert pickle.dumps(model) == before, f"{name}: changed by a fault at {stage}"
    np.testing.assert_array_equal(_output(model, X), expected)
    # and the request still goes through afterwards
    model.unlearn(_forget_rows(X), request_id="r1")
    assert _ledger_owner(model).ledger_.n_rows == X.shape[0] - 3


class _FailingHistory(list):
    """A history whose next append raises (the record is the commit point)."""

    def __init__(self, items, exc):
        super().__init__(items)
        self.exc = exc

    def append(self, item):
        raise self.exc


@pytest.mark.parametrize("name", sorted(CASES))
def test_fault_at_the_record_rolls_back(name):
    model, X, _ = _fitted(name)
    owner = _ledger_owner(model)
    history = owner.unlearn_history_
    before = pickle.dumps(model)
    owner.unlearn_history_ = _FailingHistory(history, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        model.unlearn(_forget_rows(X))
    owner.unlearn_history_ = history
    assert pickle.dumps(model) == before


def _sigint_inside(monkeypatch, cls, name):
    original = getattr(cls, name)

    def interrupted(*args, **kwargs):
        out = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(cls, name, interrupted)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("name", sorted(CASES))
def test_sigint_during_publication_rolls_back(name, monkeypatch):
    # A real Ctrl-C that arrives while the state is swapped (before the
    # record) is held back, then the swap is undone and it propagates.
    model, X, _ = _fitted(name)
    before = pickle.dumps(model)
    handler = signal.getsignal(signal.SIGINT)
    with monkeypatch.context() as m:
        _sigint_inside(m, TrainingLedger, "remove")
        with pytest.raises(KeyboardInterrupt):
            model.unlearn(_forget_rows(X), request_id="r1")
    assert signal.getsignal(signal.SIGINT) is handler
    assert pickle.dumps(model) == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_after_the_record_stands_and_retry_is_recognised(monkeypatch):
    # The forest commits in-place actions after the record: an interrupt
    # there lets the request stand (the history says so); retrying the same
    # request id warns and changes nothing.
    model, X, y = _fitted("forest_clf")
    handler = signal.getsignal(signal.SIGINT)
    original = type(model)._erase

    def erase(self, rows):
        os.kill(os.getpid(), signal.SIGINT)
        original(self, rows)

    with monkeypatch.context() as m:
        m.setattr(type(model), "_erase", erase)
        with pytest.raises(KeyboardInterrupt):
            model.unlearn(_forget_rows(X), request_id="GDPR-1")
    assert signal.getsignal(signal.SIGINT) is handler
    assert model.unlearn_history_[-1]["request_id"] == "GDPR-1"
    assert model.ledger_.n_rows == X.shape[0] - 3
    after = pickle.dumps(model)
    with pytest.warns(UserWarning, match="applied already"):
        model.unlearn(_forget_rows(X), request_id="GDPR-1")
    assert pickle.dumps(model) == after
    # the same rows under another id, or without one, are unknown rows
    with pytest.raises(UnknownRowsError):
        model.unlearn(_forget_rows(X), request_id="GDPR-2")
    with pytest.raises(UnknownRowsError):
        model.unlearn(_forget_rows(X))


def test_retry_never_skips_rows_still_present():
    model, X, y = _fitted("ridge")
    model.unlearn(X[[1, 2]], request_id="req")
    # one row gone, one still present: not a retry, an error
    with pytest.raises(UnknownRowsError):
        model.unlearn(X[[2, 5]], request_id="req")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.unlearn(X[[5]], request_id="req")  # present rows are forgotten
    assert model.ledger_.n_rows == X.shape[0] - 3


@pytest.mark.parametrize(
    "name",
    ["ridge", "logistic", "knn", "forest_clf", "sisa_clf", "pipeline", "native"],
)
def test_two_writers_and_a_reader(name):
    # Two threads forget two disjoint sets of rows from one model while a
    # third predicts: both requests land (no lost update), and every
    # prediction is the one of a whole state (before, after either, after
    # both), never of a half-applied request.
    model, X, y = _fitted(name)
    a, b = [3, 10], [40, 41]
    states = []
    for rows in ([], a, b, a + b):
        m = pickle.loads(pickle.dumps(model))
        if rows:
            m.unlearn(X[rows])
        states.append(_output(m, X))
    errors, seen = [], []
    start = threading.Barrier(3)
    done = threading.Event()

    def writer(rows):
        try:
            start.wait()
            model.unlearn(X[rows])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader():
        try:
            start.wait()
            while not done.is_set():
                seen.append(_output(model, X))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=writer, args=(r,)) for r in (a, b)]
        rt = threading.Thread(target=reader)
        for t in (*threads, rt):
            t.start()
        for t in threads:
            t.join()
        done.set()
        rt.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
    assert _ledger_owner(model).ledger_.n_rows == X.shape[0] - 4
    # a warm-started solver reaches the optimum to its tolerance, along a
    # path that depends on the order of the requests
    tol = {"rtol": 1e-5, "atol": 1e-6} if name == "logistic" else {"rtol": 1e-9}
    np.testing.assert_allclose(_output(model, X), states[3], **tol)
    assert seen
    for out in seen:
        assert any(np.allclose(out, s, **tol) for s in states), (
            f"{name}: a prediction matched no whole state"
        )


@pytest.mark.parametrize(
    "name", ["forest_clf", "tree", "sisa_clf", "dc_kmeans", "pipeline"]
)
def test_set_params_then_unlearn_refuses(name):
    model, X, _ = _fitted(name)
    param = {
        "forest_clf": {"max_depth": 2},
        "tree": {"max_depth": 2},
        "sisa_clf": {"n_shards": 2},
        "dc_kmeans": {"n_clusters": 2},
        "pipeline": {"m__alpha": 7.0},
    }[name]
    before = pickle.dumps(model)
    model.set_params(**param)
    with pytest.raises(ParametersChangedError, match=list(param)[0]):
        model.unlearn(X[: len(X) // 2])
    # nothing changed but the parameter the caller set
    model.set_params(**_original(name, param))
    assert pickle.dumps(model) == before
    model.unlearn(X[[1]])  # with the parameters back, requests go through


def _original(name, param):
    make, _ = CASES[name]
    params = make().get_params(deep=True)
    return {k: params[k] for k in param}


@pytest.mark.parametrize("name", ["forest_clf", "sisa_clf"])
def test_execution_parameters_may_change(name):
    model, X, _ = _fitted(name)
    model.set_params(n_jobs=2)
    model.unlearn(X[[1]])
    assert model.ledger_.n_rows == X.shape[0] - 1


def test_unlearnable_requests_use_the_fit_parameters():
    # Unlearnable downdates and refits its fitted clone: a template changed
    # by set_params after fit changes nothing a request does.
    for name, param in (("ridge", {"estimator__alpha": 3.0}), ("retrain", {})):
        model, X, y = _fitted(name)
        if name == "retrain":
            param = {"estimator__max_depth": 1}
        model.set_params(**param)
        model.unlearn(X[[1, 2]])
        make, _ = CASES[name]
        keep = np.delete(np.arange(len(X)), [1, 2])
        gold = make().fit(X[keep], y[keep]) if name == "retrain" else None
        if gold is not None:
            np.testing.assert_array_equal(model.predict(X), gold.predict(X))
        else:
            gold = Ridge(alpha=0.5).fit(X[keep], y[keep])
            np.testing.assert_allclose(model.coef_, gold.coef_, rtol=1e-9)


def test_native_history_is_the_models_own():
    model, X, _ = _fitted("native")
    model.unlearn(X[[1, 2]], request_id="a")
    assert model.unlearn_history_ is model.estimator_.unlearn_history_
    assert [r["request_id"] for r in model.unlearn_history_] == ["a"]


@pytest.mark.parametrize("kind", ["dataframe", "sparse", "array"])
def test_training_rows_are_copied_not_referenced(kind):
    pd = pytest.importorskip("pandas")
    import scipy.sparse as sp

    X = np.abs(X_CLF[:60]).round(2)
    y = Y_CLF[:60]
    if kind == "dataframe":
        data = pd.DataFrame(X.copy(), columns=list("abcd"))  # pandas 2 would view X
    elif kind == "sparse":
        data = sp.csr_matrix(X)
    else:
        data = X.copy()
    model = Unlearnable(DecisionTreeClassifier(random_state=0)).fit(data, y)
    # the caller mutates its data after fit
    if kind == "dataframe":
        data.iloc[:, :] = 0.0
    elif kind == "sparse":
        data.data[:] = 0.0
    else:
        data[:] = 0.0
    model.unlearn(
        X[[0]] if kind != "dataframe" else pd.DataFrame(X[[0]], columns=list("abcd"))
    )
    gold = DecisionTreeClassifier(random_state=0).fit(X[1:], y[1:])
    np.testing.assert_array_equal(model.predict(X), gold.predict(X))


def _assert_same_ledger(ledger, fresh, where):
    a, b = ledger.__getstate__(), fresh.__getstate__()
    assert a.keys() == b.keys(), where
    for key in a:
        x, z = a[key], b[key]
        if isinstance(x, dict):
            assert x.keys() == z.keys(), (where, key)
            for k in x:
                np.testing.assert_array_equal(x[k], z[k], err_msg=f"{where}: {key}")
        elif hasattr(x, "iloc"):  # a DataFrame of kept rows
            assert x.equals(z), (where, key)
        elif isinstance(x, np.ndarray) or isinstance(z, np.ndarray):
            assert type(x) is type(z), (where, key)
            np.testing.assert_array_equal(x, z, err_msg=f"{where}: {key}")
            assert x.dtype == z.dtype, (where, key)
        else:
            assert x == z, (where, key)


# Families whose ledgers compact by themselves. The nets, DC-k-means and the
# trees renumber their own per-row state (tests/test_no_trace.py).
_SELF_COMPACTING = [
    "ridge",
    "linear",
    "logistic",
    "gaussian_nb",
    "knn",
    "scaler_ridge",
    "search",
    "retrain",
    "pipeline",
    "sisa_clf",
    "sisa_reg",
]


@pytest.mark.parametrize("name", _SELF_COMPACTING)
def test_ledger_equals_a_fresh_fits(name):
    # After forgetting (the first and the last rows included, and a row
    # with a duplicate), the ledger is, field by field, the ledger of a fresh
    # fit on the retained rows: no dead slot, no position remembered, no
    # forgotten fingerprint overwritten by a neighbour's.
    make, (X, y) = CASES[name]
    X = np.vstack([X, X[[5]]])  # row 5 twice: forgetting it keeps one copy
    y = None if y is None else np.concatenate([y, y[[5]]])
    model = make().fit(X, y)
    gone = []
    for rows in ([0], [5, 17, 18], [len(X) - 1], [60, 61, 62, 90]):
        model.unlearn(X[rows])
        gone += rows
        keep = np.setdiff1d(np.arange(len(X)), gone)
        # under the model's fingerprint key (each fit draws its own)
        with _pinned_fingerprint_key(model.ledger_.fingerprint_key):
            fresh = make().fit(X[keep], None if y is None else y[keep])
        _assert_same_ledger(model.ledger_, fresh.ledger_, f"{name} after {gone}")
        assert model.ledger_.n_stored == model.ledger_.n_rows


def test_large_ledger_defers_then_saves_compacted():
    # A large ledger keeps a few erased slots in memory (compacting 2**16 rows
    # per one-row request would cost far more than the request); a saved
    # model never holds them, and enough of them compact at once.
    from skunlearn import _ledger

    n = _ledger._DEFER_MIN_ROWS
    rng = np.random.RandomState(1)
    X = rng.randn(n, 3)
    y = rng.randn(n)
    model = Unlearnable(Ridge()).fit(X, y)
    model.unlearn(X[[7]])
    assert model.ledger_.n_stored == n and model.ledger_.n_rows == n - 1
    saved = pickle.loads(pickle.dumps(model))
    assert saved.ledger_.n_stored == n - 1
    keep = np.delete(np.arange(n), 7)
    with _pinned_fingerprint_key(model.ledger_.fingerprint_key):
        fresh = Unlearnable(Ridge()).fit(X[keep], y[keep])
    _assert_same_ledger(saved.ledger_, fresh.ledger_, "saved")
    _assert_same_ledger(model.ledger_, fresh.ledger_, "in memory, as saved")
    # the live model's arrays are untouched by saving, and keep working
    model.unlearn(X[[8, 9]])
    # past 1/64 of the rows erased, the ledger compacts at once
    model.unlearn(X[10 : 10 + n // 64])
    assert model.ledger_.n_stored == model.ledger_.n_rows


def test_a_joblib_worker_that_dies_leaves_the_model_as_before(tmp_path):
    # SISA retrains shards in joblib worker processes; one of them dies
    # (os._exit) in the middle of a request. joblib raises, and the model is
    # exactly as before; the request goes through once the workers are sane.
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    from tests._helpers.dying import DyingClassifier

    kill = tmp_path / "kill"
    model = SISAClassifier(
        DyingClassifier(kill_file=str(kill)), n_shards=4, random_state=0, n_jobs=1
    ).fit(X_CLF, Y_CLF)
    model.set_params(n_jobs=2)  # workers only for the request (they start slowly)
    before = pickle.dumps(model)
    kill.touch()
    with pytest.raises(TerminatedWorkerError):
        model.unlearn(X_CLF[[1, 50, 90, 110]])
    assert pickle.dumps(model) == before
    kill.unlink()
    model.set_params(n_jobs=1)
    model.unlearn(X_CLF[[1, 50, 90, 110]])
    assert model.ledger_.n_rows == X_CLF.shape[0] - 4


def test_nested_read_while_a_writer_waits_does_not_deadlock():
    # predict calling predict_proba on the same model reads twice; a writer
    # that starts waiting in between must not block the inner read (it waits
    # for the outer one, which waits for the inner one).
    import time

    from skunlearn._commit import ModelLock

    lock, events = ModelLock(), []

    def reader():
        with lock.shared():
            time.sleep(0.2)
            with lock.shared():
                events.append("inner read")

    def writer():
        time.sleep(0.05)
        with lock.exclusive():
            events.append("write")

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert events == ["inner read", "write"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_reordered_dataframe_columns_are_the_same_rows(name):
    # The Python API accepts what the CLI accepts: the training columns in
    # another order are the same rows (matched by content, column by column).
    pd = pytest.importorskip("pandas")
    make, (X, y) = CASES[name]
    columns = [f"c{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    a, b = make(), make()
    for model in (a, b):
        model.fit(frame, y) if y is not None else model.fit(frame)
    forget = frame.iloc[[3, 17, 40]]
    a.unlearn(forget)
    b.unlearn(forget[columns[::-1]])
    np.testing.assert_array_equal(_output(a, frame), _output(b, frame))
    # Missing or extra columns are still refused, naming them; nothing changes.
    before = pickle.dumps(b)
    with pytest.raises(ValueError, match="c0|feature names"):
        b.unlearn(frame.iloc[[5]].drop(columns="c0"))
    with pytest.raises(ValueError, match="extra|feature names|unexpected"):
        b.unlearn(frame.iloc[[5]].assign(extra=1.0))
    assert pickle.dumps(b) == before


@pytest.mark.parametrize("name", sorted(CASES))
def test_planning_a_request_changes_no_attribute_readers_see(name, monkeypatch):
    # Readers run while a request is planned (they wait only for its commit):
    # until the commit, the model's attributes stay exactly as they were (no
    # attribute added, removed or rebound). A family keeping a request's
    # runtime state in its attributes made readers fail with "dictionary
    # changed size during iteration" (SISA's checkpoint transaction).
    model, X, y = _fitted(name)
    owner = _ledger_owner(model)  # the model the request is published on

    def attributes():
        return [{k: id(v) for k, v in vars(m).items()} for m in (model, owner)]

    before = attributes()
    seen = []
    publish = UnlearningMixin._publish

    def checked(self, *args, **kwargs):
        if self is owner:
            # a family whose request holds the exclusive side from its start
            # (the forests, which update their trees in place) keeps readers
            # out all along: its attributes may change
            held = model_lock(self)._owner == threading.get_ident()
            seen.append(None if held else attributes())
        return publish(self, *args, **kwargs)

    monkeypatch.setattr(UnlearningMixin, "_publish", checked)
    rows = [3, 10]
    if y is None:
        model.unlearn(X[rows])
    else:
        model.unlearn(X[rows], y[rows])
    assert seen, "the request was not published through the model"
    assert seen[0] is None or seen[0] == before
