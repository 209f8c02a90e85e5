"""Valid clicks on widgets we did not write are never refused: the real jQuery UI (shipped by the
miniwob package) spinner, datepicker, menu and autocomplete, buttons in open and closed shadow roots,
and an icon that swaps itself on hover. Each click must pass the element probe without a blocker and
reach the widget's own handler; a 300 ms delayed menu must be on screen when the step settles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actions.browser import BrowserEnvironment
from actions.types import Click, Executed, TypeText
from agent.explain import element_evidence

pytestmark = pytest.mark.browser


@pytest.fixture
def env(browser_factory: Callable[..., Any], pages_url: str) -> BrowserEnvironment:
    browser: BrowserEnvironment = browser_factory()
    browser.reset()
    browser.goto(pages_url + "jqueryui.html")
    return browser


def centre(env: BrowserEnvironment, selector: str, text: str | None = None) -> tuple[int, int]:
    """The centre of the first element matching `selector` (and holding exactly `text`)."""
    box = env.evaluate(
        "([s, t]) => { const e = [...document.querySelectorAll(s)].find((e) => t === null || e.textContent === t);"
        " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }",
        [selector, text],
    )
    return round(box[0]), round(box[1])


def click_through_probe(env: BrowserEnvironment, x: int, y: int) -> None:
    """What the agent does for a click: point, probe (no blocker allowed), then press."""
    env.hover(x, y)
    info = env.element_at(x, y)
    assert info is not None and info.interactive, info
    assert element_evidence(Click(x=x, y=y), info) is None, info
    assert isinstance(env.execute(Click(x=x, y=y)), Executed)


def clicks(env: BrowserEnvironment) -> list[str]:
    return list(env.evaluate("window.clicks"))


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (".ui-spinner-up", "spin:1"),  # aria-hidden arrows, <a> without href
        (".ui-spinner-down", "spin:-1"),
        ("#menu > li:nth-child(1) > div", "menu:Books"),
        ("#menu > li:nth-child(3) > div", "menu:Movies"),
    ],
)
def test_jquery_ui_controls_are_clicked_without_a_false_block(
    env: BrowserEnvironment, selector: str, expected: str
) -> None:
    click_through_probe(env, *centre(env, selector))
    assert clicks(env) == [expected]


def test_datepicker_prev_next_and_a_day(env: BrowserEnvironment) -> None:
    title = "document.querySelector('.ui-datepicker-title').textContent.replace(/\\s+/g, ' ')"
    assert env.evaluate(title) == "November 2026"
    click_through_probe(env, *centre(env, ".ui-datepicker-prev"))  # <a> without href, bound by script
    assert env.evaluate(title) == "October 2026"
    click_through_probe(env, *centre(env, ".ui-datepicker-next"))
    click_through_probe(env, *centre(env, ".ui-datepicker-next"))
    assert env.evaluate(title) == "December 2026"
    click_through_probe(env, *centre(env, "a.ui-state-default", "3"))
    assert clicks(env) == ["date:12/03/2026"]


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_shadow_root_buttons_are_seen_and_clicked(env: BrowserEnvironment, mode: str) -> None:
    x, y = centre(env, f"#{mode}-host")
    info = env.element_at(x, y)
    assert info is not None and info.tag == "button" and info.label == f"{mode.capitalize()} shadow"
    click_through_probe(env, x, y)
    assert clicks(env) == [f"shadow:{mode}"]


def test_autocomplete_menu_due_in_300_ms_is_on_screen_when_the_step_settles(env: BrowserEnvironment) -> None:
    click_through_probe(env, *centre(env, "#tags"))
    assert isinstance(env.execute(TypeText(text="P")), Executed)
    # No extra wait: the settle itself waited for the widget's 300 ms timer and the menu it shows.
    assert env.evaluate("$('.ui-autocomplete').is(':visible')") is True
    item = ".ui-autocomplete li:nth-child(1) div"
    assert env.evaluate(f"document.querySelector('{item}').textContent") == "Python"
    click_through_probe(env, *centre(env, item))
    assert clicks(env) == ["auto:Python"]


def test_an_icon_that_swaps_on_hover_receives_the_click(
    browser_factory: Callable[..., Any], pages_url: str
) -> None:
    env: BrowserEnvironment = browser_factory()
    env.reset()
    env.goto(pages_url + "hover_swap.html")
    # The model clicks straight away (no separate hover step): the environment moves, waits, presses.
    assert isinstance(env.execute(Click(x=160, y=160)), Executed)
    assert env.evaluate("document.getElementById('log').textContent") == "icon clicked"


def test_a_native_select_shows_its_options_and_a_click_chooses_one(
    browser_factory: Callable[..., Any], pages_url: str
) -> None:
    env: BrowserEnvironment = browser_factory()
    env.reset()
    env.goto(pages_url + "select.html")
    before = env.observe().image
    click_through_probe(env, *centre(env, "#fruit"))
    after = env.observe().image
    # The options are drawn in the page, below the select, so they are in the screenshot.
    rows = env.evaluate(
        "[...document.querySelectorAll('[data-qwen-agent=select-options] [role=option]')].map((r) => r.textContent)"
    )
    assert rows == ["Apple", "Banana", "Cherry (sold out)", "Lime", "Orange"]
    x, y = centre(env, "[data-qwen-agent=select-options] [role=option]", "Orange")
    assert (
        before.crop((x - 30, y - 8, x + 30, y + 8)).tobytes()
        != after.crop((x - 30, y - 8, x + 30, y + 8)).tobytes()
    )
    click_through_probe(env, x, y)
    assert env.evaluate("document.getElementById('log').textContent") == "changed to orange"
    assert env.evaluate("document.querySelector('[data-qwen-agent=select-options]')") is None
    # A disabled option cannot be chosen, as in the native list.
    click_through_probe(env, *centre(env, "#fruit"))
    click_through_probe(
        env, *centre(env, "[data-qwen-agent=select-options] [role=option]", "Cherry (sold out)")
    )
    assert env.evaluate("document.getElementById('fruit').value") == "orange"


def test_the_probe_reads_the_viewport_point_after_scrolling(
    browser_factory: Callable[..., Any], pages_url: str
) -> None:
    env: BrowserEnvironment = browser_factory()
    env.reset()
    env.page.set_content(
        "<div>"
        + "".join(
            f"<button id='b{i}' style='display:block;height:100px;width:300px'>B{i}</button>"
            for i in range(30)
        )
        + "</div>"
    )
    env.evaluate("window.scrollTo(0, 500)")
    info = env.element_at(50, 50)  # viewport pixels: B4 or B5 is there now, not B0
    assert info is not None and info.label == env.evaluate("document.elementFromPoint(50, 50).textContent")
    assert info.covered_by is None
