"""Credits resolved at ingestion flow into the close: an O2O order split 0.3/0.7 is in both staff members' credited
sales and its refund claws back from both; a bound customer's orders inside and outside the protection window; a
rebinding moves only later orders (late events and reattributions keep the binding of their own time)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from tenants.attribution import service
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.periods.close import close_period
from tenants.staff.models import Customer
from tests.attribution.helpers import O2O, credited_scheme, lines, metric_values, order, refund, store, stored
from tests.conftest import TenantFactory
from tests.factories import add_customer, add_staff

MARKED = {"channel": "offline", "lead": "online", "operator": "ops-1", "service": "cs-1"}


async def test_an_o2o_order_credits_both_and_its_refund_claws_back_from_both(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    clerk = await add_staff(tid, "clerk")
    ops = await add_staff(tid, "ops-1", role="operations")
    cs = await add_staff(tid, "cs-1", role="customer_service")
    await service.save_rules(tid, SYSTEM, O2O, date(2026, 1, 1))
    scheme_id = await credited_scheme(tid)
    await store(
        tid,
        order("o2o-1", at="2026-09-05T10:00:00+08:00", staff="clerk", amount="10000.00", attributes=MARKED),
        # Not moved offline (lead is not online): the actor.
        order(
            "plain-1",
            at="2026-09-05T10:00:00+08:00",
            staff="clerk",
            amount="1000.00",
            attributes={**MARKED, "lead": "store"},
        ),
        # A split naming a staff code that does not exist: the rule does not apply, the actor.
        order(
            "o2o-unknown",
            at="2026-09-05T10:00:00+08:00",
            staff="clerk",
            amount="100.00",
            attributes={**MARKED, "service": "nobody"},
        ),
    )
    o2o = await stored(tid, "o2o-1")
    assert (o2o.credit_staff_ids, o2o.credit_shares) == ([ops.id, cs.id], [Decimal("0.3"), Decimal("0.7")])
    await close_period(tid, scheme_id, "2026-09")
    assert await metric_values(tid, scheme_id, "2026-09", 1) == {
        clerk.id: "1100.00",
        ops.id: "3000.00",
        cs.id: "7000.00",
    }
    assert await lines(tid, scheme_id, "2026-09", 1, "commission") == {
        clerk.id: "110.00",
        ops.id: "300.00",
        cs.id: "700.00",
    }
    # The refund in October, sent by the clerk without credits: credited like its order, a clawback from both.
    await store(
        tid,
        refund("o2o-1-refund", "o2o-1", "-1000.00", at="2026-10-03T10:00:00+08:00", staff="clerk"),
        order("o2o-2", at="2026-10-04T10:00:00+08:00", staff="clerk", amount="2000.00", attributes=MARKED),
    )
    back = await stored(tid, "o2o-1-refund")
    assert (back.credit_staff_ids, back.credit_shares) == ([ops.id, cs.id], [Decimal("0.3"), Decimal("0.7")])
    await close_period(tid, scheme_id, "2026-10")
    # October: the new order's 600.00 / 1,400.00 less the clawback 300.00 / 700.00.
    assert await metric_values(tid, scheme_id, "2026-10", 1) == {clerk.id: "0.00", ops.id: "300.00", cs.id: "700.00"}
    october = await lines(tid, scheme_id, "2026-10", 1, "commission")
    assert (october[ops.id], october[cs.id]) == ("30.00", "70.00")


async def test_a_bound_customer_inside_and_outside_the_window_and_a_rebinding(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    clerk = await add_staff(tid, "clerk")
    first_guide = await add_staff(tid, "guide-a")
    second_guide = await add_staff(tid, "guide-b")
    await service.save_rules(tid, SYSTEM, {"exclusive_guide": {"protection_days": 30}}, date(2026, 1, 1))
    since = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    customer = await add_customer(tid, "vip", guide_staff_id=first_guide.id, bound_since=since)
    await store(
        tid,
        order("before-binding", at="2026-10-01T09:59:59+08:00", staff="clerk", customer="vip", amount="1.00"),
        order("at-binding", at="2026-10-01T10:00:00+08:00", staff="clerk", customer="vip", amount="1.00"),
        order("last-second", at="2026-10-31T09:59:59+08:00", staff="clerk", customer="vip", amount="1.00"),
        order("window-over", at="2026-10-31T10:00:00+08:00", staff="clerk", customer="vip", amount="1.00"),
    )
    credited = {
        e: (await stored(tid, e)).credit_staff_ids
        for e in ("before-binding", "at-binding", "last-second", "window-over")
    }
    assert credited == {
        "before-binding": [clerk.id],
        "at-binding": [first_guide.id],
        "last-second": [first_guide.id],
        "window-over": [clerk.id],
    }
    # Rebinding on 11-05 (the merchant's master data change): later orders go to the new guide, earlier ones stay.
    rebound = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
    async with tenant_unit_of_work(tid):
        await Customer.filter(tenant_id=tid, id=customer.id).update(guide_staff_id=second_guide.id, bound_since=rebound)
    await store(
        tid,
        order("after-rebinding", at="2026-11-06T10:00:00+08:00", staff="clerk", customer="vip", amount="1.00"),
        # Arrives late, but happened while the first guide was bound: the first guide's.
        order("late-before-rebinding", at="2026-10-20T10:00:00+08:00", staff="clerk", customer="vip", amount="1.00"),
    )
    assert (await stored(tid, "after-rebinding")).credit_staff_ids == [second_guide.id]
    assert (await stored(tid, "late-before-rebinding")).credit_staff_ids == [first_guide.id]
    assert (await stored(tid, "at-binding")).credit_staff_ids == [first_guide.id]  # stored credits never move
    # A reattribution derives the same: each order by the binding of its time.
    result = await service.reattribute(tid, SYSTEM, date(2026, 10, 1), date(2026, 11, 30))
    assert (result.events_examined, result.events_changed) == (6, 0)
    # Unbinding (recorded now): orders after it go to the actor again.
    async with tenant_unit_of_work(tid):
        await Customer.filter(tenant_id=tid, id=customer.id).update(guide_staff_id=None, bound_since=None)
    await store(
        tid, order("after-unbinding", at="2026-12-01T10:00:00+08:00", staff="clerk", customer="vip", amount="1.00")
    )
    assert (await stored(tid, "after-unbinding")).credit_staff_ids == [clerk.id]
