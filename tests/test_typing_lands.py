"""Typed text is read back where the environment can: text that did not (all) reach a field is a
failed step fed back to the model, never a silent success; masks and upper-casing are not failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actions.browser import BrowserEnvironment
from actions.typed import Focused, typing_problem
from actions.types import Executed, Failed, TypeText


def focused(value: str, editable: bool = True, token: str = "a") -> Focused:
    return Focused(token=token, editable=editable, value=value)


@pytest.mark.unit
def test_the_read_back_rules() -> None:
    assert typing_problem(focused(""), focused("café 東京"), "café 東京") is None
    assert typing_problem(focused(""), focused("(555) 123-4"), "5551234") is None  # a mask
    assert typing_problem(focused(""), focused("ADA"), "ada") is None  # an upper-casing field
    assert typing_problem(focused("x"), focused("x", token="b"), "hello\n") is None  # focus moved: unknown
    assert typing_problem(None, focused("x"), "hello") is None  # unreadable: unknown
    short = typing_problem(focused(""), focused("1234"), "123456")
    assert short is not None and "only 4 of the 6 characters" in short
    assert "123456" not in short  # a reason never quotes what was typed (it may be a secret)
    none = typing_problem(focused("", editable=False), focused("", editable=False), "hello")
    assert none is not None and "no text field had the keyboard focus" in none


@pytest.fixture
def env(browser_factory: Callable[..., Any], pages_url: str) -> BrowserEnvironment:
    browser: BrowserEnvironment = browser_factory()
    browser.reset()
    browser.goto(pages_url + "typing.html")
    return browser


def type_into(env: BrowserEnvironment, field: str | None, text: str) -> Any:
    if field is not None:
        env.evaluate(f"document.getElementById('{field}').focus()")
    return env.execute(TypeText(text=text))


@pytest.mark.browser
@pytest.mark.parametrize(
    ("field", "text", "holds"),
    [
        ("name", "café 東京 Привет", "café 東京 Привет"),
        ("phone", "5551234567", "(555) 123-4567"),
        ("notes", "two\nlines", "two\nlines"),
    ],
)
def test_text_that_lands_is_a_success(env: BrowserEnvironment, field: str, text: str, holds: str) -> None:
    assert isinstance(type_into(env, field, text), Executed)
    assert env.evaluate(f"document.getElementById('{field}').value") == holds


@pytest.mark.browser
def test_a_field_that_keeps_only_part_of_the_text_is_a_failed_step(env: BrowserEnvironment) -> None:
    outcome = type_into(env, "code", "123456")
    assert isinstance(outcome, Failed) and "only 4 of the 6 characters" in outcome.reason


@pytest.mark.browser
def test_typing_with_no_field_focused_is_a_failed_step(env: BrowserEnvironment) -> None:
    outcome = type_into(env, None, "hello")
    assert isinstance(outcome, Failed) and "no text field had the keyboard focus" in outcome.reason


@pytest.mark.browser
def test_a_contenteditable_editor_counts_as_a_field(env: BrowserEnvironment) -> None:
    assert isinstance(type_into(env, "editor", "Hello"), Executed)
