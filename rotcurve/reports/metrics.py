"""The ``metrics.json`` of a report: its header (run, data, config, seeds, versions) and JSON-ready values."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve._version import versions as _versions
from rotcurve.reports.config import REPORT_FORMAT, REPORT_VERSION, STREAMS, TARGETS, ReportConfig, stream_seed
from rotcurve.serialization import to_dict

__all__ = ["header", "plain", "versions"]


def plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, Path):
        return str(value)
    return value


# rotcurve.run's curve files record other keys (rotcurve_version, torch_version, ...) as HDF5
# attributes; both are rotcurve._version.versions() and both formats are public.
def versions() -> dict[str, str]:
    """Python and the versions of rotcurve and the libraries a report uses (``metrics.json`` ``versions``)."""
    return _versions(("torch", "numpy", "scipy", "scikit-learn", "matplotlib", "corner", "h5py", "pandas"), python=True)


def header(run: Any, info: dict[str, Any], cfg: ReportConfig) -> dict[str, Any]:
    """The first entries of ``metrics.json``: format, time, run, analysed data (``info``), config, seeds, versions."""
    return {
        "format": REPORT_FORMAT,
        "format_version": REPORT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "run": {
            "path": str(run.path.resolve()),
            "checkpoint": run.checkpoint.name,
            "epoch": int(run.epoch),
            "kind": run.kind,
            "latent_dim": run.latent_dim,
            "model_config": run.model_config.to_dict(),
            "training_data": run.data.get("spec"),
            "training_seed": run.data.get("seed"),
            "fractions": run.data.get("fractions"),
        },
        "data": info,
        "config": to_dict(cfg),
        "seeds": {"report": cfg.seed, "samples": cfg.seed, "aggregate_fit": 0,
                  **{name: stream_seed(cfg.seed, name) for name in STREAMS}},
        "versions": versions(),
        "targets": TARGETS,
    }
