"""`qwen-agent --help` and every sub-command's help work with no DISPLAY and no heavy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

HEAVY = ["torch", "transformers", "pyautogui", "playwright", "pynput", "mss", "Xlib"]

PROBE = f"""
HEAVY = {HEAVY!r}
import json, sys
import typer
from tasks.cli import app
root = typer.main.get_command(app)
paths = []
def walk(cmd, path):
    paths.append(path)
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            walk(sub, path + [name])
walk(root, [])
for path in paths:
    try:
        root.main(args=path + ["--help"], prog_name="qwen-agent", standalone_mode=False)
    except SystemExit as e:
        assert not e.code, (path, e.code)
heavy = sorted(m for m in HEAVY if m in sys.modules)
print(json.dumps({{"paths": [" ".join(p) for p in paths], "heavy": heavy}}))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["COLUMNS"] = "120"
    return env


def test_help_of_every_command_imports_nothing_heavy() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert "inspect parse" in report["paths"] and "inspect prompt" in report["paths"]
    assert report["heavy"] == [], f"--help imported {report['heavy']}"


def test_console_script_help_without_display() -> None:
    exe = os.path.join(os.path.dirname(sys.executable), "qwen-agent")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, env=_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert "inspect" in out.stdout


def test_eval_grounding_and_rescore_are_routed_to_their_own_commands() -> None:
    """`qwen-agent eval grounding PATH` is eval's grounding form, not a suite named 'grounding'."""
    exe = os.path.join(os.path.dirname(sys.executable), "qwen-agent")
    out = subprocess.run(
        [exe, "eval", "grounding", "--help"], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "grounding accuracy" in out.stdout.lower() and "--format" in out.stdout
    missing = subprocess.run(
        [exe, "eval", "grounding", "/nonexistent/screenspot.json"], capture_output=True, text=True, env=_env(),
        timeout=60,
    )  # fmt: skip
    assert missing.returncode == 2, missing.stderr
    assert "/nonexistent/screenspot.json" in missing.stderr
    rescore = subprocess.run(
        [exe, "eval", "rescore", "--help"], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert rescore.returncode == 0 and "Usage: qwen-agent eval rescore" in rescore.stdout, rescore.stderr
