"""How a tree is stored, and the kernels that reorganise its storage.

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

This module holds the kernels that work on that storage as a whole: slots of
a grown subtree and garbage (:func:`release`, :func:`scrub` in ``_txn``),
compaction and renumbering of nodes and rows (:func:`compact`,
:func:`renumber`, :func:`count_live`, :func:`preorder_ids`), subtrees
(:func:`subtree`), the ids a subtree may need (:func:`room`,
:func:`room_at`), and slots made equal to a fit's (:func:`refresh_slots`).
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numba import njit

from ._hashing import gather
from ._params import (
    DEPTH,
    END,
    FEAT,
    LEFT,
    NROWS,
    PARENT,
    RIGHT,
    SLOT,
    START,
    _offsets,
)
from ._split import eval_features, eval_splits, eval_tot, new_scratch


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
def _node_rows(NI, v, order, alive, rk, sw, tkey, P, rows, wr, scr):
    """Node ``v``'s live rows and weights, the buffers grown when short.

    Returns ``(n, rows, wr, scr)`` (``scr``: :func:`eval_features`' scratch,
    large enough for the node).
    """
    s = NI[v, START]
    e = NI[v, END]
    if e - s > rows.shape[0]:
        rows = np.empty(e - s, dtype=order.dtype)
        wr = np.empty(e - s, dtype=np.float64)
    n = gather(order, s, e, alive, rk, sw, tkey, P.boot_rate, rows, wr, False)
    if n > scr[0].shape[0]:
        scr = new_scratch(n, P)
    return n, rows, wr, scr


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
    mtry, k, S = P.mtry, P.n_thresholds, P.stat_width
    k2 = 2 * k
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
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
        n, rows, wr, scr = _node_rows(
            NI, v, order, alive, rk, sw, tkey, P, rows, wr, scr
        )
        # the features that lost a value: the others' parts are a fit's
        eval_features(
            rows, wr, n, X, yc, yr, P, NK[v], sd, no_block, no_pos, scr, no_pos,
            which,
        )  # fmt: skip
        n_done += 1
    return n_done


@njit(cache=True, nogil=True)
def missing_slots(NI, n_nodes, cache_min):
    """Split nodes of ``cache_min`` rows or more without a slot (see add_slots)."""
    n = 0
    for v in range(n_nodes):
        if NI[v, LEFT] >= 0 and NI[v, SLOT] < 0 and NI[v, NROWS] >= cache_min:
            n += 1
    return n


@njit(cache=True, nogil=True)
def add_slots(NI, NK, SD, nSD, n_nodes, order, alive, X, yc, yr, rk, sw, tkey, P):
    """Give a slot to each split node of at least the cache size that lacks one.

    Rows added in place can lift a node past ``P.cache_min_rows``, where a
    fit caches its candidate statistics. Nodes ``0 .. n_nodes - 1`` are in
    preorder (a compacted tree): the slots go to ``nSD`` in that order, a
    fit's, each copied from ``SD`` or evaluated from the node's live rows
    (``order`` ranges, ``alive``) as a fit evaluates it.
    """
    no_block = np.empty((0, 0), dtype=np.float64)
    no_pos = np.empty(0, dtype=np.int64)
    rows = np.empty(0, dtype=order.dtype)
    wr = np.empty(0, dtype=np.float64)
    scr = new_scratch(1, P)
    ns = 0
    for v in range(n_nodes):
        slot = NI[v, SLOT]
        if slot >= 0:
            nSD[ns] = SD[slot]
        elif NI[v, LEFT] >= 0 and NI[v, NROWS] >= P.cache_min_rows:
            n, rows, wr, scr = _node_rows(
                NI, v, order, alive, rk, sw, tkey, P, rows, wr, scr
            )
            sd = nSD[ns]
            eval_tot(rows, wr, n, yc, yr, P, sd)
            eval_splits(rows, wr, n, X, yc, yr, P, NK[v], sd, no_block, no_pos, scr,
                        no_pos)  # fmt: skip
        else:
            continue
        NI[v, SLOT] = ns
        ns += 1
    return ns


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
        if P.exact_counts:
            slots[q] = min(nodes[q], (m // P.cache_min_rows) * lv)
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
        levels[q] = min(P.max_depth - NI[v, DEPTH] + 1, 62)
    return room(sizes, levels, P)
