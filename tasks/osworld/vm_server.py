"""An OSWorld-compatible in-VM HTTP server on THIS machine's X display, for tests and for turning a
throwaway Xvfb session or container into a "VM" that actions.vm_environment.VmEnvironment (or
OSWorld's own PythonController) can drive.

    python -m tasks.osworld.vm_server --port 5000 [--host 127.0.0.1] [--display :99]

WARNING: like OSWorld's server it runs any command it is sent, without authentication. It binds
127.0.0.1 unless told otherwise and warns when bound elsewhere; never expose it on a machine you care
about. Unlike OSWorld's, it refuses requests that web pages send (any with an `Origin` header, and any
whose Host is a name other than localhost: a page rebound to 127.0.0.1), so a page open in a browser
on the same machine cannot run commands through it; address it by IP or localhost.

On start it prints one line, `vm_server listening on http://HOST:PORT` (with --port 0 the
system picks the port), then serves until SIGTERM/SIGINT, when it also stops what /setup/launch started.

Endpoints and shapes follow OSWorld's desktop_env/server/main.py:
- GET /screenshot: PNG of the whole X screen (no pointer pasted in, unlike OSWorld's).
- POST /screen_size (GET too): {"width", "height"}. GET /cursor_position: [x, y].
- GET /accessibility: {"AT": xml}, a window-level tree only (tasks.osworld.vm_x11; no AT-SPI):
  frames by title with cp:screencoord/cp:size, so element_at names the window, never a widget.
  With --no-accessibility it answers 501, as a VM without a tree does.
- POST /execute and /setup/execute: JSON {command, shell} -> {status, output, error, returncode};
  500 {status: "error", message} when the command cannot run or outlives --command-timeout.
- POST /run_python: JSON {code} -> {status, message, need_more, output, error, return_code}.
- POST /setup/launch: JSON {command, shell} -> text; the process is not waited for.
- POST /file: form file_path -> the bytes (404 JSON when missing). POST /setup/upload: multipart
  file_path + file_data. POST /setup/open_file, /setup/activate_window, /setup/close_window
  (wmctrl). GET /platform. Anything else: 404.

Commands run with $DISPLAY set to the served display, in the server's working folder, with the
folder of --bin-dir (default: this interpreter's folder) first on PATH: OSWorld sends pyautogui steps
as `python -c ...`, so `python` must be an interpreter that has pyautogui.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import ipaddress
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from actions.processes import stop_process
from tasks.osworld import vm_x11

Answer = tuple[int, str, bytes]  # status, content type, body


def web_page_request(origin: str | None, host: str | None) -> str | None:
    """Why a request must be refused because a web page sent it, else None.

    The server runs any command it is sent, so a page in any browser on this machine must not reach
    it: a cross-origin "simple" POST (text/plain or multipart, no preflight) would, and so would a
    page whose domain is rebound to 127.0.0.1. Browsers send `Origin` on every POST; OSWorld's
    controllers (python requests) never do. A rebound page's Host is its domain name; ours are IP
    literals or localhost."""
    if origin is not None:
        return f"refused: a request from a web page (Origin {origin[:80]})"
    name = urlsplit(f"//{host}").hostname if host else None
    if name and name != "localhost":
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return f"refused: Host {host!r} is a name, not this machine's address (DNS rebinding)"
    return None


def _json(status: int, payload: Any) -> Answer:
    return status, "application/json", json.dumps(payload).encode()


def _text(status: int, text: str) -> Answer:
    return status, "text/plain; charset=utf-8", text.encode()


def _expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


class VmServer:
    """The endpoints over one X display (module docstring); `serve()` blocks, `shutdown()` stops it
    and the programs /setup/launch started."""

    def __init__(
        self,
        display: str,
        host: str = "127.0.0.1",
        port: int = 5000,
        command_timeout_s: float = 120.0,
        bin_dir: str | None = None,
        accessibility: bool = True,
    ) -> None:
        self.display = display
        self.command_timeout_s = command_timeout_s
        self.accessibility = accessibility
        bin_dir = bin_dir or os.path.dirname(sys.executable)
        self.env = {
            **os.environ,
            "DISPLAY": display,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        }
        self.launched: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlsplit(self.path).path
                refusal = web_page_request(self.headers.get("Origin"), self.headers.get("Host"))
                try:
                    if refusal is not None:
                        status, kind, data = _json(403, {"status": "error", "message": refusal})
                    else:
                        status, kind, data = server.handle(
                            method, path, self.headers.get("Content-Type", ""), body
                        )
                except Exception as exc:  # a handler bug: answer 500 like Flask, keep serving
                    status, kind, data = _json(
                        500, {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
                    )
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"

    # -- routing -----------------------------------------------------------------------------
    def handle(self, method: str, path: str, content_type: str, body: bytes) -> Answer:
        """One request -> (status, content type, body)."""
        routes: dict[tuple[str, str], Callable[[], Answer]] = {
            ("GET", "/screenshot"): lambda: (200, "image/png", vm_x11.screenshot_png(self.display)),
            ("GET", "/screen_size"): self._screen_size,
            ("POST", "/screen_size"): self._screen_size,
            ("GET", "/cursor_position"): lambda: _json(200, list(vm_x11.cursor_position(self.display))),
            ("GET", "/accessibility"): self._accessibility,
            ("GET", "/platform"): lambda: _text(200, "Linux"),
            ("POST", "/execute"): lambda: self._execute(_body_json(body)),
            ("POST", "/setup/execute"): lambda: self._execute(_body_json(body)),
            ("POST", "/run_python"): lambda: self._run_python(_body_json(body)),
            ("POST", "/setup/launch"): lambda: self._launch(_body_json(body)),
            ("POST", "/file"): lambda: self._file(_form(content_type, body)),
            ("POST", "/setup/upload"): lambda: self._upload(_form(content_type, body)),
            ("POST", "/setup/open_file"): lambda: self._open_file(_body_json(body)),
            ("POST", "/setup/activate_window"): lambda: self._window(_body_json(body), "a"),
            ("POST", "/setup/close_window"): lambda: self._window(_body_json(body), "c"),
        }
        route = routes.get((method, path))
        if route is None:
            return _json(404, {"status": "error", "message": f"no route {method} {path}"})
        return route()

    def _screen_size(self) -> Answer:
        width, height = vm_x11.screen_size(self.display)
        return _json(200, {"width": width, "height": height})

    def _accessibility(self) -> Answer:
        if not self.accessibility:
            return _text(501, "Currently not implemented: this server has no accessibility tree.")
        return _json(200, {"AT": vm_x11.window_tree(self.display)})

    # -- commands ----------------------------------------------------------------------------
    def _command(self, data: dict[str, Any]) -> tuple[list[str] | str, bool]:
        shell = bool(data.get("shell", False))
        command = data.get("command", "" if shell else [])
        if isinstance(command, str) and not shell:
            command = shlex.split(command)
        if isinstance(command, list):
            command = [os.path.expanduser(a) if a.startswith("~/") else a for a in map(str, command)]
        return command, shell

    def _execute(self, data: dict[str, Any]) -> Answer:
        command, shell = self._command(data)
        try:
            result = subprocess.run(
                command, shell=shell, env=self.env, capture_output=True, text=True,
                timeout=self.command_timeout_s, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except Exception as exc:  # not found, timed out: OSWorld's 500 answer
            return _json(500, {"status": "error", "message": str(exc)})
        return _json(
            200,
            {
                "status": "success",
                "output": result.stdout,
                "error": result.stderr,
                "returncode": result.returncode,
            },
        )

    def _run_python(self, data: dict[str, Any]) -> Answer:
        code = data.get("code")
        if not code:
            return _json(400, {"status": "error", "message": "Code not supplied!"})
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as script:
            script.write(str(code))
        try:
            result = subprocess.run(
                [sys.executable, script.name], env=self.env, capture_output=True, text=True, timeout=30,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return _json(500, {"status": "error", "message": "Execution timeout", "error": "TimeoutExpired",
                               "need_more": False, "output": None})  # fmt: skip
        finally:
            os.unlink(script.name)
        error = result.stderr or (
            f"Process exited with code {result.returncode}" if result.returncode else ""
        )
        message = "\n".join(t for t in (result.stdout, error) if t)
        return _json(200, {
            "status": "success" if result.returncode == 0 else "error", "message": message,
            "need_more": False, "output": result.stdout, "error": error, "return_code": result.returncode,
        })  # fmt: skip

    def _launch(self, data: dict[str, Any]) -> Answer:
        command, shell = self._command(data)
        try:
            process = subprocess.Popen(
                command, shell=shell, env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except Exception as exc:
            return _json(500, {"status": "error", "message": str(exc)})
        with self._lock:
            self.launched = [p for p in self.launched if p.poll() is None] + [process]
        shown = command if isinstance(command, str) else " ".join(command)
        return _text(200, f"{shown} launched successfully")

    # -- files and windows -------------------------------------------------------------------
    def _file(self, form: dict[str, str | bytes]) -> Answer:
        raw = form.get("file_path")
        if not isinstance(raw, str):
            return _json(400, {"error": "file_path is required"})
        path = Path(_expand(raw))
        try:
            return 200, "application/octet-stream", path.read_bytes()
        except FileNotFoundError:
            return _json(404, {"error": "File not found"})
        except OSError as exc:
            return _json(500, {"error": f"Failed to serve file: {exc}"})

    def _upload(self, form: dict[str, str | bytes]) -> Answer:
        raw, data = form.get("file_path"), form.get("file_data")
        if not isinstance(raw, str) or data is None:
            return _json(400, {"error": "file_path and file_data are required"})
        path = Path(_expand(raw))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data if isinstance(data, bytes) else data.encode())
        except OSError as exc:
            return _json(500, {"error": f"Failed to upload file: {exc}"})
        return _text(200, f"File Uploaded: {path.stat().st_size} bytes")

    def _wmctrl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["wmctrl", *args], env=self.env, capture_output=True, text=True, timeout=10)

    def _open_file(self, data: dict[str, Any]) -> Answer:
        raw = data.get("path")
        if not raw:
            return _text(400, "Path not supplied!")
        timeout_s = float(data.get("timeout_seconds", 30))
        path = Path(_expand(str(raw)))
        if path.exists():
            self._launch({"command": ["xdg-open", str(path)]})
            candidates = [data.get("window_name") or path.name, path.stem]
        elif shutil.which(str(raw)):
            self._launch({"command": [str(raw)]})
            candidates = [data.get("window_name") or str(raw)]
        else:
            return _text(404, f"Application/file not found: {raw}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self._wmctrl("-l").stdout.splitlines():
                if any(c and c in line for c in candidates):
                    self._wmctrl("-i", "-a", line.split()[0])
                    return _text(200, "File opened and window activated successfully")
            time.sleep(0.5)
        return _text(500, f"Failed to find window for {candidates} within {timeout_s:g} seconds.")

    def _window(self, data: dict[str, Any], verb: str) -> Answer:
        name = data.get("window_name")
        if not name:
            return _text(400, "window_name required")
        flags = ("x" if data.get("by_class") else "") + ("F" if data.get("strict") else "")
        self._wmctrl(f"-{flags}{verb}", str(name))
        return _text(200, "Window activated successfully" if verb == "a" else "Window closed successfully.")

    # -- lifecycle ---------------------------------------------------------------------------
    def serve(self) -> None:
        """Answer requests until shutdown()."""
        self.httpd.serve_forever(poll_interval=0.1)

    def shutdown(self) -> None:
        """Stop serving (from another thread) and stop every program /setup/launch started."""
        self.httpd.shutdown()
        self.httpd.server_close()
        with self._lock:
            launched, self.launched = self.launched, []
        for process in launched:
            stop_process(process, timeout_s=3.0)


def _body_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _form(content_type: str, body: bytes) -> dict[str, str | bytes]:
    """A urlencoded or multipart form: text fields as str, uploaded files as bytes."""
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        fields: dict[str, str | bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(payload, bytes):
                continue
            fields[name] = payload if part.get_filename() else payload.decode("utf-8", "replace")
        return fields
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (OSWorld: 5000; 0 = any free port)")
    parser.add_argument("--display", default=os.environ.get("DISPLAY"), help="X display (default $DISPLAY)")
    parser.add_argument("--command-timeout", type=float, default=120.0, help="seconds a command may run")
    parser.add_argument("--bin-dir", default=None, help="folder put first on PATH for commands")
    parser.add_argument("--no-accessibility", action="store_true", help="answer 501 on /accessibility")
    args = parser.parse_args(argv)
    if not args.display:
        parser.error("no X display: set DISPLAY or pass --display :N")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"WARNING: vm_server runs any command it is sent; bound to {args.host}", file=sys.stderr)
    server = VmServer(
        args.display, args.host, args.port, args.command_timeout, args.bin_dir, not args.no_accessibility
    )
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    print(f"vm_server listening on {server.url}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    server.shutdown()


if __name__ == "__main__":
    main()
