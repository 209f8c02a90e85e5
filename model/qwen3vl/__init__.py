"""The Qwen3-VL wire format, and nothing else: prompt rendering, reply parsing and formatting (one
codec), the coordinate grid, the image budget and the constants they share. Every other module
talks to the model through these names.
"""

from model.qwen3vl.codec import (
    CallStyle,
    action_arguments,
    format_call,
    format_calls,
    format_reply,
    restore_stop,
)
from model.qwen3vl.constants import (
    ALLOWED_GRIDS,
    DEFAULT_GRID,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    STOP_STRINGS,
    THINK_CLOSE,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    TOOL_NAME,
)
from model.qwen3vl.grid import CoordinateGrid, to_model, to_screen
from model.qwen3vl.parse import Decision, ParseError, parse_reply, reply_text, strip_thinking
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
    "ALLOWED_GRIDS",
    "DEFAULT_GRID",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MIN_PIXELS",
    "STOP_STRINGS",
    "THINK_CLOSE",
    "TOOL_CALL_CLOSE",
    "TOOL_CALL_OPEN",
    "TOOL_NAME",
    "CallStyle",
    "CoordinateGrid",
    "Decision",
    "ParseError",
    "PastTurn",
    "PixelBudget",
    "PromptContext",
    "PromptError",
    "ProtocolSettings",
    "action_arguments",
    "computer_use_function",
    "format_call",
    "format_calls",
    "format_reply",
    "load_prompt",
    "parse_reply",
    "render",
    "render_template",
    "reply_text",
    "resize_for_model",
    "restore_stop",
    "smart_resize",
    "strip_thinking",
    "system_prompt",
    "to_model",
    "to_screen",
    "user_text",
    "visual_tokens",
]
