"""A scikit-learn ``Pipeline`` that can forget rows: ``Pipeline``, ``make_pipeline``.

The subclass adds :meth:`~skunlearn.base.UnlearningMixin.unlearn` to
scikit-learn's :class:`~sklearn.pipeline.Pipeline` the way imbalanced-learn
adds ``fit_resample``: everything else is scikit-learn's. It shares its
strategy with ``Unlearnable(pipeline)``
(:class:`~skunlearn.strategies.composite.PipelineStrategy`).
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from sklearn.pipeline import Pipeline as _Pipeline
from sklearn.utils.metaestimators import available_if

from .base import UnlearningMixin, UnlearnUpdate
from .strategies._base import ForgetRequest, as_model_plan, check_forget_2d
from .strategies.composite import (
    PipelineStrategy,
    _is_passthrough,
    _split_params,
    align_forget_columns,
)
from .utils._sklearn_compat import (
    _check_n_features,
    _final_estimator_has,
    _fit_context,
    _name_estimators,
    _num_samples,
    pipeline_can_fit_transform,
    pipeline_validate_steps,
)

if TYPE_CHECKING:
    from joblib import Memory

    from .utils._typing import ArrayLike, MatrixLike

__all__ = ["Pipeline", "make_pipeline"]


class Pipeline(UnlearningMixin, _Pipeline):
    """A :class:`sklearn.pipeline.Pipeline` with an exact ``unlearn`` method.

    ``fit`` fits each step with its unlearning strategy (the same fitted
    steps as scikit-learn's ``Pipeline.fit``); ``unlearn`` forgets rows step
    by step: a step unlearns incrementally while the steps before it are
    unchanged, and is refit on the retained rows once an upstream step's output
    changed. ``unlearn_history_`` lists, step by step, what was done.
    ``[StandardScaler, Ridge/LinearRegression/RidgeClassifier]`` takes a fused
    closed-form path that touches no retained row (and keeps none).

    Parameters
    ----------
    steps : list of tuples
        ``(name, estimator)`` pairs, as for :class:`sklearn.pipeline.Pipeline`.
        Steps may be unlearning estimators themselves; their own ``unlearn``
        is used.

    transform_input : list of str, default=None
        Not supported by ``unlearn`` (must be None); kept for API compatibility.

    memory : str or object with the joblib.Memory interface, default=None
        Ignored by ``fit`` (the steps are fit by their strategies).

    verbose : bool, default=False
        As in :class:`sklearn.pipeline.Pipeline`.

    Attributes
    ----------
    named_steps : :class:`~sklearn.utils.Bunch`
        Access the steps by name.

    unlearn_strategy_ : PipelineStrategy
        The strategy's state (per-step states, or the fused statistics).

    ledger_ : TrainingLedger
        Fingerprints of the retained rows (and the rows themselves unless the
        fused path applies).

    unlearn_history_ : list of dict
        One record per :meth:`unlearn` call; ``details["steps"]`` says, step by
        step, what was done.

    n_features_in_ : int
        Number of features seen during :term:`fit` (from the first step).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit` (from the first step).

    See Also
    --------
    make_pipeline : Build a :class:`Pipeline` from estimators.
    skunlearn.Unlearnable : Wraps any pipeline with the same strategy.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skunlearn.pipeline import make_pipeline
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(200, 3), rng.randn(200)
    >>> pipe = make_pipeline(StandardScaler(), Ridge()).fit(X, y)
    >>> pipe.unlearn(X[:5]).unlearn_history_[-1]["details"]["strategy"]
    'fused_affine_closed_form'
    >>> refit = make_pipeline(StandardScaler(), Ridge()).fit(X[5:], y[5:])
    >>> bool(np.allclose(pipe.predict(X), refit.predict(X), rtol=1e-10))
    True
    """

    unlearn_strategy_: PipelineStrategy

    def __init__(
        self,
        steps: list[tuple[str, Any]],
        *,
        transform_input: list[str] | None = None,
        memory: str | Memory | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            steps, transform_input=transform_input, memory=memory, verbose=verbose
        )

    @_fit_context(
        # estimators in Pipeline.steps are not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X: MatrixLike, y: ArrayLike | None = None, **params: Any) -> Self:
        """Fit every step with its unlearning strategy.

        Parameters
        ----------
        X : iterable
            Training data; must fulfil the input requirements of the first step.

        y : iterable, default=None
            Training targets.

        **params : dict of str -> object
            ``stepname__param`` fit parameters (or, with metadata routing
            enabled, parameters routed to the steps that request them).
            Per-row parameters such as ``sample_weight`` are kept with their
            rows and forgotten with them.

        Returns
        -------
        self : Pipeline
            This estimator.
        """
        if self.transform_input is not None:
            raise ValueError(
                "skunlearn's Pipeline does not support transform_input; use "
                "Unlearnable(sklearn.pipeline.Pipeline(...)) (retrain strategy)."
            )
        pipeline_validate_steps(self)
        strategy = PipelineStrategy()
        strategy.fit(self, X, y, params)
        self.unlearn_strategy_ = strategy
        n = _num_samples(X)
        props = _split_params(params, n)[0]
        self._init_ledger(X, y, props, keep_X=strategy.keeps_rows_)
        return self

    @available_if(pipeline_can_fit_transform)
    def fit_transform(
        self, X: MatrixLike, y: ArrayLike | None = None, **params: Any
    ) -> Any:
        """Fit, then transform ``X`` with the fitted steps.

        Parameters
        ----------
        X : iterable
            Training data.

        y : iterable, default=None
            Training targets.

        **params : dict of str -> object
            Fit parameters, as for :meth:`fit`.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_transformed_features)
            Transformed samples.
        """
        return self.fit(X, y, **params).transform(X)

    @available_if(_final_estimator_has("fit_predict"))
    def fit_predict(
        self, X: MatrixLike, y: ArrayLike | None = None, **params: Any
    ) -> Any:
        """Fit, then predict ``X`` with the fitted steps.

        Parameters
        ----------
        X : iterable
            Training data.

        y : iterable, default=None
            Training targets.

        **params : dict of str -> object
            Fit parameters, as for :meth:`fit`.

        Returns
        -------
        y_pred : ndarray
            Predictions.
        """
        return self.fit(X, y, **params).predict(X)

    def _validate_forget_data(self, X, y):
        X = align_forget_columns(self, X)
        # The shape as predict would check it, before rows are matched (a
        # wrong shape is not "rows never seen"); the steps validate the values
        # themselves (a DataFrame keeps its column dtypes), and warn about
        # feature names as in predict. The first step checks, as in predict.
        first = next((s for _, s in self.steps if not _is_passthrough(s)), self)
        check_forget_2d(X, first)
        _check_n_features(first, X, reset=False)
        return X, self._validate_forget_target(y, _num_samples(X))

    def _unlearn(self, match, X, y, **params):
        strategy = self.unlearn_strategy_
        request = ForgetRequest.from_ledger(self.ledger_, match, X, params)
        plan = as_model_plan(strategy.plan(self, request), strategy)
        return UnlearnUpdate(
            attributes={
                "steps": plan.estimator.steps,
                "unlearn_strategy_": plan.state or strategy,
            },
            strategy=plan.strategy,
            exact=plan.exact,
            details=plan.details,
            retained=request.built_retained(),
            commit=plan.commit,
            abort=plan.abort,
        )

    def _get_unlearning_guarantee(self):
        # From the steps' parameters, as for Unlearnable(pipeline): the same
        # before and after fit.
        return PipelineStrategy.guarantee(self)


def make_pipeline(
    *steps: Any,
    memory: str | Memory | None = None,
    transform_input: list[str] | None = None,
    verbose: bool = False,
) -> Pipeline:
    """Build a skunlearn :class:`Pipeline` from estimators, naming them automatically.

    As :func:`sklearn.pipeline.make_pipeline`: each step is named after its
    class in lower case (with a number when two steps share a class).

    Parameters
    ----------
    *steps : list of estimators
        The steps, in order.

    memory : str or object with the joblib.Memory interface, default=None
        Ignored by ``fit`` (see :class:`Pipeline`).

    transform_input : list of str, default=None
        Not supported (must be None).

    verbose : bool, default=False
        As in :func:`sklearn.pipeline.make_pipeline`.

    Returns
    -------
    p : Pipeline
        A pipeline with an ``unlearn`` method.

    See Also
    --------
    Pipeline : The class built.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skunlearn.pipeline import make_pipeline
    >>> make_pipeline(StandardScaler(), Ridge())
    Pipeline(steps=[('standardscaler', StandardScaler()), ('ridge', Ridge())])
    """
    return Pipeline(
        _name_estimators(steps),
        transform_input=transform_input,
        memory=memory,
        verbose=verbose,
    )
