"""Ridge at scale: unlearning vs scikit-learn refit, side by side in one run.

n = 1,000,000 rows, d = 100 features (float64, 800 MB). For k = 1, 100 and
10,000 forgotten rows it times ``Unlearnable(Ridge()).unlearn`` and
``Ridge().fit`` on the retained rows, prints medians, ratios and the largest
coefficient difference; it also compares ``fit`` times and times the ledger's
matching of 1,000 forget rows.

Run: ``python benchmarks/bench_linear.py [--n 1000000] [--d 100] [--repeats 3]``

The first request after ``fit`` runs with cold caches (``fit`` has just
streamed 800 MB through them); later requests show a model in service.
"""

import argparse
import statistics
import time

import numpy as np
from sklearn.linear_model import Ridge

from skunlearn import Unlearnable


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 100, 10_000])
    parser.add_argument("--followups", type=int, default=4)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.d))
    y = X @ rng.standard_normal(args.d) + rng.standard_normal(args.n)

    fit_ours, fit_sk = [], []
    for _ in range(args.repeats):
        t, _ = timed(lambda: Ridge().fit(X, y))
        fit_sk.append(t)
        t, model = timed(lambda: Unlearnable(Ridge()).fit(X, y))
        fit_ours.append(t)
    f_ours, f_sk = statistics.median(fit_ours), statistics.median(fit_sk)
    print(f"n={args.n:,} d={args.d}  (medians of {args.repeats})")
    print(
        f"fit: skunlearn {f_ours:.2f} s, scikit-learn {f_sk:.2f} s, "
        f"ratio {f_ours / f_sk:.2f}x"
    )

    probe = X[rng.choice(args.n, 1000, replace=False)]
    t_match = statistics.median(
        timed(lambda: model.ledger_.match(probe))[0] for _ in range(args.repeats)
    )
    print(
        f"ledger: matching 1,000 forget rows against {args.n:,}: {t_match * 1e3:.1f} ms"
    )

    print(
        "unlearn: the first request after fit, and the median of the next "
        f"{args.followups} requests of the same size (a model in service)"
    )
    print(
        f"{'k':>7} {'first (ms)':>11} {'next (ms)':>10} {'refit (s)':>10} "
        f"{'speed-up first':>15} {'next':>9} {'max |coef diff|':>16} {'solve':>9}"
    )
    for k in args.ks:
        t_first, t_next, t_refit, diffs = [], [], [], []
        for _ in range(args.repeats):
            model = Unlearnable(Ridge()).fit(X, y)
            order = rng.permutation(args.n)[: k * (args.followups + 1)]
            requests = np.split(order, args.followups + 1)
            keep = np.ones(args.n, dtype=bool)
            for i, forget in enumerate(requests):
                Xf, yf = X[forget], y[forget]
                start = time.perf_counter()
                model.unlearn(Xf, yf)
                (t_first if i == 0 else t_next).append(time.perf_counter() - start)
                keep[forget] = False
                if i == 0:
                    Xr, yr = X[keep], y[keep]
                    start = time.perf_counter()
                    gold = Ridge().fit(Xr, yr)
                    t_refit.append(time.perf_counter() - start)
                    del Xr, yr
                    diffs.append(np.abs(model.coef_ - gold.coef_).max())
            gold = Ridge().fit(X[keep], y[keep])  # after the whole sequence
            diffs.append(np.abs(model.coef_ - gold.coef_).max())
        tf, tn = statistics.median(t_first), statistics.median(t_next)
        tr = statistics.median(t_refit)
        solve = model.unlearn_history_[-1]["details"]["solve"]
        print(
            f"{k:>7,} {tf * 1e3:>11.2f} {tn * 1e3:>10.2f} {tr:>10.2f} "
            f"{tr / tf:>14,.0f}x {tr / tn:>8,.0f}x {max(diffs):>16.2e} {solve:>9}"
        )


if __name__ == "__main__":
    main()
