"""Focused side requests (plan, explain): one screenshot plus one question, answered in plain text.

They go through the same backend as the steps; a scripted backend answers them from its list too.
"""

from __future__ import annotations

import time

from actions.types import Screenshot
from agent.context import token_usage
from agent.trajectory import TokenUsage
from model.backend import ModelBackend
from model.qwen3vl import PixelBudget, load_prompt, render_template, resize_for_model, strip_thinking
from model.types import ChatMessage, ImagePart, ModelRequest, TextPart


class FocusedAnswer:
    """The stripped answer text, the raw reply, latency in ms and token usage of one side request."""

    def __init__(self, text: str, raw: str, ms: float, usage: TokenUsage) -> None:
        self.text, self.raw, self.ms, self.usage = text, raw, ms, usage


def ask(
    backend: ModelBackend,
    prompt_file: str,
    image: Screenshot,
    budget: PixelBudget,
    max_new_tokens: int,
    **values: str,
) -> FocusedAnswer:
    """Render `prompt_file` with `values`, send it with the screenshot, return the plain answer."""
    system = load_prompt("focused_system.txt")
    question = render_template(prompt_file, **values)
    request = ModelRequest(
        messages=(
            ChatMessage(role="system", content=(TextPart(text=system),)),
            ChatMessage(
                role="user",
                content=(ImagePart(image=resize_for_model(image, budget)), TextPart(text=question)),
            ),
        ),
        max_new_tokens=max_new_tokens,
        stop=(),
    )
    start = time.perf_counter()
    response = backend.generate(request)
    ms = (time.perf_counter() - start) * 1000
    usage = token_usage(request, response, budget)
    return FocusedAnswer(strip_thinking(response.text), response.text, ms, usage)
