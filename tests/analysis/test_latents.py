"""Latents versus physical parameters: correlations and predictability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rotcurve.analysis.latents import (
    PARAM_NAMES,
    REGRESSORS,
    correlations,
    latent_names,
    log10_params,
    predictability,
)
from rotcurve.errors import ConfigError, DataError
from rotcurve.generator.priors import ReferencePrior


def _params(n: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame(ReferencePrior().sample(n, np.random.default_rng(seed)))


def test_log10_params_accepts_dicts_frames_and_records() -> None:
    p = _params(5, 0)
    expected = np.log10(p[list(PARAM_NAMES)].to_numpy())
    records = p.to_records(index=False)
    for source in (p, p.to_dict("list"), records):
        np.testing.assert_array_equal(log10_params(source).to_numpy(), expected)
    with pytest.raises(DataError, match="lack 'c'"):
        log10_params(p.drop(columns="c"))
    bad = p.copy()
    bad.loc[2, "Rd"] = -1.0
    with pytest.raises(DataError, match=r"Rd\[2\]"):
        log10_params(bad)


def test_correlations_against_numpy() -> None:
    p = _params(500, 1)
    logp = np.log10(p[list(PARAM_NAMES)].to_numpy())
    rng = np.random.default_rng(1)
    z = np.column_stack([
        2.0 * logp[:, 0] - 3.0,  # exactly linear in log Md
        np.exp(logp[:, 2]),  # monotonic but not linear in log Mh
        rng.standard_normal(500),
    ])
    table = correlations(z, p)
    assert list(table.columns) == ["latent", "parameter", "pearson", "pearson_p", "spearman", "spearman_p"]
    assert len(table) == 3 * 4
    assert list(table["latent"].unique()) == latent_names(3) == ["z1", "z2", "z3"]
    row = table.set_index(["latent", "parameter"])
    assert row.loc[("z1", "Md"), "pearson"] == pytest.approx(1.0, abs=1e-12)
    assert row.loc[("z2", "Mh"), "spearman"] == pytest.approx(1.0, abs=1e-12)
    assert row.loc[("z2", "Mh"), "pearson"] < 0.99
    for j, zname in enumerate(latent_names(3)):
        for k, name in enumerate(PARAM_NAMES):
            expected = np.corrcoef(z[:, j], logp[:, k])[0, 1]
            assert row.loc[(zname, name), "pearson"] == pytest.approx(expected, abs=1e-12)
    assert abs(row.loc[("z3", "c"), "pearson"]) < 0.15  # independent noise


def test_correlations_of_a_constant_latent_are_undefined() -> None:
    p = _params(20, 2)
    z = np.column_stack([np.ones(20), np.arange(20.0)])
    table = correlations(z, p)
    assert table.loc[table["latent"] == "z1", ["pearson", "spearman"]].isna().all().all()
    assert table.loc[table["latent"] == "z2", "pearson"].notna().all()


def _nonlinear_latents(p: pd.DataFrame, seed: int, noise: float) -> np.ndarray:
    """An invertible non-linear map of the standardised log parameters, plus noise."""
    x = np.log10(p[list(PARAM_NAMES)].to_numpy())
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    u = x @ q
    z = u**3 + 0.3 * u  # strictly increasing in each coordinate: invertible
    return z + noise * rng.standard_normal(z.shape)


def test_predictability_of_an_invertible_map() -> None:
    p = _params(4000, 3)
    z = _nonlinear_latents(p, 3, noise=0.01)
    table = predictability(z, p, seed=0)
    assert list(table["parameter"]) == list(PARAM_NAMES)
    assert (table["n_train"] == 3000).all() and (table["n_test"] == 1000).all()
    assert (table["r2_nonlinear"] > 0.98).all()
    assert (table["r2_linear"] < table["r2_nonlinear"] - 0.02).all()


def test_predictability_of_noise_is_zero() -> None:
    p = _params(2000, 4)
    z = np.random.default_rng(4).standard_normal((2000, 4))
    table = predictability(z, p, seed=1)
    assert table["r2_linear"].abs().max() < 0.03
    assert table["r2_nonlinear"].abs().max() < 0.05
    # k nearest neighbours average noise over k points: R^2 near -1/k, never positive
    knn = predictability(z, p, seed=1, regressor="knn")
    assert knn["r2_nonlinear"].between(-0.25, 0.02).all()


def test_predictability_is_reproducible() -> None:
    p = _params(400, 5)
    z = _nonlinear_latents(p, 5, noise=0.05)
    a = predictability(z, p, seed=7)
    b = predictability(z, p, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert set(REGRESSORS) >= {"mlp", "knn", "hgb"}


def test_bad_input() -> None:
    p = _params(100, 6)
    z = np.zeros((100, 2))
    with pytest.raises(DataError, match="one row per curve"):
        correlations(z[:50], p)
    with pytest.raises(DataError, match="NaN"):
        correlations(np.full((100, 2), np.nan), p)
    with pytest.raises(DataError, match="2-D"):
        predictability(np.zeros(100), p, seed=0)
    with pytest.raises(ConfigError, match="unknown regressor"):
        predictability(z, p, seed=0, regressor="forest")
    with pytest.raises(ConfigError, match="test_fraction"):
        predictability(z, p, seed=0, test_fraction=1.0)
    with pytest.raises(DataError, match="at least 10"):
        predictability(z[:12], p.iloc[:12], seed=0)
