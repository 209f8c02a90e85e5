"""The rows of a batch: a CSV whose header names the job's parameters (one row per replay), or the
single row given with `--param`/`--params-file`. Everything is checked before any row runs.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from actions.errors import BadInput
from actions.types import Frozen


class Row(Frozen):
    """One row: its identity (`--key` column, else its line number), where it came from, its values."""

    key: str
    line: int  # 1-based line of the CSV (the header is line 1); 0 for --param rows
    values: dict[str, str]


def safe_key(key: str) -> str:
    """A row key as a folder name: letters, digits, '.', '_', '-' and '@' kept; a key that had to
    change gets a short hash of itself, so two keys never share a folder."""
    name = re.sub(r"[^A-Za-z0-9._@-]", "_", key).strip("._")[:80]
    if name == key:
        return name
    return f"{name or 'row'}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def check_values(values: Mapping[str, str], needed: tuple[str, ...], where: str) -> None:
    """BadInput when a needed parameter has no value or a given one is unknown to the job."""
    missing = [n for n in needed if n not in values]
    if missing:
        raise BadInput(f"{where}: no value for parameter(s) {', '.join(missing)} (the job needs them)")
    unknown = [n for n in values if n not in needed]
    if unknown:
        known = ", ".join(needed) or "none"
        raise BadInput(f"{where}: unknown parameter(s) {', '.join(unknown)} (the job's parameters: {known})")


def load_rows(path: Path, needed: tuple[str, ...], key_column: str | None = None) -> list[Row]:
    """The CSV's rows; BadInput naming the file, line and column of the first problem. Columns the
    job does not use are allowed (and ignored) so a spreadsheet can be used as it is."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise BadInput(f"--rows {path}: cannot read it ({e.strerror or e})") from e
    except UnicodeDecodeError as e:
        raise BadInput(f"--rows {path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header:
        raise BadInput(f"--rows {path}: empty file (line 1 must name the parameters)")
    header = [h.strip() for h in header]
    missing = [n for n in needed if n not in header]
    if missing:
        raise BadInput(f"{path}:1: no column for parameter(s) {', '.join(missing)} (the job needs them)")
    if key_column is not None and key_column not in header:
        raise BadInput(f"{path}:1: --key {key_column!r} is not a column (columns: {', '.join(header)})")
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(reader, 2):
        if not any(c.strip() for c in cells):
            continue  # blank lines are not rows
        if len(cells) != len(header):
            raise BadInput(f"{path}:{line}: {len(cells)} cells, but the header has {len(header)} columns")
        record = dict(zip(header, cells, strict=True))
        key = record[key_column].strip() if key_column else f"row-{line}"
        if not key:
            raise BadInput(f"{path}:{line}: column {key_column!r}: empty, but it is the row's --key")
        if key in seen:
            again = f"{key!r} is also the key of line {seen[key]} (keys are unique)"
            raise BadInput(f"{path}:{line}: column {key_column!r}: {again}")
        seen[key] = line
        rows.append(Row(key=key, line=line, values={n: record[n] for n in needed}))
    if not rows:
        raise BadInput(f"--rows {path}: no rows below the header")
    return rows
