"""Task files and suite loading: OSWorld's keys, clear errors naming file and field, meta files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tasks.osworld.getters import GETTERS
from tasks.osworld.metrics import METRICS
from tasks.osworld.setup_steps import SETUP_STEPS
from tasks.osworld.spec import TaskEntry, TaskFileError, check_names, load_suite, resolve_task

pytestmark = pytest.mark.unit

GOOD: dict[str, Any] = {
    "id": "good-1",
    "snapshot": "chrome",
    "instruction": "Open {SANDBOX}/flights/",
    "source": "test",
    "config": [{"type": "chrome_open_tabs", "parameters": {"urls_to_open": ["{SANDBOX}/flights/"]}}],
    "related_apps": ["chrome", "flights"],
    "evaluator": {
        "func": "is_expected_url_pattern_match",
        "result": {"type": "active_tab_info"},
        "expected": {"type": "rule", "rules": {"expected": ["/flights/"]}},
    },
    "trajectory": "trajectories/",
    "proxy": False,
    "possibility_of_env_change": "low",
}


def write(root: Path, domain: str, task_id: str, data: Any) -> Path:
    path = root / "examples" / domain / f"{task_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_loads_osworld_layout_with_meta_order(tmp_path: Path) -> None:
    write(tmp_path, "web", "good-1", GOOD)
    write(tmp_path, "web", "good-2", {**GOOD, "id": "good-2"})
    (tmp_path / "test_all.json").write_text(json.dumps({"web": ["good-2", "good-1"]}))
    suite = load_suite(tmp_path)
    assert [t.spec.id for t in suite.tasks] == ["good-2", "good-1"]
    assert suite.errors == ()
    assert suite.tasks[0].spec.env_kind == "browser"
    resolved = resolve_task(suite.tasks[0].spec, {"SANDBOX": "http://127.0.0.1:9"})
    assert resolved.instruction == "Open http://127.0.0.1:9/flights/"
    assert resolved.config[0].parameters["urls_to_open"] == ["http://127.0.0.1:9/flights/"]


def test_malformed_json_names_file_and_position_and_rest_loads(tmp_path: Path) -> None:
    write(tmp_path, "web", "good-1", GOOD)
    bad = write(tmp_path, "web", "broken", '{"id": "broken", "instruction": "x",,}')
    suite = load_suite(tmp_path)
    assert [t.spec.id for t in suite.tasks] == ["good-1"]
    (err,) = suite.errors
    assert err.path == bad and "malformed JSON at line 1" in err.message
    assert str(bad) in str(err)


def test_missing_field_and_wrong_type_name_the_field(tmp_path: Path) -> None:
    no_eval = {k: v for k, v in GOOD.items() if k != "evaluator"} | {"id": "no-eval"}
    bad_conj = {**GOOD, "id": "bad-conj", "evaluator": {**GOOD["evaluator"], "conj": "xor"}}
    lists = {
        **GOOD,
        "id": "lists",
        "evaluator": {"func": ["exact_match", "fuzzy_match"], "result": [{"type": "rule", "rules": 1}]},
    }
    for data in (no_eval, bad_conj, lists):
        write(tmp_path, "web", data["id"], data)
    errors = {e.task_id: e for e in load_suite(tmp_path).errors}
    assert errors["no-eval"].field == "evaluator"
    assert errors["bad-conj"].field == "evaluator.conj"
    assert "result has 1 entries but func lists 2" in errors["lists"].message


def test_typo_in_metric_name_is_reported_with_suggestion(tmp_path: Path) -> None:
    typo = {**GOOD, "id": "typo", "evaluator": {**GOOD["evaluator"], "func": "is_expected_url_patern_match"}}
    entry = TaskEntry(domain="web", spec=load_suite_one(tmp_path, typo), path=tmp_path / "typo.json")
    err = check_names(entry, SETUP_STEPS, GETTERS, METRICS)
    assert isinstance(err, TaskFileError)
    assert err.field == "evaluator.func"
    assert "unsupported metric 'is_expected_url_patern_match'" in err.message
    assert "did you mean 'is_expected_url_pattern_match'" in err.message


def test_unknown_getter_and_setup_step_are_named(tmp_path: Path) -> None:
    data = {**GOOD, "id": "g", "config": [{"type": "googledrive", "parameters": {}}]}
    err = check_names(
        TaskEntry(domain="w", spec=load_suite_one(tmp_path, data), path=tmp_path),
        SETUP_STEPS,
        GETTERS,
        METRICS,
    )
    assert err is not None and err.field == "config.0.type" and "'googledrive'" in err.message
    data = {**GOOD, "id": "g2", "evaluator": {**GOOD["evaluator"], "result": {"type": "accessibility_tree"}}}
    err = check_names(
        TaskEntry(domain="w", spec=load_suite_one(tmp_path, data), path=tmp_path),
        SETUP_STEPS,
        GETTERS,
        METRICS,
    )
    assert (
        err is not None
        and err.field == "evaluator.result.type"
        and "getter 'accessibility_tree'" in err.message
    )


def load_suite_one(tmp_path: Path, data: dict[str, Any]) -> Any:
    root = tmp_path / data["id"]
    write(root, "w", data["id"], data)
    suite = load_suite(root)
    assert suite.errors == (), suite.errors
    return suite.tasks[0].spec


def test_meta_listing_a_missing_file_and_id_mismatch(tmp_path: Path) -> None:
    write(tmp_path, "web", "good-1", GOOD)
    write(tmp_path, "web", "other-name", GOOD)
    (tmp_path / "test_all.json").write_text(json.dumps({"web": ["good-1", "ghost", "other-name"]}))
    errors = {e.task_id: e for e in load_suite(tmp_path).errors}
    assert "file not found" in errors["ghost"].message
    assert errors["other-name"].field == "id"


def test_env_kind_guess() -> None:
    from tasks.osworld.spec import TaskSpec

    desktop = TaskSpec.model_validate({**GOOD, "related_apps": ["xterm"]})
    assert desktop.env_kind == "desktop"
    launches = TaskSpec.model_validate(
        {
            **GOOD,
            "config": [
                {
                    "type": "launch",
                    "parameters": {"command": ["google-chrome", "--remote-debugging-port=1337"]},
                }
            ],
        }
    )
    assert launches.env_kind == "browser"
    other = TaskSpec.model_validate(
        {**GOOD, "config": [{"type": "launch", "parameters": {"command": "gimp"}}]}
    )
    assert other.env_kind == "desktop"
