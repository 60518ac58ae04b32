"""Events for operators (issue 8 items 7, 8): filter by status with a total, look up by externalId, times with the
tenant's offset, a manager's scope; and the statements stay index reads on a big table."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest

from tenants.access.scope import AccessScope
from tenants.db.paging import PageRequest
from tenants.db.uow import platform_unit_of_work
from tenants.events.listing import EventFilter, EventStatus, listing_statements
from tenants.tenancy import service as tenancy
from tenants.tenancy.auth import Role, Scope
from tenants.tenancy.models import Tenant
from tests.access.support import Member, Org, add_member, make_org
from tests.conftest import GraphQL, TenantFactory

Login = Any

EVENTS = """
query($status: EventStatus, $type: String, $externalId: String, $staff: String, $from: DateTime, $to: DateTime,
      $limit: Int, $offset: Int) {
  events(status: $status, type: $type, externalId: $externalId, staff: $staff, occurredFrom: $from, occurredTo: $to,
         limit: $limit, offset: $offset) {
    total limit offset items { externalId type status staffCode teamCode occurredAt receivedAt amount }
  }
}
"""
ITEMS_ONLY = "query($status: EventStatus) { events(status: $status) { items { externalId } } }"
ONE = "query($id: String!) { event(externalId: $id) { externalId status staffCode occurredAt } }"


def order(
    external_id: str, staff: str | None, amount: str, at: str = "2026-10-05T10:00:00+08:00", **extra: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {"externalId": external_id, "type": "order", "occurredAt": at, "amount": amount}
    if staff is not None:
        event["staff"] = staff
    return {**event, **extra}


async def seed(org: Org, client: httpx.AsyncClient, events: list[dict[str, Any]]) -> str:
    async with platform_unit_of_work():
        await Tenant.filter(id=org.tenant_id).update(settings={"large_order_threshold": "30000"})
    key = await tenancy.create_api_key(org.tenant_id, "feed", [Scope.EVENTS_WRITE, Scope.EVENTS_READ], None)
    body = "\n".join(json.dumps(event) for event in events)
    answer = (
        await client.post("/import/events", content=body, headers={"authorization": f"Bearer {key.plaintext}"})
    ).json()
    assert answer["accepted"] == len(events), answer
    return key.plaintext


EVENTS_OF_ORG = [
    order("a-1", "a", "100.00"),
    order("a-big", "a", "30000.00", at="2026-10-06T09:00:00+08:00"),
    order("b-1", "b", "200.00", at="2026-10-04T23:30:00+08:00"),
    order("c-big", "c", "45000.00", at="2026-10-03T01:00:00+08:00"),
    order("c-1", "c", "300.00", at="2026-10-07T10:00:00+08:00"),
    order("pool-s2", None, "50.00", team="S2"),
]


async def test_pending_large_orders_are_listed_and_counted_with_the_tenants_offset(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, client: httpx.AsyncClient
) -> None:
    org = await make_org(await make_tenant())
    key = await seed(org, client, EVENTS_OF_ORG)
    admin = await login(org.tenant.admin_email)
    pending = (await gql(EVENTS, {"status": "PENDING", "type": "order"}, admin))["data"]["events"]
    assert pending["total"] == 2
    assert [(e["externalId"], e["status"], e["occurredAt"]) for e in pending["items"]] == [
        ("c-big", "pending", "2026-10-03T01:00:00+08:00"),
        ("a-big", "pending", "2026-10-06T09:00:00+08:00"),
    ]
    assert all(e["receivedAt"].endswith("+08:00") for e in pending["items"])
    counted = (await gql(EVENTS, {"status": "COUNTED", "limit": 2, "offset": 1}, admin))["data"]["events"]
    assert (counted["total"], counted["limit"], counted["offset"]) == (4, 2, 1)
    # By time: b-1, then a-1 and pool-s2 (same instant: ties by id), c-1; c-big is pending.
    assert [e["externalId"] for e in counted["items"]] == ["a-1", "pool-s2"]
    # An API key with events:read is an operator too; the total is optional (not counted when not asked for).
    assert [
        e["externalId"] for e in (await gql(ITEMS_ONLY, {"status": "PENDING"}, key))["data"]["events"]["items"]
    ] == [
        "c-big",
        "a-big",
    ]
    # A wall-clock bound without an offset is the tenant's local time: b-1 (23:30 +08:00 on 4 Oct) is on the 4th.
    local_day = {"from": "2026-10-04T00:00:00", "to": "2026-10-05T00:00:00"}
    assert [e["externalId"] for e in (await gql(EVENTS, local_day, admin))["data"]["events"]["items"]] == ["b-1"]
    assert (await gql(EVENTS, {"status": "LOST"}, admin))["errors"][0]["message"]  # not a status: refused whole
    # Garbage and extremes find nothing, without errors.
    for bounds in ({"from": "0001-01-01T00:00:00+00:00"}, {"to": "9999-12-31T23:59:59+00:00"}):
        assert (await gql(EVENTS, bounds, admin))["data"]["events"]["total"] == 6
    assert (await gql(EVENTS, {"externalId": "a\x00"}, admin))["errors"][0]["extensions"]["code"] == "INVALID_TEXT"


async def test_one_event_by_its_external_id(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, client: httpx.AsyncClient
) -> None:
    org = await make_org(await make_tenant())
    other = await make_org(await make_tenant())
    await seed(org, client, EVENTS_OF_ORG)
    await seed(other, client, [order("only-there", "a", "1.00")])
    admin = await login(org.tenant.admin_email)
    assert (await gql(ONE, {"id": "b-1"}, admin))["data"]["event"] == {
        "externalId": "b-1",
        "status": "counted",
        "staffCode": "b",
        "occurredAt": "2026-10-04T23:30:00+08:00",
    }
    found = (await gql(EVENTS, {"externalId": "a-big"}, admin))["data"]["events"]
    assert (found["total"], [e["externalId"] for e in found["items"]]) == (1, ["a-big"])
    for missing in ("only-there", "nope", "x" * 5000):  # another tenant's externalId is simply not there
        assert (await gql(ONE, {"id": missing}, admin))["data"]["event"] is None
    assert (await gql(EVENTS, {"externalId": "only-there"}, admin))["data"]["events"]["total"] == 0


async def seeded_org_with_manager(
    make_tenant: TenantFactory, login: Login, client: httpx.AsyncClient
) -> tuple[Org, str, Member, str]:
    """The org with its events, the admin's token, a manager without teams yet and its token."""
    org = await make_org(await make_tenant())
    await seed(org, client, EVENTS_OF_ORG)
    manager = await add_member(org.tenant_id, Role.MANAGER)
    return org, await login(org.tenant.admin_email), manager, await login(manager.email)


SET_TEAMS = "mutation($u: ID!, $t: [String!]!) { setMemberTeams(userId: $u, teamCodes: $t) { __typename } }"


async def test_a_manager_sees_the_events_of_its_teams_and_staff_nothing(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, client: httpx.AsyncClient
) -> None:
    org, admin, manager, token = await seeded_org_with_manager(make_tenant, login, client)
    assert (await gql(EVENTS, {}, token))["data"]["events"] == {"total": 0, "limit": 50, "offset": 0, "items": []}
    user = str(manager.user_id)
    await gql(SET_TEAMS, {"u": user, "t": ["S1"]}, admin)
    mine = (await gql(EVENTS, {}, token))["data"]["events"]
    assert (mine["total"], sorted(e["externalId"] for e in mine["items"])) == (3, ["a-1", "a-big", "b-1"])
    pending = (await gql(EVENTS, {"status": "PENDING"}, token))["data"]["events"]
    assert [e["externalId"] for e in pending["items"]] == ["a-big"]
    # Outside the scope: not found, even by externalId or staff code.
    assert (await gql(ONE, {"id": "c-big"}, token))["data"]["event"] is None
    assert (await gql(EVENTS, {"staff": "c"}, token))["data"]["events"]["total"] == 0
    # S2 instead: c's events and the S2 team's pool event.
    await gql(SET_TEAMS, {"u": user, "t": ["S2"]}, admin)
    mine = (await gql(EVENTS, {}, token))["data"]["events"]
    assert sorted(e["externalId"] for e in mine["items"]) == ["c-1", "c-big", "pool-s2"]
    # A staff login does not list events at all.
    guide = await add_member(org.tenant_id, Role.STAFF)
    body = await gql(EVENTS, {}, await login(guide.email))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Another tenant's admin sees none of them.
    stranger = await login((await make_tenant()).admin_email)
    assert (await gql(EVENTS, {}, stranger))["data"]["events"]["total"] == 0


def event_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan] if plan.get("Relation Name") == "event" else []
    for child in plan.get("Plans", []):
        found += event_nodes(child)
    return found


async def explain(app_conn: asyncpg.Connection, tenant_id: int, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    async with app_conn.transaction():
        await app_conn.execute(f"SET LOCAL app.tenant_id = '{int(tenant_id)}'")
        document = await app_conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *values)
    return event_nodes(json.loads(document)[0]["Plan"])


@pytest.mark.parametrize(
    "where",
    [
        EventFilter(status=EventStatus.PENDING),
        EventFilter(status=EventStatus.PENDING, type="order"),
        EventFilter(external_id="e-2500"),
        EventFilter(staff_code="b"),
    ],
    ids=["pending", "pending-orders", "external-id", "staff"],
)
async def test_the_operators_filters_read_only_the_rows_they_need(
    make_tenant: TenantFactory, client: httpx.AsyncClient, app_conn: asyncpg.Connection, where: EventFilter
) -> None:
    """5,000 events imported like a merchant does (no ANALYZE by anyone): each filter reads its few rows from an
    index, never the tenant's whole event table (rows read = rows returned + rows removed by a filter)."""
    org = await make_org(await make_tenant())
    events = [
        order(f"e-{i}", "a", "10.00", at=f"2026-10-{1 + i % 28:02d}T10:{i % 60:02d}:00+08:00") for i in range(5000)
    ]
    events += [order(f"big-{i}", "c", "50000.00") for i in range(3)] + [order("b-only", "b", "1.00")]
    await seed(org, client, events)
    count, rows = listing_statements(
        org.tenant_id, where, AccessScope(Role.ADMIN, None, None, None), PageRequest(limit=50, offset=0)
    )
    for statement in (count, rows):
        nodes = await explain(app_conn, org.tenant_id, statement.sql, statement.values)
        read = sum(node["Actual Rows"] + node.get("Rows Removed by Filter", 0) for node in nodes)
        assert nodes and read <= 60, (where, [(n["Node Type"], n.get("Index Name"), n["Actual Rows"]) for n in nodes])


CONFIRM = "mutation($ids: [String!]!) { confirmLargeOrders(externalIds: $ids) { confirmed notPending } }"


async def test_a_manager_confirms_only_the_large_orders_of_its_scope(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, client: httpx.AsyncClient
) -> None:
    _org, admin, manager, token = await seeded_org_with_manager(make_tenant, login, client)
    await gql(SET_TEAMS, {"u": str(manager.user_id), "t": ["S1"]}, admin)
    done = (await gql(CONFIRM, {"ids": ["a-big", "c-big"]}, token))["data"]["confirmLargeOrders"]
    assert done == {"confirmed": ["a-big"], "notPending": ["c-big"]}  # c (store S2) is outside the manager's teams
    still = (await gql(EVENTS, {"status": "PENDING"}, admin))["data"]["events"]
    assert [e["externalId"] for e in still["items"]] == ["c-big"]
    assert (await gql(CONFIRM, {"ids": ["c-big"]}, admin))["data"]["confirmLargeOrders"]["confirmed"] == ["c-big"]
