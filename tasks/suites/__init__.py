"""The built-in task suites: `sandbox/` (OSWorld-format JSON over the sandbox apps, with reference
solutions) and MiniWoB++ (built from the `miniwob` package), plus the vocabulary they use: OSWorld's
and MiniWoB's own setup step, getter and metric."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from tasks.osworld.spec import Suite, load_suite
from tasks.osworld.vocabulary import OSWORLD
from tasks.suites import miniwob

BUILTIN_SUITES = ("sandbox", "miniwob")

VOCABULARY = OSWORLD.extend(
    setup_steps={"miniwob_start": miniwob.start_episode},
    getters={"miniwob_reward": miniwob.get_reward},
    metrics={"miniwob_reward": miniwob.miniwob_reward},
)


def builtin_root(name: str) -> Path:
    """The folder of a built-in suite shipped with the package (e.g. tasks/suites/sandbox)."""
    return Path(str(resources.files("tasks.suites") / name))


def resolve_suite(name_or_path: str, meta: str | None = None, **miniwob_options: Any) -> Suite:
    """A built-in suite by name ('sandbox', 'miniwob') or an OSWorld-style folder by path."""
    if name_or_path == "miniwob":
        return miniwob.miniwob_suite(**miniwob_options)
    path = Path(name_or_path)
    if name_or_path in BUILTIN_SUITES and not path.exists():
        suite = load_suite(builtin_root(name_or_path), name=name_or_path, meta=meta)
        return suite.model_copy(update={"trusted": True})
    suite = load_suite(path, meta=meta)
    # The built-in folder given by its path is the same reviewed files.
    builtin = path.resolve() == builtin_root("sandbox").resolve()
    return suite.model_copy(update={"trusted": True}) if builtin else suite


def list_suites() -> list[tuple[str, int, str]]:
    """(name, task count, where) of the built-in suites."""
    sandbox = load_suite(builtin_root("sandbox"), name="sandbox")
    return [
        ("sandbox", len(sandbox.tasks), str(builtin_root("sandbox"))),
        ("miniwob", len(miniwob.miniwob_task_names()), "the `miniwob` package's HTML tasks"),
    ]
