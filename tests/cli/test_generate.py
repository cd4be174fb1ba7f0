"""``rotcurve generate``: options, output, one-line errors with exit status 2."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys

import numpy as np
import pytest

from rotcurve.cli.generate import count
from rotcurve.cli.main import build_parser, main
from rotcurve.generator.batch import DEFAULT_SHARD_SIZE, generate
from rotcurve.io import open_dataset, read_dataset

SMALL = ["--n", "950", "--shard-size", "400", "--radii", "0.5:40:12", "--seed", "11", "--workers", "1", "-q"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rotcurve.cli.main", "generate", *args], capture_output=True, text=True
    )


def one_line_error(capsys_or_proc, code: int, actual: int) -> str:
    assert actual == code
    err = capsys_or_proc
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- the --n parser ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("1000", 1000), ("1_000_000", 10**6), ("1e6", 10**6), ("2.5e5", 250000),
     ("1E7", 10**7), ("10M", 10**7), ("5k", 5000), ("1g", 10**9), (" 42 ", 42)],  # fmt: skip
)
def test_count_accepts_whole_numbers(text, value):
    assert count(text) == value


@pytest.mark.parametrize(
    "text", ["10.5", "-3", "abc", "0", "1.0", "", "1e-3", "2.55e1", "1.5k", "nan", "inf"]
)
def test_count_refuses_the_rest(text):
    with pytest.raises(argparse.ArgumentTypeError):
        count(text)


# -- success --------------------------------------------------------------------------------
def test_generate_writes_the_same_as_the_library(tmp_path, capsys):
    out = tmp_path / "cli.h5"
    assert main(["generate", *SMALL, "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    (tmp_path / "lib").mkdir()
    lib = generate(
        950, out=tmp_path / "lib" / "cli.h5", shard_size=400, radii="0.5:40:12", seed=11, progress=False
    )
    a, b = read_dataset(out, components=True), read_dataset(lib, components=True)
    for name in ("v_circ", "v_disc", "v_halo"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.params.to_numpy(), b.params.to_numpy())


def test_storage_and_physics_options(tmp_path, capsys):
    out = tmp_path / "o.h5"
    toml = tmp_path / "prior.toml"
    toml.write_text('kind = "loguniform"\n')
    args = ["--n", "20", "--out", str(out), "--float64", "--no-components", "--compression", "lzf",
            "--H0", "67.5", "--Delta", "100", "--prior", str(toml), "-q"]  # fmt: skip
    assert main(["generate", *args]) == 0
    with open_dataset(out) as ds:
        assert ds.v_circ.dtype == np.float64 and ds.v_disc is None
        assert ds.attrs["H0"] == 67.5 and ds.attrs["Delta"] == 100.0
        assert ds.attrs["prior"]["kind"] == "loguniform"
        assert ds.attrs["generate_request"]["compression"] == "lzf"
        assert ds.v_circ.compression == "lzf"


def test_notes_and_progress_on_stderr(tmp_path):
    out = tmp_path / "p.h5"
    request = ["--n", "950", "--shard-size", "400", "--radii", "0.5:40:12", "--out", str(out)]
    proc = run_cli(*request, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    assert "curves/s" in proc.stderr and "wrote 950 curves" in proc.stderr
    again = run_cli(*request, "--resume")
    assert again.returncode == 0 and "already complete" in again.stderr


def test_help_shows_the_default_shard_size():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert f"default {DEFAULT_SHARD_SIZE}" in sub.choices["generate"].format_help()


# -- errors: one line, exit 2, nothing written ------------------------------------------------
@pytest.mark.parametrize("n", ["10.5", "-3", "abc", "0"])
def test_bad_n(tmp_path, capsys, n):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--n", n, "--out", str(tmp_path / "x.h5")])
    line = one_line_error(capsys.readouterr().err, 2, exc.value.code)
    assert "--n" in line and repr(n) in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard-size", "0"], "argument --shard-size: '0' must be >= 1"),
        (["--workers", "0"], "argument --workers: '0' must be >= 1"),
        (["--workers", "2", "--scheduler", "tcp://x:1"], "not allowed with argument"),
        (["--seed", "-1"], "argument --seed"),
        (["--compression", "zip"], "unknown compression 'zip'"),
        (["--H0", "-1"], "argument --H0"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--n", "10", "--out", str(tmp_path / "x.h5"), *args])
    assert message in one_line_error(capsys.readouterr().err, 2, exc.value.code)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--overwrite", "--resume"], "either --overwrite or --resume"),
        (["--prior", "nope"], "neither a known kind"),
        (["--radii", "10:1:5"], "must be below"),
        (["--radii", "0.1:50"], "neither RMIN:RMAX:N"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, capsys, args, message):
    status = main(["generate", "--n", "10", "--out", str(tmp_path / "x.h5"), "-q", *args])
    line = one_line_error(capsys.readouterr().err, 2, status)
    assert line.startswith("rotcurve generate: error: ") and message in line
    assert list(tmp_path.iterdir()) == []


def test_malformed_toml(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("kind = [\n")
    status = main(["generate", "--n", "10", "--out", str(tmp_path / "x.h5"), "--prior", str(bad)])
    assert "malformed TOML" in one_line_error(capsys.readouterr().err, 2, status)
    assert [p.name for p in tmp_path.iterdir()] == ["bad.toml"]


def test_existing_output(tmp_path, capsys):
    out = tmp_path / "e.h5"
    assert main(["generate", *SMALL, "--out", str(out)]) == 0
    capsys.readouterr()
    before = out.read_bytes()
    status = main(["generate", *SMALL, "--out", str(out)])
    line = one_line_error(capsys.readouterr().err, 2, status)
    assert "--resume" in line and "--overwrite" in line
    assert out.read_bytes() == before


def test_unwritable_output(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    status = main(["generate", "--n", "10", "--out", str(tmp_path / "file" / "x.h5")])
    assert "file is a file, not a folder" in one_line_error(capsys.readouterr().err, 2, status)
    # Issue 7 G: a missing folder used to be "does not exist"; now it is created.
    status = main(["generate", "-q", "--n", "10", "--out", str(tmp_path / "no" / "x.h5")])
    assert status == 0 and (tmp_path / "no" / "x.h5").is_file()


def test_unreachable_scheduler(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status = main(["generate", "--n", "10", "--out", str(tmp_path / "x.h5"),
                   "--scheduler", f"tcp://127.0.0.1:{port}", "--scheduler-timeout", "1"])  # fmt: skip
    assert "cannot reach the Dask scheduler" in one_line_error(capsys.readouterr().err, 2, status)
    assert list(tmp_path.iterdir()) == []


def test_errors_in_a_subprocess_have_no_traceback(tmp_path):
    proc = run_cli("--n", "10.5", "--out", str(tmp_path / "x.h5"))
    assert one_line_error(proc.stderr, 2, proc.returncode)
    proc = run_cli("--n", "10", "--out", str(tmp_path / "x.h5"), "--radii", "bad")
    assert one_line_error(proc.stderr, 2, proc.returncode).startswith("rotcurve generate: error:")
    assert list(tmp_path.iterdir()) == []


# -- issue 7 ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "1e30"], "1e+30 curves in shards of 100,000 would be 1e+25 shards, more than the 100,000"),
        (["--n", "10", "--radii", "0.1:50:1000000000"], "1,000,000,000 radii are more than the 100,000 supported"),
        (["--n", "10", "--prior", "{binary}"], "is not a UTF-8 text file"),
        (["--n", "10", "--prior", "{rd400}"], "gives Rd = inf kpc"),
        (["--n", "1000", "--prior", "{huge_md}"], "beyond the float32 range"),
        (["--n", "1000", "--shard-size", "300", "--prior", "{huge_md}"], "beyond the float32 range"),
    ],
    ids=["n-1e30", "radii-1e9", "binary-prior", "Rd_intercept-400", "Md-1e80-1e90", "Md-sharded"],
)
def test_bad_sizes_and_inputs_are_one_line_and_leave_nothing(tmp_path, args, message):
    # Before: internal errors (exit 70), kills for memory, RuntimeWarnings on stderr, exit 0 with inf
    # stored, and for --n 1e30 a request.json left behind that blocked a plain rerun.
    (tmp_path / "binary.toml").write_bytes(b"\x00\xff\xfe\x89PNG")
    (tmp_path / "rd400.toml").write_text('kind = "reference"\nRd_intercept = 400\n')
    (tmp_path / "huge_md.toml").write_text('kind = "loguniform"\nMd = [1e80, 1e90]\n')
    args = [a.format(**{k: str(tmp_path / f"{k}.toml") for k in ("binary", "rd400", "huge_md")}) for a in args]
    out = tmp_path / "out" / "c.h5"
    proc = run_cli(*args, "-q", "--out", str(out))
    assert message in one_line_error(proc.stderr, 2, proc.returncode)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_cli_messages_name_flags(tmp_path):
    out = tmp_path / "c.h5"
    assert run_cli(*SMALL, "--out", str(out)).returncode == 0
    proc = run_cli(*SMALL, "--out", str(out))
    line = one_line_error(proc.stderr, 2, proc.returncode)
    assert "--resume" in line and "--overwrite" in line and "=True" not in line


def test_resume_says_which_damaged_shard_it_writes_again(tmp_path):
    import h5py

    out = tmp_path / "c.h5"
    assert run_cli(*SMALL, "--out", str(out)).returncode == 0
    shard = tmp_path / "c.h5.shards" / "shard-00001.h5"
    with h5py.File(shard, "r") as f:
        info = f["v_circ"].id.get_chunk_info(0)
    data = bytearray(shard.read_bytes())
    data[info.byte_offset + info.size // 2] ^= 0xFF
    shard.write_bytes(data)
    before = shard.read_bytes()
    proc = run_cli(*SMALL, "--resume", "--out", str(out))  # SMALL has -q: the warning shows anyway
    assert proc.returncode == 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rotcurve generate: shard-00001.h5 is damaged ("), proc.stderr
    assert lines[0].endswith("); writing it again")
    assert shard.read_bytes() != before
    with open_dataset(out) as ds:
        ds.verify()
