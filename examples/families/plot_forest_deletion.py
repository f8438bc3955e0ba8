"""
======================================
A forest built for deletion vs a refit
======================================

A scikit-learn random forest cannot forget a row: its bootstrap samples and
random features are drawn from one stream of random numbers, so without the
row every later draw changes, and the only exact answer is a refit.

:class:`~skunlearn.ensemble.UnlearningForestClassifier` derives every random
choice from a hash of the seed and of the row's content (or of the node's
path), never from a stream. A retained row meets exactly the same choices
with or without the forgotten one, so deleting a row rebuilds only the
subtrees whose best split changed, and the result is the very forest a
refit with the same ``random_state`` grows, node for node.
"""

# %%
# Fit both forests
# ----------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from skunlearn.ensemble import UnlearningForestClassifier

X, y = make_classification(
    n_samples=10_000, n_features=20, n_informative=8, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
params = dict(n_estimators=50, max_depth=10, n_jobs=2, random_state=0)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


forest, t_fit = timed(
    lambda: UnlearningForestClassifier(**params).fit(X_train, y_train)
)
sk_forest, t_sk = timed(lambda: RandomForestClassifier(**params).fit(X_train, y_train))
print(f"fit: ours {t_fit:.2f} s, scikit-learn {t_sk:.2f} s")
print(
    f"test accuracy: ours {forest.score(X_test, y_test):.3f}, "
    f"scikit-learn {sk_forest.score(X_test, y_test):.3f}"
)

# %%
# The two forests are close in accuracy, but not the same model: ours splits
# at a few hashed candidate thresholds per feature (``n_thresholds``), not at
# every one.
#
# Forty deletion requests
# -----------------------
# Forty people ask, one after the other, to be forgotten. Each request is
# answered in place; the history records how many trees it touched and how
# many subtrees it rebuilt.
forget = np.random.RandomState(1).choice(len(X_train), size=40, replace=False)
for i, row in enumerate(forget):
    forest.unlearn(X_train[row : row + 1], request_id=f"request-{i}")
history = forest.unlearn_history_
seconds = np.array([r["seconds"] for r in history])
rebuilt = [r["details"]["subtrees_rebuilt"] for r in history]
print(history[-1])
print(
    f"median {np.median(seconds) * 1e3:.1f} ms per request, "
    f"median {np.median(rebuilt):.0f} subtrees rebuilt (of 50 trees)"
)

# %%
# The exact answer to compare with: a refit on the retained rows, with the
# same seed. The forest after forty deletions is that forest.
keep = np.ones(len(X_train), dtype=bool)
keep[forget] = False
refit, t_refit = timed(
    lambda: UnlearningForestClassifier(**params).fit(X_train[keep], y_train[keep])
)
_, t_sk_refit = timed(
    lambda: RandomForestClassifier(**params).fit(X_train[keep], y_train[keep])
)
same = np.array_equal(forest.predict_proba(X_test), refit.predict_proba(X_test))
print("unlearned == same-seed refit (predict_proba, bitwise):", same)
print(
    f"one request: {np.median(seconds) * 1e3:.1f} ms; a refit: ours {t_refit:.2f} s, "
    f"scikit-learn {t_sk_refit:.2f} s ({t_sk_refit / np.median(seconds):.0f}x)"
)

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.hist(seconds * 1e3, bins=np.geomspace(1, 3000, 40), color="tab:blue")
ax.axvline(t_refit * 1e3, color="tab:orange", lw=2, label="refit (ours)")
ax.axvline(t_sk_refit * 1e3, color="tab:red", lw=2, label="refit (scikit-learn)")
ax.set_xscale("log")
ax.set_xlabel("milliseconds")
ax.set_ylabel("deletion requests")
ax.set_title("One-row deletions vs refitting the forest")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Large batches
# -------------
# A batch that forgets at least 2% of the remaining rows changes most trees
# anyway; it is done by a refit on the retained rows with the same seed
# (the same model, measured faster there), and the history says so.
batch = np.flatnonzero(keep)[:300]
forest.unlearn(X_train[batch], request_id="batch")
print(forest.unlearn_history_[-1]["strategy"], forest.unlearn_history_[-1]["details"])

# %%
# The price of fast deletion is memory: the forest keeps the training rows
# (to rebuild subtrees) and, on nodes of at least 128 rows, the class counts
# of every candidate split. The :ref:`benchmarks` page gives the figure per
# training row at scale.
