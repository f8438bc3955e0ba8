"""Unit tests of the forest engine's compiled kernels (``skunlearn.tree._kernels``).

The small kernels (hashing, bootstrap multiplicities, membership, gathering,
candidate selection, packed counts, node values) are driven with hand-built
inputs and checked against a numpy reference. The kernels that grow and
update trees are driven through small real models and checked node by node
against a recount from the training rows (numpy, from ``X``, ``y``, the
sample weights and the bootstrap multiplicities ``K.row_mult`` draws from the
row keys the model stores): after ``fit``, after rows are removed in place
(the state before any compaction renumbers the rows), and, for subtrees a
deletion regrows, against the same nodes of a same-seed fit on the retained
rows.
"""

import math

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from sklearn.base import clone

from skunlearn._ledger import _pinned_fingerprint_key
from skunlearn.ensemble import UnlearningForestClassifier, UnlearningForestRegressor
from skunlearn.tree import UnlearningTreeClassifier, UnlearningTreeRegressor
from skunlearn.tree import _kernels as K
from skunlearn.tree._base import _BaseUnlearningForest, _tree_key

# ------------------------------------------------------------ numpy reference
# splitmix64's finalizer (Steele, Lea and Flood; the constants of Stafford's
# variant 13), written out here rather than read from the module under test
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(0x9E3779B97F4A7C15)
_NO_XT = np.empty((0, 0), dtype=np.float64)
_NO_POS = np.empty(0, dtype=np.int64)


def np_mix(h):
    # on 1-d arrays (uint64 products wrap around without a warning)
    h = np.array(h, dtype=np.uint64, ndmin=1)
    h ^= h >> np.uint64(30)
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    h ^= h >> np.uint64(31)
    return h


def np_h2(a, b):
    """``K.h2`` in numpy: an array, or a scalar for scalar arguments."""
    a, b = np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64)
    out = np_mix(a ^ np_mix(b + _G))
    return out[0] if np.ndim(a) == 0 and np.ndim(b) == 0 else out


def seq_sum(a):
    # a sum taken one term after another, as the kernels take it
    s = 0.0
    for v in np.asarray(a, dtype=np.float64).tolist():
        s += v
    return s


def assert_equal(got, want, where):
    """``assert_array_equal`` (NaN equal to NaN), fast when they are equal."""
    got, want = np.asarray(got), np.asarray(want)
    if want.ndim == 0:
        want = np.full(got.shape, want)
    if got.shape != want.shape or not np.array_equal(got, want, equal_nan=True):
        assert_array_equal(got, want, err_msg=where)


def mults(tkey, rk, boot):
    return np.array([K.row_mult(tkey, r, boot) for r in rk], dtype=np.int64)


def reachable(NI):
    """Node ids reachable from the root, in preorder."""
    out, stack = [], [0]
    while stack:
        v = stack.pop()
        out.append(v)
        if NI[v, K.LEFT] >= 0:
            stack += [int(NI[v, K.RIGHT]), int(NI[v, K.LEFT])]
    return out


def routed_rows(tree, X, member):
    """Rows (ascending) that reach each node of ``tree``, routed through X."""
    NI, NF = tree.NI, tree.NF
    rows = {0: np.flatnonzero(member)}
    for v in reachable(NI):
        if NI[v, K.LEFT] >= 0:
            r = rows[v]
            go = X[r, NI[v, K.FEAT]] <= NF[v, K.THR]
            rows[int(NI[v, K.LEFT])] = r[go]
            rows[int(NI[v, K.RIGHT])] = r[~go]
    return rows


class Layout:
    """Where a slot (or a candidate buffer) keeps each statistic."""

    def __init__(self, P):
        self.mtry, self.k, self.S = int(P.mtry), int(P.n_thresholds), int(P.stat_width)
        self.k2 = 2 * self.k
        (
            self.o_cst,
            self.o_tot,
            self.o_ceq,
            self.o_perm,
            self.o_cv,
            self.o_comp,
            self.o_nc,
            self.o_f,
            self.W,
        ) = K.offsets(self.mtry, self.k, self.S)

    def tot(self, buf):
        return buf[self.o_tot : self.o_tot + self.S]

    def feature(self, buf, j):
        k2, S = self.k2, self.S
        return {
            "f": int(buf[self.o_f + j]),
            "nc": int(buf[self.o_nc + j]),
            "comp": buf[self.o_comp + j],
            "cv": buf[self.o_cv + j * k2 : self.o_cv + (j + 1) * k2],
            "perm": buf[self.o_perm + j * k2 : self.o_perm + (j + 1) * k2],
            "ceq": buf[self.o_ceq + j * k2 : self.o_ceq + (j + 1) * k2],
            "cst": buf[self.o_cst + j * k2 * S : self.o_cst + (j + 1) * k2 * S].reshape(
                k2, S
            ),
        }


class Context:
    """A fitted model's data, parameters and per-tree multiplicities."""

    def __init__(self, model):
        self.model = model
        self.X, self.yc, self.yr, self.rk, sw = model._data()
        self.sw = sw if sw.shape[0] > 1 else np.full(self.X.shape[0], sw[0])
        self.P = model._params()
        self.lay = Layout(self.P)
        self.clf = bool(self.P.classifier)
        # integer weights of a classifier: every count and sum is exact
        self.exact = bool(self.P.exact_counts)
        self.alive = model.ledger_.alive

    def weights(self, tree):
        mult = mults(tree.tkey, self.rk, self.P.boot_rate)
        return mult, mult * self.sw

    def totals(self, rows, w):
        """Node totals of ``rows``: rows, then class weights or w, w y, w y^2."""
        S = self.lay.S
        tot = np.zeros(S)
        tot[0] = rows.size
        wr = w[rows]
        if self.clf:
            yc = self.yc[rows]
            for c in range(S - 1):
                tot[1 + c] = seq_sum(wr[yc == c])
        else:
            y = self.yr[rows]
            tot[1] = seq_sum(wr)
            tot[2] = seq_sum(wr * y)
            tot[3] = seq_sum(wr * y * y)
        return tot

    def pure(self, rows, tot):
        if self.clf:
            return int((tot[1:] > 0).sum()) <= 1
        y = self.yr[rows]
        return bool(np.all(y == y[0])) if rows.size else True

    def node_values(self, tot):
        """(weight, impurity, values) of a node with totals ``tot``."""
        P = self.P
        if self.clf:
            C = int(P.n_values)
            w = seq_sum(tot[1:])
            if w <= 0:
                return w, 0.0, np.full(C, 1.0 / C)
            p = tot[1:] / w
            if P.criterion == K.GINI:
                return w, 1.0 - seq_sum(p * p), p
            return w, -seq_sum([pc * np.log2(pc) for pc in p if pc > 0]), p
        w = tot[1]
        if w <= 0:
            return w, 0.0, np.zeros(1)
        mean = tot[2] / w
        return w, max(tot[3] / w - mean * mean, 0.0), np.array([mean])

    def fresh_candidates(self, rows, w, nodekey):
        """The candidate buffer :func:`K.eval_splits` computes on ``rows``."""
        buf = np.zeros(self.lay.W)
        wr = w[rows].astype(np.float64)
        m = rows.size
        pure = K.eval_tot(rows, wr, m, self.yc, self.yr, self.P, buf)
        scr = K.new_scratch(m, self.P)
        K.eval_splits(
            rows, wr, m, self.X, self.yc, self.yr, self.P, nodekey, buf, _NO_XT,
            _NO_POS, scr, _NO_POS,
        )  # fmt: skip
        return buf, pure


def expected_features(nodekey, p, mtry):
    if mtry >= p:
        return np.arange(p)
    h = np_h2(np.uint64(nodekey) ^ K._FEATURE_SALT, np.arange(p, dtype=np.uint64))
    return np.sort(np.lexsort((np.arange(p), h))[:mtry])


def expected_stored(values, nodekey, f, k2):
    """The ``k2`` distinct values of smallest (hash, value), ascending; complete."""
    u = np.unique(values)
    fkey = np_h2(np.uint64(nodekey) ^ K._VALUE_SALT, np.uint64(f))
    h = np_h2(fkey, u.view(np.uint64))
    take = np.lexsort((u, h))[:k2]
    stored = np.sort(u[take])
    hs = np_h2(fkey, stored.view(np.uint64))
    return stored, np.lexsort((stored, hs)), u.size <= k2


def left_stats(ctx, rows, w, f, values):
    """Statistics of ``x <= v`` and the count of ``x == v`` for each v."""
    xs = ctx.X[rows, f]
    left = xs[None, :] <= values[:, None]
    wr = w[rows]
    S = ctx.lay.S
    out = np.zeros((values.size, S))
    out[:, 0] = left.sum(axis=1)
    if ctx.clf:
        for c in range(S - 1):
            out[:, 1 + c] = left @ (wr * (ctx.yc[rows] == c))
    else:
        y = ctx.yr[rows]
        out[:, 1] = left @ wr
        out[:, 2] = left @ (wr * y)
        out[:, 3] = left @ (wr * y * y)
    return out, (xs[None, :] == values[:, None]).sum(axis=1)


def assert_stats_equal(ctx, got, want, where):
    if ctx.exact:
        assert_equal(got, want, where)
    elif not np.allclose(got, want, rtol=1e-10, atol=1e-9):
        assert_allclose(got, want, rtol=1e-10, atol=1e-9, err_msg=where)


def brute_choose(ctx, buf):
    """:func:`K.choose` written out: best valid split of the active candidates."""
    lay, P = ctx.lay, ctx.P
    tot = lay.tot(buf)
    n = tot[0]
    msl, crit = int(P.min_samples_leaf), int(P.criterion)
    best, bj, bt = -math.inf, -1, -1
    for j in range(lay.mtry):
        fe = lay.feature(buf, j)
        active = []
        for r in range(fe["nc"]):
            t = int(fe["perm"][r])
            if fe["ceq"][t] > 0:
                active.append(t)
            if len(active) == lay.k:
                break
        for t in sorted(active):
            left = fe["cst"][t]
            if left[0] < msl or n - left[0] < msl:
                continue
            right = tot - left
            if crit == K.MSE:
                sc = sum(
                    s * s / w if w > 0 else 0.0 for w, s in (left[1:3], right[1:3])
                )
            elif crit == K.GINI:
                sc = 0.0
                for side in (left, right):
                    wsum, ssq = 0.0, 0.0
                    for v in side[1:].tolist():
                        wsum += v
                        ssq += v * v
                    sc += ssq / wsum if wsum > 0 else 0.0
            else:
                sc = 0.0
                for side in (left, right):
                    wsum = seq_sum(side[1:])
                    if wsum > 0:
                        sc += seq_sum(
                            [v * math.log(v / wsum) for v in side[1:] if v > 0]
                        )
            if sc > best:
                best, bj, bt = sc, j, t
    return bj, bt


def check_candidates(ctx, buf, rows, w, nodekey, where):
    """A candidate buffer from ``rows`` equals a numpy recount of them."""
    lay = ctx.lay
    p = int(ctx.P.n_features)
    feats = expected_features(nodekey, p, lay.mtry)
    assert_equal(buf[lay.o_f : lay.o_f + lay.mtry], feats, where)
    for j, f in enumerate(feats.tolist()):
        fe = lay.feature(buf, j)
        stored, perm, complete = expected_stored(ctx.X[rows, f], nodekey, f, lay.k2)
        nc = stored.size
        assert fe["nc"] == nc, where
        assert fe["comp"] == float(complete), where
        assert_equal(fe["cv"][:nc], stored, where)
        assert np.isnan(fe["cv"][nc:]).all(), where
        assert_equal(fe["perm"][:nc], perm, where)
        assert_equal(fe["perm"][nc:], 0, where)
        cst, ceq = left_stats(ctx, rows, w, f, stored)
        assert_equal(fe["ceq"][:nc], ceq, where)
        assert_stats_equal(ctx, fe["cst"][:nc], cst, where)


def check_slot(ctx, sd, rows, w, tot, nodekey, where):
    """A node's cached slot after removals: its present values are recounts."""
    lay = ctx.lay
    assert_equal(lay.tot(sd), tot, where)
    for j in range(lay.mtry):
        fe = lay.feature(sd, j)
        nc = fe["nc"]
        cv = fe["cv"][:nc]
        gone = np.isnan(cv)
        # an erased value lost its last row; a kept one has rows
        assert_equal(fe["ceq"][:nc][gone], 0, where)
        kept = cv[~gone]
        cst, ceq = left_stats(ctx, rows, w, fe["f"], kept)
        assert (ceq > 0).all(), where
        assert_equal(fe["ceq"][:nc][~gone], ceq, where)
        assert_equal(fe["cst"][:nc][~gone], cst, where)
        if fe["comp"] == 1:
            present = np.unique(ctx.X[rows, fe["f"]])
            assert_equal(np.sort(kept), present, where)
        else:
            # the kept values are the node's first in (hash, value) order,
            # at least the k the search takes (removals and insertions keep
            # a prefix of that order; fewer than k: evaluated again)
            values = ctx.X[rows, fe["f"]]
            first, _, _ = expected_stored(values, nodekey, fe["f"], kept.size)
            assert_equal(np.sort(kept), first, where)
            assert kept.size >= min(lay.k, np.unique(values).size), where


def check_tree(ctx, t, removed):
    """Every reachable node of tree ``t`` equals a recount of its rows.

    Returns the number of nodes with a slot (checked). ``removed``: rows were
    taken out in place, so a slot may hold erased values.
    """
    model, P, lay = ctx.model, ctx.P, ctx.lay
    tree = model.trees_[t]
    NI, NF, NK, NT = tree.NI, tree.NF, tree.NK, tree.NT
    mult, w = ctx.weights(tree)
    member = ctx.alive & (mult > 0)
    routes = routed_rows(tree, ctx.X, member)
    crit_exact = not (ctx.clf and P.criterion == K.ENTROPY)
    md, mss, msl = int(P.max_depth), int(P.min_samples_split), int(P.min_samples_leaf)
    assert tree.tkey == np_h2(np.uint64(model.seed_), np.uint64(tree.index))
    assert NK[0] == np_h2(tree.tkey, np.uint64(0x7EE))
    assert NI[0, K.PARENT] == -1 and NI[0, K.DEPTH] == 0
    n_slots = 0
    for v, rows in routes.items():
        where = f"tree {t}, node {v}"
        s, e = NI[v, K.START], NI[v, K.END]
        live = tree.order[s:e].astype(np.int64)
        live = live[ctx.alive[live]]
        # the node's range holds the rows routed to it (and dead ids)
        assert_equal(np.sort(live), rows, where)
        assert NI[v, K.NROWS] == rows.size, where
        tot = ctx.totals(rows, w)
        assert_equal(NT[v], tot, where)
        weight, imp, values = ctx.node_values(tot)
        assert NF[v, K.WEIGHT] == weight, where
        assert_equal(NF[v, K.VAL : K.VAL + values.size], values, where)
        if crit_exact:
            assert NF[v, K.IMP] == imp, where
        else:
            assert_allclose(NF[v, K.IMP], imp, rtol=1e-12, atol=1e-15, err_msg=where)
        pure = ctx.pure(rows, tot)
        leafcond = NI[v, K.DEPTH] >= md or rows.size < mss or rows.size < 2 * msl
        leafcond = leafcond or pure
        leaf = NI[v, K.LEFT] < 0
        if leaf:
            assert NI[v, K.KIND] == (1 if leafcond else 2), where
            assert NI[v, K.SLOT] == -1, where
            if leafcond:
                continue
        else:
            assert NI[v, K.KIND] == 0 and not leafcond, where
            left, right = int(NI[v, K.LEFT]), int(NI[v, K.RIGHT])
            for child, side in ((left, 1), (right, 2)):
                assert NI[child, K.PARENT] == v, where
                assert NI[child, K.DEPTH] == NI[v, K.DEPTH] + 1, where
                assert NK[child] == np_h2(NK[v], np.uint64(side)), where
            # a node's range is its children's, left then right; after a
            # removal, a regrown child's range shrinks to its live rows and
            # dead ids fill the rest
            ls, le = NI[left, K.START], NI[left, K.END]
            rs, re = NI[right, K.START], NI[right, K.END]
            assert ls == s and le <= rs and re <= e, where
            gaps = np.r_[tree.order[le:rs], tree.order[re:e]].astype(np.int64)
            assert not ctx.alive[gaps].any(), where
            if not removed:
                assert le == rs and re == e, where
        # the split: what a search on the node's rows finds
        buf, kpure = ctx.fresh_candidates(rows, w, NK[v])
        assert kpure == pure, where
        assert_equal(lay.tot(buf), tot, where)
        check_candidates(ctx, buf, rows, w, NK[v], where)
        bj, bt = K.choose(buf, P)
        assert (bj, bt) == brute_choose(ctx, buf), where
        if leaf:
            assert bj == -1, where  # no valid split
            continue
        fe = lay.feature(buf, bj)
        assert (fe["f"], fe["cv"][bt]) == (NI[v, K.FEAT], NF[v, K.THR]), where
        slot = NI[v, K.SLOT]
        if slot >= 0:
            n_slots += 1
            sd = tree.SD[slot]
            if removed:
                check_slot(ctx, sd, rows, w, tot, NK[v], where)
                sj, st = K.choose(sd, P)
                sfe = lay.feature(sd, sj)
                assert (sfe["f"], sfe["cv"][st]) == (fe["f"], fe["cv"][bt]), where
            else:
                # the slot a fit keeps is the search's buffer, bit for bit
                assert_equal(sd.view(np.uint64), buf.view(np.uint64), where)
        elif not removed:
            # slots exactly at the large nodes of models with exact counts
            assert not (P.exact_counts and rows.size >= P.cache_min_rows), where
    return n_slots


def check_model(model, removed=False):
    model._finish_pending()  # the subtrees the requests cleared grow now
    ctx = Context(model)
    return sum(check_tree(ctx, t, removed) for t in range(len(model.trees_)))


# ------------------------------------------------------------------- models
def make_data(n, kind, seed=0, weights=None, p=5):
    rng = np.random.RandomState(seed)
    # rounded: repeated values, several rows per stored candidate
    X = rng.randn(n, p).round(1)
    if kind == "clf":
        y = (X[:, 0] + 0.6 * rng.randn(n) > 0).astype(int) + (X[:, 1] > 0.8)
    else:
        y = (X[:, 0] - 2 * X[:, 1] + 0.3 * rng.randn(n)).round(2)
    sw = None
    if weights == "int":
        sw = rng.randint(0, 4, n).astype(float)
    elif weights == "float":
        sw = rng.rand(n) + 0.1
    return X, y, sw


CASES = {
    "tree_clf_gini": (UnlearningTreeClassifier(max_features=3, random_state=0), None),
    "tree_reg": (
        UnlearningTreeRegressor(max_features=3, max_depth=7, random_state=1),
        None,
    ),
    "forest_clf_bootstrap": (
        UnlearningForestClassifier(3, random_state=2, n_jobs=1),
        None,
    ),
    "forest_clf_entropy_no_bootstrap": (
        UnlearningForestClassifier(
            3, criterion="entropy", bootstrap=False, random_state=3, n_jobs=1
        ),
        None,
    ),
    "forest_clf_max_samples_int_weights": (
        UnlearningForestClassifier(3, max_samples=0.3, random_state=4, n_jobs=1),
        "int",
    ),
    "forest_clf_float_weights": (
        UnlearningForestClassifier(3, max_depth=6, random_state=5, n_jobs=1),
        "float",
    ),
    "forest_reg_bootstrap": (
        UnlearningForestRegressor(
            3, max_depth=7, min_samples_leaf=3, random_state=6, n_jobs=1
        ),
        None,
    ),
    "forest_reg_max_samples_int_weights": (
        UnlearningForestRegressor(
            3, max_depth=8, max_samples=0.3, random_state=7, n_jobs=1
        ),
        "int",
    ),
}


def fit_case(name, n):
    est, weights = CASES[name]
    X, y, sw = make_data(n, "clf" if est._is_classifier else "reg", weights=weights)
    return clone(est).fit(X, y, sample_weight=sw), X, y, sw


@pytest.fixture
def rebuilt(monkeypatch):
    """Keep the model's row ids between requests, and record cleared subtrees.

    Compaction (renumbering the rows as a refit does) is deferred, so that
    the trees a request leaves are those its kernels wrote. Returns a list
    that receives ``(tree object, tree index, rebuilt roots, their keys)`` per
    tree (the roots a request cleared; they grow at the next read).
    """
    monkeypatch.setattr(_BaseUnlearningForest, "_compact_min_rows", 0)
    log = []
    original = _BaseUnlearningForest._rebuild

    def spy(self, tree, nodes, *args, **kwargs):
        # a request's or an insertion's clearing in a compacted copy (not
        # the later growth's)
        if kwargs.get("defer"):
            nodes = np.array(nodes, dtype=np.int64)
            log.append((tree, tree.index, nodes, tree.NK[nodes].copy()))
        return original(self, tree, nodes, *args, **kwargs)

    # a deletion's or an insertion's clearing in the trees themselves, in
    # its chunk's kernel call
    trees = {}

    def phase_spy(phase):
        def run(self, chunk, req):
            for _, tree, _ in chunk:
                trees[id(tree.NI)] = tree
            return phase(self, chunk, req)

        return run

    def kernel_spy(kernel):
        def run(*args):
            out = kernel(*args)
            rebuild, bptr = out[0], out[1]
            NIs, NKs, which, meta_before = args[0], args[2], args[8], args[-1]
            for q, t in enumerate(which.tolist()):
                roots = rebuild[bptr[q] : bptr[q + 1]]
                if roots.size and meta_before[q, 0] >= 0:
                    tree = trees[id(NIs[t])]
                    log.append((tree, tree.index, roots.copy(), NKs[t][roots].copy()))
            return out

        return run

    monkeypatch.setattr(_BaseUnlearningForest, "_rebuild", spy)
    for phase, kernel in (
        ("_phase_a", "delete_trees"),
        ("_phase_insert", "insert_trees"),
    ):
        original_phase = getattr(_BaseUnlearningForest, phase)
        monkeypatch.setattr(_BaseUnlearningForest, phase, phase_spy(original_phase))
        monkeypatch.setattr(K, kernel, kernel_spy(getattr(K, kernel)))
    return log


def paths_through(model, X, rows, keys):
    """Per tree: the tree, its nodes' row counts, and how many of ``rows``
    (row keys ``keys``) pass through each node on their paths."""
    P = model._params()
    out = []
    for tree in model.trees_:
        mult = mults(tree.tkey, keys, P.boot_rate)
        through = {}
        for r in rows[mult > 0]:
            v = 0
            while True:
                through[v] = through.get(v, 0) + 1
                if tree.NI[v, K.LEFT] < 0:
                    break
                go = X[r, tree.NI[v, K.FEAT]] <= tree.NF[v, K.THR]
                v = int(tree.NI[v, K.LEFT if go else K.RIGHT])
        out.append((tree, tree.NI[:, K.NROWS].copy(), through))
    return out


# --------------------------------------------------- 1-2: recounts, in place
@pytest.mark.parametrize("name", list(CASES))
def test_node_statistics_equal_a_recount_after_fit_and_removals(name, rebuilt):
    n = 500
    model, X, y, sw = fit_case(name, n)
    n_slots = check_model(model)
    # slots exist exactly for classifiers with integer counts
    exact = model._is_classifier and CASES[name][1] != "float"
    assert (n_slots > 0) == exact
    rng = np.random.RandomState(1)
    order = rng.permutation(n)
    requests = [order[:1], order[1:4], order[4:5], order[5:7]]
    # (at most 7 of 500: a request past 1/64 erased row slots compacts)
    in_place = 0
    erased = 0
    for i, rows in enumerate(requests):
        if exact and i == len(requests) - 1:
            # and a row alone with a value a slot stores: the value is erased
            rows = np.r_[rows[:1], erasing_row(model, X, order[:7])]
        # before: the nodes on each forgotten row's path, and their row counts
        before = paths_through(model, X, rows, model._row_keys[rows])
        del rebuilt[:]
        model.unlearn(X[rows], y[rows])
        details = model.unlearn_history_[-1]["details"]
        assert model.unlearn_history_[-1]["strategy"] == "tree-deletion"
        assert details["subtrees_rebuilt"] == sum(r[2].size for r in rebuilt)
        assert model.ledger_.n_stored == n  # not compacted: the kernels' state
        check_model(model, removed=True)
        erased = max(erased, erased_values(model))
        # the path nodes outside the rebuilt subtrees were updated in place:
        # they lost exactly the forgotten rows that went through them
        for t, (tree, nrows, through) in enumerate(before):
            if model.trees_[t] is not tree:
                continue  # regrown in a compacted copy
            roots = {int(v) for tr, _, rr, _ in rebuilt if tr is tree for v in rr}
            live = set(reachable(tree.NI))
            for v, k in through.items():
                if v in live and v not in roots:
                    assert tree.NI[v, K.NROWS] == nrows[v] - k, (t, v)
                    in_place += 1
    assert in_place > 0
    assert (erased > 0) == exact


def active_values_kept(model):
    """Each slot keeps the active candidates a search on the node's rows finds.

    (The ``k`` present values of smallest hash: what an insertion must not
    miss when a new value enters them.) Returns the number of slots checked.
    """
    ctx = Context(model)
    lay = ctx.lay
    n = 0
    for tree in model.trees_:
        mult, w = ctx.weights(tree)
        routes = routed_rows(tree, ctx.X, ctx.alive & (mult > 0))
        for v, rows in routes.items():
            slot = tree.NI[v, K.SLOT]
            if slot < 0:
                continue
            n += 1
            sd = tree.SD[slot]
            for j in range(lay.mtry):
                fe = lay.feature(sd, j)
                stored, perm, _ = expected_stored(
                    ctx.X[rows, fe["f"]], tree.NK[v], fe["f"], lay.k2
                )
                active = stored[perm][: lay.k]
                kept = fe["cv"][: fe["nc"]]
                assert np.isin(active, kept[fe["ceq"][: fe["nc"]] > 0]).all(), v
    return n


@pytest.mark.parametrize("name", list(CASES))
def test_node_statistics_equal_a_recount_after_insertions(name, rebuilt, monkeypatch):
    # rows added in place (partial_fit), alone and in small batches, some
    # with values and classes the nodes have not seen: every reachable node
    # equals a recount of its rows, the nodes on the new rows' paths that
    # were not regrown gained exactly those rows, and the slots keep the
    # active candidates of their rows
    from skunlearn.tree import _base

    monkeypatch.setattr(_base, "_REFIT_FRACTION", 1.0)
    n, extra = 400, 40
    est, weights = CASES[name]
    X, y, sw = make_data(
        n + extra, "clf" if est._is_classifier else "reg", seed=3, weights=weights
    )
    X[n + 10 :, 2] += 0.05  # values between the stored ones
    model = clone(est).fit(X[:n], y[:n], sample_weight=None if sw is None else sw[:n])
    refits = []
    monkeypatch.setattr(
        type(model), "_learn_rows_by_refit", lambda *a: refits.append(a)
    )
    in_place = 0
    starts = [n, n + 1, n + 4, n + 5, n + 10, n + 20, n + 21, n + 40]
    for a, b in zip(starts[:-1], starts[1:]):
        rows = np.arange(a, b)
        before = paths_through(model, X, rows, _row_keys_of(X[rows]))
        del rebuilt[:]
        model.partial_fit(
            X[rows], y[rows], sample_weight=None if sw is None else sw[rows]
        )
        assert not refits
        assert model.ledger_.n_rows == b
        n_slots = check_model(model, removed=True)
        assert active_values_kept(model) == n_slots
        for t, (tree, nrows, through) in enumerate(before):
            if model.trees_[t] is not tree:
                continue  # regrown in a compacted copy
            roots = {int(v) for tr, _, rr, _ in rebuilt if tr is tree for v in rr}
            live = set(reachable(tree.NI))
            for v, k in through.items():
                if v in live and v not in roots:
                    assert tree.NI[v, K.NROWS] == nrows[v] + k, (t, v)
                    in_place += 1
    assert in_place > 0
    # and the model is the same-seed fit on all its rows
    with _pinned_fingerprint_key(model.ledger_.fingerprint_key):
        fresh = clone(est).fit(X, y, sample_weight=sw)
    for t in range(len(model.trees_)):
        a, b = model.tree_structure(t), fresh.tree_structure(t)
        for key in a:
            assert_array_equal(a[key], b[key], err_msg=f"tree {t}: {key}")


@pytest.mark.parametrize("name", ["forest_clf_bootstrap", "tree_clf_gini"])
def test_new_values_one_row_at_a_time_keep_the_slots_a_recount(
    name, rebuilt, monkeypatch
):
    # one row at a time, each with values of its own (continuous features):
    # a value among a node's first k in (hash, value) order is stored with
    # statistics summed from the node's rows of that feature, others drop
    # what follows them; every slot equals a recount of its rows, keeps the
    # search's active candidates, and the model is the same-seed fit
    from skunlearn.tree import _base

    monkeypatch.setattr(_base, "_REFIT_FRACTION", 1.0)
    est = CASES[name][0]
    rng = np.random.RandomState(5)
    n, extra = 600, 60
    X = rng.randn(n + extra, 5)
    X[:n] = X[:n].round(1)  # repeated values in the fit; new ones after
    y = (X[:, 0] + 0.5 * rng.randn(n + extra) > 0).astype(int)
    model = clone(est).fit(X[:n], y[:n])
    for i in range(n, n + extra):
        model.partial_fit(X[i : i + 1], y[i : i + 1])
        if (i - n) % 15 == 14:
            n_slots = check_model(model, removed=True)
            assert active_values_kept(model) == n_slots
    with _pinned_fingerprint_key(model.ledger_.fingerprint_key):
        fresh = clone(est).fit(X, y)
    for t in range(len(model.trees_)):
        a, b = model.tree_structure(t), fresh.tree_structure(t)
        for key in a:
            assert_array_equal(a[key], b[key], err_msg=f"tree {t}: {key}")


def _row_keys_of(X):
    from skunlearn._ledger import row_fingerprints
    from skunlearn.tree._base import _row_keys

    return _row_keys(row_fingerprints(X))


def erasing_row(model, X, exclude):
    """A row alone with a reserve value of a slot (its node keeps its split)."""
    lay = Layout(model._params())
    alive = model.ledger_.alive
    for tree in model.trees_:
        NI = tree.NI
        for v in reachable(NI):
            slot = NI[v, K.SLOT]
            if slot < 0:
                continue
            rows = tree.order[NI[v, K.START] : NI[v, K.END]]
            rows = rows[alive[rows]]
            for j in range(lay.mtry):
                fe = lay.feature(tree.SD[slot], j)
                # the first k present values (hash order) are the active ones
                perm = fe["perm"][: fe["nc"]].astype(int)
                present = [t for t in perm.tolist() if fe["ceq"][t] > 0]
                for t in present[lay.k + 1 :]:
                    if fe["ceq"][t] != 1:
                        continue
                    row = rows[X[rows, fe["f"]] == fe["cv"][t]]
                    if not np.isin(row, exclude).any():
                        return int(row[0])
    raise AssertionError("no value of a slot has a single row")


def erased_values(model):
    """Stored values erased (NaN) from the slots of the reachable nodes."""
    lay = Layout(model._params())
    n = 0
    for tree in model.trees_:
        for v in reachable(tree.NI):
            slot = tree.NI[v, K.SLOT]
            for j in range(lay.mtry if slot >= 0 else 0):
                fe = lay.feature(tree.SD[slot], j)
                n += int(np.isnan(fe["cv"][: fe["nc"]]).sum())
    return n


# ---------------------------------------------- 3: a regrown subtree, a fit's
def _node_rows(tree, v, alive, new_id):
    rows = tree.order[tree.NI[v, K.START] : tree.NI[v, K.END]].astype(np.int64)
    if alive is not None:
        rows = rows[alive[rows]]
    return np.sort(rows if new_id is None else new_id[rows])


def assert_same_node(model, fresh, tree, ftree, v, u, new_id, slots, where):
    NI, fNI = tree.NI, ftree.NI
    for field in (K.FEAT, K.DEPTH, K.KIND, K.NROWS):
        assert NI[v, field] == fNI[u, field], (where, field)
    # bit for bit
    assert_equal(tree.NF[v].view(np.uint64), ftree.NF[u].view(np.uint64), where)
    assert_equal(tree.NT[v].view(np.uint64), ftree.NT[u].view(np.uint64), where)
    assert_equal(
        _node_rows(tree, v, model.ledger_.alive, new_id),
        _node_rows(ftree, u, None, None),
        where,
    )
    for side in (K.LEFT, K.RIGHT):
        a, b = NI[v, side], fNI[u, side]
        assert (a < 0) == (b < 0), where
        if a >= 0:
            assert tree.NK[a] == ftree.NK[b], where
    if slots:
        assert (NI[v, K.SLOT] >= 0) == (fNI[u, K.SLOT] >= 0), where
        if NI[v, K.SLOT] >= 0:
            a, b = tree.SD[NI[v, K.SLOT]], ftree.SD[fNI[u, K.SLOT]]
            assert_equal(a.view(np.uint64), b.view(np.uint64), where)


REGROW_CASES = {
    "forest_clf_bootstrap": (
        UnlearningForestClassifier(4, random_state=11, n_jobs=1),
        "clf",
        None,
        600,
    ),
    "forest_clf_entropy_max_samples_int_weights": (
        UnlearningForestClassifier(
            4, criterion="entropy", max_samples=0.3, random_state=12, n_jobs=1
        ),
        "clf",
        "int",
        600,
    ),
    "forest_reg_max_samples_int_weights": (
        UnlearningForestRegressor(4, max_samples=0.3, random_state=13, n_jobs=1),
        "reg",
        "int",
        600,
    ),
    "tree_reg_float_weights": (
        UnlearningTreeRegressor(max_depth=8, random_state=14),
        "reg",
        "float",
        600,
    ),
}


def _forget_and_refit(est, X, y, sw, rows, rebuilt):
    model = clone(est).fit(X, y, sample_weight=sw)
    n_nodes = [(tree, tree.n_nodes) for tree in model.trees_]
    model.unlearn(X[rows], y[rows])
    model._finish_pending()  # the cleared subtrees grow (at the next read)
    # the rows the ledger matched (equal rows are interchangeable)
    keep = np.flatnonzero(model.ledger_.alive)
    assert keep.size == X.shape[0] - len(rows)
    with _pinned_fingerprint_key(model.ledger_.fingerprint_key):
        fresh = clone(est).fit(
            X[keep], y[keep], sample_weight=None if sw is None else sw[keep]
        )
    new_id = np.full(X.shape[0], -1, dtype=np.int64)
    new_id[keep] = np.arange(keep.size)
    return model, fresh, new_id, n_nodes


def assert_regrown_equal_fresh(model, fresh, new_id, rebuilt, n_nodes):
    """Each rebuilt subtree equals, node for node, the fit's at the same path."""
    n_regrown = 0
    for t, (tree, ftree) in enumerate(zip(model.trees_, fresh.trees_)):
        fnodes = {ftree.NK[u]: u for u in reachable(ftree.NI)}
        mine = reachable(tree.NI)
        # the same shape: the same paths
        assert sorted(fnodes) == sorted(tree.NK[v] for v in mine), t
        # the cleared roots, found by their keys (the tree may have grown
        # them in a compacted copy, with other ids)
        by_key = {tree.NK[v]: v for v in mine}
        keys = [k for _, i, _, ks in rebuilt if i == t for k in ks.tolist()]
        regrown = set()
        for key in keys:
            sub = K.subtree(tree.NI, by_key[key])
            before, n_before = n_nodes[t]
            if tree is before:
                # new nodes below the root, appended after the old ones
                assert (sub[1:] >= n_before).all(), t
            regrown.update(sub.tolist())
        for v in mine:
            u = fnodes[tree.NK[v]]
            where = f"tree {t}, node {v} ({'regrown' if v in regrown else 'kept'})"
            # slots: bit for bit in regrown subtrees; a kept node's slot may
            # hold erased values until compaction
            assert_same_node(
                model, fresh, tree, ftree, v, u, new_id, v in regrown, where
            )
        n_regrown += len(regrown)
    return n_regrown


@pytest.mark.parametrize("name", list(REGROW_CASES))
def test_regrown_subtree_equals_a_fresh_build_on_its_rows(name, rebuilt):
    est, kind, weights, n = REGROW_CASES[name]
    X, y, sw = make_data(n, kind, seed=3, weights=weights)
    rows = np.random.RandomState(2).choice(n, 6, replace=False)
    model, fresh, new_id, n_nodes = _forget_and_refit(est, X, y, sw, rows, rebuilt)
    assert model.ledger_.n_stored == n  # the kernels' state, not compacted
    assert model.unlearn_history_[-1]["details"]["subtrees_rebuilt"] > 0
    assert assert_regrown_equal_fresh(model, fresh, new_id, rebuilt, n_nodes) > 0


def test_regrown_root_with_slots_equals_a_fresh_build(rebuilt):
    # Forgetting the only row whose value is the root's threshold erases the
    # chosen candidate: the whole tree grows again (2500 rows: from the
    # subtree's column copy, with slots), and is the fit's, slot for slot.
    rng = np.random.RandomState(5)
    n = 2500
    X = rng.randn(n, 4)
    y = (X[:, 0] + X[:, 1] * X[:, 2] + 0.5 * rng.randn(n) > 0).astype(int)
    est = UnlearningTreeClassifier(max_depth=6, random_state=3)
    fit = clone(est).fit(X, y)
    tree = fit.trees_[0]
    assert tree.NI[0, K.NROWS] >= K.XT_MIN_ROWS
    # grown from its column copy: the slots a search on X computes
    assert check_model(fit) > 0
    row = np.flatnonzero(X[:, tree.NI[0, K.FEAT]] == tree.NF[0, K.THR])
    assert row.size == 1
    model, fresh, new_id, n_nodes = _forget_and_refit(est, X, y, None, row, rebuilt)
    assert [rr.tolist() for _, _, rr, _ in rebuilt] == [[0]]
    assert model.unlearn_history_[-1]["details"]["subtrees_rebuilt"] == 1
    n_regrown = assert_regrown_equal_fresh(model, fresh, new_id, rebuilt, n_nodes)
    assert n_regrown == fresh.trees_[0].n_nodes
    assert check_model(model, removed=True) > 0


# --------------------------------------------- 4: bootstrap multiplicities
def _keys(n, seed=0):
    return np.random.default_rng(seed).integers(0, 2**64, n, dtype=np.uint64)


@pytest.mark.parametrize("rate", [1.0, 0.3, 0.1, 2.5])
def test_row_mult_draws_poisson_of_the_rate(rate):
    n = 20_000
    boot = round(rate * K.BOOT_ONE)
    tkey = _tree_key(0, 7)
    draws = mults(tkey, _keys(n), boot)
    assert (draws >= 0).all()
    # chi-square over the counts 0, 1, ..., the tail of expected count < 5
    # in the last bin
    pmf = stats.poisson.pmf(np.arange(30), rate)
    last = int(np.flatnonzero(n * pmf >= 5)[-1])
    expected = n * np.r_[pmf[:last], 1 - pmf[:last].sum()]
    observed = np.bincount(np.minimum(draws, last), minlength=last + 1)
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    # the share of trees a row is in: 1 - exp(-rate)
    p0 = math.exp(-rate)
    assert abs((draws == 0).mean() - p0) < 5 * math.sqrt(p0 * (1 - p0) / n)
    assert abs(draws.mean() - rate) < 5 * math.sqrt(rate / n)
    # a function of the keys alone
    assert_array_equal(mults(tkey, _keys(n), boot), draws)


def test_row_mult_is_one_without_bootstrap_and_grows_with_the_rate():
    rk = _keys(5000, seed=1)
    tkey = _tree_key(3, 0)
    assert_array_equal(mults(tkey, rk, 0), 1)
    # one uniform per (tree, row) inverted through the Poisson cdf: a larger
    # rate never draws fewer copies (rate 1 takes the default's own branch)
    rates = [0.05, 0.3, 0.999, 1.0, 1.001, 2.5]
    draws = [mults(tkey, rk, round(r * K.BOOT_ONE)) for r in rates]
    for lo, hi in zip(draws, draws[1:]):
        assert (lo <= hi).all()
    # trees draw independently: a row misses two trees with p0 ** 2
    other = mults(_tree_key(3, 1), rk, K.BOOT_ONE)
    assert (other != draws[3]).any()
    p00 = math.exp(-2.0)
    both = ((draws[3] == 0) & (other == 0)).mean()
    assert abs(both - p00) < 5 * math.sqrt(p00 * (1 - p00) / rk.size)


@pytest.mark.parametrize(
    "est, boot",
    [
        (UnlearningTreeClassifier(), 0),
        (UnlearningForestClassifier(2, bootstrap=False), 0),
        (UnlearningForestClassifier(2), K.BOOT_ONE),
        (UnlearningForestRegressor(2, max_samples=0.3), round(0.3 * K.BOOT_ONE)),
        (UnlearningForestClassifier(2, max_samples=1e-9), 1),
    ],
)
def test_bootstrap_rate_in_the_parameter_vector(est, boot):
    X, y, _ = make_data(60, "clf" if est._is_classifier else "reg")
    model = clone(est).set_params(random_state=0).fit(X, y)
    assert model._params().boot_rate == boot
    # each tree holds the rows of positive multiplicity
    for tree in model.trees_:
        mult = mults(tree.tkey, model._row_keys, boot)
        assert_array_equal(np.sort(tree.order), np.flatnonzero(mult > 0))


def test_parameter_record_reads_the_stored_vector():
    # the kernels read the record by name; the model stores the vector
    X, y, _ = make_data(80, "clf")
    est = UnlearningForestClassifier(
        3, max_depth=5, max_features=2, n_thresholds=3, min_samples_leaf=2,
        criterion="entropy", random_state=0,
    )  # fmt: skip
    P = est.fit(X, y)._params()
    assert isinstance(P, K.Params)
    assert_array_equal(np.asarray(P), est._P_)
    named = dict(
        n_values=est.n_classes_, stat_width=est.n_classes_ + 1, mtry=2,
        n_thresholds=3, min_samples_leaf=2, max_depth=5, criterion=K.ENTROPY,
        classifier=1, exact_counts=1, boot_rate=K.BOOT_ONE, n_features=X.shape[1],
    )  # fmt: skip
    assert {k: getattr(P, k) for k in named} == named
    positions = (K.P_C, K.P_S, K.P_MTRY, K.P_K, K.P_MSL, K.P_MSS, K.P_MD)
    positions += (K.P_CRIT, K.P_CLF, K.P_CACHE, K.P_USECACHE, K.P_BOOT, K.P_P)
    assert positions == tuple(range(len(K.Params._fields)))


# ---------------------------------------------------------- 5: small kernels
def test_mix_is_splitmix64s_finalizer():
    # the first outputs of splitmix64 seeded with 0 (its state advances by G)
    known = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    for i, want in enumerate(known, start=1):
        assert int(K.mix(np.uint64((int(_G) * i) % 2**64))) == want
    a, b = _keys(300, seed=2), _keys(300, seed=3)
    assert_array_equal([K.mix(x) for x in a], np_mix(a))
    assert_array_equal([K.h2(x, z) for x, z in zip(a, b)], np_h2(a, b))


def test_h2_is_deterministic_and_sensitive_to_every_bit():
    a, b = _keys(64, seed=4), _keys(64, seed=5)
    base = np_h2(a, b)
    assert_array_equal([K.h2(x, z) for x, z in zip(a, b)], base)
    flips = []
    for bit in range(64):
        m = np.uint64(1 << bit)
        for x, z, h in zip(a[:8], b[:8], base[:8]):
            for ha in (K.h2(x ^ m, z), K.h2(x, z ^ m)):
                assert ha != h
                flips.append(bin(int(ha) ^ int(h)).count("1"))
    # avalanche: about half of the output bits change
    assert 31 < np.mean(flips) < 33
    # tree keys: distinct per tree and per seed
    keys = {int(_tree_key(s, t)) for s in (0, 1) for t in range(500)}
    assert len(keys) == 1000


def test_members_are_the_rows_of_positive_multiplicity():
    rk = _keys(3000, seed=6)
    tkey = _tree_key(9, 2)
    for boot in (0, K.BOOT_ONE, round(0.1 * K.BOOT_ONE)):
        out = np.full(rk.size, -1, dtype=np.int64)
        m = K.members(rk, tkey, boot, out)
        assert_array_equal(out[:m], np.flatnonzero(mults(tkey, rk, boot) > 0))
        assert (out[m:] == -1).all()
    assert K.members(rk, tkey, 0, out) == rk.size


@pytest.mark.parametrize("n", [40, 1000])  # a small node sorts, a large one marks
def test_gather_takes_the_live_rows_and_their_weights(n):
    rng = np.random.RandomState(n)
    order = rng.permutation(n).astype(np.int32)
    alive = rng.rand(n) > 0.3
    rk = _keys(n, seed=7)
    tkey = _tree_key(1, 1)
    boot = K.BOOT_ONE
    sw = rng.randint(0, 5, n).astype(float)
    s, e = n // 5, n // 5 + 30
    rows = np.empty(e - s, dtype=np.int32)
    wr = np.empty(e - s)
    want = order[s:e][alive[order[s:e]]]
    for ascending, expect in ((False, want), (True, np.sort(want))):
        m = K.gather(order, s, e, alive, rk, sw, tkey, boot, rows, wr, ascending)
        assert_array_equal(rows[:m], expect)
        assert_array_equal(wr[:m], mults(tkey, rk[expect], boot) * sw[expect])
        # a single weight stands for all ones; an empty wr skips the weights
        m = K.gather(order, s, e, alive, rk, np.ones(1), tkey, 0, rows, wr, ascending)
        assert_array_equal(wr[:m], 1.0)
        m = K.gather(order, s, e, alive, rk, sw, tkey, 0, rows, np.empty(0), ascending)
        assert_array_equal(rows[:m], expect)


@pytest.mark.parametrize("p, mtry", [(12, 3), (7, 7), (5, 9), (40, 6)])
def test_select_features_takes_the_smallest_hashes(p, mtry):
    for key in _keys(5, seed=p):
        out = np.empty(mtry, dtype=np.int64)
        K._select_features(key, p, mtry, out, np.empty(max(p, mtry), dtype=np.uint64))
        want = expected_features(key, p, mtry)
        assert_array_equal(out[: want.size], want)


@pytest.mark.parametrize("n_distinct, k2", [(3, 10), (10, 10), (50, 10), (200, 4)])
def test_smallest_keeps_the_values_of_smallest_hash(n_distinct, k2):
    rng = np.random.RandomState(n_distinct)
    xs = rng.choice(rng.randn(n_distinct), size=300)
    key = np.uint64(12345)
    fkey = np_h2(key ^ K._VALUE_SALT, np.uint64(0))
    hs = np_h2(fkey, xs.view(np.uint64))
    hk, vk = np.empty(k2, dtype=np.uint64), np.empty(k2)
    nk, complete = K._smallest(xs, hs, xs.size, k2, hk, vk)
    stored, _, want_complete = expected_stored(xs, key, 0, k2)
    assert (nk, complete) == (stored.size, want_complete)
    assert_array_equal(np.sort(vk[:nk]), stored)
    assert_array_equal(hk[:nk], np_h2(fkey, vk[:nk].view(np.uint64)))


@pytest.mark.parametrize("C", [2, 3])
def test_packed_counts_unpack_to_the_sums(C):
    P = K.Params(*[0] * 13)._replace(stat_width=C + 1, classifier=1, exact_counts=1)
    bits = K.packed_bits(0, 0.0, P)
    assert bits == 63 // (C + 1)
    rng = np.random.RandomState(C)
    n = 500
    yc = rng.randint(0, C, n)
    wr = rng.randint(0, 7, n).astype(float)
    rows = rng.permutation(n)[:300]
    assert K.packed_bits(rows.size, wr[:300].sum(), P) == bits
    out = np.empty(rows.size, dtype=np.int64)
    K.pack_rows(rows, wr, rows.size, yc, C, bits, out)
    buf = np.zeros(C + 1)
    npos = K._unpack(out.sum(), bits, C, buf, 0)
    want = np.bincount(yc[rows], weights=wr[: rows.size], minlength=C)
    assert_array_equal(buf, np.r_[rows.size, want])
    assert npos == (want > 0).sum()
    # no packing where a field could overflow, for a regressor, or many classes
    assert K.packed_bits(1 << bits, 0.0, P) == 0
    assert K.packed_bits(1, float(1 << bits), P) == 0
    for field, value in (("classifier", 0), ("exact_counts", 0), ("stat_width", 5)):
        Q = P._replace(**{field: value})
        assert K.packed_bits(0, 0.0, Q) == 0


def _params(clf, crit, C=3):
    return K.Params(*[0] * 13)._replace(
        n_values=C if clf else 1,
        stat_width=C + 1 if clf else 4,
        criterion=crit,
        classifier=clf,
        mtry=1,
        n_thresholds=1,
        n_features=1,
    )


@pytest.mark.parametrize("crit", [K.GINI, K.ENTROPY])
def test_node_totals_and_values_of_a_classifier(crit):
    P = _params(1, crit)
    yc = np.array([0, 2, 2, 1, 2, 0])
    rows = np.array([5, 1, 2, 4])
    wr = np.array([1.0, 2.0, 0.5, 3.0])
    buf = np.zeros(K.offsets(1, 1, 4)[-1])
    o_tot = K.offsets(1, 1, 4)[1]
    assert not K.eval_tot(rows, wr, 4, yc, np.zeros(1), P, buf)
    tot = buf[o_tot : o_tot + 4]
    assert_array_equal(tot, [4, 1.0, 0.0, 5.5])
    assert K.eval_tot(rows[1:3], wr[1:3], 2, yc, np.zeros(1), P, buf)  # pure
    NF = np.zeros((1, K.VAL + 3))
    K.set_node_values(NF, 0, np.array([4, 1.0, 0.0, 5.5]), P)
    p = np.array([1.0, 0.0, 5.5]) / 6.5
    imp = 1 - (p**2).sum() if crit == K.GINI else -(p[p > 0] * np.log2(p[p > 0])).sum()
    assert_allclose(NF[0], [0.0, 6.5, imp, *p], rtol=1e-15)
    # a node of weight 0: uniform, impurity 0
    K.set_node_values(NF, 0, np.array([2, 0.0, 0.0, 0.0]), P)
    assert_array_equal(NF[0, K.WEIGHT :], [0.0, 0.0, 1 / 3, 1 / 3, 1 / 3])


def test_node_totals_and_values_of_a_regressor():
    P = _params(0, K.MSE)
    yr = np.array([1.0, -2.0, 4.0, 4.0])
    rows = np.array([0, 1, 2])
    wr = np.array([1.0, 2.0, 3.0])
    buf = np.zeros(K.offsets(1, 1, 4)[-1])
    o_tot = K.offsets(1, 1, 4)[1]
    assert not K.eval_tot(rows, wr, 3, np.zeros(1, dtype=np.int64), yr, P, buf)
    tot = buf[o_tot : o_tot + 4].copy()
    assert_array_equal(tot, [3, 6.0, 9.0, 57.0])
    pure = np.array([2, 3])  # equal targets
    assert K.eval_tot(pure, wr[:2], 2, np.zeros(1, np.int64), yr, P, buf)
    NF = np.zeros((1, K.VAL + 1))
    K.set_node_values(NF, 0, tot, P)
    assert_allclose(NF[0], [0.0, 6.0, 57 / 6 - 1.5**2, 1.5], rtol=1e-15)
    K.set_node_values(NF, 0, np.array([1, 0.0, 0.0, 0.0]), P)
    assert_array_equal(NF[0, K.WEIGHT :], 0.0)


def test_offsets_lay_out_a_slot():
    mtry, k, S = 3, 5, 4
    o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W = K.offsets(mtry, k, S)
    sizes = np.diff([o_cst, o_tot, o_ceq, o_perm, o_cv, o_comp, o_nc, o_f, W])
    assert_array_equal(sizes, [mtry * 2 * k * S, S, *[mtry * 2 * k] * 3, *[mtry] * 3])
    model = UnlearningTreeClassifier(random_state=0).fit(*make_data(300, "clf")[:2])
    assert model.trees_[0].SD.shape[1] == model._slot_width()


def test_tree_walks_and_node_lists():
    X, y, _ = make_data(400, "clf")
    model = UnlearningForestClassifier(2, random_state=0, n_jobs=1).fit(X, y)
    for tree in model.trees_:
        NI, NF = tree.NI, tree.NF
        n = tree.n_nodes
        routes = routed_rows(tree, X, np.ones(X.shape[0], dtype=bool))
        leaf_of = np.empty(X.shape[0], dtype=np.int64)
        for v, rows in routes.items():
            if NI[v, K.LEFT] < 0:
                leaf_of[rows] = v
        out = np.empty(X.shape[0], dtype=np.int64)
        K.apply(NI, NF, X, out)
        assert_array_equal(out, leaf_of)
        acc = np.ones((X.shape[0], 3))
        K.accumulate_values(NI, NF, X, acc)
        assert_array_equal(acc, 1 + NF[leaf_of, K.VAL : K.VAL + 3])
        # a fitted tree is in preorder, without garbage
        order = reachable(NI[:n])
        assert_array_equal(order, np.arange(n))
        assert_array_equal(K.preorder_ids(NI[:n]), np.arange(n))
        assert K.count_live(NI[:n]) == (n, int(tree.meta[1]))
        for v in range(0, n, 7):
            sub = K.subtree(NI, v)
            assert sub[0] == v
            assert_array_equal(np.sort(sub), [u for u in order if _below(NI, u, v)])


def _below(NI, u, v):
    while u >= 0:
        if u == v:
            return True
        u = NI[u, K.PARENT]
    return False


# ------------------------------------------- insertion: entries put in place
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_move_is_memmove_both_ways(dtype):
    from skunlearn.tree._intrinsics import move

    @numba.njit
    def call(a, dst, src, n):
        move(a, dst, src, n)

    rng = np.random.RandomState(0)
    for _ in range(200):
        a = rng.randint(0, 1000, 64).astype(dtype)
        n = rng.randint(0, 33)
        dst, src = rng.randint(0, 64 - n + 1, 2)
        want = a.copy()
        want[dst : dst + n] = a[src : src + n].copy()
        call(a, dst, src, n)
        assert_array_equal(a, want)


@pytest.mark.parametrize("nr", [1, 2, 7, 40])
def test_spread_puts_rows_at_their_places_and_unspread_takes_them_out(nr):
    from skunlearn.tree._insert import spread

    rng = np.random.RandomState(nr)
    for _ in range(50):
        m = rng.randint(0, 60)
        entries = rng.permutation(1000)[:m].astype(np.int32)
        places = np.sort(rng.choice(m + nr, nr, replace=False))
        rows = 1000 + rng.permutation(nr).astype(np.int64)
        fin = rng.permutation(places)  # the rows' places, in any order
        want = np.empty(m + nr, dtype=np.int32)
        free = np.ones(m + nr, dtype=bool)
        free[fin] = False
        want[fin] = rows
        want[free] = entries
        room = np.full(m + nr + 5, -7, dtype=np.int32)
        room[:m] = entries
        spread(room, m, rows, fin)
        assert_array_equal(room[: m + nr], want)
        assert_array_equal(room[m + nr :], -7)  # nothing past the entries
        K.unspread(room, m + nr, fin)
        assert_array_equal(room[:m], entries)
