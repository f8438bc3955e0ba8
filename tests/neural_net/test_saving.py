"""Nets save with skops as well as pickle, without pickling torch objects.

The torch components (module, criterion, optimizer) are saved as state
dicts of NumPy arrays and rebuilt from the net's own parameters at load;
the user trusts their module class by name.
"""

# SPDX-License-Identifier: BSD-3-Clause

import io
import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")
sio = pytest.importorskip("skops.io")

from numpy.testing import assert_array_equal  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402

from skunlearn.io import dump, load, trusted_types  # noqa: E402
from skunlearn.neural_net import (  # noqa: E402
    UnlearningNeuralNetClassifier,
    UnlearningNeuralNetRegressor,
)
from skunlearn.neural_net._net import _from_data, _to_data  # noqa: E402


class TwoLayer(torch.nn.Module):
    """A user's module class (trusted by name at load)."""

    def __init__(self, d_in=6, width=16, d_out=2, softmax=True):
        super().__init__()
        self.hidden = torch.nn.Linear(d_in, width)
        self.out = torch.nn.Linear(width, d_out)
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))
        self.softmax = softmax

    def forward(self, X):
        z = self.out(torch.relu(self.hidden(X)))
        return torch.softmax(z, dim=-1) if self.softmax else z


_NAME = f"{TwoLayer.__module__}.{TwoLayer.__qualname__}"


def _data():
    X, y = make_classification(n_samples=120, n_features=6, random_state=0)
    return X.astype(np.float32), y.astype(np.int64)


def _skops(net, **load_params):
    buffer = io.BytesIO()
    dump(net, buffer)
    return load(io.BytesIO(buffer.getvalue()), **load_params)


@pytest.fixture
def adam_net():
    X, y = _data()
    torch.manual_seed(0)
    net = UnlearningNeuralNetClassifier(
        TwoLayer,
        module__width=16,
        optimizer=torch.optim.Adam,
        lr=0.01,
        max_epochs=3,
        verbose=0,
    ).fit(X, y)
    return net, X, y


@pytest.mark.parametrize("how", ["skops", "pickle"])
def test_round_trip_keeps_module_optimizer_and_ledger(adam_net, how):
    net, X, y = adam_net
    if how == "skops":
        loaded = _skops(net, trusted=[_NAME])
    else:
        loaded = pickle.loads(pickle.dumps(net))
    assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    for a, b in zip(
        net.module_.state_dict().values(), loaded.module_.state_dict().values()
    ):
        assert torch.equal(a, b)
    # Adam's moments and step counts: training continues identically
    s0, s1 = net.optimizer_.state_dict(), loaded.optimizer_.state_dict()
    assert s0["param_groups"] == s1["param_groups"]
    for k, state in s0["state"].items():
        for name, value in state.items():
            assert torch.equal(value, s1["state"][k][name]), name
    assert loaded.module_.hidden.weight.requires_grad
    assert_array_equal(loaded.ledger_.fingerprints(), net.ledger_.fingerprints())
    assert len(loaded.history_) == len(net.history_)
    assert loaded.history_[-1, "train_loss"] == net.history_[-1, "train_loss"]
    torch.manual_seed(1)
    net.partial_fit(X, y)
    torch.manual_seed(1)
    loaded.partial_fit(X, y)
    assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_the_same_request_gives_the_same_net_after_loading(adam_net):
    net, X, y = adam_net
    loaded = _skops(net, trusted=[_NAME])
    forget = np.setdiff1d(np.arange(len(X)), net.calib_rows_)[:8]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in (net, loaded):
            torch.manual_seed(2)
            model.unlearn(X[forget], y[forget])
    assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    assert loaded.ledger_.n_rows == net.ledger_.n_rows == len(X) - 8
    again = _skops(loaded, trusted=[_NAME])
    assert_array_equal(again.predict_proba(X), net.predict_proba(X))
    assert again.unlearn_history_ == loaded.unlearn_history_


def test_the_module_class_must_be_trusted_by_name(adam_net):
    from skops.io.exceptions import UntrustedTypesFoundException

    net, _, _ = adam_net
    with pytest.raises(UntrustedTypesFoundException, match="TwoLayer"):
        _skops(net)
    with pytest.raises(TypeError, match="list of type names"):
        _skops(net, trusted=_NAME)
    buffer = io.BytesIO()
    dump(net, buffer)
    # everything else a default net holds is in the package's list
    untrusted = sio.get_untrusted_types(data=buffer.getvalue())
    assert sorted(set(untrusted) - set(trusted_types())) == [_NAME]


def test_saved_file_holds_no_pickle(adam_net):
    net, _, _ = adam_net
    buffer = io.BytesIO()
    dump(net, buffer)
    import zipfile

    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as zf:
        schema = zf.read("schema.json").decode()
        assert "__cuda_dependent_attributes__" not in schema
        for name in zf.namelist():
            data = zf.read(name)
            # a pickle stream starts with the PROTO opcode (0x80); arrays are
            # .npy files (b"\x93NUMPY"), the rest JSON
            assert data[:1] != b"\x80", name


def test_loading_draws_nothing_from_torch_random_generator(adam_net):
    net, _, _ = adam_net
    buffer = io.BytesIO()
    dump(net, buffer)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    load(io.BytesIO(buffer.getvalue()), trusted=[_NAME])
    assert torch.equal(torch.rand(3), expected)


def test_unfitted_and_regressor_nets_round_trip():
    unfitted = UnlearningNeuralNetClassifier(TwoLayer, max_epochs=2, verbose=0)
    loaded = _skops(unfitted, trusted=[_NAME])
    assert loaded.get_params()["max_epochs"] == 2
    assert not getattr(loaded, "initialized_", False)
    X, y = make_regression(n_samples=80, n_features=6, random_state=0)
    X, y = X.astype(np.float32), y.astype(np.float32).reshape(-1, 1)
    torch.manual_seed(0)
    reg = UnlearningNeuralNetRegressor(
        TwoLayer,
        module__d_out=1,
        module__softmax=False,
        max_epochs=2,
        verbose=0,
    ).fit(X, y)
    again = _skops(reg, trusted=[_NAME])
    assert_array_equal(again.predict(X), reg.predict(X))


def test_a_module_instance_is_saved_once():
    X, y = _data()
    torch.manual_seed(0)
    module = TwoLayer()
    net = UnlearningNeuralNetClassifier(module, max_epochs=2, verbose=0).fit(X, y)
    assert net.module_ is net.module
    loaded = _skops(net, trusted=[_NAME])
    assert loaded.module_ is loaded.module
    assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    # the recorded fit parameters still stand for the loaded module
    loaded.unlearn(X[:1], y[:1], X_calib=X[-10:], y_calib=y[-10:])


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_cuda_net_loads_on_the_cpu_with_a_warning(adam_net):
    from skorch.exceptions import DeviceWarning

    net, X, _ = adam_net
    expected = net.predict_proba(X)
    state = net.__getstate__()
    state["device"] = "cuda"
    clone = UnlearningNeuralNetClassifier.__new__(UnlearningNeuralNetClassifier)
    with pytest.warns(DeviceWarning, match="(?i)cuda"):
        clone.__setstate__(state)
    assert str(clone.device) == "cpu"
    assert_array_equal(clone.predict_proba(X), expected)


def test_state_conversion_keeps_dtypes_keys_and_containers():
    value = {
        0: {"step": torch.tensor(3.0), "m": torch.ones(2, dtype=torch.bfloat16)},
        "groups": [{"lr": 0.1, "params": (0, 1), "flags": {True, False}}],
        "dtype": torch.float64,
        "device": torch.device("cpu"),
        "param": torch.nn.Parameter(torch.arange(3.0), requires_grad=False),
    }
    back = _from_data(_to_data(value), torch.device("cpu"))
    assert back[0]["m"].dtype == torch.bfloat16
    assert torch.equal(back[0]["m"], value[0]["m"])
    assert torch.equal(back[0]["step"], value[0]["step"])
    assert back["groups"] == value["groups"]
    assert isinstance(back["groups"][0]["params"], tuple)
    assert back["dtype"] is torch.float64 and back["device"] == value["device"]
    assert isinstance(back["param"], torch.nn.Parameter)
    assert not back["param"].requires_grad


def test_cli_forgets_from_a_saved_net_with_its_module_trusted(
    adam_net, tmp_path, capsys
):
    from skunlearn.cli import main

    net, X, y = adam_net
    model = tmp_path / "net.skops"
    dump(net, model)
    trained = np.setdiff1d(np.arange(len(X)), net.calib_rows_)[:3]
    rows = tmp_path / "request.csv"
    # a headerless request (the net was fit on an array, without feature
    # names); the targets are the stored ones
    np.savetxt(rows, X[trained], delimiter=",", fmt="%.9g")
    out = tmp_path / "net-v2.skops"
    argv = ["forget", str(model), "--rows", str(rows), "--output", str(out)]
    argv += ["--header", "no"]
    # the module class is the user's code: refused until trusted by name
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert _NAME in err and "--trust" in err
    assert not out.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = main([*argv, "--trust", _NAME])
    assert status == 0, capsys.readouterr().err
    new = load(out, trusted=[_NAME])
    assert new.ledger_.n_rows == len(X) - 3
    assert len(new.unlearn_history_) == 1
