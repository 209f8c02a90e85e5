"""summary.html of a batch: the totals, then one line per row with its status, reason, fallbacks and
links to the row's failure screenshot and fallback reports. Self-contained HTML (no scripts)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from tasks.eval.report import REPORT_CSS

if TYPE_CHECKING:
    from tasks.jobs.outcomes import RowOutcome

_CLASS = {"done": "ok", "failed": "bad", "needs_human": "cat"}


def _row(o: RowOutcome) -> str:
    from tasks.jobs.outcomes import row_folder

    folder = row_folder(o.key)
    links = [f"<a href='{html.escape(o.screenshot)}'>screen</a>"] if o.screenshot else []
    links += [
        f"<a href='{html.escape(folder)}/{html.escape(s.fallback_dir)}/report.html'>fallback {s.number}</a>"
        for s in o.steps
        if s.fallback_dir
    ]
    return (
        f"<tr><td>{html.escape(o.key)}</td><td class='{_CLASS[o.status]}'>{o.status}</td>"
        f"<td>{o.fallbacks}</td><td>{o.model_calls}</td><td>{o.seconds:.1f}</td>"
        f"<td>{html.escape(o.reason or '')}</td><td>{' '.join(links)}</td></tr>"
    )


def summary_html(outcomes: list[RowOutcome]) -> str:
    from tasks.jobs.outcomes import totals

    t = totals(outcomes)
    head = (
        f"<p>{t['rows']} rows: <span class='ok'>{t['done']} done</span>, <span class='bad'>{t['failed']} "
        f"failed</span>, {t['needs_human']} need a person; {t['fallbacks']} model fallbacks, "
        f"{t['model_calls']} model calls, {t['seconds']:.1f} s of rows.</p>"
    )
    cols = "".join(
        f"<th>{c}</th>" for c in ("row", "status", "fallbacks", "model calls", "seconds", "reason", "")
    )
    rows = "".join(_row(o) for o in outcomes)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>qwen-agent job batch</title>"
        f"<style>{REPORT_CSS}</style></head><body><h1>Job batch</h1>{head}"
        f"<table><tr>{cols}</tr>{rows}</table></body></html>\n"
    )
