"""Exactly-once evaluation (issue 11, item 5): workers die with the eval that started them (their
browser and X server too), a results folder takes one eval at a time, score lines are whole and
counted once, and a killed run resumes scoring every task exactly once without rewriting any.

The first tests are pure Python; the last two run `qwen-agent eval` as real processes, with real
Chromium and Xvfb, and kill only the eval's own process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from actions.processes import descendants, process_alive, process_start_time
from tasks.eval.results import FolderInUse, ResultsDir, TaskOutcome, owner_file
from tasks.pool.jsonl import read_lines as read_scores
from tasks.pool.lock import RUN_LOCK, WORKERS_LOCK, ResultsInUse, run_lock
from tests.conftest import require
from tests.test_harness_browser import FEASIBLE, browser_ok, call, script, site, task  # noqa: F401

REPO = Path(__file__).resolve().parent.parent


def _outcome(task_id: str, score: float = 1.0) -> TaskOutcome:
    return TaskOutcome(domain="web", task_id=task_id, status="scored", score=score)


# ----- score lines -------------------------------------------------------------------------------
@pytest.mark.unit
def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path: Path) -> None:
    results = ResultsDir(tmp_path / "r")
    results.write(_outcome("a"))
    with results.scores_path.open("ab") as f:  # a write cut short: no newline
        f.write(b'{"task": "web/b", "status": "scored", "sc')
    assert [x["task"] for x in read_scores(results.scores_path)] == ["web/a"]
    assert set(results.scored()) == {"web/a"} and not results.is_done("web", "b")
    results.repair()
    results.write(_outcome("b", 0.0))
    lines = results.scores_path.read_text().splitlines()
    assert [json.loads(x)["task"] for x in lines] == ["web/a", "web/b"]
    line = json.loads(lines[1])
    assert (line["domain"], line["task_id"], line["score"], line["pid"]) == ("web", "b", 0.0, os.getpid())
    assert (results.task_dir("web", "b") / "result.txt").read_text() == "0.0\n"


@pytest.mark.unit
def test_a_task_is_finished_by_its_score_line_not_by_result_txt(tmp_path: Path) -> None:
    results = ResultsDir(tmp_path / "r")
    half = results.prepare("web", "half")  # killed after result.txt, before its line
    (half / "result.txt").write_text("1.0\n")
    assert not results.is_done("web", "half") and results.load("web", "half") is None
    results.write(_outcome("done"))
    (results.task_dir("web", "done") / "result.txt").unlink()  # killed after the line
    loaded = results.load("web", "done")
    assert loaded is not None and loaded.score == 1.0
    assert (results.task_dir("web", "done") / "result.txt").read_text() == "1.0\n"  # put back
    results.forget({"web/done"})
    assert results.scored() == {}


# ----- task folders ------------------------------------------------------------------------------
@pytest.mark.unit
def test_a_task_folder_is_never_removed_under_a_live_process(tmp_path: Path) -> None:
    results = ResultsDir(tmp_path / "r")
    folder = results.prepare("web", "t")
    (folder / "traj.jsonl").write_text("{}\n")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner_file(folder).write_text(f"{other.pid} {process_start_time(other.pid)}\n")
        with pytest.raises(FolderInUse, match=f"process {other.pid}"):
            results.prepare("web", "t")
        with pytest.raises(FolderInUse):
            results.write(_outcome("t"))
        assert (folder / "traj.jsonl").is_file()
    finally:
        other.kill()
        other.wait()
    assert results.prepare("web", "t") == folder  # its process is gone: a half-run, removed
    assert list(folder.iterdir()) == []  # the task folder holds only what the run writes
    assert sorted(p.name for p in folder.parent.iterdir()) == [".t.worker", "t"]  # nothing left aside
    assert owner_file(folder).read_text().split()[0] == str(os.getpid())


# ----- the results folder's lock -----------------------------------------------------------------
@pytest.mark.unit
def test_one_eval_per_results_folder_and_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    (root / RUN_LOCK).write_text(json.dumps({"pid": 2**22 + 12345, "since": "yesterday"}) + "\n")
    with run_lock(root):  # its holder is dead: taken over
        assert json.loads((root / RUN_LOCK).read_text())["pid"] == os.getpid()
        busy = rf"in use by another `qwen-agent eval` \(pid {os.getpid()}"
        with pytest.raises(ResultsInUse, match=busy), run_lock(root):
            pass
    with run_lock(root):  # released when the run ends
        pass


@pytest.mark.unit
def test_the_lock_waits_for_a_previous_runs_workers(tmp_path: Path) -> None:
    root = tmp_path / "r"
    with run_lock(root):
        pass  # names us in the workers' lock, as an eval does before it starts its workers
    worker = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from tasks.pool.lock import hold_workers_lock
            hold_workers_lock(Path({str(root)!r}))
            print("held", flush=True)
            time.sleep(60)
        """)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert worker.stdout is not None and worker.stdout.readline() == "held\n"
        busy = rf"workers of an earlier .* \(pid {os.getpid()}"
        with pytest.raises(ResultsInUse, match=busy), run_lock(root):
            pass
    finally:
        worker.kill()
        worker.wait()
    with run_lock(root):
        pass


# ----- real runs -------------------------------------------------------------------------------
DESKTOP_TASK = {
    "id": "a_desktop",
    "instruction": "Nothing to do.",
    "config": [{"type": "sleep", "parameters": {"seconds": 2.0}}],
    "related_apps": [],
    "environment": "desktop",
    "evaluator": {
        "func": "exact_match",
        "result": {"type": "vm_command_line", "command": "echo yes", "shell": True},
        "expected": {"type": "rule", "rules": {"expected": "yes\n"}},
    },
}


def _suite(tmp_path: Path, url: str, n: int, sleep_s: float, desktop: bool = False) -> tuple[Path, list[str]]:
    web = tmp_path / "suite" / "examples" / "web"
    web.mkdir(parents=True)
    ids = [f"t{i}" for i in range(n)]
    for i in ids:  # a setup sleep keeps each task busy long enough to be killed in the middle
        t = task(i, url, FEASIBLE, [{"type": "sleep", "parameters": {"seconds": sleep_s}}])
        (web / f"{i}.json").write_text(json.dumps(t))
    if desktop:  # first in order: one worker starts its Xvfb at once and keeps it
        (web / "a_desktop.json").write_text(json.dumps(DESKTOP_TASK))
        ids.insert(0, "a_desktop")
    return tmp_path / "suite", ids


def _argv(tmp_path: Path, suite: Path) -> list[str]:
    model = script(
        tmp_path / "solve.jsonl",
        call("left_click", coordinate=[500, 500]),
        call("terminate", status="success"),
    )
    # --allow-host-setup: the desktop task's getter runs `echo yes` on this machine (our own task).
    return [sys.executable, "-m", "tasks.cli", "eval", str(suite), "--model", model,
            "--out", str(tmp_path / "results"), "--run-name", "r", "--workers", "2", "--max-steps", "3",
            "--allow-host-setup"]  # fmt: skip


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def _tree(pid: int) -> dict[int, tuple[int | None, str]]:
    return {p: (process_start_time(p), _name(p)) for p in descendants(pid)}


def _alive(tree: dict[int, tuple[int | None, str]]) -> list[str]:
    return sorted(f"{name} ({pid})" for pid, (started, name) in tree.items() if process_alive(pid, started))


def _kill_all(tree: dict[int, tuple[int | None, str]]) -> None:
    for pid, (started, _) in tree.items():
        if process_alive(pid, started):
            os.kill(pid, 9)


def _files(results: Path, tasks: set[str]) -> dict[str, tuple[bytes, int]]:
    got = {}
    for key in tasks:
        for name in ("score.json", "result.txt"):
            path = results / key / name
            if path.is_file():
                got[f"{key}/{name}"] = (path.read_bytes(), path.stat().st_mtime_ns)
    return got


@pytest.mark.browser
@pytest.mark.desktop
def test_killing_only_the_eval_ends_its_workers_and_resume_scores_each_task_once(
    tmp_path: Path,
    site: str,  # noqa: F811
) -> None:
    browser_ok()
    require(shutil.which("Xvfb") is not None, "Xvfb is not installed")
    suite, ids = _suite(tmp_path, site, n=8, sleep_s=1.0, desktop=True)
    argv = _argv(tmp_path, suite)
    results = tmp_path / "results" / "r"
    scores = results / "scores.jsonl"
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree: dict[int, tuple[int | None, str]] = {}
    try:
        deadline = time.monotonic() + 120
        while True:  # mid-suite, with Xvfb and Chromium running under the workers
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, f"not mid-suite in time: {sorted(_tree(proc.pid).values())}"
            tree = _tree(proc.pid)
            names = {name for _, name in tree.values()}
            if len(read_scores(scores)) >= 2 and "Xvfb" in names and "chromium" in names:
                break
            time.sleep(0.05)
        proc.kill()  # only the eval itself: its workers learn it from the kernel
        proc.wait()
        killed = time.monotonic()
        tree.update(_tree(proc.pid))  # anything started meanwhile (the pid is reaped: empty)
        while _alive(tree) and time.monotonic() < killed + 10:
            time.sleep(0.05)
        gone_after = time.monotonic() - killed
        assert _alive(tree) == [], f"still running {gone_after:.1f} s after the eval died"
        assert gone_after < 5, gone_after
        assert {"Xvfb", "chromium", "python"} <= {name for _, name in tree.values()}
    finally:
        _kill_all(tree)
    finished = {x["task"] for x in read_scores(scores)}
    assert 2 <= len(finished) < len(ids), finished
    before = _files(results, finished)
    time.sleep(1.0)  # an orphan would write in the meantime
    assert _files(results, finished) == before and {x["task"] for x in read_scores(scores)} == finished

    done = subprocess.run([*argv, "--resume"], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("skipped (finished earlier)") == len(finished)
    lines = [json.loads(x) for x in scores.read_text().splitlines()]
    assert Counter(x["task"] for x in lines) == Counter(f"web/{i}" for i in ids)  # each exactly once
    after = _files(results, finished)
    assert {k: v for k, v in after.items() if k in before} == before  # no finished task rewritten
    assert all((results / key / "result.txt").is_file() for key in finished)
    assert list(results.glob("web/.*.worker")) == []  # every task finished: no folder is owned
    summary = json.loads((results / "summary.json").read_text())
    assert summary["overall"]["scored"] == len(ids) and summary["overall"]["success_rate"] == 1.0


@pytest.mark.browser
def test_a_second_eval_on_the_same_results_refuses_while_the_first_runs(
    tmp_path: Path,
    site: str,  # noqa: F811
) -> None:
    browser_ok()
    suite, ids = _suite(tmp_path, site, n=2, sleep_s=20.0)
    argv = _argv(tmp_path, suite)
    results = tmp_path / "results" / "r"
    first = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree: dict[int, tuple[int | None, str]] = {}
    try:
        deadline = time.monotonic() + 60
        while len(list(results.glob("web/.*.worker"))) < len(ids):  # its workers are at their tasks
            assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
            assert time.monotonic() < deadline, "the first eval did not start a task in time"
            time.sleep(0.05)
        for extra in (["--resume"], ["--fresh"]):
            second = subprocess.run([*argv, *extra], cwd=REPO, capture_output=True, text=True, timeout=60)
            assert second.returncode == 2, second.stderr
            message = second.stderr.strip().splitlines()[-1]
            assert message.startswith(f"qwen-agent: error: {results} is in use by another `qwen-agent eval`")
            assert f"(pid {first.pid}, since " in message
        assert first.poll() is None  # undisturbed
        assert json.loads((results / RUN_LOCK).read_text())["pid"] == first.pid
        assert json.loads((results / WORKERS_LOCK).read_text())["pid"] == first.pid
        tree = _tree(first.pid)
    finally:
        first.kill()
        first.wait()
        deadline = time.monotonic() + 10
        while _alive(tree) and time.monotonic() < deadline:
            time.sleep(0.05)
        _kill_all(tree)
    assert not results.joinpath("scores.jsonl").exists()
