"""Secrets as `{{secret:NAME}}` placeholders: resolved from the process environment only at typing
time, inside an environment's execute path, so prompts, logs and reports only ever hold the name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

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


class Redactor:
    """Replaces known secret values with their placeholders (defence in depth for recorded text)."""

    def __init__(self, names: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        # Longest first so a value containing another is replaced whole; very short values would
        # redact ordinary words, so they are left alone.
        pairs = [(v, n) for n in set(names) if len(v := env.get(secret_variable(n), "")) >= 4]
        self._pairs = sorted(pairs, key=lambda p: -len(p[0]))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        """A redactor for every secret defined in the environment (QWEN_AGENT_SECRET_*)."""
        env = os.environ if environ is None else environ
        names = [k.removeprefix(SECRET_ENV_PREFIX) for k in env if k.startswith(SECRET_ENV_PREFIX)]
        return cls(names, env)

    def add(self, names: Iterable[str], environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        known = {n for _, n in self._pairs}
        extra = [(v, n) for n in set(names) - known if len(v := env.get(secret_variable(n), "")) >= 4]
        self._pairs = sorted(self._pairs + extra, key=lambda p: -len(p[0]))

    def __call__(self, text: str) -> str:
        for value, name in self._pairs:
            text = text.replace(value, f"{{{{secret:{name}}}}}")
        return text
