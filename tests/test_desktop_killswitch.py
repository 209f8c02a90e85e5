"""Kill switch: the global hotkey on a real X display and Ctrl+C both stop before the next action."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from actions.desktop import DesktopEnvironment, DesktopOptions
from actions.errors import StopRequested
from actions.killswitch import KillSwitch
from actions.types import Click, Executed
from actions.xdisplay import VirtualDisplay
from tests.fixtures.display import LaunchApp


@pytest.mark.desktop
def test_hotkey_stops_the_agent_before_its_next_action(
    virtual_display: VirtualDisplay, launch_desktop_app: LaunchApp
) -> None:
    probe = launch_desktop_app(virtual_display, "probe")
    centre = next(t for t in probe.ready["targets"] if t["name"] == "center")
    with (
        KillSwitch(display=virtual_display.display, handle_sigint=False) as switch,
        DesktopEnvironment(DesktopOptions(display=virtual_display.display), switch) as env,
    ):
        assert isinstance(env.execute(Click(x=centre["x_root"], y=centre["y_root"])), Executed)
        # The user presses the hotkey on the X server (xdotool acts as the user's keyboard).
        subprocess.run(["xdotool", "key", "ctrl+alt+shift+q"], env=virtual_display.full_env(),
                       check=True)  # fmt: skip
        assert switch.wait(5), "the hotkey was not seen"
        with pytest.raises(StopRequested, match="hotkey"):
            env.execute(Click(x=centre["x_root"], y=centre["y_root"]))
    assert len(probe.wait_for("press", 2, timeout_s=1)) == 1  # the second click never happened


@pytest.mark.unit
def test_ctrl_c_triggers_once_then_interrupts() -> None:
    with KillSwitch(use_hotkey=False) as switch:
        switch.check()
        os.kill(os.getpid(), signal.SIGINT)
        assert switch.wait(2)
        with pytest.raises(StopRequested, match="Ctrl"):
            switch.check()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            switch.wait(2)  # the handler raises here, inside the main thread
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
