"""The run directory: config.json, metrics.jsonl, data descriptions."""

from __future__ import annotations

import json

import pytest

from rotcurve.errors import ConfigError
from rotcurve.models import default_config
from rotcurve.training.config import DataConfig, TrainConfig
from rotcurve.training.rundir import (
    MetricsLog,
    RunConfig,
    config_differences,
    data_fingerprint,
    normalise_spec,
    read_run_config,
)


def _config(**train):
    return RunConfig(
        model=default_config("curves", 24),
        train=TrainConfig(**train),
        data=DataConfig("/data/c.h5"),
    )


def test_config_json_round_trip(tmp_path):
    cfg = _config(epochs=5)
    cfg.save(tmp_path / "config.json")
    text = json.loads((tmp_path / "config.json").read_text())
    assert set(text) == {"rotcurve_version", "model", "train", "data"}
    again = read_run_config(tmp_path / "config.json")
    assert again == cfg


def test_config_json_refuses_unknown_settings(tmp_path):
    data = _config().to_dict()
    data["train"]["epoch"] = 3
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="unknown setting train.epoch"):
        read_run_config(tmp_path / "config.json")


def test_differences_name_each_setting_but_ignore_the_device():
    assert config_differences(_config(lr=1e-3), _config(lr=1e-3, device="cpu")) == []
    diffs = config_differences(_config(lr=1e-3, epochs=2), _config(lr=2e-3, epochs=2))
    assert diffs == ["train.lr: 0.001 -> 0.002"]


def test_metrics_log_keeps_only_checkpointed_epochs(tmp_path):
    log = MetricsLog(tmp_path / "m.jsonl")
    for e in range(1, 5):
        log.append({"epoch": e, "train_loss": float(e)})
    with (tmp_path / "m.jsonl").open("a") as fh:
        fh.write('{"epoch": 5, "train_lo')  # a torn last line
    again = MetricsLog.load(tmp_path / "m.jsonl", upto_epoch=3)
    assert [r["epoch"] for r in again.records] == [1, 2, 3]
    with pytest.raises(ValueError):  # NaN is not JSON
        log.append({"epoch": 6, "train_loss": float("nan")})


def test_spec_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert normalise_spec("c.h5") == str(tmp_path / "c.h5")
    assert normalise_spec("mnist:data") == f"mnist:{tmp_path / 'data'}"


def test_fingerprint_tracks_the_contents(tmp_path, write_curves):
    write_curves(tmp_path / "a.h5", seed=0)
    write_curves(tmp_path / "b.h5", seed=0)
    write_curves(tmp_path / "c.h5", seed=1)
    write_curves(tmp_path / "d.h5", n=499, seed=0)
    fa = data_fingerprint(tmp_path / "a.h5")
    assert fa == data_fingerprint(tmp_path / "b.h5")  # same curves, other file
    assert fa != data_fingerprint(tmp_path / "c.h5")
    assert fa != data_fingerprint(tmp_path / "d.h5")
    assert data_fingerprint("mnist:/x") is None
