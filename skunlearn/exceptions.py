"""Exceptions and warnings raised by skunlearn."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

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

    See Also
    --------
    UnknownRowsError : Some rows to forget were never seen in training.
    AmbiguousRowsError : A row to forget matches rows with different targets.
    ForgetAllRowsError : The request would remove every training row.
    ParametersChangedError : The parameters changed since fit.
    CheckpointError : A SISA checkpoint file cannot be used.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable, UnlearningError
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 2.0])
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> try:
    ...     model.unlearn([[5.0]])
    ... except UnlearningError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    UnknownRowsError True
    >>> len(model.unlearn_history_)  # nothing was forgotten
    0
    """


class CheckpointError(UnlearningError):
    """A SISA checkpoint file cannot be used: nothing was forgotten.

    Raised when the checkpoint directory is not named (a loaded model does not
    take it from the file), when a file is missing, is not a regular file, or
    does not match the digest the model stores for it (tampered, or another
    model's), when the model lists a name outside its own pattern, and for the
    pickle checkpoints of models saved by earlier releases, before checkpoints
    became skops files. The model is unchanged.

    See Also
    --------
    skunlearn.ensemble.SISAClassifier.set_checkpoint_dir : Name the directory
        of a model's checkpoint files.
    UnlearningError : The base class of skunlearn's errors.

    Examples
    --------
    A model read back from its bytes does not know where its checkpoint files
    are until it is told:

    >>> import pickle
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skunlearn.ensemble import SISAClassifier
    >>> from skunlearn.exceptions import CheckpointError
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 2)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     sisa = SISAClassifier(
    ...         SGDClassifier(random_state=0), n_shards=2, n_slices=2,
    ...         checkpoint_dir=directory, random_state=0,
    ...     ).fit(X, y)
    ...     copy = pickle.loads(pickle.dumps(sisa))
    ...     try:
    ...         copy.unlearn(X[:1], y[:1])
    ...     except CheckpointError:
    ...         print("directory not named")
    ...     copy = copy.set_checkpoint_dir(directory).unlearn(X[:1], y[:1])
    directory not named
    >>> len(copy.unlearn_history_)
    1
    """


class UnknownRowsError(UnlearningError):
    """Some rows of a forget request were never seen in training.

    Rows are matched by content, as a multiset: forgetting a row once removes
    one copy of it, and a row already forgotten is unknown afterwards. The
    message names the positions of the unknown rows, never their values.

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

    n_forget : int
        Number of rows in the forget set.

    See Also
    --------
    UnlearningError : The base class of skunlearn's errors.
    AmbiguousRowsError : A row to forget matches rows with different targets.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable, UnknownRowsError
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 2.0])
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> try:
    ...     model.unlearn([[1.0], [5.0], [7.0]])
    ... except UnknownRowsError as exc:
    ...     print(exc.positions, exc.n_forget)
    [1 2] 3
    """

    def __init__(self, positions: ArrayLike, n_forget: int) -> None:
        self.positions = np.asarray(positions, dtype=np.intp)
        self.n_forget = int(n_forget)
        shown = ", ".join(str(int(p)) for p in self.positions[:20])
        more = "" if self.positions.size <= 20 else f", ... ({self.positions.size})"
        super().__init__(
            f"{self.positions.size} of the {self.n_forget} rows to forget were not "
            f"seen in training (or were already forgotten): positions [{shown}{more}]"
            " in X_forget. Nothing was forgotten."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.positions, self.n_forget))


class AmbiguousRowsError(UnlearningError):
    """A forget row matches training rows with different targets.

    Raised when ``y_forget`` is omitted and a row of ``X_forget`` occurs in the
    training data with more than one target value: which copy to forget would
    be a guess, so nothing is forgotten.

    See Also
    --------
    UnlearningError : The base class of skunlearn's errors.
    UnknownRowsError : Some rows to forget were never seen in training.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import AmbiguousRowsError, Unlearnable
    >>> X = np.array([[0.0], [0.0], [1.0]])
    >>> y = np.array([0.0, 1.0, 1.0])
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> try:
    ...     model.unlearn([[0.0]])
    ... except AmbiguousRowsError:
    ...     print("say which target")
    say which target
    >>> model.unlearn([[0.0]], [1.0]).unlearn_history_[-1]["n_removed"]
    1
    """


class ForgetAllRowsError(UnlearningError):
    """The forget request would remove every remaining training row.

    A model fitted on no data does not exist; fit a new estimator instead.

    See Also
    --------
    UnlearningError : The base class of skunlearn's errors.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import ForgetAllRowsError, Unlearnable
    >>> X, y = np.array([[0.0], [1.0]]), np.array([0.0, 1.0])
    >>> model = Unlearnable(Ridge()).fit(X, y)
    >>> try:
    ...     model.unlearn(X)
    ... except ForgetAllRowsError:
    ...     print("nothing would remain")
    nothing would remain
    """


class ParametersChangedError(UnlearningError):
    """The model's parameters changed since it was fit.

    A fitted model stands for ``clone(model).fit(X, y)`` with the parameters it
    was fit with. After ``set_params`` changed one that shapes the model, no
    forgetting can both keep the fitted model and stand for a refit with the
    new parameters, so the request is refused: fit again, or set the
    parameters back. Parameters that only say how the work runs (``n_jobs``,
    ``verbose``) may change freely.

    See Also
    --------
    UnlearningError : The base class of skunlearn's errors.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn import ParametersChangedError
    >>> from skunlearn.tree import UnlearningTreeClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0, 0, 1, 1])
    >>> tree = UnlearningTreeClassifier(random_state=0).fit(X, y)
    >>> tree = tree.set_params(max_depth=1)
    >>> try:
    ...     tree.unlearn(X[:1], y[:1])
    ... except ParametersChangedError:
    ...     print("fit again, or set max_depth back")
    fit again, or set max_depth back
    >>> tree.set_params(max_depth=None).unlearn(X[:1], y[:1]).predict([[0.0]])
    array([0])
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

    See Also
    --------
    skunlearn.strategies.ClosedFormLinearStrategy : The closed-form strategy
        that raises it.

    Examples
    --------
    Forgetting a row that carried almost all of a feature's variance:

    >>> import warnings
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skunlearn import NumericalDriftWarning, Unlearnable
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(20, 2), rng.randn(20)
    >>> X[0, 0] = 1e8
    >>> model = Unlearnable(LinearRegression()).fit(X, y)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     model = model.unlearn(X[:1])
    >>> [w.category.__name__ for w in caught]
    ['NumericalDriftWarning']
    >>> model.unlearn_history_[-1]["exact"]
    False
    """
