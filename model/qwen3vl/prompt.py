"""Rendering what Qwen3-VL reads: the system prompt with the `computer_use` tool, and the user turns.

Templates live in model/prompts/ and are rendered strictly: a missing variable is an error.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from pydantic import BaseModel, ConfigDict

from actions.errors import QwenAgentError
from model.qwen3vl.constants import DEFAULT_GRID, STOP_STRINGS, TOOL_NAME
from model.qwen3vl.grid import CoordinateGrid
from model.qwen3vl.vision import PixelBudget, resize_for_model
from model.types import ChatMessage, ImagePart, ModelRequest, TextPart


class PromptError(QwenAgentError):
    """A prompt template is missing or was rendered without one of its variables."""


@cache
def load_prompt(name: str) -> str:
    """A prompt file's text (package data in model/prompts/), without a final newline."""
    try:
        text = resources.files("model.prompts").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise PromptError(f"prompt file {name!r} is missing from model/prompts") from e
    return text.removesuffix("\n")


def render_template(name: str, **values: str) -> str:
    """Render a prompt file with ${name} placeholders; every placeholder must be given."""
    try:
        return Template(load_prompt(name)).substitute(values)
    except KeyError as e:
        raise PromptError(f"prompt {name!r} needs a value for {e.args[0]!r}") from e


def computer_use_function(resolution: str) -> dict[str, Any]:
    """The `computer_use` function definition, keys in the order the cookbook serialises them."""
    schema = json.loads(load_prompt("computer_use_schema.json"))
    actions = schema["actions"]
    action_description = "The action to perform. The available actions are:\n" + "\n".join(
        f"* `{a['name']}`: {a['description']}" for a in actions
    )
    properties: dict[str, Any] = {
        "action": {
            "description": action_description,
            "enum": [a["name"] for a in actions],
            "type": "string",
        },
        **schema["properties"],
    }
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": render_template("computer_use_description.txt", resolution=resolution),
            "parameters": {"properties": properties, "required": ["action"], "type": "object"},
        },
    }


def system_prompt(
    grid: CoordinateGrid = CoordinateGrid(),
    image_size: tuple[int, int] = (DEFAULT_GRID, DEFAULT_GRID),
    response_format: bool = True,
) -> str:
    """The exact system message: assistant line, Hermes tools block, and our response-format rules.

    `image_size` (width, height of the resized screenshot) matters only in absolute mode.
    """
    function_json = json.dumps(computer_use_function(grid.resolution_text(image_size)), ensure_ascii=False)
    text = render_template("system.txt", function_json=function_json)
    if response_format:
        text += "\n\n" + load_prompt("response_format.txt")
    return text


class PastTurn(BaseModel):
    """A recent step shown with its screenshot: the image the model saw and its raw reply."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    image: Any  # PIL.Image.Image (screen pixels; resized at render time)
    reply: str


class PromptContext(BaseModel):
    """Everything one step's prompt is built from. Images are screenshots in screen pixels."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    instruction: str
    current_image: Any  # PIL.Image.Image
    previous_actions: tuple[str, ...] = ()  # one line per step older than `recent`
    recent: tuple[PastTurn, ...] = ()
    plan: tuple[str, ...] = ()
    plan_progress: int = 0  # the sub-goal in progress (1-based; 0 = none reported yet)
    feedback: tuple[str, ...] = ()  # notes on the last step: parse errors, no effect, blocked


class ProtocolSettings(BaseModel):
    """Wire-format knobs: coordinate grid, pixel budget, token budget, response-format rules."""

    model_config = ConfigDict(frozen=True)

    grid: CoordinateGrid = CoordinateGrid()
    pixels: PixelBudget = PixelBudget()
    max_new_tokens: int = 512
    response_format: bool = True


def user_text(context: PromptContext) -> str:
    """The instruction block: task, plan, and one line per older step (OSWorld Qwen3-VL agent wording)."""
    plan_block = (
        render_template("plan_block.txt", plan="\n".join(f"{i}. {s}" for i, s in enumerate(context.plan, 1)))
        if context.plan
        else ""
    )
    return render_template(
        "user_turn.txt",
        instruction=context.instruction,
        plan_block=plan_block,
        previous_actions="\n".join(context.previous_actions) or "None",
    )


def render(context: PromptContext, settings: ProtocolSettings = ProtocolSettings()) -> ModelRequest:
    """Messages for one step: system; for each recent step user[image] + assistant[reply];
    then user[current image]. The instruction text rides on the first user turn, as OSWorld does.
    """
    current = resize_for_model(context.current_image, settings.pixels)
    system = system_prompt(settings.grid, current.size, settings.response_format)
    messages = [ChatMessage(role="system", content=(TextPart(text=system),))]
    instruction = TextPart(text=user_text(context))
    for i, turn in enumerate(context.recent):
        image = ImagePart(image=resize_for_model(turn.image, settings.pixels))
        parts: tuple[TextPart | ImagePart, ...] = (image, instruction) if i == 0 else (image,)
        messages.append(ChatMessage(role="user", content=parts))
        messages.append(ChatMessage(role="assistant", content=(TextPart(text=turn.reply),)))
    last: list[TextPart | ImagePart] = [ImagePart(image=current)]
    if not context.recent:
        last.append(instruction)
    if 1 <= context.plan_progress <= len(context.plan):
        # Progress rides on the newest turn, so the instruction and plan text above stay byte-stable.
        step_no = context.plan_progress
        last.append(
            TextPart(
                text=render_template(
                    "plan_progress.txt",
                    current=str(step_no),
                    total=str(len(context.plan)),
                    title=context.plan[step_no - 1],
                )
            )
        )
    if context.feedback:
        last.append(TextPart(text=render_template("feedback.txt", feedback=" ".join(context.feedback))))
    messages.append(ChatMessage(role="user", content=tuple(last)))
    # Generation ends right after the call: the closing tag is the stop string.
    return ModelRequest(messages=tuple(messages), max_new_tokens=settings.max_new_tokens, stop=STOP_STRINGS)
