"""Domain allow/deny rules for the browser: which URLs a page may load.

A rule is a host name ("example.com" also covers its subdomains; "*.example.com" only them),
optionally with a port ("127.0.0.1:8000"), or a scheme ("file:") for pages that have no network host.
Deny wins over allow; an empty host allow list allows every host.

Hosts are compared the way the browser connects to them (WHATWG URL host parsing), on both sides:
lower case, IDNA (punycode), no trailing dot, an IPv4 address in dotted decimal however it was written
(2130706434, 0x7f.0.0.1, 0177.0.0.1, 127.1) and an IPv4-mapped IPv6 address ([::ffff:127.0.0.1])
as that IPv4 address. While a policy is active, a URL without a network host (file:, chrome:,
javascript:, a data: page) is refused unless a rule allows its scheme; about:blank and about:srcdoc
always load, and so do data: and blob: inside a page (images, scripts, workers).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import socket
import unicodedata
from urllib.parse import unquote

from pydantic import field_validator

from actions.errors import BadInput
from actions.types import Frozen

# Schemes with a network host, and their default ports.
NETWORK_SCHEMES = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# Inside a page these carry no host of their own: inline content, the page's own objects.
_INNER_SCHEMES = ("data", "blob")
_ALWAYS_ABOUT = ("blank", "srcdoc")

_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_SCHEME_RULE = re.compile(r"[a-z][a-z0-9+.\-]*:")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
# WHATWG forbidden domain code points (after percent-decoding and IDNA).
_FORBIDDEN = frozenset(" #%/:<>?@[\\]^|\x7f" + "".join(map(chr, range(0x20))))
_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")


# ----- host normalisation ---------------------------------------------------------------------


def _ipv6(text: str) -> str:
    if "%" in text:  # a zone id is no part of a URL host
        raise ValueError(f"[{text}] is not an IPv6 address")
    address = ipaddress.IPv6Address(text)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return f"[{address.compressed}]"


def _ipv4_number(part: str) -> int:
    if part.startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part[1:], 8)
    return int(part, 10)


def _ipv4(domain: str) -> str | None:
    """Dotted decimal when `domain` ends in a number (WHATWG: then it must be an IPv4 address)."""
    parts = domain.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not _NUMBER.fullmatch(parts[-1]):
        return None
    if len(parts) > 4 or "" in parts:
        raise ValueError(f"{domain} is not a valid IPv4 address")
    try:
        numbers = [_ipv4_number(p) for p in parts]
    except ValueError:
        raise ValueError(f"{domain} is not a valid IPv4 address") from None
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{domain} is not a valid IPv4 address")
    value = numbers[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(numbers[:-1]))
    return str(ipaddress.IPv4Address(value))


def _map_domain(domain: str) -> str:
    """UTS #46 mapping, as browsers do: lower case, full-width and compatibility forms, ideographic
    full stops. idna comes with requests (which transformers needs); NFKC is the near fallback."""
    try:
        from idna import uts46_remap
    except ImportError:  # pragma: no cover
        return unicodedata.normalize("NFKC", domain).lower().replace("\u3002", ".")
    return str(uts46_remap(domain, std3_rules=False, transitional=False))


@functools.lru_cache(maxsize=4096)  # every request of the browser passes here
def normalise_host(host: str) -> str:
    """`host` (as written in a URL) in the form the browser connects to; ValueError when no browser
    would accept it. 'LOCALHOST.' -> 'localhost', '2130706434' -> '127.0.0.2', '[::ffff:7f00:2]' ->
    '127.0.0.2', 'bücher.de' -> 'xn--bcher-kva.de', '[::1]' stays '[::1]'."""
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError(f"{host} is not an IPv6 address")
        return _ipv6(host[1:-1])
    domain = _map_domain(unquote(host, errors="strict"))
    labels = [
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        for label in domain.split(".")
    ]
    domain = ".".join(labels)
    if not domain.strip(".") or any(c in _FORBIDDEN for c in domain):
        raise ValueError(f"{host!r} is not a host name")
    ipv4 = _ipv4(domain)
    return ipv4 if ipv4 is not None else domain.rstrip(".")


def split_url(url: str) -> tuple[str, str | None, int | None]:
    """(scheme, normalised host, port) as a browser reads `url`; host and port are None for schemes
    without a network host. ValueError when a network URL has no valid host or port."""
    text = re.sub(r"[\t\n\r]", "", url.strip(_C0_AND_SPACE))
    match = _SCHEME.match(text)
    if match is None:
        return "", None, None
    scheme = match.group(1).lower()
    if scheme not in NETWORK_SCHEMES:
        return scheme, None, None
    # Special schemes: any run of / or \ before the authority, which ends at / \ ? or #.
    authority = re.split(r"[/\\?#]", text[match.end() :].lstrip("/\\"), maxsplit=1)[0]
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):
        close = hostport.find("]") + 1
        host, rest = hostport[:close], hostport[close:]
        if rest and not rest.startswith(":"):
            raise ValueError(f"{url!r} has no valid host")
        port_text = rest[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if port_text and (not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535):
        raise ValueError(f"{url!r} has no valid port")
    port = int(port_text) if port_text else NETWORK_SCHEMES[scheme]
    return scheme, normalise_host(host), port


# ----- rules ----------------------------------------------------------------------------------


def normalise_rule(rule: str) -> str:
    """A rule in the form `verdict` compares: 'file:', '*.host', 'host' or 'host:port', the host
    normalised as in URLs ('LocalHost.' -> 'localhost', '::ffff:127.0.0.2' -> '127.0.0.2').
    BadInput when the rule names no host."""
    text = rule.strip().lower()
    if _SCHEME_RULE.fullmatch(text):
        return text
    try:
        if "://" in text:  # a whole URL: its host and port
            text = re.split(r"[/\\?#]", text.partition("://")[2], maxsplit=1)[0].rpartition("@")[2]
        text = text.lstrip(".")
        wildcard = text.startswith("*.")
        text = text.removeprefix("*.")
        if text.count(":") > 1 and not text.startswith("["):
            host, port = f"[{text}]", ""
        elif text.startswith("["):
            host, sep, port = text.partition("]:")
            host += "]" if sep else ""
        else:
            host, _, port = text.partition(":")
        if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
            raise ValueError(port)
        return ("*." if wildcard else "") + normalise_host(host) + (f":{int(port)}" if port else "")
    except ValueError:
        raise BadInput(
            f"domain rule {rule!r} names no host: give a host name ('example.com', '*.example.com'), "
            "optionally with a port ('127.0.0.1:8000'), or a scheme ('file:')"
        ) from None


def _rule_matches(rule: str, host: str, port: int | None) -> bool:
    if rule.startswith("["):
        rule_host, _, rule_port = rule.partition("]:")
        rule_host += "]" if rule_port else ""
    else:
        rule_host, _, rule_port = rule.partition(":")
    if rule_port and str(port) != rule_port:
        return False
    if rule_host.startswith("*."):
        return host.endswith(rule_host[1:])
    return host == rule_host or host.endswith("." + rule_host)


class DomainPolicy(Frozen):
    """Allow and deny lists of domain rules (normalised hosts with an optional :port, or 'scheme:')."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    @field_validator("allow", "deny")
    @classmethod
    def _normalise(cls, rules: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(normalise_rule(r) for r in rules if r.strip()))

    @property
    def active(self) -> bool:
        return bool(self.allow or self.deny)

    def verdict(self, url: str, *, navigation: bool = False) -> str | None:
        """None when `url` may load; otherwise a plain-words reason naming the rule that blocks it.

        `navigation`: `url` would become a document of its own (a tab's page, goto, a start page),
        where data: and blob: are refused like other URLs without a network host."""
        if not self.active:
            return None
        try:
            scheme, host, port = split_url(url)
        except ValueError as e:
            return str(e)
        if f"{scheme}:" in self.deny:
            return f"{scheme}: URLs are on the deny list"
        if host is not None:
            return self._host_verdict(host, port)
        if not scheme:
            return f"{url!r} is not an absolute URL"
        body = re.sub(r"[\t\n\r]", "", url.strip(_C0_AND_SPACE))[len(scheme) + 1 :]
        if scheme == "about" and re.split(r"[?#]", body.lower(), maxsplit=1)[0] in _ALWAYS_ABOUT:
            return None
        if f"{scheme}:" in self.allow or (not navigation and scheme in _INNER_SCHEMES):
            return None
        if scheme == "blob" and _SCHEME.match(body) and body.lower().startswith(("http", "ws")):
            # A page's own object (blob:https://host/uuid): as allowed as the page that made it.
            return self.verdict(body)
        return f"{scheme}: URLs are refused while domain rules are set (a rule '{scheme}:' allows them)"

    def _host_verdict(self, host: str, port: int | None) -> str | None:
        for rule in self.deny:
            if not rule.endswith(":") and _rule_matches(rule, host, port):
                return f"{host} is on the deny list (rule {rule!r})"
        host_rules = [r for r in self.allow if not r.endswith(":")]
        if host_rules and not any(_rule_matches(r, host, port) for r in host_rules):
            return f"{host} is not on the allow list ({', '.join(host_rules)})"
        return None


# ----- the WebSocket gate ---------------------------------------------------------------------


class WebSocketGate:
    """A CONNECT-only proxy on 127.0.0.1 that lets a browser's WebSockets through to allowed hosts.

    DevTools request interception never sees WebSocket handshakes (nor does a context route; and
    Playwright's route_web_socket wraps the page's WebSocket in JavaScript, which misses workers and
    WebSocketStream). A browser context whose proxy is this gate, with http:// and https:// URLs
    bypassing it, opens every ws:// and wss:// connection as `CONNECT host:port` here, from pages,
    frames and workers alike: a denied host gets no connection at all (403 to the browser), an
    allowed one a plain byte tunnel. `refused` lists the 'host:port' targets turned away."""

    def __init__(self, policy: DomainPolicy) -> None:
        import socketserver
        import threading

        self.policy = policy
        self.refused: list[str] = []
        self._tunnels: set[socket.socket] = set()
        self._lock = threading.Lock()
        gate = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                gate._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="websocket-gate", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """The proxy server address for the browser ('http://127.0.0.1:PORT')."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop accepting and cut the open tunnels; safe to call twice."""
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            tunnels, self._tunnels = list(self._tunnels), set()
        for sock in tunnels:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the browser or the host hung up
            self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        client.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(4096)
            if not data or len(head) > 65536:
                return
            head += data
        head, _, early = head.partition(b"\r\n\r\n")
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        target = rest.partition(" ")[0]
        if method != "CONNECT":
            client.sendall(
                b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        host, _, port = target.rpartition(":")
        if self.policy.verdict(f"wss://{target}/") is not None or not port.isdigit():
            self.refused.append(target)
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        try:
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if early:
                upstream.sendall(early)
            self._pipe(client, upstream)
        finally:
            upstream.close()

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        """Copy bytes both ways until both sides are done (a half-close is passed on)."""
        import selectors

        with self._lock:
            self._tunnels.update((client, upstream))
        peer = {client: upstream, upstream: client}
        open_ends = {client, upstream}
        try:
            with selectors.DefaultSelector() as selector:
                for end in open_ends:
                    end.settimeout(None)
                    selector.register(end, selectors.EVENT_READ)
                while open_ends:
                    for key, _ in selector.select():
                        sock = key.fileobj
                        assert isinstance(sock, socket.socket)
                        data = sock.recv(65536)
                        if data:
                            peer[sock].sendall(data)
                            continue
                        selector.unregister(sock)
                        open_ends.discard(sock)
                        with contextlib.suppress(OSError):
                            peer[sock].shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            with self._lock:
                self._tunnels.difference_update((client, upstream))
