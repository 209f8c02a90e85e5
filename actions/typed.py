"""Did typed text land? The browser reads the focused field back after typing; this module decides
whether what it holds accounts for what was typed. Reasons never quote the text (it may be a secret).
"""

from __future__ import annotations

from actions.types import Frozen

# The focused editable element (through shadow roots and same-origin frames) and its text; `token`
# tells whether the focus moved to another element while typing.
FOCUSED_JS = """() => {
  let el = document.activeElement;
  for (;;) {
    if (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    else if (el && el.tagName === 'IFRAME') {
      let inner = null;
      try { inner = el.contentDocument && el.contentDocument.activeElement; } catch (e) { /* cross-origin */ }
      if (!inner) break;
      el = inner;
    } else break;
  }
  if (!el) return null;
  const key = Symbol.for('qwen-agent.focus');
  el[key] = el[key] || Math.random().toString(36).slice(2);
  const input = el.tagName === 'INPUT' || el.tagName === 'TEXTAREA';
  const editable = (input && !el.readOnly && !el.disabled) || el.isContentEditable;
  return { token: el[key], editable, value: input ? el.value : (el.isContentEditable ? el.innerText : '') };
}"""


class Focused(Frozen):
    """The element that had the keyboard focus: an identity token, editable or not, its text."""

    token: str
    editable: bool
    value: str


def typing_problem(before: Focused | None, after: Focused | None, text: str) -> str | None:
    """Why the typed `text` did not (all) land, or None when it did or it cannot be told.

    Cannot be told: the focus moved while typing (a newline submitted, a tab moved on) or no element
    could be read. The check is a case-insensitive subsequence of the typed characters in the new
    value, so input masks ("5551234" -> "(555) 123-4") and upper-casing fields still count.
    """
    if before is None or after is None or before.token != after.token:
        return None
    if not after.editable:
        return "no text field had the keyboard focus, so nothing was typed; click the field first"
    wanted = [c for c in text.casefold() if not c.isspace()]
    have = iter(after.value.casefold())
    landed = sum(1 for c in wanted if any(h == c for h in have))
    if landed == len(wanted):
        return None
    return (
        f"only {landed} of the {len(wanted)} characters typed reached the field (it may limit the length "
        "or refuse some characters); check what it holds before going on"
    )
