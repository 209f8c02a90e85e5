"""Clear errors without a display: the message names the fix, and nothing heavy is needed."""

from __future__ import annotations

import pytest

from actions.desktop import DesktopEnvironment, DesktopOptions
from actions.errors import EnvironmentUnavailable
from actions.killswitch import KillSwitch

pytestmark = pytest.mark.unit


def test_missing_display_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(EnvironmentUnavailable, match=r"DISPLAY is not set.*Xvfb.*xvfb-run"):
        DesktopEnvironment()


def test_unreachable_display_names_it() -> None:
    with pytest.raises(EnvironmentUnavailable, match=r"cannot connect to X display ':59999'"):
        DesktopEnvironment(DesktopOptions(display=":59999"))


def test_hotkey_without_display_says_how_to_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(EnvironmentUnavailable, match="--no-hotkey"), KillSwitch():
        pass
