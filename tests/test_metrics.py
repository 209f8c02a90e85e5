"""Metric functions and OSWorld's scoring rules (conj, infeasible, final FAIL, postconfig) on
hand-checked cases. Getters here are `rule` and `vm_file`, so no environment is needed."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from actions.types import Click, Finish
from agent.trajectory import RunResult, Step
from tasks.osworld.context import TaskContext
from tasks.osworld.errors import Unsupported
from tasks.osworld.metrics import METRICS
from tasks.osworld.metrics_text import indel_ratio
from tasks.osworld.scoring import score_task
from tasks.osworld.spec import TaskEntry, TaskSpec

pytestmark = pytest.mark.unit


def m(name: str, *args: Any, **kw: Any) -> float:
    return METRICS[name](*args, **kw)


def test_indel_ratio_matches_rapidfuzz_documented_values() -> None:
    # rapidfuzz docs: fuzz.ratio("this is a test", "this is a test!") == 96.55172413793103
    assert math.isclose(indel_ratio("this is a test", "this is a test!"), 0.9655172413793103)
    assert math.isclose(indel_ratio("abc", "abd"), 4 / 6)  # LCS "ab": 2*2/(3+3)
    assert indel_ratio("", "") == 1.0
    assert indel_ratio("abc", "") == 0.0
    assert math.isclose(indel_ratio("kitten", "sitting"), 2 * 4 / 13)  # LCS "ittn"


def test_text_metrics_hand_checked() -> None:
    assert m("exact_match", "Paris", {"expected": "Paris"}) == 1.0
    assert m("exact_match", "paris", {"expected": "Paris"}) == 0.0
    assert m("exact_match", {"a": [1, 2]}, {"expected": {"a": [1, 2]}}) == 1.0
    assert m("match_in_list", "b", {"expected": ["a", "b"]}) == 1.0
    assert m("match_in_list", "c", {"expected": ["a", "b"]}) == 0.0
    assert math.isclose(m("fuzzy_match", "abc", {"expected": "abd"}), 4 / 6)
    assert m("fuzzy_match", None, {"expected": "x"}) == 0.0
    assert m("literal_match", "ABC", "abc", ignore_case=True) == 1.0
    assert m("literal_match", "ABC", "abc") == 0.0
    assert m("literal_match", ["a", 1], ["a", "1"], type="list") == 1.0
    assert m("literal_match", ["a"], ["a", "b"], type="list") == 0.0


def test_check_include_exclude() -> None:
    rules = {"include": ["Berlin", "2025"], "exclude": ["cancelled"]}
    assert m("check_include_exclude", "Berlin trip 2025", rules) == 1.0
    assert m("check_include_exclude", "Berlin trip 2025 cancelled", rules) == 0.0
    assert m("check_include_exclude", "Berlin trip", rules) == 0.0
    assert m("check_include_exclude", None, rules) == 0.0
    assert m("check_include_exclude", {"city": "Berlin", "year": "2025"}, rules) == 1.0  # JSON text


def test_check_direct_json_object() -> None:
    rules = {"expected": {"name": "Ada", "tags": ["x", "y"]}}
    assert m("check_direct_json_object", {"name": "Ada", "tags": ["x", "y"], "extra": 1}, rules) == 1.0
    assert m("check_direct_json_object", {"name": "Ada", "tags": ["y", "x"]}, rules) == 0.0
    assert (
        m("check_direct_json_object", "{'name': 'Ada', 'tags': ['x', 'y']}", rules) == 1.0
    )  # OSWorld's ' -> "
    assert m("check_direct_json_object", None, rules) == 0.0
    assert m("check_direct_json_object", "not json", rules) == 0.0
    contains = {"expected": {"city": ["Paris", "Lyon"], "note": "ok"}, "expect_in_result": True}
    assert m("check_direct_json_object", {"city": "Lyon", "note": "all ok"}, contains) == 1.0
    assert m("check_direct_json_object", {"city": "Nice", "note": "all ok"}, contains) == 0.0


def test_url_metrics() -> None:
    tab = {"url": "https://www.Example.com/", "title": "x"}
    assert m("is_expected_active_tab", tab, {"type": "url", "url": "https://example.com"}) == 1.0
    assert m("is_expected_active_tab", tab, {"type": "url", "url": "https://example.org"}) == 0.0
    assert m("is_expected_active_tab", None, {"type": "url", "url": "https://example.com"}) == 0.0
    rules = {"expected": [r"/flights/", r"from=BER"]}
    assert m("is_expected_url_pattern_match", "http://h/flights/?from=BER&to=LIS", rules) == 1.0
    assert m("is_expected_url_pattern_match", {"url": "http://h/flights/?from=MUC"}, rules) == 0.0
    assert m("is_expected_url_pattern_match", "", rules) == 0.0


def test_file_metrics(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    a.write_text("hello\nworld\n")
    b.write_text("hello\nworld")
    c.write_text("Hello  World")
    assert m("compare_text_file", str(a), str(b)) == 1.0  # one final newline is not a difference
    assert m("compare_text_file", str(a), str(c)) == 0.0
    assert m("compare_text_file", str(a), str(c), ignore_blanks=True, ignore_case=True) == 1.0
    assert m("compare_text_file", None, str(b)) == 0.0
    assert m("compare_text_file", str(tmp_path / "missing"), str(b)) == 0.0
    assert m("check_list", str(a), {"expect": ["^hel+o$"], "unexpect": ["bye"]}) == 1.0
    assert m("check_list", str(a), {"expect": ["^hel+o$"], "unexpect": ["wor"]}) == 0.0


def test_compare_table_csv(tmp_path: Path) -> None:
    got, want, other = tmp_path / "got.csv", tmp_path / "want.csv", tmp_path / "other.csv"
    got.write_text("id,name\n1, Ada \n2,Bob\n\n")
    want.write_text("\ufeffid,name\n1,Ada\n2,Bob\n")
    other.write_text("id,name\n2,Bob\n1,Ada\n")
    assert m("compare_table", str(got), str(want)) == 1.0
    assert m("compare_table", str(other), str(want)) == 0.0  # row order matters
    assert m("compare_table", None, str(want)) == 0.0
    assert m("compare_table", str(tmp_path / "nope.csv"), str(want)) == 0.0


# ----- OSWorld's scoring rules ---------------------------------------------------------------


def run_ending(*actions: Any) -> RunResult:
    steps = tuple(Step(index=i, action=a) for i, a in enumerate(actions, 1))
    return RunResult(instruction="x", status="success", steps=steps)


FAIL = run_ending(Click(x=1, y=1), Finish(status="failure"))
DONE = run_ending(Click(x=1, y=1), Finish(status="success"))
NO_FINISH = run_ending(Click(x=1, y=1))


def rule(value: Any) -> dict[str, Any]:
    return {"type": "rule", "rules": value}


def make_ctx(
    tmp_path: Path, evaluator: dict[str, Any], config: list[Any] | None = None
) -> tuple[TaskSpec, TaskContext]:
    spec = TaskSpec.model_validate(
        {"id": "t", "instruction": "do it", "evaluator": evaluator, "config": config or []}
    )
    entry = TaskEntry(domain="d", spec=spec, path=tmp_path / "t.json")
    for name in ("work", "dl", "cache"):
        (tmp_path / name).mkdir(exist_ok=True)
    ctx = TaskContext(
        entry=entry,
        env=None,
        env_kind="desktop",
        suite_root=tmp_path,
        workdir=tmp_path / "work",
        downloads=tmp_path / "dl",
        cache_dir=tmp_path / "cache",
    )
    return spec, ctx


def score(tmp_path: Path, evaluator: dict[str, Any], run: RunResult | None) -> float:
    spec, ctx = make_ctx(tmp_path, evaluator)
    return score_task(spec, ctx, run).value


EXACT_OK = {"func": "exact_match", "result": rule("a"), "expected": rule({"expected": "a"})}


def test_infeasible_scores_one_only_on_final_fail(tmp_path: Path) -> None:
    ev = {"func": "infeasible"}
    assert score(tmp_path, ev, FAIL) == 1.0
    assert score(tmp_path, ev, DONE) == 0.0
    assert score(tmp_path, ev, NO_FINISH) == 0.0
    assert score(tmp_path, ev, run_ending()) == 0.0  # no action at all
    # FAIL must be the LAST action: a later action undoes it
    assert score(tmp_path, ev, run_ending(Finish(status="failure"), Click(x=1, y=1))) == 0.0


def test_final_fail_scores_zero_on_feasible_task(tmp_path: Path) -> None:
    assert score(tmp_path, EXACT_OK, DONE) == 1.0
    assert score(tmp_path, EXACT_OK, NO_FINISH) == 1.0  # OSWorld scores the state, DONE or not
    assert score(tmp_path, EXACT_OK, FAIL) == 0.0


def test_conj_and_or(tmp_path: Path) -> None:
    fuzzy_half = ("fuzzy_match", rule("abc"), rule({"expected": "abd"}))  # 0.666..
    exact_one = ("exact_match", rule("a"), rule({"expected": "a"}))
    exact_zero = ("exact_match", rule("a"), rule({"expected": "b"}))

    def ev(conj: str | None, *metrics: tuple[str, Any, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "func": [x[0] for x in metrics],
            "result": [x[1] for x in metrics],
            "expected": [x[2] for x in metrics],
        }
        if conj:
            out["conj"] = conj
        return out

    assert math.isclose(score(tmp_path, ev(None, exact_one, fuzzy_half), DONE), (1 + 4 / 6) / 2)  # and: mean
    assert score(tmp_path, ev("and", exact_one, exact_zero), DONE) == 0.0  # and: 0 on a zero
    assert score(tmp_path, ev("or", exact_zero, exact_one), DONE) == 1.0  # or: 1 on a one
    assert math.isclose(score(tmp_path, ev("or", exact_zero, fuzzy_half), DONE), 4 / 6)  # or: max
    assert score(tmp_path, ev("or", exact_one, exact_zero), FAIL) == 0.0  # final FAIL wins


def test_list_options_and_missing_expected(tmp_path: Path) -> None:
    ev = {
        "func": ["literal_match", "check_include_exclude"],
        "result": [rule("ABC"), rule("hello world")],
        "expected": [rule("abc"), rule({"include": ["world"]})],
        "options": [{"ignore_case": True}, None],
    }
    assert score(tmp_path, ev, DONE) == 1.0


def test_postconfig_runs_before_scoring(tmp_path: Path) -> None:
    ev = {
        "func": "compare_text_file",
        "result": {"type": "vm_file", "path": "saved.txt", "dest": "saved.txt"},
        "expected": {"type": "vm_file", "path": "gold.txt"},
        "postconfig": [
            {"type": "execute", "parameters": {"command": "printf 'saved' > saved.txt", "shell": True}}
        ],
    }
    spec, ctx = make_ctx(tmp_path, ev)
    (ctx.workdir / "gold.txt").write_text("saved\n")
    assert not (ctx.workdir / "saved.txt").exists()
    assert score_task(spec, ctx, DONE).value == 1.0


def test_unknown_getter_is_unsupported(tmp_path: Path) -> None:
    ev = {"func": "exact_match", "result": {"type": "accessibility_tree"}, "expected": rule({"expected": 1})}
    spec, ctx = make_ctx(tmp_path, ev)
    with pytest.raises(Unsupported, match="accessibility_tree"):
        score_task(spec, ctx, DONE)
