"""
=======================================================
Nearest neighbours and naive Bayes: forgetting is cheap
=======================================================

Some models forget almost for free, because of what they are made of.

- A **nearest neighbours** model *is* its training rows (plus a search tree
  over them). Forgetting deletes rows from the index.
- A **naive Bayes** model is a table of per-class counts (or means and
  variances). Forgetting subtracts the rows' counts.

Both are exact: the model afterwards holds what a refit on the retained rows
holds. :class:`~skunlearn.Unlearnable` picks the right strategy from the
estimator's type.
"""

# %%
# Removing corrupted rows from a k-NN classifier
# ----------------------------------------------
# A labelling vendor got one region of the input space wrong: the rows near
# the point (0.5, 0.25) were labelled as the other class. A 5-nearest
# neighbours classifier trusts them and carves a wrong island into its
# decision surface. Once the rows are found, forgetting them removes the
# island at once, without waiting for the next retraining.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.neighbors import KNeighborsClassifier

from skunlearn import Unlearnable

X, y = make_moons(n_samples=600, noise=0.2, random_state=0)
bad = np.linalg.norm(X - [0.5, 0.25], axis=1) < 0.35
y_corrupted = np.where(bad, 1 - y, y)
print(f"{bad.sum()} corrupted rows")

knn = Unlearnable(KNeighborsClassifier(n_neighbors=5)).fit(X, y_corrupted)
xx, yy = np.meshgrid(np.linspace(-1.5, 2.5, 200), np.linspace(-1, 1.5, 150))
grid = np.c_[xx.ravel(), yy.ravel()]
proba_before = knn.predict_proba(grid)[:, 1]

knn.unlearn(X[bad], y_corrupted[bad], request_id="vendor-batch-7")
proba_after = knn.predict_proba(grid)[:, 1]
print(knn.unlearn_history_[-1])

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, proba, title in zip(
    axes, (proba_before, proba_after), ("with the corrupted rows", "after unlearn")
):
    ax.contourf(xx, yy, proba.reshape(xx.shape), levels=10, cmap="RdBu", alpha=0.6)
    keep = ~bad if title == "after unlearn" else np.ones_like(bad)
    ax.scatter(*X[keep].T, c=y_corrupted[keep], cmap="RdBu", s=8, edgecolor="k", lw=0.2)
    if title != "after unlearn":
        ax.scatter(
            *X[bad].T,
            facecolor="none",
            edgecolor="gold",
            s=40,
            lw=1.2,
            label="corrupted rows",
        )
        ax.legend(loc="lower left")
    ax.set_title(title)
fig.tight_layout()
plt.show()

# %%
# The model after ``unlearn`` is the model fitted without the rows: the same
# stored rows in the same order, so the same neighbours and predictions.
refit = KNeighborsClassifier(n_neighbors=5).fit(X[~bad], y_corrupted[~bad])
print(
    "same predictions as a refit:",
    np.array_equal(knn.predict_proba(grid), refit.predict_proba(grid)),
)
dist, ind = knn.estimator_.kneighbors(grid[:3])  # the fitted k-NN inside
dist_refit, ind_refit = refit.kneighbors(grid[:3])
print("same neighbours:", np.array_equal(ind, ind_refit))

# %%
# Naive Bayes: subtract the counts
# --------------------------------
# A multinomial naive Bayes model over 200,000 rows of word counts is two
# tables: rows per class, and word counts per class. Forgetting a row
# subtracts it from both, in microseconds, whatever the number of rows.
from sklearn.naive_bayes import GaussianNB, MultinomialNB

rng = np.random.RandomState(0)
n, d = 200_000, 50
y_text = rng.randint(3, size=n)
X_text = rng.poisson(lam=1.0 + y_text[:, None] * np.linspace(0, 1, d), size=(n, d))

for estimator, data in [
    (MultinomialNB(), X_text),
    (GaussianNB(), X_text + rng.randn(n, d)),
]:
    name = type(estimator).__name__
    model = Unlearnable(estimator).fit(data, y_text)
    seconds = []
    for i in range(20):
        model.unlearn(data[i : i + 1], request_id=f"request-{i}")
        seconds.append(model.unlearn_history_[-1]["seconds"])
    start = time.perf_counter()
    refit = type(estimator)().fit(data[20:], y_text[20:])
    t_refit = time.perf_counter() - start
    same = np.allclose(
        model.predict_log_proba(data[:500]),
        refit.predict_log_proba(data[:500]),
        rtol=1e-10,
    )
    print(
        f"{name}: one row in {np.median(seconds) * 1e3:.2f} ms, refit "
        f"{t_refit * 1e3:.0f} ms ({t_refit / np.median(seconds):,.0f}x); "
        f"same as the refit: {same}"
    )

# %%
# Counts of integer data (``MultinomialNB``) are equal to a refit's, to the
# last bit; means and variances of real data (``GaussianNB``) agree to about
# 1e-12. No training row is kept: the ledger holds a fingerprint of each row
# to recognise it in a request, and the model its own counts.
