"""The loop on real pages: Chromium on 127.0.0.1 (tests/pages/agent/form.html) through H2's
BrowserEnvironment, replies from the scripted backend. State is read from the page itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from actions.safety import ListConfirmer
from agent.loop import run_episode
from agent.options import AgentOptions
from model.scripted import ScriptedBackend

pytestmark = pytest.mark.browser

QUIET = AgentOptions(confirm="never")


@pytest.fixture
def page(browser_factory: Callable[..., Any], pages_url: str) -> Any:
    env = browser_factory(start_url=pages_url + "agent/form.html")
    env.reset()
    return env


def state(env: Any) -> dict[str, Any]:
    return dict(env.evaluate("window.appState"))


def at(env: Any, selector: str) -> list[int]:
    """The element's centre on the model's 0..1000 grid (viewport CSS pixels -> grid)."""
    x, y = env.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return [r.left + r.width / 2, r.top + r.height / 2]; }",
        selector,
    )
    w, h = env.options.viewport
    return [round(x * 1000 / w), round(y * 1000 / h)]


def call(summary: str, **args: Any) -> str:
    body = json.dumps({"name": "computer_use", "arguments": args}, ensure_ascii=False)
    return f"Action: {summary}\n<tool_call>\n{body}\n</tool_call>"


def click(env: Any, selector: str, summary: str = "Click") -> str:
    return call(summary, action="left_click", coordinate=at(env, selector))


DONE = call("Done", action="terminate", status="success")


def test_multi_step_form_on_a_real_page(page: Any, tmp_path: Path) -> None:
    replies = [
        click(page, "#name", "Click the Name field"),
        call("Type the name", action="type", text="Grace Hopper"),
        click(page, "#email", "Click the Email field"),
        call("Type the email", action="type", text="grace@example.org"),
        click(page, "#agree", "Tick I agree to the terms"),
        click(page, "#save", "Click Save"),
        DONE,
    ]
    result = run_episode("Fill in and save the form", page, ScriptedBackend(replies), QUIET, tmp_path)
    assert result.status == "success"
    saved = state(page)["saved"]
    assert saved == {"name": "Grace Hopper", "email": "grace@example.org", "password": "", "agree": True}
    assert len((tmp_path / "traj.jsonl").read_text().splitlines()) == 7
    assert all(s.url and s.url.endswith("form.html") for s in result.steps)


def test_disabled_save_is_explained_with_the_unticked_checkbox(page: Any, tmp_path: Path) -> None:
    replies = [
        click(page, "#name", "Click the Name field"),
        call("Type the name", action="type", text="Grace"),
        click(page, "#save", "Click Save"),
        "Explanation: it does not work.",  # a poor answer: the evidence must carry the message
    ]
    backend = ScriptedBackend(replies)
    result = run_episode("Enter the name Grace and save", page, backend, QUIET, tmp_path)
    assert result.status == "blocked"
    assert result.explanation is not None
    assert "Save" in result.explanation and "disabled" in result.explanation
    assert "I agree to the terms" in result.explanation
    assert state(page)["saved"] is None
    assert "I agree to the terms" in (tmp_path / "report.html").read_text()
    assert json.loads((tmp_path / "result.json").read_text())["explanation"] == result.explanation


def test_loop_detection_stops_a_repeated_no_effect_click(page: Any) -> None:
    backend = ScriptedBackend([click(page, "#title", "Click the title")] * 4 + ["Verdict: blocked"])
    options = AgentOptions(confirm="never", loop_nudge_after=2, loop_stop_after=4)
    result = run_episode("Open the contact form", page, backend, options)
    assert result.status == "blocked"
    assert result.explanation and "4 times" in result.explanation
    assert "2 times on the same screen" in backend.requests[2].messages[-1].text
    assert state(page) == {"saved": None, "bought": False}


def test_parse_error_fed_back_then_recovered(page: Any) -> None:
    backend = ScriptedBackend(
        [
            '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click"}}</tool_call>',
            click(page, "#agree", "Tick the box"),
            DONE,
        ]
    )
    result = run_episode("Tick the terms box", page, backend, QUIET)
    assert result.status == "success"
    assert result.steps[0].kind == "parse_error"
    assert "needs `coordinate`" in backend.requests[1].messages[-1].text
    assert page.evaluate("document.getElementById('agree').checked") is True


def test_dry_run_leaves_the_page_unchanged(page: Any, tmp_path: Path) -> None:
    backend = ScriptedBackend([click(page, "#agree", "Tick the box"), DONE])
    result = run_episode("Tick the box", page, backend, AgentOptions(dry_run=True), tmp_path)
    assert result.status == "aborted"
    assert page.evaluate("document.getElementById('agree').checked") is False
    assert (tmp_path / "step_1.png").stat().st_size > 1000


@pytest.mark.parametrize("answer", [False, True])
def test_risky_click_waits_for_confirmation(page: Any, answer: bool) -> None:
    backend = ScriptedBackend([click(page, "#buy", "Click the big button"), DONE])
    confirmer = ListConfirmer([answer])
    result = run_episode("Get the item", page, backend, AgentOptions(), confirmer=confirmer)
    assert confirmer.questions == ["Click 'Buy now'?"]
    assert state(page)["bought"] is answer
    assert result.status == ("success" if answer else "aborted")


def test_secret_typed_but_never_recorded(page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-Pa55-w0rd"
    monkeypatch.setenv("QWEN_AGENT_SECRET_SITE_PASSWORD", secret)
    replies = [
        click(page, "#password", "Click the Password field"),
        call("Type the password", action="type", text="{{secret:SITE_PASSWORD}}"),
        click(page, "#agree", "Tick I agree to the terms"),
        click(page, "#save", "Click Save"),
        DONE,
    ]
    result = run_episode(
        "Log in with {{secret:SITE_PASSWORD}}", page, ScriptedBackend(replies), QUIET, tmp_path
    )
    assert result.status == "success"
    assert state(page)["saved"]["password"] == secret
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {"traj.jsonl", "result.json", "report.html", "step_1.png"} <= {p.name for p in files}
    for p in files:
        assert secret.encode() not in p.read_bytes(), p
