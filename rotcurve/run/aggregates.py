"""The saved aggregate density: latent samplers fitted to a run's training latents, saved as JSON.

The density is part of the run's generative model: ``rotcurve train`` fits
it when training ends, and :meth:`rotcurve.run.Run.sample` (like ``rotcurve
sample``) draws from it by default.  A run without one (trained from Python,
or by an older rotcurve) gets it on first use, the same way: the run's training data are read again (through the run's
data kind, :mod:`rotcurve.datasets.kinds`), the training split (at most
:data:`AGGREGATE_MAX_FIT` rows, a seeded subsample beyond) and the validation
split (at most :data:`AGGREGATE_MAX_VAL`) are encoded, and a
full-covariance Gaussian and a Gaussian mixture are fitted to the training
means (:func:`rotcurve.analysis.aggregate.fit_aggregate`); the one with the
higher mean log density on the validation means is the ``choice``.

The cache ``RUN_DIR/aggregate-<checkpoint>.json`` (written atomically)
holds plain numbers: ``format`` (:data:`AGGREGATE_FORMAT`),
``format_version``, ``rotcurve_version``, ``checkpoint``,
``checkpoint_sha256`` (the key: a cache is used only while the checkpoint
file is unchanged), ``epoch``, ``fit_seed`` (also a key), ``max_fit``,
``max_val``, ``latents``, ``data``, ``n_fit``, ``n_val``,
``val_log_density`` (per model), ``choice``, ``models`` (each model's
``to_dict()``: ``prior``, ``gaussian``, ``gmm``) and ``models_sha256`` (the
SHA-256 of the models in canonical JSON, :func:`models_digest`).  Nothing is
ever unpickled.  ``fit_seed`` defaults to the run's training seed, so a fit
is reproducible from the run alone.

A cache that is not valid JSON, not of this format, has values that do not
make a density of the run's latent dimension, or whose models do not match
their ``models_sha256`` is damaged: one line is logged (logger
``rotcurve.run``, level WARNING: what is wrong and that the density is fitted
again) and the density is refitted from the training data (if those are gone,
a one-line :class:`~rotcurve.errors.DataError`).  A cache for another
checkpoint or fit seed is refitted with an INFO line.  A read-only run folder
keeps the fit in memory (a WARNING line).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve._version import __version__
from rotcurve.analysis.aggregate import aggregate_from_dict, fit_aggregate
from rotcurve.errors import ConfigError, DataError, Option, RotcurveError
from rotcurve.run.checks import AGGREGATE_STREAM
from rotcurve.seeds import seed31
from rotcurve.serialization import save_json

__all__ = [
    "AGGREGATE_FORMAT",
    "AGGREGATE_MAX_FIT",
    "AGGREGATE_MAX_VAL",
    "LatentAggregates",
    "aggregate_path",
    "load_or_fit",
    "models_digest",
    "log",
]

#: Where the notes on the saved density go (a damaged or stale cache, a read-only run folder).
log: logging.Logger = logging.getLogger("rotcurve.run")

#: ``format`` of the JSON file caching a run's latent aggregates (``aggregate-best.json``).
AGGREGATE_FORMAT: str = "rotcurve-aggregates"
#: Most training latents an aggregate is fitted to (a seeded subsample beyond).
AGGREGATE_MAX_FIT: int = 20000
#: Most validation latents the aggregates are compared on.
AGGREGATE_MAX_VAL: int = 5000
_AGGREGATE_VERSION = 2
#: The way out named when the aggregate density cannot be fitted: sampling from the prior.
_PRIOR = Option('source="prior"', "--from prior")
#: Layouts this rotcurve reads (1: before ``models_sha256``).
_READABLE_VERSIONS = (1, 2)


@dataclasses.dataclass
class LatentAggregates:
    """The latent samplers fitted to a run's training latents, and which one is best.

    Attributes
    ----------
    models : dict of str to LatentAggregate
        ``"prior"`` (N(0, I)), ``"gaussian"`` and ``"gmm"``.
    choice : str
        ``"gaussian"`` or ``"gmm"``: the higher mean log density on the
        validation latents (what ``source="aggregate"`` samples).
    val_log_density : dict of str to float
        Mean natural-log density of the validation latent means under each model.
    info : dict
        The cached record: checkpoint, its SHA-256, data, fit seed, counts.
    path : Path or None
        The JSON cache file (None if it could not be written).
    """

    models: dict[str, Any]
    choice: str
    val_log_density: dict[str, float]
    info: dict[str, Any]
    path: Path | None

    def get(self, kind: str) -> Any:
        """The aggregate of ``kind`` (``"aggregate"`` means :attr:`choice`)."""
        name = self.choice if kind == "aggregate" else kind
        if name not in self.models:
            raise ConfigError(
                f"unknown latent aggregate {kind!r}; choose one of: aggregate, {', '.join(self.models)}"
            )
        return self.models[name]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def aggregate_path(run: Any) -> Path:
    """``RUN_DIR/aggregate-<checkpoint>.json``."""
    return run.path / f"aggregate-{run.checkpoint.stem}.json"


def _training_inputs(run: Any, fit_seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Model inputs (physical units) of the training and validation rows used for the aggregates."""
    kind = run.data_kind
    spec = str(run.data.get("spec", ""))
    pick_train, pick_val = np.random.SeedSequence(fit_seed, spawn_key=(AGGREGATE_STREAM,)).spawn(2)

    def subsample(rows: np.ndarray, most: int, seq: np.random.SeedSequence) -> np.ndarray:
        if rows.size <= most:
            return rows
        return np.sort(np.random.default_rng(seq).choice(rows, size=most, replace=False))

    if not kind.exists(spec):
        raise DataError.both(
            "the run's training {noun} {spec} is not there; the aggregate latent density (the default "
            "sampling source) is fitted to it once, then saved in the run folder: restore the {noun} "
            "(or, for diagnostics, sample the N(0, I) prior with {prior})",
            noun=kind.source_noun, spec=spec or "(unknown)", prior=_PRIOR,
        )
    data = kind.open(spec, record=run.data)
    if not data.same_as_training:
        raise DataError.both(
            "{spec} has changed since the run was trained on it; the aggregate latent density (the "
            "default sampling source) needs the training {noun}: restore the original {source_noun} "
            "(or, for diagnostics, sample the N(0, I) prior with {prior})",
            spec=spec, noun=kind.noun, source_noun=kind.source_noun, prior=_PRIOR,
        )
    got = data.read({
        "train": subsample(data.rows("train"), AGGREGATE_MAX_FIT, pick_train),
        "val": subsample(data.rows("val"), AGGREGATE_MAX_VAL, pick_val),
    })
    train, val = got["train"].x, got["val"].x
    if len(val) < 10:  # no validation split: hold out a tenth of the training rows
        k = max(10, len(train) // 10)
        val, train = train[:k], train[k:]
    return train, val, {"data": spec}


def _fit(run: Any, fit_seed: int, progress: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    train, val, info = _training_inputs(run, fit_seed)
    if len(train) <= run.latent_dim + 1:
        raise DataError(
            f"the training split has {len(train)} examples; fitting a {run.latent_dim}-D latent "
            "aggregate needs more"
        )
    from tqdm.auto import tqdm

    bar = tqdm(total=3, desc="fit latent aggregates", unit="step", disable=not progress)
    try:
        z_train = run.encode(train).mean
        z_val = run.encode(val).mean
        bar.update()
        gmm_seed = seed31(fit_seed, AGGREGATE_STREAM, 1)
        models = {
            "prior": fit_aggregate(z_train, kind="prior"),
            "gaussian": fit_aggregate(z_train, kind="gaussian"),
        }
        bar.update()
        models["gmm"] = fit_aggregate(z_train, kind="gmm", seed=gmm_seed)
        bar.update()
    finally:
        bar.close()
    val_ll = {k: float(np.mean(m.log_density(z_val))) for k, m in models.items()}
    choice = max(("gaussian", "gmm"), key=lambda k: val_ll[k])
    info.update(n_fit=int(len(z_train)), n_val=int(len(z_val)))
    return models, {"val_log_density": val_ll, "choice": choice, **info}


def models_digest(models: dict[str, Any]) -> str:
    """SHA-256 (hex) of the models' ``to_dict()`` records in canonical JSON (sorted keys, no spaces).

    Floats print as their shortest round-trip ``repr``, so the digest of a
    record read back from the JSON file equals that of the record written.
    """
    text = json.dumps(models, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Damaged(ValueError):
    """The cache is unusable; the message says why (for the one line that is logged)."""


def _check_record(record: Any, dim: int) -> dict[str, Any]:
    """The models of a parsed cache record, rebuilt and checked; :class:`_Damaged` otherwise."""
    if not isinstance(record, dict) or record.get("format") != AGGREGATE_FORMAT:
        raise _Damaged(f"not a {AGGREGATE_FORMAT} file")
    version = record.get("format_version")
    if version not in _READABLE_VERSIONS:
        raise _Damaged(f"format_version {version!r} (this rotcurve reads {', '.join(map(str, _READABLE_VERSIONS))})")
    raw = record.get("models")
    if not isinstance(raw, dict) or set(raw) != {"prior", "gaussian", "gmm"}:
        raise _Damaged("the models are not prior, gaussian and gmm")
    if version >= 2 and record.get("models_sha256") != models_digest(raw):
        raise _Damaged("the models do not match their models_sha256 (the file was altered)")
    if record.get("choice") not in ("gaussian", "gmm"):
        raise _Damaged(f"choice {record.get('choice')!r} is not gaussian or gmm")
    try:
        models = {k: aggregate_from_dict(v) for k, v in raw.items()}
        val_ll = {str(k): float(v) for k, v in dict(record["val_log_density"]).items()}
    except (RotcurveError, KeyError, TypeError, ValueError) as exc:
        raise _Damaged(str(exc)) from None
    wrong = sorted(k for k, m in models.items() if m.dim != dim)
    if wrong:
        raise _Damaged(f"the {', '.join(wrong)} model is not {dim}-D like the run's latents")
    return {"models": models, "val_log_density": val_ll}


def _load(path: Path, sha: str, fit_seed: int, dim: int) -> LatentAggregates | None:
    """The saved aggregates at ``path`` when they are sound and for this checkpoint and seed, else None.

    Logs one line (no warning, no traceback) saying why a file is not used.
    """
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        checked = _check_record(record, dim)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # json's errors and _Damaged are ValueErrors
        reason = str(exc) if isinstance(exc, _Damaged) else f"unreadable: {type(exc).__name__}: {exc}"
        log.warning("%s: the saved latent aggregate density is damaged (%s); fitting it again "
                    "from the training data", path, reason)
        return None
    if record.get("checkpoint_sha256") != sha or record.get("fit_seed") != fit_seed:
        log.info("%s: the saved latent aggregate density is for another checkpoint or fit seed; "
                 "fitting it again", path)
        return None
    info = {k: v for k, v in record.items() if k != "models"}
    return LatentAggregates(models=checked["models"], choice=record["choice"],
                            val_log_density=checked["val_log_density"], info=info, path=path)


def _save(path: Path, info: dict[str, Any], models: dict[str, Any]) -> Path | None:
    """Write the cache (atomically); None, with a one-line note, where the run folder is read-only."""
    try:
        save_json({**info, "models": models}, path)
    except OSError as exc:  # a read-only run folder: use the fit, say so
        log.warning("could not save the latent aggregate density in %s (%s); it is fitted again next time",
                    path, exc.strerror or exc)
        return None
    return path


def load_or_fit(run: Any, *, refit: bool, fit_seed: int, progress: bool) -> LatentAggregates:
    """The run's aggregates: from the saved file when it is sound and fits the checkpoint and ``fit_seed``, else fitted and saved.

    Parameters
    ----------
    run : Run
        The loaded run (its checkpoint file keys the saved density).
    refit : bool, keyword-only
        Fit again even when the saved density applies.
    fit_seed : int, keyword-only
        Seeds the subsamples and the mixture's initialisation (recorded).
    progress : bool, keyword-only
        Show a progress bar while encoding.

    Returns
    -------
    LatentAggregates
    """
    path = aggregate_path(run)
    sha = _sha256(run.checkpoint)
    if path.exists() and not refit:
        cached = _load(path, sha, fit_seed, run.latent_dim)
        if cached is not None:
            return cached
    models, meta = _fit(run, fit_seed, progress)
    info = {
        "format": AGGREGATE_FORMAT,
        "format_version": _AGGREGATE_VERSION,
        "rotcurve_version": __version__,
        "checkpoint": run.checkpoint.name,
        "checkpoint_sha256": sha,
        "epoch": int(run.epoch),
        "fit_seed": fit_seed,
        "max_fit": AGGREGATE_MAX_FIT,
        "max_val": AGGREGATE_MAX_VAL,
        "latents": "posterior means",
        **meta,
    }
    records = {k: m.to_dict() for k, m in models.items()}
    info["models_sha256"] = models_digest(records)
    written = _save(path, info, records)
    return LatentAggregates(
        models=models, choice=meta["choice"], val_log_density=meta["val_log_density"], info=info, path=written
    )
