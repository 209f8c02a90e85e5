"""`qwen-agent eval grounding PATH`: grounding accuracy on a local copy of ScreenSpot / ScreenSpot-v2,
ScreenSpot-Pro or OSWorld-G; results.jsonl, summary.json and report.html in --out.
`qwen-agent grounding build URL|sandbox APP --out DIR`: a grounding set in ScreenSpot-Pro's layout from
live pages (grounding_app, registered as the `grounding` command group)."""

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

grounding_app = typer.Typer(
    help="Grounding data sets: build one from live pages (`qwen-agent eval grounding DIR` measures it).",
    no_args_is_help=True,
)


@grounding_app.callback()
def _grounding() -> None:
    """Grounding data sets: build one from live pages (`qwen-agent eval grounding DIR` measures it)."""
    # A callback keeps `build` a subcommand: a Typer app with one command would otherwise become it.


BUILD_EXAMPLES = """Examples:

  qwen-agent grounding build sandbox settings records --out data/sandbox-grounding

  qwen-agent grounding build https://example.com/login --name login --variants light,dark --out data/login

  qwen-agent eval grounding data/sandbox-grounding --endpoint http://localhost:8000/v1
"""

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


def _viewport(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or not (200 <= int(match[1]) <= 7680 and 200 <= int(match[2]) <= 4320):
        raise typer.BadParameter(f"expected WIDTHxHEIGHT between 200x200 and 7680x4320, got {text!r}")
    return int(match[1]), int(match[2])


def _variants(text: str) -> list[str]:
    from tasks.grounding.build import VARIANT_NAMES

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANT_NAMES]
    if not names or unknown:
        raise typer.BadParameter(f"unknown variant(s) {', '.join(unknown) or '(none given)'}; "
                                 f"choose from {','.join(VARIANT_NAMES)}")  # fmt: skip
    return list(dict.fromkeys(names))


@grounding_app.command("build", epilog=BUILD_EXAMPLES)
def grounding_build_command(
    source: Annotated[
        str,
        typer.Argument(help="A page's URL (http://, https://, file://), or `sandbox` for the bundled apps."),
    ],
    more: Annotated[
        list[str] | None,
        typer.Argument(
            help="After `sandbox`: the apps (flights signup settings shop records intake, or `all`); "
            "after a URL: more URLs.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder to write annotations/ and images/ into.")] = Path(
        "data/grounding"
    ),
    viewport: Annotated[
        str, typer.Option("--viewport", help="Window size WIDTHxHEIGHT in CSS px at zoom 100%, dpr 1.")
    ] = "1280x800",
    variants: Annotated[
        str,
        typer.Option(
            "--variants",
            help="Comma-separated: light (prefers-color-scheme light), dark, zoom-125 (browser zoom "
            "125%, as Ctrl+plus), dpr-2 (device pixel ratio 2).",
        ),
    ] = "light,dark,zoom-125,dpr-2",
    name: Annotated[
        str | None,
        typer.Option("--name", help="Application name of a single URL (default: its host and path)."),
    ] = None,
    setup_js: Annotated[
        str | None,
        typer.Option("--setup-js", help="JavaScript run in each page after it loads (close a banner...)."),
    ] = None,
    chromium: Annotated[
        str | None, typer.Option("--chromium", help="Chromium executable (default: the system's).")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a set already in --out.")] = False,
) -> None:
    """Build a grounding set from live pages: every visible, named interactive element of each page,
    in each variant, as a ScreenSpot-Pro entry (box in screenshot pixels, ui_type text|icon, group =
    variant, contrast and size as extra fields). `qwen-agent eval grounding OUT` then measures it."""
    from actions.errors import BadInput
    from tasks.grounding.build import (
        VARIANTS,
        PageSpec,
        application_name,
        build_grounding_set,
        sandbox_pages,
    )

    size = _viewport(viewport)
    chosen = [v for v in VARIANTS if v.name in _variants(variants)]
    names = list(more or [])
    say = lambda line: typer.echo(line, err=True)  # noqa: E731
    if source == "sandbox":
        from tasks.apps.sandbox.server import APP_NAMES, SandboxServer

        if not names:
            raise BadInput(f"name the sandbox app(s) to build from ({' '.join(APP_NAMES)}), or `all`")
        apps = list(APP_NAMES) if names == ["all"] else list(dict.fromkeys(names))
        with SandboxServer(port=0) as server:
            pages = sandbox_pages(server, apps)
            result = build_grounding_set(pages, out, viewport=size, variants=chosen, chromium_path=chromium,
                                         overwrite=overwrite, progress=say)  # fmt: skip
    else:
        urls = [source, *names]
        bad = [u for u in urls if not re.match(r"^(https?|file)://", u)]
        if bad:
            raise BadInput(f"not a URL: {', '.join(bad)} (give http://, https:// or file:// URLs, or "
                           "`sandbox APP`)")  # fmt: skip
        if name is not None and len(urls) > 1:
            raise BadInput("--name names a single URL's application; with several URLs each is named "
                           "after its host and path")  # fmt: skip
        pages = [PageSpec(application=name or application_name(u), url=u, setup_js=setup_js) for u in urls]
        result = build_grounding_set(pages, out, viewport=size, variants=chosen, chromium_path=chromium,
                                     overwrite=overwrite, progress=say)  # fmt: skip
    skipped = result.skipped()
    why = ", ".join(f"{n} {r}" for r, n in sorted(skipped.items())) or "none"
    typer.echo(f"{result.entries} entries from {len(result.counts)} screenshot(s) in {result.seconds:.1f} s; "
               f"skipped {why}")  # fmt: skip
    typer.echo(f"grounding set: {result.folder} (measure it: qwen-agent eval grounding {result.folder})")
