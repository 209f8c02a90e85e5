"""OSWorld's own metrics (desktop-env 1.0.2 in .venv-osworld, through DesktopEnvBridge) score real
files made here, and agree with our implementations (tasks/osworld/metrics*.py) where both exist.

Known differences, each pinned by a test below so a change on either side shows:
- compare_text_file: ours ignores one final newline more or less (an editor adds it on save);
  OSWorld compares the raw text, so "a\\n" vs "a" is 1 for us and 0 for OSWorld.
- compare_table on CSV files: ours compares the rows; OSWorld's opens every file with openpyxl,
  cannot, and scores 0.
- compare_table on .xlsx: ours needs openpyxl, which our .venv does not have, so it reports
  Unsupported; when openpyxl is there the two must agree.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks.osworld.desktop_env_bridge import DEFAULT_PYTHON, REPO_ROOT, DesktopEnvBridge
from tasks.osworld.errors import Unsupported
from tasks.osworld.metrics import METRICS
from tests.conftest import require


@pytest.fixture(scope="module")
def bridge() -> Iterator[DesktopEnvBridge]:
    require(DEFAULT_PYTHON.exists(), "make setup-osworld")
    with DesktopEnvBridge() as b:
        yield b


def make_in_osworld(script: str, **args: Any) -> None:
    """Run a file-making script in .venv-osworld (openpyxl, python-docx live there, not in ours);
    `args` arrive as the JSON object ARGS."""
    code = f"import json, sys\nARGS = json.loads(sys.argv[1])\n{script}"
    subprocess.run([str(DEFAULT_PYTHON), "-c", code, json.dumps(args)], check=True, timeout=60)


XLSX = """
import openpyxl
book = openpyxl.Workbook()
sheet = book.active
sheet.title = "Sales"
for row in ARGS["rows"]:
    sheet.append(row)
book.create_sheet("Notes")["A1"] = "made by the test"
book.save(ARGS["path"])
"""

DOCX = """
import docx
document = docx.Document()
for text in ARGS["paragraphs"]:
    document.add_paragraph(text)
document.save(ARGS["path"])
"""

ROWS = [["region", "units", "price"], ["north", 12, 3.25], ["south", 7, 4.5]]


def test_names_hold_the_top_metrics_getters_and_setup_steps(bridge: DesktopEnvBridge) -> None:
    names = bridge.names()
    assert {
        "compare_table",
        "compare_pptx_files",
        "compare_docx_files",
        "compare_pdfs",
        "check_include_exclude",
        "exact_match",
        "is_expected_url_pattern_match",
        "compare_text_file",
        "infeasible",
    } <= names.metrics
    assert {
        "vm_file",
        "cloud_file",
        "vm_command_line",
        "active_tab_info",
        "rule",
        "open_tabs_info",
        "accessibility_tree",
    } <= names.getters
    assert {"download", "launch", "execute", "open", "sleep", "chrome_open_tabs"} <= names.setup
    # Exactly the left-out heavy dependencies are missing; anything else is a broken install.
    assert set(names.unavailable.metrics) == {"compare_audios", "compare_image_text"}
    assert "librosa" in names.unavailable.metrics["compare_audios"]
    assert "easyocr" in names.unavailable.metrics["compare_image_text"]
    assert names.unavailable.getters == {} and names.unavailable.setup == {}
    assert len(names.metrics) > 100 and len(names.getters) > 40


def test_names_match_the_static_list_of_desktop_env_names(bridge: DesktopEnvBridge) -> None:
    """tasks/osworld/desktop_env_names.json lists desktop-env's names read from the wheel's source;
    what the worker imports plus what it reports unavailable is that list, neither more nor less."""
    listed = json.loads((REPO_ROOT / "tasks/osworld/desktop_env_names.json").read_text(encoding="utf-8"))
    names = bridge.names()
    assert names.metrics | set(names.unavailable.metrics) == set(listed["metrics"])
    assert names.getters == set(listed["getters"])
    assert names.setup == set(listed["setup_steps"])


def test_compare_table_scores_real_workbooks(bridge: DesktopEnvBridge, tmp_path: Path) -> None:
    gold, same, changed = tmp_path / "gold.xlsx", tmp_path / "same.xlsx", tmp_path / "changed.xlsx"
    make_in_osworld(XLSX, path=str(gold), rows=ROWS)
    make_in_osworld(XLSX, path=str(same), rows=ROWS)
    make_in_osworld(XLSX, path=str(changed), rows=[ROWS[0], ["north", 13, 3.25], ROWS[2]])
    rules = {
        "rules": [
            {"type": "sheet_name"},
            {"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"},
        ]
    }
    assert bridge.metric("compare_table", same, gold, rules) == 1.0
    assert bridge.metric("compare_table", changed, gold, rules) == 0.0
    # Only the sheet names compared: the changed cell does not matter.
    assert bridge.metric("compare_table", changed, gold, {"rules": [{"type": "sheet_name"}]}) == 1.0
    # A missing result file is a 0, not an error.
    assert bridge.metric("compare_table", tmp_path / "absent.xlsx", gold, rules) == 0.0

    ours = METRICS["compare_table"]
    if importlib.util.find_spec("openpyxl") is None:
        with pytest.raises(Unsupported, match="openpyxl"):
            ours(str(same), str(gold), **rules)
    else:
        assert ours(str(same), str(gold), **rules) == 1.0
        assert ours(str(changed), str(gold), **rules) == 0.0


def test_compare_table_on_csv_files_differs_from_ours(bridge: DesktopEnvBridge, tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x,y\n1,2\n")
    b.write_text("x,y\n1,2\n")
    rules = {"rules": [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}]}
    assert bridge.metric("compare_table", a, b, rules) == 0.0  # OSWorld: openpyxl cannot open CSV
    assert METRICS["compare_table"](str(a), str(b), **rules) == 1.0  # ours: same rows


def test_compare_docx_files_scores_real_documents(bridge: DesktopEnvBridge, tmp_path: Path) -> None:
    gold, same, changed, case = (tmp_path / f"{n}.docx" for n in ("gold", "same", "changed", "case"))
    text = ["Quarterly report", "Sales rose in the north.", "Costs were flat."]
    make_in_osworld(DOCX, path=str(gold), paragraphs=text)
    make_in_osworld(DOCX, path=str(same), paragraphs=text)
    make_in_osworld(DOCX, path=str(changed), paragraphs=[text[0], "Sales fell in the north.", text[2]])
    make_in_osworld(DOCX, path=str(case), paragraphs=[t.upper() for t in text])
    assert bridge.metric("compare_docx_files", same, gold) == 1.0
    assert bridge.metric("compare_docx_files", changed, gold) == 0.0
    assert bridge.metric("compare_docx_files", case, gold) == 0.0
    assert bridge.metric("compare_docx_files", case, gold, {"ignore_case": True}) == 1.0
    assert "compare_docx_files" not in METRICS  # ours has none yet: nothing to agree with


TEXT_CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("equal", "alpha\nbeta\n", "alpha\nbeta\n", {}),
    ("different", "alpha\nbeta\n", "alpha\ngamma\n", {}),
    ("blanks ignored", "alpha   beta\n\tgamma", "alpha beta gamma", {"ignore_blanks": True}),
    ("blanks count", "alpha   beta", "alpha beta", {}),
    ("case ignored", "Alpha", "alpha", {"ignore_case": True}),
    ("case counts", "Alpha", "alpha", {}),
]


@pytest.mark.parametrize(
    ("label", "result", "expected", "options"), TEXT_CASES, ids=[c[0] for c in TEXT_CASES]
)
def test_text_file_metrics_agree_with_ours(
    bridge: DesktopEnvBridge, tmp_path: Path, label: str, result: str, expected: str, options: dict[str, Any]
) -> None:
    got, want = tmp_path / "result.txt", tmp_path / "expected.txt"
    got.write_text(result)
    want.write_text(expected)
    theirs = bridge.metric("compare_text_file", got, want, options)
    assert METRICS["compare_text_file"](str(got), str(want), **options) == theirs
    # OSWorld's diff_text_file takes no options (a TypeError if given any).
    similarity = bridge.metric("diff_text_file", got, want)
    assert METRICS["diff_text_file"](str(got), str(want)) == pytest.approx(similarity)
    assert theirs == float(label in ("equal", "blanks ignored", "case ignored"))


def test_compare_text_file_final_newline_is_a_known_difference(
    bridge: DesktopEnvBridge, tmp_path: Path
) -> None:
    got, want = tmp_path / "result.txt", tmp_path / "expected.txt"
    got.write_text("alpha\n")
    want.write_text("alpha")
    assert bridge.metric("compare_text_file", got, want) == 0.0  # OSWorld: raw text
    assert METRICS["compare_text_file"](str(got), str(want)) == 1.0  # ours: one final newline ignored
    assert METRICS["compare_text_file"](str(got), str(want), strict_final_newline=True) == 0.0


# (metric, result, expected = the rule getter's value, options): OSWorld's general.py and chrome.py
# metrics that take values rather than files.
VALUE_CASES: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("exact_match", "Paris", {"expected": "Paris"}, {}),
    ("exact_match", "paris", {"expected": "Paris"}, {}),
    ("exact_match", ["a", 1], {"expected": ["a", 1]}, {}),
    ("check_include_exclude", "the quick brown fox", {"include": ["quick", "fox"], "exclude": ["dog"]}, {}),
    ("check_include_exclude", "the quick brown dog", {"include": ["quick"], "exclude": ["dog"]}, {}),
    ("check_include_exclude", "the slow fox", {"include": ["quick"]}, {}),
    ("fuzzy_match", "kitten", {"expected": "sitting"}, {}),
    ("fuzzy_match", "", {"expected": ""}, {}),
    ("match_in_list", "b", {"expected": ["a", "b"]}, {}),
    ("match_in_list", "c", {"expected": ["a", "b"]}, {}),
    ("is_in_list", ["a", "b"], {"expected": "b"}, {}),
    ("is_in_list", "abc", {"expected": "bc"}, {}),
    ("is_in_list", ["a", "b"], {"expected": "c"}, {}),
    ("literal_match", "Yes", "yes", {"ignore_case": True}),
    ("literal_match", "Yes", "yes", {}),
    ("literal_match", ["A", 2], ["a", "2"], {"type": "list", "ignore_case": True}),
    ("literal_match", ["A"], ["A", "B"], {"type": "list"}),
    ("check_direct_json_object", {"a": 1, "b": "x"}, {"expected": {"a": 1}}, {}),
    ("check_direct_json_object", {"a": 2}, {"expected": {"a": 1}}, {}),
    ("check_direct_json_object", "{'a': 1}", {"expected": {"a": 1}}, {}),
    (
        "is_expected_url_pattern_match",
        {"url": "https://shop.example/cart?id=3"},
        {"expected": ["cart", r"id=\d"]},
        {},
    ),
    ("is_expected_url_pattern_match", {"url": "https://shop.example/home"}, {"expected": ["cart"]}, {}),
    ("is_expected_url_pattern_match", "https://shop.example/cart", {"expected": ["cart"]}, {}),
    (
        "is_expected_active_tab",
        {"url": "https://WWW.Example.com/"},
        {"type": "url", "url": "https://example.com"},
        {},
    ),
    (
        "is_expected_active_tab",
        {"url": "https://example.com/a"},
        {"type": "url", "url": "https://example.com/b"},
        {},
    ),
    (
        "is_expected_tabs",
        [{"url": "https://a.example/"}, {"url": "https://b.example"}],
        {"type": "url", "urls": ["https://b.example", "https://a.example"]},
        {},
    ),
    ("is_expected_tabs", [{"url": "https://a.example/"}], {"type": "url", "urls": ["https://b.example"]}, {}),
]


@pytest.mark.parametrize(
    ("name", "result", "expected", "options"),
    VALUE_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(VALUE_CASES)],
)
def test_value_metrics_agree_with_ours(
    bridge: DesktopEnvBridge, name: str, result: Any, expected: Any, options: dict[str, Any]
) -> None:
    theirs = bridge.metric(name, result, expected, options)
    assert METRICS[name](result, expected, **options) == pytest.approx(theirs)


def test_value_metrics_cover_both_outcomes(bridge: DesktopEnvBridge) -> None:
    """The agreement table is not all zeros (or all ones): each metric scores both 1 and below 1."""
    by_metric: dict[str, set[bool]] = {}
    for name, result, expected, options in VALUE_CASES:
        by_metric.setdefault(name, set()).add(bridge.metric(name, result, expected, options) == 1.0)
    assert all(outcomes == {True, False} for outcomes in by_metric.values()), by_metric


FILE_RULE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("file_contains", "total: 42\nowner: ana\n", {"expected": ["total: 42", "ana"]}),
    ("file_contains", "total: 41\n", {"expected": ["total: 42"]}),
    ("check_list", "apple\nbanana\n", {"expect": ["^ban"], "unexpect": ["cherry"]}),
    ("check_list", "apple\ncherry\n", {"expect": ["apple"], "unexpect": ["cherry"]}),
]


@pytest.mark.parametrize(
    ("name", "text", "rules"), FILE_RULE_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(FILE_RULE_CASES)]
)
def test_file_rule_metrics_agree_with_ours(
    bridge: DesktopEnvBridge, tmp_path: Path, name: str, text: str, rules: dict[str, Any]
) -> None:
    path = tmp_path / "result.txt"
    path.write_text(text)
    assert METRICS[name](str(path), rules) == bridge.metric(name, path, rules)


def test_compare_csv_agrees_with_ours(bridge: DesktopEnvBridge, tmp_path: Path) -> None:
    gold, same, spaced, other = (tmp_path / f"{n}.csv" for n in ("gold", "same", "spaced", "other"))
    gold.write_text("a,b\n1,2\n")
    same.write_text("a,b\n1,2\n")
    spaced.write_text("a,b \n1,2\n")
    other.write_text("a,b\n1,3\n")
    for result, options in ((same, {}), (spaced, {}), (spaced, {"strict": False}), (other, {})):
        theirs = bridge.metric("compare_csv", result, gold, options)
        assert METRICS["compare_csv"](str(result), str(gold), **options) == theirs, (result.name, options)
    assert bridge.metric("compare_csv", same, gold) == 1.0
    assert bridge.metric("compare_csv", other, gold) == 0.0
