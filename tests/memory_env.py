"""An in-memory Environment: a real implementation of the protocol over a drawn widget screen.

Widgets are rectangles (buttons, checkboxes, text fields) rendered with PIL; clicks, typing and
keys change their state and append to `events` (the app's own record the tests assert on).
Secrets are resolved at typing time, inside `execute`, as the real environments do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image, ImageDraw

from actions.environment import EnvironmentBase
from actions.secrets import resolve_secrets
from actions.types import (
    Action,
    Click,
    ElementInfo,
    Executed,
    Failed,
    Finish,
    Hotkey,
    Observation,
    Outcome,
    ScreenGeometry,
    TypeText,
    Wait,
)
from model.qwen3vl import format_reply, to_model

WIDTH, HEIGHT = 640, 400
SCREEN = ScreenGeometry(width=WIDTH, height=HEIGHT)


@dataclass
class Widget:
    name: str
    kind: Literal["button", "checkbox", "field", "label"]
    box: tuple[int, int, int, int]  # x, y, width, height
    label: str
    value: str = ""
    checked: bool = False
    disabled: bool = False
    enabled_by: str | None = None  # a checkbox that must be ticked for this button to work
    context: str | None = None
    dead: bool = False  # clicks do nothing at all (no-effect tests)

    @property
    def centre(self) -> tuple[int, int]:
        x, y, w, h = self.box
        return x + w // 2, y + h // 2


@dataclass
class MemoryScreen(EnvironmentBase):
    widgets: list[Widget]
    name: str = "memory"
    events: list[dict[str, Any]] = field(default_factory=list)
    focus: str | None = None
    executed: list[Action] = field(default_factory=list)
    report_elements: bool = True

    def widget(self, name: str) -> Widget:
        return next(w for w in self.widgets if w.name == name)

    def _at(self, x: int, y: int) -> Widget | None:
        for w in self.widgets:
            wx, wy, ww, wh = w.box
            if wx <= x < wx + ww and wy <= y < wy + wh:
                return w
        return None

    def _disabled(self, w: Widget) -> bool:
        return w.disabled or (w.enabled_by is not None and not self.widget(w.enabled_by).checked)

    def reset(self) -> None:
        self.events.clear()

    def observe(self) -> Observation:
        image = Image.new("RGB", (WIDTH, HEIGHT), "white")
        draw = ImageDraw.Draw(image)
        for w in self.widgets:
            x, y, ww, wh = w.box
            grey = self._disabled(w)
            draw.rectangle((x, y, x + ww, y + wh), outline="grey" if grey else "black", width=2)
            mark = "[x] " if w.checked else "[ ] " if w.kind == "checkbox" else ""
            draw.text((x + 4, y + 4), f"{mark}{w.label} {w.value}", fill="grey" if grey else "black")
        if self.focus:
            x, y, ww, wh = self.widget(self.focus).box
            draw.rectangle((x - 2, y - 2, x + ww + 2, y + wh + 2), outline="blue")
        return Observation(image=image, geometry=SCREEN)

    def element_at(self, x: int, y: int) -> ElementInfo | None:
        if not self.report_elements:
            return None
        w = self._at(x, y)
        if w is None:
            return ElementInfo(tag="body", interactive=False)
        tag = {"button": "button", "checkbox": "input", "field": "input", "label": "span"}[w.kind]
        return ElementInfo(
            tag=tag,
            text=w.label if w.kind == "button" else "",
            label=w.label,
            role=w.kind if w.kind != "field" else "textbox",
            disabled=self._disabled(w),
            bbox=(float(w.box[0]), float(w.box[1]), float(w.box[2]), float(w.box[3])),
            context=w.context,
        )

    def execute(self, action: Action) -> Outcome:
        self.executed.append(action)
        if isinstance(action, Click):
            w = self._at(action.x, action.y)
            if w is None or w.dead:
                return Executed(settle_ms=0.0)
            if self._disabled(w):
                return Executed(settle_ms=0.0)  # a disabled control ignores the click
            if w.kind == "checkbox":
                w.checked = not w.checked
                self.events.append({"event": "toggle", "name": w.name, "checked": w.checked})
            elif w.kind == "field":
                self.focus = w.name
            elif w.kind == "button":
                self.events.append({"event": "press", "name": w.name, "state": self.state()})
            return Executed(settle_ms=0.0)
        if isinstance(action, TypeText):
            if self.focus is None:
                return Failed(reason="no text field has the keyboard focus")
            w = self.widget(self.focus)
            w.value += resolve_secrets(action.text)  # just before the "input call"
            self.events.append({"event": "type", "name": w.name})
            return Executed(settle_ms=0.0)
        if isinstance(action, Hotkey | Wait):
            return Executed(settle_ms=0.0)
        return Failed(reason=f"{action.kind} is not supported here")

    def state(self) -> dict[str, Any]:
        return {
            w.name: (w.checked if w.kind == "checkbox" else w.value)
            for w in self.widgets
            if w.kind in ("checkbox", "field")
        }

    def close(self) -> None:
        pass


def form_screen() -> MemoryScreen:
    """Name and email fields, an 'I agree to the terms' checkbox that enables Save."""
    return MemoryScreen(
        widgets=[
            Widget("name", "field", (40, 40, 300, 30), "Name:"),
            Widget("email", "field", (40, 90, 300, 30), "Email:"),
            Widget("agree", "checkbox", (40, 140, 300, 30), "I agree to the terms"),
            Widget(
                "save",
                "button",
                (40, 200, 120, 40),
                "Save",
                enabled_by="agree",
                context="Tick 'I agree to the terms' to enable Save",
            ),
            Widget("title", "label", (360, 40, 200, 30), "Contact form", dead=True),
        ]
    )


def grid_point(screen: MemoryScreen, name: str) -> tuple[int, int]:
    """The widget's centre on the model's default grid (what a model answers)."""
    x, y = screen.widget(name).centre
    return to_model(x, y, SCREEN)


# Replies a model would write, through the one codec (model/qwen3vl): pixels in, grid text out.
def click_reply(screen: MemoryScreen, name: str, summary: str | None = None) -> str:
    x, y = screen.widget(name).centre
    return format_reply(Click(x=x, y=y), SCREEN, summary=summary or f"Click {name}")


def type_reply(text: str) -> str:
    return format_reply(TypeText(text=text), summary=f"Type {text}")


def done_reply(status: Literal["success", "failure"] = "success", summary: str = "Done") -> str:
    return format_reply(Finish(status=status), summary=summary)
