"""Growing a (sub)tree: node values, and a build from a node's rows.

:func:`build` grows a subtree at once; :func:`prepare` and :func:`grow_from`
are its two halves, so that the pieces of a large subtree grow on several
threads. :func:`set_node_values` writes a node's weight, impurity and value
from its totals.
"""

# SPDX-License-Identifier: BSD-3-Clause

from collections import namedtuple

import numpy as np
from numba import njit

from ._hashing import _w, h2, row_mult
from ._intrinsics import _prefetch_row, prefetch
from ._params import (
    DEPTH,
    END,
    FEAT,
    GINI,
    IMP,
    KIND,
    LEAF_BY_RULE,
    LEAF_NO_SPLIT,
    LEFT,
    NROWS,
    PARENT,
    RIGHT,
    SLOT,
    SPLIT,
    START,
    THR,
    VAL,
    WEIGHT,
    _offsets,
)
from ._split import (
    _pack,
    choose,
    eval_splits,
    eval_tot,
    eval_tot_packed,
    new_scratch,
    packed_bits,
)

# The argument groups of :func:`grow_from` (numba takes named tuples of arrays
# and scalars as they are; each field keeps the type it has).
TreeArrays = namedtuple("TreeArrays", "NI NF NK NT SD order")
TreeArrays.__doc__ = """A tree's node arrays (see ``_storage``), slots and row order."""
RowData = namedtuple("RowData", "X yc yr")
RowData.__doc__ = """The training rows: features, class codes, real targets."""
GrowAt = namedtuple("GrowAt", "n_nodes n_slots root parent side s0 m0 depth0 key0")
GrowAt.__doc__ = """Where a subtree grows: the next free node id and slot, its root's
id, parent and side (0 left, 1 right), its rows ``order[s0:s0+m0]``, its
root's depth and path key."""
Prepared = namedtuple("Prepared", "wall wbits XT pall bits base")
Prepared.__doc__ = """What :func:`prepare` made for the rows from ``order[base]`` on."""
Frontier = namedtuple("Frontier", "fmax fmin fr frk")
Frontier.__doc__ = """Where :func:`grow_from` stops (``fmax > 0``), and its record."""

# rows ahead that a gather of scattered rows asks the memory for
PF = 12


# subtrees of fewer rows grow from X itself, without a copy of their columns
# (2048: 2-3% lower median deletion than 0 or 4096 in interleaved runs)
XT_MIN_ROWS = 2048


@njit(cache=True, nogil=True)
def set_node_values(NF, node, tot, P):
    """Weight, impurity and value of a node from its totals ``tot``."""
    if P.classifier:
        C = P.n_values
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
                if P.criterion == GINI:
                    g += pc * pc
                elif pc > 0:
                    imp -= pc * np.log2(pc)
            if P.criterion == GINI:
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
        TreeArrays(NI, NF, NK, NT, SD, order),
        RowData(X, yc, yr),
        GrowAt(n_nodes, n_slots, root, parent, side, s0, m0, depth0, key0),
        Prepared(wall, wbits, XT, pall, bits, s0),
        Frontier(0, 0, fr, frk),
        P,
    )
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
    boot = P.boot_rate
    C = P.stat_width - 1
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
    p = P.n_features
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
def _partition(rows, wb, pos, m, f, v, X, XT, tmp, tmpwb, tmpp):
    """Split a node's rows (with ``wb`` and ``pos``) at ``x[f] <= v``, left first.

    The partition is stable: both children's rows stay ascending. Branch-free:
    each row is written to both sides and the counter of its side advances;
    ``tmp``, ``tmpwb`` and ``tmpp`` hold the right side meanwhile. Returns the
    number of rows on the left.
    """
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
    return nl


@njit(cache=True, nogil=True)
def _push(st, stk, sp, s, m, depth, key, par, side):
    """Push a node to grow on :func:`grow_from`'s stack; the new height."""
    st[sp, 0] = s
    st[sp, 1] = m
    st[sp, 2] = depth
    st[sp, 3] = par
    st[sp, 4] = side
    stk[sp] = key
    return sp + 1


@njit(cache=True, nogil=True)
def _add_front(fr, frk, n_front, node, s, m, depth, par, side, key):
    """Record a frontier node (see :class:`Frontier`); the new count."""
    fr[n_front, 0] = node
    fr[n_front, 1] = s
    fr[n_front, 2] = m
    fr[n_front, 3] = depth
    fr[n_front, 4] = par
    fr[n_front, 5] = side
    frk[n_front] = key
    return n_front + 1


@njit(cache=True, nogil=True)
def _open_node(NI, NF, NK, node, s, m, depth, par, key):
    """A node's fields before its rows are evaluated: no split, no slot."""
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


@njit(cache=True, nogil=True)
def grow_from(tree, data, at, prep, front, P):
    """:func:`build` of ``tree`` (:class:`TreeArrays`) at ``at`` (:class:`GrowAt`).

    Grows from ``data`` (:class:`RowData`) and from the arrays ``prep``
    (:class:`Prepared`) that :func:`prepare` made for ``order[prep.base:]``:
    row ``s`` of ``order`` is at ``s - prep.base`` in them. Stops at a
    frontier (:class:`Frontier`) when ``front.fmax > 0``: a node below the
    root with at least ``fmin`` and at most ``fmax`` rows is given its id and
    linked to its parent, but not grown: its id, range start, row count,
    depth, parent and side go to a row of ``front.fr`` and its path key to
    ``front.frk`` (``fr`` needs a row per possible frontier node). Growing
    each frontier node later from the same arrays (``at.root`` its id) gives
    the subtree one call would have grown: the pieces of a large subtree grow
    on several threads at once, each in its own range of the arrays. Returns
    ``(n_nodes, n_slots, n_frontier)``.
    """
    NI, NF, NK, NT, SD, order = tree
    X, yc, yr = data
    n_nodes, n_slots, root, parent, side, s0, m0, depth0, key0 = at
    wall, wbits, XT, pall, bits, base = prep
    fmax, fmin, fr, frk = front
    mtry, k, S = P.mtry, P.n_thresholds, P.stat_width
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    msl, mss, md = P.min_samples_leaf, P.min_samples_split, P.max_depth
    cache_min = P.cache_min_rows if P.exact_counts else 1 << 62
    buf = np.empty(W, dtype=np.float64)
    tmpwb = np.empty(max(m0, 1), dtype=np.int64)
    tmp = np.empty(max(m0, 1), dtype=order.dtype)
    no_pk = np.empty(0, dtype=np.int64)
    b0 = -base  # row s of order is at s + b0 in the shared arrays
    scr = new_scratch(m0, P)
    tmpp = np.empty(max(m0, 1), dtype=np.int64)
    cap = m0 + 64
    st = np.empty((cap, 5), dtype=np.int64)  # start, rows, depth, parent, side
    stk = np.empty(cap, dtype=np.uint64)  # path keys
    sp = _push(st, stk, 0, s0, m0, depth0, key0, parent, side)
    first = True
    n_front = 0
    # One step per node, in preorder: open it, evaluate its rows, leave it a
    # leaf or split it and push its children. Kept in one loop (about a
    # screen): the step reads and writes a dozen of the arrays above, which
    # a function per part would take as arguments.
    while sp > 0:
        sp -= 1
        s, m, depth, par, sd = st[sp, 0], st[sp, 1], st[sp, 2], st[sp, 3], st[sp, 4]
        key = stk[sp]
        if first:
            node = root
            first = False
        else:
            node = n_nodes
            n_nodes += 1
        if par >= 0:
            NI[par, LEFT if sd == 0 else RIGHT] = node
        if fmax > 0 and node != root and fmin <= m <= fmax:
            n_front = _add_front(fr, frk, n_front, node, s, m, depth, par, sd, key)
            continue
        rows = order[s : s + m]
        wr = wall[s + b0 : s + b0 + m]
        wb = wbits[s + b0 : s + b0 + m]
        _open_node(NI, NF, NK, node, s, m, depth, par, key)
        pkn = wb if bits else no_pk
        if bits:
            pure = eval_tot_packed(pkn, m, P, buf, bits)
        else:
            pure = eval_tot(rows, wr, m, yc, yr, P, buf)
        NT[node, :] = buf[o_tot : o_tot + S]
        set_node_values(NF, node, NT[node], P)
        if depth >= md or m < mss or m < 2 * msl or pure:
            NI[node, KIND] = LEAF_BY_RULE
            continue
        pos = pall[s + b0 : s + b0 + m]
        eval_splits(rows, wr, m, X, yc, yr, P, key, buf, XT, pos, scr, pkn)
        bj, bt = choose(buf, P)
        if bj < 0:
            NI[node, KIND] = LEAF_NO_SPLIT
            continue
        NI[node, KIND] = SPLIT
        f = int(buf[o_f + bj])
        v = buf[o_cv + bj * 2 * k + bt]
        NI[node, FEAT] = f
        NF[node, THR] = v
        if m >= cache_min:
            SD[n_slots, :] = buf
            NI[node, SLOT] = n_slots
            n_slots += 1
        nl = _partition(rows, wb, pos, m, f, v, X, XT, tmp, tmpwb, tmpp)
        # right pushed first: the left child is built next (preorder ids)
        d = depth + 1
        sp = _push(st, stk, sp, s + nl, m - nl, d, h2(key, np.uint64(2)), node, 1)
        sp = _push(st, stk, sp, s, nl, d, h2(key, np.uint64(1)), node, 0)
    return n_nodes, n_slots, n_front
