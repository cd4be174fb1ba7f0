"""Training on fresh simulated curves: :func:`fit_simulated` (``rotcurve train --simulate N``).

Two data sources feed :func:`rotcurve.training.train`: ``"file"`` (a curve
file, :func:`~rotcurve.training.fit`) and ``"simulate"`` (this module).  A
simulated run

1. generates ``RUN_DIR/reference.h5`` once: ``reference_size`` curves from
   the prior (the numpy generator, ``rotcurve generate``'s file format, seed
   :func:`~rotcurve.datasets.simulate.reference_seed` of the run's seed),
   split with the run's seed and fractions like any training file.  Its
   training part fixes the normaliser (and is what the run's latent
   aggregates are fitted to); its validation and test parts are the fixed
   held-out sets, so scores compare across epochs and with file-trained runs
   (``Run.score(RUN_DIR/reference.h5)`` scores its test split);
2. trains on a :class:`~rotcurve.datasets.simulate.SimulatedSplit`: every
   epoch ``n`` new parameter sets drawn on the training device from a torch
   generator seeded from ``(seed, epoch)``, through the torch physics and the
   normaliser.  ``--resume`` continues the same stream (the draws of an epoch
   depend on its number only).

The settings, the prior's full definition included, are saved in
``config.json`` under ``data.simulate`` (:class:`~rotcurve.training.config.SimulateConfig`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rotcurve.training.config import REFERENCE_SIZE, DataConfig, SimulateConfig, TrainConfig, default_train_config
from rotcurve.training.device import amp_dtype, resolve_device
from rotcurve.training.rundir import (
    RunConfig,
    RunPaths,
    check_run_root,
    holds_run_lock,
    prepare_run_dir,
    refuse_started,
)
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT

__all__ = ["fit_simulated", "simulated_data"]


def simulated_data(
    sim: SimulateConfig,
    reference: str | os.PathLike[str],
    *,
    seed: int,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    device: Any = "cpu",
) -> Any:
    """The :class:`~rotcurve.datasets.TrainingData` of a simulated run.

    ``reference`` (an existing curve file, normally ``RUN_DIR/reference.h5``)
    gives the normaliser and the validation and test splits; the training
    split is a :class:`~rotcurve.datasets.simulate.SimulatedSplit` of
    ``sim.n`` fresh curves per epoch on ``device``.
    """
    from rotcurve.datasets.loading import load_training_data
    from rotcurve.datasets.simulate import CHUNK_ROWS, SimulatedSplit, reference_seed

    data = load_training_data(reference, seed=seed, fractions=fractions, device=device, in_memory=True)
    data.train = SimulatedSplit(
        sim.n, sim.make_prior(), data.meta["radii"], data.normaliser, device, H0=sim.H0, Delta=sim.Delta
    )
    data.meta["simulate"] = {**sim.to_dict(), "reference_seed": reference_seed(seed), "chunk_rows": CHUNK_ROWS}
    return data


@holds_run_lock  # before reference.h5 is written: a second run on the folder is refused at once
def fit_simulated(
    run_dir: str | os.PathLike[str],
    n: int,
    *,
    prior: Any = "reference",
    radii: Any = None,
    reference_size: int = REFERENCE_SIZE,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
    model: Mapping[str, Any] | Any = None,
    train: Mapping[str, Any] | TrainConfig | None = None,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
) -> Any:
    """Train on ``n`` fresh simulated curves per epoch (see the module docstring).

    Parameters
    ----------
    run_dir : path
        The run directory (``reference.h5`` is written there).
    n : int
        Fresh curves per epoch (>= 1).
    prior : str, path, dict or Prior, keyword-only
        A prior kind (``"reference"``, ``"loguniform"``), a TOML file, settings
        or a prior (:func:`rotcurve.generator.resolve_prior`).
    radii : str, path, RadiiSpec or None, keyword-only
        The radius grid (:func:`rotcurve.generator.parse_radii`; None: 50
        log-spaced radii, 0.1-50 kpc).
    reference_size : int, keyword-only
        Curves of the reference file (validation, test, normaliser).
    H0, Delta : float, keyword-only
        Cosmology of the halo.
    model, train, fractions, resume, overwrite, progress, stop_after
        As for :func:`rotcurve.training.fit` (the defaults are the curves preset).

    Returns
    -------
    TrainResult

    Raises
    ------
    ConfigError
        An unknown prior, ``n < 1``, bad settings; resuming with other settings.
    OutputExistsError, CheckpointError, DataError, TrainingError, DeviceError
        As for :func:`rotcurve.training.fit`.
    """
    from rotcurve.datasets.simulate import check_prior, reference_seed
    from rotcurve.generator import generate, parse_radii, resolve_prior
    from rotcurve.models import ModelConfig, default_config
    from rotcurve.training.loop import train as _train

    prior_obj = resolve_prior(prior)
    check_prior(prior_obj)
    grid = parse_radii(radii)
    sim = SimulateConfig(
        n=n, prior=prior_obj.to_dict(), radii=grid.to_dict(), reference_size=reference_size, H0=H0, Delta=Delta
    )
    train_config = train if isinstance(train, TrainConfig) else default_train_config("curves", **dict(train or {}))
    device = resolve_device(train_config.device)  # fail before writing anything
    amp_dtype(train_config.amp, device)
    paths = RunPaths(check_run_root(Path(run_dir)))
    refuse_started(paths, resume=resume, overwrite=overwrite)
    reference = paths.reference.expanduser().resolve()
    data_config = DataConfig(spec=str(reference), fractions=tuple(fractions), storage="memory", simulate=sim)
    model_config = model if isinstance(model, ModelConfig) else default_config("curves", grid.n, **dict(model or {}))
    # refuse a resume with other settings before the reference file is touched
    prepare_run_dir(paths, RunConfig(model=model_config, train=train_config, data=data_config),
                    resume=resume, overwrite=overwrite)
    if not (resume and reference.is_file()):  # deterministic: a lost reference file comes back the same
        generate(
            reference_size, out=reference, seed=reference_seed(train_config.seed), prior=prior_obj, radii=grid,
            H0=H0, Delta=Delta, workers=1, overwrite=True, components=False, progress=progress,
        )
    data = simulated_data(sim, reference, seed=train_config.seed, fractions=tuple(fractions), device=device)
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
