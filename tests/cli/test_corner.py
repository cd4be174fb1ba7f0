"""``rotcurve corner``: the corner plot as PDF or PNG, atomically; format from the suffix."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.cli.main import main

RADII = np.geomspace(0.1, 50.0, 12)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models gain nothing from threads; oversubscribed ones on a busy machine are 10x slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _write(path, n, seed, radii=RADII, params=True):
    from rotcurve.generator import resolve_prior
    from rotcurve.io import write_dataset
    from rotcurve.physics import rotation_curves

    p = resolve_prior("reference").sample(n, np.random.default_rng(seed))
    write_dataset(path, radii=radii, v_circ=rotation_curves(p, radii).v_circ, params=p if params else None)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from rotcurve.training import fit

    root = tmp_path_factory.mktemp("cli_corner")
    _write(root / "curves.h5", 200, 0)
    fit(root / "curves.h5", root / "run", model={"hidden": [16], "latent_dim": 2},
        train={"epochs": 2, "batch_size": 50, "device": "cpu"}, progress=False)
    return root


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
