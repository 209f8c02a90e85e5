"""One batch at a time per results folder (an evaluation, or a job's rows), its workers included.

`.eval.lock` in the results folder is held (flock, exclusive) by the `qwen-agent eval` (or `job
run`) process for its whole run and names its pid; `.eval-workers.lock` is held (flock, shared) by
each of its worker processes for their whole life. A new batch takes the first, then checks the
second is free: while a previous batch or any of its workers is alive it refuses with one line
(ResultsInUse, exit 2).

The kernel drops a flock when its holder dies, so a lock left by a killed run is stale by
construction: the next eval takes it over and writes its own pid. The files are never removed (a
removal races a newcomer that opened the old file). Linux/POSIX only, like the rest of the harness.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from actions.errors import BadInput
from actions.processes import process_start_time

RUN_LOCK = ".eval.lock"
WORKERS_LOCK = ".eval-workers.lock"


class ResultsInUse(BadInput):
    """Another evaluation (or the workers of one) still writes this results folder."""


def _flock(fd: int, how: int) -> bool:
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        if isinstance(data, dict):
            return data
    return {}


def _write_holder(fd: int) -> None:
    pid = os.getpid()
    record = {"pid": pid, "start_time": process_start_time(pid), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    data = (json.dumps(record) + "\n").encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _who(holder: dict[str, Any]) -> str:
    pid = holder.get("pid")
    since = f", since {holder['since']}" if holder.get("since") else ""
    return f"pid {pid}{since}" if pid else "pid unknown"


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)


@contextlib.contextmanager
def run_lock(root: Path, command: str = "qwen-agent eval", other: str = "--out/--run-name") -> Iterator[None]:
    """Hold `root` for one batch of `command`; ResultsInUse when another one, or its workers, still
    run (the message names `other`, the flags that choose another folder)."""
    root.mkdir(parents=True, exist_ok=True)
    fd = _open(root / RUN_LOCK)
    try:
        if not _flock(fd, fcntl.LOCK_EX):
            raise ResultsInUse(
                f"{root} is in use by another `{command}` ({_who(_holder(fd))}): wait for it to "
                f"finish or stop it, or write to another {other}"
            )
        workers = _open(root / WORKERS_LOCK)
        try:
            if not _flock(workers, fcntl.LOCK_EX):
                raise ResultsInUse(
                    f"{root} is in use: workers of an earlier `{command}` "
                    f"({_who(_holder(workers))}) are still running; wait until they have exited"
                )
            _write_holder(workers)  # names us to whoever finds our workers still running
        finally:
            os.close(workers)  # our own workers take it shared
        _write_holder(fd)  # a stale lock (its holder died) is taken over here
        yield
    finally:
        os.close(fd)


def hold_workers_lock(root: Path) -> int:
    """In a worker process: share the workers' lock of `root` until this process ends (the returned
    descriptor is never closed; it is not inherited by the worker's own children)."""
    fd = _open(root / WORKERS_LOCK)
    fcntl.flock(fd, fcntl.LOCK_SH)  # an eval starting up holds it exclusively for a moment only
    return fd
