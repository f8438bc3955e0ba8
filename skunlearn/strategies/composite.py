"""Composite unlearning: Pipeline, ColumnTransformer and FeatureUnion, step by step.

A composite model forgets rows one step at a time, in order. Each step gets
the forget rows *as it saw them in fit*, i.e. transformed by the upstream
steps, and its own strategy removes them (category counts, moments, sufficient
statistics, a native ``unlearn``...). A step reports whether its output for
the retained rows changed (a scaler's mean moved; an encoder lost a category).
As long as nothing upstream changed, the next step unlearns incrementally;
from the first change on, every downstream step is refit on the retained rows
transformed by the new upstream steps, which is exactly what a refit does.

**When rows are kept.** Such a refit needs the retained rows, so a composite
model keeps its training rows (in its ledger) unless it can prove it will
never need them: that is the fused path below. Everything else keeps them.

**Fused path.** ``[StandardScaler, LinearRegression | Ridge | RidgeClassifier]``
(``fit_intercept=True``): the linear model's sufficient statistics on scaled
data are an affine transform of those on raw data,

    z = (x - mu) / s:  zbar = (xbar - mu) / s,  Czz = S^-1 Cxx S^-1,
    Czy = S^-1 Cxy,

so the composite keeps the raw statistics and the scaler's moments, downdates
both, and derives the scaled model exactly, touching no retained row.

**Limits.** Steps without a strategy (``RobustScaler``, ``TargetEncoder``,
any estimator) are refit on their retained input with ``fit_transform``, as
``Pipeline.fit`` does, so a cross-fitting ``TargetEncoder`` stays exact in a
``Pipeline`` or ``ColumnTransformer``; inside a ``FeatureUnion`` the union's
output for the retained rows is recomputed with ``transform``, which differs
from ``fit_transform`` for such cross-fitting steps. ``Pipeline(memory=...)``
and ``transform_input`` go to the retrain strategy.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.metadata_routing import process_routing

from ..utils._sklearn_compat import (
    _check_feature_names,
    _get_output_config,
    _is_arraylike,
    _num_samples,
    _routing_enabled,
    _safe_indexing,
    column_transformer_hstack,
    column_transformer_iter,
    column_transformer_record_output_indices,
    pipeline_check_method_params,
)
from ..utils._threads import single_blas_thread
from ._base import (
    ForgetRequest,
    StrategyNotApplicable,
    UnlearningStrategy,
    fit_step,
    get_strategy,
    register_strategy,
    step_guarantee,
    step_plan,
    worst_guarantee,
)
from .linear import _SMALL_D, ClosedFormLinearStrategy, _within_tolerance
from .preprocessing import StandardScalerStrategy
from .retrain import RetrainStrategy

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike
    from ._base import ForgetPlan

__all__ = [
    "ColumnTransformerStrategy",
    "align_forget_columns",
    "FeatureUnionStrategy",
    "PipelineStrategy",
]


# ------------------------------------------------------------------ helpers
def align_forget_columns(pipeline, X):
    """Check a forget DataFrame's columns against the pipeline's, as ``predict`` does.

    Columns missing or extra raise a ``ValueError`` naming them. Columns in
    another order are matched by name when the first step selects columns by
    name (a :class:`~sklearn.compose.ColumnTransformer`, as its ``transform``
    does), and raise scikit-learn's own error otherwise.
    """
    first = next((s for _, s in pipeline.steps if not _is_passthrough(s)), None)
    names = getattr(first, "feature_names_in_", None)
    if names is None or not hasattr(X, "columns"):
        return X
    columns = [str(c) for c in X.columns]
    missing = [c for c in names if c not in columns]
    extra = [c for c in columns if c not in set(names)]
    if missing or extra:
        raise ValueError(
            "The forget set's columns differ from those seen in fit: missing "
            f"{missing}, unexpected {extra}. Nothing was forgotten."
        )
    if list(names) != columns:
        if isinstance(first, ColumnTransformer):
            return X[list(names)]
        _check_feature_names(first, X, reset=False)  # raises sklearn's error
    return X


def _is_passthrough(step):
    return step is None or (isinstance(step, str) and step in ("passthrough", "drop"))


def _split_params(params, n):
    """(per-row params, other params) of ``params`` for ``n`` rows."""
    rows, static = {}, {}
    for k, v in params.items():
        (rows if _is_arraylike(v) and _num_samples(v) == n else static)[k] = v
    return rows, static


def _adopt(strategy, estimator, X, y, params):
    """Attach ``strategy`` to ``estimator`` already fit on ``X`` (by sklearn)."""
    try:
        return strategy, strategy.adopt(estimator, X, y, params)
    except StrategyNotApplicable:
        strategy = RetrainStrategy()
        return strategy, strategy.adopt(estimator, X, y, params)


def _plan_step(strategy, estimator, request):
    """Plan one step's forgetting; the state defaults to the current one."""
    plan = strategy.plan(estimator, request)
    plan.attributes.setdefault("strategy_", strategy)
    return plan


def _refit_step(strategy, estimator, retained, *, reason, transform=False):
    """Plan a refit of a step whose input changed (an upstream step moved)."""
    request = ForgetRequest(
        X=None, y=None, props={}, retained=retained, want_output=transform
    )
    return strategy.refit_plan(estimator, request, reason=reason)


def _chain(commits):
    """One commit callable running the steps' ones in order (None if none)."""
    commits = [c for c in commits if c is not None]
    if not commits:
        return None
    if len(commits) == 1:
        return commits[0]

    def commit():
        for c in commits:
            c()

    return commit


def _step_record(name, plan):
    return {
        "step": name,
        "changed": bool(plan.changed),
        "strategy": plan.strategy,
        **plan.details,
    }


class _CompositeStrategy(UnlearningStrategy):
    """Shared plumbing of the strategies of composite models."""

    keeps_rows = True
    sample_props = None  # every per-row fit parameter may be routed to a step

    def validate_forget(self, estimator: Any, X: MatrixLike) -> Any:
        # The steps validate the forget rows as their transform/predict would.
        return X

    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        # The steps' plans may have effects outside the model (a SISA step's
        # new checkpoint files): undone if a later step fails, and carried by
        # the composite's plan otherwise.
        aborts: list[Any] = []
        try:
            plan = self._plan_steps(estimator, request, aborts)
        except BaseException:
            undo = _chain(aborts[::-1])
            if undo is not None:
                undo()
            raise
        plan.abort = _chain(aborts[::-1])
        return plan

    def _plan_steps(self, estimator, request, aborts):  # pragma: no cover - abstract
        raise NotImplementedError

    def align_forget(self, estimator: Any, X: MatrixLike) -> MatrixLike:
        if isinstance(estimator, ColumnTransformer):
            return align_forget_columns(Pipeline([("ct", estimator)]), X)
        if isinstance(estimator, Pipeline):
            return align_forget_columns(estimator, X)
        return X


# ----------------------------------------------------------------- Pipeline
class PipelineStrategy(_CompositeStrategy):
    """Step-by-step unlearning of a :class:`~sklearn.pipeline.Pipeline`.

    See the module docstring for when a downstream step is refit and when the
    rows are kept. ``fit`` fits each step with its own strategy (equivalent to
    ``Pipeline.fit``; steps whose strategy is a refit use ``fit_transform`` as
    ``Pipeline`` does). Pipelines with ``memory`` or ``transform_input`` go to
    the retrain strategy.
    """

    name = "composite"

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return (
            isinstance(estimator, Pipeline)
            and getattr(estimator, "memory", None) is None
            and getattr(estimator, "transform_input", None) is None
        )

    @classmethod
    def guarantee(cls, estimator: Any) -> str:
        # Approximate as soon as one step is (however nested).
        return worst_guarantee(step_guarantee(s) for _, s in estimator.steps)

    # -------------------------------------------------------------- routing
    def _route(self, pipeline, params):
        """Per-step fit parameters: ``{name: (transformer_params, fit_params)}``."""
        routed = pipeline_check_method_params(pipeline, method="fit", props=params)
        out = {}
        for name, step in pipeline.steps:
            if _is_passthrough(step):
                continue
            r = routed[name]
            out[name] = (
                dict(r.get("fit_transform", {}) or r.get("fit", {})),
                dict(r.get("fit", {})),
            )
        return out

    def _step_params(self, routed, i, name, n_steps):
        if name not in routed:
            return {}
        return routed[name][1] if i == n_steps - 1 else routed[name][0]

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        n = _num_samples(X)
        self.static_params_ = _split_params(fit_params, n)[1]
        routed = self._route(estimator, fit_params)
        fused = self._fused_layout(estimator, X)
        if fused is not None:
            try:
                return self._fit_fused(estimator, X, y, routed, fused)
            except StrategyNotApplicable:
                pass  # e.g. missing values: the step-by-step path handles them
        self.keeps_rows_ = True
        self.fused_ = False
        steps = list(estimator.steps)
        strategies: list[UnlearningStrategy | None] = []
        Xt = X
        for i, (name, step) in enumerate(steps):
            if _is_passthrough(step):
                strategies.append(None)
                continue
            last = i == len(steps) - 1
            params = self._step_params(routed, i, name, len(steps))
            strategy, fitted, out = fit_step(step, Xt, y, params, transform=not last)
            steps[i] = (name, fitted)
            strategies.append(strategy)
            if not last:
                Xt = out
        estimator.steps = steps
        self.steps_ = strategies
        return estimator

    # ---------------------------------------------------------------- fused
    def _fused_layout(self, pipeline, X):
        """``(scaler_index, final_index)`` when the fused path applies, else None."""
        active = [
            i for i, (_, s) in enumerate(pipeline.steps) if not _is_passthrough(s)
        ]
        if len(active) != 2 or active[-1] != len(pipeline.steps) - 1:
            return None
        scaler = pipeline.steps[active[0]][1]
        final = pipeline.steps[active[1]][1]
        if type(scaler) is not StandardScaler or not ClosedFormLinearStrategy.supports(
            final
        ):
            return None
        if get_strategy(final) is not ClosedFormLinearStrategy:
            return None
        if not final.fit_intercept or sp.issparse(X):
            return None
        if _get_output_config("transform", scaler)["dense"] != "default":
            return None
        return tuple(active)

    def _fit_fused(self, pipeline, X, y, routed, layout):
        i_s, i_f = layout
        steps = list(pipeline.steps)
        name_s, scaler = steps[i_s]
        name_f, final = steps[i_f]
        p_s = routed.get(name_s, ({}, {}))[0]
        p_f = routed.get(name_f, ({}, {}))[1]
        self.scaler_state_ = StandardScalerStrategy()
        scaler = self.scaler_state_.fit(clone(scaler), X, y, p_s)
        if self.scaler_state_.keeps_rows_ or np.isnan(self.scaler_state_.count_).any():
            raise StrategyNotApplicable("fused path needs dense input")
        self.raw_ = ClosedFormLinearStrategy()
        # The raw model's statistics; the model itself sees the scaled rows,
        # which have no feature names with the default output.
        raw_X = X.to_numpy() if hasattr(X, "to_numpy") else X
        template = self.raw_.fit(clone(final), raw_X, y, p_f)
        final = self._scaled_model(template, scaler, self.raw_)
        steps[i_s] = (name_s, scaler)
        steps[i_f] = (name_f, final)
        pipeline.steps = steps
        self.fused_ = True
        self.keeps_rows_ = False
        self.layout_ = layout
        return pipeline

    @staticmethod
    def _scaled_model(template, scaler, raw, *, with_info=False):
        """The final model from the raw statistics; with its error bound if asked."""
        stats = raw.stats_
        mu = scaler.mean_ if scaler.with_mean else 0.0
        s = scaler.scale_ if scaler.with_std else np.ones_like(stats.x_mean)
        model, _, info = raw._build(template, stats.affine(mu, s), inverse=None)
        return (model, info) if with_info else model

    def _downdate_raw(self, final, X, y, w):
        """The raw-data statistics without rows ``X`` (as the closed form does)."""
        raw = self.raw_
        k = X.shape[0]
        w = np.ones(k) if w is None else np.asarray(w, dtype=np.float64)
        removed_counts = None
        if raw.classifier_:
            y_idx = np.searchsorted(raw.classes_all_, y)
            Y = np.zeros((k, raw.classes_all_.size))
            Y[np.arange(k), y_idx] = 1.0
            w = w * raw._class_weights(final, y_idx)
            removed_counts = np.bincount(y_idx, minlength=raw.classes_all_.size)
        else:
            Y = np.asarray(y, dtype=np.float64).reshape(k, -1)
        stats, _ = raw.stats_.without(X, Y, w, removed_counts)
        new = copy.copy(raw)
        new.stats_ = stats
        new.inverse_ = None
        return new

    @staticmethod
    def _snap_scaler(scaler, state, stats):
        """Give columns left all 0 or all 1 a refit's moments: variance 0, scale 1.

        The raw statistics know such columns exactly (see ``linear._Stats``);
        the downdated moments hold rounding there, whose square root would
        become a tiny ``scale_`` and blow the column up.
        """
        constant = stats.snapped_x
        if not constant.any():
            return scaler, state
        value = np.where(stats.nonzero == 0, 0.0, 1.0)[constant]
        scaler, state = copy.copy(scaler), copy.copy(state)
        for obj, names in ((scaler, ("mean_", "var_")), (state, ("mean_", "m2_"))):
            for name in names:
                if getattr(obj, name, None) is not None:
                    arr = np.array(getattr(obj, name), copy=True)
                    arr[constant] = value if name == "mean_" else 0.0
                    setattr(obj, name, arr)
        if getattr(scaler, "scale_", None) is not None:
            scale = np.array(scaler.scale_, copy=True)
            scale[constant] = 1.0
            scaler.scale_ = scale
        return scaler, state

    def _unlearn_fused(self, pipeline, X, y, props):
        # Small dense algebra (k x d and d x d): one BLAS thread is faster,
        # far more so on a busy machine (see utils._threads).
        small = pipeline.steps[self.layout_[0]][1].n_features_in_ <= _SMALL_D
        with single_blas_thread(small and _num_samples(X) <= 65536):
            return self._unlearn_fused_impl(pipeline, X, y, props)

    def _unlearn_fused_impl(self, pipeline, X, y, props):
        i_s, i_f = self.layout_
        routed = self._route(pipeline, {**props, **self.static_params_})
        name_s, scaler = pipeline.steps[i_s]
        name_f, final = pipeline.steps[i_f]
        p_s = routed.get(name_s, ({}, {}))[0]
        p_f = routed.get(name_f, ({}, {}))[1]
        result = self.scaler_state_.downdate(scaler, X, p_s.get("sample_weight"))
        if result is None:  # pragma: no cover - dense data without NaN
            raise ValueError("A feature would keep no value; nothing was forgotten.")
        new_scaler, scaler_state = result
        raw_X = X.to_numpy() if hasattr(X, "to_numpy") else X
        raw_X = np.asarray(raw_X, dtype=np.float64)
        raw = self._downdate_raw(final, raw_X, y, p_f.get("sample_weight"))
        new_scaler, scaler_state = self._snap_scaler(
            new_scaler, scaler_state, raw.stats_
        )
        new_final, info = self._scaled_model(final, new_scaler, raw, with_info=True)
        exact = _within_tolerance(info, stacklevel=6)
        new = copy.copy(pipeline)
        steps = list(pipeline.steps)
        steps[i_s] = (name_s, new_scaler)
        steps[i_f] = (name_f, new_final)
        new.steps = steps
        state = copy.copy(self)
        state.scaler_state_ = scaler_state
        state.raw_ = raw
        return step_plan(
            new,
            state,
            strategy="fused_affine_closed_form",
            changed=True,
            details={
                "steps": [
                    {"step": name_s, "strategy": "moments", "changed": True},
                    {
                        "step": name_f,
                        "strategy": "closed_form",
                        "rows_downdated": int(raw_X.shape[0]),
                        **info,
                    },
                ],
            },
            exact=exact,
        )

    # -------------------------------------------------------------- unlearn
    def _plan_steps(self, estimator, request, aborts):
        request.check_no_params("composite")
        X, y, props, retained = request.X, request.y, request.props, request.retained
        if self.fused_:
            return self._unlearn_fused(estimator, X, y, props)
        steps = list(estimator.steps)
        n_steps = len(steps)
        routed_f = self._route(estimator, {**props, **self.static_params_})
        new_steps = list(steps)
        new_strategies = list(self.steps_)
        records = []
        # Retained input of each step, computed lazily through the NEW steps.
        cache = {}

        def retained_at(i):
            if i not in cache:
                if i == 0:
                    cache[0] = retained()
                else:
                    X_r, y_r, props_r = retained_at(i - 1)
                    prev = new_steps[i - 1][1]
                    if _is_passthrough(prev) or i - 1 == n_steps - 1:
                        cache[i] = (X_r, y_r, props_r)
                    else:
                        cache[i] = (prev.transform(X_r), y_r, props_r)
            return cache[i]

        def retained_for(i, name):
            def get():
                X_r, y_r, props_r = retained_at(i)
                routed_r = self._route(estimator, {**props_r, **self.static_params_})
                return X_r, y_r, self._step_params(routed_r, i, name, n_steps)

            return get

        changed = False
        exact = True
        commits = []
        Xf = X
        for i, (name, step) in enumerate(steps):
            if _is_passthrough(step):
                continue
            last = i == n_steps - 1
            strategy = self.steps_[i]
            if changed:
                upd = _refit_step(
                    strategy,
                    step,
                    retained_for(i, name),
                    reason="an upstream step's output changed",
                    transform=not last,
                )
            else:
                upd = _plan_step(
                    strategy,
                    step,
                    ForgetRequest(
                        X=Xf,
                        y=y,
                        props=self._step_params(routed_f, i, name, n_steps),
                        retained=retained_for(i, name),
                        want_output=not last,
                    ),
                )
                if not last:
                    # Unchanged upstream: the forget rows' input to the next
                    # step is what it saw in fit.
                    Xf = step.transform(Xf)
            new_steps[i] = (name, upd.estimator)
            new_strategies[i] = upd.state
            if upd.retained_output is not None and not last:
                X_r, y_r, props_r = retained_at(i)
                cache[i + 1] = (upd.retained_output, y_r, props_r)
            records.append(_step_record(name, upd))
            commits.append(upd.commit)
            aborts.append(upd.abort)
            changed = changed or upd.changed
            exact = exact and upd.exact
        new = copy.copy(estimator)
        new.steps = new_steps
        state = copy.copy(self)
        state.steps_ = new_strategies
        return step_plan(
            new,
            state,
            strategy=self.name,
            changed=changed,
            exact=exact,
            details={"steps": records},
            commit=_chain(commits),
        )


# --------------------------------------------------------- parallel composites
def _block_stats(out):
    """``(is_sparse, nnz as ColumnTransformer counts it, n_columns)`` of an output."""
    if sp.issparse(out):
        return True, int(out.nnz), out.shape[1]
    return False, None, out.shape[1]


class ColumnTransformerStrategy(_CompositeStrategy):
    """Exact unlearning of a :class:`~sklearn.compose.ColumnTransformer`.

    Each fitted transformer unlearns its columns of the forget rows. The
    fitted ``transformers_`` are replaced; ``output_indices_`` and
    ``sparse_output_`` (which depends on the density of the whole output, so
    on the rows) are recomputed as ``fit_transform`` does: from each block's
    non-zero count, downdated when the block's transformer did not change and
    recounted on the retained rows when it did.
    """

    name = "column_transformer"
    own_fit_transform = True

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, ColumnTransformer)

    @classmethod
    def guarantee(cls, estimator: Any) -> str:
        return worst_guarantee(
            step_guarantee(t)
            for t in [t for _, t, _ in estimator.transformers] + [estimator.remainder]
        )

    @staticmethod
    def _fitted(ct):
        return [
            (name, trans, cols)
            for name, trans, cols, _ in column_transformer_iter(
                ct,
                fitted=True,
                column_as_labels=False,
                skip_drop=True,
                skip_empty_columns=True,
            )
        ]

    def _sub_params(self, ct, props):
        if not props or not _routing_enabled():
            return {}
        routed = process_routing(ct, "fit_transform", **props)
        return {
            name: dict(
                routed[name].get("fit_transform", {}) or routed[name].get("fit", {})
            )
            for name, _, _ in self._fitted(ct)
        }

    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        return self.fit_transform(estimator, X, y, fit_params)[0]

    def fit_transform(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> tuple[Any, Any]:
        """Fit as :meth:`fit`; also return ``estimator.fit_transform``'s output."""
        output = estimator.fit_transform(X, y, **fit_params)
        n = _num_samples(X)
        self.static_params_ = _split_params(fit_params, n)[1]
        sub_params = self._sub_params(estimator, fit_params)
        self.subs_ = {}
        self.blocks_ = {}
        fitted = []
        for name, trans, cols in self._fitted(estimator):
            Xc = _safe_indexing(X, cols, axis=1)
            strategy, trans2 = _adopt(
                get_strategy(trans)(), trans, Xc, y, sub_params.get(name, {})
            )
            self.subs_[name] = strategy
            fitted.append((name, trans2))
            self.blocks_[name] = _block_stats(trans2.transform(Xc))
        self.n_rows_ = n
        mapping = dict(fitted)
        estimator.transformers_ = [
            (name, mapping.get(name, trans), cols)
            for name, trans, cols in estimator.transformers_
        ]
        return estimator, output

    def _plan_steps(self, estimator, request, aborts):
        X, y, props, retained = request.X, request.y, request.props, request.retained
        sub_f = self._sub_params(estimator, {**props, **self.static_params_})
        k = _num_samples(X)
        cache = {}

        def retained_cols(name, cols):
            def get():
                if "r" not in cache:
                    X_r, y_r, props_r = retained()
                    cache["r"] = (X_r, y_r, props_r)
                    cache["p"] = self._sub_params(
                        estimator, {**props_r, **self.static_params_}
                    )
                X_r, y_r, _ = cache["r"]
                return _safe_indexing(X_r, cols, axis=1), y_r, cache["p"].get(name, {})

            return get

        new_subs = {}
        sub_outputs = {}
        new_strategies = dict(self.subs_)
        blocks = dict(self.blocks_)
        records = []
        commits = []
        changed_any = False
        exact = True
        for name, trans, cols in self._fitted(estimator):
            Xc = _safe_indexing(X, cols, axis=1)
            strategy = self.subs_[name]
            upd = _plan_step(
                strategy,
                trans,
                ForgetRequest(
                    X=Xc,
                    y=y,
                    props=sub_f.get(name, {}),
                    retained=retained_cols(name, cols),
                    want_output=True,
                ),
            )
            if upd.retained_output is not None:
                # e.g. TargetEncoder: fit_transform is not fit().transform()
                sub_outputs[name] = upd.retained_output
            new_subs[name] = upd.estimator
            new_strategies[name] = upd.state
            records.append(_step_record(name, upd))
            commits.append(upd.commit)
            aborts.append(upd.abort)
            exact = exact and upd.exact
            changed_any = changed_any or upd.changed
            if not upd.changed:
                is_sparse, nnz, n_cols = self.blocks_[name]
                if is_sparse:
                    nnz -= int(trans.transform(Xc).nnz)
                blocks[name] = (is_sparse, nnz, n_cols)
        new = copy.copy(estimator)
        new.transformers_ = [
            (name, new_subs.get(name, trans), cols)
            for name, trans, cols in estimator.transformers_
        ]
        n_r = self.n_rows_ - k
        retained_output = None
        if changed_any:
            X_r = retained_cols(None, slice(None))()[0]
            outs = [
                sub_outputs[name]
                if name in sub_outputs
                else new_subs[name].transform(_safe_indexing(X_r, cols, axis=1))
                for name, _, cols in self._fitted(estimator)
            ]
            for (name, _, _), out in zip(self._fitted(estimator), outs):
                blocks[name] = _block_stats(out)
            self._set_sparse_output(new, blocks, n_r)
            column_transformer_record_output_indices(new, outs)
            retained_output = (
                column_transformer_hstack(new, list(outs), n_samples=n_r)
                if outs
                else None
            )
        else:
            self._set_sparse_output(new, blocks, n_r)
        changed = changed_any or new.sparse_output_ != estimator.sparse_output_
        state = copy.copy(self)
        state.subs_ = new_strategies
        state.blocks_ = blocks
        state.n_rows_ = n_r
        return step_plan(
            new,
            state,
            strategy=self.name,
            changed=changed,
            exact=exact,
            details={"steps": records},
            retained_output=retained_output,
            commit=_chain(commits),
        )

    @staticmethod
    def _set_sparse_output(ct, blocks, n_rows):
        if not any(b[0] for b in blocks.values()):
            ct.sparse_output_ = False
            return
        nnz = sum(b[1] if b[0] else n_rows * b[2] for b in blocks.values())
        total = sum(n_rows * b[2] for b in blocks.values())
        ct.sparse_output_ = (nnz / total if total else 0.0) < ct.sparse_threshold


class FeatureUnionStrategy(_CompositeStrategy):
    """Exact unlearning of a :class:`~sklearn.pipeline.FeatureUnion`.

    Every transformer sees the same input; each unlearns with its own
    strategy and the union's output changed when any of theirs did.
    """

    name = "feature_union"

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, FeatureUnion)

    @classmethod
    def guarantee(cls, estimator: Any) -> str:
        return worst_guarantee(step_guarantee(t) for _, t in estimator.transformer_list)

    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        estimator.fit(X, y, **fit_params)
        self.static_params_ = _split_params(fit_params, _num_samples(X))[1]
        self.subs_ = {}
        new_list = []
        for name, trans in estimator.transformer_list:
            if _is_passthrough(trans):
                new_list.append((name, trans))
                continue
            strategy, trans2 = _adopt(get_strategy(trans)(), trans, X, y, {})
            self.subs_[name] = strategy
            new_list.append((name, trans2))
        estimator.transformer_list = new_list
        return estimator

    def _plan_steps(self, estimator, request, aborts):
        new_list = []
        new_strategies = dict(self.subs_)
        records = []
        commits = []
        changed = False
        exact = True
        for name, trans in estimator.transformer_list:
            if name not in self.subs_:
                new_list.append((name, trans))
                continue
            upd = _plan_step(
                self.subs_[name],
                trans,
                ForgetRequest(
                    X=request.X, y=request.y, props={}, retained=request.retained
                ),
            )
            new_list.append((name, upd.estimator))
            new_strategies[name] = upd.state
            records.append(_step_record(name, upd))
            commits.append(upd.commit)
            aborts.append(upd.abort)
            changed = changed or upd.changed
            exact = exact and upd.exact
        new = copy.copy(estimator)
        new.transformer_list = new_list
        state = copy.copy(self)
        state.subs_ = new_strategies
        return step_plan(
            new,
            state,
            strategy=self.name,
            changed=changed,
            exact=exact,
            details={"steps": records},
            commit=_chain(commits),
        )


register_strategy(Pipeline, PipelineStrategy)
register_strategy(ColumnTransformer, ColumnTransformerStrategy)
register_strategy(FeatureUnion, FeatureUnionStrategy)
