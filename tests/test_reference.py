"""The reference policy: its scripts, its replies (parsed by the real parser), and whole sandbox tasks
run through run_episode and the evaluation harness with real Chromium, Xvfb, xterm and mousepad."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actions.types import Click, Finish, ScreenGeometry, TypeText
from model.qwen3vl import parse_reply
from model.types import ChatMessage, ModelRequest, TextPart
from tasks.apps.sandbox.server import SandboxServer
from tasks.reference.policy import ReferenceBackend
from tasks.reference.script import ReferenceScriptError, load_solution, parse_solution
from tests.conftest import require

SUITE = Path(__file__).resolve().parent.parent / "tasks" / "suites" / "sandbox"
REQUEST = ModelRequest(messages=(ChatMessage(role="user", content=(TextPart(text="go"),)),))


@pytest.mark.unit
def test_script_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ReferenceScriptError, match="last step must be a `terminate`"):
        parse_solution({"id": "x", "steps": [{"do": "key", "keys": ["enter"]}]}, "x")
    with pytest.raises(ReferenceScriptError, match="either `selector` or `window`"):
        parse_solution({"id": "x", "steps": [{"do": "click", "selector": "a", "window": "b"},
                                             {"do": "terminate"}]}, "x")  # fmt: skip
    with pytest.raises(ReferenceScriptError, match="no reference solution for task 'missing'"):
        load_solution({"id": "missing"}, tmp_path)
    inline = load_solution({"id": "t", "reference": [{"do": "terminate", "status": "failure", "text": "no"}]})
    assert inline.steps[-1].do == "terminate"


@pytest.mark.unit
def test_keyboard_and_terminate_replies_parse_with_the_real_parser() -> None:
    solution = parse_solution({"id": "t", "steps": [
        {"do": "type", "text": "héllo 東京"}, {"do": "key", "keys": ["ctrl", "s"]},
        {"do": "terminate", "status": "failure", "text": "There is no PayPal option."}]}, "t")  # fmt: skip
    backend = ReferenceBackend(env=None, task=None, solution=solution)
    screen = ScreenGeometry(width=1280, height=800)
    replies = [backend.generate(REQUEST).text for _ in range(3)]
    assert all(r.startswith("Action: ") and "<tool_call>" in r for r in replies)
    actions = [parse_reply(r, screen).action for r in replies]
    assert actions[0] == TypeText(text="héllo 東京")
    assert actions[1].kind == "key" and actions[1].keys == ("ctrl", "s")
    assert actions[2] == Finish(status="failure", answer="There is no PayPal option.")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(port=0) as s:
        yield s


@pytest.mark.browser
def test_click_lands_on_the_element_centre_through_the_grid(
    browser_factory: Any, server: SandboxServer
) -> None:
    env = browser_factory()
    server.reset("signup")
    env.goto(server.app_url("signup"))
    solution = parse_solution(
        {"id": "t", "steps": [{"do": "click", "selector": "#terms"}, {"do": "terminate"}]}, "t"
    )
    backend = ReferenceBackend(env, None, solution=solution)
    reply = backend.generate(REQUEST).text
    w, h = env.options.viewport
    click = parse_reply(reply, ScreenGeometry(width=w, height=h)).action
    assert isinstance(click, Click)
    box = env.page.locator("#terms").bounding_box()
    assert abs(click.x - (box["x"] + box["width"] / 2)) <= 1.5
    assert abs(click.y - (box["y"] + box["height"] / 2)) <= 1.5
    env.execute(click)
    assert server.state("signup")["draft"]["terms"] is True


@pytest.mark.browser
def test_reference_runs_a_task_through_run_episode(browser_factory: Any, server: SandboxServer) -> None:
    """A scroll inside a dropdown list and a page scroll, through the loop, asserted on the app's state."""
    from agent.loop import run_episode
    from agent.options import AgentOptions

    env = browser_factory()
    server.reset("signup")
    env.goto(server.app_url("signup"))
    solution = parse_solution({"id": "t", "steps": [
        {"do": "type", "selector": "#full-name", "text": "Zoë Ng"},
        {"do": "click", "selector": "#country", "expect": ".options"},
        {"do": "click", "selector": '.options [data-value="United States"]'},
        {"do": "click", "selector": "#terms"}, {"do": "terminate", "text": "Filled in."}]}, "t")  # fmt: skip
    backend = ReferenceBackend(env, None, solution=solution)
    result = run_episode("fill the form", env, backend, AgentOptions(max_steps=20, confirm="never"))
    assert result.status == "success", result
    draft = server.state("signup")["draft"]
    assert draft["full_name"] == "Zoë Ng" and draft["country"] == "United States" and draft["terms"] is True
    assert any("Scroll down" in (s.summary or "") for s in result.steps)  # the list had to scroll


def _run_suite(model: str, ids: list[str], out: Path) -> dict[str, float | None]:
    from tasks.eval.harness import EvalConfig, run_tasks
    from tasks.eval.results import ResultsDir
    from tasks.osworld.spec import load_suite

    entries = list(load_suite(SUITE, name="sandbox").select(ids=ids).tasks)
    config = EvalConfig(suite_name="sandbox", suite_root=SUITE, model=model, out=out, max_steps=50)
    outcomes = run_tasks(entries, config, ResultsDir(out / "run"), lambda *_: None)
    return {o.task_id: o.score for o in outcomes}


def _ids(*names: str) -> list[str]:
    wanted = set(names)
    found = {}
    for path in (SUITE / "solutions").glob("*.json"):
        data = json.loads(path.read_text())
        if data.get("name") in wanted:
            found[data["name"]] = data["id"]
    assert set(found) == wanted
    return [found[n] for n in names]


# Tasks that exercise every kind of reference step: dropdown-list scrolling, page scrolling under a
# sticky header, clearing a field, a confirm dialog, a download, and an infeasible task.
BROWSER_SAMPLE = ("settings-digest-push-usage", "records-filter-edit-chloe", "records-export-csv",
                  "flights-infeasible-reykjavik")  # fmt: skip
DESKTOP_SAMPLE = ("desktop-xterm-sort", "desktop-mousepad-append")


@pytest.mark.browser
def test_harness_scores_reference_one_and_a_do_nothing_model_zero(chromium_path: Any, tmp_path: Path) -> None:
    ids = _ids(*BROWSER_SAMPLE)
    assert _run_suite("reference", ids, tmp_path / "ref") == dict.fromkeys(ids, 1.0)
    noop = tmp_path / "noop.jsonl"
    call = '{"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}'
    noop.write_text(json.dumps(f"Action: done\n<tool_call>\n{call}\n</tool_call>") + "\n")
    assert _run_suite(f"scripted:{noop}", ids, tmp_path / "noop") == dict.fromkeys(ids, 0.0)


@pytest.mark.desktop
def test_harness_scores_reference_on_desktop_apps(tmp_path: Path) -> None:
    from tests.fixtures.display import require_x11_tools

    require_x11_tools()
    for binary in ("xterm", "mousepad"):
        require(shutil.which(binary) is not None, f"{binary} missing (apt-get install {binary})")
    ids = _ids(*DESKTOP_SAMPLE)
    assert _run_suite("reference", ids, tmp_path) == dict.fromkeys(ids, 1.0)
