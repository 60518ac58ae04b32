"""The audit log: a row is written on the caller's unit of work, so it commits and rolls back with the change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.audit.models import AuditEntry
from tenants.audit.service import SYSTEM, Actor, record
from tenants.db.uow import tenant_unit_of_work
from tenants.staff.models import Team
from tenants.tenancy.identity import TenantId
from tests.conftest import TenantFactory


class Abandoned(Exception):
    """Raised inside a unit of work to roll it back."""


async def _add_team(tenant_id: TenantId, code: str, conn: BaseDBAsyncClient) -> None:
    await conn.execute_query(
        "INSERT INTO team (tenant_id, code, name, kind, created_at, updated_at) "
        "VALUES ($1, $2, 'Store', 'store', now(), now())",
        [int(tenant_id), code],
    )


async def _state(tenant_id: TenantId) -> tuple[list[str], list[tuple[str, str, Any]]]:
    async with tenant_unit_of_work(tenant_id):
        teams = await Team.filter(tenant_id=tenant_id).order_by("code").values_list("code", flat=True)
        entries = await AuditEntry.filter(tenant_id=tenant_id).order_by("id").values_list("action", "entity", "after")
    return [str(code) for code in teams], [(str(a), str(e), after) for a, e, after in entries]


async def test_an_audit_row_commits_and_rolls_back_with_its_change(make_tenant: TenantFactory) -> None:
    tenant, other = await make_tenant(), await make_tenant()

    with pytest.raises(Abandoned):
        async with tenant_unit_of_work(tenant.tenant_id) as conn:
            await _add_team(tenant.tenant_id, "s1", conn)
            await record(conn, tenant.tenant_id, SYSTEM, "upsert", "team", None, after={"created": 1})
            raise Abandoned
    assert await _state(tenant.tenant_id) == ([], [])

    async with tenant_unit_of_work(tenant.tenant_id) as conn:
        await _add_team(tenant.tenant_id, "s1", conn)
        admin = Actor(user_id=tenant.admin_user_id)
        await record(conn, tenant.tenant_id, admin, "upsert", "team", None, after={"n": 1})
    assert await _state(tenant.tenant_id) == (["s1"], [("upsert", "team", {"n": 1})])
    async with tenant_unit_of_work(tenant.tenant_id):
        entry = await AuditEntry.get(tenant_id=tenant.tenant_id)
    assert (entry.actor_user_id, entry.actor_api_key_id, entry.entity_id, entry.before) == (
        tenant.admin_user_id,
        None,
        None,
        None,
    )
    # The other tenant's log stays empty, and it cannot read this one.
    assert await _state(other.tenant_id) == ([], [])
    async with tenant_unit_of_work(other.tenant_id):
        assert await AuditEntry.filter(tenant_id=tenant.tenant_id).count() == 0


async def test_values_are_logged_exactly_as_stored(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    before = {"amount": Decimal("1234.10"), "on": date(2026, 10, 5)}
    after = {"amount": Decimal("0.000001"), "at": datetime(2026, 10, 5, 10, 0, tzinfo=UTC), "codes": ["a", "b"]}
    async with tenant_unit_of_work(tenant.tenant_id) as conn:
        await record(conn, tenant.tenant_id, Actor(api_key_id=9), "update", "scheme", 3, before, after)
    async with tenant_unit_of_work(tenant.tenant_id):
        entry = await AuditEntry.get(tenant_id=tenant.tenant_id)
    assert (entry.actor_user_id, entry.actor_api_key_id, entry.entity_id) == (None, 9, 3)
    assert entry.before == {"amount": "1234.10", "on": "2026-10-05"}
    assert entry.after == {"amount": "0.000001", "at": "2026-10-05T10:00:00+00:00", "codes": ["a", "b"]}
