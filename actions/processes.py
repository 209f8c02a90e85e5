"""Small process helpers shared by the X display, desktop apps and the CLI."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def stop_process(proc: subprocess.Popen[Any] | None, timeout_s: float = 5.0) -> None:
    """Terminate a child politely, kill it if it lingers; a finished or missing one is left alone."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout_s)


@contextmanager
def display_env(display: str) -> Iterator[None]:
    """Point $DISPLAY at `display` while libraries that read it on import (pyautogui, pynput) start."""
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous


def descendants(pid: int | None = None) -> list[int]:
    """Every live descendant of `pid` (default: this process), children first, read from /proc."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                # The name (field 2) may hold spaces and parentheses: the ppid follows the last ')'.
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    frontier = [root]
    while frontier:
        kids = children.get(frontier.pop(), [])
        found.extend(kids)
        frontier.extend(kids)
    return found


def kill_descendants(sig: int = signal.SIGKILL) -> None:
    """Signal every descendant process (browser, driver, Xvfb, launched apps) before a hard exit."""
    for pid in descendants():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start_time(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot (/proc/<pid>/stat field 22): with the pid, an
    identity that survives pid reuse. None when the process is gone."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def process_alive(pid: int, start_time: int | None = None) -> bool:
    """Whether `pid` runs (a zombie does not); with `start_time`, whether it is still that process."""
    fields = _stat_fields(pid)
    if not fields or fields[0] in ("Z", "X"):
        return False
    return start_time is None or process_start_time(pid) == start_time


def stop_descendants(grace_s: float = 1.0) -> None:
    """SIGTERM every descendant (an X server removes its lock file, a browser its profile), then
    SIGKILL those still running after `grace_s`. The list is taken once, first: a child that dies
    early must not hide its own children, which are re-parented away from us."""
    pids = [(pid, process_start_time(pid)) for pid in descendants()]
    for pid, _ in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(process_alive(p, t) for p, t in pids):
        time.sleep(0.05)
    for pid, started in pids:
        if process_alive(pid, started):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Linux: have the kernel send `sig` to this process when its parent dies (prctl PR_SET_PDEATHSIG).
    Returns False where that is not available; check os.getppid() afterwards, since the parent may
    have died before the call. Not inherited by our own children."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False
