"""The package ships type information, and its public API is annotated.

CI type-checks the package with mypy (``python -m mypy``, configured in
``pyproject.toml``); mypy checks the bodies of annotated functions only. This
test keeps the public API annotated, so that what users call is checked: every
public function, and every public method, property and ``__init__`` that
skunlearn defines on a public class, annotates each parameter and its return
type.
"""

# SPDX-License-Identifier: BSD-3-Clause

import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest

import skunlearn

# The public modules whose API is annotated.
TYPED_MODULES = [
    "skunlearn",
    "skunlearn.pipeline",
    "skunlearn.strategies",
    "skunlearn.tree",
    "skunlearn.ensemble",
    "skunlearn.cluster",
    "skunlearn.utils.estimator_checks",
    "skunlearn.exceptions",
    "skunlearn.cli",
    "skunlearn.audit",
    "skunlearn.metrics",
    "skunlearn.io",
]
# The nets and their methods need the ``nn`` extra (torch and skorch).
_HAS_NN = all(importlib.util.find_spec(m) for m in ("torch", "skorch"))
if _HAS_NN:
    TYPED_MODULES += [
        "skunlearn.neural_net",
        "skunlearn.neural_net._methods",
        "skunlearn.neural_net._schedule",
    ]


def _in_skunlearn(func):
    module = getattr(inspect.unwrap(func), "__module__", None) or ""
    return module == "skunlearn" or module.startswith("skunlearn.")


def _function_of(attr):
    """The function behind a class attribute, or None for a constant."""
    if isinstance(attr, property):
        return attr.fget
    if isinstance(attr, classmethod | staticmethod):
        return attr.__func__
    if inspect.isfunction(attr):
        return attr
    fn = getattr(attr, "fn", None)  # scikit-learn's ``available_if``
    return fn if inspect.isfunction(fn) else None


def _members(klass):
    """``(name, function)`` of the public methods skunlearn defines on ``klass``."""
    for name in sorted(dir(klass)):
        if name.startswith("_") and name != "__init__":
            continue
        owner = next(k for k in klass.__mro__ if name in k.__dict__)
        func = _function_of(owner.__dict__[name])
        if func is not None and _in_skunlearn(func):
            yield name, func


def _public_functions():
    seen = set()
    for module_name in TYPED_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isclass(obj):
                for member, func in _members(obj):
                    yield f"{module_name}.{name}.{member}", func
            elif inspect.isfunction(obj):
                yield f"{module_name}.{name}", obj


def _missing_annotations(func):
    """Names of the parameters of ``func`` without an annotation, and "return"."""
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


_FUNCTIONS = list(_public_functions())


def test_py_typed_ships():
    # PEP 561: the marker file tells type checkers to read the annotations.
    assert (Path(skunlearn.__file__).parent / "py.typed").is_file()


def test_public_functions_are_found():
    # Guard against a collection that silently finds nothing.
    paths = [path for path, _ in _FUNCTIONS]
    assert "skunlearn.Unlearnable.unlearn" in paths
    assert "skunlearn.Unlearnable.predict" in paths  # behind available_if
    assert "skunlearn.ensemble.SISAClassifier.fit" in paths  # behind _fit_context
    assert "skunlearn.strategies.UnlearningStrategy.plan" in paths
    assert "skunlearn.tree.UnlearningTreeClassifier.__init__" in paths
    assert "skunlearn.audit.LossDistributionDisplay.from_report" in paths
    assert "skunlearn.metrics.per_example_attack" in paths
    assert "skunlearn.io.load" in paths
    if _HAS_NN:
        assert "skunlearn.neural_net.UnlearningNeuralNetClassifier.unlearn" in paths
        assert "skunlearn.neural_net._methods.UnlearningContext.evaluate" in paths
    # Methods inherited from scikit-learn are not collected.
    assert "skunlearn.Unlearnable.get_params" not in paths


@pytest.mark.parametrize("path, func", _FUNCTIONS, ids=[p for p, _ in _FUNCTIONS])
def test_public_api_is_annotated(path, func):
    missing = _missing_annotations(func)
    assert not missing, f"{path}: no annotation for {', '.join(missing)}"
