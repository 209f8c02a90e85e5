"""Drawing the step's action over its screenshot in the report: an SVG layer on top of the image,
so the screenshot on disk stays exactly what the model saw and nothing is encoded twice.

The SVG's coordinates are the action's LOGICAL pixels (viewBox = the logical screen), so the marker
lands on the right spot whatever the screenshot's scale (HiDPI) and however the report is zoomed.
"""

from __future__ import annotations

from html import escape

from actions.types import Action, Click, Drag, MoveTo, Outcome, ScreenGeometry, Scroll, describe_action

COLOURS = {"executed": "#dc1e1e", "blocked": "#e68c00", "failed": "#787878"}
RADIUS = 14  # logical pixels


def action_overlay(action: Action | None, geometry: ScreenGeometry, outcome: Outcome | None = None) -> str:
    """An <svg> marking the action's point(s) with a crosshair and labelling it; "" without a point."""
    if action is None:
        return ""
    colour = COLOURS.get(outcome.kind if outcome is not None else "executed", COLOURS["executed"])
    points: list[tuple[int, int]] = []
    if isinstance(action, Click | MoveTo):
        points = [(action.x, action.y)]
    elif isinstance(action, Drag):
        if action.start_x is not None and action.start_y is not None:
            points.append((action.start_x, action.start_y))
        points.append((action.x, action.y))
    elif isinstance(action, Scroll) and action.x is not None and action.y is not None:
        points = [(action.x, action.y)]
    shapes: list[str] = []
    r = RADIUS
    for x, y in points:
        shapes.append(f'<circle cx="{x}" cy="{y}" r="{r}" fill="none" stroke-width="3"/>')
        shapes.append(
            f'<path d="M{x - 2 * r} {y}H{x + 2 * r}M{x} {y - 2 * r}V{y + 2 * r}" stroke-width="2"/>'
        )
    if len(points) == 2:
        (x0, y0), (x1, y1) = points
        shapes.append(f'<path d="M{x0} {y0}L{x1} {y1}" stroke-width="3"/>')
    label = describe_action(action)
    if outcome is not None and outcome.kind != "executed":
        label += f"  [{outcome.kind}]"
    ax, ay = points[-1] if points else (8, 8 + r)
    tx = min(ax + r + 4, max(0, geometry.width - 8 * len(label) - 8))
    ty = max(16, min(ay - r - 6, geometry.height - 8))
    shapes.append(
        f'<text x="{tx}" y="{ty}" font-size="15" font-family="sans-serif" fill="{colour}" stroke="#fff" '
        f'stroke-width="4" paint-order="stroke">{escape(label)}</text>'
    )
    return (
        f'<svg class="overlay" viewBox="0 0 {geometry.width} {geometry.height}" stroke="{colour}" '
        f'preserveAspectRatio="none" aria-label="{escape(label)}">{"".join(shapes)}</svg>'
    )
