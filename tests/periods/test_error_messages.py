"""Period errors: every code is a `PeriodErrorCode` in the SDL, and every message is in the reader's language.

Simplified Chinese by default; English for a tenant that chose it. A failure kept on a period or a job (recorded when
a close failed) is rendered when it is read, so one kept failure reads in either language.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from schema import build_schema
from server.settings import Settings
from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.errors import Problem
from tenants.i18n import Message, _
from tenants.periods.errors import CloseErrorCode, decode_failure, encode_failure
from tenants.periods.jobs import job_key
from tenants.periods.models import Period
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Tenant
from tests.conftest import GraphQL, TenantFactory
from tests.periods.test_close import CLOSE, run_worker
from tests.periods.test_close_failures import scheme_that_cannot_close
from workers.jobs import CLOSE_MAX_STARTS
from workers.keys import job_keys
from workers.queue import enqueue_close

REFRESH = """
mutation($scheme: ID!, $period: String!) {
  refreshScorecards(schemeId: $scheme, period: $period) {
    __typename ... on PeriodErrors { errors { field code message } }
  }
}
"""
SIMULATE = """
query($scheme: ID!, $period: String!, $version: ID, $config: JSON) {
  simulateScheme(schemeId: $scheme, period: $period, versionId: $version, config: $config) {
    __typename
    ... on PeriodErrors { errors { field code message } }
    ... on ConfigErrors { configErrors: errors { field code message } }
  }
}
"""
PERIODS = "query($scheme: ID!) { periods(schemeId: $scheme) { key failure { code field message } } }"
JOB = "query($id: ID!) { job(id: $id) { status error failure { code field message } } }"


def sdl_block(sdl: str, opening: str) -> list[str]:
    block = sdl[sdl.index(opening) + len(opening) :]
    return [line.strip() for line in block[: block.index("}")].strip().splitlines()]


def test_the_sdl_types_every_period_error_code(settings: Settings) -> None:
    sdl = build_schema(settings).as_str()
    assert set(sdl_block(sdl, "enum PeriodErrorCode {")) == {code.value for code in CloseErrorCode}
    assert "code: PeriodErrorCode!" in sdl_block(sdl, "type PeriodError implements Problem {")
    assert "code: PeriodErrorCode!" in sdl_block(sdl, "type PeriodFailure implements Problem {")
    # simulateScheme's invalid drafts answer the schemes domain's config errors, with its config codes.
    assert "errors: [SchemeConfigError!]!" in sdl_block(sdl, "type ConfigErrors {")


async def period_keys(tenant_id: TenantId) -> set[str]:
    async with tenant_unit_of_work(tenant_id):
        return {period.key for period in await Period.filter(tenant_id=tenant_id)}


async def test_refusals_are_coded_and_in_chinese_by_default_and_change_nothing(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, redis: Redis
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    before = await period_keys(tenant.tenant_id)
    jobs_before = len(await redis.keys(job_key("*")))

    async def close(period: str, scheme: str = str(scheme_id)) -> Any:
        return (await gql(CLOSE, {"scheme": scheme, "period": period}, token))["data"]["closePeriod"]

    assert (await close("2099-01"))["errors"] == [
        {"field": "period", "code": "PERIOD_NOT_ENDED", "message": "考核周期“2099-01”尚未结束。"}
    ]
    # The calendar says what is wrong with a key.
    assert (await close("2026-13"))["errors"] == [
        {"field": "period", "code": "BAD_PERIOD", "message": "'2026-13'：月份 13 不在 01 到 12 之间"}
    ]
    # What the caller sent is shown escaped and cut, never as it came.
    shown = (await close("2026-\n" + "x" * 500))["errors"][0]
    assert shown["code"] == "BAD_PERIOD"
    assert shown["message"].startswith("'2026-\\nxxx") and "x… 不是有效的月考核周期" in shown["message"]
    assert "\n" not in shown["message"] and len(shown["message"]) < 120
    assert (await close(PERIOD, scheme="999999999"))["errors"] == [
        {"field": "schemeId", "code": "SCHEME_NOT_FOUND", "message": "考核方案不存在。"}
    ]
    refreshed = (await gql(REFRESH, {"scheme": "999999999", "period": PERIOD}, token))["data"]["refreshScorecards"]
    assert refreshed["errors"] == [{"field": "schemeId", "code": "SCHEME_NOT_FOUND", "message": "考核方案不存在。"}]
    simulated = await gql(SIMULATE, {"scheme": str(scheme_id), "period": PERIOD, "version": "999999999"}, token)
    assert simulated["data"]["simulateScheme"]["errors"] == [
        {"field": "versionId", "code": "NO_VERSION", "message": "版本不存在。"}
    ]
    # A draft config that does not validate: the schemes domain's config errors, in Chinese too.
    metric = {"key": "a", "aggregate": "count", "events": ["x"], "target": 1, "weight": 90}
    draft = {"cycle": "month", "metrics": [metric]}
    simulated = await gql(SIMULATE, {"scheme": str(scheme_id), "period": PERIOD, "config": draft}, token)
    assert simulated["data"]["simulateScheme"] == {
        "__typename": "ConfigErrors",
        "configErrors": [
            {"field": "metrics", "code": "WEIGHTS_NOT_100", "message": "计分指标的权重合计为 90，必须等于 100"}
        ],
    }
    # Another tenant asking about this scheme learns nothing but "no such scheme", in its own language.
    other = await make_tenant()
    hidden = await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, await login(other.admin_email))
    assert hidden["data"]["closePeriod"]["errors"][0]["message"] == "考核方案不存在。"
    # Nothing was queued or created.
    assert await period_keys(tenant.tenant_id) == before
    assert len(await redis.keys(job_key("*"))) == jobs_before


async def use_english(tenant_id: TenantId) -> None:
    """The merchant's choice: `tenant.settings["locale"]`."""
    async with platform_unit_of_work():
        tenant = await Tenant.get(id=tenant_id)
        await Tenant.filter(id=tenant_id).update(settings={**tenant.settings, "locale": "en"})


async def test_a_kept_failure_reads_in_the_language_of_whoever_reads_it(
    make_tenant: TenantFactory,
    gql: GraphQL,
    login: Any,
    redis: Redis,
    database: Settings,
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    token = await login(tenant.admin_email)
    keys = job_keys(database)
    # As left by CLOSE_MAX_STARTS workers killed in the middle of this close: the next start records the failure.
    await redis.set(keys.close_attempts(keys.close_job_id(tid, scheme_id, PERIOD)), CLOSE_MAX_STARTS, ex=600)
    job_id = await enqueue_close(redis, database, tid, scheme_id, PERIOD, force=False)
    await run_worker(database)

    chinese = "结算已开始 5 次都没有完成（后台任务中断或结算超时），系统不再自动重试。请手动重新结算该考核周期。"
    expected = {"code": "CLOSE_INTERRUPTED", "field": None, "message": chinese}
    job = (await gql(JOB, {"id": job_id}, token))["data"]["job"]
    assert job == {"status": "failed", "error": f"CLOSE_INTERRUPTED: {chinese}", "failure": expected}
    shown = (await gql(PERIODS, {"scheme": str(scheme_id)}, token))["data"]["periods"]
    assert next(p for p in shown if p["key"] == PERIOD)["failure"] == expected

    # The merchant switches to English: the same kept failures now read in English.
    await use_english(tid)
    english = (
        "The close started 5 times without finishing (the worker stopped or the close timed out); it is not "
        "retried automatically. Close the period again by hand."
    )
    job = (await gql(JOB, {"id": job_id}, token))["data"]["job"]
    assert job["error"] == f"CLOSE_INTERRUPTED: {english}"
    assert job["failure"] == {**expected, "message": english}
    shown = (await gql(PERIODS, {"scheme": str(scheme_id)}, token))["data"]["periods"]
    assert next(p for p in shown if p["key"] == PERIOD)["failure"]["message"] == english
    # So do the refusals.
    refused = (await gql(CLOSE, {"scheme": str(scheme_id), "period": "2099-01"}, token))["data"]["closePeriod"]
    assert refused["errors"] == [
        {"field": "period", "code": "PERIOD_NOT_ENDED", "message": "Period “2099-01” has not ended yet."}
    ]


async def test_a_config_that_no_longer_validates_names_the_problem(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, redis: Redis, database: Settings
) -> None:
    tenant = await make_tenant()
    scheme_id, _version = await scheme_that_cannot_close(tenant.tenant_id)
    token = await login(tenant.admin_email)
    job_id = await enqueue_close(redis, database, tenant.tenant_id, scheme_id, PERIOD, force=False)
    await run_worker(database)
    # The config's own problem, kept with the failure, reads in the same language as the rest of the message.
    chinese = "当前生效的考核方案版本已无法通过校验（penalties[2].periods：不能大于 24）；请发布修正后的版本。"
    failure = (await gql(JOB, {"id": job_id}, token))["data"]["job"]["failure"]
    assert failure == {"code": "CONFIG_INVALID", "field": "config", "message": chinese}
    shown = (await gql(PERIODS, {"scheme": str(scheme_id)}, token))["data"]["periods"]
    assert next(p for p in shown if p["key"] == PERIOD)["failure"] == failure
    await use_english(tenant.tenant_id)
    english = (
        "The scheme version in force no longer validates (penalties[2].periods: Must be at most 24); publish a "
        "corrected version."
    )
    shown = (await gql(PERIODS, {"scheme": str(scheme_id)}, token))["data"]["periods"]
    assert next(p for p in shown if p["key"] == PERIOD)["failure"] == {**failure, "message": english}


def test_kept_failures_round_trip_and_older_texts_still_read() -> None:
    nested = _("Outer {path}: {problem}", path="metrics[0]", problem=_("Inner {count}", count=3))
    kept = encode_failure(Problem(CloseErrorCode.CONFIG_INVALID, nested, "config"))
    assert json.loads(kept)["message"] == "Outer metrics[0]: Inner 3"  # English, for people reading the database
    back = decode_failure(kept)
    assert back is not None
    assert (back.code, back.field, back.message) == (CloseErrorCode.CONFIG_INVALID, "config", nested)
    # The "CODE: message" text kept before; an unknown code (a later version's) is still a failure.
    old = decode_failure("CONFIG_OUT_OF_RANGE: A number is out of range.")
    assert old is not None
    assert (old.code, old.message) == (CloseErrorCode.CONFIG_OUT_OF_RANGE, Message("A number is out of range."))
    unknown = decode_failure(json.dumps({"code": "NEW_CODE", "template": "Later.", "params": {}, "field": None}))
    assert unknown is not None and (unknown.code, str(unknown.message)) == (CloseErrorCode.CLOSE_FAILED, "Later.")
    legacy_unknown = decode_failure("NEW_CODE: later")
    assert legacy_unknown is not None and str(legacy_unknown.message) == "NEW_CODE: later"
    assert decode_failure(None) is None and decode_failure("") is None
