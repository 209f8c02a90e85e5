"""The job file: a compiled run as typed data (job.yaml in a job folder, beside its anchor crops).

Frames: every point and box is in LOGICAL pixels of the recorded screen (the browser viewport in CSS
px, or the monitor), top-left origin, like actions.types. An anchor image holds `anchor.scale`
image pixels per logical pixel (the recorded screenshot's device scale factor).

Job files are data only: nothing in them is executed as code. Text may hold `{{param}}` placeholders
(filled per row) and `{{secret:NAME}}` placeholders (resolved only at typing time).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from actions.types import Click, Drag, Frozen, Hotkey, MoveTo, Scroll, TypeText, Wait

JOB_FILE = "job.yaml"
SCHEMA_FILE = "job.schema.json"


class Box(Frozen):
    """A rectangle in logical pixels: left, top, width, height."""

    x: float
    y: float
    w: float = Field(ge=0)
    h: float = Field(ge=0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x < self.x + self.w and self.y <= y < self.y + self.h


class ElementEvidence(Frozen):
    """What the browser knew of the target: how a person or a screen reader would name it."""

    tag: str
    role: str | None = None
    name: str | None = None  # the accessible name as the probe read it
    selector: str | None = None  # a CSS selector unique on the recorded page, when one was found
    box: Box | None = None


class Anchor(Frozen):
    """A template crop of the target and its surroundings, cut from the recorded screenshot.

    `image` is a PNG in the job folder; `region` is where it was cut (logical px of the recorded
    screen); `click` is the point acted on, relative to the region's top-left (logical px).
    """

    image: str
    region: Box
    click: tuple[float, float]
    scale: float = Field(default=1.0, gt=0)  # image pixels per logical pixel


class Target(Frozen):
    """Where a step acted, with every piece of evidence the run had about it."""

    point: tuple[int, int]  # the recorded point, logical px
    element: ElementEvidence | None = None
    anchor: Anchor | None = None


class ScreenChanges(Frozen):
    """The screen changes after the step (inside `near` when given: the target's surroundings)."""

    kind: Literal["screen_changes"] = "screen_changes"
    near: Box | None = None


class UrlIs(Frozen):
    """The page's address after the step: scheme, host and path (query and fragment ignored, they
    often carry per-row ids). May hold `{{param}}` placeholders."""

    kind: Literal["url"] = "url"
    equals: str


class FieldHolds(Frozen):
    """The focused field's value contains this text after the step (browser; `{{param}}` filled)."""

    kind: Literal["field_value"] = "field_value"
    contains: str


class TextShown(Frozen):
    """The page shows this text after the step (browser; for hand edits: 'Saved', '{{name}}')."""

    kind: Literal["text_shown"] = "text_shown"
    text: str


Postcondition = Annotated[ScreenChanges | UrlIs | FieldHolds | TextShown, Field(discriminator="kind")]

StepAction = Annotated[Click | MoveTo | Drag | TypeText | Hotkey | Scroll | Wait, Field(discriminator="kind")]


class JobStep(Frozen):
    """One replayable step: its intent (the model's own summary), the action with `{{param}}`
    placeholders in typed text, where it acted, what it is expected to change, and whether the
    safety rules found it risky (replay then needs a person's yes, see tasks.jobs.replay)."""

    intent: str
    action: StepAction
    target: Target | None = None
    expect: tuple[Postcondition, ...] = ()
    risky: str | None = None  # the question the risky-action rules asked, when they did
    parameters: tuple[str, ...] = ()  # names of the parameters the typed text carries


class JobStart(Frozen):
    """The state a row starts from: the environment, the start page or app, and the recorded screen."""

    environment: Literal["browser", "desktop"]
    url: str | None = None
    launch: tuple[str, ...] = ()  # desktop: commands started on the display (`qwen-agent run --launch`)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    scale: float = Field(default=1.0, gt=0)


class Job(Frozen):
    """A compiled run: replayed row by row without the model, the model stepping in per step."""

    version: Literal[1] = 1  # the format's version: a later format says so here
    name: str
    instruction: str  # the run's instruction with `{{param}}` placeholders
    parameters: tuple[str, ...] = ()
    start: JobStart
    steps: tuple[JobStep, ...] = Field(min_length=1)
    compiled_from: str | None = None  # the run folder it came from
