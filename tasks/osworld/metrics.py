"""The metric registry: OSWorld metric name -> function `metric(result, expected, **options) -> float`.

Implementations live in metrics_text.py, metrics_url.py and metrics_table.py; OSWorld's scoring rules
(conj, infeasible, final FAIL) are applied in scoring.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tasks.osworld import metrics_table, metrics_text, metrics_url

Metric = Callable[..., float]


def infeasible(*_: Any, **__: Any) -> float:
    """Marker only: scoring gives 1 iff the agent's last action is FAIL (see scoring.py)."""
    raise AssertionError("infeasible is scored from the trajectory, not called")


METRICS: dict[str, Metric] = {
    "infeasible": infeasible,
    "exact_match": metrics_text.exact_match,
    "fuzzy_match": metrics_text.fuzzy_match,
    "match_in_list": metrics_text.match_in_list,
    "is_in_list": metrics_text.is_in_list,
    "literal_match": metrics_text.literal_match,
    "check_include_exclude": metrics_text.check_include_exclude,
    "check_direct_json_object": metrics_text.check_direct_json_object,
    "check_list": metrics_text.check_list,
    "compare_text_file": metrics_text.compare_text_file,
    "diff_text_file": metrics_text.diff_text_file,
    "file_contains": metrics_text.file_contains,
    "is_expected_active_tab": metrics_url.is_expected_active_tab,
    "is_expected_active_tab_approximate": metrics_url.is_expected_active_tab_approximate,
    "is_expected_url_pattern_match": metrics_url.is_expected_url_pattern_match,
    "is_expected_tabs": metrics_url.is_expected_tabs,
    "compare_table": metrics_table.compare_table,
    "compare_csv": metrics_table.compare_csv,
}
