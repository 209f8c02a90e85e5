"""A scripted backend: replays raw Qwen3-VL replies in order and records every request it receives.

It is a real implementation of the backend protocol for tests and demos; it never stands in for the
transformers or OpenAI backends in their own tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

from model.backend import ModelError
from model.types import ModelRequest, ModelResponse, Usage


class ScriptedBackend:
    """Replies from a list, one per `generate` call; `requests` keeps what the agent sent."""

    name = "scripted"

    def __init__(self, replies: Iterable[str], label: str = "scripted") -> None:
        self._replies = list(replies)
        self._next = 0
        self.name = label
        self.requests: list[ModelRequest] = []

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedBackend:
        """A JSONL file: one raw reply per line, as a JSON string or an object with `text`."""
        p = Path(path)
        if not p.is_file():
            raise ModelError(f"scripted replies file not found: {p}")
        replies: list[str] = []
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as e:
                raise ModelError(f"{p}:{n}: not a JSON line ({e.msg})") from e
            if isinstance(value, dict) and isinstance(value.get("text"), str):
                value = value["text"]
            if not isinstance(value, str):
                raise ModelError(f'{p}:{n}: expected a JSON string or {{"text": ...}}')
            replies.append(value)
        return cls(replies, label=f"scripted:{p.name}")

    @property
    def remaining(self) -> int:
        return len(self._replies) - self._next

    def generate(self, request: ModelRequest) -> ModelResponse:
        start = time.perf_counter()
        self.requests.append(request)
        if self._next >= len(self._replies):
            raise ModelError(f"{self.name}: all {len(self._replies)} scripted replies were used")
        text = self._replies[self._next]
        self._next += 1
        # A script has no tokenizer: usage stays 0 and the agent reports its own estimate.
        return ModelResponse(text=text, usage=Usage(), latency_s=time.perf_counter() - start)

    def close(self) -> None:
        pass
