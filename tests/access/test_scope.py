"""The access scope of each kind of caller, read in one statement, and its SQL condition (issue 8 item 5)."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access import service
from tenants.access.scope import AccessScope, read_access_scope
from tenants.audit.service import SYSTEM
from tenants.db.params import BindParams
from tenants.db.uow import tenant_unit_of_work
from tenants.tenancy.auth import ApiKeyPrincipal, Role, UserPrincipal
from tenants.tenancy.identity import TenantId
from tests.access.support import Org, add_member, make_org
from tests.conftest import TenantFactory


def principal(tenant_id: TenantId, user_id: int, role: Role) -> UserPrincipal:
    return UserPrincipal(
        user_id=user_id, email="x@example.com", is_platform_operator=False, tenant_id=tenant_id, role=role
    )


class CountingConnection:
    """Counts the statements sent through it (everything else is the real connection)."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self._conn = conn
        self.statements = 0

    async def execute_query_dict(self, sql: str, values: list[Any] | None = None) -> list[dict[str, Any]]:
        self.statements += 1
        return await self._conn.execute_query_dict(sql, values)

    async def execute_query(self, sql: str, values: list[Any] | None = None) -> Any:
        self.statements += 1
        return await self._conn.execute_query(sql, values)


async def scope_of(tenant_id: TenantId, who: UserPrincipal | ApiKeyPrincipal) -> tuple[AccessScope, int]:
    async with tenant_unit_of_work(tenant_id) as conn:
        counting = CountingConnection(conn)
        scope = await read_access_scope(counting, tenant_id, who)  # type: ignore[arg-type]
    return scope, counting.statements


async def visible(org: Org, table: str, condition: str, binds: BindParams) -> list[str]:
    """The codes of `table` (alias = its first letter) that a scope's SQL condition keeps, on the real table."""
    async with tenant_unit_of_work(org.tenant_id) as conn:
        rows = await conn.execute_query_dict(
            f"SELECT {table[0]}.code FROM {table} {table[0]} WHERE {table[0]}.tenant_id = $1 AND {condition} "
            f"ORDER BY {table[0]}.code",
            binds.values,
        )
    return [row["code"] for row in rows]


async def visible_staff(org: Org, scope: AccessScope) -> list[str]:
    binds = BindParams(org.tenant_id)
    return await visible(org, "staff", scope.staff_condition(binds), binds)


async def visible_teams(org: Org, scope: AccessScope) -> list[str]:
    binds = BindParams(org.tenant_id)
    return await visible(org, "team", scope.team_condition(binds), binds)


async def test_admins_and_owners_see_the_whole_tenant(make_tenant: TenantFactory) -> None:
    org = await make_org(await make_tenant())
    for role in (Role.ADMIN, Role.OWNER):
        member = await add_member(org.tenant_id, role)
        scope, statements = await scope_of(org.tenant_id, principal(org.tenant_id, member.user_id, role))
        assert (scope.whole_tenant, scope.team_ids, scope.staff_id, scope.role) == (True, None, None, role)
        assert statements == 1
        assert await visible_staff(org, scope) == ["a", "b", "c"]
        assert await visible_teams(org, scope) == ["G1", "R", "S1", "S2"]


async def test_an_api_key_sees_the_whole_tenant_without_a_query(make_tenant: TenantFactory) -> None:
    org = await make_org(await make_tenant())
    key = ApiKeyPrincipal(api_key_id=7, tenant_id=org.tenant_id, scopes=frozenset())
    scope, statements = await scope_of(org.tenant_id, key)
    assert (scope.whole_tenant, scope.user_id, scope.api_key_id, scope.role, statements) == (
        True,
        None,
        7,
        Role.ADMIN,
        0,
    )


async def test_a_manager_sees_the_subtrees_of_its_teams_and_its_own_record(make_tenant: TenantFactory) -> None:
    org = await make_org(await make_tenant())
    manager = await add_member(org.tenant_id, Role.MANAGER)
    who = principal(org.tenant_id, manager.user_id, Role.MANAGER)
    # No teams yet: nothing in scope.
    scope, _ = await scope_of(org.tenant_id, who)
    assert (scope.team_ids, await visible_staff(org, scope), await visible_teams(org, scope)) == (frozenset(), [], [])
    await service.set_member_teams(org.tenant_id, SYSTEM, manager.user_id, ["S1"])
    scope, statements = await scope_of(org.tenant_id, who)
    assert statements == 1
    assert scope.team_ids == frozenset({org.teams["S1"], org.teams["G1"]})
    assert await visible_staff(org, scope) == ["a", "b"]
    assert await visible_teams(org, scope) == ["G1", "S1"]
    assert scope.allows_staff(org.staff["a"], org.teams["G1"]) and not scope.allows_staff(
        org.staff["c"], org.teams["S2"]
    )
    assert not scope.allows_team(org.teams["R"])  # the parent of a managed team is outside
    # The region: its whole subtree; linked to staff c (in S2) the manager also sees its own record.
    await service.set_member_teams(org.tenant_id, SYSTEM, manager.user_id, ["R"])
    await service.link_staff_user(org.tenant_id, SYSTEM, "c", manager.user_id)
    scope, statements = await scope_of(org.tenant_id, who)
    assert (statements, scope.staff_id) == (1, org.staff["c"])
    assert await visible_staff(org, scope) == ["a", "b", "c"]
    assert await visible_teams(org, scope) == ["G1", "R", "S1"]


async def test_staff_see_only_their_own_record_and_nothing_until_linked(make_tenant: TenantFactory) -> None:
    org = await make_org(await make_tenant())
    login = await add_member(org.tenant_id, Role.STAFF)
    who = principal(org.tenant_id, login.user_id, Role.STAFF)
    scope, _ = await scope_of(org.tenant_id, who)
    assert (scope.staff_id, scope.team_ids, scope.own_data_only) == (None, frozenset(), True)
    assert await visible_staff(org, scope) == []
    await service.link_staff_user(org.tenant_id, SYSTEM, "a", login.user_id)
    # Teams given to a staff login widen nothing.
    await service.set_member_teams(org.tenant_id, SYSTEM, login.user_id, ["R"])
    scope, statements = await scope_of(org.tenant_id, who)
    assert (statements, scope.staff_id, scope.team_ids) == (1, org.staff["a"], frozenset())
    assert await visible_staff(org, scope) == ["a"]
    assert await visible_teams(org, scope) == []
    assert scope.allows_staff(org.staff["a"], None) and not scope.allows_staff(org.staff["b"], org.teams["S1"])


async def test_a_principal_of_another_tenant_sees_nothing_here(make_tenant: TenantFactory) -> None:
    org = await make_org(await make_tenant())
    other = await make_tenant()
    # The other tenant's admin, even linked to a staff id that exists here, gets nothing of this tenant.
    scope, statements = await scope_of(org.tenant_id, principal(other.tenant_id, other.admin_user_id, Role.ADMIN))
    assert (scope.team_ids, scope.staff_id, statements) == (frozenset(), None, 0)
    assert await visible_staff(org, scope) == []
    # The manager of another tenant's team id: its teams are not this tenant's, so its scope here is empty.
    other_org = await make_org(other)
    manager = await add_member(other.tenant_id, Role.MANAGER)
    await service.set_member_teams(other.tenant_id, SYSTEM, manager.user_id, ["R"])
    scope, _ = await scope_of(org.tenant_id, principal(org.tenant_id, manager.user_id, Role.MANAGER))
    assert scope.team_ids == frozenset()
    assert other_org.teams["R"] not in (scope.team_ids or set())
