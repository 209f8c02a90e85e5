"""The process's stdout and stderr without secrets: while `redacted_output(redact)` is open, both are
text streams that pass everything written through the redactor before it reaches the terminal.

Wrapping the streams, not the places known to print, covers every writer: the progress view (rich
resolves sys.stderr when it prints), the final answer, warnings, logging's last-resort handler,
our one-line errors and tracebacks. Text is held until a line ends or the stream is flushed, so a
value written in pieces (print's arguments, a progress line built in parts) is still seen whole.
Not covered: what child processes (Chromium, Xvfb, launched programs) write to the file
descriptors themselves.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Iterator
from typing import TextIO


class RedactingStream(io.TextIOBase):
    """A text stream over `inner` that writes `redact(text)`; complete lines go out at once, a
    line's start waits for its end or a flush. There is no `buffer`: nothing can write bytes
    around the redactor (click then writes text, as to any text stream without one)."""

    def __init__(self, inner: TextIO, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.inner, self.redact = inner, redact
        self._pending = ""

    # What writers ask a terminal stream before writing (rich, click, logging).
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            # click asks whether a stream takes bytes by writing b"": it must not.
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._pending += text
        end = self._pending.rfind("\n") + 1
        if end:
            done, self._pending = self._pending[:end], self._pending[end:]
            self.inner.write(self.redact(done))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            text, self._pending = self._pending, ""
            self.inner.write(self.redact(text))
        self.inner.flush()


@contextlib.contextmanager
def redacted_output(redact: Callable[[str], str]) -> Iterator[None]:
    """sys.stdout and sys.stderr redacted until the block ends (then flushed and put back)."""
    saved = sys.stdout, sys.stderr
    out, err = RedactingStream(saved[0], redact), RedactingStream(saved[1], redact)
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        for stream in (out, err):
            with contextlib.suppress(Exception):  # a closed terminal must not hide the real error
                stream.flush()
        sys.stdout, sys.stderr = saved
