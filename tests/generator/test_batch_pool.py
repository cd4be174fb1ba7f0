"""The local process pool behind generate(): progress, errors, dead workers, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rotcurve.errors import ConfigError
from rotcurve.generator._pool import WorkerDiedError, run_local, start_method
from rotcurve.generator.batch import generate, shards_dir


# Task functions: module level, so that worker processes can import them.
def count_rows(rows: int, blocks: int, *, report) -> None:
    for _ in range(blocks):
        report(rows)


def fail_on(index: int, bad: int, *, report) -> None:
    if index == bad:
        raise ConfigError(f"task {index} is bad")
    time.sleep(0.05)


def die_on(index: int, bad: int, *, report) -> None:
    if index == bad:
        os._exit(3)


def sleep_then_touch(path: str, seconds: float, *, report) -> None:
    time.sleep(seconds)
    Path(path).touch()


def test_start_method_is_not_plain_fork():
    assert start_method() in ("forkserver", "spawn")


def test_progress_and_completion_are_reported():
    rows, done = [], []
    tasks = [(k, 10 + k, 3) for k in range(7)]
    run_local(count_rows, tasks, workers=2, on_rows=rows.append, on_done=done.append)
    assert sorted(rows) == sorted([10 + k for k in range(7) for _ in range(3)])
    assert sorted(done) == list(range(7))


def test_a_worker_error_reaches_the_parent_with_its_type():
    with pytest.raises(ConfigError, match="task 3 is bad") as info:
        run_local(fail_on, [(k, k, 3) for k in range(6)], workers=2)
    assert "in worker, task 3" in str(info.value.__cause__)


def test_a_dying_worker_is_detected_not_waited_for():
    start = time.monotonic()
    with pytest.raises(WorkerDiedError, match=r"exit code 3.*resume=True"):
        run_local(die_on, [(k, k, 1) for k in range(4)], workers=2)
    assert time.monotonic() - start < 60  # no hang (generous bound; the check is the raise)


def test_no_tasks_starts_nothing():
    run_local(count_rows, [], workers=4)


def test_workers_stop_after_the_first_error(tmp_path):
    # Task 0 fails at once; the slow tasks of the other worker must not all run.
    marks = [tmp_path / f"m{k}" for k in range(6)]
    tasks = [(0, 0, 0)] + [(k, str(marks[k]), 0.3) for k in range(1, 6)]
    with pytest.raises(ConfigError):
        run_local(_dispatch, tasks, workers=2)
    time.sleep(0.5)
    assert sum(m.exists() for m in marks) < 5


def _dispatch(*args, report):
    if isinstance(args[0], int):
        return fail_on(args[0], 0, report=report)
    return sleep_then_touch(*args, report=report)


# -- Ctrl-C on the command line -------------------------------------------------------------
def test_ctrl_c_stops_workers_keeps_finished_shards(tmp_path):
    out = tmp_path / "i.h5"
    # The parent is held at its first progress report until the signal comes, so the
    # interruption lands mid-run however fast this machine finishes 24 shards.
    # SIGINT is set to its default first: a shell's background job (``pytest &``, some CI
    # runners) starts with SIGINT ignored, and Python keeps that for its children.
    hold = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import rotcurve.generator.batch as batch\n"
        "from rotcurve.cli.main import main\n"
        "real = batch.run_local\n"
        "def held(*args, on_rows, **kwargs):\n"
        "    def report(rows):\n"
        "        on_rows(rows)\n"
        "        deadline = time.monotonic() + 120  # never an orphan, even if the test fails\n"
        "        while time.monotonic() < deadline:\n"
        "            time.sleep(0.01)\n"
        "    return real(*args, on_rows=report, **kwargs)\n"
        "batch.run_local = held\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    cmd = [sys.executable, "-c", hold, "generate", "--n", "24000", "--shard-size", "1000",
           "--radii", "0.5:40:12", "--workers", "2", "--out", str(out), "-q"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(shards_dir(out).glob("shard-*.h5")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert stderr.strip() == "rotcurve generate: interrupted; rerun with --resume to continue"
    assert not out.exists()
    kept = sorted(p.name for p in shards_dir(out).glob("shard-*.h5"))
    assert kept and not list(tmp_path.rglob("*.tmp"))
    time.sleep(0.3)
    assert sorted(p.name for p in shards_dir(out).glob("shard-*.h5")) == kept  # nobody writes on
    generate(24000, out=out, shard_size=1000, radii="0.5:40:12", resume=True, progress=False)
    assert out.exists()
