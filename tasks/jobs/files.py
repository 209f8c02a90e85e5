"""Job folders on disk: job.yaml (read with YAML's safe loader, validated by tasks.jobs.spec), its
JSON Schema for editors, and the anchor crops. Errors name the file, the line and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from actions.errors import BadInput
from tasks.jobs.spec import JOB_FILE, SCHEMA_FILE, Job


class JobFileError(BadInput):
    """A job folder or job file that cannot be used as it is."""


def _line_of(node: Any, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at `loc` (or of its closest existing parent)."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            found = node.value[key]
        else:
            found = None
        if found is None:
            break
        node, line = found, found.start_mark.line + 1
    return line


def load_job(folder: Path) -> Job:
    """The job in `folder`; JobFileError with file, line and field when it is not a valid one."""
    import yaml

    path = folder / JOB_FILE
    if not path.is_file():
        raise JobFileError(f"{folder} is not a job folder (no {JOB_FILE}; `qwen-agent job compile` makes it)")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise JobFileError(f"{where}: not valid YAML ({getattr(e, 'problem', None) or e})") from None
    if not isinstance(data, dict):
        raise JobFileError(f"{path}: expected a mapping of job fields at the top")
    try:
        job = Job.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        field = ".".join(str(p) for p in loc) or "(top)"
        line = _line_of(root, loc)
        where = f"{path}:{line}" if line else str(path)
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise JobFileError(f"{where}: field {field}: {first['msg']}{more}") from None
    for n, step in enumerate(job.steps):
        anchor = step.target.anchor if step.target else None
        if anchor is not None and not (folder / anchor.image).is_file():
            line = _line_of(root, ("steps", n, "target", "anchor", "image"))
            field = f"steps.{n}.target.anchor.image"
            raise JobFileError(f"{path}:{line}: field {field}: no file {anchor.image!r} in the job folder")
    return job


def job_yaml(job: Job) -> str:
    """The job as YAML a person can read and edit (fields in model order, empty ones left out;
    defaults stay: `kind` tells actions and postconditions apart)."""
    import yaml

    data = job.model_dump(mode="json", exclude_none=True)
    header = (
        "# qwen-agent job: replay with `qwen-agent job run DIR --param NAME=VALUE` or `--rows data.csv`.\n"
        f"# Format: {SCHEMA_FILE} beside this file. Points and boxes are logical px of the recorded screen.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def write_job(job: Job, folder: Path) -> None:
    """job.yaml and its JSON Schema into `folder` (which holds, or will hold, the anchors)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / JOB_FILE).write_text(job_yaml(job), encoding="utf-8")
    schema = json.dumps(Job.model_json_schema(), indent=2) + "\n"
    (folder / SCHEMA_FILE).write_text(schema, encoding="utf-8")
