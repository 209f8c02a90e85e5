"""The reference policy: a model backend (policy) that solves sandbox tasks by following their
reference solution scripts (script), answering in raw Qwen3-VL text."""
