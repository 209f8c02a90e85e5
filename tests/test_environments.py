"""open_environment: the one path that opens a browser or a desktop (with a private Xvfb and launched
programs) for `run`, `calibrate` and the harness, and closes everything it started."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from actions.errors import EnvironmentClosed
from actions.settle import SettleOptions
from tasks.apps.desktop import read_events
from tasks.environments import EnvironmentSettings, open_environment, wait_for_windows


@pytest.mark.browser
def test_browser_opens_at_the_url_and_closes(chromium_path: str | None, pages_url: str) -> None:
    from actions.browser import BrowserEnvironment

    settings = EnvironmentSettings(kind="browser", url=pages_url + "agent/form.html", screen=(800, 600))
    with open_environment(settings) as env:
        assert isinstance(env, BrowserEnvironment)
        assert env.page.url.endswith("agent/form.html")
        assert env.observe().geometry.width == 800
    with pytest.raises(EnvironmentClosed):
        env.observe()


@pytest.mark.desktop
def test_desktop_on_a_private_xvfb_waits_for_launched_windows(tmp_path: Path) -> None:
    from actions.desktop import DesktopEnvironment
    from tests.fixtures.display import require_x11_tools

    require_x11_tools()
    log = tmp_path / "form.jsonl"
    launch = f"{sys.executable} -m tasks.apps.desktop.form --log {log}"
    settings = EnvironmentSettings(kind="desktop", xvfb=True, screen=(1024, 768), launch=(launch,))
    with open_environment(settings) as env:
        assert isinstance(env, DesktopEnvironment)
        assert env.geometry.width == 1024
        # The form's window is on screen before the first observation.
        assert any(e["event"] == "ready" for e in read_events(log))
        assert len(set(env.frame_signature())) > 1
        display = env.display
    assert display.startswith(":")


@pytest.mark.unit
def test_a_blank_screen_never_counts_as_settled() -> None:
    class Blank:
        def frame_signature(self) -> bytes:
            return bytes(64)

    quick = SettleOptions(threshold=0.0, quiet_ms=10, interval_ms=5, cap_ms=60)
    blank: Any = Blank()
    assert wait_for_windows(blank, quick).settled is False

    class Still(Blank):
        def frame_signature(self) -> bytes:
            return bytes(range(64))

    still: Any = Still()
    assert wait_for_windows(still, quick).settled is True
