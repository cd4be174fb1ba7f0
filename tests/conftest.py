"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import pytest

from rotcurve.testing import torch_threads


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """One torch thread: the test models are tiny and CI machines have 2 busy cores."""
    with torch_threads(1):
        yield
