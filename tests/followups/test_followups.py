"""Missed follow-ups against the real database: exact at the 24-hour boundary, idempotent across runs, dated at the
deadline, counted by a per_event penalty, referenced by a complaint; another tenant's rules and events stay apart."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.followups.service import GRACE, detect_missed
from tenants.grading import service as grading
from tenants.periods.simulate import simulate
from tenants.schemes import service as schemes
from tenants.tenancy.identity import TenantId
from tests.conftest import TenantFactory
from tests.factories import add_customer, add_staff
from tests.grading.support import order, send

RULES = {"follow_up": [{"after": "order", "needs": "follow_up_done", "within_hours": 24}]}
ORDERED = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DEADLINE = ORDERED + timedelta(hours=24)
AFTER_DEADLINE = DEADLINE + GRACE + timedelta(seconds=1)


def follow_up(external_id: str, at: datetime, staff: str = "g1", customer: str = "c1") -> dict[str, Any]:
    return {
        "externalId": external_id,
        "type": "follow_up_done",
        "occurredAt": at.isoformat(),
        "staff": staff,
        "customer": customer,
    }


async def missed_events(tenant_id: TenantId) -> list[tuple[str, str, datetime, str, str | None, Any]]:
    async with tenant_unit_of_work(tenant_id) as conn:
        rows = await conn.execute_query_dict(
            "SELECT e.external_id, e.type, e.occurred_at, s.code AS staff, cu.code AS customer, e.attributes "
            "FROM event e JOIN staff s ON s.id = e.staff_id AND s.tenant_id = e.tenant_id "
            "LEFT JOIN customer cu ON cu.id = e.customer_id AND cu.tenant_id = e.tenant_id "
            "WHERE e.type = 'follow_up_missed' ORDER BY e.external_id"
        )
    return [(r["external_id"], r["type"], r["occurred_at"], r["staff"], r["customer"], r["attributes"]) for r in rows]


async def onboard(make_tenant: TenantFactory) -> TenantId:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    await add_staff(tid, "g2")
    for code in ("c1", "c2", "c3", "c4"):
        await add_customer(tid, code)
    await grading.save_service_rules(tid, SYSTEM, RULES)
    return tid


async def test_exact_at_the_24_hour_boundary(make_tenant: TenantFactory) -> None:
    """A follow-up exactly at the deadline is in time; one a second after its deadline, or by another staff member,
    is not; an order without a follow-up is missed, dated at its deadline. (A follow-up covers every order of the same
    staff member and customer whose window it falls in, so each case has a customer of its own.)"""
    tid = await onboard(make_tenant)
    at = ORDERED.isoformat()
    await send(
        tid,
        [
            order("on-time", "c1", "10.00", at),
            follow_up("f-on-time", DEADLINE),
            order("late", "c2", "10.00", (ORDERED + timedelta(minutes=1)).isoformat()),
            follow_up("f-late", DEADLINE + timedelta(minutes=1, seconds=1), customer="c2"),
            order("other-staff", "c3", "10.00", at, staff="g2"),
            follow_up("f-other-staff", DEADLINE - timedelta(hours=1), customer="c3"),  # by g1, not g2
            order("none", "c4", "10.00", (ORDERED + timedelta(minutes=2)).isoformat()),
        ],
    )
    # At the deadline (plus grace) of "none" itself, it is not overdue yet; the two others are.
    early = await detect_missed(tid, ORDERED + timedelta(minutes=2) + timedelta(hours=24) + GRACE)
    assert early.emitted == 2

    outcome = await detect_missed(tid, AFTER_DEADLINE + timedelta(minutes=2))
    assert outcome.emitted == 1
    missed = await missed_events(tid)
    assert [(m[0], m[2], m[3], m[4]) for m in missed] == [
        ("fum:follow_up_done:late", DEADLINE + timedelta(minutes=1), "g1", "c2"),
        ("fum:follow_up_done:none", DEADLINE + timedelta(minutes=2), "g1", "c4"),
        ("fum:follow_up_done:other-staff", DEADLINE, "g2", "c3"),
    ]
    assert json.loads(missed[0][5]) == {"follow_up_of": "late", "needs": "follow_up_done", "within_hours": 24}


async def test_running_twice_emits_nothing_new(make_tenant: TenantFactory) -> None:
    tid = await onboard(make_tenant)
    await send(tid, [order(f"o{i}", "c1", "10.00", ORDERED.isoformat()) for i in range(3)])
    first = await detect_missed(tid, AFTER_DEADLINE)
    second = await detect_missed(tid, AFTER_DEADLINE + timedelta(days=1))
    assert (first.emitted, second.emitted, second.duplicates) == (3, 0, 0)
    assert len(await missed_events(tid)) == 3


async def test_an_order_whose_id_is_too_long_to_embed_is_handled_once(make_tenant: TenantFactory) -> None:
    """A missed follow-up of a 128-character order id is named by the id's SHA-256: the next run knows it is handled
    (it used to select it again and again, a duplicate each run, so 5,000 of them hid every later order)."""
    tid = await onboard(make_tenant)
    long_ids = ["o" * 128, "订" * 110]  # lengths in characters, hashes of the UTF-8 bytes, as in Python
    await send(tid, [order(long_id, f"c{n}", "10.00", ORDERED.isoformat()) for n, long_id in enumerate(long_ids, 1)])
    first = await detect_missed(tid, AFTER_DEADLINE)
    second = await detect_missed(tid, AFTER_DEADLINE + timedelta(days=1))
    assert (first.emitted, second.emitted, second.duplicates) == (2, 0, 0)
    assert sorted(m[0] for m in await missed_events(tid)) == sorted(
        "fum:follow_up_done:#" + hashlib.sha256(long_id.encode()).hexdigest() for long_id in long_ids
    )


async def test_no_rules_no_missed_follow_ups_and_tenants_stay_apart(make_tenant: TenantFactory) -> None:
    tid = await onboard(make_tenant)
    other = await make_tenant()
    await add_staff(other.tenant_id, "g1")
    await add_customer(other.tenant_id, "c1")
    await send(other.tenant_id, [order("o1", "c1", "10.00", ORDERED.isoformat())])
    await send(tid, [order("o1", "c1", "10.00", ORDERED.isoformat())])
    assert (await detect_missed(other.tenant_id, AFTER_DEADLINE)).emitted == 0  # the other tenant has no rules
    assert (await detect_missed(tid, AFTER_DEADLINE)).emitted == 1
    assert await missed_events(other.tenant_id) == []
    assert [m[0] for m in await missed_events(tid)] == ["fum:follow_up_done:o1"]


async def test_per_event_penalties_count_missed_follow_ups_and_complaints_that_reference_them(
    make_tenant: TenantFactory,
) -> None:
    tid = await onboard(make_tenant)
    await send(tid, [order("o1", "c1", "10.00", ORDERED.isoformat()), order("o2", "c1", "5.00", ORDERED.isoformat())])
    await detect_missed(tid, AFTER_DEADLINE)
    await send(
        tid,
        [
            {
                "externalId": "complaint-1",
                "type": "complaint",
                "occurredAt": "2026-10-08T12:00:00+08:00",
                "staff": "g1",
                "customer": "c1",
                "attributes": {"caused_by_follow_up": True, "missed_follow_up": "fum:follow_up_done:o1"},
            }
        ],
    )
    config = {
        "cycle": "month",
        "metrics": [{"key": "sales", "aggregate": "sum_amount", "events": ["order"], "target": 100, "weight": 100}],
        "penalties": [
            {"key": "missed", "type": "per_event", "events": ["follow_up_missed"], "amount": 100},
            {
                "key": "complaint",
                "type": "per_event",
                "events": ["complaint"],
                "filter": {"caused_by_follow_up": True},
                "amount": 200,
            },
        ],
    }
    scheme = await schemes.create_scheme(tid, SYSTEM, "service")
    draft = await schemes.save_draft(tid, SYSTEM, scheme.id, config)
    await schemes.publish_version(tid, SYSTEM, draft.id, date(2026, 10, 1))
    _, result = await simulate(tid, scheme.id, "2026-10")
    card = next(card for card in result.scorecards if card.staff_code == "g1")
    lines = {line.rule_key: line.amount for line in card.lines}
    assert lines["missed"] == Decimal("-200.00")
    assert lines["complaint"] == Decimal("-200.00")
