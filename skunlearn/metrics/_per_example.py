"""A per-example membership attack with shadow models, in the spirit of U-LiRA.

A population attack (:func:`~skunlearn.metrics.membership_inference_auc`)
asks whether the forgotten rows, as a group, look like never-seen rows. It
overestimates privacy: a row whose own fit is still distinctive hides among
the others. U-LiRA (Hayes et al. 2024) asks row by row whether the model at
hand *unlearned* the row or *never saw* it, by comparing the model's output on
that row with what shadow models give: some that unlearned the row with the
method under test, some retrained without it. This module runs those shadow
models on small data and scores the attack on held-out target models.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
import numbers
import time
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import column_or_1d

from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _num_samples,
    _safe_indexing,
    validate_params,
)
from ._membership import (
    _bootstrap_counts,
    _has_method,
    _interval,
    _proba_classes,
    _resampled_auc,
    _task,
    _true_class_columns,
    per_sample_loss,
)

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike

__all__ = ["per_example_attack"]

#: added inside both logarithms of the logit-scaled confidence, as the
#: NeurIPS 2023 challenge does (a probability of 0 or 1 stays finite)
_LOG_EPS = 1e-45
#: smallest variance of a fitted Gaussian: a statistic that no shadow model
#: moves (a row no other row influences) must not divide by zero
_VAR_FLOOR = 1e-12
#: relative difference below which an unlearned model's and its refit's
#: statistics are the same number
_SAME = 1e-9


def _membership_statistic(estimator, X, y):
    """The per-row statistic the attack models as Gaussian, and its name.

    Classifiers with probabilities: the logit-scaled confidence
    ``log p_y - log(1 - p_y)`` of the true class, as U-LiRA, LiRA and the
    challenge use (near Gaussian across models, unlike ``p_y``). Single-output
    regressors: the signed residual ``prediction - y``. Anything else: minus
    :func:`~skunlearn.metrics.per_sample_loss`.
    """
    task = _task(estimator)
    if task == "classification" and _has_method(estimator, "predict_proba"):
        y = column_or_1d(y, warn=False)
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        cols = _true_class_columns(_proba_classes(estimator, proba.shape[1]), y)
        rows = np.arange(proba.shape[0])
        known = cols >= 0
        p_y = np.where(known, proba[rows, np.maximum(cols, 0)], 0.0)
        # sum of the other classes, not 1 - p_y: exact when p_y is close to 1
        other = proba.copy()
        other[rows[known], cols[known]] = 0.0
        p_wrong = other.sum(axis=1)
        return np.log(p_y + _LOG_EPS) - np.log(p_wrong + _LOG_EPS), "logit_confidence"
    if task == "regression":
        pred = np.asarray(estimator.predict(X), dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if pred.ndim == 2 and pred.shape[1] == 1:
            pred = pred.ravel()
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if pred.ndim == 1 and y.ndim == 1:
            return pred - y, "residual"
    return -np.asarray(per_sample_loss(estimator, X, y), float), "negative_loss"


def _balanced_design(rng, n_runs, n_rows):
    """Which rows each run forgets: every row in ``n_runs // 2`` runs.

    As in LiRA's shadow training: each row is "in" (here: forgotten) in
    exactly half of the runs, so every row has the same number of samples
    of each kind; which runs is random, row by row.
    """
    order = rng.uniform(size=(n_runs, n_rows)).argsort(axis=0)
    return order < max(1, n_runs // 2)


def _one_run(original, estimator, X, y, forget_pos, unlearn_params):
    """Unlearn ``forget_pos`` from ``original`` (a copy of it; a fresh fit when
    None), refit without them, and return both models' statistic on the
    forgotten rows."""
    from ..audit import _retained_positions  # the audit imports this module

    X_f = _safe_indexing(X, forget_pos)
    y_f = None if y is None else y[forget_pos]
    if original is None:
        model = clone(estimator).fit(X, y)
    else:
        model = copy.deepcopy(original)
    model.unlearn(X_f, y_f, **(unlearn_params or {}))
    keep = _retained_positions(X, y, forget_pos)
    gold = clone(estimator).fit(_safe_indexing(X, keep), None if y is None else y[keep])
    s_u, name = _membership_statistic(model, X_f, y_f)
    s_r, _ = _membership_statistic(gold, X_f, y_f)
    return s_u, s_r, name


def _collect(original, estimator, X, y, rows, design, unlearn_params, n_jobs):
    """Statistics of the unlearned and retrained model of every run.

    Two arrays of shape (n_runs, n_rows), NaN where the run kept the row.
    """
    tasks = [rows[design[r]] for r in range(design.shape[0])]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_one_run)(original, estimator, X, y, pos, unlearn_params)
        for pos in tasks
        if pos.size  # a run with nothing to forget is no request
    )
    s_u = np.full(design.shape, np.nan)
    s_r = np.full(design.shape, np.nan)
    runs = (r for r in range(design.shape[0]) if design[r].any())
    for r, (u, g, _) in zip(runs, results):
        s_u[r, design[r]] = u
        s_r[r, design[r]] = g
    # the statistic's name (the same in every run)
    return s_u, s_r, results[0][2]


def _gaussian(samples, variance):
    """Mean per row and variance (per row, or one for all) of ``samples``,
    an (n_runs, n_rows) array with NaN where a row has no sample."""
    counts = np.sum(~np.isnan(samples), axis=0)
    mean = np.nansum(samples, axis=0) / counts
    squares = np.nansum((samples - mean) ** 2, axis=0)
    if variance == "global":
        # LiRA's fixed variance: one, pooled over rows (its degrees of
        # freedom are the samples less one mean per row)
        var = np.full(mean.shape, squares.sum() / max(counts.sum() - counts.size, 1))
    else:
        var = squares / np.maximum(counts - 1, 1)
    return mean, np.maximum(var, _VAR_FLOOR)


def _log_ratio(s, mean_u, var_u, mean_r, var_r):
    """``log N(s; unlearned) - log N(s; retrained)``: positive says "unlearned"."""
    log_u = -0.5 * (np.log(var_u) + (s - mean_u) ** 2 / var_u)
    log_r = -0.5 * (np.log(var_r) + (s - mean_r) ** 2 / var_r)
    return log_u - log_r


def _example_auc(score_u, score_r):
    """AUC of each row over its own target runs (NaN rows: no target run)."""
    valid = ~np.isnan(score_u)
    u = np.where(valid, score_u, 0.0)[:, None, :]
    r = np.where(valid, score_r, 0.0)[None, :, :]
    pair = valid[:, None, :] & valid[None, :, :]
    wins = ((u > r) + 0.5 * (u == r)) * pair
    with np.errstate(invalid="ignore", divide="ignore"):
        return wins.sum(axis=(0, 1)) / pair.sum(axis=(0, 1))


def _attack(
    original,
    estimator,
    X,
    y,
    rows,
    *,
    n_shadow,
    n_target,
    variance,
    unlearn_params,
    confidence,
    n_resamples,
    n_jobs,
    random_state,
):
    """The attack on a fitted ``original``; see :func:`per_example_attack`."""
    start = time.perf_counter()
    rng = check_random_state(random_state)
    n_rows = rows.size
    shadow = _balanced_design(rng, n_shadow, n_rows)
    target = _balanced_design(rng, n_target, n_rows)
    boot_seed = rng.randint(2**31 - 1)
    design = np.concatenate([shadow, target])
    n_runs = int(design.any(axis=1).sum())
    s_u, s_r, statistic = _collect(
        original, estimator, X, y, rows, design, unlearn_params, n_jobs
    )
    # a pair that agrees to rounding is one model (an exact unlearner): the
    # attack must not read the last bits of a closed form's arithmetic
    s_u = np.where(np.abs(s_u - s_r) <= _SAME * (1.0 + np.abs(s_r)), s_r, s_u)
    mean_u, var_u = _gaussian(s_u[:n_shadow], variance)
    mean_r, var_r = _gaussian(s_r[:n_shadow], variance)
    # each target run forgot some rows: on each of them, the unlearned model
    # (truly "unlearned") and the retrained one (truly "never seen") are scored
    lr_u = _log_ratio(s_u[n_shadow:], mean_u, var_u, mean_r, var_r)
    lr_r = _log_ratio(s_r[n_shadow:], mean_u, var_u, mean_r, var_r)
    observed = ~np.isnan(lr_u)
    obs_row = np.broadcast_to(np.arange(n_rows), observed.shape)[observed]
    obs_u, obs_r = lr_u[observed], lr_r[observed]
    # the rows are the unit of the bootstrap: a resampled row brings all its
    # target observations
    draws = _bootstrap_counts(check_random_state(boot_seed), n_rows, n_resamples)
    w = draws[:, obs_row].astype(float)
    ones = np.ones((1, obs_row.size))
    auc = float(_resampled_auc(obs_u, obs_r, ones, ones)[0])
    aucs = _resampled_auc(obs_u, obs_r, w, w)
    # per pair, the number of its two models labelled right (a tie counts 1/2)
    right = np.sign(obs_u) - np.sign(obs_r)
    right = 1.0 + right / 2.0
    accuracy = float(right.sum() / (2 * right.size))
    accuracies = (w @ right) / (2 * w.sum(axis=1))
    auc_low, auc_high = _interval(aucs, confidence)
    acc_low, acc_high = _interval(accuracies, confidence)
    # which way the unlearned models differ: how much better they fit the
    # rows they forgot than their refits do
    t_u, t_r = s_u[n_shadow:][observed], s_r[n_shadow:][observed]
    gap = np.abs(t_r) - np.abs(t_u) if statistic == "residual" else t_u - t_r
    shift_low, shift_high = _interval((w @ gap) / w.sum(axis=1), confidence)
    return {
        "auc": auc,
        "auc_low": auc_low,
        "auc_high": auc_high,
        "auc_se": float(np.std(aucs, ddof=1)) if n_resamples > 1 else float("nan"),
        "accuracy": accuracy,
        "accuracy_low": acc_low,
        "accuracy_high": acc_high,
        "shift": float(gap.mean()),
        "shift_low": shift_low,
        "shift_high": shift_high,
        "example_auc": _example_auc(lr_u, lr_r),
        "statistic": statistic,
        "variance": variance,
        "n_forget": int(n_rows),
        "n_shadow": int(n_shadow),
        "n_target": int(n_target),
        "n_observations": int(obs_row.size),
        "n_runs": n_runs,
        "n_fits": n_runs * (2 if original is None else 1),
        "seconds": time.perf_counter() - start,
        "confidence": float(confidence),
    }


def _forget_positions(forget, n):
    """Positions of the candidate rows, from a boolean mask or indices."""
    forget = np.asarray(forget)
    if forget.dtype == bool:
        if forget.shape != (n,):
            raise ValueError(
                f"A forget mask must be a boolean array of shape ({n},); got shape "
                f"{forget.shape}."
            )
        pos = np.flatnonzero(forget)
    elif forget.dtype.kind in "iu" and forget.ndim == 1:
        pos = forget.astype(np.intp)
        bad = pos[(pos < 0) | (pos >= n)]
        if bad.size:
            raise ValueError(
                f"forget holds positions outside [0, {n}): {bad[:5].tolist()}."
            )
        values, counts = np.unique(pos, return_counts=True)
        if np.any(counts > 1):
            raise ValueError(
                f"forget lists positions more than once: "
                f"{values[counts > 1][:5].tolist()}."
            )
        pos = np.sort(pos)
    else:
        raise ValueError(
            "forget must be a boolean mask of the rows or a 1-D array of integer "
            f"positions; got dtype {forget.dtype} and shape {forget.shape}."
        )
    if pos.size == 0:
        raise ValueError("forget selects no row; the attack needs rows to forget.")
    if pos.size >= n:
        raise ValueError(
            "forget selects every training row; a run must leave at least one."
        )
    return pos


@validate_params(
    {
        "estimator": [HasMethods(["fit", "unlearn"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like", None],
        "forget": ["array-like"],
        "n_shadow": [Interval(numbers.Integral, 4, None, closed="left")],
        "n_target": [Interval(numbers.Integral, 1, None, closed="left")],
        "variance": [StrOptions({"global", "per_example"})],
        "share_original": ["boolean"],
        "unlearn_params": [dict, None],
        "confidence": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_resamples": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=False,
)
def per_example_attack(
    estimator: Any,
    X: MatrixLike,
    y: ArrayLike | None,
    forget: ArrayLike,
    *,
    n_shadow: int = 8,
    n_target: int = 8,
    variance: Literal["global", "per_example"] = "global",
    share_original: bool = False,
    unlearn_params: dict[str, Any] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
) -> dict[str, Any]:
    """Per-example attack telling unlearned rows from never-seen ones (U-LiRA).

    For each candidate row ``x``, does the model at hand come from unlearning
    ``x`` with the method under test, or from retraining without ``x``?
    The attack learns the answer from shadow models, row by row, as U-LiRA
    (Hayes et al. 2024) does:

    1. Run ``n_shadow + n_target`` deletion requests. Each fits the original
       (a clone of ``estimator``) on ``X, y``, forgets some of the candidate
       rows with ``unlearn`` (the method under test), and refits a clone
       without them (the gold standard). Across the shadow runs, and again
       across the target runs, every candidate row is forgotten in exactly
       ``n // 2`` of the ``n`` runs (at least one), chosen at random.
    2. For each row, fit a Gaussian to the statistic (the logit-scaled
       confidence ``log p_y - log(1 - p_y)`` for classifiers) of the shadow
       models that unlearned it, and another to that of the shadow refits
       that never saw it.
    3. Score each target run's unlearned model and its refit, on every row
       that run forgot, with the likelihood ratio of the two Gaussians, and
       report how well the ratio tells them apart: ROC AUC and accuracy (a
       ratio above 1 says "unlearned"), pooled over rows and target runs.

    An exact method gives the refit itself: AUC and accuracy 0.5 (an
    unlearned model and its refit that agree to 1e-9 relative count as one).
    An approximate method that leaves a trace of a row where a retrained
    model would not scores above 0.5, even when a population attack
    (forgotten rows against other never-seen rows) sees nothing. So does an
    iterative solver stopped at a loose tolerance: warm-started logistic
    regression at scikit-learn's default ``tol=1e-4`` scores about 0.55 on
    standardised ``load_breast_cancer`` (C=1), 0.50 with ``tol=1e-8``.

    Cost: ``n_shadow + n_target`` runs of two fits (the original and the
    refit, on about ``n_samples - n_forget / 2`` rows) and one ``unlearn``;
    one fit fewer per run with ``share_original=True``. Scaled logistic
    regression on ``load_breast_cancer`` (40 candidate rows) with 8 + 8 runs
    takes about a second on two cores.

    Parameters
    ----------
    estimator : estimator object
        An unfitted unlearning estimator (e.g. ``Unlearnable(model)``).
        Cloned; not modified.

    X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
        The training rows.

    y : array-like of shape (n_samples,) or None
        Their targets (None for a clusterer).

    forget : array-like of bool of shape (n_samples,) or of int
        The candidate rows, as a mask or as positions in ``X``: the rows the
        attack is about. Each run forgets about half of them.

    n_shadow : int, default=8
        Shadow runs, from which the Gaussians are fitted (each row gets
        ``n_shadow // 2`` samples of each kind). At least 4.

    n_target : int, default=8
        Target runs, on which the attack is scored.

    variance : {"global", "per_example"}, default="global"
        ``"global"``: one variance for all rows (of each kind), LiRA's fixed
        variance, reliable with few shadow runs. ``"per_example"``: a
        variance per row, which needs many more shadow runs to be estimated.

    share_original : bool, default=False
        Fit the original once and unlearn from deep copies of it: one fit
        fewer per run. Right only when training is deterministic (a fixed
        ``random_state``): if each fit draws fresh randomness (nets, seeds
        left to None), the refits vary with it and the unlearned models,
        all from one original, do not, which the attack reads as a trace.

    unlearn_params : dict, default=None
        Extra parameters of ``unlearn``.

    confidence : float, default=0.95
        Coverage of the bootstrap intervals (rows resampled, each with all
        its target observations).

    n_resamples : int, default=1000
        Bootstrap resamples.

    n_jobs : int, default=None
        Runs in parallel (joblib); None means 1 unless in a
        ``joblib.parallel_backend`` context.

    random_state : int, RandomState instance or None, default=0
        Seed of which rows each run forgets, and of the bootstrap. The
        estimator's own randomness is its own ``random_state``.

    Returns
    -------
    result : dict
        - ``auc``, ``auc_low``, ``auc_high``, ``auc_se``: ROC AUC of the
          likelihood ratio separating the target runs' unlearned models
          (positive) from their refits, with its interval and bootstrap
          standard error. Ideal 0.5.
        - ``accuracy``, ``accuracy_low``, ``accuracy_high``: share of those
          models the ratio labels right. Ideal 0.5.
        - ``shift``, ``shift_low``, ``shift_high``: how much better the
          target runs' unlearned models fit the rows they forgot than their
          refits do, in the statistic's unit (for ``"residual"``, the drop in
          absolute residual), with its interval: above 0 a trace of the rows
          is left, below 0 they are over-forgotten (a tell as well).
        - ``example_auc``: ndarray of shape (n_forget,), each row's AUC over
          its own target runs; noisy (``n_target // 2`` runs of each kind),
          good for ranking rows, not for reading one.
        - ``statistic`` (``"logit_confidence"``, ``"residual"`` for
          regressors, ``"negative_loss"`` otherwise), ``variance``,
          ``n_forget``, ``n_shadow``, ``n_target``, ``n_observations``
          (target pairs scored), ``n_runs``, ``n_fits``, ``seconds`` (all
          of it), ``confidence``.

    See Also
    --------
    membership_inference_interval : A population attack, against never-seen
        rows, on one model.
    unlearning_challenge_score : The challenge's per-example epsilon, from
        many unlearned and retrained models.
    skunlearn.audit.audit_unlearning : Runs this attack with ``n_shadow``.

    References
    ----------
    Hayes, Shumailov, Triantafillou, Khalifa and Papernot, "Inexact
    unlearning needs more careful evaluations to avoid a false sense of
    privacy", 2024 (U-LiRA). Carlini et al., "Membership inference attacks
    from first principles", 2022 (LiRA).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.metrics import per_example_attack
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> est = Unlearnable(make_pipeline(StandardScaler(), LogisticRegression()))
    >>> r = per_example_attack(est, X, y, forget=range(40), random_state=0)
    >>> bool(r["auc_low"] <= 0.5 <= r["auc_high"])  # exact: cannot be told apart
    True
    >>> r["n_runs"], r["n_fits"]
    (16, 32)
    """
    n = _num_samples(X)
    if y is not None:
        y = np.asarray(y)
        if y.shape[0] != n:
            raise ValueError(f"X has {n} rows but y has {y.shape[0]}.")
    if isinstance(forget, range):
        forget = np.asarray(forget)
    rows = _forget_positions(forget, n)
    start = time.perf_counter()
    original = clone(estimator).fit(X, y) if share_original else None
    fit_seconds = time.perf_counter() - start
    result = _attack(
        original,
        estimator,
        X,
        y,
        rows,
        n_shadow=n_shadow,
        n_target=n_target,
        variance=variance,
        unlearn_params=unlearn_params,
        confidence=confidence,
        n_resamples=n_resamples,
        n_jobs=n_jobs,
        random_state=random_state,
    )
    result["seconds"] += fit_seconds
    result["n_fits"] += int(share_original)
    return result
