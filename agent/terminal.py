"""Model text on a terminal: shown, never obeyed.

A model's thought, answer or explanation may hold escape sequences (OSC 52 writes the user's
clipboard, CSI clears the screen or moves the cursor), carriage returns that overwrite a line, or
bidirectional overrides that reorder what the reader sees. `terminal_safe` writes every such
character out visibly (ESC as `\\x1b`) before the text reaches stdout or stderr;
`terminal_safe_json` does the same in JSON's own escapes (`\\u001b`) for JSON printed there.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, bidirectional marks, embeddings, overrides and
# isolates, and lone surrogates (which no terminal encoding can carry).
_UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """`text` with every character a terminal would act on written as its escape (`\\x1b`,
    `\\x9b`, `\\u202e`); newlines and tabs are kept, everything else is unchanged."""
    return _UNSAFE.sub(_escape, text)


def terminal_safe_json(text: str) -> str:
    """JSON text (as `json.dumps` writes it) with the same characters written as JSON escapes
    (`\\u001b`, `\\u202e`): the same values to a JSON reader, inert on a terminal. (They can only
    occur inside its strings, where an escape means the character itself.)"""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
