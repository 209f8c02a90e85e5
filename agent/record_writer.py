"""A background writer for the run folder: PNG encoding and file writes happen on one thread of
their own, in order, so the agent's loop never waits for them.

Jobs run first in, first out on a single thread, so a step's screenshot is renamed into place before
its traj.jsonl line is written, and lines keep their order. `wait()` blocks until every job handed in
so far is done; agent.loop calls it when the next model reply has arrived, so every finished step is
on disk before the next model call returns (a kill before that loses at most the newest step, never
a torn line or a line without its image). A job that fails (a full disk) is re-raised by the next
`submit` or `wait`, so it is never silently lost.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

Job = Callable[[], None]


class BackgroundWriter:
    """Runs write jobs on a daemon thread, in order; `idle` runs after a job when no other waits
    (the place for work that only its latest state needs, such as re-rendering the report)."""

    def __init__(self, idle: Job | None = None, name: str = "run-folder-writer") -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._idle = idle
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        self._raise_pending()
        self._jobs.put(job)

    def wait(self) -> None:
        """Block until every job submitted so far has run (and the idle work after it)."""
        self._jobs.join()
        self._raise_pending()

    def close(self) -> None:
        """Finish the jobs handed in, then stop the thread; safe to call twice."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self._raise_pending()

    def _raise_pending(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                job()
                if self._idle is not None and self._jobs.empty():
                    self._idle()
            except BaseException as e:  # kept for the loop's thread: it raises it as it is
                self._error = e
            finally:
                self._jobs.task_done()
