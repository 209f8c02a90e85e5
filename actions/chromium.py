"""Finding and launching Chromium for Playwright: a system Chromium when present, else Playwright's own.

Owns the `playwright` import (lazy) and turns launch failures into EnvironmentUnavailable messages
that name the fix.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from actions.errors import EnvironmentUnavailable

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

# Debian/Ubuntu package names first; Chrome last (it works, but is not what we test on).
SYSTEM_CHROMIUM = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/snap/bin/chromium",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
)
ENV_VAR = "QWEN_AGENT_CHROMIUM"
# --disable-quic: QUIC probing adds latency and noise on loopback; --disable-gpu: no GPU in VMs.
BASE_ARGS = ("--disable-gpu", "--disable-quic", "--no-first-run", "--no-default-browser-check")
# Headed system Chromium shows a "--no-sandbox" infobar that shifts the page ~40 px; --test-type hides it.
HEADED_ARGS = ("--test-type",)

INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`) or let Playwright fetch its "
    "own (`python -m playwright install chromium`), or pass executable_path / set "
    f"{ENV_VAR}=/path/to/chromium"
)


def find_chromium(explicit: str | None = None) -> str | None:
    """The Chromium executable to use; None means Playwright's managed browser."""
    if explicit:
        if not Path(explicit).is_file():
            raise EnvironmentUnavailable(f"no Chromium at {explicit!r}: {INSTALL_HINT}")
        return explicit
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        if not Path(from_env).is_file():
            raise EnvironmentUnavailable(f"{ENV_VAR}={from_env!r} does not exist: {INSTALL_HINT}")
        return from_env
    for candidate in SYSTEM_CHROMIUM:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _Driver:
    """One Playwright driver per process, shared by every browser environment: the sync API cannot
    start a second driver while one is running in the same thread."""

    instance: Playwright | None = None
    users = 0


# Playwright's Node.js driver, and the Chromium it starts, run in a session of their own: a terminal's
# Ctrl+C (SIGINT to the whole foreground process group) then reaches only us, and we stop cleanly,
# closing the browser ourselves, instead of losing it mid-step.
_OWN_SESSION = """#!/bin/sh
exec setsid "$QWEN_AGENT_PLAYWRIGHT_NODE" "$@"
"""


@contextlib.contextmanager
def _driver_in_own_session() -> Iterator[None]:
    setsid = shutil.which("setsid")
    if setsid is None or os.environ.get("PLAYWRIGHT_NODEJS_PATH"):
        yield  # no setsid (not Linux) or a user's own node: start it as Playwright would
        return
    from playwright._impl._driver import compute_driver_executable

    node, _cli = compute_driver_executable()
    wrapper = Path(tempfile.gettempdir()) / f"qwen-agent-node-{os.getuid()}.sh"
    if not wrapper.is_file() or wrapper.read_text() != _OWN_SESSION:
        tmp = wrapper.with_suffix(f".{os.getpid()}")
        tmp.write_text(_OWN_SESSION)
        tmp.chmod(0o755)
        os.replace(tmp, wrapper)
    saved = {k: os.environ.get(k) for k in ("PLAYWRIGHT_NODEJS_PATH", "QWEN_AGENT_PLAYWRIGHT_NODE")}
    os.environ["PLAYWRIGHT_NODEJS_PATH"] = str(wrapper)
    os.environ["QWEN_AGENT_PLAYWRIGHT_NODE"] = node
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def acquire_playwright() -> Playwright:
    """The shared Playwright driver (sync API), started on first use; pair with release_playwright()."""
    if _Driver.instance is None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as e:  # pragma: no cover - playwright is a dependency
            raise EnvironmentUnavailable(
                "the `playwright` Python package is missing: pip install playwright"
            ) from e
        with _driver_in_own_session():
            _Driver.instance = sync_playwright().start()
    _Driver.users += 1
    return _Driver.instance


def release_playwright() -> None:
    """Drop one user of the shared driver; the last one stops it (quietly, if it is already gone)."""
    _Driver.users = max(0, _Driver.users - 1)
    if _Driver.users == 0 and _Driver.instance is not None:
        instance, _Driver.instance = _Driver.instance, None
        with contextlib.suppress(Exception):
            instance.stop()


def launch_chromium(
    playwright: Playwright, executable_path: str | None, headless: bool, extra_args: tuple[str, ...] = ()
) -> Browser:
    """Launch Chromium; a missing browser or display becomes EnvironmentUnavailable naming the fix."""
    if not headless and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise EnvironmentUnavailable(
            "a headed browser needs a display: set DISPLAY (e.g. start `Xvfb :99` and export "
            "DISPLAY=:99) or run headless"
        )
    args = [*BASE_ARGS, *(() if headless else HEADED_ARGS), *extra_args]
    try:
        # env: the shared driver may predate a DISPLAY set later in this process (a --xvfb display).
        return playwright.chromium.launch(
            executable_path=executable_path, headless=headless, args=args, env=dict(os.environ)
        )
    except Exception as e:  # playwright.Error; its message says which file is missing
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "Executable doesn't exist" in str(e) or "executable" in message.lower():
            raise EnvironmentUnavailable(f"no Chromium found ({message}): {INSTALL_HINT}") from e
        where = executable_path or "Playwright's managed Chromium"
        raise EnvironmentUnavailable(f"Chromium ({where}) failed to start: {message}") from e
