"""A statement reads consistently after a re-close (issue 8 item 3): each rule shows the CURRENT revision's explanation
beside everything posted for it, also when the re-close posted nothing for that rule (its amount did not change)."""

from __future__ import annotations

from datetime import date
from typing import Any

from tenants.audit.service import SYSTEM
from tenants.events.service import ingest
from tenants.periods.close import close_period
from tenants.schemes import service as schemes
from tests.conftest import GraphQL, TenantFactory
from tests.scorecards.support import closed_example, staff_login
from tests.scorecards.test_statement_counts import bigger_config

STATEMENT = """
query($period: String!) {
  myStatement(period: $period) {
    net
    rules { ruleKey posted explanation lines { revision current amount derivation } }
    totals { kind amount }
  }
}
"""
CARD = "query($s: ID!, $p: String!) { myScorecard(schemeId: $s, period: $p) { total revision } }"


def late(code: str, kind: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "externalId": f"late-{code}-{kind}-{n}",
            "type": kind,
            "occurredAt": "2026-10-20T10:00:00+08:00",
            "staff": code,
        }
        for n in range(count)
    ]


async def test_each_rule_explains_itself_with_the_current_revision(
    make_tenant: TenantFactory, gql: GraphQL, login: Any
) -> None:
    example = await closed_example(await make_tenant())
    tid = example.tenant_id
    # Late October events: 小李 gains 5 new customers (40 -> 46.67, still under every gate), 小张 15 (55 -> 63).
    result = await ingest(
        tid, enumerate([*late("guide-002", "customer_added", 5), *late("guide-003", "customer_added", 15)])
    )
    assert not result.rejected
    outcome = await close_period(tid, example.scheme_id, example.period)
    assert outcome.revision == 2
    li = await login((await staff_login(example, "guide-002")).email)
    card = (await gql(CARD, {"s": str(example.scheme_id), "p": example.period}, li))["data"]["myScorecard"]
    assert card == {"total": "46.67", "revision": 2}
    statement = (await gql(STATEMENT, {"period": example.period}, li))["data"]["myStatement"]
    rules = {rule["ruleKey"]: rule for rule in statement["rules"]}
    commission = rules["commission"]
    # Nothing was posted for it by revision 2 (still 0.00): its only line is revision 1's, which says 40.00 ...
    assert [(line["revision"], line["current"]) for line in commission["lines"]] == [(1, False)]
    assert commission["lines"][0]["derivation"] == "提成 0.00（总分 40.00 低于门槛 60）"
    # ... yet the rule explains itself with the card's current total.
    assert (commission["posted"], commission["explanation"]) == ("0.00", "提成 0.00（总分 46.67 低于门槛 60）")
    assert rules["new_customer_bonus"]["explanation"] == "新客户数量 17 未达 30，阶梯奖 0.00"
    assert rules["missed_follow_up"]["explanation"] == "扣款 2 次 x 100.00 = -200.00"
    assert statement["net"] == "-400.00"

    zhang = await login((await staff_login(example, "guide-003")).email)
    statement = (await gql(STATEMENT, {"period": example.period}, zhang))["data"]["myStatement"]
    rules = {rule["ruleKey"]: rule for rule in statement["rules"]}
    commission = rules["commission"]
    # Revision 2 posted an adjustment: the posted sum is the new amount, the explanation the recomputed line's own.
    assert [(line["revision"], line["amount"]) for line in commission["lines"]] == [(1, "0.00"), (2, "300.00")]
    assert commission["posted"] == "300.00"
    assert commission["explanation"] == "提成 10,000.00 x 3% = 300.00"
    ladder = rules["new_customer_bonus"]
    assert (ladder["posted"], ladder["explanation"]) == ("800.00", "新客户数量 45 达到 45，阶梯奖 800.00")
    assert {t["kind"]: t["amount"] for t in statement["totals"]} == {
        "commission": "0.00",
        "bonus": "300.00",
        "penalty": "0.00",
        "adjustment": "800.00",
    }
    assert statement["net"] == "1100.00"


async def test_a_rule_that_depends_on_others_keeps_its_posted_explanation(
    make_tenant: TenantFactory, gql: GraphQL, login: Any
) -> None:
    """A rank bonus cannot be recomputed for one staff member alone (alone, everybody ranks first): when the re-close
    left it unchanged, the statement keeps the explanation of what was posted rather than claim what was not."""
    example = await closed_example(await make_tenant())
    tid = example.tenant_id
    scheme = await schemes.create_scheme(tid, SYSTEM, "排名方案", "")
    draft = await schemes.save_draft(tid, SYSTEM, scheme.id, bigger_config())
    await schemes.publish_version(tid, SYSTEM, draft.id, date(2026, 10, 1))
    await close_period(tid, int(scheme.id), example.period)
    result = await ingest(tid, enumerate(late("guide-002", "customer_added", 2)))
    assert not result.rejected
    assert (await close_period(tid, int(scheme.id), example.period)).revision == 2
    li = await login((await staff_login(example, "guide-002")).email)
    query = """
    query($period: String!, $scheme: ID) {
      myStatement(period: $period, schemeId: $scheme) {
        rules { ruleKey posted explanation lines { revision derivation } }
      }
    }
    """
    body = await gql(query, {"period": example.period, "scheme": str(scheme.id)}, li)
    rules = {rule["ruleKey"]: rule for rule in body["data"]["myStatement"]["rules"]}
    top = rules["top"]  # 小李 is second of store S1 behind 小王 before and after: 0.00, nothing posted by revision 2
    assert [line["revision"] for line in top["lines"]] == [1]
    assert top["posted"] == "0.00"
    assert top["explanation"] == top["lines"][0]["derivation"]
    assert "内排名第 2" in top["explanation"]
    # Rules of the staff member alone are explained with the current revision as before.
    assert "总分 4" in rules["commission"]["explanation"] and rules["commission"]["lines"][0]["revision"] == 1
