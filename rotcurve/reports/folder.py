"""The report folder: the output check, and the build next to it that is renamed into place when complete."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rotcurve.errors import DataError, OutputExistsError
from rotcurve.io.atomic import check_folder, fsync_dir, make_parents
from rotcurve.reports.config import REPORT_FORMAT

__all__ = ["check_out", "is_report_folder", "staged_folder"]


def _parent(out: Path) -> Path:
    return out.parent if str(out.parent) else Path(".")


def check_out(out: Path, overwrite: bool) -> None:
    """Refuse an ``out`` that cannot take a report (DataError, OutputExistsError) before any work."""
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} exists and is not a folder; give a folder for the report")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out} exists; pass --overwrite (overwrite=True) to replace it")
    if out.exists() and any(out.iterdir()) and not is_report_folder(out):
        raise DataError(
            f"{out} is a folder that holds something other than a rotcurve report; it is not replaced "
            "even with --overwrite: choose another output folder"
        )
    check_folder(out)  # missing parent folders are created when the report is written


def is_report_folder(path: Path) -> bool:
    """Whether ``path`` holds a report written by :func:`rotcurve.reports.make_report` (its metrics.json says so)."""
    try:
        return json.loads((path / "metrics.json").read_text()).get("format") == REPORT_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _commit(tmp: Path, out: Path, overwrite: bool) -> None:
    """Move the finished folder ``tmp`` to ``out``; an old ``out`` goes only once the new one is in place."""
    parent = _parent(out)
    if out.exists():
        if not overwrite:
            raise OutputExistsError(f"{out} appeared while the report was built; nothing was replaced")
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
        os.rmdir(old)
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)
    fsync_dir(parent)


@contextlib.contextmanager
def staged_folder(out: Path, overwrite: bool) -> Iterator[Path]:
    """A temporary folder next to ``out`` to build the report in; renamed to ``out`` when the block ends.

    On any error (or interruption) the temporary folder is removed and ``out``
    is left as it was.
    """
    parent = _parent(out).absolute()
    created = [p for p in (parent, *parent.parents) if not p.exists()]  # deepest first
    make_parents(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=_parent(out)))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        _commit(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:  # the parents made for it, deepest first, while empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise
