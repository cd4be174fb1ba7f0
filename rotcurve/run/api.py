"""A trained run for scripts: the :class:`Run` API and :func:`load_run`.

>>> from rotcurve.run import load_run
>>> run = load_run("runs/vae4")                       # doctest: +SKIP
>>> enc = run.encode(v_kms)          # v_kms: (N, n_r) km/s on run.radii
>>> enc.mean.shape, enc.covariance.shape              # (N, d), (N, d, d)
>>> v_hat = run.reconstruct(v_kms)                    # (N, n_r) km/s
>>> new = run.sample(1000, seed=1)    # (1000, n_r) km/s, from the saved aggregate density
>>> run.score("curves.h5")                            # held-out metrics (dict)
>>> enc = run.encode("curves.h5")                     # a curve file works too
>>> run.encode_file("curves.h5", "lat.h5", split="test")  # doctest: +SKIP
>>> read_latents("lat.h5")            # DataFrame: row, z1..zd, z1_std.., Md, Rd, Mh, c

Everything goes in and comes out as numpy arrays in the file format's units:
circular velocities in km/s on the run's radius grid (kpc), or, for a model
trained on MNIST, images with pixels in [0, 1].  The model's own
(normalised) space stays inside; what differs between the two is asked of
the run's data kind (:attr:`Run.data_kind`, :mod:`rotcurve.datasets.kinds`).
:meth:`Run.decode` refuses latent points it cannot decode meaningfully
(non-finite values; for a VAE any ``|z_j| >`` :data:`LATENT_LIMIT` = 10
prior standard deviations) and, like every method returning curves, decoded
velocities that are not finite, not > 0 or not below the speed of light: a
one-line :class:`~rotcurve.errors.DataError` saying how many rows, never a
silent ``inf`` or 0 km/s.

The methods delegate to one module per concept: :mod:`~rotcurve.run.files`
(the latents and samples files), :mod:`~rotcurve.run.scoring` (the metrics of
:meth:`Run.score`), :mod:`~rotcurve.run.aggregates` (the aggregate cache) and
:mod:`~rotcurve.run.sources` (the sample-source registry).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rotcurve.datasets.kinds import kind_named
from rotcurve.devices import resolve_device
from rotcurve.errors import ConfigError, DataError
from rotcurve.run import aggregates as _aggregates
from rotcurve.run import files as _files
from rotcurve.run import scoring as _scoring
from rotcurve.run.aggregates import LatentAggregates
from rotcurve.run.checks import POSTERIOR_STREAM, check_batch_size, check_count, check_seed
from rotcurve.run.sources import DEFAULT_SOURCE, iter_latents, iter_samples
from rotcurve.seeds import stream_rng
from rotcurve.training.checkpoint import load_checkpoint
from rotcurve.units import to_value
from rotcurve.validation import is_int

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["Run", "Encoded", "load_run", "CHECKPOINT_CHOICES", "LATENT_LIMIT"]

#: Which checkpoint of a run to load.
CHECKPOINT_CHOICES: tuple[str, ...] = ("best", "last")

#: Largest ``|z_j|`` :meth:`Run.decode` accepts from a VAE: ten standard
#: deviations of its ``N(0, I)`` prior (a prior draw exceeds it with probability
#: 1.5e-23 per coordinate; the decoder has never seen such points).
LATENT_LIMIT: float = 10.0


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
        if not is_int(k) or k < 1:
            raise ConfigError(f"the number of draws per example must be an integer >= 1, got {k!r}")
        n, d = self.mean.shape
        rng = stream_rng(check_seed(seed), POSTERIOR_STREAM)
        # a symmetric square root that also works for singular (zero) covariances
        w, vecs = np.linalg.eigh(self.covariance)
        root = vecs * np.sqrt(np.clip(w, 0.0, None))[:, None, :]
        eps = rng.standard_normal((n, int(k), d))
        return self.mean[:, None, :] + np.einsum("nij,nkj->nki", root, eps)


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
    data_kind : DataKind
        The kind itself (:func:`rotcurve.datasets.kinds.kind_named`): what
        differs between curves and images.
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
        self.data_kind = kind_named(self.kind)
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

    def _read_file(self, path: str | os.PathLike[str]) -> np.ndarray:
        """Every example (physical units) of a data file of the run's kind (curves on the run's grid)."""
        return self.data_kind.read_all(path, normaliser=self.normaliser)

    def _as_model_input(self, data: Any) -> np.ndarray:
        """Data in physical units -> normalised float32 ``(N, input_dim)``."""
        if isinstance(data, (str, os.PathLike)):
            data = self._read_file(data)
        return self.data_kind.model_input(data, normaliser=self.normaliser, input_dim=self.model_config.input_dim)

    def _to_physical(self, x: np.ndarray, *, what: str = "decoded") -> np.ndarray:
        """Model data space -> km/s (float64), or images (float32 in [0, 1]).

        Raises :class:`DataError` (how many rows, and the limit) for curves
        whose velocities are not finite, not > 0 (an underflow to 0 km/s) or
        not below the speed of light, and for images that are not finite:
        never a silent ``inf`` or 0 (:meth:`DataKind.check_output`).
        """
        return self.data_kind.to_physical(x, normaliser=self.normaliser, shape=self.image_shape, what=what)

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

        batch_size = check_batch_size(batch_size)
        x = self._as_model_input(data)
        d = self.latent_dim
        means, covs = [np.zeros((0, d))], [np.zeros((0, d, d))]
        with torch.no_grad():
            for xb in self._chunks(x, batch_size):
                post = self.model.encode(xb)
                means.append(post.mean.double().cpu().numpy())
                covs.append(post.covariance.double().cpu().numpy())
        return Encoded(mean=np.concatenate(means), covariance=np.concatenate(covs))

    def decode(self, z: Any, *, batch_size: int = 8192, limit: float | None = LATENT_LIMIT) -> np.ndarray:
        """Decode latent points to curves in km/s (or images).

        Which latent points are decoded (the rest raise, never a silent
        ``inf`` or 0 km/s):

        * every value must be finite;
        * for a VAE, every coordinate must satisfy ``|z_j| <=`` ``limit``
          (default :data:`LATENT_LIMIT` = 10, in standard deviations of the
          ``N(0, I)`` prior): beyond it the decoder extrapolates into space it
          was never trained on (a plain autoencoder has no prior, so no such
          limit).  Points drawn from a density fitted to the training latents
          (:meth:`sample_latents` with an aggregate source) lie where the
          training latents are, even where a few of those exceed 10: decode
          them with ``limit=None``, as :meth:`sample` does;
        * every decoded velocity must be finite, > 0 and below the speed of
          light (:data:`SPEED_OF_LIGHT_KMS`), so an overflow (``inf``) or an
          underflow (0 km/s) is refused; decoded images must be finite.

        Parameters
        ----------
        z : array_like, shape (N, d)
            Latent points (dimensionless).
        batch_size : int, keyword-only
            Points per forward pass.
        limit : float or None, keyword-only
            Largest accepted ``|z_j|`` for a VAE; ``None`` checks only the
            decoded output.

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

        batch_size = check_batch_size(batch_size)
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
        if limit is not None and self.model_config.model == "vae" and n:
            far = np.abs(z).max(axis=1) > limit
            if far.any():
                raise DataError(
                    f"{int(far.sum())} of {n} latent points z have a coordinate beyond |z_j| = "
                    f"{limit:g} (standard deviations of the model's N(0, I) prior; the largest here "
                    f"is {np.abs(z).max():.3g}); the decoder was never trained there: give z within the limit (or limit=None to decode them anyway)"
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

        batch_size = check_batch_size(batch_size)
        x = self._as_model_input(data)
        outs = [np.zeros((0, self.model_config.input_dim), dtype=np.float32)]
        with torch.no_grad():
            for xb in self._chunks(x, batch_size):
                outs.append(self.model.reconstruct(xb).float().cpu().numpy())
        return self._to_physical(np.concatenate(outs), what="reconstructed")

    def sample(
        self, n: int, *, seed: int = 0, source: str = DEFAULT_SOURCE, batch_size: int = 8192
    ) -> np.ndarray:
        """New curves (or images): decoded latent draws.

        Parameters
        ----------
        n : int
            Number of samples (>= 0).
        seed : int, keyword-only
            The same seed gives the same samples.
        source : str, keyword-only
            Name in :data:`SAMPLE_SOURCES`.  Default ``"aggregate"``
            (:data:`DEFAULT_SOURCE`): the density fitted to the training
            latents and saved in the run folder (:meth:`aggregates`; fitted
            by ``rotcurve train``, or on first use for an older run), the
            better on the validation latents of ``"gaussian"`` (one
            full-covariance Gaussian) and ``"gmm"`` (a Gaussian mixture),
            which can also be asked for.  ``"prior"`` draws
            ``z ~ N(0, I)``: the N(0, I) prior, known to give ~5 % invalid
            curves; for diagnostics.
        batch_size : int, keyword-only
            Points per forward pass.

        Returns
        -------
        ndarray
            ``(n, n_r)`` km/s, or ``(n, 28, 28)`` images in [0, 1].
        """
        n = check_count(n)
        parts = list(iter_samples(self, n, seed=seed, source=source, batch_size=batch_size))
        if parts:
            return np.concatenate(parts)
        return self._to_physical(np.zeros((0, self.model_config.input_dim), dtype=np.float32))

    def sample_latents(
        self, n: int, *, seed: int = 0, source: str = DEFAULT_SOURCE, batch_size: int = 8192
    ) -> np.ndarray:
        """The latent points :meth:`sample` decodes (same ``n``, ``seed``, ``source``, ``batch_size``).

        Returns
        -------
        ndarray, shape (n, d)
            float64 latent points; ``decode(sample_latents(...), limit=None)``
            equals ``sample(...)``.
        """
        n = check_count(n)
        parts = [
            z.double().cpu().numpy()
            for z in iter_latents(self, n, seed=seed, source=source, batch_size=batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self.latent_dim))

    # ------------------------------------------------------------- aggregates
    def aggregates(
        self, *, refit: bool = False, fit_seed: int | None = None, progress: bool = False
    ) -> LatentAggregates:
        """The saved aggregate density: latent samplers fitted to the posterior means of the training split.

        Part of the run's generative model (what :meth:`sample` draws from by
        default); ``rotcurve train`` fits and saves it when training ends.
        Otherwise, on first use the run's training data (``data["spec"]``: the curve
        file or MNIST folder it was trained on) is read again, the training
        split (at most :data:`AGGREGATE_MAX_FIT` rows, a seeded subsample
        beyond) and the validation split (at most
        :data:`AGGREGATE_MAX_VAL`) are encoded, a full-covariance Gaussian
        and a Gaussian mixture (1 to 8 components, by BIC) are fitted to the
        training means, and the one with the higher mean log density on the
        validation means becomes :attr:`LatentAggregates.choice`.  The result
        is cached as JSON (plain numbers, written atomically) in
        ``RUN_DIR/aggregate-<checkpoint>.json`` and reused while the
        checkpoint file (SHA-256) and ``fit_seed`` are unchanged.  The file
        is read as JSON only (never unpickled) and verified (format, shapes,
        a SHA-256 of the models): a damaged file is reported in one line
        (logger ``rotcurve.run``) and fitted again.

        Parameters
        ----------
        refit : bool, keyword-only
            Ignore the cache and fit again.
        fit_seed : int, keyword-only, optional
            Seeds the subsamples and the mixture's initialisation; default
            the run's training seed (``train_config.seed``), so the fit is
            reproducible from the run.  Recorded in the file.
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
        fit_seed = check_seed(self.train_config.seed if fit_seed is None else fit_seed)
        if self._aggregates is not None and not refit and self._aggregates.info.get("fit_seed") == fit_seed:
            return self._aggregates
        self._aggregates = _aggregates.load_or_fit(self, refit=refit, fit_seed=fit_seed, progress=progress)
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
        return _files.write_latents(
            self, os.fspath(data), Path(out), split=split, overwrite=overwrite,
            batch_size=check_batch_size(batch_size), progress=progress,
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
        return _files.write_reconstructions(
            self, os.fspath(data), Path(out), overwrite=overwrite,
            batch_size=check_batch_size(batch_size), progress=progress,
        )

    def sample_file(
        self,
        n: int,
        out: str | os.PathLike[str],
        *,
        seed: int = 0,
        source: str = DEFAULT_SOURCE,
        overwrite: bool = False,
        batch_size: int = 8192,
        progress: bool = False,
    ) -> Path:
        """Write ``n`` new samples to a file, atomically.

        Curves go to a rotcurve file (km/s, no parameters, ``seed`` attribute);
        MNIST images to an HDF5 file with ``/images (n, 28, 28)`` float32 in
        [0, 1] (``format = "rotcurve-images"``).  The same seed, ``source``
        (default ``"aggregate"``, as for :meth:`sample`) and ``batch_size``
        give the same samples as :meth:`sample`.

        Returns
        -------
        Path
            ``out``.
        """
        return _files.write_samples(
            self, n, Path(out), seed=seed, source=source, overwrite=overwrite,
            batch_size=check_batch_size(batch_size), progress=progress,
        )


    # ---------------------------------------------------------------- scoring
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
            ``mean_frac_error``, ``rms_kms``, ``p99_max_frac_error`` and
            ``max_frac_error`` (see :mod:`rotcurve.run.scoring`);
            and ``data``, ``split``, ``same_as_training``, ``run``,
            ``checkpoint``, ``epoch``.

        Raises
        ------
        DataError
            A file with another radius grid (naming both), a foreign or
            damaged file, images for a curve run or the reverse, an empty set.
        """
        return _scoring.score(self, data, split=split, batch_size=batch_size, seed=seed, progress=progress)


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

