"""--resume: keeps valid finished shards of the same request, refuses anything else,
and ends with the bytes of an uninterrupted run (kill -9 included)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rotcurve.errors import DataError, OutputExistsError
from rotcurve.generator import batch
from rotcurve.generator.batch import generate, shard_path, shards_dir

N, SIZE, SEED = 950, 400, 11
RADII = "0.5:40:12"


def digests(out: Path) -> dict[str, str]:
    files = [out] + (sorted(shards_dir(out).iterdir()) if shards_dir(out).exists() else [])
    return {
        str(p.relative_to(out.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files
        if p.exists()
    }


def small(out: Path, *, n: int = N, **kw) -> Path:
    opts = {"seed": SEED, "shard_size": SIZE, "radii": RADII, "workers": 1, "progress": False}
    return generate(n, out=out, **(opts | kw))


@pytest.fixture
def reference(tmp_path) -> dict[str, str]:
    """Digests of an uninterrupted run, in its own folder."""
    folder = tmp_path / "reference"
    folder.mkdir()
    return digests(small(folder / "r.h5"))


@pytest.fixture
def run_dir(tmp_path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    return folder


def test_resume_writes_only_missing_shards_and_matches(run_dir, reference):
    out = small(run_dir / "r.h5")
    out.unlink()  # as if interrupted before the master
    shard_path(out, 1).unlink()
    kept = {k: shard_path(out, k).stat() for k in (0, 2)}
    small(out, resume=True)
    assert digests(out) == reference
    for k, st in kept.items():  # untouched: same inode, same modification time
        now = shard_path(out, k).stat()
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)


def test_resume_of_a_complete_output_does_nothing(run_dir, reference):
    out = small(run_dir / "r.h5")
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")}
    assert small(out, resume=True) == out
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")} == before


def test_resume_with_nothing_there_is_a_fresh_run(run_dir, reference):
    assert digests(small(run_dir / "r.h5", resume=True)) == reference


def test_resume_single_file_run(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / ".one.h5.x1y2z3.tmp").write_bytes(b"partial")  # killed mid-write
    out = small(tmp_path / "a" / "one.h5", n=300, resume=True)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["one.h5"]
    assert digests(out) == {"one.h5": digests(small(tmp_path / "b" / "one.h5", n=300))["one.h5"]}


def test_leftover_temporary_shards_are_removed(run_dir, reference):
    out = small(run_dir / "r.h5")
    out.unlink()
    shard_path(out, 2).rename(shards_dir(out) / ".shard-00002.h5.abcdef.tmp")
    small(out, resume=True)
    assert digests(out) == reference
    assert not list(run_dir.rglob("*.tmp"))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"seed": SEED + 1}, "seed"),
        ({"n": N + 1}, "n "),
        ({"shard_size": 300}, "shard_size"),
        ({"radii": "0.5:40:13"}, "radii"),
        ({"prior": "loguniform"}, "prior"),
        ({"H0": 67.0}, "H0"),
        ({"Delta": 100.0}, "Delta"),
        ({"dtype": "float64"}, "dtype"),
        ({"components": False}, "components"),
        ({"compression": "lzf"}, "compression"),
    ],
)
def test_resume_refuses_another_request(run_dir, change, named):
    out = small(run_dir / "r.h5")
    out.unlink()
    shard_path(out, 1).unlink()
    before = digests(out)
    with pytest.raises(OutputExistsError, match=f"different request.*{named}.*overwrite=True"):
        small(out, resume=True, **change)
    assert digests(out) == before
    # ... and so does a complete output.
    small(out, resume=True)
    with pytest.raises(OutputExistsError, match=f"different request.*{named}.*overwrite=True"):
        small(out, resume=True, **change)


def test_resume_refuses_another_version(run_dir, monkeypatch):
    out = small(run_dir / "r.h5")
    out.unlink()
    monkeypatch.setattr(batch, "__version__", "99.0")
    with pytest.raises(OutputExistsError, match="rotcurve_version '0.1.0' there, '99.0' now"):
        small(out, resume=True)


def test_resume_rewrites_a_truncated_shard(run_dir, reference, caplog):
    # before: "shard-00001.h5 cannot be resumed; use overwrite=True" (all shards lost)
    import logging

    out = small(run_dir / "r.h5")
    out.unlink()
    shard = shard_path(out, 1)
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])  # truncated behind rotcurve's back
    with caplog.at_level(logging.WARNING, logger="rotcurve.generator"):
        small(out, resume=True)
    assert digests(out) == reference  # the bytes of an uninterrupted run
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and said[0].startswith("shard-00001.h5 is damaged") and "writing it again" in said[0]


def test_resume_refuses_a_shard_from_elsewhere(run_dir):
    out = small(run_dir / "r.h5")
    out.unlink()
    os.replace(shard_path(out, 0), shard_path(out, 1))  # shard 0's file under shard 1's name
    with pytest.raises(DataError, match="not shard 1"):
        small(out, resume=True)


def test_resume_refuses_foreign_files(run_dir):
    out = small(run_dir / "r.h5")
    out.unlink()
    (shards_dir(out) / "shard-00007.h5").write_bytes(b"")
    with pytest.raises(OutputExistsError, match="shard-00007.h5 is not one of the 3 shards"):
        small(out, resume=True)
    (shards_dir(out) / "shard-00007.h5").unlink()
    (shards_dir(out) / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="notes.txt"):
        small(out, resume=True)


def test_resume_refuses_shards_for_a_single_file_request(run_dir):
    out = small(run_dir / "r.h5")
    out.unlink()
    (shards_dir(out) / "request.json").unlink()
    with pytest.raises(OutputExistsError, match="single file now"):
        small(out, n=SIZE, resume=True)


def test_resume_continues_an_interrupted_overwrite(run_dir, reference):
    out = small(run_dir / "r.h5", n=300, seed=99)  # an older single-file output
    old = out.read_bytes()
    small(run_dir / "scratch.h5")  # borrow finished shards for the new request:
    shards_dir(out).mkdir()
    for name in ("request.json", "shard-00000.h5"):
        os.replace(shards_dir(run_dir / "scratch.h5") / name, shards_dir(out) / name)
    assert out.read_bytes() == old  # the old output is still there and valid
    small(out, resume=True)
    assert digests(out) == reference


# -- a real interruption ------------------------------------------------------------------
def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "rotcurve.cli.main", "generate", *args]


def _wait_for_shard(folder: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not list(folder.glob("shard-*.h5")):
        assert proc.poll() is None, f"finished before a shard appeared: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "no shard appeared"
        time.sleep(0.01)


def test_kill_9_then_resume_gives_the_uninterrupted_bytes(tmp_path):
    args = ["--n", "24000", "--shard-size", "1000", "--radii", RADII, "--workers", "2", "--seed", "5", "-q"]
    (tmp_path / "killed").mkdir()
    (tmp_path / "clean").mkdir()
    out = tmp_path / "killed" / "k.h5"
    proc = subprocess.Popen(_cli(*args, "--out", str(out)), stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_shard(shards_dir(out), proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # no master: the run was cut short
    assert list(shards_dir(out).glob("shard-*.h5"))
    time.sleep(0.5)  # orphaned workers notice their parent is gone and stop
    resumed = subprocess.run(_cli(*args, "--out", str(out), "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    clean = generate(
        24000, out=tmp_path / "clean" / "k.h5", shard_size=1000, radii=RADII, seed=5, progress=False
    )
    assert digests(out) == digests(clean)
    assert not list(tmp_path.rglob("*.tmp"))
