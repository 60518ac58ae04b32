"""Rules of the codebase that a reviewer would otherwise have to remember.

The import boundaries (the pure engine, the domain below the app, arq only in workers, SQLAlchemy only in admin,
resolvers without units of work or jobs, no cycles between domains) are import-linter contracts in pyproject.toml;
`make lint` runs them, and so does this module, so that `pytest` alone enforces them too. What import-linter cannot
express is checked here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["server", "schema", "tenants", "workers", "admin"]


def python_files() -> list[Path]:
    return [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]


def test_tenant_ids_are_made_only_by_the_identity_module() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files()
        if re.search(r"\bTenantId\(", path.read_text()) and path.name != "identity.py"
    ]
    assert offenders == []


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_the_contracts_cover_every_boundary_of_the_design() -> None:
    """A contract dropped from pyproject.toml would let its boundary go unchecked while lint-imports stays green."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert sorted(config["root_packages"]) == sorted(PACKAGES)
    assert config["include_external_packages"] is True  # forbidding arq, tortoise... needs the external packages
    contracts = {contract["id"]: contract for contract in config["contracts"]}
    assert set(contracts) >= {
        "pure-engine",
        "domain-below-app",
        "arq-in-workers",
        "sqlalchemy-in-admin",
        "resolvers-call-services",
        "schema-without-workers",
        "acyclic-domains",
    }
    assert set(contracts["pure-engine"]["forbidden_modules"]) >= {
        "tortoise",
        "asyncpg",
        "redis",
        "arq",
        "strawberry",
        "starlette",
        "sqlalchemy",
        "sqladmin",
    }
    assert set(contracts["domain-below-app"]["forbidden_modules"]) == {"server", "schema", "workers", "admin"}
    assert set(contracts["arq-in-workers"]["source_modules"]) == set(PACKAGES) - {"workers"}
    assert set(contracts["sqlalchemy-in-admin"]["source_modules"]) == set(PACKAGES) - {"admin"}
    assert set(contracts["resolvers-call-services"]["forbidden_modules"]) == {"tenants.db.uow", "tenants.jobs"}
    assert contracts["acyclic-domains"]["type"] == "acyclic_siblings"
    assert contracts["acyclic-domains"]["ancestors"] == ["tenants"]


def test_schemes_load_without_the_periods_domain() -> None:
    """schemes -> periods would close a cycle (periods imports schemes): the schemes service must import alone."""
    code = "import sys, tenants.schemes.service; assert not any(m.startswith('tenants.periods') for m in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


def test_the_domain_loads_without_the_app_layers() -> None:
    """Loading every module of tenants/ loads none of server, schema, workers and admin (the run-time twin of the
    domain-below-app contract): the app passes what the domain needs (tenants.tenancy.auth.AuthSettings,
    tenants.jobs.JobQueue)."""
    code = (
        "import importlib, pkgutil, sys, tenants\n"
        "for module in pkgutil.walk_packages(tenants.__path__, 'tenants.'):\n"
        "    importlib.import_module(module.name)\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'server', 'schema', 'workers', 'admin'})\n"
        "assert loaded == [], loaded\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
