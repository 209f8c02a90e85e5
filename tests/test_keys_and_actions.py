"""Key table and action value types."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from actions.errors import UnknownKeyError
from actions.keys import canonical_key, key_names
from actions.types import ACTION_ADAPTER, Click, Finish, Hotkey, Scroll, TypeText, describe_action

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("model_name", "canonical", "pyautogui", "playwright", "xdotool"),
    [
        ("ctrl", "ctrl", "ctrl", "Control", "ctrl"),
        ("Control", "ctrl", "ctrl", "Control", "ctrl"),
        ("Return", "enter", "enter", "Enter", "Return"),
        ("page_down", "pagedown", "pagedown", "PageDown", "Next"),
        ("cmd", "super", "win", "Meta", "super"),
        ("Escape", "esc", "esc", "Escape", "Escape"),
        ("BackSpace", "backspace", "backspace", "Backspace", "BackSpace"),
        ("F5", "f5", "f5", "F5", "F5"),
        ("A", "a", "a", "a", "a"),
        ("arrowleft", "left", "left", "ArrowLeft", "Left"),
        ("/", "/", "/", "/", "slash"),
    ],
)
def test_key_table(model_name: str, canonical: str, pyautogui: str, playwright: str, xdotool: str) -> None:
    assert canonical_key(model_name) == canonical
    names = key_names(model_name)
    assert (names.pyautogui, names.playwright, names.xdotool) == (pyautogui, playwright, xdotool)


def test_unknown_key_is_a_clear_error_with_suggestions() -> None:
    with pytest.raises(UnknownKeyError, match=r"unknown key name 'entr'.*enter"):
        canonical_key("entr")


def test_actions_are_frozen_and_validated() -> None:
    click = Click(x=1, y=2)
    with pytest.raises(ValidationError):
        click.x = 5  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Click(x=-1, y=2)
    with pytest.raises(ValidationError):
        Click(x=1, y=2, count=4)
    with pytest.raises(ValidationError):
        Hotkey(keys=("ctrl", "nope"))
    with pytest.raises(ValidationError):
        TypeText(text="")
    assert Hotkey(keys=("Control", "S")).keys == ("ctrl", "s")


def test_discriminated_union_round_trip() -> None:
    for action in (
        Click(x=3, y=4, button="right"),
        Scroll(dy=-3),
        Finish(status="failure", answer="no"),
    ):
        assert ACTION_ADAPTER.validate_json(ACTION_ADAPTER.dump_json(action)) == action


def test_descriptions() -> None:
    assert describe_action(Click(x=3, y=4, count=2)) == "double-click at (3, 4)"
    assert describe_action(Scroll(dy=-3)) == "scroll down 3"
    assert describe_action(Hotkey(keys=("ctrl", "s"))) == "press ctrl+s"
