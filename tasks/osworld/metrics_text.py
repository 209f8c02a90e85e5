"""Text metrics with OSWorld's semantics: exact, fuzzy (rapidfuzz's ratio), include/exclude, lists,
JSON objects and text files. Each is `metric(result, expected, **options) -> float in [0, 1]`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any


def indel_ratio(a: str, b: str) -> float:
    """rapidfuzz's `fuzz.ratio / 100`: 2 * LCS / (len(a) + len(b)); 1.0 for two empty strings.

    LCS by the bit-parallel algorithm (Allison-Dix / Hyyro), linear in len(b) big-int operations.
    """
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
    lcs = len(a) - v.bit_count()
    return 2 * lcs / (len(a) + len(b))


def exact_match(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 when the result equals `rules["expected"]` (Python/JSON equality)."""
    return 1.0 if result == rules["expected"] else 0.0


def match_in_list(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 when the result is one of `rules["expected"]`."""
    return 1.0 if result in rules["expected"] else 0.0


def is_in_list(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 when `rules["expected"]` is an item (or substring) of the result."""
    try:
        return 1.0 if rules["expected"] in result else 0.0
    except TypeError:
        return 0.0


def fuzzy_match(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """Similarity of the result text to `rules["expected"]` in [0, 1] (rapidfuzz's ratio / 100)."""
    if result is None:
        return 0.0
    return indel_ratio(str(result), str(rules["expected"]))


def literal_match(result: Any, expected: Any, **options: Any) -> float:
    """Compare as strings (`type: str`) or as lists of strings (`type: list`), optionally ignoring case."""
    literal_type = options.get("type", "str")
    ignore_case = bool(options.get("ignore_case", False))
    if literal_type == "str":
        a, b = str(result), str(expected)
        return float(a.lower() == b.lower() if ignore_case else a == b)
    if literal_type == "list":
        if not isinstance(result, list | tuple) or not isinstance(expected, list | tuple):
            return 0.0
        if len(result) != len(expected):
            return 0.0
        ra = [str(s).lower() if ignore_case else str(s) for s in result]
        ea = [str(s).lower() if ignore_case else str(s) for s in expected]
        return float(ra == ea)
    raise ValueError(f"literal_match: type {literal_type!r} is not 'str' or 'list'")


def check_include_exclude(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 when every `include` string occurs in the result and no `exclude` string does.

    A non-text result (object, list) is compared as its JSON text.
    """
    if result is None:
        return 0.0
    text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
    include = rules.get("include", [])
    exclude = rules.get("exclude", [])
    ok = all(r in text for r in include) and all(r not in text for r in exclude)
    return 1.0 if ok else 0.0


def check_direct_json_object(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """Every key of `rules["expected"]` holds an equal value in the result (OSWorld's rules, including
    `expect_in_result`: list = one of, string = substring)."""
    if isinstance(result, str):
        try:
            result = json.loads(result.strip().replace("'", '"'))
        except json.JSONDecodeError:
            return 0.0
    if result is None or not isinstance(result, dict):
        return 0.0
    expected = rules.get("expected", {})
    if any(v == "__EVALUATION_FAILED__" for v in expected.values()):
        return 0.0
    try:
        if not rules.get("expect_in_result", False):
            for key, want in expected.items():
                if expected.get("ignore_list_order", False):
                    if sorted(want) != sorted(result.get(key) or []):
                        return 0.0
                elif want != result.get(key):
                    return 0.0
            return 1.0
        for key, want in expected.items():
            got = result.get(key)
            if isinstance(want, list):
                hit = any(
                    (isinstance(got, list) and w in got) or (isinstance(got, str) and w == got) for w in want
                )
                if not hit:
                    return 0.0
            elif isinstance(want, str):
                if not isinstance(got, str) or want not in got:
                    return 0.0
            else:
                return 0.0
        return 1.0
    except (TypeError, AttributeError):
        return 0.0


def _read_text(path: Any) -> str | None:
    if not path:
        return None
    try:
        return Path(str(path)).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def check_list(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """Over the lines of the result file: each `expect` regex matches some line, no `unexpect` regex any."""
    text = _read_text(result)
    if text is None:
        return 0.0
    expect = [re.compile(p) for p in rules.get("expect", [])]
    unexpect = [re.compile(p) for p in rules.get("unexpect", [])]
    lines = text.splitlines(keepends=True)
    found = all(any(r.search(line) for line in lines) for r in expect)
    clean = all(r.search(line) is None for line in lines for r in unexpect)
    return float(found and clean)


def _normalise(text: str, options: dict[str, Any]) -> str:
    if options.get("ignore_blanks", False):
        text = re.sub(r"[\t\n]", " ", text).strip()
        text = re.sub(r"\s+", " ", text)
    if options.get("ignore_case", False):
        text = text.lower()
    return text


def compare_text_file(result: Any, expected: Any, **options: Any) -> float:
    """1 when both files hold the same text (options `ignore_blanks`, `ignore_case`, as in OSWorld).

    A missing result file scores 0. Ours: one final newline more or less is not a difference (an
    editor adds it on save); OSWorld compares the raw text.
    """
    actual = _read_text(result)
    gold = _read_text(expected)
    if actual is None or gold is None:
        return 0.0
    if not options.get("strict_final_newline", False):
        actual, gold = actual.removesuffix("\n"), gold.removesuffix("\n")
    return float(_normalise(actual, options) == _normalise(gold, options))


def diff_text_file(result: Any, expected: Any, **_: Any) -> float:
    """Line-level similarity of two text files (difflib ratio)."""
    import difflib

    actual, gold = _read_text(result), _read_text(expected)
    if actual is None or gold is None:
        return 0.0
    return difflib.SequenceMatcher(a=actual.splitlines(), b=gold.splitlines()).ratio()


def file_contains(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 when the result file contains every string of `rules["expected"]`."""
    text = _read_text(result)
    if text is None:
        return 0.0
    return float(all(s in text for s in rules["expected"]))
