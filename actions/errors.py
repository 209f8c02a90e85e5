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


class VmUnavailable(EnvironmentUnavailable):
    """A VM's HTTP server (OSWorld's in-VM server, port 5000) did not answer in time or refused the
    connection. The message names the URL; the harness counts it as an infrastructure error."""

    def __init__(self, url: str, detail: str, timed_out: bool = False) -> None:
        self.url = url
        self.timed_out = timed_out  # it did not answer in time (a refused connection: False)
        super().__init__(f"the VM at {url} is unavailable: {detail}")


class VmRequestFailed(QwenAgentError):
    """A VM's HTTP server answered a request with an error status (a setup step it could not do);
    `status` is the HTTP status, the message carries the server's own words."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        self.url = url
        self.status = status
        super().__init__(f"the VM at {url} answered {status}: {detail}")
