"""A large order counts only once a manager confirms it; confirming into a closed period makes it stale and the
re-close reads the whole period again (the order is older than the close's watermark)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.events.models import Event
from tenants.events.service import ingest
from tenants.periods.close import close_period
from tenants.periods.models import LedgerLine, Period, Scorecard
from tenants.staff.models import Staff
from tenants.tenancy.auth import Role
from tenants.tenancy.models import Tenant
from tests.conftest import GraphQL, TenantFactory

CONFIRM = "mutation($ids: [String!]!) { confirmLargeOrders(externalIds: $ids) { confirmed notPending } }"


async def test_confirmed_large_order_reaches_a_closed_period(
    make_tenant: TenantFactory, gql: GraphQL, login: Any
) -> None:
    # An admin: the worked example's staff belong to no team, so no manager's scope holds them.
    tenant = await make_tenant(role=Role.ADMIN)
    tid = tenant.tenant_id
    async with platform_unit_of_work():
        await Tenant.filter(id=tid).update(settings={"large_order_threshold": "30000"})
    scheme_id = await seed_worked_example(tid)
    big = {
        "externalId": "big-1",
        "type": "order",
        "occurredAt": "2026-10-20T12:00:00+08:00",
        "staff": "guide-003",
        "amount": "30000.00",
    }
    assert (await ingest(tid, [(0, big)])).accepted == 1
    await close_period(tid, scheme_id, PERIOD)
    async with tenant_unit_of_work(tid):
        zhang = await Staff.get(tenant_id=tid, code="guide-003")
        card = await Scorecard.get(tenant_id=tid, staff_id=zhang.id, revision=1)
    sales = next(m for m in card.metrics if m["key"] == "sales")
    assert sales["value"] == "10000.00"  # the pending order did not count

    token = await login(tenant.admin_email)
    other = await make_tenant()
    other_token = await login(other.admin_email)
    refused = (await gql(CONFIRM, {"ids": ["big-1"]}, other_token))["data"]["confirmLargeOrders"]
    assert refused == {"confirmed": [], "notPending": ["big-1"]}
    done = (await gql(CONFIRM, {"ids": ["big-1", "nope"]}, token))["data"]["confirmLargeOrders"]
    assert done == {"confirmed": ["big-1"], "notPending": ["nope"]}
    async with tenant_unit_of_work(tid):
        assert (await Event.get(tenant_id=tid, external_id="big-1")).status == "counted"
        period = await Period.get(tenant_id=tid, scheme_id=scheme_id, key=PERIOD)
    assert (period.state, period.watermark_event_id) == ("stale", None)
    outcome = await close_period(tid, scheme_id, PERIOD)
    assert (outcome.revision, outcome.incremental) == (2, False)
    async with tenant_unit_of_work(tid):
        adjustments = await LedgerLine.filter(tenant_id=tid, revision=2, rule_key="commission")
    # 小张: sales 40,000 -> score capped at 150 -> total 40 + 0 + 45 = 85 passes the gate:
    # 10,000 x 3% + 30,000 x 5% = 1,800.00, all of it an adjustment of revision 2.
    assert [line.amount for line in adjustments] == [Decimal("1800.00")]
