"""The ``metrics.json`` of a report: its header (run, data, config, seeds, versions) and JSON-ready values."""

from __future__ import annotations

import math
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.reports.config import REPORT_FORMAT, REPORT_VERSION, STREAMS, TARGETS, ReportConfig, stream_seed

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


# rotcurve.run has its own _versions(): other keys (rotcurve_version, torch_version, ...),
# written as attributes of the curve files a run writes; the two are not merged because
# both formats are public (metrics.json ``versions`` and the HDF5 attributes).
def versions() -> dict[str, str]:
    """Python and the versions of rotcurve and the libraries a report uses (``metrics.json`` ``versions``)."""
    import importlib.metadata as md

    from rotcurve._version import __version__

    out = {"python": platform.python_version(), "rotcurve": __version__}
    for name, dist in (("torch", "torch"), ("numpy", "numpy"), ("scipy", "scipy"), ("scikit-learn", "scikit-learn"),
                       ("matplotlib", "matplotlib"), ("corner", "corner"), ("h5py", "h5py"), ("pandas", "pandas")):
        try:
            out[name] = md.version(dist)
        except md.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "not installed"
    return out


def header(run: Any, info: dict[str, Any], cfg: ReportConfig) -> dict[str, Any]:
    """The first entries of ``metrics.json``: format, time, run, analysed data (``info``), config, seeds, versions."""
    from rotcurve.serialization import to_dict

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
