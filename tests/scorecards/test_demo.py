"""Issue 8 "done when": a staff login linked to a guide of the demo tenant sees, in one query each, its scorecard
with what is missing for the next grade and ladder step, its statement and its rank; the demo's manager sees only
their store."""

from __future__ import annotations

from typing import Any

from tenants.demo import DEMO_PASSWORD, DEMO_SLUG, MANAGER_EMAIL, PERIOD, seed_demo, staff_email
from tenants.tenancy import service
from tests.conftest import GraphQL

SCHEMES = "{ mySchemes { id name lastClosedPeriod { key } } }"
SCORECARD = """
query($scheme: ID!, $period: String!) {
  myScorecard(schemeId: $scheme, period: $period) {
    staffName total grade rank participants
    progress { grade { nextGrade pointsMissing explanation } ladders { nextMin missing explanation } }
  }
}
"""
STATEMENT = "query($period: String!) { myStatement(period: $period) { net rules { ruleKey posted explanation } } }"
RANK = """
query($scheme: ID!, $period: String!) {
  leaderboard(schemeId: $scheme, period: $period, first: 1) { me { rank total isMe } edges { node { staffName } } }
}
"""
PAGE = """
query($scheme: ID!, $period: String!) {
  scorecards(schemeId: $scheme, period: $period) { totalCount edges { node { staffName teamCode } } }
}
"""


async def test_the_demo_guide_sees_scorecard_progress_statement_and_rank(app: Any, gql: GraphQL, login: Any) -> None:
    await seed_demo()
    assert await service.tenant_by_slug(DEMO_SLUG) is not None
    token = await login(staff_email("guide-003"), DEMO_PASSWORD, DEMO_SLUG)  # 小张, 55 (D)
    (scheme,) = (await gql(SCHEMES, None, token))["data"]["mySchemes"]
    assert scheme["lastClosedPeriod"] == {"key": PERIOD}
    variables = {"scheme": scheme["id"], "period": PERIOD}
    card = (await gql(SCORECARD, variables, token))["data"]["myScorecard"]
    assert (card["staffName"], card["total"], card["grade"], card["rank"], card["participants"]) == (
        "小张",
        "55.00",
        "D",
        2,
        3,
    )
    grade = card["progress"]["grade"]
    assert (grade["nextGrade"], grade["pointsMissing"]) == ("C", "5.0000")
    assert grade["explanation"] == "总分 55.00（D 级）：再得 5.00 分升到 C 级（60 分）。"
    (ladder,) = card["progress"]["ladders"]
    assert (ladder["nextMin"], ladder["missing"]) == ("45", "15")
    assert ladder["explanation"] == "新客户数量 30：再增加 15 达到 45 档，阶梯奖由 300.00 变为 800.00。"
    statement = (await gql(STATEMENT, {"period": PERIOD}, token))["data"]["myStatement"]
    assert statement["net"] == "300.00"
    assert {r["ruleKey"]: r["posted"] for r in statement["rules"]} == {
        "commission": "0.00",
        "new_customer_bonus": "300.00",
        "missed_follow_up": "0.00",
        "complaint": "0.00",
    }
    rank = (await gql(RANK, variables, token))["data"]["leaderboard"]
    assert rank["me"] == {"rank": 2, "total": "55.00", "isMe": True}
    assert [e["node"]["staffName"] for e in rank["edges"]] == ["小王"]
    # The demo's manager of store sh-01 sees 小王 and 小李, not 小张 of sh-02.
    manager = await login(MANAGER_EMAIL, DEMO_PASSWORD, DEMO_SLUG)
    page = (await gql(PAGE, variables, manager))["data"]["scorecards"]
    assert [(e["node"]["staffName"], e["node"]["teamCode"]) for e in page["edges"]] == [
        ("小王", "sh-01"),
        ("小李", "sh-01"),
    ]
