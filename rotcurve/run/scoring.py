"""Scoring a run on held-out data: :meth:`Run.score`.

Metrics
-------
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
``p99_max_frac_error``, ``max_frac_error``
    Curves only, the tails: each curve's largest ``|v_hat - v| / v`` over its
    radii, then the 99th percentile and the maximum of that over the curves.

The metrics beyond the ELBO come from the data kind
(:meth:`rotcurve.datasets.kinds.DataKind.extra_metrics`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from rotcurve.datasets.splits import Split
from rotcurve.errors import DataError
from rotcurve.run.checks import SCORE_STREAM, check_batch_size, torch_seed

__all__ = ["score", "score_blocks"]


def score_blocks(run: Any, data: Any, split: str) -> tuple[Iterator[np.ndarray], dict[str, Any]]:
    """Blocks of physical-unit data to score, and a description of them.

    A path is the run's own training data (then ``split`` of the run's
    split), another file of the run's kind (every row) or data of another
    kind (refused); an array is scored whole.
    """
    if isinstance(data, (str, os.PathLike)):
        spec = run.data_kind.check_spec(data)
        split = Split.parse(split).value
        opened = run.data_kind.open(spec, record=run.data, normaliser=run.normaliser)
        used = split if opened.same_as_training else "all"
        info = {"data": spec, "split": used, "same_as_training": bool(opened.same_as_training)}
        return (block.x for block in opened.blocks(used) if len(block.x)), info
    arr = run.data_kind.as_array(data)
    if arr.dtype == object or arr.size == 0 and arr.ndim < 2:
        raise DataError("give a data file, mnist:DIR, or an array of curves (N, n_r) in km/s")
    return iter([arr]), {"data": "array", "split": "all", "same_as_training": False}


def score(
    run: Any, data: Any, *, split: str = "test", batch_size: int = 8192, seed: int = 0, progress: bool = False
) -> dict[str, Any]:
    """Held-out metrics of ``run`` on ``data`` (see :meth:`rotcurve.run.Run.score`)."""
    import torch
    from tqdm.auto import tqdm

    batch_size = check_batch_size(batch_size)
    blocks, info = score_blocks(run, data, split)
    gen = torch.Generator(device=run.device).manual_seed(torch_seed(seed, SCORE_STREAM))
    sums = torch.zeros(3, dtype=torch.float64, device=run.device)
    n = 0
    extra = run.data_kind.extra_metrics()
    bar = tqdm(desc="score", unit="ex", disable=not progress)
    try:
        for block in blocks:
            x = run._as_model_input(block)
            truth = np.asarray(block).reshape(len(x), -1) if extra is not None else None
            with torch.no_grad():
                for i, xb in enumerate(run._chunks(x, batch_size)):
                    out = run.model(xb, generator=gen)
                    parts = torch.stack(
                        (
                            (out.recon_per_example + out.kl_per_example).sum(),
                            out.recon_per_example.sum(),
                            out.kl_per_example.sum(),
                        )
                    )
                    sums += parts.double()
                    if extra is not None:
                        x_hat = run.model.reconstruct(xb).float().cpu().numpy()
                        recon = run._to_physical(x_hat, what="reconstructed")
                        extra.update(truth[i * batch_size : i * batch_size + len(xb)], recon)
                    n += len(xb)
                    bar.update(len(xb))
    finally:
        bar.close()
    if n == 0:
        raise DataError(f"nothing to score: the {info['split']} set of {info['data']} is empty")
    neg_elbo, recon_term, kl = (sums / n).tolist()
    result: dict[str, Any] = {**info, "n": n, "neg_elbo": neg_elbo, "recon": recon_term, "kl": kl}
    if extra is not None:
        result.update(extra.result())
    result.update(run=str(run.path), checkpoint=run.checkpoint.name, epoch=run.epoch)
    return result
