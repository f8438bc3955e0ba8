"""Ensembles built for forgetting."""

# SPDX-License-Identifier: BSD-3-Clause

from ._forest import UnlearningForestClassifier, UnlearningForestRegressor

__all__ = ["UnlearningForestClassifier", "UnlearningForestRegressor"]
