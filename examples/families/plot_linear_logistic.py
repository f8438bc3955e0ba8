"""
================================================================
Exact linear and logistic forgetting, and the Newton certificate
================================================================

Two kinds of linear models forget in two different ways.

- **Least squares** (``LinearRegression``, ``Ridge``) is a function of a few
  sums over the rows. Forgetting subtracts the rows from the sums and solves
  again: the exact refit, without touching a retained row.
- **Logistic regression** minimises a strictly convex objective: its optimum
  on the retained rows is unique, so resuming the solver from the current
  solution reaches the refit (exact to the solver's tolerance). Or, faster, a
  single Newton step (Guo et al. 2020) gets close and *reports* how close:
  the gradient residual, a certificate.
"""

# %%
# Ridge: forgetting is a downdate
# -------------------------------
# One model in service answers 200 deletion requests, one row at a time. After
# each, we compare its coefficients with a ridge refitted from scratch on the
# rows that remain.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge

from skunlearn import Unlearnable

X, y = make_regression(n_samples=20_000, n_features=50, noise=5.0, random_state=0)
model = Unlearnable(Ridge(alpha=1.0)).fit(X, y)

errors, seconds = [], []
for i in range(200):
    model.unlearn(X[i : i + 1], request_id=f"request-{i}")
    seconds.append(model.unlearn_history_[-1]["seconds"])
    if i % 20 == 19:
        refit = Ridge(alpha=1.0).fit(X[i + 1 :], y[i + 1 :])
        gap = np.linalg.norm(model.coef_ - refit.coef_)
        errors.append(gap / np.linalg.norm(refit.coef_))

start = time.perf_counter()
Ridge(alpha=1.0).fit(X[200:], y[200:])
t_refit = time.perf_counter() - start
print(model.unlearn_history_[-1])
print(f"median request {np.median(seconds) * 1e3:.2f} ms, refit {t_refit * 1e3:.1f} ms")
print(f"largest relative error against a refit: {max(errors):.1e}")

# %%
# Every request is exact to about 1e-14 and the error does not grow with the
# number of requests: each request also bounds its own rounding error
# (``error_estimate`` in the history) and would record ``exact=False``, with
# a :class:`~skunlearn.exceptions.NumericalDriftWarning`, if the bound passed
# the contract's 1e-9. The model keeps no training row at all: only the
# sums, and a fingerprint of each row to recognise it.
#
# Logistic regression: the exact path
# -----------------------------------
# The default ``unlearn`` resumes scikit-learn's own solver (``lbfgs``) on the
# retained rows, from the current solution improved by one Newton step. It
# takes a few iterations instead of a whole fit.
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

X, y = make_classification(
    n_samples=5000, n_features=30, n_informative=10, random_state=0
)
lr_params = dict(C=1.0, tol=1e-8, max_iter=1000)
logistic = Unlearnable(LogisticRegression(**lr_params)).fit(X, y)
exact = logistic.unlearn(X[:200])
record = exact.unlearn_history_[-1]
refit = LogisticRegression(**lr_params).fit(X[200:], y[200:])
print(record["strategy"], record["exact"], record["details"]["n_iter"], "iterations")
print(f"max |coef - refit|: {np.max(np.abs(exact.coef_ - refit.coef_)):.1e}")

# %%
# Newton removal and its certificate
# ----------------------------------
# ``method="newton"`` takes the one step and stops. The Hessian was computed
# at ``fit`` and is downdated by the forgotten rows, so the step costs
# ``O(k p^2 + p^3)`` for ``k`` rows and ``p`` coefficients. It is not the
# exact optimum, so the request is recorded ``exact=False``, with the norm of
# the gradient of the objective on the retained rows at the new solution: 0
# at the exact optimum, comparable with the solver's ``tol``.
#
# The larger the request, the further the step lands from the optimum. We
# forget growing batches from fresh copies of the model and compare the
# certificate with the distance to the refit.
sizes = [5, 20, 100, 500, 1500]
residuals, distances = [], []
for k in sizes:
    newton = Unlearnable(LogisticRegression(**lr_params)).fit(X, y)
    newton.unlearn(X[:k], method="newton")
    details = newton.unlearn_history_[-1]["details"]
    refit = LogisticRegression(**lr_params).fit(X[k:], y[k:])
    residuals.append(details["gradient_residual_norm"])
    distances.append(np.linalg.norm(newton.coef_ - refit.coef_))
    print(f"k={k:5d}  residual {residuals[-1]:.1e}  |coef - refit| {distances[-1]:.1e}")

fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.loglog(sizes, residuals, "o-", label="certificate: gradient residual")
ax.loglog(sizes, distances, "s--", label="distance to the refit (coef)")
ax.axhline(lr_params["tol"], color="grey", lw=1, label="solver tol")
ax.set_xlabel("rows forgotten in one Newton step")
ax.legend()
ax.set_title("Newton removal: one step, a measured error")
fig.tight_layout()
plt.show()

# %%
# The certificate grows with the distance to the refit: it says, without a
# refit, how good the step was. With ``residual_threshold`` the model
# enforces a bar: a step whose residual exceeds it continues with the exact
# path from the Newton point (``fallback`` in the history), so every request
# is either certified below the threshold or exact.
for k in (100, 1500):
    newton = Unlearnable(LogisticRegression(**lr_params)).fit(X, y)
    newton.unlearn(X[:k], method="newton", residual_threshold=1e-4)
    record = newton.unlearn_history_[-1]
    details = record["details"]
    print(
        f"k={k:5d}  residual {details['gradient_residual_norm']:.1e}  "
        f"fallback={details['fallback']}  exact={record['exact']}"
    )
