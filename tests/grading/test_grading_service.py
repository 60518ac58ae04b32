"""Grading a month against the real database: DESIGN.md's example, the tenant's timezone at the month's edge, refunds,
configured thresholds, alerts and their assignment, grading again, another tenant, and the close reading the stored
grades (grading the month first when none are stored)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.grading import service
from tenants.grading.errors import GradingError, GradingErrorCode
from tenants.periods.simulate import simulate
from tenants.rules.grading import GradingRuleCode
from tenants.schemes import service as schemes
from tenants.tenancy.identity import TenantId
from tests.conftest import TenantFactory
from tests.factories import add_customer, add_staff, add_team
from tests.grading.support import alerts_of, order, refund, send, stored_grades

OCTOBER = "2026-10-15T12:00:00+08:00"
SEPTEMBER = "2026-09-15T12:00:00+08:00"


async def customers(tenant_id: TenantId, *codes: str) -> None:
    for code in codes:
        await add_customer(tenant_id, code)


async def test_the_design_example_is_stored_per_customer(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    await customers(tid, "c1", "c2", "c3", "c4", "c5", "c6")
    amounts = {"c1": "5000.00", "c2": "3000.00", "c3": "1000.00", "c4": "600.00", "c5": "400.00"}
    await send(tid, [order(f"o-{code}", code, amount, OCTOBER) for code, amount in amounts.items()])

    outcome = await service.grade_month(tid, SYSTEM, "2026-10")

    assert (outcome.customers, outcome.total, outcome.counts) == (
        6,
        Decimal("10000.00"),
        {"A": 1, "B": 1, "C": 3, "D": 1},
    )
    grades = await stored_grades(tid, "2026-10")
    assert {code: grade for code, (grade, _, _) in grades.items()} == {
        "c1": "A",
        "c2": "B",
        "c3": "C",
        "c4": "C",
        "c5": "C",
        "c6": "D",
    }
    assert grades["c6"][1] == Decimal("0.00")
    async with tenant_unit_of_work(tid) as conn:
        rows = await conn.execute_query_dict(
            "SELECT cu.code, g.before_amount, g.share_before, g.rank FROM customer_grade g "
            "JOIN customer cu ON cu.id = g.customer_id AND cu.tenant_id = g.tenant_id WHERE g.month = '2026-10' "
            "ORDER BY g.rank NULLS LAST"
        )
    assert [(r["code"], r["before_amount"], r["share_before"], r["rank"]) for r in rows] == [
        ("c1", Decimal("0.00"), Decimal("0"), 1),
        ("c2", Decimal("5000.00"), Decimal("0.5"), 2),
        ("c3", Decimal("8000.00"), Decimal("0.8"), 3),
        ("c4", Decimal("9000.00"), Decimal("0.9"), 4),
        ("c5", Decimal("9600.00"), Decimal("0.96"), 5),
        ("c6", None, None, None),
    ]


async def test_an_order_at_0005_on_the_1st_in_shanghai_belongs_to_that_month(make_tenant: TenantFactory) -> None:
    """2026-11-01 00:05 in Shanghai is still October 31 in UTC: it counts for November, not October."""
    tenant = await make_tenant(timezone="Asia/Shanghai")
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    await customers(tid, "early", "late")
    await send(
        tid,
        [
            order("o-late", "late", "100.00", "2026-11-01T00:05:00+08:00"),
            order("o-early", "early", "50.00", "2026-10-31T23:59:59+08:00"),
        ],
    )
    await service.grade_month(tid, SYSTEM, "2026-10")
    await service.grade_month(tid, SYSTEM, "2026-11")
    october, november = await stored_grades(tid, "2026-10"), await stored_grades(tid, "2026-11")
    assert october == {"early": ("A", Decimal("50.00"), None), "late": ("D", Decimal("0.00"), None)}
    assert november == {"early": ("D", Decimal("0.00"), "A"), "late": ("A", Decimal("100.00"), "D")}


async def test_refunds_make_a_contribution_zero_or_negative(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    await customers(tid, "zero", "negative", "buyer")
    await send(
        tid,
        [
            order("o-zero", "zero", "100.00", OCTOBER),
            order("o-neg", "negative", "80.00", SEPTEMBER),
            order("o-buy", "buyer", "10.00", OCTOBER),
            refund("r-zero", "o-zero", "zero", "-100.00", OCTOBER),
            # a refund in October of a September order: October's contribution is negative
            refund("r-neg", "o-neg", "negative", "-80.00", OCTOBER),
        ],
    )
    await service.grade_month(tid, SYSTEM, "2026-10")
    assert await stored_grades(tid, "2026-10") == {
        "zero": ("D", Decimal("0.00"), None),
        "negative": ("D", Decimal("-80.00"), None),
        "buyer": ("A", Decimal("10.00"), None),
    }


async def test_configured_thresholds_are_used_and_validated(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    await customers(tid, *[f"c{i}" for i in range(1, 6)])
    await send(tid, [order(f"o{i}", f"c{i}", "20.00", OCTOBER) for i in range(1, 6)])

    with pytest.raises(GradingError) as refused:
        await service.save_service_rules(tid, SYSTEM, {"grading": {"a_below": "0.7", "b_below": "0.6"}})
    assert [(p.code, p.field, p.detail) for p in refused.value.problems] == [
        (GradingErrorCode.INVALID_RULES, "grading.b_below", GradingRuleCode.THRESHOLDS_NOT_ASCENDING)
    ]
    assert (await service.get_service_rules(tid)).grading.a_below == Decimal("0.2")  # nothing stored

    await service.save_service_rules(tid, SYSTEM, {"grading": {"a_below": "0.5", "b_below": "0.9"}})
    await service.grade_month(tid, SYSTEM, "2026-10")
    grades = await stored_grades(tid, "2026-10")
    assert [grades[f"c{i}"][0] for i in range(1, 6)] == ["A", "A", "A", "B", "B"]


async def test_grade_changes_raise_alerts_once_assigned_to_the_guide_or_the_team(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    store = await add_team(tid, "store-1")
    guide = await add_staff(tid, "g1", team_id=store.id)
    await add_staff(tid, "g2", team_id=store.id)
    await add_customer(tid, "bound", guide_staff_id=guide.id, bound_since=datetime(2026, 1, 1, tzinfo=UTC))
    await customers(tid, "free", "small", "steady")
    # September: bound 500 (A), free 300 (B), small 50 and steady 50 (C); October: only steady buys.
    await send(
        tid,
        [
            order("s-bound", "bound", "500.00", SEPTEMBER),
            order("s-free", "free", "300.00", SEPTEMBER, staff="g2"),
            order("s-small", "small", "50.00", SEPTEMBER, staff="g2"),
            order("s-steady", "steady", "50.00", SEPTEMBER),
            order("o-steady", "steady", "10.00", OCTOBER),
        ],
    )
    await service.grade_month(tid, SYSTEM, "2026-09")
    first = await service.grade_month(tid, SYSTEM, "2026-10")
    assert first.alerts_created == 3
    alerts = [
        (a["customer"], a["kind"], a["action"], a["previous_grade"], a["grade"], a["assignee"], a["team"], a["state"])
        for a in await alerts_of(tid)
    ]
    assert alerts == [
        ("bound", "churn_risk", "visit", "A", "D", "g1", "store-1", "open"),
        ("free", "churn_risk", "visit", "B", "D", None, "store-1", "open"),
        ("small", "sleeping", "call", "C", "D", None, "store-1", "open"),
    ]
    again = await service.grade_month(tid, SYSTEM, "2026-10")
    assert again.alerts_created == 0 and len(await alerts_of(tid)) == 3
    assert (await stored_grades(tid, "2026-10"))["steady"] == ("A", Decimal("10.00"), "C")

    # November, nobody buys: the three D customers stay D and are sleeping ones to call again (DESIGN.md: C or D
    # before, D now), routed as October's alerts were (no order since September); steady, A before, is a churn risk.
    november = await service.grade_month(tid, SYSTEM, "2026-11")
    assert november.alerts_created == 4
    assert [
        (a["customer"], a["kind"], a["previous_grade"], a["assignee"], a["team"])
        for a in await alerts_of(tid)
        if a["month"] == "2026-11"
    ] == [
        ("bound", "sleeping", "D", "g1", "store-1"),
        ("free", "sleeping", "D", None, "store-1"),
        ("small", "sleeping", "D", None, "store-1"),
        ("steady", "churn_risk", "A", None, "store-1"),
    ]


async def test_another_tenants_events_and_customers_are_not_graded(make_tenant: TenantFactory) -> None:
    mine, theirs = await make_tenant(), await make_tenant()
    for tenant in (mine, theirs):
        await add_staff(tenant.tenant_id, "g1")
        await add_customer(tenant.tenant_id, "c1")
    await send(theirs.tenant_id, [order("o1", "c1", "999.00", OCTOBER)])
    outcome = await service.grade_month(mine.tenant_id, SYSTEM, "2026-10")
    assert (outcome.customers, outcome.total) == (1, Decimal(0))
    assert await stored_grades(mine.tenant_id, "2026-10") == {"c1": ("D", Decimal("0.00"), None)}
    assert await stored_grades(theirs.tenant_id, "2026-10") == {}


@pytest.mark.parametrize("month", ["2026-13", "26-10", "0001-01", "9999-12", "2026-10\x00", "x" * 10_000])
async def test_a_bad_month_is_refused_with_a_code(make_tenant: TenantFactory, month: str) -> None:
    tenant = await make_tenant()
    with pytest.raises(GradingError) as refused:
        await service.grade_month(tenant.tenant_id, SYSTEM, month)
    assert refused.value.code == GradingErrorCode.INVALID_MONTH


async def test_a_month_not_over_in_the_tenants_timezone_is_not_graded_on_request(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant(timezone="Asia/Shanghai")
    # 2026-10-31 16:30 UTC is already November in Shanghai: October is over; November is not.
    now = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
    with pytest.raises(GradingError) as refused:
        await service.request_grading(tenant.tenant_id, SYSTEM, "2026-11", now=now)
    assert refused.value.code == GradingErrorCode.MONTH_NOT_OVER
    assert service.month_is_over("2026-10", "Asia/Shanghai", now)
    assert not service.month_is_over("2026-10", "UTC", now)


def grade_metrics() -> dict[str, Any]:
    metrics: list[dict[str, Any]] = [
        {
            "key": f"grade_{grade.lower()}",
            "aggregate": "count",
            "events": ["order"],
            "filter": {"customer_grade": [grade]},
        }
        for grade in "ABCD"
    ]
    metrics[0].update({"target": 10, "weight": 100})
    return {"cycle": "month", "metrics": metrics}


async def graded_scheme(tenant_id: TenantId) -> int:
    scheme = await schemes.create_scheme(tenant_id, SYSTEM, "grading")
    draft = await schemes.save_draft(tenant_id, SYSTEM, scheme.id, grade_metrics())
    await schemes.publish_version(tenant_id, SYSTEM, draft.id, date(2026, 9, 1))
    return int(scheme.id)


async def october_counts(tenant_id: TenantId, scheme_id: int) -> dict[str, Any]:
    _, result = await simulate(tenant_id, scheme_id, "2026-10")
    return {metric.key: metric.value for metric in result.scorecards[0].metrics}


async def test_the_close_reads_the_stored_grades_of_the_month_before(make_tenant: TenantFactory) -> None:
    """September is graded, then a late September order would change its ranking: the close keeps reading the stored
    grades (no recomputation) until September is graded again."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    await customers(tid, "c1", "c2", "c3")
    await send(
        tid,
        [order("s1", "c1", "50.00", SEPTEMBER), order("s2", "c2", "40.00", SEPTEMBER)]
        + [order(f"o-{code}", code, "1.00", OCTOBER) for code in ("c1", "c2", "c3")],
    )
    scheme_id = await graded_scheme(tid)
    await service.grade_month(tid, SYSTEM, "2026-09")
    assert await october_counts(tid, scheme_id) == {"grade_a": 1, "grade_b": 1, "grade_c": 0, "grade_d": 1}

    await send(tid, [order("s3-late", "c3", "500.00", SEPTEMBER)])  # c3 would now be A, c1 and c2 C
    assert await october_counts(tid, scheme_id) == {"grade_a": 1, "grade_b": 1, "grade_c": 0, "grade_d": 1}

    await service.grade_month(tid, SYSTEM, "2026-09")
    assert await october_counts(tid, scheme_id) == {"grade_a": 1, "grade_b": 0, "grade_c": 2, "grade_d": 0}
    assert (await stored_grades(tid, "2026-09"))["c3"][0] == "A"


async def test_grading_a_month_again_replaces_its_rows_with_a_new_runs(make_tenant: TenantFactory) -> None:
    """Each grading of a month is a new run (migration 0018): after the third grading only that run's rows exist, once
    per customer, listed by position; the summary row names the run and counts three gradings; another tenant's month
    graded in between keeps its own run."""
    tenant, other = await make_tenant(), await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    await customers(tid, "c1", "c2", "c3")
    await send(tid, [order("o1", "c1", "50.00", OCTOBER), order("o2", "c2", "40.00", OCTOBER)])
    await service.grade_month(tid, SYSTEM, "2026-10")
    await send(tid, [order("o3", "c3", "500.00", OCTOBER)])
    await service.grade_month(tid, SYSTEM, "2026-10")
    await add_customer(other.tenant_id, "c1")
    await service.grade_month(other.tenant_id, SYSTEM, "2026-10")
    await service.grade_month(tid, SYSTEM, "2026-10")

    async with tenant_unit_of_work(tid) as conn:
        rows = await conn.execute_query_dict(
            "SELECT cu.code, g.run, g.position, g.grade FROM customer_grade g "
            "JOIN customer cu ON cu.id = g.customer_id AND cu.tenant_id = g.tenant_id WHERE g.month = '2026-10' "
            "ORDER BY g.position"
        )
        months = await conn.execute_query_dict("SELECT run, gradings FROM customer_grade_month WHERE month = '2026-10'")
    async with tenant_unit_of_work(other.tenant_id) as conn:
        theirs = await conn.execute_query_dict("SELECT run, gradings FROM customer_grade_month WHERE month = '2026-10'")
    run = months[0]["run"]
    assert [(r["code"], r["run"], r["position"], r["grade"]) for r in rows] == [
        ("c3", run, 1, "A"),
        ("c1", run, 2, "C"),
        ("c2", run, 3, "C"),
    ]
    assert months == [{"run": run, "gradings": 3}]
    assert theirs[0]["gradings"] == 1 and theirs[0]["run"] < run
    assert (await stored_grades(other.tenant_id, "2026-10")) == {"c1": ("D", Decimal("0.00"), None)}


async def test_a_close_grades_the_month_before_when_none_are_stored(make_tenant: TenantFactory) -> None:
    """Five customers of 20 each in September (before 0, 20, 40, 60, 80 of 100: A, B, B, C, C), c6 without orders D:
    the close finds no stored grades for September, grades it (stored, as the job would) and counts with them."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    codes = ["c1", "c2", "c3", "c4", "c5", "c6"]
    await customers(tid, *codes)
    await send(
        tid,
        [order(f"sep-{code}", code, "20.00", SEPTEMBER) for code in codes[:5]]
        + [order(f"oct-{code}", code, "1.00", OCTOBER) for code in codes],
    )
    scheme_id = await graded_scheme(tid)
    assert await stored_grades(tid, "2026-09") == {}

    assert await october_counts(tid, scheme_id) == {"grade_a": 1, "grade_b": 2, "grade_c": 2, "grade_d": 1}
    assert {code: grade for code, (grade, _, _) in (await stored_grades(tid, "2026-09")).items()} == {
        "c1": "A",
        "c2": "B",
        "c3": "B",
        "c4": "C",
        "c5": "C",
        "c6": "D",
    }


async def test_the_monthly_cron_grades_the_month_just_over_in_each_tenants_timezone(
    make_tenant: TenantFactory,
) -> None:
    """At 2026-10-31 16:30 UTC it is already November 1st in Shanghai (October is over) but still October in UTC."""
    shanghai, utc = await make_tenant(timezone="Asia/Shanghai"), await make_tenant(timezone="UTC")
    now = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
    due = dict(await service.months_due(now))
    assert (due[shanghai.tenant_id], due[utc.tenant_id]) == ("2026-10", "2026-09")
    await service.grade_month(shanghai.tenant_id, SYSTEM, "2026-10")
    assert shanghai.tenant_id not in dict(await service.months_due(now))


async def test_a_tenant_without_customers_grades_an_empty_month_and_again(make_tenant: TenantFactory) -> None:
    """Nothing to rank and nothing to write (an empty COPY): the month is still graded, with no customers, and
    grading it again replaces nothing with nothing."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    first = await service.grade_month(tid, SYSTEM, "2026-10")
    again = await service.grade_month(tid, SYSTEM, "2026-10")
    assert (first.customers, first.total, first.counts) == (0, Decimal(0), {"A": 0, "B": 0, "C": 0, "D": 0})
    assert (again.customers, again.alerts_created) == (0, 0)
    assert await stored_grades(tid, "2026-10") == {}
    async with tenant_unit_of_work(tid) as conn:
        months = await conn.execute_query_dict("SELECT customers, gradings FROM customer_grade_month")
    assert months == [{"customers": 0, "gradings": 2}]


async def test_two_gradings_of_a_month_at_once_leave_one_runs_rows(make_tenant: TenantFactory) -> None:
    """The monthly job and an admin's request may meet: the month's lock makes the second wait, read the first's run
    and replace it, so the month ends with one run's rows, once per customer."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    await customers(tid, "c1", "c2", "c3")
    await send(tid, [order("o1", "c1", "50.00", OCTOBER), order("o2", "c2", "40.00", OCTOBER)])
    outcomes = await asyncio.gather(*(service.grade_month(tid, SYSTEM, "2026-10") for _ in range(4)))
    assert {outcome.customers for outcome in outcomes} == {3}
    async with tenant_unit_of_work(tid) as conn:
        rows = await conn.execute_query_dict("SELECT run, customer_id FROM customer_grade WHERE month = '2026-10'")
        months = await conn.execute_query_dict("SELECT run, gradings FROM customer_grade_month WHERE month = '2026-10'")
    assert months[0]["gradings"] == 4
    assert {row["run"] for row in rows} == {months[0]["run"]}
    assert len(rows) == len({row["customer_id"] for row in rows}) == 3
