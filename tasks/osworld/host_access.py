"""What a task file would do to the machine its setup runs on, read from the file before anything runs.

On the local environment that machine is the user's own, and nothing from a task file runs there
without the user's consent. This module finds, in a task's setup steps, postconfig steps and getters:

- commands: steps `execute`, `command`, `execute_with_verification`; getters `vm_command_line` and
  `vm_command_error`; every `launch` except the few below (`sudo` shows in the command it is part of);
- paths outside the task's work folder: an absolute path (`/home/user/...`, OSWorld's VM home) or one
  starting with `~` (the host's home) or climbing out with `..`, as a `download` target or local
  source, an `open`, a `launch` argument, a `file://` tab of `chrome_open_tabs`, a `vm_file` or
  `cache_file` path or destination. `{WORKDIR}` and
  `{DOWNLOADS}` are inside the work folder, and relative paths resolve inside it.

Launches that are no host command: in a browser task, OSWorld's Chrome start (`google-chrome
--remote-debugging-port=1337` and `socat` forwarding 9222 to it; the browser environment has its own
browser and skips both), and a plain viewer or editor (VIEWERS) given only files inside the work folder.
Any other program, a program shipped in the task's folder included, is code the task brings.

tasks.osworld.census turns these findings into a refusal, unless the suite is a built-in one (shipped
and reviewed with qwen-agent), the environment is the VM, or the user passed --allow-host-setup.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Literal

from actions.types import Frozen
from tasks.osworld.spec import SetupStep, TaskSpec, command_words, is_browser_boilerplate

COMMAND_STEPS = frozenset({"execute", "command", "execute_with_verification"})
COMMAND_GETTERS = frozenset({"vm_command_line", "vm_command_error"})
VIEWERS = frozenset({"mousepad", "gedit", "eog", "evince"})
"""Programs a task may launch on the local desktop when every argument is a file in its work folder:
they open files and run nothing from them."""
INSIDE_PLACEHOLDERS = ("{WORKDIR}", "{DOWNLOADS}")
SHOWN_CHARS = 70  # a command is shown up to this many characters in a reason


class HostAccess(Frozen):
    """One thing a task would do on the host: run `what` (a command) or touch `what` (a path).
    `where` is the dotted place in the task file, e.g. 'config.2' or 'evaluator.result'."""

    kind: Literal["command", "path"]
    what: str
    where: str


def outside_work_folder(path: str) -> bool:
    """True for a path from a task file that would not resolve inside the task's work folder."""
    text = path.strip()
    if text.startswith("file://"):
        return outside_work_folder(text.removeprefix("file://"))
    if text.startswith(INSIDE_PLACEHOLDERS):
        rest = text.split("}", 1)[1]
        return ".." in PurePosixPath(rest).parts
    if text.startswith(("/", "~")):
        return True
    return ".." in PurePosixPath(text).parts


def _shown(command: Any) -> str:
    words = command_words(command)
    text = " ".join(words) if words else str(command)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://", "{SANDBOX}"))


def _launch(step: SetupStep, browser_task: bool, where: str) -> list[HostAccess]:
    command = step.parameters.get("command")
    words = command_words(command)
    shell = bool(step.parameters.get("shell", False))
    if browser_task and not shell and is_browser_boilerplate(command):
        return []
    name = PurePosixPath(words[0]).name if words else ""
    files = words[1:]
    viewer = name in VIEWERS and not shell and isinstance(command, list)
    if viewer and all(not w.startswith("-") and not outside_work_folder(w) for w in files):
        return []
    return [HostAccess(kind="command", what=_shown(command), where=where)]


def _step(step: SetupStep, browser_task: bool, where: str) -> list[HostAccess]:
    params = step.parameters
    if step.type in COMMAND_STEPS:
        return [HostAccess(kind="command", what=_shown(params.get("command")), where=where)]
    if step.type == "launch":
        return _launch(step, browser_task, where)
    paths: list[str] = []
    if step.type == "download":
        for item in params.get("files") or []:
            if isinstance(item, dict):
                paths.append(str(item.get("path", "")))
                url = str(item.get("url", ""))
                if not _is_url(url):
                    paths.append(url)
    elif step.type == "open":
        paths.append(str(params.get("path", "")))
    elif step.type == "chrome_open_tabs":
        # A local file shown in the browser is read: its screenshot goes to the model's endpoint.
        urls = params.get("urls_to_open") or []
        paths += [str(u) for u in urls if isinstance(u, str) and u.startswith("file://")]
    return [HostAccess(kind="path", what=p, where=where) for p in paths if p and outside_work_folder(p)]


def _getter(config: dict[str, Any], where: str) -> list[HostAccess]:
    kind = config.get("type")
    if kind in COMMAND_GETTERS:
        return [HostAccess(kind="command", what=_shown(config.get("command")), where=where)]
    if kind not in ("vm_file", "cache_file"):
        return []
    paths: list[str] = []
    # `path` is read, `dest` written (into the cache folder: an absolute or climbing dest escapes it).
    for key in ("path", "dest"):
        raw = config.get(key)
        paths += [str(p) for p in raw if p] if isinstance(raw, list) else [str(raw or "")]
    return [
        HostAccess(kind="path", what=p, where=where)
        for p in paths
        if p and not _is_url(p) and outside_work_folder(p)
    ]


def host_access(spec: TaskSpec) -> list[HostAccess]:
    """Everything in the task that would run a command on, or touch a path of, the machine it runs on
    (in file order: setup, postconfig, getters)."""
    browser_task = spec.env_kind == "browser"
    found: list[HostAccess] = []
    for i, step in enumerate(spec.config):
        found += _step(step, browser_task, f"config.{i}")
    for i, step in enumerate(spec.evaluator.postconfig):
        found += _step(step, browser_task, f"evaluator.postconfig.{i}")
    for field, config in spec.evaluator.getter_configs():
        if isinstance(config, dict):
            found += _getter(config, f"evaluator.{field}")
    return found
