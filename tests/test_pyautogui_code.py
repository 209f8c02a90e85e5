"""actions.pyautogui_code: typed actions -> the pyautogui source OSWorld's VM server runs.

The desktop tests run each snippet exactly as OSWorld's server does (`python -c PREFIX + code` in a
fresh interpreter on the display) against the probe app, and read the app's own event log back.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actions.pyautogui_code import action_code, special_code
from actions.types import Action, Click, Drag, Finish, Hotkey, MoveTo, Scroll, TypeText, Wait
from actions.xdisplay import VirtualDisplay
from tasks.apps.desktop import RunningApp
from tests.fixtures.display import LaunchApp

# What OSWorld's PythonController puts in front of every action (desktop_env/controllers/python.py).
OSWORLD_PREFIX = "import pyautogui; import time; pyautogui.FAILSAFE = False; "

INJECTION = '"); import os; os.system("touch {marker}") #'
INJECTION_SINGLE = "'); __import__('os').system('touch {marker}') #"

EVERY_KIND: list[Action] = [
    Click(x=10, y=20),
    Click(x=10, y=20, button="right", count=3),
    MoveTo(x=5, y=6),
    Drag(x=100, y=200),
    Drag(x=100, y=200, start_x=1, start_y=2),
    Scroll(dy=-3),
    Scroll(dx=2, dy=1, x=50, y=60),
    Hotkey(keys=("ctrl", "shift", "t")),
    Hotkey(keys=("Return",)),
    TypeText(text="plain"),
    TypeText(text="Grüße 你好\nline two\ttab 🎉"),
]


def run_like_osworld(code: str, display: VirtualDisplay, path: str | None = None) -> None:
    """Run `code` as OSWorld's /execute endpoint does: a new Python process, the prefix, the code."""
    env = {**display.env}
    if path is not None:
        env["PATH"] = path
    done = subprocess.run(
        [sys.executable, "-c", OSWORLD_PREFIX + code], env=env, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()


# -- the code itself ----------------------------------------------------------------------------
@pytest.mark.unit
def test_wait_and_finish_are_osworld_special_replies() -> None:
    assert special_code(Wait(seconds=2)) == "WAIT"
    assert special_code(Finish(status="success")) == "DONE"
    assert special_code(Finish(status="failure", answer="no such setting")) == "FAIL"
    assert special_code(Click(x=1, y=1)) is None
    assert action_code(Wait()) is None and action_code(Finish(status="success")) is None


@pytest.mark.unit
def test_pointer_and_key_code_uses_pyautogui_names() -> None:
    assert action_code(Click(x=10, y=20, button="right", count=2)) == (
        "pyautogui.click(10, 20, clicks=2, interval=0.04, button='right')"
    )
    assert action_code(Hotkey(keys=("Return",))) == "pyautogui.press('enter')"
    assert action_code(Hotkey(keys=("cmd", "Page_Down"))) == "pyautogui.hotkey('win', 'pagedown')"
    drag = action_code(Drag(x=100, y=200))
    assert drag is not None and drag.splitlines()[0] == "pyautogui.mouseDown(button='left')"
    assert "duration=" in drag and drag.endswith("pyautogui.mouseUp(button='left')")


@pytest.mark.unit
@pytest.mark.parametrize("action", EVERY_KIND, ids=lambda a: a.kind)
def test_every_snippet_is_valid_after_osworld_prefix(action: Action) -> None:
    code = action_code(action)
    assert code is not None
    compile(OSWORLD_PREFIX + code, "<osworld>", "exec")  # the first line joins the prefix with `;`


@pytest.mark.unit
@pytest.mark.parametrize("template", [INJECTION, INJECTION_SINGLE])
def test_model_text_is_only_ever_a_string_constant(template: str) -> None:
    text = template.format(marker="/tmp/pwned") + " and 中文"
    code = action_code(TypeText(text=text))
    assert code is not None
    tree = ast.parse(code)
    called = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert "os.system" not in called and "__import__('os').system" not in called
    assert called <= {
        "pyautogui.write", "pyautogui.hotkey", "pyautogui.press", "subprocess.run", "next",
        "shutil.which", "_text.encode", "range", "int", "round", "time.sleep", "tkinter.Tk",
        "_tk.withdraw", "_tk.clipboard_clear", "_tk.clipboard_append", "_tk.update", "_tk.destroy",
    }  # fmt: skip
    # What gets typed, in order: write() arguments and pasted `_text` values; together, the text.
    typed = [
        ast.literal_eval(n.value.args[0] if isinstance(n.value, ast.Call) else n.value)
        for n in tree.body  # top-level statements, in order
        if (isinstance(n, ast.Expr) and ast.unparse(n.value).startswith("pyautogui.write("))
        or (isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "_text")
    ]
    assert "".join(typed) == text


# -- on a real display ------------------------------------------------------------------------
@pytest.fixture
def probe(virtual_display: VirtualDisplay, launch_desktop_app: LaunchApp) -> RunningApp:
    return launch_desktop_app(virtual_display, "probe")


def target(probe: RunningApp, name: str) -> tuple[int, int]:
    found = next(t for t in probe.ready["targets"] if t["name"] == name)
    return found["x_root"], found["y_root"]


@pytest.mark.desktop
def test_clicks_drag_scroll_and_keys_land(virtual_display: VirtualDisplay, probe: RunningApp) -> None:
    cx, cy = target(probe, "center")
    run_like_osworld(str(action_code(Click(x=cx, y=cy, count=2))), virtual_display)
    presses = probe.wait_for("press", 2)
    assert [(p["button"], p["count"], p["target"]) for p in presses] == [(1, 1, "center"), (1, 2, "center")]

    nx, ny = target(probe, "ne")
    run_like_osworld(str(action_code(Click(x=nx, y=ny, button="right"))), virtual_display)
    assert probe.wait_for("press", 3)[-1]["button"] == 3 and probe.events("press")[-1]["target"] == "ne"

    (ax, ay), (bx, by) = target(probe, "nw"), target(probe, "se")
    run_like_osworld(str(action_code(Drag(x=bx, y=by, start_x=ax, start_y=ay))), virtual_display)
    drags = probe.wait_for("drag")
    assert drags and drags[-1]["start"] == [ax, ay] and drags[-1]["end"] == [bx, by]

    run_like_osworld(str(action_code(Scroll(dy=-2, dx=1, x=cx, y=cy))), virtual_display)
    scrolls = probe.wait_for("scroll", 3)
    assert [s["direction"] for s in scrolls] == ["down", "down", "right"]
    assert all((s["x_root"], s["y_root"]) == (cx, cy) for s in scrolls)

    run_like_osworld(str(action_code(Hotkey(keys=("Control", "s")))), virtual_display)
    assert probe.wait_for("shortcut") and probe.events("shortcut")[-1]["name"] == "ctrl+s"


@pytest.mark.desktop
@pytest.mark.parametrize("clipboard", ["xclip", "tk"])
def test_typing_lands_literally_non_ascii_and_injection_included(
    virtual_display: VirtualDisplay, probe: RunningApp, tmp_path: Path, clipboard: str
) -> None:
    """ASCII is typed, the rest pasted; with no xclip/xsel on PATH (a bare VM) Tk holds the clipboard."""
    marker = tmp_path / "pwned"
    text = "Grüße 你好 " + INJECTION.format(marker=marker) + " " + INJECTION_SINGLE.format(marker=marker)
    ex, ey = probe.ready["entry"]["x_root"], probe.ready["entry"]["y_root"]
    run_like_osworld(str(action_code(Click(x=ex, y=ey))), virtual_display)
    no_tools = str(tmp_path / "empty-bin")
    os.makedirs(no_tools)
    run_like_osworld(
        str(action_code(TypeText(text=text))), virtual_display, path=no_tools if clipboard == "tk" else None
    )
    assert entry_text(probe, text) == text
    assert not marker.exists()


def entry_text(probe: RunningApp, expected: str, timeout_s: float = 10.0) -> str | None:
    """The probe Entry's text once it equals `expected`, else its last text after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        texts = [e["text"] for e in probe.events("entry")]
        last = texts[-1] if texts else None
        if last == expected or time.monotonic() > deadline:
            return last
        time.sleep(0.05)
