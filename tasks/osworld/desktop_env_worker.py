"""Serve OSWorld's own evaluators (the `desktop-env` package) over JSON lines on stdin/stdout.

STANDALONE: this runs in `.venv-osworld` (see `make setup-osworld`), whose pins (numpy<2, old
pandas) conflict with ours, so it imports only the standard library and desktop_env, never our
packages. tasks/osworld/desktop_env_bridge.py starts it and speaks the protocol below.

One JSON object per line in, one per line out, in order:

    {"op": "names"}
        -> {"metrics": [...], "getters": [...], "setup": [...],
            "unavailable": {"metrics": {name: why}, "getters": {...}, "setup": {...}}}
    {"op": "metric", "func": NAME, "result": ..., "expected": ..., "options": {...}}
        -> {"score": float}          ("expected" absent or null: called as OSWorld does without one)
    {"op": "getter", "type": NAME, "config": {...}, "vm": VM}
        -> {"value": ...}            (file getters return local paths under vm.cache_dir)
    {"op": "setup", "config": [steps], "vm": VM}
        -> {"ok": true}
    VM = {"ip", "server_port", "chromium_port", "vlc_port", "cache_dir",
          optional "platform", "client_password", "screen_width", "screen_height"}

Any failure is a reply {"error": message, "error_type": exception class name}, never a crash of
the worker. A request's "id", if given, is echoed. stdout carries protocol lines only: print() and
logging inside desktop_env go to stderr.
"""

from __future__ import annotations

import ast
import base64
import importlib
import importlib.util
import inspect
import json
import logging
import os
import pkgutil
import sys
import traceback
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

# Heavy optional dependencies left out of .venv-osworld on purpose (torch-sized, or audio stacks).
# desktop_env imports them at module top level, which would take whole modules (docs.py: every
# docx metric; vlc.py: every VLC metric) down for the one or two functions that use them. A
# placeholder module lets those modules import; functions that reference a placeholder are then
# reported unavailable (see _needs_placeholder) instead of failing halfway through a call.
OPTIONAL_HEAVY = {
    "easyocr": "easyocr (needs torch) is not installed in .venv-osworld",
    "librosa": "librosa (audio stack) is not installed in .venv-osworld",
    "fastdtw": "fastdtw (audio alignment) is not installed in .venv-osworld",
    "acoustid": "pyacoustid (audio fingerprints) is not installed in .venv-osworld",
}

METRICS_PACKAGE = "desktop_env.evaluators.metrics"
GETTERS_PACKAGE = "desktop_env.evaluators.getters"
SETUP_MODULE = "desktop_env.controllers.setup"


class MissingOptional(types.ModuleType):
    """Stands in for a heavy optional module: importable, unusable (any use raises ImportError)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name)
        self.reason = reason

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Unusable(f"{self.__name__}.{attr}", self.reason)


class _Unusable:
    """What `from heavy import thing` binds: calling or touching it raises ImportError."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ImportError(f"{self.name}: {self.reason}")

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise ImportError(f"{self.name}.{attr}: {self.reason}")


def _install_placeholders() -> None:
    for name, reason in OPTIONAL_HEAVY.items():
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = MissingOptional(name, reason)


def _silence_dotenv() -> None:
    """setup.py calls dotenv.load_dotenv() at import; it would search upward from site-packages
    and could load this repository's .env (secrets) into the worker. The bridge passes the
    environment the worker should have, so loading stays off."""
    if importlib.util.find_spec("dotenv") is None:
        return
    dotenv: Any = importlib.import_module("dotenv")
    dotenv.load_dotenv = lambda *args, **kwargs: False


class Registry:
    """What this desktop_env can run: callables by name, and why the others cannot."""

    def __init__(self) -> None:
        self.metrics: dict[str, Callable[..., Any]] = {}
        self.getters: dict[str, Callable[..., Any]] = {}
        self.setup_steps: list[str] = []
        self.unavailable: dict[str, dict[str, str]] = {"metrics": {}, "getters": {}, "setup": {}}
        self.setup_controller_class: type | None = None
        self.python_controller_class: type | None = None


def _bare_package(name: str) -> types.ModuleType:
    """The package module without running its __init__.py, which imports every submodule at once
    (one missing dependency would take down all metrics); submodules are then imported one by one."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not a package here")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)
    return module


def _exports(package: types.ModuleType) -> tuple[list[tuple[str, str]], list[str]]:
    """(submodule, name) pairs the package's __init__.py re-exports (`from .x import a, b`), and
    the functions it defines itself: exactly the names OSWorld's registry exposes."""
    init = Path(package.__spec__.origin)  # type: ignore[union-attr,arg-type]
    tree = ast.parse(init.read_text(encoding="utf-8"))
    pairs: list[tuple[str, str]] = []
    own: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            pairs.extend((node.module, alias.asname or alias.name) for alias in node.names)
        elif isinstance(node, ast.FunctionDef):
            own.append(node.name)
    return pairs, own


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _needs_placeholder(module: types.ModuleType) -> dict[str, str]:
    """Functions of `module` that use a placeholder, directly or through another function of the
    same module, mapped to the reason (fixed point over the module's own call graph)."""
    functions = {
        n: f for n, f in vars(module).items() if inspect.isfunction(f) and f.__module__ == module.__name__
    }
    blocked: dict[str, str] = {}
    for name, function in functions.items():
        reasons = {
            value.reason
            for used in _code_names(function.__code__)
            if isinstance(value := vars(module).get(used), MissingOptional | _Unusable)
        }
        if reasons:
            blocked[name] = "; ".join(sorted(reasons))
    changed = True
    while changed:
        changed = False
        for name, function in functions.items():
            if name in blocked:
                continue
            for used in _code_names(function.__code__):
                if used in blocked and used in functions:
                    blocked[name] = f"uses {used}: {blocked[used]}"
                    changed = True
                    break
    return blocked


def _load_package(name: str, kind: str, registry: Registry, prefix: str = "") -> None:
    target = registry.metrics if kind == "metrics" else registry.getters
    try:
        package = _bare_package(name)
        pairs, own = _exports(package)
    except Exception as e:  # reported; the worker keeps serving
        registry.unavailable[kind]["*"] = f"{type(e).__name__}: {e}"
        return
    modules: dict[str, types.ModuleType | str] = {}
    for sub in sorted({s for s, _ in pairs} | {m.name for m in pkgutil.iter_modules(package.__path__)}):
        try:
            modules[sub] = importlib.import_module(f"{name}.{sub}")
        except Exception as e:  # one module's missing dependency is reported
            modules[sub] = f"{sub}.py does not import: {type(e).__name__}: {e}"
    blocked = {sub: _needs_placeholder(m) for sub, m in modules.items() if isinstance(m, types.ModuleType)}
    for sub, exported in pairs:
        public = exported.removeprefix(prefix)
        module = modules.get(sub)
        if not isinstance(module, types.ModuleType):
            registry.unavailable[kind][public] = module or f"no module {sub}"
        elif exported in blocked[sub]:
            registry.unavailable[kind][public] = blocked[sub][exported]
        elif callable(getattr(module, exported, None)):
            target[public] = getattr(module, exported)
        else:
            registry.unavailable[kind][public] = f"{sub}.py has no {exported}"
    if own:
        # Functions __init__.py defines itself (metrics.infeasible): only those definitions run,
        # the rest of __init__ is the all-at-once import this loader avoids.
        origin = str(package.__spec__.origin)  # type: ignore[union-attr]
        defs: list[ast.stmt] = [
            n
            for n in ast.parse(Path(origin).read_text(encoding="utf-8")).body
            if isinstance(n, ast.FunctionDef)
        ]
        namespace: dict[str, Any] = {"__name__": name}
        exec(compile(ast.Module(body=defs, type_ignores=[]), origin, "exec"), namespace)
        for fn in own:
            target[fn.removeprefix(prefix)] = namespace[fn]


def _load_setup(registry: Registry) -> None:
    try:
        setup = importlib.import_module(SETUP_MODULE)
        python = importlib.import_module("desktop_env.controllers.python")
    except Exception as e:  # reported; metrics and getters still serve
        registry.unavailable["setup"]["*"] = f"setup.py does not import: {type(e).__name__}: {e}"
        return
    registry.setup_controller_class = setup.SetupController
    registry.python_controller_class = python.PythonController
    registry.setup_steps = sorted(
        n[1 : -len("_setup")]
        for n in vars(setup.SetupController)
        if n.startswith("_") and n.endswith("_setup") and not n.startswith("__")
    )


def load() -> Registry:
    """Import what this environment can import; record the rest with the reason."""
    _install_placeholders()
    _silence_dotenv()
    registry = Registry()
    _load_package(METRICS_PACKAGE, "metrics", registry)
    _load_package(GETTERS_PACKAGE, "getters", registry, prefix="get_")
    _load_setup(registry)
    return registry


class MinimalEnv:
    """The attributes of OSWorld's DesktopEnv that its getters read (desktop_env/desktop_env.py):
    addresses and ports of the VM, a cache folder, the two controllers and the VM's platform."""

    def __init__(self, vm: dict[str, Any], registry: Registry) -> None:
        if registry.python_controller_class is None or registry.setup_controller_class is None:
            raise RuntimeError(registry.unavailable["setup"].get("*", "controllers unavailable"))
        self.vm_ip: str = vm["ip"]
        self.server_port: int = int(vm.get("server_port", 5000))
        self.chromium_port: int = int(vm.get("chromium_port", 9222))
        self.vlc_port: int = int(vm.get("vlc_port", 8080))
        self.cache_dir: str = str(vm.get("cache_dir") or "cache")
        os.makedirs(self.cache_dir, exist_ok=True)
        self.client_password: str = str(vm.get("client_password", "password"))
        self.screen_width: int = int(vm.get("screen_width", 1920))
        self.screen_height: int = int(vm.get("screen_height", 1080))
        self.current_use_proxy = False
        self.enable_proxy = False
        self._platform: str | None = vm.get("platform")
        self.controller = registry.python_controller_class(vm_ip=self.vm_ip, server_port=self.server_port)
        self.setup_controller = registry.setup_controller_class(
            vm_ip=self.vm_ip,
            server_port=self.server_port,
            chromium_port=self.chromium_port,
            vlc_port=self.vlc_port,
            cache_dir=self.cache_dir,
            client_password=self.client_password,
            screen_width=self.screen_width,
            screen_height=self.screen_height,
        )

    @property
    def vm_platform(self) -> str:
        # DesktopEnv asks the VM each time; a caller that knows it saves the round trip.
        if self._platform is None:
            self._platform = self.controller.get_vm_platform()
        return self._platform


def _jsonable(value: Any) -> Any:
    """json.dumps fallback for what getters return besides JSON types."""
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Path):
        return str(value)
    return {"$repr": repr(value)}


def handle(request: dict[str, Any], registry: Registry) -> dict[str, Any]:
    op = request.get("op")
    if op == "names":
        return {
            "metrics": sorted(registry.metrics),
            "getters": sorted(registry.getters),
            "setup": registry.setup_steps,
            "unavailable": registry.unavailable,
        }
    if op == "metric":
        name = request["func"]
        metric = registry.metrics.get(name)
        if metric is None:
            why = registry.unavailable["metrics"].get(name, "no such metric in desktop_env")
            return {"error": f"metric {name}: {why}", "error_type": "Unavailable"}
        options = request.get("options") or {}
        # OSWorld's DesktopEnv.evaluate passes `expected` only when the task has one.
        if request.get("expected") is None:
            value = metric(request.get("result"), **options)
        else:
            value = metric(request.get("result"), request["expected"], **options)
        if isinstance(value, bool | int | float):
            return {"score": float(value)}
        return {"error": f"metric {name} returned {value!r}, not a number", "error_type": "TypeError"}
    if op == "getter":
        name = request["type"]
        getter = registry.getters.get(name)
        if getter is None:
            why = registry.unavailable["getters"].get(name, "no such getter in desktop_env")
            return {"error": f"getter {name}: {why}", "error_type": "Unavailable"}
        env = MinimalEnv(request["vm"], registry)
        return {"value": getter(env, request.get("config") or {})}
    if op == "setup":
        env = MinimalEnv(request["vm"], registry)
        steps = request.get("config") or []
        unknown = [s.get("type") for s in steps if s.get("type") not in registry.setup_steps]
        if unknown:
            return {"error": f"unknown setup step(s): {unknown}", "error_type": "Unavailable"}
        if not env.setup_controller.setup(steps, False):
            return {
                "error": f"VM server {env.vm_ip}:{env.server_port} did not answer",
                "error_type": "ConnectionError",
            }
        return {"ok": True}
    return {"error": f"unknown op {op!r}", "error_type": "ValueError"}


def _quiet() -> IO[str]:
    """Take stdout for protocol lines only and return it; desktop_env prints freely, so print()
    and logging go to stderr, which the bridge drains. Done when serving, not on import."""
    protocol = sys.stdout
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
    # setup.py loads a proxy list at import and logs an error without one; proxies are never used
    # here (setup runs with use_proxy=False), so that line would only be noise on every start.
    logging.getLogger("desktopenv.providers.aws.ProxyPool").disabled = True
    # fitz (PyMuPDF's old name, what desktop_env imports) warns of its deprecation on import.
    warnings.filterwarnings("ignore", category=FutureWarning, module="fitz")
    return protocol


def _reply(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message, default=_jsonable) + "\n")
    out.flush()


def serve(stdin: IO[str] = sys.stdin) -> None:
    out = _quiet()
    registry = load()
    for line in stdin:
        if not line.strip():
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id") if isinstance(request, dict) else None
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
            reply = handle(request, registry)
        except (Exception, SystemExit) as e:  # every failure is a reply; the loop goes on
            traceback.print_exc(file=sys.stderr)
            reply = {"error": f"{type(e).__name__}: {e}", "error_type": type(e).__name__}
        if request_id is not None:
            reply["id"] = request_id
        try:
            _reply(out, reply)
        except (TypeError, ValueError) as e:
            _reply(
                out, {"error": f"reply not serializable: {e}", "error_type": "TypeError", "id": request_id}
            )


def check() -> int:
    """`make setup-osworld`'s last step: exit 1 when anything but the left-out heavy dependencies
    keeps a metric, getter or setup step from importing, so a missing requirement fails setup."""
    _quiet()
    registry = load()
    left_out = set(OPTIONAL_HEAVY.values())
    broken = {
        f"{kind}:{name}": why
        for kind, table in registry.unavailable.items()
        for name, why in table.items()
        if not any(reason in why for reason in left_out)
    }
    print(
        f"desktop_env: {len(registry.metrics)} metrics, {len(registry.getters)} getters, "
        f"{len(registry.setup_steps)} setup steps; unavailable: "
        f"{sorted(n for t in registry.unavailable.values() for n in t) or 'none'}",
        file=sys.stderr,
    )
    for name, why in sorted(broken.items()):
        print(f"  broken {name}: {why}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    serve()
