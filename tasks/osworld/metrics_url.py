"""Browser metrics with OSWorld's semantics: active-tab URL equality, URL regexes, open tabs."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse, urlunparse


def _normalize_url(url: str) -> str:
    parsed = urlparse(url)
    netloc = parsed.netloc.lower().replace("www.", "")
    path = parsed.path if parsed.path != "/" else ""
    return urlunparse(parsed._replace(scheme=(parsed.scheme or "http").lower(), netloc=netloc, path=path))


def compare_urls(a: str | None, b: str | None) -> bool:
    """OSWorld's URL equality: scheme and host lower-cased, 'www.' dropped, a bare '/' path dropped."""
    if a is None or b is None:
        return a == b
    return _normalize_url(a) == _normalize_url(b)


def _url_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("url"), str):
        return str(value["url"])
    return None


def is_expected_active_tab(active_tab: Any, rule: dict[str, Any], **_: Any) -> float:
    """1 when the active tab's URL equals `rule["url"]` (rule type 'url')."""
    if not active_tab:
        return 0.0
    if rule.get("type") != "url":
        return 0.0
    return 1.0 if compare_urls(rule["url"], _url_of(active_tab)) else 0.0


def is_expected_active_tab_approximate(active_tab: Any, rule: dict[str, Any], **_: Any) -> float:
    """As is_expected_active_tab, ignoring the query string."""
    if not active_tab or rule.get("type") != "url":
        return 0.0
    actual = _url_of(active_tab) or ""

    def strip(u: str) -> str:
        return urlunparse(urlparse(u)._replace(query=""))

    return 1.0 if strip(rule["url"]) == strip(actual) else 0.0


def is_expected_url_pattern_match(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 when every regex in `rules["expected"]` is found (re.search) in the URL."""
    if not result:
        return 0.0
    url = _url_of(result)
    if url is None:
        return 0.0
    return 1.0 if all(re.search(p, url) for p in rules["expected"]) else 0.0


def is_expected_tabs(open_tabs: Any, rule: dict[str, Any], **_: Any) -> float:
    """1 when the open tabs' URLs equal `rule["urls"]` as a multiset under compare_urls."""
    if not open_tabs or rule.get("type") != "url":
        return 0.0
    expected = list(rule["urls"])
    actual = [_url_of(t) for t in open_tabs]
    if len(expected) != len(actual):
        return 0.0
    return 1.0 if all(any(compare_urls(e, a) for a in actual) for e in expected) else 0.0
