"""The ``rotcurve`` command: a thin dispatcher over the library.

Each subcommand lives in its own module of :mod:`rotcurve.cli` and provides
``add_parser(subparsers)`` (which sets ``func``).  Heavy libraries are imported
inside the command functions so that ``rotcurve --help`` stays fast.

Errors meant for a person (:class:`rotcurve.errors.RotcurveError`, bad
arguments, unreadable or unwritable paths) print one line on stderr and exit
with status 2; an interruption exits with 130; a bug prints one line and
exits with 70.  A command that fails prints only that line: the warnings
(numpy ``RuntimeWarning`` and others) raised while it ran are held back and
dropped; a command that succeeds prints them on stderr when it is done.
When stdout is closed early (``rotcurve ... | head -1``) the command stops
quietly with status 141 (128 + SIGPIPE), as Unix tools do.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from rotcurve._version import __version__
from rotcurve.errors import RotcurveError

__all__ = ["main", "build_parser"]

#: Exit status when stdout was closed by the reader (128 + SIGPIPE, as a shell reports it).
EXIT_BROKEN_PIPE = 141

#: Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "rotcurve.cli.quickstart",
    "rotcurve.cli.generate",
    "rotcurve.cli.evaluate",
    "rotcurve.cli.train",
    "rotcurve.cli.encode",
    "rotcurve.cli.reconstruct",
    "rotcurve.cli.sample",
    "rotcurve.cli.score",
    "rotcurve.cli.report",
    "rotcurve.cli.corner",
    "rotcurve.cli.fit",
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def _print_message(self, message: str, file: Any = None) -> None:
        # argparse swallows OSError here; a closed stdout must end as 141, as in a command
        file = file or sys.stderr
        if message and file is not None:  # None: the stream was closed before Python started
            file.write(message)
            file.flush()


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered subcommand."""
    parser = _Parser(
        prog="rotcurve",
        description="Galaxy rotation curves: generate, learn a latent space, analyse.",
    )
    parser.add_argument("--version", action="version", version=f"rotcurve {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def _stdout_to_devnull() -> None:
    """Point stdout at the null device, so that the interpreter's final flush
    of a closed pipe neither fails nor prints (the Python documentation's
    recipe for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured, closed)
        pass


def _os_error_line(prog: str, exc: OSError) -> str:
    import errno

    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        where = f" while writing {exc.filename}" if getattr(exc, "filename", None) else ""
        return f"{prog}: error: no space left on device{where}; free space or choose another --out"
    where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
    reason = exc.strerror or str(exc)
    return f"{prog}: error: {where}{reason}; check the path and its permissions"


def _replay(caught: list[warnings.WarningMessage]) -> None:
    """Show the warnings held back while a command ran, as Python would have."""
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        # Ctrl-C while the subcommands are imported, or a reader that has gone
        # before --help / --version is printed, ends as it does in a command
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        print("rotcurve: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    prog = f"rotcurve {args.command}"
    caught: list[warnings.WarningMessage] = []
    try:
        # the filters stay as they are (an "error" filter still raises); only the
        # display is held back until we know whether the command succeeded
        with warnings.catch_warnings(record=True) as caught:
            status = args.func(args)
            sys.stdout.flush()  # a closed pipe shows here, not at exit
    except BrokenPipeError as exc:
        if getattr(exc, "filename", None):  # a named FIFO, not our stdout
            print(_os_error_line(prog, exc), file=sys.stderr)
            return 2
        _stdout_to_devnull()  # the reader has gone: stop quietly, as `yes | head -1` does
        return EXIT_BROKEN_PIPE
    except RotcurveError as exc:  # in its command-line wording (flags, not argument names)
        print(f"{prog}: error: {getattr(exc, 'cli_message', None) or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
    except OSError as exc:
        print(_os_error_line(prog, exc), file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line, the traceback on request
        if os.environ.get("ROTCURVE_DEBUG"):
            _replay(caught)
            raise
        print(
            f"{prog}: internal error: {type(exc).__name__}: {exc} "
            "(please report it; set ROTCURVE_DEBUG=1 to see the traceback)",
            file=sys.stderr,
        )
        return 70
    status = int(status or 0)
    if status == 0:
        _replay(caught)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
