# qwen-agent developer tasks. `make setup` then `make test` is all a newcomer needs.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch and torchvision are installed first and explicitly so pip never pulls another multi-GB build.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
APT_PACKAGES := xvfb xdotool openbox x11-utils x11-xserver-utils xclip xsel wmctrl xfonts-base xterm fonts-noto-cjk chromium mousepad
PYTEST_ARGS ?=

.PHONY: setup system venv test lint format run eval bench clean

setup: system venv

# System packages: installed only when something is missing and we are root on Debian/Ubuntu.
system:
	@missing=""; \
	for bin in Xvfb xdotool openbox xdpyinfo xrandr xclip wmctrl chromium xterm mousepad; do \
	  command -v $$bin >/dev/null 2>&1 || missing="$$missing $$bin"; \
	done; \
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

test:
	$(PY) -m pytest $(PYTEST_ARGS)

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
