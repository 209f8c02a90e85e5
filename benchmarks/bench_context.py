"""Prompt size over a 30-step run: tokens per step stay bounded with the last-K-images policy.

A scripted model clicks a counter on a 1280x800 in-memory screen 30 times; every step's request
is measured (visual tokens via model.qwen3vl.visual_tokens + text chars / 4). Compared: K = 4
(default), K = 1, and all images kept. Also: how much of each prompt's text repeats the previous
prompt's beginning byte for byte (what a server's prefix cache can reuse).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from actions.environment import EnvironmentBase

STEPS = 30
SIZE = (1280, 800)


class CounterScreen(EnvironmentBase):
    """A real Environment: a screen whose counter increments on every click (so every step changes)."""

    name = "counter"

    def __init__(self) -> None:
        self.clicks = 0

    def reset(self) -> None:
        self.clicks = 0

    def observe(self) -> Any:
        from PIL import Image, ImageDraw

        from actions.types import Observation, ScreenGeometry

        image = Image.new("RGB", SIZE, "white")
        draw = ImageDraw.Draw(image)
        draw.rectangle((540, 340, 740, 460), outline="black", width=3)
        draw.text((560, 380), f"clicked {self.clicks} times", fill="black")
        for i in range(self.clicks):
            draw.rectangle((20 + 40 * i, 20, 50 + 40 * i, 50), fill=(30, 30, 200))
        return Observation(image=image, geometry=ScreenGeometry(width=SIZE[0], height=SIZE[1]))

    def execute(self, action: Any) -> Any:
        from actions.types import Executed

        self.clicks += 1
        return Executed(settle_ms=0.0)

    def close(self) -> None:
        pass


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _run(history_images: int) -> tuple[list[int], list[int], list[float], float]:
    from actions.types import Click, ScreenGeometry
    from agent.loop import run_episode
    from agent.options import AgentOptions
    from model.qwen3vl import format_reply
    from model.scripted import ScriptedBackend

    screen = ScreenGeometry(width=SIZE[0], height=SIZE[1])
    click = format_reply(Click(x=SIZE[0] // 2, y=SIZE[1] // 2), screen, summary="Click the counter")
    backend = ScriptedBackend([click] * STEPS)
    options = AgentOptions(max_steps=STEPS, history_images=history_images, confirm="never")
    start = time.perf_counter()
    result = run_episode("Click the counter 30 times", CounterScreen(), backend, options)
    elapsed = time.perf_counter() - start
    tokens = [s.usage.prompt_tokens for s in result.steps]
    images = [len(r.images) for r in backend.requests]
    texts = ["\n".join(m.text for m in r.messages) for r in backend.requests]
    reuse = [_common_prefix(a, b) / len(b) for a, b in itertools.pairwise(texts)]
    return tokens, images, reuse, elapsed


def main() -> None:
    print(f"{STEPS}-step run on a {SIZE[0]}x{SIZE[1]} screen; prompt tokens estimated per step")
    rows = []
    for k in (4, 1, STEPS):
        tokens, images, reuse, elapsed = _run(k)
        label = f"K={k}" if k != STEPS else "all images"
        rows.append((label, tokens))
        print(
            f"{label:>10}: step 1 {tokens[0]:>6} tok, step 10 {tokens[9]:>6}, step 30 {tokens[-1]:>6}, "
            f"max {max(tokens):>6}, images/request max {max(images)}; "
            f"text prefix reused {100 * min(reuse):.0f}-{100 * max(reuse):.0f}%; "
            f"loop overhead {1000 * elapsed / STEPS:.1f} ms/step"
        )
    k4 = rows[0][1]
    print(
        f"K=4: last/first step ratio {k4[-1] / k4[0]:.2f}; steps 5..30 spread {max(k4[4:]) - min(k4[4:])} tok"
    )
    print(f"all images / K=4 at step 30: {rows[2][1][-1] / k4[-1]:.1f}x")


if __name__ == "__main__":
    main()
