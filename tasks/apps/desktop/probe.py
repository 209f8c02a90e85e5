"""The probe: a Tk window with coloured targets at known places that logs every input it receives.

Run `python -m tasks.apps.desktop.probe --log PATH [--x X --y Y]`. Logged events (JSON lines, all
points in X root-window pixels): ready/geometry (window and target boxes), press (button, count
1-3, target), release, drag (start, end), scroll (direction up/down/left/right), key (keysym,
char, modifiers), shortcut (ctrl+s, ctrl+z), entry (the Entry's full text after each change).
tasks.calibration.desktop.ProbeSurface turns that log into the desktop calibration surface.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from tasks.apps.desktop.tk_window import run_window

CANVAS_SIZE = (720, 330)
TARGET_SIZE = 40
# name -> (centre x, centre y in canvas pixels, RGB colour). The colours are unique on screen and
# far (> 40 per channel somewhere) from openbox's blue title-bar gradient and Tk's greys, so
# calibration can find each target in the screenshot by colour.
TARGETS: dict[str, tuple[int, int, tuple[int, int, int]]] = {
    "nw": (60, 60, (220, 40, 40)),
    "ne": (660, 60, (40, 170, 60)),
    "center": (360, 165, (240, 220, 30)),
    "sw": (60, 270, (20, 200, 200)),
    "se": (660, 270, (150, 40, 200)),
}
_WHEEL = {4: "up", 5: "down", 6: "left", 7: "right"}
# X modifier state bits as Tk reports them in event.state.
_MODIFIERS = {0x1: "shift", 0x4: "ctrl", 0x8: "alt", 0x40: "super"}


class _Recorder:
    """Appends events to the log file, one flushed JSON line each."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: str, **fields: Any) -> None:
        record = {"event": event, "t": round(time.time(), 4), **fields}
        self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.stream.flush()


def run_probe(log_path: Path, x: int, y: int, title: str) -> None:
    """Show the probe window at root position (x, y) and record events until it is closed."""
    import tkinter as tk

    stream = log_path.open("a", encoding="utf-8")
    record = _Recorder(stream)
    root = tk.Tk()
    root.title(title)
    root.geometry(f"+{x}+{y}")
    canvas = tk.Canvas(root, width=CANVAS_SIZE[0], height=CANVAS_SIZE[1], bg="#f4f4f4",
                       highlightthickness=0)  # fmt: skip
    canvas.pack(side="top")
    for name, (cx, cy, rgb) in TARGETS.items():
        half = TARGET_SIZE // 2
        colour = "#{:02x}{:02x}{:02x}".format(*rgb)
        canvas.create_rectangle(cx - half, cy - half, cx + half, cy + half, fill=colour,
                                outline=colour, tags=(name,))  # fmt: skip
    text = tk.StringVar(root)
    entry = tk.Entry(root, textvariable=text, width=60, font=("Noto Sans CJK JP", 14))
    entry.pack(side="top", fill="x", padx=10, pady=10)
    status = tk.Label(root, text="waiting for input", anchor="w")
    status.pack(side="top", fill="x", padx=10, pady=(0, 10))

    def boxes() -> dict[str, Any]:
        ox, oy = canvas.winfo_rootx(), canvas.winfo_rooty()
        return {
            "window": {"x_root": root.winfo_rootx(), "y_root": root.winfo_rooty(),
                       "width": root.winfo_width(), "height": root.winfo_height()},
            "targets": [{"name": n, "x_root": ox + cx, "y_root": oy + cy, "width": TARGET_SIZE,
                         "height": TARGET_SIZE, "color": list(rgb)}
                        for n, (cx, cy, rgb) in TARGETS.items()],
            "entry": {"x_root": entry.winfo_rootx() + entry.winfo_width() // 2,
                      "y_root": entry.winfo_rooty() + entry.winfo_height() // 2},
        }  # fmt: skip

    def target_at(widget: Any, x_root: int, y_root: int) -> str | None:
        if widget is not canvas:
            return None
        cx, cy = x_root - canvas.winfo_rootx(), y_root - canvas.winfo_rooty()
        for name, (tx, ty, _) in TARGETS.items():
            if abs(cx - tx) <= TARGET_SIZE // 2 and abs(cy - ty) <= TARGET_SIZE // 2:
                return name
        return None

    def widget_name(widget: Any) -> str:
        return {id(canvas): "canvas", id(entry): "entry"}.get(id(widget), str(widget))

    drag_start: dict[str, tuple[int, int]] = {}

    def on_press(event: Any, count: int) -> None:
        if event.num in _WHEEL:
            # Tk 8.6 on X11 delivers buttons 6/7 (horizontal wheel) as 4/5 with Shift held.
            shifted = event.num in (4, 5) and event.state & 0x1
            direction = {4: "left", 5: "right"}[event.num] if shifted else _WHEEL[event.num]
            record("scroll", direction=direction, button=event.num, x_root=event.x_root,
                   y_root=event.y_root)  # fmt: skip
            return
        target = target_at(event.widget, event.x_root, event.y_root)
        record("press", button=event.num, count=count, x_root=event.x_root, y_root=event.y_root,
               widget=widget_name(event.widget), target=target)  # fmt: skip
        status.config(text=f"button {event.num} x{count} at {event.x_root},{event.y_root}")
        if event.num == 1:
            drag_start["b1"] = (event.x_root, event.y_root)

    def on_release(event: Any) -> None:
        if event.num in _WHEEL:
            return
        record("release", button=event.num, x_root=event.x_root, y_root=event.y_root)
        start = drag_start.pop("b1", None) if event.num == 1 else None
        if start and max(abs(event.x_root - start[0]), abs(event.y_root - start[1])) > 3:
            record("drag", start=list(start), end=[event.x_root, event.y_root],
                   widget=widget_name(event.widget))  # fmt: skip

    def on_wheel(event: Any, horizontal: bool) -> None:
        # Tk 8.7+ reports wheels as <MouseWheel> (Shift- for horizontal) instead of buttons 4-7.
        up = event.delta > 0
        direction = ("left" if up else "right") if horizontal else ("up" if up else "down")
        record("scroll", direction=direction, x_root=event.x_root, y_root=event.y_root)

    def on_key(event: Any) -> None:
        modifiers = [name for bit, name in _MODIFIERS.items() if event.state & bit]
        record("key", keysym=event.keysym, char=event.char, modifiers=modifiers,
               widget=widget_name(event.widget))  # fmt: skip
        # Shortcuts are recognised here: a separate <Control-s> binding would hide the key event.
        if modifiers == ["ctrl"] and event.keysym in ("s", "z"):
            record("shortcut", name=f"ctrl+{event.keysym}")

    root.bind_all("<ButtonPress>", lambda e: on_press(e, 1))
    root.bind_all("<Double-ButtonPress>", lambda e: on_press(e, 2))
    root.bind_all("<Triple-ButtonPress>", lambda e: on_press(e, 3))
    root.bind_all("<ButtonRelease>", on_release)
    root.bind_all("<MouseWheel>", lambda e: on_wheel(e, False))
    root.bind_all("<Shift-MouseWheel>", lambda e: on_wheel(e, True))
    root.bind_all("<KeyPress>", on_key, add="+")
    text.trace_add("write", lambda *_: record("entry", text=text.get()))

    run_window(root, boxes, record, stream)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--log", type=Path, required=True, help="JSON-lines event log to append to")
    parser.add_argument("--x", type=int, default=40, help="window x in root pixels")
    parser.add_argument("--y", type=int, default=40, help="window y in root pixels")
    parser.add_argument("--title", default="qwen-agent probe")
    args = parser.parse_args(argv)
    run_probe(args.log, args.x, args.y, args.title)


if __name__ == "__main__":
    main()
