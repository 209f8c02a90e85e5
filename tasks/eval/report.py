"""report.html of an evaluation: figures per domain, failure categories, one row per task with a link
to its run report. Self-contained HTML (no scripts, no external assets)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from tasks.eval.results import CATEGORY_TEXT, ERROR_STATUSES, TaskOutcome

REPORT_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}
.ok{color:#116611;font-weight:bold}.bad{color:#aa1111;font-weight:bold}.muted{color:#777}
.cat{display:inline-block;padding:1px 6px;border-radius:8px;background:#fde2e2;font-size:90%}"""


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"


def _rate_row(name: str, r: dict[str, Any]) -> str:
    return (
        f"<tr><td>{html.escape(name)}</td><td>{r['tasks']}</td><td>{r['scored']}</td>"
        f"<td>{r['success']}</td><td>{_pct(r['success_rate'])}</td><td>{r['unsupported']}</td>"
        f"<td>{r.get('refused', 0)}</td><td>{r['invalid']}</td><td>{r['errors']}</td></tr>"
    )


def _task_row(o: TaskOutcome) -> str:
    link = f"{html.escape(o.domain)}/{html.escape(o.task_id)}/report.html"
    counted = o.status == "scored"  # an error's recorded 0.0 is not the model's score
    score = f"{o.score:.2f}" if counted and o.score is not None else "-"
    cls = ("ok" if (o.score or 0) >= 1 else "bad") if counted else "muted"
    cat = f'<span class="cat">{html.escape(o.category)}</span>' if o.category else ""
    extra = "".join(
        f"<div class='muted'>{html.escape(k)}: {html.escape(str(v))}</div>" for k, v in o.extra.items()
    )
    return (
        f"<tr><td><a href='{link}'>{html.escape(o.key)}</a>{' (infeasible)' if o.infeasible else ''}</td>"
        f"<td class='{cls}'>{score}</td><td>{html.escape(o.status)}</td><td>{cat}</td>"
        f"<td>{o.steps}</td><td>{o.duration_s:.1f}</td>"
        f"<td>{html.escape(o.instruction[:160])}</td><td>{html.escape(o.reason)}{extra}</td></tr>"
    )


def render_eval_report(summary: dict[str, Any], outcomes: list[TaskOutcome]) -> str:
    cols = ("scope", "tasks", "scored", "success", "success rate", "unsupported", "refused", "invalid",
            "errors")  # fmt: skip
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>"
    rates = [_rate_row("overall", summary["overall"]), _rate_row("feasible", summary["feasible"]),
             _rate_row("infeasible", summary["infeasible"])]  # fmt: skip
    rates += [_rate_row(d, r) for d, r in summary["domains"].items()]
    failures = (
        "".join(
            f"<tr><td><span class='cat'>{html.escape(c)}</span></td><td>{n}</td>"
            f"<td>{html.escape(CATEGORY_TEXT.get(c, ''))}</td></tr>"
            for c, n in summary["failures"].items()
        )
        or "<tr><td colspan=3>none</td></tr>"
    )
    rows = "".join(_task_row(o) for o in outcomes)
    errors = [o for o in outcomes if o.status in ERROR_STATUSES]
    error_rows = "".join(
        f"<tr><td>{html.escape(o.key)}</td><td>{html.escape(o.status)}</td><td>{html.escape(o.reason)}</td></tr>"
        for o in errors
    )
    error_table = (
        f"<h2>Infrastructure errors ({len(errors)}, not counted in the success rate)</h2>"
        "<p>Setup, state reading or the environment failed, not the model: "
        "<code>qwen-agent eval ... --retry-errors</code> runs only these again.</p>"
        f"<table><tr><th>task</th><th>status</th><th>reason</th></tr>{error_rows}</table>"
        if errors
        else ""
    )
    title = f"{summary['suite']} - {summary['model']}"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{REPORT_CSS}</style></head><body><h1>{html.escape(title)}</h1>
<p>Success rate = mean score over the tasks the model was scored on (OSWorld's figure).
Infrastructure errors, unsupported, refused (host commands without consent) and invalid tasks are not
scored and do not lower it.</p>
<table>{head}{"".join(rates)}</table>
{error_table}
<h2>Why tasks failed</h2><table><tr><th>category</th><th>tasks</th><th>meaning</th></tr>{failures}</table>
<h2>Tasks</h2><table><tr><th>task</th><th>score</th><th>status</th><th>failure</th><th>steps</th><th>s</th><th>instruction</th><th>reason</th></tr>{rows}</table>
</body></html>
"""


def write_eval_report(root: Path, summary: dict[str, Any], outcomes: list[TaskOutcome]) -> Path:
    path = root / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_eval_report(summary, outcomes), encoding="utf-8")
    tmp.replace(path)
    return path
