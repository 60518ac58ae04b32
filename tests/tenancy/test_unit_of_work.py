"""Units of work: the tenant is set with SET LOCAL from the integer id, and after-commit work runs only after the
outermost commit, never after a rollback."""

from __future__ import annotations

import pytest
from tortoise.connection import get_connection

from tenants.db.uow import after_commit, global_unit_of_work, set_tenant_sql, tenant_unit_of_work
from tenants.tenancy.identity import TenantId, tenant_id_for_system
from tests.conftest import TenantFactory


def test_the_tenant_is_set_with_set_local_from_the_integer() -> None:
    assert set_tenant_sql(tenant_id_for_system(42)) == "SET LOCAL app.tenant_id = '42'"


async def _setting() -> str:
    rows = await get_connection("default").execute_query_dict(
        "SELECT coalesce(current_setting('app.tenant_id', true), '') AS tenant"
    )
    return str(rows[0]["tenant"])


async def test_the_setting_lives_exactly_as_long_as_the_transaction(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    async with tenant_unit_of_work(tenant.tenant_id) as conn:
        rows = await conn.execute_query_dict("SELECT current_setting('app.tenant_id') AS tenant")
        assert rows == [{"tenant": str(tenant.tenant_id)}]
    assert await _setting() == ""


async def _team_names(tenant_id: TenantId) -> list[str]:
    async with tenant_unit_of_work(tenant_id) as conn:
        rows = await conn.execute_query_dict("SELECT name FROM team ORDER BY name")
    return [row["name"] for row in rows]


async def test_after_commit_runs_once_the_outermost_unit_committed(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    seen: list[list[str]] = []

    async def look() -> None:
        seen.append(await _team_names(tenant.tenant_id))  # another transaction: sees only committed rows

    async with tenant_unit_of_work(tenant.tenant_id) as conn:
        await conn.execute_query(
            "INSERT INTO team (tenant_id, code, name, kind, created_at, updated_at) "
            "VALUES ($1, 'a', 'A', 'store', now(), now())",
            [int(tenant.tenant_id)],
        )
        async with tenant_unit_of_work(tenant.tenant_id):
            after_commit(look)
        assert seen == []  # the inner unit of work is a savepoint: nothing is committed yet
    assert seen == [["A"]]


async def test_after_commit_never_runs_after_a_rollback(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    ran: list[str] = []

    async def record() -> None:
        ran.append("ran")

    with pytest.raises(RuntimeError, match="boom"):
        async with tenant_unit_of_work(tenant.tenant_id):
            after_commit(record)
            raise RuntimeError("boom")
    async with global_unit_of_work():
        pass
    assert ran == []


def test_after_commit_needs_a_unit_of_work() -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(RuntimeError, match="needs an open unit of work"):
        after_commit(nothing)
