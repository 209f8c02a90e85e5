"""Risky words and commands: the default lists (data files shipped in this package) and the matchers
that find them in text the way a reader would, whatever the case, accents, full-width forms or words
run together ("BuyNow", "place_order").

- Words (risky_words.txt): Latin-script words match whole words only, so "pay" never matches in
  "display"; Chinese and Japanese words match anywhere (those scripts put no spaces between words).
- Commands (risky_commands.txt): regular expressions searched in typed text (rm -rf, DROP TABLE...).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

WORDS_FILE = Path(__file__).with_name("risky_words.txt")
COMMANDS_FILE = Path(__file__).with_name("risky_commands.txt")


def read_list(path: Path) -> tuple[str, ...]:
    """The entries of a list file: one per line; blank lines and `#` lines are skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


DEFAULT_RISKY_WORDS = read_list(WORDS_FILE)
DEFAULT_RISKY_COMMANDS = read_list(COMMANDS_FILE)

# Scripts written without spaces between words: a word there is any run of its characters.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")


def fold(text: str) -> str:
    """Text as compared: NFKC (full-width and compatibility forms), case folded, accents dropped
    ('Löschen' -> 'loschen'), runs of white space as one space."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFKC", text).split())


def spellings(text: str) -> list[str]:
    """`text` and, when it runs words together, the same with the words apart: camelCase
    ('BuyNow' -> 'Buy Now') and snake_case ('place_order' -> 'place order')."""
    apart = re.sub(r"_+", " ", text)
    apart = "".join(
        f" {c}" if i and c.isupper() and apart[i - 1].islower() else c for i, c in enumerate(apart)
    )
    return [text] if apart == text else [text, apart]


class WordMatcher:
    """Finds the first of `words` in a text; `find` answers with the word as it was listed."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = tuple(w for w in words if w.strip())
        # Longest first: "place order" is reported rather than a shorter word inside it.
        listed = {fold(w): w for w in sorted(self.words, key=len)}
        self._listed = listed
        alternatives = []
        for folded in sorted(listed, key=len, reverse=True):
            body = r"\s+".join(map(re.escape, folded.split()))
            alternatives.append(body if _UNSPACED.search(folded) else rf"(?<!\w){body}(?!\w)")
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    def find(self, text: str | None) -> str | None:
        """The listed word found in `text` (any spelling), or None."""
        if not text or self._pattern is None:
            return None
        for spelling in spellings(text):
            m = self._pattern.search(fold(spelling))
            if m:
                return self._listed.get(" ".join(m.group(0).split()), m.group(0))
        return None


class CommandMatcher:
    """Finds destructive commands in typed text: each pattern is a regular expression (MULTILINE,
    so `^` is the start of any typed line); `find` answers with the text that matched."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(p for p in patterns if p.strip())
        compiled = []
        for p in self.patterns:
            try:
                compiled.append(re.compile(p, re.MULTILINE))
            except re.error as e:
                raise ValueError(f"not a regular expression: {p!r} ({e})") from None
        self._compiled = tuple(compiled)

    def find(self, text: str | None) -> str | None:
        if not text:
            return None
        for pattern in self._compiled:
            if m := pattern.search(text):
                return " ".join(m.group(0).split())[:60] or pattern.pattern
        return None
