"""Repeatable jobs on the sandbox's intake form (9 steps a row): seconds per row for a replay beside
the model-driven run of the same row (a scripted backend that sleeps a realistic 1.5 s per call, so
the difference is what a real model costs), the replay's own time per step (locate + act + settle +
verify), and rows per minute of a whole batch with 1 and 2 workers (`qwen-agent job run --rows`)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from actions.browser import BrowserEnvironment, BrowserOptions
from actions.chromium import find_chromium
from agent.loop import run_episode
from agent.options import AgentOptions
from model.scripted import ScriptedBackend
from model.types import ModelRequest, ModelResponse
from tasks.apps.sandbox.server import SandboxServer
from tasks.jobs.batch import BatchConfig, run_batch
from tasks.jobs.compile import compile_run
from tasks.jobs.replay import Replayer
from tasks.jobs.rows import Row
from tests.test_jobs_browser import HIRE, filling, hire

MODEL_SECONDS = 1.5  # one call of an 8B Qwen3-VL on a GPU, roughly
REPLAYS = 6
BATCH_ROWS = 12


class SlowScripted(ScriptedBackend):
    """Scripted replies that take as long as a real model would."""

    def generate(self, request: ModelRequest) -> ModelResponse:
        time.sleep(MODEL_SECONDS)
        return super().generate(request)


def _values(n: int) -> dict[str, str]:
    return hire(n)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    with SandboxServer() as server:
        url = server.app_url("intake")
        env = BrowserEnvironment(BrowserOptions(start_url=url, executable_path=find_chromium()))
        try:
            env.reset()
            first = _values(0)
            replies = filling(env, first)
            options = AgentOptions(confirm="never", params=tuple(first.items()))
            start = time.perf_counter()
            instruction = HIRE.replace("{{", "{").replace("}}", "}").format(**first)
            result = run_episode(instruction, env, SlowScripted(replies), options, root / "run")
            model_row = time.perf_counter() - start
            assert result.status == "success", result
            job = compile_run(root / "run", root / "job")
            rows, steps = [], []
            for n in range(1, REPLAYS + 1):
                env.reset()
                start = time.perf_counter()
                outcome = Replayer(job, root / "job", env, _values(n), root / f"row{n}").run()
                rows.append(time.perf_counter() - start)
                assert outcome.status == "done", outcome
                steps += [s.ms for s in outcome.steps]
        finally:
            env.close()
        replay_row = statistics.median(rows)
        print(f"{'per row (9 steps)':<34} {'seconds':>8}")
        print(f"{'model-driven run (1.5 s a call)':<34} {model_row:8.2f}")
        print(f"{'replay, no model':<34} {replay_row:8.2f}   ({model_row / replay_row:.1f}x faster)")
        print(f"replay per step: median {statistics.median(steps):.0f} ms, max {max(steps):.0f} ms "
              f"(locate + act + settle + verify; the model-driven step adds {MODEL_SECONDS} s)")  # fmt: skip
        for workers in (1, 2):
            batch = [
                Row(key=f"w{workers}-{n}", line=n, values=_values(100 * workers + n))
                for n in range(BATCH_ROWS)
            ]
            config = BatchConfig(job_dir=root / "job", out=root / f"batch{workers}", workers=workers, url=url)
            start = time.perf_counter()
            outcomes = run_batch(batch, config, lambda *_: None)
            minutes = (time.perf_counter() - start) / 60
            done = sum(o.status == "done" for o in outcomes)
            print(f"batch of {BATCH_ROWS} rows, {workers} worker(s): {BATCH_ROWS / minutes:5.1f} rows/min "
                  f"({done} done; start-up of the workers' browsers included)")  # fmt: skip
