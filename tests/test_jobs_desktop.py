"""A desktop job: recorded with `qwen-agent run --env desktop --xvfb` on the Tk form with the window
in one place, compiled, and replayed (`qwen-agent job run`) with the window moved elsewhere. The
form's own log says what was saved.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from actions.types import Click, Finish, ScreenGeometry, TypeText
from actions.xdisplay import VirtualDisplay
from model.qwen3vl import format_reply
from tasks.apps.desktop import read_events
from tasks.jobs.files import load_job, write_job
from tasks.pool.jsonl import read_lines
from tests.fixtures.display import LaunchApp
from tests.test_jobs_browser import cli, script

pytestmark = pytest.mark.desktop

ZOE = {"name": "Zoë Müller", "email": "zoe@example.org"}


def _form(log: Path, x: int, y: int) -> str:
    return f"{sys.executable} -m tasks.apps.desktop.form --log {log} --x {x} --y {y}"


def test_a_desktop_job_finds_its_targets_in_a_moved_window(
    virtual_display: VirtualDisplay, launch_desktop_app: LaunchApp, tmp_path: Path
) -> None:
    # Where the widgets will be: the same form at the same place on an identical display.
    widgets = launch_desktop_app(virtual_display, "form", "--x", "40", "--y", "40").ready["widgets"]
    geometry = ScreenGeometry(width=1280, height=800)

    def click(name: str, summary: str) -> str:
        return format_reply(
            Click(x=widgets[name]["x_root"], y=widgets[name]["y_root"]), geometry, summary=summary
        )

    replies = [
        click("name", "Click the Name field"),
        format_reply(TypeText(text=ZOE["name"]), summary="Type the name"),
        click("email", "Click the Email field"),
        format_reply(TypeText(text=ZOE["email"]), summary="Type the email"),
        click("agree", "Tick I agree to the terms"),
        click("save", "Click Save"),
        format_reply(Finish(status="success"), summary="The form is saved"),
    ]
    recorded_log = tmp_path / "recorded.jsonl"
    run = cli("run", "Fill in the form as {{name}}, {{email}}, agree and save", "--param", f"name={ZOE['name']}",
              "--param", f"email={ZOE['email']}", "--env", "desktop", "--xvfb", "--launch", _form(recorded_log, 40, 40),
              "--model", script(tmp_path / "replies.jsonl", replies), "--record-dir", tmp_path / "run", "--quiet")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert [e["name"] for e in read_events(recorded_log) if e["event"] == "saved"] == [ZOE["name"]]
    assert cli("job", "compile", tmp_path / "run", "-o", tmp_path / "job").returncode == 0
    job = load_job(tmp_path / "job")
    assert job.start.environment == "desktop" and job.parameters == ("name", "email")
    assert all(s.target and s.target.anchor for s in job.steps if s.action.kind == "click")
    # The user moves the form (and its log) in the job file; the replay finds every target there.
    replay_log = tmp_path / "replayed.jsonl"
    moved = tmp_path / "moved"
    write_job(
        job.model_copy(
            update={"start": job.start.model_copy(update={"launch": (_form(replay_log, 420, 260),)})}
        ),
        moved,
    )
    for step in job.steps:
        if step.target and step.target.anchor:
            (moved / step.target.anchor.image).write_bytes(
                (tmp_path / "job" / step.target.anchor.image).read_bytes()
            )
    replay = cli("job", "run", moved, "--param", "name=Ada Lovelace", "--param", "email=ada@example.org",
                 "--out", tmp_path / "out")  # fmt: skip
    assert replay.returncode == 0, replay.stderr + replay.stdout
    (result,) = read_lines(tmp_path / "out" / "results.jsonl")
    assert result["status"] == "done" and result["model_calls"] == 0
    assert [s["how"] for s in result["steps"]] == [
        "template",
        "direct",
        "template",
        "direct",
        "template",
        "template",
    ]
    saved = [e for e in read_events(replay_log) if e["event"] == "saved"]
    assert [(e["name"], e["email"], e["agree"]) for e in saved] == [("Ada Lovelace", "ada@example.org", True)]
    placed = [e for e in read_events(replay_log) if e["event"] == "ready"]
    assert placed and placed[-1]["widgets"]["name"]["x_root"] > widgets["name"]["x_root"] + 300
