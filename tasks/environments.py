"""The one composition path for environments: `open_environment(settings)` builds the desktop or the
browser the agent acts on, with what it needs around it (a private Xvfb display, programs launched on
it), and closes all of it on exit. `qwen-agent run`, `qwen-agent calibrate` and the evaluation
harness all open their environments here.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from actions.environment import Environment
from actions.errors import BadInput, EnvironmentUnavailable
from actions.processes import stop_process
from actions.settle import FrameUnavailable, SettleOptions, SettleReport, wait_for_settle
from actions.types import Frozen

if TYPE_CHECKING:
    from actions.desktop import DesktopEnvironment
    from actions.domains import DomainPolicy

EnvironmentKind = Literal["desktop", "browser"]

# Launched programs get this long to map their windows: two frames 0.3 s apart that agree on a
# screen that is not blank (identical, since a window that is still drawing changes a few bytes).
LAUNCH_SETTLE = SettleOptions(threshold=0.0, quiet_ms=300, interval_ms=300, cap_ms=10_000)


class EnvironmentSettings(Frozen):
    """What to open. `screen` is the browser viewport (CSS pixels) or the size of a private --xvfb
    display; the other fields apply to one kind only (browser: url..deny_domains; desktop: the rest)."""

    kind: EnvironmentKind = "browser"
    screen: tuple[int, int] = (1280, 800)
    # browser
    url: str | None = None  # start page; None leaves the first tab blank
    headed: bool = False
    device_scale_factor: float = Field(default=1.0, gt=0)
    screenshot_frame: Literal["css", "device"] = "css"
    observe_area: tuple[int, int] | None = None  # the viewport's top-left part the model sees (CSS px)
    allow_domains: tuple[str, ...] = ()
    deny_domains: tuple[str, ...] = ()
    mask_secrets: bool = True  # blank password fields and fields a secret was typed into (screenshots)
    # desktop
    xvfb: bool = False  # start a private virtual display of `screen` size (closed on exit)
    display: str | None = None  # the X display otherwise (None: $DISPLAY)
    monitor: int = Field(default=1, ge=0)
    launch: tuple[str, ...] = ()  # shell-style commands started on the display before acting


WEB_SCHEMES = ("http", "https")


def check_start_url(url: str, policy: DomainPolicy | None = None) -> str:
    """`url` when it can be a browser's start page under `policy` (the browser's domain rules);
    BadInput naming the fix otherwise. A page without a network host (file:, data:, about:) passes
    only where the rules would let the browser load it (always without rules; with rules, about:blank
    or a scheme they allow, e.g. 'file:'), and the host of a web address is read as the browser reads
    it (2130706434 is 127.0.0.2), so the start page the rules refuse is refused here already."""
    from urllib.parse import urlsplit

    from actions.domains import split_url

    text = url.strip()
    parts = urlsplit(text)
    if (parts.scheme in WEB_SCHEMES and parts.hostname) or parts.scheme in ("file", "about", "data"):
        try:
            split_url(text)
        except ValueError as e:
            raise BadInput(f"--url {url!r} is not a web address: {e}") from None
        reason = policy.verdict(text, navigation=True) if policy is not None else None
        if reason is not None:
            raise BadInput(f"--url {url!r}: the start page is refused: {reason}")
        return text
    hint = f" (did you mean http://{url.strip()} ?)" if "." in url or ":" in url or url == "localhost" else ""
    raise BadInput(f"--url {url!r} is not a web address: give it with http:// or https://{hint}")


@contextlib.contextmanager
def open_environment(settings: EnvironmentSettings) -> Iterator[Environment]:
    """The environment `settings` describe, open until the block ends (then closed with everything
    started for it). A desktop environment's `.display` names the X display it ended up on."""
    if settings.kind == "browser":
        from actions.browser import BrowserEnvironment, BrowserOptions
        from actions.domains import DomainPolicy

        policy = DomainPolicy(allow=settings.allow_domains, deny=settings.deny_domains)
        url = check_start_url(settings.url, policy) if settings.url else None
        options = BrowserOptions(
            start_url=url, headless=not settings.headed, viewport=settings.screen,
            device_scale_factor=settings.device_scale_factor, screenshot_frame=settings.screenshot_frame,
            allow_domains=settings.allow_domains, deny_domains=settings.deny_domains,
            observe_area=settings.observe_area, mask_secrets=settings.mask_secrets,
        )  # fmt: skip
        with BrowserEnvironment(options) as browser:
            yield browser
        return
    with _desktop(settings) as desktop:
        yield desktop


@contextlib.contextmanager
def _desktop(settings: EnvironmentSettings) -> Iterator[DesktopEnvironment]:
    from actions.desktop import DesktopEnvironment, DesktopOptions

    with contextlib.ExitStack() as stack:
        display = settings.display
        child_env: dict[str, str] = {"DISPLAY": display} if display else {}
        if settings.xvfb:
            from actions.xdisplay import VirtualDisplay

            virtual = stack.enter_context(VirtualDisplay(*settings.screen))
            display, child_env = virtual.display, dict(virtual.env)
        launched = [
            (command, stack.enter_context(_launch(command, {**os.environ, **child_env})))
            for command in settings.launch
        ]
        env = stack.enter_context(
            DesktopEnvironment(DesktopOptions(display=display, monitor=settings.monitor))
        )
        if launched:
            report = wait_for_windows(env)
            for command, (proc, log) in launched:
                if proc.poll() not in (None, 0):
                    raise EnvironmentUnavailable(
                        f"--launch {command!r} exited with code {proc.returncode}: {_tail(log)}"
                    )
            if report.frames == 0:
                raise EnvironmentUnavailable(
                    f"no window appeared within {LAUNCH_SETTLE.cap_ms / 1000:g} s after --launch "
                    f"{', '.join(repr(c) for c, _ in launched)}: {_tail(launched[-1][1][1])}"
                )
        yield env


@contextlib.contextmanager
def _launch(command: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Start `command` (its stderr kept for the error message; `python` is this interpreter, so
    README examples work from a virtual environment), stop it on exit."""
    argv = shlex.split(command)
    if not argv:
        raise BadInput("--launch needs a command")
    if argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    with tempfile.TemporaryDirectory(prefix="qwen-agent-launch-") as tmp:
        log = Path(tmp) / "stderr.txt"
        with log.open("wb") as err:
            try:
                proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)
            except OSError as e:
                raise EnvironmentUnavailable(f"--launch {command!r} could not start: {e.strerror}") from e
        try:
            yield proc, log
        finally:
            stop_process(proc)


def _tail(log: Path, lines: int = 5) -> str:
    """The last lines a launched program wrote to stderr (or a note that it wrote nothing)."""
    text = log.read_text(errors="replace").strip() if log.is_file() else ""
    return " | ".join(text.splitlines()[-lines:]) if text else "it wrote nothing to stderr"


def wait_for_windows(env: DesktopEnvironment, options: SettleOptions = LAUNCH_SETTLE) -> SettleReport:
    """Give launched programs time to map their windows: wait until the screen is still and not
    blank (an empty root window is not a settled app), at most `options.cap_ms`."""

    def capture(_seconds_left: float) -> bytes:
        frame = env.frame_signature()
        if len(set(frame)) <= 1:
            raise FrameUnavailable("the screen is still blank")
        return frame

    return wait_for_settle(capture, options)
