"""rotcurve.generator.evaluate / evaluate_table: what ``rotcurve evaluate`` does, from Python."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from rotcurve.cli.main import main
from rotcurve.errors import ConfigError, DataError, OutputExistsError
from rotcurve.generator import RadiiSpec, ReferencePrior, evaluate, evaluate_table
from rotcurve.io import open_dataset, read_dataset
from rotcurve.physics import rotation_curves

COLS = ["Md", "Rd", "Mh", "c"]


@pytest.fixture
def params():
    return pd.DataFrame(ReferencePrior().sample(9, np.random.default_rng(4)))[COLS]


def test_curves_in_memory_with_names(params):
    table = params.assign(name=[f"g{i}" for i in range(9)], colour="red")  # other columns are ignored
    radii = np.array([0.5, 2.0, 10.0])
    curves = evaluate(table, radii)
    ref = rotation_curves(params, radii)
    np.testing.assert_array_equal(curves.radii, radii)
    for name in ("v_circ", "v_disc", "v_halo"):
        np.testing.assert_array_equal(getattr(curves, name), getattr(ref, name))
    assert list(curves.params.columns) == [*COLS, "name"]
    assert curves.params["name"].tolist() == [f"g{i}" for i in range(9)]
    assert curves.attrs["H0"] == 70.0 and curves.attrs["radii_spec"]["spacing"] == "explicit"
    bare = evaluate(params.to_dict("list"), components=False, H0=67.7)
    assert bare.v_disc is None and bare.v_circ.shape == (9, 50)
    np.testing.assert_array_equal(bare.v_circ, rotation_curves(params, RadiiSpec().grid(), H0=67.7).v_circ)
    one = evaluate({"Md": 5e10, "Rd": 3.0, "Mh": 1e12, "c": 10.0}, "1:10:4")  # one galaxy as scalars
    assert one.v_circ.shape == (1, 4)


def test_astropy_tables_and_quantities_are_converted(params):
    u = pytest.importorskip("astropy.units")
    table = pytest.importorskip("astropy.table")
    radii = np.array([1.0, 5.0])
    ref = evaluate(params, radii).v_circ
    qt = table.QTable({"Md": params["Md"].to_numpy() * u.Msun, "Rd": params["Rd"].to_numpy() * 1000 * u.pc,
                       "Mh": params["Mh"].to_numpy() * u.Msun, "c": params["c"].to_numpy()})
    np.testing.assert_allclose(evaluate(qt, radii * 1000 * u.pc).v_circ, ref, rtol=1e-12)
    t = table.Table(qt)  # plain columns that carry units
    np.testing.assert_allclose(evaluate(t, radii).v_circ, ref, rtol=1e-12)
    with pytest.raises(ConfigError, match="^Rd has units of km / s; give a length such as u.kpc$"):
        evaluate({**params.to_dict("list"), "Rd": params["Rd"].to_numpy() * (u.km / u.s)})


def test_a_file_from_python_is_the_file_of_the_command_line(tmp_path, params, capsys):
    csv = tmp_path / "galaxies.csv"
    params.assign(name=[f"g{i}" for i in range(9)]).to_csv(csv, index=False, float_format="%.17g")
    assert main(["evaluate", "--params", str(csv), "--out", str(tmp_path / "cli.h5"), "-q"]) == 0
    out = evaluate_table(csv, tmp_path / "py.h5", block_size=4)
    assert out == tmp_path / "py.h5"
    digest = [hashlib.sha256((tmp_path / n).read_bytes()).digest() for n in ("cli.h5", "py.h5")]
    assert digest[0] == digest[1]
    # a DataFrame gives the same curves and names (without the params_table record)
    frame_out = evaluate(pd.read_csv(csv), out=tmp_path / "frame" / "f.h5")
    a, b = read_dataset(out, components=True), read_dataset(frame_out, components=True)
    np.testing.assert_array_equal(a.v_halo, b.v_halo)
    assert a.attrs["params_table"] == "galaxies.csv" and "params_table" not in b.attrs
    with open_dataset(frame_out) as ds:
        assert ds.params["name"].tolist() == [f"g{i}" for i in range(9)]


def test_errors_in_python_wording(tmp_path, params):
    out = tmp_path / "o.h5"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match=r"o.h5 exists; pass overwrite=True to replace it$"):
        evaluate(params, out=out)
    assert out.read_bytes() == b"precious"
    bad = params.astype(object)
    bad.loc[1, "Rd"] = "two"
    with pytest.raises(DataError, match=r"^params, row 2, column Rd: 'two' is not a number; give Rd in kpc$"):
        evaluate(bad)
    with pytest.raises(DataError, match=r"^params lacks column c \(found: Md, Rd, Mh\)"):
        evaluate(params[["Md", "Rd", "Mh"]])
    with pytest.raises(DataError, match="must be a table with columns Md, Rd, Mh, c"):
        evaluate([1, 2, 3, 4])
    with pytest.raises(ConfigError, match=r"^block_size must be an integer >= 1, got 0$"):
        evaluate(params, block_size=0)
    with pytest.raises(ConfigError, match=r"^H0 must be > 0, got -70"):
        evaluate(params, H0=-70)
    huge = params.copy()
    huge.loc[3, "Md"] = 1e300
    with pytest.raises(DataError, match=r"^params, row 4: v_circ is .* beyond the float32 range"):
        evaluate(huge, out=tmp_path / "huge.h5")
    with pytest.raises(DataError, match="missing.csv: no such file"):
        evaluate_table(tmp_path / "missing.csv", tmp_path / "x.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.h5"]  # nothing written


def test_the_command_shows_the_library_default_block():
    from rotcurve.cli import evaluate as cli_evaluate
    from rotcurve.generator import evaluation

    assert cli_evaluate.BLOCK_ROWS == evaluation.BLOCK_ROWS
    assert cli_evaluate.validate_params is evaluation.validate_params  # the old names still work
    assert cli_evaluate.read_param_table is evaluation.read_param_table
