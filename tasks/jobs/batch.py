"""A job over many rows: worker processes (tasks.pool.workers), each with its own browser or display, a
results folder that records every row exactly once, and a summary (results.csv, summary.html).

The folder (`--out`): results.jsonl (one line per finished row: the row's finished mark, appended
with one write), rows/<key>/ (the row's journal, fallback run folders, the screenshot of a failed
row), results.csv and summary.html (rewritten at the end). A row is finished when it has its line;
`--resume` runs only the others. A row that had begun acting when its batch died is not run again
(its first steps may have taken effect, such as a submitted form): it is recorded `needs_human`.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field

from actions.environment import Environment
from actions.errors import BadInput, QwenAgentError
from actions.types import Frozen
from agent.options import AgentOptions
from model.config import ModelConfig
from tasks.environments import EnvironmentSettings, open_environment
from tasks.jobs.files import load_job
from tasks.jobs.outcomes import RowOutcome, row_folder, totals
from tasks.jobs.replay import Replayer, RowResult
from tasks.jobs.rows import Row
from tasks.jobs.spec import Job
from tasks.pool.jsonl import append_line, read_lines
from tasks.pool.lock import run_lock
from tasks.pool.workers import run_pool

RESULTS = "results.jsonl"
JOURNAL = "journal.jsonl"  # in a row's folder: one line per step begun


class BatchConfig(Frozen):
    """One batch: the job, where results go, and how rows run (see `qwen-agent job run --help`)."""

    job_dir: Path
    out: Path
    model: ModelConfig | None = None  # the fallback model; None: a step the replay cannot do fails
    workers: int = Field(default=1, ge=1, le=32)
    approve_risky: bool = False
    url: str | None = None  # replaces the job's start page (e.g. the same app on another port)
    device_scale_factor: float | None = Field(default=None, gt=0)  # browser: replay at another scale
    headless: bool = True
    options: AgentOptions = AgentOptions()  # the fallback turns' options
    halt_on_error: bool = False  # no new row starts after one that did not end `done`


def environment_settings(job: Job, config: BatchConfig) -> EnvironmentSettings:
    """How to open the job's environment for a row (the recorded screen size and start state)."""
    start = job.start
    if start.environment == "browser":
        scale = config.device_scale_factor or start.scale
        return EnvironmentSettings(
            kind="browser",
            screen=(start.width, start.height),
            url=config.url or start.url,
            headed=not config.headless,
            device_scale_factor=scale,
            screenshot_frame="device" if scale != 1.0 else "css",
        )
    return EnvironmentSettings(
        kind="desktop", screen=(start.width, start.height), xvfb=True, launch=start.launch
    )


class _RowWorker:
    """One worker process's resources: the job, a browser kept across rows (reset per row), the
    fallback model, created on first need."""

    def __init__(self, config: BatchConfig) -> None:
        self.config = config
        self.job = load_job(config.job_dir)
        self.settings = environment_settings(self.job, config)
        self._stack = contextlib.ExitStack()
        self._env: Environment | None = None
        self._backend: Any = None

    def environment(self, stack: contextlib.ExitStack) -> Environment:
        """The browser for the next row (a fresh context at the start page), or a fresh desktop
        (a new display with the job's programs launched) owned by `stack`."""
        if self.settings.kind == "desktop":
            return stack.enter_context(open_environment(self.settings))
        if self._env is None:
            self._env = self._stack.enter_context(open_environment(self.settings))
        else:
            self._env.reset()
        return self._env

    def backend(self) -> Any:
        if self.config.model is None:
            return None
        if self._backend is None:
            from model.factory import create_backend

            self._backend = create_backend(self.config.model)
        return self._backend

    def run(self, row: Row) -> RowOutcome:
        folder = row_folder(row.key)
        row_dir = self.config.out / folder
        if row_dir.exists():
            import shutil

            shutil.rmtree(row_dir)  # a row never begun: leftovers of a run that died before acting
        row_dir.mkdir(parents=True)
        journal = row_dir / JOURNAL
        try:
            with contextlib.ExitStack() as stack:
                env = self.environment(stack)
                replayer = Replayer(
                    self.job,
                    self.config.job_dir,
                    env,
                    row.values,
                    row_dir,
                    self.backend(),
                    self.config.options,
                    self.config.approve_risky,
                    on_step=lambda n: append_line(journal, {"step": n, "at": time.time()}),
                    start_url=self.settings.url,
                )
                result = replayer.run()
        except QwenAgentError as e:
            result = RowResult(status="failed", reason=f"{type(e).__name__}: {e}")
        return RowOutcome.of(row, result, folder)

    def record(self, outcome: RowOutcome) -> None:
        append_line(self.config.out / RESULTS, outcome.model_dump(mode="json"))

    def close(self) -> None:
        self._stack.close()
        if self._backend is not None:
            self._backend.close()


def _row_worker(config: BatchConfig) -> _RowWorker:
    return _RowWorker(config)


def _lost(config: BatchConfig, row: Row, exitcode: int | None) -> RowOutcome:
    """A row whose worker died: recorded (unless the worker did just before), never run again."""
    done = finished(config.out)
    if row.key in done:
        return done[row.key]
    begun = read_lines(config.out / row_folder(row.key) / JOURNAL)
    where = f"at step {begun[-1]['step']}" if begun else "before its first step"
    outcome = RowOutcome(
        key=row.key,
        line=row.line,
        status="needs_human" if begun else "failed",
        reason=f"the worker process died {where} (exit code {exitcode}); check the app before rerunning it",
    )
    append_line(config.out / RESULTS, outcome.model_dump(mode="json"))
    return outcome


def finished(out: Path) -> dict[str, RowOutcome]:
    """Rows with their line in results.jsonl (the last line of a key, should there be several)."""
    outcomes: dict[str, RowOutcome] = {}
    for line in read_lines(out / RESULTS):
        with contextlib.suppress(ValueError, TypeError):
            outcome = RowOutcome.model_validate(line)
            outcomes[outcome.key] = outcome
    return outcomes


def interrupted(out: Path, row: Row) -> RowOutcome | None:
    """A row a dead batch had begun acting on (its journal has a step): never re-run blindly."""
    begun = read_lines(out / row_folder(row.key) / JOURNAL)
    if not begun:
        return None
    return RowOutcome(
        key=row.key,
        line=row.line,
        status="needs_human",
        reason=f"an earlier batch stopped during this row (at step {begun[-1]['step']}); its first "
        "steps may have taken effect: check the app, then run the row again on its own",
    )


Progress = Callable[[str, Any], None]


def run_batch(
    rows: list[Row], config: BatchConfig, progress: Progress, resume: bool = False
) -> list[RowOutcome]:
    """Every row exactly once (the finished ones skipped with `resume`); returns all rows' outcomes
    in row order and writes results.csv and summary.html."""
    config.out.mkdir(parents=True, exist_ok=True)
    with run_lock(config.out, "qwen-agent job run", "--out"):
        done = finished(config.out)
        if done and not resume:
            raise BadInput(
                f"{config.out} already holds {len(done)} finished row(s): pass --resume to run only the "
                "others, or choose another --out"
            )
        outcomes: dict[str, RowOutcome] = {}
        pending: list[Row] = []
        for row in rows:
            if row.key in done:
                outcomes[row.key] = done[row.key]
                progress("skip", done[row.key])
            elif (stopped := interrupted(config.out, row)) is not None:
                append_line(config.out / RESULTS, stopped.model_dump(mode="json"))
                outcomes[row.key] = stopped
                progress("done", stopped)
            else:
                pending.append(row)
        halt = _not_done if config.halt_on_error else None
        lost = functools.partial(_lost, config)
        ran = run_pool(pending, _row_worker, config, config.out, config.workers, lost, progress, halt)
        for outcome in ran:
            outcomes[outcome.key] = outcome
    ordered = [outcomes[r.key] for r in rows if r.key in outcomes]  # --halt-on-error leaves some out
    write_summary(config.out, ordered)
    return ordered


def _not_done(outcome: RowOutcome) -> bool:
    return outcome.status != "done"


def healed_from(job: Job, config: BatchConfig, outcomes: list[RowOutcome], dest: Path) -> int:
    """`--save-healed`: the job with each step the model had to do replaced by what it did (the
    first row where that worked); returns how many steps were replaced."""
    from tasks.jobs.heal import fallback_folders, save_healed

    pairs = [
        (
            config.out / row_folder(o.key),
            tuple((s.number, s.fallback_dir) for s in o.steps if s.fallback_dir and s.ok),
        )
        for o in outcomes
    ]
    return save_healed(job, config.job_dir, fallback_folders(pairs), dest)


CSV_COLUMNS = ("key", "status", "reason", "fallbacks", "model_calls", "seconds", "screenshot")


def write_summary(out: Path, outcomes: list[RowOutcome]) -> None:
    """results.csv (one row per row) and summary.html beside results.jsonl."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for o in outcomes:
        writer.writerow(
            [
                o.key,
                o.status,
                o.reason or "",
                o.fallbacks,
                o.model_calls,
                f"{o.seconds:.2f}",
                o.screenshot or "",
            ]
        )
    (out / "results.csv").write_text(text.getvalue(), encoding="utf-8")
    from tasks.jobs.summary import summary_html

    (out / "summary.html").write_text(summary_html(outcomes), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(totals(outcomes), indent=2) + "\n", encoding="utf-8")
