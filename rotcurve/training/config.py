"""The training configuration: one small dataclass, saved in ``config.json`` and every checkpoint.

``TrainConfig()`` holds generic defaults; :func:`default_train_config` gives
the tuned starting points for rotation curves and for MNIST (the ones
``rotcurve train`` uses), read from ``data/presets/<kind>.toml``.  ``rotcurve.serialization.from_dict(TrainConfig, d)``
rebuilds a config from its JSON form and refuses unknown keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from rotcurve.datasets.splits import check_fractions
from rotcurve.errors import ConfigError
from rotcurve.serialization import from_dict, to_dict
from rotcurve.training.optim import OPTIMIZERS, SCHEDULES  # optim imports nothing from here at run time
from rotcurve.training.presets import PRESET_KINDS, load_preset
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT
from rotcurve.validation import check_choice, check_float, check_int, is_number

__all__ = [
    "TrainConfig",
    "DataConfig",
    "SimulateConfig",
    "REFERENCE_SIZE",
    "STORAGE_MODES",
    "AMP_MODES",
    "DEVICES",
    "TRAIN_DEFAULTS",
    "default_train_config",
]

#: Mixed-precision modes: ``"auto"`` is bf16 autocast on CUDA and off on CPU.
AMP_MODES: tuple[str, ...] = ("auto", "bf16", "off")
#: Device choices: ``"auto"`` is CUDA when there is one, else the CPU.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained.

    Attributes
    ----------
    epochs : int
        Number of passes over the training split (>= 1).
    batch_size : int
        Examples per optimiser step.
    lr : float
        Peak learning rate (> 0).
    optimizer : str
        ``OPTIMIZERS`` name: ``"adam"`` or ``"adamw"``.
    weight_decay : float
        Decoupled weight decay for ``"adamw"``, L2 penalty for ``"adam"`` (>= 0).
    betas : (float, float)
        Adam's decay rates of the first and second moment estimates (each in
        [0, 1)); torch's ``(0.9, 0.999)`` by default.
    schedule : str
        ``SCHEDULES`` name: ``"cosine"`` (linear warm-up, then cosine decay
        to ``lr * min_lr_ratio``, per step), ``"plateau"`` (multiply the rate
        by ``plateau_factor`` after ``plateau_patience`` evaluations without
        improvement of the validation loss) or ``"none"`` (constant).
    warmup : float
        Cosine: fraction of all steps spent warming up linearly from 0 (in [0, 1)).
    min_lr_ratio : float
        Cosine: final rate as a fraction of ``lr`` (in [0, 1]).
    plateau_factor : float
        Plateau: factor applied to the rate (in (0, 1)).
    plateau_patience : int
        Plateau: evaluations without improvement before the rate drops.
    grad_clip : float
        Clip the global gradient norm to this value; 0 turns clipping off.
    kl_warmup : float
        Fraction of all steps over which the KL weight rises linearly from 0
        to the model's ``beta`` (in [0, 1)); 0 (the generic default) trains
        with ``beta`` from the first step.  Validation losses always use the
        full ``beta``.
    patience : int
        Early stopping: stop after this many evaluations without an
        improvement of the validation loss by more than ``min_delta``; 0 turns
        early stopping off.
    min_delta : float
        Smallest decrease of the validation loss (nats per example) that
        counts as an improvement.
    amp : str
        ``"auto"`` (bf16 autocast on CUDA, off on CPU), ``"bf16"`` (CUDA only)
        or ``"off"``.
    seed : int
        The one seed: data split, initial weights, batch order and the
        VAE's noise all derive from it.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    eval_every : int
        Evaluate on the validation split every this many epochs (and after
        the last one).
    checkpoint_every : int
        Write ``checkpoints/last.pt`` every this many epochs (and after the
        last one).  ``best.pt`` is written whenever the validation loss
        improves.
    eval_batch_size : int
        Examples per batch when evaluating.
    compile : bool
        Run the training step through ``torch.compile`` (needs a working
        compiler tool chain; mostly useful on a GPU).
    """

    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    optimizer: str = "adamw"
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: str = "cosine"
    warmup: float = 0.02
    min_lr_ratio: float = 0.01
    plateau_factor: float = 0.5
    plateau_patience: int = 5
    grad_clip: float = 1.0
    kl_warmup: float = 0.0
    patience: int = 0
    min_delta: float = 0.0
    amp: str = "auto"
    seed: int = 0
    device: str = "auto"
    eval_every: int = 1
    checkpoint_every: int = 1
    eval_batch_size: int = 8192
    compile: bool = False

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, numpy=False)
        check_int("batch_size", self.batch_size, numpy=False)
        check_int("eval_batch_size", self.eval_batch_size, numpy=False)
        check_int("eval_every", self.eval_every, numpy=False)
        check_int("checkpoint_every", self.checkpoint_every, numpy=False)
        check_int("plateau_patience", self.plateau_patience, minimum=0, numpy=False)
        check_int("patience", self.patience, minimum=0, numpy=False)
        check_int("seed", self.seed, minimum=0, numpy=False)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("amp", self.amp, AMP_MODES)
        check_choice("device", self.device, DEVICES)
        if not isinstance(self.compile, bool):
            raise ConfigError(f"compile must be true or false, got {self.compile!r}")
        checks = {
            "lr": dict(minimum=0.0, strict=True),
            "weight_decay": dict(minimum=0.0),
            "warmup": dict(minimum=0.0, maximum=0.99),
            "min_lr_ratio": dict(minimum=0.0, maximum=1.0),
            "plateau_factor": dict(minimum=0.0, strict=True, maximum=0.999),
            "grad_clip": dict(minimum=0.0),
            "kl_warmup": dict(minimum=0.0, maximum=0.99),
            "min_delta": dict(minimum=0.0),
        }
        for name, kw in checks.items():
            object.__setattr__(self, name, check_float(name, getattr(self, name), numpy=False, **kw))
        betas = self.betas
        if (
            not isinstance(betas, (tuple, list))
            or len(betas) != 2
            or not all(
                is_number(b, numpy=False) and 0.0 <= b < 1.0 for b in betas
            )
        ):
            raise ConfigError(f"betas must be two numbers in [0, 1), got {betas!r}")
        object.__setattr__(self, "betas", (float(betas[0]), float(betas[1])))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output, refusing unknown keys."""
        return from_dict(cls, data)


#: How curve data are held: in memory when they fit (``"auto"``), always
#: (``"memory"``) or streamed from disk (``"stream"``).
STORAGE_MODES: tuple[str, ...] = ("auto", "memory", "stream")


#: Default number of curves in a simulated run's reference file (normaliser, validation, test).
REFERENCE_SIZE: int = 20_000


@dataclass(frozen=True)
class SimulateConfig:
    """Training on fresh simulated curves (``rotcurve train --simulate N``).

    Every epoch draws ``n`` new parameter sets from the prior (a torch
    generator seeded from the run's seed and the epoch) and evaluates the
    torch physics on the training device
    (:class:`rotcurve.datasets.simulate.SimulatedSplit`).  The normaliser
    and the fixed validation and test splits come from ``RUN_DIR/reference.h5``:
    ``reference_size`` curves generated once (``rotcurve generate``'s file
    format, seed :func:`rotcurve.datasets.simulate.reference_seed` of the
    run's seed) and split with the run's seed and fractions like any file.

    Attributes
    ----------
    n : int
        Fresh curves per epoch (>= 1); an epoch has ``ceil(n / batch_size)`` steps.
    prior : dict
        The prior's full definition (``kind`` and every field, as
        ``Prior.to_dict`` writes it), so that the run is reproducible.
    radii : dict
        The radius grid (``RadiiSpec.to_dict``).
    reference_size : int
        Curves of the reference file (>= 20).
    H0, Delta : float
        Cosmology of the halo (km/s/Mpc; overdensity relative to critical).
    """

    n: int
    prior: dict[str, Any]
    radii: dict[str, Any]
    reference_size: int = REFERENCE_SIZE
    H0: float = H0_DEFAULT
    Delta: float = DELTA_DEFAULT

    def __post_init__(self) -> None:
        from rotcurve.generator.priors import prior_from_dict
        from rotcurve.generator.radii import RadiiSpec

        check_int("simulate", self.n, numpy=False)
        check_int("reference_size", self.reference_size, minimum=20, numpy=False)
        object.__setattr__(self, "prior", prior_from_dict(self.prior, where="prior").to_dict())
        if not isinstance(self.radii, dict):
            raise ConfigError(f"radii must be a table of settings (RadiiSpec), got {self.radii!r}")
        object.__setattr__(self, "radii", RadiiSpec.from_dict(self.radii).to_dict())
        for name in ("H0", "Delta"):
            object.__setattr__(self, name, check_float(name, getattr(self, name), minimum=0.0, strict=True, numpy=False))

    def make_prior(self) -> Any:
        """The prior object."""
        from rotcurve.generator.priors import prior_from_dict

        return prior_from_dict(self.prior)

    def make_radii(self) -> Any:
        """The :class:`~rotcurve.generator.radii.RadiiSpec`."""
        from rotcurve.generator.radii import RadiiSpec

        return RadiiSpec.from_dict(self.radii)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_dict(self)


@dataclass(frozen=True)
class DataConfig:
    """Which data a run trains on and how it is split.

    Attributes
    ----------
    spec : str
        A rotcurve HDF5 file (stored as an absolute path) or ``"mnist:DIR"``.
    fractions : tuple of 3 float
        Train, validation and test fractions (sum 1); the split is drawn
        from ``TrainConfig.seed``.
    storage : str
        ``"auto"``, ``"memory"`` or ``"stream"`` (curves only).
    simulate : SimulateConfig or None
        Set for a run trained on fresh simulated curves; ``spec`` is then
        the run's reference file ``RUN_DIR/reference.h5`` (validation, test
        and the normaliser).  None (the default, saved as ``null``) for a
        run trained on its file.
    """

    spec: str
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    storage: str = "auto"
    simulate: SimulateConfig | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.spec, str) or not self.spec:
            raise ConfigError(f"data spec must be a file name or mnist:DIR, got {self.spec!r}")
        object.__setattr__(self, "fractions", tuple(check_fractions(self.fractions)))
        check_choice("storage", self.storage, STORAGE_MODES)
        if self.simulate is not None and not isinstance(self.simulate, SimulateConfig):
            raise ConfigError(f"simulate must be a SimulateConfig or None, got {self.simulate!r}")

    @property
    def source(self) -> str:
        """``"simulate"`` (fresh curves every epoch) or ``"file"``."""
        return "file" if self.simulate is None else "simulate"

    @property
    def in_memory(self) -> bool | str:
        """The ``in_memory`` argument of ``load_training_data``."""
        return {"auto": "auto", "memory": True, "stream": False}[self.storage]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_dict(self)


#: Tuned defaults per kind of data (see :func:`default_train_config`); the values and
#: their reasons are in ``data/presets/<kind>.toml`` (:mod:`rotcurve.training.presets`).
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    kind: load_preset(kind).settings("train", TrainConfig) for kind in PRESET_KINDS
}


def default_train_config(kind: str, **overrides: Any) -> TrainConfig:
    """The tuned training configuration for a kind of data.

    Parameters
    ----------
    kind : {"curves", "mnist"}
        The kind of training data.
    **overrides
        Any :class:`TrainConfig` field, replacing the default.

    Returns
    -------
    TrainConfig

    Raises
    ------
    ConfigError
        For an unknown kind, an unknown field or an invalid value.
    """
    check_choice("kind of data", kind, TRAIN_DEFAULTS)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(
            f"unknown training setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(fields))}"
        )
    return TrainConfig(**{**TRAIN_DEFAULTS[kind], **overrides})
