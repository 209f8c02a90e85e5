"""Writing Qwen3-VL replies: `format_reply` is the exact inverse of `parse_reply`.

Frames: the Actions given are in LOGICAL screen pixels of `screen` (what the environments execute);
the text written holds model-grid coordinates (`CoordinateGrid`: relative 0..size, or absolute
pixels of the resized screenshot). Pixels are mapped with `grid.to_model`, so a point comes back
from `parse_reply` within one grid cell, and formatting the parsed actions again gives the same text.

The reference policy, calibration, benchmarks and test fakes write their replies here, so the wire
format (tags, tool name, argument names) lives in model/qwen3vl/ only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from actions.types import (
    Action,
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
from model.qwen3vl.bounded_json import decode_object
from model.qwen3vl.constants import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, TOOL_NAME
from model.qwen3vl.grid import CoordinateGrid, to_model
from model.qwen3vl.parse import CLICK_ACTIONS, MAX_TYPED_CHARS

CallStyle = Literal["json", "xml"]

_CLICK_NAMES = {spec: name for name, spec in CLICK_ACTIONS.items()}
# Text the parser looks for before it reads any JSON: inside a call's strings these would cut the
# reply short, so "<" is then written as the JSON escape \u003c (same value, invisible to the parser).
_TAG_LIKE = re.compile(r"<\s*/?\s*(tool_call|think|function|parameter)", re.IGNORECASE)
_ACTION_LINE = re.compile(r"^[^\S\n]*\**Action\**\s*:", re.IGNORECASE | re.MULTILINE)
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _point(
    x: int, y: int, screen: ScreenGeometry | None, grid: CoordinateGrid, image_size: tuple[int, int] | None
) -> list[int]:
    if screen is None:
        raise ValueError("a pointer action needs the screen geometry its pixels are in")
    gx, gy = to_model(x, y, screen, grid, image_size)
    return [gx, gy]


def _text(text: str, limit: int | None = None) -> str:
    # What the parser refuses, the codec does not write: lone surrogates, overlong typed text.
    if _SURROGATE.search(text):
        raise ValueError(f"a reply cannot carry a lone surrogate: {text[:40]!r}")
    if limit is not None and len(text) > limit:
        raise ValueError(f"one `type` action types at most {limit:,} characters, not {len(text):,}")
    return text


def _number(value: float) -> int | float:
    # Qwen writes whole seconds as integers ("time": 2), so 2.0 is written 2 (it parses back as 2.0).
    return int(value) if float(value).is_integer() else value


def action_arguments(
    action: Action,
    screen: ScreenGeometry | None = None,
    grid: CoordinateGrid = CoordinateGrid(),
    image_size: tuple[int, int] | None = None,
) -> list[dict[str, Any]]:
    """The `arguments` objects (usually one) that make `parse_reply` return `action`.

    Pixels of `screen` become grid coordinates; `image_size` is the (width, height) the model saw
    (absolute mode only). Two calls come back where Qwen has no single one: a scroll along both axes
    (`scroll` then `hscroll`) and a failure with an explanation (`answer` then `terminate`).
    Raises ValueError for what Qwen3-VL cannot say (a right double-click, a half-given point).
    """

    def at(x: int, y: int) -> list[int]:
        return _point(x, y, screen, grid, image_size)

    match action:
        case Click(x=x, y=y, button=button, count=count):
            name = _CLICK_NAMES.get((button, count))
            if name is None:
                raise ValueError(f"Qwen3-VL has no {button} click with count {count}")
            return [{"action": name, "coordinate": at(x, y)}]
        case MoveTo(x=x, y=y):
            return [{"action": "mouse_move", "coordinate": at(x, y)}]
        case Drag(x=x, y=y, start_x=sx, start_y=sy):
            if (sx is None) != (sy is None):
                raise ValueError("a drag's start needs both start_x and start_y, or neither")
            start = {"start_coordinate": at(sx, sy)} if sx is not None and sy is not None else {}
            return [{"action": "left_click_drag", **start, "coordinate": at(x, y)}]
        case Scroll(dx=dx, dy=dy, x=x, y=y):
            if (x is None) != (y is None):
                raise ValueError("a scroll's point needs both x and y, or neither")
            where = {"coordinate": at(x, y)} if x is not None and y is not None else {}
            # One call per axis; a scroll by nothing is still a (vertical) scroll.
            axes = [("scroll", dy)] if dy or not dx else []
            axes += [("hscroll", dx)] if dx else []
            return [{"action": name, **where, "pixels": amount} for name, amount in axes]
        case TypeText(text=text):
            return [{"action": "type", "text": _text(text, MAX_TYPED_CHARS)}]
        case Hotkey(keys=keys):
            return [{"action": "key", "keys": list(keys)}]
        case Wait(seconds=seconds):
            return [{"action": "wait", "time": _number(seconds)}]
        case Finish(status="success", answer=answer) if answer is not None:
            return [{"action": "answer", "text": _text(answer)}]
        case Finish(status="failure", answer=answer) if answer:
            # The parser merges `answer` + `terminate` into one Finish carrying the answer.
            return [{"action": "answer", "text": _text(answer)}, {"action": "terminate", "status": "failure"}]
        case Finish(status=status):
            return [{"action": "terminate", "status": status}]
    raise AssertionError(action)  # pragma: no cover


def _json_call(arguments: Mapping[str, Any]) -> str:
    body = json.dumps({"name": TOOL_NAME, "arguments": dict(arguments)}, ensure_ascii=False)
    # "<" can only occur inside JSON strings, so escaping it changes no value.
    return body.replace("<", "\\u003c") if _TAG_LIKE.search(body) else body


def _xml_call(arguments: Mapping[str, Any]) -> str:
    # Qwen3.5's chat template: strings as written, everything else with tojson, one per parameter.
    lines = [f"<function={TOOL_NAME}>"]
    for key, value in arguments.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if _TAG_LIKE.search(text):
            raise ValueError(f"the XML call form cannot carry {key} {text!r}")
        lines += [f"<parameter={key}>", text, "</parameter>"]
    return "\n".join([*lines, "</function>"])


def format_call(arguments: Mapping[str, Any], style: CallStyle = "json") -> str:
    """One tagged call with grid-space `arguments`, as Qwen3-VL writes it (or in Qwen3.5's XML form)."""
    body = _json_call(arguments) if style == "json" else _xml_call(arguments)
    return f"{TOOL_CALL_OPEN}\n{body}\n{TOOL_CALL_CLOSE}"


def format_calls(
    calls: Iterable[Mapping[str, Any]],
    summary: str | None = None,
    thought: str | None = None,
    style: CallStyle = "json",
) -> str:
    """A whole reply from grid-space call arguments: thought, `Action: summary` line, then the calls.

    For callers that already hold grid coordinates (calibration measures the grid itself); everyone
    else formats Actions with `format_reply`.
    """
    if summary is not None and ("\n" in summary or not summary.strip()):
        raise ValueError(f"the Action line must be one non-empty line, got {summary!r}")
    for text in (thought or "", summary or ""):
        if _TAG_LIKE.search(_text(text)):
            raise ValueError(f"free text of a reply cannot hold tool-call or think tags: {text!r}")
    if thought and summary is not None and _ACTION_LINE.search(thought):
        raise ValueError("the thought already has an `Action:` line; pass it as the summary")
    blocks = [format_call(args, style) for args in calls]
    if not blocks:
        raise ValueError("a reply needs at least one call")
    head = [t for t in (thought, f"Action: {summary}" if summary is not None else None) if t]
    return "\n".join([*head, *blocks])


def format_reply(
    actions: Action | Sequence[Action],
    screen: ScreenGeometry | None = None,
    grid: CoordinateGrid = CoordinateGrid(),
    image_size: tuple[int, int] | None = None,
    *,
    summary: str | None = None,
    thought: str | None = None,
    style: CallStyle = "json",
) -> str:
    """The raw text Qwen3-VL writes for `actions` (logical pixels of `screen`): the inverse of
    `parse_reply(text, screen, grid, image_size)`.

    `summary` is the `Action:` line, `thought` free text before it. `screen` may be None when no
    action has a point. A failure Finish without an answer parses back with the summary as its
    explanation (the parser's rule); nothing may follow a Finish, since nothing after one runs.
    """
    items: Sequence[Action] = (actions,) if not isinstance(actions, Sequence) else actions
    for i, action in enumerate(items):
        if isinstance(action, Finish) and i != len(items) - 1:
            raise ValueError("nothing can follow a Finish: the parser drops it")
    calls = [args for a in items for args in action_arguments(a, screen, grid, image_size)]
    return format_calls(calls, summary, thought, style)


def restore_stop(text: str) -> str:
    """Close a complete trailing call again after a server dropped the matched stop string, so the
    reply (which goes back into the history) looks exactly like what the model wrote.
    """
    start = text.rfind(TOOL_CALL_OPEN)
    if start < 0 or TOOL_CALL_CLOSE in text[start:]:
        return text
    body = text[start + len(TOOL_CALL_OPEN) :].strip()
    if body.startswith("<function="):
        complete = body.endswith("</function>")
    else:
        # Within the parser's limits (nesting, numbers, time): a call it could not read stays open.
        decoded = decode_object(body)
        complete = decoded is not None and decoded[1] == len(body)
    if not complete:
        return text
    return text + ("" if text.endswith("\n") else "\n") + TOOL_CALL_CLOSE
