"""Wrong start states fail before the first model call, with one line and the documented exit code:
a start URL that is not one (2), refused by the domain policy (2) or unreachable (4); a secret the task
names but nobody set (2); a --launch program that dies (4, its stderr shown); a run folder that holds
another run (2, unless --overwrite). Ctrl+C from a terminal ends with 130 and keeps the steps."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from actions.types import Wait
from agent.run_folder import create_run_folder
from model.qwen3vl import format_reply
from tasks.cli.common import ExitCode
from tests.test_run_cli import DONE, QWEN_AGENT, run_cli, script


def never_called(tmp_path: Path) -> str:
    """A scripted model whose file would make any model call fail loudly: it has no replies."""
    return script(tmp_path / "none.jsonl", [])


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.browser
def test_a_start_url_that_is_not_one_is_bad_input(tmp_path: Path) -> None:
    result = run_cli("go", "--url", "not-a-url", "--model", never_called(tmp_path), "--yes")
    assert_one_line(result, ExitCode.USAGE, "'not-a-url' is not a web address")
    result = run_cli("go", "--url", "example.org/shop", "--model", never_called(tmp_path), "--yes")
    assert_one_line(result, ExitCode.USAGE, "did you mean http://example.org/shop")


@pytest.mark.browser
def test_an_unreachable_start_url_is_unavailable(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on (once closed)
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
    folder = tmp_path / "run"
    result = run_cli(
        "go", "--url", url, "--model", never_called(tmp_path), "--yes", "--record-dir", str(folder)
    )
    assert_one_line(result, ExitCode.ERROR, f"the start page {url}: net::ERR_CONNECTION_REFUSED")
    assert not (folder / "traj.jsonl").exists()  # no step was ever taken


@pytest.mark.browser
def test_a_start_url_the_policy_refuses_is_bad_input(tmp_path: Path, pages_url: str) -> None:
    result = run_cli("go", "--url", pages_url + "second.html", "--deny-domain", "127.0.0.1",
                     "--model", never_called(tmp_path), "--yes")  # fmt: skip
    assert_one_line(result, ExitCode.USAGE, "the start page is refused", "127.0.0.1")


@pytest.mark.browser
def test_a_secret_the_task_names_must_be_set(tmp_path: Path, pages_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_AGENT_SECRET_")}
    argv = [*QWEN_AGENT, "run", "log in with {{secret:SHOP_PW}}", "--url", pages_url + "second.html",
            "--model", never_called(tmp_path), "--yes"]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert_one_line(result, ExitCode.USAGE, "QWEN_AGENT_SECRET_SHOP_PW")


@pytest.mark.desktop
def test_a_launch_command_that_dies_is_unavailable_with_its_stderr(tmp_path: Path) -> None:
    # `python` is this interpreter, as in the README's --launch example.
    crash = "python -c \"import sys; sys.stderr.write('no such file: form.ui'); sys.exit(3)\""
    result = run_cli("fill the form", "--env", "desktop", "--xvfb", "--launch", crash,
                     "--model", never_called(tmp_path), "--yes", timeout=90)  # fmt: skip
    assert_one_line(result, ExitCode.ERROR, "exited with code 3", "no such file: form.ui")


@pytest.mark.browser
def test_a_non_empty_record_dir_is_refused_unless_overwrite(tmp_path: Path, pages_url: str) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "step_7.png").write_bytes(b"stale")
    (folder / "notes.txt").write_text("mine")
    model = script(tmp_path / "done.jsonl", [DONE])
    url = pages_url + "second.html"
    result = run_cli("go", "--url", url, "--model", model, "--yes", "--record-dir", str(folder))
    assert_one_line(result, ExitCode.USAGE, "is not empty", "--overwrite")
    result = run_cli(
        "go", "--url", url, "--model", model, "--yes", "--record-dir", str(folder), "--overwrite"
    )
    assert result.returncode == ExitCode.SUCCESS, result.stderr
    assert not (folder / "step_7.png").exists()  # the old run's image is gone ...
    assert (folder / "notes.txt").read_text() == "mine"  # ... and nothing else was touched


@pytest.mark.unit
def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path: Path) -> None:
    folders = {create_run_folder(None, root=tmp_path) for _ in range(5)}
    assert len(folders) == 5 and all(f.is_dir() for f in folders)


@pytest.mark.browser
def test_ctrl_c_from_a_terminal_stops_cleanly_with_130(tmp_path: Path, pages_url: str) -> None:
    model = script(tmp_path / "waits.jsonl", [format_reply(Wait(seconds=2), summary="wait")] * 8)
    folder = tmp_path / "run"
    argv = [*QWEN_AGENT, "run", "wait", "--url", pages_url + "second.html", "--model", model, "--yes",
            "--quiet", "--record-dir", str(folder)]  # fmt: skip
    # A terminal sends SIGINT to the whole foreground process group: the run, and whatever it started.
    proc = subprocess.Popen(
        argv, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not ((folder / "traj.jsonl").is_file() and (folder / "traj.jsonl").read_text().strip()):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.ABORTED, err
    assert "stopped by the user" in out and "Traceback" not in err
    steps = [json.loads(x) for x in (folder / "traj.jsonl").read_text().splitlines()]
    assert steps and all(s["action"]["kind"] == "wait" for s in steps)
    assert json.loads((folder / "result.json").read_text())["status"] == "aborted"


@pytest.mark.unit
def test_an_unknown_eval_task_or_domain_is_bad_input_with_close_matches(tmp_path: Path) -> None:
    argv = [
        *QWEN_AGENT,
        "eval",
        "sandbox",
        "--domain",
        "flight",
        "--model",
        "reference",
        "--out",
        str(tmp_path),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert_one_line(result, ExitCode.USAGE, "no domain 'flight'", "did you mean flights")
