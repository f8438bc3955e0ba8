"""Decision trees built for deletion: exact and fast ``unlearn``."""

# SPDX-License-Identifier: BSD-3-Clause

from ._classes import UnlearningTreeClassifier, UnlearningTreeRegressor

__all__ = ["UnlearningTreeClassifier", "UnlearningTreeRegressor"]
