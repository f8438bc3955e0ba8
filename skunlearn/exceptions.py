"""Exceptions and warnings raised by skunlearn."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

__all__ = [
    "AmbiguousRowsError",
    "CheckpointError",
    "ForgetAllRowsError",
    "NumericalDriftWarning",
    "ParametersChangedError",
    "UnknownRowsError",
    "UnlearningError",
]


class UnlearningError(ValueError):
    """Base class of the errors raised when a forget request cannot be applied.

    It subclasses :class:`ValueError`, so code written for scikit-learn's input
    validation errors catches it too. Whenever it is raised, the estimator is
    exactly as it was before the call.
    """


class CheckpointError(UnlearningError):
    """A SISA checkpoint file cannot be used: nothing was forgotten.

    Raised when the checkpoint directory is not named (a loaded model does not
    take it from the file), when a file is missing, is not a regular file, or
    does not match the digest the model stores for it (tampered, or another
    model's), when the model lists a name outside its own pattern, and for the
    pickle checkpoints of models saved by earlier releases, before checkpoints
    became skops files. The model is unchanged.
    """


class UnknownRowsError(UnlearningError):
    """Some rows of a forget request were never seen in training.

    Parameters
    ----------
    positions : array-like of int
        Positions, in the forget set, of the rows that could not be matched
        with a remaining training row.

    n_forget : int
        Number of rows in the forget set.

    Attributes
    ----------
    positions : ndarray of int
        Positions, in the forget set, of the unknown rows.
    """

    def __init__(self, positions, n_forget):
        self.positions = np.asarray(positions, dtype=np.intp)
        self.n_forget = int(n_forget)
        shown = ", ".join(str(int(p)) for p in self.positions[:20])
        more = "" if self.positions.size <= 20 else f", ... ({self.positions.size})"
        super().__init__(
            f"{self.positions.size} of the {self.n_forget} rows to forget were not "
            f"seen in training (or were already forgotten): positions [{shown}{more}]"
            " in X_forget. Nothing was forgotten."
        )

    def __reduce__(self):
        return (type(self), (self.positions, self.n_forget))


class AmbiguousRowsError(UnlearningError):
    """A forget row matches training rows with different targets.

    Raised when ``y_forget`` is omitted and a row of ``X_forget`` occurs in the
    training data with more than one target value: which copy to forget would
    be a guess, so nothing is forgotten.
    """


class ForgetAllRowsError(UnlearningError):
    """The forget request would remove every remaining training row.

    A model fitted on no data does not exist; fit a new estimator instead.
    """


class ParametersChangedError(UnlearningError):
    """The model's parameters changed since it was fit.

    A fitted model stands for ``clone(model).fit(X, y)`` with the parameters it
    was fit with. After ``set_params`` changed one that shapes the model, no
    forgetting can both keep the fitted model and stand for a refit with the
    new parameters, so the request is refused: fit again, or set the
    parameters back. Parameters that only say how the work runs (``n_jobs``,
    ``verbose``) may change freely.
    """


class NumericalDriftWarning(UserWarning):
    """Accumulated rounding in downdated statistics may exceed the tolerance.

    Raised by strategies that subtract the forgotten rows from sufficient
    statistics when the removed mass is large compared with what remains, so
    that the result may drift from a refit by more than the stated tolerance.
    The closed-form linear strategy raises it when its error bound for a
    request exceeds ``1e-9`` (e.g. after forgetting a row that carried most
    of a feature's variance); the request is then recorded with
    ``exact=False`` in ``unlearn_history_``, and a refit on the retained rows
    makes the model exact again.
    """
