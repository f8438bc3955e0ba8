"""Saving and loading unlearning models with skops.

A saved model is read back by :func:`skops.io.load`, which rebuilds only the
types it is told to trust and never unpickles. :func:`trusted_types` lists
the types that a skunlearn model is made of and that skops does not trust by
default; :func:`load` trusts exactly those (and what skops trusts already).

What a saved model holds depends on its family: every model keeps its
training ledger (a keyed fingerprint of each training row, the targets and
per-row fit parameters such as ``sample_weight``); families that retrain or
re-optimise on their rows (SISA, trees and forests, DC-k-means, the retrain
fallback, warm-started convex models, searches, pipelines with such a step)
keep the rows themselves in the ledger, and some wrapped estimators hold them
in their own state (a nearest-neighbours index). A saved model is personal
data when its training rows were.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

__all__ = ["dump", "load", "trusted_types"]

# Types that models of the supported families hold and that skops does not
# trust by default. Each is plain data when rebuilt: skops constructs it from
# arrays and builtins (``__new__`` and ``__setstate__``, or its ``__reduce__``
# with a constructor from this list), and nothing of it runs at load.
_THIRD_PARTY = (
    # SimpleImputer(strategy="most_frequent")'s unlearning counts
    "collections.Counter",
    # type(None), as skops names it (a parameter or attribute holding the type)
    "builtins.NoneType",
    # the dtype a strategy records (skops trusts dtype instances, not the class)
    "numpy.dtype",
    # decision trees (retrain fallback, SISA over trees)
    "sklearn.tree._tree.Tree",
    # nearest neighbours' indexes
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    # the loss of a linear model's Newton removal
    "sklearn.linear_model._linear_loss.LinearModelLoss",
    # SplineTransformer's splines
    "scipy.interpolate._bsplines.BSpline",
)

# Modules whose classes never make part of a fitted model (the command line,
# reports, locks and transactions). The nets are models: they save their torch
# components as arrays (their ``__setstate__`` never unpickles, and refuses
# skorch's pickled format).
_NOT_MODEL_MODULES = (
    "skunlearn.__main__",
    "skunlearn._commit",
    "skunlearn._demo",
    "skunlearn.audit",
    "skunlearn.cli",
    "skunlearn.io",
)
# Runtime objects of a request in progress: never saved (a model drops them
# from its state), so never rebuilt from a file.
_RUNTIME_TYPES = (
    "skunlearn.neural_net._methods.UnlearningContext",
    "skunlearn.neural_net._schedule._EpochPrinter",
    "skunlearn.ensemble._sisa._CheckpointTxn",
    "skunlearn.tree._base._Job",
    "skunlearn.tree._base._JobQueue",
)

# Where a trusted type's pickling hooks may come from: ours, scikit-learn's
# (BaseEstimator's __setstate__) and Python's own.
_HOOKS = ("__setstate__", "__reduce__", "__reduce_ex__", "__new__")
_HOOK_OWNERS = ("skunlearn", "sklearn", "builtins")


def _skunlearn_modules():
    import skunlearn

    yield skunlearn
    for info in pkgutil.walk_packages(skunlearn.__path__, "skunlearn."):
        name = info.name
        if name.endswith(".conftest") or any(
            name == m or name.startswith(m + ".") for m in _NOT_MODEL_MODULES
        ):
            continue
        try:
            yield importlib.import_module(name)
        except ImportError:  # an optional extra that is not installed
            continue


def _hooks_are_inert(cls):
    """Whether ``cls`` is rebuilt by skunlearn's, scikit-learn's or Python's hooks."""
    for hook in _HOOKS:
        for klass in cls.__mro__:
            if hook in vars(klass):
                if klass.__module__.split(".")[0] not in _HOOK_OWNERS:
                    return False
                break
    return True


def _own_types():
    found = set()
    for module in _skunlearn_modules():
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and obj.__module__ == module.__name__
                and not issubclass(obj, BaseException)
                and _hooks_are_inert(obj)
            ):
                found.add(f"{obj.__module__}.{obj.__qualname__}")
    return found - set(_RUNTIME_TYPES)


def _sklearn_internal_types():
    """scikit-learn's and SciPy's types that models hold, from their modules.

    A nearest-neighbours index holds its metric; a search holds its splitter
    and scorer; a logistic regression's Newton state holds its loss and link;
    a ledger may hold sparse rows; a spline transformer holds
    SciPy splines. Listed from the modules, so that the list follows the
    installed versions.
    """
    names = set()
    for module_name, keep in (
        ("sklearn.metrics._dist_metrics", lambda c: "Distance" in c.__name__),
        ("sklearn.model_selection._split", lambda c: True),
        ("sklearn.metrics._scorer", lambda c: c.__name__.endswith("Scorer")),
        # a linear model's loss (the Newton state of logistic regression):
        # skops trusts these by default only from version 0.12
        ("sklearn._loss.loss", lambda c: True),
        ("sklearn._loss.link", lambda c: True),
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # pragma: no cover - a scikit-learn without it
            continue
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and obj.__module__ == module_name
                and keep(obj)
                and not issubclass(obj, BaseException)
            ):
                names.add(f"{module_name}.{obj.__qualname__}")
    try:  # sparse training rows (saved by skops with scipy's save_npz)
        import scipy.sparse

        for fmt in ("csr", "csc", "coo", "bsr", "dia"):
            for kind in ("matrix", "array"):
                cls = getattr(scipy.sparse, f"{fmt}_{kind}", None)
                if cls is not None:
                    names.add(f"{cls.__module__}.{cls.__qualname__}")
    except ImportError:  # pragma: no cover - SciPy is a dependency
        pass
    try:  # the array function a BSpline keeps (its module moves with SciPy)
        import numpy as np
        from scipy.interpolate import BSpline

        spline = BSpline(np.arange(8.0), np.ones(4), 3)
        for value in vars(spline).values():
            if inspect.isfunction(value):
                names.add(f"{value.__module__}.{value.__qualname__}")
    except (ImportError, TypeError, ValueError):  # pragma: no cover
        pass
    return names


def _torch_types():
    """The torch and skorch types a saved net's parameters name.

    A net's parameters are classes (its loss, optimizer, data loader and
    skorch dataset) and skorch's validation splitter; at load the net builds
    its loss and optimizer from them. Loss and optimizer classes are listed
    from torch's modules, so that the list follows the installed version.
    torch's layers (``torch.nn``) are listed for modules given as instances
    (a ``Sequential``): the net rebuilds them with torch's ``__setstate__``,
    which only sets attributes. A module class of the user's own is not
    listed (pass it to :func:`load`'s ``trusted``).
    """
    try:
        import torch
        from skorch.dataset import Dataset, ValidSplit
        from torch.nn.modules import loss
        from torch.utils.data import DataLoader
    except ImportError:  # the nets' extra is not installed
        return set()
    names = {
        f"{c.__module__}.{c.__qualname__}" for c in (Dataset, ValidSplit, DataLoader)
    }
    for module, base in ((loss, loss._Loss), (torch.optim, torch.optim.Optimizer)):
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, base) and obj is not base:
                names.add(f"{obj.__module__}.{obj.__qualname__}")
    # torch's own layers (a module given as an instance, such as a
    # ``Sequential``, is saved as its layers' classes and their arrays)
    for obj in vars(torch.nn).values():
        if inspect.isclass(obj) and issubclass(obj, torch.nn.Module):
            names.add(f"{obj.__module__}.{obj.__qualname__}")
    return names


def trusted_types() -> list[str]:
    """Fully qualified names of the types to trust when loading a model.

    The types skunlearn's models and strategies are made of, and the
    scikit-learn, SciPy, NumPy and standard-library types that the models of
    the supported families hold and that skops does not trust by default.
    Pass it to :func:`skops.io.load`. For a model wrapping an estimator that
    holds other types, inspect them with :func:`skops.io.get_untrusted_types`
    before adding them.

    A neural net's file also names its torch module class, which is the
    user's code and never in the list: trust it by name (``trusted`` in
    :func:`load`, ``--trust`` on the command line). The net's loss and
    optimizer classes, torch's ``DataLoader`` and skorch's dataset and
    validation splitter are listed.

    Returns
    -------
    names : list of str
        Sorted, fully qualified type names.

    See Also
    --------
    load : Load a model with skops, trusting these types.

    Examples
    --------
    >>> from skunlearn.io import trusted_types
    >>> "skunlearn._ledger.TrainingLedger" in trusted_types()
    True
    """
    return sorted(
        _own_types() | set(_THIRD_PARTY) | _sklearn_internal_types() | _torch_types()
    )


def dump(model: Any, file: str | os.PathLike[str] | IO[bytes]) -> None:
    """Save ``model`` in the skops format (a zip of arrays and JSON).

    No pickle: :func:`load` rebuilds the model from the file's arrays and
    JSON without running code from it. What the file holds is what the model
    holds (see :ref:`persistence`): for most families no training row.

    Parameters
    ----------
    model : object
        A fitted (or unfitted) estimator.

    file : str or path-like or file-like
        Where to write it.

    See Also
    --------
    load : Load it back.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.io import dump, load
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> buffer = io.BytesIO()
    >>> dump(model, buffer)
    >>> _ = buffer.seek(0)
    >>> bool(np.allclose(load(buffer).predict(X), model.predict(X)))
    True
    """
    import skops.io

    skops.io.dump(model, file)


def load(
    file: str | os.PathLike[str] | IO[bytes], *, trusted: Sequence[str] | None = None
) -> Any:
    """Load a model saved with :func:`dump` (or :func:`skops.io.dump`).

    Loading never runs code from the file: skops rebuilds each object from
    arrays and builtins, and only objects of the types it trusts by default
    (scikit-learn's estimators, NumPy and SciPy arrays, builtins) or of
    :func:`trusted_types` (whose ``__setstate__`` only sets attributes; a
    neural net's builds its torch components from its own parameters, which
    are trusted types too, and loads their saved arrays), and of ``trusted``.
    Nothing is unpickled. A file holding any other type is refused with
    :class:`skops.io.exceptions.UntrustedTypesFoundException`, which names it:
    check it with :func:`skops.io.get_untrusted_types` and pass it in
    ``trusted`` if you trust it (a net's torch module class, your own
    transformer).

    A loaded model is data chosen by whoever wrote the file; a model never
    reads, writes or deletes a file because its saved state names it.

    Parameters
    ----------
    file : str or path-like or file-like
        The saved model.

    trusted : list of str, default=None
        More fully qualified type names to trust, beyond skops' defaults and
        :func:`trusted_types`: types of your own code that the model holds,
        such as a neural net's module class (``"mypackage.MyModule"``).
        Loading imports their modules.

    Returns
    -------
    model : object
        The model.

    See Also
    --------
    dump : Save a model.
    trusted_types : The types it trusts beyond skops' defaults.
    skunlearn.ensemble.set_checkpoint_dir : Name the checkpoint directory of a
        loaded SISA ensemble.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.io import dump, load
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> import io
    >>> buffer = io.BytesIO()
    >>> dump(model, buffer)
    >>> _ = buffer.seek(0)
    >>> loaded = load(buffer).unlearn(X[:2])
    >>> loaded.ledger_.n_rows
    8
    """
    import skops.io

    if isinstance(trusted, str):
        raise TypeError(
            f"trusted must be a list of type names, not the string {trusted!r}."
        )
    extra = list(trusted or [])
    return skops.io.load(file, trusted=trusted_types() + extra)
