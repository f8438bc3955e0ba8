"""Compiled kernels of the trees built for deletion (numba, cached on disk).

One tree is a handful of flat arrays, nodes in preorder:

- ``NI`` (n_nodes, 10) int64: feature, left, right, start, end, depth, slot,
  kind, n_rows, parent. ``left == -1`` marks a leaf. ``[start, end)`` is the
  node's range in the tree's ``order`` array (row ids; a node's range is its
  children's, left then right; a leaf's rows ascend, except in a subtree
  rebuilt on exact counts, which keeps the order its rows had; dead rows stay
  until a rebuild or :func:`renumber` drops them). ``slot`` indexes the
  cached split statistics (``-1``: none). ``kind`` of a leaf: 1 when it can
  never split again after deletions (depth, size, purity), 2 when it had no
  valid split (re-examined whenever one of its rows goes).
- ``NF`` (n_nodes, 3 + n_values) float64: threshold, weight, impurity, value.
- ``NK`` (n_nodes,) uint64: hash of the node's path, the source of all of the
  node's randomness.
- ``SD`` (n_slots, W) float64: one slot per large internal node, the
  statistics of every candidate split (see :func:`offsets`).

Every random choice is a hash of (seed, tree, node path, feature, value) or of
(seed, tree, row fingerprint): nothing depends on row positions or on a random
stream, so a subtree rebuilt after a deletion is the subtree a refit builds.
Split statistics are sums taken over the node's rows in ascending row order,
the order in which a refit on the retained rows visits them, so fresh sums are
bit for bit equal; cached statistics are decremented only where all weights
are integers (exact in float64), otherwise nodes are re-evaluated from rows.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from llvmlite import ir as _ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, arr, idx):
    """Hint the processor to load ``arr.flat[idx]`` (C-contiguous ``arr``)."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = _ir.IntType(8).as_pointer()
        ptr = builder.bitcast(builder.gep(a.data, [args[1]]), i8p)
        i32 = _ir.IntType(32)
        fnty = _ir.FunctionType(_ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # read, keep in all cache levels, data
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


FEAT, LEFT, RIGHT, START, END, DEPTH, SLOT, KIND, NROWS, PARENT = range(10)
N_INT = 10
THR, WEIGHT, IMP, VAL = 0, 1, 2, 3

GINI, ENTROPY, MSE = 0, 1, 2
# P (parameter vector) positions
(
    P_C,
    P_S,
    P_MTRY,
    P_K,
    P_MSL,
    P_MSS,
    P_MD,
    P_CRIT,
    P_CLF,
    P_CACHE,
    P_USECACHE,
    P_BOOT,
    P_P,
) = range(13)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_FEATURE_SALT = np.uint64(0xF0F0F0F0)
# interleaved copies of a node's candidate bins in split evaluation (a power of 2)
NH = 4
_VALUE_SALT = np.uint64(0x0F0F0F0F00000000)
_U64_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)


# classifiers with at most this many classes (and integer weights) sum
# their candidate splits' statistics as packed integers (see eval_splits)
PACKED_MAX_CLASSES = 3
# rows ahead that a gather of scattered rows asks the memory for
PF = 12
# subtrees of fewer rows grow from X itself, without a copy of their columns
# (2048: 2-3% lower median deletion than 0 or 4096 in interleaved runs)
XT_MIN_ROWS = 2048


@njit(cache=True, nogil=True)
def _prefetch_row(a, start, n):
    # every cache line (8 float64) of a.flat[start:start + n]
    for q in range(start, start + n, 8):
        prefetch(a, q)
    prefetch(a, start + n - 1)


@njit(cache=True, nogil=True)
def mix(h):
    h = h ^ (h >> _S30)
    h = h * _M1
    h = h ^ (h >> _S27)
    h = h * _M2
    return h ^ (h >> _S31)


@njit(cache=True, nogil=True)
def h2(a, b):
    return mix(a ^ mix(b + _G))


def offsets(mtry, k, S):
    """Offsets in a slot row (``2 k`` stored candidates per feature).

    cst: left statistics ``x <= v`` of each stored candidate value v (in
    ascending value order); tot: node totals; ceq: rows equal to v; perm:
    stored candidates in hash order; cv: the values; comp: 1 when the stored
    values are all the distinct values of the node; nc: number stored; feat.
    """
    k2 = 2 * k
    o_cst = 0
    o_tot = mtry * k2 * S
    o_ceq = o_tot + S
    o_perm = o_ceq + mtry * k2
    o_cv = o_perm + mtry * k2
    o_comp = o_cv + mtry * k2
    o_nc = o_comp + mtry
    o_f = o_nc + mtry
    return o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, o_f + mtry


_offsets = njit(cache=True, nogil=True)(offsets)


@njit(cache=True, nogil=True)
def _w(sw, i):
    # a single weight stands for "all ones" (no sample_weight given)
    return sw[i] if sw.shape[0] > 1 else sw[0]


# P[P_BOOT]: 0 without bootstrap, else the Poisson rate (a row's expected
# multiplicity, ``max_samples``) in units of 2**-20; BOOT_ONE is rate 1.
BOOT_ONE = 1 << 20


@njit(cache=True, nogil=True)
def row_mult(tkey, rkey, boot):
    """Bootstrap multiplicity of a row in a tree: Poisson(rate) from its fingerprint.

    ``boot`` is 0 (no bootstrap: 1) or the rate in units of 2**-20 (see
    BOOT_ONE); a rate below 1 puts each row in a share ``1 - exp(-rate)``
    of the trees.
    """
    if not boot:
        return 1
    h = h2(tkey, rkey)
    u = np.float64(h >> _S11) * (1.0 / 9007199254740992.0)
    if boot == BOOT_ONE:  # the default: the same draws as before rates existed
        p = 0.36787944117144233
        c = p
        k = 0
        while u >= c and k < 30:
            k += 1
            p = p / k
            c += p
        return k
    rate = boot * (1.0 / BOOT_ONE)
    p = np.exp(-rate)
    c = p
    k = 0
    while u >= c and k < 30:
        k += 1
        p = p * rate / k
        c += p
    return k


@njit(cache=True, nogil=True)
def members(rk, tkey, boot, out):
    """Row ids with a positive multiplicity in the tree, ascending."""
    m = 0
    for i in range(rk.shape[0]):
        if row_mult(tkey, rk[i], boot) > 0:
            out[m] = i
            m += 1
    return m


@njit(cache=True, nogil=True)
def gather(order, s, e, alive, rk, sw, tkey, boot, rows, wr, ascending):
    """Live rows of ``order[s:e]`` and their weights in the tree.

    Weights only if ``wr`` has room (an empty one skips them).

    An internal node's range is the concatenation of its children's, so with
    ``ascending`` the rows are sorted into the order a refit sums them in
    (needed where sums are not exact: real targets or weights).
    """
    m = 0
    for q in range(s, e):
        i = order[q]
        if alive[i]:
            rows[m] = i
            m += 1
    if ascending:
        n = alive.shape[0]
        if 16 * m > n:
            # a large node: marking its (distinct) rows and scanning all row
            # ids is linear, where sorting is m log m
            mark = np.zeros(n, dtype=np.bool_)
            for q in range(m):
                mark[rows[q]] = True
            m2 = 0
            for i in range(n):
                if mark[i]:
                    rows[m2] = i
                    m2 += 1
        else:
            rows[:m] = np.sort(rows[:m])
    if wr.shape[0] > 0:
        for q in range(m):
            i = rows[q]
            wr[q] = row_mult(tkey, rk[i], boot) * _w(sw, i)
    return m


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
    mtry, k, S, p = P[P_MTRY], P[P_K], P[P_S], P[P_P]
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
    mtry, k, S = P[P_MTRY], P[P_K], P[P_S]
    o_tot = mtry * 2 * k * S
    for c in range(S):
        buf[o_tot + c] = 0.0
    buf[o_tot] = m
    pure = True
    if P[P_CLF]:
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
    C = P[P_S] - 1
    if not P[P_CLF] or P[P_USECACHE] == 0 or C > PACKED_MAX_CLASSES:
        return 0
    bits = 63 // (C + 1)
    if m < (1 << bits) and wsum < (1 << bits):
        return bits
    return 0


@njit(cache=True, nogil=True)
def eval_tot_packed(pkn, m, P, buf, bits):
    """:func:`eval_tot` from the node's packed rows (see :func:`pack_rows`)."""
    mtry, k, S = P[P_MTRY], P[P_K], P[P_S]
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
def eval_features(rows, wr, m, X, yc, yr, P, nodekey, buf, XT, pos, scr, pkn, which):
    """:func:`eval_splits` of the candidate features ``j`` with ``which[j]``.

    The other features' part of ``buf`` is left as it is (an empty
    ``which``: every feature). A feature's part depends on its values alone:
    the part :func:`eval_splits` writes.
    """
    mtry, k, S, p = P[P_MTRY], P[P_K], P[P_S], P[P_P]
    k2 = 2 * k
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    clf = P[P_CLF]
    every = which.shape[0] == 0
    if every:
        for q in range(o_cst, o_tot):
            buf[q] = 0.0
        for q in range(o_ceq, o_perm):
            buf[q] = 0.0
    else:
        for j in range(mtry):
            if which[j]:
                buf[o_cst + j * k2 * S : o_cst + (j + 1) * k2 * S] = 0.0
                buf[o_ceq + j * k2 : o_ceq + (j + 1) * k2] = 0.0
    xs, bins, ycq, hist, hk, vk, cvp, iscr, hrow, hs, xf, hf, pk, hpk = scr
    feats = iscr[:mtry]
    _select_features(nodekey, p, mtry, feats, hk)
    xbits = xs.view(np.uint64)
    # A classifier of few classes with integer weights sums its statistics
    # as integers packed in one int64 per row (see pack_rows), given in
    # ``pkn`` by the caller or packed here when no field's total can reach
    # 2**bits: one addition per row and feature then does all of its sums
    C = S - 1
    bits = packed_bits(0, 0.0, P)  # the width, if the classes allow any
    packed = pkn.shape[0] > 0
    if not packed and bits:
        wsum = 0.0
        for q in range(m):
            wsum += wr[q]
        packed = packed_bits(m, wsum, P) != 0
        if packed:
            pack_rows(rows, wr, m, yc, C, bits, pk)
            pkn = pk
    if clf and not packed:
        # the node's targets, read once for all its candidate features
        for q in range(m):
            ycq[q] = yc[rows[q]]
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
        else:
            nk, complete = _smallest(xs, hrow, m, k2, hk, vk)
        # ascending values (distinct), hashes alongside, and perm: the
        # values in (hash, value) order; ranks counted without branches (a
        # sort of a few values mispredicts at nearly every step)
        for t in range(nk):
            r = 0
            for u in range(nk):
                r += vk[u] < vk[t]
            cvp[r] = vk[t]
            hs[r] = hk[t]
        cv = cvp
        buf[o_nc + j] = nk
        buf[o_comp + j] = 1.0 if complete else 0.0
        for t in range(k2):
            buf[o_cv + j * k2 + t] = cv[t] if t < nk else np.nan
        for t in range(nk):
            r = 0
            for u in range(nk):
                r += (hs[u] < hs[t]) | ((hs[u] == hs[t]) & (cv[u] < cv[t]))
            buf[o_perm + j * k2 + r] = t
        # the unused places too: a slot holds nothing of an earlier node
        for t in range(nk, k2):
            buf[o_perm + j * k2 + t] = 0.0
        if nk == 0:
            continue
        base = o_cst + j * k2 * S
        e0 = o_ceq + j * k2
        if packed:
            _packed_sums(xs, m, cvp, nk, pkn, hpk, bins, C, bits, buf, base, e0, S)
            continue
        # a row's bin is the number of stored values below it, counted one
        # stored value at a time over all rows (vectorized; a search per
        # row mispredicts on random values); a second pass adds the rows into
        # NH interleaved copies of the bins (row q into copy q % NH), so that
        # consecutive rows seldom wait on the same memory; the copies are
        # summed in a fixed order, so the sums depend on the rows and their
        # order only, as in every other evaluation of the node
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
    mtry, k, S = P[P_MTRY], P[P_K], P[P_S]
    k2 = 2 * k
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    msl = P[P_MSL]
    crit = P[P_CRIT]
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


@njit(cache=True, nogil=True)
def set_node_values(NF, node, tot, P):
    """Weight, impurity and value of a node from its totals ``tot``."""
    if P[P_CLF]:
        C = P[P_C]
        w = 0.0
        for c in range(C):
            w += tot[1 + c]
        NF[node, WEIGHT] = w
        imp = 0.0
        if w > 0:
            g = 0.0
            for c in range(C):
                pc = tot[1 + c] / w
                NF[node, VAL + c] = pc
                if P[P_CRIT] == GINI:
                    g += pc * pc
                elif pc > 0:
                    imp -= pc * np.log2(pc)
            if P[P_CRIT] == GINI:
                imp = 1.0 - g
        else:
            for c in range(C):
                NF[node, VAL + c] = 1.0 / C
        NF[node, IMP] = imp
    else:
        w = tot[1]
        NF[node, WEIGHT] = w
        if w > 0:
            mean = tot[2] / w
            NF[node, VAL] = mean
            NF[node, IMP] = max(tot[3] / w - mean * mean, 0.0)
        else:
            NF[node, VAL] = 0.0
            NF[node, IMP] = 0.0


@njit(cache=True, nogil=True)
def build(
    NI, NF, NK, NT, SD, n_nodes, n_slots, root, parent, side, order, s0, m0,
    depth0, key0, X, yc, yr, rk, sw, tkey, P,
):  # fmt: skip
    """Grow the subtree of ``order[s0:s0+m0]`` (live rows, ascending) at ``root``.

    Node ids after the root are appended from ``n_nodes``, in preorder.
    Returns ``(n_nodes, n_slots)``. Capacity is the caller's job.
    """
    fr = np.empty((0, 6), dtype=np.int64)
    frk = np.empty(0, dtype=np.uint64)
    wall, wbits, XT, pall, bits = prepare(order, s0, m0, X, yc, rk, sw, tkey, P)
    n_nodes, n_slots, _ = grow_from(
        NI, NF, NK, NT, SD, n_nodes, n_slots, root, parent, side, order, s0,
        m0, depth0, key0, X, yc, yr, P, 0, 0, fr, frk, wall, wbits, XT, pall,
        bits, 0,
    )  # fmt: skip
    return n_nodes, n_slots


@njit(cache=True, nogil=True)
def prepare(order, s0, m0, X, yc, rk, sw, tkey, P):
    """What a subtree of ``order[s0:s0+m0]`` grows from, shared by its pieces.

    Returns ``(wall, wbits, XT, pall, bits)``: the rows' weights; what the
    partitions move, indexed like the rows (the bits of the weights, or of
    the rows' packed counts when ``bits`` is their width, see
    :func:`pack_rows`; the weights are then read nowhere); the copy of the
    rows' features, if any (see below), and the rows' positions in it.
    """
    boot = P[P_BOOT]
    C = P[P_S] - 1
    bits = packed_bits(0, 0.0, P)  # the width, if the classes allow any
    wall = np.empty(max(m0, 1), dtype=np.float64)
    pkall = np.empty(max(m0, 1) if bits else 0, dtype=np.int64)
    wsum = 0.0
    # rows lie anywhere in X, rk and yc: ask for the ones PF rows ahead
    for q in range(min(PF, m0)):
        prefetch(rk, order[s0 + q])
        if bits:
            prefetch(yc, order[s0 + q])
    for q in range(m0):
        if q + PF < m0:
            prefetch(rk, order[s0 + q + PF])
            if bits:
                prefetch(yc, order[s0 + q + PF])
        i = order[s0 + q]
        w = row_mult(tkey, rk[i], boot) * _w(sw, i)
        wall[q] = w
        wsum += w
        if bits:
            pkall[q] = _pack(w, np.int64(yc[i]), bits, C)
    bits = packed_bits(m0, wsum, P)
    wbits = pkall if bits else wall.view(np.int64)
    # a large subtree keeps a compact copy of its feature values (one row
    # per feature, its rows in their initial order), read through each row's
    # position ``pall`` (partitioned with the rows): a node deep in the
    # subtree reads a few short columns instead of scattered cache lines of
    # all of X; for a small one, the copy costs more than it saves
    p = P[P_P]
    if m0 >= XT_MIN_ROWS:
        XT = np.empty((p, max(m0, 1)), dtype=np.float64)
        Xf = X.reshape(-1)
        for q in range(min(PF, m0)):
            _prefetch_row(Xf, order[s0 + q] * p, p)
        for q in range(m0):
            if q + PF < m0:
                _prefetch_row(Xf, order[s0 + q + PF] * p, p)
            i = order[s0 + q]
            for f in range(p):
                XT[f, q] = X[i, f]
    else:
        # a small subtree reads its few rows of X where they are
        XT = np.empty((0, 0), dtype=np.float64)
    pall = np.arange(max(m0, 1))
    return wall, wbits, XT, pall, bits


@njit(cache=True, nogil=True)
def grow_from(
    NI, NF, NK, NT, SD, n_nodes, n_slots, root, parent, side, order, s0, m0,
    depth0, key0, X, yc, yr, P, fmax, fmin, fr, frk, wall, wbits, XT, pall,
    bits, off,
):  # fmt: skip
    """:func:`build` from the arrays :func:`prepare` made for ``order[s0 - off:]``.

    Row ``s`` of ``order`` is at ``s - s0 + off`` in them. Stops at a
    frontier when ``fmax > 0``: a node below the root with at least ``fmin``
    and at most ``fmax`` rows is given its id and linked to its parent, but
    not grown: its id, range start, row count, depth, parent and side go to
    a row of ``fr`` and its path key to ``frk`` (``fr`` needs a row per
    possible frontier node). Growing each frontier node later from the same
    arrays (``root`` its id) gives the subtree one call would have grown:
    the pieces of a large subtree grow on several threads at once, each in
    its own range of the arrays. Returns ``(n_nodes, n_slots, n_frontier)``.
    """
    mtry, k, S = P[P_MTRY], P[P_K], P[P_S]
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    msl, mss, md = P[P_MSL], P[P_MSS], P[P_MD]
    cache_min = P[P_CACHE] if P[P_USECACHE] else 1 << 62
    buf = np.empty(W, dtype=np.float64)
    tmpwb = np.empty(max(m0, 1), dtype=np.int64)
    tmp = np.empty(max(m0, 1), dtype=order.dtype)
    no_pk = np.empty(0, dtype=np.int64)
    b0 = off - s0  # row s of order is at s + b0 in the shared arrays
    scr = new_scratch(m0, P)
    tmpp = np.empty(max(m0, 1), dtype=np.int64)
    cap = m0 + 64
    st_s = np.empty(cap, dtype=np.int64)
    st_m = np.empty(cap, dtype=np.int64)
    st_d = np.empty(cap, dtype=np.int64)
    st_k = np.empty(cap, dtype=np.uint64)
    st_par = np.empty(cap, dtype=np.int64)
    st_side = np.empty(cap, dtype=np.int64)
    sp = 0
    st_s[0] = s0
    st_m[0] = m0
    st_d[0] = depth0
    st_k[0] = key0
    st_par[0] = parent
    st_side[0] = side
    sp = 1
    first = True
    n_front = 0
    while sp > 0:
        sp -= 1
        s = st_s[sp]
        m = st_m[sp]
        depth = st_d[sp]
        key = st_k[sp]
        par = st_par[sp]
        sd = st_side[sp]
        if first:
            node = root
            first = False
        else:
            node = n_nodes
            n_nodes += 1
        if par >= 0:
            NI[par, LEFT if sd == 0 else RIGHT] = node
        if fmax > 0 and node != root and fmin <= m <= fmax:
            fr[n_front, 0] = node
            fr[n_front, 1] = s
            fr[n_front, 2] = m
            fr[n_front, 3] = depth
            fr[n_front, 4] = par
            fr[n_front, 5] = sd
            frk[n_front] = key
            n_front += 1
            continue
        rows = order[s : s + m]
        wr = wall[s + b0 : s + b0 + m]
        wb = wbits[s + b0 : s + b0 + m]
        NK[node] = key
        NI[node, START] = s
        NI[node, END] = s + m
        NI[node, DEPTH] = depth
        NI[node, NROWS] = m
        NI[node, PARENT] = par
        NI[node, SLOT] = -1
        NI[node, LEFT] = -1
        NI[node, RIGHT] = -1
        NI[node, FEAT] = -2
        NF[node, THR] = -2.0
        pkn = wb if bits else no_pk
        if bits:
            pure = eval_tot_packed(pkn, m, P, buf, bits)
        else:
            pure = eval_tot(rows, wr, m, yc, yr, P, buf)
        NT[node, :] = buf[o_tot : o_tot + S]
        set_node_values(NF, node, NT[node], P)
        if depth >= md or m < mss or m < 2 * msl or pure:
            NI[node, KIND] = 1
            continue
        pos = pall[s + b0 : s + b0 + m]
        eval_splits(rows, wr, m, X, yc, yr, P, key, buf, XT, pos, scr, pkn)
        bj, bt = choose(buf, P)
        if bj < 0:
            NI[node, KIND] = 2
            continue
        NI[node, KIND] = 0
        f = int(buf[o_f + bj])
        v = buf[o_cv + bj * 2 * k + bt]
        NI[node, FEAT] = f
        NF[node, THR] = v
        if m >= cache_min:
            SD[n_slots, :] = buf
            NI[node, SLOT] = n_slots
            n_slots += 1
        # stable partition keeps both children's rows ascending (branch-free:
        # written to both sides, the counter of the right side advances)
        nl = 0
        nr = 0
        for q in range(m):
            pq = pos[q]
            g = 1 if (XT[f, pq] if XT.shape[0] else X[rows[q], f]) <= v else 0
            i = rows[q]
            wq = wb[q]
            rows[nl] = i
            wb[nl] = wq
            pos[nl] = pq
            tmp[nr] = i
            tmpwb[nr] = wq
            tmpp[nr] = pq
            nl += g
            nr += 1 - g
        for q in range(nr):
            rows[nl + q] = tmp[q]
            wb[nl + q] = tmpwb[q]
            pos[nl + q] = tmpp[q]
        # right pushed first: the left child is built next (preorder ids)
        st_s[sp] = s + nl
        st_m[sp] = nr
        st_d[sp] = depth + 1
        st_k[sp] = h2(key, np.uint64(2))
        st_par[sp] = node
        st_side[sp] = 1
        sp += 1
        st_s[sp] = s
        st_m[sp] = nl
        st_d[sp] = depth + 1
        st_k[sp] = h2(key, np.uint64(1))
        st_par[sp] = node
        st_side[sp] = 0
        sp += 1
    return n_nodes, n_slots, n_front


@njit(cache=True, nogil=True)
def _child(NI, NF, X, r, node):
    # the child of internal ``node`` that row ``r`` of X goes to
    if X[r, NI[node, FEAT]] <= NF[node, THR]:
        return NI[node, LEFT]
    return NI[node, RIGHT]


@njit(cache=True, nogil=True)
def apply(NI, NF, X, out):
    for r in range(X.shape[0]):
        node = 0
        while NI[node, LEFT] >= 0:
            node = _child(NI, NF, X, r, node)
        out[r] = node


@njit(cache=True, nogil=True)
def accumulate_values(NI, NF, X, out):
    """``out += value of the leaf`` each row of ``X`` reaches."""
    V = out.shape[1]
    for r in range(X.shape[0]):
        node = 0
        while NI[node, LEFT] >= 0:
            node = _child(NI, NF, X, r, node)
        for c in range(V):
            out[r, c] += NF[node, VAL + c]


@njit(cache=True, nogil=True)
def _add_row(vec, b, clf, c, w, y):
    vec[b] += 1.0
    if clf:
        vec[b + 1 + c] += w
    else:
        vec[b + 1] += w
        vec[b + 2] += w * y
        vec[b + 3] += w * y * y


@njit(cache=True, nogil=True)
def _sub_row(vec, b, clf, c, w, y):
    vec[b] -= 1.0
    if clf:
        vec[b + 1 + c] -= w
    else:
        vec[b + 1] -= w
        vec[b + 2] -= w * y
        vec[b + 3] -= w * y * y


@njit(cache=True, nogil=True)
def delete_work(P, dtype):
    """Work arrays of :func:`delete`, shared by the trees of one call."""
    W = _offsets(P[P_MTRY], P[P_K], P[P_S])[-1]
    return (
        np.empty(W, dtype=np.float64),
        np.empty(1024, dtype=dtype),
        np.empty(1024, dtype=np.float64),
        new_scratch(1024, P),
    )


@njit(cache=True, nogil=True)
def delete(
    NI, NF, NK, NT, SD, order, X, yc, yr, rk, sw, tkey, alive, del_rows, P, work,
    cp_idx, cp_ni, cp_nf, cp_nt, ev_i, ev_v, ow_slot, ow_sd, cnt,
):  # fmt: skip
    """Remove ``del_rows`` from one tree in place (phase A).

    With exact (integer) counts, decrements the node totals and the cached
    candidate statistics along the rows' paths; re-evaluates from rows the
    internal nodes without a cache (or whose candidate set changed), and every
    node on the paths when sums are not exact. Updates the nodes whose split
    stays and returns the ids of the topmost nodes whose split changed: the
    caller rebuilds those subtrees.

    What it overwrites is recorded for :func:`undelete` as it goes, in
    arrays the caller journals first: each node on the paths, copied when
    first reached (``cp_idx``, ``cp_ni``, ``cp_nf``, ``cp_nt``; room for
    the paths' nodes), a value that loses its last row (``ev_i``: slot,
    position, row; ``ev_v``: the value; room for every stored value of
    those nodes), a slot's copy before it is evaluated again (``ow_slot``,
    ``ow_sd``; room for each of those nodes); ``cnt`` counts the values,
    the slots, the rows done and the nodes.
    """
    mtry, k, S = P[P_MTRY], P[P_K], P[P_S]
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    msl, mss, md = P[P_MSL], P[P_MSS], P[P_MD]
    boot = P[P_BOOT]
    clf = P[P_CLF]
    exact = P[P_USECACHE] != 0
    n_nodes = NI.shape[0]
    flag = np.zeros(n_nodes, dtype=np.int8)  # 1 touched, 2 must be re-evaluated
    # the slots on the paths lie apart in memory: ask for all of them first
    SDf = SD.reshape(-1)
    for q in range(del_rows.shape[0]):
        r = del_rows[q]
        node = 0
        while True:
            if NI[node, SLOT] >= 0:
                _prefetch_row(SDf, NI[node, SLOT] * W, W)
            if NI[node, LEFT] < 0:
                break
            node = _child(NI, NF, X, r, node)
    for q in range(del_rows.shape[0]):
        r = del_rows[q]
        w = row_mult(tkey, rk[r], boot) * _w(sw, r)
        c = yc[r] if clf else 0
        y = 0.0 if clf else yr[r]
        node = 0
        while True:
            if flag[node] == 0:
                flag[node] = 1
                u = cnt[3]
                cp_idx[u] = node
                cp_ni[u] = NI[node]
                cp_nf[u] = NF[node]
                cp_nt[u] = NT[node]
                cnt[3] = u + 1
            if exact:
                _sub_row(NT[node], 0, clf, c, w, y)
            slot = NI[node, SLOT]
            if slot >= 0:
                sd = SD[slot]
                _sub_row(sd, o_tot, clf, c, w, y)
                k2 = 2 * k
                for j in range(mtry):
                    f = int(sd[o_f + j])
                    x = X[r, f]
                    nc = int(sd[o_nc + j])
                    for t in range(nc - 1, -1, -1):
                        cvt = sd[o_cv + j * k2 + t]
                        if cvt != cvt:
                            # a value gone earlier: never a candidate again
                            continue
                        if x > cvt:
                            break
                        _sub_row(sd, o_cst + (j * k2 + t) * S, clf, c, w, y)
                        if x == cvt:
                            e = o_ceq + j * k2 + t
                            sd[e] -= 1.0
                            if sd[e] <= 0:
                                # the value is gone from the node: never a
                                # candidate again, and not kept (no residue)
                                ne = cnt[0]
                                ev_i[ne, 0] = slot
                                ev_i[ne, 1] = o_cv + j * k2 + t
                                ev_i[ne, 2] = q
                                ev_v[ne] = cvt
                                cnt[0] = ne + 1
                                sd[o_cv + j * k2 + t] = np.nan
                            if sd[e] <= 0 and sd[o_comp + j] == 0:
                                # fewer than k stored values left: unseen
                                # values of the node would become candidates
                                present = 0
                                for u in range(nc):
                                    if sd[o_ceq + j * k2 + u] > 0:
                                        present += 1
                                if present < k:
                                    flag[node] = 2
            if NI[node, LEFT] < 0:
                break
            node = _child(NI, NF, X, r, node)
        cnt[2] = q + 1
    rebuild = np.empty(n_nodes, dtype=np.int64)
    n_rebuild = 0
    no_block = np.empty((0, 0), dtype=np.float64)
    no_pos = np.empty(0, dtype=np.int64)
    tmpbuf, rows, wr, scr = work
    stack = np.empty(n_nodes + 1, dtype=np.int64)
    sp = 1
    stack[0] = 0
    while sp > 0:
        sp -= 1
        node = stack[sp]
        if flag[node] == 0:
            continue
        slot = NI[node, SLOT]
        depth = NI[node, DEPTH]
        is_leaf = NI[node, LEFT] < 0
        have_rows = False
        if exact:
            tot = NT[node]
            n = int(tot[0])
            npos = 0
            for cc in range(1, S):
                if tot[cc] > 0:
                    npos += 1
            pure = npos <= 1
        else:
            s = NI[node, START]
            e = NI[node, END]
            if e - s > rows.shape[0]:
                rows = np.empty(e - s, dtype=order.dtype)
                wr = np.empty(e - s, dtype=np.float64)
            n = gather(order, s, e, alive, rk, sw, tkey, boot, rows, wr, True)
            pure = eval_tot(rows, wr, n, yc, yr, P, tmpbuf)
            NT[node, :] = tmpbuf[o_tot : o_tot + S]
            tot = NT[node]
            have_rows = True
        leafcond = depth >= md or n < mss or n < 2 * msl or pure
        if is_leaf and (leafcond or NI[node, KIND] != 2):
            # a leaf stays one, unless it had no valid split and may have now
            NI[node, KIND] = 1 if leafcond else NI[node, KIND]
            NI[node, NROWS] = n
            set_node_values(NF, node, tot, P)
            continue
        if not is_leaf and leafcond:
            rebuild[n_rebuild] = node
            n_rebuild += 1
            continue
        if slot >= 0 and flag[node] == 1:
            buf = SD[slot]
        else:
            if slot >= 0:
                buf = SD[slot]
                no = cnt[1]
                ow_slot[no] = slot
                ow_sd[no] = buf
                cnt[1] = no + 1
            else:
                buf = tmpbuf
            if not have_rows:
                s = NI[node, START]
                e = NI[node, END]
                if e - s > rows.shape[0]:
                    rows = np.empty(e - s, dtype=order.dtype)
                    wr = np.empty(e - s, dtype=np.float64)
                n = gather(order, s, e, alive, rk, sw, tkey, boot, rows, wr, False)
            eval_tot(rows, wr, n, yc, yr, P, buf)
            if n > scr[0].shape[0]:
                scr = new_scratch(n, P)
            eval_splits(
                rows, wr, n, X, yc, yr, P, NK[node], buf, no_block, no_pos, scr, no_pos
            )
        bj, bt = choose(buf, P)
        if is_leaf:
            if bj >= 0:
                rebuild[n_rebuild] = node
                n_rebuild += 1
            else:
                NI[node, NROWS] = n
                set_node_values(NF, node, tot, P)
            continue
        if (
            bj < 0
            or int(buf[o_f + bj]) != NI[node, FEAT]
            or buf[o_cv + bj * 2 * k + bt] != NF[node, THR]
        ):
            rebuild[n_rebuild] = node
            n_rebuild += 1
            continue
        NI[node, NROWS] = n
        set_node_values(NF, node, tot, P)
        stack[sp] = NI[node, RIGHT]
        sp += 1
        stack[sp] = NI[node, LEFT]
        sp += 1
    return rebuild[:n_rebuild]


@njit(cache=True, nogil=True)
def release(NI, SD, sd, send, base, node, lo, end, skip, free, hi):
    """Put a grown subtree's slots in the tree and free its unused ids.

    The subtree grew at ``node`` and in ids ``[lo, end)``, its ``send``
    slots numbered from 0 in ``sd``: they go to ``SD[base:]`` and its nodes
    are renumbered (except ``skip``, ascending: roots of pieces that
    renumber their own). Ids ``[free, hi)`` become garbage, unreachable.
    Returns how many, and the largest depth of the subtree's nodes.
    """
    for q in range(send):
        SD[base + q] = sd[q]
    if send > 0 and NI[node, SLOT] >= 0:
        NI[node, SLOT] += base
    height = NI[node, DEPTH]
    u = 0
    for v in range(lo, end):
        while u < skip.shape[0] and skip[u] < v:
            u += 1
        if u < skip.shape[0] and skip[u] == v:
            continue
        if send > 0 and NI[v, SLOT] >= 0:
            NI[v, SLOT] += base
        height = max(height, NI[v, DEPTH])
    for v in range(free, hi):
        NI[v, LEFT] = -1
        NI[v, RIGHT] = -1
        NI[v, SLOT] = -1
        NI[v, FEAT] = -2
        NI[v, NROWS] = 0
    return max(hi - free, 0), height


@njit(cache=True, nogil=True)
def compact(NI, NF, NK, NT, SD, nNI, nNF, nNK, nNT, nSD, new_id, slot_min=0):
    """Copy the live nodes (reachable from the root) in preorder; drop garbage.

    ``new_id`` (one entry per node) receives each node's new id, -1 for
    garbage. Slots of nodes of fewer than ``slot_min`` rows are dropped.
    """
    n_nodes = NI.shape[0]
    new_id[:] = -1
    stack = np.empty(n_nodes + 1, dtype=np.int64)
    stack[0] = 0
    sp = 1
    nn = 0
    ns = 0
    while sp > 0:
        sp -= 1
        node = stack[sp]
        new_id[node] = nn
        nNI[nn, :] = NI[node, :]
        nNF[nn, :] = NF[node, :]
        nNK[nn] = NK[node]
        nNT[nn, :] = NT[node, :]
        if NI[node, SLOT] >= 0 and NI[node, NROWS] >= slot_min:
            nSD[ns, :] = SD[NI[node, SLOT], :]
            nNI[nn, SLOT] = ns
            ns += 1
        else:
            nNI[nn, SLOT] = -1
        par = NI[node, PARENT]
        nNI[nn, PARENT] = new_id[par] if par >= 0 else -1
        if par >= 0:
            if NI[par, LEFT] == node:
                nNI[new_id[par], LEFT] = nn
            else:
                nNI[new_id[par], RIGHT] = nn
        nn += 1
        if NI[node, LEFT] >= 0:
            stack[sp] = NI[node, RIGHT]
            sp += 1
            stack[sp] = NI[node, LEFT]
            sp += 1
    return nn, ns


@njit(cache=True, nogil=True)
def refresh_slots(NI, NK, SD, n_nodes, order, alive, X, yc, yr, rk, sw, tkey, P):
    """Make each slot the one a fit on the retained rows computes.

    A stored value that loses its last row is erased (NaN) and its slot
    works on with the others (see :func:`delete`), where a fit stores the
    next value by hash instead: the features that lost one are evaluated
    again from the node's live rows (``order`` ranges of nodes ``0 ..
    n_nodes - 1``, ``alive``), and hold no sign of the value. A feature
    whose values left are all stored (their rows are all the node's) is
    marked complete, as a fit marks it. Returns the number of slots
    evaluated again.
    """
    mtry, k, S = P[P_MTRY], P[P_K], P[P_S]
    k2 = 2 * k
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    boot = P[P_BOOT]
    no_block = np.empty((0, 0), dtype=np.float64)
    no_pos = np.empty(0, dtype=np.int64)
    rows = np.empty(0, dtype=order.dtype)
    wr = np.empty(0, dtype=np.float64)
    scr = new_scratch(1, P)
    which = np.empty(mtry, dtype=np.bool_)
    n_done = 0
    for v in range(n_nodes):
        slot = NI[v, SLOT]
        if slot < 0:
            continue
        sd = SD[slot]
        erased = False
        for j in range(mtry):
            which[j] = False
            n_eq = 0.0
            for t in range(int(sd[o_nc + j])):
                cvt = sd[o_cv + j * k2 + t]
                if cvt != cvt:
                    which[j] = True
                    erased = True
                n_eq += sd[o_ceq + j * k2 + t]
            if not which[j] and n_eq == sd[o_tot]:
                sd[o_comp + j] = 1.0
        if not erased:
            continue
        s = NI[v, START]
        e = NI[v, END]
        if e - s > rows.shape[0]:
            rows = np.empty(e - s, dtype=order.dtype)
            wr = np.empty(e - s, dtype=np.float64)
        n = gather(order, s, e, alive, rk, sw, tkey, boot, rows, wr, False)
        if n > scr[0].shape[0]:
            scr = new_scratch(n, P)
        # the features that lost a value: the others' parts are a fit's
        eval_features(
            rows, wr, n, X, yc, yr, P, NK[v], sd, no_block, no_pos, scr, no_pos,
            which,
        )  # fmt: skip
        n_done += 1
    return n_done


@njit(cache=True, nogil=True)
def _merge_runs(a, s, e, tmp, st):
    """Sort ``a[s:e]`` in place by merging its ascending runs.

    A subtree rebuilt on exact counts leaves a leaf's rows in the order of
    the ranges they came from: a few ascending runs, merged in ``m log r``
    for ``m`` rows in ``r`` runs. ``tmp`` (as long as ``a``) and ``st``
    (``e - s + 1`` places) are scratch.
    """
    nr = 0
    st[0] = s
    for q in range(s + 1, e):
        if a[q] < a[q - 1]:
            nr += 1
            st[nr] = q
    nr += 1
    st[nr] = e
    src, dst = a, tmp
    in_tmp = False
    while nr > 1:
        k = 0
        for r in range(0, nr, 2):
            lo = st[r]
            if r + 1 == nr:
                dst[lo:e] = src[lo:e]
            else:
                mid, hi = st[r + 1], st[r + 2]
                i, j, o = lo, mid, lo
                while i < mid and j < hi:
                    if src[j] < src[i]:
                        dst[o] = src[j]
                        j += 1
                    else:
                        dst[o] = src[i]
                        i += 1
                    o += 1
                dst[o : o + mid - i] = src[i:mid]
                o += mid - i
                dst[o : o + hi - j] = src[j:hi]
            st[k] = lo
            k += 1
        st[k] = e
        nr = k
        src, dst = dst, src
        in_tmp = not in_tmp
    if in_tmp:
        a[s:e] = tmp[s:e]


@njit(cache=True, nogil=True)
def renumber(order, NI, n_nodes, new_id):
    """``order`` in new row ids, without dead ones; node ranges moved to match.

    ``new_id`` maps each old row id to its new one (-1: forgotten, or
    otherwise gone). The dead ids leave (rows forgotten since the last
    renumbering, and the filler a cleared range ends with, see
    :func:`clear_subtree`), the ``[start, end)`` of nodes ``0 .. n_nodes - 1``
    of ``NI`` (a tree without garbage, see :func:`compact`) shrink to their
    live rows, and each leaf's rows are sorted: the ``order`` a fit on the retained
    rows builds (a node's range is its children's, left then right; a leaf's
    rows ascend), whatever order a rebuilt subtree left them in. One pass
    over ``order`` to count, one to copy, one over the nodes. Returns the
    new ``order``.
    """
    n = order.shape[0]
    m = 0
    for q in range(n):
        if new_id[order[q]] >= 0:
            m += 1
    out = np.empty(m, dtype=order.dtype)
    # new position of each old one (of the first live row at or after it)
    pos = np.empty(n + 1, dtype=np.int64)
    m = 0
    for q in range(n):
        pos[q] = m
        i = new_id[order[q]]
        if i >= 0:
            out[m] = i
            m += 1
    pos[n] = m
    tmp = np.empty(m, dtype=order.dtype)
    st = np.empty(m + 1, dtype=np.int64)
    for v in range(n_nodes):
        s = pos[NI[v, START]]
        e = pos[NI[v, END]]
        NI[v, START] = s
        NI[v, END] = e
        if NI[v, LEFT] < 0:
            for q in range(s + 1, e):
                if out[q] < out[q - 1]:
                    _merge_runs(out, s, e, tmp, st)
                    break
    return out


@njit(cache=True, nogil=True)
def count_live(NI, slot_min=0):
    """Nodes reachable from the root, and their slots (see :func:`compact`)."""
    n_nodes = NI.shape[0]
    stack = np.empty(n_nodes + 1, dtype=np.int64)
    stack[0] = 0
    sp = 1
    nn = 0
    ns = 0
    while sp > 0:
        sp -= 1
        node = stack[sp]
        nn += 1
        if NI[node, SLOT] >= 0 and NI[node, NROWS] >= slot_min:
            ns += 1
        if NI[node, LEFT] >= 0:
            stack[sp] = NI[node, RIGHT]
            sp += 1
            stack[sp] = NI[node, LEFT]
            sp += 1
    return nn, ns


@njit(cache=True, nogil=True)
def subtree(NI, node):
    """Ids of the nodes of the subtree at ``node`` (preorder, ``node`` first)."""
    out = np.empty(16, dtype=np.int64)
    n = 0
    stack = np.empty(64, dtype=np.int64)
    stack[0] = node
    sp = 1
    while sp > 0:
        sp -= 1
        v = stack[sp]
        if n == out.shape[0]:
            bigger = np.empty(2 * n, dtype=np.int64)
            bigger[:n] = out
            out = bigger
        out[n] = v
        n += 1
        if NI[v, LEFT] >= 0:
            if sp + 2 > stack.shape[0]:
                bigger = np.empty(2 * stack.shape[0], dtype=np.int64)
                bigger[:sp] = stack[:sp]
                stack = bigger
            stack[sp] = NI[v, RIGHT]
            sp += 1
            stack[sp] = NI[v, LEFT]
            sp += 1
    return out[:n]


@njit(cache=True, nogil=True)
def preorder_ids(NI):
    """Preorder position of each reachable node (-1 for garbage)."""
    n_nodes = NI.shape[0]
    new_id = np.full(n_nodes, -1, dtype=np.int64)
    stack = np.empty(n_nodes + 1, dtype=np.int64)
    stack[0] = 0
    sp = 1
    nn = 0
    while sp > 0:
        sp -= 1
        node = stack[sp]
        new_id[node] = nn
        nn += 1
        if NI[node, LEFT] >= 0:
            stack[sp] = NI[node, RIGHT]
            sp += 1
            stack[sp] = NI[node, LEFT]
            sp += 1
    return new_id


@njit(cache=True, nogil=True)
def delete_trees(
    NIs, NFs, NKs, NTs, SDs, orders, tkeys, which, rptr, rflat, X, yc, yr, rk, sw,
    alive, P, cp_idx, cp_ni, cp_nf, cp_nt, cptr, ev_i, ev_v, eptr, ow_slot, ow_sd,
    optr, cnt,
):  # fmt: skip
    """:func:`delete` on several trees.

    Tree ``which[q]`` loses rows ``rflat[rptr[q]:rptr[q + 1]]``; its records
    for :func:`undelete` are the slices ``cptr[q]:cptr[q + 1]`` (node
    copies), ``eptr`` (values), ``optr`` (slots) and row ``q`` of ``cnt``.
    Returns the nodes to rebuild, flat (``rebuild[bptr[q]:bptr[q + 1]]`` for
    tree ``which[q]``), and ``bptr``.
    """
    n = which.shape[0]
    bptr = np.zeros(n + 1, dtype=np.int64)
    outs = []
    work = delete_work(P, orders[0].dtype)
    for q in range(n):
        t = which[q]
        c = slice(cptr[q], cptr[q + 1])
        e = slice(eptr[q], eptr[q + 1])
        o = slice(optr[q], optr[q + 1])
        out = delete(
            NIs[t], NFs[t], NKs[t], NTs[t], SDs[t], orders[t], X, yc, yr, rk, sw,
            tkeys[t], alive, rflat[rptr[q] : rptr[q + 1]], P, work, cp_idx[c],
            cp_ni[c], cp_nf[c], cp_nt[c], ev_i[e], ev_v[e], ow_slot[o], ow_sd[o],
            cnt[q],
        )  # fmt: skip
        bptr[q + 1] = bptr[q] + out.shape[0]
        outs.append(out)
    rebuild = np.empty(bptr[n], dtype=np.int64)
    for q in range(n):
        rebuild[bptr[q] : bptr[q + 1]] = outs[q]
    return rebuild, bptr


@njit(cache=True, nogil=True)
def undelete(
    NI, NF, NT, SD, X, yc, yr, rk, sw, tkey, del_rows, P, cp_idx, cp_ni, cp_nf, cp_nt,
    ev_i, ev_v, ow_slot, ow_sd, cnt,
):  # fmt: skip
    """Undo :func:`delete`, from its records (undo later changes first).

    The slots it evaluated again get their copies back, then the rows it
    took out go back in, last first, each after the values it removed (the
    paths are those of :func:`delete`; integer counts: adding back gives the
    same bits), then the nodes on the paths get their copies back.
    """
    mtry, k, S = P[P_MTRY], P[P_K], P[P_S]
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    k2 = 2 * k
    boot = P[P_BOOT]
    clf = P[P_CLF]
    for u in range(cnt[1] - 1, -1, -1):
        SD[ow_slot[u]] = ow_sd[u]
    for q in range(cnt[2] - 1, -1, -1):
        for u in range(cnt[0]):
            if ev_i[u, 2] == q:
                SD[ev_i[u, 0], ev_i[u, 1]] = ev_v[u]
        r = del_rows[q]
        w = row_mult(tkey, rk[r], boot) * _w(sw, r)
        c = yc[r] if clf else 0
        y = 0.0 if clf else yr[r]
        node = 0
        while True:
            slot = NI[node, SLOT]
            if slot >= 0:
                sd = SD[slot]
                _add_row(sd, o_tot, clf, c, w, y)
                for j in range(mtry):
                    x = X[r, int(sd[o_f + j])]
                    nc = int(sd[o_nc + j])
                    for t in range(nc - 1, -1, -1):
                        cvt = sd[o_cv + j * k2 + t]
                        if cvt != cvt:
                            continue
                        if x > cvt:
                            break
                        _add_row(sd, o_cst + (j * k2 + t) * S, clf, c, w, y)
                        if x == cvt:
                            sd[o_ceq + j * k2 + t] += 1.0
            if NI[node, LEFT] < 0:
                break
            node = _child(NI, NF, X, r, node)
    for u in range(cnt[3] - 1, -1, -1):
        v = cp_idx[u]
        NI[v] = cp_ni[u]
        NF[v] = cp_nf[u]
        NT[v] = cp_nt[u]


@njit(cache=True, nogil=True)
def scrub(NI, NF, NT, SD, ids, slots):
    """Scrub garbage nodes ``ids`` and zero ``slots``: no trace of their rows."""
    for q in range(ids.shape[0]):
        v = ids[q]
        NI[v, LEFT] = -1
        NI[v, RIGHT] = -1
        NI[v, SLOT] = -1
        NI[v, FEAT] = -2
        NI[v, NROWS] = 0
        NF[v] = 0.0
        NT[v] = 0.0
    for q in range(slots.shape[0]):
        SD[slots[q]] = 0.0


@njit(cache=True, nogil=True)
def clear_subtree(
    NI, NF, NT, SD, order, node, alive, rk, sw, tkey, boot, ascending, dead, rows,
    now,
):  # fmt: skip
    """Clear the subtree at ``node`` before it grows again.

    Its nodes below ``node`` become garbage, unreachable once it grows
    again, and its range of ``order`` gets its live rows first (see
    :func:`gather`), then ``dead``. Returns the number of live rows, the
    subtree's ids (``node`` first) and its slots. With ``now``, the garbage
    is scrubbed here (see :func:`scrub`); else the caller scrubs it later.
    """
    sub = subtree(NI, node)
    ns = 0
    for q in range(sub.shape[0]):
        if NI[sub[q], SLOT] >= 0:
            ns += 1
    slots = np.empty(ns, dtype=np.int64)
    ns = 0
    for q in range(sub.shape[0]):
        if NI[sub[q], SLOT] >= 0:
            slots[ns] = NI[sub[q], SLOT]
            ns += 1
    if now:
        scrub(NI, NF, NT, SD, sub[1:], slots)
    s = NI[node, START]
    e = NI[node, END]
    m = gather(order, s, e, alive, rk, sw, tkey, boot, rows, np.empty(0), ascending)
    for q in range(m):
        order[s + q] = rows[q]
    for q in range(s + m, e):
        order[q] = dead
    return m, sub, slots


@njit(cache=True, nogil=True)
def journal_roots(NI, NF, NT, order, nodes):
    """What clearing the subtrees at ``nodes`` and growing them overwrites.

    Copies of the roots' rows of ``NI``, ``NF``, ``NT``, and of their
    ranges of ``order`` (flat, split by ``optr``). The rest of a subtree is
    left as it was until it is scrubbed (see :func:`clear_subtree`).
    """
    n = nodes.shape[0]
    optr = np.zeros(n + 1, dtype=np.int64)
    for q in range(n):
        optr[q + 1] = optr[q] + NI[nodes[q], END] - NI[nodes[q], START]
    ni = np.empty((n, NI.shape[1]), dtype=NI.dtype)
    nf = np.empty((n, NF.shape[1]), dtype=NF.dtype)
    nt = np.empty((n, NT.shape[1]), dtype=NT.dtype)
    old = np.empty(optr[n], dtype=order.dtype)
    for q in range(n):
        v = nodes[q]
        ni[q] = NI[v]
        nf[q] = NF[v]
        nt[q] = NT[v]
        old[optr[q] : optr[q + 1]] = order[NI[v, START] : NI[v, END]]
    return ni, nf, nt, old, optr


@njit(cache=True, nogil=True)
def clear_subtrees(
    NI, NF, NT, SD, order, nodes, alive, rk, sw, tkey, boot, ascending, dead, now
):
    """:func:`clear_subtree` of the subtrees at ``nodes``.

    Returns, per subtree, its live rows ``m``, parent, side (0 left, 1
    right) and depth; the number of nodes that became garbage; and, unless
    ``now``, the garbage to scrub later: node ids and slots.
    """
    n = nodes.shape[0]
    ms = np.empty(n, dtype=np.int64)
    par = np.empty(n, dtype=np.int64)
    side = np.empty(n, dtype=np.int64)
    depth = np.empty(n, dtype=np.int64)
    m_max = 1
    for q in range(n):
        m_max = max(m_max, NI[nodes[q], END] - NI[nodes[q], START])
    rows = np.empty(m_max, dtype=np.int64)
    subs = []
    garbage = 0
    n_slots = 0
    for q in range(n):
        node = nodes[q]
        m, sub, slots = clear_subtree(
            NI, NF, NT, SD, order, node, alive, rk, sw, tkey, boot, ascending, dead,
            rows, now,
        )  # fmt: skip
        ms[q] = m
        garbage += sub.shape[0] - 1
        n_slots += slots.shape[0]
        subs.append((sub, slots))
        p = NI[node, PARENT]
        par[q] = p
        side[q] = 0 if p < 0 or NI[p, LEFT] == node else 1
        depth[q] = NI[node, DEPTH]
    ids = np.empty(0 if now else garbage, dtype=np.int64)
    all_slots = np.empty(0 if now else n_slots, dtype=np.int64)
    if not now:
        a = 0
        b = 0
        for q in range(n):
            sub, slots = subs[q]
            ids[a : a + sub.shape[0] - 1] = sub[1:]
            a += sub.shape[0] - 1
            all_slots[b : b + slots.shape[0]] = slots
            b += slots.shape[0]
    return ms, par, side, depth, garbage, ids, all_slots


@njit(cache=True, nogil=True)
def room(sizes, levels, P):
    """Ids a subtree may need: nodes below its root, and slots.

    A subtree of ``m`` rows and ``levels`` levels has at most
    ``min(2 m - 1, 2**levels - 1)`` nodes (every leaf holds a row). Nodes of
    at least ``c`` rows (the ones with a slot) lie on the paths to at most
    ``m // c`` disjoint such nodes, each path at most ``levels`` long.
    """
    n = sizes.shape[0]
    nodes = np.empty(n, dtype=np.int64)
    slots = np.zeros(n, dtype=np.int64)
    for q in range(n):
        m = max(sizes[q], 1)
        lv = levels[q]
        nodes[q] = min(2 * m - 1, (1 << lv) - 1)
        if P[P_USECACHE]:
            slots[q] = min(nodes[q], (m // P[P_CACHE]) * lv)
        nodes[q] -= 1
    return nodes, slots


@njit(cache=True, nogil=True)
def room_at(NI, nodes, P):
    """:func:`room` of the subtrees at ``nodes`` of a tree (with max_depth)."""
    n = nodes.shape[0]
    sizes = np.empty(n, dtype=np.int64)
    levels = np.empty(n, dtype=np.int64)
    for q in range(n):
        v = nodes[q]
        sizes[q] = NI[v, END] - NI[v, START]
        levels[q] = min(P[P_MD] - NI[v, DEPTH] + 1, 62)
    return room(sizes, levels, P)
