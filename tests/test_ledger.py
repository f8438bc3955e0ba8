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
    # the fingerprints it stored (keyed), and the public ones
    fp = np.r_[
        row_fingerprints(X[[3, 17]], key=ledger.fingerprint_key),
        row_fingerprints(X[[3, 17]]),
    ]
    assert (ledger.fingerprints()[[3, 17]] == fp[:2]).all()
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
        expected = row_fingerprints(
            np.array(remaining, dtype=float).reshape(-1, 1), key=ledger.fingerprint_key
        )
        assert sorted(map(bytes, stored)) == sorted(map(bytes, expected))


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


def test_nullable_columns_hash_like_their_values():
    # A nullable boolean or integer column hashes its values alike whether or
    # not the column holds a missing value (a request of a few rows often
    # holds none), and like the same values in a numpy column.
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "b": pd.array([True, None, False, True], dtype="boolean"),
            "i": pd.array([1, 2, None, 4], dtype="Int64"),
            "f": pd.array([0.5, None, 2.0, 1.0], dtype="Float64"),
            "s": ["x", "y", "z", "x"],
        }
    )
    full = row_fingerprints(df)
    for rows in ([0], [0, 3], [2, 1]):
        np.testing.assert_array_equal(row_fingerprints(df.iloc[rows]), full[rows])
    plain = pd.DataFrame(
        {"b": [True, True], "i": [1.0, 4.0], "f": [0.5, 1.0], "s": ["x", "x"]}
    )
    np.testing.assert_array_equal(row_fingerprints(plain), full[[0, 3]])


def test_dtypes_of_a_dataframe():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "a": [1.0, np.nan],
            "code": pd.Series(["02139", "10001"], dtype=object),
            "c": pd.Categorical(["u", "v"]),
            "n": [1, 2],
        }
    )
    ledger = TrainingLedger(df, keep_X=False)
    assert ledger.dtypes == {c: str(df[c].dtype) for c in df.columns}
    assert list(ledger.dtypes) == list(df.columns)
    # an array's by position (object here: the frame mixes types)
    assert TrainingLedger(df.to_numpy()).dtypes == {str(j): "object" for j in range(4)}
    X32 = np.zeros((2, 3), dtype=np.float32)
    assert TrainingLedger(X32).dtypes == {
        "0": "float32",
        "1": "float32",
        "2": "float32",
    }
    # kept through removals and saving
    ledger.remove(ledger.match(df.iloc[[0]]))
    assert pickle.loads(pickle.dumps(ledger)).dtypes == ledger.dtypes


# ------------------------------------------------------------ keyed fingerprints
# SipHash-2-4 (Aumasson & Bernstein, 2012), transcribed from the paper for any
# message length and both output sizes; checked against the paper's and the
# reference implementation's test vectors below.
_MASK = (1 << 64) - 1


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & _MASK


def _sip_round(v0, v1, v2, v3):
    v0 = (v0 + v1) & _MASK
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _MASK
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _MASK
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _MASK
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def _siphash(key, message, out128=False):
    k0 = int.from_bytes(key[:8], "little")
    k1 = int.from_bytes(key[8:16], "little")
    v = [
        k0 ^ 0x736F6D6570736575,
        k1 ^ 0x646F72616E646F6D ^ (0xEE if out128 else 0),
        k0 ^ 0x6C7967656E657261,
        k1 ^ 0x7465646279746573,
    ]
    n = len(message)
    tail = message[n - n % 8 :] + bytes(8 - n % 8)
    blocks = [
        int.from_bytes(message[i : i + 8], "little") for i in range(0, n - n % 8, 8)
    ]
    blocks.append(((n & 0xFF) << 56) | int.from_bytes(tail[:7], "little"))
    for m in blocks:
        v[3] ^= m
        v = list(_sip_round(*_sip_round(*v)))
        v[0] ^= m
    v[2] ^= 0xEE if out128 else 0xFF
    for _ in range(4):
        v = list(_sip_round(*v))
    out = (v[0] ^ v[1] ^ v[2] ^ v[3]).to_bytes(8, "little")
    if out128:
        v[1] ^= 0xDD
        for _ in range(4):
            v = list(_sip_round(*v))
        out += (v[0] ^ v[1] ^ v[2] ^ v[3]).to_bytes(8, "little")
    return out


def test_siphash_reference_gives_the_published_vectors():
    key = bytes(range(16))
    # the paper's example (Appendix A): 15 bytes 00..0e, read as a number
    assert _siphash(key, bytes(range(15)))[::-1].hex() == "a129ca6149be45e5"
    # the reference implementation's first vectors (empty message)
    assert _siphash(key, b"").hex() == "310e0edd47db6f72"
    assert _siphash(key, b"", out128=True).hex() == "a3817f04ba25a8e66df67214c7550293"


def _reference_keyed(X, key):
    # The format of a keyed fingerprint: SipHash-2-4-128 of the unkeyed
    # fingerprint's two lanes (16 bytes, little-endian), under a 128-bit key
    # derived from the ledger's 32-byte secret by BLAKE2b.
    import hashlib

    sip_key = hashlib.blake2b(key, digest_size=16, person=b"skunlearn-fp/1").digest()
    lanes = row_fingerprints(X).astype("<u8")
    tags = [_siphash(sip_key, row.tobytes(), out128=True) for row in lanes]
    return np.frombuffer(b"".join(tags), dtype="<u8").reshape(-1, 2)


@given(st.integers(0, 2**32 - 1), st.integers(1, 30), st.integers(1, 6))
def test_keyed_fingerprints_equal_the_reference(seed, n, d):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    key = rng.bytes(32)
    keyed = row_fingerprints(X, key=key)
    np.testing.assert_array_equal(keyed, _reference_keyed(X, key))
    ledger = TrainingLedger(X, _fingerprint_key=key)
    np.testing.assert_array_equal(ledger.fingerprints(), keyed)


def test_each_ledger_draws_its_own_key():
    X = np.random.RandomState(0).randn(200, 3)
    a, b = TrainingLedger(X), TrainingLedger(X)
    for ledger in (a, b):
        assert isinstance(ledger.fingerprint_key, bytes)
        assert len(ledger.fingerprint_key) == 32
    assert a.fingerprint_key != b.fingerprint_key
    # without the key, nothing of the stored fingerprints can be recomputed:
    # they are neither the public ones nor those under another key
    for other in (row_fingerprints(X), b.fingerprints()):
        assert not np.isin(a.fingerprints(), other).any()
    np.testing.assert_array_equal(
        a.fingerprints(), row_fingerprints(X, key=a.fingerprint_key)
    )
    # the same key builds the same ledger
    same = TrainingLedger(X, _fingerprint_key=a.fingerprint_key)
    np.testing.assert_array_equal(same.fingerprints(), a.fingerprints())


def test_the_key_stays_through_removal_compaction_and_saving():
    import copy

    rng = np.random.RandomState(0)
    X, y = rng.randn(100, 3), rng.randn(100)
    for compact in ("auto", "never"):
        ledger = TrainingLedger(X, y, compact=compact)
        key = ledger.fingerprint_key
        undo = ledger.remove(ledger.match(X[[5, 50]]))
        undo()
        assert ledger.fingerprint_key == key
        ledger.remove(ledger.match(X[[5, 50]]))
        ledger.compact()
        for copied in (
            ledger,
            pickle.loads(pickle.dumps(ledger)),
            copy.deepcopy(ledger),
        ):
            assert copied.fingerprint_key == key
            keep = np.delete(np.arange(100), [5, 50])
            fresh = TrainingLedger(
                X[keep], y[keep], compact=compact, _fingerprint_key=key
            )
            np.testing.assert_array_equal(copied.fingerprints(), fresh.fingerprints())
            assert copied.match(X[[7]]).rows.tolist() == [6]


def test_pinned_key_and_invalid_keys():
    from skunlearn._ledger import _pinned_fingerprint_key

    X = np.arange(6.0).reshape(3, 2)
    key = bytes(range(32))
    with _pinned_fingerprint_key(key):
        assert TrainingLedger(X).fingerprint_key == key
        with _pinned_fingerprint_key(None):
            assert TrainingLedger(X).fingerprint_key != key
        assert TrainingLedger(X).fingerprint_key == key
    assert TrainingLedger(X).fingerprint_key != key
    for bad in (b"short", "x" * 32, bytearray(32)):
        with pytest.raises(ValueError, match="32 bytes"):
            TrainingLedger(X, _fingerprint_key=bad)
        with pytest.raises(ValueError, match="32 bytes"):
            row_fingerprints(X, key=bad)


def test_a_ledger_saved_before_keys_matches_unkeyed():
    # Models saved by earlier releases have no key: their fingerprints are the
    # public ones, and requests against them are hashed alike.
    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 3), rng.randn(20)
    state = TrainingLedger(X, y).__getstate__()
    for name in ("fingerprint_key", "dtypes"):
        del state[name]
    fp = row_fingerprints(X)
    order = np.argsort(fp[:, 0], kind="stable")
    state.update(_key=fp[order, 0], _key2=fp[order, 1], _entry_row=order)
    state["_row_entry"] = np.argsort(order)
    old = TrainingLedger.__new__(TrainingLedger)
    old.__setstate__(state)
    assert old.fingerprint_key is None and old.dtypes is None
    assert old.match(X[[4, 9]], y[[4, 9]]).rows.tolist() == [4, 9]
    old.remove(old.match(X[[4]]))
    assert old.n_rows == 19


def _ledger_state(ledger):
    # (the room kept for appended rows stays in the process, see below)
    return {
        k: (v.copy() if isinstance(v, np.ndarray) else v)
        for k, v in vars(ledger).items()
        if k not in ("sample_props", "_X_room")
    } | {f"prop:{k}": v.copy() for k, v in ledger.sample_props.items()}


def _assert_state_equal(got, want):
    assert sorted(got) == sorted(want)
    for k in want:
        if isinstance(want[k], np.ndarray):
            np.testing.assert_array_equal(got[k], want[k], err_msg=k, strict=True)
        else:
            assert got[k] == want[k], k


@given(
    st.lists(st.integers(0, 5), min_size=2, max_size=30),
    st.lists(
        st.tuples(st.booleans(), st.lists(st.integers(0, 5), min_size=1, max_size=4)),
        max_size=6,
    ),
)
def test_appended_rows_match_and_compact_as_a_fit_on_all_rows(values, steps):
    # rows appended (partial_fit) and removed in any order: matching follows
    # the multiset of current rows, earliest copy first; once compacted, the
    # ledger equals, array for array, a fresh one on its rows in their order
    from skunlearn._ledger import _pinned_fingerprint_key

    def rows_of(vals):
        return np.array(vals, dtype=float).reshape(-1, 1)

    n = len(values)
    ledger = TrainingLedger(
        rows_of(values), np.arange(n), {"sample_weight": np.ones(n)},
        keep_X=True, compact="never",
    )  # fmt: skip
    current = [(v, i) for i, v in enumerate(values)]  # (value, target)
    nxt = len(values)
    for add, vals in steps:
        if add:
            before = _ledger_state(ledger)
            targets = np.arange(nxt, nxt + len(vals))
            undo = ledger.append(
                rows_of(vals), targets, {"sample_weight": np.full(len(vals), 2.0)}
            )
            assert ledger.n_rows == len(current) + len(vals)
            # each row's entry in the sorted index, kept as the inverse of it
            entries = np.arange(ledger._entry_row.size)
            np.testing.assert_array_equal(ledger._row_entry[ledger._entry_row], entries)
            # undo gives the ledger back as it was
            after = _ledger_state(ledger)
            undo()
            _assert_state_equal(_ledger_state(ledger), before)
            ledger.append(
                rows_of(vals), targets, {"sample_weight": np.full(len(vals), 2.0)}
            )
            _assert_state_equal(_ledger_state(ledger), after)
            current += [(v, t) for v, t in zip(vals, targets.tolist())]
            nxt += len(vals)
        else:
            v = vals[0]
            present = [t for (u, t) in current if u == v]
            if not present:
                with pytest.raises(UnknownRowsError):
                    ledger.match(rows_of([v]), np.array([0]))
                continue
            # without a target the earliest copy of several targets is
            # ambiguous: name the earliest's target
            m = ledger.match(rows_of([v]), np.array([present[0]]))
            assert ledger.y[m.rows].tolist() == [present[0]]
            ledger.remove(m)
            current.remove((v, present[0]))
    ledger.compact()
    with _pinned_fingerprint_key(ledger.fingerprint_key):
        fresh = TrainingLedger(
            rows_of([v for v, _ in current]),
            np.array([t for _, t in current], dtype=np.int64),
            {"sample_weight": np.array([1.0 if t < len(values) else 2.0
                                        for _, t in current])},
            keep_X=True, compact="never",
        )  # fmt: skip
    _assert_state_equal(_ledger_state(ledger), _ledger_state(fresh))


def test_append_refuses_what_the_ledger_does_not_keep():
    X = np.arange(6.0).reshape(3, 2)
    ledger = TrainingLedger(X, np.arange(3), {"sample_weight": np.ones(3)})
    with pytest.raises(ValueError, match="fit parameters"):
        ledger.append(X[:1], np.arange(1))
    with pytest.raises(ValueError, match="targets"):
        ledger.append(X[:1], None, {"sample_weight": np.ones(1)})
    assert ledger.n_rows == 3


def test_appended_rows_go_into_room_and_the_room_stays_in_the_process():
    # after the first append the rows live in a buffer with room for more:
    # later appends write into it (no copy of the stored rows), a rolled
    # back append zeroes what it wrote, deletions erase through the view,
    # and neither a pickle nor a copy carries the buffer
    import copy

    rng = np.random.RandomState(0)
    X = rng.randn(100, 3)
    ledger = TrainingLedger(X[:80], np.arange(80), keep_X=True, compact="never")
    ledger.append(X[80:81], np.arange(80, 81))
    room = ledger._X_room
    assert room.shape[0] >= 81 + 20 and ledger.X.base is room
    ledger.append(X[81:85], np.arange(81, 85))
    assert ledger._X_room is room and ledger.X.base is room
    np.testing.assert_array_equal(ledger.X, X[:85])
    undo = ledger.append(X[85:90], np.arange(85, 90))
    undo()
    assert ledger.X.shape[0] == 85 and ledger._X_room is room
    assert not room[85:90].any()
    ledger.remove(ledger.match(X[3:4]))
    assert not room[3].any()
    for other in (pickle.loads(pickle.dumps(ledger)), copy.copy(ledger)):
        assert "_X_room" not in vars(other)
    blob = pickle.dumps(ledger)
    assert X[86].tobytes() not in blob
    # a copy appends into a buffer of its own
    twin = copy.copy(ledger)
    twin.append(X[90:92], np.arange(90, 92))
    assert twin._X_room is not room
    np.testing.assert_array_equal(ledger.X[80:85], X[80:85])
    ledger.compact()
    assert "_X_room" not in vars(ledger)
