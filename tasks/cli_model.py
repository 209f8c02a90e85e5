"""Model options shared by `run` and `eval`: one set of flags, one place that builds a ModelConfig."""

from __future__ import annotations

from typing import Annotated

import typer

from model.factory import DEFAULT_MODEL, ModelConfig  # light: backends are imported only when chosen

__all__ = ["DEFAULT_MODEL", "ModelConfig", "model_config"]

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        help="Hub id or local checkpoint folder (in-process), the served model name (with --endpoint), "
        "or scripted:FILE.jsonl (replay raw replies).",
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        help="OpenAI-compatible base URL (vLLM, SGLang, Ollama...), e.g. http://localhost:8000/v1.",
    ),
]
ApiKeyEnvOpt = Annotated[
    str, typer.Option("--api-key-env", help="Environment variable that holds the server's API key.")
]
DtypeOpt = Annotated[
    str, typer.Option("--dtype", help="In-process weights dtype: auto, bfloat16, float16, float32.")
]
DeviceMapOpt = Annotated[
    str, typer.Option("--device-map", help="In-process placement: auto, cpu, cuda, cuda:1, ...")
]
AttnOpt = Annotated[
    str,
    typer.Option("--attn-implementation", help="In-process attention: auto, sdpa, flash_attention_2, eager."),
]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=1, help="Server: seconds per request attempt.")]
RetriesOpt = Annotated[
    int, typer.Option("--max-retries", min=0, help="Server: retries on 429/5xx with backoff.")
]
ImageFormatOpt = Annotated[
    str, typer.Option("--image-format", help="Server: screenshots sent as png or jpeg.")
]


def model_config(
    model: str,
    endpoint: str | None,
    api_key_env: str = "OPENAI_API_KEY",
    dtype: str = "auto",
    device_map: str = "auto",
    attn_implementation: str = "auto",
    timeout_s: float = 120.0,
    max_retries: int = 3,
    image_format: str = "png",
    max_pixels: int | None = None,
) -> ModelConfig:
    """A validated ModelConfig; a bad value is a usage error naming the flag."""
    from pydantic import ValidationError

    fields: dict[str, object] = {
        "model": model,
        "endpoint": endpoint,
        "api_key_env": api_key_env,
        "dtype": dtype,
        "device_map": device_map,
        "attn_implementation": attn_implementation,
        "timeout_s": timeout_s,
        "max_retries": max_retries,
        "image_format": image_format,
    }
    if max_pixels is not None:
        fields["max_pixels"] = max_pixels
    try:
        return ModelConfig.model_validate(fields)
    except ValidationError as e:
        err = e.errors()[0]
        flag = "--" + str(err["loc"][0]).replace("_", "-").replace("timeout-s", "timeout")
        raise typer.BadParameter(f"{flag}: {err['msg']}") from None
