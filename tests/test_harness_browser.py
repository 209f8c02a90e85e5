"""The harness end to end on a small OSWorld-style suite served on 127.0.0.1, in real Chromium, with
scripted policies: the evaluators can pass AND fail, FAIL rules hold, broken task files are reported
while the rest runs, and a run killed with SIGKILL resumes scoring every task exactly once."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html><body style="margin:0">
<button id="b" style="width:100vw;height:100vh;font-size:40px"
 onclick="location.hash='done'">Finish the task</button></body></html>"""


def call(action: str, **args: Any) -> str:
    body = json.dumps({"name": "computer_use", "arguments": {"action": action, **args}})
    return f"Action: {action}\n<tool_call>\n{body}\n</tool_call>"


def script(path: Path, *replies: str) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in replies))
    return f"scripted:{path}"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    www = tmp_path / "www"
    www.mkdir()
    (www / "page.html").write_text(PAGE)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/page.html"
    httpd.shutdown()


def task(
    task_id: str, url: str, evaluator: dict[str, Any], extra_steps: list[dict[str, Any]] = ()
) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "id": task_id,
        "instruction": "Press the button.",
        "config": [*extra_steps, {"type": "chrome_open_tabs", "parameters": {"urls_to_open": [url]}}],
        "related_apps": ["chrome"],
        "evaluator": evaluator,
    }


FEASIBLE = {
    "func": "is_expected_url_pattern_match",
    "result": {"type": "active_tab_info"},
    "expected": {"type": "rule", "rules": {"expected": ["#done$"]}},
}


def make_suite(root: Path, url: str) -> Path:
    web = root / "examples" / "web"
    web.mkdir(parents=True)
    tasks = [
        task("press", url, FEASIBLE),
        task("impossible", url, {"func": "infeasible"}),
        task("typo", url, {**FEASIBLE, "func": "is_expected_url_patern_match"}),
    ]
    for t in tasks:
        (web / f"{t['id']}.json").write_text(json.dumps(t))
    (web / "broken.json").write_text('{"id": "broken", "instruction": ')
    return root


def browser_ok() -> None:
    from actions.chromium import find_chromium

    require(find_chromium() is not None, "Chromium is not installed")


def evaluate(suite: Path, model: str, out: Path, **kw: Any) -> tuple[dict[str, Any], Path]:
    from tasks.eval.harness import EvalConfig
    from tasks.suites import resolve_suite

    loaded = resolve_suite(str(suite))
    config = EvalConfig(suite_name="t", suite_root=loaded.root, model=model, out=out, max_steps=4, **kw)
    from tasks.eval.evaluate import evaluate as run

    return run(loaded, config, lambda kind, payload: None)


def outcomes(root: Path) -> dict[str, dict[str, Any]]:
    return {
        f"{p.parent.parent.name}/{p.parent.name}": json.loads(p.read_text())
        for p in root.glob("*/*/score.json")
    }


def test_solver_passes_feasible_misses_infeasible_and_bad_files_are_reported(
    tmp_path: Path, site: str
) -> None:
    browser_ok()
    suite = make_suite(tmp_path / "suite", site)
    model = script(
        tmp_path / "solve.jsonl",
        call("left_click", coordinate=[500, 500]),
        call("terminate", status="success"),
    )
    summary, root = evaluate(suite, model, tmp_path / "results", run_name="solver")
    got = outcomes(root)
    assert got["web/press"]["score"] == 1.0 and got["web/press"]["category"] is None
    assert (root / "web" / "press" / "result.txt").read_text().strip() == "1.0"
    assert (root / "web" / "press" / "traj.jsonl").is_file()
    assert list((root / "web" / "press").glob("step_*.png"))
    # the scripted solver clicks on the infeasible task too: not FAIL -> 0
    assert got["web/impossible"]["score"] == 0.0 and got["web/impossible"]["category"] == "missed_infeasible"
    assert got["web/typo"]["status"] == "unsupported"
    assert "did you mean 'is_expected_url_pattern_match'" in got["web/typo"]["reason"]
    assert "evaluator.func" in got["web/typo"]["reason"]
    assert got["web/broken"]["status"] == "invalid" and "broken.json" in got["web/broken"]["reason"]
    assert summary["overall"]["scored"] == 2 and summary["overall"]["success_rate"] == 0.5
    assert summary["domains"]["web"]["unsupported"] == 1 and summary["domains"]["web"]["invalid"] == 1
    html = (root / "report.html").read_text()
    assert "missed_infeasible" in html and "web/press/report.html" in html
    assert json.loads((root / "summary.json").read_text())["overall"]["success"] == 1


def test_success_claim_scores_zero_and_giving_up_scores_only_infeasible(tmp_path: Path, site: str) -> None:
    browser_ok()
    suite = make_suite(tmp_path / "suite", site)
    claim = script(tmp_path / "claim.jsonl", call("terminate", status="success"))
    give_up = script(tmp_path / "giveup.jsonl", call("terminate", status="failure"))
    s1, r1 = evaluate(suite, claim, tmp_path / "results", run_name="claim")
    s2, r2 = evaluate(suite, give_up, tmp_path / "results", run_name="giveup")
    claimed, gave_up = outcomes(r1), outcomes(r2)
    assert claimed["web/press"]["score"] == 0.0 and claimed["web/press"]["category"] == "wrong_final_state"
    assert claimed["web/impossible"]["score"] == 0.0
    assert s1["feasible"]["success_rate"] == 0.0 and s1["infeasible"]["success_rate"] == 0.0
    assert gave_up["web/press"]["score"] == 0.0 and gave_up["web/press"]["category"] == "gave_up"
    assert gave_up["web/impossible"]["score"] == 1.0
    assert s2["feasible"]["success_rate"] == 0.0 and s2["infeasible"]["success_rate"] == 1.0


def test_killed_run_resumes_and_scores_every_task_once(tmp_path: Path, site: str) -> None:
    browser_ok()
    root = tmp_path / "suite"
    web = root / "examples" / "web"
    web.mkdir(parents=True)
    ids = [f"t{i}" for i in range(6)]
    for i in ids:  # a setup sleep keeps each task busy long enough to be killed in the middle
        t = task(i, site, FEASIBLE, [{"type": "sleep", "parameters": {"seconds": 0.7}}])
        (web / f"{i}.json").write_text(json.dumps(t))
    model = script(
        tmp_path / "solve.jsonl",
        call("left_click", coordinate=[500, 500]),
        call("terminate", status="success"),
    )
    out = tmp_path / "results"
    argv = [sys.executable, "-m", "tasks.cli", "eval", str(root), "--model", model, "--out", str(out),
            "--run-name", "r", "--workers", "2", "--max-steps", "3"]  # fmt: skip
    proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = out / "r"
    deadline = time.monotonic() + 120
    while len(list(results.glob("web/*/result.txt"))) < 2:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "no task finished in time"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run dies at once, workers included
    proc.wait()
    finished_before = {p.parent.name for p in results.glob("web/*/result.txt")}
    assert 2 <= len(finished_before) < len(ids)
    done = subprocess.run([*argv, "--resume"], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("skipped (finished earlier)") == len(finished_before)
    lines = [json.loads(x) for x in (results / "scores.jsonl").read_text().splitlines()]
    assert Counter(x["task"] for x in lines) == Counter(f"web/{i}" for i in ids)  # each scored exactly once
    summary = json.loads((results / "summary.json").read_text())
    assert summary["overall"]["scored"] == len(ids) and summary["overall"]["success_rate"] == 1.0


def test_a_stuck_task_is_an_infrastructure_error_and_the_eval_moves_on(tmp_path: Path, site: str) -> None:
    browser_ok()
    from tests.test_stuck_steps import HANG

    (tmp_path / "www" / "hang.html").write_bytes(HANG)  # the `site` fixture serves tmp_path/www
    root = tmp_path / "suite"
    web = root / "examples" / "web"
    web.mkdir(parents=True)
    hang_url = site.replace("page.html", "hang.html")
    for t in (task("a_stuck", hang_url, FEASIBLE), task("b_press", site, FEASIBLE)):
        (web / f"{t['id']}.json").write_text(json.dumps(t))
    model = script(
        tmp_path / "solve.jsonl",
        call("left_click", coordinate=[500, 500]),
        call("terminate", status="success"),
    )
    summary, results = evaluate(root, model, tmp_path / "results", run_name="r", stuck_after_s=3)
    got = outcomes(results)
    assert got["web/a_stuck"]["status"] == "error" and got["web/a_stuck"]["category"] == "error"
    assert "infrastructure error: no progress for 3 s while executing" in got["web/a_stuck"]["reason"]
    assert got["web/b_press"]["score"] == 1.0  # a fresh worker took the stuck one's place
    assert summary["overall"]["errors"] == 1 and summary["overall"]["success"] == 1
