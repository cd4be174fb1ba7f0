"""Optimisers and learning-rate schedules, chosen by name from registries.

:data:`OPTIMIZERS` maps a name to a function that builds a ``torch.optim``
optimiser; :data:`SCHEDULES` maps a name to a small schedule class.  A
schedule is plain Python (no tensors, so setting the rate never synchronises
with a GPU): the loop asks :meth:`Schedule.lr_at` for the rate of every step
and tells :meth:`Schedule.after_eval` each validation loss.

``"cosine"``
    Linear warm-up over the first ``warmup`` fraction of all steps, then a
    cosine decay from ``lr`` to ``lr * min_lr_ratio`` at the last step.
``"plateau"``
    Constant, multiplied by ``plateau_factor`` whenever the validation loss
    has not improved by more than ``min_delta`` for ``plateau_patience``
    evaluations.
``"none"``
    Constant ``lr``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rotcurve.errors import CheckpointError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from rotcurve.training.config import TrainConfig  # annotations only: config imports this module

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Schedule",
    "CosineSchedule",
    "PlateauSchedule",
    "ConstantSchedule",
    "build_optimizer",
    "build_schedule",
]


def _fast(cls: Any, params: Iterable[Any], cfg: TrainConfig) -> Any:
    """``cls`` with the fused implementation (one kernel per step; CUDA, and CPU in torch >= 2.4),
    falling back to the multi-tensor one where fused is not supported."""
    params = list(params)
    try:
        return cls(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, foreach=True)


def _adam(params: Iterable[Any], cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    import torch

    return _fast(torch.optim.Adam, params, cfg)


def _adamw(params: Iterable[Any], cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    import torch

    return _fast(torch.optim.AdamW, params, cfg)


#: Optimiser builders by name: ``build(params, train_config, device)``.
OPTIMIZERS: dict[str, Callable[..., Any]] = {"adam": _adam, "adamw": _adamw}


class Schedule:
    """Base class: the learning rate of each step.

    Parameters
    ----------
    cfg : TrainConfig
        Supplies ``lr`` and the schedule's settings.
    total_steps : int
        Number of optimiser steps in the whole run.
    """

    def __init__(self, cfg: TrainConfig, total_steps: int) -> None:
        self.base_lr = float(cfg.lr)
        self.total_steps = max(1, int(total_steps))

    def lr_at(self, step: int) -> float:  # pragma: no cover - overridden
        """Learning rate for optimiser step ``step`` (0-based)."""
        raise NotImplementedError

    def after_eval(self, val_loss: float) -> None:
        """Record a validation loss (nats per example); most schedules ignore it."""

    def state_dict(self) -> dict[str, Any]:
        """Plain-data state (for checkpoints)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""


class CosineSchedule(Schedule):
    """Linear warm-up, then cosine decay to ``lr * min_lr_ratio``."""

    def __init__(self, cfg: TrainConfig, total_steps: int) -> None:
        super().__init__(cfg, total_steps)
        self.warmup_steps = int(cfg.warmup * self.total_steps)
        self.min_ratio = float(cfg.min_lr_ratio)

    def lr_at(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - 1 - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.base_lr * (
            self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
        )


class PlateauSchedule(Schedule):
    """Constant rate, reduced when the validation loss stops improving."""

    def __init__(self, cfg: TrainConfig, total_steps: int) -> None:
        super().__init__(cfg, total_steps)
        self.factor = float(cfg.plateau_factor)
        self.patience = int(cfg.plateau_patience)
        self.min_delta = float(cfg.min_delta)
        self.scale = 1.0
        self.best = math.inf
        self.bad = 0

    def lr_at(self, step: int) -> float:
        return self.base_lr * self.scale

    def after_eval(self, val_loss: float) -> None:
        if val_loss < self.best - self.min_delta:
            self.best, self.bad = float(val_loss), 0
            return
        self.bad += 1
        if self.bad > self.patience:
            self.scale *= self.factor
            self.bad = 0

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "best": self.best, "bad": self.bad}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            self.scale = float(state["scale"])
            self.best = float(state["best"])
            self.bad = int(state["bad"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"plateau schedule state is malformed ({exc!r})") from None


class ConstantSchedule(Schedule):
    """The same rate for every step."""

    def lr_at(self, step: int) -> float:
        return self.base_lr


#: Schedule classes by name.
SCHEDULES: dict[str, type[Schedule]] = {
    "cosine": CosineSchedule,
    "plateau": PlateauSchedule,
    "none": ConstantSchedule,
}


def build_optimizer(params: Iterable[Any], cfg: TrainConfig, device: torch.device) -> Any:
    """The optimiser ``cfg.optimizer`` over ``params``.

    Parameters
    ----------
    params : iterable of torch.nn.Parameter
        What to optimise.
    cfg : TrainConfig
        ``optimizer``, ``lr`` and ``weight_decay``.
    device : torch.device
        The parameters' device (the fused implementation is used where torch
        supports it, the multi-tensor one otherwise).
    """
    return OPTIMIZERS[cfg.optimizer](params, cfg, device)


def build_schedule(cfg: TrainConfig, total_steps: int) -> Schedule:
    """The schedule ``cfg.schedule`` for a run of ``total_steps`` optimiser steps."""
    return SCHEDULES[cfg.schedule](cfg, total_steps)
