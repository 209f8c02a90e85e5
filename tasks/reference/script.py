"""Reference solution scripts: typed steps the reference policy turns into Qwen3-VL replies.

Browser targets are Playwright selectors (CSS, `text=`, `:has-text()`); desktop targets are window
title regexes with a point `at` given as fractions (0..1) of the window's width and height.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from actions.errors import QwenAgentError
from actions.types import Frozen
from tasks.suites import builtin_root

SANDBOX_SOLUTIONS = builtin_root("sandbox") / "solutions"


class ReferenceScriptError(QwenAgentError):
    """A task has no reference solution, or its solution file is malformed."""


class _Targeted(Frozen):
    selector: str | None = None  # Playwright selector (browser)
    window: str | None = None  # window title regex (desktop)
    at: tuple[float, float] = (0.5, 0.5)  # point inside the window, fractions of its size
    note: str | None = None  # the "Action:" line; a default is made from the step

    @model_validator(mode="after")
    def _one_target(self) -> _Targeted:
        if self.selector is not None and self.window is not None:
            raise ValueError("give either `selector` or `window`, not both")
        return self


class ClickStep(_Targeted):
    """Click the target's centre (scrolling it into view first); `expect` must appear afterwards."""

    do: Literal["click"]
    button: Literal["left", "right", "middle"] = "left"
    count: int = Field(default=1, ge=1, le=3)
    expect: str | None = None  # selector that proves the click worked; the click is retried if not


class TypeStep(_Targeted):
    """Type text; with a target, focus it first (and select its old text when `clear`)."""

    do: Literal["type"]
    text: str = Field(min_length=1)
    clear: bool = False


class KeyStep(Frozen):
    """Press a chord such as ["ctrl", "s"] or a single key such as ["enter"]."""

    do: Literal["key"]
    keys: tuple[str, ...] = Field(min_length=1)
    note: str | None = None


class WaitForStep(_Targeted):
    """Wait (without acting) until the selector is visible or the window exists."""

    do: Literal["wait_for"]
    timeout_s: float = Field(default=10.0, gt=0)


class TerminateStep(Frozen):
    """End the episode: success, or failure with an explanation (infeasible tasks)."""

    do: Literal["terminate"]
    status: Literal["success", "failure"] = "success"
    text: str | None = None


Step = Annotated[ClickStep | TypeStep | KeyStep | WaitForStep | TerminateStep, Field(discriminator="do")]


class Solution(Frozen):
    """A task's reference script: `steps` in order, ending with a terminate step."""

    id: str
    name: str | None = None  # a readable label (the task ids are UUIDs)
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ends_with_terminate(self) -> Solution:
        if not isinstance(self.steps[-1], TerminateStep):
            raise ValueError("the last step must be a `terminate` step")
        return self


_SOLUTION = TypeAdapter(Solution)


def parse_solution(data: Any, where: str) -> Solution:
    try:
        return _SOLUTION.validate_python(data)
    except ValidationError as e:
        raise ReferenceScriptError(f"{where}: invalid reference solution: {e}") from e


def load_solution(task: Any, solutions_dir: Path | None = None) -> Solution:
    """The solution for a task: its inline `reference` key, else `<solutions_dir>/<id>.json`."""
    task_id = task["id"] if isinstance(task, dict) else task.id
    inline = task.get("reference") if isinstance(task, dict) else getattr(task, "reference", None)
    if inline is not None:
        return parse_solution({"id": task_id, "steps": inline}, f"task {task_id}")
    path = (solutions_dir or SANDBOX_SOLUTIONS) / f"{task_id}.json"
    if not path.is_file():
        raise ReferenceScriptError(
            f"no reference solution for task {task_id!r}: expected {path} "
            "(the reference policy only knows tasks that ship a solution script)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ReferenceScriptError(f"{path}: not valid JSON ({e.msg})") from e
    return parse_solution(data, str(path))
