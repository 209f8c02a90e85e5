"""A finished row as the batch records it (results.jsonl), where its files live, and the batch's
totals: shared by the batch runner and its summary."""

from __future__ import annotations

from typing import Any

from actions.types import Frozen
from tasks.jobs.replay import RowResult, RowStatus, StepRecord
from tasks.jobs.rows import Row, safe_key


class RowOutcome(Frozen):
    """A finished row as results.jsonl holds it."""

    key: str
    line: int
    status: RowStatus
    reason: str | None = None
    fallbacks: int = 0
    model_calls: int = 0
    seconds: float = 0.0
    screenshot: str | None = None  # relative to the results folder
    steps: tuple[StepRecord, ...] = ()

    @classmethod
    def of(cls, row: Row, result: RowResult, folder: str) -> RowOutcome:
        shot = f"{folder}/{result.screenshot}" if result.screenshot else None
        data = result.model_dump(exclude={"screenshot"})
        return cls(key=row.key, line=row.line, screenshot=shot, **data)


def row_folder(key: str) -> str:
    """A row's folder in the results folder, by the row's key."""
    return f"rows/{safe_key(key)}"


def totals(outcomes: list[RowOutcome]) -> dict[str, Any]:
    """Counts by status, fallbacks, model calls and time for the whole batch."""
    by_status = {s: sum(1 for o in outcomes if o.status == s) for s in ("done", "failed", "needs_human")}
    return {
        "rows": len(outcomes),
        **by_status,
        "fallbacks": sum(o.fallbacks for o in outcomes),
        "model_calls": sum(o.model_calls for o in outcomes),
        "seconds": round(sum(o.seconds for o in outcomes), 2),
    }
