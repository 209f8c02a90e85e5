"""Template anchors: cut a crop of a step's target and its surroundings from the recorded screenshot,
and find it again on a live screen with OpenCV's normalised cross-correlation.

Frames: boxes and points are logical pixels of their screen; images are screenshot pixels (`scale`
per logical pixel). A match is searched near the recorded place first, then on the whole screen; it
counts only when it is both strong (score >= MIN_SCORE) and unique (the runner-up elsewhere scores
clearly lower), so a replay never acts on a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actions.types import Frozen, Screenshot
from tasks.jobs.spec import Anchor, Box

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MARGIN = 24.0  # logical px of surroundings around an element's box: labels make twin fields distinct
# Logical px cut around a point when no element box is known: the first size whose crop is unique
# on the recorded screen (a bare text field looks like every other one; its label makes it unique).
# Wide and flat first: a label beside a field is in the same row, while the row above may hold text
# that changes from one replay to the next (the value typed into the previous field).
PATCHES = ((160.0, 64.0), (360.0, 56.0), (560.0, 64.0), (280.0, 100.0), (420.0, 150.0), (600.0, 220.0))
MAX_ANCHOR = (480.0, 240.0)  # a bigger element (a whole panel) is cut around the point instead
NEAR = 160.0  # logical px around the recorded region searched first
MIN_SCORE = 0.86
UNIQUE_GAP = 0.06  # the best match must beat any match elsewhere by this much
BLUR = (5, 5)  # Gaussian kernel (image px at the anchor's scale) applied to both images


class AnchorMatch(Frozen):
    """Where an anchor was found: the point to act on (logical px of the live screen) and the score."""

    point: tuple[int, int]
    score: float
    region: Box
    where: str  # "near" (close to the recorded place) or "screen" (anywhere)


def anchor_region(
    point: tuple[float, float],
    box: Box | None,
    screen: tuple[int, int],
    patch: tuple[float, float] = PATCHES[0],
) -> Box:
    """The region to cut for a target at `point` (logical px): the element's box and a margin, or a
    `patch` around the point; clipped to the screen."""
    px, py = point
    if box is not None and 0 < box.w <= MAX_ANCHOR[0] and 0 < box.h <= MAX_ANCHOR[1] and box.contains(px, py):
        x0, y0 = box.x - MARGIN, box.y - MARGIN
        x1, y1 = box.x + box.w + MARGIN, box.y + box.h + MARGIN
    else:
        x0, y0 = px - patch[0] / 2, py - patch[1] / 2
        x1, y1 = px + patch[0] / 2, py + patch[1] / 2
    w, h = screen
    x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)
    return Box(x=round(x0), y=round(y0), w=round(x1 - x0), h=round(y1 - y0))


def cut_anchor(
    image: Screenshot, scale: float, point: tuple[int, int], box: Box | None, file_name: str
) -> tuple[Anchor, Screenshot]:
    """The anchor for a target at `point` on a screenshot with `scale` image px per logical px, and
    its crop (to be saved as `file_name`): the element's box with a margin, else the smallest patch
    around the point that is unique on this very screenshot."""
    screen = (round(image.width / scale), round(image.height / scale))
    for patch in PATCHES:
        region = anchor_region(point, box, screen, patch)
        crop = image.crop(
            (
                round(region.x * scale),
                round(region.y * scale),
                round((region.x + region.w) * scale),
                round((region.y + region.h) * scale),
            )
        )
        anchor = Anchor(
            image=file_name, region=region, click=(point[0] - region.x, point[1] - region.y), scale=scale
        )
        found = find_anchor(image, scale, anchor, crop)
        if box is not None or (found is not None and found.point == point):
            break  # an element's own box is kept as it is; a patch grows until it is unique
    return anchor, crop


def _bgr(image: Screenshot) -> NDArray[np.uint8]:
    import numpy as np

    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _best_two(scores: NDArray[Any], size: tuple[int, int]) -> tuple[float, tuple[int, int], float]:
    """The best score and its place, and the best score outside that place's neighbourhood."""
    import cv2
    import numpy as np

    scores = np.nan_to_num(scores, nan=-1.0, posinf=-1.0, neginf=-1.0)
    _, best, _, at = cv2.minMaxLoc(scores)
    th, tw = size
    x0, y0 = max(0, at[0] - tw // 2), max(0, at[1] - th // 2)
    masked = scores.copy()
    masked[y0 : at[1] + th // 2 + 1, x0 : at[0] + tw // 2 + 1] = -1.0
    _, second, _, _ = cv2.minMaxLoc(masked)
    return float(best), (int(at[0]), int(at[1])), float(second)


def find_anchor(
    screen: Screenshot, screen_scale: float, anchor: Anchor, crop: Screenshot
) -> AnchorMatch | None:
    """The anchor on `screen` (screenshot px, `screen_scale` per logical px): near its recorded region
    first, then anywhere; None unless a strong, unique match exists.

    Matching happens at the anchor's own scale (the screen is resized when the scale factor
    differs) on lightly blurred images: text drawn at another scale differs in its hinting, not in
    its shape."""
    import cv2
    from PIL import Image

    scale = anchor.scale
    if abs(screen_scale - scale) > 0.01:
        size = (
            max(1, round(screen.width * scale / screen_scale)),
            max(1, round(screen.height * scale / screen_scale)),
        )
        screen = screen.resize(
            size, Image.Resampling.BOX if screen_scale > scale else Image.Resampling.LANCZOS
        )
    sharp = _bgr(crop)
    if float(sharp.std()) < 2.0:
        return None  # a flat patch matches everywhere: no evidence
    template = cv2.GaussianBlur(sharp, BLUR, 0)
    whole = cv2.GaussianBlur(_bgr(screen), BLUR, 0)
    th, tw = template.shape[:2]
    if th > whole.shape[0] or tw > whole.shape[1]:
        return None
    r = anchor.region
    near = (
        max(0, round((r.x - NEAR) * scale)),
        max(0, round((r.y - NEAR) * scale)),
        min(whole.shape[1], round((r.x + r.w + NEAR) * scale)),
        min(whole.shape[0], round((r.y + r.h + NEAR) * scale)),
    )
    for where, (x0, y0, x1, y1) in (("near", near), ("screen", (0, 0, whole.shape[1], whole.shape[0]))):
        if x1 - x0 < tw or y1 - y0 < th:
            continue
        scores = cv2.matchTemplate(whole[y0:y1, x0:x1], template, cv2.TM_CCOEFF_NORMED)
        best, (mx, my), second = _best_two(scores, (th, tw))
        if best < MIN_SCORE:
            continue
        if best - second < UNIQUE_GAP:
            if where == "near":
                continue  # twins nearby: the whole screen decides (and refuses when still ambiguous)
            return None  # twins on the screen: which one is meant cannot be told from pixels
        left, top = (x0 + mx) / scale, (y0 + my) / scale
        # Logical sizes do not change with the scale factor: the click offset applies as recorded.
        point = (round(left + anchor.click[0]), round(top + anchor.click[1]))
        region = Box(x=left, y=top, w=tw / scale, h=th / scale)
        return AnchorMatch(point=point, score=best, region=region, where=where)
    return None
