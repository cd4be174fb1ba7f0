"""``rotcurve encode``: the latent file, and one-line errors that write nothing."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
import torch

from rotcurve.cli.main import main
from rotcurve.testing import write_curves

RADII = np.geomspace(0.1, 50.0, 16)


def _curves(path, n=200, seed=0, radii=RADII):
    write_curves(path, n, seed=seed, radii=radii)
    return path


@pytest.fixture(scope="module")
def run_dir(make_tiny_run):
    return make_tiny_run("enc", latent_dim=3)


def _fails(capsys, argv, text):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and text in err[0], err
    assert "Traceback" not in err[0]


def test_encode_writes_means_covariances_params(run_dir, tmp_path, capsys):
    from rotcurve.io import read_dataset
    from rotcurve.run import load_run

    out = tmp_path / "lat.h5"
    assert main(["encode", "--run", str(run_dir / "run"), "--data", str(run_dir / "curves.h5"), "--out", str(out), "--quiet"]) == 0
    assert str(out) in capsys.readouterr().out
    data = read_dataset(run_dir / "curves.h5")
    expect = load_run(run_dir / "run").encode(data.v_circ)
    with h5py.File(out) as f:
        np.testing.assert_allclose(f["latent/mean"][:], expect.mean, rtol=1e-6)
        np.testing.assert_allclose(f["latent/covariance"][:], expect.covariance, rtol=1e-6)
        np.testing.assert_array_equal(f["radii"][:], RADII)
        for name in ("Md", "Rd", "Mh", "c"):
            np.testing.assert_array_equal(f[f"params/{name}"][:], data.params[name].to_numpy())
        assert f.attrs["run"] == str((run_dir / "run").resolve())
        assert f.attrs["checkpoint"] == "best.pt" and f.attrs["rotcurve_version"]


def test_radii_mismatch_writes_nothing(run_dir, tmp_path, capsys):
    other = _curves(tmp_path / "other.h5", radii=np.geomspace(0.1, 30.0, 16))
    out = tmp_path / "lat.h5"
    _fails(capsys, ["encode", "--run", str(run_dir / "run"), "--data", str(other), "--out", str(out)],
           "different radius grid than the model (16 radii from 0.1 to 50 kpc)")
    assert list(tmp_path.iterdir()) == [other]


def test_existing_output_is_kept(run_dir, tmp_path, capsys):
    out = tmp_path / "lat.h5"
    out.write_text("precious")
    _fails(capsys, ["encode", "--run", str(run_dir / "run"), "--data", str(run_dir / "curves.h5"), "--out", str(out)],
           "exists; pass --overwrite")
    assert out.read_text() == "precious"


@pytest.mark.parametrize("damage", ["truncated", "foreign", "newer"])
def test_bad_checkpoints(run_dir, tmp_path, capsys, damage):
    bad = tmp_path / "run"
    shutil.copytree(run_dir / "run", bad)
    best = bad / "checkpoints" / "best.pt"
    if damage == "truncated":
        best.write_bytes(best.read_bytes()[:500])
        text = "corrupted or truncated"
    elif damage == "foreign":
        torch.save(torch.nn.Linear(2, 2).state_dict(), best)
        text = "not a rotcurve checkpoint"
    else:
        raw = torch.load(best, weights_only=True)
        raw["schema_version"] = 99
        torch.save(raw, best)
        text = "upgrade rotcurve"
    out = tmp_path / "lat.h5"
    _fails(capsys, ["encode", "--run", str(bad), "--data", str(run_dir / "curves.h5"), "--out", str(out)], text)
    assert not out.exists()


def test_missing_run(tmp_path, run_dir, capsys):
    _fails(capsys, ["encode", "--run", str(tmp_path / "nope"), "--data", str(run_dir / "curves.h5"),
                    "--out", str(tmp_path / "x.h5")], "no such run folder")


def test_read_latents_gives_latents_and_true_parameters_of_the_cli_output(run_dir, tmp_path, capsys):
    from rotcurve.io import read_dataset
    from rotcurve.run import read_latents

    out = tmp_path / "lat.h5"
    assert main(["encode", "--run", str(run_dir / "run"), "--data", str(run_dir / "curves.h5"), "--out", str(out), "--quiet"]) == 0
    frame = read_latents(out)
    assert list(frame.columns) == ["row", "z1", "z2", "z3", "z1_std", "z2_std", "z3_std", "Md", "Rd", "Mh", "c"]
    data = read_dataset(run_dir / "curves.h5")
    with h5py.File(out) as f:
        np.testing.assert_array_equal(frame[["z1", "z2", "z3"]].to_numpy(), f["latent/mean"][:])
        std = np.sqrt(np.diagonal(f["latent/covariance"][:], axis1=1, axis2=2))
        np.testing.assert_allclose(frame[["z1_std", "z2_std", "z3_std"]].to_numpy(), std, rtol=1e-15)
    for name in ("Md", "Rd", "Mh", "c"):
        np.testing.assert_array_equal(frame[name].to_numpy(), data.params[name].to_numpy())
    np.testing.assert_array_equal(frame["row"].to_numpy(), np.arange(200))
    assert frame.attrs["run"] == str((run_dir / "run").resolve()) and frame.attrs["model_config"]["latent_dim"] == 3
    np.testing.assert_array_equal(frame.attrs["radii"], RADII)


def test_split_is_honoured_for_the_training_file(run_dir, tmp_path, capsys):
    from rotcurve.datasets.splits import split_indices
    from rotcurve.run import load_run, read_latents

    out = tmp_path / "val.h5"
    argv = ["encode", "--run", str(run_dir / "run"), "--data", str(run_dir / "curves.h5"), "--split", "val",
            "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert "the val split of" in capsys.readouterr().out
    run = load_run(run_dir / "run")
    rows = split_indices(200, int(run.data["seed"]), tuple(run.data["fractions"]))["val"]
    frame = read_latents(out)
    np.testing.assert_array_equal(frame["row"].to_numpy(), rows)
    assert len(frame) == len(rows) < 200


def test_split_of_another_file_is_a_one_line_error(run_dir, tmp_path, capsys):
    other = _curves(tmp_path / "other.h5", n=50, seed=3)
    out = tmp_path / "lat.h5"
    _fails(capsys, ["encode", "--run", str(run_dir / "run"), "--data", str(other), "--split", "val", "--out", str(out)],
           "is another file: drop --split to encode all its rows")
    assert not out.exists()
