"""
===========================================
Auditing unlearning: the five-step protocol
===========================================

How do you know a model forgot? The field's protocol compares three models:
the **original** (fitted on all training rows), the **unlearned** one (the
original after ``unlearn``) and the **gold standard** (retrained without the
forgotten rows). :func:`skunlearn.audit.audit_unlearning` runs it in one
call: fit, choose the rows to forget, unlearn, retrain, compare.

The comparison looks at accuracy on the forgotten, retained and never-seen
(test) rows, and at a *membership inference attack*: if the model fits the
forgotten rows better than rows it never saw, an attacker can tell they were
in the training set. ``forget_score = 1 - 2 |AUC - 0.5|`` is 1 when the
forgotten rows are indistinguishable from never-seen ones.
"""

# %%
# A model that barely memorises: ridge regression
# -----------------------------------------------
# Ridge on the diabetes data fits training and test rows about equally
# well, so even the original model leaks little. The closed-form unlearner
# gives exactly the gold standard. Timings are medians of three runs: a
# first call pays one-off costs (imports, thread pools).
import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes, make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import Ridge

from skunlearn import Unlearnable
from skunlearn.audit import audit_unlearning

X, y = load_diabetes(return_X_y=True)
report = audit_unlearning(
    Unlearnable(Ridge()), X, y, forget_size=0.1, random_state=0, n_repeats=3
)
print(report)

# %%
# A model that memorises: a random forest on noisy labels
# -------------------------------------------------------
# A forest fits its training rows, noisy labels included, with confident
# probabilities. In the original model the forgotten rows (red) sit with the
# retained training rows (blue), to the right of the never-seen rows (grey):
# the attack spots them (low ``forget_score``). After ``unlearn`` (here the
# exact retrain fallback) they look like never-seen rows, exactly as in the
# gold standard.
X, y = make_classification(
    n_samples=800, n_features=20, n_informative=5, flip_y=0.2, random_state=0
)
forest = Unlearnable(RandomForestClassifier(n_estimators=50, random_state=0))
report = audit_unlearning(forest, X, y, forget_size=0.1, random_state=0)
print(report)
report.plot()
plt.show()

# %%
# The numbers as a table
# ----------------------
# ``to_frame()`` gives one row per model (pandas needed); ``to_dict()`` gives
# plain data for JSON.
report.to_frame()[["score_forget", "score_test", "mia_auc", "forget_score"]]
