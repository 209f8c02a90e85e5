"""Finding the saved runs a re-score reads: run folders given directly, or found under folders that hold
them (an eval results folder `results/<model>/<domain>/<id>/`, a `runs/` folder of `qwen-agent run`).

Only successful runs are re-scored: their recorded actions are known to lead to the goal, so they are
a fair answer key. An eval task folder counts when its score.json says score 1 (an infeasible task the
agent rightly declined scores 1 too); a plain run folder when its result.json says status `success`.
Every other folder is skipped and counted with the reason. A folder that should be read but cannot be
(a damaged traj.jsonl, a missing screenshot or run.json) is an error naming it: a re-score over part
of the runs would report a figure nobody asked for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from actions.errors import BadInput
from actions.types import Frozen
from agent.run_folder import RESULT_FILE, TRAJ_FILE, RecordedRun, RunFolderError, load_run
from agent.trajectory import Step
from tasks.eval.results import TaskOutcome

SCORE_FILE = "score.json"  # tasks.eval.results writes it beside the run folder's own files
MARKERS = (TRAJ_FILE, SCORE_FILE, RESULT_FILE)  # any of them makes a folder a run (or a task) folder


class RescoreInputError(BadInput):
    """A folder given (or found) cannot be read as a saved run; the message names it. Exit code 2."""


class SkippedRun(Frozen):
    """A run left out, and why (`why` is short and shared by like runs, so it can be counted)."""

    key: str
    folder: Path
    why: str


class SavedRun(BaseModel):
    """A successful run to re-score: `key` names it in the results (its path below the folder given)."""

    model_config = ConfigDict(frozen=True)

    key: str
    run: RecordedRun

    @property
    def folder(self) -> Path:
        return self.run.folder

    @property
    def scored_steps(self) -> tuple[Step, ...]:
        """The steps a re-score asks about: every action step with its action. Parse errors have no
        recorded action to agree with; plans and explanations are no turns (they still shape the
        prompts after them)."""
        return tuple(s for s in self.run.steps if s.kind == "action" and s.action is not None)


class SavedRuns(BaseModel):
    """What `find_runs` found in `paths`: the runs to re-score and those left out."""

    model_config = ConfigDict(frozen=True)

    paths: tuple[Path, ...]
    runs: tuple[SavedRun, ...]
    skipped: tuple[SkippedRun, ...]


def _is_run_folder(folder: Path) -> bool:
    return any((folder / name).is_file() for name in MARKERS)


def _run_folders(root: Path) -> Iterator[Path]:
    """`root` when it is a run folder, else every run folder below it (sorted, hidden folders such as
    an eval's half-removed `.x.removed-*` left out; nothing below a run folder is looked at)."""
    if _is_run_folder(root):
        yield root
        return
    for here, dirs, _files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        folder = Path(here)
        if folder != root and _is_run_folder(folder):
            dirs.clear()
            yield folder


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RescoreInputError(f"{path} cannot be read as JSON ({e})") from e


def _why_not(folder: Path) -> str | None:
    """Why the run in `folder` is not a successful one (None: it is)."""
    score_path = folder / SCORE_FILE
    if score_path.is_file():
        try:
            outcome = TaskOutcome.model_validate(_read_json(score_path))
        except ValidationError as e:
            raise RescoreInputError(f"{score_path} is not an eval score ({e.errors()[0]['msg']})") from e
        if outcome.score is None:
            return f"eval task not run ({outcome.status})"
        if outcome.score < 1.0:
            tag = "" if outcome.status == "scored" else f" ({outcome.status})"
            return f"eval score {outcome.score:g}{tag}"
        return None
    result_path = folder / RESULT_FILE
    if not result_path.is_file():
        return f"unfinished (no {RESULT_FILE})"
    result = _read_json(result_path)
    status = result.get("status") if isinstance(result, dict) else None
    if not isinstance(status, str):
        raise RescoreInputError(f"{result_path} has no run status")
    return None if status == "success" else f"run status {status}"


def _checked(folder: Path) -> RecordedRun:
    """The run in `folder`, with every screenshot a re-score will open present."""
    try:
        run = load_run(folder)
    except RunFolderError as e:
        raise RescoreInputError(f"{folder}: not a readable run folder: {e}") from e
    except (ValueError, KeyError, TypeError, ValidationError) as e:
        raise RescoreInputError(f"{folder}: not a readable run folder ({type(e).__name__}: {e})") from e
    if run.torn_tail:
        raise RescoreInputError(f"{folder}: the last line of {TRAJ_FILE} is cut off, yet the run finished")
    for step in run.steps:
        if step.kind != "action":
            continue
        shot = run.screenshot(step)
        if shot is None or not shot.is_file():
            raise RescoreInputError(f"{folder}: step {step.index} has no screenshot ({step.screenshot})")
        if step.geometry is None:
            raise RescoreInputError(f"{folder}: step {step.index} does not record its screen geometry")
    return run


def _key(root: Path, folder: Path) -> str:
    return folder.name if folder == root else folder.relative_to(root).as_posix()


def find_runs(paths: Sequence[Path]) -> SavedRuns:
    """The successful runs in `paths` (run folders or folders holding them) and those skipped.

    Raises RescoreInputError (exit 2) for a path that does not exist or holds no run folder, and for
    a successful run that cannot be read (naming the folder and what is wrong)."""
    runs: list[SavedRun] = []
    skipped: list[SkippedRun] = []
    seen: set[str] = set()
    for root in paths:
        if not root.is_dir():
            raise RescoreInputError(f"{root} is not a folder (give run folders or folders holding them)")
        folders = list(_run_folders(root))
        if not folders:
            raise RescoreInputError(f"{root} holds no run folder (none below it has {', '.join(MARKERS)})")
        for folder in folders:
            key = _key(root, folder)
            key = key if key not in seen else str(folder)  # two roots with like layouts
            seen.add(key)
            why = _why_not(folder)
            if why is not None:
                skipped.append(SkippedRun(key=key, folder=folder, why=why))
                continue
            runs.append(SavedRun(key=key, run=_checked(folder)))
    return SavedRuns(paths=tuple(paths), runs=tuple(runs), skipped=tuple(skipped))
