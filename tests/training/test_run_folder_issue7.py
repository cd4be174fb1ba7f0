"""Run folders (issue 7 G, B, F): parents created, a file in the way named, Python wording."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.errors import ConfigError, DataError, OutputExistsError
from rotcurve.testing import write_curves
from rotcurve.training import fit
from rotcurve.training.rundir import RunPaths, check_run_root, prepare_run_dir


def _fit(data, run_dir, **kw):
    return fit(data, run_dir, model={"hidden": [8], "latent_dim": 2},
               train={"epochs": 1, "batch_size": 30, "device": "cpu"}, progress=False, **kw)


@pytest.fixture(scope="module")
def curves(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "curves.h5"
    write_curves(path, 60, radii=np.geomspace(0.1, 50.0, 8))
    return path


def test_a_run_folder_in_missing_folders_is_created(tmp_path, curves):
    # Before: "folder runs does not exist; create it first" on a fresh clone.
    res = _fit(curves, tmp_path / "runs" / "deeper" / "vae4")
    assert res.run_dir == tmp_path / "runs" / "deeper" / "vae4"
    assert (tmp_path / "runs" / "deeper" / "vae4" / "checkpoints" / "last.pt").is_file()
    assert sorted(p.name for p in (tmp_path / "runs" / "deeper").iterdir()) == ["vae4"]  # lock removed


def test_a_file_in_the_way_is_named(tmp_path, curves):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DataError, match="afile is a file, not a folder"):
        check_run_root(tmp_path / "afile" / "run")
    with pytest.raises(DataError, match="afile is a file, not a folder"):
        _fit(curves, tmp_path / "afile" / "run")
    with pytest.raises(DataError, match="afile is a file, not a folder"):
        _fit(curves, tmp_path / "afile")


def test_prepare_run_dir_speaks_python(tmp_path, curves):
    run = tmp_path / "run"
    _fit(curves, run)
    from rotcurve.training.rundir import read_run_config

    config = read_run_config(run / "config.json")
    with pytest.raises(OutputExistsError) as info:
        prepare_run_dir(RunPaths(run), config, resume=False, overwrite=False)
    assert "resume=True" in str(info.value) and "overwrite=True" in str(info.value)
    assert "--resume" in info.value.cli_message and "--overwrite" in info.value.cli_message
    with pytest.raises(ConfigError, match="^resume and overwrite exclude each other") as info:
        prepare_run_dir(RunPaths(run), config, resume=True, overwrite=True)
    assert info.value.cli_message.startswith("--resume and --overwrite exclude each other")
