"""Figures for image models (MNIST): latent maps, decoder grids, samples, interpolations, t-SNE.

Images are ``(N, h, w)`` arrays or flattened ``(N, h w)`` rows (pixel values,
usually in [0, 1]); ``decode`` callables map latent vectors ``(M, d)`` to
images in either layout, so nothing here imports torch.  Many images are
drawn as one mosaic per axes (fast, and small files); every function returns a
:class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rotcurve.analysis.curve_plots import interpolate_latents
from rotcurve.analysis.figures import new_figure
from rotcurve.errors import ConfigError, DataError
from rotcurve.validation import is_int

__all__ = [
    "ImageDecoder",
    "image_mosaic",
    "latent_map_figure",
    "decoder_grid_figure",
    "image_grid_figure",
    "image_interpolation_figure",
    "image_reconstructions_figure",
    "tsne_figure",
]

#: ``decode(z)``: latent vectors (M, d) to images (M, h, w) or (M, h w).
ImageDecoder = Callable[[np.ndarray], np.ndarray]


def _images(x: Any, image_shape: tuple[int, int], name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    h, w = image_shape
    if a.ndim == 2 and a.shape[1] == h * w:
        a = a.reshape(-1, h, w)
    if a.ndim != 3 or a.shape[1:] != (h, w) or a.shape[0] < 1:
        raise DataError(
            f"{name} must be (N, {h}, {w}) or (N, {h * w}) pixel arrays, got shape {np.shape(x)}"
        )
    if not np.all(np.isfinite(a)):
        raise DataError(f"{name} hold NaN or infinite pixel values")
    return a


def _value_range(a: np.ndarray) -> tuple[float, float]:
    lo, hi = float(a.min()), float(a.max())
    if lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def image_mosaic(images: np.ndarray, *, ncols: int, pad: int = 1, fill: float | None = None) -> np.ndarray:
    """Tile images into one array, row by row.

    Parameters
    ----------
    images : (N, h, w) array_like
    ncols : int, keyword-only
        Images per row (>= 1).
    pad : int, keyword-only
        Pixels between tiles.
    fill : float, optional, keyword-only
        Value of the padding and of empty tiles (default: the images' minimum).

    Returns
    -------
    numpy.ndarray
        Shape ``(rows h + (rows - 1) pad, ncols w + (ncols - 1) pad)``, with
        ``rows = ceil(N / ncols)``.
    """
    a = np.asarray(images, dtype=np.float64)
    if a.ndim != 3 or a.shape[0] < 1:
        raise DataError(f"images must be a (N, h, w) array, got shape {a.shape}")
    if not is_int(ncols) or ncols < 1 or pad < 0:
        raise ConfigError(f"ncols must be >= 1 and pad >= 0, got {ncols!r}, {pad!r}")
    n, h, w = a.shape
    cols = min(int(ncols), n)
    rows = -(-n // cols)
    out = np.full((rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad),
                  float(a.min()) if fill is None else float(fill))
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = a[i]
    return out


def _show(
    ax: Any, mosaic: np.ndarray, vrange: tuple[float, float], extent: Sequence[float] | None = None
) -> None:
    ax.imshow(mosaic, cmap="gray_r", vmin=vrange[0], vmax=vrange[1], interpolation="nearest",
              extent=extent, aspect="equal")


def _labelled_scatter(ax: Any, xy: np.ndarray, labels: np.ndarray | None, *, size: float) -> None:
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color="tab:blue", alpha=0.6, linewidths=0, rasterized=True)
        return
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    for k, value in enumerate(np.unique(labels)):
        sel = labels == value
        ax.scatter(xy[sel, 0], xy[sel, 1], s=size, color=cmap(k % 10), alpha=0.7, linewidths=0,
                   label=str(value), rasterized=True)
    ax.legend(title="label", fontsize="small", markerscale=3, loc="center left", bbox_to_anchor=(1.0, 0.5))


def _subset(n: int, n_max: int, seed: int) -> np.ndarray:
    if n <= n_max:
        return np.arange(n)
    return np.sort(np.random.default_rng(np.random.SeedSequence(seed)).choice(n, size=n_max, replace=False))


def _points_and_labels(latents: Any, labels: Any, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    z = np.asarray(latents, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 2 or not np.all(np.isfinite(z)):
        raise DataError(f"{name} must be a finite 2-D array (N, d) with N >= 2, got shape {z.shape}")
    lab = None
    if labels is not None:
        lab = np.asarray(labels)
        if lab.shape != (z.shape[0],):
            raise DataError(f"labels must have shape ({z.shape[0]},), got {lab.shape}")
    return z, lab


def latent_map_figure(
    latents: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    n_max: int = 10000,
    seed: int = 0,
) -> Any:
    """Encoder map: 2-D latent means as points coloured by class (digit).

    Parameters
    ----------
    latents : (N, 2) array_like
        Latent means of a 2-D latent model.
    labels : (N,) array_like, optional
        Class of each point (e.g. the digit).
    n_max : int, keyword-only
        Most points drawn (a seeded random subset beyond).
    seed : int, keyword-only
        Seed of the subset.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, ``z_1`` horizontal and ``z_2`` vertical.
    """
    z, lab = _points_and_labels(latents, labels, "latents")
    if z.shape[1] != 2:
        raise DataError(f"the encoder map needs a 2-D latent space, got {z.shape[1]}-D; use tsne_figure")
    keep = _subset(z.shape[0], int(n_max), seed)
    fig = new_figure(figsize=(6.4, 5.2))
    ax = fig.subplots()
    _labelled_scatter(ax, z[keep], None if lab is None else lab[keep], size=3)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title("encoder means")
    fig.tight_layout()
    return fig


def decoder_grid_figure(
    decode: ImageDecoder,
    *,
    extent: tuple[float, float] = (-3.0, 3.0),
    n: int = 15,
    image_shape: tuple[int, int] = (28, 28),
) -> Any:
    """Decoder manifold: images decoded on a regular grid of a 2-D latent space.

    Parameters
    ----------
    decode : callable
        ``(n^2, 2) -> (n^2, h, w)`` or ``(n^2, h w)``.
    extent : (float, float), keyword-only
        Range of both latent coordinates (the prior's +-3 sigma by default).
    n : int, keyword-only
        Images per side (>= 2).
    image_shape : (int, int), keyword-only

    Returns
    -------
    matplotlib.figure.Figure
        One axes showing the mosaic; ``z_1`` grows to the right and ``z_2``
        upwards, with the axis ticks in latent units.
    """
    lo, hi = float(extent[0]), float(extent[1])
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ConfigError(f"extent must be (low, high) with low < high, got {extent!r}")
    if not is_int(n) or n < 2:
        raise ConfigError(f"n must be an integer >= 2, got {n!r}")
    g = np.linspace(lo, hi, int(n))
    z1, z2 = np.meshgrid(g, g[::-1])  # first mosaic row = highest z2
    z = np.column_stack([z1.ravel(), z2.ravel()])
    imgs = _images(decode(z), image_shape, "decoded images")
    if imgs.shape[0] != z.shape[0]:
        raise DataError(f"decode returned {imgs.shape[0]} images for {z.shape[0]} latent vectors")
    fig = new_figure(figsize=(7.0, 7.0))
    ax = fig.subplots()
    half = (hi - lo) / (2 * (n - 1))
    _show(ax, image_mosaic(imgs, ncols=int(n), pad=0), _value_range(imgs),
          extent=(lo - half, hi + half, lo - half, hi + half))
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title("decoded latent grid")
    return fig


def image_grid_figure(
    images: np.ndarray,
    *,
    ncols: int = 10,
    image_shape: tuple[int, int] = (28, 28),
    title: str | None = None,
) -> Any:
    """A grid of images, e.g. samples decoded from random latent vectors.

    Parameters
    ----------
    images : (N, h, w) or (N, h w) array_like
    ncols : int, keyword-only
        Images per row.
    image_shape : (int, int), keyword-only
    title : str, optional, keyword-only

    Returns
    -------
    matplotlib.figure.Figure
        One axes (the mosaic), ticks hidden.
    """
    imgs = _images(images, image_shape, "images")
    cols = min(int(ncols), imgs.shape[0])
    rows = -(-imgs.shape[0] // cols)
    fig = new_figure(figsize=(0.7 * cols + 0.4, 0.7 * rows + 0.6))
    ax = fig.subplots()
    _show(ax, image_mosaic(imgs, ncols=cols, pad=2), _value_range(imgs))
    ax.set_axis_off()
    ax.set_title(title if title is not None else f"{imgs.shape[0]} images")
    return fig


def image_interpolation_figure(
    z_start: np.ndarray,
    z_end: np.ndarray,
    decode: ImageDecoder,
    *,
    steps: int = 10,
    image_shape: tuple[int, int] = (28, 28),
) -> Any:
    """A strip of images decoded along the line between two latent vectors.

    Parameters
    ----------
    z_start, z_end : (d,) array_like
        E.g. the latent means of two digits.
    decode : callable
    steps : int, keyword-only
        Images, both ends included (>= 2).
    image_shape : (int, int), keyword-only

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the ticks under each image give the weight ``t``.
    """
    z = interpolate_latents(z_start, z_end, steps=steps)
    imgs = _images(decode(z), image_shape, "decoded images")
    if imgs.shape[0] != z.shape[0]:
        raise DataError(f"decode returned {imgs.shape[0]} images for {z.shape[0]} latent vectors")
    h, w = image_shape
    pad = 2
    fig = new_figure(figsize=(0.9 * steps + 0.5, 1.8))
    ax = fig.subplots()
    _show(ax, image_mosaic(imgs, ncols=z.shape[0], pad=pad), _value_range(imgs))
    centres = np.arange(z.shape[0]) * (w + pad) + (w - 1) / 2
    ax.set_xticks(centres)
    ax.set_xticklabels([f"{t:.2f}" for t in np.linspace(0, 1, z.shape[0])], fontsize="small")
    ax.set_yticks([])
    ax.set_xlabel("interpolation weight $t$")
    return fig


def image_reconstructions_figure(
    images: np.ndarray,
    decoded: np.ndarray,
    *,
    n: int = 10,
    image_shape: tuple[int, int] = (28, 28),
) -> Any:
    """Inputs (top row) above their reconstructions (bottom row).

    Parameters
    ----------
    images, decoded : (N, h, w) or (N, h w) array_like
    n : int, keyword-only
        Pairs shown (the first ``n``).
    image_shape : (int, int), keyword-only

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: inputs and reconstructions.
    """
    a = _images(images, image_shape, "images")
    b = _images(decoded, image_shape, "reconstructions")
    if a.shape != b.shape:
        raise DataError(f"images and reconstructions differ in shape: {a.shape} vs {b.shape}")
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n!r}")
    k = min(int(n), a.shape[0])
    vrange = _value_range(np.concatenate([a[:k], b[:k]]))
    fig = new_figure(figsize=(0.8 * k + 1.2, 2.2))
    axes = fig.subplots(2, 1)
    for ax, imgs, name in zip(axes, (a[:k], b[:k]), ("input", "reconstructed")):
        _show(ax, image_mosaic(imgs, ncols=k, pad=2), vrange)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(name, fontsize="small")
    return fig


def tsne_figure(
    latents: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    seed: int,
    n_max: int = 2000,
    perplexity: float = 30.0,
) -> Any:
    """t-SNE embedding of the latent means (any dimension), coloured by class.

    Parameters
    ----------
    latents : (N, d) array_like
        Latent means.
    labels : (N,) array_like, optional
        Class of each point.
    seed : int, keyword-only
        Seeds the subset and the embedding.
    n_max : int, keyword-only
        Points embedded (a seeded random subset; t-SNE costs O(N log N) and
        takes seconds per thousand points).
    perplexity : float, keyword-only
        t-SNE perplexity, below the number of points.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with the 2-D embedding (arbitrary units).
    """
    from sklearn.manifold import TSNE

    z, lab = _points_and_labels(latents, labels, "latents")
    sub_seq, tsne_seq = np.random.SeedSequence(seed).spawn(2)
    keep = _subset(z.shape[0], int(n_max), int(sub_seq.generate_state(1)[0]))
    if not 0 < perplexity < keep.size:
        raise ConfigError(
            f"perplexity must be between 0 and the number of points ({keep.size}), got {perplexity!r}"
        )
    emb = TSNE(
        n_components=2, perplexity=float(perplexity), init="pca", learning_rate="auto",
        random_state=int(tsne_seq.generate_state(1)[0] >> 1),
    ).fit_transform(z[keep])
    fig = new_figure(figsize=(6.4, 5.2))
    ax = fig.subplots()
    _labelled_scatter(ax, emb, None if lab is None else lab[keep], size=4)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_title(f"t-SNE of {keep.size} latent means (d = {z.shape[1]})")
    fig.tight_layout()
    return fig
