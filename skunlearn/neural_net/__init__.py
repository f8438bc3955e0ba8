"""skorch nets with approximate unlearning, and the methods they use.

Requires the ``nn`` extra (``torch`` and ``skorch``). Names are imported on
first use, so that ``import skunlearn.neural_net`` itself works without them
and a missing extra surfaces as an ImportError naming the name asked for.
"""

# SPDX-License-Identifier: BSD-3-Clause

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the lazy names are, to a type checker
    from ._methods import (  # noqa: F401 (names of __all__)
        SCRUB,
        BadTeacher,
        Finetune,
        GaussianRelabel,
        GradientAscent,
        L1Sparse,
        LossMatching,
        NegGradPlus,
        NetUnlearningMethod,
        RandomLabels,
        ResetRepair,
        SalUn,
        UncalibratedUnlearningWarning,
        membership_auc,
    )
    from ._net import (  # noqa: F401 (names of __all__)
        UnlearningNeuralNetClassifier,
        UnlearningNeuralNetRegressor,
    )

_METHODS = (
    "SCRUB",
    "BadTeacher",
    "Finetune",
    "GaussianRelabel",
    "GradientAscent",
    "L1Sparse",
    "LossMatching",
    "NegGradPlus",
    "NetUnlearningMethod",
    "RandomLabels",
    "ResetRepair",
    "SalUn",
    "UncalibratedUnlearningWarning",
    "membership_auc",
)
_NETS = ("UnlearningNeuralNetClassifier", "UnlearningNeuralNetRegressor")

__all__ = [*_METHODS, *_NETS]


def __getattr__(name):
    if name in _METHODS:
        module = "._methods"
    elif name in _NETS:
        module = "._net"
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module, __name__), name)
    except ImportError as exc:
        raise ImportError(
            f"skunlearn.neural_net.{name} needs torch and skorch: "
            "pip install 'skunlearn[nn]'"
        ) from exc
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
