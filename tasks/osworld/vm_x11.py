"""What tasks.osworld.vm_server reads from its X display: screenshots, pointer, screen size, windows.

Frames: everything is in X root-window pixels of the whole screen (all monitors), which is what
pyautogui on that display uses: the server's "screen pixels".

The accessibility tree here is window-level only (no AT-SPI: Tk and bare Xvfb sessions have none):
one `application` node per WM_CLASS with a `frame` node per managed window, named by its title,
with OSWorld's Ubuntu namespaces (cp:screencoord, cp:size, st:showing, st:visible, st:active).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

NS = {
    "st": "https://accessibility.ubuntu.example.org/ns/state",
    "attr": "https://accessibility.ubuntu.example.org/ns/attributes",
    "cp": "https://accessibility.ubuntu.example.org/ns/component",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


def screenshot_png(display: str) -> bytes:
    """The whole X screen as PNG bytes (root pixels). A fresh mss handle per call: mss handles are
    not safe to share between the server's request threads."""
    import mss
    from PIL import Image

    factory = getattr(mss, "MSS", None) or mss.mss  # mss 10: MSS; older: mss()
    with factory(display=display) as sct:
        shot = sct.grab(sct.monitors[0])
        image = Image.frombytes("RGB", shot.size, shot.raw, "raw", "BGRX")
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)  # speed over size: the wire is local or a LAN
    return out.getvalue()


def _open(display: str) -> Any:
    from Xlib.display import Display

    return Display(display)


def screen_size(display: str) -> tuple[int, int]:
    """(width, height) of the X screen in pixels."""
    d = _open(display)
    try:
        screen = d.screen()
        return int(screen.width_in_pixels), int(screen.height_in_pixels)
    finally:
        d.close()


def cursor_position(display: str) -> tuple[int, int]:
    """The pointer in root pixels."""
    d = _open(display)
    try:
        pointer = d.screen().root.query_pointer()
        return int(pointer.root_x), int(pointer.root_y)
    finally:
        d.close()


def _title(d: Any, window: Any) -> str:
    utf8 = d.intern_atom("UTF8_STRING")
    prop = window.get_full_property(d.intern_atom("_NET_WM_NAME"), utf8)
    if prop is not None and prop.value:
        value = prop.value
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    name = window.get_wm_name()
    return name.decode("latin-1") if isinstance(name, bytes) else str(name or "")


def window_tree(display: str) -> str:
    """The window-level accessibility tree as OSWorld-format XML (module docstring)."""
    from Xlib import X

    d = _open(display)
    try:
        root = d.screen().root
        clients = root.get_full_property(d.intern_atom("_NET_CLIENT_LIST"), X.AnyPropertyType)
        active = root.get_full_property(d.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        active_id = int(active.value[0]) if active is not None and len(active.value) else 0
        desktop = ET.Element("desktop-frame", {"name": "main"})
        apps: dict[str, ET.Element] = {}
        for window_id in clients.value if clients is not None else []:
            window = d.create_resource_object("window", int(window_id))
            try:
                attributes = window.get_attributes()
                if attributes.map_state != X.IsViewable:
                    continue
                geometry = window.get_geometry()
                origin = window.translate_coords(root, 0, 0)
                wm_class = window.get_wm_class()
                title = _title(d, window)
            except Exception:  # a window closing while we look (BadWindow): skip it
                continue
            app_name = wm_class[0] if wm_class else "unknown"
            app = apps.get(app_name)
            if app is None:
                app = apps[app_name] = ET.SubElement(desktop, "application", {"name": app_name})
            states = {"enabled": "true", "showing": "true", "visible": "true"}
            if int(window_id) == active_id:
                states["active"] = "true"
            attrib = {"name": title, **{f"{{{NS['st']}}}{k}": v for k, v in states.items()}}
            # translate_coords gives root -> window offset, negated: the window's root position.
            attrib[f"{{{NS['cp']}}}screencoord"] = f"({-origin.x}, {-origin.y})"
            attrib[f"{{{NS['cp']}}}size"] = f"({geometry.width}, {geometry.height})"
            ET.SubElement(app, "frame", attrib)
        return ET.tostring(desktop, encoding="unicode")
    finally:
        d.close()
