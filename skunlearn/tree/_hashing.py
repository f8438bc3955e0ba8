"""Hashes, the source of all of the engine's randomness, and row multiplicity.

:func:`mix` and :func:`h2` (a splitmix64 finaliser) draw everything from a
hash of (seed, tree, node path, feature, value) or (seed, tree, row
fingerprint); :func:`row_mult` is a row's Poisson bootstrap multiplicity in a
tree; :func:`members` and :func:`gather` list a tree's or a node's rows.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numba import njit

from ._params import BOOT_ONE

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_FEATURE_SALT = np.uint64(0xF0F0F0F0)
_VALUE_SALT = np.uint64(0x0F0F0F0F00000000)


@njit(cache=True, nogil=True)
def mix(h):
    h = h ^ (h >> _S30)
    h = h * _M1
    h = h ^ (h >> _S27)
    h = h * _M2
    return h ^ (h >> _S31)


@njit(cache=True, nogil=True)
def h2(a, b):
    return mix(a ^ mix(b + _G))


@njit(cache=True, nogil=True)
def _w(sw, i):
    # a single weight stands for "all ones" (no sample_weight given)
    return sw[i] if sw.shape[0] > 1 else sw[0]


@njit(cache=True, nogil=True)
def row_mult(tkey, rkey, boot):
    """Bootstrap multiplicity of a row in a tree: Poisson(rate) from its fingerprint.

    ``boot`` is 0 (no bootstrap: 1) or the rate in units of 2**-20 (see
    BOOT_ONE); a rate below 1 puts each row in a share ``1 - exp(-rate)``
    of the trees.
    """
    if not boot:
        return 1
    h = h2(tkey, rkey)
    u = np.float64(h >> _S11) * (1.0 / 9007199254740992.0)
    if boot == BOOT_ONE:  # the default: the same draws as before rates existed
        p = 0.36787944117144233
        c = p
        k = 0
        while u >= c and k < 30:
            k += 1
            p = p / k
            c += p
        return k
    rate = boot * (1.0 / BOOT_ONE)
    p = np.exp(-rate)
    c = p
    k = 0
    while u >= c and k < 30:
        k += 1
        p = p * rate / k
        c += p
    return k


@njit(cache=True, nogil=True)
def members(rk, tkey, boot, out):
    """Row ids with a positive multiplicity in the tree, ascending."""
    m = 0
    for i in range(rk.shape[0]):
        if row_mult(tkey, rk[i], boot) > 0:
            out[m] = i
            m += 1
    return m


@njit(cache=True, nogil=True)
def gather(order, s, e, alive, rk, sw, tkey, boot, rows, wr, ascending):
    """Live rows of ``order[s:e]`` and their weights in the tree.

    Weights only if ``wr`` has room (an empty one skips them).

    An internal node's range is the concatenation of its children's, so with
    ``ascending`` the rows are sorted into the order a refit sums them in
    (needed where sums are not exact: real targets or weights).
    """
    m = 0
    for q in range(s, e):
        i = order[q]
        if alive[i]:
            rows[m] = i
            m += 1
    if ascending:
        n = alive.shape[0]
        if 16 * m > n:
            # a large node: marking its (distinct) rows and scanning all row
            # ids is linear, where sorting is m log m
            mark = np.zeros(n, dtype=np.bool_)
            for q in range(m):
                mark[rows[q]] = True
            m2 = 0
            for i in range(n):
                if mark[i]:
                    rows[m2] = i
                    m2 += 1
        else:
            rows[:m] = np.sort(rows[:m])
    if wr.shape[0] > 0:
        for q in range(m):
            i = rows[q]
            wr[q] = row_mult(tkey, rk[i], boot) * _w(sw, i)
    return m
