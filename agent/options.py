"""Options of one agent run (the loop's knobs). CLI flags and harnesses build this one value."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from actions.safety import DEFAULT_RISKY_COMMANDS, DEFAULT_RISKY_WORDS, UnknownTargets
from actions.types import Frozen
from model.qwen3vl import ProtocolSettings

ConfirmPolicy = Literal["never", "risky", "always"]


class AgentOptions(Frozen):
    """Budgets in steps and seconds; detection thresholds in repeats of the same action."""

    max_steps: int = Field(default=15, ge=1)
    max_seconds: float | None = Field(default=None, gt=0)
    history_images: int = Field(default=4, ge=0)  # the last K screenshots go in as images
    dry_run: bool = False  # draw the planned action, execute nothing, stop after one step
    confirm: ConfirmPolicy = "risky"
    risky_words: tuple[str, ...] = DEFAULT_RISKY_WORDS  # actions/risky_words.txt (many languages)
    risky_commands: tuple[str, ...] = DEFAULT_RISKY_COMMANDS  # regexes, actions/risky_commands.txt
    # A target the gate cannot read (a frame that does not answer the probe): "ask" counts it as
    # risky (asked under confirm="risky"), "allow" lets the action go ahead.
    unknown_targets: UnknownTargets = "ask"
    thinking: bool = False  # a Thinking edition: more tokens, `</think>` stripped from replies
    protocol: ProtocolSettings = ProtocolSettings()
    plan: bool = False  # ask for a plan of sub-goals before the first step
    replan_after: int = Field(default=3, ge=1)  # consecutive failed/no-effect steps before a re-plan
    max_replans: int = Field(default=2, ge=0)
    loop_nudge_after: int = Field(default=3, ge=2)  # same action on the same screen N times: nudge
    loop_stop_after: int = Field(default=5, ge=2)  # ... and this many times: stop
    explain_blocked: bool = True  # ask the model why an action cannot work, tell the user
    max_fixes: int = Field(default=2, ge=0)  # blockers the model may try to fix before the run ends
    check_elements: bool = True  # browser: look under the pointer before clicking
    # A world phase of a step (observe, probe, execute + settle) that lasts longer ends the run as
    # an error (agent.watchdog); None: never. Far above any legitimate settle (capped at 3 s).
    stuck_after_s: float | None = Field(default=60.0, gt=0)
    # Secrets the model may type besides those the instruction names ({{secret:NAME}}): a page that
    # tells the model to type {{secret:OTHER}} cannot make it use any other QWEN_AGENT_SECRET_*.
    secrets: tuple[str, ...] = ()
    # Run parameters (--param NAME=VALUE): already filled into the instruction; typed text carrying a
    # value is recorded with the parameter's name (Step.parameters) so a job can replay other rows.
    params: tuple[tuple[str, str], ...] = ()

    @property
    def max_new_tokens(self) -> int:
        """Thinking editions reason before the call and need a larger budget."""
        return max(self.protocol.max_new_tokens, 2048) if self.thinking else self.protocol.max_new_tokens
