"""Validate the docstrings of skunlearn's public API with numpydoc.

Modelled on scikit-learn's ``sklearn/tests/test_docstrings.py``: every public
class and function (the names in ``__all__`` of the public modules below) and
every public method or property that skunlearn itself defines on those classes
is checked with :func:`numpydoc.validate.validate`, and must have no error
outside the short list in :func:`filter_errors`.

Run it on one name from the command line::

    python tests/test_docstrings.py skunlearn.Unlearnable.unlearn
"""

# SPDX-License-Identifier: BSD-3-Clause

import importlib
import importlib.util
import inspect
import sys
from enum import Enum

import pytest

numpydoc_validation = pytest.importorskip("numpydoc.validate")

PUBLIC_MODULES = [
    "skunlearn",
    "skunlearn.pipeline",
    "skunlearn.strategies",
    "skunlearn.tree",
    "skunlearn.ensemble",
    "skunlearn.cluster",
    "skunlearn.neural_net",
    "skunlearn.metrics",
    "skunlearn.audit",
    "skunlearn.utils.estimator_checks",
    "skunlearn.exceptions",
    "skunlearn.io",
    "skunlearn.cli",
]

# Modules that need an optional extra to import: skipped when it is missing.
OPTIONAL_MODULES = {"skunlearn.neural_net": ("torch", "skorch")}

# Error codes ignored everywhere, as scikit-learn ignores them: RT02, the
# first line of a Returns section may name the returned object
# (``self : object``, ``labels : ndarray of shape (n_samples,)``), not only
# give its type. (scikit-learn also ignores GL01 and GL02; skunlearn's
# docstrings need neither.)
IGNORED_EVERYWHERE = {"RT02"}

# Error codes ignored for methods and properties only, as in scikit-learn: an
# extended summary, a See Also section and an Examples section are required
# of classes and functions; a method is shown in its class's example.
IGNORED_FOR_METHODS = {"ES01", "SA01", "EX01"}

# Error codes ignored for enumerations (``skunlearn.Guarantee``) only: PR01,
# as the signature numpydoc reads is ``EnumType.__call__``'s (``value, names,
# module, qualname, type, start, boundary``: Python's functional API to build
# a new enumeration), not something of ours; the members are documented as
# Attributes.
IGNORED_FOR_ENUMS = {"PR01"}


def _public_module_objects():
    """Yield ``(import_path, obj)`` once per distinct public object."""
    seen = set()
    for module_name in PUBLIC_MODULES:
        for dep in OPTIONAL_MODULES.get(module_name, ()):
            if importlib.util.find_spec(dep) is None:
                break
        else:
            module = importlib.import_module(module_name)
            for name in module.__all__:
                if name.startswith("_"):
                    continue
                obj = getattr(module, name)
                if id(obj) in seen:
                    continue
                seen.add(id(obj))
                yield f"{module_name}.{name}", obj


def _defined_in_skunlearn(obj):
    """Whether a class attribute's code lives in skunlearn (not inherited)."""
    if isinstance(obj, property):
        obj = obj.fget
    elif isinstance(obj, classmethod | staticmethod):
        obj = obj.__func__
    module = getattr(inspect.unwrap(obj), "__module__", None) or ""
    return module == "skunlearn" or module.startswith("skunlearn.")


def _public_methods(klass):
    """Public methods and properties that skunlearn defines on ``klass``.

    Methods inherited from scikit-learn, Python or the standard library are
    documented there; the metadata-routing ``set_*_request`` methods that
    scikit-learn generates are scikit-learn's too.
    """
    for name in sorted(dir(klass)):
        if name.startswith("_"):
            continue
        for owner in klass.__mro__:
            if name in owner.__dict__:
                attr = owner.__dict__[name]
                break
        else:  # pragma: no cover - dir() lists only what the MRO holds
            continue
        is_method = callable(attr) or isinstance(
            attr, property | classmethod | staticmethod
        )
        if is_method and _defined_in_skunlearn(attr):
            yield name


def get_all_objects():
    """``(import_path, obj, is_member)`` of every public object and member.

    Members are the public methods and properties of the public classes.
    """
    objects = []
    for path, obj in _public_module_objects():
        objects.append((path, obj, False))
        if inspect.isclass(obj):
            for method in _public_methods(obj):
                objects.append((f"{path}.{method}", obj, True))
    return objects


def filter_errors(errors, obj, is_member):
    """Drop the ignored error codes (see the module constants)."""
    is_enum = not is_member and inspect.isclass(obj) and issubclass(obj, Enum)
    for code, message in errors:
        if code in IGNORED_EVERYWHERE:
            continue
        if is_member and code in IGNORED_FOR_METHODS:
            continue
        if is_enum and code in IGNORED_FOR_ENUMS:
            continue
        yield code, message


def repr_errors(path, res):
    """Show the docstring and its errors."""
    return "\n\n".join(
        [
            str(res["file"]) + f":{res['file_line']}",
            path,
            res["docstring"],
            "# Errors",
            "\n".join(f" - {code}: {message}" for code, message in res["errors"]),
        ]
    )


def validate(path, obj, is_member):
    """Validate one import path; return the result with filtered errors."""
    res = numpydoc_validation.validate(path)
    res["errors"] = list(filter_errors(res["errors"], obj, is_member))
    return res


_ALL_OBJECTS = get_all_objects()
_IDS = [path for path, _, _ in _ALL_OBJECTS]


def test_public_api_is_found():
    # Guard against a collection that silently finds nothing.
    paths = _IDS
    assert "skunlearn.Unlearnable" in paths
    assert "skunlearn.Unlearnable.unlearn" in paths
    assert "skunlearn.metrics.forget_score" in paths
    # Methods inherited from scikit-learn are not collected.
    assert "skunlearn.Unlearnable.get_params" not in paths


@pytest.mark.parametrize("path, obj, is_member", _ALL_OBJECTS, ids=_IDS)
def test_docstring(path, obj, is_member):
    """Check the docstring of one public object with numpydoc."""
    res = validate(path, obj, is_member)
    if res["errors"]:
        raise ValueError(repr_errors(path, res))
    if not is_member:
        # The Examples section runs as a doctest (``--doctest-modules``): it
        # must hold one.
        examples = numpydoc_validation.Validator(
            numpydoc_validation.get_doc_object(obj)
        ).examples
        assert any(line.lstrip().startswith(">>>") for line in examples), path


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else None
    n_errors = 0
    for path, obj, is_member in _ALL_OBJECTS:
        if target is not None and path != target:
            continue
        res = validate(path, obj, is_member)
        if res["errors"]:
            n_errors += len(res["errors"])
            print(repr_errors(path, res), end="\n\n")
    print(f"{n_errors} errors")
    sys.exit(1 if n_errors else 0)
