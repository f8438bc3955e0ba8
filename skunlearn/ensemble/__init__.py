"""Ensembles built for forgetting: SISA shard ensembles and forests."""

# SPDX-License-Identifier: BSD-3-Clause

from ._sisa import SISAClassifier, SISARegressor

__all__ = [
    "SISAClassifier",
    "SISARegressor",
]
