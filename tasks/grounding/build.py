"""`qwen-agent grounding build`: a grounding set in ScreenSpot-Pro's layout, built from live pages, so
`qwen-agent eval grounding DIR` measures the agent on your own app (or the bundled sandbox apps).

Per page and per variant, one screenshot (images/<application>/<variant>.png) and one entry per
visible interactive element in annotations/<application>.json. What counts as interactive, and what is
skipped (and counted, per reason), is decided in the page by elements.js:
- interactive: links, buttons, inputs, selects, textareas, summary, [onclick], focusable [tabindex],
  contenteditable, the ARIA widget roles (button, tab, menuitem, switch, checkbox, option, ...), and
  elements that switch the cursor to a pointer (a listener added with addEventListener cannot be seen
  from the page; a pointer cursor is how apps mark a clickable thing). When one contains another,
  only the innermost is kept (its centre is where a click on the container would land anyway).
- skipped: "invisible" (under 3 CSS px, visibility hidden, opacity under 0.1), "off_screen" (less than
  half of it inside the viewport or its scrolling container), "covered" (elementFromPoint at its
  centre is neither it nor inside it: a sticky header, a dialog's scrim), "disabled" (a disabled
  control: the browser sends it no clicks), "no_name" (no accessible
  name: aria-labelledby, aria-label, label, placeholder, title, text, alt, <svg><title>) and
  "ambiguous" (another element of the same screenshot has the same instruction).

Variants (each its own screenshots and entries; `group` names it):
- light / dark: Playwright's color_scheme, i.e. the page's `prefers-color-scheme`.
- zoom-125: browser zoom as Ctrl+plus does it. Chromium's page zoom makes a CSS pixel 1.25 device
  pixels and the layout viewport 1.25 times narrower; that is exactly a device scale factor of 1.25
  on a viewport of W/1.25 x H/1.25 CSS px, so the screenshot keeps the window's W x H pixels while
  everything in it is larger and the layout reflows (CSS `zoom` on the body would not reflow media
  queries, and CDP's page scale factor is a pinch-zoom that crops instead).
- dpr-2: a device scale factor of 2 (a HiDPI screen): the screenshot is 2W x 2H.

Frames: elements.js measures CSS PIXELS of the layout viewport; every box written is in SCREENSHOT
PIXELS (CSS px times the screenshot's width over window.innerWidth, i.e. the device pixel ratio),
rounded outwards to whole pixels and clipped to the viewport.

Contrast (approximate, WCAG 2 relative-luminance ratio, computed in the page from computed styles):
the foreground is the colour of the element's first visible text, else the stroke (or fill) of the
first painted shape of its SVG icon, else (switches, checkboxes, swatches) the most visible of its own
background, its border and its first child's background (a switch's knob) against what lies behind
it. Backgrounds are background-colors composited from the root down over white; background images,
gradients, shadows and opacity are ignored. `contrast_level` is "low" under 3:1 (WCAG's minimum for
large text and for user-interface components, 1.4.3 / 1.4.11), else "normal".
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, Field

from actions.errors import BadInput
from actions.types import Frozen

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tasks.apps.sandbox.server import SandboxServer

Progress = Callable[[str], None]
ColorScheme = Literal["light", "dark"]
SkipReason = Literal["invisible", "off_screen", "covered", "disabled", "no_name", "ambiguous"]
SKIP_REASONS: tuple[SkipReason, ...] = get_args(SkipReason)
LOW_CONTRAST = 3.0  # WCAG 1.4.11 / large-text minimum: under this ratio a control is "low" contrast
# Web fonts loaded and two frames painted (the second frame shows what the first laid out).
_SETTLED = (
    "() => document.fonts.ready.then(() => new Promise((r) => "
    "requestAnimationFrame(() => requestAnimationFrame(r))))"
)
SETTLE_S = 0.25  # after load and the setup script: let transitions (the sandbox's are 120 ms) finish


class Variant(Frozen):
    """How a page is shown: colour scheme, browser zoom (1.25 = Ctrl+plus twice in Chrome's steps of
    110%, 125%) and device pixel ratio. See the module docstring for how zoom is done."""

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    color_scheme: ColorScheme = "light"
    zoom: float = Field(default=1.0, gt=0.25, le=5.0)
    dpr: float = Field(default=1.0, gt=0.25, le=4.0)


VARIANTS: tuple[Variant, ...] = (
    Variant(name="light"),
    Variant(name="dark", color_scheme="dark"),
    Variant(name="zoom-125", zoom=1.25),
    Variant(name="dpr-2", dpr=2.0),
)
VARIANT_NAMES: tuple[str, ...] = tuple(v.name for v in VARIANTS)


class PageSpec(Frozen):
    """One page to build from: `application` names its annotation file and its images' folder;
    `setup_js` runs in the page after it loads (dismiss a cover, open a dialog); `reset` is called
    before every load (the sandbox resets the app's state, so every variant shows the same page)."""

    application: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    url: str
    setup_js: str | None = None
    reset: Callable[[], None] | None = None


class PageElement(Frozen):
    """One candidate as elements.js reports it; `box` in CSS px of the viewport (x1, y1, x2, y2)."""

    tag: str
    role: str
    selector: str  # a CSS selector that finds it again in the same page
    name: str
    ui_type: Literal["text", "icon"]
    field: bool  # a text field, select or other value entry ("click the 'Email' field")
    box: tuple[float, float, float, float] | None
    contrast: float | None
    skip: SkipReason | None


class PageScan(Frozen):
    """What elements.js saw: the viewport in CSS px, the page's devicePixelRatio, every candidate."""

    viewport: tuple[int, int]
    devicePixelRatio: float  # the page's own name
    elements: tuple[PageElement, ...]


class VariantCounts(BaseModel):
    """Entries written and candidates skipped (per reason) for one application and variant."""

    application: str
    variant: str
    image: str  # relative to the set's images/ folder
    image_size: tuple[int, int]  # screenshot pixels
    entries: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)


class BuildResult(BaseModel):
    """The built folder, its annotation files and what each page and variant gave."""

    folder: Path
    annotation_files: tuple[Path, ...]
    counts: tuple[VariantCounts, ...]
    seconds: float

    @property
    def entries(self) -> int:
        return sum(c.entries for c in self.counts)

    def skipped(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for c in self.counts:
            total.update(c.skipped)
        return dict(total)


def elements_script() -> str:
    """The page-side collector (tasks/grounding/elements.js), an `(options) => result` function."""
    return (resources.files("tasks.grounding") / "elements.js").read_text(encoding="utf-8")


def scan_page(page: Page, max_name: int = 80) -> PageScan:
    """Every interactive candidate of the page as it is now (see elements.js)."""
    return PageScan.model_validate(page.evaluate(elements_script(), {"maxName": max_name}))


def instruction_for(element: PageElement) -> str:
    """The grounding instruction: "click 'Save'", "click the 'Email' field", "click the 'Settings' icon"."""
    if element.field:
        return f"click the '{element.name}' field"
    if element.ui_type == "icon":
        return f"click the '{element.name}' icon"
    return f"click '{element.name}'"


def variant_context_options(variant: Variant, viewport: tuple[int, int]) -> dict[str, Any]:
    """Playwright new_context() options showing a `viewport` (W, H screen pixels at zoom 1) window
    in `variant`: zoom shrinks the CSS viewport and raises the device scale factor alike."""
    width, height = viewport
    return {
        "viewport": {"width": round(width / variant.zoom), "height": round(height / variant.zoom)},
        "device_scale_factor": variant.zoom * variant.dpr,
        "color_scheme": variant.color_scheme,
        "reduced_motion": "reduce",
    }


def open_page(browser: Browser, spec: PageSpec, variant: Variant, viewport: tuple[int, int]) -> Page:
    """A fresh context and page showing `spec` in `variant`, loaded, set up and settled. Close it with
    page.context.close()."""
    if spec.reset is not None:
        spec.reset()
    context = browser.new_context(**variant_context_options(variant, viewport))
    page = context.new_page()
    try:
        page.goto(spec.url, wait_until="load", timeout=30_000)
        # Single-page apps render after their first fetch; a page that keeps polling never goes idle:
        # go on with what is there.
        with contextlib.suppress(Exception):
            page.wait_for_load_state("networkidle", timeout=5_000)
        if spec.setup_js:
            page.evaluate(spec.setup_js)
        page.evaluate(_SETTLED)
        time.sleep(SETTLE_S)
    except Exception:
        context.close()
        raise
    return page


def _screen_box(box: tuple[float, float, float, float], scale: float, size: tuple[int, int]) -> list[int]:
    """A CSS-px box in screenshot pixels, rounded outwards and clipped to the image."""
    x1, y1, x2, y2 = box
    return [
        max(0, math.floor(x1 * scale)), max(0, math.floor(y1 * scale)),
        min(size[0], math.ceil(x2 * scale)), min(size[1], math.ceil(y2 * scale)),
    ]  # fmt: skip


def entries_for(
    scan: PageScan, spec: PageSpec, variant: Variant, image: str, image_size: tuple[int, int]
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """The ScreenSpot-Pro entries of one screenshot and the skipped candidates per reason."""
    skipped: Counter[str] = Counter(e.skip for e in scan.elements if e.skip is not None)
    kept = [e for e in scan.elements if e.skip is None and e.box is not None]
    by_instruction = Counter(instruction_for(e) for e in kept)
    scale = image_size[0] / scan.viewport[0]  # screenshot px per CSS px (the device pixel ratio)
    entries: list[dict[str, Any]] = []
    for element in kept:
        instruction = instruction_for(element)
        if by_instruction[instruction] > 1:  # no single right answer
            skipped["ambiguous"] += 1
            continue
        assert element.box is not None and element.contrast is not None
        bbox = _screen_box(element.box, scale, image_size)
        entries.append({
            "id": f"{variant.name}-{len(entries)}",
            "img_filename": image,
            "bbox": bbox,
            "img_size": list(image_size),
            "instruction": instruction,
            "application": spec.application,
            "platform": "web",
            "group": variant.name,
            "ui_type": element.ui_type,
            # Extra fields (ScreenSpot-Pro's own loader ignores them): what the element is, how big
            # (screenshot px) and how visible, and where to find it again.
            "role": element.role,
            "element_size": [bbox[2] - bbox[0], bbox[3] - bbox[1]],
            "contrast": element.contrast,
            "contrast_level": "low" if element.contrast < LOW_CONTRAST else "normal",
            "selector": element.selector,
            "url": spec.url,
            "color_scheme": variant.color_scheme,
            "zoom": variant.zoom,
            "dpr": variant.dpr,
        })  # fmt: skip
    return entries, skipped


@contextmanager
def chromium(executable_path: str | None = None) -> Iterator[Browser]:
    """A headless Chromium (Debian's, $QWEN_AGENT_CHROMIUM or Playwright's own), closed on exit;
    missing, it is EnvironmentUnavailable (exit 4) naming the fix."""
    from actions.chromium import acquire_playwright, find_chromium, launch_chromium, release_playwright

    playwright = acquire_playwright()
    try:
        browser = launch_chromium(playwright, find_chromium(executable_path), headless=True,
                                  extra_args=("--disable-gpu", "--hide-scrollbars"))  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()
    finally:
        release_playwright()


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} is a file; name a folder")
    annotations = out / "annotations"
    if annotations.is_dir() and any(annotations.glob("*.json")) and not overwrite:
        raise BadInput(f"{out} holds a grounding set already: choose another --out, or pass --overwrite")
    (out / "images").mkdir(parents=True, exist_ok=True)
    annotations.mkdir(parents=True, exist_ok=True)


def build_grounding_set(
    pages: Sequence[PageSpec],
    out: Path,
    *,
    viewport: tuple[int, int] = (1280, 800),
    variants: Sequence[Variant] = VARIANTS,
    browser: Browser | None = None,
    chromium_path: str | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> BuildResult:
    """Screenshot every page in every variant and write `out`/annotations/<application>.json and
    `out`/images/<application>/<variant>.png (ScreenSpot-Pro's layout). `viewport` is the window in
    screen pixels at zoom 1 and dpr 1 (CSS px). Pass a running `browser` to reuse it."""
    if not pages:
        raise BadInput("nothing to build from: name a URL or a sandbox app")
    apps = [p.application for p in pages]
    if len(set(apps)) != len(apps):
        raise BadInput(f"two pages share an application name ({', '.join(apps)}); name each differently")
    if len({v.name for v in variants}) != len(variants) or not variants:
        raise BadInput("variants must be at least one, each with its own name")
    say = progress or (lambda line: None)
    started = time.perf_counter()
    _prepare_out(out, overwrite)
    counts: list[VariantCounts] = []
    files: list[Path] = []

    def build(b: Browser) -> None:
        for spec in pages:
            entries: list[dict[str, Any]] = []
            for variant in variants:
                image = f"{spec.application}/{variant.name}.png"
                path = out / "images" / image
                path.parent.mkdir(parents=True, exist_ok=True)
                page = open_page(b, spec, variant, viewport)
                try:
                    scan = scan_page(page)
                    page.screenshot(path=str(path), animations="disabled", caret="hide")
                finally:
                    page.context.close()
                size = _png_size(path)
                more, skipped = entries_for(scan, spec, variant, image, size)
                entries.extend(more)
                counts.append(
                    VariantCounts(application=spec.application, variant=variant.name, image=image,
                                  image_size=size, entries=len(more), skipped=dict(skipped))
                )  # fmt: skip
                say(f"grounding build: {spec.application} {variant.name}: {len(more)} element(s), skipped "
                    + (", ".join(f"{n} {r}" for r, n in sorted(skipped.items())) or "none"))  # fmt: skip
            file = out / "annotations" / f"{spec.application}.json"
            if not entries:
                say(f"grounding build: {spec.application}: no element could be a target; no annotation file")
                continue
            file.write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            files.append(file)

    if browser is not None:
        build(browser)
    else:
        with chromium(chromium_path) as b:
            build(b)
    return BuildResult(folder=out, annotation_files=tuple(files), counts=tuple(counts),
                       seconds=round(time.perf_counter() - started, 2))  # fmt: skip


def _png_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def sandbox_pages(server: SandboxServer, apps: Sequence[str]) -> list[PageSpec]:
    """The start page of each sandbox app on a running server, reset to its seed before each load."""
    from tasks.apps.sandbox.server import APP_NAMES

    unknown = [a for a in apps if a not in APP_NAMES]
    if unknown:
        raise BadInput(f"unknown sandbox app(s) {', '.join(unknown)} (apps: {', '.join(APP_NAMES)})")
    return [
        PageSpec(application=app, url=server.app_url(app), reset=lambda app=app: server.reset(app))
        for app in apps
    ]


def application_name(url: str) -> str:
    """A file-name-safe application name from a URL: its host and path ("example.com-login")."""
    import re
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    raw = f"{parts.hostname or 'page'}{parts.path}".rstrip("/")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.") or "page"
