"""The ``rotcurve`` command: a thin dispatcher over the library.

Each subcommand lives in its own module of :mod:`rotcurve.cli` and provides
``add_parser(subparsers)`` (which sets ``func``).  Heavy libraries are imported
inside the command functions so that ``rotcurve --help`` stays fast.

Errors meant for a person (:class:`rotcurve.errors.RotcurveError`, bad
arguments, unreadable or unwritable paths) print one line on stderr and exit
with status 2; an interruption exits with 130.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from rotcurve._version import __version__
from rotcurve.errors import RotcurveError

__all__ = ["main", "build_parser"]

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
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"rotcurve {args.command}"
    try:
        status = args.func(args)
    except RotcurveError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        reason = exc.strerror or str(exc)
        print(f"{prog}: error: {where}{reason}; check the path and its permissions", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line, the traceback on request
        if os.environ.get("ROTCURVE_DEBUG"):
            raise
        print(
            f"{prog}: internal error: {type(exc).__name__}: {exc} "
            "(please report it; set ROTCURVE_DEBUG=1 to see the traceback)",
            file=sys.stderr,
        )
        return 70
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
