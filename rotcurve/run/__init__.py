"""A trained run for scripts: encode, decode, sample and score in physical units.

>>> from rotcurve.run import load_run, read_latents
>>> run = load_run("runs/vae4")                       # doctest: +SKIP
>>> enc = run.encode(v_kms)          # v_kms: (N, n_r) km/s on run.radii
>>> v_hat = run.reconstruct(v_kms)                    # (N, n_r) km/s
>>> new = run.sample(1000, seed=1)   # (1000, n_r) km/s, from the saved aggregate density
>>> run.score("curves.h5")                            # held-out metrics (dict)
>>> run.encode_file("curves.h5", "lat.h5", split="test")  # doctest: +SKIP
>>> read_latents("lat.h5")            # DataFrame: row, z1..zd, z1_std.., Md, Rd, Mh, c

One module per concept, imported in one direction (``api`` uses the rest):

* :mod:`~rotcurve.run.api` -- :class:`Run`, :class:`Encoded`, :func:`load_run`;
* :mod:`~rotcurve.run.files` -- the latents, reconstructions and samples
  files (schemas in its docstring), :func:`read_latents`, :func:`read_rows`;
* :mod:`~rotcurve.run.scoring` -- :meth:`Run.score` and its metrics;
* :mod:`~rotcurve.run.aggregates` -- the saved aggregate density
  ``aggregate-<checkpoint>.json`` (keyed by the checkpoint's SHA-256), part
  of the run's generative model;
* :mod:`~rotcurve.run.sources` -- the sample-source registry :data:`SAMPLE_SOURCES`
  and its :data:`DEFAULT_SOURCE` (``"aggregate"``);
* :mod:`~rotcurve.run.checks` -- argument checks and the named random streams.

What differs between curve and MNIST runs is asked of the run's data kind
(:attr:`Run.data_kind`, :mod:`rotcurve.datasets.kinds`).
"""

from __future__ import annotations

from rotcurve.datasets.kinds import IMAGES_FORMAT, SPEED_OF_LIGHT_KMS
from rotcurve.run.aggregates import AGGREGATE_FORMAT, AGGREGATE_MAX_FIT, AGGREGATE_MAX_VAL, LatentAggregates
from rotcurve.run.api import CHECKPOINT_CHOICES, LATENT_LIMIT, Encoded, Run, load_run
from rotcurve.run.files import LATENT_FORMAT, read_latents, read_rows
from rotcurve.run.sources import DEFAULT_SOURCE, PRIOR_NOTE, SAMPLE_SOURCES, SampleStreams

__all__ = [
    "Run",
    "Encoded",
    "load_run",
    "SAMPLE_SOURCES",
    "DEFAULT_SOURCE",
    "PRIOR_NOTE",
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
    "read_rows",
]

#: The old private name of :func:`read_rows` (kept for now).
_read_rows = read_rows
