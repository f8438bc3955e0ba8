"""A scorer that measures forgetting, for ``GridSearchCV`` and ``cross_validate``."""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
import numbers
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils import check_random_state

from .._ledger import row_fingerprints
from ..base import is_unlearner
from ..utils._sklearn_compat import (
    Interval,
    RealNotInt,
    StrOptions,
    _num_samples,
    _safe_indexing,
    validate_params,
)
from ._membership import ATTACKS, forget_score

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike
    from ._membership import Attack

__all__ = ["make_forget_scorer"]


def _find_ledger(estimator):
    """The training ledger of a fitted unlearner, or of the unlearner it wraps."""
    seen = set()
    while estimator is not None and id(estimator) not in seen:
        seen.add(id(estimator))
        attributes = getattr(estimator, "__dict__", {})
        ledger = attributes.get("ledger_")
        if ledger is not None:
            return ledger
        estimator = getattr(estimator, "__dict__", {}).get("estimator_")
    return None


def _training_rows(estimator, X_pool, y_pool):
    """The retained training rows of ``estimator``: ``(X, y)``.

    From the ledger when it keeps the rows; otherwise the rows of the pool
    whose content matches a retained training row (multiset: as many copies
    as were trained on).
    """
    ledger = _find_ledger(estimator)
    if ledger is None:
        raise ValueError(
            f"{type(estimator).__name__} has no training ledger; the forget scorer "
            "needs a fitted skunlearn unlearner."
        )
    if ledger.X is not None:
        X, y, _ = ledger.take(ledger.retained())
        return X, y
    if X_pool is None:
        raise ValueError(
            f"{type(estimator).__name__} does not keep its training rows, so the "
            "scorer cannot pick rows to forget by itself; pass the data given to "
            "the search: make_forget_scorer(X, y)."
        )
    ledger_fp = ledger.fingerprints()[ledger.alive]
    available = Counter(map(bytes, ledger_fp))
    # the ledger's fingerprints are keyed: the pool's under the same key
    pool_fp = row_fingerprints(X_pool, key=ledger.fingerprint_key)
    chosen = []
    for i, key in enumerate(map(bytes, pool_fp)):
        if available.get(key, 0) > 0:
            available[key] -= 1
            chosen.append(i)
    if not chosen:
        raise ValueError("None of the rows given to make_forget_scorer was trained on.")
    idx = np.asarray(chosen)
    y = None if y_pool is None else _safe_indexing(y_pool, idx)
    return _safe_indexing(X_pool, idx), y


class _ForgetScorer:
    """Callable ``scorer(estimator, X, y)``; see :func:`make_forget_scorer`."""

    def __init__(
        self,
        X: MatrixLike | None,
        y: ArrayLike | None,
        forget_size: float,
        attack: Attack,
        random_state: int | np.random.RandomState | None,
    ) -> None:
        self.X = X
        self.y = y
        self.forget_size = forget_size
        self.attack = attack
        self.random_state = random_state

    def __call__(
        self, estimator: Any, X: MatrixLike, y: ArrayLike | None = None, **kwargs: Any
    ) -> float:
        if not is_unlearner(estimator):
            raise TypeError(
                f"The forget scorer needs an unlearning estimator; got "
                f"{type(estimator).__name__}."
            )
        X_train, y_train = _training_rows(estimator, self.X, self.y)
        n = _num_samples(X_train)
        if isinstance(self.forget_size, numbers.Integral):
            k = int(self.forget_size)
        else:
            k = int(round(self.forget_size * n))
        k = min(max(k, 1), n - 1)
        if k < 1:
            raise ValueError(
                "The model was trained on a single row: nothing to forget."
            )
        rng = check_random_state(self.random_state)
        idx = np.sort(rng.choice(n, size=k, replace=False))
        X_f = _safe_indexing(X_train, idx)
        y_f = None if y_train is None else _safe_indexing(y_train, idx)
        # Forget on a copy: the search's fitted estimator stays as it was.
        unlearned = copy.deepcopy(estimator).unlearn(X_f, y_f)
        return forget_score(
            unlearned, X_f, y_f, X, y, attack=self.attack, random_state=0
        )

    def __repr__(self) -> str:
        return (
            f"make_forget_scorer(forget_size={self.forget_size!r}, "
            f"attack={self.attack!r}, random_state={self.random_state!r})"
        )


@validate_params(
    {
        "X": ["array-like", "sparse matrix", None],
        "y": ["array-like", None],
        "forget_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "attack": [StrOptions(set(ATTACKS))],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_forget_scorer(
    X: MatrixLike | None = None,
    y: ArrayLike | None = None,
    *,
    forget_size: float = 0.1,
    attack: Attack = "loss",
    random_state: int | np.random.RandomState | None = 0,
) -> Callable[..., float]:
    """Make a scorer that measures how well a fitted unlearner forgets.

    Called as ``scorer(estimator, X_val, y_val)`` (as ``GridSearchCV`` and
    ``cross_validate`` do), it copies the fitted unlearning estimator, makes
    the copy forget a seeded random sample of its own training rows, and
    returns :func:`forget_score` of the copy with the validation rows as the
    never-seen rows. The estimator itself is not modified. Use it to tune
    unlearning hyperparameters: ``GridSearchCV(..., scoring={"forget":
    make_forget_scorer(X, y), ...}, refit="forget")``.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features), default=None
        The data given to the search. Only needed when the estimator does not
        keep its training rows (most exact strategies keep only
        fingerprints): the training rows are then the rows of ``X`` that the
        model was fit on, recognised by content.

    y : array-like of shape (n_samples,), default=None
        The targets given to the search, with ``X``.

    forget_size : float or int, default=0.1
        Fraction (float in (0, 1)) or number (int) of the training rows to
        forget.

    attack : {"loss", "confidence", "entropy", "logistic"}, default="loss"
        Membership attack of :func:`forget_score`.

    random_state : int, RandomState instance or None, default=0
        Seed of the choice of rows to forget; an int gives every candidate
        the same draw (given the same training rows).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float`` in [0, 1], greater is better.

    See Also
    --------
    forget_score : The score computed on the unlearned copy.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skunlearn import Unlearnable
    >>> from skunlearn.metrics import make_forget_scorer
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(120, 4), rng.randn(120)
    >>> search = GridSearchCV(
    ...     Unlearnable(Ridge()),
    ...     {"estimator__alpha": [0.1, 10.0]},
    ...     scoring={"forget": make_forget_scorer(X, y), "r2": "r2"},
    ...     refit="forget",
    ...     cv=3,
    ... ).fit(X, y)
    >>> bool(0 <= search.best_score_ <= 1)
    True
    """
    return _ForgetScorer(X, y, forget_size, attack, random_state)
