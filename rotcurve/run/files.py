"""The files a run writes and reads: latents, reconstructions and samples.

Every file is written atomically (nothing is left behind on failure or a
full disk) and refuses to replace an existing one unless ``overwrite``.

Latents (:meth:`Run.encode_file`, ``rotcurve encode``; read with :func:`read_latents`)
    HDF5, root attribute ``format = "rotcurve-latents"`` (:data:`LATENT_FORMAT`).

    ==========================  ===============  =====================================
    ``/latent/mean``            (N, d) float64   posterior means of z
    ``/latent/covariance``      (N, d, d)        posterior covariances (0 for an autoencoder)
    ``/rows``                   (N,) int64       each example's row in its source
    ``/radii``                  (n_r,) kpc       curves only
    ``/params/{Md,Rd,Mh,c}``    (N,) float64     curves whose file has the true parameters
                                                 (``units`` attribute: Msun, kpc, Msun, "")
    ``/labels``                 (N,) int64       MNIST digit labels
    ==========================  ===============  =====================================

    Root attributes: ``format``, ``rotcurve_version``, ``torch_version``,
    ``numpy_version``, ``h5py_version``, ``data`` (the source: an absolute
    curve file path or ``mnist:DIR``), ``split`` ("train", "val", "test" or
    "all"), ``run`` (absolute run folder), ``checkpoint``, ``epoch``,
    ``model_config`` (JSON), ``n``, ``latent_dim``.

Reconstructions (:meth:`Run.reconstruct_file`, ``rotcurve reconstruct``)
    A rotcurve curve file (:mod:`rotcurve.io`, no components) with the input's
    true parameters and its ``seed``, ``prior``, ``radii_spec`` attributes,
    plus ``H0``, ``Delta`` of the training file, ``command``, ``run``,
    ``checkpoint``, ``epoch``, ``model_config`` and ``source_data``.

Samples (:meth:`Run.sample_file`, ``rotcurve sample``): the data kind's file format
    Curves (``"rotcurve"``): a rotcurve curve file (no components, no
    parameters) with ``seed``, ``latent_source``, ``latent_aggregate``
    (for a fitted source) and the provenance attributes of reconstructions.
    Images (``"rotcurve-images"``, :data:`IMAGES_FORMAT`): ``/images (n, 28,
    28)`` float32 in [0, 1]; root attributes ``format``, the versions,
    ``run``, ``checkpoint``, ``seed``, ``source`` and ``latent_aggregate``
    (for a fitted source).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve._version import versions
from rotcurve.datasets.kinds import CURVE_FORMAT, IMAGES_FORMAT, kind_for_spec, read_curve_rows
from rotcurve.datasets.splits import Split
from rotcurve.errors import OVERWRITE, ConfigError, DataError, Option, OutputExistsError
from rotcurve.io.atomic import check_output
from rotcurve.io.format import CurveWriter
from rotcurve.io.h5write import atomic_h5  # no crash, one line, nothing left on a full disk; locked
from rotcurve.io.read import open_dataset
from rotcurve.run.checks import check_count
from rotcurve.run.sources import iter_samples
from rotcurve.units import PARAM_UNITS

__all__ = [
    "LATENT_FORMAT",
    "IMAGES_FORMAT",
    "write_latents",
    "write_reconstructions",
    "write_samples",
    "read_latents",
    "read_rows",
]

#: ``format`` attribute of the files :meth:`Run.encode_file` writes.
LATENT_FORMAT: str = "rotcurve-latents"

#: Rows of a curve file (float64 km/s) and, with ``params``, their true parameters.
read_rows = read_curve_rows


def check_out(path: Path, overwrite: bool) -> None:
    """Refuse an output that is a folder, or exists without ``overwrite`` (one line each)."""
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a file name for the output")
    if path.exists() and not overwrite:
        raise OutputExistsError.both("{p} exists; pass {o} to replace it", p=path, o=OVERWRITE)
    check_output(path, overwrite=overwrite)  # missing folders are created when writing


def _versions() -> dict[str, str]:
    """``rotcurve_version``, ``torch_version``, ``numpy_version``, ``h5py_version`` (root attributes)."""
    return versions(("torch", "numpy", "h5py"), suffix="_version")


def _curve_attrs(run: Any, command: str, extra: dict[str, Any]) -> dict[str, Any]:
    """Root attributes of a curve file a run writes (physics of the training file + provenance)."""
    physics = run.data.get("file_attrs") or {}
    attrs: dict[str, Any] = {k: physics[k] for k in ("H0", "Delta") if k in physics}
    attrs.update(
        command=f"rotcurve {command}",
        run=str(run.path.resolve()),
        checkpoint=run.checkpoint.name,
        epoch=int(run.epoch),
        model_config=run.model_config.to_dict(),
        **extra,
    )
    return attrs


# ---------------------------------------------------------------------- latents
def write_latents(
    run: Any, data: str, out: Path, *, split: str | None, overwrite: bool, batch_size: int, progress: bool
) -> Path:
    """Encode ``split`` of ``data`` (or its default: every row of a curve file, MNIST's test split) to ``out``."""
    from tqdm.auto import tqdm

    check_out(out, overwrite)
    kind = run.data_kind
    spec = kind.check_spec(data)
    used = kind.default_split if split is None else Split.parse(split).value
    opened = kind.open(spec, record=run.data, normaliser=run.normaliser)
    if split is not None and not opened.same_as_training:
        raise ConfigError.both(
            "split {s!r} is defined only for the run's training file ({t}) and MNIST; {d} is another "
            "file: {fix} to encode all its rows",
            s=used, t=run.data.get("spec", "?"), d=spec, fix=Option("leave split=None", "drop --split"),
        )
    rows = opened.rows(used)
    n, d = len(rows), run.latent_dim
    with atomic_h5(out, overwrite=overwrite) as f:
        f.attrs["format"] = LATENT_FORMAT
        for key, value in {**_versions(), "data": kind.recorded_spec(spec), "split": used}.items():
            f.attrs[key] = value
        f.attrs["run"] = str(run.path.resolve())
        f.attrs["checkpoint"] = run.checkpoint.name
        f.attrs["epoch"] = int(run.epoch)
        f.attrs["model_config"] = json.dumps(run.model_config.to_dict(), sort_keys=True)
        f.attrs["n"] = int(n)
        f.attrs["latent_dim"] = int(d)
        g = f.create_group("latent")
        mean = g.create_dataset("mean", shape=(n, d), dtype=np.float64)
        cov = g.create_dataset("covariance", shape=(n, d, d), dtype=np.float64)
        mean.attrs["description"] = "posterior mean of z"
        cov.attrs["description"] = "posterior covariance of z"
        f.create_dataset("rows", data=rows).attrs["description"] = opened.rows_note(used)
        if opened.radii is not None:
            f.create_dataset("radii", data=opened.radii).attrs["units"] = "kpc"
        labels = f.create_dataset("labels", shape=(n,), dtype=np.int64) if opened.has_labels else None
        pgroup = f.create_group("params") if opened.has_params else None
        bar = tqdm(total=n, desc="encode", unit="ex", disable=not progress)
        try:
            for block in opened.blocks(used, params=pgroup is not None):
                start = block.start
                enc = run.encode(block.x, batch_size=batch_size)
                mean[start : start + len(enc)] = enc.mean
                cov[start : start + len(enc)] = enc.covariance
                if labels is not None:
                    labels[start : start + len(enc)] = block.labels
                if pgroup is not None:
                    for name in block.params.columns:
                        if name not in pgroup:
                            column = pgroup.create_dataset(name, shape=(n,), dtype=np.float64)
                            column.attrs["units"] = PARAM_UNITS.get(name, "")
                        pgroup[name][start : start + len(enc)] = block.params[name].to_numpy(np.float64)
                bar.update(len(enc))
        finally:
            bar.close()
    return out


def read_latents(path: str | os.PathLike[str]) -> Any:
    """Read a latents file (``rotcurve encode`` / :meth:`Run.encode_file`) as a DataFrame.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    pandas.DataFrame
        One row per encoded example, columns in this order: ``row`` (the
        example's row in the source file, when recorded), ``name`` (an
        identifier, when the file has one), ``z1`` ... ``zd`` (posterior
        means), ``z1_std`` ... ``zd_std`` (posterior standard deviations,
        the square roots of the covariance diagonal; 0 for an
        autoencoder), the true parameters ``Md`` (Msun), ``Rd`` (kpc),
        ``Mh`` (Msun), ``c`` when the file holds them, and ``label`` for
        MNIST.  ``DataFrame.attrs`` holds the file's attributes (run,
        checkpoint, epoch, data, split, versions; ``model_config`` as a
        dict) and ``radii`` (a list, kpc) for curves.  The full covariances are in
        the file's ``/latent/covariance (N, d, d)``.

    Raises
    ------
    DataError
        A missing file, one that is not HDF5, a rotcurve curve file or any
        other file that is not a latents file, or a damaged one.
    """
    import h5py
    import pandas as pd

    p = Path(os.fspath(path))
    if not p.is_file():
        raise DataError(f"{p}: no such file; give a latents file written by rotcurve encode (Run.encode_file)")
    try:
        f = h5py.File(p, "r")
    except OSError:
        raise DataError(f"{p} is not an HDF5 file; give a latents file written by rotcurve encode") from None
    with f:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != LATENT_FORMAT:
            if "v_circ" in f and "radii" in f:
                what = "a rotcurve curve file, not latents: encode it first (Run.encode_file or rotcurve encode)"
            else:
                what = f"not a rotcurve latents file (format {fmt!r}, expected {LATENT_FORMAT!r})"
            raise DataError(f"{p} is {what}")
        try:
            mean = np.asarray(f["latent/mean"][...], dtype=np.float64)
            cov = np.asarray(f["latent/covariance"][...], dtype=np.float64)
        except KeyError:
            raise DataError(f"{p} is damaged: it lacks /latent/mean or /latent/covariance; encode again") from None
        if mean.ndim != 2 or cov.shape != (*mean.shape, mean.shape[1]):
            raise DataError(
                f"{p} is damaged: /latent/mean {mean.shape} and /latent/covariance {cov.shape} do not fit"
            )
        n, d = mean.shape
        columns: dict[str, Any] = {}
        extra = {name: f[name] for name in ("rows", "name", "labels") if name in f}
        for key, ds in extra.items():
            if ds.shape != (n,):
                raise DataError(f"{p} is damaged: /{key} has shape {ds.shape}, expected ({n},)")
        if "rows" in extra:
            columns["row"] = extra["rows"][...].astype(np.int64)
        if "name" in extra:
            columns["name"] = extra["name"].asstr()[...] if extra["name"].dtype.kind in "OS" else extra["name"][...]
        for j in range(d):
            columns[f"z{j + 1}"] = mean[:, j]
        std = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
        for j in range(d):
            columns[f"z{j + 1}_std"] = std[:, j]
        if "params" in f:
            names = [k for k in ("Md", "Rd", "Mh", "c") if k in f["params"]]
            for name in names + sorted(set(f["params"]) - set(names)):
                values = np.asarray(f["params"][name][...], dtype=np.float64)
                if values.shape != (n,):
                    raise DataError(f"{p} is damaged: /params/{name} has shape {values.shape}, expected ({n},)")
                columns[name] = values
        if "labels" in extra:
            columns["label"] = extra["labels"][...].astype(np.int64)
        attrs: dict[str, Any] = {}
        for key, value in f.attrs.items():
            value = value.decode() if isinstance(value, bytes) else value
            attrs[key] = value.item() if isinstance(value, np.generic) else value
        if isinstance(attrs.get("model_config"), str):
            try:
                attrs["model_config"] = json.loads(attrs["model_config"])
            except ValueError:
                pass
        if "radii" in f:
            attrs["radii"] = [float(r) for r in f["radii"][...]]
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n))
    frame.attrs.update(attrs)
    return frame


# ---------------------------------------------------------------- reconstructions
def write_reconstructions(
    run: Any, data: str, out: Path, *, overwrite: bool, batch_size: int, progress: bool
) -> Path:
    """Reconstruct every curve of the curve file ``data`` into the curve file ``out``."""
    from tqdm.auto import tqdm

    if run.data_kind.file_format != CURVE_FORMAT or kind_for_spec(data).file_format != CURVE_FORMAT:
        raise DataError("reconstruct writes rotation-curve files; it needs a curve run and a curve file")
    check_out(out, overwrite)
    with open_dataset(data) as ds:
        run.check_radii(ds.radii, source=data)
        attrs = {k: ds.attrs[k] for k in ("seed", "prior", "radii_spec") if ds.attrs.get(k) is not None}
        attrs = {**attrs, **_curve_attrs(run, "reconstruct", {"source_data": str(Path(data).resolve())})}
        frame = ds.params if ds.has_params else None
        bar = tqdm(total=ds.n, desc="reconstruct", unit="curve", disable=not progress)
        try:
            with CurveWriter(
                out,
                n=ds.n,
                radii=ds.radii,
                components=False,
                params=frame is not None,
                attrs=attrs,
                overwrite=overwrite,
            ) as writer:
                for start, stop, block in ds.iter_blocks(65536):
                    v_hat = run.reconstruct(block["v_circ"], batch_size=batch_size)
                    pars = None if frame is None else frame.iloc[start:stop]
                    writer.write(start, v_circ=v_hat, params=pars)
                    bar.update(stop - start)
        finally:
            bar.close()
    return out


# ------------------------------------------------------------------------ samples
def _write_curve_samples(run: Any, n: int, out: Path, samples: Iterator[np.ndarray], bar: Any, *,
                         seed: int, source: str, overwrite: bool) -> None:
    extra: dict[str, Any] = {"latent_source": source}
    if source != "prior":
        extra["latent_aggregate"] = type(run.aggregate(source)).kind
    attrs = {"seed": int(seed), **_curve_attrs(run, "sample", extra)}
    with CurveWriter(
        out, n=n, radii=run.radii, components=False, params=False, attrs=attrs, overwrite=overwrite
    ) as writer:
        for chunk in samples:
            writer.append(v_circ=chunk)
            bar.update(len(chunk))


def _write_image_samples(run: Any, n: int, out: Path, samples: Iterator[np.ndarray], bar: Any, *,
                         seed: int, source: str, overwrite: bool) -> None:
    shape = run.image_shape or (run.model_config.input_dim,)
    with atomic_h5(out, overwrite=overwrite) as f:
        f.attrs["format"] = IMAGES_FORMAT
        for key, value in _versions().items():
            f.attrs[key] = value
        f.attrs.update(
            {
                "run": str(run.path.resolve()),
                "checkpoint": run.checkpoint.name,
                "seed": int(seed),
                "source": source,
            }
        )
        if source != "prior":
            f.attrs["latent_aggregate"] = type(run.aggregate(source)).kind
        images = f.create_dataset("images", shape=(n, *shape), dtype=np.float32)
        images.attrs["description"] = "pixel intensities in [0, 1]"
        start = 0
        for chunk in samples:
            images[start : start + len(chunk)] = chunk
            start += len(chunk)
            bar.update(len(chunk))


#: The writer of sample files for each file format a data kind writes (``DataKind.file_format``).
SAMPLE_WRITERS: dict[str, Callable[..., None]] = {
    CURVE_FORMAT: _write_curve_samples,
    IMAGES_FORMAT: _write_image_samples,
}


def write_samples(
    run: Any, n: int, out: Path, *, seed: int, source: str, overwrite: bool, batch_size: int, progress: bool
) -> Path:
    """Write ``n`` samples from ``source`` to ``out`` in the file format of the run's data kind."""
    from tqdm.auto import tqdm


    check_out(out, overwrite)
    n = check_count(n, least=1)
    block = 65536
    bar = tqdm(total=n, desc="sample", unit="ex", disable=not progress)
    try:
        # one generator over all batches, as in Run.sample: same seed, same samples
        samples = iter_samples(run, n, seed=seed, source=source, batch_size=min(batch_size, block))
        write = SAMPLE_WRITERS[run.data_kind.file_format]
        write(run, n, out, samples, bar, seed=seed, source=source, overwrite=overwrite)
    finally:
        bar.close()
    return out
