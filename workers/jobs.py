"""Thin job functions: ids in, a tenants/ service call, status out.

Failures of a close (see tenants/periods/close.py):
- permanent (config, data): recorded on the period by the close itself; the job fails once and is not retried;
- transient (connection lost, deadlock): arq runs the job again after a short delay, up to CLOSE_MAX_TRIES times;
  after that the job fails and the cron enqueues the period again later (it has no failure recorded);
- never finishing (the worker killed, the job timed out: nothing ran our error handling): counted per period; a close
  that started CLOSE_MAX_STARTS times without finishing is recorded as CLOSE_INTERRUPTED instead of being run again.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, cast

from arq import Retry
from redis.asyncio import Redis

from server.settings import Settings
from tenants.i18n import _
from tenants.periods import scheduling
from tenants.periods.close import close_period, mark_closing
from tenants.periods.errors import CloseError, CloseErrorCode
from tenants.periods.failures import record_close_failure
from tenants.periods.jobs import complete_job, fail_job, retry_job, update_job
from tenants.periods.provisional import refresh_provisional
from tenants.tenancy.identity import tenant_id_for_system
from workers.keys import job_keys
from workers.notify import publish_after_close, publish_after_refresh, snapshot_before_refresh
from workers.queue import claim_refresh, enqueue_close, enqueue_refresh

CLOSE_MAX_TRIES = 5
REFRESH_MAX_TRIES = 3
# Seconds before the next try after a transient failure, by try (1-based); the last applies to later tries.
RETRY_DELAYS = (1, 5, 30, 120)
CLOSE_MAX_STARTS = 5
CLOSE_STARTS_TTL_SECONDS = 24 * 3600
# Deletes KEYS[1] when it holds ARGV[1], in one step (a GET then a DEL could delete a reservation made between them).
_DELETE_IF_HELD_BY = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def _redis(ctx: dict[str, Any]) -> Redis:
    redis: Redis = ctx["redis"]
    return redis


def _settings(ctx: dict[str, Any]) -> Settings:
    settings: Settings = ctx["settings"]
    return settings


def _retry_delay(job_try: int) -> int:
    return RETRY_DELAYS[min(job_try, len(RETRY_DELAYS)) - 1]


async def close_period_job(
    ctx: dict[str, Any], tenant_id: int, scheme_id: int, period_key: str, job_id: str, force: bool = False
) -> str:
    redis = _redis(ctx)
    keys = job_keys(_settings(ctx))
    tenant = tenant_id_for_system(tenant_id)
    arq_id = keys.close_job_id(tenant_id, scheme_id, period_key)
    starts_key = keys.close_attempts(arq_id)
    job_try = int(ctx.get("job_try", 1))

    async def progress(stage: str, done: int, total: int) -> None:
        await update_job(redis, job_id, status="running", stage=stage, done=done, total=total)

    async def finished() -> None:
        # The in-flight key only while it is this close's: one holding another id was reserved after this close's
        # reservation expired (a close queued longer than CLOSE_IN_FLIGHT_SECONDS) and belongs to that close.
        await cast("Awaitable[int]", redis.eval(_DELETE_IF_HELD_BY, 1, keys.close_in_flight(arq_id), job_id))
        await redis.delete(starts_key)

    starts = int(await redis.incr(starts_key))
    await redis.expire(starts_key, CLOSE_STARTS_TTL_SECONDS)
    if starts > CLOSE_MAX_STARTS:
        interrupted = CloseError.of(
            CloseErrorCode.CLOSE_INTERRUPTED,
            _(
                "The close started {starts} times without finishing (the worker stopped or the close timed out); "
                "it is not retried automatically. Close the period again by hand.",
                starts=starts - 1,
            ),
        )
        await record_close_failure(tenant, scheme_id, period_key, interrupted)
        await fail_job(redis, job_id, interrupted)
        await finished()
        return "failed"
    await update_job(redis, job_id, status="running", stage="starting")
    try:
        await mark_closing(tenant, scheme_id, period_key)
        outcome = await close_period(tenant, scheme_id, period_key, progress=progress, force=force)
    except CloseError as error:
        # Permanent: the close recorded it on the period (when it is about the period); a retry would fail alike.
        await fail_job(redis, job_id, error)
        await finished()
        return "failed"
    except Exception as error:
        # Transient (close_period raises nothing else): our handling ran, so this start does not count as lost.
        await redis.delete(starts_key)
        if job_try < CLOSE_MAX_TRIES:
            await retry_job(redis, job_id, _close_unavailable(error, job_try))
            raise Retry(defer=_retry_delay(job_try)) from error
        await fail_job(redis, job_id, _close_unavailable(error, job_try))
        await finished()
        raise
    summary = f"revision {outcome.revision}, {outcome.lines_posted} lines posted"
    await complete_job(redis, job_id, summary)
    await finished()
    # Committed and reported: subscribers whose scorecards changed hear of it (never raises; workers/notify.py).
    await publish_after_close(ctx, tenant, scheme_id, period_key, outcome)
    return summary


def _close_unavailable(error: Exception, tries: int) -> CloseError:
    """A temporary failure: the job is retried, or, after its last try, the cron queues the period again later."""
    return CloseError.of(
        CloseErrorCode.CLOSE_UNAVAILABLE,
        _(
            "The close failed {tries} times for a temporary reason ({reason}); it will be tried again.",
            tries=tries,
            reason=type(error).__name__,
        ),
    )


def _refresh_unavailable(error: Exception, tries: int) -> CloseError:
    """A refresh is retried too, then left to the cron's next refresh of the open period."""
    return CloseError.of(
        CloseErrorCode.CLOSE_UNAVAILABLE,
        _(
            "Refreshing the provisional scorecards failed {tries} times for a temporary reason ({reason}); they "
            "will be refreshed again later.",
            tries=tries,
            reason=type(error).__name__,
        ),
    )


async def refresh_provisional_job(
    ctx: dict[str, Any], tenant_id: int, scheme_id: int, period_key: str, token: str
) -> int:
    """Provisional scorecards of an open period; its status is kept when someone asked for it and follows it."""
    redis = _redis(ctx)
    job_try = int(ctx.get("job_try", 1))
    tracked = await claim_refresh(redis, _settings(ctx), tenant_id, scheme_id, period_key, token)
    if tracked:
        await update_job(redis, token, status="running", stage="scoring")
    # What the provisional scorecards were, so that only the staff whose scorecard changed hear of it.
    before = await snapshot_before_refresh(tenant_id_for_system(tenant_id), scheme_id, period_key)
    try:
        count = await refresh_provisional(tenant_id_for_system(tenant_id), scheme_id, period_key)
    except CloseError as error:
        if tracked:
            await fail_job(redis, token, error)
        return 0
    except Exception as error:
        if job_try < REFRESH_MAX_TRIES:
            if tracked:
                await retry_job(redis, token, _refresh_unavailable(error, job_try))
            raise Retry(defer=_retry_delay(job_try)) from error
        if tracked:
            await fail_job(redis, token, _refresh_unavailable(error, job_try))
        raise
    if tracked:
        await complete_job(redis, token, f"{count} provisional scorecards", done=count, total=count)
    # Committed and reported: subscribers whose provisional scorecard changed hear of it (never raises).
    await publish_after_refresh(ctx, tenant_id_for_system(tenant_id), scheme_id, period_key, before)
    return count


async def close_due_periods(ctx: dict[str, Any]) -> int:
    """Cron: close periods whose end plus the tenant's grace passed, re-close stale ones, refresh provisional cards."""
    redis = _redis(ctx)
    settings = _settings(ctx)
    work = await scheduling.due_work(datetime.now(UTC))
    for item in work.to_close:
        await enqueue_close(
            redis, settings, tenant_id_for_system(item.tenant_id), item.scheme_id, item.period_key, force=False
        )
    for item in work.to_refresh:
        # Joins the pending refresh of the period, if any (a manager's, or an earlier cron run's).
        await enqueue_refresh(
            redis, settings, tenant_id_for_system(item.tenant_id), item.scheme_id, item.period_key, tracked=False
        )
    return len(work.to_close) + len(work.to_refresh)
