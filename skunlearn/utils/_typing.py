"""Type aliases for skunlearn's annotations (not public API).

The annotations of the public API use them; they are read by type checkers
only (every module that uses them has ``from __future__ import annotations``).
scikit-learn, SciPy and pandas ship no type information, so their classes are
``Any`` to a type checker: the aliases say what is accepted, the checker
checks the NumPy part.
"""

# SPDX-License-Identifier: BSD-3-Clause

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from scipy.sparse import sparray, spmatrix

__all__ = ["ArrayLike", "Float64Array", "IntArray", "MatrixLike", "NDArray"]

#: Input rows: an array-like (nested lists, an ndarray, a pandas DataFrame) or
#: a SciPy sparse matrix or array, as scikit-learn accepts.
MatrixLike: TypeAlias = "ArrayLike | spmatrix | sparray"

#: A float64 ndarray (probabilities, distances, decision values).
Float64Array: TypeAlias = "NDArray[np.float64]"

#: An integer ndarray (row positions, labels).
IntArray: TypeAlias = "NDArray[np.integer[Any]]"
