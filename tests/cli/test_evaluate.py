"""``rotcurve evaluate``: curves for a parameter table, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest

from rotcurve.cli.main import main
from rotcurve.generator import RadiiSpec, ReferencePrior
from rotcurve.io import open_dataset, read_dataset, write_dataset
from rotcurve.physics import rotation_curves

COLS = ["Md", "Rd", "Mh", "c"]


@pytest.fixture
def table(tmp_path):
    params = ReferencePrior().sample(25, np.random.default_rng(11))
    frame = pd.DataFrame(params)[COLS]
    frame["name"] = [f"g{i}" for i in range(25)]  # extra columns are ignored
    path = tmp_path / "galaxies.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    return path, params


def _run(capsys, *argv):
    status = main(["evaluate", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def test_csv_to_curves(tmp_path, table, capsys):
    path, params = table
    out = tmp_path / "out.h5"
    status, stdout, err = _run(capsys, "--params", path, "--out", out)
    assert status == 0 and err == ""
    assert "wrote 25 curves x 50 radii" in stdout
    ref = rotation_curves(params, RadiiSpec().grid())
    data = read_dataset(out, components=True)
    np.testing.assert_array_equal(data.radii, RadiiSpec().grid())
    for name in ("v_circ", "v_disc", "v_halo"):
        np.testing.assert_array_equal(getattr(data, name), getattr(ref, name).astype(np.float32))
    for c in COLS:
        np.testing.assert_array_equal(data.params[c].to_numpy(), params[c])
    assert data.attrs["H0"] == 70.0 and data.attrs["prior"] is None and data.attrs["seed"] is None
    assert data.attrs["radii_spec"] == RadiiSpec().to_dict()
    assert data.attrs["params_table"] == "galaxies.csv"


def test_options_radii_h0_float64_blocks(tmp_path, table, capsys):
    path, params = table
    out = tmp_path / "out.h5"
    status, _, _ = _run(capsys, "--params", path, "--out", out, "--radii", "1:20:7:linear", "--H0", "67.7",
                        "--Delta", "100", "--float64", "--no-components", "--block-size", "4", "--quiet")
    assert status == 0
    radii = np.linspace(1, 20, 7)
    ref = rotation_curves(params, radii, H0=67.7, Delta=100.0)
    with open_dataset(out) as ds:
        assert ds.v_disc is None and ds.v_circ.dtype == np.float64
        np.testing.assert_allclose(ds.radii, radii, rtol=1e-15)
        np.testing.assert_array_equal(ds.v_circ[...], ref.v_circ)  # blocks == one shot
        assert ds.attrs["H0"] == 67.7 and ds.attrs["Delta"] == 100.0
    # the cosmology matters: the default H0 gives different halo velocities
    assert not np.allclose(ref.v_circ, rotation_curves(params, radii).v_circ)


def test_rotcurve_file_as_table_uses_its_radii(tmp_path, capsys):
    params = ReferencePrior().sample(6, np.random.default_rng(1))
    radii = np.array([0.5, 1.0, 2.0, 8.0])
    ref = rotation_curves(params, radii)
    src = write_dataset(tmp_path / "src.h5", radii=radii, v_circ=ref.v_circ, params=params)
    out = tmp_path / "out.h5"
    assert _run(capsys, "--params", src, "--out", out, "--float64")[0] == 0
    data = read_dataset(out, components=True)
    np.testing.assert_array_equal(data.radii, radii)
    np.testing.assert_array_equal(data.v_circ, ref.v_circ)
    assert data.attrs["radii_spec"]["spacing"] == "explicit"
    # --radii wins over the file's radii
    assert _run(capsys, "--params", src, "--out", out, "--overwrite", "--radii", "1:10:3")[0] == 0
    assert read_dataset(out).radii.shape == (3,)


@pytest.mark.parametrize("group", ["", "params"])
def test_plain_hdf5_table(tmp_path, capsys, group):
    params = ReferencePrior().sample(4, np.random.default_rng(2))
    src = tmp_path / "t.h5"
    with h5py.File(src, "w") as f:
        g = f.require_group(group) if group else f
        for c in COLS:
            g[c] = params[c]
    out = tmp_path / "out.h5"
    assert _run(capsys, "--params", src, "--out", out)[0] == 0
    np.testing.assert_array_equal(read_dataset(out).params["Rd"].to_numpy(), params["Rd"])


def _bad_csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ("Md,Rd,c\n1e10,2,10\n", "lacks column Mh (found: Md, Rd, c); it needs Md [Msun], Rd [kpc], Mh [Msun], c"),
        ("mass,size\n1,2\n", "lacks columns Md, Rd, Mh, c"),
        ("Md,Rd,Mh,c\n1e10,2,1e12,10\n1e10,two,1e12,10\n", "row 2, column Rd: 'two' is not a number; give Rd in kpc"),
        ("Md,Rd,Mh,c\n1e10,2,1e12,10\n1e10,2,1e12,\n", "row 2, column c: is empty"),
        ("Md,Rd,Mh,c\n1e10,2,1e12,10\n1e10,2,1e12,10\n-1e10,2,1e12,10\n", "row 3, column Md: -1e+10 must be positive and finite (Msun)"),
        ("Md,Rd,Mh,c\n1e10,2,inf,10\n", "row 1, column Mh: inf must be positive and finite"),
        ("Md,Rd,Mh,c\n1e10,2,1e12,0\n", "row 1, column c: 0 must be positive"),
        ("Md,Rd,Mh,c\n", "has no rows"),
        ("", "is empty"),
        # one field more than the header on every row: pandas would take the first as
        # the index and shift the columns (Md would hold the Rd values) without a word
        ("Md,Rd,Mh,c\n1e10,2,1e12,10,5\n2e10,3,1e12,10,6\n", "line 2 has 5 fields but the header has 4"),
        ("Md,Rd,Mh,c\n1e10,2,1e12,10\n2e10,3,1e12,10,6\n", "line 3 has 5 fields but the header has 4"),
        ("# a comment\nMd,Rd,Mh,c\n1e10,2,1e12\n", "row 1, column c: is empty"),
    ],
)
def test_bad_tables(tmp_path, capsys, text, message):
    src = _bad_csv(tmp_path, text)
    status, stdout, err = _run(capsys, "--params", src, "--out", tmp_path / "out.h5")
    assert status == 2 and stdout == ""
    assert err.startswith("rotcurve evaluate: error: parameter table ") and err.count("\n") == 1
    assert message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # no partial output


def test_bad_hdf5_tables(tmp_path, capsys, table):
    src = tmp_path / "t.h5"
    with h5py.File(src, "w") as f:
        f["Md"] = [1.0]
    status, _, err = _run(capsys, "--params", src, "--out", tmp_path / "o.h5")
    assert status == 2 and "lacks columns Rd, Mh, c (found: Md)" in err
    nop = write_dataset(tmp_path / "nop.h5", radii=[1.0, 2.0], v_circ=np.ones((2, 2)))
    status, _, err = _run(capsys, "--params", nop, "--out", tmp_path / "o.h5")
    assert status == 2 and "without /params" in err
    trunc = tmp_path / "trunc.h5"
    trunc.write_bytes(nop.read_bytes()[:1000])
    status, _, err = _run(capsys, "--params", trunc, "--out", tmp_path / "o.h5")
    assert status == 2 and "truncated or corrupted" in err
    assert not (tmp_path / "o.h5").exists()


def test_output_problems(tmp_path, table, capsys):
    path, _ = table
    out = tmp_path / "out.h5"
    out.write_bytes(b"precious")
    status, _, err = _run(capsys, "--params", path, "--out", out)
    assert status == 2 and "out.h5 exists; pass --overwrite to replace it" in err
    assert out.read_bytes() == b"precious"
    # Issue 7 G: a missing folder used to be "does not exist"; a file in the way is named.
    status, _, err = _run(capsys, "--params", path, "--out", out / "o.h5")
    assert status == 2 and "out.h5 is a file, not a folder" in err
    status, _, err = _run(capsys, "--params", path, "--out", tmp_path)
    assert status == 2 and "is a folder" in err
    status, _, err = _run(capsys, "--params", tmp_path / "missing.csv", "--out", tmp_path / "o.h5")
    assert status == 2 and "missing.csv: no such file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["galaxies.csv", "out.h5"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--H0", "-70"], "argument --H0: '-70' must be a finite number > 0"),
        (["--compression", "zstd"], "argument --compression: unknown compression 'zstd'"),
        (["--radii", "1:2"], "radii '1:2' is neither RMIN:RMAX:N"),
        (["--block-size", "0"], "argument --block-size: '0' must be >= 1"),
    ],
)
def test_bad_options(tmp_path, table, capsys, args, message):
    path, _ = table
    try:  # argparse errors exit; errors found while running return the status
        status = main(["evaluate", "--params", str(path), "--out", str(tmp_path / "o.h5"), *args])
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "o.h5").exists()


def test_subprocess_error_is_one_line_without_traceback(tmp_path):
    src = _bad_csv(tmp_path, "Md,Rd,Mh,c\n1e10,2,1e12,abc\n")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("ROTCURVE_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "rotcurve.cli.main", "evaluate", "--params", str(src), "--out", str(tmp_path / "o.h5")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "row 1, column c: 'abc' is not a number" in proc.stderr
    assert not (tmp_path / "o.h5").exists()


def test_shared_option_helpers():
    import argparse

    from rotcurve.cli._common import (
        add_physics_options,
        add_prior_option,
        add_radii_option,
        add_seed_option,
        add_storage_options,
        physics_from_args,
        prior_from_args,
        radii_from_args,
        storage_from_args,
    )
    from rotcurve.generator import LogUniformPrior

    p = argparse.ArgumentParser()
    for add in (add_storage_options, add_radii_option, add_physics_options, add_prior_option, add_seed_option):
        add(p)
    args = p.parse_args([])
    assert storage_from_args(args) == {"dtype": "float32", "components": True, "compression": "default",
                                       "overwrite": False}
    assert radii_from_args(args) == RadiiSpec() and prior_from_args(args) == ReferencePrior()
    assert physics_from_args(args) == {"H0": 70.0, "Delta": 200.0} and args.seed == 0
    args = p.parse_args(["--float64", "--no-components", "--compression", "GZIP:6", "--overwrite",
                         "--radii", "1:5:3", "--H0", "67.4", "--prior", "loguniform", "--seed", "12"])
    assert storage_from_args(args) == {"dtype": "float64", "components": False, "compression": "gzip:6",
                                       "overwrite": True}
    assert radii_from_args(args).n == 3 and prior_from_args(args) == LogUniformPrior()
    assert physics_from_args(args)["H0"] == 67.4 and args.seed == 12


def test_same_table_gives_identical_bytes(tmp_path, table, capsys):
    import hashlib

    path, _ = table
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    assert _run(capsys, "--params", path, "--out", a, "--quiet")[0] == 0
    assert _run(capsys, "--params", path, "--out", b, "--quiet", "--block-size", "7")[0] == 0
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


# -- issue 7 ------------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "rotcurve.cli.main", "evaluate", *map(str, args)],
                          capture_output=True, text=True)


def test_a_galaxy_whose_curve_overflows_is_refused_with_its_row(tmp_path):
    # Before: v_circ = inf stored, exit 0.
    (tmp_path / "p.csv").write_text("Md,Rd,Mh,c,name\n1e10,3,1e12,10,A\n1e300,3,1e12,10,B\n")
    proc = _cli("--params", tmp_path / "p.csv", "--out", tmp_path / "o.h5")
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # no RuntimeWarning text either
    assert "p.csv, row 2 (B): v_circ is" in lines[0] and "beyond the float32 range" in lines[0]
    assert "Md = 1e+300" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]


def test_the_name_column_is_kept(tmp_path, table, capsys):
    # Before: dropped.
    path, params = table
    out = tmp_path / "runs" / "out.h5"  # missing folders are created (issue 7 G)
    status, _, err = _run(capsys, "--params", path, "--out", out, "-q")
    assert status == 0 and err == ""
    with open_dataset(out) as ds:
        frame = ds.params
    assert list(frame.columns) == ["Md", "Rd", "Mh", "c", "name"]
    assert frame["name"].tolist() == [f"g{i}" for i in range(25)]
    # ... and carried through when the output is a table again.
    status, _, _ = _run(capsys, "--params", out, "--out", tmp_path / "again.h5", "-q")
    with open_dataset(tmp_path / "again.h5") as ds:
        assert ds.params["name"].tolist() == [f"g{i}" for i in range(25)]


def test_names_from_a_plain_hdf5_table(tmp_path, capsys):
    with h5py.File(tmp_path / "t.h5", "w") as f:
        for c, v in {"Md": [1e10, 2e10], "Rd": [3.0, 2.0], "Mh": [1e12, 2e12], "c": [10.0, 8.0]}.items():
            f[c] = v
        f.create_dataset("name", data=["NGC 1", "NGC 2"], dtype=h5py.string_dtype())
    status, _, err = _run(capsys, "--params", tmp_path / "t.h5", "--out", tmp_path / "o.h5", "-q")
    assert status == 0, err
    with open_dataset(tmp_path / "o.h5") as ds:
        assert ds.params["name"].tolist() == ["NGC 1", "NGC 2"]
