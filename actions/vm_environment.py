"""A VM (OSWorld's, or any machine running its in-VM HTTP server) as an agent Environment.

    with VmEnvironment("http://192.168.1.5:5000", timeout_s=30) as env:
        env.launch(["gedit"])                          # POST /setup/launch (setup steps)
        obs = env.observe()                            # GET /screenshot
        env.execute(Click(x=100, y=200))               # pyautogui code via POST /execute
        code, out, err = env.execute_command(["ls", "~/Desktop"])  # getters
        data = env.get_file("~/Desktop/report.docx")   # POST /file (None when missing)

Frames: actions are in logical pixels of the VM's screen = the pixels pyautogui uses there
(top-left origin, no monitor offset). Screenshots normally have the same size (geometry.scale 1);
when the server's PNG is larger or smaller than /screen_size says, geometry.scale is PNG pixels
per screen pixel.

Acting: each action becomes pyautogui source (actions.pyautogui_code.action_code) run the way
OSWorld runs it, `["python", "-c", "import pyautogui; ...; " + code]` through /execute; a nonzero
returncode is a Failed outcome with the server's error (a model mistake or a VM quirk, not ours).
Typed `{{secret:NAME}}` placeholders are resolved just before the code is made, and that code is
never logged. After an action the screenshots are polled until the screen is still (settle).

Evidence: element_at / focused_element read GET /accessibility (actions.vm_tree) and return None
whenever the tree is missing, slow or unreadable: they never fail a step. A server that answers
404/501 there is not asked again.

Errors: a server that refuses the connection or times out raises VmUnavailable (an
EnvironmentUnavailable whose message names the URL): the harness counts it as an infrastructure
error. The constructor takes one screenshot, so an unreachable VM fails at once.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Sequence

from pydantic import Field

from actions.environment import EnvironmentBase
from actions.errors import EnvironmentClosed, VmUnavailable
from actions.killswitch import KillSwitch
from actions.pyautogui_code import action_code
from actions.secrets import SecretMissing, resolve_secrets
from actions.settle import HOVER_SETTLE, FrameUnavailable, SettleOptions, SettleReport, wait_for_settle
from actions.types import (
    Action,
    Drag,
    ElementInfo,
    Executed,
    Failed,
    Finish,
    Frozen,
    MoveTo,
    Observation,
    Outcome,
    ScreenGeometry,
    TypeText,
    Wait,
    action_point,
    describe_action,
)
from actions.vm_client import CommandResult, VmClient
from actions.vm_tree import TreeNode, element_info, focused_node, node_at, parse_tree

log = logging.getLogger(__name__)

# The frame a settle ended on stands in for the observe that follows at once (the loop observes
# right after execute): one PNG less per step. Any later observe takes a fresh screenshot.
SETTLED_FRAME_FRESH_S = 0.25


class VmOptions(Frozen):
    """How to talk to the VM and watch its screen. Times in seconds unless named _ms."""

    timeout_s: float = Field(default=30.0, gt=0)  # each request but commands
    command_timeout_s: float = Field(default=120.0, gt=0)  # OSWorld's server kills commands at 120 s
    accessibility_timeout_s: float = Field(default=10.0, gt=0)  # a big AT-SPI tree takes seconds
    accessibility: bool = True  # read GET /accessibility for element_at / focused_element
    # Every screenshot crosses the network as a PNG (~50-150 ms), so poll less often than on a
    # local X display, and wait a little longer for delayed UI: each step also starts a Python.
    settle: SettleOptions = SettleOptions(min_ms=300, quiet_ms=300, cap_ms=5000, interval_ms=60)
    thumbnail_step: int = Field(default=8, ge=1, le=64)


class VmEnvironment(EnvironmentBase):
    """Environment over OSWorld's in-VM HTTP server at `base_url` (module docstring)."""

    name = "vm"

    def __init__(
        self,
        base_url: str,
        timeout_s: float | None = None,
        options: VmOptions | None = None,
        kill_switch: KillSwitch | None = None,
    ) -> None:
        options = options or VmOptions()
        if timeout_s is not None:
            options = options.model_copy(update={"timeout_s": timeout_s})
        self.options = options
        self.kill_switch = kill_switch
        self.client = VmClient(base_url, options.timeout_s, options.command_timeout_s)
        self.base_url = self.client.base_url
        self._closed = False
        self._tree_missing = not options.accessibility
        # The last settle's still frame and when it came: the observe right after reuses it.
        self._settled: tuple[float, bytes] | None = None
        try:
            png = self.client.screenshot()
            self.geometry = self._geometry(png)
        except BaseException:
            self.client.close()
            raise

    def _geometry(self, png: bytes) -> ScreenGeometry:
        from PIL import Image

        width, height = Image.open(io.BytesIO(png)).size
        size = self.client.screen_size()
        if size is None or size[0] <= 0 or size[1] <= 0:
            return ScreenGeometry(width=width, height=height)
        return ScreenGeometry(width=size[0], height=size[1], scale=width / size[0])

    # -- observing ---------------------------------------------------------------------------
    def reset(self) -> None:
        """The VM has no start state of its own here; task setup steps (and OSWorld's snapshot
        revert, which is the VM provider's business) prepare it."""

    def _check_open(self) -> None:
        if self._closed:
            raise EnvironmentClosed(f"the VM environment for {self.base_url} is closed")

    def _screenshot(self, timeout_s: float | None = None) -> bytes:
        self._check_open()
        return self.client.screenshot(timeout_s)

    def observe(self) -> Observation:
        """The VM's screen as an RGB PIL image (geometry.scale PNG pixels per logical pixel)."""
        from PIL import Image

        settled, self._settled = self._settled, None
        if settled is not None and time.monotonic() - settled[0] <= SETTLED_FRAME_FRESH_S:
            png = settled[1]
        else:
            png = self._screenshot()
        image = Image.open(io.BytesIO(png)).convert("RGB")
        expected = (
            round(self.geometry.width * self.geometry.scale),
            round(self.geometry.height * self.geometry.scale),
        )
        if image.size != expected:  # the VM changed resolution
            self.geometry = self._geometry(png)
        return Observation(image=image, geometry=self.geometry)

    def _signature(self, png: bytes) -> bytes:
        """Settle signature: a grayscale thumbnail, 1/step of the screenshot in each direction."""
        from PIL import Image

        image = Image.open(io.BytesIO(png)).convert("L")
        return image.reduce(self.options.thumbnail_step).tobytes()

    def _watch(self, options: SettleOptions) -> SettleReport:
        last: list[bytes] = []

        def capture(seconds_left: float) -> bytes:
            try:
                # Half a second at least, even near the cap: a PNG over the network needs it.
                png = self._screenshot(max(0.5, min(self.options.timeout_s, seconds_left)))
            except VmUnavailable as exc:
                if not exc.timed_out:
                    raise  # refused: the VM is gone, not slow
                raise FrameUnavailable(str(exc)) from exc
            last[:] = [png]
            return self._signature(png)

        report = wait_for_settle(capture, options)
        self._settled = (time.monotonic(), last[0]) if report.settled and last else None
        return report

    def settle(self) -> SettleReport:
        """Poll screenshots until the screen is still for options.settle.quiet_ms (cap_ms at most)."""
        return self._watch(self.options.settle)

    def pointer(self) -> tuple[int, int] | None:
        """The pointer in logical pixels (GET /cursor_position); None when the server does not say."""
        self._check_open()
        return self.client.cursor_position()

    def hover(self, x: int, y: int) -> None:
        """Move the pointer to a logical point (pyautogui.moveTo) and let hover effects settle."""
        if not (0 <= x < self.geometry.width and 0 <= y < self.geometry.height):
            return
        self._check_open()
        self._settled = None
        code = action_code(MoveTo(x=x, y=y))
        if code is not None and self.client.run_pyautogui(code).returncode == 0:
            self._watch(HOVER_SETTLE)

    # -- evidence ----------------------------------------------------------------------------
    def _tree(self) -> list[TreeNode] | None:
        if self._tree_missing or self._closed:
            return None
        try:
            status, xml = self.client.accessibility_tree(self.options.accessibility_timeout_s)
            if xml is None:
                # 404 / 501: this server has no tree, do not ask every step; 500 may be transient.
                self._tree_missing = status in (404, 405, 501)
                return None
            return parse_tree(xml)
        except Exception as exc:  # a slow or broken tree is only missing evidence
            log.debug("accessibility tree from %s unavailable: %s", self.base_url, exc)
            return None

    def element_at(self, x: int, y: int) -> ElementInfo | None:
        """The innermost accessible node at a logical point, as ElementInfo; None without a tree."""
        nodes = self._tree()
        node = node_at(nodes, x, y) if nodes else None
        return element_info(node) if node is not None else None

    def focused_element(self) -> ElementInfo | None:
        """The accessible node with the keyboard focus, as ElementInfo; None without a tree."""
        nodes = self._tree()
        node = focused_node(nodes) if nodes else None
        return element_info(node) if node is not None else None

    # -- acting ------------------------------------------------------------------------------
    def execute(self, action: Action) -> Outcome:
        """Perform one action on the VM, then wait for its screen to settle (settle_ms)."""
        if self.kill_switch is not None:
            self.kill_switch.check()
        self._check_open()
        self._settled = None
        log.debug("vm %s: %s", self.base_url, describe_action(action))  # placeholders, not secrets
        if isinstance(action, Finish):
            return Executed(detail="finished")
        points = [action_point(action)]
        if isinstance(action, Drag) and action.start_x is not None and action.start_y is not None:
            points.append((action.start_x, action.start_y))
        for px, py in (p for p in points if p is not None):
            if not (0 <= px < self.geometry.width and 0 <= py < self.geometry.height):
                return Failed(
                    reason=f"({px}, {py}) is outside the screen ({self.geometry.width}x"
                    f"{self.geometry.height}); choose a point inside it"
                )
        started = time.perf_counter()
        if isinstance(action, Wait):
            time.sleep(action.seconds)  # the model asked for this wait explicitly
        else:
            if isinstance(action, TypeText):
                try:
                    action = action.model_copy(update={"text": resolve_secrets(action.text)})
                except SecretMissing as exc:
                    return Failed(reason=str(exc))
            code = action_code(action)
            if code is not None:
                result = self.client.run_pyautogui(code)
                if result.returncode != 0:
                    return Failed(reason=_failure(result))
        input_ms = (time.perf_counter() - started) * 1000
        report = self.settle()
        detail = f"input {input_ms:.1f} ms" + ("" if report.settled else "; screen still changing")
        return Executed(settle_ms=round(report.ms, 1), detail=detail)

    # -- setup and getters -------------------------------------------------------------------
    def execute_command(
        self, command: Sequence[str] | str, shell: bool = False, timeout_s: float | None = None
    ) -> CommandResult:
        """Run a command on the VM to completion: (returncode, stdout, stderr); returncode -1 when
        the server could not run it. `~/` in argv items is expanded on the VM."""
        self._check_open()
        return self.client.execute(command, shell, timeout_s)

    def launch(self, command: Sequence[str] | str, shell: bool = False) -> str:
        """Start a program on the VM and return at once (VmRequestFailed when it cannot start)."""
        self._check_open()
        return self.client.launch(command, shell)

    def get_file(self, path: str) -> bytes | None:
        """A file's bytes from the VM (`~` expanded there); None when it does not exist."""
        self._check_open()
        return self.client.get_file(path)

    def upload_file(self, path: str, data: bytes) -> str:
        """Write `data` to `path` on the VM, creating parent folders."""
        self._check_open()
        return self.client.upload_file(path, data)

    def close(self) -> None:
        """Close the HTTP connections (the VM itself is left running); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.client.close()


def _failure(result: CommandResult) -> str:
    """The model-facing reason for a failed pyautogui run: the last lines of the server's error."""
    lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
    tail = " | ".join(lines[-2:]) if lines else f"exit code {result.returncode}"
    return f"the VM could not perform the action: {tail[:400]}"
