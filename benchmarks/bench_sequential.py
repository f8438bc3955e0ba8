"""10,000 single-row requests in a row: still the refit, at a flat cost.

A model in service answers one deletion request after another. For each
family this forgets ``--requests`` rows one at a time (default 10,000 of
20,000), prints the median time of a request and the process's resident
memory for each block of 1,000 requests (they should stay flat: no per-request
state that grows, no slowdown as erased slots pile up), then compares the
model with a refit on the retained rows: within 1e-8 for the closed-form
ridge, identical predictions (and, for trees, nodes) for the others.

Run: ``python benchmarks/bench_sequential.py [--n 20000] [--requests 10000]
[--families ridge knn forest sisa]``
"""

import argparse
import resource
import statistics
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from skunlearn import Unlearnable
from skunlearn.ensemble import SISAClassifier, UnlearningForestClassifier


def rss_mb():
    # peak resident set size of the process so far (Linux reports KiB)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


FAMILIES = {
    "ridge": (lambda: Unlearnable(Ridge(alpha=1.0)), "reg"),
    "knn": (lambda: Unlearnable(KNeighborsClassifier(5)), "clf"),
    "forest": (
        lambda: UnlearningForestClassifier(
            n_estimators=20, max_depth=8, random_state=0, n_jobs=2
        ),
        "clf",
    ),
    "sisa": (
        lambda: SISAClassifier(
            DecisionTreeClassifier(random_state=0), n_shards=20, random_state=0
        ),
        "clf",
    ),
}


def compare(name, model, gold, X):
    if name == "ridge":
        err = np.abs(model.coef_ - gold.coef_).max() / np.abs(gold.coef_).max()
        ok = err <= 1e-8
        return ok, f"max relative coefficient difference {err:.1e}"
    same = np.array_equal(model.predict(X), gold.predict(X))
    if hasattr(model, "predict_proba"):
        same &= np.array_equal(model.predict_proba(X), gold.predict_proba(X))
    return same, "predictions identical" if same else "predictions DIFFER"


def run(name, n, requests, block):
    make, kind = FAMILIES[name]
    X, y = make_classification(
        n_samples=n, n_features=20, n_informative=10, random_state=0
    )
    if kind == "reg":
        y = X @ np.random.RandomState(1).randn(20) + 0.1 * np.random.RandomState(
            2
        ).randn(n)
    model = make().fit(X, y)
    order = np.random.RandomState(3).permutation(n)[:requests]
    print(f"\n{name}: {requests:,} single-row requests on {n:,} rows")
    print(f"{'requests':>10} {'median ms':>10} {'p90 ms':>8} {'peak RSS MB':>12}")
    times = []
    for i, row in enumerate(order, 1):
        start = time.perf_counter()
        model.unlearn(X[row : row + 1])
        times.append(time.perf_counter() - start)
        if i % block == 0:
            last = times[-block:]
            print(
                f"{i:>10,} {statistics.median(last) * 1e3:>10.3f} "
                f"{np.percentile(last, 90) * 1e3:>8.3f} {rss_mb():>12.0f}"
            )
    keep = np.setdiff1d(np.arange(n), order)
    start = time.perf_counter()
    gold = make().fit(X[keep], y[keep])
    refit = time.perf_counter() - start
    ok, what = compare(name, model, gold, X)
    first = statistics.median(times[:block])
    last = statistics.median(times[-block:])
    print(
        f"  equal to the refit: {ok} ({what}); refit {refit * 1e3:.1f} ms, "
        f"median request {statistics.median(times) * 1e3:.3f} ms "
        f"(refit / request {refit / statistics.median(times):,.0f}x); "
        f"last block / first block {last / first:.2f}x"
    )
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--block", type=int, default=1_000)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    args = parser.parse_args()
    results = [run(name, args.n, args.requests, args.block) for name in args.families]
    if not all(results):
        raise SystemExit("some model differs from its refit")


if __name__ == "__main__":
    main()
