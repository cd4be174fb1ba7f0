"""Shared fixtures of the model tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run each model test on one intra-op thread, then restore the setting.

    The networks here are tiny; on a small shared machine a second intra-op
    thread only adds contention (it made the tests ~10x slower on 2 busy cores).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
