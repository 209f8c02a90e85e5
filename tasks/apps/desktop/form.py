"""The form: a Tk window with Name and Email fields, an "I agree to the terms" box that enables
Save, and a Save button. It logs its state as JSON lines (the desktop agent tests' source of truth).

Run `python -m tasks.apps.desktop.form --log PATH [--x X --y Y]`. Events: ready (widget centres
in X root pixels), field (name, value after each change), agree (checked), saved (the full state),
and placed/geometry when the window manager moves the window.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tasks.apps.desktop.tk_window import run_window

FONT = ("DejaVu Sans", 14)


def run_form(log_path: Path, x: int, y: int, title: str) -> None:
    """Show the form at root position (x, y) and record events until the window is closed."""
    import tkinter as tk

    stream = log_path.open("a", encoding="utf-8")

    def record(event: str, **fields: Any) -> None:
        stream.write(json.dumps({"event": event, "t": round(time.time(), 4), **fields}) + "\n")
        stream.flush()

    root = tk.Tk()
    root.title(title)
    root.geometry(f"+{x}+{y}")
    frame = tk.Frame(root, padx=20, pady=20)
    frame.pack()
    values = {"name": tk.StringVar(root), "email": tk.StringVar(root)}
    entries: dict[str, Any] = {}
    for row, (key, label) in enumerate((("name", "Name"), ("email", "Email"))):
        tk.Label(frame, text=label + ":", font=FONT).grid(row=row, column=0, sticky="w", pady=6)
        entry = tk.Entry(frame, textvariable=values[key], width=28, font=FONT)
        entry.grid(row=row, column=1, pady=6)
        entries[key] = entry
        values[key].trace_add("write", lambda *_, k=key: record("field", name=k, value=values[k].get()))
    agree = tk.BooleanVar(root, value=False)
    check = tk.Checkbutton(frame, text="I agree to the terms", variable=agree, font=FONT)
    check.grid(row=2, column=0, columnspan=2, sticky="w", pady=6)
    hint = tk.Label(frame, text="Tick 'I agree to the terms' to enable Save", font=FONT, fg="#555")
    hint.grid(row=3, column=0, columnspan=2, sticky="w")
    status = tk.Label(frame, text="not saved", font=FONT)
    state = {"saved": 0}

    def save() -> None:
        state["saved"] += 1
        status.config(text=f"saved {values['name'].get()} <{values['email'].get()}>")
        record("saved", name=values["name"].get(), email=values["email"].get(), agree=agree.get())

    button = tk.Button(frame, text="Save", font=FONT, state="disabled", command=save, width=10)
    button.grid(row=4, column=0, columnspan=2, pady=12)
    status.grid(row=5, column=0, columnspan=2)

    def on_agree(*_: Any) -> None:
        button.config(state="normal" if agree.get() else "disabled")
        record("agree", checked=agree.get())

    agree.trace_add("write", on_agree)

    def centre(widget: Any) -> dict[str, int]:
        return {
            "x_root": widget.winfo_rootx() + widget.winfo_width() // 2,
            "y_root": widget.winfo_rooty() + widget.winfo_height() // 2,
        }

    def boxes() -> dict[str, Any]:
        # The check box's centre is its indicator, at the left edge of the widget.
        box = centre(check)
        box["x_root"] = check.winfo_rootx() + 14
        return {
            "widgets": {"name": centre(entries["name"]), "email": centre(entries["email"]),
                        "agree": box, "save": centre(button)},
            "window": {"x_root": root.winfo_rootx(), "y_root": root.winfo_rooty(),
                       "width": root.winfo_width(), "height": root.winfo_height()},
        }  # fmt: skip

    run_window(root, boxes, record, stream)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A Tk form that logs its state as JSON lines.")
    parser.add_argument("--log", type=Path, required=True, help="JSON-lines event log to append to")
    parser.add_argument("--x", type=int, default=60, help="window x in root pixels")
    parser.add_argument("--y", type=int, default=60, help="window y in root pixels")
    parser.add_argument("--title", default="qwen-agent form")
    args = parser.parse_args(argv)
    run_form(args.log, args.x, args.y, args.title)


if __name__ == "__main__":
    main()
