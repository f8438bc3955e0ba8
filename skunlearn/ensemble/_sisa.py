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
"""

# SPDX-License-Identifier: BSD-3-Clause

import copy
import os
import pickle
import uuid
from numbers import Integral

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

from .._commit import model_lock
from .._ledger import row_fingerprints
from ..base import UnlearningMixin, UnlearnUpdate
from ..utils._hash_kernels import finalize as _finalize
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)

__all__ = ["SISAClassifier", "SISARegressor"]

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
# Checkpoint storage: in memory, or files in a user directory
# --------------------------------------------------------------------------
def _write_checkpoint(directory, token, shard, slice_, model):
    name = f"sisa-{token}-s{shard}-j{slice_}-{uuid.uuid4().hex[:12]}.pkl"
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _read_checkpoint(entry):
    if entry is None or not isinstance(entry, str):
        return entry
    try:
        with open(entry, "rb") as f:
            return pickle.load(f)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"The SISA checkpoint {entry!r} is missing: checkpoints of a model "
            "copy are deleted when another copy forgets a row they saw. Refit "
            "the model. Nothing was forgotten."
        ) from exc


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
        estimator=None,
        *,
        n_shards=5,
        n_slices=1,
        slice_epochs=1,
        checkpoint_dir=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
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

    def __setstate__(self, state):
        state = dict(state)
        for old, new in self._RENAMED_STATE.items():
            if old in state:
                value = state.pop(old)
                state.setdefault(new, value)
        super().__setstate__(state)

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

        old_store = (
            self.__dict__.get("_checkpoint_dir"),
            self.__dict__.get("_checkpoint_token"),
        )
        self._checkpoint_dir = (
            None if self.checkpoint_dir is None else os.fspath(self.checkpoint_dir)
        )
        self._checkpoint_token = uuid.uuid4().hex
        try:
            if self._checkpoint_dir is not None:
                os.makedirs(self._checkpoint_dir, exist_ok=True)
            checkpoints = [
                self._store_checkpoints(s, 0, ckpts)
                for s, (_, ckpts, _) in zip(shards, results)
            ]
        except BaseException:
            self._sweep_checkpoint_files(keep=())
            raise
        if old_store[0] is not None:
            _remove_token_files(*old_store, keep=())
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

    def _store_checkpoints(self, shard, start, ckpts):
        """Checkpoint entries (objects, or file paths) for slices from ``start``."""
        if self._checkpoint_dir is None:
            return list(ckpts)
        return [
            None
            if model is None
            else _write_checkpoint(
                self._checkpoint_dir, self._checkpoint_token, shard, start + i, model
            )
            for i, model in enumerate(ckpts)
        ]

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
        ledger = self.ledger_
        fp = ledger.fingerprints()
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
                        state = _read_checkpoint(self.checkpoints_[old][start - 1])
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
        for s, start, (_, ckpts, _) in zip(retrain, starts, results):
            kept = self.checkpoints_[position[s]][:start] if start > 0 else []
            new_ckpts[s] = list(kept) + self._store_checkpoints(s, start, ckpts)

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
        return UnlearnUpdate(
            attributes=attributes,
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

    def unlearn(self, X, y=None, *, request_id=None, **params):
        # The sweep belongs to the request: under the model's writer lock, so
        # a concurrent request never sees (or deletes) the other's files.
        with model_lock(self).writer:
            try:
                return super().unlearn(X, y, request_id=request_id, **params)
            finally:
                # After a commit, the files of the replaced checkpoints (they
                # saw a forgotten row) go; after a failure, the files written
                # for the aborted update go. Either way only referenced files
                # remain.
                if self.__dict__.get("_checkpoint_dir") is not None:
                    self._sweep_checkpoint_files()

    unlearn.__doc__ = UnlearningMixin.unlearn.__doc__

    def _sweep_checkpoint_files(self, keep=None):
        if keep is None:
            keep = {
                entry
                for ckpts in getattr(self, "checkpoints_", [])
                for entry in ckpts
                if isinstance(entry, str)
            }
        _remove_token_files(self._checkpoint_dir, self._checkpoint_token, keep)

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


def _remove_token_files(directory, token, keep):
    """Delete the checkpoint files of model ``token`` not listed in ``keep``."""
    if directory is None or not os.path.isdir(directory):
        return
    prefix = f"sisa-{token}-"
    keep = {os.path.basename(p) for p in keep}
    for name in os.listdir(directory):
        if name.startswith(prefix) and name not in keep:
            try:
                os.remove(os.path.join(directory, name))
            except FileNotFoundError:
                pass


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
        Directory where the slice checkpoints are written (pickled sub-models);
        ``None`` keeps them in memory. Files of checkpoints that saw a
        forgotten row are deleted by :meth:`unlearn`.

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
        copy (in memory), a file path (with ``checkpoint_dir``), or ``None``
        when nothing was learned yet. Empty lists when ``n_slices=1``.

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
        estimator=None,
        *,
        n_shards=5,
        n_slices=1,
        slice_epochs=1,
        voting="hard",
        checkpoint_dir=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
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
    def fit(self, X, y, sample_weight=None):
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

    def predict_proba(self, X):
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

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict the class with the most votes (ties: the first in ``classes_``).

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,)
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
        Directory of the slice checkpoints; ``None`` keeps them in memory.

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
        For each sub-model, its state after each slice but the last (objects,
        file paths, or ``None``).

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
    def fit(self, X, y, sample_weight=None):
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

    def predict(self, X):
        """Mean of the sub-models' predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        total = None
        for model in self.estimators_:
            pred = np.asarray(model.predict(X), dtype=np.float64)
            total = pred if total is None else total + pred
        return total / len(self.estimators_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._base_estimator())
        tags.target_tags.multi_output = inner.target_tags.multi_output
        return tags
