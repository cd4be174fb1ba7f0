"""Creating HDF5 files so that a failed write never crashes the interpreter.

Why this exists
---------------
When HDF5 cannot write (the disk is full), the error often surfaces only when
an object is *closed*: closing a dataset flushes its chunk cache or sieve
buffer, and h5py's ``File.close()`` closes every open object of the file.  If
that write fails, HDF5 returns an error but leaves the object half torn down
while its ID stays registered; the Python ``Dataset`` / ``File`` objects still
referring to it are garbage-collected later and their ``__dealloc__`` touches
freed memory -- a segmentation fault (exit 139), typically right after a
two-line error.  Closing again, or closing after making room, does not help:
once a close has failed the objects are poisoned, and a dataset object dropped
in the middle of writing (``f.create_dataset(...).attrs[...] = ...``) closes
too, so the first failure can happen anywhere.

The cure is to never let HDF5 see a failed write.  :func:`h5_create` gives
HDF5 the file through h5py's file-object driver, wrapped in
:class:`SafeFile`: the first write the operating system refuses (ENOSPC,
EDQUOT, EIO, ...) is recorded, the file's content is moved to an in-memory
sink (a ``memfd``; copied when it is small, so that HDF5 can still read back
what it wrote) and HDF5 carries on -- its closes succeed and free everything
properly.  When the file is closed, the recorded error is raised, and
:func:`~rotcurve.io.atomic.atomic_path` deletes the temporary file and turns it
into :class:`~rotcurve.errors.DiskFullError`.  The files are byte-identical to
those of HDF5's default driver.

:func:`atomic_h5` combines this with :func:`~rotcurve.io.atomic.atomic_path`
(temporary name, rename when complete, missing folders created) and the output
lock (:mod:`rotcurve.io.lock`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rotcurve.errors import OVERWRITE, Option, OutputExistsError
from rotcurve.io.atomic import atomic_path
from rotcurve.io.lock import output_lock

__all__ = ["SafeFile", "h5_create", "atomic_h5"]

#: Files up to this size are copied into the sink when a write fails, so that
#: HDF5 can still read back metadata it evicted from its cache.
_COPY_LIMIT = 256 << 20


def _memory_file() -> int:
    """A readable, writable descriptor of an anonymous in-memory file."""
    try:
        return os.memfd_create("rotcurve-discard")
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        with tempfile.TemporaryFile() as fh:
            return os.dup(fh.fileno())


class SafeFile:
    """A file object for h5py whose writes never fail (the first failure is kept).

    Parameters
    ----------
    path : str or Path
        Created or truncated.

    Attributes
    ----------
    error : OSError or None
        The first write error; from then on reads and writes go to an
        in-memory copy and nothing more reaches ``path``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o666)
        self.pos = 0
        self.error: OSError | None = None

    def __repr__(self) -> str:  # h5py names the HDF5 file after it
        return self.path

    # io protocol used by h5py's fileobj driver
    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self.pos = offset
        elif whence == 1:
            self.pos += offset
        else:
            self.pos = os.fstat(self.fd).st_size + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = max(0, os.fstat(self.fd).st_size - self.pos)
        data = os.pread(self.fd, size, self.pos)
        self.pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            try:
                done += os.pwrite(self.fd, view[done:], self.pos + done)
            except InterruptedError:  # pragma: no cover
                continue
            except OSError as exc:
                if self.error is not None:  # the sink failed too (out of memory)
                    raise
                self.error = exc
                self._to_sink()
        self.pos += done
        return done

    def truncate(self, size: int | None = None) -> int:
        size = self.pos if size is None else size
        try:
            os.ftruncate(self.fd, size)
        except OSError as exc:
            if self.error is not None:
                raise
            self.error = exc
            self._to_sink()
            os.ftruncate(self.fd, size)
        return size

    def flush(self) -> None:
        pass

    def _to_sink(self) -> None:
        """Go on in memory: copy what was written (when small) and drop the real file."""
        sink = _memory_file()
        try:
            size = os.fstat(self.fd).st_size
            offset = 0
            while size <= _COPY_LIMIT and offset < size:
                block = os.pread(self.fd, min(8 << 20, size - offset), offset)
                if not block:
                    break
                os.pwrite(sink, block, offset)
                offset += len(block)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = sink

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@contextlib.contextmanager
def h5_create(path: str | Path, **kwargs: Any) -> Iterator[Any]:
    """Create (truncate) the HDF5 file ``path`` for writing, crash-free on a full disk.

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
        Open for writing; closed when the block ends.

    Raises
    ------
    OSError
        The first write error of the operating system (ENOSPC ...), once
        HDF5 has closed the file cleanly.
    """
    import h5py

    fh = SafeFile(path)
    try:
        f = h5py.File(fh, "w", **kwargs)
    except BaseException:
        fh.close()
        raise
    try:
        try:
            yield f
        finally:
            f.close()  # never fails for lack of space: the writes cannot fail
        if fh.error is not None:
            raise fh.error
    finally:
        fh.close()


@contextlib.contextmanager
def atomic_h5(
    path: str | Path,
    *,
    overwrite: bool = False,
    lock: bool = True,
    overwrite_option: Option = OVERWRITE,
    **kwargs: Any,
) -> Iterator[Any]:
    """Write an HDF5 file atomically: it appears complete under ``path`` or not at all.

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
