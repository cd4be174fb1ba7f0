"""Strict dataclass configs: unknown keys, types and finiteness are checked."""

from __future__ import annotations

import dataclasses
import json

import pytest

from rotcurve.errors import ConfigError
from rotcurve.serialization import dumps, from_dict, load_json, load_toml, save_json, to_dict


@dataclasses.dataclass(frozen=True)
class Inner:
    width: int = 3
    name: str = "x"


@dataclasses.dataclass(frozen=True)
class Outer:
    scale: float
    widths: tuple[int, ...] = (1, 2)
    inner: Inner = dataclasses.field(default_factory=Inner)
    flag: bool = False
    maybe: float | None = None


def test_round_trip_through_json(tmp_path):
    cfg = Outer(scale=2.5, widths=(4, 5, 6), inner=Inner(width=7, name="y"), maybe=1.0)
    path = save_json(cfg, tmp_path / "c.json")
    assert from_dict(Outer, load_json(path)) == cfg
    assert json.loads(dumps(cfg)) == to_dict(cfg)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"scale": 1.0, "sclae": 2.0}, "unknown setting sclae"),
        ({"scale": "big"}, "scale: expected a number"),
        ({"scale": float("nan")}, "scale: must be finite"),
        ({"scale": 1.0, "widths": [1, 2.5]}, r"widths\[1\]: expected an integer"),
        ({"scale": 1.0, "inner": {"depth": 3}}, "unknown setting inner.depth"),
        ({"scale": 1.0, "flag": 1}, "flag: expected true or false"),
        ({}, "missing"),
    ],
)
def test_bad_settings_are_errors(data, match):
    with pytest.raises(ConfigError, match=match):
        from_dict(Outer, data)


def test_integral_float_is_accepted_as_int():
    assert from_dict(Outer, {"scale": 1, "widths": [3.0]}).widths == (3,)


def test_malformed_files_give_clear_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("a = = 1\n")
    with pytest.raises(ConfigError, match="malformed TOML"):
        load_toml(bad)
    badj = tmp_path / "bad.json"
    badj.write_text("{")
    with pytest.raises(ConfigError, match="malformed JSON"):
        load_json(badj)
    with pytest.raises(ConfigError, match="no such file"):
        load_toml(tmp_path / "missing.toml")


@dataclasses.dataclass(frozen=True)
class Pair:
    bounds: tuple[float, int] = (1.0, 2)


def test_fixed_length_tuple_converts_each_position():
    assert from_dict(Pair, {"bounds": [0.5, 3]}).bounds == (0.5, 3)
    with pytest.raises(ConfigError, match="expected 2 values"):
        from_dict(Pair, {"bounds": [0.5]})
