import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skunlearn._ledger import TrainingLedger, row_fingerprints
from skunlearn.exceptions import AmbiguousRowsError, UnknownRowsError


def test_fingerprints_compare_values_not_representations():
    a = row_fingerprints(np.array([[1.0, -0.0, np.nan]]))
    b = row_fingerprints(np.array([[1, 0, float("nan")]], dtype=object))
    c = row_fingerprints(np.array([[1.0, 0.0, -np.nan]]))
    d = row_fingerprints(np.array([[1.0, 0.0, 1.0]]))
    assert (a == b).all() and (a == c).all()
    assert not (a == d).all()


def test_fingerprints_depend_on_column_order():
    fp = row_fingerprints(np.array([[1.0, 2.0], [2.0, 1.0]]))
    assert not (fp[0] == fp[1]).all()


def test_fingerprints_of_dataframe_match_arrays():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "c": ["x", "y"]})
    fp = row_fingerprints(df)
    obj = row_fingerprints(df.to_numpy(dtype=object))
    assert (fp == obj).all()
    num = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    assert (row_fingerprints(num) == row_fingerprints(num.to_numpy())).all()


def test_fingerprints_stable_across_processes():
    X = np.random.RandomState(0).randn(5, 3)
    code = (
        "import numpy as np, sys; from skunlearn._ledger import row_fingerprints;"
        "X = np.random.RandomState(0).randn(5, 3);"
        "fp = row_fingerprints(np.c_[X.astype(object), ['a'] * 5]);"
        "sys.stdout.write(fp.tobytes().hex())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    ).stdout
    here = row_fingerprints(np.c_[X.astype(object), ["a"] * 5]).tobytes().hex()
    assert out == here


def test_fingerprints_sparse_equal_dense():
    sp = pytest.importorskip("scipy.sparse")
    X = np.array([[0.0, 1.0], [2.0, 0.0]])
    assert (row_fingerprints(sp.csr_matrix(X)) == row_fingerprints(X)).all()


def test_match_multiset_and_earliest_copy():
    X = np.array([[0.0], [1.0], [0.0], [2.0], [0.0]])
    ledger = TrainingLedger(X, np.zeros(5))
    m = ledger.match(np.array([[0.0], [0.0]]))
    assert sorted(m.rows.tolist()) == [0, 2]
    ledger.remove(m)
    # row ids are renumbered as in a fresh ledger of the retained rows: the
    # third copy (old row 4) is now row 2
    assert ledger.match(np.array([[0.0]])).rows.tolist() == [2]
    with pytest.raises(UnknownRowsError) as exc:
        ledger.match(np.array([[1.0], [0.0], [0.0]]))
    assert exc.value.positions.tolist() == [2]


def test_match_unknown_positions_and_message():
    ledger = TrainingLedger(np.arange(6.0).reshape(3, 2))
    with pytest.raises(UnknownRowsError, match=r"positions \[1, 2\]") as exc:
        ledger.match(np.array([[0.0, 1.0], [9.0, 9.0], [1.0, 0.0]]))
    assert isinstance(exc.value, ValueError)
    assert exc.value.positions.tolist() == [1, 2]


def test_match_with_targets_and_ambiguity():
    X = np.array([[1.0], [1.0], [2.0]])
    ledger = TrainingLedger(X, np.array([0, 1, 0]))
    assert ledger.match(np.array([[1.0]]), np.array([1])).rows.tolist() == [1]
    with pytest.raises(UnknownRowsError):
        ledger.match(np.array([[2.0]]), np.array([1]))
    with pytest.raises(AmbiguousRowsError):
        ledger.match(np.array([[1.0]]))
    # both copies requested: no ambiguity
    assert sorted(ledger.match(np.array([[1.0], [1.0]])).rows.tolist()) == [0, 1]


def test_removal_erases_fingerprints_and_payload():
    rng = np.random.RandomState(0)
    X = rng.randn(50, 4)
    y = rng.randn(50)
    ledger = TrainingLedger(X, y, {"sample_weight": rng.rand(50)}, compact="never")
    fp = row_fingerprints(X[[3, 17]])
    ledger.remove(ledger.match(X[[3, 17]]))
    blob = pickle.dumps(ledger)
    for lane in fp.ravel():
        assert lane.tobytes() not in blob
    assert y[3].tobytes() not in blob and y[17].tobytes() not in blob
    assert ledger.n_rows == 48


@given(
    st.lists(st.integers(0, 6), min_size=2, max_size=40),
    st.lists(st.lists(st.integers(0, 39), max_size=6), max_size=6),
    st.sampled_from(["auto", "never", "always"]),
)
def test_sequences_of_removals_follow_a_multiset(values, requests, compact):
    X = np.array(values, dtype=float).reshape(-1, 1)
    ledger = TrainingLedger(X, compact=compact)
    remaining = list(values)
    for request in requests:
        forget = [values[i % len(values)] for i in request]
        if not all(forget.count(v) <= remaining.count(v) for v in set(forget)):
            with pytest.raises(UnknownRowsError):
                ledger.match(np.array(forget, dtype=float).reshape(-1, 1))
            continue
        m = ledger.match(np.array(forget, dtype=float).reshape(-1, 1))
        assert m.n_rows == len(forget)
        ledger.remove(m)
        for v in forget:
            remaining.remove(v)
        assert ledger.n_rows == len(remaining)
        kept = ledger.retained()
        stored = ledger.fingerprints()[kept]
        assert sorted(map(bytes, stored)) == sorted(
            map(
                bytes, row_fingerprints(np.array(remaining, dtype=float).reshape(-1, 1))
            )
        )


# The fingerprint is a persistent format: a model saved today must match a
# request read tomorrow. The package hashes with compiled kernels; this numpy
# transcription of the same arithmetic is the specification they are held to.
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _reference_finalize(h):
    h = h ^ (h >> np.uint64(30))
    h = h * _M1
    h = h ^ (h >> np.uint64(27))
    h = h * _M2
    return h ^ (h >> np.uint64(31))


def _reference_fingerprints(X):
    from skunlearn._ledger import _column_constants, _float_words

    words = _float_words(X)
    k1, k2, add = _column_constants(words.shape[1])
    v = words + add
    v *= k1
    v ^= v >> np.uint64(31)
    v *= _M1
    v ^= v >> np.uint64(29)
    out = np.empty((words.shape[0], 2), dtype=np.uint64)
    out[:, 0] = v.sum(axis=1)
    v *= k2
    v ^= v >> np.uint64(32)
    out[:, 1] = v.sum(axis=1) ^ _GOLDEN
    return _reference_finalize(out)


def test_fingerprints_known_answers():
    # Computed by the first released ledger (numpy arithmetic): any change of
    # these values breaks matching against models saved before it.
    X = np.array([[0.0, 1.5, -2.0], [np.nan, -0.0, 1e300]])
    obj = np.array([[1, "a", None], [2.5, "\u00e9", True]], dtype=object)
    expected = {
        "numeric": [
            0xAA80D5FD9F2F6083, 0xB83AE2C25402E1CB,
            0x8EECA3C89DB6CF04, 0xCE239976E48EF028,
        ],
        "object": [
            0xA8E2790CC2942373, 0xD8804705CC7F1367,
            0xBD589687223695A9, 0x63E1A4323FE6690D,
        ],
    }  # fmt: skip
    assert row_fingerprints(X).ravel().tolist() == expected["numeric"]
    assert row_fingerprints(obj).ravel().tolist() == expected["object"]


@given(
    st.integers(1, 40),
    st.integers(1, 12),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["normal", "ints", "specials"]),
)
def test_compiled_fingerprints_equal_the_numpy_reference(n, d, seed, kind):
    # Numeric rows go through one compiled kernel, object and DataFrame
    # columns through another (on words): both must give the reference's bits,
    # or a row would stop matching itself when its dtype changes.
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * 10.0 ** rng.integers(-300, 300, size=(n, d))
    if kind == "ints":
        X = rng.integers(-(2**40), 2**40, size=(n, d))
    elif kind == "specials":
        pool = np.array([0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-310, 1.0])
        X = rng.choice(pool, size=(n, d))
    expected = _reference_fingerprints(X)
    np.testing.assert_array_equal(row_fingerprints(X), expected)
    np.testing.assert_array_equal(row_fingerprints(X.astype(object)), expected)
    np.testing.assert_array_equal(row_fingerprints(np.asfortranarray(X)), expected)


def test_compiled_finalizer_equals_the_reference_on_arrays():
    from skunlearn.utils._hash_kernels import finalize

    h = np.random.default_rng(0).integers(0, 2**63, size=1000, dtype=np.uint64)
    np.testing.assert_array_equal(finalize(h), _reference_finalize(h))
