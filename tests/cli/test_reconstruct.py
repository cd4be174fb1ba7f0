"""``rotcurve reconstruct``: decoded curves in the file format, and one-line errors."""

from __future__ import annotations

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
    return make_tiny_run("rec")


def test_reconstruct_file(run_dir, tmp_path, capsys):
    from rotcurve.io import read_dataset
    from rotcurve.run import load_run

    out = tmp_path / "rec.h5"
    argv = ["reconstruct", "--run", str(run_dir / "run"), "--data", str(run_dir / "curves.h5"), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert str(out) in capsys.readouterr().out
    src, rec = read_dataset(run_dir / "curves.h5"), read_dataset(out)
    np.testing.assert_allclose(rec.v_circ, load_run(run_dir / "run").reconstruct(src.v_circ), rtol=1e-6)
    np.testing.assert_array_equal(rec.radii, src.radii)
    assert rec.params.equals(src.params)
    assert rec.attrs["command"] == "rotcurve reconstruct" and rec.attrs["seed"] == 0
    # --overwrite replaces; without it the file is kept
    before = out.read_bytes()
    assert main(argv) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main([*argv, "--which", "last", "--overwrite"]) == 0


def test_radii_mismatch(run_dir, tmp_path, capsys):
    other = _curves(tmp_path / "other.h5", radii=np.geomspace(0.1, 50.0, 10))
    out = tmp_path / "rec.h5"
    assert main(["reconstruct", "--run", str(run_dir / "run"), "--data", str(other), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has 10 radii but the model was trained on 16 radii" in err[0]
    assert not out.exists()


def test_foreign_data(run_dir, tmp_path, capsys):
    junk = tmp_path / "junk.h5"
    junk.write_text("x")
    assert main(["reconstruct", "--run", str(run_dir / "run"), "--data", str(junk), "--out", str(tmp_path / "o.h5")]) == 2
    assert "is not an HDF5 file" in capsys.readouterr().err
    assert not (tmp_path / "o.h5").exists()
