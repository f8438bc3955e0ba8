"""Deletion in forests built for it vs scikit-learn's refit, side by side.

Data: ``make_classification(n_samples=N, n_features=20, n_informative=10,
random_state=0)``, 80/20 split, 100 trees of depth 10, ``n_jobs=2`` for both
fits. Prints fit times (ours, scikit-learn's), test accuracy, the model's
bytes per training row, the first request after fit, then requests of 1, 10
and 100 rows one after another (median, p90, max; subtrees cleared) against
our own same-seed refit on the retained rows and scikit-learn's refit, the
first read after them (it grows the cleared subtrees), 1-row requests each
followed by a prediction, that the unlearned forest equals our refit bit for
bit, 1- and 10-row insertions in place (``partial_fit``) and the forest
after them against a same-seed fit on all its rows, and accuracy on the
bundled data sets.

Usage: ``PYTHONPATH=. python benchmarks/bench_forest.py [--n 100000]
[--trees 100] [--deletions 200] [--refits 1] [--skip-bundled]
[--max-samples 0.2]`` from the
repository root (``PYTHONPATH=.`` makes sure the checkout's package is the
one measured, not another installed copy). ``--refits`` adds scikit-learn
refits on the retained rows; the refit time is the median of all of them and
the first fit. The machine is shared: ratios measured in one run are what to
read, not absolute times.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import time

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    make_classification,
)
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.model_selection import train_test_split

from skunlearn.ensemble import UnlearningForestClassifier, UnlearningForestRegressor


def model_bytes(model):
    """Bytes the fitted model holds: tree arrays, ledger (rows, fingerprints)."""
    total = 0
    for tree in model.trees_:
        for name in ("NI", "NF", "NK", "NT", "SD"):
            total += getattr(tree, name).nbytes
        # order, or the buffer it starts (room for rows added in place)
        buf = getattr(tree, "order_buf", None)
        total += (tree.order if buf is None else buf[0]).nbytes
    led = model.ledger_
    for arr in (
        led.X,
        led.y,
        led._key,
        led._key2,
        led._entry_row,
        led._row_entry,
        led._alive,
        model._row_keys,
        *led.sample_props.values(),
    ):
        total += arr.nbytes
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--deletions", type=int, default=200)
    ap.add_argument("--refits", type=int, default=1)
    ap.add_argument("--insertions", type=int, default=30)
    ap.add_argument(
        "--informative", type=int, default=10, help="n_informative of the data"
    )
    ap.add_argument("--skip-bundled", action="store_true")
    ap.add_argument(
        "--max-samples",
        type=float,
        default=None,
        help="our forest's max_samples (a row lives in 1 - exp(-m) of the trees)",
    )
    args = ap.parse_args()

    X, y = make_classification(
        n_samples=args.n, n_features=20, n_informative=args.informative, random_state=0
    )
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    params = dict(n_estimators=args.trees, max_depth=10, n_jobs=2, random_state=0)
    print(
        f"make_classification n={args.n} (train {len(Xtr)}), p=20, "
        f"informative {args.informative}, "
        f"{args.trees} trees, depth 10, n_jobs=2"
    )

    t = time.perf_counter()
    sk = RandomForestClassifier(**params).fit(Xtr, ytr)
    t_sk = time.perf_counter() - t
    t = time.perf_counter()
    ours = UnlearningForestClassifier(**params, max_samples=args.max_samples)
    ours.fit(Xtr, ytr)
    t_ours = time.perf_counter() - t
    if args.max_samples is not None:
        print(f"ours: max_samples={args.max_samples}")
    print(
        f"fit            sklearn {t_sk:8.2f} s   ours {t_ours:8.2f} s   "
        f"ratio ours/sklearn {t_ours / t_sk:.2f}"
    )
    print(
        f"test accuracy  sklearn {sk.score(Xte, yte):.4f}   "
        f"ours {ours.score(Xte, yte):.4f}"
    )
    per_row = model_bytes(ours) / len(Xtr)
    print(
        f"memory         {per_row:,.0f} bytes per training row "
        f"(training data itself: {Xtr.itemsize * Xtr.shape[1]} bytes per row)"
    )

    rng = np.random.RandomState(0)
    order = rng.permutation(len(Xtr))
    # the first request after fit (the kernels are loaded at the first fit)
    t = time.perf_counter()
    ours.unlearn(Xtr[order[-1:]], ytr[order[-1:]])
    t_first = time.perf_counter() - t
    gone = [order[-1:]]
    pos, stats = 0, {}
    for size, n_req in ((1, args.deletions), (10, 20), (100, 5)):
        times, rebuilt = [], 0
        for _ in range(n_req):
            rows = order[pos : pos + size]
            pos += size
            gone.append(rows)
            t = time.perf_counter()
            ours.unlearn(Xtr[rows], ytr[rows])
            times.append(time.perf_counter() - t)
            details = ours.unlearn_history_[-1]["details"]
            rebuilt += details.get("subtrees_rebuilt", 0)
        stats[size] = (np.array(times), rebuilt / n_req)

    # the subtrees the requests cleared grow at the next read: its time, then
    # requests each read at once (one row predicted after each)
    t = time.perf_counter()
    ours.predict(Xte[:1])
    t_read = time.perf_counter() - t
    t_pair = []
    for _ in range(30):
        rows = order[pos : pos + 1]
        pos += 1
        gone.append(rows)
        t = time.perf_counter()
        ours.unlearn(Xtr[rows], ytr[rows])
        ours.predict(Xte[:1])
        t_pair.append(time.perf_counter() - t)

    keep = np.ones(len(Xtr), bool)
    keep[np.concatenate(gone)] = False
    t_refits = []
    for _ in range(max(args.refits, 1)):
        t = time.perf_counter()
        sk_refit = RandomForestClassifier(**params).fit(Xtr[keep], ytr[keep])
        t_refits.append(time.perf_counter() - t)
    t_refit = float(np.median(t_refits))
    refit = float(np.median([t_sk, *t_refits]))
    t = time.perf_counter()
    gold = UnlearningForestClassifier(**params, max_samples=args.max_samples)
    gold.fit(Xtr[keep], ytr[keep])
    t_own = time.perf_counter() - t
    print(
        f"refit on the retained rows: sklearn {t_refit:.2f} s ({len(t_refits)}x; "
        f"median with its first fit {refit:.2f} s), ours (same seed) {t_own:.2f} s"
    )
    print(f"first request after fit (1 row): {t_first * 1e3:.2f} ms")
    for size, (times, rebuilt) in stats.items():
        med, p90 = (np.percentile(times, q) for q in (50, 90))
        print(
            f"{size:3d}-row requests ({len(times)}): median {med * 1e3:8.2f} ms, "
            f"p90 {p90 * 1e3:8.2f} ms, max {times.max() * 1e3:8.2f} ms; "
            f"subtrees cleared {rebuilt:.1f}; speed-up vs our refit: median "
            f"{t_own / med:,.0f}x, vs sklearn's {refit / med:,.0f}x"
        )
    print(
        "first read after them (grows the subtrees they cleared): "
        f"{t_read * 1e3:.1f} ms"
    )
    med, p90 = (np.percentile(t_pair, q) for q in (50, 90))
    print(
        f"  1-row request, then a 1-row prediction ({len(t_pair)}): median "
        f"{med * 1e3:8.2f} ms, p90 {p90 * 1e3:8.2f} ms; speed-up vs our refit: "
        f"median {t_own / med:,.0f}x"
    )
    same = np.array_equal(ours.predict_proba(Xte), gold.predict_proba(Xte))
    print(
        f"unlearned == refit on retained rows (predict_proba, bitwise): {same}; "
        f"sklearn refit accuracy {sk_refit.score(Xte, yte):.4f}"
    )
    # insertion: partial_fit of forgotten rows, one at a time, then batches
    # of 10 (in place: each tree that draws a row adds it along its path)
    med_del = float(np.median(stats[1][0]))
    added = []
    n_one = 1 + args.deletions
    for label, batches in (
        ("1-row", gone[1 : 1 + args.insertions]),
        ("10-row", gone[n_one : n_one + min(args.insertions, 20)]),
    ):
        t_ins = []
        for rows in batches:
            t = time.perf_counter()
            ours.partial_fit(Xtr[rows], ytr[rows])
            t_ins.append(time.perf_counter() - t)
            added.append(rows)
        if t_ins:
            med, p90 = (float(np.percentile(t_ins, q)) for q in (50, 90))
            print(
                f"{label} insertions ({len(t_ins)}, partial_fit in place): median "
                f"{med * 1e3:8.2f} ms, p90 {p90 * 1e3:8.2f} ms; speed-up vs our "
                f"refit {t_own / med:,.0f}x; {med / med_del:.1f}x a 1-row "
                "deletion's median"
            )
    if added:
        # the model is the same-seed fit on its rows: retained, then added
        added = np.concatenate(added)
        X_all = np.concatenate([Xtr[keep], Xtr[added]])
        y_all = np.concatenate([ytr[keep], ytr[added]])
        gold = UnlearningForestClassifier(**params, max_samples=args.max_samples)
        gold.fit(X_all, y_all)
        same = np.array_equal(ours.predict_proba(Xte), gold.predict_proba(Xte))
        print(f"after the insertions == same-seed fit on all rows (bitwise): {same}")

    if args.skip_bundled:
        return
    print("\nbundled data (5 splits, 100 trees, defaults otherwise): mean test score")
    for name, loader, reg in [
        ("breast_cancer", load_breast_cancer, False),
        ("digits", load_digits, False),
        ("diabetes", load_diabetes, True),
    ]:
        Xb, yb = loader(return_X_y=True)
        pairs = []
        for seed in range(5):
            a, b, c, d = train_test_split(Xb, yb, test_size=0.2, random_state=seed)
            if reg:
                m1 = UnlearningForestRegressor(100, random_state=seed, n_jobs=2)
                m2 = RandomForestRegressor(100, random_state=seed, n_jobs=2)
            else:
                m1 = UnlearningForestClassifier(100, random_state=seed, n_jobs=2)
                m2 = RandomForestClassifier(100, random_state=seed, n_jobs=2)
            pairs.append((m1.fit(a, c).score(b, d), m2.fit(a, c).score(b, d)))
        o, s = np.mean(pairs, axis=0)
        what = "R^2" if reg else "accuracy"
        print(
            f"  {name:14s} {what:8s} ours {o:.4f}  sklearn {s:.4f}  diff {o - s:+.4f}"
        )


if __name__ == "__main__":
    main()
