"""Reading the public grounding sets into Samples: ScreenSpot / ScreenSpot-v2, ScreenSpot-Pro and
OSWorld-G, told apart by their fields (or named with `--format`).

What each format holds (every coordinate in pixels of the image file):
- screenspot: a JSON list of {img_filename, bbox: [x, y, w, h], instruction, data_type: text|icon,
  data_source}; images in a folder beside the JSON (screenspot_imgs/, screenspotv2_image/).
- screenspot-pro: one JSON list per application (annotations/<app>.json) of {id, img_filename,
  bbox: [x1, y1, x2, y2], img_size: [w, h], instruction, application, platform, group, ui_type};
  images under images/ beside annotations/. An entry with "gt_type": "negative" (the negative
  variant) describes an element that is not there: a refusal sample. Other fields are ignored, but
  `contrast_level` (low|normal, written by `qwen-agent grounding build`) is a group too.
- osworld-g: a JSON list (OSWorld-G.json, OSWorld-G_refined.json) of {id, image_path, image_size,
  instruction, box_type: bbox|polygon|refusal, box_coordinates, GUI_types}; a bbox is [x, y, w, h],
  a polygon a flat [x1, y1, x2, y2, ...]; images under images/ beside the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from tasks.grounding.samples import (
    FORMATS,
    Box,
    Dimension,
    FormatName,
    GroundingDataError,
    Polygon,
    Refusal,
    Sample,
    size_bucket,
)

Target = Box | Polygon | Refusal


class GroundingSet(BaseModel):
    """The samples of one data set path, in file order (files sorted by name)."""

    model_config = ConfigDict(frozen=True)

    path: Path  # what the user named: a file or a folder
    name: str  # the path's stem
    files: tuple[Path, ...]
    formats: tuple[FormatName, ...]  # one per file
    samples: tuple[Sample, ...]


class _Bad(Exception):
    """An entry's problem; the loader adds file and entry to the message."""


def annotation_files(path: Path) -> list[Path]:
    """The JSON files a data set path means: the file itself, or a folder's *.json (ScreenSpot-Pro's
    annotations/ folder, or a folder holding it)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise GroundingDataError(f"{path}: no such file or folder")
    for folder in (path, path / "annotations"):
        files = sorted(p for p in folder.glob("*.json") if p.is_file())
        if files:
            return files
    raise GroundingDataError(f"{path}: holds no .json annotation file (nor an annotations/ folder with one)")


def detect_format(entries: Sequence[Any], file: Path) -> FormatName:
    """The format of a file's entries, from the first entry's fields."""
    first = entries[0]
    if not isinstance(first, dict):
        raise GroundingDataError(f"{file}: entry 0: expected a JSON object, got {type(first).__name__}")
    if "box_type" in first or "box_coordinates" in first:
        return "osworld-g"
    if "img_size" in first or "ui_type" in first or "application" in first:
        return "screenspot-pro"
    if "img_filename" in first and "bbox" in first:
        return "screenspot"
    raise GroundingDataError(
        f"{file}: cannot tell its format from the first entry's fields "
        f"({', '.join(sorted(first)) or 'none'}); pass --format {'|'.join(FORMATS)}"
    )


class _ImageFinder:
    """Where an entry's relative image path lies: `--images` if given, else beside the JSON, in a
    folder beside it, or beside / in a folder beside its parent (the sets' own layouts)."""

    def __init__(self, file: Path, images: Path | None) -> None:
        if images is not None:
            self.bases = [images]
        else:
            here, parent = file.parent, file.parent.parent
            self.bases = [here, *_subfolders(here), parent, *_subfolders(parent)]
            self.bases = list(dict.fromkeys(self.bases))

    def find(self, relative: str) -> Path:
        for i, base in enumerate(self.bases):
            candidate = base / relative
            if candidate.is_file():
                if i:  # the next entry's image is most likely in the same folder
                    self.bases.insert(0, self.bases.pop(i))
                return candidate
        where = ", ".join(str(b) for b in self.bases[:6]) + (" ..." if len(self.bases) > 6 else "")
        raise _Bad(f"image {relative!r} not found (looked in {where}); pass --images FOLDER")


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def _text(entry: dict[str, Any], field: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"{field!r} must be a non-empty string, got {value!r}")
    return value


def _numbers(value: Any, field: str, count: int | None = None) -> list[float]:
    if (
        not isinstance(value, list)
        or (count is not None and len(value) != count)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        want = f"a list of {count} numbers" if count else "a list of numbers"
        raise _Bad(f"{field!r} must be {want}, got {value!r}")
    return [float(v) for v in value]


def _box(x1: float, y1: float, x2: float, y2: float, field: str) -> Box:
    if x2 <= x1 or y2 <= y1:
        raise _Bad(f"{field!r} describes an empty box ({x1:g}, {y1:g}) - ({x2:g}, {y2:g})")
    return Box(x1=x1, y1=y1, x2=x2, y2=y2)


def _groups(entry: dict[str, Any], fields: Sequence[tuple[str, Dimension]]) -> list[tuple[Dimension, str]]:
    out: list[tuple[Dimension, str]] = []
    for field, dimension in fields:
        value = entry.get(field)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
            out.append((dimension, str(value)))
    return out


# Each reader: entry -> (relative image path, declared (w, h) or None, target, groups, id or None).
_Read = tuple[str, tuple[int, int] | None, Target, list[tuple[Dimension, str]], str | None]


def _size(value: Any, field: str) -> tuple[int, int] | None:
    if value is None:
        return None
    w, h = _numbers(value, field, 2)
    if w <= 0 or h <= 0:
        raise _Bad(f"{field!r} must be a positive width and height, got {value!r}")
    return round(w), round(h)


def _read_screenspot(entry: dict[str, Any]) -> _Read:
    x, y, w, h = _numbers(entry.get("bbox"), "bbox", 4)
    target = _box(x, y, x + w, y + h, "bbox")
    groups = _groups(entry, [("data_type", "data_type"), ("data_source", "data_source")])
    return _text(entry, "img_filename"), None, target, groups, None


def _read_screenspot_pro(entry: dict[str, Any]) -> _Read:
    target: Target
    if entry.get("gt_type") == "negative":
        target = Refusal()
    else:
        x1, y1, x2, y2 = _numbers(entry.get("bbox"), "bbox", 4)
        target = _box(x1, y1, x2, y2, "bbox")
    groups = _groups(
        entry,
        [
            ("ui_type", "ui_type"),
            ("application", "application"),
            ("group", "group"),
            ("platform", "platform"),
            ("contrast_level", "contrast"),  # only in sets `qwen-agent grounding build` writes
        ],
    )
    ident = entry.get("id")
    return (
        _text(entry, "img_filename"),
        _size(entry.get("img_size"), "img_size"),
        target,
        groups,
        None if ident is None else str(ident),
    )


def _read_osworld_g(entry: dict[str, Any]) -> _Read:
    kind = entry.get("box_type")
    coords = entry.get("box_coordinates")
    target: Target
    if kind == "refusal":
        target = Refusal()
    elif kind == "bbox":
        x, y, w, h = _numbers(coords, "box_coordinates", 4)
        target = _box(x, y, x + w, y + h, "box_coordinates")
    elif kind == "polygon":
        if isinstance(coords, list) and coords and all(isinstance(p, list) for p in coords):
            coords = [v for p in coords for v in (p if len(p) == 2 else [None])]  # [[x, y], ...] too
        flat = _numbers(coords, "box_coordinates")
        if len(flat) % 2 or len(flat) < 6:
            raise _Bad(f"a polygon needs at least 3 (x, y) pairs, got {len(flat)} numbers")
        target = Polygon(points=tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2)))
        if target.area <= 0:
            raise _Bad("the polygon encloses no area")
    else:
        raise _Bad(f"'box_type' must be bbox, polygon or refusal, got {kind!r}")
    types = entry.get("GUI_types") or []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise _Bad(f"'GUI_types' must be a list of strings, got {types!r}")
    groups: list[tuple[Dimension, str]] = [("gui_type", t) for t in dict.fromkeys(types) if t.strip()]
    ident = entry.get("id")
    return (
        _text(entry, "image_path"),
        _size(entry.get("image_size"), "image_size"),
        target,
        groups,
        None if ident is None else str(ident),
    )


_READERS: dict[FormatName, Callable[[dict[str, Any]], _Read]] = {
    "screenspot": _read_screenspot,
    "screenspot-pro": _read_screenspot_pro,
    "osworld-g": _read_osworld_g,
}


def _scaled(target: Target, sx: float, sy: float) -> Target:
    """The target in the pixels of an image stored at another size than the annotation declares."""
    if isinstance(target, Box):
        return Box(x1=target.x1 * sx, y1=target.y1 * sy, x2=target.x2 * sx, y2=target.y2 * sy)
    if isinstance(target, Polygon):
        return Polygon(points=tuple((x * sx, y * sy) for x, y in target.points))
    return target


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:  # reads the header only
            return im.size
    except (OSError, UnidentifiedImageError) as e:
        raise _Bad(f"image {path} cannot be read ({e})") from e


def _load_entries(file: Path) -> list[Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise GroundingDataError(
            f"{file}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from e
    except (OSError, UnicodeDecodeError) as e:
        raise GroundingDataError(f"{file}: cannot be read ({e})") from e
    if not isinstance(data, list):
        raise GroundingDataError(f"{file}: expected a JSON list of entries, got a {type(data).__name__}")
    if not data:
        raise GroundingDataError(f"{file}: holds no entries")
    return data


def load_file(
    file: Path, fmt: FormatName | None = None, images: Path | None = None, seen: set[str] | None = None
) -> tuple[FormatName, list[Sample]]:
    """One annotation file's samples; a bad entry is a GroundingDataError naming file and entry index
    (0-based, as in the JSON list)."""
    entries = _load_entries(file)
    fmt = fmt or detect_format(entries, file)
    read = _READERS[fmt]
    finder = _ImageFinder(file, images)
    seen = set() if seen is None else seen
    samples: list[Sample] = []
    sizes: dict[Path, tuple[int, int]] = {}  # many entries share a screenshot: read its header once
    for index, entry in enumerate(entries):
        try:
            if not isinstance(entry, dict):
                raise _Bad(f"expected a JSON object, got {type(entry).__name__}")
            relative, declared, target, groups, ident = read(entry)
            instruction = _text(entry, "instruction")
            image = finder.find(relative)
            actual = sizes.get(image) or sizes.setdefault(image, _image_size(image))
            if declared is not None and declared != actual:
                target = _scaled(target, actual[0] / declared[0], actual[1] / declared[1])
        except _Bad as e:
            raise GroundingDataError(f"{file}: entry {index}: {e}") from None
        key = f"{file.stem}/{ident if ident is not None else index}"
        if key in seen:
            key = f"{file.stem}/{index}"
        if key in seen:
            raise GroundingDataError(f"{file}: entry {index}: key {key!r} is used twice")
        seen.add(key)
        bucket = size_bucket(target, actual)
        extra: list[tuple[Dimension, str]] = [("target", target.kind)]
        if bucket is not None:
            extra.insert(0, ("size", bucket))
        samples.append(
            Sample(
                key=key, source=file, index=index, image=image, image_size=actual,
                instruction=instruction, target=target, groups=(*groups, *extra),
            )
        )  # fmt: skip
    return fmt, samples


def load_grounding_set(path: Path, fmt: FormatName | None = None, images: Path | None = None) -> GroundingSet:
    """Every sample of a data set path (a file, or a folder of annotation files)."""
    files = annotation_files(path)
    seen: set[str] = set()
    formats: list[FormatName] = []
    samples: list[Sample] = []
    for file in files:
        got, more = load_file(file, fmt, images, seen)
        formats.append(got)
        samples.extend(more)
    return GroundingSet(path=path, name=path.stem or path.name, files=tuple(files), formats=tuple(formats),
                        samples=tuple(samples))  # fmt: skip
