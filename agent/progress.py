"""A live progress view on the terminal (rich): one line per step with its action, latency and
tokens, and the final answer or explanation at the end. Written to stderr so stdout stays clean.
Every text from the model (or the page) is shown, never obeyed: rich markup and terminal controls
are escaped (`_shown`).
"""

from __future__ import annotations

from typing import Any

from actions.types import Observation, describe_action
from agent.observers import ObserverBase
from agent.terminal import terminal_safe
from agent.trajectory import RunResult, Step

STATUS_STYLE = {
    "success": "bold green",
    "failure": "bold red",
    "error": "bold red",
    "blocked": "bold yellow",
    "budget": "bold magenta",
    "aborted": "bold magenta",
}


def _shown(text: str) -> str:
    """Text for a markup line: control characters written out, then rich markup escaped."""
    from rich.markup import escape

    return escape(terminal_safe(text))


class ConsoleProgress(ObserverBase):
    """Prints each step as it finishes; `console` defaults to a rich Console on stderr."""

    def __init__(self, console: Any = None, max_steps: int | None = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True, highlight=False)
        self.max_steps = max_steps
        self._status: Any = None

    def _spin(self, text: str) -> None:
        self._stop_spin()
        self._status = self.console.status(text)
        self._status.start()

    def _stop_spin(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def on_start(self, instruction: str) -> None:
        self.console.print(f"[bold]Task:[/bold] {_shown(instruction)}", markup=True)
        self._spin("step 1: thinking...")

    def on_step(self, step: Step, observation: Observation | None) -> None:
        self._stop_spin()
        budget = f"/{self.max_steps}" if self.max_steps else ""
        if step.kind == "plan":
            items = "; ".join(step.plan) or "(no plan)"
            what = f"[cyan]plan[/cyan] {_shown(items)}"
        elif step.kind == "parse_error":
            what = f"[red]unparseable reply[/red] ({_shown(step.error or '')})"
        elif step.kind == "explanation":
            what = f"[yellow]why blocked[/yellow] {_shown(step.summary or '')}"
        else:
            what = _shown(step.summary or (describe_action(step.action) if step.action else ""))
            if step.action is not None and step.summary:
                what += f" [dim]({_shown(describe_action(step.action))})[/dim]"
            if step.outcome is not None and step.outcome.kind != "executed":
                what += f" [yellow]{step.outcome.kind}: {_shown(step.outcome.reason)}[/yellow]"
            elif step.screen_changed is False:
                what += " [dim]no visible effect[/dim]"
        secs = (step.timing.predict_ms + step.timing.execute_ms) / 1000
        tokens = f"{step.usage.prompt_tokens}{'~' if step.usage.estimated else ''} tok"
        self.console.print(
            f"[bold]{step.index}{budget}[/bold] {what}  [dim]{secs:.1f} s, {tokens}[/dim]", markup=True
        )
        self._spin(f"step {step.index + 1}: thinking...")

    def on_finish(self, result: RunResult) -> None:
        self._stop_spin()
        style = STATUS_STYLE.get(result.status, "bold")
        self.console.print(
            f"[{style}]{result.status}[/{style}] after {len(result.steps)} steps, {result.duration_s:.1f} s",
            markup=True,
        )
        final = result.explanation or result.answer
        if final:
            self.console.print(_shown(final), markup=True)
        if result.record_dir:
            self.console.print(f"[dim]recorded in {_shown(result.record_dir)}/report.html[/dim]", markup=True)
