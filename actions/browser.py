"""The browser environment: Playwright driving Chromium, one viewport as the observed screen.

Frames: action coordinates are CSS pixels of the viewport. Screenshots are CSS-pixel sized by default
(geometry.scale 1 at any device scale factor); `screenshot_frame="device"` returns device pixels with
geometry.scale = device_scale_factor. Either way a click at (x, y) hits what the screenshot shows there.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from playwright.sync_api import Error as PlaywrightError
from pydantic import Field

from actions.browser_capture import CaptureUnsupported, NoSurface, capture_viewport
from actions.browser_probe import PROBE_TIMEOUT_MS, probe_element, probe_focused
from actions.browser_settle import WATCH_JS, NetworkTracker, PageSettler
from actions.chromium import acquire_playwright, find_chromium, launch_chromium, release_playwright
from actions.domains import DomainPolicy, WebSocketGate
from actions.environment import EnvironmentBase
from actions.errors import BadInput, EnvironmentClosed, EnvironmentUnavailable
from actions.keys import key_names
from actions.killswitch import KillSwitch
from actions.secret_mask import SecretMask
from actions.secrets import SecretMissing, has_secrets, resolve_secrets
from actions.settle import HOVER_SETTLE, SettleOptions, SettleReport
from actions.typed import FOCUSED_JS, Focused, typing_problem
from actions.types import (
    Action,
    Blocked,
    Click,
    Drag,
    ElementInfo,
    Executed,
    Failed,
    Finish,
    Frozen,
    Hotkey,
    MoveTo,
    Observation,
    Outcome,
    ScreenGeometry,
    Scroll,
    TypeText,
    Wait,
)

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from playwright._impl._api_structures import Clip
    from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, Playwright, ProxySettings

_SELECT_JS = (Path(__file__).with_name("select_overlay.js")).read_text(encoding="utf-8")


class BrowserOptions(Frozen):
    """How to start the browser. Sizes are CSS pixels; `scroll_step_px` is one wheel notch."""

    start_url: str | None = None
    headless: bool = True
    viewport: tuple[int, int] = (1280, 800)
    device_scale_factor: float = Field(default=1.0, gt=0)
    executable_path: str | None = None
    allow_domains: tuple[str, ...] = ()
    deny_domains: tuple[str, ...] = ()
    settle: SettleOptions = SettleOptions()
    screenshot_frame: Literal["css", "device"] = "css"
    image_format: Literal["jpeg", "png"] = "jpeg"
    jpeg_quality: int = Field(default=90, ge=1, le=100)
    scroll_step_px: int = Field(default=100, gt=0)
    navigation_timeout_ms: float = Field(default=30_000, gt=0)
    screenshot_timeout_ms: float = Field(default=10_000, gt=0)
    # Observe only the viewport's top-left (width, height) CSS px: the screen the model sees and acts
    # on (same origin, so its coordinates are viewport coordinates). None: the whole viewport.
    observe_area: tuple[int, int] | None = None
    # Blank password fields and fields a secret was typed into in every screenshot (actions.secret_mask).
    mask_secrets: bool = True


def _first_line(error: Exception) -> str:
    """Playwright's message without its call log or API prefix ('Page.goto: net::ERR_... at URL'
    -> 'net::ERR_... at URL')."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    line = text.splitlines()[0]
    api, sep, rest = line.partition(": ")
    return rest if sep and "." in api and " " not in api else line


def _closed_error(what: str) -> EnvironmentClosed:
    return EnvironmentClosed(
        f"{what}: the browser environment cannot act any more; start a new one "
        "(or call reset() if only the tabs were closed)"
    )


class BrowserEnvironment(EnvironmentBase):
    """A Chromium page as the agent's screen; follows new tabs to the newest one."""

    name = "browser"

    def __init__(self, options: BrowserOptions | None = None, kill_switch: KillSwitch | None = None) -> None:
        self.options = options or BrowserOptions()
        self.kill_switch = kill_switch
        self.policy = DomainPolicy(allow=self.options.allow_domains, deny=self.options.deny_domains)
        self.executable_path = find_chromium(self.options.executable_path)
        self._playwright: Playwright | None = acquire_playwright()
        self._closed = False
        self._guard: CDPSession | None = None  # DevTools session that vets every request (domain rules)
        self._gate: WebSocketGate | None = None  # the proxy that vets every WebSocket (domain rules)
        try:
            self._browser: Browser = launch_chromium(
                self._playwright, self.executable_path, self.options.headless
            )
        except BaseException:
            release_playwright()
            self._playwright = None
            raise
        self._browser.on("disconnected", lambda _b: self._mark_closed())
        self._context: BrowserContext | None = None
        self._pages: list[Page] = []
        self._blocked: list[tuple[str, str]] = []  # (url, reason) of navigations stopped by the policy
        self._pointer = (0, 0)
        self._settler: PageSettler | None = None
        self._direct_capture = True  # False once this Chromium's DevTools capture gave a wrong size
        self._mask = SecretMask() if self.options.mask_secrets else None
        try:
            self.reset()
        except BaseException:
            self.close()
            raise

    # ----- lifecycle -------------------------------------------------------------------------

    def _mark_closed(self) -> None:
        self._closed = True

    def reset(self) -> None:
        """A fresh context (no cookies, one tab) at the start URL."""
        self._ensure_open()
        if self._context is not None:
            self._context.close()
        w, h = self.options.viewport
        self._context = self._browser.new_context(
            viewport={"width": w, "height": h},
            device_scale_factor=self.options.device_scale_factor,
            # With domain rules, service workers stay off (pages do not need them to work).
            service_workers="block" if self.policy.active else "allow",
            proxy=self._guard_network(),
        )
        self._context.set_default_navigation_timeout(self.options.navigation_timeout_ms)
        self._context.add_init_script(WATCH_JS)
        self._context.add_init_script(_SELECT_JS)
        self._network = NetworkTracker(self._context)
        self._pages = []
        self._settler = None
        self._context.on("page", self._on_page)
        self._context.new_page()
        self._pointer = (0, 0)
        if self.options.start_url:
            self._open_start_page(self.options.start_url)

    def _open_start_page(self, url: str) -> None:
        """Load the start page or say why not: a run never starts on a blank or error page."""
        outcome = self.goto(url)
        if isinstance(outcome, Blocked):
            raise BadInput(f"the start page is refused: {outcome.reason}")
        if isinstance(outcome, Failed):
            raise EnvironmentUnavailable(f"the start page {outcome.reason.removeprefix('could not load ')}")

    def close(self) -> None:
        """Close the browser and the Playwright driver; safe to call twice."""
        if self._playwright is None:
            return
        try:
            if not self._closed:
                self._browser.close()
        except Exception:  # already gone: nothing left to release
            pass
        release_playwright()
        self._playwright = None
        self._closed = True
        if self._gate is not None:
            self._gate.close()
            self._gate = None

    @property
    def browser_version(self) -> str:
        """The browser's name and version, e.g. 'chromium 156.0.8078.73'."""
        return f"chromium {self._browser.version}"

    def page_value(self, expression: str, timeout_ms: float) -> Any:
        """A JavaScript expression's value in the current tab, with a deadline (None when the page
        cannot answer): read-only checks such as a replayed job's postconditions."""
        return self._settler_for_page().page_value(expression, timeout_ms)

    def _ensure_open(self) -> None:
        if self._closed or self._playwright is None or not self._browser.is_connected():
            raise _closed_error("the browser was closed")

    # ----- tabs ------------------------------------------------------------------------------

    def _on_page(self, page: Page) -> None:
        self._pages.append(page)
        page.on("close", lambda p: self._pages.remove(p) if p in self._pages else None)

    @property
    def pages(self) -> list[Page]:
        """All open tabs, oldest first."""
        return [p for p in self._pages if not p.is_closed()]

    @property
    def page(self) -> Page:
        """The active tab: the newest open one."""
        self._ensure_open()
        pages = self.pages
        if not pages:
            raise _closed_error("every tab was closed")
        return pages[-1]

    def open_tabs(self, urls: list[str] | tuple[str, ...]) -> None:
        """Open each URL in a new tab (the last becomes active), as an evaluation setup step."""
        assert self._context is not None
        for url in urls:
            self._context.new_page()
            self.goto(url)

    def goto(self, url: str) -> Outcome:
        """Load `url` in the active tab and wait for it to settle; Blocked when the policy forbids it
        (`url` itself, or a redirect on the way)."""
        reason = self.policy.verdict(url, navigation=True)
        if reason:
            return Blocked(rule="domain", reason=f"navigation to {url} is blocked: {reason}")
        self._blocked.clear()
        try:
            self.page.goto(url, wait_until="load")
        except Exception as e:
            self._raise_if_closed(e)
            if self._blocked:
                hop, reason = self._blocked[0]
                return Blocked(rule="domain", reason=f"navigation to {url} was blocked at {hop}: {reason}")
            return Failed(reason=f"could not load {url}: {_first_line(e).removesuffix(f' at {url}')}")
        return Executed(settle_ms=self.settle().ms)

    def evaluate(self, js: str, arg: Any = None) -> Any:
        """Run JavaScript in the active tab and return its JSON-able result."""
        return self.page.evaluate(js, arg)

    # ----- observing -------------------------------------------------------------------------

    def observe(self) -> Observation:
        """Screenshot of the viewport (or its observed area) with its geometry, URL and title.

        A new compositor frame taken after the call, never an earlier one (actions.browser_capture);
        a frame not returned within `screenshot_timeout_ms` raises EnvironmentUnavailable."""
        page = self.page
        device = self.options.screenshot_frame == "device"
        scale = self.options.device_scale_factor if device else 1.0
        try:
            image = self._capture(page, scale)
            title = page.title()
        except Exception as e:
            self._raise_if_closed(e)
            raise EnvironmentUnavailable(
                f"the browser did not return a screenshot of {page.url}: {_first_line(e)}"
            ) from e
        w, h = self.screen_size
        geometry = ScreenGeometry(width=w, height=h, scale=scale)
        if self._mask is not None:  # before anyone sees it: the model, the run folder
            image = self._mask.mask(page, image, geometry.scale)
        return Observation(image=image, geometry=geometry, url=page.url, title=title)

    def _capture(self, page: Page, scale: float) -> PILImage:
        """The observed screen at `scale` image px per CSS px (1: CSS frame; the device scale factor:
        device frame): over the page's DevTools session, one or two round trips; Playwright's
        screenshot only where this Chromium's clips do not give the size asked for."""
        if self._direct_capture:
            try:
                return capture_viewport(
                    self._settler_for_page().cdp(),
                    self.screen_size,
                    scale,
                    whole_viewport=self.options.observe_area is None,
                    image_format=self.options.image_format,
                    quality=self.options.jpeg_quality,
                    timeout_ms=self.options.screenshot_timeout_ms,
                )
            except CaptureUnsupported:
                self._direct_capture = False  # the same Chromium answers the same way next time
            except NoSurface:
                pass  # this once: Playwright waits for a frame first (see NoSurface)
        return self._playwright_capture(page, device=self.options.screenshot_frame == "device")

    def _playwright_capture(self, page: Page, device: bool) -> PILImage:
        """Playwright's own screenshot (the fallback): JPEG or PNG in CSS or device px."""
        from PIL import Image

        fmt = self.options.image_format
        data = page.screenshot(
            type=fmt,
            quality=self.options.jpeg_quality if fmt == "jpeg" else None,
            scale="device" if device else "css",
            caret="initial",
            animations="allow",
            timeout=self.options.screenshot_timeout_ms,
            clip=self._area_clip(),
        )
        return Image.open(io.BytesIO(data)).convert("RGB")

    @property
    def screen_size(self) -> tuple[int, int]:
        """The observed screen in CSS px: the viewport, or its observed top-left area."""
        return self.options.observe_area or self.options.viewport

    def _area_clip(self) -> Clip | None:
        """Playwright's screenshot clip of the observed area, when one is set: CSS px of the
        viewport (Playwright adds the scroll offset itself; adding it here showed the area twice
        the scroll offset down on a scrolled page)."""
        if self.options.observe_area is None:
            return None
        w, h = self.options.observe_area
        return {"x": 0, "y": 0, "width": w, "height": h}

    def element_at(self, x: int, y: int) -> ElementInfo | None:
        """What a click at (x, y) CSS pixels would meet: the element, its state, what covers it
        (actions.browser_probe; every call has a deadline)."""
        return probe_element(self.page, self._settler_for_page().cdp(), x, y, self.options.viewport)

    def focused_element(self) -> ElementInfo | None:
        """The element with the keyboard focus and, for a field, what Enter in it submits
        (actions.browser_probe; every call has a deadline); None when only the page has it."""
        return probe_focused(self.page, self._settler_for_page().cdp())

    def pointer(self) -> tuple[int, int] | None:
        """Where the pointer is, CSS px of the viewport (where a drag without a start presses)."""
        return self._pointer

    def _focused(self) -> Focused | None:
        """The focused element and its text, read back with a deadline (None when unreadable)."""
        found = self._settler_for_page().page_value(f"({FOCUSED_JS})()", PROBE_TIMEOUT_MS)
        return Focused(**found) if isinstance(found, dict) else None

    def hover(self, x: int, y: int) -> None:
        """Move the pointer to (x, y) CSS px and wait for hover effects (HOVER_SETTLE)."""
        settler = self._settler_for_page()
        settler.mark_input()
        self.page.mouse.move(x, y)
        self._pointer = (x, y)
        settler.wait(HOVER_SETTLE)

    # ----- acting ----------------------------------------------------------------------------

    def execute(self, action: Action) -> Outcome:
        """Perform one action, then wait for network, navigation and frames to settle."""
        if self.kill_switch is not None:
            self.kill_switch.check()
        page = self.page
        opened_before = set(map(id, self.pages))
        self._blocked.clear()
        try:
            self._settler_for_page().mark_input()
            problem = self._perform(page, action)
            if problem is not None:
                return problem
            if isinstance(action, Finish):
                return Executed(detail="finished")
            report = self.settle()
        except EnvironmentClosed:
            raise
        except Exception as e:
            self._raise_if_closed(e)
            return Failed(reason=f"{type(action).__name__} failed: {_first_line(e)}")
        if self._blocked:
            url, reason = self._blocked[0]
            # A target=_blank link to a blocked site leaves an empty tab behind; close it.
            for p in self.pages:
                if id(p) not in opened_before and p.url in ("about:blank", ""):
                    p.close()
            return Blocked(rule="domain", reason=f"navigation to {url} was blocked: {reason}")
        new_tab = self.page if id(self.page) not in opened_before else None
        detail = f"switched to the new tab {new_tab.url}" if new_tab is not None else None
        return Executed(settle_ms=round(report.ms, 1), detail=detail)

    def _perform(self, page: Page, action: Action) -> Outcome | None:
        """Send the input; an Outcome only when the action cannot be performed at all."""
        point = getattr(action, "x", None), getattr(action, "y", None)
        if point[0] is not None and point[1] is not None:
            w, h = self.screen_size
            if not (0 <= point[0] < w and 0 <= point[1] < h):
                return Failed(reason=f"({point[0]}, {point[1]}) is outside the {w}x{h} viewport")
        mouse, keyboard = page.mouse, page.keyboard
        match action:
            case Click(x=x, y=y, button=button, count=count):
                # Move, let hover effects settle, then press, as a person (and Selenium) would.
                if self._pointer != (x, y):
                    self.hover(x, y)
                    self._settler_for_page().mark_input()
                mouse.click(x, y, button=button, click_count=count)
            case MoveTo(x=x, y=y):
                mouse.move(x, y)
                self._pointer = (x, y)
            case Drag(x=x, y=y, start_x=sx, start_y=sy):
                start = (sx, sy) if sx is not None and sy is not None else self._pointer
                if self._pointer != start:
                    self.hover(*start)
                    self._settler_for_page().mark_input()
                mouse.down()
                # Intermediate moves: pages (and HTML5 drag and drop) need to see motion, not a jump.
                distance = max(abs(x - start[0]), abs(y - start[1]))
                mouse.move(x, y, steps=max(5, min(25, distance // 20)))
                mouse.up()
                self._pointer = (x, y)
            case Scroll(dx=dx, dy=dy, x=x, y=y):
                if x is not None and y is not None:
                    mouse.move(x, y)
                    self._pointer = (x, y)
                step = self.options.scroll_step_px
                # Our dy > 0 means up; the wheel's positive deltaY scrolls down.
                mouse.wheel(dx * step, -dy * step)
            case TypeText(text=text):
                # Secrets are resolved only here, just before the input call (never logged).
                try:
                    resolved = resolve_secrets(text)
                except SecretMissing as e:
                    return Failed(reason=str(e))
                before = self._focused()
                mask = self._mask if has_secrets(text) else None
                if mask is not None:  # the field the value goes into, and the one it ends in
                    mask.remember_focused(page)
                keyboard.type(resolved)
                if mask is not None:
                    mask.remember_focused(page)
                problem = typing_problem(before, self._focused(), resolved)
                if problem is not None:
                    return Failed(reason=problem)
            case Hotkey(keys=keys):
                names = [key_names(k).playwright for k in keys]
                for name in names:
                    keyboard.down(name)
                for name in reversed(names):
                    keyboard.up(name)
            case Wait(seconds=seconds):
                page.wait_for_timeout(seconds * 1000)
            case Finish():
                pass
        return None

    def _settler_for_page(self) -> PageSettler:
        """The active tab's settler (and DevTools session), made anew when the tab changed."""
        page = self.page
        if self._settler is None or self._settler.page is not page:
            self._settler = PageSettler(page, self._network, self.options.settle)
        return self._settler

    def settle(self) -> SettleReport:
        """Wait for the active tab to settle (network, navigation, announced changes, still frames)."""
        return self._settler_for_page().wait()

    def _guard_network(self) -> ProxySettings | None:
        """With domain rules, the browser's network is vetted at two points (set up once per browser):

        - every request, each hop of a redirect chain included, pauses before it is sent until
          `_on_request_paused` lets it go. The DevTools Fetch interception runs on the browser
          target, so it sees what a context route does not: redirect hops (Chromium follows a 3xx
          itself, and Playwright continues those hops without asking its route), workers, every
          frame and tab, file: loads;
        - every WebSocket opens through the gate (actions.domains.WebSocketGate), the proxy these
          settings give the context; http:// and https:// bypass it.
        None without domain rules: nothing is intercepted."""
        if not self.policy.active:
            return None
        if self._gate is None:
            self._gate = WebSocketGate(self.policy)
        if self._guard is None:
            self._guard = self._browser.new_browser_cdp_session()
            self._guard.on("Fetch.requestPaused", self._on_request_paused)
            self._guard.send("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]})
        return {"server": self._gate.address, "bypass": "http://*,https://*"}

    def _on_request_paused(self, event: dict[str, Any]) -> None:
        """Send a paused request on, or fail it unsent when the policy forbids its URL."""
        request = event["request"]
        url = request["url"] + request.get("urlFragment", "")
        navigation = event.get("resourceType") == "Document"
        try:
            reason = self.policy.verdict(url, navigation=navigation)
        except Exception as e:  # never leave a request paused; refuse what cannot be checked
            reason = f"the domain rules could not check it ({e})"
        params: dict[str, Any] = {"requestId": event["requestId"]}
        if reason is not None:
            if navigation:
                self._blocked.append((url, reason))
            # "Aborted" cancels a navigation quietly: the page stays instead of an error page.
            params["errorReason"] = "Aborted" if navigation else "BlockedByClient"
        try:
            assert self._guard is not None
            self._guard.send("Fetch.continueRequest" if reason is None else "Fetch.failRequest", params)
        except PlaywrightError:
            pass  # the request was cancelled meanwhile, or the browser is closing

    def _raise_if_closed(self, error: Exception) -> None:
        text = str(error)
        if self._closed or "has been closed" in text or "Target closed" in text:
            self._closed = self._closed or not self._browser.is_connected()
            raise _closed_error("the browser or its page was closed") from error
