"""Customers first seen in an event (issue 10 item 2): an order naming an unknown customer code creates that customer
(empty name, marked as created from an event) instead of being refused, unless the tenant turns it off; the answers
of recordEvents and POST /import/events say how many were created. Set-based and safe under concurrent batches naming
the same new customer (each is created once)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
import pytest

import tenants.events.ndjson
from tenants.attribution import service
from tenants.audit.service import SYSTEM
from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.events import repository
from tenants.events.batch import Batch
from tenants.events.contract import EVENT_TIME_MAX, EVENT_TIME_MIN
from tenants.events.service import ingest, store
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Tenant
from tests.conftest import GraphQL, TenantFactory
from tests.events.test_ingest import RECORD, events_of, order, writer_key
from tests.factories import add_customer, add_staff

Login = Callable[..., Awaitable[str]]
RECORD_COUNTING = RECORD.replace("accepted", "accepted customersCreated")


async def customers(tenant_id: TenantId) -> list[tuple[str, str, bool]]:
    async with tenant_unit_of_work(tenant_id) as conn:
        rows = await conn.execute_query_dict("SELECT code, name, created_from_event FROM customer ORDER BY code")
    return [(row["code"], row["name"], row["created_from_event"]) for row in rows]


async def test_unknown_customers_are_created_once_and_counted(make_tenant: TenantFactory, gql: GraphQL) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    await add_customer(tid, "known")
    key = await writer_key(tenant)
    events = [
        order("a", customer="new-1"),
        order("b", customer="new-1"),  # the same new customer twice in one batch: created once
        order("c", customer="new-2"),
        order("d", customer="known"),
        order("e", staff="ghost", customer="new-3"),  # refused for its staff: creates nothing
    ]
    result = (await gql(RECORD_COUNTING, {"events": events}, key))["data"]["recordEvents"]
    assert (result["accepted"], result["customersCreated"]) == (4, 2)
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [(4, "UNKNOWN_STAFF")]
    assert await customers(tid) == [("known", "known", False), ("new-1", "", True), ("new-2", "", True)]
    stored = {e.external_id: e.customer_id for e in await events_of(tid)}
    assert stored["a"] == stored["b"] is not None and stored["a"] != stored["c"]
    # A resend and a later batch find them: nothing created again.
    again = (await gql(RECORD_COUNTING, {"events": [*events[:4], order("f", customer="new-2")]}, key))["data"]
    assert (again["recordEvents"]["accepted"], again["recordEvents"]["customersCreated"]) == (1, 0)
    assert len(await customers(tid)) == 3
    # Another tenant's customer codes mean nothing here, and its own are its own.
    other = await make_tenant()
    await add_staff(other.tenant_id, "g1")
    theirs = (await gql(RECORD_COUNTING, {"events": [order("a", customer="new-1")]}, await writer_key(other)))["data"]
    assert theirs["recordEvents"]["customersCreated"] == 1
    assert await customers(other.tenant_id) == [("new-1", "", True)]
    assert len(await customers(tid)) == 3


async def test_concurrent_batches_naming_the_same_new_customers(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    codes = [f"walk-in-{n}" for n in range(20)]

    async def batch(name: str, order_of_codes: list[str]) -> Any:
        return await ingest(tid, enumerate(order(f"{name}-{code}", customer=code) for code in order_of_codes))

    results = await asyncio.gather(*(batch(f"b{n}", codes if n % 2 else codes[::-1]) for n in range(6)))
    assert all(result.rejected == [] and result.accepted == 20 for result in results)
    assert sum(result.customers_created for result in results) == 20  # each customer created exactly once
    assert [code for code, _name, _flag in await customers(tid)] == sorted(codes)
    assert len(await events_of(tid)) == 120


async def test_turned_off_unknown_customers_are_refused(
    make_tenant: TenantFactory, gql: GraphQL, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    key = await writer_key(tenant)
    # Turned off from 2026-10-10 on: an earlier order still creates its customer, later ones are refused.
    await service.save_rules(tid, SYSTEM, {"create_unknown_customers": False}, date(2026, 10, 10))
    await service.save_rules(tid, SYSTEM, {}, date(2026, 1, 1))  # saved later, effective earlier: in force until 10-10
    events = [
        order("early", customer="c-early", occurredAt="2026-10-09T10:00:00+08:00"),
        order("late", customer="c-late", occurredAt="2026-10-10T00:00:00+08:00"),
    ]
    result = (await gql(RECORD_COUNTING, {"events": events}, key))["data"]["recordEvents"]
    assert (result["accepted"], result["customersCreated"]) == (1, 1)
    assert [(r["index"], r["code"], r["field"]) for r in result["rejected"]] == [(1, "UNKNOWN_CUSTOMER", "customer")]
    assert await customers(tid) == [("c-early", "", True)]
    # The NDJSON import answers the same.
    lines = [
        json.dumps(order("n-early", customer="n-early", occurredAt="2026-10-01T10:00:00+08:00")),
        json.dumps(order("n-late", customer="n-late", occurredAt="2026-10-20T10:00:00+08:00")),
    ]
    response = await client.post(
        "/import/events", content="\n".join(lines).encode(), headers={"authorization": f"Bearer {key}"}
    )
    answer = response.json()
    assert (answer["accepted"], answer["customersCreated"], answer["rejectedCount"]) == (1, 1, 1)
    assert answer["rejected"][0]["code"] == "UNKNOWN_CUSTOMER"
    assert [code for code, *_ in await customers(tid)] == ["c-early", "n-early"]


async def test_a_tenant_without_versions_turns_it_off_in_its_settings(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    async with platform_unit_of_work():
        await Tenant.filter(id=tid).update(settings={"create_unknown_customers": False})
    result = await ingest(tid, [(0, order("x", customer="ghost"))])
    assert (result.accepted, result.customers_created, [p.code for p in result.rejected]) == (
        0,
        0,
        ["UNKNOWN_CUSTOMER"],
    )
    assert await customers(tid) == []


async def test_a_retried_batch_creates_its_new_customers_again_after_the_rollback(make_tenant: TenantFactory) -> None:
    """A batch holding an externalId stored before is stored again after a rollback (ON CONFLICT path): the customers
    its first attempt created were rolled back with it, so they are created again and the events point at them."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    first = await ingest(tid, [(0, order("a", customer="c1"))])
    assert (first.accepted, first.customers_created) == (1, 1)
    retried = await ingest(tid, [(0, order("a", customer="c1")), (1, order("b", customer="c2"))])
    assert (retried.accepted, retried.duplicate_count, retried.customers_created) == (1, 1, 1)
    async with tenant_unit_of_work(tid) as conn:
        rows = await conn.execute_query_dict(
            "SELECT e.external_id, c.code FROM event e JOIN customer c ON c.tenant_id = e.tenant_id "
            "AND c.id = e.customer_id ORDER BY e.external_id"
        )
    assert [(row["external_id"], row["code"]) for row in rows] == [("a", "c1"), ("b", "c2")]


async def test_an_import_in_chunks_creates_each_new_customer_once(
    make_tenant: TenantFactory, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks overlap (the next one resolves its codes while the previous one inserts): a customer the previous chunk
    is creating is waited for, then found, never created twice."""
    monkeypatch.setattr(tenants.events.ndjson, "CHUNK_ITEMS", 2)
    monkeypatch.setattr(tenants.events.ndjson, "YIELD_EVERY", 1)
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    lines = [json.dumps(order(f"n{n}", customer=f"c{n // 3}")) for n in range(12)]  # c0..c3, each in two chunks
    response = await client.post(
        "/import/events",
        content="\n".join(lines).encode(),
        headers={"authorization": f"Bearer {await writer_key(tenant)}"},
    )
    answer = response.json()
    assert (answer["accepted"], answer["customersCreated"], answer["rejectedCount"]) == (12, 4, 0)
    assert [code for code, *_ in await customers(tid)] == ["c0", "c1", "c2", "c3"]


class _Gate:
    """An `after` (a stream's previous chunk) that says when a store first waits for it, and finishes when opened."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def __await__(self) -> Any:
        self.reached.set()
        return self.opened.__await__()


async def test_a_chunk_creates_customers_only_after_the_previous_chunk_committed(make_tenant: TenantFactory) -> None:
    # The previous chunk of an import may be creating the same customer: had this chunk inserted it first, that
    # chunk's insert would wait for this chunk's transaction while this chunk waits for that one (the import hung).
    tid = (await make_tenant()).tenant_id
    await add_staff(tid, "g1")
    batch = Batch(event_time_min=EVENT_TIME_MIN, event_time_max=EVENT_TIME_MAX)
    batch.add(0, order("late-chunk", customer="walk-in"))
    previous = _Gate()
    storing = asyncio.create_task(store(tid, batch, after=previous))
    await asyncio.wait_for(previous.reached.wait(), timeout=30)
    # What the previous chunk does meanwhile: create the same customer. It must not wait for the later chunk.
    async with tenant_unit_of_work(tid) as conn:
        await conn.execute_query("SET LOCAL lock_timeout = '5s'")
        await repository.create_customers(conn, tid, ["walk-in"])
    previous.opened.set_result(None)
    result = await asyncio.wait_for(storing, timeout=30)
    assert (result.accepted, result.customers_created) == (1, 0)
    assert await customers(tid) == [("walk-in", "", True)]
