"""Domain rules without a browser: hosts read the way a browser reads them, rules normalised the same
way, schemes without a network host, the start-URL check, and the WebSocket gate over plain sockets.
One test compares our host parsing with Chromium's own URL parser."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actions.domains import DomainPolicy, WebSocketGate, normalise_host, normalise_rule, split_url
from actions.errors import BadInput
from tasks.environments import check_start_url

unit = pytest.mark.unit


# ----- hosts ----------------------------------------------------------------------------------------


@unit
@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("example.com", "example.com"),
        ("EXAMPLE.Com", "example.com"),
        ("localhost.", "localhost"),
        ("LOCALHOST..", "localhost"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("faß.de", "xn--fa-hia.de"),  # UTS #46 non-transitional, as browsers: ß stays ß
        ("ｅｘａｍｐｌｅ．ｃｏｍ", "example.com"),  # full-width letters and stop
        ("a_b.example", "a_b.example"),
        ("%65xample.com", "example.com"),
        # IPv4, however written
        ("127.0.0.2", "127.0.0.2"),
        ("127.0.0.2.", "127.0.0.2"),
        ("2130706434", "127.0.0.2"),
        ("0x7f000002", "127.0.0.2"),
        ("0x7f.0.0.2", "127.0.0.2"),
        ("0X7F.0.0.2", "127.0.0.2"),
        ("0177.0.0.2", "127.0.0.2"),
        ("0177.0.0.02", "127.0.0.2"),
        ("127.2", "127.0.0.2"),
        ("127.0.2", "127.0.0.2"),
        ("0x7f.1", "127.0.0.1"),
        ("0x", "0.0.0.0"),
        ("%31%32%37.0.0.2", "127.0.0.2"),
        ("１２７．０．０．２", "127.0.0.2"),
        ("１２７。０。０。２", "127.0.0.2"),  # ideographic full stops
        # IPv6: IPv4-mapped is the IPv4 address; the rest in compressed form
        ("[::ffff:127.0.0.2]", "127.0.0.2"),
        ("[::FFFF:7f00:2]", "127.0.0.2"),
        ("[0:0:0:0:0:ffff:7f00:2]", "127.0.0.2"),
        ("[::1]", "[::1]"),
        ("[0:0:0:0:0:0:0:1]", "[::1]"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
    ],
)
def test_hosts_are_normalised_as_the_browser_reads_them(written: str, normal: str) -> None:
    assert normalise_host(written) == normal


@unit
@pytest.mark.parametrize(
    "written",
    ["", ".", "a b", "a<b", "256.0.0.1", "1.2.3.4.5", "0x100000000", "4294967296", "1.256.0.0", "09.0.0.1",
     "1..2.3", "[::1", "[fe80::1%eth0]", "[1.2.3.4]", "ex%ample.com", "%zz.com"],
)  # fmt: skip
def test_hosts_no_browser_accepts_are_errors(written: str) -> None:
    with pytest.raises(ValueError):
        normalise_host(written)


@unit
@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("http://example.com/a", ("http", "example.com", 80)),
        ("HTTPS://User:pw@Example.COM:0443/x", ("https", "example.com", 443)),
        ("ws://[::ffff:127.0.0.2]:81/s", ("ws", "127.0.0.2", 81)),
        ("wss://host", ("wss", "host", 443)),
        # the authority ends at \ for special schemes: this is evil.test, not good.test
        ("http://evil.test\\@good.test/", ("http", "evil.test", 80)),
        ("http://good.test@evil.test/", ("http", "evil.test", 80)),
        ("http:\\\\evil.test/", ("http", "evil.test", 80)),
        ("http:evil.test", ("http", "evil.test", 80)),
        ("http://ev\til.te\nst/", ("http", "evil.test", 80)),
        ("  http://evil.test/  ", ("http", "evil.test", 80)),
        ("https://a.test?x@b.test", ("https", "a.test", 443)),
        ("https://a.test#@b.test", ("https", "a.test", 443)),
        ("file:///etc/hostname", ("file", None, None)),
        ("javascript:alert(1)", ("javascript", None, None)),
        ("example.com/path", ("", None, None)),
    ],
)
def test_urls_are_split_as_the_browser_splits_them(
    url: str, parts: tuple[str, str | None, int | None]
) -> None:
    assert split_url(url) == parts


@unit
@pytest.mark.parametrize("url", ["http://", "http://a.test:port/", "http://a.test:65536/", "http://[::1/"])
def test_network_urls_without_a_valid_host_or_port_are_errors(url: str) -> None:
    with pytest.raises(ValueError):
        split_url(url)


# ----- rules ----------------------------------------------------------------------------------------


@unit
@pytest.mark.parametrize(
    ("rule", "normal"),
    [
        ("Example.COM", "example.com"),
        (".example.com", "example.com"),
        ("*.Corp.Example", "*.corp.example"),
        ("localhost.", "localhost"),
        ("127.0.0.1:08000", "127.0.0.1:8000"),
        ("2130706434", "127.0.0.2"),
        ("::ffff:127.0.0.2", "127.0.0.2"),
        ("[::ffff:127.0.0.2]:81", "127.0.0.2:81"),
        ("::1", "[::1]"),
        ("[::1]:8080", "[::1]:8080"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("http://127.0.0.1:8000/path", "127.0.0.1:8000"),
        ("https://Example.com/", "example.com"),
        ("file:", "file:"),
        ("DATA:", "data:"),
    ],
)
def test_rules_are_normalised_like_hosts(rule: str, normal: str) -> None:
    assert normalise_rule(rule) == normal


@unit
@pytest.mark.parametrize("rule", ["foo bar", "256.1.1.1", "host:port", "127.0.0.1:99999", "http://"])
def test_a_rule_that_names_no_host_is_bad_input(rule: str) -> None:
    with pytest.raises(BadInput, match="names no host"):
        DomainPolicy(deny=(rule,))


@unit
@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/", "http://LOCALHOST./", "http://localhost..:81/", "http://sub.localhost./",
        "http://127.0.0.2/", "http://[::ffff:127.0.0.2]/", "http://[::ffff:7f00:2]:8080/",
        "http://2130706434/", "http://0x7f.0.0.2/", "http://0177.0.0.2/", "http://127.2/",
        "http://%31%32%37.0.0.2/", "http://１２７．０．０．２/", "ws://127.0.0.2:9/", "wss://[::ffff:7f00:2]/",
        "http://evil.test\\@good.test/", "https://xn--bcher-kva.de/", "https://BÜCHER.de./",
    ],
)  # fmt: skip
def test_every_spelling_of_a_denied_host_is_denied(url: str) -> None:
    policy = DomainPolicy(deny=("localhost", "127.0.0.2", "evil.test", "bücher.de"))
    assert "deny list" in (policy.verdict(url) or ""), url
    assert "deny list" in (policy.verdict(url, navigation=True) or ""), url


@unit
def test_the_allow_list_reads_hosts_the_same_way() -> None:
    policy = DomainPolicy(allow=("127.0.0.1", "*.corp.example"))
    for url in (
        "http://127.0.0.1:8000/",
        "http://2130706433/",
        "http://[::ffff:127.0.0.1]/",
        "https://wiki.CORP.example./",
    ):
        assert policy.verdict(url) is None, url
    for url in ("http://127.0.0.2/", "http://2130706434/", "https://corp.example/", "http://localhost/"):
        assert "not on the allow list" in (policy.verdict(url) or ""), url
    assert "not a valid IPv4" in (policy.verdict("http://256.0.0.1/") or "")


@unit
def test_schemes_without_a_host_need_a_rule_of_their_own() -> None:
    policy = DomainPolicy(deny=("evil.test",))
    for url in ("file:///etc/hostname", "FILE:///x", "javascript:alert(1)", "chrome://version", "about:version",
                "view-source:http://a.test/", "blob:null/1234", "filesystem:http://a.test/temporary/x"):  # fmt: skip
        assert "URLs are refused" in (policy.verdict(url, navigation=True) or ""), url
    assert "URLs are refused" in (policy.verdict("file:///etc/hostname") or "")  # a file: subresource too
    for url in ("about:blank", "ABOUT:BLANK", "about:blank#top", "about:srcdoc", "http://a.test/"):
        assert policy.verdict(url, navigation=True) is None, url
    # data: and blob: inside a page are no navigation; as pages of their own they are.
    assert policy.verdict("data:text/html,hi") is None
    assert policy.verdict("blob:https://a.test/1234") is None
    assert "data: URLs are refused" in (policy.verdict("data:text/html,hi", navigation=True) or "")
    assert policy.verdict("blob:https://a.test/1234", navigation=True) is None
    assert "deny list" in (policy.verdict("blob:https://evil.test/1234", navigation=True) or "")
    # A scheme rule lets them in without making the host allow list a list of one.
    with_file = DomainPolicy(allow=("file:",))
    assert with_file.verdict("file:///etc/hostname", navigation=True) is None
    assert with_file.verdict("https://anywhere.example/") is None
    assert "URLs are refused" in (with_file.verdict("data:text/html,x", navigation=True) or "")
    assert "file: URLs are on the deny list" in (
        DomainPolicy(allow=("file:",), deny=("file:",)).verdict("file:///x") or ""
    )
    # No rules, no policy: everything loads, as before.
    assert DomainPolicy().verdict("file:///etc/hostname", navigation=True) is None


# ----- the start URL --------------------------------------------------------------------------------


@unit
def test_start_urls_follow_the_rules() -> None:
    rules = DomainPolicy(allow=("127.0.0.1",))
    assert check_start_url(" http://127.0.0.1:8000/ ", rules) == "http://127.0.0.1:8000/"
    assert check_start_url("about:blank", rules) == "about:blank"
    for url in ("file:///etc/hostname", "data:text/html,hi", "about:version", "http://2130706434/"):
        with pytest.raises(BadInput, match="the start page is refused"):
            check_start_url(url, rules)
    assert check_start_url("file:///etc/hostname", DomainPolicy(allow=("127.0.0.1", "file:"))).startswith(
        "file:"
    )
    # Without rules, pages without a network host are fine, as they always were.
    assert check_start_url("file:///etc/hostname") == "file:///etc/hostname"
    with pytest.raises(BadInput, match="not a valid IPv4"):
        check_start_url("http://256.0.0.1/")
    with pytest.raises(BadInput, match=r"did you mean http://example\.org/shop"):
        check_start_url("example.org/shop", rules)


# ----- the WebSocket gate ---------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[Callable[[str], tuple[int, list[bytes]]]]:
    """`listen(host)` -> (port, received): a TCP server on `host` that echoes and logs what it gets."""
    servers: list[socket.socket] = []

    def listen(host: str) -> tuple[int, list[bytes]]:
        server = socket.create_server((host, 0))
        servers.append(server)
        received: list[bytes] = []

        def serve() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    received.append(b"")  # a connection arrived
                    while data := conn.recv(4096):
                        received.append(data)
                        conn.sendall(data)

        threading.Thread(target=serve, daemon=True).start()
        return server.getsockname()[1], received

    yield listen
    for server in servers:
        server.close()


def _connect_through(gate: WebSocketGate, target: str) -> tuple[socket.socket, bytes]:
    port = int(gate.address.rpartition(":")[2])
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        data = sock.recv(4096)
        if not data:
            break
        reply += data
    return sock, reply


@unit
def test_the_gate_tunnels_to_allowed_hosts_and_connects_nothing_else(listener: Callable[[str], Any]) -> None:
    allowed_port, allowed_got = listener("127.0.0.1")
    denied_port, denied_got = listener("127.0.0.2")
    gate = WebSocketGate(DomainPolicy(deny=("127.0.0.2",)))
    try:
        for target in (
            f"127.0.0.2:{denied_port}",
            f"[::ffff:7f00:2]:{denied_port}",
            f"2130706434:{denied_port}",
        ):
            sock, reply = _connect_through(gate, target)
            assert reply.startswith(b"HTTP/1.1 403"), target
            assert sock.recv(10) == b""  # and hung up
            sock.close()
        sock, reply = _connect_through(gate, f"127.0.0.1:{allowed_port}")
        assert reply.startswith(b"HTTP/1.1 200")
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
        sock.close()
        plain = socket.create_connection(("127.0.0.1", int(gate.address.rpartition(":")[2])), timeout=5)
        plain.sendall(b"GET http://127.0.0.2/ HTTP/1.1\r\nHost: 127.0.0.2\r\n\r\n")
        assert plain.recv(100).startswith(b"HTTP/1.1 405")  # the gate carries tunnels only
        plain.close()
    finally:
        gate.close()
    assert denied_got == []  # the denied listener never saw a connection
    assert allowed_got[:2] == [b"", b"ping"]
    assert len(gate.refused) == 3


# ----- our reading against Chromium's -------------------------------------------------------------


@pytest.mark.browser
def test_our_host_reading_agrees_with_chromium(browser_factory: Callable[..., Any]) -> None:
    urls = [
        "http://LOCALHOST./", "http://2130706434/", "http://0x7f.0.0.2/", "http://0177.0.0.2/", "http://127.2/",
        "http://0x7f000002/", "http://127.0.0.2./", "http://%31%32%37.0.0.2/", "http://１２７．０．０．２/",
        "http://１２７。０。０。２/", "http://[::ffff:127.0.0.2]/", "http://[0:0:0:0:0:ffff:7f00:2]/",
        "http://[::1]/", "http://bücher.de/", "http://faß.de/", "http://ｅｘａｍｐｌｅ．ｃｏｍ/",
        "http://evil.test\\@good.test/", "http://good.test@evil.test/", "http:evil.test", "http://ev\til.test/",
        "http://a_b.example/", "http://0x/", "http://EXAMPLE.com../",
    ]  # fmt: skip
    env = browser_factory()
    hosts = env.evaluate("(urls) => urls.map((u) => new URL(u).hostname)", urls)
    for url, chromium_host in zip(urls, hosts, strict=True):
        assert split_url(url)[1] == normalise_host(chromium_host), (url, chromium_host)
    # (Chromium keeps 'http://a b/' as the host 'a%20b', which no resolver knows; we refuse it.)
    invalid = ["http://256.0.0.1/", "http://1.2.3.4.5/", "http://0x100000000/", "http://09.0.0.1/"]
    parsed = env.evaluate(
        "(urls) => urls.map((u) => { try { return new URL(u).hostname; } catch { return null; } })", invalid
    )
    assert parsed == [None] * len(invalid)
    for url in invalid:
        with pytest.raises(ValueError):
            split_url(url)
