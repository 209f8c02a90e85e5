"""The multi-step form scenario on a real Xvfb desktop: the Tk form app, H1's DesktopEnvironment,
the scripted backend. State is verified through the app's own JSON-lines log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actions.desktop import DesktopEnvironment, DesktopOptions
from actions.types import Click
from actions.xdisplay import VirtualDisplay
from agent.loop import run_episode
from agent.options import AgentOptions
from model.qwen3vl import format_reply
from model.scripted import ScriptedBackend
from tests.fixtures.display import LaunchApp
from tests.form_script import fill_form_replies

pytestmark = pytest.mark.desktop


@pytest.fixture
def desktop(virtual_display: VirtualDisplay) -> Iterator[DesktopEnvironment]:
    with DesktopEnvironment(DesktopOptions(display=virtual_display.display)) as env:
        yield env


def test_form_filled_and_saved_on_the_desktop(
    virtual_display: VirtualDisplay,
    launch_desktop_app: LaunchApp,
    desktop: DesktopEnvironment,
    tmp_path: Path,
) -> None:
    app = launch_desktop_app(virtual_display, "form")
    widgets = app.ready["widgets"]
    geometry = desktop.observe().geometry

    def click(name: str, summary: str) -> str:
        w = widgets[name]
        return format_reply(Click(x=w["x_root"], y=w["y_root"]), geometry, summary=summary)

    replies = fill_form_replies(click, "Zoë Müller", "zoe@example.org")
    backend = ScriptedBackend(replies)
    result = run_episode(
        "Fill in the form as Zoë Müller, zoe@example.org, agree and save",
        desktop,
        backend,
        AgentOptions(confirm="never"),
        record_dir=tmp_path / "run",
    )
    assert result.status == "success", result
    saved = app.wait_for("saved")
    assert saved and saved[-1]["name"] == "Zoë Müller"
    assert saved[-1]["email"] == "zoe@example.org" and saved[-1]["agree"] is True
    assert (tmp_path / "run" / "step_6.png").is_file()
    changed = [
        s.screen_changed
        for s in result.steps
        if s.kind == "action" and s.action is not None and s.action.kind != "finish"
    ]
    assert all(changed), changed  # every action visibly changed the form


def test_disabled_save_on_the_desktop_is_a_no_effect_loop(
    virtual_display: VirtualDisplay, launch_desktop_app: LaunchApp, desktop: DesktopEnvironment
) -> None:
    app = launch_desktop_app(virtual_display, "form")
    w = app.ready["widgets"]["save"]
    geometry = desktop.observe().geometry
    click = format_reply(Click(x=w["x_root"], y=w["y_root"]), geometry, summary="Click Save")
    backend = ScriptedBackend(
        [click] * 3 + ["Verdict: blocked\nExplanation: Save is greyed out until the terms box is ticked."]
    )
    options = AgentOptions(confirm="never", loop_nudge_after=2, loop_stop_after=3)
    result = run_episode("Save the form", desktop, backend, options)
    assert result.status == "blocked"
    assert result.explanation and "did not change" in result.explanation
    assert "terms box is ticked" in result.explanation
    assert app.events("saved") == []
