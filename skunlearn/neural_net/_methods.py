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

They are built by composition: :class:`NetUnlearningMethod` declares the
loop's parameters once, as fields of a keyword-only dataclass, and the loop
itself is :class:`~skunlearn.neural_net._schedule.UnlearningSchedule`; a
method declares only its own parameters, the defaults it changes and one or
two hooks (``_step``, ``_epoch``, ``_setup``, ``_after_backward``). Each
class's Parameters section is written from its fields.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
import inspect
import math
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, ClassVar, TypeVar, cast, dataclass_transform

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata
from sklearn.base import BaseEstimator

from ._schedule import (
    _DEFAULT_BUDGET,
    UnlearningSchedule,
    _snapshot,
    auc_null_se,
    proportion_se,
)

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
    "ResetRepair",
    "SCRUB",
    "SalUn",
    "UncalibratedUnlearningWarning",
    "UnlearningContext",
    "get_method",
    "membership_auc",
]


class UncalibratedUnlearningWarning(UserWarning):
    """``unlearn`` had no rows the net never trained on to check its work.

    Without calibration rows a method cannot tell when the forgotten rows
    look like unseen rows; the default method then retrains within its
    budget and stops, and the other methods stop when the retained rows'
    accuracy falls. Pass ``X_calib`` and ``y_calib`` to ``unlearn``, or fit
    with a validation split (skorch's ``train_split``).

    See Also
    --------
    UnlearningNeuralNetClassifier.unlearn : Takes ``X_calib`` and ``y_calib``.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import (
    ...     UncalibratedUnlearningWarning,
    ...     UnlearningNeuralNetClassifier,
    ... )
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = UnlearningNeuralNetClassifier(
    ...     torch.nn.Linear(5, 2), criterion=torch.nn.CrossEntropyLoss,
    ...     max_epochs=5, lr=0.1, verbose=0, train_split=None,
    ... ).fit(X, y)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     net = net.unlearn(X[:10])
    >>> [w.category.__name__ for w in caught]
    ['UncalibratedUnlearningWarning']
    >>> net.unlearn_history_[-1]["details"]["calibrated"]
    False
    """


def membership_auc(loss_member: ArrayLike, loss_other: ArrayLike) -> float:
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

    See Also
    --------
    skunlearn.metrics.membership_inference_auc : The same attack on a fitted
        scikit-learn model.

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
    fit_epochs : int or None
        Epochs the net was trained for (its skorch history's length).
    make_optimizer : callable or None
        ``make_optimizer(module, lr=None)``: the net's own optimiser (class
        and settings, as ``fit`` built it) over ``module``'s parameters;
        ``lr`` overrides its learning rate.
    target_mean, target_std : torch.Tensor
        Moments of the retained targets (regression relabelling).
    """

    def __init__(
        self,
        *,
        module: torch.nn.Module,
        task: str,
        output_to_log_proba: Callable[[torch.Tensor], torch.Tensor] | None,
        X_retain: torch.Tensor,
        y_retain: torch.Tensor,
        X_forget: torch.Tensor,
        y_forget: torch.Tensor,
        X_calib: torch.Tensor | None,
        y_calib: torch.Tensor | None,
        removed: torch.Tensor | None,
        n_outputs: int | None,
        batch_size: int,
        generator: torch.Generator,
        verbose: int,
        target_mean: torch.Tensor | None = None,
        target_std: torch.Tensor | None = None,
        fit_seconds: float | None = None,
        fit_epochs: int | None = None,
        make_optimizer: Callable[..., torch.optim.Optimizer] | None = None,
    ) -> None:
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
        self._retain_order: torch.Tensor | None = None
        self._retain_pos = 0
        self.min_steps = 8
        self.fit_seconds = fit_seconds
        self.fit_epochs = fit_epochs
        self.make_optimizer = make_optimizer
        self.forget_losses: NDArray[Any] | None = None
        self.calib_losses: NDArray[Any] | None = None

    # ------------------------------------------------------------- outputs
    @staticmethod
    def _first(out):
        return out[0] if isinstance(out, tuple | list) else out

    def output(self, module: torch.nn.Module, X: torch.Tensor) -> torch.Tensor:
        """Raw module output for ``X`` (the first one for multi-output modules)."""
        return self._first(module(X))

    def log_proba(self, module: torch.nn.Module, X: torch.Tensor) -> torch.Tensor:
        """Log class probabilities (classification)."""
        # set for classification (None for regression)
        to_log_proba = cast(
            "Callable[[torch.Tensor], torch.Tensor]", self._to_log_proba
        )
        return to_log_proba(self.output(module, X))

    def row_loss(
        self, module: torch.nn.Module, X: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        """Per-row task loss: cross-entropy or squared error."""
        if self.task == "classification":
            return F.nll_loss(self.log_proba(module, X), y, reduction="none")
        out = self.output(module, X)
        return ((out.reshape(out.shape[0], -1) - y.reshape(y.shape[0], -1)) ** 2).mean(
            1
        )

    def task_loss(
        self, module: torch.nn.Module, X: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        """Mean task loss over a batch."""
        return self.row_loss(module, X, y).mean()

    # ------------------------------------------------------------- batches
    def forget_batches(self) -> list[torch.Tensor]:
        """Batches of forget row positions for one epoch.

        One shuffled pass over the forget rows, repeated until the epoch has
        at least ``min_steps`` batches: a small forget set still gets enough
        steps between two checks of the stopping rule.
        """
        n = self.X_forget.shape[0]
        bs = min(self.batch_size, n)
        out: list[torch.Tensor] = []
        while len(out) < self.min_steps or not out:
            order = torch.randperm(n, generator=self.generator)
            out.extend(order[i : i + bs] for i in range(0, n, bs))
        device = self.X_forget.device
        return [idx.to(device) for idx in out]

    def retain_batch(self) -> torch.Tensor:
        """Next batch of retain row positions, cycling over shuffled passes."""
        n = self.X_retain.shape[0]
        bs = min(self.batch_size, n)
        if self._retain_order is None or self._retain_pos + bs > n:
            self._retain_order = torch.randperm(n, generator=self.generator)
            self._retain_pos = 0
        idx = self._retain_order[self._retain_pos : self._retain_pos + bs]
        self._retain_pos += bs
        return idx.to(self.X_retain.device)

    def retain_epoch(self) -> list[torch.Tensor]:
        """Batches of retain row positions for one shuffled pass over them all."""
        n = self.X_retain.shape[0]
        bs = min(self.batch_size, n)
        order = torch.randperm(n, generator=self.generator).to(self.X_retain.device)
        return [order[i : i + bs] for i in range(0, n, bs)]

    def steps_per_epoch(self) -> int:
        """Optimisation steps in one unlearning epoch."""
        n = self.X_forget.shape[0]
        return max(self.min_steps, math.ceil(n / min(self.batch_size, max(n, 1))))

    def random_other_labels(self, y: torch.Tensor) -> torch.Tensor:
        """A uniformly drawn wrong label for each row (classification)."""
        n_classes = cast(int, self.n_outputs)  # set for classification
        shift = torch.randint(1, n_classes, y.shape, generator=self.generator).to(
            y.device
        )
        return (y + shift) % n_classes

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

    def evaluate(self, retain: bool = True) -> dict[str, Any]:
        """Forget, calibration and retain statistics of the current student.

        Parameters
        ----------
        retain : bool, default=True
            Also measure the accuracy on a sample of the retained rows.

        Returns
        -------
        stats : dict
            ``forget_loss``, ``forget_acc`` (classification), ``kept_acc``
            (forget rows whose class still has retained rows),
            ``removed_acc`` (the others, when any); with calibration rows,
            ``calib_loss``, ``calib_acc`` (and ``calib_correct``, per row),
            ``n_calib``, ``mia_auc`` (loss
            attack, kept forget rows against calibration rows) with its
            null standard error ``mia_se`` and ``acc_se``, the standard
            error of the difference between forget and calibration
            accuracy; ``retain_acc`` on a fixed sample of up to
            ``n_retain_eval`` retained rows (classification; per row in
            ``retain_correct``).
        """
        lf, af = self._losses(self.X_forget, self.y_forget)
        removed = self.removed.cpu().numpy() if self.removed is not None else None
        kept = ~removed if removed is not None else np.ones(lf.size, bool)
        stats: dict[str, Any] = {
            "forget_loss": float(lf.mean()) if lf.size else float("nan")
        }
        if af is not None:
            stats["forget_acc"] = float(af.mean())
            if kept.any():
                stats["kept_acc"] = float(af[kept].mean())
            if removed is not None and removed.any():
                stats["removed_acc"] = float(af[removed].mean())
        self.forget_losses = lf
        if self.X_calib is not None and self.X_calib.shape[0]:
            lc, ac = self._losses(self.X_calib, self.y_calib)
            self.calib_losses = np.sort(lc)
            stats["calib_loss"] = float(lc.mean())
            stats["n_calib"] = int(lc.size)
            if ac is not None:
                stats["calib_acc"] = float(ac.mean())
                stats["calib_correct"] = ac
                if kept.any():
                    pooled = (af[kept].sum() + ac.sum()) / (kept.sum() + ac.size)
                    stats["acc_se"] = proportion_se(pooled, int(kept.sum()), ac.size)
            if kept.any():
                stats["mia_auc"] = membership_auc(lf[kept], lc)
                stats["mia_se"] = auc_null_se(int(kept.sum()), lc.size)
        if retain and self.task == "classification" and self.X_retain.shape[0]:
            idx = self._retain_eval_rows()
            _, ar = self._losses(self.X_retain[idx], self.y_retain[idx])
            stats["retain_acc"] = float(ar.mean())
            stats["retain_correct"] = ar
            stats["n_retain_eval"] = int(idx.numel())
        return stats

    def _retain_eval_rows(self):
        # A fixed, evenly spaced sample: the same rows at every epoch.
        n = self.X_retain.shape[0]
        k = min(n, _N_RETAIN_EVAL)
        idx = torch.linspace(0, n - 1, k).round().long()
        return idx.to(self.X_retain.device)


_N_RETAIN_EVAL = 1024
#: Floor added to losses before their logarithm (loss matching).
_EPS_LOSS = 1e-4
#: Share of the net's training epochs the reset method retrains for.
_RESET_SHARE = 0.12
#: Share of the net's training time it may take (evaluation included).
_RESET_TIME_SHARE = 0.12

_T = TypeVar("_T")


def _param(default: _T, doc: str) -> _T:
    """A dataclass field with its default and its numpydoc description."""
    return field(default=default, metadata={"doc": doc})


def _literal(value: object) -> str:
    """``value`` as a docstring's ``default=`` writes it (``1e-3``, ``None``)."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and 0 < abs(value) < 1e-2:
        mantissa, exponent = f"{value:e}".split("e")
        text = f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
        if float(text) == value:
            return text
    return repr(value)


def _parameters_section(cls: type) -> list[str]:
    """The numpydoc Parameters section of a dataclass, from its fields.

    Type from the annotation, ``default=`` from the default, text from the
    nearest class in the MRO that declared the field with :func:`_param`.
    """
    lines = ["Parameters", "----------"]
    for f in fields(cls):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        head = f"{f.name} : {str(kind).replace(' | ', ' or ')}"
        if f.default is not MISSING:
            head += f", default={_literal(f.default)}"
        doc = next(
            (
                own.metadata["doc"]
                for klass in cls.__mro__
                if (own := vars(klass).get("__dataclass_fields__", {}).get(f.name))
                and "doc" in own.metadata
            ),
            "",
        )
        lines.append(head)
        lines.extend(
            textwrap.wrap(
                " ".join(doc.split()),
                width=76,
                initial_indent="    ",
                subsequent_indent="    ",
                break_on_hyphens=False,
                break_long_words=False,
            )
        )
    return lines


def _sections(lines: list[str]) -> list[int]:
    """Positions of the numpydoc section headers (a title over dashes)."""
    return [
        i
        for i in range(len(lines) - 1)
        if lines[i].strip() and lines[i + 1] == "-" * len(lines[i])
    ]


@dataclass_transform(kw_only_default=True, eq_default=False, field_specifiers=(field,))
class _DataclassEstimator(BaseEstimator):
    """A scikit-learn estimator whose parameters are keyword-only dataclass fields.

    Every subclass becomes a dataclass when it is defined (keyword-only, with
    scikit-learn's ``repr`` and identity equality, no pickling hook of its
    own): it declares its parameters as annotated class attributes, ``beta:
    float = 0.9``, or ``beta: float = _param(0.9, "doc")`` to document one.
    An annotated redeclaration changes a default; a redeclaration as a
    ``ClassVar`` removes the parameter. ``get_params``, ``set_params`` and
    ``clone`` read the generated ``__init__``. A docstring with no
    Parameters section gets one written from the fields.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own_init = "__init__" in vars(cls)
        params = {f.name for f in fields(cls)} if is_dataclass(cls) else set()
        unannotated = sorted(
            n
            for n in vars(cls)
            if n in params and n not in inspect.get_annotations(cls)
        )
        if unannotated and not own_init:
            raise TypeError(
                f"{cls.__name__} sets the parameter(s) {unannotated} without an "
                f"annotation, which leaves the default unchanged; write e.g. "
                f"`{unannotated[0]}: int = ...`."
            )
        doc = vars(cls).get("__doc__")
        dataclass(kw_only=True, repr=False, eq=False)(cls)
        if doc and not own_init:
            lines = inspect.cleandoc(doc).splitlines()
            headers = _sections(lines)
            if not any(lines[i] == "Parameters" for i in headers):
                at = headers[0] if headers else len(lines)
                section = [*_parameters_section(cls), ""]
                lines[at:at] = section if lines[at - 1] == "" else ["", *section]
                cls.__doc__ = "\n".join([*lines, ""])


class NetUnlearningMethod(_DataclassEstimator):
    """Base class of the approximate unlearning methods for nets.

    A method runs up to ``max_epochs`` unlearning epochs (one step per batch
    of forget rows, each step usually paired with a batch of retain rows),
    stops as soon as the forget rows look like rows never trained on, and
    then repairs utility with ``repair_epochs`` epochs of fine-tuning on the
    retain rows. The loop is
    :class:`~skunlearn.neural_net._schedule.UnlearningSchedule`.

    The stopping rule, with calibration rows (rows held out at ``fit`` or
    passed to ``unlearn``): the loss-threshold membership AUC of the forget
    rows against the calibration rows at most ``0.5 + tol`` and their
    accuracy at most the calibration rows' plus ``tol``, both widened by one
    standard error of their sampling noise (for forget rows whose class
    still has retained rows), and the accuracy on forget rows of classes
    with no retained row left at most ``class_tol``. The guards: the same
    quantities falling below the calibration rows' beyond ``tol`` and noise
    (over-forgetting), or the calibration rows' accuracy falling by more
    than 0.03 beyond noise, stop the loop and restore the best state seen;
    without calibration rows the guard is the accuracy on a fixed sample of
    retained rows, and the loop otherwise runs ``max_epochs`` epochs.

    The parameters of the loop are declared here, once. A method is a
    subclass (a keyword-only dataclass, as this class is) that declares its
    own parameters and the defaults it changes as annotated class
    attributes, and implements :meth:`_step` (one optimisation step) or
    ``_epoch`` (one epoch); it may implement ``_setup`` (state built once per
    call) and ``_after_backward`` (between ``backward`` and the step).

    See Also
    --------
    ResetRepair : The default method.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs a method.

    Examples
    --------
    A method of one's own: each step ascends the forget rows' loss at half
    the weight of the retain rows' loss.

    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import (
    ...     NetUnlearningMethod,
    ...     UnlearningNeuralNetClassifier,
    ... )
    >>> class HalfAscent(NetUnlearningMethod):
    ...     name = "half_ascent"
    ...     weight: float = 0.5  # a parameter of its own
    ...     max_epochs: int = 2  # defaults it changes
    ...     repair_epochs: int = 0
    ...     calibrate: bool = False
    ...     max_seconds: float | None = 60
    ...
    ...     def _step(self, ctx, optimizer, idx_f, epoch, state):
    ...         idx_r = ctx.retain_batch()
    ...         l_r = ctx.task_loss(ctx.module, ctx.X_retain[idx_r],
    ...                             ctx.y_retain[idx_r])
    ...         l_f = ctx.task_loss(ctx.module, ctx.X_forget[idx_f],
    ...                             ctx.y_forget[idx_f])
    ...         return l_r - self.weight * l_f
    >>> HalfAscent(weight=0.3)
    HalfAscent(weight=0.3)
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = UnlearningNeuralNetClassifier(
    ...     torch.nn.Linear(5, 2), criterion=torch.nn.CrossEntropyLoss,
    ...     max_epochs=5, lr=0.1, verbose=0, unlearn_method=HalfAscent(),
    ... ).fit(X, y)
    >>> details = net.unlearn(X[net.retain_rows_[:10]]).unlearn_history_[-1][
    ...     "details"
    ... ]
    >>> details["method"], details["epochs"]
    ('half_ascent', 2)
    """

    #: tasks the method supports
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    name: ClassVar[str] = "base"

    max_epochs: int = _param(
        10, "Most unlearning epochs (one step per batch of forget rows each)."
    )
    lr: float = _param(1e-3, "Adam learning rate.")
    batch_size: int | None = _param(
        None, "Rows per batch; None uses the net's ``batch_size``."
    )
    repair_epochs: int = _param(
        1, "Epochs of fine-tuning on retain rows after the forgetting phase."
    )
    tol: float = _param(
        0.02,
        "The forget rows look unseen (the stopping rule's target) when their "
        "membership AUC against the calibration rows is at most ``0.5 + tol`` "
        "and their accuracy at most the calibration rows' plus ``tol``, each "
        "plus one standard error.",
    )
    class_tol: float = _param(
        0.02,
        "The forget rows of fully removed classes look unseen when their "
        "accuracy is at most this.",
    )
    calibrate: bool = _param(
        True, "Use the stopping rule; False runs the epoch budget, ``max_epochs``."
    )
    max_seconds: float | None = _param(
        None,
        "Time budget of the forgetting phase (checked after each epoch). None: "
        f"{_DEFAULT_BUDGET:.0%} of the net's training time, as its skorch "
        "history records. A wall-clock budget can stop two runs after different "
        "epochs; for results that depend only on ``random_state``, set a large "
        "value.",
    )
    random_state: int = _param(
        0, "Seed of the batches and of every random draw (deterministic on CPU)."
    )

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

    def _make_optimizer(self, ctx):
        """Adam at ``lr`` over the student's parameters (fresh moments)."""
        return torch.optim.Adam(ctx.module.parameters(), lr=self.lr)

    # ----------------------------------------------------------- the loop
    def _check(self, ctx):
        self.check_task(ctx.task)
        for name in ("max_epochs", "repair_epochs"):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {v!r}.")
        if not (isinstance(self.lr, float | int) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}.")

    def check_task(self, task: str) -> None:
        """Raise ValueError if the method does not apply to ``task``.

        Parameters
        ----------
        task : {"classification", "regression"}
            The net's task.

        Raises
        ------
        ValueError
            If ``task`` is not in the method's ``tasks``; the message names
            the methods that apply.
        """
        if task not in self.tasks:
            raise ValueError(
                f"unlearn_method={self.name!r} does not apply to {task}; "
                f"use one of {sorted(m for m, c in METHODS.items() if task in c.tasks)}."  # noqa: E501
            )

    def run(self, ctx: UnlearningContext) -> dict[str, Any]:
        """Edit ``ctx.module`` in place; return a summary of what was done.

        The loop is :class:`~skunlearn.neural_net._schedule.UnlearningSchedule`:
        it stops when the forget rows look like the calibration rows, rolls
        back to the best state seen when they overshoot (look *less* like
        members than unseen rows do) or when accuracy falls, and raises
        :class:`FloatingPointError` on a non-finite loss or weight.

        Parameters
        ----------
        ctx : UnlearningContext
            The copies of the module and of the rows the net built for this
            call; ``ctx.module`` is edited in place.

        Returns
        -------
        summary : dict
            Epochs run and kept, whether the stopping rule was calibrated and
            reached, what stopped the loop, whether it rolled back, the
            membership AUC against the calibration rows at the end.
        """
        self._check(ctx)
        return UnlearningSchedule(self, ctx).run()


# --------------------------------------------------------------------- methods
class Finetune(NetUnlearningMethod):
    """Fine-tune on the retain rows only (catastrophic forgetting).

    Each step descends the task loss on a batch of retain rows (one step per
    batch of forget rows); the forget rows are never trained on, and the net
    drifts away from what it memorised of them. For classifiers and
    regressors.

    See Also
    --------
    GradientAscent : Ascends the forget rows' loss instead.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs the method.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import Finetune, UnlearningNeuralNetClassifier
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> method = Finetune(max_epochs=2, calibrate=False, max_seconds=60)
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method=method,
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('finetune', 2)
    """

    name = "finetune"
    tasks = ("classification", "regression")

    repair_epochs: int = 0

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        idx_r = ctx.retain_batch()
        return ctx.task_loss(ctx.module, ctx.X_retain[idx_r], ctx.y_retain[idx_r])


class GradientAscent(NetUnlearningMethod):
    """NegGrad: ascend the loss of the forget rows.

    Each step ascends the task loss on a batch of forget rows; the repair
    epochs then fine-tune on retain rows. For classifiers and regressors.

    See Also
    --------
    NegGradPlus : Ascends the forget loss and descends the retain loss.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs the method.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import GradientAscent, UnlearningNeuralNetClassifier
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> method = GradientAscent(max_epochs=2, calibrate=False, max_seconds=60)
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method=method,
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('gradient_ascent', 2)
    """

    name = "gradient_ascent"
    tasks = ("classification", "regression")

    lr: float = 1e-4

    def _step(self, ctx, optimizer, idx_f, epoch, state):
        return -ctx.task_loss(ctx.module, ctx.X_forget[idx_f], ctx.y_forget[idx_f])


class NegGradPlus(NetUnlearningMethod):
    """NegGrad+: minimise ``beta L_retain - (1 - beta) L_forget``.

    Each step pairs a batch of forget rows with a batch of retain rows: the
    forget loss goes up while the retain loss holds utility. For classifiers
    and regressors.

    See Also
    --------
    GradientAscent : The forget term alone.
    LossMatching : A calibrated NegGrad+.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs the method.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import NegGradPlus, UnlearningNeuralNetClassifier
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> method = NegGradPlus(max_epochs=2, calibrate=False, max_seconds=60, beta=0.9)
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method=method,
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('neggrad_plus', 2)
    """

    name = "neggrad_plus"
    tasks = ("classification", "regression")

    beta: float = _param(0.9, "Weight of the retain loss.")

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

    See Also
    --------
    BadTeacher : Distils from the original net and a random one.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs the method.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import SCRUB, UnlearningNeuralNetClassifier
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> method = SCRUB(max_epochs=2, calibrate=False, max_seconds=60, msteps=1)
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method=method,
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('scrub', 2)
    """

    name = "scrub"

    alpha: float = _param(0.5, "Weight of the distillation term on retain rows.")
    gamma: float = _param(1.0, "Weight of the cross-entropy on retain rows.")
    temperature: float = _param(4.0, "Distillation temperature ``T``.")
    msteps: int = _param(10, "Epochs that include max-steps.")

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

    See Also
    --------
    SCRUB : A student that disobeys its teacher on forget rows.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs the method.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import BadTeacher, UnlearningNeuralNetClassifier
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> method = BadTeacher(max_epochs=2, calibrate=False, max_seconds=60, tau=1.0)
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method=method,
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('bad_teacher', 2)
    """

    name = "bad_teacher"

    tau: float = _param(1.0, "Temperature of the targets and the student.")

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

    See Also
    --------
    RandomLabels : Random labels on every weight.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs the method.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import SalUn, UnlearningNeuralNetClassifier
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> method = SalUn(max_epochs=2, calibrate=False, max_seconds=60, threshold=0.5)
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method=method,
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('salun', 2)
    """

    name = "salun"

    threshold: float = _param(
        0.5, "Quantile of ``|grad|`` below which a weight is frozen."
    )
    alpha: float = _param(1.0, "Weight of the retain loss.")

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
    """L1-sparse (Jia et al. 2023): fine-tune on retain rows with a decaying L1 penalty.

    Minimises ``L_retain + gamma_t |theta|_1`` with ``gamma_t`` decaying
    linearly from ``gamma`` to 0 over ``max_epochs``.

    See Also
    --------
    Finetune : Fine-tuning without the penalty.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs the method.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import L1Sparse, UnlearningNeuralNetClassifier
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> method = L1Sparse(max_epochs=2, calibrate=False, max_seconds=60, gamma=5e-4)
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method=method,
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('l1_sparse', 2)
    """

    name = "l1_sparse"

    gamma: float = _param(
        5e-4, "Initial weight of the L1 penalty (summed over all weights)."
    )
    repair_epochs: int = 0

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

    See Also
    --------
    SalUn : Random labels on the salient weights only.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs the method.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import RandomLabels, UnlearningNeuralNetClassifier
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> method = RandomLabels(max_epochs=2, calibrate=False, max_seconds=60, alpha=1.0)
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method=method,
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('random_labels', 2)
    """

    name = "random_labels"

    alpha: float = _param(1.0, "Weight of the retain loss.")

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

    See Also
    --------
    RandomLabels : The classification counterpart.
    UnlearningNeuralNetRegressor : The net whose ``unlearn`` runs the method.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import GaussianRelabel, UnlearningNeuralNetRegressor
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X @ np.ones((5, 1))).astype(np.float32)
    >>> method = GaussianRelabel(max_epochs=2, calibrate=False, max_seconds=60)
    >>> net = UnlearningNeuralNetRegressor(
    ...     torch.nn.Linear(5, 1), max_epochs=5, verbose=0, unlearn_method=method
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('gaussian_relabel', 2)
    """

    name = "gaussian_relabel"
    tasks = ("regression",)

    alpha: float = _param(1.0, "Weight of the retain loss.")

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

    See Also
    --------
    NegGradPlus : Ascends every forget row's loss.
    ResetRepair : The default method.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs the method.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import LossMatching, UnlearningNeuralNetClassifier
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> method = LossMatching(max_epochs=2, calibrate=False, max_seconds=60, lam=0.5)
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method=method,
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('loss_matching', 2)
    """

    name = "loss_matching"
    tasks = ("classification", "regression")

    lam: float = _param(0.5, "Weight of the forget term.")
    retain_steps: int = _param(
        1,
        "Extra steps on retain rows only after each forget step: they hold "
        "utility while the forget rows move (fine-tuning *after* forgetting "
        "would let the net re-learn them).",
    )
    max_epochs: int = 20
    repair_epochs: int = 0

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


class ResetRepair(NetUnlearningMethod):
    """Reset the weights and retrain on the retained rows, under a budget.

    The default method. A net that memorised its training rows holds them in
    its weights in ways no edit aimed at the forget rows can find: after the
    net fits every row to zero loss, the forget rows' own losses say nothing
    about which of them a retrained net would get wrong, so methods that push
    their losses up (gradient ascent, NegGrad+, loss matching) misclassify
    the wrong rows and overshoot. This method never looks at the forget rows
    to train: it re-initialises the weights (keeping a share ``keep`` of
    the trained ones) and trains on the retained rows with the net's own
    optimiser and batch size, as ``fit`` did, for a small share of the
    training budget. With ``keep=0`` the forget rows cannot influence the
    new weights at all (only the stopping decision reads them), so the
    forget rows end up exactly as unseen rows are for this net, and they
    cannot overshoot; a net trained far past convergence (as memorising
    nets are) gets its accuracy back in a few epochs.

    The retrained net is the net's own recipe run on the retained rows, so
    the reset aims where that recipe ends: it trains with the net's
    optimiser at ``lr_scale`` times its rate (fresh weights take larger steps
    than trained ones) for its budget, ``max_epochs`` or ``max_seconds``,
    and keeps the last state. A memorising net's retraining then fits its
    retained rows almost as the trained net did, and its forget rows sit
    where a memorising net's unseen rows do; keeping the most accurate
    state instead would return an early-stopped net, more accurate than the
    retrained one and with its forget rows fitted better than the retrained
    net fits them (measured: 0.06-0.08 of forget accuracy above it on
    digits). How the result fits the retained rows against the trained net
    is in the history's details (``retain_fit``, ``trained_retain_fit``).

    With calibration rows (skorch's validation split kept at ``fit``, or
    ``X_calib`` passed to ``unlearn``), it first checks whether the forget
    rows already look like them (membership AUC and accuracy within ``tol``
    plus their noise, see :class:`~skunlearn.neural_net._schedule.StoppingRule`);
    if so the net is left unchanged: a net that generalises has little
    to forget. Otherwise it resets (after a short fine-tune, if
    ``finetune_epochs`` asks for one); past the budget, training goes on while the
    calibration accuracy is short of the trained net's beyond noise.
    Without calibration rows, it runs its budget and the net warns once,
    saying what to pass.

    See Also
    --------
    LossMatching : Edits the net rather than resetting it.
    UnlearningNeuralNetClassifier : The net whose ``unlearn`` runs the method.

    Notes
    -----
    A class with no retained row left is learnt away as the retrained net
    never learns it: no retained row has its label. Past the budget,
    training goes on while the net still recognises such a class (see
    ``max_epochs``); the forget rows are not pushed away from it, which would
    fit them worse than unseen rows of the class (measured: a membership AUC
    0.06 below the retrained net's).

    Parameters of modules without a ``reset_parameters`` method (raw
    ``nn.Parameter`` of a custom module) cannot be re-initialised and are
    kept as trained; the history's details list them in ``not_reset``.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunlearn.neural_net import ResetRepair, UnlearningNeuralNetClassifier
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> method = ResetRepair(max_epochs=2, calibrate=False, max_seconds=60, keep=0.0)
    >>> net = UnlearningNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1,
    ...     verbose=0, unlearn_method=method,
    ... ).fit(X, y)
    >>> X_forget = X[net.retain_rows_[:10]]  # rows the net trained on
    >>> details = net.unlearn(X_forget).unlearn_history_[-1]["details"]
    >>> details["method"], details["epochs"]
    ('reset_repair', 2)
    """

    name = "reset_repair"
    tasks = ("classification", "regression")

    # no repair phase: the retraining is the repair
    repair_epochs: ClassVar[int] = 0  # type: ignore[misc]
    max_epochs: int | None = _param(  # type: ignore[assignment]
        None,
        "Most retraining epochs (passes over the retained rows); None: "
        f"{_RESET_SHARE:.0%} of the epochs the net was trained for, at least 2. "
        "Past it, training goes on while a class with no retained row left is "
        "still recognised, up to the net's own number of epochs.",
    )
    lr: float | None = _param(  # type: ignore[assignment]
        None,
        "Learning rate; None: the net's times ``lr_scale`` (its optimiser is "
        "used either way).",
    )
    lr_scale: float = _param(
        3.0,
        "With ``lr=None``, the retraining's rate is the net's times this: "
        "fresh weights take larger steps than trained ones, and a memorising "
        "net's retraining must fit its rows as the trained net did in a "
        "tenth of the epochs. If the first epoch at that rate does not lower "
        "the retained rows' loss, the retraining starts again from the same "
        "fresh weights at the net's own rate (``lr_retried`` in the "
        "history's details).",
    )
    max_seconds: float | None = _param(
        None,
        f"Time budget; None: {_RESET_TIME_SHARE:.0%} of the net's training time "
        "times the share of its training rows retained (about "
        f"{_RESET_TIME_SHARE:.0%} of retraining), evaluation included. Checked "
        "after each epoch; as ``max_epochs``, passed while a removed class is "
        "still recognised, or while (with calibration rows) the best state's "
        "calibration accuracy is below the trained net's beyond noise: training "
        "then goes on, up to the net's own number of epochs, and the history's "
        "details say so (``utility_short``).",
    )
    keep: float = _param(
        0.0,
        "Share of the trained weights kept: the new weights are ``keep * "
        "trained + (1 - keep) * fresh``. 0 is a full reset: the forget rows "
        "leave no trace in the weights. Values toward 1 keep more of the net "
        "and recover faster on a short budget, and leave more of the forget "
        "rows in it (measured on memorising nets, medians of three seeds: 0.3 "
        "leaves the membership AUC 0.035 above the retrained net's, 0 leaves "
        "0.014; on nets that generalise, trained 30 epochs, 0 costs 0.02 of "
        "test accuracy, 0.3 costs 0.01).",
    )
    match_confidence: bool = _param(
        True,
        "Classifiers: after retraining, scale the output layer (the module's "
        "last ``Linear``, when the output is checked to be linear in it) so "
        "that the retained rows' mean top-class log-odds equal the trained "
        "net's. Predictions do not change; the confidence does: a net "
        "retrained for a tenth of its epochs is far less sure of itself than "
        "the retrained net, which a per-example attack reads as a trace "
        "(``confidence_scale`` in the history's details; None when skipped).",
    )
    finetune_epochs: int = _param(
        0,
        "With calibration rows, first train the trained net (no reset) on the "
        "retained rows for up to this many epochs, and keep it if the forget "
        "rows then look unseen with no loss of calibration accuracy beyond "
        "noise; otherwise the net is put back and reset. 0 (the default) "
        "resets at once: measured on nets that generalise (digits, "
        "breast_cancer and a generated set, ten seeds each; the demo's net, "
        "seven), one epoch made the forget rows look unseen in 2 of the 24 "
        "requests whose rows did not already, and cost the 22 others an epoch "
        "(about 4% of retraining) for about the same accuracy. A "
        "request that removes a whole class always resets (the retrained "
        "net never learns it).",
    )

    def _check(self, ctx):
        self.check_task(ctx.task)
        v = self.finetune_epochs
        if not isinstance(v, int | np.integer) or v < 0:
            raise ValueError(f"finetune_epochs must be an int >= 0, got {v!r}.")
        if not (isinstance(self.keep, float | int) and 0 <= self.keep < 1):
            raise ValueError(f"keep must be in [0, 1), got {self.keep!r}.")
        v = self.max_epochs
        # (no epoch after a reset would leave a freshly initialised net)
        if v is not None and (not isinstance(v, int | np.integer) or v < 1):
            raise ValueError(f"max_epochs must be None or an int >= 1, got {v!r}.")
        if self.lr is not None and not (
            isinstance(self.lr, float | int) and self.lr > 0
        ):
            raise ValueError(f"lr must be None or a positive number, got {self.lr!r}.")
        if not (isinstance(self.lr_scale, float | int) and self.lr_scale > 0):
            raise ValueError(
                f"lr_scale must be a positive number, got {self.lr_scale!r}."
            )

    def _make_optimizer(self, ctx, scale=1.0):
        if ctx.make_optimizer is None:
            optimizer = torch.optim.Adam(ctx.module.parameters(), lr=self.lr or 1e-3)
        else:
            optimizer = ctx.make_optimizer(ctx.module, lr=self.lr)
        for group in optimizer.param_groups:
            group["lr"] *= scale
        return optimizer

    def _n_epochs(self, ctx):
        if self.max_epochs is not None:
            return int(self.max_epochs)
        if not ctx.fit_epochs:
            return 10
        return max(2, math.ceil(_RESET_SHARE * ctx.fit_epochs))

    def _reset(self, ctx, keep):
        """Re-initialise the student in place; the names of weights left as are."""
        before = {k: p.detach().clone() for k, p in ctx.module.named_parameters()}
        fresh = copy.deepcopy(ctx.module)
        for m in fresh.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        with torch.no_grad():
            for p, q in zip(ctx.module.parameters(), fresh.parameters()):
                p.mul_(keep).add_(q, alpha=1 - keep)
            # buffers (batch-norm statistics) follow the fresh module
            for b, c in zip(ctx.module.buffers(), fresh.buffers()):
                b.copy_(c)
        fresh_state = dict(fresh.named_parameters())
        return [
            k
            for k, v in before.items()
            if torch.equal(v, fresh_state[k].detach()) and v.numel()
        ]

    def _epoch(self, ctx, optimizer, epoch, state):
        ctx.module.train()
        for idx in ctx.retain_epoch():
            optimizer.zero_grad(set_to_none=True)
            ctx.task_loss(ctx.module, ctx.X_retain[idx], ctx.y_retain[idx]).backward()
            optimizer.step()

    def _fit(self, ctx):
        """How the current net fits the retained rows (a fixed sample).

        ``(accuracy, mean loss)``; accuracy is None for regression.
        """
        idx = ctx._retain_eval_rows()
        losses, correct = ctx._losses(ctx.X_retain[idx], ctx.y_retain[idx])
        acc = float(correct.mean()) if correct is not None else None
        return acc, float(losses.mean())

    @staticmethod
    def _eval_output(ctx, X):
        """The module's output for ``X`` in eval mode, without gradients."""
        was = ctx.module.training
        ctx.module.eval()
        try:
            with torch.no_grad():
                return ctx.output(ctx.module, X)
        finally:
            ctx.module.train(was)

    @staticmethod
    def _output_layer(ctx, X):
        """The module's last ``Linear`` layer, if the output is linear in it.

        Checked, not assumed: doubling that layer's weights and bias must
        double the output (a softmax or any layer after it fails the check).
        """
        linears = [m for m in ctx.module.modules() if isinstance(m, torch.nn.Linear)]
        if not linears:
            return None
        layer = linears[-1]
        out = ResetRepair._eval_output(ctx, X)
        with torch.no_grad():
            for p in layer.parameters():
                p.mul_(2)  # a power of two: halving restores it exactly
        out2 = ResetRepair._eval_output(ctx, X)
        with torch.no_grad():
            for p in layer.parameters():
                p.div_(2)
        if out2.shape != out.shape or not torch.allclose(
            out2, 2 * out, rtol=1e-4, atol=1e-5
        ):
            return None
        return layer

    @staticmethod
    def _top_log_odds(ctx, out):
        """Mean log-odds ``log p - log(1 - p)`` of each row's top class."""
        lp = ctx._to_log_proba(out).double()
        top, arg = lp.max(1)
        rest = lp.scatter(1, arg[:, None], float("-inf")).logsumexp(1)
        return float((top - rest).mean())

    def _confidence_rows(self, ctx):
        """Rows whose confidence is matched: the calibration rows (as unseen
        by the trained net as the forget rows are by the retrained one), or
        else a fixed sample of the retained rows."""
        if ctx.X_calib is not None and ctx.X_calib.shape[0]:
            return ctx.X_calib
        return ctx.X_retain[ctx._retain_eval_rows()]

    def _match_confidence(self, ctx, target):
        """Scale the output layer so that the rows' confidence is the trained
        net's; the scale (None if the output is not linear in a last
        ``Linear`` layer)."""
        X = self._confidence_rows(ctx)
        layer = self._output_layer(ctx, X[:64])
        if layer is None:
            return None
        out = self._eval_output(ctx, X).double()
        lo, hi = math.log(1 / 16), math.log(64)  # the scale's range
        if not (
            self._top_log_odds(ctx, out * math.exp(lo))
            <= target
            <= self._top_log_odds(ctx, out * math.exp(hi))
        ):
            return None
        for _ in range(40):  # the top class's odds grow with the scale
            mid = (lo + hi) / 2
            if self._top_log_odds(ctx, out * math.exp(mid)) < target:
                lo = mid
            else:
                hi = mid
        scale = math.exp((lo + hi) / 2)
        with torch.no_grad():
            for p in layer.parameters():
                p.mul_(scale)
        return scale

    def _short_of(self, ctx, stats, start):
        """Why the repaired net is not yet as accurate as the trained one.

        A reset net relearns from scratch: while its calibration accuracy
        (regression: loss) is more than ``tol / 2`` plus its standard error
        short of the trained net's, it is still learning what the retrained
        net would know.
        """
        if "calib_correct" in stats and "calib_correct" in start:
            # rows of a removed class: the retrained net gets them wrong too
            keep = np.ones(stats["calib_correct"].size, dtype=bool)
            if ctx.removed is not None and bool(ctx.removed.any()):
                gone = ctx.y_forget[ctx.removed].unique().cpu().numpy()
                keep = ~np.isin(ctx.y_calib.cpu().numpy(), gone)
            if not keep.any():
                return None
            now_i = stats["calib_correct"][keep]
            before_i = start["calib_correct"][keep]
            now, before = float(now_i.mean()), float(before_i.mean())
            # beyond noise: the paired difference's standard error
            se = float(np.std(now_i - before_i) / np.sqrt(now_i.size))
            if now < before - self.tol / 2 - se:
                return (
                    f"calibration accuracy {now:.3f} below the trained net's "
                    f"{before:.3f}"
                )
            return None
        if "calib_loss" in stats and "calib_loss" in start:
            if stats["calib_loss"] > start["calib_loss"] * (1 + self.tol) + self.tol:
                return (
                    f"calibration loss {stats['calib_loss']:.4g} above the "
                    f"trained net's {start['calib_loss']:.4g}"
                )
        return None

    def _finetune_first(self, ctx, sched, start, summary):
        """Train the trained net on the retained rows for a few epochs.

        True (the net kept as it ends) when the forget rows then look unseen
        and the calibration accuracy did not fall beyond noise; otherwise the
        net is put back and False returned.
        """
        rule = sched.rule
        before = _snapshot(ctx.module)
        optimizer = self._make_optimizer(ctx)
        for epoch in range(1, int(self.finetune_epochs) + 1):
            t0 = time.perf_counter()
            self._epoch(ctx, optimizer, epoch - 1, state=None)
            stats = sched.evaluate(epoch, "finetune", t0, retain=False)
            if rule.utility_lost(stats, start) or rule.overshoot(stats):
                break
            if rule.reached(stats):
                summary.update(
                    epochs=epoch,
                    kept_epoch=epoch,
                    finetune_epochs=epoch,
                    stopped_by="forget rows look unseen after fine-tuning",
                    target_reached=True,
                    calibration_auc=stats.get("mia_auc"),
                    calibration_auc_se=stats.get("mia_se"),
                )
                for p in ctx.module.parameters():
                    p.grad = None
                return True
        ctx.module.load_state_dict(before)
        summary["finetune_epochs"] = epoch
        return False

    def _retrain(self, ctx, sched, start, summary):
        """Reset, then train on the retained rows until the budget is spent.

        Past the budget, training goes on (up to the net's own number of
        epochs) while a removed class is still recognised or the calibration
        accuracy is short of the trained net's beyond noise. Returns the last
        evaluation's statistics.
        """
        calibrated = sched.calibrated()
        has_calib = calibrated and ctx.X_calib is not None and ctx.X_calib.shape[0]
        n_epochs = self._n_epochs(ctx)
        most = (
            n_epochs
            if self.max_epochs is not None
            else max(n_epochs, ctx.fit_epochs or 0)
        )
        budget = self.max_seconds
        if budget is None and ctx.fit_seconds:
            # retraining costs about the fit's time per retained row
            n_r, n_f = ctx.X_retain.shape[0], ctx.X_forget.shape[0]
            budget = _RESET_TIME_SHARE * ctx.fit_seconds * n_r / max(1, n_r + n_f)
        target = self._fit(ctx)
        confidence = None
        if self.match_confidence and ctx.task == "classification":
            out = self._eval_output(ctx, self._confidence_rows(ctx))
            confidence = self._top_log_odds(ctx, out)
        t0 = time.perf_counter()
        summary["not_reset"] = self._reset(ctx, float(self.keep))
        scale = float(self.lr_scale) if self.lr is None else 1.0
        fresh = fit0 = None
        if scale != 1:
            # the fresh weights and their loss, to start again at the net's rate
            fresh, fit0 = _snapshot(ctx.module), self._fit(ctx)
        optimizer = self._make_optimizer(ctx, scale)
        stats = start
        if ctx.verbose:
            stats = sched.evaluate(0, "reset", t0, retain=False)
        epochs, short, pending, epoch_time = 0, None, False, 0.0
        while epochs < most:
            if (
                epochs
                and not (pending or short)
                and budget is not None
                and sched.elapsed() + epoch_time > budget
            ):
                # the next epoch would end past the budget
                summary["time_budget_hit"] = True
                summary["stopped_by"] = "time budget"
                break
            t0 = time.perf_counter()
            epochs += 1
            self._epoch(ctx, optimizer, epochs - 1, state=None)
            if epochs == 1 and scale != 1 and not self._fit(ctx)[1] < fit0[1]:
                # The faster rate did not lower the retained rows' loss (or
                # overflowed): start again from the same fresh weights at the
                # net's own rate.
                ctx.module.load_state_dict(fresh)
                scale, epochs = 1.0, 0
                optimizer = self._make_optimizer(ctx, scale)
                summary["lr_retried"] = True
                continue
            if calibrated or ctx.verbose:
                stats = sched.evaluate(epochs, "retrain", t0, retain=False)
            else:
                # nothing to compare with: only the numbers are checked
                sched.check_weights(epochs)
            epoch_time = time.perf_counter() - t0
            pending = bool(
                calibrated
                and "removed_acc" in stats
                and stats["removed_acc"] > self.class_tol
            )
            short = self._short_of(ctx, stats, start) if has_calib else None
            if pending or short:
                if budget is not None and sched.elapsed() > budget:
                    summary["time_budget_hit"] = True
                continue
            if epochs >= n_epochs:
                summary["stopped_by"] = "epoch budget"
                break
        if epochs > n_epochs:
            summary["repair_epochs"] = epochs - n_epochs
        if short:
            summary["utility_short"] = short
        fit = self._fit(ctx)
        summary.update(
            epochs=epochs,
            kept_epoch=epochs,
            lr_scale=scale,
            retain_fit=fit[0] if fit[0] is not None else fit[1],
            trained_retain_fit=target[0] if target[0] is not None else target[1],
        )
        if confidence is not None:
            summary["confidence_scale"] = self._match_confidence(ctx, confidence)
            t0 = time.perf_counter()
            stats = sched.evaluate(epochs, "confidence", t0, retain=False)
        elif not (calibrated or ctx.verbose):
            stats = sched.evaluate(epochs, "retrain", t0, retain=False)
        return stats

    def run(self, ctx: UnlearningContext) -> dict[str, Any]:
        """Reset and retrain on the retained rows; a summary.

        Parameters
        ----------
        ctx : UnlearningContext
            The copies of the module and of the rows the net built for this
            call; ``ctx.module`` is edited in place.

        Returns
        -------
        summary : dict
            Epochs run, whether the stopping rule was calibrated and reached,
            what stopped the loop, whether it hit the time budget, the learning
            rate's scale used (``lr_scale``; ``lr_retried`` when the first
            epoch at the faster rate failed), how the net fits the retained
            rows against the trained net (``retain_fit``,
            ``trained_retain_fit``: accuracy, regression: loss, on a fixed
            sample) and the weights that could not be reset (``not_reset``).
        """
        self._check(ctx)
        sched = UnlearningSchedule(self, ctx)
        rule = sched.rule
        calibrated = sched.calibrated()
        has_calib = calibrated and ctx.X_calib is not None and ctx.X_calib.shape[0]
        stats = sched.evaluate(0, "start", time.perf_counter(), retain=False)
        summary: dict[str, Any] = {
            "epochs": 0,
            "kept_epoch": 0,
            "repair_epochs": 0,
            "calibrated": calibrated,
            "stopped_by": None,
            "rolled_back": False,
            "time_budget_hit": False,
        }
        if calibrated and rule.reached(stats):
            summary.update(
                target_reached=True,
                stopped_by="forget rows already look unseen",
                calibration_auc=stats.get("mia_auc"),
                calibration_auc_se=stats.get("mia_se"),
            )
            return summary
        removes_class = ctx.removed is not None and bool(ctx.removed.any())
        if has_calib and self.finetune_epochs and not removes_class:
            # A net that generalises holds little of the forget rows: a short
            # fine-tune on the retained rows often makes them look unseen
            # with no loss of accuracy. Kept only if so; else the reset.
            if self._finetune_first(ctx, sched, stats, summary):
                return summary
        stats = self._retrain(ctx, sched, stats, summary)
        for p in ctx.module.parameters():
            p.grad = None
        summary.update(
            target_reached=bool(calibrated and rule.reached(stats)),
            calibration_auc=stats.get("mia_auc"),
            calibration_auc_se=stats.get("mia_se"),
        )
        return summary


METHODS: dict[str, type[NetUnlearningMethod]] = {
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
        ResetRepair,
    )
}


def get_method(
    method: str | type[NetUnlearningMethod] | NetUnlearningMethod,
    params: Mapping[str, Any] | None = None,
) -> NetUnlearningMethod:
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
