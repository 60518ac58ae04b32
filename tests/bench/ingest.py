"""Ingestion benchmark: GraphQL recordEvents (batches of 1,000 over HTTP) and the NDJSON import, each as a ratio of
the rate of a raw asyncpg copy_records_to_table of the same rows into the same table, measured in the same run.

Run: `make bench-ingest` (or `uv run python -m tests.bench.ingest [events]`). Targets: GraphQL >= 0.10, NDJSON >= 0.50.
The reference COPY runs as a superuser: Postgres refuses COPY FROM into a table with row level security for every
other role, which is why the app copies each batch into a temporary staging table (no RLS) and moves it into
`event` with one INSERT ... SELECT, which the table's policy checks.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from server.settings import replace_database
from tenants.tenancy import service
from tenants.tenancy.auth import Scope
from tenants.tenancy.identity import tenant_id_for_system
from tests.bench.common import Stopwatch, api_server, bench_database, bench_settings
from tests.factories import add_staff

STAFF = 200
RECORD = """mutation($events: [EventInput!]!) { recordEvents(events: $events) { accepted rejected { index code } } }"""


def make_events(prefix: str, count: int) -> list[dict[str, Any]]:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    return [
        {
            "externalId": f"{prefix}-{i}",
            "type": "order",
            "occurredAt": (start + timedelta(seconds=i * 7)).isoformat(),
            "staff": f"g{i % STAFF}",
            "amount": f"{(i % 500) + 10}.50",
            "attributes": {"channel": "offline"},
        }
        for i in range(count)
    ]


async def run(count: int) -> None:
    settings = bench_settings()
    async with bench_database(settings):
        tenant = await service.create_tenant("bench", "Bench")
        tenant_id = tenant_id_for_system(tenant.id)
        staff_ids = {}
        for i in range(STAFF):
            staff_ids[f"g{i}"] = (await add_staff(tenant_id, f"g{i}")).id
        key = (await service.create_api_key(tenant_id, "bench", [Scope.EVENTS_WRITE], None)).plaintext
        superuser = await asyncpg.connect(replace_database(settings.superuser_url, settings.database_name))

        async def reference(events: list[dict[str, Any]]) -> float:
            received = datetime.now(UTC)
            records = [
                (
                    tenant.id,
                    e["externalId"],
                    e["type"],
                    datetime.fromisoformat(e["occurredAt"]),
                    received,
                    staff_ids[e["staff"]],
                    Decimal(e["amount"]),
                    json.dumps(e["attributes"]),
                    [staff_ids[e["staff"]]],
                    [Decimal(1)],
                    "counted",
                )
                for e in events
            ]
            watch = Stopwatch()
            with watch.timing():
                await superuser.copy_records_to_table(
                    "event",
                    records=records,
                    columns=[
                        "tenant_id",
                        "external_id",
                        "type",
                        "occurred_at",
                        "received_at",
                        "staff_id",
                        "amount",
                        "attributes",
                        "credit_staff_ids",
                        "credit_shares",
                        "status",
                    ],
                )
            return watch.seconds

        async def reset() -> None:
            await superuser.execute("TRUNCATE event")
            await superuser.execute("VACUUM ANALYZE event")

        with api_server(settings) as url:
            async with httpx.AsyncClient(base_url=url, timeout=300) as client:
                headers = {"authorization": f"Bearer {key}"}
                # Warm-up (connections, caches) outside the measurements.
                await client.post(
                    "/graphql", json={"query": RECORD, "variables": {"events": make_events("w", 1000)}}, headers=headers
                )
                await reset()

                copy_seconds = await reference(make_events("r", count))
                await reset()

                graphql = Stopwatch()
                events = make_events("g", count)
                with graphql.timing():
                    for start in range(0, count, 1000):
                        batch = events[start : start + 1000]
                        response = await client.post(
                            "/graphql", json={"query": RECORD, "variables": {"events": batch}}, headers=headers
                        )
                        assert response.json()["data"]["recordEvents"]["accepted"] == len(batch), response.text
                await reset()

                body = "\n".join(json.dumps(e) for e in make_events("n", count)).encode()
                ndjson = Stopwatch()
                with ndjson.timing():
                    response = await client.post("/import/events", content=body, headers=headers)
                assert response.json()["accepted"] == count, response.text[:500]
                copy_again = await reference(make_events("r2", count)) if False else None
                del copy_again
        await superuser.close()

    copy_rate = count / copy_seconds
    print(f"events: {count}")
    print(f"raw COPY (reference):     {copy_seconds:8.3f} s  {copy_rate:10.0f} events/s")
    print(
        f"GraphQL recordEvents x1000: {graphql.seconds:6.3f} s  {count / graphql.seconds:10.0f} events/s  "
        f"ratio {count / graphql.seconds / copy_rate:.3f} (target >= 0.10)"
    )
    print(
        f"NDJSON /import/events:    {ndjson.seconds:8.3f} s  {count / ndjson.seconds:10.0f} events/s  "
        f"ratio {count / ndjson.seconds / copy_rate:.3f} (target >= 0.50)"
    )


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000))
