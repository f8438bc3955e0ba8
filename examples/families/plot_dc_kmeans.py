"""
=======================================
Divide-and-conquer k-means (DC-k-means)
=======================================

k-means centres depend on every row, and Lloyd's algorithm started from a
random draw cannot be replayed without one. Ginart et al. (2019, "Making AI
Forget You") proposed a k-means built for deletion:
:class:`~skunlearn.cluster.DCKMeans` hashes each row to one of ``n_leaves``
leaves, clusters each leaf, then clusters the leaves' weighted centres again,
level by level, up to a root whose centres are the model's. Every random
number a node uses is a hash of the seed and the node. Forgetting a row
re-solves its leaf and that leaf's ancestors only, and the centres are
bitwise those of a refit with the same seed.
"""

# %%
# Fit, and compare with k-means
# -----------------------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from skunlearn.cluster import DCKMeans

X, _ = make_blobs(
    n_samples=[6000, 6000, 6000, 6000, 400],
    centers=[[0, 0], [6, 0], [0, 6], [6, 6], [11, 11]],
    cluster_std=1.2,
    random_state=0,
)
model = DCKMeans(n_clusters=5, random_state=0).fit(X)
kmeans = KMeans(n_clusters=5, n_init=3, random_state=0).fit(X)
print(f"inertia: DCKMeans {model.inertia_:.0f}, KMeans {kmeans.inertia_:.0f}")

# %%
# DC-k-means approximates k-means (typically within a few percent of its
# inertia): its guarantee is about its own refit, not k-means's.
#
# Single deletions
# ----------------
# Twenty people leave, one request each. The history says how many nodes each
# request re-solved.
for i in range(20):
    model.unlearn(X[i : i + 1], request_id=f"request-{i}")
seconds = np.median([r["seconds"] for r in model.unlearn_history_])
print(model.unlearn_history_[-1])

start = time.perf_counter()
refit = DCKMeans(n_clusters=5, random_state=0).fit(X[20:])
t_refit = time.perf_counter() - start
print(
    f"one request {seconds * 1e3:.2f} ms, a refit {t_refit * 1e3:.0f} ms "
    f"({t_refit / seconds:.0f}x)"
)
print(
    "centres bitwise equal to the refit's:",
    np.array_equal(model.cluster_centers_, refit.cluster_centers_),
)

# %%
# Forgetting a whole segment
# --------------------------
# The small group of 400 rows around (11, 11), a customer segment that
# withdrew its consent, has a centre of its own. Forgetting the segment (one
# request of 400 rows, which touches most leaves) moves that centre to where
# the remaining data needs it.
segment = np.linalg.norm(X - [11, 11], axis=1) < 4
before = model.cluster_centers_.copy()
model.unlearn(X[segment], request_id="segment")
after = model.cluster_centers_
print(model.unlearn_history_[-1]["details"])

fig, ax = plt.subplots(figsize=(5.5, 5))
ax.scatter(*X[20:][~segment[20:]].T, s=1, color="lightgrey")
ax.scatter(*X[segment].T, s=2, color="tab:orange", label="forgotten segment")
ax.scatter(*before.T, marker="x", s=120, lw=3, color="black", label="centres before")
ax.scatter(*after.T, marker="+", s=200, lw=3, color="tab:blue", label="centres after")
ax.legend(loc="lower right")
ax.set_title("DCKMeans before and after forgetting a segment")
fig.tight_layout()
plt.show()

# %%
# With the segment gone, five centres serve four groups: the spare centre
# settles between two of them (k-means with one centre too many), exactly
# where a fit on the retained rows puts it. The model is that fit:
keep = np.ones(len(X), dtype=bool)
keep[:20] = False
keep[segment] = False
refit = DCKMeans(n_clusters=5, random_state=0).fit(X[keep])
print("equal to the refit:", np.array_equal(after, refit.cluster_centers_))
