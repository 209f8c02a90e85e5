"""The ModelBackend protocol: one generation per step, reply text plus usage and latency."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from actions.errors import QwenAgentError
from model.types import ModelRequest, ModelResponse


class ModelError(QwenAgentError):
    """The model could not answer: missing weights, unreachable endpoint, exhausted script."""


@runtime_checkable
class ModelBackend(Protocol):
    """Anything that turns a rendered request into raw Qwen3-VL reply text."""

    name: str

    def generate(self, request: ModelRequest) -> ModelResponse:
        """One reply for the request; raises ModelError when the model cannot answer at all."""

    def close(self) -> None:
        """Free the model or connection; safe to call twice."""
