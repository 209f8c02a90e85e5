"""tasks.osworld.adapter: our agent behind OSWorld's `reset` / `predict` interface.

The model is scripted with raw Qwen3-VL replies; what `predict` returns is run the way OSWorld's VM
server runs it (tests.test_pyautogui_code.run_like_osworld) on a real Xvfb with the Tk form, and
the form's own log says what landed.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from actions.desktop import DesktopEnvironment, DesktopOptions
from actions.types import Click, ScreenGeometry
from actions.xdisplay import VirtualDisplay
from model.qwen3vl import format_reply
from model.scripted import ScriptedBackend
from tasks.osworld.adapter import QwenOSWorldAgent
from tests.fixtures.display import LaunchApp
from tests.form_script import fill_form_replies
from tests.test_pyautogui_code import INJECTION, run_like_osworld

SCREEN = (1280, 800)  # the virtual display's size: the "VM" screen
TERMINATE_FAILURE = (
    "Action: The setting does not exist in this version, so the task cannot be done.\n"
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "terminate", "status": "failure"}}\n'
    "</tool_call>"
)
TERMINATE_SUCCESS = (
    'Action: Done.\n<tool_call>\n{"name": "computer_use", "arguments": '
    '{"action": "terminate", "status": "success"}}\n</tool_call>'
)
WAIT = 'Action: Wait for the app.\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "wait", "time": 2}}\n</tool_call>'


def png(color: str = "white", size: tuple[int, int] = SCREEN) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def agent_with(replies: list[str]) -> tuple[QwenOSWorldAgent, ScriptedBackend]:
    backend = ScriptedBackend(replies)
    agent = QwenOSWorldAgent(screen_size=SCREEN, backend=backend)
    agent.reset(None, vm_ip="10.0.0.2")
    return agent, backend


# -- replies -> OSWorld actions ---------------------------------------------------------------
@pytest.mark.unit
def test_terminate_failure_is_fail_success_is_done_wait_is_wait() -> None:
    agent, _ = agent_with([WAIT, TERMINATE_FAILURE])
    assert agent.predict("Turn on the setting", {"screenshot": png()}) == (WAIT, ["WAIT"])
    assert agent.predict("Turn on the setting", {"screenshot": png()}) == (TERMINATE_FAILURE, ["FAIL"])
    agent.reset()
    agent, _ = agent_with([TERMINATE_SUCCESS])
    assert agent.predict("Anything", {"screenshot": png(), "accessibility_tree": "<a/>"})[1] == ["DONE"]


@pytest.mark.unit
def test_grid_coordinates_become_vm_screen_pixels() -> None:
    # (500, 500) on the 0..1000 grid is the centre of whatever screen the VM has.
    reply = 'Action: x\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 250]}}\n</tool_call>'
    agent = QwenOSWorldAgent(screen_size=(1920, 1080), backend=ScriptedBackend([reply]))
    agent.reset()
    # A HiDPI screenshot (twice the pixels) does not change where pyautogui clicks.
    response, actions = agent.predict("Click", {"screenshot": png(size=(3840, 2160))})
    assert response == reply
    assert actions == ["pyautogui.click(960, 270, clicks=1, interval=0.0, button='left')"]


@pytest.mark.unit
def test_unparseable_reply_is_a_wait_and_the_reason_goes_back_to_the_model() -> None:
    garbage = "I think I should click the button."
    agent, backend = agent_with([garbage, TERMINATE_SUCCESS])
    assert agent.predict("Save the file", {"screenshot": png()}) == (garbage, ["WAIT"])
    assert agent.predict("Save the file", {"screenshot": png()})[1] == ["DONE"]
    second = backend.requests[1]
    last_user = second.messages[-1].text
    assert "could not be parsed" in last_user, last_user
    assert "Step 1: (reply could not be parsed" in second.messages[1].text


@pytest.mark.unit
def test_history_and_no_effect_feedback_follow_our_context_policy() -> None:
    geometry = ScreenGeometry(width=SCREEN[0], height=SCREEN[1])
    click = format_reply(Click(x=640, y=400), geometry, summary="Click Save")
    agent, backend = agent_with([click, click, TERMINATE_SUCCESS])
    for _ in range(3):
        agent.predict("Save", {"screenshot": png()})  # the screen never changes
    third = backend.requests[2]
    # The previous steps come back as screenshot + raw reply turns (history_images = 4).
    assert [m.role for m in third.messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert third.messages[2].text == click
    assert "The screen did not change after your last action" in third.messages[-1].text


@pytest.mark.unit
def test_reset_forgets_the_previous_task_and_max_steps_stops_model_calls() -> None:
    agent = QwenOSWorldAgent(screen_size=SCREEN, max_steps=1, backend=ScriptedBackend([WAIT, WAIT]))
    agent.reset()
    assert agent.predict("a", {"screenshot": png()})[1] == ["WAIT"]
    assert agent.predict("a", {"screenshot": None}) == ("", ["WAIT"])  # the VM's capture failed
    assert agent.predict("a", {"screenshot": png()}) == ("", [])  # no model call past the budget
    agent.reset()
    assert agent.predict("b", {"screenshot": png()})[1] == ["WAIT"]


@pytest.mark.unit
def test_importable_without_torch() -> None:
    probe = (
        "import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"
        "import tasks.osworld.adapter as a\n"
        "a.QwenOSWorldAgent(base_url='http://127.0.0.1:9/v1', api_key='k')\n"
        "print('ok')"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# -- on a real display ------------------------------------------------------------------------
@pytest.fixture
def desktop(virtual_display: VirtualDisplay) -> Iterator[DesktopEnvironment]:
    with DesktopEnvironment(DesktopOptions(display=virtual_display.display)) as env:
        yield env


def screenshot(desktop: DesktopEnvironment) -> bytes:
    buffer = io.BytesIO()
    desktop.observe().image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.desktop
def test_predicted_code_fills_the_form_on_a_real_display(
    virtual_display: VirtualDisplay,
    launch_desktop_app: LaunchApp,
    desktop: DesktopEnvironment,
    tmp_path: Path,
) -> None:
    app = launch_desktop_app(virtual_display, "form")
    widgets = app.ready["widgets"]
    geometry = ScreenGeometry(width=SCREEN[0], height=SCREEN[1])
    marker = tmp_path / "pwned"
    injection = INJECTION.format(marker=marker)

    def click(name: str, summary: str) -> str:
        return format_reply(
            Click(x=widgets[name]["x_root"], y=widgets[name]["y_root"]), geometry, summary=summary
        )

    replies = fill_form_replies(click, "Grüße 你好", injection)
    agent, _ = agent_with(replies)
    actions: list[str] = []
    for _ in replies:
        _, step = agent.predict("Fill in the form and save", {"screenshot": screenshot(desktop)})
        actions += step
        for code in step:
            if code not in ("WAIT", "DONE", "FAIL"):
                run_like_osworld(code, virtual_display)
                time.sleep(0.2)  # OSWorld's runner pauses after each action too
    assert actions[-1] == "DONE"
    saved = app.wait_for("saved", timeout_s=10)
    assert saved, app.events()[-5:]
    assert saved[-1]["name"] == "Grüße 你好"
    assert saved[-1]["email"] == injection  # typed literally, character for character
    assert saved[-1]["agree"] is True
    assert not marker.exists()
