"""Qwen3-VL behind an OpenAI-compatible chat-completions endpoint (vLLM, SGLang, LM Studio, Ollama,
DashScope compatible mode). Screenshots travel as base64 data URLs; 429/5xx are retried with backoff.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from model.backend import ModelError
from model.config import ModelConfig
from model.image_cache import IdentityCache
from model.images import ImageFormat, data_url
from model.qwen3vl import THINK_CLOSE, resize_for_model, restore_stop
from model.qwen3vl.vision import FACTOR
from model.types import ChatMessage, ModelRequest, ModelResponse, TextPart, ToolCall, Usage

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0
# How servers word a prompt (text plus image tokens) longer than their context window. vLLM 0.32:
# "Input length (12043) exceeds model's maximum context length (8192)." once images are counted,
# "This model's maximum context length is 2048 tokens. However, your prompt contains ..." for text;
# its engine: "The decoder prompt (length N) is longer than the maximum model length of M";
# SGLang: "Input length (N tokens) exceeds the maximum allowed length (M tokens)"; OpenAI's own
# wording matches the first two.
CONTEXT_TOO_LONG = re.compile(
    r"maximum context length|context length exceeded|context_length_exceeded"
    r"|longer than the maximum model length|input length\b.{0,40}\bexceeds",
    re.IGNORECASE | re.DOTALL,
)
# vLLM: "At most 3 image(s) may be provided in one prompt."
TOO_MANY_IMAGES = re.compile(r"image.{0,40}(limit|at most)|at most \d+ image", re.IGNORECASE | re.DOTALL)


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Function(_Loose):
    name: str
    arguments: str | dict[str, Any] = "{}"


class _ToolCallOut(_Loose):
    function: _Function


class _Message(_Loose):
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[_ToolCallOut] | None = None
    reasoning_content: str | None = None  # vLLM/SGLang reasoning parsers, DashScope thinking
    reasoning: str | None = None  # newer vLLM, Ollama


class _Choice(_Loose):
    message: _Message
    finish_reason: str | None = None


class _Usage(_Loose):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Completion(_Loose):
    choices: list[_Choice]
    usage: _Usage | None = None


def chat_url(endpoint: str) -> str:
    """`.../v1` -> `.../v1/chat/completions`; a bare `http://host:port` gets `/v1` first."""
    base = endpoint.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if urlsplit(base).path in ("", "/"):
        base += "/v1"
    return base + "/chat/completions"


def openai_messages(
    messages: tuple[ChatMessage, ...],
    fmt: ImageFormat = "png",
    quality: int = 90,
    image_url: Callable[[Any], str] | None = None,
) -> list[dict[str, Any]]:
    """Text-only turns as strings; turns with screenshots as text and image_url parts in order.
    `image_url` turns a request image into its data URL (default: encode it with `fmt`/`quality`)."""
    to_url = image_url or (lambda image: data_url(image, fmt, quality))
    out: list[dict[str, Any]] = []
    for m in messages:
        if all(isinstance(p, TextPart) for p in m.content):
            out.append({"role": m.role, "content": m.text})
            continue
        parts = [
            {"type": "text", "text": p.text}
            if isinstance(p, TextPart)
            else {"type": "image_url", "image_url": {"url": to_url(p.image)}}
            for p in m.content
        ]
        out.append({"role": m.role, "content": parts})
    return out


def _reply_text(message: _Message) -> str:
    content = message.content
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    text = content or ""
    reasoning = message.reasoning_content or message.reasoning
    if reasoning:
        # A reasoning parser split the Thinking edition's output; rejoin it as the model wrote it.
        text = f"{reasoning.rstrip()}\n{THINK_CLOSE}\n\n{text.lstrip()}"
    return text


def _server_message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except (ValueError, RecursionError):  # not JSON, or nested past Python's recursion limit
        return resp.text.strip()[:300] or resp.reason_phrase
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            err = err.get("message") or err.get("detail") or err
        return str(err)[:300]
    return str(body)[:300]


class OpenAIBackend:
    """Chat completions over HTTP; the key comes from the environment variable `api_key_env`."""

    def __init__(self, config: ModelConfig) -> None:
        if not config.endpoint:
            raise ModelError("the OpenAI-compatible backend needs --endpoint (e.g. http://localhost:8000/v1)")
        self.config = config
        self.url = chat_url(config.endpoint)
        self.name = f"openai:{config.model}@{urlsplit(self.url).netloc}"
        headers = {"Accept": "application/json"}
        if key := os.environ.get(config.api_key_env):
            headers["Authorization"] = f"Bearer {key}"
        self._client: httpx.Client | None = httpx.Client(
            timeout=httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 10.0)),
            headers=headers,
        )
        # Data URLs by image object: a screenshot shown again in later prompts is encoded once and
        # sent as the same bytes (the server's prefix cache matches them too).
        self.image_urls: IdentityCache[Any, str] = IdentityCache()

    def image_url(self, image: Any) -> str:
        """The data URL of one request image (PIL, model pixels), encoded on its first request only.
        An image off the 32-pixel grid (not rendered by the protocol) is first resized to the
        config's pixel budget, as the server would."""
        return self.image_urls.get(image, self._encode)

    def _encode(self, image: Any) -> str:
        if image.width % FACTOR or image.height % FACTOR:
            image = resize_for_model(image, self.config.pixels)
        return data_url(image, self.config.image_format, self.config.jpeg_quality)

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body for one request (exposed for tests and the dry-run report)."""
        cfg = self.config
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": openai_messages(
                request.messages, cfg.image_format, cfg.jpeg_quality, image_url=self.image_url
            ),
            "max_tokens": cfg.max_new_tokens or request.max_new_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        return body

    def _backoff(self, attempt: int, resp: httpx.Response | None) -> float:
        delay = self.config.retry_backoff_s * float(2**attempt)
        if resp is not None and (after := resp.headers.get("Retry-After", "")).replace(".", "", 1).isdigit():
            delay = float(after)
        return min(delay, MAX_BACKOFF_S)

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        if self._client is None:
            raise ModelError(f"{self.name} is closed")
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                resp = self._client.post(self.url, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as e:
                if last:
                    raise ModelError(
                        f"Cannot reach the model server at {self.url} ({e}): start it (vllm serve / "
                        "sglang) or fix --endpoint."
                    ) from e
                time.sleep(self._backoff(attempt, None))
                continue
            except httpx.TimeoutException as e:
                raise ModelError(
                    f"The model server at {self.url} sent no reply within {self.config.timeout_s:g} s: "
                    "raise --timeout, or lower the screenshot budget or --max-new-tokens."
                ) from e
            if resp.status_code in RETRY_STATUS and not last:
                time.sleep(self._backoff(attempt, resp))
                continue
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_for_status(self, resp: httpx.Response) -> None:
        if resp.status_code < 400:
            return
        code, msg, cfg = resp.status_code, _server_message(resp), self.config
        if code in (401, 403):
            have = "is set" if os.environ.get(cfg.api_key_env) else "is not set"
            raise ModelError(
                f"{self.url} refused the request (HTTP {code}: {msg}); ${cfg.api_key_env} {have}: "
                "put a valid key in it (or pass --api-key-env NAME)."
            )
        if code == 404:
            raise ModelError(
                f"{self.url} answered HTTP 404 ({msg}): check that --endpoint ends in /v1 and that "
                f"--model '{cfg.model}' is the name the server serves."
            )
        if code in RETRY_STATUS:
            raise ModelError(
                f"{self.url} kept failing (HTTP {code} after {cfg.max_retries + 1} attempts): {msg}"
            )
        if CONTEXT_TOO_LONG.search(msg):
            raise ModelError(
                f"The prompt does not fit the model server's context window ({self.url}, HTTP {code}: "
                f"{msg}). Send fewer or smaller screenshots: lower --history-images (screenshots kept "
                "as images) or --max-pixels (pixels per screenshot), or serve the model with a larger "
                "context (vLLM --max-model-len)."
            )
        hint = ""
        if TOO_MANY_IMAGES.search(msg):
            hint = (
                "; send fewer images (lower --history-images) or allow more on the server "
                "(vLLM --limit-mm-per-prompt)"
            )
        raise ModelError(f"{self.url} rejected the request (HTTP {code}): {msg}{hint}")

    def generate(self, request: ModelRequest) -> ModelResponse:
        start = time.perf_counter()
        resp = self._post(self.request_body(request))
        self._raise_for_status(resp)
        try:
            completion = _Completion.model_validate(resp.json())
            choice = completion.choices[0]
        except (ValueError, ValidationError, IndexError, RecursionError) as e:
            raise ModelError(
                f"{self.url} did not answer in the chat-completions format: {resp.text[:200]!r}"
            ) from e
        text = _reply_text(choice.message)
        if request.stop and choice.finish_reason == "stop":
            # Servers drop the matched stop string; the codec closes a complete call again.
            text = restore_stop(text)
        calls = tuple(
            ToolCall(name=c.function.name, arguments=c.function.arguments)
            for c in choice.message.tool_calls or ()
        )
        u = completion.usage or _Usage()
        return ModelResponse(
            text=text,
            tool_calls=calls,
            usage=Usage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens),
            latency_s=time.perf_counter() - start,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
