"""Helpers shared by the CLI commands: exit codes, screen-size options, error reporting."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Annotated

import typer

from actions.errors import QwenAgentError
from actions.types import ScreenGeometry


class ExitCode(IntEnum):
    """Process exit codes of `qwen-agent`; scripts can branch on them."""

    SUCCESS = 0
    FAILURE = 1  # the task ended without success (model said so, or budget spent)
    USAGE = 2  # bad input: unparseable reply, bad option, broken task file
    BLOCKED = 3  # the agent explained why the task cannot proceed
    ERROR = 4  # our own failure or a missing model/display/browser
    ABORTED = 130  # Ctrl+C or the kill switch


StuckAfterOpt = Annotated[
    float,
    typer.Option(
        "--stuck-after",
        min=0,
        help="End a run as an error (exit 4; in eval: that task only) when observing or acting makes "
        "no progress for this many seconds (0 = never). The model call has its own --timeout.",
    ),
]
STUCK_AFTER_DEFAULT = 60.0


def console_error(message: str) -> None:
    print(f"qwen-agent: error: {message}", file=sys.stderr)


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn our typed errors into one line on stderr and a distinct exit code."""
    try:
        yield
    except QwenAgentError as e:
        console_error(str(e))
        sys.exit(ExitCode.ERROR)
    except KeyboardInterrupt:
        print("qwen-agent: interrupted", file=sys.stderr)
        sys.exit(ExitCode.ABORTED)


_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def parse_screen(value: str, scale: float = 1.0) -> ScreenGeometry:
    """'1280x800' -> ScreenGeometry in logical pixels."""
    m = _SIZE.match(value)
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        raise typer.BadParameter(f"expected WIDTHxHEIGHT such as 1280x800, got {value!r}")
    return ScreenGeometry(width=int(m.group(1)), height=int(m.group(2)), scale=scale)
