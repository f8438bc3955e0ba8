"""Crafted model files: nothing in a model file makes skunlearn read, unpickle,
write or delete a file the user did not name (DESIGN.md, contract 9).

Each crafted file is a genuine SISA model (checkpoints in files) whose state
was edited the way an attacker would: checkpoint names that are absolute or
``../`` paths, symbolic links, pickle payloads under checkpoint names,
tampered digests, another model's files, a checkpoint directory pointing at
files the user did not name, the pickle paths of an earlier release. Each is
driven through the Python API (load, name the directory, unlearn) and through
``skunlearn forget``, with and without ``--allow-pickle``. Every file system
access and every unpickling is recorded with an audit hook (PEP 578).
"""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import copy
import copyreg
import hashlib
import os
import pickle
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier

from skunlearn._ledger import row_fingerprints
from skunlearn.cli import main
from skunlearn.ensemble import SISAClassifier
from skunlearn.ensemble._sisa import (
    _SHARD_SALT,
    _SLICE_SALT,
    CheckpointError,
    _bucket,
    set_checkpoint_dir,
)

sio = pytest.importorskip("skops.io")

# ------------------------------------------------------------------ auditing
_WATCHED = {
    "open",
    "os.remove",
    "os.rename",
    "os.replace",
    "os.rmdir",
    "os.truncate",
    "os.symlink",
    "os.link",
    "os.listdir",
    "os.scandir",
    "os.chmod",
    "shutil.rmtree",
    "shutil.move",
    "pickle.find_class",
}
_LOG = []  # the events of the audit() block running, if any


def _hook(event, args):
    if _LOG and event in _WATCHED:
        _LOG[-1].append((event, args))


sys.addaudithook(_hook)  # cannot be removed; does nothing outside audit()


@contextlib.contextmanager
def audit():
    events = []
    _LOG.append(events)
    try:
        yield events
    finally:
        _LOG.pop()


def _paths(events):
    """``(event, absolute path)`` of each recorded file system event."""
    out = []
    for event, args in events:
        if event == "pickle.find_class":
            continue
        for arg in args[:2] if event in ("os.rename", "os.replace") else args[:1]:
            if isinstance(arg, str | bytes | os.PathLike):
                out.append((event, os.path.abspath(os.fsdecode(arg))))
    return out


def _under(path, directory):
    directory = os.path.abspath(directory)
    return path == directory or path.startswith(directory + os.sep)


def _unpickled(events):
    return [args for event, args in events if event == "pickle.find_class"]


def _snapshot(root):
    """Every entry under ``root``: its bytes, or where its link points."""
    out = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(base, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = ("link", os.readlink(path))
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    out[rel] = ("file", f.read())
            else:
                out[rel] = ("dir", None)
    return out


# ------------------------------------------------------------------ payloads
class _Payload:
    """Unpickling it creates ``marker``: proof that a file was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class _RawState:
    """Pickles ``obj`` with its ``__dict__`` as is (bypassing ``__getstate__``),
    as a crafted pickle would."""

    def __init__(self, obj):
        self.obj = obj

    def __reduce__(self):
        cls = type(self.obj)
        return (copyreg._reconstructor, (cls, object, None), dict(vars(self.obj)))


def test_the_payload_does_create_its_marker(tmp_path):
    marker = tmp_path / "marker"
    with audit() as events:
        pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists() and _unpickled(events)


# ------------------------------------------------------------------ the world
def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 3)
    y = (X[:, 0] > 0).astype(int)
    return X, y


def _estimator(checkpoint_dir, random_state=0):
    return SISAClassifier(
        SGDClassifier(random_state=0),
        n_shards=2,
        n_slices=3,
        checkpoint_dir=checkpoint_dir,
        random_state=random_state,
    )


class World:
    """A genuine model with its checkpoint directory, and files nobody named."""

    def __init__(self, root):
        self.root = root
        self.ck = root / "ck"  # the directory the user names
        self.victim = root / "victim"  # files the user did not name
        self.victim.mkdir()
        self.marker = root / "PWNED"
        self.X, self.y = _data()
        self.model = _estimator(str(self.ck)).fit(self.X, self.y)
        # a row of the last slice: forgetting it reads the checkpoint after
        # slice 1 of its shard
        fp = row_fingerprints(self.X)
        slice_of = _bucket(fp, 0, 3, _SLICE_SALT)
        shard_of = _bucket(fp, 0, 2, _SHARD_SALT)
        self.row = int(np.flatnonzero(slice_of == 2)[0])
        self.pos = int(np.flatnonzero(self.model.shard_ids_ == shard_of[self.row])[0])
        self.j = 1
        self.out = root / "out"  # where skunlearn forget writes
        self.out.mkdir()
        self.csv = root / "rows.csv"
        self.csv.write_text(",".join(repr(float(v)) for v in self.X[self.row]) + "\n")

    @property
    def entry(self):
        return self.model.checkpoints_[self.pos][self.j]

    def ck_file(self, entry=None):
        return self.ck / (entry or self.entry)["file"]


def _listed(model):
    return [e for c in model.checkpoints_ for e in c]


def _assert_equals_refit(w, model):
    keep = np.setdiff1d(np.arange(len(w.y)), [w.row])
    gold = _estimator(None).fit(w.X[keep], w.y[keep])
    assert_array_equal(model.shard_ids_, gold.shard_ids_)
    for a, b in zip(model.estimators_, gold.estimators_):
        assert_array_equal(a.coef_, b.coef_)
        assert_array_equal(a.intercept_, b.intercept_)
    assert_array_equal(model.predict_proba(w.X), gold.predict_proba(w.X))


def _set_payload(entry, data):
    entry["sha256"] = hashlib.sha256(data).hexdigest()
    entry["size"] = len(data)


# Each craft edits the world's model and files; returns the error expected
# once the genuine directory is named. The model is saved afterwards.
def _absolute_path(w):
    target = w.victim / w.entry["file"]
    target.write_bytes(w.ck_file().read_bytes())  # right bytes, right digest
    w.entry["file"] = str(target)
    return "not a name this model writes"


def _dotdot_path(w):
    target = w.victim / w.entry["file"]
    target.write_bytes(w.ck_file().read_bytes())
    w.entry["file"] = f"../victim/{w.entry['file']}"
    return "not a name this model writes"


def _symlink(w):
    target = w.victim / "copy.skops"
    target.write_bytes(w.ck_file().read_bytes())  # its digest matches
    w.ck_file().unlink()
    os.symlink(target, w.ck_file())
    return "not a regular file"


def _payload_under_a_checkpoint_name(w):
    data = pickle.dumps(_Payload(w.marker))
    w.ck_file().write_bytes(data)
    _set_payload(w.entry, data)  # the digest matches the payload
    return "could not be loaded"


def _earlier_release_path_to_payload(w):
    # the format of skunlearn 0.x: an absolute path to a pickle file
    name = f"sisa-{w.model._checkpoint_token}-s{w.model.shard_ids_[w.pos]}-j1-"
    target = w.victim / (name + "0" * 12 + ".pkl")
    target.write_bytes(pickle.dumps(_Payload(w.marker)))
    w.model.checkpoints_[w.pos][w.j] = str(target)
    return "earlier skunlearn release"


def _earlier_release_path_to_any_pickle(w):
    target = w.victim / "payload.pkl"
    target.write_bytes(pickle.dumps(_Payload(w.marker)))
    w.model.checkpoints_[w.pos][w.j] = str(target)
    return "not a name this model writes"


def _tampered_file(w):
    data = bytearray(w.ck_file().read_bytes())
    data[len(data) // 2] ^= 0xFF
    w.ck_file().write_bytes(bytes(data))
    return "does not match the SHA-256 digest"


def _tampered_digest(w):
    w.entry["sha256"] = "0" * 64
    return "does not match the SHA-256 digest"


def _swapped_with_another_models_file(w):
    other = _estimator(str(w.ck), random_state=1).fit(w.X[::-1], w.y[::-1])
    theirs = next(e for c in other.checkpoints_ for e in c)
    w.ck_file().write_bytes(w.ck_file(theirs).read_bytes())
    return "bytes where the model recorded|does not match the SHA-256 digest"


def _another_models_names(w):
    other = _estimator(str(w.ck), random_state=1).fit(w.X[::-1], w.y[::-1])
    w.model.checkpoints_ = copy.deepcopy(other.checkpoints_)
    return "not a name this model writes"


def _checkpoint_dir_pointing_elsewhere(w):
    # copies of every checkpoint (names of the model's own pattern) where the
    # file says its checkpoints are: nothing there may be read or deleted
    for c in w.model.checkpoints_:
        for e in c:
            (w.victim / e["file"]).write_bytes(w.ck_file(e).read_bytes())
    w.model.checkpoint_dir = str(w.victim)
    w.model._checkpoint_dir = str(w.victim)
    return None  # with the genuine directory named, the request succeeds


CRAFTS = [
    _absolute_path,
    _dotdot_path,
    _symlink,
    _payload_under_a_checkpoint_name,
    _earlier_release_path_to_payload,
    _earlier_release_path_to_any_pickle,
    _tampered_file,
    _tampered_digest,
    _swapped_with_another_models_file,
    _another_models_names,
    _checkpoint_dir_pointing_elsewhere,
]


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def _save(model, path, fmt, monkeypatch):
    """Save ``model`` with its state as is, private runtime names included."""
    if fmt == "pickle":
        with open(path, "wb") as f:
            pickle.dump(_RawState(model), f)
        return
    with monkeypatch.context() as m:
        m.setattr(type(model), "__getstate__", lambda self: dict(vars(self)))
        sio.dump(model, path)


def _load(path):
    return sio.load(path, trusted=sio.get_untrusted_types(file=path))


def _forget(w, model_path, *extra):
    out = w.out / "new.skops"
    argv = ["forget", str(model_path), "--rows", str(w.csv), "--output", str(out)]
    return main([*argv, *extra]), out


def _cli_takes_checkpoint_dir():
    from skunlearn.cli import _parser

    argv = ["forget", "m", "--rows", "r", "--output", "o", "--checkpoint-dir", "d"]
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
            _parser().parse_args(argv)
    except SystemExit:
        return False
    return True


needs_checkpoint_dir_flag = pytest.mark.skipif(
    not _cli_takes_checkpoint_dir(),
    reason="skunlearn forget has no --checkpoint-dir option yet",
)


def _assert_inert(w, events, *, allowed=()):
    """No access outside the named files, no unpickling, no payload run."""
    assert not w.marker.exists()
    assert not _unpickled(events)
    allowed = [str(p) for p in allowed]
    for event, path in _paths(events):
        if _under(path, w.root):
            named = _under(path, w.ck) or _under(path, w.out) or path in allowed
            assert named, (event, path)


# ------------------------------------------------------------ the Python API
@pytest.mark.parametrize("fmt", ["skops", "pickle"])
@pytest.mark.parametrize("craft", CRAFTS, ids=lambda f: f.__name__.strip("_"))
def test_python_api(world, craft, fmt, monkeypatch):
    w = world
    expected = craft(w)
    path = w.root / f"model.{fmt}"
    _save(w.model, path, fmt, monkeypatch)
    victim = _snapshot(w.victim)
    with audit() as events:
        if fmt == "skops":
            model = _load(path)
        else:
            with open(path, "rb") as f:
                model = pickle.load(f)  # the user's choice: not audited below
            events.clear()
        assert "_checkpoint_dir" not in vars(model)
        before = pickle.dumps(model)
        # the directory is never taken from the file
        with pytest.raises(CheckpointError, match="directory that holds them"):
            model.unlearn(w.X[[w.row]])
        assert pickle.dumps(model) == before
        set_checkpoint_dir(model, w.ck)
        ck = _snapshot(w.ck)
        if expected is None:
            model.unlearn(w.X[[w.row]])
        else:
            with pytest.raises(CheckpointError, match=expected):
                model.unlearn(w.X[[w.row]])
            assert _snapshot(w.ck) == ck
        # even allowing pickle, nothing outside the named directory is read
        if expected is not None:
            with pytest.raises(CheckpointError):
                set_checkpoint_dir(model, w.ck, allow_pickle=True)
                model.unlearn(w.X[[w.row]])
    _assert_inert(w, events, allowed=[path])
    assert _snapshot(w.victim) == victim
    if craft is _symlink:
        opened = [p for e, p in _paths(events) if e == "open"]
        assert str(w.ck_file()) not in opened


def test_a_crafted_directory_is_ignored_and_the_named_one_gives_a_refit(
    world, monkeypatch
):
    w = world
    _checkpoint_dir_pointing_elsewhere(w)
    path = w.root / "model.skops"
    _save(w.model, path, "skops", monkeypatch)
    victim = _snapshot(w.victim)
    assert len(victim) == len(_listed(w.model))  # the model's names, all there
    with audit() as events:
        model = _load(path).set_checkpoint_dir(w.ck).unlearn(w.X[[w.row]])
    _assert_equals_refit(w, model)
    _assert_inert(w, events, allowed=[path])
    assert _snapshot(w.victim) == victim
    # the superseded files went from the named directory, and only there
    assert set(os.listdir(w.ck)) == {e["file"] for e in _listed(model)}


def test_superseded_files_are_deleted_only_when_they_are_the_models(world):
    # A request that restarts a shard from its first slice reads none of its
    # checkpoints and supersedes them all. A listed name that is now a link
    # (to a file with the right bytes) or holds other bytes is left in place,
    # with a warning: only the files the model wrote are deleted.
    w = world
    fp = row_fingerprints(w.X)
    first = np.flatnonzero(
        (_bucket(fp, 0, 3, _SLICE_SALT) == 0)
        & (_bucket(fp, 0, 2, _SHARD_SALT) == w.model.shard_ids_[w.pos])
    )[0]
    link, changed = (w.ck_file(e) for e in w.model.checkpoints_[w.pos])
    target = w.victim / "copy.skops"
    target.write_bytes(link.read_bytes())
    link.unlink()
    os.symlink(target, link)
    changed.write_bytes(b"someone else's file")
    victim = _snapshot(w.victim)
    with audit() as events:
        with pytest.warns(RuntimeWarning, match="were not deleted") as record:
            w.model.unlearn(w.X[[first]])
    message = str(record[0].message)
    assert link.name in message and changed.name in message
    assert os.path.islink(link) and changed.read_bytes() == b"someone else's file"
    assert _snapshot(w.victim) == victim
    _assert_inert(w, events)
    listed = {e["file"] for e in _listed(w.model)}
    assert set(os.listdir(w.ck)) == listed | {link.name, changed.name}


# ---------------------------------------------------------- skunlearn forget
@pytest.mark.parametrize("craft", CRAFTS, ids=lambda f: f.__name__.strip("_"))
def test_cli_without_checkpoint_dir(world, craft, monkeypatch, capsys):
    w = world
    craft(w)
    path = w.root / "model.skops"
    _save(w.model, path, "skops", monkeypatch)
    before = _snapshot(w.root)
    with audit() as events:
        status, out = _forget(w, path)
    assert status == 1
    assert "--checkpoint-dir" in capsys.readouterr().err
    assert not out.exists()
    assert _snapshot(w.root) == before
    _assert_inert(w, events, allowed=[path, w.csv])


@needs_checkpoint_dir_flag
@pytest.mark.parametrize("allow_pickle", [False, True], ids=["skops", "allow-pickle"])
@pytest.mark.parametrize("craft", CRAFTS, ids=lambda f: f.__name__.strip("_"))
def test_cli_with_checkpoint_dir(world, craft, allow_pickle, monkeypatch, capsys):
    w = world
    expected = craft(w)
    path = w.root / ("model.pkl" if allow_pickle else "model.skops")
    _save(w.model, path, "pickle" if allow_pickle else "skops", monkeypatch)
    victim = _snapshot(w.victim)
    before = _snapshot(w.ck)
    extra = ["--checkpoint-dir", str(w.ck)] + ["--allow-pickle"] * allow_pickle
    with audit() as events:
        status, out = _forget(w, path, *extra)
    err = capsys.readouterr().err
    if allow_pickle:  # the model file itself is unpickled: the user allowed it
        events[:] = [e for e in events if e[0] != "pickle.find_class"]
    if expected is None:
        assert status == 0, err
    else:
        assert status == 1, err
        assert not out.exists()
        assert _snapshot(w.ck) == before
    _assert_inert(w, events, allowed=[path, w.csv])
    assert _snapshot(w.victim) == victim


@needs_checkpoint_dir_flag
def test_cli_genuine_model_with_checkpoint_dir_equals_refit(world, capsys):
    w = world
    path = w.root / "model.skops"
    sio.dump(w.model, path)
    status, out = _forget(w, path, "--checkpoint-dir", str(w.ck))
    assert status == 0, capsys.readouterr().err
    model = _load(out).set_checkpoint_dir(w.ck)
    _assert_equals_refit(w, model)
    listed = {e["file"] for e in _listed(model)}
    assert set(os.listdir(w.ck)) == listed  # superseded files deleted


def test_cli_refuses_pickle_model_files_without_allow_pickle(world, capsys):
    w = world
    for name in ("model.pkl", "model.joblib", "model.skops"):
        path = w.root / name
        path.write_bytes(pickle.dumps(_Payload(w.marker)))
        with audit() as events:
            status, out = _forget(w, path)
        assert status == 2
        assert "--allow-pickle" in capsys.readouterr().err
        assert not out.exists()
        _assert_inert(w, events, allowed=[path, w.csv])


@pytest.mark.parametrize(
    "function", [eval, exec, os.system, np.load], ids=lambda f: f.__name__
)
def test_cli_refuses_skops_files_that_name_functions(world, function, capsys):
    # skops can be asked to return a function; the CLI trusts no function of
    # builtins, os or numpy, so the file is refused before anything is built
    w = world
    model = clone(w.model).set_params(checkpoint_dir=None).fit(w.X, w.y)
    model.hook_ = function
    path = w.root / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    name = next(t for t in untrusted if t.endswith("." + function.__name__))
    with audit() as events:
        status, out = _forget(w, path)
    err = capsys.readouterr().err
    assert status == 2, err
    assert name in err and "not trusted" in err
    assert not out.exists()
    _assert_inert(w, events, allowed=[path, w.csv])


# ------------------------------------------------------------------ nets
# A net's torch components are saved as arrays and rebuilt from its own
# parameters; a file holding skorch's pickled bytes (its own format) is
# refused before anything is unpickled, whatever types the user trusts.
def _fitted_net():
    torch = pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from skunlearn.neural_net import UnlearningNeuralNetClassifier

    X = np.random.RandomState(0).rand(40, 3).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(np.int64)
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Softmax(dim=-1))
    return UnlearningNeuralNetClassifier(module, max_epochs=1, verbose=0).fit(X, y)


def test_net_file_with_pickled_torch_components_is_refused(tmp_path, monkeypatch):
    from skunlearn.io import load

    net = _fitted_net()
    marker = tmp_path / "marker"
    state = net.__getstate__()
    # skorch's format: the torch components as pickled bytes
    state["__cuda_dependent_attributes__"] = pickle.dumps(_Payload(marker))
    state["torch_load_kwargs"] = {"weights_only": False}
    monkeypatch.setattr(type(net), "__getstate__", lambda self: state)
    path = tmp_path / "net.skops"
    sio.dump(net, path)
    monkeypatch.undo()
    with audit() as events:
        with pytest.raises(ValueError, match="never unpickles"):
            load(path)
    assert not _unpickled(events)
    assert not marker.exists()


def test_net_file_naming_a_non_module_class_is_refused(tmp_path, monkeypatch):
    from skunlearn.io import load

    net = _fitted_net()
    state = net.__getstate__()
    # the module parameter rebuilt as a trusted type that is not a module
    state["module"]["__torch_value__"]["module_class"] = SISAClassifier
    monkeypatch.setattr(type(net), "__getstate__", lambda self: state)
    path = tmp_path / "net.skops"
    sio.dump(net, path)
    monkeypatch.undo()
    with audit() as events:
        with pytest.raises(TypeError, match="not a module class"):
            load(path)
    assert not _unpickled(events)


def test_net_file_naming_a_function_as_module_is_refused(tmp_path):
    from skunlearn.io import load

    net = _fitted_net()
    net.module = os.system  # what a crafted file could name
    path = tmp_path / "net.skops"
    sio.dump(net, path)
    from skops.io.exceptions import UntrustedTypesFoundException

    with audit() as events:
        with pytest.raises(UntrustedTypesFoundException, match="system"):
            load(path)
    assert not _unpickled(events)
