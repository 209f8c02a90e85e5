"""Domain allow/deny rules for the browser: which URLs a page may load.

A rule is a host name ("example.com" also covers its subdomains; "*.example.com" only them),
optionally with a port ("127.0.0.1:8000"). Deny wins over allow; an empty allow list allows all.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import field_validator

from actions.types import Frozen

# Schemes without a network host are never filtered (blank pages, inline content, error pages).
_HOSTLESS = ("about", "data", "blob", "javascript", "chrome-error", "devtools", "chrome")


def _rule_matches(rule: str, host: str, port: int | None) -> bool:
    rule_host, _, rule_port = rule.partition(":") if rule.count(":") == 1 else (rule, "", "")
    if rule_port and str(port) != rule_port:
        return False
    if rule_host.startswith("*."):
        return host.endswith(rule_host[1:])
    return host == rule_host or host.endswith("." + rule_host)


class DomainPolicy(Frozen):
    """Allow and deny lists of domain rules (lower-case hosts, optional :port)."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    @field_validator("allow", "deny")
    @classmethod
    def _normalise(cls, rules: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(r.strip().lower().lstrip(".") for r in rules if r.strip())

    @property
    def active(self) -> bool:
        return bool(self.allow or self.deny)

    def verdict(self, url: str) -> str | None:
        """None when `url` may load; otherwise a plain-words reason naming the rule that blocks it."""
        parts = urlsplit(url)
        if parts.scheme in _HOSTLESS or not parts.hostname:
            return None
        host = parts.hostname.lower()
        try:
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:
            port = None
        for rule in self.deny:
            if _rule_matches(rule, host, port):
                return f"{host} is on the deny list (rule {rule!r})"
        if self.allow and not any(_rule_matches(r, host, port) for r in self.allow):
            return f"{host} is not on the allow list ({', '.join(self.allow)})"
        return None
