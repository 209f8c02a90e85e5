"""Model-layer latency: the tiny Qwen3-VL on CPU (preprocessing, prefill, per-token generation at
1280x800 and 1920x1080 with the default pixel budget) and, when a CUDA GPU is present, a random-init
model with Qwen3-VL-2B's real shapes (prefill and per-token latency, sdpa vs eager).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from model.factory import ModelConfig
from model.qwen3vl import PromptContext, visual_tokens
from model.qwen3vl import render as render_prompt
from model.transformers_backend import TransformersBackend
from model.types import ModelRequest

SIZES = ((1280, 800), (1920, 1080))
DECODE_TOKENS = 32


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first calls pay for lazy initialisation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _screenshot(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (236, 236, 236))
    image.paste((40, 60, 120), (0, 0, width, 32))
    image.paste((30, 120, 220), (width // 2 - 60, height // 2 - 20, width // 2 + 60, height // 2 + 20))
    return image


def _request(width: int, height: int, max_new_tokens: int) -> ModelRequest:
    context = PromptContext(instruction="Click the blue button", current_image=_screenshot(width, height))
    # No stop strings: the benchmark must run to the token budget.
    return render_prompt(context).model_copy(update={"max_new_tokens": max_new_tokens, "stop": ()})


def bench_tiny_cpu(repeats: int = 5) -> None:
    from model.tiny import build_tiny_qwen3vl

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        folder = build_tiny_qwen3vl(Path(tmp) / "tiny")
        built = time.perf_counter() - start
        start = time.perf_counter()
        backend = TransformersBackend(ModelConfig(model=str(folder), device_map="cpu"))
        loaded = time.perf_counter() - start
        print(f"tiny Qwen3-VL: build {built * 1e3:.0f} ms, from_pretrained {loaded * 1e3:.0f} ms (CPU)")
        print("screen      vis.tok  prompt  render ms  preprocess ms  prefill ms  per-token ms")
        for width, height in SIZES:
            one, many = _request(width, height, 1), _request(width, height, DECODE_TOKENS + 1)
            t_render = _median_s(partial(_request, width, height, 1), repeats)
            t_prep = _median_s(partial(backend.prepare, one), repeats)
            t_one = _median_s(partial(backend.generate, one), repeats)
            t_many = _median_s(partial(backend.generate, many), repeats)
            r_one, r_many = backend.generate(one), backend.generate(many)
            extra = max(1, r_many.usage.completion_tokens - r_one.usage.completion_tokens)
            print(
                f"{width}x{height:<6} {visual_tokens(height, width):>7} {r_one.usage.prompt_tokens:>7}"
                f" {t_render * 1e3:>10.1f} {t_prep * 1e3:>14.1f} {(t_one - t_prep) * 1e3:>11.1f}"
                f" {(t_many - t_one) / extra * 1e3:>13.2f}"
            )
        backend.close()


def qwen3vl_2b_config(token_ids: dict[str, Any]) -> Any:
    """Qwen3-VL-2B-Instruct's published shapes (28 layers, hidden 2048, ViT depth 24), random init."""
    from transformers import Qwen3VLConfig

    text = {
        "vocab_size": 151_936,
        "hidden_size": 2048,
        "intermediate_size": 6144,
        "num_hidden_layers": 28,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "max_position_embeddings": 262_144,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": [24, 20, 20],
            "mrope_interleaved": True,
        },
    }
    vision = {
        "depth": 24,
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_heads": 16,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": 2048,
        "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [5, 11, 17],
    }
    return Qwen3VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **token_ids)


def bench_2b_shapes_gpu(repeats: int = 3, device: str = "cuda") -> None:
    """Prefill and per-token latency of Qwen3-VL-2B's shapes in bfloat16, sdpa vs eager."""
    import torch
    from transformers import Qwen3VLForConditionalGeneration

    from model.tiny import build_tiny_qwen3vl

    with tempfile.TemporaryDirectory() as tmp:
        # The tiny processor makes real inputs; the big config reuses its special-token ids.
        tiny = TransformersBackend(
            ModelConfig(model=str(build_tiny_qwen3vl(Path(tmp) / "t")), device_map="cpu")
        )
        ids = {
            k: getattr(tiny.model.config, k)
            for k in ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")
        }
        torch.manual_seed(0)
        model = Qwen3VLForConditionalGeneration._from_config(  # type: ignore[no-untyped-call]
            qwen3vl_2b_config(ids), dtype=torch.bfloat16, attn_implementation="sdpa"
        )
        model = model.to(device).eval()
        name = torch.cuda.get_device_name() if device.startswith("cuda") else device
        print(f"Qwen3-VL-2B shapes on {name}, bfloat16, random init")
        print("attn    screen      prompt  prefill ms  per-token ms")
        for attn in ("sdpa", "eager"):
            model.set_attn_implementation(attn)
            for width, height in SIZES:
                inputs = tiny.prepare(_request(width, height, 1)).to(device)

                def run(n: int, inputs: Any = inputs) -> None:
                    with torch.inference_mode():
                        model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, do_sample=False)
                    if device.startswith("cuda"):
                        torch.cuda.synchronize()

                t_one = _median_s(partial(run, 1), repeats)
                t_many = _median_s(partial(run, DECODE_TOKENS + 1), repeats)
                print(
                    f"{attn:<7} {width}x{height:<6} {inputs['input_ids'].shape[1]:>7}"
                    f" {t_one * 1e3:>11.1f} {(t_many - t_one) / DECODE_TOKENS * 1e3:>13.2f}"
                )
        tiny.close()


def main() -> None:
    bench_tiny_cpu()
    import torch

    if torch.cuda.is_available():
        bench_2b_shapes_gpu()
    else:
        print("no CUDA device: the Qwen3-VL-2B-shape GPU benchmark was skipped")


if __name__ == "__main__":
    main()
