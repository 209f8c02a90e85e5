"""What every CLI command shares: exit codes and turning our errors into one line and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum

from actions.errors import BadInput, QwenAgentError


class ExitCode(IntEnum):
    """Process exit codes of `qwen-agent`; scripts can branch on them."""

    SUCCESS = 0
    FAILURE = 1  # the task ended without success (model said so, or budget spent)
    USAGE = 2  # bad input: unparseable reply, bad option, broken task file
    BLOCKED = 3  # the agent explained why the task cannot proceed
    ERROR = 4  # our own failure or a missing model/display/browser
    ABORTED = 130  # Ctrl+C or the kill switch


def console_error(message: str) -> None:
    print(f"qwen-agent: error: {message}", file=sys.stderr)


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn our typed errors into one line on stderr and a distinct exit code."""
    try:
        yield
    except BadInput as e:
        console_error(str(e))
        sys.exit(ExitCode.USAGE)
    except QwenAgentError as e:
        console_error(str(e))
        sys.exit(ExitCode.ERROR)
    except KeyboardInterrupt:
        print("qwen-agent: interrupted", file=sys.stderr)
        sys.exit(ExitCode.ABORTED)
