"""A Tk text entry: writes its text to argv[1] on every change. The window is titled "TK entry"."""

import sys
import tkinter as tk
from pathlib import Path

out = sys.argv[1]
root = tk.Tk()
root.title("TK entry")
text = tk.StringVar()
text.trace_add("write", lambda *_: Path(out).write_text(text.get(), encoding="utf-8"))
entry = tk.Entry(root, textvariable=text, width=40)
entry.pack()
entry.focus_set()
root.mainloop()
