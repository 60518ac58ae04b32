"""Close benchmark: figures as ratios against references measured in the same run.

1. 1,000 staff, 1,000,000 events in one month, the worked-example scheme plus a count_distinct_customers metric:
   the full close by a worker process (aggregation, engine, writes) against the bare SQL that aggregates the same
   metric values from the same table. Target <= 1.5. The worker's peak RSS (VmHWM) must stay under 300 MB.
2. Re-close after 1,000 late events against the full close. Target <= 0.25.
3. 1,000 small tenants (20 staff, 1,000 events each) closed by the worker against one tenant with 20,000 staff and the
   same 1,000,000 events. Target <= 3.

Run: `make bench` or `uv run python -m tests.bench.close [--small]` (--small: every size / 10, a quick look).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

import asyncpg
from redis.asyncio import Redis
from tortoise import Tortoise

from server.db import app_tortoise_config
from server.dbadmin import drop_database, init_database, migrate_database
from server.settings import Settings, replace_database
from tenants.audit.service import SYSTEM
from tenants.periods.aggregation import build_query
from tenants.periods.close import resolve_period
from tenants.periods.jobs import read_job
from tenants.schemes import service as schemes
from tenants.schemes.templates import get_template
from tenants.tenancy import service
from tenants.tenancy.identity import tenant_id_for_system
from tenants.tenancy.uow import tenant_unit_of_work
from workers.queue import enqueue_close

PERIOD = "2026-10"


def bench_settings() -> Settings:
    run = os.getpid()
    return Settings(
        env="test", redis_url="redis://127.0.0.1:6379/13", queue_name=f"kaohe:queue:bench:{run}"
    ).with_database(f"kaohe_bench_close_{run}")


@asynccontextmanager
async def bench_database(settings: Settings) -> AsyncIterator[Settings]:
    await init_database(settings)
    await migrate_database(settings)
    await Tortoise.init(config=app_tortoise_config(settings))
    try:
        yield settings
    finally:
        await Tortoise.close_connections()
        await drop_database(settings)


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


async def seed_tenant(su: asyncpg.Connection, slug: str, staff: int, customers: int, events: int) -> tuple[int, int]:
    tenant = await service.create_tenant(slug, slug)
    tenant_id = tenant_id_for_system(tenant.id)
    await su.execute(
        "INSERT INTO staff (tenant_id, code, name, role, active, created_at, updated_at) "
        "SELECT $1, 'g' || g, 'guide ' || g, 'guide', true, now(), now() FROM generate_series(1, $2) g",
        tenant.id,
        staff,
    )
    await su.execute(
        "INSERT INTO customer (tenant_id, code, name, created_at, updated_at) "
        "SELECT $1, 'c' || g, '', now(), now() FROM generate_series(1, $2) g",
        tenant.id,
        customers,
    )
    # Staff and customers by position: generate the events with plain arithmetic on their ids.
    staff_ids = [r["id"] for r in await su.fetch("SELECT id FROM staff WHERE tenant_id = $1 ORDER BY id", tenant.id)]
    customer_ids = [
        r["id"] for r in await su.fetch("SELECT id FROM customer WHERE tenant_id = $1 ORDER BY id", tenant.id)
    ]
    await su.execute(
        """
        INSERT INTO event (tenant_id, external_id, type, occurred_at, received_at, staff_id, customer_id, amount,
                           attributes, credit_staff_ids, credit_shares, status)
        SELECT $1, 'e-' || g, kind,
               timestamptz '2026-09-30 16:00:00+00' + ((g::bigint * 7919) % 2678400) * interval '1 second',
               now(), sid, cid,
               CASE WHEN kind = 'order' THEN 100 + (g % 900) WHEN kind = 'refund' THEN -50 END,
               CASE WHEN kind = 'complaint' THEN '{"caused_by_follow_up": true}'::jsonb ELSE '{}'::jsonb END,
               ARRAY[sid], ARRAY[1.0]::numeric[], 'counted'
        FROM (
            SELECT g, ($3::bigint[])[1 + g % cardinality($3::bigint[])] AS sid,
                   ($4::bigint[])[1 + (g::bigint * 31) % cardinality($4::bigint[])] AS cid,
                   (ARRAY['order','order','order','order','customer_added','old_customer_invited',
                          'old_customer_joined','follow_up_missed','complaint','refund'])[1 + g % 10] AS kind
            FROM generate_series(0, $2 - 1) g
        ) src
        """,
        tenant.id,
        events,
        staff_ids,
        customer_ids,
    )
    scheme = await schemes.create_scheme(tenant_id, SYSTEM, "bench")
    draft = await schemes.save_draft(tenant_id, SYSTEM, scheme.id, bench_config())
    await schemes.publish_version(tenant_id, SYSTEM, draft.id, date(2026, 10, 1))
    return tenant.id, scheme.id


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


async def close_with_worker(redis: Redis, settings: Settings, targets: list[tuple[int, int]]) -> float:
    started = time.perf_counter()
    jobs = [
        (
            tenant_id_for_system(t),
            await enqueue_close(redis, settings, tenant_id_for_system(t), s, PERIOD, force=True),
        )
        for t, s in targets
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


async def bare_sql_seconds(settings: Settings, tenant_id: int, scheme_id: int) -> float:
    tid = tenant_id_for_system(tenant_id)
    async with tenant_unit_of_work(tid) as conn:
        resolved = await resolve_period(conn, tid, scheme_id, PERIOD)
    sql, params, _, _ = build_query(
        tid, resolved.config, resolved.starts_at, resolved.ends_at, resolved.local_start, resolved.local_end
    )
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
            started = time.perf_counter()
            rows = await conn.fetch(sql, *params)
            elapsed = time.perf_counter() - started
        assert rows
    finally:
        await conn.close()
    return elapsed


async def run(scale: int) -> None:
    settings = bench_settings()
    staff, events = 1000 // scale, 1_000_000 // scale
    async with bench_database(settings):
        su = await asyncpg.connect(replace_database(settings.superuser_url, settings.database_name))
        redis = Redis.from_url(settings.redis_url)
        await redis.flushdb()
        print(f"seeding: 1 tenant x {staff} staff x {events} events ...", flush=True)
        big_tenant, big_scheme = await seed_tenant(su, "big", staff, 5000 // scale, events)
        await su.execute("VACUUM ANALYZE")
        worker = start_worker(settings)
        try:
            # Warm up the worker process (imports, pool) on a tiny tenant.
            warm = await seed_tenant(su, "warm", 2, 2, 10)
            await close_with_worker(redis, settings, [warm])

            bare = min([await bare_sql_seconds(settings, big_tenant, big_scheme) for _ in range(3)])
            full = await close_with_worker(redis, settings, [(big_tenant, big_scheme)])
            bare_after = await bare_sql_seconds(settings, big_tenant, big_scheme)
            print(
                f"1) bare aggregation SQL: {min(bare, bare_after):.3f} s   full close by the worker: {full:.3f} s"
                f"   ratio {full / min(bare, bare_after):.2f} (target <= 1.5)"
            )
            print(f"   worker peak RSS (VmHWM): {worker.peak_rss_mb():.0f} MB (target < 300 MB)")

            late = 1000 // scale
            await su.execute(
                """
                INSERT INTO event (tenant_id, external_id, type, occurred_at, received_at, staff_id, customer_id,
                                   amount, attributes, credit_staff_ids, credit_shares, status)
                SELECT $1, 'late-' || g, 'order', timestamptz '2026-10-15 04:00:00+00', now(), s.id, NULL, 100,
                       '{}'::jsonb, ARRAY[s.id], ARRAY[1.0]::numeric[], 'counted'
                FROM generate_series(1, $2) g
                JOIN LATERAL (SELECT id FROM staff WHERE tenant_id = $1 ORDER BY id OFFSET g % 500 LIMIT 1) s ON true
                """,
                big_tenant,
                late,
            )
            reclose = await close_with_worker(redis, settings, [(big_tenant, big_scheme)])
            print(
                f"2) re-close after {late} late events: {reclose:.3f} s   ratio {reclose / full:.2f} of the full close"
                " (target <= 0.25)"
            )

            print(
                f"seeding: 1 tenant x {20 * 1000 // scale} staff and {1000 // scale} tenants x 20 staff ...", flush=True
            )
            wide = await seed_tenant(su, "wide", 20_000 // scale, 20_000 // scale, events)
            small = [await seed_tenant(su, f"small-{i}", 20, 50, 1000) for i in range(1000 // scale)]
            await su.execute("VACUUM ANALYZE")
            one = await close_with_worker(redis, settings, [wide])
            many = await close_with_worker(redis, settings, small)
            print(
                f"3) {len(small)} small tenants: {many:.3f} s   one tenant with {20_000 // scale} staff: {one:.3f} s"
                f"   ratio {many / one:.2f} (target <= 3)"
            )
            print(f"   worker peak RSS (VmHWM): {worker.peak_rss_mb():.0f} MB")
        finally:
            worker.process.terminate()
            worker.process.wait(timeout=30)
            await su.close()
            await redis.aclose()


if __name__ == "__main__":
    asyncio.run(run(10 if "--small" in sys.argv else 1))
