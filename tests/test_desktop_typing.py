"""Any Unicode text reaches common X clients exactly: xterm, a Tk entry and a GTK entry on a real
Xvfb display, typed through the desktop environment's own input path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actions.desktop import DesktopEnvironment, DesktopOptions
from actions.types import Executed, TypeText
from actions.xdisplay import VirtualDisplay
from tests.conftest import require

pytestmark = pytest.mark.desktop

TEXT = "café 東京 Привет ñ € ü"
APPS = Path(__file__).with_name("apps")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-gi lives


def gtk_available() -> bool:
    return (
        Path(SYSTEM_PYTHON).is_file()
        and subprocess.run(
            [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('Gtk', '3.0')"], capture_output=True
        ).returncode
        == 0
    )


def program(name: str, out: Path) -> list[str]:
    if name == "xterm":
        require(shutil.which("xterm") is not None, "xterm missing (apt-get install xterm)")
        return ["xterm", "-title", "XTERM entry", "-e", "sh", "-c", f"cat > {out}"]
    if name == "gtk":
        require(gtk_available(), "GTK 3 for Python missing (apt-get install python3-gi gir1.2-gtk-3.0)")
        return [SYSTEM_PYTHON, str(APPS / "gtk_entry.py"), str(out)]
    return [sys.executable, str(APPS / "tk_entry.py"), str(out)]


@pytest.mark.parametrize("name", ["xterm", "tk", "gtk"])
def test_unicode_text_arrives_exactly(virtual_display: VirtualDisplay, tmp_path: Path, name: str) -> None:
    out = tmp_path / f"{name}.txt"
    env = {**os.environ, **virtual_display.env, "LANG": "C.UTF-8"}  # xterm shows UTF-8 in a UTF-8 locale
    app = subprocess.Popen(program(name, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        title = f"{name.upper()} entry"
        subprocess.run(["xdotool", "search", "--sync", "--name", title, "windowactivate", "--sync"],
                       env=env, timeout=20, check=True, capture_output=True)  # fmt: skip
        time.sleep(0.3)
        with DesktopEnvironment(DesktopOptions(display=virtual_display.display)) as desktop:
            typed = TEXT + ("\n" if name == "xterm" else "")  # xterm's `cat` writes a line on Return
            assert isinstance(desktop.execute(TypeText(text=typed)), Executed)
        deadline = time.monotonic() + 5
        while not (out.is_file() and out.read_text(encoding="utf-8").rstrip("\n") == TEXT):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert out.read_text(encoding="utf-8").rstrip("\n") == TEXT
    finally:
        app.terminate()
        app.wait(timeout=10)
