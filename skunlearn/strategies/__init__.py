"""Unlearning strategies, one module per model family, and their registry."""

# SPDX-License-Identifier: BSD-3-Clause

from . import (  # noqa: F401  # noqa: F401
    composite,
    convex,
    linear,
    naive_bayes,
    neighbors,
    newton,
    preprocessing,
    retrain,
    search,
)
from ._base import (
    ForgetPlan,
    ForgetRequest,
    StrategyNotApplicable,
    UnlearningStrategy,
    get_strategy,
    register_strategy,
    registered_strategies,
)
from .linear import ClosedFormLinearStrategy
from .newton import NewtonRemovalStrategy
from .retrain import NativeStrategy, RetrainStrategy

__all__ = [
    "ClosedFormLinearStrategy",
    "ForgetPlan",
    "ForgetRequest",
    "NativeStrategy",
    "NewtonRemovalStrategy",
    "RetrainStrategy",
    "StrategyNotApplicable",
    "UnlearningStrategy",
    "get_strategy",
    "register_strategy",
    "registered_strategies",
]
