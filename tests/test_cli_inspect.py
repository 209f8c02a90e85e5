"""`qwen-agent inspect prompt|parse` as a user runs them (real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

EXE = os.path.join(os.path.dirname(sys.executable), "qwen-agent")


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_prompt_prints_the_system_prompt() -> None:
    out = run("inspect", "prompt", "--screen", "1920x1080")
    assert out.returncode == 0
    assert out.stdout.startswith("You are a helpful assistant.\n\n# Tools")
    assert "The screen's resolution is 1000x1000." in out.stdout


def test_prompt_absolute_mode_names_the_resized_size() -> None:
    out = run("inspect", "prompt", "--screen", "1920x1080", "--absolute")
    assert "The screen's resolution is 1920x1088." in out.stdout


def test_parse_prints_actions_in_screen_pixels() -> None:
    reply = 'Action: open\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "double_click", "coordinate": [250, 500]}}\n</tool_call>'
    out = run("inspect", "parse", "--screen", "1280x800", stdin=reply)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["actions"] == [{"kind": "click", "x": 320, "y": 400, "button": "left", "count": 2}]
    assert data["summary"] == "open"


def test_parse_error_exits_2_with_reason() -> None:
    out = run("inspect", "parse", "--screen", "1280x800", stdin="I clicked it!")
    assert out.returncode == 2
    assert "parse error: no <tool_call>" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_screen_option_is_a_usage_error() -> None:
    out = run("inspect", "parse", "--screen", "big", stdin="")
    assert out.returncode == 2
    assert "WIDTHxHEIGHT" in out.stderr
