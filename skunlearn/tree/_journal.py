"""The journal: typed records of what a request (or an insertion) overwrote.

A request journals, chunk by chunk or tree by tree and before it writes,
what it is about to change (see ``_base``); a failed or interrupted request
undoes each tree's records last first, and the commit drops them. The kinds
of record:

- :class:`PathsUndo`: phase A on the trees of a chunk (the nodes on the
  forgotten rows' paths and their cached statistics, the subtrees cleared
  in the trees), undone tree by tree by
  :func:`~skunlearn.tree._txn.undelete` from the chunk's
  :class:`DeletionRecords` (:class:`TreeOfChunkUndo`: one tree's part,
  where more of its records follow);
- :class:`MetaUndo`: the tree's counters before its subtrees are planned
  (nodes, slots, garbage, height); undoing it zeroes what was written past
  the old ends;
- :class:`ArraysUndo`: the tree's arrays before they were replaced by larger
  ones (the old ones are left unchanged from then on);
- :class:`RootsUndo`: the roots of the cleared subtrees and their ranges of
  ``order``;
- :class:`InsertsUndo`: rows added to the trees of a chunk
  (``partial_fit``): the nodes on their paths, their slots, the ranges the
  entries moved, the entries put in place and each tree's ``order`` before,
  from :class:`InsertRecords`, tree by tree as for :class:`PathsUndo`.

A :class:`TreeJournal` holds one change's records, tree by tree, and the
garbage it leaves to scrub at its commit.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _kernels as K

__all__ = []


class DeletionRecords(NamedTuple):
    """What ``delete_trees`` overwrites in a chunk of trees, for ``undelete``.

    Tree ``q`` of the chunk has the node copies ``node_ptr[q]:node_ptr[q + 1]``,
    the values ``value_ptr[q]:...`` and the slots ``slot_ptr[q]:...``; row
    ``q`` of ``counts`` says how many of each it used. Passed to the kernels
    in this order (``*records``).
    """

    node: np.ndarray  # ids of the nodes copied
    node_ni: np.ndarray  # their NI rows
    node_nf: np.ndarray  # their NF rows
    node_nt: np.ndarray  # their NT rows
    node_ptr: np.ndarray
    value_at: np.ndarray  # (slot, column, row of the request) of a value
    value: np.ndarray  # the value it held
    value_ptr: np.ndarray
    slot: np.ndarray  # slots evaluated again
    slot_values: np.ndarray  # their rows of SD before
    slot_ptr: np.ndarray
    counts: np.ndarray  # per tree: values, slots, rows done, nodes copied
    meta_before: np.ndarray  # per tree: its counters before its subtrees
    # were cleared in it (-1: none were)

    @classmethod
    def allocate(cls, nodes, values_per_node, n_nf, n_nt, slot_width):
        """Room for ``nodes[q]`` node copies of each tree ``q`` of a chunk."""
        n = len(nodes)
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(nodes, out=ptr[1:])
        nc = int(ptr[n])
        return cls(
            np.empty(nc, dtype=np.int64),
            np.empty((nc, K.N_INT), dtype=np.int64),
            np.empty((nc, n_nf)),
            np.empty((nc, n_nt)),
            ptr,
            np.empty((nc * values_per_node, 3), dtype=np.int64),
            np.empty(nc * values_per_node),
            ptr * values_per_node,
            np.empty(nc, dtype=np.int64),
            np.empty((nc, slot_width)),
            ptr,
            np.zeros((n, 4), dtype=np.int64),
            np.full((n, 4), -1, dtype=np.int64),
        )

    def of(self, q):
        """Tree ``q``'s records, as ``undelete`` takes them."""
        c = slice(self.node_ptr[q], self.node_ptr[q + 1])
        e = slice(self.value_ptr[q], self.value_ptr[q + 1])
        o = slice(self.slot_ptr[q], self.slot_ptr[q + 1])
        return (
            self.node[c],
            self.node_ni[c],
            self.node_nf[c],
            self.node_nt[c],
            self.value_at[e],
            self.value[e],
            self.slot[o],
            self.slot_values[o],
            self.counts[q],
        )


class PathsUndo(NamedTuple):
    """Phase A on the trees of a chunk.

    Tree ``q`` lost ``rows[row_ptr[q]:row_ptr[q + 1]]``.
    One record for the whole chunk (a record per tree cost more than the
    deletion of a small tree); ``undone`` marks the trees already put back
    (:class:`TreeOfChunkUndo`, or a compaction that restores the original
    tree), which a later undo skips.
    """

    trees: list
    records: DeletionRecords
    row_ptr: np.ndarray
    rows: np.ndarray
    data: tuple
    P: np.ndarray
    undone: np.ndarray  # bool per tree

    def undo_tree(self, q):
        """Undo phase A on tree ``q`` (once), the clearing of its subtrees with it."""
        if self.undone[q]:
            return
        tree, data = self.trees[q], self.data
        meta = self.records.meta_before[q]
        if meta[0] >= 0:
            # (nothing was written past the old ends: the subtrees wait)
            tree.meta[:] = meta
        X, yc, yr, rk, sw = data
        (c_idx, c_ni, c_nf, c_nt, v_at, v, slots, slot_values, counts) = (
            self.records.of(q)
        )
        K.undelete(
            tree.NI, tree.NF, tree.NT, tree.SD, X, yc, yr, rk, sw, tree.tkey,
            self.rows[self.row_ptr[q] : self.row_ptr[q + 1]], self.P, c_idx, c_ni,
            c_nf, c_nt, v_at, v, slots, slot_values, counts,
        )  # fmt: skip
        self.undone[q] = True

    def undo(self):
        for q in reversed(range(len(self.trees))):
            self.undo_tree(q)


class TreeOfChunkUndo(NamedTuple):
    """Tree ``q``'s part of a chunk's record (:class:`PathsUndo`,
    :class:`InsertsUndo`), first in that tree's own records (those written
    after the chunk's kernel, undone before it)."""

    paths: Any
    q: int

    def undo(self):
        self.paths.undo_tree(self.q)


class MetaUndo(NamedTuple):
    """The tree's counters (``meta``) before its subtrees were planned."""

    tree: Any
    meta: np.ndarray

    def undo(self):
        # nodes and slots written past the old ends go: that space is all
        # zeros when unused
        tree = self.tree
        n, ns = int(self.meta[0]), int(self.meta[1])
        for arr in (tree.NI, tree.NF, tree.NK, tree.NT):
            arr[n:] = 0
        tree.SD[ns:] = 0
        tree.meta[:] = self.meta


class ArraysUndo(NamedTuple):
    """The tree's arrays before larger ones replaced them."""

    tree: Any
    NI: np.ndarray
    NF: np.ndarray
    NK: np.ndarray
    NT: np.ndarray
    SD: np.ndarray

    @classmethod
    def of(cls, tree):
        return cls(tree, *tree.arrays())

    def undo(self):
        t = self.tree
        t.NI, t.NF, t.NK, t.NT, t.SD = self.NI, self.NF, self.NK, self.NT, self.SD


class RootsUndo(NamedTuple):
    """Cleared subtrees' roots (rows of ``NI``, ``NF``, ``NT``) and their
    ranges of ``order`` (flat, split by ``order_ptr``)."""

    tree: Any
    nodes: np.ndarray
    ni: np.ndarray
    nf: np.ndarray
    nt: np.ndarray
    order: np.ndarray
    order_ptr: np.ndarray

    def undo(self):
        tree, ptr = self.tree, self.order_ptr
        for q, s in enumerate(self.ni[:, K.START].tolist()):
            tree.order[s : s + ptr[q + 1] - ptr[q]] = self.order[ptr[q] : ptr[q + 1]]
        tree.NI[self.nodes] = self.ni
        tree.NF[self.nodes] = self.nf
        tree.NT[self.nodes] = self.nt


class InsertRecords(NamedTuple):
    """What ``insert_trees`` overwrites in a chunk of trees, for ``uninsert``.

    Tree ``q`` of the chunk has the rows ``row_ptr[q]:row_ptr[q + 1]`` of
    ``path``, ``leaf``, ``at`` and ``fin`` (each new row's path, its depth,
    its position as it went in, its place after), the node copies
    ``node_ptr[q]:...`` and the slot copies ``slot_ptr[q]:...``; row ``q``
    of ``counts`` says how many of each it used. Passed to the kernel in
    this order (``*records``), after the rows.
    """

    path: np.ndarray
    leaf: np.ndarray
    at: np.ndarray
    fin: np.ndarray
    node: np.ndarray  # ids of the nodes copied
    node_ni: np.ndarray  # their NI rows
    node_nf: np.ndarray  # their NF rows
    node_nt: np.ndarray  # their NT rows
    node_ptr: np.ndarray
    slot: np.ndarray  # slots copied (when first reached, and when evaluated again)
    slot_values: np.ndarray  # their rows of SD before
    slot_ptr: np.ndarray
    counts: np.ndarray  # per tree: 1 once order is written, slots, rows done, nodes
    meta_before: np.ndarray  # per tree: its counters before its subtrees
    # were cleared in it (-1: none were)

    @classmethod
    def allocate(cls, rows, depth, n_nf, n_nt, slot_width):
        """Room for ``rows[q]`` new rows of tree ``q``, paths of ``depth`` nodes."""
        n = len(rows)
        row_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(rows, out=row_ptr[1:])
        nr = int(row_ptr[n])
        ptr = row_ptr * depth
        nc = nr * depth
        return cls(
            np.empty((nr, depth), dtype=np.int64),
            np.empty(nr, dtype=np.int64),
            np.full(nr, -1, dtype=np.int64),
            np.empty(nr, dtype=np.int64),
            np.empty(nc, dtype=np.int64),
            np.empty((nc, K.N_INT), dtype=np.int64),
            np.empty((nc, n_nf)),
            np.empty((nc, n_nt)),
            ptr,
            np.empty(2 * nc, dtype=np.int64),
            np.empty((2 * nc, slot_width)),
            2 * ptr,
            np.zeros((n, 4), dtype=np.int64),
            np.full((n, 4), -1, dtype=np.int64),
        )


class InsertsUndo(NamedTuple):
    """Rows added to the trees of a chunk (``insert_trees``).

    Tree ``q`` gained ``rows[row_ptr[q]:row_ptr[q + 1]]``; ``orders[q]``,
    ``order_bufs[q]`` and ``n_nodes[q]`` are its before, ``buffers[q]`` where
    the insertion wrote its longer ``order``: its buffer itself when it had
    room (the entries are then taken out again), or a new one. ``undone``
    as in :class:`PathsUndo`.
    """

    trees: list
    records: InsertRecords
    row_ptr: np.ndarray
    rows: np.ndarray
    orders: list
    order_bufs: list
    buffers: list
    n_nodes: np.ndarray
    undone: np.ndarray  # bool per tree

    def undo_tree(self, q):
        """Undo the insertion into tree ``q`` (once), its subtrees' clearing with it."""
        if self.undone[q]:
            return
        tree, r = self.trees[q], self.records
        meta = r.meta_before[q]
        if meta[0] >= 0:
            tree.meta[:] = meta
        s = slice(self.row_ptr[q], self.row_ptr[q + 1])
        c = slice(r.node_ptr[q], r.node_ptr[q + 1])
        o = slice(r.slot_ptr[q], r.slot_ptr[q + 1])
        K.uninsert(
            tree.NI, tree.NF, tree.NT, tree.SD, int(self.n_nodes[q]), self.rows[s],
            r.path[s], r.leaf[s], r.at[s], r.node[c], r.node_ni[c], r.node_nf[c],
            r.node_nt[c], r.slot[o], r.slot_values[o], r.counts[q],
        )  # fmt: skip
        old, buf = self.orders[q], self.order_bufs[q]
        if r.counts[q, 0] and buf is not None and self.buffers[q] is buf[0]:
            K.unspread(buf[0], old.shape[0] + s.stop - s.start, r.fin[s])
        tree.order, tree.order_buf = old, buf
        self.undone[q] = True

    def undo(self):
        for q in reversed(range(len(self.trees))):
            self.undo_tree(q)


class TreeJournal:
    """One change to the trees in place: its undo records and its garbage.

    A change (a request's phases, rows added, subtrees grown at a read) takes
    a list of records per tree from :meth:`for_tree` and appends to it what
    it is about to overwrite; clearing subtrees leaves garbage nodes and
    slots, scrubbed by :meth:`commit` (a rollback finds them as they were).
    :meth:`rollback` undoes every tree's records, last first. Either empties
    the journal: after a commit a rollback does nothing. Threads of one
    change may add trees and garbage at once.
    """

    def __init__(self):
        self._trees = []
        self._garbage = []

    def for_tree(self):
        """A new list for one tree's records, undone with the others."""
        records = []
        self._trees.append(records)
        return records

    def scrub_later(self, tree, ids, slots):
        """Nodes ``ids`` and ``slots`` of ``tree`` to scrub at the commit."""
        self._garbage.append((tree, ids, slots))

    def rollback(self):
        """Undo every record, each tree's last first."""
        trees, self._trees, self._garbage = self._trees, [], []
        for records in reversed(trees):
            for record in reversed(records):
                record.undo()

    def commit(self):
        """Scrub the garbage; the records are no longer needed."""
        garbage, self._trees, self._garbage = self._garbage, [], []
        for tree, ids, slots in garbage:
            K.scrub(tree.NI, tree.NF, tree.NT, tree.SD, ids, slots)
