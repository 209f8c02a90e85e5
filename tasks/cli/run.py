"""`qwen-agent run "INSTRUCTION"`: run the agent on the desktop or in a browser, with a live progress
view, a recorded run folder, and an exit code scripts can branch on (tasks.cli.common.ExitCode).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from tasks.cli.common import ExitCode
from tasks.cli.options import (
    BUDGET_PANEL,
    ENV_PANEL,
    GRID_DEFAULT,
    MODEL,
    MODEL_PANEL,
    PIXELS_DEFAULT,
    RECORD_PANEL,
    SAFETY_PANEL,
    STUCK_AFTER_DEFAULT,
    AllowDomainOpt,
    ApiKeyEnvOpt,
    AttnOpt,
    DenyDomainOpt,
    DeviceMapOpt,
    DisplayOpt,
    DtypeOpt,
    EndpointOpt,
    EnvOpt,
    GridOpt,
    HeadedOpt,
    ImageFormatOpt,
    LaunchOpt,
    MaskSecretsOpt,
    MaxPixelsOpt,
    ModelOpt,
    MonitorOpt,
    RetriesOpt,
    StuckAfterOpt,
    TimeoutOpt,
    XvfbOpt,
    model_config,
)

if TYPE_CHECKING:
    from actions.environment import Environment
    from agent.trajectory import RunResult
    from model.config import ModelConfig
    from tasks.environments import EnvironmentSettings

RUN_EXAMPLES = """Examples:

  qwen-agent run "book a flight from SFO to JFK on 3 December"     (bundled flights app)

  qwen-agent run "save the form" --url http://localhost:3000/form
      --endpoint http://localhost:8000/v1 --model Qwen/Qwen3-VL-8B-Instruct

  qwen-agent run "fill in the form" --env desktop --xvfb
      --launch "python -m tasks.apps.desktop.form --log /tmp/form.jsonl"

  qwen-agent run "..." --model scripted:replies.jsonl --dry-run     (one raw reply per line)

  qwen-agent run "Add hire {{name}} ({{email}})" --param name=Ann --param email=ann@acme.test
      --url http://127.0.0.1:8765/intake/ --record-dir runs/ann    (then: qwen-agent job compile)
"""

EXIT_FOR_STATUS = {
    "success": ExitCode.SUCCESS,
    "failure": ExitCode.FAILURE,
    "budget": ExitCode.FAILURE,
    "blocked": ExitCode.BLOCKED,
    "aborted": ExitCode.ABORTED,
    "error": ExitCode.ERROR,
}


def _with_params(instruction: str, flags: list[str], file: Path | None) -> tuple[str, dict[str, str]]:
    """The instruction with its {{NAME}} placeholders filled, and the values used; BadInput for a
    placeholder without a value or a value no placeholder asks for."""
    from actions.errors import BadInput
    from tasks.jobs.params import fill, load_params_file, param_names, parse_params

    values = {**(load_params_file(file) if file else {}), **parse_params(flags)}
    unused = [n for n in values if n not in param_names(instruction)]
    if unused:
        raise BadInput(
            f"--param {unused[0]} is not used by the instruction (write {{{{{unused[0]}}}}} in it)"
        )
    return fill(instruction, values), values


def exit_code(result: RunResult, dry_run: bool = False) -> ExitCode:
    """The process exit code of a run (a dry run that planned its action counts as success)."""
    if dry_run and result.status == "aborted" and result.steps:
        return ExitCode.SUCCESS
    return EXIT_FOR_STATUS[result.status]


@contextlib.contextmanager
def _opened(settings: EnvironmentSettings) -> Iterator[Environment]:
    """open_environment, with the sandbox flights app as the browser's start page when no --url."""
    from tasks.environments import open_environment

    with contextlib.ExitStack() as stack:
        if settings.kind == "browser" and settings.url is None:
            from tasks.apps.sandbox.server import SandboxServer

            server = stack.enter_context(SandboxServer(port=0))
            settings = settings.model_copy(update={"url": server.app_url("flights")})
            typer.echo(f"no --url given: using the sandbox flights app at {settings.url}", err=True)
        yield stack.enter_context(open_environment(settings))


def _hotkey_display(env: Environment, settings: EnvironmentSettings) -> str | None:
    """The X display the stop hotkey listens on: a desktop run's explicit --display or --xvfb one."""
    if settings.kind != "desktop" or not (settings.xvfb or settings.display):
        return None
    from actions.desktop import DesktopEnvironment

    return env.display if isinstance(env, DesktopEnvironment) else None


def describe_run(config: ModelConfig, settings: EnvironmentSettings, env: Environment) -> dict[str, str]:
    """What ran, for run.json, result.json and the report header."""
    import platform
    from importlib.metadata import version

    about = {
        "model": config.model,
        "backend": config.kind,
        "endpoint": config.endpoint or "-",
        "environment": settings.kind,
        "qwen-agent": version("qwen3vl-desk-agent"),
        "python": platform.python_version(),
    }
    if settings.kind == "browser":
        about |= {"url": settings.url or "-", "screen": "{}x{} CSS px".format(*settings.screen)}
        about |= {"browser": getattr(env, "browser_version", "-"), "playwright": version("playwright")}
    else:
        geometry = getattr(env, "geometry", None)
        size = f"{geometry.width}x{geometry.height}" if geometry is not None else "-"
        about |= {"display": str(getattr(env, "display", settings.display)), "screen": size}
        if settings.launch:
            about["launched"] = "; ".join(settings.launch)
    return about


def _gate_lists(words: Path | None, commands: Path | None) -> dict[str, tuple[str, ...]]:
    """The risky-word and risky-command lists given with --risky-words / --risky-commands."""
    from actions.risk_words import CommandMatcher, read_list

    lists: dict[str, tuple[str, ...]] = {}
    for key, path, flag in (
        ("risky_words", words, "--risky-words"),
        ("risky_commands", commands, "--risky-commands"),
    ):
        if path is None:
            continue
        try:
            entries = read_list(path)
            if key == "risky_commands":
                CommandMatcher(entries)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise typer.BadParameter(f"{flag} {path}: {e}") from None
        if not entries:
            raise typer.BadParameter(f"{flag} {path}: the file lists nothing (one entry per line)")
        lists[key] = entries
    return lists


def run_command(
    instruction: Annotated[str, typer.Argument(help="What to do, in plain words.")],
    env_kind: EnvOpt = "browser",
    url: Annotated[
        str | None,
        typer.Option(
            rich_help_panel=ENV_PANEL, help="Browser start page (default: the sandbox flights app)."
        ),
    ] = None,
    model: ModelOpt = MODEL.model,
    endpoint: EndpointOpt = MODEL.endpoint,
    api_key_env: ApiKeyEnvOpt = MODEL.api_key_env,
    dtype: DtypeOpt = MODEL.dtype,
    device_map: DeviceMapOpt = MODEL.device_map,
    attn_implementation: AttnOpt = MODEL.attn_implementation,
    timeout: TimeoutOpt = MODEL.timeout_s,
    max_retries: RetriesOpt = MODEL.max_retries,
    image_format: ImageFormatOpt = MODEL.image_format,
    max_steps: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL, min=1, help="Step budget.")] = 15,
    max_seconds: Annotated[
        float | None, typer.Option(rich_help_panel=BUDGET_PANEL, min=1, help="Time budget in seconds.")
    ] = None,
    stuck_after: StuckAfterOpt = STUCK_AFTER_DEFAULT,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", rich_help_panel=SAFETY_PANEL, help="Draw the first planned action; execute nothing."
        ),
    ] = False,
    confirm: Annotated[
        bool, typer.Option("--confirm", rich_help_panel=SAFETY_PANEL, help="Ask before every action.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            rich_help_panel=SAFETY_PANEL,
            help="Never ask, not even before risky actions (buy, delete...).",
        ),
    ] = False,
    risky_words: Annotated[
        Path | None,
        typer.Option(
            "--risky-words",
            rich_help_panel=SAFETY_PANEL,
            exists=True,
            dir_okay=False,
            help="A file of words that make an action risky (one per line, # comments), replacing the "
            "defaults (actions/risky_words.txt: buy, pay, delete... in English, German, French, Spanish, "
            "Italian, Portuguese, Chinese and Japanese). Whole words, any case or accents; Chinese and "
            "Japanese anywhere.",
        ),
    ] = None,
    risky_commands: Annotated[
        Path | None,
        typer.Option(
            "--risky-commands",
            rich_help_panel=SAFETY_PANEL,
            exists=True,
            dir_okay=False,
            help="A file of regular expressions (one per line, # comments) for typed commands that are "
            "risky, replacing the defaults (actions/risky_commands.txt: rm -rf, mkfs, DROP TABLE, "
            "git push --force...).",
        ),
    ] = None,
    unknown_targets: Annotated[
        Literal["ask", "allow"],
        typer.Option(
            "--unknown-targets",
            rich_help_panel=SAFETY_PANEL,
            help="What to do when the target of a click or key cannot be read (a frame that does not "
            "answer the probe): ask as for a risky action, or allow it.",
        ),
    ] = "ask",
    record_dir: Annotated[
        Path | None,
        typer.Option(
            rich_help_panel=RECORD_PANEL, help="Run folder (default runs/<timestamp>); must be new or empty."
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            rich_help_panel=RECORD_PANEL,
            help="Replace the old run in a non-empty --record-dir.",
        ),
    ] = False,
    thinking: Annotated[
        bool, typer.Option("--thinking", rich_help_panel=MODEL_PANEL, help="The model is a Thinking edition.")
    ] = False,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan/--no-plan", rich_help_panel=MODEL_PANEL, help="Ask for a plan of sub-goals first."
        ),
    ] = False,
    history_images: Annotated[
        int, typer.Option(rich_help_panel=MODEL_PANEL, min=0, help="Recent screenshots sent as images.")
    ] = 4,
    max_pixels: MaxPixelsOpt = PIXELS_DEFAULT,
    max_new_tokens: Annotated[
        int, typer.Option(rich_help_panel=MODEL_PANEL, min=1, help="Reply token budget per step.")
    ] = 512,
    grid: GridOpt = GRID_DEFAULT,
    xvfb: XvfbOpt = False,
    display: DisplayOpt = None,
    monitor: MonitorOpt = 1,
    launch: LaunchOpt = None,
    headed: HeadedOpt = False,
    allow_domain: AllowDomainOpt = None,
    deny_domain: DenyDomainOpt = None,
    mask_secrets: MaskSecretsOpt = True,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            rich_help_panel=SAFETY_PANEL,
            help="A secret the model may type besides those the task names (NAME of "
            "QWEN_AGENT_SECRET_NAME; repeatable).",
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="NAME=VALUE filling {{NAME}} in the instruction (repeatable); typed values are recorded "
            "as parameters, so `qwen-agent job compile` can replay the run for other values.",
        ),
    ] = None,
    params_file: Annotated[
        Path | None,
        typer.Option("--params-file", help="A JSON object of NAME: value, as --param (which wins)."),
    ] = None,
    hotkey: Annotated[
        bool,
        typer.Option(
            "--hotkey/--no-hotkey",
            rich_help_panel=SAFETY_PANEL,
            help="Desktop: Ctrl+Alt+Shift+Q stops the run.",
        ),
    ] = True,
    quiet: Annotated[
        bool, typer.Option("--quiet", rich_help_panel=RECORD_PANEL, help="No progress view.")
    ] = False,
) -> None:
    """Run the agent on a task. Exit codes: 0 success, 1 failure, 3 blocked, 4 error, 130 stopped."""
    from actions.killswitch import KillSwitch
    from actions.safety import ConsoleConfirmer
    from actions.secrets import require_secrets
    from agent.loop import run_episode
    from agent.options import AgentOptions
    from agent.progress import ConsoleProgress
    from agent.run_folder import create_run_folder
    from agent.terminal import terminal_safe
    from model.factory import create_backend
    from model.qwen3vl import CoordinateGrid, PixelBudget, ProtocolSettings
    from tasks.environments import EnvironmentSettings

    if confirm and yes:
        raise typer.BadParameter("--confirm and --yes contradict each other; choose one")
    instruction, values = _with_params(instruction, param or [], params_file)
    options = AgentOptions(
        max_steps=max_steps,
        max_seconds=max_seconds,
        stuck_after_s=stuck_after or None,
        secrets=tuple(secret or ()),
        params=tuple(values.items()),
        history_images=history_images,
        dry_run=dry_run,
        confirm="always" if confirm else "never" if yes else "risky",
        **_gate_lists(risky_words, risky_commands),
        unknown_targets=unknown_targets,
        thinking=thinking,
        plan=plan,
        protocol=ProtocolSettings(
            grid=CoordinateGrid(size=grid),
            pixels=PixelBudget(max_pixels=max_pixels),
            max_new_tokens=max_new_tokens,
        ),
    )
    # Before anything slow: an unset secret is the user's to fix.
    require_secrets(" ".join([instruction, *(f"{{{{secret:{name}}}}}" for name in secret or ())]))
    config = model_config(
        model, endpoint, api_key_env, dtype, device_map, attn_implementation, timeout, max_retries,
        image_format, max_pixels,
    )  # fmt: skip
    settings = EnvironmentSettings(
        kind=env_kind, url=url, headed=headed, allow_domains=tuple(allow_domain or ()),
        deny_domains=tuple(deny_domain or ()), xvfb=xvfb, display=display, monitor=monitor,
        launch=tuple(launch or ()), mask_secrets=mask_secrets,
    )  # fmt: skip
    folder = create_run_folder(record_dir, overwrite=overwrite)
    backend = create_backend(config)
    observers = [] if quiet else [ConsoleProgress(max_steps=max_steps)]
    try:
        with _opened(settings) as env:
            hotkey_display = _hotkey_display(env, settings) if hotkey else None
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
                    about=describe_run(config, settings, env),
                )
    finally:
        backend.close()
    final = result.explanation or result.answer
    if final:
        typer.echo(terminal_safe(final))  # the model's words: shown, never obeyed by the terminal
    sys.stdout.flush()
    raise typer.Exit(exit_code(result, dry_run))
