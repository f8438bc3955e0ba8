"""
=================================================================
Tuning an unlearning method with ``make_forget_scorer``
=================================================================

Approximate unlearning methods have hyperparameters (which method, how many
epochs, how strongly to push the forgotten rows away), and the best values
depend on the data. :func:`skunlearn.metrics.make_forget_scorer` turns
"how well does this model forget?" into a scorer that
:class:`~sklearn.model_selection.GridSearchCV` can maximise: on a copy of each
fitted candidate, it forgets a seeded sample of the candidate's own training
rows and returns the ``forget_score`` of the copy, with the validation fold as
the never-seen rows (1: the forgotten rows look exactly like never-seen
ones).

Forgetting alone is easy to game (a wrecked model forgets everything), so the
method the search picks is then audited against the gold standard, accuracy
included. The example tunes a skorch net and needs the ``nn`` extra; without
it, it only says so.
"""

# %%
# The candidates
# --------------
# A net on the digits with 15% of the labels flipped: to fit those rows it
# must memorise them, so forgetting matters (an attacker can find the rows in
# the original net). The grid is over the unlearning method
# (``unlearn_method``; a method's own hyperparameters are set the same way,
# as ``unlearn_method__<name>``). The candidates differ only in how they
# forget: they fit the same net.
import importlib.util

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

HAVE_NN = all(importlib.util.find_spec(m) for m in ("torch", "skorch"))
if not HAVE_NN:
    print("This example needs the nn extra: pip install 'skunlearn[nn]'.")

X, y = load_digits(return_X_y=True)
rng = np.random.RandomState(0)
noisy = rng.rand(len(y)) < 0.15
y = np.where(noisy, (y + rng.randint(1, 10, len(y))) % 10, y).astype(np.int64)
X = StandardScaler().fit_transform(X).astype(np.float32)

if HAVE_NN:
    import torch

    from skunlearn.metrics import make_forget_scorer
    from skunlearn.neural_net import UnlearningNeuralNetClassifier

    torch.set_num_threads(1)  # small nets: one thread is fastest
    torch.manual_seed(0)
    net = UnlearningNeuralNetClassifier(
        torch.nn.Sequential(
            torch.nn.Linear(64, 128),
            torch.nn.ReLU(),
            torch.nn.Linear(128, 128),
            torch.nn.ReLU(),
            torch.nn.Linear(128, 10),
        ),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=2e-3,
        max_epochs=40,
        batch_size=64,
        iterator_train__shuffle=True,
        verbose=0,
    )
    grid = {"unlearn_method": ["auto", "finetune", "neggrad_plus"]}

# %%
# The search
# ----------
# ``make_forget_scorer(X, y)`` gets the search's data so that it can find
# each candidate's training rows by content (most exact models keep only
# fingerprints of their rows; the nets keep them, so here it would also work
# without). ``refit="forget"`` refits the candidate that forgets best.
if HAVE_NN:
    search = GridSearchCV(
        net,
        grid,
        scoring={
            "forget": make_forget_scorer(X, y, forget_size=0.1, random_state=0),
            "accuracy": "accuracy",
        },
        refit="forget",
        cv=2,
    ).fit(X, y)
    columns = ["param_unlearn_method", "mean_test_forget", "std_test_forget"]
    table = pd.DataFrame(search.cv_results_)[columns]
    print(table.to_string(index=False))
    print("best:", search.best_params_)

# %%
# Each candidate's forget score (higher is better, 1 at most), with one
# standard deviation over the folds as error bars: with a few dozen forgotten
# rows per fold the score is noisy, and differences within the bars mean
# little. The ``accuracy`` scored alongside is the fitted candidate's, before
# any forgetting, so it is the same for every candidate here; accuracy
# *after* forgetting is what the audit below measures.
if HAVE_NN:
    methods = [p["unlearn_method"] for p in search.cv_results_["params"]]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.barh(
        methods,
        search.cv_results_["mean_test_forget"],
        xerr=search.cv_results_["std_test_forget"],
        capsize=3,
        color="tab:blue",
    )
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("forget_score (cross-validated)")
    ax.set_title("Which method forgets best?")
    fig.tight_layout()
    plt.show()

# %%
# Check the choice against the gold standard
# ------------------------------------------
# Scores of this kind guide a choice; they are not a guarantee. The audit
# forgets 10% of the training rows with the chosen method and compares with
# the net retrained without them: accuracy on the forgotten and the test
# rows, and the membership attack.
if HAVE_NN:
    from sklearn.base import clone

    from skunlearn.audit import audit_unlearning

    torch.manual_seed(0)
    report = audit_unlearning(clone(search.best_estimator_), X, y, random_state=0)
    print(report)

# %%
# Read the verdict at the end of the report: a method can pass the forget
# score and still differ from the gold standard elsewhere, typically in test
# accuracy when it pushed the forgotten rows too hard. Then tune further (the
# method's own ``unlearn_method__<name>`` parameters, with accuracy after
# forgetting in mind), or choose an exact model: SISA over the net.
