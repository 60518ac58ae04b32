"""A real worker process killed with SIGKILL in the middle of a close leaves nothing behind; the retry posts
exactly the lines of an uninterrupted close."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from redis.asyncio import Redis

from server.settings import Settings
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.periods.close import close_period
from tenants.periods.jobs import read_job
from tenants.periods.models import LedgerLine, Period, Scorecard
from tenants.periods.provisional import refresh_provisional
from tests.conftest import TenantFactory
from tests.periods.test_close import lines_of, run_worker
from workers.keys import job_keys
from workers.queue import enqueue_close


def start_worker(settings: Settings, delay_seconds: float) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KAOHE_ENV": "test",
        "KAOHE_DATABASE_URL": settings.database_url,
        "KAOHE_OWNER_DATABASE_URL": settings.owner_database_url,
        "KAOHE_REDIS_URL": settings.redis_url,
        "KAOHE_FAULT_CLOSE_DELAY_SECONDS": str(delay_seconds),
        "KAOHE_WORKER_CRON": "false",
        "KAOHE_QUEUE_NAME": settings.queue_name,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def test_sigkill_mid_close_leaves_no_partial_result(
    make_tenant: TenantFactory, database: Settings, redis: Redis
) -> None:
    victim, reference = await make_tenant(), await make_tenant()
    scheme_id = await seed_worked_example(victim.tenant_id)
    reference_scheme = await seed_worked_example(reference.tenant_id)
    await close_period(reference.tenant_id, reference_scheme, PERIOD)

    # The cron keeps provisional scorecards of open periods, so the period row exists when its close starts.
    await refresh_provisional(victim.tenant_id, scheme_id, PERIOD)
    job_id = await enqueue_close(redis, database, victim.tenant_id, scheme_id, PERIOD, force=True)
    worker = start_worker(database, delay_seconds=60)
    try:
        deadline = time.monotonic() + 60
        while True:
            status = await read_job(redis, victim.tenant_id, job_id)
            if status is not None and status.stage == "committing":
                break
            assert time.monotonic() < deadline, f"the worker never reached the commit: {status}"
            await asyncio.sleep(0.1)
        # Scorecards and lines are written inside the open transaction: kill the worker now.
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    await asyncio.sleep(0.5)  # Postgres notices the dropped connection and rolls its transaction back
    async with tenant_unit_of_work(victim.tenant_id):
        assert await Scorecard.filter(tenant_id=victim.tenant_id, provisional=False).count() == 0
        assert await LedgerLine.filter(tenant_id=victim.tenant_id).count() == 0
        period = await Period.get(tenant_id=victim.tenant_id, scheme_id=scheme_id, key=PERIOD)
    assert (period.state, period.revision) == ("closing", 0)

    # arq retries a job whose worker died once its in-progress marker expires; expire it now and run a worker.
    keys = job_keys(database)
    await redis.delete(keys.arq_in_progress(keys.close_job_id(victim.tenant_id, scheme_id, PERIOD)))
    await run_worker(database)
    status = await read_job(redis, victim.tenant_id, job_id)
    assert status is not None
    assert status.status == "complete"

    assert sorted(await lines_of(victim.tenant_id)) == sorted(await lines_of(reference.tenant_id))
    assert len(await lines_of(victim.tenant_id)) == 12
