"""The step watchdog: a run whose step makes no progress ends with a clear error instead of hanging.

The loop marks the phases that touch the world (observe, probe, execute with its settle) with
`watch(phase)`. Every call in those phases has its own deadline; the watchdog is the last line for
whatever has none (raw input to a renderer that hangs, an X server that stops answering). When a
phase outlives its allowance, `on_trip(phase, seconds)` runs on the watchdog's thread: the stuck
thread cannot be interrupted safely, so the handler records what it can and ends the process.

The model call and a confirmation question are not watched: the backend has its own timeout and
retries, and a person may take their time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType


class Watchdog:
    """Trips when one watched phase lasts longer than `limit_s` (+ the phase's own `extra_s`)."""

    def __init__(self, limit_s: float, on_trip: Callable[[str, float], None], poll_s: float = 0.25) -> None:
        self.limit_s, self.on_trip, self.poll_s = limit_s, on_trip, poll_s
        self._lock = threading.Lock()
        self._phase: tuple[str, float, float] | None = None  # (name, started, allowance in s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, phase: str, extra_s: float = 0.0) -> Iterator[None]:
        """Mark `phase` as running for the duration of the block (phases do not nest)."""
        with self._lock:
            self._phase = (phase, time.monotonic(), self.limit_s + extra_s)
        try:
            yield
        finally:
            with self._lock:
                self._phase = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            with self._lock:
                current = self._phase
            if current is None:
                continue
            name, started, allowance = current
            elapsed = time.monotonic() - started
            if elapsed > allowance:
                self._stop.set()
                self.on_trip(name, elapsed)
                return

    def __enter__(self) -> Watchdog:
        self._thread = threading.Thread(target=self._run, name="qwen-agent-watchdog", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
