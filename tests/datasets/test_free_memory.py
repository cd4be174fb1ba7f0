"""Free memory of the host (and GPU) and the fits-in-memory decision."""

from __future__ import annotations

import os

import pytest
import torch

from rotcurve.datasets import free_memory as memory


def test_host_memory_is_positive_and_at_most_physical():
    available = memory.host_available_bytes()
    assert available is not None and available > 0
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert available <= physical


def test_fits_in_memory_uses_the_safety_margin(monkeypatch):
    monkeypatch.setattr(memory, "host_available_bytes", lambda: 1000)
    cpu = torch.device("cpu")
    assert memory.fits_in_memory(500, cpu)
    assert not memory.fits_in_memory(501, cpu)
    monkeypatch.setattr(memory, "host_available_bytes", lambda: None)
    assert memory.fits_in_memory(10**18, cpu)  # unknown: load as usual


def test_cgroup_limit_caps_the_host_memory(monkeypatch):
    files = {
        "/sys/fs/cgroup/memory.max": 8 << 30,
        "/sys/fs/cgroup/memory.current": 6 << 30,
    }
    monkeypatch.setattr(memory, "_read_int", lambda path: files.get(path))
    assert memory._cgroup_room() == 2 << 30
    assert memory.host_available_bytes() <= 2 << 30
    files["/sys/fs/cgroup/memory.max"] = None  # "max": no limit at this level
    assert memory._cgroup_room() is None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_free_memory():
    free = memory.device_available_bytes(torch.device("cuda"))
    total = torch.cuda.get_device_properties(0).total_memory
    assert 0 < free <= total
