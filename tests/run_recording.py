"""Test plumbing for reading runs back: an environment and a backend that remember what the loop
showed the model (every screenshot taken, a digest of every request), so a rebuilt context can be
compared with the live one byte for byte. `python -m tests.run_recording DIR` runs a scripted form
run into DIR whose third action hangs (for SIGKILL tests)."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from actions.types import Action, Observation, Outcome
from model.scripted import ScriptedBackend
from model.types import ImagePart, ModelRequest, ModelResponse
from tests.memory_env import MemoryScreen, click_reply, done_reply, form_screen, type_reply


def request_digest(request: ModelRequest) -> str:
    """Every text byte and every image pixel of a request, in order."""
    h = hashlib.sha256()
    for message in request.messages:
        h.update(message.role.encode())
        for part in message.content:
            if isinstance(part, ImagePart):
                h.update(f"{part.image.size}{part.image.mode}".encode() + part.image.tobytes())
            else:
                h.update(part.text.encode())
    h.update(repr((request.max_new_tokens, request.stop)).encode())
    return h.hexdigest()


class ShotKeeper(MemoryScreen):
    """A MemoryScreen that keeps every screenshot it was asked for (optionally also as PNG files),
    and can stall on the Nth action (`hang_on`) so a process can be killed mid-step."""

    shots: list[Any]
    folder: Path | None = None
    hang_on: int | None = None

    def observe(self) -> Observation:
        obs = super().observe()
        self.shots.append(obs.image)
        if self.folder is not None:
            obs.image.save(self.folder / f"obs_{len(self.shots)}.png")
        return obs

    def execute(self, action: Action) -> Outcome:
        if self.hang_on is not None and len(self.executed) + 1 == self.hang_on:
            time.sleep(3600)
        return super().execute(action)


def keeper(folder: Path | None = None, hang_on: int | None = None) -> ShotKeeper:
    base = form_screen()
    screen = ShotKeeper(widgets=base.widgets)
    screen.shots, screen.folder, screen.hang_on = [], folder, hang_on
    return screen


class DigestBackend(ScriptedBackend):
    """Scripted replies; for each request, the digest and how many screenshots had been taken."""

    def __init__(self, replies: list[str], screen: ShotKeeper, log: Path | None = None) -> None:
        super().__init__(replies)
        self.screen, self.log = screen, log
        self.seen: list[tuple[str, int]] = []

    def generate(self, request: ModelRequest) -> ModelResponse:
        entry = (request_digest(request), len(self.screen.shots))
        self.seen.append(entry)
        if self.log is not None:
            with self.log.open("a") as f:
                f.write(json.dumps(entry) + "\n")
        return super().generate(request)


def form_replies(screen: MemoryScreen) -> list[str]:
    return [
        click_reply(screen, "name"),
        type_reply("Ada"),
        click_reply(screen, "agree"),
        click_reply(screen, "save"),
        done_reply(),
    ]


def main(folder: str) -> None:
    from agent.loop import run_episode
    from agent.options import AgentOptions

    root = Path(folder)
    (root / "shots").mkdir(parents=True, exist_ok=True)
    screen = keeper(root / "shots", hang_on=3)
    backend = DigestBackend(form_replies(screen), screen, root / "requests.jsonl")
    options = AgentOptions(confirm="never", history_images=2, stuck_after_s=None)
    run_episode("Fill the form and save", screen, backend, options, record_dir=root / "run")


if __name__ == "__main__":
    main(sys.argv[1])
