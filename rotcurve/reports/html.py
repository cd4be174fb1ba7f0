"""Self-contained HTML pages: inline CSS, images embedded as base64, no external references.

A page built here opens offline in any browser and can be mailed or archived
as one file.  Text is always escaped; only the fragments these helpers return
are inserted as markup.

>>> body = [section("Results", [paragraph("All good."), table(["a", "b"], [[1, 2.5]])])]
>>> text = page("My report", body)
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "page",
    "section",
    "paragraph",
    "note",
    "table",
    "image",
    "definition_list",
    "format_number",
    "Fragment",
]


class Fragment(str):
    """A piece of markup (already escaped); plain ``str`` values are escaped when inserted."""


def _text(value: Any) -> str:
    if isinstance(value, Fragment):
        return str(value)
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0):
        return html.escape(format_number(value))
    return html.escape(str(value))


def format_number(value: Any, *, digits: int = 4) -> str:
    """A number for people: ``digits`` significant figures, ``n/a`` for None/NaN.

    Parameters
    ----------
    value : float, int or None
    digits : int, keyword-only
        Significant figures of non-integers.

    Returns
    -------
    str
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    x = float(value)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em 2em 4em; color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { font-size: 1.3em; margin-top: 2.2em; border-bottom: 1px solid #bbb; padding-bottom: .15em; }
h3 { font-size: 1.08em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .8em 0 1.2em; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.2em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #444; margin-top: .3em; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: .5em .8em; margin: 1em 0; }
.pass { color: #176f2c; font-weight: 600; }
.fail { color: #b00020; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content auto; gap: .15em 1em; font-size: .92em; }
dt { font-weight: 600; } dd { margin: 0; word-break: break-all; }
code { background: #f4f4f4; padding: 0 .25em; }
"""


def page(title: str, body: Sequence[str], *, subtitle: str | None = None) -> str:
    """A complete HTML5 document with inline CSS.

    Parameters
    ----------
    title : str
        Page title and top heading (escaped).
    body : sequence of str
        Fragments from :func:`section`, :func:`paragraph`, ... in order.
    subtitle : str, optional, keyword-only
        A line under the heading (escaped).

    Returns
    -------
    str
        The document (UTF-8 text).
    """
    head = f"<h1>{_text(title)}</h1>\n"
    if subtitle:
        head += f"<p>{_text(subtitle)}</p>\n"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{_text(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + head
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def section(title: str, parts: Sequence[str], *, level: int = 2, anchor: str | None = None) -> Fragment:
    """A heading followed by ``parts`` (fragments)."""
    ident = f' id="{html.escape(anchor, quote=True)}"' if anchor else ""
    return Fragment(f"<section{ident}>\n<h{level}>{_text(title)}</h{level}>\n" + "\n".join(parts) + "\n</section>")


def paragraph(text: Any) -> Fragment:
    """A paragraph of (escaped) text, or of a :class:`Fragment`."""
    return Fragment(f"<p>{_text(text)}</p>")


def note(text: Any) -> Fragment:
    """A highlighted note (e.g. a skipped part and why)."""
    return Fragment(f'<div class="note">{_text(text)}</div>')


def table(header: Sequence[Any], rows: Sequence[Sequence[Any]], *, caption: str | None = None) -> Fragment:
    """A table; numbers are formatted with :func:`format_number`, text is escaped.

    Parameters
    ----------
    header : sequence
        Column titles.
    rows : sequence of sequences
        Cells; a :class:`Fragment` is inserted as markup.
    caption : str, optional, keyword-only
    """
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{_text(caption)}</caption>")
    out.append("<tr>" + "".join(f"<th>{_text(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for cell in row:
            value = cell if isinstance(cell, (Fragment, str)) else format_number(cell)
            cells.append(f"<td>{_text(value)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return Fragment("\n".join(out))


def image(png: bytes, *, caption: str = "", alt: str = "") -> Fragment:
    """A figure with a PNG embedded as a base64 ``data:`` URI and a caption."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("image() needs PNG bytes")
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{_text(caption)}</figcaption>" if caption else ""
    return Fragment(
        f'<figure><img alt="{html.escape(alt or caption, quote=True)}" '
        f'src="data:image/png;base64,{data}">{cap}</figure>'
    )


def definition_list(items: Sequence[tuple[Any, Any]]) -> Fragment:
    """``<dl>`` of (term, description) pairs."""
    body = "".join(f"<dt>{_text(k)}</dt><dd>{_text(v)}</dd>" for k, v in items)
    return Fragment(f"<dl>{body}</dl>")
