"""Fit a catalogue: every galaxy in parallel, results written as they finish, resumable.

:func:`fit_catalogue` reads the galaxies (:func:`~rotcurve.inference.sources.load_galaxies`),
fits each one (:func:`~rotcurve.inference.fit.run_fit`) on local worker
processes (``workers``), on an existing Dask cluster (``scheduler``) or in this
process (``workers=1``), and writes into ``out``::

    out/fit_config.json        the settings (compared by resume)
    out/galaxies/<key>.h5      one file per galaxy, written atomically when it finishes
    out/figures/<key>_corner.png, <key>_curve.png     (unless figures=False)
    out/summary.csv, summary.ecsv                      one row per galaxy
    out/failures.csv           name, reason of every failed galaxy
    out/posteriors.h5          all galaxies merged (schema: rotcurve.inference.schema)
    out/report.html            the catalogue report (unless report=False)

A galaxy that cannot be fitted (bad data, an error) is recorded as failed with
its reason; the others go on.  Memory stays bounded: workers return nothing
but write their galaxy's file; the summary and the merged file are built one
galaxy at a time.  With ``resume`` the galaxies whose files exist (and did not
fail) are kept; with ``overwrite`` the previous outputs are removed first.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rotcurve.errors import MODEL_DISC_NFW, OVERWRITE, RESUME, ConfigError, DataError, OutputExistsError
from rotcurve.inference.fit import FitSetup, choose_model, run_fit
from rotcurve.inference.galaxy import BadInput, Galaxy
from rotcurve.inference.result import GalaxyFit
from rotcurve.inference.schema import galaxy_key, merge, read_galaxy_file, read_galaxy_summary, write_galaxy_file
from rotcurve.inference.sources import load_galaxies
from rotcurve.inference.summary import summary_table, write_summary
from rotcurve.io.atomic import atomic_write_text
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT

__all__ = ["CatalogueResult", "fit_catalogue", "fit_and_write", "load_fit", "OUTPUTS"]

#: Files and folders of an output folder (removed by ``overwrite``).
OUTPUTS: tuple[str, ...] = (
    "fit_config.json", "galaxies", "figures", "summary.csv", "summary.ecsv", "failures.csv",
    "posteriors.h5", "report.html",
)


@dataclass
class CatalogueResult:
    """What :func:`fit_catalogue` produced.

    Attributes
    ----------
    summary : astropy.table.Table
        One row per galaxy (see :mod:`rotcurve.inference.summary`).
    failures : list of (str, str)
        ``(name, reason)`` of every failed galaxy.
    out : Path or None
        The output folder (None when nothing was written).
    settings : dict
        The resolved settings.
    fits : list of GalaxyFit
        The full results, only when no output folder was given.
    """

    summary: Any
    failures: list[tuple[str, str]]
    out: Path | None
    settings: dict[str, Any]
    fits: list[GalaxyFit] = field(default_factory=list)

    @property
    def n_failed(self) -> int:
        """Galaxies without a result."""
        return len(self.failures)

    @property
    def n_converged(self) -> int:
        """Galaxies whose chains converged."""
        return int(sum(bool(c) for c in self.summary["converged"]))

    @property
    def n_not_converged(self) -> int:
        """Galaxies with samples that did not pass the convergence test."""
        return int(sum(s == "not_converged" for s in self.summary["status"]))


# -- worker side -------------------------------------------------------------------------
_SETUP_CACHE: dict[str, FitSetup] = {}


def _setup(settings_json: str) -> FitSetup:
    setup = _SETUP_CACHE.get(settings_json)
    if setup is None:
        setup = FitSetup.from_dict(json.loads(settings_json))
        _SETUP_CACHE.clear()
        _SETUP_CACHE[settings_json] = setup
    return setup


def fit_and_write(galaxy: Galaxy | BadInput, settings_json: str, out: str, key: str, figures: bool) -> GalaxyFit:
    """Fit one galaxy and write ``out/galaxies/<key>.h5`` (and its figures); the worker task."""
    setup = _setup(settings_json)
    fit = run_fit(galaxy, setup, catch=True)
    if figures and fit.ok:
        try:
            from rotcurve.inference.figures import save_galaxy_figures

            save_galaxy_figures(fit, setup, Path(out) / "figures", key)
        except Exception as exc:  # a figure must not lose the fit; say so in the reason
            note = f"figures failed: {type(exc).__name__}: {exc}"
            fit = _with_reason(fit, (fit.reason + "; " if fit.reason else "") + note)
    write_galaxy_file(Path(out) / "galaxies" / f"{key}.h5", fit, json.loads(settings_json))
    return fit


def _with_reason(fit: GalaxyFit, reason: str) -> GalaxyFit:
    import dataclasses

    return dataclasses.replace(fit, reason=reason)


def _pool_task(galaxy: Galaxy | BadInput, settings_json: str, out: str, key: str, figures: bool, *, report: Callable[[int], None]) -> None:
    fit_and_write(galaxy, settings_json, out, key, figures)
    report(1)


def _dask_task(galaxy: Galaxy | BadInput, settings_json: str, out: str, key: str, figures: bool) -> int:
    fit_and_write(galaxy, settings_json, out, key, figures)
    return 1


# -- parent side -------------------------------------------------------------------------
def _keys(items: Sequence[Galaxy | BadInput]) -> list[str]:
    keys: list[str] = []
    used: set[str] = set()
    for g in items:
        key = galaxy_key(g.name)
        base, k = key, 2
        while key.lower() in used:  # case-insensitive file systems
            key, k = f"{base}~{k}", k + 1
        used.add(key.lower())
        keys.append(key)
    return keys


def _prepare_out(out: Path, settings: dict[str, Any], *, overwrite: bool, resume: bool) -> None:
    if overwrite and resume:
        raise ConfigError.both("give either {o} or {r}, not both", o=OVERWRITE, r=RESUME)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} is a file; give a folder for the outputs")
    present = [name for name in OUTPUTS if (out / name).exists()]
    config = out / "fit_config.json"
    if present and resume:
        if not config.is_file():
            raise ConfigError.both(
                "{out}: no fit_config.json to resume from; run without {r} (or with {o})", out=out, r=RESUME, o=OVERWRITE
            )
        try:
            old = json.loads(config.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError.both("{config}: unreadable ({exc}); use {o}", config=config, exc=exc, o=OVERWRITE) from None
        if old.get("settings") != json.loads(json.dumps(settings)):
            raise ConfigError.both(
                "{out} was fitted with other settings (model, prior, H0, method or seed); "
                "use the same settings with {r}, or {o}",
                out=out, r=RESUME, o=OVERWRITE,
            )
    elif present and not overwrite:
        raise OutputExistsError.both(
            "{out} already holds fit outputs ({present}); pass {o} or {r}",
            out=out, present=", ".join(present), o=OVERWRITE, r=RESUME,
        )
    elif present:
        for name in present:
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
    (out / "galaxies").mkdir(parents=True, exist_ok=True)


def _done(path: Path, settings: dict[str, Any]) -> bool:
    """A finished (not failed) galaxy file with the same settings."""
    if not path.is_file():
        return False
    try:
        row, file_settings = read_galaxy_summary(path)
    except DataError:
        return False
    return row.get("status") != "failed" and file_settings == json.loads(json.dumps(settings))


def _run(tasks: list[tuple[Any, ...]], *, workers: int, scheduler: Any, scheduler_timeout: float, progress: bool) -> None:
    from tqdm.auto import tqdm

    if not tasks:
        return
    with tqdm(total=len(tasks), disable=not progress, unit="galaxy", desc="rotcurve fit", dynamic_ncols=True) as bar:
        if scheduler is not None:
            from rotcurve.generator._dask import connect, run_dask

            client, owned = connect(scheduler, timeout=scheduler_timeout)
            try:
                run_dask(_dask_task, tasks, client=client, on_done=lambda _i: bar.update(1))
            finally:
                if owned:
                    client.close()
        elif workers <= 1 or len(tasks) == 1:
            for task in tasks:
                fit_and_write(*task[1:])
                bar.update(1)
        else:
            from rotcurve.generator._pool import run_local

            run_local(_pool_task, tasks, workers=workers, on_done=lambda _i: bar.update(1),
                      preload=["rotcurve.inference.catalogue", "emcee", "matplotlib"])


def _default_workers(n: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 1
    return max(1, min(cores, n))


def fit_catalogue(
    data: Any,
    out: str | Path | None = None,
    *,
    model: str = "auto",
    prior: Any = None,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
    method: str = "mcmc",
    settings: Any = None,
    seed: int = 0,
    workers: int | None = None,
    scheduler: Any = None,
    scheduler_timeout: float = 10.0,
    figures: bool = True,
    report: bool = True,
    progress: bool = True,
    overwrite: bool = False,
    resume: bool = False,
) -> CatalogueResult:
    """Fit every galaxy of a catalogue and write the outputs.

    Parameters
    ----------
    data : path, Table, DataFrame, Galaxy or list
        The galaxies (:func:`~rotcurve.inference.sources.load_galaxies`): SPARC
        files, folder or ``Rotmod_LTG.zip`` (Lelli, McGaugh & Schombert 2016,
        AJ 152, 157; CC-BY-4.0), or a long table.
    out : path, optional
        Output folder (created).  Without one, galaxies are fitted in this
        process and the full results come back in :attr:`CatalogueResult.fits`.
    model, prior, H0, Delta, method, settings, seed : keyword-only
        As for :func:`~rotcurve.inference.fit.fit_galaxy`; ``model="auto"``
        picks ``sparc`` when every galaxy has observed baryons.
    workers : int, keyword-only
        Local worker processes (default: one per core, at most one per galaxy).
    scheduler : str or distributed.Client, keyword-only
        An existing Dask cluster instead of local processes (``out`` must be
        on a file system the workers share).
    scheduler_timeout : float, keyword-only
        Seconds to wait for the scheduler.
    figures : bool, keyword-only
        Corner and curve figures per galaxy (the slowest part of a fit).
    report : bool, keyword-only
        Write ``report.html``.
    progress : bool, keyword-only
        A progress bar (tqdm) on stderr.
    overwrite, resume : bool, keyword-only
        Replace previous outputs in ``out``, or keep its finished galaxies.

    Returns
    -------
    CatalogueResult
        The summary table, the failures, the output folder.

    Raises
    ------
    DataError
        The input cannot be read as a whole, or no galaxy has the columns the
        model needs.
    ConfigError
        Invalid settings; resume with other settings.
    OutputExistsError
        ``out`` holds outputs and neither ``overwrite`` nor ``resume`` is set.
    """
    items = load_galaxies(data)
    if model == "auto":
        model = choose_model(items)
    setup = FitSetup.create(model=model, prior=prior, method=method, settings=settings, H0=H0, Delta=Delta, seed=seed)
    readable = [g for g in items if isinstance(g, Galaxy)]
    needed = setup.model.required_columns
    if needed and readable and not any(all(getattr(g, c) is not None for c in needed) for g in readable):
        raise DataError.both(
            "no galaxy has the {cols} column{s} that the {name} model needs; "
            "use {m} for curves without observed baryons",
            cols=", ".join(needed), s="s" if len(needed) > 1 else "", name=setup.model.name, m=MODEL_DISC_NFW,
        )
    resolved = setup.to_dict()
    settings_json = json.dumps(resolved, sort_keys=True)
    keys = _keys(items)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")

    if out is None:
        if scheduler is not None:
            raise ConfigError("a Dask scheduler needs an output folder shared with the workers; give out=...")
        fits = [run_fit(g, setup, catch=True) for g in _progress(items, progress)]
        table = summary_table([f.summary_row() for f in fits])
        return CatalogueResult(table, [(f.name, f.reason) for f in fits if f.status == "failed"], None, resolved, fits)

    out = Path(out)
    with _removed_if_nothing_fitted(out):
        _prepare_out(out, resolved, overwrite=overwrite, resume=resume)
        atomic_write_text(out / "fit_config.json", json.dumps({"settings": resolved, "n_galaxies": len(items)},
                                                              indent=2, sort_keys=True) + "\n")
        files = [out / "galaxies" / f"{k}.h5" for k in keys]
        todo = [i for i, f in enumerate(files) if not (resume and _done(f, resolved))]
        tasks = [(i, items[i], settings_json, str(out), keys[i], bool(figures)) for i in todo]
        n_workers = workers if workers is not None else _default_workers(len(tasks))
        _run(tasks, workers=n_workers, scheduler=scheduler, scheduler_timeout=scheduler_timeout, progress=progress)

        rows = []
        for g, f in zip(items, files):
            try:
                row, _ = read_galaxy_summary(f)
            except DataError as exc:  # a worker died before writing: listed, never dropped
                row = GalaxyFit(name=g.name, status="failed", reason=f"no result file ({exc})").summary_row()
            rows.append(row)
        table = summary_table(rows)
        write_summary(table, out)
        failures = [(str(r["name"]), str(r["reason"])) for r in rows if r["status"] == "failed"]
        _write_failures(out / "failures.csv", failures)
        merge(out / "posteriors.h5", [(k, f) for k, f in zip(keys, files) if f.is_file()], resolved)
        if report:
            from rotcurve.inference.report import write_report

            write_report(table, out / "report.html", settings=resolved,
                         figures_dir=out / "figures" if figures else None,
                         keys={g.name: k for g, k in zip(items, keys)})
    return CatalogueResult(table, failures, out, resolved)


@contextlib.contextmanager
def _removed_if_nothing_fitted(out: Path) -> Iterator[None]:
    """On a failure (unreachable scheduler, full disk, Ctrl-C) before any galaxy file was
    written, remove the folder this call created: no empty skeleton is left to look like results."""
    created = not out.exists()
    try:
        yield
    except BaseException:
        if created and out.is_dir() and not any((out / "galaxies").glob("*.h5")):
            shutil.rmtree(out, ignore_errors=True)
        raise


def _progress(items: Sequence[Any], enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(items, disable=not enabled, unit="galaxy", desc="rotcurve fit", dynamic_ncols=True)


def _write_failures(path: Path, failures: list[tuple[str, str]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["name", "reason"])
    w.writerows(failures)
    atomic_write_text(path, buf.getvalue())


def load_fit(out: str | Path, name: str) -> GalaxyFit:
    """The full result of one galaxy from an output folder (its per-galaxy file)."""
    return read_galaxy_file(Path(out) / "galaxies" / f"{galaxy_key(name)}.h5")
