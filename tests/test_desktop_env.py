"""DesktopEnvironment on a real Xvfb + openbox with the real Tk probe window.

Every check reads the probe's own event log (what Tk received), never our bookkeeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from actions.desktop import DesktopEnvironment, DesktopOptions
from actions.types import Click, Drag, Executed, Failed, Hotkey, MoveTo, Scroll, TypeText
from actions.xdisplay import VirtualDisplay
from tasks.apps.desktop import RunningApp
from tests.fixtures.display import LaunchApp

pytestmark = pytest.mark.desktop


@pytest.fixture(scope="module")
def desktop(virtual_display: VirtualDisplay) -> Iterator[DesktopEnvironment]:
    with DesktopEnvironment(DesktopOptions(display=virtual_display.display)) as env:
        yield env


@pytest.fixture
def probe(virtual_display: VirtualDisplay, launch_desktop_app: LaunchApp) -> RunningApp:
    return launch_desktop_app(virtual_display, "probe")


def target(app: RunningApp, name: str) -> tuple[int, int]:
    found = [t for t in app.ready["targets"] if t["name"] == name]
    return found[0]["x_root"], found[0]["y_root"]


def presses(app: RunningApp, count: int = 1) -> list[dict[str, Any]]:
    """The probe's recorded presses, once it holds `count` (under load Tk lags the X server)."""
    return app.wait_for("press", count)


def focus_entry(env: DesktopEnvironment, app: RunningApp) -> None:
    entry = app.ready["entry"]
    assert isinstance(env.execute(Click(x=entry["x_root"], y=entry["y_root"])), Executed)
    assert app.wait_for("press")[-1]["widget"] == "entry"


def entry_text(app: RunningApp, expected: str) -> str:
    """The Entry's text as the probe recorded it last, waiting up to 5 s for `expected`."""
    deadline = time.monotonic() + 5
    while True:
        entries = app.events("entry")
        text = str(entries[-1]["text"]) if entries else ""
        if text == expected or time.monotonic() > deadline:
            return text
        time.sleep(0.02)


def test_observe_returns_the_monitor_screenshot(desktop: DesktopEnvironment, probe: RunningApp) -> None:
    shot = desktop.observe()
    assert shot.image.size == (1280, 800)
    assert (shot.geometry.width, shot.geometry.height, shot.geometry.scale) == (1280, 800, 1.0)
    # The probe's red target is where the probe says it is: capture and input share one frame.
    x, y = target(probe, "nw")
    assert shot.image.getpixel((x, y)) == (220, 40, 40)


def test_click_lands_on_target_and_reports_settle_time(
    desktop: DesktopEnvironment, probe: RunningApp
) -> None:
    x, y = target(probe, "center")
    outcome = desktop.execute(Click(x=x, y=y))
    assert isinstance(outcome, Executed) and outcome.settle_ms is not None
    press = presses(probe)[-1]
    assert (press["x_root"], press["y_root"], press["button"]) == (x, y, 1)
    assert press["target"] == "center" and press["count"] == 1


@pytest.mark.parametrize(("button", "count"), [("left", 2), ("left", 3), ("right", 1)])
def test_multi_and_right_clicks(
    desktop: DesktopEnvironment, probe: RunningApp, button: str, count: int
) -> None:
    x, y = target(probe, "ne")
    desktop.execute(Click(x=x, y=y, button=button, count=count))
    got = presses(probe, count)
    number = {"left": 1, "right": 3}[button]
    assert [p["count"] for p in got] == list(range(1, count + 1))
    assert all(p["button"] == number and p["target"] == "ne" for p in got)


def test_drag_from_point_and_from_pointer(desktop: DesktopEnvironment, probe: RunningApp) -> None:
    (x0, y0), (x1, y1) = target(probe, "nw"), target(probe, "se")
    desktop.execute(Drag(start_x=x0, start_y=y0, x=x1, y=y1))
    desktop.execute(Drag(x=x0, y=y1))  # start None = from where the pointer is (x1, y1)
    drags = probe.wait_for("drag", 2)
    assert [(d["start"], d["end"]) for d in drags] == [([x0, y0], [x1, y1]), ([x1, y1], [x0, y1])]


def test_scroll_vertical_and_horizontal(desktop: DesktopEnvironment, probe: RunningApp) -> None:
    x, y = target(probe, "center")
    desktop.execute(Scroll(dy=2, x=x, y=y))
    desktop.execute(Scroll(dy=-1))
    desktop.execute(Scroll(dx=3))
    desktop.execute(Scroll(dx=-1))
    directions = [e["direction"] for e in probe.wait_for("scroll", 7)]
    assert directions == ["up", "up", "down", "right", "right", "right", "left"]
    assert all((e["x_root"], e["y_root"]) == (x, y) for e in probe.events("scroll"))


@pytest.mark.parametrize("typing", ["auto", "xdotool", "clipboard"])
def test_typing_ascii(virtual_display: VirtualDisplay, probe: RunningApp, typing: str) -> None:
    options = DesktopOptions(display=virtual_display.display, typing=typing)
    with DesktopEnvironment(options) as env:
        focus_entry(env, probe)
        env.execute(TypeText(text="Hello, World! 42"))
    assert entry_text(probe, "Hello, World! 42") == "Hello, World! 42"


@pytest.mark.parametrize("typing", ["auto", "clipboard"])
def test_typing_non_ascii_restores_the_clipboard(
    virtual_display: VirtualDisplay, probe: RunningApp, typing: str
) -> None:
    options = DesktopOptions(display=virtual_display.display, typing=typing)
    with DesktopEnvironment(options) as env:
        env.input.write_clipboard("the user's clipboard")
        focus_entry(env, probe)
        env.execute(TypeText(text="café 東京"))
        assert entry_text(probe, "café 東京") == "café 東京"
        assert env.input.read_clipboard() == "the user's clipboard"


def test_key_combinations_reach_the_app(desktop: DesktopEnvironment, probe: RunningApp) -> None:
    focus_entry(desktop, probe)
    desktop.execute(TypeText(text="abc"))
    desktop.execute(Hotkey(keys=("ctrl", "s")))
    desktop.execute(Hotkey(keys=("backspace",)))
    desktop.execute(Hotkey(keys=("shift", "x")))
    assert entry_text(probe, "abX") == "abX"  # typed, then backspace, then shift+x
    assert [e["name"] for e in probe.events("shortcut")] == ["ctrl+s"]
    keys = [(e["keysym"], e["modifiers"]) for e in probe.events("key")]
    assert ("s", ["ctrl"]) in keys and ("X", ["shift"]) in keys


def test_secret_is_typed_but_never_logged(
    virtual_display: VirtualDisplay,
    probe: RunningApp,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("QWEN_AGENT_SECRET_PIN", "s3cr3t-ü")
    caplog.set_level(logging.DEBUG)
    with DesktopEnvironment(DesktopOptions(display=virtual_display.display)) as env:
        focus_entry(env, probe)
        outcome = env.execute(TypeText(text="pin={{secret:PIN}}"))
        missing = env.execute(TypeText(text="{{secret:NOPE}}"))
    assert entry_text(probe, "pin=s3cr3t-ü") == "pin=s3cr3t-ü"
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in repr(outcome)
    assert "{{secret:PIN}}" in caplog.text
    assert isinstance(missing, Failed) and "QWEN_AGENT_SECRET_NOPE" in missing.reason


def test_off_screen_point_is_a_failed_outcome(desktop: DesktopEnvironment, probe: RunningApp) -> None:
    outcome = desktop.execute(Click(x=1280, y=10))
    assert isinstance(outcome, Failed) and "1280x800" in outcome.reason
    assert isinstance(desktop.execute(MoveTo(x=5, y=900)), Failed)
    assert probe.events("press") == []


def test_calibration_on_the_probe_surface(desktop: DesktopEnvironment, probe: RunningApp) -> None:
    from tasks.calibration.calibrate import run_calibration
    from tasks.calibration.desktop import ProbeSurface

    report = run_calibration(desktop, ProbeSurface(probe.log_path))
    assert report.passed, report.text()
    assert {r.located_from for r in report.results} == {"screenshot"}
    assert {p["target"] for p in presses(probe, 5)} == {"nw", "ne", "center", "sw", "se"}
