"""Shared test plumbing. Layer fixtures live in tests/fixtures/ (display, browser, model, servers)."""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "tests.fixtures.display",
    "tests.fixtures.browser",
    "tests.fixtures.model",
    "tests.fixtures.servers",
]

IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip locally when a system dependency is missing; fail in CI, where it must be installed."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"missing in CI: {reason}")
    pytest.skip(reason)
