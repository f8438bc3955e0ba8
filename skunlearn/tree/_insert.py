"""Insertion: adding rows to a tree's statistics and to its ``order``.

:func:`insert` adds new rows along their paths (node totals, cached
candidate statistics), gives each a place in ``order`` at the end of its
leaf's range (where a fit on the rows, the new ones numbered last, puts it;
in place, in room after the entries, see :func:`spread`), then walks the
nodes reached as a deletion does (``_delete._decide``) and returns the roots
of the subtrees to grow again. What it overwrites is copied first into
records the caller keeps (see ``_journal.InsertsUndo``), one chunk of trees
at a time (``_txn.insert_trees``).
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numba import njit

from ._delete import _add_row, _journal_node, decide_reached
from ._hashing import _VALUE_SALT, _w, h2, row_mult
from ._intrinsics import move
from ._params import END, LEFT, SLOT, START, _offsets
from ._predict import _child


@njit(cache=True, nogil=True)
def _value_hash(nodekey, f, x, bits):
    # a value's hash in a node, as eval_features computes it (``bits``: a
    # one-element float64 array viewed as uint64 in ``bits[1]``)
    bits[0][0] = x
    return h2(h2(nodekey ^ _VALUE_SALT, np.uint64(f)), bits[1][0])


@njit(cache=True, nogil=True)
def _add_candidates(sd, nodekey, X, r, P, c, w, y, bits, ni, rows_of, batch):
    """Add row ``r`` to the statistics ``sd`` of a node's slot (``ni``: its row).

    Adds it to the totals and to the left statistics of every stored value
    at or above its own (the mirror of ``_delete._subtract_candidates``).
    A value new to the stored ones that the split search takes (among the
    first ``k`` present in (hash, value) order) is stored with its
    statistics, summed from the node's rows of one feature
    (:func:`_store_new_value`); otherwise the slot keeps the stored values
    that come before it in that order (:func:`_drop_after`), as a deletion
    keeps those that remain: at least ``k``, the ones the search takes.
    ``rows_of``: ``(order, alive, X, rk, sw, tkey, yc, yr)``, the node's
    rows before the new ones go in; ``batch``: ``(rows, path, leaf, q, d,
    node)``, the new rows, the paths of those before this one (``q``-th,
    at depth ``d`` of its path, in ``node``): they are in the slot already,
    not yet in ``order``.
    """
    mtry, k, S = P.mtry, P.n_thresholds, P.stat_width
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(mtry, k, S)
    clf = P.classifier
    k2 = 2 * k
    _add_row(sd, o_tot, clf, c, w, y)
    for j in range(mtry):
        f = int(sd[o_f + j])
        x = X[r, f]
        nc = int(sd[o_nc + j])
        known = False
        below = -1  # the stored value just below x
        for t in range(nc - 1, -1, -1):
            cvt = sd[o_cv + j * k2 + t]
            if cvt != cvt:
                continue  # a value gone earlier
            if x > cvt:
                below = t
                break
            _add_row(sd, o_cst + (j * k2 + t) * S, clf, c, w, y)
            if x == cvt:
                sd[o_ceq + j * k2 + t] += 1.0
                known = True
        if known:
            continue
        # the present stored values before the new one in (hash, value)
        # order (``perm``), and where the first after it is
        h = _value_hash(nodekey, f, x, bits)
        before = 0
        cut = nc
        for r_ in range(nc):
            t = int(sd[o_perm + j * k2 + r_])
            v = sd[o_cv + j * k2 + t]
            if v != v or sd[o_ceq + j * k2 + t] <= 0:
                continue
            hv = _value_hash(nodekey, f, v, bits)
            if hv < h or (hv == h and v < x):
                before += 1
            else:
                cut = r_
                break
        if before < k:
            _store_new_value(
                sd, j, x, h, below, nodekey, f, P, c, w, y, bits, ni, rows_of, batch
            )
            continue
        sd[o_comp + j] = 0.0  # a value of the node is not stored
        _drop_after(sd, j, cut, nc, k2, S, o_cst, o_ceq, o_perm, o_cv)


@njit(cache=True, nogil=True)
def _drop_after(sd, j, cut, nc, k2, S, o_cst, o_ceq, o_perm, o_cv):
    """Drop feature ``j``'s stored values from position ``cut`` of ``perm`` on.

    They are blanked as a value that loses its last row is (NaN: never a
    candidate again), their statistics zeroed: what stays is a prefix of
    the node's values in (hash, value) order, as the slot's invariant wants.
    """
    for r_ in range(cut, nc):
        t = int(sd[o_perm + j * k2 + r_])
        sd[o_cv + j * k2 + t] = np.nan
        sd[o_ceq + j * k2 + t] = 0.0
        b = o_cst + (j * k2 + t) * S
        sd[b : b + S] = 0.0


@njit(cache=True, nogil=True)
def _store_new_value(
    sd, j, x, h, below, nodekey, f, P, c, w, y, bits, ni, rows_of, batch
):
    """Store feature ``j``'s new value ``x`` (hash ``h``) in ``sd``, and its statistics.

    Its left statistics are those of the stored value just below it
    (``below``, -1: none; the new row not in them), plus the node's rows
    between the two (:func:`_rows_between`: one feature of the node's rows,
    where evaluating the node again reads every candidate feature; and the
    new rows before this one, :func:`_batch_between`), plus the new row.
    No other row has the value: one in the first
    ``k`` of (hash, value) order would be stored already. The feature's
    stored values are then written anew (:func:`_rewrite_feature`).
    """
    k, S = P.n_thresholds, P.stat_width
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(P.mtry, k, S)
    left = np.zeros(S)
    lo = -np.inf
    if below >= 0:
        b = o_cst + (j * 2 * k + below) * S
        left[:] = sd[b : b + S]
        lo = sd[o_cv + j * 2 * k + below]
    _rows_between(left, ni, rows_of, f, lo, x, P)
    _batch_between(left, batch, rows_of, f, lo, x, P)
    _add_row(left, 0, P.classifier, c, w, y)
    _rewrite_feature(sd, j, x, h, left, nodekey, f, P, bits)


@njit(cache=True, nogil=True)
def _rows_between(out, ni, rows_of, f, lo, hi, P):
    """Add to ``out`` the live rows of node row ``ni`` with ``lo < X[:, f] < hi``."""
    order, alive, X = rows_of[:3]
    for i in range(ni[START], ni[END]):
        q = order[i]
        v = X[q, f]
        if v > lo and v < hi and alive[q]:
            _add_tree_row(out, q, rows_of, P)


@njit(cache=True, nogil=True)
def _batch_between(out, batch, rows_of, f, lo, hi, P):
    """Add to ``out`` the earlier new rows of ``batch`` that went through its
    node, with ``lo < X[:, f] < hi`` (see :func:`_add_candidates`)."""
    rows, path, leaf, q, d, node = batch
    X = rows_of[2]
    for u in range(q):
        if leaf[u] >= d and path[u, d] == node:
            v = X[rows[u], f]
            if v > lo and v < hi:
                _add_tree_row(out, rows[u], rows_of, P)


@njit(cache=True, nogil=True)
def _add_tree_row(out, r, rows_of, P):
    """Add the tree's row ``r`` (its weight there may be zero) to ``out``."""
    order, alive, X, rk, sw, tkey, yc, yr = rows_of
    clf = P.classifier
    w = row_mult(tkey, rk[r], P.boot_rate) * _w(sw, r)
    _add_row(out, 0, clf, yc[r] if clf else 0, w, 0.0 if clf else yr[r])


@njit(cache=True, nogil=True)
def _rewrite_feature(sd, j, x, h, left, nodekey, f, P, bits):
    """Feature ``j``'s present stored values and the new ``x``, written anew.

    Ascending, their positions in (hash, value) order in ``perm``, as a
    fit lays them out; values gone (NaN) leave. When all ``2 k`` places are
    taken, the value last in (hash, value) order goes (what stays is still
    a prefix of that order) and the stored values are no longer all of the
    node's.
    """
    k, S = P.n_thresholds, P.stat_width
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = _offsets(P.mtry, k, S)
    k2 = 2 * k
    nc = int(sd[o_nc + j])
    vals = np.empty(k2 + 1)
    hs = np.empty(k2 + 1, dtype=np.uint64)
    st = np.empty((k2 + 1, S))
    eq = np.empty(k2 + 1)
    n = 0
    for t in range(nc):
        v = sd[o_cv + j * k2 + t]
        if v != v or sd[o_ceq + j * k2 + t] <= 0:
            continue
        b = o_cst + (j * k2 + t) * S
        vals[n], hs[n], eq[n] = (
            v,
            _value_hash(nodekey, f, v, bits),
            sd[o_ceq + j * k2 + t],
        )
        st[n] = sd[b : b + S]
        n += 1
    vals[n], hs[n], eq[n] = x, h, 1.0
    st[n] = left
    n += 1
    complete = sd[o_comp + j] != 0
    if n > k2:
        last = 0
        for u in range(1, n):
            if hs[u] > hs[last] or (hs[u] == hs[last] and vals[u] > vals[last]):
                last = u
        n -= 1
        vals[last], hs[last], eq[last] = vals[n], hs[n], eq[n]
        st[last] = st[n]
        complete = False
    by_value = np.argsort(vals[:n])
    sd[o_cst + j * k2 * S : o_cst + (j + 1) * k2 * S] = 0.0
    sd[o_ceq + j * k2 : o_ceq + (j + 1) * k2] = 0.0
    sd[o_perm + j * k2 : o_perm + (j + 1) * k2] = 0.0
    sd[o_cv + j * k2 : o_cv + (j + 1) * k2] = np.nan
    for t in range(n):
        u = by_value[t]
        b = o_cst + (j * k2 + t) * S
        sd[o_cv + j * k2 + t] = vals[u]
        sd[b : b + S] = st[u]
        sd[o_ceq + j * k2 + t] = eq[u]
        rank = 0
        for z in range(n):
            if hs[z] < hs[u] or (hs[z] == hs[u] and vals[z] < vals[u]):
                rank += 1
        sd[o_perm + j * k2 + rank] = t
    sd[o_nc + j] = n
    sd[o_comp + j] = 1.0 if complete else 0.0


@njit(cache=True, nogil=True)
def _add_paths(
    NI, NF, NK, NT, SD, order, X, yc, yr, rk, sw, tkey, alive, rows, P, flag, path,
    leaf, cp_idx, cp_ni, cp_nf, cp_nt, ow_slot, ow_sd, cnt,
):  # fmt: skip
    """Add ``rows`` to the nodes on their paths (:func:`insert`'s first phase).

    Marks each node reached in ``flag`` (1), copying it, and its slot, when
    first reached (:func:`_add_candidates` keeps the slot sufficient). With
    exact counts the node totals ``NT`` are incremented (otherwise
    ``_delete._recount`` sums them again from the rows). Row ``q``'s path
    goes to ``path[q]`` (ending at ``leaf[q]``, its depth).
    """
    clf = P.classifier
    boot = P.boot_rate
    exact = P.exact_counts != 0
    bits_f = np.empty(1, dtype=np.float64)
    bits = (bits_f, bits_f.view(np.uint64))
    rows_of = (order, alive, X, rk, sw, tkey, yc, yr)
    for q in range(rows.shape[0]):
        r = rows[q]
        w = row_mult(tkey, rk[r], boot) * _w(sw, r)
        c = yc[r] if clf else 0
        y = 0.0 if clf else yr[r]
        node = 0
        d = 0
        while True:
            path[q, d] = node
            slot = NI[node, SLOT]
            if flag[node] == 0:
                flag[node] = 1
                _journal_node(node, NI, NF, NT, cp_idx, cp_ni, cp_nf, cp_nt, cnt)
                if slot >= 0:
                    u = cnt[1]
                    ow_slot[u] = slot
                    ow_sd[u] = SD[slot]
                    cnt[1] = u + 1
            if exact:
                _add_row(NT[node], 0, clf, c, w, y)
            if slot >= 0:
                batch = (rows, path, leaf, q, d, node)
                _add_candidates(
                    SD[slot], NK[node], X, r, P, c, w, y, bits, NI[node], rows_of, batch
                )
            if NI[node, LEFT] < 0:
                break
            node = _child(NI, NF, X, r, node)
            d += 1
        leaf[q] = d
        cnt[2] = q + 1


@njit(cache=True, nogil=True)
def shift_ranges(NI, n_nodes, pos, path, depth, delta, mark):
    """Move the node ranges for an entry inserted (``delta`` 1) at ``pos`` of ``order``.

    The nodes on the entry's path (``path[:depth + 1]``) grow by one at their
    end; every other node starting at or after ``pos`` moves one place on.
    ``delta`` -1 undoes it (``pos`` as given for the insertion). ``mark``
    (one entry per node, all False) is scratch.
    """
    for d in range(depth + 1):
        v = path[d]
        NI[v, END] += delta
        mark[v] = True
    start = pos if delta > 0 else pos + 1
    for v in range(n_nodes):
        if NI[v, START] >= start and not mark[v]:
            NI[v, START] += delta
            NI[v, END] += delta
    for d in range(depth + 1):
        mark[path[d]] = False


@njit(cache=True, nogil=True)
def _insert_order(NI, n_nodes, order, m, rows, path, leaf, at, fin):
    """Each row at the end of its leaf's range: the ranges, then ``order``.

    Rows go into the ranges one at a time, in the order given (ascending
    ids: a leaf's range stays in a fit's order), ``at[q]`` receiving row
    ``q``'s position as it goes in (what :func:`uninsert` moves back). A
    leaf's range then ends with its new rows: ``fin[q]`` is row ``q``'s
    place there, and :func:`spread` puts the rows in ``order`` (``m``
    entries, room for the rows after them).
    """
    mark = np.zeros(n_nodes, dtype=np.bool_)
    for q in range(rows.shape[0]):
        pos = NI[path[q, leaf[q]], END]
        shift_ranges(NI, n_nodes, pos, path[q], leaf[q], 1, mark)
        at[q] = pos
    seen = np.zeros(n_nodes, dtype=np.int64)
    for q in range(rows.shape[0] - 1, -1, -1):
        v = path[q, leaf[q]]
        fin[q] = NI[v, END] - 1 - seen[v]
        seen[v] += 1
    spread(order, m, rows, fin)


@njit(cache=True, nogil=True)
def spread(order, m, rows, fin):
    """Put ``rows`` at places ``fin`` (distinct) among ``order``'s ``m`` entries.

    In place, in ``order[:m + len(rows)]``: the entries keep their order
    around the new ones, each moved once (from the last place down, a block
    at a time). :func:`unspread` takes them out again.
    """
    nr = rows.shape[0]
    by_place = np.argsort(fin)
    src, dst = m, m + nr
    for i in range(nr - 1, -1, -1):
        q = by_place[i]
        p = fin[q]
        c = dst - p - 1  # entries that go after the new one
        src -= c
        move(order, p + 1, src, c)
        order[p] = rows[q]
        dst = p


@njit(cache=True, nogil=True)
def unspread(order, m, fin):
    """Undo :func:`spread`: take out the entries at places ``fin`` of ``order[:m]``."""
    nr = fin.shape[0]
    if nr == 0:
        return
    by_place = np.argsort(fin)
    dst = fin[by_place[0]]
    for i in range(nr):
        p = fin[by_place[i]]
        end = fin[by_place[i + 1]] if i + 1 < nr else m
        move(order, dst, p + 1, end - p - 1)
        dst += end - p - 1


@njit(cache=True, nogil=True)
def insert(
    NI, NF, NK, NT, SD, order, m, n_nodes, X, yc, yr, rk, sw, tkey, alive,
    rows, P, work, path, leaf, at, fin, cp_idx, cp_ni, cp_nf, cp_nt, ow_slot, ow_sd,
    cnt,
):  # fmt: skip
    """Add ``rows`` (new, alive, ascending) to one tree in place.

    Adds them along their paths (:func:`_add_paths`), puts their entries
    among the ``m`` of ``order``, in its room after them
    (:func:`_insert_order`; ``order[:m + len(rows)]`` is the tree's after),
    then decides each node reached from the root down as a
    deletion does (``_delete._decide``: a leaf that may split now, or a node
    whose best split is another, is grown again). Returns the ids of the
    topmost nodes to grow again. ``work``: ``_delete.delete_work``'s arrays
    (shared by the trees of a chunk).

    Records for the undo (the caller allocates them): each node reached,
    copied when first reached (``cp_*``), each slot copied when first
    reached and again before it is evaluated again (``ow_*``: restored last
    first, the first copy wins), each row's path and depth (``path``,
    ``leaf``), its position as it went in and its place in ``order`` after
    (``at``, ``fin``); ``cnt`` counts (1 once ``order`` is written, slots,
    rows done, nodes).
    """
    flag = np.zeros(NI.shape[0], dtype=np.int8)
    _add_paths(
        NI, NF, NK, NT, SD, order, X, yc, yr, rk, sw, tkey, alive, rows, P, flag,
        path, leaf, cp_idx, cp_ni, cp_nf, cp_nt, ow_slot, ow_sd, cnt,
    )  # fmt: skip
    _insert_order(NI, n_nodes, order, m, rows, path, leaf, at, fin)
    cnt[0] = 1
    return decide_reached(
        NI, NF, NK, NT, SD, order, X, yc, yr, rk, sw, tkey, alive, P, work,
        flag, ow_slot, ow_sd, cnt,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def uninsert(NI, NF, NT, SD, n_nodes, rows, path, leaf, at, cp_idx, cp_ni, cp_nf,
             cp_nt, ow_slot, ow_sd, cnt):  # fmt: skip
    """Undo :func:`insert` on the tree's node arrays (``order`` is the caller's).

    The ranges move back (last row first), then the slots get their copies
    back (last first: the copy made when first reached wins), then the
    nodes on the paths theirs.
    """
    mark = np.zeros(n_nodes, dtype=np.bool_)
    for q in range(cnt[2] - 1, -1, -1):
        if at[q] >= 0:
            shift_ranges(NI, n_nodes, at[q], path[q], leaf[q], -1, mark)
    for u in range(cnt[1] - 1, -1, -1):
        SD[ow_slot[u]] = ow_sd[u]
    for u in range(cnt[3] - 1, -1, -1):
        v = cp_idx[u]
        NI[v] = cp_ni[u]
        NF[v] = cp_nf[u]
        NT[v] = cp_nt[u]
