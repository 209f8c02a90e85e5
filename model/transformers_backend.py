"""Qwen3-VL loaded in-process with transformers (the embedded default backend).

Any Qwen3-VL checkpoint, dense or MoE, by hub id or local folder, through AutoProcessor and
AutoModelForImageTextToText. torch and transformers are imported here and nowhere else.
"""

from __future__ import annotations

import importlib.util
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from model.backend import ModelError
from model.config import ModelConfig
from model.image_cache import IdentityCache
from model.qwen3vl.vision import FACTOR, resize_for_model
from model.types import ChatMessage, ModelRequest, ModelResponse, TextPart, Usage


def _looks_like_path(name: str) -> bool:
    """A hub id is `org/name`; anything with more parts, a leading `/`, `.` or `~` is a folder."""
    return name.startswith(("/", ".", "~")) or name.count("/") != 1 or "\\" in name


def _missing_weights(name: str, cause: BaseException | None = None) -> ModelError:
    text = str(cause or "")
    if "not a valid model identifier" in text or "Repository Not Found" in text:
        return ModelError(
            f"'{name}' is not a model on the Hugging Face hub: check the id (for example "
            "Qwen/Qwen3-VL-8B-Instruct) or pass a local checkpoint folder with --model."
        )
    return ModelError(
        f"The Qwen3-VL weights '{name}' are not in the local Hugging Face cache and the hub could "
        f"not be reached: download them on a connected machine with `hf download {name}` (then copy "
        "the cache folder here), or pass a local checkpoint folder with --model /path/to/folder."
    )


def resolve_source(name: str) -> str:
    """The local folder or hub id to load; raises ModelError when a folder is missing or empty."""
    path = Path(name).expanduser()
    if path.exists() or _looks_like_path(name):
        if not path.is_dir():
            raise ModelError(
                f"No model folder at {path}: pass --model with a folder that holds config.json, "
                "or a hub id such as Qwen/Qwen3-VL-2B-Instruct."
            )
        if not (path / "config.json").is_file():
            raise ModelError(
                f"{path} has no config.json, so it is not a transformers checkpoint: point --model "
                "at the folder that `hf download` or `save_pretrained` produced."
            )
        return str(path)
    return name


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """A quick TCP check of the hub: huggingface_hub itself retries for minutes before giving up."""
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname or "", url.port or 443), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def _use_cache_only(name: str, config: ModelConfig) -> bool:
    """Whether to load a hub id from the local cache alone; raises the clear error, before torch is
    imported, when the hub cannot be used and the weights are not cached."""
    from huggingface_hub import constants, try_to_load_from_cache

    offline = constants.HF_HUB_OFFLINE or config.local_files_only or not _hub_reachable()
    if not offline:
        return False
    if not isinstance(try_to_load_from_cache(name, "config.json", revision=config.revision), str):
        raise _missing_weights(name)
    return True


def _attention(requested: str) -> str:
    """`auto` picks flash-attention 2 only when it is installed and a GPU is present."""
    if requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _stop_criterion(tokenizer: Any, stops: tuple[str, ...], prompt_len: int) -> Any:
    """Ends generation once any stop string appears in the new tokens (the string is kept)."""
    import torch
    from transformers import StoppingCriteria

    # Decoding a short tail each step is enough: a stop string spans at most one token per byte.
    window = max(len(s.encode("utf-8")) for s in stops) + 2

    class StopOnText(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            start = max(prompt_len, input_ids.shape[1] - window)
            done = [
                any(s in tokenizer.decode(row[start:], skip_special_tokens=False) for s in stops)
                for row in input_ids
            ]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return StopOnText()


def _hf_messages(messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
    """Chat-template input: text-only turns as strings, mixed turns as typed parts."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if all(isinstance(p, TextPart) for p in m.content):
            out.append({"role": m.role, "content": m.text})
            continue
        parts: list[dict[str, Any]] = [
            {"type": "text", "text": p.text} if isinstance(p, TextPart) else {"type": "image"}
            for p in m.content
        ]
        out.append({"role": m.role, "content": parts})
    return out


class CachedImageProcessor:
    """The processor's image processor, run once per image object: a screenshot shown again in a
    later prompt reuses its patches (pixel_values rows) and grid size (image_grid_thw row).

    The processor calls this with all of a request's images. The image processor flattens every
    image's patches into one tensor, image after image, with one grid row per image: the same as
    processing the images one by one and concatenating along dim 0, which is what this does with
    the cached parts (tests/test_encode_once.py checks the tensors are equal). The text side, each
    image placeholder expanded to the image's token count, stays the processor's own code, so no
    processor logic is copied here. Anything but a list of PIL images asking for PyTorch tensors
    goes to the image processor unchanged; every attribute is the wrapped one's.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        # Patches by image object, for the keyword arguments they were made with (a 1920x1088
        # screenshot is 8160 patches x 1536 float32 values, ~50 MB): entries die with the image.
        self.outputs: IdentityCache[Any, dict[str, Any]] = IdentityCache()

    def __getattr__(self, name: str) -> Any:
        # merge_size, fetch_images, size, ...: the processor reads them off its image processor.
        return getattr(self.inner, name)

    def __call__(self, images: Any = None, *args: Any, **kwargs: Any) -> Any:
        import torch
        from PIL import Image
        from transformers import BatchFeature

        cacheable = (
            not args
            and isinstance(images, list)
            and bool(images)
            and all(isinstance(im, Image.Image) for im in images)
            and kwargs.get("return_tensors") == "pt"
        )
        if not cacheable:
            return self.inner(images, *args, **kwargs)
        tag = repr(sorted(kwargs.items()))
        parts = [
            self.outputs.get(im, lambda one: dict(self.inner([one], **kwargs)), tag=tag) for im in images
        ]
        keys = parts[0].keys()
        if any(p.keys() != keys or not all(torch.is_tensor(v) for v in p.values()) for p in parts):
            return self.inner(images, **kwargs)  # an output we do not know how to join
        return BatchFeature({k: torch.cat([p[k] for p in parts]) for k in keys})


class TransformersBackend:
    """Qwen3-VL weights run in this process; greedy by default, stops right after `</tool_call>`."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.source = resolve_source(config.model)
        is_hub_id = not Path(self.source).is_dir()
        if is_hub_id and _use_cache_only(config.model, config):
            self.config = config = config.model_copy(update={"local_files_only": True})
        self.name = f"transformers:{config.model}"
        self.processor, self.model = self._load()
        self.processor.image_processor = CachedImageProcessor(self.processor.image_processor)

    def _load(self) -> tuple[Any, Any]:
        cfg = self.config
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError as e:
            raise ModelError(
                f"The transformers backend needs torch and transformers>=4.57 ({e}): "
                "pip install 'transformers>=4.57' torch torchvision, or use --endpoint."
            ) from e
        if importlib.util.find_spec("torchvision") is None:
            raise ModelError(
                "The Qwen3-VL processor needs torchvision: pip install torchvision "
                "(the build that matches your torch)."
            )
        hub = {"revision": cfg.revision, "local_files_only": cfg.local_files_only}
        try:
            processor = AutoProcessor.from_pretrained(self.source, **hub)  # type: ignore[no-untyped-call]
        except OSError as e:
            if self.source == cfg.model and not _looks_like_path(cfg.model):
                raise _missing_weights(cfg.model, e) from e
            raise ModelError(f"Could not read the processor in {self.source}: {e}") from e
        attn = _attention(cfg.attn_implementation)
        try:
            model = AutoModelForImageTextToText.from_pretrained(
                self.source,
                dtype=cfg.dtype,
                device_map=cfg.device_map,
                attn_implementation=attn,
                **hub,
            )
        except torch.cuda.OutOfMemoryError as e:
            raise ModelError(
                f"Not enough GPU memory to load {cfg.model}: pick a smaller checkpoint "
                "(e.g. Qwen/Qwen3-VL-2B-Instruct) or serve it with vLLM and pass --endpoint."
            ) from e
        except OSError as e:
            if self.source == cfg.model and not _looks_like_path(cfg.model):
                raise _missing_weights(cfg.model, e) from e
            raise ModelError(f"Could not load the weights in {self.source}: {e}") from e
        except (ImportError, ValueError) as e:
            if attn == "flash_attention_2":
                raise ModelError(
                    f"flash-attention 2 could not be used ({e}): pip install flash-attn, "
                    "or pass --attn-implementation sdpa."
                ) from e
            raise ModelError(
                f"transformers cannot load {cfg.model} ({e}); Qwen3-VL needs transformers>=4.57."
            ) from e
        model.eval()  # type: ignore[no-untyped-call]
        return processor, model

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer

    def _images(self, request: ModelRequest) -> list[Any]:
        """Request images as RGB; one not already on the 32-pixel grid is resized to our budget."""
        images = []
        for image in request.images:
            if image.width % FACTOR or image.height % FACTOR:
                image = resize_for_model(image, self.config.pixels)
            images.append(image.convert("RGB") if image.mode != "RGB" else image)
        return images

    def prepare(self, request: ModelRequest) -> Any:
        """Processor output (input ids with expanded image tokens, pixel patches) on the model's device."""
        images = self._images(request)
        text = self.processor.apply_chat_template(
            _hf_messages(request.messages), tokenize=False, add_generation_prompt=True
        )
        kwargs: dict[str, Any] = {}
        if images:
            # Bounds that contain every image (already on the grid): the processor's resize is
            # then the identity, so the model sees exactly the pixels the agent rendered.
            areas = [im.width * im.height for im in images]
            size = {
                "shortest_edge": min(self.config.min_pixels, *areas),
                "longest_edge": max(self.config.max_pixels, *areas),
            }
            kwargs = {"images": images, "images_kwargs": {"size": size}}
        inputs = self.processor(text=[text], return_tensors="pt", **kwargs)
        return inputs.to(self.model.device)

    def _generation_kwargs(self, request: ModelRequest, prompt_len: int) -> dict[str, Any]:
        from transformers import StoppingCriteriaList

        kwargs: dict[str, Any] = {"max_new_tokens": self.config.max_new_tokens or request.max_new_tokens}
        if request.temperature > 0:
            kwargs |= {"do_sample": True, "temperature": request.temperature}
        else:
            # Checkpoints ship sampling defaults (top_k 20, top_p 0.8, temperature 0.7) that generate
            # fills into unset fields: greedy decoding sets the library's neutral values explicitly.
            kwargs |= {"do_sample": False, "temperature": 1.0, "top_p": 1.0, "top_k": 50}
        if request.stop:
            kwargs["stopping_criteria"] = StoppingCriteriaList(
                [_stop_criterion(self.tokenizer, request.stop, prompt_len)]
            )
        return kwargs

    def generate(self, request: ModelRequest) -> ModelResponse:
        import torch

        start = time.perf_counter()
        inputs = self.prepare(request)
        prompt_len = int(inputs["input_ids"].shape[1])
        try:
            with torch.inference_mode():
                output = self.model.generate(**inputs, **self._generation_kwargs(request, prompt_len))
        except torch.cuda.OutOfMemoryError as e:
            raise ModelError(
                f"Out of GPU memory on a {prompt_len}-token prompt: lower --max-pixels or the "
                "number of history screenshots, or serve the model with vLLM (--endpoint)."
            ) from e
        new_ids = output[0, prompt_len:]
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        # Keep the first stop string but nothing a multi-character token carried past it.
        ends = [i + len(s) for s in request.stop if (i := text.find(s)) >= 0]
        if ends:
            text = text[: min(ends)]
        usage = Usage(prompt_tokens=prompt_len, completion_tokens=int(new_ids.shape[0]))
        return ModelResponse(text=text, usage=usage, latency_s=time.perf_counter() - start)

    def close(self) -> None:
        """Drop the weights; frees GPU memory once no other reference holds them."""
        if getattr(self, "model", None) is None:
            return
        self.model = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass
