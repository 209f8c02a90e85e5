"""Our agent behind OSWorld's agent interface, for OSWorld's own runner (run.py / lib_run_single.py).

OSWorld drives an agent as: `agent.reset(runtime_logger, vm_ip=env.vm_ip)` (older runners:
`agent.reset(runtime_logger)` or `agent.reset()`) once per task, then per step
`response, actions = agent.predict(instruction, obs)` with obs = {"screenshot": PNG bytes,
"accessibility_tree": str | None, ...}, and `env.step(action)` for each string in `actions`: a
pyautogui code string run in the VM, or one of the special replies WAIT, DONE, FAIL.

Each `predict` is one turn of our own loop (agent.episode): our prompt and context policy over the
steps so far (the last K screenshots as images, older steps as "Step i: ..." lines, feedback notes),
one model call, our parser, the model's 0..1000 grid mapped to the VM's screen pixels by
model.qwen3vl.to_screen, and the action turned into pyautogui source by actions.pyautogui_code.
Unlike OSWorld's bundled Qwen3-VL agent, `terminate` with status failure becomes FAIL (the only way
to score OSWorld's infeasible tasks), and an unparseable reply becomes WAIT plus a note that tells
the model what was wrong on the next step.

Nothing here imports torch: OSWorld's runner machine needs only this package's light dependencies
(pydantic, pillow, numpy, httpx) and a vLLM (or other OpenAI-compatible) endpoint.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Mapping
from typing import Any

from actions.pyautogui_code import action_code, special_code
from actions.types import Action, Executed, Finish, ScreenGeometry, Screenshot, describe_action
from agent.context import next_context
from agent.detection import expects_change, screen_changed
from agent.options import AgentOptions
from agent.state import repeats
from agent.trajectory import Step
from model.backend import ModelBackend
from model.config import ModelConfig
from model.qwen3vl import (
    DEFAULT_GRID,
    CoordinateGrid,
    ParseError,
    PixelBudget,
    ProtocolSettings,
    parse_reply,
    render,
    render_template,
    reply_text,
    smart_resize,
)

log = logging.getLogger(__name__)

# The variable an `api_key` argument is handed to the OpenAI backend in (it reads keys from the
# environment only, so that a key never sits in a config value that gets logged).
API_KEY_ENV = "QWEN_AGENT_OSWORLD_API_KEY"


class QwenOSWorldAgent:
    """OSWorld agent (action space `pyautogui`, observation `screenshot`) running our Qwen3-VL protocol.

    `screen_size` is the VM screen's (width, height) in pixels, the frame pyautogui clicks in
    (OSWorld's default 1920x1080); the screenshot may be larger (HiDPI) and is scaled accordingly.
    `backend` replaces the OpenAI-compatible client (any object with `generate` and `close`, e.g.
    model.scripted.ScriptedBackend). `max_steps` bounds the model calls per task: after it, predict
    returns no action at all (OSWorld's runner then just counts the step).
    """

    def __init__(
        self,
        model: str = "Qwen/Qwen3-VL-8B-Instruct",
        base_url: str = "http://localhost:8000/v1",
        api_key: str | None = None,
        max_steps: int = 15,
        screen_size: tuple[int, int] = (1920, 1080),
        history_images: int = 4,
        grid_size: int = DEFAULT_GRID,
        max_new_tokens: int = 512,
        thinking: bool = False,
        max_pixels: int = PixelBudget().max_pixels,
        timeout_s: float = 120.0,
        backend: ModelBackend | None = None,
        action_space: str = "pyautogui",
        observation_type: str = "screenshot",
    ) -> None:
        if action_space != "pyautogui":
            raise ValueError(f"action_space must be 'pyautogui' (got {action_space!r})")
        if observation_type not in ("screenshot", "screenshot_a11y_tree"):
            # The prompt shows screenshots only; an accessibility tree, when sent, is ignored.
            raise ValueError(f"observation_type must be 'screenshot' (got {observation_type!r})")
        width, height = screen_size
        self.screen = ScreenGeometry(width=width, height=height)
        pixels = PixelBudget(max_pixels=max_pixels)
        self.options = AgentOptions(
            max_steps=max_steps,
            history_images=history_images,
            thinking=thinking,
            protocol=ProtocolSettings(
                grid=CoordinateGrid(size=grid_size), pixels=pixels, max_new_tokens=max_new_tokens
            ),
        )
        if backend is None:
            from model.openai_backend import OpenAIBackend

            key_env = "OPENAI_API_KEY"
            if api_key is not None:
                os.environ[API_KEY_ENV] = api_key
                key_env = API_KEY_ENV
            config = ModelConfig(
                model=model,
                endpoint=base_url,
                api_key_env=key_env,
                timeout_s=timeout_s,
                min_pixels=min(pixels.min_pixels, max_pixels),
                max_pixels=max_pixels,
            )
            backend = OpenAIBackend(config)
        self.backend: ModelBackend = backend
        self.logger = log
        self.steps: list[Step] = []
        self.images: dict[int, Screenshot] = {}  # step index -> the screenshot it was decided on

    # -- OSWorld's interface ---------------------------------------------------------------------
    def reset(self, _logger: logging.Logger | None = None, vm_ip: str | None = None, **_: Any) -> None:
        """Start a new task: forget the steps. `vm_ip` is not needed (the runner executes the code)."""
        self.logger = _logger or log
        self.steps = []
        self.images = {}

    def predict(self, instruction: str, obs: Mapping[str, Any]) -> tuple[str, list[str]]:
        """One step: (raw model reply, [pyautogui code] or ["WAIT"] / ["DONE"] / ["FAIL"]).

        Returns ("", []) once `max_steps` model calls were made, ("", ["WAIT"]) for an observation
        without a screenshot. Raises model.backend.ModelError
        when the endpoint cannot answer at all (our failure, not the model's).
        """
        from PIL import Image

        shot = obs.get("screenshot")
        if not isinstance(shot, bytes | bytearray) or not shot:
            # OSWorld's controller hands over None when the VM's screenshot failed after its retries:
            # nothing to decide on, so wait for the next one without spending a model call or a step.
            self.logger.warning("no screenshot in the observation: WAIT")
            return "", ["WAIT"]
        image = Image.open(io.BytesIO(shot)).convert("RGB")
        geometry = self.screen.model_copy(update={"scale": image.width / self.screen.width})
        turns = sum(1 for s in self.steps if s.kind in ("action", "parse_error"))
        if turns >= self.options.max_steps:
            return "", []
        self._judge_last_action(image, geometry)
        context = next_context(instruction, self.steps, self.images, image, self.options)
        request = render(context, self.options.protocol)
        if request.max_new_tokens != self.options.max_new_tokens:
            request = request.model_copy(update={"max_new_tokens": self.options.max_new_tokens})
        response = self.backend.generate(request)
        raw = reply_text(response.text, response.tool_calls)
        index = len(self.steps) + 1
        base = Step(index=index, raw_reply=raw, geometry=geometry)
        h, w = smart_resize(image.height, image.width, self.options.protocol.pixels)
        try:
            decision = parse_reply(
                response.text, geometry, self.options.protocol.grid, (w, h), response.tool_calls
            )
        except ParseError as e:
            note = render_template("feedback_parse_error.txt", reason=e.reason)
            self.steps.append(
                base.model_copy(
                    update={"kind": "parse_error", "error": e.reason, "feedback": (note,), "setback": True}
                )
            )
            self.logger.info("step %d: unparseable reply (%s): WAIT", index, e.reason)
            return raw, ["WAIT"]
        action = decision.action
        feedback: tuple[str, ...] = ()
        if len(decision.actions) > 1:
            # One action per step, as in our loop: every step is observed before the next decision.
            feedback = (render_template("feedback_one_call.txt", count=str(len(decision.actions))),)
        step = base.model_copy(
            update={
                "thought": decision.thought,
                "summary": decision.summary,
                "action": action,
                "feedback": feedback,
            }
        )
        self.steps.append(step)
        if not isinstance(action, Finish):
            self.images[index] = image
            for old in list(self.images)[: max(len(self.images) - self.options.history_images, 0)]:
                del self.images[old]
        self.logger.info("step %d: %s", index, describe_action(action))
        return raw, [osworld_action(action)]

    def close(self) -> None:
        self.backend.close()

    # -- what the last action did ------------------------------------------------------------------
    def _judge_last_action(self, image: Screenshot, geometry: ScreenGeometry) -> None:
        """Mark the previous action step as run by OSWorld and, as our loop does, tell the model
        when it changed nothing on the screen (and when it keeps repeating such an action)."""
        if not self.steps or self.steps[-1].kind != "action" or self.steps[-1].action is None:
            return
        last = self.steps[-1]
        action = last.action
        before = self.images.get(last.index)
        if action is None or before is None:
            return
        changed = screen_changed(before, image, geometry.scale)
        notes = list(last.feedback)
        if not changed and expects_change(action):
            notes.append(render_template("feedback_no_effect.txt", action=describe_action(action)))
        count = repeats(self.steps[:-1], action)
        if count >= self.options.loop_nudge_after and not changed:
            notes.append(
                render_template("feedback_loop.txt", action=describe_action(action), count=str(count))
            )
        self.steps[-1] = last.model_copy(
            update={
                "outcome": Executed(),
                "screen_changed": changed,
                "feedback": tuple(notes),
                "setback": len(notes) > len(last.feedback),
            }
        )


def osworld_action(action: Action) -> str:
    """The string OSWorld's env.step takes for one action: WAIT / DONE / FAIL or pyautogui code."""
    special = special_code(action)
    if special is not None:
        return special
    code = action_code(action)
    assert code is not None  # every action that is not special has code
    return code
