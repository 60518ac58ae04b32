"""Close benchmark: figures as ratios against references measured in the same run.

Every tenant is onboarded the way a merchant's data arrives: teams, staff and customers through the GraphQL upserts
(batches of 1,000) and events through the NDJSON import (`POST /import/events`) of a real API server process, with no
VACUUM or ANALYZE by hand: the planner sees whatever statistics the product itself leaves (autovacuum may be off or
late), so a plan that collapses on missing statistics shows here. The statistics are printed with the figures.

1. 1,000 staff, 1,000,000 events in one month, the worked-example scheme plus a count_distinct_customers metric:
   the full close by a worker process (aggregation, engine, writes) against the bare SQL that aggregates the same
   metric values from the same table. Target <= 1.5. The worker's peak RSS (VmHWM) must stay under 300 MB.
2. Re-close after 1,000 late events (imported the same way) against the full close. Target <= 0.25.
3. 1,000 small tenants (20 staff, 1,000 events each) closed by the worker against one tenant with 20,000 staff and the
   same 1,000,000 events. Target <= 3.

Run: `make bench` or `uv run python -m tests.bench.close [--small | --scale N]` (--small: every size / 10, a quick
look; --scale N: every size / N). Seeding the full size through the API takes several minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import asyncpg
import httpx
from redis.asyncio import Redis

from server.settings import Settings
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.periods.aggregation import build_query
from tenants.periods.jobs import read_job
from tenants.periods.resolution import resolve_period
from tenants.schemes import service as schemes
from tenants.schemes.templates import get_template
from tenants.tenancy import service
from tenants.tenancy.auth import Scope
from tenants.tenancy.identity import tenant_id_for_system
from tests.bench.common import api_server, bench_database, bench_settings, import_events, upsert_master_data
from workers.queue import enqueue_close

T = TypeVar("T")
PERIOD = "2026-10"


def bench_config() -> dict[str, object]:
    config = get_template("store_guide_new_customers").config
    metrics = config["metrics"]
    assert isinstance(metrics, list)
    # The extra metric of the issue; weights shift so they still sum to 100.
    metrics[0]["weight"] = 30
    metrics.append(
        {
            "key": "buyers",
            "label": "购买客户数",
            "aggregate": "count_distinct_customers",
            "events": ["order"],
            "target": 50,
            "weight": 10,
        }
    )
    return config


KINDS = ("order",) * 4 + (
    "customer_added",
    "old_customer_invited",
    "old_customer_joined",
    "follow_up_missed",
    "complaint",
    "refund",
)
MONTH_START = datetime(2026, 9, 30, 16, tzinfo=UTC)  # 2026-10-01 00:00 in Asia/Shanghai
MONTH_SECONDS = 31 * 24 * 3600


def event_lines(staff: int, customers: int, events: int, prefix: str = "e") -> Iterator[str]:
    """The month's events as NDJSON: orders, their refunds (each refers to the order nine events before it), new
    customers, invitations, follow-ups missed, complaints; spread over staff, customers and the month by arithmetic."""
    for g in range(events):
        kind = KINDS[g % len(KINDS)]
        item: dict[str, object] = {
            "externalId": f"{prefix}-{g}",
            "type": kind,
            "occurredAt": (MONTH_START + timedelta(seconds=(g * 7919) % MONTH_SECONDS)).isoformat(),
            "staff": f"g{g % staff}",
            "customer": f"c{(g * 31) % customers}",
        }
        if kind == "order":
            item["amount"] = str(100 + g % 900)
        elif kind == "refund":
            item["amount"] = "-50"
            item["attributes"] = {"order": f"{prefix}-{g - 9}"}
        elif kind == "complaint":
            item["attributes"] = {"caused_by_follow_up": True}
        yield json.dumps(item)


@dataclass(frozen=True)
class SeededTenant:
    tenant_id: int
    scheme_id: int
    api_key: str
    staff: int


async def seed_tenant(client: httpx.AsyncClient, slug: str, staff: int, customers: int, events: int) -> SeededTenant:
    """A merchant onboarded through the API: stores (teams of 20 guides), guides, customers, then the month's events
    by the NDJSON import. The scheme is published through the service (as the admin UI does)."""
    tenant = await service.create_tenant(slug, slug)
    tenant_id = tenant_id_for_system(tenant.id)
    scopes = [Scope.STAFF_WRITE, Scope.EVENTS_WRITE]
    api_key = (await service.create_api_key(tenant_id, "bench", scopes, None)).plaintext
    stores = (staff + 19) // 20
    await upsert_master_data(client, api_key, "teams", [{"code": f"s{i}", "name": f"store {i}"} for i in range(stores)])
    await upsert_master_data(
        client,
        api_key,
        "staff",
        [{"code": f"g{i}", "name": f"guide {i}", "role": "guide", "team": f"s{i // 20}"} for i in range(staff)],
    )
    await upsert_master_data(client, api_key, "customers", [{"code": f"c{i}", "name": ""} for i in range(customers)])
    await import_events(client, api_key, event_lines(staff, customers, events))
    scheme = await schemes.create_scheme(tenant_id, SYSTEM, "bench")
    draft = await schemes.save_draft(tenant_id, SYSTEM, scheme.id, bench_config())
    await schemes.publish_version(tenant_id, SYSTEM, draft.id, date(2026, 10, 1))
    return SeededTenant(tenant.id, scheme.id, api_key, staff)


def late_lines(tenant: SeededTenant, count: int) -> Iterator[str]:
    for g in range(count):
        yield json.dumps(
            {
                "externalId": f"late-{g}",
                "type": "order",
                "occurredAt": "2026-10-15T04:00:00+00:00",
                "staff": f"g{g % min(500, tenant.staff)}",
                "amount": "100",
            }
        )


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]

    def peak_rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")


def start_worker(settings: Settings) -> WorkerProcess:
    env = {
        **os.environ,
        "KAOHE_ENV": "test",
        "KAOHE_DATABASE_URL": settings.database_url,
        "KAOHE_OWNER_DATABASE_URL": settings.owner_database_url,
        "KAOHE_REDIS_URL": settings.redis_url,
        "KAOHE_WORKER_CRON": "false",
        "KAOHE_QUEUE_NAME": settings.queue_name,
    }
    return WorkerProcess(
        subprocess.Popen(
            [sys.executable, "-m", "server.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )


async def close_with_worker(redis: Redis, settings: Settings, targets: Sequence[SeededTenant]) -> float:
    started = time.perf_counter()
    jobs = [
        (
            tenant_id_for_system(t.tenant_id),
            await enqueue_close(redis, settings, tenant_id_for_system(t.tenant_id), t.scheme_id, PERIOD, force=True),
        )
        for t in targets
    ]
    pending = list(jobs)
    while pending:
        still = []
        for tenant_id, job_id in pending:
            status = await read_job(redis, tenant_id, job_id)
            if status is None or status.status not in ("complete", "failed"):
                still.append((tenant_id, job_id))
            elif status.status == "failed":
                raise RuntimeError(f"close failed: {status.error}")
        pending = still
        if pending:
            await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def bare_sql_seconds(settings: Settings, tenant: SeededTenant) -> float:
    """The reference: the close's aggregation statement alone, on the app role as the worker runs it."""
    tid = tenant_id_for_system(tenant.tenant_id)
    async with tenant_unit_of_work(tid) as conn:
        resolved = await resolve_period(conn, tid, tenant.scheme_id, PERIOD)
    sql, params, _, _ = build_query(
        tid, resolved.config, resolved.starts_at, resolved.ends_at, resolved.local_start, resolved.local_end
    )
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant.tenant_id))
            started = time.perf_counter()
            rows = await conn.fetch(sql, *params)
            elapsed = time.perf_counter() - started
        assert rows
    finally:
        await conn.close()
    return elapsed


async def table_statistics(settings: Settings) -> str:
    """What the planner knows (reltuples -1: never analysed), printed so a run shows what it measured against."""
    conn = await asyncpg.connect(settings.owner_database_url)
    try:
        rows = await conn.fetch(
            "SELECT c.relname, c.reltuples::bigint AS estimated, s.n_live_tup AS live, "
            "coalesce(s.analyze_count + s.autoanalyze_count, 0) AS analyses "
            "FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.relname IN ('team', 'staff', 'customer', 'event') ORDER BY c.relname"
        )
    finally:
        await conn.close()
    return ", ".join(f"{r['relname']} {r['estimated']}/{r['live']} (analysed {r['analyses']}x)" for r in rows)


async def timed(what: str, work: Awaitable[T]) -> T:
    started = time.perf_counter()
    result = await work
    print(f"   {what}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


async def run(scale: int) -> None:
    settings = bench_settings("kaohe_bench_close", queue=True)
    staff, events, customers = 1000 // scale, 1_000_000 // scale, 5000 // scale
    async with bench_database(settings):
        redis = Redis.from_url(settings.redis_url)
        worker = start_worker(settings)
        try:
            with api_server(settings) as url:
                async with httpx.AsyncClient(base_url=url, timeout=600) as client:
                    await _run(settings, redis, worker, client, scale, staff, events, customers)
        finally:
            worker.process.terminate()
            worker.process.wait(timeout=30)
            await redis.aclose()


async def _run(
    settings: Settings,
    redis: Redis,
    worker: WorkerProcess,
    client: httpx.AsyncClient,
    scale: int,
    staff: int,
    events: int,
    customers: int,
) -> None:
    print(f"seeding through the API: 1 tenant x {staff} staff x {events} events ...", flush=True)
    big = await timed("seeding", seed_tenant(client, "big", staff, customers, events))
    print(f"   statistics: {await table_statistics(settings)}", flush=True)
    # Warm up the worker process (imports, pool) on a tiny tenant.
    warm = await seed_tenant(client, "warm", 2, 2, 10)
    await close_with_worker(redis, settings, [warm])

    bare = min([await bare_sql_seconds(settings, big) for _ in range(3)])
    full = await close_with_worker(redis, settings, [big])
    bare = min(bare, await bare_sql_seconds(settings, big))
    print(
        f"1) bare aggregation SQL: {bare:.3f} s   full close by the worker: {full:.3f} s"
        f"   ratio {full / bare:.2f} (target <= 1.5)"
    )
    print(f"   worker peak RSS (VmHWM): {worker.peak_rss_mb():.0f} MB (target < 300 MB)")

    late = 1000 // scale
    await import_events(client, big.api_key, late_lines(big, late))
    reclose = await close_with_worker(redis, settings, [big])
    print(
        f"2) re-close after {late} late events: {reclose:.3f} s   ratio {reclose / full:.2f} of the full close"
        " (target <= 0.25)"
    )

    tenants = 1000 // scale
    print(
        f"seeding through the API: 1 tenant x {20_000 // scale} staff and {tenants} tenants x 20 staff ...", flush=True
    )
    wide = await timed("wide tenant", seed_tenant(client, "wide", 20_000 // scale, 20_000 // scale, events))
    gate = asyncio.Semaphore(8)

    async def small_tenant(i: int) -> SeededTenant:
        async with gate:
            return await seed_tenant(client, f"small-{i}", 20, 50, 1000)

    small = await timed("small tenants", asyncio.gather(*(small_tenant(i) for i in range(tenants))))
    print(f"   statistics: {await table_statistics(settings)}", flush=True)
    one = await close_with_worker(redis, settings, [wide])
    many = await close_with_worker(redis, settings, small)
    print(
        f"3) {len(small)} small tenants: {many:.3f} s   one tenant with {20_000 // scale} staff: {one:.3f} s"
        f"   ratio {many / one:.2f} (target <= 3)"
    )
    print(f"   worker peak RSS (VmHWM): {worker.peak_rss_mb():.0f} MB")


def scale_from(argv: Sequence[str]) -> int:
    """`--small` divides every size by 10; `--scale N` by N (a run of the full size takes a while to seed)."""
    if "--small" in argv:
        return 10
    if "--scale" in argv:
        return int(argv[argv.index("--scale") + 1])
    return 1


if __name__ == "__main__":
    asyncio.run(run(scale_from(sys.argv)))
