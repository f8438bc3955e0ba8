"""A change's writes and their undo: deleting from a chunk of trees, clearing
subtrees, undoing a deletion.

:func:`delete_trees` runs :func:`._delete.delete` on a chunk of trees and
clears the subtrees whose split changed (:func:`clear_pending`), as
:func:`insert_trees` does for :func:`._insert.insert`;
:func:`undelete` reverses both from their records; :func:`journal_roots`
copies what clearing and regrowing subtrees overwrites;
:func:`clear_subtree` / :func:`clear_subtrees` clear subtrees before they
grow again, and :func:`scrub` erases the garbage they leave.
:func:`mark_pending` and :func:`pending_nodes` mark and find the cleared
subtrees whose growth waits until the model is read.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numba import njit

from ._delete import _add_row, delete, delete_work
from ._hashing import _w, gather, row_mult
from ._insert import insert
from ._params import (
    DEPTH,
    END,
    FEAT,
    KIND,
    LEFT,
    NROWS,
    PARENT,
    PENDING,
    RIGHT,
    SLOT,
    START,
    _offsets,
)
from ._predict import _child
from ._storage import subtree


@njit(cache=True, nogil=True)
def undelete(
    NI, NF, NT, SD, X, yc, yr, rk, sw, tkey, del_rows, P, cp_idx, cp_ni, cp_nf, cp_nt,
    ev_i, ev_v, ow_slot, ow_sd, cnt,
):  # fmt: skip
    """Undo :func:`delete`, from its records (undo later changes first).

    The nodes on the paths get their copies back (the roots of subtrees
    cleared since with them: the paths are whole again), the slots it
    evaluated again theirs, then the rows it took out go back into the
    slots, last first, each after the values it removed (the paths are
    those of :func:`delete`; integer counts: adding back gives the same
    bits).
    """
    mtry, k, S = P.mtry, P.n_thresholds, P.stat_width
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    k2 = 2 * k
    boot = P.boot_rate
    clf = P.classifier
    for u in range(cnt[3] - 1, -1, -1):
        v = cp_idx[u]
        NI[v] = cp_ni[u]
        NF[v] = cp_nf[u]
        NT[v] = cp_nt[u]
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
def _subtree_slots(NI, node):
    """The subtree at ``node``: its ids (``node`` first) and its slots."""
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
    return sub, slots


@njit(cache=True, nogil=True)
def _garbage_of(pieces):
    """The garbage of cleared subtrees ``pieces`` (``_subtree_slots`` each), flat.

    ``(ids, slots)``: the ids below each root, and every slot (the roots').
    """
    n_ids = 0
    n_slots = 0
    for sub, slots in pieces:
        n_ids += sub.shape[0] - 1
        n_slots += slots.shape[0]
    ids = np.empty(n_ids, dtype=np.int64)
    all_slots = np.empty(n_slots, dtype=np.int64)
    a = 0
    b = 0
    for sub, slots in pieces:
        ids[a : a + sub.shape[0] - 1] = sub[1:]
        a += sub.shape[0] - 1
        all_slots[b : b + slots.shape[0]] = slots
        b += slots.shape[0]
    return ids, all_slots


@njit(cache=True, nogil=True)
def clears_in_place(meta):
    """Whether a tree (counters ``meta``) takes cleared subtrees in itself.

    At most half of it garbage; otherwise a compacted copy takes them.
    """
    return 2 * meta[2] <= meta[0]


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
    sub, slots = _subtree_slots(NI, node)
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
def journal_roots(NI, NF, NT, order, nodes, with_order):
    """What clearing the subtrees at ``nodes`` and growing them overwrites.

    Copies of the roots' rows of ``NI``, ``NF``, ``NT``, and (``with_order``)
    of their ranges of ``order`` (flat, split by ``optr``; without, every
    range is empty: :func:`clear_pending` leaves them as they are). The
    rest of a subtree is left as it was until it is scrubbed (see
    :func:`clear_subtree`).
    """
    n = nodes.shape[0]
    optr = np.zeros(n + 1, dtype=np.int64)
    for q in range(n if with_order else 0):
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
        if with_order:
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
    pieces = []
    garbage = 0
    for q in range(n):
        node = nodes[q]
        m, sub, slots = clear_subtree(
            NI, NF, NT, SD, order, node, alive, rk, sw, tkey, boot, ascending, dead,
            rows, now,
        )  # fmt: skip
        ms[q] = m
        garbage += sub.shape[0] - 1
        if not now:
            pieces.append((sub, slots))
        p = NI[node, PARENT]
        par[q] = p
        side[q] = 0 if p < 0 or NI[p, LEFT] == node else 1
        depth[q] = NI[node, DEPTH]
    ids, all_slots = _garbage_of(pieces)
    return ms, par, side, depth, garbage, ids, all_slots


@njit(cache=True, nogil=True)
def clear_pending(NI, NF, NT, SD, nodes, now):
    """Clear the subtrees at ``nodes`` and make their roots wait to grow again.

    What a request does where growth is deferred: the nodes below the roots
    become garbage (unreachable: :func:`mark_pending` cuts the roots off),
    and the roots' ranges of ``order`` stay as they are, dead ids included
    (the growth gathers their live rows: :func:`clear_subtree`). Returns
    the number of garbage nodes and, unless ``now`` (the garbage is
    scrubbed here, see :func:`scrub`), the garbage to scrub later: node ids
    and slots (the roots' among them).
    """
    pieces = [_subtree_slots(NI, nodes[q]) for q in range(nodes.shape[0])]
    ids, slots = _garbage_of(pieces)
    if now:
        scrub(NI, NF, NT, SD, ids, slots)
    mark_pending(NI, NF, NT, SD, nodes)
    if now:
        return ids.shape[0], ids[:0], slots[:0]
    return ids.shape[0], ids, slots


@njit(cache=True, nogil=True)
def mark_pending(NI, NF, NT, SD, nodes):
    """Make the cleared subtrees' roots ``nodes`` wait to grow again.

    Each keeps its place (range of ``order``, depth, parent, key) and is
    scrubbed otherwise (:func:`scrub`: split, statistics, slot): nothing of
    the rows it was grown from stays, and a prediction may not reach it
    (the model grows it first).
    """
    scrub(NI, NF, NT, SD, nodes, nodes[:0])
    for q in range(nodes.shape[0]):
        NI[nodes[q], KIND] = PENDING


@njit(cache=True, nogil=True)
def pending_nodes(NI, n_nodes):
    """The subtree roots waiting to grow again, reachable from the root."""
    out = np.empty(n_nodes, dtype=np.int64)
    n = 0
    stack = np.empty(n_nodes + 1, dtype=np.int64)
    stack[0] = 0
    sp = 1
    while sp > 0:
        sp -= 1
        v = stack[sp]
        if NI[v, KIND] == PENDING:
            out[n] = v
            n += 1
        elif NI[v, LEFT] >= 0:
            stack[sp] = NI[v, RIGHT]
            stack[sp + 1] = NI[v, LEFT]
            sp += 2
    return out[:n]


@njit(cache=True, nogil=True)
def delete_trees(
    NIs, NFs, NKs, NTs, SDs, orders, metas, tkeys, which, rptr, rflat, X, yc, yr,
    rk, sw, alive, P, cp_idx, cp_ni, cp_nf, cp_nt, cptr, ev_i, ev_v, eptr, ow_slot,
    ow_sd, optr, cnt, meta_before,
):  # fmt: skip
    """:func:`delete` on several trees, then the subtrees to grow again cleared.

    Tree ``which[q]`` loses rows ``rflat[rptr[q]:rptr[q + 1]]``; its records
    for :func:`undelete` are the slices ``cptr[q]:cptr[q + 1]`` (node
    copies), ``eptr`` (values), ``optr`` (slots) and row ``q`` of ``cnt``.
    The subtrees whose split changed are cleared as :func:`_clear_reached`
    says. Returns what :func:`_chunk_result` does.
    """
    n = which.shape[0]
    outs = []
    garbage = []
    work = delete_work(P, orders[0].dtype)
    for q in range(n):
        t = which[q]
        c = slice(cptr[q], cptr[q + 1])
        e = slice(eptr[q], eptr[q + 1])
        o = slice(optr[q], optr[q + 1])
        NI, NF, NT, SD = NIs[t], NFs[t], NTs[t], SDs[t]
        out = delete(
            NI, NF, NKs[t], NT, SD, orders[t], X, yc, yr, rk, sw, tkeys[t], alive,
            rflat[rptr[q] : rptr[q + 1]], P, work, cp_idx[c], cp_ni[c], cp_nf[c],
            cp_nt[c], ev_i[e], ev_v[e], ow_slot[o], ow_sd[o], cnt[q],
        )  # fmt: skip
        outs.append(out)
        garbage.append(_clear_reached(NI, NF, NT, SD, metas[t], out, meta_before[q]))
    return _chunk_result(outs, garbage)


@njit(cache=True, nogil=True)
def insert_trees(
    NIs, NFs, NKs, NTs, SDs, bufs, metas, tkeys, which, ms, rptr, rflat, X, yc, yr,
    rk, sw, alive, P, path, leaf, at, fin, cp_idx, cp_ni, cp_nf, cp_nt, cptr,
    ow_slot, ow_sd, optr, cnt, meta_before,
):  # fmt: skip
    """:func:`._insert.insert` on several trees, then the subtrees to grow cleared.

    Tree ``which[q]`` gains rows ``rflat[rptr[q]:rptr[q + 1]]``: their
    entries go among the ``ms[q]`` of its ``order`` in ``bufs[which[q]]``
    (room after them). Its records for :func:`._insert.uninsert` are the
    slices ``rptr[q]:rptr[q + 1]`` of ``path``, ``leaf``, ``at``, ``fin``,
    ``cptr`` (node copies) and ``optr`` (slots), and row ``q`` of ``cnt``.
    The subtrees whose split changed are cleared as :func:`_clear_reached`
    says. Returns what :func:`_chunk_result` does.
    """
    n = which.shape[0]
    outs = []
    garbage = []
    work = delete_work(P, bufs[0].dtype)
    for q in range(n):
        t = which[q]
        r = slice(rptr[q], rptr[q + 1])
        c = slice(cptr[q], cptr[q + 1])
        o = slice(optr[q], optr[q + 1])
        NI, NF, NT, SD, meta = NIs[t], NFs[t], NTs[t], SDs[t], metas[t]
        out = insert(
            NI, NF, NKs[t], NT, SD, bufs[t], ms[q], meta[0], X, yc, yr, rk, sw,
            tkeys[t], alive, rflat[r], P, work, path[r], leaf[r], at[r], fin[r],
            cp_idx[c], cp_ni[c], cp_nf[c], cp_nt[c], ow_slot[o], ow_sd[o], cnt[q],
        )  # fmt: skip
        outs.append(out)
        garbage.append(_clear_reached(NI, NF, NT, SD, meta, out, meta_before[q]))
    return _chunk_result(outs, garbage)


@njit(cache=True, nogil=True)
def _clear_reached(NI, NF, NT, SD, meta, roots, meta_before):
    """Clear the subtrees at ``roots`` to grow at the next read, where the tree allows.

    Where at most half of the tree is garbage (:func:`clears_in_place`):
    :func:`clear_pending` (the roots are among the nodes the change copied
    when first reached), ``meta_before`` (-1 until then) receiving the
    tree's counters before. Returns the garbage to scrub at the commit:
    ``(node ids, slots)``, empty where nothing was cleared (the caller then
    clears the roots in a compacted copy).
    """
    if roots.shape[0] == 0 or not clears_in_place(meta):
        return roots[:0], roots[:0]
    meta_before[:] = meta
    garbage, ids, slots = clear_pending(NI, NF, NT, SD, roots, False)
    meta[2] += garbage
    return ids, slots


@njit(cache=True, nogil=True)
def _chunk_result(outs, garbage):
    """A chunk's subtrees to grow again and garbage, flat.

    ``(rebuild, bptr, ids, iptr, slots, sptr)``: tree ``q``'s roots are
    ``rebuild[bptr[q]:bptr[q + 1]]``, its garbage node ids
    ``ids[iptr[q]:iptr[q + 1]]`` and slots ``slots[sptr[q]:sptr[q + 1]]``.
    """
    n = len(outs)
    bptr = np.zeros(n + 1, dtype=np.int64)
    iptr = np.zeros(n + 1, dtype=np.int64)
    sptr = np.zeros(n + 1, dtype=np.int64)
    for q in range(n):
        bptr[q + 1] = bptr[q] + outs[q].shape[0]
        iptr[q + 1] = iptr[q] + garbage[q][0].shape[0]
        sptr[q + 1] = sptr[q] + garbage[q][1].shape[0]
    rebuild = np.empty(bptr[n], dtype=np.int64)
    ids = np.empty(iptr[n], dtype=np.int64)
    slots = np.empty(sptr[n], dtype=np.int64)
    for q in range(n):
        rebuild[bptr[q] : bptr[q + 1]] = outs[q]
        ids[iptr[q] : iptr[q + 1]] = garbage[q][0]
        slots[sptr[q] : sptr[q + 1]] = garbage[q][1]
    return rebuild, bptr, ids, iptr, slots, sptr
