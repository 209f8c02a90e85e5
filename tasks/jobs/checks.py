"""Postconditions of a replayed step, checked on the live screen, and the page's own messages (its
validation errors) for a row that fails. Browser-only checks are skipped where nothing can be read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from actions.environment import Environment
from actions.typed import FOCUSED_JS
from actions.types import Observation
from tasks.jobs.compile import page_address
from tasks.jobs.locate import Located, browser_of, region_changed
from tasks.jobs.params import fill
from tasks.jobs.spec import Box, FieldHolds, JobStep, ScreenChanges, TextShown, UrlIs

CHECK_TIMEOUT_MS = 1500
# Visible messages a page shows about its form: alerts and invalid fields' descriptions.
_MESSAGES_JS = """() => {
  const seen = new Set(), out = [];
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  for (const el of document.querySelectorAll('[role=alert],[aria-live=assertive],.error,.invalid-feedback')) {
    const t = (el.innerText || '').replace(/\\s+/g, ' ').trim();
    if (t && visible(el) && !seen.has(t)) { seen.add(t); out.push(t.slice(0, 160)); }
  }
  return out.slice(0, 6);
}"""


def _evaluate(env: Environment, script: str) -> Any:
    """`script` in the page, with a deadline; None when there is no page or it cannot answer."""
    browser = browser_of(env)
    if browser is None:
        return None
    try:
        return browser.page_value(f"({script})()", CHECK_TIMEOUT_MS)
    except Exception:
        return None  # a page mid-navigation cannot answer; the other checks still speak


def page_messages(env: Environment) -> str:
    """'; the page says: ...' with the page's visible alerts, or '' when it shows none."""
    found = _evaluate(env, _MESSAGES_JS)
    if not isinstance(found, list) or not found:
        return ""
    return "; the page says: " + " | ".join(repr(str(m)) for m in found)


def _near(step: JobStep, located: Located | None) -> Box | None:
    """The live region a click's screen change is expected in: the anchor's size around the point."""
    anchor = step.target.anchor if step.target else None
    if anchor is None:
        return None
    if located is None:
        return None  # the model acted: the target's place is not known, any change counts
    x, y = located.point
    cx, cy = anchor.click
    return Box(x=max(0.0, x - cx), y=max(0.0, y - cy), w=anchor.region.w, h=anchor.region.h)


def rebased(url: str, recorded_start: str | None, live_start: str | None) -> str:
    """`url` moved from the recorded start page's site to the live one's (the same app served on
    another host or port, e.g. `job run --url`); other sites are left as they are."""
    if not recorded_start or not live_start:
        return url
    old, new, here = urlsplit(recorded_start), urlsplit(live_start), urlsplit(url)
    if (here.scheme, here.netloc) != (old.scheme, old.netloc):
        return url
    return urlunsplit((new.scheme, new.netloc, here.path, here.query, here.fragment))


def failed_postcondition(
    env: Environment,
    step: JobStep,
    values: dict[str, str],
    before: Observation,
    after: Observation,
    located: Located | None,
    starts: tuple[str | None, str | None] = (None, None),
) -> str | None:
    """The first expectation of `step` the live screen does not meet, in words; None when all hold.
    `starts`: the recorded and the live start page, whose site a url expectation follows."""
    for expect in step.expect:
        if isinstance(expect, UrlIs):
            want = rebased(fill(expect.equals, values, "a url postcondition"), *starts)
            if after.url is None or page_address(after.url) != want:
                return f"the page should be {want}, but it is {after.url}"
        elif isinstance(expect, FieldHolds):
            want = fill(expect.contains, values, "a field postcondition")
            focused = _evaluate(env, FOCUSED_JS)  # the deep focused element, as typing reads it
            value = focused.get("value") if isinstance(focused, dict) else None
            if browser_of(env) is not None and (not isinstance(value, str) or want not in value):
                return f"the focused field should hold {want!r}, but it holds {value!r}"
        elif isinstance(expect, TextShown):
            want = fill(expect.text, values, "a text postcondition")
            shown = _evaluate(env, "() => document.body ? document.body.innerText : ''")
            if browser_of(env) is not None and (not isinstance(shown, str) or want not in shown):
                return f"the page should show {want!r}, but it does not"
        elif isinstance(expect, ScreenChanges):
            near = _near(step, located) if expect.near is not None else None
            if not region_changed(before, after, near):
                return "the screen did not change" + (" near the target" if near else "")
    return None
