"""Deletion: removing rows from a tree's statistics.

:func:`delete` subtracts rows along their paths, re-evaluates the nodes that
need it and returns the roots of the subtrees to grow again; what it
overwrites is recorded for :func:`._txn.undelete` (:func:`._txn.delete_trees`
runs it on a chunk of trees and clears those subtrees).
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
    LEAF_BY_RULE,
    LEFT,
    NROWS,
    PENDING,
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
    W = _offsets(P.mtry, P.n_thresholds, P.stat_width)[-1]
    return (
        np.empty(W, dtype=np.float64),
        np.empty(1024, dtype=dtype),
        np.empty(1024, dtype=np.float64),
        new_scratch(1024, P),
    )


# What :func:`_decide` does with a node on the deleted rows' paths: it stays
# as it is (statistics updated), its subtree is grown again, or its split
# stays and the walk goes on to its children.
_STAYS, _REBUILD, _DESCEND = 0, 1, 2
# (and, within a decision: the node's candidates decide; its rows are needed)
_CANDIDATES, _NEEDS_ROWS = 3, 4


@njit(cache=True, nogil=True)
def _prefetch_paths(NI, NF, SD, X, del_rows, W):
    """Ask for the slots on the rows' paths ahead of use (they lie apart in memory)."""
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


@njit(cache=True, nogil=True)
def _journal_node(node, NI, NF, NT, cp_idx, cp_ni, cp_nf, cp_nt, cnt):
    """Copy a node's rows of ``NI``, ``NF`` and ``NT`` for :func:`undelete`."""
    u = cnt[3]
    cp_idx[u] = node
    cp_ni[u] = NI[node]
    cp_nf[u] = NF[node]
    cp_nt[u] = NT[node]
    cnt[3] = u + 1


@njit(cache=True, nogil=True)
def _subtract_candidates(sd, slot, X, r, q, P, c, w, y, ev_i, ev_v, cnt):
    """Take row ``r`` (the ``q``-th deleted) out of slot ``slot``'s statistics ``sd``.

    Subtracts it from the totals and from the left statistics of every
    stored candidate value at or above its own. A stored value that loses
    its last row is blanked (NaN: never a candidate again, no residue) and
    recorded in ``ev_i``/``ev_v`` for :func:`undelete`. Returns True when the
    node must be evaluated again from its rows: a feature whose stored values
    were not all of the node's distinct values has fewer than ``k`` of them
    left, so that values not stored would become candidates.
    """
    mtry, k, S = P.mtry, P.n_thresholds, P.stat_width
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    clf = P.classifier
    k2 = 2 * k
    stale = False
    _sub_row(sd, o_tot, clf, c, w, y)
    for j in range(mtry):
        x = X[r, int(sd[o_f + j])]
        nc = int(sd[o_nc + j])
        for t in range(nc - 1, -1, -1):
            cvt = sd[o_cv + j * k2 + t]
            if cvt != cvt:
                # a value gone earlier: never a candidate again
                continue
            if x > cvt:
                break
            _sub_row(sd, o_cst + (j * k2 + t) * S, clf, c, w, y)
            if x != cvt:
                continue
            e = o_ceq + j * k2 + t
            sd[e] -= 1.0
            if sd[e] > 0:
                continue
            ne = cnt[0]
            ev_i[ne, 0] = slot
            ev_i[ne, 1] = o_cv + j * k2 + t
            ev_i[ne, 2] = q
            ev_v[ne] = cvt
            cnt[0] = ne + 1
            sd[o_cv + j * k2 + t] = np.nan
            if sd[o_comp + j] == 0:
                present = 0
                for u in range(nc):
                    if sd[o_ceq + j * k2 + u] > 0:
                        present += 1
                if present < k:
                    stale = True
    return stale


@njit(cache=True, nogil=True)
def _subtract_paths(
    NI, NF, NT, SD, X, yc, yr, rk, sw, tkey, del_rows, P, flag,
    cp_idx, cp_ni, cp_nf, cp_nt, ev_i, ev_v, cnt,
):  # fmt: skip
    """Take ``del_rows`` out of the nodes on their paths (:func:`delete`'s first phase).

    Marks each node reached in ``flag`` (1; 2 when its cached statistics no
    longer suffice, see :func:`_subtract_candidates`), copying it for
    :func:`undelete` when first reached. With exact (integer) counts the
    node totals ``NT`` are decremented too; otherwise :func:`_recount` sums
    them again from the rows.
    """
    clf = P.classifier
    boot = P.boot_rate
    exact = P.exact_counts != 0
    for q in range(del_rows.shape[0]):
        r = del_rows[q]
        w = row_mult(tkey, rk[r], boot) * _w(sw, r)
        c = yc[r] if clf else 0
        y = 0.0 if clf else yr[r]
        node = 0
        while True:
            if flag[node] == 0:
                flag[node] = 1
                _journal_node(node, NI, NF, NT, cp_idx, cp_ni, cp_nf, cp_nt, cnt)
            if exact:
                _sub_row(NT[node], 0, clf, c, w, y)
            slot = NI[node, SLOT]
            if slot >= 0 and _subtract_candidates(
                SD[slot], slot, X, r, q, P, c, w, y, ev_i, ev_v, cnt
            ):
                flag[node] = 2
            if NI[node, LEFT] < 0:
                break
            node = _child(NI, NF, X, r, node)
        cnt[2] = q + 1


@njit(cache=True, nogil=True)
def _gather_node(node, NI, order, alive, rk, sw, tkey, P, rows, wr, ascending):
    """A node's live rows and weights (see :func:`gather`), the arrays grown if needed.

    Returns ``(n, rows, wr)``.
    """
    s = NI[node, START]
    e = NI[node, END]
    if e - s > rows.shape[0]:
        rows = np.empty(e - s, dtype=order.dtype)
        wr = np.empty(e - s, dtype=np.float64)
    n = gather(order, s, e, alive, rk, sw, tkey, P.boot_rate, rows, wr, ascending)
    return n, rows, wr


@njit(cache=True, nogil=True)
def _count_exact(tot, S):
    """A node's row count and purity from its exact totals ``tot``."""
    npos = 0
    for cc in range(1, S):
        if tot[cc] > 0:
            npos += 1
    return int(tot[0]), npos <= 1


@njit(cache=True, nogil=True)
def _recount(node, NI, NT, order, alive, rk, sw, tkey, yc, yr, P, work):
    """A node's live row count and purity after the subtraction, sums not exact.

    Its rows are gathered in a refit's order and its totals summed again
    (exact totals are read where they are: :func:`_count_exact`). Returns
    ``(n, pure, have_rows, work)``; with ``have_rows``, ``work``'s rows and
    weights hold the node's.
    """
    S = P.stat_width
    tmpbuf, rows, wr, scr = work
    n, rows, wr = _gather_node(node, NI, order, alive, rk, sw, tkey, P, rows, wr, True)
    pure = eval_tot(rows, wr, n, yc, yr, P, tmpbuf)
    o_tot = _offsets(P.mtry, P.n_thresholds, S)[1]
    NT[node, :] = tmpbuf[o_tot : o_tot + S]
    return n, pure, True, (tmpbuf, rows, wr, scr)


@njit(cache=True, nogil=True)
def _reevaluate(
    node, stale, NI, NK, SD, order, X, yc, yr, rk, sw, tkey, alive, P,
    n, have_rows, work, ow_slot, ow_sd, cnt,
):  # fmt: skip
    """A node's candidate split statistics, for :func:`choose`.

    Its slot as the subtraction left it, unless the node has no slot or the
    slot is ``stale``: then they are evaluated again from the node's rows,
    into its slot (copied first for :func:`undelete`) or a work buffer.
    Returns ``(buf, n, work)``.
    """
    slot = NI[node, SLOT]
    if slot >= 0 and not stale:
        return SD[slot], n, work
    tmpbuf, rows, wr, scr = work
    if slot >= 0:
        buf = SD[slot]
        no = cnt[1]
        ow_slot[no] = slot
        ow_sd[no] = buf
        cnt[1] = no + 1
    else:
        buf = tmpbuf
    if not have_rows:
        n, rows, wr = _gather_node(
            node, NI, order, alive, rk, sw, tkey, P, rows, wr, False
        )
    eval_tot(rows, wr, n, yc, yr, P, buf)
    if n > scr[0].shape[0]:
        scr = new_scratch(n, P)
    no_block = np.empty((0, 0), dtype=np.float64)
    no_pos = np.empty(0, dtype=np.int64)
    eval_splits(rows, wr, n, X, yc, yr, P, NK[node], buf, no_block, no_pos, scr, no_pos)
    return buf, n, (tmpbuf, rows, wr, scr)


@njit(cache=True, nogil=True)
def _split_stays(node, NI, NF, buf, bj, bt, P):
    """Whether the best candidate ``(bj, bt)`` of ``buf`` is the node's split."""
    mtry, k, S = P.mtry, P.n_thresholds, P.stat_width
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    return (
        bj >= 0
        and int(buf[o_f + bj]) == NI[node, FEAT]
        and buf[o_cv + bj * 2 * k + bt] == NF[node, THR]
    )


@njit(cache=True, nogil=True)
def _decide_by_rules(node, n, pure, NI, NF, tot, P):
    """What the leaf rules decide for a node of ``n`` live rows after the change.

    A leaf that may not split stays one (its count and values updated:
    ``_STAYS``); a leaf by its depth, size or purity that may split now, or
    an internal node that may no longer split, is grown again
    (``_REBUILD``); otherwise its candidate splits decide
    (``_CANDIDATES``).
    """
    is_leaf = NI[node, LEFT] < 0
    leafcond = (
        NI[node, DEPTH] >= P.max_depth
        or n < P.min_samples_split
        or n < 2 * P.min_samples_leaf
        or pure
    )
    if is_leaf and leafcond:
        NI[node, KIND] = LEAF_BY_RULE
        NI[node, NROWS] = n
        set_node_values(NF, node, tot, P)
        return _STAYS
    if is_leaf and NI[node, KIND] == LEAF_BY_RULE:
        # rows were added (a deletion never lifts those conditions)
        return _REBUILD
    if not is_leaf and leafcond:
        return _REBUILD
    return _CANDIDATES


@njit(cache=True, nogil=True)
def _decide_by_candidates(node, n, buf, NI, NF, tot, P):
    """What a node's candidate statistics ``buf`` decide (after the rules).

    A leaf that had no valid split and still has none stays one; a leaf
    that has one now, or an internal node whose best candidate is another
    split, is grown again; otherwise its split stays and the walk goes on
    to its children (``_DESCEND``). The node's count and values are updated
    where it stays.
    """
    is_leaf = NI[node, LEFT] < 0
    bj, bt = choose(buf, P)
    if (bj >= 0) if is_leaf else not _split_stays(node, NI, NF, buf, bj, bt, P):
        return _REBUILD
    NI[node, NROWS] = n
    set_node_values(NF, node, tot, P)
    return _STAYS if is_leaf else _DESCEND


@njit(cache=True, nogil=True)
def _decide_from_slot(node, stale, NI, NF, NT, SD, P):
    """:func:`_decide` where the node's exact totals and its slot suffice.

    Returns the action, or ``_NEEDS_ROWS`` when the node's rows must be
    read (sums not exact; no slot, or a ``stale`` one). The common case,
    and no array of :func:`_decide`'s ``work`` goes in or out: a tuple of
    arrays passed through a call is counted in and out, which was a third
    of a node's decision (measured).
    """
    if NI[node, KIND] == PENDING:
        return _STAYS
    if P.exact_counts == 0:
        return _NEEDS_ROWS
    tot = NT[node]
    n, pure = _count_exact(tot, P.stat_width)
    action = _decide_by_rules(node, n, pure, NI, NF, tot, P)
    if action != _CANDIDATES:
        return action
    slot = NI[node, SLOT]
    if slot < 0 or stale:
        return _NEEDS_ROWS
    return _decide_by_candidates(node, n, SD[slot], NI, NF, tot, P)


@njit(cache=True, nogil=True)
def _decide(
    node, stale, NI, NF, NK, NT, SD, order, X, yc, yr, rk, sw, tkey, alive, P,
    work, ow_slot, ow_sd, cnt,
):  # fmt: skip
    """What becomes of a node whose rows :func:`_decide_from_slot` needs.

    Sums not exact: its rows are counted again and the leaf rules decide
    first (:func:`_decide_by_rules`); with exact totals they have decided
    already. Then the node's candidates (:func:`_decide_by_candidates`),
    from its slot or evaluated again from its rows (:func:`_reevaluate`).
    Returns ``(_STAYS | _REBUILD | _DESCEND, work)``.
    """
    have_rows = False
    if P.exact_counts != 0:
        n = int(NT[node, 0])
    else:
        n, pure, have_rows, work = _recount(
            node, NI, NT, order, alive, rk, sw, tkey, yc, yr, P, work
        )
        action = _decide_by_rules(node, n, pure, NI, NF, NT[node], P)
        if action != _CANDIDATES:
            return action, work
    tot = NT[node]
    buf, n, work = _reevaluate(
        node, stale, NI, NK, SD, order, X, yc, yr, rk, sw, tkey, alive, P,
        n, have_rows, work, ow_slot, ow_sd, cnt,
    )  # fmt: skip
    return _decide_by_candidates(node, n, buf, NI, NF, tot, P), work


@njit(cache=True, nogil=True)
def decide_reached(
    NI, NF, NK, NT, SD, order, X, yc, yr, rk, sw, tkey, alive, P, work, flag,
    ow_slot, ow_sd, cnt,
):  # fmt: skip
    """Decide each node reached (``flag``), from the root down (:func:`_decide`).

    Walks down from the root through the nodes that rows reached (``flag``
    1, or 2 when their slot no longer suffices), deciding each; a node whose
    split stays passes the walk on to its children. Returns the ids of the
    topmost nodes to grow again.
    """
    n_nodes = NI.shape[0]
    rebuild = np.empty(n_nodes, dtype=np.int64)
    n_rebuild = 0
    stack = np.empty(n_nodes + 1, dtype=np.int64)
    stack[0] = 0
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        if flag[node] == 0:
            continue
        stale = flag[node] == 2
        action = _decide_from_slot(node, stale, NI, NF, NT, SD, P)
        if action == _NEEDS_ROWS:
            action, work = _decide(
                node, stale, NI, NF, NK, NT, SD, order, X, yc, yr, rk, sw, tkey,
                alive, P, work, ow_slot, ow_sd, cnt,
            )  # fmt: skip
        if action == _REBUILD:
            rebuild[n_rebuild] = node
            n_rebuild += 1
        elif action == _DESCEND:
            stack[sp] = NI[node, RIGHT]
            stack[sp + 1] = NI[node, LEFT]
            sp += 2
    return rebuild[:n_rebuild]


@njit(cache=True, nogil=True)
def delete(
    NI, NF, NK, NT, SD, order, X, yc, yr, rk, sw, tkey, alive, del_rows, P, work,
    cp_idx, cp_ni, cp_nf, cp_nt, ev_i, ev_v, ow_slot, ow_sd, cnt,
):  # fmt: skip
    """Remove ``del_rows`` from one tree in place (phase A).

    Subtracts the rows along their paths (:func:`_subtract_paths`: with
    exact counts, the node totals and the cached candidate statistics), then
    walks down from the root through the nodes reached, deciding each
    (:func:`_decide`): internal nodes without a cache, or whose candidate set
    changed, and every node when sums are not exact, are re-evaluated from
    their rows. Updates the nodes whose split stays and returns the ids of
    the topmost nodes whose split changed: the caller rebuilds those
    subtrees.

    What it overwrites is recorded for :func:`undelete` as it goes, in
    arrays the caller journals first: each node on the paths, copied when
    first reached (``cp_idx``, ``cp_ni``, ``cp_nf``, ``cp_nt``; room for
    the paths' nodes), a value that loses its last row (``ev_i``: slot,
    position, row; ``ev_v``: the value; room for every stored value of
    those nodes), a slot's copy before it is evaluated again (``ow_slot``,
    ``ow_sd``; room for each of those nodes); ``cnt`` counts the values,
    the slots, the rows done and the nodes.
    """
    n_nodes = NI.shape[0]
    flag = np.zeros(n_nodes, dtype=np.int8)  # 1 reached, 2 slot stale
    _prefetch_paths(
        NI, NF, SD, X, del_rows, _offsets(P.mtry, P.n_thresholds, P.stat_width)[-1]
    )
    _subtract_paths(
        NI, NF, NT, SD, X, yc, yr, rk, sw, tkey, del_rows, P, flag,
        cp_idx, cp_ni, cp_nf, cp_nt, ev_i, ev_v, cnt,
    )  # fmt: skip
    return decide_reached(
        NI, NF, NK, NT, SD, order, X, yc, yr, rk, sw, tkey, alive, P, work, flag,
        ow_slot, ow_sd, cnt,
    )  # fmt: skip
