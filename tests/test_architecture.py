"""The packages of ``src/tidegate`` import one way: the layers of docs/architecture.md, and no cycle.

Every import counts, wherever it is written: at module level, inside a function (a lazy import hides a
cycle, it does not remove it) or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

SRC = REPO / "src" / "tidegate"
DOC = REPO / "docs" / "architecture.md"

#: The layers, lowest first; a package may import only packages of lower layers (docs/architecture.md).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("clock", "jsontext", "logctx", "urls", "status", "names", "metrics", "egress"),
    ("flow", "auth", "store", "functions", "shim", "sdk"),
    ("engine", "mq", "ram"),
    ("integrations",),
    ("runtime", "deploy"),
    ("api",),
    ("console",),
    ("app",),
    ("cli",),
    ("testing",),
)
LAYER_OF = {package: n for n, layer in enumerate(LAYERS) for package in layer}

#: Import edges (importer, imported) that break the layering and are accepted until they are fixed.
#: Keep each with the reason; the last test fails once an entry no longer exists, so the list only shrinks.
ALLOWED_UPWARD: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Edge:
    """One import of a tidegate package by another, and where it is written."""

    importer: str
    imported: str
    site: str


def package_of(path: Path) -> str:
    """The top-level package (or leaf module) of a file under ``src/tidegate``; ``""`` for the root."""
    first = path.relative_to(SRC).parts[0]
    return "" if first == "__init__.py" else first.removesuffix(".py")


def module_name(path: Path) -> str:
    """The dotted name of the module at ``path``."""
    parts = ("tidegate", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> Iterator[tuple[str, int]]:
    """Every absolute module name ``path`` imports (relative imports resolved), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module == "tidegate":  # from tidegate import engine (or an attribute such as __version__)
                for alias in node.names:
                    is_module = (SRC / alias.name).is_dir() or (SRC / f"{alias.name}.py").is_file()
                    yield f"tidegate.{alias.name}" if is_module else "tidegate", node.lineno
            else:
                yield module, node.lineno


def import_edges() -> list[Edge]:
    """Every import from one tidegate package of another."""
    edges = []
    for path in sorted(SRC.rglob("*.py")):
        importer = package_of(path)
        for module, line in imported_modules(path):
            parts = module.split(".")
            if parts[0] != "tidegate" or len(parts) < 2 or parts[1] == importer:
                continue
            edges.append(Edge(importer, parts[1], f"{path.relative_to(REPO)}:{line}"))
    return edges


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, …, a]``, or None (iterative depth-first search)."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path, on_path = [start], {start}
        stack = [iter(sorted(graph.get(start, ())))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


EDGES = import_edges()


def test_the_scan_sees_the_imports() -> None:
    # Guards the scanner itself: known imports written in each form (absolute, relative, lazy) are found.
    pairs = {(e.importer, e.imported) for e in EDGES}
    assert {("engine", "flow"), ("runtime", "engine"), ("cli", "api"), ("console", "api"), ("app", "console")} <= pairs
    assert len(EDGES) > 100


def test_every_package_has_a_layer() -> None:
    found = {package_of(p) for p in SRC.rglob("*.py")} - {""}
    assert found == set(LAYER_OF), "place new packages in LAYERS and in docs/architecture.md"


def test_the_root_module_imports_no_package() -> None:
    assert [e for e in EDGES if e.importer == ""] == []


def test_imports_go_down_the_layers() -> None:
    wrong = sorted(
        f"{e.site}: {e.importer} (layer {LAYER_OF[e.importer]}) imports {e.imported} (layer {LAYER_OF[e.imported]})"
        for e in EDGES
        if e.importer
        and LAYER_OF[e.imported] >= LAYER_OF[e.importer]
        and (e.importer, e.imported) not in ALLOWED_UPWARD
    )
    assert wrong == []


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for e in EDGES:
        if e.importer and (e.importer, e.imported) not in ALLOWED_UPWARD:
            graph.setdefault(e.importer, set()).add(e.imported)
    assert find_cycle(graph) is None


def test_find_cycle_is_not_vacuous() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def test_each_allowed_edge_closes_a_cycle() -> None:
    # The allow-list holds cycle edges only: with the edge put back, the packages import each other.
    graph: dict[str, set[str]] = {}
    for e in EDGES:
        if e.importer:
            graph.setdefault(e.importer, set()).add(e.imported)
    for importer, imported in ALLOWED_UPWARD:
        cycle = find_cycle({k: v for k, v in graph.items() if k in (importer, imported)})
        assert cycle is not None and {importer, imported} <= set(cycle)


def test_allowed_upward_edges_still_exist() -> None:
    # Once an allowed edge is gone, remove it from ALLOWED_UPWARD so that it cannot come back unnoticed.
    pairs = {(e.importer, e.imported) for e in EDGES}
    assert ALLOWED_UPWARD <= pairs


def test_docs_state_the_same_layers() -> None:
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", DOC.read_text(encoding="utf-8"), re.M)
    documented = [(int(n), tuple(re.findall(r"`([a-z_]+)`", cells))) for n, cells in rows]
    assert documented == list(enumerate(LAYERS))


# --- the store's private modules -------------------------------------------------------------------------

#: Where code that uses the store lives: everything outside the store package itself.
_STORE = SRC / "store"


def private_store_imports(path: Path) -> list[str]:
    """``file:line module`` of each import of a private store module (``tidegate.store._x``) in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package: list[str] = []
    if path.is_relative_to(SRC):
        here = module_name(path).split(".")
        package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([node.module] if node.module else [])])
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        private = []
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["tidegate", "store"]:
                cut = next((n for n, p in enumerate(parts) if n >= 2 and p.startswith("_") and p != "__init__"), 0)
                if cut and ".".join(parts[: cut + 1]) not in private:
                    private.append(".".join(parts[: cut + 1]))
        site = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
        found += [f"{site}:{getattr(node, 'lineno', 0)} {name}" for name in private]
    return found


def test_the_private_store_scan_sees_each_form(tmp_path: Path) -> None:
    # Guards the scanner: each way of writing such an import is found, the public modules are not.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import tidegate.store._open\n"
        "from tidegate.store._writer import write_transitions\n"
        "from tidegate.store import _sqlstore\n"
        "from tidegate.store import database, open_store\n"
        "from tidegate.store.database import Database\n",
        encoding="utf-8",
    )
    found = [line.split(" ", 1)[1] for line in private_store_imports(sample)]
    assert found == ["tidegate.store._open", "tidegate.store._writer", "tidegate.store._sqlstore"]


def test_no_module_outside_the_store_imports_a_private_store_module() -> None:
    # The store's public surface is tidegate.store and tidegate.store.database (the SQL layer other domains
    # build on); its underscored modules are free to change.
    paths = [p for p in SRC.rglob("*.py") if not p.is_relative_to(_STORE)]
    paths += sorted((REPO / "tests").rglob("*.py")) + sorted((REPO / "bench").rglob("*.py"))
    assert len(paths) > 100
    assert [hit for p in paths for hit in private_store_imports(p)] == []
