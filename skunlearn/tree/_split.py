"""Split search: a node's totals, candidate splits and the best of them.

Feature choice (:func:`_select_features`), candidate values and their left
statistics (:func:`eval_splits`, :func:`eval_features`, with the packed
integer sums of few-class classifiers: :func:`pack_rows`), node totals
(:func:`eval_tot`) and the choice of the best valid split (:func:`choose`).
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numba import njit

from ._hashing import _FEATURE_SALT, _VALUE_SALT, h2
from ._params import (
    GINI,
    MSE,
    _offsets,
)

# interleaved copies of a node's candidate bins in split evaluation (a power of 2)
NH = 4
_U64_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)


# classifiers with at most this many classes (and integer weights) sum
# their candidate splits' statistics as packed integers (see eval_splits)
PACKED_MAX_CLASSES = 3


@njit(cache=True, nogil=True)
def _select_features(nodekey, p, mtry, out, hsel):
    """The ``mtry`` features of smallest hash, ascending (``hsel``: scratch)."""
    if mtry >= p:
        for f in range(p):
            out[f] = f
        return
    # insertion into the mtry smallest (hash, feature) pairs seen so far
    n = 0
    for f in range(p):
        h = h2(nodekey ^ _FEATURE_SALT, np.uint64(f))
        if n == mtry and h >= hsel[mtry - 1]:
            continue
        q = n if n < mtry else mtry - 1
        while q > 0 and hsel[q - 1] > h:
            hsel[q] = hsel[q - 1]
            out[q] = out[q - 1]
            q -= 1
        hsel[q] = h
        out[q] = f
        if n < mtry:
            n += 1
    # ascending feature ids
    for a in range(1, mtry):
        v = out[a]
        q = a
        while q > 0 and out[q - 1] > v:
            out[q] = out[q - 1]
            q -= 1
        out[q] = v


@njit(cache=True, nogil=True)
def new_scratch(m, P):
    """Work arrays of :func:`eval_splits` for nodes of up to ``m`` rows."""
    mtry, k, S, p = P.mtry, P.n_thresholds, P.stat_width, P.n_features
    k2 = 2 * k
    m = max(m, 1)
    return (
        np.empty(m, dtype=np.float64),  # the node's values of a feature
        np.empty(m, dtype=np.int64),  # each row's bin
        np.empty(m, dtype=np.int64),  # each row's class
        np.empty((NH, (k2 + 1) * S), dtype=np.float64),  # interleaved bins, + one
        np.empty(max(p, k2), dtype=np.uint64),  # hashes
        np.empty(k2, dtype=np.float64),  # stored values
        np.empty(k2, dtype=np.float64),  # sorted values, padded
        np.empty(mtry, dtype=np.int64),  # candidate features
        np.empty(m, dtype=np.uint64),  # each row's value hash
        np.empty(k2, dtype=np.uint64),  # hashes of the sorted values
        np.empty(m, dtype=np.float64),  # values of the rows of small hash
        np.empty(m, dtype=np.uint64),  # and their hashes
        np.empty(m, dtype=np.int64),  # each row's packed counts (see eval_splits)
        np.empty((NH, 2 * k2 + 2), dtype=np.int64),  # interleaved packed bins
    )


@njit(cache=True, nogil=True)
def eval_tot(rows, wr, m, yc, yr, P, buf):
    """Node totals into ``buf``'s tot; returns whether the node is pure."""
    mtry, k, S = P.mtry, P.n_thresholds, P.stat_width
    o_tot = mtry * 2 * k * S
    for c in range(S):
        buf[o_tot + c] = 0.0
    buf[o_tot] = m
    pure = True
    if P.classifier:
        for q in range(m):
            buf[o_tot + 1 + yc[rows[q]]] += wr[q]
        npos = 0
        for c in range(1, S):
            if buf[o_tot + c] > 0:
                npos += 1
        pure = npos <= 1
    else:
        y0 = yr[rows[0]] if m > 0 else 0.0
        for q in range(m):
            i = rows[q]
            w = wr[q]
            y = yr[i]
            buf[o_tot + 1] += w
            buf[o_tot + 2] += w * y
            buf[o_tot + 3] += w * y * y
            if y != y0:
                pure = False
    return pure


@njit(cache=True, nogil=True)
def _smallest(xs, hs, m, k2, hk, vk):
    """The ``k2`` distinct values of ``xs[:m]`` of smallest (hash, value).

    Into ``vk`` (hashes ``hk``), in no particular order. Returns how many,
    and whether they are all the distinct values.
    """
    nk = 0
    worst = 0
    complete = True
    # the worst stored (hash, value) is held in locals: once 2k values are
    # stored, nearly every row is rejected by one comparison
    hw = np.uint64(0)
    vw = 0.0
    for q in range(m):
        x = xs[q]
        h = hs[q]
        if nk == k2 and (h > hw or (h == hw and x >= vw)):
            if not (h == hw and x == vw):
                complete = False
            continue
        dup = False
        for t in range(nk):
            if vk[t] == x:
                dup = True
                break
        if dup:
            continue
        if nk < k2:
            hk[nk] = h
            vk[nk] = x
            nk += 1
        else:
            hk[worst] = h
            vk[worst] = x
            complete = False
        if nk == k2:
            worst = 0
            for t in range(1, k2):
                if hk[t] > hk[worst] or (hk[t] == hk[worst] and vk[t] > vk[worst]):
                    worst = t
            hw = hk[worst]
            vw = vk[worst]
    return nk, complete


@njit(cache=True, nogil=True)
def _pack(w, y, bits, C):
    # a row of weight w and class y, packed (see pack_rows)
    b = np.int64(bits)
    wi = np.int64(w)
    cls = (wi << (b * (y - 1))) if y > 0 else np.int64(0)
    return (np.int64(1) << (b * C)) + (wi << (b * (C - 1))) + cls


@njit(cache=True, nogil=True)
def pack_rows(rows, wr, m, yc, C, bits, out):
    """Each row's counts packed in one int64 (fields of ``bits`` bits).

    From the lowest field: the row's weight if of class 1, 2, ..., C - 1,
    its weight, and 1 (the row). Sums of packed rows are exact while no
    field's total reaches ``2**bits`` (see :func:`packed_bits`).
    """
    for q in range(m):
        out[q] = _pack(wr[q], np.int64(yc[rows[q]]), bits, C)


@njit(cache=True, nogil=True)
def _unpack(run, bits, C, buf, b):
    # a sum of packed rows into buf[b] (rows), buf[b + 1 + c] (weight of
    # class c); returns the number of classes of positive weight
    mask = (np.int64(1) << np.int64(bits)) - 1
    rest = np.int64(0)
    npos = 0
    for c in range(1, C):
        wc = (run >> np.int64(bits * (c - 1))) & mask
        buf[b + 1 + c] = wc
        rest += wc
        npos += wc > 0
    w0 = ((run >> np.int64(bits * (C - 1))) & mask) - rest
    buf[b + 1] = w0
    buf[b] = run >> np.int64(bits * C)
    return npos + (w0 > 0)


@njit(cache=True, nogil=True)
def packed_bits(m, wsum, P):
    """Field width of packed counts for ``m`` rows of weight ``wsum``, or 0.

    0 unless the model is a classifier of at most ``PACKED_MAX_CLASSES``
    classes with integer weights, and no field's total can reach its width.
    """
    C = P.stat_width - 1
    if not P.classifier or P.exact_counts == 0 or C > PACKED_MAX_CLASSES:
        return 0
    bits = 63 // (C + 1)
    if m < (1 << bits) and wsum < (1 << bits):
        return bits
    return 0


@njit(cache=True, nogil=True)
def eval_tot_packed(pkn, m, P, buf, bits):
    """:func:`eval_tot` from the node's packed rows (see :func:`pack_rows`)."""
    mtry, k, S = P.mtry, P.n_thresholds, P.stat_width
    run = np.int64(0)
    for q in range(m):
        run += pkn[q]
    return _unpack(run, bits, S - 1, buf, mtry * 2 * k * S) <= 1


@njit(cache=True, nogil=True)
def _packed_sums(xs, m, cvp, nk, pk, hpk, bins, C, bits, buf, base, e0, S):
    # A row's bin is 2 t + 1 if its value equals stored value t, else 2 t
    # for the t stored values below it (counted over all rows, one stored
    # value at a time: vectorized). Its packed counts go to NH interleaved
    # copies of the bins (row q into copy q % NH). Running sums over the bins
    # then give the left statistics of each stored value, and bin 2 t + 1
    # the rows equal to it.
    for q in range(m):
        bins[q] = 0
    for t in range(nk):
        v = cvp[t]
        for q in range(m):
            x = xs[q]
            bins[q] += (v < x) + (v <= x)
    hpk[:, : 2 * nk + 1] = 0
    for q in range(m):
        hpk[q & (NH - 1), bins[q]] += pk[q]
    run = np.int64(0)
    for t in range(nk):
        eq = hpk[0, 2 * t + 1]
        below = hpk[0, 2 * t]
        for c in range(1, NH):
            eq += hpk[c, 2 * t + 1]
            below += hpk[c, 2 * t]
        run += below + eq
        _unpack(run, bits, C, buf, base + t * S)
        buf[e0 + t] = eq >> np.int64(bits * C)


_ALL_FEATURES = np.empty(0, dtype=np.bool_)


@njit(cache=True, nogil=True)
def eval_splits(rows, wr, m, X, yc, yr, P, nodekey, buf, XT, pos, scr, pkn):
    """Candidate splits of a node (totals must be in ``buf`` already).

    The node's feature values are read from ``XT[f, pos]`` (a compact copy
    of the subtree's rows kept by :func:`build`) when ``XT`` has rows, else
    from ``X[rows, f]``. ``pkn``: the rows' packed counts (see
    :func:`pack_rows`), or an empty array.

    For each candidate feature, the ``2 k`` distinct values with the smallest
    hash are stored: the first ``k`` still present (by hash) are the active
    candidates, the others a reserve that takes over when an active value
    loses its last row, so that a deletion seldom needs the node's rows.
    """
    eval_features(
        rows, wr, m, X, yc, yr, P, nodekey, buf, XT, pos, scr, pkn, _ALL_FEATURES
    )


@njit(cache=True, nogil=True)
def _clear_features(buf, which, P):
    """Zero the left statistics and counts of the features ``which`` marks.

    An empty ``which``: every feature.
    """
    mtry, k, S = P.mtry, P.n_thresholds, P.stat_width
    k2 = 2 * k
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    if which.shape[0] == 0:
        for q in range(o_cst, o_tot):
            buf[q] = 0.0
        for q in range(o_ceq, o_perm):
            buf[q] = 0.0
        return
    for j in range(mtry):
        if which[j]:
            buf[o_cst + j * k2 * S : o_cst + (j + 1) * k2 * S] = 0.0
            buf[o_ceq + j * k2 : o_ceq + (j + 1) * k2] = 0.0


@njit(cache=True, nogil=True)
def _packed_targets(rows, wr, m, yc, P, pkn, pk, ycq):
    """How a node's statistics are summed: ``(bits, pkn)``.

    A classifier of few classes with integer weights sums its statistics as
    integers packed in one int64 per row (see :func:`pack_rows`), given in
    ``pkn`` by the caller or packed here into ``pk`` when no field's total
    can reach ``2**bits``: one addition per row and feature then does all of
    its sums. Otherwise ``pkn`` comes back empty and a classifier's targets
    are read into ``ycq``, once for all its candidate features.
    """
    bits = packed_bits(0, 0.0, P)  # the width, if the classes allow any
    packed = pkn.shape[0] > 0
    if not packed and bits:
        wsum = 0.0
        for q in range(m):
            wsum += wr[q]
        if packed_bits(m, wsum, P) != 0:
            pack_rows(rows, wr, m, yc, P.stat_width - 1, bits, pk)
            return bits, pk
    if P.classifier and not packed:
        for q in range(m):
            ycq[q] = yc[rows[q]]
    return bits, pkn


@njit(cache=True, nogil=True)
def eval_features(rows, wr, m, X, yc, yr, P, nodekey, buf, XT, pos, scr, pkn, which):
    """:func:`eval_splits` of the candidate features ``j`` with ``which[j]``.

    The other features' part of ``buf`` is left as it is (an empty
    ``which``: every feature). A feature's part depends on its values alone:
    the part :func:`eval_splits` writes.
    """
    mtry, k, S, p = P.mtry, P.n_thresholds, P.stat_width, P.n_features
    k2 = 2 * k
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    clf = P.classifier
    every = which.shape[0] == 0
    _clear_features(buf, which, P)
    xs, bins, ycq, hist, hk, vk, cvp, iscr, hrow, hs, xf, hf, pk, hpk = scr
    feats = iscr[:mtry]
    _select_features(nodekey, p, mtry, feats, hk)
    xbits = xs.view(np.uint64)
    C = S - 1
    bits, pkn = _packed_targets(rows, wr, m, yc, P, pkn, pk, ycq)
    packed = pkn.shape[0] > 0
    for j in range(mtry):
        if not every and not which[j]:
            continue
        f = feats[j]
        buf[o_f + j] = f
        fkey = h2(nodekey ^ _VALUE_SALT, np.uint64(f))
        if XT.shape[0] > 0:
            for q in range(m):
                xs[q] = XT[f, pos[q]]
        else:
            for q in range(m):
                xs[q] = X[rows[q], f]
        # hashes of the values' bits (-0.0 was made 0.0 at
        # fit), all rows in one vectorized pass
        for q in range(m):
            hrow[q] = h2(fkey, xbits[q])
        nk, complete = _candidates(xs, hrow, m, k2, xf, hf, hk, vk)
        _store_candidates(buf, j, nk, complete, hk, vk, cvp, hs, k2, o_cv, o_nc, o_comp)
        _store_perm(buf, j, nk, cvp, hs, k2, o_perm)
        if nk == 0:
            continue
        base = o_cst + j * k2 * S
        e0 = o_ceq + j * k2
        if packed:
            _packed_sums(xs, m, cvp, nk, pkn, hpk, bins, C, bits, buf, base, e0, S)
        else:
            _sums(
                xs, m, rows, wr, ycq, yr, clf, cvp, nk, k2, bins, hist, buf, base, e0, S
            )


@njit(cache=True, nogil=True)
def _candidates(xs, hrow, m, k2, xf, hf, hk, vk):
    """A feature's stored candidates: the ``2 k`` values of smallest hash.

    Into ``hk`` (hashes) and ``vk`` (values); returns how many, and whether
    they are all the node's distinct values.
    """
    if m > 8 * k2:
        # the 2 k smallest are among the rows whose hash is below a
        # bound that about 4 k rows pass, if at least 2 k distinct
        # values do (else all rows are looked at)
        bound = (_U64_MAX // np.uint64(m)) * np.uint64(4 * k2)
        nf = 0
        for q in range(m):
            h = hrow[q]
            xf[nf] = xs[q]
            hf[nf] = h
            nf += h < bound
        nk, complete = _smallest(xf, hf, nf, k2, hk, vk)
        if complete:
            nk, complete = _smallest(xs, hrow, m, k2, hk, vk)
        return nk, complete
    return _smallest(xs, hrow, m, k2, hk, vk)


@njit(cache=True, nogil=True)
def _store_candidates(buf, j, nk, complete, hk, vk, cvp, hs, k2, o_cv, o_nc, o_comp):
    """Feature ``j``'s candidates in ascending value order, into ``buf``.

    With their number and whether they are all the node's values. ``cvp``
    receives the values ascending, ``hs`` their hashes alongside; ranks
    counted without branches (a sort of a few values mispredicts at nearly
    every step).
    """
    for t in range(nk):
        r = 0
        for u in range(nk):
            r += vk[u] < vk[t]
        cvp[r] = vk[t]
        hs[r] = hk[t]
    buf[o_nc + j] = nk
    buf[o_comp + j] = 1.0 if complete else 0.0
    for t in range(k2):
        buf[o_cv + j * k2 + t] = cvp[t] if t < nk else np.nan


@njit(cache=True, nogil=True)
def _store_perm(buf, j, nk, cv, hs, k2, o_perm):
    """Feature ``j``'s candidates' positions in (hash, value) order (``perm``)."""
    for t in range(nk):
        r = 0
        for u in range(nk):
            r += (hs[u] < hs[t]) | ((hs[u] == hs[t]) & (cv[u] < cv[t]))
        buf[o_perm + j * k2 + r] = t
    # the unused places too: a slot holds nothing of an earlier node
    for t in range(nk, k2):
        buf[o_perm + j * k2 + t] = 0.0


@njit(cache=True, nogil=True)
def _sums(xs, m, rows, wr, ycq, yr, clf, cvp, nk, k2, bins, hist, buf, base, e0, S):
    """A feature's left statistics at each candidate, unpacked (floats).

    A row's bin is the number of stored values below it, counted one
    stored value at a time over all rows (vectorized; a search per row
    mispredicts on random values); a second pass adds the rows into NH
    interleaved copies of the bins (row q into copy q % NH), so that
    consecutive rows seldom wait on the same memory; the copies are summed
    in a fixed order, so the sums depend on the rows and their order only,
    as in every other evaluation of the node.
    """
    for t in range(nk, k2):
        cvp[t] = np.inf
    bins[:m] = 0
    for t in range(nk):
        c_t = cvp[t]
        for q in range(m):
            bins[q] += c_t < xs[q]
    hist[:, : (nk + 1) * S] = 0.0
    for q in range(m):
        lo = bins[q]
        c = q & (NH - 1)
        b = lo * S
        hist[c, b] += 1.0
        if clf:
            hist[c, b + 1 + ycq[q]] += wr[q]
        else:
            w = wr[q]
            y = yr[rows[q]]
            hist[c, b + 1] += w
            hist[c, b + 2] += w * y
            hist[c, b + 3] += w * y * y
        if lo < nk and cvp[lo] == xs[q]:
            buf[e0 + lo] += 1.0
    for u in range(nk * S):
        acc = hist[0, u]
        for c in range(1, NH):
            acc += hist[c, u]
        buf[base + u] = acc
    for t in range(1, nk):
        b = base + t * S
        for c in range(S):
            buf[b + c] += buf[b - S + c]


@njit(cache=True, nogil=True)
def _proxy(buf, b, tot, sign, S, crit):
    # children's part of the impurity decrease, larger is better, for
    # entropy and squared error (gini: _gini_pair)
    if crit == MSE:
        w = tot[1] + sign * buf[b + 1] if sign != 0 else buf[b + 1]
        s = tot[2] + sign * buf[b + 2] if sign != 0 else buf[b + 2]
        if w <= 0:
            return 0.0
        return s * s / w
    wsum = 0.0
    for c in range(1, S):
        wsum += (tot[c] - buf[b + c]) if sign != 0 else buf[b + c]
    if wsum <= 0:
        return 0.0
    out = 0.0
    for c in range(1, S):
        v = (tot[c] - buf[b + c]) if sign != 0 else buf[b + c]
        if v > 0:
            out += v * np.log(v / wsum)
    return out


@njit(cache=True, nogil=True)
def _gini_pair(buf, b, tot, S):
    # _proxy of both sides for gini in one pass, with the same operations in
    # the same order (a zero count adds 0.0 to a sum of squares: no change)
    wl = 0.0
    wr = 0.0
    sl = 0.0
    sr = 0.0
    for c in range(1, S):
        vl = buf[b + c]
        vr = tot[c] - vl
        wl += vl
        wr += vr
        sl += vl * vl
        sr += vr * vr
    pl = sl / wl if wl > 0 else 0.0
    pr = sr / wr if wr > 0 else 0.0
    return pl + pr


@njit(cache=True, nogil=True)
def choose(buf, P):
    """Best valid split among the active candidates: (slot j, index t) or (-1, -1)."""
    mtry, k, S = P.mtry, P.n_thresholds, P.stat_width
    k2 = 2 * k
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    msl = P.min_samples_leaf
    crit = P.criterion
    tot = buf[o_tot : o_tot + S]
    n = tot[0]
    best = -np.inf
    bj = -1
    bt = -1
    for j in range(mtry):
        nc = int(buf[o_nc + j])
        # the first k stored values still present, in hash order, as a bit
        # mask over the value slots (n_thresholds <= 32: 2 k <= 64 slots)
        active = np.uint64(0)
        cnt = 0
        for r in range(nc):
            if cnt == k:
                break
            t = int(buf[o_perm + j * k2 + r])
            if buf[o_ceq + j * k2 + t] > 0:
                active |= np.uint64(1) << np.uint64(t)
                cnt += 1
        for t in range(nc):
            if not (active >> np.uint64(t)) & np.uint64(1):
                continue
            b = o_cst + (j * k2 + t) * S
            nl = buf[b]
            if nl < msl or n - nl < msl:
                continue
            if crit == GINI:
                sc = _gini_pair(buf, b, tot, S)
            else:
                sc = _proxy(buf, b, tot, 0, S, crit) + _proxy(buf, b, tot, -1, S, crit)
            if sc > best:
                best = sc
                bj = j
                bt = t
    return bj, bt
