"""The shape of the package: no import cycles, parts import only downwards, every module imports on its own.

The import graph is read from the source with :mod:`ast` (nothing is
imported): every ``import rotcurve...`` and ``from rotcurve... import ...``,
at module level and inside functions alike, since an import inside a function
is still a dependency (it only hides a cycle until the function runs).  Imports
under ``if TYPE_CHECKING:`` are left out: they are never run (annotations
only).  A package's ``__init__`` re-exporting its own submodules is not an
edge (the package is the submodules' public face).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "rotcurve"

#: The parts of rotcurve, bottom first.  A module may import from its own part
#: and from the parts of lower layers, never from a higher layer.  A "part" is
#: the name after ``rotcurve.``: a subpackage (``io``, ``run``) or a top-level
#: module (``units``, ``quickstart``).  The order is what the code does today:
#:
#: * bottom: the unit system, errors, argument checks, seeds, devices, the
#:   numpy/scipy physics (no torch, see tests/physics);
#: * ``serialization`` (dataclass configs <-> JSON/TOML) writes through
#:   ``io.atomic``, so it sits above ``io``;
#: * ``analysis`` (plain-array statistics and figures) is below ``run``: a run
#:   fits its aggregate samplers with ``analysis.aggregate``; analysis never
#:   imports run or reports;
#: * ``inference`` (fits of observed curves) builds its HTML page with
#:   ``reports.html``, so it sits above ``reports``;
#: * ``quickstart`` and ``testing`` use everything below; ``cli`` is on top.
LAYERS: list[tuple[str, ...]] = [
    ("rotcurve", "_version", "errors", "units", "validation", "seeds", "devices", "physics"),
    ("io",),
    ("serialization", "config"),  # config: the deprecated alias of serialization
    ("generator",),
    ("datasets",),
    ("models",),
    ("training",),
    ("analysis",),
    ("run",),
    ("reports",),
    ("inference",),
    ("quickstart", "testing"),
    ("cli",),
]

#: Deprecated aliases kept for one release at their old paths.  Each warns on
#: import and re-exports its new home, which may be in a higher part (the old
#: report paths under analysis point at rotcurve.reports): exempt from the layers.
SHIMS: dict[str, str] = {
    "rotcurve.config": "rotcurve.serialization",
    "rotcurve.datasets.training": "rotcurve.datasets.loading",
    "rotcurve.datasets.memory": "rotcurve.datasets.free_memory",
    "rotcurve.analysis.report": "rotcurve.reports",
    "rotcurve.analysis.html": "rotcurve.reports.html",
    "rotcurve.analysis.report_figures": "rotcurve.reports.figures",
}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of rotcurve: dotted name -> (file, is a package ``__init__``)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


MODULES = _modules()


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except those under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if _is_type_checking(node):
            for child in node.orelse:  # the else branch does run
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _known(name: str) -> str | None:
    """``name`` or its nearest enclosing rotcurve module (``rotcurve.io.format.X`` -> ``rotcurve.io.format``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The rotcurve modules one import statement depends on (relative imports resolved)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join([*base, *([node.module] if node.module else [])])
        else:
            target = node.module or ""
        # `from pkg import name`: the submodule pkg.name when there is one, else pkg itself
        names = [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]
    return [t for t in (_known(n) for n in names if n == "rotcurve" or n.startswith("rotcurve.")) if t]


def import_graph() -> dict[str, set[str]]:
    """module -> the rotcurve modules it imports (module level and in functions)."""
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in MODULES.items():
        edges = set()
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(module, is_package, node):
                if target == module or (is_package and target.startswith(module + ".")):
                    continue  # a package re-exporting its own submodules
                edges.add(target)
        graph[module] = edges
    return graph


GRAPH = import_graph()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _part(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def _layer(part: str) -> int:
    for i, parts in enumerate(LAYERS):
        if part in parts:
            return i
    raise AssertionError(f"part {part!r} is in no layer; add it to LAYERS in {__file__}")


def test_the_graph_sees_imports_in_functions_and_packages():
    # the reader itself: a function-level import counts, `from pkg import submodule` names the submodule,
    # a TYPE_CHECKING import does not count
    assert "rotcurve.reports" in GRAPH["rotcurve.cli.report"]  # imported inside run()
    assert "rotcurve.reports" in GRAPH["rotcurve.quickstart"]  # `from rotcurve import reports`
    assert "rotcurve.training.config" not in GRAPH["rotcurve.training.optim"]  # annotations only
    assert "rotcurve.io.schema" in GRAPH["rotcurve.io.read"]


def test_there_are_no_import_cycles():
    cycles = _cycles(GRAPH)
    shown = [
        " <-> ".join(c) + ": " + "; ".join(f"{a} -> {b}" for a in c for b in sorted(GRAPH[a] & set(c)))
        for c in cycles
    ]
    assert not cycles, "import cycles:\n" + "\n".join(shown)


def test_every_part_is_in_a_layer():
    parts = {_part(m) for m in MODULES}
    listed = {p for layer in LAYERS for p in layer}
    assert parts <= listed, f"parts in no layer: {sorted(parts - listed)}"
    assert set(SHIMS) <= set(MODULES), f"shims that do not exist: {sorted(set(SHIMS) - set(MODULES))}"


def test_parts_import_only_from_their_own_or_lower_layers():
    violations = []
    for module, targets in sorted(GRAPH.items()):
        if module in SHIMS:
            continue
        for target in sorted(targets):
            if _layer(_part(target)) > _layer(_part(module)):
                violations.append(
                    f"{module} -> {target} ({_part(module)} is below {_part(target)} in LAYERS)"
                )
    assert not violations, "imports against the layers:\n" + "\n".join(violations)


def test_no_module_imports_a_deprecated_path():
    users = [f"{m} -> {t}" for m, ts in sorted(GRAPH.items()) if m not in SHIMS for t in sorted(ts) if t in SHIMS]
    # rotcurve.inference.report falls back to rotcurve.analysis.html only when rotcurve.reports is missing
    users = [u for u in users if u != "rotcurve.inference.report -> rotcurve.analysis.html"]
    assert not users, "imports of deprecated aliases (use the new path):\n" + "\n".join(users)


_IMPORT_EACH = r"""
import importlib, sys, traceback, warnings
shims = set(sys.argv[2].split(","))
failed = []
for name in sys.argv[1].split(","):
    for loaded in [m for m in sys.modules if m == "rotcurve" or m.startswith("rotcurve.")]:
        del sys.modules[loaded]  # each module is the first rotcurve module imported
    with warnings.catch_warnings():
        if name not in shims:
            warnings.filterwarnings("error", message=r"rotcurve\..* moved to ", category=DeprecationWarning)
        else:
            warnings.simplefilter("ignore", DeprecationWarning)
        try:
            importlib.import_module(name)
        except BaseException as exc:
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_first_on_its_own():
    # At run time: each module imported into an interpreter holding no rotcurve module yet, so a
    # circular import that the import order elsewhere happens to hide shows here; no module but an
    # alias may warn that it uses a moved path.
    names = sorted(MODULES)
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, ",".join(names), ",".join(SHIMS)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]


def test_the_command_line_starts_without_heavy_libraries():
    # `rotcurve --help` imports every command module; each imports heavy libraries only when it runs.
    code = (
        "import sys, importlib, rotcurve.cli.main as m\n"
        "for c in m.COMMAND_MODULES: importlib.import_module(c)\n"
        "heavy = [h for h in ('torch', 'matplotlib', 'h5py', 'dask', 'sklearn') if h in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
