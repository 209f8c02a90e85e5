"""Each sandbox app driven by a real Chromium (Playwright) on 127.0.0.1; asserted via the state endpoint."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks.apps.sandbox.server import SandboxServer, records_csv

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(port=0) as s:
        yield s


@pytest.fixture(scope="module")
def browser(chromium_path: str | None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=["--disable-gpu", "--disable-quic"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def state(server: SandboxServer, app: str) -> Any:
    """What the evaluators read: the app's own state endpoint over HTTP."""
    with urllib.request.urlopen(f"{server.url}/{app}/api/state", timeout=10) as r:
        return json.loads(r.read())


def settle(page: Any) -> None:
    page.wait_for_function("window.Sandbox && Sandbox.pending === 0")


def open_app(page: Any, server: SandboxServer, app: str, fixture: str | None = None, frag: str = "") -> None:
    server.reset(app, fixture)
    page.goto(server.app_url(app) + frag)
    page.wait_for_function(
        "document.querySelector('#app') && document.querySelector('#app').children.length > 0"
    )


@pytest.mark.parametrize(("origin", "destination"), [("SFO", "JFK"), ("ORD", "LHR"), ("ATL", "HND")])
def test_the_readme_example_route_and_big_hubs_have_flights(
    page: Any, server: SandboxServer, origin: str, destination: str
) -> None:
    # README: qwen-agent run "book a flight from SFO to JFK on 3 December" (the app's today is June 2025).
    open_app(page, server, "flights", frag=f"#/results?from={origin}&to={destination}&date=2025-12-03&pax=1")
    page.wait_for_selector(".flight")
    assert page.locator(".flight").count() >= 3
    open_app(page, server, "flights")
    page.click("#origin")
    page.keyboard.type(origin.lower())
    page.click(f'.suggestions [data-code="{origin}"]')
    assert origin in page.input_value("#origin")


def test_flights_search_pickers_sort_book(page: Any, server: SandboxServer) -> None:
    open_app(page, server, "flights")
    page.click("#origin")
    page.keyboard.type("heathrow")
    page.click('.suggestions [data-code="LHR"]')
    page.click("#destination")
    page.keyboard.type("new york")
    page.click('.suggestions [data-code="JFK"]')
    page.click("#date")
    page.click(".calendar .cal-nav.next")
    page.click('.calendar [data-date="2025-07-14"]')
    page.click("#passengers")
    page.click(".paxpop .plus")
    page.click(".search-btn")
    page.wait_for_selector(".flight")
    assert "#/results?from=LHR&to=JFK&date=2025-07-14&pax=2" in page.url
    page.click('[data-sort="duration"]')
    settle(page)
    s = state(server, "flights")
    assert s["search"] == {"origin": "LHR", "destination": "JFK", "date": "2025-07-14", "passengers": 2}
    assert s["sort"] == "duration"
    texts = page.eval_on_selector_all(".flight .line small:first-child", "els => els.map(e => e.textContent)")
    minutes = [int(t.split("h")[0]) * 60 + int(t.split()[1].rstrip("m")) for t in texts]
    assert len(minutes) == 6 and minutes == sorted(minutes)  # the Fastest tab really sorts
    first = page.locator(".flight").first.get_attribute("data-flight")
    page.click(f'.flight button.select[data-flight="{first}"]')
    page.fill("#first-0", "Ann")
    page.fill("#last-0", "Lee")
    page.fill("#first-1", "Bo")
    page.fill("#last-1", "Lee")
    page.fill("#email", "not-an-email")
    page.click("#to-payment")
    assert "valid email" in page.inner_text(".errors")
    page.fill("#email", "ann@example.com")
    page.click("#to-payment")
    page.fill("#card-name", "Ann Lee")
    page.fill("#card-number", "4242 4242 4242 4242")
    page.fill("#expiry", "12/27")
    page.fill("#cvc", "12")
    page.click("#pay")
    assert "3 digits" in page.inner_text(".errors")
    assert page.input_value("#card-number") == "4242 4242 4242 4242"  # kept after a failed submit
    page.fill("#cvc", "123")
    page.click("#pay")
    ref = page.inner_text("#booking-ref")
    settle(page)
    booking = state(server, "flights")["booking"]
    assert booking["reference"] == ref and len(ref) == 6
    assert booking["flight"]["id"] == first and booking["payment"]["card_last4"] == "4242"
    assert booking["passengers"] == [
        {"first_name": "Ann", "last_name": "Lee"},
        {"first_name": "Bo", "last_name": "Lee"},
    ]
    assert booking["total"] == booking["flight"]["price"] * 2


def test_signup_submit_is_disabled_until_terms_then_validates(page: Any, server: SandboxServer) -> None:
    open_app(page, server, "signup")
    assert page.is_disabled("#submit")
    page.fill("#full-name", "Kim Park")
    page.fill("#email", "kim@example")
    page.fill("#username", "alex")
    page.fill("#password", "short")
    page.fill("#confirm", "short")
    page.click("#terms")
    assert page.is_enabled("#submit")
    page.click("#submit")
    settle(page)  # the app saves its state over HTTP after the click returns
    errors = state(server, "signup")["errors"]
    assert set(errors) == {"email", "username", "password", "country"}
    assert "taken" in errors["username"]
    page.fill("#email", "kim@example.com")
    page.fill("#username", "kimp")
    page.fill("#password", "Secret123")
    page.fill("#confirm", "Secret123")
    page.click("#country")
    page.click('.options [data-value="Japan"]')
    page.click("#submit")
    page.wait_for_selector(".welcome")
    settle(page)
    s = state(server, "signup")
    assert s["accounts"][-1] == {"full_name": "Kim Park", "email": "kim@example.com", "username": "kimp",
                                 "country": "Japan", "newsletter": False}  # fmt: skip
    assert "Secret123" not in json.dumps(s)  # the password never reaches the server's state


def test_settings_save_is_disabled_until_something_changes(page: Any, server: SandboxServer) -> None:
    open_app(page, server, "settings")
    assert page.is_disabled("#save")
    page.click('[aria-label="Light theme"]')
    page.click("#toggle-two-factor")
    assert page.is_enabled("#save")
    page.click('[aria-label="Dark theme"]')
    page.click("#toggle-two-factor")
    assert page.is_disabled("#save")  # back to the saved values: nothing to save
    page.click('[aria-label="Large text"]')
    page.click("#language")
    page.click('.dd-list [data-value="Deutsch"]')
    page.click("#save")
    page.wait_for_selector(".sb-toast.show")
    settle(page)
    s = state(server, "settings")
    assert s["saved"]["text_size"] == "large" and s["saved"]["language"] == "Deutsch"
    assert s["save_count"] == 1 and s["draft"] is None
    assert page.is_disabled("#save")


def test_shop_cart_and_checkout_place_an_order(page: Any, server: SandboxServer) -> None:
    open_app(page, server, "shop")
    page.click('button.add[data-sku="OFF-401"]')
    page.click('button.add[data-sku="OFF-401"]')
    page.click('button.add[data-sku="AUD-102"]')
    assert page.inner_text("#cart-count") == "3"
    page.click("#cart-link")
    page.click('[aria-label="Decrease quantity of Notebook Trio"]')
    settle(page)
    assert state(server, "shop")["cart"] == [{"sku": "OFF-401", "qty": 1}, {"sku": "AUD-102", "qty": 1}]
    page.click("#checkout")
    page.click("#place-order")
    assert "fill in every field" in page.inner_text(".errors")
    for sel, text in (("#full-name", "Jo Roe"), ("#address", "1 Main St"), ("#city", "Leeds"), ("#postcode", "LS1 1AA"),
                      ("#card-number", "4242424242424242"), ("#expiry", "10/28"), ("#cvc", "999")):  # fmt: skip
        page.fill(sel, text)
    page.click('label[for="ship-express"]')
    assert page.input_value("#city") == "Leeds"  # kept across the re-render
    page.click("#place-order")
    number = page.inner_text("#order-number")
    settle(page)
    s = state(server, "shop")
    order = s["orders"][-1]
    assert order["number"] == number and order["shipping"] == "express" and s["cart"] == []
    assert order["total"] == round(14.5 + 49.0 + 9.99, 2)


def test_records_add_edit_delete_and_export_download(
    page: Any, server: SandboxServer, tmp_path: Path
) -> None:
    open_app(page, server, "records")
    page.click("#add")
    page.fill("#f-name", "Ida Moss")
    page.fill("#f-email", "ida@acme.test")
    page.click("#save-row")
    assert page.is_visible(".dialog")  # validation keeps the dialog open
    page.click("#f-department")
    page.click('.dd-list [data-value="Finance"]')
    page.fill("#f-start", "2025-01-02")
    page.click("#save-row")
    page.click('[aria-label="Edit Aiko Tanaka"]')
    page.fill("#f-role", "Design Lead")
    page.click("#save-row")
    page.click('[aria-label="Delete Tom Becker"]')
    page.click("#confirm-delete")
    settle(page)
    rows = state(server, "records")["rows"]
    assert rows[-1] == {"id": 1009, "name": "Ida Moss", "email": "ida@acme.test", "department": "Finance",
                        "role": "", "start_date": "2025-01-02"}  # fmt: skip
    assert [r["role"] for r in rows if r["name"] == "Aiko Tanaka"] == ["Design Lead"]
    assert all(r["name"] != "Tom Becker" for r in rows)
    with page.expect_download() as info:
        page.click("#export")
    download = info.value
    assert download.suggested_filename == "employees.csv"
    saved = tmp_path / "employees.csv"
    download.save_as(saved)
    s = state(server, "records")
    assert saved.read_text(encoding="utf-8") == records_csv(s)
    assert list(csv.reader(io.StringIO(saved.read_text())))[-1][1] == "Ida Moss"
    assert s["exports"][-1]["rows"] == len(rows)
