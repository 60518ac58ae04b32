"""Disputes (issue 9 item 4): staff dispute their own lines, managers in scope answer, optionally with an adjustment
line posted atomically with the answer and its audit row."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from tenants.access.service import link_staff_user, set_member_teams
from tenants.audit.models import AuditEntry
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD
from tenants.disputes.models import Dispute
from tenants.periods.close import close_period
from tenants.staff.models import Team
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tests.conftest import GraphQL, TenantFactory
from tests.payroll.people import new_login
from tests.payroll.world import World, build_world, line_id, posted_lines

RAISE = """
mutation($line: ID!, $message: String!) {
  raiseDispute(ledgerLineId: $line, message: $message) {
    __typename
    ... on DisputeRaised { dispute { id state staffCode period ruleKey lineAmount message ledgerLineId } }
    ... on DisputeErrors { errors { code field message } }
  }
}
"""
RESOLVE = """
mutation($id: ID!, $resolution: String!, $adjustment: Decimal) {
  resolveDispute(id: $id, resolution: $resolution, adjustment: $adjustment) {
    __typename
    ... on DisputeResolved {
      dispute { id state resolution resolvedAt adjustmentLineId adjustmentAmount adjustmentPeriod }
    }
    ... on DisputeErrors { errors { code field message } }
  }
}
"""
DISPUTES = """
query($state: DisputeState, $team: ID, $limit: Int, $offset: Int) {
  disputes(state: $state, team: $team, limit: $limit, offset: $offset) {
    total items { id staffCode state }
  }
}
"""
APPROVE = """
mutation($scheme: ID!, $period: String!) {
  approveStatements(schemeId: $scheme, period: $period) { __typename }
}
"""


async def raise_dispute(gql: GraphQL, token: str, line: int | str, message: str = "提成算少了") -> dict[str, Any]:
    body = await gql(RAISE, {"line": str(line), "message": message}, token=token)
    if body.get("errors"):
        return {"__typename": "refused", "code": body["errors"][0]["extensions"]["code"]}
    result: dict[str, Any] = body["data"]["raiseDispute"]
    return result


async def resolve(
    gql: GraphQL, token: str, dispute_id: str, resolution: str = "已核实", adjustment: str | None = None
) -> dict[str, Any]:
    body = await gql(RESOLVE, {"id": dispute_id, "resolution": resolution, "adjustment": adjustment}, token=token)
    if body.get("errors"):
        return {"__typename": "refused", "code": body["errors"][0]["extensions"]["code"]}
    result: dict[str, Any] = body["data"]["resolveDispute"]
    return result


async def listed(gql: GraphQL, token: str, **variables: Any) -> tuple[int, list[tuple[str, str]]]:
    body = await gql(DISPUTES, variables, token=token)
    assert "errors" not in body, body
    page = body["data"]["disputes"]
    return page["total"], [(item["staffCode"], item["state"]) for item in page["items"]]


def code_of(result: dict[str, Any]) -> str:
    if result["__typename"] == "refused":
        return str(result["code"])
    assert result["__typename"] == "DisputeErrors", result
    return str(result["errors"][0]["code"])


async def disputes_of(tenant_id: TenantId) -> list[tuple[int, str, str | None]]:
    async with tenant_unit_of_work(tenant_id):
        rows = await Dispute.filter(tenant_id=tenant_id).order_by("id")
    return [(row.ledger_line_id, row.state, row.resolution) for row in rows]


async def world(make_tenant: TenantFactory, login: Any) -> World:
    return await build_world(await make_tenant(), login)


async def test_staff_dispute_only_their_own_lines(make_tenant: TenantFactory, login: Any, gql: GraphQL) -> None:
    w = await world(make_tenant, login)
    tid = w.tenant_id
    own = await line_id(tid, "guide-001", "commission")
    raised = await raise_dispute(gql, w.wang, own, "  退款不该算在十月  ")
    assert raised["__typename"] == "DisputeRaised", raised
    dispute = raised["dispute"]
    assert (dispute["state"], dispute["staffCode"], dispute["period"], dispute["ruleKey"]) == (
        "OPEN",
        "guide-001",
        PERIOD,
        "commission",
    )
    assert (dispute["lineAmount"], dispute["message"], dispute["ledgerLineId"]) == (
        "1000.00",
        "退款不该算在十月",
        str(own),
    )
    # 小李's line, a line id that does not exist, an id that is not one: all "no such ledger line".
    li = await line_id(tid, "guide-002", "missed_follow_up")
    for line in (li, 999_999_999, "not-an-id"):
        refused = await raise_dispute(gql, w.wang, line)
        assert (code_of(refused), refused["errors"][0]["field"]) == ("LINE_NOT_FOUND", "ledgerLineId")
    # A second open dispute on the same line; messages that are empty or too long.
    assert code_of(await raise_dispute(gql, w.wang, own)) == "ALREADY_DISPUTED"
    for bad in ["", "   ", "x" * 2001]:
        assert code_of(await raise_dispute(gql, w.wang, own, bad)) == "INVALID_MESSAGE"
    # A manager without a staff record has no lines of their own.
    assert code_of(await raise_dispute(gql, w.manager_a, li)) == "LINE_NOT_FOUND"
    assert await disputes_of(tid) == [(own, "open", None)]
    async with tenant_unit_of_work(tid):
        audit = await AuditEntry.filter(tenant_id=tid, action="dispute.raise")
    assert [(row.actor_user_id, row.after["message"]) for row in audit] == [(w.wang_login.user_id, "退款不该算在十月")]


async def test_another_tenants_staff_cannot_dispute_or_see_the_line(
    make_tenant: TenantFactory, login: Any, gql: GraphQL
) -> None:
    w = await world(make_tenant, login)
    other = await world(make_tenant, login)
    line = await line_id(w.tenant_id, "guide-001", "commission")
    assert code_of(await raise_dispute(gql, other.wang, line)) == "LINE_NOT_FOUND"
    assert await disputes_of(w.tenant_id) == []
    assert await disputes_of(other.tenant_id) == []
    raised = await raise_dispute(gql, w.wang, line)
    # The other tenant's admin neither lists nor resolves it.
    assert await listed(gql, other.admin) == (0, [])
    assert code_of(await resolve(gql, other.admin, raised["dispute"]["id"], adjustment="10.00")) == "DISPUTE_NOT_FOUND"
    assert await disputes_of(w.tenant_id) == [(line, "open", None)]


async def test_listings_are_scoped_and_paged(make_tenant: TenantFactory, login: Any, gql: GraphQL) -> None:
    w = await world(make_tenant, login)
    tid = w.tenant_id
    await raise_dispute(gql, w.wang, await line_id(tid, "guide-001", "commission"))
    await raise_dispute(gql, w.wang, await line_id(tid, "guide-001", "missed_follow_up"))
    await raise_dispute(gql, w.zhang, await line_id(tid, "guide-003", "new_customer_bonus"))
    a_team = await _team_id(tid, "store-a")
    region = await _team_id(tid, "region-east")
    assert await listed(gql, w.wang) == (2, [("guide-001", "OPEN"), ("guide-001", "OPEN")])
    assert await listed(gql, w.zhang) == (1, [("guide-003", "OPEN")])
    assert (await listed(gql, w.manager_a))[0] == 2
    assert await listed(gql, w.manager_b) == (1, [("guide-003", "OPEN")])
    assert (await listed(gql, w.manager_region))[0] == 3
    assert (await listed(gql, w.admin))[0] == 3
    # The team filter takes the subtree and never widens the scope.
    assert (await listed(gql, w.admin, team=str(a_team)))[0] == 2
    assert (await listed(gql, w.admin, team=str(region)))[0] == 3
    assert await listed(gql, w.manager_b, team=str(a_team)) == (0, [])
    assert await listed(gql, w.admin, team="nonsense") == (0, [])
    # Paging: newest first, the total over all pages.
    total, first = await listed(gql, w.admin, limit=2)
    assert (total, [code for code, _ in first]) == (3, ["guide-003", "guide-001"])
    assert await listed(gql, w.admin, limit=2, offset=2) == (3, [("guide-001", "OPEN")])
    assert await listed(gql, w.admin, limit=2, offset=50) == (3, [])
    assert await listed(gql, w.admin, state="RESOLVED") == (0, [])


async def _team_id(tenant_id: TenantId, code: str) -> int:
    async with tenant_unit_of_work(tenant_id):
        return int((await Team.get(tenant_id=tenant_id, code=code)).id)


async def test_a_manager_in_scope_resolves_with_an_adjustment_line(
    make_tenant: TenantFactory, login: Any, gql: GraphQL
) -> None:
    w = await world(make_tenant, login)
    tid = w.tenant_id
    line = await line_id(tid, "guide-001", "commission")
    dispute_id = (await raise_dispute(gql, w.wang, line))["dispute"]["id"]
    before = await posted_lines(tid)
    # Outside the scope (store-b's manager), staff (the raiser himself), a bad amount: nothing changes.
    assert code_of(await resolve(gql, w.manager_b, dispute_id, adjustment="120.00")) == "DISPUTE_NOT_FOUND"
    assert code_of(await resolve(gql, w.wang, dispute_id, adjustment="120.00")) == "FORBIDDEN"
    for bad in ["0", "0.001", "0.123456789012345678901234567890", "1e309", "NaN", "-1000000000.01"]:
        refused = await resolve(gql, w.manager_a, dispute_id, adjustment=bad)
        assert (code_of(refused), refused["errors"][0]["field"]) == ("INVALID_ADJUSTMENT", "adjustment"), bad
    assert code_of(await resolve(gql, w.manager_a, dispute_id, resolution=" ")) == "INVALID_RESOLUTION"
    assert await posted_lines(tid) == before
    assert await disputes_of(tid) == [(line, "open", None)]

    resolved = await resolve(gql, w.manager_a, dispute_id, "退款属于十一月，补发 50 元", adjustment="50.00")
    assert resolved["__typename"] == "DisputeResolved", resolved
    answer = resolved["dispute"]
    assert (answer["state"], answer["resolution"], answer["adjustmentAmount"], answer["adjustmentPeriod"]) == (
        "RESOLVED",
        "退款属于十一月，补发 50 元",
        "50.00",
        PERIOD,
    )
    lines = await posted_lines(tid)
    assert lines[:-1] == before
    added = lines[-1]
    assert (added.period, added.staff, added.revision, added.rule_key, added.kind, added.amount) == (
        PERIOD,
        "guide-001",
        1,
        "dispute",
        "adjustment",
        Decimal("50.00"),
    )
    assert added.dispute_id == int(dispute_id) and added.corrects is None
    assert added.derivation == (
        f"争议调整（争议 #{dispute_id}：2026-10 的 commission 1,000.00）：50.00。处理意见：退款属于十一月，补发 50 元"
    )
    async with tenant_unit_of_work(tid):
        audit = await AuditEntry.filter(tenant_id=tid, action="dispute.resolve")
    assert [(row.after["adjustment"], row.after["adjustment_line_id"]) for row in audit] == [
        ("50.00", int(answer["adjustmentLineId"]))
    ]
    assert code_of(await resolve(gql, w.manager_a, dispute_id, adjustment="1.00")) == "ALREADY_RESOLVED"
    # A re-close neither counts nor undoes the dispute's line.
    assert (await close_period(tid, w.scheme_id, PERIOD, force=True)).lines_posted == 0
    assert await posted_lines(tid) == lines
    # The staff member reads the answer in their own listing.
    body = await gql(DISPUTES, {"state": "RESOLVED"}, token=w.wang)
    assert body["data"]["disputes"]["total"] == 1


async def test_resolving_without_money_and_a_managers_own_dispute(
    make_tenant: TenantFactory, login: Any, gql: GraphQL
) -> None:
    w = await world(make_tenant, login)
    tid = w.tenant_id
    zhang = (await raise_dispute(gql, w.zhang, await line_id(tid, "guide-003", "new_customer_bonus")))["dispute"]
    before = await posted_lines(tid)
    resolved = await resolve(gql, w.manager_b, zhang["id"], "阶梯奖金正确，维持原额")
    assert (resolved["dispute"]["state"], resolved["dispute"]["adjustmentLineId"]) == ("RESOLVED", None)
    assert await posted_lines(tid) == before
    # 小李 becomes a manager of store-a (her own team): her own dispute is answered by someone else.
    li = await new_login(tid, Role.MANAGER)
    await link_staff_user(tid, SYSTEM, "guide-002", li.user_id)
    await set_member_teams(tid, SYSTEM, li.user_id, ["store-a"])
    li_token = await login(li.email, tenant=w.tenant.slug)
    own = (await raise_dispute(gql, li_token, await line_id(tid, "guide-002", "complaint")))["dispute"]
    refused = await resolve(gql, li_token, own["id"], adjustment="200.00")
    assert (code_of(refused), await posted_lines(tid)) == ("OWN_DISPUTE", before)
    assert (await resolve(gql, w.manager_a, own["id"], adjustment="200.00"))["__typename"] == "DisputeResolved"


async def test_a_dispute_on_an_approved_statement_pays_in_the_next_open_period(
    make_tenant: TenantFactory, login: Any, gql: GraphQL
) -> None:
    w = await world(make_tenant, login)
    tid = w.tenant_id
    dispute_id = (await raise_dispute(gql, w.wang, await line_id(tid, "guide-001", "commission")))["dispute"]["id"]
    approved = await gql(APPROVE, {"scheme": str(w.scheme_id), "period": PERIOD}, token=w.admin)
    assert approved["data"]["approveStatements"]["__typename"] == "StatementsApproved"
    october = [line for line in await posted_lines(tid) if line.period == PERIOD]
    resolved = await resolve(gql, w.manager_region, dispute_id, "补发", adjustment="-20.50")
    assert resolved["dispute"]["adjustmentPeriod"] == "2026-11"
    lines = await posted_lines(tid)
    assert [line for line in lines if line.period == PERIOD] == october
    added = lines[-1]
    assert (added.period, added.revision, added.amount, added.corrects, added.corrects_revision) == (
        "2026-11",
        0,
        Decimal("-20.50"),
        PERIOD,
        1,
    )
    assert added.derivation.startswith("上期更正（2026-10 修订 1，该期对账单已审批）：争议调整（争议 #")


async def test_the_adjustment_line_the_answer_and_the_audit_row_commit_together(
    make_tenant: TenantFactory, login: Any, gql: GraphQL, owner_conn: asyncpg.Connection
) -> None:
    """The audit insert fails (a trigger refuses it for this tenant): the line and the answer are rolled back too."""
    w = await world(make_tenant, login)
    tid = w.tenant_id
    line = await line_id(tid, "guide-001", "commission")
    dispute_id = (await raise_dispute(gql, w.wang, line))["dispute"]["id"]
    before = await posted_lines(tid)
    function, trigger = f"refuse_audit_{tid}", f"refuse_audit_{tid}"
    await owner_conn.execute(
        f"""
        CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.tenant_id = {int(tid)} AND NEW.action = 'dispute.resolve' THEN
                RAISE EXCEPTION 'audit refused by the test';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    await owner_conn.execute(
        f"CREATE TRIGGER {trigger} BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION {function}()"
    )
    try:
        body = await gql(RESOLVE, {"id": dispute_id, "resolution": "补发", "adjustment": "50.00"}, token=w.manager_a)
        assert body["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"
    finally:
        await owner_conn.execute(f"DROP TRIGGER {trigger} ON audit_log")
        await owner_conn.execute(f"DROP FUNCTION {function}()")
    assert await posted_lines(tid) == before
    assert await disputes_of(tid) == [(line, "open", None)]
    # Without the fault, the same request commits all three.
    resolved = await resolve(gql, w.manager_a, dispute_id, "补发", adjustment="50.00")
    assert resolved["__typename"] == "DisputeResolved"
    assert len(await posted_lines(tid)) == len(before) + 1


@pytest.mark.parametrize("role_token", ["wang", "zhang"])
async def test_staff_cannot_resolve_at_all(
    make_tenant: TenantFactory, login: Any, gql: GraphQL, role_token: str
) -> None:
    w = await world(make_tenant, login)
    dispute_id = (await raise_dispute(gql, w.wang, await line_id(w.tenant_id, "guide-001", "commission")))["dispute"][
        "id"
    ]
    assert code_of(await resolve(gql, getattr(w, role_token), dispute_id, adjustment="5.00")) == "FORBIDDEN"
    assert (await disputes_of(w.tenant_id))[0][1] == "open"


async def test_concurrent_disputes_of_one_line_open_one(make_tenant: TenantFactory, login: Any, gql: GraphQL) -> None:
    w = await world(make_tenant, login)
    line = await line_id(w.tenant_id, "guide-001", "commission")
    results = await asyncio.gather(*(raise_dispute(gql, w.wang, line, f"第 {n} 次") for n in range(4)))
    assert sorted(result["__typename"] for result in results) == ["DisputeErrors"] * 3 + ["DisputeRaised"]
    assert {code_of(result) for result in results if result["__typename"] == "DisputeErrors"} == {"ALREADY_DISPUTED"}
    assert [state for _, state, _ in await disputes_of(w.tenant_id)] == ["open"]


ONE = "query($id: ID!) { dispute(id: $id) { id staffCode state message resolution } }"


async def test_one_dispute_is_read_in_scope_only(make_tenant: TenantFactory, login: Any, gql: GraphQL) -> None:
    w = await world(make_tenant, login)
    other = await world(make_tenant, login)
    dispute_id = (await raise_dispute(gql, w.wang, await line_id(w.tenant_id, "guide-001", "commission")))["dispute"][
        "id"
    ]
    for token in (w.wang, w.manager_a, w.manager_region, w.admin):
        found = (await gql(ONE, {"id": dispute_id}, token=token))["data"]["dispute"]
        assert (found["id"], found["staffCode"], found["state"]) == (dispute_id, "guide-001", "OPEN")
    # Another staff member, a manager of another store, another tenant's admin, ids that are not ids: nothing.
    for token, raw in [
        (w.zhang, dispute_id),
        (w.manager_b, dispute_id),
        (other.admin, dispute_id),
        (w.admin, "no"),
        (w.admin, "999999999"),
    ]:
        assert (await gql(ONE, {"id": raw}, token=token))["data"]["dispute"] is None
