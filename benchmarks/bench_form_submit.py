"""`qwen-agent run` on a form whose Submit POSTs and is answered 303 (the flow that used to hang in
about 1 run of 6): 50 runs end to end as a user starts them, each with a 60 s limit. Prints how many
ended (exit 0) and hung, and the submit step's settle time (median, p95, max; a frame withheld during
the navigation costs up to 1 s, never more)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from actions.types import Click, Finish, ScreenGeometry
from model.qwen3vl import format_reply

RUNS = 50
FORM = b"""<!doctype html><html><body style="margin:0"><form method="post" action="/submit">
<button style="position:absolute;left:100px;top:100px;width:200px;height:60px">Submit</button>
</form></body></html>"""
DONE = b"<!doctype html><html><body><h1>Thank you</h1></body></html>"
VIEWPORT = ScreenGeometry(width=1280, height=800)  # the browser environment's default viewport
REPLIES = [
    # The centre of the Submit button above, in CSS pixels of the viewport.
    format_reply(Click(x=200, y=130), VIEWPORT, summary="click Submit"),
    format_reply(Finish(status="success"), summary="done"),
]


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._send(200, FORM if self.path == "/form" else DONE)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(303)
        self.send_header("Location", "/result")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/form"
    ended = hung = other = 0
    settle: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        replies = Path(tmp) / "replies.jsonl"
        replies.write_text("".join(json.dumps(r) + "\n" for r in REPLIES))
        for i in range(RUNS):
            folder = Path(tmp) / f"run{i}"
            argv = [sys.executable, "-m", "tasks.cli", "run", "submit", "--url", url, "--yes",
                    "--quiet", "--model", f"scripted:{replies}", "--max-steps", "4",
                    "--record-dir", str(folder)]  # fmt: skip
            try:
                code = subprocess.run(
                    argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60
                ).returncode
            except subprocess.TimeoutExpired:
                hung += 1
                continue
            ended += code == 0
            other += code != 0
            first = json.loads((folder / "traj.jsonl").read_text().splitlines()[0])
            settle.append(first["outcome"]["settle_ms"])
    server.shutdown()
    settle.sort()
    p95 = settle[int(0.95 * (len(settle) - 1))] if settle else float("nan")
    print(
        f"form POST -> 303, {RUNS} runs of `qwen-agent run`: ended {ended}, hung {hung}, other exits {other}"
    )
    if settle:
        print(f"submit step settle: median {statistics.median(settle):6.1f} ms | p95 {p95:6.1f} ms | "
              f"max {settle[-1]:6.1f} ms | over 1 s: {sum(1 for s in settle if s > 1000)}")  # fmt: skip


if __name__ == "__main__":
    main()
