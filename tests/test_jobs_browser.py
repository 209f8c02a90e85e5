"""Repeatable jobs end to end, as a user runs them: `qwen-agent run --param` with a scripted model on
the sandbox's intake form, `qwen-agent job compile`, then `qwen-agent job run` over CSV rows. Every
row is checked against the sandbox server's own state (the hires it stored), never against our
own report of it.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actions.processes import descendants, process_alive, process_start_time
from tasks.apps.sandbox.server import SandboxServer
from tasks.cli.common import ExitCode
from tasks.jobs.files import load_job, write_job
from tasks.jobs.spec import FieldHolds, UrlIs
from tasks.pool.jsonl import read_lines
from tests.test_agent_browser import at, call

pytestmark = pytest.mark.browser

QWEN_AGENT = [sys.executable, "-c", "from tasks.cli import main; main()"]
DONE = call("Done", action="terminate", status="success")
HIRE = "Add the new hire {{name}} ({{email}}) to {{dept}}, starting {{start}}"
ANN = {"name": "Ann Lee", "email": "ann@acme.test", "dept": "Sales", "start": "2027-01-04"}
FIELDS = ("name", "email", "department", "start_date")


def cli(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run(
        [*QWEN_AGENT, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def script(path: Path, replies: list[str]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in replies), encoding="utf-8")
    return f"scripted:{path}"


def params(values: dict[str, str]) -> list[str]:
    return [x for name, value in values.items() for x in ("--param", f"{name}={value}")]


def hire(n: int, valid: bool = True) -> dict[str, str]:
    email = f"hire{n}@acme.test" if valid else f"hire{n}-at-acme"
    return {
        "name": f"Hire Number{n}",
        "email": email,
        "dept": ("Sales", "Support", "Design")[n % 3],
        "start": f"2027-03-{1 + n % 28:02d}",
    }


def stored(values: dict[str, str]) -> tuple[str, ...]:
    return (values["name"], values["email"], values["dept"], values["start"])


def hires(server: SandboxServer) -> list[tuple[str, ...]]:
    return [tuple(h[f] for f in FIELDS) for h in server.state("intake")["hires"]]


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["email", "name", "dept", "start", "note"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "note": "ignored column"})
    return path


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def filling(
    page: Any, values: dict[str, str], name: str = "#f-name", submit: str = "#save-hire"
) -> list[str]:
    """The scripted model's replies for one hire on `page` (the layout the coordinates come from)."""
    return [
        call("Click the Full name field", action="left_click", coordinate=at(page, name)),
        call("Type the name", action="type", text=values["name"]),
        call("Click the Work email field", action="left_click", coordinate=at(page, "#f-email")),
        call("Type the email", action="type", text=values["email"]),
        call("Click the Department field", action="left_click", coordinate=at(page, "#f-dept")),
        call("Type the department", action="type", text=values["dept"]),
        call("Click the Start date field", action="left_click", coordinate=at(page, "#f-start")),
        call("Type the start date", action="type", text=values["start"]),
        call("Click Save hire", action="left_click", coordinate=at(page, submit)),
        DONE,
    ]


@pytest.fixture(scope="module")
def job(
    sandbox: SandboxServer, browser_factory: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A job compiled from one scripted-model run of the intake form with parameters."""
    root = tmp_path_factory.mktemp("job")
    url = sandbox.app_url("intake")
    page = browser_factory(start_url=url)
    page.reset()
    model = script(root / "replies.jsonl", filling(page, ANN))
    sandbox.reset("intake")
    run = cli(
        "run", HIRE, *params(ANN), "--url", url, "--model", model, "--record-dir", root / "run", "--quiet"
    )
    assert run.returncode == ExitCode.SUCCESS, run.stderr
    assert hires(sandbox) == [stored(ANN)]
    compiled = cli("job", "compile", root / "run", "-o", root / "job")
    assert compiled.returncode == 0, compiled.stderr
    assert "9 steps, parameters: name, email, dept, start, risky steps: 0" in compiled.stdout
    return root / "job"


def test_the_compiled_job_keeps_intent_parameters_evidence_and_expectations(job: Path) -> None:
    loaded = load_job(job)
    assert loaded.instruction == HIRE and loaded.parameters == ("name", "email", "dept", "start")
    assert [s.action.kind for s in loaded.steps] == ["click", "type"] * 4 + ["click"]
    typed = [s for s in loaded.steps if s.action.kind == "type"]
    assert [s.action.text for s in typed] == ["{{name}}", "{{email}}", "{{dept}}", "{{start}}"]  # type: ignore[union-attr]
    assert all(s.expect == (FieldHolds(contains=s.action.text),) for s in typed)  # type: ignore[union-attr]
    first = loaded.steps[0].target
    assert first is not None and first.element is not None and first.anchor is not None
    assert (first.element.role, first.element.name) == ("textbox", "Full name")
    assert (job / first.anchor.image).is_file()
    assert loaded.steps[-1].expect == (UrlIs(equals=loaded.start.url + "saved.html"),)  # type: ignore[operator]
    assert loaded.steps[-1].intent == "Click Save hire" and not any(s.risky for s in loaded.steps)


def test_fifty_rows_on_two_workers_need_no_model_and_bad_data_fails_with_the_pages_message(
    job: Path, sandbox: SandboxServer, tmp_path: Path
) -> None:
    rows = [hire(n, valid=n != 17) for n in range(50)]
    # The model is there, counted, and only the bad row's fallback asks it (and is told the truth).
    model = script(
        tmp_path / "model.jsonl", [call("The form rejects the email", action="terminate", status="failure")]
    )
    sandbox.reset("intake")
    out = tmp_path / "batch"
    started = time.monotonic()
    done = cli("job", "run", job, "--rows", write_rows(tmp_path / "rows.csv", rows), "--key", "email",
               "--workers", "2", "--out", out, "--model", model, timeout=600)  # fmt: skip
    seconds = time.monotonic() - started
    assert done.returncode == ExitCode.FAILURE, done.stderr  # one row failed
    results = {x["key"]: x for x in read_lines(out / "results.jsonl")}
    assert len(results) == 50
    bad = results["hire17-at-acme"]
    assert bad["status"] == "failed" and "Enter a valid email address" in bad["reason"], bad
    assert bad["model_calls"] == 1 and (out / bad["screenshot"]).is_file()
    good = [x for k, x in results.items() if k != "hire17-at-acme"]
    assert all(x["status"] == "done" and x["model_calls"] == 0 and x["fallbacks"] == 0 for x in good)
    # The server holds exactly the 49 good rows, once each.
    assert Counter(hires(sandbox)) == Counter(stored(r) for r in rows if r["email"] != "hire17-at-acme")
    assert len((out / "results.csv").read_text().splitlines()) == 51 and (out / "summary.html").is_file()
    assert "49/50 rows done, 1 failed" in done.stdout
    print(f"50 rows on 2 workers: {seconds:.1f} s")


def test_a_changed_layout_is_served_by_the_model_and_the_healed_job_needs_none(
    job: Path, sandbox: SandboxServer, browser_factory: Callable[..., Any], tmp_path: Path
) -> None:
    v2 = sandbox.app_url("intake") + "?layout=v2"
    page = browser_factory(start_url=v2)
    page.reset()
    rows = [hire(n) for n in (101, 102, 103)]
    # Per row the renamed name field and the renamed, moved submit button differ: one model turn each.
    turns = [call("Click the Employee name field", action="left_click", coordinate=at(page, "#f-employee")), DONE,
             call("Click Submit hire", action="left_click", coordinate=at(page, "#submit-hire")), DONE] * 3  # fmt: skip
    sandbox.reset("intake")
    healed = tmp_path / "healed"
    run = cli("job", "run", job, "--rows", write_rows(tmp_path / "v2.csv", rows), "--url", v2,
              "--model", script(tmp_path / "v2.jsonl", turns), "--out", tmp_path / "v2", "--save-healed", healed)  # fmt: skip
    assert run.returncode == 0, run.stderr + run.stdout
    results = read_lines(tmp_path / "v2" / "results.jsonl")
    assert [(x["status"], x["fallbacks"], x["model_calls"]) for x in results] == [("done", 2, 4)] * 3
    assert [[s["number"] for s in x["steps"] if s["how"] == "model"] for x in results] == [[1, 9]] * 3
    assert hires(sandbox) == [stored(r) for r in rows]
    # The healed job finds the new controls by themselves: zero model calls on v2.
    more = [hire(n) for n in (104, 105)]
    again = cli("job", "run", healed, "--rows", write_rows(tmp_path / "v2b.csv", more), "--url", v2,
                "--model", script(tmp_path / "none.jsonl", []), "--out", tmp_path / "v2b")  # fmt: skip
    assert again.returncode == 0, again.stderr + again.stdout
    assert [(x["status"], x["model_calls"]) for x in read_lines(tmp_path / "v2b" / "results.jsonl")] == [
        ("done", 0)
    ] * 2
    assert hires(sandbox)[-2:] == [stored(r) for r in more]
    assert load_job(job) != load_job(healed)  # the original was left alone


def test_a_job_recorded_at_scale_1_replays_at_scale_2_by_its_pixels_alone(
    job: Path, sandbox: SandboxServer, tmp_path: Path
) -> None:
    # Edited by hand as a user may: no element evidence left, only the template anchors.
    loaded = load_job(job)
    steps = tuple(
        s.model_copy(update={"target": s.target.model_copy(update={"element": None})}) if s.target else s
        for s in loaded.steps
    )
    pixels_only = tmp_path / "pixels"
    write_job(loaded.model_copy(update={"steps": steps}), pixels_only)
    for step in loaded.steps:
        if step.target and step.target.anchor:
            (pixels_only / step.target.anchor.image).write_bytes(
                (job / step.target.anchor.image).read_bytes()
            )
    sandbox.reset("intake")
    bo = hire(7)
    run = cli("job", "run", pixels_only, *params(bo), "--device-scale-factor", "2", "--out", tmp_path / "out")
    assert run.returncode == 0, run.stderr + run.stdout
    (result,) = read_lines(tmp_path / "out" / "results.jsonl")
    assert result["status"] == "done" and {s["how"] for s in result["steps"]} == {"template", "direct"}
    assert hires(sandbox) == [stored(bo)]


def test_sigkill_mid_batch_then_resume_records_every_row_once(
    job: Path, sandbox: SandboxServer, tmp_path: Path
) -> None:
    rows = [hire(n) for n in range(200, 212)]
    csv_path = write_rows(tmp_path / "rows.csv", rows)
    out = tmp_path / "batch"
    sandbox.reset("intake")
    args = [
        *QWEN_AGENT,
        "job",
        "run",
        str(job),
        "--rows",
        str(csv_path),
        "--key",
        "email",
        "--workers",
        "2",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(read_lines(out / "results.jsonl")) < 3:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    tree = [(pid, process_start_time(pid)) for pid in descendants(proc.pid)]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The workers die with the batch (and a resume refuses to start while one lives).
    gone = time.monotonic() + 15
    while any(process_alive(pid, started) for pid, started in tree) and time.monotonic() < gone:
        time.sleep(0.1)
    assert not any(process_alive(pid, started) for pid, started in tree)
    first = {x["key"]: x for x in read_lines(out / "results.jsonl")}
    assert 3 <= len(first) < len(rows)
    resumed = cli(
        "job", "run", job, "--rows", csv_path, "--key", "email", "--workers", "2", "--out", out, "--resume"
    )
    assert resumed.returncode in (0, ExitCode.FAILURE), resumed.stderr
    lines = read_lines(out / "results.jsonl")
    assert Counter(x["key"] for x in lines) == Counter(r["email"] for r in rows)  # each exactly once
    final = {x["key"]: x for x in lines}
    assert {k: final[k] for k in first} == first  # finished rows were not run again
    stored_now = Counter(hires(sandbox))
    assert max(stored_now.values()) == 1  # no row was submitted twice
    for row in rows:
        status = final[row["email"]]["status"]
        # Done rows are stored; a row cut off mid-way was not re-run blindly: a person checks it.
        assert (status == "done" and stored_now[stored(row)] == 1) or status == "needs_human", final[
            row["email"]
        ]
    assert resumed.stderr.count("skipped (finished earlier)") == len(first)


def test_a_risky_step_needs_approval_and_is_never_clicked_by_its_pixels_alone(
    job: Path, sandbox: SandboxServer, tmp_path: Path
) -> None:
    loaded = load_job(job)
    last = loaded.steps[-1]
    risky = loaded.model_copy(
        update={"steps": (*loaded.steps[:-1], last.model_copy(update={"risky": "Click 'Save hire'?"}))}
    )
    by_pixels = risky.model_copy(
        update={
            "steps": (
                *risky.steps[:-1],
                risky.steps[-1].model_copy(
                    update={"target": last.target.model_copy(update={"element": None})}
                ),
            )
        }  # type: ignore[union-attr]
    )
    folders = {}
    for name, edited in (("risky", risky), ("pixels", by_pixels)):
        folders[name] = tmp_path / name
        write_job(edited, folders[name])
        for step in edited.steps:
            if step.target and step.target.anchor:
                (folders[name] / step.target.anchor.image).write_bytes(
                    (job / step.target.anchor.image).read_bytes()
                )
    sandbox.reset("intake")
    asked = cli("job", "run", folders["risky"], *params(hire(301)), "--out", tmp_path / "a")
    assert asked.returncode == ExitCode.FAILURE
    (result,) = read_lines(tmp_path / "a" / "results.jsonl")
    assert result["status"] == "needs_human" and "rerun with --yes" in result["reason"]
    pixels = cli("job", "run", folders["pixels"], *params(hire(302)), "--yes", "--out", tmp_path / "b")
    assert pixels.returncode == ExitCode.FAILURE
    (result,) = read_lines(tmp_path / "b" / "results.jsonl")
    assert result["status"] == "needs_human" and "found only by its pixels" in result["reason"]
    assert hires(sandbox) == []  # neither reached the server
    approved = cli("job", "run", folders["risky"], *params(hire(303)), "--yes", "--out", tmp_path / "c")
    assert approved.returncode == 0, approved.stderr + approved.stdout
    assert hires(sandbox) == [stored(hire(303))]


def test_bad_rows_are_refused_before_any_row_runs_and_halt_on_error_stops_the_batch(
    job: Path, sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.reset("intake")
    missing = tmp_path / "missing.csv"
    missing.write_text("name,email\nAnn,ann@acme.test\n")
    refused = cli("job", "run", job, "--rows", missing, "--out", tmp_path / "none")
    assert refused.returncode == ExitCode.USAGE
    assert f"{missing}:1: no column for parameter(s) dept, start" in refused.stderr
    unknown = cli("job", "run", job, *params(ANN), "--param", "color=red", "--out", tmp_path / "none")
    assert unknown.returncode == ExitCode.USAGE and "unknown parameter(s) color" in unknown.stderr
    assert not (tmp_path / "none").exists() and hires(sandbox) == []
    rows = [hire(401, valid=False), hire(402), hire(403)]
    halted = cli("job", "run", job, "--rows", write_rows(tmp_path / "rows.csv", rows), "--halt-on-error",
                 "--out", tmp_path / "halted")  # fmt: skip
    assert halted.returncode == ExitCode.FAILURE
    assert [x["status"] for x in read_lines(tmp_path / "halted" / "results.jsonl")] == ["failed"]
    assert hires(sandbox) == []  # the rows after the failed one never started
