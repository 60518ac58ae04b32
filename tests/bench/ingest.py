"""Ingestion benchmark: GraphQL recordEvents (batches of 1,000 over HTTP) and the NDJSON import, each as a ratio of
the rate of a raw asyncpg copy_records_to_table of the same rows into the same table, measured in the same run.

Run: `make bench` (every benchmark) or `uv run python -m tests.bench.ingest [events]`. Targets: GraphQL >= 0.10,
NDJSON >= 0.50.
`python -m tests.bench.ingest --bounded [lines]` measures what an import of junk or duplicate lines costs the API
process instead: its resident memory (VmRSS, and the peak VmHWM, from /proc) before and after, and the latency of
/healthz polled every 20 ms from a process of its own while the import runs (the loop must keep answering).
The reference COPY runs as a superuser: Postgres refuses COPY FROM into a table with row level security for every
other role, which is why the app copies each batch into a temporary staging table (no RLS) and moves it into
`event` with one INSERT ... SELECT, which the table's policy checks.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import sys
import time
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
            # Every measured run starts from an empty table (no manual VACUUM/ANALYZE: statistics stay as they come).
            await superuser.execute("TRUNCATE event")

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


def _api_pid() -> int:
    """The uvicorn child process `api_server` started (the only child of this process running uvicorn)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if parent == os.getpid() and b"uvicorn" in command:
            return int(entry)
    raise RuntimeError("no API process")


def _memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def _poll_healthz(url: str, stop: Any, latencies: Any) -> None:
    """In a process of its own (the uploading client's loop must not delay the probe): GET /healthz every 20 ms."""
    with httpx.Client(base_url=url, timeout=60) as probe:
        while not stop.is_set():
            sent = time.perf_counter()
            probe.get("/healthz")
            latencies.put(time.perf_counter() - sent)
            time.sleep(0.02)
    latencies.put(None)


async def _import_while_polling(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> tuple[dict[str, Any], float, list[float]]:
    """The import's answer, its seconds, and the /healthz latencies seen while it ran (sorted)."""
    context = multiprocessing.get_context("spawn")
    stop, latencies = context.Event(), context.Queue()
    poller = context.Process(target=_poll_healthz, args=(url, stop, latencies))
    poller.start()
    await asyncio.sleep(1)  # the poller is up (spawning takes a moment)
    started = time.perf_counter()
    response = await client.post("/import/events", content=body, headers=headers)
    seconds = time.perf_counter() - started
    stop.set()
    seen: list[float] = []
    while (latency := latencies.get()) is not None:
        seen.append(latency)
    poller.join()
    return response.json(), seconds, sorted(seen)


def _latency_text(seen: list[float]) -> str:
    p99 = seen[int(len(seen) * 0.99)] if seen else 0.0
    return f"/healthz worst {seen[-1] * 1000:6.1f} ms, p99 {p99 * 1000:6.1f} ms ({len(seen)} polls)"


async def run_bounded(lines: int) -> None:
    settings = bench_settings()
    async with bench_database(settings):
        tenant = await service.create_tenant("bench", "Bench")
        tenant_id = tenant_id_for_system(tenant.id)
        for i in range(STAFF):
            await add_staff(tenant_id, f"g{i}")
        key = (await service.create_api_key(tenant_id, "bench", [Scope.EVENTS_WRITE], None)).plaintext
        headers = {"authorization": f"Bearer {key}"}
        with api_server(settings) as url:
            pid = _api_pid()
            async with httpx.AsyncClient(base_url=url, timeout=600) as client:
                warm = "\n".join(json.dumps(e) for e in make_events("w", 1000)).encode()
                assert (await client.post("/import/events", content=warm, headers=headers)).json()["accepted"] == 1000
                print(f"lines per import: {lines}")
                print(f"API RSS after warm-up:      {_memory_mb(pid)[0]:7.1f} MB (peak {_memory_mb(pid)[1]:.1f} MB)")
                junk = b"".join(b'{"junk": %d}\n' % i for i in range(lines))
                answer, seconds, seen = await _import_while_polling(client, url, junk, headers)
                assert answer["rejectedCount"] == lines, answer
                rss, peak = _memory_mb(pid)
                print(
                    f"junk import:      {seconds:6.2f} s  API RSS after {rss:7.1f} MB (peak {peak:.1f} MB)  "
                    + _latency_text(seen)
                )
                duplicate = json.dumps(make_events("w", 1)[0]).encode() + b"\n"
                answer, seconds, seen = await _import_while_polling(client, url, duplicate * lines, headers)
                assert answer["duplicateCount"] == lines, {k: v for k, v in answer.items() if k != "duplicates"}
                rss, peak = _memory_mb(pid)
                print(
                    f"duplicate import: {seconds:6.2f} s  API RSS after {rss:7.1f} MB (peak {peak:.1f} MB)  "
                    + _latency_text(seen)
                )


if __name__ == "__main__":
    if "--bounded" in sys.argv:
        sizes = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
        asyncio.run(run_bounded(sizes[0] if sizes else 1_000_000))
    else:
        asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000))
