"""OSWorld's Chrome tasks on a VM: its own setup step (chrome_open_tabs) and getter (open_tabs_info),
from desktop-env in .venv-osworld, reach a real Chromium through its remote debugging port, as they
reach the VM's Chrome on port 9222 (here a local Chromium started with --remote-debugging-port)."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from actions.chromium import find_chromium
from actions.xdisplay import VirtualDisplay
from tasks.osworld.desktop_env_bridge import DEFAULT_PYTHON, DesktopEnvBridge, VmAddress
from tests.conftest import require
from tests.fixtures.vm import vm_server

pytestmark = [pytest.mark.browser, pytest.mark.desktop]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[str]:
    """Two pages with titles on a local HTTP server; yields its base URL."""
    site = tmp_path / "site"
    site.mkdir()
    for name in ("inbox", "report"):
        (site / f"{name}.html").write_text(f"<!doctype html><title>{name.title()} page</title><p>{name}</p>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture
def chrome_port(tmp_path: Path) -> Iterator[int]:
    """A headless Chromium with its DevTools port open (the VM's Chrome, as OSWorld starts it)."""
    exe = find_chromium()
    require(exe is not None, "Chromium is not installed")
    assert exe is not None
    process = subprocess.Popen(
        [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0",
         f"--user-data-dir={tmp_path / 'profile'}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        port = None
        for line in process.stderr:
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if found:
                port = int(found.group(1))
                break
        assert port is not None, "Chromium did not open its debugging port"
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_osworld_opens_tabs_and_reads_them_back_over_the_debugging_port(
    pages: str, chrome_port: int, virtual_display: VirtualDisplay, tmp_path: Path
) -> None:
    require(DEFAULT_PYTHON.exists(), "OSWorld's desktop-env environment: make setup-osworld")
    urls = [f"{pages}/inbox.html", f"{pages}/report.html"]
    # OSWorld's setup controller first waits for the VM's own server, so one runs here too.
    with vm_server(virtual_display) as (url, _), DesktopEnvBridge() as bridge:
        vm = VmAddress(
            ip="127.0.0.1", server_port=int(url.rsplit(":", 1)[1]), chromium_port=chrome_port,
            cache_dir=tmp_path / "cache", platform="Linux",
        )  # fmt: skip
        bridge.setup([{"type": "chrome_open_tabs", "parameters": {"urls_to_open": urls}}], vm)
        tabs = bridge.getter("open_tabs_info", {}, vm)
        assert isinstance(tabs, list)
        by_url = {tab["url"]: tab["title"] for tab in tabs}
        assert by_url.get(urls[0]) == "Inbox page" and by_url.get(urls[1]) == "Report page", tabs
        # ... and OSWorld's own metric judges them as its task files ask (about:blank left aside).
        opened = [tab for tab in tabs if tab["url"] != "about:blank"]
        assert bridge.metric("is_expected_tabs", opened, {"type": "url", "urls": urls}) == 1.0
        assert bridge.metric("is_expected_tabs", opened, {"type": "url", "urls": urls[:1]}) == 0.0
