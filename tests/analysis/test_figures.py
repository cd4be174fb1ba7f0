"""Figure functions: axes, labels, saving (atomic, PNG/PDF/SVG), no pyplot state, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rotcurve.analysis.corner_plots import corner_compare, corner_overlay, corner_plot
from rotcurve.analysis.curve_plots import (
    interpolate_latents,
    interpolation_figure,
    reconstruction_figure,
    sampled_curves_figure,
    traversal_figure,
    traverse_latents,
)
from rotcurve.analysis.figures import new_figure, save_figure
from rotcurve.analysis.image_plots import (
    decoder_grid_figure,
    image_grid_figure,
    image_interpolation_figure,
    image_mosaic,
    image_reconstructions_figure,
    latent_map_figure,
    tsne_figure,
)
from rotcurve.errors import ConfigError, DataError, OutputExistsError
from rotcurve.generator.priors import ReferencePrior
from rotcurve.physics import rotation_curves

RADII = np.logspace(-1, np.log10(50.0), 30)


def _decode_curves(z: np.ndarray) -> np.ndarray:
    """A stand-in decoder: 4 latents -> physical parameters -> rotation curves (km/s)."""
    z = np.asarray(z)
    p = {
        "Md": 10 ** (10.5 + 0.5 * z[:, 0]),
        "Rd": 10 ** (0.5 + 0.2 * z[:, 1]),
        "Mh": 10 ** (12.0 + 0.4 * z[:, 2]),
        "c": 10 ** (0.9 + 0.1 * z[:, 3]),
    }
    return rotation_curves(p, RADII).v_circ


def _decode_images(z: np.ndarray) -> np.ndarray:
    """A stand-in image decoder: a Gaussian blob whose position follows z (flattened 28x28)."""
    z = np.asarray(z)
    yy, xx = np.mgrid[0:28, 0:28]
    cx, cy = 14 + 3 * z[:, 0], 14 - 3 * z[:, 1]
    img = np.exp(-((xx[None] - cx[:, None, None]) ** 2 + (yy[None] - cy[:, None, None]) ** 2) / 18.0)
    return img.reshape(len(z), 784)


# -- saving ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_save_figure_formats(tmp_path: Path, suffix: str, magic: bytes) -> None:
    fig = new_figure()
    fig.subplots().plot([1, 2], [3, 4])
    path = save_figure(fig, tmp_path / f"plot{suffix}")
    assert path.read_bytes().startswith(magic)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"plot{suffix}"]  # no temporary left


def test_save_figure_refuses_bad_suffix_and_existing_file(tmp_path: Path) -> None:
    fig = new_figure()
    with pytest.raises(ConfigError, match="suffix"):
        save_figure(fig, tmp_path / "plot.jpeg2")
    assert list(tmp_path.iterdir()) == []
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    with pytest.raises(OutputExistsError):
        save_figure(fig, target, overwrite=False)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]
    save_figure(fig, target)
    assert target.read_bytes().startswith(b"\x89PNG")


def test_figures_leave_no_pyplot_state() -> None:
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    corner_overlay(rng.normal(size=(300, 2)), rng.normal(size=(100, 2)))
    sampled_curves_figure(RADII, _decode_curves(rng.normal(size=(5, 4))))
    assert plt.get_fignums() == []


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, rotcurve.analysis as a; "
        "heavy = [m for m in ('matplotlib', 'sklearn', 'torch', 'corner') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "assert callable(a.physical_validity) and callable(a.corner_plot)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- corner plots ---------------------------------------------------------------------------


def test_corner_plot_with_latents_and_truths(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    p = pd.DataFrame(ReferencePrior().sample(400, rng))
    z = rng.normal(size=(400, 3))
    fig = corner_plot(p, z, truths=[10.5, None, 12.0, 1.0, 0.0, None, 0.5])
    assert len(fig.axes) == 7 * 7
    labels = [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()]
    assert any("[kpc]" in s for s in labels) and any("M$_\\odot$" in s for s in labels)
    assert any("z_{3}" in s for s in labels)
    save_figure(fig, tmp_path / "corner.png")
    save_figure(fig, tmp_path / "corner.pdf")
    assert corner_plot(p).axes.__len__() == 16
    with pytest.raises(ConfigError, match="truths"):
        corner_plot(p, z, truths=[1.0, 2.0])
    with pytest.raises(DataError, match="rows"):
        corner_plot(p, z[:10])


def test_corner_overlay_and_compare() -> None:
    rng = np.random.default_rng(2)
    means = rng.normal(size=(200, 4))
    samples = (means[:, None, :] + 0.1 * rng.normal(size=(200, 10, 4))).reshape(-1, 4)
    fig = corner_overlay(samples, means)
    assert len(fig.axes) == 16
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["posterior samples (N=2000)", "posterior means (N=200)"]
    fig = corner_compare(means, 1.5 * rng.normal(size=(300, 4)), labels=["a", "b", "c", "d"])
    assert len(fig.axes) == 16
    assert fig.axes[-1].get_xlabel() == "d"
    with pytest.raises(DataError, match="dimension"):
        corner_compare(means, means[:, :3])
    with pytest.raises(ConfigError, match="labels"):
        corner_overlay(samples, means, labels=["a"])


# -- rotation-curve figures -----------------------------------------------------------------


def test_interpolate_and_traverse_latents() -> None:
    a, b = np.array([0.0, 1.0, -2.0]), np.array([4.0, 1.0, 2.0])
    path = interpolate_latents(a, b, steps=5)
    assert path.shape == (5, 3)
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)
    np.testing.assert_allclose(path[2], (a + b) / 2)
    sweeps = traverse_latents(a, span=2.0, steps=5, scale=np.array([1.0, 0.5, 2.0]))
    assert sweeps.shape == (3, 5, 3)
    for j in range(3):
        others = np.delete(sweeps[j], j, axis=1)
        np.testing.assert_array_equal(others, np.delete(np.tile(a, (5, 1)), j, axis=1))
    np.testing.assert_allclose(sweeps[2, :, 2], -2.0 + np.linspace(-4.0, 4.0, 5))
    with pytest.raises(ConfigError, match="steps"):
        interpolate_latents(a, b, steps=1)
    with pytest.raises(DataError, match="dimension"):
        interpolate_latents(a, b[:2], steps=3)


def test_curve_figures(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(20, 4))
    v = _decode_curves(z)
    fig = reconstruction_figure(RADII, v, v * 1.01, n=5, ncols=3)
    assert len(fig.axes) == 10
    residual = fig.axes[1].get_lines()[0].get_ydata()
    np.testing.assert_allclose(residual, 1.0, rtol=1e-9)  # +1 % everywhere
    assert "kpc" in fig.axes[1].get_xlabel() and "km" in fig.axes[0].get_ylabel()
    fig = sampled_curves_figure(RADII, v, n_max=7, reference=_decode_curves(rng.normal(size=(50, 4))))
    assert len(fig.axes) == 1
    assert sum(1 for line in fig.axes[0].get_lines() if line.get_color() == "tab:orange") == 7
    fig = interpolation_figure(z[0], z[1], _decode_curves, RADII, steps=6, curve_start=v[0], curve_end=v[1])
    assert len(fig.axes) == 2  # plot + colour bar
    drawn = [line.get_ydata() for line in fig.axes[0].get_lines()]
    np.testing.assert_allclose(drawn[0], v[0], rtol=1e-12)  # t = 0 decodes the start point
    np.testing.assert_allclose(drawn[5], v[1], rtol=1e-12)
    fig = traversal_figure(np.zeros(4), _decode_curves, RADII, steps=5, ncols=3)
    assert len(fig.axes) == 8  # 4 panels + 4 colour bars
    save_figure(fig, tmp_path / "traversal.pdf")


def test_curve_figures_bad_input() -> None:
    v = _decode_curves(np.zeros((3, 4)))
    with pytest.raises(DataError, match="shape"):
        reconstruction_figure(RADII, v, v[:, :-1])
    with pytest.raises(DataError, match="decoded curves"):
        interpolation_figure(np.zeros(4), np.ones(4), lambda z: np.ones((len(z), 7)), RADII)
    with pytest.raises(DataError, match="NaN"):
        sampled_curves_figure(RADII, np.full_like(v, np.nan))
    with pytest.raises(ConfigError, match="positive"):
        traversal_figure(np.zeros(4), _decode_curves, RADII, span=-1.0)


# -- image figures --------------------------------------------------------------------------


def test_image_mosaic_places_tiles() -> None:
    imgs = np.arange(5, dtype=float)[:, None, None] * np.ones((5, 2, 3))
    m = image_mosaic(imgs, ncols=2, pad=1, fill=-1.0)
    assert m.shape == (3 * 2 + 2, 2 * 3 + 1)
    assert (m[0:2, 0:3] == 0).all() and (m[0:2, 4:7] == 1).all()
    assert (m[6:8, 0:3] == 4).all() and (m[6:8, 4:7] == -1).all()
    assert (m[2, :] == -1).all()


def test_image_figures(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 10, 300)
    z = rng.normal(size=(300, 2)) * 0.3 + np.column_stack([np.cos(labels), np.sin(labels)])
    fig = latent_map_figure(z, labels)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].get_legend().get_texts()) == len(np.unique(labels))
    fig = decoder_grid_figure(_decode_images, n=6)
    assert len(fig.axes) == 1
    assert fig.axes[0].get_images()[0].get_array().shape == (6 * 28, 6 * 28)
    fig = image_grid_figure(_decode_images(rng.normal(size=(12, 2))), ncols=5)
    assert len(fig.axes) == 1
    fig = image_interpolation_figure(np.array([-1.0, 0.0]), np.array([1.0, 0.0]), _decode_images, steps=4)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0.00", "0.33", "0.67", "1.00"]
    x = _decode_images(z[:6])
    fig = image_reconstructions_figure(x, x.reshape(6, 28, 28), n=4)
    assert [ax.get_ylabel() for ax in fig.axes] == ["input", "reconstructed"]
    save_figure(fig, tmp_path / "recon.png")


def test_tsne_figure_is_seeded() -> None:
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(3), 40)
    z = rng.normal(size=(120, 6)) + 4 * labels[:, None]
    a = tsne_figure(z, labels, seed=1, perplexity=10)
    b = tsne_figure(z, labels, seed=1, perplexity=10)
    off_a = np.concatenate([c.get_offsets() for c in a.axes[0].collections])
    off_b = np.concatenate([c.get_offsets() for c in b.axes[0].collections])
    np.testing.assert_array_equal(off_a, off_b)
    assert len(a.axes) == 1
    with pytest.raises(ConfigError, match="perplexity"):
        tsne_figure(z[:20], seed=0, perplexity=30)


def test_image_figures_bad_input() -> None:
    with pytest.raises(DataError, match="2-D latent"):
        latent_map_figure(np.zeros((10, 3)))
    with pytest.raises(DataError, match="labels"):
        latent_map_figure(np.zeros((10, 2)), np.zeros(3))
    with pytest.raises(DataError, match="pixel"):
        image_grid_figure(np.zeros((4, 100)))
    with pytest.raises(DataError, match="images for"):
        decoder_grid_figure(lambda z: _decode_images(z[:3]), n=3)
    with pytest.raises(ConfigError, match="extent"):
        decoder_grid_figure(_decode_images, extent=(1.0, -1.0))
