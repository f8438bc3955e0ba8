"""Membership inference against never-seen rows, and ``forget_score``.

A model that still remembers the rows it was asked to forget treats them
differently from rows it never saw: typically a lower loss. A membership
inference attack scores each row; the ROC AUC of that score separating the
forget rows (members) from never-seen rows measures what is left. 0.5 means
indistinguishable, which is what a model retrained without the rows gives
for rows drawn like the never-seen ones.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import is_classifier, is_clusterer, is_regressor
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedShuffleSplit, cross_val_score
from sklearn.utils import check_random_state
from sklearn.utils.validation import column_or_1d

from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _num_samples,
    validate_params,
)

if TYPE_CHECKING:
    from typing import Literal, TypeAlias

    from ..utils._typing import ArrayLike, Float64Array, MatrixLike

    #: The name of a membership attack (one of ``ATTACKS``).
    Attack: TypeAlias = Literal["loss", "confidence", "entropy", "logistic"]

__all__ = [
    "forget_score",
    "membership_inference_auc",
    "membership_inference_interval",
    "per_sample_loss",
    "simple_mia_score",
]

ATTACKS = ("loss", "confidence", "entropy", "logistic")
_TINY = np.finfo(np.float64).tiny


def _has_method(estimator, name):
    # ``available_if`` raises AttributeError inside ``hasattr``: this is the
    # scikit-learn way of asking whether the fitted model offers a method.
    try:
        return callable(getattr(estimator, name))
    except AttributeError:
        return False


def _task(estimator):
    """``"classification"``, ``"regression"`` or ``"clustering"``, from tags,
    then from methods."""
    if is_clusterer(estimator):
        return "clustering"
    if is_classifier(estimator):
        return "classification"
    if is_regressor(estimator):
        return "regression"
    if _has_method(estimator, "predict_proba") or hasattr(estimator, "classes_"):
        return "classification"
    return "regression"


def _true_class_columns(classes, y):
    """Column of each label of ``y`` in ``classes``; -1 for labels not in it."""
    classes = np.asarray(classes)
    y = np.asarray(y)
    try:
        order = np.argsort(classes, kind="stable")
        pos = np.searchsorted(classes[order], y)
        pos = np.clip(pos, 0, classes.size - 1)
        found = classes[order][pos] == y
        return np.where(found, order[pos], -1)
    except TypeError:  # mixed types: fall back to a dictionary
        lookup = {c: i for i, c in enumerate(classes.tolist())}
        return np.array([lookup.get(v, -1) for v in y.tolist()], dtype=np.intp)


def _proba_classes(estimator, n_columns):
    """The class of each column of ``estimator``'s ``predict_proba``.

    ``classes_`` when it has one entry per column. A skorch net has one
    column per output of its module, whatever labels ``fit`` saw: its labels
    are the column numbers ``0 .. n_columns - 1``, and ``classes_`` lists
    only those seen (a net fitted without one class has a column more than
    ``classes_`` has entries).
    """
    classes = np.asarray(estimator.classes_)
    if classes.size == n_columns:
        return classes
    if (
        classes.dtype.kind in "iu"
        and classes.size < n_columns
        and classes.size
        and classes.min() >= 0
        and classes.max() < n_columns
    ):
        return np.arange(n_columns, dtype=classes.dtype)
    raise ValueError(
        f"{type(estimator).__name__}.predict_proba gives {n_columns} columns but "
        f"classes_ has {classes.size} classes; cannot tell which column is which "
        "class."
    )


def _proba_loss(proba, cols):
    """Cross-entropy ``-log p_y`` computed without cancellation near ``p_y = 1``."""
    n = proba.shape[0]
    rows = np.arange(n)
    p_y = np.where(cols >= 0, proba[rows, np.maximum(cols, 0)], 0.0)
    other = proba.copy()
    other[rows[cols >= 0], cols[cols >= 0]] = 0.0
    p_wrong = other.sum(axis=1)
    # log((p_y + p_wrong) / p_y) equals -log p_y for normalised rows, and keeps
    # full precision when p_y is close to 1 (p_wrong is then small but exact).
    return np.log1p(p_wrong / np.maximum(p_y, _TINY))


def _margin_loss(scores, classes, cols):
    """Negative margin of the true class, for classifiers without probabilities."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        # Binary decision function: positive means classes[1].
        sign = np.where(cols == 1, 1.0, -1.0)
        loss = -sign * scores
        return np.where(cols >= 0, loss, np.abs(scores) + 1.0)
    n = scores.shape[0]
    rows = np.arange(n)
    true = np.where(cols >= 0, scores[rows, np.maximum(cols, 0)], -np.inf)
    others = scores.copy()
    others[rows[cols >= 0], cols[cols >= 0]] = -np.inf
    return np.where(cols >= 0, others.max(axis=1) - true, np.inf)


@validate_params(
    {
        "estimator": [HasMethods(["predict"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def per_sample_loss(estimator: Any, X: MatrixLike, y: ArrayLike | None) -> Float64Array:
    """Loss of a fitted estimator on each row.

    Classifiers: the cross-entropy ``-log p_y`` of the true label when the
    estimator has ``predict_proba``; otherwise the negative margin of the true
    class's decision function (``max_{k != y} f_k - f_y``), which orders rows
    the same way a loss would. Regressors: the squared error (averaged over
    outputs). Clusterers: the squared distance to the nearest cluster centre
    (``y`` is ignored), the quantity k-means minimises.

    Parameters
    ----------
    estimator : estimator object
        A fitted classifier or regressor.

    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Rows.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs) or None
        Their true targets (None for a clusterer).

    Returns
    -------
    loss : ndarray of shape (n_samples,)
        Non-negative for probabilities and squared errors; lower means the
        model fits the row better.

    See Also
    --------
    membership_inference_auc : Tells members from non-members by this loss.
    forget_score : Membership inference on the forgotten rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skunlearn.metrics import per_sample_loss
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 2.0])
    >>> model = LinearRegression().fit(X, y)
    >>> per_sample_loss(model, X, y + 1.0).round(6)
    array([1., 1., 1.])
    """
    task = _task(estimator)
    if task == "clustering":
        return _squared_distance_to_centre(estimator, X)
    if y is None:
        raise ValueError(
            f"y is None: the loss of a {task} model needs the rows' targets "
            "(only a clusterer's loss needs none)."
        )
    if task == "regression":
        pred = np.asarray(estimator.predict(X), dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if pred.ndim == 1 and y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        err = (np.reshape(pred, y.shape) - y) ** 2
        return err.reshape(err.shape[0], -1).mean(axis=1)
    y = column_or_1d(y, warn=False)
    if _has_method(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        cols = _true_class_columns(_proba_classes(estimator, proba.shape[1]), y)
        return _proba_loss(proba, cols)
    cols = _true_class_columns(estimator.classes_, y)
    if _has_method(estimator, "decision_function"):
        return _margin_loss(estimator.decision_function(X), estimator.classes_, cols)
    # Only labels: the 0-1 loss is all an attacker can see.
    return (np.asarray(estimator.predict(X)) != y).astype(np.float64)


def _squared_distance_to_centre(estimator, X):
    if _has_method(estimator, "transform"):
        distances = np.asarray(estimator.transform(X), dtype=np.float64)
        return distances.min(axis=1) ** 2
    centres = np.asarray(estimator.cluster_centers_, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    sq = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return sq.min(axis=1)


def _attack_scores(estimator, X, y, attack):
    """Per-row membership score: higher means "more likely a training row"."""
    if attack == "loss":
        return -per_sample_loss(estimator, X, y)
    if _task(estimator) != "classification" or not _has_method(
        estimator, "predict_proba"
    ):
        raise ValueError(
            f"attack={attack!r} needs a classifier with predict_proba; "
            f"{type(estimator).__name__} has none. Use attack='loss'."
        )
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    if attack == "confidence":
        return proba.max(axis=1)
    # attack == "entropy": members tend to get peaked (low-entropy) predictions.
    logp = np.log(np.maximum(proba, _TINY))
    return (proba * logp).sum(axis=1)


def _check_two_sets(X_forget, X_unseen):
    for name, X in (("X_forget", X_forget), ("X_unseen", X_unseen)):
        if _num_samples(X) == 0:
            raise ValueError(f"{name} is empty; membership inference needs rows.")


def _balanced_loss_features(loss_forget, loss_unseen, random_state):
    """Loss feature and membership label, balanced as the starting kit does.

    The kit shuffles the forget losses (``np.random.shuffle``) and keeps the
    first ``len(unseen)``; here the shuffle is ``RandomState(random_state)``'s,
    which is the kit's after ``np.random.seed(random_state)``. The kit never
    subsamples the unseen rows (its forget set is the larger); when they are
    the larger group here, the first ``len(forget)`` of them in a shuffle by
    the same generator are kept, so the groups are always balanced. Unseen
    rows first, label 0; then forget rows, label 1, as in the kit.
    """
    rng = check_random_state(random_state)
    loss_forget = np.array(loss_forget, dtype=np.float64)
    loss_unseen = np.array(loss_unseen, dtype=np.float64)
    # the kit shuffles the forget losses whatever the sizes (the order then
    # decides the splits)
    rng.shuffle(loss_forget)
    loss_forget = loss_forget[: loss_unseen.size]
    if loss_unseen.size > loss_forget.size:
        rng.shuffle(loss_unseen)
        loss_unseen = loss_unseen[: loss_forget.size]
    n = loss_forget.size
    features = np.concatenate([loss_unseen, loss_forget]).reshape(-1, 1)
    members = np.concatenate([np.zeros(n, dtype=int), np.ones(n, dtype=int)])
    return features, members


_MIA_PARAMS = {
    "estimator": [HasMethods(["predict"])],
    "X_forget": ["array-like", "sparse matrix"],
    # None for a clusterer (its loss needs no target)
    "y_forget": ["array-like", None],
    "X_unseen": ["array-like", "sparse matrix"],
    "y_unseen": ["array-like", None],
}


@validate_params(
    {
        **_MIA_PARAMS,
        "scoring": [StrOptions({"accuracy", "roc_auc"})],
        "n_splits": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def simple_mia_score(
    estimator: Any,
    X_forget: MatrixLike,
    y_forget: ArrayLike | None,
    X_unseen: MatrixLike,
    y_unseen: ArrayLike | None,
    *,
    scoring: Literal["accuracy", "roc_auc"] = "accuracy",
    n_splits: int = 10,
    random_state: int | np.random.RandomState | None = 0,
) -> float:
    """The NeurIPS 2023 unlearning challenge starting kit's membership attack.

    Per-row losses (see :func:`per_sample_loss`) of the never-seen rows
    (label 0) followed by those of the forget rows (label 1), balanced as the
    kit does (a shuffle of the larger group, seeded by ``random_state``, cut
    to the size of the smaller); a logistic regression on the loss, evaluated
    on ``n_splits`` stratified shuffle splits (10 % held out each) seeded by
    ``random_state`` itself; the mean held-out score.

    For the same losses and seed this equals the kit's
    ``simple_mia(samples, labels, n_splits, random_state).mean()``, its
    balancing included when the kit's ``np.random`` is seeded with
    ``random_state`` (tested on pinned inputs). Two deviations, both where
    the kit would be unbalanced or fail: a larger never-seen group is cut to
    the forget group's size, and with fewer than 20 rows in all the held-out
    share rises to keep one row of each group in every split.

    Parameters
    ----------
    estimator : estimator object
        A fitted classifier or regressor.

    X_forget : {array-like, sparse matrix} of shape (n_forget, n_features)
        Rows the model was asked to forget (members).

    y_forget : array-like of shape (n_forget,)
        Their targets.

    X_unseen : {array-like, sparse matrix} of shape (n_unseen, n_features)
        Rows never used in training (non-members), e.g. a test set.

    y_unseen : array-like of shape (n_unseen,)
        Their targets.

    scoring : {"accuracy", "roc_auc"}, default="accuracy"
        Held-out score of the attack: the kit reports accuracy.

    n_splits : int, default=10
        Number of stratified shuffle splits.

    random_state : int, RandomState instance or None, default=0
        Seed of the subsampling and of the splits (the kit uses 0).

    Returns
    -------
    score : float
        In [0, 1]. The ideal is the value a retrained model gets, near 0.5:
        the attack cannot tell the forgotten rows from never-seen ones.

    See Also
    --------
    membership_inference_auc : The same attack among others, as a ROC AUC.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn.metrics import simple_mia_score
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(200, 3), rng.randn(200)
    >>> model = Ridge().fit(X[:100], y[:100])
    >>> 0.3 < simple_mia_score(model, X[:50], y[:50], X[100:], y[100:]) < 0.7
    True
    """
    _check_two_sets(X_forget, X_unseen)
    loss_f = per_sample_loss(estimator, X_forget, y_forget)
    loss_u = per_sample_loss(estimator, X_unseen, y_unseen)
    return _simple_mia(loss_f, loss_u, scoring, n_splits, random_state)


def _simple_mia(loss_f, loss_u, scoring, n_splits, random_state):
    """The kit's attack on given losses (see :func:`simple_mia_score`)."""
    # The seed goes to the shuffle and, as is, to the splitter, as in the kit
    # (a RandomState instance serves both, in that order).
    shuffle_rng = check_random_state(random_state)
    split_seed = random_state
    features, members = _balanced_loss_features(loss_f, loss_u, shuffle_rng)
    if members.size < 4:
        raise ValueError(
            "The logistic attack needs at least 2 forget rows and 2 unseen rows."
        )
    # The kit's StratifiedShuffleSplit default (10 % held out), or more when
    # that would leave a group without a held-out row.
    test_size = max(0.1, 2 / members.size)
    cv = StratifiedShuffleSplit(
        n_splits=n_splits, test_size=test_size, random_state=split_seed
    )
    scores = cross_val_score(
        LogisticRegression(), features, members, cv=cv, scoring=scoring
    )
    return float(np.mean(scores))


@validate_params(
    {
        **_MIA_PARAMS,
        "attack": [StrOptions(set(ATTACKS))],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def membership_inference_auc(
    estimator: Any,
    X_forget: MatrixLike,
    y_forget: ArrayLike | None,
    X_unseen: MatrixLike,
    y_unseen: ArrayLike | None,
    *,
    attack: Attack = "loss",
    random_state: int | np.random.RandomState | None = 0,
) -> float:
    """ROC AUC of a membership attack separating forget rows from never-seen rows.

    Each row gets an attack score, higher meaning "more likely a training
    row"; the AUC is the probability that a random forget row scores higher
    than a random never-seen row.

    Parameters
    ----------
    estimator : estimator object
        A fitted classifier or regressor (typically after ``unlearn``).

    X_forget : {array-like, sparse matrix} of shape (n_forget, n_features)
        Rows the model was asked to forget (the attack's members).

    y_forget : array-like of shape (n_forget,) or (n_forget, n_outputs) or None
        Their targets (None for a clusterer).

    X_unseen : {array-like, sparse matrix} of shape (n_unseen, n_features)
        Rows never used in training (non-members), e.g. a test set drawn
        like the forget rows.

    y_unseen : array-like of shape (n_unseen,) or (n_unseen, n_outputs) or None
        Their targets (None for a clusterer).

    attack : {"loss", "confidence", "entropy", "logistic"}, default="loss"
        - ``"loss"``: minus the per-row loss (cross-entropy for classifiers,
          squared error for regressors; see :func:`per_sample_loss`).
        - ``"confidence"``: the top predicted probability (needs
          ``predict_proba``; uses no label).
        - ``"entropy"``: minus the entropy of the predicted probabilities
          (needs ``predict_proba``; uses no label).
        - ``"logistic"``: the NeurIPS 2023 challenge starting kit's attack, a
          logistic regression on the loss trained on balanced groups and
          scored on 10 stratified shuffle splits (see
          :func:`simple_mia_score`); the mean held-out AUC.

    random_state : int, RandomState instance or None, default=0
        Seed of the ``"logistic"`` attack's subsampling and splits.

    Returns
    -------
    auc : float
        In [0, 1]. 0.5 when the forget rows are indistinguishable from
        never-seen ones (the ideal of unlearning); above 0.5 when the model
        still fits them better (remembers them); below 0.5 when it fits them
        worse than unseen rows (over-forgetting, itself a tell).

    See Also
    --------
    forget_score : ``1 - 2 |AUC - 0.5|``, in [0, 1], higher is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from skunlearn.metrics import membership_inference_auc
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(200, 3), rng.randn(200)
    >>> tree = DecisionTreeRegressor(random_state=0).fit(X[:100], y[:100])
    >>> float(membership_inference_auc(tree, X[:50], y[:50], X[100:], y[100:]))
    1.0
    """
    _check_two_sets(X_forget, X_unseen)
    if attack == "logistic":
        return simple_mia_score(
            estimator,
            X_forget,
            y_forget,
            X_unseen,
            y_unseen,
            scoring="roc_auc",
            random_state=random_state,
        )
    s_f = _attack_scores(estimator, X_forget, y_forget, attack)
    s_u = _attack_scores(estimator, X_unseen, y_unseen, attack)
    members = np.concatenate([np.ones(s_f.size), np.zeros(s_u.size)])
    return float(roc_auc_score(members, np.concatenate([s_f, s_u])))


@validate_params(
    {
        **_MIA_PARAMS,
        "attack": [StrOptions(set(ATTACKS))],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def forget_score(
    estimator: Any,
    X_forget: MatrixLike,
    y_forget: ArrayLike | None,
    X_unseen: MatrixLike,
    y_unseen: ArrayLike | None,
    *,
    attack: Attack = "loss",
    random_state: int | np.random.RandomState | None = 0,
) -> float:
    """How indistinguishable forgotten rows are from never-seen rows.

    ``forget_score = 1 - 2 |AUC - 0.5|`` where AUC is
    :func:`membership_inference_auc`: 1 when the attack cannot tell the forget
    rows from never-seen rows, 0 when it separates them perfectly, in either
    direction (a model that fits the forgotten rows much *worse* than unseen
    ones, over-forgetting, betrays them too).

    Parameters
    ----------
    estimator : estimator object
        A fitted classifier or regressor (typically after ``unlearn``).

    X_forget : {array-like, sparse matrix} of shape (n_forget, n_features)
        Rows the model was asked to forget.

    y_forget : array-like of shape (n_forget,) or (n_forget, n_outputs) or None
        Their targets (None for a clusterer).

    X_unseen : {array-like, sparse matrix} of shape (n_unseen, n_features)
        Rows never used in training, drawn like the forget rows.

    y_unseen : array-like of shape (n_unseen,) or (n_unseen, n_outputs) or None
        Their targets (None for a clusterer).

    attack : {"loss", "confidence", "entropy", "logistic"}, default="loss"
        Membership attack; see :func:`membership_inference_auc`.

    random_state : int, RandomState instance or None, default=0
        Seed of the ``"logistic"`` attack.

    Returns
    -------
    score : float
        In [0, 1], higher is better, optimum 1. Compare with the score of the
        gold standard (a model retrained without the rows): with few rows the
        attack's AUC fluctuates around 0.5 even for it.

    See Also
    --------
    membership_inference_auc : The underlying attack AUC.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from skunlearn.metrics import forget_score
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(300, 3), rng.randn(300)
    >>> overfit = DecisionTreeRegressor(random_state=0).fit(X[:200], y[:200])
    >>> float(forget_score(overfit, X[:50], y[:50], X[200:], y[200:]))  # remembers
    0.0
    >>> gold = DecisionTreeRegressor(random_state=0).fit(X[50:200], y[50:200])
    >>> forget_score(gold, X[:50], y[:50], X[200:], y[200:]) > 0.7
    True
    """
    auc = membership_inference_auc(
        estimator,
        X_forget,
        y_forget,
        X_unseen,
        y_unseen,
        attack=attack,
        random_state=random_state,
    )
    return float(1.0 - 2.0 * abs(auc - 0.5))


def _bootstrap_counts(rng, n, n_resamples):
    """How often each of ``n`` rows is drawn, in each of ``n_resamples`` resamples."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples)


def _resampled_auc(s_member, s_other, w_member, w_other):
    """AUC of each resample (rows weighted by their draw counts).

    ``P(s_member > s_other) + P(tie) / 2`` over the resampled pairs, computed
    from one sort: O(n) per resample instead of a rank of the pooled scores.
    """
    order = np.argsort(s_other, kind="stable")
    sorted_other = s_other[order]
    left = np.searchsorted(sorted_other, s_member, side="left")
    right = np.searchsorted(sorted_other, s_member, side="right")
    cum = np.zeros((w_other.shape[0], s_other.size + 1))
    np.cumsum(w_other[:, order], axis=1, out=cum[:, 1:])
    below = cum[:, left]
    ties = cum[:, right] - below
    n_m = w_member.sum(axis=1)
    n_o = w_other.sum(axis=1)
    return (w_member * (below + 0.5 * ties)).sum(axis=1) / (n_m * n_o)


def _interval(values, confidence):
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)


@validate_params(
    {
        **_MIA_PARAMS,
        "attack": [StrOptions(set(ATTACKS))],
        "confidence": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_resamples": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def membership_inference_interval(
    estimator: Any,
    X_forget: MatrixLike,
    y_forget: ArrayLike | None,
    X_unseen: MatrixLike,
    y_unseen: ArrayLike | None,
    *,
    attack: Attack = "loss",
    confidence: float = 0.95,
    n_resamples: int = 1000,
    random_state: int | np.random.RandomState | None = 0,
) -> dict[str, float]:
    """Membership AUC and ``forget_score`` with bootstrap confidence intervals.

    The attack scores every row once; the forget rows and the never-seen
    rows are then resampled with replacement, each group on its own,
    ``n_resamples`` times, and the AUC recomputed on each resample. The
    intervals are the central ``confidence`` quantiles (percentile
    bootstrap); ``auc_null_se`` is the AUC's standard error when the two
    groups are alike, ``sqrt((n_f + n_u + 1) / (12 n_f n_u))``.

    What the numbers can and cannot show: with a few hundred rows the AUC of
    a model that never saw the forget rows (the gold standard) strays from
    0.5 by about ``auc_null_se`` (0.035 for 100 forget rows against 200
    unseen rows), so two models whose intervals overlap cannot be ranked by
    these rows; the interval says nothing about rows other than these
    (another forget set, another attack), and a population attack like this
    one misses rows that a per-example attack with reference models would
    single out. ``forget_score`` folds the AUC at 0.5, so near its optimum
    its interval is one-sided: an upper end at 1 means no evidence of a
    membership signal, not proof of its absence.

    Parameters
    ----------
    estimator : estimator object
        A fitted classifier or regressor.

    X_forget, y_forget : array-like
        Rows the model was asked to forget and their targets.

    X_unseen, y_unseen : array-like
        Rows never used in training and their targets.

    attack : {"loss", "confidence", "entropy", "logistic"}, default="loss"
        Membership attack; see :func:`membership_inference_auc`. The
        ``"logistic"`` attack (a logistic regression on the single loss
        feature) ranks rows as the loss does, so its interval is the loss
        attack's.

    confidence : float, default=0.95
        Coverage of the intervals.

    n_resamples : int, default=1000
        Bootstrap resamples.

    random_state : int, RandomState instance or None, default=0
        Seed of the resampling.

    Returns
    -------
    result : dict
        ``auc``, ``auc_low``, ``auc_high``, ``auc_se`` (bootstrap standard
        error), ``auc_null_se``, ``forget_score``, ``forget_score_low``,
        ``forget_score_high``, ``n_forget``, ``n_unseen``, ``confidence``.

    See Also
    --------
    membership_inference_auc : The AUC alone.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from skunlearn.metrics import membership_inference_interval
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(300, 3), rng.randn(300)
    >>> gold = DecisionTreeRegressor(random_state=0).fit(X[50:200], y[50:200])
    >>> r = membership_inference_interval(gold, X[:50], y[:50], X[200:], y[200:])
    >>> bool(r["auc_low"] < 0.5 < r["auc_high"])
    True
    """
    _check_two_sets(X_forget, X_unseen)
    kind = "loss" if attack == "logistic" else attack
    s_f = np.asarray(_attack_scores(estimator, X_forget, y_forget, kind), float)
    s_u = np.asarray(_attack_scores(estimator, X_unseen, y_unseen, kind), float)
    rng = check_random_state(random_state)
    w_f = _bootstrap_counts(rng, s_f.size, n_resamples)
    w_u = _bootstrap_counts(rng, s_u.size, n_resamples)
    aucs = _resampled_auc(s_f, s_u, w_f, w_u)
    ones_f, ones_u = np.ones((1, s_f.size)), np.ones((1, s_u.size))
    auc = float(_resampled_auc(s_f, s_u, ones_f, ones_u)[0])
    scores = 1.0 - 2.0 * np.abs(aucs - 0.5)
    auc_low, auc_high = _interval(aucs, confidence)
    fs_low, fs_high = _interval(scores, confidence)
    return {
        "auc": auc,
        "auc_low": auc_low,
        "auc_high": auc_high,
        "auc_se": float(np.std(aucs, ddof=1)) if n_resamples > 1 else float("nan"),
        "auc_null_se": _auc_null_se(s_f.size, s_u.size),
        "forget_score": 1.0 - 2.0 * abs(auc - 0.5),
        "forget_score_low": fs_low,
        "forget_score_high": fs_high,
        "n_forget": int(s_f.size),
        "n_unseen": int(s_u.size),
        "confidence": float(confidence),
    }


def _auc_null_se(n_member, n_other):
    return float(np.sqrt((n_member + n_other + 1) / (12.0 * n_member * n_other)))
