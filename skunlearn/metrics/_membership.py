"""Membership inference against never-seen rows, and ``forget_score``.

A model that still remembers the rows it was asked to forget treats them
differently from rows it never saw: typically a lower loss. A membership
inference attack scores each row; the ROC AUC of that score separating the
forget rows (members) from never-seen rows measures what is left. 0.5 means
indistinguishable, which is what a model retrained without the rows gives
for rows drawn like the never-seen ones.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numbers

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

__all__ = [
    "forget_score",
    "membership_inference_auc",
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
        "y": ["array-like"],
    },
    prefer_skip_nested_validation=True,
)
def per_sample_loss(estimator, X, y):
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

    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Their true targets.

    Returns
    -------
    loss : ndarray of shape (n_samples,)
        Non-negative for probabilities and squared errors; lower means the
        model fits the row better.

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
    if task == "regression":
        pred = np.asarray(estimator.predict(X), dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if pred.ndim == 1 and y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        err = (np.reshape(pred, y.shape) - y) ** 2
        return err.reshape(err.shape[0], -1).mean(axis=1)
    y = column_or_1d(y, warn=False)
    cols = _true_class_columns(estimator.classes_, y)
    if _has_method(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        return _proba_loss(proba, cols)
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
    """Loss feature and membership label, subsampled to equal group sizes."""
    rng = check_random_state(random_state)
    n = min(loss_forget.size, loss_unseen.size)
    if loss_forget.size > n:
        loss_forget = loss_forget[rng.choice(loss_forget.size, n, replace=False)]
    if loss_unseen.size > n:
        loss_unseen = loss_unseen[rng.choice(loss_unseen.size, n, replace=False)]
    features = np.concatenate([loss_unseen, loss_forget]).reshape(-1, 1)
    members = np.concatenate([np.zeros(n, dtype=int), np.ones(n, dtype=int)])
    return features, members


_MIA_PARAMS = {
    "estimator": [HasMethods(["predict"])],
    "X_forget": ["array-like", "sparse matrix"],
    "y_forget": ["array-like"],
    "X_unseen": ["array-like", "sparse matrix"],
    "y_unseen": ["array-like"],
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
    estimator,
    X_forget,
    y_forget,
    X_unseen,
    y_unseen,
    *,
    scoring="accuracy",
    n_splits=10,
    random_state=0,
):
    """The NeurIPS 2023 unlearning challenge starting kit's membership attack.

    Per-row losses (see :func:`per_sample_loss`) of the forget rows (label 1)
    and of never-seen rows (label 0), balanced by subsampling the larger group
    to the size of the smaller; a logistic regression on the loss, evaluated
    on ``n_splits`` stratified shuffle splits (10 % held out each); the mean
    held-out score.

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
    rng = check_random_state(random_state)
    features, members = _balanced_loss_features(loss_f, loss_u, rng)
    if members.size < 4:
        raise ValueError(
            "The logistic attack needs at least 2 forget rows and 2 unseen rows."
        )
    # At least one row of each group in every held-out part.
    test_size = max(0.1, 2 / members.size)
    cv = StratifiedShuffleSplit(
        n_splits=n_splits, test_size=test_size, random_state=rng.randint(2**31 - 1)
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
    estimator, X_forget, y_forget, X_unseen, y_unseen, *, attack="loss", random_state=0
):
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

    y_forget : array-like of shape (n_forget,) or (n_forget, n_outputs)
        Their targets.

    X_unseen : {array-like, sparse matrix} of shape (n_unseen, n_features)
        Rows never used in training (non-members), e.g. a test set drawn
        like the forget rows.

    y_unseen : array-like of shape (n_unseen,) or (n_unseen, n_outputs)
        Their targets.

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
    estimator, X_forget, y_forget, X_unseen, y_unseen, *, attack="loss", random_state=0
):
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

    y_forget : array-like of shape (n_forget,) or (n_forget, n_outputs)
        Their targets.

    X_unseen : {array-like, sparse matrix} of shape (n_unseen, n_features)
        Rows never used in training, drawn like the forget rows.

    y_unseen : array-like of shape (n_unseen,) or (n_unseen, n_outputs)
        Their targets.

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
