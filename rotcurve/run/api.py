"""A trained run for scripts: encode, decode, sample and score in physical units.

>>> from rotcurve.run import load_run
>>> run = load_run("runs/vae4")                       # doctest: +SKIP
>>> enc = run.encode(v_kms)          # v_kms: (N, n_r) km/s on run.radii
>>> enc.mean.shape, enc.covariance.shape              # (N, d), (N, d, d)
>>> v_hat = run.reconstruct(v_kms)                    # (N, n_r) km/s
>>> new = run.sample(1000, seed=1)                    # (1000, n_r) km/s
>>> run.score("curves.h5")                            # held-out metrics (dict)
>>> enc = run.encode("curves.h5")                     # a curve file works too
>>> run.encode_file("curves.h5", "lat.h5", split="test")  # doctest: +SKIP
>>> read_latents("lat.h5")            # DataFrame: row, z1..zd, z1_std.., Md, Rd, Mh, c

Everything goes in and comes out as numpy arrays in the file format's units:
circular velocities in km/s on the run's radius grid (kpc), or, for a model
trained on MNIST, images with pixels in [0, 1].  The model's own
(normalised) space stays inside.  :meth:`Run.decode` refuses latent points
it cannot decode meaningfully (non-finite values; for a VAE any
``|z_j| >`` :data:`LATENT_LIMIT` = 10 prior standard deviations) and, like
every method returning curves, decoded velocities that are not finite,
not > 0 or not below the speed of light: a one-line
:class:`~rotcurve.errors.DataError` saying how many rows, never a silent
``inf`` or 0 km/s.

Metrics of :meth:`Run.score`
----------------------------
``neg_elbo``
    Mean over examples of the negative evidence lower bound
    ``-log p(x | z) + KL(q(z | x) || N(0, I))`` with one posterior draw
    ``z`` (``beta = 1`` whatever the training used), in nats per example, in
    the model's data space (normalised ``log10 v`` for curves, pixels for
    MNIST).  ``recon`` and ``kl`` are its two parts.
``median_frac_error``, ``p95_frac_error``, ``mean_frac_error``
    Curves only: quantiles and mean over every (curve, radius) point of
    ``|v_hat - v| / v``, where ``v_hat`` decodes the posterior *mean*.
``rms_kms``
    Curves only: ``sqrt(mean (v_hat - v)^2)`` over every point, km/s.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rotcurve.errors import ConfigError, DataError
from rotcurve.units import to_value

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "Run",
    "Encoded",
    "load_run",
    "SAMPLE_SOURCES",
    "SampleStreams",
    "LatentAggregates",
    "CHECKPOINT_CHOICES",
    "LATENT_FORMAT",
    "IMAGES_FORMAT",
    "AGGREGATE_FORMAT",
    "AGGREGATE_MAX_FIT",
    "AGGREGATE_MAX_VAL",
    "LATENT_LIMIT",
    "SPEED_OF_LIGHT_KMS",
    "read_latents",
]

#: ``format`` attribute of the files :meth:`Run.encode_file` writes.
LATENT_FORMAT: str = "rotcurve-latents"
#: ``format`` attribute of the image files :meth:`Run.sample_file` writes for MNIST runs.
IMAGES_FORMAT: str = "rotcurve-images"

#: Which checkpoint of a run to load.
CHECKPOINT_CHOICES: tuple[str, ...] = ("best", "last")

#: ``format`` of the JSON file caching a run's latent aggregates (``aggregate-best.json``).
AGGREGATE_FORMAT: str = "rotcurve-aggregates"
#: Most training latents an aggregate is fitted to (a seeded subsample beyond).
AGGREGATE_MAX_FIT: int = 20000
#: Most validation latents the aggregates are compared on.
AGGREGATE_MAX_VAL: int = 5000
_AGGREGATE_VERSION = 1

#: Largest ``|z_j|`` :meth:`Run.decode` accepts from a VAE: ten standard
#: deviations of its ``N(0, I)`` prior (a prior draw exceeds it with probability
#: 1.5e-23 per coordinate; the decoder has never seen such points).
LATENT_LIMIT: float = 10.0
#: Speed of light in km/s: a decoded circular velocity must stay below it.
SPEED_OF_LIGHT_KMS: float = 299792.458

_SCORE_STREAM = 0x5C0E
_SAMPLE_STREAM = 0x5A3B
_AGGREGATE_STREAM = 0xA667
_POSTERIOR_STREAM = 0x9057


@dataclasses.dataclass
class Encoded:
    """Posterior ``q(z | x)`` of each example.

    Attributes
    ----------
    mean : ndarray, shape (N, d)
        Posterior means (float64).
    covariance : ndarray, shape (N, d, d)
        Posterior covariances (float64; zero for a plain autoencoder).
    """

    mean: np.ndarray
    covariance: np.ndarray

    def __len__(self) -> int:
        return int(self.mean.shape[0])

    def sample(self, k: int, *, seed: int = 0) -> np.ndarray:
        """Draws from each posterior ``N(mean_i, covariance_i)``.

        Parameters
        ----------
        k : int
            Draws per example (>= 1).
        seed : int, keyword-only
            The same seed gives the same draws.

        Returns
        -------
        ndarray, shape (N, k, d)
            Latent draws (float64).  A plain autoencoder (zero covariance)
            gives ``k`` copies of each mean.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"the number of draws per example must be an integer >= 1, got {k!r}")
        n, d = self.mean.shape
        rng = np.random.default_rng(np.random.SeedSequence(_check_seed(seed), spawn_key=(_POSTERIOR_STREAM,)))
        # a symmetric square root that also works for singular (zero) covariances
        w, vecs = np.linalg.eigh(self.covariance)
        root = vecs * np.sqrt(np.clip(w, 0.0, None))[:, None, :]
        eps = rng.standard_normal((n, int(k), d))
        return self.mean[:, None, :] + np.einsum("nij,nkj->nki", root, eps)


@dataclasses.dataclass
class SampleStreams:
    """The random streams a sample source draws from (both derive from one seed).

    Attributes
    ----------
    torch : torch.Generator
        On the model's device (the prior).
    numpy : numpy.random.Generator
        For the fitted aggregates.
    """

    torch: Any
    numpy: np.random.Generator


def _prior_latents(run: Run, n: int, streams: SampleStreams) -> torch.Tensor:
    """``n`` draws from the model's prior (N(0, I), or uniform on the sphere)."""
    return run.model._prior_sample(n, streams.torch)


def _aggregate_source(kind: str) -> Callable[[Run, int, SampleStreams], Any]:
    def draw(run: Run, n: int, streams: SampleStreams) -> Any:
        import torch

        z = run.aggregate(kind).sample(n, seed=streams.numpy)
        return torch.as_tensor(z, dtype=torch.float32, device=run.device)

    draw.__doc__ = f"``n`` draws from the run's fitted {kind!r} latent aggregate."
    return draw


#: Where :meth:`Run.sample` takes latent points from: ``fn(run, n, streams)``
#: returns ``(n, d)`` latents on the model's device.  ``"prior"`` is the
#: model's prior ``N(0, I)``; ``"gaussian"`` and ``"gmm"`` are a
#: full-covariance Gaussian and a Gaussian mixture (components by BIC) fitted
#: to the posterior means of the training split (:meth:`Run.aggregates`);
#: ``"aggregate"`` is whichever of the two has the higher mean log density on
#: the validation split's latent means.
SAMPLE_SOURCES: dict[str, Callable[..., Any]] = {
    "prior": _prior_latents,
    "aggregate": _aggregate_source("aggregate"),
    "gaussian": _aggregate_source("gaussian"),
    "gmm": _aggregate_source("gmm"),
}


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


@dataclasses.dataclass
class LatentAggregates:
    """The latent samplers fitted to a run's training latents, and which one is best.

    Attributes
    ----------
    models : dict of str to LatentAggregate
        ``"prior"`` (N(0, I)), ``"gaussian"`` and ``"gmm"``.
    choice : str
        ``"gaussian"`` or ``"gmm"``: the higher mean log density on the
        validation latents (what ``source="aggregate"`` samples).
    val_log_density : dict of str to float
        Mean natural-log density of the validation latent means under each model.
    info : dict
        The cached record: checkpoint, its SHA-256, data, fit seed, counts.
    path : Path or None
        The JSON cache file (None if it could not be written).
    """

    models: dict[str, Any]
    choice: str
    val_log_density: dict[str, float]
    info: dict[str, Any]
    path: Path | None

    def get(self, kind: str) -> Any:
        """The aggregate of ``kind`` (``"aggregate"`` means :attr:`choice`)."""
        name = self.choice if kind == "aggregate" else kind
        if name not in self.models:
            raise ConfigError(
                f"unknown latent aggregate {kind!r}; choose one of: aggregate, {', '.join(self.models)}"
            )
        return self.models[name]


def _torch_seed(seed: int, stream: int) -> int:
    ss = np.random.SeedSequence(_check_seed(seed), spawn_key=(stream,))
    return int(ss.generate_state(1, np.uint64)[0])


def _check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


class Run:
    """A trained model with its normalisation, ready for physical-unit data.

    Use :func:`load_run`.

    Attributes
    ----------
    path : Path
        The run directory.
    checkpoint : Path
        The checkpoint that was loaded.
    model : LatentModel
        The torch model (evaluation mode).
    model_config : ModelConfig
    train_config : TrainConfig
    normaliser : CurveNormaliser or IdentityNormaliser
    kind : str
        ``"curves"`` or ``"mnist"``.
    radii : ndarray, shape (n_r,) or None
        The radius grid in kpc (None for MNIST).
    data : dict
        Description of the training data (spec, seed, fractions, sizes...).
    epoch : int
        Epochs the loaded weights were trained for.
    device : torch.device
    """

    def __init__(self, path: Path, checkpoint: Path, model: Any, state: Any, device: Any) -> None:
        self.path = Path(path)
        self.checkpoint = Path(checkpoint)
        self.model = model
        self.state = state
        self.model_config = state.model_config
        self.train_config = state.train_config
        self.normaliser = state.normaliser
        self.kind = state.kind
        self.data = dict(state.data)
        radii = self.data.get("radii")
        self.radii = np.asarray(radii, dtype=np.float64) if radii is not None else None
        shape = self.data.get("image_shape")
        self.image_shape = tuple(int(s) for s in shape) if shape else None
        self.epoch = state.epoch
        self.device = device
        self._aggregates: LatentAggregates | None = None

    def __repr__(self) -> str:
        c = self.model_config
        return (
            f"<rotcurve Run {self.path} ({self.checkpoint.name}, epoch {self.epoch}): {c.model} "
            f"d={c.latent_dim} posterior={c.posterior} on {self.kind}>"
        )

    @property
    def latent_dim(self) -> int:
        """Latent dimension ``d``."""
        return int(self.model_config.latent_dim)

    # ------------------------------------------------------------------ checks
    def check_radii(self, radii: Any, *, source: str = "") -> None:
        """Raise :class:`DataError` (naming both grids) unless ``radii`` is the run's grid.

        Parameters
        ----------
        radii : array_like, shape (n_r,)
            Radii in kpc of the data to be used.
        source : str, keyword-only
            Name of the data (a file) for the message.
        """
        self.normaliser.check_compatible(to_value(radii, "kpc", "radii"), source=source)

    def _read_curve_file(self, path: str | os.PathLike[str]) -> np.ndarray:
        """Every curve (km/s, float64) of a rotcurve file on the run's radius grid."""
        from rotcurve.io import open_dataset

        spec = os.fspath(path)
        if spec.startswith("mnist:"):
            raise ConfigError(
                f"{spec}: give MNIST images as an array (rotcurve.datasets.load_mnist), or write the "
                "posteriors of a split with Run.encode_file('mnist:DIR', out, split=...)"
            )
        if self.kind == "mnist":
            raise DataError(f"{spec}: a curve file, but the run was trained on MNIST images; give images")
        with open_dataset(spec) as ds:
            self.check_radii(ds.radii, source=spec)
            parts = [np.asarray(block["v_circ"], dtype=np.float64) for _, _, block in ds.iter_blocks(65536)]
            n_r = len(ds.radii)
        return np.concatenate(parts) if parts else np.zeros((0, n_r))

    def _as_model_input(self, data: Any) -> np.ndarray:
        """Data in physical units -> normalised float32 ``(N, input_dim)``."""
        if isinstance(data, (str, os.PathLike)):
            data = self._read_curve_file(data)
        arr = np.asarray(data if self.kind == "mnist" else to_value(data, "km/s", "curves"))
        dim = self.model_config.input_dim
        if self.kind == "mnist":
            if arr.dtype == np.uint8:
                arr = arr.astype(np.float32) / 255.0
            arr = np.asarray(arr, dtype=np.float32)
            if arr.ndim >= 2 and int(np.prod(arr.shape[1:])) == dim:
                arr = arr.reshape(len(arr), dim)
            else:
                raise DataError(
                    f"images of shape {arr.shape} do not fit the model's {dim} pixels per image"
                )
            if arr.size and not (np.isfinite(arr).all() and arr.min() >= 0.0 and arr.max() <= 1.0):
                raise DataError("image pixels must be finite and in [0, 1] (or uint8 0..255)")
            return arr
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != dim:
            raise DataError(
                f"curves of shape {arr.shape} do not fit the model's {dim} radii "
                f"({self.radii[0]:g} to {self.radii[-1]:g} kpc); give (N, {dim}) velocities in km/s"
            )
        return np.asarray(self.normaliser.transform(arr.astype(np.float64)), dtype=np.float32)

    def _to_physical(self, x: np.ndarray, *, what: str = "decoded") -> np.ndarray:
        """Model data space -> km/s (float64), or images (float32 in [0, 1]).

        Raises :class:`DataError` (how many rows, and the limit) for curves
        whose velocities are not finite, not > 0 (an underflow to 0 km/s) or
        not below the speed of light, and for images that are not finite:
        never a silent ``inf`` or 0.
        """
        n = len(x)
        if self.kind == "mnist":
            bad = ~np.isfinite(x).all(axis=1)
            if bad.any():
                raise DataError(
                    f"{int(bad.sum())} of {n} {what} images are not finite (NaN or infinite pixels); "
                    "the model's output is unusable for these latent points"
                )
            out = np.clip(x.astype(np.float32), 0.0, 1.0)
            return out.reshape(n, *self.image_shape) if self.image_shape else out
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            v = np.asarray(self.normaliser.inverse(x.astype(np.float64)), dtype=np.float64)
            bad = ~((v > 0.0) & (v < SPEED_OF_LIGHT_KMS)).all(axis=1)  # NaN fails both
        if bad.any():
            rows = v[bad]
            span = (
                f"here {np.nanmin(rows):.3g} to {np.nanmax(rows):.3g} km/s"
                if not np.isnan(rows).all()
                else "here NaN"
            )
            raise DataError(
                f"{int(bad.sum())} of {n} {what} curves leave the physical range (every velocity must "
                f"be finite, > 0 and below the speed of light, {SPEED_OF_LIGHT_KMS:.0f} km/s; {span}); "
                "the latent points are far from where the model was trained"
            )
        return v

    def _chunks(self, x: np.ndarray, batch_size: int) -> Iterator[torch.Tensor]:
        import torch

        for i in range(0, len(x), batch_size):
            yield torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size])).to(self.device)

    # --------------------------------------------------------------- the API
    def encode(self, data: Any, *, batch_size: int = 8192) -> Encoded:
        """Posterior means and covariances of curves (or images).

        Parameters
        ----------
        data : array_like or path
            A rotcurve curve file (str or os.PathLike; every curve, which must
            be on :attr:`radii`); ``(N, n_r)`` circular velocities in km/s on
            :attr:`radii` (finite, > 0; an astropy Quantity of any velocity
            unit is converted); or ``(N, 28, 28)`` / ``(N, 784)`` images in
            [0, 1] (uint8 0..255 accepted) for an MNIST run.
        batch_size : int, keyword-only
            Examples per forward pass.

        Returns
        -------
        Encoded
            ``mean (N, d)`` and ``covariance (N, d, d)``, float64.

        Raises
        ------
        DataError
            Wrong shape, velocities that are not finite and positive, a file
            on another radius grid (naming both) or not a curve file.
        """
        import torch

        batch_size = _check_batch_size(batch_size)
        x = self._as_model_input(data)
        d = self.latent_dim
        means, covs = [np.zeros((0, d))], [np.zeros((0, d, d))]
        with torch.no_grad():
            for xb in self._chunks(x, batch_size):
                post = self.model.encode(xb)
                means.append(post.mean.double().cpu().numpy())
                covs.append(post.covariance.double().cpu().numpy())
        return Encoded(mean=np.concatenate(means), covariance=np.concatenate(covs))

    def decode(self, z: Any, *, batch_size: int = 8192) -> np.ndarray:
        """Decode latent points to curves in km/s (or images).

        Which latent points are decoded (the rest raise, never a silent
        ``inf`` or 0 km/s):

        * every value must be finite;
        * for a VAE, every coordinate must satisfy ``|z_j| <=``
          :data:`LATENT_LIMIT` (10, in standard deviations of the ``N(0, I)``
          prior): beyond it the decoder extrapolates into space it was never
          trained on (a plain autoencoder has no prior, so no such limit);
        * every decoded velocity must be finite, > 0 and below the speed of
          light (:data:`SPEED_OF_LIGHT_KMS`), so an overflow (``inf``) or an
          underflow (0 km/s) is refused; decoded images must be finite.

        Parameters
        ----------
        z : array_like, shape (N, d)
            Latent points (dimensionless).
        batch_size : int, keyword-only
            Points per forward pass.

        Returns
        -------
        ndarray
            ``(N, n_r)`` float64 km/s on :attr:`radii`, or ``(N, 28, 28)``
            float32 images in [0, 1].

        Raises
        ------
        DataError
            A wrong shape, or rows breaking the rules above; the message says
            how many rows and the limit.
        """
        import torch

        batch_size = _check_batch_size(batch_size)
        z = np.asarray(to_value(z, "1", "z"), dtype=np.float64)
        if z.ndim == 1 and self.latent_dim == 1:
            z = z[:, None]
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise DataError(
                f"latent points z of shape {z.shape} do not fit d = {self.latent_dim}; "
                f"give (N, {self.latent_dim})"
            )
        n = len(z)
        bad = ~np.isfinite(z).all(axis=1)
        if bad.any():
            raise DataError(f"{int(bad.sum())} of {n} latent points z hold NaN or infinite values; give finite z")
        if self.model_config.model == "vae" and n:
            far = np.abs(z).max(axis=1) > LATENT_LIMIT
            if far.any():
                raise DataError(
                    f"{int(far.sum())} of {n} latent points z have a coordinate beyond |z_j| = "
                    f"{LATENT_LIMIT:g} (standard deviations of the model's N(0, I) prior; the largest here "
                    f"is {np.abs(z).max():.3g}); the decoder was never trained there: give z within the limit"
                )
        z32 = z.astype(np.float32)
        outs = [np.zeros((0, self.model_config.input_dim), dtype=np.float32)]
        with torch.no_grad():
            for zb in self._chunks(z32, batch_size):
                outs.append(self.model.decode(zb).float().cpu().numpy())
        return self._to_physical(np.concatenate(outs))

    def reconstruct(self, data: Any, *, batch_size: int = 8192) -> np.ndarray:
        """Decode the posterior mean of each example: the model's best reconstruction.

        Parameters
        ----------
        data : array_like or path
            As for :meth:`encode` (arrays, or a curve file).
        batch_size : int, keyword-only
            Examples per forward pass.

        Returns
        -------
        ndarray
            Same shape and units as :meth:`decode` returns.
        """
        import torch

        batch_size = _check_batch_size(batch_size)
        x = self._as_model_input(data)
        outs = [np.zeros((0, self.model_config.input_dim), dtype=np.float32)]
        with torch.no_grad():
            for xb in self._chunks(x, batch_size):
                outs.append(self.model.reconstruct(xb).float().cpu().numpy())
        return self._to_physical(np.concatenate(outs), what="reconstructed")

    def sample(
        self, n: int, *, seed: int = 0, source: str = "prior", batch_size: int = 8192
    ) -> np.ndarray:
        """New curves (or images): decoded latent draws.

        Parameters
        ----------
        n : int
            Number of samples (>= 0).
        seed : int, keyword-only
            The same seed gives the same samples.
        source : str, keyword-only
            Name in :data:`SAMPLE_SOURCES`: ``"prior"`` draws ``z ~ N(0, I)``;
            ``"aggregate"``, ``"gaussian"`` and ``"gmm"`` draw from models of
            the training latents (:meth:`aggregates`; fitted on first use and
            cached in the run folder).
        batch_size : int, keyword-only
            Points per forward pass.

        Returns
        -------
        ndarray
            ``(n, n_r)`` km/s, or ``(n, 28, 28)`` images in [0, 1].
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ConfigError(f"the number of samples must be an integer >= 0, got {n!r}")
        parts = list(_iter_samples(self, int(n), seed=seed, source=source, batch_size=batch_size))
        if parts:
            return np.concatenate(parts)
        return self._to_physical(np.zeros((0, self.model_config.input_dim), dtype=np.float32))

    def sample_latents(
        self, n: int, *, seed: int = 0, source: str = "prior", batch_size: int = 8192
    ) -> np.ndarray:
        """The latent points :meth:`sample` decodes (same ``n``, ``seed``, ``source``, ``batch_size``).

        Returns
        -------
        ndarray, shape (n, d)
            float64 latent points; ``decode(sample_latents(...))`` equals
            ``sample(...)``.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ConfigError(f"the number of samples must be an integer >= 0, got {n!r}")
        parts = [
            z.double().cpu().numpy()
            for z in _iter_latents(self, int(n), seed=seed, source=source, batch_size=batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self.latent_dim))

    # ------------------------------------------------------------- aggregates
    def aggregates(self, *, refit: bool = False, fit_seed: int = 0, progress: bool = False) -> LatentAggregates:
        """Latent samplers fitted to the posterior means of the run's training split.

        On first use the run's training data (``data["spec"]``: the curve
        file or MNIST folder it was trained on) is read again, the training
        split (at most :data:`AGGREGATE_MAX_FIT` rows, a seeded subsample
        beyond) and the validation split (at most
        :data:`AGGREGATE_MAX_VAL`) are encoded, a full-covariance Gaussian
        and a Gaussian mixture (1 to 8 components, by BIC) are fitted to the
        training means, and the one with the higher mean log density on the
        validation means becomes :attr:`LatentAggregates.choice`.  The result
        is cached as JSON (plain numbers, written atomically) in
        ``RUN_DIR/aggregate-<checkpoint>.json`` and reused while the
        checkpoint file (SHA-256) and ``fit_seed`` are unchanged.

        Parameters
        ----------
        refit : bool, keyword-only
            Ignore the cache and fit again.
        fit_seed : int, keyword-only
            Seeds the subsamples and the mixture's initialisation.
        progress : bool, keyword-only
            Show a progress bar while encoding.

        Returns
        -------
        LatentAggregates

        Raises
        ------
        DataError
            The training data are gone or have changed since training.
        """
        fit_seed = _check_seed(fit_seed)
        if self._aggregates is not None and not refit and self._aggregates.info.get("fit_seed") == fit_seed:
            return self._aggregates
        self._aggregates = _load_or_fit_aggregates(self, refit=refit, fit_seed=fit_seed, progress=progress)
        return self._aggregates

    def aggregate(self, kind: str = "aggregate") -> Any:
        """One fitted latent sampler: ``"aggregate"`` (the best), ``"gaussian"``, ``"gmm"`` or ``"prior"``.

        See :meth:`aggregates`.  Returns a
        :class:`rotcurve.analysis.aggregate.LatentAggregate` with
        ``sample(n, seed=)``, ``log_density(z)`` and ``to_dict()``.
        """
        return self.aggregates().get(kind)

    # ----------------------------------------------------------------- files
    def encode_file(
        self,
        data: str | os.PathLike[str],
        out: str | os.PathLike[str],
        *,
        split: str | None = None,
        overwrite: bool = False,
        batch_size: int = 8192,
        progress: bool = False,
    ) -> Path:
        """Encode the curves of a file (or an MNIST split) into an HDF5 file, atomically.

        The output holds ``/latent/mean (N, d)`` and ``/latent/covariance
        (N, d, d)`` (float64), ``/rows (N,)`` (each example's row in the
        source), ``/radii`` (kpc) and ``/params`` (the true Md, Rd, Mh, c,
        when the input has them) for curves, ``/labels`` for MNIST, and root
        attributes ``format = "rotcurve-latents"``, ``run``, ``checkpoint``,
        ``epoch``, ``data``, ``split``, ``model_config`` (JSON) and the
        library versions.  Read it back with :func:`read_latents`.

        Parameters
        ----------
        data : path or "mnist:DIR"
            A curve file on the run's radius grid, or MNIST.
        out : path
            The output file.
        split : str, keyword-only
            "train", "val" or "test": that part of the run's own split of
            its training data (same seed and fractions).  Unset: every row of
            a curve file, the test split of MNIST.  A split of a curve file
            other than the run's training file is refused (it has no split).
        overwrite : bool, keyword-only
            Replace an existing ``out``.
        batch_size : int, keyword-only
            Examples per forward pass.
        progress : bool, keyword-only
            Show a progress bar.

        Returns
        -------
        Path
            ``out``.

        Raises
        ------
        ConfigError
            ``split`` given for a curve file that is not the run's training file.
        DataError
            Another radius grid, images for a curve run or the reverse.
        """
        return _encode_file(
            self, os.fspath(data), Path(out), split=split, overwrite=overwrite,
            batch_size=_check_batch_size(batch_size), progress=progress,
        )

    def reconstruct_file(
        self,
        data: str | os.PathLike[str],
        out: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        batch_size: int = 8192,
        progress: bool = False,
    ) -> Path:
        """Reconstruct every curve of a file into a rotcurve file (km/s), atomically.

        The output is in the generator's file format (no components); the
        true parameters and the ``seed``/``prior``/``radii_spec`` attributes
        are copied from the input when present.

        Returns
        -------
        Path
            ``out``.
        """
        return _reconstruct_file(
            self, os.fspath(data), Path(out), overwrite=overwrite,
            batch_size=_check_batch_size(batch_size), progress=progress,
        )

    def sample_file(
        self,
        n: int,
        out: str | os.PathLike[str],
        *,
        seed: int = 0,
        source: str = "prior",
        overwrite: bool = False,
        batch_size: int = 8192,
        progress: bool = False,
    ) -> Path:
        """Write ``n`` new samples to a file, atomically.

        Curves go to a rotcurve file (km/s, no parameters, ``seed`` attribute);
        MNIST images to an HDF5 file with ``/images (n, 28, 28)`` float32 in
        [0, 1] (``format = "rotcurve-images"``).  The same seed (and
        ``batch_size``) gives the same samples as :meth:`sample`.

        Returns
        -------
        Path
            ``out``.
        """
        return _sample_file(
            self, n, Path(out), seed=seed, source=source, overwrite=overwrite,
            batch_size=_check_batch_size(batch_size), progress=progress,
        )

    # ---------------------------------------------------------------- scoring
    def _score_blocks(self, data: Any, split: str) -> tuple[Iterator[np.ndarray], dict[str, Any]]:
        """Blocks of physical-unit data to score, and a description of them."""
        from rotcurve.datasets.splits import Split

        if isinstance(data, (str, os.PathLike)):
            spec = os.fspath(data)
            split = Split.parse(split).value
            if spec.startswith("mnist:"):
                return self._mnist_blocks(spec, split)
            return self._file_blocks(spec, split)
        arr = np.asarray(data if self.kind == "mnist" else to_value(data, "km/s", "curves"))
        if arr.dtype == object or arr.size == 0 and arr.ndim < 2:
            raise DataError("give a data file, mnist:DIR, or an array of curves (N, n_r) in km/s")
        return iter([arr]), {"data": "array", "split": "all", "same_as_training": False}

    def _mnist_blocks(self, spec: str, split: str) -> tuple[Iterator[np.ndarray], dict[str, Any]]:
        from rotcurve.datasets.training import load_training_data

        if self.kind != "mnist":
            raise DataError(f"{spec} holds images but the run was trained on rotation curves; use a curve file")
        data = load_training_data(
            spec, seed=int(self.data["seed"]), fractions=tuple(self.data["fractions"]), device="cpu"
        )
        x = data.split(split).numpy()
        return iter([x]), {"data": spec, "split": split, "same_as_training": True}

    def _file_blocks(self, spec: str, split: str) -> tuple[Iterator[np.ndarray], dict[str, Any]]:
        from rotcurve.datasets.splits import split_indices
        from rotcurve.io import open_dataset
        from rotcurve.training.rundir import data_fingerprint

        if self.kind == "mnist":
            raise DataError(f"{spec} holds rotation curves but the run was trained on MNIST images; use mnist:DIR")
        with open_dataset(spec) as ds:
            self.check_radii(ds.radii, source=spec)
            n = ds.n
        same = data_fingerprint(spec) == self.data.get("fingerprint") and n == int(self.data.get("n", -1))
        if same:
            rows = split_indices(n, int(self.data["seed"]), tuple(self.data["fractions"]))[split]
            info = {"data": spec, "split": split, "same_as_training": True}
        else:
            rows = None
            info = {"data": spec, "split": "all", "same_as_training": False}

        def blocks() -> Iterator[np.ndarray]:
            with open_dataset(spec) as ds:
                for start, stop, block in ds.iter_blocks(65536):
                    v = block["v_circ"]
                    if rows is not None:
                        lo, hi = np.searchsorted(rows, [start, stop])
                        v = v[rows[lo:hi] - start]
                    if len(v):
                        yield v

        return blocks(), info

    def score(
        self,
        data: Any,
        *,
        split: str = "test",
        batch_size: int = 8192,
        seed: int = 0,
        progress: bool = False,
    ) -> dict[str, Any]:
        """Held-out metrics of the run on a data set.

        Parameters
        ----------
        data : path, str or array_like
            The run's training file (then ``split`` of the run's own split
            is scored: same seed and fractions), another curve file on the
            same radius grid (all rows are scored), ``"mnist:DIR"`` (the
            run's split), or an array of curves in km/s (all rows).
        split : {"test", "val", "train"}, keyword-only
            Which split of the training data.
        batch_size : int, keyword-only
            Examples per forward pass.
        seed : int, keyword-only
            Seed of the posterior draws of the ELBO.
        progress : bool, keyword-only
            Show a progress bar.

        Returns
        -------
        dict
            ``n``, ``neg_elbo``, ``recon``, ``kl`` (nats per example); curves
            add ``median_frac_error``, ``p95_frac_error``,
            ``mean_frac_error`` and ``rms_kms`` (see the module docstring);
            and ``data``, ``split``, ``same_as_training``, ``run``,
            ``checkpoint``, ``epoch``.

        Raises
        ------
        DataError
            A file with another radius grid (naming both), a foreign or
            damaged file, images for a curve run or the reverse, an empty set.
        """
        import torch
        from tqdm.auto import tqdm

        batch_size = _check_batch_size(batch_size)
        blocks, info = self._score_blocks(data, split)
        gen = torch.Generator(device=self.device).manual_seed(_torch_seed(seed, _SCORE_STREAM))
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)
        n = 0
        sq_err = 0.0
        frac: list[np.ndarray] = []
        bar = tqdm(desc="score", unit="ex", disable=not progress)
        try:
            for block in blocks:
                x = self._as_model_input(block)
                if self.kind == "curves":
                    v = np.asarray(block, dtype=np.float64).reshape(len(x), -1)
                with torch.no_grad():
                    for i, xb in enumerate(self._chunks(x, batch_size)):
                        out = self.model(xb, generator=gen)
                        parts = torch.stack(
                            (
                                (out.recon_per_example + out.kl_per_example).sum(),
                                out.recon_per_example.sum(),
                                out.kl_per_example.sum(),
                            )
                        )
                        sums += parts.double()
                        if self.kind == "curves":
                            x_hat = self.model.reconstruct(xb).float().cpu().numpy()
                            v_hat = self._to_physical(x_hat, what="reconstructed")
                            vb = v[i * batch_size : i * batch_size + len(xb)]
                            err = v_hat - vb
                            sq_err += float(np.sum(err * err))
                            frac.append((np.abs(err) / vb).astype(np.float32).ravel())
                        n += len(xb)
                        bar.update(len(xb))
        finally:
            bar.close()
        if n == 0:
            raise DataError(f"nothing to score: the {info['split']} set of {info['data']} is empty")
        neg_elbo, recon, kl = (sums / n).tolist()
        result: dict[str, Any] = {
            **info,
            "n": n,
            "neg_elbo": neg_elbo,
            "recon": recon,
            "kl": kl,
        }
        if self.kind == "curves":
            f = np.concatenate(frac)
            result.update(
                median_frac_error=float(np.median(f)),
                p95_frac_error=float(np.quantile(f, 0.95)),
                mean_frac_error=float(np.mean(f, dtype=np.float64)),
                rms_kms=math.sqrt(sq_err / f.size),
            )
        result.update(run=str(self.path), checkpoint=self.checkpoint.name, epoch=self.epoch)
        return result


def _check_out(path: Path, overwrite: bool) -> None:
    from rotcurve.errors import OVERWRITE, OutputExistsError

    if path.is_dir():
        raise DataError(f"{path} is a folder; give a file name for the output")
    if path.exists() and not overwrite:
        raise OutputExistsError.both("{p} exists; pass {o} to replace it", p=path, o=OVERWRITE)
    from rotcurve.io.atomic import check_output

    check_output(path, overwrite=overwrite)  # missing folders are created when writing


def _versions() -> dict[str, str]:
    import h5py
    import torch

    from rotcurve._version import __version__

    return {
        "rotcurve_version": __version__,
        "torch_version": str(torch.__version__),
        "numpy_version": str(np.__version__),
        "h5py_version": str(h5py.__version__),
    }


def _curve_attrs(run: Run, command: str, extra: dict[str, Any]) -> dict[str, Any]:
    """Root attributes of a curve file a run writes (physics of the training file + provenance)."""
    physics = run.data.get("file_attrs") or {}
    attrs: dict[str, Any] = {k: physics[k] for k in ("H0", "Delta") if k in physics}
    attrs.update(
        command=f"rotcurve {command}",
        run=str(run.path.resolve()),
        checkpoint=run.checkpoint.name,
        epoch=int(run.epoch),
        model_config=run.model_config.to_dict(),
        **extra,
    )
    return attrs


def _training_file_rows(run: Run, data: str, n: int, split: str) -> np.ndarray:
    """Sorted rows of ``split`` of the run's own split of its training file ``data``.

    Raises :class:`ConfigError` when ``data`` is not that file (unchanged).
    """
    from rotcurve.datasets.splits import Split, split_indices
    from rotcurve.errors import Option
    from rotcurve.training.rundir import data_fingerprint

    split = Split.parse(split).value
    if data_fingerprint(data) != run.data.get("fingerprint") or n != int(run.data.get("n", -1)):
        raise ConfigError.both(
            "split {s!r} is defined only for the run's training file ({t}) and MNIST; {d} is another "
            "file: {fix} to encode all its rows",
            s=split, t=run.data.get("spec", "?"), d=data, fix=Option("leave split=None", "drop --split"),
        )
    return split_indices(n, int(run.data["seed"]), tuple(run.data["fractions"]))[split]


def _encode_file(
    run: Run, data: str, out: Path, *, split: str | None, overwrite: bool, batch_size: int, progress: bool
) -> Path:
    from tqdm.auto import tqdm

    from rotcurve.io.h5write import atomic_h5  # no crash, one line, nothing left on a full disk; locked
    from rotcurve.units import PARAM_UNITS

    _check_out(out, overwrite)
    d = run.latent_dim
    labels = params = radii = None
    if data.startswith("mnist:"):
        from rotcurve.datasets.splits import Split
        from rotcurve.datasets.training import load_training_data

        if run.kind != "mnist":
            raise DataError(f"{data} holds images but the run was trained on rotation curves; use a curve file")
        split = "test" if split is None else Split.parse(split).value
        td = load_training_data(data, seed=int(run.data["seed"]), fractions=tuple(run.data["fractions"]))
        x = td.split(split).numpy()
        labels = td.labels[split].numpy() if td.labels else None
        rows = np.asarray(td.indices[split], dtype=np.int64)
        n = len(x)

        def blocks() -> Iterator[tuple[int, np.ndarray, Any]]:
            for start in range(0, n, 65536):
                yield start, x[start : start + 65536], None

        source = {"data": data, "split": split}
        prefix = td.meta.get("index_sources", {}).get(split, "MNIST")
        rows_note = f"row of each image in the {prefix}-* IDX files"
    else:
        from rotcurve.io import open_dataset

        if run.kind == "mnist":
            raise DataError(f"{data} holds rotation curves but the run was trained on MNIST; use mnist:DIR")
        with open_dataset(data) as ds:
            run.check_radii(ds.radii, source=data)
            n_file, radii, has_params = ds.n, np.asarray(ds.radii), ds.has_params
        picked = None if split is None else _training_file_rows(run, data, n_file, split)
        rows = np.arange(n_file, dtype=np.int64) if picked is None else picked
        n = len(rows)

        def blocks() -> Iterator[tuple[int, np.ndarray, Any]]:
            done = 0
            with open_dataset(data) as ds:
                frame = ds.params if has_params else None
                for start, stop, block in ds.iter_blocks(65536):
                    v = block["v_circ"]
                    sel = np.arange(start, stop)
                    if picked is not None:
                        lo, hi = np.searchsorted(picked, [start, stop])
                        sel = picked[lo:hi]
                        v = v[sel - start]
                    if len(sel):
                        yield done, v, None if frame is None else frame.iloc[sel]
                        done += len(sel)

        params = has_params
        source = {"data": str(Path(data).resolve()), "split": split or "all"}
        rows_note = "row of each curve in the source file"
    with atomic_h5(out, overwrite=overwrite) as f:
        f.attrs["format"] = LATENT_FORMAT
        for key, value in {**_versions(), **source}.items():
            f.attrs[key] = value
        f.attrs["run"] = str(run.path.resolve())
        f.attrs["checkpoint"] = run.checkpoint.name
        f.attrs["epoch"] = int(run.epoch)
        f.attrs["model_config"] = json.dumps(run.model_config.to_dict(), sort_keys=True)
        f.attrs["n"] = int(n)
        f.attrs["latent_dim"] = int(d)
        g = f.create_group("latent")
        mean = g.create_dataset("mean", shape=(n, d), dtype=np.float64)
        cov = g.create_dataset("covariance", shape=(n, d, d), dtype=np.float64)
        mean.attrs["description"] = "posterior mean of z"
        cov.attrs["description"] = "posterior covariance of z"
        f.create_dataset("rows", data=rows).attrs["description"] = rows_note
        if radii is not None:
            f.create_dataset("radii", data=radii).attrs["units"] = "kpc"
        if labels is not None:
            f.create_dataset("labels", data=labels)
        pgroup = f.create_group("params") if params else None
        bar = tqdm(total=n, desc="encode", unit="ex", disable=not progress)
        try:
            for start, block, frame in blocks():
                enc = run.encode(block, batch_size=batch_size)
                mean[start : start + len(enc)] = enc.mean
                cov[start : start + len(enc)] = enc.covariance
                if pgroup is not None:
                    for name in frame.columns:
                        if name not in pgroup:
                            column = pgroup.create_dataset(name, shape=(n,), dtype=np.float64)
                            column.attrs["units"] = PARAM_UNITS.get(name, "")
                        pgroup[name][start : start + len(enc)] = frame[name].to_numpy(np.float64)
                bar.update(len(enc))
        finally:
            bar.close()
    return out


def _reconstruct_file(run: Run, data: str, out: Path, *, overwrite: bool, batch_size: int, progress: bool) -> Path:
    from tqdm.auto import tqdm

    from rotcurve.io import open_dataset
    from rotcurve.io.format import CurveWriter

    if run.kind == "mnist" or data.startswith("mnist:"):
        raise DataError("reconstruct writes rotation-curve files; it needs a curve run and a curve file")
    _check_out(out, overwrite)
    with open_dataset(data) as ds:
        run.check_radii(ds.radii, source=data)
        attrs = {k: ds.attrs[k] for k in ("seed", "prior", "radii_spec") if ds.attrs.get(k) is not None}
        attrs = {**attrs, **_curve_attrs(run, "reconstruct", {"source_data": str(Path(data).resolve())})}
        frame = ds.params if ds.has_params else None
        bar = tqdm(total=ds.n, desc="reconstruct", unit="curve", disable=not progress)
        try:
            with CurveWriter(
                out,
                n=ds.n,
                radii=ds.radii,
                components=False,
                params=frame is not None,
                attrs=attrs,
                overwrite=overwrite,
            ) as writer:
                for start, stop, block in ds.iter_blocks(65536):
                    v_hat = run.reconstruct(block["v_circ"], batch_size=batch_size)
                    pars = None if frame is None else frame.iloc[start:stop]
                    writer.write(start, v_circ=v_hat, params=pars)
                    bar.update(stop - start)
        finally:
            bar.close()
    return out


def _sample_file(
    run: Run, n: int, out: Path, *, seed: int, source: str, overwrite: bool, batch_size: int, progress: bool
) -> Path:
    from tqdm.auto import tqdm

    _check_out(out, overwrite)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"the number of samples must be an integer >= 1, got {n!r}")
    block = 65536
    bar = tqdm(total=n, desc="sample", unit="ex", disable=not progress)
    try:
        # one generator over all batches, as in Run.sample: same seed, same samples
        samples = _iter_samples(run, n, seed=seed, source=source, batch_size=min(batch_size, block))
        if run.kind == "mnist":
            from rotcurve.io.h5write import atomic_h5  # safe on a full disk; locked

            shape = run.image_shape or (run.model_config.input_dim,)
            with atomic_h5(out, overwrite=overwrite) as f:
                f.attrs["format"] = IMAGES_FORMAT
                for key, value in _versions().items():
                    f.attrs[key] = value
                f.attrs.update(
                    {
                        "run": str(run.path.resolve()),
                        "checkpoint": run.checkpoint.name,
                        "seed": int(seed),
                        "source": source,
                    }
                )
                if source != "prior":
                    f.attrs["latent_aggregate"] = type(run.aggregate(source)).kind
                images = f.create_dataset("images", shape=(n, *shape), dtype=np.float32)
                images.attrs["description"] = "pixel intensities in [0, 1]"
                start = 0
                for chunk in samples:
                    images[start : start + len(chunk)] = chunk
                    start += len(chunk)
                    bar.update(len(chunk))
            return out
        from rotcurve.io.format import CurveWriter

        extra: dict[str, Any] = {"latent_source": source}
        if source != "prior":
            extra["latent_aggregate"] = type(run.aggregate(source)).kind
        attrs = {"seed": int(seed), **_curve_attrs(run, "sample", extra)}
        with CurveWriter(
            out, n=n, radii=run.radii, components=False, params=False, attrs=attrs, overwrite=overwrite
        ) as writer:
            for chunk in samples:
                writer.append(v_circ=chunk)
                bar.update(len(chunk))
    finally:
        bar.close()
    return out


def _iter_latents(run: Run, n: int, *, seed: int, source: str, batch_size: int) -> Iterator[Any]:
    """Batches of latent points (tensors on the run's device) from one seeded pair of streams."""
    import torch

    if source not in SAMPLE_SOURCES:
        raise ConfigError(f"unknown sample source {source!r}; choose one of: {', '.join(SAMPLE_SOURCES)}")
    batch_size = _check_batch_size(batch_size)
    streams = SampleStreams(
        torch=torch.Generator(device=run.device).manual_seed(_torch_seed(seed, _SAMPLE_STREAM)),
        numpy=np.random.default_rng(np.random.SeedSequence(_check_seed(seed), spawn_key=(_SAMPLE_STREAM,))),
    )
    draw = SAMPLE_SOURCES[source]
    if int(n) > 0 and source != "prior":
        run.aggregates()  # fit (or load) once, before the first batch
    with torch.no_grad():
        for start in range(0, int(n), batch_size):
            yield draw(run, min(batch_size, int(n) - start), streams)


def _iter_samples(run: Run, n: int, *, seed: int, source: str, batch_size: int) -> Iterator[np.ndarray]:
    import torch

    with torch.no_grad():
        for z in _iter_latents(run, n, seed=seed, source=source, batch_size=batch_size):
            yield run._to_physical(run.model.decode(z).float().cpu().numpy(), what="sampled")


# ------------------------------------------------------------------ aggregates
def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _aggregate_path(run: Run) -> Path:
    return run.path / f"aggregate-{run.checkpoint.stem}.json"


def _read_rows(spec: str, rows: np.ndarray | None, *, params: bool = False) -> tuple[np.ndarray, Any]:
    """Curves (float64 km/s) and, with ``params``, the parameter DataFrame (or None) of sorted ``rows``.

    ``rows=None`` reads every row.
    """
    from rotcurve.io import open_dataset

    parts: list[np.ndarray] = []
    with open_dataset(spec) as ds:
        n_r = len(ds.radii)
        for start, stop, block in ds.iter_blocks(65536):
            v = block["v_circ"]
            if rows is not None:
                lo, hi = np.searchsorted(rows, [start, stop])
                v = v[rows[lo:hi] - start]
            parts.append(np.asarray(v, dtype=np.float64))
        frame = None
        if params and ds.has_params:
            frame = ds.params if rows is None else ds.params.iloc[rows]
            frame = frame.reset_index(drop=True)
    v = np.concatenate(parts) if parts else np.zeros((0, n_r))
    return v, frame


def _training_inputs(run: Run, fit_seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Model inputs (physical units) of the training and validation rows used for the aggregates."""
    from rotcurve.datasets.splits import split_indices

    spec = str(run.data.get("spec", ""))
    seed, fractions = int(run.data["seed"]), tuple(run.data["fractions"])
    pick_train, pick_val = np.random.SeedSequence(fit_seed, spawn_key=(_AGGREGATE_STREAM,)).spawn(2)

    def subsample(rows: np.ndarray, most: int, seq: np.random.SeedSequence) -> np.ndarray:
        if rows.size <= most:
            return rows
        return np.sort(np.random.default_rng(seq).choice(rows, size=most, replace=False))

    if run.kind == "mnist":
        from rotcurve.datasets.training import load_training_data

        td = load_training_data(spec, seed=seed, fractions=fractions, device="cpu")
        train_all, val_all = td.train.numpy(), td.val.numpy()
        train = train_all[subsample(np.arange(len(train_all)), AGGREGATE_MAX_FIT, pick_train)]
        val = val_all[subsample(np.arange(len(val_all)), AGGREGATE_MAX_VAL, pick_val)]
    else:
        from rotcurve.io import open_dataset
        from rotcurve.training.rundir import data_fingerprint

        if not spec or not Path(spec).is_file():
            raise DataError(
                f"the run's training file {spec or '(unknown)'} is not there; the aggregate latent "
                "samplers are fitted to it once (then cached in the run folder): restore the file"
            )
        if data_fingerprint(spec) != run.data.get("fingerprint"):
            raise DataError(
                f"{spec} has changed since the run was trained on it; the aggregate latent samplers "
                "need the training curves: restore the original file"
            )
        with open_dataset(spec) as ds:
            n = ds.n
        split = split_indices(n, seed, fractions)
        train_rows = subsample(split["train"], AGGREGATE_MAX_FIT, pick_train)
        val_rows = subsample(split["val"], AGGREGATE_MAX_VAL, pick_val)
        both = np.union1d(train_rows, val_rows)
        v, _ = _read_rows(spec, both)
        train = v[np.searchsorted(both, train_rows)]
        val = v[np.searchsorted(both, val_rows)]
    if len(val) < 10:  # no validation split: hold out a tenth of the training rows
        k = max(10, len(train) // 10)
        val, train = train[:k], train[k:]
    return train, val, {"data": spec}


def _fit_aggregates(run: Run, fit_seed: int, progress: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    from rotcurve.analysis.aggregate import fit_aggregate

    train, val, info = _training_inputs(run, fit_seed)
    if len(train) <= run.latent_dim + 1:
        raise DataError(
            f"the training split has {len(train)} examples; fitting a {run.latent_dim}-D latent "
            "aggregate needs more"
        )
    from tqdm.auto import tqdm

    bar = tqdm(total=3, desc="fit latent aggregates", unit="step", disable=not progress)
    try:
        z_train = run.encode(train).mean
        z_val = run.encode(val).mean
        bar.update()
        gmm_seed = int(np.random.SeedSequence(fit_seed, spawn_key=(_AGGREGATE_STREAM, 1)).generate_state(1)[0] >> 1)
        models = {
            "prior": fit_aggregate(z_train, kind="prior"),
            "gaussian": fit_aggregate(z_train, kind="gaussian"),
        }
        bar.update()
        models["gmm"] = fit_aggregate(z_train, kind="gmm", seed=gmm_seed)
        bar.update()
    finally:
        bar.close()
    val_ll = {k: float(np.mean(m.log_density(z_val))) for k, m in models.items()}
    choice = max(("gaussian", "gmm"), key=lambda k: val_ll[k])
    info.update(n_fit=int(len(z_train)), n_val=int(len(z_val)))
    return models, {"val_log_density": val_ll, "choice": choice, **info}


def _load_or_fit_aggregates(run: Run, *, refit: bool, fit_seed: int, progress: bool) -> LatentAggregates:
    import warnings

    from rotcurve.analysis.aggregate import aggregate_from_dict
    from rotcurve.config import save_json

    path = _aggregate_path(run)
    sha = _sha256(run.checkpoint)
    if path.exists() and not refit:
        try:
            record = json.loads(path.read_text())
            if (
                isinstance(record, dict)
                and record.get("format") == AGGREGATE_FORMAT
                and record.get("format_version") == _AGGREGATE_VERSION
                and record.get("checkpoint_sha256") == sha
                and record.get("fit_seed") == fit_seed
            ):
                models = {k: aggregate_from_dict(v) for k, v in record["models"].items()}
                if set(models) == {"prior", "gaussian", "gmm"} and record.get("choice") in models:
                    info = {k: v for k, v in record.items() if k != "models"}
                    return LatentAggregates(
                        models=models, choice=record["choice"],
                        val_log_density=dict(record["val_log_density"]), info=info, path=path,
                    )
        except (ValueError, KeyError, TypeError) as exc:  # a damaged cache: fit again
            warnings.warn(f"{path}: unreadable latent aggregate cache ({exc}); fitting again", stacklevel=3)
    models, meta = _fit_aggregates(run, fit_seed, progress)
    from rotcurve._version import __version__

    info = {
        "format": AGGREGATE_FORMAT,
        "format_version": _AGGREGATE_VERSION,
        "rotcurve_version": __version__,
        "checkpoint": run.checkpoint.name,
        "checkpoint_sha256": sha,
        "epoch": int(run.epoch),
        "fit_seed": fit_seed,
        "max_fit": AGGREGATE_MAX_FIT,
        "max_val": AGGREGATE_MAX_VAL,
        "latents": "posterior means",
        **meta,
    }
    written: Path | None = path
    try:
        save_json({**info, "models": {k: m.to_dict() for k, m in models.items()}}, path)
    except OSError as exc:  # a read-only run folder: use the fit, say so
        warnings.warn(f"could not cache the latent aggregates in {path} ({exc}); they are refitted next time",
                      stacklevel=3)
        written = None
    return LatentAggregates(
        models=models, choice=meta["choice"], val_log_density=meta["val_log_density"], info=info, path=written
    )


def load_run(run_dir: str | os.PathLike[str], *, which: str = "best", device: Any = "cpu") -> Run:
    """Load a trained run.

    Parameters
    ----------
    run_dir : path
        A run directory written by ``rotcurve train`` (or
        :func:`rotcurve.training.fit`), or a checkpoint file inside one.
    which : {"best", "last"}, keyword-only
        ``checkpoints/best.pt`` (lowest validation loss) or ``last.pt``.
    device : str, keyword-only
        ``"cpu"`` (default), ``"cuda"`` or ``"auto"``.

    Returns
    -------
    Run

    Raises
    ------
    DataError
        No such run directory.
    CheckpointError
        A missing, damaged, foreign or newer-version checkpoint.
    DeviceError
        CUDA asked for where there is none.
    """
    from rotcurve.training.checkpoint import load_checkpoint
    from rotcurve.training.device import resolve_device

    if which not in CHECKPOINT_CHOICES:
        raise ConfigError(f"unknown checkpoint {which!r}; choose one of: {', '.join(CHECKPOINT_CHOICES)}")
    path = Path(run_dir)
    dev = resolve_device(device)
    if path.is_file():
        checkpoint = path
        root = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    else:
        if not path.exists():
            raise DataError(
                f"{path}: no such run folder; give a folder written by rotcurve train (rotcurve.training.fit)"
            )
        root = path
        checkpoint = path / "checkpoints" / f"{which}.pt"
        if not checkpoint.exists() and not (path / "checkpoints").is_dir():
            raise DataError(f"{path} is not a rotcurve run folder (it has no checkpoints/); check the path")
    model, state = load_checkpoint(checkpoint, device=dev)
    return Run(root, checkpoint, model, state, dev)


def read_latents(path: str | os.PathLike[str]) -> Any:
    """Read a latents file (``rotcurve encode`` / :meth:`Run.encode_file`) as a DataFrame.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    pandas.DataFrame
        One row per encoded example, columns in this order: ``row`` (the
        example's row in the source file, when recorded), ``name`` (an
        identifier, when the file has one), ``z1`` ... ``zd`` (posterior
        means), ``z1_std`` ... ``zd_std`` (posterior standard deviations,
        the square roots of the covariance diagonal; 0 for an
        autoencoder), the true parameters ``Md`` (Msun), ``Rd`` (kpc),
        ``Mh`` (Msun), ``c`` when the file holds them, and ``label`` for
        MNIST.  ``DataFrame.attrs`` holds the file's attributes (run,
        checkpoint, epoch, data, split, versions; ``model_config`` as a
        dict) and ``radii`` (a list, kpc) for curves.  The full covariances are in
        the file's ``/latent/covariance (N, d, d)``.

    Raises
    ------
    DataError
        A missing file, one that is not HDF5, a rotcurve curve file or any
        other file that is not a latents file, or a damaged one.
    """
    import h5py
    import pandas as pd

    p = Path(os.fspath(path))
    if not p.is_file():
        raise DataError(f"{p}: no such file; give a latents file written by rotcurve encode (Run.encode_file)")
    try:
        f = h5py.File(p, "r")
    except OSError:
        raise DataError(f"{p} is not an HDF5 file; give a latents file written by rotcurve encode") from None
    with f:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != LATENT_FORMAT:
            if "v_circ" in f and "radii" in f:
                what = "a rotcurve curve file, not latents: encode it first (Run.encode_file or rotcurve encode)"
            else:
                what = f"not a rotcurve latents file (format {fmt!r}, expected {LATENT_FORMAT!r})"
            raise DataError(f"{p} is {what}")
        try:
            mean = np.asarray(f["latent/mean"][...], dtype=np.float64)
            cov = np.asarray(f["latent/covariance"][...], dtype=np.float64)
        except KeyError:
            raise DataError(f"{p} is damaged: it lacks /latent/mean or /latent/covariance; encode again") from None
        if mean.ndim != 2 or cov.shape != (*mean.shape, mean.shape[1]):
            raise DataError(
                f"{p} is damaged: /latent/mean {mean.shape} and /latent/covariance {cov.shape} do not fit"
            )
        n, d = mean.shape
        columns: dict[str, Any] = {}
        extra = {name: f[name] for name in ("rows", "name", "labels") if name in f}
        for key, ds in extra.items():
            if ds.shape != (n,):
                raise DataError(f"{p} is damaged: /{key} has shape {ds.shape}, expected ({n},)")
        if "rows" in extra:
            columns["row"] = extra["rows"][...].astype(np.int64)
        if "name" in extra:
            columns["name"] = extra["name"].asstr()[...] if extra["name"].dtype.kind in "OS" else extra["name"][...]
        for j in range(d):
            columns[f"z{j + 1}"] = mean[:, j]
        std = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
        for j in range(d):
            columns[f"z{j + 1}_std"] = std[:, j]
        if "params" in f:
            names = [k for k in ("Md", "Rd", "Mh", "c") if k in f["params"]]
            for name in names + sorted(set(f["params"]) - set(names)):
                values = np.asarray(f["params"][name][...], dtype=np.float64)
                if values.shape != (n,):
                    raise DataError(f"{p} is damaged: /params/{name} has shape {values.shape}, expected ({n},)")
                columns[name] = values
        if "labels" in extra:
            columns["label"] = extra["labels"][...].astype(np.int64)
        attrs: dict[str, Any] = {}
        for key, value in f.attrs.items():
            value = value.decode() if isinstance(value, bytes) else value
            attrs[key] = value.item() if isinstance(value, np.generic) else value
        if isinstance(attrs.get("model_config"), str):
            try:
                attrs["model_config"] = json.loads(attrs["model_config"])
            except ValueError:
                pass
        if "radii" in f:
            attrs["radii"] = [float(r) for r in f["radii"][...]]
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n))
    frame.attrs.update(attrs)
    return frame
