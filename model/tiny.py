"""A tiny random-init Qwen3-VL built offline: the real architecture, tokenizer class and processor.

Saved to a folder and loaded back through the transformers backend's `from_pretrained`, exactly as
a downloaded checkpoint is, so tests and benchmarks exercise the real path without a model hub.
Run `python -m model.tiny OUT_DIR` to build one.

The folder is also servable by a real vLLM (its CPU build included), so the OpenAI backend can be
tested against one (tests/test_vllm_server.py). That fixes a few sizes and layouts:
- vLLM's CPU attention (the text decoder's) serves head sizes 32, 64, 80, ... only, so the text
  head_dim is 32 and mrope_section sums to head_dim / 2 = 16 (the vision tower runs through torch
  SDPA there, and its head size of 16 is served);
- the MoE edition's text config carries `norm_topk_prob` (vLLM reads it; the hub checkpoints have
  it, transformers' own config class dropped it), and its fused expert tensors are saved in the
  hub checkpoints' layout: gate_up_proj [experts, hidden, 2 * moe_inter] and down_proj
  [experts, moe_inter, hidden], the transpose of transformers' in-memory layout. transformers
  loads either layout (it compares shapes), so the sizes are chosen to make the two differ.
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
HEAD_DIM = 32  # vLLM's CPU attention: 32 is the smallest head size it serves
VISION_HIDDEN = 32
MOE_EXPERTS = 4
MOE_INTERMEDIATE = 48  # 2 * 48 != 64 and 48 != 64: the hub and in-memory expert layouts differ


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
        # mrope_section sums to head_dim / 2 (the real [24, 20, 20] over 64, scaled to 16);
        # Qwen3-VL interleaves the t/h/w frequencies.
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": [6, 5, 5],
            "mrope_interleaved": True,
        },
        "bos_token_id": None,
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": tok.pad_token_id,
        "tie_word_embeddings": False,  # vLLM reads the text config's flag, transformers the top one
    }
    if moe:
        text |= {
            "moe_intermediate_size": MOE_INTERMEDIATE,
            "num_experts": MOE_EXPERTS,
            "num_experts_per_tok": 2,
            "norm_topk_prob": True,  # as in the hub's config.json; vLLM's MoE block requires it
            "decoder_sparse_step": 1,
            "mlp_only_layers": [],
        }
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


def _save_experts_in_hub_layout(out: Path) -> None:
    """Rewrite the saved fused expert tensors from transformers' in-memory layout to the hub's.

    In memory (transformers 5): gate_up_proj [E, 2 * inter, hidden], down_proj [E, hidden, inter].
    Hub checkpoints (Qwen/Qwen3-VL-30B-A3B-Instruct), and so vLLM's loader: the transpose of each.
    A tensor already in the hub layout (a transformers that converts on save) is left as it is.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = out / "model.safetensors"
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata() or {"format": "pt"}
    tensors = load_file(str(path))
    in_memory = {
        "mlp.experts.gate_up_proj": (MOE_EXPERTS, 2 * MOE_INTERMEDIATE, TEXT_HIDDEN),
        "mlp.experts.down_proj": (MOE_EXPERTS, TEXT_HIDDEN, MOE_INTERMEDIATE),
    }
    for name, tensor in tensors.items():
        for suffix, shape in in_memory.items():
            if not name.endswith(suffix):
                continue
            if tuple(tensor.shape) == shape:
                tensors[name] = tensor.transpose(1, 2).contiguous()
            elif tuple(tensor.shape) != (shape[0], shape[2], shape[1]):
                raise ValueError(f"unexpected expert tensor {name} of shape {tuple(tensor.shape)}")
    save_file(tensors, str(path), metadata=metadata)


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
    if moe:
        _save_experts_in_hub_layout(out)
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
