"""`qwen-agent run` as a user runs it: a real subprocess, a real Chromium page on 127.0.0.1, replies
from a scripted file (or the tiny real Qwen3-VL); exit codes, printed answers and the run folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tasks.cli.common import ExitCode
from tests.test_agent_browser import at, call

QWEN_AGENT = [sys.executable, "-c", "from tasks.cli import main; main()"]
DONE = call("Done", action="terminate", status="success")


@pytest.fixture
def form_url(pages_url: str) -> str:
    return pages_url + "agent/form.html"


@pytest.fixture
def layout(browser_factory: Callable[..., Any], form_url: str) -> Any:
    """A page of the same form, only to compute where its elements are on the model's grid."""
    env = browser_factory(start_url=form_url)
    env.reset()
    return env


def script(path: Path, replies: list[str]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in replies), encoding="utf-8")
    return f"scripted:{path}"


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run(
        [*QWEN_AGENT, "run", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.mark.browser
def test_run_succeeds_and_writes_the_run_folder(layout: Any, form_url: str, tmp_path: Path) -> None:
    model = script(
        tmp_path / "replies.jsonl",
        [
            call("Click the Name field", action="left_click", coordinate=at(layout, "#name")),
            call("Type the name", action="type", text="Alan Turing"),
            call("Finish", action="answer", text="Typed the name."),
        ],
    )
    out = run_cli(
        "Type Alan Turing", "--url", form_url, "--model", model, "--record-dir", str(tmp_path / "run")
    )
    assert out.returncode == ExitCode.SUCCESS, out.stderr
    assert "Typed the name." in out.stdout
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "success" and result["steps"] == 3
    # The record says what ran, and shows the screen the run ended on.
    about = result["about"]
    assert about["backend"] == "scripted" and about["environment"] == "browser" and about["url"] == form_url
    assert about["browser"].startswith("chromium ") and about["screen"] == "1280x800 CSS px"
    assert result["final_screenshot"] == "final.png" and (tmp_path / "run" / "final.png").is_file()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["about"] == about
    report = (tmp_path / "run" / "report.html").read_text()
    assert "final.png" in report and "chromium " in report
    # Shown text: the model's Action line once (as the Action), never twice; the raw reply stays
    # only in its collapsed <details>.
    assert "Thought:</b> Action:" not in report
    assert "<b>Action:</b> Click the Name field — click at" in report
    shown = report.replace("<details>", "\0").split("\0")[0]
    assert "&lt;tool_call&gt;" not in shown


@pytest.mark.browser
def test_blocked_run_exits_3_and_prints_the_explanation(layout: Any, form_url: str, tmp_path: Path) -> None:
    model = script(
        tmp_path / "replies.jsonl",
        [
            call("Click Save", action="left_click", coordinate=at(layout, "#save")),
            "Verdict: blocked\nExplanation: ?",
        ],
    )
    out = run_cli("Save the form", "--url", form_url, "--model", model, "--record-dir", str(tmp_path / "run"))
    assert out.returncode == ExitCode.BLOCKED, out.stderr
    assert "I agree to the terms" in out.stdout


@pytest.mark.browser
def test_sigint_mid_run_keeps_every_finished_step(layout: Any, form_url: str, tmp_path: Path) -> None:
    waits = [call(f"Wait {i}", action="wait", time=0.5 + i / 10) for i in range(30)]
    model = script(
        tmp_path / "replies.jsonl",
        [call("Click the Name field", action="left_click", coordinate=at(layout, "#name")), *waits],
    )
    folder = tmp_path / "run"
    traj = folder / "traj.jsonl"
    proc = subprocess.Popen(
        [*QWEN_AGENT, "run", "Wait a while", "--url", form_url, "--model", model, "--max-steps", "30",
         "--record-dir", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if traj.is_file() and len(traj.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.ABORTED, err
    lines = [json.loads(x) for x in traj.read_text().splitlines()]
    assert 3 <= len(lines) < 31
    assert [x["step_num"] for x in lines] == list(range(1, len(lines) + 1))
    report = (folder / "report.html").read_text()
    assert all(f'id="step-{n}"' in report for n in range(1, len(lines) + 1))
    assert json.loads((folder / "result.json").read_text())["status"] == "aborted"


@pytest.mark.browser
@pytest.mark.model
def test_tiny_model_spends_its_budget_recording_parse_failures(
    tiny_model_dir: Path, form_url: str, tmp_path: Path, chromium_path: str | None
) -> None:
    folder = tmp_path / "run"
    out = run_cli("Fill in the form", "--url", form_url, "--model", str(tiny_model_dir), "--max-steps", "2",
                  "--max-pixels", "65536", "--max-new-tokens", "24", "--history-images", "1", "--record-dir", str(folder), timeout=300)  # fmt: skip
    assert out.returncode == ExitCode.FAILURE, out.stderr
    lines = [json.loads(x) for x in (folder / "traj.jsonl").read_text().splitlines()]
    assert len(lines) == 2
    assert all(x["kind"] == "parse_error" and x["error"] for x in lines)
    assert json.loads((folder / "result.json").read_text())["status"] == "budget"


@pytest.mark.unit
def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    out = run_cli("x", "--model", f"scripted:{tmp_path / 'missing.jsonl'}", "--env", "browser")
    assert out.returncode == ExitCode.ERROR
    assert "scripted replies file not found" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.desktop
def test_desktop_run_on_a_private_xvfb(tmp_path: Path) -> None:
    from tests.fixtures.display import require_x11_tools

    require_x11_tools()
    model = script(
        tmp_path / "replies.jsonl",
        [
            call("Wait", action="wait", time=0.1),
            call("Nothing to do", action="answer", text="Empty desktop."),
        ],
    )
    out = run_cli("Look at the desktop", "--env", "desktop", "--xvfb", "--no-hotkey", "--model", model,
                  "--record-dir", str(tmp_path / "run"))  # fmt: skip
    assert out.returncode == ExitCode.SUCCESS, out.stderr
    assert "Empty desktop." in out.stdout
    assert (tmp_path / "run" / "step_1.png").is_file()
