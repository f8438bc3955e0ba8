"""Every public unlearning estimator fits and unlearns with its default arguments.

The estimators are collected from the ``__all__`` of skunlearn's public
modules, so that a new estimator is covered without editing a list here (a
parameter without a default makes ``test_every_required_parameter_has_a_value``
fail until it is given a value below). Only what has no default is given, plus
``random_state=0`` where there is one, so that the unlearned model can be
compared with a same-seed refit on the retained rows.
"""

# SPDX-License-Identifier: BSD-3-Clause

import importlib
import inspect
import pkgutil
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_blobs, make_classification, make_regression
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags

import skunlearn
from skunlearn.utils.estimator_checks import check_unlearning

_FORGET = [3, 17]  # positions of the 2 rows forgotten
_N_SAMPLES = 60
_N_FEATURES = 4


def _public_modules():
    """skunlearn and its public submodules (no ``_private`` part, no conftest)."""
    yield skunlearn
    for info in pkgutil.walk_packages(skunlearn.__path__, "skunlearn."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") or p == "conftest" for p in parts):
            continue
        yield importlib.import_module(info.name)


def _public_estimators():
    """``{qualified name: class}`` of the public classes with an ``unlearn``.

    A name that cannot be imported (an optional extra, such as torch for
    ``skunlearn.neural_net``, that is not installed) maps to the ImportError.
    """
    found = {}
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            try:
                obj = getattr(module, name)
            except ImportError as exc:
                found.setdefault(f"{module.__name__}.{name}", exc)
                continue
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and hasattr(obj, "unlearn")
                and not inspect.isabstract(obj)
            ):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    # A class exported twice (skunlearn.Unlearnable is also in its own
    # module's __all__) is tested once, under its defining module's name.
    return dict(sorted(found.items()))


_ESTIMATORS = _public_estimators()


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # The machine's cores are shared: tiny nets run an order of magnitude
    # slower when torch spreads them over several threads.
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _torch_module(classifier):
    import torch

    if classifier:
        # With skorch's default criterion, NLLLoss, the classifier's module
        # outputs probabilities (skorch takes their log in get_loss).
        return torch.nn.Sequential(
            torch.nn.Linear(_N_FEATURES, 2), torch.nn.Softmax(dim=-1)
        )
    return torch.nn.Linear(_N_FEATURES, 1)


def _required_params(cls):
    """Values of the parameters that have no default, by class name."""
    name = cls.__name__
    if name == "Unlearnable":
        return {"estimator": Ridge()}
    if name == "Pipeline":
        return {"steps": [("scale", StandardScaler()), ("ridge", Ridge())]}
    if name.startswith("UnlearningNeuralNet"):
        return {"module": _torch_module(issubclass(cls, ClassifierMixin))}
    return {}


def _required_names(cls):
    return {
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self"
        and p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _data(kind, cls):
    if kind == "classifier":
        X, y = make_classification(
            n_samples=_N_SAMPLES,
            n_features=_N_FEATURES,
            n_informative=3,
            n_redundant=0,
            random_state=0,
        )
    elif kind == "regressor":
        X, y = make_regression(
            n_samples=_N_SAMPLES, n_features=_N_FEATURES, noise=1.0, random_state=0
        )
    elif kind == "clusterer":
        X, _ = make_blobs(n_samples=_N_SAMPLES, n_features=_N_FEATURES, random_state=0)
        y = None
    else:  # a transformer
        X, _ = make_regression(
            n_samples=_N_SAMPLES, n_features=_N_FEATURES, random_state=0
        )
        y = None
    if cls.__name__.startswith("UnlearningNeuralNet"):
        # torch wants float32 inputs; the regressor's loss wants a 2-D target.
        X = X.astype(np.float32)
        if kind == "regressor":
            y = y.astype(np.float32).reshape(-1, 1)
    return X, y


def test_public_estimators_are_collected():
    # The walk must find the estimators of every public module; a broken
    # walk would otherwise make the test below pass on an empty list.
    names = {name.rsplit(".", 1)[-1] for name in _ESTIMATORS}
    assert {
        "Unlearnable",
        "Pipeline",
        "DCKMeans",
        "SISAClassifier",
        "SISARegressor",
        "UnlearningForestClassifier",
        "UnlearningForestRegressor",
        "UnlearningGradientBoostingClassifier",
        "UnlearningGradientBoostingRegressor",
        "UnlearningTreeClassifier",
        "UnlearningTreeRegressor",
        "UnlearningNeuralNetClassifier",
        "UnlearningNeuralNetRegressor",
    } <= names


@pytest.mark.parametrize("name", list(_ESTIMATORS))
def test_every_required_parameter_has_a_value(name):
    cls = _ESTIMATORS[name]
    if isinstance(cls, ImportError):
        pytest.skip(str(cls))
    missing = _required_names(cls) - set(_required_params(cls))
    assert not missing, f"give {name} a value for {sorted(missing)} in this file"


@pytest.mark.parametrize("name", list(_ESTIMATORS))
def test_default_estimator_unlearns_like_a_refit(name):
    cls = _ESTIMATORS[name]
    if isinstance(cls, ImportError):
        pytest.skip(str(cls))
    est = cls(**_required_params(cls))
    # A meta-estimator's kind is its inner estimator's: read it from the tags
    # of the instance, not from the class.
    kind = get_tags(est).estimator_type
    X, y = _data(kind, cls)
    if "random_state" in est.get_params(deep=False):
        est.set_params(random_state=0)
    if cls.__name__.startswith("UnlearningNeuralNet"):
        # The nets draw their weights from torch's global generator.
        import torch

        torch.manual_seed(0)
    exact = est.unlearning_guarantee == "exact"
    # Closed-form updates equal the refit up to rounding; the others (shard,
    # tree and cluster refits) reproduce it exactly.
    closed_form = cls.__name__ in ("Unlearnable", "Pipeline")
    rtol, atol = (1e-9, 1e-12) if closed_form else (0.0, 0.0)
    result = check_unlearning(est, X, y, forget=_FORGET, rtol=rtol, atol=atol)
    record = result["unlearned"].unlearn_history_[-1]
    assert record["n_removed"] == len(_FORGET)
    assert record["exact"] is exact
    if not exact:
        # The approximate nets keep skunlearn's contract only; they still
        # predict on every row, with the shape of the refit's predictions.
        unlearned, gold = result["unlearned"], result["gold"]
        assert unlearned.predict(X).shape == gold.predict(X).shape
