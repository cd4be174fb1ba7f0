"""The training loop: one readable function, no callback framework.

:func:`train` fits a model to loaded :class:`~rotcurve.datasets.TrainingData`
and keeps a run directory (:mod:`rotcurve.training.rundir`) up to date;
:func:`fit` is the one-call version that loads the data and picks the
defaults for its kind (what ``rotcurve train`` runs).

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
:func:`stream_seed` -- the initial weights, the batch order of epoch ``e`` and
the VAE's reparameterisation noise in epoch ``e`` -- so on a CPU two runs give
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

import numpy as np

from rotcurve.config import to_dict
from rotcurve.errors import ConfigError, DataError, TrainingError
from rotcurve.training.rundir import holds_run_lock

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from rotcurve.models import LatentModel, ModelConfig
    from rotcurve.training.config import DataConfig, TrainConfig

__all__ = ["TrainResult", "train", "fit", "evaluate", "stream_seed", "TRAIN_STREAM"]

#: ``spawn_key`` prefix of the training loop's random streams.
TRAIN_STREAM: int = 0x7EA1
_INIT, _ORDER, _NOISE, _EVAL = 1, 2, 3, 4


def stream_seed(seed: int, *key: int) -> int:
    """A 64-bit seed for one random stream of a run.

    Parameters
    ----------
    seed : int
        The run's seed.
    *key : int
        The stream (and, for per-epoch streams, the epoch).

    Returns
    -------
    int
        ``SeedSequence(seed, spawn_key=(TRAIN_STREAM, *key))``'s first 64-bit word.
    """
    ss = np.random.SeedSequence(int(seed), spawn_key=(TRAIN_STREAM, *map(int, key)))
    return int(ss.generate_state(1, np.uint64)[0])


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
        ``loss`` (negative ELBO with the model's ``beta``), ``recon`` and
        ``kl``: means over the examples, nats; ``n``: number of examples.
        NaN values for an empty split.
    """
    import torch

    from rotcurve.training.device import autocast

    ref = next(model.parameters())
    device = ref.device
    gen = torch.Generator(device=device).manual_seed(stream_seed(seed, _EVAL))
    sums = torch.zeros(3, dtype=torch.float64, device=device)
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
                sums += torch.stack((out.loss, out.recon, out.kl)).double() * b
                n += b
    finally:
        model.train(was_training)
    if n == 0:
        return {"loss": math.nan, "recon": math.nan, "kl": math.nan, "n": 0}
    loss, recon, kl = (sums / n).tolist()
    return {"loss": loss, "recon": recon, "kl": kl, "n": n}


# ------------------------------------------------------------------------ checkpoints
def _payload(
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
        ``(3,)`` per optimiser step (at least one): loss, recon, kl (batch means, nats).
    sizes : list of int
        Examples in each step's batch.
    first_step : int
        Global index of the epoch's first step.
    params : list of Tensor
        The trained parameters.

    Returns
    -------
    Tensor, shape (5,)
        Example-weighted mean loss, recon and kl; the global index of the
        first step whose loss is not finite (-1 if none); 1 if every weight is
        finite, else 0.
    """
    import torch

    losses = torch.stack(step_losses).double()  # (steps, 3)
    weights = torch.tensor(sizes, dtype=torch.float64).to(losses.device, non_blocking=True)
    means = (losses * weights[:, None]).sum(0) / float(sum(sizes))
    nonfinite = ~torch.isfinite(losses[:, 0])
    index = torch.arange(len(sizes), device=losses.device, dtype=torch.float64) + first_step
    # the smallest index of a non-finite step, or -1
    first_bad = torch.where(nonfinite, index, math.inf).min()
    first_bad = torch.where(torch.isfinite(first_bad), first_bad, -1.0).reshape(1)
    return torch.cat((means, first_bad, _all_finite(params).double().reshape(1)))


def _saved_train_config(saved: Any) -> Any:
    """A checkpoint's training settings as :func:`to_dict` gives them now (settings added
    since it was written take their defaults); unreadable ones are returned unchanged."""
    from rotcurve.config import from_dict
    from rotcurve.training.config import TrainConfig

    try:
        return to_dict(from_dict(TrainConfig, saved))
    except ConfigError:
        return saved


def _fmt(x: float) -> str:
    return f"{x:.5g}" if x is not None and math.isfinite(x) else str(x)


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
    import torch
    from tqdm.auto import tqdm

    from rotcurve.models import build_model
    from rotcurve.training.checkpoint import copy_checkpoint, read_checkpoint, save_checkpoint
    from rotcurve.training.config import DataConfig
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
    )

    cfg = train_config
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
    n_train = _split_len(data.train)
    if n_train == 0:
        raise DataError("the training split is empty; use more data")
    has_val = _split_len(data.val) > 0
    paths = RunPaths(Path(run_dir))
    run_config = RunConfig(model=model_config, train=cfg, data=data_config)
    resume_from = prepare_run_dir(paths, run_config, resume=resume, overwrite=overwrite)
    data_desc = describe_data(data)

    # -- the model, optimiser and schedule (fresh weights from the run's seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream_seed(cfg.seed, _INIT))
        model = build_model(model_config)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizer(params, cfg, device)
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    schedule = build_schedule(cfg, cfg.epochs * steps_per_epoch)
    progress_state: dict[str, Any] = {
        "best_val": math.inf,
        "best_epoch": 0,
        "bad_evals": 0,
        "finished": False,
        "stop_reason": None,
    }
    epoch, step = 0, 0
    if resume_from is not None:
        raw = read_checkpoint(resume_from, map_location=device)
        old = raw["data"]
        if old.get("fingerprint") != data_desc["fingerprint"] or old.get("sizes") != data_desc["sizes"]:
            raise DataError(
                f"cannot resume {paths.root}: the data differ from those the run started with "
                f"({old.get('spec')}, {old.get('n')} rows); use the same file, or --overwrite to start again"
            )
        if raw["model_config"] != to_dict(model_config) or {
            **_saved_train_config(raw["train_config"]),
            "device": None,
        } != {**to_dict(cfg), "device": None}:
            raise ConfigError(
                f"cannot resume {paths.root}: {resume_from} was written with other settings; "
                "use the same options, or --overwrite to start again"
            )
        model.load_state_dict(raw["model_state"])
        optimizer.load_state_dict(raw["optimizer_state"])
        schedule.load_state_dict(raw.get("schedule_state") or {})
        epoch, step = int(raw["epoch"]), int(raw["step"])
        progress_state.update(raw["progress"])
        metrics = MetricsLog.load(paths.metrics, upto_epoch=epoch)
        if progress_state["finished"]:
            model.eval()
            return TrainResult(
                run_dir=paths.root,
                model=model,
                epoch=epoch,
                step=step,
                best_val=float(progress_state["best_val"]),
                best_epoch=int(progress_state["best_epoch"]),
                stop_reason="already-complete",
                history=metrics.records,
                resumed_from=epoch,
            )
        if not paths.config.exists():
            run_config.save(paths.config)
    else:
        clear_run_dir(paths)
        run_config.save(paths.config)
        metrics = MetricsLog(paths.metrics)
        metrics.flush()
    resumed_from = epoch if resume_from is not None else None

    forward = torch.compile(model) if cfg.compile else model
    streaming = bool(getattr(data.train, "streaming", False))
    train_x = data.train
    if not streaming and train_x.device != device:
        train_x = train_x.to(device)
    val_split = data.val
    if has_val and not getattr(val_split, "streaming", False) and val_split.device != device:
        val_split = val_split.to(device)
    last_saved = epoch if resume_from is not None else None

    def save(path: Path) -> None:
        save_checkpoint(
            path,
            _payload(
                model=model,
                optimizer=optimizer,
                schedule=schedule,
                model_config=model_config,
                train_config=cfg,
                data_desc=data_desc,
                normaliser=data.normaliser,
                epoch=epoch,
                step=step,
                progress=progress_state,
            ),
        )

    bar = tqdm(
        total=cfg.epochs * steps_per_epoch,
        initial=step,
        unit="step",
        desc="train",
        disable=not progress,
        dynamic_ncols=True,
        leave=True,
    )
    stop_reason = "completed"
    epochs_this_call = 0
    try:
        while epoch < cfg.epochs:
            epoch += 1
            t0 = time.perf_counter()
            model.train()
            noise = torch.Generator(device=device).manual_seed(stream_seed(cfg.seed, _NOISE, epoch))
            if streaming:
                batches: Any = train_x.iter_batches(cfg.batch_size, seed=cfg.seed, epoch=epoch)
            else:
                order = torch.Generator(device=device).manual_seed(stream_seed(cfg.seed, _ORDER, epoch))
                batches = _tensor_batches(train_x, cfg.batch_size, order)
            first_step = step
            step_losses: list[torch.Tensor] = []  # (3,) per step, reduced once per epoch
            sizes: list[int] = []
            lr = schedule.lr_at(step)
            set_lr = None
            for xb in batches:
                lr = schedule.lr_at(step)
                if lr != set_lr:  # constant schedules set it once
                    for group in optimizer.param_groups:
                        group["lr"] = lr
                    set_lr = lr
                with autocast(device, amp):
                    out = forward(xb, generator=noise)
                optimizer.zero_grad(set_to_none=True)
                out.loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip, foreach=True)
                optimizer.step()
                step_losses.append(torch.stack((out.loss.detach(), out.recon.detach(), out.kl.detach())))
                sizes.append(int(xb.shape[0]))
                step += 1
                bar.update(1)
            # -- the one synchronisation of the epoch
            seen = sum(sizes)
            summary = _epoch_summary(step_losses, sizes, first_step, params).tolist()
            train_loss, train_recon, train_kl, bad_step, weights_ok = summary
            t_train = time.perf_counter() - t0
            if bad_step >= 0 or not math.isfinite(train_loss) or not weights_ok:
                where = f"step {int(bad_step)}" if bad_step >= 0 else f"the end of the epoch (step {step})"
                what = (
                    "the training loss became NaN or infinite"
                    if bad_step >= 0
                    else "a weight became NaN or infinite"
                )
                kept = (
                    f"the last good checkpoint {paths.last} (epoch {last_saved}) is kept"
                    if last_saved
                    else "no checkpoint had been written yet"
                )
                raise TrainingError(
                    f"training diverged at epoch {epoch}, {where}: {what} (lr {lr:.3g}); {kept}; "
                    "lower the learning rate (--lr) or keep gradient clipping on"
                )
            record: dict[str, Any] = {
                "epoch": epoch,
                "step": step,
                "train_loss": train_loss,
                "train_recon": train_recon,
                "train_kl": train_kl,
                "val_loss": None,
                "val_recon": None,
                "val_kl": None,
                "lr": lr,
            }
            evaluated = epoch % cfg.eval_every == 0 or epoch == cfg.epochs
            improved = False
            if evaluated:
                if has_val:
                    val = evaluate(model, val_split, batch_size=cfg.eval_batch_size, seed=cfg.seed, amp=amp)
                    if not math.isfinite(val["loss"]):
                        raise TrainingError(
                            f"training diverged at epoch {epoch}: the validation loss is {val['loss']}; "
                            f"the last good checkpoint {paths.last} (epoch {last_saved}) is kept; "
                            "lower the learning rate (--lr)"
                        )
                    record.update(val_loss=val["loss"], val_recon=val["recon"], val_kl=val["kl"])
                    monitor = val["loss"]
                else:
                    monitor = train_loss
                schedule.after_eval(monitor)
                if monitor < progress_state["best_val"] - cfg.min_delta:
                    progress_state.update(best_val=monitor, best_epoch=epoch, bad_evals=0)
                    improved = True
                else:
                    progress_state["bad_evals"] += 1
                if cfg.patience and progress_state["bad_evals"] >= cfg.patience:
                    stop_reason = "early-stopping"
            epochs_this_call += 1
            finished = epoch == cfg.epochs or stop_reason == "early-stopping"
            paused = not finished and stop_after is not None and epochs_this_call >= stop_after
            if finished:
                progress_state.update(finished=True, stop_reason=stop_reason)
            if epoch % cfg.checkpoint_every == 0 or finished or paused:
                save(paths.last)
                last_saved = epoch
                if improved:  # an independent copy: damage to one file leaves the other
                    copy_checkpoint(paths.last, paths.best)
            elif improved:
                save(paths.best)
            seconds = time.perf_counter() - t0
            record.update(
                best=improved,
                seconds=seconds,
                train_seconds=t_train,
                samples_per_s=seen / t_train if t_train > 0 else None,
            )
            metrics.append(record)
            bar.set_postfix(
                epoch=f"{epoch}/{cfg.epochs}",
                train=_fmt(train_loss),
                val=_fmt(record["val_loss"]) if record["val_loss"] is not None else "-",
                refresh=False,
            )
            if finished:
                break
            if paused:
                stop_reason = "paused"
                break
    finally:
        bar.close()
    model.eval()
    return TrainResult(
        run_dir=paths.root,
        model=model,
        epoch=epoch,
        step=step,
        best_val=float(progress_state["best_val"]),
        best_epoch=int(progress_state["best_epoch"]),
        stop_reason=stop_reason,
        history=metrics.records,
        resumed_from=resumed_from,
    )


_train = train  # ``fit`` has a keyword named ``train``


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
    from rotcurve.datasets.training import load_training_data
    from rotcurve.models import ModelConfig, default_config
    from rotcurve.training.config import DataConfig, TrainConfig, default_train_config
    from rotcurve.training.device import amp_dtype, resolve_device
    from rotcurve.training.rundir import RunPaths, normalise_spec

    text = os.fspath(spec)
    kind = "mnist" if text.startswith("mnist:") else "curves"
    if isinstance(train, TrainConfig):
        train_config = train
    else:
        train_config = default_train_config(kind, **dict(train or {}))
    device = resolve_device(train_config.device)  # fail before reading anything
    amp_dtype(train_config.amp, device)
    data_config = DataConfig(spec=normalise_spec(text), fractions=tuple(fractions), storage=storage)
    paths = RunPaths(Path(run_dir))
    if not resume and not overwrite and paths.is_started():
        from rotcurve.errors import OutputExistsError

        raise OutputExistsError(
            f"{paths.root} already holds a run; pass --resume to continue it or --overwrite to replace it"
        )
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
