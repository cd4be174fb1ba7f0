"""Options every subcommand has, spelled the same everywhere: -q/--quiet."""

from __future__ import annotations

import pytest

from rotcurve.cli import main as cli_main
from rotcurve.cli.main import build_parser, main

#: The required arguments of each subcommand (placeholders: only parsed, never run).
MINIMAL = {
    "quickstart": [],
    "generate": ["--n", "10", "--out", "x.h5"],
    "evaluate": ["--params", "t.csv", "--out", "x.h5"],
    "train": ["--data", "d.h5", "--out", "r"],
    "encode": ["--run", "r", "--data", "d.h5", "--out", "o.h5"],
    "reconstruct": ["--run", "r", "--data", "d.h5", "--out", "o.h5"],
    "sample": ["--run", "r", "--n", "5", "--out", "o.h5"],
    "score": ["--run", "r", "--data", "d.h5"],
    "report": ["--run", "r", "--data", "d.h5", "--out", "rep"],
    "corner": ["--run", "r", "--data", "d.h5", "--out", "c.pdf"],
    "fit": ["--data", "d.csv", "--out", "fits"],
}
COMMANDS = [name.rsplit(".", 1)[1] for name in cli_main.COMMAND_MODULES]


def test_the_table_lists_every_subcommand():
    assert sorted(MINIMAL) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["-q", "--quiet"])
def test_every_subcommand_accepts_quiet(command, flag):
    parser = build_parser()
    assert parser.parse_args([command, *MINIMAL[command]]).quiet is False
    assert parser.parse_args([command, *MINIMAL[command], flag]).quiet is True


@pytest.fixture(scope="module")
def tiny(make_tiny_run):
    return make_tiny_run("quiet")


def _quiet_run(capsys, argv):
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no progress bars, no notes
    return captured.out


def test_quiet_commands_print_only_where_results_went(tiny, tmp_path, capsys):
    run, data = str(tiny / "run"), str(tiny / "curves.h5")
    out = _quiet_run(capsys, ["encode", "--run", run, "--data", data, "--out", str(tmp_path / "z.h5"), "-q"])
    assert str(tmp_path / "z.h5") in out and len(out.splitlines()) == 1
    out = _quiet_run(capsys, ["reconstruct", "--run", run, "--data", data, "--out", str(tmp_path / "r.h5"), "-q"])
    assert str(tmp_path / "r.h5") in out and len(out.splitlines()) == 1
    out = _quiet_run(capsys, ["sample", "--run", run, "--n", "20", "--out", str(tmp_path / "s.h5"), "-q"])
    assert str(tmp_path / "s.h5") in out and len(out.splitlines()) == 1
    out = _quiet_run(capsys, ["score", "--run", run, "--data", data, "-q"])
    assert out.lstrip().startswith("{")


def test_train_quiet_has_no_progress_bar(tmp_path, capsys):
    import numpy as np

    from rotcurve.testing import write_curves

    write_curves(tmp_path / "c.h5", 120, radii=np.geomspace(0.1, 50.0, 8))
    out = _quiet_run(capsys, ["train", "--data", str(tmp_path / "c.h5"), "--out", str(tmp_path / "run"),
                              "--epochs", "1", "--batch-size", "60", "--device", "cpu", "-q"])
    assert f"run folder: {tmp_path / 'run'}" in out


def test_evaluate_quiet_still_says_where_results_went(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("Md,Rd,Mh,c\n1e10,3,1e12,10\n")
    out = _quiet_run(capsys, ["evaluate", "--params", str(tmp_path / "t.csv"), "--out", str(tmp_path / "e.h5"), "-q"])
    assert out.startswith("wrote 1 curves x ") and str(tmp_path / "e.h5") in out and len(out.splitlines()) == 1


class _Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty


@pytest.mark.parametrize(("quiet", "tty", "shown"), [(False, True, True), (False, False, False), (True, True, False)])
def test_progress_bars_only_on_a_terminal(monkeypatch, quiet, tty, shown):
    import argparse
    import sys

    from rotcurve.cli._common import show_progress

    monkeypatch.setattr(sys, "stderr", _Stream(tty))
    assert show_progress(argparse.Namespace(quiet=quiet)) is shown


def test_no_bar_lines_in_a_log_file(tmp_path):
    # stderr redirected to a file (a cluster job's log): no bar, the "where" line on stdout
    import subprocess
    import sys

    with open(tmp_path / "log", "w") as log:
        proc = subprocess.run([sys.executable, "-m", "rotcurve.cli.main", "generate", "--n", "300", "--radii",
                               "0.5:40:8", "--out", str(tmp_path / "c.h5")], stdout=subprocess.PIPE, stderr=log,
                              text=True)
    assert proc.returncode == 0 and str(tmp_path / "c.h5") in proc.stdout
    assert "it/s" not in (tmp_path / "log").read_text() and "%|" not in (tmp_path / "log").read_text()
