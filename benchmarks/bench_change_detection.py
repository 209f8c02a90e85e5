"""Change detection on its test set (real Chromium screenshots of small changes and of non-changes,
tests/change_pairs.py) at 1x and 2x: false negatives and false positives of the full-resolution rule,
beside the 96x60-thumbnail rule it replaced, and the time per comparison at 1280x800."""

from __future__ import annotations

import threading
import time
from http.server import ThreadingHTTPServer

from actions.browser import BrowserEnvironment, BrowserOptions
from actions.settle import frame_difference
from agent.detection import screen_changed
from tests.change_pairs import Pair, change_pairs
from tests.fixtures.browser import _PagesHandler


def thumbnail_rule(pair: Pair) -> bool:
    """The old rule: 96x60 grayscale thumbnails, more than 0.2% of bytes different."""

    def thumb(image: object) -> bytes:
        return bytes(image.convert("L").resize((96, 60)).tobytes())  # type: ignore[attr-defined]

    return frame_difference(thumb(pair.before), thumb(pair.after)) > 0.002


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PagesHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/changes.html"
    for dsf in (1.0, 2.0):
        options = BrowserOptions(device_scale_factor=dsf, screenshot_frame="device")
        with BrowserEnvironment(options) as env:
            pairs = change_pairs(env, url)
        for label, rule in (("full resolution", lambda p: screen_changed(p.before, p.after, p.scale)),
                            ("thumbnail 96x60", thumbnail_rule)):  # fmt: skip
            fn = [p.name for p in pairs if p.changed and not rule(p)]
            fp = [p.name for p in pairs if not p.changed and rule(p)]
            print(f"{dsf:g}x {label:<16}: {len(pairs)} pairs, false negatives {len(fn)}, false positives "
                  f"{len(fp)}" + (f"  (missed: {', '.join(fn)})" if fn else ""))  # fmt: skip
        if dsf == 1.0:
            start = time.perf_counter()
            for pair in pairs * 5:
                screen_changed(pair.before, pair.after, pair.scale)
            per_pair = (time.perf_counter() - start) * 1000 / (len(pairs) * 5)
            print(f"1x comparison time: {per_pair:.1f} ms per pair")
    server.shutdown()


if __name__ == "__main__":
    main()
