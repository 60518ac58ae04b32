"""Enqueueing jobs: the domain's `tenants.jobs.JobQueue` on arq (`ArqJobQueue`, installed by the API and the worker
at startup) and the cron call these; nothing outside workers/ touches arq.

Jobs take ids only and are enqueued after the request's work committed (services enqueue through the unit of work's
after-commit hook, tenants/jobs.py). Ids and keys come from workers/keys.py.

- Close: the arq id is derived from tenant, scheme and period, so a second request while one is queued or running
  joins it (its tracking id is kept under the in-flight key) instead of starting another. The tracking id is
  reserved before the request's commit (`reserve_close`: the in-flight key set, the status created, atomically;
  or the id already in flight, joined) and the job enqueued after it (`enqueue_close` with that id), so the request's
  audit entry names the job that serves it, joined or new. Each request that reserved or joined queues the close
  after its own commit unless it is queued or has started: a reservation whose request rolled back (or whose process
  died before enqueueing) is queued by the next request for the period (or the cron), never left stuck.
- Provisional refresh: at most one pending (queued, not started) per tenant, scheme and period. A request while one is
  pending gets its tracking id; once it has started (it may have read the data already), the next request queues a
  new one. Refreshes go to a queue of their own (`JobKeys.refresh_queue`), served by a worker of their own with few
  slots (workers/settings.py), so closes never wait behind them, however many refreshes one tenant asks for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, cast

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import Job
from redis.asyncio import Redis
from redis.exceptions import WatchError

from server.settings import Settings
from tenants.jobs import CloseReservation, JobQueue, install_job_queue
from tenants.periods.jobs import create_job, job_key, new_job_id
from tenants.tenancy.identity import TenantId
from workers.keys import job_keys

# A pending refresh whose job was lost (enqueue failed half way) stops blocking new ones after this.
PENDING_REFRESH_SECONDS = 15 * 60
CLOSE_IN_FLIGHT_SECONDS = 24 * 3600

_pools: dict[tuple[str, str], ArqRedis] = {}


async def arq_pool(settings: Settings) -> ArqRedis:
    """One arq connection pool per Redis URL, queue and process (the API's settings, or the worker's)."""
    key = (settings.redis_url, settings.queue_name)
    if key not in _pools:
        _pools[key] = await create_pool(RedisSettings.from_dsn(key[0]), default_queue_name=key[1])
    return _pools[key]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def reserve_close(
    redis: Redis, settings: Settings, tenant_id: TenantId, scheme_id: int, period_key: str
) -> CloseReservation:
    """The close that will serve a request for this period made now: the one reserved, queued or running (joined), or
    a new one reserved (its status created, queued). Enqueues nothing: called before the request's commit."""
    keys = job_keys(settings)
    in_flight = keys.close_in_flight(keys.close_job_id(tenant_id, scheme_id, period_key))
    while True:
        job_id = new_job_id()
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(in_flight)
                existing = await pipe.get(in_flight)
                if existing is not None:
                    return CloseReservation(_text(existing), joined=True)
                pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                pipe.set(in_flight, job_id, ex=CLOSE_IN_FLIGHT_SECONDS)
                await create_job(pipe, job_id, tenant_id, "close", scheme_id=scheme_id, period=period_key)
                await pipe.execute()
                return CloseReservation(job_id, joined=False)
            except WatchError:
                continue  # another request reserved it meanwhile, or its close finished: look again


async def enqueue_close(
    redis: Redis,
    settings: Settings,
    tenant_id: TenantId,
    scheme_id: int,
    period_key: str,
    *,
    force: bool,
    job_id: str | None = None,
) -> str:
    """Makes sure the close `job_id` (reserved by `reserve_close` before the request's commit) is queued, unless it
    has started already; without `job_id` (the cron, tests) reserves one first. Returns the tracking id.

    Every request that reserved or joined a close calls this after its commit, so whichever commits first queues it
    (a request that rolled back leaves a reservation the next request queues). arq refusing the id means a job holds
    it: this close (queued by another request: done), or the previous close of the period, still finishing after it
    cleared the in-flight key (look again briefly)."""
    if job_id is None:
        job_id = (await reserve_close(redis, settings, tenant_id, scheme_id, period_key)).job_id
    arq_id = job_keys(settings).close_job_id(tenant_id, scheme_id, period_key)
    pool = await arq_pool(settings)
    for _ in range(20):
        if not await _not_started(redis, job_id):
            return job_id  # running, retrying or finished: someone queued it
        queued = await pool.enqueue_job(
            "close_period_job", int(tenant_id), scheme_id, period_key, job_id, force, _job_id=arq_id
        )
        if queued is not None:
            return job_id
        holder = await Job(arq_id, pool, _queue_name=settings.queue_name).info()
        if holder is not None and len(holder.args) > 3 and holder.args[3] == job_id:
            return job_id
        await asyncio.sleep(0.05)
    raise RuntimeError(f"could not enqueue {arq_id}: arq holds the id for another close than {job_id}")


async def _not_started(redis: Redis, job_id: str) -> bool:
    """Still as reserved (queued, never run): a job that ran has moved on (running, retrying, complete, failed)."""
    status, stage = await cast("Awaitable[list[Any]]", redis.hmget(job_key(job_id), ["status", "stage"]))
    return status is not None and _text(status) == "queued" and stage is not None and _text(stage) == "queued"


async def enqueue_refresh(
    redis: Redis,
    settings: Settings,
    tenant_id: TenantId,
    scheme_id: int,
    period_key: str,
    *,
    tracked: bool = True,
) -> str:
    """Refresh of an open period's provisional scorecards: the tracking id of the pending one, or of a new one.

    `tracked` (someone follows it with job(id)) makes sure the id has a status to read; the cron's refreshes are not
    tracked (nobody reads them, and a status per period every few minutes would fill Redis) until someone joins one.
    """
    keys = job_keys(settings)
    pending = keys.pending_refresh(tenant_id, scheme_id, period_key)
    fields: dict[str, Any] = {"scheme_id": scheme_id, "period": period_key}
    while True:
        token = new_job_id()
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(pending)
                existing = await pipe.get(pending)
                if existing is not None:
                    joined = _text(existing)
                    # The job reads "tracked" once it claims the pending slot; make the status exist before that,
                    # atomically with the slot still being this job's (else the job has started: queue a new one).
                    if tracked and not await pipe.exists(job_key(joined)):
                        pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                        await create_job(pipe, joined, tenant_id, "refresh", **fields)
                        await pipe.execute()
                    return joined
                pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                pipe.set(pending, token, ex=PENDING_REFRESH_SECONDS)
                if tracked:
                    await create_job(pipe, token, tenant_id, "refresh", **fields)
                await pipe.execute()
            except WatchError:
                continue  # the pending refresh started or was replaced meanwhile: look again
        break
    pool = await arq_pool(settings)
    try:
        await pool.enqueue_job(
            "refresh_provisional_job",
            int(tenant_id),
            scheme_id,
            period_key,
            token,
            _job_id=keys.refresh_job_id(token),
            _queue_name=keys.refresh_queue,
        )
    except BaseException:
        await _release_pending(redis, pending, token)
        raise
    return token


@dataclass(frozen=True)
class ArqJobQueue:
    """The process's `tenants.jobs.JobQueue`: jobs on the arq queue of `settings`, their status in `redis`."""

    redis: Redis
    settings: Settings

    async def reserve_close(self, tenant_id: TenantId, scheme_id: int, period_key: str) -> CloseReservation:
        return await reserve_close(self.redis, self.settings, tenant_id, scheme_id, period_key)

    async def enqueue_close(
        self, tenant_id: TenantId, scheme_id: int, period_key: str, *, force: bool, job_id: str | None = None
    ) -> str:
        return await enqueue_close(
            self.redis, self.settings, tenant_id, scheme_id, period_key, force=force, job_id=job_id
        )

    async def enqueue_refresh(self, tenant_id: TenantId, scheme_id: int, period_key: str) -> str:
        return await enqueue_refresh(self.redis, self.settings, tenant_id, scheme_id, period_key)


def install_arq_job_queue(redis: Redis, settings: Settings) -> JobQueue:
    """Install the arq queue of `settings` as the process's job queue (the API's lifespan, the worker's startup)."""
    queue = ArqJobQueue(redis, settings)
    install_job_queue(queue)
    return queue


async def claim_refresh(
    redis: Redis, settings: Settings, tenant_id: int, scheme_id: int, period_key: str, token: str
) -> bool:
    """The refresh job `token` starts: from now on a request queues a new refresh instead of joining this one.
    Returns whether someone follows this job (its status exists; nobody can join it any more)."""
    await _release_pending(redis, job_keys(settings).pending_refresh(tenant_id, scheme_id, period_key), token)
    return bool(await redis.exists(job_key(token)))


async def _release_pending(redis: Redis, pending: str, token: str) -> None:
    """Clear the pending slot if it still holds `token` (an expired slot may hold a newer refresh's)."""
    while True:
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(pending)
                current = await pipe.get(pending)
                if current is None or _text(current) != token:
                    return
                pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                pipe.delete(pending)
                await pipe.execute()
                return
            except WatchError:
                continue
