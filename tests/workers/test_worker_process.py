"""`kaohe worker` as deployed: one process serves the close queue and the refresh queue, and stops cleanly."""

from __future__ import annotations

import asyncio
import signal
import time

from redis.asyncio import Redis

from server.settings import Settings
from tenants.demo import PERIOD, seed_worked_example
from tenants.periods.jobs import read_job
from tests.conftest import TenantFactory
from tests.periods.test_worker_kill import start_worker
from workers.queue import enqueue_close, enqueue_refresh


async def test_one_worker_process_serves_closes_and_refreshes(
    make_tenant: TenantFactory, database: Settings, redis: Redis
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    refresh_id = await enqueue_refresh(redis, database, tenant.tenant_id, scheme_id, "2026-11")
    close_id = await enqueue_close(redis, database, tenant.tenant_id, scheme_id, PERIOD, force=False)
    worker = start_worker(database, delay_seconds=0)
    try:
        deadline = time.monotonic() + 60
        while True:
            statuses = [await read_job(redis, tenant.tenant_id, job_id) for job_id in (refresh_id, close_id)]
            if all(status is not None and status.status == "complete" for status in statuses):
                break
            assert time.monotonic() < deadline, f"the worker did not do both jobs: {statuses}"
            assert worker.poll() is None, "the worker stopped"
            await asyncio.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert statuses[0] is not None and statuses[0].result == "3 provisional scorecards"
    assert statuses[1] is not None and statuses[1].result == "revision 1, 12 lines posted"
