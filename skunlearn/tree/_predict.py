"""Prediction: the leaf a row reaches, and the sum of the leaves' values."""

# SPDX-License-Identifier: BSD-3-Clause

from numba import njit

from ._params import FEAT, LEFT, RIGHT, THR, VAL


@njit(cache=True, nogil=True)
def _child(NI, NF, X, r, node):
    # the child of internal ``node`` that row ``r`` of X goes to
    if X[r, NI[node, FEAT]] <= NF[node, THR]:
        return NI[node, LEFT]
    return NI[node, RIGHT]


@njit(cache=True, nogil=True)
def apply(NI, NF, X, out):
    for r in range(X.shape[0]):
        node = 0
        while NI[node, LEFT] >= 0:
            node = _child(NI, NF, X, r, node)
        out[r] = node


@njit(cache=True, nogil=True)
def accumulate_values(NI, NF, X, out):
    """``out += value of the leaf`` each row of ``X`` reaches."""
    V = out.shape[1]
    for r in range(X.shape[0]):
        node = 0
        while NI[node, LEFT] >= 0:
            node = _child(NI, NF, X, r, node)
        for c in range(V):
            out[r, c] += NF[node, VAL + c]
