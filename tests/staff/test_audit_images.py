"""Master data audit entries carry before/after images of the rows a small batch wrote (tenants/staff/service.py):
an update shows the old and the new row, a create shows before null, a batch above AUDIT_DETAIL_LIMIT keeps the
counts-only entry, the before image is read under a row lock (a concurrent change committed first is what it shows),
and another tenant's rows with the same codes are neither shown nor touched."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from tortoise.connection import get_connection

from tenants.audit.models import AuditEntry
from tenants.audit.service import Actor
from tenants.db.uow import tenant_unit_of_work
from tenants.staff import service
from tenants.staff.models import Staff
from tenants.staff.records import CustomerItem, StaffItem, TeamItem
from tenants.staff.service import AUDIT_DETAIL_LIMIT
from tenants.tenancy.identity import TenantId
from tests.conftest import TenantFactory, TenantFixture
from tests.staff import audit_entries, snapshot


def actor(tenant: TenantFixture) -> Actor:
    return Actor(user_id=tenant.admin_user_id)


async def last_entry(tenant_id: TenantId, entity: str) -> AuditEntry:
    entries = await audit_entries(tenant_id, entity)
    assert entries, f"no {entity} audit entry"
    return entries[-1]


def staff_image(code: str, name: str, team: str | None, **changes: Any) -> dict[str, Any]:
    image = {
        "code": code,
        "name": name,
        "role": "guide",
        "team_code": team,
        "active": True,
        "hired_on": None,
        "left_on": None,
    }
    return {**image, **changes}


async def test_an_update_shows_the_old_and_the_new_row_and_a_create_shows_before_null(
    make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    tid, who = tenant.tenant_id, actor(tenant)
    await service.upsert_teams(tid, who, [TeamItem(code="east", name="华东区", kind="region")])
    teams = await last_entry(tid, "team")
    assert teams.before == {"east": None}
    assert teams.after["rows"] == {"east": {"code": "east", "name": "华东区", "kind": "region", "parent_code": None}}
    await service.upsert_teams(
        tid,
        who,
        [
            TeamItem(code="sh-1", name="上海一店", kind="store", parent="east"),
            TeamItem(code="sh-2", name="上海二店", kind="store", parent="east"),
        ],
    )
    await service.upsert_staff(tid, who, [StaffItem(code="g-1", name="小王", role="guide", team="sh-1")])
    created = await last_entry(tid, "staff")
    assert created.before == {"g-1": None}
    assert created.after["rows"] == {"g-1": staff_image("g-1", "小王", "sh-1")}
    assert (created.after["created"], created.after["created_codes"]) == (1, ["g-1"])

    outcome = await service.upsert_staff(
        tid,
        who,
        [StaffItem(code="g-1", name="小李", role="guide", team="sh-2", hired_on=date(2026, 3, 1))],
    )
    assert outcome.errors == [] and outcome.updated == 1
    updated = await last_entry(tid, "staff")
    assert updated.id != created.id and updated.actor_user_id == tenant.admin_user_id
    assert updated.before == {"g-1": staff_image("g-1", "小王", "sh-1")}
    assert updated.after["rows"] == {"g-1": staff_image("g-1", "小李", "sh-2", hired_on="2026-03-01")}
    # the counts and codes every existing reader of the entry relies on are still there
    assert {k: updated.after[k] for k in ("created", "updated", "rejected", "created_codes", "updated_codes")} == {
        "created": 0,
        "updated": 1,
        "rejected": 0,
        "created_codes": [],
        "updated_codes": ["g-1"],
    }

    await service.upsert_customers(tid, who, [CustomerItem(code="c-1", name="张女士", guide="g-1")])
    customer = await last_entry(tid, "customer")
    assert customer.before == {"c-1": None}
    row = customer.after["rows"]["c-1"]
    assert (row["name"], row["guide_code"], row["created_from_event"]) == ("张女士", "g-1", False)
    assert row["bound_since"] is not None and "tenant_id" not in row
    await service.upsert_customers(tid, who, [CustomerItem(code="c-1", name="张女士", guide=None)])
    unbound = await last_entry(tid, "customer")
    assert unbound.before == {"c-1": row}
    assert unbound.after["rows"]["c-1"] == {**row, "guide_code": None, "bound_since": None}


async def test_refused_items_are_not_in_the_images(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    outcome = await service.upsert_staff(
        tid,
        actor(tenant),
        [
            StaffItem(code="g-1", name="小王", role="guide"),
            StaffItem(code="g-2", name="小张", role="guide", team="no-such-team"),
        ],
    )
    assert outcome.created == 1 and len(outcome.errors) == 1
    entry = await last_entry(tid, "staff")
    assert entry.before == {"g-1": None}
    assert list(entry.after["rows"]) == ["g-1"] and entry.after["rejected"] == 1


async def test_a_batch_above_the_limit_keeps_the_counts_only_entry(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    items = [StaffItem(code=f"g-{i:03}", name=f"导购{i}", role="guide") for i in range(AUDIT_DETAIL_LIMIT + 1)]
    outcome = await service.upsert_staff(tid, actor(tenant), items)
    assert outcome.created == AUDIT_DETAIL_LIMIT + 1
    entry = await last_entry(tid, "staff")
    assert entry.before is None
    assert entry.after == {
        "created": AUDIT_DETAIL_LIMIT + 1,
        "updated": 0,
        "rejected": 0,
        "created_codes": sorted(item.code for item in items),
        "updated_codes": [],
    }
    # at the limit the images are there
    await service.upsert_staff(tid, actor(tenant), items[:AUDIT_DETAIL_LIMIT])
    entry = await last_entry(tid, "staff")
    assert entry.before is not None and len(entry.before) == AUDIT_DETAIL_LIMIT
    assert len(entry.after["rows"]) == AUDIT_DETAIL_LIMIT


async def test_the_before_image_is_read_under_a_lock_so_a_change_committed_meanwhile_is_the_one_shown(
    make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await service.upsert_staff(tid, actor(tenant), [StaffItem(code="g-1", name="小王", role="guide")])
    holding = asyncio.Event()
    release = asyncio.Event()

    async def concurrent_change() -> None:
        async with tenant_unit_of_work(tid):
            await Staff.filter(tenant_id=tid, code="g-1").update(name="小王（改）")
            holding.set()
            await release.wait()

    changer = asyncio.create_task(concurrent_change())
    await holding.wait()
    upsert = asyncio.create_task(
        service.upsert_staff(tid, actor(tenant), [StaffItem(code="g-1", name="小李", role="guide")])
    )
    await _until_a_session_waits_for_a_lock()
    release.set()
    await changer
    assert (await upsert).updated == 1
    entry = await last_entry(tid, "staff")
    assert entry.before["g-1"]["name"] == "小王（改）"  # not the row as it was before the other change committed
    assert entry.after["rows"]["g-1"]["name"] == "小李"


async def _until_a_session_waits_for_a_lock() -> None:
    """The upsert has reached its before read and waits for the row the other transaction holds."""
    for _ in range(500):
        rows = await get_connection("default").execute_query_dict(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        if rows[0]["n"]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the upsert never waited for the locked row")


async def test_another_tenants_rows_with_the_same_codes_are_not_shown_nor_touched(make_tenant: TenantFactory) -> None:
    a, b = await make_tenant(), await make_tenant()
    await service.upsert_teams(b.tenant_id, actor(b), [TeamItem(code="sh-1", name="B 的店", kind="store")])
    await service.upsert_staff(
        b.tenant_id, actor(b), [StaffItem(code="g-1", name="B 的导购", role="guide", team="sh-1")]
    )
    b_rows, b_audit = await snapshot(b.tenant_id), await audit_entries(b.tenant_id, "staff")

    await service.upsert_teams(a.tenant_id, actor(a), [TeamItem(code="sh-1", name="A 的店", kind="store")])
    await service.upsert_staff(a.tenant_id, actor(a), [StaffItem(code="g-1", name="A 的导购", role="guide")])
    await service.upsert_staff(
        a.tenant_id, actor(a), [StaffItem(code="g-1", name="A 的导购", role="guide", team="sh-1")]
    )
    created, moved = (await audit_entries(a.tenant_id, "staff"))[-2:]
    assert created.before == {"g-1": None}  # B's g-1 is not A's before
    assert moved.before == {"g-1": staff_image("g-1", "A 的导购", None)}
    assert moved.after["rows"] == {"g-1": staff_image("g-1", "A 的导购", "sh-1")}
    assert (await last_entry(a.tenant_id, "team")).before == {"sh-1": None}
    # B's rows and B's audit log are as they were; A's entries are A's alone
    assert await snapshot(b.tenant_id) == b_rows
    assert [e.id for e in await audit_entries(b.tenant_id, "staff")] == [e.id for e in b_audit]
    assert {e.tenant_id for e in await audit_entries(a.tenant_id, "staff")} == {a.tenant_id}


async def test_a_batch_of_one_names_its_row_and_a_larger_batch_none(make_tenant: TenantFactory) -> None:
    """The console writes one row at a time: its entry carries the row's id (the row's history is one filter away);
    a batch of several rows names none."""
    tenant = await make_tenant()
    tid, who = tenant.tenant_id, actor(tenant)
    await service.upsert_staff(tid, who, [StaffItem(code="g1", name="小张", role="guide")])
    async with tenant_unit_of_work(tid):
        g1 = await Staff.get(tenant_id=tid, code="g1")
    assert (await last_entry(tid, "staff")).entity_id == g1.id
    await service.upsert_staff(
        tid, who, [StaffItem(code="g1", name="小张", role="guide"), StaffItem(code="g2", name="小李", role="guide")]
    )
    assert (await last_entry(tid, "staff")).entity_id is None
