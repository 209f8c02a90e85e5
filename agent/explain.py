"""Blocked-action explanations: gather the evidence, ask the model why, and compose a plain-language
explanation that always names the evidence, even when the model's answer is poor.
"""

from __future__ import annotations

import re
from typing import Literal

from actions.types import Action, ElementInfo, Frozen, Screenshot, describe_action
from agent.focused import ask
from agent.trajectory import Step, Timing
from model.backend import ModelBackend
from model.qwen3vl import PixelBudget

EvidenceKind = Literal["disabled", "hidden", "covered", "no_effect"]
_VERDICT = re.compile(r"verdict\s*:\s*\**\s*(fixable|blocked)", re.IGNORECASE)
_EXPLANATION = re.compile(r"explanation\s*:\s*(.+)", re.IGNORECASE | re.DOTALL)
MAX_MODEL_CHARS = 600


class Evidence(Frozen):
    """What we saw that makes an action unworkable, in the words a person would use."""

    kind: EvidenceKind
    action: str
    element: ElementInfo | None = None
    repeats: int = 0

    def sentence(self) -> str:
        el = self.element
        name = _element_name(el) if el is not None else "the target"
        if self.kind == "disabled":
            text = f"{name} is disabled."
        elif self.kind == "hidden":
            text = f"{name} is hidden, so it cannot be clicked."
        elif self.kind == "covered":
            cover = el.covered_by if el is not None else None
            text = f"{name} is covered by {cover or 'another element'}."
        else:
            times = f" {self.repeats} times" if self.repeats > 1 else ""
            text = f"The screen did not change after '{self.action}'{times}."
        if el is not None and el.context:
            text += f" Nearby on the screen: {el.context.strip()}"
        return text


def _element_name(el: ElementInfo) -> str:
    label = (el.label or el.text or "").strip()
    kind = el.role or {"a": "link", "input": "field", "select": "list"}.get(el.tag, el.tag)
    return f"The '{label[:60]}' {kind}" if label else f"The {kind}"


def element_evidence(action: Action, element: ElementInfo | None) -> Evidence | None:
    """Evidence that a click cannot work on this element (disabled, hidden or covered)."""
    if element is None:
        return None
    kind: EvidenceKind | None = (
        "disabled"
        if element.disabled
        else "hidden"
        if element.hidden
        else "covered"
        if element.covered_by
        else None
    )
    return Evidence(kind=kind, action=describe_action(action), element=element) if kind else None


def compose(evidence: Evidence, model_text: str) -> str:
    """Evidence first (always), then the model's explanation when it adds something."""
    base = evidence.sentence()
    said = " ".join(model_text.split())[:MAX_MODEL_CHARS]
    if not said or said.lower() in base.lower():
        return base
    return f"{base} {said}"


def parse_verdict(text: str) -> tuple[bool, str]:
    """(fixable, explanation) from the model's answer; anything unclear counts as blocked."""
    verdict = _VERDICT.search(text)
    explanation = _EXPLANATION.search(text)
    said = explanation.group(1).strip() if explanation else _VERDICT.sub("", text).strip()
    return bool(verdict and verdict.group(1).lower() == "fixable"), said


def explain(
    backend: ModelBackend,
    instruction: str,
    image: Screenshot,
    evidence: Evidence,
    index: int,
    budget: PixelBudget,
    max_new_tokens: int,
) -> tuple[Step, bool]:
    """Ask why; an "explanation" step (summary = the composed text) and whether it is fixable."""
    answer = ask(
        backend,
        "explain.txt",
        image,
        budget,
        max_new_tokens,
        instruction=instruction,
        action=evidence.action,
        evidence=evidence.sentence(),
    )
    fixable, said = parse_verdict(answer.text)
    step = Step(
        index=index,
        kind="explanation",
        raw_reply=answer.raw,
        thought=said,
        summary=compose(evidence, said),
        timing=Timing(predict_ms=answer.ms),
        usage=answer.usage,
    )
    return step, fixable
