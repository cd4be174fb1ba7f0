"""Device and mixed-precision choices."""

from __future__ import annotations

import pytest
import torch

from rotcurve.errors import ConfigError, DeviceError
from rotcurve.training.device import amp_dtype, autocast, resolve_device

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    expect = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expect


@no_cuda
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(DeviceError) as exc:
        resolve_device("cuda")
    assert str(exc.value) == "CUDA was requested but no CUDA device is available; use device cpu or auto"


def test_unknown_device():
    with pytest.raises(DeviceError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")


def test_amp_modes_on_cpu():
    cpu = torch.device("cpu")
    assert amp_dtype("auto", cpu) is None
    assert amp_dtype("off", cpu) is None
    with pytest.raises(ConfigError, match="for CUDA devices only"):
        amp_dtype("bf16", cpu)
    with autocast(cpu, None):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_amp_auto_is_bf16_on_cuda():
    dev = torch.device("cuda")
    assert amp_dtype("auto", dev) is torch.bfloat16
    with autocast(dev, torch.bfloat16):
        a = torch.ones(4, 4, device=dev)
        assert (a @ a).dtype == torch.bfloat16
