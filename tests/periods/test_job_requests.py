"""Jobs are asked for by services and enqueued through the unit of work's after-commit hook (tenants/jobs.py).

The process's real queue (arq, installed by the app's lifespan) is wrapped by a recorder that notes, for each job it
enqueues (and each close it reserves), whether a unit of work was still open at that moment; the jobs then run on a
real worker. A close's tracking id is reserved before the commit, so the request's audit entry names the job that
serves it: the id the caller gets, new or joined.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from arq.jobs import Job, JobDef
from redis.asyncio import Redis

from server.settings import Settings
from tenants.audit.models import AuditEntry
from tenants.audit.service import SYSTEM, Actor
from tenants.db.uow import after_commit, tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.jobs import (
    CloseReservation,
    JobQueue,
    close_after_commit,
    enqueue_after_commit,
    install_job_queue,
    installed_job_queue,
)
from tenants.periods.errors import CloseError
from tenants.periods.jobs import read_job
from tenants.periods.models import Period
from tenants.periods.service import CLOSE_REQUESTED, request_close, request_refresh
from tenants.tenancy.identity import TenantId
from tests.conftest import GraphQL, TenantFactory
from tests.periods.test_close import CLOSE, JOB, REFRESH, run_worker
from workers.keys import job_keys
from workers.queue import arq_pool

OPEN_PERIOD = "2026-11"  # the worked example's scheme is in force; it has not ended yet


async def _nothing() -> None:
    return None


def inside_unit_of_work() -> bool:
    try:
        after_commit(_nothing)
    except RuntimeError:
        return False
    return True


@dataclass
class RecordingQueue:
    """The installed queue, noting what it enqueued and whether a unit of work was open then."""

    real: JobQueue
    enqueued: list[tuple[str, TenantId, int, str, bool]] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)
    reserved: list[tuple[CloseReservation, bool]] = field(default_factory=list)

    async def reserve_close(self, tenant_id: TenantId, scheme_id: int, period_key: str) -> CloseReservation:
        reservation = await self.real.reserve_close(tenant_id, scheme_id, period_key)
        self.reserved.append((reservation, inside_unit_of_work()))
        return reservation

    async def enqueue_close(
        self, tenant_id: TenantId, scheme_id: int, period_key: str, *, force: bool, job_id: str | None = None
    ) -> str:
        self.enqueued.append(("close", tenant_id, scheme_id, period_key, inside_unit_of_work()))
        queued = await self.real.enqueue_close(tenant_id, scheme_id, period_key, force=force, job_id=job_id)
        self.job_ids.append(queued)
        return queued

    async def enqueue_refresh(self, tenant_id: TenantId, scheme_id: int, period_key: str) -> str:
        self.enqueued.append(("refresh", tenant_id, scheme_id, period_key, inside_unit_of_work()))
        job_id = await self.real.enqueue_refresh(tenant_id, scheme_id, period_key)
        self.job_ids.append(job_id)
        return job_id


@pytest.fixture
async def recorder(app: Any) -> AsyncIterator[RecordingQueue]:
    real = installed_job_queue()
    recording = RecordingQueue(real)
    install_job_queue(recording)
    try:
        yield recording
    finally:
        install_job_queue(real)


async def test_a_close_asked_through_graphql_is_enqueued_by_the_service_after_commit(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, recorder: RecordingQueue, database: Settings
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    started = (await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, token))["data"]["closePeriod"]
    assert started["__typename"] == "CloseStarted"
    # Enqueued once, outside any unit of work (after the commit), and the resolver answers that very job.
    assert recorder.enqueued == [("close", tenant.tenant_id, scheme_id, PERIOD, False)]
    assert recorder.job_ids == [started["job"]["id"]]
    # audited with the signed-in user who asked
    requested = [e for e in await audit_log(tenant.tenant_id) if e.action == CLOSE_REQUESTED]
    assert [(e.actor_user_id, e.after["force"]) for e in requested] == [(tenant.admin_user_id, True)]
    # ... naming the job the resolver answered, reserved inside the unit of work (before the commit)
    assert (requested[0].after["job_id"], requested[0].after["joined"]) == (started["job"]["id"], False)
    assert [(r.job_id, inside) for r, inside in recorder.reserved] == [(started["job"]["id"], True)]
    await run_worker(database)
    job = (await gql(JOB, {"id": started["job"]["id"]}, token))["data"]["job"]
    assert (job["status"], job["result"]) == ("complete", "revision 1, 12 lines posted")


async def test_a_refresh_asked_through_graphql_is_enqueued_by_the_service_after_commit(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, recorder: RecordingQueue, database: Settings
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    started = (await gql(REFRESH, {"scheme": str(scheme_id), "period": OPEN_PERIOD}, token))["data"][
        "refreshScorecards"
    ]
    assert started["__typename"] == "CloseStarted"
    assert recorder.enqueued == [("refresh", tenant.tenant_id, scheme_id, OPEN_PERIOD, False)]
    assert recorder.job_ids == [started["job"]["id"]]
    await run_worker(database)
    job = (await gql(JOB, {"id": started["job"]["id"]}, token))["data"]["job"]
    assert job["status"] == "complete"


async def test_the_services_return_the_id_of_the_job_they_enqueued(
    make_tenant: TenantFactory, recorder: RecordingQueue, redis: Redis, database: Settings
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    close_id = await request_close(tid, scheme_id, PERIOD, force=True, actor=SYSTEM)
    refresh_id = await request_refresh(tid, scheme_id, OPEN_PERIOD)
    assert recorder.job_ids == [close_id, refresh_id]
    assert [entry[-1] for entry in recorder.enqueued] == [False, False]  # both after their commit
    close_status, refresh_status = await read_job(redis, tid, close_id), await read_job(redis, tid, refresh_id)
    assert close_status is not None and (close_status.kind, close_status.status) == ("close", "queued")
    assert refresh_status is not None and (refresh_status.kind, refresh_status.status) == ("refresh", "queued")
    # Another tenant asking for this tenant's scheme is told it does not exist, and nothing is enqueued for it.
    other = await make_tenant()
    with pytest.raises(CloseError) as refused:
        await request_close(other.tenant_id, scheme_id, PERIOD, force=True, actor=SYSTEM)
    assert refused.value.code == "SCHEME_NOT_FOUND"
    assert len(recorder.enqueued) == 2
    await run_worker(database)


async def test_refused_requests_enqueue_nothing_and_change_nothing(
    make_tenant: TenantFactory, recorder: RecordingQueue
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    refusals: dict[str, Callable[[], Awaitable[str]]] = {
        "PERIOD_NOT_ENDED": lambda: request_close(tid, scheme_id, OPEN_PERIOD, force=True, actor=SYSTEM),
        "BAD_PERIOD": lambda: request_close(tid, scheme_id, "2026-13", force=True, actor=SYSTEM),
        "SCHEME_NOT_FOUND": lambda: request_refresh(tid, scheme_id + 1_000_000, OPEN_PERIOD),
    }
    for code, request in refusals.items():
        with pytest.raises(CloseError) as refused:
            await request()
        assert refused.value.code == code
    assert recorder.enqueued == []
    async with tenant_unit_of_work(tid):
        assert await Period.filter(tenant_id=tid).count() == 0


async def test_a_job_asked_in_a_unit_of_work_that_rolls_back_is_never_enqueued(
    make_tenant: TenantFactory, recorder: RecordingQueue
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned):
        async with tenant_unit_of_work(tid):
            pending = enqueue_after_commit(lambda queue: queue.enqueue_close(tid, scheme_id, PERIOD, force=True))
            raise Abandoned
    assert recorder.enqueued == []
    with pytest.raises(RuntimeError, match="not known yet"):
        _ = pending.id


async def test_without_a_job_queue_a_request_fails_before_anything_is_enqueued(
    make_tenant: TenantFactory, recorder: RecordingQueue
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    install_job_queue(None)  # the recorder fixture installs the real queue again
    with pytest.raises(RuntimeError, match="no job queue is installed"):
        await request_close(tenant.tenant_id, scheme_id, PERIOD, force=True, actor=SYSTEM)
    assert recorder.enqueued == []


async def audit_log(tenant_id: TenantId) -> list[AuditEntry]:
    async with tenant_unit_of_work(tenant_id):
        return await AuditEntry.filter(tenant_id=tenant_id).order_by("id")


async def test_a_close_request_is_audited_once_in_its_own_unit_of_work_and_a_refused_one_not_at_all(
    make_tenant: TenantFactory, recorder: RecordingQueue, database: Settings
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    before, others_before = await audit_log(tid), await audit_log(other.tenant_id)
    who = Actor(user_id=tenant.admin_user_id)
    # refused (the period has not ended; a key the calendar does not know): nothing audited, nothing enqueued
    for key in (OPEN_PERIOD, "2026-13"):
        with pytest.raises(CloseError):
            await request_close(tid, scheme_id, key, force=False, actor=who)
    assert await audit_log(tid) == before and recorder.enqueued == []

    job_id = await request_close(tid, scheme_id, PERIOD, force=False, actor=who)
    entries = [entry for entry in await audit_log(tid) if entry.id not in {e.id for e in before}]
    assert [(e.action, e.entity, e.entity_id, e.actor_user_id) for e in entries] == [
        (CLOSE_REQUESTED, "period", None, tenant.admin_user_id)  # no period row before the first close
    ]
    assert entries[0].before is None
    assert entries[0].after == {
        "scheme_id": scheme_id,
        "period": PERIOD,
        "force": False,
        "job_id": job_id,
        "joined": False,
    }
    assert recorder.job_ids == [job_id]
    await run_worker(database)
    # a re-close names the period the first close created, and the API key that asked
    async with tenant_unit_of_work(tid):
        period = await Period.get(tenant_id=tid, scheme_id=scheme_id, key=PERIOD)
    reclose_id = await request_close(tid, scheme_id, PERIOD, force=True, actor=Actor(api_key_id=7))
    last = (await audit_log(tid))[-1]
    assert (last.action, last.entity_id, last.actor_api_key_id) == (CLOSE_REQUESTED, period.id, 7)
    assert reclose_id != job_id  # the first close finished: a new one
    # what the re-close starts from: the period the first close left
    assert last.before == {
        "state": "closed",
        "revision": 1,
        "closed_at": period.closed_at.isoformat() if period.closed_at else None,
        "approved_revision": None,
    }
    assert last.after == {
        "scheme_id": scheme_id,
        "period": PERIOD,
        "force": True,
        "job_id": reclose_id,
        "joined": False,
    }
    await run_worker(database)
    # the other tenant's log is untouched, and its refused request for this scheme audits nothing
    with pytest.raises(CloseError):
        await request_close(other.tenant_id, scheme_id, PERIOD, force=True, actor=SYSTEM)
    assert await audit_log(other.tenant_id) == others_before


async def test_a_close_request_whose_audit_entry_cannot_be_written_enqueues_nothing(
    make_tenant: TenantFactory, recorder: RecordingQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenants.audit import repository as audit_repository

    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    before = await audit_log(tid)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the audit write failed")

    monkeypatch.setattr(audit_repository, "insert_entry", broken)
    with pytest.raises(ConnectionError):
        await request_close(tid, scheme_id, PERIOD, force=False, actor=Actor(user_id=tenant.admin_user_id))
    assert recorder.enqueued == []  # never a close without its audit entry
    monkeypatch.undo()
    assert await audit_log(tid) == before


async def arq_holds(database: Settings, tenant_id: TenantId, scheme_id: int, period_key: str) -> JobDef | None:
    """The close job arq holds for this period (queued or running), if any."""
    pool = await arq_pool(database)
    arq_id = job_keys(database).close_job_id(tenant_id, scheme_id, period_key)
    return await Job(arq_id, pool, _queue_name=database.queue_name).info()


async def test_a_second_close_request_while_one_is_queued_gets_its_id_and_its_entry_names_it(
    make_tenant: TenantFactory, recorder: RecordingQueue, redis: Redis, database: Settings
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    others_before = await audit_log(other.tenant_id)
    first = await request_close(tid, scheme_id, PERIOD, force=False, actor=Actor(user_id=tenant.admin_user_id))
    second = await request_close(tid, scheme_id, PERIOD, force=True, actor=Actor(api_key_id=9))
    assert second == first  # joined: one close serves both
    entries = [e for e in await audit_log(tid) if e.action == CLOSE_REQUESTED]
    assert [(e.actor_user_id, e.actor_api_key_id, e.after["job_id"], e.after["joined"]) for e in entries] == [
        (tenant.admin_user_id, None, first, False),
        (None, 9, first, True),
    ]
    held = await arq_holds(database, tid, scheme_id, PERIOD)
    assert held is not None and held.args[3] == first  # one job in arq, tracked by that id
    await run_worker(database)
    status = await read_job(redis, tid, first)
    assert status is not None and (status.status, status.result) == ("complete", "revision 1, 12 lines posted")
    async with tenant_unit_of_work(tid):
        assert [p.revision for p in await Period.filter(tenant_id=tid)] == [1]  # closed once
    # the other tenant has no entry, and cannot read the job
    assert await audit_log(other.tenant_id) == others_before
    assert await read_job(redis, other.tenant_id, first) is None


async def test_a_close_reserved_in_a_unit_of_work_that_rolls_back_is_not_enqueued_and_the_next_request_queues_it(
    make_tenant: TenantFactory, recorder: RecordingQueue, redis: Redis, database: Settings
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    before = await audit_log(tid)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned):
        async with tenant_unit_of_work(tid):
            reserved = await close_after_commit(tid, scheme_id, PERIOD, force=True)
            raise Abandoned
    assert recorder.enqueued == [] and await arq_holds(database, tid, scheme_id, PERIOD) is None
    assert await audit_log(tid) == before
    # The next request joins the reservation nobody queued, names it, and queues it after its own commit.
    job_id = await request_close(tid, scheme_id, PERIOD, force=False, actor=Actor(user_id=tenant.admin_user_id))
    assert job_id == reserved.job_id
    entry = (await audit_log(tid))[-1]
    assert (entry.after["job_id"], entry.after["joined"]) == (job_id, True)
    held = await arq_holds(database, tid, scheme_id, PERIOD)
    assert held is not None and held.args[3] == job_id
    await run_worker(database)
    status = await read_job(redis, tid, job_id)
    assert status is not None and status.status == "complete"


async def test_a_close_request_refused_by_its_audit_write_is_queued_by_the_next_request_under_the_next_entrys_id(
    make_tenant: TenantFactory, recorder: RecordingQueue, monkeypatch: pytest.MonkeyPatch, database: Settings
) -> None:
    from tenants.audit import repository as audit_repository

    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    before = await audit_log(tid)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the audit write failed")

    monkeypatch.setattr(audit_repository, "insert_entry", broken)
    with pytest.raises(ConnectionError):
        await request_close(tid, scheme_id, PERIOD, force=False, actor=Actor(user_id=tenant.admin_user_id))
    monkeypatch.undo()
    assert recorder.enqueued == [] and await arq_holds(database, tid, scheme_id, PERIOD) is None
    assert await audit_log(tid) == before  # rolled back: no entry, nothing enqueued
    again = await request_close(tid, scheme_id, PERIOD, force=False, actor=Actor(user_id=tenant.admin_user_id))
    entries = [e for e in await audit_log(tid) if e.id not in {b.id for b in before}]
    assert [e.after["job_id"] for e in entries] == [again] and recorder.job_ids == [again]
    assert again == recorder.reserved[0][0].job_id and entries[0].after["joined"]  # the refused one's reservation
    await run_worker(database)


async def test_a_close_waits_for_the_previous_close_of_its_period_to_leave_arq_before_it_is_queued(
    make_tenant: TenantFactory, redis: Redis, database: Settings
) -> None:
    """The previous close cleared its in-flight key and still holds its arq id for a moment (it is finishing): the
    new close is reserved under a new id and queued once arq lets the id go, not taken for the old one."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    pool = await arq_pool(database)
    arq_id = job_keys(database).close_job_id(tid, scheme_id, PERIOD)
    finishing = await pool.enqueue_job(
        "close_period_job", int(tid), scheme_id, PERIOD, "previous", False, _job_id=arq_id
    )
    assert finishing is not None

    async def finish() -> None:
        await asyncio.sleep(0.2)
        await redis.delete(job_keys(database).arq_job(arq_id))
        await redis.zrem(database.queue_name, arq_id)

    finisher = asyncio.create_task(finish())
    job_id = await request_close(tid, scheme_id, PERIOD, force=False, actor=SYSTEM)
    await finisher
    assert job_id != "previous"
    held = await arq_holds(database, tid, scheme_id, PERIOD)
    assert held is not None and held.args[3] == job_id
    await run_worker(database)
    status = await read_job(redis, tid, job_id)
    assert status is not None and status.status == "complete"
