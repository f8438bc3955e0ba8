"""
=====================================================
The five-step unlearning protocol, one step at a time
=====================================================

How do we check that a model forgot some of its training rows? The machine
unlearning literature uses one protocol, in five steps:

1. fit the **original** model on the training rows;
2. choose the rows to **forget**;
3. **unlearn** them from the original;
4. retrain the **gold standard**: the same model fitted without them;
5. **compare** the three models.

This example walks through the steps by hand, the way one would show them in
class, on a model that memorises its training rows: a random forest on labels
with some noise. Then it runs the same protocol in one call with
:func:`skunlearn.audit.audit_unlearning`.
"""

# %%
# Step 1: fit the original model
# ------------------------------
# Synthetic data with 20% of the labels flipped: a forest can only fit those
# rows by memorising them, which is what a membership attack looks for. We
# keep a quarter of the rows aside: the model never sees them (the *test*
# rows), and they will tell us what "never seen" looks like.
#
# :class:`~skunlearn.ensemble.UnlearningForestClassifier` is a random forest
# built for deletion: it forgets rows exactly, and fast.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from skunlearn.ensemble import UnlearningForestClassifier

X, y = make_classification(
    n_samples=2000, n_features=20, n_informative=5, flip_y=0.2, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0
)

params = dict(n_estimators=50, max_depth=12, random_state=0)
original = UnlearningForestClassifier(**params).fit(X_train, y_train)
print(
    f"training accuracy {original.score(X_train, y_train):.3f}, "
    f"test accuracy {original.score(X_test, y_test):.3f}"
)

# %%
# The gap between training and test accuracy is memorisation: the forest fits
# its training rows, noisy labels included, far better than rows it never
# saw.
#
# Step 2: choose the rows to forget
# ---------------------------------
# Here 10% of the training rows, at random: think of 150 people who asked to
# be removed. (Forgetting a whole class, or rows chosen by a rule, are other
# common scenarios; :func:`~skunlearn.audit.audit_unlearning` has them.)
rng = np.random.RandomState(0)
forget = np.zeros(len(X_train), dtype=bool)
forget[rng.choice(len(X_train), size=len(X_train) // 10, replace=False)] = True
X_forget, y_forget = X_train[forget], y_train[forget]
X_retain, y_retain = X_train[~forget], y_train[~forget]
print(f"{forget.sum()} rows to forget, {(~forget).sum()} to retain")

# %%
# Step 3: unlearn
# ---------------
# We unlearn from a copy, to keep the original for the comparison. Each of
# the 150 people sent a request of their own, so we answer them one by one;
# the rows are given by content (the model finds them in its training
# ledger), and each request gets an id in the model's history.
import copy

unlearned = copy.deepcopy(original)
start = time.perf_counter()
for i, (row, label) in enumerate(zip(X_forget, y_forget)):
    unlearned.unlearn(row[None, :], [label], request_id=f"request-{i}")
t_unlearn = time.perf_counter() - start
history = unlearned.unlearn_history_
per_request = np.median([r["seconds"] for r in history])
print(
    f"{len(history)} requests in {t_unlearn:.2f} s, "
    f"median {per_request * 1000:.1f} ms each"
)
print("the last record:", history[-1])

# %%
# Each request rebuilt only the few subtrees whose split depended on the
# row (``subtrees_rebuilt``), and is exact.
#
# Step 4: retrain the gold standard
# ---------------------------------
# The model we would have had if these rows had never been in the data: the
# same estimator, the same parameters, fitted on the retained rows only.
start = time.perf_counter()
gold = UnlearningForestClassifier(**params).fit(X_retain, y_retain)
t_gold = time.perf_counter() - start
print(
    f"retrain: {t_gold * 1000:.0f} ms, "
    f"{t_gold / per_request:.0f}x one request's median time"
)

# %%
# Step 5: compare
# ---------------
# First, accuracy on the three groups of rows. A model that still remembers
# the forgotten rows fits them like training rows; one that forgot them fits
# them like never-seen rows.
models = {"original": original, "unlearned": unlearned, "gold standard": gold}
groups = {
    "forgotten": (X_forget, y_forget),
    "retained": (X_retain, y_retain),
    "never seen": (X_test, y_test),
}
for name, model in models.items():
    scores = "  ".join(
        f"{group} {model.score(Xg, yg):.3f}" for group, (Xg, yg) in groups.items()
    )
    print(f"{name:14s} {scores}")

# %%
# Then the view of an attacker. A *membership inference attack* holds a row
# and asks: was it in the training set? The simplest attack looks at the
# loss: training rows have low loss. Its ROC AUC, forgotten rows against
# never-seen rows, is 0.5 when it cannot tell them apart.
# ``forget_score = 1 - 2 |AUC - 0.5|`` turns that into a score with optimum 1.
from skunlearn.metrics import forget_score, membership_inference_auc

for name, model in models.items():
    auc = membership_inference_auc(model, X_forget, y_forget, X_test, y_test)
    score = forget_score(model, X_forget, y_forget, X_test, y_test)
    print(f"{name:14s} MIA AUC {auc:.3f}   forget_score {score:.3f}")

# %%
# The attack finds the forgotten rows in the original model (AUC well above
# 0.5) and not in the unlearned one, which is, tree for tree, the gold
# standard:
same = np.array_equal(unlearned.predict_proba(X), gold.predict_proba(X))
print("unlearned predictions == gold standard's:", same)

# %%
# A picture says why. For each model, the probability it gives the true class
# of each row, by group: the forgotten rows (red) sit with the training rows
# (blue) in the original, and with the never-seen rows (grey) after
# unlearning.
colors = {"forgotten": "tab:red", "retained": "tab:blue", "never seen": "grey"}
bins = np.linspace(0, 1, 21)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), sharey=True)
for ax, (name, model) in zip(axes, models.items()):
    for group, (Xg, yg) in groups.items():
        p_true = model.predict_proba(Xg)[np.arange(len(yg)), yg]
        ax.hist(
            p_true,
            bins=bins,
            density=True,
            histtype="step",
            lw=2,
            color=colors[group],
            label=group,
        )
    ax.set_title(name)
    ax.set_xlabel("probability of the true class")
axes[0].set_ylabel("density")
axes[0].legend(loc="upper left")
fig.tight_layout()
plt.show()

# %%
# The five steps in one call
# --------------------------
# :func:`~skunlearn.audit.audit_unlearning` does all of the above: split, fit,
# choose, unlearn, retrain, compare. Its report prints as a table, converts
# to a DataFrame (``to_frame()``) or plain data (``to_dict()``), and draws the
# same histograms (``plot()``).
from skunlearn.audit import audit_unlearning

report = audit_unlearning(
    UnlearningForestClassifier(**params), X, y, forget_size=0.1, random_state=0
)
print(report)

# %%
# Things to try in class: forget a whole class (``forget=1``); use a model
# that barely memorises (``Unlearnable(LogisticRegression())``: even the
# original leaks little); or an approximate unlearner, a neural net, whose
# unlearned model is close to the gold standard but not equal to it
# (:ref:`sphx_glr_auto_examples_families_plot_neural_net.py`).
