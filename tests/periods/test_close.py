"""Closing periods: through GraphQL and a worker, re-close deltas, concurrency, timezone, provisional, cron."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker
from redis.asyncio import Redis

from server.settings import Settings
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.events.service import ingest
from tenants.periods.close import close_period
from tenants.periods.errors import CloseError
from tenants.periods.models import LedgerLine, Period, Scorecard
from tenants.periods.provisional import refresh_provisional
from tenants.periods.scheduling import due_work
from tenants.periods.simulate import simulate
from tenants.rules.config import parse_scheme_config
from tenants.schemes import service as schemes
from tenants.schemes.templates import get_template
from tenants.staff.models import Staff
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tests.conftest import GraphQL, TenantFactory
from tests.factories import add_staff
from workers.settings import FUNCTIONS, refresh_worker

CLOSE = """
mutation($scheme: ID!, $period: String!) {
  closePeriod(schemeId: $scheme, period: $period) {
    __typename
    ... on CloseStarted { job { id status } }
    ... on PeriodErrors { errors { field code message } }
  }
}
"""
JOB = "query($id: ID!) { job(id: $id) { status stage done total error result } }"
SCORECARDS = """
query($scheme: ID!, $period: String!) {
  scorecards(schemeId: $scheme, period: $period, orderBy: RANK) {
    edges { node { staffCode total grade rank revision net } }
  }
}
"""


async def lines_of(tenant_id: TenantId) -> list[tuple[str, int, str, str, Decimal]]:
    async with tenant_unit_of_work(tenant_id):
        codes = {s.id: s.code for s in await Staff.filter(tenant_id=tenant_id)}
        lines = await LedgerLine.filter(tenant_id=tenant_id).order_by("id")
    return [(codes[line.staff_id], line.revision, line.rule_key, line.kind, line.amount) for line in lines]


async def run_worker(settings: Settings, *, refreshes: bool = True) -> None:
    """Real arq workers in burst mode, in this process (Tortoise is already initialised by the app fixture): the
    main queue's (closes), then, unless `refreshes` is off, the refresh queue's, as one `kaohe worker` serves both."""
    worker = Worker(
        functions=FUNCTIONS,
        # Its own pool: the worker closes it on exit, and the API's cached pool must stay open.
        redis_pool=await create_pool(
            RedisSettings.from_dsn(settings.redis_url), default_queue_name=settings.queue_name
        ),
        queue_name=settings.queue_name,
        burst=True,
        poll_delay=0,
        handle_signals=False,
        ctx={"settings": settings},
    )
    try:
        await worker.main()
    finally:
        await worker.close()
    if refreshes:
        refresher = refresh_worker(
            settings, await create_pool(RedisSettings.from_dsn(settings.redis_url)), burst=True, poll_delay=0
        )
        try:
            await refresher.main()
        finally:
            await refresher.close()


async def test_close_through_graphql_and_worker(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, database: Settings
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    started = (await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, token))["data"]["closePeriod"]
    assert started["__typename"] == "CloseStarted"
    assert started["job"]["status"] == "queued"
    await run_worker(database)
    job = (await gql(JOB, {"id": started["job"]["id"]}, token))["data"]["job"]
    assert job == {
        "status": "complete",
        "stage": "done",
        "done": 1,
        "total": 1,
        "error": None,
        "result": "revision 1, 12 lines posted",
    }
    page = (await gql(SCORECARDS, {"scheme": str(scheme_id), "period": PERIOD}, token))["data"]["scorecards"]
    cards = [edge["node"] for edge in page["edges"]]
    assert [(c["staffCode"], c["total"], c["grade"], c["rank"], c["net"]) for c in cards] == [
        ("guide-001", "120.00", "S", 1, "1200.00"),
        ("guide-003", "55.00", "D", 2, "300.00"),
        ("guide-002", "40.00", "D", 3, "-400.00"),
    ]
    # Another tenant sees neither the job nor the scorecards, and cannot close this scheme.
    other = await make_tenant()
    other_token = await login(other.admin_email)
    assert (await gql(JOB, {"id": started["job"]["id"]}, other_token))["data"]["job"] is None
    assert (await gql(SCORECARDS, {"scheme": str(scheme_id), "period": PERIOD}, other_token))["data"][
        "scorecards"
    ] is None
    refused = (await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, other_token))["data"]["closePeriod"]
    assert refused["errors"][0]["code"] == "SCHEME_NOT_FOUND"


async def test_reclose_through_the_worker_after_a_close(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, database: Settings
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    for expected in ("revision 1, 12 lines posted", "revision 1, 0 lines posted"):
        started = (await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, token))["data"]["closePeriod"]
        await run_worker(database)
        job = (await gql(JOB, {"id": started["job"]["id"]}, token))["data"]["job"]
        assert (job["status"], job["result"]) == ("complete", expected)


async def test_close_refusals_change_nothing(make_tenant: TenantFactory, gql: GraphQL, login: Any) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    not_ended = (await gql(CLOSE, {"scheme": str(scheme_id), "period": "2099-01"}, token))["data"]["closePeriod"]
    assert not_ended["errors"][0]["code"] == "PERIOD_NOT_ENDED"
    bad = (await gql(CLOSE, {"scheme": str(scheme_id), "period": "2026-13"}, token))["data"]["closePeriod"]
    assert bad["errors"][0]["code"] == "BAD_PERIOD"
    manager = await make_tenant(role=Role.MANAGER)
    manager_token = await login(manager.admin_email)
    manager_scheme = await seed_worked_example(manager.tenant_id)
    body = await gql(CLOSE, {"scheme": str(manager_scheme), "period": PERIOD}, manager_token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for tenant_id in (tenant.tenant_id, manager.tenant_id):
        async with tenant_unit_of_work(tenant_id):
            assert await Period.filter(tenant_id=tenant_id).count() == 0


async def test_late_event_reclose_posts_only_the_delta(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    await close_period(tid, scheme_id, PERIOD)
    first = await lines_of(tid)
    # 小李 sells 2,000 more in October, reported late.
    late = {
        "externalId": "late-1",
        "type": "order",
        "occurredAt": "2026-10-20T12:00:00+08:00",
        "staff": "guide-002",
        "amount": "2000.00",
    }
    assert (await ingest(tid, [(0, late)])).accepted == 1
    async with tenant_unit_of_work(tid):
        assert (await Period.get(tenant_id=tid, scheme_id=scheme_id, key=PERIOD)).state == "stale"
    outcome = await close_period(tid, scheme_id, PERIOD)
    assert (outcome.revision, outcome.changed) == (2, True)
    # Sales 10,000 -> score 50 -> total 16 + 12 + 15 = 43: a new revision of his scorecard, but still below the
    # commission gate, so no amount changed and no line is posted (posted lines are never touched either).
    assert await lines_of(tid) == first
    async with tenant_unit_of_work(tid):
        li = await Staff.get(tenant_id=tid, code="guide-002")
        card = await Scorecard.get(tenant_id=tid, staff_id=li.id, revision=2)
    assert card.total == Decimal("43.0000")
    again = await close_period(tid, scheme_id, PERIOD, force=True)
    assert (again.revision, again.changed, again.lines_posted) == (2, False, 0)


async def test_reclose_adjusts_money(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    await close_period(tid, scheme_id, PERIOD)
    # A refund of 1,000 for 小王 in October: commission 1,000.00 -> 950.00.
    refund = {
        "externalId": "late-refund",
        "type": "refund",
        "occurredAt": "2026-10-25T12:00:00+08:00",
        "staff": "guide-001",
        "amount": "-1000.00",
        "attributes": {"order": "guide-001-order-1"},
    }
    assert (await ingest(tid, [(0, refund)])).accepted == 1
    outcome = await close_period(tid, scheme_id, PERIOD)
    assert (outcome.revision, outcome.lines_posted) == (2, 1)
    adjustments = [line for line in await lines_of(tid) if line[1] == 2]
    assert adjustments == [("guide-001", 2, "commission", "adjustment", Decimal("-50.00"))]
    async with tenant_unit_of_work(tid):
        line = await LedgerLine.get(tenant_id=tid, revision=2)
    assert line.derivation.startswith("调整（修订 2 对比修订 1）：已入账 1,000.00，重算 950.00，差额 -50.00")
    assert (await close_period(tid, scheme_id, PERIOD, force=True)).lines_posted == 0


async def test_two_concurrent_closes_post_one_set_of_lines(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    outcomes = await asyncio.gather(
        close_period(tenant.tenant_id, scheme_id, PERIOD), close_period(tenant.tenant_id, scheme_id, PERIOD)
    )
    assert sorted(o.lines_posted for o in outcomes) == [0, 12]
    assert len(await lines_of(tenant.tenant_id)) == 12


async def test_timezone_decides_the_period(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    config = {
        "cycle": "month",
        "timezone": "Asia/Shanghai",
        "metrics": [{"key": "sales", "aggregate": "sum_amount", "events": ["order"], "target": 100, "weight": 100}],
    }
    scheme = await schemes.create_scheme(tid, SYSTEM, "tz")
    draft = await schemes.save_draft(tid, SYSTEM, scheme.id, config)
    await schemes.publish_version(tid, SYSTEM, draft.id, date(2026, 10, 1))
    events = [
        {
            "externalId": "late-oct",
            "type": "order",
            "occurredAt": "2026-10-31T23:50:00+08:00",
            "staff": "g1",
            "amount": "10.00",
        },
        {
            "externalId": "early-nov",
            "type": "order",
            "occurredAt": "2026-11-01T00:10:00+08:00",
            "staff": "g1",
            "amount": "20.00",
        },
    ]
    assert (await ingest(tid, enumerate(events))).accepted == 2
    _, october = await simulate(tid, scheme.id, "2026-10")
    _, november = await simulate(tid, scheme.id, "2026-11")
    assert october.scorecards[0].metrics[0].value == Decimal("10.00")
    assert november.scorecards[0].metrics[0].value == Decimal("20.00")


async def test_provisional_scorecards_post_no_money(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    assert await refresh_provisional(tid, scheme_id, PERIOD) == 3
    assert await refresh_provisional(tid, scheme_id, PERIOD) == 3  # rewritten, not duplicated
    async with tenant_unit_of_work(tid):
        assert await Scorecard.filter(tenant_id=tid, revision=0, provisional=True).count() == 3
    assert await lines_of(tid) == []
    await close_period(tid, scheme_id, PERIOD)
    async with tenant_unit_of_work(tid):
        assert await Scorecard.filter(tenant_id=tid, revision=0).count() == 0


async def test_simulation_stores_nothing(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    generous = get_template("store_guide_new_customers").config
    generous["rewards"][0]["gate"] = {"min_score": 0}
    _, result = await simulate(tid, scheme_id, PERIOD, config=parse_scheme_config(generous))
    li = next(card for card in result.scorecards if card.staff_code == "guide-002")
    assert li.lines[0].amount == Decimal("240.00")  # 8,000 x 3% without the gate
    async with tenant_unit_of_work(tid):
        assert await Period.filter(tenant_id=tid).count() == 0
        assert await Scorecard.filter(tenant_id=tid).count() == 0


async def test_cron_finds_due_periods(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    # 2 November 2026, 10:00 Shanghai: October ended more than 6 hours ago; November is open.
    work = await due_work(datetime(2026, 11, 2, 2, tzinfo=UTC))
    mine = [(w.scheme_id, w.period_key) for w in work.to_close if w.tenant_id == tenant.tenant_id]
    refresh = [(w.scheme_id, w.period_key) for w in work.to_refresh if w.tenant_id == tenant.tenant_id]
    assert mine == [(scheme_id, "2026-10")]
    assert refresh == [(scheme_id, "2026-11")]
    # Within the grace (1 November, 05:00 Shanghai) nothing is due yet.
    early = await due_work(datetime(2026, 10, 31, 21, tzinfo=UTC))
    assert [w for w in early.to_close if w.tenant_id == tenant.tenant_id] == []


async def test_close_unknown_scheme_is_an_error(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    with pytest.raises(CloseError, match="No such scheme"):
        await close_period(tenant.tenant_id, 999_999_999, PERIOD)


async def test_job_status_is_tenant_scoped(make_tenant: TenantFactory, redis: Redis) -> None:
    from tenants.periods.jobs import create_job, read_job

    a, b = await make_tenant(), await make_tenant()
    await create_job(redis, "job-a", a.tenant_id, "close")
    assert (await read_job(redis, a.tenant_id, "job-a")) is not None
    assert await read_job(redis, b.tenant_id, "job-a") is None


async def test_incremental_reclose_equals_a_full_recompute(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    await add_staff(tid, "g2")
    from tests.factories import add_customer

    for code in ("c1", "c2", "c3"):
        await add_customer(tid, code)
    config = {
        "cycle": "month",
        "metrics": [
            {"key": "buyers", "aggregate": "count_distinct_customers", "events": ["order"], "target": 3, "weight": 40},
            {
                "key": "sales",
                "aggregate": "sum_amount",
                "events": ["order", "refund"],
                "credit": "credited",
                "target": 300,
                "weight": 40,
            },
            {"key": "rating", "aggregate": "avg_value", "events": ["survey"], "target": 4, "weight": 20},
        ],
        "penalties": [{"key": "late", "type": "per_event", "events": ["late"], "amount": 10}],
    }
    scheme = await schemes.create_scheme(tid, SYSTEM, "incremental")
    draft = await schemes.save_draft(tid, SYSTEM, scheme.id, config)
    await schemes.publish_version(tid, SYSTEM, draft.id, date(2026, 10, 1))

    def event(external_id: str, kind: str, staff: str, **extra: Any) -> dict[str, Any]:
        return {
            "externalId": external_id,
            "type": kind,
            "occurredAt": "2026-10-10T10:00:00+08:00",
            "staff": staff,
            **extra,
        }

    first = [
        event("o1", "order", "g1", customer="c1", amount="100.00"),
        event(
            "o2",
            "order",
            "g1",
            customer="c2",
            amount="50.00",
            credits=[{"staff": "g1", "share": "0.333333"}, {"staff": "g2", "share": "0.666667"}],
        ),
        event("s1", "survey", "g1", value="5"),
        event("l1", "late", "g2"),
    ]
    assert (await ingest(tid, enumerate(first))).accepted == 4
    await close_period(tid, scheme.id, "2026-10")
    late = [
        event("o3", "order", "g1", customer="c1", amount="10.00"),  # a customer already counted for g1
        event("o4", "order", "g1", customer="c3", amount="20.00"),  # a new one
        event("o5", "order", "g2", customer="c1", amount="30.00"),  # new for g2
        event("s2", "survey", "g1", value="2"),
        event("l2", "late", "g2"),
        {**event("r1", "refund", "g1", amount="-5.00"), "attributes": {"order": "o2"}},
    ]
    assert (await ingest(tid, enumerate(late))).accepted == 6
    outcome = await close_period(tid, scheme.id, "2026-10")
    assert (outcome.revision, outcome.incremental) == (2, True)
    _, full = await simulate(tid, scheme.id, "2026-10")
    async with tenant_unit_of_work(tid):
        stored = {c.staff_id: c for c in await Scorecard.filter(tenant_id=tid, revision=2)}
    for card in full.scorecards:
        mine = stored[card.staff_id]
        assert mine.total == card.total
        assert [m["value"] for m in mine.metrics] == [None if m.value is None else str(m.value) for m in card.metrics]
    g1 = next(c for c in full.scorecards if c.staff_code == "g1")
    assert [m.value for m in g1.metrics] == [Decimal(3), Decimal("145.00"), Decimal("3.5")]


async def test_cron_job_closes_due_periods_end_to_end(
    make_tenant: TenantFactory, redis: Redis, database: Settings
) -> None:
    from workers.jobs import close_due_periods

    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    enqueued = await close_due_periods({"redis": redis, "settings": database})
    assert enqueued >= 2  # this tenant's October close and November refresh, at least
    await run_worker(database)
    async with tenant_unit_of_work(tid):
        periods = {p.key: p for p in await Period.filter(tenant_id=tid, scheme_id=scheme_id)}
        provisional = await Scorecard.filter(tenant_id=tid, provisional=True).count()
    assert (periods["2026-10"].state, periods["2026-10"].revision) == ("closed", 1)
    current = max(periods)
    assert periods[current].state == "open"
    assert provisional == 3
    assert len(await lines_of(tid)) == 12


REFRESH = """
mutation($scheme: ID!, $period: String!) {
  refreshScorecards(schemeId: $scheme, period: $period) { __typename ... on CloseStarted { job { id } } }
}
"""
PERIODS = "query($scheme: ID!) { periods(schemeId: $scheme) { key state revision } }"
MY_CARDS = "query($scheme: ID!, $period: String!) { myScorecard(schemeId: $scheme, period: $period) { staffCode } }"


async def test_refresh_on_demand_periods_and_staff_see_only_their_own(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, database: Settings
) -> None:
    from tenants.tenancy import service
    from tests.conftest import PASSWORD, unique

    tenant = await make_tenant(role=Role.MANAGER)
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)
    token = await login(tenant.admin_email)
    started = (await gql(REFRESH, {"scheme": str(scheme_id), "period": PERIOD}, token))["data"]["refreshScorecards"]
    await run_worker(database)
    job = (await gql(JOB, {"id": started["job"]["id"]}, token))["data"]["job"]
    assert (job["status"], job["result"]) == ("complete", "3 provisional scorecards")
    assert (await gql(PERIODS, {"scheme": str(scheme_id)}, token))["data"]["periods"] == [
        {"key": PERIOD, "state": "open", "revision": 0}
    ]
    assert await lines_of(tid) == []
    # A staff member linked to 小李 sees only 小李's scorecard; an unlinked staff user sees none.
    email = f"{unique('li')}@example.com"
    user = await service.create_user(email, PASSWORD)
    await service.add_membership(tid, user.id, Role.STAFF)
    staff_token = await login(email)
    assert (await gql(MY_CARDS, {"scheme": str(scheme_id), "period": PERIOD}, staff_token))["data"][
        "myScorecard"
    ] is None
    async with tenant_unit_of_work(tid):
        await Staff.filter(tenant_id=tid, code="guide-002").update(user_id=user.id)
    mine = (await gql(MY_CARDS, {"scheme": str(scheme_id), "period": PERIOD}, staff_token))["data"]["myScorecard"]
    assert mine == {"staffCode": "guide-002"}
    # Other tenant: no periods, and a staff user cannot close.
    other = await make_tenant()
    other_token = await login(other.admin_email)
    assert (await gql(PERIODS, {"scheme": str(scheme_id)}, other_token))["data"]["periods"] == []
    body = await gql(CLOSE, {"scheme": str(scheme_id), "period": PERIOD}, staff_token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
