"""Names of the engine's array columns and parameter vector, and the slot layout.

Column indices of a tree's ``NI`` and ``NF`` arrays (described in
``_storage``), the positions in the parameter vector ``P`` and the criterion
codes it holds, the bootstrap rate's unit ``BOOT_ONE``, and :func:`offsets`,
where each part of a slot of cached split statistics lies.
"""

# SPDX-License-Identifier: BSD-3-Clause

from numba import njit

FEAT, LEFT, RIGHT, START, END, DEPTH, SLOT, KIND, NROWS, PARENT = range(10)
N_INT = 10
THR, WEIGHT, IMP, VAL = 0, 1, 2, 3
GINI, ENTROPY, MSE = 0, 1, 2


# P (parameter vector) positions
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
) = range(13)


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


# P[P_BOOT]: 0 without bootstrap, else the Poisson rate (a row's expected
# multiplicity, ``max_samples``) in units of 2**-20; BOOT_ONE is rate 1.
BOOT_ONE = 1 << 20
