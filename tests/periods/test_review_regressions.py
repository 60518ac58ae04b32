"""Regressions found in review: each of these once posted wrong money."""

from __future__ import annotations

import asyncio
import os
from datetime import date
from decimal import Decimal
from typing import Any

from tenants.audit.service import SYSTEM
from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.events.confirmation import confirm_large_orders
from tenants.events.models import Event
from tenants.events.service import ingest
from tenants.periods.close import close_period
from tenants.periods.models import LedgerLine, Period
from tenants.periods.simulate import simulate
from tenants.schemes import service as schemes
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Tenant
from tests.conftest import TenantFactory
from tests.factories import add_staff, add_team


def event(external_id: str, kind: str, staff: str, **extra: Any) -> dict[str, Any]:
    return {"externalId": external_id, "type": kind, "occurredAt": "2026-10-10T10:00:00+08:00", "staff": staff, **extra}


async def posted_by_rule(tenant_id: TenantId) -> dict[str, Decimal]:
    async with tenant_unit_of_work(tenant_id):
        lines = await LedgerLine.filter(tenant_id=tenant_id)
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.rule_key] = totals.get(line.rule_key, Decimal(0)) + line.amount
    return totals


async def publish(tenant_id: TenantId, config: dict[str, Any]) -> int:
    scheme = await schemes.create_scheme(tenant_id, SYSTEM, "review")
    draft = await schemes.save_draft(tenant_id, SYSTEM, scheme.id, config)
    await schemes.publish_version(tenant_id, SYSTEM, draft.id, date(2026, 10, 1))
    return int(scheme.id)


async def test_unchanged_reclose_keeps_its_watermark(make_tenant: TenantFactory) -> None:
    """A re-close whose scores did not move must still count the events it saw in later re-closes."""
    tid = (await make_tenant()).tenant_id
    await add_staff(tid, "g1")
    scheme_id = await publish(
        tid,
        {
            "cycle": "month",
            "metrics": [{"key": "calls", "aggregate": "count", "events": ["call"], "target": 2, "weight": 100}],
            "rewards": [{"key": "ladder", "type": "ladder", "metric": "calls", "steps": [{"min": 4, "amount": 100}]}],
        },
    )
    assert (await ingest(tid, enumerate([event("c1", "call", "g1"), event("c2", "call", "g1")]))).accepted == 2
    await close_period(tid, scheme_id, "2026-10")
    for call in ("c3", "c4"):  # the score is capped after c2: only the ladder notices c4
        assert (await ingest(tid, [(0, event(call, "call", "g1"))])).accepted == 1
        await close_period(tid, scheme_id, "2026-10")
    _, full = await simulate(tid, scheme_id, "2026-10")
    assert [line.amount for line in full.scorecards[0].lines] == [Decimal("100.00")]
    assert (await posted_by_rule(tid))["ladder"] == Decimal("100.00")


async def test_confirming_during_a_close_is_not_lost(make_tenant: TenantFactory) -> None:
    tid = (await make_tenant()).tenant_id
    async with platform_unit_of_work():
        await Tenant.filter(id=tid).update(settings={"large_order_threshold": "1000"})
    await add_staff(tid, "g1")
    scheme_id = await publish(
        tid,
        {
            "cycle": "month",
            "metrics": [{"key": "sales", "aggregate": "sum_amount", "events": ["order"], "target": 100, "weight": 100}],
            "rewards": [{"key": "comm", "type": "commission", "base": "sales", "mode": "flat", "rate": 0.1}],
        },
    )
    orders = [event("o1", "order", "g1", amount="100.00"), event("big", "order", "g1", amount="5000.00")]
    assert (await ingest(tid, enumerate(orders))).accepted == 2
    os.environ["KAOHE_FAULT_CLOSE_DELAY_SECONDS"] = "1.0"
    try:
        closing = asyncio.create_task(close_period(tid, scheme_id, "2026-10"))
        await asyncio.sleep(0.5)
        confirmed = await asyncio.wait_for(confirm_large_orders(tid, SYSTEM, ["big"]), 10)
        await closing
    finally:
        del os.environ["KAOHE_FAULT_CLOSE_DELAY_SECONDS"]
    assert confirmed.confirmed == ["big"]
    async with tenant_unit_of_work(tid):
        period = await Period.get(tenant_id=tid, scheme_id=scheme_id, key="2026-10")
    assert period.state == "stale"  # the confirmation waited for the close, then made it stale
    await close_period(tid, scheme_id, "2026-10")
    assert (await posted_by_rule(tid))["comm"] == Decimal("510.00")


async def test_team_pool_takes_only_the_team_share(make_tenant: TenantFactory) -> None:
    tid = (await make_tenant()).tenant_id
    team = await add_team(tid, "T")
    await add_staff(tid, "g1", team_id=team.id)
    scheme_id = await publish(
        tid,
        {
            "cycle": "month",
            "metrics": [
                {
                    "key": "sales",
                    "aggregate": "sum_amount",
                    "events": ["order"],
                    "credit": "credited",
                    "target": 100,
                    "weight": 100,
                }
            ],
            "rewards": [
                {
                    "key": "pool",
                    "type": "team_pool",
                    "metric": "sales",
                    "steps": [{"min": 1000, "amount": 100}],
                    "split": "equal",
                }
            ],
        },
    )
    split = event(
        "o1", "order", "g1", amount="800.00", credits=[{"staff": "g1", "share": "0.5"}, {"team": "T", "share": "0.5"}]
    )
    two_teams = event(
        "o2", "order", "g1", amount="10.00", credits=[{"team": "T", "share": "0.5"}, {"team": "T", "share": "0.5"}]
    )
    result = await ingest(tid, enumerate([split, two_teams]))
    assert result.accepted == 1
    assert [(p.index, p.code) for p in result.rejected] == [(1, "CREDIT_TARGET")]
    _, full = await simulate(tid, scheme_id, "2026-10")
    # 400 credited to g1 + 400 to the pool = 800: below the 1,000 step, so no pool is paid.
    assert [line.amount for card in full.scorecards for line in card.lines] == [Decimal("0.00")]


async def test_refund_of_a_pending_order_waits_with_it(make_tenant: TenantFactory) -> None:
    tid = (await make_tenant()).tenant_id
    async with platform_unit_of_work():
        await Tenant.filter(id=tid).update(settings={"large_order_threshold": "1000"})
    await add_staff(tid, "g1")
    big = event("big", "order", "g1", amount="5000.00")
    refund_now = {**event("r1", "refund", "g1", amount="-500.00"), "attributes": {"order": "big"}}
    assert (await ingest(tid, enumerate([big, refund_now]))).accepted == 2
    refund_later = {**event("r2", "refund", "g1", amount="-100.00"), "attributes": {"order": "big"}}
    assert (await ingest(tid, [(0, refund_later)])).accepted == 1

    async def statuses() -> dict[str, str]:
        async with tenant_unit_of_work(tid):
            return {e.external_id: e.status for e in await Event.filter(tenant_id=tid)}

    assert await statuses() == {"big": "pending", "r1": "pending", "r2": "pending"}
    await confirm_large_orders(tid, SYSTEM, ["big"])
    assert await statuses() == {"big": "counted", "r1": "counted", "r2": "counted"}


async def test_refund_of_a_rejected_order_in_the_same_batch_is_rejected(make_tenant: TenantFactory) -> None:
    tid = (await make_tenant()).tenant_id
    await add_staff(tid, "g1")
    # An unknown customer no longer rejects an order (it is created from the event): an unknown staff code does.
    bad_order = event("o1", "order", "ghost", amount="100.00")
    refund = {**event("r1", "refund", "g1", amount="-10.00"), "attributes": {"order": "o1"}}
    result = await ingest(tid, enumerate([bad_order, refund]))
    assert result.accepted == 0
    assert [(p.index, p.code) for p in result.rejected] == [(0, "UNKNOWN_STAFF"), (1, "UNKNOWN_ORDER")]


async def test_the_version_in_force_sets_the_period_calendar(make_tenant: TenantFactory) -> None:
    """v1 (Shanghai) governs 2026-10 even after v2 (UTC, from December) is published."""
    tid = (await make_tenant()).tenant_id
    await add_staff(tid, "g1")
    metrics = [{"key": "sales", "aggregate": "sum_amount", "events": ["order"], "target": 100, "weight": 100}]
    scheme_id = await publish(tid, {"cycle": "month", "timezone": "Asia/Shanghai", "metrics": metrics})
    v2 = await schemes.save_draft(tid, SYSTEM, scheme_id, {"cycle": "month", "timezone": "UTC", "metrics": metrics})
    await schemes.publish_version(tid, SYSTEM, v2.id, date(2026, 12, 1))
    # 00:10 on 1 November in Shanghai is 31 October in UTC: November under v1's calendar.
    edge = {**event("edge", "order", "g1", amount="10.00"), "occurredAt": "2026-11-01T00:10:00+08:00"}
    assert (await ingest(tid, [(0, edge)])).accepted == 1
    october, result = await simulate(tid, scheme_id, "2026-10")
    assert october.starts_at.isoformat() == "2026-09-30T16:00:00+00:00"
    assert result.scorecards[0].metrics[0].value == Decimal("0.00")
    december, _ = await simulate(tid, scheme_id, "2026-12")
    assert december.starts_at.isoformat() == "2026-12-01T00:00:00+00:00"
