"""Enqueueing jobs: the API calls these; nothing outside workers/ touches arq.

Jobs take ids only and are enqueued after the request's work committed. A close job's arq id is derived from
tenant, scheme and period, so a second request while one is queued or running joins it instead of starting another.
"""

from __future__ import annotations

import asyncio

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import Redis

from server.settings import Settings
from tenants.periods.jobs import create_job, job_key, new_job_id
from tenants.tenancy.identity import TenantId

_pools: dict[tuple[str, str], ArqRedis] = {}


async def arq_pool(settings: Settings) -> ArqRedis:
    """One arq connection pool per Redis URL, queue and process (the API's settings, or the worker's)."""
    key = (settings.redis_url, settings.queue_name)
    if key not in _pools:
        _pools[key] = await create_pool(RedisSettings.from_dsn(key[0]), default_queue_name=key[1])
    return _pools[key]


def close_job_arq_id(tenant_id: int, scheme_id: int, period_key: str) -> str:
    return f"close:{tenant_id}:{scheme_id}:{period_key}"


def _inflight_key(arq_id: str) -> str:
    return f"kaohe:inflight:{arq_id}"


async def enqueue_close(
    redis: Redis, settings: Settings, tenant_id: TenantId, scheme_id: int, period_key: str, *, force: bool
) -> str:
    """Returns the tracking id of the close job for this period: a new one, or the one already queued/running."""
    arq_id = close_job_arq_id(tenant_id, scheme_id, period_key)
    job_id = new_job_id()
    await create_job(redis, job_id, tenant_id, "close", scheme_id=scheme_id, period=period_key)
    pool = await arq_pool(settings)
    # A None from arq means a job with this id is queued or running: join it. Its in-flight record may be a moment
    # behind (just finishing), so look again briefly before giving up.
    for _ in range(20):
        queued = await pool.enqueue_job(
            "close_period_job", int(tenant_id), scheme_id, period_key, job_id, force, _job_id=arq_id
        )
        if queued is not None:
            await redis.set(_inflight_key(arq_id), job_id, ex=24 * 3600)
            return job_id
        existing = await redis.get(_inflight_key(arq_id))
        if existing:
            await redis.delete(job_key(job_id))
            return existing.decode() if isinstance(existing, bytes) else str(existing)
        await asyncio.sleep(0.05)
    raise RuntimeError(f"could not enqueue {arq_id}: arq holds the id but no job is in flight")


async def enqueue_refresh(
    redis: Redis, settings: Settings, tenant_id: TenantId, scheme_id: int, period_key: str
) -> str:
    """On-demand refresh of an open period's provisional scorecards (the cron does it every few minutes anyway)."""
    job_id = new_job_id()
    await create_job(redis, job_id, tenant_id, "refresh", scheme_id=scheme_id, period=period_key)
    pool = await arq_pool(settings)
    await pool.enqueue_job("refresh_provisional_job", int(tenant_id), scheme_id, period_key, job_id)
    return job_id
