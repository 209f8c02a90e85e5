"""Issue 14, items 1 and 3: every real-format OSWorld task file loads (extra evaluator keys, list-valued
source), placeholders are filled from the environment, and the census names why a task cannot run
here (unknown names, host commands, paths outside the work folder, network, a browser getter on a
desktop), on the local environment and on the VM, in `qwen-agent eval PATH --list` too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tasks.cli import app
from tasks.osworld.census import Names, desktop_env_names, take_census, task_verdict
from tasks.osworld.host_access import host_access, outside_work_folder
from tasks.osworld.spec import TaskEntry, TaskSpec, environment_placeholders, load_suite, resolve_task
from tasks.suites import VOCABULARY, resolve_suite

pytestmark = pytest.mark.unit

REAL = Path(__file__).parent / "fixtures" / "osworld_real"
CHROME = "chrome/3f1c2a8e-5b7d-4e2a-9c6f-1d8e7a2b4c01"
PDF = "chrome/7a9d0e4b-2c6f-4b8a-8e1d-5f3a6c9b2d02"
SUDO = "os/b4e8c1d2-9f3a-4c5b-a7e6-0d1f2e3a4b03"
GSETTINGS = "os/c5f9d2e3-0a4b-4d6c-b8f7-1e2a3b4c5d04"
SCREEN = "os/d6a0e3f4-1b5c-4e7d-89a8-2f3b4c5d6e05"
CALC = "libreoffice_calc/e7b1f4a5-2c6d-4f8e-9ab9-3a4c5d6e7f06"
KILLALL = "multi_apps/f8c2a5b6-3d7e-4a9f-8bca-4b5d6e7f8a07"
INFEASIBLE = "gimp/a9d3b6c7-4e8f-4b0a-9cdb-5c6e7f8a9b08"
LOCAL = Names.of(VOCABULARY)


def _entries() -> dict[str, TaskEntry]:
    suite = load_suite(REAL)
    assert suite.errors == ()  # every file loads
    return {t.key: t for t in suite.tasks}


def test_every_real_format_file_loads_with_its_quirks() -> None:
    entries = _entries()
    assert len(entries) == len(list(REAL.glob("examples/*/*.json"))) == 8
    pdf = entries[PDF].spec
    assert isinstance(pdf.source, list) and len(pdf.source) == 2
    assert pdf.evaluator.notes == [
        "evaluator._config_note: the gold PDF was printed at 1920x1080; a different screen changes line breaks"
    ]
    assert entries[INFEASIBLE].spec.infeasible
    calc = entries[CALC].spec.evaluator
    assert calc.func == "compare_table" and calc.options == {
        "rules": [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}]
    }
    assert [s.type for s in calc.postconfig] == ["activate_window", "sleep", "execute", "sleep"]
    # the kept key survives placeholder resolution (a model_dump round trip)
    assert resolve_task(pdf, {}).evaluator.notes == pdf.evaluator.notes


def test_placeholders_are_filled_from_the_environment() -> None:
    entries = _entries()
    mapping = environment_placeholders((1280, 800), "s3cret")
    sudo = resolve_task(entries[SUDO].spec, mapping)
    assert sudo.instruction.endswith("My password is 's3cret'.")
    assert "echo s3cret | sudo -S" in sudo.config[0].parameters["command"][2]
    screen = resolve_task(entries[SCREEN].spec, mapping)
    assert "pyautogui.moveTo(640, 400)" in screen.config[0].parameters["command"]
    assert screen.evaluator.expected == {"type": "rule", "rules": {"include": ["1280x800"], "exclude": []}}
    vm = resolve_task(entries[SCREEN].spec, environment_placeholders((1920, 1080), "password"))
    assert "pyautogui.moveTo(960, 540)" in vm.config[0].parameters["command"]
    assert not re.search(r"\{[A-Z_]+\}", json.dumps(vm.model_dump(mode="json")))  # none left


def test_chrome_start_with_socat_is_a_browser_task_and_runs_locally() -> None:
    chrome = _entries()[CHROME]
    assert chrome.spec.env_kind == "browser"  # google-chrome + socat are the browser's own business
    assert host_access(chrome.spec) == []
    assert task_verdict(chrome, LOCAL, "local").runnable


def test_local_census_names_every_reason() -> None:
    census = take_census(load_suite(REAL), LOCAL, "local")
    by_key = {v.key: v for v in census.verdicts}
    assert {k for k, v in by_key.items() if v.runnable} == {CHROME, INFEASIBLE}
    sudo = by_key[SUDO]
    assert sudo.refused
    assert sudo.why.startswith(
        "refused: runs host commands (/bin/bash -c echo {CLIENT_PASSWORD} | sudo -S apt"
    )
    assert sudo.why.endswith("; use --vm URL or --allow-host-setup")
    assert "gsettings set org.gnome.desktop.interface" in by_key[GSETTINGS].why
    killall = by_key[KILLALL]
    assert "killall thunderbird; pip install openpyxl" in killall.why
    assert "touches paths outside the task's work folder (~/Desktop/contacts.csv)" in killall.why
    assert "unsupported metric 'check_csv'" in killall.why and not killall.refused  # an unknown name too
    pdf = by_key[PDF]
    assert "unsupported metric 'compare_pdfs'" in pdf.why
    assert "getter 'cloud_file' downloads gold files" in pdf.why
    assert "(/home/user/Desktop/lecture.pdf)" in pdf.why
    calc = by_key[CALC]
    assert "/home/user/Desktop/Sales.xlsx" in calc.why and "pyautogui.hotkey" in calc.why  # postconfig
    assert census.runnable == 2
    top = dict(census.top_reasons())
    assert top["runs host commands"] == 5 and top["getter 'cloud_file' needs network access"] == 2
    assert census.summary_line().startswith("runnable on local: 2 / 8; not: runs host commands 5, ")


def test_consent_lifts_only_the_refusals() -> None:
    census = take_census(load_suite(REAL), LOCAL, "local", allow_host_setup=True)
    by_key = {v.key: v for v in census.verdicts}
    assert by_key[SUDO].runnable and by_key[GSETTINGS].runnable and by_key[SCREEN].runnable
    assert not by_key[KILLALL].runnable and "refused" not in by_key[KILLALL].why  # check_csv remains


def test_vm_census_uses_desktop_envs_names() -> None:
    names = desktop_env_names()
    assert {"compare_table", "compare_pdfs", "infeasible", "check_csv"} <= names.metrics
    assert {"vm_file", "cloud_file", "rule", "vm_command_line"} <= names.getters
    assert {"download", "launch", "execute", "command", "chrome_open_tabs"} <= names.setup_steps
    census = take_census(load_suite(REAL), names, "vm")
    assert census.runnable == 8 and census.summary_line() == "runnable on vm: 8 / 8"
    sandbox = take_census(resolve_suite("sandbox"), names, "vm")
    assert dict(sandbox.top_reasons())["unknown setup step 'sandbox_reset'"] == 39


def test_on_the_vm_a_metric_that_runs_task_code_here_needs_consent(tmp_path: Path) -> None:
    """OSWorld's check_python_file_by_test_suite imports the task's test file on THIS machine."""
    spec = TaskSpec.model_validate({
        "id": "t", "instruction": "x",
        "evaluator": {"func": "check_python_file_by_test_suite", "result": {"type": "vm_file", "path": "/home/user/a.py",
                      "dest": "a.py"}, "expected": {"type": "cloud_file", "path": "https://x.example/test.py", "dest": "t.py"}},
    })  # fmt: skip
    entry = TaskEntry(domain="vs_code", spec=spec, path=tmp_path / "t.json")
    names = desktop_env_names()
    verdict = task_verdict(entry, names, "vm")
    assert verdict.refused and "runs the task's Python test file" in verdict.why
    assert verdict.why.endswith("use --allow-host-setup to run it as OSWorld does")
    assert task_verdict(entry, names, "vm", allow_host_setup=True).runnable


def test_builtin_suites_are_trusted_and_a_copy_elsewhere_is_not() -> None:
    sandbox = resolve_suite("sandbox")
    assert sandbox.trusted and take_census(sandbox, LOCAL, "local").runnable == len(sandbox.tasks)
    copy = sandbox.model_copy(update={"trusted": False})
    refused = [v for v in take_census(copy, LOCAL, "local").verdicts if not v.runnable]
    assert refused and all(v.refused and v.domain == "desktop" for v in refused)


def test_a_chrome_getter_on_a_desktop_task_is_named(tmp_path: Path) -> None:
    spec = TaskSpec.model_validate({
        "id": "t", "instruction": "x", "related_apps": ["chrome", "libreoffice_calc"],
        "config": [{"type": "launch", "parameters": {"command": ["google-chrome", "--remote-debugging-port=1337"]}},
                   {"type": "launch", "parameters": {"command": ["libreoffice", "--calc"]}}],
        "evaluator": {"func": "is_expected_active_tab", "result": {"type": "active_tab_info"},
                      "expected": {"type": "rule", "rules": {"type": "url", "url": "https://a.example/"}}},
    })  # fmt: skip
    verdict = task_verdict(TaskEntry(domain="multi_apps", spec=spec, path=tmp_path / "t.json"), LOCAL)
    assert spec.env_kind == "desktop"
    assert "'active_tab_info' needs the browser environment, but the task runs on the desktop" in verdict.why
    assert "google-chrome --remote-debugging-port=1337" in verdict.why  # the host's Chrome: a command


def test_a_local_file_opened_in_a_tab_is_host_access(tmp_path: Path) -> None:
    """Its screenshot would carry the file's contents to the model's endpoint."""
    spec = TaskSpec.model_validate({
        "id": "t", "instruction": "x", "related_apps": ["chrome"],
        "config": [{"type": "chrome_open_tabs", "parameters": {"urls_to_open": [
            "https://example.com/", "file:///home/user/.ssh/id_rsa", "file://{WORKDIR}/page.html"]}}],
        "evaluator": {"func": "infeasible"},
    })  # fmt: skip
    assert [(a.kind, a.what) for a in host_access(spec)] == [("path", "file:///home/user/.ssh/id_rsa")]


def test_a_getter_that_would_write_outside_its_cache_is_refused(tmp_path: Path) -> None:
    """vm_file's `dest` is joined to the cache folder: an absolute one would overwrite any file."""
    spec = TaskSpec.model_validate({
        "id": "t", "instruction": "x",
        "evaluator": {"func": "compare_text_file", "result": {"type": "vm_file", "path": "a.txt", "dest": "/tmp/x/.bashrc"},
                      "expected": {"type": "vm_file", "path": "b.txt", "dest": "b.txt"}},
    })  # fmt: skip
    found = host_access(spec)
    assert [(a.kind, a.what, a.where) for a in found] == [("path", "/tmp/x/.bashrc", "evaluator.result")]
    verdict = task_verdict(TaskEntry(domain="os", spec=spec, path=tmp_path / "t.json"), LOCAL)
    assert verdict.refused and "/tmp/x/.bashrc" in verdict.why


@pytest.mark.parametrize(
    ("path", "outside"),
    [("{WORKDIR}/a.txt", False), ("{DOWNLOADS}/x.csv", False), ("notes/a.txt", False),
     ("/home/user/a.txt", True), ("~/a.txt", True), ("{WORKDIR}/../../etc/passwd", True),
     ("../x", True), ("file:///etc/passwd", True), ("file://{WORKDIR}/page.html", False)],
)  # fmt: skip
def test_outside_work_folder(path: str, outside: bool) -> None:
    assert outside_work_folder(path) is outside


def test_eval_list_with_a_path_prints_each_task_and_the_summary() -> None:
    result = CliRunner().invoke(app, ["eval", str(REAL), "--list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1].startswith("runnable on local: 2 / 8; not: runs host commands 5")
    row = next(x for x in lines if "b4e8c1d2-9f3a-4c5b-a7e6-0d1f2e3a4b03" in x)
    assert row.split()[0] == "os" and "not runnable: refused: runs host commands (" in row
    assert "sudo -S apt-get" in row
    assert any("3f1c2a8e-5b7d-4e2a-9c6f-1d8e7a2b4c01  runnable" in x for x in lines)
    assert any("note: evaluator._config_note:" in x for x in lines)
    on_vm = CliRunner().invoke(app, ["eval", str(REAL), "--list", "--vm", "http://localhost:5000"])
    assert on_vm.output.splitlines()[-1] == "runnable on vm: 8 / 8"
    builtin = CliRunner().invoke(app, ["eval", "--list"])  # no PATH: the built-in suites, as before
    assert builtin.exit_code == 0 and "sandbox" in builtin.output and "miniwob" in builtin.output


def test_google_chrome_is_started_as_the_chromium_found_here() -> None:
    """OSWorld's desktop tasks launch `google-chrome`; with consent on a machine without it, Chromium
    stands in with the same arguments."""
    import shutil

    from actions.chromium import find_chromium
    from tasks.osworld.setup_steps import _as_chromium

    exe = find_chromium()
    if shutil.which("google-chrome") is None and exe is not None:
        assert _as_chromium(["google-chrome", "--remote-debugging-port=1337"]) == [
            exe,
            "--remote-debugging-port=1337",
        ]
    assert _as_chromium(["xterm", "-e", "google-chrome"]) == ["xterm", "-e", "google-chrome"]
