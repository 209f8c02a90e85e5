"""A tiny random-init Qwen3-VL built offline: the real architecture, tokenizer class and processor.

Saved to a folder and loaded back through the transformers backend's `from_pretrained`, exactly as
a downloaded checkpoint is, so tests and benchmarks exercise the real path without a model hub.
Run `python -m model.tiny OUT_DIR` to build one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from model.qwen3vl.vision import PixelBudget

# Qwen's special tokens, in Qwen3-VL's vocabulary order. The tool-call and think tags are ordinary
# added tokens there (special=False), so decoding with skip_special_tokens keeps them in the text.
SPECIAL_TOKENS = (
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
TEXT_TAGS = ("<tool_call>", "</tool_call>", "<think>", "</think>")

# The structure of Qwen3-VL's own chat template (system, user image/text parts, assistant turns,
# generation prompt), without the tools and video branches that the agent does not use.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' }}"
    "{%- if message.content is string %}{{- message.content }}"
    "{%- else %}{%- for part in message.content %}"
    "{%- if part.type == 'image' or 'image' in part or 'image_url' in part %}"
    "{{- '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{%- elif part.type == 'video' or 'video' in part %}"
    "{{- '<|vision_start|><|video_pad|><|vision_end|>' }}"
    "{%- elif 'text' in part %}{{- part.text }}{%- endif %}"
    "{%- endfor %}{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

TEXT_HIDDEN = 64
HEAD_DIM = 16
VISION_HIDDEN = 32


def _tokenizer() -> Any:
    """Qwen2Tokenizer (Qwen's real byte-level BPE pipeline) over the 256 byte symbols, no merges."""
    from tokenizers import AddedToken, pre_tokenizers
    from transformers import Qwen2Tokenizer

    vocab = {symbol: i for i, symbol in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<|endoftext|>"] = len(vocab)
    tok = Qwen2Tokenizer(vocab=vocab, merges=[], errors="replace")
    tok.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True) for t in SPECIAL_TOKENS]}
    )
    tok.add_tokens([AddedToken(t, special=False) for t in TEXT_TAGS])
    tok.eos_token = "<|im_end|>"
    tok.chat_template = CHAT_TEMPLATE
    return tok


def _config(tok: Any, moe: bool) -> Any:
    """Qwen3-VL geometry scaled down: merge 2, patch 16, deepstack, interleaved mrope."""
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text: dict[str, Any] = {
        "vocab_size": len(tok),
        "hidden_size": TEXT_HIDDEN,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": HEAD_DIM,
        "max_position_embeddings": 262_144,  # as in the real checkpoints; costs nothing
        # mrope_section sums to head_dim / 2; Qwen3-VL interleaves the t/h/w frequencies.
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": [4, 2, 2],
            "mrope_interleaved": True,
        },
        "bos_token_id": None,
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": tok.pad_token_id,
    }
    if moe:
        text |= {"moe_intermediate_size": 32, "num_experts": 4, "num_experts_per_tok": 2}
    vision = {
        "depth": 2,
        "hidden_size": VISION_HIDDEN,
        "intermediate_size": 64,
        "num_heads": 2,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": TEXT_HIDDEN,
        "num_position_embeddings": 64,  # a perfect square: the learned grid is 8 x 8, interpolated
        "deepstack_visual_indexes": [0, 1],
    }
    common = {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "tie_word_embeddings": False,
    }
    if moe:
        from transformers import Qwen3VLMoeConfig

        return Qwen3VLMoeConfig(text_config=text, vision_config=vision, **common)
    from transformers import Qwen3VLConfig

    return Qwen3VLConfig(text_config=text, vision_config=vision, **common)


def _processor(tok: Any, budget: PixelBudget) -> Any:
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    size = {"shortest_edge": budget.min_pixels, "longest_edge": budget.max_pixels}
    image = Qwen2VLImageProcessor(
        patch_size=16,
        temporal_patch_size=2,
        merge_size=2,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        size=size,
    )
    video = Qwen3VLVideoProcessor(patch_size=16, temporal_patch_size=2, merge_size=2)
    return Qwen3VLProcessor(  # type: ignore[no-untyped-call]
        image_processor=image, tokenizer=tok, video_processor=video, chat_template=CHAT_TEMPLATE
    )


def build_tiny_qwen3vl(
    out_dir: str | Path, *, moe: bool = False, seed: int = 0, budget: PixelBudget = PixelBudget()
) -> Path:
    """Build, randomly initialise and save a tiny Qwen3-VL (dense, or MoE with `moe`) to `out_dir`."""
    import torch
    from transformers import (
        GenerationConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLMoeForConditionalGeneration,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer()
    config = _config(tok, moe)
    torch.manual_seed(seed)
    cls = Qwen3VLMoeForConditionalGeneration if moe else Qwen3VLForConditionalGeneration
    model = cls(config).eval()  # type: ignore[no-untyped-call]
    # Real checkpoints ship Qwen's sampling defaults; greedy decoding must override them.
    model.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
        eos_token_id=[tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")],
        pad_token_id=tok.pad_token_id,
        do_sample=True,
        temperature=0.7,
        top_p=0.8,
        top_k=20,
    )
    model.save_pretrained(out)
    _processor(tok, budget).save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2) or (len(args) == 2 and args[1] != "--moe"):
        print("usage: python -m model.tiny OUT_DIR [--moe]", file=sys.stderr)
        return 2
    out = build_tiny_qwen3vl(args[0], moe=len(args) == 2)
    print(f"tiny Qwen3-VL saved to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
