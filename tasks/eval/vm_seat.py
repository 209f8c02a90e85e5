"""A worker's seat on OSWorld VMs (`qwen-agent eval PATH --vm URL`): which VM it drives, the VM as
an agent environment (actions.vm_environment), OSWorld's own setup steps, getters and metrics
through the desktop-env bridge, and the user's reset command between tasks.

One VM per worker: `--vm` is given once per worker, and each worker process claims the first VM
nobody holds by an exclusive lock on `<results>/.vm-<n>.lock` (released when the process ends, so
a worker that replaces a dead one takes its VM). Between tasks OSWorld reverts the VM to its
snapshot; here that is the user's `--vm-reset "docker restart osworld"` (their own command, run on
this machine without a shell), after which the server is waited for. Without it, tasks run one
after another on the VM's current state (summary notes say so).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from actions.errors import EnvironmentUnavailable, VmUnavailable
from tasks.osworld.desktop_env_bridge import DesktopEnvBridge, VmAddress
from tasks.osworld.errors import SetupFailed
from tasks.osworld.vm_vocabulary import vm_vocabulary
from tasks.osworld.vocabulary import Vocabulary

if TYPE_CHECKING:
    from actions.vm_environment import VmEnvironment

RESET_TIMEOUT_S = 900.0  # a docker restart of OSWorld's VM boots Ubuntu: minutes without KVM
READY_TIMEOUT_S = 600.0  # how long the VM's server may take to answer after a reset
VM_WORK_ROOT = "/tmp/qwen-agent"  # {WORKDIR} and {DOWNLOADS} of a task, on the VM


class VmSeat:
    """One worker's VM: claimed on first use, its environment, bridge and vocabulary kept open."""

    def __init__(
        self,
        urls: tuple[str, ...],
        lock_dir: Path,
        reset_command: str | None = None,
        chromium_port: int = 9222,
        vlc_port: int = 8080,
    ) -> None:
        self.urls, self.lock_dir = urls, lock_dir
        self.reset_command = shlex.split(reset_command) if reset_command else None
        self.chromium_port, self.vlc_port = chromium_port, vlc_port
        self._claim: tuple[str, IO[str]] | None = None
        self._env: VmEnvironment | None = None
        self._bridge: DesktopEnvBridge | None = None
        self._vocabulary: Vocabulary | None = None
        self.tasks_run = 0

    @property
    def url(self) -> str:
        """The VM this worker drives (claimed on first use)."""
        if self._claim is None:
            self._claim = self._take()
        return self._claim[0]

    def _take(self) -> tuple[str, IO[str]]:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        for n, url in enumerate(self.urls):
            handle = (self.lock_dir / f".vm-{n}.lock").open("w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            handle.write(f"{os.getpid()} {url}\n")
            handle.flush()
            return url, handle
        raise EnvironmentUnavailable(
            f"every VM ({len(self.urls)}) is held by another worker: pass --vm once per worker"
        )

    def environment(self) -> VmEnvironment:
        """The VM as an agent environment; a VM that does not answer raises VmUnavailable."""
        if self._env is None:
            from actions.vm_environment import VmEnvironment

            self._env = VmEnvironment(self.url)
        return self._env

    def bridge(self) -> DesktopEnvBridge:
        if self._bridge is None:
            self._bridge = DesktopEnvBridge()
        return self._bridge

    def vocabulary(self) -> Vocabulary:
        """OSWorld's own names through the bridge (DesktopEnvMissing without `make setup-osworld`)."""
        if self._vocabulary is None:
            self._vocabulary = vm_vocabulary(self.bridge())
        return self._vocabulary

    def address(self, cache_dir: Path) -> VmAddress:
        """The VM as OSWorld's getters and setup controller address it; their files go to `cache_dir`."""
        parts = urlsplit(self.url)
        geometry = self.environment().geometry
        return VmAddress(
            ip=parts.hostname or "localhost", server_port=parts.port or 5000,
            chromium_port=self.chromium_port, vlc_port=self.vlc_port, cache_dir=cache_dir,
            screen_width=geometry.width, screen_height=geometry.height,
        )  # fmt: skip

    def work_paths(self, name: str) -> dict[str, str]:
        """{WORKDIR} and {DOWNLOADS} on the VM for task `name`, made empty there."""
        root = f"{VM_WORK_ROOT}/{name}"
        paths = {"WORKDIR": f"{root}/workdir", "DOWNLOADS": f"{root}/downloads"}
        done = self.environment().execute_command(["bash", "-c", 'rm -rf "$1" && mkdir -p "$2" "$3"', "-",
                                                   root, paths["WORKDIR"], paths["DOWNLOADS"]])  # fmt: skip
        if done.returncode != 0:
            raise SetupFailed(f"could not make the task's folders on the VM {self.url}: {done.stderr[-300:]}")
        return paths

    def before_task(self) -> None:
        """Revert the VM with the user's reset command (from the second task on), then wait for it."""
        self.tasks_run += 1
        if self.reset_command is None or self.tasks_run == 1:
            return
        if self._env is not None:
            self._env.close()
            self._env = None
        try:
            done = subprocess.run(
                self.reset_command, capture_output=True, text=True, timeout=RESET_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as e:
            raise EnvironmentUnavailable(f"--vm-reset {shlex.join(self.reset_command)!r} failed: {e}") from e
        if done.returncode != 0:
            command = shlex.join(self.reset_command)
            raise EnvironmentUnavailable(
                f"--vm-reset {command!r} exited {done.returncode}: {done.stderr[-300:]}"
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                self.environment()
                return
            except VmUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2.0)

    def close(self) -> None:
        if self._env is not None:
            with contextlib.suppress(Exception):
                self._env.close()
        if self._bridge is not None:
            self._bridge.close()
        if self._claim is not None:
            self._claim[1].close()
