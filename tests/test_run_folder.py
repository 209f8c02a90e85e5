"""The trajectory is the loop's state: every note that reaches the model is on exactly one recorded
step, and a run folder read back (live, or cut by SIGKILL mid-step) rebuilds the prompt the next
step would have sent, byte for byte."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from agent.loop import run_episode
from agent.options import AgentOptions
from agent.run_folder import RunFolderError, load_run
from agent.state import TURN_KINDS
from agent.trajectory import Step
from model.qwen3vl import load_prompt, render
from model.types import ModelRequest, TextPart
from tests.memory_env import click_reply, done_reply, type_reply
from tests.run_recording import DigestBackend, form_replies, keeper, request_digest

pytestmark = pytest.mark.unit

FEEDBACK_PREFIX = "Feedback on your previous step: "


def feedback_sent(request: ModelRequest) -> str | None:
    for part in request.messages[-1].content:
        if isinstance(part, TextPart) and part.text.startswith(FEEDBACK_PREFIX):
            return part.text.removeprefix(FEEDBACK_PREFIX)
    return None


def test_every_note_the_model_received_is_on_exactly_one_step(tmp_path: Path) -> None:
    screen = keeper()
    x = click_reply(screen, "name").split("\n<tool_call>", 1)[1]
    two_calls = "Action: Click name, then type\n<tool_call>" + x + "\n" + type_reply("Ada").split("\n", 1)[1]
    replies = [
        "1. Fill in the name\n2. Tick the terms\n3. Save",  # the plan
        "I would like to click somewhere.",  # parse error
        click_reply(screen, "title"),  # no effect -> second setback in a row -> re-plan
        "1. Tick the terms\n2. Save",  # the re-plan
        two_calls,  # only the first call runs
        click_reply(screen, "save"),  # disabled: blocked, explained
        "Verdict: fixable\nExplanation: tick the terms box first.",
        click_reply(screen, "agree"),
        click_reply(screen, "save"),
        done_reply(),
    ]
    backend = DigestBackend(replies, screen)
    options = AgentOptions(confirm="never", plan=True, replan_after=2)
    result = run_episode("Agree and save", screen, backend, options, record_dir=tmp_path)
    assert result.status == "success"
    kinds = [s.kind for s in result.steps]
    assert kinds.count("plan") == 2 and "parse_error" in kinds and "explanation" in kinds
    turn_requests = [r for r in backend.requests if r.stop]  # plan/explain questions have no stop string
    turns = [s for s in result.steps if s.kind in TURN_KINDS]
    assert len(turn_requests) == len(turns)
    # Walk the steps: the notes recorded since the previous prompt are exactly what the next one says.
    pending: list[str] = []
    delivered: list[str] = []
    for step in result.steps:
        if step.kind in TURN_KINDS:
            request = turn_requests[turns.index(step)]
            assert feedback_sent(request) == (" ".join(pending) if pending else None)
            delivered.extend(pending)
            pending = []
        pending.extend(step.feedback)
    kinds_of_note = {
        "parse": "could not be parsed",
        "no effect": "did not change",
        "one call": "Only the first of your 2 tool calls",
        "fix": "Remove the blocker first",
    }
    for name, text in kinds_of_note.items():
        assert any(text in note for note in delivered), name
    # ... and traj.jsonl holds every one of them.
    recorded = [
        n for line in (tmp_path / "traj.jsonl").read_text().splitlines() for n in json.loads(line)["feedback"]
    ]
    assert recorded == [n for s in result.steps for n in s.feedback]


def _rebuilt(run_folder: Path, steps: tuple[Step, ...], current: Image.Image) -> str:
    run = load_run(run_folder).model_copy(update={"steps": steps})
    return request_digest(render(run.continue_context(current), run.options.protocol))


def test_a_loaded_run_rebuilds_every_prompt_byte_for_byte(tmp_path: Path) -> None:
    screen = keeper()
    backend = DigestBackend(form_replies(screen), screen)
    options = AgentOptions(confirm="never", history_images=2)
    result = run_episode("Fill the form and save", screen, backend, options, record_dir=tmp_path)
    assert result.status == "success"
    loaded = load_run(tmp_path)
    assert loaded.steps == result.steps and loaded.options == options and not loaded.torn_tail
    assert loaded.result is not None and loaded.result.status == "success"
    for n, (digest, shots) in enumerate(backend.seen):
        prefix = tuple(s for s in loaded.steps if s.index <= n)
        # The screenshot a step was decided on is its step_<n>.png, exactly as the model saw it.
        current = Image.open(tmp_path / f"step_{n + 1}.png").convert("RGB")
        assert current.tobytes() == screen.shots[shots - 1].tobytes()
        assert _rebuilt(tmp_path, prefix, current) == digest, f"step {n + 1}"


def test_a_run_killed_mid_step_continues_from_its_folder(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tests.run_recording", str(tmp_path)])
    log = tmp_path / "requests.jsonl"
    deadline = time.monotonic() + 60
    # The third action stalls inside execute: its request was sent, its step is not recorded.
    while not (log.is_file() and len(log.read_text().splitlines()) >= 3):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run = load_run(tmp_path / "run")
    assert [s.index for s in run.steps] == [1, 2] and run.result is None
    digest, shots = json.loads(log.read_text().splitlines()[2])
    current = Image.open(tmp_path / "shots" / f"obs_{shots}.png").convert("RGB")
    assert request_digest(render(run.continue_context(current), run.options.protocol)) == digest
    # A line cut off by the kill is left out, never a reason to refuse the folder.
    with (tmp_path / "run" / "traj.jsonl").open("a") as f:
        f.write('{"step_num": 3, "acti')
    torn = load_run(tmp_path / "run")
    assert torn.torn_tail and [s.index for s in torn.steps] == [1, 2]


def test_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="not a run folder"):
        load_run(tmp_path)
    assert load_prompt("feedback.txt").startswith(FEEDBACK_PREFIX.strip())
