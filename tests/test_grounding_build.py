"""`qwen-agent grounding build`: sets built from live pages (the sandbox apps, MiniWoB's jQuery UI
pages) in a real Chromium. Each entry's box is checked against the live page by an oracle click: a
real mouse click (Playwright) at the box centre, converted back to CSS px, must reach the element the
entry names (the page's own `click` event, recorded by a capturing listener, says what was hit)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from tasks.apps.sandbox.server import SandboxServer
from tasks.grounding.build import (
    VARIANTS,
    BuildResult,
    PageSpec,
    Variant,
    build_grounding_set,
    chromium,
    open_page,
    sandbox_pages,
)
from tasks.grounding.evaluate import evaluate_grounding
from tasks.grounding.formats import GroundingSet, load_grounding_set
from tests.grounding_backends import OracleBackend

pytestmark = pytest.mark.browser

APPS = ("settings", "records")
VIEWPORT = (1280, 800)
BY_NAME = {v.name: v for v in VARIANTS}
# MiniWoB pages with jQuery UI widgets (a dialog with an icon-only close button; tabs), seeded so that
# every load lays out the same problem; the long episode keeps MiniWoB's START cover away.
MINIWOB_PAGES = ("click-dialog-2", "click-tab-2")
MINIWOB_SETUP = "() => { Math.seedrandom(7); core.EPISODE_MAX_TIME = 3600000; core.startEpisodeReal(); }"

# Installed before the oracle clicks: records what a click reaches, and stops every mouse event there
# (no app handler, no default action), so a click neither changes the page nor navigates away.
RECORD_CLICKS = """() => {
  window.__hits = [];
  const stop = (e) => { e.preventDefault(); e.stopImmediatePropagation(); };
  for (const type of ["pointerdown", "mousedown", "pointerup", "mouseup", "mouseover", "pointerover",
                      "mousemove", "pointermove", "dblclick", "auxclick", "contextmenu"]) {
    window.addEventListener(type, stop, true);
  }
  window.addEventListener("click", (e) => { window.__hits.push(e.target); stop(e); }, true);
}"""
# After one click: did exactly one click arrive, at the element `selector` names (or inside it)?
CHECK_HIT = """(selector) => {
  const hits = window.__hits.splice(0);
  const el = document.querySelector(selector);
  if (!el) return "no element matches the selector";
  if (hits.length !== 1) return `${hits.length} click events`;
  const t = hits[0];
  return t === el || el.contains(t) ? "ok" : `hit <${t.tagName.toLowerCase()} class="${t.getAttribute("class") || ""}">${(t.textContent || "").trim().slice(0, 30)}`;
}"""


@pytest.fixture(scope="module")
def browser(chromium_path: str | None) -> Iterator[Any]:
    with chromium(chromium_path) as b:
        yield b


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(port=0) as s:
        yield s


@pytest.fixture(scope="module")
def sandbox_set(browser: Any, server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    out = tmp_path_factory.mktemp("sandbox-set")
    return build_grounding_set(sandbox_pages(server, APPS), out, viewport=VIEWPORT, browser=browser)


@pytest.fixture(scope="module")
def miniwob_set(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildResult, list[PageSpec]]:
    from tasks.suites.miniwob import html_dir, server_url
    from tests.conftest import require

    require((html_dir() / "miniwob").is_dir(), "the miniwob package is not installed")
    pages = [
        PageSpec(application=p, url=f"{server_url()}/miniwob/{p}.html", setup_js=MINIWOB_SETUP)
        for p in MINIWOB_PAGES
    ]
    out = tmp_path_factory.mktemp("miniwob-set")
    variants = [BY_NAME["light"], BY_NAME["dpr-2"]]
    return build_grounding_set(pages, out, viewport=VIEWPORT, variants=variants, browser=browser), pages


def entries(result: BuildResult, app: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((result.folder / "annotations" / f"{app}.json").read_text())
    return data


def oracle_clicks(
    browser: Any, spec: PageSpec, variant: Variant, rows: list[dict[str, Any]]
) -> dict[str, str]:
    """Open the page as the build did and click every entry's box centre with the real mouse; the
    verdict per instruction ("ok" or what went wrong)."""
    page = open_page(browser, spec, variant, VIEWPORT)
    try:
        css_width = page.evaluate("() => window.innerWidth")
        page.evaluate(RECORD_CLICKS)
        verdicts: dict[str, str] = {}
        for row in rows:
            scale = row["img_size"][0] / css_width  # screenshot px per CSS px
            x1, y1, x2, y2 = row["bbox"]
            page.mouse.click((x1 + x2) / 2 / scale, (y1 + y2) / 2 / scale)
            verdicts[row["instruction"]] = page.evaluate(CHECK_HIT, row["selector"])
        return verdicts
    finally:
        page.context.close()


def spec_for(server: SandboxServer, app: str) -> PageSpec:
    return next(p for p in sandbox_pages(server, [app]))


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("variant", ["light", "dark", "zoom-125", "dpr-2"])
def test_every_box_is_hit_by_an_oracle_click_in_the_live_page(
    sandbox_set: BuildResult, browser: Any, server: SandboxServer, app: str, variant: str
) -> None:
    rows = [e for e in entries(sandbox_set, app) if e["group"] == variant]
    assert len(rows) >= 15
    verdicts = oracle_clicks(browser, spec_for(server, app), BY_NAME[variant], rows)
    assert {k: v for k, v in verdicts.items() if v != "ok"} == {}


def test_the_oracle_click_notices_a_box_that_is_off_by_one_control(
    sandbox_set: BuildResult, browser: Any, server: SandboxServer
) -> None:
    rows = _by_instruction(sandbox_set, "records", "light")
    edit, delete = rows["click the 'Edit Tom Becker' icon"], rows["click the 'Delete Tom Becker' icon"]
    swapped = [{**edit, "bbox": delete["bbox"]}, {**delete, "bbox": edit["bbox"]}]
    verdicts = oracle_clicks(browser, spec_for(server, "records"), BY_NAME["light"], swapped)
    assert all(v.startswith("hit <") for v in verdicts.values()), verdicts  # the neighbour's icon


# Every enabled control that lies wholly on the first screen, found by the test's own simple rule.
ON_SCREEN_CONTROLS = r"""() => [...document.querySelectorAll("button, a[href], input, [role=switch], [role=radio]")]
  .filter((el) => { const r = el.getBoundingClientRect();
    return !el.disabled && r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; })
  .map((el) => (el.getAttribute("aria-label") || el.innerText || el.placeholder).replace(/\s+/g, " ").trim())"""


@pytest.mark.parametrize("app", APPS)
def test_every_control_on_the_screen_is_in_the_set(
    sandbox_set: BuildResult, browser: Any, server: SandboxServer, app: str
) -> None:
    page = open_page(browser, spec_for(server, app), BY_NAME["light"], VIEWPORT)
    try:
        names = page.evaluate(ON_SCREEN_CONTROLS)
    finally:
        page.context.close()
    instructions = " | ".join(e["instruction"] for e in entries(sandbox_set, app) if e["group"] == "light")
    assert len(names) >= 15
    assert [n for n in names if f"'{n}'" not in instructions] == []
    light = sandbox_set.counts[[c.application for c in sandbox_set.counts].index(app)]
    if app == "settings":  # Save and Discard are disabled until something changes: counted, not kept
        assert light.skipped.get("disabled") == 2 and "'Save changes'" not in instructions


def _by_instruction(result: BuildResult, app: str, group: str) -> dict[str, dict[str, Any]]:
    return {e["instruction"]: e for e in entries(result, app) if e["group"] == group}


def test_dark_variant_looks_different_and_holds_tiny_low_contrast_icons(sandbox_set: BuildResult) -> None:
    images = sandbox_set.folder / "images"
    with Image.open(images / "records/light.png") as light, Image.open(images / "records/dark.png") as dark:
        assert light.size == dark.size == VIEWPORT
        difference = ImageStat.Stat(ImageChops.difference(light.convert("L"), dark.convert("L"))).mean[0]
    assert difference > 50  # a light page turned dark, not a few changed pixels
    light_rows, dark_rows = (
        _by_instruction(sandbox_set, "records", "light"),
        _by_instruction(sandbox_set, "records", "dark"),
    )
    copy = "click the 'Copy maria.garcia@acme.test' icon"
    assert dark_rows[copy]["ui_type"] == "icon" and max(dark_rows[copy]["element_size"]) <= 20
    assert dark_rows[copy]["contrast"] < 3 and dark_rows[copy]["contrast_level"] == "low"
    assert light_rows[copy]["contrast"] >= 3 and light_rows[copy]["contrast_level"] == "normal"
    tiny_low = [
        i for i, e in dark_rows.items() if e["contrast_level"] == "low" and max(e["element_size"]) <= 20
    ]
    assert len(tiny_low) >= 9  # a copy pill per employee and the refresh pill
    # The settings page is dark whatever the system says; its tiny pills are dim in every variant.
    settings = _by_instruction(sandbox_set, "settings", "dark")
    about = settings["click the 'About profile' icon"]
    assert about["contrast_level"] == "low" and max(about["element_size"]) <= 20
    assert settings["click 'Dashboard'"]["contrast_level"] == "normal"


def test_zoom_and_dpr_variants_scale_the_screenshot_pixels(sandbox_set: BuildResult) -> None:
    sizes = {(c.application, c.variant): c.image_size for c in sandbox_set.counts}
    assert sizes[("records", "dpr-2")] == (2560, 1600) and sizes[("records", "zoom-125")] == VIEWPORT
    light = _by_instruction(sandbox_set, "records", "light")
    dpr2 = _by_instruction(sandbox_set, "records", "dpr-2")
    zoom = _by_instruction(sandbox_set, "records", "zoom-125")
    for instruction in ("click '+ Add employee'", "click the 'Edit Tom Becker' icon"):
        one, two = light[instruction]["bbox"], dpr2[instruction]["bbox"]
        assert all(abs(2 * a - b) <= 2 for a, b in zip(one, two, strict=True))  # same place, twice the pixels
        w1, w2 = light[instruction]["element_size"][0], zoom[instruction]["element_size"][0]
        assert abs(w2 - 1.25 * w1) <= 2  # 125% zoom: bigger on the same screen


def test_the_built_folder_loads_as_screenspot_pro_and_an_oracle_scores_100(
    sandbox_set: BuildResult, tmp_path: Path
) -> None:
    data = load_grounding_set(sandbox_set.folder)
    assert set(data.formats) == {"screenspot-pro"}
    assert len(data.samples) == sandbox_set.entries
    groups = {d: {v for s in data.samples for dim, v in s.groups if dim == d} for d in ("group", "application",
              "ui_type", "contrast", "size")}  # fmt: skip
    assert groups["group"] == {"light", "dark", "zoom-125", "dpr-2"} and groups["application"] == set(APPS)
    assert groups["ui_type"] == {"text", "icon"} and groups["contrast"] == {"low", "normal"}
    assert "tiny" in groups["size"]
    # The oracle knows samples by instruction, and the same control has the same instruction on every
    # screenshot: ask it one screenshot at a time (instructions are unique within one).
    correct = total = 0
    for n, image in enumerate(sorted({s.image for s in data.samples})):
        samples = tuple(s for s in data.samples if s.image == image)
        assert len({s.instruction for s in samples}) == len(samples)
        one = GroundingSet(
            path=data.path, name=data.name, files=data.files, formats=data.formats, samples=samples
        )
        overall = evaluate_grounding(one, OracleBackend(samples), tmp_path / str(n)).summary["overall"]
        correct, total = correct + overall["correct"], total + overall["samples"]
    assert total == len(data.samples) and correct == total


def test_a_third_party_page_miniwob_jquery_ui(
    miniwob_set: tuple[BuildResult, list[PageSpec]], browser: Any
) -> None:
    result, pages = miniwob_set
    dialog = _by_instruction(result, "click-dialog-2", "light")
    assert {"click 'OK'", "click 'Cancel'", "click the 'Close' icon"} <= set(dialog)
    tabs = _by_instruction(result, "click-tab-2", "light")
    assert {"click 'Tab #1'", "click 'Tab #2'", "click 'Tab #3'"} <= set(tabs)
    for spec in pages:
        for variant in ("light", "dpr-2"):
            rows = [e for e in entries(result, spec.application) if e["group"] == variant]
            assert len(rows) >= 3
            verdicts = oracle_clicks(browser, spec, BY_NAME[variant], rows)
            assert {k: v for k, v in verdicts.items() if v != "ok"} == {}


def test_bad_input_is_refused_before_a_browser_starts(tmp_path: Path, sandbox_set: BuildResult) -> None:
    from actions.errors import BadInput

    with pytest.raises(BadInput, match="nothing to build"):
        build_grounding_set([], tmp_path / "a")
    spec = PageSpec(application="x", url="http://127.0.0.1:9/")
    with pytest.raises(BadInput, match="share an application name"):
        build_grounding_set([spec, spec], tmp_path / "b")
    with pytest.raises(BadInput, match="holds a grounding set already"):
        build_grounding_set([spec], sandbox_set.folder)


def test_cli_builds_a_sandbox_set_and_refuses_bad_options(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tasks.cli.grounding import grounding_app

    runner = CliRunner()
    out = tmp_path / "cli-set"
    done = runner.invoke(
        grounding_app, ["build", "sandbox", "settings", "--variants", "dark", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert "entries from 1 screenshot(s)" in done.stdout and (out / "images/settings/dark.png").is_file()
    assert {e["group"] for e in json.loads((out / "annotations/settings.json").read_text())} == {"dark"}
    bad = runner.invoke(
        grounding_app, ["build", "sandbox", "settings", "--variants", "sepia", "--out", str(out)]
    )
    assert bad.exit_code == 2 and "sepia" in bad.output
    bad = runner.invoke(
        grounding_app, ["build", "sandbox", "settings", "--viewport", "big", "--out", str(out)]
    )
    assert bad.exit_code == 2 and "WIDTHxHEIGHT" in bad.output
