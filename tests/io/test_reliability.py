"""Issue 7 for the file format: the finite check after the storage cast (A), readers
refusing non-finite curves (A), identifier columns (H), missing folders (G)."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest

from rotcurve.errors import DataError
from rotcurve.io import CurveWriter, open_dataset, read_dataset, write_dataset
from rotcurve.io.format import NonFiniteError


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


# -- A: finite after the cast -----------------------------------------------------------
def test_a_value_beyond_float32_is_refused_after_the_cast(tmp_path, curves):
    v = curves["v_circ"].copy()
    v[7, 3] = 1e39  # finite in float64, inf in float32: stored as inf before the fix
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no "overflow encountered in cast"
        with pytest.raises(NonFiniteError, match=r"v_circ row 7 is not finite as float32 \(1e\+39 km/s at r = "):
            write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=v)
    assert _files(tmp_path) == []
    write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=v, dtype="float64")  # fits float64
    assert read_dataset(tmp_path / "a.h5").v_circ[7, 3] == 1e39


def test_the_first_offending_row_of_a_later_block_is_named(tmp_path, curves):
    with pytest.raises(NonFiniteError) as info:
        with CurveWriter(tmp_path / "a.h5", n=300, radii=curves["radii"], components=False, params=False) as w:
            w.write(0, v_circ=curves["v_circ"][:100])
            block = curves["v_circ"][100:].copy()
            block[42, 0] = np.inf
            block[50, 0] = np.nan
            w.write(100, v_circ=block)
    assert (info.value.dataset, info.value.row, info.value.column) == ("v_circ", 142, 0)
    assert "row 142 is not finite (inf km/s" in str(info.value)
    assert _files(tmp_path) == []


def test_files_record_that_their_curves_are_finite(tmp_path, curves):
    out = write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"])
    with open_dataset(out) as ds:
        assert ds.attrs["curves_finite"] is True


def _unchecked_copy_with_nan(src, dst):
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "r+") as f:
        del f.attrs["curves_finite"]  # as written by an older rotcurve, or another tool
        f["v_circ"][5, 2] = np.nan


def test_open_dataset_refuses_non_finite_curves_in_a_file_without_the_record(tmp_path, curves):
    good = write_dataset(tmp_path / "good.h5", radii=curves["radii"], v_circ=curves["v_circ"])
    bad = tmp_path / "bad.h5"
    _unchecked_copy_with_nan(good, bad)
    with pytest.raises(DataError, match=r"bad.h5: /v_circ row 5 is nan at r = .* kpc; the curves must be finite"):
        open_dataset(bad)
    # Without the record but finite: accepted (an older file).
    with h5py.File(bad, "r+") as f:
        f["v_circ"][5, 2] = 100.0
    with open_dataset(bad) as ds:
        assert ds.n == 300


def test_verify_reads_everything_through(tmp_path, curves):
    out = write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"],
                        v_disc=curves["v_disc"], v_halo=curves["v_halo"], params=curves["params"])
    with open_dataset(out) as ds:
        ds.verify()
    with h5py.File(out, "r") as f:
        info = f["params"]["Mh"].id.get_chunk_info(0)
    with open(out, "r+b") as fh:
        fh.seek(info.byte_offset + 8)
        fh.write(b"\x00\x01\x02\x03")
    with open_dataset(out) as ds:  # the metadata are intact: it opens
        with pytest.raises(DataError, match="truncated or corrupted .*params/Mh"):
            ds.verify()


# -- H: identifier columns ------------------------------------------------------------
def test_names_are_stored_and_read_back_with_the_parameters(tmp_path, curves):
    names = [f"NGC {i}" if i % 2 else f"UGC é{i}" for i in range(300)]
    params = {**curves["params"], "name": names}
    out = write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"], params=params,
                        labels=("name",))
    with open_dataset(out) as ds:
        assert ds.labels == ["name"]
        frame = ds.params
    assert list(frame.columns) == ["Md", "Rd", "Mh", "c", "name"]
    assert frame["name"].tolist() == names
    np.testing.assert_array_equal(frame["Md"].to_numpy(), curves["params"]["Md"])
    with h5py.File(out, "r") as f:  # plain HDF5 strings, for any reader
        assert h5py.check_string_dtype(f["params/name"].dtype).encoding == "utf-8"
        assert f.attrs["label_columns"] == '["name"]'


def test_names_do_not_depend_on_the_blocks(tmp_path, curves):
    params = {**curves["params"], "name": [f"g{i}" for i in range(300)]}
    write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"], params=params, labels=("name",))
    with CurveWriter(tmp_path / "b.h5", n=300, radii=curves["radii"], components=False, labels=("name",)) as w:
        for lo in range(0, 300, 70):
            w.write(lo, v_circ=curves["v_circ"][lo : lo + 70],
                    params={k: np.asarray(v)[lo : lo + 70] for k, v in params.items()})
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_files_without_names_read_as_before(tmp_path, curves):
    out = write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"], params=curves["params"])
    with open_dataset(out) as ds:
        assert ds.labels == [] and list(ds.params.columns) == ["Md", "Rd", "Mh", "c"]
