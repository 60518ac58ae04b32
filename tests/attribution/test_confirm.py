"""Large orders: pending until a manager in scope confirms them (optionally with other credits); confirmed into a
closed period, that period is stale and its re-close posts exactly the delta. pendingAttributions is paged and scoped;
wrong roles and other tenants change nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from starlette.applications import Starlette

from tenants.access.service import link_staff_user
from tenants.attribution import service
from tenants.audit.models import AuditEntry
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.events.confirmation import confirm_large_orders
from tenants.periods.close import close_period
from tenants.tenancy.auth import Role
from tests.attribution.helpers import (
    CONFIRM,
    PENDING,
    credited_scheme,
    lines,
    metric_values,
    order,
    period_state,
    refund,
    store,
    stored,
)
from tests.conftest import GraphQL, TenantFactory
from tests.factories import add_staff, add_team
from tests.grading.support import member

Login = Callable[..., Awaitable[str]]


async def test_a_large_order_confirmed_into_a_closed_period(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    north = await add_team(tid, "north")
    await add_team(tid, "south")
    clerk = await add_staff(tid, "clerk", team_id=north.id)
    ops = await add_staff(tid, "ops-1", role="operations", team_id=north.id)
    cs = await add_staff(tid, "cs-1", role="customer_service", team_id=north.id)
    await service.save_rules(tid, SYSTEM, {"large_order_threshold": "5000"}, date(2026, 1, 1))
    scheme_id = await credited_scheme(tid)
    await store(
        tid,
        order("small", at="2026-09-05T10:00:00+08:00", staff="clerk", amount="1000.00"),
        order("big", at="2026-09-06T10:00:00+08:00", staff="clerk", amount="8000.00"),
        refund("big-refund", "big", "-800.00", at="2026-09-07T10:00:00+08:00", staff="clerk"),
    )
    assert [(await stored(tid, e)).status for e in ("small", "big", "big-refund")] == ["counted", "pending", "pending"]
    await close_period(tid, scheme_id, "2026-09")
    assert await metric_values(tid, scheme_id, "2026-09", 1) == {clerk.id: "1000.00", ops.id: "0.00", cs.id: "0.00"}
    assert (await lines(tid, scheme_id, "2026-09", 1, "commission"))[clerk.id] == "100.00"

    # Scoped lists: the admin and north's manager see it; south's manager, a staff login and another tenant do not.
    admin = await login(tenant.admin_email)
    north_manager = await login(await member(tid, Role.MANAGER, teams=["north"]))
    south_manager = await login(await member(tid, Role.MANAGER, teams=["south"]))
    staff_login = await login(await member(tid, Role.STAFF))
    other_tenant = await login((await make_tenant()).admin_email)
    listed = (await gql(PENDING, {}, admin))["data"]["pendingAttributions"]
    big = await stored(tid, "big")
    assert listed == {
        "total": 1,
        "items": [
            {
                "eventId": str(big.id),
                "externalId": "big",
                "amount": "8000.00",
                "staffCode": "clerk",
                "customerCode": None,
                "credits": [{"staffCode": "clerk", "teamCode": None, "share": "1.000000"}],
            }
        ],
    }
    assert (await gql(PENDING, {}, north_manager))["data"]["pendingAttributions"]["total"] == 1
    for outsider in (south_manager, staff_login, other_tenant):
        assert (await gql(PENDING, {}, outsider))["data"]["pendingAttributions"] == {"total": 0, "items": []}

    credits = [{"staff": "ops-1", "share": "0.25"}, {"staff": "cs-1", "share": "0.75"}]
    # Refused, nothing changed: another team's manager and another tenant (not found), a staff login (forbidden),
    # bad credits (coded), an unknown staff code.
    for outsider in (south_manager, other_tenant):
        answer = (await gql(CONFIRM, {"id": str(big.id), "credits": credits}, outsider))["data"]["confirmAttribution"]
        assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"]
    assert (await gql(CONFIRM, {"id": str(big.id)}, staff_login))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = [
        ([{"staff": "ops-1", "share": "0.25"}], "SHARES_NOT_1", "credits"),
        ([{"staff": "ops-1", "share": "0." + "1" * 30}], "INVALID_CREDITS", "credits[0].share"),
        ([{"staff": "ops-1", "share": "1e309"}], "INVALID_CREDITS", "credits[0].share"),
        ([{"staff": "ops-1", "team": "north", "share": "1"}], "INVALID_CREDITS", "credits[0]"),
        ([{"staff": "nobody", "share": "1"}], "UNKNOWN_STAFF", "credits[0].staff"),
        ([{"team": "nowhere", "share": "1"}], "UNKNOWN_TEAM", "credits[0].team"),
    ]
    for given, code, field in bad:
        answer = (await gql(CONFIRM, {"id": str(big.id), "credits": given}, admin))["data"]["confirmAttribution"]
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [(code, field)], given
    assert (await stored(tid, "big")).status == "pending"
    assert await period_state(tid, scheme_id, "2026-09") == "closed"

    done = (await gql(CONFIRM, {"id": str(big.id), "credits": credits}, north_manager))["data"]["confirmAttribution"]
    assert done == {
        "__typename": "AttributionConfirmed",
        "externalId": "big",
        "creditsEdited": True,
        "refundsConfirmed": 1,
    }
    confirmed, its_refund = await stored(tid, "big"), await stored(tid, "big-refund")
    assert (confirmed.status, confirmed.credit_staff_ids, confirmed.credits_edited) == (
        "counted",
        [ops.id, cs.id],
        True,
    )
    assert (its_refund.status, its_refund.credit_staff_ids) == ("counted", [ops.id, cs.id])
    assert await period_state(tid, scheme_id, "2026-09") == "stale"
    again = (await gql(CONFIRM, {"id": str(big.id)}, admin))["data"]["confirmAttribution"]
    assert [e["code"] for e in again["errors"]] == ["NOT_PENDING"]

    outcome = await close_period(tid, scheme_id, "2026-09")
    assert outcome.revision == 2
    # ops: 8,000 x 0.25 - 800 x 0.25 = 1,800.00; cs: 6,000.00 - 600.00 = 5,400.00; the clerk unchanged.
    assert await metric_values(tid, scheme_id, "2026-09", 2) == {
        clerk.id: "1000.00",
        ops.id: "1800.00",
        cs.id: "5400.00",
    }
    adjustments = await lines(tid, scheme_id, "2026-09", 2, "commission")
    assert (adjustments[ops.id], adjustments[cs.id]) == ("180.00", "540.00")
    assert adjustments.get(clerk.id, "0.00") == "0.00"
    async with tenant_unit_of_work(tid):
        audit = await AuditEntry.get(tenant_id=tid, action="attribution.confirm")
    assert (audit.entity_id, audit.before["status"], audit.after["edited"]) == (big.id, "pending", True)
    assert audit.after["credits"]["shares"] == ["0.25", "0.75"]


async def test_pending_attributions_are_paged(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "clerk")
    await service.save_rules(tid, SYSTEM, {"large_order_threshold": "10"}, date(2026, 1, 1))
    await store(
        tid,
        *(order(f"big-{n}", at=f"2026-10-0{n + 1}T10:00:00+08:00", staff="clerk", amount="10.00") for n in range(5)),
    )
    token = await login(tenant.admin_email)
    page = (await gql(PENDING, {"limit": 2, "offset": 2}, token))["data"]["pendingAttributions"]
    assert page["total"] == 5
    assert [item["externalId"] for item in page["items"]] == ["big-2", "big-3"]
    # Confirmed as they are (no credits): the actor keeps them, not edited.
    first = await stored(tid, "big-0")
    done = (await gql(CONFIRM, {"id": str(first.id)}, token))["data"]["confirmAttribution"]
    assert done["creditsEdited"] is False
    assert (await stored(tid, "big-0")).credits_edited is False
    assert (await gql(PENDING, {}, token))["data"]["pendingAttributions"]["total"] == 4
    nonsense = (await gql(CONFIRM, {"id": "not-an-id"}, token))["data"]["confirmAttribution"]
    assert [e["code"] for e in nonsense["errors"]] == ["NOT_FOUND"]


async def test_confirm_large_orders_keeps_to_the_callers_scope(
    make_tenant: TenantFactory, login: Login, app: Starlette
) -> None:
    """confirmLargeOrders' service, given the caller, confirms only orders in its scope (DESIGN: "confirmations in
    scope"); without a caller (the system) it confirms any."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    north = await add_team(tid, "north")
    await add_team(tid, "south")
    await add_staff(tid, "clerk", team_id=north.id)
    await service.save_rules(tid, SYSTEM, {"large_order_threshold": "10"}, date(2026, 1, 1))
    await store(tid, order("big-a", staff="clerk", amount="10.00"), order("big-b", staff="clerk", amount="10.00"))
    south = await app.state.auth.authenticate(await login(await member(tid, Role.MANAGER, teams=["south"])))
    north_manager = await app.state.auth.authenticate(await login(await member(tid, Role.MANAGER, teams=["north"])))
    refused = await confirm_large_orders(tid, SYSTEM, ["big-a"], south)
    assert (refused.confirmed, refused.not_pending) == ([], ["big-a"])
    assert (await stored(tid, "big-a")).status == "pending"
    done = await confirm_large_orders(tid, SYSTEM, ["big-a"], north_manager)
    assert done.confirmed == ["big-a"]
    assert (await confirm_large_orders(tid, SYSTEM, ["big-b"])).confirmed == ["big-b"]


async def test_a_staff_login_sees_only_its_own_pending_orders(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "clerk")
    await add_staff(tid, "other")
    await service.save_rules(tid, SYSTEM, {"large_order_threshold": "10"}, date(2026, 1, 1))
    await store(tid, order("mine", staff="clerk", amount="10.00"), order("theirs", staff="other", amount="10.00"))
    email = await member(tid, Role.STAFF)
    async with tenant_unit_of_work(tid) as conn:
        [user] = await conn.execute_query_dict("SELECT user_id FROM membership ORDER BY user_id DESC LIMIT 1")
    await link_staff_user(tid, SYSTEM, "clerk", user["user_id"])
    token = await login(email)
    listed = (await gql(PENDING, {}, token))["data"]["pendingAttributions"]
    assert (listed["total"], [item["externalId"] for item in listed["items"]]) == (1, ["mine"])
    mine = await stored(tid, "mine")
    # Seeing is not confirming: a staff login may not confirm its own order.
    assert (await gql(CONFIRM, {"id": str(mine.id)}, token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await stored(tid, "mine")).status == "pending"
