"""Table metrics: `compare_table` over CSV files (and .xlsx via openpyxl when installed), `compare_csv`.

OSWorld's compare_table reads workbooks and applies a list of `rules`; here CSV tables compare by
header and rows in order (cells stripped), and workbooks by sheet names and cell values (`sheet_name`,
`sheet_data` rules). Other workbook rule types are reported as unsupported, never guessed.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from tasks.osworld.errors import Unsupported

Table = list[list[str]]


def _read_csv(path: Path, ignore_case: bool) -> Table | None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    rows = [
        [c.strip().lower() if ignore_case else c.strip() for c in row]
        for row in csv.reader(io.StringIO(text))
    ]
    while rows and not any(rows[-1]):
        rows.pop()  # trailing blank lines are not rows
    return rows


def _cell(value: Any, precision: int) -> Any:
    if isinstance(value, float):
        return round(value, precision)
    return value


def _read_xlsx(path: Path, precision: int) -> dict[str, list[list[Any]]] | None:
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError as e:
        raise Unsupported(
            "compare_table on .xlsx needs openpyxl (`pip install openpyxl`); CSV tables need nothing"
        ) from e
    try:
        book = openpyxl.load_workbook(filename=str(path), data_only=True)
    except Exception:  # a broken or foreign file is a wrong result, not our error
        return None
    sheets: dict[str, list[list[Any]]] = {}
    for ws in book.worksheets:
        rows = [[_cell(v, precision) for v in row] for row in ws.iter_rows(values_only=True)]
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        sheets[ws.title] = rows
    return sheets


def _sheet(book: dict[str, list[list[Any]]], other: dict[str, list[list[Any]]], idx: Any) -> Any:
    """OSWorld's sheet index: int / 'RI0' / 'RNname' (result), 'EI0' / 'ENname' (expected)."""
    if isinstance(idx, int):
        names, src, key = list(book), book, idx
    else:
        s = str(idx)
        src = book if s.startswith("R") else other
        names = list(src)
        key = int(s[2:]) if s[1] == "I" else s[2:]  # type: ignore[assignment]
    if isinstance(key, int):
        return src[names[key]] if 0 <= key < len(names) else None
    return src.get(key)


def compare_table(result: Any, expected: Any = None, **options: Any) -> float:
    """1 when the result table matches the expected one (see module docstring for the rules)."""
    if not result or not Path(str(result)).is_file():
        return 0.0
    rpath = Path(str(result))
    epath = Path(str(expected)) if expected else None
    if rpath.suffix.lower() not in (".xlsx", ".xlsm"):
        if epath is None:
            return 0.0
        ignore_case = bool(options.get("ignore_case", False))
        got, want = _read_csv(rpath, ignore_case), _read_csv(epath, ignore_case)
        return float(got is not None and want is not None and got == want)
    precision = 4
    got_book = _read_xlsx(rpath, precision)
    want_book = _read_xlsx(epath, precision) if epath else {}
    if got_book is None or want_book is None:
        return 0.0
    rules = options.get("rules") or [{"type": "sheet_name"}] + [
        {"type": "sheet_data", "sheet_idx0": i, "sheet_idx1": f"EI{i}"} for i in range(len(want_book))
    ]
    for rule in rules:
        kind = rule.get("type")
        if kind == "sheet_name":
            ok = list(got_book) == list(want_book)
        elif kind == "sheet_data":
            p = int(rule.get("precision", precision))
            a = _sheet(got_book, want_book, rule["sheet_idx0"])
            b = _sheet(got_book, want_book, rule["sheet_idx1"])
            ok = a is not None and b is not None and _rounded(a, p) == _rounded(b, p)
        else:
            raise Unsupported(f"compare_table rule type {kind!r} (supported: sheet_name, sheet_data)")
        if not ok:
            return 0.0
    return 1.0


def _rounded(rows: list[list[Any]], precision: int) -> list[list[Any]]:
    return [[_cell(v, precision) for v in row] for row in rows]


def compare_csv(result: Any, expected: Any, **options: Any) -> float:
    """OSWorld's compare_csv: the files' lines equal (stripped unless `strict`, `ignore_case`); a list
    of expected files matches any of them."""
    if not result:
        return 0.0
    try:
        got = Path(str(result)).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return 0.0
    for candidate in expected if isinstance(expected, list) else [expected]:
        try:
            want = Path(str(candidate)).read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError, TypeError):
            continue
        a, b = got, want
        if not options.get("strict", True):
            a, b = [s.strip() for s in a], [s.strip() for s in b]
        if options.get("ignore_case", False):
            a, b = [s.lower() for s in a], [s.lower() for s in b]
        if a == b:
            return 1.0
    return 0.0
