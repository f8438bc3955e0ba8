"""The five-step unlearning audit, its report, and its plots.

The field's protocol: (1) fit the original model; (2) choose the rows to
forget (random, a whole class, or a user mask); (3) unlearn them; (4) retrain
the gold standard, the model fitted without them; (5) compare the three
models: accuracy on the forget / retain / test rows, time, membership
inference against never-seen rows, agreement with the gold standard.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
import numbers
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self, TypeAlias

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from ._ledger import row_fingerprints
from .metrics import (
    compare_to_gold_standard,
    forget_score,
    membership_inference_auc,
    membership_inference_interval,
    per_sample_loss,
)
from .metrics._membership import (
    ATTACKS,
    _attack_scores,
    _bootstrap_counts,
    _interval,
    _resampled_auc,
    _task,
)
from .metrics._per_example import _attack as _per_example_attack
from .utils._sklearn_compat import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    _num_samples,
    _safe_indexing,
    validate_params,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from .metrics._membership import Attack
    from .utils._typing import ArrayLike, MatrixLike, NDArray

    #: What the per-row losses are (``UnlearningReport.info["loss_kind"]``).
    LossKind: TypeAlias = Literal[
        "cross_entropy",
        "squared_error",
        "squared_distance_to_centre",
        "margin",
        "zero_one",
    ]
    #: The axes to draw in: one per model.
    AxesLike: TypeAlias = "Axes | Sequence[Axes] | NDArray[Any]"

__all__ = ["LossDistributionDisplay", "UnlearningReport", "audit_unlearning"]

MODELS = ("original", "unlearned", "gold_standard")
MODEL_LABELS = {
    "original": "original",
    "unlearned": "unlearned",
    "gold_standard": "gold standard",
}
SETS = ("forget", "retain", "unseen")
_LOGIT_TICKS = (1e-4, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999)
_SET_STYLE = {
    "forget": ("#d62728", "forget rows (asked to be forgotten)"),
    "retain": ("#1f77b4", "retained training rows"),
    "unseen": ("#7f7f7f", "never-seen test rows"),
}


class UnlearningReport:
    """Result of :func:`audit_unlearning`: three models compared.

    Printing the report shows a table; :meth:`to_frame` and :meth:`to_dict`
    give the numbers; :meth:`plot` draws the loss distributions.

    Parameters
    ----------
    info : dict
        What was audited (see Attributes).

    metrics : dict of str to dict
        The measures of each model (see Attributes).

    losses : dict of str to dict of str to ndarray
        Per-row losses of each model (see Attributes).

    estimators : dict of str to estimator, default=None
        The three fitted models, by name; None stores an empty dict.

    verdict : dict, default=None
        The paired-bootstrap comparison (see Attributes); None stores an
        empty dict.

    per_example : dict, default=None
        The per-example attack's result (see Attributes); None stores an
        empty dict.

    Attributes
    ----------
    info : dict
        What was audited: ``estimator``, ``task`` (``"classification"`` or
        ``"regression"`` or ``"clustering"``), ``score_name`` (``"accuracy"``,
        ``"r2"`` or ``"neg_sse_per_row"``),
        ``forget`` (how the rows were chosen), ``n_train``, ``n_forget``,
        ``n_retain``, ``n_test``, ``n_unseen`` (rows the attack used as
        never-seen), ``attack``, ``loss_kind`` (what the losses are:
        ``"cross_entropy"``, ``"squared_error"``, ``"squared_distance_to_centre"``,
        ``"margin"`` or
        ``"zero_one"``), ``strategy`` and ``exact`` (from the unlearned model's
        history), ``guarantee``, ``n_shadow`` (shadow runs of the per-example
        attack, 0 when it was not run), ``verdict`` (the one-line summary of
        :attr:`verdict`).

    metrics : dict of str to dict
        For each of ``"original"``, ``"unlearned"`` and ``"gold_standard"``:
        ``seconds`` (fit, unlearn and retrain time respectively),
        ``score_forget``, ``score_retain``, ``score_test`` (accuracy, R^2, or
        for clusterers minus the mean squared distance to the nearest centre),
        ``mia_auc``, ``forget_score`` and their bootstrap intervals
        (``mia_auc_low``, ``mia_auc_high``, ``forget_score_low``,
        ``forget_score_high``; see
        :func:`~skunlearn.metrics.membership_inference_interval`),
        ``agreement_forget`` and
        ``agreement_test`` (with the gold standard's predictions), and
        ``js_divergence_test`` (classifiers with probabilities) or
        ``relative_error_test`` (regressors).

    speedup : float
        Retrain time divided by unlearn time.

    losses : dict of str to dict of str to ndarray
        Per-row losses (see :func:`~skunlearn.metrics.per_sample_loss`) of
        each model on the ``"forget"``, ``"retain"`` and ``"unseen"`` rows.

    estimators : dict of str to estimator
        The three fitted models, by name.

    verdict : dict
        The unlearned model minus the gold standard, on the same resampled
        rows (a paired bootstrap): for ``"mia_auc"``, ``"score_forget"`` and
        ``"score_test"`` (accuracy; minus the mean per-row loss for
        regressors and clusterers), a dict with ``difference``, ``low``,
        ``high`` (the interval at ``confidence``) and ``call``: ``"within
        noise"`` when the interval holds 0, else what the difference means
        (``"remembers the forget rows"``, ``"over-forgets ..."``, ...);
        ``"summary"``, one line. Two noisy numbers are not ranked: a
        difference inside the noise of these rows is reported as such. With
        the per-example attack, ``"per_example_auc"`` holds its AUC minus
        the ideal 0.5, in the same form.

    per_example : dict
        With ``n_shadow``, the result of
        :func:`~skunlearn.metrics.per_example_attack` on the forget rows:
        ``auc`` and ``accuracy`` of telling unlearned models from retrained
        ones row by row (ideal 0.5), their intervals, ``shift`` (which way
        the unlearned models differ), ``example_auc`` (one per forget row),
        the number of runs and ``seconds``. Empty otherwise.

    See Also
    --------
    audit_unlearning : Builds the report.
    LossDistributionDisplay : Draws its loss distributions.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.audit import audit_unlearning
    >>> X, y = load_diabetes(return_X_y=True)
    >>> report = audit_unlearning(
    ...     Unlearnable(Ridge()), X[:200], y[:200], random_state=0
    ... )
    >>> sorted(report.metrics)
    ['gold_standard', 'original', 'unlearned']
    >>> report.info["strategy"], report.metrics["unlearned"]["agreement_test"]
    ('closed_form', 1.0)
    >>> report.verdict["summary"]
    'indistinguishable from the gold standard at 95% on these rows'
    """

    def __init__(
        self,
        info: dict[str, Any],
        metrics: dict[str, dict[str, float]],
        losses: dict[str, dict[str, NDArray[Any]]],
        estimators: dict[str, Any] | None = None,
        verdict: dict[str, Any] | None = None,
        per_example: dict[str, Any] | None = None,
    ) -> None:
        self.info = info
        self.metrics = metrics
        self.losses = losses
        self.estimators = estimators or {}
        self.verdict = verdict or {}
        self.per_example = per_example or {}

    @property
    def speedup(self) -> float:
        """Retrain time divided by unlearn time."""
        unlearn = self.metrics["unlearned"]["seconds"]
        retrain = self.metrics["gold_standard"]["seconds"]
        return retrain / unlearn if unlearn > 0 else float("inf")

    def to_dict(self, *, include_losses: bool = False) -> dict[str, Any]:
        """The report as plain Python (JSON-serialisable) data.

        Parameters
        ----------
        include_losses : bool, default=False
            Include the per-row losses (lists of floats).

        Returns
        -------
        report : dict
            ``{"info": ..., "verdict": ..., "speedup": ..., "metrics": {model:
            {...}}}``, ``"per_example"`` (the per-example attack, its
            ``example_auc`` as a list; empty when not run) and, when asked,
            ``"losses"``.
        """
        out = {
            "info": dict(self.info),
            "verdict": {
                k: dict(v) if isinstance(v, dict) else v
                for k, v in self.verdict.items()
            },
            "speedup": _plain(self.speedup),
            "metrics": {
                m: {k: _plain(v) for k, v in d.items()} for m, d in self.metrics.items()
            },
            "per_example": {
                k: v.tolist() if isinstance(v, np.ndarray) else _plain(v)
                for k, v in self.per_example.items()
            },
        }
        if include_losses:
            out["losses"] = {
                m: {s: [float(v) for v in arr] for s, arr in d.items()}
                for m, d in self.losses.items()
            }
        return out

    def to_frame(self) -> pd.DataFrame:
        """The metrics as a pandas DataFrame, one row per model.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by ``"original"``, ``"unlearned"``, ``"gold_standard"``.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test dependency
            raise ImportError(
                "UnlearningReport.to_frame requires pandas; install it with "
                "`pip install pandas`, or use to_dict() instead."
            ) from exc
        frame = pd.DataFrame.from_dict(self.metrics, orient="index")
        frame.index.name = "model"
        return frame.loc[[m for m in MODELS if m in self.metrics]]

    def plot(
        self, *, ax: AxesLike | None = None, **kwargs: Any
    ) -> LossDistributionDisplay:
        """Plot the loss distributions; see :class:`LossDistributionDisplay`.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            One axes per model (three); None creates a figure.

        **kwargs : dict
            Passed to :meth:`LossDistributionDisplay.from_report` (``title``)
            and :meth:`LossDistributionDisplay.plot` (``bins``, ``legend``).

        Returns
        -------
        display : LossDistributionDisplay
            The display, with ``figure_`` and ``ax_`` set.
        """
        return LossDistributionDisplay.from_report(self, ax=ax, **kwargs)

    def _table(self):
        info, m = self.info, self.metrics
        score = _SCORE_NAMES[info["task"]]
        lines = [
            f"Unlearning audit of {info['estimator']} ({info['task']})",
            f"  rows: {info['n_train']} training ({info['n_forget']} forgotten: "
            f"{info['forget']}; {info['n_retain']} retained), {info['n_test']} test",
            f"  unlearning: strategy {info['strategy']!r}, "
            f"{'exact' if info['exact'] else 'approximate'}; "
            f"{_fmt_seconds(m['unlearned']['seconds'])} vs "
            f"{_fmt_seconds(m['gold_standard']['seconds'])} to retrain "
            f"(speed-up {_fmt_speedup(self.speedup)})",
            "",
        ]
        header = (
            f"{'model':<14}{'time':>10}{score + ' forget':>12}{score + ' retain':>12}"
            f"{score + ' test':>10}{'MIA AUC':>9}{'forget_score':>14}{'agree':>8}"
        )
        lines.append(header)
        lines.append("-" * len(header))
        for name in MODELS:
            row = m[name]
            lines.append(
                f"{MODEL_LABELS[name]:<14}{_fmt_seconds(row['seconds']):>10}"
                f"{_fmt(row['score_forget']):>12}{_fmt(row['score_retain']):>12}"
                f"{_fmt(row['score_test']):>10}{_fmt(row['mia_auc']):>9}"
                f"{_fmt(row['forget_score']):>14}{_fmt(row['agreement_test']):>8}"
            )
        lines += [
            "",
            "time: fit (original), unlearn (unlearned), retrain (gold standard).",
            f"MIA AUC: {info['attack']} attack, forget rows vs {info['n_unseen']} "
            "never-seen rows (0.5: indistinguishable);",
            "forget_score = 1 - 2|AUC - 0.5| (1: forgotten rows look never seen).",
            "agree: share of test predictions equal (within 1e-7) to the gold "
            "standard's.",
        ]
        conf = self.verdict.get("confidence")
        if conf is not None:
            lines += [
                "",
                f"Unlearned minus gold standard ({conf:.0%} paired bootstrap):",
            ]
            for key, name in _DIFF_NAMES.items():
                v = self.verdict.get(key)
                if v is None or key == "per_example_auc":
                    continue
                lines.append(
                    f"  {name:<18}{v['difference']:+.3f} "
                    f"[{v['low']:+.3f}, {v['high']:+.3f}]  {v['call']}"
                )
            u = m["unlearned"]
            if "mia_auc_low" in u:
                lines.append(
                    f"  unlearned MIA AUC {u['mia_auc']:.3f} "
                    f"[{u['mia_auc_low']:.3f}, {u['mia_auc_high']:.3f}], gold "
                    f"standard {m['gold_standard']['mia_auc']:.3f} "
                    f"[{m['gold_standard']['mia_auc_low']:.3f}, "
                    f"{m['gold_standard']['mia_auc_high']:.3f}]"
                )
            pe = self.per_example
            if pe:
                lines += [
                    "",
                    f"Per-example attack (U-LiRA; {pe['n_shadow']} shadow + "
                    f"{pe['n_target']} target runs, {_fmt_seconds(pe['seconds'])}), "
                    "telling",
                    "unlearned models from retrained ones row by row (0.5: cannot "
                    "tell):",
                    f"  AUC {pe['auc']:.3f} [{pe['auc_low']:.3f}, {pe['auc_high']:.3f}]"
                    f", accuracy {pe['accuracy']:.3f} [{pe['accuracy_low']:.3f}, "
                    f"{pe['accuracy_high']:.3f}]  "
                    f"{self.verdict['per_example_auc']['call']}",
                ]
            lines.append(f"Verdict: {self.verdict['summary']}.")
        return "\n".join(lines)

    def __str__(self):
        return self._table()

    def __repr__(self):
        return self._table()


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def _fmt(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{value:.3f}"


def _fmt_seconds(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _fmt_speedup(speedup):
    if not np.isfinite(speedup):
        return "inf"
    return f"{speedup:.1f}x" if speedup < 100 else f"{speedup:.0f}x"


#: what the "score" columns hold, by task
_SCORE_NAMES = {"classification": "acc", "regression": "R^2", "clustering": "-SSE/row"}


def _score(task, y_true, y_pred):
    if len(y_true) == 0:
        return float("nan")
    if task == "regression":
        if len(y_true) < 2:
            return float("nan")
        return float(r2_score(y_true, y_pred))
    return float(accuracy_score(y_true, y_pred))


def _split(n, y, task, test_size, rng, among=None):
    """Train / test positions among ``among`` (default: all rows), stratified
    for classifiers when every class has at least two rows."""
    among = np.arange(n) if among is None else among
    stratify = None
    if task == "classification":
        y_sub = np.asarray(_safe_indexing(y, among))
        _, counts = np.unique(y_sub, return_counts=True)
        if counts.min() >= 2:
            stratify = y_sub
    try:
        train, test = train_test_split(
            among, test_size=test_size, random_state=rng, stratify=stratify
        )
    except ValueError:
        train, test = train_test_split(among, test_size=test_size, random_state=rng)
    return np.sort(train), np.sort(test)


def _retained_positions(X_train, y_train, forget_pos):
    """Training positions kept by ``unlearn``, in training order.

    Without duplicated rows, all the others. With duplicates, the ledger
    forgets the earliest copies, so the gold standard keeps the later ones.
    """
    n = _num_samples(X_train)
    fp = row_fingerprints(X_train)
    if y_train is not None:
        fp = np.concatenate(
            [fp, row_fingerprints(np.asarray(y_train).reshape(n, -1))], axis=1
        )
    keep = np.ones(n, dtype=bool)
    if np.unique(fp, axis=0).shape[0] == n:
        keep[forget_pos] = False
        return np.flatnonzero(keep)
    keys = [bytes(r) for r in fp]
    wanted = {}
    for pos in forget_pos:
        wanted[keys[pos]] = wanted.get(keys[pos], 0) + 1
    for i, key in enumerate(keys):
        if wanted.get(key, 0) > 0:
            wanted[key] -= 1
            keep[i] = False
    return np.flatnonzero(keep)


def _estimator_name(estimator):
    inner = getattr(estimator, "estimator", None)
    if inner is not None and hasattr(inner, "get_params"):
        return f"{type(estimator).__name__}({type(inner).__name__})"
    return type(estimator).__name__


def _loss_kind(estimator):
    """What :func:`~skunlearn.metrics.per_sample_loss` computes for ``estimator``."""
    from .metrics._membership import _has_method

    task = _task(estimator)
    if task == "regression":
        return "squared_error"
    if task == "clustering":
        return "squared_distance_to_centre"
    if _has_method(estimator, "predict_proba"):
        return "cross_entropy"
    if _has_method(estimator, "decision_function"):
        return "margin"
    return "zero_one"


def _forget_kind(forget, n):
    if isinstance(forget, str) and forget == "random":
        return "random"
    if isinstance(forget, str):
        return "class"
    if hasattr(forget, "__len__") and not isinstance(forget, str | bytes):
        mask = np.asarray(forget)
        if mask.dtype != bool or mask.shape != (n,):
            raise ValueError(
                f"A forget mask must be a boolean array of shape ({n},); got dtype "
                f"{mask.dtype} and shape {mask.shape}."
            )
        return "mask"
    return "class"


@validate_params(
    {
        "estimator": [HasMethods(["fit", "unlearn"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "forget": ["array-like", numbers.Integral, str, None],
        "forget_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "test_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "attack": [StrOptions(set(ATTACKS))],
        "random_state": ["random_state"],
        "unlearn_params": [dict, None],
        "n_repeats": [Interval(numbers.Integral, 1, None, closed="left")],
        "confidence": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_resamples": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_shadow": [Interval(numbers.Integral, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=False,
)
def audit_unlearning(
    estimator: Any,
    X: MatrixLike,
    y: ArrayLike,
    *,
    forget: str | int | ArrayLike = "random",
    forget_size: float = 0.1,
    test_size: float = 0.25,
    attack: Attack = "loss",
    random_state: int | np.random.RandomState | None = 0,
    unlearn_params: dict[str, Any] | None = None,
    n_repeats: int = 1,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    n_shadow: int = 0,
) -> UnlearningReport:
    """Run the five-step unlearning protocol and compare the three models.

    1. Split ``X, y`` into training and test rows, and fit the original
       model (a clone of ``estimator``) on the training rows.
    2. Choose the rows to forget among the training rows.
    3. Unlearn them from a copy of the original model (timed).
    4. Retrain the gold standard, a clone fitted on the retained rows (timed).
    5. Compare the original, unlearned and gold-standard models: accuracy
       (or R^2) on the forget, retain and test rows, a membership attack of
       the forget rows against never-seen test rows, and agreement with the
       gold standard's predictions.

    Parameters
    ----------
    estimator : estimator object
        An unfitted unlearning estimator (e.g. ``Unlearnable(Ridge())``).
        Cloned; not modified.

    X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
        The data.

    y : array-like of shape (n_samples,)
        The targets.

    forget : "random", class label or array-like of bool, default="random"
        Which training rows to forget: ``"random"`` draws ``forget_size`` of
        them; a class label (any other string, or a number) forgets every
        training row of that class (the attack then compares them with the
        test rows of that class); a boolean mask of shape ``(n_samples,)``
        forgets the marked rows (they are all put in the training set; the
        test rows are drawn from the others).

    forget_size : float or int, default=0.1
        With ``forget="random"``: fraction (float) or number (int) of the
        training rows to forget.

    test_size : float or int, default=0.25
        Fraction or number of rows held out as never-seen test rows.

    attack : {"loss", "confidence", "entropy", "logistic"}, default="loss"
        Membership attack; see :func:`~skunlearn.metrics.membership_inference_auc`.

    random_state : int, RandomState instance or None, default=0
        Seed of the split and of the random forget set.

    unlearn_params : dict, default=None
        Extra parameters of ``unlearn``.

    n_repeats : int, default=1
        Time unlearning (each time on a fresh copy of the original) and
        retraining this many times and report the medians.

    confidence : float, default=0.95
        Coverage of the bootstrap intervals of the membership AUC and
        ``forget_score``, and of the differences behind the verdict.

    n_resamples : int, default=1000
        Bootstrap resamples (of the forget, never-seen and test rows; seeded
        by ``random_state``).

    n_shadow : int, default=0
        Run the per-example attack (U-LiRA) with this many shadow runs and as
        many target runs: :func:`~skunlearn.metrics.per_example_attack` on the
        forget rows, each run forgetting a random half of them (seeded by
        ``random_state``). It costs ``2 * n_shadow`` calls to ``unlearn`` and
        as many refits; 8 suits small models (about a second for a logistic
        regression on ``load_breast_cancer``). 0 (the default) skips it;
        otherwise at least 4. The result is in
        :attr:`UnlearningReport.per_example` and in the verdict.

    Returns
    -------
    report : UnlearningReport
        Print it for a table; ``to_frame()``, ``to_dict()``, ``plot()``.

    See Also
    --------
    LossDistributionDisplay : Plot of the per-row loss distributions.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.audit import audit_unlearning
    >>> X, y = load_diabetes(return_X_y=True)
    >>> report = audit_unlearning(Unlearnable(Ridge()), X, y, random_state=0)
    >>> report.info["n_forget"], report.info["exact"]
    (33, True)
    >>> report.metrics["unlearned"]["agreement_test"]
    1.0
    """
    if 0 < n_shadow < 4:
        raise ValueError(
            f"n_shadow must be 0 (no per-example attack) or at least 4 (two "
            f"samples of each kind per row); got {n_shadow}."
        )
    rng = check_random_state(random_state)
    n = _num_samples(X)
    y_all = np.asarray(y)
    if y_all.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {y_all.shape[0]}.")
    task = _task(estimator)
    kind = _forget_kind(forget, n)

    # Step 1 (split) and 2 (choose the forget rows), as positions in X.
    if kind == "mask":
        mask = np.asarray(forget)
        if not mask.any():
            raise ValueError("The forget mask selects no row.")
        train, test = _split(
            n, y_all, task, test_size, rng, among=np.flatnonzero(~mask)
        )
        train = np.sort(np.concatenate([train, np.flatnonzero(mask)]))
        forget_pos = np.flatnonzero(mask[train])
        description = f"user mask of {forget_pos.size} rows"
    else:
        train, test = _split(n, y_all, task, test_size, rng)
        if kind == "random":
            n_train = train.size
            k = (
                forget_size
                if isinstance(forget_size, numbers.Integral)
                else int(round(forget_size * n_train))
            )
            if not 1 <= k < n_train:
                raise ValueError(
                    f"forget_size={forget_size!r} gives {k} rows to forget out of "
                    f"{n_train} training rows; it must be at least 1 and leave one."
                )
            forget_pos = np.sort(rng.choice(n_train, size=k, replace=False))
            description = f"random {k / n_train:.0%}"
        else:
            if task != "classification":
                raise ValueError(
                    "forget=<class label> needs a classifier; use 'random' or a mask."
                )
            forget_pos = np.flatnonzero(y_all[train] == forget)
            if forget_pos.size == 0:
                raise ValueError(f"No training row has the class {forget!r}.")
            description = f"every row of class {forget!r}"
    if forget_pos.size >= train.size:
        raise ValueError(
            "The forget set holds every training row; nothing would remain."
        )

    X_train, y_train = _safe_indexing(X, train), y_all[train]
    X_test, y_test = _safe_indexing(X, test), y_all[test]
    X_forget, y_forget = _safe_indexing(X_train, forget_pos), y_train[forget_pos]
    retain_pos = _retained_positions(X_train, y_train, forget_pos)
    X_retain, y_retain = _safe_indexing(X_train, retain_pos), y_train[retain_pos]
    if kind == "class" and np.any(y_test == forget):
        unseen = np.flatnonzero(y_test == forget)
    else:
        unseen = np.arange(test.size)
    X_unseen, y_unseen = _safe_indexing(X_test, unseen), y_test[unseen]

    # Step 1: the original model.
    start = time.perf_counter()
    original = clone(estimator).fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    # Step 3: unlearn, on a copy so that the original stays for comparison.
    # Step 4: the gold standard. Each is timed n_repeats times (fresh copies),
    # and the median kept: a first call pays one-off costs (lazy imports,
    # thread pools) that say nothing about the method.
    times_unlearn: list[float] = []
    times_retrain: list[float] = []
    unlearned_models: list[Any] = []
    gold_models: list[Any] = []
    for _ in range(n_repeats):
        model = copy.deepcopy(original)
        start = time.perf_counter()
        model.unlearn(X_forget, y_forget, **(unlearn_params or {}))
        times_unlearn.append(time.perf_counter() - start)
        start = time.perf_counter()
        refit = clone(estimator).fit(X_retain, y_retain)
        times_retrain.append(time.perf_counter() - start)
        # Keep only the first of each: the others were for timing.
        if not unlearned_models:
            unlearned_models.append(model)
            gold_models.append(refit)
    unlearned, gold = unlearned_models[0], gold_models[0]
    unlearn_seconds = float(np.median(times_unlearn))
    retrain_seconds = float(np.median(times_retrain))

    # Step 5: compare.
    seconds = {
        "original": fit_seconds,
        "unlearned": unlearn_seconds,
        "gold_standard": retrain_seconds,
    }
    models = {"original": original, "unlearned": unlearned, "gold_standard": gold}
    metrics, losses = {}, {}
    # one seed for every bootstrap: the three models are resampled alike
    boot_seed = rng.randint(2**31 - 1)
    data = {
        "forget": (X_forget, y_forget),
        "retain": (X_retain, y_retain),
        "test": (X_test, y_test),
    }
    for name, model in models.items():
        row = {"seconds": seconds[name]}
        for set_name, (Xs, ys) in data.items():
            if task == "clustering":
                # negative mean squared distance to the nearest centre
                row[f"score_{set_name}"] = -float(
                    np.mean(per_sample_loss(model, Xs, ys))
                )
            else:
                row[f"score_{set_name}"] = _score(task, ys, model.predict(Xs))
        row["mia_auc"] = membership_inference_auc(
            model, X_forget, y_forget, X_unseen, y_unseen, attack=attack
        )
        row["forget_score"] = forget_score(
            model, X_forget, y_forget, X_unseen, y_unseen, attack=attack
        )
        ci = membership_inference_interval(
            model,
            X_forget,
            y_forget,
            X_unseen,
            y_unseen,
            attack=attack,
            confidence=confidence,
            n_resamples=n_resamples,
            random_state=boot_seed,
        )
        for key in ("mia_auc", "forget_score"):
            src = "auc" if key == "mia_auc" else key
            row[f"{key}_low"], row[f"{key}_high"] = ci[f"{src}_low"], ci[f"{src}_high"]
        comparison_forget = compare_to_gold_standard(model, gold, X_forget)
        comparison_test = compare_to_gold_standard(model, gold, X_test)
        row["agreement_forget"] = comparison_forget["agreement"]
        row["agreement_test"] = comparison_test["agreement"]
        for key in ("js_divergence", "relative_error"):
            if key in comparison_test:
                row[f"{key}_test"] = comparison_test[key]
        metrics[name] = row
        losses[name] = {
            "forget": per_sample_loss(model, X_forget, y_forget),
            "retain": per_sample_loss(model, X_retain, y_retain),
            "unseen": per_sample_loss(model, X_unseen, y_unseen),
        }
    history = getattr(unlearned, "unlearn_history_", None) or [{}]
    loss_kind = _loss_kind(original)
    info = {
        "estimator": _estimator_name(estimator),
        "task": task,
        "score_name": {"regression": "r2", "clustering": "neg_sse_per_row"}.get(
            task, "accuracy"
        ),
        "forget": description,
        "n_train": int(train.size),
        "n_forget": int(forget_pos.size),
        "n_retain": int(retain_pos.size),
        "n_test": int(test.size),
        "n_unseen": int(unseen.size),
        "attack": attack,
        "loss_kind": loss_kind,
        "strategy": history[-1].get("strategy", "unknown"),
        "exact": bool(history[-1].get("exact", False)),
        "guarantee": getattr(unlearned, "unlearning_guarantee", "unknown"),
    }
    verdict = _verdict(
        unlearned,
        gold,
        task,
        attack,
        (X_forget, y_forget),
        (X_unseen, y_unseen),
        (X_test, y_test),
        confidence,
        n_resamples,
        boot_seed,
    )
    per_example = {}
    if n_shadow:
        # seeded after everything else, so that the rest of the audit is the
        # same with and without the attack
        per_example = _per_example_attack(
            original,
            estimator,
            X_train,
            y_train,
            forget_pos,
            n_shadow=n_shadow,
            n_target=n_shadow,
            variance="global",
            unlearn_params=unlearn_params,
            confidence=confidence,
            n_resamples=n_resamples,
            n_jobs=None,
            random_state=rng.randint(2**31 - 1),
        )
        _add_per_example_verdict(verdict, per_example)
    info["n_shadow"] = int(n_shadow)
    info["verdict"] = verdict["summary"]
    return UnlearningReport(
        info,
        metrics,
        losses,
        estimators=models,
        verdict=verdict,
        per_example=per_example,
    )


def _row_utility(model, task, X, y):
    """Per-row quantity whose mean the audit compares: 1 for a right label
    (classification), else the per-row loss (squared error or distance)."""
    if task == "classification":
        return (np.asarray(model.predict(X)) == np.asarray(y)).astype(float)
    return np.asarray(per_sample_loss(model, X, y), dtype=float)


_CALLS = {
    "mia_auc": ("remembers the forget rows", "over-forgets (an attacker sees it too)"),
    "score_forget": ("fits the forget rows better", "fits the forget rows worse"),
    "score_test": ("more accurate on test rows", "less accurate on test rows"),
    "per_example_auc": (
        "a per-example attack tells it from retraining",
        "the per-example attack does worse than chance (too few shadow runs?)",
    ),
}


def _verdict(unlearned, gold, task, attack, forget, unseen, test, conf, n, seed):
    """Unlearned minus gold standard on the same resampled rows, with intervals.

    A paired bootstrap: each resample draws the forget, never-seen and test
    rows once and scores both models on them, so the difference carries
    the noise of the rows once, not twice. A difference whose interval holds
    0 is within the noise: the audit does not rank the two models on it.
    """
    rng = check_random_state(seed)
    (X_f, y_f), (X_u, y_u), (X_t, y_t) = forget, unseen, test
    out = {}
    kind = "loss" if attack == "logistic" else attack
    s = {
        m: (
            np.asarray(_attack_scores(model, X_f, y_f, kind), float),
            np.asarray(_attack_scores(model, X_u, y_u, kind), float),
        )
        for m, model in (("unlearned", unlearned), ("gold", gold))
    }
    w_f = _bootstrap_counts(rng, s["gold"][0].size, n)
    w_u = _bootstrap_counts(rng, s["gold"][1].size, n)
    ones_f, ones_u = np.ones((1, w_f.shape[1])), np.ones((1, w_u.shape[1]))
    boot = {m: _resampled_auc(*s[m], w_f, w_u) for m in s}
    point = {m: _resampled_auc(*s[m], ones_f, ones_u)[0] for m in s}
    out["mia_auc"] = (
        point["unlearned"] - point["gold"],
        boot["unlearned"] - boot["gold"],
    )
    for key, (X, y), w in (
        ("score_forget", (X_f, y_f), w_f),
        ("score_test", (X_t, y_t), None),
    ):
        if _num_samples(X) == 0:
            continue
        d = _row_utility(unlearned, task, X, y) - _row_utility(gold, task, X, y)
        if task != "classification":
            d = -d  # a lower loss is a better fit
        if w is None:
            w = _bootstrap_counts(rng, d.size, n)
        out[key] = (float(d.mean()), (w @ d) / w.sum(axis=1))
    verdict, notes = {}, []
    for key, (diff, draws) in out.items():
        low, high = _interval(draws, conf) if n > 1 else (diff, diff)
        call = "within noise"
        # (a margin for rounding: an exact unlearner's differences are 0 to
        # about 1e-12, and must not be called one way or the other)
        if low > _ROUNDING:
            call = _CALLS[key][0]
        elif high < -_ROUNDING:
            call = _CALLS[key][1]
        verdict[key] = {
            "difference": float(diff),
            "low": float(low),
            "high": float(high),
            "call": call,
        }
        if call != "within noise":
            notes.append(
                f"{call} ({_DIFF_NAMES[key]} {diff:+.3f} [{low:+.3f}, {high:+.3f}])"
            )
    verdict["confidence"] = float(conf)
    verdict["summary"] = (
        f"indistinguishable from the gold standard at {conf:.0%} on these rows"
        if not notes
        else "differs from the gold standard: " + "; ".join(notes)
    )
    return verdict


_ROUNDING = 1e-9


def _add_per_example_verdict(verdict, result):
    """Add the per-example attack to the verdict: its AUC minus the ideal 0.5.

    The attack tells the unlearned models of its target runs from their
    retrained twins; an interval above 0 says it can, row by row.
    """
    key = "per_example_auc"
    diff = result["auc"] - 0.5
    low, high = result["auc_low"] - 0.5, result["auc_high"] - 0.5
    call = "within noise"
    if low > _ROUNDING:
        call = _CALLS[key][0]
        call += (
            " (it fits the forgotten rows better)"
            if result["shift"] > 0
            else " (it fits the forgotten rows worse)"
        )
    elif high < -_ROUNDING:
        call = _CALLS[key][1]
    verdict[key] = {
        "difference": float(diff),
        "low": float(low),
        "high": float(high),
        "call": call,
    }
    if call != "within noise":
        note = f"{call} ({_DIFF_NAMES[key]} {diff:+.3f} [{low:+.3f}, {high:+.3f}])"
        if verdict["summary"].startswith("indistinguishable"):
            verdict["summary"] = "differs from the gold standard: " + note
        else:
            verdict["summary"] += "; " + note


_DIFF_NAMES = {
    "mia_auc": "membership AUC",
    "score_forget": "forget-row score",
    "score_test": "test-row score",
    "per_example_auc": "per-example AUC - 0.5",
}


class LossDistributionDisplay:
    """Per-row loss distributions of forget, retained and never-seen rows.

    One panel per model (original, unlearned, gold standard). A model that
    remembers the forget rows fits them better than never-seen rows: the red
    histogram (forget rows) sits with the blue one (retained training rows)
    instead of the grey one (never-seen rows). After good unlearning the red
    and grey histograms match, as they do for the gold standard.

    The x axis shows the loss in a readable unit: for classifiers with
    probabilities, the probability given to the true class on a logit scale
    (right means well fitted; :func:`~skunlearn.metrics.per_sample_loss` is
    ``-log`` of it); for regressors, the absolute error on a log scale (left
    means well fitted); otherwise the loss itself.

    Create it with :meth:`from_report` or :meth:`from_estimator`; the
    constructor only stores data.

    Parameters
    ----------
    losses : dict of str to dict of str to ndarray
        ``{model_name: {"forget": ..., "retain": ..., "unseen": ...}}``, the
        per-row losses of :func:`~skunlearn.metrics.per_sample_loss`.

    loss_kind : {"cross_entropy", "squared_error", "squared_distance_to_centre", \
            "margin", "zero_one"}, \
            default="cross_entropy"
        What the losses are, which sets the x axis.

    forget_scores : dict of str to float, default=None
        ``forget_score`` of each model, shown in the panel titles.

    forget_score_intervals : dict of str to (float, float), default=None
        A confidence interval of each model's ``forget_score``, shown beside
        it (see :func:`~skunlearn.metrics.membership_inference_interval`).

    Attributes
    ----------
    ax_ : ndarray of matplotlib Axes
        One axes per model.

    figure_ : matplotlib Figure
        The figure holding the axes.

    See Also
    --------
    UnlearningReport.plot : Draws the display of a report.
    skunlearn.metrics.per_sample_loss : The per-row losses drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.audit import LossDistributionDisplay, audit_unlearning
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> report = audit_unlearning(
    ...     Unlearnable(DecisionTreeClassifier(random_state=0)), X, y)
    >>> display = LossDistributionDisplay.from_report(report)
    >>> len(display.ax_)
    3
    """

    def __init__(
        self,
        losses: Mapping[str, Mapping[str, ArrayLike]],
        *,
        loss_kind: LossKind = "cross_entropy",
        forget_scores: Mapping[str, float] | None = None,
        forget_score_intervals: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        self.losses = losses
        self.loss_kind = loss_kind
        self.forget_scores = forget_scores
        self.forget_score_intervals = forget_score_intervals

    @classmethod
    def from_report(
        cls,
        report: UnlearningReport,
        *,
        ax: AxesLike | None = None,
        title: bool = True,
        **kwargs: Any,
    ) -> Self:
        """Plot the losses stored in an :class:`UnlearningReport`.

        Parameters
        ----------
        report : UnlearningReport
            From :func:`audit_unlearning`.

        ax : array-like of matplotlib Axes, default=None
            One axes per model (three); None creates a figure.

        title : bool, default=True
            When the figure is created here, give it a title naming the
            estimator and the forget set.

        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LossDistributionDisplay
            The display, with ``figure_`` and ``ax_`` set.
        """
        display = cls(
            report.losses,
            loss_kind=report.info.get("loss_kind", "cross_entropy"),
            forget_scores={
                m: report.metrics[m]["forget_score"] for m in report.metrics
            },
            forget_score_intervals={
                m: (v["forget_score_low"], v["forget_score_high"])
                for m, v in report.metrics.items()
                if "forget_score_low" in v
            },
        )
        created = ax is None
        display.plot(ax=ax, **kwargs)
        if title and created:
            display.figure_.suptitle(
                f"{report.info['estimator']}: {report.info['n_forget']} training rows "
                f"forgotten ({report.info['forget']})",
                fontsize=11,
            )
        return display

    @classmethod
    def from_estimator(
        cls,
        unlearned: Any,
        X_forget: MatrixLike,
        y_forget: ArrayLike,
        X_retain: MatrixLike,
        y_retain: ArrayLike,
        X_unseen: MatrixLike,
        y_unseen: ArrayLike,
        *,
        original: Any = None,
        gold_standard: Any = None,
        ax: AxesLike | None = None,
        **kwargs: Any,
    ) -> Self:
        """Plot the losses of fitted models on given rows.

        Parameters
        ----------
        unlearned : estimator object
            The fitted model after ``unlearn``.

        X_forget, y_forget : array-like
            The forgotten rows and their targets.

        X_retain, y_retain : array-like
            Retained training rows and their targets.

        X_unseen, y_unseen : array-like
            Rows never used in training, and their targets.

        original : estimator object, default=None
            The model before ``unlearn``, plotted first when given.

        gold_standard : estimator object, default=None
            The model retrained on the retained rows, plotted last when given.

        ax : array-like of matplotlib Axes, default=None
            One axes per model; None creates a figure.

        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LossDistributionDisplay
            The display, with ``figure_`` and ``ax_`` set.
        """
        models = {
            "original": original,
            "unlearned": unlearned,
            "gold_standard": gold_standard,
        }
        losses, scores = {}, {}
        for name, model in models.items():
            if model is None:
                continue
            losses[name] = {
                "forget": per_sample_loss(model, X_forget, y_forget),
                "retain": per_sample_loss(model, X_retain, y_retain),
                "unseen": per_sample_loss(model, X_unseen, y_unseen),
            }
            scores[name] = forget_score(model, X_forget, y_forget, X_unseen, y_unseen)
        display = cls(losses, loss_kind=_loss_kind(unlearned), forget_scores=scores)
        return display.plot(ax=ax, **kwargs)

    def _axis(self, values):
        """Transformed values, bin edges, axis scale and label."""
        pooled = np.concatenate([np.ravel(v) for v in values])
        if self.loss_kind == "cross_entropy":
            # p_y = exp(-loss), kept inside (0, 1) for the logit axis.
            lo_p, hi_p = 1e-4, 1 - 1e-4
            transform = lambda v: np.clip(np.exp(-np.asarray(v)), lo_p, hi_p)  # noqa: E731
            p = transform(pooled)
            lo = max(lo_p, float(np.quantile(p, 0.005)))
            hi = min(hi_p, float(np.quantile(p, 0.995)))
            if hi - lo < 1e-6:
                lo, hi = max(lo_p, lo / 2), min(hi_p, 1 - (1 - hi) / 2)
            logit = np.log(np.array([lo, hi]) / (1 - np.array([lo, hi])))
            grid = np.linspace(logit[0], logit[1], self._bins + 1)
            edges = 1 / (1 + np.exp(-grid))
            label = (
                "probability given to the true class (logit scale; right: fits better)"
            )
            return transform, edges, "logit", label
        if self.loss_kind in ("squared_error", "squared_distance_to_centre"):
            err = np.sqrt(np.clip(pooled, 0, None))
            positive = err[err > 0]
            hi = float(positive.max()) if positive.size else 1.0
            lo = float(np.quantile(positive, 0.005)) if positive.size else hi / 1e3
            lo = min(max(lo, hi * 1e-6), hi / 10)
            edges = np.geomspace(lo, hi, self._bins + 1)
            transform = lambda v: np.clip(np.sqrt(np.clip(v, 0, None)), lo, hi)  # noqa: E731
            what = (
                "absolute error"
                if self.loss_kind == "squared_error"
                else "distance to the nearest centre"
            )
            return transform, edges, "log", f"{what} (log scale; left: fits better)"
        lo, hi = float(pooled.min()), float(pooled.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, self._bins + 1)
        label = (
            "negative margin of the true class"
            if self.loss_kind == "margin"
            else "loss"
        )
        return np.asarray, edges, "linear", label

    def plot(
        self, *, ax: AxesLike | None = None, bins: int = 20, legend: bool = True
    ) -> Self:
        """Draw the histograms.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            One axes per model; None creates a figure with a row of panels.

        bins : int, default=20
            Number of bins, shared by all panels.

        legend : bool, default=True
            Draw a legend under the panels.

        Returns
        -------
        display : LossDistributionDisplay
            Itself, with ``ax_`` and ``figure_`` set.
        """
        import matplotlib.pyplot as plt

        names = [m for m in MODELS if m in self.losses] + [
            m for m in self.losses if m not in MODELS
        ]
        if ax is None:
            _, ax = plt.subplots(
                1,
                len(names),
                figsize=(4.0 * len(names), 3.6),
                sharey=True,
                squeeze=False,
                layout="constrained",
            )
            ax = ax[0]
        ax = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        if ax.size != len(names):
            raise ValueError(
                f"Expected {len(names)} axes, one per model; got {ax.size}."
            )
        self._bins = bins
        transform, edges, scale, label = self._axis(
            [v for d in self.losses.values() for v in d.values()]
        )
        handles = []
        for a, name in zip(ax, names):
            for set_name in SETS:
                values = np.asarray(self.losses[name].get(set_name, []), dtype=float)
                if values.size == 0:
                    continue
                color, text = _SET_STYLE[set_name]
                # Values beyond the axis go in the end bins (a perfect fit has
                # loss 0).
                shown = np.clip(transform(values), edges[0], edges[-1])
                weights = np.full(shown.size, 1.0 / shown.size)
                a.hist(
                    shown,
                    bins=edges,
                    weights=weights,
                    histtype="stepfilled",
                    color=color,
                    alpha=0.18,
                )
                _, _, patches = a.hist(
                    shown,
                    bins=edges,
                    weights=weights,
                    histtype="step",
                    color=color,
                    linewidth=1.8 if set_name == "forget" else 1.2,
                    label=text,
                )
                if a is ax[0]:
                    handles.append(patches[0])
            a.set_xscale(scale)
            if scale == "logit":
                # Plain probabilities as ticks: 0.01, 0.5, 0.99, 0.999, ...
                from matplotlib.ticker import NullFormatter

                ticks = [t for t in _LOGIT_TICKS if edges[0] <= t <= edges[-1]]
                a.set_xticks(ticks, [f"{t:g}" for t in ticks])
                a.xaxis.set_minor_formatter(NullFormatter())
            title = MODEL_LABELS.get(name, name)
            if self.forget_scores and name in self.forget_scores:
                ci = (self.forget_score_intervals or {}).get(name)
                extra = "" if ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]"
                title += f"   (forget_score {self.forget_scores[name]:.2f}{extra})"
            a.set_title(title, fontsize=10)
            a.set_xlabel(label, fontsize=8)
            a.tick_params(labelsize=8)
        ax[0].set_ylabel("share of rows", fontsize=9)
        self.ax_ = ax
        self.figure_ = ax[0].figure
        if legend:
            self.figure_.legend(
                handles=handles,
                loc="outside lower center",
                ncol=3,
                fontsize=8,
                frameon=False,
            )
        return self
