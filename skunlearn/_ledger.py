"""The training ledger: what a fitted estimator remembers of its training rows.

Every unlearning estimator keeps one :class:`TrainingLedger`. It holds a
128-bit fingerprint of each training row (always), the targets and per-row
fit parameters such as ``sample_weight`` (needed to subtract a row's
contribution), and the rows themselves only when the strategy must retrain on
them. Forget requests are matched against it by content, with multiset
semantics, in ``O(k log n)`` for ``k`` forget rows and ``n`` training rows.

The fingerprints are keyed: each ledger draws a secret of its own
(:attr:`TrainingLedger.fingerprint_key`) and its fingerprints are a keyed
pseudorandom function of the row, so a fingerprint alone does not confirm a
candidate row, and the same row has unrelated fingerprints in two models.
Randomness that exactness depends on (SISA shards, tree draws, DC-k-means
leaves) uses the unkeyed :func:`row_fingerprints` of the row instead, so that
a refit with the same seed draws the same.
"""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import contextvars
import copy
import functools
import hashlib
import numbers
import secrets

import numpy as np
import scipy.sparse as sp

from .exceptions import AmbiguousRowsError, UnknownRowsError
from .utils._hash_kernels import (
    _CANONICAL_NAN,
    hash_float_rows,
    hash_word_rows,
    siphash128_lanes,
)
from .utils._sklearn_compat import _safe_indexing

__all__ = ["ForgetMatch", "TrainingLedger", "row_fingerprints"]

# Fixed, public constants: fingerprints must be reproducible across processes
# and machines (a model saved today must match a request read tomorrow).
_SEED = 0x5EED_0F_F0_26
_CHUNK = 8192
# Below this many rows, a ledger compacts at every request (see needs_compaction).
_DEFER_MIN_ROWS = 2**16
# Length of a ledger's fingerprint key (a 256-bit secret).
_KEY_BYTES = 32
# A key that ledgers built in this context take instead of drawing one (see
# _pinned_fingerprint_key).
_PINNED_KEY = contextvars.ContextVar("skunlearn_pinned_fingerprint_key", default=None)


def _check_fingerprint_key(key):
    if not isinstance(key, bytes) or len(key) != _KEY_BYTES:
        raise ValueError(
            f"A fingerprint key is {_KEY_BYTES} bytes; got "
            f"{type(key).__name__}"
            + (f" of length {len(key)}." if isinstance(key, bytes) else ".")
        )
    return key


def _new_fingerprint_key(key=None):
    """``key`` when given, else the pinned key, else 32 fresh random bytes."""
    if key is None:
        key = _PINNED_KEY.get()
    if key is None:
        return secrets.token_bytes(_KEY_BYTES)
    return _check_fingerprint_key(key)


@contextlib.contextmanager
def _pinned_fingerprint_key(key):
    """Make the ledgers built inside the block use ``key`` (tests and refits).

    A model that refits itself to forget (a tree's fallback) keeps its key
    this way, and a test compares a model's ledger with a fresh fit's built
    under the model's key, fingerprints included. The pin is per thread and
    per context (a :class:`contextvars.ContextVar`).
    """
    token = _PINNED_KEY.set(None if key is None else _check_fingerprint_key(key))
    try:
        yield
    finally:
        _PINNED_KEY.reset(token)


@functools.lru_cache(maxsize=64)
def _sip_key(key):
    # The SipHash key (128 bits) is derived from the whole 256-bit secret,
    # under a label of its own, so that the secret may key other things.
    # Cached: a one-row request costs a few microseconds in all.
    digest = hashlib.blake2b(key, digest_size=16, person=b"skunlearn-fp/1").digest()
    k0, k1 = np.frombuffer(digest, dtype="<u8")
    return np.uint64(k0), np.uint64(k1)


def _apply_key(fp, key):
    """Key the unkeyed fingerprints ``fp`` (n, 2) in place; ``key`` None: as is."""
    if key is not None and fp.shape[0]:
        siphash128_lanes(fp, *_sip_key(key))
    return fp


@functools.lru_cache(maxsize=64)
def _column_constants(n_columns):
    # Cached: building a Generator costs more than hashing a small request.
    rng = np.random.default_rng(_SEED + n_columns)
    k1 = rng.integers(1, 2**63, size=n_columns, dtype=np.uint64) | np.uint64(1)
    k2 = rng.integers(1, 2**63, size=n_columns, dtype=np.uint64) | np.uint64(1)
    add = rng.integers(1, 2**63, size=n_columns, dtype=np.uint64)
    for a in (k1, k2, add):
        a.flags.writeable = False
    return k1, k2, add


def _hash_words(words, k1, k2, add, out):
    """Hash a (m, d) uint64 block of words row by row into ``out`` (m, 2)."""
    hash_word_rows(np.ascontiguousarray(words), k1, k2, add, out)


def _float_words(block):
    """Canonical 64-bit words of a float block: -0.0 == 0.0, one NaN pattern."""
    block = np.asarray(block, dtype=np.float64) + 0.0  # copy; turns -0.0 into 0.0
    nan = np.isnan(block)
    words = np.ascontiguousarray(block).view(np.uint64)
    if nan.any():
        words[nan] = _CANONICAL_NAN
    return words


def _object_word(value, cache):
    # Numbers hash like the float they equal, so that the same row given as an
    # object array or as a numeric array has the same fingerprint.
    key = (type(value), value) if not _is_missing(value) else None
    try:
        return cache[key]
    except (KeyError, TypeError):
        pass
    if key is None:
        word = _CANONICAL_NAN
    elif isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        word = _float_words(np.array([float(value)]))[0]
    else:
        if isinstance(value, str):
            data = b"s" + value.encode("utf-8", "surrogatepass")
        elif isinstance(value, bytes):
            data = b"b" + value
        else:
            data = f"{type(value).__qualname__}:{value!r}".encode()
        word = np.frombuffer(
            hashlib.blake2b(data, digest_size=8).digest(), dtype=np.uint64
        )[0]
    try:
        cache[key] = word
    except TypeError:
        pass
    return word


def _is_missing(value):
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pd.NA-like
    except (TypeError, ValueError):
        return False


def _object_words(column):
    cache = {}
    return np.fromiter(
        (_object_word(v, cache) for v in column), dtype=np.uint64, count=len(column)
    )


def _column_words(col):
    """64-bit words of one column (a 1-D array or pandas Series)."""
    dtype = getattr(col, "dtype", None)
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    if (
        not isinstance(dtype, np.dtype | None)
        and isinstance(numpy_dtype, np.dtype)
        and numpy_dtype.kind in "biuf"
    ):
        # Nullable numbers and booleans (Int64, Float64, boolean): as floats,
        # NA as NaN, like the fast path of an all-numeric frame; read as an
        # object array, a boolean column would hash True one way with NA
        # in the column and another way without.
        return _float_words(col.to_numpy(dtype=np.float64, na_value=np.nan))
    try:
        arr = np.asarray(col)
    except (TypeError, ValueError):
        arr = np.asarray(list(col), dtype=object)
    if dtype is not None and str(dtype) == "category":
        arr = np.asarray(col, dtype=object)
    if arr.dtype.kind in "biuf":
        return _float_words(arr)
    return _object_words(arr.astype(object, copy=False))


def row_fingerprints(X, key=None):
    """Compute a 128-bit fingerprint of each row of ``X``.

    Two rows get the same fingerprint when they are equal as a model sees them:
    numbers compare by value whatever their dtype (``1``, ``1.0``, ``True``),
    ``-0.0`` equals ``0.0``, all NaNs are alike, strings compare by text. The
    fingerprint is stable across processes and machines.

    Parameters
    ----------
    X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
        The rows. A 1-D array is taken as one column.

    key : bytes of length 32, default=None
        A secret: the fingerprints are then SipHash-2-4 (a keyed pseudorandom
        function) of the unkeyed ones, which nobody can compute for a row
        without the key. None: the unkeyed, public fingerprints (for
        randomness derived from a row's content, the same in every model).

    Returns
    -------
    fingerprints : ndarray of shape (n_samples, 2), dtype=uint64
        Two 64-bit lanes per row.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn._ledger import row_fingerprints
    >>> fp = row_fingerprints(np.array([[1.0, 2.0], [1, 2], [2.0, 1.0]]))
    >>> bool((fp[0] == fp[1]).all()), bool((fp[0] == fp[2]).all())
    (True, False)
    """
    if key is not None:
        _check_fingerprint_key(key)
    return _apply_key(_unkeyed_fingerprints(X), key)


def _unkeyed_fingerprints(X):
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # pandas DataFrame
        n, d = X.shape
        k1, k2, add = _column_constants(d)
        dtypes = list(X.dtypes)
        if all(getattr(t, "kind", "O") in "biuf" for t in dtypes):
            return _fingerprints_numeric(X.to_numpy(dtype=np.float64), k1, k2, add)
        words = np.empty((n, d), dtype=np.uint64)
        for j in range(d):
            words[:, j] = _column_words(X.iloc[:, j])
        out = np.empty((n, 2), dtype=np.uint64)
        for s in range(0, n, _CHUNK):
            _hash_words(words[s : s + _CHUNK], k1, k2, add, out[s : s + _CHUNK])
        return out
    if sp.issparse(X):
        X = sp.csr_array(X)
        n, d = X.shape
        k1, k2, add = _column_constants(d)
        out = np.empty((n, 2), dtype=np.uint64)
        for s in range(0, n, _CHUNK):
            block = X[s : s + _CHUNK].toarray()
            _hash_words(_float_words(block), k1, k2, add, out[s : s + _CHUNK])
        return out
    if not hasattr(X, "dtype") or not hasattr(X, "shape"):
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):
            X = np.asarray(X, dtype=object)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array of rows, got {X.ndim} dimensions.")
    n, d = X.shape
    k1, k2, add = _column_constants(d)
    if X.dtype.kind in "biuf":
        return _fingerprints_numeric(X, k1, k2, add)
    words = np.empty((n, d), dtype=np.uint64)
    for j in range(d):
        words[:, j] = _column_words(X[:, j])
    out = np.empty((n, 2), dtype=np.uint64)
    for s in range(0, n, _CHUNK):
        _hash_words(words[s : s + _CHUNK], k1, k2, add, out[s : s + _CHUNK])
    return out


def _fingerprints_numeric(X, k1, k2, add):
    # The same bits as ``_hash_words(_float_words(X))``, without the copy.
    X = np.asarray(X, dtype=np.float64)
    out = np.empty((X.shape[0], 2), dtype=np.uint64)
    hash_float_rows(X, k1, k2, add, out)
    return out


def _target_equal_one(stored, row, y):
    """Whether ``stored[row]`` equals the one target in ``y`` (scalar path)."""
    if stored.ndim == 1 and stored.dtype.kind in "iuf" and y.dtype.kind in "iuf":
        a, b = stored[row], y[0]
        return bool(a == b or (a != a and b != b))
    return bool(_targets_equal(stored[row : row + 1], y[:1]).all())


def _targets_equal(a, b):
    """Row-wise equality of two target arrays of the same shape."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        eq = (a == b) | (np.isnan(a.astype(float)) & np.isnan(b.astype(float)))
    else:
        eq = np.array(
            [x == z for x, z in zip(a.ravel().tolist(), b.ravel().tolist())],
            dtype=bool,
        ).reshape(a.shape)
    if eq.ndim > 1:
        eq = eq.all(axis=tuple(range(1, eq.ndim)))
    return eq


class ForgetMatch:
    """The training rows a forget request matched.

    Attributes
    ----------
    rows : ndarray of int
        Ledger row ids (positions among the rows currently kept, in training
        order) of the rows to forget, one per forget row, in the order of the
        forget set.
    """

    def __init__(self, rows, entries):
        self.rows = rows
        self._entries = entries

    @property
    def n_rows(self):
        """Number of training rows the request removes."""
        return int(self.rows.size)


class TrainingLedger:
    """Fingerprints (and what a strategy needs) of the rows a model was fit on.

    Rows are kept in training order. Each has a 128-bit content fingerprint; a
    sorted index of the fingerprints makes matching a forget request a
    vectorized binary search. Forgetting a row erases its fingerprint and its
    per-row payload (target, weight, the row itself when kept) in place, so
    nothing of it stays behind; the space is reclaimed by compaction.

    Parameters
    ----------
    X : {array-like, sparse matrix, dataframe} of shape (n_samples, n_features)
        Training rows.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Targets, kept so that a forget request may omit them and a strategy can
        subtract the forgotten rows' contribution.

    sample_props : dict of str to array-like, default=None
        Per-row fit parameters (e.g. ``sample_weight``), kept and forgotten with
        their rows.

    keep_X : bool, default=False
        Keep the rows themselves (for strategies that retrain on them).

    compact : {"auto", "always", "never"}, default="auto"
        When to compact storage after a removal. Owners that index their own
        state by ledger row id use ``"never"`` and call :meth:`compact`
        themselves.

    _fingerprint_key : bytes of length 32, default=None
        Private: the key of the fingerprints, for a ledger that must equal
        another's (default: the pinned key of
        :func:`_pinned_fingerprint_key`, else 32 random bytes).

    Attributes
    ----------
    fingerprint_key : bytes or None
        The ledger's secret (32 random bytes drawn at construction, from
        :func:`secrets.token_bytes`): every fingerprint it stores or computes
        is keyed with it, so that without it a row's fingerprint cannot be
        computed, and fingerprints of one model say nothing of another's. It
        is kept through removals and compaction and saved with the model
        (anyone holding the whole saved model holds the key too). None for a
        ledger saved before keys existed: its fingerprints are unkeyed.

    dtypes : dict of str or None
        For rows given as a DataFrame, ``{column name: str(dtype)}`` in column
        order (what a request read from a file is converted to); for a 2-D
        NumPy array, ``{"0": str(dtype), "1": ...}`` by column position (a
        float32 model's request is read as float32); None for other
        containers.
    """

    def __init__(
        self,
        X,
        y=None,
        sample_props=None,
        *,
        keep_X=False,
        compact="auto",
        _fingerprint_key=None,
    ):
        # The secret lives as long as the ledger: compaction and removals keep
        # it, and a saved model carries it (its requests must match).
        self.fingerprint_key = _new_fingerprint_key(_fingerprint_key)
        fp = row_fingerprints(X, key=self.fingerprint_key)
        n = fp.shape[0]
        order = np.argsort(fp[:, 0], kind="stable")
        self._key = fp[order, 0]
        self._key2 = fp[order, 1]
        self._entry_row = order.astype(np.intp)
        self._row_entry = np.empty(n, dtype=np.intp)
        self._row_entry[order] = np.arange(n, dtype=np.intp)
        self._alive = np.ones(n, dtype=bool)
        self.n_rows = n
        self.y = None if y is None else np.array(y, copy=True)
        self.sample_props = {
            k: np.array(v, copy=True) for k, v in (sample_props or {}).items()
        }
        # Column dtypes of a DataFrame, so that a request read from a file
        # (CSV) can be read the way the training rows were.
        self.dtypes = _frame_dtypes(X)
        # The ledger owns its copy of the rows: a caller mutating its array,
        # DataFrame or sparse matrix after fit must not change what the model
        # remembers (or what it forgets).
        self.X = _own_copy(X) if keep_X else None
        if compact not in ("auto", "always", "never"):
            raise ValueError(f"Unknown compact policy {compact!r}.")
        # Kept rows are erased in place when they are a numpy array; other
        # containers (DataFrames, sparse matrices) are compacted at once.
        erasable = self.X is None or isinstance(self.X, np.ndarray)
        self.compact_policy = (
            "always" if compact == "auto" and not erasable else compact
        )

    # ------------------------------------------------------------------ views
    @property
    def n_stored(self):
        """Number of row slots, forgotten ones not yet compacted included."""
        return self._alive.size

    @property
    def alive(self):
        """Boolean mask over row slots of the rows still in the training set."""
        return self._alive

    def fingerprints(self):
        """Fingerprints of the stored rows in row order, shape (n_stored, 2).

        They are keyed with :attr:`fingerprint_key`: compare them only with
        ``row_fingerprints(X, key=ledger.fingerprint_key)``, and never draw
        randomness that a refit must reproduce from them.
        """
        out = np.empty((self.n_stored, 2), dtype=np.uint64)
        out[:, 0] = self._key[self._row_entry]
        out[:, 1] = self._key2[self._row_entry]
        return out

    def retained(self, exclude=None):
        """Row ids of the rows kept after forgetting ``exclude``."""
        keep = self._alive.copy()
        if exclude is not None:
            keep[exclude] = False
        return np.flatnonzero(keep)

    def take(self, rows):
        """Stored payload of ``rows``: ``(X, y, sample_props)`` (``X`` may be None)."""
        X = None if self.X is None else _safe_indexing(self.X, rows)
        y = None if self.y is None else self.y[rows]
        props = {k: v[rows] for k, v in self.sample_props.items()}
        return X, y, props

    # --------------------------------------------------------------- matching
    def match(self, X, y=None):
        """Find the training rows equal to the rows of ``X`` (and ``y``).

        Multiset semantics: a row given twice removes two copies. Among equal
        copies the earliest in training order is taken.

        Parameters
        ----------
        X : {array-like, sparse matrix, dataframe} of shape (n_forget, n_features)
            Rows to forget, validated like ``predict`` input.

        y : array-like of shape (n_forget,) or (n_forget, n_outputs), default=None
            Their targets. When given, a row matches only a training row with
            the same target.

        Returns
        -------
        match : ForgetMatch

        Raises
        ------
        UnknownRowsError
            If some rows are not among the remaining training rows.
        AmbiguousRowsError
            If ``y`` is omitted and a row occurs with several targets.
        """
        fp = row_fingerprints(X, key=self.fingerprint_key)
        k = fp.shape[0]
        if k == 0:
            empty = np.empty(0, dtype=np.intp)
            return ForgetMatch(empty, empty)
        if y is not None and self.y is None:
            raise ValueError("y was given to unlearn but the model was fit without y.")
        # Group equal forget rows (same fingerprint and, when given, target) and
        # rank them within their group: the r-th copy takes the r-th entry.
        if y is not None:
            y_arr = np.asarray(y)
        if k == 1:
            # The common request: one row whose fingerprint occurs once in the
            # index (what the fast path below finds, in scalar operations).
            f0 = fp[0, 0]
            key = self._key
            lo = int(key.searchsorted(f0))
            if (
                lo < key.size
                and key[lo] == f0
                and (lo + 1 == key.size or key[lo + 1] != f0)
                and self._key2[lo] == fp[0, 1]
            ):
                row = int(self._entry_row[lo])
                if self._alive[row] and (
                    y is None or _target_equal_one(self.y, row, y_arr)
                ):
                    return ForgetMatch(
                        np.array([row], dtype=np.intp), np.array([lo], dtype=np.intp)
                    )
            # One row is one group (what the grouping below computes for k=1).
            inverse = np.zeros(1, dtype=np.intp)
            rank = np.zeros(1, dtype=np.intp)
            group_count = np.ones(1, dtype=np.intp)
        else:
            group_key = fp
            if y is not None:
                yfp = row_fingerprints(y_arr.reshape(k, -1))
                group_key = np.concatenate([fp, yfp], axis=1)
            group_key = np.ascontiguousarray(group_key)
            as_void = group_key.view(
                np.dtype((np.void, group_key.dtype.itemsize * group_key.shape[1]))
            )
            _, inverse, counts = np.unique(
                as_void.ravel(), return_inverse=True, return_counts=True
            )
            inverse = inverse.ravel()
            order = np.argsort(inverse, kind="stable")
            starts = np.zeros(counts.size, dtype=np.intp)
            np.cumsum(counts[:-1], out=starts[1:])
            rank = np.empty(k, dtype=np.intp)
            rank[order] = np.arange(k) - starts[inverse[order]]
            group_count = counts[inverse]

        lo = np.searchsorted(self._key, fp[:, 0], side="left")
        hi = np.searchsorted(self._key, fp[:, 0], side="right")
        entries = np.full(k, -1, dtype=np.intp)
        # Fast path: the fingerprint occurs exactly as often as requested and
        # every occurrence is alive, with the same second lane and target.
        cand = lo + rank
        simple = (hi - lo) == group_count
        idx = np.flatnonzero(simple)
        if idx.size:
            c = cand[idx]
            ok = (self._key2[c] == fp[idx, 1]) & self._alive[self._entry_row[c]]
            if y is not None and ok.any():
                ok_idx = np.flatnonzero(ok)
                ok[ok_idx] = _targets_equal(
                    self.y[self._entry_row[c[ok_idx]]], y_arr[idx[ok_idx]]
                )
            if y is None and ok.any():
                # Several copies with different targets: which one is meant?
                multi = ok & (group_count[idx] > 1)
                ok &= ~multi
            entries[idx[ok]] = c[ok]
        # Middle path: a lone forget row whose fingerprint also fills erased
        # slots (forgetting overwrites a key with its left neighbour's) has
        # one live candidate with its second lane; the loop below would take
        # it too, unless its target differs (left to the loop).
        missing = entries < 0
        idx = (
            np.flatnonzero(missing & (group_count == 1) & (hi > lo) & (hi - lo <= 8))
            if missing.any()
            else missing[:0]
        )
        if idx.size:
            span = lo[idx, None] + np.arange(8)
            inside = span < hi[idx, None]
            span = np.where(inside, span, lo[idx, None])
            good = (
                inside
                & (self._key2[span] == fp[idx, 1:2])
                & self._alive[self._entry_row[span]]
            )
            one = good.sum(axis=1) == 1
            idx, c = idx[one], span[one][good[one]]
            if y is not None and idx.size:
                same = _targets_equal(self.y[self._entry_row[c]], y_arr[idx])
                idx, c = idx[same], c[same]
            entries[idx] = c
        slow = np.flatnonzero(entries < 0)
        unknown = []
        if slow.size:
            done_groups = {}
            for i in slow:
                g = inverse[i]
                if g in done_groups:
                    continue
                members = np.flatnonzero(inverse == g)
                members = members[np.argsort(rank[members], kind="stable")]
                j = members[0]
                span = np.arange(lo[j], hi[j])
                span = span[
                    (self._key2[span] == fp[j, 1]) & self._alive[self._entry_row[span]]
                ]
                if y is not None:
                    span = span[
                        _targets_equal(
                            self.y[self._entry_row[span]],
                            np.repeat(y_arr[j : j + 1], span.size, axis=0),
                        )
                    ]
                elif self.y is not None and span.size > members.size:
                    ys = self.y[self._entry_row[span]]
                    if not _targets_equal(ys, np.repeat(ys[:1], ys.shape[0], 0)).all():
                        raise AmbiguousRowsError(
                            f"Row {j} of X_forget occurs in the training data with "
                            "different targets; pass y_forget to say which to "
                            "forget. Nothing was forgotten."
                        )
                # earliest rows in training order first
                span = span[np.argsort(self._entry_row[span], kind="stable")]
                n_take = min(span.size, members.size)
                entries[members[:n_take]] = span[:n_take]
                unknown.extend(members[n_take:].tolist())
                done_groups[g] = True
        if unknown:
            raise UnknownRowsError(np.sort(np.asarray(unknown)), k)
        return ForgetMatch(self._entry_row[entries], entries)

    # ---------------------------------------------------------------- removal
    def remove(self, match, *, compacted=None):
        """Forget the matched rows.

        Only the owner calls this, while it publishes a request: it erases the
        rows' fingerprints and payload, and compacts (see
        :meth:`needs_compaction`). The returned callable undoes all of it, as
        long as nothing else changed the ledger meanwhile: the owner calls it
        when the request is rolled back, and drops it once the request stands
        (it is the last place that holds the forgotten rows' payload).

        Parameters
        ----------
        match : ForgetMatch
            As returned by :meth:`match` on this ledger, before any other removal.

        compacted : tuple, default=None
            ``(X, y, sample_props)`` of the retained rows when the caller has
            them already (saves a copy when compacting).

        Returns
        -------
        undo : callable
            Restores the ledger as it was before the call.
        """
        entries = np.sort(match._entries)
        rows = match.rows
        if entries.size == 0:
            return _nothing_to_undo
        before = dict(vars(self))  # compaction replaces arrays; these are kept
        saved_keys = (self._key[entries], self._key2[entries])
        saved_y = None if self.y is None else self.y[rows]
        saved_props = {k: v[rows] for k, v in self.sample_props.items()}
        saved_X = self.X[rows] if isinstance(self.X, np.ndarray) else None

        def undo():
            vars(self).clear()
            vars(self).update(before)
            self._key[entries], self._key2[entries] = saved_keys
            self._alive[rows] = True
            if saved_y is not None:
                self.y[rows] = saved_y
            for k, v in saved_props.items():
                self.sample_props[k][rows] = v
            if saved_X is not None:
                self.X[rows] = saved_X

        try:
            # Overwrite each forgotten fingerprint with the nearest key on its left
            # that is not being forgotten now: the index stays sorted and the
            # forgotten fingerprints are gone from memory.
            if entries.size == 1:  # the common request, in scalar operations
                e = int(entries[0])
                self._key[e] = self._key[e - 1] if e > 0 else 0
                self._key2[e] = self._key2[e - 1] if e > 0 else 0
            else:
                new_run = np.ones(entries.size, dtype=bool)
                new_run[1:] = (entries[1:] - entries[:-1]) != 1
                run_id = np.cumsum(new_run) - 1
                src = (entries[new_run] - 1)[run_id]
                fill1 = np.where(src >= 0, self._key[np.maximum(src, 0)], np.uint64(0))
                fill2 = np.where(src >= 0, self._key2[np.maximum(src, 0)], np.uint64(0))
                self._key[entries] = fill1
                self._key2[entries] = fill2
            self._alive[rows] = False
            self.n_rows -= rows.size
            if self.y is not None:
                self.y[rows] = (
                    None if self.y.dtype == object else np.zeros(1, self.y.dtype)[0]
                )
            for v in self.sample_props.values():
                v[rows] = 0
            if isinstance(self.X, np.ndarray):
                self.X[rows] = 0
            if self.needs_compaction(given=compacted is not None):
                self.compact(compacted)
        except BaseException:  # a removal that fails half way is undone
            undo()
            raise
        return undo

    # -------------------------------------------------------------- insertion
    def append(self, X, y=None, sample_props=None):
        """Add rows after the stored ones (new row ids ``n_stored`` onwards).

        The ledger becomes what a fit on its rows followed by ``X`` records:
        the new fingerprints enter the sorted index after every equal one
        (equal rows keep training order), their payload is appended. Only the
        owner calls this, while it learns the rows; kept rows must be a 2-D
        numpy array (the owner's validated rows), and ``sample_props`` must
        hold the ledger's keys. The returned callable undoes all of it: every
        array is replaced, not written.

        Parameters
        ----------
        X : ndarray of shape (n_new, n_features)
            New rows.

        y : ndarray of shape (n_new,), default=None
            Their targets (required when the ledger keeps targets).

        sample_props : dict of str to ndarray, default=None
            Their per-row fit parameters, one array per key of
            :attr:`sample_props`.

        Returns
        -------
        undo : callable
            Restores the ledger as it was before the call.
        """
        props = dict(sample_props or {})
        if sorted(props) != sorted(self.sample_props):
            raise ValueError(
                f"The new rows have the fit parameters {sorted(props)}; the "
                f"ledger keeps {sorted(self.sample_props)}."
            )
        if (y is None) != (self.y is None):
            raise ValueError("The new rows' targets must be given exactly when kept.")
        if self.X is not None and not isinstance(self.X, np.ndarray):
            raise TypeError("Rows can be appended only to rows kept as an array.")
        before = dict(vars(self))
        fp = row_fingerprints(X, key=self.fingerprint_key)
        k, n = fp.shape[0], self._alive.size
        # the new keys in row order among equal ones, each after the stored
        # equal keys (a fit sorts the fingerprints stably by row id)
        new_order = np.argsort(fp[:, 0], kind="stable")
        keys = fp[new_order]
        at = np.searchsorted(self._key, keys[:, 0], side="right")
        entry_row = np.insert(self._entry_row, at, n + new_order)
        # each stored row's entry moves on by the new keys that go in at or
        # before it (one pass in row order: a scatter of every row to its
        # entry costs a cache miss a row, most of an append at 1M rows); new
        # key j goes in at at[j] + j
        old = self._row_entry
        row_entry = np.empty(n + k, dtype=np.intp)
        if k == 1:
            np.add(old, old >= at[0], out=row_entry[:n])
        else:
            np.add(old, np.searchsorted(at, old, side="right"), out=row_entry[:n])
        row_entry[n + new_order] = at + np.arange(k)
        state = {
            "_key": np.insert(self._key, at, keys[:, 0]),
            "_key2": np.insert(self._key2, at, keys[:, 1]),
            "_entry_row": entry_row,
            "_row_entry": row_entry,
            "_alive": np.r_[self._alive, np.ones(k, dtype=bool)],
            "n_rows": self.n_rows + k,
            "sample_props": {
                name: np.concatenate([v, np.asarray(props[name], dtype=v.dtype)])
                for name, v in self.sample_props.items()
            },
        }
        if self.y is not None:
            state["y"] = np.concatenate([self.y, np.asarray(y, dtype=self.y.dtype)])
        room = self.__dict__.get("_X_room")
        if self.X is not None:
            state["X"], state["_X_room"] = self._rows_appended(X)
        vars(self).update(state)

        def undo():
            vars(self).clear()
            vars(self).update(before)
            if room is not None and state.get("_X_room") is room:
                room[n : n + k] = 0  # the rows written into the room

        return undo

    def _rows_appended(self, X):
        """The stored rows followed by ``X``, and the buffer that holds them.

        Kept rows live in a buffer with room for a quarter more (``_X_room``,
        made at the first append; ``X`` is a view of it): an append writes the
        new rows into the room and takes a longer view, instead of copying
        every stored row (at 800,000 rows of 20 features, 128 MB). The
        buffer never leaves the process (see :meth:`_outgoing_state`).
        """
        n, k = self.X.shape[0], X.shape[0]
        room = self.__dict__.get("_X_room")
        if room is None or self.X.base is not room or room.shape[0] < n + k:
            rows = max(n + k, n + n // 4 + 16)
            room = np.empty((rows,) + self.X.shape[1:], dtype=self.X.dtype)
            room[:n] = self.X
        room[n : n + k] = X
        return room[: n + k], room

    def needs_compaction(self, given=False):
        """Whether the forgotten rows' slots must go now.

        A ledger drops them at once (then it equals, array for array, the
        ledger of a fresh fit on the retained rows), except when that would
        cost much more than the request itself: a large ledger (at least
        ``2**16`` rows) whose erased slots are at most 1/64 of its rows keeps
        them until more accumulate. Their fingerprints and payload are erased
        already, and anything that leaves the process (pickle, skops,
        ``copy``) sees the compacted ledger. Owners that index their own state
        by row id (``compact="never"``) compact when they renumber it.
        """
        if self.compact_policy == "never":
            return False
        if self.compact_policy == "always" or given:
            return self._alive.size != self.n_rows
        return self.due()

    def due(self, min_rows=None):
        """Whether erased slots should go now, by the rule of :meth:`needs_compaction`.

        Owners that compact the ledger with their own state (``compact="never"``)
        ask this after each request; ``min_rows`` (default ``2**16``) is where
        they start deferring, lower when their per-row state is large.
        """
        dead = self._alive.size - self.n_rows
        if dead == 0:
            return False
        min_rows = _DEFER_MIN_ROWS if min_rows is None else min_rows
        return self._alive.size < min_rows or dead * 64 > self._alive.size

    def new_ids(self, dtype=np.intp):
        """Row ids after :meth:`compact`: ``new[old]``, or -1 for an erased slot.

        Owners that number their own state by row id renumber it with this
        before they compact the ledger.
        """
        return _renumbering(self._alive.size, np.flatnonzero(self._alive), dtype)

    def compact(self, compacted=None):
        """Drop the slots of forgotten rows; row ids are renumbered.

        Returns
        -------
        kept : ndarray of int
            Old row ids of the kept rows, in order (new id ``i`` was ``kept[i]``).
        """
        kept = np.flatnonzero(self._alive)
        if kept.size == self._alive.size:
            return kept
        vars(self).update(self._compacted_state(kept, compacted))
        vars(self).pop("_X_room", None)  # the rows were copied
        return kept

    def _compacted_state(self, kept, compacted=None):
        """The instance dictionary of this ledger without its erased slots."""
        new_id = _renumbering(self._alive.size, kept)
        live_entries = self._row_entry[kept]
        live_entries.sort()
        entry_row = new_id[self._entry_row[live_entries]]
        row_entry = np.empty(kept.size, dtype=np.intp)
        row_entry[entry_row] = np.arange(kept.size, dtype=np.intp)
        if compacted is not None:
            X, y, props = compacted
        else:
            X, y, props = self.take(kept)
        state = dict(vars(self))
        state.pop("_X_room", None)  # the rows are copied: the buffer goes
        state.update(
            _key=self._key[live_entries],
            _key2=self._key2[live_entries],
            _entry_row=entry_row,
            _row_entry=row_entry,
            _alive=np.ones(kept.size, dtype=bool),
            X=None if self.X is None else _drop_positions(X),
            y=y,
            sample_props=props,
        )
        return state

    def _outgoing_state(self):
        # What leaves the process never holds an erased slot (owners that
        # number their own state by row id renumber it when they compact),
        # nor the room kept for appended rows.
        if self.n_rows == self._alive.size or self.compact_policy == "never":
            state = dict(vars(self))
            state.pop("_X_room", None)
            return state
        return self._compacted_state(np.flatnonzero(self._alive))

    def __copy__(self):
        new = type(self).__new__(type(self))
        vars(new).update(self._outgoing_state())
        return new

    def __deepcopy__(self, memo):
        # A copy in the process keeps its DataFrame as it is (no encoding).
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        vars(new).update(copy.deepcopy(self._outgoing_state(), memo))
        return new

    def __getstate__(self):
        state = self._outgoing_state()
        # Rows, targets and weights are saved as plain numpy arrays (a
        # DataFrame as its columns, strings as UTF-8 bytes), which skops saves
        # and loads without trusting pandas or running code, and in a fraction
        # of the size of an object array.
        state["X"] = _encode_rows(state["X"])
        state["y"] = _encode_array(state["y"])
        state["sample_props"] = {
            k: _encode_array(v) for k, v in state["sample_props"].items()
        }
        return state

    def __setstate__(self, state):
        state = dict(state)
        state["X"] = _decode_rows(state.get("X"))
        state["y"] = _decode_array(state.get("y"))
        state["sample_props"] = {
            k: _decode_array(v) for k, v in state.get("sample_props", {}).items()
        }
        # ledgers saved before these existed: unkeyed fingerprints, no dtypes
        state.setdefault("fingerprint_key", None)
        state.setdefault("dtypes", None)
        vars(self).update(state)


def _frame_dtypes(X):
    """``{column: str(dtype)}`` of a DataFrame (by position for an array)."""
    if isinstance(X, np.ndarray) and X.ndim == 2:
        return {str(j): str(X.dtype) for j in range(X.shape[1])}
    if not (hasattr(X, "iloc") and hasattr(X, "columns")):
        return None
    return {c: str(t) for c, t in zip(X.columns, X.dtypes)}


def _renumbering(n_slots, kept, dtype=np.intp):
    new_id = np.full(n_slots, -1, dtype=dtype)
    new_id[kept] = np.arange(kept.size, dtype=dtype)
    return new_id


def _nothing_to_undo():
    pass


def _own_copy(X):
    """A copy of training rows that the caller can no longer change."""
    if hasattr(X, "iloc"):
        return _drop_positions(X.copy())
    if sp.issparse(X):
        return X.copy()
    if isinstance(X, list):
        return list(X)
    return np.array(X, copy=True)


def _drop_positions(X):
    """``X`` with a fresh ``RangeIndex`` when it is a DataFrame.

    The caller's row labels are not features: kept, they would carry ids (an
    e-mail as index) and, after compaction, the positions of forgotten rows.
    """
    if hasattr(X, "iloc") and hasattr(X, "reset_index"):
        return X.reset_index(drop=True)
    return X


# ------------------------------------------------------------------ saving
# A saved ledger holds numpy arrays of numbers, booleans and bytes, lists and
# dicts of them, and strings: what skops saves natively. Object arrays and
# DataFrames are encoded as tagged dicts (the tag names the format) and
# rebuilt on load. Every encoding round-trips exactly (values, dtypes and the
# Python type of each object), or the array is saved as it is.
_FRAME_TAG = "skunlearn.frame/1"
_OBJECTS_TAG = "skunlearn.objects/1"

# codes of the values of an object array
_STR, _NONE, _NAN, _FLOAT, _INT, _BOOL, _PD_NA = range(7)
_MIN_INT, _MAX_INT = -(2**63), 2**63 - 1


def _object_code(v):
    t = type(v)
    if t is str:
        return _STR
    if v is None:
        return _NONE
    if t is float:
        return _NAN if v != v else _FLOAT
    if t is int:
        return _INT if _MIN_INT <= v <= _MAX_INT else -1
    if t is bool:
        return _BOOL
    if t.__module__.startswith("pandas") and t.__name__ == "NAType":
        return _PD_NA
    return -1


def _encode_array(a):
    """An object ndarray as a tagged dict of plain arrays; anything else as is."""
    if not isinstance(a, np.ndarray) or a.dtype != object:
        return a
    flat = a.ravel(order="C")
    codes = np.fromiter(map(_object_code, flat), dtype=np.int8, count=flat.size)
    if codes.size and codes.min() < 0:
        return a  # other objects: saved as they are (pickle; skops may refuse)
    strings = flat[codes == _STR]
    encoded = [v.encode("utf-8", "surrogatepass") for v in strings]
    lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
    return {
        "format": _OBJECTS_TAG,
        "shape": list(a.shape),
        "codes": codes,
        "text": np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(),
        # the narrowest unsigned type (strings are short)
        "text_lengths": lengths.astype(np.min_scalar_type(lengths.max(initial=0))),
        "floats": flat[codes == _FLOAT].astype(np.float64),
        "ints": flat[codes == _INT].astype(np.int64),
        "bools": flat[codes == _BOOL].astype(bool),
    }


def _is_tagged(state, tag):
    return isinstance(state, dict) and state.get("format") == tag


def _decode_array(state):
    if not isinstance(state, dict):
        return state
    if not _is_tagged(state, _OBJECTS_TAG):
        raise ValueError(
            f"Unknown format of saved ledger data: {state.get('format')!r}."
        )
    codes = np.asarray(state["codes"])
    out = np.empty(codes.size, dtype=object)
    out[codes == _NONE] = None
    out[codes == _NAN] = np.nan
    if (codes == _PD_NA).any():
        import pandas as pd

        out[codes == _PD_NA] = pd.NA
    for code, values, kind in (
        (_FLOAT, state["floats"], float),
        (_INT, state["ints"], int),
        (_BOOL, state["bools"], bool),
    ):
        where = np.flatnonzero(codes == code)
        if where.size:
            out[where] = [kind(v) for v in np.asarray(values).tolist()]
    where = np.flatnonzero(codes == _STR)
    if where.size:
        text = np.asarray(state["text"], dtype=np.uint8).tobytes()
        ends = np.cumsum(state["text_lengths"], dtype=np.int64).tolist()
        starts = [0] + ends[:-1]
        out[where] = [
            text[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends)
        ]
    return out.reshape(tuple(state["shape"]))


def _encode_rows(X):
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        return {
            "format": _FRAME_TAG,
            "n_rows": int(X.shape[0]),
            "columns": list(X.columns),
            "data": [_encode_column(X.iloc[:, j]) for j in range(X.shape[1])],
        }
    return _encode_array(X)


def _decode_rows(state):
    if not _is_tagged(state, _FRAME_TAG):
        return _decode_array(state)
    import pandas as pd

    n = int(state["n_rows"])
    columns = [_decode_column(c) for c in state["data"]]
    frame = pd.DataFrame(dict(enumerate(columns)), index=pd.RangeIndex(n))
    frame.columns = pd.Index(state["columns"], tupleize_cols=False)
    return frame


def _encode_column(col):
    """One DataFrame column as a dict of plain arrays and strings."""
    import pandas as pd

    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return {
            "kind": "category",
            "codes": np.array(col.cat.codes, copy=True),
            "categories": _encode_column(pd.Series(dtype.categories)),
            "ordered": bool(dtype.ordered),
        }
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = col.dt.tz_convert("UTC").dt.tz_localize(None)
        return {"kind": "datetimetz", "dtype": str(dtype), "values": utc.to_numpy()}
    if isinstance(dtype, np.dtype):
        return {"kind": "numpy", "values": _encode_array(col.to_numpy(copy=True))}
    # Extension dtypes (strings, nullable numbers and booleans, ...): values
    # and a mask of the missing ones; the dtype decides how NA reads back.
    missing = np.asarray(col.isna(), dtype=bool)
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    if numpy_dtype is not None and numpy_dtype.kind in "biuf":
        values = col.to_numpy(dtype=numpy_dtype, na_value=numpy_dtype.type(0))
    else:
        values = col.to_numpy(dtype=object, na_value=None)
    return {
        "kind": "extension",
        "dtype": str(dtype),
        "values": _encode_array(values),
        "missing": missing,
    }


def _decode_column(state):
    import pandas as pd

    kind = state["kind"]
    if kind == "category":
        categories = pd.Index(_decode_column(state["categories"]))
        dtype = pd.CategoricalDtype(categories, ordered=state["ordered"])
        return pd.Series(pd.Categorical.from_codes(state["codes"], dtype=dtype))
    if kind == "datetimetz":
        dtype = pd.api.types.pandas_dtype(state["dtype"])
        utc = pd.Series(state["values"]).dt.tz_localize("UTC")
        return utc.dt.tz_convert(dtype.tz).astype(dtype)
    values = _decode_array(state["values"])
    if kind == "numpy":
        return pd.Series(values, dtype=values.dtype, copy=False)
    if kind != "extension":
        raise ValueError(f"Unknown kind of saved column: {kind!r}.")
    values = np.asarray(values, dtype=object)
    values[np.asarray(state["missing"], dtype=bool)] = None
    dtype = pd.api.types.pandas_dtype(state["dtype"])
    return pd.Series(pd.array(values, dtype=dtype))
