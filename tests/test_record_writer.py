"""The run folder is written off the loop's path and still loses nothing that finished: jobs run in
order, a step's PNG is in place (whole) before its line, a failed write is raised, and a SIGKILL of
`qwen-agent run` right after a step leaves that step's line and screenshot on disk.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.record_writer import BackgroundWriter
from tests.test_agent_browser import at, call
from tests.test_run_cli import QWEN_AGENT, script


@pytest.mark.unit
def test_jobs_run_in_order_and_wait_means_done() -> None:
    done: list[int] = []
    idle: list[int] = []
    writer = BackgroundWriter(idle=lambda: idle.append(len(done)))
    for n in range(50):
        writer.submit(lambda n=n: (time.sleep(0.001), done.append(n)))
    writer.wait()
    assert done == list(range(50)) and idle and idle[-1] == 50
    writer.close()
    writer.close()  # twice is fine


@pytest.mark.unit
def test_a_failed_write_is_raised_not_lost() -> None:
    writer = BackgroundWriter()

    def full_disk() -> None:
        raise OSError(28, "No space left on device")

    writer.submit(full_disk)
    with pytest.raises(OSError, match="No space left"):
        writer.wait()
    writer.close()


@pytest.mark.browser
def test_sigkill_right_after_a_step_keeps_its_line_and_screenshot(
    browser_factory: Any, pages_url: str, tmp_path: Path
) -> None:
    form = pages_url + "agent/form.html"
    layout = browser_factory(start_url=form)
    layout.reset()
    model = script(
        tmp_path / "replies.jsonl",
        [
            call("Click the Name field", action="left_click", coordinate=at(layout, "#name")),
            call("Wait", action="wait", time=30),
        ],
    )
    folder = tmp_path / "run"
    proc = subprocess.Popen(
        [*QWEN_AGENT, "run", "Wait", "--url", form, "--model", model, "--record-dir", str(folder), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    traj = folder / "traj.jsonl"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (traj.is_file() and traj.read_text().strip()):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    # Step 2's model call has returned (the scripted reply is instant) and its 30 s wait runs now.
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines = [json.loads(x) for x in traj.read_text().splitlines()]
    assert [x["step_num"] for x in lines] == [1]
    with Image.open(folder / lines[0]["screenshot_file"]) as image:
        image.load()  # whole, not cut off mid-write
        assert image.size == (1280, 800)
    assert not list(folder.glob(".*.tmp"))
