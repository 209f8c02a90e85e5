"""One `qwen-agent eval` run end to end: resolve the suite, skip finished tasks, run the rest, write
summary.json and report.html. The CLI and the tests both call `evaluate` (with a suite from
tasks.suites.resolve_suite).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actions.errors import QwenAgentError
from tasks.eval.harness import EvalConfig, Progress, run_tasks
from tasks.eval.results import ResultsDir, TaskOutcome, safe_name, summarize
from tasks.osworld.spec import Suite, TaskEntry
from tasks.pool.lock import run_lock
from tasks.suites import VOCABULARY


def _not_run(entry: TaskEntry | None, err: Any, status: str) -> TaskOutcome:
    return TaskOutcome(
        domain=err.domain, task_id=err.task_id, status=status,
        reason=str(err), infeasible=bool(entry and entry.spec.infeasible),
    )  # fmt: skip


def evaluate(
    suite: Suite, config: EvalConfig, progress: Progress, resume: bool = False, fresh: bool = False
) -> tuple[dict[str, Any], Path]:
    """Run the suite; returns (summary, results folder). Without resume/fresh, finished results for
    this model are an error (nothing is overwritten by accident). The results folder is locked for
    the run: while another eval or its workers still write it, ResultsInUse (exit 2)."""
    results = ResultsDir(config.out / (config.run_name or safe_name(config.model)))
    with run_lock(results.root):
        results.repair()
        return _evaluate(suite, config, progress, results, resume, fresh)


def _evaluate(
    suite: Suite, config: EvalConfig, progress: Progress, results: ResultsDir, resume: bool, fresh: bool
) -> tuple[dict[str, Any], Path]:
    outcomes: dict[str, TaskOutcome] = {}
    for err in suite.errors:
        outcomes[f"{err.domain}/{err.task_id}"] = _not_run(None, err, "invalid")
    runnable: list[TaskEntry] = []
    for entry in suite.tasks:
        problem = VOCABULARY.check(entry)
        if problem is not None:
            outcomes[entry.key] = _not_run(entry, problem, "unsupported")
        else:
            runnable.append(entry)
    scored = results.scored()  # a task is finished when it has its line in scores.jsonl
    finished = [e for e in runnable if e.key in scored]
    if finished and not (resume or fresh):
        raise QwenAgentError(
            f"{results.root} already holds {len(finished)} finished task(s) of this suite: pass --resume "
            "to skip them and run the rest, or --fresh to run everything again"
        )
    pending: list[TaskEntry] = []
    for entry in runnable:
        line = scored.get(entry.key) if resume else None
        loaded = results.load(entry.domain, entry.spec.id, line) if line is not None else None
        if loaded is not None:
            outcomes[entry.key] = loaded
            progress("skip", loaded)
        else:
            pending.append(entry)
    if fresh:  # the old lines of what runs again go: a task keeps exactly one
        results.forget({e.key for e in pending} | {k for k, o in outcomes.items() if o.score is None})
    for outcome in outcomes.values():
        if outcome.score is None:
            results.write(outcome)  # score.json of tasks that cannot run, beside the others
    for outcome in run_tasks(pending, config, results, progress):
        outcomes[outcome.key] = outcome
    ordered = [outcomes[k] for k in _order(suite) if k in outcomes]
    summary = summarize(ordered, suite.name, config.model)
    summary["results"] = str(results.root)
    (results.root / "summary.json").write_text(_json(summary), encoding="utf-8")
    from tasks.eval.report import write_eval_report

    write_eval_report(results.root, summary, ordered)
    return summary, results.root


def _order(suite: Suite) -> list[str]:
    keys = [t.key for t in suite.tasks] + [f"{e.domain}/{e.task_id}" for e in suite.errors]
    return list(dict.fromkeys(keys))


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
