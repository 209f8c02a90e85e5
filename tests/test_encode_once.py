"""Each screenshot is resized and encoded once: later prompts that show it again reuse the same
bytes (the OpenAI-compatible backend) or the same patches (the transformers backend), and nothing
keeps a released screenshot alive.
"""

from __future__ import annotations

import base64
import gc
import io
import itertools
import weakref
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from agent.loop import run_episode
from agent.options import AgentOptions
from model.backend import ModelBackend
from model.config import ModelConfig
from model.image_cache import IdentityCache
from model.openai_backend import OpenAIBackend
from model.qwen3vl import PixelBudget, PromptContext, render, resize_for_model, smart_resize
from model.redacting import RedactingBackend
from model.types import ChatMessage, ImagePart, ModelRequest, ModelResponse, TextPart
from tests.fixtures.servers import SERVED_MODEL, ChatRecorder
from tests.memory_env import click_reply, done_reply, form_screen, type_reply

if TYPE_CHECKING:
    from model.transformers_backend import TransformersBackend


def _urls(body: dict[str, Any]) -> list[str]:
    """The image data URLs of one request body, in prompt order."""
    return [
        part["image_url"]["url"]
        for message in body["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part["type"] == "image_url"
    ]


def _decoded(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2])))


class SaveCounter:
    """Counts real PIL encodes: wraps Image.save, which still runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = Image.Image.save

        def save(image: Image.Image, fp: Any, format: str | None = None, **params: Any) -> None:
            self.count += 1
            original(image, fp, format, **params)

        monkeypatch.setattr(Image.Image, "save", save)


class CacheWatch:
    """A ModelBackend passing requests to `inner`; notes how many encodings `backend` holds after each."""

    def __init__(self, inner: ModelBackend, backend: OpenAIBackend) -> None:
        self.inner, self.backend, self.name = inner, backend, inner.name
        self.cached: list[int] = []

    def generate(self, request: ModelRequest) -> ModelResponse:
        response = self.inner.generate(request)
        self.cached.append(len(self.backend.image_urls))
        return response

    def close(self) -> None:
        self.inner.close()


def _openai(recorder: ChatRecorder, **overrides: Any) -> OpenAIBackend:
    return OpenAIBackend(
        ModelConfig(model=SERVED_MODEL, endpoint=recorder.base_url, retry_backoff_s=0.01, **overrides)
    )


@pytest.mark.unit
def test_history_images_go_out_as_the_same_bytes_and_are_encoded_once(
    chat_recorder: ChatRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = form_screen()
    chat_recorder.replies = [
        click_reply(screen, "name"),
        type_reply("Ada Lovelace"),
        click_reply(screen, "email"),
        type_reply("ada@example.org"),
        click_reply(screen, "agree"),
        click_reply(screen, "save"),
        done_reply(),
    ]
    saves = SaveCounter(monkeypatch)
    backend = _openai(chat_recorder)
    # The redacting wrapper copies every message: the images must keep their identity through it.
    redacting = RedactingBackend(backend, lambda text: text.replace("ada@example.org", "[email]"))
    watching = CacheWatch(redacting, backend)
    options = AgentOptions(confirm="never", history_images=2)
    result = run_episode("Fill the form and save", screen, watching, options)
    assert result.status == "success"

    bodies = chat_recorder.requests()
    urls = [_urls(body) for body in bodies]
    assert [len(u) for u in urls] == [1, 2, 3, 3, 3, 3, 3]  # current + up to K=2 history images
    for before, after in itertools.pairwise(urls):
        # The newest request's history is the previous request's last images, byte for byte.
        history = after[:-1]
        assert history == before[len(before) - len(history) :]
    # One new screenshot per request, each encoded once, however many prompts showed it.
    assert saves.count == len(bodies) == 7
    assert len({u for request in urls for u in request}) <= 7
    # Memory stays flat: screenshots out of the window were released, and their encodings with them.
    assert max(watching.cached) <= options.history_images + 1
    gc.collect()
    assert len(backend.image_urls) == 0
    backend.close()


@pytest.mark.unit
def test_the_encoded_image_has_the_pixel_budgets_size(chat_recorder: ChatRecorder) -> None:
    screenshot = Image.new("RGB", (1920, 1080), (240, 240, 240))
    screenshot.paste((20, 90, 200), (900, 500, 1000, 560))
    backend = _openai(chat_recorder)
    request = render(PromptContext(instruction="Click the blue button", current_image=screenshot))
    (url,) = _urls(backend.request_body(request))
    height, width = smart_resize(1080, 1920, PixelBudget())
    assert _decoded(url).size == (width, height) == (1920, 1088)

    # An image the protocol did not render (off the 32-pixel grid) is resized to the config's budget.
    small = _openai(chat_recorder, max_pixels=400_000)
    raw = ModelRequest(messages=(ChatMessage(role="user", content=(ImagePart(image=screenshot),)),))
    (url,) = _urls(small.request_body(raw))
    height, width = smart_resize(1080, 1920, PixelBudget(max_pixels=400_000))
    assert _decoded(url).size == (width, height)
    backend.close()
    small.close()


@pytest.mark.unit
def test_resize_is_computed_once_per_screenshot_and_dies_with_it() -> None:
    screenshot = Image.new("RGB", (1920, 1080), (10, 20, 30))
    budget = PixelBudget()
    resized = resize_for_model(screenshot, budget)
    assert resize_for_model(screenshot, budget) is resized  # the same object: caches downstream hit
    assert resize_for_model(screenshot, PixelBudget(max_pixels=500_000)).size != resized.size
    on_grid = Image.new("RGB", (640, 384))
    assert resize_for_model(on_grid, budget) is on_grid  # nothing to do, nothing cached
    gone = weakref.ref(resize_for_model(screenshot, budget))
    del screenshot, resized
    gc.collect()
    assert gone() is None


@pytest.mark.unit
def test_a_cache_entry_goes_when_its_screenshot_is_released(chat_recorder: ChatRecorder) -> None:
    backend = _openai(chat_recorder)
    image = Image.new("RGB", (640, 384), (1, 2, 3))
    url = backend.image_url(image)
    assert image in backend.image_urls and backend.image_url(image) is url
    del image
    gc.collect()
    assert len(backend.image_urls) == 0
    backend.close()


@pytest.mark.unit
def test_the_cache_is_bounded_and_never_keeps_its_key_alive() -> None:
    cache: IdentityCache[Image.Image, int] = IdentityCache(max_entries=4)
    images = [Image.new("RGB", (32, 32), (i, 0, 0)) for i in range(10)]
    for image in images:
        cache.get(image, lambda im: im.getpixel((0, 0))[0])  # type: ignore[index]
    assert len(cache) == 4 and cache.computed == 10
    assert images[9] in cache and images[0] not in cache
    assert cache.get(images[9], lambda im: -1) == 9  # a hit: not recomputed
    assert cache.get(images[9], lambda im: -1, tag="other") == -1  # another tag recomputes
    same: IdentityCache[Image.Image, Image.Image] = IdentityCache()
    image = images[0]
    assert same.get(image, lambda im: im) is image and len(same) == 0


@pytest.mark.model
def test_transformers_backend_processes_each_screenshot_once(
    tiny_backend: TransformersBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from model.transformers_backend import CachedImageProcessor

    cached = tiny_backend.processor.image_processor
    assert isinstance(cached, CachedImageProcessor)
    screens = [Image.effect_noise((96 + 32 * i, 64), 40).convert("RGB") for i in range(4)]

    def request(images: list[Image.Image]) -> ModelRequest:
        turns = tuple(
            ChatMessage(role="user", content=(ImagePart(image=im), TextPart(text="?"))) for im in images
        )
        return ModelRequest(messages=turns)

    before = cached.outputs.computed
    first = tiny_backend.prepare(request(screens[:3]))
    second = tiny_backend.prepare(request(screens[1:]))  # two seen before, one new
    assert cached.outputs.computed - before == 4

    # The joined patches are exactly what the processor makes of the whole list at once.
    monkeypatch.setattr(tiny_backend.processor, "image_processor", cached.inner)
    for images, got in ((screens[:3], first), (screens[1:], second)):
        want = tiny_backend.prepare(request(images))
        assert want.keys() == got.keys()
        for key in want:
            assert torch.equal(want[key], got[key]), key
