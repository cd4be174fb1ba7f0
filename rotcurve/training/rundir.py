"""The run directory: its layout, ``config.json``, ``metrics.jsonl`` and the data description.

::

    RUN_DIR/
      config.json          {"rotcurve_version", "model", "train", "data"}
      metrics.jsonl        one JSON object per epoch
      reference.h5         runs trained with --simulate: the fixed reference curves
      checkpoints/
        last.pt            the latest epoch (for --resume)
        best.pt            the epoch with the lowest validation loss

Every file is replaced atomically (``metrics.jsonl`` is rewritten whole after
each epoch; it is small).  Missing parent folders are created (``--out
runs/vae4`` on a fresh clone).  While a run trains, ``RUN_DIR.lock`` next to the
folder is held (:func:`holds_run_lock`): a second run on the same folder fails
at once instead of interleaving checkpoints.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rotcurve._version import __version__
from rotcurve.datasets.kinds import data_fingerprint, kind_for_spec, kind_named  # data_fingerprint: re-exported
from rotcurve.errors import (
    OVERWRITE,
    RESUME,
    CheckpointError,
    ConfigError,
    DataError,
    Option,
    OutputExistsError,
)
from rotcurve.io.atomic import atomic_path, atomic_write_text, check_output, make_parents
from rotcurve.io.lock import output_lock
from rotcurve.serialization import from_dict, load_json, to_dict
from rotcurve.training.config import DataConfig, TrainConfig

T = TypeVar("T")

__all__ = [
    "RunPaths",
    "RunConfig",
    "MetricsLog",
    "read_run_config",
    "config_differences",
    "data_fingerprint",
    "describe_data",
    "normalise_spec",
    "prepare_run_dir",
    "refuse_started",
    "check_run_root",
    "holds_run_lock",
    "clear_run_dir",
    "remove_run_files",
    "link_or_copy",
]


@dataclasses.dataclass(frozen=True)
class RunPaths:
    """The files of a run directory.

    Parameters
    ----------
    root : Path
        The run directory.
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path:
        """``config.json``."""
        return self.root / "config.json"

    @property
    def metrics(self) -> Path:
        """``metrics.jsonl``."""
        return self.root / "metrics.jsonl"

    @property
    def reference(self) -> Path:
        """``reference.h5``: a simulated run's fixed curves (normaliser, validation, test)."""
        return self.root / "reference.h5"

    @property
    def checkpoints(self) -> Path:
        """``checkpoints/``."""
        return self.root / "checkpoints"

    @property
    def last(self) -> Path:
        """``checkpoints/last.pt``."""
        return self.checkpoints / "last.pt"

    @property
    def best(self) -> Path:
        """``checkpoints/best.pt``."""
        return self.checkpoints / "best.pt"

    def outputs(self) -> tuple[Path, ...]:
        """The files a run writes (what ``--overwrite`` removes)."""
        return (self.config, self.metrics, self.last, self.best)

    def is_started(self) -> bool:
        """Whether the folder holds any of a run's files."""
        return any(p.exists() for p in self.outputs())


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """All the settings of a run, as saved in ``config.json``.

    Attributes
    ----------
    model : ModelConfig
    train : TrainConfig
    data : DataConfig
    """

    model: Any
    train: Any
    data: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the writer's version."""
        return {
            "rotcurve_version": __version__,
            "model": to_dict(self.model),
            "train": to_dict(self.train),
            "data": to_dict(self.data),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "config.json") -> RunConfig:
        """Rebuild from :meth:`to_dict` output, refusing unknown keys."""
        from rotcurve.models import ModelConfig  # torch: only when a run config is read

        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a JSON object")
        unknown = sorted(set(data) - {"rotcurve_version", "model", "train", "data"})
        if unknown:
            raise ConfigError(f"{where}: unknown settings {', '.join(unknown)}")
        missing = [k for k in ("model", "train", "data") if k not in data]
        if missing:
            raise ConfigError(f"{where}: lacks {', '.join(missing)}")
        return cls(
            model=from_dict(ModelConfig, data["model"], where="model"),
            train=from_dict(TrainConfig, data["train"], where="train"),
            data=from_dict(DataConfig, data["data"], where="data"),
        )

    def save(self, path: str | Path) -> Path:
        """Write as indented JSON, atomically."""
        path = Path(path)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return path


def read_run_config(path: str | Path) -> RunConfig:
    """Read ``config.json`` (ConfigError when it is missing or malformed)."""
    return RunConfig.from_dict(load_json(path), where=str(path))


#: Settings that may differ when a run is resumed (they do not change the result).
RESUMABLE_DIFFERENCES: frozenset[str] = frozenset({"train.device"})


def config_differences(old: RunConfig, new: RunConfig) -> list[str]:
    """``"section.key: old -> new"`` for every setting that differs (except the device).

    Parameters
    ----------
    old, new : RunConfig
        The saved and the requested settings.
    """
    out = []
    a, b = old.to_dict(), new.to_dict()
    for section in ("model", "train", "data"):
        for key in sorted(set(a[section]) | set(b[section])):
            name = f"{section}.{key}"
            if name in RESUMABLE_DIFFERENCES:
                continue
            va, vb = a[section].get(key), b[section].get(key)
            if va != vb:
                out.append(f"{name}: {json.dumps(va)} -> {json.dumps(vb)}")
    return out


class MetricsLog:
    """The per-epoch records of a run, written as JSON lines.

    Parameters
    ----------
    path : Path
        ``metrics.jsonl``.
    records : list of dict, optional
        Records already there (when resuming).
    """

    def __init__(self, path: str | Path, records: list[dict[str, Any]] | None = None) -> None:
        self.path = Path(path)
        self.records: list[dict[str, Any]] = list(records or [])

    @classmethod
    def load(cls, path: str | Path, *, upto_epoch: int) -> MetricsLog:
        """Read the records of epochs ``<= upto_epoch`` (later ones were not checkpointed)."""
        path = Path(path)
        records: list[dict[str, Any]] = []
        if path.exists():
            for line in path.read_text().splitlines():
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    break  # a damaged tail: the checkpoint is the truth
                if isinstance(rec, dict) and int(rec.get("epoch", 0)) <= upto_epoch:
                    records.append(rec)
        return cls(path, records)

    def append(self, record: dict[str, Any]) -> None:
        """Add one epoch's record and rewrite the file atomically."""
        self.records.append(record)
        self.flush()

    def flush(self) -> None:
        """Write all records to :attr:`path` (atomically)."""
        text = "".join(json.dumps(r, sort_keys=False, allow_nan=False) + "\n" for r in self.records)
        atomic_write_text(self.path, text)


def normalise_spec(spec: str | os.PathLike[str]) -> str:
    """A data spec in the form saved in a run: absolute file paths, ``mnist:ABSDIR``."""
    return kind_for_spec(spec).normalise_spec(spec)


def describe_data(data: Any) -> dict[str, Any]:
    """The data description saved in checkpoints (plain data).

    Parameters
    ----------
    data : TrainingData
        Loaded training data.

    Returns
    -------
    dict
        ``spec``, ``kind``, ``seed``, ``fractions``, ``n``, ``sizes``,
        ``input_dim``, ``radii`` (kpc, curves; None for MNIST),
        ``image_shape`` (MNIST), ``fingerprint`` (curves), ``in_memory``,
        ``file_attrs`` (the curve file's ``H0``, ``Delta``, ``G``, ``prior``,
        ``radii_spec``, ``seed``), ``simulate`` (a run trained on fresh
        simulated curves: its :class:`~rotcurve.training.config.SimulateConfig`
        with ``reference_seed`` and ``chunk_rows``; else None).
    """
    meta = data.meta
    spec = normalise_spec(meta["source"])
    return {
        "spec": spec,
        "kind": data.kind,
        "seed": int(meta["seed"]),
        "fractions": [float(f) for f in meta["fractions"]],
        "n": int(meta["n_total"]),
        "sizes": {k: int(v) for k, v in meta["sizes"].items()},
        "input_dim": int(data.input_dim),
        "radii": [float(r) for r in meta["radii"]] if meta.get("radii") is not None else None,
        "image_shape": [int(s) for s in meta["image_shape"]] if meta.get("image_shape") else None,
        "fingerprint": kind_named(data.kind).fingerprint(spec),
        "in_memory": bool(meta.get("in_memory", True)),
        "file_attrs": _file_attrs(meta.get("file_attrs")),
        "simulate": json.loads(json.dumps(meta["simulate"])) if meta.get("simulate") else None,
    }


def _file_attrs(attrs: Any) -> dict[str, Any]:
    """The physics attributes of the training file worth keeping (H0, Delta, G, prior, radii_spec)."""
    if not isinstance(attrs, dict):
        return {}
    keep = ("H0", "Delta", "G", "prior", "radii_spec", "seed")
    return {k: json.loads(json.dumps(attrs[k])) for k in keep if k in attrs and attrs[k] is not None}


def prepare_run_dir(
    paths: RunPaths, config: RunConfig, *, resume: bool, overwrite: bool
) -> Path | None:
    """Check that a run may start (or go on) in ``paths.root``.

    Nothing is changed on disk: call :func:`clear_run_dir` once the inputs
    are known to be good.

    Parameters
    ----------
    paths : RunPaths
        The run directory.
    config : RunConfig
        The requested settings.
    resume : bool, keyword-only
        Go on from ``checkpoints/last.pt``.
    overwrite : bool, keyword-only
        Replace an existing run.

    Returns
    -------
    Path or None
        The checkpoint to resume from, or None for a fresh start.

    Raises
    ------
    ConfigError
        Both ``resume`` and ``overwrite``; resuming with other settings.
    OutputExistsError
        An existing run without ``resume`` or ``overwrite``.
    CheckpointError
        ``resume`` without a checkpoint to resume from.
    DataError
        The path (or a folder above it) is a file.  Missing folders are fine:
        :func:`clear_run_dir` creates them.
    """
    root = paths.root
    if resume and overwrite:
        raise ConfigError.both(
            "{r} and {o} exclude each other; pick one", r=Option("resume", "--resume"), o=Option("overwrite", "--overwrite")
        )
    check_run_root(root)
    if resume:
        if not paths.last.exists():
            raise CheckpointError.both(
                "{root} has no checkpoints/last.pt to resume from; {drop} to start a new run",
                root=str(root), drop=Option("drop resume=True", "drop --resume"),
            )
        if paths.config.exists():
            saved = read_run_config(paths.config)
            diffs = config_differences(saved, config)
            if diffs:
                raise ConfigError.both(
                    "cannot resume {root}: the settings differ from the saved run ({diffs}); "
                    "use the same options, or {o} to start again",
                    root=str(root), diffs="; ".join(diffs), o=OVERWRITE,
                )
        return paths.last
    refuse_started(paths, resume=False, overwrite=overwrite)
    if root.exists() and not os.access(root, os.W_OK | os.X_OK):
        raise DataError(f"{root} is not writable; choose another run folder")
    return None


def refuse_started(paths: RunPaths, *, resume: bool, overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` if ``paths`` holds a run and neither flag is given."""
    if paths.is_started() and not resume and not overwrite:
        raise OutputExistsError.both(
            "{root} already holds a run; pass {r} to continue it or {o} to replace it",
            root=str(paths.root), r=RESUME, o=OVERWRITE,
        )


def check_run_root(root: str | Path) -> Path:
    """``root`` can be (or is) a run folder: not a file, nor inside one; missing folders are fine.

    Raises
    ------
    DataError
        ``root`` or a folder above it is a regular file.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise DataError(f"{root} is a file, not a folder; give a folder for the run")
    check_output(root / "config.json", overwrite=True)  # names a file above it, if any
    return root


def holds_run_lock(func: Callable[..., T]) -> Callable[..., T]:
    """Decorate a function with an argument ``run_dir`` to hold its lock while it runs.

    The lock is ``RUN_DIR.lock`` next to the run folder
    (:func:`rotcurve.io.lock.output_lock`): a second training run on the same
    folder fails at once with :class:`~rotcurve.errors.OutputLockedError`
    naming the first one's pid.  Missing parent folders are created.
    """
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        run_dir = signature.bind_partial(*args, **kwargs).arguments["run_dir"]
        root = check_run_root(Path(run_dir))
        with output_lock(root):
            return func(*args, **kwargs)

    return wrapper


def clear_run_dir(paths: RunPaths) -> None:
    """Remove a previous run's files (for ``--overwrite``) and create the folders (parents too)."""
    for p in paths.outputs():
        if p.exists():
            p.unlink()
    make_parents(paths.last)


def remove_run_files(paths: RunPaths) -> None:
    """Remove what a run wrote (``config.json``, ``metrics.jsonl``, checkpoints) and its
    folders where they are left empty: after a failed start, nothing looks like a run."""
    for p in (*paths.outputs(), paths.reference):
        p.unlink(missing_ok=True)
    for folder in (paths.checkpoints, paths.root):
        try:
            folder.rmdir()
        except OSError:  # not empty (other files of the user's) or already gone
            pass


def link_or_copy(src: Path, dst: Path) -> None:
    """Make ``dst`` an identical file to ``src``, atomically (a hard link when possible)."""
    import shutil

    with atomic_path(dst) as tmp:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
