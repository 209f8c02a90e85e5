"""The names a task file may use: setup steps, getters and metrics, each looked up by name.

`OSWORLD` is OSWorld's vocabulary as implemented here. A suite that brings names of its own (MiniWoB)
extends it (tasks.suites.VOCABULARY); the harness checks, sets up and scores with the extended one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tasks.osworld.getters import GETTERS, Getter
from tasks.osworld.metrics import METRICS, Metric
from tasks.osworld.setup_steps import SETUP_STEPS, SetupStepFn
from tasks.osworld.spec import TaskEntry, TaskFileError, check_names


@dataclass(frozen=True)
class Vocabulary:
    """Setup steps, getters and metrics by name."""

    setup_steps: Mapping[str, SetupStepFn]
    getters: Mapping[str, Getter]
    metrics: Mapping[str, Metric]

    def extend(
        self,
        setup_steps: Mapping[str, SetupStepFn] | None = None,
        getters: Mapping[str, Getter] | None = None,
        metrics: Mapping[str, Metric] | None = None,
    ) -> Vocabulary:
        """This vocabulary plus more names (a name given again replaces the old entry)."""
        return Vocabulary(
            setup_steps={**self.setup_steps, **(setup_steps or {})},
            getters={**self.getters, **(getters or {})},
            metrics={**self.metrics, **(metrics or {})},
        )

    def check(self, entry: TaskEntry) -> TaskFileError | None:
        """The first name in the task this vocabulary does not know (see spec.check_names)."""
        return check_names(entry, self.setup_steps, self.getters, self.metrics)


OSWORLD = Vocabulary(setup_steps=SETUP_STEPS, getters=GETTERS, metrics=METRICS)
