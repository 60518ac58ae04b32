"""Thin job functions: ids in, a tenants/ service call, status out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from tenants.periods import scheduling
from tenants.periods.close import CloseError, close_period, mark_closing, refresh_provisional
from tenants.periods.jobs import update_job
from tenants.tenancy.identity import tenant_id_for_system
from workers.queue import arq_pool, enqueue_close


def _redis(ctx: dict[str, Any]) -> Redis:
    redis: Redis = ctx["redis"]
    return redis


async def close_period_job(
    ctx: dict[str, Any], tenant_id: int, scheme_id: int, period_key: str, job_id: str, force: bool = False
) -> str:
    redis = _redis(ctx)
    tenant = tenant_id_for_system(tenant_id)

    async def progress(stage: str, done: int, total: int) -> None:
        await update_job(redis, job_id, status="running", stage=stage, done=done, total=total)

    await update_job(redis, job_id, status="running", stage="starting")
    try:
        await mark_closing(tenant, scheme_id, period_key)
        outcome = await close_period(tenant, scheme_id, period_key, progress=progress, force=force)
    except CloseError as error:
        await update_job(redis, job_id, status="failed", stage="failed", error=f"{error.code}: {error.message}")
        return "failed"
    except Exception as error:
        await update_job(redis, job_id, status="failed", stage="failed", error=type(error).__name__)
        raise
    finally:
        await redis.delete(f"kaohe:inflight:close:{tenant_id}:{scheme_id}:{period_key}")
    summary = f"revision {outcome.revision}, {outcome.lines_posted} lines posted"
    await update_job(redis, job_id, status="complete", stage="done", result=summary)
    return summary


async def refresh_provisional_job(
    ctx: dict[str, Any], tenant_id: int, scheme_id: int, period_key: str, job_id: str | None = None
) -> int:
    """Provisional scorecards of an open period; `job_id` when someone asked for it and follows it."""
    redis = _redis(ctx)
    if job_id:
        await update_job(redis, job_id, status="running", stage="scoring")
    try:
        count = await refresh_provisional(tenant_id_for_system(tenant_id), scheme_id, period_key)
    except CloseError as error:
        if job_id:
            await update_job(redis, job_id, status="failed", stage="failed", error=f"{error.code}: {error.message}")
        return 0
    if job_id:
        await update_job(
            redis,
            job_id,
            status="complete",
            stage="done",
            done=count,
            total=count,
            result=f"{count} provisional scorecards",
        )
    return count


async def close_due_periods(ctx: dict[str, Any]) -> int:
    """Cron: close periods whose end plus the tenant's grace passed, re-close stale ones, refresh provisional cards."""
    redis = _redis(ctx)
    now = datetime.now(UTC)
    work = await scheduling.due_work(now)
    settings = ctx["settings"]
    pool = await arq_pool(settings)
    minute = now.replace(second=0, microsecond=0).isoformat()
    for item in work.to_close:
        await enqueue_close(
            redis, settings, tenant_id_for_system(item.tenant_id), item.scheme_id, item.period_key, force=False
        )
    for item in work.to_refresh:
        await pool.enqueue_job(
            "refresh_provisional_job",
            item.tenant_id,
            item.scheme_id,
            item.period_key,
            # One refresh per period and minute, however many cron runs overlap.
            _job_id=f"provisional:{item.tenant_id}:{item.scheme_id}:{item.period_key}:{minute}",
        )
    return len(work.to_close) + len(work.to_refresh)
