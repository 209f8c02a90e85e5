"""The reply codec: `format_reply` writes exactly what Qwen3-VL writes, and `parse_reply` reads it back.

Property: format -> parse round-trips every action type on both grids (and absolute mode), on several
screens including HiDPI, in the JSON form and in Qwen3.5's XML form; points come back within one grid
cell, and formatting the parsed actions again gives the same text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from model.qwen3vl import (
    ALLOWED_GRIDS,
    DEFAULT_GRID,
    DEFAULT_MAX_PIXELS,
    STOP_STRINGS,
    TOOL_NAME,
    CallStyle,
    CoordinateGrid,
    PixelBudget,
    action_arguments,
    format_calls,
    format_reply,
    parse_reply,
    restore_stop,
    smart_resize,
    strip_thinking,
)

pytestmark = pytest.mark.unit

SQUARE = ScreenGeometry(width=1000, height=1000)  # grid 1000 maps pixels to themselves

# ----- exact text ----------------------------------------------------------------------------------


def test_a_click_is_written_exactly_as_qwen_writes_it() -> None:
    screen = ScreenGeometry(width=1920, height=1080)
    text = format_reply(Click(x=960, y=540), screen, summary="Click Save")
    assert text == (
        "Action: Click Save\n<tool_call>\n"
        '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}\n'
        "</tool_call>"
    )
    assert parse_reply(text, screen).actions == (Click(x=960, y=540),)


ARGUMENTS: list[tuple[str, Action, list[dict[str, Any]]]] = [
    ("left click", Click(x=10, y=20), [{"action": "left_click", "coordinate": [10, 20]}]),
    ("double click", Click(x=10, y=20, count=2), [{"action": "double_click", "coordinate": [10, 20]}]),
    ("triple click", Click(x=10, y=20, count=3), [{"action": "triple_click", "coordinate": [10, 20]}]),
    ("right click", Click(x=1, y=2, button="right"), [{"action": "right_click", "coordinate": [1, 2]}]),
    ("middle click", Click(x=1, y=2, button="middle"), [{"action": "middle_click", "coordinate": [1, 2]}]),
    ("move", MoveTo(x=5, y=6), [{"action": "mouse_move", "coordinate": [5, 6]}]),
    ("drag from pointer", Drag(x=7, y=8), [{"action": "left_click_drag", "coordinate": [7, 8]}]),
    ("drag with start", Drag(x=7, y=8, start_x=1, start_y=2),
     [{"action": "left_click_drag", "start_coordinate": [1, 2], "coordinate": [7, 8]}]),
    ("scroll down", Scroll(dy=-3), [{"action": "scroll", "pixels": -3}]),
    ("scroll at point", Scroll(dy=3, x=9, y=9), [{"action": "scroll", "coordinate": [9, 9], "pixels": 3}]),
    ("hscroll", Scroll(dx=4), [{"action": "hscroll", "pixels": 4}]),
    ("scroll both axes", Scroll(dx=2, dy=-1),
     [{"action": "scroll", "pixels": -1}, {"action": "hscroll", "pixels": 2}]),
    ("key combo", Hotkey(keys=("ctrl", "shift", "t")), [{"action": "key", "keys": ["ctrl", "shift", "t"]}]),
    ("type", TypeText(text='say "hi"\nté 東京'), [{"action": "type", "text": 'say "hi"\nté 東京'}]),
    ("wait whole", Wait(seconds=2), [{"action": "wait", "time": 2}]),
    ("wait fraction", Wait(seconds=0.5), [{"action": "wait", "time": 0.5}]),
    ("terminate success", Finish(status="success"), [{"action": "terminate", "status": "success"}]),
    ("terminate failure", Finish(status="failure"), [{"action": "terminate", "status": "failure"}]),
    ("answer", Finish(status="success", answer="42"), [{"action": "answer", "text": "42"}]),
    ("failure with answer", Finish(status="failure", answer="No PayPal."),
     [{"action": "answer", "text": "No PayPal."}, {"action": "terminate", "status": "failure"}]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("action", "expected"), [(a, e) for _, a, e in ARGUMENTS], ids=[n for n, _, _ in ARGUMENTS]
)
def test_every_action_type_has_its_arguments(action: Action, expected: list[dict[str, Any]]) -> None:
    assert action_arguments(action, SQUARE) == expected
    text = format_reply(action, SQUARE, summary="step")
    assert text.count("<tool_call>") == len(expected)
    bodies = [json.loads(b.split("\n")[1]) for b in text.split("<tool_call>")[1:]]
    assert bodies == [{"name": TOOL_NAME, "arguments": e} for e in expected]


def test_a_diagonal_scroll_comes_back_as_one_scroll_per_axis() -> None:
    text = format_reply(Scroll(dx=2, dy=-1, x=5, y=5), SQUARE)
    assert parse_reply(text, SQUARE).actions == (Scroll(dy=-1, x=5, y=5), Scroll(dx=2, x=5, y=5))


def test_failure_without_answer_is_explained_by_the_action_line() -> None:
    text = format_reply(Finish(status="failure"), summary="The site has no PayPal option.")
    assert parse_reply(text, SQUARE).action == Finish(
        status="failure", answer="The site has no PayPal option."
    )


def test_text_that_mentions_the_tags_survives() -> None:
    tricky = TypeText(text="</think> then <tool_call> and </tool_call> <function=x>")
    text = format_reply(tricky, thought="Thought: type it")
    assert parse_reply(text, SQUARE).actions == (tricky,)
    # The escape keeps ordinary text exactly as Qwen writes it.
    assert "\\u003c" not in format_reply(TypeText(text="a < b"))


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: format_reply(Click(x=1, y=1, button="right", count=2), SQUARE), "no right click"),
        (lambda: format_reply(Scroll(dy=1, x=1), SQUARE), "both x and y"),
        (lambda: format_reply(Drag(x=1, y=1, start_x=1), SQUARE), "both start_x and start_y"),
        (lambda: format_reply([Finish(status="success"), Wait()]), "nothing can follow a Finish"),
        (lambda: format_reply(Click(x=1, y=1)), "screen geometry"),
        (lambda: format_reply(Wait(), summary="two\nlines"), "one non-empty line"),
        (lambda: format_reply(Wait(), thought="<tool_call>"), "cannot hold"),
        (lambda: format_reply(Wait(), summary="x", thought="Action: y"), "already has an `Action:`"),
        (lambda: format_reply(TypeText(text="</parameter>"), style="xml"), "XML call form"),
        (lambda: format_calls([]), "at least one call"),
    ],
)
def test_what_qwen_cannot_say_is_refused(call: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        call()


def test_strip_thinking_keeps_what_follows_the_last_closing_tag() -> None:
    assert strip_thinking("a </think> b </think>\n\n answer ") == "answer"
    assert strip_thinking("  no thinking  ") == "no thinking"


def test_restore_stop_closes_a_complete_call_in_either_form() -> None:
    json_call = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "wait"}}\n'
    assert restore_stop(json_call) == json_call + STOP_STRINGS[0]
    xml_call = format_reply(Wait(), style="xml").removesuffix(STOP_STRINGS[0])
    assert restore_stop(xml_call) == xml_call + STOP_STRINGS[0]
    for incomplete in ('<tool_call>\n{"name": "comp', "<tool_call>\n<function=computer_use>\n", "plain"):
        assert restore_stop(incomplete) == incomplete


def test_constants() -> None:
    assert DEFAULT_GRID in ALLOWED_GRIDS == (1000, 999)
    assert PixelBudget().max_pixels == DEFAULT_MAX_PIXELS
    assert CoordinateGrid().size == DEFAULT_GRID


# ----- the round-trip property ---------------------------------------------------------------------

SCREENS = [
    ScreenGeometry(width=1280, height=800),
    ScreenGeometry(width=1920, height=1080),
    ScreenGeometry(width=2560, height=1440, scale=2.0),  # HiDPI: the screenshot is 5120x2880
    ScreenGeometry(width=1280, height=720, scale=2.0),  # a 2560x1440 panel at 200 %
    ScreenGeometry(width=1366, height=768, offset_x=1920),  # second monitor, odd size
    ScreenGeometry(width=800, height=1280),  # portrait
    ScreenGeometry(width=640, height=400),  # smaller than the grid
]
GRIDS = [CoordinateGrid(size=n) for n in ALLOWED_GRIDS] + [CoordinateGrid(mode="absolute")]
KEYS = ["ctrl", "shift", "alt", "super", "enter", "tab", "esc", "space", "backspace", "delete", "home",
        "pagedown", "up", "left", "f5", "f12", "a", "s", "z", "0", "9", "+", "-", "/", "[", "`"]  # fmt: skip
PLAIN = st.characters(codec="utf-8", exclude_characters="<")  # free text without anything tag-like


def _image_size(screen: ScreenGeometry, grid: CoordinateGrid) -> tuple[int, int] | None:
    if grid.mode == "relative":
        return None
    h, w = smart_resize(round(screen.height * screen.scale), round(screen.width * screen.scale))
    return w, h


def _scroll(dy: int, dx: int, at: tuple[int, int] | None) -> Scroll:
    return Scroll(dy=dy, dx=dx) if at is None else Scroll(dy=dy, dx=dx, x=at[0], y=at[1])


@st.composite
def _actions(draw: st.DrawFn, screen: ScreenGeometry, text: st.SearchStrategy[str]) -> list[Action]:
    xs, ys = st.integers(0, screen.width - 1), st.integers(0, screen.height - 1)
    point = st.tuples(xs, ys)
    notches = st.integers(-100, 100)
    click_kinds = st.sampled_from([("left", 1), ("left", 2), ("left", 3), ("right", 1), ("middle", 1)])
    middle: st.SearchStrategy[Action] = st.one_of(
        st.builds(lambda p, k: Click(x=p[0], y=p[1], button=k[0], count=k[1]), point, click_kinds),
        st.builds(lambda p: MoveTo(x=p[0], y=p[1]), point),
        st.builds(lambda p: Drag(x=p[0], y=p[1]), point),
        st.builds(lambda p, s: Drag(x=p[0], y=p[1], start_x=s[0], start_y=s[1]), point, point),
        st.builds(_scroll, notches, st.just(0), st.none() | point),
        st.builds(_scroll, st.just(0), notches.filter(bool), st.none() | point),
        st.builds(TypeText, text=text.filter(bool)),
        st.builds(lambda k: Hotkey(keys=tuple(k)), st.lists(st.sampled_from(KEYS), min_size=1, max_size=6)),
        st.builds(Wait, seconds=st.floats(0, 60)),
    )
    last: st.SearchStrategy[Action] = st.one_of(
        middle,
        st.builds(
            Finish, status=st.sampled_from(["success", "failure"]), answer=st.none() | text.filter(bool)
        ),
        st.builds(lambda a: Finish(status="success", answer=a), text),
    )
    return [*draw(st.lists(middle, max_size=3)), draw(last)]


def _points(action: Action) -> list[tuple[int | None, int | None]]:
    d = action.model_dump()
    return [(d.get("x"), d.get("y")), (d.get("start_x"), d.get("start_y"))]


def _rest(action: Action) -> dict[str, Any]:
    return action.model_dump(exclude={"x", "y", "start_x", "start_y"})


@settings(max_examples=400, deadline=None)
@given(data=st.data(), screen=st.sampled_from(SCREENS), grid=st.sampled_from(GRIDS),
       style=st.sampled_from(["json", "xml"]))  # fmt: skip
def test_format_then_parse_round_trips(
    data: st.DataObject, screen: ScreenGeometry, grid: CoordinateGrid, style: CallStyle
) -> None:
    # JSON carries any text (tag-like text is escaped); the XML form carries text without tags.
    text = st.text(max_size=30) if style == "json" else st.text(PLAIN, max_size=30)
    actions = data.draw(_actions(screen, text))
    line = st.text(st.characters(codec="utf-8", exclude_characters="<\n\r"), max_size=20).map(str.strip)
    summary = data.draw(st.none() | line.filter(bool))
    thought = data.draw(st.none() | st.from_regex(r"Thought: [a-z ,.]{1,20}", fullmatch=True))
    size = _image_size(screen, grid)
    raw = format_reply(actions, screen, grid, size, summary=summary, thought=thought, style=style)

    decision = parse_reply(raw, screen, grid, size)
    assert decision.summary == summary
    head = "\n".join(t for t in (thought, summary and f"Action: {summary}") if t)
    assert decision.thought == head.strip()
    # The parser's one rule: a failure without an answer is explained by the Action line.
    expected = [
        Finish(status="failure", answer=summary)
        if isinstance(a, Finish) and a.status == "failure" and not a.answer and summary
        else a
        for a in actions
    ]
    assert len(decision.actions) == len(expected)
    # One grid cell in pixels along each axis: the rounding the grid allows, and no more.
    ex, ey = grid.extent(size or (grid.size, grid.size))
    cell = (screen.width / ex, screen.height / ey)
    for got, want in zip(decision.actions, expected, strict=True):
        assert _rest(got) == _rest(want)
        for (gx, gy), (wx, wy) in zip(_points(got), _points(want), strict=True):
            assert (gx is None) == (wx is None) and (gy is None) == (wy is None)
            if gx is not None and wx is not None and gy is not None and wy is not None:
                assert abs(gx - wx) <= cell[0] / 2 + 0.5 and abs(gy - wy) <= cell[1] / 2 + 0.5
    # Formatting what was parsed gives the same text: the grid points are a fixed point.
    again = format_reply(decision.actions, screen, grid, size, summary=summary, thought=thought, style=style)
    assert again == format_reply(expected, screen, grid, size, summary=summary, thought=thought, style=style)
    if expected == actions:
        assert again == raw


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SCREENS), st.integers(0, 10**6), st.integers(0, 10**6))
def test_pixels_and_grid_agree_in_both_directions(screen: ScreenGeometry, a: int, b: int) -> None:
    # Every grid point the codec writes names a pixel that the codec writes as the same grid point.
    for size in ALLOWED_GRIDS:
        grid = CoordinateGrid(size=size)
        x, y = a % screen.width, b % screen.height
        first = format_reply(MoveTo(x=x, y=y), screen, grid)
        moved = parse_reply(first, screen, grid).action
        assert format_reply(moved, screen, grid) == first
