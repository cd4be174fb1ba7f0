"""The training loop: one short function of named steps, no callback framework.

:func:`train` fits a model to loaded :class:`~rotcurve.datasets.TrainingData`
and keeps a run directory (:mod:`rotcurve.training.rundir`) up to date;
:func:`fit` is the one-call version that loads the data and picks the
defaults for its kind (what ``rotcurve train`` runs).

:func:`train` reads as the epoch loop: ``_check_arguments``, ``_prepare_run``
(the run folder, the model and a resumed run's state), then per epoch
``_train_epoch``, ``_check_diverged``, ``_validate``, ``_update_best``,
``_early_stop``, ``_save_checkpoints`` and ``_log_epoch``; they share a small
``_Run`` record.  The checkpoint layout belongs to
:mod:`rotcurve.training.checkpoint` (``checkpoint_payload``).

Each epoch:

1. the training rows are shuffled -- for device tensors (the fast path) by a
   ``torch.randperm`` drawn from a generator seeded from ``(seed, epoch)``
   and one gather, then batches are slices of the shuffled tensor (no
   ``DataLoader``); streamed data come from ``split.iter_batches`` in an
   order that also depends only on ``(seed, epoch)``;
2. for each batch: set the scheduled learning rate, forward (under bf16
   autocast on CUDA), backward, clip the gradient norm, optimiser step.  The
   batch losses stay *on the device* (one small tensor per step, reduced
   once at the end of the epoch, where a non-finite loss is located too: the
   index of the first bad step); there is no ``.item()`` and no other host
   synchronisation inside the epoch;
3. one synchronisation reads the epoch's means; a non-finite loss or weight stops the
   run with a :class:`~rotcurve.errors.TrainingError` that names the epoch
   and step (the last good checkpoint stays; a NaN model is never saved);
4. the validation split is evaluated (every ``eval_every`` epochs), the
   schedule and early stopping are told the validation loss;
5. ``checkpoints/last.pt`` is written (every ``checkpoint_every`` epochs),
   ``checkpoints/best.pt`` when the validation loss improved, and the epoch's
   record is added to ``metrics.jsonl``.

Determinism: every random stream derives from ``TrainConfig.seed`` through
:func:`rotcurve.seeds.stream_seed` -- the initial weights, the batch order of epoch ``e`` (of
streamed data: :func:`rotcurve.datasets.streaming.epoch_seed`) and the VAE's
reparameterisation noise in epoch ``e`` -- so on a CPU two runs give
identical weights, and a run interrupted after epoch ``k`` and resumed gives
the same weights as one that was never interrupted.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rotcurve.datasets.kinds import kind_for_spec
from rotcurve.datasets.loading import load_training_data
from rotcurve.errors import LR, ConfigError, DataError, DiskFullError, OutputExistsError, TrainingError
from rotcurve.seeds import TRAIN_STREAM, stream_seed
from rotcurve.training.checkpoint import (
    check_resumable,
    checkpoint_payload,
    read_checkpoint,
    restore_training_state,
    save_checkpoints,
)
from rotcurve.training.config import DataConfig, TrainConfig, default_train_config
from rotcurve.training.device import amp_dtype, autocast, resolve_device
from rotcurve.training.optim import build_optimizer, build_schedule
from rotcurve.training.rundir import (
    MetricsLog,
    RunConfig,
    RunPaths,
    clear_run_dir,
    describe_data,
    normalise_spec,
    prepare_run_dir,
    refuse_started,
    remove_run_files,
)
from rotcurve.training.rundir import holds_run_lock

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from rotcurve.models import LatentModel, ModelConfig

__all__ = ["TrainResult", "train", "fit", "evaluate", "stream_seed", "TRAIN_STREAM"]

_INIT, _ORDER, _NOISE, _EVAL = 1, 2, 3, 4  # the keys after TRAIN_STREAM (rotcurve.seeds.stream_seed)


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    run_dir : Path
        The run directory.
    model : LatentModel
        The model after the last epoch run (evaluation mode).  The best one
        is in ``checkpoints/best.pt``.
    epoch, step : int
        Completed epochs and optimiser steps.
    best_val : float
        Lowest validation loss (negative ELBO, nats per example).
    best_epoch : int
        The epoch it was reached at.
    stop_reason : str
        ``"completed"``, ``"early-stopping"``, ``"paused"`` (``stop_after``)
        or ``"already-complete"`` (a resumed run that had finished).
    history : list of dict
        The records of ``metrics.jsonl``.
    resumed_from : int or None
        The epoch the run was resumed from.
    """

    run_dir: Path
    model: Any
    epoch: int
    step: int
    best_val: float
    best_epoch: int
    stop_reason: str
    history: list[dict[str, Any]]
    resumed_from: int | None = None

    @property
    def best_checkpoint(self) -> Path:
        """``checkpoints/best.pt``."""
        return self.run_dir / "checkpoints" / "best.pt"

    @property
    def last_checkpoint(self) -> Path:
        """``checkpoints/last.pt``."""
        return self.run_dir / "checkpoints" / "last.pt"


# ----------------------------------------------------------------------------- data
def _split_len(split: Any) -> int:
    return int(split.shape[0]) if split is not None else 0


def _tensor_batches(x: torch.Tensor, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Shuffle ``x`` once (one gather) and slice it: the fast path."""
    import torch

    n = int(x.shape[0])
    perm = torch.randperm(n, generator=generator, device=generator.device)
    shuffled = x.index_select(0, perm if perm.device == x.device else perm.to(x.device))
    for i in range(0, n, batch_size):
        yield shuffled[i : i + batch_size]


def _eval_batches(split: Any, batch_size: int) -> Iterator[torch.Tensor]:
    if getattr(split, "streaming", False):
        yield from split.iter_batches(batch_size, shuffle=False)
        return
    for i in range(0, int(split.shape[0]), batch_size):
        yield split[i : i + batch_size]


# ------------------------------------------------------------------------ evaluation
def evaluate(
    model: LatentModel,
    split: Any,
    *,
    batch_size: int = 8192,
    seed: int = 0,
    amp: torch.dtype | None = None,
) -> dict[str, float]:
    """Mean per-example losses of a model on a data split.

    Parameters
    ----------
    model : LatentModel
        The model (put in evaluation mode for the call, restored after).
    split : torch.Tensor, shape (n, D), or StreamingSplit
        Normalised data.
    batch_size : int, keyword-only
        Rows per forward pass.
    seed : int, keyword-only
        Seed of the VAE's posterior draws (one per example).
    amp : torch.dtype, keyword-only, optional
        Autocast dtype (CUDA bf16), or None.

    Returns
    -------
    dict
        ``loss`` (the training loss: negative ELBO with the model's ``beta``,
        plus the ``max_weight`` term when it is on), ``recon``, ``kl`` and
        ``penalty`` (the ``max_weight`` term; 0 when it is off): means over
        the examples, nats; ``n``: number of examples.
        NaN values for an empty split.
    """
    import torch

    ref = next(model.parameters())
    device = ref.device
    gen = torch.Generator(device=device).manual_seed(stream_seed(seed, _EVAL))
    sums = torch.zeros(4, dtype=torch.float64, device=device)
    n = 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for xb in _eval_batches(split, batch_size):
                xb = xb.to(device, non_blocking=True)
                with autocast(device, amp):
                    out = model(xb, generator=gen)
                b = int(xb.shape[0])
                sums += torch.stack((out.loss, out.recon, out.kl, out.penalty)).double() * b
                n += b
    finally:
        model.train(was_training)
    if n == 0:
        return {"loss": math.nan, "recon": math.nan, "kl": math.nan, "penalty": math.nan, "n": 0}
    loss, recon, kl, penalty = (sums / n).tolist()
    return {"loss": loss, "recon": recon, "kl": kl, "penalty": penalty, "n": n}


# --------------------------------------------------------------------- epoch helpers
def _all_finite(params: list[torch.Tensor]) -> torch.Tensor:
    import torch

    return torch.stack([p.detach().isfinite().all() for p in params]).all()


def _epoch_summary(
    step_losses: list[torch.Tensor], sizes: list[int], first_step: int, params: list[torch.Tensor]
) -> torch.Tensor:
    """The epoch's statistics in one float64 tensor (read with one synchronisation).

    Parameters
    ----------
    step_losses : list of Tensor
        ``(4,)`` per optimiser step (at least one): loss, recon, kl, penalty (batch means, nats).
    sizes : list of int
        Examples in each step's batch.
    first_step : int
        Global index of the epoch's first step.
    params : list of Tensor
        The trained parameters.

    Returns
    -------
    Tensor, shape (6,)
        Example-weighted mean loss, recon, kl and penalty; the global index of the
        first step whose loss is not finite (-1 if none); 1 if every weight is
        finite, else 0.
    """
    import torch

    losses = torch.stack(step_losses).double()  # (steps, 4)
    weights = torch.tensor(sizes, dtype=torch.float64).to(losses.device, non_blocking=True)
    means = (losses * weights[:, None]).sum(0) / float(sum(sizes))
    nonfinite = ~torch.isfinite(losses[:, 0])
    index = torch.arange(len(sizes), device=losses.device, dtype=torch.float64) + first_step
    # the smallest index of a non-finite step, or -1
    first_bad = torch.where(nonfinite, index, math.inf).min()
    first_bad = torch.where(torch.isfinite(first_bad), first_bad, -1.0).reshape(1)
    return torch.cat((means, first_bad, _all_finite(params).double().reshape(1)))


def _fmt(x: float) -> str:
    return f"{x:.5g}" if x is not None and math.isfinite(x) else str(x)


def _fresh_progress() -> dict[str, Any]:
    """The ``progress`` of a checkpoint before the first epoch."""
    return {"best_val": math.inf, "best_epoch": 0, "bad_evals": 0, "finished": False, "stop_reason": None}


@dataclasses.dataclass
class _Run:
    """What the steps of one :func:`train` call share: the objects trained and the counters."""

    paths: RunPaths
    cfg: TrainConfig
    model_config: ModelConfig
    data: Any
    data_desc: dict[str, Any]  # describe_data(data): saved in checkpoints, checked on resume
    device: torch.device
    amp: torch.dtype | None
    model: LatentModel
    params: list[torch.Tensor]
    optimizer: Any
    schedule: Any
    steps_per_epoch: int
    has_val: bool
    metrics: MetricsLog | None = None
    progress: dict[str, Any] = dataclasses.field(default_factory=_fresh_progress)
    epoch: int = 0  # completed epochs (the current one, inside the loop)
    step: int = 0  # completed optimiser steps
    resumed_from: int | None = None
    last_saved: int | None = None  # the epoch of the last last.pt
    forward: Any = None  # the model, or its torch.compile version
    train_x: Any = None  # data.train / data.val, on the device (unless streamed)
    val_split: Any = None
    streaming: bool = False


@dataclasses.dataclass(frozen=True)
class _EpochStats:
    """What :func:`_train_epoch` measured (read from the device once)."""

    loss: float  # example-weighted means, nats per example
    recon: float
    kl: float
    penalty: float  # the max_weight term (0 when it is off)
    bad_step: float  # global index of the first non-finite step, -1 if none
    weights_ok: bool
    lr: float  # the rate of the epoch's last step
    examples: int
    seconds: float


# ------------------------------------------------------------------- the loop's steps
def _check_arguments(
    data: Any,
    model_config: ModelConfig,
    cfg: TrainConfig,
    data_config: DataConfig | None,
    stop_after: int | None,
) -> tuple[torch.device, torch.dtype | None, DataConfig]:
    """Refuse inconsistent inputs before anything is written.

    Returns the device, the autocast dtype (or None) and the data config
    (derived from ``data.meta`` when not given).
    """
    device = resolve_device(cfg.device)
    amp = amp_dtype(cfg.amp, device)
    if model_config.input_dim != data.input_dim:
        raise ConfigError(
            f"the model's input_dim ({model_config.input_dim}) differs from the data's "
            f"({data.input_dim} features); build the config with input_dim={data.input_dim}"
        )
    if stop_after is not None and (isinstance(stop_after, bool) or int(stop_after) < 1):
        raise ConfigError(f"stop_after must be a positive number of epochs, got {stop_after!r}")
    if data_config is None:
        data_config = DataConfig(
            spec=normalise_spec(data.meta["source"]), fractions=tuple(data.meta["fractions"]), storage="auto"
        )
    if int(data.meta["seed"]) != cfg.seed:
        raise ConfigError(
            f"the data were split with seed {data.meta['seed']} but the training seed is {cfg.seed}; "
            "load the data with the run's seed"
        )
    if _split_len(data.train) == 0:
        raise DataError("the training split is empty; use more data")
    return device, amp, data_config


def _new_run(
    data: Any, paths: RunPaths, model_config: ModelConfig, cfg: TrainConfig, device: Any, amp: Any
) -> _Run:
    """A run at epoch 0: fresh weights from the run's seed, the optimiser and the schedule."""
    import torch

    from rotcurve.models import build_model

    data_desc = describe_data(data)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream_seed(cfg.seed, _INIT))
        model = build_model(model_config)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizer(params, cfg, device)
    steps_per_epoch = math.ceil(_split_len(data.train) / cfg.batch_size)
    schedule = build_schedule(cfg, cfg.epochs * steps_per_epoch)
    return _Run(
        paths=paths,
        cfg=cfg,
        model_config=model_config,
        data=data,
        data_desc=data_desc,
        device=device,
        amp=amp,
        model=model,
        params=params,
        optimizer=optimizer,
        schedule=schedule,
        steps_per_epoch=steps_per_epoch,
        has_val=_split_len(data.val) > 0,
    )


def _prepare_run(
    data: Any,
    run_dir: Path,
    model_config: ModelConfig,
    cfg: TrainConfig,
    data_config: DataConfig,
    device: Any,
    amp: Any,
    resume: bool,
    overwrite: bool,
) -> _Run:
    """The run folder checked (and cleared for a fresh start) and the run built; when
    resuming, the state of ``last.pt`` loaded (``run.progress["finished"]``: nothing to do)."""
    paths = RunPaths(run_dir)
    run_config = RunConfig(model=model_config, train=cfg, data=data_config)
    resume_from = prepare_run_dir(paths, run_config, resume=resume, overwrite=overwrite)
    run = _new_run(data, paths, model_config, cfg, device, amp)
    if resume_from is None:
        clear_run_dir(paths)
        if data_config.simulate is None:  # a simulated run replaced by a file-trained one
            paths.reference.unlink(missing_ok=True)
        run_config.save(paths.config)
        run.metrics = MetricsLog(paths.metrics)
        run.metrics.flush()
        return run
    raw = read_checkpoint(resume_from, map_location=device)
    check_resumable(
        raw,
        run=paths.root,
        source=resume_from,
        data_desc=run.data_desc,
        model_config=model_config,
        train_config=cfg,
    )
    run.epoch, run.step, saved = restore_training_state(
        raw, model=run.model, optimizer=run.optimizer, schedule=run.schedule
    )
    run.progress.update(saved)
    run.metrics = MetricsLog.load(paths.metrics, upto_epoch=run.epoch)
    run.resumed_from = run.last_saved = run.epoch
    if not run.progress["finished"] and not paths.config.exists():
        run_config.save(paths.config)
    return run


def _to_device(run: _Run) -> None:
    """The forward pass (compiled if asked for) and the splits on the run's device."""
    import torch

    run.forward = torch.compile(run.model) if run.cfg.compile else run.model
    run.streaming = bool(getattr(run.data.train, "streaming", False))
    run.train_x = run.data.train
    if not run.streaming and run.train_x.device != run.device:
        run.train_x = run.train_x.to(run.device)
    run.val_split = run.data.val
    if run.has_val and not getattr(run.val_split, "streaming", False) and run.val_split.device != run.device:
        run.val_split = run.val_split.to(run.device)


def _progress_bar(run: _Run, *, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=run.cfg.epochs * run.steps_per_epoch,
        initial=run.step,
        unit="step",
        desc="train",
        disable=not enabled,
        dynamic_ncols=True,
        leave=True,
    )


def _epoch_batches(run: _Run) -> Iterator[torch.Tensor]:
    """The training batches of epoch ``run.epoch``, in an order that depends on ``(seed, epoch)`` only."""
    import torch

    cfg = run.cfg
    if run.streaming:  # the stream derives its order in rotcurve.datasets.streaming.epoch_seed
        return run.train_x.iter_batches(cfg.batch_size, seed=cfg.seed, epoch=run.epoch)
    order = torch.Generator(device=run.device).manual_seed(stream_seed(cfg.seed, _ORDER, run.epoch))
    return _tensor_batches(run.train_x, cfg.batch_size, order)


def _train_epoch(run: _Run, bar: Any) -> _EpochStats:
    """One pass over the training split.  The batch losses stay on the device; they are
    read once, at the end, with the check that every loss and weight is finite."""
    import torch

    cfg, t0 = run.cfg, time.perf_counter()
    run.model.train()
    noise = torch.Generator(device=run.device).manual_seed(stream_seed(cfg.seed, _NOISE, run.epoch))
    first_step = run.step
    step_losses: list[torch.Tensor] = []  # (4,) per step, reduced once per epoch
    sizes: list[int] = []
    lr = run.schedule.lr_at(run.step)
    set_lr = None
    for xb in _epoch_batches(run):
        lr = run.schedule.lr_at(run.step)
        if lr != set_lr:  # constant schedules set it once
            for group in run.optimizer.param_groups:
                group["lr"] = lr
            set_lr = lr
        with autocast(run.device, run.amp):
            out = run.forward(xb, generator=noise)
        run.optimizer.zero_grad(set_to_none=True)
        loss = out.loss
        kl_weight = _kl_weight(run)
        if kl_weight < 1.0:  # KL warm-up: recon + w * beta * kl (+ the max term)
            loss = out.recon + kl_weight * run.model_config.beta * out.kl + out.penalty
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(run.params, cfg.grad_clip, foreach=True)
        run.optimizer.step()
        step_losses.append(torch.stack((out.loss, out.recon, out.kl, out.penalty)).detach())
        sizes.append(int(xb.shape[0]))
        run.step += 1
        bar.update(1)
    # -- the one synchronisation of the epoch
    summary = _epoch_summary(step_losses, sizes, first_step, run.params).tolist()
    loss, recon, kl, penalty, bad_step, weights_ok = summary
    return _EpochStats(loss, recon, kl, penalty, bad_step, bool(weights_ok), lr, sum(sizes), time.perf_counter() - t0)


def _kl_weight(run: _Run) -> float:
    """The KL warm-up factor of the current step: rises linearly from 0 to 1 over the first
    ``kl_warmup`` fraction of all steps (1 without warm-up, and for models without a KL)."""
    total = run.cfg.kl_warmup * run.cfg.epochs * run.steps_per_epoch
    if total <= 0 or not getattr(run.model, "_has_kl", False):
        return 1.0
    return min(1.0, (run.step + 1) / total)


def _check_diverged(run: _Run, stats: _EpochStats) -> None:
    """Stop with a TrainingError when a loss or a weight became NaN or infinite."""
    if stats.bad_step < 0 and math.isfinite(stats.loss) and stats.weights_ok:
        return
    bad = stats.bad_step >= 0
    where = f"step {int(stats.bad_step)}" if bad else f"the end of the epoch (step {run.step})"
    what = "the training loss became NaN or infinite" if bad else "a weight became NaN or infinite"
    kept = (
        f"the last good checkpoint {run.paths.last} (epoch {run.last_saved}) is kept"
        if run.last_saved
        else "no checkpoint had been written yet"
    )
    raise TrainingError.both(
        "training diverged at epoch {epoch}, {where}: {what} (lr {lr:.3g}); {kept}; "
        "lower the learning rate ({opt}){clip}",
        epoch=run.epoch, where=where, what=what, lr=stats.lr, kept=kept, opt=LR,
        clip=" or keep gradient clipping on" if run.cfg.grad_clip > 0 else "",
    )


def _validate(run: _Run) -> dict[str, float] | None:
    """The validation losses (:func:`evaluate`), or None without a validation split."""
    if not run.has_val:
        return None
    cfg = run.cfg
    val = evaluate(run.model, run.val_split, batch_size=cfg.eval_batch_size, seed=cfg.seed, amp=run.amp)
    if not math.isfinite(val["loss"]):
        raise TrainingError.both(
            "training diverged at epoch {epoch}: the validation loss is {loss}; "
            "the last good checkpoint {last} (epoch {saved}) is kept; lower the learning rate ({opt})",
            epoch=run.epoch, loss=val["loss"], last=run.paths.last, saved=run.last_saved, opt=LR,
        )
    return val


def _update_best(run: _Run, monitor: float) -> bool:
    """Tell the schedule the monitored loss and keep the best one; True if it improved."""
    run.schedule.after_eval(monitor)
    if monitor < run.progress["best_val"] - run.cfg.min_delta:
        run.progress.update(best_val=monitor, best_epoch=run.epoch, bad_evals=0)
        return True
    run.progress["bad_evals"] += 1
    return False


def _early_stop(run: _Run) -> bool:
    """``patience`` evaluations in a row without an improvement (0: never)."""
    return bool(run.cfg.patience) and run.progress["bad_evals"] >= run.cfg.patience


def _save_checkpoints(run: _Run, *, last_due: bool, improved: bool) -> None:
    """``last.pt`` when due, ``best.pt`` when the monitored loss improved."""
    if not (last_due or improved):
        return
    payload = checkpoint_payload(
        model=run.model,
        optimizer=run.optimizer,
        schedule=run.schedule,
        model_config=run.model_config,
        train_config=run.cfg,
        data_desc=run.data_desc,
        normaliser=run.data.normaliser,
        epoch=run.epoch,
        step=run.step,
        progress=run.progress,
    )
    paths = run.paths
    save_checkpoints(payload, last=paths.last, best=paths.best, write_last=last_due, write_best=improved)
    if last_due:
        run.last_saved = run.epoch


def _log_epoch(
    run: _Run, bar: Any, stats: _EpochStats, val: dict[str, float] | None, improved: bool, seconds: float
) -> None:
    """The epoch's record in ``metrics.jsonl`` and on the progress bar."""
    record: dict[str, Any] = {
        "epoch": run.epoch,
        "step": run.step,
        "train_loss": stats.loss,
        "train_recon": stats.recon,
        "train_kl": stats.kl,
        "train_penalty": stats.penalty,
        "val_loss": val["loss"] if val is not None else None,
        "val_recon": val["recon"] if val is not None else None,
        "val_kl": val["kl"] if val is not None else None,
        "val_penalty": val["penalty"] if val is not None else None,
        "lr": stats.lr,
        "best": improved,
        "seconds": seconds,
        "train_seconds": stats.seconds,
        "samples_per_s": stats.examples / stats.seconds if stats.seconds > 0 else None,
    }
    run.metrics.append(record)
    bar.set_postfix(
        epoch=f"{run.epoch}/{run.cfg.epochs}",
        train=_fmt(stats.loss),
        val=_fmt(record["val_loss"]) if val is not None else "-",
        refresh=False,
    )


def _result(run: _Run, stop_reason: str) -> TrainResult:
    run.model.eval()
    return TrainResult(
        run_dir=run.paths.root,
        model=run.model,
        epoch=run.epoch,
        step=run.step,
        best_val=float(run.progress["best_val"]),
        best_epoch=int(run.progress["best_epoch"]),
        stop_reason=stop_reason,
        history=run.metrics.records,
        resumed_from=run.resumed_from,
    )


# ------------------------------------------------------------------------------ train
@holds_run_lock  # one run at a time per run folder (RUN_DIR.lock)
def train(
    data: Any,
    run_dir: str | os.PathLike[str],
    *,
    model_config: ModelConfig,
    train_config: TrainConfig,
    data_config: DataConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainResult:
    """Train a model and keep ``run_dir`` up to date.

    Parameters
    ----------
    data : TrainingData
        From :func:`rotcurve.datasets.load_training_data`; the splits are
        normalised ``(n, input_dim)`` float32 tensors or streams.
    run_dir : path
        The run directory (created; see :mod:`rotcurve.training.rundir`).
    model_config : ModelConfig, keyword-only
        The architecture; ``input_dim`` must equal ``data.input_dim``.
    train_config : TrainConfig, keyword-only
        Optimiser, schedule, epochs, seed, device...
    data_config : DataConfig, keyword-only, optional
        Saved in ``config.json``; derived from ``data.meta`` when omitted.
    resume : bool, keyword-only
        Go on from ``checkpoints/last.pt`` (the settings must be the same).
    overwrite : bool, keyword-only
        Replace an existing run (its files are removed only once the inputs
        have been checked).
    progress : bool, keyword-only
        Show a tqdm progress bar (on stderr).
    stop_after : int, keyword-only, optional
        Run at most this many epochs in this call, then write ``last.pt`` and
        return (``stop_reason="paused"``); ``resume=True`` goes on later.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingError
        The loss or a weight became NaN or infinite (the message names the
        epoch and step; the last good checkpoint is kept).
    OutputExistsError
        ``run_dir`` holds a run and neither ``resume`` nor ``overwrite`` is set.
    ConfigError
        Inconsistent settings; resuming with different settings.
    CheckpointError
        Nothing to resume from; a damaged checkpoint.
    DataError
        The data changed since the run being resumed started.
    DeviceError
        CUDA asked for where there is none.
    """
    device, amp, data_config = _check_arguments(data, model_config, train_config, data_config, stop_after)
    try:
        run = _prepare_run(
            data, Path(run_dir), model_config, train_config, data_config, device, amp, resume, overwrite
        )
        return _epochs(run, progress=progress, stop_after=stop_after)
    except DiskFullError:
        # a fresh run that could not write its first checkpoint leaves nothing: its
        # config.json and metrics.jsonl would otherwise ask for a --resume there is nothing to resume from
        paths = RunPaths(Path(run_dir))
        if not resume and not paths.last.exists() and not paths.best.exists():
            remove_run_files(paths)
        raise


def _epochs(run: _Run, *, progress: bool, stop_after: int | None) -> TrainResult:
    """The epoch loop of :func:`train` on a prepared run."""
    if run.progress["finished"]:
        return _result(run, "already-complete")
    _to_device(run)
    cfg = run.cfg
    stop_reason, epochs_this_call = "completed", 0
    with _progress_bar(run, enabled=progress) as bar:
        while run.epoch < cfg.epochs:
            run.epoch += 1
            t0 = time.perf_counter()
            stats = _train_epoch(run, bar)
            _check_diverged(run, stats)
            val, improved = None, False
            if run.epoch % cfg.eval_every == 0 or run.epoch == cfg.epochs:
                val = _validate(run)
                improved = _update_best(run, val["loss"] if val is not None else stats.loss)
                if _early_stop(run):
                    stop_reason = "early-stopping"
            epochs_this_call += 1
            finished = run.epoch == cfg.epochs or stop_reason == "early-stopping"
            paused = not finished and stop_after is not None and epochs_this_call >= stop_after
            if finished:
                run.progress.update(finished=True, stop_reason=stop_reason)
            last_due = run.epoch % cfg.checkpoint_every == 0 or finished or paused
            _save_checkpoints(run, last_due=last_due, improved=improved)
            _log_epoch(run, bar, stats, val, improved, seconds=time.perf_counter() - t0)
            if finished:
                break
            if paused:
                stop_reason = "paused"
                break
    return _result(run, stop_reason)


_train = train  # ``fit`` has a keyword named ``train``


@holds_run_lock  # taken before the folder is looked at: a run in use is named as such
def fit(
    spec: str | os.PathLike[str],
    run_dir: str | os.PathLike[str],
    *,
    model: Mapping[str, Any] | ModelConfig | None = None,
    train: Mapping[str, Any] | TrainConfig | None = None,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    storage: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainResult:
    """Load a data set and train a model on it with the defaults for its kind.

    Parameters
    ----------
    spec : path or str
        A rotcurve HDF5 file or ``"mnist:DIR"``.
    run_dir : path
        The run directory.
    model : dict or ModelConfig, keyword-only, optional
        Overrides of :func:`rotcurve.models.default_config` for the data's
        kind (e.g. ``{"latent_dim": 2, "posterior": "full"}``), or a whole
        config.
    train : dict or TrainConfig, keyword-only, optional
        Overrides of :func:`~rotcurve.training.config.default_train_config`
        (e.g. ``{"epochs": 50, "seed": 1}``), or a whole config.
    fractions : (float, float, float), keyword-only
        Train / validation / test fractions.
    storage : {"auto", "memory", "stream"}, keyword-only
        How curve data are held.
    resume, overwrite, progress, stop_after
        As for :func:`train`.

    Returns
    -------
    TrainResult

    Raises
    ------
    RotcurveError
        See :func:`train` and :func:`rotcurve.datasets.load_training_data`.
    """
    from rotcurve.models import ModelConfig, default_config

    text = os.fspath(spec)
    kind = kind_for_spec(text).name
    if isinstance(train, TrainConfig):
        train_config = train
    else:
        train_config = default_train_config(kind, **dict(train or {}))
    device = resolve_device(train_config.device)  # fail before reading anything
    amp_dtype(train_config.amp, device)
    data_config = DataConfig(spec=normalise_spec(text), fractions=tuple(fractions), storage=storage)
    refuse_started(RunPaths(Path(run_dir)), resume=resume, overwrite=overwrite)  # before the data load
    if isinstance(model, ModelConfig):
        default_config(kind, model.input_dim)  # validates the kind
    elif model is not None:
        # validate the overrides before the (possibly long) data load
        default_config(kind, 1, **dict(model))
    data = load_training_data(
        data_config.spec,
        seed=train_config.seed,
        fractions=data_config.fractions,
        device=device,
        in_memory=data_config.in_memory,
    )
    if isinstance(model, ModelConfig):
        model_config = model
    else:
        model_config = default_config(kind, data.input_dim, **dict(model or {}))
    return _train(
        data,
        run_dir,
        model_config=model_config,
        train_config=train_config,
        data_config=data_config,
        resume=resume,
        overwrite=overwrite,
        progress=progress,
        stop_after=stop_after,
    )
