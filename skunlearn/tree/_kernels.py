"""Compiled kernels of the trees built for deletion (numba, cached on disk).

A façade: the kernels live in modules by responsibility, and every name this
module held before the split is re-exported here, so that ``K.<name>`` (with
``from . import _kernels as K``) keeps working in ``_base`` and in the tests.

- ``_params``: columns of the node arrays, the parameter record ``Params``
  (and its fields' positions in the stored vector),
  criterion codes, ``BOOT_ONE``, and the slot layout (:func:`offsets`).
- ``_storage``: how a tree is stored (the data layout), compaction,
  renumbering, subtrees, room for regrowth, slots made equal to a fit's.
- ``_intrinsics``: the processor's prefetch hint.
- ``_hashing``: hashes (the engine's only randomness), row multiplicity in a
  tree (Poisson bootstrap), the rows of a tree or a node.
- ``_split``: split search (node totals, candidate splits, packed integer
  sums, the choice of the best split).
- ``_grow``: node values and growing a (sub)tree.
- ``_predict``: the leaf a row reaches, and leaf values summed.
- ``_delete``: removing rows from a tree's statistics.
- ``_insert``: adding rows to a tree's statistics and to its ``order``.
- ``_txn``: undoing a deletion, journals of regrown roots, clearing subtrees
  (the Python records of a request's journal are in ``_journal``).

Developers: numba caches each kernel on disk per module and does not
recompile a cached kernel when a kernel it calls changes in another module
(numba issue 1833); after editing one of these modules, delete
``skunlearn/tree/__pycache__/*.nbi`` and ``*.nbc``.
"""

# SPDX-License-Identifier: BSD-3-Clause

# the imports of the module before the split (``K.njit`` decorates kernels of
# ``_base``)
import numpy as np
from llvmlite import ir as _ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._delete import (
    _add_row,
    _decide,
    _recount,
    _reevaluate,
    _split_stays,
    _sub_row,
    _subtract_candidates,
    _subtract_paths,
    decide_reached,
    delete,
    delete_work,
)
from ._grow import (
    PF,
    XT_MIN_ROWS,
    Frontier,
    GrowAt,
    Prepared,
    RowData,
    TreeArrays,
    build,
    grow_from,
    prepare,
    set_node_values,
)
from ._hashing import (
    _FEATURE_SALT,
    _G,
    _M1,
    _M2,
    _S11,
    _S27,
    _S30,
    _S31,
    _VALUE_SALT,
    _w,
    gather,
    h2,
    members,
    mix,
    row_mult,
)
from ._insert import (
    _add_candidates,
    _add_paths,
    insert,
    shift_ranges,
    uninsert,
    unspread,
)
from ._intrinsics import _prefetch_row, prefetch
from ._params import (
    BOOT_ONE,
    DEPTH,
    END,
    ENTROPY,
    FEAT,
    GINI,
    IMP,
    KIND,
    LEFT,
    MSE,
    N_INT,
    NROWS,
    P_BOOT,
    P_C,
    P_CACHE,
    P_CLF,
    P_CRIT,
    P_K,
    P_MD,
    P_MSL,
    P_MSS,
    P_MTRY,
    P_P,
    P_S,
    P_USECACHE,
    PARENT,
    PENDING,
    RIGHT,
    SLOT,
    START,
    THR,
    VAL,
    WEIGHT,
    Params,
    _offsets,
    offsets,
)
from ._predict import _child, accumulate_values, apply
from ._split import (
    _ALL_FEATURES,
    _U64_MAX,
    NH,
    PACKED_MAX_CLASSES,
    _gini_pair,
    _pack,
    _packed_sums,
    _proxy,
    _select_features,
    _smallest,
    _unpack,
    choose,
    eval_features,
    eval_splits,
    eval_tot,
    eval_tot_packed,
    new_scratch,
    pack_rows,
    packed_bits,
)
from ._storage import (
    _merge_runs,
    add_slots,
    compact,
    count_live,
    missing_slots,
    preorder_ids,
    refresh_slots,
    release,
    renumber,
    room,
    room_at,
    subtree,
)
from ._txn import (
    clear_pending,
    clear_subtree,
    clear_subtrees,
    clears_in_place,
    delete_trees,
    insert_trees,
    journal_roots,
    mark_pending,
    pending_nodes,
    scrub,
    undelete,
)

# every name the module held before the split, private ones included
__all__ = [
    "np",
    "_ir",
    "njit",
    "types",
    "cgutils",
    "intrinsic",
    # _params
    "FEAT",
    "LEFT",
    "RIGHT",
    "START",
    "END",
    "DEPTH",
    "SLOT",
    "KIND",
    "NROWS",
    "PARENT",
    "N_INT",
    "THR",
    "WEIGHT",
    "IMP",
    "VAL",
    "GINI",
    "ENTROPY",
    "MSE",
    "P_C",
    "P_S",
    "P_MTRY",
    "P_K",
    "P_MSL",
    "P_MSS",
    "P_MD",
    "P_CRIT",
    "P_CLF",
    "P_CACHE",
    "P_USECACHE",
    "P_BOOT",
    "P_P",
    "offsets",
    "_offsets",
    "BOOT_ONE",
    # _storage
    "release",
    "compact",
    "refresh_slots",
    "_merge_runs",
    "renumber",
    "count_live",
    "subtree",
    "preorder_ids",
    "room",
    "room_at",
    # _intrinsics
    "prefetch",
    "_prefetch_row",
    # _hashing
    "_M1",
    "_M2",
    "_G",
    "_S30",
    "_S27",
    "_S31",
    "_S11",
    "_FEATURE_SALT",
    "_VALUE_SALT",
    "mix",
    "h2",
    "_w",
    "row_mult",
    "members",
    "gather",
    # _split
    "NH",
    "_U64_MAX",
    "PACKED_MAX_CLASSES",
    "_select_features",
    "new_scratch",
    "eval_tot",
    "_smallest",
    "_pack",
    "pack_rows",
    "_unpack",
    "packed_bits",
    "eval_tot_packed",
    "_packed_sums",
    "_ALL_FEATURES",
    "eval_splits",
    "eval_features",
    "_proxy",
    "_gini_pair",
    "choose",
    # _grow
    "PF",
    "XT_MIN_ROWS",
    "TreeArrays",
    "RowData",
    "GrowAt",
    "Prepared",
    "Frontier",
    "set_node_values",
    "build",
    "prepare",
    "grow_from",
    # _predict
    "_child",
    "apply",
    "accumulate_values",
    # _delete
    "_add_row",
    "_sub_row",
    "_subtract_candidates",
    "_subtract_paths",
    "_recount",
    "_reevaluate",
    "_split_stays",
    "_decide",
    "delete_work",
    "delete",
    "delete_trees",
    "insert_trees",
    # _txn
    "undelete",
    "scrub",
    "clear_subtree",
    "journal_roots",
    "clear_subtrees",
    "clear_pending",
    "clears_in_place",
    "Params",
    # _insert and slots for inserted rows (added after the split)
    "missing_slots",
    "add_slots",
    "mark_pending",
    "decide_reached",
    "pending_nodes",
    "PENDING",
    "_add_candidates",
    "_add_paths",
    "shift_ranges",
    "insert",
    "uninsert",
    "unspread",
]
