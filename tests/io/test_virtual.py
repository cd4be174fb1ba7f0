"""Multi-shard files: a master of HDF5 virtual datasets that reads as one file."""

from __future__ import annotations

import hashlib
import os
import shutil

import h5py
import numpy as np
import pytest

from rotcurve.errors import DataError, OutputExistsError
from rotcurve.io import PARAM_NAMES, open_dataset, read_dataset, write_dataset, write_virtual

SIZES = (100, 120, 80)


@pytest.fixture
def sharded(tmp_path, curves, attrs):
    """A folder with shards/part-*.h5 and a master all.h5 over them."""
    root = tmp_path / "run"
    (root / "shards").mkdir(parents=True)
    paths, start = [], 0
    for i, size in enumerate(SIZES):
        sl = slice(start, start + size)
        start += size
        paths.append(
            write_dataset(
                root / "shards" / f"part-{i:03d}.h5",
                radii=curves["radii"],
                v_circ=curves["v_circ"][sl],
                v_disc=curves["v_disc"][sl],
                v_halo=curves["v_halo"][sl],
                params={k: v[sl] for k, v in curves["params"].items()},
                attrs={**attrs, "shard": i},
            )
        )
    master = write_virtual(root / "all.h5", paths, attrs={**attrs, "n_shards": len(paths)})
    return master, paths


def _check_equal(path, curves):
    data = read_dataset(path, components=True)
    for name in ("v_circ", "v_disc", "v_halo"):
        np.testing.assert_array_equal(getattr(data, name), curves[name].astype(np.float32))
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(data.params[name].to_numpy(), curves["params"][name])
    return data


def test_master_reads_as_one_file(sharded, curves):
    master, _ = sharded
    data = _check_equal(master, curves)
    assert data.attrs["n_shards"] == 3 and data.attrs["seed"] == 7 and "shard" not in data.attrs
    with open_dataset(master) as ds:
        assert ds.is_virtual and ds.n == sum(SIZES)
        assert [s["file"] for s in ds.shards] == [f"shards/part-{i:03d}.h5" for i in range(3)]
        assert [s["rows"] for s in ds.shards] == list(SIZES)
        assert ds.v_circ.is_virtual
        # slices across shard boundaries
        np.testing.assert_array_equal(ds.v_circ[95:225], curves["v_circ"][95:225].astype(np.float32))
    with h5py.File(master, "r") as f:
        assert not f["radii"].is_virtual  # a copy: tiny, and readable on its own
        sources = {vs.file_name for vs in f["v_circ"].virtual_sources()}
        assert sources == {f"shards/part-{i:03d}.h5" for i in range(3)}  # relative names


def test_default_attrs_come_from_the_first_shard(sharded, tmp_path):
    _, paths = sharded
    master = write_virtual(tmp_path / "run" / "again.h5", paths)
    with open_dataset(master) as ds:
        assert ds.attrs["seed"] == 7 and ds.attrs["prior"]["kind"] == "reference"
        assert "shard" not in ds.attrs


def test_folder_can_be_moved_and_read_from_anywhere(sharded, curves, tmp_path, monkeypatch):
    master, _ = sharded
    moved = tmp_path / "elsewhere" / "deeper"
    moved.parent.mkdir()
    shutil.move(str(master.parent), str(moved))
    monkeypatch.chdir(tmp_path / "elsewhere")  # neither the master's folder nor its parent
    _check_equal(moved / "all.h5", curves)
    monkeypatch.chdir("/")
    _check_equal(moved / "all.h5", curves)


def test_master_is_reproducible(sharded, tmp_path, attrs):
    master, paths = sharded
    again = write_virtual(tmp_path / "run" / "b.h5", paths, attrs={**attrs, "n_shards": 3})
    assert hashlib.sha256(master.read_bytes()).digest() == hashlib.sha256(again.read_bytes()).digest()


def test_missing_shard_is_detected(sharded):
    master, paths = sharded
    os.remove(paths[1])
    with pytest.raises(DataError) as info:
        open_dataset(master)
    msg = str(info.value)
    assert "truncated or corrupted (shard shards/part-001.h5 is missing)" in msg
    assert "rotcurve generate --resume" in msg and "\n" not in msg


def test_truncated_shard_is_detected(sharded):
    master, paths = sharded
    data = paths[2].read_bytes()
    paths[2].write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"shard shards/part-002.h5 has \d+ bytes, expected \d+"):
        open_dataset(master)


def test_replaced_shard_is_detected(sharded, curves, attrs):
    master, paths = sharded
    # same size is unlikely; rows differ -> the shard list no longer matches
    write_dataset(paths[0], radii=curves["radii"], v_circ=curves["v_circ"][:10], attrs=attrs, overwrite=True)
    with pytest.raises(DataError, match="shards/part-000.h5"):
        open_dataset(master)


def test_inconsistent_shards_are_refused(tmp_path, curves, attrs):
    a = write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"][:5], attrs=attrs)
    b = write_dataset(tmp_path / "b.h5", radii=curves["radii"] * 2, v_circ=curves["v_circ"][:5], attrs=attrs)
    c = write_dataset(tmp_path / "c.h5", radii=curves["radii"], v_circ=curves["v_circ"][:5], dtype="float64")
    with pytest.raises(DataError, match="radii differ"):
        write_virtual(tmp_path / "m.h5", [a, b])
    with pytest.raises(DataError, match="dtype/components/params differ"):
        write_virtual(tmp_path / "m.h5", [a, c])
    with pytest.raises(DataError, match="at least one shard"):
        write_virtual(tmp_path / "m.h5", [])
    with pytest.raises(DataError, match="no such file"):
        write_virtual(tmp_path / "m.h5", [a, tmp_path / "gone.h5"])
    assert not (tmp_path / "m.h5").exists()
    m = write_virtual(tmp_path / "m.h5", [a, a])  # the same shard twice is allowed
    with pytest.raises(DataError, match="itself a master"):
        write_virtual(tmp_path / "m2.h5", [m])
    with pytest.raises(OutputExistsError):
        write_virtual(m, [a])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "b.h5", "c.h5", "m.h5"]
