"""Names of the engine's array columns and parameters, and the slot layout.

Column indices of a tree's ``NI`` and ``NF`` arrays (described in
``_storage``), the parameter record :class:`Params` the kernels read (and
the positions of its fields in the vector a model stores), the criterion
codes, the bootstrap rate's unit ``BOOT_ONE``, and :func:`offsets`,
where each part of a slot of cached split statistics lies.
"""

# SPDX-License-Identifier: BSD-3-Clause

from typing import NamedTuple

from numba import njit

FEAT, LEFT, RIGHT, START, END, DEPTH, SLOT, KIND, NROWS, PARENT = range(10)
N_INT = 10
THR, WEIGHT, IMP, VAL = 0, 1, 2, 3
GINI, ENTROPY, MSE = 0, 1, 2
# NI[:, KIND]: a split node, a leaf by depth, size or purity, a leaf without
# a valid split, or the root of a subtree to grow again (cleared by a request;
# it grows before the model is read, see _base._BaseUnlearningForest._grow_pending)
SPLIT, LEAF_BY_RULE, LEAF_NO_SPLIT, PENDING = 0, 1, 2, 3


class Params(NamedTuple):
    """A model's growth parameters, as every kernel reads them (``P``).

    All integers (numba types it as a tuple of int64, read by name). The
    model stores them as an int64 vector (``_P_``, in this order: the
    ``P_*`` positions) and hands the kernels this record.
    """

    n_values: int  # classes (classifier) or 1
    stat_width: int  # statistics per node: 1 + classes, or 4 (regression)
    mtry: int  # features drawn per node
    n_thresholds: int  # candidate thresholds stored per feature (k)
    min_samples_leaf: int
    min_samples_split: int
    max_depth: int
    criterion: int  # GINI, ENTROPY or MSE
    classifier: int  # 1 for a classifier
    cache_min_rows: int  # nodes with at least this many rows cache a slot
    exact_counts: int  # 1 when the sums are integer counts (see _split)
    boot_rate: int  # see BOOT_ONE
    n_features: int


# positions in the stored vector
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
) = range(len(Params._fields))


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


# Params.boot_rate: 0 without bootstrap, else the Poisson rate (a row's expected
# multiplicity, ``max_samples``) in units of 2**-20; BOOT_ONE is rate 1.
BOOT_ONE = 1 << 20
