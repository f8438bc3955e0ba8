"""Benchmarks of the SISA shard ensembles (skunlearn.ensemble).

Run from the repository root::

    python benchmarks/bench_sisa.py            # about 2-4 minutes on 2 cores
    python benchmarks/bench_sisa.py --quick    # smaller data, under a minute

Prints, measured side by side in one run (medians over repeats):

1. forgetting one row vs refitting the whole SISA ensemble (10 shards);
2. shards retrained by a batch of ``k`` uniformly drawn rows vs the paper's
   expectation ``S * (1 - (1 - 1/S)**k)``, with the time against a refit;
3. the further saving of slices: forgetting one row with checkpoints vs
   retraining the touched shard from its first slice;
4. fit with ``n_jobs=2`` vs ``n_jobs=1``;
5. test accuracy of SISA over ``n_shards`` against one model on the same data.

The machine may be shared: timings are medians, ratios are what to read.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import os
import statistics
import sys
import time

import numpy as np
from joblib import parallel_config
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.tree import DecisionTreeClassifier

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from skunlearn._ledger import row_fingerprints  # noqa: E402
from skunlearn.ensemble import SISAClassifier  # noqa: E402
from skunlearn.ensemble._sisa import (  # noqa: E402
    _SHARD_SALT,
    _SLICE_SALT,
    _bucket,
    _train_shard,
)


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _data(n, d, seed=0):
    return make_classification(
        n_samples=n,
        n_features=d,
        n_informative=d // 2,
        n_redundant=d // 4,
        n_classes=3,
        random_state=seed,
    )


def bench_single_row(n, d, repeats):
    print(f"\n1. One-row forget vs SISA refit (10 shards, tree, n={n}, d={d})")
    X, y = _data(n, d)
    est = SISAClassifier(DecisionTreeClassifier(), n_shards=10, random_state=0)
    model = clone(est).fit(X, y)
    rng = np.random.RandomState(0)
    forgotten, t_forget, t_refit = [], [], []
    for _ in range(repeats):
        i = int(rng.choice(np.setdiff1d(np.arange(n), forgotten)))
        t, _ = _timed(lambda i=i: model.unlearn(X[i : i + 1]))
        t_forget.append(t)
        forgotten.append(i)
        keep = np.setdiff1d(np.arange(n), forgotten)
        t, _ = _timed(lambda keep=keep: clone(est).fit(X[keep], y[keep]))
        t_refit.append(t)
    f, r = statistics.median(t_forget), statistics.median(t_refit)
    print(f"   forget one row   median {f * 1e3:8.1f} ms")
    print(f"   SISA refit       median {r * 1e3:8.1f} ms")
    verdict = "met" if r / f >= 8 else "NOT met"
    print(f"   speed-up         {r / f:6.1f}x   (target >= 8x: {verdict})")


def bench_k_requests(n, d, repeats):
    S = 10
    print(f"\n2. Shards touched by a batch of k uniform rows (S={S}, n={n})")
    X, y = _data(n, d)
    est = SISAClassifier(DecisionTreeClassifier(), n_shards=S, random_state=0)
    fitted = clone(est).fit(X, y)
    rng = np.random.RandomState(1)
    shard_of = _bucket(row_fingerprints(X), 0, S, _SHARD_SALT)
    print(
        "    k | touched (measured, mean) | S(1-(1-1/S)^k) | forget ms |"
        " refit ms | refit/forget"
    )
    for k in (1, 2, 5, 10, 20, 50):
        touched, times, refits = [], [], []
        for r in range(repeats):
            rows = rng.choice(n, size=k, replace=False)
            touched.append(np.unique(shard_of[rows]).size)
            if r < 3:  # timing: a few runs, each beside its own refit
                model = _copy(fitted)
                t, _ = _timed(lambda m=model, rows=rows: m.unlearn(X[rows]))
                times.append(t)
                details = model.unlearn_history_[-1]["details"]
                assert details["n_shards_retrained"] == touched[-1]
                keep = np.setdiff1d(np.arange(n), rows)
                t, _ = _timed(lambda keep=keep: clone(est).fit(X[keep], y[keep]))
                refits.append(t)
        expected = S * (1 - (1 - 1 / S) ** k)
        ft, rt = statistics.median(times), statistics.median(refits)
        print(
            f"   {k:3d} | {np.mean(touched):24.2f} | {expected:14.2f} |"
            f" {ft * 1e3:9.1f} | {rt * 1e3:8.1f} | {rt / ft:6.1f}x"
        )


def _copy(model):
    import pickle

    return pickle.loads(pickle.dumps(model))


def bench_slices(n, d, repeats):
    S, R = 5, 10
    print(
        f"\n3. Slices: one-row forget with checkpoints vs retraining the shard "
        f"from slice 0 (MLP partial_fit, S={S}, R={R}, n={n})"
    )
    X, y = _data(n, d)
    est = SISAClassifier(
        MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=1e-2),
        n_shards=S,
        n_slices=R,
        slice_epochs=3,
        random_state=0,
    )
    t_fit, model = _timed(lambda: clone(est).fit(X, y))
    rng = np.random.RandomState(2)
    t_ckpt, t_scratch, rows_ckpt, rows_shard = [], [], [], []
    for _ in range(repeats):
        i = int(rng.choice(model.ledger_.retained()))
        Xi = model.ledger_.take([i])[0]
        m = _copy(model)
        t, _ = _timed(lambda m=m, Xi=Xi: m.unlearn(Xi))
        det = m.unlearn_history_[-1]["details"]
        t_ckpt.append(t)
        rows_ckpt.append(det["rows_trained"])
        # The same shard retrained from its first slice (no checkpoint).
        s = det["shards_retrained"][0]
        pos = int(np.flatnonzero(m.shard_ids_ == s)[0])
        Xl, yl, _ = m.ledger_.take(m.ledger_.retained())
        # shards and slices come from the rows' unkeyed content hash
        fp = row_fingerprints(Xl)
        idx = np.flatnonzero(_bucket(fp, m.seed_, S, _SHARD_SALT) == s)
        slices = _bucket(fp[idx], m.seed_, R, _SLICE_SALT)
        template = m._shard_template(s)
        args = (template, "partial_fit", Xl[idx], yl[idx], None, slices, R)
        args += (np.unique(yl[idx]), 0, None, 3)
        t, (sub, _, n_rows) = _timed(lambda args=args: _train_shard(*args))
        t_scratch.append(t)
        rows_shard.append(n_rows)
        np.testing.assert_array_equal(sub.coefs_[0], m.estimators_[pos].coefs_[0])
    c, s_ = statistics.median(t_ckpt), statistics.median(t_scratch)
    print(f"   fit (with checkpoints)            {t_fit:8.2f} s")
    print(
        f"   forget, resume from checkpoint    median {c * 1e3:8.1f} ms"
        f"   rows trained (mean) {np.mean(rows_ckpt):8.0f}"
    )
    print(
        f"   retrain shard from slice 0        median {s_ * 1e3:8.1f} ms"
        f"   rows trained (mean) {np.mean(rows_shard):8.0f}"
    )
    print(
        f"   further saving of slices          {s_ / c:6.2f}x time,"
        f" {np.mean(rows_shard) / np.mean(rows_ckpt):5.2f}x rows"
        f"   (expected rows ratio 2R/(R+1) = {2 * R / (R + 1):.2f})"
    )


def bench_n_jobs(n, d, repeats):
    print(f"\n4. Fit with n_jobs=2 vs n_jobs=1 (10 shards, tree, n={n}, d={d})")
    X, y = _data(n, d)
    est = SISAClassifier(DecisionTreeClassifier(), n_shards=10, random_state=0)
    clone(est).set_params(n_jobs=2).fit(X[:2000], y[:2000])  # start the workers
    t1, t2, t3 = [], [], []
    for _ in range(repeats):
        t1.append(_timed(lambda: clone(est).set_params(n_jobs=1).fit(X, y))[0])
        t2.append(_timed(lambda: clone(est).set_params(n_jobs=2).fit(X, y))[0])
        with parallel_config(backend="threading"):
            t3.append(_timed(lambda: clone(est).set_params(n_jobs=2).fit(X, y))[0])
    a, b, c = (statistics.median(t) for t in (t1, t2, t3))
    print(f"   n_jobs=1             median {a:6.2f} s")
    print(f"   n_jobs=2 (loky)      median {b:6.2f} s")
    print(f"   n_jobs=2 (threading) median {c:6.2f} s   ({a / c:4.2f}x)")
    verdict = "met" if a / b >= 1.6 else "NOT met"
    print(
        f"   speed-up  {a / b:5.2f}x   (target >= 1.6x: {verdict};"
        f" os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.1f})"
    )


def bench_accuracy(n, d):
    n_train = int(n * 0.75)
    print(f"\n5. Test accuracy over n_shards (n_train={n_train}, d={d}, 3 classes)")
    X, y = _data(n, d, seed=3)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    bases = {
        "tree": DecisionTreeClassifier(min_samples_leaf=5),
        "logistic": LogisticRegression(max_iter=500),
    }
    single = {k: clone(b).fit(X_tr, y_tr).score(X_te, y_te) for k, b in bases.items()}
    print("   n_shards | " + " | ".join(f"{k:>15s}" for k in bases))
    print("   one model| " + " | ".join(f"{single[k]:15.3f}" for k in bases))
    for S in (1, 2, 5, 10, 20, 50):
        accs = []
        for name, base in bases.items():
            voting = "soft"
            m = SISAClassifier(base, n_shards=S, voting=voting, random_state=0)
            accs.append(m.fit(X_tr, y_tr).score(X_te, y_te) - single[name])
        print(f"   {S:8d} | " + " | ".join(f"{a:+15.3f}" for a in accs))
    print("   (rows: SISA soft-voting accuracy minus the one model's)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data")
    args = parser.parse_args()
    q = args.quick
    bench_single_row(n=10000 if q else 40000, d=20, repeats=3 if q else 7)
    bench_k_requests(n=10000 if q else 20000, d=20, repeats=50 if q else 200)
    bench_slices(n=5000 if q else 20000, d=20, repeats=3 if q else 5)
    bench_n_jobs(n=20000 if q else 40000, d=30, repeats=3)
    bench_accuracy(n=8000 if q else 20000, d=20)


if __name__ == "__main__":
    main()
