"""fit_catalogue: outputs, failures listed, resume/overwrite, workers and Dask give the same results."""

from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest
from astropy.table import Table

from rotcurve.errors import ConfigError, DataError, OutputExistsError
from rotcurve.inference import SCHEMA_VERSION, Galaxy, Posteriors, fit_catalogue, load_fit

from .conftest import FAST, rotmod_text, toy_rows


@pytest.fixture(scope="module")
def sparc_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sparc")
    (folder / "ALPHA_rotmod.dat").write_text(rotmod_text(toy_rows(10), distance=8.0))
    (folder / "BETA_rotmod.dat").write_text(rotmod_text(toy_rows(9, bulge=True), distance=20.0))
    rows = toy_rows(8)
    rows[4][2] = 0.0  # an error of zero
    (folder / "GAMMA_rotmod.dat").write_text(rotmod_text(rows))
    (folder / "EMPTY_rotmod.dat").write_text("# Distance = 3 Mpc\n")
    return folder


@pytest.fixture(scope="module")
def fitted(sparc_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "out"
    res = fit_catalogue(sparc_folder, out, H0=73.0, settings=FAST, workers=1, progress=False)
    return res, out


def test_outputs_and_failures(fitted):
    res, out = fitted
    for name in ("summary.csv", "summary.ecsv", "posteriors.h5", "report.html", "failures.csv", "fit_config.json"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "ALPHA_corner.png", "ALPHA_curve.png", "BETA_corner.png", "BETA_curve.png"]
    s = Table.read(out / "summary.ecsv")
    assert list(s["name"]) == ["ALPHA", "BETA", "EMPTY", "GAMMA"]
    assert list(s["status"]) == ["not_converged", "not_converged", "failed", "failed"]
    assert "EMPTY: no data points" in s["reason"][2]
    assert "galaxy GAMMA, line 8 (R = " in s["reason"][3] and "eV = 0" in s["reason"][3]
    assert [n for n, _ in res.failures] == ["EMPTY", "GAMMA"]
    assert res.n_failed == 2 and res.n_not_converged == 2
    for q in ("Ups_disk", "Ups_bulge", "Mh", "c", "V200", "R200", "C200", "M200", "Mstar"):
        for suffix in ("p16", "p50", "p84", "map"):
            assert f"{q}_{suffix}" in s.colnames
    assert str(s["V200_p50"].unit) == "km / s" and str(s["M200_map"].unit) == "solMass"
    assert np.isnan(s["Ups_bulge_p50"][0]) and np.isfinite(s["Ups_bulge_p50"][1])
    assert np.all(s["V200_p16"][:2] <= s["V200_p50"][:2]) and np.all(s["V200_p50"][:2] <= s["V200_p84"][:2])
    csv = Table.read(out / "summary.csv", format="ascii.csv")
    assert list(csv["name"]) == list(s["name"]) and len(csv.colnames) == len(s.colnames)
    assert "<img" in (out / "report.html").read_text()


def test_posteriors_file_schema(fitted):
    _, out = fitted
    with h5py.File(out / "posteriors.h5", "r") as f:
        assert f.attrs["format"] == "rotcurve-posteriors" and f.attrs["schema_version"] == SCHEMA_VERSION
        assert json.loads(f.attrs["settings"])["H0"] == 73.0
        g = f["galaxies/BETA"]
        assert g["samples"].shape[1] == 4 and g["derived"].shape[1] == 5
        assert g["log_prob"].shape == (g["samples"].shape[0],)
        assert g["data/R"].attrs["unit"] == "kpc" and g["data"].attrs["distance"] == 20.0
        assert f["galaxies/EMPTY"].attrs["status"] == "failed" and "samples" not in f["galaxies/EMPTY"]
    with Posteriors(out / "posteriors.h5") as post:
        assert post.names == ["ALPHA", "BETA", "EMPTY", "GAMMA"]
        fit = post["BETA"]
        assert fit.galaxy.has_bulge and fit.galaxy.distance == 20.0
        same = load_fit(out, "BETA")
        np.testing.assert_array_equal(fit.samples, same.samples)
        assert fit.summary_row()["V200_p50"] == pytest.approx(
            float(Table.read(out / "summary.ecsv")["V200_p50"][1]))


def test_existing_outputs_resume_and_overwrite(sparc_folder, fitted, tmp_path):
    _, out = fitted
    with pytest.raises(OutputExistsError, match="pass overwrite=True or resume=True"):
        fit_catalogue(sparc_folder, out, H0=73.0, settings=FAST, workers=1, progress=False)
    with pytest.raises(ConfigError, match="other settings"):
        fit_catalogue(sparc_folder, out, H0=70.0, settings=FAST, workers=1, progress=False, resume=True)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "galaxies").iterdir()}
    res = fit_catalogue(sparc_folder, out, H0=73.0, settings=FAST, workers=1, progress=False, resume=True,
                        figures=False)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "galaxies").iterdir()}
    assert after["ALPHA.h5"] == before["ALPHA.h5"] and after["BETA.h5"] == before["BETA.h5"]
    assert after["EMPTY.h5"] != before["EMPTY.h5"]  # failures are retried
    assert res.n_failed == 2
    copy = tmp_path / "copy"
    res2 = fit_catalogue(sparc_folder, copy, H0=73.0, settings=FAST, workers=1, progress=False, figures=False,
                         report=False)
    assert not (copy / "report.html").exists() and not (copy / "figures").exists()
    res3 = fit_catalogue(sparc_folder, copy, H0=73.0, settings=FAST, workers=1, progress=False, figures=False,
                         report=False, overwrite=True)
    np.testing.assert_array_equal(np.asarray(res2.summary["V200_p50"]), np.asarray(res3.summary["V200_p50"]))


def test_processes_and_dask_match_one_process(sparc_folder, fitted, tmp_path):
    distributed = pytest.importorskip("distributed")
    _, out = fitted
    ref = Table.read(out / "summary.ecsv")
    res = fit_catalogue(sparc_folder, tmp_path / "w2", H0=73.0, settings=FAST, workers=2, progress=False,
                        figures=False, report=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl:
        res_dask = fit_catalogue(sparc_folder, tmp_path / "dask", H0=73.0, settings=FAST, progress=False,
                                 figures=False, report=False, scheduler=cl.scheduler_address)
    for r in (res, res_dask):
        np.testing.assert_array_equal(np.asarray(r.summary["V200_p50"]), np.asarray(ref["V200_p50"]))
        assert list(r.summary["status"]) == list(ref["status"])


def test_in_memory_catalogue_and_bad_inputs(tmp_path):
    r = np.linspace(1, 10, 8)
    gals = [Galaxy("m1", R=r, V=100 * r / (r + 2), eV=np.full(8, 5.0)),
            {"name": "m2", "R": r, "V": 90 * r / (r + 3), "eV": np.full(8, 5.0)}]
    res = fit_catalogue(gals, model="disc-nfw", settings=FAST, progress=False)
    assert res.out is None and [f.name for f in res.fits] == ["m1", "m2"]
    assert all(f.ok for f in res.fits)
    with pytest.raises(DataError, match="no galaxy has the Vgas, Vdisk columns"):
        fit_catalogue(gals, tmp_path / "x", model="sparc", progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is a file"):
        fit_catalogue(gals, tmp_path / "file", model="disc-nfw", settings=FAST, progress=False)
    assert os.listdir(tmp_path) == ["file"]


def test_a_failed_start_leaves_no_skeleton_folder(sparc_folder, tmp_path):
    # an unreachable scheduler used to leave DIR/galaxies/ and fit_config.json, like a started fit
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "runs" / "fits"
    with pytest.raises(ConfigError):
        fit_catalogue(sparc_folder, out, H0=73.0, settings=FAST, progress=False, figures=False, report=False,
                      scheduler=f"tcp://127.0.0.1:{port}", scheduler_timeout=1.0)
    assert not out.exists()
