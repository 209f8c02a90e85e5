"""VmEnvironment against a real OSWorld-compatible server (tasks.osworld.vm_server, a real process)
on a private Xvfb display: screenshots, pyautogui actions on the Tk form (its JSON-lines log is the
source of truth), commands and files, the typed error of a VM that does not answer, and the full
agent loop. Plus the OSWorld accessibility-tree reader on a tree in OSWorld's own format.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import ImageChops

from actions.errors import EnvironmentUnavailable, VmRequestFailed, VmUnavailable
from actions.types import Click, Executed, Failed, MoveTo, TypeText
from actions.vm_environment import VmEnvironment
from actions.vm_tree import element_info, focused_node, node_at, parse_tree
from actions.xdisplay import VirtualDisplay
from agent.loop import run_episode
from agent.options import AgentOptions
from model.qwen3vl import format_reply
from model.scripted import ScriptedBackend
from tasks.apps.desktop import read_events
from tests.fixtures.vm import vm_server
from tests.form_script import fill_form_replies

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server_url(virtual_display: VirtualDisplay) -> Iterator[str]:
    with vm_server(virtual_display) as (url, _):
        yield url


@pytest.fixture
def vm(server_url: str) -> Iterator[VmEnvironment]:
    with VmEnvironment(server_url, timeout_s=20) as env:
        yield env


class VmForm:
    """The Tk form started on the VM through /setup/launch; its log is read on this machine."""

    def __init__(self, vm: VmEnvironment, log_path: Path, title: str) -> None:
        self.vm, self.log_path, self.title = vm, log_path, title
        command = ["python", "-m", "tasks.apps.desktop.form", "--log", str(log_path), "--title", title]
        self.launched = vm.launch(command)
        self.ready = self.wait_for("ready", timeout_s=20)[-1]
        self.widgets: dict[str, Any] = self.ready["widgets"]

    def wait_for(self, kind: str, count: int = 1, timeout_s: float = 8.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while True:
            found = [e for e in read_events(self.log_path) if e.get("event") == kind]
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"no {kind!r} event from the form: {read_events(self.log_path)}"
                return found
            time.sleep(0.05)

    def click(self, name: str) -> Click:
        w = self.widgets[name]
        return Click(x=w["x_root"], y=w["y_root"])

    def close(self) -> None:
        """Close the window through /setup/close_window and wait until it is gone."""
        self.vm.client.close_window(self.title, strict=True)
        deadline = time.monotonic() + 10
        while self.title in self.vm.execute_command(["wmctrl", "-l"]).stdout:
            assert time.monotonic() < deadline, "the form did not close"
            time.sleep(0.1)


@pytest.fixture
def form(vm: VmEnvironment, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[VmForm]:
    app = VmForm(vm, tmp_path / "form.jsonl", f"vm form {request.node.name}")
    yield app
    app.close()


@pytest.mark.desktop
def test_launch_screenshot_and_a_click_that_changes_the_screen(vm: VmEnvironment, form: VmForm) -> None:
    assert "launched successfully" in form.launched
    before = vm.observe()
    assert before.image.size == (1280, 800)
    assert (before.geometry.width, before.geometry.height, before.geometry.scale) == (1280, 800, 1.0)

    outcome = vm.execute(form.click("agree"))

    assert isinstance(outcome, Executed), outcome
    assert outcome.settle_ms is not None and outcome.detail and "still changing" not in outcome.detail
    assert form.wait_for("agree")[-1]["checked"] is True
    after = vm.observe()
    box = ImageChops.difference(before.image, after.image).getbbox()
    window = form.ready["window"]
    assert box is not None, "the tick and the enabled Save button must show in the screenshot"
    assert window["x_root"] <= box[0] and box[2] <= window["x_root"] + window["width"] + 1, box


@pytest.mark.desktop
def test_non_ascii_typing_lands_in_the_field(vm: VmEnvironment, form: VmForm) -> None:
    assert isinstance(vm.execute(form.click("name")), Executed)
    outcome = vm.execute(TypeText(text="Grüße 你好"))
    assert isinstance(outcome, Executed), outcome
    deadline = time.monotonic() + 5
    while True:
        values = [e["value"] for e in read_events(form.log_path) if e.get("event") == "field"]
        if (values and values[-1] == "Grüße 你好") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert values[-1] == "Grüße 你好", values


@pytest.mark.desktop
def test_pointer_and_the_window_tree(vm: VmEnvironment, form: VmForm) -> None:
    target = form.click("email")
    vm.hover(target.x, target.y)
    assert vm.pointer() == (target.x, target.y)
    assert isinstance(vm.execute(MoveTo(x=5, y=7)), Executed)
    assert vm.pointer() == (5, 7)

    element = vm.element_at(target.x, target.y)
    assert element is not None and element.name == form.title and element.role == "frame"
    assert element.bbox is not None
    x, y, w, h = element.bbox
    assert x <= target.x < x + w and y <= target.y < y + h
    assert element.disabled is False
    # The window-level tree marks the active window, no widget has a focused state: None, not a guess.
    assert vm.focused_element() is None


@pytest.mark.desktop
def test_commands_and_files(vm: VmEnvironment, tmp_path: Path) -> None:
    code, out, err = vm.execute_command(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (code, out, err) == (3, "out\n", "err\n")
    assert vm.execute_command("echo $((6 * 7))", shell=True).stdout == "42\n"
    missing = vm.execute_command(["no-such-binary-qwen"])
    assert missing.returncode == -1 and "no-such-binary-qwen" in missing.stderr

    path = tmp_path / "sub dir" / "Grüße.bin"
    data = bytes(range(256)) * 3
    assert "768 bytes" in vm.upload_file(str(path), data)
    assert path.read_bytes() == data
    assert vm.get_file(str(path)) == data
    assert vm.get_file(str(tmp_path / "absent.txt")) is None

    result = vm.client.run_python("import sys; print('py', sys.argv[0].endswith('.py')); sys.exit(2)")
    assert result.returncode == 2 and result.stdout == "py True\n"
    with pytest.raises(VmRequestFailed) as failed:
        vm.launch(["no-such-binary-qwen"])
    assert failed.value.status == 500 and "no-such-binary-qwen" in str(failed.value)


@pytest.mark.desktop
def test_a_failing_action_is_a_failed_outcome_and_a_dead_vm_a_typed_error(
    virtual_display: VirtualDisplay, tmp_path: Path
) -> None:
    # A VM whose `python` lacks pyautogui: every step's code exits 1 with a traceback on stderr.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'pyautogui'\" >&2\nexit 1\n")
    fake.chmod(0o755)
    with vm_server(virtual_display, "--bin-dir", str(bin_dir), "--no-accessibility") as (url, process):
        env = VmEnvironment(url, timeout_s=5)
        outcome = env.execute(Click(x=10, y=10))
        assert isinstance(outcome, Failed)
        assert "No module named 'pyautogui'" in outcome.reason
        off = env.execute(Click(x=1280, y=10))
        assert isinstance(off, Failed) and "outside the screen" in off.reason
        assert env.element_at(10, 10) is None and env.focused_element() is None  # 501: no tree
        process.terminate()
        process.wait(timeout=10)
        with pytest.raises(VmUnavailable) as gone:
            env.observe()
        assert url in str(gone.value) and gone.value.url == url + "/screenshot"
        env.close()


@pytest.mark.unit
def test_a_vm_that_does_not_answer_raises_a_typed_error_naming_its_url() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(VmUnavailable) as refused:
        VmEnvironment(url, timeout_s=2)
    assert isinstance(refused.value, EnvironmentUnavailable)
    assert f"{url}/screenshot" in str(refused.value)

    # A server that accepts the connection but never answers: a timeout, also naming the URL.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(VmUnavailable) as slow:
            VmEnvironment(url, timeout_s=0.5)
        assert time.monotonic() - started < 5
        assert slow.value.timed_out and url in str(slow.value) and "0.5 s" in str(slow.value)


@pytest.mark.desktop
def test_the_agent_loop_fills_the_form_on_the_vm(vm: VmEnvironment, form: VmForm, tmp_path: Path) -> None:
    geometry = vm.observe().geometry

    def click(name: str, summary: str) -> str:
        return format_reply(form.click(name), geometry, summary=summary)

    replies = fill_form_replies(click, "Zoë Müller", "zoe@example.org")
    result = run_episode(
        "Fill in the form as Zoë Müller, zoe@example.org, agree and save",
        vm,
        ScriptedBackend(replies),
        AgentOptions(confirm="never"),
        record_dir=tmp_path / "run",
    )
    assert result.status == "success", result
    saved = form.wait_for("saved")[-1]
    assert (saved["name"], saved["email"], saved["agree"]) == ("Zoë Müller", "zoe@example.org", True)
    assert (tmp_path / "run" / "step_6.png").is_file()
    # Clicks were probed through the window tree: the element under each one is the form's window.
    elements = [s.element for s in result.steps if s.action is not None and s.action.kind == "click"]
    assert elements and all(e is not None and e.name == form.title for e in elements), elements


# An excerpt in the exact shape of OSWorld's Linux tree (desktop_env/server/main.py, AT-SPI):
# role tags, `name`, st: states listed only when set, cp: boxes only on showing nodes.
OSWORLD_TREE = """<desktop-frame xmlns:st="https://accessibility.ubuntu.example.org/ns/state"
 xmlns:attr="https://accessibility.ubuntu.example.org/ns/attributes"
 xmlns:cp="https://accessibility.ubuntu.example.org/ns/component">
 <application name="gedit">
  <frame name="notes.txt - gedit" st:enabled="true" st:showing="true" st:visible="true" st:active="true"
   cp:screencoord="(0, 0)" cp:size="(1920, 1080)">
   <push-button name="Save" st:showing="true" st:visible="true"
    cp:screencoord="(1700, 10)" cp:size="(80, 30)"/>
   <push-button name="Open" st:enabled="true" st:sensitive="true" st:showing="true" st:visible="true"
    cp:screencoord="(10, 10)" cp:size="(80, 30)"/>
   <text name="" st:enabled="true" st:focused="true" st:editable="true" st:showing="true"
    st:visible="true" cp:screencoord="(0, 60)" cp:size="(1920, 1000)">Grüße 你好</text>
   <menu name="Hidden menu" st:enabled="true"/>
  </frame>
 </application>
</desktop-frame>"""


@pytest.mark.unit
def test_the_osworld_tree_reader() -> None:
    nodes = parse_tree(OSWORLD_TREE)
    assert [n.role for n in nodes] == ["desktop-frame", "application", "frame", "push-button",
                                       "push-button", "text", "menu"]  # fmt: skip
    save = node_at(nodes, 1710, 20)
    assert save is not None and save.name == "Save" and save.bbox == (1700, 10, 80, 30)
    assert element_info(save).disabled  # states listed, neither enabled nor sensitive
    opened = node_at(nodes, 89, 39)
    assert opened is not None and opened.name == "Open" and not element_info(opened).disabled
    outside = node_at(nodes, 90, 40)  # just past Open's box: the frame around it
    assert outside is not None and outside.role == "frame"
    assert node_at(nodes, 1920, 5) is None
    focused = focused_node(nodes)
    assert focused is not None and element_info(focused).text == "Grüße 你好"
    assert element_info(focused).role == "text" and element_info(focused).texts == ("Grüße 你好",)
    with pytest.raises(ValueError, match="not an accessibility tree"):
        parse_tree("<unclosed")


@pytest.mark.unit
def test_module_is_importable_without_a_display() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run(
        [sys.executable, "-m", "tasks.osworld.vm_server", "--port", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "no X display" in done.stderr


@pytest.mark.browser
def test_web_pages_cannot_reach_the_vm_server(
    server_url: str, chromium_path: str | None, tmp_path: Path
) -> None:
    """The server runs any command it is sent: a page in a browser on this machine must not be able
    to send one (a cross-origin text/plain POST needs no preflight), nor a page rebound to 127.0.0.1."""
    import httpx
    from playwright.sync_api import sync_playwright

    marker = tmp_path / "pwned"
    command = json.dumps({"command": ["touch", str(marker)], "shell": False})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=["--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto("data:text/html,<title>hostile</title>")
            page.evaluate(
                """([url, body]) => fetch(url + '/execute', {method: 'POST', mode: 'no-cors',
                    headers: {'Content-Type': 'text/plain'}, body}).catch(() => null)""",
                [server_url, command],
            )
            page.wait_for_timeout(500)
        finally:
            browser.close()
    assert not marker.exists()
    port = server_url.rsplit(":", 1)[1]
    rebound = httpx.post(
        server_url + "/execute", content=command, headers={"Host": f"attacker.example:{port}"}
    )
    assert rebound.status_code == 403 and "DNS rebinding" in rebound.text
    assert not marker.exists()
    plain = httpx.post(server_url + "/execute", json=json.loads(command))  # OSWorld's own controller
    assert plain.status_code == 200 and marker.exists()
