"""Secrets as `{{secret:NAME}}` placeholders: resolved from the process environment only at typing
time, inside an environment's execute path, so prompts, logs and reports only ever hold the name.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from actions.errors import BadInput

SECRET_PLACEHOLDER = re.compile(r"\{\{\s*secret:([A-Za-z0-9_]+)\s*\}\}")
# Only variables with this prefix are reachable: text on a hostile page cannot make the model type
# {{secret:HOME}} or any other variable of the process.
SECRET_ENV_PREFIX = "QWEN_AGENT_SECRET_"


def secret_variable(name: str) -> str:
    """The environment variable that holds secret `name`."""
    return SECRET_ENV_PREFIX + name


class SecretMissing(BadInput):
    """A placeholder names a variable that is not set in the environment."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"secret {name!r} is not set: export {secret_variable(name)}=... before the run "
            f"(the model only ever sees {{{{secret:{name}}}}})"
        )


def secret_names(text: str) -> tuple[str, ...]:
    """Names of the placeholders in `text`, in order of appearance."""
    return tuple(m.group(1) for m in SECRET_PLACEHOLDER.finditer(text))


def has_secrets(text: str) -> bool:
    return SECRET_PLACEHOLDER.search(text) is not None


def require_secrets(text: str, environ: Mapping[str, str] | None = None) -> None:
    """Raise SecretMissing for the first placeholder in `text` whose variable is not set (a run
    checks its instruction before the first model call, not when the type step comes)."""
    env = os.environ if environ is None else environ
    for name in secret_names(text):
        if secret_variable(name) not in env:
            raise SecretMissing(name)


def resolve_secrets(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with every placeholder replaced by its value; call just before the input call."""
    env = os.environ if environ is None else environ

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if secret_variable(name) not in env:
            raise SecretMissing(name)
        return env[secret_variable(name)]

    return SECRET_PLACEHOLDER.sub(value, text)


# Values this short also occur inside ordinary words and numbers: they are still redacted (a PIN is
# a secret), and the user is told once that those characters are blanked wherever they appear.
SHORT_SECRET_CHARS = 4
# {{secret:NAME}} placeholders already in a text are kept whole, so redacting twice changes nothing
# (a short value's characters may occur inside a placeholder).
_KEEP = "(?P<keep>" + SECRET_PLACEHOLDER.pattern + ")"
_JSON_SHORT = {"\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
_HTML_NAMED = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos", "\xa0": "nbsp"}
# A JSON escape's backslashes, nested up to 4 levels (each level doubles them). Bounded, so a long run
# of backslashes costs a constant per position, never a quadratic backtrack.
_BACKSLASHES = r"\\{1,16}"
_warned: set[str] = set()  # names of short secrets the user was told about in this process


def _hex(n: int, width: int) -> str:
    """A regex for `n` in hexadecimal, `width` digits at least, letters in either case."""
    digits = f"{n:0{width}x}"
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


def _char_forms(c: str) -> str:
    """A regex for one character of a secret in every form it may be written in: as itself;
    URL-encoded (UTF-8 bytes as %XX in either case, also %25XX as encoded again; `+` for a space in
    a form); HTML-escaped (named and numeric entities, leading zeros allowed); JSON-escaped (\\uXXXX
    of its UTF-16 code units, the short escapes, escaped quote and slash), with the runs of
    backslashes of JSON inside JSON (up to 4 levels deep)."""
    forms = [_BACKSLASHES if c == "\\" else re.escape(c)]
    forms.append("".join(f"%(?:25){{0,3}}{_hex(byte, 2)}" for byte in c.encode("utf-8")))
    if c == " ":
        forms.append(r"\+")
    if c in _HTML_NAMED:
        forms.append(f"&{_HTML_NAMED[c]};")
    forms.append(f"&#0{{0,8}}{ord(c)};")
    forms.append(f"&#[xX]0{{0,8}}{_hex(ord(c), 1)};")
    units = c.encode("utf-16-be")
    code_units = [int.from_bytes(units[i : i + 2], "big") for i in range(0, len(units), 2)]
    forms.append("".join(f"{_BACKSLASHES}u{_hex(u, 4)}" for u in code_units))
    if c in _JSON_SHORT:
        forms.append(_BACKSLASHES + _JSON_SHORT[c])
    if c in ('"', "/"):
        forms.append(_BACKSLASHES + re.escape(c))
    return "(?:" + "|".join(forms) + ")"


def secret_pattern(value: str) -> str:
    """A regex matching `value` written raw, URL-encoded, HTML-escaped or JSON-escaped (each
    character in any of its forms, so mixed encoders match too)."""
    return "".join(_char_forms(c) for c in value)


class Redactor:
    """Replaces known secret values, in every encoding they travel in (secret_pattern), with their
    placeholders: one compiled alternation, longest value first, one pass over the text.

    Values of any length are redacted; for one of SHORT_SECRET_CHARS characters or fewer the user is
    told once (stderr) that those characters are blanked wherever they appear."""

    def __init__(self, names: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = {}  # name -> value
        self._order: list[str] = []  # the names in the regex's order (group s<i> is _order[i])
        self._regex: re.Pattern[str] | None = None
        self.add(names, environ)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        """A redactor for every secret defined in the environment (QWEN_AGENT_SECRET_*)."""
        env = os.environ if environ is None else environ
        names = [k.removeprefix(SECRET_ENV_PREFIX) for k in env if k.startswith(SECRET_ENV_PREFIX)]
        return cls(names, env)

    @classmethod
    def for_run(
        cls, instruction: str, allowed: Iterable[str] = (), environ: Mapping[str, str] | None = None
    ) -> Redactor:
        """The one redactor of a run: every secret it may use (those its instruction names, those
        allowed besides, and any other QWEN_AGENT_SECRET_* set, which a page could ask for)."""
        redactor = cls.from_environment(environ)
        redactor.add([*secret_names(instruction), *allowed], environ)
        return redactor

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._values))

    def add(self, names: Iterable[str], environ: Mapping[str, str] | None = None) -> None:
        """Learn the values of `names` (unset or empty ones are skipped: nothing to redact)."""
        env = os.environ if environ is None else environ
        extra = {n: v for n in set(names) - set(self._values) if (v := env.get(secret_variable(n), ""))}
        if not extra:
            return
        self._values |= extra
        for name, value in sorted(extra.items()):
            if len(value) <= SHORT_SECRET_CHARS and name not in _warned:
                _warned.add(name)
                sys.stderr.write(
                    f"qwen-agent: warning: secret {name} has only {len(value)} characters: they are "
                    "blanked wherever they appear in prompts, terminal output and recorded text, "
                    "also inside other words and numbers\n"
                )
        # Longest first: of two values starting at the same place, the longer is replaced whole.
        ordered = sorted(self._values.items(), key=lambda p: (-len(p[1]), p[0]))
        self._order = [name for name, _ in ordered]
        parts = [f"(?P<s{i}>{secret_pattern(v)})" for i, (_, v) in enumerate(ordered)]
        self._regex = re.compile("|".join([_KEEP, *parts]))

    def _replace(self, m: re.Match[str]) -> str:
        group = m.lastgroup
        if group is None or group == "keep":
            return m.group(0)
        return f"{{{{secret:{self._order[int(group[1:])]}}}}}"

    def __call__(self, text: str) -> str:
        if self._regex is None:
            return text
        return self._regex.sub(self._replace, text)


def redact_data(value: Any, redact: Callable[[str], str]) -> Any:
    """JSON-able `value` with `redact` applied to every string value in it. Keys (ours: field
    names) and numbers (ours: timings, counts) are kept, so the JSON stays valid and readable back
    where a short secret's characters occur in them."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, redact) for v in value]
    return value
