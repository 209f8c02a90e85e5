"""Golden test: the system prompt matches Qwen's cookbook tool block and schema byte for byte.

The expected text is assembled here from the documented pieces (shared/docs/qwen3vl-protocol.md
section 1), independently of the package's prompt files, so any change to those files shows.
"""

from __future__ import annotations

import json

import pytest
from PIL import Image

from model.qwen3vl import (
    CoordinateGrid,
    PastTurn,
    PromptContext,
    PromptError,
    ProtocolSettings,
    render,
    render_template,
    system_prompt,
)
from model.types import ImagePart, TextPart

pytestmark = pytest.mark.unit

DESCRIPTION = [
    "Use a mouse and keyboard to interact with a computer, and take screenshots.",
    "* This is an interface to a desktop GUI. You do not have access to a terminal or applications menu. You must click on desktop icons to start applications.",
    "* Some applications may take time to start or process actions, so you may need to wait and take successive screenshots to see the results of your actions. E.g. if you click on Firefox and a window doesn't open, try wait and taking another screenshot.",
    "* The screen's resolution is {res}.",
    "* Whenever you intend to move the cursor to click on an element like an icon, you should consult a screenshot to determine the coordinates of the element before moving the cursor.",
    "* If you tried clicking on a program or link but it failed to load, even after waiting, try adjusting your cursor position so that the tip of the cursor visually falls on the element that you want to click.",
    "* Make sure to click any buttons, links, icons, etc with the cursor tip in the center of the element. Don't click boxes on their edges.",
]  # fmt: skip
ACTIONS = [
    ("key", "Performs key down presses on the arguments passed in order, then performs key releases in reverse order."),
    ("type", "Type a string of text on the keyboard."),
    ("mouse_move", "Move the cursor to a specified (x, y) pixel coordinate on the screen."),
    ("left_click", "Click the left mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("left_click_drag", "Click and drag the cursor to a specified (x, y) pixel coordinate on the screen."),
    ("right_click", "Click the right mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("middle_click", "Click the middle mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("double_click", "Double-click the left mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("triple_click", "Triple-click the left mouse button at a specified (x, y) pixel coordinate on the screen (simulated as double-click since it's the closest action)."),
    ("scroll", "Performs a scroll of the mouse scroll wheel."),
    ("hscroll", "Performs a horizontal scroll (mapped to regular scroll)."),
    ("wait", "Wait specified seconds for the change to happen."),
    ("terminate", "Terminate the current task and report its completion status."),
    ("answer", "Answer a question."),
]  # fmt: skip


def expected_function_json(res: str) -> str:
    action_desc = "The action to perform. The available actions are:\n" + "\n".join(
        f"* `{name}`: {text}" for name, text in ACTIONS
    )
    # Key order as the cookbook serialises: description, enum, type (status: description, type, enum).
    props = {
        "action": {"description": action_desc, "enum": [a for a, _ in ACTIONS], "type": "string"},
        "keys": {"description": "Required only by `action=key`.", "type": "array"},
        "text": {"description": "Required only by `action=type` and `action=answer`.", "type": "string"},
        "coordinate": {"description": "(x, y): The x (pixels from the left edge) and y (pixels from the top edge) coordinates to move the mouse to.", "type": "array"},
        "pixels": {"description": "The amount of scrolling to perform. Positive values scroll up, negative values scroll down. Required only by `action=scroll` and `action=hscroll`.", "type": "number"},
        "time": {"description": "The seconds to wait. Required only by `action=wait`.", "type": "number"},
        "status": {"description": "The status of the task. Required only by `action=terminate`.", "type": "string", "enum": ["success", "failure"]},
    }  # fmt: skip
    fn = {
        "type": "function",
        "function": {
            "name": "computer_use",
            "description": "\n".join(DESCRIPTION).replace("{res}", res),
            "parameters": {"properties": props, "required": ["action"], "type": "object"},
        },
    }
    return json.dumps(fn, ensure_ascii=False)


def expected_system(res: str) -> str:
    return (
        "You are a helpful assistant."
        "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        + expected_function_json(res)
        + "\n</tools>\n\nFor each function call, return a json object with function name and "
        "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def test_system_prompt_matches_cookbook_byte_for_byte() -> None:
    assert system_prompt(response_format=False) == expected_system("1000x1000")


def test_grid_999_and_absolute_mode_change_only_the_resolution_line() -> None:
    assert system_prompt(CoordinateGrid(size=999), response_format=False) == expected_system("999x999")
    absolute = CoordinateGrid(mode="absolute")
    assert system_prompt(absolute, (1280, 800), response_format=False) == expected_system("1280x800")


def test_response_format_section_follows_the_tool_block() -> None:
    full = system_prompt()
    assert full.startswith(expected_system("1000x1000") + "\n\n# Response format\n")
    assert "action=terminate" in full


def test_strict_rendering_rejects_a_missing_variable() -> None:
    with pytest.raises(PromptError, match="instruction"):
        render_template("user_turn.txt", plan_block="", previous_actions="None")


def _img(w: int, h: int, color: str = "white") -> Image.Image:
    return Image.new("RGB", (w, h), color)


def test_first_step_is_system_then_one_user_turn_with_image_and_instruction() -> None:
    ctx = PromptContext(instruction="Open the settings", current_image=_img(1280, 800))
    req = render(ctx)
    assert [m.role for m in req.messages] == ["system", "user"]
    user = req.messages[1]
    assert isinstance(user.content[0], ImagePart) and user.content[0].image.size == (1280, 800)
    assert user.text == (
        "Please generate the next move according to the UI screenshot, instruction and previous "
        "actions.\n\nInstruction: Open the settings\n\nPrevious actions:\nNone"
    )


def test_history_layout_and_stable_prefix() -> None:
    shots = [_img(1920, 1080, c) for c in ("red", "green", "blue")]
    ctx = PromptContext(
        instruction="Book a flight",
        current_image=shots[2],
        previous_actions=("Step 1: click at (10, 10)",),
        recent=(PastTurn(image=shots[0], reply="A"), PastTurn(image=shots[1], reply="B")),
        plan=("Search flights", "Pay"),
        feedback=("The screen did not change.",),
    )
    req = render(ctx, ProtocolSettings())
    roles = [m.role for m in req.messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    first_user = req.messages[1]
    assert isinstance(first_user.content[1], TextPart)
    assert "Plan:\n1. Search flights\n2. Pay" in first_user.text
    assert "Previous actions:\nStep 1: click at (10, 10)" in first_user.text
    assert req.messages[2].text == "A" and req.messages[4].text == "B"
    last = req.messages[-1]
    assert isinstance(last.content[0], ImagePart)
    assert last.content[0].image.size == (1920, 1088)  # smart_resize to multiples of 32
    assert last.text == "Feedback on your previous step: The screen did not change."
    # The system prompt does not depend on the step: a server's prefix cache can reuse it.
    again = render(ctx.model_copy(update={"feedback": ()}))
    assert again.messages[0] == req.messages[0]
