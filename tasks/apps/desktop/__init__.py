"""Small Tk apps that record what happens to them: the desktop tests' and evaluators' source of truth.

Convention for every app here (run as `python -m tasks.apps.desktop.<name> --log PATH`): it appends
one JSON object per line to PATH, flushed at once, each with an "event" key; the first line written
once the window is mapped and placed is {"event": "ready", ...}. `launch_app` starts an app on a
display and waits for that line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from actions.errors import EnvironmentUnavailable
from actions.processes import stop_process


def read_events(log_path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line in an app's log, oldest first (a half-written last line is skipped)."""
    try:
        text = log_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


class RunningApp:
    """A launched desktop app: its process, its log and the payload of its "ready" event."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path, ready: dict[str, Any]):
        self.process = process
        self.log_path = log_path
        self.ready = ready

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The app's recorded events, optionally only those whose "event" equals `kind`."""
        events = read_events(self.log_path)
        return [e for e in events if kind is None or e.get("event") == kind]

    def wait_for(self, kind: str, count: int = 1, timeout_s: float = 5.0) -> list[dict[str, Any]]:
        """Poll the log until it holds `count` events of `kind` (the app may lag the X server)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.events(kind)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.01)

    def close(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def launch_app(
    name: str,
    log_path: Path,
    env: dict[str, str],
    args: tuple[str, ...] = (),
    timeout_s: float = 15.0,
) -> RunningApp:
    """Start `python -m tasks.apps.desktop.<name> --log log_path *args` with `env` (e.g. a
    VirtualDisplay's `.env`) over os.environ, and wait for its "ready" event."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", f"tasks.apps.desktop.{name}", "--log", str(log_path), *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout_s
    while True:
        ready = [e for e in read_events(log_path) if e.get("event") == "ready"]
        if ready:
            return RunningApp(process, log_path, ready[-1])
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate(timeout=5)
            raise EnvironmentUnavailable(
                f"desktop app {name!r} did not become ready on DISPLAY={env.get('DISPLAY')}: "
                f"{err.decode(errors='replace').strip()[-500:] or 'no output'}"
            )
        time.sleep(0.02)
