"""``rotcurve score``: JSON metrics of the run's split or of another file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rotcurve.cli.main import main
from rotcurve.testing import write_curves

RADII = np.geomspace(0.1, 50.0, 16)


def _curves(path, n=200, seed=0, radii=RADII):
    write_curves(path, n, seed=seed, radii=radii)
    return path


@pytest.fixture(scope="module")
def run_dir(make_tiny_run):
    return make_tiny_run("score", seed=4)


def _score(capsys, *argv):
    assert main(["score", *argv, "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


def test_score_the_runs_test_split(run_dir, capsys):
    from rotcurve.run import load_run

    s = _score(capsys, "--run", str(run_dir / "run"), "--data", str(run_dir / "curves.h5"))
    assert s["split"] == "test" and s["n"] == 20 and s["same_as_training"] is True
    assert s == pytest.approx(load_run(run_dir / "run").score(run_dir / "curves.h5"))  # same seed 0 draws
    for key in ("neg_elbo", "recon", "kl", "median_frac_error", "rms_kms"):
        assert np.isfinite(s[key])
    v = _score(capsys, "--run", str(run_dir / "run"), "--data", str(run_dir / "curves.h5"), "--split", "val")
    assert v["split"] == "val" and v["n"] == 20


def test_score_another_file_whole(run_dir, tmp_path, capsys):
    other = _curves(tmp_path / "other.h5", n=37, seed=11)
    s = _score(capsys, "--run", str(run_dir / "run"), "--data", str(other))
    assert s["split"] == "all" and s["n"] == 37 and s["same_as_training"] is False


def test_score_errors(run_dir, tmp_path, capsys):
    coarse = _curves(tmp_path / "coarse.h5", n=10, radii=np.geomspace(0.1, 50.0, 8))
    assert main(["score", "--run", str(run_dir / "run"), "--data", str(coarse)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has 8 radii but the model was trained on 16 radii" in err[0]
    assert main(["score", "--run", str(tmp_path), "--data", str(coarse)]) == 2
    assert "not a rotcurve run folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["score", "--run", str(run_dir / "run"), "--data", str(coarse), "--split", "holdout"])
    assert "invalid choice: 'holdout'" in capsys.readouterr().err
