"""compose.yaml and the Dockerfile are for users with Docker (no engine runs here): check them by reading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from server.cli import app as cli

ROOT = Path(__file__).resolve().parent.parent


def load_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def test_compose_has_the_services_with_healthchecks() -> None:
    services = load_compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}
    for name in ("postgres", "redis", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_commands_are_real_cli_commands() -> None:
    services = load_compose()["services"]
    known = {command.name or getattr(command.callback, "__name__", "") for command in cli.registered_commands}
    known |= {group.name or "" for group in cli.registered_groups}
    assert services["api"]["command"][:2] == ["kaohe", "serve"]
    assert services["worker"]["command"] == ["kaohe", "worker"]
    migrate_script = services["migrate"]["command"][-1]
    for step in migrate_script.split("&&"):
        words = step.split()
        assert words[0] == "kaohe", step
        assert words[1] in known, step
    assert {"serve", "worker", "demo", "db", "tenant", "user"} <= known


def test_compose_app_urls_use_distinct_roles() -> None:
    environment = load_compose()["services"]["api"]["environment"]
    assert environment["KAOHE_DATABASE_URL"].startswith("postgres://kaohe_app:")
    assert environment["KAOHE_OWNER_DATABASE_URL"].startswith("postgres://kaohe_owner:")


def test_dockerfile_installs_the_locked_project_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen" in dockerfile
    assert "USER kaohe" in dockerfile
    for package in ("server", "schema", "tenants", "workers", "admin"):
        assert f"COPY {package} ./{package}" in dockerfile
