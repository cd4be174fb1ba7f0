"""The compute device a name stands for: the one device check of rotcurve.

Training, the data loaders and trained runs all take a device name (the
``--device`` of the command line); :func:`resolve_device` turns it into a
``torch.device`` or says in one line why it cannot.  torch is imported only
when a device is resolved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rotcurve.errors import DEVICE as _DEVICE
from rotcurve.errors import DeviceError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["resolve_device"]

_NO_CUDA = "CUDA was requested but no CUDA device is available; use {d} cpu or auto"


def resolve_device(device: Any = "auto") -> torch.device:
    """The ``torch.device`` a device name stands for.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns
    -------
    torch.device

    Raises
    ------
    DeviceError
        CUDA asked for where there is none; an unknown device name.
    """
    import torch

    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise DeviceError(f"unknown device {device!r}; use auto, cpu or cuda") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError.both(_NO_CUDA, d=_DEVICE)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError.both(
                "CUDA device {i} was requested but there are only {n}; use {d} cuda or cpu",
                i=dev.index, n=torch.cuda.device_count(), d=_DEVICE,
            )
    elif dev.type != "cpu":
        raise DeviceError(f"device {device!r} is not supported; use auto, cpu or cuda")
    return dev
