"""How much memory a device has free, and whether a data set fits in it.

Host RAM is the smallest of ``MemAvailable`` in ``/proc/meminfo`` (or
``os.sysconf`` free pages where there is no ``/proc``) and the room left under
a cgroup (container) memory limit.  A CUDA device reports its free memory
through ``torch.cuda.mem_get_info``.  A set *fits* when it needs at most
:data:`MEMORY_FRACTION` of what is free: the rest stays for the model,
optimiser, activations and everybody else on the machine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["MEMORY_FRACTION", "host_available_bytes", "device_available_bytes", "fits_in_memory"]

#: Largest share of the free memory that a data set may take to count as fitting.
MEMORY_FRACTION: float = 0.5


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup_room() -> int | None:
    """Bytes left under a cgroup v2 or v1 memory limit, or None without a limit."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        limit = _read_int(limit_file)
        if limit is None or limit >= 1 << 60:  # "max" or the v1 "no limit" value
            continue
        usage = _read_int(usage_file) or 0
        return max(0, limit - usage)
    return None


def host_available_bytes() -> int | None:
    """Bytes of host RAM available to this process, or None when unknown."""
    candidates = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    room = _cgroup_room()
    if room is not None:
        candidates.append(room)
    return min(candidates) if candidates else None


def device_available_bytes(device: Any) -> int | None:
    """Free bytes on ``device`` (a ``torch.device``): CUDA memory or host RAM."""
    if getattr(device, "type", str(device)) == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return host_available_bytes()


def fits_in_memory(nbytes: int, device: Any) -> bool:
    """Whether ``nbytes`` fit on ``device`` (and, for a GPU, in host RAM while loading).

    Unknown free memory counts as fitting (the data are then loaded as usual).
    """
    for available in {device_available_bytes(device), host_available_bytes()}:
        if available is not None and nbytes > MEMORY_FRACTION * available:
            return False
    return True
