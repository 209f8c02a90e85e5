"""A GTK 3 text entry (run with Debian's /usr/bin/python3 and python3-gi): writes its text to argv[1]
on every change. The window is titled "GTK entry"."""

import sys
from pathlib import Path

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import Gtk  # noqa: E402

out = sys.argv[1]
window = Gtk.Window(title="GTK entry")
entry = Gtk.Entry()
window.add(entry)
entry.connect("changed", lambda e: Path(out).write_text(e.get_text(), encoding="utf-8"))
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
