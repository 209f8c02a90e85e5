"""A test set for change detection, made from real Chromium screenshots: pairs of (before, after,
changed?) for small changes (a digit, a typed character, a jQuery UI spinner step) and for screens
that must count as unchanged (the same screen twice, a caret blink). Shared by the change-detection
test and its benchmark."""

from __future__ import annotations

import io
from typing import Any, NamedTuple

from PIL import Image


class Pair(NamedTuple):
    name: str
    before: Any
    after: Any
    changed: bool
    scale: float


def _shot(env: Any, caret: str = "initial") -> Any:
    device = env.options.screenshot_frame == "device"
    data = env.page.screenshot(type="jpeg", quality=90, caret=caret, scale="device" if device else "css")
    return Image.open(io.BytesIO(data)).convert("RGB")


def change_pairs(env: Any, url: str) -> list[Pair]:
    """Pairs taken on `url` (tests/pages/changes.html) in a BrowserEnvironment."""
    scale = env.options.device_scale_factor if env.options.screenshot_frame == "device" else 1.0
    env.goto(url)
    pairs: list[Pair] = []

    def step(name: str, js: str | None, changed: bool) -> None:
        before = _shot(env)
        if js:
            env.evaluate(js)
        pairs.append(Pair(name, before, _shot(env), changed, scale))

    step("same screen twice", None, False)
    for n in (2, 3, 10):
        step(f"counter -> {n}", f"document.getElementById('count').textContent = '{n}'", True)
    step("spinner -1 -> -5", "$('#qty').spinner('value', -5)", True)
    step("spinner -5 -> -4", "$('#qty').spinner('stepUp')", True)
    env.evaluate("document.getElementById('name').focus()")
    for text in ("Ada L", "Ada Lo", "Ada Lov."):
        step(f"typed '{text[-1]}'", f"document.getElementById('name').value = '{text}'", True)
    # A caret blink: the same focused field with and without its caret drawn.
    pairs.append(Pair("caret blink", _shot(env, "initial"), _shot(env, "hide"), False, scale))
    pairs.append(Pair("caret blink back", _shot(env, "hide"), _shot(env, "initial"), False, scale))
    return pairs
