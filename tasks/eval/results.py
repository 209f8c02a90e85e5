"""The results folder in OSWorld's layout, resume bookkeeping, failure categories and summary.json.

results/<model>/<domain>/<id>/ holds the run folder (traj.jsonl, step_<n>.png, result.json,
report.html from the agent's recorder) plus ours: score.json (the outcome) and result.txt (the score,
OSWorld's finished mark). What makes a task finished is its line in results/<model>/scores.jsonl,
appended with one write after score.json: a task with a line is skipped on --resume, a task without
one runs again, so a run killed at any instant scores each task exactly once. Readers ignore a torn
last line. Folders and lines change only under the results folder's lock (tasks.pool.lock), and a
task folder is never removed while the worker that prepared it is alive.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from actions.errors import QwenAgentError
from actions.processes import process_alive, process_start_time
from actions.types import Blocked, Finish, Wait
from agent.trajectory import RunResult
from tasks.pool.jsonl import append_line, read_lines

SCORES = "scores.jsonl"


def owner_file(folder: Path) -> Path:
    """Beside a task folder (its own contents stay OSWorld's): "<pid> <start time>" of the process
    that prepared it."""
    return folder.with_name(f".{folder.name}.worker")


TaskStatus = Literal["scored", "setup_failed", "error", "unsupported", "refused", "invalid"]
ERROR_STATUSES = frozenset({"error", "setup_failed"})
"""Infrastructure errors (setup failed, a getter or metric raised, a dead worker, an unreachable VM):
not the model's doing, so they stay out of the success rate, are counted beside it, and run again with
--retry-errors. Their record keeps score 0.0 so that scores.jsonl marks them finished (resume)."""
NOT_RUN_STATUSES = frozenset({"unsupported", "refused", "invalid"})
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
    score: float | None = None  # None: not run (unsupported, refused, invalid)
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


class FolderInUse(QwenAgentError):
    """A task folder that a live process (another run's worker) is still writing."""


def _owner(folder: Path) -> int | None:
    """The live process, other than us, that prepared `folder` for a task; None when there is none."""
    try:
        pid_text, started = owner_file(folder).read_text(encoding="utf-8").split()
        pid = int(pid_text)
        start_time = int(started) if started != "-" else None
    except (OSError, ValueError):
        return None
    if pid == os.getpid() or not process_alive(pid, start_time):
        return None
    return pid


def _remove(folder: Path) -> None:
    """Move the folder aside at once (one rename), then delete it: the path is free immediately."""
    trash = folder.with_name(f".{folder.name}.removed-{os.getpid()}-{time.monotonic_ns()}")
    os.rename(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


class ResultsDir:
    """results/<model>/: per-task folders, scores.jsonl (append-only log), summary.json, report.html."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @property
    def scores_path(self) -> Path:
        return self.root / SCORES

    def task_dir(self, domain: str, task_id: str) -> Path:
        return self.root / domain / task_id

    def scored(self) -> dict[str, dict[str, Any]]:
        """Finished tasks: key -> its score line (the last one, should a task have several)."""
        return {
            str(line["task"]): line
            for line in read_lines(self.scores_path)
            if isinstance(line.get("task"), str) and isinstance(line.get("score"), int | float)
        }

    def is_done(self, domain: str, task_id: str) -> bool:
        return f"{domain}/{task_id}" in self.scored()

    def load(self, domain: str, task_id: str, line: dict[str, Any] | None = None) -> TaskOutcome | None:
        """A finished task's outcome (None when it has no score line). score.json is written before
        the line; should it be gone, the line stands in for it. A result.txt that a kill prevented
        is written here."""
        line = line if line is not None else self.scored().get(f"{domain}/{task_id}")
        if line is None:
            return None
        folder = self.task_dir(domain, task_id)
        try:
            outcome = TaskOutcome.model_validate_json((folder / "score.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            outcome = TaskOutcome(
                domain=domain, task_id=task_id, status=line.get("status", "scored"), score=line["score"],
                reason="(score.json is missing; the score is scores.jsonl's)",
            )  # fmt: skip
        if outcome.score is not None and not (folder / "result.txt").is_file() and folder.is_dir():
            _write_atomic(folder / "result.txt", f"{outcome.score}\n")
        return outcome

    def repair(self) -> None:
        """Cut a torn last line off scores.jsonl, so that the next append starts a line of its own.
        Only while holding the folder's lock, with no worker running."""
        with contextlib.suppress(FileNotFoundError), self.scores_path.open("r+b") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)

    def forget(self, keys: set[str]) -> None:
        """Drop these tasks' lines (--fresh runs them again). Only while holding the folder's lock,
        with no worker running."""
        lines = read_lines(self.scores_path)
        kept = [x for x in lines if x.get("task") not in keys]
        if len(kept) != len(lines):
            _write_atomic(self.scores_path, "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in kept))

    def prepare(self, domain: str, task_id: str) -> Path:
        """An empty folder for a task about to run, marked as ours. A half-run left by a dead process
        is removed; one whose process is alive raises FolderInUse (never removed under it)."""
        folder = self.task_dir(domain, task_id)
        owner = _owner(folder)
        if owner is not None:
            raise FolderInUse(f"{folder} is still being written by process {owner}; not removing it")
        folder.parent.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        started = process_start_time(pid)
        _write_atomic(owner_file(folder), f"{pid} {'-' if started is None else started}\n")
        if folder.exists():
            _remove(folder)
        folder.mkdir()
        return folder

    def write(self, outcome: TaskOutcome) -> None:
        """score.json, then one line in scores.jsonl (the task is finished from then on), then
        result.txt (OSWorld's mark); the folder's owner mark goes. Raises FolderInUse when another
        live process owns the folder."""
        folder = self.task_dir(outcome.domain, outcome.task_id)
        folder.mkdir(parents=True, exist_ok=True)
        owner = _owner(folder)
        if owner is not None:
            raise FolderInUse(f"{folder} is still being written by process {owner}; not writing its score")
        _write_atomic(folder / "score.json", outcome.model_dump_json(indent=2))
        if outcome.score is not None:  # else not run (unsupported, refused, invalid): nothing to skip
            self._commit(outcome, folder)
        owner_file(folder).unlink(missing_ok=True)  # finished: nobody writes it any more

    def _commit(self, outcome: TaskOutcome, folder: Path) -> None:
        line = {
            "task": outcome.key, "domain": outcome.domain, "task_id": outcome.task_id,
            "status": outcome.status, "score": outcome.score, "time": time.time(), "pid": os.getpid(),
        }  # fmt: skip
        append_line(self.scores_path, line)
        _write_atomic(folder / "result.txt", f"{outcome.score}\n")


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
    """Figures of a group of tasks: success_rate is the mean score over the tasks the model was scored
    on (status "scored"); infrastructure errors, refused, unsupported and invalid tasks are counted
    apart and never lower it."""
    scored = [o for o in outcomes if o.status == "scored"]
    total = sum(o.score or 0.0 for o in scored)
    return {
        "tasks": len(outcomes),
        "scored": len(scored),
        "success": sum(1 for o in scored if (o.score or 0) >= 1.0),
        "score_sum": round(total, 4),
        "success_rate": round(total / len(scored), 4) if scored else None,
        "unsupported": sum(1 for o in outcomes if o.status == "unsupported"),
        "refused": sum(1 for o in outcomes if o.status == "refused"),
        "invalid": sum(1 for o in outcomes if o.status == "invalid"),
        "errors": sum(1 for o in outcomes if o.status in ERROR_STATUSES),
    }


def summarize(outcomes: list[TaskOutcome], suite: str, model: str) -> dict[str, Any]:
    """Per-domain and overall figures; success_rate = mean score over scored tasks (OSWorld's figure,
    without infrastructure errors: "errors" counts them, "error_tasks" gives each one's reason)."""
    domains = sorted({o.domain for o in outcomes})
    feasible = [o for o in outcomes if not o.infeasible]
    infeasible = [o for o in outcomes if o.infeasible]
    failures = Counter(o.category for o in outcomes if o.category and o.status == "scored")  # the model's
    return {
        "suite": suite,
        "model": model,
        "overall": _rate(outcomes),
        "feasible": _rate(feasible),
        "infeasible": _rate(infeasible),
        "domains": {d: _rate([o for o in outcomes if o.domain == d]) for d in domains},
        "failures": dict(sorted(failures.items())),
        "errors": sum(1 for o in outcomes if o.status in ERROR_STATUSES),
        "error_tasks": [
            {"task": o.key, "status": o.status, "category": o.category, "reason": o.reason}
            for o in outcomes
            if o.status in ERROR_STATUSES
        ],
        "not_run": [
            {"task": o.key, "status": o.status, "reason": o.reason}
            for o in outcomes
            if o.status in NOT_RUN_STATUSES
        ],
    }
