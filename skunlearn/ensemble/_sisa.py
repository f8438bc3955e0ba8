"""SISA shard ensembles: exact unlearning for any estimator.

SISA (Sharded, Isolated, Sliced, Aggregated; Bourtoule et al., "Machine
Unlearning", IEEE S&P 2021) splits the training rows into disjoint shards,
fits one sub-model per shard and aggregates their predictions. Forgetting a
row retrains only the shard that held it. For estimators that learn
incrementally, each shard is further cut into slices that are learned one
after the other, with a checkpoint of the sub-model after each slice:
forgetting a row restarts its shard from the checkpoint taken just before the
row's slice.

Here a row's shard and slice are a hash of the row's content fingerprint and
the seed, never of its position or of the other rows. A row therefore lands in
the same shard and slice whatever else is in the training set, and so
forgetting rows produces exactly the ensemble that the same SISA, fitted on
the retained rows, produces: the same shards, the same sub-models (their
``random_state`` derives from the seed and the shard index), the same
predictions.

Checkpoint files (``checkpoint_dir``) are treated as untrusted input. The
model stores only their file names (``sisa-<token>-s<shard>-j<slice>-<nonce>
.skops``, no directory part) with their sizes and SHA-256 digests; the
directory is runtime state, set at fit from ``checkpoint_dir`` or named with
:meth:`set_checkpoint_dir`, and never saved with the model (pickle and skops
drop it). A file is read only from that directory, only under a name of the
model's own pattern, never through a symbolic link, and parsed (with skops,
trusting no type beyond those of the shard's own sub-model) only after its
digest matched. Files are deleted only there, only under names the model
lists, and only when they are the files the model wrote (same size and
digest). So nothing in a model file can make :meth:`unlearn` read, unpickle,
write or delete a file the user did not name.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
import hashlib
import hmac
import os
import pickle
import re
import secrets
import stat
import uuid
import warnings
import weakref
from numbers import Integral
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    clone,
)
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .._commit import external_effect, model_lock
from .._ledger import row_fingerprints
from ..base import UnlearningMixin, UnlearnUpdate
from ..exceptions import CheckpointError
from ..utils._hash_kernels import finalize as _finalize
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ..utils._typing import ArrayLike, MatrixLike

__all__ = ["CheckpointError", "SISAClassifier", "SISARegressor", "set_checkpoint_dir"]

_MAX_INT = np.iinfo(np.int32).max
_SHARD_SALT = 0x5A5A_0001
_SLICE_SALT = 0x5A5A_0002


# --------------------------------------------------------------------------
# Assignment of rows to shards and slices: a function of content and seed only
# --------------------------------------------------------------------------
def _bucket(fingerprints, seed, n_buckets, salt):
    """Bucket in ``[0, n_buckets)`` of each row, from its fingerprint and the seed.

    The two 64-bit lanes of the fingerprint are mixed with keys drawn from
    ``(seed, salt)``; the result does not depend on the row's position or on
    the other rows, which is what makes forgetting equal refitting.
    """
    fingerprints = np.asarray(fingerprints, dtype=np.uint64).reshape(-1, 2)
    if n_buckets == 1:
        return np.zeros(fingerprints.shape[0], dtype=np.intp)
    k = np.random.SeedSequence([int(seed), salt]).generate_state(3, dtype=np.uint64)
    a = _finalize(fingerprints[:, 0] ^ k[0])
    b = _finalize(fingerprints[:, 1] ^ k[1])
    h = _finalize(a ^ (b + k[2]))
    return (h % np.uint64(n_buckets)).astype(np.intp)


def _shard_seed(seed, shard):
    """Seed of a shard's sub-model: a function of (seed, shard index) only."""
    return int(np.random.SeedSequence([int(seed), int(shard)]).generate_state(1)[0])


def _set_random_states(estimator, seed):
    """Give every ``random_state`` parameter of ``estimator`` a derived integer.

    Nested parameters (pipeline steps) are set in sorted order from one
    ``RandomState(seed)``, so a shard's sub-model is the same at each refit.
    """
    rng = np.random.RandomState(seed)
    to_set = {}
    for key in sorted(estimator.get_params(deep=True)):
        if key == "random_state" or key.endswith("__random_state"):
            to_set[key] = int(rng.randint(_MAX_INT))
    if to_set:
        estimator.set_params(**to_set)
    return estimator


# --------------------------------------------------------------------------
# Training one shard (runs in joblib workers, possibly on a Dask cluster)
# --------------------------------------------------------------------------
def _subset(X, idx):
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    return X[idx]


def _train_shard(
    template,
    mode,
    X,
    y,
    sample_weight,
    slice_ids,
    n_slices,
    classes,
    start_slice,
    start_state,
    slice_epochs,
    weight_name="sample_weight",
):
    """Fit one shard; return ``(model, checkpoints, n_rows_trained)``.

    ``checkpoints[i]`` is the model after slice ``start_slice + i`` for the
    slices before the last one (the state after the last slice is the model).
    ``None`` stands for "nothing learned yet" (all earlier slices empty).
    Nothing passed in is modified: the start state is copied first.
    """
    fit_kw = {} if sample_weight is None else {weight_name: sample_weight}
    if mode == "constant":
        # The shard saw one class: it votes for it. Many classifiers refuse
        # one-class data, so the shard is a prior-predicting dummy.
        return (
            DummyClassifier(strategy="prior").fit(X, y, sample_weight=sample_weight),
            [],
            len(y),
        )
    if mode == "fit":
        return clone(template).fit(X, y, **fit_kw), [], len(y)

    model = copy.deepcopy(start_state) if start_state is not None else None
    checkpoints = []
    n_trained = 0
    for j in range(start_slice, n_slices):
        if mode == "partial_fit":
            idx = np.flatnonzero(slice_ids == j)
        else:  # warm_start: the training set grows slice by slice
            grows = np.any(slice_ids == j)
            idx = np.flatnonzero(slice_ids <= j) if grows else np.empty(0, np.intp)
        if sample_weight is not None and not np.any(sample_weight[idx] > 0):
            idx = idx[:0]  # nothing to learn from rows that all weigh zero
        if idx.size:
            if model is None:
                model = clone(template)
            X_j, y_j = _subset(X, idx), y[idx]
            kw = {} if sample_weight is None else {weight_name: sample_weight[idx]}
            if mode == "partial_fit":
                if classes is not None:
                    kw["classes"] = classes
                for _ in range(slice_epochs):
                    model.partial_fit(X_j, y_j, **kw)
                    n_trained += idx.size
            else:
                if hasattr(model, "classes_") and not np.array_equal(
                    model.classes_, np.unique(y_j)
                ):
                    # a class the earlier slices lacked: the solution has a
                    # new shape, so there is nothing to warm start from (the
                    # same rule, on the same rows, as a refit's)
                    model = clone(template)
                model.fit(X_j, y_j, **kw)
                n_trained += idx.size
        if j < n_slices - 1:
            checkpoints.append(None if model is None else copy.deepcopy(model))
    return model, checkpoints, n_trained


# --------------------------------------------------------------------------
# Checkpoint storage: in memory, or files in a directory named at run time
# --------------------------------------------------------------------------
# A checkpoint file name: the model's token (a fresh uuid4 at each fit), the
# shard and slice, and a nonce that makes every written file a new name. ASCII
# only, no separator, no "..": a name can only designate a file directly in
# the directory named at run time. ".pkl": names of older releases' files.
_CHECKPOINT_NAME = re.compile(
    r"sisa-(?P<token>[0-9a-f]{32})-s(?P<shard>[0-9]{1,9})-j(?P<slice>[0-9]{1,9})"
    r"-[0-9a-f]{12}\.(?P<ext>skops|pkl)"
)
_SHA256 = re.compile(r"[0-9a-f]{64}")

_NO_DIRECTORY = (
    "This {name} keeps its slice checkpoints in files, and the directory that "
    "holds them is not known: it is never taken from a saved model. Name it "
    "with model.set_checkpoint_dir(path) (skunlearn forget --checkpoint-dir "
    "PATH), or refit the model. Nothing was forgotten."
)


def _import_skops(what):
    """``skops.io``, or an ImportError that names the extra to install."""
    try:
        import skops.io as sio
    except ImportError as exc:
        raise ImportError(
            f"{what} needs skops, the format of SISA checkpoint files: install "
            "the 'skops' extra (pip install 'skunlearn[skops]'), or use "
            "checkpoint_dir=None to keep checkpoints in memory."
        ) from exc
    return sio


def _parse_name(name, token):
    """The match of a checkpoint name of model ``token``, or None."""
    if not isinstance(name, str) or not isinstance(token, str):
        return None
    m = _CHECKPOINT_NAME.fullmatch(name)
    if m is None or m["token"] != token:
        return None
    return m


def _is_file_entry(entry):
    return isinstance(entry, dict)


def _write_checkpoint(directory, token, shard, slice_, model, written):
    """Write ``model`` to a new file; return its entry ``{file, sha256, size}``.

    The name is appended to ``written`` as soon as the file exists, so that a
    failure anywhere after it removes the file.
    """
    sio = _import_skops("checkpoint_dir")
    try:
        data = sio.dumps(model)
    except Exception as exc:
        raise TypeError(
            f"SISA checkpoint files are skops files, and skops cannot save this "
            f"{type(model).__name__}: {exc}. Use checkpoint_dir=None to keep the "
            "checkpoints in memory."
        ) from exc
    name = f"sisa-{token}-s{int(shard)}-j{int(slice_)}-{secrets.token_hex(6)}.skops"
    # "x": a new file, never an existing one (nor what a link there points to)
    with open(os.path.join(directory, name), "xb") as f:
        written.append(name)
        f.write(data)
    return {
        "file": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


def _read_regular_file(directory, name, size=None):
    """Bytes of regular file ``name`` of ``directory``, never through a link."""
    path = os.path.join(directory, name)
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        raise CheckpointError(
            f"The SISA checkpoint file {name!r} is missing from {directory}: the "
            "checkpoints of a model copy are deleted when another copy forgets a "
            "row they saw, or the directory is not the model's. Refit the model "
            "or name its directory. Nothing was forgotten."
        ) from None
    if not stat.S_ISREG(before.st_mode):
        raise CheckpointError(
            f"The SISA checkpoint {name!r} in {directory} is not a regular file "
            "(a symbolic link, a directory or a device): it was not read. "
            "Nothing was forgotten."
        )
    if size is not None and before.st_size != size:
        raise CheckpointError(
            f"The SISA checkpoint file {name!r} in {directory} has "
            f"{before.st_size} bytes where the model recorded {size}: it was "
            "changed since it was written (or is another model's). It was not "
            "read. Nothing was forgotten."
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:  # replaced by a link since lstat: ELOOP
        raise CheckpointError(
            f"The SISA checkpoint {name!r} in {directory} could not be opened as "
            f"a regular file ({exc.strerror}). Nothing was forgotten."
        ) from None
    with os.fdopen(fd, "rb") as f:
        after = os.fstat(f.fileno())
        if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (
            before.st_dev,
            before.st_ino,
        ):
            raise CheckpointError(
                f"The SISA checkpoint {name!r} in {directory} changed while it "
                "was opened: it was not read. Nothing was forgotten."
            )
        return f.read() if size is None else f.read(size + 1)


def _skops_types(model):
    """The types skops needs trusted to load ``model`` (an in-memory object)."""
    sio = _import_skops("Reading checkpoint files")
    return sorted(sio.get_untrusted_types(data=sio.dumps(model)))


def _read_checkpoint_file(directory, entry, *, token, shard, slice_, like):
    """The sub-model stored by ``entry``, checked before it is parsed.

    ``like`` is the shard's current sub-model: the checkpoint must be of its
    type, and skops trusts no type beyond the ones ``like`` holds.
    """
    name = entry.get("file")
    digest = entry.get("sha256")
    size = entry.get("size")
    m = _parse_name(name, token)
    if m is not None and m["ext"] == "pkl":
        raise CheckpointError(
            f"The SISA checkpoint {name!r} was written by an earlier skunlearn "
            "release as a pickle file, which is not read (unpickling runs code "
            "from the file). Convert this model's checkpoints with "
            "model.set_checkpoint_dir(path, allow_pickle=True) if you trust "
            "the files (skunlearn forget --checkpoint-dir PATH --allow-pickle), "
            "or refit the model. Nothing was forgotten."
        )
    if (
        m is None
        or int(m["shard"]) != shard
        or int(m["slice"]) != slice_
        or not isinstance(digest, str)
        or _SHA256.fullmatch(digest) is None
        or not isinstance(size, int)
        or isinstance(size, bool)
        or size < 0
    ):
        raise CheckpointError(
            f"The model lists {name!r} as the checkpoint of shard {shard}, slice "
            f"{slice_}, which is not a name this model writes (or its digest is "
            "not recorded): the file was not read. The model file may have been "
            "crafted. Nothing was forgotten."
        )
    data = _read_regular_file(directory, name, size)
    if len(data) != size or not hmac.compare_digest(
        hashlib.sha256(data).hexdigest(), digest
    ):
        raise CheckpointError(
            f"The SISA checkpoint file {name!r} in {directory} does not match the "
            "SHA-256 digest the model recorded for it: it was changed since it was "
            "written (tampered with, or another model's file). It was not parsed. "
            "Nothing was forgotten."
        )
    sio = _import_skops("Reading checkpoint files")
    try:
        model = sio.loads(data, trusted=_skops_types(like))
    except Exception as exc:
        raise CheckpointError(
            f"The SISA checkpoint file {name!r} in {directory} could not be loaded "
            f"with the types of the shard's sub-model: {exc}. Nothing was "
            "forgotten."
        ) from exc
    if type(model) is not type(like):
        raise CheckpointError(
            f"The SISA checkpoint file {name!r} holds a {type(model).__name__}, "
            f"not a {type(like).__name__} like its shard. Nothing was forgotten."
        )
    return model


def _remove_checkpoint_files(directory, token, names):
    """Delete files ``names`` of ``directory`` that are model ``token``'s.

    Only names of the model's own pattern are touched (a link is removed, not
    its target); other names are ignored. Never raises: a file that cannot be
    deleted is reported in a warning, since it may hold forgotten rows.
    """
    if directory is None:
        return
    failed = []
    for name in names:
        if _parse_name(name, token) is None:
            continue
        try:
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            pass
        except OSError as exc:
            failed.append(f"{name} ({exc.strerror})")
    if failed:
        warnings.warn(
            f"Could not delete the superseded SISA checkpoint files "
            f"{', '.join(failed)} in {directory}; they may hold forgotten rows: "
            "delete them.",
            RuntimeWarning,
            stacklevel=3,
        )


def _legacy_entry(entry, token):
    """The entry for a checkpoint path saved by an earlier release.

    The path is never followed: only its last component is kept, and only when
    it is a checkpoint name of the model, for :meth:`set_checkpoint_dir` to
    convert from the directory the user names. Entries that are not paths are
    kept as they are.
    """
    if not isinstance(entry, str | os.PathLike):
        return entry
    name = os.path.basename(os.fspath(entry)) if isinstance(entry, str) else None
    m = _parse_name(name, token)
    return {
        "file": name if m is not None and m["ext"] == "pkl" else None,
        "sha256": None,
        "size": None,
    }


def _deletable(directory, token, entries):
    """Names of the files of ``entries`` that may be deleted, and the others.

    A file is deleted only when it is the one the model wrote: a regular file
    of the model's name pattern whose size and SHA-256 digest are the ones the
    entry records (pickle files of an earlier release, which have no digest,
    by name only). Missing files need nothing; the others are left in place,
    returned as ``"name (reason)"`` for a warning.
    """
    names, left = [], []
    if directory is None:
        return names, left
    for entry in entries:
        name = entry.get("file")
        m = _parse_name(name, token)
        if m is None:
            continue
        if m["ext"] == "pkl":
            names.append(name)
            continue
        digest, size = entry.get("sha256"), entry.get("size")
        try:
            st = os.lstat(os.path.join(directory, name))
        except FileNotFoundError:
            continue
        except OSError as exc:
            left.append(f"{name} ({exc.strerror})")
            continue
        if not stat.S_ISREG(st.st_mode):
            left.append(f"{name} (not a regular file)")
            continue
        try:
            if not isinstance(digest, str) or st.st_size != size:
                raise CheckpointError
            data = _read_regular_file(directory, name, size)
            if len(data) != size or not hmac.compare_digest(
                hashlib.sha256(data).hexdigest(), digest
            ):
                raise CheckpointError
        except (CheckpointError, OSError):
            left.append(f"{name} (not the file the model wrote)")
            continue
        names.append(name)
    return names, left


def _warn_left(directory, left):
    if left:
        warnings.warn(
            f"The superseded SISA checkpoint files {', '.join(left)} in {directory} "
            "were not deleted, as they are not the files the model wrote; they may "
            "hold forgotten rows: check and delete them.",
            RuntimeWarning,
            stacklevel=3,
        )


# The checkpoint transaction of each request in progress, by model (see
# ``_BaseSISA.unlearn``).
_REQUEST_TXNS: weakref.WeakKeyDictionary[Any, _CheckpointTxn] = (
    weakref.WeakKeyDictionary()
)


class _CheckpointTxn:
    """The files one request wrote, removed unless the request commits."""

    def __init__(self):
        self.directory = None
        self.token = None
        self.written = []
        self.left = []  # superseded files not deleted (see _deletable)
        self.committed = False

    def abort(self):
        if not self.committed:
            _remove_checkpoint_files(self.directory, self.token, self.written)
            self.written = []


class _BaseSISA(UnlearningMixin, MetaEstimatorMixin, BaseEstimator):
    """Shared machinery of :class:`SISAClassifier` and :class:`SISARegressor`."""

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_shards": [Interval(Integral, 1, None, closed="left")],
        "n_slices": [Interval(Integral, 1, None, closed="left")],
        "slice_epochs": [Interval(Integral, 1, None, closed="left")],
        "checkpoint_dir": [str, os.PathLike, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        n_shards: int = 5,
        n_slices: int = 1,
        slice_epochs: int = 1,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.estimator = estimator
        self.n_shards = n_shards
        self.n_slices = n_slices
        self.slice_epochs = slice_epochs
        self.checkpoint_dir = checkpoint_dir
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # Set by each subclass. They must not be derived from the tags: the tags
    # are derived from the base estimator, and with ``estimator=None`` the
    # base estimator is the default one, so asking the tags for it recurses.
    _is_classifier = False
    _default_estimator = None

    # Old pickles stored the fitted state under private names: their public
    # names since they became fitted attributes.
    _RENAMED_STATE = {
        "_seed": "seed_",
        "_mode": "training_mode_",
        "_n_shards": "n_shards_",
        "_n_slices": "n_slices_",
    }

    # Where the checkpoint files are (``fit`` and ``unlearn`` write there) is
    # how the work runs, not what is fit: it may change after fit, and the
    # directory in use is runtime state (see ``set_checkpoint_dir``).
    _execution_params = (*UnlearningMixin._execution_params, "checkpoint_dir")

    # Attributes that only hold in this process: never saved (pickle, skops,
    # joblib), so that no file can choose them.
    _RUNTIME_STATE = ("_checkpoint_dir", "_checkpoint_txn")

    def __getstate__(self):
        state = dict(super().__getstate__())
        for name in self._RUNTIME_STATE:
            state.pop(name, None)
        # A path object as a string: every skops version rebuilds it, and a
        # loaded model never uses it (the directory is named at run time).
        if isinstance(state.get("checkpoint_dir"), os.PathLike):
            state["checkpoint_dir"] = os.fspath(state["checkpoint_dir"])
        return state

    def __setstate__(self, state):
        state = dict(state)
        for old, new in self._RENAMED_STATE.items():
            if old in state:
                value = state.pop(old)
                state.setdefault(new, value)
        # A loaded model never takes a directory from its file (a crafted file
        # could name any); the user names it with set_checkpoint_dir.
        for name in self._RUNTIME_STATE:
            state.pop(name, None)
        fitted = state.get("_fit_params_")
        if isinstance(fitted, dict) and "checkpoint_dir" in fitted:
            # recorded as a shaping parameter by earlier releases
            state["_fit_params_"] = {
                k: v for k, v in fitted.items() if k != "checkpoint_dir"
            }
        ckpts = state.get("checkpoints_")
        if isinstance(ckpts, list) and any(
            isinstance(c, list) and any(isinstance(e, str | os.PathLike) for e in c)
            for c in ckpts
        ):
            state["checkpoints_"] = [
                [_legacy_entry(e, state.get("_checkpoint_token")) for e in c]
                if isinstance(c, list)
                else c
                for c in ckpts
            ]
        super().__setstate__(state)

    def __copy__(self):
        # An in-process copy keeps the directory in use (a composite model
        # plans a request on a copy); pickling and skops drop it.
        new = type(self).__new__(type(self))
        new.__setstate__(self.__getstate__())
        new._copy_runtime_state(self)
        return new

    def __deepcopy__(self, memo):
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        new._copy_runtime_state(self)
        return new

    def _copy_runtime_state(self, other):
        directory = other.__dict__.get("_checkpoint_dir")
        if directory is not None:
            self._checkpoint_dir = directory

    # ----------------------------------------------------- checkpoint files
    def _file_entries(self):
        """``(position, slice, entry)`` of each checkpoint kept in a file."""
        return [
            (i, j, entry)
            for i, ckpts in enumerate(getattr(self, "checkpoints_", None) or [])
            if isinstance(ckpts, list)
            for j, entry in enumerate(ckpts)
            if _is_file_entry(entry)
        ]

    def set_checkpoint_dir(
        self, path: str | os.PathLike[str], *, allow_pickle: bool = False
    ) -> Self:
        """Name the directory that holds this model's checkpoint files.

        A model fit with ``checkpoint_dir`` keeps its slice checkpoints in
        files; it stores their names and SHA-256 digests, never where they
        are. A model loaded from a file (pickle, joblib, skops) does not know
        the directory: before :meth:`unlearn` can read or replace checkpoints,
        name it here. Files are then read only from ``path``, only under the
        names the model lists, and only when their digest matches; files the
        model's requests supersede are deleted from ``path`` only.

        Parameters
        ----------
        path : str or path-like
            An existing directory, usually the model's ``checkpoint_dir``.

            A model that keeps its checkpoints in memory ignores it.

        allow_pickle : bool, default=False
            Convert the pickle checkpoint files of a model saved by an earlier
            skunlearn release (listed by name, in ``path``) to checkpoint files
            of this release, and delete them. Unpickling runs code chosen by
            whoever wrote the files: only for files you trust. Without it such
            a model refuses requests that need a checkpoint.

        Returns
        -------
        self : object
            The estimator.

        Raises
        ------
        CheckpointError
            If ``path`` is not a directory, or a pickle checkpoint cannot be
            converted (the model is then unchanged).
        ImportError
            If the model keeps checkpoint files and skops is not installed.
        """
        check_is_fitted(self)
        if not isinstance(path, str | os.PathLike):
            raise TypeError(
                "The checkpoint directory must be a str or path-like, got "
                f"{type(path).__name__}."
            )
        directory = os.path.abspath(os.fspath(path))
        if not os.path.isdir(directory):
            raise CheckpointError(
                f"The checkpoint directory {directory} does not exist or is not a "
                "directory."
            )
        if not self._file_entries():
            return self  # its checkpoints are in memory (or it has none)
        _import_skops("Reading checkpoint files")
        lock = model_lock(self)
        # a write: readers wait for it rather than see attributes change
        with lock.writer, lock.exclusive():
            if allow_pickle:
                self._convert_legacy_checkpoints(directory)
            self._checkpoint_dir = directory
        return self

    def _convert_legacy_checkpoints(self, directory):
        """Rewrite the pickle checkpoints of an earlier release as skops files."""
        token = self.__dict__.get("_checkpoint_token")
        legacy = [
            (i, j, entry)
            for i, j, entry in self._file_entries()
            if entry.get("sha256") is None
        ]
        if not legacy:
            return
        written = []
        checkpoints = [list(c) for c in self.checkpoints_]
        try:
            for i, j, entry in legacy:
                name = entry.get("file")
                m = _parse_name(name, token)
                if (
                    m is None
                    or m["ext"] != "pkl"
                    or int(m["shard"]) != int(self.shard_ids_[i])
                    or int(m["slice"]) != j
                ):
                    raise CheckpointError(
                        f"The model lists {name!r} as a checkpoint, which is not a "
                        "checkpoint name of this model: it was not read. Refit "
                        "the model."
                    )
                model = pickle.loads(_read_regular_file(directory, name))
                checkpoints[i][j] = _write_checkpoint(
                    directory, token, int(m["shard"]), j, model, written
                )
        except BaseException:
            _remove_checkpoint_files(directory, token, written)
            raise
        self.checkpoints_ = checkpoints
        _remove_checkpoint_files(
            directory, token, [entry["file"] for _, _, entry in legacy]
        )

    # Read-only aliases of the fitted attributes under their former private
    # names, kept for one release for code that read them; to be removed.
    _seed = property(lambda self: self.seed_)
    _mode = property(lambda self: self.training_mode_)
    _n_shards = property(lambda self: self.n_shards_)
    _n_slices = property(lambda self: self.n_slices_)

    # ----------------------------------------------------------- validation
    def _base_estimator(self):
        if self.estimator is not None:
            return self.estimator
        return self._default_estimator()

    def _check_X(self, X, *, reset, min_samples=1):
        """Validate ``X`` as the sub-models' input (DataFrames pass through)."""
        inner = get_tags(self._base_estimator()).input_tags
        if hasattr(X, "iloc") and hasattr(X, "columns"):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[0] < min_samples:
                raise ValueError(
                    f"Found array with {X.shape[0]} sample(s) (shape={X.shape}) "
                    f"while a minimum of {min_samples} is required by "
                    f"{type(self).__name__}."
                )
            return X
        numeric = not (inner.string or inner.categorical)
        return validate_data(
            self,
            X,
            reset=reset,
            accept_sparse="csr" if inner.sparse else False,
            dtype="numeric" if numeric else None,
            ensure_all_finite="allow-nan" if inner.allow_nan else True,
            ensure_min_samples=min_samples,
        )

    def _check_y_given(self, y):
        if y is None:
            raise ValueError(
                f"This {type(self).__name__} estimator requires y to be passed, "
                "but the target y is None."
            )

    def _fit_kw_name(self):
        """Name under which ``sample_weight`` reaches a sub-model's ``fit``."""
        base = self.estimator_
        if isinstance(base, Pipeline):
            # Pipeline.fit routes step parameters by name: weights go to the
            # final estimator, as they would when fitting it alone.
            return f"{base.steps[-1][0]}__sample_weight"
        return "sample_weight"

    def _training_mode(self, base):
        if self.n_slices == 1:
            return "fit"
        if hasattr(base, "partial_fit"):
            return "partial_fit"
        if "warm_start" in base.get_params(deep=False):
            return "warm_start"
        raise ValueError(
            f"n_slices={self.n_slices} needs an estimator that learns "
            "incrementally (a partial_fit method or a warm_start parameter); "
            f"{type(base).__name__} has neither. Use n_slices=1."
        )

    def _seed_from_random_state(self):
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(_MAX_INT))

    def _shard_template(self, shard):
        template = _set_random_states(
            clone(self.estimator_), _shard_seed(self.seed_, shard)
        )
        if self.training_mode_ == "warm_start":
            template.set_params(warm_start=True)
        return template

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight):
        base = self._base_estimator()
        mode = self._training_mode(base)
        directory = None
        if self.checkpoint_dir is not None:
            _import_skops("checkpoint_dir")  # before any work
            directory = os.path.abspath(os.fspath(self.checkpoint_dir))
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        self.seed_ = self._seed_from_random_state()
        self.training_mode_ = mode
        # What fixes the ensemble's layout is frozen at fit: changing the
        # parameters later must not change how rows map to shards.
        self.estimator_ = clone(base)
        self.n_shards_, self.n_slices_ = self.n_shards, self.n_slices
        self._slice_epochs = self.slice_epochs
        fp = row_fingerprints(X)
        shard_of = _bucket(fp, self.seed_, self.n_shards_, _SHARD_SALT)
        slice_of = _bucket(fp, self.seed_, self.n_slices_, _SLICE_SALT)
        shards, rows = [], []
        for s in np.unique(shard_of):
            idx = np.flatnonzero(shard_of == s)
            # A shard whose rows all weigh zero has nothing to learn: like an
            # empty shard, it has no sub-model.
            if sample_weight is None or np.any(sample_weight[idx] > 0):
                shards.append(s)
                rows.append(idx)
        if not shards:
            raise ValueError(
                "sample_weight is zero for every row: there is nothing to fit."
            )
        shards = np.asarray(shards, dtype=np.intp)
        jobs = [
            self._shard_job(s, idx, X, y, sample_weight, slice_of[idx], 0, None)
            for s, idx in zip(shards, rows)
        ]
        results = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(jobs)

        # The previous fit's files (listed by the model, in the directory in
        # use) go once the new ones are written; on failure the new ones go.
        old_dir = self.__dict__.get("_checkpoint_dir")
        old_token = self.__dict__.get("_checkpoint_token")
        old_entries = [entry for _, _, entry in self._file_entries()]
        token = uuid.uuid4().hex
        written = []
        try:
            if directory is not None:
                os.makedirs(directory, exist_ok=True)
            checkpoints = [
                self._store_checkpoints(directory, token, s, 0, ckpts, written)
                for s, (_, ckpts, _) in zip(shards, results)
            ]
        except BaseException:
            _remove_checkpoint_files(directory, token, written)
            raise
        self._checkpoint_token = token
        if directory is None:
            self.__dict__.pop("_checkpoint_dir", None)
        else:
            self._checkpoint_dir = directory
        names, left = _deletable(old_dir, old_token, old_entries)
        _remove_checkpoint_files(old_dir, old_token, names)
        _warn_left(old_dir, left)
        self.estimators_ = [model for model, _, _ in results]
        self.shard_ids_ = shards.astype(np.intp)
        self.shard_sizes_ = np.array([idx.size for idx in rows], dtype=np.intp)
        self.checkpoints_ = checkpoints
        if hasattr(X, "iloc") or hasattr(X, "tocsr"):
            # The ledger keeps arrays by copy; a DataFrame or sparse matrix
            # must not stay shared with the caller, who may change it.
            X = X.copy()
        self._init_ledger(X, y, {"sample_weight": sample_weight}, keep_X=True)
        return self

    def _shard_mode(self, y_shard):
        if self._is_classifier and np.unique(y_shard).size < 2:
            return "constant"
        return self.training_mode_

    def _shard_job(self, shard, idx, X, y, sample_weight, slice_ids, start, state):
        """The delayed call that trains shard ``shard`` on rows ``idx`` of X."""
        y_s = y[idx]
        mode = self._shard_mode(y_s)
        classes = np.unique(y_s) if self._is_classifier else None
        return delayed(_train_shard)(
            self._shard_template(shard),
            mode,
            _subset(X, idx),
            y_s,
            None if sample_weight is None else sample_weight[idx],
            slice_ids,
            self.n_slices_,
            classes,
            start,
            state,
            self._slice_epochs,
            self._fit_kw_name(),
        )

    def _store_checkpoints(self, directory, token, shard, start, ckpts, written):
        """Checkpoint entries (objects, or file entries) for slices from ``start``.

        Files are written to ``directory`` under new names, appended to
        ``written``; ``None`` keeps the fitted copies in memory.
        """
        if directory is None:
            return list(ckpts)
        return [
            None
            if model is None
            else _write_checkpoint(directory, token, shard, start + i, model, written)
            for i, model in enumerate(ckpts)
        ]

    def _checkpoint_directory(self):
        """The directory new checkpoints go to: None keeps them in memory.

        A model whose checkpoints are files needs the directory named at run
        time (at fit, or by :meth:`set_checkpoint_dir`).
        """
        directory = self.__dict__.get("_checkpoint_dir")
        if directory is None and self._file_entries():
            raise CheckpointError(_NO_DIRECTORY.format(name=type(self).__name__))
        return directory

    def _load_checkpoint(self, position, slice_, directory):
        """The sub-model of ``position`` after slice ``slice_`` (a new object
        for a file; the stored one, copied by the training job, in memory)."""
        try:
            entry = self.checkpoints_[position][slice_]
        except (IndexError, TypeError, KeyError):
            raise CheckpointError(
                f"The model lists no checkpoint for slice {slice_} of shard "
                f"{int(self.shard_ids_[position])}: the model file may have been "
                "crafted. Refit the model. Nothing was forgotten."
            ) from None
        if entry is None:
            return None
        if _is_file_entry(entry):
            return _read_checkpoint_file(
                directory,
                entry,
                token=self.__dict__.get("_checkpoint_token"),
                shard=int(self.shard_ids_[position]),
                slice_=slice_,
                like=self.estimators_[position],
            )
        if isinstance(entry, str | bytes | os.PathLike) or not hasattr(entry, "fit"):
            # Paths in a model are never followed.
            raise CheckpointError(
                f"The checkpoint of slice {slice_} of shard "
                f"{int(self.shard_ids_[position])} is a {type(entry).__name__}, "
                "neither a fitted model nor a checkpoint file entry. Refit the "
                "model. Nothing was forgotten."
            )
        return entry

    # -------------------------------------------------------------- unlearn
    def _validate_forget_data(self, X, y):
        X = self._check_X(X, reset=False, min_samples=0)
        return X, self._validate_forget_target(y, X.shape[0])

    def _unlearn(self, match, X, y, **params):
        if params:
            raise TypeError(
                f"{type(self).__name__}.unlearn takes no unlearning parameters, "
                f"got {sorted(params)}."
            )
        # Checkpoint files: the directory named at run time, and the request's
        # transaction (set by ``unlearn``), which removes the files written
        # here unless the request commits.
        directory = self._checkpoint_directory()
        token = self.__dict__.get("_checkpoint_token")
        txn = _REQUEST_TXNS.get(self)
        written = []
        if txn is not None:
            txn.directory, txn.token, written = directory, token, txn.written
        ledger = self.ledger_
        # The rows' shards and slices come from their unkeyed fingerprints,
        # as at fit (the ledger's own are keyed per model, so a refit's would
        # differ): the stored rows are hashed again.
        fp = row_fingerprints(ledger.X)
        keep = ledger.alive.copy()
        keep[match.rows] = False
        shard_of = _bucket(fp, self.seed_, self.n_shards_, _SHARD_SALT)
        slice_of = _bucket(fp, self.seed_, self.n_slices_, _SLICE_SALT)
        forgotten_shards = shard_of[match.rows]
        touched = np.unique(forgotten_shards)
        position = {int(s): i for i, s in enumerate(self.shard_ids_)}

        retrain, dropped, jobs, starts = [], [], [], []
        for s in touched:
            if int(s) not in position:
                # The shard had only zero-weight rows: it has no sub-model,
                # and forgetting some of them leaves it so.
                continue
            idx = np.flatnonzero(keep & (shard_of == s))
            if idx.size == 0:
                # A refit would have no sub-model for this shard: drop it.
                dropped.append(int(s))
                continue
            X_s, y_s, props_s = ledger.take(idx)
            sw_s = props_s.get("sample_weight")
            if sw_s is not None and not np.any(sw_s > 0):
                dropped.append(int(s))
                continue
            start, state = 0, None
            old = position[int(s)]
            if self.training_mode_ != "fit" and self._shard_mode(y_s) != "constant":
                old_idx = np.flatnonzero(ledger.alive & (shard_of == s))
                same_classes = not self._is_classifier or np.array_equal(
                    np.unique(ledger.y[old_idx]), np.unique(y_s)
                )
                was_constant = isinstance(self.estimators_[old], DummyClassifier)
                if same_classes and not was_constant:
                    # Slices before the earliest touched one are unchanged:
                    # resume from the checkpoint taken just before it.
                    start = int(slice_of[match.rows][forgotten_shards == s].min())
                    if start > 0:
                        state = self._load_checkpoint(old, start - 1, directory)
            all_idx = np.arange(idx.size)
            jobs.append(
                self._shard_job(s, all_idx, X_s, y_s, sw_s, slice_of[idx], start, state)
            )
            retrain.append(int(s))
            starts.append(start)

        if len(dropped) == len(self.shard_ids_):
            raise ValueError(
                "The request leaves no shard with a row of positive weight; a "
                "model cannot be fit on it. Nothing was forgotten."
            )
        results = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(jobs)

        new_ckpts = {}
        try:
            for s, start, (_, ckpts, _) in zip(retrain, starts, results):
                kept = self.checkpoints_[position[s]][:start] if start > 0 else []
                new_ckpts[s] = list(kept) + self._store_checkpoints(
                    directory, token, s, start, ckpts, written
                )
        except BaseException:
            _remove_checkpoint_files(directory, token, written)
            del written[:]
            raise

        estimators, checkpoints, shard_ids, sizes = [], [], [], []
        new_models = {s: r[0] for s, r in zip(retrain, results)}
        for i, s in enumerate(self.shard_ids_):
            s = int(s)
            if s in dropped:
                continue
            shard_ids.append(s)
            if s in new_models:
                estimators.append(new_models[s])
                checkpoints.append(new_ckpts[s])
                sizes.append(int(np.count_nonzero(keep & (shard_of == s))))
            else:
                estimators.append(self.estimators_[i])
                checkpoints.append(self.checkpoints_[i])
                sizes.append(int(self.shard_sizes_[i]))
        attributes = {
            "estimators_": estimators,
            "checkpoints_": checkpoints,
            "shard_ids_": np.asarray(shard_ids, dtype=np.intp),
            "shard_sizes_": np.asarray(sizes, dtype=np.intp),
        }
        if self._is_classifier:
            attributes["classes_"] = np.unique(ledger.y[keep])
        commit = None
        if directory is not None:
            # The files of the replaced checkpoints saw a forgotten row: they
            # go once the request is recorded, never before.
            now = {
                e.get("file")
                for c in checkpoints
                if isinstance(c, list)
                for e in c
                if _is_file_entry(e)
            }
            superseded, left = _deletable(
                directory,
                token,
                [e for _, _, e in self._file_entries() if e.get("file") not in now],
            )
            if txn is not None:
                txn.left = left

            new_files = list(written)

            def commit():
                if txn is not None:
                    txn.committed = True
                # Held for an enclosing change (a composite, the command line)
                # when there is one: the files written for this request go if
                # that change is abandoned, the superseded ones once it stands.
                external_effect(
                    lambda: _remove_checkpoint_files(directory, token, superseded),
                    lambda: _remove_checkpoint_files(directory, token, new_files),
                )

        return UnlearnUpdate(
            attributes=attributes,
            commit=commit,
            strategy="sisa",
            exact=True,
            details={
                "n_shards_retrained": len(retrain),
                "n_shards_dropped": len(dropped),
                "shards_retrained": retrain,
                "shards_dropped": dropped,
                "start_slices": starts,
                "rows_trained": int(sum(r[2] for r in results)),
            },
        )

    def unlearn(
        self,
        X: MatrixLike,
        y: ArrayLike | None = None,
        *,
        request_id: str | None = None,
        **params: Any,
    ) -> Self:
        # The checkpoint files belong to the request, under the model's writer
        # lock: new ones are written under new names while planning; the
        # superseded ones are deleted at commit, after the history record; if
        # anything fails before, the new ones are deleted. Only files the
        # model lists remain.
        # The transaction is kept beside the model, not in its attributes:
        # readers may run while the request is planned (they wait only for
        # its commit), and must never see the model's attributes change.
        with model_lock(self).writer:
            txn = _CheckpointTxn()
            _REQUEST_TXNS[self] = txn
            try:
                super().unlearn(X, y, request_id=request_id, **params)
            finally:
                _REQUEST_TXNS.pop(self, None)
                txn.abort()
        if txn.committed:
            _warn_left(txn.directory, txn.left)
        return self

    unlearn.__doc__ = UnlearningMixin.unlearn.__doc__

    # ----------------------------------------------------------- citizenship
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._base_estimator())
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        tags.input_tags.categorical = inner.input_tags.categorical
        tags.input_tags.positive_only = inner.input_tags.positive_only
        tags.input_tags.pairwise = False
        tags.non_deterministic = inner.non_deterministic
        return tags


class SISAClassifier(ClassifierMixin, _BaseSISA):
    """SISA shard ensemble classifier: exact unlearning for any classifier.

    The training rows are split into ``n_shards`` disjoint shards; one clone
    of ``estimator`` is fit on each, and their predictions are aggregated by
    majority vote (``voting="hard"``) or by averaging class probabilities
    (``voting="soft"``). :meth:`unlearn` retrains only the shards that held
    the forgotten rows. With ``n_slices > 1`` an incremental estimator
    (``partial_fit``, or a ``warm_start`` parameter) learns each shard slice
    by slice, with a checkpoint after each slice, and forgetting a row resumes
    its shard from the checkpoint taken before the row's slice.

    A row's shard and slice are a hash of its content and of the seed, so that
    :meth:`unlearn` gives exactly the ensemble a fit on the retained rows gives
    (same shards, same sub-models, same predictions).

    Parameters
    ----------
    estimator : estimator object, default=None
        The classifier fit on each shard (cloned). ``None`` means
        :class:`~sklearn.tree.DecisionTreeClassifier`. A
        :class:`~sklearn.pipeline.Pipeline` keeps its preprocessing per shard,
        so forgetting never refits more than one shard's pipeline.

    n_shards : int, default=5
        Number of shards. Rows are hashed to shards, so shard sizes vary
        around ``n_samples / n_shards``; an empty shard has no sub-model.

    n_slices : int, default=1
        Number of slices per shard. Above 1, the estimator must learn
        incrementally: with ``partial_fit``, slice ``j`` is learned by
        ``slice_epochs`` calls of ``partial_fit`` on its rows; otherwise the
        estimator's ``warm_start`` is turned on and it is refit on slices
        ``0..j``.

    slice_epochs : int, default=1
        Passes of ``partial_fit`` over each slice.

    voting : {"hard", "soft"}, default="hard"
        ``"hard"``: each shard votes for its predicted class.
        ``"soft"``: the shards' class probabilities are averaged (the
        estimator needs ``predict_proba``). A shard that never saw a class
        gives it zero vote and zero probability.

    checkpoint_dir : str or path-like, default=None
        Directory where :term:`fit` writes the slice checkpoints, as skops
        files (needs the ``skops`` extra); ``None`` keeps them in memory.
        The model stores the files' names and SHA-256 digests, never the
        directory: a model loaded from a file is told where they are with
        :meth:`set_checkpoint_dir` (this parameter is not used for that, so
        that a model file cannot choose what is read or deleted). Files of
        checkpoints that saw a forgotten row are deleted by :meth:`unlearn`.

    n_jobs : int, default=None
        Number of shards fit in parallel through joblib (``None`` means 1
        unless in a :func:`joblib.parallel_config` context, which also picks
        the backend, e.g. ``"dask"``).

    random_state : int, RandomState instance or None, default=None
        Seed of the assignment of rows to shards and slices, and of the
        sub-models' ``random_state`` (derived from it and the shard index).

    verbose : int, default=0
        Verbosity of the joblib calls.

    Attributes
    ----------
    estimator_ : estimator object
        The template the sub-models are cloned from.

    estimators_ : list of estimators
        The fitted sub-models, one per non-empty shard, in shard order. A
        shard whose rows all have one class is a
        :class:`~sklearn.dummy.DummyClassifier` that predicts it.

    shard_ids_ : ndarray of shape (n_estimators,)
        The shard index of each sub-model.

    shard_sizes_ : ndarray of shape (n_estimators,)
        Number of training rows in each shard.

    checkpoints_ : list of list
        For each sub-model, its state after each slice but the last: a fitted
        copy (in memory), a dict ``{"file": name, "sha256": digest, "size":
        n_bytes}`` naming a file of the checkpoint directory (with
        ``checkpoint_dir``), or ``None`` when nothing was learned yet. Empty
        lists when ``n_slices=1``.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    seed_ : int
        The seed drawn from ``random_state`` at :term:`fit`: it fixes the
        assignment of rows to shards and slices and the sub-models'
        ``random_state``. A model fit with ``random_state=seed_`` on the
        retained rows is the one :meth:`unlearn` gives.

    training_mode_ : {"fit", "partial_fit", "warm_start"}
        How each shard is learned: one ``fit`` (``n_slices=1``), or slice by
        slice through ``partial_fit`` or ``warm_start``.

    n_shards_ : int
        ``n_shards`` at :term:`fit`, the number of shards rows are hashed to
        (frozen, so that later ``set_params`` calls do not move rows between
        shards). Empty shards have no sub-model, so ``len(estimators_)`` can
        be smaller.

    n_slices_ : int
        ``n_slices`` at :term:`fit` (frozen likewise).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string
        column names.

    ledger_ : TrainingLedger
        Fingerprints and rows of the retained training data (shards are
        retrained from it).

    unlearn_history_ : list of dict
        One record per :meth:`unlearn` call; ``details`` lists the shards
        retrained or dropped and the slice each restarted from.

    See Also
    --------
    SISARegressor : The regression counterpart.
    skunlearn.Unlearnable : Exact unlearning of one model (by retraining it,
        or cheaper where a strategy exists).

    References
    ----------
    .. [1] L. Bourtoule et al., "Machine Unlearning", IEEE Symposium on
       Security and Privacy, 2021.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skunlearn.ensemble import SISAClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> sisa = SISAClassifier(DecisionTreeClassifier(), n_shards=3, random_state=0)
    >>> sisa = sisa.fit(X, y).unlearn(X[:5])
    >>> refit = SISAClassifier(DecisionTreeClassifier(), n_shards=3, random_state=0)
    >>> refit = refit.fit(X[5:], y[5:])
    >>> bool((sisa.predict(X) == refit.predict(X)).all())
    True
    >>> sisa.unlearn_history_[0]["details"]["n_shards_retrained"] <= 3
    True
    """

    _is_classifier = True
    _default_estimator = DecisionTreeClassifier

    _parameter_constraints = {
        **_BaseSISA._parameter_constraints,
        "voting": [StrOptions({"hard", "soft"})],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        n_shards: int = 5,
        n_slices: int = 1,
        slice_epochs: int = 1,
        voting: Literal["hard", "soft"] = "hard",
        checkpoint_dir: str | os.PathLike[str] | None = None,
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            estimator,
            n_shards=n_shards,
            n_slices=n_slices,
            slice_epochs=slice_epochs,
            checkpoint_dir=checkpoint_dir,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
        )
        self.voting = voting

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fit one sub-model per shard.

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
            Training data. DataFrames are passed to the sub-models as they are.

        y : array-like of shape (n_samples,)
            Class labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, passed to the sub-models' ``fit`` (or
            ``partial_fit``) and forgotten with their rows.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        base = self._base_estimator()
        if self.voting == "soft" and not hasattr(base, "predict_proba"):
            raise ValueError(
                "voting='soft' needs an estimator with predict_proba; "
                f"{type(self._base_estimator()).__name__} has none. "
                "Use voting='hard'."
            )
        self._check_y_given(y)
        X = self._check_X(X, reset=True)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        return self._fit(X, y, sample_weight)

    def _class_scores(self, X):
        X = self._check_X(X, reset=False)
        scores = np.zeros((X.shape[0], self.classes_.size))
        rows = np.arange(X.shape[0])
        for model in self.estimators_:
            # Map the shard's classes into the ensemble's: classes it never
            # saw get nothing from it.
            cols = np.searchsorted(self.classes_, model.classes_)
            if self.voting == "soft":
                scores[:, cols] += model.predict_proba(X)
            else:
                pred = model.predict(X)
                scores[rows, np.searchsorted(self.classes_, pred)] += 1.0
        return scores / len(self.estimators_)

    def predict_proba(self, X: MatrixLike) -> NDArray[np.float64]:
        """Class probabilities: averaged (soft voting) or shares of votes (hard).

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self._class_scores(X)

    def predict_log_proba(self, X: MatrixLike) -> NDArray[np.float64]:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: MatrixLike) -> NDArray[Any]:
        """Predict the class with the most votes (ties: the first in ``classes_``).

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The predicted classes.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self._class_scores(X), axis=1)]


class SISARegressor(RegressorMixin, _BaseSISA):
    """SISA shard ensemble regressor: exact unlearning for any regressor.

    The training rows are split into ``n_shards`` disjoint shards; one clone
    of ``estimator`` is fit on each and the prediction is the mean of theirs.
    :meth:`unlearn` retrains only the shards that held the forgotten rows
    (from the last checkpoint before the rows' slice with ``n_slices > 1``).
    A row's shard and slice are a hash of its content and of the seed, so that
    unlearning gives exactly the ensemble a fit on the retained rows gives.

    Parameters
    ----------
    estimator : estimator object, default=None
        The regressor fit on each shard (cloned). ``None`` means
        :class:`~sklearn.tree.DecisionTreeRegressor`.

    n_shards : int, default=5
        Number of shards (rows are hashed to shards; an empty shard has no
        sub-model).

    n_slices : int, default=1
        Number of slices per shard, learned one after the other by an
        incremental estimator (``partial_fit``, or ``warm_start`` refits on a
        growing set), with a checkpoint after each.

    slice_epochs : int, default=1
        Passes of ``partial_fit`` over each slice.

    checkpoint_dir : str or path-like, default=None
        Directory where :term:`fit` writes the slice checkpoints, as skops
        files (needs the ``skops`` extra); ``None`` keeps them in memory. A
        loaded model is told where they are with :meth:`set_checkpoint_dir`.

    n_jobs : int, default=None
        Number of shards fit in parallel through joblib (the backend is the
        one of the active :func:`joblib.parallel_config`).

    random_state : int, RandomState instance or None, default=None
        Seed of the row assignment and of the sub-models' ``random_state``.

    verbose : int, default=0
        Verbosity of the joblib calls.

    Attributes
    ----------
    estimator_ : estimator object
        The template the sub-models are cloned from.

    estimators_ : list of estimators
        The fitted sub-models, one per non-empty shard, in shard order.

    shard_ids_ : ndarray of shape (n_estimators,)
        The shard index of each sub-model.

    shard_sizes_ : ndarray of shape (n_estimators,)
        Number of training rows in each shard.

    checkpoints_ : list of list
        For each sub-model, its state after each slice but the last (fitted
        copies, file entries ``{"file", "sha256", "size"}``, or ``None``).

    seed_ : int
        The seed drawn from ``random_state`` at :term:`fit` (row assignment
        and sub-models' ``random_state``). A model fit with
        ``random_state=seed_`` on the retained rows is the one :meth:`unlearn`
        gives.

    training_mode_ : {"fit", "partial_fit", "warm_start"}
        How each shard is learned: one ``fit``, or slice by slice.

    n_shards_ : int
        ``n_shards`` at :term:`fit`, the number of shards rows are hashed to
        (empty shards have no sub-model).

    n_slices_ : int
        ``n_slices`` at :term:`fit`.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string
        column names.

    ledger_ : TrainingLedger
        Fingerprints and rows of the retained training data.

    unlearn_history_ : list of dict
        One record per :meth:`unlearn` call.

    See Also
    --------
    SISAClassifier : The classification counterpart.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn.ensemble import SISARegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> sisa = SISARegressor(Ridge(), n_shards=4, random_state=0).fit(X, y)
    >>> sisa = sisa.unlearn(X[:3])
    >>> refit = SISARegressor(Ridge(), n_shards=4, random_state=0).fit(X[3:], y[3:])
    >>> bool((sisa.predict(X) == refit.predict(X)).all())
    True
    """

    _is_classifier = False
    _default_estimator = DecisionTreeRegressor

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fit one sub-model per shard.

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
            Training data. DataFrames are passed to the sub-models as they are.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, passed to the sub-models and forgotten with their rows.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._check_y_given(y)
        X = self._check_X(X, reset=True)
        multi = get_tags(self._base_estimator()).target_tags.multi_output
        if multi:
            y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        else:
            y = column_or_1d(y, warn=True)
            y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        check_consistent_length(X, y)
        return self._fit(X, y, sample_weight)

    def predict(self, X: MatrixLike) -> NDArray[np.float64]:
        """Mean of the sub-models' predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted targets.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        total: Any = None  # the first model's prediction (there is at least one)
        for model in self.estimators_:
            pred = np.asarray(model.predict(X), dtype=np.float64)
            total = pred if total is None else total + pred
        return total / len(self.estimators_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._base_estimator())
        tags.target_tags.multi_output = inner.target_tags.multi_output
        return tags


def _sisa_models(obj):
    """The SISA ensembles in ``obj``: itself, its steps, fitted copies, ..."""
    found, seen, stack = [], set(), [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, str | bytes | np.ndarray | type):
            continue
        seen.add(id(o))
        if isinstance(o, _BaseSISA):
            found.append(o)
        if isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, list | tuple):
            stack.extend(o)
        elif isinstance(o, BaseEstimator) or type(o).__module__.startswith(
            "skunlearn."
        ):
            stack.extend(getattr(o, "__dict__", {}).values())
    return found


def set_checkpoint_dir(
    model: Any, path: str | os.PathLike[str], *, allow_pickle: bool = False
) -> int:
    """Name the checkpoint directory of every SISA ensemble in a model.

    A SISA ensemble fit with ``checkpoint_dir`` stores only the names and
    digests of its checkpoint files; once saved and loaded, it needs the
    directory named before a request can read or replace them. This calls
    :meth:`SISAClassifier.set_checkpoint_dir` on ``model`` if it is a SISA
    ensemble, and on every SISA ensemble it holds (a pipeline step, the model
    an :class:`~skunlearn.Unlearnable` wraps, a search's best estimator...).

    Parameters
    ----------
    model : estimator object
        A fitted model, e.g. one just loaded from a file.

    path : str or path-like
        An existing directory that holds the checkpoint files.

    allow_pickle : bool, default=False
        Convert the pickle checkpoints of models saved by an earlier release
        (see :meth:`SISAClassifier.set_checkpoint_dir`). Only for files you
        trust.

    Returns
    -------
    n_models : int
        Number of SISA ensembles in ``model`` that keep checkpoint files (the
        ones the directory was named for).

    See Also
    --------
    SISAClassifier.set_checkpoint_dir : The same for one SISA ensemble.
    skunlearn.io.load : Load a saved model.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skunlearn.ensemble import SISAClassifier, set_checkpoint_dir
    >>> X = [[0.0], [1.0], [2.0], [3.0]] * 10
    >>> y = [0, 1, 0, 1] * 10
    >>> with tempfile.TemporaryDirectory() as d:
    ...     sisa = SISAClassifier(SGDClassifier(random_state=0), n_shards=2,
    ...                           n_slices=3, checkpoint_dir=d, random_state=0)
    ...     sisa = sisa.fit(X, y)
    ...     set_checkpoint_dir(sisa, d)
    1
    """
    found = [m for m in _sisa_models(model) if m._file_entries()]
    for sisa in found:
        sisa.set_checkpoint_dir(path, allow_pickle=allow_pickle)
    return len(found)
