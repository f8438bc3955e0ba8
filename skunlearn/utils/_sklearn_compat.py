"""The private scikit-learn names skunlearn uses, all in one module.

skunlearn works from inside scikit-learn's estimators: it validates
parameters with scikit-learn's constraint objects, edits the index of a
fitted nearest-neighbours estimator, recomputes naive Bayes'
log-probabilities after changing its counts, stacks a ``ColumnTransformer``'s
outputs, and routes ``unlearn`` metadata. None of this is public API:
scikit-learn may rename, move or change any of it in a release without a
deprecation cycle.

This module is the only one in the package that imports private
scikit-learn names (``tests/utils/test_sklearn_compat_imports.py`` fails on
any other) or reads scikit-learn's private attributes (through the small
helpers below). Supporting a new scikit-learn release means editing this file
alone: re-export a moved name from its new place, or gate a helper on
:data:`sklearn_version`.

Supported scikit-learn versions: ``>=1.8,<1.10``, the range declared in
``pyproject.toml``; CI tests both ends. Features that only exist from 1.9 on
(e.g. ``TargetEncoder(cv=splitter)``) are reported by the ``SKLEARN_*`` flags
below, and the tests that need them skip on 1.8.
"""

# SPDX-License-Identifier: BSD-3-Clause

# Private names are re-exported as they are: their signatures and behaviour
# are the same across the supported range.
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import sklearn
from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
from sklearn.impute._base import _safe_min
from sklearn.linear_model._linear_loss import LinearModelLoss
from sklearn.model_selection._search import BaseSearchCV
from sklearn.neighbors._base import VALID_METRICS
from sklearn.pipeline import Pipeline, _final_estimator_has, _name_estimators
from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature
from sklearn.utils import _metadata_requests, _safe_indexing
from sklearn.utils._encode import _encode
from sklearn.utils._mask import _get_mask
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
)
from sklearn.utils._set_output import _get_output_config, _safe_set_output
from sklearn.utils.fixes import parse_version
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    _check_sample_weight,
    _is_arraylike,
    _num_samples,
)

if TYPE_CHECKING:
    _F = TypeVar("_F", bound=Callable[..., Any])

    # scikit-learn ships no type information: to a type checker its decorator
    # would turn every decorated ``fit`` into ``Any``. It returns a wrapper
    # with the method's signature.
    def _fit_context(*, prefer_skip_nested_validation: bool) -> Callable[[_F], _F]:
        """``sklearn.base._fit_context``, as a type checker sees it."""

    def validate_params(
        parameter_constraints: dict[str, Any], *, prefer_skip_nested_validation: bool
    ) -> Callable[[_F], _F]:
        """``sklearn.utils._param_validation.validate_params``, typed."""

else:
    from sklearn.base import _fit_context
    from sklearn.utils._param_validation import validate_params

__all__ = [
    "SKLEARN_TARGET_ENCODER_CV_SPLITTER",
    "BaseSearchCV",
    "HalfBinomialLoss",
    "HalfMultinomialLoss",
    "HasMethods",
    "Interval",
    "LinearModelLoss",
    "RealNotInt",
    "StrOptions",
    "VALID_METRICS",
    "_check_feature_names",
    "_check_n_features",
    "_check_sample_weight",
    "_encode",
    "_final_estimator_has",
    "_fit_context",
    "_get_mask",
    "_get_output_config",
    "_handle_zeros_in_scale",
    "_is_arraylike",
    "_is_constant_feature",
    "_metadata_requests",
    "_name_estimators",
    "_num_samples",
    "_routing_enabled",
    "_safe_indexing",
    "_safe_min",
    "_safe_set_output",
    "binary_tree_metric",
    "binary_tree_set_data",
    "column_transformer_hstack",
    "column_transformer_iter",
    "column_transformer_record_output_indices",
    "encoder_check_X",
    "knn_fit_X",
    "knn_fit_method",
    "knn_fit_y",
    "knn_tree",
    "naive_bayes_check_X",
    "naive_bayes_update_log_probs",
    "pipeline_can_fit_transform",
    "pipeline_check_method_params",
    "pipeline_validate_steps",
    "register_unlearn_method",
    "ridge_classifier_set_label_binarizer",
    "set_knn_fit_data",
    "simple_imputer_validate_input",
    "sklearn_version",
    "validate_estimator_params",
    "validate_params",
]

sklearn_version = parse_version(parse_version(sklearn.__version__).base_version)

# ``TargetEncoder(cv=...)`` takes a splitter object (not only an int) from
# scikit-learn 1.9 on.
SKLEARN_TARGET_ENCODER_CV_SPLITTER = sklearn_version >= parse_version("1.9")


# ---------------------------------------------------------------- routing
def register_unlearn_method():
    """Let scikit-learn's metadata routing know the ``unlearn`` method.

    scikit-learn routes metadata only for the methods listed in
    ``SIMPLE_METHODS``; adding ``unlearn`` there (as imbalanced-learn adds
    ``fit_resample``) generates ``set_unlearn_request`` on every estimator
    class defined afterwards and lets meta-estimators route ``unlearn``
    parameters. The lists are mutated in place because scikit-learn's
    functions hold references to them. Calling this again does nothing.
    """
    for name in ("SIMPLE_METHODS", "METHODS"):
        methods = getattr(_metadata_requests, name)
        if "unlearn" not in methods:
            methods.append("unlearn")


# ------------------------------------------------------------- estimators
def validate_estimator_params(estimator):
    """Check ``estimator``'s parameters against its ``_parameter_constraints``.

    What ``fit`` does first, for strategies that fit the model themselves.
    """
    estimator._validate_params()


# --------------------------------------------------------------- pipeline
def pipeline_validate_steps(pipeline):
    """Check a pipeline's steps as :meth:`Pipeline.fit` does (raises if bad)."""
    pipeline._validate_steps()


def pipeline_can_fit_transform(pipeline):
    """Whether the pipeline's last step has ``fit_transform`` or ``transform``.

    The check of ``Pipeline.fit_transform``'s ``available_if``.
    """
    return Pipeline._can_fit_transform(pipeline)


def pipeline_check_method_params(pipeline, method, props):
    """Per-step parameters of ``method`` (routed, or split on ``step__param``).

    Returns ``{step_name: Bunch(method_name=params)}``, as ``Pipeline.fit``
    uses it.
    """
    return pipeline._check_method_params(method=method, props=props)


# ------------------------------------------------------ column transformer
def column_transformer_iter(
    ct, *, fitted, column_as_labels, skip_drop, skip_empty_columns
):
    """``(name, transformer, columns, weight)`` of a ``ColumnTransformer``.

    ``fitted=True`` iterates over the fitted transformers (``transformers_``).
    """
    return ct._iter(
        fitted=fitted,
        column_as_labels=column_as_labels,
        skip_drop=skip_drop,
        skip_empty_columns=skip_empty_columns,
    )


def column_transformer_record_output_indices(ct, Xs):
    """Set ``ct.output_indices_`` from the fitted transformers' outputs ``Xs``."""
    ct._record_output_indices(Xs)


def column_transformer_hstack(ct, Xs, n_samples):
    """Stack the transformers' outputs ``Xs`` as ``ct.transform`` does."""
    return ct._hstack(Xs, n_samples=n_samples)


# ------------------------------------------------------------ naive Bayes
def naive_bayes_check_X(estimator, X):
    """``X`` validated as the naive Bayes estimator's ``fit`` validates it."""
    return estimator._check_X(X)


def naive_bayes_update_log_probs(estimator):
    """Recompute a discrete naive Bayes' log-probabilities from its counts.

    After ``feature_count_`` and ``class_count_`` were edited: what
    ``partial_fit`` does once it has added its counts.
    """
    estimator._update_feature_log_prob(estimator._check_alpha())
    estimator._update_class_log_prior(class_prior=estimator.class_prior)


# ---------------------------------------------------------- preprocessing
def simple_imputer_validate_input(estimator, X, in_fit):
    """``X`` validated as a ``SimpleImputer`` validates it (dense, its dtype)."""
    return estimator._validate_input(X, in_fit=in_fit)


def encoder_check_X(estimator, X, *, ensure_all_finite):
    """An encoder's columns of ``X``: ``(columns, n_samples, n_features)``."""
    return estimator._check_X(X, ensure_all_finite=ensure_all_finite)


# ------------------------------------------------------------ linear models
def ridge_classifier_set_label_binarizer(estimator, label_binarizer):
    """Give a ``RidgeClassifier`` the fitted ``LabelBinarizer`` it predicts with."""
    estimator._label_binarizer = label_binarizer


# -------------------------------------------------------- nearest neighbors
# A fitted ``KNeighbors*``/``RadiusNeighbors*``/``NearestNeighbors`` searches
# ``_fit_X`` (its training rows) with the algorithm ``_fit_method`` through
# ``_tree`` (a ``KDTree``/``BallTree``, None for brute force); a supervised
# one predicts from ``_y``.
def knn_fit_X(estimator):
    """The training rows a fitted neighbors estimator searches."""
    return estimator._fit_X


def knn_fit_y(estimator):
    """The (encoded) targets of the rows, or None (unsupervised estimator)."""
    return getattr(estimator, "_y", None)


def knn_tree(estimator):
    """The ``KDTree``/``BallTree`` index, None for brute force."""
    return estimator._tree


def knn_fit_method(estimator):
    """The search algorithm in use: ``'kd_tree'``, ``'ball_tree'`` or ``'brute'``."""
    return estimator._fit_method


_UNSET = object()


def set_knn_fit_data(estimator, *, X=_UNSET, y=_UNSET, tree=_UNSET, method=_UNSET):
    """Replace the arrays, index or algorithm of a fitted neighbors estimator.

    Only the arguments given are set: ``X`` the training rows, ``y`` their
    targets, ``tree`` the index (None for brute force), ``method`` its
    algorithm.
    """
    if X is not _UNSET:
        estimator._fit_X = X
    if y is not _UNSET:
        estimator._y = y
    if tree is not _UNSET:
        estimator._tree = tree
    if method is not _UNSET:
        estimator._fit_method = method


# ``BinaryTree.__getstate__`` (the base of ``KDTree`` and ``BallTree``) returns
# ``(data, idx_array, node_data, node_bounds, leaf_size, n_levels, n_nodes,
# n_trims, n_leaves, n_splits, n_calls, dist_metric, sample_weight)``.
_TREE_METRIC = 11


def binary_tree_set_data(tree, data):
    """Make a ``KDTree``/``BallTree`` read the rows ``data`` (same layout).

    The tree keeps its nodes and index array: ``data`` must hold the rows it
    indexes, in the same positions.
    """
    state = tree.__getstate__()
    tree.__setstate__((data,) + tuple(state[1:]))


def binary_tree_metric(tree):
    """The ``DistanceMetric`` object a ``KDTree``/``BallTree`` measures with."""
    return tree.__getstate__()[_TREE_METRIC]
