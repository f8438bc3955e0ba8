"""Benchmark: unlearning through pipelines vs refitting on the retained rows.

1. ``make_pipeline(StandardScaler(), Ridge())`` at n = 1,000,000, d = 100,
   forgetting 100 rows: the fused closed-form path (no retained row touched)
   against ``clone(pipe).fit(X_retain, y_retain)``. Target: >= 100x.
2. The mixed-type pipeline (``ColumnTransformer(SimpleImputer + StandardScaler,
   OneHotEncoder)`` + ``LogisticRegression``, and + ``Ridge``) at n = 200,000:
   the transformers unlearn incrementally, but the scaler's mean moves, so the
   model must be refit on the retained rows: the ratio is close to 1 and the
   history says why.

Each figure is the median of ``--repeat`` runs measured side by side in one
process. Usage: ``python benchmarks/bench_pipeline.py [--n 1000000] [--repeat 3]``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skunlearn.pipeline import make_pipeline


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench_fused(n, d, k, repeat, rng, refit_repeat=1):
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 5, d) + rng.uniform(-3, 3, d)
    y = X @ rng.standard_normal(d) + rng.standard_normal(n)
    pipe = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    t_fit = _median_time(lambda: clone(pipe).fit(X, y), 1)
    fitted = clone(pipe).fit(X, y)
    forget_sets = np.split(rng.choice(n, size=k * repeat, replace=False), repeat)
    times = []
    for idx in forget_sets:
        start = time.perf_counter()
        fitted.unlearn(X[idx])
        times.append(time.perf_counter() - start)
    t_unlearn = float(np.median(times))
    gone = np.zeros(n, dtype=bool)
    gone[np.concatenate(forget_sets)] = True
    X_r, y_r = X[~gone], y[~gone]
    t_refit = _median_time(
        lambda: sk_make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(X_r, y_r),
        repeat,
    )
    gold = sk_make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(X_r, y_r)
    err = np.max(np.abs(fitted[-1].coef_ - gold[-1].coef_)) / np.max(
        np.abs(gold[-1].coef_)
    )
    print(f"[fused] StandardScaler+Ridge n={n:,} d={d} forget {k} rows (x{repeat})")
    print(f"  fit (ours, once)      {t_fit:9.3f} s")
    print(
        f"  refit on retained     {t_refit:9.3f} s  (sklearn Pipeline, x{refit_repeat})"
    )
    print(f"  unlearn {k} rows      {t_unlearn:9.4f} s  (median)")
    print(f"  speed-up vs refit     {t_refit / t_unlearn:9.0f} x   (target >= 100x)")
    print(
        f"  max rel. coef error vs refit: {err:.1e}; strategy: "
        f"{fitted.unlearn_history_[-1]['details']['strategy']}"
    )


def _mixed_data(n, rng):
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "income": rng.lognormal(10, 1, n),
            "hours": rng.normal(38, 8, n),
            "city": rng.choice(["paris", "lyon", "nice", "lille", "metz"], n),
            "job": rng.choice([f"job{i}" for i in range(30)], n),
        }
    )
    df.loc[rng.random(n) < 0.05, "age"] = np.nan
    df.loc[rng.random(n) < 0.05, "income"] = np.nan
    score = (df["hours"] - 38) / 8 + (df["city"] == "paris") + rng.standard_normal(n)
    return df, (score > 0.5).astype(int).to_numpy(), score.to_numpy()


def bench_mixed(n, k, repeat, rng):
    df, y_cls, y_reg = _mixed_data(n, rng)

    def ct():
        num = sk_make_pipeline(SimpleImputer(), StandardScaler())
        return ColumnTransformer(
            [
                ("num", num, ["age", "income", "hours"]),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "job"]),
            ]
        )

    for label, final, y in [
        ("LogisticRegression", LogisticRegression(max_iter=1000), y_cls),
        ("Ridge", Ridge(), y_reg),
    ]:
        fitted = make_pipeline(ct(), clone(final)).fit(df, y)
        forget_sets = np.split(rng.choice(n, size=k * repeat, replace=False), repeat)
        gone = np.zeros(n, dtype=bool)
        times, refits = [], []
        # Interleaved: each unlearn is timed next to the refit it replaces, so
        # that the load of the shared machine hits both alike.
        for idx in forget_sets:
            start = time.perf_counter()
            fitted.unlearn(df.iloc[idx])
            times.append(time.perf_counter() - start)
            gone[idx] = True
            df_r, y_r = df[~gone], y[~gone]
            start = time.perf_counter()
            sk_make_pipeline(ct(), clone(final)).fit(df_r, y_r)
            refits.append(time.perf_counter() - start)
        t_refit = float(np.median(refits))
        t_unlearn = float(np.median(times))
        steps = fitted.unlearn_history_[-1]["details"]["steps"]
        print(
            f"[mixed] ColumnTransformer + {label} n={n:,} forget {k} rows (x{repeat})"
        )
        print(f"  refit on retained     {t_refit:9.3f} s")
        print(f"  unlearn               {t_unlearn:9.3f} s")
        print(f"  ratio                 {t_refit / t_unlearn:9.2f} x")
        print(
            "  why: "
            + "; ".join(f"{s['step']}: {s['strategy']}" for s in steps)
            + " (the scaler's mean moves, so the model is refit on the retained rows)"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--n-mixed", type=int, default=200_000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["fused", "mixed"], default=None)
    parser.add_argument(
        "--refit-repeat",
        type=int,
        default=1,
        help="refits timed for the fused case (each takes ~a fit at n=1e6)",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    if args.only in (None, "fused"):
        bench_fused(args.n, args.d, args.k, args.repeat, rng, args.refit_repeat)
    if args.only in (None, "mixed"):
        bench_mixed(args.n_mixed, args.k, args.repeat, rng)


if __name__ == "__main__":
    main()
