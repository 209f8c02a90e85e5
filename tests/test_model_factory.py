"""Choosing a backend from ModelConfig, without loading any weights."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from model.backend import ModelBackend, ModelError
from model.factory import DEFAULT_MODEL, ModelConfig, create_backend
from model.images import data_url, encode_image
from model.scripted import ScriptedBackend
from model.types import ChatMessage, ModelRequest, TextPart

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]
REQUEST = ModelRequest(messages=(ChatMessage(role="user", content=(TextPart(text="hi"),)),))


def test_defaults_name_the_2b_instruct_model_and_the_cookbook_budget() -> None:
    config = ModelConfig()
    assert config.model == DEFAULT_MODEL == "Qwen/Qwen3-VL-2B-Instruct"
    assert config.kind == "transformers"
    assert (config.pixels.min_pixels, config.pixels.max_pixels) == (3136, 12_845_056)


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValidationError, match="exceeds max_pixels"):
        ModelConfig(min_pixels=10_000, max_pixels=5_000)
    with pytest.raises(ValidationError):
        ModelConfig(attn_implementation="flash")
    with pytest.raises(ValidationError):
        ModelConfig(max_new_tokens=0)


def test_scripted_model_replays_the_file(tmp_path: Path) -> None:
    script = tmp_path / "replies.jsonl"
    script.write_text(json.dumps("first") + "\n" + json.dumps({"text": "second"}) + "\n")
    backend = create_backend(ModelConfig(model=f"scripted:{script}"))
    assert isinstance(backend, ScriptedBackend) and isinstance(backend, ModelBackend)
    assert [backend.generate(REQUEST).text for _ in range(2)] == ["first", "second"]
    with pytest.raises(ModelError, match="not found"):
        create_backend(ModelConfig(model=f"scripted:{tmp_path / 'missing.jsonl'}"))


def test_endpoint_selects_the_http_backend_without_touching_the_network() -> None:
    backend = create_backend(ModelConfig(endpoint="http://127.0.0.1:9/v1"))
    assert backend.name == "openai:Qwen/Qwen3-VL-2B-Instruct@127.0.0.1:9"
    backend.close()


def test_light_backends_do_not_import_torch(tmp_path: Path) -> None:
    script = tmp_path / "r.jsonl"
    script.write_text('"x"\n')
    code = (
        "import sys\n"
        "from model.factory import ModelConfig, create_backend\n"
        f"create_backend(ModelConfig(model='scripted:{script}'))\n"
        "create_backend(ModelConfig(endpoint='http://127.0.0.1:9/v1'))\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_data_urls_round_trip_png_and_jpeg() -> None:
    import base64
    import io

    image = Image.new("RGB", (64, 48), (10, 200, 30))
    png = data_url(image)
    assert png.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1])))
    assert decoded.size == (64, 48) and decoded.getpixel((5, 5)) == (10, 200, 30)
    assert encode_image(image.convert("RGBA"), "jpeg")[:2] == b"\xff\xd8"
