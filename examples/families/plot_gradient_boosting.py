"""
=======================================
Gradient boosting that forgets, exactly
=======================================

Gradient-boosted trees cannot simply drop a row: each tree is fit to the
errors of all the trees before it, so one row's influence runs through every
later tree, and the only exact answer is a refit.

:class:`~skunlearn.ensemble.UnlearningGradientBoostingClassifier` is a
histogram gradient boosting model, with scikit-learn's parameter names and
defaults, built so that a deletion can be *replayed*: gradients are summed in
fixed point (a histogram with a row taken out is the histogram a refit sums),
leaf values are rounded to a coarse grid (a forgotten row rarely moves one),
and the bin edges come from hashed "pivot" rows rather than quantiles.
:meth:`~skunlearn.ensemble.UnlearningGradientBoostingClassifier.unlearn`
replays the iterations without the forgotten rows while every tree stays the
same, and regrows the trees from the first one that changes. The result is
the model a refit on the retained rows builds with the same seed, bit for
bit.

This example shows that, and what it costs. The short answer: deletion is
exact and recorded, but it is **not** much cheaper than a refit. Boosting is
sequential, so once one tree changes, every later tree is grown again; most
single-row deletions change an early tree.
"""

# %%
# Fit, and compare with scikit-learn and with the forest
# -------------------------------------------------------
# Sixteen thousand training rows, 20 features, 100 boosting iterations; each
# fit time is the faster of two fits. scikit-learn's
# :class:`~sklearn.ensemble.HistGradientBoostingClassifier` gets the same
# parameters, with early stopping off (ours has none: it would make the
# number of trees depend on every row), and one thread, as ours runs on one
# core (it would use all of them otherwise).
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from skunlearn.ensemble import (
    UnlearningForestClassifier,
    UnlearningGradientBoostingClassifier,
)

X, y = make_classification(
    n_samples=20_000, n_features=20, n_informative=8, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
params = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, random_state=0)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def best_of_two(fn):
    # the faster of two runs: leaves out one-off start-up costs (thread pools,
    # compiled code loaded from disk) and some of a shared machine's noise
    (out, t1), (_, t2) = timed(fn), timed(fn)
    return out, min(t1, t2)


gb, t_fit = best_of_two(
    lambda: UnlearningGradientBoostingClassifier(**params).fit(X_train, y_train)
)
with threadpool_limits(limits=1, user_api="openmp"):
    hgb, t_hgb = best_of_two(
        lambda: HistGradientBoostingClassifier(early_stopping=False, **params).fit(
            X_train, y_train
        )
    )
forest, t_forest = best_of_two(
    lambda: UnlearningForestClassifier(
        n_estimators=50, max_depth=10, n_jobs=2, random_state=0
    ).fit(X_train, y_train)
)
for name, est, t in [
    ("ours (boosting)", gb, t_fit),
    ("scikit-learn HistGradientBoosting", hgb, t_hgb),
    ("ours (forest)", forest, t_forest),
]:
    print(f"{name:>34}: fit {t:.2f} s, test accuracy {est.score(X_test, y_test):.3f}")

# %%
# Our boosting model is as accurate as scikit-learn's (its rounded leaf
# values are noise well below a leaf's statistical error) and fits in a
# similar time (it also fingerprints the rows and keeps them for a refit).
# The forest built for deletion is less accurate on this data set.
#
# Fifteen deletion requests
# -------------------------
# Fifteen people ask, one after the other, to be forgotten. Each request is
# answered in place; the history records how it was served: by replaying the
# trees (strategy ``"boosting_deletion"``, with how many trees were grown
# again), or by a refit on the retained rows when a global value changed
# (the bin edges, when the row was a pivot, or the initial prediction).
# Both give the same-seed refit's model.
forget = np.random.RandomState(1).choice(len(X_train), size=15, replace=False)
for i, row in enumerate(forget):
    gb.unlearn(X_train[row : row + 1], request_id=f"request-{i}")
history = gb.unlearn_history_
print(history[-1])
seconds = np.array([r["seconds"] for r in history])
replayed = np.array([r["strategy"] == "boosting_deletion" for r in history])
regrown = np.array([r["details"].get("trees_regrown", -1) for r in history])
print(f"{replayed.sum()} requests replayed, regrowing trees from the first change:")
print(f"  trees regrown: {sorted(regrown[replayed].tolist())}")
for r in history:
    if r["strategy"] == "refit":
        print(f"  {r['request_id']}: refit, because {r['details']['reason']}")

# %%
# The exact answer to compare with
# --------------------------------
# A refit on the retained rows, with the same seed (timed once, as each
# deletion was). The model after fifteen deletions is that model: the same
# predictions and probabilities, to the last bit.
keep = np.ones(len(X_train), dtype=bool)
keep[forget] = False
refit, t_refit = timed(
    lambda: UnlearningGradientBoostingClassifier(**params).fit(
        X_train[keep], y_train[keep]
    )
)
same_proba = np.array_equal(gb.predict_proba(X_test), refit.predict_proba(X_test))
same_pred = np.array_equal(gb.predict(X_test), refit.predict(X_test))
print("unlearned == same-seed refit (predict_proba, bitwise):", same_proba)
print("unlearned == same-seed refit (predict, bitwise):", same_pred)
assert same_proba and same_pred

# %%
# What a deletion costs
# ---------------------
# Each iteration is replayed without the forgotten row: its trees lose the
# row from the nodes on its path, and the best splits and leaf values are
# checked again. When they all stay, the next iteration is replayed too.
# From the first iteration whose output changes on, every tree is grown
# again. Replaying a tree is cheaper than growing it, but not free, so the
# cost grows with the number of trees regrown; and most single-row deletions
# here change a tree within the first third of the iterations, so they regrow
# most of the trees. (Timings vary from run to run; the figure below is this
# run's.)
print(
    f"one-row deletion: median {np.median(seconds):.2f} s, "
    f"mean {seconds.mean():.2f} s; refit on the retained rows {t_refit:.2f} s"
)
print(f"a one-row deletion costs {seconds.mean() / t_refit:.0%} of a refit on average")

# %%
# Batches: one request forgetting many rows is more likely to change an
# early tree, and to remove a pivot row (then the bin edges change and the
# request is served by a refit), so it costs about a refit. Each batch is
# forgotten from two copies of the model and timed against two refits on the
# rows it leaves (the faster of each pair).
import copy

batch_sizes = [1, 10, 100]
retained = np.flatnonzero(keep)
batch_seconds, batch_refit_seconds = [], []
for size in batch_sizes:
    rows = np.random.RandomState(size).choice(retained, size=size, replace=False)
    copies = [copy.deepcopy(gb).unlearn(X_train[rows]) for _ in range(2)]
    batch_seconds.append(min(m.unlearn_history_[-1]["seconds"] for m in copies))
    rest = np.setdiff1d(retained, rows)
    _, t = best_of_two(
        lambda rest=rest: UnlearningGradientBoostingClassifier(**params).fit(
            X_train[rest], y_train[rest]
        )
    )
    batch_refit_seconds.append(t)
    record = copies[0].unlearn_history_[-1]
    print(
        f"forget {size:4d} rows: unlearn {batch_seconds[-1]:.2f} s "
        f"({record['strategy']}), refit {batch_refit_seconds[-1]:.2f} s"
    )

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
ax1.scatter(regrown[replayed], seconds[replayed], color="tab:blue", label="replayed")
if (~replayed).any():
    ax1.scatter(
        np.full((~replayed).sum(), params["max_iter"]),
        seconds[~replayed],
        color="tab:orange",
        marker="x",
        label="served by a refit",
    )
ax1.axhline(t_refit, color="tab:orange", lw=2, label="refit, retained rows")
ax1.set_xlim(-5, params["max_iter"] + 5)
ax1.set_ylim(0, 1.5 * max(seconds.max(), t_refit))
ax1.set_xlabel(f"trees regrown (of {params['max_iter']})")
ax1.set_ylabel("seconds")
ax1.set_title("A deletion costs the trees it regrows")
ax1.legend(loc="upper left", fontsize="small")

ax2.plot(batch_sizes, batch_seconds, "o-", color="tab:blue", label="unlearn")
ax2.plot(
    batch_sizes,
    batch_refit_seconds,
    "s-",
    color="tab:orange",
    label="refit, retained rows",
)
ax2.set_xscale("log")
ax2.set_ylim(0, None)
ax2.set_xlabel("rows forgotten in one request")
ax2.set_ylabel("seconds")
ax2.set_title("Batches cost about a refit")
ax2.legend(loc="lower right", fontsize="small")
fig.tight_layout()
plt.show()

# %%
# The forest, by contrast, rebuilds only the subtrees whose split changed:
# a one-row deletion there takes milliseconds. Choose it when deletions are
# frequent; choose boosting for its accuracy when they are rare, or put it
# inside :class:`~skunlearn.ensemble.SISAClassifier` to retrain only a shard.
for i, row in enumerate(forget[:5]):
    forest.unlearn(X_train[row : row + 1], request_id=f"request-{i}")
forest_seconds = [r["seconds"] for r in forest.unlearn_history_]
print(f"forest: median one-row deletion {np.median(forest_seconds) * 1e3:.1f} ms")

# %%
# The regressor
# -------------
# :class:`~skunlearn.ensemble.UnlearningGradientBoostingRegressor` forgets
# the same way, with the squared error.
from sklearn.datasets import make_friedman1

from skunlearn.ensemble import UnlearningGradientBoostingRegressor

X_r, y_r = make_friedman1(n_samples=5000, noise=1.0, random_state=0)
regressor = UnlearningGradientBoostingRegressor(random_state=0).fit(X_r, y_r)
regressor.unlearn(X_r[:5], y_r[:5], request_id="five-rows")
gold = UnlearningGradientBoostingRegressor(random_state=0).fit(X_r[5:], y_r[5:])
print(regressor.unlearn_history_[-1]["strategy"])
print(
    "unlearned == same-seed refit (predict, bitwise):",
    np.array_equal(regressor.predict(X_r), gold.predict(X_r)),
)

# %%
# In short: the model after ``unlearn`` is the same-seed refit's model, bit
# for bit, and the history says how each request was served, but the time
# saved is modest: replaying is not free, and most deletions regrow the
# majority of the trees. At 100,000 rows a one-row deletion is only about
# 1.5x faster than a refit on average, and batches of ten rows or more cost
# about a refit (``benchmarks/bench_boosting.py`` measures this at scale).
