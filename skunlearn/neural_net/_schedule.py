"""The unlearning loop of the net methods: epochs, stopping rule, guards, rollback.

A method (see :mod:`._methods`) says how one epoch edits the student; the
loop here decides when to stop and which state to keep:

- **the target**: with calibration rows (rows the net never trained on),
  the forget rows must look like them: the loss-threshold membership AUC
  of the forget rows against the calibration rows at most ``0.5 + tol``
  and the accuracy on the forget rows at most the calibration rows' plus
  ``tol``, both widened by their sampling noise (``z`` standard errors),
  so that a few hundred rows do not send the loop chasing noise;
- **over-forgetting**: the same quantities falling *below* what the
  calibration rows show by more than their noise is as revealing as
  remembering (an attacker reads it too), so the loop stops and rolls back
  to the best state seen;
- **utility**: the calibration rows' accuracy (or, without calibration
  rows, the retained rows') falling by more than ``utility_tol`` beyond its
  noise stops the loop and rolls back;
- **bad numbers**: a non-finite loss or weight raises
  :class:`FloatingPointError`; the net is left as it was (the methods edit
  a copy).

Stopping is a return value, never skorch's ``KeyboardInterrupt``, which here
means abort.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from ._methods import NetUnlearningMethod, UnlearningContext

__all__ = ["StoppingRule", "UnlearningSchedule", "auc_null_se", "proportion_se"]

#: Stop on a plateau of the distance to the target after this many epochs.
_PATIENCE = 3
#: Default time budget of the forgetting phase, as a share of the net's fit.
_DEFAULT_BUDGET = 0.08


def auc_null_se(n_member: int, n_other: int) -> float:
    """Standard error of a rank AUC when the two groups are alike.

    ``sqrt((n1 + n2 + 1) / (12 n1 n2))``: the spread of the Mann-Whitney
    statistic under the null hypothesis of no membership signal. With 100
    forget rows and 200 calibration rows it is about 0.035: a membership
    AUC of 0.53 on such sets says nothing.

    Parameters
    ----------
    n_member, n_other : int
        Sizes of the two groups.

    Returns
    -------
    se : float
        ``inf`` when a group is empty.
    """
    if n_member <= 0 or n_other <= 0:
        return float("inf")
    return math.sqrt((n_member + n_other + 1) / (12.0 * n_member * n_other))


def proportion_se(p: float, n_a: int, n_b: int | None = None) -> float:
    """Standard error of an accuracy (``n_b`` None) or of a difference of two.

    Parameters
    ----------
    p : float
        The (pooled) accuracy.
    n_a, n_b : int
        Rows behind each accuracy.

    Returns
    -------
    se : float
    """
    if n_a <= 0 or (n_b is not None and n_b <= 0):
        return float("inf")
    p = min(max(float(p), 0.0), 1.0)
    inv = 1.0 / n_a + (0.0 if n_b is None else 1.0 / n_b)
    return math.sqrt(max(p * (1 - p), 1e-4) * inv)


class StoppingRule:
    """When the forget rows look unseen, when they overshoot, when utility falls.

    Parameters
    ----------
    tol : float
        Allowed excess of the membership AUC over 0.5 and of the forget
        accuracy over the calibration accuracy, on top of their noise.
    class_tol : float
        Highest accuracy allowed on forget rows of a class with no retained
        row left (the retrained net never predicts it).
    z : float
        How many standard errors of noise the comparisons allow.
    utility_tol : float
        Largest loss of accuracy on the calibration rows (without them, the
        retained rows) beyond noise before the loop rolls back.
    """

    def __init__(
        self,
        *,
        tol: float,
        class_tol: float,
        z: float = 1.0,
        utility_tol: float = 0.03,
    ) -> None:
        self.tol = tol
        self.class_tol = class_tol
        self.z = z
        self.utility_tol = utility_tol

    # ------------------------------------------------------------- pieces
    def _auc_margin(self, stats):
        return self.tol + self.z * stats.get("mia_se", 0.0)

    def _acc_margin(self, stats):
        return self.tol + self.z * stats.get("acc_se", 0.0)

    def reached(self, stats: Mapping[str, Any]) -> bool:
        """Whether the forget rows look like rows never trained on."""
        ok = True
        if "mia_auc" in stats:
            ok &= stats["mia_auc"] <= 0.5 + self._auc_margin(stats)
        if "kept_acc" in stats and "calib_acc" in stats:
            ok &= stats["kept_acc"] <= stats["calib_acc"] + self._acc_margin(stats)
        if "removed_acc" in stats:
            ok &= stats["removed_acc"] <= self.class_tol
        return bool(ok)

    def overshoot(self, stats: Mapping[str, Any]) -> str | None:
        """A reason string when the forget rows look *worse* than unseen rows."""
        if "mia_auc" in stats and stats["mia_auc"] < 0.5 - self._auc_margin(stats):
            return (
                f"over-forgetting: membership AUC {stats['mia_auc']:.3f} below "
                f"0.5 - {self._auc_margin(stats):.3f}"
            )
        if "kept_acc" in stats and "calib_acc" in stats:
            floor = stats["calib_acc"] - self._acc_margin(stats)
            if stats["kept_acc"] < floor:
                return (
                    f"over-forgetting: forget accuracy {stats['kept_acc']:.3f} below "
                    f"the calibration rows' {stats['calib_acc']:.3f} beyond noise"
                )
        return None

    def utility_lost(
        self, stats: Mapping[str, Any], start: Mapping[str, Any]
    ) -> str | None:
        """A reason string when accuracy fell beyond ``utility_tol`` and noise.

        The accuracy on the calibration rows (without them, on a fixed sample
        of retained rows) against the start's, row by row: the noise of a
        paired difference is that of the rows whose prediction changed,
        ``sqrt(mean(d^2) / n)``, much less than that of two accuracies.
        """
        for key in ("calib", "retain"):
            now, before = stats.get(f"{key}_correct"), start.get(f"{key}_correct")
            if now is None or before is None or now.size != before.size:
                continue
            d = now.astype(float) - before.astype(float)
            se = math.sqrt(float((d * d).mean()) / d.size) if d.size else 0.0
            if d.mean() < -(self.utility_tol + self.z * se):
                return (
                    f"utility: {key} accuracy fell from "
                    f"{before.mean():.3f} to {now.mean():.3f}"
                )
            # the calibration rows, when there are some, are the measure
            return None
        return None

    def gap(self, stats: Mapping[str, Any]) -> float:
        """Distance to the target beyond noise (0 when reached)."""
        gap = 0.0
        if "mia_auc" in stats:
            gap += max(0.0, abs(stats["mia_auc"] - 0.5) - self._auc_margin(stats))
        if "kept_acc" in stats and "calib_acc" in stats:
            d = abs(stats["kept_acc"] - stats["calib_acc"])
            gap += max(0.0, d - self._acc_margin(stats))
        if "removed_acc" in stats:
            gap += max(0.0, stats["removed_acc"] - self.class_tol)
        return gap


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _check_finite(ctx, stats, where):
    # A non-finite weight makes the losses non-finite: with losses measured,
    # they are the check; without, the weights are.
    losses = [k for k in ("forget_loss", "calib_loss") if k in stats]
    bad = [k for k in losses if not math.isfinite(stats[k])]
    if not losses:
        for name, p in ctx.module.named_parameters():
            if not bool(torch.isfinite(p).all()):
                bad.append(f"weight {name}")
                break
    if bad:
        raise FloatingPointError(
            f"Unlearning produced non-finite values ({', '.join(bad)}) {where}; "
            "it stopped and the net is unchanged. Lower unlearn_method__lr, or "
            "check the module, its criterion and the input dtype."
        )


class _EpochPrinter:
    """An epoch table in skorch's style (``verbose``)."""

    _cols = (
        "forget_loss",
        "forget_acc",
        "calib_loss",
        "calib_acc",
        "mia_auc",
        "removed_acc",
        "retain_acc",
    )

    def __init__(self, verbose):
        self.verbose = verbose
        self.header = False

    def row(self, epoch, phase, stats, dur):
        if not self.verbose:
            return
        cols = [c for c in self._cols if c in stats]
        if not self.header:
            print(
                "  ".join(
                    ["  epoch", "   phase"] + [f"{c:>11}" for c in cols] + ["    dur"]
                )
            )
            print(
                "  ".join(
                    ["-------", "--------"] + ["-" * 11] * len(cols) + ["-------"]
                )
            )
            self.header = True
        vals = [f"{stats[c]:11.4f}" for c in cols]
        print(
            "  ".join([f"{epoch:7d}", f"{phase:>8}"] + vals + [f"{dur:7.4f}"]),
            flush=True,
        )

    def note(self, text):
        if self.verbose:
            print(text, flush=True)


class UnlearningSchedule:
    """Run a method's epochs under the stopping rule, the guards and a budget.

    Parameters
    ----------
    method : NetUnlearningMethod
        Supplies ``_epoch``, ``_repair``, ``_setup``, the optimiser and its
        parameters (``max_epochs``, ``repair_epochs``, ``max_seconds``,
        ``calibrate``, ``tol``, ``class_tol``).
    ctx : UnlearningContext
    """

    def __init__(self, method: NetUnlearningMethod, ctx: UnlearningContext) -> None:
        self.method = method
        self.ctx = ctx
        self.rule = StoppingRule(
            tol=method.tol,
            class_tol=method.class_tol,
            z=getattr(method, "z", 1.0),
            utility_tol=getattr(method, "utility_tol", 0.03),
        )
        self.printer = _EpochPrinter(ctx.verbose)
        self._start = time.perf_counter()

    # ---------------------------------------------------------- utilities
    def calibrated(self) -> bool:
        ctx = self.ctx
        has_calib = ctx.X_calib is not None and ctx.X_calib.shape[0] > 0
        has_removed = ctx.removed is not None and bool(ctx.removed.any())
        return bool(self.method.calibrate) and (has_calib or has_removed)

    def time_budget(self, share: float = _DEFAULT_BUDGET) -> float | None:
        if self.method.max_seconds is not None:
            return float(self.method.max_seconds)
        if self.ctx.fit_seconds:
            return share * self.ctx.fit_seconds
        return None

    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def evaluate(
        self, epoch: int, phase: str, t0: float, retain: bool = True
    ) -> dict[str, Any]:
        stats = self.ctx.evaluate(retain=retain)
        _check_finite(self.ctx, stats, f"after {phase} epoch {epoch}")
        self.printer.row(epoch, phase, stats, time.perf_counter() - t0)
        return stats

    def check_weights(self, epoch: int) -> None:
        """Raise FloatingPointError if a weight is not finite."""
        _check_finite(self.ctx, {}, f"after epoch {epoch}")

    # --------------------------------------------------------------- run
    def run(self) -> dict[str, Any]:
        """Edit ``ctx.module`` in place; return the summary for the history."""
        method, ctx, rule = self.method, self.ctx, self.rule
        optimizer = method._make_optimizer(ctx)
        state = method._setup(ctx)
        calibrated = self.calibrated()
        start = stats = self.evaluate(0, "start", time.perf_counter())
        reached = calibrated and rule.reached(stats)
        budget = self.time_budget()
        best, best_gap, since_best = _snapshot(ctx.module), rule.gap(stats), 0
        best_epoch, epochs, stop, budget_hit = 0, 0, None, False
        while not reached and epochs < method.max_epochs:
            t0 = time.perf_counter()
            epochs += 1
            method._epoch(ctx, optimizer, epochs - 1, state)
            stats = self.evaluate(epochs, "forget", t0)
            if calibrated:
                stop = rule.overshoot(stats) or rule.utility_lost(stats, start)
            else:
                stop = rule.utility_lost(stats, start)
            if stop:
                break
            reached = calibrated and rule.reached(stats)
            gap = rule.gap(stats)
            if not calibrated or reached or gap < best_gap - 1e-3:
                best, best_gap, best_epoch, since_best = (
                    _snapshot(ctx.module),
                    gap,
                    epochs,
                    0,
                )
            else:
                since_best += 1
                if since_best >= _PATIENCE:
                    # The rule may be out of reach (few calibration rows, or a
                    # method that cannot get there): keep the best state.
                    stop = "plateau"
                    break
            if budget is not None and self.elapsed() > budget:
                budget_hit = True
                break
        rolled_back = best_epoch != epochs
        if rolled_back:
            ctx.module.load_state_dict(best)
            stats = ctx.evaluate()
            self.printer.note(
                f"  rolled back to epoch {best_epoch} ({stop or 'best state'})"
            )
        if method.repair_epochs and best_epoch > 0:
            # a fresh optimiser: the moments of the abandoned steps are stale
            optimizer = method._make_optimizer(ctx) if rolled_back else optimizer
            for r in range(method.repair_epochs):
                t0 = time.perf_counter()
                method._repair(ctx, optimizer, state)
                stats = self.evaluate(best_epoch + r + 1, "repair", t0)
        for p in ctx.module.parameters():
            p.grad = None
        return {
            "epochs": epochs,
            "kept_epoch": best_epoch,
            "repair_epochs": int(method.repair_epochs),
            "calibrated": calibrated,
            "target_reached": bool(calibrated and rule.reached(stats)),
            "stopped_by": stop,
            "rolled_back": bool(rolled_back),
            "time_budget_hit": budget_hit,
            "calibration_auc": stats.get("mia_auc"),
            "calibration_auc_se": stats.get("mia_se"),
        }
