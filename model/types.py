"""Request and response values exchanged with a model backend (backend-neutral chat messages)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from actions.types import Frozen


class TextPart(Frozen):
    type: Literal["text"] = "text"
    text: str


class ImagePart(BaseModel):
    """A screenshot already resized to the model's pixel budget (PIL image, model pixels)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    type: Literal["image"] = "image"
    image: Any  # PIL.Image.Image


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: tuple[TextPart | ImagePart, ...]

    @property
    def text(self) -> str:
        """The message's text parts joined (images left out)."""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class ModelRequest(BaseModel):
    """One generation request. `stop` strings end generation and are kept in the reply text."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[ChatMessage, ...]
    max_new_tokens: int = Field(default=512, gt=0)
    temperature: float = Field(default=0.0, ge=0)
    stop: tuple[str, ...] = ("</tool_call>",)

    @property
    def images(self) -> list[Any]:
        return [p.image for m in self.messages for p in m.content if isinstance(p, ImagePart)]


class Usage(Frozen):
    """Token counts of one generation (0 when a backend cannot tell)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


class ToolCall(Frozen):
    """A function call in the OpenAI `message.tool_calls` shape; arguments as JSON text or object."""

    name: str
    arguments: str | dict[str, Any]


class ModelResponse(Frozen):
    """What a backend returns: reply text (raw Qwen output), tool calls if the server split them out."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    latency_s: float = 0.0
