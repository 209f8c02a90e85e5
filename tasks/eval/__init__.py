"""The evaluation harness: run a suite's tasks with a model on worker processes (harness), keep the
results in OSWorld's folder layout (results), and write summary.json (evaluate) and report.html (report)."""
