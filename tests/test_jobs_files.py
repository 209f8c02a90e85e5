"""Job files, parameters, rows and anchors without a browser: bad input is a clear error naming the
file, line and field; parameters round-trip; an anchor is found where it moved, at another scale,
and refused where it is ambiguous.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from actions.errors import BadInput
from actions.types import Click, TypeText
from tasks.jobs.anchors import cut_anchor, find_anchor
from tasks.jobs.files import JobFileError, job_yaml, load_job, write_job
from tasks.jobs.params import fill, load_params_file, param_names, parse_params, templatise
from tasks.jobs.rows import check_values, load_rows, safe_key
from tasks.jobs.spec import Anchor, Box, Job, JobStart, JobStep, Target

pytestmark = pytest.mark.unit


def _job(**changes: object) -> Job:
    steps = (
        JobStep(intent="Click Name", action=Click(x=10, y=20), target=Target(point=(10, 20))),
        JobStep(intent="Type the name", action=TypeText(text="{{name}}"), parameters=("name",)),
    )
    fields: dict[str, object] = {
        "name": "demo",
        "instruction": "Add {{name}}",
        "parameters": ("name",),
        "start": JobStart(environment="browser", url="http://127.0.0.1:1/", width=1280, height=800),
        "steps": steps,
    }
    return Job.model_validate({**fields, **changes})


def test_parameters_fill_and_come_back() -> None:
    assert param_names("Add {{name}} ({{ email }}) {{secret:PW}} {{name}}") == ("name", "email")
    assert fill("Add {{name}} {{secret:PW}}", {"name": "Ann"}) == "Add Ann {{secret:PW}}"
    with pytest.raises(BadInput, match=r"\{\{email\}\}.*--param email="):
        fill("Add {{email}}", {})
    # The longest value first: a value inside another is not split.
    text, names = templatise(
        "Ann Lee <ann@acme.test>", {"first": "Ann", "full": "Ann Lee", "email": "ann@acme.test"}
    )
    assert text == "{{full}} <{{email}}>" and names == ("full", "email")
    assert parse_params(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(BadInput, match="NAME=VALUE"):
        parse_params(["no-equals"])


def test_params_file_is_checked(tmp_path: Path) -> None:
    good = tmp_path / "row.json"
    good.write_text(json.dumps({"name": "Ann", "age": 41, "vip": True}))
    assert load_params_file(good) == {"name": "Ann", "age": "41", "vip": "true"}
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": ')
    with pytest.raises(BadInput, match=r"bad.json: not JSON \(line 1"):
        load_params_file(bad)
    nested = tmp_path / "nested.json"
    nested.write_text('{"name": {"first": "Ann"}}')
    with pytest.raises(BadInput, match="'name' must be a NAME with a text or number value"):
        load_params_file(nested)
    with pytest.raises(BadInput, match=r"unknown parameter.*color.*the job's parameters: name"):
        check_values({"name": "x", "color": "red"}, ("name",), "--param")


def test_rows_csv_errors_name_file_line_and_column(tmp_path: Path) -> None:
    csv = tmp_path / "hires.csv"
    csv.write_text("name,email,notes\nAnn,ann@a.test,x\n\nBo,bo@a.test,y\n")
    rows = load_rows(csv, ("name", "email"), key_column="email")
    assert [(r.key, r.line, r.values) for r in rows] == [
        ("ann@a.test", 2, {"name": "Ann", "email": "ann@a.test"}),
        ("bo@a.test", 4, {"name": "Bo", "email": "bo@a.test"}),
    ]
    assert [r.key for r in load_rows(csv, ("name",))] == ["row-2", "row-4"]
    with pytest.raises(BadInput, match=r"hires.csv:1: no column for parameter\(s\) start"):
        load_rows(csv, ("name", "start"))
    csv.write_text("name,email\nAnn,a@a.test\nBo,a@a.test\n")
    with pytest.raises(BadInput, match=r"hires.csv:3: column 'email': 'a@a.test' is also the key of line 2"):
        load_rows(csv, ("name",), key_column="email")
    csv.write_text("name,email\nAnn\n")
    with pytest.raises(BadInput, match=r"hires.csv:2: 1 cells, but the header has 2 columns"):
        load_rows(csv, ("name",))
    assert safe_key("ann@a.test") == "ann@a.test"
    assert safe_key("a/b") != safe_key("a_b") and "/" not in safe_key("a/b")


def test_job_file_round_trips_and_errors_point_at_the_line(tmp_path: Path) -> None:
    job = _job()
    write_job(job, tmp_path)
    assert load_job(tmp_path) == job
    schema = json.loads((tmp_path / "job.schema.json").read_text())
    assert "steps" in schema["properties"]
    text = job_yaml(job)
    # An edit that breaks a field: the error names the line of that field.
    broken = text.replace("kind: click", "kind: clack")
    (tmp_path / "job.yaml").write_text(broken)
    with pytest.raises(JobFileError) as err:
        load_job(tmp_path)
    message = str(err.value)
    wrong = next(n for n, t in enumerate(broken.splitlines(), 1) if "clack" in t)
    assert f"job.yaml:{wrong}: field steps.0.action" in message
    (tmp_path / "job.yaml").write_text("version: 1\nname: [unclosed\n")
    with pytest.raises(JobFileError, match=r"job.yaml:\d+: not valid YAML"):
        load_job(tmp_path)
    # YAML tags that would build objects are refused by the safe loader.
    (tmp_path / "job.yaml").write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(JobFileError, match="not valid YAML"):
        load_job(tmp_path)
    with pytest.raises(JobFileError, match="is not a job folder"):
        load_job(tmp_path / "nowhere")


def _screen(offset: tuple[int, int] = (0, 0), scale: int = 1) -> Image.Image:
    """A synthetic form: two look-alike fields told apart by their labels, at `offset` logical px."""
    image = Image.new("RGB", (640 * scale, 400 * scale), "white")
    draw = ImageDraw.Draw(image)
    ox, oy = offset
    for n, label in enumerate(("Full name", "Work email")):
        y = oy + 60 + n * 90
        draw.text(((ox + 40) * scale, y * scale), label, fill="black", font_size=14 * scale)
        draw.rectangle(
            ((ox + 40) * scale, (y + 22) * scale, (ox + 300) * scale, (y + 56) * scale),
            outline="gray",
            width=scale,
        )
    return image


def test_an_anchor_is_found_where_it_moved_and_at_another_scale() -> None:
    recorded = _screen()
    box = Box(x=40, y=150 + 22, w=260, h=34)  # the email field
    anchor, crop = cut_anchor(recorded, 1.0, (100, 189), box, "a.png")
    found = find_anchor(_screen(offset=(70, 40)), 1.0, anchor, crop)
    assert found is not None and found.point == (170, 229)
    twice = find_anchor(_screen(offset=(70, 40), scale=2), 2.0, anchor, crop)
    assert twice is not None and abs(twice.point[0] - 170) <= 2 and abs(twice.point[1] - 229) <= 2
    # A crop of the bare field (no label) matches both fields equally: refused, never guessed.
    bare = Anchor(image="b.png", region=Box(x=30, y=168, w=280, h=42), click=(70, 21))
    assert find_anchor(_screen(), 1.0, bare, recorded.crop((30, 168, 310, 210))) is None


def test_url_expectations_follow_the_app_to_its_new_site() -> None:
    from tasks.jobs.checks import rebased

    recorded, live = "http://127.0.0.1:1/intake/", "http://127.0.0.1:2/intake/?layout=v2"
    assert (
        rebased("http://127.0.0.1:1/intake/saved.html", recorded, live)
        == "http://127.0.0.1:2/intake/saved.html"
    )
    assert rebased("https://elsewhere.test/done", recorded, live) == "https://elsewhere.test/done"
    assert rebased("http://127.0.0.1:1/x", None, live) == "http://127.0.0.1:1/x"
