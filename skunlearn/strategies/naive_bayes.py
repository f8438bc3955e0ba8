"""Exact unlearning for naive Bayes by subtracting counts and moments.

Every scikit-learn naive Bayes model is a function of per-class sums (Cao &
Yang's *summation form*):

- :class:`~sklearn.naive_bayes.MultinomialNB`,
  :class:`~sklearn.naive_bayes.ComplementNB`,
  :class:`~sklearn.naive_bayes.BernoulliNB`: ``class_count_`` and
  ``feature_count_`` (weighted sums of the rows, binarized for Bernoulli);
- :class:`~sklearn.naive_bayes.CategoricalNB`: ``class_count_`` and one
  category-count table per feature, whose width (``n_categories_``) is the
  largest category seen plus one;
- :class:`~sklearn.naive_bayes.GaussianNB`: per-class weighted count, mean and
  sum of squared deviations, plus ``epsilon_``, which a refit derives from the
  largest (unweighted) feature variance of *all* its rows.

Forgetting rows subtracts their contribution and recomputes the derived
attributes with the estimator's own methods, so the result is the model a
refit on the retained rows builds, including ``classes_`` and the priors when
a class loses its last row. Moments are downdated with the reverse of Chan,
Golub and LeVeque's pairwise update, centred at the retained rows' mean.
No raw row is kept: the cost of a request of ``k`` rows is ``O(k d + K d)``
(``K`` classes), independent of the number of training rows.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from sklearn.naive_bayes import (
    BernoulliNB,
    CategoricalNB,
    ComplementNB,
    GaussianNB,
    MultinomialNB,
)
from sklearn.preprocessing import binarize

from ..utils._sklearn_compat import (
    _check_sample_weight,
    naive_bayes_check_X,
    naive_bayes_update_log_probs,
)
from ._base import UnlearningStrategy, _shallow_copy, register_strategy, step_plan

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike
    from ._base import ForgetPlan, ForgetRequest

__all__ = ["NaiveBayesStrategy"]


def _moments(X, w=None):
    """Count (or weight sum), mean and sum of squared deviations per column."""
    X = np.asarray(X, dtype=np.float64)
    if w is None:
        n = float(X.shape[0])
        mean = X.mean(axis=0)
        m2 = ((X - mean) ** 2).sum(axis=0)
    else:
        n = float(w.sum())
        mean = np.average(X, axis=0, weights=w) if n > 0 else np.zeros(X.shape[1])
        m2 = w @ ((X - mean) ** 2)
    return n, mean, m2


def _downdate(n_a, mean_a, m2_a, n_b, mean_b, m2_b):
    """Moments of set A minus its subset B (reverse of Chan et al.'s update)."""
    n_r = n_a - n_b
    if n_r <= 0:
        return 0.0, np.zeros_like(mean_a), np.zeros_like(m2_a)
    mean_r = (n_a * mean_a - n_b * mean_b) / n_r
    delta = mean_b - mean_r
    m2_r = m2_a - m2_b - delta**2 * (n_r * n_b / n_a)
    return n_r, mean_r, np.maximum(m2_r, 0.0)


class NaiveBayesStrategy(UnlearningStrategy):
    """Exact unlearning for naive Bayes classifiers from their counts.

    Handles :class:`~sklearn.naive_bayes.GaussianNB`,
    :class:`~sklearn.naive_bayes.MultinomialNB`,
    :class:`~sklearn.naive_bayes.ComplementNB`,
    :class:`~sklearn.naive_bayes.BernoulliNB` and
    :class:`~sklearn.naive_bayes.CategoricalNB`, with or without
    ``sample_weight``. The wrapped estimator is a genuine fitted instance with
    the attributes a refit on the retained rows sets; counts of integral data
    are exactly equal, moments of real data agree to about ``1e-12``
    relative. A class whose last row is forgotten disappears from
    ``classes_`` and the priors, as in a refit; with user-given ``priors`` /
    ``class_prior`` the refit would fail, and so does :meth:`unlearn` (with
    the model unchanged).

    Cost per request of ``k`` rows: ``O(k d + K d)``; no training row is kept.
    """

    name = "naive_bayes"
    exact = True
    keeps_rows = False
    sample_props = ("sample_weight",)

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(
            estimator,
            GaussianNB | MultinomialNB | ComplementNB | BernoulliNB | CategoricalNB,
        )

    # Naive Bayes takes any numeric array at predict time, so a finite float64
    # array of the fitted width is what validation would return unchanged
    # (Unlearnable then skips re-validating it: most of a small request's
    # fixed cost). Rows that are not valid training rows fail the match.
    plain_floats_are_valid = True

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        unknown = set(fit_params) - {"sample_weight"}
        if unknown:
            raise TypeError(
                f"{type(estimator).__name__}.fit got unexpected parameters {unknown}."
            )
        sample_weight = fit_params.get("sample_weight")
        estimator.fit(X, y, sample_weight=sample_weight)
        y_arr = np.asarray(y)
        if y_arr.ndim == 2:
            y_arr = y_arr.ravel()
        y_idx = np.searchsorted(estimator.classes_, y_arr)
        # Unweighted rows per class: a class leaves ``classes_`` when its last
        # row goes, whatever the weights.
        self.class_rows_ = np.bincount(y_idx, minlength=len(estimator.classes_))
        if isinstance(estimator, GaussianNB):
            Xc = naive_bayes_check_X(estimator, X)
            self.global_ = _moments(Xc)
        elif isinstance(estimator, CategoricalNB):
            Xc = naive_bayes_check_X(estimator, X)
            # Rows (all classes together) per category of each feature: the
            # width of a refit's tables follows the largest category still used.
            self.category_rows_ = [
                np.bincount(Xc[:, j].astype(np.intp), minlength=int(n_cat))
                for j, n_cat in enumerate(estimator.n_categories_)
            ]
        return estimator

    # -------------------------------------------------------------- unlearn
    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        request.check_no_params("naive Bayes")
        X = request.X
        k = request.n_forget
        y_f = np.asarray(request.y)
        if y_f.ndim == 2:
            y_f = y_f.ravel()
        k_all = len(estimator.classes_)
        y_idx = np.searchsorted(estimator.classes_, y_f)
        w = request.props.get("sample_weight")
        w = None if w is None else _check_sample_weight(w, np.empty((k, 1)))
        class_rows = self.class_rows_ - np.bincount(y_idx, minlength=k_all)
        present = class_rows > 0
        # Every class keeps rows (the usual case): no selection to copy.
        keep = slice(None) if present.all() else present
        new_strategy = _shallow_copy(self)
        new_strategy.class_rows_ = class_rows[keep]
        new = _shallow_copy(estimator)
        if isinstance(estimator, GaussianNB):
            self._gaussian(new, estimator, new_strategy, X, y_idx, w, present)
        else:
            # X was validated like predict input and matched training rows, so
            # it passed fit's checks already; only Bernoulli transforms it.
            Xc = X
            if isinstance(estimator, BernoulliNB) and estimator.binarize is not None:
                Xc = binarize(X, threshold=estimator.binarize)
            categorical = isinstance(estimator, CategoricalNB)
            new.classes_ = estimator.classes_[present]
            if (
                k == 1
                and w is None
                and present.all()
                and not categorical
                and not sp.issparse(Xc)
            ):
                # One unweighted row, the usual request: subtract it from its
                # class's counts (what the general product below computes).
                c = y_idx[0]
                new.class_count_ = estimator.class_count_.copy()
                new.class_count_[c] -= 1.0
                new.feature_count_ = estimator.feature_count_.copy()
                new.feature_count_[c] -= Xc[0]
                Y = None
            else:
                Y = np.zeros((k, k_all))
                Y[np.arange(k), y_idx] = 1.0 if w is None else w
                new.class_count_ = (estimator.class_count_ - Y.sum(axis=0))[keep]
            if categorical:
                self._categorical(new, estimator, new_strategy, Xc, Y, present)
            elif Y is not None:
                removed = np.asarray(
                    (sp.csr_array(Xc).T @ Y).T if sp.issparse(Xc) else Y.T @ Xc
                )
                new.feature_count_ = (estimator.feature_count_ - removed)[keep]
                if isinstance(estimator, ComplementNB):
                    new.feature_all_ = new.feature_count_.sum(axis=0)
            naive_bayes_update_log_probs(new)
        details = {"classes_removed": int((~present).sum())}
        return step_plan(new, new_strategy, strategy=self.name, details=details)

    def _gaussian(self, new, est, new_strategy, X, y_idx, w, present):
        X = np.asarray(X, dtype=np.float64)
        n_g, mean_g, m2_g = _downdate(*self.global_, *_moments(X))
        new_strategy.global_ = (n_g, mean_g, m2_g)
        # What a refit computes: var_smoothing times the largest np.var of its X.
        epsilon = est.var_smoothing * float(np.max(m2_g / n_g))
        theta = est.theta_.copy()
        count = est.class_count_.astype(np.float64, copy=True)
        m2 = (est.var_ - est.epsilon_) * count[:, None]
        for c in np.unique(y_idx):
            if not present[c]:
                continue
            sel = y_idx == c
            wc = None if w is None else w[sel]
            n_b, mean_b, m2_b = _moments(X[sel], wc)
            count[c], theta[c], m2[c] = _downdate(
                count[c], theta[c], m2[c], n_b, mean_b, m2_b
            )
        count, theta, m2 = count[present], theta[present], m2[present]
        new.classes_ = est.classes_[present]
        dtype = est.theta_.dtype
        new.theta_ = theta.astype(dtype, copy=False)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = m2 / count[:, None]
        new.var_ = (var + epsilon).astype(dtype, copy=False)
        new.epsilon_ = epsilon
        new.class_count_ = count.astype(est.class_count_.dtype, copy=False)
        if est.priors is None:
            new.class_prior_ = new.class_count_ / new.class_count_.sum()
        elif len(est.priors) != new.classes_.size:
            raise ValueError(
                "Number of priors must match number of classes: the forgotten rows "
                "were the last of a class, and a refit with these priors would fail. "
                "Nothing was forgotten."
            )

    def _categorical(self, new, est, new_strategy, X, Y, present):
        X = np.asarray(X).astype(np.intp, copy=False)
        min_cat = est.min_categories
        new_counts, new_rows, n_categories = [], [], []
        for j, table in enumerate(est.category_count_):
            col = X[:, j]
            if col.size and col.max() >= table.shape[1]:
                raise ValueError(
                    f"Feature {j} of X_forget has a category never seen in training."
                )
            removed = np.zeros_like(table)
            np.add.at(removed.T, col, Y)
            rows_j = self.category_rows_[j] - np.bincount(col, minlength=table.shape[1])
            used = np.flatnonzero(rows_j)
            width = int(used[-1]) + 1 if used.size else 1
            if min_cat is not None:
                width = max(width, int(np.broadcast_to(min_cat, (X.shape[1],))[j]))
            new_counts.append((table - removed)[present][:, :width])
            new_rows.append(rows_j[:width])
            n_categories.append(width)
        new.category_count_ = new_counts
        new.n_categories_ = np.asarray(n_categories, dtype=est.n_categories_.dtype)
        new_strategy.category_rows_ = new_rows


for _est in (GaussianNB, MultinomialNB, ComplementNB, BernoulliNB, CategoricalNB):
    register_strategy(_est, NaiveBayesStrategy)
