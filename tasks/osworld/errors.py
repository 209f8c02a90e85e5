"""Errors of the OSWorld layer: unsupported task features and broken setups."""

from __future__ import annotations

from actions.errors import QwenAgentError


class Unsupported(QwenAgentError):
    """A setup step, getter, metric or option this harness does not implement; the task is reported
    as unsupported with this message, never run or scored."""


class SetupFailed(QwenAgentError):
    """A setup step ran and failed (command error, page that would not load); the task scores 0."""
