"""MiniWoB++ tasks (the `miniwob` package's HTML) as a suite for the harness, scored by MiniWoB's own
reward. The page is served on 127.0.0.1; `Math.seedrandom(seed)` runs before
`core.startEpisodeReal()` (as MiniWoB's Python env does), so a seed fixes layout and instruction.

MiniWoB ends an episode after 10 s and discounts the reward by elapsed time; a VLM agent needs
longer, so the limit is extended and the raw reward (WOB_RAW_REWARD_GLOBAL) is reported beside it.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tasks.osworld.context import TaskContext
from tasks.osworld.errors import SetupFailed, Unsupported
from tasks.osworld.spec import EvaluatorSpec, SetupStep, Suite, TaskEntry, TaskSpec

MINIWOB_DEFAULT_MS = 10_000  # MiniWoB's own episode limit, used for the "reward_10s" figure
# MiniWoB's own environment: a 500x320 window (the 325 px page fits, so nothing scrolls sideways
# when a widget takes the focus), of which the 160x210 task area (#wrap, top-left) is observed.
VIEWPORT = (500, 320)
TASK_AREA = (160, 210)
SCALE = 2.0  # screenshot pixels per CSS pixel: the model sees 320x420


def html_dir() -> Path:
    """The package's html/ folder (found without importing miniwob, which registers gym envs)."""
    spec = importlib.util.find_spec("miniwob")
    if spec is None or not spec.submodule_search_locations:
        raise Unsupported("MiniWoB++ is not installed: pip install miniwob")
    return Path(next(iter(spec.submodule_search_locations))) / "html"


def miniwob_task_names() -> list[str]:
    """Every MiniWoB task name (file stems of html/miniwob/*.html)."""
    try:
        return sorted(p.stem for p in (html_dir() / "miniwob").glob("*.html"))
    except Unsupported:
        return []


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


_SERVER: dict[str, Any] = {}
_LOCK = threading.Lock()


def server_url() -> str:
    """Base URL of this process's static server for the MiniWoB HTML (started on first use)."""
    with _LOCK:
        if "url" not in _SERVER:
            handler = functools.partial(_Quiet, directory=str(html_dir()))
            httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            httpd.daemon_threads = True
            threading.Thread(target=httpd.serve_forever, daemon=True).start()
            _SERVER["httpd"] = httpd
            _SERVER["url"] = f"http://127.0.0.1:{httpd.server_address[1]}"
        return str(_SERVER["url"])


def miniwob_suite(
    tasks: list[str] | None = None, seed: int | None = None, episode_seconds: float = 600.0
) -> Suite:
    """A suite of MiniWoB tasks (all when `tasks` is empty), domain 'miniwob'."""
    known = miniwob_task_names()
    if not known:
        raise Unsupported("MiniWoB++ is not installed: pip install miniwob")
    names = list(tasks or known)
    unknown = [n for n in names if n not in known]
    if unknown:
        import difflib

        hints = {n: difflib.get_close_matches(n, known, n=1) for n in unknown}
        text = ", ".join(f"{n!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for n, h in hints.items())
        raise Unsupported(f"unknown MiniWoB task {text}")
    root = html_dir() / "miniwob"
    entries = []
    for name in names:
        spec = TaskSpec(
            id=name, instruction="", snapshot="miniwob", source="miniwob++",
            related_apps=["chrome", "miniwob"], environment="browser",
            viewport=VIEWPORT, device_scale_factor=SCALE, observe_area=TASK_AREA,
            config=[SetupStep(type="miniwob_start", parameters={
                "task": name, "seed": seed, "episode_seconds": episode_seconds})],
            evaluator=EvaluatorSpec(func="miniwob_reward", result={"type": "miniwob_reward"}),
        )  # fmt: skip
        entries.append(TaskEntry(domain="miniwob", spec=spec, path=root / f"{name}.html"))
    return Suite(name="miniwob", root=root, tasks=tuple(entries), trusted=True)


_START_JS = """([seed, ms]) => {
  if (seed !== null) Math.seedrandom(seed);
  core.EPISODE_MAX_TIME = ms;
  window.__qwenAgentReward = null;
  const original = core.endEpisode;
  core.endEpisode = function (reward, timeProportional, reason) {
    const first = core.EP_TIMER !== null && window.__qwenAgentReward === null;
    const t0 = core.ept0;
    const out = original.apply(this, arguments);
    if (first) {
      window.__qwenAgentReward = {
        done: true, reward: WOB_REWARD_GLOBAL, raw_reward: WOB_RAW_REWARD_GLOBAL,
        reason: WOB_REWARD_REASON === null ? null : String(WOB_REWARD_REASON),
        time_proportional: !!timeProportional, elapsed_ms: new Date().getTime() - t0,
      };
    }
    return out;
  };
  core.startEpisodeReal();
}"""

_QUERY_JS = (
    "() => (document.getElementById('query') || {textContent: ''}).textContent.replace(/\\s+/g, ' ').trim()"
)


def start_episode(
    ctx: TaskContext, task: str, seed: int | None = None, episode_seconds: float = 600.0, **_: Any
) -> None:
    """Load the task page, seed it, extend its time limit, start the episode; the instruction is #query."""
    if ctx.env_kind != "browser":
        raise Unsupported("MiniWoB tasks run in the browser environment")
    browser = ctx.browser
    outcome = browser.goto(f"{server_url()}/miniwob/{task}.html")
    if getattr(outcome, "kind", "executed") != "executed":
        raise SetupFailed(f"MiniWoB page {task} did not load: {getattr(outcome, 'reason', outcome)}")
    page = browser.page
    page.wait_for_function("() => typeof core !== 'undefined' && typeof genProblem === 'function'")
    page.evaluate(_START_JS, [seed, int(episode_seconds * 1000)])
    page.wait_for_function("() => WOB_TASK_READY === true", timeout=10_000)
    ctx.instruction = page.evaluate(_QUERY_JS)
    ctx.data["miniwob"] = {"task": task, "seed": seed, "episode_ms": int(episode_seconds * 1000)}


def read_reward(ctx: TaskContext) -> dict[str, Any]:
    """MiniWoB's outcome of the first episode: raw reward, reward discounted over our limit, and the
    reward MiniWoB's default 10 s limit would have given."""
    from playwright.sync_api import Error as PlaywrightError

    got = None
    try:
        got = ctx.browser.page.evaluate("() => window.__qwenAgentReward || null")
    except PlaywrightError:  # the agent navigated away or closed the tab: no reward was recorded
        got = None
    result: dict[str, Any] = (
        dict(got) if isinstance(got, dict) else {"done": False, "reward": 0.0, "raw_reward": 0.0}
    )
    raw = float(result.get("raw_reward") or 0.0)
    if result.get("done") and result.get("time_proportional"):
        elapsed = float(result.get("elapsed_ms") or 0.0)
        result["reward_10s"] = raw * max(0.0, 1.0 - elapsed / MINIWOB_DEFAULT_MS)
    else:
        result["reward_10s"] = raw if result.get("done") else 0.0
    report = {k: result.get(k) for k in ("done", "raw_reward", "reward", "reward_10s", "reason")}
    ctx.data["report"] = {**ctx.data.get("miniwob", {}), **report}
    return result


def get_reward(ctx: TaskContext, config: dict[str, Any]) -> dict[str, Any]:
    """The `miniwob_reward` getter: read_reward as a getter."""
    return read_reward(ctx)


def miniwob_reward(result: Any, *_: Any, **__: Any) -> float:
    """Score in [0, 1]: MiniWoB's raw reward (in [-1, 1]) clipped at 0; 0 when the episode never ended."""
    if not isinstance(result, dict) or not result.get("done"):
        return 0.0
    return max(0.0, min(1.0, float(result.get("raw_reward") or 0.0)))
