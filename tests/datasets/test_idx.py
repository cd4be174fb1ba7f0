"""The IDX file format."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from rotcurve.datasets.idx import read_idx, write_idx
from rotcurve.errors import DataError


@pytest.mark.parametrize("dtype", ["u1", "i1", "<i2", ">i2", "<i4", "<f4", ">f4", "<f8"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (1, 1, 1, 2)])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, shape, suffix):
    rng = np.random.default_rng(0)
    a = (rng.normal(0, 50, shape)).astype(dtype)
    path = write_idx(tmp_path / f"a.idx{suffix}", a)
    b = read_idx(path)
    assert b.shape == a.shape and b.dtype == a.dtype.newbyteorder("=")
    np.testing.assert_array_equal(a, b)
    b[...] = 0  # writable
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


def test_bytes_follow_the_published_layout(tmp_path):
    # MNIST labels file: magic 0x00000801, count, then the bytes.
    path = write_idx(tmp_path / "labels", np.array([7, 2, 1], dtype=np.uint8))
    assert path.read_bytes() == b"\x00\x00\x08\x01" + b"\x00\x00\x00\x03" + b"\x07\x02\x01"
    # int16 big-endian: 258 = 0x0102
    path = write_idx(tmp_path / "shorts", np.array([[258]], dtype=np.int16))
    assert path.read_bytes() == b"\x00\x00\x0b\x02" + b"\x00\x00\x00\x01" * 2 + b"\x01\x02"
    assert int.from_bytes(write_idx(tmp_path / "img", np.zeros((2, 28, 28), np.uint8)).read_bytes()[:4], "big") == 2051


def test_gzip_detected_by_content_not_name(tmp_path):
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    write_idx(tmp_path / "plain", a, compress=True)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain"), a)


def test_truncated_and_padded_files_are_refused(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((10, 28, 28), np.uint8))
    raw = path.read_bytes()
    path.write_bytes(raw[:-1])
    with pytest.raises(DataError, match=r"x: IDX file is truncated: header promises shape \(10, 28, 28\).*7855 bytes"):
        read_idx(path)
    path.write_bytes(raw + b"\x00")
    with pytest.raises(DataError, match="longer than its header says"):
        read_idx(path)
    path.write_bytes(raw[:10])
    with pytest.raises(DataError, match="truncated IDX header"):
        read_idx(path)
    path.write_bytes(gzip.compress(raw)[:-20])
    with pytest.raises(DataError, match="damaged or truncated gzip"):
        read_idx(path)


def test_foreign_files_are_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello world, not IDX")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "missing")
    (tmp_path / "tiny").write_bytes(b"\x00")
    with pytest.raises(DataError, match="too short"):
        read_idx(tmp_path / "tiny")


@pytest.mark.parametrize("array", [np.zeros(3, np.int64), np.zeros(3, bool), np.zeros((), np.uint8)])
def test_unsupported_arrays_are_refused_and_nothing_is_written(tmp_path, array):
    with pytest.raises(DataError, match="IDX"):
        write_idx(tmp_path / "out", array)
    assert list(tmp_path.iterdir()) == []
