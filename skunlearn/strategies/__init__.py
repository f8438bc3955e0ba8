"""Unlearning strategies, one module per model family, and their registry."""

# SPDX-License-Identifier: BSD-3-Clause

from . import convex, linear, naive_bayes, neighbors, retrain  # noqa: F401  (importing registers them)  # noqa: F401
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
