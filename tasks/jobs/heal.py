"""`--save-healed DIR`: a repaired copy of a job, where every step that needed the model is replaced by
what the model did in its fallback turn (compiled with the same rules as a run), so the next replay
of the changed screen needs no model. The original job folder is never written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from actions.errors import BadInput
from agent.run_folder import load_run
from tasks.jobs.compile import compile_steps
from tasks.jobs.files import write_job
from tasks.jobs.spec import Job, JobStep


def fallback_folders(outcomes: list[tuple[Path, tuple[tuple[int, str], ...]]]) -> dict[int, Path]:
    """Step number -> the first successful fallback run folder for it, from (row folder, [(step,
    fallback folder name)]) pairs in row order."""
    found: dict[int, Path] = {}
    for row_dir, fallbacks in outcomes:
        for number, name in fallbacks:
            found.setdefault(number, row_dir / name)
    return found


def save_healed(job: Job, job_dir: Path, fallbacks: dict[int, Path], dest: Path) -> int:
    """Write the healed job into `dest` (new or empty, never the job's own folder); returns how many
    steps were replaced."""
    if dest.resolve() == job_dir.resolve():
        raise BadInput(f"--save-healed {dest} is the job's own folder: the original is never overwritten")
    if dest.exists() and any(dest.iterdir()):
        raise BadInput(f"--save-healed {dest} is not empty: choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    steps: list[JobStep] = []
    healed = 0
    for number, step in enumerate(job.steps, 1):
        folder = fallbacks.get(number)
        replacement = compile_steps(load_run(folder), dest, prefix=f"healed{number}_") if folder else []
        if replacement:
            healed += 1
            steps.extend(replacement)
            continue
        anchor = step.target.anchor if step.target else None
        if anchor is not None:
            shutil.copy2(job_dir / anchor.image, dest / anchor.image)
        steps.append(step)
    write_job(job.model_copy(update={"steps": tuple(steps)}), dest)
    return healed
