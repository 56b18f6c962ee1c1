"""The layers at run time, twin of the import-linter contracts in pyproject.toml.

Each import check runs in a fresh interpreter (what a module loads is what a user pays for). The
cycle check walks every import statement of store/ and tui/ with `ast`, those inside functions and
under `if TYPE_CHECKING:` included: a late import hides a cycle from Python, not from a reader.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import store

ROOT = Path(__file__).resolve().parent.parent
CAPABILITIES = ("store.ingest", "store.repair", "store.export", "store.demo")


def _loaded_after(imports: list[str]) -> set[str]:
    """The modules a fresh interpreter has loaded after importing `imports`."""
    code = (
        "import importlib, sys\n"
        f"for name in {imports!r}: importlib.import_module(name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def _store_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(store.__path__, "store."))


def _core_modules() -> list[str]:
    """store's top-level modules: the core."""
    return sorted(f"store.{p.stem}" for p in (ROOT / "store").glob("*.py") if p.stem != "__init__")


def _under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_store_imports_no_textual_or_rich() -> None:
    modules = _store_modules()
    assert "store.ingest.driver" in modules and "store.ingest.parsers.claude" in modules
    loaded = _loaded_after(modules)
    assert sorted(m for m in loaded if _under(m, ("textual", "rich", "tui"))) == []


def test_the_core_alone_loads_no_capability_package() -> None:
    core = _core_modules()
    assert {"store.db", "store.append", "store.funnel", "store.records"} <= set(core)
    loaded = _loaded_after(core)
    assert "store.db" in loaded
    assert sorted(m for m in loaded if _under(m, CAPABILITIES)) == []


def test_ingest_loads_no_ui_and_no_repair() -> None:
    ingest = [m for m in _store_modules() if _under(m, ("store.ingest",))]
    loaded = _loaded_after(ingest)
    assert "store.ingest.follow" in loaded
    assert sorted(m for m in loaded if _under(m, ("textual", "rich", "tui", "store.repair"))) == []


def test_parsers_load_nothing_of_the_database() -> None:
    parsers = [m for m in _store_modules() if _under(m, ("store.ingest.parsers",))]
    loaded = _loaded_after(parsers)
    stores = {m for m in loaded if _under(m, ("store",))}
    assert stores - set(parsers) <= {"store", "store.ingest", "store.records"}
    assert sorted(m for m in loaded if _under(m, ("peewee", "sqlite3"))) == []


# ------------------------------------------------------------------------------------------
# Cycles


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the modules of `packages` it imports (any import statement, anywhere in it).

    `from pkg import name` counts as importing `pkg.name` when that is a module, else `pkg`. A
    package's `__init__` is its own node: importing `pkg.mod` is an edge to `pkg.mod` only.
    """
    files: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = {f"{node.module}.{a.name}" for a in node.names} & files.keys()
                edges.update(subs)
                if len(subs) < len(node.names):
                    edges.add(node.module)
        graph[name] = (edges & files.keys()) - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycles_in_store_or_tui() -> None:
    graph = import_graph(ROOT, ("store", "tui"))
    assert len(graph) > 80 and "store.repair.runner" in graph and "tui.app" in graph
    assert "store.repair.steps" in graph["store.repair.runner"]
    assert cycles(graph) == []


@pytest.mark.parametrize("late", [False, True])
def test_the_cycle_check_finds_a_cycle(tmp_path: Path, late: bool) -> None:
    """The check above can fail: a three-module cycle is found, also through a late import and
    through `from pkg import module`."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""A package."""\n')
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("import pkg.c\n")
    body = "def f():\n    from pkg.a import thing\n" if late else "from pkg.a import thing\n"
    (pkg / "c.py").write_text(body)
    (pkg / "d.py").write_text("from pkg import a\n")
    assert cycles(import_graph(tmp_path, ("pkg",))) == [["pkg.a", "pkg.b", "pkg.c"]]


# ------------------------------------------------------------------------------------------
# The contracts name every module they must


def _contract(contract_id: str) -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (found,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == contract_id]
    return found  # type: ignore[no-any-return]


def test_the_core_contract_lists_every_core_module() -> None:
    """A new top-level store module is core, and must be under the core's contract."""
    assert sorted(_contract("core")["source_modules"]) == _core_modules()


def test_the_parsers_contract_forbids_every_other_store_module() -> None:
    forbidden = set(_contract("parsers-pure")["forbidden_modules"])
    others = [
        m
        for m in _store_modules()
        if not _under(m, ("store.ingest.parsers",)) and m not in ("store.ingest", "store.records")
    ]
    uncovered = [m for m in others if not any(m == f or m.startswith(f + ".") for f in forbidden)]
    assert uncovered == []
