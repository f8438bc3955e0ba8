"""Compiled row hashing for the ledger's small requests.

The numpy path in :mod:`skunlearn._ledger` costs about twenty array operations
per block whatever its size: for the one-row request that dominates deletion
traffic that is most of the matching time. This kernel computes the same two
64-bit lanes (bit for bit: same constants, same wrapping arithmetic) in one
pass. It is imported lazily, on the first small request, so that importing
skunlearn does not import numba.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numba import njit

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_CANONICAL_NAN = np.array([np.nan]).view(np.uint64)[0]


@njit(cache=True, nogil=True)
def _finalize(h):
    h = h ^ (h >> np.uint64(30))
    h = h * _M1
    h = h ^ (h >> np.uint64(27))
    h = h * _M2
    return h ^ (h >> np.uint64(31))


@njit(cache=True, nogil=True)
def hash_float_rows(X, k1, k2, add, out):
    """Fingerprint each row of the float64 array ``X`` into ``out`` (n, 2).

    Equal to ``_hash_words(_float_words(X), k1, k2, add, out)``: ``-0.0``
    hashes as ``0.0`` and every NaN as the canonical NaN.
    """
    n, d = X.shape
    words = np.empty(1, dtype=np.float64)
    as_int = words.view(np.uint64)
    for i in range(n):
        s0 = np.uint64(0)
        s1 = np.uint64(0)
        for j in range(d):
            x = X[i, j]
            if x != x:
                w = _CANONICAL_NAN
            else:
                words[0] = x + 0.0
                w = as_int[0]
            v = (w + add[j]) * k1[j]
            v ^= v >> np.uint64(31)
            v *= _M1
            v ^= v >> np.uint64(29)
            s0 += v
            v *= k2[j]
            v ^= v >> np.uint64(32)
            s1 += v
        out[i, 0] = _finalize(s0)
        out[i, 1] = _finalize(s1 ^ _GOLDEN)
