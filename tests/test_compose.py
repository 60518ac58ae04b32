"""compose.yaml and the Dockerfile are for users with Docker (no engine runs here): check them by reading."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from server.cli import app as cli
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
KAOHE_SERVICES = ("migrate", "api", "worker", "demo-seed")


def load_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def interpolation_default(value: str) -> str:
    """What compose makes of `${NAME:-default}` when NAME is not set (a plain value is itself)."""
    match = re.fullmatch(r"\$\{\w+:-([^}]*)\}", value)
    return match.group(1) if match else value


def env_file_entries(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            entries[name.strip()] = value.strip()
    return entries


def test_compose_has_the_services_with_healthchecks() -> None:
    services = load_compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker", "demo-seed"}
    for name in ("postgres", "redis", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker", "demo-seed"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_commands_are_real_cli_commands() -> None:
    services = load_compose()["services"]
    known = {command.name or getattr(command.callback, "__name__", "") for command in cli.registered_commands}
    known |= {group.name or "" for group in cli.registered_groups}
    assert services["api"]["command"][:2] == ["kaohe", "serve"]
    assert services["worker"]["command"] == ["kaohe", "worker"]
    assert services["demo-seed"]["command"] == ["kaohe", "demo", "--no-serve"]
    migrate_script = services["migrate"]["command"][-1]
    for step in migrate_script.split("&&"):
        words = step.split()
        assert words[0] == "kaohe", step
        assert words[1] in known, step
    assert {"serve", "worker", "demo", "db", "tenant", "user"} <= known


def test_the_demo_seed_runs_only_with_the_demo_profile() -> None:
    # The demo operator's password is in the README: a default `docker compose up` must not create it.
    services = load_compose()["services"]
    for name, service in services.items():
        if "profiles" not in service:
            assert "demo" not in str(service.get("command", "")).split(), name
    assert services["demo-seed"]["profiles"] == ["demo"]
    assert "demo" not in services["migrate"]["command"][-1].split()


def test_compose_runs_in_production_with_the_secret_from_an_env_file() -> None:
    services = load_compose()["services"]
    for name in KAOHE_SERVICES:
        environment = services[name]["environment"]
        assert interpolation_default(environment["KAOHE_ENV"]) == "production", name
        assert "KAOHE_SECRET_KEY" not in environment, name
        assert services[name]["env_file"] == [".env"], name
    # The committed example holds no secret: copied as is, production refuses to start.
    example = env_file_entries(ROOT / ".env.example")
    assert example["KAOHE_SECRET_KEY"] == ""
    with pytest.raises(ValidationError, match="KAOHE_SECRET_KEY"):
        Settings(env="production", secret_key=example["KAOHE_SECRET_KEY"], _env_file=None)
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_compose_app_urls_use_distinct_roles() -> None:
    environment = load_compose()["services"]["api"]["environment"]
    assert environment["KAOHE_DATABASE_URL"].startswith("postgres://kaohe_app:")
    assert environment["KAOHE_OWNER_DATABASE_URL"].startswith("postgres://kaohe_owner:")


def test_dockerfile_installs_the_locked_project_with_a_pinned_installer_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen" in dockerfile
    assert "USER kaohe" in dockerfile
    for package in ("server", "schema", "tenants", "workers", "admin"):
        assert f"COPY {package} ./{package}" in dockerfile
    installs = re.findall(r"pip install [^\n]*\buv\b[^\n]*", dockerfile)
    assert installs, "uv is installed by pip"
    for install in installs:
        assert re.search(r"\buv==\d+\.\d+\.\d+\b", install), install


def test_the_build_context_leaves_out_the_virtualenv_git_caches_and_secrets() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", ".git", ".env", "**/__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"} <= ignored
    # What the Dockerfile copies stays in the context.
    for needed in ("pyproject.toml", "uv.lock", "README.md", "server", "schema", "tenants", "workers", "admin"):
        assert needed not in ignored
