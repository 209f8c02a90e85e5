"""Setup steps by name (OSWorld's `config` and `postconfig`): `step(ctx, **parameters)`.

Desktop steps run programs on the task's X display; browser steps drive the task's browser. A step
that cannot work here raises Unsupported (the task is reported, not run); one that fails raises
SetupFailed (the task scores 0 with the reason).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from actions.xtools import find_tool, install_hint
from tasks.osworld.context import TaskContext
from tasks.osworld.errors import SetupFailed, Unsupported
from tasks.osworld.spec import is_browser_boilerplate

SetupStepFn = Callable[..., None]
COMMAND_TIMEOUT_S = 120.0
WINDOW_WAIT_S = 10.0


def _argv(command: Any, shell: bool) -> list[str] | str:
    if shell:
        return command if isinstance(command, str) else shlex.join(command)
    if isinstance(command, str):
        return shlex.split(command)
    if isinstance(command, list) and command and all(isinstance(c, str) for c in command):
        return command
    raise SetupFailed(f"command must be a string or a list of strings, got {command!r}")


def launch(ctx: TaskContext, command: Any, shell: bool = False, **_: Any) -> None:
    """Start a program in the background on the task's display (Chrome and its DevTools forwarding in
    a browser task: already there)."""
    argv = _argv(command, shell)
    words = shlex.split(argv) if isinstance(argv, str) else argv
    if ctx.env_kind == "browser" and is_browser_boilerplate(words):
        return
    if isinstance(argv, list):
        argv = _as_chromium(argv)
    try:
        proc = subprocess.Popen(
            argv, shell=shell, cwd=ctx.workdir, env=ctx.process_env(), start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    except FileNotFoundError as e:
        raise SetupFailed(f"launch: program not found: {e.filename}") from e
    ctx.processes.append(proc)


def _as_chromium(argv: list[str]) -> list[str]:
    """OSWorld's tasks start `google-chrome`; where there is none (Debian, most Linux machines) the
    Chromium found here stands in, with the same arguments."""
    if not argv or Path(argv[0]).name not in ("google-chrome", "google-chrome-stable", "chrome"):
        return argv
    if shutil.which(argv[0]) is not None:
        return argv
    from actions.chromium import find_chromium

    exe = find_chromium()
    return [exe, *argv[1:]] if exe is not None else argv


def execute(
    ctx: TaskContext, command: Any, shell: bool = False, stdout: str = "", stderr: str = "", **_: Any
) -> None:
    """Run a command to completion. A nonzero exit is noted, not fatal (as in OSWorld's server)."""
    argv = _argv(command, shell)
    try:
        done = subprocess.run(
            argv, shell=shell, cwd=ctx.workdir, env=ctx.process_env(), capture_output=True,
            timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except FileNotFoundError as e:
        raise SetupFailed(f"execute: program not found: {e.filename}") from e
    except subprocess.TimeoutExpired as e:
        raise SetupFailed(f"execute: {argv!r} still running after {COMMAND_TIMEOUT_S:g} s") from e
    if stdout:
        ctx.resolve_local(stdout).write_bytes(done.stdout)
    if stderr:
        ctx.resolve_local(stderr).write_bytes(done.stderr)
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()[-300:]
        ctx.notes.append(f"execute {argv!r} exited {done.returncode}: {err}")


def sleep(ctx: TaskContext, seconds: float, **_: Any) -> None:
    """Wait (seconds)."""
    time.sleep(float(seconds))


def _fetch(url: str, data: bytes | None = None, timeout: float = 30.0) -> bytes:
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body: bytes = resp.read()
        return body


def _copy_source(ctx: TaskContext, url: str, dest: Path) -> None:
    """Copy a file:// URL, a local path (relative: to the task file) or a loopback http URL."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith(("http://", "https://")):
        try:
            dest.write_bytes(_fetch(url))
        except (urllib.error.URLError, OSError) as e:
            raise SetupFailed(f"download of {url} failed: {e} (only local servers are reachable)") from e
        return
    src = Path(url.removeprefix("file://")).expanduser()
    if not src.is_absolute():
        src = ctx.task_dir / src
    if not src.is_file():
        raise SetupFailed(f"download: no file at {src}")
    shutil.copyfile(src, dest)


def download(ctx: TaskContext, files: list[dict[str, str]], **_: Any) -> None:
    """Put each `{url, path}` in place: file:// URLs and local paths are copied, http(s) fetched."""
    for item in files:
        _copy_source(ctx, item["url"], ctx.resolve_local(item["path"]))


def open_file(ctx: TaskContext, path: str, **_: Any) -> None:
    """Open a file: in the browser as a file:// page, on the desktop with xdg-open."""
    target = ctx.resolve_local(path)
    if ctx.env_kind == "browser":
        ctx.browser.goto(target.as_uri())
        return
    opener = find_tool("xdg-open")
    if opener is None:
        raise Unsupported(f"setup step 'open' on the desktop needs xdg-open ({install_hint('xdg-open')})")
    launch(ctx, [opener, str(target)])


def chrome_open_tabs(ctx: TaskContext, urls_to_open: list[str], **_: Any) -> None:
    """Open the URLs as tabs (a blank first tab is reused); on the desktop, in a new Chromium."""
    if ctx.env_kind != "browser":
        from actions.chromium import find_chromium

        exe = find_chromium()
        if exe is None:
            raise SetupFailed("chrome_open_tabs on the desktop needs a Chromium (apt-get install chromium)")
        profile = ctx.workdir / ".chromium-profile"
        launch(ctx, [exe, "--no-first-run", "--test-type", f"--user-data-dir={profile}", *urls_to_open])
        return
    browser = ctx.browser
    urls = list(urls_to_open)
    if urls and len(browser.pages) == 1 and browser.page.url in ("about:blank", ""):
        _check_outcome(browser.goto(urls.pop(0)))
    for url in urls:
        browser.open_tabs([url])


def _check_outcome(outcome: Any) -> None:
    if getattr(outcome, "kind", "executed") != "executed":
        raise SetupFailed(f"page did not open: {getattr(outcome, 'reason', outcome)}")


def chrome_close_tabs(ctx: TaskContext, urls_to_close: list[str], **_: Any) -> None:
    """Close the browser tabs whose URL starts with one of the given URLs."""
    if ctx.env_kind != "browser":
        raise Unsupported("chrome_close_tabs needs the browser environment")
    for page in list(ctx.browser.pages):
        if any(page.url.startswith(u) for u in urls_to_close):
            page.close()


def _wmctrl(ctx: TaskContext, *args: str) -> subprocess.CompletedProcess[str]:
    exe = find_tool("wmctrl")
    if exe is None:
        raise Unsupported(f"window steps need wmctrl ({install_hint('wmctrl')})")
    return subprocess.run([exe, *args], env=ctx.process_env(), capture_output=True, text=True, timeout=10)


def _find_window(ctx: TaskContext, name: str, strict: bool, by_class: bool) -> str | None:
    listing = _wmctrl(ctx, "-lx").stdout.splitlines()
    for line in listing:
        parts = line.split(None, 4)
        if len(parts) < 5:
            continue
        wid, wm_class, title = parts[0], parts[2], parts[4]  # id, desktop, class, host, title
        hay = wm_class if by_class else title
        if (hay == name) if strict else (name.lower() in hay.lower()):
            return wid
    return None


def activate_window(
    ctx: TaskContext, window_name: str, strict: bool = False, by_class: bool = False, **_: Any
) -> None:
    """Raise and focus the first window whose title (or class) contains / equals the name; waits 10 s."""
    if ctx.env_kind == "browser":
        for page in ctx.browser.pages:
            if window_name.lower() in page.title().lower():
                page.bring_to_front()
                return
        return
    deadline = time.monotonic() + WINDOW_WAIT_S
    while True:
        wid = _find_window(ctx, window_name, strict, by_class)
        if wid is not None:
            _wmctrl(ctx, "-i", "-a", wid)
            return
        if time.monotonic() > deadline:
            raise SetupFailed(
                f"activate_window: no window matching {window_name!r} within {WINDOW_WAIT_S:g} s"
            )
        time.sleep(0.1)


def close_window(
    ctx: TaskContext, window_name: str, strict: bool = False, by_class: bool = False, **_: Any
) -> None:
    """Close the first window matching the name (desktop)."""
    if ctx.env_kind == "browser":
        return
    wid = _find_window(ctx, window_name, strict, by_class)
    if wid is not None:
        _wmctrl(ctx, "-i", "-c", wid)


def sandbox_reset(ctx: TaskContext, app: str, fixture: str | None = None, **_: Any) -> None:
    """POST {SANDBOX}/<app>/api/reset with `{"fixture": ...}`: the app's seed state."""
    if not ctx.sandbox_url:
        raise SetupFailed("sandbox_reset: no sandbox server is running for this suite")
    body = json.dumps({"fixture": fixture} if fixture else {}).encode()
    try:
        _fetch(f"{ctx.sandbox_url}/{app}/api/reset", data=body)
    except (urllib.error.URLError, OSError) as e:
        raise SetupFailed(f"sandbox_reset of {app!r} failed: {e}") from e


SETUP_STEPS: dict[str, SetupStepFn] = {
    "launch": launch,
    "execute": execute,
    "command": execute,
    "sleep": sleep,
    "download": download,
    "open": open_file,
    "chrome_open_tabs": chrome_open_tabs,
    "chrome_close_tabs": chrome_close_tabs,
    "activate_window": activate_window,
    "close_window": close_window,
    "sandbox_reset": sandbox_reset,
}


def run_steps(ctx: TaskContext, steps: list[Any], known: Mapping[str, SetupStepFn] = SETUP_STEPS) -> None:
    """Run setup steps in order, looked up in `known`; the first failure stops (SetupFailed names it)."""
    for i, step in enumerate(steps):
        fn = known.get(step.type)
        if fn is None:
            raise Unsupported(f"setup step {step.type!r}")
        try:
            fn(ctx, **step.parameters)
        except TypeError as e:
            raise SetupFailed(f"setup step {i} ({step.type}): bad parameters: {e}") from e
        except (SetupFailed, Unsupported):
            raise
        except Exception as e:
            raise SetupFailed(f"setup step {i} ({step.type}) failed: {type(e).__name__}: {e}") from e
