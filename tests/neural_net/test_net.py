"""Approximate unlearning for skorch nets: contract, methods, sklearn citizenship."""

import copy
import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from skunlearn._ledger import (  # noqa: E402
    TrainingLedger,
    _pinned_fingerprint_key,
    row_fingerprints,
)
from skunlearn.exceptions import ForgetAllRowsError, UnknownRowsError  # noqa: E402
from skunlearn.neural_net import (  # noqa: E402
    SCRUB,
    NegGradPlus,
    ResetRepair,
    UncalibratedUnlearningWarning,
    UnlearningNeuralNetClassifier,
    UnlearningNeuralNetRegressor,
    membership_auc,
)
from skunlearn.neural_net._methods import METHODS  # noqa: E402
from skunlearn.utils.estimator_checks import (  # noqa: E402
    assert_no_residue,
    check_unknown_rows_leave_model_unchanged,
    check_unlearning,
)

CLF_METHODS = [m for m, c in METHODS.items() if "classification" in c.tasks]
REG_METHODS = [m for m, c in METHODS.items() if "regression" in c.tasks]


def _mlp(d_in, d_out, width=64):
    return torch.nn.Sequential(
        torch.nn.Linear(d_in, width), torch.nn.ReLU(), torch.nn.Linear(width, d_out)
    )


def _clf(width=256, **params):
    params = {
        "criterion": torch.nn.CrossEntropyLoss,
        "optimizer": torch.optim.Adam,
        "lr": 0.01,
        "max_epochs": 60,
        "batch_size": 64,
        "verbose": 0,
        "iterator_train__shuffle": True,
        **params,
    }
    return UnlearningNeuralNetClassifier(_mlp(10, 3, width), **params)


def _data(n=400, seed=0):
    # Noisy labels so that the net memorises its training rows: forget rows
    # then stand out from never-seen rows, as in the overfit setting.
    X, y = make_classification(
        n_samples=n + 200,
        n_features=10,
        n_informative=6,
        n_classes=3,
        flip_y=0.15,
        random_state=seed,
    )
    X = X.astype(np.float32)
    y = y.astype(np.int64)
    return X[:n], y[:n], X[n:], y[n:]


@pytest.fixture(scope="module")
def task():
    X, y, X_te, y_te = _data()
    torch.manual_seed(0)
    net = _clf().fit(X, y)
    rng = np.random.RandomState(0)
    # forget rows the net trained on (not in skorch's validation split)
    trained = np.setdiff1d(np.arange(len(X)), net.calib_rows_)
    forget = np.sort(rng.choice(trained, 40, replace=False))
    return {"net": net, "X": X, "y": y, "X_te": X_te, "y_te": y_te, "forget": forget}


def _row_loss(net, X, y):
    p = np.clip(net.predict_proba(X), 1e-12, 1)
    return -np.log(p[np.arange(len(y)), y])


def _acc(net, X, y):
    return float((net.predict(X) == y).mean())


@pytest.mark.parametrize("method", CLF_METHODS)
def test_each_method_forgets_or_rolls_back(task, method):
    net0, X, y, f = task["net"], task["X"], task["y"], task["forget"]
    X_te, y_te = task["X_te"], task["y_te"]
    # no time budget: on this tiny task 8% of the training time is a few ms
    net = copy.deepcopy(net0).set_params(
        unlearn_method=method, unlearn_method__max_seconds=60.0
    )
    assert net.unlearn(X[f], y[f]) is net
    auc0 = membership_auc(_row_loss(net0, X[f], y[f]), _row_loss(net0, X_te, y_te))
    auc1 = membership_auc(_row_loss(net, X[f], y[f]), _row_loss(net, X_te, y_te))
    record = net.unlearn_history_[-1]
    details = record["details"]
    assert record["exact"] is False and record["strategy"] == "neural_net"
    assert details["method"] == method
    assert details["calibrated"] is True
    assert auc0 > 0.65
    # forget accuracy never rises; test accuracy stays within the guard's
    # tolerance and the noise of 80 calibration rows
    assert _acc(net, X[f], y[f]) <= _acc(net0, X[f], y[f])
    assert _acc(net, X_te, y_te) >= _acc(net0, X_te, y_te) - 0.1
    stopped = details["stopped_by"] or ""
    if stopped.startswith(("utility", "over-forgetting")):
        # At their defaults the aggressive methods (SCRUB, bad teacher,
        # SalUn, random labels) usually over-forget or lose accuracy on this
        # tiny noisy task: the guard stops them and keeps the best state
        # seen. A method that reaches its target first (which one does
        # depends on the machine's float arithmetic) is held to the marks
        # below. The guard's firing is tested on its own further down.
        assert details["rolled_back"] and details["kept_epoch"] < details["epochs"]
        if details["kept_epoch"] == 0:
            for k, v in net.module_.state_dict().items():
                assert torch.equal(v, net0.module_.state_dict()[k])
        return
    # The forget rows move toward never-seen rows: their loss goes up and the
    # membership AUC goes down toward the gold standard's 0.5; fine-tuning
    # methods only forget by drifting (as the literature reports).
    assert auc1 < auc0 - (0.02 if method in ("finetune", "l1_sparse") else 0.1), (
        auc0,
        auc1,
    )
    assert _row_loss(net, X[f], y[f]).mean() > _row_loss(net0, X[f], y[f]).mean()


def test_class_forgetting_removes_the_class(task):
    X, y, X_te, y_te = task["X"], task["y"], task["X_te"], task["y_te"]
    net = copy.deepcopy(task["net"]).set_params(unlearn_method__max_seconds=60.0)
    gone = y == 2
    net.unlearn(X[gone], y[gone])
    assert _acc(net, X[gone], y[gone]) <= 0.05
    keep_te = y_te != 2
    assert (
        _acc(net, X_te[keep_te], y_te[keep_te])
        >= _acc(task["net"], X_te[keep_te], y_te[keep_te]) - 0.1
    )
    assert net.unlearn_history_[-1]["details"]["target_reached"]


@pytest.mark.parametrize("method", REG_METHODS)
def test_regressor_methods(method):
    X, y = make_regression(n_samples=300, n_features=8, noise=20.0, random_state=0)
    X = X.astype(np.float32)
    y = (y / y.std()).astype(np.float32).reshape(-1, 1)
    torch.manual_seed(0)
    net0 = UnlearningNeuralNetRegressor(
        _mlp(8, 1, 128),
        optimizer=torch.optim.Adam,
        lr=0.01,
        max_epochs=150,
        verbose=0,
        unlearn_method=method,
    ).fit(X[:200], y[:200])
    trained = np.setdiff1d(np.arange(200), net0.calib_rows_)
    f = trained[:30]
    net = copy.deepcopy(net0).set_params(unlearn_method__max_seconds=60.0)
    net.unlearn(X[f])
    mse = lambda m, a, b: float(((m.predict(a) - b) ** 2).mean())  # noqa: E731
    details = net.unlearn_history_[-1]["details"]
    assert details["method"] == method
    assert mse(net, X[200:], y[200:]) < 2 * mse(net0, X[200:], y[200:]) + 0.1
    if details["rolled_back"] and details["kept_epoch"] == 0:
        # relabelling overshoots in its first epoch here: the forget rows
        # came out worse fitted than unseen rows, and the guard undid it
        assert details["stopped_by"].startswith("over-forgetting")
        assert mse(net, X[f], y[f]) == mse(net0, X[f], y[f])
    else:
        assert mse(net, X[f], y[f]) > mse(net0, X[f], y[f])


def test_regressor_float64_input_matches_by_given_values():
    X, y = make_regression(n_samples=120, n_features=4, random_state=0)
    net = UnlearningNeuralNetRegressor(_mlp(4, 1), max_epochs=3, verbose=0).fit(
        X, y.reshape(-1, 1)
    )
    assert net.retain_X_.dtype == np.float32
    # float64 rows and targets, as given to fit, are found and forgotten
    net.unlearn(X[50:60], y[50:60].reshape(-1, 1))
    assert net.ledger_.n_rows == 110
    assert net.predict(X).shape == (120, 1)


def test_classifier_only_method_on_regressor_raises_unchanged():
    X, y = make_regression(n_samples=100, n_features=4, random_state=0)
    X, y = X.astype(np.float32), y.astype(np.float32).reshape(-1, 1)
    net = UnlearningNeuralNetRegressor(
        _mlp(4, 1), max_epochs=2, verbose=0, unlearn_method="scrub"
    ).fit(X, y)
    before = pickle.dumps(net)
    with pytest.raises(ValueError, match="does not apply to regression"):
        net.unlearn(X[:3])
    assert pickle.dumps(net) == before


# ------------------------------------------------------------------ contract
def test_contract_checks(task):
    X, y = task["X"][:150], task["y"][:150]
    torch.manual_seed(0)
    est = _clf(max_epochs=20, unlearn_method__max_epochs=3)
    result = check_unlearning(est, X, y, forget=12)
    assert result["unlearned"].unlearning_guarantee == "approximate"


class _Boom(Exception):
    pass


@pytest.mark.parametrize("exc", [_Boom, KeyboardInterrupt])
def test_all_or_nothing(task, monkeypatch, exc):
    net = copy.deepcopy(task["net"])
    X, y, f = task["X"], task["y"], task["forget"]
    before = pickle.dumps(net)
    state = {k: v.clone() for k, v in net.module_.state_dict().items()}
    calls = []

    def failing_epoch(self, ctx, optimizer, epoch, state):
        # take a real step on the student first, then fail
        NegGradPlus._step  # noqa: B018
        calls.append(epoch)
        loss = -ctx.task_loss(ctx.module, ctx.X_forget, ctx.y_forget)
        loss.backward()
        optimizer.step()
        raise exc("injected")

    monkeypatch.setattr(NegGradPlus, "_epoch", failing_epoch)
    net.set_params(unlearn_method="neggrad_plus")
    before = pickle.dumps(net)
    with pytest.raises(exc):
        net.unlearn(X[f], y[f])
    assert calls
    assert pickle.dumps(net) == before
    for k, v in net.module_.state_dict().items():
        assert torch.equal(v, state[k])
    assert net.ledger_.n_rows == len(X)
    assert net.unlearn_history_ == []


def test_no_residue(task):
    net = copy.deepcopy(task["net"])
    X, y, f = task["X"], task["y"], task["forget"][:10]
    # one forget row from skorch's validation split too
    f = np.append(f, task["net"].calib_rows_[0])
    net.unlearn(X[f], y[f])
    keep = np.setdiff1d(np.arange(len(X)), f)
    unique = np.setdiff1d(X[f].astype(np.float64).ravel(), X[keep].ravel())
    assert_no_residue(net, unique)
    fp_f = {bytes(r) for r in row_fingerprints(X[f])}
    for stored in (net.retain_X_, net.calib_X_):
        assert not fp_f & {bytes(r) for r in row_fingerprints(stored)}
    assert all(p.grad is None for p in net.module_.parameters())
    assert not net.optimizer_.state_dict()["state"]
    details = net.unlearn_history_[-1]["details"]
    assert details["n_held_out_forgotten"] == 1
    assert details["n_trained_forgotten"] == 10


def test_held_out_rows_only_leave_module_unchanged(task):
    net = copy.deepcopy(task["net"])
    X, y = task["X"], task["y"]
    rows = net.calib_rows_[:3]
    state = copy.deepcopy(net.module_.state_dict())
    n_calib = len(net.calib_X_)
    net.unlearn(X[rows], y[rows])
    for k, v in net.module_.state_dict().items():
        assert torch.equal(v, state[k])
    assert len(net.calib_X_) == n_calib - 3
    assert net.unlearn_history_[-1]["details"]["n_held_out_forgotten"] == 3


def test_unknown_and_all_rows(task):
    net = copy.deepcopy(task["net"])
    X = task["X"]
    check_unknown_rows_leave_model_unchanged(net, X[:2] + 1000)
    before = pickle.dumps(net)
    with pytest.raises(ForgetAllRowsError):
        net.unlearn(X, task["y"])
    with pytest.raises(ValueError, match="features"):
        net.unlearn(X[:2, :5])
    with pytest.raises(UnknownRowsError):
        net.unlearn(np.vstack([X[:1], X[:1] + 99]))
    assert pickle.dumps(net) == before


def test_bad_method_parameters_leave_net_unchanged(task):
    net = copy.deepcopy(task["net"])
    X, f = task["X"], task["forget"]
    before = pickle.dumps(net)
    with pytest.raises(ValueError, match="Unknown unlearn_method"):
        net.set_params(unlearn_method="nope").unlearn(X[f])
    net.set_params(unlearn_method="scrub", unlearn_method__nope=1)
    with pytest.raises(ValueError, match="Unknown parameter"):
        net.unlearn(X[f])
    del net.unlearn_method__nope
    net._params_to_validate.discard("unlearn_method__nope")
    net.set_params(unlearn_method="auto")
    assert pickle.dumps(net) == before


def test_retain_budget_and_partial_fit(task):
    X, y = task["X"], task["y"]
    torch.manual_seed(0)
    net = _clf(max_epochs=5, retain_budget=50).fit(X[:200], y[:200])
    assert len(net.retain_X_) == 50
    assert len(net.calib_X_) == 40  # skorch's 20% validation split
    net.partial_fit(X[200:300], y[200:300])
    assert net.ledger_.n_rows == 300 and len(net.retain_X_) == 50
    assert len(net.calib_X_) == 60
    # rows given to partial_fit are known and can be forgotten
    net.unlearn(X[250:255], y[250:255])
    assert net.ledger_.n_rows == 295
    with pytest.raises(UnknownRowsError):
        net.unlearn(X[250:251], y[250:251])
    # a new fit starts a new training set
    net.fit(X[:100], y[:100])
    assert net.ledger_.n_rows == 100 and net.unlearn_history_ == []


def _assert_rows_point_at_kept_rows(net):
    # retain_rows_ and calib_rows_ are ledger ids of the rows kept beside them
    fp = net.ledger_.fingerprints()
    for rows, stored in (
        (net.retain_rows_, net.retain_X_),
        (net.calib_rows_, net.calib_X_),
    ):
        np.testing.assert_array_equal(
            fp[rows], row_fingerprints(stored, key=net.ledger_.fingerprint_key)
        )


def test_partial_fit_after_forgetting_numbers_rows_as_one_fit(task, monkeypatch):
    X, y = task["X"], task["y"]
    torch.manual_seed(0)
    net = _clf(max_epochs=2, unlearn_method__max_epochs=1).fit(X[:100], y[:100])
    net.unlearn(X[[0, 50]], y[[0, 50]])  # erased slots go at once
    assert net.ledger_.n_stored == net.ledger_.n_rows == 98
    _assert_rows_point_at_kept_rows(net)
    monkeypatch.setattr(type(net), "_compact_min_rows", 1)
    net.unlearn(X[[99]], y[[99]])  # this one is kept, erased, for later
    assert net.ledger_.n_stored == 98 and net.ledger_.n_rows == 97
    _assert_rows_point_at_kept_rows(net)
    net.partial_fit(X[100:150], y[100:150])
    # the ledger is that of one fit on the retained rows then the new ones
    keep = np.r_[1:50, 51:99, 100:150]
    # (fingerprints are keyed per model: the fresh ledger takes the net's key)
    with _pinned_fingerprint_key(net.ledger_.fingerprint_key):
        fresh = vars(TrainingLedger(X[keep], y[keep], compact="never"))
    got = vars(net.ledger_)
    assert got.keys() == fresh.keys()
    for name, value in fresh.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(got[name], value, strict=True)
        else:
            assert got[name] == value, name
    _assert_rows_point_at_kept_rows(net)
    all_rows = np.sort(np.concatenate([net.retain_rows_, net.calib_rows_]))
    np.testing.assert_array_equal(all_rows, np.arange(keep.size))
    # rows of both calls are forgotten
    net.unlearn(X[[1, 120]], y[[1, 120]])
    assert net.ledger_.n_rows == keep.size - 2
    _assert_rows_point_at_kept_rows(net)


@pytest.mark.filterwarnings(
    "ignore::skunlearn.neural_net.UncalibratedUnlearningWarning"
)
def test_retain_sample_is_chosen_by_content(task):
    X, y = task["X"][:150], task["y"][:150]

    def make():
        return _clf(
            max_epochs=1,
            train_split=None,
            retain_budget=40,
            unlearn_method__max_epochs=1,
        )

    torch.manual_seed(0)
    net = make().fit(X, y)
    # The sample follows the keyed fingerprints: the nets compared with
    # ``net`` are fitted under its key, as a refit of the same model would be.
    pin = _pinned_fingerprint_key(net.ledger_.fingerprint_key)
    # rows of several partial_fit calls are sampled as in one fit
    with pin:
        chunked = make().fit(X[:90], y[:90]).partial_fit(X[90:], y[90:])
    np.testing.assert_array_equal(chunked.retain_rows_, net.retain_rows_)
    np.testing.assert_array_equal(chunked.retain_X_, net.retain_X_)
    # forgetting rows outside the sample leaves a fit's sample on the rest
    outside = np.setdiff1d(np.arange(150), net.retain_rows_)
    gone = outside[[0, 1, -1]]
    net.unlearn(X[gone], y[gone])
    keep = np.setdiff1d(np.arange(150), gone)
    with _pinned_fingerprint_key(net.ledger_.fingerprint_key):
        fresh = make().fit(X[keep], y[keep])
    for name in ("retain_X_", "retain_y_", "retain_rows_"):
        np.testing.assert_array_equal(
            getattr(net, name), getattr(fresh, name), strict=True
        )
    # forgetting a sampled row leaves the rest of the sample
    row = keep[net.retain_rows_[0]]
    net.unlearn(X[[row]], y[[row]])
    np.testing.assert_array_equal(net.retain_X_, fresh.retain_X_[1:])
    _assert_rows_point_at_kept_rows(net)


def test_bad_retain_budget_raises_before_training(task):
    with pytest.raises(ValueError, match="retain_budget"):
        _clf(retain_budget=0).fit(task["X"], task["y"])


def test_external_calibration_rows(task):
    net = copy.deepcopy(task["net"])
    X, y, f = task["X"], task["y"], task["forget"]
    n_calib = len(net.calib_X_)
    net.unlearn(X[f], y[f], X_calib=task["X_te"], y_calib=task["y_te"])
    assert net.unlearn_history_[-1]["details"]["calibrated"]
    assert len(net.calib_X_) == n_calib


def test_uncalibrated_runs_max_epochs_and_warns(task):
    X, y = task["X"], task["y"]
    torch.manual_seed(0)
    net = _clf(
        max_epochs=10,
        train_split=None,
        unlearn_method__max_epochs=2,
        unlearn_method__max_seconds=60.0,
    ).fit(X, y)
    assert len(net.calib_X_) == 0
    with pytest.warns(UncalibratedUnlearningWarning, match="X_calib="):
        net.unlearn(X[:20], y[:20])
    details = net.unlearn_history_[-1]["details"]
    assert details["calibrated"] is False and details["epochs"] == 2
    assert details["n_calibration_rows"] == 0
    # with calibration rows passed to unlearn, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncalibratedUnlearningWarning)
        net.unlearn(X[20:30], y[20:30], X_calib=task["X_te"], y_calib=task["y_te"])


# ------------------------------------------------ the memorising regime (#17)
def _digits_memorising(seed=0, noise=0.15):
    """Digits with 15% of the labels flipped (train and test alike), scaled."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(seed)
    y = y.copy()
    flip = rng.rand(y.size) < noise
    y[flip] = (y[flip] + rng.randint(1, 10, flip.sum())) % 10
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    sc = StandardScaler().fit(X_tr)
    f32 = np.float32
    return (
        sc.transform(X_tr).astype(f32),
        y_tr.astype(np.int64),
        sc.transform(X_te).astype(f32),
        y_te.astype(np.int64),
    )


def _memorising_net(n_features=64, n_classes=10, width=256, epochs=40):
    # over-parameterised, trained to about zero training loss, no held-out
    # rows (train_split=None), as many users set it
    module = torch.nn.Sequential(
        torch.nn.Linear(n_features, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, n_classes),
    )
    return UnlearningNeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=3e-3,
        max_epochs=epochs,
        batch_size=128,
        train_split=None,
        verbose=0,
        iterator_train__shuffle=True,
    )


@pytest.fixture(scope="module")
def memorising():
    X, y, X_held, y_held = _digits_memorising()
    rng = np.random.RandomState(0)
    forget = np.sort(rng.choice(len(X), len(X) // 10, replace=False))
    keep = np.setdiff1d(np.arange(len(X)), forget)
    torch.manual_seed(0)
    original = _memorising_net().fit(X, y)
    torch.manual_seed(1)
    gold = _memorising_net().fit(X[keep], y[keep])
    half = len(X_held) // 2
    return {
        "original": original,
        "gold": gold,
        "X_f": X[forget],
        "y_f": y[forget],
        "X_calib": X_held[:half],
        "y_calib": y_held[:half],
        "X_te": X_held[half:],
        "y_te": y_held[half:],
    }


def _marks(net, case):
    X_f, y_f, X_te, y_te = case["X_f"], case["y_f"], case["X_te"], case["y_te"]
    auc = membership_auc(_row_loss(net, X_f, y_f), _row_loss(net, X_te, y_te))
    return _acc(net, X_f, y_f), _acc(net, X_te, y_te), auc


@pytest.mark.parametrize("calibrated", [False, True])
def test_memorising_net_default_stays_near_the_gold_standard(memorising, calibrated):
    # Issue #17: the default used to fall back to gradient ascent without
    # calibration rows and wreck the net (forget accuracy 0.2 where the
    # retrained net keeps 0.8, membership AUC 0.3: over-forgotten).
    original, gold = memorising["original"], memorising["gold"]
    assert original.history_[-1, "train_loss"] < 0.02  # memorised
    f0, _, auc0 = _marks(original, memorising)
    assert f0 == 1.0 and auc0 > 0.65
    # The default's epoch budget (12% of the 40 epochs: 5) decides, not its
    # wall-clock budget: 12% of this net's 0.8 s of training is about five
    # epochs too, so a busy machine cut the reset to 3-4 epochs now and then
    # (test accuracy 0.07 short in one CI run). The benchmark measures the
    # time budget; this test, what the reset does with its epochs.
    net = copy.deepcopy(original).set_params(unlearn_method__max_seconds=60.0)
    kwargs = {}
    if calibrated:
        kwargs = {"X_calib": memorising["X_calib"], "y_calib": memorising["y_calib"]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.unlearn(memorising["X_f"], memorising["y_f"], **kwargs)
    uncal = [w for w in caught if issubclass(w.category, UncalibratedUnlearningWarning)]
    assert len(uncal) == (0 if calibrated else 1)
    f, te, auc = _marks(net, memorising)
    gf, gte, gauc = _marks(gold, memorising)
    # 126 forget rows: about 0.035 of sampling noise on each accuracy and AUC,
    # so the fast test allows twice the marks (the slow one checks
    # the marks on medians over seeds)
    assert abs(f - gf) <= 0.1, (f, gf)
    assert te >= gte - 0.05, (te, gte)
    assert abs(auc - gauc) <= 0.1, (auc, gauc)
    details = net.unlearn_history_[-1]["details"]
    assert details["method"] == "reset_repair"
    assert details["calibrated"] is calibrated
    # within the 15% of the 40 training epochs (12% budget)
    assert details["epochs"] <= 5
    # the reset ends on its last state, fitting the retained rows on its way
    # to what the trained (and the retrained) net does, not at an
    # early-stopped state; its confidence scaled to the trained net's
    assert details["trained_retain_fit"] == 1.0
    assert 0.5 < details["retain_fit"] < 1.0
    assert details["kept_epoch"] == details["epochs"]
    assert not details["rolled_back"]
    assert details["lr_scale"] == 3.0 and "lr_retried" not in details
    assert details["confidence_scale"] > 1


@pytest.mark.parametrize("calibrated", [False, True])
def test_reset_retries_at_the_nets_rate_when_the_faster_one_fails(
    memorising, calibrated
):
    # A rate scale no net survives: the first epoch's retained loss does not
    # fall (it overflows); the reset starts again from the same fresh weights
    # at the net's own rate and ends as a working net.
    net = copy.deepcopy(memorising["original"]).set_params(unlearn_method__lr_scale=1e6)
    kwargs = {}
    if calibrated:
        kwargs = {"X_calib": memorising["X_calib"], "y_calib": memorising["y_calib"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncalibratedUnlearningWarning)
        net.unlearn(memorising["X_f"], memorising["y_f"], **kwargs)
    details = net.unlearn_history_[-1]["details"]
    assert details["lr_retried"] is True and details["lr_scale"] == 1.0
    for v in net.module_.state_dict().values():
        assert torch.isfinite(v).all()
    _, te, _ = _marks(net, memorising)
    _, gte, _ = _marks(memorising["gold"], memorising)
    assert te >= gte - 0.1, (te, gte)


def _top_log_odds(net, X):
    # from the logits: float32 probabilities round to 1 on memorised rows
    net.module_.eval()
    with torch.no_grad():
        lp = torch.log_softmax(net.module_(torch.as_tensor(X)).double(), 1)
    top, arg = lp.max(1)
    rest = lp.scatter(1, arg[:, None], float("-inf")).logsumexp(1)
    return float((top - rest).mean())


def test_reset_matches_the_trained_nets_confidence_without_changing_predictions(
    memorising,
):
    # Retrained for a few epochs, the reset net is far less confident than
    # the trained net; scaling its output layer restores the confidence on
    # the retained rows and leaves every prediction as it was.
    nets = {}
    for match in (False, True):
        net = copy.deepcopy(memorising["original"]).set_params(
            unlearn_method=ResetRepair(
                max_epochs=3, max_seconds=1e9, match_confidence=match
            )
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UncalibratedUnlearningWarning)
            net.unlearn(memorising["X_f"], memorising["y_f"])
        nets[match] = net
    X_r = nets[True].retain_X_
    X_all = np.vstack([X_r, memorising["X_f"], memorising["X_te"]])
    np.testing.assert_array_equal(nets[True].predict(X_all), nets[False].predict(X_all))
    scale = nets[True].unlearn_history_[-1]["details"]["confidence_scale"]
    assert "confidence_scale" not in nets[False].unlearn_history_[-1]["details"]
    assert scale > 1
    trained = _top_log_odds(memorising["original"], X_r)
    before, after = _top_log_odds(nets[False], X_r), _top_log_odds(nets[True], X_r)
    assert before < trained - 1
    assert abs(after - trained) < 0.05 * abs(trained)


class _SoftmaxMLP(torch.nn.Module):
    # skorch's NLLLoss convention: the module returns probabilities
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
        )

    def forward(self, X):
        return torch.softmax(self.body(X), dim=-1)


def test_reset_leaves_the_confidence_of_a_probability_output_alone():
    # the output is not linear in the last Linear layer: nothing is scaled
    rng = np.random.RandomState(0)
    X = rng.randn(200, 8).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    torch.manual_seed(0)
    net = UnlearningNeuralNetClassifier(
        _SoftmaxMLP,
        max_epochs=10,
        lr=0.05,
        train_split=None,
        verbose=0,
        unlearn_method=ResetRepair(max_epochs=2, max_seconds=1e9),
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncalibratedUnlearningWarning)
        net.unlearn(X[:20], y[:20])
    details = net.unlearn_history_[-1]["details"]
    assert details["confidence_scale"] is None


def test_reset_rejects_a_bad_rate_scale(task):
    net = copy.deepcopy(task["net"]).set_params(
        unlearn_method="reset_repair", unlearn_method__lr_scale=0
    )
    with pytest.raises(ValueError, match="lr_scale must be a positive number"):
        net.unlearn(task["X"][task["forget"]], task["y"][task["forget"]])


def test_over_forgetting_is_caught_and_rolled_back(task):
    # gradient ascent at a high rate overshoots in one epoch: the forget rows
    # end up fitted worse than unseen rows; the loop restores the start
    net0, X, y, f = task["net"], task["X"], task["y"], task["forget"]
    net = copy.deepcopy(net0).set_params(
        unlearn_method="gradient_ascent",
        unlearn_method__lr=3e-2,
        unlearn_method__repair_epochs=0,
    )
    net.unlearn(X[f], y[f])
    details = net.unlearn_history_[-1]["details"]
    assert details["rolled_back"] and details["kept_epoch"] == 0
    assert details["stopped_by"].startswith(("over-forgetting", "utility"))
    for k, v in net.module_.state_dict().items():
        assert torch.equal(v, net0.module_.state_dict()[k])


def test_uncalibrated_ascent_stops_when_retained_accuracy_falls(memorising):
    # without calibration rows the retained rows' accuracy is the guard
    net0 = memorising["original"]
    net = copy.deepcopy(net0).set_params(
        unlearn_method="gradient_ascent", unlearn_method__lr=1e-2
    )
    with pytest.warns(UncalibratedUnlearningWarning):
        net.unlearn(memorising["X_f"], memorising["y_f"])
    details = net.unlearn_history_[-1]["details"]
    assert details["stopped_by"].startswith("utility: retain accuracy")
    assert details["rolled_back"]
    _, te, _ = _marks(net, memorising)
    _, te0, _ = _marks(net0, memorising)
    assert te >= te0 - 0.03


class _NaNLoss(NegGradPlus):
    """NegGrad+ whose loss turns NaN: a diverging run."""

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        return super()._step(ctx, optimizer, idx_f, epoch, state) * float("nan")


@pytest.mark.parametrize("calibrate", [True, False])
def test_non_finite_loss_raises_and_leaves_the_net(task, calibrate):
    net = copy.deepcopy(task["net"]).set_params(
        unlearn_method=_NaNLoss(calibrate=calibrate)
    )
    X, y, f = task["X"], task["y"], task["forget"]
    before = pickle.dumps(net)
    with pytest.raises(FloatingPointError, match="non-finite.*net is unchanged"):
        net.unlearn(X[f], y[f])
    assert pickle.dumps(net) == before
    assert net.unlearn_history_ == []


def test_reset_repair_without_a_reset_method_says_so(task):
    # a raw nn.Parameter has no reset_parameters: it is kept, and listed
    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = _mlp(10, 3)
            self.scale = torch.nn.Parameter(torch.ones(3))

        def forward(self, x):
            return self.body(x) * self.scale

    X, y, f = task["X"], task["y"], task["forget"]
    torch.manual_seed(0)
    net = _clf(max_epochs=5).set_params(module=Scaled).fit(X, y)
    net.set_params(unlearn_method__calibrate=False, unlearn_method__max_epochs=1)
    net.unlearn(X[f], y[f])
    assert net.unlearn_history_[-1]["details"]["not_reset"] == ["scale"]


@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
def test_float64_module_and_input_dtypes(x_dtype):
    # Floating rows take the module's dtype: float64 rows for a float32
    # module and float32 rows for a float64 one are cast, never mixed.
    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    X = X.astype(x_dtype)
    for module_dtype in (torch.float32, torch.float64):
        torch.manual_seed(0)
        net = UnlearningNeuralNetClassifier(
            _mlp(6, 2).to(module_dtype),
            criterion=torch.nn.CrossEntropyLoss,
            max_epochs=5,
            lr=0.05,
            verbose=0,
        ).fit(X, y)
        assert np.isfinite(net.history_[-1, "train_loss"])
        assert net.retain_X_.dtype == (
            np.float64 if module_dtype == torch.float64 else np.float32
        )
        assert net.predict_proba(X).shape == (200, 2)
        trained = np.setdiff1d(np.arange(200), net.calib_rows_)[:10]
        net.unlearn(
            X[trained], y[trained], X_calib=X[:5].astype(np.float64), y_calib=y[:5]
        )
        assert net.ledger_.n_rows == 190
        assert np.isfinite(net.predict_proba(X)).all()


def test_non_finite_calibration_rows_are_refused(task):
    net = copy.deepcopy(task["net"])
    X, y, f = task["X"], task["y"], task["forget"]
    bad = task["X_te"].copy()
    bad[0, 0] = np.nan
    before = pickle.dumps(net)
    with pytest.raises(ValueError, match="X_calib contains NaN"):
        net.unlearn(X[f], y[f], X_calib=bad, y_calib=task["y_te"])
    assert pickle.dumps(net) == before


# ------------------------------------------------------------- sklearn citizen
def test_clone_pickle_and_params(task):
    net = _clf(unlearn_method="scrub", unlearn_method__alpha=0.2, retain_budget=100)
    c = clone(net)
    assert c.get_params()["unlearn_method__alpha"] == 0.2
    assert c.retain_budget == 100
    fitted = copy.deepcopy(task["net"]).set_params(
        unlearn_method=SCRUB(msteps=1), unlearn_method__max_epochs=2
    )
    X, y, f = task["X"], task["y"], task["forget"]
    fitted.unlearn(X[f], y[f])
    assert fitted.unlearn_history_[-1]["details"]["params"]["max_epochs"] == 2
    assert fitted.unlearn_history_[-1]["details"]["params"]["msteps"] == 1
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    loaded.unlearn(X[:3], y[:3])
    assert len(loaded.unlearn_history_) == 2


def _unlearning_scorer(est, X_val, y_val):
    """Forget a tenth of the kept training rows; reward utility and forgetting."""
    net = copy.deepcopy(est)
    k = max(1, len(net.retain_X_) // 10)
    Xf, yf = net.retain_X_[:k], net.retain_y_[:k]
    net.unlearn(Xf, yf)
    auc = membership_auc(_row_loss(net, Xf, yf), _row_loss(net, X_val, y_val))
    return _acc(net, X_val, y_val) + (1 - 2 * abs(auc - 0.5))


def test_grid_search_over_unlearning_hyperparameters(task):
    X, y = task["X"][:240], task["y"][:240]
    torch.manual_seed(0)
    grid = {"unlearn_method": ["neggrad_plus"], "unlearn_method__beta": [0.5, 0.95]}
    search = GridSearchCV(
        _clf(max_epochs=15, unlearn_method__max_epochs=2),
        grid,
        cv=2,
        scoring=_unlearning_scorer,
    ).fit(X, y)
    assert search.best_params_["unlearn_method__beta"] in (0.5, 0.95)
    assert (
        search.best_estimator_.unlearn_method__beta
        == search.best_params_["unlearn_method__beta"]
    )
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    search.best_estimator_.unlearn(X[:5], y[:5])


def test_deterministic_with_a_seed(task):
    X, y, f = task["X"], task["y"], task["forget"]
    states = []
    # The default budget is wall-clock time: on a busy machine it could stop
    # the two runs after different epochs. Determinism is per epoch count.
    for _ in range(2):
        net = copy.deepcopy(task["net"]).set_params(
            unlearn_method="salun", unlearn_method__max_seconds=1e6
        )
        net.unlearn(X[f], y[f])
        states.append(net.module_.state_dict())
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k])
    net = copy.deepcopy(task["net"]).set_params(
        unlearn_method="salun",
        unlearn_method__random_state=1,
        unlearn_method__max_seconds=1e6,
    )
    net.unlearn(X[f], y[f])
    assert any(
        not torch.equal(states[0][k], net.module_.state_dict()[k]) for k in states[0]
    )


def test_verbose_prints_epoch_table(task, capsys):
    net = copy.deepcopy(task["net"]).set_params(verbose=1)
    X, y, f = task["X"], task["y"], task["forget"]
    net.unlearn(X[f], y[f])
    out = capsys.readouterr().out
    assert "epoch" in out and "mia_auc" in out and "forget" in out


def test_time_budget_stops_early(task):
    net = copy.deepcopy(task["net"]).set_params(
        unlearn_method="finetune",
        unlearn_method__max_seconds=0.0,
        unlearn_method__max_epochs=50,
    )
    X, y, f = task["X"], task["y"], task["forget"]
    net.unlearn(X[f], y[f])
    details = net.unlearn_history_[-1]["details"]
    assert details["epochs"] == 1 and details["time_budget_hit"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda(task):
    X, y, f = task["X"], task["y"], task["forget"]
    torch.manual_seed(0)
    net = _clf(device="cuda", max_epochs=30).fit(X, y)
    assert next(net.module_.parameters()).is_cuda
    net.unlearn(X[f], y[f])
    assert next(net.module_.parameters()).is_cuda
    assert net.unlearn_history_[-1]["details"]["calibrated"]


def test_sisa_over_nets_is_exact_alternative():
    ensemble = pytest.importorskip("skunlearn.ensemble")
    if not hasattr(ensemble, "SISAClassifier"):
        pytest.skip("skunlearn.ensemble.SISAClassifier is not available yet")
    X, y, _, _ = _data(240)
    torch.manual_seed(0)
    base = _clf(max_epochs=5, train_split=None)
    sisa = ensemble.SISAClassifier(base)
    if "n_shards" in sisa.get_params(deep=False):
        sisa.set_params(n_shards=2)
    sisa.fit(X, y)
    sisa.unlearn(X[:10], y[:10])
    assert sisa.unlearning_guarantee == "exact"
    assert sisa.predict(X).shape == y.shape


def _bench():
    """``benchmarks/bench_neural_net.py``, the one definition of the cases."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "bench_neural_net.py"
    if not path.exists():
        pytest.skip("benchmarks/ is not shipped with this copy")
    spec = importlib.util.spec_from_file_location("bench_neural_net", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CASES = [
    (data, regime, scenario)
    for data in ("digits", "breast_cancer")
    for regime in ("memorising", "generalising")
    for scenario in ("random", "class")
] + [("generated", "memorising", scenario) for scenario in ("random", "class")]


@pytest.mark.slow
@pytest.mark.parametrize("data, regime, scenario", _CASES)
def test_default_against_the_gold_standard_on_every_case(data, regime, scenario):
    # Issue #17's marks for the default, on medians over three seeds, with and
    # without calibration rows (the benchmark's cases; about a minute each).
    # The generated set (3,000 rows) resolves the forget-accuracy mark on a
    # memorising net where breast_cancer's 39 forget rows cannot.
    bench = _bench()
    results = [
        bench.run_case(
            data, regime, scenario, ["auto"], ["none", "calib"], s, "cpu", 256
        )
        for s in range(3)
    ]
    med = bench.summarise(results)
    gold = med[("gold", "")]
    # The marks, or twice the noise of these rows where it is larger:
    # breast_cancer forgets 39 rows at random (one row is 0.026 of accuracy,
    # and two retrained nets differ by about 0.1 on them); a class forget's
    # AUC compares with the few unseen rows of the class.
    f_tol = max(0.05, 2 * gold["f_se"])
    auc_tol = max(0.05, 2 * gold["auc_se"])
    for cal in ("none", "calib"):
        row = med[("auto", cal)]
        assert row["te"] >= gold["te"] - 0.03, (cal, row, gold)
        assert abs(row["auc"] - gold["auc"]) <= auc_tol, (cal, row, gold)
        if scenario == "class":
            assert row["f"] <= 0.05, (cal, row)
        else:
            assert abs(row["f"] - gold["f"]) <= f_tol, (cal, row, gold)
        if data != "breast_cancer":  # (569 rows: fixed costs dominate)
            assert row["time"] <= 0.15, (cal, row)


@pytest.mark.parametrize("seed", [1, 2])
def test_default_keeps_a_generalising_nets_accuracy(seed):
    # The demo's net (digits, 30 epochs of Adam, skorch's validation split as
    # calibration rows) generalises: a reset repaired for a fixed 12% of its
    # epochs lost up to 0.21 of test accuracy against the retrained net.
    # Now a net whose forget rows already look unseen is left as it is, and
    # a reset is repaired until its calibration accuracy is back.
    from sklearn.datasets import load_digits

    from skunlearn._demo import _skorch_mlp
    from skunlearn.audit import audit_unlearning

    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = audit_unlearning(
            _skorch_mlp(), X.astype(np.float32), y, random_state=seed
        )
    m = report.to_frame()
    unlearned, gold = m.loc["unlearned"], m.loc["gold_standard"]
    assert unlearned["score_test"] >= gold["score_test"] - 0.05, m
    assert abs(unlearned["score_forget"] - gold["score_forget"]) <= 0.05, m
    assert abs(unlearned["mia_auc"] - gold["mia_auc"]) <= 0.05, m
