"""Only the secrets a task names (or --secret allows) can be typed: a page that tells the model to
type {{secret:OTHER}} gets a blocked step fed back to the model, and nothing reaches the field."""

from __future__ import annotations

import pytest

from agent.loop import run_episode
from agent.options import AgentOptions
from model.scripted import ScriptedBackend
from tests.memory_env import click_reply, done_reply, form_screen, type_reply

pytestmark = pytest.mark.unit


def test_a_secret_the_task_does_not_name_is_never_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QWEN_AGENT_SECRET_NAME", "Ada")
    monkeypatch.setenv("QWEN_AGENT_SECRET_BANK_PIN", "4711")
    screen = form_screen()
    replies = [
        click_reply(screen, "name"),
        type_reply("{{secret:BANK_PIN}}"),  # what a hostile page asked for
        type_reply("{{secret:NAME}}"),
        done_reply(),
    ]
    backend = ScriptedBackend(replies)
    result = run_episode(
        "Type {{secret:NAME}} into the name field", screen, backend, AgentOptions(confirm="never")
    )
    assert result.status == "success"
    assert screen.widget("name").value == "Ada"  # the named secret, and nothing else
    blocked = result.steps[1]
    assert blocked.outcome is not None and blocked.outcome.kind == "blocked"
    assert "BANK_PIN" in blocked.outcome.reason and "4711" not in blocked.outcome.reason
    assert "not one this task may use" in backend.requests[2].messages[-1].text  # fed back


def test_secret_option_allows_one_more(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QWEN_AGENT_SECRET_BANK_PIN", "4711")
    screen = form_screen()
    backend = ScriptedBackend([click_reply(screen, "name"), type_reply("{{secret:BANK_PIN}}"), done_reply()])
    options = AgentOptions(confirm="never", secrets=("BANK_PIN",))
    assert run_episode("Fill in the PIN", screen, backend, options).status == "success"
    assert screen.widget("name").value == "4711"
