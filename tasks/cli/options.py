"""Flags shared by several commands, declared once: the model flags (their defaults are ModelConfig's
own, from model/config.py) with `model_config` building the ModelConfig, the stuck-step deadline,
and the environment flags of `run` and `calibrate`.

Typer reads options from each command's signature, so a command still lists the flags it takes, as
`name: XOpt = DEFAULT`; the option's name, help and limits live here.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import typer

from actions.types import ScreenGeometry
from model.config import ModelConfig  # light: no backend is imported
from model.qwen3vl import ALLOWED_GRIDS, DEFAULT_GRID

MODEL = ModelConfig()  # the defaults of every model flag
# `--help` groups the options under these headings.
MODEL_PANEL = "Model"
ENV_PANEL = "Environment"
BUDGET_PANEL = "Budget"
SAFETY_PANEL = "Safety"
RECORD_PANEL = "Recording and output"
PIXELS_DEFAULT = MODEL.max_pixels  # Qwen's cookbook default (model.qwen3vl.PixelBudget)
GRID_DEFAULT = DEFAULT_GRID
STUCK_AFTER_DEFAULT = 60.0

# ----- model --------------------------------------------------------------------------------------

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        rich_help_panel=MODEL_PANEL,
        help="Hub id or local checkpoint folder (in-process), the served model name (with --endpoint), "
        "scripted:FILE.jsonl (replay raw replies), or (eval only) 'reference', the sandbox's scripted "
        "solver.",
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        rich_help_panel=MODEL_PANEL,
        help="OpenAI-compatible base URL (vLLM, SGLang, Ollama...), e.g. http://localhost:8000/v1.",
    ),
]
ApiKeyEnvOpt = Annotated[
    str,
    typer.Option(
        "--api-key-env",
        rich_help_panel=MODEL_PANEL,
        help="Environment variable that holds the server's API key.",
    ),
]
DtypeOpt = Annotated[
    str,
    typer.Option(
        "--dtype",
        rich_help_panel=MODEL_PANEL,
        help="In-process weights dtype: auto, bfloat16, float16, float32.",
    ),
]
DeviceMapOpt = Annotated[
    str,
    typer.Option(
        "--device-map", rich_help_panel=MODEL_PANEL, help="In-process placement: auto, cpu, cuda, cuda:1, ..."
    ),
]
AttnOpt = Annotated[
    str,
    typer.Option(
        "--attn-implementation",
        rich_help_panel=MODEL_PANEL,
        help="In-process attention: auto, sdpa, flash_attention_2, eager.",
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout", rich_help_panel=MODEL_PANEL, min=1, help="Server: seconds per request attempt."
    ),
]
RetriesOpt = Annotated[
    int,
    typer.Option(
        "--max-retries", rich_help_panel=MODEL_PANEL, min=0, help="Server: retries on 429/5xx with backoff."
    ),
]
ImageFormatOpt = Annotated[
    str,
    typer.Option(
        "--image-format", rich_help_panel=MODEL_PANEL, help="Server: screenshots sent as png or jpeg."
    ),
]
MaxPixelsOpt = Annotated[
    int,
    typer.Option(
        "--max-pixels",
        rich_help_panel=MODEL_PANEL,
        min=4096,
        help="Largest screenshot area the model sees (model pixels).",
    ),
]
GridOpt = Annotated[
    int,
    typer.Option(
        "--grid",
        rich_help_panel=MODEL_PANEL,
        min=1,
        help=f"Coordinate grid the model answers on ({' or '.join(map(str, ALLOWED_GRIDS))}; "
        "the second as OSWorld's agent).",
    ),
]
StuckAfterOpt = Annotated[
    float,
    typer.Option(
        "--stuck-after",
        rich_help_panel=BUDGET_PANEL,
        min=0,
        help="End a run as an error (exit 4; in eval: that task only) when observing or acting makes "
        "no progress for this many seconds (0 = never). The model call has its own --timeout.",
    ),
]


def model_config(
    model: str,
    endpoint: str | None,
    api_key_env: str | None = None,
    dtype: str | None = None,
    device_map: str | None = None,
    attn_implementation: str | None = None,
    timeout_s: float | None = None,
    max_retries: int | None = None,
    image_format: str | None = None,
    max_pixels: int | None = None,
) -> ModelConfig:
    """A validated ModelConfig from the model flags (None: ModelConfig's default); a bad value is a
    usage error naming the flag."""
    from pydantic import ValidationError

    given: dict[str, object] = {
        "model": model,
        "endpoint": endpoint,
        "api_key_env": api_key_env,
        "dtype": dtype,
        "device_map": device_map,
        "attn_implementation": attn_implementation,
        "timeout_s": timeout_s,
        "max_retries": max_retries,
        "image_format": image_format,
        "max_pixels": max_pixels,
    }
    fields = {k: v for k, v in given.items() if v is not None or k == "endpoint"}
    try:
        return ModelConfig.model_validate(fields)
    except ValidationError as e:
        err = e.errors()[0]
        flag = "--" + str(err["loc"][0]).replace("_", "-").replace("timeout-s", "timeout")
        raise typer.BadParameter(f"{flag}: {err['msg']}") from None


# ----- environment --------------------------------------------------------------------------------

EnvOpt = Annotated[
    Literal["desktop", "browser"],
    typer.Option("--env", rich_help_panel=ENV_PANEL, help="Act on the X desktop or in a Chromium page."),
]
ScreenOpt = Annotated[
    str,
    typer.Option(
        "--screen",
        rich_help_panel=ENV_PANEL,
        help="Logical screen size WIDTHxHEIGHT: the browser viewport, or the --xvfb display.",
    ),
]
HeadedOpt = Annotated[
    bool, typer.Option("--headed", rich_help_panel=ENV_PANEL, help="Browser: show the window.")
]
XvfbOpt = Annotated[
    bool,
    typer.Option(
        "--xvfb",
        rich_help_panel=ENV_PANEL,
        help="Desktop: start a private virtual display instead of using $DISPLAY.",
    ),
]
DisplayOpt = Annotated[
    str | None,
    typer.Option("--display", rich_help_panel=ENV_PANEL, help="Desktop: X display (default $DISPLAY)."),
]
MonitorOpt = Annotated[
    int,
    typer.Option(
        "--monitor",
        rich_help_panel=ENV_PANEL,
        min=0,
        help="Desktop: monitor number (1 = the first, 0 = all).",
    ),
]
LaunchOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--launch", rich_help_panel=ENV_PANEL, help="Desktop: a command to start on the display first."
    ),
]
AllowDomainOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-domain", rich_help_panel=ENV_PANEL, help="Browser: only these domains may load (repeatable)."
    ),
]
MaskSecretsOpt = Annotated[
    bool,
    typer.Option(
        "--mask-secrets/--no-mask-secrets",
        rich_help_panel=SAFETY_PANEL,
        help="Browser: blank password fields and fields a secret was typed into in every screenshot "
        "(the model's and the run folder's). The desktop is never masked.",
    ),
]
DenyDomainOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--deny-domain", rich_help_panel=ENV_PANEL, help="Browser: these domains never load (repeatable)."
    ),
]

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def parse_screen(value: str, scale: float = 1.0) -> ScreenGeometry:
    """'1280x800' -> ScreenGeometry in logical pixels."""
    m = _SIZE.match(value)
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        raise typer.BadParameter(f"expected WIDTHxHEIGHT such as 1280x800, got {value!r}")
    return ScreenGeometry(width=int(m.group(1)), height=int(m.group(2)), scale=scale)
