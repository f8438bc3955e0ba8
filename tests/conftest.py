import os

import pytest
from hypothesis import settings

settings.register_profile("ci", deadline=None, max_examples=30, derandomize=True)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _trees_always_delete():
    # The tree models refit instead of deleting when a batch forgets a large
    # share of the rows (see skunlearn.tree._base._REFIT_FRACTION); tests of
    # deletion use small data and large forget sets, so the deletion path is
    # kept for them (a test's own monkeypatch.undo() leaves this in place).
    # Tests of the refit set the fraction back.
    from skunlearn.tree import _base

    default = _base._REFIT_FRACTION
    _base._REFIT_FRACTION = float("inf")
    try:
        yield default
    finally:
        _base._REFIT_FRACTION = default
