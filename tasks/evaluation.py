"""One `qwen-agent eval` run end to end: resolve the suite, skip finished tasks, run the rest, write
summary.json and report.html. The CLI and the tests both call `evaluate`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from actions.errors import QwenAgentError
from tasks.getters import GETTERS
from tasks.harness import EvalConfig, Progress, run_tasks
from tasks.metrics import METRICS
from tasks.results import ResultsDir, TaskOutcome, safe_name, summarize
from tasks.setup_steps import SETUP_STEPS
from tasks.spec import Suite, TaskEntry, check_names, load_suite

BUILTIN_SUITES = ("sandbox", "miniwob")


def builtin_root(name: str) -> Path:
    return Path(str(resources.files("tasks") / "suites" / name))


def resolve_suite(name_or_path: str, meta: str | None = None, **miniwob: Any) -> Suite:
    """A built-in suite by name ('sandbox', 'miniwob') or an OSWorld-style folder by path."""
    if name_or_path == "miniwob":
        from tasks.miniwob import miniwob_suite

        return miniwob_suite(**miniwob)
    path = Path(name_or_path)
    if name_or_path in BUILTIN_SUITES and not path.exists():
        return load_suite(builtin_root(name_or_path), name=name_or_path, meta=meta)
    return load_suite(path, meta=meta)


def list_suites() -> list[tuple[str, int, str]]:
    """(name, task count, where) of the built-in suites."""
    from tasks.miniwob import miniwob_task_names

    sandbox = load_suite(builtin_root("sandbox"), name="sandbox")
    return [
        ("sandbox", len(sandbox.tasks), str(builtin_root("sandbox"))),
        ("miniwob", len(miniwob_task_names()), "the `miniwob` package's HTML tasks"),
    ]


def _not_run(entry: TaskEntry | None, err: Any, status: str) -> TaskOutcome:
    return TaskOutcome(
        domain=err.domain, task_id=err.task_id, status=status,
        reason=str(err), infeasible=bool(entry and entry.spec.infeasible),
    )  # fmt: skip


def evaluate(
    suite: Suite, config: EvalConfig, progress: Progress, resume: bool = False, fresh: bool = False
) -> tuple[dict[str, Any], Path]:
    """Run the suite; returns (summary, results folder). Without resume/fresh, finished results for
    this model are an error (nothing is overwritten by accident)."""
    results = ResultsDir(config.out / (config.run_name or safe_name(config.model)))
    outcomes: dict[str, TaskOutcome] = {}
    for err in suite.errors:
        outcomes[f"{err.domain}/{err.task_id}"] = _not_run(None, err, "invalid")
    runnable: list[TaskEntry] = []
    for entry in suite.tasks:
        problem = check_names(entry, SETUP_STEPS, GETTERS, METRICS)
        if problem is not None:
            outcomes[entry.key] = _not_run(entry, problem, "unsupported")
        else:
            runnable.append(entry)
    finished = [e for e in runnable if results.is_done(e.domain, e.spec.id)]
    if finished and not (resume or fresh):
        raise QwenAgentError(
            f"{results.root} already holds {len(finished)} finished task(s) of this suite: pass --resume "
            "to skip them and run the rest, or --fresh to run everything again"
        )
    pending: list[TaskEntry] = []
    for entry in runnable:
        loaded = results.load(entry.domain, entry.spec.id) if resume else None
        if loaded is not None:
            outcomes[entry.key] = loaded
            progress("skip", loaded)
        else:
            pending.append(entry)
    for outcome in outcomes.values():
        if outcome.score is None:
            results.write(outcome)  # score.json of tasks that cannot run, beside the others
    for outcome in run_tasks(pending, config, results, progress):
        outcomes[outcome.key] = outcome
    ordered = [outcomes[k] for k in _order(suite) if k in outcomes]
    summary = summarize(ordered, suite.name, config.model)
    summary["results"] = str(results.root)
    (results.root / "summary.json").write_text(_json(summary), encoding="utf-8")
    from tasks.eval_report import write_eval_report

    write_eval_report(results.root, summary, ordered)
    return summary, results.root


def _order(suite: Suite) -> list[str]:
    keys = [t.key for t in suite.tasks] + [f"{e.domain}/{e.task_id}" for e in suite.errors]
    return list(dict.fromkeys(keys))


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
