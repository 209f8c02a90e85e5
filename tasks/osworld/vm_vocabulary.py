"""The vocabulary of a task run on OSWorld's VM: OSWorld's own setup steps, getters and metrics
(desktop-env, in its own venv, through tasks.osworld.desktop_env_bridge), plus `suite_file`, which
reads a file shipped with the suite on this machine (the sandbox suite's expected files).

Setup steps and getters act on the VM whose address the task context holds (`ctx.data["vm"]`, a
VmAddress); metrics run on the values and local file paths the getters returned. Scoring rules
(postconfig, infeasible, final FAIL, conj) stay tasks.osworld.scoring's, as for every vocabulary.
"""

from __future__ import annotations

from typing import Any

from tasks.osworld.census import VM_LOCAL_GETTERS
from tasks.osworld.context import TaskContext
from tasks.osworld.desktop_env_bridge import DesktopEnvBridge, DesktopEnvFileNotFound, VmAddress
from tasks.osworld.getters import Getter, get_suite_file
from tasks.osworld.metrics import Metric
from tasks.osworld.setup_steps import SetupStepFn
from tasks.osworld.vocabulary import Vocabulary

# Getters that read this machine, never the VM: files that come with the suite itself.
LOCAL_GETTERS: dict[str, Getter] = {"suite_file": get_suite_file}
assert set(LOCAL_GETTERS) == VM_LOCAL_GETTERS  # the census lets tasks use exactly these


def vm_address(ctx: TaskContext) -> VmAddress:
    """The VM the task runs on (set by the harness before any step)."""
    vm = ctx.data.get("vm")
    if not isinstance(vm, VmAddress):
        raise RuntimeError("the task context has no VM address (the harness sets ctx.data['vm'])")
    return vm


def _step(bridge: DesktopEnvBridge, name: str) -> SetupStepFn:
    def step(ctx: TaskContext, **parameters: Any) -> None:
        bridge.setup([{"type": name, "parameters": parameters}], vm_address(ctx))

    step.__name__ = f"osworld_{name}"
    return step


def _getter(bridge: DesktopEnvBridge, name: str) -> Getter:
    def getter(ctx: TaskContext, config: dict[str, Any]) -> Any:
        try:
            return bridge.getter(name, config, vm_address(ctx))
        except DesktopEnvFileNotFound:
            # OSWorld's DesktopEnv.evaluate scores a getter's FileNotFoundError as 0 (the agent did
            # not make the file): None is what every file metric scores 0 too.
            return None

    getter.__name__ = f"osworld_get_{name}"
    return getter


def _metric(bridge: DesktopEnvBridge, name: str) -> Metric:
    def metric(result: Any, expected: Any = None, **options: Any) -> float:
        return bridge.metric(name, result, expected, options)

    metric.__name__ = f"osworld_{name}"
    return metric


def vm_vocabulary(bridge: DesktopEnvBridge) -> Vocabulary:
    """Every name the bridge's desktop-env could import, each calling it; plus the local getters."""
    names = bridge.names()
    return Vocabulary(
        setup_steps={name: _step(bridge, name) for name in sorted(names.setup)},
        getters={**{name: _getter(bridge, name) for name in sorted(names.getters)}, **LOCAL_GETTERS},
        metrics={name: _metric(bridge, name) for name in sorted(names.metrics)},
    )
