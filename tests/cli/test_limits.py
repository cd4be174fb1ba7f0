"""Sizes checked up front (one-line usage errors, not internal errors) and the hint after Ctrl-C."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.cli.main import main
from rotcurve.testing import write_curves


def _usage_error(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


def _one_line_error(capsys, argv):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


@pytest.fixture
def data(tmp_path):
    write_curves(tmp_path / "c.h5", 120, radii=np.geomspace(0.1, 50.0, 8))
    return tmp_path / "c.h5"


def test_latent_dim_has_a_stated_limit(tmp_path, data, capsys):
    out = tmp_path / "run"
    line = _usage_error(capsys, ["train", "--data", str(data), "--out", str(out), "--latent-dim", "1000000000"])
    assert "argument --latent-dim: '1000000000' is too large: at most 1024" in line
    assert not out.exists()
    from rotcurve.cli.train import MAX_LATENT_DIM

    assert MAX_LATENT_DIM == 1024


def test_threads_are_at_most_the_cores(tmp_path, data, capsys):
    from rotcurve.cli._common import usable_cores

    for command in (["train", "--data", str(data), "--out", str(tmp_path / "run")], ["quickstart"]):
        line = _usage_error(capsys, [*command, "--threads", "1000000000"])
        assert f"argument --threads: '1000000000' is more threads than the {usable_cores()} usable CPU cores" in line
        assert f"give at most {usable_cores()}" in line


@pytest.fixture(scope="module")
def tiny(make_tiny_run):
    return make_tiny_run("limits")


def test_sample_n_must_fit_on_the_disk(tiny, tmp_path, capsys):
    out = tmp_path / "s.h5"
    line = _one_line_error(capsys, ["sample", "--run", str(tiny / "run"), "--n", "1000000000000000",
                                    "--out", str(out), "-q"])
    assert line.startswith("rotcurve sample: error: --n 1,000,000,000,000,000 needs ")
    assert "(1,000,000,000,000,000 x 16 values x 4 bytes)" in line and "free; give a smaller --n (at most " in line
    assert not out.exists()


def test_sample_size_check_names_the_largest_n(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from rotcurve.cli.sample import check_sample_size
    from rotcurve.errors import ConfigError

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 0, 6400))
    check_sample_size(100, 16, tmp_path / "s.h5")  # 6400 bytes: fits exactly
    with pytest.raises(ConfigError, match=r"needs 6.3 KiB .* has 6.2 KiB free; give a smaller --n \(at most 100 fit\)"):
        check_sample_size(101, 16, tmp_path / "s.h5")


@pytest.mark.parametrize(
    ("files", "extra", "text"),
    [
        (["checkpoints/last.pt", "config.json"], [], "interrupted; rerun the same command with --resume to continue"),
        (["checkpoints/last.pt"], ["--overwrite"], "with --resume (instead of --overwrite) to continue"),
        (["config.json"], [], "interrupted before the first checkpoint; rerun the same command with --overwrite"),
        ([], [], "interrupted before anything was saved; rerun the same command to start again"),
    ],
)
def test_train_interrupt_says_how_to_go_on(tmp_path, data, capsys, monkeypatch, files, extra, text):
    import rotcurve.training

    out = tmp_path / "run"

    def interrupted_fit(*args, **kwargs):
        for name in files:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(b"")
        raise KeyboardInterrupt

    monkeypatch.setattr(rotcurve.training, "fit", interrupted_fit)
    assert main(["train", "--data", str(data), "--out", str(out), "-q", *extra]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rotcurve train: interrupted") and text in err[0]


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["report", "--n-samples", "1000000000"], "--n-samples must be an integer <= 200000, got 1000000000"),
        (["report", "--dpi", "100000"], "--dpi must be an integer <= 1200, got 100000"),
    ],
)
def test_report_sizes_have_stated_limits(tiny, tmp_path, capsys, argv, text):
    out = tmp_path / "rep"
    line = _one_line_error(capsys, [argv[0], "--run", str(tiny / "run"), "--data", str(tiny / "curves.h5"),
                                    "--out", str(out), *argv[1:], "-q"])
    assert line == f"rotcurve report: error: {text}"
    assert not out.exists()


def test_report_limits_in_python_name_the_arguments():
    from rotcurve.errors import ConfigError
    from rotcurve.reports.config import ReportConfig

    with pytest.raises(ConfigError, match=r"^n_samples must be an integer <= 200000, got 1000000000$"):
        ReportConfig(n_samples=10**9)


@pytest.mark.parametrize(("flag", "limit"), [("--walkers", 4096), ("--max-steps", 10_000_000)])
def test_fit_sampler_sizes_have_stated_limits(tmp_path, capsys, flag, limit):
    line = _usage_error(capsys, ["fit", "--data", str(tmp_path / "x.csv"), "--out", str(tmp_path / "o"),
                                 flag, "1e9"])
    assert line.startswith(f"rotcurve fit: error: argument {flag}: '1e9' must be <= {limit}")
    assert not (tmp_path / "o").exists()


def test_fit_flag_limits_are_the_library_limits():
    from rotcurve.cli.fit import MAX_STEPS, MAX_WALKERS
    from rotcurve.errors import ConfigError
    from rotcurve.inference.mcmc import MAX_SETTING, MCMCSettings

    assert (MAX_WALKERS, MAX_STEPS) == (MAX_SETTING["n_walkers"], MAX_SETTING["max_steps"])
    with pytest.raises(ConfigError, match="mcmc.n_walkers must be at most 4096, got 1000000000"):
        MCMCSettings(n_walkers=10**9)
