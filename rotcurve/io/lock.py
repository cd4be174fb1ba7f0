"""One writer per output: a lock file next to it while a run writes it.

Two runs started with the same output would otherwise replace each other's
file silently, or delete each other's temporary files.  :func:`output_lock`
makes an output exclusive while a run writes it::

    with output_lock("curves.h5"):        # holds curves.h5.lock
        ...                               # write curves.h5 (and curves.h5.shards/)

The lock is an ``fcntl.flock`` on ``PATH.lock``, taken without waiting: a
second run fails at once with :class:`~rotcurve.errors.OutputLockedError`,
whose one line names the process (pid, host, start time, recorded inside the
lock file) that is writing there.  The kernel releases a ``flock`` when its
process ends in any way, ``kill -9`` included, so a lock file left behind by a
killed run is stale by construction: the next run takes it over (and removes it
when done).  Where the filesystem has no locks (some network filesystems),
writing goes on unlocked.

Inside one process the lock is re-entrant for the thread that holds it (the
generator holds ``FILE.lock`` and then writes ``FILE`` through writers that
lock it too); another thread of the same process is refused like another
process.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rotcurve.errors import DataError, OutputLockedError
from rotcurve.io.atomic import disk_full_error, is_disk_full, make_parents

__all__ = ["output_lock", "lock_path", "LOCK_SUFFIX", "read_lock_info"]

#: Appended to an output's name to name its lock file.
LOCK_SUFFIX = ".lock"

try:  # pragma: no cover - always there on Linux and macOS
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking
    fcntl = None  # type: ignore[assignment]

_registry_lock = threading.Lock()
#: Locks held by this process: resolved lock path -> [owner thread id, depth, fd].
_held: dict[str, list[Any]] = {}


def lock_path(path: str | Path) -> Path:
    """The lock file of output ``path``: ``path`` + ``.lock`` (a sibling)."""
    path = Path(path)
    return path.with_name(path.name + LOCK_SUFFIX)


def read_lock_info(lock_file: str | Path) -> dict[str, Any]:
    """What a lock file says about its holder (empty when unreadable)."""
    try:
        info = json.loads(Path(lock_file).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return info if isinstance(info, dict) else {}


def _describe(info: dict[str, Any]) -> str:
    parts = []
    if info.get("pid") is not None:
        parts.append(f"pid {info['pid']}")
    if info.get("host"):
        parts.append(f"on {info['host']}")
    if info.get("started"):
        parts.append(f"since {info['started']}")
    return f" ({' '.join(parts)})" if parts else ""


def _key(lock_file: Path) -> str:
    return str(lock_file.parent.resolve() / lock_file.name)


def _open_locked(lock_file: Path, output: Path) -> int | None:
    """Open and flock ``lock_file``; the fd, or None where locks are unsupported."""
    make_parents(lock_file)
    for _ in range(100):  # retried only when the file was replaced under us
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            if is_disk_full(exc):
                raise disk_full_error(output) from None
            raise DataError(
                f"{output}: cannot create the lock file {lock_file} ({exc.strerror or exc}); "
                "choose another output path"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                info = read_lock_info(lock_file)
                raise OutputLockedError(
                    f"another rotcurve run{_describe(info)} is writing {output}; wait for it to "
                    f"finish or choose another output (lock file {lock_file})"
                ) from None
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                return None  # no locks on this filesystem: go on unlocked
            raise
        # The holder before us may have removed the file after we opened it:
        # then we hold a lock on a name nobody sees; try again on the new file.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_file))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
    raise OutputLockedError(f"{output}: the lock file {lock_file} keeps changing; another run is busy there")


def _record(fd: int) -> None:
    """Write who holds the lock into it (best effort: a full disk does not stop the run)."""
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime()),
    }
    data = (json.dumps(info) + "\n").encode()
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


@contextlib.contextmanager
def output_lock(path: str | Path) -> Iterator[Path]:
    """Hold ``path``'s lock file while the block runs.

    Parameters
    ----------
    path : str or Path
        The output (a file, or a run folder); the lock is ``path + ".lock"``
        next to it.  Missing parent folders are created.

    Yields
    ------
    Path
        The lock file.

    Raises
    ------
    OutputLockedError
        Another process (or another thread of this one) holds the lock.
    """
    output = Path(path)
    lock_file = lock_path(output)
    if fcntl is None:  # pragma: no cover
        yield lock_file
        return
    key = _key(lock_file.parent / lock_file.name) if lock_file.parent.exists() else None
    me = threading.get_ident()
    with _registry_lock:
        entry = _held.get(key) if key else None
        if entry is not None:
            if entry[0] != me:
                raise OutputLockedError(
                    f"another thread of this process is writing {output}; choose another output"
                )
            entry[1] += 1
    if entry is not None:
        try:
            yield lock_file
        finally:
            with _registry_lock:
                entry[1] -= 1
        return
    fd = _open_locked(lock_file, output)
    if fd is None:
        yield lock_file
        return
    key = _key(lock_file)
    _record(fd)
    with _registry_lock:
        _held[key] = [me, 1, fd]
    try:
        yield lock_file
    finally:
        with _registry_lock:
            _held.pop(key, None)
        with contextlib.suppress(OSError):
            # Removed while still locked: a run that opened it meanwhile notices
            # (samestat) and retries on a fresh file.
            os.unlink(lock_file)
        os.close(fd)
