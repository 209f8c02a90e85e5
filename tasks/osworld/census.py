"""Which tasks of a suite can run in an environment, and why the others cannot: one verdict per task,
from the task files alone (nothing runs). `qwen-agent eval PATH --list` prints the census; the
harness refuses, before any setup step, every task whose verdict is not runnable.

Environments: "local" (this machine: a browser, or an Xvfb desktop at 1280x800) knows the names of
the harness's vocabulary and refuses host access (tasks.osworld.host_access) unless the suite is
trusted (built in) or the user allows it; "vm" (OSWorld's VM, over its server) knows the names of
OSWorld's desktop-env package (desktop_env_names.json), and host commands run in the VM.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from typing import Literal

from actions.types import Frozen
from tasks.osworld.host_access import HostAccess, host_access
from tasks.osworld.spec import Suite, TaskEntry, TaskFileError
from tasks.osworld.vocabulary import Vocabulary

EnvironmentKind = Literal["local", "vm"]
ReasonKind = Literal["invalid_file", "unknown_name", "host_command", "host_path", "browser_only", "network"]

LOCAL_SCREEN = (1280, 800)  # px: the local desktop's Xvfb display and the default browser viewport
VM_SCREEN = (1920, 1080)  # px: OSWorld's VM screen unless the VM says otherwise
BROWSER_GETTERS = frozenset({"active_tab_info", "active_url_from_accessTree", "open_tabs_info"})
BROWSER_STEPS = frozenset({"chrome_close_tabs"})
NETWORK_GETTERS = {"cloud_file": "downloads gold files from OSWorld's hub over the network"}
REFUSAL_HINT = "use --vm URL or --allow-host-setup"
VM_REFUSAL_HINT = "use --allow-host-setup to run it as OSWorld does"
# OSWorld metrics that run code from the task or the VM on THIS machine (in .venv-osworld), read from
# desktop-env 1.0.2's source: on the VM they need the same consent as host setup commands.
HOST_CODE_METRICS = {
    "check_python_file_by_test_suite": "imports and runs the task's Python test file",
    "check_gnome_favorite_apps": "eval()s a string read from the VM",
}


class Names(Frozen):
    """The setup step, getter and metric names an environment can run."""

    setup_steps: frozenset[str]
    getters: frozenset[str]
    metrics: frozenset[str]

    @staticmethod
    def of(vocabulary: Vocabulary) -> Names:
        return Names(
            setup_steps=frozenset(vocabulary.setup_steps),
            getters=frozenset(vocabulary.getters),
            metrics=frozenset(vocabulary.metrics),
        )


# Getters a task on the VM may still use that read this machine, not the VM: files shipped with the
# suite (tasks.osworld.vm_vocabulary implements them).
VM_LOCAL_GETTERS = frozenset({"suite_file"})


def vm_names() -> Names:
    """What a task on the VM may use: desktop-env's names plus the local getters."""
    names = desktop_env_names()
    return names.model_copy(update={"getters": names.getters | VM_LOCAL_GETTERS})


@functools.cache
def desktop_env_names() -> Names:
    """The names OSWorld's desktop-env package knows (its version: the data file's comment)."""
    text = (resources.files("tasks.osworld") / "desktop_env_names.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return Names(
        setup_steps=frozenset(data["setup_steps"]),
        getters=frozenset(data["getters"]),
        metrics=frozenset(data["metrics"]),
    )


class Reason(Frozen):
    """Why a task cannot run: `label` groups alike reasons in the summary (e.g. "unknown metric
    'compare_pptx_files'", "runs host commands"); `text` is the full reason for this task."""

    kind: ReasonKind
    label: str
    text: str

    @property
    def refusal(self) -> bool:
        """A host-safety refusal (the task could run, but not on this host without consent)."""
        return self.kind in ("host_command", "host_path")


class Verdict(Frozen):
    """One task's verdict; `notes` are remarks that do not stop it (an evaluator's `_config_note`)."""

    domain: str
    task_id: str
    reasons: tuple[Reason, ...] = ()
    notes: tuple[str, ...] = ()
    environment: EnvironmentKind = "local"

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.task_id}"

    @property
    def runnable(self) -> bool:
        return not self.reasons

    @property
    def refused(self) -> bool:
        """Not runnable only because of host access: the outcome is "refused", not "unsupported"."""
        return bool(self.reasons) and all(r.refusal for r in self.reasons)

    @property
    def why(self) -> str:
        """The reasons in one line, e.g. "refused: runs host commands (sudo apt-get ...); use --vm
        URL or --allow-host-setup"."""
        refusals = [r.text for r in self.reasons if r.refusal]
        others = [r.text for r in self.reasons if not r.refusal]
        hint = VM_REFUSAL_HINT if self.environment == "vm" else REFUSAL_HINT
        parts = others + ([f"refused: {'; '.join(refusals)}; {hint}"] if refusals else [])
        return "; ".join(parts)


class Census(Frozen):
    """Every task's verdict for one environment."""

    environment: EnvironmentKind
    verdicts: tuple[Verdict, ...]

    @property
    def runnable(self) -> int:
        return sum(1 for v in self.verdicts if v.runnable)

    def top_reasons(self, n: int = 5) -> list[tuple[str, int]]:
        """The most common reason labels with how many tasks they stop (a task counts once per label)."""
        counts = Counter(label for v in self.verdicts for label in {r.label for r in v.reasons})
        return counts.most_common(n)

    def summary_line(self) -> str:
        """E.g. "runnable on local: 3 / 12; not: runs host commands 5, unknown metric 'x' 2"."""
        line = f"runnable on {self.environment}: {self.runnable} / {len(self.verdicts)}"
        top = self.top_reasons()
        return line + ("; not: " + ", ".join(f"{label} {n}" for label, n in top) if top else "")


def _unknown(field: str, kind: str, name: str, known: frozenset[str]) -> Reason:
    close = difflib.get_close_matches(name, sorted(known), n=2, cutoff=0.75)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return Reason(
        kind="unknown_name",
        label=f"unknown {kind} {name!r}",
        text=f"field {field!r}: unsupported {kind} {name!r}{hint}",
    )


def _name_reasons(entry: TaskEntry, names: Names, environment: EnvironmentKind) -> list[Reason]:
    spec = entry.spec
    out: list[Reason] = []
    for prefix, steps in (("config", spec.config), ("evaluator.postconfig", spec.evaluator.postconfig)):
        for i, step in enumerate(steps):
            if step.type not in names.setup_steps:
                out.append(_unknown(f"{prefix}.{i}.type", "setup step", step.type, names.setup_steps))
    funcs = spec.evaluator.funcs
    for i, name in enumerate(funcs):
        if name not in names.metrics:
            field = "evaluator.func" + (f".{i}" if len(funcs) > 1 else "")
            out.append(_unknown(field, "metric", name, names.metrics))
    for field, config in spec.evaluator.getter_configs():
        kind = config.get("type") if isinstance(config, dict) else None
        if not isinstance(kind, str):
            text = f'field evaluator.{field}: a getter config needs a "type" string'
            out.append(Reason(kind="unknown_name", label="getter without a type", text=text))
        elif kind in NETWORK_GETTERS and environment == "local":
            out.append(Reason(kind="network", label=f"getter {kind!r} needs network access",
                              text=f"getter {kind!r} {NETWORK_GETTERS[kind]}; run it on the VM"))  # fmt: skip
        elif kind not in names.getters:
            out.append(_unknown(f"evaluator.{field}.type", "getter", kind, names.getters))
    return out


def _browser_reasons(entry: TaskEntry) -> list[Reason]:
    """A Chrome getter or step on a task that runs on the local desktop, where no Chrome is driven."""
    spec = entry.spec
    if spec.env_kind != "desktop":
        return []
    used = [c.get("type") for _, c in spec.evaluator.getter_configs() if isinstance(c, dict)]
    used += [s.type for s in [*spec.config, *spec.evaluator.postconfig]]
    return [
        Reason(
            kind="browser_only",
            label=f"needs the browser for {name!r} on a desktop task",
            text=f"{name!r} needs the browser environment, but the task runs on the desktop "
            "(it launches other programs too)",
        )
        for name in dict.fromkeys(str(n) for n in used if n in BROWSER_GETTERS | BROWSER_STEPS)
    ]


def _host_reasons(found: Iterable[HostAccess]) -> list[Reason]:
    items = list(found)
    commands = list(dict.fromkeys(a.what for a in items if a.kind == "command"))
    paths = list(dict.fromkeys(a.what for a in items if a.kind == "path"))
    out: list[Reason] = []
    if commands:
        out.append(Reason(kind="host_command", label="runs host commands",
                          text=f"runs host commands ({'; '.join(commands[:3])}"
                          f"{'; ...' if len(commands) > 3 else ''})"))  # fmt: skip
    if paths:
        out.append(Reason(kind="host_path", label="touches paths outside the task's work folder",
                          text=f"touches paths outside the task's work folder ({', '.join(paths[:3])}"
                          f"{', ...' if len(paths) > 3 else ''})"))  # fmt: skip
    return out


def task_verdict(
    entry: TaskEntry,
    names: Names,
    environment: EnvironmentKind = "local",
    *,
    trusted: bool = False,
    allow_host_setup: bool = False,
) -> Verdict:
    """One task's verdict. `trusted`: a built-in suite (its setups are part of qwen-agent);
    `allow_host_setup`: the user consents to host commands (--allow-host-setup)."""
    reasons = _name_reasons(entry, names, environment)
    if environment == "local":
        reasons += _browser_reasons(entry)
        if not (trusted or allow_host_setup):
            reasons += _host_reasons(host_access(entry.spec))
    elif not allow_host_setup:
        label = "its metric runs code on this machine"
        reasons += [
            Reason(kind="host_command", label=label, text=f"{label} ({name} {HOST_CODE_METRICS[name]})")
            for name in entry.spec.evaluator.funcs
            if name in HOST_CODE_METRICS
        ]
    return Verdict(
        domain=entry.domain, task_id=entry.spec.id, reasons=tuple(reasons),
        notes=tuple(entry.spec.evaluator.notes), environment=environment,
    )  # fmt: skip


def _invalid(error: TaskFileError) -> Verdict:
    reason = Reason(kind="invalid_file", label="invalid task file", text=f"invalid task file: {error}")
    return Verdict(domain=error.domain, task_id=error.task_id, reasons=(reason,))


def take_census(
    suite: Suite, names: Names, environment: EnvironmentKind = "local", *, allow_host_setup: bool = False
) -> Census:
    """Every task's verdict (task files that did not load: "invalid task file"), in suite order."""
    verdicts = [
        task_verdict(e, names, environment, trusted=suite.trusted, allow_host_setup=allow_host_setup)
        for e in suite.tasks
    ]
    verdicts += [_invalid(err) for err in suite.errors]
    return Census(environment=environment, verdicts=tuple(verdicts))
