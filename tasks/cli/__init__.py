"""The `qwen-agent` command line (composition root): one module per command (run, eval, job,
calibrate, sandbox, inspect), the flags they share in options.py, exit codes in common.py. Heavy
modules are imported inside commands so that `--help` works with no display and without torch,
transformers, pyautogui or playwright. `python -m tasks.cli` runs it too.
"""

from __future__ import annotations

import sys
import traceback

import typer

from tasks.cli.calibrate import calibrate_command
from tasks.cli.common import console_error, exit_on_error
from tasks.cli.eval import EVAL_EPILOG, eval_command
from tasks.cli.grounding import grounding_app, grounding_eval_command
from tasks.cli.inspect import inspect_app
from tasks.cli.job import job_app
from tasks.cli.rescore import RESCORE_EPILOG, rescore_command
from tasks.cli.run import RUN_EXAMPLES, run_command
from tasks.cli.sandbox import sandbox_command

app = typer.Typer(
    name="qwen-agent",
    help="A GUI agent that sees the screen and operates it with a locally hosted Qwen3-VL model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(inspect_app, name="inspect")
app.add_typer(job_app, name="job")
app.add_typer(grounding_app, name="grounding")
app.command("run", epilog=RUN_EXAMPLES)(run_command)
app.command("eval", epilog=EVAL_EPILOG)(eval_command)
# `eval grounding PATH` and `eval rescore RUNS` are eval's other forms (main() routes them: their
# first word is no suite name).
app.command("eval grounding", hidden=True)(grounding_eval_command)
app.command("eval rescore", hidden=True, epilog=RESCORE_EPILOG)(rescore_command)
app.command("calibrate")(calibrate_command)
app.command("sandbox")(sandbox_command)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"qwen-agent {version('qwen3vl-desk-agent')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """A GUI agent that sees the screen and operates it with a locally hosted Qwen3-VL model."""


EVAL_FORMS = {"grounding": "eval grounding", "rescore": "eval rescore"}


def route(argv: list[str]) -> list[str]:
    """`eval grounding ...` -> `"eval grounding" ...` (and rescore); every other command line as it is."""
    if len(argv) >= 2 and argv[0] == "eval" and argv[1] in EVAL_FORMS:
        return [EVAL_FORMS[argv[1]], *argv[2:]]
    return argv


def main() -> None:
    """Console entry point: our own errors print one clear line instead of a traceback. Everything
    printed passes the secrets' redactor (agent.redacted_output), a crash's traceback included."""
    from actions.secrets import Redactor
    from agent.redacted_output import redacted_output

    with redacted_output(Redactor.from_environment()):
        try:
            with exit_on_error():
                app(args=route(sys.argv[1:]))
        except Exception:
            # Printed here, while stderr is still redacted (a traceback can quote a URL with a secret);
            # exit 1, as an uncaught exception would.
            traceback.print_exc()
            sys.exit(1)


__all__ = ["app", "console_error", "main", "route"]
