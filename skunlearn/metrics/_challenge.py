"""The NeurIPS 2023 Machine Unlearning Challenge's score.

Follows google-deepmind/unlearning_evaluation (``metric.py``): for every
forget example, the outputs of N unlearned and N retrained models are two
samples; the best decision rule telling them apart gives an (epsilon, delta)
"privacy" estimate; small epsilons score high. The rules and constants are
the challenge's; only the arithmetic is vectorised (counting with sorted
arrays instead of comparing every model with every threshold), which gives
the same rates.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, overload

import numpy as np

from ..utils._sklearn_compat import Interval, validate_params

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, Float64Array

__all__ = ["unlearning_challenge_score"]

_THRESHOLDS_PER_UNIT = 100
_BUFFER = 2.0
_BUCKET = 0.5


def _logit_scaled_confidence(y, proba):
    """``s = log p_y - log(sum of the other classes)`` for each model and example.

    ``proba`` has shape (n_models, n_examples, n_classes). The challenge adds
    1e-45 inside both logarithms; so does this.
    """
    n_models, n_examples, _ = proba.shape
    idx = np.broadcast_to(y[None, :, None], (n_models, n_examples, 1))
    p_y = np.take_along_axis(proba, idx, axis=2)[..., 0]
    # Summing the other classes directly (not 1 - p_y) keeps the precision the
    # challenge's softmax computation has when p_y is close to 1.
    other = proba.copy()
    np.put_along_axis(other, idx, 0.0, axis=2)
    p_wrong = other.sum(axis=2)
    return np.log(p_y + 1e-45) - np.log(p_wrong + 1e-45)


def _count_at_least(sorted_values, thresholds):
    return sorted_values.size - np.searchsorted(sorted_values, thresholds, side="left")


def _count_between(sorted_values, left, right):
    # Number of values v with left <= v <= right.
    hi = np.searchsorted(sorted_values, right, side="right")
    lo = np.searchsorted(sorted_values, left, side="left")
    return np.maximum(hi - lo, 0)


def _single_threshold_rates(pos, neg):
    """Rates of "positive if s >= t" over the challenge's grid of t."""
    pooled = np.concatenate([pos, neg])
    lo, hi = pooled.min(), pooled.max()
    n = int(math.ceil((hi - lo) * _THRESHOLDS_PER_UNIT))
    t = np.linspace(lo, hi, n)
    tpr = _count_at_least(np.sort(pos), t) / pos.size
    fpr = _count_at_least(np.sort(neg), t) / neg.size
    return tpr, 1.0 - tpr, fpr, 1.0 - fpr


def _double_threshold_rates(pos, neg):
    """Rates of "positive if l <= s <= r", positive being the peakier sample."""
    pos_diff = pos.max() - pos.min()
    neg_diff = neg.max() - neg.min()
    width = neg_diff if pos_diff > neg_diff else pos_diff
    if pos_diff >= neg_diff:
        pos, neg = neg, pos
    lo = pos.min() + width - _BUFFER
    hi = pos.max() + _BUFFER
    n_right = int(math.ceil((hi - lo) * _THRESHOLDS_PER_UNIT))
    right = np.linspace(lo, hi, n_right)
    n_left = int(math.ceil(2 * _BUFFER * _THRESHOLDS_PER_UNIT))
    left = np.concatenate(
        [np.linspace(r - width - _BUFFER, r - width + _BUFFER, n_left) for r in right]
    )
    right = np.repeat(right, n_left)
    tpr = _count_between(np.sort(pos), left, right) / pos.size
    fpr = _count_between(np.sort(neg), left, right) / neg.size
    return tpr, 1.0 - tpr, fpr, 1.0 - fpr


def _example_epsilon(pos, neg, delta, cap):
    """Epsilon of one forget example from its two samples of confidences."""
    pos_diff = pos.max() - pos.min()
    neg_diff = neg.max() - neg.min()
    largest, smallest = max(pos_diff, neg_diff), min(pos_diff, neg_diff)
    if largest == 0:
        # Both samples constant (the challenge's code divides 0 by 0 here and
        # later fails): equal constants cannot be told apart, different ones
        # are separated perfectly.
        return 0.0 if pos[0] == neg[0] else cap
    if smallest / largest < 0.01:
        # A very peaky sample: the challenge scores it as the worst case.
        return cap
    rates = [_double_threshold_rates(pos, neg), _single_threshold_rates(pos, neg)]
    tpr, fnr, fpr, tnr = (np.concatenate(r) for r in zip(*rates))
    perfect = (fpr + fnr == 0) & (tpr + tnr == 2)
    # Rules with exactly one of FPR, FNR at zero are dropped: the challenge
    # reads that as too few samples rather than as infinite evidence.
    keep = ~perfect & (fpr * fnr != 0)
    eps = np.empty(0)
    if keep.any():
        f, n = fpr[keep], fnr[keep]
        with np.errstate(divide="ignore", invalid="ignore"):
            both = np.stack(
                [np.log(1 - delta - f) - np.log(n), np.log(1 - delta - n) - np.log(f)]
            )
            eps = np.clip(np.fmax(both[0], both[1]), 0, None)
        eps = eps[~np.isnan(eps)]
    if perfect.any():
        return cap
    if eps.size == 0:
        # No informative rule (the challenge's code stops with an assertion).
        return 0.0
    return float(min(eps.max(), cap))


def _bucket_scores(epsilons, n_models):
    max_epsilon = math.ceil(math.log(n_models - 1)) if n_models > 1 else 0
    scores = np.zeros_like(epsilons)
    inside = epsilons < max_epsilon
    scores[inside] = 2.0 ** -np.floor(epsilons[inside] / _BUCKET)
    return scores


def _mean_ratio(pair, name):
    if pair is None:
        return 1.0
    if len(pair) != 2:
        raise ValueError(
            f"{name} must be a pair (unlearned, retrained) of accuracies, got "
            f"{len(pair)} items."
        )
    unlearned, retrained = (float(np.mean(np.asarray(v, dtype=float))) for v in pair)
    if retrained <= 0:
        raise ValueError(f"The retrained models' {name} must be positive.")
    return unlearned / retrained


@overload
def unlearning_challenge_score(
    y_forget: ArrayLike,
    proba_unlearned: ArrayLike,
    proba_retrained: ArrayLike,
    *,
    retain_accuracy: Sequence[ArrayLike] | None = ...,
    test_accuracy: Sequence[ArrayLike] | None = ...,
    delta: float = ...,
    epsilon_cap: float = ...,
    return_epsilons: Literal[False] = ...,
) -> float: ...


@overload
def unlearning_challenge_score(
    y_forget: ArrayLike,
    proba_unlearned: ArrayLike,
    proba_retrained: ArrayLike,
    *,
    retain_accuracy: Sequence[ArrayLike] | None = ...,
    test_accuracy: Sequence[ArrayLike] | None = ...,
    delta: float = ...,
    epsilon_cap: float = ...,
    return_epsilons: Literal[True],
) -> tuple[float, Float64Array]: ...


@validate_params(
    {
        "y_forget": ["array-like"],
        "proba_unlearned": ["array-like"],
        "proba_retrained": ["array-like"],
        "retain_accuracy": [tuple, list, None],
        "test_accuracy": [tuple, list, None],
        "delta": [Interval(numbers.Real, 0, 1, closed="neither")],
        "epsilon_cap": [Interval(numbers.Real, 0, None, closed="neither")],
        "return_epsilons": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def unlearning_challenge_score(
    y_forget: ArrayLike,
    proba_unlearned: ArrayLike,
    proba_retrained: ArrayLike,
    *,
    retain_accuracy: Sequence[ArrayLike] | None = None,
    test_accuracy: Sequence[ArrayLike] | None = None,
    delta: float = 1e-5,
    epsilon_cap: float = 50.0,
    return_epsilons: bool = False,
) -> float | tuple[float, Float64Array]:
    """Score of the NeurIPS 2023 Machine Unlearning Challenge.

    For each forget example ``j`` and each of ``N`` unlearned and ``N``
    retrained models, ``s = log p_y - log(1 - p_y)``. The sample with the
    larger median is "positive". Two families of decision rules try to tell
    the samples apart (rates averaged over the models):

    - single threshold ``t``, positive if ``s >= t``, ``ceil((max - min) *
      100)`` thresholds evenly spaced over the pooled range;
    - double threshold, positive if ``l <= s <= r``, where positive is the
      sample with the smaller spread ``w = max - min``: ``ceil((hi - lo) *
      100)`` right thresholds from ``lo = min + w - 2`` to ``hi = max + 2``
      of that sample, and for each, 400 left thresholds over
      ``[r - w - 2, r - w + 2]``.

    Each rule gives ``epsilon = max(ln(1 - delta - FPR) - ln FNR, ln(1 -
    delta - FNR) - ln FPR)``, clipped at 0; rules where exactly one of FPR,
    FNR is 0 are dropped, FPR = FNR = 0 gives infinity. ``epsilon_j`` is the
    maximum over rules, capped at ``epsilon_cap``; it is the cap outright when
    the smaller spread is below 1 % of the larger. Each example scores
    ``2 ** -floor(epsilon_j / 0.5)``, or 0 from ``ceil(ln(N - 1))`` up. The
    forget quality ``F`` is their mean, and the score is ``F x (RA_u / RA_r) x
    (TA_u / TA_r)`` with retain and test accuracies averaged over the models.

    Parameters
    ----------
    y_forget : array-like of shape (n_forget,)
        True class of each forget example, as a column index into the last
        axis of the probabilities.

    proba_unlearned : array-like of shape (n_models, n_forget, n_classes)
        Predicted probabilities of the N unlearned models on the forget
        examples.

    proba_retrained : array-like of shape (n_models, n_forget, n_classes)
        Those of the N models retrained without the forget examples.

    retain_accuracy : pair of (float or array-like of shape (n_models,)), \
            default=None
        ``(RA_u, RA_r)``: accuracy on the retained rows of the unlearned and of
        the retrained models (each averaged). None leaves the factor out.

    test_accuracy : pair of (float or array-like of shape (n_models,)), \
            default=None
        ``(TA_u, TA_r)``: the same on a test set. None leaves the factor out.

    delta : float, default=1e-5
        The delta of (epsilon, delta)-indistinguishability.

    epsilon_cap : float, default=50.0
        Largest epsilon.

    return_epsilons : bool, default=False
        Also return the per-example epsilons.

    Returns
    -------
    score : float
        In [0, 1] when the unlearned models are no more accurate than the
        retrained ones, higher is better; ``F`` alone (both accuracy pairs
        None) has optimum 1, reached when every example's two samples are
        indistinguishable by these rules. N must be at least 3 for a non-zero
        score (with N = 2, ``ceil(ln 1) = 0`` leaves no bucket).

    epsilons : ndarray of shape (n_forget,)
        Per-example epsilons, when ``return_epsilons=True``.

    See Also
    --------
    forget_score : A single-model measure of forgetting.
    simple_mia_score : The challenge starting kit's membership attack.

    References
    ----------
    Triantafillou et al., "Are we making progress in unlearning? Findings from
    the first NeurIPS unlearning competition", 2024;
    google-deepmind/unlearning_evaluation, ``metric.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.metrics import unlearning_challenge_score
    >>> rng = np.random.RandomState(0)
    >>> p = rng.uniform(0.2, 0.8, size=(20, 5))     # 20 models, 5 examples
    >>> proba = np.stack([1 - p, p], axis=2)
    >>> y = np.ones(5, dtype=int)
    >>> unlearning_challenge_score(y, proba, proba)  # indistinguishable
    1.0
    """
    pu = np.asarray(proba_unlearned, dtype=np.float64)
    pr = np.asarray(proba_retrained, dtype=np.float64)
    y = np.asarray(y_forget)
    if pu.ndim != 3 or pr.ndim != 3:
        raise ValueError(
            "proba_unlearned and proba_retrained must have shape "
            "(n_models, n_forget, n_classes)."
        )
    if pu.shape != pr.shape:
        raise ValueError(
            f"proba_unlearned has shape {pu.shape} but proba_retrained has shape "
            f"{pr.shape}; use as many unlearned as retrained models."
        )
    n_models, n_forget, n_classes = pu.shape
    if n_models < 2:
        raise ValueError("The challenge score needs at least 2 models of each kind.")
    if y.shape != (n_forget,) or y.dtype.kind not in "iu":
        raise ValueError(
            f"y_forget must hold {n_forget} integer class indices, got shape "
            f"{y.shape} and dtype {y.dtype}."
        )
    if n_forget == 0:
        raise ValueError("No forget example.")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"y_forget must be class indices in [0, {n_classes}).")
    s_u = _logit_scaled_confidence(y, pu)
    s_r = _logit_scaled_confidence(y, pr)
    epsilons = np.empty(n_forget)
    for j in range(n_forget):
        u, r = s_u[:, j], s_r[:, j]
        # The sample with the larger median is "positive" (ties: unlearned).
        pos, neg = (r, u) if np.median(r) > np.median(u) else (u, r)
        epsilons[j] = _example_epsilon(pos, neg, delta, epsilon_cap)
    quality = float(_bucket_scores(epsilons, n_models).mean())
    score = (
        quality
        * _mean_ratio(retain_accuracy, "retain_accuracy")
        * _mean_ratio(test_accuracy, "test_accuracy")
    )
    if return_epsilons:
        return score, epsilons
    return score
