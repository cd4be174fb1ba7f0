"""One shard of a generation run: sample, simulate and write its rows.

This is the unit of work that :func:`rotcurve.generator.batch.generate` hands to
a worker (a local process or a Dask worker).  It depends only on the request
and the shard's index, never on which worker runs it or when, so every
schedule writes the same bytes:

* the parameters of shard ``k`` come from
  ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(k,)))`` -- the
  ``k``-th child of ``SeedSequence(seed)`` -- drawn for the whole shard at once;
* the curves are simulated and written in blocks of whole HDF5 chunks, so the
  memory used is bounded by the block (~40 MB) plus the shard's parameters
  (32 bytes a curve), not by ``N``;
* the file is written under a temporary name and renamed into place when
  complete (:class:`rotcurve.io.CurveWriter`), so a shard file that exists is
  a finished shard;
* a curve that is not finite once stored (a prior reaching galaxies whose
  velocities overflow float32) stops the shard with a
  :class:`~rotcurve.errors.ConfigError` naming the curve and its parameters;
  numpy's overflow warnings are not printed (the check replaces them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.generator.priors import prior_from_dict
from rotcurve.generator.radii import RadiiSpec
from rotcurve.io.format import CurveWriter, NonFiniteError, chunk_rows
from rotcurve.physics import rotation_curves
from rotcurve.seeds import stream_rng

__all__ = ["shard_rng", "shard_bounds", "block_rows", "write_shard", "BLOCK_TARGET_ELEMENTS"]

#: About this many values (curves x radii) are simulated and written per block,
#: rounded to whole chunks of the curve datasets: ~21 000 curves on 50 radii.
#: Memory per block is about ``BLOCK_TARGET_ELEMENTS * 8 bytes * 5`` (the three
#: float64 outputs and temporaries), ~40 MB, whatever the shard size.
BLOCK_TARGET_ELEMENTS: int = 1 << 20


def shard_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of shard ``index`` of a run with ``seed``.

    Parameters
    ----------
    seed : int
        The run's seed (>= 0).
    index : int
        Shard index (>= 0).

    Returns
    -------
    numpy.random.Generator
        PCG64 seeded by ``SeedSequence(seed, spawn_key=(index,))``, which is
        ``SeedSequence(seed).spawn(index + 1)[index]``: independent of every
        other shard's stream and of the number of workers.
    """
    return stream_rng(seed, index)


def shard_bounds(n: int, shard_size: int, index: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of shard ``index``: ``[k S, min((k + 1) S, n))``."""
    start = index * shard_size
    if index < 0 or start >= n:
        raise IndexError(f"shard {index} does not exist for n={n}, shard_size={shard_size}")
    return start, min(start + shard_size, n)


def block_rows(n_rows: int, n_radii: int, dtype: str) -> int:
    """Rows per block for a shard of ``n_rows`` curves: whole chunks, ~BLOCK_TARGET_ELEMENTS values.

    Blocks aligned with the chunks of the curve datasets mean that every chunk
    is compressed exactly once, straight from the block.
    """
    chunk = chunk_rows(n_rows, n_radii, np.dtype(dtype).itemsize)
    target = max(1, BLOCK_TARGET_ELEMENTS // max(1, n_radii))
    return max(1, min(n_rows, chunk * max(1, round(target / chunk))))


def shard_attrs(request: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Root attributes of shard ``index`` (the request plus where the shard sits)."""
    n, size = int(request["n"]), int(request["shard_size"])
    start, _ = shard_bounds(n, size, index)
    return {
        "H0": request["H0"],
        "Delta": request["Delta"],
        "seed": request["seed"],
        "prior": dict(request["prior"]),
        "radii_spec": dict(request["radii"]),
        "generate_request": dict(request),
        "n_total": n,
        "shard_size": size,
        "n_shards": -(-n // size),
        "shard_index": int(index),
        "row_start": start,
    }


def write_shard(
    request: Mapping[str, Any],
    index: int,
    path: str,
    *,
    report: Callable[[int], None] | None = None,
) -> int:
    """Simulate shard ``index`` of ``request`` and write it to ``path``, atomically.

    Parameters
    ----------
    request : mapping
        A :class:`rotcurve.generator.batch.GenerateRequest` as a dict (plain
        data, so it travels to worker processes and Dask workers).
    index : int
        Shard index.
    path : str
        Destination file; it appears only when complete.  An existing file is
        replaced.
    report : callable, keyword-only
        Called with the number of curves of each block once it is written.

    Returns
    -------
    int
        Number of curves written.
    """
    n, size = int(request["n"]), int(request["shard_size"])
    start, stop = shard_bounds(n, size, index)
    rows = stop - start
    prior = prior_from_dict(request["prior"])
    radii = RadiiSpec.from_dict(request["radii"]).grid()
    dtype = str(request["dtype"])
    params = prior.sample(rows, shard_rng(int(request["seed"]), index))
    step = block_rows(rows, radii.size, dtype)
    # The run as a whole holds FILE.lock (generate() takes it in the calling process);
    # a shard written by a worker process or a Dask worker takes no lock of its own.
    try:
        _write_blocks(path, request, index, radii, params, step, lock=False, report=report)
    except NonFiniteError as exc:
        raise _unstorable(exc, params, start, dtype, radii) from None
    return rows


def _unstorable(
    exc: Any, params: Mapping[str, np.ndarray], start: int, dtype: str, radii: np.ndarray
) -> Exception:
    """The error for a curve that cannot be stored, in terms of the prior and the curve's galaxy."""
    i = exc.row
    galaxy = ", ".join(
        f"{name} = {float(params[name][i]):.4g}{unit}"
        for name, unit in (("Md", " Msun"), ("Rd", " kpc"), ("Mh", " Msun"), ("c", ""))
    )
    where = f"at r = {float(radii[exc.column]):g} kpc"
    if np.isfinite(exc.value):
        what = f"{exc.value:.4g} km/s {where}, beyond the {dtype} range,"
    else:
        what = f"{exc.value} km/s {where}"
    return ConfigError(
        f"curve {start + i}: {exc.dataset} is {what} for {galaxy}; "
        "the prior reaches galaxies whose curves cannot be stored; narrow its ranges"
    )


def _write_blocks(
    path: str,
    request: Mapping[str, Any],
    index: int,
    radii: np.ndarray,
    params: Mapping[str, np.ndarray],
    step: int,
    *,
    lock: bool,
    report: Callable[[int], None] | None,
) -> None:
    """Simulate and write the shard's curves block by block."""
    rows = len(params["Md"])
    H0, Delta = float(request["H0"]), float(request["Delta"])
    components = bool(request["components"])
    dtype = str(request["dtype"])
    with CurveWriter(
        path,
        n=rows,
        radii=radii,
        components=components,
        params=True,
        attrs=shard_attrs(request, index),
        dtype=dtype,
        compression=str(request["compression"]),
        overwrite=True,
        lock=lock,
    ) as writer:
        for lo in range(0, rows, step):
            hi = min(rows, lo + step)
            block = {name: values[lo:hi] for name, values in params.items()}
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                curves = rotation_curves(block, radii, H0=H0, Delta=Delta)
            if components:
                writer.write(
                    lo, v_circ=curves.v_circ, v_disc=curves.v_disc, v_halo=curves.v_halo, params=block
                )
            else:
                writer.write(lo, v_circ=curves.v_circ, params=block)
            del curves
            if report is not None:
                report(hi - lo)
