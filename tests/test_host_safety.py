"""Issue 14, items 1 and 2: a task file's host commands never run on the local machine without consent
(the refusal comes before any setup step, and nothing is executed), and infrastructure errors stay
out of the success rate, counted beside it, and run again with --retry-errors."""

from __future__ import annotations

import json
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tasks.cli import app
from tasks.eval.results import TaskOutcome, summarize
from tests.test_harness_browser import browser_ok, call, script

GIVE_UP = {"func": "infeasible"}  # the scripted model says FAIL: a run that gets scored scores 1


def _task(task_id: str, config: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": task_id, "instruction": "Say whether this can be done.", "source": ["test", "osworld-like"],
        "config": config, "related_apps": ["chrome"], "evaluator": GIVE_UP,
    }  # fmt: skip


def _suite(root: Path, *tasks: dict[str, Any]) -> Path:
    web = root / "examples" / "web"
    web.mkdir(parents=True)
    for t in tasks:
        (web / f"{t['id']}.json").write_text(json.dumps(t))
    return root


def _evaluate(suite: Path, out: Path, model: str, **kw: Any) -> tuple[dict[str, Any], Path, list[str]]:
    from tasks.eval.evaluate import evaluate
    from tasks.eval.harness import EvalConfig
    from tasks.suites import resolve_suite

    loaded = resolve_suite(str(suite))
    run_kw = {k: kw.pop(k) for k in ("resume", "retry_errors") if k in kw}
    config = EvalConfig(suite_name="t", suite_root=loaded.root, model=model, out=out, max_steps=3, **kw)
    seen: list[str] = []
    summary, root = evaluate(loaded, config, lambda kind, o: seen.append(f"{kind} {o}"), **run_kw)
    return summary, root, seen


def _score(root: Path, task_id: str) -> dict[str, Any]:
    return dict(json.loads((root / "web" / task_id / "score.json").read_text()))


def _danger(marker: Path) -> dict[str, Any]:
    return _task("danger", [
        {"type": "execute", "parameters": {"command": ["touch", str(marker)]}},
        {"type": "execute", "parameters": {"command": "echo {CLIENT_PASSWORD} | sudo -S killall -9 Xvfb",
                                           "shell": True}},
        {"type": "download", "parameters": {"files": [{"url": "danger.json",
                                                       "path": "/home/user/qwen-agent-never/x.json"}]}},
    ])  # fmt: skip


@pytest.mark.unit
def test_host_commands_are_refused_before_anything_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker-danger"
    suite = _suite(tmp_path / "suite", _danger(marker))
    summary, root, seen = _evaluate(suite, tmp_path / "results", "scripted:/nonexistent.jsonl")
    assert not marker.exists()  # the harmless first step did not run either: the check comes first
    assert not Path("/home/user/qwen-agent-never").exists()
    outcome = _score(root, "danger")
    assert outcome["status"] == "refused" and outcome["score"] is None
    reason = outcome["reason"]
    assert reason.startswith("refused: runs host commands (touch /")  # long commands are shortened
    assert "; echo {CLIENT_PASSWORD} | sudo -S killall -9 Xvfb)" in reason
    assert "touches paths outside the task's work folder (/home/user/qwen-agent-never/x.json)" in reason
    assert reason.endswith("; use --vm URL or --allow-host-setup")
    assert seen == []  # no worker started, no task began
    assert not (root / "web" / "danger" / "traj.jsonl").exists()
    assert summary["overall"]["refused"] == 1 and summary["overall"]["scored"] == 0
    assert summary["not_run"] == [{"task": "web/danger", "status": "refused", "reason": reason}]


@pytest.mark.unit
def test_with_a_vm_the_setup_goes_to_the_vm_never_to_this_machine(tmp_path: Path) -> None:
    """On --vm a task's commands are the VM's business: a VM that does not answer is an
    infrastructure error naming it, and the command never runs here instead."""
    from tasks.eval.harness import EvalConfig, _Worker
    from tasks.eval.results import ResultsDir
    from tasks.osworld.spec import load_suite

    marker = tmp_path / "marker-vm"
    suite = load_suite(_suite(tmp_path / "suite", _danger(marker)))
    config = EvalConfig(suite_name="t", suite_root=suite.root, model="reference", vm=("http://127.0.0.1:9",))
    worker = _Worker(config, ResultsDir(tmp_path / "r"))
    try:
        outcome = worker.run(suite.tasks[0])
    finally:
        worker.close()
    assert outcome.status == "error" and "127.0.0.1:9" in outcome.reason
    assert not marker.exists()


@pytest.mark.browser
def test_with_consent_the_harmless_setup_runs(tmp_path: Path) -> None:
    browser_ok()
    marker = tmp_path / "marker-touch"
    suite = _suite(tmp_path / "suite", _task("touch", [
        {"type": "execute", "parameters": {"command": ["touch", str(marker)]}},
    ]))  # fmt: skip
    model = script(tmp_path / "fail.jsonl", call("terminate", status="failure"))
    _, root, _ = _evaluate(suite, tmp_path / "results", model, run_name="no")
    assert _score(root, "touch")["status"] == "refused" and not marker.exists()
    summary, root, _ = _evaluate(suite, tmp_path / "results", model, run_name="yes", allow_host_setup=True)
    assert marker.is_file()  # consent given: the setup ran
    assert _score(root, "touch")["status"] == "scored" and summary["overall"]["success_rate"] == 1.0


@pytest.mark.unit
def test_errors_are_counted_apart_from_the_success_rate() -> None:
    outcomes = [
        TaskOutcome(domain="d", task_id="a", status="scored", score=1.0),
        TaskOutcome(domain="d", task_id="b", status="scored", score=0.0, category="wrong_final_state"),
        TaskOutcome(domain="d", task_id="c", status="setup_failed", score=0.0, category="setup_failed",
                    reason="download of http://x failed"),
        TaskOutcome(domain="d", task_id="e", status="error", score=0.0, category="error", reason="evaluator"),
    ]  # fmt: skip
    summary = summarize(outcomes, "s", "m")
    assert summary["overall"]["success_rate"] == 0.5 and summary["overall"]["scored"] == 2
    assert summary["overall"]["errors"] == 2 and summary["errors"] == 2
    assert [e["task"] for e in summary["error_tasks"]] == ["d/c", "d/e"]
    assert summary["error_tasks"][0]["reason"] == "download of http://x failed"
    assert summary["failures"] == {"wrong_final_state": 1}  # errors are not the model's failures


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.browser
def test_a_failed_setup_is_an_error_outside_the_rate_and_retry_errors_reruns_only_it(tmp_path: Path) -> None:
    browser_ok()
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    port = _closed_port()
    www = tmp_path / "www"
    www.mkdir()
    (www / "f.txt").write_text("data\n")
    flaky = _task("flaky", [{"type": "download", "parameters": {
        "files": [{"url": f"http://127.0.0.1:{port}/f.txt", "path": "{WORKDIR}/f.txt"}]}}])  # fmt: skip
    suite = _suite(tmp_path / "suite", flaky, _task("fine", []))
    model = script(tmp_path / "fail.jsonl", call("terminate", status="failure"))
    out = tmp_path / "results"
    argv = ["eval", str(suite), "--model", model, "--out", str(out), "--run-name", "r", "--max-steps", "3"]
    first = CliRunner().invoke(app, argv)
    assert first.exit_code == 0, first.output
    assert "success rate 100.0% over 1 scored task(s); 1 infrastructure error(s) not counted" in first.output
    root = out / "r"
    summary = json.loads((root / "summary.json").read_text())
    assert summary["overall"]["success_rate"] == 1.0 and summary["errors"] == 1
    assert summary["error_tasks"][0]["task"] == "web/flaky"
    assert f"127.0.0.1:{port}" in summary["error_tasks"][0]["reason"]
    assert "Infrastructure errors (1, not counted in the success rate)" in (root / "report.html").read_text()
    fine_line = next(x for x in (root / "scores.jsonl").read_text().splitlines() if "web/fine" in x)

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(www))
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)  # the download works now
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        again = CliRunner().invoke(app, [*argv, "--retry-errors"])
    finally:
        httpd.shutdown()
    assert again.exit_code == 0, again.output
    assert again.output.count("skipped (finished earlier)") == 1 and "web/fine" in again.output
    lines = (root / "scores.jsonl").read_text().splitlines()
    assert Counter(json.loads(x)["task"] for x in lines) == Counter({"web/fine": 1, "web/flaky": 1})
    assert fine_line in lines  # the kept score is the very same line
    summary = json.loads((root / "summary.json").read_text())
    assert summary["overall"]["scored"] == 2 and summary["errors"] == 0
    assert _score(root, "flaky")["status"] == "scored"
