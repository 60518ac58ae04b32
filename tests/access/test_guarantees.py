"""What the database itself guarantees about access (migration 0012), whatever the application does, and the
invitation hook `apply_member_access` (one transaction with the caller's)."""

from __future__ import annotations

import asyncpg
import pytest

from tenants.access import repository, service
from tenants.access.errors import AccessError, AccessErrorCode
from tenants.audit.models import AuditEntry
from tenants.audit.service import SYSTEM
from tenants.db.uow import set_tenant_sql, tenant_unit_of_work
from tenants.tenancy.auth import Role
from tests.access.support import add_member, make_org
from tests.conftest import TenantFactory


async def test_a_login_links_to_one_staff_record_of_its_own_tenant_only(
    make_tenant: TenantFactory, app_conn: asyncpg.Connection
) -> None:
    org = await make_org(await make_tenant())
    other = await make_org(await make_tenant())
    login = await add_member(org.tenant_id, Role.STAFF)
    outsider = await add_member(other.tenant_id, Role.STAFF)
    async with app_conn.transaction():
        await app_conn.execute(set_tenant_sql(org.tenant_id))
        await app_conn.execute("UPDATE staff SET user_id = $1 WHERE code = 'a'", login.user_id)
        with pytest.raises(asyncpg.UniqueViolationError):
            async with app_conn.transaction():
                await app_conn.execute("UPDATE staff SET user_id = $1 WHERE code = 'b'", login.user_id)
        # A user who is not a member of this tenant (a member of another one) cannot be linked.
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            async with app_conn.transaction():
                await app_conn.execute("UPDATE staff SET user_id = $1 WHERE code = 'c'", outsider.user_id)
        # Teams of another tenant, or rows for another tenant, cannot be written.
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            async with app_conn.transaction():
                await app_conn.execute(
                    "INSERT INTO membership_team (tenant_id, user_id, team_id) VALUES ($1, $2, $3)",
                    org.tenant_id,
                    login.user_id,
                    other.teams["R"],
                )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # RLS WITH CHECK
            async with app_conn.transaction():
                await app_conn.execute(
                    "INSERT INTO membership_team (tenant_id, user_id, team_id) VALUES ($1, $2, $3)",
                    other.tenant_id,
                    outsider.user_id,
                    other.teams["R"],
                )
    # Outside a tenant's transaction the table shows nothing (fail closed).
    await service.set_member_teams(org.tenant_id, SYSTEM, login.user_id, ["R"])
    assert await app_conn.fetchval("SELECT count(*) FROM membership_team") == 0


async def test_removing_a_membership_unlinks_its_staff_record_and_drops_its_teams(make_tenant: TenantFactory) -> None:
    org = await make_org(await make_tenant())
    manager = await add_member(org.tenant_id, Role.MANAGER)
    await service.link_staff_user(org.tenant_id, SYSTEM, "b", manager.user_id)
    await service.set_member_teams(org.tenant_id, SYSTEM, manager.user_id, ["S1", "S2"])
    async with tenant_unit_of_work(org.tenant_id) as conn:
        await conn.execute_query("DELETE FROM membership WHERE user_id = $1", [manager.user_id])
    async with tenant_unit_of_work(org.tenant_id) as conn:
        assert await repository.staff_of_user(conn, org.tenant_id, manager.user_id) is None
        assert (await repository.staff_by_code(conn, org.tenant_id, "b")) is not None
        assert await repository.member_teams(conn, org.tenant_id, manager.user_id) == []


async def test_apply_member_access_commits_with_the_callers_transaction_or_not_at_all(
    make_tenant: TenantFactory,
) -> None:
    org = await make_org(await make_tenant())
    invited = await add_member(org.tenant_id, Role.MANAGER)
    # The caller's transaction fails after the access was applied: nothing of it stays.
    with pytest.raises(RuntimeError):
        async with tenant_unit_of_work(org.tenant_id) as conn:
            await service.apply_member_access(
                conn, org.tenant_id, SYSTEM, invited.user_id, team_codes=["R"], staff_code="b"
            )
            raise RuntimeError("the invitation failed")
    # A refused part refuses the whole (the caller lets the error roll its transaction back).
    with pytest.raises(AccessError) as refused:
        async with tenant_unit_of_work(org.tenant_id) as conn:
            await service.apply_member_access(
                conn, org.tenant_id, SYSTEM, invited.user_id, team_codes=["R", "nope"], staff_code="b"
            )
    assert [(p.code, p.field, p.index) for p in refused.value.problems] == [
        (AccessErrorCode.UNKNOWN_TEAM, "teamCodes[1]", 1)
    ]
    async with tenant_unit_of_work(org.tenant_id) as conn:
        assert await repository.staff_of_user(conn, org.tenant_id, invited.user_id) is None
        assert await repository.member_teams(conn, org.tenant_id, invited.user_id) == []
        assert await AuditEntry.filter(tenant_id=org.tenant_id, entity__in=["staff", "membership"]).count() == 0
    async with tenant_unit_of_work(org.tenant_id) as conn:
        applied = await service.apply_member_access(
            conn, org.tenant_id, SYSTEM, invited.user_id, team_codes=["R"], staff_code="b"
        )
    assert (applied.staff and applied.staff.code, [t.code for t in applied.teams]) == ("b", ["R"])
    async with tenant_unit_of_work(org.tenant_id):
        entries = await AuditEntry.filter(tenant_id=org.tenant_id).order_by("id")
    assert [entry.action for entry in entries] == ["staff.link_user", "membership.set_teams"]
    # Not a member (of this tenant): refused.
    stranger = await add_member((await make_tenant()).tenant_id, Role.STAFF)
    with pytest.raises(AccessError) as unknown:
        async with tenant_unit_of_work(org.tenant_id) as conn:
            await service.apply_member_access(conn, org.tenant_id, SYSTEM, stranger.user_id, staff_code="c")
    assert unknown.value.code == AccessErrorCode.UNKNOWN_USER
