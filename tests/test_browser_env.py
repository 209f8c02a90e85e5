"""The browser environment around the input: element-at-point reports, tabs, domain rules, settle
detection and clear errors; real Chromium on pages served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actions.browser import BrowserEnvironment, BrowserOptions
from actions.chromium import find_chromium
from actions.domains import DomainPolicy
from actions.errors import EnvironmentClosed, EnvironmentUnavailable
from actions.settle import SettleOptions
from actions.types import Blocked, Click, Executed, TypeText, Wait

pytestmark = pytest.mark.browser


@pytest.fixture
def env(browser_factory: Callable[..., Any]) -> BrowserEnvironment:
    browser: BrowserEnvironment = browser_factory(deny_domains=("localhost",))
    browser.reset()
    return browser


# ----- element at point ---------------------------------------------------------------------------


def test_disabled_button_reports_what_to_do_first(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "blocked.html")
    box = env.evaluate("(() => { const r = submit.getBoundingClientRect(); return [r.x, r.y]; })()")
    info = env.element_at(round(box[0]) + 10, round(box[1]) + 10)
    assert info is not None
    assert (info.tag, info.role, info.label) == ("button", "button", "Submit")
    assert info.disabled and info.interactive and not info.hidden and info.covered_by is None
    assert info.context is not None
    assert "unticked checkbox 'I agree to the terms'" in info.context
    assert "empty required field 'Email'" in info.context
    assert "Please accept the terms to continue." in info.context
    assert info.bbox is not None and info.bbox[2:] == (120, 40)


def test_ticking_the_checkbox_enables_the_button(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "blocked.html")
    box = env.evaluate("(() => { const r = agree.getBoundingClientRect(); return [r.x, r.y]; })()")
    env.execute(Click(x=round(box[0]) + 5, y=round(box[1]) + 5))
    box = env.evaluate("(() => { const r = submit.getBoundingClientRect(); return [r.x, r.y]; })()")
    info = env.element_at(round(box[0]) + 10, round(box[1]) + 10)
    assert info is not None and not info.disabled
    assert info.context is not None and "I agree" not in info.context


def test_button_under_a_modal_is_covered(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "blocked.html?modal=1")
    info = env.element_at(660, 420)  # the "Delete account" button, under the dialog
    assert info is not None
    assert (info.tag, info.label) == ("button", "Delete account")
    assert info.covered_by == "div.modal 'Confirm your email'"
    # And the page agrees: a click there does not reach the button.
    env.execute(Click(x=660, y=420))
    assert env.evaluate("window.clicked || null") is None


def test_button_under_the_dim_backdrop_names_the_backdrop(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "blocked.html?modal=1")
    box = env.evaluate("(() => { const r = submit.getBoundingClientRect(); return [r.x, r.y]; })()")
    info = env.element_at(round(box[0]) + 10, round(box[1]) + 10)
    assert info is not None and info.label == "Submit"
    assert info.covered_by is not None and info.covered_by.startswith("div#overlay")


def test_uncovered_button_and_invisible_button(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "blocked.html")
    plain = env.element_at(660, 420)
    assert plain is not None and plain.covered_by is None and not plain.disabled
    assert plain.interactive and plain.label == "Delete account"
    ghost = env.element_at(100, 520)
    assert ghost is not None and ghost.label == "Invisible" and ghost.hidden
    nothing = env.element_at(1200, 780)
    assert nothing is not None and not nothing.interactive and nothing.tag in ("html", "body")
    assert env.element_at(5000, 10) is None


# ----- secrets ------------------------------------------------------------------------------------


def test_secret_placeholder_is_typed_resolved(
    env: BrowserEnvironment, pages_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QWEN_AGENT_SECRET_PIN", "s3cr3t-東京")
    env.goto(pages_url + "keyboard.html")
    env.execute(Click(x=200, y=65))
    env.execute(TypeText(text="pin={{secret:PIN}}"))
    assert env.evaluate("document.getElementById('name').value") == "pin=s3cr3t-東京"
    missing = env.execute(TypeText(text="{{secret:NOT_SET_ANYWHERE}}"))
    assert missing.kind == "failed" and "QWEN_AGENT_SECRET_NOT_SET_ANYWHERE" in missing.reason


# ----- tabs and domains ---------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("url", "blocked"),
    [
        ("http://example.com/a", None),
        ("https://evil.test/x", "deny list"),
        ("https://a.b.evil.test/x", "deny list"),
        ("https://notevil.test/x", None),
        ("http://127.0.0.1:8000/", None),
        ("http://127.0.0.1:9000/", "deny list"),
        ("about:blank", None),
        ("data:text/html,hi", None),
    ],
)
def test_domain_policy_rules(url: str, blocked: str | None) -> None:
    policy = DomainPolicy(deny=("evil.test", "127.0.0.1:9000"))
    verdict = policy.verdict(url)
    assert (verdict is None) if blocked is None else (verdict is not None and blocked in verdict)
    only = DomainPolicy(allow=("*.corp.example",))
    assert only.verdict("https://wiki.corp.example/") is None
    assert "not on the allow list" in (only.verdict("https://corp.example/") or "")


def test_new_tab_is_followed(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "tabs.html")
    outcome = env.execute(Click(x=80, y=62))
    assert isinstance(outcome, Executed) and outcome.detail and "new tab" in outcome.detail
    assert len(env.pages) == 2
    obs = env.observe()
    assert (obs.url, obs.title) == (pages_url + "second.html", "Second page")
    assert env.evaluate("document.getElementById('heading').textContent") == "Second page"
    env.page.close()
    assert env.observe().title == "Tabs start"


def test_open_tabs_for_the_harness(env: BrowserEnvironment, pages_url: str) -> None:
    env.open_tabs([pages_url + "second.html", pages_url + "keyboard.html"])
    assert [p.url for p in env.pages][-2:] == [pages_url + "second.html", pages_url + "keyboard.html"]
    assert env.observe().title == "Keyboard test page"


def test_denied_domain_link_is_blocked_and_page_stays(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "tabs.html")
    outcome = env.execute(Click(x=80, y=202))
    assert isinstance(outcome, Blocked) and outcome.rule == "domain"
    assert "localhost is on the deny list" in outcome.reason
    assert env.observe().url == pages_url + "tabs.html"
    assert env.evaluate("document.title") == "Tabs start"


def test_denied_domain_in_new_tab_leaves_no_empty_tab(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "tabs.html")
    outcome = env.execute(Click(x=80, y=272))
    assert isinstance(outcome, Blocked) and outcome.rule == "domain"
    assert [p.url for p in env.pages] == [pages_url + "tabs.html"]


def test_goto_denied_domain(env: BrowserEnvironment, pages_url: str) -> None:
    # Repeated: right after the blocked navigation Chromium sometimes has no frame to capture yet
    # ("Unable to capture screenshot", about 1 time in 3 here); observe must still answer.
    for _ in range(6):
        outcome = env.goto(pages_url.replace("127.0.0.1", "localhost") + "second.html")
        assert isinstance(outcome, Blocked) and outcome.rule == "domain"
        observation = env.observe()
        assert observation.url == "about:blank" and observation.image.size == (1280, 800)


def test_allow_list_blocks_everything_else(browser_factory: Callable[..., Any], pages_url: str) -> None:
    env: BrowserEnvironment = browser_factory(allow_domains=("127.0.0.1",))
    env.reset()
    assert isinstance(env.goto(pages_url + "tabs.html"), Executed)
    outcome = env.execute(Click(x=80, y=202))
    assert isinstance(outcome, Blocked) and "not on the allow list" in outcome.reason


# ----- settle -------------------------------------------------------------------------------------


def test_settle_waits_for_the_network(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "settle.html")
    outcome = env.execute(Click(x=120, y=70))
    assert isinstance(outcome, Executed) and outcome.settle_ms is not None
    assert env.evaluate("document.getElementById('result').textContent") == "slow response after 400 ms"


def test_settle_waits_for_an_animation(browser_factory: Callable[..., Any], pages_url: str) -> None:
    # quiet_ms 300: on a starved CI runner the renderer can stall for longer than the default
    # 120 ms mid-animation, which looks like a still screen; the animation itself runs 500 ms.
    env: BrowserEnvironment = browser_factory(settle=SettleOptions(quiet_ms=300))
    env.reset()
    env.goto(pages_url + "settle.html")
    env.execute(Click(x=120, y=140))
    assert env.evaluate("document.getElementById('result').textContent") == "animation done"


def test_settle_waits_for_a_navigation(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "tabs.html")
    env.execute(Click(x=80, y=132))
    assert env.evaluate("document.readyState") == "complete"
    assert env.observe().title == "Second page"


def test_wait_action(env: BrowserEnvironment, pages_url: str) -> None:
    env.goto(pages_url + "second.html")
    outcome = env.execute(Wait(seconds=0.1))
    assert isinstance(outcome, Executed) and outcome.settle_ms is not None


# ----- errors -------------------------------------------------------------------------------------


def test_closed_browser_raises_environment_closed(chromium_path: str | None, pages_url: str) -> None:
    env = BrowserEnvironment(
        BrowserOptions(executable_path=chromium_path, start_url=pages_url + "second.html")
    )
    assert env.observe().title == "Second page"
    env.close()
    with pytest.raises(EnvironmentClosed, match="start a new one"):
        env.observe()
    env.close()  # twice is fine


def test_all_tabs_closed_raises_then_reset_recovers(chromium_path: str | None, pages_url: str) -> None:
    with BrowserEnvironment(BrowserOptions(executable_path=chromium_path)) as env:
        env.page.close()
        with pytest.raises(EnvironmentClosed, match="every tab was closed"):
            env.execute(Click(x=1, y=1))
        env.reset()
        assert env.observe().url == "about:blank"


@pytest.mark.unit
def test_missing_chromium_names_the_fix(tmp_path: Any) -> None:
    with pytest.raises(EnvironmentUnavailable, match="apt-get install chromium"):
        find_chromium(str(tmp_path / "no-such-chromium"))


def test_headed_without_display_names_the_fix(
    chromium_path: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(EnvironmentUnavailable, match="needs a display"):
        BrowserEnvironment(BrowserOptions(executable_path=chromium_path, headless=False))
