"""
==============================================================
A GDPR deletion request, end to end, with ``skunlearn forget``
==============================================================

A churn model is in production: a pandas pipeline that imputes, scales and
one-hot encodes customer data and feeds a logistic regression. A customer
writes in: *erase my data*. The data team deletes the customer's rows from
the database, and must also make the model forget them: the model was
trained on those rows.

This example goes through what the team does, with the command line
``skunlearn forget`` (called here from Python as
:func:`skunlearn.cli.main`, with the same arguments as in a shell), on files
in a temporary directory:

1. the model, saved as a skops file when it was trained;
2. the request: the customer's rows exported from the database to CSV;
3. ``skunlearn forget``: a new model file without the rows, and a JSON
   receipt;
4. checks: the receipt, the model's history, and (for this example) the
   model retrained without the rows.
"""

# %%
# The model in production
# -----------------------
# Training data with numeric, categorical and missing values, as a DataFrame.
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skunlearn.pipeline import make_pipeline

rng = np.random.RandomState(0)
n = 3000
customers = pd.DataFrame(
    {
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "age": rng.randint(18, 80, n).astype(float),
        "monthly_spend": rng.lognormal(3.5, 0.6, n).round(2),
        "tenure_months": rng.randint(1, 120, n).astype(float),
        "plan": rng.choice(["basic", "plus", "family"], n),
        "region": rng.choice(["north", "south", "east", "west"], n),
    }
).astype({"plan": object, "region": object})  # text columns of Python strings
customers.loc[rng.rand(n) < 0.05, "monthly_spend"] = np.nan  # missing values
logit = 0.03 * (40 - customers.age) - 0.02 * customers.tenure_months + 0.5
churn = (rng.rand(n) < 1 / (1 + np.exp(-logit))).astype(int)

features = ["age", "monthly_spend", "tenure_months", "plan", "region"]
preprocess = ColumnTransformer(
    [
        (
            "num",
            make_pipeline(SimpleImputer(), StandardScaler()),
            ["age", "monthly_spend", "tenure_months"],
        ),
        ("cat", OneHotEncoder(), ["plan", "region"]),
    ]
)
model = make_pipeline(preprocess, LogisticRegression(max_iter=1000))
model.fit(customers[features], churn)
print(
    f"trained on {model.ledger_.n_rows} rows; guarantee: {model.unlearning_guarantee}"
)

# %%
# The model is saved with :func:`skunlearn.io.dump`, in the skops format: a
# zip of arrays and JSON that loads without running code from the file (a
# pickle would run whatever the file says). ``skunlearn forget`` refuses
# pickle files unless told ``--allow-pickle``.
from skunlearn.io import dump

workdir = Path(tempfile.mkdtemp(prefix="skunlearn-gdpr-"))
dump(model, workdir / "churn-model.skops")
print(sorted(p.name for p in workdir.iterdir()))

# %%
# The request
# -----------
# Customer C00042 asks to be erased; so, in the same week, do C01234 and
# C02718. The database exports their rows to a CSV file named after the
# ticket (never after the customer: paths are recorded in the receipt). The
# export has its own column order and extra columns (the customer id); both
# are fine: rows are matched by the values of the model's features, found by
# name in the header.
ticket = "GDPR-2026-117"
leaving = customers.customer_id.isin(["C00042", "C01234", "C02718"])
export = customers.loc[
    leaving, ["customer_id", "region", "plan", "tenure_months", "monthly_spend", "age"]
]
export.to_csv(workdir / f"{ticket}.csv", index=False)
print((workdir / f"{ticket}.csv").read_text())

# %%
# A secret key for the receipt's digest of the request (kept by the
# compliance team, not with the model): with it, the receipt proves which
# rows were forgotten without holding them.
import secrets

(workdir / "receipt.key").write_bytes(secrets.token_bytes(32))

# %%
# ``skunlearn forget``
# --------------------
# In a shell::
#
#     skunlearn forget churn-model.skops --rows GDPR-2026-117.csv \
#         --output churn-model-v2.skops --report GDPR-2026-117.receipt.json \
#         --request-id GDPR-2026-117 --extra-columns ignore \
#         --receipt-key receipt.key
#
# ``--extra-columns ignore`` leaves the customer id out (without it, an extra
# column is an error that names it). If any row were not among the training
# rows, nothing would be forgotten and nothing written (exit status 1).
from skunlearn.cli import main

status = main(
    [
        "forget",
        str(workdir / "churn-model.skops"),
        "--rows", str(workdir / f"{ticket}.csv"),
        "--output", str(workdir / "churn-model-v2.skops"),
        "--report", str(workdir / f"{ticket}.receipt.json"),
        "--request-id", ticket,
        "--extra-columns", "ignore",
        "--receipt-key", str(workdir / "receipt.key"),
    ]
)  # fmt: skip
print("exit status", status)

# %%
# The receipt
# -----------
# A JSON record of what was done, for the ticket and the compliance file
# (its schema is in the user guide): how many rows were asked and removed,
# the strategy of each step, the model's guarantee, digests of the input and
# output model files, and a keyed digest of the rows. It names columns,
# never values.
receipt = json.loads((workdir / f"{ticket}.receipt.json").read_text())
print(json.dumps({k: receipt[k] for k in ("schema", "request_id", "status")}))
print("rows:", receipt["rows"])
print("model:", receipt["model"])
for component in receipt["steps"][0]["components"]:
    print("  ", component)
print("request digest:", receipt["request"]["digest"]["removed"][:16], "...")

# %%
# The scaler's mean moved when the rows left, so the logistic regression was
# refit on the retained rows (exact, and the receipt says why). The encoders
# only lost counts.
#
# The new model
# -------------
# It loads like the old one, its history holds the request (its id, what was
# done; never the rows), and it serves predictions as before.
from skunlearn.io import load

new_model = load(workdir / "churn-model-v2.skops")
record = new_model.unlearn_history_[-1]
print(
    {
        k: record[k]
        for k in ("request_id", "n_removed", "n_remaining", "strategy", "exact")
    }
)

# %%
# For this example only: is it the model trained without the customers? We
# refit from scratch and compare predicted probabilities.
gold = make_pipeline(preprocess, LogisticRegression(max_iter=1000))
gold.fit(customers.loc[~leaving, features], churn[~leaving])
diff = np.abs(
    new_model.predict_proba(customers[features])
    - gold.predict_proba(customers[features])
).max()
print(f"largest difference in predicted probability from the refit: {diff:.1e}")

# %%
# Running the same request twice
# ------------------------------
# Pipelines retry. Run again on the new model, the request finds none of its
# rows: an error by default (the model recognises the request id as applied
# already), or, with ``--missing skip``, a no-op that still writes both
# outputs and says ``"nothing_removed"``.
status = main(
    [
        "forget",
        str(workdir / "churn-model-v2.skops"),
        "--rows", str(workdir / f"{ticket}.csv"),
        "--output", str(workdir / "churn-model-v3.skops"),
        "--report", str(workdir / f"{ticket}.retry.json"),
        "--request-id", ticket,
        "--extra-columns", "ignore",
        "--missing", "skip",
    ]
)  # fmt: skip
retry = json.loads((workdir / f"{ticket}.retry.json").read_text())
print("exit status", status, "| status:", retry["status"], "| rows:", retry["rows"])

# %%
# What the files hold
# -------------------
# A saved model is personal data when its training rows were. This pipeline
# keeps its training rows (a step may need a refit on them, as the logistic
# regression did), and every model keeps a keyed fingerprint of each row to
# recognise it in a request. After the request, none of it describes the
# customers: their rows, fingerprints and targets are gone from the new file,
# which is what a fresh fit on the retained rows would have saved. The *old*
# file still holds them: delete it (and its backups) as the rest of the
# customers' data.
(workdir / "churn-model.skops").unlink()
print(sorted(p.name for p in workdir.iterdir()))
