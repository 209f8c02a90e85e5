"""One `qwen-agent eval` run end to end: resolve the suite, take its census (tasks that cannot run here,
or would run host commands without consent, are reported and never started), skip finished tasks, run
the rest, write summary.json and report.html. The CLI and the tests both call `evaluate` (with a suite
from tasks.suites.resolve_suite).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actions.errors import QwenAgentError
from tasks.eval.harness import EvalConfig, Progress, run_tasks
from tasks.eval.results import ERROR_STATUSES, ResultsDir, TaskOutcome, safe_name, summarize
from tasks.osworld.census import EnvironmentKind, Names, task_verdict, vm_names
from tasks.osworld.spec import Suite, TaskEntry
from tasks.pool.lock import run_lock
from tasks.suites import VOCABULARY


def _not_run(entry: TaskEntry | None, err: Any, status: str) -> TaskOutcome:
    return TaskOutcome(
        domain=err.domain, task_id=err.task_id, status=status,
        reason=str(err), infeasible=bool(entry and entry.spec.infeasible),
    )  # fmt: skip


def evaluate(
    suite: Suite,
    config: EvalConfig,
    progress: Progress,
    resume: bool = False,
    fresh: bool = False,
    retry_errors: bool = False,
) -> tuple[dict[str, Any], Path]:
    """Run the suite; returns (summary, results folder). Without resume/fresh/retry_errors, finished
    results for this model are an error (nothing is overwritten by accident); `retry_errors` runs again
    only the tasks whose recorded outcome is an infrastructure error and keeps every other score. The
    results folder is locked for the run: while another eval or its workers still write it,
    ResultsInUse (exit 2)."""
    results = ResultsDir(config.out / (config.run_name or safe_name(config.model)))
    with run_lock(results.root):
        results.repair()
        return _evaluate(suite, config, progress, results, resume, fresh, retry_errors)


def _census_outcomes(suite: Suite, config: EvalConfig) -> tuple[list[TaskEntry], dict[str, TaskOutcome]]:
    """(tasks that may run, outcomes of those that may not): decided from the files, before anything
    runs, by tasks.osworld.census (the one owner of the host-safety rule)."""
    names = vm_names() if config.vm else Names.of(VOCABULARY)
    environment: EnvironmentKind = "vm" if config.vm else "local"
    runnable: list[TaskEntry] = []
    outcomes: dict[str, TaskOutcome] = {}
    for entry in suite.tasks:
        verdict = task_verdict(
            entry, names, environment, trusted=suite.trusted, allow_host_setup=config.allow_host_setup
        )
        if verdict.runnable:
            runnable.append(entry)
            continue
        outcomes[entry.key] = TaskOutcome(
            domain=entry.domain, task_id=entry.spec.id, infeasible=entry.spec.infeasible,
            status="refused" if verdict.refused else "unsupported",
            reason=verdict.why if verdict.refused else f"{entry.path}: {verdict.why}",
            notes=list(verdict.notes),
        )  # fmt: skip
    return runnable, outcomes


def _evaluate(
    suite: Suite,
    config: EvalConfig,
    progress: Progress,
    results: ResultsDir,
    resume: bool,
    fresh: bool,
    retry_errors: bool,
) -> tuple[dict[str, Any], Path]:
    outcomes: dict[str, TaskOutcome] = {}
    for err in suite.errors:
        outcomes[f"{err.domain}/{err.task_id}"] = _not_run(None, err, "invalid")
    runnable, not_run = _census_outcomes(suite, config)
    outcomes.update(not_run)
    scored = results.scored()  # a task is finished when it has its line in scores.jsonl
    finished = [e for e in runnable if e.key in scored]
    if finished and not (resume or fresh or retry_errors):
        raise QwenAgentError(
            f"{results.root} already holds {len(finished)} finished task(s) of this suite: pass --resume "
            "to skip them and run the rest, --retry-errors to run again only the infrastructure errors, "
            "or --fresh to run everything again"
        )
    pending: list[TaskEntry] = []
    for entry in runnable:
        line = scored.get(entry.key) if (resume or retry_errors) else None
        if retry_errors and line is not None and line.get("status") in ERROR_STATUSES:
            line = None  # an infrastructure error: not the model's result, so it runs again
        loaded = results.load(entry.domain, entry.spec.id, line) if line is not None else None
        if loaded is not None:
            outcomes[entry.key] = loaded
            progress("skip", loaded)
        else:
            pending.append(entry)
    if fresh:  # the old lines of what runs again go: a task keeps exactly one
        results.forget({e.key for e in pending} | {k for k, o in outcomes.items() if o.score is None})
    elif retry_errors:  # the error lines of what runs again go (the others' lines stay)
        results.forget({e.key for e in pending})
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
