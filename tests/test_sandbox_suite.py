"""The sandbox suite's files: every task validates, the meta file lists every task, every task has a
valid reference solution, and every setup step / getter / metric it names is implemented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tasks.osworld.getters import GETTERS
from tasks.osworld.metrics import METRICS
from tasks.osworld.setup_steps import SETUP_STEPS
from tasks.osworld.spec import check_names, load_suite
from tasks.reference.script import SANDBOX_SOLUTIONS, TerminateStep, load_solution

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent / "tasks" / "suites" / "sandbox"
OSWORLD_KEYS = {"id", "snapshot", "instruction", "source", "config", "related_apps", "evaluator"}


def test_every_task_file_validates_and_the_meta_file_lists_exactly_them() -> None:
    suite = load_suite(ROOT, name="sandbox")
    assert suite.errors == ()
    meta = json.loads((ROOT / "test_all.json").read_text())
    on_disk = {(p.parent.name, p.stem) for p in (ROOT / "examples").glob("*/*.json")}
    listed = {(d, i) for d, ids in meta.items() for i in ids}
    assert listed == on_disk and len(listed) == sum(len(ids) for ids in meta.values())
    assert {(t.domain, t.spec.id) for t in suite.tasks} == on_disk
    for entry in suite.tasks:
        raw = json.loads(entry.path.read_text())
        assert set(raw) >= OSWORLD_KEYS, entry.path
        assert raw["id"] == entry.path.stem
        assert check_names(entry, SETUP_STEPS, GETTERS, METRICS) is None


def test_suite_size_and_mix() -> None:
    tasks = load_suite(ROOT).tasks
    assert len(tasks) >= 40
    assert sum(t.spec.infeasible for t in tasks) >= 5
    desktop = [t for t in tasks if t.spec.env_kind == "desktop"]
    assert len(desktop) >= 5 and all(t.domain == "desktop" for t in desktop)
    assert {t.domain for t in tasks} >= {"flights", "signup", "settings", "shop", "records", "desktop"}
    lengths = [len(load_solution(t.spec).steps) for t in tasks]
    assert min(lengths) == 1 and max(lengths) >= 25  # single-step and long multi-step tasks


def test_browser_tasks_open_the_sandbox_through_the_placeholder() -> None:
    for entry in load_suite(ROOT).tasks:
        steps = [s.type for s in entry.spec.config]
        if entry.spec.env_kind == "browser":
            assert steps == ["sandbox_reset", "chrome_open_tabs"], entry.key
            url = entry.spec.config[1].parameters["urls_to_open"][0]
            app = entry.spec.config[0].parameters["app"]
            assert url.startswith(f"{{SANDBOX}}/{app}/") and app in entry.spec.related_apps
        else:
            assert "launch" in steps and "{SANDBOX}" not in entry.path.read_text()


def test_every_task_has_a_valid_solution_and_infeasible_ones_end_in_failure() -> None:
    ids = set()
    for entry in load_suite(ROOT).tasks:
        solution = load_solution(entry.spec)
        ids.add(solution.id)
        last = solution.steps[-1]
        assert isinstance(last, TerminateStep)
        assert last.status == ("failure" if entry.spec.infeasible else "success"), entry.key
        if entry.spec.infeasible:
            assert last.text and len(last.text) > 30  # an explanation for the user
    assert ids == {p.stem for p in SANDBOX_SOLUTIONS.glob("*.json")}  # no orphan solutions


def test_readme_lists_every_name_the_suite_uses() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", readme, flags=re.MULTILINE))
    used: set[str] = set()
    for entry in load_suite(ROOT).tasks:
        used |= {s.type for s in entry.spec.config}
        used |= set(entry.spec.evaluator.funcs)
        used |= {str(c["type"]) for _, c in entry.spec.evaluator.getter_configs()}
    assert used <= documented, used - documented
    assert "`{SANDBOX}`" in readme and "`{DOWNLOADS}`" in readme and "`{WORKDIR}`" in readme


def test_expected_files_exist() -> None:
    for entry in load_suite(ROOT).tasks:
        for _, config in entry.spec.evaluator.getter_configs():
            if config["type"] == "suite_file":
                assert (ROOT / config["path"]).is_file(), config
