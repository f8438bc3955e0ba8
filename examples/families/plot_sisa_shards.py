"""
==================================================
SISA: forgetting speed against accuracy, by shards
==================================================

:class:`~skunlearn.ensemble.SISAClassifier` makes any classifier exactly
unlearnable (Bourtoule et al. 2021, "Machine Unlearning"): the training rows
are hashed into ``n_shards`` disjoint shards, one copy of the classifier is
fit on each, and their votes are aggregated. Forgetting a row retrains only
the shard that held it.

More shards make forgetting cheaper (a shard is smaller) and the ensemble
less accurate (each model sees less data). This example measures both for a
kernel SVM, whose fit grows faster than linearly with the number of rows,
and then runs the same ensemble on a Dask cluster.
"""

# %%
# The trade-off
# -------------
# For each number of shards: fit, forget three single rows (three separate
# requests), and score on held-out rows. The preprocessing sits *inside* the
# shard's estimator, so that each shard has its own scaler and a forgotten
# row touches one shard only.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skunlearn.ensemble import SISAClassifier

X, y = make_classification(
    n_samples=8000, n_features=20, n_informative=10, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0
)

shard_counts = [1, 2, 5, 10, 20, 50]
accuracy, forget_seconds = [], []
for n_shards in shard_counts:
    sisa = SISAClassifier(
        make_pipeline(StandardScaler(), SVC()), n_shards=n_shards, random_state=0
    ).fit(X_train, y_train)
    for i in range(3):
        sisa.unlearn(X_train[i : i + 1], request_id=f"request-{i}")
    forget_seconds.append(np.median([r["seconds"] for r in sisa.unlearn_history_]))
    accuracy.append(sisa.score(X_test, y_test))
    print(
        f"{n_shards:3d} shards: test accuracy {accuracy[-1]:.3f}, "
        f"forget one row {forget_seconds[-1] * 1e3:7.1f} ms"
    )

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1.plot(shard_counts, accuracy, "o-")
ax1.set_xscale("log")
ax1.set_xlabel("n_shards")
ax1.set_ylabel("test accuracy")
ax1.set_title("accuracy")
ax2.plot(shard_counts, np.array(forget_seconds) * 1e3, "o-", color="tab:red")
ax2.set_xscale("log")
ax2.set_yscale("log")
ax2.set_xlabel("n_shards")
ax2.set_ylabel("ms to forget one row")
ax2.set_title("cost of a deletion request")
fig.tight_layout()
plt.show()

# %%
# One shard is the plain model: forgetting is a full refit. A few shards
# forget a row several times faster for a point or two of accuracy; many
# shards forget faster still, but each has too few rows for a good SVM.
# Where to stop depends on how often requests arrive and how much accuracy
# they are worth.
#
# Which shards a request retrains
# -------------------------------
# Each request retrains each shard it touches once. A batch of ``k`` rows
# drawn at random touches about ``S * (1 - (1 - 1/S)**k)`` of ``S`` shards:
# batching requests saves work.
sisa = SISAClassifier(
    make_pipeline(StandardScaler(), SVC()), n_shards=10, random_state=0
).fit(X_train, y_train)
sisa.unlearn(X_train[100:110], request_id="batch of 10")
details = sisa.unlearn_history_[-1]["details"]
print(
    f"10 rows: {details['n_shards_retrained']} shards retrained "
    f"(expected {10 * (1 - 0.9**10):.1f}): {details['shards_retrained']}"
)

# %%
# Exact, whatever the shard count
# -------------------------------
# A row's shard is a hash of its content and the seed, never of its position,
# so the rows that remain sit in the same shards as in a fit without the
# forgotten rows: unlearning gives that fit exactly.
keep = np.ones(len(X_train), dtype=bool)
keep[100:110] = False
refit = SISAClassifier(
    make_pipeline(StandardScaler(), SVC()), n_shards=10, random_state=0
).fit(X_train[keep], y_train[keep])
print(
    "same predictions as a fit on the retained rows:",
    np.array_equal(sisa.predict(X_test), refit.predict(X_test)),
)

# %%
# On a Dask cluster
# -----------------
# Shards are fit through joblib, so the ``"dask"`` backend sends them to a
# Dask cluster with no change to the model. Here a local cluster of two
# workers stands in for a real one (``Client("scheduler-address:8786")``).
# This part needs the ``dask`` extra and is skipped without it.
import importlib.util

if importlib.util.find_spec("distributed") is None:
    print("dask.distributed is not installed: skipping the cluster run.")
else:
    import joblib
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        distributed = SISAClassifier(
            make_pipeline(StandardScaler(), SVC()),
            n_shards=10,
            random_state=0,
            n_jobs=-1,
        )
        with joblib.parallel_config(backend="dask"):
            start = time.perf_counter()
            distributed.fit(X_train, y_train)
            print(f"fit on the cluster: {time.perf_counter() - start:.2f} s")
            distributed.unlearn(X_train[100:110], request_id="batch of 10")
    print(
        "same model as on one core:",
        np.array_equal(distributed.predict(X_test), sisa.predict(X_test)),
    )

# %%
# On a laptop the cluster adds scheduling overhead to shards that fit in a
# fraction of a second; it pays off when one shard takes seconds or more.
