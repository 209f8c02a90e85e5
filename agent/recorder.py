"""The run folder, written as the run goes: run.json (instruction and options, at the start),
traj.jsonl (one line per step, OSWorld fields plus ours), step_<n>.png (the screenshot the step was
decided on, as the model saw it), result.json and report.html (the action drawn over each screenshot).
agent.run_folder reads it back.

Screenshots, lines and the report are written by a background writer (agent.record_writer), off
the loop's path: a step's PNG is renamed into place before its line is written, and every finished
step is on disk before the next model call returns (agent.loop waits for the writer there), so a
crash or Ctrl+C keeps every finished step but at most the newest one. Known
secret values, in every encoding (actions.secrets.Redactor), are redacted from every string written
(from JSON's string values before encoding: the files stay valid JSON). Text that UTF-8 cannot
carry (a lone surrogate, from a model or an undecodable argument) is written as its escape
(`\udc80`): inside JSON strings that is the same value, so nothing is lost and no write fails.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actions.secrets import Redactor, redact_data, secret_names
from actions.types import Finish, Observation, TypeText
from agent.observers import ObserverBase
from agent.options import AgentOptions
from agent.record_writer import BackgroundWriter
from agent.report import write_report
from agent.trajectory import RunResult, Step

FINAL_SCREEN = "final.png"  # the screen as the run left it, after its last action


def utf8_safe(text: str) -> str:
    """`text` with any lone surrogate written as its escape (`\\udc80`): safe to write as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def osworld_line(step: Step) -> dict[str, Any]:
    """One traj.jsonl record: OSWorld's fields, then ours (`done` marks the model's final action)."""
    done = isinstance(step.action, Finish)
    return {
        "step_num": step.index,
        "action": step.action.model_dump(mode="json") if step.action else None,
        "response": step.raw_reply,
        "reward": 0,
        "done": done,
        "info": {"url": step.url} if step.url else {},
        "screenshot_file": step.screenshot if step.kind in ("action", "parse_error") else None,
        "kind": step.kind,
        "thought": step.thought,
        "summary": step.summary,
        "outcome": step.outcome.model_dump(mode="json") if step.outcome else None,
        "error": step.error,
        "plan": list(step.plan),
        "feedback": list(step.feedback),
        "screen_changed": step.screen_changed,
        "element": step.element.model_dump(mode="json") if step.element else None,
        "parameters": list(step.parameters),
        "setback": step.setback,
        "geometry": step.geometry.model_dump() if step.geometry else None,
        "timings": step.timing.model_dump(),
        "tokens": step.usage.model_dump(),
    }


class Recorder(ObserverBase):
    """Writes the run folder; `path` is created if missing. `redactor` (default: every secret in
    the environment) is applied to every text written."""

    def __init__(
        self,
        path: Path,
        options: AgentOptions | None = None,
        about: Mapping[str, str] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.path = path
        self.options = options
        self.about = dict(about or {})
        self.final_screen: str | None = None
        self.steps: list[Step] = []
        self.redact = redactor if redactor is not None else Redactor.from_environment()
        self.instruction = ""
        self.started = time.time()
        path.mkdir(parents=True, exist_ok=True)
        self._traj = (path / "traj.jsonl").open("w", encoding="utf-8", errors="backslashreplace")
        self._report_due: tuple[Step, ...] | None = None  # the steps the next report shows
        self._writer = BackgroundWriter(idle=self._report_if_due)

    def wait_written(self) -> None:
        """Block until every step handed in so far is on disk (lines, screenshots, the report)."""
        self._writer.wait()

    def _learn_secrets(self, step: Step) -> None:
        if isinstance(step.action, TypeText):
            self.redact.add(secret_names(step.action.text))

    def on_start(self, instruction: str) -> None:
        self.instruction = instruction
        self.redact.add(secret_names(instruction))
        options = self.options.model_dump(mode="json") if self.options else None
        meta = {"instruction": instruction, "about": self.about, "options": options}
        text = json.dumps(redact_data(meta, self.redact), ensure_ascii=False, indent=2)
        (self.path / "run.json").write_text(text + "\n", encoding="utf-8", errors="backslashreplace")
        self._report(None)

    def on_step(self, step: Step, observation: Observation | None) -> None:
        self._learn_secrets(step)
        # Parse errors quote the reply: UTF-8 safe here (the report redacts them as every text).
        self.steps.append(
            step if step.error is None else step.model_copy(update={"error": utf8_safe(step.error)})
        )
        image = observation.image if observation is not None else None
        shot = step.screenshot if image is not None and step.kind in ("action", "parse_error") else None
        line = json.dumps(redact_data(osworld_line(step), self.redact), ensure_ascii=False)
        steps = tuple(self.steps)  # as of this step: the loop goes on appending meanwhile

        def write() -> None:
            if image is not None and shot:
                self._save_png(image, shot)  # in place before the line that names it
            self._traj.write(line + "\n")
            self._traj.flush()
            self._report_due = steps

        self._writer.submit(write)

    def on_screen(self, observation: Observation) -> None:
        self.final_screen = FINAL_SCREEN
        image = observation.image
        self._writer.submit(lambda: self._save_png(image, FINAL_SCREEN))

    def _save_png(self, image: Any, name: str) -> None:
        # Lossless and unmarked, so a resumed run shows the model exactly what it saw; PNG level 1
        # is 2-3x faster to encode than the default, a little larger on disk. Written aside and
        # renamed: a file by this name is always a whole image.
        tmp = self.path / f".{name}.tmp"
        image.save(tmp, format="PNG", compress_level=1)
        os.replace(tmp, self.path / name)

    def _report_if_due(self) -> None:
        steps, self._report_due = self._report_due, None
        if steps is not None:
            self._report(None, steps)

    def on_finish(self, result: RunResult) -> None:
        self._writer.close()  # every step, the final screen and their report first
        self._traj.close()
        data = result.model_dump(mode="json", exclude={"steps"})
        data["steps"] = len(result.steps)
        data["final_action"] = result.final_action.model_dump(mode="json") if result.final_action else None
        data["prompt_tokens"] = sum(s.usage.prompt_tokens for s in result.steps)
        data["tokens_estimated"] = any(s.usage.estimated for s in result.steps)
        data["final_screenshot"] = self.final_screen
        data["about"] = self.about
        if self.options is not None:
            data["options"] = self.options.model_dump(mode="json")
        text = json.dumps(redact_data(data, self.redact), ensure_ascii=False, indent=2)
        (self.path / "result.json").write_text(text + "\n", encoding="utf-8", errors="backslashreplace")
        self._report(result)

    def _report(self, result: RunResult | None, steps: tuple[Step, ...] | None = None) -> None:
        # The report passes every text of the run through `redact`: the redactor given also makes
        # them UTF-8 safe.
        shown = list(self.steps if steps is None else steps)
        write_report(self.path, self.instruction, shown, result, self._safe, self.about, self.final_screen)

    def _safe(self, text: str) -> str:
        return utf8_safe(self.redact(text))
