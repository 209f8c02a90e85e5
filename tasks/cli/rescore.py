"""`qwen-agent eval rescore RUNS... --model X`: ask a model every step of saved successful runs again,
offline, and report how often its action agrees with the recorded one (tasks.grounding.rescore);
results.jsonl and summary.json in --out."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from actions.errors import BadInput
from tasks.cli.options import (
    MODEL,
    MODEL_PANEL,
    ApiKeyEnvOpt,
    AttnOpt,
    DeviceMapOpt,
    DtypeOpt,
    EndpointOpt,
    ImageFormatOpt,
    RetriesOpt,
    TimeoutOpt,
    model_config,
)
from tasks.grounding.agreement import DEFAULT_TOLERANCE_PX

RESCORE_EPILOG = """Examples:

  qwen-agent eval rescore results/reference --model recorded        (a self-check: 100%)

  qwen-agent eval rescore results/Qwen__Qwen3-VL-8B-Instruct runs/ --endpoint http://localhost:8000/v1
      --model Qwen/Qwen3-VL-2B-Instruct --max-pixels 1000000
"""


def _default_out(model: str) -> Path:
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", model.rstrip("/").split("/")[-1] or "model")
    return Path("results") / "rescore" / label


def rescore_command(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="Run folders, or folders holding them (an eval results folder such as results/<model>, "
            "a runs/ folder). Only successful runs are re-scored: eval tasks with score 1, runs whose "
            "result.json says success; the others are skipped and counted."
        ),
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            rich_help_panel=MODEL_PANEL,
            help="The model to ask: hub id or local checkpoint folder (in-process), the served model "
            "name (with --endpoint), scripted:FILE.jsonl, or 'recorded' (each step's recorded reply: "
            "a self-check that must agree 100%).",
        ),
    ] = MODEL.model,
    endpoint: EndpointOpt = MODEL.endpoint,
    api_key_env: ApiKeyEnvOpt = MODEL.api_key_env,
    dtype: DtypeOpt = MODEL.dtype,
    device_map: DeviceMapOpt = MODEL.device_map,
    attn_implementation: AttnOpt = MODEL.attn_implementation,
    timeout: TimeoutOpt = MODEL.timeout_s,
    max_retries: RetriesOpt = MODEL.max_retries,
    image_format: ImageFormatOpt = MODEL.image_format,
    max_pixels: Annotated[
        int | None,
        typer.Option(
            "--max-pixels",
            rich_help_panel=MODEL_PANEL,
            min=4096,
            help="Largest screenshot area the model sees (model pixels; default: each run's own).",
        ),
    ] = None,
    grid: Annotated[
        int | None,
        typer.Option(
            "--grid",
            rich_help_panel=MODEL_PANEL,
            min=1,
            help="Coordinate grid the model answers on (default: each run's own).",
        ),
    ] = None,
    max_new_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-new-tokens", min=16, help="Token budget of each reply (default: each run's own)."
        ),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            min=0,
            metavar="PX",
            help="A click agrees within this many logical screen px of the recorded one where the run "
            "recorded no target element box (desktop steps); moves and drags are always judged so.",
        ),
    ] = DEFAULT_TOLERANCE_PX,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Results folder (default results/rescore/<model>)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an earlier re-score's results in --out.")
    ] = False,
) -> None:
    """Re-score saved successful runs with another model, offline: each step's request is rebuilt from
    the run folder as the agent built it, and the new action is checked against the recorded one."""
    from model.backend import ModelBackend
    from tasks.grounding.replay import RECORDED_MODEL, RecordedReplies
    from tasks.grounding.rescore import RescoreSettings, rescore
    from tasks.grounding.saved_runs import find_runs

    if model == "reference":
        raise BadInput("the reference policy needs a live environment to answer; --model recorded answers "
                       "each step with the reply the run recorded")  # fmt: skip
    settings = RescoreSettings(grid=grid, max_pixels=max_pixels, max_new_tokens=max_new_tokens)
    found = find_runs(runs)  # bad folders fail before a model is loaded
    backend: ModelBackend
    if model == RECORDED_MODEL:
        backend = RecordedReplies([r.run for r in found.runs])
    else:
        from model.factory import create_backend

        config = model_config(
            model, endpoint, api_key_env, dtype, device_map, attn_implementation, timeout, max_retries,
            image_format, max_pixels,
        )  # fmt: skip
        backend = create_backend(config)
    folder = out or _default_out(model)
    try:
        summary = rescore(
            found, backend, folder, settings=settings, tolerance_px=tolerance, overwrite=overwrite,
            progress=lambda line: typer.echo(line, err=True),
        )  # fmt: skip
    finally:
        backend.close()
    overall = summary["overall"]
    rate = overall["agreement"]
    shown = "-" if rate is None else f"{100 * rate:.1f}%"
    steps = f"{overall['agree']}/{overall['steps']} steps"
    typer.echo(f"\n{model}: agreement {shown} ({steps}) over {summary['runs_rescored']} run(s)")
    for name, r in summary["by_action"].items():
        typer.echo(f"  {name:<14} {100 * r['agreement']:5.1f}%  ({r['agree']}/{r['steps']})")
    reasons = {k: v for k, v in summary["reasons"].items() if k != "same"}
    if reasons:
        typer.echo("  disagreements: " + ", ".join(f"{k} {v}" for k, v in reasons.items()))
    if summary["runs_skipped"]:
        why = ", ".join(f"{k}: {v}" for k, v in summary["skipped_why"].items())
        typer.echo(f"  skipped {summary['runs_skipped']} run(s) that did not succeed ({why})")
    typer.echo(f"results: {folder}/summary.json, {folder}/results.jsonl")
    sys.stdout.flush()
