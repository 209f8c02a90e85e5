"""The evaluation harness: run every task of a suite with a model and score it as OSWorld does.

Per task: fresh folders, placeholders filled, sandbox apps reset, setup steps, the agent loop
(agent.loop.run_episode) recording into results/<model>/<domain>/<id>/, postconfig, getters and
metrics. Workers are separate processes, each with its own browser, sandbox server and Xvfb display,
so a crash or a stuck browser never takes the run down; finished tasks are skipped on --resume.

Workers die with the eval and record each outcome exactly once (tasks.pool.workers).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from actions.environment import Environment
from actions.errors import QwenAgentError
from actions.types import Frozen
from model.config import DEFAULT_MODEL, ModelConfig
from model.qwen3vl import DEFAULT_GRID
from tasks.environments import EnvironmentSettings, open_environment
from tasks.eval.results import ResultsDir, TaskOutcome, classify
from tasks.eval.vm_seat import VmSeat
from tasks.osworld.census import LOCAL_SCREEN
from tasks.osworld.context import TaskContext
from tasks.osworld.errors import SetupFailed, Unsupported
from tasks.osworld.scoring import MetricError, ended_with_fail, score_task
from tasks.osworld.setup_steps import run_steps, sandbox_reset
from tasks.osworld.spec import DEFAULT_CLIENT_PASSWORD, TaskEntry, environment_placeholders, resolve_task
from tasks.osworld.vocabulary import Vocabulary
from tasks.pool.workers import run_pool
from tasks.suites import VOCABULARY

Progress = Callable[[str, Any], None]  # ("start", key) / ("done", TaskOutcome)


class EvalConfig(Frozen):
    """One evaluation run. `model`: 'reference', 'scripted:PATH', a hub id or local dir (with
    `endpoint`: the served model name). Steps per task; seconds for MiniWoB's episode limit."""

    suite_name: str
    suite_root: Path
    model: str = DEFAULT_MODEL
    backend: ModelConfig = ModelConfig()  # how to reach `model` when it is not reference/scripted
    out: Path = Path("results")
    run_name: str | None = None
    workers: int = Field(default=1, ge=1, le=64)
    max_steps: int = Field(default=15, ge=1)
    headless: bool = True
    grid: int = Field(default=DEFAULT_GRID, gt=0)
    stuck_after_s: float | None = Field(default=60.0, gt=0)  # agent.watchdog; the task ends as an error
    # OSWorld sleeps 20 s before evaluate(); we wait for the screen to settle, then this long, so a
    # command started by the last keypress (a shell's `sort > file`) has finished writing.
    desktop_score_delay_s: float = Field(default=1.0, ge=0)
    # Consent to run task files' host commands and paths outside the work folder on this machine
    # (tasks.osworld.host_access); without it such tasks are refused before anything runs.
    allow_host_setup: bool = False
    # {CLIENT_PASSWORD} in task files: OSWorld's VM user password ("password" unless overridden).
    client_password: str = Field(
        default_factory=lambda: os.environ.get("QWEN_AGENT_CLIENT_PASSWORD", DEFAULT_CLIENT_PASSWORD)
    )
    # OSWorld VM servers, one per worker (e.g. http://localhost:5000; none: this machine), the user's
    # command that reverts a VM between tasks, and where each VM's Chrome / VLC ports are reachable.
    vm: tuple[str, ...] = ()
    vm_reset: str | None = None
    vm_chromium_port: int = Field(default=9222, gt=0, lt=65536)
    vm_vlc_port: int = Field(default=8080, gt=0, lt=65536)

    @model_validator(mode="after")
    def _one_vm_per_worker(self) -> EvalConfig:
        if self.vm and self.workers > len(self.vm):
            raise ValueError(
                f"{self.workers} workers but {len(self.vm)} VM(s): each worker drives its own VM "
                "(pass --vm once per worker)"
            )
        return self


class _Worker:
    """One worker's long-lived resources, created on first need and closed at the end."""

    def __init__(self, config: EvalConfig, results: ResultsDir) -> None:
        self.config = config
        self.results = results
        self.tmp = Path(tempfile.mkdtemp(prefix="qwen-agent-eval-"))
        self._sandbox: Any = None
        self._display: Any = None
        # One open browser per (viewport, scale), reused across tasks; each with what closes it.
        # (viewport, scale, observed area) -> the open browser and what closes it
        self._browsers: dict[tuple[object, ...], tuple[contextlib.ExitStack, Environment]] = {}
        self._shared_backend: Any = None
        self._vm_seat: VmSeat | None = None

    # ----- resources -------------------------------------------------------------------------
    def sandbox_url(self) -> str:
        if self._sandbox is None:
            from tasks.apps.sandbox.server import SandboxServer

            self._sandbox = SandboxServer(port=0).start()
        return str(self._sandbox.url)

    def vm_seat(self) -> VmSeat:
        """This worker's VM (one per worker, claimed on first use)."""
        if self._vm_seat is None:
            self._vm_seat = VmSeat(
                self.config.vm, self.results.root, self.config.vm_reset,
                self.config.vm_chromium_port, self.config.vm_vlc_port,
            )  # fmt: skip
        return self._vm_seat

    def display(self) -> Any:
        if self._display is None:
            from actions.xdisplay import VirtualDisplay

            self._display = VirtualDisplay(width=1280, height=800).start()
        return self._display

    def browser(self, entry: TaskEntry) -> Environment:
        """This worker's browser for the task's viewport and scale: reset when already open."""
        from playwright.sync_api import Error as PlaywrightError

        viewport = entry.spec.viewport or (1280, 800)
        scale = entry.spec.device_scale_factor or 1.0
        area = entry.spec.observe_area
        key = (viewport, scale, area)
        held = self._browsers.pop(key, None)
        if held is not None:
            stack, env = held
            try:
                env.reset()
                self._browsers[key] = held
                return env
            except (PlaywrightError, QwenAgentError):  # a crashed browser: start a new one
                stack.close()
        settings = EnvironmentSettings(
            kind="browser", headed=not self.config.headless, screen=viewport, device_scale_factor=scale,
            screenshot_frame="device" if scale != 1.0 else "css", observe_area=area,
        )  # fmt: skip
        stack = contextlib.ExitStack()
        env = stack.enter_context(open_environment(settings))
        self._browsers[key] = (stack, env)
        return env

    def backend(self, env: Environment, ctx: TaskContext) -> Any:
        model = self.config.model
        if model == "reference":
            from model.qwen3vl import CoordinateGrid
            from tasks.reference.policy import ReferenceBackend

            # The reference answers on the same grid the parser maps back from.
            return ReferenceBackend(env, ctx.entry.spec, grid=CoordinateGrid(size=self.config.grid))
        if model.startswith("scripted:"):
            from model.scripted import ScriptedBackend

            return ScriptedBackend.from_file(model.removeprefix("scripted:"))
        if self._shared_backend is None:
            from model.factory import create_backend

            self._shared_backend = create_backend(self.config.backend)
        return self._shared_backend

    def record(self, outcome: TaskOutcome) -> None:
        self.results.write(outcome)

    def close(self) -> None:
        for stack, _ in self._browsers.values():
            with contextlib.suppress(Exception):
                stack.close()
        if self._shared_backend is not None:
            self._shared_backend.close()
        if self._vm_seat is not None:
            self._vm_seat.close()
        if self._display is not None:
            self._display.stop()
        if self._sandbox is not None:
            self._sandbox.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ----- one task --------------------------------------------------------------------------
    def run(self, entry: TaskEntry) -> TaskOutcome:
        spec = entry.spec
        base = {"domain": entry.domain, "task_id": spec.id, "infeasible": spec.infeasible}
        folder = self.results.prepare(entry.domain, spec.id)
        work = self.tmp / f"{entry.domain}__{spec.id}"
        shutil.rmtree(work, ignore_errors=True)
        dirs = {name: work / name for name in ("workdir", "downloads", "cache")}
        for d in dirs.values():
            d.mkdir(parents=True)
        started = time.perf_counter()
        ctx: TaskContext | None = None
        desktop = contextlib.ExitStack()  # a desktop environment lives for one task
        try:
            if self.config.vm:
                ctx, vocabulary = self._vm_context(entry, dirs)
            else:
                ctx, vocabulary = self._local_context(entry, dirs, desktop), VOCABULARY
            return self._run_in(ctx, folder, base, started, vocabulary)
        except Unsupported as e:
            return TaskOutcome(**base, status="unsupported", reason=f"unsupported: {e}")
        except SetupFailed as e:
            return TaskOutcome(
                **base, status="setup_failed", score=0.0, reason=str(e), category="setup_failed",
                duration_s=time.perf_counter() - started, notes=list(ctx.notes) if ctx else [],
            )  # fmt: skip
        except Exception as e:
            (folder / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
            return TaskOutcome(
                **base, status="error", score=0.0, reason=f"{type(e).__name__}: {e}", category="error",
                duration_s=time.perf_counter() - started, notes=list(ctx.notes) if ctx else [],
            )  # fmt: skip
        finally:
            if ctx is not None:
                ctx.close()
            desktop.close()
            shutil.rmtree(work, ignore_errors=True)

    def _local_context(
        self, entry: TaskEntry, dirs: dict[str, Path], desktop: contextlib.ExitStack
    ) -> TaskContext:
        """The task on this machine: this worker's browser, or a desktop on its Xvfb display."""
        spec = entry.spec
        needs_sandbox = "{SANDBOX}" in spec.model_dump_json() or any(
            s.type == "sandbox_reset" for s in spec.config
        )
        # The screen the task sees, in px: the browser's viewport, or the local desktop's display.
        screen = (spec.viewport or LOCAL_SCREEN) if spec.env_kind == "browser" else LOCAL_SCREEN
        mapping = {
            "WORKDIR": str(dirs["workdir"]), "DOWNLOADS": str(dirs["downloads"]),
            **environment_placeholders(screen, self.config.client_password),
        }  # fmt: skip
        if needs_sandbox:
            mapping["SANDBOX"] = self.sandbox_url()
        resolved = resolve_task(spec, mapping)
        kind = resolved.env_kind
        if kind == "browser":
            env = self.browser(entry)
            child_env: dict[str, str] = {}
        else:
            display = self.display()
            env = desktop.enter_context(
                open_environment(EnvironmentSettings(kind="desktop", display=display.display))
            )
            child_env = dict(display.env)
        return TaskContext(
            entry=entry.model_copy(update={"spec": resolved}), env=env, env_kind=kind,
            suite_root=self.config.suite_root, workdir=dirs["workdir"], downloads=dirs["downloads"],
            cache_dir=dirs["cache"], sandbox_url=mapping.get("SANDBOX"), child_env=child_env,
        )  # fmt: skip

    def _vm_context(self, entry: TaskEntry, dirs: dict[str, Path]) -> tuple[TaskContext, Vocabulary]:
        """The task on this worker's OSWorld VM (tasks.eval.vm_seat): placeholders from the VM's
        screen and folders made on the VM; set up and scored with OSWorld's own vocabulary."""
        seat = self.vm_seat()
        seat.before_task()
        env = seat.environment()
        vocabulary = seat.vocabulary()
        screen = (env.geometry.width, env.geometry.height)
        mapping = {
            **seat.work_paths(f"{entry.domain}__{entry.spec.id}"),
            **environment_placeholders(screen, self.config.client_password),
        }
        resolved = resolve_task(entry.spec, mapping)
        # Everything happens on the VM's desktop, Chrome included: its getters reach the VM's
        # Chrome over the debugging port, not our browser.
        ctx = TaskContext(
            entry=entry.model_copy(update={"spec": resolved}), env=env, env_kind="desktop",
            suite_root=self.config.suite_root, workdir=dirs["workdir"], downloads=dirs["downloads"],
            cache_dir=dirs["cache"],
        )  # fmt: skip
        ctx.data["vm"] = seat.address(dirs["cache"])
        if self.config.vm_reset is None and seat.tasks_run > 1:
            ctx.notes.append(
                "the VM was not reset before this task (no --vm-reset): it starts from the last one's state"
            )
        return ctx, vocabulary

    def _run_in(
        self, ctx: TaskContext, folder: Path, base: dict[str, Any], started: float, vocabulary: Vocabulary
    ) -> TaskOutcome:
        from agent.loop import run_episode
        from agent.options import AgentOptions
        from model.qwen3vl import ProtocolSettings

        spec = ctx.entry.spec
        if ctx.env_kind == "browser":
            ctx.watch_downloads()
            from tasks.apps.sandbox.server import APP_NAMES

            for app in spec.related_apps:
                if app in APP_NAMES and ctx.sandbox_url:
                    sandbox_reset(ctx, app=app)
        run_steps(ctx, list(spec.config), vocabulary.setup_steps)
        ctx.env.settle()  # the first screenshot shows the set-up's result, not its middle
        instruction = ctx.instruction or spec.instruction
        backend = self.backend(ctx.env, ctx)
        options = AgentOptions(
            max_steps=self.config.max_steps,
            confirm="never",
            protocol=_protocol(ProtocolSettings, self.config),
            stuck_after_s=self.config.stuck_after_s,
        )
        run = run_episode(instruction, ctx.env, backend, options, record_dir=folder)
        if ctx.env_kind == "desktop":
            ctx.env.settle()
            time.sleep(self.config.desktop_score_delay_s)
        try:
            score = score_task(spec, ctx, run, vocabulary)
        except MetricError as e:
            return TaskOutcome(
                **base, status="error", score=0.0, reason=f"evaluator error: {e}", category="error",
                instruction=instruction, run_status=run.status, steps=len(run.steps),
                duration_s=time.perf_counter() - started, notes=ctx.notes,
            )  # fmt: skip
        fail = ended_with_fail(run)
        return TaskOutcome(
            **base, status="scored", score=score.value, reason=score.reason,
            category=classify(run, score.value, spec.infeasible, fail), instruction=instruction,
            run_status=run.status, steps=len(run.steps),
            parse_errors=sum(1 for s in run.steps if s.kind == "parse_error"),
            duration_s=time.perf_counter() - started,
            metrics=[m.model_dump() for m in score.metrics], notes=ctx.notes,
            extra=dict(ctx.data.get("report", {})),
        )  # fmt: skip


def _protocol(settings_cls: Any, config: EvalConfig) -> Any:
    if config.grid == DEFAULT_GRID:
        return settings_cls()
    from model.qwen3vl import CoordinateGrid

    return settings_cls(grid=CoordinateGrid(size=config.grid))


def _eval_worker(config: tuple[EvalConfig, Path]) -> _Worker:
    """A worker process's worker (tasks.pool.workers): its outcomes go to the results folder."""
    eval_config, results_root = config
    return _Worker(eval_config, ResultsDir(results_root))


def _lost_task(entry: TaskEntry, results: ResultsDir, exitcode: int | None) -> TaskOutcome:
    """The outcome of a task whose worker died: the run's own reason when it recorded one (a stuck
    step ends its process with exit 4 after writing result.json), else the exit code."""
    reason = f"the worker process died during this task (exit code {exitcode})"
    with contextlib.suppress(OSError, ValueError, AttributeError):
        recorded = json.loads((results.task_dir(entry.domain, entry.spec.id) / "result.json").read_text())
        if recorded.get("status") == "error" and recorded.get("answer"):
            reason = f"infrastructure error: {recorded['answer']}"
    return TaskOutcome(
        domain=entry.domain, task_id=entry.spec.id, status="error", score=0.0, reason=reason,
        category="error", infeasible=entry.spec.infeasible,
    )  # fmt: skip


def _record_lost(entry: TaskEntry, results: ResultsDir, exitcode: int | None) -> TaskOutcome:
    """Record a task whose worker died, unless the worker recorded it just before: one score each."""
    recorded = results.load(entry.domain, entry.spec.id)
    if recorded is not None:
        return recorded
    outcome = _lost_task(entry, results, exitcode)
    results.write(outcome)
    return outcome


def run_tasks(
    entries: list[TaskEntry], config: EvalConfig, results: ResultsDir, progress: Progress
) -> list[TaskOutcome]:
    """Run the entries (none finished yet) on `config.workers` worker processes (tasks.pool.workers);
    returns their outcomes. A worker that dies (a crash, or a stuck step's watchdog) costs only its
    current task, recorded as an infrastructure error; a fresh worker takes its place."""
    return run_pool(
        entries,
        _eval_worker,
        (config, results.root),
        results.root,
        config.workers,
        lambda entry, exitcode: _record_lost(entry, results, exitcode),
        progress,
    )
