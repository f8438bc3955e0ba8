"""The residue check itself: what it finds and what it must not report."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest

from skunlearn.utils.estimator_checks import assert_no_residue


class _Holder:
    def __init__(self, **kw):
        self.__dict__.update(kw)


@pytest.mark.parametrize(
    "kept",
    [
        [0.123456789],  # a Python float (pickled big-endian)
        {"row": (1.5, 0.123456789)},
        np.array([2.0, 0.123456789]),
        np.array([[0.123456789 + 0j]]),
        np.array([0.123456789]).view(np.uint8),  # the bytes, not a float array
        np.float64(0.123456789),
    ],
)
def test_a_kept_value_is_found(kept):
    with pytest.raises(AssertionError, match="1 value"):
        assert_no_residue(_Holder(kept=kept), [0.123456789, 7.25])


def test_a_kept_float32_value_is_found():
    v = float(np.float32(0.3))
    with pytest.raises(AssertionError, match="1 value"):
        assert_no_residue(_Holder(w=np.array([1.0, v], dtype=np.float32)), [v])


def test_a_tensor_value_is_found():
    torch = pytest.importorskip("torch")
    v = float(np.float32(-0.625))
    with pytest.raises(AssertionError, match="1 value"):
        assert_no_residue(_Holder(w=torch.tensor([[0.5, v]])), [v])
    assert_no_residue(_Holder(w=torch.tensor([[0.5, 0.25]])), [v])


def test_bytes_across_two_elements_are_not_a_value():
    # the float32 value's 4 bytes, split across two elements of an array:
    # no element holds the value (found so in a net's weights, where a byte
    # search reported a value the model does not hold)
    v = float(np.float32(-0.10819195))
    b = np.float32(v).tobytes()
    w = np.frombuffer(b"\x00\x00" + b + b"\x00\x00", dtype=np.float32).copy()
    assert v not in w.astype(np.float64)
    assert b in w.tobytes()
    assert_no_residue(_Holder(w=w), [v])
    assert_no_residue(_Holder(w=w.astype(np.float64)), [v])
