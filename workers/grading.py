"""arq side of customer grading and follow-ups: the jobs, the crons and the `GradingQueue` implementation.

- Grading: one job per tenant and month (its arq id derived from both, so asking again while one is queued or
  running joins it); the monthly cron (hourly: a tenant's month ends at its own midnight) enqueues the month just
  over of every tenant that has no grades for it yet.
- Follow-ups: the cron runs every tenant's follow-up rules every few minutes (tenants/followups), emitting one
  missed follow-up event per overdue order through the events service; running it twice emits nothing new.
Status of a requested grading is kept like a close's (tenants/periods/jobs.py), so GraphQL `job(id)` follows it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from arq import Retry
from redis.asyncio import Redis

from server.settings import Settings
from tenants.audit.service import SYSTEM
from tenants.followups.service import detect_all_tenants
from tenants.grading.jobs import GradingQueue, install_grading_queue
from tenants.grading.service import grade_month, months_due
from tenants.i18n import _
from tenants.periods.errors import CloseError, CloseErrorCode
from tenants.periods.jobs import complete_job, create_job, fail_job, job_key, new_job_id, retry_job, update_job
from tenants.tenancy.identity import TenantId, tenant_id_for_system
from workers.keys import job_keys
from workers.queue import arq_pool

GRADING_MAX_TRIES = 3
GRADING_IN_FLIGHT_SECONDS = 24 * 3600
log = structlog.get_logger("kaohe.worker.grading")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def grading_job_id(settings: Settings, tenant_id: int, month: str) -> str:
    return job_keys(settings).grading_job_id(tenant_id, month)


def grading_in_flight(settings: Settings, arq_id: str) -> str:
    """Tracking id of the grading that holds this arq id (the same key form as a close's)."""
    return job_keys(settings).close_in_flight(arq_id)


async def enqueue_grading(redis: Redis, settings: Settings, tenant_id: TenantId, month: str) -> str:
    """The tracking id of the grading of this month: a new job, or the one already queued or running."""
    arq_id = grading_job_id(settings, tenant_id, month)
    in_flight = grading_in_flight(settings, arq_id)
    job_id = new_job_id()
    await create_job(redis, job_id, tenant_id, "grading", period=month)
    pool = await arq_pool(settings)
    for _attempt in range(20):
        queued = await pool.enqueue_job("grade_customers_job", int(tenant_id), month, job_id, _job_id=arq_id)
        if queued is not None:
            await redis.set(in_flight, job_id, ex=GRADING_IN_FLIGHT_SECONDS)
            return job_id
        existing = await redis.get(in_flight)
        if existing:
            await redis.delete(job_key(job_id))
            return _text(existing)
        await asyncio.sleep(0.05)
    raise RuntimeError(f"could not enqueue {arq_id}: arq holds the id but no job is in flight")


@dataclass(frozen=True)
class ArqGradingQueue:
    redis: Redis
    settings: Settings

    async def enqueue_grading(self, tenant_id: TenantId, month: str) -> str:
        return await enqueue_grading(self.redis, self.settings, tenant_id, month)


def install_arq_grading_queue(redis: Redis, settings: Settings) -> GradingQueue:
    queue = ArqGradingQueue(redis, settings)
    install_grading_queue(queue)
    return queue


def _unavailable(error: Exception, tries: int) -> CloseError:
    return CloseError.of(
        CloseErrorCode.CLOSE_UNAVAILABLE,
        _(
            "Grading failed {tries} times for a temporary reason ({reason}); it will be tried again.",
            tries=tries,
            reason=type(error).__name__,
        ),
    )


async def grade_customers_job(ctx: dict[str, Any], tenant_id: int, month: str, job_id: str) -> str:
    redis: Redis = ctx["redis"]
    settings: Settings = ctx["settings"]
    job_try = int(ctx.get("job_try", 1))
    in_flight = grading_in_flight(settings, grading_job_id(settings, tenant_id, month))
    await update_job(redis, job_id, status="running", stage="grading")
    try:
        outcome = await grade_month(tenant_id_for_system(tenant_id), SYSTEM, month)
    except Exception as error:
        if job_try < GRADING_MAX_TRIES:
            await retry_job(redis, job_id, _unavailable(error, job_try))
            raise Retry(defer=5 * job_try) from error
        await fail_job(redis, job_id, _unavailable(error, job_try))
        await redis.delete(in_flight)
        raise
    counts = ", ".join(f"{grade} {count}" for grade, count in outcome.counts.items())
    summary = f"{outcome.customers} customers graded ({counts}), {outcome.alerts_created} alerts"
    await complete_job(redis, job_id, summary, done=outcome.customers, total=outcome.customers)
    await redis.delete(in_flight)
    return summary


async def grade_due_months(ctx: dict[str, Any]) -> int:
    """Cron: grade every tenant's month that has ended (in its timezone) and has no grades yet."""
    redis: Redis = ctx["redis"]
    settings: Settings = ctx["settings"]
    due = await months_due(datetime.now(UTC))
    for tenant_id, month in due:
        await enqueue_grading(redis, settings, tenant_id, month)
    return len(due)


async def detect_missed_follow_ups(ctx: dict[str, Any]) -> int:
    """Cron: every tenant's follow-up rules; the number of missed follow-ups emitted."""
    return await detect_all_tenants(datetime.now(UTC))
