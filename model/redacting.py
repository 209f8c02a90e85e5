"""Prompts without secrets: a ModelBackend wrapper that passes every text part of every request
through a redactor before the inner backend sees it.

Text that reaches a prompt can carry a secret's value the agent never meant to show: a blocked
navigation's feedback quotes a URL whose query holds the typed password, the model's earlier reply
quotes a PIN it read off the screen. Wrapping the backend covers every request an episode makes (its
steps, plans and explanations) at one place. Replies are left as they are: redacting them would
change what the model asked for; every output of them is redacted on its own way out.
"""

from __future__ import annotations

from collections.abc import Callable

from model.backend import ModelBackend
from model.types import ChatMessage, ModelRequest, ModelResponse, TextPart


def redact_request(request: ModelRequest, redact: Callable[[str], str]) -> ModelRequest:
    """`request` with `redact` applied to every text part of every message (images untouched)."""
    messages = tuple(
        ChatMessage(
            role=m.role,
            content=tuple(TextPart(text=redact(p.text)) if isinstance(p, TextPart) else p for p in m.content),
        )
        for m in request.messages
    )
    return request.model_copy(update={"messages": messages})


class RedactingBackend:
    """`inner`, with every request's text redacted first (a ModelBackend)."""

    def __init__(self, inner: ModelBackend, redact: Callable[[str], str]) -> None:
        self.inner, self.redact = inner, redact
        self.name = inner.name

    def generate(self, request: ModelRequest) -> ModelResponse:
        return self.inner.generate(redact_request(request, self.redact))

    def close(self) -> None:
        self.inner.close()
