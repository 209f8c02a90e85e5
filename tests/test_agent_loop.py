"""Loop behaviour with the scripted backend (raw Qwen replies) on the in-memory widget screen.

State is verified through the screen's own event record; the run folder through its files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actions.errors import StopRequested
from actions.safety import ListConfirmer
from agent.loop import run_episode
from agent.options import AgentOptions
from model.backend import ModelError
from model.scripted import ScriptedBackend
from model.types import ImagePart
from tests.memory_env import (
    MemoryScreen,
    Widget,
    click_reply,
    done_reply,
    form_screen,
    type_reply,
)

pytestmark = pytest.mark.unit

QUIET = AgentOptions(confirm="never")


def form_script(screen: MemoryScreen) -> list[str]:
    return [
        click_reply(screen, "name"),
        type_reply("Ada Lovelace"),
        click_reply(screen, "email"),
        type_reply("ada@example.org"),
        click_reply(screen, "agree"),
        click_reply(screen, "save"),
        done_reply(),
    ]


def test_multi_step_form_completes_and_records_every_step(tmp_path: Path) -> None:
    screen = form_screen()
    backend = ScriptedBackend(form_script(screen))
    result = run_episode("Fill the form and save", screen, backend, QUIET, record_dir=tmp_path)
    assert result.status == "success"
    presses = [e for e in screen.events if e["event"] == "press"]
    assert presses == [
        {
            "event": "press",
            "name": "save",
            "state": {"name": "Ada Lovelace", "email": "ada@example.org", "agree": True},
        }
    ]
    lines = [json.loads(x) for x in (tmp_path / "traj.jsonl").read_text().splitlines()]
    assert [x["step_num"] for x in lines] == list(range(1, 8))
    assert {"step_num", "action", "response", "reward", "done", "info", "screenshot_file"} <= set(lines[0])
    assert all((tmp_path / f"step_{n}.png").is_file() for n in range(1, 7))
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "success"
    report = (tmp_path / "report.html").read_text()
    assert "step_6.png" in report and "success" in report
    assert all(s.usage.estimated and s.usage.prompt_tokens > 0 for s in result.steps)


def test_disabled_save_ends_blocked_naming_the_checkbox(tmp_path: Path) -> None:
    screen = form_screen()
    backend = ScriptedBackend(
        [click_reply(screen, "name"), type_reply("Ada"), click_reply(screen, "save"), "I am not sure."]
    )
    result = run_episode("Fill in the name and save", screen, backend, QUIET, record_dir=tmp_path)
    assert result.status == "blocked"
    assert result.explanation is not None
    assert "Save" in result.explanation and "I agree to the terms" in result.explanation
    assert not [e for e in screen.events if e["event"] == "press"]
    assert result.steps[-1].kind == "explanation"
    assert "I agree to the terms" in (tmp_path / "report.html").read_text()
    # The explain request carried the evidence to the model.
    assert "disabled" in backend.requests[-1].messages[-1].text


def test_fixable_blocker_continues_with_feedback() -> None:
    screen = form_screen()
    backend = ScriptedBackend(
        [
            click_reply(screen, "save"),
            "Verdict: fixable\nExplanation: The terms box must be ticked; the task says to agree.",
            click_reply(screen, "agree"),
            click_reply(screen, "save"),
            done_reply(),
        ]
    )
    result = run_episode("Agree to the terms and save", screen, backend, QUIET)
    assert result.status == "success"
    assert [e["name"] for e in screen.events if e["event"] == "press"] == ["save"]
    assert "Remove the blocker first" in backend.requests[2].messages[-1].text


def test_repeated_no_effect_click_is_nudged_then_stopped() -> None:
    screen = form_screen()
    replies = [click_reply(screen, "title")] * 5 + [
        "Verdict: blocked\nExplanation: The title is not a control."
    ]
    backend = ScriptedBackend(replies)
    options = AgentOptions(confirm="never", loop_nudge_after=3, loop_stop_after=5)
    result = run_episode("Open the contact form", screen, backend, options)
    assert result.status == "blocked"
    assert result.explanation is not None and "did not change" in result.explanation
    assert "5 times" in result.explanation
    assert "did not change" in backend.requests[1].messages[-1].text
    assert "3 times on the same screen" in backend.requests[3].messages[-1].text
    assert len(screen.executed) == 5


def test_parse_error_is_fed_back_and_recovered(tmp_path: Path) -> None:
    screen = form_screen()
    backend = ScriptedBackend(
        ["I would like to click somewhere.", click_reply(screen, "agree"), done_reply()]
    )
    result = run_episode("Tick the box", screen, backend, QUIET, record_dir=tmp_path)
    assert result.status == "success"
    assert result.steps[0].kind == "parse_error"
    assert "could not be parsed" in backend.requests[1].messages[-1].text
    assert screen.widget("agree").checked
    first = json.loads((tmp_path / "traj.jsonl").read_text().splitlines()[0])
    assert first["kind"] == "parse_error" and first["error"]


def test_dry_run_executes_nothing(tmp_path: Path) -> None:
    screen = form_screen()
    backend = ScriptedBackend([click_reply(screen, "agree"), done_reply()])
    options = AgentOptions(dry_run=True)
    result = run_episode("Tick the box", screen, backend, options, record_dir=tmp_path)
    assert screen.executed == [] and screen.events == []
    assert not screen.widget("agree").checked
    assert result.status == "aborted" and result.answer and "Dry run" in result.answer
    assert (tmp_path / "step_1.png").is_file()


def buy_screen() -> MemoryScreen:
    return MemoryScreen(widgets=[Widget("buy", "button", (100, 100, 160, 50), "Buy now")])


@pytest.mark.parametrize("answer", [False, True])
def test_risky_click_waits_for_confirmation(answer: bool) -> None:
    screen = buy_screen()
    backend = ScriptedBackend([click_reply(screen, "buy"), done_reply()])
    confirmer = ListConfirmer([answer])
    result = run_episode("Buy the ticket", screen, backend, AgentOptions(), confirmer=confirmer)
    assert confirmer.questions == ["Click 'Buy now'?"]
    pressed = [e for e in screen.events if e["event"] == "press"]
    if answer:
        assert result.status == "success" and len(pressed) == 1
    else:
        assert result.status == "aborted" and pressed == []
        assert result.answer and "declined" in result.answer


def test_confirm_always_asks_before_every_action() -> None:
    screen = form_screen()
    backend = ScriptedBackend([click_reply(screen, "agree"), click_reply(screen, "name"), done_reply()])
    confirmer = ListConfirmer([True, True])
    result = run_episode("Tick", screen, backend, AgentOptions(confirm="always"), confirmer=confirmer)
    assert result.status == "success" and len(confirmer.questions) == 2


def test_secret_never_reaches_the_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "hunter2-very-secret"
    monkeypatch.setenv("QWEN_AGENT_SECRET_FORM_PASSWORD", secret)
    screen = form_screen()
    backend = ScriptedBackend(
        [click_reply(screen, "name"), type_reply("{{secret:FORM_PASSWORD}}"), done_reply()]
    )
    result = run_episode(
        "Type the password {{secret:FORM_PASSWORD}}", screen, backend, QUIET, record_dir=tmp_path
    )
    assert result.status == "success"
    assert screen.widget("name").value == secret  # typed for real
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 4
    for p in files:
        assert secret.encode() not in p.read_bytes(), p
    assert all(secret not in m.text for r in backend.requests for m in r.messages)


def test_plan_is_requested_recorded_and_carried() -> None:
    screen = form_screen()
    plan = "1. Tick 'I agree to the terms'\n2. Click Save"
    backend = ScriptedBackend(
        [
            f"<think>reasoning</think>\n{plan}",
            click_reply(screen, "agree"),
            click_reply(screen, "save"),
            done_reply(),
        ]
    )
    result = run_episode("Agree and save", screen, backend, AgentOptions(confirm="never", plan=True))
    assert result.status == "success"
    assert result.steps[0].kind == "plan"
    assert result.steps[0].plan == ("Tick 'I agree to the terms'", "Click Save")
    assert "1. Tick 'I agree to the terms'" in backend.requests[1].messages[1].text


def test_plan_progress_follows_the_sub_goal_tags_and_rides_on_the_newest_turn() -> None:
    screen = form_screen()
    backend = ScriptedBackend(
        [
            "1. Type the name\n2. Tick 'I agree to the terms'\n3. Click Save",
            click_reply(screen, "name", summary="[1] Click the name field"),
            click_reply(screen, "agree", summary="[2] Tick the box"),
            click_reply(screen, "save", summary="[9] Save (a tag outside the plan is ignored)"),
            done_reply(),
        ]
    )
    result = run_episode("Agree and save", screen, backend, AgentOptions(confirm="never", plan=True))
    assert result.status == "success"
    step_requests = backend.requests[1:]  # the first request asked for the plan
    progress = [r.messages[-1].text for r in step_requests]
    assert "Plan progress" not in progress[0]
    assert "Plan progress: sub-goal 1 of 3 (Type the name)" in progress[1]
    assert "Plan progress: sub-goal 2 of 3 (Tick 'I agree to the terms')" in progress[2]
    assert "sub-goal 2 of 3" in progress[3]
    # The instruction and plan text (first user turn) never change from step to step.
    first_user = {r.messages[1].text for r in step_requests}
    assert len(first_user) == 1 and "`Action: [1] ...`" in first_user.pop()


def test_replan_after_repeated_failures() -> None:
    screen = form_screen()
    backend = ScriptedBackend(
        [
            "1. Click Save",
            "garbage",
            "more garbage",
            "still garbage",
            "1. Tick the box\n2. Save",
            done_reply(),
        ]
    )
    options = AgentOptions(confirm="never", plan=True, replan_after=3)
    result = run_episode("Save", screen, backend, options)
    kinds = [s.kind for s in result.steps]
    assert kinds == ["plan", "parse_error", "parse_error", "parse_error", "plan", "action"]
    assert result.steps[4].plan == ("Tick the box", "Save")
    assert "could not be parsed" in backend.requests[4].messages[-1].text


def test_step_budget_and_history_window() -> None:
    screen = form_screen()
    replies = [click_reply(screen, "agree")] * 8
    backend = ScriptedBackend(replies)
    options = AgentOptions(confirm="never", max_steps=8, history_images=4)
    result = run_episode("Toggle", screen, backend, options)
    assert result.status == "budget" and len(result.steps) == 8
    counts = [len(r.images) for r in backend.requests]
    assert counts == [1, 2, 3, 4, 5, 5, 5, 5]
    systems = {r.messages[0].text for r in backend.requests}
    assert len(systems) == 1  # the prefix a server can cache
    assert "Step 1: Click agree" in backend.requests[5].messages[1].text
    assert isinstance(backend.requests[-1].messages[1].content[0], ImagePart)


def test_model_error_is_recorded_then_raised(tmp_path: Path) -> None:
    screen = form_screen()
    backend = ScriptedBackend([click_reply(screen, "agree")])
    with pytest.raises(ModelError):
        run_episode("Toggle", screen, backend, QUIET, record_dir=tmp_path)
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "error"
    assert len((tmp_path / "traj.jsonl").read_text().splitlines()) == 1


class StopAfter:
    def __init__(self, n: int) -> None:
        self.n = n

    def check(self) -> None:
        self.n -= 1
        if self.n < 0:
            raise StopRequested("kill switch")


def test_stop_signal_aborts_before_the_next_action() -> None:
    screen = form_screen()
    backend = ScriptedBackend([click_reply(screen, "agree")] * 5)
    result = run_episode("Toggle", screen, backend, QUIET, stop=StopAfter(3))
    assert result.status == "aborted"
    assert len(screen.executed) == 1


class TickingClock:
    """A clock that advances `step` seconds every time it is read."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_time_budget_stops_the_run() -> None:
    screen = form_screen()
    backend = ScriptedBackend([click_reply(screen, "agree")] * 10)
    options = AgentOptions(confirm="never", max_seconds=5)
    result = run_episode("Toggle", screen, backend, options, clock=TickingClock(2.0))
    assert result.status == "budget" and result.answer and "time budget" in result.answer
    assert 1 <= len(screen.executed) < 10


def test_only_the_first_of_several_calls_runs_and_the_model_is_told(tmp_path: Path) -> None:
    screen = form_screen()
    two = click_reply(screen, "agree") + "\n" + click_reply(screen, "name").split("\n", 1)[1]
    backend = ScriptedBackend([two, done_reply()])
    result = run_episode("Tick", screen, backend, QUIET, record_dir=tmp_path)
    assert result.status == "success"
    assert screen.widget("agree").checked and screen.focus is None
    assert "Only the first of your 2 tool calls" in backend.requests[1].messages[-1].text
    lines = [json.loads(x) for x in (tmp_path / "traj.jsonl").read_text().splitlines()]
    assert [x["done"] for x in lines] == [False, True]


def test_model_reported_blocker_is_a_failure_with_its_reason() -> None:
    screen = form_screen()
    backend = ScriptedBackend([done_reply("failure", "The page needs a login I do not have")])
    result = run_episode("Save", screen, backend, QUIET)
    assert result.status == "failure"
    assert result.answer == "The page needs a login I do not have"
    assert result.final_action is not None and result.final_action.kind == "finish"
