"""Customer grading benchmark (issue 10 item 8): grading one month of 200,000 customers with 2,000,000 orders by a
worker process, as a ratio of the bare ranking SQL over the same table, measured in the same run.

The tenant is onboarded the way a merchant's data arrives (tests/bench/common.py): teams, staff and customers through
the GraphQL upserts, the month's orders (and a few refunds) through the NDJSON import of a real API server process,
no VACUUM or ANALYZE by hand.

- Reference: the bare ranking SQL: the month's net amount per customer (the same UNION ALL + GROUP BY over `customer`
  and `event`), the window sum of the contributions ranked above, the A/B/C/D CASE, every row fetched by the client.
- Measured: `gradeCustomers` as the product runs it: the grading job in the worker process (`kaohe worker`), from
  enqueue to its status "complete": the aggregation, the pure ranking in Python, the write of every customer's grade
  (COPY into a staging table, one INSERT ... SELECT) and the month's summary, committed. Target <= 1.5.
- Then the same month graded again (its 200,000 grades replaced), and the worker's peak RSS (VmHWM).
- Between seeding and timing, one CHECKPOINT (see `checkpoint`): never VACUUM or ANALYZE.

Run: `uv run python -m tests.bench.grading [--scale N] [--keep] [--previous]` (every size / N; seeding the full
size takes minutes; `--keep` keeps the seeded database, named by the scale, and a later `--keep` run measures on it
again; `--previous` also seeds September, grades it first, and times October as the monthly job meets it: last
month's grades merged and the alerts of the customers who turned D).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from redis.asyncio import Redis

from server.settings import Settings, replace_database
from tenants.periods.jobs import read_job
from tenants.rules.calendar import period_window
from tenants.tenancy import service
from tenants.tenancy.auth import Scope
from tenants.tenancy.identity import TenantId, tenant_id_for_system
from tests.bench.close import WorkerProcess, start_worker, table_statistics, timed
from tests.bench.common import api_server, bench_database, bench_settings, import_events, upsert_master_data
from workers.grading import enqueue_grading

MONTH = "2026-10"
MONTH_START = datetime(2026, 9, 30, 16, tzinfo=UTC)  # 2026-10-01 00:00 in Shanghai
MONTH_SECONDS = 31 * 24 * 3600
SEPTEMBER_START = datetime(2026, 8, 31, 16, tzinfo=UTC)  # 2026-09-01 00:00 in Shanghai
SEPTEMBER_SECONDS = 30 * 24 * 3600

BARE_RANKING = """
WITH customer_totals AS (
    SELECT customer_id, max(code) AS code, sum(amount) AS amount FROM (
        SELECT cu.id AS customer_id, cu.code, NULL::numeric AS amount FROM customer cu WHERE cu.tenant_id = $1
        UNION ALL
        SELECT e.customer_id, NULL, e.amount FROM event e
        WHERE e.tenant_id = $1 AND e.customer_id IS NOT NULL AND e.type IN ('order', 'refund')
          AND e.status = 'counted' AND e.occurred_at >= $2 AND e.occurred_at < $3
    ) AS month_rows GROUP BY customer_id
),
ranked AS (
    SELECT customer_id, coalesce(sum(amount) OVER (ORDER BY amount DESC, code
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
           sum(amount) OVER () AS total
    FROM customer_totals WHERE code IS NOT NULL AND amount > 0
)
SELECT customer_id, CASE WHEN before < total * 0.2 THEN 'A' WHEN before < total * 0.6 THEN 'B' ELSE 'C' END AS grade
FROM ranked
UNION ALL
SELECT customer_id, 'D' FROM customer_totals WHERE code IS NOT NULL AND (amount IS NULL OR amount <= 0)
"""


def order_lines(staff: int, customers: int, orders: int, *, september: bool = False) -> Iterator[str]:
    """The month's orders spread over staff, customers and the month by arithmetic; every 50th line a refund of
    the order before it. A tenth of the customers buy nothing (they are D): in October the last tenth, in September
    (`september`, for `--previous`) the first, so October turns September's last tenth D (alerts) and brings the
    first tenth back."""
    buyers = customers - customers // 10
    first_buyer, start, seconds, prefix = (
        (customers // 10, SEPTEMBER_START, SEPTEMBER_SECONDS, "s") if september else (0, MONTH_START, MONTH_SECONDS, "")
    )

    def customer(g: int) -> str:
        return f"c{first_buyer + (g * 31) % buyers}"

    for g in range(orders):
        at = (start + timedelta(seconds=(g * 7919) % seconds)).isoformat()
        if g % 50 == 49:
            item: dict[str, object] = {
                "externalId": f"{prefix}r-{g}",
                "type": "refund",
                "occurredAt": at,
                "staff": f"g{(g - 1) % staff}",
                "customer": customer(g - 1),
                "amount": "-20",
                "attributes": {"order": f"{prefix}o-{g - 1}"},
            }
        else:
            item = {
                "externalId": f"{prefix}o-{g}",
                "type": "order",
                "occurredAt": at,
                "staff": f"g{g % staff}",
                "customer": customer(g),
                "amount": f"{20 + (g * 13) % 2000}.{g % 100:02d}",
            }
        yield json.dumps(item)


async def seed(
    client: httpx.AsyncClient, slug: str, staff: int, customers: int, orders: int, *, previous: bool = False
) -> tuple[TenantId, str]:
    tenant = await service.create_tenant(slug, slug)
    tenant_id = tenant_id_for_system(tenant.id)
    api_key = (
        await service.create_api_key(tenant_id, "bench", [Scope.STAFF_WRITE, Scope.EVENTS_WRITE], None)
    ).plaintext
    stores = (staff + 19) // 20
    await upsert_master_data(client, api_key, "teams", [{"code": f"s{i}", "name": f"store {i}"} for i in range(stores)])
    await upsert_master_data(
        client,
        api_key,
        "staff",
        [{"code": f"g{i}", "name": f"guide {i}", "role": "guide", "team": f"s{i // 20}"} for i in range(staff)],
    )
    await upsert_master_data(client, api_key, "customers", [{"code": f"c{i}", "name": ""} for i in range(customers)])
    if previous:
        await import_events(client, api_key, order_lines(staff, customers, orders, september=True))
    await import_events(client, api_key, order_lines(staff, customers, orders))
    return tenant_id, api_key


async def grade_with_worker(
    redis: Redis, settings: Settings, tenant_id: TenantId, month: str = MONTH
) -> tuple[float, str]:
    started = time.perf_counter()
    job_id = await enqueue_grading(redis, settings, tenant_id, month)
    while True:
        status = await read_job(redis, tenant_id, job_id)
        if status is not None and status.status == "complete":
            return time.perf_counter() - started, status.result or ""
        if status is not None and status.status == "failed":
            raise RuntimeError(f"grading failed: {status.error}")
        await asyncio.sleep(0.02)


async def bare_ranking_seconds(settings: Settings, tenant_id: TenantId) -> tuple[float, int]:
    starts, ends = period_window("month", MONTH, "Asia/Shanghai")
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL app.tenant_id = '{int(tenant_id)}'")
            started = time.perf_counter()
            rows = await conn.fetch(BARE_RANKING, tenant_id, starts, ends)
            elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    return elapsed, len(rows)


@contextmanager
def patient_api_server(settings: Settings, attempts: int = 5) -> Iterator[str]:
    """common.api_server, tried again when the process is slow to start (a loaded machine imports for long)."""
    for attempt in range(attempts):
        stack = ExitStack()
        try:
            url = stack.enter_context(api_server(settings))
        except RuntimeError:
            stack.close()
            if attempt == attempts - 1:
                raise
            continue
        with stack:
            yield url
        return


async def seeded_tenant(settings: Settings, slug: str) -> TenantId | None:
    """The tenant `slug` of a kept database, when a previous `--keep` run finished seeding it."""
    # the superuser: the owner role too is under the tenant policies of customer_grade_month
    conn = await asyncpg.connect(replace_database(settings.superuser_url, settings.database_name))
    try:
        found = await conn.fetchval(
            "SELECT t.id FROM tenant t WHERE t.slug = $1 AND EXISTS (SELECT 1 FROM customer_grade_month m "
            "WHERE m.tenant_id = t.id)",
            slug,
        )
    finally:
        await conn.close()
    return None if found is None else tenant_id_for_system(found)


async def checkpoint(settings: Settings) -> None:
    """Seeding wrote ~1 GB of WAL: a checkpoint it triggered may still be flushing when the timed work starts, and
    would slow the grading's writes (not the reference's reads) by chance. CHECKPOINT finishes that work first; it
    touches no statistics (no VACUUM or ANALYZE), and the grading then pays the full-page images of every page it is
    the first to touch."""
    conn = await asyncpg.connect(replace_database(settings.superuser_url, settings.database_name))
    try:
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def run(scale: int, keep: bool, previous: bool = False) -> None:
    settings = bench_settings("kaohe_bench_grading", queue=True)
    if keep:
        settings = settings.with_database(f"kaohe_bench_grading_kept_{scale}{'_previous' if previous else ''}")
    staff, customers, orders = 2000 // scale, 200_000 // scale, 2_000_000 // scale
    async with bench_database(settings, keep=keep):
        redis = Redis.from_url(settings.redis_url)
        worker: WorkerProcess = start_worker(settings)
        try:
            kept_big, kept_warm = await seeded_tenant(settings, "big"), await seeded_tenant(settings, "warm")
            if kept_big is not None and kept_warm is not None:
                print(
                    "measuring on the kept database: its month was graded by an earlier run, "
                    "so both figures below are re-gradings",
                    flush=True,
                )
                big, warm = kept_big, kept_warm
            else:
                with patient_api_server(settings) as url:
                    async with httpx.AsyncClient(base_url=url, timeout=None) as client:
                        print(
                            f"seeding through the API: {staff} staff, {customers} customers, {orders} orders ...",
                            flush=True,
                        )
                        big, _ = await timed(
                            "seeding", seed(client, "big", staff, customers, orders, previous=previous)
                        )
                        print(f"   statistics: {await table_statistics(settings)}", flush=True)
                        warm, _ = await seed(client, "warm", 2, 5, 20)
            await grade_with_worker(redis, settings, warm)  # the worker's imports and pool, warmed up
            if previous:
                september, _ = await grade_with_worker(redis, settings, big, "2026-09")
                print(f"   September graded first (untimed reference: {september:.3f} s)", flush=True)
            await checkpoint(settings)

            bare, rows = min([await bare_ranking_seconds(settings, big) for _ in range(3)])
            graded, summary = await grade_with_worker(redis, settings, big)
            again, _ = await grade_with_worker(redis, settings, big)
            bare = min(bare, (await bare_ranking_seconds(settings, big))[0])
            print(f"   {summary}")
            print(
                f"1) bare ranking SQL ({rows} rows): {bare:.3f} s   grading by the worker: {graded:.3f} s"
                f"   ratio {graded / bare:.2f} (target <= 1.5)"
            )
            print(f"2) the same month graded again (grades replaced): {again:.3f} s   ratio {again / bare:.2f}")
            print(f"   worker peak RSS (VmHWM): {worker.peak_rss_mb():.0f} MB", flush=True)
        finally:
            worker.process.terminate()
            worker.process.wait(timeout=30)
            await redis.aclose()


def scale_from(argv: Sequence[str]) -> int:
    if "--scale" in argv:
        return max(1, int(argv[argv.index("--scale") + 1]))
    return 1


if __name__ == "__main__":
    asyncio.run(run(scale_from(sys.argv), "--keep" in sys.argv, "--previous" in sys.argv))
