"""Choosing the compute device and the mixed-precision mode of a run.

``"auto"`` means CUDA when a CUDA device is there and the CPU otherwise
(:func:`resolve_device`, from :mod:`rotcurve.devices`).
Mixed precision is bf16 autocast, on CUDA only (on a CPU it is slower than
float32 for these small networks): ``amp="auto"`` turns it on for CUDA.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from rotcurve.devices import resolve_device
from rotcurve.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["resolve_device", "amp_dtype", "autocast"]


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a run, or None for full float32.

    Parameters
    ----------
    amp : {"auto", "bf16", "off"}
        The configured mode.
    device : torch.device
        The run's device.

    Raises
    ------
    ConfigError
        ``"bf16"`` on a device other than CUDA, or an unknown mode.
    """
    import torch

    if amp == "off":
        return None
    if amp == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    if amp == "bf16":
        if device.type != "cuda":
            raise ConfigError(
                f"amp='bf16' (bf16 autocast) is for CUDA devices only, not {device.type}; "
                "use amp='auto' or 'off'"
            )
        return torch.bfloat16
    raise ConfigError(f"unknown amp mode {amp!r}; choose one of: auto, bf16, off")


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for ``dtype`` on ``device``, or a no-op context when ``dtype`` is None."""
    import torch

    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
