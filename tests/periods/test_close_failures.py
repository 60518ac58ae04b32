"""A close that cannot succeed fails once, visibly, and is not retried by the cron; a transient failure is retried.

The failing config is a published version whose demotion `periods` is 10^20: the close's SQL cannot take it (int64).
The API refuses such a number now (config bounds); a version published before the bounds existed still has it, so
the test inserts the version directly. Depending on whether the config check bounds `periods`, the close fails
either in the database (CONFIG_OUT_OF_RANGE) or when it parses the version (CONFIG_INVALID): both are permanent.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from server.settings import Settings
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.periods.close import close_period
from tenants.periods.errors import CloseError, CloseErrorCode, decode_failure
from tenants.periods.failures import permanent_failure
from tenants.periods.jobs import read_job
from tenants.periods.models import LedgerLine, Period
from tenants.periods.scheduling import due_work
from tenants.schemes import service as schemes
from tenants.schemes.models import SchemeVersion
from tenants.schemes.templates import get_template
from tenants.tenancy.identity import TenantId
from tests.conftest import GraphQL, TenantFactory
from tests.periods.test_close import CLOSE, run_worker
from workers.jobs import CLOSE_MAX_STARTS, close_due_periods
from workers.keys import job_keys
from workers.queue import enqueue_close

PERMANENT = {"CONFIG_OUT_OF_RANGE", "CONFIG_INVALID"}
PERIODS = "query($scheme: ID!) { periods(schemeId: $scheme) { key state revision failure { code message at } } }"
JOB = "query($id: ID!) { job(id: $id) { status error failure { code message at } } }"
SIMULATE = """
query($scheme: ID!, $period: String!, $version: ID) {
  simulateScheme(schemeId: $scheme, period: $period, versionId: $version) {
    __typename ... on PeriodErrors { errors { code message } }
  }
}
"""


def unclosable_config() -> dict[str, Any]:
    config = get_template("store_guide_new_customers").config
    config["penalties"] = [
        *config.get("penalties", []),
        {"key": "demotion_forever", "label": "降级", "type": "demotion", "below_score": 60, "periods": 10**20},
    ]
    return config


async def scheme_that_cannot_close(tenant_id: TenantId) -> tuple[int, int]:
    """The worked example's guides and events, and a second scheme whose only version cannot close October."""
    await seed_worked_example(tenant_id)
    scheme = await schemes.create_scheme(tenant_id, SYSTEM, "unclosable")
    async with tenant_unit_of_work(tenant_id):
        version = await SchemeVersion.create(
            tenant_id=tenant_id,
            scheme_id=scheme.id,
            number=1,
            config=unclosable_config(),
            status="published",
            effective_from=date(2026, 10, 1),
            published_at=datetime.now(UTC) - timedelta(days=1),
        )
    return int(scheme.id), int(version.id)


async def period_row(tenant_id: TenantId, scheme_id: int, key: str = PERIOD) -> Period | None:
    async with tenant_unit_of_work(tenant_id):
        return await Period.filter(tenant_id=tenant_id, scheme_id=scheme_id, key=key).first()


def due_keys(work: Any, tenant_id: TenantId, scheme_id: int) -> list[str]:
    return [w.period_key for w in work.to_close if w.tenant_id == tenant_id and w.scheme_id == scheme_id]


async def test_an_unclosable_config_fails_once_visibly_and_the_cron_leaves_it(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, redis: Redis, database: Settings
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id, _ = await scheme_that_cannot_close(tid)
    token = await login(tenant.admin_email)
    assert PERIOD in due_keys(await due_work(datetime.now(UTC)), tid, scheme_id)

    # The cron enqueues October's close; the worker runs it; it fails for good.
    await close_due_periods({"redis": redis, "settings": database})
    await run_worker(database)
    period = await period_row(tid, scheme_id)
    assert period is not None
    assert period.state == "open"  # not left 'closing'
    assert period.failure is not None and period.failed_at is not None
    kept = decode_failure(period.failure)
    assert kept is not None and kept.code in PERMANENT
    first_failure_at = period.failed_at
    async with tenant_unit_of_work(tid):
        assert await LedgerLine.filter(tenant_id=tid, period_id=period.id).count() == 0

    # Twice more the cron: it does not enqueue the failed period again, so nothing fails again.
    keys = job_keys(database)
    close_id = keys.close_job_id(tid, scheme_id, PERIOD)
    for _ in range(2):
        assert PERIOD not in due_keys(await due_work(datetime.now(UTC)), tid, scheme_id)
        await close_due_periods({"redis": redis, "settings": database})
        assert not await redis.exists(keys.arq_job(close_id))
        await run_worker(database)
    again = await period_row(tid, scheme_id)
    assert again is not None and again.failed_at == first_failure_at

    # The admin sees why, on the period.
    shown = (await gql(PERIODS, {"scheme": str(scheme_id)}, token))["data"]["periods"]
    october = next(p for p in shown if p["key"] == PERIOD)
    assert october["state"] == "open"
    assert october["failure"]["code"] in PERMANENT
    assert october["failure"]["message"] and "int64" not in october["failure"]["message"]  # no driver text
    assert october["failure"]["at"] is not None
    # Another tenant sees nothing of it.
    other = await make_tenant()
    assert (await gql(PERIODS, {"scheme": str(scheme_id)}, await login(other.admin_email)))["data"]["periods"] == []


async def test_a_manual_close_of_a_failed_period_reports_it_and_a_fixed_one_clears_it(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, redis: Redis, database: Settings
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id, version_id = await scheme_that_cannot_close(tid)
    token = await login(tenant.admin_email)

    # By hand (closePeriod): a version that no longer validates is refused before anything is queued (the admin
    # reads why at once); one that validates but overflows is queued, and its job fails as below.
    answer = (await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, token))["data"]["closePeriod"]
    if answer["__typename"] == "PeriodErrors":
        assert answer["errors"][0]["code"] == "CONFIG_INVALID"
    else:
        await run_worker(database)
        assert (await gql(JOB, {"id": answer["job"]["id"]}, token))["data"]["job"]["failure"]["code"] in PERMANENT
    # A close job (as the cron queues one) fails once with the failure, and arq does not run it again.
    job_id = await enqueue_close(redis, database, tid, scheme_id, PERIOD, force=False)
    await run_worker(database)
    job = (await gql(JOB, {"id": job_id}, token))["data"]["job"]
    assert job["status"] == "failed"
    assert job["failure"]["code"] in PERMANENT
    assert job["error"] == f"{job['failure']['code']}: {job['failure']['message']}"
    failed = await period_row(tid, scheme_id)
    status = await read_job(redis, tid, job_id)
    assert failed is not None and status is not None and decode_failure(failed.failure) == status.error
    assert not await redis.exists(job_keys(database).arq_job(job_keys(database).close_job_id(tid, scheme_id, PERIOD)))

    # The same config through a what-if: a coded error, not a crash.
    simulated = (await gql(SIMULATE, {"scheme": str(scheme_id), "period": PERIOD, "version": str(version_id)}, token))[
        "data"
    ]["simulateScheme"]
    assert simulated["__typename"] == "PeriodErrors"
    assert simulated["errors"][0]["code"] in PERMANENT

    # `kaohe close` calls the close directly: the same coded error.
    with pytest.raises(CloseError) as raised:
        await close_period(tid, scheme_id, PERIOD)
    assert raised.value.code.value in PERMANENT

    # The fix: a corrected version in force for October. Publishing it lets the cron try again...
    draft = await schemes.save_draft(tid, SYSTEM, scheme_id, get_template("store_guide_new_customers").config)
    await schemes.publish_version(tid, SYSTEM, draft.id, date(2026, 10, 1))
    assert PERIOD in due_keys(await due_work(datetime.now(UTC)), tid, scheme_id)
    # ... and a close by hand succeeds and clears the failure.
    started = (await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, token))["data"]["closePeriod"]
    await run_worker(database)
    job = (await gql(JOB, {"id": started["job"]["id"]}, token))["data"]["job"]
    assert (job["status"], job["error"], job["failure"]) == ("complete", None, None)
    shown = (await gql(PERIODS, {"scheme": str(scheme_id)}, token))["data"]["periods"]
    assert next(p for p in shown if p["key"] == PERIOD) == {
        "key": PERIOD,
        "state": "closed",
        "revision": 1,
        "failure": None,
    }
    closed = await period_row(tid, scheme_id)
    assert closed is not None and (closed.failed_at, closed.failure) == (None, None)


async def test_a_transient_failure_is_retried_by_arq(
    make_tenant: TenantFactory,
    redis: Redis,
    database: Settings,
    app_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    job_id = await enqueue_close(redis, database, tid, scheme_id, PERIOD, force=True)
    # The close pauses with everything written and nothing committed; its connection is cut there (from a session of
    # the same role: only it may see and end the close's session).
    # (The pause sleeps on after the cut, which shows at the close's next statement: keep it short.)
    monkeypatch.setenv("KAOHE_FAULT_CLOSE_DELAY_SECONDS", "3")
    worker = asyncio.create_task(run_worker(database, refreshes=False))
    try:
        for _ in range(600):
            status = await read_job(redis, tid, job_id)
            if status is not None and status.stage == "committing":
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"the close never reached its commit: {status}")
        monkeypatch.delenv("KAOHE_FAULT_CLOSE_DELAY_SECONDS")
        terminated = await app_conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
        )
        assert terminated == 1
        # While it waits for its next try, the job tells why, with a code (not the driver's exception name).
        retrying = None
        while retrying is None and not worker.done():
            status = await read_job(redis, tid, job_id)
            if status is not None and status.stage == "retrying":
                retrying = status
            await asyncio.sleep(0.02)
        assert retrying is not None and retrying.status == "queued"
        assert retrying.error is not None and retrying.error.code is CloseErrorCode.CLOSE_UNAVAILABLE
        assert str(retrying.error.message).startswith("The close failed 1 times for a temporary reason (")
        assert retrying.error_code == "CLOSE_UNAVAILABLE"
        await asyncio.wait_for(worker, 60)
    finally:
        worker.cancel()
    status = await read_job(redis, tid, job_id)
    assert status is not None
    assert (status.status, status.result, status.error) == ("complete", "revision 1, 12 lines posted", None)
    assert status.error_code is None  # the temporary failure is cleared once the close succeeded
    period = await period_row(tid, scheme_id)
    assert period is not None
    assert (period.state, period.revision, period.failure) == ("closed", 1, None)


async def test_a_close_that_keeps_dying_is_recorded_instead_of_run_again(
    make_tenant: TenantFactory, redis: Redis, database: Settings
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    keys = job_keys(database)
    # As left by CLOSE_MAX_STARTS workers killed in the middle of this close (each start counts; none finished).
    await redis.set(keys.close_attempts(keys.close_job_id(tid, scheme_id, PERIOD)), CLOSE_MAX_STARTS, ex=600)
    job_id = await enqueue_close(redis, database, tid, scheme_id, PERIOD, force=False)
    await run_worker(database)
    status = await read_job(redis, tid, job_id)
    assert status is not None and (status.status, status.error_code) == ("failed", "CLOSE_INTERRUPTED")
    period = await period_row(tid, scheme_id)
    assert period is not None and period.failure is not None
    kept = decode_failure(period.failure)
    assert kept is not None and kept.code is CloseErrorCode.CLOSE_INTERRUPTED
    assert PERIOD not in due_keys(await due_work(datetime.now(UTC)), tid, scheme_id)
    # The count starts again: a close by hand runs.
    await enqueue_close(redis, database, tid, scheme_id, PERIOD, force=True)
    await run_worker(database)
    closed = await period_row(tid, scheme_id)
    assert closed is not None and (closed.state, closed.failure) == ("closed", None)


async def test_failures_are_told_apart_on_real_database_errors(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()

    async def error_of(sql: str, *args: Any, before: str | None = None) -> BaseException:
        try:
            async with tenant_unit_of_work(tenant.tenant_id) as conn:
                if before is not None:
                    await conn.execute_query(before)
                await conn.execute_query(sql, list(args))
        except Exception as error:
            return error
        raise AssertionError(f"{sql} did not fail")

    def code(error: BaseException) -> CloseErrorCode | None:
        failure = permanent_failure(error)
        return None if failure is None else failure.code

    assert code(await error_of("SELECT 1 LIMIT $1", 10**20)) is CloseErrorCode.CONFIG_OUT_OF_RANGE
    assert code(await error_of("SELECT 1 / 0")) is CloseErrorCode.CONFIG_OUT_OF_RANGE
    wide = ", ".join(f"{n} AS c{n}" for n in range(1700))
    assert code(await error_of(f"SELECT {wide}")) is CloseErrorCode.CONFIG_TOO_LARGE
    assert code(await error_of("SELECT no_such_column FROM period")) is CloseErrorCode.CLOSE_FAILED
    # Transient: the connection is cut, a statement is cancelled.
    assert code(await error_of("SELECT pg_terminate_backend(pg_backend_pid())")) is None
    assert code(await error_of("SELECT pg_sleep(1)", before="SET LOCAL statement_timeout = 1")) is None
