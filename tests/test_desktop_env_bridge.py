"""DesktopEnvBridge: typed errors for a missing environment, a dying or hanging worker and a failing
call; OSWorld's own getters and setup controller (desktop-env in .venv-osworld) against a real
OSWorld-compatible VM server (tasks.osworld.vm_server, a real process on this machine)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actions.errors import EnvironmentUnavailable
from tasks.osworld.desktop_env_bridge import (
    DEFAULT_PYTHON,
    DesktopEnvBridge,
    DesktopEnvCallFailed,
    DesktopEnvFileNotFound,
    DesktopEnvMissing,
    DesktopEnvTimeout,
    DesktopEnvUnsupported,
    DesktopEnvWorkerDied,
    VmAddress,
)
from tasks.osworld.errors import Unsupported
from tests.conftest import require
from tests.fixtures.vm import vm_server


def fake_python(tmp_path: Path, body: str) -> Path:
    """A stand-in interpreter: a shell script that ignores its arguments (the worker path)."""
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_a_missing_environment_names_the_make_target(tmp_path: Path) -> None:
    bridge = DesktopEnvBridge(tmp_path / "no-venv" / "bin" / "python")
    with pytest.raises(DesktopEnvMissing, match="make setup-osworld") as caught:
        bridge.metric("exact_match", "a", {"expected": "a"})
    assert isinstance(caught.value, EnvironmentUnavailable)  # the CLI's exit 4
    assert not bridge.running


def test_a_worker_that_dies_is_a_typed_error_with_its_stderr(tmp_path: Path) -> None:
    python = fake_python(tmp_path, 'echo "desktop_env exploded" >&2\nexit 3')
    with DesktopEnvBridge(python) as bridge, pytest.raises(DesktopEnvWorkerDied) as caught:
        bridge.names()
    assert "code 3" in str(caught.value)
    assert "desktop_env exploded" in str(caught.value)


def test_a_call_that_outruns_its_timeout_kills_the_worker(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    python = fake_python(tmp_path, f"echo $$ > {pid_file}\nexec sleep 60")
    bridge = DesktopEnvBridge(python, timeout_s=0.5, start_timeout_s=0.0)
    started = time.monotonic()
    with pytest.raises(DesktopEnvTimeout, match="took over"):
        bridge.metric("exact_match", "a", {"expected": "a"})
    assert time.monotonic() - started < 10
    assert not bridge.running
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.fixture(scope="module")
def bridge() -> Iterator[DesktopEnvBridge]:
    require(DEFAULT_PYTHON.exists(), "make setup-osworld")
    with DesktopEnvBridge() as b:
        yield b


def test_failures_are_replies_and_the_worker_keeps_serving(bridge: DesktopEnvBridge, tmp_path: Path) -> None:
    assert bridge.metric("exact_match", "a", {"expected": "a"}) == 1.0
    assert bridge._process is not None
    pid = bridge._process.pid
    with pytest.raises(DesktopEnvUnsupported, match="no such metric"):
        bridge.metric("no_such_metric", "a", "b")
    with pytest.raises(Unsupported, match="librosa"):
        bridge.metric("compare_audios", "a.wav", "b.wav")
    present = tmp_path / "present.txt"
    present.write_text("x\n")
    # OSWorld's diff_text_file opens the expected file unguarded: FileNotFoundError, typed as such.
    with pytest.raises(DesktopEnvFileNotFound) as missing:
        bridge.metric("diff_text_file", present, tmp_path / "absent.txt")
    assert isinstance(missing.value, FileNotFoundError)
    with pytest.raises(DesktopEnvCallFailed, match="TypeError") as bad:
        bridge.metric("diff_text_file", present, present, {"no_such_option": True})
    assert bad.value.error_type == "TypeError"
    with pytest.raises(DesktopEnvUnsupported, match="no such getter"):
        bridge.getter("no_such_getter", {}, VmAddress(ip="127.0.0.1", cache_dir=tmp_path))
    # Same process throughout, and still answering.
    assert bridge._process is not None and bridge._process.pid == pid
    assert bridge.metric("exact_match", "a", {"expected": "b"}) == 0.0


def test_the_rule_getter_needs_no_vm(bridge: DesktopEnvBridge, tmp_path: Path) -> None:
    """OSWorld's `rule` getter hands the task's rules to the metric as they are."""
    rules = {"include": ["quick"], "exclude": ["dog"], "nested": [1, 2.5, None]}
    vm = VmAddress(ip="192.0.2.1", cache_dir=tmp_path / "cache", platform="Linux")
    assert bridge.getter("rule", {"rules": rules}, vm) == rules


@pytest.fixture(scope="module")
def vm_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    # The endpoints used here (/file, /execute, /setup/execute, /setup/upload) never touch X, so the
    # display is only a name; relative paths land in the server's own folder.
    with vm_server(":0", cwd=tmp_path_factory.mktemp("vm")) as (url, _):
        yield int(url.rsplit(":", 1)[1])


def test_vm_file_and_command_getters_against_a_vm_server(
    bridge: DesktopEnvBridge, vm_port: int, tmp_path: Path
) -> None:
    on_vm = tmp_path / "vm" / "report.txt"
    on_vm.parent.mkdir()
    on_vm.write_text("total: 42\n")
    vm = VmAddress(ip="127.0.0.1", server_port=vm_port, cache_dir=tmp_path / "cache", platform="Linux")
    local = bridge.getter("vm_file", {"path": str(on_vm), "dest": "copy.txt"}, vm)
    assert local == str(tmp_path / "cache" / "copy.txt")
    assert Path(local).read_text() == "total: 42\n"
    # The path a getter returns feeds a metric, as in OSWorld's evaluate().
    assert bridge.metric("file_contains", local, {"expected": ["total: 42"]}) == 1.0
    output = bridge.getter("vm_command_line", {"command": ["echo", "from the vm"]}, vm)
    assert output == "from the vm\n"


def test_setup_steps_run_against_a_vm_server(bridge: DesktopEnvBridge, vm_port: int, tmp_path: Path) -> None:
    vm = VmAddress(ip="127.0.0.1", server_port=vm_port, cache_dir=tmp_path / "cache")
    made, uploaded, source = tmp_path / "made.txt", tmp_path / "uploaded.txt", tmp_path / "source.txt"
    source.write_text("uploaded bytes\n")
    bridge.setup(
        [
            {"type": "execute", "parameters": {"command": ["sh", "-c", f"echo made > {made}"]}},
            {
                "type": "upload_file",
                "parameters": {"files": [{"local_path": str(source), "path": str(uploaded)}]},
            },
        ],
        vm,
    )
    assert made.read_text() == "made\n"
    assert uploaded.read_text() == "uploaded bytes\n"
    with pytest.raises(DesktopEnvUnsupported, match="no_such_step"):
        bridge.setup([{"type": "no_such_step", "parameters": {}}], vm)
