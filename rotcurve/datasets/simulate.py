"""On-the-fly training curves: fresh draws from a prior every epoch, on the training device.

:class:`SimulatedSplit` stands in for the training split of
:class:`~rotcurve.datasets.TrainingData` (``rotcurve train --simulate N``):
each epoch it draws ``N`` new parameter sets from a prior with a
``torch.Generator`` seeded from ``(seed, epoch)`` (:func:`epoch_generator`),
evaluates the torch twin of the physics
(:func:`rotcurve.physics.torch_backend.rotation_curves`) on the run's radius
grid on the training device and applies the run's normaliser -- no file, no
host copy.  It speaks the protocol of a streamed split (``streaming``,
``shape``, ``iter_batches(batch_size, seed=, epoch=)``), so the training loop
treats it like one.

The parameter draws of each prior kind on torch come from the registry
:data:`TORCH_SAMPLERS` (kind -> function); they follow the same
distributions as the numpy ``Prior.sample`` but not the same random stream
(a torch generator, not numpy's), so a simulated epoch is reproducible from
``(seed, epoch)`` and the chunk size, not equal to a generated file.

>>> from rotcurve.generator import ReferencePrior
>>> import numpy as np, torch
>>> from rotcurve.datasets.normaliser import CurveNormaliser
>>> radii = np.geomspace(0.1, 50.0, 8)
>>> norm = CurveNormaliser(radii, np.full(8, 2.0), np.full(8, 0.3))
>>> split = SimulatedSplit(1000, ReferencePrior(), radii, norm, "cpu")
>>> first = next(split.iter_batches(256, seed=0, epoch=1))
>>> first.shape, first.dtype
(torch.Size([256, 8]), torch.float32)
>>> bool(torch.equal(first, next(split.iter_batches(256, seed=0, epoch=1))))
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.seeds import seed31, seed64
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT
from rotcurve.validation import is_int

__all__ = [
    "SimulatedSplit",
    "TORCH_SAMPLERS",
    "sample_params_torch",
    "epoch_generator",
    "reference_seed",
    "SIMULATE_STREAM",
    "CHUNK_ROWS",
]

#: ``spawn_key`` prefix of the simulation's random streams (:mod:`rotcurve.seeds`).
SIMULATE_STREAM: int = 0x5117
_EPOCH, _REFERENCE = 1, 2
#: Curves simulated at once (rounded up to whole batches): bounds the memory
#: of the physics' temporaries (about 100 bytes per curve and radius).
CHUNK_ROWS: int = 65536


def epoch_generator(seed: int, epoch: int, device: Any = "cpu") -> Any:
    """The ``torch.Generator`` of epoch ``epoch``'s draws: ``seed64(seed, SIMULATE_STREAM, 1, epoch)``."""
    import torch

    return torch.Generator(device=device).manual_seed(seed64(seed, SIMULATE_STREAM, _EPOCH, epoch))


def reference_seed(seed: int) -> int:
    """The seed of the run's fixed reference file (normaliser, validation and test curves)."""
    return seed31(seed, SIMULATE_STREAM, _REFERENCE)


def _reference(prior: Any, n: int, gen: Any, dtype: Any) -> dict[str, Any]:
    import torch

    kw = dict(generator=gen, device=gen.device, dtype=dtype)
    u = torch.rand(n, **kw)
    z = torch.randn((3, n), **kw)
    log_md = prior.log10_Md_min + (prior.log10_Md_max - prior.log10_Md_min) * u
    dm = log_md - prior.log10_Md_pivot
    log_rd = prior.Rd_slope * dm + prior.Rd_intercept + prior.Rd_scatter * z[0]
    log_mh = prior.Mh_slope * dm + prior.Mh_intercept + prior.Mh_scatter * z[1]
    log_c = prior.c_intercept + prior.c_slope * (log_mh + math.log10(prior.h) - prior.c_pivot) + prior.c_scatter * z[2]
    ten = torch.tensor(10.0, dtype=dtype, device=gen.device)
    return {"Md": ten**log_md, "Rd": ten**log_rd, "Mh": ten**log_mh, "c": ten**log_c}


def _loguniform(prior: Any, n: int, gen: Any, dtype: Any) -> dict[str, Any]:
    import torch

    u = torch.rand((4, n), generator=gen, device=gen.device, dtype=dtype)
    ten = torch.tensor(10.0, dtype=dtype, device=gen.device)
    out = {}
    for i, name in enumerate(("Md", "Rd", "Mh", "c")):
        lo, hi = (math.log10(b) for b in getattr(prior, name))
        out[name] = ten ** (lo + (hi - lo) * u[i])
    return out


#: Torch parameter samplers by prior ``kind``: ``f(prior, n, generator, dtype) -> {Md, Rd, Mh, c}``.
TORCH_SAMPLERS: dict[str, Callable[..., dict[str, Any]]] = {
    "reference": _reference,
    "loguniform": _loguniform,
}


def sample_params_torch(prior: Any, n: int, generator: Any, *, dtype: Any = None) -> dict[str, Any]:
    """``n`` parameter sets from ``prior`` as tensors on the generator's device.

    Parameters
    ----------
    prior : Prior
        A prior whose ``kind`` is in :data:`TORCH_SAMPLERS`.
    n : int
        Number of galaxies.
    generator : torch.Generator
        The random stream (its device is where the tensors are made).
    dtype : torch.dtype, keyword-only
        float64 by default.

    Returns
    -------
    dict of str to Tensor (n,)
        ``Md`` [Msun], ``Rd`` [kpc], ``Mh`` [Msun], ``c``.
    """
    import torch

    sampler = TORCH_SAMPLERS.get(getattr(prior, "kind", None))
    if sampler is None:
        raise ConfigError(
            f"prior kind {getattr(prior, 'kind', prior)!r} has no torch sampler for --simulate; "
            f"use one of {', '.join(map(repr, TORCH_SAMPLERS))}"
        )
    return sampler(prior, int(n), generator, torch.float64 if dtype is None else dtype)


def check_prior(prior: Any) -> None:
    """Refuse a prior that cannot be simulated: no torch sampler, or draws that overflow."""
    if getattr(prior, "kind", None) not in TORCH_SAMPLERS:
        sample_params_torch(prior, 0, None)  # the one-line ConfigError
    prior.sample(4096, np.random.default_rng(0))  # ConfigError naming the setting that overflows


class SimulatedSplit:
    """``n`` fresh normalised curves per epoch, simulated on ``device`` (a stand-in for a streamed split).

    Parameters
    ----------
    n : int
        Curves per epoch (>= 1).
    prior : Prior
        The parameter prior (a kind in :data:`TORCH_SAMPLERS`).
    radii : array_like, shape (n_r,)
        The radius grid in kpc.
    normaliser : CurveNormaliser
        Maps km/s to the model's space (fitted once, to the run's reference curves).
    device : str or torch.device
        Where the curves are simulated and yielded.
    H0, Delta : float, keyword-only
        Cosmology of the halo (km/s/Mpc, overdensity).
    chunk_rows : int, keyword-only
        Curves simulated at once (a whole number of batches at least this
        large); part of the stream: changing it changes the epochs.
    dtype : torch.dtype, keyword-only
        Of the draws and the physics: float64 (default; equal to the numpy
        physics to ~1e-13, and on a CPU faster than float32, whose disc
        shape is evaluated in float64 anyway).  In float32 the curves differ
        from the float64 ones by up to ~2e-4 relative.  The curves yielded
        are float32 either way.
    """

    streaming = True

    def __init__(
        self,
        n: int,
        prior: Any,
        radii: Any,
        normaliser: Any,
        device: Any,
        *,
        H0: float = H0_DEFAULT,
        Delta: float = DELTA_DEFAULT,
        chunk_rows: int = CHUNK_ROWS,
        dtype: Any = None,
    ) -> None:
        import torch

        if not is_int(n) or n < 1:
            raise ConfigError(f"the number of simulated curves per epoch must be an integer >= 1, got {n!r}")
        check_prior(prior)
        self.n = int(n)
        self.prior = prior
        self.device = torch.device(device)
        self.dtype = torch.float64 if dtype is None else dtype
        self.radii = torch.as_tensor(np.asarray(radii, dtype=np.float64), dtype=self.dtype, device=self.device)
        self.normaliser = normaliser
        self.H0, self.Delta = float(H0), float(Delta)
        self.chunk_rows = int(chunk_rows)
        self.shape = (self.n, int(self.radii.numel()))

    def __len__(self) -> int:
        return self.n

    def simulate(self, m: int, generator: Any) -> Any:
        """``m`` normalised curves (float32, ``(m, n_r)``) drawn from ``generator``."""
        from rotcurve.physics import torch_backend as tb

        p = sample_params_torch(self.prior, m, generator, dtype=self.dtype)
        v = tb.rotation_curves(p, self.radii, H0=self.H0, Delta=self.Delta, validate=False).v_circ
        mean, std = self.normaliser._consts(v)
        return ((v.log10() - mean) / std).float()

    def iter_batches(
        self,
        batch_size: int,
        *,
        seed: int = 0,
        epoch: int = 0,
        generator: Any = None,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> Iterator[Any]:
        """The ``n`` curves of epoch ``epoch`` in batches (fresh i.i.d. draws: ``shuffle`` changes nothing).

        Parameters
        ----------
        batch_size : int
            Rows per batch (the last one may be smaller unless ``drop_last``).
        seed, epoch : int, keyword-only
            The draws are a function of ``(seed, epoch)`` (and ``chunk_rows``, ``batch_size``).
        generator : torch.Generator, optional, keyword-only
            Draw from this instead (on :attr:`device`).

        Yields
        ------
        torch.Tensor, shape (b, n_r), float32, on :attr:`device`
        """
        if not is_int(batch_size) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        gen = generator if generator is not None else epoch_generator(seed, epoch, self.device)
        stop = (self.n // batch_size) * batch_size if drop_last else self.n
        chunk = max(1, -(-self.chunk_rows // batch_size)) * batch_size
        for start in range(0, stop, chunk):
            x = self.simulate(min(chunk, stop - start), gen)
            for i in range(0, int(x.shape[0]), batch_size):
                yield x[i : i + batch_size]
