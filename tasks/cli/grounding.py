"""`qwen-agent eval grounding PATH`: grounding accuracy on a local copy of ScreenSpot / ScreenSpot-v2,
ScreenSpot-Pro or OSWorld-G; results.jsonl, summary.json and report.html in --out."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from tasks.cli.options import (
    GRID_DEFAULT,
    MODEL,
    PIXELS_DEFAULT,
    ApiKeyEnvOpt,
    AttnOpt,
    DeviceMapOpt,
    DtypeOpt,
    EndpointOpt,
    GridOpt,
    ImageFormatOpt,
    MaxPixelsOpt,
    ModelOpt,
    RetriesOpt,
    TimeoutOpt,
    model_config,
)

# The agent's own reply budget: generation ends at the closing tag, so a larger one costs nothing.
GROUNDING_TOKENS = 512


def _default_out(path: Path, model: str) -> Path:
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", model.rstrip("/").split("/")[-1] or "model")
    return Path("results") / "grounding" / f"{path.stem or path.name}-{label}"


def grounding_eval_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A data set's annotation JSON (ScreenSpot, ScreenSpot-v2, OSWorld-G) or a folder of them "
            "(ScreenSpot-Pro's annotations/); images are found beside it or with --images."
        ),
    ],
    format: Annotated[
        Literal["screenspot", "screenspot-pro", "osworld-g"] | None,
        typer.Option("--format", help="The data set's format (default: told from its fields)."),
    ] = None,
    images: Annotated[
        Path | None, typer.Option("--images", help="Folder the entries' image paths are relative to.")
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
    max_pixels: MaxPixelsOpt = PIXELS_DEFAULT,
    grid: GridOpt = GRID_DEFAULT,
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", min=16, help="Token budget of each reply.")
    ] = GROUNDING_TOKENS,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Samples in flight. With --endpoint, concurrent requests (the server batches them); "
            "an in-process model answers one at a time whatever this says.",
        ),
    ] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip samples already in --out's results.jsonl.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Results folder (default results/grounding/<data set>-<model>)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N samples.")] = None,
) -> None:
    """Measure grounding accuracy: one click per sample with the agent's own prompt, scored as the
    data set's scorer does (point in box or polygon; on absent elements only a decline is right)."""
    from model.factory import create_backend
    from model.qwen3vl import CoordinateGrid, PixelBudget, ProtocolSettings
    from tasks.grounding.evaluate import evaluate_grounding
    from tasks.grounding.formats import load_grounding_set

    config = model_config(
        model, endpoint, api_key_env, dtype, device_map, attn_implementation, timeout, max_retries,
        image_format, max_pixels,
    )  # fmt: skip
    settings = ProtocolSettings(
        grid=CoordinateGrid(size=grid),
        pixels=PixelBudget(max_pixels=max_pixels),
        max_new_tokens=max_new_tokens,
    )
    data = load_grounding_set(path, format, images)  # bad data fails before a model is loaded
    backend = create_backend(config)
    try:
        run = evaluate_grounding(
            data, backend, out or _default_out(path, model), settings=settings, workers=workers,
            parallel_calls=config.kind == "openai", resume=resume, limit=limit,
            progress=lambda line: typer.echo(line, err=True),
        )  # fmt: skip
    finally:
        backend.close()
    summary = run.summary
    overall = summary["overall"]
    acc = overall["accuracy"]
    typer.echo(f"\n{data.name} / {model}: grounding accuracy {'-' if acc is None else f'{100 * acc:.1f}%'} "
               f"({overall['correct']}/{overall['samples']})")  # fmt: skip
    for dimension, values in summary["groups"].items():
        if dimension == "target" and len(values) == 1:
            continue
        cells = ", ".join(
            f"{value} {100 * r['accuracy']:.1f}% ({r['correct']}/{r['samples']})"
            for value, r in values.items()
        )
        typer.echo(f"  {dimension:<12} {cells}")
    typer.echo(f"results: {run.folder}/summary.json, {run.folder}/report.html")
    sys.stdout.flush()
