"""Grounding accuracy (`qwen-agent eval grounding`): the three public formats loaded from files made
here, scored with backends that answer raw Qwen3-VL replies (tests/grounding_backends.py), and the
tiny real Qwen3-VL end to end."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from actions.errors import BadInput
from actions.types import Action, Click, Finish, ScreenGeometry
from model.backend import ModelError
from model.qwen3vl import PixelBudget, ProtocolSettings, format_reply
from model.scripted import ScriptedBackend
from model.types import ModelRequest, ModelResponse
from tasks.cli.common import ExitCode, exit_on_error
from tasks.grounding.evaluate import evaluate_grounding
from tasks.grounding.formats import load_grounding_set
from tasks.grounding.samples import Box, GroundingDataError, Polygon, Refusal, size_bucket
from tests.grounding_backends import OracleBackend

if TYPE_CHECKING:
    from model.transformers_backend import TransformersBackend

OFFSET = (80, 0)  # image pixels: boxes wider than 160 px still hold the shifted click

# ----- data sets, written in each public format -------------------------------------------------------


def _screenshot(
    path: Path, size: tuple[int, int], boxes: Sequence[tuple[float, float, float, float]]
) -> None:
    """A flat grey screen with each target painted as a coloured rectangle (x1, y1, x2, y2)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, (235, 235, 235))
    draw = ImageDraw.Draw(image)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        draw.rectangle([x1, y1, x2, y2], fill=(40 * i % 255, 120, 200), outline=(0, 0, 0))
    image.save(path)


# ScreenSpot-v2 (bbox [x, y, w, h]) on a 1280x720 screen; with OFFSET only the first two still hit.
SCREENSPOT = [
    ("Save button", [100, 100, 300, 200], "text"),  # 6.5% of the screen: large; 250 -> 330 < 400
    ("Search field", [500, 400, 300, 100], "text"),  # large; 650 -> 730 < 800
    ("Settings gear", [900, 100, 100, 200], "icon"),  # large; 950 -> 1030 > 1000
    ("Trash icon", [1100, 500, 100, 100], "icon"),  # 1.1%: medium
    ("Bell icon", [700, 600, 40, 40], "icon"),  # 0.17%: small
    ("Close cross", [50, 650, 20, 20], "icon"),  # 0.04%: tiny
]


def screenspot_set(root: Path) -> Path:
    boxes = [(x, y, x + w, y + h) for _, (x, y, w, h), _ in SCREENSPOT]
    _screenshot(root / "screenspotv2_image" / "pc_1.png", (1280, 720), boxes)
    entries = [
        {
            "img_filename": "pc_1.png",
            "bbox": bbox,
            "instruction": text,
            "data_type": kind,
            "data_source": "windows",
        }
        for text, bbox, kind in SCREENSPOT
    ]
    path = root / "screenspot_desktop_v2.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def screenspot_pro_set(root: Path) -> Path:
    """Two applications' files (bbox [x1, y1, x2, y2]); one negative entry; the Photoshop screenshot is
    stored at half the size its img_size declares."""
    _screenshot(
        root / "images" / "vscode_macos" / "s1.png",
        (1920, 1080),
        [(100, 100, 500, 300), (1000, 500, 1060, 560)],
    )
    _screenshot(root / "images" / "photoshop_windows" / "s2.png", (960, 540), [(100, 100, 300, 200)])
    common = {"application": "vscode", "platform": "macos", "group": "Dev", "img_size": [1920, 1080]}
    vscode = [
        {**common, "id": "vscode_1", "img_filename": "vscode_macos/s1.png", "bbox": [100, 100, 500, 300],
         "instruction": "Open the Explorer panel", "ui_type": "text"},
        {**common, "id": "vscode_2", "img_filename": "vscode_macos/s1.png", "bbox": [1000, 500, 1060, 560],
         "instruction": "Run the debugger", "ui_type": "icon"},
        {**common, "id": "vscode_3", "img_filename": "vscode_macos/s1.png", "bbox": [0, 0, 10, 10],
         "instruction": "Open the flight simulator", "ui_type": "text", "gt_type": "negative"},
    ]  # fmt: skip
    photoshop = [
        {"id": "ps_1", "img_filename": "photoshop_windows/s2.png", "bbox": [200, 200, 600, 400],
         "img_size": [1920, 1080], "instruction": "Choose the brush tool", "application": "photoshop",
         "platform": "windows", "group": "Creative", "ui_type": "text"},
    ]  # fmt: skip
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "vscode_macos.json").write_text(json.dumps(vscode), encoding="utf-8")
    (root / "annotations" / "photoshop_windows.json").write_text(json.dumps(photoshop), encoding="utf-8")
    return root / "annotations"


DIAMOND = [700, 250, 850, 400, 700, 550, 550, 400]  # centred on (700, 400), 150 px to each tip


def osworld_g_set(root: Path) -> Path:
    """OSWorld-G: a bbox ([x, y, w, h]), a polygon (flat), a refusal, and a narrow bbox."""
    _screenshot(root / "images" / "og_1.png", (1000, 800), [(100, 100, 400, 300), (850, 700, 910, 740)])
    entries = [
        {"id": "a", "image_path": "og_1.png", "image_size": [1000, 800], "instruction": "the OK button",
         "box_type": "bbox", "box_coordinates": [100, 100, 300, 200], "GUI_types": ["Button", "Text Matching"]},
        {"id": "b", "image_path": "og_1.png", "image_size": [1000, 800], "instruction": "the diamond shape",
         "box_type": "polygon", "box_coordinates": DIAMOND, "GUI_types": ["Layout Understanding"]},
        {"id": "c", "image_path": "og_1.png", "image_size": [1000, 800], "instruction": "the unicorn icon",
         "box_type": "refusal", "box_coordinates": [-1, -1, -1, -1], "GUI_types": ["Refusal"]},
        {"id": "d", "image_path": "og_1.png", "image_size": [1000, 800], "instruction": "the small Apply button",
         "box_type": "bbox", "box_coordinates": [850, 700, 60, 40], "GUI_types": ["Button"]},
    ]  # fmt: skip
    path = root / "OSWorld-G.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


SETS = {"screenspot": screenspot_set, "screenspot-pro": screenspot_pro_set, "osworld-g": osworld_g_set}


def _run(path: Path, backend: Any, out: Path, **kwargs: Any) -> dict[str, Any]:
    return evaluate_grounding(path, backend, out, **kwargs).summary


# ----- loading --------------------------------------------------------------------------------------


@pytest.mark.unit
def test_each_format_loads_into_image_pixel_targets(tmp_path: Path) -> None:
    ss = load_grounding_set(screenspot_set(tmp_path / "ss"))
    assert ss.formats == ("screenspot",)
    assert [s.target for s in ss.samples[:1]] == [Box(x1=100, y1=100, x2=400, y2=300)]  # x, y, w, h
    assert [s.size for s in ss.samples] == ["large", "large", "large", "medium", "small", "tiny"]
    assert dict(ss.samples[0].groups)["data_type"] == "text"
    assert ss.samples[0].image == tmp_path / "ss" / "screenspotv2_image" / "pc_1.png"

    pro = load_grounding_set(screenspot_pro_set(tmp_path / "pro"))  # the annotations/ folder
    assert pro.formats == ("screenspot-pro", "screenspot-pro")
    by_key = {s.key: s for s in pro.samples}
    assert set(by_key) == {
        "vscode_macos/vscode_1",
        "vscode_macos/vscode_2",
        "vscode_macos/vscode_3",
        "photoshop_windows/ps_1",
    }
    assert by_key["vscode_macos/vscode_1"].target == Box(x1=100, y1=100, x2=500, y2=300)  # x1, y1, x2, y2
    assert by_key["vscode_macos/vscode_3"].target == Refusal()
    # declared 1920x1080, stored 960x540: the box comes in the stored image's pixels
    assert by_key["photoshop_windows/ps_1"].target == Box(x1=100, y1=100, x2=300, y2=200)
    assert by_key["photoshop_windows/ps_1"].image_size == (960, 540)
    assert dict(by_key["vscode_macos/vscode_2"].groups) == {
        "ui_type": "icon", "application": "vscode", "group": "Dev", "platform": "macos", "size": "small",
        "target": "box",
    }  # fmt: skip

    og = load_grounding_set(osworld_g_set(tmp_path / "og"))
    assert og.formats == ("osworld-g",)
    targets = [s.target for s in og.samples]
    assert targets[0] == Box(x1=100, y1=100, x2=400, y2=300)
    assert isinstance(targets[1], Polygon) and targets[1].points[0] == (700, 250)
    assert targets[2] == Refusal() and og.samples[2].size is None
    assert [v for d, v in og.samples[0].groups if d == "gui_type"] == ["Button", "Text Matching"]


@pytest.mark.unit
def test_geometry_rules() -> None:
    notch = Polygon(points=((0, 0), (100, 0), (100, 100), (60, 100), (60, 40), (0, 40)))  # an L shape
    assert notch.contains(80, 80) and notch.contains(20, 20)
    assert not notch.contains(20, 80)  # inside the bounds, outside the L
    assert notch.contains(60, 70)  # on an edge
    assert notch.area == 100 * 40 + 40 * 60
    box = Box(x1=10, y1=10, x2=20, y2=20)
    assert box.contains(10, 20) and not box.contains(9, 15)
    # buckets by area relative to the image: < 0.1%, < 0.5%, < 2%, else large
    image = (1000, 1000)
    assert [size_bucket(Box(x1=0, y1=0, x2=s, y2=s), image) for s in (31, 32, 70, 71, 141, 142)] == [
        "tiny", "small", "small", "medium", "medium", "large",
    ]  # fmt: skip


@pytest.mark.unit
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"img_filename": "pc_1.png", "bbox": [1, 2, 3, 4], "instruction": "ok", "data_type": "text"},'
         ' {"img_filename": "pc_1.png", "instruction": "no box", "data_type": "icon"}]',
         r"bad\.json: entry 1: 'bbox' must be a list of 4 numbers, got None"),
        ('[{"img_filename": "pc_1.png", "bbox": [1, 2, 0, 4], "instruction": "ok", "data_type": "text"}]',
         r"bad\.json: entry 0: 'bbox' describes an empty box"),
        ('[{"img_filename": "missing.png", "bbox": [1, 2, 3, 4], "instruction": "ok", "data_type": "text"}]',
         r"bad\.json: entry 0: image 'missing\.png' not found .* pass --images FOLDER"),
        ('[{"id": 1, "image_path": "pc_1.png", "instruction": "x", "box_type": "circle", "box_coordinates": []}]',
         r"bad\.json: entry 0: 'box_type' must be bbox, polygon or refusal, got 'circle'"),
        ('[{"id": 1, "image_path": "pc_1.png", "instruction": "x", "box_type": "polygon", "box_coordinates": [1, 2, 3, 4]}]',
         r"bad\.json: entry 0: a polygon needs at least 3 \(x, y\) pairs"),
        ('[{"whatever": 1}]', r"bad\.json: cannot tell its format .* pass --format"),
        ('{"img_filename": "pc_1.png"}', r"bad\.json: expected a JSON list of entries, got a dict"),
        ('[{"img_filename": "pc_1.png",', r"bad\.json: not valid JSON \(line 1"),
    ],
)  # fmt: skip
def test_malformed_files_name_file_and_entry(tmp_path: Path, content: str, message: str) -> None:
    _screenshot(tmp_path / "imgs" / "pc_1.png", (100, 100), [])
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(GroundingDataError, match=message):
        load_grounding_set(bad)


@pytest.mark.unit
def test_malformed_file_exits_2_before_any_model(tmp_path: Path) -> None:
    from tasks.cli.grounding import grounding_eval_command

    bad = tmp_path / "bad.json"
    bad.write_text('[{"img_filename": "x.png", "bbox": "no", "instruction": "a", "data_type": "text"}]')
    # a scripted model file that does not exist: the data set is read (and refused) first
    with pytest.raises(SystemExit) as exit_info, exit_on_error():
        grounding_eval_command(bad, model=f"scripted:{tmp_path / 'none.jsonl'}", out=tmp_path / "out")
    assert exit_info.value.code == ExitCode.USAGE
    assert not (tmp_path / "out").exists()


# ----- scoring --------------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("fmt", sorted(SETS))
def test_oracle_scores_everything(tmp_path: Path, fmt: str) -> None:
    path = SETS[fmt](tmp_path / "data")
    data = load_grounding_set(path)
    oracle = OracleBackend(data.samples)
    summary = _run(path, oracle, tmp_path / "out")
    n = len(data.samples)
    assert summary["overall"] == {"samples": n, "correct": n, "accuracy": 1.0}
    assert oracle.calls == n
    refusals = sum(isinstance(s.target, Refusal) for s in data.samples)
    assert summary["outcomes"] == {k: v for k, v in {"hit": n - refusals, "declined": refusals}.items() if v}
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert len(lines) == n and all(json.loads(line)["correct"] for line in lines)
    assert not (tmp_path / "out" / "misses").exists()  # no wrong answer, no thumbnail


@pytest.mark.unit
def test_offset_backend_screenspot_fraction_and_groups(tmp_path: Path) -> None:
    path = screenspot_set(tmp_path / "data")
    data = load_grounding_set(path)
    run = evaluate_grounding(path, OracleBackend(data.samples, OFFSET), tmp_path / "out")
    summary = run.summary
    assert summary["overall"] == {"samples": 6, "correct": 2, "accuracy": 2 / 6}
    groups = summary["groups"]
    assert groups["data_type"] == {
        "icon": {"samples": 4, "correct": 0, "accuracy": 0.0},
        "text": {"samples": 2, "correct": 2, "accuracy": 1.0},
    }
    assert {k: (v["samples"], v["correct"]) for k, v in groups["size"].items()} == {
        "large": (3, 2), "medium": (1, 0), "small": (1, 0), "tiny": (1, 0),
    }  # fmt: skip
    assert groups["data_source"] == {"windows": {"samples": 6, "correct": 2, "accuracy": 2 / 6}}
    # every miss's point is the centre moved by the offset (within one grid cell), in image pixels
    for result in run.results:
        assert isinstance(result.target, Box) and result.point is not None
        cx, cy = result.target.centre
        assert abs(result.point[0] - (cx + 80)) <= 1.5 and abs(result.point[1] - cy) <= 1.5
    # the report shows the four misses as thumbnail files, not inline images
    report = (tmp_path / "out" / "report.html").read_text()
    thumbs = sorted((tmp_path / "out" / "misses").glob("*.jpg"))
    assert len(thumbs) == 4 and all(f"misses/{t.name}" in report for t in thumbs)
    assert "data:image" not in report and "Grounding accuracy: 33.3%" in report
    with Image.open(thumbs[0]) as im:
        assert im.width <= 640


@pytest.mark.unit
def test_offset_backend_pro_and_osworld_g(tmp_path: Path) -> None:
    pro = screenspot_pro_set(tmp_path / "pro")
    summary = _run(pro, OracleBackend(load_grounding_set(pro).samples, OFFSET), tmp_path / "out-pro")
    # vscode_1 hit, vscode_2 (60 px wide) missed, vscode_3 absent and declined, ps_1 hit
    assert summary["overall"] == {"samples": 4, "correct": 3, "accuracy": 0.75}
    assert {k: (v["samples"], v["correct"]) for k, v in summary["groups"]["group"].items()} == {
        "Creative": (1, 1), "Dev": (3, 2),
    }  # fmt: skip
    assert {k: (v["samples"], v["correct"]) for k, v in summary["groups"]["ui_type"].items()} == {
        "icon": (1, 0), "text": (3, 3),
    }  # fmt: skip
    assert set(summary["groups"]["application"]) == {"photoshop", "vscode"}
    assert summary["groups"]["target"]["refusal"] == {"samples": 1, "correct": 1, "accuracy": 1.0}

    og = osworld_g_set(tmp_path / "og")
    summary = _run(og, OracleBackend(load_grounding_set(og).samples, OFFSET), tmp_path / "out-og")
    # a: hit; b: (780, 400) still inside the diamond; c: declined (correct); d: 60 px wide, missed
    assert summary["overall"] == {"samples": 4, "correct": 3, "accuracy": 0.75}
    assert {k: (v["samples"], v["correct"]) for k, v in summary["groups"]["gui_type"].items()} == {
        "Button": (2, 1), "Layout Understanding": (1, 1), "Refusal": (1, 1), "Text Matching": (1, 1),
    }  # fmt: skip
    assert summary["outcomes"] == {"declined": 1, "hit": 2, "miss": 1}


@pytest.mark.unit
def test_refusal_rules_on_raw_replies(tmp_path: Path) -> None:
    """On an absent element only a decline is right; elsewhere a decline is a miss; an unreadable reply
    is wrong everywhere."""
    path = osworld_g_set(tmp_path / "og")
    screen = ScreenGeometry(width=1000, height=800)
    replies = [
        format_reply(Finish(status="failure"), summary="No OK button here."),  # a: declines a present element
        format_reply(Click(x=700, y=400), screen, summary="Click the diamond."),  # b: inside the polygon
        format_reply(Click(x=500, y=500), screen, summary="Click the unicorn."),  # c: clicks an absent one
        "I believe the Apply button is at the bottom right.",  # d: no call at all
    ]
    run = evaluate_grounding(path, ScriptedBackend(replies), tmp_path / "out")
    verdicts = [(r.key, r.outcome, r.correct) for r in run.results]
    assert verdicts == [
        ("OSWorld-G/a", "declined", False),
        ("OSWorld-G/b", "hit", True),
        ("OSWorld-G/c", "miss", False),
        ("OSWorld-G/d", "unparsed", False),
    ]
    assert run.results[1].point == (700, 400)
    assert run.results[3].reason and run.results[3].raw == replies[3]
    # a refusal answered with a click is drawn with its point and no target
    assert run.results[2].thumbnail and (tmp_path / "out" / run.results[2].thumbnail).is_file()


# ----- running: resume, workers, the prompt the agent uses ---------------------------------------------


@pytest.mark.unit
def test_resume_skips_recorded_samples(tmp_path: Path) -> None:
    path = screenspot_set(tmp_path / "data")
    samples = load_grounding_set(path).samples
    out = tmp_path / "out"
    first = OracleBackend(samples)
    assert _run(path, first, out, limit=2)["overall"]["samples"] == 2
    assert first.calls == 2
    with pytest.raises(BadInput, match="--resume"):
        _run(path, OracleBackend(samples), out)
    with pytest.raises(BadInput, match="other settings"):
        _run(path, OracleBackend(samples), out, resume=True, settings=ProtocolSettings(max_new_tokens=64))
    second = OracleBackend(samples)
    summary = _run(path, second, out, resume=True)
    assert second.calls == 4  # only the samples not recorded before
    assert summary["overall"] == {"samples": 6, "correct": 6, "accuracy": 1.0}
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(x["key"] for x in lines) == sorted(s.key for s in samples)  # each once
    third = OracleBackend(samples)
    _run(path, third, out, resume=True)
    assert third.calls == 0


class _FailingOracle(OracleBackend):
    """The oracle whose third call finds the model gone (an endpoint down past its retries)."""

    def generate(self, request: ModelRequest) -> ModelResponse:
        if self.calls == 2:
            self.calls += 1
            raise ModelError("endpoint unreachable")
        return super().generate(request)


@pytest.mark.unit
@pytest.mark.parametrize("workers", [1, 3])
def test_model_error_stops_the_run_and_keeps_what_was_scored(tmp_path: Path, workers: int) -> None:
    path = screenspot_set(tmp_path / "data")
    samples = load_grounding_set(path).samples
    out = tmp_path / "out"
    with pytest.raises(ModelError, match="unreachable"):
        _run(path, _FailingOracle(samples), out, workers=workers, parallel_calls=workers > 1)
    recorded = len((out / "results.jsonl").read_text().splitlines())
    assert 2 <= recorded < 6 and not (out / "summary.json").exists()
    again = OracleBackend(samples)
    assert _run(path, again, out, resume=True, workers=workers)["overall"]["correct"] == 6
    assert again.calls == 6 - recorded


@pytest.mark.unit
def test_workers_overlap_http_calls(tmp_path: Path) -> None:
    """With parallel calls (an HTTP backend) four workers keep four requests in flight."""
    import time

    path = screenspot_set(tmp_path / "data")
    oracle = OracleBackend(load_grounding_set(path).samples, delay_s=0.3)
    started = time.perf_counter()
    summary = _run(path, oracle, tmp_path / "out", workers=6, parallel_calls=True)
    assert time.perf_counter() - started < 6 * 0.3 * 0.75  # serial calls would take 1.8 s
    assert summary["overall"]["correct"] == 6 and oracle.calls == 6


@pytest.mark.unit
def test_request_is_the_agents_first_step(tmp_path: Path) -> None:
    """Same system prompt, pixel budget and grid as `qwen-agent run`: the image is smart-resized to the
    budget and the point is read back on the grid the settings name."""
    from model.qwen3vl import CoordinateGrid, system_prompt

    path = screenspot_set(tmp_path / "data")
    samples = load_grounding_set(path).samples
    settings = ProtocolSettings(grid=CoordinateGrid(size=999), pixels=PixelBudget(max_pixels=300_000))
    oracle = OracleBackend(samples, grid=CoordinateGrid(size=999))
    scripted = ScriptedBackend(["x"])
    evaluate_grounding(path, scripted, tmp_path / "one", settings=settings, limit=1)
    request = scripted.requests[0]
    image = request.images[0]
    assert image.width * image.height <= 300_000 and image.width % 32 == 0
    assert request.messages[0].text == system_prompt(settings.grid, image.size)
    assert "Click the element this describes: Save button" in request.messages[-1].text
    assert _run(path, oracle, tmp_path / "out", settings=settings)["overall"]["accuracy"] == 1.0
    assert set(oracle.seen_sizes) == {image.size}


@pytest.mark.unit
def test_cli_command_with_a_scripted_model(tmp_path: Path) -> None:
    import typer

    from tasks.cli.grounding import grounding_eval_command

    path = osworld_g_set(tmp_path / "og")
    screen = ScreenGeometry(width=1000, height=800)
    replies = tmp_path / "replies.jsonl"
    clicks: list[Action] = [
        Click(x=250, y=200),
        Click(x=700, y=400),
        Finish(status="failure"),
        Click(x=10, y=10),
    ]
    replies.write_text(
        "".join(json.dumps(format_reply(a, screen, summary="step")) + "\n" for a in clicks), encoding="utf-8"
    )
    app = typer.Typer()
    app.command()(grounding_eval_command)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [str(path), "--model", f"scripted:{replies}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "grounding accuracy 75.0% (3/4)" in result.stdout
    assert "[4/4] OSWorld-G/d: miss at (10, 10)" in result.stderr
    assert {p.name for p in out.iterdir()} == {
        "results.jsonl",
        "summary.json",
        "report.html",
        "run.json",
        "misses",
    }


# ----- the tiny real Qwen3-VL ------------------------------------------------------------------------


@pytest.mark.model
def test_tiny_qwen3vl_end_to_end(tiny_backend: TransformersBackend, tmp_path: Path) -> None:
    """Random weights answer at random: every sample still gets a verdict and every file is written."""
    path = screenspot_set(tmp_path / "data")
    settings = ProtocolSettings(pixels=PixelBudget(max_pixels=128 * 128), max_new_tokens=24)
    run = evaluate_grounding(path, tiny_backend, tmp_path / "out", settings=settings, limit=2)
    assert [r.key for r in run.results] == ["screenspot_desktop_v2/0", "screenspot_desktop_v2/1"]
    assert all(r.outcome in ("hit", "miss", "declined", "unparsed") for r in run.results)
    assert run.calls == 2 and run.summary["overall"]["samples"] == 2
    for name in ("results.jsonl", "summary.json", "report.html", "run.json"):
        assert (tmp_path / "out" / name).is_file()
