"""OSWorld's own evaluators, called from our side: one worker process in `.venv-osworld`.

desktop-env (OSWorld's package) pins numpy<2 and old pandas, so it cannot live in our venv; `make
setup-osworld` gives it its own, and tasks/osworld/desktop_env_worker.py serves its metrics, getters
and setup controller there over JSON lines. DesktopEnvBridge starts that worker once and reuses it
for every call; a call that outruns its timeout kills the worker (a blocked metric cannot be
interrupted otherwise) and the next call starts a fresh one.

    with DesktopEnvBridge() as bridge:
        score = bridge.metric("compare_table", "out.xlsx", "gold.xlsx", {"rules": [...]})
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field

from actions.errors import EnvironmentUnavailable, QwenAgentError
from tasks.osworld.errors import Unsupported

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("desktop_env_worker.py")
# QWEN_AGENT_OSWORLD_PYTHON points elsewhere (an OSWorld checkout's own venv, say).
DEFAULT_PYTHON = Path(
    os.environ.get("QWEN_AGENT_OSWORLD_PYTHON", str(REPO_ROOT / ".venv-osworld" / "bin" / "python"))
)


class DesktopEnvMissing(EnvironmentUnavailable):
    """`.venv-osworld` (or the python given) is not there: run `make setup-osworld` (CLI exit 4)."""


class DesktopEnvWorkerDied(QwenAgentError):
    """The worker process exited or closed its output; the message carries its last stderr lines."""


class DesktopEnvTimeout(DesktopEnvWorkerDied):
    """A call outran its timeout; the worker was killed, the next call starts a new one."""


class DesktopEnvCallFailed(QwenAgentError):
    """The desktop_env function raised; `error_type` is its exception class name."""

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class DesktopEnvFileNotFound(DesktopEnvCallFailed, FileNotFoundError):
    """A getter raised FileNotFoundError, which OSWorld's DesktopEnv.evaluate scores as 0."""


class DesktopEnvUnsupported(Unsupported):
    """A metric, getter or setup step this desktop_env does not have or cannot import here."""


class VmAddress(BaseModel):
    """Where the VM's servers listen, as OSWorld's DesktopEnv holds it; getters cache files in
    `cache_dir` (a folder on this machine). `platform` saves getters asking the VM for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ip: str = Field(min_length=1)
    server_port: int = 5000
    chromium_port: int = 9222
    vlc_port: int = 8080
    cache_dir: Path
    platform: str | None = None
    client_password: str | None = None
    screen_width: int = 1920
    screen_height: int = 1080


class UnavailableNames(BaseModel):
    """Names desktop_env defines that cannot run here, with why (a left-out heavy dependency)."""

    model_config = ConfigDict(frozen=True)

    metrics: dict[str, str] = Field(default_factory=dict)
    getters: dict[str, str] = Field(default_factory=dict)
    setup: dict[str, str] = Field(default_factory=dict)


class DesktopEnvNames(BaseModel):
    """What the worker could import: metric names, getter types (without `get_`), setup step types."""

    model_config = ConfigDict(frozen=True)

    metrics: frozenset[str]
    getters: frozenset[str]
    setup: frozenset[str]
    unavailable: UnavailableNames


def _decode(obj: dict[str, Any]) -> Any:
    """Undo the worker's encoding of non-JSON getter values."""
    if obj.keys() == {"$bytes"}:
        return base64.b64decode(obj["$bytes"])
    return obj


class DesktopEnvBridge:
    """One desktop_env worker, started on first use and reused; one call at a time (thread-safe)."""

    def __init__(
        self,
        python: Path = DEFAULT_PYTHON,
        *,
        timeout_s: float = 120.0,
        start_timeout_s: float = 120.0,
        setup_timeout_s: float = 600.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.python = python
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s  # importing pandas, cv2, skimage, playwright: seconds
        self.setup_timeout_s = setup_timeout_s  # OSWorld's setup alone waits up to 100 s for the VM
        self.env = dict(env) if env is not None else None
        self._process: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=200)
        self._lock = threading.Lock()
        self._names: DesktopEnvNames | None = None
        self._stderr_thread: threading.Thread | None = None
        self._next_id = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> DesktopEnvBridge:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self) -> subprocess.Popen[str]:
        if not self.python.exists():
            raise DesktopEnvMissing(
                f"OSWorld's desktop_env environment is missing ({self.python}): run `make setup-osworld`"
            )
        self._replies = queue.Queue()
        self._stderr.clear()
        process = subprocess.Popen(
            [str(self.python), "-u", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=self.env,
            # Its own process group: a timeout kills the worker with whatever it started
            # (playwright's driver) and nothing else.
            start_new_session=True,
        )
        assert process.stdout is not None and process.stderr is not None
        threading.Thread(target=self._pump_replies, args=(process.stdout,), daemon=True).start()
        self._stderr_thread = threading.Thread(target=self._pump_stderr, args=(process.stderr,), daemon=True)
        self._stderr_thread.start()
        self._process = process
        return process

    def _pump_replies(self, stream: IO[str]) -> None:
        for line in stream:
            self._replies.put(line)
        self._replies.put(None)  # EOF: the worker is gone

    def _pump_stderr(self, stream: IO[str]) -> None:
        # Drained always, or a chatty metric would fill the pipe and block the worker.
        for line in stream:
            self._stderr.append(line.rstrip("\n"))
            log.debug("desktop_env worker: %s", line.rstrip("\n"))

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self) -> None:
        """End the worker: EOF on its stdin ends its loop; killed if it does not exit in 5 s."""
        process = self._process
        if process is None:
            return
        if process.poll() is None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self._kill()

    # -- protocol --------------------------------------------------------------------------------

    def _stderr_tail(self, lines: int = 20) -> str:
        tail = list(self._stderr)[-lines:]
        return ("; last stderr:\n" + "\n".join(tail)) if tail else ""

    def _died(self, process: subprocess.Popen[str]) -> DesktopEnvWorkerDied:
        """The error for a worker that went away, with its exit code and last stderr lines."""
        try:
            code: int | str = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = "none (closed its output, still running)"
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=2)  # its last words, before they are read out
        tail = self._stderr_tail()
        self._kill()
        return DesktopEnvWorkerDied(f"desktop_env worker exited with code {code}{tail}")

    def _call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        with self._lock:
            process = self._process if self.running else None
            if process is None:
                self._kill()
                process = self._start()
                timeout_s += self.start_timeout_s  # the worker imports desktop_env first
            self._next_id += 1
            request = {**request, "id": self._next_id}
            assert process.stdin is not None
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
            except OSError as e:  # BrokenPipeError: it exited before reading
                raise self._died(process) from e
            try:
                line = self._replies.get(timeout=timeout_s)
            except queue.Empty:
                tail = self._stderr_tail()
                self._kill()
                raise DesktopEnvTimeout(
                    f"desktop_env {request.get('op')} {request.get('func') or request.get('type') or ''}"
                    f" took over {timeout_s:.0f} s; worker killed{tail}"
                ) from None
            if line is None:
                raise self._died(process)
        reply: dict[str, Any] = json.loads(line, object_hook=_decode)
        if reply.get("id") != request["id"]:
            # Cannot happen with one call at a time; if it does, the stream is out of step.
            self.close()
            raise DesktopEnvWorkerDied(f"desktop_env worker answered {reply.get('id')} to {request['id']}")
        if "error" in reply:
            message, kind = str(reply["error"]), str(reply.get("error_type", "Exception"))
            if kind == "Unavailable":
                raise DesktopEnvUnsupported(message)
            if kind == "FileNotFoundError":
                raise DesktopEnvFileNotFound(message, kind)
            raise DesktopEnvCallFailed(f"desktop_env: {message}", kind)
        return reply

    # -- operations ------------------------------------------------------------------------------

    def names(self) -> DesktopEnvNames:
        """Metric, getter and setup step names the worker imported (asked once per bridge)."""
        if self._names is None:
            self._names = DesktopEnvNames.model_validate(self._call({"op": "names"}, self.timeout_s))
        return self._names

    def metric(
        self,
        func: str,
        result: Any,
        expected: Any = None,
        options: Mapping[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
    ) -> float:
        """OSWorld's metric `func` on the result (and expected, unless None: then it is called
        without, as DesktopEnv.evaluate does for tasks without one); paths are local files."""
        reply = self._call(
            {
                "op": "metric",
                "func": func,
                "result": _plain(result),
                "expected": _plain(expected),
                "options": _plain(dict(options or {})),
            },
            timeout_s or self.timeout_s,
        )
        return float(reply["score"])

    def getter(
        self, type: str, config: Mapping[str, Any], vm: VmAddress, *, timeout_s: float | None = None
    ) -> Any:
        """OSWorld's getter `get_<type>` against the VM; file getters return local paths."""
        reply = self._call(
            {"op": "getter", "type": type, "config": _plain(dict(config)), "vm": _vm(vm)},
            timeout_s or self.timeout_s,
        )
        return reply.get("value")

    def setup(
        self,
        steps: Sequence[Mapping[str, Any] | BaseModel],
        vm: VmAddress,
        *,
        timeout_s: float | None = None,
    ) -> None:
        """Run OSWorld's SetupController.setup on these `{"type", "parameters"}` steps, against the
        VM's server (it first waits for the server to answer, as OSWorld does)."""
        config = [s.model_dump(mode="json") if isinstance(s, BaseModel) else _plain(dict(s)) for s in steps]
        self._call({"op": "setup", "config": config, "vm": _vm(vm)}, timeout_s or self.setup_timeout_s)


def _vm(vm: VmAddress) -> dict[str, Any]:
    return vm.model_dump(mode="json", exclude_none=True)


def _plain(value: Any) -> Any:
    """JSON-ready: paths as strings, tuples as lists (metrics take the paths as strings)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
