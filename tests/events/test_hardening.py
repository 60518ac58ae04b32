"""Issue 12, ingestion: no bad item costs a good one, nothing is rounded into existence, a resent externalId with other
content is a conflict, and an import of any size keeps a bounded answer and lets the loop serve others.

GraphQL bodies are sent as ASCII JSON (`json.dumps` escapes), as any client would send a lone surrogate: the server's
JSON reader turns "\\ud800" into a string holding it.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.events.batch import Batch
from tenants.events.contract import MAX_ATTRIBUTES_DEPTH
from tenants.events.errors import EventErrorCode
from tenants.events.models import Event
from tenants.events.ndjson import REPORT_LIMIT, YIELD_EVERY, import_lines
from tenants.events.service import ingest
from tenants.staff.models import Customer
from tenants.tenancy import service
from tenants.tenancy.auth import UNAUTHENTICATED_MESSAGE, Scope
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Tenant
from tests.conftest import TenantFactory, TenantFixture
from tests.events.test_ingest import RECORD, order
from tests.factories import add_customer, add_staff, add_team

EVENTS = "{ events(limit: 200) { total items { externalId occurredAt } } }"


def nested(depth: int) -> dict[str, Any]:
    attributes: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        attributes = {"a": attributes}
    return attributes


@pytest.fixture
async def shop(make_tenant: TenantFactory) -> TenantFixture:
    tenant = await make_tenant()
    await add_staff(tenant.tenant_id, "g1")
    await add_staff(tenant.tenant_id, "g2")
    await add_staff(tenant.tenant_id, "g3")
    await add_team(tenant.tenant_id, "store-1")
    return tenant


async def key_of(tenant: TenantFixture) -> str:
    scopes = [Scope.EVENTS_WRITE, Scope.EVENTS_READ]
    return (await service.create_api_key(tenant.tenant_id, "pos", scopes, tenant.admin_user_id)).plaintext


async def graphql(client: httpx.AsyncClient, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables}).encode()  # ASCII: surrogates travel as escapes
    response = await client.post(
        "/graphql", content=body, headers={"authorization": f"Bearer {key}", "content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


async def record(client: httpx.AsyncClient, key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = (await graphql(client, key, RECORD, {"events": events}))["recordEvents"]
    return result


async def import_ndjson(client: httpx.AsyncClient, key: str, lines: list[str]) -> dict[str, Any]:
    response = await client.post(
        "/import/events", content="\n".join(lines).encode(), headers={"authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def stored_ids(tenant_id: TenantId) -> list[str]:
    async with tenant_unit_of_work(tenant_id):
        ids = await Event.filter(tenant_id=tenant_id).values_list("external_id", flat=True)
    return sorted(str(external_id) for external_id in ids)


async def stored(tenant_id: TenantId, external_id: str) -> Event:
    async with tenant_unit_of_work(tenant_id):
        return await Event.get(tenant_id=tenant_id, external_id=external_id)


# Item 1: what Python holds but Postgres cannot is one rejected item, with its own code.
UNSTORABLE: list[tuple[dict[str, Any], str, str | None]] = [
    (order("offset-16", occurredAt="2026-10-05T10:00:00+16:00"), "OFFSET_OUT_OF_RANGE", "occurredAt"),
    (order("offset-23", occurredAt="2026-10-05T10:00:00-23:59"), "OFFSET_OUT_OF_RANGE", "occurredAt"),
    (order("x\ud800"), "INVALID_UNICODE", "externalId"),
    (order("surrogate-value", attributes={"note": "x\ud800"}), "INVALID_UNICODE", "attributes"),
    (order("surrogate-key", attributes={"n\udc00": 1}), "INVALID_UNICODE", "attributes"),
    (order("surrogate-deep", attributes={"a": [{"b": "\udbff"}]}), "INVALID_UNICODE", "attributes"),
    (order("surrogate-staff", staff="g\ud800"), "INVALID_UNICODE", "staff"),
    (order("surrogate-customer", customer="c\ud800"), "INVALID_UNICODE", "customer"),
    (order("surrogate-team", team="\ud800"), "INVALID_UNICODE", "team"),
    (order("surrogate-credit", credits=[{"staff": "g\ud800", "share": "1"}]), "INVALID_UNICODE", "credits[0].staff"),
    (order("deep", attributes=nested(400)), "NESTED_TOO_DEEP", "attributes"),
    (order("just-too-deep", attributes=nested(MAX_ATTRIBUTES_DEPTH + 1)), "NESTED_TOO_DEEP", "attributes"),
]


async def test_unstorable_items_cost_only_themselves_in_graphql(shop: TenantFixture, client: httpx.AsyncClient) -> None:
    key = await key_of(shop)
    events = [order("ok-1")]
    events += [event for event, _, _ in UNSTORABLE]
    events += [
        order("ok-offset", occurredAt="2026-10-05T10:00:00+15:59"),
        order("ok-pair", attributes={"emoji": "\U0001f600", "deep": nested(MAX_ATTRIBUTES_DEPTH - 1)}),
    ]
    result = await record(client, key, events)
    assert [(r["index"], r["code"], r["field"]) for r in result["rejected"]] == [
        (index, code, field) for index, (_, code, field) in enumerate(UNSTORABLE, start=1)
    ]
    assert result["accepted"] == 3
    assert await stored_ids(shop.tenant_id) == ["ok-1", "ok-offset", "ok-pair"]
    assert (await stored(shop.tenant_id, "ok-offset")).occurred_at == datetime(2026, 10, 4, 18, 1, tzinfo=UTC)


async def test_unstorable_items_cost_only_themselves_in_an_import(
    shop: TenantFixture, client: httpx.AsyncClient
) -> None:
    key = await key_of(shop)
    lines = [json.dumps(order("ok-1"))]
    lines += [json.dumps(event) for event, _, _ in UNSTORABLE]  # ASCII: "\ud800" escapes in the text
    lines += [
        json.dumps(order("ok-2")),
        # Deeper than even Python's JSON reader goes: refused as too deep, whatever the field.
        '{"externalId": "deeper", "type": "order", "occurredAt": "2026-10-05T10:00:00Z", "staff": "g1", '
        '"attributes": {"x": ' + "[" * 5000 + "]" * 5000 + "}}",
        '{"unknown\\ud800": 1, "externalId": "odd-name", "type": "order"}',
    ]
    answer = await import_ndjson(client, key, lines)
    expected = [(index, code, field) for index, (_, code, field) in enumerate(UNSTORABLE, start=1)]
    expected += [(len(UNSTORABLE) + 2, "NESTED_TOO_DEEP", None), (len(UNSTORABLE) + 3, "INVALID_UNICODE", None)]
    assert [(r["index"], r["code"], r["field"]) for r in answer["rejected"]] == expected
    assert (answer["accepted"], answer["rejectedCount"]) == (2, len(expected))
    assert await stored_ids(shop.tenant_id) == ["ok-1", "ok-2"]


# Item 2: occurredAt in [event_time_min, event_time_max) only.
async def test_timestamps_outside_the_range_are_rejected_and_listing_keeps_working(
    shop: TenantFixture, client: httpx.AsyncClient
) -> None:
    key = await key_of(shop)
    events = [
        order("year-1", occurredAt="0001-01-01T00:00:00+14:00"),
        order("year-9999", occurredAt="9999-12-31T23:00:00-14:00"),
        order("before-1970", occurredAt="1969-12-31T23:59:59.999999Z"),
        order("at-2200", occurredAt="2200-01-01T00:00:00Z"),
        order("at-2200-offset", occurredAt="2200-01-01T08:00:00+08:00"),
        order("at-1970", occurredAt="1970-01-01T00:00:00Z"),
        order("before-2200", occurredAt="2199-12-31T23:59:59.999999Z"),
    ]
    result = await record(client, key, events)
    assert [(r["index"], r["code"], r["field"]) for r in result["rejected"]] == [
        (index, "OCCURRED_AT_OUT_OF_RANGE", "occurredAt") for index in range(5)
    ]
    assert result["accepted"] == 2
    listed = (await graphql(client, key, EVENTS, {}))["events"]
    assert [item["externalId"] for item in listed["items"]] == ["at-1970", "before-2200"]


async def test_the_import_takes_the_time_range_from_the_settings(
    shop: TenantFixture, client: httpx.AsyncClient, app: Starlette
) -> None:
    key = await key_of(shop)
    settings = app.state.settings
    app.state.settings = settings.model_copy(
        update={"event_time_min": datetime(2026, 1, 1, tzinfo=UTC), "event_time_max": datetime(2027, 1, 1, tzinfo=UTC)}
    )
    try:
        answer = await import_ndjson(
            client,
            key,
            [json.dumps(order("in-2026")), json.dumps(order("in-2025", occurredAt="2025-12-31T23:00:00Z"))],
        )
    finally:
        app.state.settings = settings
    assert [(r["index"], r["code"]) for r in answer["rejected"]] == [(1, "OCCURRED_AT_OUT_OF_RANGE")]
    assert await stored_ids(shop.tenant_id) == ["in-2026"]


async def test_ingest_takes_the_time_range_as_keywords(shop: TenantFixture) -> None:
    result = await ingest(
        shop.tenant_id,
        enumerate([order("early", occurredAt="2026-10-01T00:00:00Z"), order("late")]),
        event_time_min=datetime(2026, 10, 2, tzinfo=UTC),
        event_time_max=datetime(2026, 10, 6, tzinfo=UTC),
    )
    assert result.accepted == 1
    assert [(p.index, p.code) for p in result.rejected] == [(0, EventErrorCode.OCCURRED_AT_OUT_OF_RANGE)]


# Item 3: shares and values are stored exactly or refused; credits never exceed the order.
async def test_shares_with_more_decimals_than_stored_are_refused_not_rounded(
    shop: TenantFixture, client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    key = await key_of(shop)
    thirds = [
        {"staff": "g1", "share": "0.3333335"},
        {"staff": "g2", "share": "0.3333335"},
        {"staff": "g3", "share": "0.333333"},
    ]
    exact = [
        {"staff": "g1", "share": "0.333334"},
        {"staff": "g2", "share": "0.333333"},
        {"staff": "g3", "share": "0.333333"},
    ]
    events = [
        order("rounded", staff=None, amount="1000000.00", credits=thirds),
        order("exact", staff=None, amount="1000000.00", credits=exact),
        order("team-share", staff=None, credits=[{"staff": "g1", "share": "0.5"}, {"team": "store-1", "share": "0.5"}]),
        order("team-rounded", credits=[{"staff": "g1", "share": "0.5"}, {"team": "store-1", "share": "0.50000001"}]),
        order("value-rounded", value="1.0000001"),
        order("value-exact", value="99999999999999.999999"),
    ]
    result = await record(client, key, events)
    assert [(r["index"], r["code"], r["field"]) for r in result["rejected"]] == [
        (0, "SHARE_TOO_PRECISE", "credits[0]"),
        (3, "SHARE_TOO_PRECISE", "credits[1]"),
        (4, "VALUE_TOO_PRECISE", "value"),
    ]
    assert await stored_ids(shop.tenant_id) == ["exact", "team-share", "value-exact"]
    assert (await stored(shop.tenant_id, "value-exact")).value == Decimal("99999999999999.999999")
    # What the close aggregates: the amount times each stored share, staff and pool together.
    await app_conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(shop.tenant_id))
    credited = await app_conn.fetch(
        "SELECT e.external_id, e.amount, "
        "(SELECT coalesce(sum(e.amount * c.share), 0) FROM unnest(e.credit_shares) AS c(share)) "
        "+ coalesce(e.amount * e.pool_share, 0) AS credited FROM event e WHERE e.tenant_id = $1",
        shop.tenant_id,
    )
    assert {row["external_id"]: row["credited"] == row["amount"] for row in credited} == {
        "exact": True,
        "team-share": True,
        "value-exact": True,
    }


# Item 4: an externalId is an idempotency key.
async def test_a_resend_with_other_content_is_a_conflict_and_changes_nothing(
    shop: TenantFixture, make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    key = await key_of(shop)
    original = order(
        "o1",
        value="2.5",
        customer=None,
        attributes={"channel": "offline", "n": 1, "list": [1, "a"]},
        credits=[{"staff": "g1", "share": "0.4"}, {"staff": "g2", "share": "0.6"}],
    )
    await add_customer(shop.tenant_id, "cust-1")
    assert (await record(client, key, [original, order("o2")]))["accepted"] == 2
    before = await stored(shop.tenant_id, "o1")
    same_content = {
        **original,
        "occurredAt": "2026-10-05T02:00:00Z",  # the same instant
        "amount": "100.0",
        "value": "2.500",
        "attributes": {"list": [1.0, "a"], "n": 1.0, "channel": "offline"},
        "credits": [{"staff": "g2", "share": "0.600"}, {"staff": "g1", "share": "0.4"}],
    }
    changes: list[tuple[dict[str, Any], str]] = [
        ({"type": "visit"}, "type"),
        ({"occurredAt": "2026-10-05T10:00:01+08:00"}, "occurredAt"),
        ({"staff": "g2"}, "staff"),
        ({"customer": "cust-1"}, "customer"),
        ({"team": "store-1"}, "team"),
        ({"amount": "100.01"}, "amount"),
        ({"value": None}, "value"),
        ({"attributes": {"channel": "online", "n": 1, "list": [1, "a"]}}, "attributes"),
        ({"attributes": {"channel": "offline", "n": True, "list": [1, "a"]}}, "attributes"),
        ({"credits": [{"staff": "g1", "share": "0.5"}, {"staff": "g2", "share": "0.5"}]}, "credits"),
        ({"credits": [{"staff": "g1", "share": "0.4"}, {"team": "store-1", "share": "0.6"}]}, "credits"),
        ({"credits": None}, "credits"),
    ]
    resends = [original, same_content]
    resends += [{k: v for k, v in {**original, **change}.items() if v is not None} for change, _ in changes]
    result = await record(client, key, resends)
    assert result["accepted"] == 0
    assert result["duplicates"] == [{"index": 0, "externalId": "o1"}, {"index": 1, "externalId": "o1"}]
    assert [(r["index"], r["code"], r["field"]) for r in result["rejected"]] == [
        (index, "EXTERNAL_ID_CONFLICT", field) for index, (_, field) in enumerate(changes, start=2)
    ]
    assert "o1" in result["rejected"][0]["message"]
    after = await stored(shop.tenant_id, "o1")
    assert {k: v for k, v in vars(after).items() if not k.startswith("_")} == {
        k: v for k, v in vars(before).items() if not k.startswith("_")
    }
    # The NDJSON import compares the same way (here an order sent without credits, first through GraphQL).
    answer = await import_ndjson(
        client,
        key,
        [json.dumps(order("o2")), json.dumps(order("o2", amount="1.00")), json.dumps(order("o2", credits=[]))],
    )
    assert [(d["index"], d["externalId"]) for d in answer["duplicates"]] == [(0, "o2"), (2, "o2")]
    assert [(r["index"], r["code"], r["field"]) for r in answer["rejected"]] == [(1, "EXTERNAL_ID_CONFLICT", "amount")]
    # Another tenant's externalIds are its own: the same id with other content is a new event there.
    other = await make_tenant()
    await add_staff(other.tenant_id, "g1")
    result = await record(client, await key_of(other), [order("o1", amount="5.00")])
    assert (result["accepted"], result["rejected"]) == (1, [])
    assert (await stored(shop.tenant_id, "o1")).amount == Decimal("100.00")


async def test_conflicts_within_one_batch(
    shop: TenantFixture, make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    other = await make_tenant()
    await add_staff(other.tenant_id, "g1")
    await add_staff(other.tenant_id, "g2")
    await add_team(other.tenant_id, "store-1")
    events = [
        order("b1", attributes={"k": [1, {"x": "y"}]}),
        order("b1", attributes={"k": [1.0, {"x": "y"}]}, occurredAt="2026-10-05T03:00:00+01:00"),
        order("b1", attributes={"k": [True, {"x": "y"}]}),
        order("b1", amount="100.10"),
        order("b2", credits=[{"staff": "g1", "share": "0.5"}, {"staff": "g2", "share": "0.5"}]),
        order("b2", credits=[{"staff": "g2", "share": "0.50"}, {"staff": "g1", "share": "0.5"}]),
        order("b2"),
        order("b2", credits=[{"staff": "g1", "share": "0.5"}, {"team": "store-1", "share": "0.5"}]),
    ]
    for answer in (
        await record(client, await key_of(shop), events),
        await import_ndjson(client, await key_of(other), [json.dumps(event) for event in events]),
    ):
        assert [(d["index"], d["externalId"]) for d in answer["duplicates"]] == [(1, "b1"), (5, "b2")]
        assert [(r["index"], r["code"], r["field"]) for r in answer["rejected"]] == [
            (2, "EXTERNAL_ID_CONFLICT", "attributes"),
            (3, "EXTERNAL_ID_CONFLICT", "amount"),
            (6, "EXTERNAL_ID_CONFLICT", "credits"),
            (7, "EXTERNAL_ID_CONFLICT", "credits"),
        ]
    assert await stored_ids(shop.tenant_id) == await stored_ids(other.tenant_id) == ["b1", "b2"]


async def test_credits_resolved_by_rules_are_not_content(make_tenant: TenantFactory, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    guide = await add_staff(tid, "guide-1")
    other_guide = await add_staff(tid, "guide-2")
    await add_staff(tid, "clerk")
    customer = await add_customer(tid, "bound", guide_staff_id=guide.id, bound_since=datetime(2026, 9, 1, tzinfo=UTC))
    async with platform_unit_of_work():
        await Tenant.filter(id=tid).update(settings={"attribution": {"exclusive_guide": {"protection_days": 90}}})
    key = await key_of(tenant)
    sale = order("sale", staff="clerk", customer="bound")
    assert (await record(client, key, [sale]))["accepted"] == 1
    assert (await stored(tid, "sale")).credit_staff_ids == [guide.id]
    # The binding moved: the rules would credit someone else today, but the sender sends what it sent.
    async with tenant_unit_of_work(tid):
        await Customer.filter(id=customer.id).update(guide_staff_id=other_guide.id)
    result = await record(client, key, [sale])
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (
        0,
        [{"index": 0, "externalId": "sale"}],
        [],
    )
    # Sending the credits the rules gave is another message: they were not sent the first time.
    explicit = {**sale, "credits": [{"staff": "guide-1", "share": "1"}]}
    result = await record(client, key, [explicit])
    assert [(r["code"], r["field"]) for r in result["rejected"]] == [("EXTERNAL_ID_CONFLICT", "credits")]
    assert (await stored(tid, "sale")).credit_staff_ids == [guide.id]


async def test_events_stored_before_credits_sent_was_recorded(
    shop: TenantFixture, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    key = await key_of(shop)
    explicit = order("old", credits=[{"staff": "g1", "share": "0.5"}, {"staff": "g2", "share": "0.5"}])
    assert (await record(client, key, [explicit, order("old-plain")]))["accepted"] == 2
    await owner_conn.execute(
        "UPDATE event SET credits_sent = NULL WHERE tenant_id = $1 AND external_id IN ('old', 'old-plain')",
        shop.tenant_id,
    )
    other = {**explicit, "credits": [{"staff": "g1", "share": "0.6"}, {"staff": "g2", "share": "0.4"}]}
    result = await record(client, key, [explicit, order("old-plain"), other])
    assert [d["index"] for d in result["duplicates"]] == [0, 1]
    assert [(r["index"], r["code"], r["field"]) for r in result["rejected"]] == [(2, "EXTERNAL_ID_CONFLICT", "credits")]


# Item 5: bounded answers, turns for the loop, statistics after bulk imports.
def junk_lines(count: int) -> list[bytes]:
    return [b'{"junk": %d}' % i for i in range(count)]


async def body_of(body: bytes, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), piece):
        yield body[start : start + piece]


def test_a_batch_counts_everything_and_keeps_the_first_problems() -> None:
    batch = Batch(report_limit=10)
    for index, line in enumerate(junk_lines(100)):
        batch.add_json(index, line)
    for index in range(100, 150):
        batch.add(index, order("same"))
    assert (len(batch), batch.rejected_count, batch.duplicate_count, batch.valid) == (150, 100, 49, 1)
    assert [problem.index for problem in batch.rejected] == list(range(10))
    assert [duplicate.index for duplicate in batch.duplicates] == list(range(101, 111))


async def test_an_import_of_junk_keeps_a_bounded_answer(shop: TenantFixture) -> None:
    lines = 20_000
    body = b"\n".join(junk_lines(lines))  # made before measuring: joining allocates 80 bytes per line for a moment
    tracemalloc.start()
    try:
        result, items = await import_lines(shop.tenant_id, body_of(body))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (items, result.rejected_count, result.accepted) == (lines, lines, 0)
    assert [problem.index for problem in result.rejected] == list(range(REPORT_LIMIT))
    assert result.truncated
    # 20,000 kept problems take several MB; what is kept here is the first REPORT_LIMIT and a chunk at a time.
    assert peak < 3_000_000, peak


async def test_an_import_of_duplicates_keeps_a_bounded_answer(shop: TenantFixture) -> None:
    line = json.dumps(order("again")).encode()
    result, items = await import_lines(shop.tenant_id, body_of(b"\n".join([line] * 12_000)))
    assert (items, result.accepted, result.duplicate_count) == (12_000, 1, 11_999)
    assert [duplicate.index for duplicate in result.duplicates] == list(range(1, REPORT_LIMIT + 1))
    assert await stored_ids(shop.tenant_id) == ["again"]


async def test_an_import_gives_the_loop_turns_while_it_checks_lines(shop: TenantFixture) -> None:
    lines = 20 * YIELD_EVERY
    for body in (b"\n".join(junk_lines(lines)), b"\n".join([json.dumps(order("same")).encode()] * lines)):
        turns = 0
        importing = asyncio.create_task(import_lines(shop.tenant_id, body_of(body, piece=len(body))))
        while not importing.done():
            turns += 1
            await asyncio.sleep(0)
        assert (await importing)[1] == lines
        # The whole body arrives at once (nothing to wait for): the import itself hands over the loop.
        assert turns >= lines // YIELD_EVERY, turns


async def test_a_large_import_refreshes_the_event_statistics_once(
    shop: TenantFixture, client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    estimated = await app_conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'public.event'::regclass")
    analysed = await app_conn.fetchval("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'event'")
    count = max(100, int(0.2 * max(estimated, 1)) + 1)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    lines = [json.dumps(order(f"s{i}", occurredAt=(start + timedelta(seconds=i)).isoformat())) for i in range(count)]
    answer = await import_ndjson(client, await key_of(shop), lines)
    assert answer["accepted"] == count
    assert await app_conn.fetchval("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'event'") == (
        analysed + 1
    )


async def test_import_refusals_are_coded_and_in_the_readers_language(client: httpx.AsyncClient) -> None:
    chinese = await client.post("/import/events", content=b"{}")
    english = await client.post("/import/events", content=b"{}", headers={"accept-language": "en-US,en;q=0.9"})
    assert (chinese.status_code, english.status_code) == (401, 401)
    assert chinese.json()["errors"] == [{"code": "UNAUTHENTICATED", "message": UNAUTHENTICATED_MESSAGE.render("zh-CN")}]
    assert english.json()["errors"] == [{"code": "UNAUTHENTICATED", "message": "Sign in or send an API key."}]
    assert UNAUTHENTICATED_MESSAGE.render("zh-CN") != "Sign in or send an API key."
