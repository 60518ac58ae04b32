"""Event ingestion through GraphQL recordEvents and POST /import/events: same checks, same answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.events.models import Event
from tenants.periods.models import Period
from tenants.schemes.models import Scheme
from tenants.tenancy import service
from tenants.tenancy.auth import Scope
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Tenant
from tests.conftest import GraphQL, TenantFactory, TenantFixture
from tests.factories import add_customer, add_staff, add_team

RECORD = """
mutation($events: [EventInput!]!) {
  recordEvents(events: $events) {
    accepted
    duplicates { index externalId }
    rejected { index code field message }
  }
}
"""
EVENTS = "query($type: String) { events(type: $type) { total items { externalId type staffCode amount status } } }"


def order(external_id: str, staff: str | None = "g1", amount: str = "100.00", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "externalId": external_id,
        "type": "order",
        "occurredAt": "2026-10-05T10:00:00+08:00",
        "amount": amount,
    }
    if staff is not None:
        event["staff"] = staff
    event.update(extra)
    return event


async def events_of(tenant_id: TenantId) -> list[Event]:
    async with tenant_unit_of_work(tenant_id):
        return await Event.filter(tenant_id=tenant_id).order_by("external_id")


@pytest.fixture
async def shop(make_tenant: TenantFactory) -> TenantFixture:
    tenant = await make_tenant()
    await add_staff(tenant.tenant_id, "g1")
    await add_staff(tenant.tenant_id, "g2")
    return tenant


async def writer_key(tenant: TenantFixture, *scopes: Scope) -> str:
    created = await service.create_api_key(
        tenant.tenant_id, "pos", list(scopes or (Scope.EVENTS_WRITE, Scope.EVENTS_READ)), tenant.admin_user_id
    )
    return created.plaintext


async def test_record_and_read_back(shop: TenantFixture, gql: GraphQL) -> None:
    key = await writer_key(shop)
    body = await gql(RECORD, {"events": [order("o1"), order("o2", staff="g2", amount="50.5")]}, key)
    assert body["data"]["recordEvents"] == {"accepted": 2, "duplicates": [], "rejected": []}
    stored = await events_of(shop.tenant_id)
    assert [(e.external_id, e.amount, e.credit_shares) for e in stored] == [
        ("o1", Decimal("100.00"), [Decimal("1.000000")]),
        ("o2", Decimal("50.50"), [Decimal("1.000000")]),
    ]
    listed = (await gql(EVENTS, {"type": "order"}, key))["data"]["events"]
    assert listed["total"] == 2
    assert [(i["externalId"], i["staffCode"], i["amount"]) for i in listed["items"]] == [
        ("o1", "g1", "100.00"),
        ("o2", "g2", "50.50"),
    ]


async def test_duplicates_in_one_batch_and_across_batches(shop: TenantFixture, gql: GraphQL) -> None:
    key = await writer_key(shop)
    first = await gql(RECORD, {"events": [order("d1"), order("d1"), order("d2")]}, key)
    assert first["data"]["recordEvents"]["accepted"] == 2
    assert first["data"]["recordEvents"]["duplicates"] == [{"index": 1, "externalId": "d1"}]
    retry = await gql(RECORD, {"events": [order("d2"), order("d3")]}, key)
    assert retry["data"]["recordEvents"] == {
        "accepted": 1,
        "duplicates": [{"index": 0, "externalId": "d2"}],
        "rejected": [],
    }
    assert [e.external_id for e in await events_of(shop.tenant_id)] == ["d1", "d2", "d3"]


@pytest.mark.parametrize(
    ("event", "code", "field"),
    [
        (order("x", staff="nobody"), "UNKNOWN_STAFF", "staff"),
        (order("x", amount="12.345"), "BAD_AMOUNT", "amount"),
        (order("x", amount="abc"), "BAD_AMOUNT", "amount"),
        (order("x", occurredAt="2026-10-05T10:00:00"), "NAIVE_TIMESTAMP", "occurredAt"),
        (order("x", occurredAt="yesterday"), "INVALID_TIMESTAMP", "occurredAt"),
        (
            order("x", staff=None, credits=[{"staff": "g1", "share": "0.3"}, {"staff": "g2", "share": "0.6"}]),
            "SHARES_NOT_1",
            "credits",
        ),
        (order("x", credits=[{"staff": "g1", "share": "1.5"}]), "BAD_SHARE", "credits[0]"),
        # An unknown customer is created (tests/events/test_customers_from_events.py), unless the tenant turns it off.
        (order("x", team="ghost"), "UNKNOWN_TEAM", "team"),
        (order("x", type="Order!"), "INVALID_TYPE_NAME", "type"),
        (order("x", amount="-5.00"), "NEGATIVE_AMOUNT", "amount"),
        (order("x", staff=None), "NO_ATTRIBUTION", "staff"),
        ({**order("x"), "type": "refund", "amount": "-5.00"}, "REFUND_WITHOUT_ORDER", "attributes.order"),
        ({**order("x"), "type": "refund", "amount": "-5.00", "attributes": {"order": "nope"}}, "UNKNOWN_ORDER", None),
        ({**order("x"), "type": "refund", "amount": "5.00", "attributes": {"order": "o"}}, "REFUND_NOT_NEGATIVE", None),
    ],
)
async def test_invalid_items_are_rejected_and_valid_ones_kept(
    shop: TenantFixture, gql: GraphQL, event: dict[str, Any], code: str, field: str | None
) -> None:
    key = await writer_key(shop)
    body = await gql(RECORD, {"events": [order("ok-1"), event, order("ok-2")]}, key)
    result = body["data"]["recordEvents"]
    assert result["accepted"] == 2
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [(1, code)]
    if field is not None:
        assert result["rejected"][0]["field"] == field
    assert [e.external_id for e in await events_of(shop.tenant_id)] == ["ok-1", "ok-2"]


async def test_credits_refunds_bindings_and_team_pool(make_tenant: TenantFactory, gql: GraphQL) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    store = await add_team(tid, "store-1")
    guide = await add_staff(tid, "guide-1", team_id=store.id)
    ops = await add_staff(tid, "ops-01", role="operations")
    cs = await add_staff(tid, "cs-02", role="customer_service")
    actor = await add_staff(tid, "clerk")
    await add_customer(tid, "bound", guide_staff_id=guide.id, bound_since=datetime(2026, 9, 1, tzinfo=UTC))
    async with platform_unit_of_work():
        await Tenant.filter(id=tid).update(settings={"attribution": {"exclusive_guide": {"protection_days": 90}}})
    key = await writer_key(tenant)
    events = [
        order(
            "split", staff="clerk", credits=[{"staff": "ops-01", "share": "0.3"}, {"staff": "cs-02", "share": "0.7"}]
        ),
        {**order("split-refund", staff="clerk", amount="-10.00"), "type": "refund", "attributes": {"order": "split"}},
        order("by-binding", staff="clerk", customer="bound"),
        order("outside-window", staff="clerk", customer="bound", occurredAt="2027-01-05T10:00:00+08:00"),
        order("pool", staff=None, team="store-1"),
    ]
    body = await gql(RECORD, {"events": events}, key)
    assert body["data"]["recordEvents"]["rejected"] == []
    stored = {e.external_id: e for e in await events_of(tid)}
    assert stored["split"].credit_staff_ids == [ops.id, cs.id]
    assert stored["split"].credit_shares == [Decimal("0.3"), Decimal("0.7")]
    # The refund is credited like its order, and carries the order's id.
    assert stored["split-refund"].credit_staff_ids == [ops.id, cs.id]
    assert stored["split-refund"].order_external_id == "split"
    assert stored["by-binding"].credit_staff_ids == [guide.id]
    assert stored["outside-window"].credit_staff_ids == [actor.id]
    assert (stored["pool"].credit_staff_ids, stored["pool"].pool_team_id) == ([], store.id)
    # A refund in a later batch finds its stored order.
    later = {**order("later-refund", staff="clerk", amount="-1.00"), "type": "refund", "attributes": {"order": "split"}}
    assert (await gql(RECORD, {"events": [later]}, key))["data"]["recordEvents"]["accepted"] == 1
    assert {e.external_id: e for e in await events_of(tid)}["later-refund"].credit_staff_ids == [ops.id, cs.id]


async def test_large_orders_wait_for_confirmation(shop: TenantFixture, gql: GraphQL) -> None:
    async with platform_unit_of_work():
        await Tenant.filter(id=shop.tenant_id).update(settings={"large_order_threshold": "50000"})
    key = await writer_key(shop)
    await gql(RECORD, {"events": [order("big", amount="50000.00"), order("small", amount="49999.99")]}, key)
    assert [(e.external_id, e.status) for e in await events_of(shop.tenant_id)] == [
        ("big", "pending"),
        ("small", "counted"),
    ]


async def test_late_event_marks_a_closed_period_stale(shop: TenantFixture, gql: GraphQL) -> None:
    async with tenant_unit_of_work(shop.tenant_id):
        scheme = await Scheme.create(tenant_id=shop.tenant_id, name="s")
        october = await Period.create(
            tenant_id=shop.tenant_id,
            scheme_id=scheme.id,
            key="2026-10",
            starts_at=datetime(2026, 9, 30, 16, tzinfo=UTC),
            ends_at=datetime(2026, 10, 31, 16, tzinfo=UTC),
            state="closed",
            revision=1,
        )
        november = await Period.create(
            tenant_id=shop.tenant_id,
            scheme_id=scheme.id,
            key="2026-11",
            starts_at=datetime(2026, 10, 31, 16, tzinfo=UTC),
            ends_at=datetime(2026, 11, 30, 16, tzinfo=UTC),
            state="closed",
            revision=1,
        )
    key = await writer_key(shop)
    await gql(RECORD, {"events": [order("late", occurredAt="2026-10-31T23:50:00+08:00")]}, key)
    async with tenant_unit_of_work(shop.tenant_id):
        assert (await Period.get(id=october.id)).state == "stale"
        assert (await Period.get(id=november.id)).state == "closed"


async def test_batch_limit_refuses_everything(shop: TenantFixture, gql: GraphQL) -> None:
    key = await writer_key(shop)
    body = await gql(RECORD, {"events": [order(f"e{i}") for i in range(5001)]}, key)
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_ITEMS"
    assert await events_of(shop.tenant_id) == []


async def test_permissions_and_other_tenant(
    shop: TenantFixture, make_tenant: TenantFactory, gql: GraphQL, client: httpx.AsyncClient
) -> None:
    other = await make_tenant()
    await add_staff(other.tenant_id, "g1")
    other_key = await writer_key(other)
    reader_only = await writer_key(shop, Scope.EVENTS_READ)
    body = await gql(RECORD, {"events": [order("nope")]}, reader_only)
    assert body["errors"][0]["extensions"]["code"] == "MISSING_SCOPE"
    # B's key writes to B only: the same codes and ids land in B, A sees none of it.
    body = await gql(RECORD, {"events": [order("o-b")]}, other_key)
    assert body["data"]["recordEvents"]["accepted"] == 1
    assert await events_of(shop.tenant_id) == []
    key = await writer_key(shop)
    assert (await gql(EVENTS, {}, key))["data"]["events"] == {"total": 0, "items": []}
    # The same externalId in another tenant is not a duplicate.
    assert (await gql(RECORD, {"events": [order("o-b")]}, key))["data"]["recordEvents"]["accepted"] == 1
    assert [e.external_id for e in await events_of(other.tenant_id)] == ["o-b"]
    response = await client.post("/import/events", content=b"{}", headers={"authorization": f"Bearer {reader_only}"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "MISSING_SCOPE"


ImportCall = Callable[[bytes, str], Awaitable[httpx.Response]]


@pytest.fixture
def ndjson(client: httpx.AsyncClient) -> ImportCall:
    async def post(body: bytes, key: str) -> httpx.Response:
        async def chunks() -> Any:
            # Streamed in small pieces that cut lines in half, as a real upload would.
            for start in range(0, len(body), 7):
                yield body[start : start + 7]

        return await client.post("/import/events", content=chunks(), headers={"authorization": f"Bearer {key}"})

    return post


async def test_ndjson_import_gives_the_same_answer(shop: TenantFixture, ndjson: ImportCall) -> None:
    key = await writer_key(shop)
    lines = [
        json.dumps(order("n1")),
        json.dumps(order("n1")),
        "",
        "{not json",
        json.dumps(order("n2", occurredAt="2026-10-05T10:00:00")),
        json.dumps(order("n3", staff="g2")),
    ]
    response = await ndjson(("\n".join(lines) + "\n").encode(), key)
    assert response.status_code == 200
    assert response.json() == {
        "items": 5,
        "accepted": 2,
        "customersCreated": 0,
        "duplicateCount": 1,
        "rejectedCount": 2,
        "duplicates": [{"index": 1, "externalId": "n1"}],
        # Messages in the tenant's language (Simplified Chinese by default); codes and fields stay English.
        "rejected": [
            {"index": 2, "code": "INVALID_JSON", "message": "不是有效的 JSON。", "field": None},
            {
                "index": 3,
                "code": "NAIVE_TIMESTAMP",
                "message": "occurredAt 须带时区偏移，如 +08:00。",
                "field": "occurredAt",
            },
        ],
        "truncated": False,
    }
    assert [e.external_id for e in await events_of(shop.tenant_id)] == ["n1", "n3"]


async def test_ndjson_import_larger_than_a_chunk(shop: TenantFixture, client: httpx.AsyncClient) -> None:
    key = await writer_key(shop)
    body = "\n".join(json.dumps(order(f"bulk-{i}")) for i in range(12_000)).encode()
    response = await client.post("/import/events", content=body, headers={"authorization": f"Bearer {key}"})
    assert response.json()["accepted"] == 12_000
    async with tenant_unit_of_work(shop.tenant_id):
        assert await Event.filter(tenant_id=shop.tenant_id).count() == 12_000


async def test_ndjson_requires_auth(client: httpx.AsyncClient) -> None:
    response = await client.post("/import/events", content=b"{}")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHENTICATED"


async def test_unstorable_values_reject_only_their_item(shop: TenantFixture, ndjson: ImportCall) -> None:
    key = await writer_key(shop)
    lines = [
        json.dumps(order("fine-1")),
        '{"externalId": "nan", "type": "order", "occurredAt": "2026-10-05T10:00:00+08:00", "staff": "g1", '
        '"attributes": {"score": NaN}}',
        json.dumps(order("nul", attributes={"note": "a\u0000b"})),
        json.dumps(order("nul-id\u0000")),
        json.dumps(order("fine-2")),
    ]
    response = await ndjson("\n".join(lines).encode(), key)
    body = response.json()
    assert (body["accepted"], body["rejectedCount"]) == (2, 3)
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3]
    assert [e.external_id for e in await events_of(shop.tenant_id)] == ["fine-1", "fine-2"]


async def test_concurrent_retries_in_opposite_orders_count_once(shop: TenantFixture) -> None:
    from tenants.events.service import ingest

    events = [order(f"race-{i}") for i in range(300)]
    forward = list(enumerate(events))
    backward = list(enumerate(reversed(events)))
    results = await asyncio.gather(ingest(shop.tenant_id, forward), ingest(shop.tenant_id, backward))
    assert sum(r.accepted for r in results) == 300
    assert sum(len(r.duplicates) for r in results) == 300
    assert len(await events_of(shop.tenant_id)) == 300


async def test_ndjson_line_too_long_is_one_rejected_item(shop: TenantFixture, client: httpx.AsyncClient) -> None:
    key = await writer_key(shop)
    huge = json.dumps(order("huge", attributes={"blob": "x" * (1024 * 1024 + 10)}))
    body = "\n".join([json.dumps(order("before")), huge, json.dumps(order("after"))]).encode()
    response = await client.post("/import/events", content=body, headers={"authorization": f"Bearer {key}"})
    answer = response.json()
    assert (answer["accepted"], answer["rejectedCount"]) == (2, 1)
    assert answer["rejected"][0]["code"] == "LINE_TOO_LONG"
    assert answer["rejected"][0]["index"] == 1
    assert [e.external_id for e in await events_of(shop.tenant_id)] == ["after", "before"]


async def test_ndjson_endless_line_is_dropped_while_streaming(shop: TenantFixture, client: httpx.AsyncClient) -> None:
    key = await writer_key(shop)
    body = b"\n".join(
        [
            json.dumps(order("first")).encode(),
            b'{"externalId": "' + b"y" * (3 * 1024 * 1024),
            json.dumps(order("last")).encode(),
        ]
    )

    async def chunks() -> Any:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = await client.post("/import/events", content=chunks(), headers={"authorization": f"Bearer {key}"})
    answer = response.json()
    assert (answer["items"], answer["accepted"], [r["code"] for r in answer["rejected"]]) == (3, 2, ["LINE_TOO_LONG"])
    assert [e.external_id for e in await events_of(shop.tenant_id)] == ["first", "last"]
