"""skunlearn: make fitted scikit-learn models forget rows of their training data."""

# SPDX-License-Identifier: BSD-3-Clause

from .base import Guarantee, UnlearningMixin, is_unlearner
from .exceptions import (
    AmbiguousRowsError,
    ForgetAllRowsError,
    NumericalDriftWarning,
    ParametersChangedError,
    UnknownRowsError,
    UnlearningError,
)
from .wrapper import Unlearnable, register_strategy

__version__ = "0.1.0.dev0"

__all__ = [
    "AmbiguousRowsError",
    "ForgetAllRowsError",
    "Guarantee",
    "NumericalDriftWarning",
    "ParametersChangedError",
    "UnknownRowsError",
    "UnlearningError",
    "Unlearnable",
    "UnlearningMixin",
    "is_unlearner",
    "register_strategy",
    "__version__",
]
