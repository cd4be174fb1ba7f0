"""Checkpoints: everything needed to use a trained model or to go on training it.

A checkpoint is a ``torch.save`` file (a zip) holding one dict of plain data
and tensors -- nothing else, so it loads with ``torch.load(...,
weights_only=True)``, which never runs code from the file:

==================  ===========================================================
key                 value
==================  ===========================================================
format              ``"rotcurve-checkpoint"`` (the marker of a rotcurve file)
schema_version      :data:`CHECKPOINT_SCHEMA_VERSION` of the writer
rotcurve_version    the writer's rotcurve version
model_config        :class:`~rotcurve.models.ModelConfig` as a dict
train_config        :class:`~rotcurve.training.config.TrainConfig` as a dict
data                description of the training data: ``spec``, ``kind``,
                    ``seed``, ``fractions``, ``radii`` (kpc; curves), ``n``,
                    ``sizes``, ``fingerprint`` (see :func:`rotcurve.datasets.kinds.data_fingerprint`)
normaliser          the normaliser's ``state_dict()``
model_state         the model's ``state_dict()``
optimizer_state     the optimiser's ``state_dict()``
schedule_state      the learning-rate schedule's state
epoch, step         completed epochs and optimiser steps
progress            ``best_val``, ``best_epoch``, ``bad_evals`` (early
                    stopping), ``finished``, ``stop_reason``
rng_state           torch's global generator states (CPU and CUDA)
==================  ===========================================================

The table is laid out in one place, :func:`checkpoint_payload`; the training
loop writes it with :func:`save_checkpoints` and resumes through
:func:`check_resumable` and :func:`restore_training_state`.

Every file is written through :func:`rotcurve.io.atomic.atomic_path`;
``best.pt`` and ``last.pt`` are always separate files (a copy, never a hard
link), so a damaged one leaves the other usable.
Reading raises :class:`~rotcurve.errors.CheckpointError` with one line for a
missing file, a damaged (truncated) one, a foreign one (a torch file that is
not a rotcurve checkpoint, such as a bare ``state_dict``) and one written by
a newer rotcurve.
"""

from __future__ import annotations

import dataclasses
import pickle
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rotcurve._version import __version__
from rotcurve.datasets.normaliser import normaliser_from_state
from rotcurve.errors import OVERWRITE, CheckpointError, ConfigError, DataError
from rotcurve.io.atomic import atomic_path
from rotcurve.serialization import from_dict, to_dict
from rotcurve.training.config import TrainConfig
from rotcurve.training.device import resolve_device
from rotcurve.validation import first_line, is_int

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from rotcurve.models import LatentModel, ModelConfig

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_SCHEMA_VERSION",
    "CheckpointState",
    "checkpoint_payload",
    "save_checkpoint",
    "save_checkpoints",
    "copy_checkpoint",
    "check_resumable",
    "restore_training_state",
    "read_checkpoint",
    "load_checkpoint",
]

#: The marker every rotcurve checkpoint carries under ``"format"``.
CHECKPOINT_FORMAT: str = "rotcurve-checkpoint"
#: Version of the checkpoint layout written by this rotcurve.
CHECKPOINT_SCHEMA_VERSION: int = 1

_REQUIRED = (
    "model_config",
    "train_config",
    "data",
    "normaliser",
    "model_state",
    "epoch",
    "step",
    "progress",
)

_ZIP_MAGIC = b"PK\x03\x04"


@dataclasses.dataclass
class CheckpointState:
    """What a checkpoint holds besides the model (see the module docstring).

    Attributes
    ----------
    path : Path
        The file it was read from.
    model_config : ModelConfig
    train_config : TrainConfig
    data : dict
        Description of the training data.
    normaliser : CurveNormaliser or IdentityNormaliser
        Rebuilt from the saved state.
    epoch, step : int
        Completed epochs and optimiser steps.
    progress : dict
        ``best_val`` (nats per example), ``best_epoch``, ``bad_evals``,
        ``finished``, ``stop_reason``.
    optimizer_state, schedule_state, rng_state : dict or None
        For resuming.
    rotcurve_version : str
        Version of the rotcurve that wrote the file.
    schema_version : int
        Its checkpoint layout version.
    """

    path: Path
    model_config: ModelConfig
    train_config: TrainConfig
    data: dict[str, Any]
    normaliser: Any
    epoch: int
    step: int
    progress: dict[str, Any]
    optimizer_state: dict[str, Any] | None
    schedule_state: dict[str, Any] | None
    rng_state: dict[str, Any] | None
    rotcurve_version: str
    schema_version: int

    @property
    def kind(self) -> str:
        """``"curves"`` or ``"mnist"``."""
        return str(self.data.get("kind", "curves"))


def checkpoint_payload(
    *,
    model: LatentModel,
    optimizer: Any,
    schedule: Any,
    model_config: ModelConfig,
    train_config: TrainConfig,
    data_desc: dict[str, Any],
    normaliser: Any,
    epoch: int,
    step: int,
    progress: dict[str, Any],
) -> dict[str, Any]:
    """The payload of a training checkpoint: the one place that lays out the table above.

    Parameters
    ----------
    model, optimizer, schedule
        The model, its ``torch.optim`` optimiser and its learning-rate
        schedule (their ``state_dict()`` is saved).
    model_config, train_config : ModelConfig, TrainConfig, keyword-only
        Saved as dicts.
    data_desc : dict, keyword-only
        :func:`rotcurve.training.rundir.describe_data` of the training data.
    normaliser : keyword-only
        The data's normaliser (its ``state_dict()`` is saved).
    epoch, step : int, keyword-only
        Completed epochs and optimiser steps.
    progress : dict, keyword-only
        ``best_val``, ``best_epoch``, ``bad_evals``, ``finished``,
        ``stop_reason`` (copied).

    Returns
    -------
    dict
        For :func:`save_checkpoint` (or :func:`save_checkpoints`).  Also holds
        torch's global generator states.
    """
    import torch

    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = list(torch.cuda.get_rng_state_all())
    return {
        "model_config": to_dict(model_config),
        "train_config": to_dict(train_config),
        "data": data_desc,
        "normaliser": normaliser.state_dict(),
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict(),
        "schedule_state": schedule.state_dict(),
        "epoch": int(epoch),
        "step": int(step),
        "progress": dict(progress),
        "rng_state": rng,
    }


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write a checkpoint atomically.

    Parameters
    ----------
    path : str or Path
        Destination (its folder must exist).
    payload : dict
        The keys of the module docstring's table except ``format``,
        ``schema_version`` and ``rotcurve_version``, which are added.  Plain
        data and tensors only.

    Returns
    -------
    Path
        ``path``.
    """
    import torch

    missing = [k for k in _REQUIRED if k not in payload]
    if missing:  # a programming error, not a user's
        raise ValueError(f"checkpoint payload lacks {', '.join(missing)}")
    data = {
        "format": CHECKPOINT_FORMAT,
        "schema_version": CHECKPOINT_SCHEMA_VERSION,
        "rotcurve_version": __version__,
        **payload,
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return path


def copy_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """Write ``dst`` as an independent byte copy of ``src``, atomically.

    Used when one epoch is both the last and the best: ``best.pt`` and
    ``last.pt`` are two files of their own (never hard links), so damage to one
    leaves the other loadable -- which is what the error messages of a damaged
    checkpoint advise ("use the run's other checkpoint").

    Parameters
    ----------
    src, dst : str or Path
        A checkpoint file, and where its copy goes (replaced if it exists).

    Returns
    -------
    Path
        ``dst``.
    """
    import shutil

    src, dst = Path(src), Path(dst)
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)  # a new inode: the temporary file, renamed onto dst
    return dst


def save_checkpoints(
    payload: dict[str, Any], *, last: str | Path, best: str | Path, write_last: bool, write_best: bool
) -> None:
    """Write a run's ``last.pt`` and/or ``best.pt`` from one payload.

    When both are due, ``best.pt`` is an independent byte copy of the new
    ``last.pt`` (:func:`copy_checkpoint`), so damage to one leaves the other.

    Parameters
    ----------
    payload : dict
        From :func:`checkpoint_payload`.
    last, best : str or Path, keyword-only
        The two files.
    write_last, write_best : bool, keyword-only
        Which of them to write.
    """
    if write_last:
        save_checkpoint(last, payload)
        if write_best:
            copy_checkpoint(last, best)
    elif write_best:
        save_checkpoint(best, payload)


def _saved_train_config(saved: Any) -> Any:
    """A checkpoint's training settings as :func:`to_dict` gives them now (settings added
    since it was written take their defaults); unreadable ones are returned unchanged."""
    try:
        return to_dict(from_dict(TrainConfig, saved))
    except ConfigError:
        return saved


def check_resumable(
    raw: dict[str, Any],
    *,
    run: str | Path,
    source: str | Path,
    data_desc: dict[str, Any],
    model_config: ModelConfig,
    train_config: TrainConfig,
) -> None:
    """Refuse to resume from a checkpoint written for other data or other settings.

    Parameters
    ----------
    raw : dict
        :func:`read_checkpoint` of ``source``.
    run, source : str or Path, keyword-only
        The run directory and the checkpoint (for the messages).
    data_desc : dict, keyword-only
        :func:`rotcurve.training.rundir.describe_data` of the data now.
    model_config, train_config : keyword-only
        The settings now (``train_config.device`` may differ).

    Raises
    ------
    DataError
        The data's fingerprint or split sizes differ.
    ConfigError
        The model or training settings differ.
    """
    old = raw["data"]
    if old.get("fingerprint") != data_desc["fingerprint"] or old.get("sizes") != data_desc["sizes"]:
        raise DataError.both(
            "cannot resume {run}: the data differ from those the run started with "
            "({spec}, {n} rows); use the same file, or {o} to start again",
            run=run, spec=old.get("spec"), n=old.get("n"), o=OVERWRITE,
        )
    if raw["model_config"] != to_dict(model_config) or {
        **_saved_train_config(raw["train_config"]),
        "device": None,
    } != {**to_dict(train_config), "device": None}:
        raise ConfigError.both(
            "cannot resume {run}: {source} was written with other settings; "
            "use the same options, or {o} to start again",
            run=run, source=source, o=OVERWRITE,
        )


def restore_training_state(
    raw: dict[str, Any], *, model: Any, optimizer: Any, schedule: Any
) -> tuple[int, int, dict[str, Any]]:
    """Load a checkpoint's weights, optimiser and schedule states into a run's objects.

    Parameters
    ----------
    raw : dict
        :func:`read_checkpoint` output (checked with :func:`check_resumable`).
    model, optimizer, schedule : keyword-only
        Built from the checkpoint's settings; changed in place.

    Returns
    -------
    epoch, step : int
        Completed epochs and optimiser steps.
    progress : dict
        The saved ``progress`` (early stopping and the best validation loss).
    """
    model.load_state_dict(raw["model_state"])
    optimizer.load_state_dict(raw["optimizer_state"])
    schedule.load_state_dict(raw.get("schedule_state") or {})
    return int(raw["epoch"]), int(raw["step"]), raw["progress"]


def _load_raw(path: Path, map_location: Any) -> Any:
    import torch

    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint; check the run folder")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file; give a checkpoint file (.pt)")
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not head:
        raise CheckpointError(f"{path} is empty (a truncated checkpoint); re-train or use the other checkpoint")
    if head != _ZIP_MAGIC:
        raise CheckpointError(
            f"{path} is not a rotcurve checkpoint (not a PyTorch zip file); give checkpoints/best.pt "
            "or last.pt of a rotcurve run"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower():
            raise CheckpointError(
                f"{path} is not a rotcurve checkpoint (it holds Python objects that cannot be loaded "
                "safely); give checkpoints/best.pt or last.pt of a rotcurve run"
            ) from None
        raise CheckpointError(f"{path} is corrupted ({first_line(exc).rstrip('.')}); re-train the model") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(
            f"{path} is corrupted or truncated ({first_line(exc).rstrip('.')}); re-train, or use the run's other "
            "checkpoint"
        ) from None


def read_checkpoint(path: str | Path, *, map_location: Any = "cpu") -> dict[str, Any]:
    """The validated raw contents of a checkpoint.

    Parameters
    ----------
    path : str or Path
        A checkpoint file.
    map_location : str or torch.device, keyword-only
        Where tensors are put (``"cpu"`` by default, so CUDA checkpoints load
        on any machine).

    Returns
    -------
    dict
        The keys of the module docstring's table.

    Raises
    ------
    CheckpointError
        Missing, empty, truncated, foreign, or newer-schema files.
    """
    path = Path(path)
    raw = _load_raw(path, map_location)
    if not isinstance(raw, dict) or raw.get("format") != CHECKPOINT_FORMAT:
        what = "a bare state_dict" if isinstance(raw, dict) else f"a {type(raw).__name__}"
        raise CheckpointError(
            f"{path} is not a rotcurve checkpoint (a PyTorch file holding {what}, without the "
            f"{CHECKPOINT_FORMAT!r} marker); give checkpoints/best.pt or last.pt of a rotcurve run"
        )
    version = raw.get("schema_version")
    if not is_int(version, numpy=False) or version < 1:
        raise CheckpointError(f"{path}: checkpoint schema version {version!r} is invalid; the file is damaged")
    if version > CHECKPOINT_SCHEMA_VERSION:
        raise CheckpointError(
            f"{path} was written by rotcurve {raw.get('rotcurve_version', '?')} with checkpoint schema "
            f"{version}, newer than this rotcurve {__version__} reads ({CHECKPOINT_SCHEMA_VERSION}); "
            "upgrade rotcurve"
        )
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise CheckpointError(f"{path} is damaged: it lacks {', '.join(missing)}; re-train the model")
    return raw


def _state_from_raw(path: Path, raw: dict[str, Any]) -> CheckpointState:
    from rotcurve.models import ModelConfig

    saved = raw["model_config"]
    if isinstance(saved, dict) and saved.get("model") == "ae" and saved.get("posterior", "diag") != "diag":
        # written before ModelConfig refused a posterior for an autoencoder, which ignored it
        saved = {**saved, "posterior": "diag"}
    try:
        model_config = from_dict(ModelConfig, saved, where="model_config")
        train_config = from_dict(TrainConfig, raw["train_config"], where="train_config")
    except ConfigError as exc:
        raise CheckpointError(f"{path}: its configuration is invalid ({exc}); the file is damaged") from None
    try:
        normaliser = normaliser_from_state(raw["normaliser"])
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    progress = raw["progress"]
    if not isinstance(progress, dict) or not isinstance(raw["data"], dict):
        raise CheckpointError(f"{path} is damaged (malformed progress or data); re-train the model")
    return CheckpointState(
        path=path,
        model_config=model_config,
        train_config=train_config,
        data=raw["data"],
        normaliser=normaliser,
        epoch=int(raw["epoch"]),
        step=int(raw["step"]),
        progress=progress,
        optimizer_state=raw.get("optimizer_state"),
        schedule_state=raw.get("schedule_state"),
        rng_state=raw.get("rng_state"),
        rotcurve_version=str(raw.get("rotcurve_version", "?")),
        schema_version=int(raw["schema_version"]),
    )


def load_checkpoint(
    path: str | Path, *, device: Any = "cpu", raw: dict[str, Any] | None = None
) -> tuple[LatentModel, CheckpointState]:
    """Rebuild the model from a checkpoint's config and load its weights.

    Parameters
    ----------
    path : str or Path
        A checkpoint file.
    device : str or torch.device, keyword-only
        Where the model is put (``"cpu"`` by default; a CUDA checkpoint loads
        on the CPU).
    raw : dict, keyword-only, optional
        The output of :func:`read_checkpoint` when it was read already.

    Returns
    -------
    model : LatentModel
        In evaluation mode, on ``device``.
    state : CheckpointState
        Configs, normaliser, progress and the states needed to resume.

    Raises
    ------
    CheckpointError
        Missing, damaged, foreign or newer-schema checkpoints; weights that do
        not fit the saved configuration.
    DeviceError
        An unavailable device.
    """
    from rotcurve.models import build_model

    path = Path(path)
    dev = resolve_device(device)
    if raw is None:
        raw = read_checkpoint(path, map_location="cpu")
    state = _state_from_raw(path, raw)
    model = build_model(state.model_config)
    weights = raw["model_state"]
    if not isinstance(weights, dict):
        raise CheckpointError(f"{path} is damaged (model weights are not a state dict); re-train the model")
    try:
        model.load_state_dict(weights, strict=True)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"{path}: the weights do not fit the saved model configuration ({first_line(exc).rstrip('.')[:200]}); "
            "the file is damaged"
        ) from None
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not bool(tensor.isfinite().all()):
            raise CheckpointError(f"{path}: weight {name} is not finite; the checkpoint is unusable")
    model.to(dev).eval()
    return model, state
