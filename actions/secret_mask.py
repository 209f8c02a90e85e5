"""Secret fields blanked in browser screenshots: every password field (`input[type=password]`, in
every frame, through open shadow roots) and every field a secret was typed into is filled with one
flat colour in each screenshot the browser environment returns, before anyone sees it, so neither
the model nor the run folder's PNGs show a value or its length.

Typed-into fields are remembered as Playwright element handles, taken when a TypeText holding a
`{{secret:NAME}}` starts and ends (the field focused then, followed into frames). A handle lives in
our DevTools connection, not in the page: a page can neither read nor clear that memory, and the
field's box comes from the browser's layout (DOM.getBoxModel), not from page script. A handle is
dropped when its document is gone. Password fields are found anew for each screenshot by one script
per frame tree (cheap: one round trip for a page whose frames share its origin). Text a page shows
elsewhere (an echo of the value) is not a field and is not masked: a page holds the value and can
always show it.

Frames: boxes are CSS px of the top viewport (iframes and scrolling accounted for); the screenshot
is CSS px times `scale` (1, or the device scale factor when the screenshot is taken in device
pixels) and starts at the viewport's top-left.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from actions.types import Frozen

if TYPE_CHECKING:
    from PIL.Image import Image
    from playwright.sync_api import ElementHandle, Frame, Page

MASK_COLOUR = (128, 128, 128)  # a flat mid grey: no value, no length, no caret
MARGIN_CSS_PX = 2.0  # around the box: focus rings and anti-aliased borders can carry a glyph's edge
MAX_TYPED_FIELDS = 32  # the fields remembered (oldest dropped first)
MAX_FRAME_DEPTH = 8  # iframes inside iframes followed to find the focused field

# The focused element, through open shadow roots; an iframe when the focus is inside one; null when
# nothing editable has the focus (then nothing is remembered: never blank a button by mistake).
FOCUSED_FIELD_JS = """() => {
  let e = document.activeElement;
  while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;
  if (!e) return null;
  const tag = e.tagName;
  const editable = e.isContentEditable || tag === "INPUT" || tag === "TEXTAREA";
  return editable || tag === "IFRAME" || tag === "FRAME" ? e : null;
}"""


# Password fields' boxes in this frame's viewport (CSS px): through open shadow roots and into every
# iframe whose document this frame's script can reach (same origin), clipped to the iframe.
PASSWORD_BOXES_JS = """() => {
  const out = [];
  const visit = (root, dx, dy, clip) => {
    for (const e of root.querySelectorAll("input[type=password]")) {
      const r = e.getBoundingClientRect();
      const x0 = Math.max(r.left + dx, clip[0]), y0 = Math.max(r.top + dy, clip[1]);
      const x1 = Math.min(r.right + dx, clip[2]), y1 = Math.min(r.bottom + dy, clip[3]);
      if (x1 > x0 && y1 > y0) out.push([x0, y0, x1 - x0, y1 - y0]);
    }
    for (const e of root.querySelectorAll("*")) {
      if (e.shadowRoot) visit(e.shadowRoot, dx, dy, clip);
      if (e.tagName !== "IFRAME" && e.tagName !== "FRAME") continue;
      let doc = null;
      try { doc = e.contentDocument; } catch (_) {}
      if (!doc) continue;
      const r = e.getBoundingClientRect(), s = getComputedStyle(e);
      const x = r.left + dx + e.clientLeft + parseFloat(s.paddingLeft);
      const y = r.top + dy + e.clientTop + parseFloat(s.paddingTop);
      const inner = [Math.max(x, clip[0]), Math.max(y, clip[1]),
                     Math.min(x + e.clientWidth, clip[2]), Math.min(y + e.clientHeight, clip[3])];
      visit(doc, x, y, inner);
    }
  };
  visit(document, 0, 0, [-Infinity, -Infinity, Infinity, Infinity]);
  return out;
}"""
# The offset of a frame's viewport inside its iframe element's box (border and padding).
FRAME_INSET_JS = """e => { const s = getComputedStyle(e);
  return [e.clientLeft + parseFloat(s.paddingLeft), e.clientTop + parseFloat(s.paddingTop),
          e.clientWidth, e.clientHeight]; }"""


def _origin(frame: Frame) -> str | None:
    """The frame's origin as scheme://host:port; about:blank and srcdoc frames have their parent's.
    Opaque origins (data:) are unique: None only for the top's about:blank."""
    url = frame.url
    scheme = urlsplit(url).scheme
    if scheme in ("about", ""):
        return _origin(frame.parent_frame) if frame.parent_frame is not None else None
    if scheme == "data":
        return f"opaque:{id(frame)}"
    parts = urlsplit(url)
    return f"{scheme}://{parts.hostname}:{parts.port}"


def _script_roots(page: Page) -> list[Frame]:
    """The frames PASSWORD_BOXES_JS must be run in: the top one, and each frame its parent's script
    cannot reach (another origin); the others are visited from these."""
    return [f for f in page.frames if f.parent_frame is None or _origin(f) != _origin(f.parent_frame)]


class Box(Frozen):
    """A rectangle in CSS px of the viewport."""

    x: float
    y: float
    width: float
    height: float


class SecretMask:
    """The memory of fields that hold a secret, and the painting of them over a screenshot."""

    def __init__(self, colour: tuple[int, int, int] = MASK_COLOUR) -> None:
        self.colour = colour
        self._typed: list[ElementHandle] = []
        # Frames of another origin: their iframe element and its inset (border and padding, CSS px),
        # kept while the frame lives (finding the element costs more than the rest together).
        self._owners: dict[Frame, tuple[ElementHandle, list[float]]] = {}

    def remember_focused(self, page: Page) -> None:
        """Remember the field that has the keyboard focus (call as a secret is typed)."""
        from playwright.sync_api import Error as PlaywrightError

        frame = page.main_frame
        for _ in range(MAX_FRAME_DEPTH):
            try:
                handle = frame.evaluate_handle(FOCUSED_FIELD_JS).as_element()
                child = handle.content_frame() if handle is not None else None
            except PlaywrightError:
                return  # the page navigated meanwhile: that field is gone
            if handle is None:
                return
            if child is None:
                if not self._remembered(handle):
                    self._typed = [*self._typed, handle][-MAX_TYPED_FIELDS:]
                return
            handle.dispose()
            frame = child

    def _remembered(self, handle: ElementHandle) -> bool:
        """Whether `handle` is the field remembered last (typing starts and ends in one field)."""
        from playwright.sync_api import Error as PlaywrightError

        if not self._typed:
            return False
        try:
            same = bool(handle.evaluate("(e, last) => e === last", self._typed[-1]))
        except PlaywrightError:
            return False  # the last one is of another frame: not the same field
        if same:
            handle.dispose()
        return same

    def boxes(self, page: Page) -> list[Box]:
        """Where the secret fields are now (CSS px of the viewport); forgets fields whose
        document is gone."""
        from playwright.sync_api import Error as PlaywrightError

        found: list[Box] = []
        roots = _script_roots(page)
        for gone in set(self._owners) - set(roots):
            del self._owners[gone]
        for frame in roots:
            found.extend(self._password_boxes(frame))
        live: list[ElementHandle] = []
        for handle in self._typed:
            try:
                box = handle.bounding_box()
                if box is None:
                    # Hidden, detached (the page may put it back: keep it) or of a document that
                    # is gone (then this raises, and the field is forgotten).
                    handle.evaluate("e => e.isConnected")
            except PlaywrightError:
                continue
            live.append(handle)
            if box is not None:
                found.append(Box(x=box["x"], y=box["y"], width=box["width"], height=box["height"]))
        self._typed = live
        return found

    def _password_boxes(self, frame: Frame) -> list[Box]:
        """The password fields of `frame` and the frames its script reaches, in the top viewport."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            rects = frame.evaluate(PASSWORD_BOXES_JS)
            if not rects:
                return []
            dx, dy, clip = 0.0, 0.0, None
            if frame.parent_frame is not None:  # another origin: place its viewport in the top one
                if frame not in self._owners:
                    owner = frame.frame_element()
                    self._owners[frame] = owner, owner.evaluate(FRAME_INSET_JS)
                owner, inset = self._owners[frame]
                box = owner.bounding_box()
                if box is None:
                    return []  # its iframe is not rendered
                dx, dy = box["x"] + inset[0], box["y"] + inset[1]
                clip = (dx, dy, dx + inset[2], dy + inset[3])
        except PlaywrightError:
            return []  # a frame detached or navigating: its fields are not on screen
        boxes = []
        for x, y, w, h in rects:
            x0, y0, x1, y1 = x + dx, y + dy, x + dx + w, y + dy + h
            if clip is not None:
                x0, y0, x1, y1 = max(x0, clip[0]), max(y0, clip[1]), min(x1, clip[2]), min(y1, clip[3])
            if x1 > x0 and y1 > y0:
                boxes.append(Box(x=x0, y=y0, width=x1 - x0, height=y1 - y0))
        return boxes

    def paint(self, image: Image, boxes: list[Box], scale: float = 1.0) -> Image:
        """`image` (CSS px times `scale`, from the viewport's top-left) with every box filled flat,
        grown by MARGIN_CSS_PX and clipped to the image."""
        from PIL import ImageDraw

        draw: ImageDraw.ImageDraw | None = None
        for b in boxes:
            x0 = max(0, math.floor((b.x - MARGIN_CSS_PX) * scale))
            y0 = max(0, math.floor((b.y - MARGIN_CSS_PX) * scale))
            x1 = min(image.width, math.ceil((b.x + b.width + MARGIN_CSS_PX) * scale))
            y1 = min(image.height, math.ceil((b.y + b.height + MARGIN_CSS_PX) * scale))
            if x1 <= x0 or y1 <= y0:
                continue  # outside the screenshot (scrolled away, or off the observed area)
            draw = draw or ImageDraw.Draw(image)
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=self.colour)
        return image

    def mask(self, page: Page, image: Image, scale: float = 1.0) -> Image:
        """`image`, just taken of `page`, with its secret fields blanked (in place)."""
        return self.paint(image, self.boxes(page), scale)
