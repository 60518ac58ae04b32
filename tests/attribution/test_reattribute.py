"""reattribute(from, to): the rule-resolved credits of a range derived again under the rules now in force, set-based,
audited, idempotent; sent and manager-set credits stay; refunds follow their orders; closed periods touched go stale;
an admin only, and only the caller's tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal

from tenants.attribution import service
from tenants.audit.models import AuditEntry
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.periods.close import close_period
from tenants.tenancy.auth import Role
from tests.attribution.helpers import (
    O2O,
    REATTRIBUTE,
    credited_scheme,
    lines,
    order,
    period_state,
    refund,
    store,
    stored,
)
from tests.conftest import GraphQL, TenantFactory
from tests.factories import add_staff

Login = Callable[..., Awaitable[str]]
MARKED = {"channel": "offline", "lead": "online", "operator": "ops-1", "service": "cs-1"}


async def test_reattribute_is_audited_idempotent_and_marks_closed_periods_stale(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    clerk = await add_staff(tid, "clerk")
    ops = await add_staff(tid, "ops-1")
    cs = await add_staff(tid, "cs-1")
    scheme_id = await credited_scheme(tid)
    # Stored before the O2O rule existed: credited to the actor.
    await store(
        tid,
        order("sep-o2o", at="2026-09-10T10:00:00+08:00", staff="clerk", amount="1000.00", attributes=MARKED),
        order("oct-o2o", at="2026-10-10T10:00:00+08:00", staff="clerk", amount="2000.00", attributes=MARKED),
        refund("oct-o2o-refund", "oct-o2o", "-500.00", at="2026-10-11T10:00:00+08:00", staff="clerk"),
        order(
            "oct-sent",
            at="2026-10-12T10:00:00+08:00",
            staff="clerk",
            amount="300.00",
            attributes=MARKED,
            credits=[{"staff": "clerk", "share": "1"}],
        ),
    )
    await close_period(tid, scheme_id, "2026-09")
    await close_period(tid, scheme_id, "2026-10")
    assert (await stored(tid, "oct-o2o")).credit_staff_ids == [clerk.id]
    # The rule, effective from the start: only events ingested later, or a reattribution, use it.
    await service.save_rules(tid, SYSTEM, O2O, date(2026, 1, 1))
    assert (await stored(tid, "oct-o2o")).credit_staff_ids == [clerk.id]

    token = await login(tenant.admin_email)
    done = (await gql(REATTRIBUTE, {"from": "2026-10-01", "to": "2026-10-31"}, token))["data"]["reattribute"]
    assert done == {"__typename": "Reattribution", "eventsExamined": 1, "eventsChanged": 1, "refundsChanged": 1}
    o2o, back, sent, september = [await stored(tid, e) for e in ("oct-o2o", "oct-o2o-refund", "oct-sent", "sep-o2o")]
    assert (o2o.credit_staff_ids, o2o.credit_shares) == ([ops.id, cs.id], [Decimal("0.3"), Decimal("0.7")])
    assert back.credit_staff_ids == [ops.id, cs.id]  # the refund follows its order
    assert sent.credit_staff_ids == [clerk.id]  # sent credits stay
    assert september.credit_staff_ids == [clerk.id]  # outside the range
    assert await period_state(tid, scheme_id, "2026-10") == "stale"
    assert await period_state(tid, scheme_id, "2026-09") == "closed"
    # The re-close moves the commission: clerk -150.00, ops +45.00, cs +105.00 (1,500.00 net at 10%).
    await close_period(tid, scheme_id, "2026-10")
    delta = await lines(tid, scheme_id, "2026-10", 2, "commission")
    assert (delta[clerk.id], delta[ops.id], delta[cs.id]) == ("-150.00", "45.00", "105.00")

    again = (await gql(REATTRIBUTE, {"from": "2026-10-01", "to": "2026-10-31"}, token))["data"]["reattribute"]
    assert again == {"__typename": "Reattribution", "eventsExamined": 1, "eventsChanged": 0, "refundsChanged": 0}
    assert await period_state(tid, scheme_id, "2026-10") == "closed"  # nothing changed: nothing stale
    async with tenant_unit_of_work(tid):
        audit = await AuditEntry.filter(tenant_id=tid, action="attribution.reattribute").order_by("id")
    assert [(a.actor_user_id, a.after["events_changed"], a.after["refunds_changed"]) for a in audit] == [
        (tenant.admin_user_id, 1, 1),
        (tenant.admin_user_id, 0, 0),
    ]
    assert audit[0].after["from"] == "2026-10-01"


async def test_reattribute_refuses_wrong_roles_bad_ranges_and_other_tenants(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    clerk = await add_staff(tid, "clerk")
    await add_staff(tid, "ops-1")
    await add_staff(tid, "cs-1")
    await store(tid, order("o", at="2026-10-10T10:00:00+08:00", staff="clerk", amount="1.00", attributes=MARKED))
    await service.save_rules(tid, SYSTEM, O2O, date(2026, 1, 1))
    token = await login(tenant.admin_email)
    bad = (await gql(REATTRIBUTE, {"from": "2026-10-31", "to": "2026-10-01"}, token))["data"]["reattribute"]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", "to")]
    bad = (await gql(REATTRIBUTE, {"from": "0001-01-01", "to": "2026-10-01"}, token))["data"]["reattribute"]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", "from")]
    for role in (Role.MANAGER, Role.STAFF):
        member = await make_tenant(role=role)
        refused = await gql(REATTRIBUTE, {"from": "2026-10-01", "to": "2026-10-31"}, await login(member.admin_email))
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Another tenant's admin reattributes its own (empty) tenant: this tenant's events stay as they are.
    other = await make_tenant()
    theirs = await gql(REATTRIBUTE, {"from": "2026-10-01", "to": "2026-10-31"}, await login(other.admin_email))
    assert theirs["data"]["reattribute"]["eventsExamined"] == 0
    assert (await stored(tid, "o")).credit_staff_ids == [clerk.id]
