"""OSWorld's scoring rules over our registries: postconfig first; `infeasible` scores 1 iff the last
action is FAIL; any other task with a final FAIL scores 0; a list of metrics combines by `conj`
("and": 0 on the first zero, else the mean; "or": 1 on the first one, else the max).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from actions.types import Finish, Frozen
from agent.trajectory import RunResult
from tasks.osworld.context import TaskContext
from tasks.osworld.errors import Unsupported
from tasks.osworld.setup_steps import run_steps
from tasks.osworld.spec import GetterConfig, TaskSpec
from tasks.osworld.vocabulary import OSWORLD, Vocabulary


class MetricDetail(Frozen):
    """One metric's outcome: the value the getters produced (shortened) and its score."""

    func: str
    score: float | None = None
    result: str = ""
    expected: str = ""
    error: str | None = None


class Score(Frozen):
    """A task's score in [0, 1] and why."""

    value: float = Field(ge=0, le=1)
    reason: str
    metrics: tuple[MetricDetail, ...] = ()


class MetricError(Exception):
    """A metric or getter raised on this task's values (a broken task or evaluator, not the agent)."""


def ended_with_fail(run: RunResult | None) -> bool:
    """OSWorld's FAIL: the agent's last action is `terminate` with status failure."""
    if run is None:
        return False
    last = run.final_action
    return isinstance(last, Finish) and last.status == "failure"


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _get(ctx: TaskContext, config: GetterConfig | None, vocabulary: Vocabulary) -> Any:
    if config is None:
        return None
    getter = vocabulary.getters.get(str(config.get("type")))
    if getter is None:
        raise Unsupported(f"getter {config.get('type')!r}")
    return getter(ctx, config)


def _nth(value: Any, i: int, many: bool) -> Any:
    if not many:
        return value
    return value[i] if isinstance(value, list) else value


def _one(
    ctx: TaskContext, vocabulary: Vocabulary, func: str, result_cfg: Any, expected_cfg: Any, options: Any
) -> MetricDetail:
    metric = vocabulary.metrics.get(func)
    if metric is None:
        raise Unsupported(f"metric {func!r}")
    try:
        result = _get(ctx, result_cfg, vocabulary)
        opts = dict(options or {})
        if expected_cfg is not None:
            expected = _get(ctx, expected_cfg, vocabulary)
            value = float(metric(result, expected, **opts))
        else:
            expected = None
            value = float(metric(result, **opts))
    except Unsupported:
        raise
    except Exception as e:
        raise MetricError(f"{func}: {type(e).__name__}: {e}") from e
    return MetricDetail(func=func, score=value, result=_short(result), expected=_short(expected))


def score_task(
    spec: TaskSpec, ctx: TaskContext, run: RunResult | None, vocabulary: Vocabulary = OSWORLD
) -> Score:
    """Score one finished run exactly as OSWorld's DesktopEnv.evaluate() does."""
    run_steps(ctx, list(spec.evaluator.postconfig), vocabulary.setup_steps)
    ctx.save_downloads()
    ev = spec.evaluator
    fail = ended_with_fail(run)
    if ev.func == "infeasible":
        if fail:
            return Score(value=1.0, reason="infeasible task, and the agent's last action is FAIL")
        return Score(value=0.0, reason="infeasible task, but the agent's last action is not FAIL")
    if fail:
        return Score(value=0.0, reason="the agent gave up (final FAIL) on a feasible task")
    many = isinstance(ev.func, list)
    details: list[MetricDetail] = []
    for i, func in enumerate(ev.funcs):
        detail = _one(
            ctx,
            vocabulary,
            func,
            _nth(ev.result, i, many),
            _nth(ev.expected, i, many),
            _nth(ev.options, i, many),
        )
        details.append(detail)
        value = detail.score or 0.0
        if not many:
            return Score(value=_clamp(value), reason=f"{func} = {value:g}", metrics=tuple(details))
        if ev.conj == "and" and value == 0.0:
            return Score(value=0.0, reason=f"{func} = 0 (conj and)", metrics=tuple(details))
        if ev.conj == "or" and value == 1.0:
            return Score(value=1.0, reason=f"{func} = 1 (conj or)", metrics=tuple(details))
    values = [d.score or 0.0 for d in details]
    total = sum(values) / len(values) if ev.conj == "and" else max(values)
    return Score(value=_clamp(total), reason=f"{ev.conj} of {len(values)} metrics", metrics=tuple(details))


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))
