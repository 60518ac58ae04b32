"""`kaohe user create` does what it was asked or refuses; an existing user is never silently left as it was.

Run as the CLI, in a process of its own (it initialises Tortoise globally), against this run's database.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from server.settings import Settings
from tenants.tenancy import service
from tenants.tenancy.auth import memberships_of, verify_password
from tenants.tenancy.models import User
from tests.conftest import TenantFactory, unique


def kaohe(settings: Settings, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAOHE_ENV": "test",
        "KAOHE_DATABASE_URL": settings.database_url,
        "KAOHE_OWNER_DATABASE_URL": settings.owner_database_url,
        "COLUMNS": "200",  # one line per message
    }
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def stored(email: str) -> User:
    user = await service.user_by_email(email)
    assert user is not None
    return user


@pytest.fixture
def email() -> str:
    return f"{unique('cli')}@example.com"


async def test_an_existing_user_keeps_its_password_unless_reset_password_is_given(
    database: Settings, email: str
) -> None:
    done = kaohe(database, "user", "create", email, "--password", "first password")
    assert done.returncode == 0, done.stderr
    assert f"user {email} created" in done.stdout
    before = await stored(email)
    assert verify_password(before.password_hash, "first password")

    # Without --reset-password: refused, and nothing of what was asked happens.
    done = kaohe(database, "user", "create", email, "--password", "second password", "--platform-operator")
    assert done.returncode == 1
    assert "exists" in done.stdout and "--reset-password" in done.stdout
    after = await stored(email)
    assert after.password_hash == before.password_hash
    assert not after.is_platform_operator

    # A password too short for the rule: its code, nothing changed.
    done = kaohe(database, "user", "create", email, "--password", "short", "--reset-password")
    assert done.returncode == 1
    assert "PASSWORD_TOO_SHORT" in done.stdout and "8 characters" in done.stdout
    assert (await stored(email)).password_hash == before.password_hash

    done = kaohe(database, "user", "create", email, "--password", "second password", "--reset-password")
    assert done.returncode == 0, done.stderr
    assert "password replaced" in done.stdout
    user = await stored(email)
    assert verify_password(user.password_hash, "second password")
    assert not verify_password(user.password_hash, "first password")

    # No --password: prompted for (twice, confirmed).
    done = kaohe(database, "user", "create", email, "--reset-password", input="typed password\ntyped password\n")
    assert done.returncode == 0, done.stderr
    assert verify_password((await stored(email)).password_hash, "typed password")


async def test_platform_operator_and_membership_of_an_existing_user_are_applied_and_reported(
    database: Settings, email: str, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    assert kaohe(database, "user", "create", email, "--password", "first password").returncode == 0

    done = kaohe(database, "user", "create", email, "--platform-operator", "--tenant", tenant.slug, "--role", "manager")
    assert done.returncode == 0, done.stderr
    assert "platform operator granted" in done.stdout
    assert f"manager of tenant {tenant.slug}" in done.stdout
    user = await stored(email)
    assert user.is_platform_operator
    assert verify_password(user.password_hash, "first password")
    assert [(m.tenant_slug, m.role.value) for m in await memberships_of(user.id)] == [(tenant.slug, "manager")]

    done = kaohe(database, "user", "create", email)
    assert done.returncode == 0
    assert "nothing was asked to change" in done.stdout


async def test_an_unknown_tenant_or_role_changes_nothing(database: Settings, email: str) -> None:
    done = kaohe(database, "user", "create", email, "--password", "first password", "--tenant", unique("none"))
    assert done.returncode != 0
    assert await service.user_by_email(email) is None
    done = kaohe(database, "user", "create", email, "--password", "first password", "--role", "boss")
    assert done.returncode != 0
    assert await service.user_by_email(email) is None
