"""Shared set-up of the access tests: a tenant with a team tree, staff, and logins of every role."""

from __future__ import annotations

from dataclasses import dataclass

from tenants.tenancy import service
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tests.conftest import PASSWORD, TenantFixture, unique
from tests.factories import add_staff, add_team


@dataclass(frozen=True)
class Member:
    user_id: int
    email: str


async def add_member(tenant_id: TenantId, role: Role) -> Member:
    email = f"{unique(role.value)}@example.com"
    user = await service.create_user(email, PASSWORD)
    await service.add_membership(tenant_id, user.id, role)
    return Member(user.id, email)


@dataclass(frozen=True)
class Org:
    """region R > store S1 > group G1, and a second root S2; staff a (G1), b (S1), c (S2)."""

    tenant: TenantFixture
    teams: dict[str, int]
    staff: dict[str, int]

    @property
    def tenant_id(self) -> TenantId:
        return self.tenant.tenant_id


async def make_org(tenant: TenantFixture) -> Org:
    tid = tenant.tenant_id
    region = await add_team(tid, "R")
    store = await add_team(tid, "S1", parent_id=region.id)
    group = await add_team(tid, "G1", parent_id=store.id)
    other = await add_team(tid, "S2")
    teams = {"R": region.id, "S1": store.id, "G1": group.id, "S2": other.id}
    staff = {
        "a": (await add_staff(tid, "a", team_id=group.id, name="小王")).id,
        "b": (await add_staff(tid, "b", team_id=store.id, name="小李")).id,
        "c": (await add_staff(tid, "c", team_id=other.id, name="小张")).id,
    }
    return Org(tenant, teams, staff)
