"""Compiled weighted k-means of one DCKMeans node (numba, cached on disk).

A node's problem is small (a leaf's few hundred rows, or ``branching *
n_clusters`` weighted centres of its children), so numpy's per-call overhead
dominates its arithmetic; these kernels run the same algorithm as the numpy
reference in ``_dc_kmeans.py`` (greedy k-means++ seeding, then Lloyd) in plain
loops. Every random number is an input (``draws``): :func:`node_draws`
derives them by hashing ``(seed, level, node index, draw number)``, so a
node's output is a function of its input rows, in order, and of its seed
alone: what makes a deletion equal a refit.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numba import njit

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


@njit(cache=True)
def _mix(h):
    """SplitMix64's finaliser: a bijection of 64-bit words that scrambles bits."""
    h = h ^ (h >> _S30)
    h = h * _M1
    h = h ^ (h >> _S27)
    h = h * _M2
    return h ^ (h >> _S31)


@njit(cache=True)
def node_draws(seed, level, index, n):
    """``n`` uniforms in [0, 1) of node ``index`` at ``level`` for ``seed``.

    Counter-based (SplitMix64 of a key hashed from the three integers and of
    the draw number): no generator state to create, and the same three
    integers give the same draws in ``fit`` and in every later ``unlearn``.
    """
    key = _mix(np.uint64(seed) + _G)
    key = _mix(key ^ (np.uint64(level) + _G))
    key = _mix(key ^ (np.uint64(index) + _G))
    out = np.empty(n)
    for t in range(n):
        h = _mix(key + np.uint64(t + 1) * _G)
        out[t] = np.float64(h >> _S11) * (1.0 / 9007199254740992.0)
    return out


@njit(cache=True, inline="always")
def _searchsorted_left(a, v):
    """First index ``i`` with ``a[i] >= v`` (``numpy.searchsorted``, side left)."""
    lo = 0
    hi = a.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _sq_dist_to(XT, x_sq, c, c_sq, out):
    """``out[i] = max(|x_i|^2 - 2 x_i.c + |c|^2, 0)`` for the columns of ``XT``.

    Loops run over rows innermost (one feature at a time) so that they
    vectorise; each row's dot product still sums its features in order.
    """
    d, m = XT.shape
    for i in range(m):
        out[i] = 0.0
    for f in range(d):
        cf = c[f]
        for i in range(m):
            out[i] += XT[f, i] * cf
    for i in range(m):
        v = x_sq[i] - 2.0 * out[i] + c_sq
        out[i] = v if v > 0.0 else 0.0


@njit(cache=True)
def kmeans_pp(X, XT, w, x_sq, k, draws):
    """Weighted greedy k-means++ seeding (D^2 sampling, best of ``n_trials``).

    ``XT`` is ``X.T`` in C order. ``draws`` holds ``1 + (k - 1) * n_trials``
    uniforms in [0, 1): the first picks the first centre in proportion to
    ``w``, then each later centre takes ``n_trials`` candidates in proportion
    to ``w`` times the squared distance to the closest centre so far and
    keeps the candidate that lowers the weighted potential most (first among
    equals).
    """
    m, d = X.shape
    n_trials = (draws.shape[0] - 1) // (k - 1) if k > 1 else 0
    centers = np.empty((k, d))
    cum_w = np.cumsum(w)
    first = min(_searchsorted_left(cum_w, draws[0] * cum_w[m - 1]), m - 1)
    centers[0] = X[first]
    closest = np.empty(m)
    _sq_dist_to(XT, x_sq, X[first], x_sq[first], closest)
    mass = np.empty(m)
    trial = np.empty(m)
    best_trial = np.empty(m)
    for c in range(1, k):
        acc = 0.0
        for i in range(m):
            acc += w[i] * closest[i]
            mass[i] = acc
        total = mass[m - 1]
        best_pot = np.inf
        best_cand = 0
        for t in range(n_trials):
            u = draws[1 + (c - 1) * n_trials + t]
            if total <= 0.0:  # every point sits on a centre already
                cand = _searchsorted_left(cum_w, u * cum_w[m - 1])
            else:
                cand = _searchsorted_left(mass, u * total)
            cand = min(cand, m - 1)
            _sq_dist_to(XT, x_sq, X[cand], x_sq[cand], trial)
            for i in range(m):
                trial[i] = min(trial[i], closest[i])
            pot = 0.0
            for i in range(m):
                pot += w[i] * trial[i]
            if pot < best_pot:
                best_pot = pot
                best_cand = cand
                best_trial, trial = trial, best_trial
        closest, best_trial = best_trial, closest
        centers[c] = X[best_cand]
    return centers


@njit(cache=True)
def _assign(XT, x_sq, C, labels, best, acc):
    """Closest centre of each row (first among equals) into ``labels``.

    ``best`` receives each row's squared distance to it (clipped at 0);
    ``acc`` is scratch space of length ``m``.
    """
    d, m = XT.shape
    k = C.shape[0]
    for j in range(k):
        c_sq = 0.0
        for f in range(d):
            c_sq += C[j, f] * C[j, f]
        for i in range(m):
            acc[i] = 0.0
        for f in range(d):
            cf = C[j, f]
            for i in range(m):
                acc[i] += XT[f, i] * cf
        # ||x||^2 is the same for every centre: compare the rest only.
        for i in range(m):
            v = c_sq - 2.0 * acc[i]
            if j == 0 or v < best[i]:
                best[i] = v
                labels[i] = j
    for i in range(m):
        v = x_sq[i] + best[i]
        best[i] = v if v > 0.0 else 0.0


@njit(cache=True)
def lloyd(X, XT, w, x_sq, C, max_iter, tol_abs):
    """Weighted Lloyd iterations from ``C``; returns ``(C, n_iter)``.

    Stops after ``max_iter`` iterations or once the squared centre shift is
    at most ``tol_abs``. A centre that loses all its mass stays where it is.
    """
    m, d = X.shape
    k = C.shape[0]
    C = C.copy()
    labels = np.empty(m, dtype=np.intp)
    best = np.empty(m)
    acc = np.empty(m)
    sums = np.empty((k, d))
    mass = np.empty(k)
    n_iter = 0
    for it in range(1, max_iter + 1):
        n_iter = it
        _assign(XT, x_sq, C, labels, best, acc)
        sums[:] = 0.0
        mass[:] = 0.0
        for i in range(m):
            j = labels[i]
            mass[j] += w[i]
            for f in range(d):
                sums[j, f] += w[i] * X[i, f]
        shift = 0.0
        for j in range(k):
            if mass[j] > 0.0:
                for f in range(d):
                    v = sums[j, f] / mass[j]
                    diff = v - C[j, f]
                    shift += diff * diff
                    C[j, f] = v
        if shift <= tol_abs:
            break
    return C, n_iter


@njit(cache=True)
def weighted_kmeans(X, w, k, draws, n_init, max_iter, tol):
    """Best of ``n_init`` k-means++ + Lloyd runs on rows with positive weight.

    ``X`` must have more than ``k`` rows, all of positive weight, and
    ``draws`` ``n_init * (1 + (k - 1) * n_trials)`` uniforms. Returns
    ``(centers, weights, n_iter)``: the centres of the run of lowest weighted
    inertia (first among equals), the mass of each centre's cluster and that
    run's Lloyd iterations.
    """
    m, d = X.shape
    XT = np.ascontiguousarray(X.T)
    x_sq = np.empty(m)
    for i in range(m):
        s = 0.0
        for f in range(d):
            s += X[i, f] * X[i, f]
        x_sq[i] = s
    # Tolerance relative to the weighted mean variance, as in KMeans.
    total_w = 0.0
    mean = np.zeros(d)
    for i in range(m):
        total_w += w[i]
        for f in range(d):
            mean[f] += w[i] * X[i, f]
    for f in range(d):
        mean[f] /= total_w
    var = 0.0
    for i in range(m):
        s = 0.0
        for f in range(d):
            diff = X[i, f] - mean[f]
            s += diff * diff
        var += w[i] * s
    tol_abs = tol * (var / total_w) / d

    per_init = draws.shape[0] // n_init
    labels = np.empty(m, dtype=np.intp)
    d2 = np.empty(m)
    acc = np.empty(m)
    best_inertia = np.inf
    best_C = np.empty((k, d))
    best_mass = np.zeros(k)
    best_iter = 0
    for r in range(n_init):
        C0 = kmeans_pp(X, XT, w, x_sq, k, draws[r * per_init : (r + 1) * per_init])
        C, n_iter = lloyd(X, XT, w, x_sq, C0, max_iter, tol_abs)
        _assign(XT, x_sq, C, labels, d2, acc)
        inertia = 0.0
        for i in range(m):
            inertia += w[i] * d2[i]
        if inertia < best_inertia:
            best_inertia = inertia
            best_C = C
            best_iter = n_iter
            best_mass = np.zeros(k)
            for i in range(m):
                best_mass[labels[i]] += w[i]
    return best_C, best_mass, best_iter
