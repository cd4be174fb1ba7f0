"""The IDX file format (MNIST's), read and written with numpy.

An IDX file is a 4-byte magic number -- two zero bytes, a type code and the
number of dimensions -- then one big-endian ``uint32`` per dimension, then the
data in C order, big-endian.  Files may be gzip-compressed (recognised by the
gzip magic bytes, whatever the name).  MNIST images are ``uint8`` with 3
dimensions (magic 2051 = 0x00000803), labels ``uint8`` with 1 (2049).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from rotcurve.errors import DataError
from rotcurve.io.atomic import atomic_path

__all__ = ["read_idx", "write_idx", "read_idx_bytes", "IDX_TYPES"]

#: IDX type code -> numpy dtype (big-endian where it matters).
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES: dict[str, int] = {dt.newbyteorder("=").str[1:]: code for code, dt in IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; check the path") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{path}: damaged or truncated gzip file ({exc}); download it again"
            ) from None
    return raw


def read_idx_bytes(raw: bytes, *, source: str = "IDX data") -> np.ndarray:
    """Parse an (uncompressed) IDX byte string.

    Parameters
    ----------
    raw : bytes
        The whole file's content.
    source : str, keyword-only
        Name used in error messages.

    Returns
    -------
    ndarray
        Writable array of the file's shape, native byte order.

    Raises
    ------
    DataError
        For a bad magic number, an unknown type code or a byte count that does
        not match the header (a truncated or padded file).
    """
    if len(raw) < 4:
        raise DataError(f"{source}: only {len(raw)} bytes, too short for an IDX file; download it again")
    zero, code, ndim = raw[:2], raw[2], raw[3]
    magic = int.from_bytes(raw[:4], "big")
    if zero != b"\x00\x00" or code not in IDX_TYPES:
        raise DataError(
            f"{source}: not an IDX file (magic number {magic:#010x}); expected an MNIST-style "
            "IDX file such as train-images-idx3-ubyte"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{source}: truncated IDX header; download the file again")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataError(
            f"{source}: IDX file is {state}: header promises shape {shape} of {dtype.name} "
            f"({expected} bytes in all) but the file has {len(raw)} bytes; download it again"
        )
    data = np.frombuffer(bytearray(raw[header:]), dtype=dtype).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    ndarray
        Writable array with the file's shape and dtype (native byte order),
        for MNIST ``uint8`` of shape ``(n, 28, 28)`` or ``(n,)``.

    Raises
    ------
    DataError
        When the file is missing, not IDX, damaged gzip or truncated.
    """
    path = Path(path)
    return read_idx_bytes(_read_bytes(path), source=str(path))


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file, atomically.

    Parameters
    ----------
    path : str or Path
        Destination; an existing file is replaced.
    array : ndarray
        Data of dtype uint8, int8, int16, int32, float32 or float64, 1 to 255
        dimensions.
    compress : bool or None, keyword-only
        gzip the file; by default when ``path`` ends in ``.gz``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    DataError
        For a dtype or number of dimensions IDX cannot hold.
    """
    path = Path(path)
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=").str[1:]
    if key not in _CODES:
        raise DataError(
            f"IDX cannot store dtype {array.dtype}; use one of uint8, int8, int16, int32, "
            "float32, float64"
        )
    if not 1 <= array.ndim <= 255:
        raise DataError(f"IDX needs 1 to 255 dimensions, got {array.ndim}")
    code = _CODES[key]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        payload = gzip.compress(payload, mtime=0)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return path
