"""Safety policy: which actions are risky (by what is under the pointer or what is typed) and who
confirms them. The guard reads the screen's own words, not the model's judgement of its action.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from typing import Literal, Protocol, runtime_checkable

from actions.types import Action, Click, ElementInfo, Frozen, Hotkey, TypeText

DEFAULT_RISKY_WORDS: tuple[str, ...] = (
    "buy",
    "pay",
    "purchase",
    "checkout",
    "check out",
    "delete",
    "remove",
    "send",
    "submit order",
    "place order",
    "confirm order",
    "book now",
    "transfer",
    "uninstall",
    "format",
    "erase",
    "publish",
)


class Risk(Frozen):
    """Why an action needs a person's yes: which words matched, in what, and the question to ask."""

    word: str
    source: Literal["element", "typed", "summary"]
    question: str


@runtime_checkable
class Confirmer(Protocol):
    """Asks a person whether to go ahead with an action; True means yes."""

    def confirm(self, question: str) -> bool: ...


class ConsoleConfirmer:
    """Asks y/N on the terminal; with no terminal to ask, the answer is no (the safe default)."""

    def __init__(
        self,
        ask: Callable[[str], str] = input,
        interactive: Callable[[], bool] = lambda: sys.stdin.isatty(),
    ) -> None:
        self._ask = ask
        self._interactive = interactive

    def confirm(self, question: str) -> bool:
        if not self._interactive():
            print(f"{question} -> no (no terminal to ask; use --yes to allow)", file=sys.stderr)
            return False
        try:
            reply = self._ask(f"{question} [y/N] ")
        except EOFError:
            return False
        return reply.strip().lower() in ("y", "yes")


class ListConfirmer:
    """Answers from a fixed list (then `default`) and records every question: scripted automation."""

    def __init__(self, answers: Iterable[bool], default: bool = False) -> None:
        self._answers = list(answers)
        self.default = default
        self.questions: list[str] = []

    def confirm(self, question: str) -> bool:
        self.questions.append(question)
        return self._answers.pop(0) if self._answers else self.default


def _matcher(words: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = [r"\s+".join(map(re.escape, w.split())) for w in words if w.strip()]
    if not alternatives:
        return None
    return re.compile(r"\b(" + "|".join(alternatives) + r")\b", re.IGNORECASE)


class SafetyPolicy:
    """Finds the risky word in an action's target (element text/label), typed text, or the model's
    summary line (used only where the environment cannot tell what is under the pointer)."""

    def __init__(self, risky_words: Iterable[str] = DEFAULT_RISKY_WORDS) -> None:
        self.words = tuple(risky_words)
        self._pattern = _matcher(self.words)

    def _find(self, text: str | None) -> str | None:
        if not text or self._pattern is None:
            return None
        m = self._pattern.search(text)
        return m.group(1).lower() if m else None

    def assess(
        self, action: Action, element: ElementInfo | None = None, summary: str | None = None
    ) -> Risk | None:
        """The risk of one action, or None when nothing risky matched."""
        if isinstance(action, Click) and element is not None:
            for text in (element.text, element.label):
                if word := self._find(text):
                    name = (element.label or element.text).strip()[:80]
                    return Risk(word=word, source="element", question=f"Click {name!r}?")
            return None
        if isinstance(action, TypeText):
            if word := self._find(action.text):
                return Risk(word=word, source="typed", question=f"Type {action.text!r}?")
            return None
        if isinstance(action, Click | Hotkey) and element is None and (word := self._find(summary)):
            return Risk(word=word, source="summary", question=f"{summary}?")
        return None
