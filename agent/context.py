"""Context policy: which steps the model sees as images and which as one-line text, and the
token count of each request (the backend's usage, else an estimate).

The last `history_images` action steps go in as screenshot + raw reply; older steps become
"Step i: ..." lines that only ever grow at the end, so the prompt's beginning stays byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from actions.types import Screenshot, describe_action
from agent.state import current_plan, pending_feedback
from agent.trajectory import Step, TokenUsage
from model.qwen3vl import PastTurn, PixelBudget, PromptContext, visual_tokens
from model.types import ImagePart, ModelRequest, ModelResponse, TextPart

if TYPE_CHECKING:
    from agent.options import AgentOptions

CHARS_PER_TOKEN = 4  # a rough figure for English prompts; only used when the backend cannot count


def history_line(step: Step) -> str:
    """One line for a step that is no longer shown as an image (OSWorld's "Step i: ..." style)."""
    if step.kind == "parse_error":
        return f"Step {step.index}: (reply could not be parsed: {step.error})"
    what = step.summary or (describe_action(step.action) if step.action else "nothing")
    note = ""
    if step.outcome is not None and step.outcome.kind != "executed":
        note = f" [{step.outcome.kind}: {step.outcome.reason}]"
    elif step.screen_changed is False:
        note = " [no visible effect]"
    return f"Step {step.index}: {what}{note}"


_SUBGOAL_TAG = re.compile(r"^\s*\[(\d+)\]")


def plan_progress(steps: Sequence[Step], plan: tuple[str, ...]) -> int:
    """The furthest sub-goal the model said it works on (`Action: [n] ...`) since the latest plan."""
    latest = 0
    for step in steps:
        if step.kind == "plan":
            latest = 0
            continue
        m = _SUBGOAL_TAG.match(step.summary or "") if step.kind == "action" else None
        if m and 1 <= int(m.group(1)) <= len(plan):
            latest = max(latest, int(m.group(1)))
    return latest


def _turn_steps(steps: Sequence[Step]) -> list[Step]:
    return [s for s in steps if s.kind in ("action", "parse_error")]


def build_context(
    instruction: str,
    steps: Sequence[Step],
    images: Mapping[int, Screenshot],
    current_image: Screenshot,
    history_images: int,
    plan: tuple[str, ...] = (),
    feedback: tuple[str, ...] = (),
) -> PromptContext:
    """The PromptContext for the next step. `images` maps step index -> the screenshot it saw."""
    turns = _turn_steps(steps)
    shown = [s for s in turns if s.kind == "action" and s.index in images]
    recent = shown[-history_images:] if history_images > 0 else []
    first_recent = recent[0].index if recent else None
    older = [s for s in turns if first_recent is None or s.index < first_recent]
    return PromptContext(
        instruction=instruction,
        current_image=current_image,
        previous_actions=tuple(history_line(s) for s in older),
        recent=tuple(PastTurn(image=images[s.index], reply=s.raw_reply) for s in recent),
        plan=plan,
        plan_progress=plan_progress(steps, plan),
        feedback=feedback,
    )


def next_context(
    instruction: str,
    steps: Sequence[Step],
    images: Mapping[int, Screenshot],
    current_image: Screenshot,
    options: AgentOptions,
) -> PromptContext:
    """What the model sees for the next step, from the steps alone (plus the cached screenshots):
    the live loop and a run continued from its folder both build their prompts here."""
    return build_context(
        instruction,
        steps,
        images,
        current_image,
        options.history_images,
        current_plan(steps),
        pending_feedback(steps),
    )


def estimate_tokens(request: ModelRequest, budget: PixelBudget) -> tuple[int, int]:
    """(prompt tokens, of which image tokens) estimated: visual tokens per image + text chars / 4."""
    image_tokens = 0
    chars = 0
    for message in request.messages:
        for part in message.content:
            if isinstance(part, ImagePart):
                image_tokens += visual_tokens(part.image.height, part.image.width, budget)
            elif isinstance(part, TextPart):
                chars += len(part.text)
    return image_tokens + chars // CHARS_PER_TOKEN, image_tokens


def token_usage(request: ModelRequest, response: ModelResponse, budget: PixelBudget) -> TokenUsage:
    """The backend's counts when it reports them, else the estimate (marked `estimated`)."""
    estimate, image_tokens = estimate_tokens(request, budget)
    if response.usage.prompt_tokens > 0:
        return TokenUsage(
            prompt_tokens=response.usage.prompt_tokens,
            completion_tokens=response.usage.completion_tokens,
            image_tokens=image_tokens,
        )
    return TokenUsage(
        prompt_tokens=estimate,
        completion_tokens=len(response.text) // CHARS_PER_TOKEN,
        image_tokens=image_tokens,
        estimated=True,
    )
