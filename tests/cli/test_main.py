"""The dispatcher: one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rotcurve.cli import main as cli_main
from rotcurve.errors import ConfigError


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
