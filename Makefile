# Two commands for a newcomer: `make demo` (the whole system with the demo tenant) and `make test` (everything CI runs).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: venv demo test bench lint

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

test: lint
	$(UV) run pytest

bench: venv
	$(UV) run python -m tests.bench
