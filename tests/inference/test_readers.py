"""Readers: SPARC files, folders and the zip; long tables (CSV, ECSV, HDF5, Table, DataFrame)."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from rotcurve.errors import DataError
from rotcurve.inference import BadInput, Galaxy, load_galaxies
from rotcurve.inference.sparc import read_rotmod

from .conftest import rotmod_text, toy_rows


def test_rotmod_file(tmp_path):
    path = tmp_path / "TOY_rotmod.dat"
    path.write_text(rotmod_text(toy_rows(12, bulge=True), distance=13.8))
    g = read_rotmod(path)
    assert g.name == "TOY" and g.n == 12 and g.distance == 13.8
    assert g.has_bulge and g.has_baryons and g.SBdisk is not None
    assert g.rows[0] == "line 4"
    g.validate()


def test_rotmod_errors_name_the_line(tmp_path):
    rows = toy_rows(5)
    text = rotmod_text(rows).splitlines()
    text[5] = "1.0 2.0 abc 1 1 1"
    (tmp_path / "BAD_rotmod.dat").write_text("\n".join(text))
    with pytest.raises(DataError, match=r"galaxy BAD, line 6: non-numeric"):
        read_rotmod(tmp_path / "BAD_rotmod.dat")
    (tmp_path / "SHORT_rotmod.dat").write_text("# Distance = 1 Mpc\n1 2 3\n")
    with pytest.raises(DataError, match=r"line 2: 3 columns"):
        read_rotmod(tmp_path / "SHORT_rotmod.dat")


def test_folder_and_zip_keep_going(tmp_path):
    folder = tmp_path / "sparc"
    folder.mkdir()
    (folder / "A_rotmod.dat").write_text(rotmod_text(toy_rows(8)))
    (folder / "B_rotmod.dat").write_text("# Distance = 3 Mpc\n")  # empty: fails when fitted
    (folder / "C_rotmod.dat").write_text("# Distance = 3 Mpc\n1 2 x 4 5 6\n")  # unparsable
    (folder / "notes.txt").write_text("ignored")
    items = load_galaxies(folder)
    assert [g.name for g in items] == ["A", "B", "C"]
    assert isinstance(items[1], Galaxy) and items[1].n == 0
    assert isinstance(items[2], BadInput) and "line 2" in items[2].reason
    with pytest.raises(DataError, match="no data points"):
        items[1].validate()
    z = tmp_path / "rot.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(folder.glob("*_rotmod.dat")):
            zf.write(f, arcname=f.name)
    assert [g.name for g in load_galaxies(z)] == ["A", "B", "C"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no \\*_rotmod.dat file"):
        load_galaxies(tmp_path / "empty")


def test_real_sparc_zip(sparc):
    assert len(sparc) == 175
    for g in sparc.values():
        g.validate()
        assert g.distance is not None and g.has_baryons
    assert sparc["NGC3198"].distance == 13.8
    assert sum(g.has_bulge for g in sparc.values()) > 20


def _long_frame() -> pd.DataFrame:
    rows = []
    for name, k in (("A", 6), ("B", 5)):
        for i, r in enumerate(toy_rows(k)):
            rows.append({"name": name, "R": r[0], "V": r[1], "eV": r[2], "Vgas": r[3], "Vdisk": r[4],
                         "Vbul": r[5], "D": 7.0 if name == "A" else 9.0})
    return pd.DataFrame(rows)


def test_long_tables_every_format(tmp_path):
    from astropy.table import Table

    df = _long_frame()
    df.to_csv(tmp_path / "t.csv", index=False)
    t = Table.from_pandas(df)
    t["R"].unit = "pc"
    t["R"] = t["R"] * 1000.0
    t.write(tmp_path / "t.ecsv")
    t.write(tmp_path / "t.h5", path="data", serialize_meta=True)
    for source in (df, Table.from_pandas(df), tmp_path / "t.csv", tmp_path / "t.ecsv", tmp_path / "t.h5"):
        items = load_galaxies(source)
        assert [g.name for g in items] == ["A", "B"]
        a = items[0]
        assert a.n == 6 and a.distance == 7.0 and items[1].distance == 9.0
        np.testing.assert_allclose(a.R, df["R"][:6], rtol=1e-12)
        a.validate()
    (csv_a,) = [g for g in load_galaxies(tmp_path / "t.csv") if g.name == "A"]
    assert csv_a.rows[0] == "line 2"


def test_long_table_problems(tmp_path):
    df = _long_frame()
    with pytest.raises(DataError, match="missing column eV"):
        load_galaxies(df.drop(columns=["eV"]))
    with pytest.raises(DataError, match="no rows"):
        load_galaxies(df.iloc[:0])
    bad = df.copy()
    bad.loc[2, "D"] = 8.0
    items = load_galaxies(bad)
    assert isinstance(items[0], BadInput) and "row 2: D = 8 differs" in items[0].reason
    assert isinstance(items[1], Galaxy)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        load_galaxies(tmp_path / "empty.csv")
    with pytest.raises(DataError, match="no such file"):
        load_galaxies(tmp_path / "nope.csv")
    # one trailing field more than the header on every row would shift the columns
    lines = df.to_csv(index=False).splitlines()
    (tmp_path / "ragged.csv").write_text("\n".join([lines[0]] + [l + ",9" for l in lines[1:]]) + "\n")
    with pytest.raises(DataError, match="line 2 has 9 fields but the header has 8"):
        load_galaxies(tmp_path / "ragged.csv")
    with pytest.raises(DataError, match="two galaxies are called 'A'"):
        load_galaxies([Galaxy("A", R=[1], V=[1], eV=[1]), Galaxy("A", R=[1], V=[1], eV=[1])])
