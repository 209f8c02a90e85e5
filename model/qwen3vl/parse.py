"""Parsing a Qwen3-VL reply into a Decision: the thought text and actions in screen pixels.

Tolerant of what real models emit (Thinking preambles, prose around the call, a missing closing
tag after a stop string, `arguments` as a JSON string, bare JSON, OpenAI `tool_calls`, and the XML
parameter form of the same call that Qwen3.5-era checkpoints write:
`<function=computer_use><parameter=action>left_click</parameter>...</function>` inside the tags);
anything else is a ParseError carrying the raw text and a reason, which the agent feeds back.

Frames: the call's coordinates are on the model's grid (`CoordinateGrid`); the Decision's actions
are in logical screen pixels of `screen`. `codec.format_reply` is the exact inverse.

Hostile replies: whatever a model (or anything posing as one) writes, the parser answers with a
Decision or a ParseError, in time linear in the reply. Replies are bounded in size (MAX_REPLY_CHARS),
JSON in nesting (MAX_DEPTH) and number size (MAX_INT_DIGITS, finite floats only; NaN and Infinity are
refused), typed text in length (MAX_TYPED_CHARS); lone surrogates (text no file or keyboard can
carry) are refused wherever they occur. JSON is bracket-matched by a linear scan before the decoder
sees it, so the decoder never recurses deeply nor restarts at every `{` of a long reply.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from actions.errors import UnknownKeyError
from actions.keys import canonical_key
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
from model.qwen3vl.bounded_json import (
    DECODER,
    MAX_DEPTH,
    OBJECT_START,
    Brackets,
    NotJson,
    decode_object_at,
    loads,
    skip_space,
)
from model.qwen3vl.constants import THINK_CLOSE, TOOL_CALL_CLOSE, TOOL_CALL_OPEN, TOOL_NAME
from model.qwen3vl.grid import CoordinateGrid, to_screen
from model.types import ToolCall

# ----- limits: what no real reply comes near, so that no reply can exhaust time, stack or memory -----
# Qwen3-VL's whole context is 256K tokens, about a million characters of text: a longer reply is
# a runaway generation (or not a model at all). Refused before any other work.
MAX_REPLY_CHARS = 1 << 20
# Any number an argument holds: coordinates are thousands at most, scroll notches 100, waits 60 s.
MAX_MAGNITUDE = 1e9
# One `type` action: a long paragraph fits many times over; more is a model repeating itself, and
# would take minutes to type and overflow what screens and reports can draw.
MAX_TYPED_CHARS = 10_000
# A ParseError's reason goes back to the model and onto the terminal: quoted values are shortened.
MAX_REASON_CHARS = 500

_TOOL_CALL_OPEN = re.compile(re.escape(TOOL_CALL_OPEN), re.IGNORECASE)
# The XML form: <function=NAME> then <parameter=KEY>VALUE</parameter>... then </function>. A value
# ends at its closing tag or, when a truncated reply lacks it, where the next tag begins. A name
# stops at the next "<", so a run of unclosed tags is read in linear time.
_FUNCTION_OPEN = re.compile(r"<function=([^<>\n]*)>", re.IGNORECASE)
_FUNCTION_END = re.compile(
    "|".join(re.escape(t) for t in ("</function>", TOOL_CALL_CLOSE, TOOL_CALL_OPEN)), re.IGNORECASE
)
_PARAMETER = re.compile(
    r"<parameter=([^<>\n]*)>(.*?)(?:</parameter>|(?=<parameter=)|\Z)", re.IGNORECASE | re.DOTALL
)
# Parameters the tool schema types as strings: kept as written, never JSON-decoded (a `type` of
# "42" must stay text). Everything else is JSON when it parses as JSON (Qwen's template writes
# lists and numbers with tojson), else the raw string, which the converter then explains.
_STRING_PARAMETERS = frozenset({"action", "text", "status"})
# Leading blanks of the line only: `^\s*` would run across blank lines from every line start
# (quadratic, and worse, in a reply of blank lines).
_ACTION_LINE = re.compile(r"^[^\S\n]*\**Action\**\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# A key that makes an object a call (or bare arguments): only objects holding one are decoded.
_CALL_KEY = re.compile(r'"(?:name|action)"\s*+:')
_MAX_KEYS = 6  # actions.types.Hotkey holds at most six keys
_MAX_KEY_CHARS = 40  # longer than any key name or alias
_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother, _SHOW.maxlong = 3, 60, 60, 40
_SHOW.maxlist = _SHOW.maxtuple = _SHOW.maxdict = _SHOW.maxset = 6
# Click action name -> (button, count); codec.format_reply writes clicks with this same table.
CLICK_ACTIONS = {
    "left_click": ("left", 1),
    "right_click": ("right", 1),
    "middle_click": ("middle", 1),
    "double_click": ("left", 2),
    "triple_click": ("left", 3),
}
KNOWN_ACTIONS = frozenset(
    [
        *CLICK_ACTIONS,
        "key",
        "type",
        "mouse_move",
        "left_click_drag",
        "scroll",
        "hscroll",
        "wait",
        "terminate",
        "answer",
    ]
)


class ParseError(ValueError):
    """The reply holds no valid `computer_use` call. A model mistake: fed back, never a crash."""

    def __init__(self, raw: str, reason: str) -> None:
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[: MAX_REASON_CHARS - 1] + "…"
        self.raw = raw
        self.reason = reason
        super().__init__(reason)


class Decision(BaseModel):
    """A parsed reply: free text before the call, the `Action:` summary line, and actions in pixels."""

    model_config = ConfigDict(frozen=True)

    thought: str
    summary: str | None
    actions: tuple[Action, ...]
    raw: str

    @property
    def action(self) -> Action:
        return self.actions[0]


def _show(value: Any) -> str:
    """A model's value quoted in a reason: repr, shortened (depth, length), never raising."""
    try:
        return _SHOW.repr(value)
    except (ValueError, RecursionError):  # an int past Python's digit limit, say
        return f"<a {type(value).__name__}>"


def _surrogate(raw: str, text: str, what: str) -> None:
    """ParseError when `text` holds a lone surrogate: no UTF-8 file, terminal or keyboard takes it."""
    m = _SURROGATE.search(text)
    if m is not None:
        code = f"\\u{ord(m.group()):04x}"
        raise ParseError(raw, f"{what} holds a lone surrogate ({code}), which is not text")


def strip_thinking(text: str) -> str:
    """The answer after a Thinking edition's reasoning: what follows the last `</think>`, trimmed.

    The generation prompt already opened <think>, so replies usually hold only the closing tag.
    """
    idx = text.rfind(THINK_CLOSE)
    return (text[idx + len(THINK_CLOSE) :] if idx >= 0 else text).strip()


def _xml_value(name: str, text: str) -> Any:
    # Qwen's template writes "<parameter=k>\n{value}\n</parameter>": one newline each side is
    # layout, not value (a typed text may itself end in a newline, so strip no more than that).
    value = text.removeprefix("\n").removesuffix("\n")
    if name in _STRING_PARAMETERS:
        return value if name == "text" else value.strip()
    try:
        return loads(value)
    except NotJson:
        return value.strip()


def _decode_function(text: str, start: int) -> tuple[dict[str, Any], int] | None:
    """An XML-form call `<function=NAME>...` at or after `start` (whitespace skipped), with its end."""
    i = skip_space(text, start)
    head = _FUNCTION_OPEN.match(text, i)
    if head is None:
        return None
    tail = _FUNCTION_END.search(text, head.end())
    end = tail.start() if tail else len(text)
    args = {
        m.group(1).strip(): _xml_value(m.group(1).strip(), m.group(2))
        for m in _PARAMETER.finditer(text, head.end(), end)
    }
    return {"name": head.group(1).strip(), "arguments": args}, end


def _find_calls(raw: str, body: str) -> tuple[list[Any], int]:
    """Call objects in `body` and where the first starts (for the thought text)."""
    brackets = Brackets(body)
    opens = list(_TOOL_CALL_OPEN.finditer(body))
    if opens:
        calls, end = [], 0
        for m in opens:
            if m.start() < end:
                continue  # the tag is inside the previous call (a typed text that mentions it)
            try:
                decoded = decode_object_at(brackets, m.end()) or _decode_function(body, m.end())
            except NotJson as e:
                raise ParseError(
                    raw, f"the <tool_call> block does not hold a complete JSON object: {e}"
                ) from e
            if decoded is None:
                raise ParseError(
                    raw, "the <tool_call> block does not hold a complete JSON object (nor a <function=...>)"
                )
            calls.append(decoded[0])
            end = decoded[1]
        return calls, opens[0].start()
    # The XML form without the surrounding tags.
    heads = list(_FUNCTION_OPEN.finditer(body))
    if heads:
        calls, end = [], 0
        for m in heads:
            if m.start() >= end and (decoded := _decode_function(body, m.start())) is not None:
                calls.append(decoded[0])
                end = decoded[1]
        return calls, heads[0].start()
    # Fallback: bare JSON objects that look like a call (or like bare arguments). Any "{" may start
    # one (a call may sit inside another object), so the brackets are matched once for all of them,
    # and only objects within the limits that hold a call's key are decoded.
    unreadable = ""
    for m in OBJECT_START.finditer(body):
        start = m.start()
        span = brackets.spans[start] if start in brackets.spans else brackets.span(start)
        if span is None or span[1] > MAX_DEPTH or _CALL_KEY.search(body, start, span[0]) is None:
            continue
        try:
            obj = DECODER.decode(body[start : span[0]])
        except ValueError as e:
            unreadable = unreadable or (e.msg if isinstance(e, json.JSONDecodeError) else str(e))
            continue
        if isinstance(obj, dict) and ("name" in obj or "action" in obj):
            calls, end = [obj], span[0]
            while (nxt := _next_object(brackets, end)) is not None:
                calls.append(nxt[0])
                end = nxt[1]
            return calls, start
    why = f" (a JSON object there cannot be read: {unreadable})" if unreadable else ""
    raise ParseError(raw, f"no <tool_call> block and no JSON function call found in the reply{why}")


def _next_object(brackets: Brackets, start: int) -> tuple[Any, int] | None:
    try:
        return decode_object_at(brackets, start, deepest=None)
    except NotJson:
        return None


def _arguments(raw: str, call: Any) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise ParseError(raw, "a tool call must be a JSON object")
    if "name" not in call and "action" in call:
        return call  # bare arguments without the wrapper
    name = call.get("name")
    if name != TOOL_NAME:
        raise ParseError(raw, f"unknown function {_show(name)}; the only tool is {TOOL_NAME!r}")
    args = call.get("arguments", call.get("parameters"))
    if isinstance(args, str):
        try:
            args = loads(args)
        except NotJson as e:
            raise ParseError(raw, f"`arguments` is a string that is not valid JSON ({e})") from e
    if not isinstance(args, dict):
        raise ParseError(raw, "`arguments` must be a JSON object")
    return args


def _number(raw: str, value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParseError(raw, f"{what} must be a number, got {_show(value)}")
    # Tool calls a server decoded may still hold NaN, Infinity or a huge int: none reach float().
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > MAX_MAGNITUDE:
        raise ParseError(raw, f"{what} must be a finite number within ±{MAX_MAGNITUDE:g}, got {_show(value)}")
    return float(value)


def _typed_text(raw: str, value: str, what: str, limit: int | None) -> str:
    """A `text` argument that can be typed or stored: no lone surrogate, at most `limit` characters."""
    _surrogate(raw, value, what)
    if limit is not None and len(value) > limit:
        raise ParseError(raw, f"{what} is {len(value):,} characters long; one action takes at most {limit:,}")
    return value


class _Converter:
    """Turns validated call arguments into Actions in screen pixels."""

    def __init__(
        self,
        raw: str,
        screen: ScreenGeometry,
        grid: CoordinateGrid,
        image_size: tuple[int, int] | None,
    ) -> None:
        self.raw, self.screen, self.grid, self.image_size = raw, screen, grid, image_size

    def point(self, args: dict[str, Any], key: str = "coordinate") -> tuple[int, int]:
        value = args.get(key)
        if value is None:
            raise ParseError(self.raw, f"`{args.get('action')}` needs `{key}` [x, y]")
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ParseError(self.raw, f"`{key}` must be a list [x, y], got {_show(value)}")
        x, y = (_number(self.raw, v, f"`{key}`") for v in value)
        ex, ey = self.grid.extent(self.image_size or (self.grid.size, self.grid.size))
        if not (0 <= x <= ex and 0 <= y <= ey):
            raise ParseError(self.raw, f"`{key}` [{x:g}, {y:g}] is outside the screen (0..{ex} x 0..{ey})")
        return to_screen(x, y, self.screen, self.grid, self.image_size)

    def optional_point(self, args: dict[str, Any], key: str) -> tuple[int | None, int | None]:
        if args.get(key) is None:
            return None, None
        return self.point(args, key)

    def keys(self, args: dict[str, Any]) -> tuple[str, ...]:
        keys = args.get("keys")
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise ParseError(self.raw, f"`key` needs `keys` as a list of key names, got {_show(keys)}")
        names: list[str] = []
        for k in keys:
            if len(k) > _MAX_KEY_CHARS:
                raise ParseError(self.raw, f"{_show(k)} is not a key name")
            # Models sometimes write one chord as "ctrl+c"; split it unless "+" itself is meant.
            parts = k.split("+") if "+" in k.strip("+") else [k]
            try:
                names += [canonical_key(p.strip() or "+") for p in parts]
            except UnknownKeyError as e:
                raise ParseError(self.raw, str(e)) from e
            if len(names) > _MAX_KEYS:
                raise ParseError(self.raw, f"`keys` presses more than {_MAX_KEYS} keys at once")
        return tuple(names)

    def convert(self, args: dict[str, Any]) -> Action:
        action = args.get("action")
        if not isinstance(action, str):
            raise ParseError(self.raw, "`arguments` has no `action` string")
        if action not in KNOWN_ACTIONS:
            raise ParseError(
                self.raw, f"unknown action {_show(action)}; known: {', '.join(sorted(KNOWN_ACTIONS))}"
            )
        if action in CLICK_ACTIONS:
            button, count = CLICK_ACTIONS[action]
            x, y = self.point(args)
            return Click(x=x, y=y, button=button, count=count)
        if action == "mouse_move":
            x, y = self.point(args)
            return MoveTo(x=x, y=y)
        if action == "left_click_drag":
            x, y = self.point(args)
            sx, sy = self.optional_point(args, "start_coordinate")
            return Drag(x=x, y=y, start_x=sx, start_y=sy)
        if action in ("scroll", "hscroll"):
            amount = round(_number(self.raw, args.get("pixels"), "`pixels`"))
            px, py = self.optional_point(args, "coordinate")
            if action == "scroll":
                return Scroll(dy=amount, x=px, y=py)
            return Scroll(dx=amount, x=px, y=py)
        if action == "type":
            text = args.get("text")
            if not isinstance(text, str) or not text:
                raise ParseError(self.raw, "`type` needs a non-empty `text` string")
            return TypeText(text=_typed_text(self.raw, text, "`type` text", MAX_TYPED_CHARS))
        if action == "key":
            return Hotkey(keys=self.keys(args))
        if action == "wait":
            seconds = args.get("time", 1.0)
            return Wait(seconds=min(max(_number(self.raw, seconds, "`time`"), 0.0), 60.0))
        if action == "answer":
            text = args.get("text")
            if not isinstance(text, str):
                raise ParseError(self.raw, "`answer` needs a `text` string")
            return Finish(status="success", answer=_typed_text(self.raw, text, "`answer` text", None))
        status = args.get("status")
        if status not in ("success", "failure"):
            raise ParseError(self.raw, f"`terminate` needs `status` success or failure, got {_show(status)}")
        return Finish(status=status)


def _merge_answers(actions: list[Action], summary: str | None) -> list[Action]:
    """`answer` then `terminate` in one reply is one Finish; a bare failure explains itself."""
    merged: list[Action] = []
    for a in actions:
        prev = merged[-1] if merged else None
        if isinstance(a, Finish) and isinstance(prev, Finish) and prev.answer and not a.answer:
            merged[-1] = Finish(status=a.status, answer=prev.answer)
        else:
            merged.append(a)
    last = merged[-1]
    if isinstance(last, Finish) and last.status == "failure" and not last.answer and summary:
        merged[-1] = Finish(status="failure", answer=summary)
    # Nothing after a Finish can run.
    for i, a in enumerate(merged):
        if isinstance(a, Finish):
            return merged[: i + 1]
    return merged


def reply_text(text: str, tool_calls: Sequence[ToolCall] = ()) -> str:
    """The reply as Qwen writes it: when a server moved the calls into `tool_calls`, put them back as
    `<tool_call>` blocks, so history turns look the same whichever backend produced them."""
    blocks = []
    for c in tool_calls:
        args = c.arguments if isinstance(c.arguments, dict) else _loads_or_text(c.arguments)
        try:
            call = json.dumps({"name": c.name, "arguments": args}, ensure_ascii=False)
        except (ValueError, RecursionError):  # a server's object nested past any use
            call = json.dumps({"name": c.name, "arguments": _show(args)}, ensure_ascii=False)
        blocks.append(f"{TOOL_CALL_OPEN}\n{call}\n{TOOL_CALL_CLOSE}")
    return "\n".join([text.rstrip(), *blocks]).strip() if blocks else text


def _loads_or_text(value: str) -> Any:
    try:
        return loads(value)
    except NotJson:
        return value


def parse_reply(
    raw: str,
    screen: ScreenGeometry,
    grid: CoordinateGrid = CoordinateGrid(),
    image_size: tuple[int, int] | None = None,
    tool_calls: Sequence[ToolCall] = (),
) -> Decision:
    """Parse one reply. `image_size` is the (width, height) the model saw (absolute mode only)."""
    if not isinstance(raw, str):
        raise ParseError(repr(raw)[:MAX_REPLY_CHARS], "the reply is not text")
    size = len(raw) + sum(len(c.arguments) for c in tool_calls if isinstance(c.arguments, str))
    if size > MAX_REPLY_CHARS:
        raise ParseError(
            raw, f"the reply is {size:,} characters long; a reply holds at most {MAX_REPLY_CHARS:,}"
        )
    _surrogate(raw, raw, "the reply")
    try:
        return _parse(raw, screen, grid, image_size, tool_calls)
    except ParseError:
        raise
    except (ValueError, ArithmeticError, RecursionError) as e:  # pragma: no cover - a missed limit
        raise ParseError(raw, f"the reply could not be read ({type(e).__name__}: {e})") from e


def _parse(
    raw: str,
    screen: ScreenGeometry,
    grid: CoordinateGrid,
    image_size: tuple[int, int] | None,
    tool_calls: Sequence[ToolCall],
) -> Decision:
    body = strip_thinking(raw)
    if tool_calls:
        calls: list[Any] = [{"name": c.name, "arguments": c.arguments} for c in tool_calls]
        first = len(body)
    else:
        calls, first = _find_calls(raw, body)
    converter = _Converter(raw, screen, grid, image_size)
    try:
        actions = [converter.convert(_arguments(raw, c)) for c in calls]
    except (ValidationError, ValueError) as e:
        if isinstance(e, ParseError):
            raise
        raise ParseError(raw, f"invalid arguments: {e}") from e
    thought = body[:first].strip()
    m = _ACTION_LINE.search(thought)
    summary = m.group(1).strip() if m else None
    return Decision(
        thought=thought, summary=summary, actions=tuple(_merge_answers(actions, summary)), raw=raw
    )
