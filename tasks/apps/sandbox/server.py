"""The sandbox web server: serves the apps under static/ (one folder each) on 127.0.0.1 and keeps their
state.

Each app `<name>` is a folder with `index.html`, assets and `seed.json` (`{"state": {...},
"fixtures": {"<fixture>": {top-level keys to replace}}}`). State lives here, server-side: the page's
JS posts its changes (`POST /<app>/api/state`, a patch of top-level keys) so evaluators can read it.
"""

from __future__ import annotations

import copy
import csv
import datetime
import io
import json
import mimetypes
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from actions.errors import QwenAgentError

APPS_DIR = Path(str(resources.files("tasks.apps.sandbox") / "static"))
APP_NAMES: tuple[str, ...] = ("flights", "signup", "settings", "shop", "records", "intake")
_SHARED = "shared"
# Column order of the records app's CSV export (also the table's column order).
RECORD_COLUMNS: tuple[str, ...] = ("id", "name", "email", "department", "role", "start_date")
INTAKE_FIELDS: tuple[str, ...] = ("name", "email", "department", "start_date")


class SandboxError(QwenAgentError):
    """The sandbox server could not start or was asked for an unknown app or fixture."""


class _AppState:
    """One app's seed, fixtures and live state (guarded by the server's lock)."""

    def __init__(self, folder: Path) -> None:
        seed = json.loads((folder / "seed.json").read_text(encoding="utf-8"))
        self.seed: dict[str, Any] = seed["state"]
        self.fixtures: dict[str, dict[str, Any]] = seed.get("fixtures", {})
        self.state: dict[str, Any] = copy.deepcopy(self.seed)

    def reset(self, fixture: str | None) -> None:
        state = copy.deepcopy(self.seed)
        if fixture:
            if fixture not in self.fixtures:
                known = ", ".join(sorted(self.fixtures)) or "none"
                raise SandboxError(f"unknown fixture {fixture!r} (known: {known})")
            state.update(copy.deepcopy(self.fixtures[fixture]))
        self.state = state


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def intake_errors(hire: dict[str, Any]) -> dict[str, str]:
    """The intake app's server-side validation: field -> the message the page shows under it."""
    errors: dict[str, str] = {}
    text = {k: str(hire.get(k) or "").strip() for k in INTAKE_FIELDS}
    if len(text["name"]) < 2:
        errors["name"] = "Enter the hire's full name."
    if not _EMAIL.fullmatch(text["email"]):
        errors["email"] = "Enter a valid email address, like ann@acme.test."
    if not text["department"]:
        errors["department"] = "Enter a department."
    try:
        datetime.date.fromisoformat(text["start_date"])
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text["start_date"]):
            raise ValueError
    except ValueError:
        errors["start_date"] = "Use the format YYYY-MM-DD."
    return errors


def records_csv(state: dict[str, Any]) -> str:
    """The records app's export: a header row then one row per record, in table order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RECORD_COLUMNS)
    for row in state.get("rows", []):
        writer.writerow([row.get(c, "") for c in RECORD_COLUMNS])
    return out.getvalue()


class SandboxServer:
    """Threaded HTTP server for the sandbox apps; `url` has no trailing slash, port 0 picks a free one."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._apps = {name: _AppState(APPS_DIR / name) for name in APP_NAMES}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise SandboxError("the sandbox server is not running; use it as a context manager")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def app_url(self, name: str) -> str:
        """The app's start page, e.g. http://127.0.0.1:PORT/flights/."""
        self._app(name)
        return f"{self.url}/{name}/"

    def state(self, name: str) -> dict[str, Any]:
        """A copy of the app's live state (what `GET /<app>/api/state` returns)."""
        with self._lock:
            return copy.deepcopy(self._app(name).state)

    def reset(self, name: str, fixture: str | None = None) -> None:
        """Back to the seed state, optionally with a named fixture applied."""
        with self._lock:
            self._app(name).reset(fixture)

    def _app(self, name: str) -> _AppState:
        if name not in self._apps:
            raise SandboxError(f"unknown sandbox app {name!r} (apps: {', '.join(APP_NAMES)})")
        return self._apps[name]

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        try:
            httpd = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        except OSError as e:
            raise SandboxError(f"cannot listen on {self.host}:{self.port} ({e}); pick another --port") from e
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="sandbox-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Request handling (called from the handler threads).

    def handle_api(self, app: str, endpoint: str, method: str, body: bytes) -> tuple[int, str, bytes]:
        """(status, content type, payload) for /<app>/api/<endpoint>."""
        with self._lock:
            st = self._app(app)
            if endpoint == "state" and method == "GET":
                return _json(HTTPStatus.OK, st.state)
            if endpoint == "state" and method == "POST":
                patch = json.loads(body or b"{}")
                if not isinstance(patch, dict):
                    return _json(HTTPStatus.BAD_REQUEST, {"error": "expected a JSON object"})
                st.state.update(patch)
                return _json(HTTPStatus.OK, st.state)
            if endpoint == "reset" and method == "POST":
                params = json.loads(body or b"{}") if body.strip() else {}
                try:
                    st.reset(params.get("fixture"))
                except SandboxError as e:
                    return _json(HTTPStatus.BAD_REQUEST, {"error": str(e)})
                return _json(HTTPStatus.OK, st.state)
            if app == "intake" and endpoint == "submit" and method == "POST":
                return _submit_hire(st, body)
            if app == "records" and endpoint == "export.csv" and method == "GET":
                text = records_csv(st.state)
                st.state.setdefault("exports", []).append(
                    {"filename": "employees.csv", "rows": len(st.state.get("rows", []))}
                )
                return HTTPStatus.OK, "text/csv; charset=utf-8", text.encode("utf-8")
        return _json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {method} /{app}/api/{endpoint}"})


def _submit_hire(st: _AppState, body: bytes) -> tuple[int, str, bytes]:
    """One hire from the intake form: stored with the next id, or 422 with the fields' messages."""
    try:
        hire = json.loads(body or b"{}")
    except json.JSONDecodeError:
        hire = None
    if not isinstance(hire, dict):
        return _json(HTTPStatus.BAD_REQUEST, {"error": "expected a JSON object"})
    errors = intake_errors(hire)
    if errors:
        return _json(HTTPStatus.UNPROCESSABLE_ENTITY, {"errors": errors})
    record = {"id": st.state["next_id"], **{k: str(hire[k]).strip() for k in INTAKE_FIELDS}}
    st.state["next_id"] += 1
    st.state["hires"].append(record)
    return _json(HTTPStatus.OK, record)


def _json(status: int, value: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(value, ensure_ascii=False).encode("utf-8")


_INDEX = """<!doctype html><html><head><meta charset="utf-8"><title>Sandbox apps</title>
<link rel="stylesheet" href="/shared/portal.css"></head><body><main><h1>Sandbox apps</h1><ul>{items}</ul>
</main></body></html>"""


def _handler_for(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the agent's own log says what happened

        def _send(self, status: int, ctype: str, payload: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _route(self, method: str) -> None:
            path = urlsplit(self.path).path
            parts = [p for p in path.split("/") if p]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if not parts:
                items = "".join(f'<li><a href="/{n}/">{n}</a></li>' for n in APP_NAMES)
                return self._send(200, "text/html; charset=utf-8", _INDEX.format(items=items).encode())
            app = parts[0]
            if app not in APP_NAMES and app != _SHARED:
                return self._send(404, "text/plain", b"not found")
            if len(parts) >= 3 and parts[1] == "api" and app != _SHARED:
                status, ctype, payload = server.handle_api(app, parts[2], method, body)
                extra = {}
                if ctype.startswith("text/csv"):
                    extra["Content-Disposition"] = 'attachment; filename="employees.csv"'
                return self._send(status, ctype, payload, extra)
            if method != "GET":
                return self._send(405, "text/plain", b"method not allowed")
            if len(parts) == 1 and not path.endswith("/"):
                return self._send(301, "text/plain", b"", {"Location": f"/{app}/"})
            rel = "/".join(parts[1:]) or "index.html"
            return self._static(app, rel)

        def _static(self, app: str, rel: str) -> None:
            root = (APPS_DIR / app).resolve()
            file = (root / rel).resolve()
            if root not in file.parents or not file.is_file() or file.name == "seed.json":
                return self._send(404, "text/plain", b"not found")
            ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
                ctype += "; charset=utf-8"
            self._send(200, ctype, file.read_bytes())

        def do_GET(self) -> None:
            self._route("GET")

        def do_HEAD(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler
