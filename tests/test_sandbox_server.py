"""The sandbox server over real HTTP on 127.0.0.1: pages, state endpoints, reset, fixtures, export."""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tasks.apps.sandbox.server import APP_NAMES, RECORD_COLUMNS, SandboxError, SandboxServer

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(port=0) as s:
        yield s


def fetch(url: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.mark.parametrize("app", APP_NAMES)
def test_each_app_serves_its_page_assets_and_state(server: SandboxServer, app: str) -> None:
    status, headers, body = fetch(server.app_url(app))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert "<title>" in page and "/shared/sandbox.js" in page and "app.js" in page
    for asset in ("app.js", "style.css"):
        assert fetch(server.app_url(app) + asset)[0] == 200
    status, _, body = fetch(f"{server.url}/{app}/api/state")
    assert status == 200 and json.loads(body) == server.state(app)
    # No page pulls anything from outside 127.0.0.1 (no CDNs, no web fonts).
    assert "http://" not in page.replace(server.url, "") and "https://" not in page


def test_url_has_no_trailing_slash_and_app_url_has_one(server: SandboxServer) -> None:
    assert server.url.startswith("http://127.0.0.1:") and not server.url.endswith("/")
    assert server.app_url("flights") == server.url + "/flights/"
    with pytest.raises(SandboxError, match="unknown sandbox app"):
        server.app_url("nope")


def test_state_patch_then_reset_restores_the_seed(server: SandboxServer) -> None:
    seed = server.state("settings")
    status, _, body = fetch(
        f"{server.url}/settings/api/state", {"save_count": 7, "draft": {"theme": "light"}}
    )
    assert status == 200 and json.loads(body)["save_count"] == 7
    assert json.loads(fetch(f"{server.url}/settings/api/state")[2])["draft"] == {"theme": "light"}
    status, _, body = fetch(f"{server.url}/settings/api/reset", {})
    assert status == 200 and json.loads(body) == seed == server.state("settings")


def test_reset_with_a_fixture_and_unknown_fixture(server: SandboxServer) -> None:
    status, _, body = fetch(f"{server.url}/shop/api/reset", {"fixture": "cart_two_items"})
    assert status == 200 and [line["sku"] for line in json.loads(body)["cart"]] == ["AUD-101", "KIT-301"]
    status, _, body = fetch(f"{server.url}/shop/api/reset", {"fixture": "nope"})
    assert status == 400 and "cart_two_items" in json.loads(body)["error"]
    server.reset("shop")
    assert server.state("shop")["cart"] == []


def test_records_export_is_a_csv_attachment_of_the_current_rows(server: SandboxServer) -> None:
    server.reset("records")
    status, headers, body = fetch(f"{server.url}/records/api/export.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert 'filename="employees.csv"' in headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert tuple(rows[0]) == RECORD_COLUMNS and len(rows) == 1 + len(server.state("records")["rows"])
    assert server.state("records")["exports"] == [{"filename": "employees.csv", "rows": len(rows) - 1}]


def test_unknown_paths_and_traversal_are_404(server: SandboxServer) -> None:
    assert fetch(f"{server.url}/nope/")[0] == 404
    assert fetch(f"{server.url}/flights/api/nope")[0] == 404
    assert fetch(f"{server.url}/flights/seed.json")[0] == 404
    assert fetch(f"{server.url}/flights/..%2f..%2fserver.py")[0] == 404
    status, headers, _ = fetch(f"{server.url}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")


def test_busy_port_is_a_clear_error(server: SandboxServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with pytest.raises(SandboxError, match="pick another --port"):
        SandboxServer(port=port).start()
