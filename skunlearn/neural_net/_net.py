"""skorch nets that can forget rows of their training data (approximately)."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeAlias

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet, NeuralNetClassifier, NeuralNetRegressor
from skorch.dataset import ValidSplit

from .._ledger import TrainingLedger, row_fingerprints
from ..base import UnlearningMixin, UnlearnUpdate
from ._methods import UncalibratedUnlearningWarning, UnlearningContext, get_method

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from ._methods import NetUnlearningMethod

    #: Rows as the nets take them: one 2-D numeric array (a NumPy array, a
    #: torch tensor or a pandas DataFrame).
    NetInput: TypeAlias = "ArrayLike | torch.Tensor"

__all__ = ["UnlearningNeuralNetClassifier", "UnlearningNeuralNetRegressor"]

_STATE = (
    "ledger_",
    "unlearn_history_",
    "retain_X_",
    "retain_y_",
    "retain_rows_",
    "calib_X_",
    "calib_y_",
    "calib_rows_",
    "n_features_in_",
)


def _to_numpy(X, what="X"):
    """A 2-D numeric numpy array of the rows (numpy, torch tensor or DataFrame)."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    elif hasattr(X, "to_numpy") and hasattr(X, "columns"):
        X = X.to_numpy()
    elif isinstance(X, dict | torch.utils.data.Dataset):
        raise TypeError(
            f"Unlearning nets take {what} as one 2-D array (numpy, torch tensor or "
            f"DataFrame), not {type(X).__name__}."
        )
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {X.dtype}.")
    return X


def _append_ledger(ledger, X, y):
    """A ledger holding ``ledger``'s rows (same ids) followed by the rows of ``X``.

    ``ledger`` must be compacted: the result then equals, array for array, the
    ledger of a fit on the concatenated rows.
    """
    if ledger.n_stored != ledger.n_rows:
        raise ValueError("Compact the ledger before appending rows to it.")
    # the new rows' fingerprints under the ledger's key (None: an unkeyed
    # ledger saved before keys existed)
    key = ledger.fingerprint_key
    fp = np.concatenate([ledger.fingerprints(), row_fingerprints(X, key=key)])
    y_all = None
    if ledger.y is not None and y is not None:
        y_all = np.concatenate([ledger.y, np.asarray(y, dtype=ledger.y.dtype)])
    new = TrainingLedger(np.empty((0, 1)), None, keep_X=False, compact="never")
    new.fingerprint_key = key
    new.dtypes = ledger.dtypes
    order = np.argsort(fp[:, 0], kind="stable")
    new._key = fp[order, 0]
    new._key2 = fp[order, 1]
    new._entry_row = order.astype(np.intp)
    new._row_entry = np.empty(fp.shape[0], dtype=np.intp)
    new._row_entry[order] = np.arange(fp.shape[0], dtype=np.intp)
    new._alive = np.ones(fp.shape[0], dtype=bool)
    new.n_rows = fp.shape[0]
    new.y = y_all
    return new


def _retain_sample(X, rows, budget):
    """Positions in ``rows`` (ledger ids of the rows ``X``) of the retain sample.

    The sample is the ``budget`` rows with the smallest fingerprints: chosen
    by content, not by position, so that after forgetting rows outside it it
    is the sample of a fit on the retained rows, and it never tells where a
    forgotten row stood (a fixed-seed draw of positions would). The unkeyed
    fingerprints of the rows as the module sees them (the rows kept in
    ``retain_X_``): the ledger's are keyed with a secret of each fit's own,
    and two fits on the same rows must keep the same sample.
    """
    if budget is None or rows.size <= budget:
        return np.arange(rows.size)
    fp = row_fingerprints(X)
    pick = np.lexsort((rows, fp[:, 1], fp[:, 0]))[:budget]
    return np.sort(pick)


def _strip_cached_weights(callbacks):
    """Deep copies of the callbacks without cached module weights.

    Callbacks such as ``EarlyStopping(load_best=True)`` keep a copy of the
    best weights seen in training: residue of the forgotten rows.
    """
    out = []
    for name, cb in callbacks:
        cb = copy.deepcopy(cb)
        for attr, value in list(vars(cb).items()):
            if attr.endswith("_") and _holds_tensor(value):
                setattr(cb, attr, None)
        out.append((name, cb))
    return out


def _holds_tensor(value):
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, dict):
        return any(isinstance(v, torch.Tensor) for v in value.values())
    return False


# --------------------------------------------------------------- saving
# A saved net holds no pickle: the torch components (module, criterion and
# optimizer of skorch's ``cuda_dependent_attributes_``) are saved as their
# state dicts with every tensor turned into a NumPy array, and rebuilt at load
# from the net's own parameters (the module class and its ``module__*``
# arguments) before their states are loaded back. skops can then save and load
# a net, trusting only its types (see skunlearn.io.trusted_types).
_TORCH_STATE = "_torch_state_"
_TORCH_VALUE = "__torch_value__"
_SAME_AS = "__same_as__"


def _resolve_reference(value, state, device):
    """A recorded fit parameter saved as a reference or as torch data."""
    if isinstance(value, dict) and list(value) == [_SAME_AS]:
        return state[value[_SAME_AS]]
    if isinstance(value, dict) and list(value) == [_TORCH_VALUE]:
        return _from_data(value[_TORCH_VALUE], device)
    return value


# Attributes rebuilt at load rather than saved: initialised callbacks and
# skorch's virtual parameter setters (functions).
_REBUILT = ("callbacks_", "virtual_params_")


def _tensor_to_data(t):
    out = {"parameter": isinstance(t, torch.nn.Parameter)}
    if out["parameter"]:
        out["requires_grad"] = bool(t.requires_grad)
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:  # NumPy has no bfloat16: its bits
        out["tensor"] = t.view(torch.int16).numpy().copy()
    else:
        out["tensor"] = t.numpy().copy()
    out["dtype"] = str(t.dtype).removeprefix("torch.")
    return out


def _tensor_from_data(data, device):
    arr = np.array(data["tensor"])  # a copy torch may own
    if data["dtype"] == "bfloat16":
        t = torch.from_numpy(arr).view(torch.bfloat16)
    else:
        t = torch.from_numpy(arr)
        if str(t.dtype).removeprefix("torch.") != data["dtype"]:
            raise ValueError(
                f"A saved tensor of dtype {data['dtype']} holds {arr.dtype} data."
            )
    t = t.to(device)
    if data["parameter"]:
        t = torch.nn.Parameter(t, requires_grad=bool(data["requires_grad"]))
    return t


def _to_data(value):
    """``value`` as plain data that a file format holds without pickle.

    Tensors become tagged NumPy arrays, torch modules their class and
    attributes (what pickle would save, with their tensors as arrays),
    containers tagged lists (dict keys may be ints, as in an optimizer's
    state). Other objects are kept as they are, for the file format to save
    (skops saves them only as types it is told to trust).
    """
    if isinstance(value, torch.Tensor):
        return _tensor_to_data(value)
    if isinstance(value, torch.nn.Module):
        return {
            "module_class": type(value),
            "attributes": _to_data(value.__getstate__()),
        }
    if type(value) in (dict, OrderedDict):
        return {
            "items": [[k, _to_data(v)] for k, v in value.items()],
            "ordered": type(value) is OrderedDict,
        }
    if type(value) in (list, tuple, set):
        return {
            "sequence": [_to_data(v) for v in value],
            "kind": type(value).__name__,
        }
    if isinstance(value, torch.dtype | torch.device):
        return {"torch": str(value), "kind": type(value).__name__}
    if value is None or type(value) in (bool, int, float, str):
        return {"value": value}
    return {"object": value}


def _from_data(data, device):
    """Inverse of :func:`_to_data`; tensors go to ``device``."""
    if "tensor" in data:
        return _tensor_from_data(data, device)
    if "module_class" in data:
        cls = data["module_class"]
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            raise TypeError(f"A saved torch module names {cls!r}, not a module class.")
        module = cls.__new__(cls)
        module.__setstate__(_from_data(data["attributes"], device))
        return module
    if "items" in data:
        items = [(k, _from_data(v, device)) for k, v in data["items"]]
        return OrderedDict(items) if data["ordered"] else dict(items)
    if "sequence" in data:
        kinds = {"list": list, "tuple": tuple, "set": set}
        return kinds[data["kind"]](_from_data(v, device) for v in data["sequence"])
    if "torch" in data:
        if data["kind"] == "device":
            return torch.device(data["torch"])
        dtype = getattr(torch, data["torch"].removeprefix("torch."), None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"A saved torch dtype names {data['torch']!r}.")
        return dtype
    if "value" in data:
        return data["value"]
    return data["object"]


if TYPE_CHECKING:
    # To a type checker the mixin is also the skorch net it is mixed into
    # (skorch ships no type information: its names are Any).
    class _NetMixinBase(UnlearningMixin, NeuralNet): ...

else:
    _NetMixinBase = UnlearningMixin


class _UnlearningNetMixin(_NetMixinBase):
    """What the classifier and regressor share: recording rows, unlearning."""

    _unlearning_guarantee = "approximate"
    # how a request is forgotten, not what was fit: tunable between requests.
    # Callbacks act while training (logging, scoring, early stopping), and a
    # loaded net rebuilds them: they do not stand for the fitted module.
    _execution_params = ("n_jobs", "verbose", "unlearn_method", "callbacks")
    prefixes_ = NeuralNet.prefixes_ + ["unlearn_method"]
    # Renumbering the row ids costs O(n) against a request's training epochs:
    # erased slots go at every request, whatever the number of rows.
    _compact_min_rows = float("inf")
    _task: str | None = None
    _default_method: str | None = None

    def set_params(self, **kwargs: Any) -> Self:
        """Set parameters; ``unlearn_method__*`` ones never re-initialise the net.

        ``retain_budget``, ``unlearn_method`` and ``unlearn_method__<name>``
        are set directly; the others go to :meth:`skorch.NeuralNet.set_params`
        (which may re-initialise the module, as in skorch).

        Parameters
        ----------
        **kwargs : dict
            Parameter names and values.

        Returns
        -------
        self : object
            The net.
        """
        ours = {
            k: kwargs.pop(k)
            for k in list(kwargs)
            if k == "retain_budget" or k.split("__", 1)[0] == "unlearn_method"
        }
        for key, value in ours.items():
            if "__" in key:
                self._params_to_validate.add(key)
            setattr(self, key, value)
        if kwargs:
            super().set_params(**kwargs)
        return self

    # --------------------------------------------------------------- saving
    def __getstate__(self):
        """The net's state as plain data: no pickled bytes, tensors as arrays.

        Unlike skorch's (which pickles the torch components into bytes), the
        state holds the state dicts of the module, criterion and optimizer
        as NumPy arrays, so that the net saves with skops as well as pickle.
        Initialised callbacks are rebuilt at load, as by
        :meth:`skorch.NeuralNet.initialize_callbacks`.
        """
        self._compact_before_saving()
        state = self.__dict__.copy()
        torch_state = {}
        if state.get("initialized_"):
            # (by name: skorch's prefix match would take ``module__*`` too)
            for name in self.cuda_dependent_attributes_:
                if name not in state:
                    continue
                value = state.pop(name)
                if value is state.get(name.removesuffix("_")):
                    # skorch uses a module instance given as the parameter
                    # itself: saved once, with the parameter
                    torch_state[name] = {"same_as_parameter": True}
                    continue
                if isinstance(value, torch.nn.Module | torch.optim.Optimizer):
                    value = value.state_dict()
                torch_state[name] = _to_data(value)
            for name in _REBUILT:
                state.pop(name, None)
        # parameters holding torch objects (a module instance as ``module``,
        # a loss instance as ``criterion``), and the recorded fit parameters
        # that are the same objects (saved once, as references)
        held = {}
        for name, value in list(state.items()):
            if isinstance(value, torch.nn.Module | torch.Tensor):
                held[id(value)] = name
                state[name] = {_TORCH_VALUE: _to_data(value)}
        fitted = state.get("_fit_params_")
        if isinstance(fitted, dict):
            state["_fit_params_"] = {
                k: {_SAME_AS: held[id(v)]}
                if id(v) in held
                else {_TORCH_VALUE: _to_data(v)}
                if isinstance(v, torch.nn.Module | torch.Tensor)
                else v
                for k, v in fitted.items()
            }
        if state.get("history_") is not None:
            state["history_"] = list(state["history_"])
        state[_TORCH_STATE] = torch_state
        return state

    def __setstate__(self, state):
        """Rebuild the net from :meth:`__getstate__`'s plain data.

        The torch components are built from the net's own parameters (as
        :meth:`skorch.NeuralNet.initialize` builds them, without drawing from
        torch's random generator) and their saved states loaded into them.
        Nothing is unpickled: a state holding skorch's pickled bytes (a net
        saved by skorch's own ``__getstate__``) is refused.
        """
        from skorch.history import History
        from skorch.utils import get_map_location

        state = dict(state)
        if "__cuda_dependent_attributes__" in state or _TORCH_STATE not in state:
            raise ValueError(
                "This net's saved state holds pickled torch components (saved "
                "by skorch's own format), which skunlearn never unpickles; "
                "refit the net, or load it with skorch.NeuralNet and re-save it "
                "with this version."
            )
        torch_state = state.pop(_TORCH_STATE)
        cpu = torch.device("cpu")
        for name, value in state.items():
            if isinstance(value, dict) and list(value) == [_TORCH_VALUE]:
                state[name] = _from_data(value[_TORCH_VALUE], cpu)
        fitted = state.get("_fit_params_")
        if isinstance(fitted, dict):
            state["_fit_params_"] = {
                k: _resolve_reference(v, state, cpu) for k, v in fitted.items()
            }
        if state.get("history_") is not None:
            state["history_"] = History(state["history_"])
        self.__dict__.update(state)
        if not torch_state and not state.get("initialized_"):
            return
        self.device = self._check_device(self.device, get_map_location(self.device))
        self.initialized_ = False  # no "re-initializing" messages
        try:
            with torch.random.fork_rng(devices=[]):
                self._initialize_virtual_params()
                self._initialize_callbacks()
                self._initialize_module()
                self._initialize_criterion()
                self._initialize_optimizer()
        finally:
            self.initialized_ = True
        device = torch.device(get_map_location(self.device))
        for name, data in torch_state.items():
            if data == {"same_as_parameter": True}:
                continue
            value = _from_data(data, device)
            current = getattr(self, name, None)
            if isinstance(current, torch.nn.Module | torch.optim.Optimizer):
                current.load_state_dict(value)
            else:
                setattr(self, name, value)

    # ------------------------------------------------------------------ fit
    def initialize(self) -> Self:
        """Initialise the net as skorch does, forgetting the recorded rows.

        A fresh initialisation starts a new training set: the ledger, the
        history of requests and the kept rows are dropped.

        Returns
        -------
        self : object
            The initialised net.
        """
        # A fresh initialisation starts a new training set.
        for name in _STATE:
            if name in self.__dict__:
                delattr(self, name)
        return super().initialize()

    def get_split_datasets(
        self, X: NetInput, y: NetInput | None = None, **fit_params: Any
    ) -> tuple[torch.utils.data.Dataset[Any], torch.utils.data.Dataset[Any] | None]:
        """Split the data as skorch does, and note the validation rows.

        The rows of the validation split are never trained on; :meth:`fit`
        keeps them as the calibration rows of :meth:`unlearn`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        y : array-like of shape (n_samples,), default=None
            Targets.

        **fit_params : dict
            Passed to ``train_split``.

        Returns
        -------
        dataset_train : torch Dataset
            The training rows.

        dataset_valid : torch Dataset or None
            The validation rows, or None without ``train_split``.
        """
        train, valid = super().get_split_datasets(X, y, **fit_params)
        # skorch's ValidSplit returns Subsets: their indices tell which rows the
        # net never trains on; those are the calibration rows for unlearning.
        idx = getattr(valid, "indices", None) if valid is not None else None
        self.valid_indices_ = (
            np.asarray(idx, dtype=np.intp) if idx is not None else np.empty(0, np.intp)
        )
        return train, valid

    def fit(self, X: NetInput, y: NetInput | None = None, **fit_params: Any) -> Self:
        """Initialise and fit the module, and record the training rows.

        See :meth:`skorch.NeuralNet.fit`. ``X`` must be one 2-D numeric array
        (numpy, torch tensor or DataFrame). Rows of skorch's validation split
        are kept as calibration rows for :meth:`unlearn`; up to
        ``retain_budget`` of the other rows are kept as the retain set.

        Parameters
        ----------
        X : {ndarray, torch tensor, dataframe} of shape (n_samples, n_features)
            Training rows.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Their targets (required: ``unlearn`` matches rows with them).

        **fit_params : dict
            Passed to the module's ``forward`` and to ``train_split``, as in
            skorch.

        Returns
        -------
        self : object
            The fitted net.
        """
        X = _to_numpy(X)
        return super().fit(X, y, **fit_params)

    def partial_fit(
        self,
        X: NetInput,
        y: NetInput | None = None,
        classes: ArrayLike | None = None,
        **fit_params: Any,
    ) -> Self:
        """Fit the module further on ``X``; its rows join the training rows.

        See :meth:`skorch.NeuralNet.partial_fit`.

        Parameters
        ----------
        X : {ndarray, torch tensor, dataframe} of shape (n_samples, n_features)
            New training rows.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Their targets (required).

        classes : array-like of shape (n_classes,), default=None
            As in skorch.

        **fit_params : dict
            Passed to the module's ``forward`` and to ``train_split``, as in
            skorch.

        Returns
        -------
        self : object
            The net, further fitted.
        """
        budget = self.retain_budget
        if budget is not None and (
            not isinstance(budget, int | np.integer) or budget < 1
        ):
            raise ValueError(
                f"retain_budget must be None or a positive int, got {budget!r}."
            )
        X = _to_numpy(X)
        if y is not None:
            y = _to_numpy(y, "y")
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, got {X.ndim} dimension(s).")
        if "valid_indices_" in self.__dict__:
            del self.valid_indices_
        if not self.initialized_:
            self.initialize()
        # Floating input is cast to the module's dtype (float64 rows for a
        # float32 module, or float32 rows for a float64 one), while the ledger
        # fingerprints the rows as given, so that a forget request with the
        # caller's own values matches. Integer input (token ids) is left as is.
        X_model = self._cast_for_module(X)
        y_model = y
        if y is not None and self._task == "regression":
            y_model = self._cast_for_module(y)
        super().partial_fit(X_model, y_model, classes=classes, **fit_params)
        self._record_rows(X, y, X_model, y_model)
        return self

    def _record_rows(self, X_given, y_given, X, y):
        n = X.shape[0]
        valid = self.__dict__.pop("valid_indices_", np.empty(0, np.intp))
        is_valid = np.zeros(n, dtype=bool)
        is_valid[valid] = True
        train_idx = np.flatnonzero(~is_valid)
        y_arr = None if y is None else np.asarray(y)
        if "ledger_" in self.__dict__:
            if self.ledger_.y is None or y_arr is None:
                raise ValueError("partial_fit after fit needs y as fit had.")
            # New rows take ids after the retained ones, as in a fit on both.
            self._compact_rows()
            offset = self.ledger_.n_stored
            self.ledger_ = _append_ledger(self.ledger_, X_given, y_given)
            retain_X = np.concatenate([self.retain_X_, X[train_idx]])
            retain_y = np.concatenate([self.retain_y_, y_arr[train_idx]])
            retain_rows = np.concatenate([self.retain_rows_, offset + train_idx])
            self.calib_X_ = np.concatenate([self.calib_X_, X[valid]])
            self.calib_y_ = np.concatenate([self.calib_y_, y_arr[valid]])
            self.calib_rows_ = np.concatenate([self.calib_rows_, offset + valid])
        else:
            if y_arr is None:
                raise ValueError("Unlearning nets need y at fit.")
            history = []
            self._init_ledger(X_given, y_given, keep_X=False, compact="never")
            self.unlearn_history_ = history
            retain_X, retain_y, retain_rows = X[train_idx], y_arr[train_idx], train_idx
            self.calib_X_ = X[valid].copy()
            self.calib_y_ = y_arr[valid].copy()
            self.calib_rows_ = valid.copy()
            self.n_features_in_ = X.shape[1]
        pick = _retain_sample(retain_X, retain_rows, self.retain_budget)
        # (indexing with an array copies: the caller's arrays are not kept)
        self.retain_X_ = retain_X[pick]
        self.retain_y_ = retain_y[pick]
        self.retain_rows_ = np.asarray(retain_rows[pick], dtype=np.intp)

    def _renumbered_rows(self, new_id):
        # Row ids in ``retain_rows_`` and ``calib_rows_`` follow the ledger's:
        # renumbered with it, they are those of a fit on the retained rows.
        return {
            "retain_rows_": new_id[self.retain_rows_],
            "calib_rows_": new_id[self.calib_rows_],
        }

    def _module_dtype(self):
        """The floating dtype of the module's weights (torch), or None."""
        module = self.__dict__.get("module_")
        if module is None or not isinstance(module, torch.nn.Module):
            return None
        for p in module.parameters():
            if p.is_floating_point():
                return p.dtype
        return None

    def _cast_for_module(self, a):
        """``a`` (numpy) in the module's floating dtype when ``a`` is floating."""
        dtype = _NUMPY_DTYPES.get(self._module_dtype())
        if dtype is None or a.dtype.kind != "f" or a.dtype == dtype:
            return a
        return a.astype(dtype)

    def infer(
        self,
        x: torch.Tensor | NDArray[Any] | Mapping[str, Any],
        **fit_params: Any,
    ) -> Any:
        """Run the module on a batch; floating input takes the module's dtype.

        Parameters
        ----------
        x : {ndarray, torch tensor}
            A batch of input data.

        **fit_params : dict
            Passed to the module's ``forward``, as in skorch.

        Returns
        -------
        y_infer : torch tensor
            The module's output.
        """
        dtype = self._module_dtype()
        if (
            dtype is not None
            and isinstance(x, torch.Tensor)
            and x.is_floating_point()
            and x.dtype != dtype
        ):
            x = x.to(dtype)
        elif isinstance(x, np.ndarray):
            x = self._cast_for_module(x)
        return super().infer(x, **fit_params)

    # -------------------------------------------------------------- unlearn
    def _validate_forget_data(self, X, y):
        X = _to_numpy(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X_forget has shape {X.shape}; the net was fit on "
                f"{self.n_features_in_} features."
            )
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            raise ValueError("X_forget contains NaN or infinity.")
        if y is not None:
            y = _to_numpy(y, "y")
        return X, self._validate_forget_target(y, X.shape[0])

    def _device(self):
        if self.device is None:
            return next(self.module_.parameters()).device
        return torch.device(self.device)

    def _output_to_log_proba(self):
        crit = self.criterion_
        if isinstance(crit, torch.nn.CrossEntropyLoss):
            return lambda out: F.log_softmax(out, dim=1)
        if isinstance(crit, torch.nn.NLLLoss):
            # skorch's convention: the module returns probabilities.
            eps = torch.finfo(torch.float32).eps
            return lambda out: torch.log(out + eps)
        nonlin = self._get_predict_nonlinearity()
        eps = torch.finfo(torch.float32).eps
        return lambda out: torch.log(nonlin(out) + eps)

    def _resolve_method(self):
        method = self.unlearn_method
        if method == "auto":
            method = self._default_method
        return get_method(method, self.get_params_for("unlearn_method"))

    def _unlearn(self, match, X, y, X_calib=None, y_calib=None):
        method = self._resolve_method()
        method.check_task(self._task)
        rows = match.rows
        _, y_stored, _ = self.ledger_.take(rows)
        y_f = y_stored if y is None else y
        held_out = np.isin(rows, self.calib_rows_)
        keep_r = ~np.isin(self.retain_rows_, rows)
        keep_c = ~np.isin(self.calib_rows_, rows)
        attributes = {
            "retain_X_": self.retain_X_[keep_r],
            "retain_y_": self.retain_y_[keep_r],
            "retain_rows_": self.retain_rows_[keep_r],
            "calib_X_": self.calib_X_[keep_c],
            "calib_y_": self.calib_y_[keep_c],
            "calib_rows_": self.calib_rows_[keep_c],
        }
        details = {
            "method": method.name,
            "params": method.get_params(),
            "n_trained_forgotten": int((~held_out).sum()),
            "n_held_out_forgotten": int(held_out.sum()),
        }
        if held_out.all():
            # The net never trained on these rows: dropping them from the
            # calibration set is all there is to forget.
            details["note"] = "only held-out calibration rows were forgotten"
            return UnlearnUpdate(attributes, "neural_net", exact=False, details=details)
        if attributes["retain_X_"].shape[0] == 0:
            raise ValueError(
                "No retained training row is kept to repair the net with (raise "
                "retain_budget). Nothing was forgotten."
            )
        if X_calib is not None:
            if y_calib is None:
                raise ValueError("X_calib needs y_calib.")
            Xc, yc = _to_numpy(X_calib, "X_calib"), _to_numpy(y_calib, "y_calib")
            if Xc.ndim != 2 or Xc.shape[1] != self.n_features_in_ or len(yc) != len(Xc):
                raise ValueError("X_calib / y_calib do not match the training data.")
            if Xc.dtype.kind == "f" and not np.isfinite(Xc).all():
                raise ValueError("X_calib contains NaN or infinity.")
        else:
            Xc, yc = attributes["calib_X_"], attributes["calib_y_"]

        device = self._device()
        x_dtype = self.retain_X_.dtype

        def tx(a):
            return torch.as_tensor(np.asarray(a, dtype=x_dtype), device=device)

        def ty(a):
            a = np.asarray(a)
            if self._task == "classification":
                return torch.as_tensor(a.astype(np.int64), device=device)
            return torch.as_tensor(a.astype(self.retain_y_.dtype), device=device)

        X_tr, y_tr = X[~held_out], np.asarray(y_f)[~held_out]
        removed = None
        n_outputs = None
        mean = std = None
        y_ret = attributes["retain_y_"]
        if self._task == "classification":
            alive = self.ledger_.retained(exclude=rows)
            present = np.unique(self.ledger_.y[alive])
            removed = torch.as_tensor(~np.isin(y_tr, present), device=device)
            n_outputs = int(self._n_outputs())
        else:
            mean = torch.as_tensor(
                y_ret.mean(axis=0), device=device, dtype=torch.float32
            )
            std = torch.as_tensor(y_ret.std(axis=0), device=device, dtype=torch.float32)
        batch_size = method.batch_size or self.batch_size
        if batch_size == -1:
            batch_size = max(len(X_tr), len(y_ret))
        generator = torch.Generator().manual_seed(int(method.random_state))
        devices = []
        if device.type == "cuda":
            devices = [
                torch.cuda.current_device() if device.index is None else device.index
            ]
        student = copy.deepcopy(self.module_)
        with torch.random.fork_rng(devices=devices, device_type=device.type):
            torch.manual_seed(int(method.random_state))
            ctx = UnlearningContext(
                module=student,
                task=self._task,
                output_to_log_proba=(
                    self._output_to_log_proba()
                    if self._task == "classification"
                    else None
                ),
                X_retain=tx(attributes["retain_X_"]),
                y_retain=ty(y_ret),
                X_forget=tx(X_tr),
                y_forget=ty(y_tr),
                X_calib=tx(Xc) if len(Xc) else None,
                y_calib=ty(yc) if len(Xc) else None,
                removed=removed,
                n_outputs=n_outputs,
                batch_size=int(batch_size),
                generator=generator,
                verbose=self.verbose,
                target_mean=mean,
                target_std=std,
                fit_seconds=self._fit_seconds(),
                fit_epochs=len(self.history_) or None,
                make_optimizer=self._make_optimizer,
            )
            summary = method.run(ctx)
        details["n_calibration_rows"] = int(len(Xc))
        if method.calibrate and not len(Xc):
            # One message, whatever the method and rows: Python's default
            # filter shows it once per place in the caller's code.
            warnings.warn(_UNCALIBRATED, UncalibratedUnlearningWarning, stacklevel=5)
        student.train(self.module_.training)
        named = list(student.named_parameters())
        args, kwargs = self.get_params_for_optimizer("optimizer", named)
        # A fresh optimiser: momentum buffers hold gradients of forgotten rows.
        attributes["module_"] = student
        attributes["optimizer_"] = self.optimizer(*args, **kwargs)
        attributes["callbacks_"] = _strip_cached_weights(self.callbacks_)
        details.update(summary)
        return UnlearnUpdate(attributes, "neural_net", exact=False, details=details)

    def _make_optimizer(self, module, lr=None):
        """The net's optimiser (class and settings, as ``fit`` built it) over
        ``module``'s parameters; ``lr`` overrides the learning rate."""
        args, kwargs = self.get_params_for_optimizer(
            "optimizer", module.named_parameters()
        )
        if lr is not None:
            kwargs["lr"] = lr
            for group in args[0] if args and isinstance(args[0], list) else ():
                if isinstance(group, dict):
                    group.pop("lr", None)
        return self.optimizer(*args, **kwargs)

    def _fit_seconds(self):
        try:
            return float(sum(self.history_[:, "dur"]))
        except (KeyError, IndexError, TypeError):
            return None

    def _n_outputs(self):
        # The module's output width: classes of the task, including any class
        # with no training row left.
        return self._module_width()

    def _module_width(self):
        src = self.retain_X_ if len(self.retain_X_) else self.calib_X_
        was = self.module_.training
        self.module_.eval()
        try:
            with torch.no_grad():
                out = self.module_(torch.as_tensor(src[:1]).to(self._device()))
        finally:
            self.module_.train(was)
        out = out[0] if isinstance(out, tuple | list) else out
        return int(out.shape[1])

    def unlearn(  # type: ignore[override]  # its only parameters: X_calib, y_calib
        self,
        X: NetInput,
        y: NetInput | None = None,
        *,
        request_id: str | None = None,
        X_calib: NetInput | None = None,
        y_calib: NetInput | None = None,
    ) -> Self:
        """Forget rows of the training data (approximately).

        The net is edited with ``unlearn_method`` (see the class docstring)
        on a copy of its module; the copy replaces ``module_`` only if the
        method finishes. Forget rows that were in skorch's validation split
        (the net never trained on them) are only dropped from the
        calibration rows.

        Parameters
        ----------
        X : array-like of shape (n_forget, n_features)
            Rows to forget, matched by content against the training rows.

        y : array-like of shape (n_forget,), default=None
            Their targets; when omitted, the stored targets are used.

        request_id : str, default=None
            Caller's identifier of the deletion request, kept in
            ``unlearn_history_``.

        X_calib, y_calib : array-like, default=None
            Rows the net never saw, used for the stopping rule instead of the
            calibration rows kept at ``fit``. Not stored.

        Returns
        -------
        self : object
            The net, its module edited to approximate the net retrained
            without the rows.
        """
        params = {}
        if X_calib is not None or y_calib is not None:
            params = {"X_calib": X_calib, "y_calib": y_calib}
        return super().unlearn(X, y, request_id=request_id, **params)


_NUMPY_DTYPES = {
    torch.float16: np.float16,
    torch.float32: np.float32,
    torch.float64: np.float64,
}

_UNCALIBRATED = (
    "unlearn found no calibration rows (rows the net never trained on), so it "
    "could not check that the forgotten rows now look like unseen rows, nor "
    "that accuracy held. The default method re-initialised the weights "
    "and retrained on the retained rows within its budget; the other methods "
    "stop only when the retained rows' accuracy falls. Pass X_calib= and "
    "y_calib= (held-out rows) to unlearn, or fit with a validation split "
    "(train_split=ValidSplit(...)), whose rows the net keeps as calibration rows."
)

_PARAMS_DOC = """
    unlearn_method : str, NetUnlearningMethod class or instance, default="auto"
        How :meth:`unlearn` edits the net: ``"reset_repair"``,
        ``"loss_matching"``, ``"finetune"``, ``"gradient_ascent"``,
        ``"neggrad_plus"``, ``"scrub"``, ``"bad_teacher"``, ``"salun"``,
        ``"l1_sparse"``, ``"random_labels"`` (classifier only),
        ``"gaussian_relabel"`` (regressor only), or a method object.
        ``"auto"`` is ``"reset_repair"`` (:class:`ResetRepair`), chosen by
        measurement (``benchmarks/bench_neural_net.py``): the only method
        that stays near the retrained net both on a net that memorised its
        rows and on one that generalises, with or without calibration
        rows. Its hyperparameters are set as ``unlearn_method__<name>``
        (e.g. ``unlearn_method__max_epochs=5``), so ``GridSearchCV`` can
        tune them.

    retain_budget : int or None, default=None
        Most training rows kept for the retain side of the methods; None
        keeps every training row. The sample is chosen by the rows' content
        (their fingerprints), not their position: after forgetting rows
        outside it, it is the sample a fit on the retained rows keeps. Rows
        of skorch's validation split are kept apart, as calibration rows.
"""


class UnlearningNeuralNetClassifier(_UnlearningNetMixin, NeuralNetClassifier):
    __doc__ = (
        """A skorch NeuralNetClassifier with an approximate ``unlearn`` method.

    A drop-in replacement for :class:`skorch.NeuralNetClassifier` (same
    parameters, plus the two below). ``fit`` also records the training rows:
    fingerprints of every row (to match forget requests by content), the rows
    of skorch's validation split (the calibration rows: never trained on),
    and the other rows, or a sample of ``retain_budget`` of them. ``unlearn``
    edits a copy of the module with the chosen method and commits the copy
    only if the method finishes. The result approximates the net retrained
    without the rows; for an exact alternative use SISA over this net
    (``skunlearn.ensemble``).

    **Calibration rows** are rows the net never trained on: the rows of
    skorch's validation split (kept at ``fit``; the default
    ``train_split``), or ``X_calib, y_calib`` passed to :meth:`unlearn`
    (used for that call only, never stored). With them, the methods stop
    when the forget rows look like them (loss-attack membership AUC and
    accuracy within ``tol`` plus their sampling noise), and roll back to
    the best state seen when the forget rows overshoot (fit *worse* than
    unseen rows, as revealing as remembering) or when the calibration
    rows' accuracy falls. Without them (``train_split=None`` and no
    ``X_calib``) nothing can show when the forget rows look unseen:
    ``unlearn`` warns once (:class:`UncalibratedUnlearningWarning`), the
    default method retrains within its budget from reset weights, and the
    other methods stop when the retained rows' accuracy falls. A
    non-finite loss or weight raises :class:`FloatingPointError` and leaves
    the net as it was.

    Floating input is cast to the module's dtype (float64 rows for a float32
    module, float32 rows for a float64 one); the ledger fingerprints the
    rows as given, so a forget request with the caller's values matches.

    ``X`` must be one 2-D numeric array (numpy, torch tensor, DataFrame) and
    ``y`` integer class labels ``0 .. n_classes - 1``, as skorch's loss needs.

    Parameters
    ----------
    module : torch module (class or instance)
        As in skorch.
    *args : list
        Positional parameters of :class:`skorch.NeuralNetClassifier`.
    criterion : torch loss class, default=torch.nn.NLLLoss
        As in skorch.
    train_split : callable or None, default=ValidSplit(5, stratified=True)
        As in skorch (its default). The rows of its validation split are
        never trained on: they are kept as calibration rows. None keeps none.
    classes : array-like of shape (n_classes,), default=None
        As in skorch.
"""
        + _PARAMS_DOC
        + """
    **kwargs : dict
        Every other parameter of :class:`skorch.NeuralNetClassifier`.

    Attributes
    ----------
    module_, optimizer_, criterion_, history_, callbacks_
        As in skorch. ``unlearn`` replaces ``module_`` and builds a fresh
        ``optimizer_`` (no momentum from the forgotten rows).
    ledger_ : TrainingLedger
        Fingerprints and targets of the training rows.
    retain_X_, retain_y_, retain_rows_ : ndarray
        The kept training rows (or their sample), targets and ledger ids.
    calib_X_, calib_y_, calib_rows_ : ndarray
        The calibration rows (skorch's validation split).
    unlearn_history_ : list of dict
        One record per ``unlearn``: method, epochs run, whether the stopping
        rule was calibrated and reached, ``exact=False``.

    See Also
    --------
    UnlearningNeuralNetRegressor : The regressor.
    skunlearn.neural_net.SCRUB : The method objects and their parameters.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skunlearn.neural_net import UnlearningNeuralNetClassifier
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(),
    ...                              torch.nn.Linear(16, 2))
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method="neggrad_plus",
    ...     unlearn_method__max_epochs=3).fit(X, y)
    >>> net.unlearn(X[:10]).unlearn_history_[-1]["n_removed"]
    10
    >>> str(net.unlearning_guarantee)
    'approximate'
    """
    )

    _task = "classification"
    _default_method = "reset_repair"

    def __init__(
        self,
        module: type[torch.nn.Module] | torch.nn.Module,
        *args: Any,
        criterion: type[torch.nn.Module] | torch.nn.Module = torch.nn.NLLLoss,
        train_split: Callable[..., Any] | None = ValidSplit(5, stratified=True),  # noqa: B008 (skorch's default)
        classes: ArrayLike | None = None,
        unlearn_method: str | NetUnlearningMethod | type[NetUnlearningMethod] = "auto",
        retain_budget: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            module,
            *args,
            criterion=criterion,
            train_split=train_split,
            classes=classes,
            **kwargs,
        )
        self.unlearn_method = unlearn_method
        self.retain_budget = retain_budget


class UnlearningNeuralNetRegressor(_UnlearningNetMixin, NeuralNetRegressor):
    __doc__ = (
        """A skorch NeuralNetRegressor with an approximate ``unlearn`` method.

    A drop-in replacement for :class:`skorch.NeuralNetRegressor`; see
    :class:`UnlearningNeuralNetClassifier` for what is kept and how
    ``unlearn`` works. The methods optimise the squared error;
    ``"neggrad_plus"``, ``"finetune"``, ``"gradient_ascent"`` and
    ``"gaussian_relabel"`` apply.

    Parameters
    ----------
    module : torch module (class or instance)
        As in skorch.
    *args : list
        Positional parameters of :class:`skorch.NeuralNetRegressor`.
    criterion : torch loss class, default=torch.nn.MSELoss
        As in skorch.
"""
        + _PARAMS_DOC
        + """
    **kwargs : dict
        Every other parameter of :class:`skorch.NeuralNetRegressor`
        (``train_split`` among them: its validation rows are the calibration
        rows).

    Attributes
    ----------
    module_, optimizer_, criterion_, history_, callbacks_
        As in skorch.
    ledger_ : TrainingLedger
        Fingerprints and targets of the training rows.
    retain_X_, retain_y_, retain_rows_, calib_X_, calib_y_, calib_rows_ : ndarray
        Kept training rows and calibration rows, as for the classifier.
    unlearn_history_ : list of dict
        One record per ``unlearn``.

    See Also
    --------
    UnlearningNeuralNetClassifier : The classifier.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skunlearn.neural_net import UnlearningNeuralNetRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 3).astype(np.float32)
    >>> y = (X @ np.ones((3, 1))).astype(np.float32)
    >>> net = UnlearningNeuralNetRegressor(
    ...     torch.nn.Linear(3, 1), max_epochs=5, verbose=0,
    ...     unlearn_method__max_epochs=2).fit(X, y)
    >>> net.unlearn(X[:5]).unlearn_history_[-1]["strategy"]
    'neural_net'
    """
    )

    _task = "regression"
    _default_method = "reset_repair"

    def __init__(
        self,
        module: type[torch.nn.Module] | torch.nn.Module,
        *args: Any,
        criterion: type[torch.nn.Module] | torch.nn.Module = torch.nn.MSELoss,
        unlearn_method: str | NetUnlearningMethod | type[NetUnlearningMethod] = "auto",
        retain_budget: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(module, *args, criterion=criterion, **kwargs)
        self.unlearn_method = unlearn_method
        self.retain_budget = retain_budget
