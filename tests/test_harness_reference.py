"""The whole sandbox suite (browser and desktop tasks) with the reference policy on 2 workers scores
100%: every task is solvable and every evaluator recognises the solved state. The biggest test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import require

pytestmark = [pytest.mark.browser, pytest.mark.desktop]


def test_reference_policy_scores_100_percent_on_sandbox_suite(tmp_path: Path) -> None:
    from actions.chromium import find_chromium
    from tasks.eval.evaluate import evaluate
    from tasks.eval.harness import EvalConfig
    from tasks.suites import resolve_suite

    require(find_chromium() is not None, "Chromium is not installed")
    require(shutil.which("Xvfb") is not None, "Xvfb is not installed")
    suite = resolve_suite("sandbox")
    kinds = {t.spec.env_kind for t in suite.tasks}
    assert kinds == {"browser", "desktop"}, kinds
    assert suite.errors == ()
    assert any(t.spec.infeasible for t in suite.tasks)
    config = EvalConfig(
        suite_name="sandbox", suite_root=suite.root, model="reference", out=tmp_path, workers=2, max_steps=50
    )
    summary, root = evaluate(suite, config, lambda kind, payload: None)
    scores = {
        f"{p.parent.parent.name}/{p.parent.name}": json.loads(p.read_text())
        for p in root.glob("*/*/score.json")
    }
    failed = {k: (v["status"], v["reason"], v["category"]) for k, v in scores.items() if v["score"] != 1.0}
    assert failed == {}
    assert len(scores) == len(suite.tasks)
    assert summary["overall"]["success_rate"] == 1.0 and summary["overall"]["scored"] == len(suite.tasks)
    assert summary["not_run"] == []
