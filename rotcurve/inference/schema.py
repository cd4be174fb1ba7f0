"""The ``posteriors.h5`` file: a documented, versioned schema; atomic writers; a reader.

Schema version 1 (``SCHEMA_VERSION``)::

    posteriors.h5
      attrs  format = "rotcurve-posteriors", schema_version = 1,
             rotcurve_version, created (ISO 8601 UTC), settings (JSON: model,
             halo, H0 [km/s/Mpc], Delta, prior, method, seed), n_galaxies,
             names (JSON list, catalogue order)
      galaxies/<key>/                      one group per galaxy (key: the name with
                                           characters other than A-Z a-z 0-9 _ . + -
                                           replaced by _; attribute name: the name)
        attrs  name, status ("ok" | "not_converged" | "failed"), reason, model,
               prior, method, n_points, n_params, chi2 (at the MAP), chi2_red,
               converged, acceptance, n_steps, n_walkers, n_eff, time_s [s],
               seed_key, map_log_prob, tau (per parameter, [steps]),
               parameters (JSON list of {name, unit, log10, label}),
               derived_parameters (JSON list, same form), summary (JSON: the
               summary.csv row)
        samples      (S, d) float64  posterior samples, physical units
                                     (columns: parameters; not log10)
        derived      (S, k) float64  V200 [km/s], R200 [kpc], C200, M200 [Msun],
                                     Mstar [Msun] of each sample
        log_prob     (S,)   float64  ln posterior (up to a constant) of each sample
        map          (d,)   float64  MAP point (physical units)
        map_derived  (k,)   float64  derived quantities at the MAP
        data/                          the data that were fitted
          attrs  source, distance [Mpc], e_distance, inclination [deg],
                 e_inclination (NaN when unknown), truth (JSON or absent)
          R [kpc], V, eV [km/s], and where present Vgas, Vdisk, Vbul [km/s],
          SBdisk, SBbul [Lsun/pc^2]: (n,) float64, attribute unit; rows (n,)
          strings (the row labels of the source)

A failed galaxy has the attributes (``samples`` and the rest absent; ``data``
present when the data could be read).  Per-galaxy files written while a
catalogue runs (``DIR/galaxies/<key>.h5``) have the same file attributes and
one group ``galaxy`` with the layout above; :func:`merge` copies them into
``posteriors.h5``.  Every file is written through
:func:`rotcurve.io.atomic.atomic_path`.  Readers refuse other formats and newer
schema versions (:class:`rotcurve.errors.DataError`).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve._version import __version__
from rotcurve.errors import DataError
from rotcurve.inference.galaxy import POINT_COLUMNS, Galaxy
from rotcurve.inference.parameters import DERIVED, Parameter
from rotcurve.inference.result import GalaxyFit
from rotcurve.io.atomic import atomic_path

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "galaxy_key",
    "write_fit_group",
    "read_fit_group",
    "write_galaxy_file",
    "read_galaxy_file",
    "read_galaxy_summary",
    "merge",
    "Posteriors",
]

#: Value of the ``format`` file attribute.
FORMAT = "rotcurve-posteriors"
#: Version of the layout documented above.
SCHEMA_VERSION = 1

_SAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def galaxy_key(name: str) -> str:
    """File and group name of a galaxy: unsafe characters replaced by ``_``."""
    key = _SAFE.sub("_", name)
    return key if key not in ("", ".", "..") else f"_{key}_"


def _json(value: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, (np.floating, np.integer, np.bool_)):
            return o.item()
        raise TypeError(type(o).__name__)

    return json.dumps(value, default=default, allow_nan=True)


def _params_json(params: Sequence[Parameter]) -> str:
    return _json([{"name": p.name, "unit": p.unit, "log10": p.log10, "label": p.label} for p in params])


def _params_from_json(text: str) -> tuple[Parameter, ...]:
    return tuple(Parameter(d["name"], d["unit"], bool(d["log10"]), d["label"]) for d in json.loads(text))


def _file_attrs(f: Any, settings: dict[str, Any]) -> None:
    f.attrs["format"] = FORMAT
    f.attrs["schema_version"] = SCHEMA_VERSION
    f.attrs["rotcurve_version"] = __version__
    f.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    f.attrs["settings"] = _json(settings)


def _check_file(f: Any, path: Path) -> None:
    if f.attrs.get("format") != FORMAT:
        raise DataError(f"{path}: not a rotcurve posteriors file (format attribute {f.attrs.get('format')!r})")
    version = int(f.attrs.get("schema_version", -1))
    if version > SCHEMA_VERSION:
        raise DataError(
            f"{path}: schema version {version} is newer than this rotcurve reads ({SCHEMA_VERSION}); upgrade rotcurve"
        )
    if version < 1:
        raise DataError(f"{path}: no valid schema_version attribute")


def write_fit_group(group: Any, fit: GalaxyFit) -> None:
    """Write one galaxy's result into an (empty) h5py group."""
    a = group.attrs
    a["name"] = fit.name
    a["status"] = fit.status
    a["reason"] = fit.reason
    a["model"] = fit.model
    a["prior"] = fit.prior
    a["method"] = fit.method
    a["n_points"] = int(fit.n_points)
    a["n_params"] = int(fit.n_params)
    a["chi2"] = float(fit.chi2)
    a["chi2_red"] = float(fit.chi2_red)
    a["converged"] = bool(fit.converged)
    a["acceptance"] = float(fit.acceptance)
    a["n_steps"] = int(fit.n_steps)
    a["n_walkers"] = int(fit.n_walkers)
    a["n_eff"] = float(fit.n_eff)
    a["time_s"] = float(fit.time_s)
    a["seed_key"] = np.uint64(fit.seed_key)
    a["map_log_prob"] = float(fit.map_log_prob)
    a["tau"] = np.asarray(fit.tau if fit.tau is not None else [], dtype=np.float64)
    a["parameters"] = _params_json(fit.parameters)
    a["derived_parameters"] = _params_json(DERIVED)
    a["summary"] = _json(fit.summary_row())
    if fit.ok:
        group.create_dataset("samples", data=np.asarray(fit.samples, dtype=np.float64))
        group.create_dataset("derived", data=np.asarray(fit.derived, dtype=np.float64))
        group.create_dataset("log_prob", data=np.asarray(fit.log_prob, dtype=np.float64))
        group.create_dataset("map", data=np.asarray(fit.map, dtype=np.float64))
        group.create_dataset("map_derived", data=np.asarray(fit.map_derived, dtype=np.float64))
    g = fit.galaxy
    if g is not None:
        data = group.create_group("data")
        data.attrs["source"] = g.source
        for name in ("distance", "e_distance", "inclination", "e_inclination"):
            value = getattr(g, name)
            data.attrs[name] = float(value) if value is not None else math.nan
        if g.truth is not None:
            data.attrs["truth"] = _json(g.truth)
        for col, unit in POINT_COLUMNS.items():
            value = getattr(g, col)
            if value is not None:
                ds = data.create_dataset(col, data=np.asarray(value, dtype=np.float64))
                ds.attrs["unit"] = unit
        rows = g.rows if g.rows is not None else tuple(f"row {i}" for i in range(g.n))
        import h5py

        data.create_dataset("rows", data=np.array(rows, dtype=object), dtype=h5py.string_dtype())


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_fit_group(group: Any) -> GalaxyFit:
    """Inverse of :func:`write_fit_group`."""
    a = group.attrs
    galaxy = None
    if "data" in group:
        d = group["data"]
        cols = {c: d[c][()] for c in POINT_COLUMNS if c in d}
        nuis = {}
        for name in ("distance", "e_distance", "inclination", "e_inclination"):
            v = float(d.attrs.get(name, math.nan))
            nuis[name] = None if math.isnan(v) else v
        truth = json.loads(_str(d.attrs["truth"])) if "truth" in d.attrs else None
        rows = tuple(_str(r) for r in d["rows"][()]) if "rows" in d else None
        galaxy = Galaxy(_str(a["name"]), source=_str(d.attrs.get("source", "")), truth=truth, rows=rows, **cols, **nuis)

    def ds(name: str) -> np.ndarray | None:
        return group[name][()] if name in group else None

    tau = np.asarray(a.get("tau", []), dtype=np.float64)
    return GalaxyFit(
        name=_str(a["name"]),
        status=_str(a["status"]),
        reason=_str(a["reason"]),
        model=_str(a["model"]),
        prior=_str(a["prior"]),
        method=_str(a["method"]),
        parameters=_params_from_json(_str(a["parameters"])),
        samples=ds("samples"),
        derived=ds("derived"),
        log_prob=ds("log_prob"),
        map=ds("map"),
        map_derived=ds("map_derived"),
        map_log_prob=float(a["map_log_prob"]),
        chi2=float(a["chi2"]),
        n_points=int(a["n_points"]),
        tau=tau if tau.size else None,
        acceptance=float(a["acceptance"]),
        converged=bool(a["converged"]),
        n_steps=int(a["n_steps"]),
        n_walkers=int(a["n_walkers"]),
        n_eff=float(a["n_eff"]),
        time_s=float(a["time_s"]),
        seed_key=int(a["seed_key"]),
        galaxy=galaxy,
    )


def write_galaxy_file(path: str | Path, fit: GalaxyFit, settings: dict[str, Any]) -> Path:
    """Write one galaxy's result to its own file, atomically (group ``galaxy``)."""
    import h5py

    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            _file_attrs(f, settings)
            write_fit_group(f.create_group("galaxy"), fit)
    return path


def read_galaxy_file(path: str | Path) -> GalaxyFit:
    """Read a per-galaxy file written by :func:`write_galaxy_file`."""
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            _check_file(f, path)
            return read_fit_group(f["galaxy"])
    except (OSError, KeyError) as exc:
        raise DataError(f"{path}: unreadable galaxy result ({exc})") from None


def read_galaxy_summary(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(summary row, settings)`` of a per-galaxy file, reading attributes only."""
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            _check_file(f, path)
            return json.loads(_str(f["galaxy"].attrs["summary"])), json.loads(_str(f.attrs["settings"]))
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: unreadable galaxy result ({exc})") from None


def merge(path: str | Path, galaxy_files: Sequence[tuple[str, Path]], settings: dict[str, Any]) -> Path:
    """Copy per-galaxy files into one ``posteriors.h5``, atomically, one galaxy at a time.

    Parameters
    ----------
    path : str or Path
        The output file.
    galaxy_files : sequence of (key, Path)
        In catalogue order.
    settings : dict
        The run's settings (file attribute).
    """
    import h5py

    path = Path(path)
    names = []
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as out:
            _file_attrs(out, settings)
            groups = out.create_group("galaxies")
            for key, src in galaxy_files:
                with h5py.File(src, "r") as f:
                    _check_file(f, Path(src))
                    f.copy(f["galaxy"], groups, name=key)
                    names.append(_str(f["galaxy"].attrs["name"]))
            out.attrs["n_galaxies"] = len(names)
            out.attrs["names"] = _json(names)
    return path


class Posteriors:
    """Read a ``posteriors.h5`` file (a context manager).

    >>> with Posteriors("out/posteriors.h5") as post:      # doctest: +SKIP
    ...     post.names
    ...     fit = post["NGC3198"]                         # a GalaxyFit
    ...     fit.column("V200")
    """

    def __init__(self, path: str | Path) -> None:
        import h5py

        self.path = Path(path)
        try:
            self._f = h5py.File(self.path, "r")
        except FileNotFoundError:
            raise DataError(f"{self.path}: no such file") from None
        except OSError as exc:
            raise DataError(f"{self.path}: not an HDF5 file ({exc})") from None
        try:
            _check_file(self._f, self.path)
        except DataError:
            self._f.close()
            raise
        self.settings: dict[str, Any] = json.loads(_str(self._f.attrs["settings"]))
        self.names: list[str] = json.loads(_str(self._f.attrs["names"]))
        self._keys = {_str(self._f["galaxies"][k].attrs["name"]): k for k in self._f["galaxies"]}

    def __enter__(self) -> Posteriors:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._f.close()

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __getitem__(self, name: str) -> GalaxyFit:
        if name not in self._keys:
            raise KeyError(f"no galaxy {name!r} in {self.path}")
        return read_fit_group(self._f["galaxies"][self._keys[name]])

    @property
    def schema_version(self) -> int:
        """The file's schema version."""
        return int(self._f.attrs["schema_version"])
