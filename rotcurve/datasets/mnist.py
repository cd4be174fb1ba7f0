"""MNIST from the standard IDX files, and a verified downloader.

A folder holds some of

==============================  ===========================  =====================
file (raw, or with ``.gz``)     content                      magic number
==============================  ===========================  =====================
``train-images-idx3-ubyte``     60,000 images, 28x28 uint8   2051 (0x00000803)
``train-labels-idx1-ubyte``     60,000 labels 0..9 uint8     2049 (0x00000801)
``t10k-images-idx3-ubyte``      10,000 images                2051
``t10k-labels-idx1-ubyte``      10,000 labels                2049
==============================  ===========================  =====================

(torchvision's layout ``DIR/MNIST/raw/`` is found too.)  :func:`load_mnist`
reads one part, taking a copy verified against the known checksums when a
part is there more than once (see :func:`find_mnist_files`); :func:`download_mnist` fetches the ``.gz`` files, verifying
every byte against published checksums, and touches no network when verified
files are already there.
"""

from __future__ import annotations

import hashlib
import http.client
import sys
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from rotcurve.datasets.idx import read_idx_bytes
from rotcurve.errors import DOWNLOAD, ConfigError, DataError
from rotcurve.io.atomic import atomic_path

__all__ = [
    "MNIST_FILES",
    "MNIST_CHECKSUMS",
    "MNIST_MIRRORS",
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "load_mnist",
    "find_mnist_files",
    "download_mnist",
    "verify_mnist_file",
]

#: Magic number of an IDX file of uint8 images (3 dimensions).
IMAGES_MAGIC: int = 2051
#: Magic number of an IDX file of uint8 labels (1 dimension).
LABELS_MAGIC: int = 2049

#: File stem of each part.
MNIST_FILES: dict[str, str] = {
    "train-images": "train-images-idx3-ubyte",
    "train-labels": "train-labels-idx1-ubyte",
    "t10k-images": "t10k-images-idx3-ubyte",
    "t10k-labels": "t10k-labels-idx1-ubyte",
}

#: Known checksums.  ``gz_md5``: MD5 of the original ``.gz`` files as
#: published by torchvision.  ``gz_sha256``, ``raw_md5``, ``raw_sha256``:
#: computed from a copy of the original t10k files (the decompressed content
#: does not depend on how the file was gzipped; the t10k-labels ``.gz`` there
#: is byte-identical to the published one).
MNIST_CHECKSUMS: dict[str, dict[str, str]] = {
    "train-images-idx3-ubyte": {"gz_md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
    "train-labels-idx1-ubyte": {"gz_md5": "d53e105ee54ea40749a09fcbcd1e9432"},
    "t10k-images-idx3-ubyte": {
        "gz_md5": "9fb629c4189551a2d022fa330f9573f3",
        "raw_md5": "2646ac647ad5339dbf082846283269ea",
        "raw_sha256": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    "t10k-labels-idx1-ubyte": {
        "gz_md5": "ec29112dd5afa0611ce80d1b7f02629c",
        "gz_sha256": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "raw_md5": "27ae3e4e09519cfbb04c329615203637",
        "raw_sha256": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
}

#: Where :func:`download_mnist` looks, in order (``<mirror><stem>.gz``).
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_PARTS: dict[str, str] = {"train": "train", "test": "t10k"}


# --------------------------------------------------------------------- finding
def _candidates(directory: Path, stem: str) -> list[Path]:
    out = []
    for folder in (directory, directory / "MNIST" / "raw"):
        out += [folder / stem, folder / f"{stem}.gz"]
    return out


def find_mnist_files(
    directory: str | Path,
    *,
    checksums: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Path | None]:
    """Locate the MNIST files in ``directory`` (verified copies first).

    Each part may be there raw (``train-images-idx3-ubyte``) or gzipped
    (``.gz``), in ``directory`` or in torchvision's ``directory/MNIST/raw``.
    When a part has more than one copy, the first one that passes
    :func:`verify_mnist_file` wins, so the verified ``.gz`` that
    :func:`download_mnist` wrote is read, never a stale or tampered raw file
    next to it.  When no copy verifies (another IDX data set with MNIST's
    file names, or one's own subset), the raw file is preferred over the
    ``.gz``, as before.  A single copy is used as it is.

    Parameters
    ----------
    directory : str or Path
        The folder.
    checksums : mapping, keyword-only
        Known checksums (default :data:`MNIST_CHECKSUMS`; see
        :func:`verify_mnist_file`).

    Returns
    -------
    dict
        Part name (``"train-images"``, ``"train-labels"``, ``"t10k-images"``,
        ``"t10k-labels"``) -> path, or None where missing.
    """
    directory = Path(directory)
    sums = MNIST_CHECKSUMS if checksums is None else checksums
    found: dict[str, Path | None] = {}
    for part, stem in MNIST_FILES.items():
        present = [p for p in _candidates(directory, stem) if p.is_file()]
        if len(present) > 1:
            verified = next((p for p in present if verify_mnist_file(p, stem, checksums=sums)), None)
            found[part] = verified or present[0]
        else:
            found[part] = present[0] if present else None
    return found


# --------------------------------------------------------------------- reading
def _read(path: Path, magic: int) -> np.ndarray:
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        import gzip

        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{path}: damaged or truncated gzip file ({exc}); delete it and download it again "
                "(rotcurve train --download)"
            ) from None
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if found != magic:
        what = "image" if magic == IMAGES_MAGIC else "label"
        raise DataError(
            f"{path}: not an MNIST {what} file (magic number {found}, expected {magic}); "
            "check that the file is the right one"
        )
    return read_idx_bytes(raw, source=str(path))


def load_mnist(
    directory: str | Path,
    split: Literal["train", "test"] = "train",
    *,
    as_float: bool = True,
    checksums: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read the MNIST training (``train-*``) or test (``t10k-*``) part.

    Parameters
    ----------
    directory : str or Path
        Folder with the IDX files (raw or ``.gz``).  Where a part is there
        both raw and gzipped, the copy that matches the known MNIST
        checksums is read (:func:`find_mnist_files`).
    split : {"train", "test"}
        Which part.
    as_float : bool, keyword-only
        Pixels as float32 in [0, 1] (``value / 255``); otherwise uint8 0..255.
    checksums : mapping, keyword-only
        Known checksums that pick among several copies of a part (default
        :data:`MNIST_CHECKSUMS`).

    Returns
    -------
    images : ndarray, shape (n, rows, cols)
        float32 in [0, 1] or uint8 (28 x 28 for MNIST).
    labels : ndarray, shape (n,)
        int64 digits 0..9.

    Raises
    ------
    DataError
        When a file is missing, not MNIST (magic number), truncated, or the
        image and label files disagree, or a label is outside 0..9.
    ConfigError
        For an unknown ``split``.
    """
    if split not in _PARTS:
        raise ConfigError(f"MNIST split must be 'train' or 'test', got {split!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError.both("{d}: no such folder for MNIST; check the path or use {dl}", d=directory, dl=DOWNLOAD)
    prefix = _PARTS[split]
    found = find_mnist_files(directory, checksums=checksums)
    paths = {}
    for kind in ("images", "labels"):
        path = found[f"{prefix}-{kind}"]
        if path is None:
            stem = MNIST_FILES[f"{prefix}-{kind}"]
            raise DataError(
                f"{directory}: no MNIST {split} {kind} ({stem} or {stem}.gz); put the IDX files "
                "there or download them (rotcurve train --download, or "
                "rotcurve.datasets.download_mnist)"
            )
        paths[kind] = path
    images = _read(paths["images"], IMAGES_MAGIC)
    labels = _read(paths["labels"], LABELS_MAGIC)
    if images.ndim != 3 or min(images.shape[1:], default=0) < 1:
        raise DataError(f"{paths['images']}: expected images of shape (n, rows, cols), got {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{paths['labels']}: expected labels of shape (n,), got {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{paths['images']} has {len(images)} images but {paths['labels']} has {len(labels)} "
            "labels; the two files must come from the same part"
        )
    if labels.size and labels.max() > 9:
        row = int(np.argmax(labels > 9))
        raise DataError(
            f"{paths['labels']}: label {int(labels[row])} at row {row} is not a digit 0..9; "
            "check the file"
        )
    labels = labels.astype(np.int64)
    if as_float:
        images = images.astype(np.float32) / np.float32(255.0)
    return images, labels


# ------------------------------------------------------------------- verifying
def _digests(data: bytes, names: Sequence[str]) -> dict[str, str]:
    return {name: hashlib.new(name, data).hexdigest() for name in names}


def verify_mnist_file(
    path: str | Path,
    stem: str,
    *,
    checksums: Mapping[str, Mapping[str, str]] = MNIST_CHECKSUMS,
) -> bool:
    """Whether ``path`` is a verified copy of the MNIST file ``stem``.

    A ``.gz`` file is accepted when its own MD5 (and SHA-256 where known)
    equal the published ones, or when its decompressed content matches the
    known decompressed checksums (a file gzipped differently holds the same
    data).  An uncompressed file is checked against the decompressed
    checksums only.

    Parameters
    ----------
    path : str or Path
        The file (missing: False).
    stem : str
        One of :data:`MNIST_FILES` values, e.g. ``"t10k-images-idx3-ubyte"``.
    checksums : mapping, keyword-only
        ``stem -> {"gz_md5", "gz_sha256", "raw_md5", "raw_sha256"}`` (any subset).

    Returns
    -------
    bool
    """
    path = Path(path)
    known = checksums.get(stem, {})
    if not known:
        return False
    try:
        if not any(k.startswith("raw_") for k in known):
            with open(path, "rb") as fh:  # only a .gz can match: do not read a raw file
                if fh.read(2) != b"\x1f\x8b":
                    return False
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return False
    return _verify_bytes(data, known)


def _matches(data: bytes, known: Mapping[str, str], form: str) -> bool:
    wanted = {k.split("_", 1)[1]: v.lower() for k, v in known.items() if k.startswith(form + "_")}
    return bool(wanted) and _digests(data, list(wanted)) == wanted


def _verify_bytes(data: bytes, known: Mapping[str, str]) -> bool:
    if data[:2] == b"\x1f\x8b":
        if _matches(data, known, "gz"):
            return True
        if not any(k.startswith("raw_") for k in known):
            return False
        import gzip

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return False
    return _matches(data, known, "raw")


# ----------------------------------------------------------------- downloading
def _fetch(url: str, tmp: Path, *, timeout: float, progress: bool, desc: str) -> None:
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (URLs are ours)
        total = response.headers.get("Content-Length") if hasattr(response, "headers") else None
        with open(tmp, "wb") as out, tqdm(
            total=int(total) if total else None,
            unit="B",
            unit_scale=True,
            desc=desc,
            disable=not progress,
            file=sys.stderr,
            leave=False,
        ) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))


def download_mnist(
    directory: str | Path,
    *,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    parts: Sequence[str] = tuple(MNIST_FILES),
    progress: bool = True,
    timeout: float = 60.0,
    checksums: Mapping[str, Mapping[str, str]] = MNIST_CHECKSUMS,
) -> dict[str, Path]:
    """Download the MNIST ``.gz`` files into ``directory``, verified.

    For each part, a file already in ``directory`` that passes
    :func:`verify_mnist_file` is kept and no network is touched.  Otherwise
    ``<mirror><stem>.gz`` is tried from each mirror in turn, written through a
    temporary file, verified, and only then renamed into place; a failed or
    mismatching download leaves nothing behind.

    Parameters
    ----------
    directory : str or Path
        Destination folder (created if needed).
    mirrors : sequence of str, keyword-only
        Base URLs ending in ``/`` (``https://``, ``http://`` or ``file://``).
    parts : sequence of str, keyword-only
        Which of ``"train-images"``, ``"train-labels"``, ``"t10k-images"``,
        ``"t10k-labels"``.
    progress : bool, keyword-only
        Show a progress bar on stderr.
    timeout : float, keyword-only
        Seconds to wait for a mirror to answer.
    checksums : mapping, keyword-only
        Known checksums (see :func:`verify_mnist_file`); every part must have one.

    Returns
    -------
    dict
        Part name -> path of the verified file.

    Raises
    ------
    DataError
        When no mirror gives a file with the right checksum (the message lists
        what each mirror did) or the folder cannot be written.
    """
    directory = Path(directory)
    unknown = [p for p in parts if p not in MNIST_FILES]
    if unknown:
        raise ConfigError(f"unknown MNIST part(s) {', '.join(unknown)}; known: {', '.join(MNIST_FILES)}")
    if not mirrors:
        raise ConfigError("download_mnist needs at least one mirror URL")
    created = [p for p in (directory, *directory.parents) if not p.exists()]  # deepest first
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{directory}: cannot create the folder ({exc.strerror})") from None
    try:
        return _download_parts(directory, parts, mirrors, checksums, timeout=timeout, progress=progress)
    except BaseException:
        for folder in created:  # a failed download leaves no empty folders that look like a data set
            try:
                folder.rmdir()
            except OSError:  # not empty: something was kept there
                break
        raise


def _download_parts(
    directory: Path, parts: Sequence[str], mirrors: Sequence[str], checksums: Mapping[str, Mapping[str, str]],
    *, timeout: float, progress: bool,
) -> dict[str, Path]:
    """Each part of :func:`download_mnist`: kept if verified there, else fetched from a mirror."""
    result: dict[str, Path] = {}
    for part in parts:
        stem = MNIST_FILES[part]
        known = checksums.get(stem)
        if not known:
            raise ConfigError(f"no checksum known for {stem}; refusing to download it unverified")
        existing = [p for p in (directory / f"{stem}.gz", directory / stem) if p.is_file()]
        good = next((p for p in existing if verify_mnist_file(p, stem, checksums=checksums)), None)
        if good is not None:
            result[part] = good
            continue
        target = directory / f"{stem}.gz"
        failures: list[str] = []
        for mirror in mirrors:
            url = mirror if mirror.endswith("/") else mirror + "/"
            url += f"{stem}.gz"
            try:
                with atomic_path(target) as tmp:
                    _fetch(url, tmp, timeout=timeout, progress=progress, desc=f"{stem}.gz")
                    if not _verify_bytes(tmp.read_bytes(), known):
                        raise _ChecksumMismatch(url)
            except _ChecksumMismatch:
                failures.append(f"{url}: checksum mismatch")
                continue
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or exc
                failures.append(f"{url}: {reason}")
                continue
            result[part] = target
            break
        else:
            raise DataError(
                f"could not download a verified {stem}.gz ({'; '.join(failures)}); nothing was "
                f"kept -- check the network, or put the file in {directory} by hand"
            )
    return result


class _ChecksumMismatch(Exception):
    pass

