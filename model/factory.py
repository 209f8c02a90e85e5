"""Choosing a model backend from typed settings: a script, an OpenAI-compatible endpoint, or
Qwen3-VL weights loaded in-process with transformers. Backends are imported only when chosen.
"""

from __future__ import annotations

from model.backend import ModelBackend
from model.config import DEFAULT_MODEL, SCRIPTED_PREFIX, ModelConfig

__all__ = ["DEFAULT_MODEL", "ModelConfig", "create_backend"]


def create_backend(config: ModelConfig) -> ModelBackend:
    """The backend `config` names; raises ModelError with the fix when it cannot be set up."""
    kind = config.kind
    if kind == "scripted":
        from model.scripted import ScriptedBackend

        return ScriptedBackend.from_file(config.model.removeprefix(SCRIPTED_PREFIX))
    if kind == "openai":
        from model.openai_backend import OpenAIBackend

        return OpenAIBackend(config)
    from model.transformers_backend import TransformersBackend

    return TransformersBackend(config)
