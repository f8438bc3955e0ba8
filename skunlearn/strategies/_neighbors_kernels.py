"""Compiled kernels that delete rows from a scikit-learn KDTree / BallTree in place.

scikit-learn's binary trees are four flat arrays (``get_arrays()``): ``data``
(the rows), ``idx_array`` (a permutation of row ids; every node owns the
contiguous range ``idx_array[idx_start:idx_end]``), ``node_data`` (records
``idx_start, idx_end, is_leaf, radius``) and ``node_bounds`` (KD-tree: the
lower and upper corner of each node's box, shape ``(2, n_nodes, d)``; ball
tree: the centroids, shape ``(1, n_nodes, d)``). Nodes are a complete binary
tree in heap order: the children of node ``i`` are ``2 i + 1`` and ``2 i + 2``.

Deleting slots from ``idx_array`` and shifting the tail left keeps every
node's range contiguous once each ``idx_start`` / ``idx_end`` is lowered by
the number of deleted slots before it; the nodes that lost a row then get
their bounds recomputed from the rows they still hold (leaves) or from their
children (internal nodes), so no trace of a deleted row stays in the tree.
An empty node gets the box ``[+inf, -inf]``, which every query prunes.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numba import njit


@njit(cache=True)
def kd_find_slots(data, idx_array, start, end, is_leaf, lower, upper, rows):
    """Slot of each row id in ``idx_array`` and the leaf holding it (``-1``: not found).

    Descends from the root into every node whose box contains the row (the
    boxes are the exact min / max of the node's rows, so the row's own leaf is
    always reached; ties on a box face may visit a few more nodes).
    """
    k = rows.shape[0]
    d = data.shape[1]
    slots = np.full(k, -1, np.int64)
    leaves = np.full(k, -1, np.int64)
    n_nodes = start.shape[0]
    stack = np.empty(256, np.int64)  # 2 entries per level at most
    for q in range(k):
        r = rows[q]
        stack[0] = 0
        top = 1
        while top > 0 and slots[q] < 0:
            top -= 1
            i = stack[top]
            inside = True
            for j in range(d):
                v = data[r, j]
                if v < lower[i, j] or v > upper[i, j]:
                    inside = False
                    break
            if not inside:
                continue
            if is_leaf[i]:
                for s in range(start[i], end[i]):
                    if idx_array[s] == r:
                        slots[q] = s
                        leaves[q] = i
                        break
            else:
                c = 2 * i + 1
                if c + 1 < n_nodes and top + 2 <= stack.shape[0]:
                    stack[top] = c + 1
                    stack[top + 1] = c
                    top += 2
    return slots, leaves


@njit(cache=True)
def scan_slots(idx_array, n_live, rows, n_rows):
    """Slot of each row id in ``idx_array[:n_live]`` by one scan (``-1``: absent).

    A byte mask of the wanted rows (``n_rows`` bytes, cache-friendly) marks
    the hits; each hit is placed by binary search among the sorted rows.
    """
    k = rows.shape[0]
    order = np.argsort(rows)
    sorted_rows = rows[order]
    mask = np.zeros(n_rows, np.bool_)
    for q in range(k):
        mask[rows[q]] = True
    out = np.full(k, -1, np.int64)
    for s in range(n_live):
        r = idx_array[s]
        if mask[r]:
            q = np.searchsorted(sorted_rows, r)
            out[order[q]] = s
    return out


@njit(cache=True)
def leaf_of_slots(start, end, is_leaf, slots):
    """The leaf whose range holds each slot (ranges partition the live slots)."""
    out = np.empty(slots.shape[0], np.int64)
    n_nodes = start.shape[0]
    for q in range(slots.shape[0]):
        s = slots[q]
        i = 0
        while not is_leaf[i]:
            c = 2 * i + 1
            if c + 1 < n_nodes and s >= end[c]:
                i = c + 1
            else:
                i = c
        out[q] = i
    return out


@njit(cache=True)
def compact_slots(idx_array, n_live, del_slots):
    """Delete the sorted ``del_slots`` from ``idx_array[:n_live]`` in one pass."""
    k = del_slots.shape[0]
    w = del_slots[0]
    q = 0
    for s in range(del_slots[0], n_live):
        if q < k and s == del_slots[q]:
            q += 1
            continue
        idx_array[w] = idx_array[s]
        w += 1


@njit(cache=True)
def renumber_nodes(start, end, del_slots):
    """Lower each node's range bounds by the number of deleted slots before them.

    The nodes of one level of the tree hold consecutive, ordered ranges, so
    one merge-like walk over the sorted ``del_slots`` per level does it:
    ``O(n_nodes + k * n_levels)``.
    """
    k = del_slots.shape[0]
    n_nodes = start.shape[0]
    first = 0
    width = 1
    while first < n_nodes:
        q1 = 0
        q2 = 0
        for i in range(first, min(first + width, n_nodes)):
            a = start[i]
            b = end[i]
            while q1 < k and del_slots[q1] < a:
                q1 += 1
            while q2 < k and del_slots[q2] < b:
                q2 += 1
            start[i] = a - q1
            end[i] = b - q2
        first += width
        width *= 2


def remove_slots(idx_array, start, end, n_live, del_slots, mover_slots, mover_rows):
    """Delete sorted ``del_slots`` from ``idx_array[:n_live]`` and renumber moved rows.

    ``idx_array[mover_slots[i]]`` becomes ``mover_rows[i]`` (a row moved to a
    new position of ``data``). The tail freed by the shift is zeroed. A few
    slots are shifted out with numpy's overlapping copies (``memmove``, far
    faster than an element loop); many in one compiled pass.
    """
    idx_array[mover_slots] = mover_rows
    k = del_slots.shape[0]
    if k == 0:
        return
    if k <= 256:
        for q in range(k):
            a = int(del_slots[q]) + 1
            b = int(del_slots[q + 1]) if q + 1 < k else n_live
            if b > a:
                idx_array[a - q - 1 : b - q - 1] = idx_array[a:b]
    else:
        compact_slots(idx_array, n_live, del_slots)
    idx_array[n_live - k : n_live] = 0
    renumber_nodes(start, end, del_slots)


@njit(cache=True)
def kd_refresh(data, idx_array, start, end, is_leaf, lower, upper, radius, nodes, p):
    """Recompute the boxes and radii of ``nodes`` (children before parents)."""
    d = data.shape[1]
    n_nodes = start.shape[0]
    for t in range(nodes.shape[0]):
        i = nodes[t]
        for j in range(d):
            lower[i, j] = np.inf
            upper[i, j] = -np.inf
        if is_leaf[i]:
            for s in range(start[i], end[i]):
                r = idx_array[s]
                for j in range(d):
                    v = data[r, j]
                    if v < lower[i, j]:
                        lower[i, j] = v
                    if v > upper[i, j]:
                        upper[i, j] = v
        else:
            for c in (2 * i + 1, 2 * i + 2):
                if c < n_nodes:
                    for j in range(d):
                        if lower[c, j] < lower[i, j]:
                            lower[i, j] = lower[c, j]
                        if upper[c, j] > upper[i, j]:
                            upper[i, j] = upper[c, j]
        if end[i] <= start[i]:
            radius[i] = 0.0
            continue
        # As KDTree's init_node: the radius of the box in the metric's p-norm.
        rad = 0.0
        for j in range(d):
            h = 0.5 * abs(upper[i, j] - lower[i, j])
            if p == np.inf:
                rad = max(rad, h)
            else:
                rad += h**p
        radius[i] = rad if p == np.inf else rad ** (1.0 / p)


@njit(cache=True)
def _pdist(a, b, p):
    """The Minkowski ``p`` distance (``p`` in [1, inf]) between two vectors."""
    acc = 0.0
    if p == np.inf:
        for j in range(a.shape[0]):
            acc = max(acc, abs(a[j] - b[j]))
        return acc
    if p == 1.0:
        for j in range(a.shape[0]):
            acc += abs(a[j] - b[j])
        return acc
    if p == 2.0:
        for j in range(a.shape[0]):
            acc += (a[j] - b[j]) ** 2
        return np.sqrt(acc)
    for j in range(a.shape[0]):
        acc += abs(a[j] - b[j]) ** p
    return acc ** (1.0 / p)


@njit(cache=True)
def ball_find_slots(data, idx_array, start, end, is_leaf, cent, radius, rows, p):
    """As :func:`kd_find_slots` for a ball tree with a Minkowski ``p`` metric.

    Descends into every node whose ball holds the row (a relative slack of
    1e-9 absorbs rounding; a row not found is looked up by a scan).
    """
    k = rows.shape[0]
    slots = np.full(k, -1, np.int64)
    n_nodes = start.shape[0]
    stack = np.empty(256, np.int64)
    for q in range(k):
        r = rows[q]
        stack[0] = 0
        top = 1
        while top > 0 and slots[q] < 0:
            top -= 1
            i = stack[top]
            if end[i] <= start[i]:
                continue
            dist = _pdist(data[r], cent[i], p)
            if dist > radius[i] * (1.0 + 1e-9) + 1e-12:
                continue
            if is_leaf[i]:
                for s in range(start[i], end[i]):
                    if idx_array[s] == r:
                        slots[q] = s
                        break
            else:
                c = 2 * i + 1
                if c + 1 < n_nodes and top + 2 <= stack.shape[0]:
                    stack[top] = c + 1
                    stack[top + 1] = c
                    top += 2
    return slots


@njit(cache=True)
def ball_plan(data, idx_array, start, end, is_leaf, cent, radius, nodes, del_slots, p):
    """New centroids and radii of ``nodes`` (children first) without ``del_slots``.

    See ``neighbors._plan_ball`` (the same computation for any metric).
    """
    n_nodes = start.shape[0]
    d = data.shape[1]
    m = nodes.shape[0]
    where = np.full(n_nodes, -1, np.int64)
    count = np.zeros(m, np.int64)
    new_c = np.zeros((m, d))
    new_r = np.full(m, -np.inf)
    for t in range(m):
        i = nodes[t]
        where[i] = t
        if is_leaf[i]:
            q = np.searchsorted(del_slots, start[i])
            for s in range(start[i], end[i]):
                if q < del_slots.shape[0] and del_slots[q] == s:
                    q += 1
                    continue
                count[t] += 1
                for j in range(d):
                    new_c[t, j] += data[idx_array[s], j]
            if count[t] == 0:
                continue
            for j in range(d):
                new_c[t, j] /= count[t]
            q = np.searchsorted(del_slots, start[i])
            rad = 0.0
            for s in range(start[i], end[i]):
                if q < del_slots.shape[0] and del_slots[q] == s:
                    q += 1
                    continue
                rad = max(rad, _pdist(data[idx_array[s]], new_c[t], p))
            new_r[t] = rad
            continue
        total = 0
        for c in (2 * i + 1, 2 * i + 2):
            u = where[c]
            w = count[u] if u >= 0 else end[c] - start[c]
            if w == 0:
                continue
            total += w
            for j in range(d):
                new_c[t, j] += w * (new_c[u, j] if u >= 0 else cent[c, j])
        count[t] = total
        if total == 0:
            continue
        for j in range(d):
            new_c[t, j] /= total
        rad = 0.0
        for c in (2 * i + 1, 2 * i + 2):
            u = where[c]
            w = count[u] if u >= 0 else end[c] - start[c]
            if w == 0:
                continue
            cc = new_c[u] if u >= 0 else cent[c]
            rc = new_r[u] if u >= 0 else radius[c]
            rad = max(rad, _pdist(new_c[t], cc, p) + rc)
        new_r[t] = rad
    return new_c, new_r


_WARM: list[bool] = []


def warm_up_once():
    """:func:`warm_up`, once per process."""
    if not _WARM:
        warm_up()
        _WARM.append(True)


def warm_up():
    """Compile every kernel (once per process; cached on disk by numba).

    Called while planning a deletion, so that the commit, which must not
    fail, never compiles.
    """
    rng = np.random.RandomState(0)
    data = rng.rand(8, 2)
    idx = np.arange(8, dtype=np.int64)
    nd = np.zeros((3, 4), dtype=np.int64)
    nd[0, :3] = (0, 8, 0)
    nd[1, :3] = (0, 4, 1)
    nd[2, :3] = (4, 8, 1)
    start, end, leaf = nd[:, 0], nd[:, 1], nd[:, 2]
    lower = np.zeros((3, 2))
    upper = np.ones((3, 2))
    radius = np.zeros((3, 4))[:, 3]  # strided, like node_data's radius field
    rows = np.array([1], dtype=np.int64)
    kd_find_slots(data, idx, start, end, leaf, lower, upper, rows)
    scan_slots(idx, 8, rows, 8)
    leaf_of_slots(start, end, leaf, rows)
    compact_slots(idx.copy(), 8, rows)
    # Node fields are strided views of the node records, as in a tree.
    renumber_nodes(nd.copy()[:, 0], nd.copy()[:, 1], rows)
    kd_refresh(data, idx, start, end, leaf, lower, upper, radius, rows, 2.0)
    kd_refresh(data, idx, start, end, leaf, lower, upper, radius, rows, np.inf)
    cent = np.zeros((1, 3, 2))[0]  # as a ball tree's node_bounds[0]
    ball_find_slots(data, idx, start, end, leaf, cent, radius, rows, 2.0)
    nodes = np.array([2, 1, 0], dtype=np.int64)
    ball_plan(data, idx, start, end, leaf, cent, radius, nodes, rows, 2.0)
