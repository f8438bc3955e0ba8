"""Measure forgetting: membership inference (over a population and per
example), ``forget_score``, gold-standard comparisons, the NeurIPS 2023
challenge score, and scorers for model search."""

# SPDX-License-Identifier: BSD-3-Clause

from ._challenge import unlearning_challenge_score
from ._gold import (
    compare_to_gold_standard,
    jensen_shannon_divergence,
    prediction_agreement,
    relative_prediction_error,
)
from ._membership import (
    forget_score,
    membership_inference_auc,
    membership_inference_interval,
    per_sample_loss,
    simple_mia_score,
)
from ._per_example import per_example_attack
from ._scorer import make_forget_scorer

__all__ = [
    "compare_to_gold_standard",
    "forget_score",
    "jensen_shannon_divergence",
    "make_forget_scorer",
    "membership_inference_auc",
    "membership_inference_interval",
    "per_example_attack",
    "per_sample_loss",
    "prediction_agreement",
    "relative_prediction_error",
    "simple_mia_score",
    "unlearning_challenge_score",
]
