"""The run loop every desktop test app shares: announce the window once the window manager has
placed it, report later moves, and close the event log when the window goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

Boxes = Callable[[], dict[str, Any]]
Record = Callable[..., None]


def run_window(root: Any, boxes: Boxes, record: Record, stream: IO[str]) -> None:
    """Run Tk's main loop. `boxes()` gives widget centres in root-window pixels; a "ready" event
    carries them once placement is stable for two polls 50 ms apart (the WM reparents and moves the
    window after mapping), and a "geometry" event follows every later change."""
    last: dict[str, Any] = {}

    def report_geometry(_: Any = None) -> None:
        now = boxes()
        if now != last.get("boxes"):
            last["boxes"] = now
            record("geometry", **now)

    def announce_ready() -> None:
        now = boxes()
        if root.winfo_viewable() and now == last.get("candidate"):
            last["boxes"] = now
            root.focus_force()
            record("ready", **now)
            root.bind("<Configure>", report_geometry)
            return
        last["candidate"] = now
        root.after(50, announce_ready)

    root.after(50, announce_ready)
    root.protocol("WM_DELETE_WINDOW", root.destroy)
    try:
        root.mainloop()
    finally:
        stream.close()
