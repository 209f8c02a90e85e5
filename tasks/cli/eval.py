"""`qwen-agent eval SUITE`: run a task suite (sandbox, miniwob, or an OSWorld-style folder) with a
model and score it as OSWorld does; results in OSWorld's layout plus summary.json and report.html.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from actions.errors import BadInput
from tasks.cli.common import ExitCode
from tasks.cli.options import (
    GRID_DEFAULT,
    MODEL,
    STUCK_AFTER_DEFAULT,
    ApiKeyEnvOpt,
    AttnOpt,
    DeviceMapOpt,
    DtypeOpt,
    EndpointOpt,
    GridOpt,
    HeadedOpt,
    ImageFormatOpt,
    ModelOpt,
    RetriesOpt,
    StuckAfterOpt,
    TimeoutOpt,
    model_config,
)

EVAL_EPILOG = """Examples:

  qwen-agent eval sandbox --model reference --workers 2            (the scripted solver: 100%)

  qwen-agent eval sandbox --endpoint http://localhost:8000/v1 --model Qwen/Qwen3-VL-8B-Instruct

  qwen-agent eval OSWorld/evaluation_examples --list               (runnable here, or why not)

  qwen-agent eval OSWorld/evaluation_examples --vm http://localhost:5000
      --vm-reset "docker restart osworld-vm" --endpoint ... --model ...

  qwen-agent eval ... --resume | --retry-errors | --fresh

  qwen-agent eval grounding data/ScreenSpot-v2/screenspot_web_v2.json --endpoint ... --model ...
      (grounding accuracy: see qwen-agent eval grounding --help)

  qwen-agent eval rescore results/Qwen__Qwen3-VL-8B-Instruct --endpoint ... --model NEW
      (how often a new model agrees with saved successful runs: qwen-agent eval rescore --help)
"""

REFERENCE_STEPS = 60  # the reference scripts' longest tasks take ~25 steps; a model gets 15


def _print_census(suite: Any, vm: list[str] | None, allow_host_setup: bool) -> None:
    """Each task's domain, id and whether it can run here (the local machine, or the VM with --vm),
    or why not; then "runnable on <environment>: N / M" with the most common reasons."""
    from tasks.osworld.census import Names, take_census, vm_names
    from tasks.suites import VOCABULARY

    names = vm_names() if vm else Names.of(VOCABULARY)
    census = take_census(suite, names, "vm" if vm else "local", allow_host_setup=allow_host_setup)
    width = max((len(v.domain) for v in census.verdicts), default=6)
    for v in census.verdicts:
        verdict = "runnable" if v.runnable else f"not runnable: {v.why}"
        typer.echo(f"{v.domain:<{width}}  {v.task_id}  {verdict}")
        for note in v.notes:
            typer.echo(f"{'':<{width}}    note: {note}")
    typer.echo(census.summary_line())


def _print_list() -> None:
    from tasks.suites import list_suites

    typer.echo(f"{'suite':<10} {'tasks':>5}  where")
    for name, count, where in list_suites():
        typer.echo(f"{name:<10} {count:>5}  {where}")
    typer.echo(
        "\nAn OSWorld `evaluation_examples` folder works too: qwen-agent eval PATH [--meta test_all.json]"
        "\n(qwen-agent eval PATH --list: which of its tasks can run here, and why not)"
    )


class _ConsoleProgress:
    """One line per task on stderr: position, task, score, failure category, steps, seconds."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.score, self.started = total, 0, 0.0, time.monotonic()
        self.scored = 0  # the running mean is the model's: over scored tasks only, as the summary

    def __call__(self, kind: str, payload: Any) -> None:
        if kind == "start":
            typer.echo(f"  ... {payload}", err=True)
            return
        self.done += 1
        o = payload
        if o.status == "scored":
            self.scored += 1
            self.score += o.score or 0.0
        score = f"{o.score:.2f}" if o.status == "scored" and o.score is not None else "  -  "
        tag = "skipped (finished earlier)" if kind == "skip" else o.status
        why = f" [{o.category}]" if o.category else ""
        detail = f" {o.reason}" if o.status != "scored" else ""
        mean = f"{self.score / self.scored:.2f}" if self.scored else "-"
        typer.echo(
            f"[{self.done}/{self.total}] {o.key}: {score} {tag}{why} ({o.steps} steps, {o.duration_s:.1f} s)"
            f"{detail}  | running mean {mean}",
            err=True,
        )


def eval_command(
    suite: Annotated[
        str | None, typer.Argument(help="'sandbox', 'miniwob', or a folder with examples/<domain>/<id>.json.")
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
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Parallel workers, each with its own browser and display.")
    ] = 1,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps", min=1, help="Step budget per task (default 15; 60 for --model reference)."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip tasks already scored in the results.")
    ] = False,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Run every task again, replacing old results.")
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="Results root: <out>/<model>/<domain>/<id>/.")] = Path(
        "results"
    ),
    run_name: Annotated[
        str | None, typer.Option("--run-name", help="Folder name under --out (default: from --model).")
    ] = None,
    domain: Annotated[
        list[str] | None, typer.Option("--domain", help="Only these domains (repeatable).")
    ] = None,
    task: Annotated[
        list[str] | None, typer.Option("--task", help="Only these task ids / MiniWoB names (repeatable).")
    ] = None,
    meta: Annotated[
        str | None, typer.Option("--meta", help="Meta file in the suite folder (default test_all.json).")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="MiniWoB: seed every episode (same layout, same instruction)."),
    ] = None,
    episode_seconds: Annotated[
        float, typer.Option("--episode-seconds", help="MiniWoB: episode time limit (MiniWoB's own is 10 s).")
    ] = 600.0,
    grid: GridOpt = GRID_DEFAULT,
    stuck_after: StuckAfterOpt = STUCK_AFTER_DEFAULT,
    headed: HeadedOpt = False,
    retry_errors: Annotated[
        bool,
        typer.Option(
            "--retry-errors",
            help="Run again only the tasks whose recorded outcome is an infrastructure error "
            "(setup failed, state unreadable, dead worker); every other score is kept.",
        ),
    ] = False,
    allow_host_setup: Annotated[
        bool,
        typer.Option(
            "--allow-host-setup",
            help="Let task files run their setup commands (sudo, killall, pip install ...) and touch "
            "paths outside the task's work folder on THIS machine. Without it such tasks are refused.",
        ),
    ] = False,
    client_password: Annotated[
        str | None,
        typer.Option(
            "--client-password",
            envvar="QWEN_AGENT_CLIENT_PASSWORD",
            help="{CLIENT_PASSWORD} in task files: the VM user's password (OSWorld's default 'password').",
            show_envvar=True,
        ),
    ] = None,
    vm: Annotated[
        list[str] | None,
        typer.Option(
            "--vm",
            metavar="URL",
            help="An OSWorld VM's server, e.g. http://localhost:5000: tasks run there, set up and scored "
            "by OSWorld's own desktop-env (make setup-osworld). Once per worker (--workers N: N VMs).",
        ),
    ] = None,
    vm_reset: Annotated[
        str | None,
        typer.Option(
            "--vm-reset",
            metavar="COMMAND",
            help="Run on this machine before every task but the first to revert the VM, e.g. "
            "'docker restart osworld-vm'; the VM's server is then waited for. Without it tasks run "
            "one after another on the VM's current state.",
        ),
    ] = None,
    vm_chromium_port: Annotated[
        int, typer.Option("--vm-chromium-port", help="Where the VM's Chrome debugging port is reachable.")
    ] = 9222,
    vm_vlc_port: Annotated[
        int, typer.Option("--vm-vlc-port", help="Where the VM's VLC web interface is reachable.")
    ] = 8080,
    list_: Annotated[
        bool,
        typer.Option(
            "--list",
            help="Without SUITE: the built-in suites and their task counts. With SUITE: each task's "
            "domain, id and whether it can run here (or on --vm), or why not.",
        ),
    ] = False,
) -> None:
    """Evaluate a model on a task suite; prints progress per task and the success rate per domain."""
    if list_ and suite is None:
        _print_list()
        return
    if suite is None:
        typer.echo("qwen-agent eval: name a suite (see --list) or a folder of OSWorld tasks", err=True)
        raise typer.Exit(ExitCode.USAGE)
    from tasks.eval.evaluate import evaluate
    from tasks.eval.harness import EvalConfig
    from tasks.suites import resolve_suite

    if suite == "miniwob":
        loaded = resolve_suite("miniwob", tasks=list(task or []), seed=seed, episode_seconds=episode_seconds)
    else:
        loaded = resolve_suite(suite, meta=meta).select(domain or (), task or ())
    if list_:
        _print_census(loaded, vm, allow_host_setup)
        return
    for err in loaded.errors:
        typer.echo(f"qwen-agent: task file problem: {err}", err=True)
    if vm and workers > len(vm):
        raise BadInput(f"--workers {workers} needs {workers} VMs: pass --vm once per worker (got {len(vm)})")
    config = EvalConfig(
        suite_name=loaded.name, suite_root=loaded.root, model=model,
        backend=model_config(
            model, endpoint, api_key_env, dtype, device_map, attn_implementation, timeout, max_retries,
            image_format,
        ),
        out=out, run_name=run_name, workers=workers,
        max_steps=max_steps or (REFERENCE_STEPS if model == "reference" else 15),
        headless=not headed, grid=grid, stuck_after_s=stuck_after or None,
        allow_host_setup=allow_host_setup, vm=tuple(vm or ()), vm_reset=vm_reset,
        vm_chromium_port=vm_chromium_port, vm_vlc_port=vm_vlc_port,
        **({"client_password": client_password} if client_password is not None else {}),
    )  # fmt: skip
    total = len(loaded.tasks) + len(loaded.errors)
    typer.echo(f"evaluating {total} task(s) of {loaded.name} with {model} on {workers} worker(s)", err=True)
    summary, root = evaluate(
        loaded, config, _ConsoleProgress(total), resume=resume, fresh=fresh, retry_errors=retry_errors
    )
    overall = summary["overall"]
    rate = overall["success_rate"]
    typer.echo(f"\n{loaded.name} / {model}: success rate {'-' if rate is None else f'{100 * rate:.1f}%'} "
               f"over {overall['scored']} scored task(s); {overall['errors']} infrastructure error(s) "
               "not counted (see --retry-errors)")  # fmt: skip
    for name, r in summary["domains"].items():
        dr = r["success_rate"]
        typer.echo(
            f"  {name:<20} {'-' if dr is None else f'{100 * dr:5.1f}%'}  ({r['success']}/{r['scored']})"
        )
    if summary["failures"]:
        typer.echo("  failures: " + ", ".join(f"{k} {v}" for k, v in summary["failures"].items()))
    if summary["not_run"]:
        typer.echo(
            f"  not run: {len(summary['not_run'])} task(s) "
            "(unsupported, refused or invalid; see summary.json)"
        )
    typer.echo(f"results: {root}/summary.json, {root}/report.html")
    sys.stdout.flush()
