"""Deletion: removing rows from a tree's statistics, one tree or several.

:func:`delete` subtracts rows along their paths, re-evaluates the nodes that
need it and returns the roots of the subtrees to grow again; what it
overwrites is recorded for :func:`._txn.undelete`.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numba import njit

from ._grow import set_node_values
from ._hashing import _w, gather, row_mult
from ._intrinsics import _prefetch_row
from ._params import (
    DEPTH,
    END,
    FEAT,
    KIND,
    LEFT,
    NROWS,
    P_BOOT,
    P_CLF,
    P_K,
    P_MD,
    P_MSL,
    P_MSS,
    P_MTRY,
    P_S,
    P_USECACHE,
    RIGHT,
    SLOT,
    START,
    THR,
    _offsets,
)
from ._predict import _child
from ._split import choose, eval_splits, eval_tot, new_scratch


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
