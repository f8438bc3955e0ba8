"""Ensembles built for forgetting: SISA shard ensembles and forests."""

# SPDX-License-Identifier: BSD-3-Clause

from ._forest import UnlearningForestClassifier, UnlearningForestRegressor
from ._sisa import SISAClassifier, SISARegressor, set_checkpoint_dir

__all__ = [
    "SISAClassifier",
    "SISARegressor",
    "UnlearningForestClassifier",
    "UnlearningForestRegressor",
    "set_checkpoint_dir",
]
