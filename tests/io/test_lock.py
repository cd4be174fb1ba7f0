"""One writer per output (issue 7 B): ``PATH.lock`` held while a run writes PATH.

Before: two ``rotcurve generate --out c.h5`` started together both exited 0 and
the file held the second; sharded runs deleted each other's temporary files.
Now the second run fails at once, naming the first one's pid.  The "first run"
here is a helper process holding the lock until told to stop, so nothing
depends on timing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from rotcurve.errors import OutputError, OutputLockedError
from rotcurve.io import CurveWriter, write_dataset
from rotcurve.io.lock import lock_path, output_lock, read_lock_info

_HOLDER = textwrap.dedent(
    """
    import sys
    from rotcurve.io.lock import output_lock
    with output_lock(sys.argv[1]):
        print("held", flush=True)
        sys.stdin.readline()
    """
)


class Holder:
    """A process holding ``path``'s lock until :meth:`release` (or a kill)."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout=60) == 0

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)


@pytest.fixture
def holder():
    made = []

    def make(path: Path) -> Holder:
        made.append(Holder(path))
        return made[-1]

    yield make
    for h in made:
        if h.proc.poll() is None:
            h.kill()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rotcurve.cli.main", *args], capture_output=True, text=True,
                          timeout=300)


def test_a_held_lock_refuses_another_process_and_names_it(tmp_path, holder):
    out = tmp_path / "c.h5"
    h = holder(out)
    info = read_lock_info(lock_path(out))
    assert info["pid"] == h.proc.pid and info["host"] and info["started"]
    with pytest.raises(OutputLockedError, match=rf"another rotcurve run \(pid {h.proc.pid} on .*\) is writing .*c\.h5"):
        with output_lock(out):
            pass
    h.release()
    assert not lock_path(out).exists()  # removed by its holder
    with output_lock(out):  # free now
        assert lock_path(out).exists()
    assert not lock_path(out).exists()


def test_a_lock_left_by_kill_9_is_taken_over(tmp_path, holder):
    out = tmp_path / "c.h5"
    holder(out).kill()
    assert lock_path(out).exists()  # the file stays, the kernel released the flock
    with output_lock(out):
        assert read_lock_info(lock_path(out))["pid"] == os.getpid()
    assert not lock_path(out).exists()


def test_reentrant_in_one_thread_exclusive_between_threads(tmp_path):
    out = tmp_path / "c.h5"
    errors = []
    with output_lock(out):
        with output_lock(out):  # the generator locks FILE, then its writer locks FILE again
            pass
        assert lock_path(out).exists()

        def other():
            try:
                with output_lock(out):
                    pass
            except OutputLockedError as exc:
                errors.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert len(errors) == 1 and "another thread of this process" in str(errors[0])
    assert isinstance(errors[0], OutputError)


def test_curve_writer_is_locked(tmp_path, curves, holder):
    out = tmp_path / "a.h5"
    h = holder(out)
    with pytest.raises(OutputLockedError):
        write_dataset(out, radii=curves["radii"], v_circ=curves["v_circ"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5.lock"]  # nothing written
    h.release()
    write_dataset(out, radii=curves["radii"], v_circ=curves["v_circ"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5"]
    with CurveWriter(tmp_path / "b.h5", n=1, radii=curves["radii"], components=False, params=False, lock=False) as w:
        assert not lock_path(tmp_path / "b.h5").exists()
        w.write(0, v_circ=curves["v_circ"][:1])


def test_generate_refuses_while_another_run_writes_the_same_output(tmp_path, holder):
    out = tmp_path / "c.h5"
    h = holder(out)
    proc = _cli("generate", "-q", "--n", "2000", "--shard-size", "500", "--seed", "2", "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and f"another rotcurve run (pid {h.proc.pid}" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.h5.lock"]  # it touched nothing
    h.release()
    assert _cli("generate", "-q", "--n", "2000", "--shard-size", "500", "--seed", "2", "--out", str(out)).returncode == 0


def test_evaluate_refuses_while_another_run_writes_the_same_output(tmp_path, holder):
    (tmp_path / "t.csv").write_text("Md,Rd,Mh,c\n1e10,3,1e12,10\n")
    h = holder(tmp_path / "o.h5")
    proc = _cli("evaluate", "-q", "--params", str(tmp_path / "t.csv"), "--out", str(tmp_path / "o.h5"))
    assert proc.returncode == 2 and f"(pid {h.proc.pid}" in proc.stderr and proc.stderr.count("\n") == 1


def test_two_generate_runs_started_together(tmp_path):
    """The scenario of the issue: both used to exit 0, the file holding the second's seed.
    Now exactly one writes the file (whichever took the lock first)."""
    out = tmp_path / "c.h5"
    args = ["-m", "rotcurve.cli.main", "generate", "-q", "--n", "20000", "--shard-size", "2000", "--workers", "1",
            "--out", str(out)]
    procs = [subprocess.Popen([sys.executable, *args, "--seed", str(s)], stderr=subprocess.PIPE, text=True)
             for s in (1, 2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    ok = [i for i, (code, _) in enumerate(results) if code == 0]
    failed = [(code, err) for code, err in results if code != 0]
    assert len(ok) == 1, results  # never both: the loser is refused, whatever the timing
    for code, err in failed:  # refused: locked, or (if the first had already finished) the output exists
        assert code == 2 and ("another rotcurve run" in err or "exist" in err), err
    from rotcurve.io import open_dataset

    with open_dataset(out) as ds:
        assert ds.attrs["seed"] == ok[0] + 1  # the winner's curves, complete
        ds.verify()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp") or p.name.endswith(".lock")]


def test_train_refuses_a_run_folder_in_use(tmp_path, holder):
    from rotcurve.testing import write_curves
    from rotcurve.training import fit

    write_curves(tmp_path / "curves.h5", 60, radii=np.geomspace(0.1, 50.0, 8))
    h = holder(tmp_path / "runs" / "r")
    with pytest.raises(OutputLockedError, match=rf"pid {h.proc.pid}.*runs/r"):
        fit(tmp_path / "curves.h5", tmp_path / "runs" / "r", model={"hidden": [8], "latent_dim": 2},
            train={"epochs": 1, "batch_size": 30, "device": "cpu"}, progress=False)
    assert not (tmp_path / "runs" / "r").exists()
    h.release()


def test_train_names_the_run_using_a_started_folder(tmp_path, holder):
    # the first run has written config.json: the second is told about the run in
    # use (pid), not "already holds a run; pass --resume" (which would collide with it)
    from rotcurve.testing import write_curves
    from rotcurve.training import fit

    write_curves(tmp_path / "curves.h5", 60, radii=np.geomspace(0.1, 50.0, 8))
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    h = holder(run)
    for resume in (False, True):
        with pytest.raises(OutputLockedError, match=rf"pid {h.proc.pid}"):
            fit(tmp_path / "curves.h5", run, resume=resume, train={"epochs": 1, "device": "cpu"},
                progress=False)
    assert sorted(p.name for p in run.iterdir()) == ["config.json"]
    h.release()


def test_lock_file_content_is_json(tmp_path):
    with output_lock(tmp_path / "x.h5") as lock:
        assert set(json.loads(lock.read_text())) == {"pid", "host", "started"}
