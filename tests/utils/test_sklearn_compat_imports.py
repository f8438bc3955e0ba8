"""Private scikit-learn names are imported in one module only.

``skunlearn/utils/_sklearn_compat.py`` is where a new scikit-learn release is
accommodated; an import of a private name anywhere else would escape it.
"""

# SPDX-License-Identifier: BSD-3-Clause

import ast
from pathlib import Path

import pytest

import skunlearn

PACKAGE = Path(skunlearn.__file__).parent
COMPAT = PACKAGE / "utils" / "_sklearn_compat.py"


def _is_private(dotted):
    return any(part.startswith("_") for part in dotted.split("."))


def private_sklearn_imports(source, filename="<source>"):
    """``(line, statement)`` of each import of a private scikit-learn name.

    A name is private when a component of its module path or the imported
    name itself starts with an underscore.
    """
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
            if any(n.split(".")[0] == "sklearn" and _is_private(n) for n in names):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "sklearn":
                continue
            if _is_private(node.module) or any(
                a.name.startswith("_") for a in node.names
            ):
                found.append((node.lineno, ast.unparse(node)))
    return found


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from sklearn.utils._param_validation import Interval", 1),
        ("from sklearn.utils import _safe_indexing, check_array", 1),
        ("from sklearn.base import _fit_context", 1),
        ("import sklearn.utils._metadata_requests as mr", 1),
        ("def f():\n    from sklearn.neighbors._base import VALID_METRICS", 1),
        ("from sklearn.utils import check_array", 0),
        ("from sklearn.pipeline import Pipeline as _Pipeline", 0),
        ("import sklearn.utils.validation", 0),
        ("from ._base import _helper", 0),
        ("from numpy._core import umath", 0),
    ],
)
def test_private_sklearn_imports_detects(source, expected):
    # The check itself: private module paths and names, in functions too;
    # public names (even bound to a private alias) and other packages pass.
    assert len(private_sklearn_imports(source)) == expected


def test_private_sklearn_names_only_in_compat_module():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == COMPAT:
            continue
        rel = path.relative_to(PACKAGE.parent)
        for line, stmt in private_sklearn_imports(path.read_text(), str(path)):
            offenders.append(f"{rel}:{line}: {stmt}")
    assert not offenders, (
        "Private scikit-learn names must be imported from "
        "skunlearn.utils._sklearn_compat only:\n" + "\n".join(offenders)
    )


def test_register_unlearn_method_is_idempotent():
    from sklearn.linear_model import Ridge

    from skunlearn.utils._sklearn_compat import (
        _metadata_requests,
        register_unlearn_method,
    )

    register_unlearn_method()
    register_unlearn_method()
    for name in ("SIMPLE_METHODS", "METHODS"):
        assert getattr(_metadata_requests, name).count("unlearn") == 1
    # Metadata requests of every estimator now have an ``unlearn`` entry.
    assert hasattr(Ridge().get_metadata_routing(), "unlearn")
