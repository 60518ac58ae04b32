# Two commands for a newcomer: `make demo` (the whole system with the demo tenant) and `make test` (everything CI runs).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: venv demo test bench lint browser

venv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

demo: venv
	$(UV) run kaohe demo

lint: venv
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports --no-cache --no-logo

# The admin console's browser tests (tests/admin/test_browser.py) drive Debian's chromium with a Chinese font (Playwright
# never downloads a browser here): installed non-interactively, only when missing (CI runs as root on a fresh clone).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi wqy; then \
	  echo "installing chromium and fonts-wqy-microhei for the console's browser tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 \
	    || { apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-wqy-microhei >/dev/null; }; \
	fi

test: lint browser
	$(UV) run pytest

bench: venv
	$(UV) run python -m tests.bench
