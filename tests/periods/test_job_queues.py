"""Queues and job ids: one pending refresh per period, refreshes never in front of closes, ids kept apart per queue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.worker import Worker
from redis.asyncio import Redis

from server.settings import Settings
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.periods.jobs import create_job, read_job
from tenants.periods.models import Period
from tenants.rules.calendar import next_period_key, period_containing
from tenants.tenancy.auth import Role
from tests.conftest import GraphQL, TenantFactory, unique
from tests.periods.test_close import CLOSE, run_worker
from workers.jobs import close_due_periods
from workers.keys import job_keys
from workers.queue import arq_pool, enqueue_close
from workers.settings import FUNCTIONS, cron_jobs

REFRESH = """
mutation($scheme: ID!, $period: String!) {
  refreshScorecards(schemeId: $scheme, period: $period) {
    __typename
    ... on CloseStarted { job { id status } }
    ... on PeriodErrors { errors { code } }
  }
}
"""
JOB = "query($id: ID!) { job(id: $id) { status result error } }"


async def queued(redis: Redis, queue: str) -> set[str]:
    return {m.decode() if isinstance(m, bytes) else str(m) for m in await redis.zrange(queue, 0, -1)}


async def refresh(gql: GraphQL, token: str, scheme_id: int, period: str) -> str:
    answer = (await gql(REFRESH, {"scheme": str(scheme_id), "period": period}, token))["data"]["refreshScorecards"]
    assert answer["__typename"] == "CloseStarted", answer
    return str(answer["job"]["id"])


async def test_200_refresh_calls_queue_one_job(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, redis: Redis, database: Settings
) -> None:
    keys = job_keys(database)
    tenant = await make_tenant(role=Role.MANAGER)
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    refreshes_before, closes_before = await queued(redis, keys.refresh_queue), await queued(redis, keys.queue)

    ids = await asyncio.gather(*(refresh(gql, token, scheme_id, PERIOD) for _ in range(200)))
    assert len(set(ids)) == 1
    job_id = ids[0]
    assert await queued(redis, keys.refresh_queue) - refreshes_before == {keys.refresh_job_id(job_id)}
    assert await queued(redis, keys.queue) == closes_before  # and nothing on the close queue

    # Another tenant's refresh of its own scheme is its own job, not this one.
    other = await make_tenant(role=Role.MANAGER)
    other_scheme = await seed_worked_example(other.tenant_id)
    other_token = await login(other.admin_email)
    other_id = await refresh(gql, other_token, other_scheme, PERIOD)
    assert other_id != job_id
    assert (await gql(JOB, {"id": job_id}, other_token))["data"]["job"] is None

    await run_worker(database)
    for token_, id_ in ((token, job_id), (other_token, other_id)):
        job = (await gql(JOB, {"id": id_}, token_))["data"]["job"]
        assert job == {"status": "complete", "result": "3 provisional scorecards", "error": None}
    # Once a refresh has started, the next call queues a new one (the data may have changed since it read them).
    again = await refresh(gql, token, scheme_id, PERIOD)
    assert again != job_id
    await run_worker(database)
    assert (await gql(JOB, {"id": again}, token))["data"]["job"]["status"] == "complete"


async def test_a_manager_joins_the_refresh_the_cron_queued(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, redis: Redis, database: Settings
) -> None:
    keys = job_keys(database)
    tenant = await make_tenant(role=Role.MANAGER)
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    current = period_containing("month", datetime.now(UTC), "Asia/Shanghai")

    await close_due_periods({"redis": redis, "settings": database})
    pending = await queued(redis, keys.refresh_queue)
    job_id = await refresh(gql, token, scheme_id, current)
    assert keys.refresh_job_id(job_id) in pending  # the cron's refresh of this period, now followed
    assert await queued(redis, keys.refresh_queue) == pending
    assert (await gql(JOB, {"id": job_id}, token))["data"]["job"]["status"] == "queued"
    await run_worker(database)
    job = (await gql(JOB, {"id": job_id}, token))["data"]["job"]
    assert (job["status"], job["error"]) == ("complete", None)


async def test_a_close_runs_while_another_tenant_has_many_refreshes_pending(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, redis: Redis, database: Settings
) -> None:
    keys = job_keys(database)
    busy = await make_tenant(role=Role.MANAGER)
    busy_scheme = await seed_worked_example(busy.tenant_id)
    busy_token = await login(busy.admin_email)
    periods = [PERIOD]
    while len(periods) < 24:
        periods.append(next_period_key("month", periods[-1]))
    refresh_ids = [await refresh(gql, busy_token, busy_scheme, period) for period in periods for _ in range(3)]
    assert len(set(refresh_ids)) == len(periods)

    quiet = await make_tenant()
    quiet_scheme = await seed_worked_example(quiet.tenant_id)
    quiet_token = await login(quiet.admin_email)
    started = (await gql(CLOSE, {"scheme": str(quiet_scheme), "period": PERIOD}, quiet_token))["data"]["closePeriod"]

    # The close queue's worker alone closes the quiet tenant's period: it is not behind the busy tenant's refreshes.
    await run_worker(database, refreshes=False)
    close_job = (await gql(JOB, {"id": started["job"]["id"]}, quiet_token))["data"]["job"]
    assert (close_job["status"], close_job["result"]) == ("complete", "revision 1, 12 lines posted")
    pending = await queued(redis, keys.refresh_queue)
    for job_id in set(refresh_ids):
        status = await read_job(redis, busy.tenant_id, job_id)
        assert status is not None and status.status == "queued"
        assert keys.refresh_job_id(job_id) in pending
    # The refresh queue's worker then does them all.
    await run_worker(database)
    for job_id in set(refresh_ids):
        status = await read_job(redis, busy.tenant_id, job_id)
        assert status is not None and status.status == "complete"
    async with tenant_unit_of_work(quiet.tenant_id):
        closed = await Period.get(tenant_id=quiet.tenant_id, scheme_id=quiet_scheme, key=PERIOD)
    assert (closed.state, closed.revision) == ("closed", 1)


async def test_the_same_ids_on_another_queue_do_not_block_our_close(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, redis: Redis, database: Settings
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    token = await login(tenant.admin_email)
    # Another deployment sharing this Redis (its own database, where tenant and scheme ids repeat ours), with close
    # jobs of "the same" period that a killed worker left behind: one id as ids were derived before they carried the
    # queue, one as that deployment derives them now; each with its in-flight record and its tracking status.
    theirs = database.model_copy(update={"queue_name": f"{database.queue_name}:{unique('elsewhere')}"})
    their_keys = job_keys(theirs)
    their_pool = await arq_pool(theirs)
    their_job = unique("their-job")
    await create_job(redis, their_job, tid, "close")
    legacy_id = f"close:{tid}:{scheme_id}:{PERIOD}"
    planted = {
        legacy_id: f"kaohe:inflight:{legacy_id}",
        their_keys.close_job_id(tid, scheme_id, PERIOD): their_keys.close_in_flight(
            their_keys.close_job_id(tid, scheme_id, PERIOD)
        ),
    }
    try:
        for arq_id, in_flight in planted.items():
            assert await their_pool.enqueue_job("close_period_job", _job_id=arq_id) is not None
            await redis.set(in_flight, their_job, ex=600)
        started = (await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, token))["data"]["closePeriod"]
        assert started["__typename"] == "CloseStarted", started
        assert started["job"]["id"] != their_job
        await run_worker(database)
        job = (await gql(JOB, {"id": started["job"]["id"]}, token))["data"]["job"]
        assert (job["status"], job["result"]) == ("complete", "revision 1, 12 lines posted")
        assert (await read_job(redis, tid, their_job)) is not None  # theirs untouched, still theirs
        assert await queued(redis, theirs.queue_name) == set(planted)
    finally:
        await redis.delete(theirs.queue_name, *planted.values(), *(their_keys.arq_job(i) for i in planted))


async def test_cron_runs_of_two_queues_have_ids_of_their_own(redis: Redis, database: Settings) -> None:
    ours, theirs = database, database.model_copy(update={"queue_name": f"{database.queue_name}:{unique('other')}"})
    workers = [
        Worker(
            functions=FUNCTIONS,
            cron_jobs=cron_jobs(settings.model_copy(update={"worker_cron": True})),
            redis_pool=await arq_pool(settings),
            queue_name=settings.queue_name,
            handle_signals=False,
        )
        for settings in (ours, theirs)
    ]
    before = [await queued(redis, settings.queue_name) for settings in (ours, theirs)]
    # The same minute's run, scheduled by each deployment's worker (arq defers it to the minute).
    now = datetime.now(UTC).astimezone()
    for worker in workers:
        await worker.run_cron(now, 0.5)  # computes the next run
        next_run = worker.cron_jobs[0].next_run
        assert next_run is not None
        await worker.run_cron(next_run - timedelta(seconds=0.5), 0.5)
    scheduled = [
        await queued(redis, settings.queue_name) - earlier
        for settings, earlier in zip((ours, theirs), before, strict=True)
    ]
    try:
        # Other crons (grading, follow-ups) may fall in the same minute: only the close cron's runs are compared.
        closes = [
            {i for i in ids if job_keys(settings).cron_name("close_due_periods") in i}
            for settings, ids in zip((ours, theirs), scheduled, strict=True)
        ]
        assert all(len(ids) == 1 for ids in closes)  # each queue got its run: neither id blocked the other
        assert closes[0] != closes[1]
    finally:
        for settings, ids in zip((ours, theirs), scheduled, strict=True):
            if ids:
                await redis.zrem(settings.queue_name, *ids)
                await redis.delete(*(job_keys(settings).arq_job(i) for i in ids))


async def test_a_finishing_close_leaves_a_later_reservation_of_its_period_alone(
    make_tenant: TenantFactory, redis: Redis, database: Settings
) -> None:
    """A close clears the period's in-flight key when it finishes, but only while the key is its own: a reservation
    made after its own expired (the close sat in the queue longer than the key lives) belongs to the next close."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    ours = await enqueue_close(redis, database, tid, scheme_id, PERIOD, force=True)
    keys = job_keys(database)
    in_flight = keys.close_in_flight(keys.close_job_id(tid, scheme_id, PERIOD))
    later = unique("later-close")
    await redis.set(in_flight, later, ex=600)  # our reservation expired; another request reserved the next close
    try:
        await run_worker(database)
        status = await read_job(redis, tid, ours)
        assert status is not None and status.status == "complete"
        assert await redis.get(in_flight) == later
    finally:
        await redis.delete(in_flight)
    # with its own id in the key, a finished close clears it
    again = await enqueue_close(redis, database, tid, scheme_id, PERIOD, force=True)
    await run_worker(database)
    assert await redis.get(in_flight) is None and again != ours
