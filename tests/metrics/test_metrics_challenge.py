"""The NeurIPS 2023 challenge score against a hand-computed case."""

import math

import numpy as np
import pytest

from skunlearn.metrics import unlearning_challenge_score
from skunlearn.metrics._challenge import _bucket_scores

DELTA = 1e-5


def _proba(scores):
    """Binary probabilities whose true class (1) has logit-scaled confidence s."""
    p = 1 / (1 + np.exp(-np.asarray(scores, dtype=float)))
    return np.stack([1 - p, p], axis=-1)


def _hand_case():
    # Three models per side, four forget examples; s values per example. The
    # offset 0.37 keeps every value off the threshold grids.
    o = 0.37
    unlearned = np.array(
        [
            [0 + o, 1 + o, 2 + o],  # A: identical samples
            [10 + o, 11 + o, 12 + o],  # B: perfectly separated
            [1 + o, 1 + o, 1.005 + o],  # C: spread 0.005 < 1% of 2 (peaky)
            [0 + o, 1 + o, 2 + o],  # D: shifted by one
        ]
    ).T  # (n_models, n_examples)
    retrained = np.array(
        [
            [0 + o, 1 + o, 2 + o],
            [0 + o, 1 + o, 2 + o],
            [0 + o, 1 + o, 2 + o],
            [1 + o, 2 + o, 3 + o],
        ]
    ).T
    return _proba(unlearned), _proba(retrained), np.ones(4, dtype=int)


def test_hand_computed_epsilons_and_score():
    pu, pr, y = _hand_case()
    score, eps = unlearning_challenge_score(y, pu, pr, return_epsilons=True)
    # A: every rule has TPR = FPR, so epsilon is clipped to 0.
    # B: a single threshold between the samples gives FPR = FNR = 0: infinite,
    #    capped at 50.
    # C: the smaller spread is below 1% of the larger: 50 outright.
    # D: positive = retrained (median 2.37 > 1.37); the best rules reach
    #    TPR = 2/3 with FPR = 1/3 (t in (1.37, 2.37], or the window {0.37, 1.37}
    #    of the double rule), so epsilon = ln(1 - delta - 1/3) - ln(1/3).
    expected_d = math.log(1 - DELTA - 1 / 3) - math.log(1 / 3)
    np.testing.assert_allclose(eps, [0.0, 50.0, 50.0, expected_d], rtol=1e-9)
    # N = 3: ceil(ln 2) = 1, buckets [0, 0.5) -> 1 and [0.5, 1) -> 1/2.
    # D's epsilon 0.693 scores 1/2; B and C score 0. F = (1 + 0 + 0 + 0.5) / 4.
    assert score == pytest.approx(0.375)


def test_accuracy_ratios_multiply_the_forget_quality():
    pu, pr, y = _hand_case()
    score = unlearning_challenge_score(
        y,
        pu,
        pr,
        retain_accuracy=([0.9, 0.8, 1.0], [1.0, 1.0, 1.0]),
        test_accuracy=(0.5, 0.625),
    )
    assert score == pytest.approx(0.375 * 0.9 * 0.8)


def test_buckets_follow_the_challenge():
    # N = 512: ceil(ln 511) = 7, the last bucket is [6.5, 7).
    eps = np.array([0.0, 0.49, 0.5, 1.2, 6.9, 7.0, 50.0])
    expected = [1, 1, 0.5, 0.25, 2.0**-13, 0, 0]
    np.testing.assert_allclose(_bucket_scores(eps, 512), expected)
    # N = 2 leaves no bucket at all.
    assert _bucket_scores(np.array([0.0]), 2)[0] == 0


def test_indistinguishable_models_score_one_and_separated_zero():
    rng = np.random.RandomState(0)
    s = rng.normal(size=(20, 6))
    y = np.ones(6, dtype=int)
    assert unlearning_challenge_score(y, _proba(s), _proba(s)) == 1.0
    assert unlearning_challenge_score(y, _proba(s + 100), _proba(s)) == 0.0


def test_multiclass_uses_the_other_classes_mass():
    # s = log p_y - log(sum of the other classes), whatever the class count.
    rng = np.random.RandomState(1)
    logits = rng.normal(size=(8, 5, 4))
    proba = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    y = np.array([0, 1, 2, 3, 0])
    assert unlearning_challenge_score(y, proba, proba) == 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"proba_unlearned": np.ones((3, 2))}, "shape"),
        ({"proba_retrained": np.full((4, 4, 2), 0.5)}, "as many"),
        ({"y_forget": np.array([0.5, 1, 1, 1])}, "integer"),
        ({"y_forget": np.array([0, 1, 2, 1])}, "class indices"),
        ({"retain_accuracy": (0.9,)}, "pair"),
    ],
)
def test_bad_input(kwargs, message):
    pu, pr, y = _hand_case()
    args = {"y_forget": y, "proba_unlearned": pu, "proba_retrained": pr}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        unlearning_challenge_score(**args)
