"""A private X display: Xvfb (picked with -displayfd), optional side-by-side monitors, openbox.

Monitors: Xvfb's own `+xinerama -screen 0 .. -screen 1 ..` stacks every screen at (0, 0), so
several monitors are made as ONE wide Xvfb screen split into RandR 1.5 monitors
(`xrandr --setmonitor`), laid left to right and top-aligned. mss, openbox and Xinerama-aware
apps all see them as separate monitors. `-noreset` keeps those monitors alive between clients.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from types import TracebackType
from typing import Self

from actions.errors import EnvironmentUnavailable
from actions.processes import stop_process
from actions.types import Frozen
from actions.xtools import require_tool


class MonitorRect(Frozen):
    """One monitor of the virtual desktop, in X root-window pixels."""

    left: int
    top: int
    width: int
    height: int


class VirtualDisplay:
    """Xvfb + window manager as a context manager; `.display` is ':N', `.env` the child env vars."""

    def __init__(
        self,
        width: int = 1280,
        height: int = 800,
        screens: list[tuple[int, int]] | None = None,
        window_manager: bool = True,
        depth: int = 24,
        start_timeout_s: float = 15.0,
    ) -> None:
        sizes = list(screens) if screens else [(width, height)]
        if any(w <= 0 or h <= 0 for w, h in sizes):
            raise ValueError(f"monitor sizes must be positive, got {sizes}")
        lefts = [sum(w for w, _ in sizes[:i]) for i in range(len(sizes))]
        self.monitors: tuple[MonitorRect, ...] = tuple(
            MonitorRect(left=left, top=0, width=w, height=h)
            for left, (w, h) in zip(lefts, sizes, strict=True)
        )
        self.width = sum(w for w, _ in sizes)
        self.height = max(h for _, h in sizes)
        self.window_manager = window_manager
        self.depth = depth
        self.start_timeout_s = start_timeout_s
        self.display = ""
        self.env: dict[str, str] = {}
        self._xvfb: subprocess.Popen[bytes] | None = None
        self._wm: subprocess.Popen[bytes] | None = None
        self._tmp: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        """Start Xvfb (and openbox); returns once clients can connect and the WM manages windows."""
        if self._xvfb is not None:
            return self
        xvfb = require_tool("Xvfb")
        self._tmp = tempfile.mkdtemp(prefix="qwen-agent-x11-")
        read_fd, write_fd = os.pipe()
        try:
            self._xvfb = subprocess.Popen(
                [
                    xvfb,
                    "-displayfd",
                    str(write_fd),
                    "-screen",
                    "0",
                    f"{self.width}x{self.height}x{self.depth}",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                    "-ac",
                ],
                pass_fds=(write_fd,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            os.close(write_fd)
            number = self._read_display_number(read_fd)
        except BaseException:
            os.close(read_fd)
            self.stop()
            raise
        os.close(read_fd)
        self.display = f":{number}"
        self.env = self._child_env()
        try:
            if len(self.monitors) > 1:
                self._split_monitors()
            if self.window_manager:
                self._start_window_manager()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the window manager and the X server and remove the temp dirs; safe to call twice."""
        for proc in (self._wm, self._xvfb):
            stop_process(proc)
        self._wm = self._xvfb = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        sizes = ", ".join(f"{m.width}x{m.height}+{m.left}+{m.top}" for m in self.monitors)
        return f"VirtualDisplay({self.display or 'not started'}: {sizes})"

    # -- helpers -----------------------------------------------------------------------------
    def _read_display_number(self, fd: int) -> int:
        """Xvfb writes the display number to the -displayfd pipe once it accepts connections."""
        deadline = time.monotonic() + self.start_timeout_s
        data = b""
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self._xvfb is not None and self._xvfb.poll() is not None):
                raise EnvironmentUnavailable(
                    "Xvfb did not start (no display number within "
                    f"{self.start_timeout_s:g} s); check that `Xvfb -displayfd 1` works here"
                )
            ready, _, _ = select.select([fd], [], [], min(remaining, 0.2))
            if ready:
                chunk = os.read(fd, 64)
                if not chunk:
                    continue
                data += chunk
        return int(data.strip())

    def _child_env(self) -> dict[str, str]:
        assert self._tmp is not None
        dirs = {}
        for name in ("config", "cache", "data", "runtime"):
            path = os.path.join(self._tmp, name)
            os.makedirs(path, mode=0o700, exist_ok=True)
            dirs[name] = path
        return {
            "DISPLAY": self.display,
            "XDG_SESSION_TYPE": "x11",
            "XDG_CONFIG_HOME": dirs["config"],
            "XDG_CACHE_HOME": dirs["cache"],
            "XDG_DATA_HOME": dirs["data"],
            "XDG_RUNTIME_DIR": dirs["runtime"],
            "GSETTINGS_BACKEND": "memory",
            "NO_AT_BRIDGE": "1",
        }

    def full_env(self) -> dict[str, str]:
        """os.environ overlaid with `.env`: what a child process on this display should get."""
        return {**os.environ, **self.env}

    def _run_x(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, env=self.full_env(), capture_output=True, text=True, timeout=10, check=False
        )

    def _split_monitors(self) -> None:
        xrandr = require_tool("xrandr")
        for index, mon in enumerate(self.monitors):
            # Physical size at ~96 dpi; the first monitor takes over Xvfb's only output.
            geometry = (
                f"{mon.width}/{round(mon.width * 0.2646)}x{mon.height}/"
                f"{round(mon.height * 0.2646)}+{mon.left}+{mon.top}"
            )
            output = "screen" if index == 0 else "none"
            done = self._run_x([xrandr, "--setmonitor", f"QA-{index + 1}", geometry, output])
            if done.returncode != 0:
                raise EnvironmentUnavailable(
                    f"xrandr --setmonitor failed on {self.display}: {done.stderr.strip()}"
                )
        listed = self._run_x([xrandr, "--listmonitors"]).stdout
        if f"Monitors: {len(self.monitors)}" not in listed:
            raise EnvironmentUnavailable(f"Xvfb did not accept the monitor layout: {listed!r}")

    def _start_window_manager(self) -> None:
        openbox = require_tool("openbox")
        wmctrl = require_tool("wmctrl")
        self._wm = subprocess.Popen(
            [openbox, "--sm-disable"],
            env=self.full_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # `wmctrl -m` succeeds once the WM has set _NET_SUPPORTING_WM_CHECK on the root window.
        deadline = time.monotonic() + self.start_timeout_s
        while self._run_x([wmctrl, "-m"]).returncode != 0:
            if self._wm.poll() is not None or time.monotonic() > deadline:
                raise EnvironmentUnavailable(f"openbox did not start on {self.display}")
            time.sleep(0.02)
