"""Run-time parameters: `{{name}}` placeholders in an instruction or a job's typed text, filled from
`--param name=value`, a params file or a CSV row; and the reverse, a recorded text turned back into
its template. Secrets (`{{secret:NAME}}`) are not parameters: they stay placeholders until typing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from actions.errors import BadInput

PARAM = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def param_names(text: str) -> tuple[str, ...]:
    """The parameter names in `text`, each once, in order of first appearance."""
    return tuple(dict.fromkeys(m.group(1) for m in PARAM.finditer(text)))


def fill(text: str, values: Mapping[str, str], where: str = "the instruction") -> str:
    """`text` with every `{{name}}` replaced by its value; BadInput names the first one missing."""
    missing = [n for n in param_names(text) if n not in values]
    if missing:
        flags = " ".join(f"--param {n}=..." for n in missing)
        raise BadInput(f"{where} uses {{{{{missing[0]}}}}} but no value was given for it ({flags})")
    return PARAM.sub(lambda m: values[m.group(1)], text)


def templatise(text: str, values: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """`text` with each parameter's value put back as `{{name}}` (longest values first, so a value
    containing another is replaced whole), and the names used, in order of appearance."""
    pairs = sorted(((v, n) for n, v in values.items() if v), key=lambda p: -len(p[0]))
    if not pairs:
        return text, ()
    pattern = re.compile("|".join(re.escape(v) for v, _ in pairs))
    by_value = {v: n for v, n in pairs}
    out = pattern.sub(lambda m: f"{{{{{by_value[m.group(0)]}}}}}", text)
    return out, param_names(out)


def parse_params(flags: Iterable[str]) -> dict[str, str]:
    """`--param name=value` flags as a mapping (the value may hold '=')."""
    values: dict[str, str] = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        name = name.strip()
        if not sep or not _NAME.fullmatch(name):
            raise BadInput(f"--param {flag!r}: expected NAME=VALUE with NAME made of letters, digits and _")
        values[name] = value
    return values


def load_params_file(path: Path) -> dict[str, str]:
    """A JSON object of parameter values (strings; numbers and booleans are written as text)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BadInput(f"--params-file {path}: cannot read it ({e.strerror or e})") from e
    except json.JSONDecodeError as e:
        raise BadInput(f"--params-file {path}: not JSON (line {e.lineno}, column {e.colno}: {e.msg})") from e
    if not isinstance(data, dict):
        raise BadInput(f"--params-file {path}: expected a JSON object of NAME: value")
    values: dict[str, str] = {}
    for name, value in data.items():
        if not _NAME.fullmatch(name) or isinstance(value, dict | list) or value is None:
            raise BadInput(f"--params-file {path}: {name!r} must be a NAME with a text or number value")
        values[name] = json.dumps(value) if isinstance(value, bool) else str(value)
    return values
