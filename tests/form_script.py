"""The scripted model's replies that fill and save the Tk form (tasks.apps.desktop.form): click Name,
type it, click Email, type it, tick I agree, click Save, finish. Shared by the desktop, VM and OSWorld
adapter tests, each with its own way of pointing at a widget."""

from __future__ import annotations

from collections.abc import Callable

from actions.types import Finish, TypeText
from model.qwen3vl import format_reply


def fill_form_replies(click: Callable[[str, str], str], name: str, email: str) -> list[str]:
    """Raw Qwen3-VL replies; `click(widget, summary)` answers a click on the form's widget."""
    return [
        click("name", "Click the Name field"),
        format_reply(TypeText(text=name), summary="Type the name"),
        click("email", "Click the Email field"),
        format_reply(TypeText(text=email), summary="Type the email"),
        click("agree", "Tick I agree to the terms"),
        click("save", "Click Save"),
        format_reply(Finish(status="success"), summary="The form is saved"),
    ]
