"""`qwen-agent sandbox`: serve the local practice web apps (the default target of `run`)."""

from __future__ import annotations

from typing import Annotated

import typer


def sandbox_command(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0 picks a free one).")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the sandbox web apps (flights, signup, settings, shop, records, intake) and print their URLs."""
    from tasks.apps.sandbox.serve import serve

    serve(port=port, host=host)
