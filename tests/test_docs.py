"""The documentation: it builds without a warning, and its examples run.

* ``pycon`` blocks (``>>>`` with outputs) in ``docs/*.md`` and ``README.md``
  run as doctests, one namespace per page, in a temporary folder;
* ``python`` blocks (too slow or needing a GPU, a cluster or the network to
  run here) must compile, and their ``rotcurve`` imports must work;
* ``rotcurve ...`` lines in ``bash`` blocks name real commands and options,
  and the command-line page mentions every command and option;
* Sphinx builds the site with warnings as errors, and every page is in a
  toctree.
"""

from __future__ import annotations

import argparse
import ast
import doctest
import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
README = REPO / "README.md"
PAGES = sorted(DOCS.glob("*.md"))
#: Every Markdown file whose examples are checked.
EXAMPLE_FILES = [*PAGES, README]
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
FENCE = re.compile(r"^(`{3,})\s*([^`\s]*)")


def _blocks(path: Path) -> list[tuple[str, int, list[str]]]:
    """The fenced code blocks of a Markdown file: (language, first line index, lines)."""
    out: list[tuple[str, int, list[str]]] = []
    fence, lang, start, body = None, "", 0, []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        stripped = line.strip()
        if fence is None:
            m = FENCE.match(stripped)
            if m:
                fence, lang, start, body = m.group(1), m.group(2), i + 1, []
        elif stripped == fence:
            out.append((lang, start, body))
            fence = None
        else:
            body.append(line)
    assert fence is None, f"{path.name}: unclosed code block starting at line {start}"
    return out


def _ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(REPO).as_posix() for p in paths]


# -- doctests -----------------------------------------------------------------


DOCTEST_FILES = [p for p in EXAMPLE_FILES if any(lang == "pycon" for lang, _, _ in _blocks(p))]


@pytest.mark.parametrize("path", DOCTEST_FILES, ids=_ids(DOCTEST_FILES))
def test_examples_run(path, tmp_path, monkeypatch):
    """Every ``pycon`` block of the page runs and prints what the page says."""
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    text = [""] * n_lines  # the page with everything but its pycon blocks blanked: line numbers stay
    for lang, start, body in _blocks(path):
        if lang == "pycon":
            text[start : start + len(body)] = body
    source = "\n".join(text) + "\n"
    monkeypatch.chdir(tmp_path)  # examples write their files here
    name = path.relative_to(REPO).as_posix()
    test = doctest.DocTestParser().get_doctest(source, {"__name__": "__docs__"}, name, str(path), 0)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    result = runner.run(test, out=report.append, clear_globs=True)
    assert result.failed == 0, "".join(report)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=_ids(EXAMPLE_FILES))
def test_python_blocks_compile_and_import(path):
    """``python`` blocks are valid Python and the rotcurve names they import exist."""
    for lang, start, body in _blocks(path):
        if lang != "python":
            continue
        where = f"{path.name}:{start + 1}"
        tree = ast.parse("\n".join(body), filename=where)  # a SyntaxError names the block
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mod = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                if mod and mod.split(".")[0] == "rotcurve":
                    exec(compile(ast.Module([node], []), where, "exec"), {})


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=_ids(EXAMPLE_FILES))
def test_toml_blocks_parse(path):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    for lang, start, body in _blocks(path):
        if lang == "toml":
            tomllib.loads("\n".join(body))


# -- the command line in the pages ----------------------------------------------


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    from rotcurve.cli.main import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _command_lines(path: Path) -> list[tuple[str, list[str]]]:
    """``rotcurve`` invocations in bash blocks: (where, tokens after 'rotcurve')."""
    found = []
    for lang, start, body in _blocks(path):
        if lang not in ("bash", "sh", "console"):
            continue
        joined = "\n".join(body).replace("\\\n", " ")
        for k, line in enumerate(joined.splitlines()):
            line = line.split(" #", 1)[0]
            for part in re.split(r"&&|\|\||;|\|", line):
                try:
                    tokens = shlex.split(part)
                except ValueError:
                    tokens = part.split()
                while tokens and "=" in tokens[0] and not tokens[0].startswith("-"):
                    tokens = tokens[1:]  # VAR=value before the command
                if tokens and tokens[0] == "rotcurve":
                    found.append((f"{path.name}:{start + 1 + k}", tokens[1:]))
    return found


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=_ids(EXAMPLE_FILES))
def test_shell_examples_use_real_commands_and_options(path):
    commands = _subparsers()
    for where, tokens in _command_lines(path):
        if not tokens or tokens[0].startswith("-"):
            continue  # rotcurve --help / --version
        name = tokens[0]
        assert name in commands, f"{where}: no command 'rotcurve {name}'"
        known = {s for a in commands[name]._actions for s in a.option_strings}
        for tok in tokens[1:]:
            opt = re.match(r"\[?(--?[A-Za-z][-A-Za-z0-9]*)", tok)
            if opt and tok.lstrip("[").startswith("-"):
                assert opt.group(1) in known, f"{where}: 'rotcurve {name}' has no option {opt.group(1)}"


def test_cli_page_covers_every_command_and_option():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name, sub in _subparsers().items():
        assert f"rotcurve {name}" in text, f"docs/cli.md does not describe 'rotcurve {name}'"
        for action in sub._actions:
            for opt in action.option_strings:
                if opt in ("-h", "--help"):
                    continue
                assert re.search(rf"(?<![-\w]){re.escape(opt)}(?![-\w])", text), (
                    f"docs/cli.md does not mention {opt} of 'rotcurve {name}'"
                )


# -- structure ------------------------------------------------------------------


def test_every_page_is_in_a_toctree():
    listed = set()
    for path in PAGES:
        for lang, _, body in _blocks(path):
            if lang == "{toctree}":
                listed.update(line.strip() for line in body if line.strip() and not line.startswith(":"))
    pages = {p.stem for p in PAGES} - {"index"}
    assert pages - listed == set(), "pages in no toctree (add them to docs/index.md)"
    assert listed - pages == set(), "toctree entries without a page"


def test_readme_is_a_front_door():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 300, "README.md should stay under 300 lines; move details into docs/"
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (REPO / target).exists(), f"README.md links to {target}, which does not exist"
    for target in re.findall(r'src="([^"]+)"', text):
        assert (REPO / target).exists(), f"README.md shows {target}, which does not exist"


def test_getting_started_has_the_readmes_two_commands():
    def commands(path: Path) -> list[str]:
        return [line for lang, _, body in _blocks(path) if lang == "bash" for line in body if "python3 -m venv" in line and "pip install" in line]

    readme = commands(README)
    assert len(readme) == 2, "README.md should show the two commands (quickstart and tests)"
    assert commands(DOCS / "getting-started.md") == readme, "docs/getting-started.md and README.md differ"


# -- the Sphinx build -------------------------------------------------------------

_MISSING = [m for m in ("sphinx", "numpydoc", "myst_parser") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(_MISSING), reason=f"docs tools not installed ({', '.join(_MISSING)}): pip install -e '.[docs]'")
def test_sphinx_build_has_no_warnings(tmp_path):
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stderr[-5000:]}"
    assert (tmp_path / "html" / "index.html").is_file()
    for page in PAGES:
        assert (tmp_path / "html" / f"{page.stem}.html").is_file(), f"{page.name} was not built"
