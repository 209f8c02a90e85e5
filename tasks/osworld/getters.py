"""Getters by name (OSWorld's `get_<type>`): `getter(ctx, config) -> value` for the metric.

`result` getters read the live state after the run (browser tab, sandbox app state, files, command
output); `expected` getters are usually `rule` (the config's rules, passed through) or `suite_file`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.osworld.context import TaskContext
from tasks.osworld.errors import SetupFailed, Unsupported
from tasks.osworld.setup_steps import _argv, _copy_source, _fetch

if TYPE_CHECKING:
    from actions.browser import BrowserEnvironment

Getter = Callable[[TaskContext, dict[str, Any]], Any]


def get_rule(ctx: TaskContext, config: dict[str, Any]) -> Any:
    """The rules object, passed through."""
    return config["rules"]


def _browser(ctx: TaskContext, name: str) -> BrowserEnvironment:
    if ctx.env_kind != "browser":
        raise Unsupported(f"getter {name!r} needs the browser environment (a desktop Chrome is not driven)")
    return ctx.browser


def get_active_tab_info(ctx: TaskContext, config: dict[str, Any]) -> dict[str, str]:
    """`{"url", "title"}` of the active tab."""
    page = _browser(ctx, "active_tab_info").page
    return {"url": page.url, "title": page.title()}


def get_active_url_from_accessTree(ctx: TaskContext, config: dict[str, Any]) -> str:
    """The active tab's URL (OSWorld reads it from the address bar)."""
    return str(_browser(ctx, "active_url_from_accessTree").page.url)


def get_open_tabs_info(ctx: TaskContext, config: dict[str, Any]) -> list[dict[str, str]]:
    """`[{"url", "title"}]` of every open tab, oldest first."""
    return [{"url": p.url, "title": p.title()} for p in _browser(ctx, "open_tabs_info").pages]


def _dotted(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, list):
            try:
                value = value[int(part)]
            except (ValueError, IndexError):
                return None
        elif isinstance(value, dict):
            if part not in value:
                return None
            value = value[part]
        else:
            return None
    return value


def get_sandbox_state(ctx: TaskContext, config: dict[str, Any]) -> Any:
    """JSON of `GET {SANDBOX}/<app>/api/state`, or the value at a dotted `path` (None when absent)."""
    if not ctx.sandbox_url:
        raise SetupFailed("sandbox_state: no sandbox server is running for this suite")
    try:
        state = json.loads(_fetch(f"{ctx.sandbox_url}/{config['app']}/api/state"))
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as e:
        raise SetupFailed(f"sandbox_state of {config['app']!r} could not be read: {e}") from e
    path = config.get("path")
    return _dotted(state, str(path)) if path else state


def _one_vm_file(ctx: TaskContext, path: str, dest: str | None) -> str | None:
    src = ctx.resolve_local(path)
    if not src.is_file():
        return None
    if not dest:
        return str(src)
    target = ctx.cache_dir / dest
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, target)
    return str(target)


def get_vm_file(ctx: TaskContext, config: dict[str, Any]) -> str | list[str | None] | None:
    """Local path of the file (copied to the cache as `dest` when given); None if it does not exist.

    `multi: true` takes lists in `path` / `dest` and returns a list.
    """
    ctx.save_downloads()
    if config.get("multi"):
        dests = config.get("dest") or [None] * len(config["path"])
        return [_one_vm_file(ctx, p, d) for p, d in zip(config["path"], dests, strict=True)]
    return _one_vm_file(ctx, config["path"], config.get("dest"))


def get_cache_file(ctx: TaskContext, config: dict[str, Any]) -> str:
    """Fetch `path` (file:// URL, local path, loopback http) into the cache; returns the local path."""
    url = str(config["path"])
    target = ctx.cache_dir / (config.get("dest") or Path(url.split("?")[0]).name or "cache_file")
    _copy_source(ctx, url, target)
    return str(target)


def get_suite_file(ctx: TaskContext, config: dict[str, Any]) -> str:
    """Absolute path of a file stored with the suite (`path` relative to the suite folder)."""
    path = ctx.suite_root / str(config["path"])
    if not path.is_file():
        raise SetupFailed(f"suite_file: {path} does not exist (a broken task: fix the path)")
    return str(path)


def _command(ctx: TaskContext, config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    shell = bool(config.get("shell", False))
    try:
        return subprocess.run(
            _argv(config["command"], shell), shell=shell, cwd=ctx.workdir, env=ctx.process_env(),
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except FileNotFoundError as e:
        raise SetupFailed(f"vm_command_line: program not found: {e.filename}") from e


def get_vm_command_line(ctx: TaskContext, config: dict[str, Any]) -> str:
    """The command's stdout as text."""
    return _command(ctx, config).stdout


def get_vm_command_error(ctx: TaskContext, config: dict[str, Any]) -> str:
    """The command's stderr as text."""
    return _command(ctx, config).stderr


GETTERS: dict[str, Getter] = {
    "rule": get_rule,
    "active_tab_info": get_active_tab_info,
    "active_url_from_accessTree": get_active_url_from_accessTree,
    "open_tabs_info": get_open_tabs_info,
    "sandbox_state": get_sandbox_state,
    "vm_file": get_vm_file,
    "cache_file": get_cache_file,
    "suite_file": get_suite_file,
    "vm_command_line": get_vm_command_line,
    "vm_command_error": get_vm_command_error,
}
