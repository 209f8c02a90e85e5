"""The Qwen3-VL wire format lives in model/qwen3vl/ only (one codec, constants defined once).

Product code and the shared test fakes must not spell the call's tags, the tool name, the cookbook
pixel budget or the coordinate grid themselves: they format replies with `format_reply`, map points
with `to_model`/`to_screen` and import DEFAULT_GRID, ALLOWED_GRIDS, DEFAULT_MAX_PIXELS, STOP_STRINGS.
Test modules that exercise the parser and the backends (tests/test_*.py) may hold raw replies.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from model.qwen3vl import ALLOWED_GRIDS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "model" / "qwen3vl"
PRODUCT = ["agent", "actions", "tasks", "benchmarks", "model"]
# The wire format's spellings: either tag (the pattern matches both), the tool name, the budget.
LITERALS = re.compile(r"tool_call>|computer_use|12_?845_?056")
GRID_SIZES = set(ALLOWED_GRIDS)
EXTENT = re.compile(r"width|height|\b[WH]\b|size", re.IGNORECASE)  # what a point is divided by
# Lines outside the package that must keep a literal, each with the reason. Exact line text, so a
# new occurrence in the same file still fails.
ALLOWED_LINES = {
    # model.qwen3vl imports model.types (ToolCall), so model.types cannot import the constant back.
    ("model/types.py", 'stop: tuple[str, ...] = ("</tool_call>",)'),
    # The tiny offline model's tokenizer: its special tokens are data of the test model.
    ("model/tiny.py", 'TEXT_TAGS = ("<tool_call>", "</tool_call>", "<think>", "</think>")'),
    ("model/transformers_backend.py", '"""Qwen3-VL weights run in this process; greedy by default, stops right after `</tool_call>`."""'),
}  # fmt: skip


def _sources() -> Iterator[Path]:
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*.py")):
            if HOME not in path.parents:
                yield path
    # Shared fakes and helpers of the test suite (not the test modules themselves).
    yield from (p for p in sorted((ROOT / "tests").rglob("*.py")) if not p.name.startswith("test_"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _is_grid(node: ast.AST) -> bool:
    """A grid size literal: 1000 or 999, or a tuple holding one."""
    if isinstance(node, ast.Constant):
        return type(node.value) is int and node.value in GRID_SIZES
    return isinstance(node, ast.Tuple | ast.List | ast.Set) and any(_is_grid(e) for e in node.elts)


def _names_grid(node: ast.AST) -> bool:
    return "grid" in ast.unparse(node).lower()


def _grid_literals(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Where code spells the grid size: defaults, comparisons and assignments of something named
    *grid*, `CoordinateGrid(size=...)`, and a hand-written `v * 1000 / extent` mapping."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            pairs = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
            for arg, default in pairs:
                if "grid" in arg.arg.lower() and _is_grid(default):
                    yield default.lineno, f"default of `{arg.arg}`"
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_names_grid(s) for s in sides) and any(_is_grid(s) for s in sides):
                yield node.lineno, "comparison with a grid size"
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            if isinstance(value, ast.Call):  # a pydantic Field(default=...)
                value = next((k.value for k in value.keywords if k.arg == "default"), value)
            if any(_names_grid(t) for t in targets) and _is_grid(value):
                yield node.lineno, "assignment of a grid size"
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("CoordinateGrid"):
            for kw in node.keywords:
                if kw.arg == "size" and _is_grid(kw.value):
                    yield node.lineno, "CoordinateGrid(size=<literal>)"
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Div)
            and isinstance(node.left, ast.BinOp)
            and isinstance(node.left.op, ast.Mult)
            and (_is_grid(node.left.left) or _is_grid(node.left.right))
            and EXTENT.search(ast.unparse(node.right))
        ):
            yield node.lineno, "pixels mapped to the grid by hand (use to_model)"


def test_the_scan_covers_the_product_and_the_shared_fakes() -> None:
    files = {_rel(p) for p in _sources()}
    assert "tests/memory_env.py" in files
    assert any(f.startswith("tasks/") for f in files) and any(f.startswith("agent/") for f in files)
    assert not any(f.startswith("model/qwen3vl/") or "/test_" in f for f in files)


def test_no_wire_format_literal_outside_model_qwen3vl() -> None:
    found = []
    for path in _sources():
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if LITERALS.search(line) and (_rel(path), line.strip()) not in ALLOWED_LINES:
                found.append(f"{_rel(path)}:{no}: {line.strip()}")
    assert found == [], (
        "write replies with model.qwen3vl.format_reply and import its constants:\n" + "\n".join(found)
    )


def test_no_grid_literal_outside_model_qwen3vl() -> None:
    found = [
        f"{_rel(path)}:{no}: {what}"
        for path in _sources()
        for no, what in _grid_literals(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == [], "use DEFAULT_GRID / ALLOWED_GRIDS / to_model from model.qwen3vl:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("def f(grid: int = 1000): ...", True),
        ("def f(*, grid_size=999): ...", True),
        ("ok = config.grid == 1000", True),
        ("ok = grid not in (1000, 999)", True),
        ("g = CoordinateGrid(size=999)", True),
        ("class C:\n    grid: int = Field(default=1000, gt=0)", True),
        ("gx = round(x * 1000 / WIDTH)", True),
        ("grid = DEFAULT_GRID", False),
        ("gy = round(w['y_root'] * 999 / geometry.height)", True),
        ("ms = (end - start) * 1000", False),
        ("per_step = 1000 * elapsed / STEPS", False),
        ("timeout = 1000", False),
    ],
)
def test_the_grid_check_catches_what_it_should(source: str, caught: bool) -> None:
    assert bool(list(_grid_literals(ast.parse(source)))) is caught
