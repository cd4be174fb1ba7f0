"""Full disks (issue 7 D) without a real full disk: the operating system's writes
fail with ENOSPC after a budget of bytes.  HDF5 must never see the failure (it
used to crash the interpreter when a dataset or the file was closed after it);
the writer raises DiskFullError, one line, and leaves nothing behind.

The crash itself is checked in a subprocess, so that a regression fails this
test instead of killing pytest.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import types

import h5py
import numpy as np
import pytest

from rotcurve.errors import DiskFullError, OutputError, RotcurveError
from rotcurve.io import CurveWriter, open_dataset, write_dataset, write_virtual
from rotcurve.io import h5write
from rotcurve.io.atomic import atomic_path, atomic_write_text, is_disk_full
from rotcurve.io.h5write import SafeFile, atomic_h5, h5_create


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


class _Disk:
    """An ``os`` stand-in whose pwrite on the first file it sees fails after ``budget`` bytes."""

    def __init__(self, budget: int, err: int = errno.ENOSPC) -> None:
        self.budget, self.err, self.disk_fd, self.failures = budget, err, None, 0

    def __getattr__(self, name):
        return getattr(os, name)

    def pwrite(self, fd, data, offset):
        if self.disk_fd is None:
            self.disk_fd = fd
        if fd == self.disk_fd:
            n = len(memoryview(data).cast("B"))
            if n > self.budget:
                self.failures += 1
                raise OSError(self.err, os.strerror(self.err))
            self.budget -= n
        return os.pwrite(fd, data, offset)


@pytest.fixture
def full_after(monkeypatch):
    def install(budget: int, err: int = errno.ENOSPC) -> _Disk:
        disk = _Disk(budget, err)
        monkeypatch.setattr(h5write, "os", disk)
        return disk

    return install


def test_safefile_keeps_the_first_error_and_goes_on_in_memory(tmp_path, full_after):
    disk = full_after(100)
    fh = SafeFile(tmp_path / "f")
    assert fh.write(b"x" * 60) == 60
    assert fh.write(b"y" * 60) == 60  # refused by the disk, kept in memory
    assert isinstance(fh.error, OSError) and fh.error.errno == errno.ENOSPC
    fh.seek(0)
    assert fh.read(120) == b"x" * 60 + b"y" * 60  # what was written reads back
    assert fh.write(b"z" * 1000) == 1000  # no more errors
    assert disk.failures == 1
    fh.close()


def test_h5_create_closes_cleanly_then_raises_the_write_error(tmp_path, full_after):
    full_after(50_000)
    with pytest.raises(OSError) as info:
        with h5_create(tmp_path / "x.h5", libver="earliest") as f:
            d = f.create_dataset("a", shape=(20000, 50), dtype="f4", chunks=(2000, 50), compression="gzip")
            d[...] = np.random.default_rng(0).random((20000, 50), dtype=np.float32)
            f.create_dataset("small", data=np.arange(10.0)).attrs["units"] = "kpc"  # dropped at once
    assert info.value.errno == errno.ENOSPC
    assert not d.id.valid  # every object was closed by HDF5 itself


def test_curve_writer_raises_disk_full_and_leaves_nothing(tmp_path, curves, full_after):
    full_after(20_000)
    out = tmp_path / "sub" / "a.h5"
    with pytest.raises(DiskFullError, match=r"no space left on device while writing .*a\.h5; free space") as info:
        with CurveWriter(out, n=300, radii=curves["radii"]) as w:
            w.write(0, v_circ=curves["v_circ"], v_disc=curves["v_disc"], v_halo=curves["v_halo"],
                    params=curves["params"])
    assert isinstance(info.value, OutputError) and isinstance(info.value, RotcurveError)
    assert len(str(info.value).splitlines()) == 1
    assert "another output path" in str(info.value) and "--out" in info.value.cli_message
    assert _listing(out.parent) == []  # no temporary file, no lock file


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EDQUOT])
def test_write_dataset_on_a_full_disk(tmp_path, curves, full_after, err):
    full_after(5_000, err)
    with pytest.raises(DiskFullError):
        write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"])
    assert _listing(tmp_path) == []


def test_an_io_error_that_is_not_about_space_is_not_disk_full(tmp_path, curves, full_after):
    full_after(5_000, errno.EIO)
    with pytest.raises(OSError) as info:
        write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"])
    assert not isinstance(info.value, DiskFullError) and info.value.errno == errno.EIO
    assert _listing(tmp_path) == []


def test_write_virtual_on_a_full_disk(tmp_path, curves, monkeypatch):
    shards = []
    for k in range(2):
        shards.append(write_dataset(tmp_path / f"s{k}.h5", radii=curves["radii"], v_circ=curves["v_circ"],
                                    params=curves["params"]))
    monkeypatch.setattr(h5write, "os", _Disk(100))
    with pytest.raises(DiskFullError):
        write_virtual(tmp_path / "m.h5", shards)
    assert _listing(tmp_path) == ["s0.h5", "s1.h5"]


def test_atomic_h5_on_a_full_disk(tmp_path, full_after):
    full_after(1_000)
    with pytest.raises(DiskFullError):
        with atomic_h5(tmp_path / "z.h5") as f:
            f.create_dataset("z", data=np.zeros((1000, 8)))
    assert _listing(tmp_path) == []


def test_a_later_write_with_space_succeeds(tmp_path, curves, full_after):
    full_after(5_000)
    with pytest.raises(DiskFullError):
        write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"])
    full_after(10**12)
    write_dataset(tmp_path / "a.h5", radii=curves["radii"], v_circ=curves["v_circ"])
    with open_dataset(tmp_path / "a.h5") as ds:
        ds.verify()


def test_atomic_path_maps_enospc_of_plain_writes(tmp_path, monkeypatch):
    def fail(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DiskFullError, match="while writing .*notes.txt"):
        with atomic_path(tmp_path / "notes.txt") as tmp:
            with open(tmp, "w") as fh:
                fh.write("x")
            fail()
    assert _listing(tmp_path) == []
    atomic_write_text(tmp_path / "notes.txt", "fine")
    assert _listing(tmp_path) == ["notes.txt"]


def test_is_disk_full_reads_every_spelling(tmp_path, monkeypatch):
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(RuntimeError("Unable to flush raw data (file write failed: errno = 28, error message = ...)"))
    assert is_disk_full(RuntimeError("Can't write data (No space left on device)"))
    assert not is_disk_full(RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534"))
    assert not is_disk_full(KeyboardInterrupt())
    # torch reports a full disk as "unexpected pos": then the filesystem itself says so.
    stat = types.SimpleNamespace(f_bfree=0, f_bavail=0, f_frsize=4096, f_files=100, f_ffree=50, f_favail=50)
    monkeypatch.setattr(os, "statvfs", lambda _p: stat)
    assert is_disk_full(RuntimeError("unexpected pos 576 vs 534"), tmp_path)
    assert not is_disk_full(ValueError("x"))  # no folder given: no guessing


def test_no_segfault_when_a_real_flush_fails(tmp_path):
    """Before the fix: closing an h5py file whose flush failed crashed at garbage collection
    (exit 139).  Reproduced with a fake disk in a subprocess that writes through CurveWriter."""
    script = textwrap.dedent(
        f"""
        import errno, os, sys
        import numpy as np
        from rotcurve.io import h5write, write_dataset
        from rotcurve.errors import DiskFullError

        class Disk:
            budget, fd = 30_000, None
            def __getattr__(self, name):
                return getattr(os, name)
            def pwrite(self, fd, data, off):
                self.fd = fd if self.fd is None else self.fd
                if fd == self.fd:
                    n = len(memoryview(data).cast("B"))
                    if n > self.budget:
                        raise OSError(errno.ENOSPC, "No space left on device")
                    self.budget -= n
                return os.pwrite(fd, data, off)

        h5write.os = Disk()
        v = np.random.default_rng(0).random((20000, 50)) * 200
        try:
            write_dataset({str(tmp_path / 'x.h5')!r}, radii=np.geomspace(0.1, 50, 50), v_circ=v, v_disc=v, v_halo=v)
        except DiskFullError as exc:
            print("disk full:", exc)
            sys.exit(2)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "disk full: no space left on device" in proc.stdout
    assert proc.stderr == ""
    assert _listing(tmp_path) == []


def test_files_through_the_file_object_are_reproducible_and_plain_hdf5(tmp_path):
    """The file-object driver lays the file out a little differently from HDF5's default
    driver, but the same content gives the same bytes, and any HDF5 reader reads it."""
    data = np.random.default_rng(1).random((5000, 50)).astype(np.float32)

    def fill(f):
        d = f.create_dataset("a", data=data, chunks=(1000, 50), compression="gzip", shuffle=True,
                             fletcher32=True, track_times=False)
        d.attrs["units"] = "km/s"

    for name in ("one.h5", "two.h5"):
        with h5_create(tmp_path / name, libver="earliest") as f:
            fill(f)
    assert (tmp_path / "one.h5").read_bytes() == (tmp_path / "two.h5").read_bytes()
    with h5py.File(tmp_path / "one.h5", "r") as f:
        assert f.driver == "sec2"
        np.testing.assert_array_equal(f["a"][...], data)
        assert f["a"].attrs["units"] == "km/s"
