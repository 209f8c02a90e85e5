"""JSON read within limits, in linear time: the parser's only JSON reader (model.qwen3vl.parse).

Objects are bracket-matched by a linear scan before the decoder sees them, so the decoder never
recurses deeply nor restarts at every "{" of a long reply; nesting is bounded (MAX_DEPTH), integers
by their digits (MAX_INT_DIGITS), and NaN, Infinity and floats that overflow are refused. Whatever
the text, a reader here returns a value or raises NotJson, never anything else.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# A call nests 3 deep ({"arguments": {"coordinate": [x, y]}}); deeper JSON is not read at all.
MAX_DEPTH = 16
# Integers beyond 10**20 mean nothing to any argument; refusing the digits early also keeps Python's
# 4,300-digit int conversion limit (a ValueError of its own) out of reach.
MAX_INT_DIGITS = 20
_SPACE = re.compile(r"\s*+")
# A call is an object with keys: "{", a string, ":". Anything else ("{{", "{}") is never one.
OBJECT_START = re.compile(r'\{\s*+"(?:[^"\\]++|\\.)*+"\s*+:')
# What a bracket scan reads, with what must follow each part (anything else ends it: not JSON).
_TOKEN = re.compile(
    r'(\{\s*+(?:"(?:[^"\\]++|\\.)*+"\s*+:|(?=\})))'  # "{" with its first key (or of "{}")
    r'|("(?:[^"\\]++|\\.)*+"(?=\s*+[:,}\]]))'  # a string
    r"|(\[++)"  # a run of "["
    r"|(\]++|\})"  # a run of "]", or "}"
    r'|(["{])',  # a string that never ends, a "{" without a key: not JSON
    re.DOTALL,
)
_OPEN_OBJECT, _STRING, _OPEN_ARRAYS, _CLOSE = 1, 2, 3, 4
_CLOSER = {"{": "}", "[": "]"}
# Bracket scans of one reply together look at no more than this many characters per character of
# the reply (a rescan happens only where scans start inside each other's strings).
_SCAN_BUDGET_PER_CHAR = 8


def skip_space(text: str, i: int) -> int:
    m = _SPACE.match(text, i)
    return m.end() if m else i


class NotJson(ValueError):
    """Text the parser does not read as JSON; the message says why."""


def _json_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise NotJson(f"an integer of {len(digits.lstrip('-')):,} digits is too large")
    return int(digits)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotJson(f"the number {text[:40]!r} is too large")
    return value


def _json_constant(name: str) -> Any:
    raise NotJson(f"{name} is not a number")


DECODER = json.JSONDecoder(parse_float=_json_float, parse_int=_json_int, parse_constant=_json_constant)


class Brackets:
    """Where the JSON objects of one text close and how deeply they nest, found in linear time and
    without recursion, remembered for every "{" a scan passes (a later candidate is answered at once).

    Only strings and brackets are read, with what must follow them (a key or "}" after "{"; ":",
    ",", "}" or "]" after a string); the decoder checks the rest afterwards. A scan keeps about the
    innermost 2 * (MAX_DEPTH + 1) open brackets: those below are too deep to decode however they
    end, and a run of "[" or "]" is one step. All scans of one text together read at most a budget
    proportional to its length (only scans that start inside each other's strings read a stretch
    twice; past the budget nothing more is found, which only hostile text reaches).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        # "{" -> (end, depth), end -1 when too deep to matter; None: the object never closes.
        self.spans: dict[int, tuple[int, int] | None] = {}
        self.budget = _SCAN_BUDGET_PER_CHAR * len(text) + 10_000

    def span(self, start: int, deepest: int | None = None) -> tuple[int, int] | None:
        """(end, depth) of the object or array opening at `start`; None when it never closes or the
        budget is spent. With `deepest`, the scan stops as soon as it is deeper: (-1, depth)."""
        if start in self.spans:
            return self.spans[start]
        text, spans = self.text, self.spans
        window = MAX_DEPTH + 1
        limit = 2 * window if deepest is None else deepest
        stack: list[list[int]] = []  # the innermost open brackets: [position, depth of deepest child]
        dropped = 0  # open brackets below the stack, all too deep
        pos = start
        for m in _TOKEN.finditer(text, start):
            i, end = m.span()
            self.budget -= end - pos
            pos = end
            if self.budget < 0:
                return None  # nothing learnt about the brackets still open
            kind = m.lastindex
            if kind == _STRING:
                continue
            if kind == _OPEN_OBJECT:
                stack.append([i, 0])
            elif kind == _OPEN_ARRAYS:  # only the innermost of a run can be within the limit
                stack.extend([p, 0] for p in range(max(i, end - limit - 1), end))
                dropped += max(end - i - limit - 1, 0)
            elif kind == _CLOSE:
                k = i
                while k < end:
                    if not stack:  # closing brackets below the stack
                        n = min(end - k, dropped)
                        dropped, k = dropped - n, k + n
                        if not dropped:
                            return self._closed(start, (k, limit))
                        continue
                    opened, inner = stack.pop()
                    if _CLOSER[text[opened]] != text[k]:
                        self._fail(stack)
                        return None
                    k += 1
                    inner += 1
                    if text[opened] == "{":
                        spans[opened] = (k, inner)
                    if stack:
                        if stack[-1][1] < inner:
                            stack[-1][1] = inner
                    elif not dropped:
                        return self._closed(start, (k, inner))
                continue
            else:
                break  # not JSON: a string that never ends or is followed by what cannot follow it
            if len(stack) > limit:
                if deepest is not None:
                    return -1, len(stack)
                extra = len(stack) - window  # each has window brackets inside it at least
                for p, _ in stack[:extra]:
                    if text[p] == "{":
                        spans[p] = (-1, window)
                del stack[:extra]
                dropped += extra
        self._fail(stack)
        return None

    def _closed(self, start: int, span: tuple[int, int]) -> tuple[int, int]:
        if self.text[start] == "{":
            self.spans[start] = span
        return span

    def _fail(self, stack: list[list[int]]) -> None:
        """The open brackets all fail where the scan failed (JSON is context-free)."""
        for p, _ in stack:
            if self.text[p] == "{":
                self.spans[p] = None


def decode_at(brackets: Brackets, start: int, deepest: int | None) -> tuple[Any, int]:
    """The JSON object or array opening at `start` and its end; raises NotJson."""
    span = brackets.span(start, deepest)
    if span is None:
        raise NotJson("it is not complete JSON")
    end, depth = span
    if depth > MAX_DEPTH:
        raise NotJson(f"it nests deeper than {MAX_DEPTH} levels")
    try:
        return DECODER.decode(brackets.text[start:end]), end
    except json.JSONDecodeError as e:
        raise NotJson(e.msg) from None


def decode_object_at(
    brackets: Brackets, start: int, deepest: int | None = MAX_DEPTH
) -> tuple[Any, int] | None:
    """The JSON object at or after `start` (whitespace skipped) and its end; None when no object with
    keys starts there; raises NotJson when one starts but cannot be read within the limits."""
    i = skip_space(brackets.text, start)
    if OBJECT_START.match(brackets.text, i) is None:
        return None
    return decode_at(brackets, i, deepest)


def decode_object(text: str, start: int = 0) -> tuple[Any, int] | None:
    """The JSON object at or after `start` (whitespace skipped) and where it ends, read within the
    parser's limits; None when there is none or it cannot be read. (codec.restore_stop uses it.)"""
    try:
        return decode_object_at(Brackets(text), start)
    except NotJson:
        return None


def loads(text: str) -> Any:
    """`text` as one JSON value, within the limits (depth, numbers); raises NotJson."""
    i = skip_space(text, 0)
    if text.startswith(("{", "["), i):
        value, end = decode_at(Brackets(text), i, MAX_DEPTH)
        if text[end:].strip():
            raise NotJson("extra data after the JSON value")
        return value
    try:  # a scalar (anything after it is extra data): the decoder does not nest
        return DECODER.decode(text)
    except json.JSONDecodeError as e:
        raise NotJson(e.msg) from None
