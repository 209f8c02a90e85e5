"""Task specs in OSWorld's JSON format, and loading a suite of them with errors that name file and field.

A suite is a folder `examples/<domain>/<id>.json` (or `<domain>/<id>.json`) with an optional meta file
`test_all.json` mapping domain -> ids. A broken task file never stops the suite: it becomes a
`TaskFileError` that the harness reports, and every other task still runs.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from actions.errors import BadInput, QwenAgentError

GetterConfig = dict[str, Any]
"""A getter config `{"type": NAME, ...parameters}`, resolved by name at scoring time."""


class SuiteError(QwenAgentError):
    """A suite folder or meta file that cannot be read at all (a single bad task is a TaskFileError)."""


class SetupStep(BaseModel):
    """One setup step `{"type": ..., "parameters": {...}}`, dispatched by name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)


class EvaluatorSpec(BaseModel):
    """OSWorld's evaluator: metric name(s), getter configs, options, postconfig steps and `conj`.

    With a list of metrics, `result`, `expected` and `options` are parallel lists (entries may be None).
    Keys OSWorld's runner does not read (real files carry `_config_note`) are kept and shown as notes.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    func: str | list[str]
    result: GetterConfig | list[GetterConfig | None] | None = None
    expected: GetterConfig | list[GetterConfig | None] | None = None
    options: dict[str, Any] | list[dict[str, Any] | None] | None = None
    postconfig: list[SetupStep] = Field(default_factory=list)
    conj: Literal["and", "or"] = "and"

    @field_validator("func")
    @classmethod
    def _non_empty(cls, func: str | list[str]) -> str | list[str]:
        if isinstance(func, list) and not func:
            raise ValueError("an empty list of metrics")
        return func

    @model_validator(mode="after")
    def _parallel_lists(self) -> EvaluatorSpec:
        if not isinstance(self.func, list):
            for name in ("result", "expected", "options"):
                if isinstance(getattr(self, name), list):
                    raise ValueError(f"{name} is a list but func is a single metric")
            return self
        n = len(self.func)
        for name in ("result", "expected", "options"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != n:
                raise ValueError(f"{name} has {len(value)} entries but func lists {n} metrics")
            if value is not None and not isinstance(value, list) and name != "options":
                raise ValueError(f"func lists {n} metrics, so {name} must be a list of {n}")
        return self

    @property
    def funcs(self) -> list[str]:
        """The metric names as a list (one entry for a single metric)."""
        return list(self.func) if isinstance(self.func, list) else [self.func]

    @property
    def notes(self) -> list[str]:
        """The evaluator's extra keys as `key: value` lines (a task author's remarks, not evaluated)."""
        return [f"evaluator.{k}: {v}" for k, v in (self.model_extra or {}).items()]

    def getter_configs(self) -> list[tuple[str, GetterConfig]]:
        """(field, config) of every getter config, for name checks."""
        out: list[tuple[str, GetterConfig]] = []
        for name in ("result", "expected"):
            value = getattr(self, name)
            items = value if isinstance(value, list) else [value]
            out += [(name, item) for item in items if item is not None]
        return out


EnvKind = Literal["browser", "desktop"]
BROWSER_APPS = frozenset({"chrome", "chromium", "browser", "google-chrome"})


class TaskSpec(BaseModel):
    """One task in OSWorld's keys; unknown metadata keys are kept (`extra`), not rejected."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(min_length=1)
    instruction: str
    snapshot: str = ""
    source: str | list[str] = ""  # real files have both: a URL, or a list of URLs
    config: list[SetupStep] = Field(default_factory=list)
    related_apps: list[str] = Field(default_factory=list)
    evaluator: EvaluatorSpec
    trajectory: str | None = None
    proxy: bool = False
    fixed_ip: bool = False
    possibility_of_env_change: str | None = None
    hint: str | None = None
    environment: EnvKind | None = None  # ours, optional: overrides the guess from related_apps
    viewport: tuple[int, int] | None = None  # ours, optional: browser viewport in CSS pixels
    device_scale_factor: float | None = None  # ours, optional: browser screenshot pixels per CSS pixel
    # ours, optional: the part of the viewport the model sees, (width, height) CSS px from its top-left
    # corner (MiniWoB: a 500x320 window, the 160x210 task area observed, as MiniWoB's own environment)
    observe_area: tuple[int, int] | None = None

    @property
    def infeasible(self) -> bool:
        return self.evaluator.func == "infeasible"

    @property
    def env_kind(self) -> EnvKind:
        """Browser when the task is about Chrome (plus web apps) and launches nothing else."""
        if self.environment is not None:
            return self.environment
        apps = {a.lower() for a in self.related_apps}
        if not apps & BROWSER_APPS:
            return "desktop"
        launches_other = any(
            s.type == "launch" and not is_browser_boilerplate(s.parameters.get("command"))
            for s in self.config
        )
        return "desktop" if launches_other else "browser"


BROWSER_PROGRAMS = frozenset({"google-chrome", "chromium", "chromium-browser", "chrome"})


def command_words(command: Any) -> list[str]:
    """A step's `command` as words (a string is split on blanks; anything else gives [])."""
    if isinstance(command, str):
        return command.split()
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        return list(command)
    return []


def is_browser_boilerplate(command: Any) -> bool:
    """OSWorld's Chrome start: `google-chrome --remote-debugging-port=1337`, and `socat` forwarding
    tcp 9222 to it (its controller talks to Chrome there). The browser environment has its own
    browser, so both are its business, not a program to start."""
    words = command_words(command)
    if not words:
        return False
    name = Path(words[0]).name
    if name in BROWSER_PROGRAMS:
        return True
    return name == "socat" and any(w.startswith("tcp-listen:9222") for w in words[1:])


class TaskEntry(BaseModel):
    """A loaded task: its spec, domain, and the file it came from (relative paths resolve there)."""

    model_config = ConfigDict(frozen=True)

    domain: str
    spec: TaskSpec
    path: Path

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.spec.id}"


class TaskFileError(BaseModel):
    """A task file that could not be used; `field` is a dotted path into the JSON ('' = whole file)."""

    model_config = ConfigDict(frozen=True)

    domain: str
    task_id: str
    path: Path
    field: str
    message: str

    def __str__(self) -> str:
        where = f" field {self.field!r}:" if self.field else ""
        return f"{self.path}:{where} {self.message}"


class Suite(BaseModel):
    """A loaded suite: runnable tasks in meta-file order, and the files that failed to load."""

    model_config = ConfigDict(frozen=True)

    name: str
    root: Path
    tasks: tuple[TaskEntry, ...]
    errors: tuple[TaskFileError, ...] = ()
    # A built-in suite: its setups (files written under {WORKDIR}, xterm / mousepad started there) are
    # part of qwen-agent, so they run on the host without --allow-host-setup (tasks.osworld.host_access).
    trusted: bool = False

    def select(self, domains: Iterable[str] = (), ids: Iterable[str] = ()) -> Suite:
        """Only the tasks of these domains and/or ids (empty = all). A domain or id the suite does not
        have is BadInput naming the closest ones (a typo must not run 0 tasks and "succeed")."""
        ds, idset = set(domains), set(ids)
        known_domains = {t.domain for t in self.tasks} | {e.domain for e in self.errors}
        known_ids = {t.spec.id for t in self.tasks} | {e.task_id for e in self.errors}
        for kind, wanted, known in (("domain", ds, known_domains), ("task", idset, known_ids)):
            for name in sorted(wanted - known):
                close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(close)}?" if close else f"; it has {len(known)}"
                raise BadInput(f"suite {self.name!r} has no {kind} {name!r}{hint} (see --list)")
        tasks = tuple(
            t for t in self.tasks if (not ds or t.domain in ds) and (not idset or t.spec.id in idset)
        )
        errors = tuple(
            e for e in self.errors if (not ds or e.domain in ds) and (not idset or e.task_id in idset)
        )
        return self.model_copy(update={"tasks": tasks, "errors": errors})


def _examples_dir(root: Path) -> Path:
    return root / "examples" if (root / "examples").is_dir() else root


def _discover(examples: Path) -> dict[str, list[str]]:
    return {
        d.name: sorted(p.stem for p in d.glob("*.json"))
        for d in sorted(examples.iterdir())
        if d.is_dir() and not d.name.startswith((".", "_"))
    }


def read_meta(root: Path, meta: str | None) -> dict[str, list[str]]:
    """domain -> ids from the meta file (`test_all.json` by default), or every file found."""
    meta_path = root / (meta or "test_all.json")
    if meta is not None and not meta_path.is_file():
        raise SuiteError(f"meta file {meta_path} not found")
    if not meta_path.is_file():
        return _discover(_examples_dir(root))
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise SuiteError(f"{meta_path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from e
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(i, str) for i in v)
        for k, v in data.items()
    ):
        raise SuiteError(f'{meta_path}: expected {{"<domain>": ["<id>", ...]}}')
    return data


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def load_task_file(path: Path, domain: str) -> TaskEntry | TaskFileError:
    """Parse one task file; a broken one becomes a TaskFileError naming the field."""
    task_id = path.stem

    def error(field: str, message: str) -> TaskFileError:
        return TaskFileError(domain=domain, task_id=task_id, path=path, field=field, message=message)

    if not path.is_file():
        return error("", "file not found (listed in the meta file)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        return error("", f"not UTF-8 text ({e.reason})")
    except json.JSONDecodeError as e:
        return error("", f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}")
    if not isinstance(data, dict):
        return error("", "expected a JSON object with OSWorld's task keys")
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        more = f" (and {e.error_count() - 1} more problems)" if e.error_count() > 1 else ""
        return error(_field_path(first["loc"]), first["msg"] + more)
    if spec.id != task_id:
        return error("id", f"id {spec.id!r} differs from the file name {task_id!r}")
    return TaskEntry(domain=domain, spec=spec, path=path)


def check_names(
    entry: TaskEntry,
    setup_steps: Mapping[str, object],
    getters: Mapping[str, object],
    metrics: Mapping[str, object],
) -> TaskFileError | None:
    """The first setup step, getter or metric name the registries do not know, with a suggestion."""
    spec = entry.spec

    def unknown(field: str, kind: str, name: str, known: Mapping[str, object]) -> TaskFileError:
        close = difflib.get_close_matches(name, list(known), n=2, cutoff=0.75)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        return TaskFileError(
            domain=entry.domain,
            task_id=spec.id,
            path=entry.path,
            field=field,
            message=f"unsupported {kind} {name!r}{hint}",
        )

    for i, step in enumerate(spec.config):
        if step.type not in setup_steps:
            return unknown(f"config.{i}.type", "setup step", step.type, setup_steps)
    for i, step in enumerate(spec.evaluator.postconfig):
        if step.type not in setup_steps:
            return unknown(f"evaluator.postconfig.{i}.type", "setup step", step.type, setup_steps)
    funcs = spec.evaluator.funcs
    for i, name in enumerate(funcs):
        if name not in metrics:
            return unknown("evaluator.func" + (f".{i}" if len(funcs) > 1 else ""), "metric", name, metrics)
    for field, config in spec.evaluator.getter_configs():
        kind = config.get("type")
        if not isinstance(kind, str):
            return TaskFileError(
                domain=entry.domain, task_id=spec.id, path=entry.path, field=f"evaluator.{field}",
                message='a getter config needs a "type" string',
            )  # fmt: skip
        if kind not in getters:
            return unknown(f"evaluator.{field}.type", "getter", kind, getters)
    return None


def load_suite(root: Path, name: str | None = None, meta: str | None = None) -> Suite:
    """Load every task the meta file lists (or every file found); bad files become errors."""
    root = Path(root)
    if not root.is_dir():
        raise SuiteError(f"suite folder {root} not found")
    examples = _examples_dir(root)
    tasks: list[TaskEntry] = []
    errors: list[TaskFileError] = []
    for domain, ids in read_meta(root, meta).items():
        for task_id in ids:
            loaded = load_task_file(examples / domain / f"{task_id}.json", domain)
            (errors if isinstance(loaded, TaskFileError) else tasks).append(loaded)  # type: ignore[arg-type]
    return Suite(name=name or root.name, root=root, tasks=tuple(tasks), errors=tuple(errors))


def substitute(value: Any, mapping: Mapping[str, str]) -> Any:
    """Replace `{NAME}` placeholders as plain text in every string inside a JSON value."""
    if isinstance(value, str):
        for key, replacement in mapping.items():
            value = value.replace("{" + key + "}", replacement)
        return value
    if isinstance(value, list):
        return [substitute(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, mapping) for k, v in value.items()}
    return value


DEFAULT_CLIENT_PASSWORD = "password"
"""OSWorld's VM user password, which its task files use as {CLIENT_PASSWORD} (e.g. `echo {CLIENT_PASSWORD}
| sudo -S ...`); `--client-password` or QWEN_AGENT_CLIENT_PASSWORD override it."""


def environment_placeholders(screen: tuple[int, int], client_password: str) -> dict[str, str]:
    """OSWorld's placeholders that come from the environment: the screen in pixels (width, height),
    its halves (integer division, as OSWorld's files expect whole pixels) and the VM user's password."""
    width, height = screen
    return {
        "SCREEN_WIDTH": str(width),
        "SCREEN_HEIGHT": str(height),
        "SCREEN_WIDTH_HALF": str(width // 2),
        "SCREEN_HEIGHT_HALF": str(height // 2),
        "CLIENT_PASSWORD": client_password,
    }


def resolve_task(spec: TaskSpec, mapping: Mapping[str, str]) -> TaskSpec:
    """The spec with placeholders filled in instruction, config and evaluator."""
    data = spec.model_dump(mode="json")
    for key in ("instruction", "config", "evaluator"):
        data[key] = substitute(data[key], mapping)
    return TaskSpec.model_validate(data)
