"""Compile a successful run folder into a job folder: job.yaml, its schema and one anchor crop per
target. Each executed step keeps its intent, its action (typed parameter values put back as
`{{name}}`), every piece of target evidence the run had, what it visibly changed, and whether the
risky-action rules judge it risky. Failed, blocked and unparseable steps are left out: the job is
the path that worked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from actions.errors import BadInput
from actions.safety import SafetyPolicy
from actions.types import (
    Action,
    Click,
    Drag,
    ElementInfo,
    Executed,
    Finish,
    MoveTo,
    Scroll,
    TypeText,
    action_point,
)
from agent.run_folder import RUN_FILE, RecordedRun, load_run
from agent.trajectory import Step
from tasks.jobs.anchors import cut_anchor
from tasks.jobs.files import write_job
from tasks.jobs.params import param_names, templatise
from tasks.jobs.spec import (
    JOB_FILE,
    Box,
    ElementEvidence,
    FieldHolds,
    Job,
    JobStart,
    JobStep,
    Postcondition,
    ScreenChanges,
    Target,
    UrlIs,
)


def page_address(url: str) -> str:
    """Scheme, host and path of `url`: what a UrlIs postcondition compares."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else url.split("#")[0].split("?")[0]


def element_evidence(element: ElementInfo | None) -> ElementEvidence | None:
    if element is None:
        return None
    box = None
    if element.bbox:
        x, y, w, h = element.bbox
        box = Box(x=x, y=y, w=w, h=h)
    return ElementEvidence(
        tag=element.tag, role=element.role, name=element.label, selector=element.selector, box=box
    )


def _start(run: RecordedRun, first: Step) -> JobStart:
    about = json.loads((run.folder / RUN_FILE).read_text(encoding="utf-8")).get("about", {})
    environment = about.get("environment", "browser" if first.url else "desktop")
    if environment not in ("browser", "desktop"):
        raise BadInput(f"{run.folder}: a run on {environment!r} cannot be compiled (browser or desktop only)")
    geometry = first.geometry
    if geometry is None:
        raise BadInput(f"{run.folder}: step {first.index} has no screen geometry (an old run folder?)")
    url = about.get("url") if about.get("url") not in (None, "-") else first.url
    launch = tuple(c for c in about.get("launched", "").split("; ") if c)
    return JobStart(
        environment=environment,
        url=url if environment == "browser" else None,
        launch=launch,
        width=geometry.width,
        height=geometry.height,
        scale=geometry.scale,
    )


def _after_url(run: RecordedRun, step: Step) -> str | None:
    """The address the page had after `step`: the next recorded step's observation."""
    later = [s for s in run.steps if s.index > step.index and s.url]
    return later[0].url if later else None


def _expect(
    run: RecordedRun, step: Step, action: Action, typed: str | None, near: Box | None
) -> list[Postcondition]:
    """What the step visibly did in the run: the page's address changed, the field holds the typed
    text, or the screen changed (near the target for a click)."""
    expect: list[Postcondition] = []
    before, after = step.url, _after_url(run, step)
    if before and after and page_address(before) != page_address(after):
        expect.append(UrlIs(equals=page_address(after)))
    elif typed is not None and step.url and "\n" not in typed and "\t" not in typed:
        expect.append(FieldHolds(contains=typed))
    elif step.screen_changed and not isinstance(action, MoveTo):
        expect.append(ScreenChanges(near=near if isinstance(action, Click) else None))
    return expect


def compile_steps(run: RecordedRun, out: Path, prefix: str = "") -> list[JobStep]:
    """The job's steps; anchor crops are written into `out` (named `<prefix>anchor_<n>.png`)."""
    from PIL import Image

    params = dict(run.options.params)
    opts = run.options
    policy = SafetyPolicy(opts.risky_words, opts.risky_commands, opts.unknown_targets)
    steps: list[JobStep] = []
    for step in run.steps:
        action = step.action
        if step.kind != "action" or action is None or isinstance(action, Finish):
            continue
        if not isinstance(step.outcome, Executed):
            continue
        step_action = action  # as the run typed it (the rules judge the real text)
        typed: str | None = None
        names: tuple[str, ...] = ()
        if isinstance(action, TypeText):
            typed, names = templatise(action.text, params)
            action = action.model_copy(update={"text": typed})
        point = action_point(action)
        target: Target | None = None
        if point is not None and isinstance(action, Click | Drag | MoveTo | Scroll):
            evidence = element_evidence(step.element)
            anchor = None
            shot = run.screenshot(step)
            if shot is not None and shot.is_file() and step.geometry is not None:
                with Image.open(shot) as image:
                    anchor, crop = cut_anchor(
                        image.convert("RGB"),
                        step.geometry.scale,
                        point,
                        evidence.box if evidence else None,
                        f"{prefix}anchor_{len(steps) + 1}.png",
                    )
                crop.save(out / anchor.image)
            target = Target(point=point, element=evidence, anchor=anchor)
        near = target.anchor.region if target and target.anchor else None
        # The rules as the run applied them (the focused element and a drop target are not kept).
        risk = policy.assess(step_action, step.element, step.summary, thought=step.thought)
        steps.append(
            JobStep(
                intent=templatise(step.summary or "", params)[0] or f"{action.kind} step",
                action=action,
                target=target,
                expect=tuple(_expect(run, step, action, typed, near)),
                risky=risk.question if risk else None,
                parameters=names,
            )
        )
    return steps


def compile_run(run_dir: Path, out: Path, name: str | None = None, overwrite: bool = False) -> Job:
    """Compile the run in `run_dir` into the job folder `out` (created; an existing job folder is
    replaced only with `overwrite`). BadInput for a run that did not succeed or has nothing to replay."""
    run = load_run(run_dir)
    if run.result is None or run.result.status != "success":
        status = run.result.status if run.result else "unfinished"
        raise BadInput(f"{run_dir}: only a successful run can be compiled (this one is {status})")
    if out.exists() and any(out.iterdir()):
        if not overwrite or not (out / JOB_FILE).is_file():
            raise BadInput(f"{out} is not empty: choose a new folder (or --overwrite an old job folder)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = compile_steps(run, out)
    if not steps:
        raise BadInput(f"{run_dir}: the run has no executed action to replay")
    params = dict(run.options.params)
    instruction, _ = templatise(run.instruction, params)
    typed_names = [n for s in steps for n in s.parameters]
    first = next(s for s in run.steps if s.kind == "action" and s.geometry is not None)
    job = Job(
        name=name or run_dir.resolve().name,
        instruction=instruction,
        parameters=tuple(dict.fromkeys([*param_names(instruction), *typed_names])),
        start=_start(run, first),
        steps=tuple(steps),
        compiled_from=str(run_dir.resolve()),
    )
    write_job(job, out)
    return job
