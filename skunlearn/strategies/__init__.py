"""Unlearning strategies, one module per model family, and their registry."""

# SPDX-License-Identifier: BSD-3-Clause

from . import composite, linear, preprocessing, retrain, search  # noqa: F401
from . import convex, naive_bayes, neighbors  # noqa: F401
from ._base import (
    StrategyNotApplicable,
    UnlearningStrategy,
    get_strategy,
    register_strategy,
    registered_strategies,
)
from .linear import ClosedFormLinearStrategy
from .retrain import NativeStrategy, RetrainStrategy

__all__ = [
    "ClosedFormLinearStrategy",
    "NativeStrategy",
    "RetrainStrategy",
    "StrategyNotApplicable",
    "UnlearningStrategy",
    "get_strategy",
    "register_strategy",
    "registered_strategies",
]
