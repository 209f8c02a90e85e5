"""`evaluate_grounding`: one model call per sample, scored and recorded as it comes, then
summary.json and report.html. The CLI (`qwen-agent eval grounding PATH`) wraps it.

Parallelism is threads, not worker processes (tasks.pool.workers): a sample is one model call and a
little image work, with no browser or display to isolate. An in-process model must not be loaded once
per worker (N copies of the weights), so calls to it are serialised (`parallel_calls=False`) while
image loading, parsing and thumbnails still overlap; an HTTP endpoint (vLLM, SGLang) batches
concurrent requests, so there `--workers N` means N requests in flight.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from actions.errors import BadInput
from model.backend import ModelBackend
from model.qwen3vl import ProtocolSettings
from tasks.grounding.formats import GroundingSet, load_grounding_set
from tasks.grounding.query import grounding_request, read_prediction
from tasks.grounding.report import render_report, write_thumbnail
from tasks.grounding.results import (
    REPORT_FILE,
    RESULTS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    SampleResult,
    read_results,
    record,
    summarize,
)
from tasks.grounding.samples import FormatName, Sample
from tasks.grounding.scoring import score

Progress = Callable[[str], None]  # one line for stderr


class GroundingRun(BaseModel):
    """What a run leaves: the results folder, the summary written there, the results in data set
    order, and how many model calls this invocation made (0 when everything was done before)."""

    model_config = ConfigDict(frozen=True)

    folder: Path
    summary: dict[str, Any]
    results: tuple[SampleResult, ...]
    calls: int


def _run_settings(backend: ModelBackend, settings: ProtocolSettings) -> dict[str, Any]:
    return {
        "model": backend.name,
        "grid": settings.grid.size,
        "grid_mode": settings.grid.mode,
        "min_pixels": settings.pixels.min_pixels,
        "max_pixels": settings.pixels.max_pixels,
        "max_new_tokens": settings.max_new_tokens,
    }


def _prepare_folder(out: Path, run: dict[str, Any], resume: bool) -> None:
    """Create the results folder; refuse to mix two runs' results in one file."""
    results, run_file = out / RESULTS_FILE, out / RUN_FILE
    if results.exists() and not resume:
        raise BadInput(f"{results} holds results of an earlier run: pass --resume to continue it, "
                       "or choose another --out")  # fmt: skip
    if resume and run_file.is_file():
        before = json.loads(run_file.read_text(encoding="utf-8"))
        changed = [f"{k} {before.get(k)!r} -> {v!r}" for k, v in run.items() if before.get(k) != v]
        if changed:
            raise BadInput(f"--resume: {out} was measured with other settings ({'; '.join(changed)}); "
                           "choose another --out")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")


class _Runner:
    """Scores samples on the calling thread; shared by the pool's threads."""

    def __init__(
        self, backend: ModelBackend, settings: ProtocolSettings, out: Path, parallel_calls: bool
    ) -> None:
        self.backend, self.settings, self.out = backend, settings, out
        self._call_lock: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if parallel_calls else threading.Lock()
        )
        self._count_lock = threading.Lock()
        self.calls = 0
        self.stop = threading.Event()  # a model error: samples not yet started are left alone

    def run(self, sample: Sample) -> SampleResult | None:
        from PIL import Image

        if self.stop.is_set():
            return None
        with Image.open(sample.image) as im:
            image = im.convert("RGB")
        request = grounding_request(image, sample.instruction, self.settings)
        with self._count_lock:
            self.calls += 1
        with self._call_lock:
            started = time.perf_counter()
            response = self.backend.generate(request)
            latency = time.perf_counter() - started
        prediction = read_prediction(response, image.size, self.settings)
        verdict = score(sample, prediction)
        thumbnail = (
            None
            if verdict.correct
            else write_thumbnail(self.out, image, sample.key, sample.target, prediction.point)
        )
        result = SampleResult.of(
            sample, answer=prediction.answer, point=prediction.point, outcome=verdict.outcome,
            correct=verdict.correct, reason=prediction.reason, raw=prediction.raw,
            latency_s=round(latency, 3), thumbnail=thumbnail,
        )  # fmt: skip
        record(self.out, result)
        return result


def _results_in_order(
    samples: tuple[Sample, ...] | list[Sample], runner: _Runner, workers: int
) -> Iterator[SampleResult]:
    """Run the samples, yielding each result as it is recorded; the first error stops new samples
    and is raised once those in flight have finished (their results are recorded)."""
    if workers <= 1:
        for sample in samples:
            result = runner.run(sample)
            if result is not None:
                yield result
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grounding") as pool:
        pending: set[Future[SampleResult | None]] = {pool.submit(runner.run, s) for s in samples}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    if future.exception() is not None:
                        runner.stop.set()
                        for other in pending:
                            other.cancel()
                        wait(pending)
                        raise future.exception()  # type: ignore[misc]
                    result = future.result()
                    if result is not None:
                        yield result
        finally:
            runner.stop.set()  # a consumer that stops early (Ctrl+C) starts nothing new


def evaluate_grounding(
    path: Path | GroundingSet,
    backend: ModelBackend,
    out: Path,
    *,
    fmt: FormatName | None = None,
    images: Path | None = None,
    settings: ProtocolSettings = ProtocolSettings(),
    workers: int = 1,
    parallel_calls: bool = False,
    resume: bool = False,
    limit: int | None = None,
    progress: Progress | None = None,
) -> GroundingRun:
    """Measure grounding accuracy of `backend` on a data set (a path, or one loaded already).

    Writes into `out`: results.jsonl (one line per sample), summary.json, report.html, misses/
    (thumbnails of wrong answers) and run.json (the settings; `resume` must match them). With
    `resume`, samples already in results.jsonl are not asked again. `limit`: the first N samples only.
    `parallel_calls`: the backend may be called from `workers` threads at once (HTTP endpoints).
    Raises GroundingDataError (bad data, exit 2), BadInput (an `out` holding another run) and
    ModelError (the model cannot answer, exit 4; what was scored before stays recorded).
    """
    say = progress or (lambda line: None)
    data = path if isinstance(path, GroundingSet) else load_grounding_set(path, fmt, images)
    samples = data.samples[:limit] if limit is not None else data.samples
    run = _run_settings(backend, settings)
    _prepare_folder(out, run, resume)
    done = read_results(out) if resume else {}
    keys = {s.key for s in samples}
    todo = [s for s in samples if s.key not in done]
    earlier = [r for k, r in done.items() if k in keys]
    files = (
        ", ".join(map(str, data.files)) if len(data.files) <= 3 else f"{len(data.files)} files in {data.path}"
    )
    say(f"grounding: {len(samples)} sample(s) from {files} "
        f"({', '.join(sorted(set(data.formats)))}); {len(earlier)} done earlier, {len(todo)} to ask "
        f"{backend.name} on {workers} worker(s)")  # fmt: skip
    runner = _Runner(backend, settings, out, parallel_calls)
    correct, count = sum(r.correct for r in earlier), len(earlier)
    for n, result in enumerate(_results_in_order(todo, runner, workers), 1):
        count += 1
        correct += result.correct
        where = "" if result.point is None else f" at ({result.point[0]}, {result.point[1]})"
        say(f"[{n}/{len(todo)}] {result.key}: {result.outcome}{where} ({result.latency_s:.1f} s)"
            f"  | accuracy so far {100 * correct / count:.1f}% of {count}")  # fmt: skip
    recorded = read_results(out)
    results = [recorded[s.key] for s in samples if s.key in recorded]
    meta = {
        **run,
        "data": str(data.path),
        "files": [str(f) for f in data.files],
        "formats": sorted(set(data.formats)),
        "samples_in_set": len(data.samples),
        "limit": limit,
    }
    summary = summarize(results, meta)
    (out / SUMMARY_FILE).write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / REPORT_FILE).write_text(render_report(summary, results), encoding="utf-8")
    return GroundingRun(folder=out, summary=summary, results=tuple(results), calls=runner.calls)
