"""Per-radius quantile bands and their comparison."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.analysis.bands import DEFAULT_QUANTILES, bands_figure, compare_bands, quantile_bands
from rotcurve.errors import ConfigError, DataError


def test_quantiles_of_a_uniform_grid_are_exact() -> None:
    # Rows i = 0..100 times (j + 1): the q-quantile at radius j is exactly 100 q (j + 1).
    curves = np.arange(101.0)[:, None] * np.arange(1.0, 6.0)[None, :]
    rng = np.random.default_rng(0)
    bands = quantile_bands(curves[rng.permutation(101)])
    assert bands.shape == (len(DEFAULT_QUANTILES), 5)
    expected = 100.0 * np.asarray(DEFAULT_QUANTILES)[:, None] * np.arange(1.0, 6.0)[None, :]
    np.testing.assert_allclose(bands, expected, rtol=1e-12)


def test_bands_are_ordered_by_level() -> None:
    v = np.exp(np.random.default_rng(1).normal(size=(500, 20)))
    bands = quantile_bands(v, quantiles=(0.01, 0.3, 0.5, 0.99))
    assert np.all(np.diff(bands, axis=0) >= 0)


def test_compare_bands() -> None:
    v = np.exp(np.random.default_rng(2).normal(size=(400, 10)))
    same = compare_bands(v, v)
    assert (same[["max_abs_frac", "mean_abs_frac"]].to_numpy() == 0).all()
    scaled = compare_bands(v, 1.1 * v)
    np.testing.assert_allclose(scaled["max_abs_frac"], 0.1, rtol=1e-12)
    np.testing.assert_allclose(scaled["quantile"], DEFAULT_QUANTILES)


def test_bands_figure_has_two_labelled_axes() -> None:
    radii = np.logspace(-1, 1.5, 10)
    rng = np.random.default_rng(3)
    v = 100 * np.exp(0.1 * rng.normal(size=(200, 10)))
    fig = bands_figure(radii, v, 1.05 * v)
    assert len(fig.axes) == 2
    assert "km" in fig.axes[0].get_ylabel()
    assert "kpc" in fig.axes[1].get_xlabel()
    # the ratio panel shows +5 % for every level
    for line in fig.axes[1].get_lines()[:5]:
        np.testing.assert_allclose(line.get_ydata(), 5.0, rtol=1e-9)


def test_bad_input() -> None:
    v = np.ones((5, 3))
    with pytest.raises(ConfigError, match="increasing"):
        quantile_bands(v, quantiles=(0.5, 0.1))
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        quantile_bands(v, quantiles=(0.5, 1.5))
    with pytest.raises(DataError, match="NaN"):
        quantile_bands(np.full((5, 3), np.nan))
    with pytest.raises(DataError, match="2-D"):
        quantile_bands(np.ones(3))
    with pytest.raises(DataError, match="radii"):
        compare_bands(v, np.ones((5, 4)))
    with pytest.raises(DataError, match="do not match"):
        bands_figure(np.arange(1.0, 5.0), v, v)
