"""Rules of the codebase that a reviewer would otherwise have to remember."""

from __future__ import annotations

import re
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


def test_only_workers_import_arq() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files()
        if re.search(r"^\s*(from|import) arq\b", path.read_text(), re.M)
        and path.parts[-2:][0] != "workers"
        and "workers" not in path.relative_to(ROOT).parts[:1]
        and path.name != "cli.py"
    ]
    assert offenders == []


def test_sqlalchemy_stays_inside_admin() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files()
        if re.search(r"^\s*(from|import) (sqlalchemy|sqladmin)\b", path.read_text(), re.M)
        and path.relative_to(ROOT).parts[0] != "admin"
    ]
    assert offenders == []
