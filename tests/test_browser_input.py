"""Mouse and keyboard input in a real Chromium, verified through the page's own event record (DOM),
at device scale factor 1 and 2 and in both screenshot frames."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actions.browser import BrowserEnvironment
from actions.types import Click, Drag, Executed, Hotkey, MoveTo, Scroll, TypeText
from tasks.calibration.calibrate import locate_in_screenshot

pytestmark = pytest.mark.browser

FRAMES = [(1.0, "css"), (2.0, "css"), (2.0, "device")]


@pytest.fixture(params=FRAMES, ids=["dsf1", "dsf2-css", "dsf2-device"])
def framed_env(request: pytest.FixtureRequest, browser_factory: Callable[..., Any]) -> BrowserEnvironment:
    """Every frame: device scale factor 1 and 2, screenshots in CSS or in device pixels."""
    dsf, frame = request.param
    env: BrowserEnvironment = browser_factory(device_scale_factor=dsf, screenshot_frame=frame)
    env.reset()
    return env


@pytest.fixture(params=[1.0, 2.0], ids=["dsf1", "dsf2"])
def env(request: pytest.FixtureRequest, browser_factory: Callable[..., Any]) -> BrowserEnvironment:
    """Device scale factor 1 and 2 (input does not depend on the screenshot frame)."""
    browser: BrowserEnvironment = browser_factory(device_scale_factor=request.param)
    browser.reset()
    return browser


def open_page(env: BrowserEnvironment, pages_url: str, name: str) -> None:
    assert isinstance(env.goto(pages_url + name), Executed)


def events(env: BrowserEnvironment, kind: str) -> list[dict[str, Any]]:
    return [e for e in env.evaluate("window.events") if e["type"] == kind]


def test_screenshot_frame_matches_options(framed_env: BrowserEnvironment, pages_url: str) -> None:
    env = framed_env
    open_page(env, pages_url, "mouse.html")
    obs = env.observe()
    assert (obs.geometry.width, obs.geometry.height) == (1280, 800)
    assert obs.image.size == (round(1280 * obs.geometry.scale), round(800 * obs.geometry.scale))
    expected = env.options.device_scale_factor if env.options.screenshot_frame == "device" else 1.0
    assert obs.geometry.scale == expected
    assert obs.title == "Mouse test page"
    assert obs.url == pages_url + "mouse.html"


def test_click_where_the_screenshot_shows_the_target(framed_env: BrowserEnvironment, pages_url: str) -> None:
    env = framed_env
    open_page(env, pages_url, "mouse.html")
    obs = env.observe()
    found = locate_in_screenshot(obs.image, (0x44, 0xAA, 0x88), tolerance=12)
    assert found is not None
    x, y = round(found[0] / obs.geometry.scale), round(found[1] / obs.geometry.scale)
    assert isinstance(env.execute(Click(x=x, y=y)), Executed)
    clicks = events(env, "click")
    assert [c["target"] for c in clicks] == ["target"]
    assert (clicks[0]["x"], clicks[0]["y"]) == (x, y)
    assert abs(x - 260) <= 2 and abs(y - 180) <= 2  # the div's centre in CSS pixels


def test_double_click(env: BrowserEnvironment, pages_url: str) -> None:
    open_page(env, pages_url, "mouse.html")
    env.execute(Click(x=250, y=170, count=2))
    dbl = events(env, "dblclick")
    assert len(dbl) == 1 and dbl[0]["target"] == "target"
    assert [c["detail"] for c in events(env, "click")] == [1, 2]


def test_right_click(env: BrowserEnvironment, pages_url: str) -> None:
    open_page(env, pages_url, "mouse.html")
    env.execute(Click(x=250, y=170, button="right"))
    menu = events(env, "contextmenu")
    assert len(menu) == 1 and menu[0]["button"] == 2 and menu[0]["target"] == "target"
    assert events(env, "click") == []


def test_drag_moves_the_box(env: BrowserEnvironment, pages_url: str) -> None:
    open_page(env, pages_url, "mouse.html")
    # Grab the box 10 px inside its corner (100, 400) and drop it 300 px right, 100 px up.
    assert isinstance(env.execute(Drag(start_x=110, start_y=410, x=410, y=310)), Executed)
    assert events(env, "dragged")[-1] | {"type": "dragged"} == {"type": "dragged", "x": 400, "y": 300}


def test_drag_from_pointer_and_html5_drop(env: BrowserEnvironment, pages_url: str) -> None:
    open_page(env, pages_url, "mouse.html")
    env.execute(MoveTo(x=430, y=420))
    env.execute(Drag(x=670, y=430))  # starts at the pointer
    assert events(env, "drop") == [{"type": "drop", "data": "dnd"}]


def test_scroll_notches_and_direction(env: BrowserEnvironment, pages_url: str) -> None:
    open_page(env, pages_url, "scroll.html")
    env.execute(Scroll(dy=-3, x=400, y=400))  # three notches down
    assert env.evaluate("window.scrollY") == 300
    env.execute(Scroll(dy=1))  # one notch up, at the pointer
    assert env.evaluate("window.scrollY") == 200
    env.execute(Scroll(dx=2))
    assert env.evaluate("window.scrollX") == 200


@pytest.mark.parametrize("text", ["hello world", "café 東京", "Привет, naïve — ok"])
def test_typing_ascii_and_non_ascii(env: BrowserEnvironment, pages_url: str, text: str) -> None:
    open_page(env, pages_url, "keyboard.html")
    env.execute(Click(x=200, y=65))
    assert isinstance(env.execute(TypeText(text=text)), Executed)
    assert env.evaluate("document.getElementById('name').value") == text


def test_typing_newlines_in_textarea(env: BrowserEnvironment, pages_url: str) -> None:
    open_page(env, pages_url, "keyboard.html")
    env.execute(Click(x=200, y=170))
    env.execute(TypeText(text="line one\nzweite Zeile"))
    assert env.evaluate("document.getElementById('notes').value") == "line one\nzweite Zeile"


def test_key_combinations(env: BrowserEnvironment, pages_url: str) -> None:
    open_page(env, pages_url, "keyboard.html")
    env.execute(Click(x=200, y=65))
    env.execute(TypeText(text="draft"))
    env.execute(Hotkey(keys=("ctrl", "a")))
    env.execute(TypeText(text="final"))
    assert env.evaluate("document.getElementById('name').value") == "final"
    env.execute(Hotkey(keys=("tab",)))
    assert env.evaluate("document.activeElement.id") == "notes"
    env.execute(Hotkey(keys=("shift", "tab")))
    assert env.evaluate("document.activeElement.id") == "name"
    env.execute(Hotkey(keys=("ctrl", "shift", "k")))
    keys = env.evaluate("window.keys")
    assert "ctrl+a" in keys and "shift+Tab" in keys
    assert keys[-1].lower() == "ctrl+shift+k"


def test_outside_the_viewport_is_a_failed_outcome(env: BrowserEnvironment, pages_url: str) -> None:
    open_page(env, pages_url, "mouse.html")
    outcome = env.execute(Click(x=1280, y=10))
    assert outcome.kind == "failed" and "outside the 1280x800 viewport" in outcome.reason
    assert env.evaluate("window.events") == []
