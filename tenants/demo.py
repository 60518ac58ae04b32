"""The demo tenant seeded by `make demo` / `kaohe demo` (idempotent): the DESIGN.md worked example, closed.

Three shopping guides in 2026-10 (Asia/Shanghai) on the 导购拉新 scheme; closing 2026-10 gives exactly:
小王 120 (S) net 1,200.00; 小李 40 (D) net -400.00; 小张 55 (D) net 300.00.

Logins (all with DEMO_PASSWORD): the admin; one staff login per guide, linked to its staff record (the mini-program:
each sees only its own scorecard, statement and rank); a manager of store sh-01 (小王 and 小李, not 小张 of sh-02).
The teams (region sh > stores sh-01, sh-02) are the demo's own: seed_worked_example (used by tests) leaves staff
without a team.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tenants.access import service as access
from tenants.audit.service import SYSTEM
from tenants.events.service import ingest
from tenants.schemes import service as schemes
from tenants.schemes.templates import get_template
from tenants.staff.records import CustomerItem, StaffItem, TeamItem
from tenants.staff.service import upsert_customers, upsert_staff, upsert_teams
from tenants.tenancy import service
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId, tenant_id_for_system

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.kaohe.local"
DEMO_PASSWORD = "kaohe-demo-2026"
OPERATOR_EMAIL = "operator@kaohe.local"
SCHEME_NAME = "导购拉新 2026"
PERIOD = "2026-10"
SHANGHAI = ZoneInfo("Asia/Shanghai")

MANAGER_EMAIL = "manager@demo.kaohe.local"
MANAGED_TEAM = "sh-01"
# The demo's teams (code, name, kind, parent) and each guide's store.
TEAMS = [("sh", "上海区", "region", None), ("sh-01", "上海一店", "store", "sh"), ("sh-02", "上海二店", "store", "sh")]
GUIDE_STORES = {"guide-001": "sh-01", "guide-002": "sh-01", "guide-003": "sh-02"}


def staff_email(code: str) -> str:
    """The demo login of a guide, e.g. guide-001@demo.kaohe.local."""
    return f"{code}@demo.kaohe.local"


# (code, name, new customers, invited, joined, order amounts, refunds, missed follow-ups, complaints)
GUIDES: list[tuple[str, str, int, int, int, list[int], list[int], int, int]] = [
    ("guide-001", "小王", 36, 20, 12, [2500] * 10, [-1000], 1, 0),
    ("guide-002", "小李", 12, 10, 2, [2000] * 4, [], 2, 1),
    ("guide-003", "小张", 30, 0, 0, [2000] * 5, [], 0, 0),
]


def worked_example_events() -> list[dict[str, Any]]:
    """The October events of the example, in the integration contract's JSON shape."""
    events: list[dict[str, Any]] = []
    start = datetime(2026, 10, 2, 10, 0, tzinfo=SHANGHAI)

    def add(guide: str, kind: str, n: int, **extra: Any) -> None:
        at = start + timedelta(hours=len(events))
        events.append(
            {"externalId": f"{guide}-{kind}-{n}", "type": kind, "occurredAt": at.isoformat(), "staff": guide, **extra}
        )

    for code, _, new, invited, joined, orders, refunds, missed, complaints in GUIDES:
        for n in range(new):
            add(code, "customer_added", n)
        for n in range(invited):
            add(code, "old_customer_invited", n)
        for n in range(joined):
            add(code, "old_customer_joined", n)
        for n, amount in enumerate(orders):
            add(code, "order", n, amount=f"{amount}.00", customer=f"cust-{code}-{n}")
        for n, amount in enumerate(refunds):
            add(code, "refund", n, amount=f"{amount}.00", attributes={"order": f"{code}-order-0"})
        for n in range(missed):
            add(code, "follow_up_missed", n)
        for n in range(complaints):
            add(code, "complaint", n, attributes={"caused_by_follow_up": True})
    # The timezone edge: 00:10 on 1 November in Shanghai is still October in UTC, yet belongs to 2026-11.
    events.append(
        {
            "externalId": "guide-001-order-november",
            "type": "order",
            "occurredAt": "2026-11-01T00:10:00+08:00",
            "staff": "guide-001",
            "amount": "5000.00",
        }
    )
    return events


async def seed_worked_example(tenant_id: TenantId) -> int:
    """Guides, events and the published scheme of the worked example; returns the scheme id. Idempotent."""
    # Through the same services a merchant's integration uses (validation, audit, statistics).
    staff = await upsert_staff(
        tenant_id,
        SYSTEM,
        [StaffItem(code=code, name=name, role="guide", hired_on=date(2026, 1, 1)) for code, name, *_ in GUIDES],
    )
    customers = await upsert_customers(
        tenant_id,
        SYSTEM,
        [CustomerItem(code=f"cust-{code}-{n}") for code, *_, orders, _r, _m, _c in GUIDES for n in range(len(orders))],
    )
    if staff.errors or customers.errors:
        raise RuntimeError(f"worked example master data refused: {[*staff.errors, *customers.errors][:3]}")
    existing = next((scheme for scheme in await schemes.list_schemes(tenant_id) if scheme.name == SCHEME_NAME), None)
    result = await ingest(tenant_id, enumerate(worked_example_events()))  # a re-run only finds duplicates
    if result.rejected:
        raise RuntimeError(f"worked example events rejected: {result.rejected[:3]}")
    if existing is not None:
        return int(existing.id)
    scheme = await schemes.create_scheme(tenant_id, SYSTEM, SCHEME_NAME, "DESIGN.md 的示例方案")
    draft = await schemes.save_draft(tenant_id, SYSTEM, scheme.id, get_template("store_guide_new_customers").config)
    await schemes.publish_version(tenant_id, SYSTEM, draft.id, date(2026, 10, 1))
    return int(scheme.id)


async def seed_demo() -> str:
    from tenants.periods.close import close_period

    tenant = await service.tenant_by_slug(DEMO_SLUG) or await service.create_tenant(
        DEMO_SLUG, "演示门店 Demo Store", "Asia/Shanghai"
    )
    tenant_id = tenant_id_for_system(tenant.id)
    admin = await service.user_by_email(DEMO_EMAIL) or await service.create_user(
        DEMO_EMAIL, DEMO_PASSWORD, "演示管理员"
    )
    await service.add_membership(tenant_id, admin.id, Role.ADMIN)
    if await service.user_by_email(OPERATOR_EMAIL) is None:
        await service.create_user(OPERATOR_EMAIL, DEMO_PASSWORD, "Platform operator", platform_operator=True)
    scheme_id = await seed_worked_example(tenant_id)
    await seed_demo_teams(tenant_id)
    logins = await seed_demo_logins(tenant_id)
    outcome = await close_period(tenant_id, scheme_id, PERIOD)
    return "\n".join(
        [
            f"demo tenant '{DEMO_SLUG}' (id {tenant.id}) with admin {DEMO_EMAIL}; operator {OPERATOR_EMAIL}",
            f"scheme {SCHEME_NAME} (id {scheme_id}); period {PERIOD} closed, revision {outcome.revision}",
            f"logins (password {DEMO_PASSWORD}, tenant {DEMO_SLUG}):",
            *logins,
        ]
    )


async def seed_demo_teams(tenant_id: TenantId) -> None:
    """Region sh with stores sh-01 (小王, 小李) and sh-02 (小张). Idempotent (upserts by code)."""
    teams = await upsert_teams(
        tenant_id,
        SYSTEM,
        [TeamItem(code=code, name=name, kind=kind, parent=parent) for code, name, kind, parent in TEAMS],
    )
    staff = await upsert_staff(
        tenant_id,
        SYSTEM,
        [
            StaffItem(code=code, name=name, role="guide", team=GUIDE_STORES[code], hired_on=date(2026, 1, 1))
            for code, name, *_ in GUIDES
        ],
    )
    if teams.errors or staff.errors:
        raise RuntimeError(f"demo teams refused: {[*teams.errors, *staff.errors][:3]}")


async def seed_demo_logins(tenant_id: TenantId) -> list[str]:
    """A staff login per guide, linked to its staff record, and a manager of MANAGED_TEAM; one line per login."""
    lines = []
    for code, name, *_ in GUIDES:
        email = staff_email(code)
        user = await service.user_by_email(email) or await service.create_user(email, DEMO_PASSWORD, name)
        await service.add_membership(tenant_id, user.id, Role.STAFF)
        await access.link_staff_user(tenant_id, SYSTEM, code, user.id)  # the same link again changes nothing
        lines.append(f"  staff    {email}  ({name}, {code}, store {GUIDE_STORES[code]})")
    manager = await service.user_by_email(MANAGER_EMAIL) or await service.create_user(
        MANAGER_EMAIL, DEMO_PASSWORD, "上海一店店长"
    )
    await service.add_membership(tenant_id, manager.id, Role.MANAGER)
    await access.set_member_teams(tenant_id, SYSTEM, manager.id, [MANAGED_TEAM])
    managed = ", ".join(name for code, name, *_ in GUIDES if GUIDE_STORES[code] == MANAGED_TEAM)
    lines.append(f"  manager  {MANAGER_EMAIL}  (store {MANAGED_TEAM}: {managed})")
    lines.append(f"  admin    {DEMO_EMAIL}")
    return lines
