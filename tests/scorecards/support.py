"""Set-up shared by the scorecards tests: the DESIGN.md worked example closed in a fresh tenant, its guides in a team
tree, and logins of every role (a staff login linked to a guide)."""

from __future__ import annotations

from dataclasses import dataclass

from tenants.access.service import link_staff_user, set_member_teams
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.periods.close import close_period
from tenants.staff.models import Staff
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tests.access.support import Member, add_member
from tests.conftest import TenantFixture
from tests.factories import add_team


@dataclass(frozen=True)
class Example:
    tenant: TenantFixture
    scheme_id: int
    period: str
    teams: dict[str, int]
    staff: dict[str, int]  # code -> id

    @property
    def tenant_id(self) -> TenantId:
        return self.tenant.tenant_id


async def closed_example(tenant: TenantFixture) -> Example:
    """Region R > store S1 (小王 guide-001, 小李 guide-002) and store S2 (小张 guide-003); 2026-10 closed."""
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    region = await add_team(tid, "R", name="华东区")
    s1 = await add_team(tid, "S1", parent_id=region.id, name="一号店")
    s2 = await add_team(tid, "S2", name="二号店")
    async with tenant_unit_of_work(tid):
        await Staff.filter(tenant_id=tid, code__in=["guide-001", "guide-002"]).update(team_id=s1.id)
        await Staff.filter(tenant_id=tid, code="guide-003").update(team_id=s2.id)
        staff = {s.code: s.id for s in await Staff.filter(tenant_id=tid)}
    await close_period(tid, scheme_id, PERIOD)
    return Example(tenant, scheme_id, PERIOD, {"R": region.id, "S1": s1.id, "S2": s2.id}, staff)


async def staff_login(example: Example, code: str) -> Member:
    member = await add_member(example.tenant_id, Role.STAFF)
    await link_staff_user(example.tenant_id, SYSTEM, code, member.user_id)
    return member


async def manager_of(example: Example, *team_codes: str) -> Member:
    member = await add_member(example.tenant_id, Role.MANAGER)
    await set_member_teams(example.tenant_id, SYSTEM, member.user_id, list(team_codes))
    return member
