"""Training surrogate models: the loop, its configuration and checkpoints.

>>> from rotcurve.training import fit
>>> result = fit("curves.h5", "runs/vae4", model={"latent_dim": 4})   # doctest: +SKIP
>>> result.best_val, result.best_checkpoint

Modules: :mod:`~rotcurve.training.config` (``TrainConfig``, ``DataConfig``,
``default_train_config``), :mod:`~rotcurve.training.presets` (the tuned defaults
per kind of data, ``data/presets/<kind>.toml``), :mod:`~rotcurve.training.optim` (``OPTIMIZERS``,
``SCHEDULES``), :mod:`~rotcurve.training.device`,
:mod:`~rotcurve.training.checkpoint` (``save_checkpoint``,
``read_checkpoint``, ``load_checkpoint``), :mod:`~rotcurve.training.rundir`
(the run directory), :mod:`~rotcurve.training.loop` (``train``, ``fit``,
``evaluate``) and :mod:`~rotcurve.training.simulated` (``fit_simulated``:
fresh simulated curves every epoch).
"""

from rotcurve.training.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_SCHEMA_VERSION,
    CheckpointState,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from rotcurve.training.config import (
    AMP_MODES,
    DEVICES,
    STORAGE_MODES,
    TRAIN_DEFAULTS,
    DataConfig,
    TrainConfig,
    default_train_config,
)
from rotcurve.training.device import amp_dtype, resolve_device
from rotcurve.training.loop import TrainResult, evaluate, fit, stream_seed, train
from rotcurve.training.optim import OPTIMIZERS, SCHEDULES, build_optimizer, build_schedule
from rotcurve.training.rundir import MetricsLog, RunConfig, RunPaths, read_run_config
from rotcurve.training.simulated import fit_simulated

__all__ = [
    "TrainConfig",
    "DataConfig",
    "default_train_config",
    "TRAIN_DEFAULTS",
    "AMP_MODES",
    "DEVICES",
    "STORAGE_MODES",
    "OPTIMIZERS",
    "SCHEDULES",
    "build_optimizer",
    "build_schedule",
    "resolve_device",
    "amp_dtype",
    "train",
    "fit",
    "fit_simulated",
    "evaluate",
    "stream_seed",
    "TrainResult",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_SCHEMA_VERSION",
    "CheckpointState",
    "save_checkpoint",
    "read_checkpoint",
    "load_checkpoint",
    "RunPaths",
    "RunConfig",
    "MetricsLog",
    "read_run_config",
]
