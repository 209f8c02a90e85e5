"""What to do and how it is judged, in rooms (each a sub-package):

cli/          the `qwen-agent` commands, one module each, and the flags they share
osworld/      OSWorld's task format and vocabulary: specs, setup steps, getters, metrics, scoring
suites/       the built-in suites: sandbox task data (+ reference solutions) and MiniWoB++
eval/         the evaluation harness: workers, results folders, summary and report.html
reference/    the reference policy that solves sandbox tasks from their solution scripts
calibration/  the click-calibration self-test and its browser and desktop surfaces
apps/         the practice apps agents act on: sandbox web apps and small Tk desktop apps
jobs/         (next) replaying successful runs as parameterised jobs (RPA)

environments.py, beside them, is the one place environments are opened (`open_environment`).
"""
