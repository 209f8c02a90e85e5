"""Asking the model for one sample, exactly as the agent asks on a run's first step, and reading its
answer back into image pixels.

The request is `model.qwen3vl.render` of a PromptContext whose instruction is
model/prompts/grounding_instruction.txt around the sample's description: the same system prompt
(the computer-use tool, response-format rules), the same pixel budget (smart_resize) and coordinate grid
as `qwen-agent run`, so the accuracy measured is the agent's own. The reply is read by the agent's
parser with the screenshot as the "screen": the point comes back in IMAGE PIXELS of the file
(integers, clamped to the image), whatever grid the model answered on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from actions.types import Click, Frozen, MoveTo, ScreenGeometry
from model.qwen3vl import (
    ParseError,
    PromptContext,
    ProtocolSettings,
    parse_reply,
    render,
    render_template,
    reply_text,
    smart_resize,
)
from model.types import ModelRequest, ModelResponse

if TYPE_CHECKING:
    from PIL import Image

Answer = Literal["point", "declined", "unparsed"]


class Prediction(Frozen):
    """What the model answered: a point (image pixels), a decline (no click: terminate, answer, or
    any action without a point), or a reply the parser could not read (`reason` says why)."""

    answer: Answer
    point: tuple[int, int] | None = None
    reason: str | None = None
    raw: str  # the reply as Qwen wrote it (server-split tool calls put back)


def grounding_instruction(description: str) -> str:
    """The task the agent is given for one sample."""
    return render_template("grounding_instruction.txt", element=description.strip())


def grounding_request(image: Image.Image, description: str, settings: ProtocolSettings) -> ModelRequest:
    """The request for one sample: the agent's first-step prompt on this screenshot."""
    return render(
        PromptContext(instruction=grounding_instruction(description), current_image=image), settings
    )


def read_prediction(
    response: ModelResponse, image_size: tuple[int, int], settings: ProtocolSettings
) -> Prediction:
    """The reply's point in image pixels of an image of `image_size` (width, height).

    The point is the first click's (any button) or, failing that, the first pointer move's: where the
    model put the pointer on the described element. A reply without either is a decline.
    """
    width, height = image_size
    seen_h, seen_w = smart_resize(height, width, settings.pixels)
    raw = reply_text(response.text, response.tool_calls)
    screen = ScreenGeometry(width=width, height=height)
    try:
        decision = parse_reply(response.text, screen, settings.grid, (seen_w, seen_h), response.tool_calls)
    except ParseError as e:
        return Prediction(answer="unparsed", reason=e.reason, raw=raw)
    pointer = next((a for a in decision.actions if isinstance(a, Click)), None) or next(
        (a for a in decision.actions if isinstance(a, MoveTo)), None
    )
    if pointer is None:
        return Prediction(answer="declined", raw=raw)
    return Prediction(answer="point", point=(pointer.x, pointer.y), raw=raw)
