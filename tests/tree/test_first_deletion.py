"""The first deletion after fit costs what the next ones do (issue 19).

numba loads a kernel's machine code at its first call; the deletion kernels
are loaded at the process's first fit, so that a request never waits for
them. Checked in a fresh process, where nothing is loaded yet.
"""

# SPDX-License-Identifier: BSD-3-Clause

import json
import subprocess
import sys

import pytest

_SCRIPT = """
import json
import numpy as np
from numba.core.registry import CPUDispatcher
import skunlearn.tree._kernels as K
from skunlearn.ensemble import {cls}

def loaded():
    return {{n: len(d.signatures) for n, d in vars(K).items()
            if isinstance(d, CPUDispatcher)}}

rng = np.random.RandomState(1)
X = rng.rand(3000, 6)
y = {target}
model = {cls}(n_estimators=20, max_depth=8, random_state=0).fit(X, y)
before = loaded()
for i in range(3):
    model.unlearn(X[i : i + 1], y[i : i + 1])
after = loaded()
print(json.dumps({{"new": sorted(n for n in after if after[n] != before.get(n)),
                  "touched": model.unlearn_history_[0]["details"]["trees_touched"]}}))
"""


@pytest.mark.parametrize(
    "cls, target",
    [
        (
            "UnlearningForestClassifier",
            "(X[:, 0] + 0.3 * rng.rand(3000) > 0.6).astype(int)",
        ),
        ("UnlearningForestRegressor", "X[:, 0] + 0.3 * rng.rand(3000)"),
    ],
)
def test_no_kernel_loads_at_the_first_deletion(cls, target):
    code = _SCRIPT.format(cls=cls, target=target)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["touched"] > 0  # the deletions did run the kernels
    assert result["new"] == []
