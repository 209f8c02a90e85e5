"""The kill switch: a global hotkey (pynput) and Ctrl+C both stop the agent before its next action.

Use as a context manager around a run and call `.check()` before every action; it raises
StopRequested once triggered. The first Ctrl+C only triggers (the current step finishes and the
recording is kept); a second Ctrl+C raises KeyboardInterrupt at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any, Self

from actions.errors import EnvironmentUnavailable, StopRequested
from actions.processes import display_env

log = logging.getLogger(__name__)

DEFAULT_HOTKEY = "<ctrl>+<alt>+<shift>+q"


class KillSwitch:
    """Stop flag set by a global hotkey (pynput syntax, e.g. '<ctrl>+<alt>+<shift>+q') or SIGINT.

    `display` selects the X display the hotkey listens on (default: $DISPLAY).
    """

    def __init__(
        self,
        hotkey: str = DEFAULT_HOTKEY,
        use_hotkey: bool = True,
        display: str | None = None,
        handle_sigint: bool = True,
    ) -> None:
        self.hotkey = hotkey
        self.use_hotkey = use_hotkey
        self.display = display
        self.handle_sigint = handle_sigint
        self._event = threading.Event()
        self.reason: str | None = None
        self._listener: Any = None
        self._previous_sigint: Any = None
        self._sigint_installed = False
        self._listening_on = ""

    @property
    def triggered(self) -> bool:
        return self._event.is_set()

    def trigger(self, reason: str) -> None:
        """Request a stop; the first reason given is kept."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()
            log.warning("stop requested: %s", reason)

    def check(self) -> None:
        """Raise StopRequested if a stop was requested (call before every action)."""
        if self._event.is_set():
            raise StopRequested(f"stopped by the user ({self.reason}); nothing more was executed")

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until triggered or `timeout_s` passes; True when triggered."""
        return self._event.wait(timeout_s)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        if self.handle_sigint and threading.current_thread() is threading.main_thread():
            self._previous_sigint = signal.signal(signal.SIGINT, self._on_sigint)
            self._sigint_installed = True
        if self.use_hotkey:
            try:
                self._start_hotkey()
            except BaseException:
                self._restore_sigint()
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._listener is not None:
            self._listener.stop()
            # Join so that the listener's X connections close before the display may go away.
            self._listener.join(timeout=0.1)
            if self._listener.is_alive():
                self._wake_listener()
                self._listener.join(timeout=5)
            self._listener = None
        self._restore_sigint()

    def _restore_sigint(self) -> None:
        if self._sigint_installed:
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._sigint_installed = False

    def _wake_listener(self) -> None:
        """pynput sends its RECORD disable request on the connection its thread is blocked
        reading, unflushed, so stop() can hang; disable the context from a fresh connection."""
        from Xlib.display import Display

        context = getattr(self._listener, "_context", None)
        if context is None:
            return
        try:
            display = Display(self._listening_on)
        except Exception:  # the display is gone: the listener thread ends by itself
            return
        try:
            display.record_disable_context(context)
            display.sync()
        finally:
            display.close()

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self._event.is_set():
            raise KeyboardInterrupt
        self.trigger("Ctrl+C")

    def _start_hotkey(self) -> None:
        display = self.display or os.environ.get("DISPLAY")
        if not display:
            raise EnvironmentUnavailable(
                "the kill-switch hotkey needs an X display: set DISPLAY, or turn the hotkey off "
                "(--no-hotkey); Ctrl+C still stops the agent"
            )
        # pynput opens its X connections from $DISPLAY on import and when the listener thread
        # starts: point DISPLAY at our display until the listener reports ready, then restore.
        try:
            with display_env(display):
                from pynput import keyboard

                listener = keyboard.GlobalHotKeys(
                    {self.hotkey: lambda: self.trigger(f"hotkey {self.hotkey}")}
                )
                listener.daemon = True
                listener.start()
                listener.wait()
        except (ImportError, ValueError) as exc:
            raise EnvironmentUnavailable(
                f"cannot listen for the kill-switch hotkey {self.hotkey!r} on {display}: {exc}"
            ) from exc
        self._listener = listener
        self._listening_on = display
