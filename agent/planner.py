"""The planner: a short list of sub-goals asked for once at the start, and again when the run stalls.

Plans are recorded as steps of kind "plan"; the loop puts the current plan into every prompt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from actions.types import Screenshot
from agent.context import history_line
from agent.focused import ask
from agent.trajectory import Step, Timing
from model.backend import ModelBackend
from model.qwen3vl import PixelBudget

_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+(\S.*)$")  # greedy then strip: linear on long whitespace
MAX_ITEMS = 10


def parse_plan(text: str) -> tuple[str, ...]:
    """Numbered or bulleted lines of a reply, in order (at most 10); () when there are none."""
    items = [m.group(1).strip() for line in text.splitlines() if (m := _ITEM.match(line))]
    return tuple(items[:MAX_ITEMS])


def make_plan(
    backend: ModelBackend,
    instruction: str,
    image: Screenshot,
    index: int,
    budget: PixelBudget,
    max_new_tokens: int,
    previous: Step | None = None,
    history: Sequence[Step] = (),
    problem: str = "",
) -> Step:
    """A plan step: the first plan, or (with `previous`) a re-plan that names the problem."""
    if previous is None:
        answer = ask(backend, "plan.txt", image, budget, max_new_tokens, instruction=instruction)
    else:
        answer = ask(
            backend,
            "replan.txt",
            image,
            budget,
            max_new_tokens,
            instruction=instruction,
            plan="\n".join(f"{i}. {s}" for i, s in enumerate(previous.plan, 1)) or "(none)",
            history="\n".join(history_line(s) for s in history if s.kind != "plan") or "(nothing)",
            problem=problem,
        )
    plan = parse_plan(answer.text)
    return Step(
        index=index,
        kind="plan",
        raw_reply=answer.raw,
        thought=answer.text,
        summary=("re-plan: " + problem) if previous is not None else "plan",
        plan=plan,
        error=None if plan else "the plan reply held no numbered list; continuing without a plan",
        timing=Timing(predict_ms=answer.ms),
        usage=answer.usage,
    )
