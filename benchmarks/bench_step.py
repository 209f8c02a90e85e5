"""The agent's own time per step, end to end as a user runs it: `run_episode` with recording on and
the OpenAI-compatible backend pointed at a local server that answers at once, on the desktop (Xvfb +
the Tk probe app) and in the browser, at 1280x800 and 1920x1080, K = 4 history images, every step a
click. Per step: capture, context (prompt building), encode (the request's images),
request/response handling, parse, probe (looking under the pointer), execute (input, without the
settle), record and the rest of the loop (the step's wall time less everything above, the waits and
the server), the total without the waits, and the waits for the screen (hover effects before the
probe, the settle after the action). Beside it, in the same run, the naive peer loop: a PNG
screenshot, every history image re-encoded as PNG base64, the same server, then a fixed 1 s sleep.
Last, the RSS of a 200-step run at 1920x1080 (screenshots beyond the history window must be
released).
"""

from __future__ import annotations

import base64
import io
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from actions.environment import Environment, EnvironmentBase
from actions.types import Click, Executed, Observation, ScreenGeometry
from agent.loop import run_episode
from agent.observers import ObserverBase
from agent.options import AgentOptions
from agent.trajectory import Step
from model.config import ModelConfig
from model.images import ImageFormat
from model.openai_backend import OpenAIBackend
from model.qwen3vl import format_reply
from model.types import ModelRequest

SIZES = ((1280, 800), (1920, 1080))
STEPS = 16
HISTORY = 4
NAIVE_STEPS = 4
LONG_RUN = 200
# The per-step breakdown, in the order printed (agent_steps' docstring says what each one holds).
COLUMNS = (
    "capture",
    "context",
    "encode",
    "request",
    "parse",
    "probe",
    "execute",
    "record",
    "total",
    "settle",
)
PAGE = """<!doctype html><html><body style="margin:0;font:16px sans-serif">
<input id="box" autofocus style="position:absolute;left:40px;top:40px;width:400px;height:32px">
<button id="add" style="position:absolute;left:480px;top:40px;width:120px;height:36px"
 onclick="document.getElementById('log').append(Object.assign(document.createElement('div'),
 {textContent: 'line ' + document.getElementById('log').childElementCount}))">Add</button>
<div id="log" style="position:absolute;left:40px;top:100px"></div></body></html>"""


class InstantModel:
    """A local OpenAI-compatible server that answers at once with a click on the `points` (logical
    px of `screen`) in turn (each click changes the screen); it times its own handling."""

    def __init__(self, screen: tuple[int, int], *points: tuple[int, int]) -> None:
        geometry = ScreenGeometry(width=screen[0], height=screen[1])
        self.replies = [format_reply(Click(x=x, y=y), geometry, summary="Click") for x, y in points]
        self.count = 0
        self.server_ms: list[float] = []
        model = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                start = time.perf_counter()
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                model.count += 1
                text = model.replies[model.count % len(model.replies)]
                body = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                model.server_ms.append((time.perf_counter() - start) * 1000)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class TimedOpenAI(OpenAIBackend):
    """The real OpenAI-compatible backend, timing how long building each request body takes (the
    images' encoding is most of it)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.encode_ms: list[float] = []

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        start = time.perf_counter()
        body = super().request_body(request)
        self.encode_ms.append((time.perf_counter() - start) * 1000)
        return body


class StepClock(ObserverBase):
    """The wall time between consecutive action steps, as the loop hands them over."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self.steps: list[Step] = []

    def on_step(self, step: Step, observation: Observation | None) -> None:
        if step.kind == "action":
            self.stamps.append(time.perf_counter())
            self.steps.append(step)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _options(steps: int) -> AgentOptions:
    """`steps` clicks, never asked, never stopped as a loop or by the watchdog."""
    return AgentOptions(
        confirm="never", max_steps=steps, history_images=HISTORY, plan=False, explain_blocked=False,
        loop_nudge_after=steps + 1, loop_stop_after=steps + 1, stuck_after_s=None,
    )  # fmt: skip


def agent_steps(
    env: Environment, model: InstantModel, size: tuple[int, int], image_format: ImageFormat = "png"
) -> dict[str, float]:
    """Run STEPS steps with recording; the per-step breakdown (medians, ms; steps 3.. so the history
    is full and caches are warm). `image_format`: how the request's images are encoded."""
    config = ModelConfig(model="bench", endpoint=model.endpoint, max_retries=0, image_format=image_format)
    backend = TimedOpenAI(config)
    clock = StepClock()
    options = _options(STEPS)
    model.server_ms.clear()
    with tempfile.TemporaryDirectory() as folder:
        run_episode("Click on", env, backend, options, Path(folder), [clock])
    rows: dict[str, list[float]] = {k: [] for k in COLUMNS}
    # Step i's cycle runs from step i-1's hand-over to its own; request i is step i's. From step 3
    # on the history is full and every cache warm.
    for i in range(3, len(clock.steps)):
        t = clock.steps[i].timing
        wall = (clock.stamps[i] - clock.stamps[i - 1]) * 1000
        enc, srv = backend.encode_ms[i], model.server_ms[i]
        known = (
            t.observe_ms + t.context_ms + t.predict_ms + t.parse_ms + t.hover_ms + t.probe_ms + t.execute_ms
        )
        waits = t.settle_ms + t.hover_ms  # for the screen: hover effects, then the action's settle
        values = {
            "capture": t.observe_ms, "context": t.context_ms, "encode": enc,
            "request": t.predict_ms - enc - srv, "parse": t.parse_ms, "probe": t.probe_ms,
            "execute": t.execute_ms - t.settle_ms,
            "record": max(wall - known, 0.0), "total": wall - waits - srv, "settle": waits,
        }  # fmt: skip
        for key, value in values.items():
            rows[key].append(value)
    return {k: _median(v) for k, v in rows.items()}


def naive_steps(observe_png: Callable[[], bytes], click: Callable[[], None], model: InstantModel) -> float:
    """The peers' loop: PNG screenshot, all history images re-encoded, the request, a click, 1 s."""
    history: list[bytes] = []
    times = []
    with httpx.Client() as client:
        for _ in range(NAIVE_STEPS):
            start = time.perf_counter()
            history = [*history[-HISTORY:], observe_png()]
            images = [base64.b64encode(png).decode() for png in history]  # re-encoded every step
            client.post(
                model.endpoint + "/chat/completions", json={"messages": [{"role": "user", "content": images}]}
            )
            click()
            time.sleep(1.0)
            times.append((time.perf_counter() - start) * 1000)
    return _median(times)


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")  # pyautogui.screenshot() + save: the default compression
    return buffer.getvalue()


def browser(size: tuple[int, int]) -> tuple[dict[str, float], float]:
    from actions.browser import BrowserEnvironment, BrowserOptions
    from actions.chromium import find_chromium

    url = "data:text/html," + PAGE.replace("\n", " ")
    env = BrowserEnvironment(BrowserOptions(start_url=url, viewport=size, executable_path=find_chromium()))
    try:
        model = InstantModel(size, (520, 58), (560, 58))  # two points on Add: every click adds a line
        figures = agent_steps(env, model, size)
        naive = naive_steps(
            lambda: env.page.screenshot(type="png"), lambda: env.page.mouse.click(540, 58), model
        )
        model.close()
        return figures, naive
    finally:
        env.close()


def desktop(size: tuple[int, int], image_format: ImageFormat = "png") -> tuple[dict[str, float], float]:
    from actions.desktop import DesktopEnvironment, DesktopOptions
    from actions.xdisplay import VirtualDisplay
    from tasks.apps.desktop import launch_app

    with tempfile.TemporaryDirectory() as tmp, VirtualDisplay(*size) as display:
        app = launch_app("probe", Path(tmp) / "probe.jsonl", display.env)
        try:
            with DesktopEnvironment(DesktopOptions(display=display.display)) as env:
                # Two targets in turn: the probe's status line names each press.
                targets = {t["name"]: t for t in app.ready["targets"]}
                points = [(targets[n]["x_root"], targets[n]["y_root"]) for n in ("nw", "center")]
                model = InstantModel(size, *points)
                x, y = points[0]
                figures = agent_steps(env, model, size, image_format)
                naive = naive_steps(lambda: _png(env.observe().image), lambda: env.input.click(x, y), model)
                model.close()
                return figures, naive
        finally:
            app.close()


class _Canvas(EnvironmentBase):
    """An in-memory 1920x1080 screen whose counter changes on every action (for the long run)."""

    name = "canvas"

    def __init__(self) -> None:
        self.actions = 0

    def reset(self) -> None:
        self.actions = 0

    def observe(self) -> Observation:
        from PIL import Image, ImageDraw

        image = Image.new("RGB", (1920, 1080), "white")
        ImageDraw.Draw(image).text(
            (100 + self.actions % 50 * 30, 100), f"action {self.actions}", fill="black"
        )
        return Observation(image=image, geometry=ScreenGeometry(width=1920, height=1080))

    def execute(self, action: Any) -> Executed:
        self.actions += 1
        return Executed(settle_ms=0.0)

    def close(self) -> None:
        pass


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def long_run() -> tuple[float, float]:
    """RSS (MB) after step 20 and after step 200 of one run at 1920x1080 with recording."""
    model = InstantModel((1920, 1080), (960, 540), (1000, 540))
    backend = OpenAIBackend(ModelConfig(model="bench", endpoint=model.endpoint, max_retries=0))
    marks: dict[int, float] = {}

    class Rss(ObserverBase):
        def on_step(self, step: Step, observation: Observation | None) -> None:
            if step.index in (20, LONG_RUN):
                marks[step.index] = _rss_mb()

    options = _options(LONG_RUN)
    with tempfile.TemporaryDirectory() as folder:
        run_episode("Count", _Canvas(), backend, options, Path(folder), [Rss()])
    model.close()
    return marks.get(20, 0.0), marks.get(LONG_RUN, 0.0)


def main() -> None:
    print(f"{'ms per step (median)':<22}" + "".join(f"{c:>9}" for c in COLUMNS) + f"{'naive':>9}{'ratio':>7}")
    rows: list[tuple[str, str, tuple[int, int], ImageFormat]] = [
        (f"{kind} {w}x{h}", kind, (w, h), "png") for kind in ("desktop", "browser") for w, h in SIZES
    ]
    # The desktop step at 1080p with the request's images as JPEG q90 (--image-format jpeg): the PNG
    # encode is the largest part of the agent's own time there.
    rows.append(("desktop 1920x1080 jpeg", "desktop", (1920, 1080), "jpeg"))
    for label, kind, size, image_format in rows:
        figures, naive = desktop(size, image_format) if kind == "desktop" else browser(size)
        own = figures["total"] + figures["settle"]
        print(
            f"{label:<22}"
            + "".join(f"{figures[c]:9.1f}" for c in COLUMNS)
            + f"{naive:9.0f}{naive / own:6.1f}x"
        )
    print("total: the agent's own time (wall less settle and server); naive: PNG screenshot + every history")
    print("image re-encoded + request + click + 1 s sleep; ratio: naive / (total + settle)")
    at20, at200 = long_run()
    print(f"RSS of a {LONG_RUN}-step run at 1920x1080 (recording, K={HISTORY}): {at20:.0f} MB at step 20, "
          f"{at200:.0f} MB at step {LONG_RUN}")  # fmt: skip
