"""The X helper programs (xdotool, xclip, Xvfb, openbox, wmctrl, xrandr, xdg-open), found in one
place, with the Debian/Ubuntu package that installs each one when it is missing."""

from __future__ import annotations

import shutil

from actions.errors import EnvironmentUnavailable

PACKAGES: dict[str, str] = {
    "xdotool": "xdotool",
    "xclip": "xclip",
    "Xvfb": "xvfb",
    "xrandr": "x11-xserver-utils",
    "openbox": "openbox",
    "wmctrl": "wmctrl",
    "xdg-open": "xdg-utils",
}


def find_tool(name: str) -> str | None:
    """The program's path on $PATH, or None."""
    return shutil.which(name)


def install_hint(name: str) -> str:
    """The command that installs a missing program."""
    return f"sudo apt-get install {PACKAGES.get(name, name)}"


def require_tool(name: str) -> str:
    """The program's path; raises EnvironmentUnavailable naming the package when it is missing."""
    path = find_tool(name)
    if path is None:
        raise EnvironmentUnavailable(f"{name} is not installed: install it with `{install_hint(name)}`")
    return path
