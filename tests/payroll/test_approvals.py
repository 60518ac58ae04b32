"""Statement approvals and prior-period adjustments (issue 9 item 5).

The worked example's 2026-10 statements: 小王 is paid commission 1,000.00 on sales of 24,000 (10,000 x 3% + 14,000 x
5%). Each late refund of 1,000 lowers it by 50.00 (the 5% slice). Once 2026-10 is approved, that delta is paid in the
next open period's statement, labelled with the period it corrects, and 2026-10's statement never changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tenants.audit.models import AuditEntry
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD
from tenants.events.service import ingest
from tenants.periods.close import close_period
from tenants.periods.models import Period
from tenants.tenancy.identity import TenantId
from tests.conftest import GraphQL, TenantFactory
from tests.payroll.world import PostedLine, World, build_world, posted_lines

APPROVE = """
mutation($scheme: ID!, $period: String!) {
  approveStatements(schemeId: $scheme, period: $period) {
    __typename
    ... on StatementsApproved { approval { period state revision approvedRevision approvedAt approvedByUserId } }
    ... on ApprovalErrors { errors { code field message } }
  }
}
"""
REOPEN = """
mutation($scheme: ID!, $period: String!, $reason: String!) {
  reopenStatements(schemeId: $scheme, period: $period, reason: $reason) {
    __typename
    ... on StatementsReopened { approval { state approvedAt reopenedAt reopenReason reopenedByUserId } }
    ... on ApprovalErrors { errors { code field message } }
  }
}
"""
APPROVAL = """
query($scheme: ID!, $period: String!) {
  statementApproval(schemeId: $scheme, period: $period) { period periodState state approvedRevision reopenReason }
}
"""
# After the period ended: closes of 2026-11 and 2026-12 in these tests are "later".
LATER = datetime(2027, 2, 1, tzinfo=UTC)


async def approve(gql: GraphQL, token: str, scheme_id: int, period: str = PERIOD) -> dict[str, Any]:
    body = await gql(APPROVE, {"scheme": str(scheme_id), "period": period}, token=token)
    if body.get("errors"):
        return {"__typename": "refused", "code": body["errors"][0]["extensions"]["code"]}
    result: dict[str, Any] = body["data"]["approveStatements"]
    return result


async def reopen(gql: GraphQL, token: str, scheme_id: int, reason: str, period: str = PERIOD) -> dict[str, Any]:
    body = await gql(REOPEN, {"scheme": str(scheme_id), "period": period, "reason": reason}, token=token)
    if body.get("errors"):
        return {"__typename": "refused", "code": body["errors"][0]["extensions"]["code"]}
    result: dict[str, Any] = body["data"]["reopenStatements"]
    return result


async def approval_columns(tenant_id: TenantId, key: str = PERIOD) -> tuple[Any, ...]:
    async with tenant_unit_of_work(tenant_id):
        period = await Period.get(tenant_id=tenant_id, key=key)
    return (period.approved_at, period.approved_by_user_id, period.approved_revision, period.reopened_at)


async def late_refund(tenant_id: TenantId, n: int) -> None:
    """小王 refunds 1,000 more of October's sales, reported late (2026-10 becomes stale)."""
    refund = {
        "externalId": f"late-refund-{n}",
        "type": "refund",
        "occurredAt": "2026-10-25T12:00:00+08:00",
        "staff": "guide-001",
        "amount": "-1000.00",
        "attributes": {"order": "guide-001-order-1"},
    }
    assert (await ingest(tenant_id, [(0, refund)])).accepted == 1


async def world(make_tenant: TenantFactory, login: Any) -> World:
    return await build_world(await make_tenant(), login)


async def test_an_admin_approves_and_everyone_in_the_tenant_reads_the_approval(
    make_tenant: TenantFactory, login: Any, gql: GraphQL
) -> None:
    w = await world(make_tenant, login)
    approved = await approve(gql, w.admin, w.scheme_id)
    assert approved["__typename"] == "StatementsApproved", approved
    assert approved["approval"]["state"] == "APPROVED"
    assert (approved["approval"]["revision"], approved["approval"]["approvedRevision"]) == (1, 1)
    assert approved["approval"]["approvedByUserId"] == str(w.tenant.admin_user_id)
    for token in (w.admin, w.manager_a, w.wang):
        read = (await gql(APPROVAL, {"scheme": str(w.scheme_id), "period": PERIOD}, token=token))["data"]
        assert read["statementApproval"] == {
            "period": PERIOD,
            "periodState": "closed",
            "state": "APPROVED",
            "approvedRevision": 1,
            "reopenReason": None,
        }
    async with tenant_unit_of_work(w.tenant_id):
        audit = await AuditEntry.filter(tenant_id=w.tenant_id, action="statements.approve")
    assert [(row.actor_user_id, row.before["state"], row.after["state"]) for row in audit] == [
        (w.tenant.admin_user_id, "NOT_APPROVED", "APPROVED")
    ]
    again = await approve(gql, w.admin, w.scheme_id)
    assert again["errors"][0]["code"] == "ALREADY_APPROVED"


async def test_staff_and_managers_cannot_approve_or_reopen_and_nothing_changes(
    make_tenant: TenantFactory, login: Any, gql: GraphQL
) -> None:
    w = await world(make_tenant, login)
    for token in (w.wang, w.manager_a, w.manager_region):
        assert await approve(gql, token, w.scheme_id) == {"__typename": "refused", "code": "FORBIDDEN"}
    assert await approval_columns(w.tenant_id) == (None, None, None, None)
    assert (await approve(gql, w.admin, w.scheme_id))["__typename"] == "StatementsApproved"
    approved = await approval_columns(w.tenant_id)
    for token in (w.wang, w.manager_a):
        assert await reopen(gql, token, w.scheme_id, "wrong") == {"__typename": "refused", "code": "FORBIDDEN"}
    assert await approval_columns(w.tenant_id) == approved


async def test_another_tenants_admin_finds_no_such_scheme(make_tenant: TenantFactory, login: Any, gql: GraphQL) -> None:
    w = await world(make_tenant, login)
    other = await make_tenant()
    other_admin = await login(other.admin_email, tenant=other.slug)
    refused = await approve(gql, other_admin, w.scheme_id)
    assert refused["errors"][0]["code"] == "SCHEME_NOT_FOUND"
    assert (await reopen(gql, other_admin, w.scheme_id, "x"))["errors"][0]["code"] == "SCHEME_NOT_FOUND"
    read = await gql(APPROVAL, {"scheme": str(w.scheme_id), "period": PERIOD}, token=other_admin)
    assert read["data"]["statementApproval"] is None
    assert await approval_columns(w.tenant_id) == (None, None, None, None)


async def test_only_a_closed_period_can_be_approved(make_tenant: TenantFactory, login: Any, gql: GraphQL) -> None:
    w = await world(make_tenant, login)
    # 2026-11 has no statements yet; a key no period can have; a stale 2026-10 waits for its re-close.
    assert (await approve(gql, w.admin, w.scheme_id, "2026-11"))["errors"][0]["code"] == "PERIOD_NOT_FOUND"
    assert (await approve(gql, w.admin, w.scheme_id, "x" * 5000))["errors"][0]["code"] == "PERIOD_NOT_FOUND"
    assert (await approve(gql, w.admin, 999_999_999))["errors"][0]["code"] == "SCHEME_NOT_FOUND"
    garbage = await gql(APPROVE, {"scheme": "not-an-id", "period": PERIOD}, token=w.admin)
    assert garbage["data"]["approveStatements"]["errors"][0]["code"] == "SCHEME_NOT_FOUND"
    await late_refund(w.tenant_id, 1)
    stale = await approve(gql, w.admin, w.scheme_id)
    assert stale["errors"][0]["code"] == "PERIOD_NOT_CLOSED"
    assert "stale" in stale["errors"][0]["message"]
    assert await approval_columns(w.tenant_id) == (None, None, None, None)
    await close_period(w.tenant_id, w.scheme_id, PERIOD)
    assert (await approve(gql, w.admin, w.scheme_id))["approval"]["approvedRevision"] == 2


async def test_a_late_change_to_an_approved_period_is_paid_in_the_next_open_period(
    make_tenant: TenantFactory, login: Any, gql: GraphQL
) -> None:
    w = await world(make_tenant, login)
    tid = w.tenant_id
    assert (await approve(gql, w.admin, w.scheme_id))["__typename"] == "StatementsApproved"
    approved_statement = [line for line in await posted_lines(tid) if line.period == PERIOD]
    assert len(approved_statement) == 12

    await late_refund(tid, 1)
    outcome = await close_period(tid, w.scheme_id, PERIOD)
    assert (outcome.revision, outcome.lines_posted, outcome.paid_in) == (2, 1, "2026-11")
    lines = await posted_lines(tid)
    assert [line for line in lines if line.period == PERIOD] == approved_statement  # untouched
    correction = lines[-1]
    assert (correction.period, correction.staff, correction.revision, correction.rule_key, correction.kind) == (
        "2026-11",
        "guide-001",
        0,  # 2026-11 is still open: the correction waits in its statement
        "commission",
        "adjustment",
    )
    assert (correction.amount, correction.corrects, correction.corrects_revision) == (Decimal("-50.00"), PERIOD, 2)
    assert correction.derivation.startswith(
        "上期更正（2026-10 修订 2，该期对账单已审批）："
        "调整（修订 2 对比修订 1）：已入账 1,000.00，重算 950.00，差额 -50.00"
    )
    async with tenant_unit_of_work(tid):
        october = await Period.get(tenant_id=tid, key=PERIOD)
        november = await Period.get(tenant_id=tid, key="2026-11")
    assert (october.state, october.revision, october.approved_revision) == ("closed", 2, 1)
    assert (november.state, november.revision, november.approved_at) == ("open", 0, None)

    # Nothing new: a forced re-close counts the correction already paid, posts nothing.
    assert (await close_period(tid, w.scheme_id, PERIOD, force=True)).lines_posted == 0
    # Another late refund: the next correction builds on the first (950.00 -> 900.00), in the same open statement.
    await late_refund(tid, 2)
    second = await close_period(tid, w.scheme_id, PERIOD)
    assert (second.revision, second.paid_in) == (3, "2026-11")
    last = (await posted_lines(tid))[-1]
    assert (last.period, last.revision, last.amount, last.corrects_revision) == ("2026-11", 0, Decimal("-50.00"), 3)
    assert "已入账 950.00，重算 900.00，差额 -50.00" in last.derivation
    assert [line for line in await posted_lines(tid) if line.period == PERIOD] == approved_statement


async def test_the_next_periods_own_close_leaves_the_corrections_it_pays_alone_and_approved_periods_are_skipped(
    make_tenant: TenantFactory, login: Any, gql: GraphQL
) -> None:
    w = await world(make_tenant, login)
    tid = w.tenant_id
    await approve(gql, w.admin, w.scheme_id)
    await late_refund(tid, 1)
    await close_period(tid, w.scheme_id, PERIOD)
    # November closes (its own first revision), then re-closes: the -50.00 correction is neither doubled nor undone.
    november = await close_period(tid, w.scheme_id, "2026-11", now=LATER)
    assert november.revision == 1 and november.lines_posted > 0
    assert (await close_period(tid, w.scheme_id, "2026-11", force=True, now=LATER)).lines_posted == 0
    corrections = [line for line in await posted_lines(tid) if line.corrects is not None]
    assert [(c.period, c.amount) for c in corrections] == [("2026-11", Decimal("-50.00"))]
    november_statement = _net(await posted_lines(tid), "2026-11", "guide-001")
    # November's own order of 5,000 pays 150.00 commission (gate passed or not, the correction is on top).
    assert november_statement == _net_own(await posted_lines(tid), "2026-11", "guide-001") - Decimal("50.00")

    # November approved too: the next correction of October skips it and goes to December.
    assert (await approve(gql, w.admin, w.scheme_id, "2026-11"))["__typename"] == "StatementsApproved"
    await late_refund(tid, 2)
    third = await close_period(tid, w.scheme_id, PERIOD)
    assert third.paid_in == "2026-12"
    last = (await posted_lines(tid))[-1]
    assert (last.period, last.corrects, last.amount) == ("2026-12", PERIOD, Decimal("-50.00"))


def _net(lines: list[PostedLine], period: str, staff: str) -> Decimal:
    return sum((line.amount for line in lines if line.period == period and line.staff == staff), Decimal("0.00"))


def _net_own(lines: list[PostedLine], period: str, staff: str) -> Decimal:
    return sum(
        (line.amount for line in lines if line.period == period and line.staff == staff and line.corrects is None),
        Decimal("0.00"),
    )


async def test_reopening_needs_a_reason_is_audited_and_late_changes_post_into_the_period_again(
    make_tenant: TenantFactory, login: Any, gql: GraphQL
) -> None:
    w = await world(make_tenant, login)
    tid = w.tenant_id
    assert (await reopen(gql, w.admin, w.scheme_id, "why"))["errors"][0]["code"] == "NOT_APPROVED"
    await approve(gql, w.admin, w.scheme_id)
    approved = await approval_columns(tid)
    for bad in ["", "   ", "x" * 1001]:
        refused = await reopen(gql, w.admin, w.scheme_id, bad)
        assert (refused["errors"][0]["code"], refused["errors"][0]["field"]) == ("INVALID_REASON", "reason")
    assert await approval_columns(tid) == approved
    reopened = await reopen(gql, w.admin, w.scheme_id, "  小王的退款漏报，重新核算  ")
    assert reopened["__typename"] == "StatementsReopened"
    assert reopened["approval"]["state"] == "REOPENED"
    assert reopened["approval"]["approvedAt"] is None
    assert reopened["approval"]["reopenReason"] == "小王的退款漏报，重新核算"
    assert reopened["approval"]["reopenedByUserId"] == str(w.tenant.admin_user_id)
    async with tenant_unit_of_work(tid):
        audit = await AuditEntry.filter(tenant_id=tid, action="statements.reopen")
    assert [(row.actor_user_id, row.after["reopen_reason"]) for row in audit] == [
        (w.tenant.admin_user_id, "小王的退款漏报，重新核算")
    ]
    await late_refund(tid, 1)
    outcome = await close_period(tid, w.scheme_id, PERIOD)
    assert outcome.paid_in == PERIOD
    last = (await posted_lines(tid))[-1]
    assert (last.period, last.revision, last.amount, last.corrects) == (PERIOD, 2, Decimal("-50.00"), None)
