"""Wire-format constants, defined once: every other module imports them from `model.qwen3vl`.

This module imports nothing from the package, so grid.py, vision.py, parse.py and codec.py can all
depend on it without cycles.
"""

from __future__ import annotations

from typing import Final

# The one function the model is trained to call (Qwen's computer-use cookbook; OSWorld's agents).
TOOL_NAME: Final = "computer_use"

# Hermes-style tags around each call. The closing tag doubles as the stop string: generation can
# end right after the call instead of letting the model ramble on (the parser keeps the tag).
TOOL_CALL_OPEN: Final = "<tool_call>"
TOOL_CALL_CLOSE: Final = "</tool_call>"
STOP_STRINGS: Final[tuple[str, ...]] = (TOOL_CALL_CLOSE,)

# Thinking editions: the generation prompt opens <think>, so replies carry only the closing tag.
THINK_CLOSE: Final = "</think>"

# The relative coordinate grid: Qwen3-VL's cookbooks say 1000; the mobile cookbook and OSWorld's
# Qwen3-VL agent use 999. Anything else is not what the model was trained on.
DEFAULT_GRID: Final = 1000
ALLOWED_GRIDS: Final[tuple[int, ...]] = (DEFAULT_GRID, 999)

# Screenshot area bounds in model pixels (Qwen's cookbook values; the HF processor's differ).
DEFAULT_MIN_PIXELS: Final = 3136
DEFAULT_MAX_PIXELS: Final = 12_845_056
