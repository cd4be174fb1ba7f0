"""The run API's edges: files as input, a well-defined --split, decode limits, reading latents back."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from rotcurve.errors import ConfigError, DataError
from rotcurve.run import LATENT_LIMIT, SPEED_OF_LIGHT_KMS, load_run, read_latents
from rotcurve.testing import write_curves

RADII = np.geomspace(0.1, 50.0, 16)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-epoch VAE (d = 2) on 300 curves: ``(root, run, v, params)``."""
    from rotcurve.training import fit

    root = tmp_path_factory.mktemp("rel")
    v, p = write_curves(root / "curves.h5", 300, radii=RADII)
    fit(root / "curves.h5", root / "run", model={"hidden": [16], "latent_dim": 2},
        train={"epochs": 2, "batch_size": 50, "device": "cpu"}, progress=False)
    return root, load_run(root / "run"), np.asarray(v, dtype=np.float32), p


# ------------------------------------------------------------------ files as input
def test_encode_and_reconstruct_accept_a_curve_file(trained):
    root, run, v, _ = trained
    expect = run.encode(v)
    for path in (root / "curves.h5", str(root / "curves.h5")):
        got = run.encode(path)
        np.testing.assert_allclose(got.mean, expect.mean, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(got.covariance, expect.covariance, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(run.reconstruct(root / "curves.h5"), run.reconstruct(v), rtol=1e-6)


def test_encode_of_a_bad_path_says_what_is_wrong(trained, tmp_path):
    root, run, _, _ = trained
    with pytest.raises(DataError, match="no such file"):
        run.encode(tmp_path / "missing.h5")
    with pytest.raises(ConfigError, match=r"Run.encode_file\('mnist:DIR'"):
        run.encode("mnist:/data/mnist")
    write_curves(tmp_path / "other.h5", 20, radii=np.geomspace(0.1, 30.0, 16))
    with pytest.raises(DataError, match="radius grid"):
        run.encode(tmp_path / "other.h5")


# ----------------------------------------------------------------------- --split
def test_split_of_the_training_file_is_the_runs_own_split(trained, tmp_path):
    from rotcurve.datasets.splits import split_indices

    root, run, v, p = trained
    rows = split_indices(300, int(run.data["seed"]), tuple(run.data["fractions"]))["val"]
    out = run.encode_file(root / "curves.h5", tmp_path / "val.h5", split="val")
    frame = read_latents(out)
    assert len(frame) == len(rows) == 30 and frame.attrs["split"] == "val"
    np.testing.assert_array_equal(frame["row"].to_numpy(), rows)
    np.testing.assert_allclose(frame[["z1", "z2"]].to_numpy(), run.encode(v[rows]).mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(frame["Md"].to_numpy(), p["Md"][rows])
    everything = read_latents(run.encode_file(root / "curves.h5", tmp_path / "all.h5"))
    assert len(everything) == 300 and everything.attrs["split"] == "all"
    np.testing.assert_array_equal(everything["row"].to_numpy(), np.arange(300))


def test_split_of_another_file_is_refused_and_writes_nothing(trained, tmp_path):
    _, run, _, _ = trained
    other = tmp_path / "other.h5"
    write_curves(other, 40, seed=5, radii=RADII)
    with pytest.raises(ConfigError) as err:
        run.encode_file(other, tmp_path / "lat.h5", split="test")
    msg = str(err.value)
    assert "is another file: leave split=None to encode all its rows" in msg and "\n" not in msg
    assert "--" not in msg and "drop --split" in err.value.cli_message
    assert not (tmp_path / "lat.h5").exists()
    assert len(read_latents(run.encode_file(other, tmp_path / "lat.h5"))) == 40  # no split: every row


# ------------------------------------------------------------------------ decode
def test_decode_refuses_non_finite_and_far_latents(trained):
    _, run, _, _ = trained
    with pytest.raises(DataError, match=r"^1 of 3 latent points z hold NaN or infinite values"):
        run.decode([[0.0, 0.0], [np.nan, 0.0], [1.0, 1.0]])
    with pytest.raises(DataError) as err:
        run.decode([[0.0, 0.0], [1e3, 0.0], [0.0, -11.0]])
    msg = str(err.value)
    assert msg.startswith("2 of 3 latent points z have a coordinate beyond |z_j| = 10") and "1e+03" in msg
    assert "\n" not in msg
    assert LATENT_LIMIT == 10.0
    v = run.decode([[LATENT_LIMIT, -LATENT_LIMIT], [0.0, 0.0]])  # the limit itself is allowed
    assert v.shape == (2, 16) and np.isfinite(v).all() and (v > 0).all()
    assert run.decode(np.zeros((0, 2))).shape == (0, 16)


@pytest.mark.parametrize("value, what", [(1e4, "inf"), (-1e4, "0 km/s"), (None, "above c")])
def test_decoded_curves_that_overflow_raise_instead_of_inf(trained, monkeypatch, value, what):
    """Never a silent inf or 0 km/s: a decoder output out of range is a DataError naming the rows."""
    _, run, _, _ = trained
    if value is None:  # a finite velocity of 1e6 km/s in normalised units
        value = float((np.log10(1e6) - run.normaliser.mean[0]) / run.normaliser.std[0])
    real = run.model.decode

    def decode(z):
        x = real(z)
        x[1] = value
        return x

    monkeypatch.setattr(run.model, "decode", decode)
    with pytest.raises(DataError) as err:
        run.decode([[0.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
    msg = str(err.value)
    assert msg.startswith("1 of 3 decoded curves leave the physical range") and "\n" not in msg
    assert f"{SPEED_OF_LIGHT_KMS:.0f} km/s" in msg
    with pytest.raises(DataError, match="1 of 3 sampled curves"):
        run.sample(3, seed=0)


# ------------------------------------------------------------------ read_latents
def test_read_latents_refuses_other_files(trained, tmp_path):
    root, _, _, _ = trained
    with pytest.raises(DataError, match="rotcurve curve file, not latents"):
        read_latents(root / "curves.h5")
    (tmp_path / "junk.h5").write_text("junk")
    with pytest.raises(DataError, match="not an HDF5 file"):
        read_latents(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(DataError, match="not a rotcurve latents file"):
        read_latents(tmp_path / "foreign.h5")
    with pytest.raises(DataError, match="no such file"):
        read_latents(tmp_path / "missing.h5")


def test_read_latents_of_an_autoencoder_has_zero_std(tmp_path):
    from rotcurve.training import fit

    write_curves(tmp_path / "c.h5", 120, radii=RADII)
    fit(tmp_path / "c.h5", tmp_path / "ae", model={"model": "ae", "hidden": [8], "latent_dim": 2},
        train={"epochs": 1, "batch_size": 60, "device": "cpu"}, progress=False)
    run = load_run(tmp_path / "ae")
    frame = read_latents(run.encode_file(tmp_path / "c.h5", tmp_path / "lat.h5"))
    assert (frame[["z1_std", "z2_std"]].to_numpy() == 0).all()
    # an autoencoder has no prior: no latent radius, but the output rule still holds
    # (z and -z: SiLU units switched off by one are switched on by the other)
    with pytest.raises(DataError, match="of 2 decoded curves leave the physical range"):
        run.decode([[1e12, -1e12], [-1e12, 1e12]])


# ------------------------------------------------- Python errors name Python arguments
def test_python_errors_name_python_arguments_not_cli_flags(trained, tmp_path):
    from rotcurve.errors import OutputExistsError

    root, run, _, _ = trained
    (tmp_path / "lat.h5").write_text("keep")
    with pytest.raises(OutputExistsError) as err:
        run.encode_file(root / "curves.h5", tmp_path / "lat.h5")
    assert "overwrite=True" in str(err.value) and "--" not in str(err.value)
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        run.sample_file(3, tmp_path / "lat.h5")
    with pytest.raises(DataError) as err:
        load_run(tmp_path / "nope")
    assert "no such run folder" in str(err.value) and "--" not in str(err.value)
    for call in (lambda: run.decode([[np.inf, 0.0]]), lambda: run.decode([[11.0, 0.0]]),
                 lambda: run.encode_file(tmp_path / "lat.h5", tmp_path / "x.h5", split="val", overwrite=True)):
        with pytest.raises((DataError, ConfigError)) as err:
            call()
        assert "--" not in str(err.value), str(err.value)
