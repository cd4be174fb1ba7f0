"""Batch generation of rotation-curve data sets: sharded, parallel, resumable.

:func:`generate` draws ``N`` galaxies from a prior, simulates their rotation
curves (:func:`rotcurve.physics.rotation_curves`) and writes a rotcurve HDF5
file (:mod:`rotcurve.io.format`)::

    from rotcurve.generator import generate
    generate(1_000_000, out="curves.h5", seed=1)                  # all local cores
    generate(10_000_000, out="/shared/big.h5", scheduler="tcp://head:8786")

Sharding and reproducibility
----------------------------
The rows are cut into shards of ``shard_size`` curves: shard ``k`` holds rows
``[k S, min((k + 1) S, N))`` and draws its parameters from its own stream,
``default_rng(SeedSequence(seed, spawn_key=(k,)))``.  A shard depends only on
the request and on ``k``, so the files are bit-identical whatever the number
of workers, the order the shards finish in, or whether the run was
interrupted and resumed (on one machine; across machines with different CPUs
the last bit of a transcendental function may differ).

Layout
------
* One shard (``N <= shard_size``): a single self-contained file ``FILE``.
* Several shards: ``FILE.shards/shard-00000.h5``, ... (each a complete rotcurve
  file of its rows) plus ``FILE.shards/request.json`` (the request, for
  ``--resume``), and ``FILE``, a small *master* file whose datasets are HDF5
  virtual datasets over the shards (:func:`rotcurve.io.write_virtual`).  The
  master is written last, so **FILE existing means the data set is complete**.
  Readers open ``FILE`` and never need to know about the shards; keep the
  folder next to it (move both together).

Every file appears complete or not at all (temporary name, then rename).  The
request -- ``n``, ``seed``, ``shard_size``, prior, radii, ``H0``, ``Delta``,
dtype, components, compression, rotcurve and schema version -- is recorded in
every file (root attribute ``generate_request``, plus the usual ``seed``,
``prior``, ``radii_spec``, ``H0``, ``Delta`` and ``n_total``, ``shard_size``,
``n_shards``, ``shard_index``, ``row_start``).

Parallelism
-----------
Local worker processes by default (one per core; in-process when there is only
one shard or one worker); or the workers of an existing Dask distributed
cluster (``scheduler=``), which then write the shard files themselves, so the
output folder must be on a filesystem shared by the cluster.  Memory is
bounded by the shard and block sizes, not by ``N``.

Interruptions and failures
--------------------------
On Ctrl-C the workers are stopped, temporary files removed and
:class:`KeyboardInterrupt` re-raised; finished shards are kept.  After any
interruption (``kill -9`` included) or a full disk
(:class:`~rotcurve.errors.DiskFullError`) ``resume=True`` checks the finished
shards -- valid files made by the same request, whose data read back intact
(every chunk's Fletcher-32 checksum, finite curves) -- writes again any that
are damaged (saying so on the ``rotcurve.generator`` logger, one WARNING line
per shard) and writes the missing ones; the result is byte-for-byte that of an
uninterrupted run.  A run that fails for a reason a rerun would meet again
(the prior reaches curves that cannot be stored, ...) removes the shard folder
it created, so a plain rerun with other settings is not blocked.

One run at a time
-----------------
While a run writes ``FILE`` it holds ``FILE.lock`` (:mod:`rotcurve.io.lock`):
a second run with the same output fails at once, naming the first one's pid.

Limits
------
At most :data:`MAX_SHARDS` shards and :data:`MAX_SHARD_ROWS` curves per shard
(a shard's parameters are held in memory), so ``n <= 10**12``; the radius grid
has at most :data:`rotcurve.generator.radii.MAX_RADII` radii; a data set that
cannot fit the free disk space even compressed tenfold is refused up front.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve._version import __version__
from rotcurve.errors import (
    OVERWRITE,
    RESUME,
    SHARD_SIZE,
    ConfigError,
    DataError,
    DiskFullError,
    Option,
    OutputError,
    OutputExistsError,
    RotcurveError,
)
from rotcurve.generator._dask import connect, run_dask
from rotcurve.generator._pool import run_local
from rotcurve.generator._shard import shard_attrs, shard_bounds, shard_rng, write_shard
from rotcurve.generator.priors import Prior, resolve_prior
from rotcurve.generator.radii import RadiiSpec, parse_radii
from rotcurve.io.atomic import disk_full_error, is_disk_full, make_parents
from rotcurve.io.format import write_virtual
from rotcurve.io.lock import output_lock
from rotcurve.io.read import open_dataset
from rotcurve.io.schema import SCHEMA_VERSION, compression_options
from rotcurve.serialization import load_json, save_json, to_dict
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT
from rotcurve.validation import check_bool, check_int, first_line, is_number

__all__ = [
    "generate",
    "GenerateRequest",
    "make_request",
    "DEFAULT_SHARD_SIZE",
    "SCHEDULER_TIMEOUT_S",
    "shards_dir",
    "shard_path",
    "shard_rng",
    "shard_bounds",
    "MAX_SHARDS",
    "MAX_SHARD_ROWS",
]

#: Curves per shard unless told otherwise: big enough that per-file costs
#: vanish, small enough that 1M curves keep several workers busy.
DEFAULT_SHARD_SIZE: int = 100_000
#: Seconds to wait for a Dask scheduler before giving up.
SCHEDULER_TIMEOUT_S: float = 10.0
#: Name of the request record inside the shard folder.
REQUEST_FILE: str = "request.json"
#: Most shards in one data set: files in ``FILE.shards/`` and sources of the
#: master's virtual datasets (each opened when the master is validated).
MAX_SHARDS: int = 100_000
#: Most curves in one shard: a shard's parameters (40 bytes a curve) are drawn
#: at once and held in memory by the worker that writes it.
MAX_SHARD_ROWS: int = 10_000_000
#: A data set is refused up front when even this compression ratio would not
#: make it fit the free disk space (a sanity check: real ratios are ~1.5).
_BEST_RATIO: float = 10.0

#: Modules worker processes need, imported once by the fork server.
_PRELOAD: tuple[str, ...] = (
    "rotcurve.generator._shard",
    "rotcurve.generator.priors",
    "rotcurve.generator.radii",
    "rotcurve.io.format",
    "rotcurve.physics",
    "h5py",
)
_SHARD_RE = re.compile(r"^shard-(\d+)\.h5$")

#: Progress notes (INFO): what was kept on resume, what was written and how fast.
#: Silent unless the application configures logging (the CLI does).
log = logging.getLogger("rotcurve.generator")


# -- the request -------------------------------------------------------------------------
@dataclass(frozen=True)
class GenerateRequest:
    """Everything that determines the bytes of a generated data set.

    Two runs with equal requests write identical files; ``--resume`` accepts
    existing shards only when their recorded request equals this one.

    Attributes
    ----------
    n : int
        Number of curves N (>= 1).
    seed : int
        The one seed every random stream derives from (>= 0).
    shard_size : int
        Curves per shard (>= 1).
    prior : dict
        The prior's settings (``to_dict()``, with its ``kind``).
    radii : dict
        The radius grid's settings (:meth:`RadiiSpec.to_dict`).
    H0 : float
        Hubble constant, km/s/Mpc.
    Delta : float
        Halo overdensity relative to critical.
    dtype : {"float32", "float64"}
        Storage type of the curves.
    components : bool
        Whether ``v_disc`` and ``v_halo`` are stored.
    compression : str
        Compression name (:func:`rotcurve.io.compression_options`).
    rotcurve_version : str
        Version of rotcurve that wrote the files.
    schema_version : int
        File-format version.
    """

    n: int
    seed: int
    shard_size: int
    prior: dict[str, Any]
    radii: dict[str, Any]
    H0: float
    Delta: float
    dtype: str
    components: bool
    compression: str
    rotcurve_version: str
    schema_version: int

    @property
    def n_shards(self) -> int:
        """Number of shards, ``ceil(n / shard_size)``."""
        return -(-self.n // self.shard_size)

    def bounds(self, index: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of shard ``index``."""
        return shard_bounds(self.n, self.shard_size, index)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (what files record as ``generate_request``)."""
        return to_dict(self)

    def differences(self, other: Mapping[str, Any] | None) -> list[str]:
        """Human-readable differences from a recorded request (empty when equal)."""
        mine = self.to_dict()
        if not isinstance(other, Mapping):
            return ["no generation request recorded"]
        out = []
        for key in mine:
            if key not in other:
                out.append(f"{key} not recorded")
            elif other[key] != mine[key]:
                out.append(f"{key} {_short(other[key])} there, {_short(mine[key])} now")
        out += [f"unknown setting {key} recorded" for key in other if key not in mine]
        return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _positive_float(name: str, value: Any) -> float:
    if not is_number(value):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return value


def make_request(
    n: int,
    *,
    seed: int = 0,
    prior: Any = None,
    radii: Any = None,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
    shard_size: int = DEFAULT_SHARD_SIZE,
    dtype: str = "float32",
    components: bool = True,
    compression: str = "default",
) -> GenerateRequest:
    """Validate the settings of :func:`generate` and bundle them.

    Raises
    ------
    ConfigError
        On any invalid setting (the message names it).
    """
    n = check_int("the number of curves n", n)
    seed = check_int("seed", seed, minimum=0)
    if seed >= 2**63:
        raise ConfigError(f"seed must be below 2**63, got {seed}")
    shard_size = check_int("shard_size", shard_size)
    H0 = _positive_float("H0", H0)
    Delta = _positive_float("Delta", Delta)
    try:
        dtype_name = np.dtype(dtype).name
    except TypeError:
        dtype_name = str(dtype)
    if dtype_name not in ("float32", "float64"):
        raise ConfigError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    check_bool("components", components)
    if not isinstance(compression, str):
        raise ConfigError(f"compression must be a name such as 'default', got {compression!r}")
    compression_options(compression)  # raises ConfigError for unknown names
    _check_sizes(n, shard_size)
    prior_obj: Prior = resolve_prior(prior)
    radii_spec: RadiiSpec = parse_radii(radii)
    return GenerateRequest(
        n=n,
        seed=seed,
        shard_size=shard_size,
        prior=prior_obj.to_dict(),
        radii=radii_spec.to_dict(),
        H0=H0,
        Delta=Delta,
        dtype=dtype_name,
        components=bool(components),
        compression=compression.strip().lower(),
        rotcurve_version=__version__,
        schema_version=int(SCHEMA_VERSION),
    )


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**13 else f"{n:.3g}"


def _check_sizes(n: int, shard_size: int) -> None:
    """ConfigError when ``n`` / ``shard_size`` exceed what one data set can hold."""
    rows = min(n, shard_size)
    if rows > MAX_SHARD_ROWS:
        raise ConfigError.both(
            "{opt} {size} is too large: a shard's parameters are held in memory (40 bytes a curve); "
            "use at most {limit} curves per shard",
            opt=SHARD_SIZE, size=_count(shard_size), limit=_count(MAX_SHARD_ROWS),
        )
    n_shards = -(-n // shard_size)
    if n_shards > MAX_SHARDS:
        most = MAX_SHARDS * shard_size
        biggest = MAX_SHARDS * MAX_SHARD_ROWS
        hint = (
            f"raise {{opt}} (up to {_count(MAX_SHARD_ROWS)}) or make fewer curves"
            if shard_size < MAX_SHARD_ROWS and n <= biggest
            else f"make at most {_count(biggest)} curves"
        )
        raise ConfigError.both(
            "{n} curves in shards of {size} would be {k} shards, more than the {limit} supported "
            "(at most {most} curves with this shard size); " + hint,
            n=_count(n), size=_count(shard_size), k=_count(n_shards), limit=_count(MAX_SHARDS),
            most=_count(most), opt=SHARD_SIZE,
        )


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def _check_space(path: Path, request: GenerateRequest, rows: int) -> None:
    """DiskFullError up front when ``rows`` curves cannot fit the free space, however compressed."""
    if rows <= 0:
        return
    n_r = int(request.radii["n"])
    itemsize = np.dtype(request.dtype).itemsize
    per_curve = n_r * itemsize * (3 if request.components else 1) + 32
    ratio = 1.0 if request.compression == "none" else _BEST_RATIO
    need = rows * per_curve / ratio
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:  # pragma: no cover - the folder was just checked
        return
    if need > free:
        how = "uncompressed" if ratio == 1.0 else f"even compressed {ratio:g}x"
        raise DiskFullError.both(
            "{n} curves need at least {need} on disk ({how}) but {free} are free on {folder}; "
            "free space, choose {other} or make fewer curves",
            n=_count(rows), need=_bytes(need), how=how, free=_bytes(free), folder=str(path.parent),
            other=Option("another output path", "another --out"),
        )


# -- layout ------------------------------------------------------------------------------
def shards_dir(out: str | Path) -> Path:
    """The shard folder of output ``out``: ``out`` + ``.shards`` (a sibling)."""
    out = Path(out)
    return out.with_name(out.name + ".shards")


def shard_path(out: str | Path, index: int) -> Path:
    """Path of shard ``index`` of output ``out``: ``FILE.shards/shard-00042.h5``."""
    return shards_dir(out) / f"shard-{index:05d}.h5"


def _is_tmp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def _sweep_tmp(out: Path) -> None:
    """Remove temporary files left by interrupted writes of ``out`` and its shards."""
    folder = out.parent
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            if entry.name.startswith(f".{out.name}.") and entry.name.endswith(".tmp") and entry.is_file():
                with contextlib.suppress(OSError):
                    entry.unlink()
    sdir = shards_dir(out)
    if sdir.is_dir():
        with contextlib.suppress(OSError):
            for entry in sdir.iterdir():
                if _is_tmp(entry.name) and entry.is_file():
                    with contextlib.suppress(OSError):
                        entry.unlink()
    # Left by an interrupted _remove_tree().
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            if entry.name.startswith(f".{sdir.name}.") and entry.name.endswith(".tmp") and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)


def _check_ours(sdir: Path) -> None:
    """Refuse to delete a folder that holds anything rotcurve did not put there."""
    for entry in sdir.iterdir():
        name = entry.name
        if entry.is_file() and (_SHARD_RE.match(name) or name == REQUEST_FILE or _is_tmp(name)):
            continue
        raise DataError(
            f"{sdir} holds {name!r}, which rotcurve did not write; "
            "move it away or delete the folder yourself"
        )


def _check_out(out: str | Path) -> Path:
    """The absolute output path; fails early when it cannot be written."""
    if not isinstance(out, (str, os.PathLike)) or not str(out).strip():
        raise ConfigError(f"out must be a file path, got {out!r}")
    path = Path(out).expanduser().absolute()
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a file name for the output")
    folder = path.parent
    make_parents(path)  # DataError when a part of it is a file
    _probe_writable(folder, path)
    sdir = shards_dir(path)
    if sdir.exists() and not sdir.is_dir():
        raise DataError(f"{sdir} exists and is not a folder; move it away")
    return path


def _probe_writable(folder: Path, path: Path) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise DataError(
            f"{path}: cannot write in {folder} ({exc.strerror or exc}); choose another output path"
        ) from None
    os.close(fd)
    os.unlink(probe)


# -- what already exists -----------------------------------------------------------------
@dataclass
class _Plan:
    """What to do about existing output."""

    complete: bool = False  # the requested data set exists already (resume)
    done: set[int] = field(default_factory=set)  # finished shards to keep (resume)
    had_file: bool = False
    had_dir: bool = False


def _mismatch(where: Path, diffs: list[str]) -> OutputExistsError:
    shown = "; ".join(diffs[:3]) + ("; ..." if len(diffs) > 3 else "")
    return OutputExistsError.both(
        "{where} was made by a different request ({shown}); use {overwrite} to replace it, "
        "or repeat the original settings with {resume}",
        where=str(where), shown=shown, overwrite=OVERWRITE, resume=RESUME,
    )


def _invalid(where: Path, why: str) -> DataError:
    return DataError.both(
        "{where} cannot be resumed: {why}; use {overwrite} to start again",
        where=str(where), why=why, overwrite=OVERWRITE,
    )


def _read_request(sdir: Path) -> dict[str, Any] | None:
    path = sdir / REQUEST_FILE
    if not path.is_file():
        return None
    try:
        return load_json(path)
    except ConfigError as exc:
        raise _invalid(path, str(exc)) from None


def _check_complete(out: Path, request: GenerateRequest) -> None:
    """``out`` is a valid data set made by ``request`` (else an error)."""
    try:
        with open_dataset(out) as ds:
            recorded = ds.attrs.get("generate_request")
            n = ds.n
    except DataError as exc:
        raise _invalid(out, str(exc)) from None
    diffs = request.differences(recorded)
    if diffs:
        raise _mismatch(out, diffs)
    if n != request.n:  # pragma: no cover - the request records n
        raise _invalid(out, f"it has {n} curves, not {request.n}")


def _damage(path: Path) -> str | None:
    """Why the data of the (validated) file ``path`` do not read back intact, or None."""
    try:
        with open_dataset(path) as ds:
            ds.verify()
    except DataError as exc:
        text = first_line(exc)
        text = text.split("; regenerate it", 1)[0]  # the reader's advice; we regenerate anyway
        marker = "is truncated or corrupted ("
        if marker in text and text.endswith(")"):
            text = text.split(marker, 1)[1][:-1]
        elif text.startswith(str(path)):
            text = text[len(str(path)) :].lstrip(": ")
        return text or "unreadable data"
    return None


def _shard_files(out: Path) -> list[Path]:
    sdir = shards_dir(out)
    if not sdir.is_dir():
        return []
    return sorted(p for p in sdir.iterdir() if _SHARD_RE.match(p.name))


def _check_shard(path: Path, index: int, request: GenerateRequest) -> str | None:
    """Whether a finished shard is shard ``index`` of ``request``: None if it reads
    as one, why not if it cannot be opened at all (truncated, overwritten: the
    caller writes it again, as the shard folder's request.json matched), and an
    error if it is a readable shard of another request."""
    start, stop = request.bounds(index)
    try:
        with open_dataset(path) as ds:
            recorded = ds.attrs.get("generate_request")
            ok_index = ds.attrs.get("shard_index") == index and ds.attrs.get("row_start") == start
            rows = ds.n
    except DataError:
        return _damage(path)
    diffs = request.differences(recorded)
    if diffs:
        raise _mismatch(path, diffs)
    if not ok_index or rows != stop - start:
        raise _invalid(path, f"it is not shard {index} (rows {start}:{stop}) of this request")
    return None


def _plan(out: Path, request: GenerateRequest, *, overwrite: bool, resume: bool) -> _Plan:
    sdir = shards_dir(out)
    had_file, had_dir = out.exists(), sdir.is_dir()
    plan = _Plan(had_file=had_file, had_dir=had_dir)
    if not (had_file or had_dir):
        return plan
    if overwrite:
        if had_dir:
            _check_ours(sdir)
        return plan
    if not resume:
        what = " and ".join(str(p) for p, e in ((out, had_file), (sdir, had_dir)) if e)
        hint = "" if had_file else " (an interrupted run?)"
        raise OutputExistsError.both(
            "{what} exist{s}{hint}; use {resume} to continue an interrupted run or {overwrite} to replace it",
            what=what, s="s" if had_file != had_dir else "", hint=hint, resume=RESUME, overwrite=OVERWRITE,
        )
    stored = _read_request(sdir) if had_dir else None
    checked: dict[Path, str | None] = {}  # shard -> why its data are damaged (None: intact)
    if had_file:
        try:
            _check_complete(out, request)
            if request.n_shards == 1:
                why = _damage(out)
                if why is None:
                    plan.complete = True
                    return plan
                log.warning("%s is damaged (%s); writing it again", out.name, why)
                return plan
            damaged = False
            for shard in _shard_files(out):
                checked[shard] = _damage(shard)
                if checked[shard] is not None:
                    damaged = True
                    break
            if not damaged:
                plan.complete = True
                return plan
            # A shard of the complete data set is damaged: redo it (and the master).
        except OutputExistsError:
            # An interrupted --overwrite of an older single-file output leaves that
            # file in place next to the new run's shards: continue those.
            if not (had_dir and stored is not None and not request.differences(stored)):
                raise
    if stored is not None:
        diffs = request.differences(stored)
        if diffs:
            raise _mismatch(sdir, diffs)
    _check_ours(sdir)
    shards = {}
    for entry in sdir.iterdir():
        m = _SHARD_RE.match(entry.name)
        if m:
            shards[int(m.group(1))] = entry
    if request.n_shards == 1 and shards:
        # This request makes one file; those shards belong to another request.
        raise _mismatch(sdir, [f"{len(shards)} shard file(s) there, a single file now"])
    for index, path in sorted(shards.items()):
        if index >= request.n_shards or path != shard_path(out, index):
            raise _mismatch(sdir, [f"{path.name} is not one of the {request.n_shards} shards now"])
        why = _check_shard(path, index, request)
        if why is None:
            why = checked[path] if path in checked else _damage(path)
        if why is not None:
            log.warning("%s is damaged (%s); writing it again", path.name, why)
            continue
        plan.done.add(index)
    return plan


# -- running -----------------------------------------------------------------------------
def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _progress_bar(request: GenerateRequest, initial: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=request.n,
        initial=initial,
        unit=" curves",
        unit_scale=True,
        desc="generate",
        disable=not enabled,
        dynamic_ncols=True,
        smoothing=0.1,
        file=sys.stderr,
    )


def _master_attrs(request: GenerateRequest) -> dict[str, Any]:
    attrs = shard_attrs(request.to_dict(), 0)
    for key in ("shard_index", "row_start"):
        attrs.pop(key)
    return attrs


def _is_master(path: Path) -> bool:
    """Whether ``path`` is a multi-shard master file (or not a readable file at all)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "shards" in f.attrs
    except OSError:
        return True


def _remove_tree(sdir: Path) -> None:
    """Delete a shard folder (first renamed, so a half-deleted one is never seen)."""
    if not sdir.is_dir():
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{sdir.name}.", suffix=".tmp", dir=sdir.parent))
    os.replace(sdir, trash / sdir.name)
    shutil.rmtree(trash, ignore_errors=True)


def generate(
    n: int,
    *,
    out: str | Path,
    seed: int = 0,
    prior: Any = None,
    radii: Any = None,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
    shard_size: int = DEFAULT_SHARD_SIZE,
    workers: int | None = None,
    scheduler: Any = None,
    overwrite: bool = False,
    resume: bool = False,
    dtype: str = "float32",
    components: bool = True,
    compression: str = "default",
    progress: bool = True,
    scheduler_timeout: float = SCHEDULER_TIMEOUT_S,
) -> Path:
    """Generate ``n`` rotation curves into a rotcurve HDF5 file.

    Parameters
    ----------
    n : int
        Number of curves N (>= 1).
    out : str or Path
        Output file.  With several shards, the shards go to the sibling folder
        ``out + ".shards"`` and ``out`` is the master file (written last).
    seed : int, keyword-only
        The one seed (>= 0); the same request and seed give identical files.
    prior : str, Path, dict, prior object or None, keyword-only
        A prior kind (``"reference"``, ``"loguniform"``), a TOML file, a dict
        of settings or a prior; None is the reference prior.
    radii : str, Path, RadiiSpec or None, keyword-only
        ``"RMIN:RMAX:N[:log|linear]"`` (kpc), a file of radii or a
        :class:`RadiiSpec`; None is 50 log-spaced radii from 0.1 to 50 kpc.
    H0 : float, keyword-only
        Hubble constant in km/s/Mpc.
    Delta : float, keyword-only
        Halo overdensity relative to the critical density.
    shard_size : int, keyword-only
        Curves per shard (>= 1); a shard is the unit of parallel work, of
        resumption and of memory.  Part of the request: changing it changes
        the files.
    workers : int or None, keyword-only
        Local worker processes; None uses every available core (but no more
        than there are shards to write).  1 runs in this process.
    scheduler : str, distributed.Client or None, keyword-only
        Run on an existing Dask cluster (address such as ``tcp://host:8786``)
        instead of local processes.  Needs ``pip install 'rotcurve[dask]'``
        and an output folder shared with the workers.
    overwrite : bool, keyword-only
        Replace an existing output.  A single-file output is replaced
        atomically when the new one is complete; a sharded output is deleted
        first (its master first, so no incomplete data set is ever visible)
        to avoid needing twice the disk space.
    resume : bool, keyword-only
        Continue an interrupted run: keep the shards already written (after
        checking they are valid and made by this very request) and write the
        rest.  A complete output made by this request is left alone.
    dtype : {"float32", "float64"}, keyword-only
        Storage type of the curves (the simulation is float64).
    components : bool, keyword-only
        Also store ``v_disc`` and ``v_halo``.
    compression : str, keyword-only
        ``"default"`` (gzip-1 + shuffle), ``"gzip"``, ``"gzip:N"``, ``"lzf"`` or
        ``"none"``.
    progress : bool, keyword-only
        Show a progress bar (curves/s, time left) on stderr.
    scheduler_timeout : float, keyword-only
        Seconds to wait for the Dask scheduler.

    Returns
    -------
    Path
        The output file (absolute), complete.

    Raises
    ------
    ConfigError
        Invalid settings, Dask missing or its scheduler unreachable.
    OutputExistsError
        The output exists and neither ``overwrite`` nor ``resume`` is set, or
        it was made by a different request.
    DataError
        The output cannot be written, or what exists cannot be resumed.
    KeyboardInterrupt
        On Ctrl-C, after stopping the workers; finished shards are kept.

    Notes
    -----
    What was kept on ``resume`` and the final throughput are logged at INFO
    level on the ``rotcurve.generator`` logger (the command line shows them).
    """
    request = make_request(
        n,
        seed=seed,
        prior=prior,
        radii=radii,
        H0=H0,
        Delta=Delta,
        shard_size=shard_size,
        dtype=dtype,
        components=components,
        compression=compression,
    )
    if workers is not None and scheduler is not None:
        raise ConfigError("give either workers (local processes) or scheduler (Dask), not both")
    if workers is not None:
        workers = check_int("workers", workers)
    if overwrite and resume:
        raise ConfigError.both("give either {o} or {r}, not both", o=Option("overwrite", "--overwrite"),
                               r=Option("resume", "--resume"))
    scheduler_timeout = _positive_float("scheduler_timeout", scheduler_timeout)
    path = _check_out(out)

    with output_lock(path):  # one run at a time writes FILE and FILE.shards/
        plan = _plan(path, request, overwrite=bool(overwrite), resume=bool(resume))
        if plan.complete:
            log.info("%s is already complete (%d curves); nothing to do", path, request.n)
            return path
        if plan.done:
            log.info(
                "resuming: %d of %d shards are done and kept, %d to write",
                len(plan.done),
                request.n_shards,
                request.n_shards - len(plan.done),
            )
        _sweep_tmp(path)
        _check_space(path, request, request.n - sum(b - a for a, b in map(request.bounds, plan.done)))

        client, owned = None, False
        if scheduler is not None:
            client, owned = connect(scheduler, timeout=scheduler_timeout)
        try:
            _run(path, request, plan, workers=workers, client=client, progress=progress, overwrite=overwrite)
        except BaseException as exc:
            _sweep_tmp(path)
            if _hopeless(exc) and not plan.had_dir:
                # A rerun would fail the same way: leave nothing that blocks a plain rerun.
                _remove_tree(shards_dir(path))
            if isinstance(exc, DiskFullError) and request.n_shards > 1:
                raise DiskFullError.both(
                    "no space left on device while writing {where}; the finished shards are kept: "
                    "free space and continue with {resume}, or choose {other}",
                    where=getattr(exc, "output", None) or str(shards_dir(path)),
                    resume=RESUME,
                    other=Option("another output path", "another --out"),
                ) from None
            raise
        finally:
            if owned:
                with contextlib.suppress(Exception):
                    client.close()
    return path


def _hopeless(exc: BaseException) -> bool:
    """Whether a failed run's finished shards are worth keeping for ``resume``.

    Interruptions, a full disk, dead workers and unexpected errors keep them;
    an error in the request itself (a prior whose curves cannot be stored)
    would stop a resumed run again, so its shards are not kept.
    """
    return isinstance(exc, RotcurveError) and not isinstance(exc, OutputError)


def _run(
    path: Path,
    request: GenerateRequest,
    plan: _Plan,
    *,
    workers: int | None,
    client: Any,
    progress: bool,
    overwrite: bool,
) -> None:
    sdir = shards_dir(path)
    single = request.n_shards == 1
    if overwrite and not single and plan.had_dir:
        if plan.had_file and _is_master(path):
            path.unlink()  # the old master goes first: no FILE ever points at missing shards
        _remove_tree(sdir)
    if not single:
        sdir.mkdir(exist_ok=True)
        if not (sdir / REQUEST_FILE).exists():
            save_json(request.to_dict(), sdir / REQUEST_FILE)
    req = request.to_dict()
    pending = [k for k in range(request.n_shards) if k not in plan.done]
    target = (lambda k: path) if single else (lambda k: shard_path(path, k))
    tasks = [(k, req, k, str(target(k))) for k in pending]
    done_rows = sum(b - a for a, b in map(request.bounds, plan.done))
    bar = _progress_bar(request, done_rows, progress)
    start = time.perf_counter()
    try:
        if client is not None:
            run_dask(write_shard, tasks, client=client, on_rows=bar.update)
        else:
            n_workers = min(workers if workers is not None else _cpu_count(), len(tasks))
            if n_workers <= 1:
                for _, *args in tasks:
                    write_shard(*args, report=bar.update)
            else:
                run_local(write_shard, tasks, workers=n_workers, on_rows=bar.update, preload=_PRELOAD)
        if not single:
            shards = [shard_path(path, k) for k in range(request.n_shards)]
            write_virtual(path, shards, attrs=_master_attrs(request), overwrite=True)
        elif plan.had_dir:
            _remove_tree(sdir)  # the shards of an older, sharded output
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    written = request.n - done_rows
    log.info(
        "wrote %d curves in %.1f s (%.0f curves/s) to %s%s",
        written,
        seconds,
        written / max(seconds, 1e-9),
        path,
        "" if single else f" + {len(pending)} shard files in {sdir.name}/",
    )
