"""report.html of a grounding run: accuracy overall and per group, then every wrong answer with a
thumbnail of its screenshot (target outlined green, predicted point in red), its instruction and raw
reply. Thumbnails are JPEG files in misses/ beside the report, so the page stays small however many
megapixels the screenshots have."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.grounding.results import SampleResult
from tasks.grounding.samples import Box, Polygon

if TYPE_CHECKING:
    from PIL import Image

THUMB_WIDTH = 640  # pixels; a 4K screenshot shrinks 6x, a phone screenshot not at all
MAX_MISSES_SHOWN = 1000  # the rest are in results.jsonl
MISSES_FOLDER = "misses"
TARGET_COLOUR = (0, 170, 60)
POINT_COLOUR = (220, 30, 30)

CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}
.num{text-align:right}.muted{color:#777}img{max-width:640px;border:1px solid #ccc}
pre{white-space:pre-wrap;max-width:50em;font-size:85%;margin:0}"""


def thumbnail_name(key: str) -> str:
    """A file name for a sample's thumbnail: readable, and unique even where keys differ only in
    characters a file name cannot hold."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:80]
    return f"{MISSES_FOLDER}/{safe}-{hashlib.sha1(key.encode()).hexdigest()[:8]}.jpg"


def write_thumbnail(
    folder: Path, image: Image.Image, result_key: str, target: Any, point: tuple[int, int] | None
) -> str:
    """Draw target and point (image pixels) on a shrunk copy of `image`; returns its path relative to
    `folder`."""
    from PIL import ImageDraw

    scale = min(1.0, THUMB_WIDTH / image.width)
    thumb = image.convert("RGB").resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    )
    draw = ImageDraw.Draw(thumb)
    if isinstance(target, Box):
        draw.rectangle(
            [target.x1 * scale, target.y1 * scale, target.x2 * scale, target.y2 * scale],
            outline=TARGET_COLOUR,
            width=3,
        )
    elif isinstance(target, Polygon):
        pts = [(x * scale, y * scale) for x, y in target.points]
        draw.line([*pts, pts[0]], fill=TARGET_COLOUR, width=3)
    if point is not None:
        x, y, r = point[0] * scale, point[1] * scale, 8
        draw.ellipse([x - r, y - r, x + r, y + r], outline=POINT_COLOUR, width=3)
        draw.line([x - 2 * r, y, x + 2 * r, y], fill=POINT_COLOUR, width=2)
        draw.line([x, y - 2 * r, x, y + 2 * r], fill=POINT_COLOUR, width=2)
    name = thumbnail_name(result_key)
    (folder / MISSES_FOLDER).mkdir(parents=True, exist_ok=True)
    thumb.save(folder / name, "JPEG", quality=80)
    return name


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"


def _rate_rows(name: str, rates: dict[str, dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(value)}</td><td class='num'>{r['samples']}</td>"
        f"<td class='num'>{r['correct']}</td><td class='num'>{_pct(r['accuracy'])}</td></tr>"
        for value, r in rates.items()
    )
    return (
        f"<h3>by {html.escape(name)}</h3><table><tr><th>{html.escape(name)}</th><th>samples</th>"
        f"<th>correct</th><th>accuracy</th></tr>{rows}</table>"
    )


def _miss_row(r: SampleResult) -> str:
    thumb = f"<img src='{html.escape(r.thumbnail)}' loading='lazy' alt='screenshot'>" if r.thumbnail else ""
    point = "none" if r.point is None else f"({r.point[0]}, {r.point[1]})"
    reason = f"<div class='muted'>{html.escape(r.reason)}</div>" if r.reason else ""
    return (
        f"<tr><td>{thumb}</td><td><b>{html.escape(r.key)}</b><br>{html.escape(r.instruction)}"
        f"<div class='muted'>target: {html.escape(r.target.kind)}; {html.escape(r.outcome)} at {point}</div>"
        f"{reason}</td><td><pre>{html.escape(r.raw[:2000])}</pre></td></tr>"
    )


def render_report(summary: dict[str, Any], results: list[SampleResult]) -> str:
    """The whole page; `results` in data set order."""
    overall = summary["overall"]
    misses = [r for r in results if not r.correct]
    outcomes = ", ".join(f"{k} {v}" for k, v in summary["outcomes"].items())
    groups = "".join(_rate_rows(name, rates) for name, rates in summary["groups"].items())
    shown = misses[:MAX_MISSES_SHOWN]
    more = (
        f"<p class='muted'>{len(misses) - len(shown)} more in results.jsonl</p>"
        if len(misses) > len(shown)
        else ""
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Grounding: "
        f"{html.escape(summary['model'])}</title><style>{CSS}</style></head><body>"
        f"<h1>Grounding accuracy: {_pct(overall['accuracy'])}</h1>"
        f"<p>{html.escape(summary['model'])} on {html.escape(summary['data'])} "
        f"({html.escape(', '.join(summary['formats']))}): {overall['correct']} of {overall['samples']} "
        f"correct. Answers: {html.escape(outcomes)}.</p>"
        f"<p class='muted'>Grid {summary['grid']}, at most {summary['max_pixels']:,} model pixels per "
        f"screenshot. A point inside the target box or polygon is a hit; on a sample whose element is "
        f"absent only a decline is correct.</p>{groups}"
        f"<h2>Wrong answers ({len(misses)})</h2><p class='muted'>green: target; red: the model's point.</p>"
        f"<table><tr><th>screenshot</th><th>sample</th><th>reply</th></tr>"
        f"{''.join(_miss_row(r) for r in shown)}</table>{more}</body></html>"
    )
