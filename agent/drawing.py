"""Drawing the step's action on its screenshot (for reports and dry runs).

Actions are in logical pixels; the screenshot may hold `geometry.scale` times as many pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actions.types import Action, Click, Drag, MoveTo, Outcome, ScreenGeometry, Scroll, describe_action

if TYPE_CHECKING:
    from PIL import Image

COLOURS = {"executed": (220, 30, 30), "blocked": (230, 140, 0), "failed": (120, 120, 120)}


def draw_action(
    image: Image.Image, action: Action | None, geometry: ScreenGeometry, outcome: Outcome | None = None
) -> Image.Image:
    """A copy of `image` with a crosshair on the action's point and its description in a label."""
    from PIL import ImageDraw, ImageFont

    out = image.convert("RGB").copy()
    if action is None:
        return out
    draw = ImageDraw.Draw(out)
    colour = COLOURS.get(outcome.kind if outcome is not None else "executed", (220, 30, 30))
    s = geometry.scale
    r = max(10, round(14 * s))

    def mark(x: int, y: int) -> tuple[int, int]:
        px, py = round(x * s), round(y * s)
        draw.ellipse((px - r, py - r, px + r, py + r), outline=colour, width=max(2, round(3 * s)))
        draw.line((px - 2 * r, py, px + 2 * r, py), fill=colour, width=max(1, round(2 * s)))
        draw.line((px, py - 2 * r, px, py + 2 * r), fill=colour, width=max(1, round(2 * s)))
        return px, py

    anchor = (8, 8)
    if isinstance(action, Click | MoveTo):
        anchor = mark(action.x, action.y)
    elif isinstance(action, Drag):
        end = mark(action.x, action.y)
        if action.start_x is not None and action.start_y is not None:
            start = mark(action.start_x, action.start_y)
            draw.line((*start, *end), fill=colour, width=max(2, round(3 * s)))
        anchor = end
    elif isinstance(action, Scroll) and action.x is not None and action.y is not None:
        anchor = mark(action.x, action.y)
    label = describe_action(action)
    if outcome is not None and outcome.kind != "executed":
        label += f"  [{outcome.kind}]"
    font = ImageFont.load_default(size=max(12, round(15 * s)))
    width = draw.textlength(label, font=font)
    x = min(anchor[0] + r + 4, max(0, round(out.width - width - 8)))
    y = max(0, min(anchor[1] - r - 22, out.height - 24))
    box = draw.textbbox((x, y), label, font=font)
    draw.rectangle((box[0] - 3, box[1] - 2, box[2] + 3, box[3] + 2), fill=(255, 255, 255), outline=colour)
    draw.text((x, y), label, fill=colour, font=font)
    return out
