"""Gradient boosting built for deletion vs scikit-learn's, side by side.

Data: ``make_classification(n_samples=N, n_features=20, n_informative=10,
random_state=0)``, 80/20 split, 100 iterations, 31 leaves (the defaults of
both). Prints:

1. fit times of scikit-learn's ``HistGradientBoostingClassifier``
   (``early_stopping=False``, its OpenMP threads) and of
   ``UnlearningGradientBoostingClassifier`` (one thread), and test accuracy;
2. deletions of 1, 10 and 100 rows (one after another on the same model)
   against our own refit on the retained rows (median and mean, and how
   many deletions replayed every tree), and a check that the last unlearned
   model predicts as a same-seed refit does;
3. accuracy (R^2 for regression) against scikit-learn on generated and
   bundled data sets, mean over seeds;
4. what the model holds per training row.

With ``--stability``, instead: how often a 1-row deletion changes no tree,
at several training sizes. Each request is made on a copy of the fitted
model. A request that keeps every split and leaf value replays each tree;
one that changes a tree regrows it and every tree after it. ``hazard`` is
``-ln(share of requests that change no tree)``: the mean number of trees a
request would change if changes were independent.

Usage: ``PYTHONPATH=. python benchmarks/bench_boosting.py [--quick] [--n
100000] [--iter 100] [--deletions 20] [--seeds 3]`` from the repository
root. ``--quick``: 20,000 rows, 5/3/2 deletions, one seed.
``--stability [--sizes 25000 100000 400000]``: the stability section alone.
The machine is shared: read the ratios measured in one run, not absolute
times.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import copy
import time

import numpy as np
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    make_classification,
    make_friedman1,
    make_hastie_10_2,
)
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.model_selection import train_test_split

from skunlearn.ensemble._boosting import (
    UnlearningGradientBoostingClassifier,
    UnlearningGradientBoostingRegressor,
)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def model_bytes(model):
    """Bytes the fitted model holds (trees, histograms, per-row state, ledger)."""
    names = ("_nodes", "_nodef", "_nodek", "_hists", "_leaves", "_xb", "_row_keys")
    own = sum(getattr(model, n).nbytes for n in names)
    led = model.ledger_
    ledger = sum(
        a.nbytes
        for a in (led.X, led.y, led._key, led._key2, led._entry_row, led._row_entry)
    )
    return own, ledger


def fit_section(args):
    X, y = make_classification(
        n_samples=args.n, n_features=20, n_informative=10, random_state=0
    )
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    sk, t_sk = timed(
        lambda: HistGradientBoostingClassifier(
            max_iter=args.iter, early_stopping=False, random_state=0
        ).fit(Xtr, ytr)
    )
    est = UnlearningGradientBoostingClassifier(max_iter=args.iter, random_state=0)
    ours, t_ours = timed(lambda: clone(est).fit(Xtr, ytr))
    print(f"make_classification n={args.n} (train {len(Xtr)}), p=20, {args.iter} it.")
    print(f"{'':28}{'scikit-learn':>14}{'ours':>10}{'ratio':>8}")
    print(f"{'fit (s)':28}{t_sk:14.2f}{t_ours:10.2f}{t_ours / t_sk:7.2f}x")
    a_sk, a_ours = sk.score(Xte, yte), ours.score(Xte, yte)
    print(f"{'test accuracy':28}{a_sk:14.4f}{a_ours:10.4f}{a_ours - a_sk:+8.4f}")
    return est, ours, Xtr, ytr, t_ours


def deletion_section(args, est, model, Xtr, ytr, t_fit):
    print()
    print(f"{'deletion (rows)':18}{'runs':>5}{'median s':>10}{'mean s':>9}"
          f"{'refit s':>9}{'x median':>9}{'x mean':>8}{'all kept':>9}")  # fmt: skip
    rng = np.random.RandomState(0)
    alive = np.ones(len(ytr), dtype=bool)
    for size, runs in ((1, args.deletions), (10, args.batches), (100, args.batches)):
        times, kept, kept_times = [], 0, []
        for _ in range(runs):
            rows = rng.choice(np.flatnonzero(alive), size, replace=False)
            Xf, yf = Xtr[rows], ytr[rows]
            t = time.perf_counter()
            model.unlearn(Xf, yf)
            t = time.perf_counter() - t
            alive[rows] = False
            times.append(t)
            details = model.unlearn_history_[-1]["details"]
            if details.get("trees_regrown", -1) == 0:
                kept += 1
                kept_times.append(t)
        gold, t_refit = timed(lambda: clone(est).fit(Xtr[alive], ytr[alive]))
        med, mean = float(np.median(times)), float(np.mean(times))
        ratios = f"{t_refit / med:8.1f}x{t_refit / mean:7.1f}x"
        print(f"{size:<18}{runs:5}{med:10.3f}{mean:9.3f}{t_refit:9.2f}"
              f"{ratios}{kept:6}/{runs}")  # fmt: skip
        if kept_times:
            k_med = float(np.median(kept_times))
            print(
                f"  {size}-row deletions that kept every tree: median "
                f"{k_med:.3f} s, {t_refit / k_med:.1f}x faster than the refit"
            )
    same = np.array_equal(model.predict_proba(Xtr), gold.predict_proba(Xtr))
    print(f"last model equals its same-seed refit (probabilities): {same}")
    strategies = {}
    for record in model.unlearn_history_:
        strategies[record["strategy"]] = strategies.get(record["strategy"], 0) + 1
    print(f"strategies: {strategies}")
    own, ledger = model_bytes(model)
    n = model.ledger_.n_rows
    print(
        f"memory: {own / n:.0f} bytes/row in the model (histograms "
        f"{model._hists.nbytes / 1e6:.0f} MB, leaves {model._leaves.nbytes / 1e6:.0f}"
        f" MB), {ledger / n:.0f} bytes/row in the ledger; fit took {t_fit:.2f} s"
    )


def _datasets(quick):
    X, y = make_classification(
        n_samples=20_000, n_features=20, n_informative=10, random_state=1
    )
    yield "make_classification 20k", X, y, "clf"
    X, y = make_hastie_10_2(n_samples=12_000, random_state=0)
    yield "hastie_10_2 12k", X, y, "clf"
    yield "breast_cancer", *load_breast_cancer(return_X_y=True), "clf"
    yield "digits (10 classes)", *load_digits(return_X_y=True), "clf"
    X, y = make_friedman1(n_samples=10_000, noise=1.0, random_state=0)
    yield "friedman1 10k (R^2)", X, y, "reg"
    yield "diabetes (R^2)", *load_diabetes(return_X_y=True), "reg"


def accuracy_section(args):
    print()
    print(f"{'accuracy (mean of ' + str(args.seeds) + ' seeds)':28}"
          f"{'scikit-learn':>14}{'ours':>10}{'diff':>8}")  # fmt: skip
    for name, X, y, task in _datasets(args.quick):
        pairs = []
        for seed in range(args.seeds):
            Xtr, Xte, ytr, yte = train_test_split(
                X, y, test_size=0.25, random_state=seed
            )
            if task == "clf":
                sk = HistGradientBoostingClassifier(early_stopping=False)
                ours = UnlearningGradientBoostingClassifier(random_state=seed)
            else:
                sk = HistGradientBoostingRegressor(early_stopping=False)
                ours = UnlearningGradientBoostingRegressor(random_state=seed)
            sk.set_params(random_state=seed)
            pairs.append(
                (sk.fit(Xtr, ytr).score(Xte, yte), ours.fit(Xtr, ytr).score(Xte, yte))
            )
        a_sk, a_ours = np.mean(pairs, axis=0)
        print(f"{name:28}{a_sk:14.4f}{a_ours:10.4f}{a_ours - a_sk:+8.4f}")


def stability_section(args):
    print(f"{'1-row deletions':16}{'runs':>5}{'no tree':>9}{'hazard':>8}"
          f"{'regrown':>9}{'median s':>10}{'refit s':>9}{'x median':>9}"
          f"{'x kept':>8}")  # fmt: skip
    for n in args.sizes:
        X, y = make_classification(
            n_samples=n, n_features=20, n_informative=10, random_state=0
        )
        Xtr, _, ytr, _ = train_test_split(X, y, test_size=0.2, random_state=0)
        est = UnlearningGradientBoostingClassifier(max_iter=args.iter, random_state=0)
        model = clone(est).fit(Xtr, ytr)
        t_refit = time.perf_counter()
        clone(est).fit(Xtr[1:], ytr[1:])
        t_refit = time.perf_counter() - t_refit
        rng = np.random.RandomState(1)
        times, regrown, kept_times = [], [], []
        for r in rng.choice(len(ytr), args.deletions, replace=False):
            m = copy.deepcopy(model)
            t = time.perf_counter()
            m.unlearn(Xtr[r : r + 1], ytr[r : r + 1])
            t = time.perf_counter() - t
            times.append(t)
            regrown.append(m.unlearn_history_[-1]["details"].get("trees_regrown", -1))
            if regrown[-1] == 0:
                kept_times.append(t)
        share = np.mean(np.array(regrown) == 0)
        hazard = -np.log(share) if share > 0 else np.inf
        med = float(np.median(times))
        kept = f"{t_refit / np.median(kept_times):7.1f}x" if kept_times else "      -"
        print(f"{len(ytr):<16}{len(times):5}{share:9.2f}{hazard:8.2f}"
              f"{np.median(regrown):9.0f}{med:10.3f}{t_refit:9.2f}"
              f"{t_refit / med:8.1f}x{kept}")  # fmt: skip


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--iter", type=int, default=100)
    ap.add_argument("--deletions", type=int, default=None)
    ap.add_argument("--batches", type=int, default=None)
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--stability", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 100_000, 400_000])
    args = ap.parse_args()
    quick = args.quick
    args.n = args.n or (20_000 if quick else 100_000)
    args.deletions = args.deletions or (5 if quick else 20)
    args.batches = args.batches or (2 if quick else 3)
    args.seeds = args.seeds or (1 if quick else 3)
    # compile the kernels (cached on disk afterwards): a model on a few
    # feature values, whose one-row deletion replays its trees
    X, y = make_classification(n_samples=3000, n_features=5, random_state=0)
    X = np.round(X)
    for labels in (y, y % 3):
        warm = UnlearningGradientBoostingClassifier(max_iter=3, random_state=0)
        warm.fit(X, labels).unlearn(X[:1], labels[:1])
    if args.stability:
        stability_section(args)
        return
    est, model, Xtr, ytr, t_fit = fit_section(args)
    deletion_section(args, est, copy.deepcopy(model), Xtr, ytr, t_fit)
    accuracy_section(args)


if __name__ == "__main__":
    main()
