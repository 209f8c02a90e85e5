"""The Qwen3-VL wire format, and nothing else: prompt rendering, reply parsing, the coordinate grid
and the image budget. Every other module talks to the model through these names.
"""

from model.qwen3vl.grid import CoordinateGrid, to_model, to_screen
from model.qwen3vl.parse import Decision, ParseError, parse_reply, reply_text
from model.qwen3vl.prompt import (
    PastTurn,
    PromptContext,
    PromptError,
    ProtocolSettings,
    computer_use_function,
    load_prompt,
    render,
    render_template,
    system_prompt,
    user_text,
)
from model.qwen3vl.vision import PixelBudget, resize_for_model, smart_resize, visual_tokens

__all__ = [
    "CoordinateGrid",
    "Decision",
    "ParseError",
    "PastTurn",
    "PixelBudget",
    "PromptContext",
    "PromptError",
    "ProtocolSettings",
    "computer_use_function",
    "load_prompt",
    "parse_reply",
    "render",
    "render_template",
    "reply_text",
    "resize_for_model",
    "smart_resize",
    "system_prompt",
    "to_model",
    "to_screen",
    "user_text",
    "visual_tokens",
]
