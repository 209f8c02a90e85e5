"""Layers import downwards only: tasks -> agent -> model -> actions (architecture guide). Inside
tasks/, the rooms do too, in ROOMS order; the modules beside them (environments.py) import no room."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["actions", "model", "agent", "tasks"]
# tasks/ rooms, lowest first: a room may import the rooms before it, never those after it.
ROOMS = ["apps", "osworld", "suites", "reference", "calibration", "pool", "eval", "jobs", "grounding", "cli"]
SHARED = {"__init__.py", "environments.py"}  # tasks/ modules beside the rooms


def _modules(path: Path) -> set[str]:
    """Every absolute module name the file imports (also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _imports(path: Path) -> set[str]:
    return {m.split(".")[0] for m in _modules(path)}


def _rooms_imported(path: Path) -> set[str]:
    return {m.split(".")[1] for m in _modules(path) if m.startswith("tasks.") and m.split(".")[1] in ROOMS}


@pytest.mark.parametrize("layer", ORDER)
def test_no_upward_imports(layer: str) -> None:
    above = set(ORDER[ORDER.index(layer) + 1 :])
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & above)
        for p in (ROOT / layer).rglob("*.py")
        if _imports(p) & above
    }
    assert offenders == {}, f"{layer} must not import {sorted(above)}"


def test_tasks_is_rooms_only() -> None:
    """Every package under tasks/ is a room of ROOMS; loose modules are only the shared ones."""
    tasks = ROOT / "tasks"
    packages = {p.name for p in tasks.iterdir() if p.is_dir() and any(p.rglob("*.py"))}
    assert packages == set(ROOMS)
    assert {p.name for p in tasks.glob("*.py")} == SHARED


@pytest.mark.parametrize("room", ROOMS)
def test_rooms_import_downwards_only(room: str) -> None:
    above = set(ROOMS[ROOMS.index(room) + 1 :])
    offenders = {
        str(p.relative_to(ROOT)): sorted(_rooms_imported(p) & above)
        for p in (ROOT / "tasks" / room).rglob("*.py")
        if _rooms_imported(p) & above
    }
    assert offenders == {}, f"tasks/{room} must not import {sorted(above)}"


def test_shared_modules_import_no_room() -> None:
    offenders = {
        name: sorted(_rooms_imported(ROOT / "tasks" / name))
        for name in SHARED
        if _rooms_imported(ROOT / "tasks" / name)
    }
    assert offenders == {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("layer", ORDER)
def test_no_import_cycles(layer: str) -> None:
    """No module of a layer imports itself back through others, lazy imports included (e.g. model:
    the factory imports the backends, so the backends take ModelConfig from model.config)."""
    modules = {_module_name(p): p for p in (ROOT / layer).rglob("*.py")}
    graph = {m: {d for d in _modules(p) if d in modules and d != m} for m, p in modules.items()}
    done: set[str] = set()

    def cycle_from(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for dep in sorted(graph[module]):
            found = cycle_from(dep, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    cycles = [c for m in sorted(graph) if (c := cycle_from(m, []))]
    assert cycles == [], " -> ".join(cycles[0]) if cycles else ""
