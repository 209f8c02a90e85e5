"""The Environment protocol: observe the screen, execute actions, report outcomes."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from actions.settle import SettleReport
from actions.types import Action, ElementInfo, Observation, Outcome


@runtime_checkable
class Environment(Protocol):
    """A world the agent acts on: a desktop (X11) or a browser page. Coordinates: see actions.types."""

    name: str

    def reset(self) -> None:
        """Bring the world to its start state (start URL, fresh page); may be a no-op on a desktop."""

    def observe(self) -> Observation:
        """Take a screenshot with its geometry (and URL/title for a browser)."""

    def execute(self, action: Action) -> Outcome:
        """Perform one action and wait for the screen to settle."""

    def element_at(self, x: int, y: int) -> ElementInfo | None:
        """What is at a logical point, when the environment can tell (browser); None otherwise."""

    def focused_element(self) -> ElementInfo | None:
        """The element with the keyboard focus, with `submits` (what Enter in it submits), when the
        environment can tell (browser); None otherwise or when nothing has it."""

    def pointer(self) -> tuple[int, int] | None:
        """Where the pointer is (logical point), when the environment knows; None otherwise."""

    def hover(self, x: int, y: int) -> None:
        """Move the pointer to a logical point and let hover effects settle (no press)."""

    def settle(self) -> SettleReport:
        """Wait until the screen is still (after set-up steps, before the first screenshot)."""

    def close(self) -> None:
        """Release the display, browser or processes; safe to call twice."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class EnvironmentBase:
    """Context-manager plumbing shared by the concrete environments."""

    name = "environment"

    def close(self) -> None:  # pragma: no cover - overridden
        pass

    def element_at(self, x: int, y: int) -> ElementInfo | None:
        return None

    def focused_element(self) -> ElementInfo | None:
        return None

    def pointer(self) -> tuple[int, int] | None:
        return None

    def hover(self, x: int, y: int) -> None:
        pass

    def settle(self) -> SettleReport:
        return SettleReport(ms=0.0, settled=True, frames=0)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
