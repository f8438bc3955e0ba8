"""skorch nets with approximate unlearning, and the methods they use.

Requires the ``nn`` extra (``torch`` and ``skorch``).
"""

# SPDX-License-Identifier: BSD-3-Clause

from ._methods import (
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
    SalUn,
    membership_auc,
)
from ._net import UnlearningNeuralNetClassifier, UnlearningNeuralNetRegressor

__all__ = [
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
    "SalUn",
    "UnlearningNeuralNetClassifier",
    "UnlearningNeuralNetRegressor",
    "membership_auc",
]
