"""`qwen-agent inspect`: see exactly what the model receives and how a reply is understood."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from tasks.cli.common import ExitCode
from tasks.cli.options import GRID_DEFAULT, PIXELS_DEFAULT, GridOpt, MaxPixelsOpt, ScreenOpt, parse_screen

inspect_app = typer.Typer(
    help="Debug prompts and replies: print the system prompt, parse a raw model reply.",
    no_args_is_help=True,
)

AbsoluteOpt = Annotated[
    bool,
    typer.Option("--absolute", help="Absolute pixels of the resized image (Qwen2.5-VL style)."),
]


def _settings(grid: int, absolute: bool, max_pixels: int):  # type: ignore[no-untyped-def]
    from model.qwen3vl import CoordinateGrid, PixelBudget

    return CoordinateGrid(size=grid, mode="absolute" if absolute else "relative"), PixelBudget(
        max_pixels=max_pixels
    )


@inspect_app.command("prompt")
def inspect_prompt(
    screen: ScreenOpt = "1280x800",
    grid: GridOpt = GRID_DEFAULT,
    absolute: AbsoluteOpt = False,
    max_pixels: MaxPixelsOpt = PIXELS_DEFAULT,
    no_response_format: Annotated[
        bool, typer.Option("--no-response-format", help="Leave out our response-format rules.")
    ] = False,
) -> None:
    """Print the exact system prompt the model receives for a screen of this size."""
    from model.qwen3vl import smart_resize, system_prompt

    geometry = parse_screen(screen)
    g, budget = _settings(grid, absolute, max_pixels)
    h, w = smart_resize(
        round(geometry.height * geometry.scale), round(geometry.width * geometry.scale), budget
    )
    typer.echo(system_prompt(g, (w, h), response_format=not no_response_format))


@inspect_app.command("parse")
def inspect_parse(
    screen: ScreenOpt = "1280x800",
    grid: GridOpt = GRID_DEFAULT,
    absolute: AbsoluteOpt = False,
    max_pixels: MaxPixelsOpt = PIXELS_DEFAULT,
) -> None:
    """Read a raw model reply on stdin; print the actions as JSON in screen pixels (exit 0),
    or the parse error and its reason (exit 2)."""
    from agent.terminal import terminal_safe, terminal_safe_json
    from model.qwen3vl import ParseError, parse_reply, smart_resize

    geometry = parse_screen(screen)
    g, budget = _settings(grid, absolute, max_pixels)
    h, w = smart_resize(geometry.height, geometry.width, budget)
    # Bytes that are not UTF-8 become lone surrogates, which the parser refuses like any reply.
    raw = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
    try:
        decision = parse_reply(raw, geometry, g, image_size=(w, h))
    except ParseError as e:
        typer.echo(f"parse error: {terminal_safe(e.reason)}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    out = {
        "screen": {"width": geometry.width, "height": geometry.height},
        "thought": decision.thought,
        "summary": decision.summary,
        "actions": [a.model_dump() for a in decision.actions],
    }
    # The model's text as JSON whose terminal controls (C1, DEL, bidi overrides) are JSON escapes.
    typer.echo(terminal_safe_json(json.dumps(out, ensure_ascii=False, indent=2)))
