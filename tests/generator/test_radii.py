"""Radius grids: spacing, parsing of the command-line forms, validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rotcurve.errors import ConfigError
from rotcurve.generator.radii import RadiiSpec, parse_radii, read_radii_file


def test_default_grid_is_50_log_spaced_from_0p1_to_50_kpc():
    r = RadiiSpec().grid()
    assert r.shape == (50,) and r.dtype == np.float64
    assert r[0] == 0.1 and r[-1] == 50.0
    ratios = r[1:] / r[:-1]
    np.testing.assert_allclose(ratios, (50.0 / 0.1) ** (1 / 49), rtol=1e-12)


def test_linear_grid():
    r = RadiiSpec(rmin=1.0, rmax=10.0, n=10, spacing="linear").grid()
    np.testing.assert_allclose(r, np.arange(1.0, 11.0), rtol=0, atol=1e-12)


def test_explicit_values():
    spec = RadiiSpec(values=(0.5, 1, 2.5))
    assert (spec.rmin, spec.rmax, spec.n, spec.spacing) == (0.5, 2.5, 3, "explicit")
    np.testing.assert_array_equal(spec.grid(), [0.5, 1.0, 2.5])
    assert RadiiSpec.from_values(np.array([1.0, 2.0])) == RadiiSpec(values=(1.0, 2.0))


@pytest.mark.parametrize(
    "spec", [RadiiSpec(), RadiiSpec(rmin=2, rmax=30, n=7, spacing="linear"), RadiiSpec(values=(1.0, 3.0, 9.0))]
)
def test_dict_round_trip_through_json(spec):
    again = RadiiSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    np.testing.assert_array_equal(again.grid(), spec.grid())


def test_from_dict_refuses_unknown_keys():
    with pytest.raises(ConfigError, match="unknown setting radii.nr"):
        RadiiSpec.from_dict({"nr": 5})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.1:50:50", RadiiSpec()),
        ("0.1:50:50:log", RadiiSpec()),
        ("1:10:4:linear", RadiiSpec(rmin=1, rmax=10, n=4, spacing="linear")),
        (" 1 : 10 : 4 : LINEAR ", RadiiSpec(rmin=1, rmax=10, n=4, spacing="linear")),
        (None, RadiiSpec()),
    ],
)
def test_parse_spec_strings(text, expected):
    assert parse_radii(text) == expected


def test_parse_file_with_header_comments_and_csv(tmp_path):
    path = tmp_path / "radii.csv"
    path.write_text("# radii of my galaxy\nradius_kpc,weight\n0.5,1\n\n1.0,2  # inner\n2.0,1\n")
    spec = parse_radii(str(path))
    np.testing.assert_array_equal(spec.grid(), [0.5, 1.0, 2.0])
    assert read_radii_file(path) == spec


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rmin": 5.0, "rmax": 1.0}, r"rmin \(5\) must be below rmax \(1\)"),
        ({"rmin": 0.0}, r"rmin must be positive"),
        ({"rmax": float("inf")}, r"rmax must be a finite number"),
        ({"n": 1}, r"integer >= 2"),
        ({"n": 2.5}, r"integer >= 2"),
        ({"spacing": "cubic"}, r"spacing 'cubic'"),
        ({"spacing": "explicit"}, r"needs values"),
        ({"values": (1.0, 1.0, 2.0)}, r"strictly increasing, but #2 \(1\) follows #1 \(1\)"),
        ({"values": (-1.0, 2.0)}, r"#1 is -1; radii must be positive"),
        ({"values": (1.0, float("nan"))}, r"#2 is nan; radii must be finite"),
        ({"values": (1.0,)}, r"at least 2 radii"),
    ],
)
def test_invalid_specs(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        RadiiSpec(**kwargs)


@pytest.mark.parametrize(
    "text, match",
    [
        ("1:10", r"neither RMIN:RMAX:N\[:log\|linear\]"),
        ("a:10:5", r"RMIN and RMAX must be numbers"),
        ("1:10:five", r"N must be an integer"),
        ("1:10:5:cubic", r"spacing 'cubic' is not 'log' or 'linear'"),
        ("10:1:5", r"must be below rmax"),
        ("0:1:5", r"must be positive"),
        ("1:10:1", r">= 2"),
    ],
)
def test_bad_spec_strings(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_radii(text)


def test_bad_files(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("1.0\n2.0\nthree\n")
    with pytest.raises(ConfigError, match=r"line 3: 'three' is not a number"):
        parse_radii(str(path))
    path.write_text("1.0\n3.0\n2.0\n")
    with pytest.raises(ConfigError, match="strictly increasing"):
        parse_radii(str(path))
    path.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="at least 2 radii"):
        parse_radii(str(path))
    with pytest.raises(ConfigError, match="no such file"):
        read_radii_file(tmp_path / "missing.txt")
