"""Re-scoring saved runs offline (`qwen-agent eval rescore`): requests rebuilt byte for byte from the
run folder, the agreement rules, skipped and damaged runs (in-memory runs, fast), and saved sandbox runs
of the reference policy re-scored with its own recorded replies (100%) and with scripted replies that
differ on known steps (browser and desktop)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from actions.types import (
    Action,
    Click,
    ElementInfo,
    Executed,
    Finish,
    Hotkey,
    ScreenGeometry,
    Scroll,
    TypeText,
    Wait,
)
from agent.loop import run_episode
from agent.options import AgentOptions
from agent.run_folder import load_run
from agent.trajectory import Step
from model.backend import ModelError
from model.qwen3vl import format_reply
from model.scripted import ScriptedBackend
from tasks.cli.common import ExitCode, exit_on_error
from tasks.cli.rescore import rescore_command
from tasks.eval.results import TaskOutcome
from tasks.grounding.agreement import compare, target_box
from tasks.grounding.replay import RecordedReplies
from tasks.grounding.rescore import rescore, step_request
from tasks.grounding.saved_runs import RescoreInputError, SavedRun, find_runs
from tests.conftest import require
from tests.memory_env import click_reply, done_reply, form_screen, type_reply
from tests.run_recording import DigestBackend, form_replies, keeper, request_digest

SETTINGS_RUN = "settings/fc57f753-8cd4-58fe-85c6-0b5405771630"  # click field, ctrl+a, type, click Save, done
DESKTOP_RUN = "desktop/2fa0a760-a3e5-577c-9669-1cdc662cae17"  # click Mousepad, type, ctrl+s, done
REFERENCE_TASKS = (
    SETTINGS_RUN,
    "shop/4072c2dc-5905-5919-9b91-e65d3d3e6f45",  # click 'Add to cart', done
    "flights/4b32b165-9b02-5296-81ff-7bb173af96fe",  # infeasible: terminate with failure
    DESKTOP_RUN,
)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(rescore_command)
    return app


def _form_run(
    folder: Path, replies: list[str] | None = None, instruction: str = "Fill the form and save"
) -> Path:
    """A finished run of the in-memory form (click name, type, tick, save, done) recorded in `folder`."""
    screen = form_screen()
    backend = ScriptedBackend(replies or form_replies(screen))
    run_episode(instruction, screen, backend, AgentOptions(confirm="never"), record_dir=folder)
    return folder


def _saved(folder: Path) -> SavedRun:
    return SavedRun(key=folder.name, run=load_run(folder))


def _replies(folder: Path, changes: Mapping[int, Action]) -> list[str]:
    """The run's recorded replies, one per action step, with the steps in `changes` answered with
    another action (written by the codec on the step's own screen and grid)."""
    run = load_run(folder)
    out = []
    for step in run.steps:
        if step.kind != "action" or step.action is None:
            continue
        new = changes.get(step.index)
        grid = run.options.protocol.grid
        out.append(
            step.raw_reply if new is None else format_reply(new, step.geometry, grid, summary="changed")
        )
    return out


def _lines(out: Path) -> dict[int, dict[str, Any]]:
    return {line["step"]: line for line in map(json.loads, (out / "results.jsonl").read_text().splitlines())}


# ----- the requests: rebuilt as the agent built them ---------------------------------------------------


@pytest.mark.unit
def test_every_step_request_is_rebuilt_byte_for_byte(tmp_path: Path) -> None:
    screen = keeper()
    backend = DigestBackend(form_replies(screen), screen)
    # Two images of history: steps 4 and 5 see step 1 (and then 2) as a text line, not an image.
    options = AgentOptions(confirm="never", history_images=2)
    result = run_episode("Fill the form and save", screen, backend, options, record_dir=tmp_path / "run")
    assert result.status == "success" and len(backend.seen) == 5
    saved = _saved(tmp_path / "run")
    rebuilt = [request_digest(step_request(saved, i, saved.run.options)) for i in range(5)]
    assert rebuilt == [digest for digest, _shots in backend.seen]


@pytest.mark.unit
def test_overrides_change_what_is_asked(tmp_path: Path) -> None:
    from tasks.grounding.rescore import RescoreSettings

    saved = _saved(_form_run(tmp_path / "run"))
    options = RescoreSettings(grid=999, max_pixels=160 * 96, max_new_tokens=64).apply(saved.run.options)
    request = step_request(saved, 0, options)
    # 640x400 within 15,360 model pixels: smart_resize floors to multiples of 32.
    assert request.images[-1].size == (128, 96) and request.max_new_tokens == 64
    assert "999x999" in request.messages[0].text  # the tool's stated resolution is the new grid
    assert "1000x1000" in step_request(saved, 0, saved.run.options).messages[0].text


# ----- the rules -------------------------------------------------------------------------------------

GEOMETRY = ScreenGeometry(width=1280, height=800)
TICK = ElementInfo(tag="input", role="checkbox", bbox=(100.0, 100.0, 10.0, 10.0))  # a 10 px checkbox


def _step(action: Action, element: ElementInfo | None = None) -> Step:
    return Step(index=1, action=action, outcome=Executed(), element=element, geometry=GEOMETRY)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("recorded", "element", "new", "agree", "reason"),
    [
        (Click(x=105, y=105), TICK, Click(x=109, y=101), True, "same"),  # inside the box, off the point
        (Click(x=105, y=105), TICK, Click(x=105, y=113), False, "off_target"),  # 8 px, but outside the box
        (Click(x=105, y=105), None, Click(x=105, y=113), True, "same"),  # no box: 8 px is within 14
        (Click(x=105, y=105), None, Click(x=105, y=120), False, "off_target"),  # 15 px
        # The page itself is no target: its box (the whole screen) is not used.
        (Click(x=105, y=105), ElementInfo(tag="body", interactive=False, bbox=(0, 0, 1280, 800)),
         Click(x=600, y=400), False, "off_target"),
        (Click(x=105, y=105), TICK, Click(x=105, y=105, count=2), False, "action_type"),
        (Click(x=105, y=105), TICK, Click(x=105, y=105, button="right"), False, "action_type"),
        (TypeText(text="Ada  Lovelace\n"), None, TypeText(text=" Ada Lovelace"), True, "same"),
        (TypeText(text="Ada Lovelace"), None, TypeText(text="ada lovelace"), False, "text"),
        (Hotkey(keys=("ctrl", "s")), None, Hotkey(keys=("s", "ctrl")), True, "same"),
        (Hotkey(keys=("ctrl", "s")), None, Hotkey(keys=("ctrl", "shift", "s")), False, "keys"),
        (Scroll(dy=-3, x=10, y=10), None, Scroll(dy=-10), True, "same"),
        (Scroll(dy=-3), None, Scroll(dy=3), False, "direction"),
        (Wait(seconds=1), None, Wait(seconds=3), True, "same"),
        (Finish(status="failure"), None, Finish(status="success"), False, "status"),
        (Finish(status="success"), None, Finish(status="success", answer="42"), True, "same"),
        (Finish(status="success"), None, Click(x=1, y=1), False, "action_type"),
    ],
)  # fmt: skip
def test_agreement_rules(
    recorded: Action, element: ElementInfo | None, new: Action, agree: bool, reason: str
) -> None:
    verdict = compare(_step(recorded, element), new)
    assert (verdict.agree, verdict.reason) == (agree, reason), verdict.detail


@pytest.mark.unit
def test_a_box_that_does_not_hold_the_recorded_click_is_not_the_target() -> None:
    assert target_box(_step(Click(x=105, y=105), TICK)) == (100.0, 100.0, 110.0, 110.0)
    assert target_box(_step(Click(x=300, y=300), TICK)) is None  # the page moved under the hover
    assert compare(_step(Click(x=1, y=1)), None, parse_error="no tool call").reason == "unparsed"


# ----- which runs: successful ones; damaged folders are named --------------------------------------


@pytest.mark.unit
def test_unsuccessful_runs_are_skipped_and_counted(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    _form_run(root / "ok")
    screen = form_screen()
    _form_run(root / "gave-up", [click_reply(screen, "name"), done_reply("failure", "I cannot")])
    # An eval task folder: its score.json decides, whatever the run said.
    task = _form_run(root / "chrome" / "task-0")
    score = TaskOutcome(domain="chrome", task_id="task-0", status="scored", score=0.0)
    (task / "score.json").write_text(score.model_dump_json())
    (_form_run(root / "cut") / "result.json").unlink()  # a run that never finished
    not_run = root / "chrome" / "task-1"
    not_run.mkdir()
    unsupported = TaskOutcome(domain="chrome", task_id="task-1", status="unsupported", reason="no app")
    (not_run / "score.json").write_text(unsupported.model_dump_json())
    found = find_runs([root])
    summary = rescore(found, RecordedReplies([r.run for r in found.runs]), tmp_path / "out")
    assert summary["runs_found"] == 5 and summary["runs_rescored"] == 1 and summary["runs_skipped"] == 4
    assert summary["skipped_why"] == {
        "eval score 0": 1,
        "eval task not run (unsupported)": 1,
        "run status failure": 1,
        "unfinished (no result.json)": 1,
    }
    assert {s["run"] for s in summary["skipped"]} == {"gave-up", "chrome/task-0", "chrome/task-1", "cut"}
    assert summary["overall"] == {"steps": 5, "agree": 5, "agreement": 1.0}
    assert set(summary["runs"]) == {"ok"}


@pytest.mark.unit
def test_a_damaged_run_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    _form_run(root / "fine")
    bad = _form_run(root / "bad")
    lines = (bad / "traj.jsonl").read_text().splitlines()
    lines[1] = lines[1][:40]
    (bad / "traj.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(RescoreInputError, match=r"runs/bad: not a readable run folder.*traj.jsonl:2"):
        find_runs([root])
    shutil.rmtree(bad)
    _form_run(bad)
    (bad / "step_3.png").unlink()
    with pytest.raises(RescoreInputError, match=r"runs/bad: step 3 has no screenshot"):
        find_runs([root])
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(RescoreInputError, match="empty holds no run folder"):
        find_runs([tmp_path / "empty"])
    with pytest.raises(RescoreInputError, match="missing is not a folder"):
        find_runs([tmp_path / "missing"])
    # On the command line: one line naming the folder, exit 2, nothing written.
    with pytest.raises(SystemExit) as exit_info, exit_on_error():
        rescore_command([root], model="recorded", out=tmp_path / "out")
    assert exit_info.value.code == ExitCode.USAGE
    assert not (tmp_path / "out").exists()
    # The reference policy needs a live page: offline, `recorded` stands for it.
    with pytest.raises(SystemExit) as exit_info, exit_on_error():
        rescore_command([root / "fine"], model="reference", out=tmp_path / "out")
    assert exit_info.value.code == ExitCode.USAGE


# ----- the recorded-replies backend finds steps by the request -----------------------------------


@pytest.mark.unit
def test_recorded_replies_answer_by_the_request_not_by_order(tmp_path: Path) -> None:
    screen = form_screen()
    # Step 1 clicks a dead label: step 2 is decided on the same screen, told apart by its history.
    replies = [click_reply(screen, "title"), *form_replies(screen)]
    saved = _saved(_form_run(tmp_path / "run", replies))
    steps = saved.run.steps
    first, second = (Image.open(saved.folder / f"step_{n}.png").tobytes() for n in (1, 2))
    assert steps[0].screen_changed is False and first == second
    backend = RecordedReplies([saved.run])
    for i in (3, 0, 5, 1, 2, 4):
        answer = backend.generate(step_request(saved, i, saved.run.options))
        assert answer.text == steps[i].raw_reply, f"step {i + 1}"
    # The same first screen, but another task: no step of the saved run was asked this.
    other = _saved(_form_run(tmp_path / "other", [type_reply("x"), done_reply()], "Type x"))
    with pytest.raises(ModelError, match="no saved step"):
        backend.generate(step_request(other, 0, other.run.options))


# ----- saved sandbox runs of the reference policy --------------------------------------------------


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three short browser tasks and one desktop task, solved by the reference policy: results/reference."""
    from actions.chromium import find_chromium
    from tasks.eval.evaluate import evaluate
    from tasks.eval.harness import EvalConfig
    from tasks.suites import resolve_suite

    require(find_chromium() is not None, "Chromium is not installed")
    require(shutil.which("Xvfb") is not None, "Xvfb is not installed")
    suite = resolve_suite("sandbox").select((), [key.split("/")[1] for key in REFERENCE_TASKS])
    out = tmp_path_factory.mktemp("eval")
    config = EvalConfig(suite_name="sandbox", suite_root=suite.root, model="reference", out=out, max_steps=50)
    summary, root = evaluate(suite, config, lambda kind, payload: None)
    assert summary["overall"]["success"] == len(REFERENCE_TASKS), summary
    return root


@pytest.mark.browser
@pytest.mark.desktop
def test_reference_runs_rescored_with_the_reference_itself_agree_100_percent(
    reference_runs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(_app(), [str(reference_runs), "--model", "recorded", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "recorded: agreement 100.0% (12/12 steps) over 4 run(s)" in result.stdout
    assert "[12/12] shop/4072c2dc-5905-5919-9b91-e65d3d3e6f45 step 2 finish: agree" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["runs"]) == set(REFERENCE_TASKS)
    assert all(r["all_agree"] for r in summary["runs"].values())
    assert {k: v["steps"] for k, v in summary["by_action"].items()} == {"click": 4, "type": 2, "key": 2,
                                                                         "finish": 4}  # fmt: skip
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 12 and all(x["new_reply"] == x["recorded_reply"] for x in lines)
    # Browser clicks are judged by their element's box, the desktop's by the tolerance.
    clicks = {(x["run"], x["step"]): x["target_box"] for x in lines if x["action_type"] == "click"}
    assert clicks[(DESKTOP_RUN, 1)] is None
    assert all(box is not None for (run, _), box in clicks.items() if run != DESKTOP_RUN)


@pytest.mark.browser
@pytest.mark.desktop
def test_a_model_that_answers_differently_disagrees_on_exactly_those_steps(
    reference_runs: Path, tmp_path: Path
) -> None:
    folder = reference_runs / SETTINGS_RUN
    steps = {s.index: s for s in load_run(folder).steps}
    field = steps[1].action
    assert isinstance(field, Click) and steps[1].element is not None
    changes: dict[int, Action] = {
        1: Click(x=field.x - 200, y=field.y),  # 200 px left of the display-name field
        3: TypeText(text="Ada Byron"),  # instead of 'Ada Lovelace'
        4: Finish(status="success"),  # terminates before clicking Save
    }
    backend = ScriptedBackend(_replies(folder, changes))
    summary = rescore([folder], backend, tmp_path / "out")
    assert backend.remaining == 0
    run = summary["runs"]["fc57f753-8cd4-58fe-85c6-0b5405771630"]
    assert run["disagree_at"] == [1, 3, 4] and run["agree"] == 2
    lines = _lines(tmp_path / "out")
    assert [lines[n]["reason"] for n in (1, 2, 3, 4, 5)] == [
        "off_target",
        "same",
        "text",
        "action_type",
        "same",
    ]
    assert "outside the box of <input>" in str(lines[1]["detail"])
    assert lines[3]["detail"] == "typed 'Ada Byron' instead of 'Ada Lovelace'"
    assert lines[4]["detail"] == "finish instead of click"
    assert summary["reasons"] == {"action_type": 1, "off_target": 1, "same": 2, "text": 1}
    assert summary["by_action"]["click"] == {"steps": 2, "agree": 0, "agreement": 0.0}

    # A click inside the field's box, far from the recorded point, agrees.
    x1, _y1, w, _h = steps[1].element.bbox or (0, 0, 0, 0)
    inside = Click(x=int(x1 + w - 4), y=field.y)
    summary = rescore([folder], ScriptedBackend(_replies(folder, {1: inside})), tmp_path / "inside")
    line = _lines(tmp_path / "inside")[1]
    assert summary["overall"]["agreement"] == 1.0 and line["distance_px"] > 100


@pytest.mark.browser
@pytest.mark.desktop
def test_a_desktop_click_without_a_box_agrees_within_the_tolerance(
    reference_runs: Path, tmp_path: Path
) -> None:
    folder = reference_runs / DESKTOP_RUN
    click = load_run(folder).steps[0].action
    assert isinstance(click, Click)
    near, far = Click(x=click.x + 10, y=click.y), Click(x=click.x, y=click.y + 30)
    rescore([folder], ScriptedBackend(_replies(folder, {1: near})), tmp_path / "near")
    assert _lines(tmp_path / "near")[1]["agree"] is True
    rescore([folder], ScriptedBackend(_replies(folder, {1: far})), tmp_path / "far")
    assert _lines(tmp_path / "far")[1]["reason"] == "off_target"
    replies = tmp_path / "far.jsonl"
    replies.write_text("".join(json.dumps(r) + "\n" for r in _replies(folder, {1: far})))
    args = [
        str(folder),
        "--model",
        f"scripted:{replies}",
        "--tolerance",
        "35",
        "--out",
        str(tmp_path / "wide"),
    ]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "agreement 100.0% (4/4 steps)" in result.stdout
