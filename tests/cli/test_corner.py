"""``rotcurve corner``: the corner plot as PDF or PNG, atomically; format from the suffix."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.cli.main import main
from rotcurve.testing import write_curves

RADII = np.geomspace(0.1, 50.0, 12)


def _write(path, n, seed, radii=RADII, params=True):
    write_curves(path, n, seed=seed, radii=radii, params=params)


@pytest.fixture(scope="module")
def run_dir(make_tiny_run):
    return make_tiny_run("cli_corner", radii=RADII)


def _base(run_dir, out, data=None):
    return ["corner", "--run", str(run_dir / "run"), "--data", str(data or run_dir / "curves.h5"), "--out", str(out)]


def test_pdf_and_png_by_suffix(run_dir, tmp_path, capsys):
    assert main(_base(run_dir, tmp_path / "c.pdf")) == 0
    assert (tmp_path / "c.pdf").read_bytes()[:5] == b"%PDF-"
    assert main(_base(run_dir, tmp_path / "c.PNG") + ["--n-curves", "15", "--seed", "1"]) == 0
    assert (tmp_path / "c.PNG").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote the corner plot to" in capsys.readouterr().out
    # curves without parameters: the latents alone
    _write(tmp_path / "noparams.h5", 30, 3, params=False)
    assert main(_base(run_dir, tmp_path / "z.png", tmp_path / "noparams.h5")) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.PNG", "c.pdf", "noparams.h5", "z.png"]


def test_unknown_suffix_existing_file_and_mismatch_are_one_line(run_dir, tmp_path, capsys):
    for name in ("c.jpg", "c"):
        assert main(_base(run_dir, tmp_path / name)) == 2
        err = capsys.readouterr().err
        assert "unknown figure format" in err and ".png, .pdf, .svg" in err and err.count("\n") == 1
    keep = tmp_path / "keep.pdf"
    keep.write_bytes(b"mine")
    assert main(_base(run_dir, keep)) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err and keep.read_bytes() == b"mine"
    assert main(_base(run_dir, keep) + ["--overwrite"]) == 0
    assert keep.read_bytes()[:5] == b"%PDF-"
    _write(tmp_path / "grid.h5", 10, 1, radii=np.geomspace(0.2, 40.0, 12))
    assert main(_base(run_dir, tmp_path / "x.pdf", tmp_path / "grid.h5")) == 2
    assert "different radius grid" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
