"""Bulk ingestion: the NDJSON import stores chunk after chunk while it reads (pipelined), rows go through a COPY into
a staging table, and a batch is first inserted without ON CONFLICT. None of it may change an answer or a stored row:
the pipelined import answers exactly as the chunks ingested one after the other would, retries and concurrent
retries count every event once, and what is stored is what was sent.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

import tenants.events.ndjson
from tenants.db.uow import tenant_unit_of_work
from tenants.events.models import Event
from tenants.events.service import ingest
from tenants.tenancy import service
from tenants.tenancy.auth import Scope
from tenants.tenancy.identity import TenantId
from tests.conftest import TenantFactory, TenantFixture
from tests.factories import add_staff, add_team


def event(external_id: str, staff: str | None = "g1", amount: str = "100.00", **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "externalId": external_id,
        "type": "order",
        "occurredAt": "2026-10-05T10:00:00+08:00",
        "amount": amount,
    }
    if staff is not None:
        item["staff"] = staff
    item.update(extra)
    return item


def refund(external_id: str, order: str, amount: str = "-1.00", **extra: Any) -> dict[str, Any]:
    return event(external_id, type="refund", amount=amount, attributes={"order": order}, **extra)


async def shop(make_tenant: TenantFactory) -> TenantFixture:
    tenant = await make_tenant()
    await add_staff(tenant.tenant_id, "g1")
    await add_staff(tenant.tenant_id, "g2")
    await add_team(tenant.tenant_id, "store-1")
    return tenant


async def key_of(tenant: TenantFixture) -> str:
    created = await service.create_api_key(tenant.tenant_id, "pos", [Scope.EVENTS_WRITE], tenant.admin_user_id)
    return created.plaintext


async def stored(tenant_id: TenantId) -> list[tuple[Any, ...]]:
    """Every stored event, without ids that differ between tenants (staff ids are replaced by their codes)."""
    async with tenant_unit_of_work(tenant_id) as conn:
        rows = await conn.execute_query_dict(
            "SELECT e.external_id, e.type, e.occurred_at, s.code AS staff, e.amount, e.value, e.attributes, "
            "e.order_external_id, e.status, e.pool_team_id IS NOT NULL AS pooled, e.credit_shares, "
            "(SELECT array_agg(c.code ORDER BY o.n) FROM unnest(e.credit_staff_ids) WITH ORDINALITY o(id, n) "
            " JOIN staff c ON c.id = o.id) AS credited "
            "FROM event e LEFT JOIN staff s ON s.id = e.staff_id ORDER BY e.external_id"
        )
    return [tuple(row.values()) for row in rows]


LINES = [
    json.dumps(event("a1")),
    json.dumps(event("a2", staff="g2", credits=[{"staff": "g1", "share": "0.4"}, {"staff": "g2", "share": "0.6"}])),
    "{not json",
    # chunk 2: a duplicate of chunk 1, a refund of chunk 1's order, an unknown staff
    json.dumps(event("a1")),
    json.dumps(refund("r-a2", "a2")),
    json.dumps(event("x1", staff="nobody")),
    # chunk 3: an order and its refund in the same chunk, a refund of an order that never came, a pool
    json.dumps(refund("r-b1", "b1")),
    json.dumps(event("b1", staff="g2")),
    json.dumps(refund("r-none", "none")),
    # chunk 4: a refund of an order of a later chunk, duplicates within the chunk, the order of chunk 3's refund
    json.dumps(refund("r-c1", "c1")),
    json.dumps(event("p1", staff=None, team="store-1")),
    json.dumps(event("p1", staff=None, team="store-1")),
    # chunk 5
    json.dumps(event("c1")),
    json.dumps(event("n1", staff=None)),
    json.dumps(event("big", amount="-5.00")),
    # chunk 6: nothing valid, and a2 resent with other content (a conflict); chunk 7: a refund of chunk 5's order
    "[]",
    json.dumps(event("a2")),
    json.dumps(event("bad", occurredAt="2026-10-05T10:00:00")),
    json.dumps(refund("r-c1-again", "c1")),
]
CHUNK = 3


def answer_of(results: list[dict[str, Any]], items: int) -> dict[str, Any]:
    duplicates = [d for r in results for d in r["duplicates"]]
    rejected = [p for r in results for p in r["rejected"]]
    return {
        "items": items,
        "accepted": sum(r["accepted"] for r in results),
        "customersCreated": sum(r["customersCreated"] for r in results),
        "duplicateCount": len(duplicates),
        "rejectedCount": len(rejected),
        "duplicates": duplicates,
        "rejected": rejected,
        "truncated": False,
    }


async def sequential_answer(tenant_id: TenantId, lines: list[str]) -> dict[str, Any]:
    """The oracle: each chunk ingested on its own, one after the other."""
    results = []
    for start in range(0, len(lines), CHUNK):
        chunk = [(start + i, line.encode()) for i, line in enumerate(lines[start : start + CHUNK])]
        result = await ingest(tenant_id, chunk)
        results.append(
            {
                "accepted": result.accepted,
                "customersCreated": result.customers_created,
                "duplicates": [{"index": d.index, "externalId": d.external_id} for d in result.duplicates],
                "rejected": [
                    {"index": p.index, "code": p.code.value, "message": p.message.render("zh-CN"), "field": p.field}
                    for p in result.rejected
                ],
            }
        )
    return answer_of(results, len(lines))


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tenants.events.ndjson, "CHUNK_ITEMS", CHUNK)
    monkeypatch.setattr(tenants.events.ndjson, "YIELD_EVERY", 1)


async def import_ndjson(client: httpx.AsyncClient, key: str, body: bytes) -> dict[str, Any]:
    response = await client.post("/import/events", content=body, headers={"authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.usefixtures("small_chunks")
async def test_pipelined_import_answers_and_stores_as_chunks_one_after_the_other(
    make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    pipelined, oracle = await shop(make_tenant), await shop(make_tenant)
    expected = await sequential_answer(oracle.tenant_id, LINES)
    answer = await import_ndjson(client, await key_of(pipelined), "\n".join(LINES).encode())
    assert answer == expected
    assert answer["accepted"] == 8
    assert [(d["index"], d["externalId"]) for d in answer["duplicates"]] == [(3, "a1"), (11, "p1")]
    assert [(p["index"], p["code"]) for p in answer["rejected"]] == [
        (2, "INVALID_JSON"),
        (5, "UNKNOWN_STAFF"),
        (8, "UNKNOWN_ORDER"),
        (9, "UNKNOWN_ORDER"),
        (13, "NO_ATTRIBUTION"),
        (14, "NEGATIVE_AMOUNT"),
        (15, "INVALID_VALUE"),
        (16, "EXTERNAL_ID_CONFLICT"),
        (17, "NAIVE_TIMESTAMP"),
    ]
    rows = await stored(pipelined.tenant_id)
    assert rows == await stored(oracle.tenant_id)
    by_id = {row[0]: row for row in rows}
    # Refunds are credited like their order, whether it came in an earlier chunk or in the same one.
    assert by_id["r-a2"][-1] == ["g1", "g2"]
    assert by_id["r-a2"][-2] == [Decimal("0.4"), Decimal("0.6")]
    assert by_id["r-b1"][-1] == ["g2"]
    assert by_id["r-c1-again"][-1] == ["g1"]
    assert by_id["p1"][-1] is None
    assert by_id["p1"][-3] is True


@pytest.mark.usefixtures("small_chunks")
async def test_a_retried_import_finds_only_duplicates(make_tenant: TenantFactory, client: httpx.AsyncClient) -> None:
    tenant = await shop(make_tenant)
    key = await key_of(tenant)
    body = "\n".join(json.dumps(event(f"e{i}")) for i in range(10)).encode()
    first = await import_ndjson(client, key, body)
    assert (first["accepted"], first["duplicateCount"]) == (10, 0)
    before = await stored(tenant.tenant_id)
    # Half new, half already stored, in every chunk.
    mixed = "\n".join(json.dumps(event(f"e{i}" if i % 2 else f"f{i}")) for i in range(10)).encode()
    second = await import_ndjson(client, key, mixed)
    assert (second["accepted"], second["duplicateCount"], second["rejectedCount"]) == (5, 5, 0)
    assert [d["index"] for d in second["duplicates"]] == [1, 3, 5, 7, 9]
    retry = await import_ndjson(client, key, body)
    assert (retry["accepted"], retry["duplicateCount"]) == (0, 10)
    after = await stored(tenant.tenant_id)
    assert len(after) == 15
    assert all(row in after for row in before)


async def test_concurrent_retries_count_each_event_once(make_tenant: TenantFactory) -> None:
    tenant = await shop(make_tenant)
    batches = [
        [(i, event(f"c{i}")) for i in range(0, 300)],
        [(i, event(f"c{i + 100}")) for i in range(0, 300)],
        [(i, event(f"c{i + 200}")) for i in range(0, 300)],
    ]
    results = await asyncio.gather(*(ingest(tenant.tenant_id, batch) for batch in batches))
    assert sum(r.accepted for r in results) == 500
    assert sum(len(r.duplicates) for r in results) == 400
    assert not any(r.rejected for r in results)
    assert len(await stored(tenant.tenant_id)) == 500


async def test_what_is_stored_is_what_was_sent(make_tenant: TenantFactory, client: httpx.AsyncClient) -> None:
    tenant = await shop(make_tenant)
    attributes = {
        "channel": "offline",
        "note": 'tab\there, quote " back \\ slash, new\nline, \u00e9\u4e2d\u6587 \U0001f600',
        "nested": {"list": [1, 2.5, None, True, {"deep": "x"}], "big": 12345678901234567890},
    }
    odd_id = "id\twith\\odd\nchars\r\u00e9"
    lines = [
        json.dumps(event("plain", attributes=attributes, value="3.141593")),
        json.dumps(event("compact", attributes=attributes), ensure_ascii=False, separators=(",", ":")),
        '{"externalId": "spaced" ,\t"type": "order", "occurredAt": "2026-10-05T10:00:00.25Z", "staff": "g1",'
        '  "attributes" :\t{ "k" : [ 1 , 2 ] } , "amount": "007.50" }',
        json.dumps(event(odd_id, attributes={"order": "x"})),
        json.dumps(refund("r-odd", odd_id)),
    ]
    answer = await import_ndjson(client, await key_of(tenant), "\r\n".join(lines).encode())
    assert (answer["accepted"], answer["rejected"]) == (5, [])
    async with tenant_unit_of_work(tenant.tenant_id):
        events = {e.external_id: e for e in await Event.filter(tenant_id=tenant.tenant_id)}
    assert events["plain"].attributes == attributes
    assert events["compact"].attributes == attributes
    assert events["plain"].value == Decimal("3.141593")
    assert events["spaced"].attributes == {"k": [1, 2]}
    assert events["spaced"].amount == Decimal("7.50")
    assert events["spaced"].occurred_at == datetime(2026, 10, 5, 10, 0, 0, 250000, tzinfo=UTC)
    assert events[odd_id].attributes == {"order": "x"}
    assert events["r-odd"].order_external_id == odd_id
    assert events["r-odd"].credit_staff_ids == events[odd_id].credit_staff_ids
