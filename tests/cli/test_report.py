"""``rotcurve report``: the report folder from the command line; one-line errors, nothing half-written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rotcurve.cli.main import main
from rotcurve.testing import write_curves

RADII = np.geomspace(0.1, 50.0, 12)


def _write(path, n, seed, radii=RADII, params=True):
    write_curves(path, n, seed=seed, radii=radii, params=params)


@pytest.fixture(scope="module")
def run_dir(make_tiny_run):
    return make_tiny_run("cli_report", n=400, radii=RADII)


def test_report_command_writes_the_folder_and_prints_the_numbers(run_dir, tmp_path, capsys):
    out = tmp_path / "rep"
    argv = ["report", "--run", str(run_dir / "run"), "--data", str(run_dir / "curves.h5"), "--out", str(out),
            "--n-samples", "30", "--n-curves", "40", "--seed", "2", "--dpi", "30", "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert f"wrote the report to {out / 'report.html'}" in printed.out
    assert "R2 (non-linear) from the latents: Md" in printed.out and "prior N(0, I) (diagnostic): valid within 1 %/2 %" in printed.out
    assert printed.err == ""  # --quiet: no progress bars
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["n_samples"] == 30 and m["config"]["seed"] == 2 and m["data"]["n_analysed"] == 40
    assert m["samples"]["prior"]["n"] == 30
    assert (out / "figures" / "corner_params_latents.pdf").exists()
    # an existing folder is refused, and left alone
    (out / "keep.txt").write_text("mine")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists; pass --overwrite" in err
    assert (out / "keep.txt").read_text() == "mine"


def test_mismatched_run_and_data_is_one_line_and_writes_nothing(run_dir, tmp_path, capsys):
    _write(tmp_path / "other_grid.h5", 20, 1, radii=np.geomspace(0.1, 50.0, 20))
    out = tmp_path / "rep"
    assert main(["report", "--run", str(run_dir / "run"), "--data", str(tmp_path / "other_grid.h5"),
                 "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rotcurve report: error:") and err.count("\n") == 1
    assert "20 radii but the model was trained on 12 radii" in err
    assert main(["report", "--run", str(run_dir / "run"), "--data", f"mnist:{tmp_path}",
                 "--out", str(out), "--quiet"]) == 2
    assert "holds images but the run was trained on rotation curves" in capsys.readouterr().err
    assert main(["report", "--run", str(tmp_path / "nope"), "--data", str(run_dir / "curves.h5"),
                 "--out", str(out), "--quiet"]) == 2
    assert "no such run folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other_grid.h5"]


@pytest.mark.parametrize(("argv", "text"), [(["--n-samples", "5"], "must be >= 10"),
                                            (["--seed", "-1"], "must be >= 0"),
                                            (["--n-curves", "x"], "is not an integer"),
                                            (["--dpi", "5"], "must be >= 20")])
def test_bad_numbers_are_usage_errors(run_dir, tmp_path, capsys, argv, text):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--run", str(run_dir / "run"), "--data", str(run_dir / "curves.h5"),
              "--out", str(tmp_path / "rep"), *argv])
    assert exc.value.code == 2 and text in capsys.readouterr().err
    assert not (tmp_path / "rep").exists()
