"""Domain rules hold at the network layer: each way around them that worked before (a server-side
redirect, other spellings of a host, WebSockets, workers, file: and other schemes without a host) is
stopped in a real Chromium, and the denied host's own request log stays empty.

Two HTTP servers play two hosts: `allowed` on 127.0.0.1 and `denied` on 127.0.0.2 (both loopback).
Every request they receive is logged; each test marks its URLs with a fresh token and looks for it.
A control case with rules that do not cover the host shows each spelling really reaches it.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from actions.browser import BrowserEnvironment
from actions.errors import BadInput
from actions.types import Blocked, Click, Executed

pytestmark = pytest.mark.browser

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# A page opens a WebSocket to ?to= and writes how it went into the title.
_WS_PAGE = """<title>ws</title><script>
const ws = new WebSocket(new URLSearchParams(location.search).get('to'));
ws.onopen = () => { document.title = 'open'; }; ws.onerror = () => { document.title = 'error'; };
</script>"""
# A page starts a worker that fetches ?fetch= and opens a WebSocket to ?to=, reporting both.
_WORKER_PAGE = """<title>worker</title><script>
const w = new Worker('/worker.js' + location.search);
w.onmessage = (e) => { document.title = e.data; };
</script>"""
_WORKER_JS = """const q = new URLSearchParams(location.search);
const result = {};
const report = (k, v) => { result[k] = v; if (Object.keys(result).length === 2) postMessage(JSON.stringify(result)); };
fetch(q.get('fetch')).then(() => report('fetch', 'loaded'), () => report('fetch', 'failed'));
const ws = new WebSocket(q.get('to'));
ws.onopen = () => report('ws', 'open'); ws.onerror = () => report('ws', 'error');
"""
# A full-width link at the top of the page, to ?to=.
_LINK_PAGE = """<title>links</title><body style="margin:0">
<a id="go" style="display:block;height:120px;background:#ddd">go</a>
<script>document.getElementById('go').href = new URLSearchParams(location.search).get('to');</script>"""


class _Handler(BaseHTTPRequestHandler):
    server: _LoggingServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.log.append(self.path)
        parts = urlsplit(self.path)
        to = parse_qs(parts.query).get("to", [""])[0]
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self._accept_websocket()
            return
        if parts.path == "/redirect":
            self._send(302, b"", extra={"Location": to})
            return
        if parts.path == "/meta-refresh":
            self._send(200, f'<meta http-equiv="refresh" content="0;url={to}"><title>meta</title>'.encode())
            return
        pages = {"/ws.html": _WS_PAGE, "/worker.html": _WORKER_PAGE, "/link.html": _LINK_PAGE}
        if parts.path == "/worker.js":
            self._send(200, _WORKER_JS.encode(), "text/javascript")
            return
        body = pages.get(parts.path, f"<title>{self.server.name} page</title><p>{self.path}</p>")
        self._send(200, body.encode())

    def _send(
        self, status: int, body: bytes, ctype: str = "text/html", extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": ctype, "Content-Length": str(len(body)), **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _accept_websocket(self) -> None:
        key = self.headers["Sec-WebSocket-Key"] + _WS_GUID
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header(
            "Sec-WebSocket-Accept", base64.b64encode(hashlib.sha1(key.encode()).digest()).decode()
        )
        self.end_headers()
        self.wfile.flush()
        try:  # hold the connection until the browser goes away
            while self.rfile.read1(4096):
                pass
        except OSError:
            pass
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _LoggingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, name: str) -> None:
        super().__init__((host, 0), _Handler)
        self.name = name
        self.log: list[str] = []
        self.origin = f"http://{host}:{self.server_address[1]}"
        self.port = self.server_address[1]

    def saw(self, token: str) -> list[str]:
        """The requests this server received whose path carries `token`."""
        return [path for path in list(self.log) if token in path]


def _serve(host: str, name: str) -> Iterator[_LoggingServer]:
    server = _LoggingServer(host, name)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def allowed() -> Iterator[_LoggingServer]:
    yield from _serve("127.0.0.1", "allowed")


@pytest.fixture(scope="module")
def denied() -> Iterator[_LoggingServer]:
    try:
        yield from _serve("127.0.0.2", "denied")
    except OSError as e:  # pragma: no cover - every Linux loopback has 127.0.0.0/8
        pytest.skip(f"cannot listen on 127.0.0.2: {e}")


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def deny_b(browser_factory: Callable[..., Any]) -> BrowserEnvironment:
    """A browser that must not reach 127.0.0.2."""
    env: BrowserEnvironment = browser_factory(deny_domains=("127.0.0.2",))
    env.reset()
    return env


@pytest.fixture
def unrelated_rules(browser_factory: Callable[..., Any]) -> BrowserEnvironment:
    """The control: domain rules (so every guard is on) that cover neither test host."""
    env: BrowserEnvironment = browser_factory(deny_domains=("example.invalid",))
    env.reset()
    return env


def _title_after(
    env: BrowserEnvironment, url: str, until: str = "document.title !== 'ws' && document.title !== 'worker'"
) -> str:
    assert isinstance(env.goto(url), Executed)
    env.page.wait_for_function(until, timeout=5000)
    return str(env.evaluate("document.title"))


# ----- redirects ----------------------------------------------------------------------------------


def test_server_redirect_to_a_denied_host_is_stopped_before_it_is_sent(
    deny_b: BrowserEnvironment, allowed: _LoggingServer, denied: _LoggingServer, token: str
) -> None:
    target = f"{denied.origin}/secret?{token}"
    outcome = deny_b.goto(f"{allowed.origin}/redirect?{token}&to={quote(target)}")
    assert isinstance(outcome, Blocked) and outcome.rule == "domain"
    assert f"blocked at {target}" in outcome.reason and "127.0.0.2 is on the deny list" in outcome.reason
    assert allowed.saw(token) and denied.saw(token) == []
    assert deny_b.page.url == "about:blank"


def test_redirect_chain_is_checked_at_every_hop(
    deny_b: BrowserEnvironment, allowed: _LoggingServer, denied: _LoggingServer, token: str
) -> None:
    # allowed -> allowed -> denied: the second hop is the one that must not leave.
    inner = f"{allowed.origin}/redirect?{token}-2&to={quote(f'{denied.origin}/secret?{token}')}"
    assert isinstance(deny_b.goto(f"{allowed.origin}/page?{token}-start"), Executed)
    deny_b.evaluate(f"location.href = {f'{allowed.origin}/link.html?{token}&to=' + quote(inner)!r}")
    deny_b.page.wait_for_function("document.title === 'links'")
    outcome = deny_b.execute(Click(x=100, y=50))
    assert isinstance(outcome, Blocked) and f"{denied.origin}/secret?{token}" in outcome.reason
    assert len(allowed.saw(token)) == 3  # the link page and both allowed hops
    assert denied.saw(token) == []
    assert deny_b.page.url.startswith(f"{allowed.origin}/link.html")  # the page stays


def test_client_side_redirects_are_stopped(
    deny_b: BrowserEnvironment, allowed: _LoggingServer, denied: _LoggingServer, token: str
) -> None:
    target = f"{denied.origin}/secret?{token}"
    deny_b.goto(f"{allowed.origin}/meta-refresh?{token}&to={quote(target)}")
    deny_b.settle()
    deny_b.evaluate(f"location.href = {target + '-js'!r}")
    deny_b.settle()
    deny_b.evaluate(f"window.open({target + '-popup'!r})")
    deny_b.settle()
    assert denied.saw(token) == []
    assert all(not p.url.startswith(denied.origin) for p in deny_b.pages)


def test_redirected_subresources_are_stopped(
    deny_b: BrowserEnvironment, allowed: _LoggingServer, denied: _LoggingServer, token: str
) -> None:
    deny_b.goto(f"{allowed.origin}/page?{token}")
    result = deny_b.evaluate(
        """async (url) => { try { await fetch(url); return 'loaded'; } catch (e) { return 'failed'; } }""",
        f"{allowed.origin}/redirect?{token}-fetch&to={quote(f'{denied.origin}/data?{token}')}",
    )
    assert result == "failed"
    assert allowed.saw(f"{token}-fetch") and denied.saw(token) == []


# ----- other spellings of a host ------------------------------------------------------------------

# Every one of these reaches 127.0.0.2 (the control below shows it).
_SPELLINGS = [
    "http://[::ffff:127.0.0.2]:{port}",
    "http://[::ffff:7f00:2]:{port}",
    "http://2130706434:{port}",
    "http://0x7f.0.0.2:{port}",
    "http://0177.0.0.2:{port}",
    "http://0x7f000002:{port}",
    "http://127.0.0.2.:{port}",
    "http://%31%32%37.0.0.2:{port}",
    "http://１２７．０．０．２:{port}",
]


@pytest.mark.parametrize("spelling", _SPELLINGS)
def test_spellings_of_a_denied_ip_are_blocked(
    deny_b: BrowserEnvironment,
    unrelated_rules: BrowserEnvironment,
    denied: _LoggingServer,
    token: str,
    spelling: str,
) -> None:
    url = spelling.format(port=denied.port) + f"/page?{token}"
    # Control: with rules that do not name it, this spelling does load the 127.0.0.2 server.
    assert isinstance(unrelated_rules.goto(url + "-control"), Executed)
    assert denied.saw(f"{token}-control")
    # goto refuses it up front; a page's own fetch of it is refused at the network layer.
    outcome = deny_b.goto(url)
    assert isinstance(outcome, Blocked) and "127.0.0.2 is on the deny list" in outcome.reason
    deny_b.goto("about:blank")
    deny_b.evaluate("(url) => fetch(url, {mode: 'no-cors'}).catch(() => null)", url + "-fetch")
    deny_b.settle()
    assert denied.saw(token) == [f"/page?{token}-control"]


def test_trailing_dot_localhost_is_blocked(
    browser_factory: Callable[..., Any],
    unrelated_rules: BrowserEnvironment,
    allowed: _LoggingServer,
    token: str,
) -> None:
    env: BrowserEnvironment = browser_factory(deny_domains=("localhost",))
    env.reset()
    url = f"http://localhost.:{allowed.port}/page?{token}"
    assert isinstance(unrelated_rules.goto(url + "-control"), Executed)  # localhost. is 127.0.0.1
    outcome = env.goto(url)
    assert isinstance(outcome, Blocked) and "localhost is on the deny list" in outcome.reason
    env.goto(f"{allowed.origin}/link.html?{token}-page&to={quote(url + '-click')}")
    outcome = env.execute(Click(x=100, y=50))
    assert isinstance(outcome, Blocked) and "localhost is on the deny list" in outcome.reason
    for spelling in ("LOCALHOST.", "LocalHost", "localhost.."):
        env.evaluate(
            "(url) => fetch(url, {mode: 'no-cors'}).catch(() => null)",
            f"http://{spelling}:{allowed.port}/page?{token}-fetch",
        )
    env.settle()
    assert [p for p in allowed.saw(token) if "control" not in p and "-page" not in p] == []


# ----- WebSockets and workers ---------------------------------------------------------------------


def test_websockets_to_a_denied_host_never_connect(
    deny_b: BrowserEnvironment, allowed: _LoggingServer, denied: _LoggingServer, token: str
) -> None:
    to_denied = f"ws://127.0.0.2:{denied.port}/ws?{token}"
    assert _title_after(deny_b, f"{allowed.origin}/ws.html?to={quote(to_denied)}") == "error"
    mapped = f"ws://[::ffff:127.0.0.2]:{denied.port}/ws?{token}-mapped"
    assert _title_after(deny_b, f"{allowed.origin}/ws.html?to={quote(mapped)}") == "error"
    # WebSocketStream is a second way to open one (Playwright's route_web_socket misses it).
    stream = deny_b.evaluate(
        """async (url) => { if (typeof WebSocketStream === 'undefined') return 'absent';
            try { await new WebSocketStream(url).opened; return 'open'; } catch (e) { return 'failed'; } }""",
        to_denied + "-stream",
    )
    assert stream in ("failed", "absent")
    # An allowed host still gets its WebSocket, through the gate.
    to_allowed = f"ws://127.0.0.1:{allowed.port}/ws?{token}-ok"
    assert _title_after(deny_b, f"{allowed.origin}/ws.html?to={quote(to_allowed)}") == "open"
    assert allowed.saw(f"/ws?{token}-ok")
    assert denied.saw(token) == []
    assert deny_b._gate is not None and f"127.0.0.2:{denied.port}" in deny_b._gate.refused


def test_workers_reach_no_denied_host(
    deny_b: BrowserEnvironment, allowed: _LoggingServer, denied: _LoggingServer, token: str
) -> None:
    query = f"?{token}&fetch={quote(f'{denied.origin}/from-worker?{token}')}"
    query += f"&to={quote(f'ws://127.0.0.2:{denied.port}/ws?{token}')}"
    title = _title_after(deny_b, f"{allowed.origin}/worker.html{query}")
    assert title == '{"fetch":"failed","ws":"error"}' or title == '{"ws":"error","fetch":"failed"}'
    assert denied.saw(token) == []


# ----- schemes without a network host ------------------------------------------------------------


def test_file_urls_are_refused_unless_allowed(
    browser_factory: Callable[..., Any], allowed: _LoggingServer, tmp_path: Path
) -> None:
    env: BrowserEnvironment = browser_factory(allow_domains=("127.0.0.1",))
    env.reset()
    for url in ("file:///etc/hostname", "FILE:///etc/hostname", "file://localhost/etc/hostname"):
        outcome = env.goto(url)
        assert isinstance(outcome, Blocked) and "file: URLs are refused" in outcome.reason, url
    assert env.page.url == "about:blank"
    # Refused at the network layer too: a browser-initiated load that skips goto's check.
    env.page.goto(f"{allowed.origin}/page")
    with pytest.raises(Exception, match=r"ERR_ABORTED|ERR_BLOCKED"):
        env.page.goto("file:///etc/hostname")
    assert not env.page.url.startswith("file:")
    # Allowed explicitly, file: pages load.
    page = tmp_path / "local.html"
    page.write_text("<title>local file</title>")
    with_file: BrowserEnvironment = browser_factory(allow_domains=("127.0.0.1", "file:"))
    with_file.reset()
    assert isinstance(with_file.goto(page.as_uri()), Executed)
    assert with_file.evaluate("document.title") == "local file"


@pytest.mark.parametrize(
    "url",
    [
        "data:text/html,<title>inline</title>",
        "javascript:document.title='x'",
        "chrome://version",
        "about:version",
    ],
)
def test_other_schemes_are_refused_as_pages(deny_b: BrowserEnvironment, url: str) -> None:
    outcome = deny_b.goto(url)
    assert isinstance(outcome, Blocked) and "URLs are refused" in outcome.reason
    assert deny_b.page.url == "about:blank"


def test_blank_pages_and_inline_content_still_work(
    deny_b: BrowserEnvironment, browser_factory: Callable[..., Any], allowed: _LoggingServer
) -> None:
    assert isinstance(deny_b.goto("about:blank"), Executed)
    deny_b.goto(f"{allowed.origin}/page")
    # data: and blob: inside a page (an image, a worker) are no navigation.
    assert (
        deny_b.evaluate(
            """async () => { const r = await fetch('data:text/plain,hi'); const t = await r.text();
            const w = new Worker(URL.createObjectURL(new Blob(["postMessage(1)"], {type: 'text/javascript'})));
            const m = await new Promise((res) => { w.onmessage = (e) => res(e.data); });
            return t + m; }"""
        )
        == "hi1"
    )
    env: BrowserEnvironment = browser_factory(deny_domains=("127.0.0.2",), allow_domains=("data:",))
    env.reset()
    assert isinstance(env.goto("data:text/html,<title>inline</title>"), Executed)


# ----- the start page -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["direct", "redirect", "file"])
def test_a_denied_start_url_is_an_error(
    browser_factory: Callable[..., Any], allowed: _LoggingServer, denied: _LoggingServer, token: str, how: str
) -> None:
    start = {
        "direct": f"http://2130706434:{denied.port}/start?{token}",
        "redirect": f"{allowed.origin}/redirect?{token}&to={quote(f'{denied.origin}/start?{token}')}",
        "file": "file:///etc/hostname",
    }[how]
    with pytest.raises(BadInput, match="the start page is refused"):
        browser_factory(allow_domains=("127.0.0.1",), start_url=start)
    assert denied.saw(token) == []
