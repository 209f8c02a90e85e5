"""Worker processes for long batches (an evaluation's tasks, a job's rows): each worker owns its own
browser, display and servers, so a crash or a stuck browser never takes the batch down, and every
item is recorded exactly once.

Workers die with the batch: each asks the kernel for SIGTERM when its parent dies (and checks the
parent is alive, at start and every half second), and on SIGTERM stops its own browser, driver and
X server before it exits (Chromium runs in a session of its own: no terminal signal reaches it). An
outcome being recorded is finished first, so a result is never half written by our own hand. Each
worker shares the results folder's workers lock (tasks.pool.lock) for its whole life, so a resumed
batch cannot start while an old one's workers still run.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, Protocol, TypeVar

from actions.processes import set_parent_death_signal, stop_descendants
from tasks.pool.lock import hold_workers_lock

ORPHANED_EXIT = 128 + signal.SIGTERM  # a worker ended by SIGTERM or by its parent's death


class Keyed(Protocol):
    @property
    def key(self) -> str: ...


ItemT = TypeVar("ItemT", bound=Keyed)
OutcomeT = TypeVar("OutcomeT", bound=Keyed)
_Item = TypeVar("_Item", contravariant=True)
_Outcome = TypeVar("_Outcome")


class Worker(Protocol[_Item, _Outcome]):
    """One worker's long-lived resources: runs items, records their outcomes, closes at the end."""

    def run(self, item: _Item) -> _Outcome: ...

    def record(self, outcome: _Outcome) -> None: ...

    def close(self) -> None: ...


Progress = Callable[[str, Any], None]  # ("start", key) / ("done", outcome)


class _Lifeline:
    """Ties a worker process to the batch that started it: SIGTERM, or the parent's death, ends the
    worker after its descendants (browser, driver, Xvfb, launched apps), and only between two
    recorded outcomes."""

    def __init__(self, parent_pid: int) -> None:
        self.parent_pid = parent_pid
        self._lock = threading.Lock()  # held while an outcome is being recorded
        self._busy = False  # set (by the main thread) before it takes the lock
        self._pending = False  # SIGTERM came while recording: end right after

    def hold(self) -> None:
        signal.signal(signal.SIGTERM, self._on_sigterm)
        set_parent_death_signal(signal.SIGTERM)  # Linux; the watch thread covers the rest
        threading.Thread(target=self._watch, name="worker-lifeline", daemon=True).start()

    def parent_alive(self) -> bool:
        return os.getppid() == self.parent_pid  # an orphan is re-parented to init or a subreaper

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Around writing an outcome: an end asked for meanwhile waits until it is written."""
        self._busy = True
        try:
            with self._lock:
                yield
        finally:
            self._busy = False
        if self._pending:
            self.end()

    def end(self) -> NoReturn:
        stop_descendants(grace_s=1.0)
        os._exit(ORPHANED_EXIT)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self._busy:  # the handler runs in the main thread, which is recording: after it
            self._pending = True
            return
        self.end()

    def _watch(self) -> None:
        while self.parent_alive():
            time.sleep(0.5)
        self._lock.acquire(timeout=10)  # an outcome being written is finished first
        self.end()


def _worker_main(
    make_worker: Callable[[Any], Worker[Any, Any]],
    config: Any,
    lock_root: Path,
    items: Any,
    done: Any,
    wid: int,
    parent_pid: int,
    halt: Callable[[Any], bool] | None,
    stop: Any,
) -> None:
    """A worker process: take items until the None sentinel (or until `stop` is set), record and
    report each outcome; an outcome for which `halt` is true sets `stop` for every worker."""
    lifeline = _Lifeline(parent_pid)
    lifeline.hold()
    hold_workers_lock(lock_root)  # for our whole life: no other batch starts on this folder
    if not lifeline.parent_alive():  # it died before we asked to be told
        lifeline.end()
    worker = make_worker(config)
    try:
        while not stop.is_set():
            item = items.get()
            if item is None or stop.is_set():
                return
            done.put(("start", item.key, wid))
            outcome = worker.run(item)
            with lifeline.recording():
                worker.record(outcome)
            if halt is not None and halt(outcome):
                stop.set()  # before the report: no worker starts another item after this one
            done.put(("done", outcome, wid))
    finally:
        worker.close()


def run_pool(
    items: Sequence[ItemT],
    make_worker: Callable[[Any], Worker[ItemT, OutcomeT]],
    config: Any,
    lock_root: Path,
    workers: int,
    record_lost: Callable[[ItemT, int | None], OutcomeT],
    progress: Progress,
    halt: Callable[[OutcomeT], bool] | None = None,
) -> list[OutcomeT]:
    """Run `items` on `workers` processes, each made by `make_worker(config)` (a top-level function:
    workers are spawned); returns their outcomes in item order. When `halt(outcome)` (a top-level
    function) is true, no further item starts: those are left out of the result, items already
    running finish.

    A worker that dies (a crash, or a stuck step's watchdog) costs only its current item, which
    `record_lost(item, exit code)` records (unless the worker recorded it just before); a fresh
    worker takes its place for the items left.
    """
    if not items:
        return []
    ctx = mp.get_context("spawn")
    todo, done, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    for item in items:
        todo.put(item)
    n = min(workers, len(items))
    for _ in range(n):
        todo.put(None)
    by_key = {item.key: item for item in items}

    def spawn(wid: int) -> Any:
        args = (make_worker, config, lock_root, todo, done, wid, os.getpid(), halt, stop)
        proc = ctx.Process(target=_worker_main, args=args)
        proc.start()
        return proc

    procs = {wid: spawn(wid) for wid in range(n)}
    running: dict[int, str] = {}  # worker id -> key of the item it started
    outcomes: dict[str, OutcomeT] = {}
    started: set[str] = set()
    halted = False
    try:
        while len(outcomes) < len(items) and not (halted and not running):
            try:
                kind, payload, wid = done.get(timeout=1.0)
            except queue.Empty:
                for wid, proc in list(procs.items()):
                    if proc.is_alive() or proc.exitcode == 0:
                        continue
                    key = running.pop(wid, None)
                    if key is None or key in outcomes:
                        continue  # died outside an item (e.g. at start): its items go to the others
                    outcome = record_lost(by_key[key], proc.exitcode)
                    outcomes[key] = outcome
                    progress("done", outcome)
                    procs[wid] = spawn(wid)  # takes the dead worker's place (and its sentinel)
                if not any(p.is_alive() for p in procs.values()):
                    break  # every worker ended normally: the rest are reported as lost below
                continue
            if kind == "start":
                running[wid] = payload
                started.add(payload)
            else:
                running.pop(wid, None)
                if payload.key in outcomes:
                    continue  # already recorded as lost (cannot happen; never count an item twice)
                outcomes[payload.key] = payload
                halted = halted or (halt is not None and halt(payload))
            progress(kind, payload)
    finally:
        for p in procs.values():
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    for item in items:
        if item.key not in outcomes and (not halted or item.key in started):
            outcome = record_lost(item, None)
            outcomes[item.key] = outcome
            progress("done", outcome)
    return [outcomes[item.key] for item in items if item.key in outcomes]
