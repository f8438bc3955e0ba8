"""Unlearning vs refitting for the classic families, measured side by side.

Sizes from issue 7:

- LogisticRegression, n = 200,000, d = 50 (binary, make_classification),
  forgetting 1 row and 1% of the rows: refit from scratch on the retained rows
  vs the exact path (resumed solver) vs ``method="newton"``;
- naive Bayes (all five classes) at n = 1,000,000, forgetting 1 row;
- nearest neighbours (KNeighborsClassifier with a KD-tree, d = 8; brute force,
  d = 32; a ball tree, d = 8) at n = 1,000,000, forgetting 1 row (median of
  20 requests) and a batch of 100 rows, the index edited in place;
- k-means at n = 100,000 (d = 10, 10 blobs, cluster_std 3): median and p90 of
  20 one-row DCKMeans deletions vs a DCKMeans refit and a scikit-learn KMeans
  refit (interleaved), a batch of 100 rows, and DCKMeans's inertia vs
  KMeans's (target: >= 100x per deletion, inertia within 5%).

Every figure is a median over a few repetitions, taken in the same run as
the figures it is compared with. The machine may be shared: read the
ratios, not the absolute times. Usage: ``python benchmarks/bench_classic.py
[logistic|nb|neighbors|kmeans ...]`` (default: all).
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
import sys
import time
import warnings
from pathlib import Path

# Measure the skunlearn of this checkout, not another installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import make_blobs, make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.naive_bayes import (  # noqa: E402
    BernoulliNB,
    CategoricalNB,
    ComplementNB,
    GaussianNB,
    MultinomialNB,
)
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from skunlearn import Unlearnable  # noqa: E402
from skunlearn.cluster import DCKMeans  # noqa: E402


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _unlearn_times(model, X, y, batches, **params):
    times = []
    for rows in batches:
        start = time.perf_counter()
        model.unlearn(X[rows], y[rows] if y is not None else None, **params)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), model.unlearn_history_[-1]


def _report(name, refit, ours, extra="", build=None):
    print(
        f"  {name:<34} refit {refit * 1e3:10.2f} ms   unlearn {ours * 1e3:9.3f} ms"
        f"   speed-up {refit / ours:8.1f}x {extra}"
    )
    if build is not None:
        # A refit also needs the retained rows as one array: X[keep], y[keep].
        print(
            f"  {'':<34} with X[keep] {(refit + build) * 1e3:7.2f} ms"
            f"{'':<28}speed-up {(refit + build) / ours:8.1f}x"
        )


def _build_time(X, y, keep):
    return _median_time(lambda: (X[keep], None if y is None else y[keep]), 3)


def _batches(rng, n, size, count, used):
    out = []
    for _ in range(count):
        rows = rng.choice(n, size, replace=False)
        rows = rows[~np.isin(rows, used)]
        used.extend(rows.tolist())
        out.append(rows)
    return out


def bench_logistic():
    n, d = 200_000, 50
    print(f"LogisticRegression (lbfgs, tol=1e-4, C=1), n={n:,}, d={d}")
    X, y = make_classification(
        n_samples=n, n_features=d, n_informative=30, n_redundant=10, random_state=0
    )
    rng = np.random.RandomState(0)
    est = LogisticRegression()
    t_plain = _median_time(lambda: clone(est).fit(X, y), 1)
    start = time.perf_counter()
    model = Unlearnable(est).fit(X, y)
    t_fit = time.perf_counter() - start
    print(
        f"  fit: plain {t_plain:.2f} s, Unlearnable {t_fit:.2f} s (fingerprints and "
        f"the Hessian kept for Newton); refit iterations {model.n_iter_[0]}"
    )
    used = []
    for label, size in (("1 row", 1), ("1% of rows", n // 100)):
        batches_exact = _batches(rng, n, size, 3, used)
        batches_newton = _batches(rng, n, size, 3, used)
        keep = np.setdiff1d(np.arange(n), used)
        refit = _median_time(lambda keep=keep: clone(est).fit(X[keep], y[keep]), 2)
        exact, rec = _unlearn_times(model, X, y, batches_exact)
        _report(
            f"exact, forget {label}",
            refit,
            exact,
            f"(solver n_iter {rec['details']['n_iter']})",
        )
        newton, rec = _unlearn_times(model, X, y, batches_newton, method="newton")
        _report(
            f"newton, forget {label}",
            refit,
            newton,
            f"(residual {rec['details']['gradient_residual_norm']:.1e})",
        )
        gold = clone(est).set_params(tol=1e-8, max_iter=1000).fit(X[keep], y[keep])
        print(
            f"    max |coef - refit(tol=1e-8)| after these requests: "
            f"{np.abs(model.coef_ - gold.coef_).max():.1e}"
        )


def bench_naive_bayes():
    n, d = 1_000_000, 20
    print(f"Naive Bayes, n={n:,}, d={d}, forgetting 1 row")
    rng = np.random.RandomState(0)
    y = rng.randint(0, 5, n)
    X_real = rng.randn(n, d) + y[:, None]
    X_count = rng.poisson(2.0 + y[:, None], size=(n, d)).astype(np.float64)
    X_cat = np.minimum(X_count, 9.0)
    for est, X in (
        (GaussianNB(), X_real),
        (MultinomialNB(), X_count),
        (ComplementNB(), X_count),
        (BernoulliNB(binarize=2.0), X_count),
        (CategoricalNB(), X_cat),
    ):
        model = Unlearnable(est).fit(X, y)
        # Requests take well under a millisecond: 25 of them for a stable median.
        batches = _batches(rng, n, 1, 25, [])
        keep = np.setdiff1d(np.arange(n), np.concatenate(batches))
        X_r, y_r = X[keep], y[keep]
        refit = _median_time(
            lambda est=est, X_r=X_r, y_r=y_r: clone(est).fit(X_r, y_r), 3
        )
        ours, _ = _unlearn_times(model, X, y, batches)
        _report(type(est).__name__, refit, ours, build=_build_time(X, y, keep))


def bench_neighbors():
    n = 1_000_000
    print(f"Nearest neighbours (KNeighborsClassifier, k=5), n={n:,}")
    rng = np.random.RandomState(0)
    # algorithm="auto" picks a KD-tree at d=8 and brute force at d=32; the
    # ball tree at d=8 for comparison.
    for d, algorithm in ((8, "auto"), (32, "auto"), (8, "ball_tree")):
        X = rng.randn(n, d)
        y = rng.randint(0, 3, n)
        est = KNeighborsClassifier(algorithm=algorithm)
        start = time.perf_counter()
        model = Unlearnable(est).fit(X, y)
        t_fit = time.perf_counter() - start
        # 20 single-row requests (sub-millisecond: a stable median) and one
        # batch of 100 rows.
        singles = _batches(rng, n, 1, 20, [])
        batch = _batches(rng, n, 100, 1, [int(r[0]) for r in singles])
        keep = np.setdiff1d(np.arange(n), np.concatenate(singles + batch))
        X_r, y_r = X[keep], y[keep]
        # A kd-tree build takes seconds at this size: two repetitions.
        refit = _median_time(
            lambda est=est, X_r=X_r, y_r=y_r: clone(est).fit(X_r, y_r),
            2 if d <= 15 else 5,
        )
        ours, rec = _unlearn_times(model, X, y, singles)
        worst = max(r["seconds"] for r in model.unlearn_history_)
        ours_b, rec_b = _unlearn_times(model, X, y, batch)
        index = rec["details"]["index"]
        print(f"  d={d} ({index}); Unlearnable fit {t_fit:.2f} s")
        _report(
            f"forget 1 row (median of {len(singles)})",
            refit,
            ours,
            f"(slowest {worst * 1e3:.2f} ms)",
            build=_build_time(X, y, keep),
        )
        _report(
            "forget 100 rows at once",
            refit,
            ours_b,
            f"(tree rebuilt: {rec_b['details']['rebuilt']})",
        )
        gold = clone(est).fit(X_r, y_r)
        Xq = rng.randn(200, d)
        d1, i1 = model.estimator_.kneighbors(Xq)
        d2, i2 = gold.kneighbors(Xq)
        # neighbours compared as rows: an index edited in place keeps
        # another order until it is compacted
        same = np.array_equal(d1, d2) and np.array_equal(
            model.estimator_._fit_X[i1], X_r[i2]
        )
        print(
            f"    kneighbors of 200 queries equal a refit's (rows, distances): {same}"
        )
        del X, model, X_r, gold


def bench_kmeans():
    n, d, k = 100_000, 10, 10
    print(f"k-means, n={n:,}, d={d}, k={k}; load average {_load()}")
    X, _ = make_blobs(n, n_features=d, centers=k, cluster_std=3.0, random_state=0)
    rng = np.random.RandomState(0)
    dc = DCKMeans(n_clusters=k, random_state=0)
    km = KMeans(n_clusters=k, random_state=0)
    model = clone(dc).fit(X)
    # Rounds interleave the refits and the deletions, so that a change of load
    # on a shared machine hits both sides alike.
    rounds, per_round = 5, 4
    batches = _batches(rng, n, 1, rounds * per_round, [])
    keep = np.setdiff1d(np.arange(n), np.concatenate(batches))
    X_r = X[keep]
    t_dc, t_km, t_del = [], [], []
    for r in range(rounds):
        t_km.append(_median_time(lambda: clone(km).fit(X_r), 1))
        t_dc.append(_median_time(lambda: clone(dc).fit(X_r), 1))
        for rows in batches[r * per_round : (r + 1) * per_round]:
            start = time.perf_counter()
            model.unlearn(X[rows])
            t_del.append(time.perf_counter() - start)
    med, p90 = float(np.median(t_del)), float(np.percentile(t_del, 90))
    refit_dc, refit_km = float(np.median(t_dc)), float(np.median(t_km))
    print(
        f"  forgetting 1 row, {len(t_del)} requests: median {med * 1e3:.3f} ms, "
        f"p90 {p90 * 1e3:.3f} ms ({model.unlearn_history_[-1]['details']})"
    )
    for name, refit in (("DCKMeans", refit_dc), ("KMeans", refit_km)):
        print(
            f"  vs {name} refit ({rounds} refits, median {refit * 1e3:.1f} ms): "
            f"speed-up {refit / med:.0f}x at the median, {refit / p90:.0f}x at p90"
        )
    gold = clone(dc).fit(X_r)
    print(
        "  equal to a DCKMeans refit: "
        f"{np.array_equal(gold.cluster_centers_, model.cluster_centers_)}"
    )
    # A batch of 100 rows re-solves up to 100 leaves and their ancestors.
    big = _batches(rng, n, 100, 3, [int(i) for i in np.setdiff1d(np.arange(n), keep)])
    t_batch = []
    for rows in big:
        start = time.perf_counter()
        model.unlearn(X[rows])
        t_batch.append(time.perf_counter() - start)
    keep = model.ledger_.retained()
    X_r = X[keep]
    refit_km = _median_time(lambda: clone(km).fit(X_r), 3)
    batch = float(np.median(t_batch))
    print(
        f"  forgetting 100 rows: median {batch * 1e3:.2f} ms "
        f"({model.unlearn_history_[-1]['details']}); KMeans refit "
        f"{refit_km * 1e3:.1f} ms: speed-up {refit_km / batch:.0f}x"
    )
    ratios = [
        clone(dc).set_params(random_state=s).fit(X_r).inertia_
        / clone(km).set_params(random_state=s).fit(X_r).inertia_
        for s in range(3)
    ]
    print(
        f"  inertia DCKMeans / KMeans (random_state 0, 1, 2): "
        f"{', '.join(f'{r:.4f}' for r in ratios)}; load average {_load()}"
    )


def _load():
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


BENCHES = {
    "logistic": bench_logistic,
    "nb": bench_naive_bayes,
    "neighbors": bench_neighbors,
    "kmeans": bench_kmeans,
}

if __name__ == "__main__":
    warnings.simplefilter("ignore")
    names = sys.argv[1:] or list(BENCHES)
    for name in names:
        start = time.perf_counter()
        BENCHES[name]()
        print(f"  ({time.perf_counter() - start:.0f} s)\n")
