"""Append-only JSON-lines files shared by parallel processes (an evaluation's scores, a batch's
results): every line is one os.write on an O_APPEND descriptor, so lines of parallel writers never
interleave, and a reader skips a torn last line (a write cut short by a kill).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The lines of a JSON-lines file; a torn last line (no newline: its write was cut short) and any
    line that is not a JSON object are skipped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines: list[dict[str, Any]] = []
    for raw in data.split(b"\n")[:-1]:  # what follows the last newline is torn or empty
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines


def append_line(path: Path, line: dict[str, Any]) -> None:
    """One line, one os.write on an O_APPEND descriptor: appends of parallel workers never interleave."""
    data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        written = os.write(fd, data)
        if written != len(data):  # a full disk: end the torn line so that the next one stays whole
            os.write(fd, b"\n")
            raise OSError(f"short write to {path} ({written} of {len(data)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)
