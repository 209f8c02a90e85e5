"""`qwen-agent run "INSTRUCTION"`: run the agent on the desktop or in a browser, with a live progress
view, a recorded run folder, and an exit code scripts can branch on (tasks.cli_common.ExitCode).
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from actions.processes import stop_process
from tasks.cli_common import STUCK_AFTER_DEFAULT, ExitCode, StuckAfterOpt
from tasks.cli_model import (
    DEFAULT_MODEL,
    ApiKeyEnvOpt,
    AttnOpt,
    DeviceMapOpt,
    DtypeOpt,
    EndpointOpt,
    ImageFormatOpt,
    ModelOpt,
    RetriesOpt,
    TimeoutOpt,
    model_config,
)

if TYPE_CHECKING:
    from actions.environment import Environment
    from agent.trajectory import RunResult

PIXELS_DEFAULT = 12_845_056  # Qwen's cookbook default (model.qwen3vl.PixelBudget)

EXIT_FOR_STATUS = {
    "success": ExitCode.SUCCESS,
    "failure": ExitCode.FAILURE,
    "budget": ExitCode.FAILURE,
    "blocked": ExitCode.BLOCKED,
    "aborted": ExitCode.ABORTED,
    "error": ExitCode.ERROR,
}


def exit_code(result: RunResult, dry_run: bool = False) -> ExitCode:
    """The process exit code of a run (a dry run that planned its action counts as success)."""
    if dry_run and result.status == "aborted" and result.steps:
        return ExitCode.SUCCESS
    return EXIT_FOR_STATUS[result.status]


def default_record_dir() -> Path:
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


@contextlib.contextmanager
def _desktop(
    xvfb: bool, display: str | None, monitor: int, launch: list[str], hotkey: bool
) -> Iterator[tuple[Environment, str | None]]:
    from actions.desktop import DesktopEnvironment, DesktopOptions

    with contextlib.ExitStack() as stack:
        env_vars: dict[str, str] = {}
        if xvfb:
            from actions.xdisplay import VirtualDisplay

            vd = stack.enter_context(VirtualDisplay(1280, 800))
            display, env_vars = vd.display, dict(vd.env)
        elif display:
            env_vars = {"DISPLAY": display}
        for command in launch:
            import os

            proc = subprocess.Popen(shlex.split(command), env={**os.environ, **env_vars})
            stack.callback(stop_process, proc)
        env = stack.enter_context(DesktopEnvironment(DesktopOptions(display=display, monitor=monitor)))
        if launch:
            _wait_for_settle(env)
        yield env, display if hotkey else None


def _wait_for_settle(env: Environment) -> None:
    """Give launched apps time to map their windows: wait until two screenshots agree."""
    import time

    from agent.detection import screen_changed, signature

    previous = signature(env.observe().image)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.3)
        current = signature(env.observe().image)
        if not screen_changed(previous, current, 0.0) and len(set(current)) > 1:
            return
        previous = current


@contextlib.contextmanager
def _browser(
    url: str | None, headed: bool, allow: list[str], deny: list[str]
) -> Iterator[tuple[Environment, str | None]]:
    from actions.browser import BrowserEnvironment, BrowserOptions

    with contextlib.ExitStack() as stack:
        if url is None:
            from tasks.sandbox.server import SandboxServer

            server = stack.enter_context(SandboxServer(port=0))
            url = server.app_url("flights")
            typer.echo(f"no --url given: using the sandbox flights app at {url}", err=True)
        options = BrowserOptions(
            start_url=url, headless=not headed, allow_domains=tuple(allow), deny_domains=tuple(deny)
        )
        env = stack.enter_context(BrowserEnvironment(options))
        yield env, None


def run_command(
    instruction: Annotated[str, typer.Argument(help="What to do, in plain words.")],
    env_kind: Annotated[
        Literal["desktop", "browser"],
        typer.Option("--env", help="Act on the X desktop or in a Chromium page."),
    ] = "browser",
    url: Annotated[
        str | None, typer.Option(help="Browser start page (default: the sandbox flights app).")
    ] = None,
    model: ModelOpt = DEFAULT_MODEL,
    endpoint: EndpointOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    dtype: DtypeOpt = "auto",
    device_map: DeviceMapOpt = "auto",
    attn_implementation: AttnOpt = "auto",
    timeout: TimeoutOpt = 120.0,
    max_retries: RetriesOpt = 3,
    image_format: ImageFormatOpt = "png",
    max_steps: Annotated[int, typer.Option(min=1, help="Step budget.")] = 15,
    max_seconds: Annotated[float | None, typer.Option(min=1, help="Time budget in seconds.")] = None,
    stuck_after: StuckAfterOpt = STUCK_AFTER_DEFAULT,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Draw the first planned action; execute nothing.")
    ] = False,
    confirm: Annotated[bool, typer.Option("--confirm", help="Ask before every action.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Never ask, not even before risky actions (buy, delete...).")
    ] = False,
    record_dir: Annotated[Path | None, typer.Option(help="Run folder (default runs/<timestamp>).")] = None,
    thinking: Annotated[bool, typer.Option("--thinking", help="The model is a Thinking edition.")] = False,
    plan: Annotated[
        bool, typer.Option("--plan/--no-plan", help="Ask for a plan of sub-goals first.")
    ] = False,
    history_images: Annotated[int, typer.Option(min=0, help="Recent screenshots sent as images.")] = 4,
    max_pixels: Annotated[
        int, typer.Option(min=4096, help="Largest screenshot area the model sees (model pixels).")
    ] = PIXELS_DEFAULT,
    max_new_tokens: Annotated[int, typer.Option(min=1, help="Reply token budget per step.")] = 512,
    grid: Annotated[
        int, typer.Option(min=1, help="Coordinate grid the model answers on (1000; 999 as OSWorld's agent).")
    ] = 1000,
    xvfb: Annotated[
        bool, typer.Option("--xvfb", help="Desktop: start a private virtual display for the run.")
    ] = False,
    display: Annotated[str | None, typer.Option(help="Desktop: X display (default $DISPLAY).")] = None,
    monitor: Annotated[int, typer.Option(min=0, help="Desktop: monitor number (0 = all).")] = 1,
    launch: Annotated[
        list[str] | None, typer.Option(help="Desktop: a command to start on the display first.")
    ] = None,
    headed: Annotated[bool, typer.Option("--headed", help="Browser: show the window.")] = False,
    allow_domain: Annotated[
        list[str] | None, typer.Option(help="Browser: only these domains may load (repeatable).")
    ] = None,
    deny_domain: Annotated[
        list[str] | None, typer.Option(help="Browser: these domains never load (repeatable).")
    ] = None,
    hotkey: Annotated[
        bool, typer.Option("--hotkey/--no-hotkey", help="Desktop: Ctrl+Alt+Shift+Q stops the run.")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress view.")] = False,
) -> None:
    """Run the agent on a task. Exit codes: 0 success, 1 failure, 3 blocked, 4 error, 130 stopped."""
    from actions.killswitch import KillSwitch
    from actions.safety import ConsoleConfirmer
    from agent.loop import run_episode
    from agent.options import AgentOptions
    from agent.progress import ConsoleProgress
    from model.factory import create_backend
    from model.qwen3vl import CoordinateGrid, PixelBudget, ProtocolSettings

    if confirm and yes:
        raise typer.BadParameter("--confirm and --yes contradict each other; choose one")
    options = AgentOptions(
        max_steps=max_steps,
        max_seconds=max_seconds,
        stuck_after_s=stuck_after or None,
        history_images=history_images,
        dry_run=dry_run,
        confirm="always" if confirm else "never" if yes else "risky",
        thinking=thinking,
        plan=plan,
        protocol=ProtocolSettings(
            grid=CoordinateGrid(size=grid),
            pixels=PixelBudget(max_pixels=max_pixels),
            max_new_tokens=max_new_tokens,
        ),
    )
    folder = record_dir or default_record_dir()
    config = model_config(
        model, endpoint, api_key_env, dtype, device_map, attn_implementation, timeout, max_retries,
        image_format, max_pixels,
    )  # fmt: skip
    backend = create_backend(config)
    observers = [] if quiet else [ConsoleProgress(max_steps=max_steps)]
    try:
        opened = (
            _desktop(xvfb, display, monitor, launch or [], hotkey)
            if env_kind == "desktop"
            else _browser(url, headed, allow_domain or [], deny_domain or [])
        )
        with opened as (env, hotkey_display):
            switch = KillSwitch(use_hotkey=hotkey_display is not None, display=hotkey_display)
            with switch:
                result = run_episode(
                    instruction,
                    env,
                    backend,
                    options,
                    record_dir=folder,
                    observers=observers,
                    confirmer=ConsoleConfirmer(),
                    stop=switch,
                )
    finally:
        backend.close()
    final = result.explanation or result.answer
    if final:
        typer.echo(final)
    sys.stdout.flush()
    raise typer.Exit(exit_code(result, dry_run))
