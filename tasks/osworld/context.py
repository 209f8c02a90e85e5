"""What setup steps, getters and metrics see of one task run: its environment, folders and processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actions.environment import Environment
from tasks.osworld.errors import Unsupported
from tasks.osworld.spec import EnvKind, TaskEntry

if TYPE_CHECKING:
    from playwright.sync_api import Download, Page

    from actions.browser import BrowserEnvironment


@dataclass
class TaskContext:
    """One task's live state. `env` is the BrowserEnvironment or DesktopEnvironment it runs on."""

    entry: TaskEntry
    env: Environment
    env_kind: EnvKind
    suite_root: Path
    workdir: Path  # {WORKDIR}: fresh per task
    downloads: Path  # {DOWNLOADS}: where browser downloads are saved
    cache_dir: Path  # getters copy files here (OSWorld's cache)
    sandbox_url: str | None = None
    child_env: dict[str, str] = field(default_factory=dict)  # DISPLAY etc. for launched programs
    instruction: str | None = None  # set by a setup step that reads it from the page (MiniWoB)
    notes: list[str] = field(default_factory=list)  # setup warnings shown in score.json
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    pending_downloads: list[Download] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # per-feature state (e.g. MiniWoB)

    @property
    def task_dir(self) -> Path:
        return self.entry.path.parent

    @property
    def browser(self) -> BrowserEnvironment:
        """The task's browser, for steps and getters that drive Chromium (Unsupported on a desktop)."""
        from actions.browser import BrowserEnvironment

        if not isinstance(self.env, BrowserEnvironment):
            raise Unsupported(f"this needs the browser environment, not {self.env_kind}")
        return self.env

    def process_env(self) -> dict[str, str]:
        return {**os.environ, **self.child_env}

    def resolve_local(self, path: str) -> Path:
        """A path from a task file: `~` expanded, relative paths against the working folder."""
        p = Path(os.path.expanduser(path))
        return p if p.is_absolute() else self.workdir / p

    def watch_downloads(self) -> None:
        """Keep every browser download so `save_downloads` can store it under {DOWNLOADS}."""
        if self.env_kind != "browser" or self.data.get("watching_downloads"):
            return
        self.data["watching_downloads"] = True
        context = self.browser.page.context

        def keep(download: Download) -> None:
            self.pending_downloads.append(download)

        def hook(page: Page) -> None:
            page.on("download", keep)

        for page in context.pages:
            hook(page)
        context.on("page", hook)

    def save_downloads(self) -> None:
        """Save finished downloads under their suggested names (waits for each to complete)."""
        if not self.pending_downloads:
            return
        from playwright.sync_api import Error as PlaywrightError

        while self.pending_downloads:
            download = self.pending_downloads.pop(0)
            try:
                download.save_as(str(self.downloads / download.suggested_filename))
            except (PlaywrightError, OSError) as e:  # a cancelled download: the agent's outcome
                self.notes.append(f"download {download.suggested_filename!r} not saved: {e}")

    def close(self) -> None:
        """Stop every program the setup launched (their whole process group)."""
        for proc in self.processes:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=3)
        self.processes.clear()
