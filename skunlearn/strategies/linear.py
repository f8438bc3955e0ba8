"""Closed-form unlearning for least squares: LinearRegression, Ridge, RidgeClassifier.

The fitted model is a function of sufficient statistics: the weighted mean of
the rows and targets, and the centred cross-products

    Cxx = sum_i w_i (x_i - xbar)(x_i - xbar)^T
    Cxy = sum_i w_i (x_i - xbar)(y_i - ybar)^T

(uncentred when ``fit_intercept=False``). Forgetting rows subtracts their
contribution with the reverse of Chan et al.'s parallel update, which keeps
the statistics centred at the *retained* rows' mean (no cancellation, no trace
of the forgotten rows' mean), then re-solves ``(Cxx + alpha I) W = Cxy``:
exactly the normal equations a refit on the retained rows solves. No raw row
is kept.

Cost per request of ``k`` rows with ``d`` features: ``O(k d^2)`` for the
downdate, then either a Cholesky refactorisation ``O(d^3)`` or, when
``k + 1 < d / 6`` and an inverse is held, a Woodbury update ``O(k d^2)``.

**Numerical drift.** A downdate is only as accurate as the statistics it
subtracts from, and their rounding is relative to everything ever added to or
removed from them (their *mass*), while a refit's is relative to the retained
rows alone: forgetting a row that carried most of a feature's variance (an
extreme-leverage row) leaves that feature's statistics mostly rounding. Each
request therefore bounds the relative error of its solution, in ``O(d^2)``,
from two facts:

- how large the rounding mass of each column may be: ``rho`` times its
  retained variance (``rho`` is 1 after ``fit`` and is carried from request to
  request as one number, so that no per-feature trace of the forgotten rows
  is kept), or the total mass for the few columns whose retained variance fell
  below ``1e-8`` of it ("collapsed" columns). The rounding of the means, which
  the downdate uses, adds to it; the means are kept as a coarse origin plus a
  small deviation, so that large offsets cost no digits;
- ``|A^-1| s``, with ``A = Cxx + alpha I`` and ``s`` the square roots of
  those masses: how the normal equations amplify that rounding, read off the
  inverse that the Woodbury path holds anyway (a refactorisation computes
  it).

The bound is a worst case: on random adversarial designs (correlated
features, extreme-leverage rows, offsets, long sequences of requests, rank
changes) it exceeded the error actually made, against a scikit-learn refit,
every time, typically by two orders of magnitude.

A Woodbury solution is refined once against the downdated statistics and
kept only when the downdated matrix is positive definite and the correction is
below ``1e-10``; otherwise the statistics are refactorised (recorded as
``"fallback": "refactorize"``). When the bound exceeds the contract's ``1e-9``
the request is recorded as approximate (``exact=False``) with a
:class:`~skunlearn.exceptions.NumericalDriftWarning`: no row is kept, so only a
refit restores exactness. Columns left all 0 or all 1 (e.g. the only row of a
one-hot category was forgotten) are known exactly from per-feature counts of
such values, and their statistics are set to their exact values.

``LinearRegression`` answers as scikit-learn's does: the minimum-norm
solution of ``scipy.linalg.lstsq``, which treats singular values of the
centred design below ``cond`` times the largest as zero. The eigenvalues of
``Cxx`` are those singular values squared: a design clearly of full rank is
solved by Cholesky, any other by a truncated eigendecomposition with the same
cutoff, and a rank that rounding leaves undecided is recorded as approximate.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.linear_model import LinearRegression, Ridge, RidgeClassifier
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.fixes import parse_version
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ..exceptions import NumericalDriftWarning
from ..utils._sklearn_compat import (
    _check_sample_weight,
    ridge_classifier_set_label_binarizer,
    sklearn_version,
    validate_estimator_params,
)
from ..utils._threads import single_blas_thread, warm_up
from ._base import (
    StrategyNotApplicable,
    UnlearningStrategy,
    _shallow_copy,
    register_strategy,
    step_plan,
)

if TYPE_CHECKING:
    from ..utils._typing import ArrayLike, MatrixLike
    from ._base import ForgetPlan, ForgetRequest

__all__ = ["ClosedFormLinearStrategy"]

_CHUNK = 65536
_WOODBURY_MIN_D = 64
_SMALL_D = 512  # below this, one BLAS thread is faster for d x d work
# The contract: a closed-form model is within 1e-9 (relative) of a refit.
_TOL = 1e-9
# Rounding of a statistic per unit of its mass: a few ulps (blocked BLAS sums
# and the downdate's few operations). At 4 ulps the bound still exceeded the
# measured error on 2,800 adversarial designs, by 1.7x at least; 8 for margin.
_ROUNDING = 8 * np.finfo(np.float64).eps
_WOODBURY_TOL = 1e-10  # largest relative correction of a kept Woodbury solution
_COLLAPSED = 1e8  # mass / retained variance beyond which a column has collapsed
_RIDGE_SVD_CUTOFF = 1e-30  # Ridge's SVD fallback keeps singular values > 1e-15


class _Moments(NamedTuple):
    """Weighted moments of some rows, with what bounds their rounding.

    Per column (features, then targets): the mean is ``shift + dev``, with
    ``shift`` a provisional centre and ``dev`` small, so that both are exact
    to a few ulps of ``dev`` even when the mean is large.
    """

    sw: float
    shift: np.ndarray
    dev: np.ndarray
    Cxx: np.ndarray
    Cxy: np.ndarray
    y_ss: np.ndarray  # diagonal of Cyy
    mass: np.ndarray  # per column, the sum of squares accumulated
    nonzero: np.ndarray  # per feature, rows whose value is not 0
    nonone: np.ndarray  # per feature, rows whose value is not 1


def _weighted_moments(X, Y, w, center):
    """Sufficient statistics of rows ``X`` (n, d), targets ``Y`` (n, t).

    With ``center=False`` the means are zero and the cross-products uncentred.
    Computed in chunks around a provisional centre (the first chunk's mean) so
    that large offsets cause no cancellation.
    """
    n, d = X.shape
    t = Y.shape[1]
    sw = float(w.sum())
    if not center:
        shift_x, shift_y = np.zeros(d), np.zeros(t)
    else:
        shift_x = np.asarray(X[:_CHUNK], dtype=np.float64).mean(axis=0)
        shift_y = np.asarray(Y[:_CHUNK], dtype=np.float64).mean(axis=0)
    G = np.zeros((d, d))
    B = np.zeros((d, t))
    sx = np.zeros(d)
    sy = np.zeros(t)
    yy = np.zeros(t)
    nonzero = np.zeros(d, dtype=np.int64)
    nonone = np.zeros(d, dtype=np.int64)
    uniform = bool(np.all(w == 1.0))
    for s in range(0, n, _CHUNK):
        raw = np.asarray(X[s : s + _CHUNK], dtype=np.float64)
        nonzero += np.count_nonzero(raw, axis=0)
        nonone += np.count_nonzero(raw != 1.0, axis=0)
        Xs = raw - shift_x
        Ys = np.asarray(Y[s : s + _CHUNK], dtype=np.float64) - shift_y
        if uniform:
            sx += Xs.sum(axis=0)
            sy += Ys.sum(axis=0)
        else:
            ws = w[s : s + _CHUNK]
            sx += ws @ Xs
            sy += ws @ Ys
            root = np.sqrt(ws)[:, None]
            Xs *= root
            Ys *= root
        G += Xs.T @ Xs  # same buffer on both sides: BLAS syrk
        B += Xs.T @ Ys
        yy += np.einsum("ij,ij->j", Ys, Ys)
    mass = np.concatenate([np.diag(G), yy])
    shift = np.concatenate([shift_x, shift_y])
    if not center:
        return _Moments(sw, shift, np.zeros(d + t), G, B, yy, mass, nonzero, nonone)
    # Rows of weight zero only: any centre will do (they contribute nothing).
    dev = np.concatenate([sx, sy]) / sw if sw > 0 else np.zeros(d + t)
    dx, dy = dev[:d], dev[d:]
    return _Moments(
        sw,
        shift,
        dev,
        G - sw * np.outer(dx, dx),
        B - sw * np.outer(dx, dy),
        yy - sw * dy * dy,
        mass,
        nonzero,
        nonone,
    )


def _regrid(origin, dev, var, sw):
    """Re-split the means ``origin + dev`` around a new coarse origin.

    The origin is the mean rounded to a multiple of ``grid``, a power of two
    at least the column's standard deviation (a function of the retained rows
    alone), so ``dev`` stays within half a ``grid`` and carries the digits
    that the downdates need, whatever the offset of the data. Returns
    ``(origin, dev, grid)``.
    """
    mean = origin + dev
    spread = np.sqrt(np.maximum(var, 0.0) / sw)
    np.maximum(spread, np.abs(mean) * 2.0**-40, out=spread)
    grid = np.ldexp(1.0, np.frexp(spread)[1])  # a power of two above spread
    new_origin = np.round(mean / grid) * grid
    return new_origin, dev + (origin - new_origin), grid


class _Stats:
    """Sufficient statistics of the retained rows, with a bound on their rounding.

    No raw row and no mean of removed rows is kept. The means are kept as
    ``origin + dev`` (see :func:`_regrid`). Besides the moments: per feature,
    the number of retained rows whose value is not 0 (``nonzero``) and not 1
    (``nonone``), so that a column left all 0 or all 1 is known exactly
    ("snapped"); and what bounds the rounding of the statistics (see the
    module docstring): the scalars ``rho``, ``mean_drift`` and ``tau_x`` (the
    features' total mass) and the mask of collapsed columns, so as to keep no
    per-feature information about the forgotten rows. Per column (features,
    then targets), ``bounds`` holds the resulting bound on the rounding mass;
    a collapsed target's is unknown (its solution is then never exact).
    """

    def __init__(self, center, moments, n_rows, class_counts):
        d = moments.Cxx.shape[0]
        self.center = center
        self.sw = moments.sw
        self.Cxx = moments.Cxx
        self.Cxy = moments.Cxy
        self.y_ss = moments.y_ss
        self.n_rows = n_rows
        self.class_counts = class_counts  # rows per class (classifier) or None
        self.nonzero = moments.nonzero
        self.nonone = moments.nonone
        self.tau_x = float(moments.mass[:d].sum())
        if center:
            var = np.concatenate([np.diag(self.Cxx), self.y_ss])
            self.origin, self.dev, self.grid = _regrid(
                moments.shift, moments.dev, var, self.sw
            )
        else:
            self.origin, self.dev = moments.shift, moments.dev
            self.grid = None
        # Rounding of ``dev``, in eps times the column's spread (``_spread``).
        self.mean_drift = 1.0
        self.collapsed = np.zeros(moments.mass.size, dtype=bool)
        self._snap()
        self._settle(moments.mass, np.concatenate([np.diag(self.Cxx), self.y_ss]))

    @property
    def bounds_x(self):
        """Bounds on the rounding mass of each feature's statistics."""
        return self.bounds[: self.Cxx.shape[0]]

    @property
    def bounds_y(self):
        """Bounds on the rounding mass of each target's statistics."""
        return self.bounds[self.Cxx.shape[0] :]

    @property
    def snapped_x(self):
        """Mask of the features known to be constant (all 0, or all 1 if centred)."""
        return self.snapped[: self.Cxx.shape[0]]

    def _snap(self):
        """Give the columns known to be constant their exact statistics.

        A refit sees exact zeros there; the downdated values are rounding,
        which a small ``alpha`` (or none) would turn into large coefficients.
        Modifies this object's own (freshly computed) arrays, and sets the
        means ``x_mean`` and ``y_mean``.
        """
        d = self.Cxx.shape[0]
        fx = self.nonzero == 0
        ones = self.nonone == 0 if self.center else np.zeros(d, dtype=bool)
        if self.class_counts is None:
            fy = np.zeros(self.Cxy.shape[1], dtype=bool)
            y_ones = fy
        else:
            fy = self.class_counts == 0
            y_ones = self.center & (self.class_counts == self.n_rows)
        zero = np.concatenate([fx, fy])
        one = np.concatenate([ones & ~fx, y_ones & ~fy])
        self.snapped = zero | one
        if self.snapped.any():
            sx, sy = self.snapped[:d], self.snapped[d:]
            self.Cxx[sx, :] = 0.0
            self.Cxx[:, sx] = 0.0
            self.Cxy[sx, :] = 0.0
            self.Cxy[:, sy] = 0.0
            self.y_ss[sy] = 0.0
            if self.center:
                self.origin[self.snapped] = one[self.snapped]
                self.dev[self.snapped] = 0.0
        mean = self.origin + self.dev
        self.x_mean, self.y_mean = mean[:d], mean[d:]

    def _settle(self, mass, var):
        """Set ``rho``, the collapsed mask, ``bounds`` and ``var``.

        ``mass`` bounds each column's rounding mass, ``var`` is the column's
        retained variance (the diagonals of ``Cxx`` and ``Cyy``).
        """
        d = self.Cxx.shape[0]
        # mass / var, huge where var <= 0 < mass, 0 where mass == 0.
        ratio = mass / np.maximum(var, (mass + 1.0) * 1e-300)
        # A column whose retained variance is lost in its rounding stays so:
        # removing rows never increases a (centred) sum of squares.
        self.collapsed = (self.collapsed | (ratio > _COLLAPSED)) & ~self.snapped
        out = self.collapsed | self.snapped
        self.rho = max(1.0, float(np.max(np.where(out, 0.0, ratio))))
        self.var = np.maximum(var, 0.0)
        bounds = self.var * self.rho
        np.minimum(bounds[:d], self.tau_x, out=bounds[:d])
        if out.any():
            bounds[:d][self.collapsed[:d]] = self.tau_x
            bounds[self.snapped] = 0.0
        self.bounds = bounds

    def _spread(self):
        """Per column, the scale of the mean's rounding: the standard deviation.

        (Not the origin's grid, which halves in steps: a bound relative to a
        scale that jumps would compound.) A collapsed column has no standard
        deviation to speak of: the square root of its mass bound instead.
        """
        return np.sqrt(np.where(self.collapsed, self.bounds, self.var) / self.sw)

    def without(self, X, Y, w, class_counts_removed):
        """Statistics after removing rows ``X``, ``Y`` with weights ``w``.

        Returns ``(stats, low_rank)``: ``low_rank`` ``V`` with
        ``Cxx_new = Cxx - V^T V`` for a Woodbury update, or None when columns
        were snapped (the new statistics are then not such a downdate).
        """
        k, d = X.shape
        if self.center and k == 1:
            # One row: its moments are exact (centred at itself), and zero.
            mom = None
            sw_f = float(w[0])
            # The row from the origin: exact for rows near the mean.
            fo = np.concatenate([X[0], Y[0]]) - self.origin
            nonzero_f, nonone_f = X[0] != 0.0, X[0] != 1.0
        else:
            mom = _weighted_moments(X, Y, w, self.center)
            sw_f = mom.sw
            fo = (mom.shift - self.origin) + mom.dev
            nonzero_f, nonone_f = mom.nonzero, mom.nonone
        sw_r = self.sw - sw_f
        new = _shallow_copy(self)
        if self.center:
            if sw_r <= 0:
                raise ValueError(
                    "The retained rows have a total sample weight of zero; a model "
                    "cannot be fit on them. Nothing was forgotten."
                )
            grow = self.sw / sw_r
            c = sw_r * sw_f / self.sw
            # m_r - m_f, from the small parts of the means.
            dv = grow * (self.dev - fo)
            dev_r = fo + dv
            dx = dv[:d]
            rank_one = np.outer(dx, dv)
            rank_one *= c
            Cxx = self.Cxx - rank_one[:, :d]
            Cxy = self.Cxy - rank_one[:, d:]
            y_ss = self.y_ss - c * dv[d:] ** 2
            if mom is None:
                low_rank = np.sqrt(c) * dx[None, :]
            else:
                Cxx -= mom.Cxx
                Cxy -= mom.Cxy
                y_ss -= mom.y_ss
                low_rank = np.sqrt(w)[:, None] * ((X - self.origin[:d]) - fo[:d])
                low_rank = np.vstack([low_rank, np.sqrt(c) * dx])
            # The rounding of ``dev`` is at most mean_drift * eps * spread (see
            # _spread); dv's, that times sw / sw_r and eps |dv| of its own. It
            # enters the statistics as 2 c |dv| |error of dv|: in units of
            # _ROUNDING (8 eps), c |dv| |error| / 4.
            abs_dv = np.abs(dv)
            error = self.mean_drift * self._spread()
            added = c * (dv * dv + abs_dv * (grow * error + abs_dv) / 4)
            # The new means' rounding (in eps): the old one grown, and this
            # update's roundings of fo, dv, dev_r and the new origin's dev.
            error = grow * error + abs_dv + np.abs(dev_r) + np.abs(fo)
        else:
            Cxx = self.Cxx - mom.Cxx
            Cxy = self.Cxy - mom.Cxy
            y_ss = self.y_ss - mom.y_ss
            low_rank = np.sqrt(w)[:, None] * X
            added = 0.0
        if mom is not None:
            added = added + mom.mass
        new.sw = sw_r
        new.Cxx, new.Cxy, new.y_ss = Cxx, Cxy, y_ss
        new.n_rows = self.n_rows - k
        new.nonzero = self.nonzero - nonzero_f
        new.nonone = self.nonone - nonone_f
        if self.class_counts is not None:
            new.class_counts = self.class_counts - class_counts_removed
        new.tau_x = self.tau_x + float(np.sum(added[:d]))
        mass = self.bounds + added
        if self.center:
            var = np.concatenate([np.diag(Cxx), y_ss])
            new.origin, new.dev, new.grid = _regrid(self.origin, dev_r, var, sw_r)
        new._snap()
        new._settle(mass, np.concatenate([np.diag(new.Cxx), new.y_ss]))
        if self.center:
            # Snapped columns' means are exact; collapsed ones are bounded by
            # the total mass anyway.
            scale = new._spread()
            live = ~(new.snapped | new.collapsed) & (scale > 0)
            drift = error[live] / scale[live]
            new.mean_drift = max(1.0, float(drift.max())) if drift.size else 1.0
        if not np.array_equal(self.snapped, new.snapped):
            low_rank = None
        return new, low_rank

    def affine(self, mu, s):
        """The statistics of the rows ``(x - mu) / s`` (centred statistics only)."""
        z = _shallow_copy(self)
        z.x_mean = (self.x_mean - mu) / s
        z.Cxx = self.Cxx / np.outer(s, s)
        z.Cxy = self.Cxy / s[:, None]
        z.bounds = self.bounds.copy()
        z.bounds[: s.size] /= s * s
        return z


# ----------------------------------------------------------------- solving
def _scaled_norm(Cxx, alpha, r):
    """``||R A R||_1`` for ``A = Cxx + alpha I`` and ``R = diag(r)``."""
    return float(np.max(r * (np.abs(Cxx) @ r + alpha * r)))


def _solution_error(W, s, sy, inverse):
    """Bound the relative error of each column of ``W = A^-1 B`` due to rounding.

    The statistics carry rounding ``|dA| <= e s s^T`` and ``|dB| <= e s sy^T``
    (``e = _ROUNDING``, ``s`` the square roots of the features' masses), so
    to first order ``|dw| <= e |A^-1| s (||S w||_1 + sy)``. Returns
    ``(errors, scaled_inverse_norm)``: each column's error relative to its
    largest coefficient, or in the scale ``S w`` (which bounds the relative
    error of predictions), whichever is larger; and ``||S A^-1 S||_1``.
    """
    spread = np.abs(inverse) @ s  # |A^-1| s
    scaled_inverse_norm = float(np.max(s * spread))
    coef_factor = float(np.max(spread))
    root_d = np.sqrt(max(int(np.count_nonzero(s)), 1))
    Ws = s[:, None] * W
    n1 = np.abs(Ws).sum(axis=0)
    n2 = np.sqrt(np.einsum("ij,ij->j", Ws, Ws))
    largest = np.abs(W).max(axis=0)
    errors = np.empty(W.shape[1])
    for j in range(W.shape[1]):  # a few targets: plain floats
        spread_j = float(n1[j] + sy[j])
        if spread_j == 0.0:
            errors[j] = 0.0
        elif n2[j] == 0.0 or largest[j] == 0.0:
            errors[j] = np.inf
        else:
            # ||S dw||_2 <= sqrt(d) ||S dw||_inf, relative to ||S w||_2; and
            # max |dw| relative to max |w|.
            errors[j] = _ROUNDING * max(
                scaled_inverse_norm * root_d * spread_j / float(n2[j]),
                coef_factor * spread_j / float(largest[j]),
            )
    return errors, scaled_inverse_norm


def _min_norm(A, B, cutoff, s, sy):
    """Minimum-norm solution of ``A W = B`` ignoring eigenvalues ``<= cutoff``.

    Returns ``(W, errors, rank)``: ``errors`` bounds the error of each column
    relative to its largest coefficient, infinite when rounding leaves the
    rank undecided.
    """
    evals, evecs = linalg.eigh(A, check_finite=False)
    kept = evals > cutoff
    rank = int(kept.sum())
    lam = evals[kept]
    Vk = evecs[:, kept]
    W = Vk @ ((Vk.T @ B) / lam[:, None])
    # Rounding of the statistics seen along each eigenvector v:
    # |v^T dA u| <= e (|v|^T s) (s^T |u|); and eigh's own, about d ulps of
    # the largest eigenvalue, in every direction.
    p = np.abs(evecs).T @ s
    own = A.shape[0] * np.finfo(np.float64).eps * max(float(evals[-1]), 0.0)
    noise = _ROUNDING * p**2 + own
    if np.any(np.abs(evals - cutoff) <= 2 * noise):
        return W, np.full(B.shape[1], np.inf), rank
    if rank == 0:
        return W, np.zeros(B.shape[1]), rank
    # First order (A+ the pseudo-inverse, P_N the projector on the ignored
    # directions): dW = A+ (dB - dA W) + P_N dA A+ W, bounded along each
    # eigenvector with the masses above.
    AW = Vk @ ((Vk.T @ W) / lam[:, None])
    reach = np.linalg.norm(p[kept] / lam)
    dW = _ROUNDING * (
        (s @ np.abs(W) + sy) * reach + np.linalg.norm(p[~kept]) * (s @ np.abs(AW))
    )
    gap = float(lam.min()) - max(float(evals[~kept].max(initial=0.0)), 0.0)
    dW += own * np.linalg.norm(W, axis=0) * 2 / gap
    largest = np.abs(W).max(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        errors = np.where(largest > 0, dW / largest, np.where(dW > 0, np.inf, 0.0))
    return W, errors, rank


def _solve(Cxx, B, alphas, s, sy, *, cond=None, want_inverse=True):
    """Solve ``(Cxx + alpha_j I) W[:, j] = B[:, j]`` and bound the error of ``W``.

    ``cond`` (LinearRegression, whose alphas are 0): as ``scipy.linalg.lstsq``
    does, singular values of the design below ``cond`` times the largest, i.e.
    eigenvalues of ``Cxx`` below ``cond**2`` times the largest, count as zero;
    a design clearly of full rank is solved by Cholesky, any other by
    :func:`_min_norm`. Without it (ridge): Cholesky, or :func:`_min_norm` if
    the matrix is not numerically positive definite. Columns without mass
    (``s == 0``: known to be constant) have exact zero statistics, so their
    coefficients are exactly 0, the minimum-norm answer.

    Returns ``(W, inverse, report)``: ``inverse`` is ``(Cxx + alpha I)^-1``
    when a single alpha was used, the system is positive definite, ``d`` is
    large enough for Woodbury updates and ``want_inverse``; ``report`` has
    the solve used, ``error_estimate``, ``condition_estimate`` (of the scaled
    system) and for LinearRegression ``evals`` (ascending) and ``rank``.
    """
    d, t = B.shape
    live = s > 0
    want_inverse = want_inverse and d >= _WOODBURY_MIN_D and bool(np.all(alphas > 0))
    if live.all():
        return _solve_block(Cxx, B, alphas, s, sy, cond, want_inverse)
    W = np.zeros((d, t))
    if live.any():
        W[live], inverse, report = _solve_block(
            Cxx[np.ix_(live, live)], B[live], alphas, s[live], sy, cond, want_inverse
        )
    else:
        inverse = np.zeros((0, 0)) if want_inverse else None
        report = {"solve": "cholesky", "error_estimate": 0.0}
        if cond is not None:
            report.update(evals=np.zeros(0), rank=0)
    if "evals" in report:
        report["evals"] = np.concatenate([np.zeros(d - live.sum()), report["evals"]])
        report["evals"].sort()
    if inverse is None:
        return W, None, report
    # The constant columns are decoupled: 1 / alpha on the diagonal.
    full = np.diag(np.full(d, 1.0 / alphas[0]))
    full[np.ix_(live, live)] = inverse
    return W, full, report


def _solve_block(Cxx, B, alphas, s, sy, cond, want_inverse):
    """:func:`_solve` for columns that all have mass (``s > 0``)."""
    d, t = B.shape
    W = np.empty((d, t))
    inverse = None
    errors = np.zeros(t)
    conditions = []
    solves = []
    report = {}
    eye = np.eye(d)
    full_rank = True
    cutoff = _RIDGE_SVD_CUTOFF
    if cond is not None:
        evals = linalg.eigvalsh(Cxx, check_finite=False)
        report["evals"] = evals
        cutoff = cond**2 * max(float(evals[-1]), 0.0)
        # eigvalsh's own rounding, about d ulps of the largest eigenvalue.
        own = d * np.finfo(np.float64).eps * max(float(evals[-1]), 0.0)
        full_rank = evals[0] - own > cutoff
    for alpha in np.unique(alphas):
        cols = np.flatnonzero(alphas == alpha)
        A = Cxx + alpha * eye
        factor = None
        if full_rank:
            try:
                factor = linalg.cho_factor(A, lower=True, check_finite=False)[0]
                if not np.all(np.diag(factor) > 0):
                    factor = None
            except linalg.LinAlgError:
                factor = None
        if factor is None:
            W[:, cols], errors[cols], report["rank"] = _min_norm(
                A, B[:, cols], cutoff, s, sy[cols]
            )
            solves.append("min_norm")
            continue
        W[:, cols] = linalg.cho_solve((factor, True), B[:, cols], check_finite=False)
        # The explicit inverse bounds the error (O(d^3), as the factor costs).
        full_inverse = linalg.cho_solve((factor, True), eye, check_finite=False)
        errors[cols], inv_norm = _solution_error(W[:, cols], s, sy[cols], full_inverse)
        conditions.append(inv_norm * _scaled_norm(Cxx, alpha, 1.0 / s))
        if want_inverse and cols.size == t:
            inverse = full_inverse
        solves.append("cholesky")
        if cond is not None:
            report["rank"] = d
            # The statistics' rounding moves the smallest eigenvalue by a
            # relative amount of about the error bound: scikit-learn's rank
            # on the retained rows is then undecided.
            if evals[0] - own <= cutoff * (1 + 10 * errors[cols].max()):
                errors[cols] = np.inf
    report["solve"] = "min_norm" if "min_norm" in solves else "cholesky"
    report["error_estimate"] = float(errors.max())
    if conditions:
        report["condition_estimate"] = float(max(conditions))
    return W, inverse, report


def _woodbury(Cxx, alpha, B, inverse, V):
    """Downdate ``inverse = (A + V^T V)^-1`` to ``A^-1`` and solve ``A W = B``.

    ``A = Cxx + alpha I``. The solution is refined once against ``A``.
    Returns ``(W, inverse, details)``; ``W`` is None when the update cannot
    be trusted: ``A`` is not numerically positive definite (a pivot
    ``1 - leverage`` of ``I - V A_old^-1 V^T`` is not positive), or the
    refinement's correction exceeds ``_WOODBURY_TOL`` (a pivot near zero
    loses that many digits).
    """
    if V.shape[0] == 1:
        # One row (Sherman-Morrison): the pivot is 1 - the row's leverage.
        Av = inverse @ V[0]
        pivot = 1.0 - float(V[0] @ Av)
        if not pivot > 0:
            return None, None, {"woodbury_pivot": pivot}
        new_inverse = inverse + np.outer(Av / pivot, Av)
    else:
        AV = inverse @ V.T
        core = np.eye(V.shape[0]) - V @ AV
        try:
            pivot = float(np.min(np.diag(np.linalg.cholesky(core)) ** 2))
        except np.linalg.LinAlgError:
            return None, None, {"woodbury_pivot": 0.0}
        new_inverse = inverse + AV @ np.linalg.solve(core, AV.T)
    details = {"woodbury_pivot": pivot}
    W = new_inverse @ B
    step = new_inverse @ (Cxx @ W + alpha * W - B)
    W -= step
    norm = np.linalg.norm(W)
    correction = float(np.linalg.norm(step) / norm) if norm > 0 else 0.0
    details["woodbury_correction"] = correction
    if not correction <= _WOODBURY_TOL:  # also catches NaN
        return None, None, details
    return W, new_inverse, details


def _within_tolerance(info, stacklevel):
    """Whether ``info``'s error bound meets the contract; warn when it does not."""
    error = info["error_estimate"]
    if error <= _TOL:
        return True
    # One text for every request (its figures are in the history's details):
    # Python's default filter then shows it once per call site instead of at
    # every request of a model on ill-conditioned data, and its registry of
    # shown warnings does not grow with each request.
    warnings.warn(
        f"After this request the closed-form model may differ from a refit on "
        f"the retained rows by more than {_TOL:.0e} (relative): the bound on its "
        "error, and the condition and rounding behind it, are in "
        "unlearn_history_[-1]['details'] ('error_estimate', "
        "'condition_estimate', 'noise_ratio'). The request is recorded as "
        "approximate (exact=False); refit the model on the retained rows to "
        "make it exact again.",
        NumericalDriftWarning,
        stacklevel=stacklevel + 1,
    )
    return False


class ClosedFormLinearStrategy(UnlearningStrategy):
    """Exact unlearning for least squares from sufficient statistics.

    Handles :class:`~sklearn.linear_model.LinearRegression`,
    :class:`~sklearn.linear_model.Ridge` and
    :class:`~sklearn.linear_model.RidgeClassifier` (dense input, any
    ``solver``, ``sample_weight``, multi-output, ``fit_intercept``;
    not ``positive=True`` nor ``class_weight="balanced"``, which go to the
    retrain strategy). The wrapped estimator's ``coef_`` and ``intercept_``
    equal a refit's on the retained rows to within about ``1e-12`` relative
    for well-conditioned data; ``fit`` builds them the same way, so ``fit``
    costs one pass over the data (about a plain ``Ridge().fit``). Each request
    bounds its own error and is recorded as approximate, with a
    :class:`~skunlearn.exceptions.NumericalDriftWarning`, when that bound
    exceeds ``1e-9`` (see the module docstring). Its ``details`` record the
    ``solve`` (``"woodbury"``, ``"cholesky"`` or ``"min_norm"``), the
    ``error_estimate``, the ``noise_ratio`` (``rho``), the
    ``condition_estimate`` when computed, the ``rank`` for LinearRegression,
    and for a Woodbury update its ``woodbury_pivot`` (smallest
    ``1 - leverage``), ``woodbury_correction`` and, if it was rejected,
    ``"fallback": "refactorize"``.

    See Also
    --------
    RetrainStrategy : What the estimators it does not handle use.
    skunlearn.exceptions.NumericalDriftWarning : Raised when a request's error
        bound exceeds the tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn import Unlearnable
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(50, 3), rng.randn(50)
    >>> model = Unlearnable(Ridge(alpha=1.0)).fit(X, y)
    >>> type(model.unlearn_strategy_).__name__
    'ClosedFormLinearStrategy'
    >>> record = model.unlearn(X[:5]).unlearn_history_[-1]
    >>> record["strategy"], record["exact"], record["details"]["solve"]
    ('closed_form', True, 'cholesky')
    >>> refit = Ridge(alpha=1.0).fit(X[5:], y[5:])
    >>> bool(np.allclose(model.coef_, refit.coef_, rtol=1e-12, atol=0))
    True
    """

    name = "closed_form"
    exact = True
    keeps_rows = False
    plain_floats_are_valid = True
    sample_props = ("sample_weight",)

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        """Whether ``estimator`` is a least-squares model this strategy handles.

        A ``LinearRegression``, ``Ridge`` or ``RidgeClassifier`` (not a subclass
        that overrides ``fit``), without ``positive=True`` or
        ``class_weight="balanced"``.

        Parameters
        ----------
        estimator : object
            The unfitted estimator.

        Returns
        -------
        supported : bool
            Whether the strategy applies.
        """
        if not isinstance(estimator, LinearRegression | Ridge | RidgeClassifier):
            return False
        # A subclass that overrides fit may fit something else: retrain it.
        if type(estimator).fit not in (
            LinearRegression.fit,
            Ridge.fit,
            RidgeClassifier.fit,
        ):
            return False
        if getattr(estimator, "positive", False):
            return False
        if isinstance(estimator, RidgeClassifier):
            return not (
                isinstance(estimator.class_weight, str)
                and estimator.class_weight == "balanced"
            )
        return True

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        estimator: Any,
        X: MatrixLike,
        y: ArrayLike | None,
        fit_params: dict[str, Any],
    ) -> Any:
        """Fit ``estimator`` from the sufficient statistics of the rows, and keep them.

        The coefficients are solved from the weighted moments of ``X`` and ``y``
        (the same way every request solves them), in one pass over the data.

        Parameters
        ----------
        estimator : object
            A fresh clone of the estimator, to fit.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs) or None
            Training targets.

        fit_params : dict
            Fit parameters, per-row ones aligned with ``X``.

        Returns
        -------
        estimator : object
            The fitted estimator.

        Raises
        ------
        StrategyNotApplicable
            For sparse input or multilabel targets (the model then retrains).
        """
        unknown = set(fit_params) - {"sample_weight"}
        if unknown:
            raise TypeError(
                f"{type(estimator).__name__}.fit got unexpected parameters {unknown}."
            )
        if sp.issparse(X):
            raise StrategyNotApplicable("sparse input")
        validate_estimator_params(estimator)
        self.classifier_ = isinstance(estimator, RidgeClassifier)
        X, y = validate_data(
            estimator,
            X,
            y,
            dtype=[np.float64, np.float32],
            multi_output=True,
            y_numeric=not self.classifier_,
        )
        self.dtype_ = X.dtype
        sample_weight = fit_params.get("sample_weight")
        w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.classifier_:
            check_classification_targets(y)
            if np.ndim(y) != 1:
                raise StrategyNotApplicable("multilabel targets")
            self.classes_all_, y_idx = np.unique(y, return_inverse=True)
            Y = np.zeros((X.shape[0], self.classes_all_.size))
            Y[np.arange(X.shape[0]), y_idx] = 1.0
            w = w * self._class_weights(estimator, y_idx)
            counts = np.bincount(y_idx, minlength=self.classes_all_.size)
            self.y_ndim_ = 1
        else:
            Y = np.asarray(y, dtype=np.float64)
            self.y_ndim_ = Y.ndim
            Y = Y.reshape(X.shape[0], -1)
            counts = None
        self.stats_ = _Stats(
            estimator.fit_intercept,
            _weighted_moments(X, Y, w, estimator.fit_intercept),
            X.shape[0],
            counts,
        )
        fitted, self.inverse_, _ = self._build(estimator, self.stats_, inverse=None)
        if X.shape[1] <= _SMALL_D:
            warm_up()
        return fitted

    def _class_weights(self, estimator, y_idx):
        cw = estimator.class_weight
        if not cw:
            return 1.0
        per_class = np.array([cw.get(c, 1.0) for c in self.classes_all_.tolist()])
        return per_class[y_idx]

    def _alphas(self, estimator, n_targets):
        if isinstance(estimator, LinearRegression):
            return np.zeros(n_targets)
        alpha = np.atleast_1d(np.asarray(estimator.alpha, dtype=np.float64))
        if alpha.size not in (1, n_targets):
            raise ValueError(
                f"Number of targets and number of penalties do not correspond: "
                f"{alpha.size} != {n_targets}"
            )
        return alpha if alpha.size == n_targets else np.repeat(alpha, n_targets)

    def _lstsq_cond(self, n_rows, d, estimator):
        """The ``cond`` LinearRegression passes to ``scipy.linalg.lstsq``."""
        if sklearn_version >= parse_version("1.9"):
            return float(estimator.tol)
        return float(np.finfo(self.dtype_).eps * max(n_rows, d))

    def _targets(self, stats, y_mass):
        """Target statistics in the estimator's coding (classes -> +-1 columns).

        Returns ``(y_mean, B, label_binarizer, sy)``; ``sy`` bounds the square
        root of each coded target's rounding mass.
        """
        sy = np.sqrt(y_mass)
        sy[stats.collapsed[stats.Cxx.shape[0] :]] = np.inf
        if not self.classifier_:
            return stats.y_mean, stats.Cxy, None, sy
        present = stats.class_counts > 0
        classes = self.classes_all_[present]
        lb = LabelBinarizer(pos_label=1, neg_label=-1).fit(classes)
        E = lb.transform(classes).astype(np.float64)  # (n_present, t)
        y_mean = stats.y_mean[present] @ E
        # Each row's coded target is E[its class], so every statistic is linear
        # in the class-indicator statistics (centred or not).
        B = stats.Cxy[:, present] @ E
        return y_mean, B, lb, np.full(E.shape[1], sy[present].sum())

    def _build(self, estimator, stats, inverse, low_rank=None):
        """A fitted estimator for ``stats``; returns ``(estimator, inverse, info)``.

        ``info`` has the solve used, its ``error_estimate`` (see the module
        docstring) and what led to it.
        """
        y_mean, B, lb, sy = self._targets(stats, stats.bounds_y)
        alphas = self._alphas(estimator, B.shape[1])
        s = np.sqrt(stats.bounds_x)
        d = B.shape[0]
        lstsq = isinstance(estimator, LinearRegression)
        # Keep an inverse for later Woodbury updates only while requests are
        # small (a large one gains nothing from it); LinearRegression needs the
        # eigenvalues of every design anyway, so it refactorises.
        small = low_rank is None or low_rank.shape[0] < d / 6
        info = {}
        W = None
        if (
            not lstsq
            and inverse is not None
            and low_rank is not None
            and small
            and np.all(alphas == alphas[0])
        ):
            W, new_inverse, details = _woodbury(
                stats.Cxx, alphas[0], B, inverse, low_rank
            )
            info.update(details)
            if W is None:
                info["fallback"] = "refactorize"
            else:
                inverse = new_inverse
                errors, inv_norm = _solution_error(W, s, sy, inverse)
                info["solve"] = "woodbury"
                info["error_estimate"] = float(errors.max())
                if info["error_estimate"] > _TOL:
                    # Only for the warning: an O(d^2) pass the common path skips.
                    r = np.where(s > 0, 1.0 / np.where(s > 0, s, 1.0), 0.0)
                    info["condition_estimate"] = inv_norm * _scaled_norm(
                        stats.Cxx, alphas[0], r
                    )
        cond = self._lstsq_cond(stats.n_rows, d, estimator) if lstsq else None
        evals = None
        if W is None:
            W, inverse, report = _solve(
                stats.Cxx,
                B,
                alphas,
                s,
                sy,
                cond=cond,
                want_inverse=small and not lstsq,
            )
            evals = report.pop("evals", None)
            info.update(report)
        info["noise_ratio"] = stats.rho
        coef = W.T.astype(self.dtype_, copy=False)  # (t, d)
        intercept = (y_mean - stats.x_mean @ W) if stats.center else None
        new = _shallow_copy(estimator)
        t = coef.shape[0]
        if lstsq:
            new.coef_ = coef.ravel() if self.y_ndim_ == 1 else coef
            # The singular values of the centred, weighted design, as lstsq
            # reports them (min(n, d) of them), and its effective rank.
            singular = np.sqrt(np.clip(evals[::-1], 0.0, None))
            new.singular_ = singular[: max(min(stats.n_rows, d), 1)]
            new.rank_ = int(np.sum(new.singular_ > cond * new.singular_[0]))
        else:
            new.coef_ = coef.ravel() if t == 1 else coef
            new.n_iter_ = None
            new.solver_ = "cholesky"
        if not stats.center:
            new.intercept_ = 0.0
        elif self.classifier_ or self.y_ndim_ == 2:
            new.intercept_ = intercept.astype(self.dtype_, copy=False)
        else:
            new.intercept_ = float(intercept[0])
        if self.classifier_:
            ridge_classifier_set_label_binarizer(new, lb)
            new.classes_ = lb.classes_
        return new, inverse, info

    # -------------------------------------------------------------- unlearn
    def validate_forget(self, estimator: Any, X: MatrixLike) -> Any:
        """Validate a forget set like ``predict`` would; sparse ones are refused.

        Parameters
        ----------
        estimator : object
            The fitted estimator.

        X : array-like of shape (n_forget, n_features)
            The rows to forget.

        Returns
        -------
        X : ndarray of shape (n_forget, n_features)
            The validated rows.

        Raises
        ------
        TypeError
            If ``X`` is a sparse matrix.
        """
        if sp.issparse(X):
            raise TypeError("Sparse forget sets are not supported by this model.")
        return super().validate_forget(estimator, X)

    def plan(self, estimator: Any, request: ForgetRequest) -> ForgetPlan:
        """Downdate the sufficient statistics by the forget rows and solve again.

        The result equals a refit on the retained rows to within rounding; the
        plan is recorded as approximate, with a ``NumericalDriftWarning``, when
        the request's error bound exceeds ``1e-9`` (see the class docstring).

        Parameters
        ----------
        estimator : object
            The fitted estimator (not to be modified).

        request : ForgetRequest
            The rows to forget, their targets and per-row fit parameters, the
            retained rows (lazily) and the unlearning parameters.

        Returns
        -------
        plan : ForgetPlan
            The new estimator and statistics, with the solve and its error
            bound in ``details``.
        """
        request.check_no_params("closed-form")
        X = np.asarray(request.X, dtype=np.float64)
        k = X.shape[0]
        y_stored = request.y
        w = request.props.get("sample_weight")
        w = np.ones(k) if w is None else np.asarray(w, dtype=np.float64)
        removed_counts = None
        if self.classifier_:
            y_idx = np.searchsorted(self.classes_all_, y_stored)
            Y = np.zeros((k, self.classes_all_.size))
            Y[np.arange(k), y_idx] = 1.0
            w = w * self._class_weights(estimator, y_idx)
            removed_counts = np.bincount(y_idx, minlength=self.classes_all_.size)
        else:
            Y = np.asarray(y_stored, dtype=np.float64).reshape(k, -1)
        with single_blas_thread(X.shape[1] <= _SMALL_D and k <= _CHUNK):
            stats, low_rank = self.stats_.without(X, Y, w, removed_counts)
            new_est, inverse, info = self._build(
                estimator, stats, self.inverse_, low_rank=low_rank
            )
        exact = _within_tolerance(info, stacklevel=4)
        new_strategy = _shallow_copy(self)
        new_strategy.stats_ = stats
        new_strategy.inverse_ = inverse
        info["rows_downdated"] = int(k)
        return step_plan(
            new_est, new_strategy, strategy=self.name, exact=exact, details=info
        )


for _est in (LinearRegression, Ridge, RidgeClassifier):
    register_strategy(_est, ClosedFormLinearStrategy)
