"""The dispatcher: one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rotcurve.cli import main as cli_main
from rotcurve.errors import RESUME, ConfigError
from rotcurve.generator._pool import WorkerDiedError


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["--version"])
    assert exc.value.code == 0
    assert "rotcurve" in capsys.readouterr().out


def test_unknown_command_is_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "rotcurve.cli.main", "no-such-command"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid choice" in lines[0]
    assert "Traceback" not in proc.stderr


def _fake_command(exc):
    def add_parser(sub):
        p = sub.add_parser("fake")
        p.set_defaults(func=lambda args: (_ for _ in ()).throw(exc))

    return add_parser


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (ConfigError("bad prior; fix it"), 2, "error: bad prior; fix it"),
        (PermissionError(13, "Permission denied", "/nope/x.h5"), 2, "/nope/x.h5: Permission denied"),
        (KeyboardInterrupt(), 130, "interrupted"),
        # a worker killed (OOM killer, kill -9) is the machine's doing, not a bug: exit 2
        (WorkerDiedError.both("worker process 7 ended; rerun with {r}", r=RESUME), 2,
         "error: worker process 7 ended; rerun with --resume"),
        (ZeroDivisionError("oops"), 70, "internal error: ZeroDivisionError: oops"),
    ],
)
def test_errors_become_one_line(monkeypatch, capsys, exc, code, text):
    import types

    module = types.ModuleType("rotcurve.cli.fake")
    module.add_parser = _fake_command(exc)
    monkeypatch.setitem(sys.modules, "rotcurve.cli.fake", module)
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("rotcurve.cli.fake",))
    monkeypatch.delenv("ROTCURVE_DEBUG", raising=False)
    assert cli_main.main(["fake"]) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert text in err


# -- a closed stdout is not an output-path error ---------------------------------------
def test_closed_stdout_exits_quietly(tmp_path):
    import numpy as np

    from rotcurve.testing import write_curves

    write_curves(tmp_path / "c.h5", 120, radii=np.geomspace(0.1, 50.0, 8))
    argv = [sys.executable, "-m", "rotcurve.cli.main", "train", "--data", str(tmp_path / "c.h5"),
            "--out", str(tmp_path / "run"), "--epochs", "1", "--batch-size", "60", "--device", "cpu", "-q"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line, as with `| head -0`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait() == cli_main.EXIT_BROKEN_PIPE == 141
    assert err == ""  # no "Broken pipe; check the path", no "Exception ignored", no traceback
    assert (tmp_path / "run" / "checkpoints" / "best.pt").is_file()  # the work itself was done


def _fake_module(monkeypatch, run):
    import types

    module = types.ModuleType("rotcurve.cli.fake")

    def add_parser(sub):
        sub.add_parser("fake").set_defaults(func=run)

    module.add_parser = add_parser
    monkeypatch.setitem(sys.modules, "rotcurve.cli.fake", module)
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("rotcurve.cli.fake",))


def test_broken_pipe_in_process_is_quiet(monkeypatch, capsys):
    def run(args):
        raise BrokenPipeError(32, "Broken pipe")

    _fake_module(monkeypatch, run)
    assert cli_main.main(["fake"]) == 141
    assert capsys.readouterr().err == ""


def test_broken_pipe_on_a_named_fifo_is_an_error(monkeypatch, capsys):
    def run(args):
        raise BrokenPipeError(32, "Broken pipe", "/tmp/some.fifo")

    _fake_module(monkeypatch, run)
    assert cli_main.main(["fake"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "/tmp/some.fifo: Broken pipe" in err[0]


# -- warnings never reach the user on the error path ------------------------------------
_WARN_THEN = """
import sys, types, warnings
import numpy as np
from rotcurve.cli import main as m
from rotcurve.errors import RESUME, ConfigError
from rotcurve.generator._pool import WorkerDiedError

def run(args):
    np.log(np.array([-1.0]))                       # numpy: RuntimeWarning invalid value
    warnings.warn("a library note", UserWarning)
    if {fail}:
        raise ConfigError("Md must be positive; fix the table")
    print("done")

mod = types.ModuleType("fakecmd")
mod.add_parser = lambda sub: sub.add_parser("fake").set_defaults(func=run)
sys.modules["fakecmd"] = mod
m.COMMAND_MODULES = ("fakecmd",)
sys.exit(m.main(["fake"]))
"""


def test_warnings_are_dropped_when_the_command_fails():
    proc = subprocess.run([sys.executable, "-c", _WARN_THEN.format(fail=True)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == "rotcurve fake: error: Md must be positive; fix the table\n"


def test_warnings_are_shown_when_the_command_succeeds():
    proc = subprocess.run([sys.executable, "-c", _WARN_THEN.format(fail=False)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "done\n"
    assert "RuntimeWarning: invalid value encountered in log" in proc.stderr
    assert "UserWarning: a library note" in proc.stderr


def test_warning_filters_still_apply(monkeypatch, capsys):
    import warnings

    def run(args):
        warnings.warn("turned into an error", RuntimeWarning)

    _fake_module(monkeypatch, run)
    monkeypatch.delenv("ROTCURVE_DEBUG", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert cli_main.main(["fake"]) == 70
    assert "internal error: RuntimeWarning: turned into an error" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["generate", "--help"]])
def test_help_and_version_on_a_closed_pipe_exit_141(argv):
    # the reader is gone before anything is written: 141 and nothing on stderr, like a command
    proc = subprocess.Popen([sys.executable, "-m", "rotcurve.cli.main", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait() == 141 and err == ""


def test_interrupt_while_the_commands_are_imported(monkeypatch, capsys):
    # Ctrl-C in the first moments lands in build_parser's imports, before any command runs
    import types

    module = types.ModuleType("rotcurve.cli.fake")

    def add_parser(sub):
        raise KeyboardInterrupt

    module.add_parser = add_parser
    monkeypatch.setitem(sys.modules, "rotcurve.cli.fake", module)
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("rotcurve.cli.fake",))
    assert cli_main.main(["fake"]) == 130
    assert capsys.readouterr().err == "rotcurve: interrupted\n"
