"""Grading over GraphQL: customerGrades (paged, filtered, scoped), gradeSummary, myAlerts, updateAlert,
gradeCustomers (a job the worker runs), serviceRules; other tenants, wrong roles and bad input change nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

from server.settings import Settings
from tenants.audit.service import SYSTEM
from tenants.grading import service
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tests.conftest import GraphQL, TenantFactory
from tests.factories import add_customer, add_staff, add_team
from tests.grading.support import alerts_of, member, order, send, stored_grades
from workers.settings import FUNCTIONS

SEPTEMBER = "2026-09-15T12:00:00+08:00"
OCTOBER = "2026-10-15T12:00:00+08:00"

GRADES = """
query Grades($month: String!, $grade: CustomerGradeLetter, $team: String, $first: Int!, $after: String) {
  customerGrades(month: $month, grade: $grade, team: $team, first: $first, after: $after) {
    __typename
    ... on CustomerGradePage { items { customerCode grade previousGrade contribution rank guideCode }
                               endCursor hasNextPage }
    ... on GradingErrors { errors { code field message } }
  }
}
"""
SUMMARY = """
query Summary($month: String!) {
  gradeSummary(month: $month) {
    __typename
    ... on GradeSummary { month total aBelow bBelow grades { grade customers contribution share }
                          transitions { previousGrade grade customers } }
    ... on GradingErrors { errors { code field } }
  }
}
"""
ALERTS = """
query Alerts($state: AlertState) {
  myAlerts(state: $state) {
    __typename
    ... on CustomerAlertPage { items { id customerCode kind action assigneeCode teamCode state note } hasNextPage }
    ... on GradingErrors { errors { code } }
  }
}
"""
UPDATE = """
mutation Update($id: ID!, $state: AlertState!, $note: String) {
  updateAlert(id: $id, state: $state, note: $note) {
    __typename
    ... on AlertUpdated { alert { customerCode state note } }
    ... on GradingErrors { errors { code field } }
  }
}
"""
GRADE = """
mutation Grade($month: String!) {
  gradeCustomers(month: $month) {
    __typename
    ... on GradingStarted { job { id kind status } }
    ... on GradingErrors { errors { code field } }
  }
}
"""
RULES = """
mutation Rules($rules: JSON!) {
  saveServiceRules(rules: $rules) {
    __typename
    ... on ServiceRulesSaved { rules { aBelow bBelow } }
    ... on GradingErrors { errors { code field ruleCode } }
  }
}
"""


async def graded_tenant(make_tenant: TenantFactory) -> tuple[Any, dict[str, int]]:
    """store-1 (g1, guide of c1 and c2) and store-2 (g2, guide of c3); c4 unbound. September: c1 500 (A), c2 300
    (B), c3 100 (C), c4 100 (C); October: only c4 buys. So October: c4 A, the rest D with alerts."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    store1, store2 = await add_team(tid, "store-1"), await add_team(tid, "store-2")
    g1 = await add_staff(tid, "g1", team_id=store1.id)
    g2 = await add_staff(tid, "g2", team_id=store2.id)
    bound = datetime(2026, 1, 1, tzinfo=UTC)
    await add_customer(tid, "c1", guide_staff_id=g1.id, bound_since=bound)
    await add_customer(tid, "c2", guide_staff_id=g1.id, bound_since=bound)
    await add_customer(tid, "c3", guide_staff_id=g2.id, bound_since=bound)
    await add_customer(tid, "c4")
    await send(
        tid,
        [
            order("s1", "c1", "500.00", SEPTEMBER),
            order("s2", "c2", "300.00", SEPTEMBER),
            order("s3", "c3", "100.00", SEPTEMBER, staff="g2"),
            order("s4", "c4", "100.00", SEPTEMBER, staff="g2"),
            order("o4", "c4", "70.00", OCTOBER, staff="g2"),
        ],
    )
    await service.grade_month(tid, SYSTEM, "2026-09")
    await service.grade_month(tid, SYSTEM, "2026-10")
    return tenant, {"g1": g1.id, "g2": g2.id}


async def test_customer_grades_paged_filtered_and_scoped(make_tenant: TenantFactory, gql: GraphQL, login: Any) -> None:
    tenant, _ = await graded_tenant(make_tenant)
    admin = await login(tenant.admin_email)
    page = (await gql(GRADES, {"month": "2026-09", "first": 2}, admin))["data"]["customerGrades"]
    assert [(i["customerCode"], i["grade"], i["rank"]) for i in page["items"]] == [("c1", "A", 1), ("c2", "B", 2)]
    assert page["hasNextPage"]
    rest = (await gql(GRADES, {"month": "2026-09", "first": 2, "after": page["endCursor"]}, admin))["data"]
    assert [i["customerCode"] for i in rest["customerGrades"]["items"]] == ["c3", "c4"]
    assert not rest["customerGrades"]["hasNextPage"]
    d_only = (await gql(GRADES, {"month": "2026-10", "first": 10, "grade": "D"}, admin))["data"]["customerGrades"]
    assert [(i["customerCode"], i["previousGrade"], i["contribution"]) for i in d_only["items"]] == [
        ("c1", "A", "0.00"),
        ("c2", "B", "0.00"),
        ("c3", "C", "0.00"),
    ]
    team = (await gql(GRADES, {"month": "2026-10", "first": 10, "team": "store-2"}, admin))["data"]
    assert [i["customerCode"] for i in team["customerGrades"]["items"]] == ["c3"]

    manager = await login(await member(tenant.tenant_id, Role.MANAGER, teams=["store-1"]), tenant=tenant.slug)
    scoped = (await gql(GRADES, {"month": "2026-09", "first": 10}, manager))["data"]["customerGrades"]
    assert [i["customerCode"] for i in scoped["items"]] == ["c1", "c2"]
    guide = await login(await member(tenant.tenant_id, Role.STAFF, staff_code="g2"), tenant=tenant.slug)
    own = (await gql(GRADES, {"month": "2026-09", "first": 10}, guide))["data"]["customerGrades"]
    assert [i["customerCode"] for i in own["items"]] == ["c3"]
    unlinked = await login(await member(tenant.tenant_id, Role.STAFF), tenant=tenant.slug)
    assert (await gql(GRADES, {"month": "2026-09", "first": 10}, unlinked))["data"]["customerGrades"]["items"] == []

    other = await make_tenant()
    foreign = (await gql(GRADES, {"month": "2026-09", "first": 10}, await login(other.admin_email)))["data"]
    assert foreign["customerGrades"]["items"] == []


async def test_bad_arguments_are_coded_errors(make_tenant: TenantFactory, gql: GraphQL, login: Any) -> None:
    tenant, _ = await graded_tenant(make_tenant)
    admin = await login(tenant.admin_email)
    for variables, code, field in [
        ({"month": "2026-13", "first": 5}, "INVALID_MONTH", "month"),
        ({"month": "9999-12", "first": 5}, "INVALID_MONTH", "month"),
        ({"month": "2026-09", "first": 5, "after": "nope"}, "INVALID_PAGE", "after"),
        ({"month": "2026-09", "first": 5, "after": "99999999999999999999"}, "INVALID_PAGE", "after"),
    ]:
        answer = (await gql(GRADES, variables, admin))["data"]["customerGrades"]
        assert answer["__typename"] == "GradingErrors"
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [(code, field)], variables
    summary = (await gql(SUMMARY, {"month": "2025-01"}, admin))["data"]["gradeSummary"]
    assert summary["errors"] == [{"code": "NOT_GRADED", "field": "month"}]


async def test_grade_summary_counts_shares_and_transitions(
    make_tenant: TenantFactory, gql: GraphQL, login: Any
) -> None:
    tenant, _ = await graded_tenant(make_tenant)
    admin = await login(tenant.admin_email)
    summary = (await gql(SUMMARY, {"month": "2026-09"}, admin))["data"]["gradeSummary"]
    assert (summary["total"], summary["aBelow"], summary["bBelow"]) == ("1000.00", "0.2", "0.6")
    assert [(g["grade"], g["customers"], g["contribution"], g["share"]) for g in summary["grades"]] == [
        ("A", 1, "500.00", "0.5"),
        ("B", 1, "300.00", "0.3"),
        ("C", 2, "200.00", "0.2"),
        ("D", 0, "0.00", "0"),
    ]
    october = (await gql(SUMMARY, {"month": "2026-10"}, admin))["data"]["gradeSummary"]
    assert [(t["previousGrade"], t["grade"], t["customers"]) for t in october["transitions"]] == [
        ("A", "D", 1),
        ("B", "D", 1),
        ("C", "A", 1),
        ("C", "D", 1),
    ]
    # Another tenant's admin: that tenant has not graded September; nothing of this tenant's shows.
    foreign_admin = await login((await make_tenant()).admin_email)
    foreign = (await gql(SUMMARY, {"month": "2026-09"}, foreign_admin))["data"]["gradeSummary"]
    assert foreign == {"__typename": "GradingErrors", "errors": [{"code": "NOT_GRADED", "field": "month"}]}


async def test_alerts_for_the_guide_the_manager_and_the_admin(
    make_tenant: TenantFactory, gql: GraphQL, login: Any
) -> None:
    tenant, _ = await graded_tenant(make_tenant)
    tid: TenantId = tenant.tenant_id
    admin = await login(tenant.admin_email)
    everything = (await gql(ALERTS, {}, admin))["data"]["myAlerts"]["items"]
    assert sorted((a["customerCode"], a["kind"], a["action"], a["assigneeCode"]) for a in everything) == [
        ("c1", "churn_risk", "visit", "g1"),
        ("c2", "churn_risk", "visit", "g1"),
        ("c3", "sleeping", "call", "g2"),
    ]
    g1 = await login(await member(tid, Role.STAFF, staff_code="g1"), tenant=tenant.slug)
    mine = (await gql(ALERTS, {}, g1))["data"]["myAlerts"]["items"]
    assert sorted(a["customerCode"] for a in mine) == ["c1", "c2"]
    manager2 = await login(await member(tid, Role.MANAGER, teams=["store-2"]), tenant=tenant.slug)
    assert [a["customerCode"] for a in (await gql(ALERTS, {}, manager2))["data"]["myAlerts"]["items"]] == ["c3"]

    c3_alert = next(a for a in everything if a["customerCode"] == "c3")
    # g1 cannot touch g2's alert: NOT_FOUND, nothing changed
    refused = (await gql(UPDATE, {"id": c3_alert["id"], "state": "DONE", "note": "x"}, g1))["data"]["updateAlert"]
    assert refused["errors"] == [{"code": "NOT_FOUND", "field": "id"}]
    done = await gql(UPDATE, {"id": c3_alert["id"], "state": "DONE", "note": "called, will come Friday"}, manager2)
    assert done["data"]["updateAlert"]["alert"] == {
        "customerCode": "c3",
        "state": "DONE",
        "note": "called, will come Friday",
    }
    still_open = (await gql(ALERTS, {"state": "OPEN"}, admin))["data"]["myAlerts"]["items"]
    assert sorted(a["customerCode"] for a in still_open) == ["c1", "c2"]
    too_long = (await gql(UPDATE, {"id": c3_alert["id"], "state": "OPEN", "note": "x" * 2001}, admin))["data"]
    assert too_long["updateAlert"]["errors"] == [{"code": "INVALID_NOTE", "field": "note"}]
    garbage = (await gql(UPDATE, {"id": "not-an-id", "state": "OPEN"}, admin))["data"]["updateAlert"]
    assert garbage["errors"] == [{"code": "NOT_FOUND", "field": "id"}]

    other = await make_tenant()
    foreign_admin = await login(other.admin_email)
    assert (await gql(ALERTS, {}, foreign_admin))["data"]["myAlerts"]["items"] == []
    foreign = (await gql(UPDATE, {"id": c3_alert["id"], "state": "OPEN"}, foreign_admin))["data"]["updateAlert"]
    assert foreign["errors"] == [{"code": "NOT_FOUND", "field": "id"}]
    states = {a["customer"]: (a["state"], a["note"]) for a in await alerts_of(tid)}
    assert states["c3"] == ("done", "called, will come Friday")


async def test_grade_customers_is_a_job_for_admins_only(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, database: Settings
) -> None:
    tenant, _ = await graded_tenant(make_tenant)
    tid = tenant.tenant_id
    manager = await login(await member(tid, Role.MANAGER, teams=["store-1"]), tenant=tenant.slug)
    forbidden = await gql(GRADE, {"month": "2026-08"}, manager)
    assert forbidden["data"] is None and forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = await login(tenant.admin_email)
    not_over = (await gql(GRADE, {"month": "2999-01"}, admin))["data"]["gradeCustomers"]
    assert not_over["errors"] == [{"code": "MONTH_NOT_OVER", "field": "month"}]
    started = (await gql(GRADE, {"month": "2026-08"}, admin))["data"]["gradeCustomers"]
    assert started["job"]["kind"] == "grading" and started["job"]["status"] == "queued"
    assert await stored_grades(tid, "2026-08") == {}
    worker = Worker(
        functions=FUNCTIONS,
        redis_pool=await create_pool(
            RedisSettings.from_dsn(database.redis_url), default_queue_name=database.queue_name
        ),
        queue_name=database.queue_name,
        burst=True,
        poll_delay=0,
        handle_signals=False,
        ctx={"settings": database},
    )
    try:
        await worker.main()
    finally:
        await worker.close()
    job = await gql("query J($id: ID!) { job(id: $id) { status result } }", {"id": started["job"]["id"]}, admin)
    assert job["data"]["job"]["status"] == "complete"
    assert {grade for grade, _, _ in (await stored_grades(tid, "2026-08")).values()} == {"D"}


async def test_service_rules_for_admins_validated_whole(make_tenant: TenantFactory, gql: GraphQL, login: Any) -> None:
    tenant = await make_tenant()
    admin = await login(tenant.admin_email)
    invalid = await gql(RULES, {"rules": {"grading": {"a_below": 0}, "follow_up": [{"after": "order"}]}}, admin)
    errors = invalid["data"]["saveServiceRules"]["errors"]
    assert sorted((e["field"], e["ruleCode"]) for e in errors) == [
        ("follow_up[0].needs", "REQUIRED"),
        ("follow_up[0].within_hours", "REQUIRED"),
        ("grading.a_below", "THRESHOLD_OUT_OF_RANGE"),
    ]
    assert {e["code"] for e in errors} == {"INVALID_RULES"}
    staff = await login(await member(tenant.tenant_id, Role.STAFF), tenant=tenant.slug)
    forbidden = await gql(RULES, {"rules": {"grading": {"a_below": 0.3}}}, staff)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await service.get_service_rules(tenant.tenant_id)).grading.a_below == Decimal("0.2")  # nothing saved
    saved = await gql(RULES, {"rules": {"grading": {"a_below": 0.3}}}, admin)
    assert saved["data"]["saveServiceRules"]["rules"] == {"aBelow": "0.3", "bBelow": "0.6"}
    # Another tenant's rules are its own, both ways.
    other = await make_tenant()
    theirs = await gql(RULES, {"rules": {"grading": {"a_below": 0.1}}}, await login(other.admin_email))
    assert theirs["data"]["saveServiceRules"]["rules"] == {"aBelow": "0.1", "bBelow": "0.6"}
    assert (await service.get_service_rules(tenant.tenant_id)).grading.a_below == Decimal("0.3")
    assert (await service.get_service_rules(other.tenant_id)).grading.a_below == Decimal("0.1")
