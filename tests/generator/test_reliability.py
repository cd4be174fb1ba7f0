"""Issue 7 for the generator: non-finite curves (A), damaged shards on --resume (C),
bad sizes and inputs (E) and Python wording (F).  Each test failed before its fix."""

from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from rotcurve.errors import ConfigError, DiskFullError, OutputExistsError
from rotcurve.generator import LogUniformPrior, RadiiSpec, ReferencePrior, parse_radii
from rotcurve.generator import batch
from rotcurve.generator.batch import generate, shard_path, shards_dir
from rotcurve.generator.radii import MAX_RADII
from rotcurve.io import open_dataset
from rotcurve.serialization import load_json, load_toml

SMALL = {"seed": 11, "shard_size": 400, "radii": "0.5:40:12", "workers": 1, "progress": False}


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def digests(out: Path) -> dict[str, str]:
    files = [out, *sorted(shards_dir(out).glob("*"))]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    """No numpy RuntimeWarning may reach a user on these paths."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- A: curves that are not finite once stored ----------------------------------------------
@pytest.mark.parametrize("n", [300, 950], ids=["single", "sharded"])
def test_a_prior_whose_curves_overflow_float32_is_refused_and_leaves_nothing(tmp_path, n):
    # Before: exit 0, 35,577 of 50,000 values inf.
    prior = LogUniformPrior(Md=(1e80, 1e90))
    with pytest.raises(ConfigError, match=r"curve \d+: v_circ is .* km/s at r = .* kpc, beyond the float32 range"):
        generate(n, out=tmp_path / "c.h5", prior=prior, **SMALL)
    assert listing(tmp_path) == []  # no file, no shards, no request.json, no lock


def test_the_same_prior_is_fine_in_float64(tmp_path):
    out = generate(300, out=tmp_path / "c.h5", prior=LogUniformPrior(Md=(1e80, 1e90)), dtype="float64", **SMALL)
    with open_dataset(out) as ds:
        assert ds.attrs["curves_finite"] is True
        assert np.isfinite(ds.v_circ[...]).all()


def test_a_reference_prior_that_overflows_is_one_error_without_warnings(tmp_path):
    # Before: a RuntimeWarning (three lines) and then the error.
    with pytest.raises(ConfigError, match="gives Rd = inf kpc .* Rd_intercept"):
        generate(10, out=tmp_path / "c.h5", prior=ReferencePrior(Rd_intercept=400.0), **SMALL)
    assert listing(tmp_path) == []


# -- C: damaged finished shards are written again on --resume --------------------------------
def _damage_data(path: Path) -> None:
    """Flip one byte inside the first chunk of /v_circ (the file keeps its size)."""
    with h5py.File(path, "r") as f:
        info = f["v_circ"].id.get_chunk_info(0)
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset + info.size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))


def test_resume_rewrites_a_damaged_shard(tmp_path, caplog):
    (tmp_path / "ref").mkdir()
    reference = digests(generate(950, out=tmp_path / "ref" / "r.h5", **SMALL))
    out = generate(950, out=tmp_path / "r.h5", **SMALL)
    out.unlink()  # interrupted before the master
    _damage_data(shard_path(out, 1))
    with caplog.at_level(logging.WARNING, logger="rotcurve.generator"):
        generate(950, out=out, resume=True, **SMALL)
    assert digests(out) == reference  # before: the damaged shard was kept, exit 0
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and said[0].startswith("shard-00001.h5 is damaged") and "writing it again" in said[0]


def test_resume_of_a_complete_output_with_a_damaged_shard(tmp_path, caplog):
    (tmp_path / "ref").mkdir()
    reference = digests(generate(950, out=tmp_path / "ref" / "r.h5", **SMALL))
    out = generate(950, out=tmp_path / "r.h5", **SMALL)
    _damage_data(shard_path(out, 2))
    with caplog.at_level(logging.WARNING, logger="rotcurve.generator"):
        generate(950, out=out, resume=True, **SMALL)
    assert digests(out) == reference
    assert any("shard-00002.h5 is damaged" in r.getMessage() for r in caplog.records)


def test_resume_of_a_damaged_single_file(tmp_path, caplog):
    (tmp_path / "ref").mkdir()
    reference = digests(generate(300, out=tmp_path / "ref" / "one.h5", **SMALL))
    out = generate(300, out=tmp_path / "one.h5", **SMALL)
    _damage_data(out)
    with caplog.at_level(logging.WARNING, logger="rotcurve.generator"):
        generate(300, out=out, resume=True, **SMALL)
    assert digests(out) == reference
    assert any("one.h5 is damaged" in r.getMessage() for r in caplog.records)


# -- E: sizes and inputs ----------------------------------------------------------------------
def test_absurd_n_is_refused_up_front_and_leaves_nothing(tmp_path):
    # Before: MemoryError (internal error, exit 70), and request.json left behind.
    with pytest.raises(ConfigError, match=r"1e\+30 curves .* more than the 100,000 supported"):
        generate(10**30, out=tmp_path / "c.h5", **SMALL)
    with pytest.raises(ConfigError, match="shard_size 100,000,000 is too large"):
        generate(10**9, out=tmp_path / "c.h5", **{**SMALL, "shard_size": 10**8})
    assert listing(tmp_path) == []


def test_too_many_radii(tmp_path):
    # Before: killed for memory.
    with pytest.raises(ConfigError, match="1,000,000,000 radii are more than the 100,000 supported"):
        parse_radii("0.1:50:1000000000")
    with pytest.raises(ConfigError, match="100,001 radii"):
        RadiiSpec(n=MAX_RADII + 1)
    (tmp_path / "r.txt").write_text("\n".join(str(1 + i) for i in range(MAX_RADII + 5)) + "\n")
    with pytest.raises(ConfigError, match=r"radii file .*100,005 radii are more"):
        parse_radii(tmp_path / "r.txt")
    assert RadiiSpec(n=MAX_RADII).grid().size == MAX_RADII


def test_binary_prior_and_json_files(tmp_path):
    # Before: UnicodeDecodeError, an internal error (exit 70).
    (tmp_path / "p.toml").write_bytes(b"\x00\xff\xfe\x89PNG")
    with pytest.raises(ConfigError, match=r"p.toml is not a UTF-8 text file"):
        load_toml(tmp_path / "p.toml")
    with pytest.raises(ConfigError, match=r"p.toml is not a UTF-8 text file"):
        generate(10, out=tmp_path / "c.h5", prior=str(tmp_path / "p.toml"), **SMALL)
    (tmp_path / "r.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(ConfigError, match="r.json is not a UTF-8 text file"):
        load_json(tmp_path / "r.json")
    with pytest.raises(ConfigError, match="is a folder, not a TOML file"):
        load_toml(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml", "r.json"]


def test_a_data_set_that_cannot_fit_the_disk_is_refused_up_front(tmp_path, monkeypatch):
    class Usage:
        free = 10_000

    monkeypatch.setattr(batch.shutil, "disk_usage", lambda _p: Usage)
    with pytest.raises(DiskFullError, match=r"950 curves need at least .* but 10 kB are free"):
        generate(950, out=tmp_path / "c.h5", **SMALL)
    assert listing(tmp_path) == []


# -- F: Python callers read argument names ----------------------------------------------------
def test_python_messages_name_arguments_and_cli_messages_flags(tmp_path):
    out = generate(950, out=tmp_path / "c.h5", **SMALL)
    with pytest.raises(OutputExistsError) as info:
        generate(950, out=out, **SMALL)
    text, cli = str(info.value), info.value.cli_message
    assert "resume=True" in text and "overwrite=True" in text and "--" not in text
    assert "--resume" in cli and "--overwrite" in cli and "=True" not in cli
    with pytest.raises(ConfigError) as info:
        generate(950, out=out, overwrite=True, resume=True, **SMALL)
    assert str(info.value) == "give either overwrite or resume, not both"
    assert info.value.cli_message == "give either --overwrite or --resume, not both"


# -- B: the run's lock does not stand in the way of its own workers ----------------------------
def test_a_single_file_written_by_a_dask_worker_while_the_run_holds_the_lock(tmp_path):
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own start-up notes
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            out = generate(300, out=tmp_path / "one.h5", scheduler=cluster.scheduler_address,
                           **{k: v for k, v in SMALL.items() if k != "workers"})
    (tmp_path / "ref").mkdir()
    assert digests(out) == digests(generate(300, out=tmp_path / "ref" / "one.h5", **SMALL))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.h5", "ref"]


def test_a_malformed_scheduler_address_is_one_line_without_a_finaliser_traceback(tmp_path):
    """A Client that fails inside its constructor printed a TimeoutError traceback at exit."""
    import subprocess
    import sys

    pytest.importorskip("distributed")
    out = tmp_path / "g.h5"
    proc = subprocess.run(
        [sys.executable, "-m", "rotcurve.cli.main", "generate", "--n", "600", "--out", str(out),
         "--radii", "0.1:50:20", "-q", "--scheduler", "not a url", "--scheduler-timeout", "2"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "malformed" in lines[0] and "Traceback" not in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
