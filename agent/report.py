"""The HTML report of a run: one HTML file (inline CSS and SVG; the screenshots are the step_<n>.png
files beside it) with every step's screenshot (the action drawn over it), thought, action, outcome,
latency and tokens.

Rewritten after every step (atomically), so an interrupted run still has a readable report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path

from actions.types import describe_action
from agent.drawing import action_overlay
from agent.trajectory import RunResult, Step

# The model's Action line (shown as the Action). [^\S\n]* not \s*: \s* spans lines, which makes a
# flood of blank lines quadratic.
_ACTION_LINE = re.compile(r"^[^\S\n]*\**Action\**[^\S\n]*:.*$", re.IGNORECASE | re.MULTILINE)

CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
.status{display:inline-block;padding:.2em .6em;border-radius:.3em;color:#fff;font-weight:600}
.success{background:#2a7a2a}.failure,.error{background:#b02a2a}.blocked{background:#c77800}
.budget,.aborted,.running{background:#666}
.step{border:1px solid #ccc;border-radius:.4em;padding:1em;margin:1em 0}
.shot{position:relative;display:inline-block;max-width:100%}
.shot img{display:block;max-width:100%;border:1px solid #ddd}
.shot .overlay{position:absolute;inset:0;width:100%;height:100%;pointer-events:none}
.meta{color:#666;font-size:.9em}.final{font-size:1.15em;padding:1em;background:#f4f4f4}
pre{white-space:pre-wrap;background:#fafafa;padding:.5em;font-size:.85em}
"""


def _step_html(step: Step, redact: Callable[[str], str]) -> str:
    parts = [f'<div class="step" id="step-{step.index}"><h3>Step {step.index} ({step.kind})</h3>']
    if step.screenshot and step.kind in ("action", "parse_error"):
        overlay = action_overlay(step.action, step.geometry, step.outcome) if step.geometry else ""
        image = f'<img src="{escape(step.screenshot)}" alt="step {step.index}" loading="lazy">'
        parts.append(f'<div class="shot">{image}{redact(overlay)}</div>')
    thought = _ACTION_LINE.sub("", step.thought).strip() if step.kind == "action" else step.thought
    if thought:
        parts.append(f"<p><b>Thought:</b> {escape(redact(thought))}</p>")
    if step.action is not None:
        # The model's own words for the action (its Action: line), then what was done in pixels.
        said = f"{step.summary} — " if step.summary else ""
        parts.append(f"<p><b>Action:</b> {escape(redact(said + describe_action(step.action)))}</p>")
    if step.outcome is not None and step.outcome.kind != "executed":
        parts.append(f"<p><b>Outcome:</b> {step.outcome.kind}: {escape(redact(step.outcome.reason))}</p>")
    if step.screen_changed is False:
        parts.append("<p><b>No visible effect.</b></p>")
    if step.error:
        parts.append(f"<p><b>Parse error:</b> {escape(redact(step.error))}</p>")
    if step.plan:
        items = "".join(f"<li>{escape(redact(p))}</li>" for p in step.plan)
        parts.append(f"<p><b>Plan:</b></p><ol>{items}</ol>")
    if step.kind == "explanation" and step.summary:
        parts.append(f"<p><b>Explanation:</b> {escape(redact(step.summary))}</p>")
    t, u = step.timing, step.usage
    est = " (estimated)" if u.estimated else ""
    parts.append(
        f'<p class="meta">observe {t.observe_ms:.0f} ms, model {t.predict_ms:.0f} ms, '
        f"execute {t.execute_ms:.0f} ms, settle {t.settle_ms:.0f} ms; prompt tokens "
        f"{u.prompt_tokens}{est} (images {u.image_tokens}), reply tokens {u.completion_tokens}</p>"
    )
    parts.append(
        f"<details><summary>raw reply</summary><pre>{escape(redact(step.raw_reply))}</pre></details>"
    )
    parts.append("</div>")
    return "\n".join(parts)


def render_report(
    instruction: str,
    steps: Sequence[Step],
    result: RunResult | None,
    redact: Callable[[str], str] = lambda s: s,
    about: Mapping[str, str] | None = None,
    final_screen: str | None = None,
) -> str:
    """The report's HTML text; `result` None means the run is still going (or was cut off)."""
    status = result.status if result is not None else "running"
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>qwen-agent run: {escape(redact(instruction))[:80]}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(redact(instruction))}</h1>",
        f'<p><span class="status {status}">{status}</span></p>',
    ]
    if result is not None:
        final = result.explanation or result.answer
        if final:
            head.append(f'<div class="final">{escape(redact(final))}</div>')
        tokens = sum(s.usage.prompt_tokens for s in steps)
        head.append(
            f'<p class="meta">{len(steps)} steps, {result.duration_s:.1f} s, {tokens} prompt tokens</p>'
        )
    if about:
        facts = "; ".join(f"{escape(k)}: {escape(redact(v))}" for k, v in about.items())
        head.append(f'<p class="meta">{facts}</p>')
    body = [_step_html(s, redact) for s in steps]
    if final_screen:
        body.append(
            f'<div class="step"><h3>The screen at the end</h3><div class="shot">'
            f'<img src="{escape(final_screen)}" alt="final screen" loading="lazy"></div></div>'
        )
    return "\n".join([*head, *body, "</body></html>"]) + "\n"


def write_report(
    folder: Path,
    instruction: str,
    steps: Sequence[Step],
    result: RunResult | None,
    redact: Callable[[str], str] = lambda s: s,
    about: Mapping[str, str] | None = None,
    final_screen: str | None = None,
) -> Path:
    """Write report.html atomically (a reader never sees half a file)."""
    path = folder / "report.html"
    tmp = folder / ".report.html.tmp"
    html = render_report(instruction, steps, result, redact, about, final_screen)
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path
