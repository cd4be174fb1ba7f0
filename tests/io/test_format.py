"""Writing rotcurve files: layout, units, exact round trips, reproducibility, atomicity."""

from __future__ import annotations

import hashlib
import json
import time

import h5py
import numpy as np
import pytest

from rotcurve._version import __version__
from rotcurve.errors import ConfigError, DataError, OutputExistsError
from rotcurve.generator import RadiiSpec, ReferencePrior
from rotcurve.io import (
    COMPRESSIONS,
    CURVE_NAMES,
    PARAM_NAMES,
    SCHEMA_VERSION,
    CurveWriter,
    compression_options,
    open_dataset,
    read_dataset,
    write_dataset,
)
from rotcurve.io.format import chunk_rows
from rotcurve.units import G, PARAM_UNITS


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(path, curves, attrs, **kw):
    return write_dataset(
        path,
        radii=curves["radii"],
        v_circ=curves["v_circ"],
        v_disc=curves["v_disc"],
        v_halo=curves["v_halo"],
        params=curves["params"],
        attrs=attrs,
        **kw,
    )


def test_layout_units_and_root_attributes(tmp_path, curves, attrs):
    path = _write(tmp_path / "c.h5", curves, {**attrs, "shard_size": 100, "note": "x"})
    n, n_r = curves["v_circ"].shape
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "rotcurve"
        assert f.attrs["schema_version"] == SCHEMA_VERSION == 1
        assert f.attrs["rotcurve_version"] == __version__
        assert f.attrs["G"] == G and f.attrs["H0"] == 70.0 and f.attrs["Delta"] == 200.0
        assert f.attrs["seed"] == 7 and f.attrs["n_curves"] == n and f.attrs["n_radii"] == n_r
        assert json.loads(f.attrs["prior"]) == ReferencePrior().to_dict()
        assert json.loads(f.attrs["radii_spec"]) == RadiiSpec().to_dict()
        assert f.attrs["shard_size"] == 100 and f.attrs["note"] == "x"
        assert f["radii"].attrs["units"] == "kpc" and f["radii"].dtype == np.float64
        for name in CURVE_NAMES:
            d = f[name]
            assert d.shape == (n, n_r) and d.dtype == np.float32
            assert d.attrs["units"] == "km/s"
            assert d.chunks == (chunk_rows(n, n_r, 4), n_r)  # whole rows per chunk
            assert d.compression == "gzip" and d.shuffle
        for name in PARAM_NAMES:
            d = f["params"][name]
            assert d.shape == (n,) and d.dtype == np.float64
            assert d.attrs["units"] == PARAM_UNITS[name]
        # every dataset has units
        seen = []
        f.visititems(lambda k, o: seen.append(k) if isinstance(o, h5py.Dataset) and "units" not in o.attrs else None)
        assert seen == []


def test_round_trip_float32_and_float64(tmp_path, curves, attrs):
    p32 = _write(tmp_path / "a.h5", curves, attrs)
    p64 = _write(tmp_path / "b.h5", curves, attrs, dtype="float64")
    d32 = read_dataset(p32, components=True)
    d64 = read_dataset(p64, components=True)
    for name in CURVE_NAMES:
        np.testing.assert_array_equal(getattr(d32, name), curves[name].astype(np.float32))
        np.testing.assert_array_equal(getattr(d64, name), curves[name])
        assert getattr(d64, name).dtype == np.float64
    np.testing.assert_array_equal(d32.radii, curves["radii"])
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(d32.params[name].to_numpy(), curves["params"][name])
    assert list(d32.params.columns) == list(PARAM_NAMES)
    assert d32.attrs["prior"] == ReferencePrior().to_dict()
    assert d32.attrs["seed"] == 7 and d32.n == 300


def test_stored_curves_obey_quadrature_sum(tmp_path, curves, attrs):
    d = read_dataset(_write(tmp_path / "a.h5", curves, attrs), components=True)
    v, vd, vh = (getattr(d, k).astype(np.float64) for k in CURVE_NAMES)
    # float32 rounding: relative error of v^2 at most a few 2^-24
    np.testing.assert_allclose(v**2, vd**2 + vh**2, rtol=4 * 2.0**-24 * 3)


@pytest.mark.parametrize("compression", [*COMPRESSIONS, "gzip:9", "gzip:0"])
def test_every_compression_round_trips(tmp_path, curves, attrs, compression):
    path = _write(tmp_path / "c.h5", curves, attrs, compression=compression)
    d = read_dataset(path, components=True)
    np.testing.assert_array_equal(d.v_halo, curves["v_halo"].astype(np.float32))
    expected = compression_options(compression).get("compression")
    with h5py.File(path, "r") as f:
        assert f["v_circ"].compression == expected


def test_default_compression_is_portable_gzip_with_shuffle():
    assert compression_options("default") == {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    with pytest.raises(ConfigError, match="unknown compression 'zstd'"):
        compression_options("zstd")
    with pytest.raises(ConfigError, match="gzip:0..9"):
        compression_options("gzip:12")


def test_same_inputs_give_bit_identical_files(tmp_path, curves, attrs):
    a = _write(tmp_path / "a.h5", curves, attrs)
    time.sleep(1.1)  # HDF5 timestamps have a resolution of one second
    b = _write(tmp_path / "b.h5", curves, attrs)
    assert _sha(a) == _sha(b)
    c = _write(tmp_path / "c.h5", curves, {**attrs, "seed": 8})
    assert _sha(a) != _sha(c)


def test_block_writer_any_order_equals_one_shot(tmp_path, curves, attrs):
    one = _write(tmp_path / "one.h5", curves, attrs)
    n = curves["v_circ"].shape[0]
    with CurveWriter(tmp_path / "blocks.h5", n=n, radii=curves["radii"], attrs=attrs) as w:
        for start in (200, 0, 100):  # out of order
            sl = slice(start, start + 100)
            w.write(start, v_circ=curves["v_circ"][sl], v_disc=curves["v_disc"][sl],
                    v_halo=curves["v_halo"][sl], params={k: v[sl] for k, v in curves["params"].items()})
        assert w.rows_written == n
    assert _sha(one) == _sha(tmp_path / "blocks.h5")


def test_append_and_no_components_no_params(tmp_path, curves):
    with CurveWriter(tmp_path / "a.h5", n=300, radii=curves["radii"], components=False, params=False) as w:
        for start in range(0, 300, 64):
            sl = slice(start, start + 64)
            w.append(v_circ=curves["v_circ"][sl], v_disc=curves["v_disc"][sl], v_halo=curves["v_halo"][sl])
    with open_dataset(tmp_path / "a.h5") as ds:
        assert ds.v_disc is None and ds.v_halo is None and not ds.has_params and ds.params is None
        assert ds.attrs["seed"] is None and ds.attrs["prior"] is None
        np.testing.assert_array_equal(ds.v_circ[...], curves["v_circ"].astype(np.float32))


def test_write_dataset_components_false_drops_them(tmp_path, curves, attrs):
    path = _write(tmp_path / "a.h5", curves, attrs, components=False)
    with h5py.File(path, "r") as f:
        assert set(f) == {"radii", "v_circ", "params"}


def test_empty_file(tmp_path, curves):
    write_dataset(tmp_path / "e.h5", radii=curves["radii"], v_circ=np.zeros((0, 50)))
    d = read_dataset(tmp_path / "e.h5")
    assert d.v_circ.shape == (0, 50) and d.n == 0


def test_json_extra_attributes(tmp_path, curves):
    extra = {"generator": {"workers": 2, "shard_size": [1, 2]}, "tags": ["a", "b"], "flag": True}
    write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"], attrs=extra)
    with open_dataset(tmp_path / "a.h5") as ds:
        assert ds.attrs["generator"] == extra["generator"]
        assert ds.attrs["tags"] == ["a", "b"] and ds.attrs["flag"] is True
        assert "json_attrs" not in ds.attrs


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_missing_rows_save_nothing(tmp_path, curves):
    w = CurveWriter(tmp_path / "a.h5", n=300, radii=curves["radii"], params=False, components=False)
    w.write(0, v_circ=curves["v_circ"][:100])
    with pytest.raises(DataError, match=r"200 of 300 rows were never written \(first: 100\); nothing was saved"):
        w.close()
    assert _files(tmp_path) == []


def test_exception_inside_writer_leaves_no_file(tmp_path, curves):
    with pytest.raises(RuntimeError):
        with CurveWriter(tmp_path / "a.h5", n=300, radii=curves["radii"], params=False) as w:
            w.write(0, v_circ=curves["v_circ"][:10], v_disc=curves["v_disc"][:10], v_halo=curves["v_halo"][:10])
            raise RuntimeError("worker died")
    assert _files(tmp_path) == []


def test_existing_output_needs_overwrite(tmp_path, curves, attrs):
    path = _write(tmp_path / "a.h5", curves, attrs)
    before = _sha(path)
    with pytest.raises(OutputExistsError, match="exists; pass overwrite=True") as info:
        _write(path, curves, {**attrs, "seed": 1})
    # Python callers read the argument; the command line prints the flag (issue 7 F).
    assert "--overwrite" not in str(info.value)
    assert "exists; pass --overwrite" in info.value.cli_message
    assert _sha(path) == before and _files(tmp_path) == ["a.h5"]
    _write(path, curves, {**attrs, "seed": 1}, overwrite=True)
    assert read_dataset(path).attrs["seed"] == 1


def test_missing_folders_are_created(tmp_path, curves):
    # Issue 7 G: this used to be "folder ... does not exist; create it first".
    out = write_dataset(tmp_path / "no" / "deeper" / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"])
    assert read_dataset(out).n == 300
    assert sorted(p.name for p in out.parent.iterdir()) == ["a.h5"]


def test_a_file_where_a_folder_should_be(tmp_path, curves):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DataError, match="afile is a file, not a folder"):
        write_dataset(tmp_path / "afile" / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"v_circ": np.full((2, 50), np.nan)}, r"v_circ row 0 is not finite"),
        ({"v_circ": np.ones((2, 49))}, r"shape \(2, 49\), expected \(rows, 50\)"),
        ({"v_circ": np.ones(50)}, r"must be 2-D"),
        ({"v_circ": np.ones((2, 50)), "v_disc": np.ones((2, 50))}, r"both v_disc and v_halo"),
        ({"v_circ": np.ones((2, 50)), "params": {"Md": [1, 2], "Rd": [1, 2], "Mh": [1, 2]}}, r"lack column 'c'"),
        ({"v_circ": np.ones((2, 50)), "params": {k: [1.0] for k in "Md Rd Mh c".split()}}, r"lengths \[1\], expected 2"),
    ],
)
def test_bad_data_is_refused_and_nothing_written(tmp_path, curves, kwargs, match):
    with pytest.raises(DataError, match=match):
        write_dataset(tmp_path / "a.h5", radii=curves["radii"], **kwargs)
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"attrs": {"format": "x"}}, r"format are set by the writer"),
        ({"attrs": {"H0": -1.0}}, r"'H0' must be positive"),
        ({"attrs": {"seed": 1.5}}, r"'seed' must be an integer"),
        ({"attrs": {"blob": object()}}, r"unsupported type object"),
        ({"dtype": "float16"}, r"unknown storage dtype"),
        ({"compression": "bz2"}, r"unknown compression"),
    ],
)
def test_bad_options(tmp_path, curves, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"], **kwargs)
    assert _files(tmp_path) == []


def test_bad_radii_and_rows(tmp_path, curves):
    with pytest.raises(DataError, match="strictly increasing"):
        write_dataset(tmp_path / "a.h5", radii=curves["radii"][::-1], v_circ=curves["v_circ"])
    with CurveWriter(tmp_path / "b.h5", n=5, radii=curves["radii"], params=False, components=False) as w:
        with pytest.raises(DataError, match=r"rows 3:6 are outside the file's 5 rows"):
            w.write(3, v_circ=np.ones((3, 50)))
        w.write(0, v_circ=np.ones((5, 50)))
    assert _files(tmp_path) == ["b.h5"]
