"""Hostile replies (issue 11, item 4): whatever a model writes, the parser answers a Decision or a
ParseError, in time linear in the reply; a run only records parse errors for such replies (never an
`error` status), keeps every step in traj.jsonl and leaves no half-written report; the model's text
reaches the terminal with its control characters written out, never obeyed.

The fuzz tests feed 10,000+ generated hostile replies through the parser and 10,000+ through the
agent loop with recording on; they are derandomized, so CI sees the same replies on every run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.types import Finish, Observation, ScreenGeometry, TypeText
from agent.loop import run_episode
from agent.options import AgentOptions
from agent.progress import ConsoleProgress
from agent.recorder import Recorder
from agent.terminal import terminal_safe, terminal_safe_json
from agent.trajectory import RunResult, Step
from model.qwen3vl import (
    ParseError,
    PixelBudget,
    ProtocolSettings,
    format_reply,
    parse_reply,
    reply_text,
    restore_stop,
)
from model.qwen3vl.bounded_json import DECODER, MAX_DEPTH, OBJECT_START, Brackets
from model.qwen3vl.parse import MAX_REPLY_CHARS, MAX_TYPED_CHARS
from model.scripted import ScriptedBackend
from model.types import ToolCall
from tests.memory_env import SCREEN as MEMORY_SCREEN
from tests.memory_env import MemoryScreen, click_reply, form_screen, type_reply

pytestmark = pytest.mark.unit

SCREEN = ScreenGeometry(width=1920, height=1080)
EXE = os.path.join(os.path.dirname(sys.executable), "qwen-agent")
FAST = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


def call(arguments: str, name: str = "computer_use") -> str:
    """A tagged call with `arguments` spliced in as written (so it may hold what JSON forbids)."""
    return f'<tool_call>\n{{"name": "{name}", "arguments": {arguments}}}\n</tool_call>'


def xml(params: dict[str, str]) -> str:
    body = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in params.items())
    return f"<tool_call>\n<function=computer_use>\n{body}</function>\n</tool_call>"


def nested(depth: int, closed: bool = True) -> str:
    return "[" * depth + ("1" + "]" * depth if closed else "")


# ----- each kind of hostile reply: a ParseError that says why ------------------------------------

HOSTILE: list[tuple[str, str, str]] = [
    ("Infinity, bare (the issue's example)", '{"action": "scroll", "pixels": Infinity}', "Infinity is not a number"),
    ("-Infinity", call('{"action": "scroll", "pixels": -Infinity}'), "-Infinity is not a number"),
    ("NaN", call('{"action": "wait", "time": NaN}'), "NaN is not a number"),
    ("a float that overflows", call('{"action": "scroll", "pixels": 1e999}'), "'1e999' is too large"),
    ("an int of 5,000 digits", call('{"action": "scroll", "pixels": ' + "9" * 5000 + "}"), "5,000 digits"),
    ("an int of 21 digits", call('{"action": "left_click", "coordinate": [' + "1" * 21 + ", 5]}"), "21 digits"),
    ("a float past any argument", call('{"action": "left_click", "coordinate": [1e300, 5]}'), "within ±1e+09"),
    ("a scroll past any argument", call('{"action": "scroll", "pixels": 1e12}'), "within ±1e+09"),
    ("deep nesting", call('{"action": "left_click", "coordinate": ' + nested(100_000) + "}"), "deeper than 16"),
    ("deep nesting, never closed", call('{"action": "left_click", "coordinate": ' + nested(100_000, False)), "deeper than 16"),
    ("deep nesting, bare", '{"action": "left_click", "coordinate": ' + nested(100_000) + "}", "no <tool_call>"),
    ("deep objects", call('{"action": "type", "text": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}"), "deeper than 16"),
    ("deep nesting in an arguments string", '<tool_call>{"name": "computer_use", "arguments": "' + "[" * 5000 + '"}</tool_call>', "deeper than 16"),
    ("deep nesting in an XML value", xml({"action": "left_click", "coordinate": nested(100_000)}), "list [x, y]"),
    ("a huge int in an XML value", xml({"action": "scroll", "pixels": "9" * 5000}), "must be a number"),
    ("Infinity in an XML value", xml({"action": "scroll", "pixels": "Infinity"}), "must be a number"),
    ("a lone surrogate", call('{"action": "type", "text": "hi"}') + "\ud800", "lone surrogate (\\ud800)"),
    ("a lone surrogate in the thought", "Thought: \udc80\n" + call('{"action": "wait"}'), "lone surrogate (\\udc80)"),
    ("a lone surrogate, escaped", call('{"action": "type", "text": "a\\udc80"}'), "`type` text holds a lone surrogate"),
    ("half an emoji, escaped, answered", call('{"action": "answer", "text": "\\ud83d"}'), "`answer` text holds a lone surrogate"),
    ("a lone surrogate in XML text", xml({"action": "type", "text": "\udfff"}), "lone surrogate"),
    ("typed text past the bound", call(json.dumps({"action": "type", "text": "x" * (MAX_TYPED_CHARS + 1)})), "10,001 characters"),
    ("typed text of a megabyte", call(json.dumps({"action": "type", "text": "é" * (MAX_REPLY_CHARS - 200)}, ensure_ascii=False)), "one action takes at most 10,000"),
    ("a reply past the bound", "x" * (MAX_REPLY_CHARS + 1), "1,048,577 characters"),
    ("a hundred thousand keys", call(json.dumps({"action": "key", "keys": ["a"] * 100_000})), "more than 6 keys"),
    ("a chord of a thousand keys", call(json.dumps({"action": "key", "keys": ["a+" * 1000 + "a"]})), "is not a key name"),
    ("an action name of a megabyte", call(json.dumps({"action": "x" * 500_000})), "unknown action 'xxxx"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "reason"), [(r, m) for _, r, m in HOSTILE], ids=[n for n, _, _ in HOSTILE])
def test_hostile_replies_are_parse_errors_that_say_why(raw: str, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_reply(raw, SCREEN)
    assert reason in info.value.reason
    assert len(info.value.reason) <= 500  # it goes back to the model and onto the terminal
    assert info.value.raw == raw
    assert restore_stop(raw) in (raw, raw + "\n</tool_call>")


def _deep_list(depth: int) -> list[Any]:
    value: list[Any] = [1, 2]
    for _ in range(depth):
        value = [value]
    return value


TOOL_CALLS: list[tuple[str, str | dict[str, Any], str]] = [
    ("Infinity", {"action": "scroll", "pixels": float("inf")}, "within ±1e+09, got inf"),
    ("NaN", {"action": "wait", "time": float("nan")}, "got nan"),
    ("an int of 5,000 digits", {"action": "scroll", "pixels": 10**5000}, "within ±1e+09"),
    ("deep nesting", {"action": "left_click", "coordinate": _deep_list(10_000)}, "list [x, y]"),
    ("a lone surrogate", {"action": "type", "text": "\udc80"}, "lone surrogate (\\udc80)"),
    ("an int of 5,000 digits, as text", '{"action": "scroll", "pixels": ' + "9" * 5000 + "}", "5,000 digits"),
    ("deep nesting, as text", '{"action": "left_click", "coordinate": ' + nested(50_000) + "}", "deeper than 16"),
    ("NaN, as text", '{"action": "wait", "time": NaN}', "NaN is not a number"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "reason"), [(a, r) for _, a, r in TOOL_CALLS], ids=[n for n, _, _ in TOOL_CALLS]
)
def test_hostile_tool_calls_are_parse_errors(arguments: str | dict[str, Any], reason: str) -> None:
    calls = (ToolCall(name="computer_use", arguments=arguments),)
    with pytest.raises(ParseError) as info:
        parse_reply("Action: go", SCREEN, tool_calls=calls)
    assert reason in info.value.reason
    assert reply_text("Action: go", calls).startswith("Action: go\n<tool_call>\n")  # recorded, not raised


def test_what_is_within_the_bounds_still_parses() -> None:
    text = "x" * MAX_TYPED_CHARS
    assert parse_reply(call(json.dumps({"action": "type", "text": text})), SCREEN).action == TypeText(
        text=text
    )
    nest = '{"action": "wait", "time": 1, "note": ' + nested(MAX_DEPTH - 2) + "}"
    assert parse_reply(call(nest), SCREEN).action.kind == "wait"
    pad = "Thought: " + "z" * MAX_REPLY_CHARS
    reply = call('{"action": "wait"}')
    assert parse_reply(pad[: MAX_REPLY_CHARS - len(reply)] + reply, SCREEN).action.kind == "wait"
    # A surrogate pair, escaped, is one ordinary character.
    assert parse_reply(call('{"action": "type", "text": "\\ud83d\\ude00"}'), SCREEN).action == TypeText(
        text="😀"
    )


def test_the_codec_writes_nothing_the_parser_refuses() -> None:
    with pytest.raises(ValueError, match="at most 10,000"):
        format_reply(TypeText(text="x" * (MAX_TYPED_CHARS + 1)))
    with pytest.raises(ValueError, match="lone surrogate"):
        format_reply(Finish(status="success", answer="\ud800"))
    with pytest.raises(ValueError, match="lone surrogate"):
        format_reply(Finish(status="success"), thought="\udfff")


# ----- linear time ----------------------------------------------------------------------------


def test_a_megabyte_of_open_braces_is_refused_in_under_a_second() -> None:
    # Before: 210 s (every "{" started a decode whose error message counted lines from the start).
    started = time.perf_counter()
    with pytest.raises(ParseError):
        parse_reply("{" * MAX_REPLY_CHARS, SCREEN)
    assert time.perf_counter() - started < 1.0


def _fill(unit: str, tail: str = "") -> str:
    return (unit * (MAX_REPLY_CHARS // len(unit)))[: MAX_REPLY_CHARS - len(tail)] + tail


WAIT = call('{"action": "wait"}')
SHAPES = {
    "[": _fill("["),
    '{"': _fill('{"'),
    '{"":': _fill('{"":'),
    '{"a":[': _fill('{"a":['),
    "quotes": _fill('"'),
    "backslashes": _fill("\\"),
    "blank lines, then a call": _fill("\n", WAIT),
    "blank lines between words, then a call": "a" + _fill("\n", "b" + WAIT)[1:],
    "<tool_call>": _fill("<tool_call>"),
    "<tool_call>{": _fill("<tool_call>{"),
    "<function=": _fill("<function="),
    "<parameter=": "<function=computer_use>" + _fill("<parameter=")[23:],
    "calls": _fill(WAIT),
    "nested objects": _fill('{"a":' * 15 + "0" + "}" * 15),
    "</think>": _fill("</think>", WAIT),
}


@pytest.mark.parametrize("raw", list(SHAPES.values()), ids=list(SHAPES))
def test_a_megabyte_of_any_shape_is_read_in_linear_time(raw: str) -> None:
    # Linear at ~1 us per character; a quadratic parser takes minutes on these.
    assert len(raw) <= MAX_REPLY_CHARS
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        parse_reply(raw, SCREEN)
    restore_stop(raw)
    assert time.perf_counter() - started < 5.0


# The bracket scan (which replaced trying the decoder at every "{") finds exactly the objects the
# json module finds, wherever they start in surrounding text.
_JSON_TEXT = st.text(alphabet='ab"\\{}[]:, \n', max_size=6)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False) | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_JSON_TEXT, inner, max_size=3),
    max_leaves=12,
)  # fmt: skip
_PIECES = st.lists(
    st.one_of(
        st.builds(lambda v, indent: json.dumps(v, indent=indent), _JSON, st.sampled_from([None, 1])),
        st.text(alphabet='ab"\\{}[]:, \n0', max_size=8),
    ),
    max_size=6,
)


@settings(FAST, max_examples=500)
@given(_PIECES)
def test_the_bracket_scan_agrees_with_the_json_module(pieces: list[str]) -> None:
    text = "".join(pieces)
    brackets = Brackets(text)
    for m in OBJECT_START.finditer(text):
        start = m.start()
        try:
            want: tuple[Any, int] | None = json.JSONDecoder().raw_decode(text, start)
        except json.JSONDecodeError:
            want = None
        span = brackets.spans[start] if start in brackets.spans else brackets.span(start)
        got = None
        if span is not None and span[1] <= MAX_DEPTH:
            try:
                got = (DECODER.decode(text[start : span[0]]), span[0])
            except ValueError:
                got = None
        assert got == want, (text, start, span)


# ----- the fuzzers ------------------------------------------------------------------------------
# Hypothesis drives them (derandomized: CI sees the same replies every run) through st.randoms, and
# the replies are built from that Random: ten thousand of them take a second, not minutes.

ACTIONS = ["left_click", "double_click", "mouse_move", "left_click_drag", "type", "key", "scroll", "hscroll",
           "wait", "answer", "terminate", "teleport"]  # fmt: skip
ARGUMENT_NAMES = ["coordinate", "start_coordinate", "pixels", "time", "text", "keys", "status"]
CONTROLS = ["\x1b]52;c;aGFja2Vk\x07", "\x1b[2J\x1b[H", "\x9b31m", "\u202egnp.exe", "\r\x08\x7f", "\x00"]
SURROGATES = ["\ud800", "\udfff", "\ud83d", "\ude00x"]
FLOODS = ["{", "[", '{"":', '{"', '"', "\\", "\n", "<tool_call>", "<tool_call>{", "<function=", "<parameter=",
          "</think>", '{"action": ', "]", "}", "\ud800", "\x1b[2J", '{"a":[']  # fmt: skip


def _sized(unit: str, size: int) -> str:
    return (unit * (size // max(len(unit), 1) + 1))[:size]


def _text(rng: random.Random, size: int) -> str:
    """Arbitrary text: any code point, lone surrogates and controls included."""
    return "".join(
        chr(rng.choice([rng.randrange(32), rng.randrange(0x110000), rng.randrange(128)])) for _ in range(size)
    )


def _json_value(rng: random.Random, big: bool) -> str:
    """JSON text (or what poses as it) for one argument value."""
    kind = rng.randrange(12)
    if kind == 0:
        return rng.choice(["Infinity", "-Infinity", "NaN", "1e999", "-1e400", "1E+99999", "1e308", "-0"])
    if kind == 1:
        return rng.choice(["", "-"]) + "9" * rng.choice([19, 20, 21, 25, 4300, 4301, 6000])
    if kind == 2:  # nesting, closed or not, of arrays or objects
        depth = rng.choice([MAX_DEPTH - 1, MAX_DEPTH + 1, 999, 1001, 5000] + ([100_000] if big else []))
        unit, close = rng.choice([("[", "]"), ('{"a": ', "}"), ('[{"k": ', "}]")])
        return unit * depth + ("1" + close * depth if rng.random() < 0.5 else "")
    if kind == 3:  # lone surrogates, escaped or raw
        s = rng.choice(SURROGATES)
        return rng.choice([json.dumps(s), '"' + s + '"'])
    if kind == 4:  # terminal controls, escaped or raw (raw ones are invalid JSON)
        s = rng.choice(CONTROLS)
        return rng.choice([json.dumps(s, ensure_ascii=False), '"' + s + '"'])
    if kind == 5:  # long strings
        sizes = [0, 1, 17, 1000, MAX_TYPED_CHARS, MAX_TYPED_CHARS + 1] + ([70_000] if big else [])
        return json.dumps(_sized(rng.choice(["x", "é", "😀", "\\", "<", "\n"]), rng.choice(sizes)))
    if kind == 6:  # a point made of hostile numbers
        return f"[{_json_value(rng, False)}, {rng.choice(['5', 'Infinity', '1e999', '-1', '500'])}]"
    if kind == 7:  # key lists
        names = ["ctrl", "a", "+", "ctrl+shift+t", "\ud800", "\x1b", "a" * 50, "Return", ""]
        return json.dumps(
            [rng.choice(names) for _ in range(rng.randrange(9))], ensure_ascii=rng.random() < 0.5
        )
    if kind == 8:  # truncated or unbalanced
        return rng.choice(["[1, 2", "[1, 2]]", '"abc', '{"a": [}', "]", "}", "[", "{", "", ","])
    if kind == 9:
        return json.dumps(_text(rng, rng.randrange(20)), ensure_ascii=rng.random() < 0.5)
    if kind == 10:  # plausible values
        return rng.choice(
            ["[500, 500]", "[0, 0]", "-5", "3", "2.5", '"success"', '"failure"', '"hi"', '["ctrl", "s"]']
        )
    return json.dumps(rng.choice([rng.uniform(-1e6, 1e6), rng.randint(-(10**30), 10**30), 0.1, -0.0]))


def _arguments(rng: random.Random, big: bool) -> str:
    names = rng.sample(ARGUMENT_NAMES, rng.randrange(4))
    parts = [f'"action": {json.dumps(rng.choice(ACTIONS))}'] + [
        f'"{n}": {_json_value(rng, big)}' for n in names
    ]
    return "{" + ", ".join(parts) + "}"


def _thought(rng: random.Random, big: bool) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return ""
    if kind == 1:
        return f"Thought: {rng.choice(CONTROLS)}\nAction: {rng.choice(CONTROLS)}"
    if kind == 2:  # blank lines (kept short in runs: agent/report.py reads thoughts in quadratic time)
        return "a" + "\n" * rng.choice([10, 200] + ([20_000] if big else [])) + "b"
    if kind == 3:
        return "Thought: " + rng.choice(SURROGATES)
    return _text(rng, rng.randrange(40)) + "\n</think>\n"


def hostile_reply(rng: random.Random, big: bool = True) -> str:
    """One hostile reply: a call of hostile arguments in any form the parser reads, a flood (what a
    looping model writes), or arbitrary text."""
    kind = rng.randrange(10)
    if kind == 0:
        sizes = [1, 2, 100, 3000] + ([60_000, MAX_REPLY_CHARS + 1] if big else [])
        return _sized(rng.choice(FLOODS), rng.choice(sizes))
    if kind == 1:
        return _text(rng, rng.randrange(80))
    args, thought = _arguments(rng, big), _thought(rng, big)
    form = rng.choice(["tool_call", "tool_call", "unclosed", "bare_call", "bare_args", "string_args", "xml"])
    if form == "tool_call":
        body = call(args)
    elif form == "unclosed":
        body = call(args).removesuffix("\n</tool_call>")
    elif form == "bare_call":
        body = f'{{"name": "computer_use", "arguments": {args}}}'
    elif form == "bare_args":
        body = args
    elif form == "string_args":
        body = call(json.dumps(args, ensure_ascii=False))
    else:
        body = xml({"action": rng.choice(ACTIONS), rng.choice(ARGUMENT_NAMES): _json_value(rng, big)})
    return f"{thought}\n{body}" if thought else body


def hostile_tool_calls(rng: random.Random) -> tuple[ToolCall, ...]:
    """Calls a server split out, as text, or as the object it decoded (NaN, huge ints, depth)."""
    if rng.random() < 0.5:
        return (ToolCall(name="computer_use", arguments=_arguments(rng, big=False)),)
    value: Any = rng.choice(
        [float("inf"), float("nan"), 10**5000, "\udc80", "\x1b]52;c;eA==\x07", 7, "x" * 20_000]
    )
    if rng.random() < 0.3:
        value = _deep_list(rng.choice([3, 5000]))
    args = {"action": rng.choice(ACTIONS), rng.choice(ARGUMENT_NAMES): value}
    return (ToolCall(name=rng.choice(["computer_use", "computer_use", "\ud800"]), arguments=args),)


TARGET = 10_000  # hostile replies through the parser, and again through the loop
PER_EXAMPLE, PER_RUN = 250, 30


def _check(raw: str, tool_calls: tuple[ToolCall, ...], seen: Counter[str]) -> None:
    seen["replies"] += 1
    try:
        decision = parse_reply(raw, SCREEN, tool_calls=tool_calls)
    except ParseError as e:
        assert e.reason and len(e.reason) <= 500, repr(raw[:200])
        seen["parse errors"] += 1
    else:
        seen["decisions"] += 1
        for action in decision.actions:
            text = action.text if isinstance(action, TypeText) else getattr(action, "answer", None) or ""
            assert len(text) <= (MAX_TYPED_CHARS if isinstance(action, TypeText) else MAX_REPLY_CHARS)
            text.encode("utf-8")  # no lone surrogate
    reply_text(raw, tool_calls)
    restore_stop(raw)


def test_ten_thousand_hostile_replies_make_parse_errors_only() -> None:
    seen: Counter[str] = Counter()

    @settings(FAST, max_examples=2 * TARGET // PER_EXAMPLE)
    @given(st.randoms(use_true_random=True))
    def fuzz(rng: random.Random) -> None:
        if seen["replies"] >= TARGET:
            return
        for n in range(PER_EXAMPLE):
            if n % 5:
                _check(hostile_reply(rng), (), seen)
            else:
                _check("Action: go", hostile_tool_calls(rng), seen)

    fuzz()
    print(f"\nparser fuzz: {dict(seen)}")
    assert seen["replies"] >= TARGET
    assert seen["decisions"] > 0  # some replies only look hostile, and are read as what they say


class _SmallScreen(MemoryScreen):
    """The in-memory form, its screenshots at a quarter of the size (HiDPI scale 0.25): the same
    widgets and behaviour, cheap enough to record ten thousand steps in CI time."""

    def observe(self) -> Observation:
        image = super().observe().image.resize((MEMORY_SCREEN.width // 4, MEMORY_SCREEN.height // 4))
        return Observation(image=image, geometry=MEMORY_SCREEN.model_copy(update={"scale": 0.25}))


LOOP = AgentOptions(
    confirm="never",
    max_steps=PER_RUN,
    history_images=1,
    stuck_after_s=None,
    protocol=ProtocolSettings(pixels=PixelBudget(min_pixels=32 * 32, max_pixels=256 * 256)),
)


def _script(rng: random.Random) -> list[tuple[str, bool]]:
    """PER_RUN replies (and spares for explanations), about one in ten a well-formed action on the
    form, so that steps execute between the hostile ones."""
    screen = form_screen()
    good = [click_reply(screen, w) for w in ("name", "email", "agree", "title")]
    good += [type_reply(t) for t in ("Ada", "\x1b]52;c;eA==\x07", "tab\there", "x" * 500)]
    return [
        (rng.choice(good), False) if rng.random() < 0.1 else (hostile_reply(rng, big=False), True)
        for _ in range(PER_RUN + 3)
    ]


def test_ten_thousand_hostile_replies_through_the_loop_are_recorded_parse_errors(tmp_path: Path) -> None:
    seen: Counter[str] = Counter()

    @settings(FAST, max_examples=2 * TARGET // PER_RUN)
    @given(st.randoms(use_true_random=True))
    def fuzz(rng: random.Random) -> None:
        if seen["hostile replies"] >= TARGET:
            return
        script = _script(rng)
        replies = [r for r, _ in script]
        run = tmp_path / f"run{seen['runs']}"
        seen["runs"] += 1
        screen = _SmallScreen(widgets=form_screen().widgets)
        backend = ScriptedBackend(replies)
        result = run_episode("Fill in the form", screen, backend, LOOP, record_dir=run)
        assert result.status != "error", (result.answer, replies)
        seen[f"status {result.status}"] += 1
        used = len(backend.requests)
        seen["hostile replies"] += sum(hostile for _, hostile in script[:used])
        # Every step is on disk, in order, each reply exactly as the model wrote it.
        lines = [json.loads(x) for x in (run / "traj.jsonl").read_text(encoding="utf-8").split("\n")[:-1]]
        assert [x["step_num"] for x in lines] == [s.index for s in result.steps] == list(range(1, used + 1))
        for line, reply in zip(lines, replies, strict=False):
            if line["kind"] in ("action", "parse_error"):
                assert line["response"] == reply
        executed = [x for x in lines if x["outcome"] and x["outcome"]["kind"] in ("executed", "failed")]
        assert len(executed) == len(screen.executed)
        seen["executed steps"] += len(executed)
        seen["parse errors"] += sum(x["kind"] == "parse_error" for x in lines)
        assert json.loads((run / "result.json").read_text(encoding="utf-8"))["status"] == result.status
        assert (run / "report.html").is_file() and not (run / ".report.html.tmp").exists()

    fuzz()
    print(f"\nloop fuzz: {dict(seen)}")
    assert seen["hostile replies"] >= TARGET
    assert seen["executed steps"] > 0


def test_a_megabyte_reply_in_a_run_is_a_recorded_parse_error(tmp_path: Path) -> None:
    screen = _SmallScreen(widgets=form_screen().widgets)
    replies = [
        "{" * MAX_REPLY_CHARS,
        "x" * (MAX_REPLY_CHARS + 1),
        call('{"action": "scroll", "pixels": Infinity}'),
    ]
    options = LOOP.model_copy(update={"max_steps": 3})
    result = run_episode("task", screen, ScriptedBackend(replies), options, record_dir=tmp_path)
    assert result.status == "budget"
    assert [s.kind for s in result.steps] == ["parse_error"] * 3
    lines = (tmp_path / "traj.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
    assert [json.loads(x)["response"] for x in lines] == replies


# ----- recording cannot be broken by text UTF-8 cannot carry ------------------------------------


def test_the_recorder_writes_lone_surrogates_as_escapes_and_loses_nothing(tmp_path: Path) -> None:
    bad = "a\ud800b\udfff"
    step = Step(
        index=1,
        kind="parse_error",
        raw_reply=bad,
        thought=bad,
        summary=bad,
        error=bad,
        plan=(bad,),
        action=Finish(status="success", answer=bad),
    )
    recorder = Recorder(tmp_path)
    recorder.on_start(f"instruction {bad}")
    recorder.on_step(step, None)
    recorder.on_finish(RunResult(instruction=bad, status="success", answer=bad, steps=(step,)))
    line = json.loads((tmp_path / "traj.jsonl").read_text(encoding="utf-8"))
    assert line["response"] == line["thought"] == line["error"] == bad  # the same value, escaped on disk
    assert line["action"]["answer"] == bad
    assert (
        json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["instruction"] == f"instruction {bad}"
    )
    assert json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))["answer"] == bad
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "a\\ud800b\\udfff" in report
    assert not (tmp_path / ".report.html.tmp").exists()


# ----- the terminal shows control characters, never obeys them ----------------------------------


def test_terminal_safe_writes_controls_out_and_keeps_the_rest() -> None:
    assert terminal_safe("a\x1b]52;c;aGk=\x07b") == "a\\x1b]52;c;aGk=\\x07b"
    assert terminal_safe("\x1b[2J\x9b2J\x7f\r\x00") == "\\x1b[2J\\x9b2J\\x7f\\x0d\\x00"
    assert terminal_safe("\u202egnp.exe \u2066x\u2069 \ud800") == "\\u202egnp.exe \\u2066x\\u2069 \\ud800"
    keep = "line 1\n\tline 2 — café 東京 😀 [bold]"
    assert terminal_safe(keep) == keep
    value = {"thought": "a\x1b]52;c;aGk=\x07 \x9b \u202e \x7f \ud800 — 東京\n"}
    printed = terminal_safe_json(json.dumps(value, ensure_ascii=False, indent=2))
    assert json.loads(printed) == value
    assert terminal_safe(printed) == printed  # nothing left for a terminal to act on


def test_the_progress_view_escapes_model_text(tmp_path: Path) -> None:
    from rich.console import Console

    screen = _SmallScreen(widgets=form_screen().widgets)
    replies = [
        "Thought: \x1b[2J\nAction: \x1b]52;c;aGFja2Vk\x07 click\n"
        + click_reply(screen, "name").split("\n", 1)[1],
        call('{"action": "scroll", "pixels": Infinity}'),
        format_reply(
            Finish(status="success", answer="done \x1b]52;c;aGFja2Vk\x07 \x9b2J \u202eexe"), summary="ok"
        ),
    ]
    out = io.StringIO()
    progress = ConsoleProgress(Console(file=out, force_terminal=False, width=300, highlight=False))
    result = run_episode("task \x1b[31m", screen, ScriptedBackend(replies), LOOP, observers=[progress])
    assert result.status == "success"
    shown = out.getvalue()
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in shown
    assert "\\x1b]52;c;aGFja2Vk\\x07 click" in shown  # the Action line, visibly
    assert "done \\x1b]52;c;aGFja2Vk\\x07 \\x9b2J \\u202eexe" in shown  # the final answer
    assert "unparseable reply" in shown and "Infinity is not a number" in shown


# ----- the CLI ---------------------------------------------------------------------------------


def inspect_parse(stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([EXE, "inspect", "parse"], input=stdin, capture_output=True, timeout=120)


@pytest.mark.parametrize(
    "stdin",
    [
        b'{"action": "scroll", "pixels": Infinity}',
        b'{"action": "scroll", "pixels": ' + b"9" * 5000 + b"}",
        b'<tool_call>{"name": "computer_use", "arguments": {"coordinate": ' + b"[" * 100_000 + b"}}",
        b'<tool_call>{"name": "computer_use", "arguments": {"action": "type", "text": "\xed\xa0\x80"}}',
        b'<tool_call>{"name": "computer_use", "arguments": {"action": "type", "text": "\\ud800"}}',
        b"{" * MAX_REPLY_CHARS,
        b"{" * (MAX_REPLY_CHARS + 1),
    ],
    ids=[
        "Infinity",
        "huge int",
        "deep",
        "invalid UTF-8",
        "escaped surrogate",
        "1 MiB of {",
        "past the bound",
    ],
)
def test_inspect_parse_exits_2_on_hostile_replies(stdin: bytes) -> None:
    out = inspect_parse(stdin)
    assert out.returncode == 2, out.stderr.decode(errors="replace")
    assert out.stderr.startswith(b"parse error: ") and b"Traceback" not in out.stderr


def test_inspect_parse_prints_model_text_inert() -> None:
    thought = "Thought: \x1b]52;c;aGk=\x07 \x9b2J \u202eexe \x7f"
    out = inspect_parse((thought + "\n" + call('{"action": "wait"}')).encode())
    assert out.returncode == 0, out.stderr
    for raw in (b"\x1b", b"\x07", "\x9b".encode(), "\u202e".encode(), b"\x7f"):
        assert raw not in out.stdout
    assert json.loads(out.stdout)["thought"] == thought  # the same text, as JSON escapes


@pytest.mark.browser
def test_run_records_a_hostile_reply_and_prints_the_answer_inert(
    chromium_path: str | None, pages_url: str, tmp_path: Path
) -> None:
    replies = [
        '{"action": "scroll", "pixels": Infinity}',
        format_reply(Finish(status="success", answer="done \x1b]52;c;aGk=\x07\x1b[2J"), summary="Done"),
    ]
    (tmp_path / "replies.jsonl").write_text("".join(json.dumps(r) + "\n" for r in replies), encoding="utf-8")
    out = subprocess.run(
        [EXE, "run", "Do it", "--url", pages_url + "agent/form.html", "--model", f"scripted:{tmp_path / 'replies.jsonl'}",
         "--record-dir", str(tmp_path / "run")],
        capture_output=True, timeout=120, env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    assert out.stdout.decode().strip() == "done \\x1b]52;c;aGk=\\x07\\x1b[2J"
    assert b"\x1b]52" not in out.stderr
    lines = [
        json.loads(x) for x in (tmp_path / "run" / "traj.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
    ]
    assert [x["kind"] for x in lines] == ["parse_error", "action"]
    assert "Infinity is not a number" in lines[0]["error"]
