"""myStatement shows the payroll side (issue 9's disputes and approvals): each line's disputes with their state and
answer, the adjustment answering a dispute, and the approval of each period's statements."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tenants.audit.service import SYSTEM
from tenants.disputes.service import raise_dispute, resolve_dispute
from tenants.periods.approvals import approve_statements
from tenants.tenancy.auth import Role, UserPrincipal
from tests.conftest import GraphQL, TenantFactory
from tests.scorecards.support import closed_example, manager_of, staff_login

STATEMENT = """
query($period: String!) {
  myStatement(period: $period) {
    net approvalState approvals { period state approvedRevision }
    lines { id ruleKey kind amount answersDispute disputes { state message resolution adjustmentAmount } }
  }
}
"""


async def test_disputes_and_approval_in_the_statement(make_tenant: TenantFactory, gql: GraphQL, login: Any) -> None:
    example = await closed_example(await make_tenant())
    tid = example.tenant_id
    li = await staff_login(example, "guide-002")
    token = await login(li.email)
    before = (await gql(STATEMENT, {"period": example.period}, token))["data"]["myStatement"]
    assert before["approvalState"] == "NOT_APPROVED"
    assert all(line["disputes"] == [] for line in before["lines"])
    complaint = next(line for line in before["lines"] if line["ruleKey"] == "complaint")
    staff_principal = UserPrincipal(li.user_id, li.email, False, tid, Role.STAFF)
    raised = await raise_dispute(tid, staff_principal, int(_plain_id(complaint["id"])), "投诉不是我的责任")
    manager = await manager_of(example, "S1")
    manager_principal = UserPrincipal(manager.user_id, manager.email, False, tid, Role.MANAGER)
    await resolve_dispute(tid, manager_principal, raised.id, "核实后退回", Decimal("200.00"))
    await approve_statements(tid, SYSTEM, example.scheme_id, example.period)

    after = (await gql(STATEMENT, {"period": example.period}, token))["data"]["myStatement"]
    disputed = next(line for line in after["lines"] if line["id"] == complaint["id"])
    assert disputed["disputes"] == [
        {"state": "RESOLVED", "message": "投诉不是我的责任", "resolution": "核实后退回", "adjustmentAmount": "200.00"}
    ]
    answer = next(line for line in after["lines"] if line["ruleKey"] == "dispute")
    assert (answer["kind"], answer["amount"], answer["answersDispute"]) == ("adjustment", "200.00", str(raised.id))
    assert after["net"] == "-200.00"
    assert after["approvalState"] == "APPROVED"
    assert after["approvals"] == [{"period": example.period, "state": "APPROVED", "approvedRevision": 1}]


def _plain_id(global_line_id: str) -> str:
    from schema.common import parse_global_int_id

    parsed = parse_global_int_id(global_line_id, "LedgerLine")
    assert parsed is not None
    return str(parsed[0])
