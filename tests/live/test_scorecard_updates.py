"""`scorecardUpdated` over graphql-transport-ws, with a real websocket client against uvicorn, fed by real arq workers
through Redis pub/sub.

Tenant A is the worked example in a team tree (north > sa: guide-001, guide-002; sb: guide-003). Subscribers: staff
linked to guide-001 and to guide-003, a manager of sb, an admin; tenant B's admin listens to B's own scheme. A late
order of guide-001 followed by a refresh changes guide-001's provisional scorecard only: staff 001 and the admin hear
of it, staff 003 and the manager of sb do not. The close then changes everyone's: all of A hear of it, B nothing.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from schema.subscriptions import KaoheTransportWSHandler
from server.settings import Settings
from tenants.access.service import link_staff_user, set_member_teams
from tenants.audit.service import SYSTEM
from tenants.demo import PERIOD, seed_worked_example
from tenants.events.service import ingest
from tenants.notify import MAX_LISTED, PendingChange, ScorecardChange, installed_scorecard_feed
from tenants.periods.approvals import approve_statements
from tenants.staff.records import StaffItem, TeamItem
from tenants.staff.service import upsert_staff, upsert_teams
from tenants.tenancy import service
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tests.conftest import PASSWORD, GraphQL, TenantFactory, TenantFixture, unique
from tests.periods.test_close import CLOSE, run_worker
from tests.periods.test_job_queues import REFRESH

Login = Callable[..., Awaitable[str]]
PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIPTION = """
subscription($scheme: ID!, $period: String!) {
  scorecardUpdated(schemeId: $scheme, period: $period) { schemeId period kind revision }
}
"""
# Waits for something that must happen; a test fails only when it never does (no timing is asserted).
PATIENCE_SECONDS = 30


async def member(tenant: TenantFixture, role: Role, login: Login) -> tuple[int, str]:
    email = f"{unique(role.value)}@example.com"
    user = await service.create_user(email, PASSWORD)
    await service.add_membership(tenant.tenant_id, user.id, role)
    return user.id, await login(email)


async def seed_teams(tenant: TenantFixture) -> int:
    scheme_id = await seed_worked_example(tenant.tenant_id)
    teams = await upsert_teams(
        tenant.tenant_id,
        SYSTEM,
        [TeamItem("north", "华北区", kind="region"), TeamItem("sa", "朝阳店", "north"), TeamItem("sb", "海淀店")],
    )
    staff = await upsert_staff(
        tenant.tenant_id,
        SYSTEM,
        [
            StaffItem("guide-001", "小王", "guide", "sa", hired_on="2026-01-01"),
            StaffItem("guide-002", "小李", "guide", "sa", hired_on="2026-01-01"),
            StaffItem("guide-003", "小张", "guide", "sb", hired_on="2026-01-01"),
        ],
    )
    assert not teams.errors and not staff.errors
    return scheme_id


async def connect_init(url: str, payload: dict[str, Any] | None) -> ClientConnection:
    ws = await connect(url, subprotocols=[PROTOCOL], open_timeout=PATIENCE_SECONDS)
    message: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        message["payload"] = payload
    await ws.send(json.dumps(message))
    return ws


def subscribe_message(scheme_id: int, period: str = PERIOD) -> dict[str, Any]:
    variables = {"scheme": str(scheme_id), "period": period}
    return {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": variables}}


async def wait_for_listeners(count: int) -> None:
    """The subscriptions are registered with the feed (the server reads the scope first, asynchronously)."""
    feed = installed_scorecard_feed()
    async with asyncio.timeout(PATIENCE_SECONDS):
        while getattr(feed, "listener_count", count) < count:  # noqa: ASYNC110 - the feed has no event to wait on
            await asyncio.sleep(0.01)


@asynccontextmanager
async def subscribed(url: str, token: str, scheme_id: int, period: str = PERIOD) -> AsyncIterator[ClientConnection]:
    ws = await connect_init(url, {"authorization": f"Bearer {token}"})
    try:
        ack = json.loads(await ws.recv())
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps(subscribe_message(scheme_id, period)))
        yield ws
    finally:
        await ws.close()


async def next_update(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(PATIENCE_SECONDS):
        message = json.loads(await ws.recv())
    assert message["type"] == "next", message
    update: dict[str, Any] = message["payload"]["data"]["scorecardUpdated"]
    return update


async def refresh(gql: GraphQL, token: str, scheme_id: int, database: Settings) -> None:
    started = (await gql(REFRESH, {"scheme": str(scheme_id), "period": PERIOD}, token))["data"]["refreshScorecards"]
    assert started["__typename"] == "CloseStarted", started
    await run_worker(database)


async def test_staff_hear_of_their_own_managers_of_their_scope_other_tenants_nothing(
    live_url: str, make_tenant: TenantFactory, login: Login, gql: GraphQL, database: Settings
) -> None:
    a, b = await make_tenant(), await make_tenant()
    scheme_a, scheme_b = await seed_teams(a), await seed_teams(b)
    admin_a, admin_b = await login(a.admin_email), await login(b.admin_email)
    staff_1, staff_1_token = await member(a, Role.STAFF, login)
    staff_3, staff_3_token = await member(a, Role.STAFF, login)
    await link_staff_user(a.tenant_id, SYSTEM, "guide-001", staff_1)
    await link_staff_user(a.tenant_id, SYSTEM, "guide-003", staff_3)
    manager, manager_token = await member(a, Role.MANAGER, login)
    await set_member_teams(a.tenant_id, SYSTEM, manager, ["sb"])
    # The first refresh creates the provisional scorecards (everyone's change): done before anyone listens.
    await refresh(gql, admin_a, scheme_a, database)

    before = getattr(installed_scorecard_feed(), "listener_count", 0)
    async with (
        subscribed(live_url, staff_1_token, scheme_a) as own,
        subscribed(live_url, staff_3_token, scheme_a) as other_staff,
        subscribed(live_url, manager_token, scheme_a) as manager_of_sb,
        subscribed(live_url, admin_a, scheme_a) as admin,
        subscribed(live_url, admin_b, scheme_b) as other_tenant,
    ):
        await wait_for_listeners(before + 5)
        late = {"externalId": "late-1", "type": "order", "occurredAt": "2026-10-20T10:00:00+08:00"}
        result = await ingest(a.tenant_id, enumerate([{**late, "staff": "guide-001", "amount": "500.00"}]))
        assert result.accepted == 1
        await refresh(gql, admin_a, scheme_a, database)
        expected = {"schemeId": str(scheme_a), "period": PERIOD, "kind": "REFRESH", "revision": 0}
        assert await next_update(own) == expected
        assert await next_update(admin) == expected

        started = (await gql(CLOSE, {"scheme": str(scheme_a), "period": PERIOD}, admin_a))["data"]["closePeriod"]
        assert started["__typename"] == "CloseStarted", started
        await run_worker(database)
        closed = {"schemeId": str(scheme_a), "period": PERIOD, "kind": "CLOSE", "revision": 1}
        # Their first message is the close: the refresh of guide-001 alone was not theirs to hear of.
        assert await next_update(other_staff) == closed
        assert await next_update(manager_of_sb) == closed
        assert await next_update(own) == closed
        assert await next_update(admin) == closed
        # Tenant B's admin heard nothing: B's period changed at no point.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await other_tenant.recv()


async def test_another_tenants_scheme_is_refused_with_a_code(
    live_url: str, make_tenant: TenantFactory, login: Login
) -> None:
    a, b = await make_tenant(), await make_tenant()
    scheme_a = await seed_worked_example(a.tenant_id)
    async with subscribed(live_url, await login(b.admin_email), scheme_a) as ws:
        async with asyncio.timeout(PATIENCE_SECONDS):
            message = json.loads(await ws.recv())
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] == "SCHEME_NOT_FOUND", message
    async with subscribed(live_url, await login(a.admin_email), scheme_a, period="2026-10'; --") as ws:
        async with asyncio.timeout(PATIENCE_SECONDS):
            message = json.loads(await ws.recv())
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] == "BAD_PERIOD", message


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"authorization": "Bearer not-a-token"}, "TOKEN_INVALID"),
        ({"token": "not-a-token"}, "TOKEN_INVALID"),
        ({}, "UNAUTHENTICATED"),
        ({"authorization": "Basic dXNlcjpwYXNz"}, "UNAUTHENTICATED"),
        ({"authorization": "Bearer " + "x" * 10_000}, "UNAUTHENTICATED"),
        ({"token": 42}, "UNAUTHENTICATED"),
    ],
)
async def test_a_bad_token_is_refused_with_a_coded_close(live_url: str, payload: dict[str, Any], reason: str) -> None:
    ws = await connect_init(live_url, payload)
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(PATIENCE_SECONDS):
            await ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, reason)


LOGOUT = "mutation { logout { __typename } }"


async def test_a_connection_whose_session_ends_is_closed_with_the_code(
    live_url: str, make_tenant: TenantFactory, login: Login, gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A websocket outlives its token's validity: logging out (or a removed member, a suspended tenant) closes it."""
    monkeypatch.setattr(KaoheTransportWSHandler, "REAUTHENTICATE_SECONDS", 0.1)
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    before = getattr(installed_scorecard_feed(), "listener_count", 0)
    async with subscribed(live_url, token, scheme_id) as ws:
        await wait_for_listeners(before + 1)
        assert (await gql(LOGOUT, token=token))["data"]["logout"]["__typename"] == "LoggedOut"
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(PATIENCE_SECONDS):
                await ws.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "TOKEN_REVOKED")
    # Its subscription ended with it: the feed forgot the listener.
    async with asyncio.timeout(PATIENCE_SECONDS):
        while getattr(installed_scorecard_feed(), "listener_count", 0) > before:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_subscribing_without_connection_init_is_refused(live_url: str) -> None:
    ws = await connect(live_url, subprotocols=[PROTOCOL])
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": {}}}))
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(PATIENCE_SECONDS):
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def change(n: int, scheme_id: int = 1) -> ScorecardChange:
    return ScorecardChange(1, scheme_id, PERIOD, "refresh", 0, frozenset({n}), frozenset({n % 7}))


def test_a_listener_that_never_reads_holds_one_change() -> None:
    pending = PendingChange(lambda c: c.scheme_id == 1)
    tracemalloc.start()
    try:
        pending.offer(change(0))
        baseline, _peak = tracemalloc.get_traced_memory()
        for n in range(1, 100_000):
            pending.offer(change(n))
            pending.offer(change(n, scheme_id=2))  # not accepted: never kept
        grown, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    waiting = pending.waiting
    assert waiting is not None and pending.offered == 100_000
    # Past MAX_LISTED staff the merged change lists nobody ("assume everyone"): its size stops growing there.
    assert waiting.staff_ids is None and waiting.team_ids == frozenset(range(7))
    assert grown - baseline < 64 * MAX_LISTED  # a few ids' worth, never the 100,000 changes


async def test_a_slow_subscriber_does_not_hold_up_the_others(
    live_url: str, make_tenant: TenantFactory, login: Login, redis: Any, database: Settings
) -> None:
    """A client that stops reading: the server keeps sending to the others; the stalled one costs one pending
    change (its socket buffers fill, its operation waits, the feed only merges into its PendingChange)."""
    from workers.notify import RedisScorecardPublisher

    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    publisher = RedisScorecardPublisher(redis, database)
    before = getattr(installed_scorecard_feed(), "listener_count", 0)
    stalled = await connect(live_url, subprotocols=[PROTOCOL], max_queue=1)
    await stalled.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(await stalled.recv())["type"] == "connection_ack"
    await stalled.send(json.dumps(subscribe_message(scheme_id)))
    try:
        async with subscribed(live_url, token, scheme_id) as reader:
            await wait_for_listeners(before + 2)
            for revision in range(1, 2_001):
                await publisher.publish(
                    ScorecardChange(int(tenant.tenant_id), scheme_id, PERIOD, "close", revision, None, None)
                )
            # The reader gets the last revision (maybe after some earlier ones, coalesced or not).
            revision = 0
            while revision < 2_000:
                revision = (await next_update(reader))["revision"]
            assert revision == 2_000
    finally:
        await stalled.close()


async def test_a_late_change_to_an_approved_period_reaches_the_next_statements_subscribers(
    live_url: str, make_tenant: TenantFactory, login: Login, gql: GraphQL, database: Settings
) -> None:
    """October approved, then a late order of guide-001: the re-close pays the delta in November's statement, so
    guide-001's subscription to November hears of it; guide-003's does not."""
    tenant = await make_tenant()
    scheme_id = await seed_teams(tenant)
    admin = await login(tenant.admin_email)
    staff_1, staff_1_token = await member(tenant, Role.STAFF, login)
    staff_3, staff_3_token = await member(tenant, Role.STAFF, login)
    await link_staff_user(tenant.tenant_id, SYSTEM, "guide-001", staff_1)
    await link_staff_user(tenant.tenant_id, SYSTEM, "guide-003", staff_3)
    started = (await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, admin))["data"]["closePeriod"]
    assert started["__typename"] == "CloseStarted", started
    await run_worker(database)
    await approve_statements(tenant.tenant_id, SYSTEM, scheme_id, PERIOD)
    november = "2026-11"
    before = getattr(installed_scorecard_feed(), "listener_count", 0)
    async with (
        subscribed(live_url, staff_1_token, scheme_id, november) as own,
        subscribed(live_url, staff_3_token, scheme_id, november) as other,
    ):
        await wait_for_listeners(before + 2)
        late = {"externalId": "late-1", "type": "order", "occurredAt": "2026-10-20T10:00:00+08:00"}
        result = await ingest(tenant.tenant_id, enumerate([{**late, "staff": "guide-001", "amount": "1000.00"}]))
        assert result.accepted == 1
        started = (await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, admin))["data"]["closePeriod"]
        assert started["__typename"] == "CloseStarted", started
        await run_worker(database)
        update = await next_update(own)
        assert (update["period"], update["kind"]) == (november, "CLOSE")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await other.recv()


async def test_a_malformed_message_is_dropped_and_the_feed_reads_on(redis: Any, database: Settings) -> None:
    """JSON nested too deep for the parser, a channel whose tenant is a non-ASCII digit or 5,000 digits: dropped, and
    the feed's reader task still hands on the next change (it used to die, leaving the process deaf for good)."""
    from workers.notify import RedisScorecardFeed, channel

    feed = RedisScorecardFeed(database)
    tenant = TenantId(987_654_321)
    good = ScorecardChange(int(tenant), 1, PERIOD, "close", 3, frozenset({1}), frozenset({2}))
    try:
        async with feed.listen(tenant, lambda _change: True) as changes, asyncio.timeout(PATIENCE_SECONDS):
            subscribed = replace(good, revision=1)
            # Until the feed's pattern subscription is in place (publish counts the receivers; there is no event).
            while await redis.publish(channel(database, tenant), json.dumps(subscribed.to_json())) == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            assert await anext(changes) == subscribed
            await redis.publish(channel(database, tenant), "[" * 100_000 + "]" * 100_000)
            await redis.publish(f"{channel(database, tenant)}\u00b2", json.dumps(good.to_json()))
            await redis.publish(f"{channel(database, tenant)}{'9' * 5_000}", json.dumps(good.to_json()))
            await redis.publish(channel(database, tenant), json.dumps(good.to_json()))
            assert await anext(changes) == good
    finally:
        await feed.aclose()
