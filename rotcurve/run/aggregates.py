"""The aggregate cache: latent samplers fitted to a run's training latents, saved as JSON.

On first use the run's training data are read again (through the run's
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
``val_log_density`` (per model), ``choice`` and ``models`` (each model's
``to_dict()``: ``prior``, ``gaussian``, ``gmm``).  A damaged cache is
refitted with a warning; a read-only run folder keeps the fit in memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve._version import __version__
from rotcurve.analysis.aggregate import aggregate_from_dict, fit_aggregate
from rotcurve.errors import ConfigError, DataError
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
]

#: ``format`` of the JSON file caching a run's latent aggregates (``aggregate-best.json``).
AGGREGATE_FORMAT: str = "rotcurve-aggregates"
#: Most training latents an aggregate is fitted to (a seeded subsample beyond).
AGGREGATE_MAX_FIT: int = 20000
#: Most validation latents the aggregates are compared on.
AGGREGATE_MAX_VAL: int = 5000
_AGGREGATE_VERSION = 1


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
        raise DataError(
            f"the run's training {kind.source_noun} {spec or '(unknown)'} is not there; the aggregate latent "
            f"samplers are fitted to it once (then cached in the run folder): restore the {kind.source_noun}"
        )
    data = kind.open(spec, record=run.data)
    if not data.same_as_training:
        raise DataError(
            f"{spec} has changed since the run was trained on it; the aggregate latent samplers "
            f"need the training {kind.noun}: restore the original {kind.source_noun}"
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


def _load(path: Path, sha: str, fit_seed: int) -> LatentAggregates | None:
    """The cached aggregates at ``path`` when they are for this checkpoint and seed, else None."""
    try:
        record = json.loads(path.read_text())
        if (
            isinstance(record, dict)
            and record.get("format") == AGGREGATE_FORMAT
            and record.get("format_version") == _AGGREGATE_VERSION
            and record.get("checkpoint_sha256") == sha
            and record.get("fit_seed") == fit_seed
        ):
            models = {k: aggregate_from_dict(v) for k, v in record["models"].items()}
            if set(models) == {"prior", "gaussian", "gmm"} and record.get("choice") in models:
                info = {k: v for k, v in record.items() if k != "models"}
                return LatentAggregates(
                    models=models, choice=record["choice"],
                    val_log_density=dict(record["val_log_density"]), info=info, path=path,
                )
    except (ValueError, KeyError, TypeError) as exc:  # a damaged cache: fit again
        warnings.warn(f"{path}: unreadable latent aggregate cache ({exc}); fitting again", stacklevel=4)
    return None


def _save(path: Path, info: dict[str, Any], models: dict[str, Any]) -> Path | None:
    """Write the cache (atomically); None, with a warning, where the run folder is read-only."""
    try:
        save_json({**info, "models": {k: m.to_dict() for k, m in models.items()}}, path)
    except OSError as exc:  # a read-only run folder: use the fit, say so
        warnings.warn(f"could not cache the latent aggregates in {path} ({exc}); they are refitted next time",
                      stacklevel=4)
        return None
    return path


def load_or_fit(run: Any, *, refit: bool, fit_seed: int, progress: bool) -> LatentAggregates:
    """The run's aggregates: from the cache when it fits the checkpoint and ``fit_seed``, else fitted and saved."""
    path = aggregate_path(run)
    sha = _sha256(run.checkpoint)
    if path.exists() and not refit:
        cached = _load(path, sha, fit_seed)
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
    written = _save(path, info, models)
    return LatentAggregates(
        models=models, choice=meta["choice"], val_log_density=meta["val_log_density"], info=info, path=written
    )
