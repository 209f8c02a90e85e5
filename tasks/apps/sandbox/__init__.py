"""Local sandbox web apps (flights, signup, settings, shop, records, intake) served on 127.0.0.1 with state
the evaluators can read: `SandboxServer(port=0)` as a context manager, `.url`, `.app_url(name)`."""

from tasks.apps.sandbox.server import APP_NAMES, SandboxError, SandboxServer

__all__ = ["APP_NAMES", "SandboxError", "SandboxServer"]
