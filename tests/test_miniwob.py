"""MiniWoB++ through the harness: a seeded episode is reproducible, the instruction comes from the
page's #query, and the score is MiniWoB's own reward (raw and discounted both reported)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.test_harness_browser import call, script

pytestmark = pytest.mark.browser

BOX_JS = "() => { const r = document.getElementById('subbtn').getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }"


def _episode(env: Any, tmp_path: Path, seed: int) -> tuple[list[float], str]:
    from tasks.osworld.context import TaskContext
    from tasks.suites.miniwob import miniwob_suite, start_episode

    entry = miniwob_suite(["click-test"], seed=seed).tasks[0]
    ctx = TaskContext(
        entry=entry, env=env, env_kind="browser", suite_root=tmp_path, workdir=tmp_path,
        downloads=tmp_path, cache_dir=tmp_path,
    )  # fmt: skip
    start_episode(ctx, "click-test", seed=seed)
    return env.page.evaluate(BOX_JS), ctx.instruction or ""


def test_miniwob_seed_reproducible_and_scored_by_its_own_reward(tmp_path: Path) -> None:
    from actions.browser import BrowserEnvironment, BrowserOptions
    from actions.chromium import find_chromium
    from tasks.eval.evaluate import evaluate
    from tasks.eval.harness import EvalConfig
    from tasks.suites import resolve_suite
    from tasks.suites.miniwob import SCALE, TASK_AREA, VIEWPORT, miniwob_task_names

    require(find_chromium() is not None, "Chromium is not installed")
    assert "click-test" in miniwob_task_names() and len(miniwob_task_names()) > 100
    options = BrowserOptions(
        viewport=VIEWPORT, observe_area=TASK_AREA, device_scale_factor=SCALE, screenshot_frame="device"
    )
    with BrowserEnvironment(options) as env:
        box, instruction = _episode(env, tmp_path, seed=7)
        again, _ = _episode(env, tmp_path, seed=7)
        other, _ = _episode(env, tmp_path, seed=8)
        # As MiniWoB's own environment: a 500x320 window, the model sees the 160x210 task area, whose
        # top is the yellow instruction bar.
        shot = env.observe()
        assert (shot.geometry.width, shot.geometry.height) == TASK_AREA
        assert shot.image.size == (TASK_AREA[0] * SCALE, TASK_AREA[1] * SCALE)
        band = shot.image.crop((0, 0, shot.image.width, int(40 * SCALE))).getcolors(1 << 20) or []
        r, g, b = max(band)[1]  # the bar's most common colour
        assert r > 200 and g > 200 and b < 80
    assert instruction == "Click the button."  # read from the page's #query
    assert box == again and box != other
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    target = [round(cx / TASK_AREA[0] * 1000), round(cy / TASK_AREA[1] * 1000)]  # the model's grid

    def run(name: str, *replies: str) -> dict[str, Any]:
        suite = resolve_suite("miniwob", tasks=["click-test"], seed=7, episode_seconds=120)
        config = EvalConfig(
            suite_name="miniwob", suite_root=suite.root, model=script(tmp_path / f"{name}.jsonl", *replies),
            out=tmp_path / "results", run_name=name, max_steps=3,
        )  # fmt: skip
        _summary, root = evaluate(suite, config, lambda kind, payload: None)
        return json.loads((root / "miniwob" / "click-test" / "score.json").read_text())

    hit = run("hit", call("left_click", coordinate=target), call("terminate", status="success"))
    assert hit["score"] == 1.0 and hit["instruction"] == "Click the button."
    assert hit["extra"]["done"] is True and hit["extra"]["raw_reward"] == 1.0
    assert 0 < hit["extra"]["reward"] <= 1.0  # discounted over our extended limit
    assert 0 <= hit["extra"]["reward_10s"] <= hit["extra"]["raw_reward"]  # what MiniWoB's 10 s rule gives
    assert hit["extra"]["seed"] == 7
    miss = run("miss", call("terminate", status="success"))
    assert miss["score"] == 0.0 and miss["extra"]["done"] is False
