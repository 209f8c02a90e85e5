"""Two monitors side by side on one Xvfb: capture and clicks use the chosen monitor's frame."""

from __future__ import annotations

import pytest

from actions.desktop import DesktopEnvironment, DesktopOptions
from actions.errors import EnvironmentUnavailable
from actions.types import Click, Executed
from actions.xdisplay import VirtualDisplay
from tests.fixtures.display import LaunchApp

pytestmark = pytest.mark.desktop


def test_monitors_are_seen_as_laid_out(dual_display: VirtualDisplay) -> None:
    sizes = []
    for index in (0, 1, 2):
        with DesktopEnvironment(DesktopOptions(display=dual_display.display, monitor=index)) as env:
            g = env.geometry
            sizes.append((g.width, g.height, g.offset_x, g.offset_y))
            assert env.observe().image.size == (g.width, g.height)
    assert sizes == [(2304, 800, 0, 0), (1280, 800, 0, 0), (1024, 768, 1280, 0)]
    with pytest.raises(EnvironmentUnavailable, match="monitor 3 does not exist"):
        DesktopEnvironment(DesktopOptions(display=dual_display.display, monitor=3))


def test_click_on_second_monitor_lands(dual_display: VirtualDisplay, launch_desktop_app: LaunchApp) -> None:
    probe = launch_desktop_app(dual_display, "probe", "--x", "1340", "--y", "60")
    with DesktopEnvironment(DesktopOptions(display=dual_display.display, monitor=2)) as env:
        left = env.geometry.offset_x
        assert left == 1280
        centre = next(t for t in probe.ready["targets"] if t["name"] == "center")
        assert centre["x_root"] > left  # the window really is on the second monitor
        # The action is in the second monitor's own pixels; the environment adds its offset.
        logical = (centre["x_root"] - left, centre["y_root"])
        assert env.observe().image.getpixel(logical) == tuple(centre["color"])
        assert isinstance(env.execute(Click(x=logical[0], y=logical[1])), Executed)
    press = probe.wait_for("press")[-1]
    assert (press["x_root"], press["y_root"], press["target"]) == (
        centre["x_root"],
        centre["y_root"],
        "center",
    )
