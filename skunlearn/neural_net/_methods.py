"""Approximate unlearning methods for torch modules, one small object each.

Every method edits a copy of a trained module with a few passes over the rows
to forget and a sample of the rows to keep, and knows when to stop by looking
at rows the net never saw (the calibration rows): the forget rows should end
up with losses that look like theirs, as they do for the model retrained
without them. Then it repairs utility with a few steps on the kept rows.

The objects are plain scikit-learn style parameter holders (``get_params`` /
``set_params`` / ``clone``), so a net's ``unlearn_method__<param>`` settings
reach them and ``GridSearchCV`` can tune them. They never touch the net: the
net builds an :class:`UnlearningContext` around copies of its module and rows
and commits the edited copy only when the method returns.
"""

# SPDX-License-Identifier: BSD-3-Clause

import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import rankdata
from sklearn.base import BaseEstimator

__all__ = [
    "BadTeacher",
    "Finetune",
    "GaussianRelabel",
    "GradientAscent",
    "L1Sparse",
    "LossMatching",
    "NegGradPlus",
    "NetUnlearningMethod",
    "RandomLabels",
    "SCRUB",
    "SalUn",
    "UnlearningContext",
    "get_method",
    "membership_auc",
]


def membership_auc(loss_member, loss_other):
    """Probability that a member row has a lower loss than another row.

    The area under the ROC curve of the loss-threshold membership attack
    (members are the rows with low loss); 0.5 when the two sets of losses
    are alike, 1 when every member has a lower loss than every other row.

    Parameters
    ----------
    loss_member : array-like of shape (n_member,)
        Per-row losses of the supposed members.

    loss_other : array-like of shape (n_other,)
        Per-row losses of rows never trained on.

    Returns
    -------
    auc : float
        NaN when either set is empty.

    Examples
    --------
    >>> from skunlearn.neural_net import membership_auc
    >>> membership_auc([0.1, 0.2], [0.3, 0.4]), membership_auc([1.0], [1.0])
    (1.0, 0.5)
    """
    a = np.asarray(loss_member, dtype=np.float64).ravel()
    b = np.asarray(loss_other, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        return float("nan")
    # Mann-Whitney U: ranks of the *negated* losses, so lower loss ranks higher.
    ranks = rankdata(np.concatenate([-a, -b]))
    u = ranks[: a.size].sum() - a.size * (a.size + 1) / 2
    return float(u / (a.size * b.size))


class UnlearningContext:
    """Everything a method may use for one ``unlearn`` call.

    Built by the net from copies of its state; nothing here is the net's.

    Attributes
    ----------
    module : torch.nn.Module
        The student: a deep copy of the trained module, edited in place.
    teacher : torch.nn.Module
        A frozen deep copy of the trained module (the original).
    task : {"classification", "regression"}
    X_retain, y_retain : torch.Tensor
        Kept training rows (or a sample of them, see ``retain_budget``).
    X_forget, y_forget : torch.Tensor
        Forget rows that the net trained on.
    X_calib, y_calib : torch.Tensor or None
        Rows never trained on, for the stopping rule.
    removed : torch.Tensor of bool
        Forget rows whose class has no retained row left (classification).
    n_outputs : int
        Number of classes (classification) or of outputs.
    batch_size : int
    generator : torch.Generator
        CPU generator for index draws (deterministic with the method's seed).
    fit_seconds : float or None
        Training time of the net (sum of its history's epoch durations); the
        default time budget is a fraction of it.
    target_mean, target_std : torch.Tensor
        Moments of the retained targets (regression relabelling).
    """

    def __init__(
        self,
        *,
        module,
        task,
        output_to_log_proba,
        X_retain,
        y_retain,
        X_forget,
        y_forget,
        X_calib,
        y_calib,
        removed,
        n_outputs,
        batch_size,
        generator,
        verbose,
        target_mean=None,
        target_std=None,
        fit_seconds=None,
    ):
        self.module = module
        self.teacher = copy.deepcopy(module).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.task = task
        self._to_log_proba = output_to_log_proba
        self.X_retain, self.y_retain = X_retain, y_retain
        self.X_forget, self.y_forget = X_forget, y_forget
        self.X_calib, self.y_calib = X_calib, y_calib
        self.removed = removed
        self.n_outputs = n_outputs
        self.batch_size = batch_size
        self.generator = generator
        self.verbose = verbose
        self.target_mean, self.target_std = target_mean, target_std
        self._retain_order = None
        self._retain_pos = 0
        self.min_steps = 8
        self.fit_seconds = fit_seconds
        self.forget_losses = None
        self.calib_losses = None

    # ------------------------------------------------------------- outputs
    @staticmethod
    def _first(out):
        return out[0] if isinstance(out, tuple | list) else out

    def output(self, module, X):
        """Raw module output for ``X`` (the first one for multi-output modules)."""
        return self._first(module(X))

    def log_proba(self, module, X):
        """Log class probabilities (classification)."""
        return self._to_log_proba(self.output(module, X))

    def row_loss(self, module, X, y):
        """Per-row task loss: cross-entropy or squared error."""
        if self.task == "classification":
            return F.nll_loss(self.log_proba(module, X), y, reduction="none")
        out = self.output(module, X)
        return ((out.reshape(out.shape[0], -1) - y.reshape(y.shape[0], -1)) ** 2).mean(
            1
        )

    def task_loss(self, module, X, y):
        """Mean task loss over a batch."""
        return self.row_loss(module, X, y).mean()

    # ------------------------------------------------------------- batches
    def forget_batches(self):
        """Batches of forget row positions for one epoch.

        One shuffled pass over the forget rows, repeated until the epoch has
        at least ``min_steps`` batches: a small forget set still gets enough
        steps between two checks of the stopping rule.
        """
        n = self.X_forget.shape[0]
        bs = min(self.batch_size, n)
        out = []
        while len(out) < self.min_steps or not out:
            order = torch.randperm(n, generator=self.generator)
            out.extend(order[i : i + bs] for i in range(0, n, bs))
        device = self.X_forget.device
        return [idx.to(device) for idx in out]

    def retain_batch(self):
        """Next batch of retain row positions, cycling over shuffled passes."""
        n = self.X_retain.shape[0]
        bs = min(self.batch_size, n)
        if self._retain_order is None or self._retain_pos + bs > n:
            self._retain_order = torch.randperm(n, generator=self.generator)
            self._retain_pos = 0
        idx = self._retain_order[self._retain_pos : self._retain_pos + bs]
        self._retain_pos += bs
        return idx.to(self.X_retain.device)

    def steps_per_epoch(self):
        """Optimisation steps in one unlearning epoch."""
        n = self.X_forget.shape[0]
        return max(self.min_steps, math.ceil(n / min(self.batch_size, max(n, 1))))

    def random_other_labels(self, y):
        """A uniformly drawn wrong label for each row (classification)."""
        shift = torch.randint(1, self.n_outputs, y.shape, generator=self.generator).to(
            y.device
        )
        return (y + shift) % self.n_outputs

    # ---------------------------------------------------------- evaluation
    @torch.no_grad()
    def _losses(self, X, y):
        was_training = self.module.training
        self.module.eval()
        try:
            out = []
            for i in range(0, X.shape[0], 4096):
                out.append(self.row_loss(self.module, X[i : i + 4096], y[i : i + 4096]))
            loss = torch.cat(out) if out else torch.empty(0)
            acc = None
            if self.task == "classification" and X.shape[0]:
                pred = torch.cat(
                    [
                        self.output(self.module, X[i : i + 4096]).argmax(1)
                        for i in range(0, X.shape[0], 4096)
                    ]
                )
                acc = (pred == y).float().cpu().numpy()
            return loss.float().cpu().numpy(), acc
        finally:
            self.module.train(was_training)

    def evaluate(self):
        """Forget and calibration statistics of the current student."""
        lf, af = self._losses(self.X_forget, self.y_forget)
        removed = self.removed.cpu().numpy() if self.removed is not None else None
        kept = ~removed if removed is not None else np.ones(lf.size, bool)
        stats = {"forget_loss": float(lf.mean()) if lf.size else float("nan")}
        if af is not None:
            stats["forget_acc"] = float(af.mean())
            if removed is not None and removed.any():
                stats["removed_acc"] = float(af[removed].mean())
        self.forget_losses = lf
        if self.X_calib is not None and self.X_calib.shape[0]:
            lc, ac = self._losses(self.X_calib, self.y_calib)
            self.calib_losses = np.sort(lc)
            stats["calib_loss"] = float(lc.mean())
            if ac is not None:
                stats["calib_acc"] = float(ac.mean())
            if kept.any():
                stats["mia_auc"] = membership_auc(lf[kept], lc)
        return stats


class NetUnlearningMethod(BaseEstimator):
    """Base class of the approximate unlearning methods for nets.

    A method runs up to ``max_epochs`` unlearning epochs (one step per batch
    of forget rows, each step usually paired with a batch of retain rows),
    stops as soon as the forget rows look like rows never trained on, and
    then repairs utility with ``repair_epochs`` epochs of fine-tuning on the
    retain rows.

    The stopping rule, with calibration rows (rows held out at ``fit`` or
    passed to ``unlearn``): the loss-threshold membership AUC of the forget
    rows against the calibration rows falls to ``0.5 + tol`` (for forget rows
    whose class still has retained rows) and the accuracy on forget rows of
    classes with no retained row left falls to ``class_tol``. Without
    calibration rows it runs ``max_epochs`` epochs.

    Subclasses implement :meth:`_step` (one optimisation step) and may
    implement :meth:`_setup` (state built once per call).
    """

    #: tasks the method supports
    tasks = ("classification",)
    name = "base"

    # ----------------------------------------------------------- the method
    def _setup(self, ctx):
        return None

    def _step(self, ctx, optimizer, idx_f, epoch, state):  # pragma: no cover
        raise NotImplementedError

    def _after_backward(self, ctx, state):
        """Hook between ``backward`` and the optimiser step (SalUn masks here)."""

    def _epoch(self, ctx, optimizer, epoch, state):
        ctx.module.train()
        for idx_f in ctx.forget_batches():
            optimizer.zero_grad(set_to_none=True)
            loss = self._step(ctx, optimizer, idx_f, epoch, state)
            if loss is None:
                continue
            loss.backward()
            self._after_backward(ctx, state)
            optimizer.step()

    def _repair(self, ctx, optimizer, state):
        ctx.module.train()
        for _ in range(ctx.steps_per_epoch()):
            idx_r = ctx.retain_batch()
            optimizer.zero_grad(set_to_none=True)
            loss = ctx.task_loss(ctx.module, ctx.X_retain[idx_r], ctx.y_retain[idx_r])
            loss.backward()
            self._after_backward(ctx, state)
            optimizer.step()

    # ----------------------------------------------------------- the loop
    def _check(self, ctx):
        self.check_task(ctx.task)
        for name in ("max_epochs", "repair_epochs"):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {v!r}.")
        if not (isinstance(self.lr, float | int) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}.")

    def _reached(self, stats):
        ok = True
        if "mia_auc" in stats:
            ok &= stats["mia_auc"] <= 0.5 + self.tol
        if "removed_acc" in stats:
            ok &= stats["removed_acc"] <= self.class_tol
        return bool(ok)

    def check_task(self, task):
        """Raise ValueError if the method does not apply to ``task``."""
        if task not in self.tasks:
            raise ValueError(
                f"unlearn_method={self.name!r} does not apply to {task}; "
                f"use one of {sorted(m for m, c in METHODS.items() if task in c.tasks)}."  # noqa: E501
            )

    def run(self, ctx):
        """Edit ``ctx.module`` in place; return a summary of what was done.

        Parameters
        ----------
        ctx : UnlearningContext

        Returns
        -------
        summary : dict
            Epochs run, whether the stopping rule was calibrated and reached,
            the membership AUC against the calibration rows at the end.
        """
        self._check(ctx)
        start = time.perf_counter()
        optimizer = torch.optim.Adam(ctx.module.parameters(), lr=self.lr)
        state = self._setup(ctx)
        calibrated = bool(self.calibrate) and (
            ctx.X_calib is not None
            and ctx.X_calib.shape[0] > 0
            or (ctx.removed is not None and bool(ctx.removed.any()))
        )
        printer = _EpochPrinter(ctx.verbose)
        stats = ctx.evaluate()
        printer.row(0, "start", stats, time.perf_counter() - start)
        reached = calibrated and self._reached(stats)
        epochs = 0
        budget_hit = False
        budget = self.max_seconds
        if budget is None and ctx.fit_seconds:
            budget = _DEFAULT_BUDGET * ctx.fit_seconds
        best_gap, since_best = _gap(stats), 0
        while not reached and epochs < self.max_epochs and since_best < _PATIENCE:
            t0 = time.perf_counter()
            epochs += 1
            self._epoch(ctx, optimizer, epochs - 1, state)
            stats = ctx.evaluate()
            printer.row(epochs, "forget", stats, time.perf_counter() - t0)
            reached = calibrated and self._reached(stats)
            if calibrated:
                # Stop on a plateau: the rule may be out of reach (few
                # calibration rows, or a method that cannot get there).
                gap = _gap(stats)
                best_gap, since_best = (
                    min(gap, best_gap),
                    (0 if gap < best_gap - 1e-3 else since_best + 1),
                )
            if budget is not None and time.perf_counter() - start > budget:
                budget_hit = True
                break
        for r in range(self.repair_epochs):
            t0 = time.perf_counter()
            self._repair(ctx, optimizer, state)
            stats = ctx.evaluate()
            printer.row(epochs + r + 1, "repair", stats, time.perf_counter() - t0)
        for p in ctx.module.parameters():
            p.grad = None
        return {
            "epochs": epochs,
            "repair_epochs": int(self.repair_epochs),
            "calibrated": calibrated,
            "target_reached": bool(reached),
            "time_budget_hit": budget_hit,
            "calibration_auc": stats.get("mia_auc"),
        }


_PATIENCE = 3
_DEFAULT_BUDGET = 0.05
_EPS_LOSS = 1e-4


def _gap(stats):
    """Distance to the stopping rule's target (0 when reached)."""
    gap = abs(stats.get("mia_auc", 0.5) - 0.5)
    return gap + stats.get("removed_acc", 0.0)


class _EpochPrinter:
    """An epoch table in skorch's style (``verbose``)."""

    _cols = (
        "forget_loss",
        "forget_acc",
        "calib_loss",
        "calib_acc",
        "mia_auc",
        "removed_acc",
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


# --------------------------------------------------------------------- methods
class Finetune(NetUnlearningMethod):
    """Fine-tune on the retain rows only (catastrophic forgetting).

    Parameters
    ----------
    max_epochs : int, default=10
        Most unlearning epochs (one step per batch of forget rows each).
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int or None, default=None
        Rows per batch; None uses the net's ``batch_size``.
    repair_epochs : int, default=0
        Epochs of fine-tuning on retain rows after the forgetting phase.
    tol : float, default=0.02
        Stop once the membership AUC of the forget rows against the
        calibration rows is at most ``0.5 + tol``.
    class_tol : float, default=0.02
        Stop once the accuracy on forget rows of fully removed classes is at
        most this.
    calibrate : bool, default=True
        Use the stopping rule; False runs ``max_epochs`` epochs.
    max_seconds : float or None, default=None
        Time budget of the forgetting phase (checked after each epoch).
        None: 8% of the net's training time, as its skorch history records.
        A wall-clock budget can stop two runs after different epochs; for
        results that depend only on ``random_state``, set a large value.
    random_state : int, default=0
        Seed of the batches and random draws (deterministic on CPU).
    """

    name = "finetune"
    tasks = ("classification", "regression")

    def __init__(
        self,
        *,
        max_epochs=10,
        lr=1e-3,
        batch_size=None,
        repair_epochs=0,
        tol=0.02,
        class_tol=0.02,
        calibrate=True,
        max_seconds=None,
        random_state=0,
    ):
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.repair_epochs = repair_epochs
        self.tol = tol
        self.class_tol = class_tol
        self.calibrate = calibrate
        self.max_seconds = max_seconds
        self.random_state = random_state

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        idx_r = ctx.retain_batch()
        return ctx.task_loss(ctx.module, ctx.X_retain[idx_r], ctx.y_retain[idx_r])


class GradientAscent(NetUnlearningMethod):
    """NegGrad: ascend the loss of the forget rows.

    Parameters
    ----------
    max_epochs : int, default=10
    lr : float, default=1e-4
    batch_size : int or None, default=None
    repair_epochs : int, default=1
    tol, class_tol, calibrate, max_seconds, random_state
        See :class:`Finetune`.
    """

    name = "gradient_ascent"
    tasks = ("classification", "regression")

    def __init__(
        self,
        *,
        max_epochs=10,
        lr=1e-4,
        batch_size=None,
        repair_epochs=1,
        tol=0.02,
        class_tol=0.02,
        calibrate=True,
        max_seconds=None,
        random_state=0,
    ):
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.repair_epochs = repair_epochs
        self.tol = tol
        self.class_tol = class_tol
        self.calibrate = calibrate
        self.max_seconds = max_seconds
        self.random_state = random_state

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        return -ctx.task_loss(ctx.module, ctx.X_forget[idx_f], ctx.y_forget[idx_f])


class NegGradPlus(NetUnlearningMethod):
    """NegGrad+: minimise ``beta L_retain - (1 - beta) L_forget``.

    Parameters
    ----------
    beta : float, default=0.9
        Weight of the retain loss.
    max_epochs : int, default=10
    lr : float, default=1e-3
    batch_size : int or None, default=None
    repair_epochs : int, default=1
    tol, class_tol, calibrate, max_seconds, random_state
        See :class:`Finetune`.
    """

    name = "neggrad_plus"
    tasks = ("classification", "regression")

    def __init__(
        self,
        *,
        beta=0.9,
        max_epochs=10,
        lr=1e-3,
        batch_size=None,
        repair_epochs=1,
        tol=0.02,
        class_tol=0.02,
        calibrate=True,
        max_seconds=None,
        random_state=0,
    ):
        self.beta = beta
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.repair_epochs = repair_epochs
        self.tol = tol
        self.class_tol = class_tol
        self.calibrate = calibrate
        self.max_seconds = max_seconds
        self.random_state = random_state

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        idx_r = ctx.retain_batch()
        l_r = ctx.task_loss(ctx.module, ctx.X_retain[idx_r], ctx.y_retain[idx_r])
        l_f = ctx.task_loss(ctx.module, ctx.X_forget[idx_f], ctx.y_forget[idx_f])
        return self.beta * l_r - (1 - self.beta) * l_f


def _kl_teacher_student(log_p_teacher, log_p_student, T):
    """``T^2 KL(softmax(t / T) || softmax(s / T))`` per batch (mean over rows)."""
    t = F.log_softmax(log_p_teacher / T, dim=1)
    s = F.log_softmax(log_p_student / T, dim=1)
    return F.kl_div(s, t, log_target=True, reduction="batchmean") * T * T


class SCRUB(NetUnlearningMethod):
    """SCRUB (Kurmanji et al. 2023): a student that disobeys its teacher on forget rows.

    The teacher is the original net, frozen. In each of the first ``msteps``
    epochs, max-steps on the forget rows maximise
    ``T^2 KL(teacher || student)``; every epoch, min-steps on retain rows
    minimise ``gamma CE + alpha T^2 KL(teacher || student)``.

    Parameters
    ----------
    alpha : float, default=0.5
        Weight of the distillation term on retain rows.
    gamma : float, default=1.0
        Weight of the cross-entropy on retain rows.
    temperature : float, default=4.0
        Distillation temperature ``T``.
    msteps : int, default=10
        Epochs that include max-steps.
    max_epochs : int, default=10
    lr : float, default=1e-3
    batch_size : int or None, default=None
    repair_epochs : int, default=1
    tol, class_tol, calibrate, max_seconds, random_state
        See :class:`Finetune`.
    """

    name = "scrub"

    def __init__(
        self,
        *,
        alpha=0.5,
        gamma=1.0,
        temperature=4.0,
        msteps=10,
        max_epochs=10,
        lr=1e-3,
        batch_size=None,
        repair_epochs=1,
        tol=0.02,
        class_tol=0.02,
        calibrate=True,
        max_seconds=None,
        random_state=0,
    ):
        self.alpha = alpha
        self.gamma = gamma
        self.temperature = temperature
        self.msteps = msteps
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.repair_epochs = repair_epochs
        self.tol = tol
        self.class_tol = class_tol
        self.calibrate = calibrate
        self.max_seconds = max_seconds
        self.random_state = random_state

    def _epoch(self, ctx, optimizer, epoch, state):
        ctx.module.train()
        T = self.temperature
        batches = ctx.forget_batches()
        if epoch < self.msteps:
            for idx_f in batches:
                x = ctx.X_forget[idx_f]
                optimizer.zero_grad(set_to_none=True)
                with torch.no_grad():
                    t = ctx.log_proba(ctx.teacher, x)
                loss = -_kl_teacher_student(t, ctx.log_proba(ctx.module, x), T)
                loss.backward()
                optimizer.step()
        for _ in batches:
            idx_r = ctx.retain_batch()
            x, y = ctx.X_retain[idx_r], ctx.y_retain[idx_r]
            optimizer.zero_grad(set_to_none=True)
            with torch.no_grad():
                t = ctx.log_proba(ctx.teacher, x)
            s = ctx.log_proba(ctx.module, x)
            loss = self.gamma * F.nll_loss(s, y) + self.alpha * _kl_teacher_student(
                t, s, T
            )
            loss.backward()
            optimizer.step()


class BadTeacher(NetUnlearningMethod):
    """Bad teacher (Chundawat et al. 2023): distil from the original and from noise.

    The student follows ``softmax(original / tau)`` on retain rows and
    ``softmax(random_net / tau)`` on forget rows, minimising the KL divergence
    from those targets; the random net is the module with freshly initialised
    weights.

    Parameters
    ----------
    tau : float, default=1.0
        Temperature of the targets and the student.
    max_epochs : int, default=10
    lr : float, default=1e-3
    batch_size : int or None, default=None
    repair_epochs : int, default=1
    tol, class_tol, calibrate, max_seconds, random_state
        See :class:`Finetune`.
    """

    name = "bad_teacher"

    def __init__(
        self,
        *,
        tau=1.0,
        max_epochs=10,
        lr=1e-3,
        batch_size=None,
        repair_epochs=1,
        tol=0.02,
        class_tol=0.02,
        calibrate=True,
        max_seconds=None,
        random_state=0,
    ):
        self.tau = tau
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.repair_epochs = repair_epochs
        self.tol = tol
        self.class_tol = class_tol
        self.calibrate = calibrate
        self.max_seconds = max_seconds
        self.random_state = random_state

    def _setup(self, ctx):
        bad = copy.deepcopy(ctx.teacher)
        for m in bad.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        return {"bad": bad.eval()}

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        idx_r = ctx.retain_batch()
        xf, xr = ctx.X_forget[idx_f], ctx.X_retain[idx_r]
        with torch.no_grad():
            tf = F.log_softmax(ctx.log_proba(state["bad"], xf) / self.tau, 1)
            tr = F.log_softmax(ctx.log_proba(ctx.teacher, xr) / self.tau, 1)
        sf = F.log_softmax(ctx.log_proba(ctx.module, xf) / self.tau, 1)
        sr = F.log_softmax(ctx.log_proba(ctx.module, xr) / self.tau, 1)
        target = torch.cat([tf, tr])
        student = torch.cat([sf, sr])
        return F.kl_div(student, target, log_target=True, reduction="batchmean")


class SalUn(NetUnlearningMethod):
    """SalUn (Fan et al. 2024): random labels on the salient weights only.

    The mask keeps the weights whose forget-loss gradient magnitude is in the
    top ``1 - threshold`` fraction (over all weights); the others stay at the
    trained values. Steps minimise ``CE(forget, random labels) + alpha
    CE(retain)`` on the masked weights.

    Parameters
    ----------
    threshold : float, default=0.5
        Quantile of ``|grad|`` below which a weight is frozen.
    alpha : float, default=1.0
        Weight of the retain loss.
    max_epochs : int, default=10
    lr : float, default=1e-3
    batch_size : int or None, default=None
    repair_epochs : int, default=1
    tol, class_tol, calibrate, max_seconds, random_state
        See :class:`Finetune`.
    """

    name = "salun"

    def __init__(
        self,
        *,
        threshold=0.5,
        alpha=1.0,
        max_epochs=10,
        lr=1e-3,
        batch_size=None,
        repair_epochs=1,
        tol=0.02,
        class_tol=0.02,
        calibrate=True,
        max_seconds=None,
        random_state=0,
    ):
        self.threshold = threshold
        self.alpha = alpha
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.repair_epochs = repair_epochs
        self.tol = tol
        self.class_tol = class_tol
        self.calibrate = calibrate
        self.max_seconds = max_seconds
        self.random_state = random_state

    def _setup(self, ctx):
        if not 0 <= self.threshold < 1:
            raise ValueError(f"threshold must be in [0, 1), got {self.threshold!r}.")
        params = [p for p in ctx.module.parameters() if p.requires_grad]
        ctx.module.zero_grad(set_to_none=True)
        ctx.module.eval()
        # Gradient of the summed forget loss at the trained weights.
        for i in range(0, ctx.X_forget.shape[0], 4096):
            sl = slice(i, i + 4096)
            ctx.row_loss(
                ctx.module, ctx.X_forget[sl], ctx.y_forget[sl]
            ).sum().backward()
        grads = [
            p.grad.abs() if p.grad is not None else torch.zeros_like(p) for p in params
        ]
        ctx.module.zero_grad(set_to_none=True)
        flat = torch.cat([g.flatten() for g in grads])
        # Salient = large |gradient|: the top (1 - threshold) fraction is trained.
        k = int(flat.numel() * self.threshold)
        cut = (
            torch.kthvalue(flat.cpu(), max(k, 1)).values.to(flat.device) if k else None
        )
        masks = [
            torch.ones_like(g) if cut is None else (g > cut).to(g.dtype) for g in grads
        ]
        return {"params": params, "masks": masks}

    def _after_backward(self, ctx, state):
        for p, m in zip(state["params"], state["masks"]):
            if p.grad is not None:
                p.grad.mul_(m)

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        idx_r = ctx.retain_batch()
        yf = ctx.random_other_labels(ctx.y_forget[idx_f])
        l_f = ctx.task_loss(ctx.module, ctx.X_forget[idx_f], yf)
        l_r = ctx.task_loss(ctx.module, ctx.X_retain[idx_r], ctx.y_retain[idx_r])
        return l_f + self.alpha * l_r


class L1Sparse(NetUnlearningMethod):
    """l1-sparse (Jia et al. 2023): fine-tune on retain rows with a decaying L1 penalty.

    Minimises ``L_retain + gamma_t |theta|_1`` with ``gamma_t`` decaying
    linearly from ``gamma`` to 0 over ``max_epochs``.

    Parameters
    ----------
    gamma : float, default=5e-4
        Initial weight of the L1 penalty (summed over all weights).
    max_epochs : int, default=10
    lr : float, default=1e-3
    batch_size : int or None, default=None
    repair_epochs : int, default=0
    tol, class_tol, calibrate, max_seconds, random_state
        See :class:`Finetune`.
    """

    name = "l1_sparse"

    def __init__(
        self,
        *,
        gamma=5e-4,
        max_epochs=10,
        lr=1e-3,
        batch_size=None,
        repair_epochs=0,
        tol=0.02,
        class_tol=0.02,
        calibrate=True,
        max_seconds=None,
        random_state=0,
    ):
        self.gamma = gamma
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.repair_epochs = repair_epochs
        self.tol = tol
        self.class_tol = class_tol
        self.calibrate = calibrate
        self.max_seconds = max_seconds
        self.random_state = random_state

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        idx_r = ctx.retain_batch()
        g = self.gamma * (1 - epoch / max(self.max_epochs, 1))
        l1 = sum(p.abs().sum() for p in ctx.module.parameters() if p.requires_grad)
        return (
            ctx.task_loss(ctx.module, ctx.X_retain[idx_r], ctx.y_retain[idx_r]) + g * l1
        )


class RandomLabels(NetUnlearningMethod):
    """Random labels (amnesiac unlearning, Graves et al. 2021).

    Minimises ``CE(forget, random wrong labels) + alpha CE(retain)``.

    Parameters
    ----------
    alpha : float, default=1.0
        Weight of the retain loss.
    max_epochs : int, default=10
    lr : float, default=1e-3
    batch_size : int or None, default=None
    repair_epochs : int, default=1
    tol, class_tol, calibrate, max_seconds, random_state
        See :class:`Finetune`.
    """

    name = "random_labels"

    def __init__(
        self,
        *,
        alpha=1.0,
        max_epochs=10,
        lr=1e-3,
        batch_size=None,
        repair_epochs=1,
        tol=0.02,
        class_tol=0.02,
        calibrate=True,
        max_seconds=None,
        random_state=0,
    ):
        self.alpha = alpha
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.repair_epochs = repair_epochs
        self.tol = tol
        self.class_tol = class_tol
        self.calibrate = calibrate
        self.max_seconds = max_seconds
        self.random_state = random_state

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        idx_r = ctx.retain_batch()
        yf = ctx.random_other_labels(ctx.y_forget[idx_f])
        l_f = ctx.task_loss(ctx.module, ctx.X_forget[idx_f], yf)
        l_r = ctx.task_loss(ctx.module, ctx.X_retain[idx_r], ctx.y_retain[idx_r])
        return l_f + self.alpha * l_r


class GaussianRelabel(NetUnlearningMethod):
    """Gaussian relabelling for regression (Tarun et al., Deep Regression Unlearning).

    Forget targets are replaced by draws from a Gaussian with the mean and
    standard deviation of the retained targets, and the net is fine-tuned on
    them together with the retain rows: ``MSE(forget, draws) + alpha
    MSE(retain)``.

    Parameters
    ----------
    alpha : float, default=1.0
        Weight of the retain loss.
    max_epochs : int, default=10
    lr : float, default=1e-3
    batch_size : int or None, default=None
    repair_epochs : int, default=1
    tol, class_tol, calibrate, max_seconds, random_state
        See :class:`Finetune`.
    """

    name = "gaussian_relabel"
    tasks = ("regression",)

    def __init__(
        self,
        *,
        alpha=1.0,
        max_epochs=10,
        lr=1e-3,
        batch_size=None,
        repair_epochs=1,
        tol=0.02,
        class_tol=0.02,
        calibrate=True,
        max_seconds=None,
        random_state=0,
    ):
        self.alpha = alpha
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.repair_epochs = repair_epochs
        self.tol = tol
        self.class_tol = class_tol
        self.calibrate = calibrate
        self.max_seconds = max_seconds
        self.random_state = random_state

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        idx_r = ctx.retain_batch()
        yf = ctx.y_forget[idx_f]
        noise = torch.randn(yf.shape, generator=ctx.generator).to(yf.device, yf.dtype)
        draws = ctx.target_mean + ctx.target_std * noise
        l_f = ctx.task_loss(ctx.module, ctx.X_forget[idx_f], draws)
        l_r = ctx.task_loss(ctx.module, ctx.X_retain[idx_r], ctx.y_retain[idx_r])
        return l_f + self.alpha * l_r


class LossMatching(NetUnlearningMethod):
    """Match the forget rows' losses to those of rows never trained on.

    A calibrated NegGrad+: instead of ascending the loss of every forget row,
    each forget row gets a target loss, the quantile of the calibration rows'
    losses at its own rank among the forget rows (re-ranked every epoch), and
    steps minimise ``L_retain + lam * smooth_l1(log loss_i, log target_i)``
    (log-losses, so that the low-loss end, where memorised rows sit, counts
    as much as the high end). Rows
    below their target are pushed up, rows above it pulled down, so the
    forget rows' loss distribution moves onto the never-seen rows' and stays
    there. Forget rows of a class with no retained row left are pushed away
    from their label with ``-log(1 - p_y)`` (the retrained net never predicts
    that class). Without calibration rows it falls back to NegGrad+'s
    ascent on ``-log(1 - p_y)``.

    Parameters
    ----------
    lam : float, default=0.5
        Weight of the forget term.
    retain_steps : int, default=1
        Extra steps on retain rows only after each forget step: they hold
        utility while the forget rows move (fine-tuning *after* forgetting
        would let the net re-learn them).
    max_epochs : int, default=20
    lr : float, default=1e-3
    batch_size : int or None, default=None
    repair_epochs : int, default=0
    tol, class_tol, calibrate, max_seconds, random_state
        See :class:`Finetune`.
    """

    name = "loss_matching"
    tasks = ("classification", "regression")

    def __init__(
        self,
        *,
        lam=0.5,
        retain_steps=1,
        max_epochs=20,
        lr=1e-3,
        batch_size=None,
        repair_epochs=0,
        tol=0.02,
        class_tol=0.02,
        calibrate=True,
        max_seconds=None,
        random_state=0,
    ):
        self.lam = lam
        self.retain_steps = retain_steps
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.repair_epochs = repair_epochs
        self.tol = tol
        self.class_tol = class_tol
        self.calibrate = calibrate
        self.max_seconds = max_seconds
        self.random_state = random_state

    def _targets(self, ctx):
        lf, lc = ctx.forget_losses, ctx.calib_losses
        if lc is None or lf is None or not lf.size:
            return None
        ranks = (rankdata(lf, method="ordinal") - 0.5) / lf.size
        t = np.quantile(lc, ranks)
        return torch.as_tensor(t, dtype=torch.float32, device=ctx.X_forget.device)

    def _epoch(self, ctx, optimizer, epoch, state):
        targets = self._targets(ctx)
        removed = ctx.removed
        ctx.module.train()
        for idx_f in ctx.forget_batches():
            idx_r = ctx.retain_batch()
            optimizer.zero_grad(set_to_none=True)
            xf, yf = ctx.X_forget[idx_f], ctx.y_forget[idx_f]
            l_r = ctx.task_loss(ctx.module, ctx.X_retain[idx_r], ctx.y_retain[idx_r])
            if ctx.task == "classification":
                logp = ctx.log_proba(ctx.module, xf)
                lf = F.nll_loss(logp, yf, reduction="none")
                p_y = logp.gather(1, yf[:, None]).squeeze(1).exp()
                away = -torch.log1p(-p_y.clamp(max=1 - 1e-6))
            else:
                lf = ctx.row_loss(ctx.module, xf, yf)
                away = -lf
            gone = (
                removed[idx_f]
                if removed is not None
                else torch.zeros_like(lf, dtype=bool)
            )
            if targets is None:
                per_row = away
            else:
                # Compare log-losses: the low-loss end of the distribution,
                # where memorised rows sit, weighs as much as the high end.
                match = F.smooth_l1_loss(
                    torch.log(lf + _EPS_LOSS),
                    torch.log(targets[idx_f] + _EPS_LOSS),
                    reduction="none",
                )
                per_row = torch.where(gone, away, match)
            loss = l_r + self.lam * per_row.mean()
            loss.backward()
            optimizer.step()
            for _ in range(self.retain_steps):
                idx_r = ctx.retain_batch()
                optimizer.zero_grad(set_to_none=True)
                ctx.task_loss(
                    ctx.module, ctx.X_retain[idx_r], ctx.y_retain[idx_r]
                ).backward()
                optimizer.step()


METHODS = {
    cls.name: cls
    for cls in (
        Finetune,
        GradientAscent,
        NegGradPlus,
        SCRUB,
        BadTeacher,
        SalUn,
        L1Sparse,
        RandomLabels,
        GaussianRelabel,
        LossMatching,
    )
}


def get_method(method, params=None):
    """A fresh method object from a name, a class or an instance, plus parameters.

    Parameters
    ----------
    method : str, NetUnlearningMethod subclass or instance
    params : dict, default=None
        ``unlearn_method__<name>`` settings, applied on top.

    Returns
    -------
    method : NetUnlearningMethod
        A new object (the given instance is cloned, never modified).
    """
    from sklearn.base import clone

    params = dict(params or {})
    if isinstance(method, str):
        if method not in METHODS:
            raise ValueError(
                f"Unknown unlearn_method {method!r}; choose one of {sorted(METHODS)} "
                "or pass a NetUnlearningMethod."
            )
        obj = METHODS[method]()
    elif isinstance(method, type) and issubclass(method, NetUnlearningMethod):
        obj = method()
    elif isinstance(method, NetUnlearningMethod):
        obj = clone(method)
    else:
        raise TypeError(
            "unlearn_method must be a method name, a NetUnlearningMethod class or "
            f"instance; got {method!r}."
        )
    if params:
        valid = obj.get_params()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {unknown} for unlearn_method {obj.name!r}; "
                f"valid: {sorted(valid)}."
            )
        obj.set_params(**params)
    return obj
