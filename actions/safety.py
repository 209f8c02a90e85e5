"""Safety policy: which actions are risky and who confirms them. The gate judges what an action
would do, read from the screen itself, not the model's words about it:

- a click, by the element under the pointer (after the pointer arrived: hover can swap a label);
- a drag, by the elements at its press point and at its drop point;
- Enter or Space (a key, or typed text holding a newline or space), by the focused control, and for
  a field by the button its form's implicit submission presses ('Place order');
- typed text, by its own words and destructive commands (rm -rf, DROP TABLE...).

Elements are judged by their name and every text shown for them (actions.types.ElementInfo), in
many languages (actions.risk_words). The model's stated intent (its `Action:` summary and thought)
is judged only where the screen cannot tell: on the desktop, on a nameless canvas or image, with
nothing focused, in a frame that cannot be read. A target that cannot be read at all is UNKNOWN;
`unknown_targets` decides ("ask": it counts as risky).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from actions.risk_words import DEFAULT_RISKY_COMMANDS, DEFAULT_RISKY_WORDS, CommandMatcher, WordMatcher
from actions.types import Action, Click, Drag, ElementInfo, Frozen, Hotkey, TypeText, describe_action

__all__ = [
    "DEFAULT_RISKY_COMMANDS",
    "DEFAULT_RISKY_WORDS",
    "ConsoleConfirmer",
    "ListConfirmer",
    "Risk",
    "SafetyPolicy",
]

UnknownTargets = Literal["ask", "allow"]
# Roles of elements that take text: Space types into them, Enter submits their form (if anything).
TEXT_ROLES = frozenset({"textbox", "searchbox", "combobox", "spinbutton"})


class Risk(Frozen):
    """Why an action needs a person's yes: which words matched, in what, and the question to ask."""

    word: str  # the listed word or command that matched; "" for an unknown target
    source: Literal["element", "drop", "focused", "typed", "command", "summary", "thought", "unknown"]
    question: str


class Targets(Frozen):
    """What an action acts on, as the environment could tell (None: it cannot, or nothing is there)."""

    element: ElementInfo | None = None  # under a click, or under a drag's press point
    drop: ElementInfo | None = None  # under a drag's release point
    focused: ElementInfo | None = None  # the keyboard focus, for keys and typed text


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


# How the gate read a target: a risky word on it, nothing risky, nothing to read on the screen (so
# the model's intent decides), or a frame that did not answer.
Reading = Literal["risky", "harmless", "unseen", "unknown"]
TRIGGER_KEYS = frozenset({"enter", "space"})  # keys that activate the focused control


def _named(el: ElementInfo | None) -> str:
    """What a person would call the element ('' when it has no name, label or text)."""
    return " ".join((el.name or el.label or el.text or "").split())[:80] if el is not None else ""


def _name(el: ElementInfo) -> str:
    return _named(el) or el.tag


def _origin(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f" from {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class SafetyPolicy:
    """Finds what makes an action risky (module docstring); `unknown_targets` says whether a target
    that cannot be read counts as risky ("ask") or not ("allow")."""

    def __init__(
        self,
        risky_words: Iterable[str] = DEFAULT_RISKY_WORDS,
        risky_commands: Iterable[str] = DEFAULT_RISKY_COMMANDS,
        unknown_targets: UnknownTargets = "ask",
    ) -> None:
        self.words = WordMatcher(risky_words)
        self.commands = CommandMatcher(risky_commands)
        self.unknown_targets = unknown_targets

    @staticmethod
    def presses_keys(action: Action) -> bool:
        """Whether the action may press Enter or Space on the focused element (the gate then needs
        it): such keys, or typed text holding a newline or a space."""
        if isinstance(action, Hotkey):
            return bool(TRIGGER_KEYS & set(action.keys))
        return isinstance(action, TypeText) and any(c in action.text for c in "\n\r ")

    def word_in(self, element: ElementInfo) -> str | None:
        """The risky word in an element's name, label, text or any of its texts."""
        for text in (element.name, element.label, element.text, *element.texts):
            if word := self.words.find(text):
                return word
        return None

    def read(self, element: ElementInfo | None) -> tuple[Reading, str | None]:
        """How a target reads: (reading, the risky word when there is one)."""
        if element is None:
            return "unseen", None
        if element.unreadable:
            return "unknown", None
        if word := self.word_in(element):
            return "risky", word
        return ("unseen" if element.graphic else "harmless"), None

    def assess(
        self,
        action: Action,
        element: ElementInfo | None = None,
        summary: str | None = None,
        *,
        drop: ElementInfo | None = None,
        focused: ElementInfo | None = None,
        thought: str | None = None,
    ) -> Risk | None:
        """The risk of one action, or None when nothing risky matched. `element`: under a click or
        a drag's press point; `drop`: under a drag's release point; `focused`: the focused element
        (for keys and typed text); `summary`/`thought`: the model's stated intent."""
        intent = (summary, thought)
        if isinstance(action, Click):
            reading, word = self.read(element)
            if reading == "risky" and element is not None and word:
                return Risk(word=word, source="element", question=f"Click {_name(element)!r}?")
            return self._unseen(action, [(reading, element)], "Click", intent)
        if isinstance(action, Drag):
            (press, pword), (release, dword) = self.read(element), self.read(drop)
            what = f" {_named(element)!r}" if _named(element) else ""
            onto = f" onto {_named(drop)!r}" if _named(drop) else ""
            if press == "risky" and pword:  # what is moved: a "slide to pay" knob
                return Risk(
                    word=pword, source="element", question=f"Drag{what}{onto if release == 'risky' else ''}?"
                )
            if release == "risky" and dword:  # where it lands: a "Delete" bin
                return Risk(word=dword, source="drop", question=f"Drag{what}{onto or ' onto its target'}?")
            return self._unseen(action, [(press, element), (release, drop)], "Drag", intent)
        if isinstance(action, Hotkey):
            if not TRIGGER_KEYS & set(action.keys):
                # What other keys do is the page's or the app's business: only the summary tells.
                return self._intent(action, summary, None)
            keys = "+".join(k.capitalize() if len(k) > 1 else k for k in action.keys)
            return self._focus(action, f"Press {keys}", "enter" in action.keys, focused, intent, True)
        if isinstance(action, TypeText):
            text = action.text
            if word := self.commands.find(text):
                return Risk(
                    word=word, source="command", question=f"Type {text!r}? (a destructive command: {word})"
                )
            if word := self.words.find(text):
                return Risk(word=word, source="typed", question=f"Type {text!r}?")
            if self.presses_keys(action):
                enter = "\n" in text or "\r" in text
                # Without a focused element to judge, only a newline (Enter) sends the intent to court.
                return self._focus(action, f"Type {text!r}", enter, focused, intent, enter)
        return None

    def _focus(
        self,
        action: Action,
        verb: str,
        enter: bool,
        focused: ElementInfo | None,
        intent: tuple[str | None, str | None],
        judge_intent: bool,
    ) -> Risk | None:
        """Enter or Space on the focused element: a control by its words; a field only by what
        Enter in it submits (Space there types a space, a textarea's Enter a new line)."""
        if focused is None:
            return self._intent(action, *intent) if judge_intent else None
        if focused.role in TEXT_ROLES or focused.tag == "textarea":
            if enter and focused.submits and (word := self.words.find(focused.submits)):
                return Risk(word=word, source="focused", question=f"{verb} (submits {focused.submits!r})?")
            return None
        reading, word = self.read(focused)
        if reading == "risky" and word:
            return Risk(word=word, source="focused", question=f"{verb} on {_name(focused)!r}?")
        return self._unseen(action, [(reading, focused)], verb, intent)

    def _unseen(
        self,
        action: Action,
        readings: list[tuple[Reading, ElementInfo | None]],
        verb: str,
        intent: tuple[str | None, str | None],
    ) -> Risk | None:
        """Targets the screen could not name: the model's stated intent decides; a frame that did
        not answer is UNKNOWN, risky unless `unknown_targets` is "allow"."""
        kinds = {reading for reading, _ in readings}
        if not kinds & {"unseen", "unknown"}:
            return None
        if risk := self._intent(action, *intent):
            return risk
        unknown = next((el for reading, el in readings if reading == "unknown"), None)
        if unknown is None or self.unknown_targets == "allow":
            return None
        where = (
            f"inside a frame{_origin(unknown.frame)}" if unknown.tag in ("iframe", "frame") else "on a page"
        )
        return Risk(word="", source="unknown", question=f"{verb} {where} that cannot be read?")

    def _intent(self, action: Action, summary: str | None, thought: str | None) -> Risk | None:
        """The model's stated intent: its one-line summary, then its reasoning."""
        if word := self.words.find(summary):
            return Risk(word=word, source="summary", question=f"{summary}?")
        if word := self.words.find(thought):
            what = summary or describe_action(action)
            return Risk(
                word=word, source="thought", question=f"{what}? (the model's reasoning mentions {word!r})"
            )
        return None
