"""Time bounds of `events` at the ends of the calendar: a bound whose UTC instant falls outside datetime's years (a
naive 0001-01-01 in a tenant east of UTC, 9999-12-31 with a negative offset) is the first or last instant there is,
never an internal error; no stored event lies beyond either. Another tenant's events are never counted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from tests.access.support import make_org
from tests.access.test_events_listing import EVENTS, order, seed
from tests.conftest import GraphQL, TenantFactory

MINE = [order("m-1", "a", "10.00"), order("m-2", "a", "20.00", at="2026-10-06T10:00:00+08:00")]


async def test_bounds_beyond_the_calendar_are_its_ends(
    make_tenant: TenantFactory, gql: GraphQL, login: Callable[..., Awaitable[str]], client: httpx.AsyncClient
) -> None:
    org = await make_org(await make_tenant(timezone="Asia/Shanghai"))
    other = await make_org(await make_tenant())
    await seed(org, client, MINE)
    await seed(other, client, [order("theirs", "a", "1.00")])
    admin = await login(org.tenant.admin_email)

    everything = [
        {"from": "0001-01-01T00:00:00"},  # the tenant's local time: 31 Dec 0000 in UTC
        {"from": "0001-01-01T00:00:00+14:00"},
        {"to": "9999-12-31T23:59:59-12:00"},  # 1 Jan 10000 in UTC
    ]
    nothing = [
        {"from": "9999-12-31T23:59:59-12:00"},
        {"to": "0001-01-01T00:00:00"},
        {"to": "0001-01-01T00:00:00+14:00"},
    ]
    for bounds, expected in [*((b, ["m-1", "m-2"]) for b in everything), *((b, []) for b in nothing)]:
        body = await gql(EVENTS, bounds, admin)
        assert "errors" not in body, (bounds, body)
        found = body["data"]["events"]
        assert (found["total"], [e["externalId"] for e in found["items"]]) == (len(expected), expected), bounds
