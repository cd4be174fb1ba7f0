"""Reading rotcurve files: the API, and clear errors for every kind of bad file."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest

from rotcurve.errors import DataError
from rotcurve.io import SCHEMA_VERSION, open_dataset, read_dataset, write_dataset


@pytest.fixture
def good(tmp_path, curves, attrs):
    return write_dataset(
        tmp_path / "good.h5",
        radii=curves["radii"],
        v_circ=curves["v_circ"],
        v_disc=curves["v_disc"],
        v_halo=curves["v_halo"],
        params=curves["params"],
        attrs=attrs,
    )


def _error(path):
    with pytest.raises(DataError) as info:
        read_dataset(path, components=True)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_open_dataset_api(good, curves):
    with open_dataset(good) as ds:
        assert ds.n == 300 and ds.n_radii == 50 and ds.has_params and not ds.is_virtual
        np.testing.assert_array_equal(ds.radii, curves["radii"])
        assert isinstance(ds.v_circ.dataset, h5py.Dataset)  # behind a CheckedDataset: errors name the file
        np.testing.assert_array_equal(ds.v_circ[10:20], curves["v_circ"][10:20].astype(np.float32))
        np.testing.assert_array_equal(ds.read("v_halo", 5, 7), curves["v_halo"][5:7].astype(np.float32))
        blocks = list(ds.iter_blocks(128, components=True))
        assert [(a, b) for a, b, _ in blocks] == [(0, 128), (128, 256), (256, 300)]
        np.testing.assert_array_equal(
            np.concatenate([blk["v_disc"] for _, _, blk in blocks]), curves["v_disc"].astype(np.float32)
        )
        assert ds.params["Mh"].dtype == np.float64
        assert ds.attrs["radii_spec"]["n"] == 50 and ds.attrs["H0"] == 70.0
        assert repr(ds).startswith("<rotcurve.io.Dataset")
    assert ds._file is None  # closed on exit
    ds.close()  # idempotent


def test_missing_components_are_reported(tmp_path, curves):
    path = write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"])
    with pytest.raises(DataError, match="has no /v_disc"):
        read_dataset(path, components=True)
    assert read_dataset(path).v_disc is None


def test_missing_file_and_folder(tmp_path):
    assert "no such file" in _error(tmp_path / "missing.h5")
    with pytest.raises(DataError, match="is a folder"):
        open_dataset(tmp_path)


def test_not_hdf5(tmp_path):
    path = tmp_path / "curves.h5"
    path.write_text("Md,Rd,Mh,c\n1,2,3,4\n")
    assert "is not an HDF5 file" in _error(path)
    path.write_bytes(b"")
    assert "is empty" in _error(path)


def test_foreign_hdf5(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["v_circ"] = np.ones((3, 4))
    msg = _error(path)
    assert "is not a rotcurve dataset (no 'format' attribute)" in msg
    assert "make one with `rotcurve generate` or `rotcurve evaluate`" in msg
    with h5py.File(path, "a") as f:
        f.attrs["format"] = "netcdf"
    assert "format = 'netcdf'" in _error(path)


def test_newer_schema(good):
    with h5py.File(good, "a") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    assert f"written by a newer rotcurve (schema {SCHEMA_VERSION + 1} > {SCHEMA_VERSION}); upgrade rotcurve" in _error(good)


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.99])
def test_truncated_file(good, fraction):
    data = good.read_bytes()
    good.write_bytes(data[: int(len(data) * fraction)])
    msg = _error(good)
    assert "truncated or corrupted" in msg and "regenerate it (or `rotcurve generate --resume`)" in msg


def test_corrupted_chunk_fails_loudly(good):
    with h5py.File(good, "r") as f:
        info = f["v_circ"].id.get_chunk_info(0)
    data = bytearray(good.read_bytes())
    mid = info.byte_offset + info.size // 2
    data[mid : mid + 16] = bytes(255 - b for b in data[mid : mid + 16])
    good.write_bytes(bytes(data))
    with open_dataset(good) as ds:  # the metadata is intact
        assert ds.n == 300
    assert "truncated or corrupted" in _error(good)


@pytest.mark.parametrize(
    "damage, why",
    [
        (lambda f: f.attrs.__setitem__("n_curves", 301), r"/v_circ has shape \(300, 50\), expected \(301, 50\)"),
        (lambda f: f.__delitem__("v_circ"), r"no /v_circ dataset"),
        (lambda f: f.__delitem__("v_halo"), r"only one of /v_disc and /v_halo"),
        (lambda f: f["params"].__delitem__("Rd"), r"no /params/Rd dataset"),
        (lambda f: f.attrs.__setitem__("schema_version", 0), r"invalid schema_version 0"),
        (lambda f: f.attrs.__setitem__("prior", "{not json"), r"'prior' is not valid JSON"),
        (lambda f: f.attrs.__delitem__("n_radii"), r"no n_curves / n_radii"),
    ],
)
def test_inconsistent_files(good, damage, why):
    with h5py.File(good, "a") as f:
        damage(f)
    msg = _error(good)
    assert "truncated or corrupted" in msg
    import re

    assert re.search(why, msg), msg


def test_radii_must_be_increasing(good):
    with h5py.File(good, "a") as f:
        f["radii"][...] = f["radii"][...][::-1]
    assert "/radii is not positive and strictly increasing" in _error(good)


def test_a_damaged_chunk_read_later_names_the_file(tmp_path):
    # the file opens and validates; the damage shows only when its chunk is read
    # (encode, score, report): the error names the file, not just "filter returned failure"
    import h5py

    from rotcurve.io import open_dataset, write_dataset

    rng = np.random.default_rng(0)
    path = write_dataset(tmp_path / "c.h5", radii=np.geomspace(0.5, 40.0, 16),
                         v_circ=rng.uniform(50, 200, (5000, 16)))  # big enough to skip the open-time scan
    with h5py.File(path, "r") as f:
        info = f["v_circ"].id.get_chunk_info(0)
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset + info.size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with open_dataset(path) as ds:
        with pytest.raises(DataError, match=rf"^{re.escape(str(path))} is truncated or corrupted \(.*\); regenerate"):
            ds.v_circ[:10]
        with pytest.raises(DataError, match=re.escape(str(path))):
            np.asarray(ds.v_circ)
        assert ds.v_circ.shape == (5000, 16) and len(ds.v_circ) == 5000
