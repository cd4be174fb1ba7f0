"""Creating HDF5 files so that a failed write never crashes the interpreter.

Why this exists
---------------
When HDF5 cannot write (the disk is full), the failure usually surfaces only
when the file is *closed*: h5py's ``File.close()`` drops every open object of
the file, and closing a dataset flushes its chunk cache.  If that flush fails,
HDF5 returns an error but leaves the dataset half torn down while its ID
stays registered; the Python ``Dataset`` objects still referring to it are
garbage-collected later and their ``__dealloc__`` touches freed memory --
a segmentation fault (exit 139), typically right after the error message.
Closing twice, or closing after making room, does not help: once a close has
failed the objects are poisoned.

The cure, applied by :func:`h5_create`:

1. flush explicitly before closing (``H5Fflush`` fails cleanly, leaving every
   object intact), so a write error is an ordinary exception;
2. after any failure, point the file's descriptor at an in-memory sink
   (``memfd``, holding a copy of the file when it is small) before closing:
   HDF5 then finishes its close without an error and frees its objects
   properly; the temporary file is deleted by :func:`~rotcurve.io.atomic.atomic_path`
   anyway, so nothing written to the sink is wanted.

:func:`atomic_h5` combines this with :func:`~rotcurve.io.atomic.atomic_path`
(temporary name, rename when complete, missing folders created, ENOSPC ->
:class:`~rotcurve.errors.DiskFullError`) and the output lock.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rotcurve.errors import OVERWRITE, Option, OutputExistsError

__all__ = ["h5_create", "atomic_h5", "abandon"]

#: Files up to this size are copied into the sink, so that HDF5 can still read
#: back metadata it evicted from its cache while it finishes closing.
_COPY_LIMIT = 256 << 20


def _sink_fd(fd: int) -> int:
    """A writable, readable descriptor to stand in for ``fd`` (its content copied when small)."""
    try:
        sink = os.memfd_create("rotcurve-discard")
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        with tempfile.TemporaryFile() as fh:
            sink = os.dup(fh.fileno())
    try:
        size = os.fstat(fd).st_size
        if size <= _COPY_LIMIT:
            offset = 0
            while offset < size:
                block = os.pread(fd, min(8 << 20, size - offset), offset)
                if not block:
                    break
                os.pwrite(sink, block, offset)
                offset += len(block)
    except OSError:
        pass
    return sink


def abandon(f: Any) -> None:
    """Close the h5py file ``f`` that is being given up after a failure, without crashing.

    Its descriptor is swapped for an in-memory sink first, so that HDF5 can
    write whatever it still holds and free its objects; nothing more reaches
    the real file.  Errors are swallowed (the caller is already raising).
    """
    try:
        if not f.id.valid:
            return
    except Exception:  # pragma: no cover - already gone
        return
    try:
        fd = f.id.get_vfd_handle()
        if isinstance(fd, int) and fd >= 0:
            sink = _sink_fd(fd)
            try:
                os.dup2(sink, fd)
            finally:
                os.close(sink)
    except Exception:  # pragma: no cover - a driver without a descriptor
        pass
    with contextlib.suppress(Exception):
        f.close()


@contextlib.contextmanager
def h5_create(path: str | Path, **kwargs: Any) -> Iterator[Any]:
    """Create (truncate) the HDF5 file ``path`` and close it safely.

    Parameters
    ----------
    path : str or Path
        A temporary path (from :func:`~rotcurve.io.atomic.atomic_path`): after
        a failure its content is garbage.
    **kwargs
        Passed to ``h5py.File`` (``libver``, ``rdcc_nbytes``, ...).

    Yields
    ------
    h5py.File
        Open for writing.  On a normal exit it is flushed, then closed; when
        the block (or the flush) raises, it is abandoned (see :func:`abandon`)
        and the exception propagates.
    """
    import h5py

    f = h5py.File(path, "w", **kwargs)
    try:
        yield f
        f.flush()
    except BaseException:
        abandon(f)
        raise
    f.close()


@contextlib.contextmanager
def atomic_h5(
    path: str | Path,
    *,
    overwrite: bool = False,
    lock: bool = True,
    overwrite_option: Option = OVERWRITE,
    **kwargs: Any,
) -> Iterator[Any]:
    """Write an HDF5 file atomically: the file appears complete under ``path`` or not at all.

    Parameters
    ----------
    path : str or Path
        Destination; missing folders are created.
    overwrite : bool, keyword-only
        Replace an existing file (else :class:`~rotcurve.errors.OutputExistsError`).
    lock : bool, keyword-only
        Hold ``path``'s lock file (:func:`rotcurve.io.lock.output_lock`) while
        writing, so that a concurrent run writing the same path fails at once.
    overwrite_option : Option, keyword-only
        How the error for an existing file spells ``overwrite``.
    **kwargs
        Passed to ``h5py.File``.

    Yields
    ------
    h5py.File

    Raises
    ------
    DiskFullError
        No space left (nothing is left behind).
    OutputLockedError
        Another run is writing ``path``.
    """
    from rotcurve.io.atomic import atomic_path
    from rotcurve.io.lock import output_lock

    path = Path(path)
    with contextlib.ExitStack() as stack:
        if lock:
            stack.enter_context(output_lock(path))
        if not overwrite and path.exists():
            raise OutputExistsError.both("{path} exists; pass {o} to replace it", path=str(path), o=overwrite_option)
        try:
            with atomic_path(path, overwrite=overwrite) as tmp, h5_create(tmp, **kwargs) as f:
                yield f
        except FileExistsError as exc:
            if isinstance(exc, OutputExistsError):
                raise
            raise OutputExistsError.both(
                "{path} appeared while writing; pass {o} to replace it", path=str(path), o=overwrite_option
            ) from None

