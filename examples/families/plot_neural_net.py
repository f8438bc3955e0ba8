"""
=============================================
Neural nets: approximate forgetting, measured
=============================================

A neural net's weights are the end of a long stochastic optimisation: no sum
or structure lets one row be taken out exactly. skunlearn's skorch nets
(:class:`~skunlearn.neural_net.UnlearningNeuralNetClassifier`) forget
*approximately*: ``unlearn`` edits a copy of the trained module with a few
passes over the rows to forget and the rows to keep, and stops when the
forgotten rows look like rows the net never saw.

Approximate means: measure it. This example trains a small net that
memorises its training rows, forgets 10% of them with several methods, and
compares each result with the **gold standard**, the same net retrained
without the rows, on the three questions of the field: is the net still as
good (test accuracy)? does it still fit the forgotten rows better than a
retrained net would (forget accuracy)? can an attacker tell them apart from
never-seen rows (membership inference AUC, 0.5 is ideal)?

It needs the ``nn`` extra (PyTorch and skorch; a CPU build is enough) and
runs on CPU in well under a minute; without the extra it only says so.
"""

# %%
# Data and a net that memorises
# -----------------------------
# The digits, with 15% of the training labels flipped: the only way to fit
# those rows is to memorise them, which is what a membership attack detects.
import importlib.util

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

HAVE_NN = all(importlib.util.find_spec(m) for m in ("torch", "skorch"))
if not HAVE_NN:
    print("This example needs the nn extra: pip install 'skunlearn[nn]'.")

X, y = load_digits(return_X_y=True)
rng = np.random.RandomState(0)
noisy = rng.rand(len(y)) < 0.15
y = np.where(noisy, (y + rng.randint(1, 10, len(y))) % 10, y)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train = scaler.transform(X_train).astype(np.float32)
X_test = scaler.transform(X_test).astype(np.float32)
y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)

forget = np.zeros(len(X_train), dtype=bool)
forget[rng.choice(len(X_train), size=len(X_train) // 10, replace=False)] = True
X_forget, y_forget = X_train[forget], y_train[forget]

# %%
# The net is a drop-in replacement for :class:`skorch.NeuralNetClassifier`.
# skorch holds out a validation split (a fifth of the rows by default): the
# net never trains on those rows, and ``unlearn`` uses them as its picture of
# "never seen" (the *calibration rows*).
if HAVE_NN:
    import copy
    import time

    import torch

    from skunlearn.metrics import membership_inference_auc
    from skunlearn.neural_net import UnlearningNeuralNetClassifier

    torch.set_num_threads(1)  # small nets: one thread is fastest

    def make_net(method="auto"):
        module = torch.nn.Sequential(
            torch.nn.Linear(64, 128),
            torch.nn.ReLU(),
            torch.nn.Linear(128, 128),
            torch.nn.ReLU(),
            torch.nn.Linear(128, 10),
        )
        return UnlearningNeuralNetClassifier(
            module,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=2e-3,
            max_epochs=40,
            batch_size=64,
            iterator_train__shuffle=True,
            unlearn_method=method,
            verbose=0,
        )

    def measure(net, seconds):
        return {
            "seconds": seconds,
            "forget acc": float((net.predict(X_forget) == y_forget).mean()),
            "test acc": float((net.predict(X_test) == y_test).mean()),
            "MIA AUC": membership_inference_auc(
                net, X_forget, y_forget, X_test, y_test
            ),
        }

    torch.manual_seed(0)
    start = time.perf_counter()
    original = make_net().fit(X_train, y_train)
    results = {"original": measure(original, time.perf_counter() - start)}

    torch.manual_seed(1)
    start = time.perf_counter()
    gold = make_net().fit(X_train[~forget], y_train[~forget])
    results["gold standard"] = measure(gold, time.perf_counter() - start)

# %%
# Forgetting with several methods
# -------------------------------
# Each method starts from a copy of the same trained net. ``"auto"`` is the
# default chosen by measurement; the others are methods from the literature
# (see :ref:`families`). The history records what each did.
if HAVE_NN:
    for method in ("auto", "finetune", "neggrad_plus", "scrub"):
        net = copy.deepcopy(original).set_params(unlearn_method=method)
        torch.manual_seed(2)
        net.unlearn(X_forget, y_forget, request_id=f"{method}-demo")
        record = net.unlearn_history_[-1]
        name = record["details"]["method"] if method == "auto" else method
        results[name] = measure(net, record["seconds"])
    print(f"{'':16s}" + "".join(f"{k:>12s}" for k in results["original"]))
    for name, row in results.items():
        print(f"{name:16s}" + "".join(f"{v:12.3f}" for v in row.values()))

# %%
# Reading the table: the original fits the forgotten rows far better than the
# gold standard does, and the attack sees it (AUC above 0.5). A good method
# brings both down to the gold standard's values, keeps test accuracy, and
# takes a small fraction of the retraining time. ``exact`` is ``False`` in
# every history record: how close each came is what the table shows.
if HAVE_NN:
    names = list(results)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), sharey=True)
    for ax, metric in zip(axes, ("forget acc", "test acc", "MIA AUC")):
        values = [results[n][metric] for n in names]
        colors = ["grey", "black"] + ["tab:blue"] * (len(names) - 2)
        ax.barh(names, values, color=colors)
        ax.axvline(results["gold standard"][metric], color="black", ls="--", lw=1)
        ax.set_title(metric)
        ax.set_xlim(min(values) - 0.05, max(values) + 0.05)
    axes[0].invert_yaxis()
    fig.suptitle("Each method against the gold standard (dashed)")
    fig.tight_layout()
    plt.show()

# %%
# The limits of this picture: one forget set, one seed, a weak attack (a
# loss threshold). Before relying on a method, run
# :func:`~skunlearn.audit.audit_unlearning` on a few seeds and forget sets,
# and tune the method's hyperparameters (``unlearn_method__<name>``) with
# :func:`~skunlearn.metrics.make_forget_scorer`
# (:ref:`sphx_glr_auto_examples_protocol_plot_tune_forget_scorer.py`). When a
# request must be forgotten exactly, put the net in a SISA ensemble:
# ``SISAClassifier(make_net(), n_shards=5)``.
