"""The package's shape: no import cycle inside ``slot``, and no private name (``_x``) used across modules.

Imports under ``if TYPE_CHECKING:`` are annotations only and do not count; imports inside functions do (a
deferred import cycle is still a cycle of responsibilities).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "slot"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "v1" in path.relative_to(PACKAGE).parts:  # generated protobuf stubs
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(tree: ast.AST, modules: dict[str, Path]) -> set[str]:
    """The ``slot`` modules a module imports, outside ``if TYPE_CHECKING:`` blocks."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.level == 0 and (child.module or "").startswith("slot"):
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    out.add(full if full in modules else str(child.module))
            elif isinstance(child, ast.Import):
                out.update(alias.name for alias in child.names if alias.name.startswith("slot"))
            visit(child)

    visit(tree)
    return {name for name in out if name in modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined(tree: ast.AST) -> set[str]:
    """Private names a module defines: functions, classes, assigned names and attributes."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Name):
                        names.add(part.id)
                    elif isinstance(part, ast.Attribute):
                        names.add(part.attr)
    return {name for name in names if _private(name)}


def test_no_import_cycle_in_the_package() -> None:
    modules = _modules()
    graph = {name: _imports(ast.parse(path.read_text(encoding="utf-8")), modules) - {name}
             for name, path in modules.items()}
    assert sum(map(len, graph.values())) > 100  # the check sees the package's imports
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_private_name_is_used_across_modules() -> None:
    trees = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in _modules().items()}
    defined = {name: _defined(tree) for name, tree in trees.items()}
    project = set().union(*defined.values())
    offences = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("slot"):
                offences += [f"{name}: from {node.module} import {a.name}" for a in node.names if _private(a.name)]
            elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr in project \
                    and node.attr not in defined[name] and ast.unparse(node.value) not in ("self", "cls"):
                offences.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    assert offences == []


PARTS = ("caches", "model", "drafts", "guards")
"""The CPU engine's parts below its loop: none of them imports the loop (``decoding``) or the engine itself."""


def test_the_cpu_engine_parts_sit_below_its_loop() -> None:
    modules = _modules()
    above = {name for name in modules if name.startswith(("slot.engine.cpu.decoding", "slot.engine.cpu.engine"))}
    parts = {name: path for name, path in modules.items()
             if name.startswith(tuple(f"slot.engine.cpu.{part}." for part in PARTS))}
    assert len(parts) >= 12  # every part's modules are seen
    upward = {name: sorted(_imports(ast.parse(path.read_text(encoding="utf-8")), modules) & above)
              for name, path in parts.items()}
    assert {name: found for name, found in upward.items() if found} == {}
