"""Ensembles built for forgetting: SISA shard ensembles, forests, boosting."""

# SPDX-License-Identifier: BSD-3-Clause

from ._boosting import (
    UnlearningGradientBoostingClassifier,
    UnlearningGradientBoostingRegressor,
)
from ._forest import UnlearningForestClassifier, UnlearningForestRegressor
from ._sisa import SISAClassifier, SISARegressor, set_checkpoint_dir

__all__ = [
    "SISAClassifier",
    "SISARegressor",
    "UnlearningForestClassifier",
    "UnlearningForestRegressor",
    "UnlearningGradientBoostingClassifier",
    "UnlearningGradientBoostingRegressor",
    "set_checkpoint_dir",
]
