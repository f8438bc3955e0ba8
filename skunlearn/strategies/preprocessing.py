"""Exact unlearning for scikit-learn's preprocessing transformers.

Each strategy rebuilds the fitted transformer a refit on the retained rows
would give, from the smallest state that allows it:

- ``StandardScaler``: per-feature (weighted) count, mean and sum of squared
  deviations, downdated with the reverse of Chan et al.'s parallel update; no
  row kept.
- ``SimpleImputer``: per-column sums and counts (``"mean"``), value counts
  (``"most_frequent"``), missing counts (``"constant"``, ``add_indicator``);
  no row kept. ``"median"`` and callables refit on the retained rows.
- ``OneHotEncoder`` / ``OrdinalEncoder``: per-column category counts; when a
  category loses its last row the encoder is rebuilt from one representative
  row per remaining category (its fitted state depends only on the category
  sets), so the category disappears exactly as in a refit. With
  ``min_frequency`` / ``max_categories`` (infrequent categories depend on the
  counts in ways that need the rows) they refit on the retained rows.
- ``MinMaxScaler``, ``MaxAbsScaler``, ``SplineTransformer`` (uniform knots):
  the fitted state depends on per-feature extremes. A forget set strictly
  inside them changes nothing but counts; otherwise they refit on the
  retained rows (a minimum cannot be downdated without the rows), so these
  strategies keep the rows.
- stateless ones (``FunctionTransformer``, ``PolynomialFeatures``,
  ``SplineTransformer`` with explicit knots): nothing to forget.

``RobustScaler`` (and ``QuantileTransformer``) have no strategy on purpose:
their quantiles cannot be downdated from a bounded summary; any exact removal
needs the retained values, which is what the refit fallback does.
``TargetEncoder`` has none either: its ``fit_transform`` cross-fits on
shuffled folds assigned by position, so forgetting a row changes the folds,
hence the encoded training rows of every other row; only a refit is exact.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    SplineTransformer,
    StandardScaler,
)
from sklearn.utils.validation import check_array

from ..utils._sklearn_compat import (
    _encode,
    _get_mask,
    _handle_zeros_in_scale,
    _is_constant_feature,
    _safe_min,
    encoder_check_X,
    simple_imputer_validate_input,
)
from ._base import UnlearningStrategy, register_strategy, step_plan

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike
    from ._base import ForgetPlan, ForgetRequest

__all__ = [
    "EncoderStrategy",
    "ExtremesStrategy",
    "SimpleImputerStrategy",
    "StandardScalerStrategy",
    "StatelessStrategy",
]


def same_state(a, b):
    """Whether two fitted values are equal (NaN equals NaN, nested lists)."""
    if a is b:
        return True
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_state(x, z) for x, z in zip(a, b))
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    if a.dtype.kind == "O":
        for x, z in zip(a.ravel().tolist(), b.ravel().tolist()):
            if x is z:
                continue
            both_nan = (
                isinstance(x, float) and isinstance(z, float) and x != x and z != z
            )
            if not both_nan and not (type(x) is type(z) and x == z):
                return False
        return True
    return bool(np.array_equal(a, b))


class _TransformerStrategy(UnlearningStrategy):
    """Shared plumbing of the transformers' strategies.

    Subclasses implement ``_init_state(estimator, X, y, fit_params)`` (read
    the state from a fitted estimator and its training input) and
    ``_plan_step(estimator, request)`` (their :meth:`plan`).
    """

    keeps_rows = False

    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        estimator.fit(X, y, **fit_params)
        self._init_state(estimator, X, y, fit_params)
        return estimator

    def adopt(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        self._init_state(estimator, X, y, fit_params)
        return estimator

    def _init_state(self, estimator, X, y, fit_params):
        pass

    def validate_forget(self, estimator: Any, X: MatrixLike) -> Any:
        # The transformer validates the forget rows itself, as in transform;
        # converting a DataFrame here would lose its column dtypes.
        return X

    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        request.check_no_params(self.name)
        return self._plan_step(estimator, request)

    def _plan_step(self, estimator, request):  # pragma: no cover - abstract
        raise NotImplementedError

    def _refit(self, estimator, request, reason):
        return self.refit_plan(estimator, request, reason=reason)


class StatelessStrategy(_TransformerStrategy):
    """Transformers whose fitted state does not depend on the rows.

    ``FunctionTransformer``, ``PolynomialFeatures`` (state: the number of
    features), ``SplineTransformer`` with explicit knots. Forgetting rows
    changes nothing.
    """

    name = "stateless"

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        if isinstance(estimator, SplineTransformer):
            return not isinstance(estimator.knots, str)
        return True

    def _plan_step(self, estimator, request):
        return step_plan(estimator, self, strategy=self.name, changed=False)


class StandardScalerStrategy(_TransformerStrategy):
    """Exact, row-free unlearning for :class:`~sklearn.preprocessing.StandardScaler`.

    Keeps the per-feature weighted count, mean and sum of squared deviations
    (the fitted ``n_samples_seen_``, ``mean_`` and ``var_`` are exactly that),
    and removes rows with the reverse of Chan et al.'s parallel update.
    Dense input; missing values are ignored per feature as in ``fit``.
    """

    name = "moments"
    sample_props = ("sample_weight",)

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, StandardScaler)

    def _init_state(self, estimator, X, y, fit_params):
        if sp.issparse(X):
            # Sparse moments downdate like dense ones, but sparse input is rare
            # enough here that the refit keeps this strategy simple.
            self.keeps_rows_ = True
            return
        n_features = estimator.n_features_in_
        self.count_dtype_ = np.asarray(estimator.n_samples_seen_).dtype
        self.count_ = np.broadcast_to(
            np.asarray(estimator.n_samples_seen_, dtype=np.float64), (n_features,)
        ).copy()
        self.mean_ = None if estimator.mean_ is None else np.array(estimator.mean_)
        self.m2_ = (
            None if estimator.var_ is None else np.asarray(estimator.var_) * self.count_
        )

    def downdate(self, estimator, X, w):
        """The scaler without rows ``X`` (weights ``w``): ``(scaler, state)``.

        Returns None when a feature would keep no observed value (then only a
        refit reproduces ``fit``'s behaviour).
        """
        X = check_array(
            X, dtype=np.float64, ensure_all_finite="allow-nan", ensure_min_samples=0
        )
        observed = ~np.isnan(X)
        Xz = np.where(observed, X, 0.0)
        w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
        n_f = w @ observed
        n_r = self.count_ - n_f
        if np.any(n_r <= 0):
            return None
        new = copy.copy(estimator)
        state = copy.copy(self)
        state.count_ = n_r
        if self.mean_ is not None:
            s_f = w @ Xz
            safe = np.where(n_f > 0, n_f, 1.0)
            mean_f = s_f / safe
            mean_r = (self.count_ * self.mean_ - s_f) / n_r
            state.mean_ = mean_r
            new.mean_ = mean_r
            if self.m2_ is not None:
                dev = np.where(observed, X - mean_f, 0.0)
                m2_f = w @ (dev * dev)
                m2_r = (
                    self.m2_ - m2_f - n_f * n_r / self.count_ * (mean_f - mean_r) ** 2
                )
                m2_r = np.maximum(m2_r, 0.0)
                state.m2_ = m2_r
                new.var_ = m2_r / n_r
        counts = n_r.astype(self.count_dtype_)
        new.n_samples_seen_ = counts[0] if np.all(counts == counts[0]) else counts
        if estimator.with_std:
            constant = _is_constant_feature(new.var_, new.mean_, new.n_samples_seen_)
            new.scale_ = _handle_zeros_in_scale(
                np.sqrt(new.var_), copy=False, constant_mask=constant
            )
        return new, state

    def _plan_step(self, estimator, request):
        X = request.X
        if self.keeps_rows_:
            return self._refit(estimator, request, "sparse input")
        result = self.downdate(estimator, X, request.props.get("sample_weight"))
        if result is None:
            return self._refit(estimator, request, "a feature lost every value")
        new, state = result
        changed = not (
            same_state(estimator.mean_, new.mean_) if estimator.with_mean else True
        ) or not (
            same_state(estimator.scale_, new.scale_) if estimator.with_std else True
        )
        return step_plan(new, state, strategy=self.name, changed=changed)


class ExtremesStrategy(_TransformerStrategy):
    """Transformers fitted on per-feature extremes: keep the rows, refit rarely.

    ``MinMaxScaler`` (``data_min_`` / ``data_max_``), ``MaxAbsScaler``
    (``max_abs_``), ``SplineTransformer`` with ``knots="uniform"`` (the knots
    span each feature's range) or ``"quantile"`` (always refit). A forget set
    whose values lie strictly inside the extremes leaves the fitted state
    unchanged (except ``n_samples_seen_``), so downstream steps keep their
    inputs; otherwise the transformer is refit on the retained rows.
    """

    name = "extremes"
    keeps_rows = True
    sample_props = ("sample_weight",)

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, MinMaxScaler | MaxAbsScaler | SplineTransformer)

    def _bounds(self, estimator):
        if isinstance(estimator, MinMaxScaler):
            return estimator.data_min_, estimator.data_max_
        if isinstance(estimator, MaxAbsScaler):
            return -estimator.max_abs_, estimator.max_abs_
        if estimator.knots == "uniform":
            knots = estimator.bsplines_
            lo = np.array([b.t[b.k] for b in knots])
            hi = np.array([b.t[-b.k - 1] for b in knots])
            return lo, hi
        return None

    def _plan_step(self, estimator, request):
        X = request.X
        if sp.issparse(X):
            return self._refit(estimator, request, "sparse input")
        bounds = self._bounds(estimator)
        if bounds is None:
            return self._refit(estimator, request, "quantile knots")
        X = check_array(
            X, dtype=np.float64, ensure_all_finite="allow-nan", ensure_min_samples=0
        )
        lo, hi = bounds
        with np.errstate(invalid="ignore"):
            inside = np.isnan(X) | ((X > lo) & (X < hi))
        if not inside.all():
            return self._refit(estimator, request, "a forgotten value is an extreme")
        new = copy.copy(estimator)
        if hasattr(estimator, "n_samples_seen_"):
            new.n_samples_seen_ = estimator.n_samples_seen_ - X.shape[0]
        return step_plan(
            new,
            self,
            strategy=self.name,
            changed=False,
            details={"extremes_unchanged": True},
        )


class SimpleImputerStrategy(_TransformerStrategy):
    """Exact unlearning for :class:`~sklearn.impute.SimpleImputer`.

    Row-free for ``strategy="mean"`` (sums and counts), ``"most_frequent"``
    (value counts) and ``"constant"`` (missing counts); ``add_indicator``
    follows the missing counts. ``"median"``, callables and sparse input keep
    the rows and refit.
    """

    name = "imputer_counts"
    sample_props = ()

    def _init_state(self, estimator, X, y, fit_params):
        strategy = estimator.strategy
        if sp.issparse(X) or strategy not in ("mean", "most_frequent", "constant"):
            self.keeps_rows_ = True
            return
        Xv = simple_imputer_validate_input(estimator, X, in_fit=False)
        missing = _get_mask(Xv, estimator.missing_values)
        self.n_missing_ = missing.sum(axis=0).astype(np.int64)
        self.n_observed_ = Xv.shape[0] - self.n_missing_
        if strategy == "mean":
            self.sums_ = np.where(missing, 0, Xv).astype(np.float64).sum(axis=0)
        elif strategy == "most_frequent":
            self.values_ = [
                Counter(Xv[~missing[:, j], j].tolist()) for j in range(Xv.shape[1])
            ]

    def _plan_step(self, estimator, request):
        X = request.X
        if self.keeps_rows_:
            return self._refit(estimator, request, f"strategy={estimator.strategy!r}")
        Xv = simple_imputer_validate_input(estimator, X, in_fit=False)
        missing = _get_mask(Xv, estimator.missing_values)
        state = copy.copy(self)
        state.n_missing_ = self.n_missing_ - missing.sum(axis=0)
        state.n_observed_ = self.n_observed_ - (~missing).sum(axis=0)
        stats = np.array(estimator.statistics_, copy=True)
        empty = state.n_observed_ == 0
        if estimator.strategy == "mean":
            state.sums_ = self.sums_ - np.where(missing, 0, Xv).astype(np.float64).sum(
                0
            )
            with np.errstate(invalid="ignore", divide="ignore"):
                stats = state.sums_ / np.where(empty, 1, state.n_observed_)
            stats = stats.astype(estimator.statistics_.dtype, copy=False)
            stats[empty] = 0 if estimator.keep_empty_features else np.nan
        elif estimator.strategy == "most_frequent":
            state.values_ = list(self.values_)
            for j in np.flatnonzero((~missing).any(axis=0)):
                counter = Counter(self.values_[j])
                counter.subtract(Xv[~missing[:, j], j].tolist())
                counter = Counter({k: v for k, v in counter.items() if v > 0})
                state.values_[j] = counter
                if not counter:
                    stats[j] = 0 if estimator.keep_empty_features else np.nan
                    continue
                top = max(counter.values())
                stats[j] = _safe_min([v for v, c in counter.items() if c == top])
        else:  # constant
            if not estimator.keep_empty_features:
                stats[empty] = np.nan
        new = copy.copy(estimator)
        new.statistics_ = stats
        if estimator.indicator_ is not None:
            new.indicator_ = copy.copy(estimator.indicator_)
            if estimator.indicator_.features == "missing-only":
                new.indicator_.features_ = np.flatnonzero(state.n_missing_)
        changed = not same_state(estimator.statistics_, stats) or (
            estimator.indicator_ is not None
            and not same_state(estimator.indicator_.features_, new.indicator_.features_)
        )
        return step_plan(new, state, strategy=self.name, changed=changed)


class EncoderStrategy(_TransformerStrategy):
    """Exact unlearning for ``OneHotEncoder`` and ``OrdinalEncoder``.

    Keeps per-column category counts. A category whose count drops to zero
    disappears: the encoder is refit on one representative row per remaining
    category, which gives exactly the fitted state of a refit (with
    ``categories="auto"`` and no infrequent grouping, that state depends only
    on the set of categories of each column). Explicit ``categories`` never
    change. ``min_frequency`` / ``max_categories`` keep the rows and refit.
    """

    name = "category_counts"
    sample_props = ()

    def _init_state(self, estimator, X, y, fit_params):
        self.explicit_ = not isinstance(estimator.categories, str)
        infrequent = (
            getattr(estimator, "min_frequency", None) is not None
            or getattr(estimator, "max_categories", None) is not None
        )
        if infrequent:
            self.keeps_rows_ = True
            return
        if self.explicit_:
            return
        # pandas' string dtypes by name ("str", "string"): the name rebuilds
        # them, and skops cannot rebuild the dtype objects themselves.
        self.dtypes_ = (
            [str(t) if type(t).__name__ == "StringDtype" else t for t in X.dtypes]
            if hasattr(X, "dtypes")
            else None
        )
        self.counts_ = self._counts(estimator, X)

    def _counts(self, estimator, X):
        columns, _, _ = encoder_check_X(estimator, X, ensure_all_finite="allow-nan")
        return [
            np.bincount(
                _encode(col, uniques=cats, check_unknown=False), minlength=cats.size
            )
            for col, cats in zip(columns, estimator.categories_)
        ]

    def _representative(self, estimator, categories):
        m = max(c.size for c in categories)
        cols = [np.concatenate([c, np.repeat(c[:1], m - c.size)]) for c in categories]
        if not hasattr(estimator, "feature_names_in_"):
            if all(c.dtype == cols[0].dtype for c in cols):
                return np.column_stack(cols)
            return np.column_stack([c.astype(object) for c in cols])
        import pandas as pd

        data = {}
        for j, (name, col) in enumerate(zip(estimator.feature_names_in_, cols)):
            series = pd.Series(col, dtype=col.dtype)
            if self.dtypes_ is not None:
                series = series.astype(self.dtypes_[j])
            data[name] = series
        return pd.DataFrame(data)

    def _plan_step(self, estimator, request):
        X = request.X
        if self.keeps_rows_:
            return self._refit(estimator, request, "infrequent categories")
        if self.explicit_:
            return step_plan(estimator, self, strategy=self.name, changed=False)
        removed = self._counts(estimator, X)
        counts = [c - r for c, r in zip(self.counts_, removed)]
        state = copy.copy(self)
        state.counts_ = counts
        if all((c > 0).all() for c in counts):
            return step_plan(
                estimator,
                state,
                strategy=self.name,
                changed=False,
                details={"categories_removed": 0},
            )
        kept = [cats[c > 0] for cats, c in zip(estimator.categories_, counts)]
        new = clone(estimator).fit(self._representative(estimator, kept))
        state.counts_ = [c[c > 0] for c in counts]
        return step_plan(
            new,
            state,
            strategy=self.name,
            changed=True,
            details={
                "categories_removed": int(sum((c == 0).sum() for c in counts)),
            },
        )


register_strategy(StandardScaler, StandardScalerStrategy)
register_strategy(SimpleImputer, SimpleImputerStrategy)
for _est in (OneHotEncoder, OrdinalEncoder):
    register_strategy(_est, EncoderStrategy)
for _est in (MinMaxScaler, MaxAbsScaler, SplineTransformer):
    register_strategy(_est, ExtremesStrategy)
for _est in (FunctionTransformer, PolynomialFeatures, SplineTransformer):
    register_strategy(_est, StatelessStrategy)
