"""Atomic file writing: a temporary file in the same folder, then a rename.

A reader never sees a half-written file: either the old file (or none) or the
complete new one.  An interrupted writer leaves at most a ``.*.tmp`` file that
no rotcurve reader mistakes for output.

Missing parent folders of an output are created (``runs/vae4/...`` on a fresh
clone works).  A write that fails because the filesystem is full (or the quota
is used up) removes its temporary file and raises
:class:`~rotcurve.errors.DiskFullError`, one line naming the output, whatever
the library that wrote the bytes reported (``OSError`` ENOSPC, h5py's "No space
left on device", torch's "unexpected pos").
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rotcurve.errors import OVERWRITE, DataError, DiskFullError, Option, OutputExistsError, RotcurveError

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "atomic_write_bytes",
    "fsync_dir",
    "check_output",
    "check_folder",
    "make_parents",
    "is_disk_full",
    "disk_full_error",
]

#: errno values that mean "no space": the disk is full, or the user's quota is.
_NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
#: How some libraries spell ENOSPC in their own exceptions (h5py: "errno = 28").
_NO_SPACE_TEXT = (
    "no space left on device",
    "disk quota exceeded",
    f"errno = {errno.ENOSPC},",
    f"errno {errno.ENOSPC}]",
)
#: A filesystem with less free space than this after a failed write is full.
_FULL_BYTES = 1 << 20

_ANOTHER_OUT = Option("another output path", "another --out")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(directory: str | Path) -> None:
    """Flush a directory entry to disk (best effort; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- disk full -----------------------------------------------------------------------
def _filesystem_full(folder: Path) -> bool:
    """Whether the filesystem holding ``folder`` has (almost) no space or inodes left."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    blocks = st.f_bfree if root else st.f_bavail
    inodes = st.f_ffree if root else st.f_favail
    return blocks * st.f_frsize < _FULL_BYTES or (st.f_files > 0 and inodes == 0)


def is_disk_full(exc: BaseException, folder: str | Path | None = None) -> bool:
    """Whether ``exc`` (raised while writing into ``folder``) means the disk is full.

    True for ``OSError`` ENOSPC / EDQUOT, for exceptions whose text carries
    them (h5py, HDF5), and -- when ``folder`` is given -- for any other write
    error after which the filesystem has less than 1 MiB free (torch reports a
    full disk as "unexpected pos").  Interruptions and rotcurve's own errors
    are never disk-full errors.
    """
    if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError, RotcurveError)):
        return isinstance(exc, DiskFullError)
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:  # the exception and its causes
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _NO_SPACE_ERRNOS:
            return True
        text = str(e).lower()
        if any(t in text for t in _NO_SPACE_TEXT):
            return True
        e = e.__cause__ or e.__context__
    if folder is not None and isinstance(exc, Exception):
        return _filesystem_full(Path(folder))
    return False


def disk_full_error(path: str | Path) -> DiskFullError:
    """The one-line error for a full disk while writing ``path`` (kept as its ``output``)."""
    exc = DiskFullError.both(
        "no space left on device while writing {path}; free space or choose {other}",
        path=str(path),
        other=_ANOTHER_OUT,
    )
    exc.output = str(path)
    return exc


# -- folders -------------------------------------------------------------------------
def _existing_ancestor(folder: Path) -> Path:
    p = folder
    while not p.exists() and not p.is_symlink() and p != p.parent:
        p = p.parent
    return p


def check_folder(path: str | Path) -> None:
    """Raise :class:`DataError` unless ``path``'s folder exists or can be created:
    no part of it is a file (the message names it), the nearest existing one is writable."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    base = _existing_ancestor(folder)
    if base.exists() and not base.is_dir():
        raise DataError(f"{path}: {base} is a file, not a folder; choose another output path")
    if not base.exists():  # a dangling symbolic link
        raise DataError(f"{path}: {base} is a broken link; choose another output path")
    if not os.access(base, os.W_OK | os.X_OK):
        raise DataError(f"{path}: folder {base} is not writable; choose another output path")


def make_parents(path: str | Path) -> Path:
    """Create the missing parent folders of the output ``path``.

    Raises
    ------
    DataError
        A part of the folder is a regular file, or the folder cannot be made.
    DiskFullError
        No space for the folder.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if folder.is_dir():
        return path
    check_folder(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        if exc.errno == errno.ENOTDIR or (folder.exists() and not folder.is_dir()):
            check_folder(path)  # names the file
        raise DataError(
            f"{path}: cannot create folder {folder} ({exc.strerror or exc}); choose another output path"
        ) from None
    return path


def check_output(path: str | Path, *, overwrite: bool, overwrite_option: Option = OVERWRITE) -> Path:
    """Fail early, before any work, if the output ``path`` cannot be written.

    Missing parent folders are fine (they are created when the file is
    written); nothing is changed on disk here.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false (the message names
        ``overwrite_option`` as a Python caller and a command-line user spell it).
    DataError
        ``path`` is a folder, a part of its folder is a file, or the folder is
        not writable.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a file name for the output")
    if path.exists() and not overwrite:
        raise OutputExistsError.both("{path} exists; pass {o} to replace it", path=str(path), o=overwrite_option)
    check_folder(path)
    return path


# -- atomic writes -------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(path: str | Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path; on success rename it onto ``path``.

    Parameters
    ----------
    path : str or Path
        Final destination.  Missing parent folders are created.
    overwrite : bool, keyword-only
        If false and ``path`` exists when the write finishes, raise
        :class:`FileExistsError` instead of replacing it.

    Yields
    ------
    Path
        A path in the destination's folder to write to.  It is removed if the
        block raises.

    Raises
    ------
    DiskFullError
        The filesystem ran out of space while the block wrote the file (the
        temporary file is removed; ``path`` is untouched).
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    make_parents(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are shared files
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        if not overwrite and path.exists():
            raise FileExistsError(f"{path} exists")
        os.replace(tmp_path, path)
        fsync_dir(directory)
    except BaseException as exc:
        full = is_disk_full(exc, directory)
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if full and not isinstance(exc, DiskFullError):
            raise disk_full_error(path) from None
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))
