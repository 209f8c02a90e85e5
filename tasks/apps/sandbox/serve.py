"""Serving the sandbox apps from the command line until Ctrl+C (`qwen-agent sandbox`)."""

from __future__ import annotations

import threading

from tasks.apps.sandbox.server import APP_NAMES, SandboxServer

APP_TITLES = {
    "flights": "SkyFare: flight search and booking",
    "signup": "Nimbus Drive: account sign-up form",
    "settings": "Orbit: dark settings page",
    "shop": "Hearth & Co.: shop with cart and checkout",
    "records": "Acme People: employee table with CSV export",
}


def serve(port: int = 8765, host: str = "127.0.0.1", stop: threading.Event | None = None) -> None:
    """Serve until `stop` is set or Ctrl+C; prints each app's URL and its state endpoint."""
    with SandboxServer(port=port, host=host) as server:
        print(f"sandbox apps on {server.url}  (Ctrl+C to stop)")
        for name in APP_NAMES:
            print(f"  {server.app_url(name):<40} {APP_TITLES[name]}")
        print(f"state: GET {server.url}/<app>/api/state   reset: POST {server.url}/<app>/api/reset")
        try:
            (stop or threading.Event()).wait()
        except KeyboardInterrupt:
            print("sandbox stopped")
