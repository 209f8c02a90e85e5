"""`qwen-agent job compile|run`: turn a successful run into a repeatable job, and replay it for one
row (`--param`) or every row of a CSV (`--rows`), without the model unless a step needs it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from tasks.cli.common import ExitCode
from tasks.cli.options import (
    MODEL,
    SAFETY_PANEL,
    ApiKeyEnvOpt,
    AttnOpt,
    DeviceMapOpt,
    DtypeOpt,
    EndpointOpt,
    HeadedOpt,
    ImageFormatOpt,
    RetriesOpt,
    TimeoutOpt,
    model_config,
)

JOB_EXAMPLES = """Examples:

  # 1. run once with the model, parameters in {{double braces}}
  qwen-agent run "Add hire {{name}} ({{email}})" --param name=Ann --param email=ann@acme.test \\
      --record-dir runs/ann

  # 2. compile the run into a job (job.yaml can be edited by hand)
  qwen-agent job compile runs/ann -o jobs/add-hire

  # 3. replay it for every row of a CSV, two browsers, the model only where the screen differs
  qwen-agent job run jobs/add-hire --rows hires.csv --key email --workers 2 --model Qwen/Qwen3-VL-8B-Instruct

  # 4. after a crash or Ctrl+C: finish the rows not done yet
  qwen-agent job run jobs/add-hire --rows hires.csv --key email --out runs/batch --resume
"""

job_app = typer.Typer(
    help="Repeatable jobs: compile a successful run, replay it row by row without the model.",
    no_args_is_help=True,
    epilog=JOB_EXAMPLES,
)


@job_app.command("compile", epilog=JOB_EXAMPLES)
def compile_command(
    run_dir: Annotated[Path, typer.Argument(help="The run folder of a successful `qwen-agent run`.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="The job folder to write (new or empty).")],
    name: Annotated[
        str | None, typer.Option("--name", help="The job's name (default: the run folder's).")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing job folder.")] = False,
) -> None:
    """Compile a successful run into a job folder: job.yaml, job.schema.json and anchor crops."""
    from tasks.jobs.compile import compile_run

    job = compile_run(run_dir, out, name, overwrite)
    risky = sum(1 for s in job.steps if s.risky)
    params = ", ".join(job.parameters) or "none"
    typer.echo(f"job {job.name!r}: {len(job.steps)} steps, parameters: {params}, risky steps: {risky}")
    typer.echo(f"written: {out}/job.yaml (edit it freely; {out}/job.schema.json describes the format)")


class _Progress:
    """One line per row on stderr: position, key, status, fallbacks, model calls, seconds, reason."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()

    def __call__(self, kind: str, payload: Any) -> None:
        if kind == "start":
            return
        self.done += 1
        o = payload
        tag = "skipped (finished earlier)" if kind == "skip" else o.status
        rate = self.done / max(time.monotonic() - self.started, 1e-6) * 60
        why = f": {o.reason}" if o.reason and kind != "skip" else ""
        typer.echo(
            f"[{self.done}/{self.total}] {o.key}: {tag} ({o.fallbacks} fallbacks, {o.model_calls} model "
            f"calls, {o.seconds:.1f} s; {rate:.1f} rows/min){why}",
            err=True,
        )


@job_app.command("run", epilog=JOB_EXAMPLES)
def run_command(
    job_dir: Annotated[Path, typer.Argument(help="A job folder (from `qwen-agent job compile`).")],
    param: Annotated[
        list[str] | None, typer.Option("--param", help="NAME=VALUE for a one-row replay (repeatable).")
    ] = None,
    params_file: Annotated[
        Path | None, typer.Option("--params-file", help="A JSON object of NAME: value for a one-row replay.")
    ] = None,
    rows: Annotated[
        Path | None,
        typer.Option("--rows", help="A CSV whose header names the parameters: one replay per row."),
    ] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="The CSV column that names a row (default: its line).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, max=32, help="Rows in parallel, each with its own browser/display."),
    ] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Results folder (default runs/job-<name>-<time>).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Run only the rows --out has not finished.")
    ] = False,
    halt_on_error: Annotated[
        bool, typer.Option("--halt-on-error", help="Start no row after one that did not end done.")
    ] = False,
    save_healed: Annotated[
        Path | None, typer.Option("--save-healed", help="Write a repaired copy of the job here (new folder).")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Browser: start here instead of the job's start page.")
    ] = None,
    device_scale_factor: Annotated[
        float | None,
        typer.Option("--device-scale-factor", min=0.5, max=4, help="Browser: replay at this scale."),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            rich_help_panel=SAFETY_PANEL,
            help="Approve the job's risky steps (found by element identity only; never by pixels alone).",
        ),
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="The model for steps the replay cannot do (default none: such a row fails)."
        ),
    ] = None,
    endpoint: EndpointOpt = MODEL.endpoint,
    api_key_env: ApiKeyEnvOpt = MODEL.api_key_env,
    dtype: DtypeOpt = MODEL.dtype,
    device_map: DeviceMapOpt = MODEL.device_map,
    attn_implementation: AttnOpt = MODEL.attn_implementation,
    timeout: TimeoutOpt = MODEL.timeout_s,
    max_retries: RetriesOpt = MODEL.max_retries,
    image_format: ImageFormatOpt = MODEL.image_format,
    headed: HeadedOpt = False,
) -> None:
    """Replay a job for one row or for every row of a CSV; results.jsonl, results.csv and summary.html."""
    from datetime import datetime

    from actions.errors import BadInput
    from tasks.jobs.batch import BatchConfig, run_batch
    from tasks.jobs.files import load_job
    from tasks.jobs.outcomes import totals
    from tasks.jobs.params import load_params_file, parse_params
    from tasks.jobs.rows import Row, check_values, load_rows

    job = load_job(job_dir)
    if rows is not None and (param or params_file):
        raise BadInput("--rows and --param/--params-file are two ways to give rows: choose one")
    if rows is not None:
        todo = load_rows(rows, job.parameters, key)
    else:
        values = {**(load_params_file(params_file) if params_file else {}), **parse_params(param or [])}
        check_values(values, job.parameters, "--param")
        todo = [Row(key="row-1", line=0, values=values)]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = out or Path("runs") / f"job-{job.name}-{stamp}"
    fallback = None
    if model is not None:
        fallback = model_config(
            model, endpoint, api_key_env, dtype, device_map, attn_implementation, timeout, max_retries,
            image_format,
        )  # fmt: skip
    config = BatchConfig(
        job_dir=job_dir, out=folder, workers=workers, approve_risky=yes, url=url, model=fallback,
        device_scale_factor=device_scale_factor, headless=not headed, halt_on_error=halt_on_error,
    )  # fmt: skip
    typer.echo(f"job {job.name!r}: {len(todo)} row(s) on {workers} worker(s) -> {folder}", err=True)
    outcomes = run_batch(todo, config, _Progress(len(todo)), resume=resume)
    t = totals(outcomes)
    typer.echo(
        f"{t['done']}/{t['rows']} rows done, {t['failed']} failed, {t['needs_human']} need a person; "
        f"{t['fallbacks']} fallbacks, {t['model_calls']} model calls"
    )
    typer.echo(f"results: {folder}/results.csv, {folder}/summary.html")
    if save_healed is not None:
        from tasks.jobs.batch import healed_from

        count = healed_from(job, config, outcomes, save_healed)
        typer.echo(f"healed job: {save_healed} ({count} step(s) replaced by what the model did)")
    if t["done"] != t["rows"]:
        raise typer.Exit(ExitCode.FAILURE)
