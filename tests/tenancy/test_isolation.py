"""Raw SQL through the app role: the database, not the application, keeps tenants apart."""

from __future__ import annotations

import asyncpg
import pytest

from tenants.db.uow import tenant_unit_of_work
from tenants.tenancy import service
from tenants.tenancy.auth import Scope
from tenants.tenancy.models import ApiKey
from tests.conftest import TenantFactory


async def test_app_role_sees_only_the_current_tenant(make_tenant: TenantFactory, app_conn: asyncpg.Connection) -> None:
    a, b = await make_tenant(), await make_tenant()
    await service.create_api_key(a.tenant_id, "a-key", [Scope.EVENTS_WRITE], a.admin_user_id)
    await service.create_api_key(b.tenant_id, "b-key", [Scope.EVENTS_WRITE], b.admin_user_id)
    async with app_conn.transaction():
        await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(a.tenant_id))
        memberships = await app_conn.fetch("SELECT tenant_id FROM membership")
        keys = await app_conn.fetch("SELECT tenant_id, name FROM api_key")
        tenants = await app_conn.fetch("SELECT id FROM tenant")
    assert {row["tenant_id"] for row in memberships} == {a.tenant_id}
    assert [(row["tenant_id"], row["name"]) for row in keys] == [(a.tenant_id, "a-key")]
    assert [row["id"] for row in tenants] == [a.tenant_id]


async def test_inserting_a_row_for_another_tenant_is_refused(
    make_tenant: TenantFactory, app_conn: asyncpg.Connection
) -> None:
    a, b = await make_tenant(), await make_tenant()
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with app_conn.transaction():
            await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(a.tenant_id))
            await app_conn.execute(
                "INSERT INTO api_key (tenant_id, name, prefix, secret_hash, scopes, created_at) "
                "VALUES ($1, 'sneaky', 'p', 'h', '[]', now())",
                b.tenant_id,
            )
    # Moving an own row into another tenant is refused too (WITH CHECK applies to UPDATE).
    await service.create_api_key(a.tenant_id, "mine", [Scope.EVENTS_WRITE], a.admin_user_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with app_conn.transaction():
            await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(a.tenant_id))
            await app_conn.execute("UPDATE api_key SET tenant_id = $1", b.tenant_id)
    async with tenant_unit_of_work(b.tenant_id):
        assert await ApiKey.filter(name__in=["sneaky", "mine"]).count() == 0


async def test_outside_a_tenant_unit_of_work_tenant_tables_read_empty(
    make_tenant: TenantFactory, app_conn: asyncpg.Connection
) -> None:
    a = await make_tenant()
    await service.create_api_key(a.tenant_id, "k", [Scope.EVENTS_WRITE], a.admin_user_id)
    assert await app_conn.fetchval("SELECT count(*) FROM api_key") == 0
    assert await app_conn.fetchval("SELECT count(*) FROM membership") == 0
    assert await app_conn.fetchval("SELECT count(*) FROM tenant") == 0
    # The setting is transaction-local: after the transaction, the connection is back to seeing nothing.
    async with app_conn.transaction():
        await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(a.tenant_id))
        assert await app_conn.fetchval("SELECT count(*) FROM api_key") == 1
    assert await app_conn.fetchval("SELECT count(*) FROM api_key") == 0


async def test_orm_reads_inside_the_unit_of_work_are_scoped(make_tenant: TenantFactory) -> None:
    a, b = await make_tenant(), await make_tenant()
    await service.create_api_key(b.tenant_id, "b-only", [Scope.EVENTS_WRITE], b.admin_user_id)
    async with tenant_unit_of_work(a.tenant_id):
        # No tenant filter on purpose: RLS is the second wall when application code forgets one.
        assert await ApiKey.filter(name="b-only").count() == 0
    assert [k.name for k in await service.list_api_keys(b.tenant_id)] == ["b-only"]
