"""The worked example closed for 2026-10 in a tenant with teams and logins, for the disputes and approvals tests.

Teams: region-east > store-a (小王 guide-001, 小李 guide-002), region-east > store-b (小张 guide-003, and guide-009,
a guide with a manager's login: 店长 of store-b). Logins: the admin, 小王 and 小张 (staff, linked to their records),
the manager of store-a, the manager of store-b (linked to guide-009), the manager of the whole region.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tenants.access.service import link_staff_user, set_member_teams
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.periods.close import close_period
from tenants.periods.models import LedgerLine, Period
from tenants.staff.models import Staff
from tenants.staff.records import StaffItem, TeamItem
from tenants.staff.service import upsert_staff, upsert_teams
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tests.conftest import TenantFixture
from tests.payroll.people import Login, manager_of, new_login

LoginAs = Callable[..., Awaitable[str]]  # the `login` fixture: email, tenant -> access token


@dataclass(frozen=True)
class World:
    tenant: TenantFixture
    scheme_id: int
    admin: str  # tokens
    wang: str
    zhang: str
    manager_a: str
    manager_b: str
    manager_region: str
    wang_login: Login
    manager_b_login: Login

    @property
    def tenant_id(self) -> TenantId:
        return self.tenant.tenant_id


async def build_world(tenant: TenantFixture, login: LoginAs) -> World:
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    teams = await upsert_teams(
        tid,
        SYSTEM,
        [
            TeamItem(code="region-east", name="华东", kind="region"),
            TeamItem(code="store-a", name="A 店", parent="region-east"),
            TeamItem(code="store-b", name="B 店", parent="region-east"),
        ],
    )
    staff = await upsert_staff(
        tid,
        SYSTEM,
        [
            StaffItem(code="guide-001", name="小王", role="guide", team="store-a", hired_on=date(2026, 1, 1)),
            StaffItem(code="guide-002", name="小李", role="guide", team="store-a", hired_on=date(2026, 1, 1)),
            StaffItem(code="guide-003", name="小张", role="guide", team="store-b", hired_on=date(2026, 1, 1)),
            StaffItem(code="guide-009", name="店长", role="sales", team="store-b", hired_on=date(2026, 1, 1)),
        ],
    )
    assert not teams.errors and not staff.errors
    await close_period(tid, scheme_id, PERIOD)
    wang = await _linked(tid, "guide-001", Role.STAFF)
    zhang = await _linked(tid, "guide-003", Role.STAFF)
    manager_a = await manager_of(tid, ["store-a"])
    manager_b = await _linked(tid, "guide-009", Role.MANAGER)
    await set_member_teams(tid, SYSTEM, manager_b.user_id, ["store-b"])
    region = await manager_of(tid, ["region-east"])
    return World(
        tenant=tenant,
        scheme_id=scheme_id,
        admin=await login(tenant.admin_email, tenant=tenant.slug),
        wang=await login(wang.email, tenant=tenant.slug),
        zhang=await login(zhang.email, tenant=tenant.slug),
        manager_a=await login(manager_a.email, tenant=tenant.slug),
        manager_b=await login(manager_b.email, tenant=tenant.slug),
        manager_region=await login(region.email, tenant=tenant.slug),
        wang_login=wang,
        manager_b_login=manager_b,
    )


async def _linked(tenant_id: TenantId, code: str, role: Role) -> Login:
    login = await new_login(tenant_id, role)
    await link_staff_user(tenant_id, SYSTEM, code, login.user_id)
    return Login(login.user_id, login.email, await staff_id(tenant_id, code))


async def staff_id(tenant_id: TenantId, code: str) -> int:
    async with tenant_unit_of_work(tenant_id):
        return int((await Staff.get(tenant_id=tenant_id, code=code)).id)


async def line_id(tenant_id: TenantId, code: str, rule_key: str, period: str = PERIOD) -> int:
    """The id of the first posted line of `code`'s statement for `period` with this rule."""
    async with tenant_unit_of_work(tenant_id):
        owner = await Staff.get(tenant_id=tenant_id, code=code)
        found = await Period.get(tenant_id=tenant_id, key=period)
        line = await LedgerLine.filter(tenant_id=tenant_id, period_id=found.id, staff_id=owner.id, rule_key=rule_key)
    return int(sorted(line, key=lambda item: item.id)[0].id)


@dataclass(frozen=True)
class PostedLine:
    period: str
    staff: str
    revision: int
    rule_key: str
    kind: str
    amount: Decimal
    corrects: str | None
    corrects_revision: int | None
    dispute_id: int | None
    derivation: str


async def posted_lines(tenant_id: TenantId) -> list[PostedLine]:
    """Every ledger line of the tenant in posting order, with its period key, staff code and what it corrects."""
    async with tenant_unit_of_work(tenant_id):
        codes = {s.id: s.code for s in await Staff.filter(tenant_id=tenant_id)}
        keys = {p.id: p.key for p in await Period.filter(tenant_id=tenant_id)}
        lines = await LedgerLine.filter(tenant_id=tenant_id).order_by("id")
    return [
        PostedLine(
            period=keys[line.period_id],
            staff=codes[line.staff_id],
            revision=line.revision,
            rule_key=line.rule_key,
            kind=line.kind,
            amount=line.amount,
            corrects=keys[line.corrects_period_id] if line.corrects_period_id is not None else None,
            corrects_revision=line.corrects_revision,
            dispute_id=line.dispute_id,
            derivation=line.derivation,
        )
        for line in lines
    ]
