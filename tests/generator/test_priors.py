"""Priors: sample statistics against the closed forms, determinism, TOML, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from rotcurve.errors import ConfigError
from rotcurve.generator.priors import (
    PARAM_NAMES,
    PRIORS,
    LogUniformPrior,
    ReferencePrior,
    load_prior,
    prior_from_dict,
    resolve_prior,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "priors"
N = 100_000


def _toml(data: dict) -> str:
    """A flat dict as TOML (numbers, strings, lists of numbers)."""
    lines = []
    for key, value in data.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, (list, tuple)):
            lines.append(f"{key} = [{', '.join(repr(float(v)) for v in value)}]")
        else:
            lines.append(f"{key} = {value!r}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def reference_sample():
    return ReferencePrior().sample(N, np.random.default_rng(12345))


def test_reference_defaults_are_the_tutorial_numbers():
    p = ReferencePrior()
    assert (p.log10_Md_min, p.log10_Md_max, p.log10_Md_pivot) == (9.0, 12.0, 10.7)
    assert (p.Rd_slope, p.Rd_intercept, p.Rd_scatter) == (0.3, 0.5, 0.4)
    assert (p.Mh_slope, p.Mh_intercept, p.Mh_scatter) == (0.75, 12.0, 0.25)
    assert (p.c_intercept, p.c_slope, p.c_pivot, p.c_scatter, p.h) == (0.905, -0.101, 12.0, 0.11, 0.7)


def test_reference_sample_shapes_and_types(reference_sample):
    assert set(reference_sample) == set(PARAM_NAMES)
    for arr in reference_sample.values():
        assert arr.shape == (N,) and arr.dtype == np.float64
        assert np.all(np.isfinite(arr)) and np.all(arr > 0)


def test_reference_log_md_is_uniform(reference_sample):
    x = np.log10(reference_sample["Md"])
    assert x.min() >= 9.0 and x.max() <= 12.0
    # U(9, 12): mean 10.5, std 3/sqrt(12); 5 sigma of the sampling error
    assert abs(x.mean() - 10.5) < 5 * (3 / math.sqrt(12)) / math.sqrt(N)
    assert stats.kstest((x - 9.0) / 3.0, "uniform").pvalue > 1e-3


@pytest.mark.parametrize(
    "name, slope, intercept, scatter",
    [("Rd", 0.3, 0.5, 0.4), ("Mh", 0.75, 12.0, 0.25)],
)
def test_reference_scaling_relations(reference_sample, name, slope, intercept, scatter):
    x = np.log10(reference_sample["Md"]) - 10.7
    y = np.log10(reference_sample[name])
    resid = y - (slope * x + intercept)
    # residual ~ N(0, scatter), independent of Md
    assert abs(resid.mean()) < 5 * scatter / math.sqrt(N)
    assert abs(resid.std(ddof=1) - scatter) < 5 * scatter / math.sqrt(2 * N)
    assert abs(np.corrcoef(x, resid)[0, 1]) < 5 / math.sqrt(N)
    fitted_slope = np.polyfit(x, y, 1)[0]
    assert abs(fitted_slope - slope) < 5 * scatter / (math.sqrt(N) * x.std())
    assert stats.kstest(resid / scatter, "norm").pvalue > 1e-3


def test_reference_concentration_mass_relation(reference_sample):
    log_mh_h = np.log10(reference_sample["Mh"] * 0.7)
    resid = np.log10(reference_sample["c"]) - (0.905 - 0.101 * (log_mh_h - 12.0))
    assert abs(resid.mean()) < 5 * 0.11 / math.sqrt(N)
    assert abs(resid.std(ddof=1) - 0.11) < 5 * 0.11 / math.sqrt(2 * N)
    assert abs(np.corrcoef(log_mh_h, resid)[0, 1]) < 5 / math.sqrt(N)


def test_reference_without_scatter_follows_the_relations_exactly():
    p = ReferencePrior(Rd_scatter=0.0, Mh_scatter=0.0, c_scatter=0.0)
    s = p.sample(1000, np.random.default_rng(1))
    md = s["Md"]
    np.testing.assert_allclose(s["Rd"], 10 ** 0.5 * (md / 10**10.7) ** 0.3, rtol=1e-12)
    np.testing.assert_allclose(s["Mh"], 1e12 * (md / 10**10.7) ** 0.75, rtol=1e-12)
    # Dutton & Maccio (2014): c = 10^0.905 (M h / 1e12 Msun)^-0.101
    np.testing.assert_allclose(s["c"], 10**0.905 * (s["Mh"] * 0.7 / 1e12) ** -0.101, rtol=1e-12)


def test_dutton_maccio_pivot_value():
    # at Mh h = 1e12 Msun the median concentration is 10^0.905 = 8.035...
    p = ReferencePrior(log10_Md_min=10.69999, log10_Md_max=10.70001, Rd_scatter=0, Mh_scatter=0,
                       c_scatter=0, Mh_intercept=12 - math.log10(0.7))
    c = p.sample(10, np.random.default_rng(0))["c"]
    np.testing.assert_allclose(c, 8.0352612, rtol=1e-5)


@pytest.mark.parametrize("cls", [ReferencePrior, LogUniformPrior])
def test_sampling_is_deterministic(cls):
    a = cls().sample(1000, np.random.default_rng(7))
    b = cls().sample(1000, np.random.default_rng(7))
    c = cls().sample(1000, np.random.default_rng(8))
    for k in PARAM_NAMES:
        np.testing.assert_array_equal(a[k], b[k])
        assert not np.array_equal(a[k], c[k])


@pytest.mark.parametrize("cls", [ReferencePrior, LogUniformPrior])
def test_sampling_zero_rows(cls):
    # n = 0 is a valid (empty) draw
    s = cls().sample(0, np.random.default_rng(0))
    assert all(v.shape == (0,) for v in s.values())


def test_loguniform_sample():
    p = LogUniformPrior(Md=(1e9, 1e11), Rd=(1.0, 10.0), Mh=(1e11, 1e13), c=(5.0, 5.0))
    s = p.sample(N, np.random.default_rng(3))
    for name, (lo, hi) in [("Md", (9, 11)), ("Rd", (0, 1)), ("Mh", (11, 13))]:
        x = np.log10(s[name])
        assert x.min() >= lo - 1e-12 and x.max() <= hi + 1e-12
        assert abs(x.mean() - (lo + hi) / 2) < 5 * (hi - lo) / math.sqrt(12 * N)
        assert stats.kstest((x - lo) / (hi - lo), "uniform").pvalue > 1e-3
    np.testing.assert_allclose(s["c"], 5.0, rtol=1e-14)  # low == high fixes it
    assert abs(np.corrcoef(np.log10(s["Md"]), np.log10(s["Rd"]))[0, 1]) < 5 / math.sqrt(N)


@pytest.mark.parametrize("prior", [ReferencePrior(), ReferencePrior(Rd_scatter=0.2), LogUniformPrior(),
                                   LogUniformPrior(c=(2.0, 20.0))])
def test_dict_and_toml_round_trip(prior, tmp_path):
    d = prior.to_dict()
    assert d["kind"] == prior.kind
    assert prior_from_dict(d) == prior
    path = tmp_path / "prior.toml"
    path.write_text(_toml(d))
    assert load_prior(path) == prior
    a = load_prior(path).sample(100, np.random.default_rng(0))
    b = prior.sample(100, np.random.default_rng(0))
    for k in PARAM_NAMES:
        np.testing.assert_array_equal(a[k], b[k])


def test_shipped_toml_files_equal_the_code_defaults():
    assert load_prior(DATA / "reference.toml") == ReferencePrior()
    assert isinstance(load_prior(DATA / "loguniform.toml"), LogUniformPrior)


def test_registry_and_resolve(tmp_path):
    assert PRIORS == {"reference": ReferencePrior, "loguniform": LogUniformPrior}
    assert resolve_prior(None) == ReferencePrior()
    assert resolve_prior("loguniform") == LogUniformPrior()
    assert resolve_prior({"kind": "reference", "h": 0.68}).h == 0.68
    assert resolve_prior(str(DATA / "reference.toml")) == ReferencePrior()
    with pytest.raises(ConfigError, match="neither a known kind"):
        resolve_prior(str(tmp_path / "nope.toml"))


@pytest.mark.parametrize(
    "text, match",
    [
        ('kind = "reference"\nRd_slop = 0.3\n', r"unknown setting Rd_slop; allowed: .*Rd_slope"),
        ('kind = "reference"\nlog10_Md_min = 12.0\nlog10_Md_max = 9.0\n', r"log10_Md_min .* below log10_Md_max"),
        ('kind = "reference"\nRd_scatter = -0.1\n', r"Rd_scatter must be >= 0"),
        ('kind = "reference"\nh = 0.0\n', r"h must be positive"),
        ('kind = "reference"\nMh_slope = nan\n', r"Mh_slope.*finite"),
        ('kind = "reference"\nc_slope = "steep"\n', r"c_slope.*number"),
        ('kind = "loguniform"\nMd = [1e12, 1e9]\n', r"Md bounds .* inverted"),
        ('kind = "loguniform"\nRd = [0.0, 10.0]\n', r"Rd bounds must be positive kpc"),
        ('kind = "loguniform"\nMh = [1e10, inf]\n', r"Mh.*finite"),
        ('kind = "loguniform"\nc = [1.0, 2.0, 3.0]\n', r"c must be a pair"),
        ('kind = "gaussian"\n', r"unknown prior kind 'gaussian'; use one of 'reference', 'loguniform'"),
        ('Rd_slope = 0.3\n', r"no 'kind'; add kind ="),
        ('kind = "reference"\nRd_slope = \n', r"malformed TOML"),
    ],
)
def test_bad_prior_files(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        load_prior(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_prior_file(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_prior(tmp_path / "missing.toml")


def test_sample_argument_checks():
    with pytest.raises(ConfigError, match="non-negative integer"):
        ReferencePrior().sample(-1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        ReferencePrior().sample(3, 42)


def test_stream_use_does_not_depend_on_settings():
    # same seed, different scatter: the same uniform draws give the same disc masses
    a = ReferencePrior().sample(500, np.random.default_rng(5))
    b = ReferencePrior(Rd_scatter=0.1, c_scatter=0.0).sample(500, np.random.default_rng(5))
    np.testing.assert_array_equal(a["Md"], b["Md"])
