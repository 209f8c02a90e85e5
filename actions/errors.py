"""Typed errors of the world layer. Model mistakes are outcomes, not errors; these are ours."""


class QwenAgentError(Exception):
    """Base of every error this project raises on purpose; the CLI prints it without a traceback."""


class UnknownKeyError(QwenAgentError, ValueError):
    """A key name that neither the model protocol nor our key table knows."""

    def __init__(self, name: str, suggestions: tuple[str, ...] = ()) -> None:
        self.name = name
        hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
        super().__init__(f"unknown key name {name!r}{hint}")


class BadInput(QwenAgentError):
    """What the user gave cannot work (a start URL that is not one, a secret that is not set, a run
    folder that holds another run); the message says what to give instead. Exit code 2."""


class EnvironmentUnavailable(QwenAgentError):
    """The display, browser or app an environment needs is missing; the message names the fix."""


class EnvironmentClosed(QwenAgentError):
    """The environment (a closed browser, a dead X server) can no longer act."""


class StopRequested(QwenAgentError):
    """The user pressed the kill-switch hotkey or Ctrl+C; the loop stops before its next action."""
