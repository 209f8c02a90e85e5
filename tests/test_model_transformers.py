"""The transformers backend driving a tiny real Qwen3-VL on CPU: processor, generate, parser."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from actions.types import ScreenGeometry
from model.backend import ModelBackend, ModelError
from model.factory import ModelConfig, create_backend
from model.qwen3vl import ParseError, PixelBudget, PromptContext, ProtocolSettings, parse_reply
from model.qwen3vl import render as render_prompt
from model.qwen3vl.vision import visual_tokens
from model.transformers_backend import TransformersBackend
from model.types import ChatMessage, ImagePart, ModelRequest, TextPart

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[1]


def _screenshot(width: int, height: int) -> Image.Image:
    """A screenshot-like image: a title bar, a button and flat background."""
    image = Image.new("RGB", (width, height), (236, 236, 236))
    image.paste((40, 60, 120), (0, 0, width, 32))
    image.paste((30, 120, 220), (width // 2 - 60, height // 2 - 20, width // 2 + 60, height // 2 + 20))
    return image


def _request(image: Image.Image, max_new_tokens: int = 8, **kwargs: Any) -> ModelRequest:
    return ModelRequest(
        messages=(
            ChatMessage(role="system", content=(TextPart(text="You are a helpful assistant."),)),
            ChatMessage(role="user", content=(ImagePart(image=image), TextPart(text="Click OK."))),
        ),
        max_new_tokens=max_new_tokens,
        **kwargs,
    )


def _image_tokens(backend: TransformersBackend, request: ModelRequest) -> int:
    inputs = backend.prepare(request)
    image_id = backend.model.config.image_token_id
    return int((inputs["input_ids"] == image_id).sum())


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080), (1000, 700)])
@pytest.mark.parametrize("budget", [PixelBudget(), PixelBudget(max_pixels=400_000)])
def test_placeholder_expands_to_visual_tokens_of_the_rendered_screenshot(
    tiny_backend: TransformersBackend, size: tuple[int, int], budget: PixelBudget
) -> None:
    """The agent renders at its budget; the processor keeps that size (no second resize)."""
    width, height = size
    request = render_prompt(
        PromptContext(instruction="Open the menu", current_image=_screenshot(width, height)),
        ProtocolSettings(pixels=budget),
    )
    assert _image_tokens(tiny_backend, request) == visual_tokens(height, width, budget)


def test_known_token_counts_at_the_default_budget(tiny_backend: TransformersBackend) -> None:
    request = render_prompt(PromptContext(instruction="x", current_image=_screenshot(1920, 1080)))
    assert _image_tokens(tiny_backend, request) == 2040  # 1920x1088 / 32^2
    request = render_prompt(PromptContext(instruction="x", current_image=_screenshot(1280, 800)))
    assert _image_tokens(tiny_backend, request) == 1000


def test_raw_screenshot_is_resized_to_the_backend_budget(tiny_model_dir: Path) -> None:
    """An image not on the 32-pixel grid (not rendered by the agent) uses the config's budget."""
    config = ModelConfig(model=str(tiny_model_dir), device_map="cpu", max_pixels=300_000)
    backend = TransformersBackend(config)
    request = _request(_screenshot(1366, 768))
    assert _image_tokens(backend, request) == visual_tokens(768, 1366, config.pixels)
    assert _image_tokens(backend, request) < visual_tokens(768, 1366)


def test_every_history_screenshot_is_expanded(tiny_backend: TransformersBackend) -> None:
    small, large = _screenshot(640, 480), _screenshot(1280, 800)
    request = ModelRequest(
        messages=(
            ChatMessage(role="user", content=(ImagePart(image=small), TextPart(text="task"))),
            ChatMessage(role="assistant", content=(TextPart(text="Action: wait"),)),
            ChatMessage(role="user", content=(ImagePart(image=large),)),
        )
    )
    assert _image_tokens(tiny_backend, request) == visual_tokens(480, 640) + visual_tokens(800, 1280)


@pytest.mark.parametrize("budget", [1, 7])
def test_generation_honours_the_request_token_budget(tiny_backend: TransformersBackend, budget: int) -> None:
    request = _request(_screenshot(640, 480), max_new_tokens=budget, stop=())
    response = tiny_backend.generate(request)
    prompt_len = int(tiny_backend.prepare(request)["input_ids"].shape[1])
    # Without stop strings the random model (seeded) never emits <|im_end|>: it runs to the budget.
    assert response.usage.completion_tokens == budget
    assert response.usage.prompt_tokens == prompt_len
    assert response.latency_s > 0


def test_config_budget_overrides_the_request(tiny_model_dir: Path) -> None:
    backend = TransformersBackend(ModelConfig(model=str(tiny_model_dir), device_map="cpu", max_new_tokens=3))
    response = backend.generate(_request(_screenshot(320, 240), max_new_tokens=50, stop=()))
    assert response.usage.completion_tokens == 3


def test_random_reply_becomes_a_parse_error(tiny_backend: TransformersBackend) -> None:
    response = tiny_backend.generate(_request(_screenshot(1280, 800), max_new_tokens=24))
    assert response.text  # random bytes, decoded
    with pytest.raises(ParseError) as info:
        parse_reply(response.text, ScreenGeometry(width=1280, height=800))
    assert info.value.raw == response.text


def test_greedy_decoding_is_deterministic(tiny_backend: TransformersBackend) -> None:
    request = _request(_screenshot(640, 480), max_new_tokens=10)
    assert tiny_backend.generate(request).text == tiny_backend.generate(request).text


def _steer_bigrams(backend: TransformersBackend, chain: list[str]) -> None:
    """Rewire the tiny model's weights so that, greedily, token chain[i] is followed by chain[i+1]:
    each chain token's embedding is a large one-hot that dominates the residual stream, and the
    LM head maps that direction to the successor. The last token repeats forever.
    """
    import torch

    tok, model = backend.tokenizer, backend.model
    ids = [tok.convert_tokens_to_ids(t) for t in chain]
    embed, head = model.get_input_embeddings().weight, model.lm_head.weight
    with torch.no_grad():
        for slot, (cur, nxt) in enumerate(zip(ids, [*ids[1:], ids[-1]], strict=True)):
            embed[cur] = 0
            embed[cur, slot] = 30.0
            head[:, slot] = 0
            head[nxt, slot] = 10.0


# The generation prompt ends in "\n" (byte-level symbol "Ċ"); a Thinking edition answers
# "...</think>" then the call; after the call the model would ramble on ("x" forever).
CHAIN = ["Ċ", "</think>", "<tool_call>", "</tool_call>", "x"]


def test_generation_stops_right_after_the_closing_tool_call_tag(tiny_model_dir: Path) -> None:
    backend = TransformersBackend(ModelConfig(model=str(tiny_model_dir), device_map="cpu"))
    _steer_bigrams(backend, CHAIN)
    request = _request(_screenshot(320, 240), max_new_tokens=40)
    stopped = backend.generate(request)
    assert stopped.text == "</think><tool_call></tool_call>"  # both tags kept in the raw text
    assert stopped.usage.completion_tokens == 3
    # Without the stop string the same model spends the whole budget.
    unstopped = backend.generate(request.model_copy(update={"stop": ()}))
    assert unstopped.text.startswith("</think><tool_call></tool_call>xxx")
    assert unstopped.usage.completion_tokens == 40


def test_round_trip_through_save_and_from_pretrained(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    from model.tiny import SPECIAL_TOKENS, TEXT_TAGS, build_tiny_qwen3vl

    out = build_tiny_qwen3vl(tmp_path / "tiny", seed=3)
    backend = create_backend(ModelConfig(model=str(out), device_map="cpu"))
    assert isinstance(backend, TransformersBackend)
    assert isinstance(backend, ModelBackend)
    model, processor = backend.model, backend.processor
    assert type(model).__name__ == "Qwen3VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen3VLProcessor"
    vision, text = model.config.vision_config, model.config.text_config
    assert (vision.spatial_merge_size, vision.patch_size) == (2, 16)
    assert list(vision.deepstack_visual_indexes) == [0, 1]
    assert text.rope_parameters["mrope_interleaved"] is True
    assert sum(text.rope_parameters["mrope_section"]) == text.head_dim // 2
    tok = processor.tokenizer
    assert tok.convert_tokens_to_ids("<|image_pad|>") == model.config.image_token_id
    assert tok.convert_tokens_to_ids("<|vision_start|>") == model.config.vision_start_token_id
    assert all(tok.convert_tokens_to_ids(t) != tok.unk_token_id for t in SPECIAL_TOKENS + TEXT_TAGS)
    saved = load_file(str(out / "model.safetensors"))
    state = model.state_dict()
    assert saved.keys() <= state.keys()
    assert all(torch.equal(saved[k], state[k]) for k in saved)


def test_moe_edition_loads_through_the_same_path(tmp_path: Path) -> None:
    from model.tiny import build_tiny_qwen3vl

    out = build_tiny_qwen3vl(tmp_path / "tiny-moe", moe=True)
    backend = create_backend(ModelConfig(model=str(out), device_map="cpu"))
    assert isinstance(backend, TransformersBackend)
    assert type(backend.model).__name__ == "Qwen3VLMoeForConditionalGeneration"
    response = backend.generate(_request(_screenshot(320, 240), max_new_tokens=2))
    assert response.usage.completion_tokens == 2


def test_moe_edition_is_saved_in_the_hub_layout(tmp_path: Path) -> None:
    """What vLLM's Qwen3-VL-MoE loader needs: `norm_topk_prob`, and fused experts stored as the hub
    stores them ([E, hidden, 2*inter] and [E, inter, hidden]); transformers loads them transposed."""
    import json

    import torch
    from safetensors.torch import load_file

    from model.tiny import build_tiny_qwen3vl

    out = build_tiny_qwen3vl(tmp_path / "tiny-moe", moe=True)
    text = json.loads((out / "config.json").read_text())["text_config"]
    assert text["norm_topk_prob"] is True and text["head_dim"] >= 32
    hidden, inter = text["hidden_size"], text["moe_intermediate_size"]
    saved = load_file(str(out / "model.safetensors"))
    gate_up = saved["model.language_model.layers.0.mlp.experts.gate_up_proj"]
    down = saved["model.language_model.layers.0.mlp.experts.down_proj"]
    experts = gate_up.shape[0]
    assert tuple(gate_up.shape) == (experts, hidden, 2 * inter)
    assert tuple(down.shape) == (experts, inter, hidden)
    backend = create_backend(ModelConfig(model=str(out), device_map="cpu"))
    assert isinstance(backend, TransformersBackend)
    state = backend.model.state_dict()
    for name, tensor in saved.items():
        expected = tensor.transpose(1, 2) if ".mlp.experts." in name else tensor
        assert torch.equal(state[name], expected), name


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"No model folder at .*--model"):
        create_backend(ModelConfig(model=str(tmp_path / "no-such-model")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"has no config\.json"):
        create_backend(ModelConfig(model=str(tmp_path / "empty")))


@pytest.mark.parametrize(
    "hub_env",
    [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "http://127.0.0.1:9"}],  # declared offline / unreachable
    ids=["offline", "unreachable"],
)
def test_unreachable_hub_gives_one_sentence_without_traceback(
    tmp_path: Path, hub_env: dict[str, str]
) -> None:
    """A hub id with an empty cache and no usable hub: the user is told how to get the weights
    (at once: huggingface_hub's own retries would take minutes)."""
    script = textwrap.dedent(
        """
        from model.backend import ModelError
        from model.factory import ModelConfig, create_backend
        try:
            create_backend(ModelConfig(model="Qwen/Qwen3-VL-2B-Instruct"))
        except ModelError as e:
            print(e)
        """
    )
    env = {**os.environ, **hub_env, "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_CACHE", None)
    if "HF_HUB_OFFLINE" not in hub_env:
        env.pop("HF_HUB_OFFLINE", None)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    message = done.stdout.strip()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "hf download Qwen/Qwen3-VL-2B-Instruct" in message
    assert "--model /path/to/folder" in message
    assert "\n" not in message
