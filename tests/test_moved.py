"""Modules and names that moved in the restructuring (issue 8): the old paths still work.

An old module path warns once on import (DeprecationWarning, pointing at the
importer) and gives the very objects of its new home; an old name of a moved
function is the same object.
"""

from __future__ import annotations

import importlib
import sys

import pytest

#: (old module, new module, the start of the warning)
MOVED_MODULES = [
    ("rotcurve.config", "rotcurve.serialization", "rotcurve.config moved to rotcurve.serialization;"),
    ("rotcurve.datasets.training", "rotcurve.datasets.loading",
     "rotcurve.datasets.training moved to rotcurve.datasets.loading;"),
    ("rotcurve.datasets.memory", "rotcurve.datasets.free_memory",
     "rotcurve.datasets.memory moved to rotcurve.datasets.free_memory;"),
]


@pytest.mark.parametrize("old, new, message", MOVED_MODULES, ids=[m[0] for m in MOVED_MODULES])
def test_an_old_module_path_warns_and_gives_the_same_objects(monkeypatch, old, new, message):
    new_module = importlib.import_module(new)
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match="^" + message.replace(".", r"\.")) as rec:
        old_module = importlib.import_module(old)
    assert len(rec) == 1
    assert old_module.__all__ == new_module.__all__
    for name in new_module.__all__:
        assert getattr(old_module, name) is getattr(new_module, name), name


def test_an_old_path_warns_at_the_importer(monkeypatch):
    monkeypatch.delitem(sys.modules, "rotcurve.config", raising=False)
    with pytest.warns(DeprecationWarning) as rec:
        import rotcurve.config  # noqa: F401
    assert rec[0].filename == __file__


#: (old place, name there, new place, name there)
MOVED_NAMES = [
    ("rotcurve.models.mlp", "check_name", "rotcurve.validation", "check_choice"),
    ("rotcurve.training.rundir", "data_fingerprint", "rotcurve.datasets.kinds", "data_fingerprint"),
    ("rotcurve.training.device", "resolve_device", "rotcurve.devices", "resolve_device"),
    ("rotcurve.training", "resolve_device", "rotcurve.devices", "resolve_device"),
    ("rotcurve.datasets", "resolve_device", "rotcurve.devices", "resolve_device"),
    ("rotcurve.training", "stream_seed", "rotcurve.seeds", "stream_seed"),
    ("rotcurve.training.loop", "TRAIN_STREAM", "rotcurve.seeds", "TRAIN_STREAM"),
    ("rotcurve.datasets.streaming", "epoch_seed", "rotcurve.seeds", "epoch_seed"),
    ("rotcurve.datasets.streaming", "BATCH_STREAM", "rotcurve.seeds", "BATCH_STREAM"),
    ("rotcurve.run.checks", "check_seed", "rotcurve.validation", "check_seed"),
    ("rotcurve.physics", "PARAM_NAMES", "rotcurve.units", "PARAM_NAMES"),
    ("rotcurve.generator", "PARAM_NAMES", "rotcurve.units", "PARAM_NAMES"),
    ("rotcurve.analysis.latents", "PARAM_NAMES", "rotcurve.units", "PARAM_NAMES"),
    ("rotcurve.analysis.fitting", "PARAM_NAMES", "rotcurve.units", "PARAM_NAMES"),
    ("rotcurve.io", "PARAM_NAMES", "rotcurve.units", "PARAM_NAMES"),
    ("rotcurve.io.format", "SCHEMA_VERSION", "rotcurve.io.schema", "SCHEMA_VERSION"),
    ("rotcurve.io.format", "compression_options", "rotcurve.io.schema", "compression_options"),
    ("rotcurve.io.format", "chunk_rows", "rotcurve.io.schema", "chunk_rows"),
    ("rotcurve.io.format", "CHUNK_BYTES", "rotcurve.io.schema", "CHUNK_BYTES"),
    ("rotcurve.cli.evaluate", "validate_params", "rotcurve.generator.evaluation", "validate_params"),
    ("rotcurve.cli.evaluate", "read_param_table", "rotcurve.generator.evaluation", "read_param_table"),
]


@pytest.mark.parametrize("old, old_name, new, new_name", MOVED_NAMES, ids=[f"{m[0]}.{m[1]}" for m in MOVED_NAMES])
def test_an_old_name_is_the_same_object(old, old_name, new, new_name):
    assert getattr(importlib.import_module(old), old_name) is getattr(importlib.import_module(new), new_name)


def test_the_versions_recorded_keep_their_keys():
    import importlib.metadata as md

    import numpy as np

    from rotcurve._version import __version__
    from rotcurve.reports.metrics import versions
    from rotcurve.run.files import _versions

    assert _versions() == {"rotcurve_version": __version__, "torch_version": md.version("torch"),
                           "numpy_version": np.__version__, "h5py_version": md.version("h5py")}
    report = versions()
    assert list(report)[:2] == ["python", "rotcurve"] and report["rotcurve"] == __version__
    assert list(report)[2:] == ["torch", "numpy", "scipy", "scikit-learn", "matplotlib", "corner", "h5py", "pandas"]
