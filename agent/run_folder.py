"""Reading a run folder back: the instruction, the options, every step as it was recorded, and the
screenshots by path. A run cut off mid-step (SIGKILL, power loss) loads up to its last whole line.

`continue_context` rebuilds what the model would see for the next step from the folder alone, with
the same function the live loop uses (agent.context.next_context), so a run can be resumed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from actions.errors import BadInput, QwenAgentError
from actions.types import Action, ElementInfo, Frozen, Outcome, ScreenGeometry, Screenshot
from agent.context import next_context
from agent.options import AgentOptions
from agent.trajectory import RunResult, Step, Timing, TokenUsage

if TYPE_CHECKING:
    from model.qwen3vl import PromptContext

RUN_FILE = "run.json"  # written when the run starts: instruction and options
TRAJ_FILE = "traj.jsonl"
RESULT_FILE = "result.json"

_ACTION: TypeAdapter[Action] = TypeAdapter(Action)
_OUTCOME: TypeAdapter[Outcome] = TypeAdapter(Outcome)


class RunFolderError(QwenAgentError):
    """The folder is not a run folder, or a line other than the last is damaged."""


class RecordedRun(Frozen):
    """A run as its folder holds it; `result` is None for a run that never finished."""

    folder: Path
    instruction: str
    options: AgentOptions
    steps: tuple[Step, ...]
    result: RunResult | None = None
    torn_tail: bool = False  # the last line was cut off (and left out)

    def screenshot(self, step: Step) -> Path | None:
        """The screenshot the step was decided on (what the model saw), when it has one."""
        return self.folder / step.screenshot if step.screenshot else None

    def history_images(self) -> dict[int, Screenshot]:
        """Screenshots of the last K action steps (K = options.history_images), as the loop caches them."""
        from PIL import Image

        shown = [s for s in self.steps if s.kind == "action" and s.screenshot and s.outcome is not None]
        recent = shown[-self.options.history_images :] if self.options.history_images > 0 else []
        images: dict[int, Screenshot] = {}
        for step in recent:
            path = self.screenshot(step)
            assert path is not None
            with Image.open(path) as image:
                images[step.index] = image.convert("RGB")
        return images

    def continue_context(self, current_image: Screenshot) -> PromptContext:
        """The prompt context for step n+1 on `current_image` (a fresh screenshot of the world)."""
        return next_context(self.instruction, self.steps, self.history_images(), current_image, self.options)


OWN_FILES = (RUN_FILE, TRAJ_FILE, RESULT_FILE, "report.html", ".report.html.tmp")


def create_run_folder(folder: Path | None, root: Path = Path("runs"), overwrite: bool = False) -> Path:
    """A folder for a new run, created now. None: `root/<YYYYmmdd-HHMMSS>`, made exclusively (a run
    started in the same second gets `-2`, `-3`, ...). A given folder must be empty or missing; with
    `overwrite`, an old run's own files there are removed first (nothing else is touched)."""
    from datetime import datetime

    if folder is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        root.mkdir(parents=True, exist_ok=True)
        for n in range(1, 1000):
            candidate = root / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            return candidate
        raise RunFolderError(f"no free run folder name under {root} for {stamp}")
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"--record-dir {folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not overwrite:
            raise BadInput(
                f"--record-dir {folder} is not empty (another run's files would be mixed with this "
                "one's): choose a new folder, or pass --overwrite to replace the old run"
            )
        for path in folder.iterdir():
            own_png = path.suffix == ".png" and path.name.startswith(("step_", "final"))
            if path.name in OWN_FILES or own_png or path.name.endswith(".png.tmp"):
                path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def step_from_line(line: dict[str, Any]) -> Step:
    """A traj.jsonl record (agent.recorder.osworld_line) back to the Step it was written from."""
    info = line.get("info") or {}
    geometry = line.get("geometry")
    return Step(
        index=line["step_num"],
        kind=line.get("kind", "action"),
        screenshot=line.get("screenshot_file"),
        raw_reply=line.get("response") or "",
        thought=line.get("thought") or "",
        summary=line.get("summary"),
        action=_ACTION.validate_python(line["action"]) if line.get("action") else None,
        outcome=_OUTCOME.validate_python(line["outcome"]) if line.get("outcome") else None,
        error=line.get("error"),
        plan=tuple(line.get("plan") or ()),
        feedback=tuple(line.get("feedback") or ()),
        setback=bool(line.get("setback", False)),
        url=info.get("url"),
        geometry=ScreenGeometry(**geometry) if geometry else None,
        screen_changed=line.get("screen_changed"),
        element=ElementInfo.model_validate(line["element"]) if line.get("element") else None,
        parameters=tuple(line.get("parameters") or ()),
        timing=Timing(**line.get("timings", {})),
        usage=TokenUsage(**line.get("tokens", {})),
    )


def load_run(folder: Path | str) -> RecordedRun:
    """Read `folder` (written by agent.recorder.Recorder). Raises RunFolderError when it is not one."""
    root = Path(folder)
    meta_path, traj_path = root / RUN_FILE, root / TRAJ_FILE
    if not meta_path.is_file() or not traj_path.is_file():
        raise RunFolderError(f"{root} is not a run folder (it needs {RUN_FILE} and {TRAJ_FILE})")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    lines = traj_path.read_text(encoding="utf-8").split("\n")
    steps: list[Step] = []
    torn = False
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            steps.append(step_from_line(json.loads(text)))
        except (ValueError, KeyError, TypeError) as e:
            # Only the last line can be cut off by a crash: anything before it is damage.
            if n < len(lines) - (1 if lines[-1] == "" else 0):
                raise RunFolderError(f"{traj_path}:{n}: not a step record ({e})") from e
            torn = True
    result = None
    if (root / RESULT_FILE).is_file():
        data = json.loads((root / RESULT_FILE).read_text(encoding="utf-8"))
        fields = {
            k: data[k] for k in ("instruction", "status", "answer", "explanation", "duration_s") if k in data
        }
        result = RunResult(**fields, steps=tuple(steps), record_dir=str(root))
    return RecordedRun(
        folder=root,
        instruction=meta["instruction"],
        options=_options(meta.get("options") or {}),
        steps=tuple(steps),
        result=result,
        torn_tail=torn,
    )


def _options(recorded: dict[str, Any]) -> AgentOptions:
    """The run's options; a field this version does not know (a newer run's) is left out."""
    return AgentOptions.model_validate({k: v for k, v in recorded.items() if k in AgentOptions.model_fields})
