"""The sample-source registry: where :meth:`Run.sample` takes latent points from.

A source is ``fn(run, n, streams) -> (n, d)`` latents on the model's device,
registered by name in :data:`SAMPLE_SOURCES`.  ``"aggregate"``
(:data:`DEFAULT_SOURCE`, what :meth:`Run.sample` and ``rotcurve sample`` use
unless told otherwise), ``"gaussian"`` and ``"gmm"`` are the latent
aggregates fitted to the run's training latents and saved in the run folder
(:mod:`rotcurve.run.aggregates`, reached through ``run.aggregate(kind)``);
``"prior"`` is the model's ``N(0, I)`` prior, for diagnostics: it is known to
give about 5 % physically invalid curves (``docs/results.md``).  Every draw of one call comes from
one seeded pair of streams (:class:`SampleStreams`), so the same seed gives
the same samples whatever the batch boundaries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.run.checks import SAMPLE_STREAM, check_batch_size, check_seed, torch_seed
from rotcurve.seeds import stream_rng

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["SampleStreams", "SAMPLE_SOURCES", "DEFAULT_SOURCE", "PRIOR_NOTE", "iter_latents", "iter_samples"]

#: The sample source of the run's default generative path: the saved aggregate density.
DEFAULT_SOURCE: str = "aggregate"

#: How the N(0, I) prior is labelled wherever it is offered or reported.
PRIOR_NOTE: str = "the N(0, I) prior: known to give ~5 % invalid curves; for diagnostics"


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


def _prior_latents(run: Any, n: int, streams: SampleStreams) -> torch.Tensor:
    """``n`` draws from the model's prior (N(0, I), or uniform on the sphere)."""
    return run.model._prior_sample(n, streams.torch)


def _aggregate_source(kind: str) -> Callable[[Any, int, SampleStreams], Any]:
    def draw(run: Any, n: int, streams: SampleStreams) -> Any:
        import torch

        z = run.aggregate(kind).sample(n, seed=streams.numpy)
        return torch.as_tensor(z, dtype=torch.float32, device=run.device)

    draw.__doc__ = f"``n`` draws from the run's fitted {kind!r} latent aggregate."
    return draw


#: Where :meth:`Run.sample` takes latent points from: ``fn(run, n, streams)``
#: returns ``(n, d)`` latents on the model's device.  ``"prior"`` is the
#: model's prior ``N(0, I)`` (:data:`PRIOR_NOTE`); ``"gaussian"`` and ``"gmm"`` are a
#: full-covariance Gaussian and a Gaussian mixture (components by BIC) fitted
#: to the posterior means of the training split (:meth:`Run.aggregates`);
#: ``"aggregate"`` is whichever of the two has the higher mean log density on
#: the validation split's latent means (:data:`DEFAULT_SOURCE`).
SAMPLE_SOURCES: dict[str, Callable[..., Any]] = {
    "prior": _prior_latents,
    "aggregate": _aggregate_source("aggregate"),
    "gaussian": _aggregate_source("gaussian"),
    "gmm": _aggregate_source("gmm"),
}


def iter_latents(run: Any, n: int, *, seed: int, source: str, batch_size: int) -> Iterator[Any]:
    """Batches of latent points (tensors on the run's device) from one seeded pair of streams."""
    import torch

    if source not in SAMPLE_SOURCES:
        raise ConfigError(f"unknown sample source {source!r}; choose one of: {', '.join(SAMPLE_SOURCES)}")
    batch_size = check_batch_size(batch_size)
    streams = SampleStreams(
        torch=torch.Generator(device=run.device).manual_seed(torch_seed(seed, SAMPLE_STREAM)),
        numpy=stream_rng(check_seed(seed), SAMPLE_STREAM),
    )
    draw = SAMPLE_SOURCES[source]
    if int(n) > 0 and source != "prior":
        run.aggregates()  # fit (or load) once, before the first batch
    with torch.no_grad():
        for start in range(0, int(n), batch_size):
            yield draw(run, min(batch_size, int(n) - start), streams)


def iter_samples(run: Any, n: int, *, seed: int, source: str, batch_size: int) -> Iterator[np.ndarray]:
    """Batches of decoded samples in physical units (km/s, or images in [0, 1])."""
    import torch

    with torch.no_grad():
        for z in iter_latents(run, n, seed=seed, source=source, batch_size=batch_size):
            yield run._to_physical(run.model.decode(z).float().cpu().numpy(), what="sampled")
