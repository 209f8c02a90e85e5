"""HTTP client of OSWorld's in-VM server (desktop_env/server/main.py, Flask on port 5000).

Request and response shapes are OSWorld's own (its desktop_env/controllers/python.py client):

| call | request | answer |
|---|---|---|
| `screenshot()` | GET /screenshot | PNG bytes |
| `screen_size()` | POST /screen_size | `{"width", "height"}` (screen pixels) |
| `cursor_position()` | GET /cursor_position | `[x, y]` (screen pixels) |
| `accessibility_tree()` | GET /accessibility | `{"AT": xml}` |
| `execute(cmd, shell)` | POST /execute, JSON `{command, shell}` | `{status, output, error, returncode}` (1) |
| `run_pyautogui(code)` | `execute(["python", "-c", OSWORLD_PREFIX + code])` | as execute |
| `run_python(code)` | POST /run_python, JSON `{code}` | `{status, output, error, return_code}` |
| `launch(cmd, shell)` | POST /setup/launch, JSON `{command, shell}` | text; 500 JSON on error |
| `get_file(path)` | POST /file, form `file_path` | the bytes; 404 when missing |
| `upload_file(path, data)` | POST /setup/upload, multipart `file_path` + `file_data` | text |
| `open_file(path)` | POST /setup/open_file, JSON `{path, window_name?, timeout_seconds?}` | text |
| `activate_window(name)` | POST /setup/activate_window, JSON `{window_name, strict, by_class}` | text |
| `close_window(name)` | POST /setup/close_window, same JSON | text |

(1) or 500 `{status: "error", message}` when the command could not run (not found, timed out).

Errors: a server that refuses the connection or does not answer within `timeout_s` raises
VmUnavailable (its message names the URL: an infrastructure error, not a task failure); a setup call
the server answers with an error status raises VmRequestFailed. A command that ran and failed is no
error: its CommandResult carries the nonzero returncode (-1 when the server could not start it).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, NamedTuple, Self

import httpx

from actions.errors import VmRequestFailed, VmUnavailable

# OSWorld's PythonController.pkgs_prefix: every pyautogui step runs behind exactly this prefix.
OSWORLD_PREFIX = "import pyautogui; import time; pyautogui.FAILSAFE = False; "
# Slack over the server's own command timeout (OSWorld: 120 s) so that its answer comes back.
EXECUTE_SLACK_S = 10.0


class CommandResult(NamedTuple):
    """What a command on the VM did: `returncode` (-1 when the server could not run it at all),
    its stdout and stderr as text. Unpacks as `(returncode, stdout, stderr)`."""

    returncode: int
    stdout: str
    stderr: str


def _message(response: httpx.Response) -> str:
    """The server's own words for an error answer: OSWorld sends JSON `error`/`message` or text."""
    try:
        parsed = response.json()
    except (ValueError, UnicodeDecodeError):
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(parsed, dict):
        return str(parsed.get("error") or parsed.get("message") or parsed)[:500]
    return str(parsed)[:500]


class VmClient:
    """One VM's server at `base_url` (e.g. http://192.168.1.5:5000). `timeout_s` bounds each request
    (connect and read) except command execution, which waits `command_timeout_s`."""

    def __init__(self, base_url: str, timeout_s: float = 30.0, command_timeout_s: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.command_timeout_s = command_timeout_s
        self._http = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(timeout_s))

    # -- plumbing ----------------------------------------------------------------------------
    def request(
        self, method: str, path: str, *, timeout_s: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request; a refused connection or a timeout raises VmUnavailable naming the URL."""
        url = self.base_url + path
        timeout = timeout_s if timeout_s is not None else self.timeout_s
        try:
            return self._http.request(method, path, timeout=timeout, **kwargs)
        except httpx.TimeoutException as exc:
            raise VmUnavailable(
                url, f"no answer within {timeout:g} s ({type(exc).__name__})", timed_out=True
            ) from exc
        except httpx.TransportError as exc:
            raise VmUnavailable(
                url, f"{exc or type(exc).__name__} (is its server running? OSWorld's listens on port 5000)"
            ) from exc

    def _ok(self, response: httpx.Response) -> httpx.Response:
        if response.status_code != 200:
            raise VmRequestFailed(str(response.url), response.status_code, _message(response))
        return response

    # -- observing ---------------------------------------------------------------------------
    def screenshot(self, timeout_s: float | None = None) -> bytes:
        """The screen as PNG bytes (screen pixels; OSWorld pastes the pointer in)."""
        response = self._ok(self.request("GET", "/screenshot", timeout_s=timeout_s))
        if not response.content.startswith(b"\x89PNG"):
            raise VmRequestFailed(str(response.url), 200, "the answer is not a PNG image")
        return response.content

    def screen_size(self) -> tuple[int, int] | None:
        """(width, height) of the screen in pixels; None when the server does not say."""
        response = self.request("POST", "/screen_size")
        if response.status_code != 200:
            return None
        try:
            size = response.json()
            return int(size["width"]), int(size["height"])
        except (ValueError, KeyError, TypeError):
            return None

    def cursor_position(self) -> tuple[int, int] | None:
        """The pointer in screen pixels; None when the server does not say."""
        response = self.request("GET", "/cursor_position")
        if response.status_code != 200:
            return None
        try:
            x, y = response.json()
            return int(x), int(y)
        except (ValueError, TypeError):
            return None

    def accessibility_tree(self, timeout_s: float | None = None) -> tuple[int, str | None]:
        """(HTTP status, the tree's XML) from GET /accessibility; XML None unless status is 200."""
        response = self.request("GET", "/accessibility", timeout_s=timeout_s)
        if response.status_code != 200:
            return response.status_code, None
        try:
            tree = response.json().get("AT")
        except (ValueError, AttributeError):
            return response.status_code, None
        return response.status_code, tree if isinstance(tree, str) else None

    # -- commands ----------------------------------------------------------------------------
    def execute(
        self, command: Sequence[str] | str, shell: bool = False, timeout_s: float | None = None
    ) -> CommandResult:
        """Run a command to completion on the VM (POST /execute): argv list, or a string (split with
        shlex by the server unless `shell`). The server kills it after its own timeout (OSWorld 120 s)."""
        payload = {"command": command if isinstance(command, str) else list(command), "shell": shell}
        wait = timeout_s if timeout_s is not None else self.command_timeout_s + EXECUTE_SLACK_S
        response = self.request("POST", "/execute", json=payload, timeout_s=wait)
        if response.status_code != 200:
            # OSWorld answers 500 {status: error, message} when the command could not run (not found,
            # timed out): a failed command, as its own client reports it (returncode -1).
            return CommandResult(-1, "", _message(response))
        try:
            result = response.json()
            return CommandResult(
                int(result.get("returncode", -1)),
                str(result.get("output") or ""),
                str(result.get("error") or ""),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise VmRequestFailed(str(response.url), 200, f"not a command result: {exc}") from exc

    def run_pyautogui(self, code: str, timeout_s: float | None = None) -> CommandResult:
        """Run pyautogui source the way OSWorld does: `python -c "<prefix><code>"` through /execute."""
        return self.execute(["python", "-c", OSWORLD_PREFIX + code], shell=False, timeout_s=timeout_s)

    def run_python(self, code: str) -> CommandResult:
        """Run a Python script on the VM (POST /run_python; the server times it out after 30 s)."""
        wait = self.command_timeout_s + EXECUTE_SLACK_S
        response = self.request("POST", "/run_python", json={"code": code}, timeout_s=wait)
        try:
            result = response.json()
            code_ = result.get("return_code", result.get("returncode", -1))
            return CommandResult(
                int(code_ if code_ is not None else -1),
                str(result.get("output") or ""),
                str(result.get("error") or result.get("message") or ""),
            )
        except (ValueError, TypeError, AttributeError):
            return CommandResult(-1, "", _message(response))

    def launch(self, command: Sequence[str] | str, shell: bool = False) -> str:
        """Start a program on the VM without waiting for it (POST /setup/launch); the server's text.
        Raises VmRequestFailed when the server could not start it."""
        payload = {"command": command if isinstance(command, str) else list(command), "shell": shell}
        return self._ok(self.request("POST", "/setup/launch", json=payload)).text

    # -- files and windows -------------------------------------------------------------------
    def get_file(self, path: str) -> bytes | None:
        """A file's bytes from the VM (POST /file, form field file_path; ~ is expanded there);
        None when it does not exist or cannot be read."""
        response = self.request("POST", "/file", data={"file_path": path})
        return response.content if response.status_code == 200 else None

    def upload_file(self, path: str, data: bytes) -> str:
        """Write `data` to `path` on the VM (POST /setup/upload, multipart; parents are created)."""
        files = {"file_data": (path.rsplit("/", 1)[-1] or "file", data)}
        return self._ok(self.request("POST", "/setup/upload", data={"file_path": path}, files=files)).text

    def open_file(self, path: str, window_name: str | None = None, timeout_s: float = 30.0) -> str:
        """Open a file (or start an app by name) and wait until a window for it is active."""
        payload: dict[str, Any] = {"path": path, "timeout_seconds": timeout_s}
        if window_name:
            payload["window_name"] = window_name
        return self._ok(
            self.request("POST", "/setup/open_file", json=payload, timeout_s=timeout_s + EXECUTE_SLACK_S)
        ).text

    def activate_window(self, window_name: str, strict: bool = False, by_class: bool = False) -> str:
        """Raise and focus the window whose title (or class, `by_class`) matches `window_name`."""
        payload = {"window_name": window_name, "strict": strict, "by_class": by_class}
        return self._ok(self.request("POST", "/setup/activate_window", json=payload)).text

    def close_window(self, window_name: str, strict: bool = False, by_class: bool = False) -> str:
        """Close the window whose title (or class, `by_class`) matches `window_name`."""
        payload = {"window_name": window_name, "strict": strict, "by_class": by_class}
        return self._ok(self.request("POST", "/setup/close_window", json=payload)).text

    def close(self) -> None:
        """Close the HTTP connections; safe to call twice."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
