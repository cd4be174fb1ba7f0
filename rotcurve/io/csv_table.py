"""Reading CSV tables strictly: every row has as many fields as the header.

pandas, given data rows with one field more than the header, silently takes
the first field as the row index and shifts every column one place left
(``Md`` then holds the ``Rd`` values).  :func:`read_csv` refuses such a file
with one line naming the first bad row, as it refuses a row with too many
fields anywhere else.  Rows with too few fields read as empty cells, which the
callers' per-cell checks report by row and column.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from rotcurve.errors import DataError
from rotcurve.validation import first_line

__all__ = ["read_csv"]


def _first_ragged_row(path: Path, n_header: int) -> tuple[int, int] | None:
    """(line number, fields) of the first data row whose field count is not ``n_header``."""
    import csv

    with path.open("r", newline="", errors="replace") as fh:
        seen_header = False
        for lineno, row in enumerate(csv.reader(fh, skipinitialspace=True), start=1):
            if not row or row[0].lstrip().startswith("#"):
                continue
            if not seen_header:
                seen_header = True
                continue
            if len(row) != n_header:
                return lineno, len(row)
    return None


def read_csv(path: str | Path, *, source: str | None = None, **kwargs: Any) -> Any:
    """Read a CSV file into a :class:`pandas.DataFrame`, refusing ragged rows.

    Parameters
    ----------
    path : str or Path
        The CSV file.  Lines starting with ``#`` are comments.
    source : str, optional
        How errors name the file (default: the path).
    **kwargs
        Passed to :func:`pandas.read_csv` (``dtype``, ``keep_default_na``, ...).

    Returns
    -------
    pandas.DataFrame
        One column per header field; the index is the row number.

    Raises
    ------
    DataError
        Empty file, unreadable text, or a row with more fields than the
        header (the message names the line).
    """
    import pandas as pd

    path = Path(path)
    source = source or str(path)
    options = {"comment": "#", "skipinitialspace": True, **kwargs, "index_col": False}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, **options)
    except pd.errors.EmptyDataError:
        raise DataError(f"{source} is empty; give a header line and data rows") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError, ValueError) as exc:
        try:
            header = pd.read_csv(path, nrows=0, comment="#", skipinitialspace=True).columns
            ragged = _first_ragged_row(path, len(header))
        except Exception:  # the file is unreadable as text: report the parser's reason
            ragged = None
        if ragged is not None:
            lineno, fields = ragged
            raise DataError(
                f"{source}: line {lineno} has {fields} fields but the header has {len(header)}; "
                "give every row one value per header column"
            ) from None
        raise DataError(f"{source} is not readable CSV ({first_line(exc)})") from None
    return frame
