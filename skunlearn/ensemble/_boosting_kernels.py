"""Compiled kernels of the gradient boosting built for deletion (numba).

Everything a tree is grown from is an integer: gradients and hessians are
rounded to fixed point (``gq = rint(g * 2**s)``) before they are summed, so a
histogram is the same whatever the order its rows are added or taken away in,
and taking a forgotten row out of a stored histogram gives the very integers
a refit sums. Floating point enters only in functions of those integers
(gains, leaf values), which are therefore the same bits too.

One tree is three flat arrays, nodes in creation order (best-first growth):

- ``NI`` (n_nodes, N_INT) int64: split feature and bin (``-1`` for a leaf),
  children, depth, rows, the node's gradient and hessian sums, its best
  candidate split (feature, bin, left sums; ``CFEAT = -1``: none) and the
  slot of its stored histogram (``-1``: none).
- ``NF`` (n_nodes, N_FLT) float64: the candidate's gain, the node's value
  (learning rate times its rounded Newton step) and the split's threshold.
- ``NK`` (n_nodes,) uint64: a hash of the seed, the tree and the node's path:
  the source of the node's randomness (the rounding of its value).

A histogram is ``(n_features, n_bins, 3)`` int64: gradient sum, hessian sum,
rows.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math

import numpy as np
from numba import njit

# NI columns
FEAT, BIN, LEFT, RIGHT, DEPTH, COUNT, G, H, CFEAT, CBIN, CGL, CHL, CCL, SLOT = range(14)
N_INT = 14
# NF columns
GAIN, VALUE, THR = range(3)
N_FLT = 3

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_53 = 1.0 / 9007199254740992.0
_EPS = float(np.finfo(np.float32).eps)  # as scikit-learn's leaf values


@njit(cache=True, nogil=True)
def mix(h):
    """SplitMix64's finalizer: a bijective scramble of 64 bits."""
    h = h ^ (h >> _S30)
    h = h * _M1
    h = h ^ (h >> _S27)
    h = h * _M2
    return h ^ (h >> _S31)


@njit(cache=True, nogil=True)
def h2(a, b):
    """Hash of two 64-bit words."""
    return mix(a ^ mix(b + _GOLD))


@njit(cache=True, nogil=True)
def unit(h):
    """A uniform float in [0, 1) from a 64-bit hash."""
    return float(h >> _S11) * _TWO_53


@njit(cache=True, nogil=True)
def child_key(key, side):
    return h2(key, np.uint64(side + 1))


# ------------------------------------------------------------------ gradients
LOGLOSS, SOFTMAX, SQUARED = 0, 1, 2


@njit(cache=True, nogil=True)
def _fixed(x, scale):
    return np.int64(np.rint(x * scale))


@njit(cache=True, nogil=True)
def grad_one(kind, raw, y, w, r, k, gs, hs, glim):
    """Fixed-point gradient and hessian of row ``r`` for the tree of class ``k``.

    ``kind``: LOGLOSS (binary, ``raw`` has one column), SOFTMAX (``y`` holds
    class codes) or SQUARED (half squared error; the gradient is clipped to
    +-``glim``). Fit and unlearn call this one function: the same bits.
    """
    if kind == SQUARED:
        g = _fixed(w[r] * (raw[r, 0] - y[r]), gs)
        return min(max(g, -glim), glim), _fixed(w[r], hs)
    if kind == LOGLOSS:
        p = 1.0 / (1.0 + math.exp(-raw[r, 0]))
        return _fixed(w[r] * (p - y[r]), gs), _fixed(w[r] * (p * (1.0 - p)), hs)
    top = raw[r, 0]
    for c in range(1, raw.shape[1]):
        top = max(top, raw[r, c])
    s = 0.0
    for c in range(raw.shape[1]):
        s += math.exp(raw[r, c] - top)
    p = math.exp(raw[r, k] - top) / s
    t = 1.0 if y[r] == k else 0.0
    return _fixed(w[r] * (p - t), gs), _fixed(w[r] * (p * (1.0 - p)), hs)


@njit(cache=True, nogil=True)
def gradients(kind, raw, y, w, rows, k, gs, hs, glim, gq, hq):
    """``gq[r], hq[r] = grad_one(...)`` for ``rows``."""
    for r in rows:
        gq[r], hq[r] = grad_one(kind, raw, y, w, r, k, gs, hs, glim)


# ----------------------------------------------------------------- histograms
@njit(cache=True, nogil=True)
def build_hist(xb, rows, gq, hq, hist):
    """Histogram of ``rows`` (``gq``, ``hq`` indexed by row id) into ``hist``."""
    m = rows.shape[0]
    gs = np.empty(m, dtype=np.int64)
    hs = np.empty(m, dtype=np.int64)
    for i in range(m):
        gs[i] = gq[rows[i]]
        hs[i] = hq[rows[i]]
    hist[:] = 0
    for j in range(xb.shape[0]):
        col = xb[j]
        hj = hist[j]
        for i in range(m):
            b = col[rows[i]]
            hj[b, 0] += gs[i]
            hj[b, 1] += hs[i]
            hj[b, 2] += 1


@njit(cache=True, nogil=True)
def add_rows(xb, rows, gq, hq, sign, hist):
    """Add (``sign=1``) or take away (``sign=-1``) ``rows`` from ``hist``."""
    for r in rows:
        g, h = sign * gq[r], sign * hq[r]
        for j in range(xb.shape[0]):
            b = xb[j, r]
            hist[j, b, 0] += g
            hist[j, b, 1] += h
            hist[j, b, 2] += sign


# -------------------------------------------------------------------- splits
@njit(cache=True, nogil=True)
def _score(g, h, lam):
    return g * g / (h + lam)


@njit(cache=True, nogil=True)
def best_split(hist, n_bins, G, Hs, C, ginv, hinv, lam, msl, min_hess, out):
    """Best split of a node from its histogram.

    ``out`` receives (feature, bin, left gradient, left hessian, left rows)
    and the gain is returned; feature -1 (gain 0) when no split is valid.
    A split sends bins ``<= bin`` left. Ties go to the lowest feature, then
    the lowest bin: the choice is a function of the integers alone.
    """
    out[0] = -1
    best = 0.0
    Gf, Hf = G * ginv, Hs * hinv
    parent = _score(Gf, Hf, lam)
    for j in range(hist.shape[0]):
        gl = np.int64(0)
        hl = np.int64(0)
        cl = np.int64(0)
        hj = hist[j]
        for b in range(n_bins[j] - 1):
            gl += hj[b, 0]
            hl += hj[b, 1]
            cl += hj[b, 2]
            if cl < msl:
                continue
            if C - cl < msl:
                break
            hlf = hl * hinv
            hrf = (Hs - hl) * hinv
            if hlf < min_hess or hrf < min_hess:
                continue
            gain = _score(gl * ginv, hlf, lam) + _score((G - gl) * ginv, hrf, lam)
            gain -= parent
            if gain > best:
                best = gain
                out[0] = j
                out[1] = b
                out[2] = gl
                out[3] = hl
                out[4] = cl
    return best


@njit(cache=True, nogil=True)
def leaf_value(G, Hs, ginv, hinv, lam, quantum, lr, key):
    """A leaf's value: the learning rate times its rounded Newton step.

    The step ``-G / (H + lam)`` is rounded to a multiple of ``quantum``,
    up or down at random (a hash of the node's key), without bias. A
    forgotten row moves a step by about ``|g| / H``; the rounded value
    changes only if that crosses a multiple of ``quantum``, and the rows of
    the leaf, and every later tree, see the same value otherwise.
    ``quantum = 0``: not rounded.
    """
    step = -(G * ginv) / (Hs * hinv + lam + _EPS)
    if quantum > 0.0:
        step = quantum * math.floor(step / quantum + unit(key))
    return lr * step


@njit(cache=True, nogil=True)
def _set_candidate(NI, NF, node, hist, n_bins, ginv, hinv, lam, msl, mhess, mdep, tmp):
    """Find and record a node's candidate split; True if it may be split.

    A node without one keeps ``CFEAT = -1`` and zeros (from :func:`_new_node`).
    """
    C = NI[node, COUNT]
    if C < 2 * msl or NI[node, DEPTH] >= mdep or NI[node, H] * hinv < 2 * mhess:
        return False
    gain = best_split(
        hist, n_bins, NI[node, G], NI[node, H], C, ginv, hinv, lam, msl, mhess, tmp
    )
    if tmp[0] < 0:
        return False
    NI[node, CFEAT] = tmp[0]
    NI[node, CBIN] = tmp[1]
    NI[node, CGL] = tmp[2]
    NI[node, CHL] = tmp[3]
    NI[node, CCL] = tmp[4]
    NF[node, GAIN] = gain
    return True


@njit(cache=True, nogil=True)
def _pick(front, n_front, NF):
    """Index in ``front`` of the node of largest gain (ties: lowest id)."""
    best = 0
    for i in range(1, n_front):
        a, b = front[i], front[best]
        if NF[a, GAIN] > NF[b, GAIN] or (NF[a, GAIN] == NF[b, GAIN] and a < b):
            best = i
    return best


@njit(cache=True, nogil=True)
def _partition(xb, order, s, e, feat, b, buf):
    """Stable partition of ``order[s:e]``: bins ``<= b`` of ``feat`` first."""
    col = xb[feat]
    nl = 0
    nr = 0
    for i in range(s, e):
        r = order[i]
        if col[r] <= b:
            order[s + nl] = r
            nl += 1
        else:
            buf[nr] = r
            nr += 1
    for i in range(nr):
        order[s + nl + i] = buf[i]
    return s + nl


@njit(cache=True, nogil=True)
def _new_node(NI, NF, NK, node, depth, count, g, h, key):
    NI[node, FEAT] = -1
    NI[node, BIN] = -1
    NI[node, LEFT] = -1
    NI[node, RIGHT] = -1
    NI[node, DEPTH] = depth
    NI[node, COUNT] = count
    NI[node, G] = g
    NI[node, H] = h
    NI[node, CFEAT] = -1
    NI[node, CBIN] = 0
    NI[node, CGL] = 0
    NI[node, CHL] = 0
    NI[node, CCL] = 0
    NI[node, SLOT] = -1
    NF[node, GAIN] = 0.0
    NF[node, VALUE] = 0.0
    NF[node, THR] = 0.0
    NK[node] = key


@njit(cache=True, nogil=True)
def _take_slot(pool, free, n_free):
    """A free histogram of the pool (which doubles when none is left)."""
    if n_free == 0:
        # max_leaf_nodes=None: as many histograms as leaves may be in use
        P = pool.shape[0]
        new = np.empty((2 * P,) + pool.shape[1:], dtype=np.int64)
        new[:P] = pool
        pool = new
        for i in range(P):
            free[i] = 2 * P - 1 - i
        n_free = P
    n_free -= 1
    return pool, free[n_free], n_free


@njit(cache=True, nogil=True)
def _cached(depth, count, m, cdepth, cmin):
    """Whether a node keeps its histogram: large (at least ``cmin`` rows and a
    quarter of the tree's ``m``) and shallower than ``cdepth`` (at most four
    nodes per depth qualify)."""
    return depth < cdepth and count >= cmin and 4 * count >= m


@njit(cache=True, nogil=True)
def grow_tree(
    xb, n_bins, edges, order, gq, hq, fp, lr, key, NI, NF, NK, cache, leaf_of
):
    """Grow one tree best-first on the rows ``order`` (ascending row ids).

    ``fp`` (float64): ginv, hinv, l2 regularization, minimum hessian to
    split, quantum, and (as floats) min_samples_leaf, max_depth,
    max_leaf_nodes, cache depth, cache rows. ``order`` is rearranged in
    place (rows grouped by leaf). Writes the nodes to ``NI``, ``NF``,
    ``NK``, the histograms of the nodes that keep one (see :func:`_cached`)
    to ``cache`` (slots in creation order) and each row's leaf to
    ``leaf_of``. Returns the number of nodes.
    """
    ginv, hinv, lam, mhess = fp[0], fp[1], fp[2], fp[3]
    msl, mdep, mleaves = int(fp[5]), int(fp[6]), int(fp[7])
    cdepth, cmin = int(fp[8]), int(fp[9])
    m = order.shape[0]
    p, B = xb.shape[0], cache.shape[2]
    cap = NI.shape[0]
    start = np.zeros(cap, dtype=np.int64)
    end = np.zeros(cap, dtype=np.int64)
    hslot = np.full(cap, -1, dtype=np.int64)
    n_pool = min(mleaves, 64) + 1
    pool = np.empty((n_pool, p, B, 3), dtype=np.int64)
    free = np.empty(2 * cap + 2, dtype=np.int64)
    for i in range(n_pool):
        free[i] = n_pool - 1 - i
    n_free = n_pool
    front = np.empty(cap, dtype=np.int64)
    buf = np.empty(m, dtype=np.int64)
    tmp = np.empty(5, dtype=np.int64)

    g0 = np.int64(0)
    h0 = np.int64(0)
    for r in order:
        g0 += gq[r]
        h0 += hq[r]
    _new_node(NI, NF, NK, 0, 0, m, g0, h0, key)
    end[0] = m
    pool, hslot[0], n_free = _take_slot(pool, free, n_free)
    build_hist(xb, order, gq, hq, pool[hslot[0]])
    n_nodes = 1
    n_cached = 0
    if _cached(0, m, m, cdepth, cmin):
        cache[0] = pool[hslot[0]]
        NI[0, SLOT] = 0
        n_cached = 1
    n_front = 0
    if _set_candidate(
        NI, NF, 0, pool[hslot[0]], n_bins, ginv, hinv, lam, msl, mhess, mdep, tmp
    ):
        front[0] = 0
        n_front = 1
    else:
        free[n_free] = hslot[0]
        n_free += 1
    n_leaves = 1
    # One step per split, best first: split the frontier node of largest
    # gain, partition its rows, histogram its children (the smaller from
    # its rows, the larger by subtraction) and find their candidates. Kept
    # in one loop (about a screen): the step reads and writes a dozen of the
    # arrays above, and the pool of histograms may grow, which a function
    # per part would take as arguments and hand back.
    while n_front > 0 and n_leaves < mleaves:
        i = _pick(front, n_front, NF)
        a = front[i]
        front[i] = front[n_front - 1]
        n_front -= 1
        f, b = NI[a, CFEAT], NI[a, CBIN]
        NI[a, FEAT] = f
        NI[a, BIN] = b
        NF[a, THR] = edges[f, b]
        mid = _partition(xb, order, start[a], end[a], f, b, buf)
        lft, rgt = n_nodes, n_nodes + 1
        n_nodes += 2
        NI[a, LEFT] = lft
        NI[a, RIGHT] = rgt
        d = NI[a, DEPTH] + 1
        gl, hl, cl = NI[a, CGL], NI[a, CHL], NI[a, CCL]
        _new_node(NI, NF, NK, lft, d, cl, gl, hl, child_key(NK[a], 0))
        _new_node(
            NI,
            NF,
            NK,
            rgt,
            d,
            NI[a, COUNT] - cl,
            NI[a, G] - gl,
            NI[a, H] - hl,
            child_key(NK[a], 1),
        )
        start[lft], end[lft] = start[a], mid
        start[rgt], end[rgt] = mid, end[a]
        # the smaller child from its rows, the larger by subtraction
        small, large = (lft, rgt) if cl <= NI[a, COUNT] - cl else (rgt, lft)
        pool, hslot[small], n_free = _take_slot(pool, free, n_free)
        hslot[large] = hslot[a]
        hslot[a] = -1
        hs_, hl_ = pool[hslot[small]], pool[hslot[large]]
        build_hist(xb, order[start[small] : end[small]], gq, hq, hs_)
        hl_ -= hs_
        for c in (lft, rgt):
            if _cached(d, NI[c, COUNT], m, cdepth, cmin):
                cache[n_cached] = pool[hslot[c]]
                NI[c, SLOT] = n_cached
                n_cached += 1
            if _set_candidate(
                NI, NF, c, pool[hslot[c]], n_bins, ginv, hinv, lam, msl, mhess, mdep,
                tmp,
            ):  # fmt: skip
                front[n_front] = c
                n_front += 1
            else:
                free[n_free] = hslot[c]
                n_free += 1
                hslot[c] = -1
        n_leaves += 1
    _set_leaves(NI, NF, NK, n_nodes, fp, lr, order, start, end, leaf_of)
    return n_nodes


@njit(cache=True, nogil=True)
def _set_leaves(NI, NF, NK, n_nodes, fp, lr, order, start, end, leaf_of):
    """Each leaf's value, and each row's leaf (``order[start:end]`` its rows)."""
    ginv, hinv, lam, quantum = fp[0], fp[1], fp[2], fp[4]
    for node in range(n_nodes):
        if NI[node, LEFT] < 0:
            NF[node, VALUE] = leaf_value(
                NI[node, G], NI[node, H], ginv, hinv, lam, quantum, lr, NK[node]
            )
            for q in range(start[node], end[node]):
                leaf_of[order[q]] = node


# ------------------------------------------------------------------- predict
@njit(cache=True, nogil=True)
def add_tree_values(NI, NF, X, out, k):
    """Add one tree's values of the rows of ``X`` (real thresholds) to ``out[:, k]``."""
    for i in range(X.shape[0]):
        node = 0
        while NI[node, LEFT] >= 0:
            if X[i, NI[node, FEAT]] <= NF[node, THR]:
                node = NI[node, LEFT]
            else:
                node = NI[node, RIGHT]
        out[i, k] += NF[node, VALUE]


@njit(cache=True, nogil=True)
def add_leaf_values(NF, leaf_of, rows, raw, k):
    """``raw[r, k] += value of r's leaf`` for ``rows`` (training rows)."""
    for r in rows:
        raw[r, k] += NF[leaf_of[r], VALUE]


# -------------------------------------------------------------------- replay
@njit(cache=True, nogil=True)
def _parents(NI):
    par = np.full(NI.shape[0], -1, dtype=np.int64)
    for o in range(NI.shape[0]):
        if NI[o, LEFT] >= 0:
            par[NI[o, LEFT]] = o
            par[NI[o, RIGHT]] = o
    return par


@njit(cache=True, nogil=True)
def _split_rows(xb, rows, feat, b):
    """The rows of a split's two children (in the order of ``rows``)."""
    col = xb[feat]
    nl = 0
    for r in rows:
        if col[r] <= b:
            nl += 1
    left = np.empty(nl, dtype=np.int64)
    right = np.empty(rows.shape[0] - nl, dtype=np.int64)
    i = 0
    j = 0
    for r in rows:
        if col[r] <= b:
            left[i] = r
            i += 1
        else:
            right[j] = r
            j += 1
    return left, right


@njit(cache=True, nogil=True)
def _subtree_rows(par, o, rows, leaf_of):
    """The rows of ``rows`` whose leaf lies under node ``o``."""
    n = par.shape[0]
    under = np.zeros(n, dtype=np.bool_)
    under[o] = True
    for v in range(o + 1, n):  # a node is created after its parent
        if par[v] >= 0 and under[par[v]]:
            under[v] = True
    m = 0
    for r in rows:
        if under[leaf_of[r]]:
            m += 1
    out = np.empty(m, dtype=np.int64)
    m = 0
    for r in rows:
        if under[leaf_of[r]]:
            out[m] = r
            m += 1
    return out


@njit(cache=True, nogil=True)
def _hist_subtrees(
    xb, alive, leaf_of, inner, need, par, hidx, hbuf, kind, gs, hs, glim, raw, y,
    w, k, gq, hq,
):  # fmt: skip
    """Histograms of the subtrees ``need`` of the rows ``alive`` (see replay_tree)."""
    n = inner.shape[0]
    count = np.zeros(n + 1, dtype=np.int64)
    for r in alive:
        count[inner[leaf_of[r]] + 1] += 1
    start = np.zeros(n + 2, dtype=np.int64)
    for v in range(n + 1):
        start[v + 1] = start[v] + count[v]
    rows = np.empty(start[n + 1] - start[1], dtype=np.int64)
    fill = start[1:].copy()
    for r in alive:
        t = inner[leaf_of[r]]
        if t >= 0:
            rows[fill[t] - start[1]] = r
            fill[t] += 1
    for v in range(n - 1, -1, -1):  # children before their parents
        if not need[v]:
            continue
        own = rows[start[v + 1] - start[1] : start[v + 2] - start[1]]
        gradients(kind, raw, y, w, own, k, gs, hs, glim, gq, hq)
        build_hist(xb, own, gq, hq, hbuf[hidx[v]])
    for v in range(n - 1, -1, -1):
        if need[v] and par[v] >= 0 and inner[par[v]] >= 0:
            hbuf[hidx[inner[par[v]]]] += hbuf[hidx[v]]


@njit(cache=True, nogil=True)
def _put_candidate(NI2, NF2, a, NIc, gain):
    NI2[a, CFEAT] = NIc[0]
    NI2[a, CBIN] = NIc[1]
    NI2[a, CGL] = NIc[2]
    NI2[a, CHL] = NIc[3]
    NI2[a, CCL] = NIc[4]
    NF2[a, GAIN] = gain


@njit(cache=True, nogil=True)
def _subtract_gone(NI, xb, gone, kind, raw, y, w, k, gs, hs, glim):
    """The node totals without ``gone``, and which nodes their paths touch.

    Returns ``(nG, nH, nC, touched, gg, gh)``: gradient, hessian and row
    sums per node, a mask of the nodes on the gone rows' paths, and each
    gone row's fixed-point gradient and hessian.
    """
    n = NI.shape[0]
    nG = NI[:, G].copy()
    nH = NI[:, H].copy()
    nC = NI[:, COUNT].copy()
    touched = np.zeros(n, dtype=np.bool_)
    n_gone = gone.shape[0]
    gg = np.empty(n_gone, dtype=np.int64)
    gh = np.empty(n_gone, dtype=np.int64)
    for i in range(n_gone):
        r = gone[i]
        gg[i], gh[i] = grad_one(kind, raw, y, w, r, k, gs, hs, glim)
        o = 0
        while True:
            touched[o] = True
            nG[o] -= gg[i]
            nH[o] -= gh[i]
            nC[o] -= 1
            if NI[o, LEFT] < 0:
                break
            o = NI[o, LEFT] if xb[NI[o, FEAT], r] <= NI[o, BIN] else NI[o, RIGHT]
    return nG, nH, nC, touched, gg, gh


@njit(cache=True, nogil=True)
def _plan_histograms(NI, par, touched, nC):
    """Which histograms the replay builds from rows, and where each goes.

    For each touched node without a stored child, its smaller child's (the
    other is the parent's minus it), and the root's when it keeps none.
    Returns ``(need, inner, hidx, n_h)``: the subtrees built from rows, the
    innermost such subtree above each node (-1: none), each touched or
    needed node's index in the buffer of histograms, and their number.
    """
    n = NI.shape[0]
    need = np.zeros(n, dtype=np.bool_)
    need[0] = NI[0, SLOT] < 0
    for o in range(n):
        if touched[o] and NI[o, LEFT] >= 0:
            lft, rgt = NI[o, LEFT], NI[o, RIGHT]
            if NI[lft, SLOT] < 0 and NI[rgt, SLOT] < 0:
                need[lft if nC[lft] <= nC[rgt] else rgt] = True
    inner = np.full(n, -1, dtype=np.int64)
    for v in range(n):
        if need[v]:
            inner[v] = v
        elif par[v] >= 0:
            inner[v] = inner[par[v]]
    hidx = np.full(n, -1, dtype=np.int64)
    n_h = 0
    for o in range(n):
        if touched[o] or need[o]:
            hidx[o] = n_h
            n_h += 1
    return need, inner, hidx, n_h


@njit(cache=True, nogil=True)
def _stored_without_gone(NI, xb, cache, touched, hidx, hbuf, gone, gg, gh):
    """The touched nodes' stored histograms, less the gone rows, into ``hbuf``."""
    p = xb.shape[0]
    for o in range(NI.shape[0]):
        if touched[o] and NI[o, SLOT] >= 0:
            hbuf[hidx[o]] = cache[NI[o, SLOT]]
    for i in range(gone.shape[0]):
        r = gone[i]
        o = 0
        while True:
            if NI[o, SLOT] >= 0:
                h = hbuf[hidx[o]]
                for j in range(p):
                    b = xb[j, r]
                    h[j, b, 0] -= gg[i]
                    h[j, b, 1] -= gh[i]
                    h[j, b, 2] -= 1
            if NI[o, LEFT] < 0:
                break
            o = NI[o, LEFT] if xb[NI[o, FEAT], r] <= NI[o, BIN] else NI[o, RIGHT]


@njit(cache=True, nogil=True)
def _from_parents(NI, cache, touched, need, hidx, hbuf):
    """The other touched nodes' histograms: their parent's less their sibling's."""
    for o in range(NI.shape[0]):
        if not touched[o] or NI[o, LEFT] < 0:
            continue
        lft, rgt = NI[o, LEFT], NI[o, RIGHT]
        hp = hbuf[hidx[o]]
        if NI[lft, SLOT] >= 0 or NI[rgt, SLOT] >= 0:
            c, other = (lft, rgt) if NI[lft, SLOT] >= 0 else (rgt, lft)
            if touched[other] and NI[other, SLOT] < 0:
                src = hbuf[hidx[c]] if touched[c] else cache[NI[c, SLOT]]
                hbuf[hidx[other]] = hp - src
        else:
            small, large = (lft, rgt) if need[lft] else (rgt, lft)
            if touched[large]:
                hbuf[hidx[large]] = hp - hbuf[hidx[small]]


@njit(cache=True, nogil=True)
def _touched_candidates(NI, NF, n_bins, fp, touched, nG, nH, nC, hidx, hbuf):
    """Every node's candidate split and gain: found again where a row left.

    Returns ``(cand, cgain)``: rows of (feature, bin, left gradient, left
    hessian, left rows), feature -1 for none, as :func:`_set_candidate`.
    """
    ginv, hinv, lam, mhess = fp[0], fp[1], fp[2], fp[3]
    msl, mdep = int(fp[5]), int(fp[6])
    cand = NI[:, CFEAT : CCL + 1].copy()
    cgain = NF[:, GAIN].copy()
    out = np.empty(5, dtype=np.int64)
    for o in range(NI.shape[0]):
        if not touched[o]:
            continue
        cand[o] = 0
        cand[o, 0] = -1
        cgain[o] = 0.0
        C = nC[o]
        if C < 2 * msl or NI[o, DEPTH] >= mdep or nH[o] * hinv < 2 * mhess:
            continue
        gain = best_split(
            hbuf[hidx[o]], n_bins, nG[o], nH[o], C, ginv, hinv, lam, msl, mhess, out
        )
        if out[0] >= 0:
            cand[o] = out
            cgain[o] = gain
    return cand, cgain


@njit(cache=True, nogil=True)
def _replay_growth(
    NI, NF, NK, cache, fp, m, cand, cgain, nG, nH, nC, touched, hidx, hbuf,
    NI2, NF2, NK2, cache2, new_id,
):  # fmt: skip
    """Best-first growth on the new gains, node for node, into ``NI2`` ...

    Follows :func:`grow_tree`'s order on the candidates ``cand``/``cgain``
    and the totals ``nG``, ``nH``, ``nC`` (``m`` rows in all), checking at
    each step that the node it splits is the old tree's split node ``o``
    with the same split. Returns ``(ok, n_nodes, n_slots, old_of)``; not
    ``ok`` when a split differs (or a node would keep a histogram it has
    not: it is large enough to only now that the tree has fewer rows).
    """
    mleaves, cdepth, cmin = int(fp[7]), int(fp[8]), int(fp[9])
    n = NI.shape[0]
    new_id[:] = -1
    old_of = np.empty(n, dtype=np.int64)
    front = np.empty(n, dtype=np.int64)
    _new_node(NI2, NF2, NK2, 0, 0, nC[0], nG[0], nH[0], NK[0])
    old_of[0] = 0
    new_id[0] = 0
    n_slots = 0
    if _cached(0, m, m, cdepth, cmin):
        cache2[0] = hbuf[hidx[0]]
        NI2[0, SLOT] = 0
        n_slots = 1
    _put_candidate(NI2, NF2, 0, cand[0], cgain[0])
    n_front = 0
    if cand[0, 0] >= 0:
        front[0] = 0
        n_front = 1
    n_nodes = 1
    n_leaves = 1
    while n_front > 0 and n_leaves < mleaves:
        i = _pick(front, n_front, NF2)
        a = front[i]
        front[i] = front[n_front - 1]
        n_front -= 1
        o = old_of[a]
        if NI[o, LEFT] < 0 or NI[o, FEAT] != cand[o, 0] or NI[o, BIN] != cand[o, 1]:
            return False, 0, 0, old_of
        NI2[a, FEAT] = NI[o, FEAT]
        NI2[a, BIN] = NI[o, BIN]
        NF2[a, THR] = NF[o, THR]
        lft, rgt = n_nodes, n_nodes + 1
        n_nodes += 2
        NI2[a, LEFT] = lft
        NI2[a, RIGHT] = rgt
        d = NI2[a, DEPTH] + 1
        for c, oc in ((lft, NI[o, LEFT]), (rgt, NI[o, RIGHT])):
            _new_node(NI2, NF2, NK2, c, d, nC[oc], nG[oc], nH[oc], NK[oc])
            old_of[c] = oc
            new_id[oc] = c
            if _cached(d, nC[oc], m, cdepth, cmin):
                if touched[oc]:
                    cache2[n_slots] = hbuf[hidx[oc]]
                elif NI[oc, SLOT] >= 0:
                    cache2[n_slots] = cache[NI[oc, SLOT]]
                else:
                    return False, 0, 0, old_of
                NI2[c, SLOT] = n_slots
                n_slots += 1
            _put_candidate(NI2, NF2, c, cand[oc], cgain[oc])
            if cand[oc, 0] >= 0:
                front[n_front] = c
                n_front += 1
        n_leaves += 1
    return True, n_nodes, n_slots, old_of


@njit(cache=True, nogil=True)
def _replay_leaves(NI, NF, NK, fp, lr, n_nodes, old_of, touched, nG, nH, NI2, NF2):
    """The replayed tree's leaf values; returns the replay's status.

    2 when an old split node is a leaf now, 1 when a leaf value changes
    (a touched leaf's rounded step moved), 0 when every value stays.
    """
    ginv, hinv, lam, quantum = fp[0], fp[1], fp[2], fp[4]
    status = 0
    for a in range(n_nodes):
        o = old_of[a]
        if NI2[a, LEFT] >= 0:
            continue
        if NI[o, LEFT] >= 0:  # split before, a leaf now
            return 2
        v = NF[o, VALUE]
        if touched[o]:
            v = leaf_value(nG[o], nH[o], ginv, hinv, lam, quantum, lr, NK[o])
            if v != NF[o, VALUE]:
                status = 1
        NF2[a, VALUE] = v
    return status


@njit(cache=True, nogil=True)
def replay_tree(
    xb, n_bins, fp, lr, kind, gs, hs, glim, raw, y, w, k, alive, gone, leaf_of,
    NI, NF, NK, cache, NI2, NF2, NK2, cache2, new_id, gq, hq,
):  # fmt: skip
    """One fitted tree, as :func:`grow_tree` grows it without the rows ``gone``.

    ``NI``, ``NF``, ``NK``, ``cache``: the tree fitted with ``alive`` and
    ``gone`` (ascending row ids), its rows' leaves ``leaf_of``, and
    ``raw``: the raw predictions before this tree, unchanged for ``alive``.
    The forgotten rows are taken out of the totals and stored histograms of
    the nodes on their paths; the other histograms on the paths are built
    from the rows of the smaller child (or a stored sibling) and the
    parent's; the candidate splits of those nodes are found again, and the
    best-first growth is replayed on the new gains. Writes the new tree to
    ``NI2``, ``NF2``, ``NK2``, ``cache2`` and each old node's new id to
    ``new_id``; ``gq``, ``hq`` are scratch (by row id).

    Returns ``(status, n_nodes, n_slots)``: status 0 when every split and
    leaf value stays (the retained rows' predictions are unchanged), 1 when
    only leaf values change, 2 when a split changes (the new arrays are then
    incomplete: grow the tree again).
    """
    par = _parents(NI)
    nG, nH, nC, touched, gg, gh = _subtract_gone(
        NI, xb, gone, kind, raw, y, w, k, gs, hs, glim
    )
    need, inner, hidx, n_h = _plan_histograms(NI, par, touched, nC)
    hbuf = np.empty((n_h, xb.shape[0], cache2.shape[2], 3), dtype=np.int64)
    _stored_without_gone(NI, xb, cache, touched, hidx, hbuf, gone, gg, gh)
    # one pass over the rows builds the planned subtrees' histograms: each
    # row adds to the innermost planned subtree holding its leaf
    _hist_subtrees(xb, alive, leaf_of, inner, need, par, hidx, hbuf, kind, gs, hs,
                   glim, raw, y, w, k, gq, hq)  # fmt: skip
    _from_parents(NI, cache, touched, need, hidx, hbuf)
    cand, cgain = _touched_candidates(
        NI, NF, n_bins, fp, touched, nG, nH, nC, hidx, hbuf
    )
    ok, n_nodes, n_slots, old_of = _replay_growth(
        NI, NF, NK, cache, fp, alive.shape[0], cand, cgain, nG, nH, nC, touched,
        hidx, hbuf, NI2, NF2, NK2, cache2, new_id,
    )  # fmt: skip
    if not ok:
        return 2, 0, 0
    status = _replay_leaves(
        NI, NF, NK, fp, lr, n_nodes, old_of, touched, nG, nH, NI2, NF2
    )
    if status == 2:
        return 2, 0, 0
    return status, n_nodes, n_slots
