"""The loop's state, read off the recorded steps: the current plan, how many re-plans and fixes were
used, the streak of setbacks, how often the same action was repeated, and the feedback the next
prompt carries. Nothing here is kept anywhere else, so a run loaded from its folder continues with
exactly the state the live run had.
"""

from __future__ import annotations

from collections.abc import Sequence

from actions.types import Action
from agent.detection import action_key
from agent.trajectory import Step

TURN_KINDS = ("action", "parse_error")  # steps that answer a prompt with a screenshot


def current_plan(steps: Sequence[Step]) -> tuple[str, ...]:
    """The newest non-empty plan (a re-plan whose reply held no list keeps the one before)."""
    for step in reversed(steps):
        if step.kind == "plan" and step.plan:
            return step.plan
    return ()


def replans_used(steps: Sequence[Step]) -> int:
    return sum(1 for s in steps if s.kind == "plan") - (1 if any(s.kind == "plan" for s in steps) else 0)


def fixes_used(steps: Sequence[Step]) -> int:
    """Blockers the model was told to fix: explanation steps that passed a note on."""
    return sum(1 for s in steps if s.kind == "explanation" and s.feedback)


def setback_streak(steps: Sequence[Step]) -> int:
    """Setbacks (unparseable, failed or no-effect steps) in a row since the last good step or plan."""
    streak = 0
    for step in reversed(steps):
        if step.kind == "plan":
            break
        if step.setback:
            streak += 1
        elif step.kind == "action" and step.outcome is not None and not _element_blocked(step):
            break  # a step that worked; explanations and refused clicks neither count nor reset
    return streak


def _element_blocked(step: Step) -> bool:
    """A click refused before it ran (disabled, hidden, covered): explained, not counted."""
    outcome = step.outcome
    return outcome is not None and outcome.kind == "blocked" and outcome.rule.startswith("element-")


def repeats(steps: Sequence[Step], action: Action) -> int:
    """How many times in a row `action` (this step's, not yet recorded) was chosen on the same screen:
    1 + the executed steps just before with the same action that changed nothing."""
    key = action_key(action)
    count = 1
    for step in reversed(steps):
        if step.kind != "action" or step.action is None or step.outcome is None or _element_blocked(step):
            continue  # parse errors, plans, explanations and refused clicks do not break the run
        if action_key(step.action) != key or step.screen_changed is not False:
            break
        count += 1
    return count


def pending_feedback(steps: Sequence[Step]) -> tuple[str, ...]:
    """The notes the next prompt carries: those of the latest turn and of every step after it."""
    notes: list[str] = []
    for step in reversed(steps):
        notes[:0] = step.feedback
        if step.kind in TURN_KINDS:
            break
    return tuple(notes)
