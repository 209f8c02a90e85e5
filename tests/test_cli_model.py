"""Model flags shared by `run` and `eval` become one validated ModelConfig."""

from __future__ import annotations

import pytest
import typer

from tasks.cli.options import model_config

pytestmark = pytest.mark.unit


def test_flags_map_onto_the_config() -> None:
    config = model_config(
        "Qwen/Qwen3-VL-8B-Instruct", "http://localhost:8000/v1", "MY_KEY", timeout_s=30, max_retries=1,
        image_format="jpeg", max_pixels=1280 * 800,
    )  # fmt: skip
    assert config.kind == "openai"
    assert (config.api_key_env, config.timeout_s, config.max_retries) == ("MY_KEY", 30, 1)
    assert config.image_format == "jpeg" and config.pixels.max_pixels == 1280 * 800
    assert model_config("scripted:replies.jsonl", None).kind == "scripted"


def test_a_bad_value_names_the_flag() -> None:
    with pytest.raises(typer.BadParameter, match="--dtype"):
        model_config("m", None, dtype="float8")
    with pytest.raises(typer.BadParameter, match="--image-format"):
        model_config("m", None, image_format="gif")
