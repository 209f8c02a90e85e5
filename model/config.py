"""How to reach the model: `ModelConfig` and its defaults, declared once. The factory, both backends
and the CLI import it from here (it imports no backend, so `model/` has no import cycle).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from actions.types import Frozen
from model.images import ImageFormat
from model.qwen3vl.vision import PixelBudget

DEFAULT_MODEL = "Qwen/Qwen3-VL-2B-Instruct"
SCRIPTED_PREFIX = "scripted:"

Dtype = Literal["auto", "bfloat16", "float16", "float32"]
Attention = Literal["auto", "sdpa", "flash_attention_2", "eager"]


class ModelConfig(Frozen):
    """How to reach the model. `model` is a hub id, a local folder, `scripted:PATH`, or (with
    `endpoint`) the name the server serves. Pixel bounds are in model pixels (area).
    """

    model: str = Field(default=DEFAULT_MODEL, min_length=1)
    endpoint: str | None = None  # OpenAI-compatible base URL, e.g. http://localhost:8000/v1
    api_key_env: str = "OPENAI_API_KEY"  # name of the variable holding the key, never the key
    # transformers backend
    dtype: Dtype = "auto"  # "auto" = the checkpoint's own dtype (bfloat16 for Qwen3-VL)
    device_map: str = "auto"  # "auto" spreads over GPUs (then CPU); or "cpu", "cuda", "cuda:1"
    attn_implementation: Attention = "auto"  # auto: flash_attention_2 when installed, else sdpa
    revision: str | None = None
    local_files_only: bool = False
    # both backends
    max_new_tokens: int | None = Field(default=None, gt=0)  # overrides the request's budget
    min_pixels: int = Field(default=PixelBudget().min_pixels, gt=0)
    max_pixels: int = Field(default=PixelBudget().max_pixels, gt=0)
    # OpenAI-compatible backend
    timeout_s: float = Field(default=120.0, gt=0)  # per HTTP attempt
    max_retries: int = Field(default=3, ge=0)  # extra attempts on 429 / 5xx / refused connection
    retry_backoff_s: float = Field(default=1.0, ge=0)  # first wait; doubles per attempt, cap 30 s
    image_format: ImageFormat = "png"
    jpeg_quality: int = Field(default=90, ge=1, le=100)

    @model_validator(mode="after")
    def _pixels_ordered(self) -> ModelConfig:
        if self.min_pixels > self.max_pixels:
            raise ValueError(f"min_pixels {self.min_pixels} exceeds max_pixels {self.max_pixels}")
        return self

    @property
    def pixels(self) -> PixelBudget:
        return PixelBudget(min_pixels=self.min_pixels, max_pixels=self.max_pixels)

    @property
    def kind(self) -> Literal["scripted", "openai", "transformers"]:
        if self.model.startswith(SCRIPTED_PREFIX):
            return "scripted"
        return "openai" if self.endpoint else "transformers"
