"""The results folder in OSWorld's layout, resume bookkeeping, failure categories and summary.json.

results/<model>/<domain>/<id>/ holds the run folder (traj.jsonl, step_<n>.png, result.json,
report.html from the agent's recorder) plus ours: score.json (the outcome) and result.txt (the score,
written last: a task with result.txt is finished and is skipped on --resume).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from actions.types import Blocked, Finish, Wait
from agent.trajectory import RunResult

TaskStatus = Literal["scored", "setup_failed", "error", "unsupported", "invalid"]
FailureCategory = Literal[
    "parse_errors",
    "loop",
    "blocked",
    "step_budget",
    "click_on_nothing",
    "wrong_final_state",
    "gave_up",
    "missed_infeasible",
    "aborted",
    "setup_failed",
    "error",
]
CATEGORY_TEXT: dict[str, str] = {
    "parse_errors": "the model's replies could not be parsed",
    "loop": "the agent repeated the same action",
    "blocked": "the agent stopped at a blocker it explained",
    "step_budget": "the step budget ran out",
    "click_on_nothing": "a click landed on nothing interactive",
    "wrong_final_state": "the agent finished, but the final state is wrong",
    "gave_up": "the agent gave up (FAIL) on a feasible task",
    "missed_infeasible": "an infeasible task, but the agent did not say FAIL",
    "aborted": "the run was stopped",
    "setup_failed": "the task's setup failed",
    "error": "an error of ours or of the environment",
}


class TaskOutcome(BaseModel):
    """What happened to one task; stored as score.json beside the run folder."""

    model_config = ConfigDict(frozen=True)

    domain: str
    task_id: str
    status: TaskStatus
    score: float | None = None  # None: not scored (unsupported, invalid)
    reason: str = ""
    category: FailureCategory | None = None  # set when score < 1
    infeasible: bool = False
    instruction: str = ""
    run_status: str | None = None
    steps: int = 0
    parse_errors: int = 0
    duration_s: float = 0.0
    metrics: list[dict[str, Any]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)  # e.g. MiniWoB's raw and discounted rewards

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.task_id}"


def safe_name(model: str) -> str:
    """A folder name for a model id: 'Qwen/Qwen3-VL-2B-Instruct' -> 'Qwen__Qwen3-VL-2B-Instruct'."""
    name = model.replace("/", "__").replace(":", "_")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ResultsDir:
    """results/<model>/: per-task folders, scores.jsonl (append-only log), summary.json, report.html."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def task_dir(self, domain: str, task_id: str) -> Path:
        return self.root / domain / task_id

    def is_done(self, domain: str, task_id: str) -> bool:
        return (self.task_dir(domain, task_id) / "result.txt").is_file()

    def load(self, domain: str, task_id: str) -> TaskOutcome | None:
        path = self.task_dir(domain, task_id) / "score.json"
        if not self.is_done(domain, task_id) or not path.is_file():
            return None
        try:
            return TaskOutcome.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            return None

    def prepare(self, domain: str, task_id: str) -> Path:
        """An empty folder for a task about to run (a crashed half-run is removed)."""
        folder = self.task_dir(domain, task_id)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        return folder

    def write(self, outcome: TaskOutcome) -> None:
        """score.json, then result.txt (the finished mark), then one line in scores.jsonl."""
        folder = self.task_dir(outcome.domain, outcome.task_id)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(folder / "score.json", outcome.model_dump_json(indent=2))
        if outcome.score is None:
            return  # not run (unsupported, invalid): nothing scored, nothing to skip on resume
        _write_atomic(folder / "result.txt", f"{outcome.score}\n")
        line = {"task": outcome.key, "status": outcome.status, "score": outcome.score, "time": time.time()}
        with (self.root / "scores.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())


def _longest_repeat(run: RunResult) -> int:
    best = cur = 0
    prev = None
    for step in run.steps:
        if step.action is None or isinstance(step.action, Wait | Finish):
            continue
        cur = cur + 1 if step.action == prev else 1
        prev = step.action
        best = max(best, cur)
    return best


def _clicked_nothing(run: RunResult) -> bool:
    for step in run.steps:
        outcome = step.outcome
        if isinstance(outcome, Blocked):
            element = outcome.element
            if (element is not None and not element.interactive) or "interactive" in outcome.rule:
                return True
    return False


def classify(run: RunResult | None, score: float, infeasible: bool, fail: bool) -> FailureCategory | None:
    """Why a task did not score 1, read from the run's status and steps (None when it did)."""
    if score >= 1.0:
        return None
    if run is None:
        return "error"
    if run.status == "error":
        return "error"
    if run.status == "aborted":
        return "aborted"
    parse_errors = sum(1 for s in run.steps if s.kind == "parse_error")
    if parse_errors and (parse_errors * 2 >= len(run.steps) or run.steps[-1].kind == "parse_error"):
        return "parse_errors"
    if _longest_repeat(run) >= 3:
        return "loop"
    if infeasible:
        return "missed_infeasible"
    if fail:
        return "gave_up"
    if _clicked_nothing(run):
        return "click_on_nothing"
    if run.status == "blocked":
        return "blocked"
    if run.status == "budget":
        return "step_budget"
    return "wrong_final_state"


def _rate(outcomes: list[TaskOutcome]) -> dict[str, Any]:
    scored = [o for o in outcomes if o.score is not None]
    total = sum(o.score or 0.0 for o in scored)
    return {
        "tasks": len(outcomes),
        "scored": len(scored),
        "success": sum(1 for o in scored if (o.score or 0) >= 1.0),
        "score_sum": round(total, 4),
        "success_rate": round(total / len(scored), 4) if scored else None,
        "unsupported": sum(1 for o in outcomes if o.status == "unsupported"),
        "invalid": sum(1 for o in outcomes if o.status == "invalid"),
        "errors": sum(1 for o in outcomes if o.status in ("error", "setup_failed")),
    }


def summarize(outcomes: list[TaskOutcome], suite: str, model: str) -> dict[str, Any]:
    """Per-domain and overall figures; success_rate = mean score over scored tasks (OSWorld's)."""
    domains = sorted({o.domain for o in outcomes})
    feasible = [o for o in outcomes if not o.infeasible]
    infeasible = [o for o in outcomes if o.infeasible]
    failures = Counter(o.category for o in outcomes if o.category)
    return {
        "suite": suite,
        "model": model,
        "overall": _rate(outcomes),
        "feasible": _rate(feasible),
        "infeasible": _rate(infeasible),
        "domains": {d: _rate([o for o in outcomes if o.domain == d]) for d in domains},
        "failures": dict(sorted(failures.items())),
        "not_run": [
            {"task": o.key, "status": o.status, "reason": o.reason}
            for o in outcomes
            if o.status in ("unsupported", "invalid")
        ],
    }
