"""No step waits forever (issue: `run` hung in about 1 of 6 form submits). Real Chromium on pages
served on 127.0.0.1: a POST answered 303 settles on the result page every time, a withheld frame
is given up within its deadline, and a step stuck in the renderer trips the watchdog: exit 4, the
stuck step on disk, the phase named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from actions.browser import BrowserEnvironment
from actions.processes import descendants
from actions.settle import FrameUnavailable
from actions.types import Executed
from agent.loop import run_episode
from agent.options import AgentOptions
from model.scripted import ScriptedBackend
from tests.test_harness_browser import call

pytestmark = pytest.mark.browser

# A button whose click handler keeps the renderer busy for 60 s: input and frames stop answering.
HANG = b"""<!doctype html><html><body style="margin:0"><button style="width:100vw;height:100vh"
 onclick="const t = Date.now(); while (Date.now() - t < 60000) {}">Freeze</button></body></html>"""


class _Hang(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(HANG)))
        self.end_headers()
        self.wfile.write(HANG)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hang_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hang)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture
def env(browser_factory: Callable[..., Any]) -> BrowserEnvironment:
    browser: BrowserEnvironment = browser_factory()
    browser.reset()
    return browser


def test_post_then_303_settles_on_the_result_page_every_time(env: BrowserEnvironment, pages_url: str) -> None:
    # The submit button's centre (200, 130) CSS px on the 1280x800 viewport, on the 0..1000 grid.
    click = call("left_click", coordinate=[156, 162])
    cap_ms = env.options.settle.cap_ms
    for _ in range(12):
        env.goto(pages_url + "form_post.html")
        backend = ScriptedBackend([click, call("terminate", status="success")])
        result = run_episode("submit the form", env, backend, AgentOptions(max_steps=3, confirm="never"))
        assert result.status == "success", result
        first, second = result.steps
        assert isinstance(first.outcome, Executed) and first.outcome.settle_ms is not None
        assert first.outcome.settle_ms < cap_ms  # never sat out the cap, let alone hung
        assert first.screen_changed is True
        # The screenshot the model saw next was taken on the result page, after the redirect.
        assert second.url is not None and second.url.endswith("/second.html?posted=1")
    assert env.evaluate("document.title") == "Second page"


def test_a_withheld_frame_is_given_up_within_its_deadline(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "second.html")
    settler = env._settler
    assert settler is not None
    # A busy renderer produces no frame: the capture must come back with FrameUnavailable, not wait.
    env.evaluate("setTimeout(() => { const t = Date.now(); while (Date.now() - t < 2500) {} }, 0)")
    env.page.wait_for_timeout(100)
    start = time.perf_counter()
    with pytest.raises(FrameUnavailable):
        settler.thumbnail(0.3)
    assert time.perf_counter() - start < 1.5
    env.page.wait_for_timeout(2600)
    assert settler.thumbnail(1.0)  # the renderer is back: frames come again


def test_a_stuck_step_trips_the_watchdog_exit_4_with_the_step_on_disk(tmp_path: Path, hang_url: str) -> None:
    replies = tmp_path / "replies.jsonl"
    replies.write_text(json.dumps(call("left_click", coordinate=[500, 500])) + "\n")
    folder = tmp_path / "run"
    argv = [sys.executable, "-m", "tasks.cli", "run", "press the button", "--url", hang_url,
            "--model", f"scripted:{replies}", "--yes", "--quiet", "--stuck-after", "3",
            "--record-dir", str(folder)]  # fmt: skip
    strays_before = _stray_browsers()
    start = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err
    assert time.monotonic() - start < 40  # 3 s of no progress, not the renderer's 60 s freeze
    assert "no progress for 3 s while executing 'click at (640, 400)'" in err
    lines = [json.loads(x) for x in (folder / "traj.jsonl").read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["action"]["kind"] == "click"
    assert lines[0]["outcome"]["kind"] == "failed" and "no progress" in lines[0]["outcome"]["reason"]
    assert (folder / "step_1.png").is_file()
    result = json.loads((folder / "result.json").read_text())
    assert result["status"] == "error" and "waiting for the screen" in result["answer"]
    assert "no progress" in (folder / "report.html").read_text()
    # The browser and its driver went with the process: nothing of this run is left behind (killed
    # processes may take a moment to be reaped).
    deadline = time.monotonic() + 5
    while not _stray_browsers() <= strays_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _stray_browsers() <= strays_before


def _stray_browsers() -> set[int]:
    """Chromium and Playwright-driver processes that are not this test process's own."""
    ours = set(descendants(os.getpid()))
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            zombie = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except (OSError, IndexError):
            continue
        if zombie:
            continue
        if "chromium" in cmdline or "playwright" in cmdline:
            found.add(int(entry.name))
    return found
