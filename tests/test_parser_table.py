"""Parser table: raw Qwen3-VL replies, well-formed and malformed, on a 1920x1080 screen."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actions.types import (
    Click,
    Drag,
    Finish,
    Hotkey,
    MoveTo,
    ScreenGeometry,
    Scroll,
    TypeText,
    Wait,
)
from model.qwen3vl import CoordinateGrid, ParseError, parse_reply, reply_text
from model.types import ToolCall

pytestmark = pytest.mark.unit

SCREEN = ScreenGeometry(width=1920, height=1080)


def call(args: dict[str, object], name: str = "computer_use") -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': args})}\n</tool_call>"


def xml_call(params: dict[str, str], name: str = "computer_use", newlines: bool = True) -> str:
    """The XML parameter form of the call (Qwen3.5-era checkpoints, OSWorld's Qwen3.5 agent)."""
    nl = "\n" if newlines else ""
    body = "".join(f"<parameter={k}>{nl}{v}{nl}</parameter>{nl}" for k, v in params.items())
    return f"<tool_call>{nl}<function={name}>{nl}{body}</function>{nl}</tool_call>"


GOOD: list[tuple[str, str, tuple[object, ...]]] = [
    ("left click", call({"action": "left_click", "coordinate": [500, 500]}), (Click(x=960, y=540),)),
    ("right click", call({"action": "right_click", "coordinate": [0, 0]}), (Click(x=0, y=0, button="right"),)),
    ("middle click", call({"action": "middle_click", "coordinate": [1000, 1000]}), (Click(x=1919, y=1079, button="middle"),)),
    ("double click", call({"action": "double_click", "coordinate": [250, 750]}), (Click(x=480, y=810, count=2),)),
    ("triple click", call({"action": "triple_click", "coordinate": [100, 100]}), (Click(x=192, y=108, count=3),)),
    ("mouse move", call({"action": "mouse_move", "coordinate": [10, 20]}), (MoveTo(x=19, y=22),)),
    ("drag from pointer", call({"action": "left_click_drag", "coordinate": [600, 400]}), (Drag(x=1152, y=432),)),
    ("type", call({"action": "type", "text": "café 東京"}), (TypeText(text="café 東京"),)),
    ("key chord", call({"action": "key", "keys": ["ctrl", "s"]}), (Hotkey(keys=("ctrl", "s")),)),
    ("key aliases", call({"action": "key", "keys": ["Return"]}), (Hotkey(keys=("enter",)),)),
    ("key page_down cmd", call({"action": "key", "keys": ["cmd", "page_down"]}), (Hotkey(keys=("super", "pagedown")),)),
    ("key chord in one string", call({"action": "key", "keys": ["ctrl+shift+t"]}), (Hotkey(keys=("ctrl", "shift", "t")),)),
    ("scroll down", call({"action": "scroll", "pixels": -5}), (Scroll(dy=-5),)),
    ("scroll at point", call({"action": "scroll", "pixels": 3, "coordinate": [500, 500]}), (Scroll(dy=3, x=960, y=540),)),
    ("hscroll", call({"action": "hscroll", "pixels": 4}), (Scroll(dx=4),)),
    ("wait", call({"action": "wait", "time": 2}), (Wait(seconds=2),)),
    ("terminate success", call({"action": "terminate", "status": "success"}), (Finish(status="success"),)),
    ("answer", call({"action": "answer", "text": "42"}), (Finish(status="success", answer="42"),)),
    ("float coordinates", call({"action": "left_click", "coordinate": [500.4, 499.6]}), (Click(x=961, y=540),)),
    (
        "prose around the call",
        "Thought: the button is top left.\nAction: Click Save\n"
        + call({"action": "left_click", "coordinate": [10, 10]})
        + "\nI hope that works.",
        (Click(x=19, y=11),),
    ),
    (
        "thinking edition",
        "The user wants to save. The icon is at the top.\n</think>\n\nAction: Save\n"
        + call({"action": "key", "keys": ["ctrl", "s"]}),
        (Hotkey(keys=("ctrl", "s")),),
    ),
    (
        "thinking edition with a fake call inside the thoughts",
        "<think>maybe " + call({"action": "wait", "time": 1}) + "</think>"
        + call({"action": "left_click", "coordinate": [500, 500]}),
        (Click(x=960, y=540),),
    ),
    (
        "arguments as a JSON string",
        '<tool_call>\n{"name": "computer_use", "arguments": "{\\"action\\": \\"left_click\\", \\"coordinate\\": [500, 500]}"}\n</tool_call>',
        (Click(x=960, y=540),),
    ),
    (
        "closing tag dropped by a stop string",
        'Action: click\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}',
        (Click(x=960, y=540),),
    ),
    (
        "bare JSON fallback",
        'Action: type hello\n{"name": "computer_use", "arguments": {"action": "type", "text": "hello"}}',
        (TypeText(text="hello"),),
    ),
    (
        "several calls in one reply",
        call({"action": "left_click", "coordinate": [500, 500]}) + "\n" + call({"action": "type", "text": "x"}),
        (Click(x=960, y=540), TypeText(text="x")),
    ),
    (
        "answer then terminate merge into one finish",
        call({"action": "answer", "text": "3 results"}) + call({"action": "terminate", "status": "success"}),
        (Finish(status="success", answer="3 results"),),
    ),
    (
        "failure explains itself with the Action line",
        "Action: The Save button is disabled until the terms box is ticked.\n"
        + call({"action": "terminate", "status": "failure"}),
        (Finish(status="failure", answer="The Save button is disabled until the terms box is ticked."),),
    ),
    (
        "nothing runs after a finish",
        call({"action": "terminate", "status": "success"}) + call({"action": "left_click", "coordinate": [1, 1]}),
        (Finish(status="success"),),
    ),
    ("upper-case tag", "<TOOL_CALL>" + json.dumps({"name": "computer_use", "arguments": {"action": "wait"}}) + "</TOOL_CALL>", (Wait(seconds=1),)),
    # The XML parameter form of the same call (Qwen3.5-era checkpoints).
    ("xml inline, as in the issue", "<tool_call><function=computer_use><parameter=action>left_click</parameter><parameter=coordinate>[500, 300]</parameter></function></tool_call>", (Click(x=960, y=324),)),
    ("xml with the template's newlines", xml_call({"action": "double_click", "coordinate": "[250, 750]"}), (Click(x=480, y=810, count=2),)),
    ("xml key list", xml_call({"action": "key", "keys": '["ctrl", "s"]'}), (Hotkey(keys=("ctrl", "s")),)),
    ("xml key chord as a bare string", xml_call({"action": "key", "keys": "ctrl+shift+t"}), (Hotkey(keys=("ctrl", "shift", "t")),)),
    ("xml digits typed stay text", xml_call({"action": "type", "text": "42"}), (TypeText(text="42"),)),
    ("xml text keeps its own newlines", xml_call({"action": "type", "text": "line 1\nline 2\n"}), (TypeText(text="line 1\nline 2\n"),)),
    ("xml text that looks like JSON", xml_call({"action": "type", "text": '{"a": [1]}'}), (TypeText(text='{"a": [1]}'),)),
    ("xml scroll at point", xml_call({"action": "scroll", "pixels": "-5", "coordinate": "[500, 500]"}), (Scroll(dy=-5, x=960, y=540),)),
    ("xml drag with start", xml_call({"action": "left_click_drag", "start_coordinate": "[0, 0]", "coordinate": "[600, 400]"}), (Drag(x=1152, y=432, start_x=0, start_y=0),)),
    ("xml wait", xml_call({"action": "wait", "time": "2.5"}), (Wait(seconds=2.5),)),
    ("xml answer then terminate", xml_call({"action": "answer", "text": "3 results"}) + xml_call({"action": "terminate", "status": "success"}), (Finish(status="success", answer="3 results"),)),
    ("xml after thinking and an Action line", "hmm\n</think>\n\nAction: Save\n" + xml_call({"action": "key", "keys": '["ctrl", "s"]'}), (Hotkey(keys=("ctrl", "s")),)),
    ("xml without the tool_call tags", "<function=computer_use>\n<parameter=action>\nmouse_move\n</parameter>\n<parameter=coordinate>\n[10, 20]\n</parameter>\n</function>", (MoveTo(x=19, y=22),)),
    ("xml closing tags dropped by a stop string", "<tool_call>\n<function=computer_use>\n<parameter=action>\nterminate\n</parameter>\n<parameter=status>\nfailure", (Finish(status="failure"),)),
    ("xml mixed with a JSON call", xml_call({"action": "left_click", "coordinate": "[500, 500]"}) + call({"action": "type", "text": "x"}), (Click(x=960, y=540), TypeText(text="x"))),
]  # fmt: skip

BAD: list[tuple[str, str, str]] = [
    ("empty reply", "", "no <tool_call>"),
    ("prose only", "I will click the button now.", "no <tool_call>"),
    ("truncated JSON", '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_cl', "complete JSON"),
    ("unknown action", call({"action": "teleport", "coordinate": [1, 1]}), "unknown action 'teleport'"),
    ("missing coordinate", call({"action": "left_click"}), "needs `coordinate`"),
    ("coordinate out of range", call({"action": "left_click", "coordinate": [1200, 50]}), "outside the screen"),
    ("negative coordinate", call({"action": "left_click", "coordinate": [-5, 50]}), "outside the screen"),
    ("text where a number belongs", call({"action": "left_click", "coordinate": ["left", "top"]}), "must be a number"),
    ("one-number coordinate", call({"action": "left_click", "coordinate": [5]}), "list [x, y]"),
    ("boolean coordinate", call({"action": "left_click", "coordinate": [True, 5]}), "must be a number"),
    ("unknown function", call({"action": "left_click", "coordinate": [1, 1]}, name="browser_use"), "unknown function"),
    ("unknown key", call({"action": "key", "keys": ["hyper_turbo"]}), "unknown key name"),
    ("keys not a list", call({"action": "key", "keys": 5}), "list of key names"),
    ("type without text", call({"action": "type"}), "non-empty `text`"),
    ("terminate without status", call({"action": "terminate"}), "`status`"),
    ("scroll amount as text", call({"action": "scroll", "pixels": "down"}), "`pixels` must be a number"),
    ("arguments not JSON", '<tool_call>{"name": "computer_use", "arguments": "{oops"}</tool_call>', "not valid JSON"),
    ("arguments a list", '<tool_call>{"name": "computer_use", "arguments": [1, 2]}</tool_call>', "must be a JSON object"),
    ("call is a list", "<tool_call>[1, 2]</tool_call>", "complete JSON object"),
    ("no action in arguments", call({"coordinate": [1, 1]}), "no `action`"),
    ("absurd scroll", call({"action": "scroll", "pixels": 10**6}), "invalid arguments"),
    ("xml unknown function", xml_call({"action": "left_click", "coordinate": "[1, 1]"}, name="browser_use"), "unknown function"),
    ("xml coordinate not a list", xml_call({"action": "left_click", "coordinate": "500, 300"}), "list [x, y]"),
    ("xml without an action", xml_call({"coordinate": "[1, 1]"}), "no `action`"),
    ("xml unknown action", xml_call({"action": "teleport"}, newlines=False), "unknown action 'teleport'"),
    ("xml scroll amount as text", xml_call({"action": "scroll", "pixels": "down"}), "`pixels` must be a number"),
    ("tool_call holding neither form", "<tool_call>\nclick the button\n</tool_call>", "complete JSON object"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), [(r, e) for _, r, e in GOOD], ids=[n for n, _, _ in GOOD])
def test_well_formed_replies(raw: str, expected: tuple[object, ...]) -> None:
    assert parse_reply(raw, SCREEN).actions == expected


@pytest.mark.parametrize(("raw", "reason"), [(r, m) for _, r, m in BAD], ids=[n for n, _, _ in BAD])
def test_malformed_replies_raise_parse_error_with_reason(raw: str, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_reply(raw, SCREEN)
    assert reason in info.value.reason
    assert info.value.raw == raw


def test_table_is_big_enough() -> None:
    assert len(GOOD) + len(BAD) >= 30


def test_thought_and_summary_are_kept() -> None:
    d = parse_reply("Thought: find it\nAction: Click OK\n" + call({"action": "wait"}), SCREEN)
    assert d.thought == "Thought: find it\nAction: Click OK"
    assert d.summary == "Click OK"


def test_openai_tool_calls_shape() -> None:
    calls = (ToolCall(name="computer_use", arguments='{"action": "left_click", "coordinate": [500, 500]}'),)
    d = parse_reply("Action: click the middle", SCREEN, tool_calls=calls)
    assert d.actions == (Click(x=960, y=540),)
    assert d.summary == "click the middle"


def test_absolute_mode_uses_the_resized_image_frame() -> None:
    grid = CoordinateGrid(mode="absolute")
    d = parse_reply(call({"action": "left_click", "coordinate": [960, 544]}), SCREEN, grid, (1920, 1088))
    assert d.actions == (Click(x=960, y=540),)
    with pytest.raises(ParseError, match="outside"):
        parse_reply(call({"action": "left_click", "coordinate": [1921, 5]}), SCREEN, grid, (1920, 1088))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_never_crashes(raw: str) -> None:
    try:
        parse_reply(raw, SCREEN)
    except ParseError as e:
        assert e.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {"action": st.sampled_from(["left_click", "key", "type", "scroll", "terminate", "wait", "x"])},
        optional={"coordinate": json_values, "keys": json_values, "text": json_values, "pixels": json_values,
                  "status": json_values, "time": json_values},
    )
)  # fmt: skip
def test_arbitrary_arguments_never_crash(args: dict[str, object]) -> None:
    try:
        d = parse_reply(call(args), SCREEN)
    except ParseError as e:
        assert e.reason
    else:
        assert d.actions


def test_reply_text_puts_split_tool_calls_back_in_qwen_form() -> None:
    calls = (ToolCall(name="computer_use", arguments='{"action": "key", "keys": ["ctrl", "s"]}'),)
    text = reply_text("Action: save", calls)
    assert text == (
        'Action: save\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "key", "keys": ["ctrl", "s"]}}'
        "\n</tool_call>"
    )
    # The rebuilt text parses to the same actions as the split form.
    assert parse_reply(text, SCREEN).actions == parse_reply("Action: save", SCREEN, tool_calls=calls).actions
    assert reply_text("plain", ()) == "plain"
