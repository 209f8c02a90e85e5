"""`qwen-agent eval --vm URL` end to end: a sandbox desktop task runs on an OSWorld-compatible VM
server (tasks.osworld.vm_server, a real process on a private Xvfb display standing in for OSWorld's
VM), set up and scored by OSWorld's own desktop-env (in .venv-osworld, through the bridge), with our
full loop and the reference policy driving the VM over HTTP; it scores 1. A VM that does not answer
is an infrastructure error, kept out of the success rate."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from actions.xdisplay import VirtualDisplay
from tasks.osworld.desktop_env_bridge import DEFAULT_PYTHON
from tests.conftest import require
from tests.fixtures.vm import vm_server

pytestmark = [pytest.mark.desktop]

HELLO_TASK = "ed7bf364-7839-59e8-a56e-0b8f4d879a27"  # "create hello.txt in the open terminal"


def _sandbox_task(task_id: str) -> object:
    from tasks.suites import resolve_suite

    return resolve_suite("sandbox").select((), (task_id,))


def test_a_sandbox_desktop_task_on_the_vm_scores_1(virtual_display: VirtualDisplay, tmp_path: Path) -> None:
    from tasks.eval.evaluate import evaluate
    from tasks.eval.harness import EvalConfig

    require(DEFAULT_PYTHON.exists(), "OSWorld's desktop-env environment: make setup-osworld")
    require(shutil.which("xterm") is not None, "xterm is not installed")
    suite = _sandbox_task(HELLO_TASK)
    with vm_server(virtual_display) as (url, _):
        config = EvalConfig(
            suite_name="sandbox", suite_root=suite.root, model="reference", out=tmp_path,  # type: ignore[attr-defined]
            max_steps=30, vm=(url,),
        )  # fmt: skip
        summary, root = evaluate(suite, config, lambda kind, payload: None)  # type: ignore[arg-type]
    outcome = json.loads((root / "desktop" / HELLO_TASK / "score.json").read_text())
    assert (outcome["status"], outcome["score"]) == ("scored", 1.0), outcome
    # Scored by OSWorld's own getter and metric: the getter read the file's text on the "VM".
    assert [m["func"] for m in outcome["metrics"]] == ["exact_match"]
    assert "Hello from Qwen" in outcome["metrics"][0]["result"]
    assert summary["overall"]["success_rate"] == 1.0
    # The run folder is the agent's usual one: steps recorded, the last a success.
    lines = (root / "desktop" / HELLO_TASK / "traj.jsonl").read_text().splitlines()
    assert len(lines) >= 2


def test_an_unreachable_vm_is_an_infrastructure_error_not_a_model_failure(tmp_path: Path) -> None:
    from tasks.eval.evaluate import evaluate
    from tasks.eval.harness import EvalConfig

    suite = _sandbox_task(HELLO_TASK)
    config = EvalConfig(
        suite_name="sandbox", suite_root=suite.root, model="reference", out=tmp_path,  # type: ignore[attr-defined]
        vm=("http://127.0.0.1:9",),  # the discard port: nothing answers HTTP there
    )  # fmt: skip
    summary, root = evaluate(suite, config, lambda kind, payload: None)  # type: ignore[arg-type]
    outcome = json.loads((root / "desktop" / HELLO_TASK / "score.json").read_text())
    assert outcome["status"] == "error"
    assert "127.0.0.1:9" in outcome["reason"]
    assert summary["overall"]["errors"] == 1
    assert summary["overall"]["scored"] == 0 and summary["overall"]["success_rate"] is None


def test_more_workers_than_vms_is_bad_input(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tasks.cli", "eval", "sandbox", "--model", "reference", "--workers", "2",
         "--vm", "http://127.0.0.1:9", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "pass --vm once per worker" in done.stderr
    assert not any(tmp_path.iterdir())  # refused before anything ran
